#include "agent/jwt/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::jwt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

JsonValue Parsed(std::string_view text) {
  auto value = ParseJson(text);
  EXPECT_TRUE(value.ok()) << text << ": " << value.status();
  return value.ok() ? *value : JsonValue();
}

TEST(JsonTest, ParsesAJoseHeader) {
  JsonValue header = Parsed(R"({"alg":"RS256","typ":"JWT","kid":"k1","crit":[],"n":null,"b64":true})");
  ASSERT_TRUE(header.is_object());
  EXPECT_EQ(header.members().size(), 6u);
  ASSERT_NE(header.FindString("alg"), nullptr);
  EXPECT_EQ(*header.FindString("alg"), "RS256");
  EXPECT_TRUE(header.Find("crit")->is_array());
  EXPECT_TRUE(header.Find("n")->is_null());
  EXPECT_TRUE(header.Find("b64")->boolean());
  EXPECT_EQ(header.Find("missing"), nullptr);
  EXPECT_EQ(header.FindString("b64"), nullptr);  // present, but not a string
}

TEST(JsonTest, ParsesNumbersAsJsonWritesThem) {
  EXPECT_EQ(Parsed("0").number(), 0);
  EXPECT_EQ(Parsed("-0").number(), 0);
  EXPECT_EQ(Parsed("1700000000").number(), 1700000000);
  EXPECT_EQ(Parsed("1700000000.25").number(), 1700000000.25);
  EXPECT_EQ(Parsed("-12.5e2").number(), -1250);
  EXPECT_EQ(Parsed("1E+3").number(), 1000);
  EXPECT_EQ(Parsed("25e-1").number(), 2.5);
}

TEST(JsonTest, DecodesEscapesIncludingSurrogatePairs) {
  EXPECT_EQ(Parsed(R"("a\"b\\c\/d\b\f\n\r\t")").string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(Parsed(R"("\u0041\u00e9\u20AC")").string(), "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Parsed(R"("\ud83d\ude00")").string(), "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(Parsed("\"\xE2\x82\xAC\"").string(), "\xE2\x82\xAC");       // raw UTF-8 passes through
}

TEST(JsonTest, ParsesNestedContainersAndWhitespace) {
  JsonValue value = Parsed(" {\n\t\"keys\" : [ {\"a\":[1, 2, [3]]} , {} ] }\r\n");
  const JsonValue* keys = value.Find("keys");
  ASSERT_NE(keys, nullptr);
  ASSERT_EQ(keys->array().size(), 2u);
  EXPECT_EQ(keys->array()[0].Find("a")->array()[2].array()[0].number(), 3);
  EXPECT_TRUE(keys->array()[1].members().empty());
}

TEST(JsonTest, RejectsWhatStrictJsonForbids) {
  const char* invalid[] = {
      "",            // no value
      "{\"a\":1,}",  // trailing comma in object
      "[1,]",        // trailing comma in array
      "{'a':1}",     // single quotes
      "{a:1}",       // bare member name
      "01",          // leading zero
      "-",           // sign alone
      "1.",          // fraction without digits
      ".5",          // no integer part
      "1e",          // exponent without digits
      "+1",          // plus sign
      "NaN",
      "Infinity",
      "1e999",  // out of range
      "tru",
      "nul",
      "\"abc",                 // unterminated
      "\"a\x01z\"",            // raw control character
      "\"\\x41\"",             // unknown escape
      "\"\\u12\"",             // short \u
      "\"\\ud83d\"",           // high surrogate alone
      "\"\\ud83dx\"",          // high surrogate followed by text
      "\"\\ud83d\\u0041\"",    // high surrogate followed by a non-surrogate
      "\"\\ude00\"",           // low surrogate alone
      "\"\xC0\xAF\"",          // overlong UTF-8
      "\"\xED\xA0\x80\"",      // UTF-8 encoded surrogate
      "\"\xF4\x90\x80\x80\"",  // above U+10FFFF
      "\"\xE2\x82\"",          // truncated sequence
      "\"\xFF\"",              // never valid in UTF-8
      "{} {}",                 // two documents
      "{}x",                   // trailing data
      "/* c */ {}",            // comment
      "{\"a\" 1}",             // missing colon
      "[1 2]",                 // missing comma
  };
  for (const char* text : invalid) EXPECT_FALSE(ParseJson(text).ok()) << text;
}

TEST(JsonTest, RejectsRepeatedMemberNames) {
  // {"alg":"RS256","alg":"none"} means different things to different
  // parsers; RFC 7515 section 4 lets a parser refuse it.
  auto value = ParseJson(R"({"alg":"RS256","alg":"none"})");
  ASSERT_FALSE(value.ok());
  EXPECT_THAT(std::string(value.status().message()), HasSubstr("repeated member name"));
  EXPECT_TRUE(ParseJson(R"({"a":{"x":1},"b":{"x":2}})").ok());  // same name in different objects
}

TEST(JsonTest, LimitsNesting) {
  std::string deep_ok = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_TRUE(ParseJson(deep_ok).ok());
  std::string too_deep = std::string(kMaxJsonDepth + 2, '[') + std::string(kMaxJsonDepth + 2, ']');
  EXPECT_FALSE(ParseJson(too_deep).ok());
  // A hostile depth costs an error, not the stack.
  EXPECT_FALSE(ParseJson(std::string(100000, '[')).ok());
}

TEST(JsonTest, ErrorsGiveTheOffsetAndNeverQuoteTheInput) {
  auto value = ParseJson(R"({"secret-value": "hunter2" "x"})");
  ASSERT_FALSE(value.ok());
  std::string message(value.status().message());
  EXPECT_THAT(message, HasSubstr("at byte 27"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(message, Not(HasSubstr("secret-value")));
}

}  // namespace
}  // namespace rampart::jwt
