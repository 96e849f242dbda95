#include "agent/dlp/document.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "agent/dlp/simd.h"

#include "agent/common/text_codec.h"
#include "agent/dlp/validators.h"

namespace rampart::dlp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

using text::HexValue;

void AppendDecoded(std::string& out, std::string_view in, bool plus_is_space) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

// The first '"' or '\\' at or after `at`, or `end`. Most JSON strings are
// short keys and values, for which a memchr call costs more than the search.
size_t QuoteOrBackslash(const char* t, size_t at, size_t end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; at + 16 <= end; at += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + at));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (mask != 0) return at + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  while (at < end && t[at] != '"' && t[at] != '\\') ++at;
  return at;
}

// The quote that ends the JSON string starting at `from`, or the text size.
size_t ClosingQuote(std::string_view t, size_t from) {
  size_t at = from;
  while (true) {
    at = QuoteOrBackslash(t.data(), at, t.size());
    if (at >= t.size()) return t.size();
    if (t[at] == '"') return at;
    at += 2;  // an escape: the next character is taken as is
  }
}

std::string_view TrimLeadingSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

std::string_view SafeNameView(std::string_view name) {
  if (name.empty()) return "";
  if (name.size() > 48) return "*";
  size_t digits = 0;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u >= 0x7F || c == '"' || c == '\\' || c == '@') return "*";
    if (IsDigit(c)) ++digits;
  }
  if (digits >= 5) return "*";
  if (name.size() >= 16 && LooksRandom(name)) return "*";
  return name;
}

std::string SafeName(std::string_view name) { return std::string(SafeNameView(name)); }

Document Document::PlainText(std::string_view text) {
  Document doc;
  doc.external_ = text;
  return doc;
}

Document Document::Json(std::string_view text) {
  Document doc;
  doc.external_ = text;
  doc.json_ = true;
  // About one value per 24 bytes in API payloads; growth copies are the
  // walk's largest cost otherwise.
  doc.fields_.reserve(text.size() / 24);
  return doc;
}

Document Document::Json(std::string_view text, Document&& spare) {
  Document doc = std::move(spare);
  doc.storage_.clear();
  doc.owned_ = false;
  doc.external_ = text;
  doc.json_ = true;
  // A pathological body (a million one-digit values) leaves a large index
  // behind: not worth keeping.
  constexpr size_t kMaxKeptFields = size_t{1} << 16;
  if (doc.fields_.capacity() > kMaxKeptFields) doc.fields_ = {};
  if (doc.containers_.capacity() > kMaxKeptFields) doc.containers_ = {};
  doc.fields_.clear();
  doc.containers_.clear();
  doc.stack_.clear();
  doc.walked_ = 0;
  doc.walk_done_ = false;
  doc.lookup_hint_ = 0;
  doc.last_value_begin_ = kNoValue;
  doc.fields_.reserve(text.size() / 24);
  return doc;
}

Document Document::PercentDecoded(std::string_view encoded) {
  Document doc;
  doc.owned_ = true;
  AppendDecoded(doc.storage_, encoded, false);
  return doc;
}

Document Document::Pairs(std::string_view encoded, char separator, bool plus_is_space) {
  Document doc;
  doc.owned_ = true;
  doc.storage_.reserve(encoded.size() + 16);
  while (!encoded.empty()) {
    size_t cut = encoded.find(separator);
    std::string_view pair = TrimLeadingSpace(encoded.substr(0, cut));
    encoded.remove_prefix(cut == std::string_view::npos ? encoded.size() : cut + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    Field field;
    field.key_begin = static_cast<uint32_t>(doc.storage_.size());
    if (eq != std::string_view::npos) AppendDecoded(doc.storage_, pair.substr(0, eq), plus_is_space);
    field.key_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('=');
    field.value_begin = static_cast<uint32_t>(doc.storage_.size());
    AppendDecoded(doc.storage_, eq == std::string_view::npos ? pair : pair.substr(eq + 1), plus_is_space);
    field.value_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('\n');
    doc.fields_.push_back(field);
  }
  return doc;
}

Document Document::Headers(const std::vector<const http::Header*>& headers) {
  Document doc;
  doc.owned_ = true;
  for (const http::Header* h : headers) {
    Field field;
    field.key_begin = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += h->name;
    field.key_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += ": ";
    field.value_begin = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_ += h->value;
    field.value_end = static_cast<uint32_t>(doc.storage_.size());
    doc.storage_.push_back('\n');
    doc.fields_.push_back(field);
  }
  return doc;
}

void Document::IndexUpTo(size_t offset) {
  if (json_ && !walk_done_) WalkJson(offset);
}

void Document::IndexTouching(const std::vector<Span>& spans) {
  if (!json_ || walk_done_ || spans.empty()) return;
  uint32_t last = 0;
  for (const Span& span : spans) last = std::max(last, span.end);
  touching_ = &spans;
  touching_next_ = 0;
  touching_end_ = 0;
  WalkJson(last);
  touching_ = nullptr;
}

bool Document::Touched(uint32_t extent_begin, uint32_t extent_end) {
  if (touching_ == nullptr) return true;
  // Fields come in text order: take in the spans that start before this
  // field ends; one of them overlaps it if the furthest end passes its start.
  const std::vector<Span>& spans = *touching_;
  while (touching_next_ < spans.size() && spans[touching_next_].begin < extent_end) {
    touching_end_ = std::max(touching_end_, spans[touching_next_].end);
    ++touching_next_;
  }
  return touching_end_ > extent_begin;
}

void Document::OpenFrame(size_t at, bool is_array) {
  Frame frame;
  frame.is_array = is_array;
  frame.open = static_cast<uint32_t>(at);
  if (!stack_.empty()) {
    Frame& parent = stack_.back();
    if (parent.is_array) {
      frame.index_in_parent = parent.element;
    } else {
      parent.has_key = false;  // the key names this container (WriteContainers reads it back)
    }
  }
  stack_.push_back(frame);
}

void Document::CloseFrame() {
  if (!stack_.empty()) stack_.pop_back();
}

void Document::Comma() {
  if (stack_.empty()) return;
  Frame& frame = stack_.back();
  frame.has_key = false;
  if (frame.is_array) ++frame.element;
}

std::pair<uint32_t, uint32_t> Document::KeyBefore(uint32_t open, uint32_t floor) const {
  const std::string_view t = text();
  auto skip_space = [&](size_t i) {
    while (i > floor && (t[i - 1] == ' ' || t[i - 1] == '\n' || t[i - 1] == '\r' || t[i - 1] == '\t')) --i;
    return i;
  };
  size_t i = skip_space(open);
  if (i <= floor || t[i - 1] != ':') return {0, 0};
  i = skip_space(i - 1);
  if (i <= floor || t[i - 1] != '"') return {0, 0};
  const size_t close = i - 1;
  for (size_t j = close; j > floor; --j) {
    if (t[j - 1] != '"') continue;
    size_t backslashes = 0;
    while (j - 1 - backslashes > floor && t[j - 2 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return {static_cast<uint32_t>(j), static_cast<uint32_t>(close)};
  }
  return {0, 0};
}

void Document::WriteContainers() {
  for (size_t level = 0; level < stack_.size(); ++level) {
    Frame& frame = stack_[level];
    if (frame.container >= 0) continue;
    Container container;
    container.is_array = frame.is_array;
    container.array_index = frame.index_in_parent;
    if (level > 0) {
      const Frame& parent = stack_[level - 1];
      container.parent = parent.container;
      if (!parent.is_array) {
        // Read back from the '{' or '[' even when the walk read the key: a
        // walk skips what no span touches, so what it read depends on the
        // spans, and in malformed JSON the two can differ. Read back, a
        // container's name depends on the text alone.
        const auto [key_begin, key_end] = KeyBefore(frame.open, parent.open);
        container.key_begin = key_begin;
        container.key_end = key_end;
      }
    }
    containers_.push_back(container);
    frame.container = static_cast<int32_t>(containers_.size() - 1);
  }
}

void Document::AddJsonValue(uint32_t begin, uint32_t end, uint32_t extent_begin) {
  Field field;
  field.value_begin = begin;
  field.value_end = end;
  if (!stack_.empty()) {
    Frame& frame = stack_.back();
    if (frame.is_array) {
      field.array_index = frame.element;
    } else if (frame.has_key) {
      field.key_begin = frame.key_begin;
      field.key_end = frame.key_end;
      extent_begin = frame.key_begin - 1;
      frame.has_key = false;
    }
  }
  if (!Touched(extent_begin, end + 1)) return;
  WriteContainers();
  if (!stack_.empty()) field.parent = stack_.back().container;
  fields_.push_back(field);
}

size_t Document::OnString(size_t open, size_t close, size_t limit, bool& stop) {
  const bool is_key = !stack_.empty() && !stack_.back().is_array && !stack_.back().has_key;
  if (is_key) {
    Frame& frame = stack_.back();
    frame.has_key = true;
    frame.key_begin = static_cast<uint32_t>(open + 1);
    frame.key_end = static_cast<uint32_t>(close);
  } else {
    const size_t begin = open + 1;
    AddJsonValue(static_cast<uint32_t>(begin), static_cast<uint32_t>(close), static_cast<uint32_t>(open));
    last_value_begin_ = begin;
    stop = begin > limit;
  }
  return close + 1;
}

size_t Document::OnToken(size_t i, size_t limit, bool& stop) {
  const std::string_view t = text();
  const size_t n = t.size();
  const char c = t[i];
  if (c == '"') return OnString(i, ClosingQuote(t, i + 1), limit, stop);
  if (c == ',') {
    Comma();
    return i + 1;
  }
  if (c == '-' || IsDigit(c)) {
    size_t end = i + 1;
    while (end < n && (IsDigit(t[end]) || t[end] == '.' || t[end] == 'e' || t[end] == 'E' || t[end] == '+' ||
                       t[end] == '-')) {
      ++end;
    }
    AddJsonValue(static_cast<uint32_t>(i), static_cast<uint32_t>(end), static_cast<uint32_t>(i));
    last_value_begin_ = i;
    stop = i > limit;
    return end;
  }
  if (c == '{' || c == '[') {
    OpenFrame(i, c == '[');
    return i + 1;
  }
  if (c == '}' || c == ']') {
    CloseFrame();
    return i + 1;
  }
  if (IsAlpha(c)) {
    // true, false, null, or garbage: a value that carries nothing to scan.
    while (i < n && IsAlpha(t[i])) ++i;
    if (!stack_.empty()) stack_.back().has_key = false;
    return i;
  }
  return i + 1;  // whitespace, ':' or anything else between tokens
}

namespace {

// The structural bytes of a 64-byte block, bit k for byte k.
struct StructureMasks {
  uint64_t brace;  // { [ } ]
  uint64_t comma, quote, backslash;
};

// Bit k: an odd number of set bits at or below k.
uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

#if defined(__SSE2__)
// The block pass's operations for SSE2, which every x86-64 runs.
struct StructureSse2 {
  static StructureMasks Masks(const char* p) {
    StructureMasks m{};
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      // '[' and '{', ']' and '}' differ only in bit 0x20.
      const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
      const __m128i brace =
          _mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')), _mm_cmpeq_epi8(folded, _mm_set1_epi8('}')));
      auto bits = [&](__m128i x) {
        return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(x))) << 16 * i;
      };
      m.brace |= bits(brace);
      m.comma |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
      m.quote |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
      m.backslash |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    }
    return m;
  }
  static uint64_t QuotePrefix(uint64_t quote) { return PrefixXor(quote); }
  // Without a popcount instruction in the baseline x86-64 target,
  // __builtin_popcountll is a library call that costs more than this.
  static int32_t Count(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555;
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F;
    return static_cast<int32_t>((x * 0x0101010101010101) >> 56);
  }
};

#if defined(RAMPART_DLP_HAVE_AVX2)
// The same with AVX2, PCLMUL and POPCNT.
struct StructureAvx2 {
  RAMPART_DLP_AVX2 static inline __m256i Brace(__m256i v) {
    const __m256i folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    return _mm256_or_si256(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8('{')),
                           _mm256_cmpeq_epi8(folded, _mm256_set1_epi8('}')));
  }
  RAMPART_DLP_AVX2 static inline StructureMasks Masks(const char* p) {
    using avx2::Bits;
    using avx2::Equal;
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    StructureMasks m;
    m.brace = Bits(Brace(low), Brace(high));
    m.comma = Bits(Equal(low, ','), Equal(high, ','));
    m.quote = Bits(Equal(low, '"'), Equal(high, '"'));
    m.backslash = Bits(Equal(low, '\\'), Equal(high, '\\'));
    return m;
  }
  // The prefix XOR is a carry-less multiplication by all ones.
  RAMPART_DLP_AVX2 static inline uint64_t QuotePrefix(uint64_t quote) {
    return static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(
        _mm_set_epi64x(0, static_cast<int64_t>(quote)), _mm_set1_epi8(static_cast<char>(0xFF)), 0)));
  }
  RAMPART_DLP_AVX2 static inline int32_t Count(uint64_t x) { return __builtin_popcountll(x); }
};
#endif
#endif  // __SSE2__

}  // namespace

// SkipTo's pass over whole 64-byte blocks, with the masks and counts of
// `Simd`; inlined into one function per instruction set.
struct Document::BlockSkipper {
  Document& document;
  bool in_string = false;
  bool escaped = false;
  size_t after_last = 0;

  template <typename Simd>
  __attribute__((always_inline)) inline size_t Run(size_t i, size_t until) {
    const std::string_view t = document.text();
    const size_t n = t.size();
    std::vector<Frame>& stack = document.stack_;
    // Locals, not members: the frame writes below could alias members, which
    // would then go through memory on every block.
    bool inside_string = in_string, escape_pending = escaped;
    size_t last = after_last;
    // The last block usually ends past `until` (the next match is rarely
    // 64-byte aligned); its bytes from `until` on are read but not used, so
    // that no byte is read one at a time but at the end of the text.
    while (i < until && i + 64 <= n) {
      const StructureMasks m = Simd::Masks(t.data() + i);
      const size_t length = std::min<size_t>(64, until - i);
      const uint64_t used = length == 64 ? ~uint64_t{0} : (uint64_t{1} << length) - 1;
      // Bit k of the prefix depends only on bits up to k: those past `until`
      // do not change the used ones.
      uint64_t quote_prefix;
      if (escape_pending || (m.backslash & used) != 0) {
        quote_prefix = PrefixXor(QuotesCounted(t.data() + i, length, inside_string, escape_pending));
      } else {
        quote_prefix = Simd::QuotePrefix(m.quote);
      }
      const uint64_t outside = ~(quote_prefix ^ (inside_string ? ~uint64_t{0} : 0)) & used;
      inside_string = ((outside >> (length - 1)) & 1) == 0;
      // Braces one by one; commas only count elements of arrays, so those
      // before each brace are added at once to the array they are in.
      uint64_t commas = m.comma & outside;
      for (uint64_t braces = m.brace & outside; braces != 0; braces &= braces - 1) {
        const size_t k = static_cast<size_t>(__builtin_ctzll(braces));
        const uint64_t before = (uint64_t{1} << k) - 1;
        if (!stack.empty() && stack.back().is_array) stack.back().element += Simd::Count(commas & before);
        commas &= ~before;
        // '{' 0x7B and '[' 0x5B have bit 0x04 clear, '}' 0x7D and ']' 0x5D
        // set; the square ones have bit 0x20 clear.
        const char c = t[i + k];
        if ((c & 0x04) != 0) {
          document.CloseFrame();
        } else {
          document.OpenFrame(i + k, (c & 0x20) == 0);
        }
      }
      if (!stack.empty() && stack.back().is_array) stack.back().element += Simd::Count(commas);
      const uint64_t structural = (m.brace | m.comma) & outside;
      if (structural != 0) last = i + 64 - static_cast<size_t>(__builtin_clzll(structural));
      i += length;
    }
    in_string = inside_string;
    escaped = escape_pending;
    after_last = last;
    return i;
  }

  size_t RunSse2(size_t i, size_t until);
#if defined(RAMPART_DLP_HAVE_AVX2)
  RAMPART_DLP_AVX2 size_t RunAvx2(size_t i, size_t until);
#endif

  // Escapes: the quotes that count among the `length` bytes at `p`, found
  // one byte at a time, as rare as backslashes are in API bodies; the block
  // starts inside a string when `inside`. Updates `escaped`.
  static uint64_t QuotesCounted(const char* p, size_t length, bool inside, bool& escaped) {
    uint64_t quotes = 0;
    for (size_t k = 0; k < length; ++k) {
      const char c = p[k];
      if (escaped) {
        escaped = false;
      } else if (c == '"') {
        quotes |= uint64_t{1} << k;
        inside = !inside;
      } else if (c == '\\' && inside) {
        escaped = true;
      }
    }
    return quotes;
  }
};

#if defined(__SSE2__)
size_t Document::BlockSkipper::RunSse2(size_t i, size_t until) { return Run<StructureSse2>(i, until); }
#if defined(RAMPART_DLP_HAVE_AVX2)
RAMPART_DLP_AVX2 size_t Document::BlockSkipper::RunAvx2(size_t i, size_t until) {
  return Run<StructureAvx2>(i, until);
}
#endif
#endif

size_t Document::SkipTo(size_t i, size_t until) {
  const std::string_view t = text();
  BlockSkipper skipper{*this};
  skipper.after_last = i;
#if defined(RAMPART_DLP_HAVE_AVX2)
  if (ActiveSimdLevel() == SimdLevel::kAvx2) {
    i = skipper.RunAvx2(i, until);
  } else {
    i = skipper.RunSse2(i, until);
  }
#elif defined(__SSE2__)
  i = skipper.RunSse2(i, until);
#endif
  bool in_string = skipper.in_string, escaped = skipper.escaped;
  size_t after_last = skipper.after_last;
  for (; i < until; ++i) {
    const char c = t[i];
    if (escaped) {
      escaped = false;
    } else if (in_string) {
      if (c == '\\') escaped = true;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      OpenFrame(i, c == '[');
      after_last = i + 1;
    } else if (c == '}' || c == ']') {
      CloseFrame();
      after_last = i + 1;
    } else if (c == ',') {
      Comma();
      after_last = i + 1;
    }
  }
  return after_last;
}

void Document::WalkJson(size_t limit) {
  const std::string_view t = text();
  const size_t n = t.size();
  size_t i = walked_;
  // Stops once a value starts past `limit`: the value after the last match
  // is indexed too, so a key's value is found.
  if (last_value_begin_ != kNoValue && last_value_begin_ > limit) return;
  // With spans, the stretches far from any span are skipped: only what
  // changes the open containers and array positions is read there. Reading
  // resumes at the last of those before the next span, where a key or an
  // element starts.
  constexpr size_t kNear = 64;
  size_t no_skip_before = 0;  // a skip that found nothing is not retried before here
  bool stop = false;
  while (!stop && i < n) {
    // Not between a key and its value: a span in the key needs the value.
    const bool after_key = !stack_.empty() && stack_.back().has_key;
    if (touching_ != nullptr && i >= touching_end_ && i >= no_skip_before && !after_key) {
      const std::vector<Span>& spans = *touching_;
      if (touching_next_ == spans.size()) break;  // every span has been read
      const size_t next = spans[touching_next_].begin;
      if (next > i + kNear) {
        const size_t skipped_to = SkipTo(i, next);
        if (skipped_to == i) no_skip_before = next;
        i = skipped_to;
      }
    }
    i = OnToken(i, limit, stop);
  }
  walked_ = std::min(i, n);
  walk_done_ = walked_ >= n;
}

size_t Document::FirstValueAfter(size_t offset) const {
  // Lookups come in text order, a few fields apart: from the last answer a
  // few fields forward, then a binary search over what is left.
  const size_t hint = std::min(lookup_hint_, fields_.size());
  auto first = fields_.begin();
  if (hint == 0 || fields_[hint - 1].value_begin <= offset) {  // the answer is at or after the hint
    constexpr size_t kProbes = 8;
    const size_t probe_end = std::min(fields_.size(), hint + kProbes);
    for (size_t k = hint; k < probe_end; ++k) {
      if (offset < fields_[k].value_begin) return lookup_hint_ = k;
    }
    if (probe_end == fields_.size()) return lookup_hint_ = probe_end;
    first += static_cast<std::ptrdiff_t>(probe_end);
  }
  auto it = std::upper_bound(first, fields_.end(), offset,
                             [](size_t off, const Field& f) { return off < f.value_begin; });
  return lookup_hint_ = static_cast<size_t>(it - fields_.begin());
}

const Document::Field* Document::FieldContaining(size_t offset) const {
  const size_t k = FirstValueAfter(offset);
  if (k == 0) return nullptr;
  const Field& field = fields_[k - 1];
  return offset < field.value_end ? &field : nullptr;
}

const Document::Field* Document::FieldNamedAt(size_t offset) const {
  const size_t k = FirstValueAfter(offset);
  if (k == fields_.size()) return nullptr;
  const Field& field = fields_[k];
  return field.key_begin <= offset && offset < field.key_end ? &field : nullptr;
}

std::vector<const Document::Field*> Document::Siblings(const Field& field) const {
  if (field.parent < 0) return {&field};
  std::vector<const Field*> out;
  const size_t at = static_cast<size_t>(&field - fields_.data());
  constexpr size_t kReach = 512;
  const size_t from = at > kReach ? at - kReach : 0;
  const size_t to = std::min(fields_.size(), at + kReach);
  for (size_t i = from; i < to; ++i) {
    if (fields_[i].parent == field.parent) out.push_back(&fields_[i]);
  }
  return out;
}

std::string_view Document::KeyOf(const Field& field) const {
  return text().substr(field.key_begin, field.key_end - field.key_begin);
}

std::string_view Document::ValueOf(const Field& field) const {
  return text().substr(field.value_begin, field.value_end - field.value_begin);
}

size_t Document::OuterKeys(const Field& field, std::span<std::string_view> out) const {
  size_t count = 0;
  for (int32_t c = field.parent; c >= 0 && count < out.size(); c = containers_[c].parent) {
    const Container& container = containers_[c];
    if (container.key_end > container.key_begin) {
      out[count++] = text().substr(container.key_begin, container.key_end - container.key_begin);
    }
  }
  return count;
}

std::vector<std::string_view> Document::OuterKeys(const Field& field, size_t max) const {
  std::vector<std::string_view> keys(max);
  keys.resize(OuterKeys(field, std::span<std::string_view>(keys)));
  return keys;
}

std::string Document::PathOf(const Field& field) const {
  std::string path;
  AppendPathOf(field, path);
  return path;
}

void Document::AppendPathOf(const Field& field, std::string& out) const {
  if (!json_) {
    out.append(SafeNameView(KeyOf(field)));
    return;
  }
  // Found leaf first, written root first: each segment goes in backwards
  // ("yek." for ".key", "]21[" for "[12]") and the path is turned round at
  // the end, so a finding's location is one string (a body full of PII
  // writes hundreds of them) and each key is judged once.
  const size_t start = out.size();
  auto segment = [&](uint32_t key_begin, uint32_t key_end, int32_t array_index) {
    if (key_end > key_begin) {
      const std::string_view key = SafeNameView(text().substr(key_begin, key_end - key_begin));
      out.append(key.rbegin(), key.rend());
      out += '.';
    } else if (array_index >= 0) {
      out += ']';
      for (int32_t n = array_index;; n /= 10) {
        out += static_cast<char>('0' + n % 10);
        if (n < 10) break;
      }
      out += '[';
    }
  };
  segment(field.key_begin, field.key_end, field.array_index);
  for (int32_t c = field.parent; c >= 0; c = containers_[c].parent) {
    segment(containers_[c].key_begin, containers_[c].key_end, containers_[c].array_index);
  }
  out += '$';
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
}

}  // namespace rampart::dlp
