#include "agent/attacks/input_extractor.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "agent/attacks/json_walker.h"

namespace rampart::attacks {
namespace {

// Headers whose syntax is fixed by the protocol, or that hold secrets another
// inspector handles (Authorization goes to the JWT checks, never here).
constexpr std::string_view kSkippedHeaders[] = {
    "accept",          "accept-charset",    "accept-encoding",     "accept-language",  "accept-ranges",
    "authorization",   "proxy-authorization", "cache-control",     "connection",       "content-length",
    "content-type",    "content-encoding",  "cookie",              "date",             "dnt",
    "host",            "if-match",          "if-modified-since",   "if-none-match",    "if-range",
    "if-unmodified-since", "keep-alive",    "pragma",              "range",            "te",
    "transfer-encoding", "upgrade",         "upgrade-insecure-requests", "expect",     "content-md5",
};

std::string ToLower(std::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view in) {
  while (!in.empty() && (in.front() == ' ' || in.front() == '\t')) in.remove_prefix(1);
  while (!in.empty() && (in.back() == ' ' || in.back() == '\t' || in.back() == '\r')) in.remove_suffix(1);
  return in;
}

// The value of `param` in a header such as `multipart/form-data; boundary=x`.
std::string HeaderParameter(std::string_view header, std::string_view param) {
  const std::string lower = ToLower(header);
  size_t pos = 0;
  while ((pos = lower.find(param, pos)) != std::string::npos) {
    const bool starts_word = pos == 0 || lower[pos - 1] == ';' || lower[pos - 1] == ' ' || lower[pos - 1] == '\t';
    const size_t eq = pos + param.size();
    if (!starts_word || eq >= lower.size() || lower[eq] != '=') {
      pos = eq;
      continue;
    }
    std::string_view rest = header.substr(eq + 1);
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      return std::string(rest.substr(0, rest.find('"')));
    }
    return std::string(Trim(rest.substr(0, rest.find(';'))));
  }
  return "";
}

class Extractor {
 public:
  Extractor(const ExtractionLimits& limits, std::vector<Input>& out) : limits_(limits), out_(out) {}

  // `transport_decoded` is the value after the decoding its place implies.
  void Add(InputSource source, std::string location, std::string_view transport_decoded) {
    if (out_.size() >= limits_.max_inputs || transport_decoded.empty()) return;
    if (transport_decoded.size() > limits_.max_value_bytes) {
      transport_decoded = transport_decoded.substr(0, limits_.max_value_bytes);
    }
    Input input;
    input.source = source;
    input.location = std::move(location);
    input.decoded = DecodeRepeatedly(transport_decoded, limits_.max_decode_rounds);
    out_.push_back(std::move(input));
  }

  // name=value pairs separated by '&', as in query strings and form bodies.
  void AddPairs(std::string_view pairs, std::string_view prefix, InputSource name_source, InputSource value_source) {
    size_t index = 0;
    while (!pairs.empty()) {
      const size_t amp = pairs.find('&');
      const std::string_view pair = pairs.substr(0, amp);
      pairs = amp == std::string_view::npos ? std::string_view() : pairs.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      const std::string name = UrlDecode(pair.substr(0, eq), /*plus_as_space=*/true);
      const std::string label = LocationName(name, index);
      Add(name_source, StrCatLocation(prefix, label, " (name)"), name);
      if (eq != std::string_view::npos) {
        Add(value_source, StrCatLocation(prefix, label, ""), UrlDecode(pair.substr(eq + 1), /*plus_as_space=*/true));
      }
      ++index;
    }
  }

  void AddPath(std::string_view path, std::string_view location) {
    Add(InputSource::kPath, std::string(location), UrlDecode(path, /*plus_as_space=*/false));
    size_t segment = 0;
    while (!path.empty()) {
      const size_t slash = path.find('/');
      const std::string_view piece = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
      if (piece.empty()) continue;
      ++segment;
      Add(InputSource::kPathSegment, StrCatLocation(location, " segment ", std::to_string(segment)),
          UrlDecode(piece, /*plus_as_space=*/false));
    }
  }

  void AddJson(std::string_view body) {
    WalkJsonStrings(body, [&](std::string_view path, std::string_view value, bool is_key) {
      Add(is_key ? InputSource::kJsonKey : InputSource::kJsonValue,
          StrCatLocation("request.body ", path, is_key ? " (key)" : ""), value);
    });
  }

  void AddMultipart(std::string_view body, std::string_view content_type) {
    const std::string boundary = HeaderParameter(content_type, "boundary");
    if (boundary.empty()) return;
    const std::string delimiter = "--" + boundary;
    size_t pos = body.find(delimiter);
    size_t index = 0;
    while (pos != std::string_view::npos) {
      pos += delimiter.size();
      if (body.substr(pos, 2) == "--") return;
      const size_t next = body.find(delimiter, pos);
      std::string_view part = body.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
      pos = next;
      size_t header_end = part.find("\r\n\r\n");
      size_t separator = 4;
      if (header_end == std::string_view::npos) {
        header_end = part.find("\n\n");
        separator = 2;
      }
      if (header_end == std::string_view::npos) continue;
      const std::string_view headers = part.substr(0, header_end);
      std::string_view content = part.substr(header_end + separator);
      if (content.ends_with("\r\n")) {
        content.remove_suffix(2);
      } else if (content.ends_with("\n")) {
        content.remove_suffix(1);
      }
      std::string disposition;
      for (std::string_view rest = headers; !rest.empty();) {
        const size_t eol = rest.find('\n');
        const std::string_view line = Trim(rest.substr(0, eol));
        rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
        if (ToLower(line.substr(0, 20)) == "content-disposition:") disposition = std::string(line.substr(20));
      }
      const std::string name = HeaderParameter(disposition, "name");
      const std::string label = LocationName(name, index++);
      if (disposition.find("filename") != std::string::npos) {
        // Uploaded file contents are data, not parameters; their name is the
        // classic traversal vector.
        Add(InputSource::kMultipartFilename, StrCatLocation("request.body part ", label, " (filename)"),
            HeaderParameter(disposition, "filename"));
      } else {
        Add(InputSource::kMultipartValue, StrCatLocation("request.body part ", label, ""), content);
      }
    }
  }

  void AddCookies(std::string_view cookies) {
    size_t index = 0;
    while (!cookies.empty()) {
      const size_t semi = cookies.find(';');
      const std::string_view pair = Trim(cookies.substr(0, semi));
      cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      const std::string_view name = Trim(pair.substr(0, eq));
      const std::string label = LocationName(name, index++);
      if (eq == std::string_view::npos) {
        Add(InputSource::kCookie, StrCatLocation("request.cookie ", label, " (name)"), name);
        continue;
      }
      Add(InputSource::kCookie, StrCatLocation("request.cookie ", label, ""),
          UrlDecode(Trim(pair.substr(eq + 1)), /*plus_as_space=*/false));
    }
  }

  // A Referer is a URL: its parts are inspected like a request's own.
  void AddUrlHeader(std::string_view name, std::string_view url) {
    const size_t scheme = url.find("://");
    if (scheme != std::string_view::npos && scheme < 10) {
      const size_t path_start = url.find('/', scheme + 3);
      url = path_start == std::string_view::npos ? std::string_view() : url.substr(path_start);
    }
    url = url.substr(0, url.find('#'));
    const size_t question = url.find('?');
    const std::string prefix = StrCatLocation("request.header ", name, "");
    Add(InputSource::kHeader, prefix, UrlDecode(url.substr(0, question), /*plus_as_space=*/false));
    if (question != std::string_view::npos) {
      AddPairs(url.substr(question + 1), StrCatLocation(prefix, " query ", ""), InputSource::kHeader,
               InputSource::kHeader);
    }
  }

  static std::string StrCatLocation(std::string_view a, std::string_view b, std::string_view c) {
    std::string out;
    out.reserve(a.size() + b.size() + c.size());
    out.append(a).append(b).append(c);
    return out;
  }

 private:
  const ExtractionLimits& limits_;
  std::vector<Input>& out_;
};

bool IsSkippedHeader(std::string_view name) {
  if (name.empty() || name.front() == ':') return true;  // HTTP/2 pseudo-headers
  if (name.starts_with("sec-")) return true;              // fetch metadata, set by browsers
  return std::find(std::begin(kSkippedHeaders), std::end(kSkippedHeaders), name) != std::end(kSkippedHeaders);
}

}  // namespace

std::string_view InputSourceName(InputSource source) {
  switch (source) {
    case InputSource::kPath: return "path";
    case InputSource::kPathSegment: return "path segment";
    case InputSource::kQueryName: return "query parameter name";
    case InputSource::kQueryValue: return "query parameter";
    case InputSource::kFormName: return "form field name";
    case InputSource::kFormValue: return "form field";
    case InputSource::kJsonKey: return "JSON key";
    case InputSource::kJsonValue: return "JSON string";
    case InputSource::kMultipartValue: return "multipart field";
    case InputSource::kMultipartFilename: return "uploaded file name";
    case InputSource::kCookie: return "cookie";
    case InputSource::kHeader: return "header";
  }
  return "input";
}

std::string LocationName(std::string_view name, size_t index) {
  bool plain = !name.empty() && name.size() <= 64;
  for (char c : name) {
    if (!plain) break;
    plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
            c == '.' || c == '[' || c == ']';
  }
  return plain ? std::string(name) : "#" + std::to_string(index);
}

std::vector<Input> ExtractInputs(const http::Message& request, const ExtractionLimits& limits) {
  std::vector<Input> inputs;
  Extractor extractor(limits, inputs);

  std::string_view target = request.target;
  // Absolute form (proxies, and some captured clients): drop scheme and authority.
  const size_t scheme = target.find("://");
  if (scheme != std::string_view::npos && scheme < 10 && target.find('?') > scheme) {
    const size_t path_start = target.find('/', scheme + 3);
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  target = target.substr(0, target.find('#'));
  const size_t question = target.find('?');
  extractor.AddPath(target.substr(0, question), "request.path");
  if (question != std::string_view::npos) {
    extractor.AddPairs(target.substr(question + 1), "request.query ", InputSource::kQueryName,
                       InputSource::kQueryValue);
  }

  if (!request.body.empty()) {
    const std::string* content_type_header = request.FindHeader("content-type");
    const std::string content_type = content_type_header ? ToLower(*content_type_header) : "";
    const std::string_view body = request.body;
    const std::string_view trimmed = Trim(body);
    if (content_type.find("x-www-form-urlencoded") != std::string::npos) {
      extractor.AddPairs(body, "request.body ", InputSource::kFormName, InputSource::kFormValue);
    } else if (content_type.find("json") != std::string::npos ||
               (content_type.empty() && (trimmed.starts_with('{') || trimmed.starts_with('[')))) {
      extractor.AddJson(body);
    } else if (content_type.starts_with("multipart/form-data")) {
      extractor.AddMultipart(body, *content_type_header);
    }
  }

  for (const http::Header& header : request.headers) {
    if (header.name == "cookie") extractor.AddCookies(header.value);
  }
  size_t index = 0;
  for (const http::Header& header : request.headers) {
    const std::string name = LocationName(header.name, index++);
    if (IsSkippedHeader(header.name)) continue;
    if (header.name == "referer") {
      extractor.AddUrlHeader(name, header.value);
    } else {
      extractor.Add(InputSource::kHeader, Extractor::StrCatLocation("request.header ", name, ""), header.value);
    }
  }
  return inputs;
}

}  // namespace rampart::attacks
