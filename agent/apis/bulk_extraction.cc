#include "agent/apis/bulk_extraction.h"

#include <algorithm>
#include <cmath>

namespace rampart::apis {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// Past the string that starts at s[i] == '"'; s.size() when it does not end.
size_t SkipString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// Past the value that starts at s[i]; s.size() when it does not end.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return s.size();
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] != '[' && s[i] != '{') {
    while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && !IsSpace(s[i])) ++i;
    return i;
  }
  size_t depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      i = SkipString(s, i);
      continue;
    }
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return s.size();
}

// Elements of the array that starts at s[i] == '['; nullopt when malformed.
std::optional<uint64_t> CountElements(std::string_view s, size_t i) {
  i = SkipSpace(s, i + 1);
  if (i < s.size() && s[i] == ']') return 0;
  uint64_t n = 0;
  while (i < s.size()) {
    ++n;
    i = SkipSpace(s, SkipValue(s, i));
    if (i >= s.size() || s[i] == ']') break;
    if (s[i] != ',') return std::nullopt;
    i = SkipSpace(s, i + 1);
  }
  return n;
}

}  // namespace

std::optional<uint64_t> CountRecords(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  size_t i = SkipSpace(body, 0);
  if (i >= body.size()) return std::nullopt;
  if (body[i] == '[') return CountElements(body, i);
  if (body[i] != '{') return std::nullopt;
  i = SkipSpace(body, i + 1);
  while (i < body.size() && body[i] == '"') {
    const size_t key_end = SkipString(body, i);
    if (key_end >= body.size()) return std::nullopt;
    const std::string_view key = body.substr(i + 1, key_end - i - 2);
    i = SkipSpace(body, key_end);
    if (i >= body.size() || body[i] != ':') return std::nullopt;
    i = SkipSpace(body, i + 1);
    if ((key == "data" || key == "items" || key == "results") && i < body.size() && body[i] == '[') {
      return CountElements(body, i);
    }
    i = SkipSpace(body, SkipValue(body, i));
    if (i >= body.size() || body[i] != ',') return std::nullopt;
    i = SkipSpace(body, i + 1);
  }
  return std::nullopt;
}

BulkExtractionDetector::BulkExtractionDetector(BulkOptions options)
    : options_(options), pairs_(options.max_tracked), endpoints_(options.max_tracked) {}

void BulkExtractionDetector::Fold(Baseline& b, std::optional<uint64_t> records, uint64_t bytes, double alpha) {
  if (records.has_value()) {
    ++b.record_samples;
    const double w = std::max(alpha, 1.0 / b.record_samples);
    b.records += w * (static_cast<double>(*records) - b.records);
  }
  ++b.byte_samples;
  const double w = std::max(alpha, 1.0 / b.byte_samples);
  b.bytes += w * (static_cast<double>(bytes) - b.bytes);
}

BulkVerdict BulkExtractionDetector::Observe(uint64_t pair, uint64_t endpoint, std::optional<uint64_t> records,
                                            uint64_t bytes) {
  Baseline& own = pairs_.FindOrCreate(pair);
  Baseline& all = endpoints_.FindOrCreate(endpoint);
  BulkVerdict v;
  const Baseline* base = nullptr;
  if (own.byte_samples >= options_.warmup) {
    base = &own;
  } else if (all.byte_samples >= options_.warmup) {
    base = &all;
    v.endpoint_baseline = true;
  }
  if (base != nullptr) {
    v.baseline_bytes = base->bytes;
    v.threshold_bytes =
        std::max<uint64_t>(options_.min_bytes, static_cast<uint64_t>(std::ceil(options_.factor * base->bytes)));
    v.by_bytes = bytes > v.threshold_bytes;
    if (base->record_samples >= options_.warmup) {
      v.baseline_records = base->records;
      v.threshold_records =
          std::max<uint64_t>(options_.min_records, static_cast<uint64_t>(std::ceil(options_.factor * base->records)));
      v.by_records = records.has_value() && *records > v.threshold_records;
    }
    v.flagged = v.by_bytes || v.by_records;
  }
  if (v.flagged) {
    ++flagged_;
    return v;
  }
  Fold(own, records, bytes, options_.alpha);
  Fold(all, records, bytes, options_.alpha);
  return v;
}

BulkStats BulkExtractionDetector::stats() const {
  return BulkStats{.tracked = pairs_.size(), .evicted = pairs_.evicted() + endpoints_.evicted(), .flagged = flagged_};
}

}  // namespace rampart::apis
