// String concatenation that accepts std::string_view. Debian 12's abseil is
// built in C++14 mode, where absl::string_view is its own type and
// absl::StrCat refuses std::string_view, so the project uses this instead.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace rampart {

inline void AppendPiece(std::string& out, std::string_view piece) { out.append(piece); }
inline void AppendPiece(std::string& out, absl::string_view piece) { out.append(piece.data(), piece.size()); }
inline void AppendPiece(std::string& out, const char* piece) { out.append(piece); }
inline void AppendPiece(std::string& out, const std::string& piece) { out.append(piece); }
inline void AppendPiece(std::string& out, char piece) { out.push_back(piece); }
template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, char>)
void AppendPiece(std::string& out, T value) {
  out.append(std::to_string(value));
}

template <typename... Pieces>
std::string StrCat(const Pieces&... pieces) {
  std::string out;
  (AppendPiece(out, pieces), ...);
  return out;
}

// A status message as std::string (absl::Status::message() is an absl::string_view).
template <typename Status>
std::string MessageOf(const Status& status) {
  return std::string(status.message());
}

}  // namespace rampart
