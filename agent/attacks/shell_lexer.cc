#include "agent/attacks/shell_lexer.h"

#include <utility>

namespace rampart::attacks {
namespace {

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '/' || c == '.';
}

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  std::vector<ShellCommand> Run() {
    for (pos_ = 0; pos_ < in_.size(); ++pos_) Step();
    FinishCommand("", in_.size());
    return std::move(commands_);
  }

 private:
  char At(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }

  void Append(char c) {
    word_.push_back(c);
    word_started_ = true;
  }

  void FinishWord() {
    if (word_started_) {
      if (command_.words.empty() && word_obfuscated_) command_.obfuscated = true;
      command_.words.push_back(word_);
    }
    word_.clear();
    word_started_ = false;
    word_obfuscated_ = false;
  }

  // Ends the current command; the next one starts with `separator`.
  void FinishCommand(std::string_view separator, size_t next_offset) {
    FinishWord();
    if (!command_.words.empty() || !command_.separator.empty()) commands_.push_back(std::move(command_));
    command_ = ShellCommand();
    command_.separator = std::string(separator);
    command_.offset = next_offset;
  }

  // `$...` outside single quotes. Returns true when it consumed the expansion.
  bool Expansion() {
    const char next = At(pos_ + 1);
    if (next == '(' && At(pos_ + 2) != '(') {
      substitutions_.push_back(')');
      FinishCommand("$(", pos_ + 2);
      ++pos_;
      return true;
    }
    if (next == '{') {
      const size_t close = in_.find('}', pos_ + 2);
      if (close == std::string_view::npos) return false;
      const std::string_view name = in_.substr(pos_ + 2, close - pos_ - 2);
      pos_ = close;
      if (name == "IFS") {  // the field separator: a space that needs no space
        FinishWord();
        command_.obfuscated = true;
      } else {
        word_obfuscated_ = true;  // ${x}: expands to nothing, splits a word for the eye only
      }
      return true;
    }
    if (in_.substr(pos_ + 1, 3) == "IFS") {
      pos_ += 3;
      FinishWord();
      command_.obfuscated = true;
      return true;
    }
    if (next == '@' || next == '*' || (next >= '0' && next <= '9')) {  // positional: empty in sh -c
      ++pos_;
      word_obfuscated_ = true;
      return true;
    }
    return false;
  }

  void Step() {
    const char c = in_[pos_];
    if (quote_ == '\'') {
      if (c == '\'') {
        quote_ = 0;
        if (IsWordByte(At(pos_ + 1))) word_obfuscated_ = true;
      } else {
        Append(c);
      }
      return;
    }
    if (quote_ == '"') {
      if (c == '"') {
        quote_ = 0;
        if (IsWordByte(At(pos_ + 1))) word_obfuscated_ = true;
        return;
      }
      if (c == '\\' && std::string_view("$`\"\\\n").find(At(pos_ + 1)) != std::string_view::npos) {
        Append(At(++pos_));
        return;
      }
      if (c == '$' && Expansion()) return;
      if (c == '`') return Backtick();
      Append(c);
      return;
    }
    switch (c) {
      case ' ':
      case '\t':
        FinishWord();
        return;
      case '\'':
      case '"':
        if (word_started_) word_obfuscated_ = true;
        word_started_ = true;
        quote_ = c;
        return;
      case '\\':
        if (At(pos_ + 1) == '\n') {
          ++pos_;
          return;
        }
        if (word_started_) word_obfuscated_ = true;
        if (pos_ + 1 < in_.size()) Append(in_[++pos_]);
        return;
      case ';':
        return FinishCommand(";", pos_ + 1);
      case '\n':
      case '\r':
        return FinishCommand("\n", pos_ + 1);
      case '|':
        if (At(pos_ + 1) == '|') {
          ++pos_;
          return FinishCommand("||", pos_ + 1);
        }
        return FinishCommand("|", pos_ + 1);
      case '&':
        if (!word_.empty() && word_.back() == '>') {  // 2>&1
          Append(c);
          return;
        }
        if (At(pos_ + 1) == '&') {
          ++pos_;
          return FinishCommand("&&", pos_ + 1);
        }
        return FinishCommand("&", pos_ + 1);
      case '`':
        return Backtick();
      case '$':
        if (Expansion()) return;
        Append(c);
        return;
      case ')':
        if (!substitutions_.empty() && substitutions_.back() == ')') {
          substitutions_.pop_back();
          return FinishCommand(")", pos_ + 1);
        }
        Append(c);
        return;
      case '<':
      case '>':
        FinishWord();
        command_.redirection = true;
        while (At(pos_ + 1) == '>' || At(pos_ + 1) == '&') ++pos_;
        return;
      case '{':
        if (!word_started_ && BraceList()) return;
        Append(c);
        return;
      default:
        Append(c);
    }
  }

  void Backtick() {
    if (!substitutions_.empty() && substitutions_.back() == '`') {
      substitutions_.pop_back();
      FinishCommand(")", pos_ + 1);
      return;
    }
    substitutions_.push_back('`');
    FinishCommand("`", pos_ + 1);
  }

  // {cat,/etc/passwd} at the start of a word: bash expands it to words.
  bool BraceList() {
    const size_t close = in_.find('}', pos_ + 1);
    if (close == std::string_view::npos) return false;
    const std::string_view body = in_.substr(pos_ + 1, close - pos_ - 1);
    if (body.find(',') == std::string_view::npos || body.find_first_of(" \t;|&") != std::string_view::npos) {
      return false;
    }
    FinishWord();
    size_t start = 0;
    while (start <= body.size()) {
      const size_t comma = body.find(',', start);
      const std::string_view item = body.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                        : comma - start);
      if (!item.empty()) command_.words.emplace_back(item);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    command_.obfuscated = true;
    pos_ = close;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  char quote_ = 0;
  std::string word_;
  bool word_started_ = false;
  bool word_obfuscated_ = false;
  std::vector<char> substitutions_;
  ShellCommand command_;
  std::vector<ShellCommand> commands_;
};

}  // namespace

std::vector<ShellCommand> LexShell(std::string_view input) { return Lexer(input).Run(); }

}  // namespace rampart::attacks
