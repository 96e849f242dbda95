#include "agent/dlp/document.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::dlp {
namespace {

// The field whose value starts at the first occurrence of `value`.
const Document::Field* FieldWithValue(const Document& doc, std::string_view value) {
  size_t at = doc.text().find(value);
  return at == std::string_view::npos ? nullptr : doc.FieldContaining(at);
}

// The path of that field, or "(no field)".
std::string PathOfValue(const Document& doc, std::string_view value) {
  const Document::Field* field = FieldWithValue(doc, value);
  return field == nullptr ? "(no field)" : doc.PathOf(*field);
}

TEST(JsonDocumentTest, GivesEachValueItsKeyPathAndEnclosingKeys) {
  Document doc = Document::Json(R"({"customer":{"name":"Ann","cards":[{"number":"4539"},"5425"]},"n":-8})");
  doc.IndexUpTo(doc.text().size());

  const Document::Field* number = FieldWithValue(doc, "4539");
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(doc.KeyOf(*number), "number");
  EXPECT_EQ(doc.PathOf(*number), "$.customer.cards[0].number");
  EXPECT_EQ(doc.OuterKeys(*number, 3), (std::vector<std::string_view>{"cards", "customer"}));

  const Document::Field* element = FieldWithValue(doc, "5425");
  ASSERT_NE(element, nullptr);
  EXPECT_EQ(doc.KeyOf(*element), "");
  EXPECT_EQ(doc.PathOf(*element), "$.customer.cards[1]");

  const Document::Field* n = FieldWithValue(doc, "-8");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(doc.PathOf(*n), "$.n");
}

TEST(JsonDocumentTest, WritesArrayIndicesOfSeveralDigitsAndNestedArrays) {
  std::string json = R"({"rows":[)";
  for (int i = 0; i < 120; ++i) json += i == 0 ? "[0]" : ",[" + std::to_string(i) + ",\"v" + std::to_string(i) + "\"]";
  json += "]}";
  Document doc = Document::Json(json);
  doc.IndexUpTo(doc.text().size());
  EXPECT_EQ(PathOfValue(doc, "v10\""), "$.rows[10][1]");
  EXPECT_EQ(PathOfValue(doc, "v119"), "$.rows[119][1]");
}

TEST(JsonDocumentTest, FindsTheFieldWhoseKeyHoldsAnOffset) {
  Document doc = Document::Json(R"({"api_key": "abc", "other": 1})");
  doc.IndexUpTo(doc.text().size());
  const Document::Field* field = doc.FieldNamedAt(doc.text().find("key"));
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(doc.ValueOf(*field), "abc");
  EXPECT_EQ(doc.FieldNamedAt(doc.text().find("abc")), nullptr);
}

TEST(JsonDocumentTest, ToleratesEscapesTruncationAndConcatenatedDocuments) {
  Document doc = Document::Json("{\"a\":\"x\\\"y\",\"b\":[1,true,\"two\"]}\n{\"c\":{\"d\":\"cut her");
  doc.IndexUpTo(doc.text().size());
  EXPECT_EQ(PathOfValue(doc, "two"), "$.b[2]");  // `true` took index 1
  EXPECT_EQ(PathOfValue(doc, "cut her"), "$.c.d");
  const Document::Field* escaped = FieldWithValue(doc, "x\\\"y");
  ASSERT_NE(escaped, nullptr);
  EXPECT_EQ(doc.KeyOf(*escaped), "a");
}

TEST(JsonDocumentTest, IndexesOnlyAsFarAsAsked) {
  Document doc = Document::Json(R"({"a":"1","b":"2","c":"3"})");
  doc.IndexUpTo(doc.text().find("\"a\""));
  EXPECT_NE(FieldWithValue(doc, "1"), nullptr);
  EXPECT_EQ(FieldWithValue(doc, "3"), nullptr);
  doc.IndexUpTo(doc.text().size());
  EXPECT_NE(FieldWithValue(doc, "3"), nullptr);
}

TEST(JsonDocumentTest, KeysThatCouldBeDataAreMaskedInPaths) {
  Document doc =
      Document::Json(R"({"ann@corp.io":{"x":"first"},"4539526018159083":"second","k8Jd92LqPz0vXw7RqT":"third"})");
  doc.IndexUpTo(doc.text().size());
  for (std::string_view value : {"first", "second", "third"}) ASSERT_NE(FieldWithValue(doc, value), nullptr) << value;
  EXPECT_EQ(doc.PathOf(*FieldWithValue(doc, "first")), "$.*.x");
  EXPECT_EQ(doc.PathOf(*FieldWithValue(doc, "second")), "$.*");
  EXPECT_EQ(doc.PathOf(*FieldWithValue(doc, "third")), "$.*");
}

TEST(PairsDocumentTest, DecodesFormsSoTheScannerSeesWhatTheApplicationSees) {
  Document doc = Document::Pairs("card+no=4539+5260%2D1815&flag&&x=%zz", '&', true);
  EXPECT_EQ(doc.text(), "card no=4539 5260-1815\n=flag\nx=%zz\n");
  const Document::Field* card = FieldWithValue(doc, "4539");
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(doc.KeyOf(*card), "card no");
  EXPECT_EQ(doc.PathOf(*card), "*");  // a space is not allowed in a location name
  const Document::Field* flag = FieldWithValue(doc, "flag");
  ASSERT_NE(flag, nullptr);
  EXPECT_EQ(doc.KeyOf(*flag), "");
}

TEST(PairsDocumentTest, CookiesKeepPlusSigns) {
  Document doc = Document::Pairs("session=a+b; theme=dark", ';', false);
  EXPECT_EQ(doc.text(), "session=a+b\ntheme=dark\n");
  EXPECT_EQ(doc.PathOf(*FieldWithValue(doc, "dark")), "theme");
}

TEST(HeadersDocumentTest, NamesEachValueByItsHeader) {
  http::Header auth{"authorization", "Bearer abc"}, agent{"user-agent", "curl"};
  Document doc = Document::Headers({&auth, &agent});
  EXPECT_EQ(doc.text(), "authorization: Bearer abc\nuser-agent: curl\n");
  EXPECT_EQ(doc.PathOf(*FieldWithValue(doc, "Bearer")), "authorization");
  EXPECT_EQ(doc.FieldNamedAt(doc.text().find("agent")), FieldWithValue(doc, "curl"));
}

TEST(SafeNameTest, KeepsOrdinaryNamesAndHidesDataShapedOnes) {
  EXPECT_EQ(SafeName("card_number"), "card_number");
  EXPECT_EQ(SafeName("x-api-key"), "x-api-key");
  EXPECT_EQ(SafeName("user@example.com"), "*");
  EXPECT_EQ(SafeName("4539526018159083"), "*");
  EXPECT_EQ(SafeName(std::string(60, 'a')), "*");
  EXPECT_EQ(SafeName("with space"), "*");
}

}  // namespace
}  // namespace rampart::dlp
