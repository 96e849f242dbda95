// The SQL vocabulary the lexer classifies words with: what a word is when it
// stands alone, whether it names a function when a '(' follows, and how much
// an injection gains by calling it.
#pragma once

#include <cstdint>
#include <string_view>

namespace rampart::attacks {

enum class SqlWordClass : uint8_t {
  kBareword,   // not in the dictionary: an identifier
  kKeyword,    // FROM, WHERE, ORDER, BY, AS, CASE, ...
  kStatement,  // SELECT, INSERT, DROP, EXEC, DECLARE, WAITFOR, ...
  kUnion,      // UNION, INTERSECT, EXCEPT
  kLogic,      // AND, OR, XOR, NOT
  kOperator,   // LIKE, RLIKE, REGEXP, IS, IN, BETWEEN, DIV, MOD, SOUNDS, COLLATE
  kValue,      // NULL, TRUE, FALSE, CURRENT_USER, ...
  kType,       // VARCHAR, INT, ...
};

// What calling a function (or reading a catalog) gives an attacker, by
// increasing danger.
enum class SqlRisk : uint8_t {
  kNone,
  kStringBuilding,  // CHAR, ASCII, SUBSTRING, CONCAT: the tools of blind extraction
  kMetadata,        // VERSION(), DATABASE(), USER(), information_schema
  kErrorBased,      // EXTRACTVALUE, UPDATEXML: leak data through error messages
  kTimeDelay,       // SLEEP, BENCHMARK, PG_SLEEP, DBMS_PIPE.RECEIVE_MESSAGE
  kSystem,          // LOAD_FILE, XP_CMDSHELL, UTL_HTTP: files, commands, network
};

struct SqlWord {
  SqlWordClass word_class = SqlWordClass::kBareword;
  bool function = false;  // a known function when followed by '('
  SqlRisk risk = SqlRisk::kNone;
  bool catalog = false;   // names a system catalog (information_schema, sysobjects, ...)
};

// Case-insensitive. A qualified name (dbms_pipe.receive_message,
// information_schema.tables, master..xp_cmdshell) is looked up whole, then
// part by part: its last part decides the function entry, any part can mark
// it as a catalog.
SqlWord LookupSqlWord(std::string_view word);

}  // namespace rampart::attacks
