#include "agent/jwt/base64url.h"

#include <gtest/gtest.h>

#include <random>

namespace rampart::jwt {
namespace {

TEST(Base64UrlTest, DecodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(DecodeBase64Url(""), "");
  EXPECT_EQ(DecodeBase64Url("Zg"), "f");
  EXPECT_EQ(DecodeBase64Url("Zm8"), "fo");
  EXPECT_EQ(DecodeBase64Url("Zm9v"), "foo");
  EXPECT_EQ(DecodeBase64Url("Zm9vYg"), "foob");
  EXPECT_EQ(DecodeBase64Url("Zm9vYmE"), "fooba");
  EXPECT_EQ(DecodeBase64Url("Zm9vYmFy"), "foobar");
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(DecodeBase64Url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_EQ(DecodeBase64Url("+/8"), std::nullopt);  // standard base64 characters
}

TEST(Base64UrlTest, RejectsPaddingWhitespaceAndForeignCharacters) {
  for (const char* text : {"Zg==", "Zm8=", "Zm9v ", " Zm9v", "Zm\n9v", "Zm9v.", "Zm9v%3D"}) {
    EXPECT_EQ(DecodeBase64Url(text), std::nullopt) << text;
  }
  EXPECT_EQ(DecodeBase64Url(std::string_view("Zm9\0", 4)), std::nullopt);
}

TEST(Base64UrlTest, RejectsALoneTrailingCharacter) {
  EXPECT_EQ(DecodeBase64Url("Z"), std::nullopt);
  EXPECT_EQ(DecodeBase64Url("Zm9vY"), std::nullopt);
}

TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  // "Zh" and "Zm9" + "w" would decode to the same bytes as "Zg" / "Zm8"
  // in a lenient decoder; two spellings of one token defeat exact matching.
  EXPECT_EQ(DecodeBase64Url("Zh"), std::nullopt);
  EXPECT_EQ(DecodeBase64Url("Zm9"), std::nullopt);
  EXPECT_EQ(DecodeBase64Url("Zm8"), "fo");
}

TEST(Base64UrlTest, EncodeThenDecodeGivesTheBytesBack) {
  std::mt19937 random(7);
  for (size_t length = 0; length < 70; ++length) {
    std::string bytes(length, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    std::string encoded = EncodeBase64Url(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(DecodeBase64Url(encoded), bytes) << length;
  }
}

}  // namespace
}  // namespace rampart::jwt
