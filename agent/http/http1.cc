#include "agent/http/http1.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "agent/http/text.h"

namespace rampart::http::internal {
namespace {

// Pipelined requests waiting for their responses; beyond, pairing is given up.
constexpr size_t kMaxPendingRequests = 1024;
constexpr size_t kMaxMethodLength = 32;

enum class Role : uint8_t { kUnknown, kClient, kServer };
enum class StartKind : uint8_t { kNo, kMaybe, kRequest, kResponse };

// Methods a resynchronising scan accepts; at a known message boundary any
// token is a method.
constexpr std::array<std::string_view, 15> kKnownMethods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK"};

constexpr std::array<bool, 256> MakeCandidateFirstBytes() {
  std::array<bool, 256> table{};
  table['H'] = true;
  for (std::string_view method : kKnownMethods) table[static_cast<uint8_t>(method[0])] = true;
  return table;
}
constexpr std::array<bool, 256> kCandidateFirstByte = MakeCandidateFirstBytes();

bool IsAlnum(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsTargetByte(uint8_t c) { return c > 0x20 && c != 0x7f; }

// "HTTP/1.d " at the start of `s`.
StartKind MatchStatusStart(std::string_view s) {
  static constexpr std::string_view kPrefix = "HTTP/1.";
  for (size_t i = 0; i < 9; ++i) {
    if (i == s.size()) return StartKind::kMaybe;
    const char c = s[i];
    const bool ok = i < kPrefix.size() ? c == kPrefix[i] : (i == 7 ? IsDigit(c) : c == ' ');
    if (!ok) return StartKind::kNo;
  }
  return StartKind::kResponse;
}

bool IsMethodChar(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

// "METHOD SP x" with x the first byte of a request target. `any_method`:
// any upper-case method, not only the well-known ones.
StartKind MatchRequestStart(std::string_view s, bool any_method) {
  if (any_method) {
    size_t i = 0;
    while (i < s.size() && i <= kMaxMethodLength && s[i] != ' ') {
      if (!IsMethodChar(s[i])) return StartKind::kNo;
      ++i;
    }
    if (i == s.size()) return i <= kMaxMethodLength ? StartKind::kMaybe : StartKind::kNo;
    if (i == 0 || i > kMaxMethodLength) return StartKind::kNo;
    if (i + 1 == s.size()) return StartKind::kMaybe;
    return IsTargetByte(static_cast<uint8_t>(s[i + 1])) ? StartKind::kRequest : StartKind::kNo;
  }
  StartKind best = StartKind::kNo;
  for (std::string_view method : kKnownMethods) {
    const size_t n = std::min(s.size(), method.size());
    if (s.compare(0, n, method, 0, n) != 0) continue;
    if (s.size() <= method.size() + 1) {
      if (s.size() <= method.size() || s[method.size()] == ' ') best = StartKind::kMaybe;
      continue;
    }
    if (s[method.size()] == ' ' && IsTargetByte(static_cast<uint8_t>(s[method.size() + 1]))) {
      return StartKind::kRequest;
    }
  }
  return best;
}

StartKind MatchStart(std::string_view s, Role role, bool any_method) {
  const StartKind response = role == Role::kClient ? StartKind::kNo : MatchStatusStart(s);
  if (response == StartKind::kResponse) return response;
  const StartKind request = role == Role::kServer ? StartKind::kNo : MatchRequestStart(s, any_method);
  if (request == StartKind::kRequest) return request;
  return response == StartKind::kMaybe || request == StartKind::kMaybe ? StartKind::kMaybe : StartKind::kNo;
}

bool IsHttp1Version(std::string_view s) {
  return s.size() == 8 && s.substr(0, 7) == "HTTP/1." && IsDigit(s[7]);
}

// All Content-Length values, across fields and list elements, must be the
// same decimal number (RFC 9110 8.6); anything else is a smuggling risk.
bool ParseContentLength(const Message& message, bool& present, uint64_t& length) {
  present = false;
  bool valid = true;
  for (const Header& header : message.headers) {
    if (header.name != "content-length") continue;
    bool any = false;
    ForEachListItem(header.value, [&](std::string_view item) {
      any = true;
      if (item.size() > 18 || !std::all_of(item.begin(), item.end(), IsDigit)) {
        valid = false;
        return;
      }
      uint64_t value = 0;
      for (char c : item) value = value * 10 + static_cast<uint64_t>(c - '0');
      if (present && value != length) valid = false;
      present = true;
      length = value;
    });
    if (!any) valid = false;
  }
  return valid;
}

struct TransferCoding {
  bool present = false;
  bool chunked_last = false;
  bool chunked_elsewhere = false;
};

TransferCoding ParseTransferEncoding(const Message& message) {
  TransferCoding coding;
  std::string_view last;
  for (const Header& header : message.headers) {
    if (header.name != "transfer-encoding") continue;
    coding.present = true;
    ForEachListItem(header.value, [&](std::string_view item) {
      if (EqualsIgnoreCase(last, "chunked")) coding.chunked_elsewhere = true;
      last = item;
    });
  }
  coding.chunked_last = EqualsIgnoreCase(last, "chunked");
  return coding;
}

}  // namespace

class Http1Connection::Flow {
 public:
  explicit Flow(Http1Connection& connection) : connection_(connection) {}

  Role role() const { return role_; }
  void set_role(Role role) { role_ = role; }
  bool held() const { return held_; }

  void Feed(std::span<const uint8_t> data) {
    const std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
    if (state_ == State::kIgnore) {
      offset_ += bytes.size();
      return;
    }
    if (buf_.empty() && !held_) {
      processing_ = true;
      const size_t used = Process(bytes);
      processing_ = false;
      offset_ += used;
      if (used < bytes.size() && state_ != State::kIgnore) buf_.assign(bytes.substr(used));
      return;
    }
    buf_.append(bytes);
    // A held direction cannot wait forever: past one head's worth of bytes it
    // is parsed as it comes, at the risk of a desync if the switch happens.
    if (held_ && buf_.size() > connection_.limits_.max_header_bytes) held_ = false;
    Drain();
  }

  void Release() {
    if (!held_) return;
    held_ = false;
    Drain();
  }

  void Ignore() {
    state_ = State::kIgnore;
    held_ = false;
    message_open_ = false;
    // A direction in the middle of Process drops its buffer when it returns.
    if (!processing_) std::string().swap(buf_);
  }

  void Gap(uint64_t bytes) {
    if (state_ == State::kIgnore) {
      offset_ += bytes;
      return;
    }
    const bool in_sized_body = state_ == State::kBodyLength || state_ == State::kChunkData;
    if (buf_.empty() && ((in_sized_body && bytes <= left_) || state_ == State::kBodyUntilClose)) {
      // The framing survives: skip exactly the lost bytes.
      message_.capture_gap = true;
      offset_ += bytes;
      if (!in_sized_body) return;
      left_ -= bytes;
      if (left_ > 0) return;
      if (state_ == State::kChunkData) {
        state_ = State::kChunkDataEnd;
      } else {
        FinishMessage(offset_);
      }
      return;
    }
    offset_ += buf_.size();
    buf_.clear();
    const bool had_framing = state_ != State::kStart && state_ != State::kScan;
    if (message_open_) {
      message_.capture_gap = true;
      Deliver(offset_ + (state_ == State::kBodyLength ? left_ : 0));
    }
    if (had_framing) ++connection_.stats_.gap_resyncs;
    // Whole messages may have been lost: FIFO pairing would now be a guess.
    connection_.LosePairing();
    offset_ += bytes;
    last_byte_ = -1;
    EnterScan();
  }

  void End() {
    Release();
    if (!message_open_) return;
    if (state_ != State::kBodyUntilClose) message_.capture_gap = true;
    Deliver(offset_);
  }

 private:
  enum class State : uint8_t {
    kStart,          // first bytes of the direction
    kHead,           // a message head, or the boundary before one
    kScan,           // looking for the next message start
    kBodyLength,     // Content-Length body: left_ bytes to go
    kChunkSize,      // chunk-size line
    kChunkData,      // chunk data: left_ bytes to go
    kChunkDataEnd,   // CRLF after chunk data
    kTrailers,       // trailer section after the last chunk
    kBodyUntilClose,
    kIgnore,         // not HTTP any more
  };
  enum class Framing : uint8_t { kNone, kLength, kChunked, kUntilClose, kInvalid };
  enum class SectionResult : uint8_t { kNeedMore, kDone, kMalformed, kOversized, kTooManyFields };

  void Drain() {
    processing_ = true;
    const size_t used = Process(buf_);
    processing_ = false;
    offset_ += used;
    if (state_ == State::kIgnore) {
      buf_.clear();
    } else {
      buf_.erase(0, used);
    }
  }

  // Consumes what it can of `v` (which starts at stream offset offset_) and
  // returns how much; the rest waits for more bytes.
  size_t Process(std::string_view v) {
    size_t pos = 0;
    for (;;) {
      if (held_ && state_ != State::kIgnore) return pos;
      switch (state_) {
        case State::kIgnore:
          return v.size();

        case State::kStart: {
          const StartKind kind = MatchStart(v.substr(pos), role_, true);
          if (kind == StartKind::kMaybe) return pos;
          if (kind == StartKind::kNo) {
            // Picked up inside a message: pairing cannot be trusted.
            connection_.LosePairing();
            EnterScan();
          } else {
            BeginHead(false);
            state_ = State::kHead;
          }
          break;
        }

        case State::kHead: {
          if (section_scanned_ == 0 && section_lines_ == 0) {
            // Stray CRLFs between messages are allowed (RFC 9112 2.2).
            while (pos < v.size() && (v[pos] == '\r' || v[pos] == '\n')) ++pos;
            if (pos == v.size()) return pos;
          }
          const std::string_view head = v.substr(pos);
          size_t length = 0;
          const SectionResult result = ParseSection(head, length);
          if (result == SectionResult::kNeedMore) return pos;
          if (result != SectionResult::kDone) {
            pos = OnHeadFailed(v, pos, result);
            break;
          }
          pos += length;
          OnHeadComplete(v, pos);
          break;
        }

        case State::kScan:
          pos = Scan(v, pos);
          if (state_ == State::kScan) return pos;
          break;

        case State::kBodyLength:
        case State::kChunkData: {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, v.size() - pos));
          AppendBody(v.substr(pos, n), offset_ + pos + n);
          pos += n;
          left_ -= n;
          if (left_ > 0) return pos;
          if (state_ == State::kChunkData) {
            state_ = State::kChunkDataEnd;
          } else {
            FinishMessage(offset_ + pos);
          }
          break;
        }

        case State::kChunkSize: {
          const size_t max_line = connection_.limits_.max_header_bytes;
          const size_t window = std::min(v.size() - pos, max_line);
          const void* nl = memchr(v.data() + pos, '\n', window);
          if (nl == nullptr) {
            if (v.size() - pos < max_line) return pos;
            pos = Desync(v, pos);
            break;
          }
          const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - v.data());
          uint64_t size = 0;
          if (!ParseChunkSize(v.substr(pos, end - pos), size)) {
            pos = Desync(v, pos);
            break;
          }
          pos = end + 1;
          if (size == 0) {
            BeginTrailers();
            state_ = State::kTrailers;
          } else {
            left_ = size;
            state_ = State::kChunkData;
          }
          break;
        }

        case State::kChunkDataEnd:
          if (pos == v.size()) return pos;
          if (v[pos] == '\n') {
            ++pos;
          } else if (v[pos] == '\r' && pos + 1 == v.size()) {
            return pos;
          } else if (v[pos] == '\r' && v[pos + 1] == '\n') {
            pos += 2;
          } else {
            pos = Desync(v, pos);
            break;
          }
          state_ = State::kChunkSize;
          break;

        case State::kTrailers: {
          size_t length = 0;
          const SectionResult result = ParseSection(v.substr(pos), length);
          if (result == SectionResult::kNeedMore) return pos;
          if (result != SectionResult::kDone) {
            if (result != SectionResult::kMalformed) ++connection_.stats_.oversized_heads;
            pos = Desync(v, pos);
            break;
          }
          pos += length;
          FinishMessage(offset_ + pos);
          break;
        }

        case State::kBodyUntilClose:
          AppendBody(v.substr(pos), offset_ + v.size());
          return v.size();
      }
    }
  }

  void EnterScan() {
    state_ = State::kScan;
    ResetSection();
  }

  // Looks for a message start from `pos`; on one, enters kHead there.
  size_t Scan(std::string_view v, size_t pos) {
    pos = ScanFor(v, pos);
    // The byte before the resume point decides the next candidate, even
    // when that point starts the next call's buffer.
    if (pos > 0) last_byte_ = static_cast<uint8_t>(v[pos - 1]);
    return pos;
  }

  size_t ScanFor(std::string_view v, size_t pos) {
    const size_t budget = connection_.limits_.max_unrecognised_bytes;
    for (; pos < v.size(); ++pos) {
      const auto c = static_cast<uint8_t>(v[pos]);
      if (kCandidateFirstByte[c]) {
        const int prev = pos > 0 ? static_cast<uint8_t>(v[pos - 1]) : last_byte_;
        // A start glued to a word ("xGET /") is taken for text.
        if (prev < 0 || !IsAlnum(prev)) {
          const StartKind kind = MatchStart(v.substr(pos), role_, false);
          if (kind == StartKind::kMaybe) return pos;
          if (kind != StartKind::kNo) {
            BeginHead(true);
            state_ = State::kHead;
            return pos;
          }
        }
      }
      if (!connection_.recognised_ && ++unrecognised_bytes_ > budget) {
        connection_.GiveUp();
        return v.size();
      }
    }
    return pos;
  }

  void ResetSection() {
    start_check_ = {};
    section_scanned_ = 0;
    section_searched_ = 0;
    section_lines_ = 0;
    section_fields_ = 0;
  }

  // `candidate`: found by a resynchronising scan, so failing is not a desync.
  void BeginHead(bool candidate) {
    ResetSection();
    head_is_candidate_ = candidate;
    expects_switch_ = false;
    ResetMessage();
  }

  void BeginTrailers() {
    ResetSection();
    section_lines_ = 1;  // a trailer section has no start line
  }

  void ResetMessage() {
    message_.Reset(/*request=*/true, /*http_protocol=*/1, /*stream=*/0);
    raw_body_.clear();
    raw_truncated_ = false;
    message_open_ = false;
  }

  // Parses a head (start line and fields) or a trailer section at the start
  // of `s`, line by line, resuming where the previous call stopped. Each
  // line is checked as soon as it is complete, so garbage fails early.
  SectionResult ParseSection(std::string_view s, size_t& length) {
    const size_t limit = connection_.limits_.max_header_bytes;
    if (section_lines_ == 0 && !StartLineStillPossible(s.substr(0, std::min(s.size(), limit)))) {
      return SectionResult::kMalformed;
    }
    for (;;) {
      const size_t window_end = std::min(s.size(), limit);
      const size_t from = std::max(section_scanned_, section_searched_);
      const void* nl = from < window_end ? memchr(s.data() + from, '\n', window_end - from) : nullptr;
      if (nl == nullptr) {
        if (s.size() >= limit) return SectionResult::kOversized;
        section_searched_ = window_end;
        return SectionResult::kNeedMore;
      }
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - s.data());
      std::string_view line = s.substr(section_scanned_, end - section_scanned_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (section_lines_ == 0) {
        if (!ParseStartLine(line)) return SectionResult::kMalformed;
      } else if (line.empty()) {
        length = end + 1;
        return SectionResult::kDone;
      } else if (IsOws(line.front())) {
        // obs-fold: a continuation of the previous field's value.
        if (section_fields_ == 0) return SectionResult::kMalformed;
        const std::string_view more = TrimOws(line);
        std::string& value = message_.headers.back().value;
        if (!more.empty()) {
          if (!value.empty()) value.push_back(' ');
          value.append(more);
        }
      } else {
        if (section_fields_ >= connection_.limits_.max_headers) return SectionResult::kTooManyFields;
        if (!ParseField(line)) return SectionResult::kMalformed;
        ++section_fields_;
      }
      ++section_lines_;
      section_scanned_ = end + 1;
    }
  }

  // Checks the start line at the front of `s` as far as it has arrived,
  // resuming where the last call stopped, so a false start is refused after
  // a few bytes instead of waiting for its line end. Stops at the line end:
  // ParseStartLine has the last word.
  bool StartLineStillPossible(std::string_view s) {
    static constexpr std::string_view kStatusShape = "HTTP/1.d ddd";
    static constexpr std::string_view kVersion = "HTTP/1.d\r";
    StartLineCheck& c = start_check_;
    for (; c.pos < s.size(); ++c.pos) {
      const char ch = s[c.pos];
      if (ch == '\n') return true;
      switch (c.phase) {
        case StartLineCheck::kUndecided:
          if (s.size() < 5) return true;
          if (s.starts_with("HTTP/")) {
            if (role_ == Role::kClient) return false;
            c.phase = StartLineCheck::kStatus;
          } else {
            if (role_ == Role::kServer) return false;
            c.phase = StartLineCheck::kMethod;
          }
          --c.pos;  // look at this byte again in its phase
          break;
        case StartLineCheck::kStatus:
          if (c.pos == kStatusShape.size()) {
            if (ch != ' ' && ch != '\r') return false;
            c.phase = StartLineCheck::kAccepted;
          } else if (kStatusShape[c.pos] == 'd' ? !IsDigit(ch) : ch != kStatusShape[c.pos]) {
            return false;
          }
          break;
        case StartLineCheck::kMethod:
          if (ch == ' ') {
            if (c.pos == 0) return false;
            c.phase = StartLineCheck::kTarget;
            c.count = 0;
          } else if (c.pos >= kMaxMethodLength || !IsTchar(static_cast<uint8_t>(ch))) {
            return false;
          }
          break;
        case StartLineCheck::kTarget:
          if (ch == ' ') {
            if (c.count == 0) return false;
            c.phase = StartLineCheck::kVersion;
            c.count = 0;
          } else if (!IsTargetByte(static_cast<uint8_t>(ch))) {
            return false;
          } else {
            ++c.count;
          }
          break;
        case StartLineCheck::kVersion:
          if (c.count >= kVersion.size()) return false;
          if (kVersion[c.count] == 'd' ? !IsDigit(ch) : ch != kVersion[c.count]) return false;
          ++c.count;
          break;
        case StartLineCheck::kAccepted:
          c.pos = s.size() - 1;  // a reason phrase can hold anything
          break;
      }
    }
    return true;
  }

  bool ParseStartLine(std::string_view line) {
    if (role_ != Role::kClient && line.starts_with("HTTP/")) {
      // HTTP/1.x SP 3DIGIT [SP reason]
      if (line.size() < 12 || !IsHttp1Version(line.substr(0, 8)) || line[8] != ' ') return false;
      if (!IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11])) return false;
      if (line.size() > 12 && line[12] != ' ') return false;
      message_.is_request = false;
      message_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
      return message_.status >= 100;
    }
    if (role_ == Role::kServer) return false;
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 > kMaxMethodLength || !IsToken(line.substr(0, sp1))) return false;
    const size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (char c : target) {
      if (!IsTargetByte(static_cast<uint8_t>(c))) return false;
    }
    if (!IsHttp1Version(line.substr(sp2 + 1))) return false;
    message_.is_request = true;
    message_.method.assign(line.substr(0, sp1));
    message_.target.assign(target);
    return true;
  }

  bool ParseField(std::string_view line) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = line.substr(0, colon);
    if (IsOws(name.back())) {
      // RFC 9112 5.1: a server rejects this in a request; a response is
      // read as a proxy would forward it, with the space removed.
      if (message_.is_request) return false;
      name = TrimOws(name);
    }
    if (!IsToken(name)) return false;
    Header& header = message_.headers.emplace_back();
    AssignLower(header.name, name);
    header.value.assign(TrimOws(line.substr(colon + 1)));
    return true;
  }

  static bool ParseChunkSize(std::string_view line, uint64_t& size) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t i = 0;
    size = 0;
    while (i < line.size()) {
      const char c = line[i];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        break;
      }
      if (i == 15) return false;  // 15 hex digits is already petabytes
      size = size * 16 + static_cast<uint64_t>(digit);
      ++i;
    }
    if (i == 0) return false;
    while (i < line.size() && IsOws(line[i])) ++i;
    return i == line.size() || line[i] == ';';  // chunk extensions are ignored
  }

  // The head at v[head_start, pos) is complete.
  void OnHeadComplete(std::string_view v, size_t pos) {
    connection_.OnRecognised(*this, message_.is_request);
    const uint64_t body_start = offset_ + pos;
    body_start_ = body_start;
    message_open_ = true;
    Framing framing;
    if (message_.is_request) {
      if (const std::string* host = message_.FindHeader("host")) message_.authority = *host;
      framing = RequestFraming();
      connection_.PushRequest(message_);
      expects_switch_ = message_.method == "CONNECT" || message_.FindHeader("upgrade") != nullptr;
    } else {
      if (message_.status < 200 && message_.status != 101) {
        ++connection_.stats_.interim_responses;
        message_open_ = false;
        BeginHead(false);
        state_ = State::kHead;
        return;
      }
      PendingRequest request;
      const bool paired = connection_.PopRequest(request);
      if (paired) {
        message_.method = std::move(request.method);
        message_.target = std::move(request.target);
        message_.authority = std::move(request.authority);
      }
      if (message_.status == 101 || (message_.method == "CONNECT" && message_.status / 100 == 2)) {
        // Whatever the client sent after its request is the new protocol:
        // it stays held and is dropped with the rest.
        Deliver(body_start);
        connection_.EnterTunnel();
        return;
      }
      framing = ResponseFraming();
    }
    switch (framing) {
      case Framing::kNone:
        FinishMessage(body_start);
        break;
      case Framing::kLength:
        state_ = State::kBodyLength;
        if (left_ == 0) FinishMessage(body_start);
        break;
      case Framing::kChunked:
        state_ = State::kChunkSize;
        break;
      case Framing::kUntilClose:
        state_ = State::kBodyUntilClose;
        break;
      case Framing::kInvalid:
        // The head was fine but its length is not knowable: the body could
        // be anything, so the next message start has to be found.
        message_open_ = false;
        ++connection_.stats_.desyncs;
        connection_.LosePairing();
        last_byte_ = pos > 0 ? static_cast<uint8_t>(v[pos - 1]) : -1;
        EnterScan();
        break;
    }
  }

  Framing RequestFraming() {
    const TransferCoding te = ParseTransferEncoding(message_);
    if (te.present) {
      // A request's body length must be knowable: chunked, last, once.
      return te.chunked_last && !te.chunked_elsewhere ? Framing::kChunked : Framing::kInvalid;
    }
    bool present = false;
    if (!ParseContentLength(message_, present, left_)) return Framing::kInvalid;
    return present ? Framing::kLength : Framing::kNone;
  }

  Framing ResponseFraming() {
    const int status = message_.status;
    if (message_.method == "HEAD" || status == 204 || status == 304 || status < 200) return Framing::kNone;
    const TransferCoding te = ParseTransferEncoding(message_);
    if (te.present) return te.chunked_last && !te.chunked_elsewhere ? Framing::kChunked : Framing::kUntilClose;
    bool present = false;
    if (!ParseContentLength(message_, present, left_)) return Framing::kInvalid;
    return present ? Framing::kLength : Framing::kUntilClose;
  }

  // Returns where scanning resumes.
  size_t OnHeadFailed(std::string_view v, size_t head_start, SectionResult result) {
    if (result != SectionResult::kMalformed) ++connection_.stats_.oversized_heads;
    if (!head_is_candidate_) {
      ++connection_.stats_.desyncs;
      connection_.LosePairing();
    }
    ResetMessage();
    // What was read of a failed head is not rescanned: its well-formed
    // lines cannot hide a start line (one never parses as a field), and an
    // oversized head is skipped as far as the limit. This keeps a
    // resynchronising scan linear in the bytes, whatever they are.
    size_t skip = std::max<size_t>(section_scanned_, 1);
    if (result == SectionResult::kOversized) skip = connection_.limits_.max_header_bytes;
    const size_t resume = head_start + skip;
    last_byte_ = static_cast<uint8_t>(v[resume - 1]);
    if (!connection_.recognised_) {
      unrecognised_bytes_ += skip;
      if (unrecognised_bytes_ > connection_.limits_.max_unrecognised_bytes) {
        connection_.GiveUp();
        return v.size();
      }
    }
    EnterScan();
    return resume;
  }

  // Malformed framing inside a message: deliver what it had, then look for
  // the next message from `pos`.
  size_t Desync(std::string_view v, size_t pos) {
    ++connection_.stats_.desyncs;
    if (message_open_) {
      message_.capture_gap = true;
      Deliver(offset_ + pos);
    }
    connection_.LosePairing();
    last_byte_ = pos > 0 ? static_cast<uint8_t>(v[pos - 1]) : -1;
    EnterScan();
    return pos;
  }

  void AppendBody(std::string_view bytes, uint64_t end_offset) {
    if (!message_open_) return;
    const size_t cap = connection_.limits_.max_body_bytes;
    const size_t room = cap - raw_body_.size();
    if (bytes.size() <= room) {
      raw_body_.append(bytes);
      return;
    }
    // The cap is reached: deliver now, and skip the rest of the body. The
    // wire count stops at the last byte kept, wherever the call split.
    raw_body_.append(bytes.substr(0, room));
    raw_truncated_ = true;
    Deliver(end_offset - (bytes.size() - room));
  }

  void Deliver(uint64_t end_offset) {
    message_.body_wire_bytes = end_offset - body_start_;
    message_open_ = false;
    connection_.output_.Deliver(message_, raw_body_, raw_truncated_);
  }

  void FinishMessage(uint64_t end_offset) {
    const bool was_request = message_.is_request;
    // The next bytes may already belong to another protocol: wait for the
    // response before reading them as HTTP.
    const bool hold = was_request && expects_switch_;
    if (message_open_) Deliver(end_offset);
    if (state_ == State::kIgnore) return;
    BeginHead(false);
    state_ = State::kHead;
    if (hold) held_ = true;
    // Requests held back are parsed before the next response needs one.
    if (!was_request) connection_.ResumeHeldClient();
  }

  Http1Connection& connection_;
  Role role_ = Role::kUnknown;
  State state_ = State::kStart;
  std::string buf_;
  uint64_t offset_ = 0;  // stream offset of the first byte not yet consumed
  int last_byte_ = -1;   // the byte before the scan position; -1 after a gap
  bool held_ = false;
  bool processing_ = false;
  bool expects_switch_ = false;
  uint64_t unrecognised_bytes_ = 0;

  // Head or trailer section in progress, relative to its first byte.
  struct StartLineCheck {
    enum Phase : uint8_t { kUndecided, kStatus, kMethod, kTarget, kVersion, kAccepted };
    Phase phase = kUndecided;
    size_t pos = 0;
    size_t count = 0;
  };
  StartLineCheck start_check_;
  size_t section_scanned_ = 0;   // complete lines
  size_t section_searched_ = 0;  // no line end before this
  size_t section_lines_ = 0;
  size_t section_fields_ = 0;
  bool head_is_candidate_ = false;

  Message message_;
  std::string raw_body_;
  bool message_open_ = false;  // head parsed, not yet delivered
  bool raw_truncated_ = false;
  uint64_t body_start_ = 0;
  uint64_t left_ = 0;
};

Http1Connection::Http1Connection(MessageOutput& output, const ParserLimits& limits, ParserStats& stats)
    : output_(output), limits_(limits), stats_(stats) {
  flows_[0] = std::make_unique<Flow>(*this);
  flows_[1] = std::make_unique<Flow>(*this);
}

Http1Connection::~Http1Connection() = default;

void Http1Connection::Feed(int flow, std::span<const uint8_t> data) { flows_[flow]->Feed(data); }

void Http1Connection::Gap(int flow, uint64_t bytes) { flows_[flow]->Gap(bytes); }

void Http1Connection::End() {
  flows_[0]->End();
  flows_[1]->End();
}

void Http1Connection::OnRecognised(Flow& flow, bool is_request) {
  recognised_ = true;
  if (flow.role() != Role::kUnknown) return;
  flow.set_role(is_request ? Role::kClient : Role::kServer);
  Flow& other = flows_[0].get() == &flow ? *flows_[1] : *flows_[0];
  if (other.role() == Role::kUnknown) other.set_role(is_request ? Role::kServer : Role::kClient);
}

int Http1Connection::request_flow() const {
  for (int i = 0; i < 2; ++i) {
    if (flows_[i]->role() == Role::kClient) return i;
  }
  return -1;
}

void Http1Connection::PushRequest(const Message& request) {
  if (pairing_lost_) return;
  if (pending_.size() >= kMaxPendingRequests) {
    LosePairing();
    return;
  }
  pending_.push_back({request.method, request.target, request.authority});
}

bool Http1Connection::PopRequest(PendingRequest& request) {
  if (pending_.empty()) return false;
  request = std::move(pending_.front());
  pending_.pop_front();
  return true;
}

void Http1Connection::LosePairing() {
  pairing_lost_ = true;
  pending_.clear();
}

void Http1Connection::EnterTunnel() {
  tunnel_ = true;
  ++stats_.tunnels;
  flows_[0]->Ignore();
  flows_[1]->Ignore();
}

void Http1Connection::GiveUp() {
  gave_up_ = true;
  flows_[0]->Ignore();
  flows_[1]->Ignore();
}

void Http1Connection::ResumeHeldClient() {
  // With pairing intact the held request is the last one queued, so it has
  // been answered once the queue is empty.
  if (!pairing_lost_ && !pending_.empty()) return;
  for (auto& flow : flows_) {
    if (flow->held()) flow->Release();
  }
}

}  // namespace rampart::http::internal
