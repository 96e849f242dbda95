#include "agent/attacks/sql_lexer.h"

#include <utility>

namespace rampart::attacks {
namespace {

bool IsSpace(unsigned char c) { return c <= 0x20 || c == 0x7F || c == 0xA0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Bytes above 0x7F are name characters (UTF-8 and Latin-1 letters), except
// Latin-1's no-break space, which MySQL reads as whitespace.
bool IsWordStart(char c) {
  const auto b = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || (b >= 0x80 && b != 0xA0);
}
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }

// Longest first, so "<=>" wins over "<=" and "<".
constexpr std::string_view kMultiCharOperators[] = {
    "<=>", "->>", "<=", ">=", "<>", "!=", "!<", "!>", "||", "&&", "::", ":=", "<<", ">>", "->", "==",
};

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  std::vector<SqlToken> Run(SqlContext context) {
    if (context != SqlContext::kAsIs) LexString(context == SqlContext::kSingleQuote ? '\'' : '"', true);
    while (pos_ < in_.size()) LexOne();
    return std::move(out_);
  }

 private:
  char At(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }

  void Emit(SqlToken token) {
    token.space_before = space_before_;
    space_before_ = false;
    out_.push_back(token);
  }

  void EmitSimple(SqlTokenKind kind, size_t length) {
    SqlToken token;
    token.kind = kind;
    token.text = in_.substr(pos_, length);
    pos_ += length;
    Emit(token);
  }

  // pos_ is just after the opening quote.
  void LexString(char quote, bool from_context) {
    const size_t begin = pos_;
    bool closed = false;
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == quote) {
        if (At(pos_ + 1) == quote) {
          pos_ += 2;
          continue;
        }
        closed = true;
        break;
      }
      ++pos_;
    }
    if (pos_ > in_.size()) pos_ = in_.size();
    SqlToken token;
    token.kind = SqlTokenKind::kString;
    token.text = in_.substr(begin, pos_ - begin);
    token.quote = quote;
    token.closed = closed;
    token.from_context = from_context;
    if (closed) ++pos_;
    Emit(token);
  }

  void LexComment(size_t end, bool closed) {
    SqlToken token;
    token.kind = SqlTokenKind::kComment;
    token.text = in_.substr(pos_, end - pos_);
    token.closed = closed;
    pos_ = end;
    Emit(token);
    space_before_ = true;
  }

  void LexLineComment() {
    const size_t eol = in_.find('\n', pos_);
    LexComment(eol == std::string_view::npos ? in_.size() : eol, true);
  }

  void LexNumber() {
    const size_t begin = pos_;
    if (in_[pos_] == '0' && (At(pos_ + 1) == 'x' || At(pos_ + 1) == 'X') && IsHexDigit(At(pos_ + 2))) {
      pos_ += 2;
      while (IsHexDigit(At(pos_))) ++pos_;
    } else if (in_[pos_] == '0' && (At(pos_ + 1) == 'b' || At(pos_ + 1) == 'B') &&
               (At(pos_ + 2) == '0' || At(pos_ + 2) == '1')) {
      pos_ += 2;
      while (At(pos_) == '0' || At(pos_) == '1') ++pos_;
    } else {
      while (IsDigit(At(pos_))) ++pos_;
      if (At(pos_) == '.') {
        ++pos_;
        while (IsDigit(At(pos_))) ++pos_;
      }
      if ((At(pos_) == 'e' || At(pos_) == 'E') &&
          (IsDigit(At(pos_ + 1)) || ((At(pos_ + 1) == '+' || At(pos_ + 1) == '-') && IsDigit(At(pos_ + 2))))) {
        pos_ += 2;
        while (IsDigit(At(pos_))) ++pos_;
      }
    }
    // MySQL reads `1abc` as a name; `1and` and `1union` stay a number and a
    // keyword, which is how such payloads are meant.
    if (IsWordStart(At(pos_))) {
      size_t end = pos_;
      while (IsWordChar(At(end))) ++end;
      const SqlWordClass next = LookupSqlWord(in_.substr(pos_, end - pos_)).word_class;
      if (next == SqlWordClass::kBareword || next == SqlWordClass::kType || next == SqlWordClass::kValue) {
        pos_ = begin;
        return LexWord();
      }
    }
    SqlToken token;
    token.kind = SqlTokenKind::kNumber;
    token.text = in_.substr(begin, pos_ - begin);
    Emit(token);
  }

  bool FollowedByParen(size_t i) const {
    while (i < in_.size() && IsSpace(static_cast<unsigned char>(in_[i]))) ++i;
    return At(i) == '(';
  }

  // One part of a name at `p`: a word, a `quoted` or a [bracketed] name.
  // Returns its end; `closed` turns false for an unterminated quote.
  size_t ScanNamePart(size_t p, bool& closed) const {
    const char c = At(p);
    if (c == '`' || c == '[') {
      const size_t end = in_.find(c == '`' ? '`' : ']', p + 1);
      if (end == std::string_view::npos) {
        closed = false;
        return in_.size();
      }
      return end + 1;
    }
    while (IsWordChar(At(p))) ++p;
    return p;
  }

  bool StartsNamePart(size_t p) const {
    const char c = At(p);
    if (c == '`') return true;
    if (c == '[') {
      const size_t close = in_.find_first_of("]\n[", p + 1);
      return close != std::string_view::npos && in_[close] == ']' && close > p + 1;
    }
    return IsWordChar(c);
  }

  // Names, qualified ones included: schema.table, `db`.`t`, [dbo].[t],
  // master..xp_cmdshell, users.*
  void LexWord() {
    const size_t begin = pos_;
    bool closed = true;
    bool quoted = At(pos_) == '`' || At(pos_) == '[';
    pos_ = ScanNamePart(pos_, closed);
    while (closed && At(pos_) == '.') {
      size_t dots = pos_;
      while (At(dots) == '.') ++dots;
      if (StartsNamePart(dots)) {
        quoted = quoted || At(dots) == '`' || At(dots) == '[';
        pos_ = ScanNamePart(dots, closed);
      } else if (At(dots) == '*' && dots == pos_ + 1) {
        pos_ = dots + 1;
        break;
      } else {
        break;
      }
    }
    const std::string_view text = in_.substr(begin, pos_ - begin);
    // String prefixes: N'national', X'hex', B'bits', E'escapes', _utf8 'introduced'.
    size_t after = pos_;
    if (!quoted && text.size() > 1 && text[0] == '_') {
      while (At(after) == ' ') ++after;
    }
    if (!quoted && At(after) == '\'' &&
        ((text.size() == 1 && std::string_view("NnXxBbEe").find(text[0]) != std::string_view::npos) ||
         (text.size() > 1 && text[0] == '_'))) {
      pos_ = after + 1;
      LexString('\'', false);
      return;
    }
    SqlToken token;
    token.text = text;
    token.closed = closed;
    if (quoted) {
      token.kind = SqlTokenKind::kBareword;
      Emit(token);
      return;
    }
    token.word = LookupSqlWord(text);
    const bool called = FollowedByParen(pos_);
    switch (token.word.word_class) {
      case SqlWordClass::kBareword: token.kind = SqlTokenKind::kBareword; break;
      case SqlWordClass::kKeyword: token.kind = SqlTokenKind::kKeyword; break;
      case SqlWordClass::kStatement: token.kind = SqlTokenKind::kStatement; break;
      case SqlWordClass::kUnion: token.kind = SqlTokenKind::kUnion; break;
      case SqlWordClass::kLogic: token.kind = SqlTokenKind::kLogic; break;
      case SqlWordClass::kOperator: token.kind = SqlTokenKind::kOperator; break;
      case SqlWordClass::kValue: token.kind = SqlTokenKind::kValue; break;
      case SqlWordClass::kType: token.kind = SqlTokenKind::kType; break;
    }
    if (called && (token.word.function || token.word.word_class == SqlWordClass::kBareword)) {
      token.kind = SqlTokenKind::kFunction;
    }
    Emit(token);
  }

  void LexVariable() {
    const size_t begin = pos_;
    ++pos_;
    if (At(pos_) == '@') ++pos_;
    const char q = At(pos_);
    if (q == '\'' || q == '"' || q == '`') {
      const size_t close = in_.find(q, pos_ + 1);
      pos_ = close == std::string_view::npos ? in_.size() : close + 1;
    } else {
      // T-SQL names may hold '#', '@' and '$' (@#, @@x).
      while (IsWordChar(At(pos_)) || At(pos_) == '#' || At(pos_) == '@' ||
             (At(pos_) == '.' && IsWordChar(At(pos_ + 1)))) {
        ++pos_;
      }
    }
    SqlToken token;
    token.kind = pos_ - begin > 1 && !(pos_ - begin == 2 && in_[begin + 1] == '@') ? SqlTokenKind::kVariable
                                                                                    : SqlTokenKind::kOther;
    token.text = in_.substr(begin, pos_ - begin);
    token.word = LookupSqlWord(token.text.substr(token.text.find_first_not_of('@') == std::string_view::npos
                                                     ? token.text.size()
                                                     : token.text.find_first_not_of('@')));
    Emit(token);
  }

  void LexOne() {
    const char c = in_[pos_];
    if (IsSpace(static_cast<unsigned char>(c))) {
      ++pos_;
      space_before_ = true;
      return;
    }
    if (in_exec_comment_ && c == '*' && At(pos_ + 1) == '/') {
      pos_ += 2;
      in_exec_comment_ = false;
      space_before_ = true;
      return;
    }
    if (c == '/' && At(pos_ + 1) == '*') {
      if (At(pos_ + 2) == '!') {
        // MySQL runs the body of /*! ... */ (and /*!50000 ... */ on new enough servers).
        pos_ += 3;
        // The digits are a version (/*!50000 runs on 5.0 and later); MySQL
        // reads them all, so /*!0SELECT runs SELECT.
        while (IsDigit(At(pos_))) ++pos_;
        in_exec_comment_ = true;
        space_before_ = true;
        return;
      }
      const size_t close = in_.find("*/", pos_ + 2);
      LexComment(close == std::string_view::npos ? in_.size() : close + 2, close != std::string_view::npos);
      return;
    }
    if (c == '-' && At(pos_ + 1) == '-') return LexLineComment();
    if (c == '#') return LexLineComment();
    if (c == '\'' || c == '"') {
      ++pos_;
      return LexString(c, false);
    }
    if (c == '`' || c == '[') {
      if (StartsNamePart(pos_)) return LexWord();
      return EmitSimple(SqlTokenKind::kOther, 1);
    }
    if (c == '$') {
      // PostgreSQL dollar quoting: $$text$$, $tag$text$tag$
      size_t tag_end = pos_ + 1;
      while (IsWordStart(At(tag_end)) && At(tag_end) != '$') ++tag_end;
      if (At(tag_end) == '$') {
        const std::string_view tag = in_.substr(pos_, tag_end + 1 - pos_);
        const size_t close = in_.find(tag, tag_end + 1);
        SqlToken token;
        token.kind = SqlTokenKind::kString;
        token.quote = '$';
        token.closed = close != std::string_view::npos;
        const size_t body_end = token.closed ? close : in_.size();
        token.text = in_.substr(tag_end + 1, body_end - tag_end - 1);
        pos_ = token.closed ? close + tag.size() : in_.size();
        return Emit(token);
      }
    }
    if (c == '@') return LexVariable();
    if (c == '\\' && At(pos_ + 1) == 'N') {  // MySQL's NULL
      SqlToken token;
      token.kind = SqlTokenKind::kValue;
      token.text = in_.substr(pos_, 2);
      pos_ += 2;
      return Emit(token);
    }
    if (IsDigit(c) || (c == '.' && IsDigit(At(pos_ + 1)))) return LexNumber();
    if (IsWordStart(c)) return LexWord();
    switch (c) {
      case '(': return EmitSimple(SqlTokenKind::kOpenParen, 1);
      case ')': return EmitSimple(SqlTokenKind::kCloseParen, 1);
      case ',': return EmitSimple(SqlTokenKind::kComma, 1);
      case ';': return EmitSimple(SqlTokenKind::kSemicolon, 1);
      default: break;
    }
    const std::string_view rest = in_.substr(pos_);
    for (std::string_view op : kMultiCharOperators) {
      if (rest.starts_with(op)) {
        return EmitSimple(op == "||" || op == "&&" ? SqlTokenKind::kLogic : SqlTokenKind::kOperator, op.size());
      }
    }
    if (std::string_view("=<>!+-*/%&|^~:").find(c) != std::string_view::npos) {
      return EmitSimple(SqlTokenKind::kOperator, 1);
    }
    EmitSimple(SqlTokenKind::kOther, 1);
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool space_before_ = false;
  bool in_exec_comment_ = false;
  std::vector<SqlToken> out_;
};

}  // namespace

std::string_view SqlContextName(SqlContext context) {
  switch (context) {
    case SqlContext::kAsIs: return "as written";
    case SqlContext::kSingleQuote: return "after a single quote";
    case SqlContext::kDoubleQuote: return "after a double quote";
  }
  return "unknown";
}

std::vector<SqlToken> LexSql(std::string_view input, SqlContext context) { return Lexer(input).Run(context); }

}  // namespace rampart::attacks
