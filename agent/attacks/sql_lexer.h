// A SQL lexer for judging user input, not for running queries: it accepts
// the union of the dialects attackers target (MySQL, SQL Server, PostgreSQL,
// Oracle, SQLite) and never fails; bytes it cannot place become kOther.
//
// The same input is lexed in the three places an injection can start: as
// written (a number or a keyword position), or inside a string literal the
// application opened with a single or a double quote. In the quoted contexts
// the first token is the rest of that literal, up to the first unescaped
// matching quote in the input.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/attacks/sql_words.h"

namespace rampart::attacks {

enum class SqlContext : uint8_t { kAsIs, kSingleQuote, kDoubleQuote };

std::string_view SqlContextName(SqlContext context);  // "as written", "after a single quote", ...

// One letter each, as in libinjection's fingerprints, so a token sequence can
// be written down ("s&1o1c") without repeating the input.
enum class SqlTokenKind : char {
  kString = 's',
  kNumber = '1',
  kBareword = 'n',   // identifiers, `quoted` and [bracketed] names, qualified names (a.b.c)
  kVariable = 'v',   // @name, @@name
  kFunction = 'f',   // a word directly followed by '('
  kKeyword = 'k',
  kStatement = 'E',  // a word that starts a statement: SELECT, DROP, EXEC, ...
  kUnion = 'U',
  kLogic = '&',      // AND, OR, XOR, NOT, &&, ||
  kOperator = 'o',   // symbols and operator words (LIKE, IS, IN, DIV, ...)
  kValue = 'l',      // literal words: NULL, TRUE, CURRENT_USER, ...
  kType = 't',       // type names: VARCHAR, INT, ...
  kOpenParen = '(',
  kCloseParen = ')',
  kComma = ',',
  kSemicolon = ';',
  kComment = 'c',
  kOther = '?',
};

struct SqlToken {
  SqlTokenKind kind = SqlTokenKind::kOther;
  std::string_view text;  // strings: the body without quotes; comments: the whole comment
  SqlWord word;           // dictionary entry of words (kind follows word.word_class)
  char quote = 0;         // strings: the quote character
  bool closed = true;     // strings, quoted names and block comments: the terminator was seen
  bool from_context = false;  // the string the application opened (quoted contexts)
  bool space_before = false;  // whitespace or a comment separates it from the previous token
};

// Lexes `input` as if it followed the opening quote of `context`. MySQL's
// executable comments (/*! ... */, /*!50000 ... */) are lexed as code, since
// MySQL runs them; other comments become kComment tokens.
std::vector<SqlToken> LexSql(std::string_view input, SqlContext context);

}  // namespace rampart::attacks
