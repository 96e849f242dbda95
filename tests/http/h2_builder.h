// Builds HTTP/2 bytes for tests: frames by hand, header blocks with
// nghttp2's own HPACK deflater, so the decoder is checked against a real
// encoder's choices (indexing, Huffman, table size updates).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::http::testing::h2 {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum : uint8_t { kData = 0, kHeaders = 1, kPriority = 2, kRstStream = 3, kSettings = 4, kPushPromise = 5,
                 kPing = 6, kGoaway = 7, kWindowUpdate = 8, kContinuation = 9 };
enum : uint8_t { kEndStream = 1, kAck = 1, kEndHeaders = 4, kPadded = 8, kPriorityFlag = 0x20 };

using Fields = std::vector<std::pair<std::string, std::string>>;

inline std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  out.push_back(static_cast<char>(payload.size() >> 16));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>(stream >> shift));
  out.append(payload);
  return out;
}

inline std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

inline std::string SettingsFrame(const std::vector<std::pair<uint16_t, uint32_t>>& entries = {}) {
  std::string payload;
  for (auto [id, value] : entries) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id));
    payload += Be32(value);
  }
  return Frame(kSettings, 0, 0, payload);
}

inline std::string SettingsAck() { return Frame(kSettings, kAck, 0, ""); }

// HEADERS with optional padding and priority fields.
inline std::string HeadersFrame(uint32_t stream, std::string_view block, uint8_t flags, uint8_t padding = 0,
                         bool priority = false) {
  std::string payload;
  if (padding > 0) {
    flags |= kPadded;
    payload.push_back(static_cast<char>(padding));
  }
  if (priority) {
    flags |= kPriorityFlag;
    payload += Be32(0) + std::string(1, '\x0f');
  }
  payload.append(block);
  payload.append(padding, '\0');
  return Frame(kHeaders, flags, stream, payload);
}

inline std::string DataFrame(uint32_t stream, std::string_view data, bool end_stream = false, uint8_t padding = 0) {
  std::string payload;
  uint8_t flags = end_stream ? kEndStream : 0;
  if (padding > 0) {
    flags |= kPadded;
    payload.push_back(static_cast<char>(padding));
  }
  payload.append(data);
  payload.append(padding, '\0');
  return Frame(kData, flags, stream, payload);
}

class Encoder {
 public:
  explicit Encoder(size_t max_table = 4096) { nghttp2_hd_deflate_new(&deflater_, max_table); }
  ~Encoder() { nghttp2_hd_deflate_del(deflater_); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  std::string Encode(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
    const ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                            nva.data(), nva.size());
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }
  void ChangeTableSize(size_t size) { nghttp2_hd_deflate_change_table_size(deflater_, size); }

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

inline std::string ClientStart() { return std::string(kPreface) + SettingsFrame({{4, 65535}}); }
inline std::string ServerStart() { return SettingsFrame({{3, 100}}) + SettingsAck(); }


}  // namespace rampart::http::testing::h2
