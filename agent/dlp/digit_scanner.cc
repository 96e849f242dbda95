#include "agent/dlp/digit_scanner.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "agent/dlp/simd.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rampart::dlp {
namespace {

bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }
bool IsUpper(char c) { return static_cast<unsigned char>(c - 'A') < 26; }
bool IsIbanChar(char c) { return IsUpper(c) || IsDigit(c); }
bool IsCardSeparator(char c) { return c == ' ' || c == '-'; }
bool IsPhoneChar(char c) { return IsDigit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'; }
bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c) || static_cast<unsigned char>(c - 'a') < 26; }

// Bit k of each mask describes byte k of a 64-byte block.
struct BlockMasks {
  uint64_t digit = 0;
  uint64_t separator = 0;  // ' ' or '-'
  uint64_t plus = 0;
  uint64_t upper = 0;
  uint64_t at = 0;  // '@'
};

#if defined(__SSE2__)
uint64_t Bits(__m128i a, __m128i b, __m128i c, __m128i d) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(a))) |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(b))) << 16 |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(c))) << 32 |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(d))) << 48;
}

// Bytes in [low, low + count): (byte - low) below `count` unsigned, which
// SSE2 compares signed after moving the range to the bottom of int8.
__m128i InRange(__m128i v, char low, int count) {
  return _mm_cmplt_epi8(_mm_sub_epi8(v, _mm_set1_epi8(static_cast<char>(low + 0x80))),
                        _mm_set1_epi8(static_cast<char>(0x80 + count)));
}

__m128i Equal(__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }
#endif

// The masks of the 64 bytes at `p`: '@' when `at_signs`; only the digit
// mask besides when there is no digit, and the anchor masks (plus, upper)
// only when `anchors`.
struct Sse2 {
  static BlockMasks Masks(const char* p, bool anchors, bool at_signs);
};

__attribute__((always_inline)) inline BlockMasks Sse2::Masks(const char* p, bool anchors, bool at_signs) {
  BlockMasks m;
#if defined(__SSE2__)
  __m128i v[4];
  for (int i = 0; i < 4; ++i) v[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
  if (at_signs) m.at = Bits(Equal(v[0], '@'), Equal(v[1], '@'), Equal(v[2], '@'), Equal(v[3], '@'));
  m.digit = Bits(InRange(v[0], '0', 10), InRange(v[1], '0', 10), InRange(v[2], '0', 10), InRange(v[3], '0', 10));
  if (m.digit == 0) return m;
  auto separator = [](__m128i x) { return _mm_or_si128(Equal(x, ' '), Equal(x, '-')); };
  m.separator = Bits(separator(v[0]), separator(v[1]), separator(v[2]), separator(v[3]));
  if (anchors) {
    m.plus = Bits(Equal(v[0], '+'), Equal(v[1], '+'), Equal(v[2], '+'), Equal(v[3], '+'));
    m.upper = Bits(InRange(v[0], 'A', 26), InRange(v[1], 'A', 26), InRange(v[2], 'A', 26), InRange(v[3], 'A', 26));
  }
#else
  for (int k = 0; k < 64; ++k) {
    m.digit |= static_cast<uint64_t>(IsDigit(p[k])) << k;
    m.separator |= static_cast<uint64_t>(IsCardSeparator(p[k])) << k;
    m.plus |= static_cast<uint64_t>(anchors && p[k] == '+') << k;
    m.upper |= static_cast<uint64_t>(anchors && IsUpper(p[k])) << k;
    m.at |= static_cast<uint64_t>(at_signs && p[k] == '@') << k;
  }
#endif
  return m;
}

#if defined(RAMPART_DLP_HAVE_AVX2)
// The same masks from two 32-byte loads.
struct Avx2 {
  RAMPART_DLP_AVX2 static inline __m256i InRange(__m256i v, char low, int count) {
    return _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(0x80 + count)),
                             _mm256_sub_epi8(v, _mm256_set1_epi8(static_cast<char>(low + 0x80))));
  }
  RAMPART_DLP_AVX2 static inline BlockMasks Masks(const char* p, bool anchors, bool at_signs) {
    using avx2::Bits;
    using avx2::Equal;
    BlockMasks m;
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    if (at_signs) m.at = Bits(Equal(low, '@'), Equal(high, '@'));
    m.digit = Bits(InRange(low, '0', 10), InRange(high, '0', 10));
    if (m.digit == 0) return m;
    m.separator = Bits(_mm256_or_si256(Equal(low, ' '), Equal(low, '-')),
                       _mm256_or_si256(Equal(high, ' '), Equal(high, '-')));
    if (anchors) {
      m.plus = Bits(Equal(low, '+'), Equal(high, '+'));
      m.upper = Bits(InRange(low, 'A', 26), InRange(high, 'A', 26));
    }
    return m;
  }
};
#endif

// A chain is digit groups joined by single spaces or dashes. It can only
// yield a candidate if it is at least 13 bytes long (a card has 13+
// digits), holds 11 bytes that end in a separator and four digits (an SSN,
// 3-2-4), or starts right after "+" (phone) or two capitals (IBAN).
// Other digit runs (those in hex ids, times, SKUs, prices, and the 11- and
// 12-digit ids of API bodies) are passed over 64 bytes at a time.

// What a block's candidates depend on in the block before it. Blocks do not
// overlap: a chain is found at the byte where its first 13 bytes, or 11
// ending like an SSN, end, which looks back only, so each byte is
// classified once.
struct Carry {
  uint64_t digit = 0;
  uint64_t separator = 0;
  // Digits, and separators with a digit on both sides. Its bit 63 is a
  // separator's only once the next block's first byte is known.
  uint64_t joined = 0;
  // The joined mask of the block before, with its bit 63 settled.
  uint64_t previous_joined = 0;
};

// Bit k set where byte k of the block at `pos` ends 13 bytes of a chain or
// 11 ending like an SSN, or is the first digit of an anchored chain; all
// lie inside the chain that ReadChain then reads. Updates `carry` for the
// next block. `m`: the masks of that block.
__attribute__((always_inline)) inline uint64_t Candidates(const BlockMasks& m, const char* t, size_t pos,
                                                          bool anchors, Carry& carry) {
  if (m.digit == 0) {
    carry = Carry{};
    return 0;
  }
  const uint64_t digit_before = m.digit << 1 | carry.digit >> 63;
  // The separator at the previous block's bit 63 joins if this block starts
  // with a digit.
  const uint64_t previous = carry.joined | ((carry.separator >> 63) & (carry.digit >> 62) & m.digit & 1) << 63;
  const uint64_t joined = m.digit | (m.separator & digit_before & (m.digit >> 1));
  // Runs of 2, 4, 8, 11 and 13 joined bytes ending at each bit, the bits
  // before the block taken from the previous one (exact there: no shift
  // below reads the previous block's low bits, which lack the block before).
  const uint64_t previous2 = previous & previous << 1;
  const uint64_t previous4 = previous2 & previous2 << 2;
  const uint64_t run2 = joined & (joined << 1 | previous >> 63);
  const uint64_t run4 = run2 & (run2 << 2 | previous2 >> 62);
  const uint64_t run8 = run4 & (run4 << 4 | previous4 >> 60);
  const uint64_t run11 = run8 & (run4 << 7 | previous4 >> 57);
  uint64_t candidates = 0;
  if (run11 != 0) {  // most blocks of most bodies have no such run
    const uint64_t run13 = run11 & (run2 << 11 | previous2 >> 53);
    // A joined separator 4 bytes back: where an SSN, ddd-dd-dddd, ends.
    const uint64_t separator4_before = (joined & ~m.digit) << 4 | (previous & ~carry.digit) >> 60;
    // A run of joined bytes that ends in a separator goes on to a digit.
    candidates = (run13 | (run11 & separator4_before)) & m.digit;
  }
  if (anchors) {
    // Bytes before the block: read one by one, since the previous block's
    // anchor masks are not computed when it holds no digit.
    const char before1 = pos >= 1 ? t[pos - 1] : '\0';
    const char before2 = pos >= 2 ? t[pos - 2] : '\0';
    const uint64_t plus_before = m.plus << 1 | static_cast<uint64_t>(before1 == '+');
    const uint64_t upper_before = m.upper << 1 | static_cast<uint64_t>(IsUpper(before1));
    const uint64_t upper_two_before =
        m.upper << 2 | static_cast<uint64_t>(IsUpper(before1)) << 1 | static_cast<uint64_t>(IsUpper(before2));
    candidates |= m.digit & ~digit_before & (plus_before | (upper_before & upper_two_before));
  }
  carry.digit = m.digit;
  carry.separator = m.separator;
  carry.joined = joined;
  carry.previous_joined = previous;
  return candidates;
}

// The first digit of the chain holding the digit at `i`.
size_t ChainStart(const char* t, size_t i) {
  while (i > 0 && (IsDigit(t[i - 1]) || (i >= 2 && IsCardSeparator(t[i - 1]) && IsDigit(t[i - 2])))) --i;
  return i;
}

// ChainStart for the digit at bit k of the block at `pos`, from the joined
// masks of that block and the one before; read back byte by byte only for a
// chain longer than both.
size_t ChainStartFromMasks(const char* t, size_t pos, size_t k, uint64_t joined, uint64_t previous_joined) {
  const uint64_t gaps = ~joined & ((uint64_t{1} << k) - 1);
  if (gaps != 0) return pos + 64 - static_cast<size_t>(__builtin_clzll(gaps));
  if (~previous_joined != 0) return pos - static_cast<size_t>(__builtin_clzll(~previous_joined));
  return ChainStart(t, pos + k);
}

class Emitter {
 public:
  explicit Emitter(std::vector<PrefilterMatch>& out) : out_(out) { last_.fill(kNone); }

  // Overlapping matches of one pattern merge, as the Vectorscan collector
  // merges them.
  void Emit(Pattern pattern, size_t from, size_t to) {
    size_t& last = last_[static_cast<size_t>(pattern)];
    if (last != kNone && from < out_[last].to) {
      out_[last].to = std::max(out_[last].to, static_cast<uint32_t>(to));
      return;
    }
    last = out_.size();
    out_.push_back({pattern, static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  std::vector<PrefilterMatch>& out_;
  std::array<size_t, kPatternCount> last_;
};

// Where the run of phone characters (digits, separators, parentheses) from
// `i` ends; at most `limit`. Sixteen bytes at a time, inline: a byte loop
// mispredicts at the end of every number, and in a body full of phone
// numbers the chains are read as often as the blocks.
__attribute__((always_inline)) inline size_t PhoneRunEnd(const char* t, size_t n, size_t i, size_t limit) {
#if defined(__SSE2__)
  while (i < limit && i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + i));
    const __m128i separator = _mm_or_si128(_mm_or_si128(Equal(v, ' '), Equal(v, '-')), Equal(v, '.'));
    const __m128i parenthesis = _mm_or_si128(Equal(v, '('), Equal(v, ')'));
    const auto taken = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(InRange(v, '0', 10), _mm_or_si128(separator, parenthesis))));
    const unsigned other = ~taken & 0xFFFFu;
    if (other != 0) return std::min(limit, i + static_cast<size_t>(__builtin_ctz(other)));
    i += 16;
  }
#endif
  while (i < limit && IsPhoneChar(t[i])) ++i;
  return std::min(i, limit);
}

// The matches anchored before the chain starting at `begin`: an IBAN's
// country, a phone number's '+'.
__attribute__((always_inline)) inline void ReadAnchors(const char* t, size_t n, size_t begin,
                                                       const DigitPatterns& enabled, Emitter& emit) {
  const size_t i = begin;
  if (enabled.iban && i >= 2 && IsUpper(t[i - 2]) && IsUpper(t[i - 1]) && i + 1 < n && IsDigit(t[i + 1])) {
    size_t k = i + 2;
    if (k < n && t[k] == ' ') ++k;
    if (k + 4 <= n && IsIbanChar(t[k]) && IsIbanChar(t[k + 1]) && IsIbanChar(t[k + 2]) && IsIbanChar(t[k + 3])) {
      emit.Emit(Pattern::kIban, i - 2, k + 4);
    }
  }
  if (enabled.phone && i >= 1 && t[i - 1] == '+' && t[i] != '0') {
    const size_t k = PhoneRunEnd(t, n, i + 1, std::min(n, i + 1 + 22));
    if (k - (i + 1) >= 6) emit.Emit(Pattern::kPhoneInternational, i - 1, k);
  }
}

// The SSN shape 3-2-4 over a chain's digit groups, given one by one.
class SsnShape {
 public:
  void Group(size_t begin, size_t end, Emitter& emit) {
    const size_t length = end - begin;
    if (length2_ == 3 && length1_ == 2 && length >= 4) emit.Emit(Pattern::kSsnSeparated, begin2_, begin2_ + 11);
    begin2_ = begin - 1 - length1_;  // meaningful once length1_ is a group's
    length2_ = length1_;
    length1_ = length;
  }

 private:
  // Lengths and start of the last two groups.
  size_t begin2_ = 0, length2_ = 0, length1_ = 0;
};

// Reads the chain starting at `begin` and emits what it holds; returns its
// end.
size_t ReadChain(const char* t, size_t n, size_t begin, const DigitPatterns& enabled, Emitter& emit) {
  ReadAnchors(t, n, begin, enabled, emit);
  size_t i = begin;
  SsnShape ssn;
  size_t digits = 0;
  while (true) {
    const size_t group_begin = i;
    i = DigitRunEnd(std::string_view(t, n), i, n);
    digits += i - group_begin;
    if (enabled.ssn) ssn.Group(group_begin, i, emit);
    if (i + 1 < n && IsCardSeparator(t[i]) && IsDigit(t[i + 1])) {
      ++i;
      continue;
    }
    break;
  }
  if (enabled.card && digits >= 13) emit.Emit(Pattern::kCardDigits, begin, i);
  return i;
}

// Where the chain from `begin` ends, if the masks of the block at `pos`
// settle it: the chain starts in the block and ends before its last byte,
// or at a last byte that cannot join the next block. 0 otherwise.
__attribute__((always_inline)) inline size_t ChainEndInBlock(size_t pos, size_t begin, uint64_t joined,
                                                             uint64_t separator) {
  if (begin < pos) return 0;
  const size_t b = begin - pos;
  const uint64_t after = ~joined >> b;
  if (after == 0) return 0;
  const size_t e = b + static_cast<size_t>(__builtin_ctzll(after));
  if (e == 63 && (separator >> 63) != 0) return 0;
  return pos + e;
}

// ReadChain for a chain whose end the block's masks settle
// (ChainEndInBlock): its groups are split by the separators' bits, with no
// byte read again. In a body full of numbers most chains are of this kind.
__attribute__((always_inline)) inline size_t ReadChainInBlock(const char* t, size_t n, size_t pos, size_t begin,
                                                              size_t end, uint64_t separator,
                                                              const DigitPatterns& enabled, Emitter& emit) {
  ReadAnchors(t, n, begin, enabled, emit);
  // The chain's bits (it ends at bit 63 at the latest). Every byte of it is
  // joined: its separators are the groups' ends.
  const uint64_t within = ((uint64_t{1} << (end - pos)) - 1) & (~uint64_t{0} << (begin - pos));
  const uint64_t separators = separator & within;
  if (enabled.ssn && (separators & (separators - 1)) != 0) {  // two separators at least
    SsnShape ssn;
    size_t group_begin = begin;
    for (uint64_t rest = separators; rest != 0; rest &= rest - 1) {
      const size_t group_end = pos + static_cast<size_t>(__builtin_ctzll(rest));
      ssn.Group(group_begin, group_end, emit);
      group_begin = group_end + 1;
    }
    ssn.Group(group_begin, end, emit);
  }
  const size_t digits = (end - begin) - static_cast<size_t>(__builtin_popcountll(separators));
  if (enabled.card && digits >= 13) emit.Emit(Pattern::kCardDigits, begin, end);
  return end;
}

// The email expression, [A-Za-z0-9._%+\-]@[A-Za-z0-9], at the '@' at `at`.
void ReadAtSign(const char* t, size_t n, size_t at, Emitter& emit) {
  if (at >= 1 && at + 1 < n && IsEmailLocalChar(t[at - 1]) && IsAlnum(t[at + 1])) {
    emit.Emit(Pattern::kEmail, at - 1, at + 2);
  }
}

// The block pass with the masks of `Simd`; inlined into one function per
// instruction set, so that the masks are computed inline.
template <typename Simd>
__attribute__((always_inline)) inline void ScanBlocks(std::string_view text, const DigitPatterns& enabled,
                                                      std::vector<PrefilterMatch>& out) {
  const char* t = text.data();
  const size_t n = text.size();
  const bool anchors = enabled.iban || enabled.phone;
  Emitter emit(out);
  Carry carry;
  size_t resume = 0;  // where the last chain read ended
  size_t pos = 0;
  for (; pos + 64 <= n; pos += 64) {
    const BlockMasks m = Simd::Masks(t + pos, anchors, enabled.email);
    uint64_t candidates = Candidates(m, t, pos, anchors, carry);
    uint64_t at_signs = m.at;
    if ((candidates | at_signs) == 0) continue;
    auto drop_read = [&] {
      if (resume > pos) candidates &= resume - pos >= 64 ? 0 : ~uint64_t{0} << (resume - pos);
    };
    drop_read();
    // In text order, so that matches come out in the order of their ends:
    // no '@' lies inside a chain.
    while ((candidates | at_signs) != 0) {
      const size_t chain_bit = candidates != 0 ? static_cast<size_t>(__builtin_ctzll(candidates)) : 64;
      const size_t at_bit = at_signs != 0 ? static_cast<size_t>(__builtin_ctzll(at_signs)) : 64;
      if (at_bit < chain_bit) {
        ReadAtSign(t, n, pos + at_bit, emit);
        at_signs &= at_signs - 1;
        continue;
      }
      const size_t begin = ChainStartFromMasks(t, pos, chain_bit, carry.joined, carry.previous_joined);
      const size_t end = ChainEndInBlock(pos, begin, carry.joined, m.separator);
      resume = end != 0 ? ReadChainInBlock(t, n, pos, begin, end, m.separator, enabled, emit)
                        : ReadChain(t, n, begin, enabled, emit);
      drop_read();
    }
  }
  // The last bytes: every chain is read, the rules above only save time.
  for (size_t i = std::max(pos, resume); i < n;) {
    if (IsDigit(t[i])) {
      i = ReadChain(t, n, ChainStart(t, i), enabled, emit);  // the byte after it may be an '@'
      continue;
    }
    if (enabled.email && t[i] == '@') ReadAtSign(t, n, i, emit);
    ++i;
  }
}

void ScanSse2(std::string_view text, const DigitPatterns& enabled, std::vector<PrefilterMatch>& out) {
  ScanBlocks<Sse2>(text, enabled, out);
}

#if defined(RAMPART_DLP_HAVE_AVX2)
// flatten: the masks can only be inlined into a function compiled for AVX2.
RAMPART_DLP_AVX2 __attribute__((flatten)) void ScanAvx2(std::string_view text, const DigitPatterns& enabled,
                                                        std::vector<PrefilterMatch>& out) {
  ScanBlocks<Avx2>(text, enabled, out);
}
#endif

}  // namespace

void ScanDigitPatterns(std::string_view text, const DigitPatterns& enabled, std::vector<PrefilterMatch>& out) {
#if defined(RAMPART_DLP_HAVE_AVX2)
  if (ActiveSimdLevel() == SimdLevel::kAvx2) return ScanAvx2(text, enabled, out);
#endif
  ScanSse2(text, enabled, out);
}

}  // namespace rampart::dlp
