// A permissive SQL grammar for deciding whether an input, lexed in one
// injection context, continues a query the way an attack does. It parses the
// tokens as what may follow a value in a WHERE clause (operators, boolean
// conditions, closing parentheses, UNION, ORDER BY, LIMIT, INTO OUTFILE,
// stacked statements after ';') and records what it saw. English text with a
// quote or an SQL word in it ("O'Reilly", "don't or won't", "1950 or 1960
// prints") stops the parse early: it is not a valid continuation, and most
// evidence only counts when the whole input parses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/attacks/sql_lexer.h"
#include "agent/attacks/sql_words.h"

namespace rampart::attacks {

// Where the parse starts.
enum class SqlEntry : uint8_t {
  kAfterValue,  // quoted contexts: the first token is the application's string
  kOperand,     // as written, in a value position: `1 or 1=1`, `sleep(5)`
  kClause,      // as written, right after a value: `union select ...`, `; drop ...`
  kStatement,   // as written, a whole statement: `select * from users`
};

// What follows a boolean operator, by increasing weight as evidence.
enum class SqlCondition : uint8_t {
  kNone,
  kBareword,    // or name
  kText,        // or 'a': a string, which prose in quotes also produces
  kLiteral,     // or 1, or true, or @v
  kCall,        // or sleep(5), or (select ...)
  kComparison,  // or a=b, and x>1: a test on data
  kConstant,    // and 8=3, and cos(3)=sin(4): a test with a fixed answer (blind probing)
  kTautology,   // or 1=1, or 'a'='a', or 2>1
};

// Statements stacked after ';', by increasing danger.
enum class SqlStacked : uint8_t {
  kNone,
  kWeak,         // a statement word that is also common English (SHOW, USE, CLOSE, ...)
  kRead,         // SELECT
  kWrite,        // INSERT, UPDATE, DELETE
  kExecute,      // EXEC, DECLARE, SET, WAITFOR, IF
  kDestructive,  // DROP, TRUNCATE, ALTER, CREATE, SHUTDOWN, GRANT
};

struct SqlFeatures {
  // Shape of the input.
  bool complete = false;             // every token parsed
  bool valid_prefix = false;         // not complete, but only because the input ended early
  size_t tokens = 0;                 // tokens other than comments
  size_t parsed_tokens = 0;          // tokens consumed before the first syntax error
  bool ends_in_open_string = false;  // the last string is left for the application to close
  bool ends_in_comment = false;      // a comment runs to the end: the rest of the query is cut off
  int closers = 0;                   // ')' that close the application's parentheses
  bool starts_with_name = false;     // kOperand entry: the first operand is a plain name
  std::string fingerprint;           // token kinds ("s&1o1c"), at most 16

  // Evidence. Constructs record themselves once they parsed completely, so
  // features seen before a syntax error still hold for that prefix.
  int logic_operators = 0;
  SqlCondition best_condition = SqlCondition::kNone;  // strongest condition after a boolean operator
  bool operator_after_value = false;   // arithmetic or comparison right after the first value
  SqlCondition value_comparison = SqlCondition::kNone;  // `'x'='x` formed with the first value
  int calls = 0;
  SqlRisk risk = SqlRisk::kNone;       // highest risk among calls, system variables and catalogs
  bool subquery = false;               // (SELECT ...)
  bool union_select = false;           // UNION [ALL] SELECT with a list that reads data
  bool weak_union_select = false;      // UNION SELECT of a single plain name, no FROM
  SqlStacked stacked = SqlStacked::kNone;
  bool order_by_number = false;        // ORDER BY 5 / GROUP BY 3: probing the column count
  bool writes_file = false;            // INTO OUTFILE / DUMPFILE
  bool time_statement = false;         // WAITFOR DELAY / TIME
  bool injected_having = false;        // HAVING right after the value (the classic error probe)
  bool injected_procedure = false;     // PROCEDURE ANALYSE(...)
  bool injected_order_call = false;    // ORDER BY / GROUP BY a call right after the value
  bool case_expression = false;        // CASE ... END
  bool nested_extraction = false;
  bool conditional_test = false;       // IF(1=1, ...), IIF(...), CASE WHEN a=b: blind inference      // ASCII(SUBSTRING(...)): reading data a character at a time

  // kStatement entry: the statement and how much of a real query it has.
  SqlStacked first_statement = SqlStacked::kNone;
  bool statement_from = false;
  bool statement_where = false;
  bool statement_rich_list = false;    // '*', numbers, calls or several columns
};

// Parses `tokens` (all of them, comments included) from `entry`.
// Linear in the number of tokens; nesting deeper than 64 levels stops the parse.
SqlFeatures ParseSqlFragment(const std::vector<SqlToken>& tokens, SqlContext context, SqlEntry entry);

}  // namespace rampart::attacks
