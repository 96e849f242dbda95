#include "agent/attacks/decode.h"

#include <gtest/gtest.h>

namespace rampart::attacks {
namespace {

TEST(UrlDecodeTest, DecodesPercentEscapesAndPlusOnlyWhenAsked) {
  EXPECT_EQ(UrlDecode("a%20b%3Cc%3e", false), "a b<c>");
  EXPECT_EQ(UrlDecode("a+b", true), "a b");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
}

TEST(UrlDecodeTest, KeepsMalformedEscapesAsWritten) {
  EXPECT_EQ(UrlDecode("100%", false), "100%");
  EXPECT_EQ(UrlDecode("50%zz off", false), "50%zz off");
  EXPECT_EQ(UrlDecode("%u12", false), "%u12");
}

TEST(UrlDecodeTest, DecodesIisPercentUAsUtf8) {
  EXPECT_EQ(UrlDecode("%u0027%u003C", false), "'<");
  EXPECT_EQ(UrlDecode("%u00E9", false), "\xC3\xA9");
}

TEST(UrlDecodeTest, MapsFullWidthFormsToAsciiLikeIisBestFit) {
  EXPECT_EQ(UrlDecode("%uFF07%uFF1Cscript%uFF1E", false), "'<script>");
}

TEST(HtmlEntityDecodeTest, DecodesNamedDecimalAndHexReferences) {
  EXPECT_EQ(HtmlEntityDecode("&lt;b&gt; &amp; &quot;q&quot; &#39;x&#x27;"), "<b> & \"q\" 'x'");
  EXPECT_EQ(HtmlEntityDecode("javascript&colon;alert&lpar;1&rpar;"), "javascript:alert(1)");
  EXPECT_EQ(HtmlEntityDecode("java&Tab;script&NewLine;"), "java\tscript\n");
}

TEST(HtmlEntityDecodeTest, AcceptsNumericReferencesWithoutSemicolonAndLeadingZeros) {
  EXPECT_EQ(HtmlEntityDecode("&#0000106&#97;v&#x61"), "java");
}

TEST(HtmlEntityDecodeTest, AcceptsOnlyLegacyNamesWithoutSemicolon) {
  EXPECT_EQ(HtmlEntityDecode("&lt&gt"), "<>");
  EXPECT_EQ(HtmlEntityDecode("&ltimg src=x&gt"), "<img src=x>");  // legacy names match as a prefix
  EXPECT_EQ(HtmlEntityDecode("&colon"), "&colon");
  EXPECT_EQ(HtmlEntityDecode("AT&T and Q&A"), "AT&T and Q&A");
}

TEST(HtmlEntityDecodeTest, TurnsNulAndOutOfRangeReferencesIntoReplacementCharacter) {
  EXPECT_EQ(HtmlEntityDecode("&#0;"), "\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEntityDecode("&#x110000;"), "\xEF\xBF\xBD");
}

TEST(JsEscapeDecodeTest, DecodesUnicodeHexAndCodePointEscapes) {
  EXPECT_EQ(JsEscapeDecode("\\u003cscript\\x3e"), "<script>");
  EXPECT_EQ(JsEscapeDecode("\\u{27}"), "'");
  EXPECT_EQ(JsEscapeDecode("\\uD83D\\uDE00"), "\xF0\x9F\x98\x80");
}

TEST(JsEscapeDecodeTest, LeavesSingleLetterEscapesAndWindowsPathsAlone) {
  EXPECT_EQ(JsEscapeDecode("C:\\new\\table\\x"), "C:\\new\\table\\x");
  EXPECT_EQ(JsEscapeDecode("a\\\\u0041"), "a\\\\u0041");
}

TEST(DecodeOverlongUtf8Test, TurnsOverlongFormsIntoTheirAsciiCharacter) {
  EXPECT_EQ(DecodeOverlongUtf8("\xC0\xAE\xC0\xAE\xC0\xAF"), "../");
  EXPECT_EQ(DecodeOverlongUtf8("\xE0\x80\xAE"), ".");
  EXPECT_EQ(DecodeOverlongUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(DecodeRepeatedlyTest, PlainValueTakesNoRound) {
  const DecodedValue decoded = DecodeRepeatedly("hello world", 4);
  EXPECT_EQ(decoded.rounds, 0);
  EXPECT_EQ(decoded.layers, 0u);
  EXPECT_EQ(decoded.forms, std::vector<std::string>{"hello world"});
}

TEST(DecodeRepeatedlyTest, PeelsStackedUrlEncodingOneLayerPerRound) {
  const DecodedValue decoded = DecodeRepeatedly("%252527", 4);
  EXPECT_EQ(decoded.forms, (std::vector<std::string>{"%252527", "%2527", "%27", "'"}));
  EXPECT_EQ(decoded.rounds, 3);
  EXPECT_EQ(decoded.layers, kUrlEncoding);
  EXPECT_EQ(decoded.final_form(), "'");
}

TEST(DecodeRepeatedlyTest, CombinesDifferentEncodingsAndNamesThem) {
  // URL-encoded HTML entity of a JS escape.
  const DecodedValue decoded = DecodeRepeatedly("%26%2392%3Bu003c", 4);
  EXPECT_EQ(decoded.final_form(), "<");
  EXPECT_EQ(decoded.layers, kUrlEncoding | kHtmlEntities | kJsEscapes);
  EXPECT_EQ(EncodingLayerNames(decoded.layers), "URL encoding, HTML entities, JavaScript escapes");
}

TEST(DecodeRepeatedlyTest, StopsAfterMaxRounds) {
  const DecodedValue decoded = DecodeRepeatedly("%25252527", 2);
  EXPECT_EQ(decoded.rounds, 2);
  EXPECT_EQ(decoded.final_form(), "%2527");
}

TEST(DecodeRepeatedlyTest, DecodesOverlongSlashesHiddenUnderUrlEncoding) {
  const DecodedValue decoded = DecodeRepeatedly("..%c0%af..%c0%afetc", 4);
  EXPECT_EQ(decoded.final_form(), "../../etc");
  EXPECT_EQ(decoded.layers, kUrlEncoding | kOverlongUtf8);
}

}  // namespace
}  // namespace rampart::attacks
