#include "agent/http/content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "agent/http/text.h"

namespace rampart::http {
namespace {

constexpr size_t kFirstOutputChunk = 16 << 10;

bool LooksLikeZlibHeader(std::string_view input) {
  if (input.size() < 2) return false;
  const auto cmf = static_cast<uint8_t>(input[0]);
  const auto flg = static_cast<uint8_t>(input[1]);
  return (cmf & 0x0f) == 8 && ((cmf << 8) | flg) % 31 == 0;
}

class Inflater {
 public:
  explicit Inflater(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

DecodeStatus InflateOne(ContentCoding coding, std::string_view input, size_t max_output, std::string& output) {
  output.clear();
  if (input.empty()) return DecodeStatus::kComplete;
  const bool gzip = coding == ContentCoding::kGzip;
  Inflater inflater(gzip ? 15 + 16 : (LooksLikeZlibHeader(input) ? 15 : -15));
  if (!inflater.ok()) return DecodeStatus::kError;
  z_stream& zs = inflater.stream();
  // Bodies are capped far below 4 GiB; the clamp only keeps zlib's uInt honest.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(input.size(), UINT_MAX));
  output.resize(std::min(max_output, std::max(input.size() * 4, kFirstOutputChunk)));
  size_t produced = 0;
  DecodeStatus status = DecodeStatus::kComplete;
  for (;;) {
    Bytef probe = 0;
    const bool full = produced == output.size();
    if (full && output.size() < max_output) {
      output.resize(std::min(max_output, output.size() * 2));
      continue;
    }
    // At the cap, inflate into a one-byte probe: a byte there means the
    // body had more to give, so the output is a capped prefix.
    zs.next_out = full ? &probe : reinterpret_cast<Bytef*>(output.data() + produced);
    zs.avail_out = full ? 1 : static_cast<uInt>(std::min<size_t>(output.size() - produced, UINT_MAX));
    const uInt room = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t written = room - zs.avail_out;
    if (full && written > 0) {
      status = DecodeStatus::kCapped;
      break;
    }
    produced += written;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member may follow; anything else after the end is not
      // what the header announced.
      if (gzip && zs.next_in[0] == 0x1f && (zs.avail_in == 1 || zs.next_in[1] == 0x8b) &&
          inflateReset(&zs) == Z_OK) {
        continue;
      }
      status = DecodeStatus::kError;
      break;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs.avail_in == 0) {
        status = DecodeStatus::kIncomplete;
        break;
      }
      continue;  // out of room: grow, or probe at the cap
    }
    status = DecodeStatus::kError;
    break;
  }
  output.resize(produced);
  return status;
}

}  // namespace

bool AppendCodings(std::string_view value, bool skip_chunked, std::vector<ContentCoding>& codings) {
  bool supported = true;
  ForEachListItem(value, [&](std::string_view item) {
    if (EqualsIgnoreCase(item, "gzip") || EqualsIgnoreCase(item, "x-gzip")) {
      codings.push_back(ContentCoding::kGzip);
    } else if (EqualsIgnoreCase(item, "deflate")) {
      codings.push_back(ContentCoding::kDeflate);
    } else if (EqualsIgnoreCase(item, "identity") || (skip_chunked && EqualsIgnoreCase(item, "chunked"))) {
    } else {
      supported = false;
    }
  });
  return supported;
}

DecodeStatus DecodeContent(std::span<const ContentCoding> codings, std::string_view input, size_t max_output,
                           std::string& output) {
  if (codings.empty()) {
    output.assign(input.substr(0, max_output));
    return input.size() > max_output ? DecodeStatus::kCapped : DecodeStatus::kComplete;
  }
  bool capped = false;
  bool incomplete = false;
  std::string layer_input;
  for (size_t i = codings.size(); i-- > 0;) {
    const std::string_view in = i + 1 == codings.size() ? input : std::string_view(layer_input);
    const DecodeStatus status = InflateOne(codings[i], in, max_output, output);
    if (status == DecodeStatus::kError) return status;
    capped |= status == DecodeStatus::kCapped;
    incomplete |= status == DecodeStatus::kIncomplete;
    if (i > 0) layer_input.swap(output);
  }
  if (capped) return DecodeStatus::kCapped;
  return incomplete ? DecodeStatus::kIncomplete : DecodeStatus::kComplete;
}

}  // namespace rampart::http
