// Document::IndexTouching keeps only the JSON fields that prefilter matches
// touch and skips the stretches between them; for any position inside a
// match it must answer exactly as the full index (IndexUpTo) does: the
// field, its key, its path, its enclosing keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "agent/dlp/document.h"
#include "agent/dlp/simd.h"
#include "tests/dlp/with_simd_level.h"

namespace rampart::dlp {
namespace {

class RandomJson {
 public:
  explicit RandomJson(uint64_t seed) : rng_(seed) {}

  std::string Document() {
    out_.clear();
    pretty_ = rng_() % 3 == 0;
    Value(0);
    return out_;
  }

 private:
  void Space(int depth) {
    if (!pretty_) return;
    out_ += "\n";
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }

  void String() {
    static const char* kPieces[] = {
        "card", "number", "4539526018159083", " ", "a,b", "{x}", "[1]", "\\\"", "\\\\", "\\n", "ssn", ":", "é",
        "key",  "id",     "x\\\\\\\"y"};
    out_ += '"';
    for (size_t n = rng_() % 5; n > 0; --n) out_ += kPieces[rng_() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    out_ += '"';
  }

  void Value(int depth) {
    const int kind = depth > 5 ? static_cast<int>(rng_() % 3) : static_cast<int>(rng_() % 6);
    switch (kind) {
      case 0:
        String();
        break;
      case 1:
        out_ += std::to_string(static_cast<int64_t>(rng_() % 100000000000) - 1000);
        break;
      case 2:
        out_ += rng_() % 2 ? "true" : "null";
        break;
      case 3:
      case 4: {
        out_ += '{';
        for (size_t n = rng_() % 6, i = 0; i < n; ++i) {
          if (i > 0) out_ += ',';
          Space(depth + 1);
          String();
          out_ += pretty_ ? ": " : ":";
          Value(depth + 1);
        }
        Space(depth);
        out_ += '}';
        break;
      }
      default: {
        out_ += '[';
        for (size_t n = rng_() % 6, i = 0; i < n; ++i) {
          if (i > 0) out_ += pretty_ ? ", " : ",";
          Value(depth + 1);
        }
        out_ += ']';
      }
    }
  }

  std::mt19937_64 rng_;
  std::string out_;
  bool pretty_ = false;
};

std::string Describe(const Document& doc, const Document::Field* field) {
  if (field == nullptr) return "none";
  std::string keys;
  for (std::string_view k : doc.OuterKeys(*field, 8)) keys += std::string(k) + "/";
  return std::to_string(field->value_begin) + "-" + std::to_string(field->value_end) + " key '" +
         std::string(doc.KeyOf(*field)) + "' path " + doc.PathOf(*field) + " outer " + keys + " index " +
         std::to_string(field->array_index);
}

void ExpectTheAnswersOfTheFullIndex() {
  RandomJson generator(99);
  std::mt19937_64 rng(5);
  size_t compared = 0, found = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string text;
    // Long documents, so that skipping happens between the spans.
    while (text.size() < 2000 + rng() % 6000) text += generator.Document() + (rng() % 2 ? "\n" : "");
    if (rng() % 5 == 0) text.resize(rng() % text.size());  // cut, as a body at the parser's cap is
    if (text.empty()) continue;

    std::vector<Document::Span> spans;
    for (size_t n = 1 + rng() % 12; n > 0; --n) {
      const auto begin = static_cast<uint32_t>(rng() % text.size());
      spans.push_back({begin, static_cast<uint32_t>(std::min<size_t>(text.size(), begin + 1 + rng() % 20))});
    }
    std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });

    Document full = Document::Json(text);
    full.IndexUpTo(text.size());
    Document touched = Document::Json(text);
    touched.IndexTouching(spans);
    for (const Document::Span& span : spans) {
      for (uint32_t at = span.begin; at < span.end; ++at) {
        const Document::Field* expected = full.FieldContaining(at);
        ASSERT_EQ(Describe(touched, touched.FieldContaining(at)), Describe(full, expected))
            << "offset " << at << " in:\n"
            << text;
        ASSERT_EQ(Describe(touched, touched.FieldNamedAt(at)), Describe(full, full.FieldNamedAt(at)))
            << "offset " << at << " in:\n"
            << text;
        ++compared;
        found += expected != nullptr;
      }
    }
  }
  EXPECT_GT(found, compared / 5);  // the spans do land in fields
}

TEST(JsonIndexTest, TheIndexOfTouchedFieldsAnswersLikeTheFullIndex) { ExpectTheAnswersOfTheFullIndex(); }

// The skip between spans reads 64-byte blocks with SSE2 or with AVX2 where
// the CPU has it; each must give the same answers.
TEST(JsonIndexTest, TheSse2AndAvx2SkipsGiveTheSameAnswers) {
  for (SimdLevel level : {SimdLevel::kSse2, SimdLevel::kAvx2}) {
    WithSimdLevel with(level);
    if (!with.taken()) GTEST_SKIP() << "AVX2 not available (CPU, or a build without SSE2)";
    ExpectTheAnswersOfTheFullIndex();
  }
}

TEST(JsonIndexTest, SkippingReusedMemoryGivesTheSameAnswers) {
  RandomJson generator(3);
  Document spare = Document::Json("");
  for (int round = 0; round < 50; ++round) {
    std::string text;
    while (text.size() < 3000) text += generator.Document();
    const std::vector<Document::Span> spans = {
        {static_cast<uint32_t>(text.size() / 2), static_cast<uint32_t>(text.size() / 2 + 5)}};
    Document reused = Document::Json(text, std::move(spare));
    reused.IndexTouching(spans);
    Document fresh = Document::Json(text);
    fresh.IndexTouching(spans);
    for (uint32_t at = spans[0].begin; at < spans[0].end; ++at) {
      ASSERT_EQ(Describe(reused, reused.FieldContaining(at)), Describe(fresh, fresh.FieldContaining(at)));
    }
    spare = std::move(reused);
  }
}

}  // namespace
}  // namespace rampart::dlp
