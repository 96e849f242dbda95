#include "agent/attacks/html_tokenizer.h"

#include <gtest/gtest.h>

namespace rampart::attacks {
namespace {

TEST(HtmlTokenizerTest, ReadsTagsAndAttributesInEveryQuotingStyle) {
  const HtmlScan scan = TokenizeHtml("<A HREF=\"x y\" title='t' data=z checked>", HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 1u);
  const HtmlTag& tag = scan.tags[0];
  EXPECT_EQ(tag.name, "a");
  EXPECT_TRUE(tag.complete);
  ASSERT_EQ(tag.attributes.size(), 4u);
  EXPECT_EQ(tag.attributes[0].name, "href");
  EXPECT_EQ(tag.attributes[0].value, "x y");
  EXPECT_EQ(tag.attributes[1].value, "t");
  EXPECT_EQ(tag.attributes[2].value, "z");
  EXPECT_FALSE(tag.attributes[3].has_value);
}

TEST(HtmlTokenizerTest, TakesSlashAsAnAttributeSeparator) {
  const HtmlScan scan = TokenizeHtml("<svg/onload=alert(1)>", HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 1u);
  EXPECT_EQ(scan.tags[0].name, "svg");
  ASSERT_EQ(scan.tags[0].attributes.size(), 1u);
  EXPECT_EQ(scan.tags[0].attributes[0].name, "onload");
  EXPECT_EQ(scan.tags[0].attributes[0].value, "alert(1)");
}

TEST(HtmlTokenizerTest, NeedsALetterAfterTheAngleBracket) {
  EXPECT_TRUE(TokenizeHtml("a < b and c > d, I <3 you, 1<2", HtmlStart::kText).tags.empty());
}

TEST(HtmlTokenizerTest, DropsNulBytesFromTagNamesAndSaysSo) {
  const HtmlScan scan = TokenizeHtml(std::string_view("<scr\0ipt>", 9), HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 1u);
  EXPECT_EQ(scan.tags[0].name, "script");
  EXPECT_TRUE(scan.tags[0].had_nul);
}

TEST(HtmlTokenizerTest, KeepsScriptContentAsTextUpToItsEndTag) {
  const HtmlScan scan = TokenizeHtml("<script>if (a<b) x='<img src=y>'</SCRIPT><b>", HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 3u);
  EXPECT_EQ(scan.tags[0].raw_text, "if (a<b) x='<img src=y>'");
  EXPECT_TRUE(scan.tags[1].end_tag);
  EXPECT_EQ(scan.tags[2].name, "b");
}

TEST(HtmlTokenizerTest, ParsesStyleInsideSvgAsMarkup) {
  const HtmlScan scan = TokenizeHtml("<svg><style><img src=x onerror=alert(1)>", HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 3u);
  EXPECT_EQ(scan.tags[2].name, "img");
}

TEST(HtmlTokenizerTest, CollectsCommentBodies) {
  const HtmlScan scan = TokenizeHtml("<!--[if IE]><b><![endif]--><?xml x?>", HtmlStart::kText);
  EXPECT_TRUE(scan.tags.empty());
  ASSERT_EQ(scan.comments.size(), 2u);
  EXPECT_EQ(scan.comments[0], "[if IE]><b><![endif]");
}

TEST(HtmlTokenizerTest, AnIncompleteTagIsReportedAsSuch) {
  const HtmlScan scan = TokenizeHtml("<img src=x onerror=alert(1)", HtmlStart::kText);
  ASSERT_EQ(scan.tags.size(), 1u);
  EXPECT_FALSE(scan.tags[0].complete);
  EXPECT_EQ(scan.tags[0].attributes.size(), 2u);
}

TEST(HtmlTokenizerTest, StartingInsideAQuotedAttributeAddsAttributesToTheOpenedTag) {
  const HtmlScan scan = TokenizeHtml("x\" onfocus=\"alert(1)\" autofocus a=\"", HtmlStart::kDoubleQuotedAttribute);
  ASSERT_GE(scan.tags.size(), 1u);
  const HtmlTag& opened = scan.tags[0];
  EXPECT_TRUE(opened.name.empty());
  ASSERT_GE(opened.attributes.size(), 2u);
  EXPECT_EQ(opened.attributes[0].name, "onfocus");
  EXPECT_EQ(opened.attributes[0].value, "alert(1)");
}

TEST(HtmlTokenizerTest, AValueThatNeverEndsStaysAValue) {
  EXPECT_TRUE(TokenizeHtml("no quote <b> here", HtmlStart::kDoubleQuotedAttribute).tags.empty());
}

TEST(HtmlTokenizerTest, BreakingOutOfAnAttributeReachesTheTextAfterTheTag) {
  const HtmlScan scan = TokenizeHtml("'><script>x</script>", HtmlStart::kSingleQuotedAttribute);
  ASSERT_EQ(scan.tags.size(), 3u);
  EXPECT_TRUE(scan.tags[0].complete);
  EXPECT_EQ(scan.tags[1].name, "script");
}

}  // namespace
}  // namespace rampart::attacks
