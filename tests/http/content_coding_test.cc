#include "agent/http/content_coding.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/http/test_support.h"

namespace rampart::http {
namespace {

using testing::Gzip;
using testing::RawDeflate;
using testing::ZlibDeflate;

std::string Text(size_t size) {
  std::string text;
  for (size_t i = 0; text.size() < size; ++i) text += "line " + std::to_string(i) + " of some response text\n";
  text.resize(size);
  return text;
}

TEST(AppendCodingsTest, ListsSupportedCodingsInOrderAndSkipsIdentity) {
  std::vector<ContentCoding> codings;
  EXPECT_TRUE(AppendCodings("gzip, identity ,DEFLATE", false, codings));
  EXPECT_EQ(codings, (std::vector<ContentCoding>{ContentCoding::kGzip, ContentCoding::kDeflate}));
}

TEST(AppendCodingsTest, XGzipIsGzip) {
  std::vector<ContentCoding> codings;
  EXPECT_TRUE(AppendCodings("x-gzip", false, codings));
  EXPECT_EQ(codings, std::vector<ContentCoding>{ContentCoding::kGzip});
}

TEST(AppendCodingsTest, UnsupportedCodingIsReported) {
  std::vector<ContentCoding> codings;
  EXPECT_FALSE(AppendCodings("br", false, codings));
  EXPECT_FALSE(AppendCodings("gzip, zstd", false, codings));
}

TEST(AppendCodingsTest, ChunkedIsSkippedOnlyWhenAsked) {
  std::vector<ContentCoding> codings;
  EXPECT_TRUE(AppendCodings("gzip, chunked", true, codings));
  EXPECT_EQ(codings, std::vector<ContentCoding>{ContentCoding::kGzip});
  EXPECT_FALSE(AppendCodings("chunked", false, codings));
}

struct CodingCase {
  const char* name;
  ContentCoding coding;
  std::string (*encode)(std::string_view);
};

class EachCoding : public ::testing::TestWithParam<CodingCase> {};

TEST_P(EachCoding, DecodesCompleteBody) {
  const std::string text = Text(100000);
  const std::vector<ContentCoding> codings{GetParam().coding};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, GetParam().encode(text), 1 << 20, out), DecodeStatus::kComplete);
  EXPECT_EQ(out, text);
}

TEST_P(EachCoding, TruncatedInputGivesAPrefix) {
  const std::string text = Text(100000);
  const std::string encoded = GetParam().encode(text);
  const std::vector<ContentCoding> codings{GetParam().coding};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, std::string_view(encoded).substr(0, encoded.size() / 2), 1 << 20, out),
            DecodeStatus::kIncomplete);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out, text.substr(0, out.size()));
}

TEST_P(EachCoding, OutputStopsAtTheCap) {
  const std::string text = Text(100000);
  const std::vector<ContentCoding> codings{GetParam().coding};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, GetParam().encode(text), 4096, out), DecodeStatus::kCapped);
  EXPECT_EQ(out, text.substr(0, 4096));
}

TEST_P(EachCoding, OutputOfExactlyTheCapIsComplete) {
  const std::string text = Text(4096);
  const std::vector<ContentCoding> codings{GetParam().coding};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, GetParam().encode(text), 4096, out), DecodeStatus::kComplete);
  EXPECT_EQ(out, text);
}

TEST_P(EachCoding, GarbageIsAnError) {
  const std::vector<ContentCoding> codings{GetParam().coding};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, "this is not compressed at all, just text", 1 << 20, out), DecodeStatus::kError);
}

INSTANTIATE_TEST_SUITE_P(Codings, EachCoding,
                         ::testing::Values(CodingCase{"gzip", ContentCoding::kGzip, &Gzip},
                                           CodingCase{"zlib_deflate", ContentCoding::kDeflate, &ZlibDeflate},
                                           CodingCase{"raw_deflate", ContentCoding::kDeflate, &RawDeflate}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DecodeContentTest, DecompressionBombCostsOnlyTheCap) {
  // 32 MiB of zeros compress to about 32 KiB.
  const std::string bomb = testing::GzipZeros(32u << 20);
  ASSERT_LT(bomb.size(), 40u << 10);
  const std::vector<ContentCoding> codings{ContentCoding::kGzip};
  std::string out;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(DecodeContent(codings, bomb, 1 << 20, out), DecodeStatus::kCapped);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.size(), 1u << 20);
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));
}

TEST(DecodeContentTest, ConcatenatedGzipMembersAreOneBody) {
  const std::vector<ContentCoding> codings{ContentCoding::kGzip};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, Gzip("first part, ") + Gzip("second part"), 1 << 20, out),
            DecodeStatus::kComplete);
  EXPECT_EQ(out, "first part, second part");
}

TEST(DecodeContentTest, BytesAfterTheCompressedStreamAreAnError) {
  // A peer that ignores Content-Encoding would read them: they must not be hidden.
  const std::vector<ContentCoding> codings{ContentCoding::kGzip};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, Gzip("harmless") + "' OR 1=1 --", 1 << 20, out), DecodeStatus::kError);
}

TEST(DecodeContentTest, LayeredCodingsAreUndoneLastFirst) {
  // "Content-Encoding: gzip, deflate": gzip was applied first.
  const std::vector<ContentCoding> codings{ContentCoding::kGzip, ContentCoding::kDeflate};
  std::string out;
  EXPECT_EQ(DecodeContent(codings, ZlibDeflate(Gzip("two layers")), 1 << 20, out), DecodeStatus::kComplete);
  EXPECT_EQ(out, "two layers");
}

TEST(DecodeContentTest, EmptyBodyWithACodingIsEmpty) {
  const std::vector<ContentCoding> codings{ContentCoding::kGzip};
  std::string out = "stale";
  EXPECT_EQ(DecodeContent(codings, "", 1 << 20, out), DecodeStatus::kComplete);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace rampart::http
