#include "agent/attacks/sqli.h"

#include <algorithm>
#include <string>
#include <vector>

#include "agent/attacks/evidence.h"
#include "agent/attacks/sql_grammar.h"

namespace rampart::attacks {
namespace {

std::string StrReason(std::string_view a, std::string_view b, std::string_view c = "") {
  std::string out(a);
  out.append(b).append(c);
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Words in the application's string before the quote the input closes: a
// single token ("admin") is the shape of a login bypass, a sentence is not.
size_t WordCount(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = IsSpace(c);
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

size_t LastCommentStart(std::string_view input) {
  size_t start = std::string_view::npos;
  for (size_t p : {input.rfind("--"), input.rfind('#'), input.rfind("/*")}) {
    if (p != std::string_view::npos && (start == std::string_view::npos || p > start)) start = p;
  }
  return start;
}

bool LastCommentIsEmpty(std::string_view input) {
  const size_t start = LastCommentStart(input);
  if (start == std::string_view::npos) return false;
  return input.substr(start).find_first_not_of("-#/* \t\r\n") == std::string_view::npos;
}

bool CommentHasWords(std::string_view input) {
  const size_t start = LastCommentStart(input);
  if (start == std::string_view::npos) return false;
  int letters = 0;
  for (char c : input.substr(start)) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ++letters;
  }
  return letters >= 3;
}

// Lowers evidence that sentences produce as easily as payloads do: several
// words before the quote, words in the closing comment.
double ProsePenalty(std::string_view context_text, std::string_view input, bool ends_in_comment) {
  double penalty = 0;
  const size_t words = WordCount(context_text);
  if (words > 2) penalty += 0.2;
  if (words == 2) penalty += 0.1;
  if (ends_in_comment && CommentHasWords(input)) penalty += 0.15;
  return penalty;
}

const char* RiskReason(SqlRisk risk) {
  switch (risk) {
    case SqlRisk::kSystem: return "calls a SQL function that reaches files, commands or the network";
    case SqlRisk::kTimeDelay: return "calls a SQL time-delay function (blind injection)";
    case SqlRisk::kErrorBased: return "calls a SQL function used to leak data through errors";
    case SqlRisk::kMetadata: return "reads database metadata (version, user or system catalog)";
    case SqlRisk::kStringBuilding: return "builds strings with SQL functions";
    case SqlRisk::kNone: return "";
  }
  return "";
}

double RiskScore(SqlRisk risk) {
  switch (risk) {
    case SqlRisk::kSystem: return 0.95;
    case SqlRisk::kTimeDelay: return 0.95;
    case SqlRisk::kErrorBased: return 0.9;
    case SqlRisk::kMetadata: return 0.75;
    case SqlRisk::kStringBuilding: return 0.4;
    case SqlRisk::kNone: return 0;
  }
  return 0;
}

struct Reading {
  double score = 0;
  std::string reason;
  std::string fingerprint;
};

// `context_text`: the application's string up to our quote; `reopened_text`:
// the string the input leaves open at its end.
Reading Judge(const SqlFeatures& f, SqlEntry entry, SqlContext context, std::string_view input,
              std::string_view context_text, std::string_view reopened_text) {
  EvidenceList evidence;
  const bool quoted = entry == SqlEntry::kAfterValue;

  // Constructs that prove themselves even when later text does not parse.
  if (f.union_select) evidence.Add(0.95, "UNION SELECT appends rows from another query");
  if (f.writes_file) evidence.Add(0.95, "INTO OUTFILE writes query results to a file");
  if (f.time_statement) evidence.Add(0.95, "WAITFOR DELAY stalls the database (blind injection)");
  switch (f.stacked) {
    case SqlStacked::kDestructive: evidence.Add(0.95, "stacked query that drops, alters or shuts down"); break;
    case SqlStacked::kExecute: evidence.Add(0.9, "stacked query that executes or declares"); break;
    case SqlStacked::kWrite: evidence.Add(0.9, "stacked query that modifies data"); break;
    case SqlStacked::kRead: evidence.Add(0.85, "stacked SELECT query"); break;
    case SqlStacked::kWeak: evidence.Add(0.45, "stacked statement"); break;
    case SqlStacked::kNone: break;
  }

  // Text that runs out mid-construct is still a valid beginning of SQL.
  const bool parsed = f.complete || f.valid_prefix;
  if (parsed) {
    if (f.weak_union_select) evidence.Add(0.6, "UNION SELECT");
    evidence.Add(RiskScore(f.risk), RiskReason(f.risk));
    if (f.subquery) evidence.Add(0.85, "subquery (SELECT inside an expression)");
    if (f.conditional_test) evidence.Add(0.7, "conditional SQL expression on a comparison (blind injection)");
    if (f.case_expression) evidence.Add(0.6, "SQL CASE expression");
    if (f.injected_order_call) evidence.Add(0.75, "ORDER BY / GROUP BY a function call injected after a value");
    if (f.injected_having) evidence.Add(0.75, "HAVING clause injected after a value");
    if (f.injected_procedure) evidence.Add(0.85, "PROCEDURE clause injected after a value");
    if (f.nested_extraction) evidence.Add(0.75, "reads data a character at a time with nested SQL functions");
    if (f.order_by_number) evidence.Add(0.8, "ORDER BY / GROUP BY a column number (probing the column count)");
    if (f.logic_operators > 0) {
      const char* after = quoted ? " after closing a quoted string" : " after a value";
      // "x >= 10 && y <= 20" is a formula; injections into a value position
      // start with a number or a closing parenthesis.
      const double weight = f.starts_with_name ? 0.6 : 1.0;
      switch (f.best_condition) {
        // Tests with a fixed answer are no formula, whatever comes first.
        case SqlCondition::kTautology: evidence.Add(quoted ? 0.95 : 0.9, StrReason("SQL tautology", after)); break;
        case SqlCondition::kConstant:
          evidence.Add(quoted ? 0.9 : 0.85, StrReason("SQL condition with a fixed answer", after));
          break;
        case SqlCondition::kComparison:
          evidence.Add((quoted ? 0.9 : 0.8) * weight, StrReason("boolean SQL condition", after));
          break;
        case SqlCondition::kCall: evidence.Add((quoted ? 0.9 : 0.85) * weight, StrReason("boolean SQL condition with a call", after)); break;
        case SqlCondition::kLiteral: evidence.Add((quoted ? 0.7 : 0.45) * weight, StrReason("boolean operator and a literal", after)); break;
        case SqlCondition::kText: evidence.Add(quoted ? 0.45 : 0.3, StrReason("boolean operator and a string", after)); break;
        case SqlCondition::kBareword: evidence.Add(quoted ? 0.3 : 0.2, StrReason("boolean operator", after)); break;
        case SqlCondition::kNone: break;
      }
    }
    if (quoted && f.logic_operators == 0) {
      if (f.value_comparison == SqlCondition::kTautology) {
        evidence.Add(0.6, "comparison that is always true, formed with the quoted string");
      } else if (f.value_comparison == SqlCondition::kComparison) {
        evidence.Add(0.4, "comparison formed with the quoted string");
      }
    }
    if (quoted && f.operator_after_value) {
      // `a'+'b`, `x' - (select ...) --`: the quote closes, SQL follows.
      // Prose quotes words the same way ("LIKE" STAMP, SMALL "&" SIGN), so
      // the operator alone is weak; a cut-off comment or a call is not.
      // A closing quote hugs the word before it and an opening quote the
      // word after it (aa'=+'1); prose puts its quotes the other way round.
      double score = 0.35;
      if (f.ends_in_comment) score += 0.15;
      if (f.ends_in_open_string) score += 0.05;
      if (f.calls > 0 || f.subquery) score += 0.2;
      if (!context_text.empty() && !IsSpace(context_text.back())) score += 0.1;
      if (!reopened_text.empty() && !IsSpace(reopened_text.front())) score += 0.05;
      // Double-quoted SQL strings are MySQL-only; double-quoted words are everywhere in prose.
      if (context == SqlContext::kDoubleQuote) score -= 0.1;
      score -= ProsePenalty(context_text, input, f.ends_in_comment);
      evidence.Add(score, "SQL operator right after closing a quoted string");
    }
    if (!quoted && entry == SqlEntry::kOperand && f.complete && f.ends_in_comment && LastCommentIsEmpty(input) &&
        f.fingerprint.find_first_not_of("1vsloc()fk&") == std::string::npos) {
      // `1--`, `(1 * @a) --`: an expression without a single name, then the rest of the query cut off.
      evidence.Add(0.55, "comment cuts off the query right after an SQL expression");
    }
    if (quoted && f.ends_in_comment) {
      // `admin'--`: close the string, cut the rest of the query off.
      double score = 0.6 - ProsePenalty(context_text, input, true);
      if (WordCount(context_text) == 0) score -= 0.2;
      if (f.tokens > 1 + static_cast<size_t>(f.closers)) score = 0;  // other evidence speaks for longer tails
      evidence.Add(score, "comment cuts off the query right after closing a quoted string");
    }
    if (entry == SqlEntry::kStatement) {
      if (f.first_statement == SqlStacked::kRead) {
        // "select x from y where" is how people talk about SQL; numbers,
        // calls and star in the list are how queries are written.
        if (f.statement_from && f.statement_rich_list) {
          evidence.Add(0.8, "a complete SELECT statement");
        } else if (f.statement_from) {
          evidence.Add(0.4, "a SELECT ... FROM statement");
        } else if (f.statement_rich_list) {
          evidence.Add(0.45, "a SELECT statement");
        }
      } else if (f.first_statement == SqlStacked::kDestructive) {
        evidence.Add(0.85, "a complete statement that drops, alters or creates");
      } else if (f.first_statement == SqlStacked::kWrite || f.first_statement == SqlStacked::kExecute) {
        evidence.Add(0.8, "a complete statement that modifies data or executes");
      }
    }
  }

  Verdict best = evidence.Combine();
  if (best.score <= 0) return {};
  if (!quoted && f.complete && f.ends_in_comment && best.score >= 0.4) best.score = std::min(1.0, best.score + 0.1);
  if (!f.complete) {
    best.score *= 0.9;  // evidence from a prefix, or from a beginning the input did not finish
  } else if (quoted && !f.ends_in_open_string && !f.ends_in_comment) {
    // The application's closing quote is left dangling: a sloppy or a partial payload.
    best.score *= 0.9;
  }
  Reading reading;
  reading.score = best.score;
  reading.reason = best.reason;
  if (context != SqlContext::kAsIs) reading.reason += StrReason(" (", SqlContextName(context), ")");
  reading.fingerprint = f.fingerprint;
  return reading;
}

bool HasEntryWord(const std::vector<SqlToken>& tokens, SqlEntry& entry) {
  for (const SqlToken& token : tokens) {
    if (token.kind == SqlTokenKind::kComment) continue;
    switch (token.kind) {
      case SqlTokenKind::kStatement:
        entry = SqlEntry::kStatement;
        return true;
      case SqlTokenKind::kLogic:
        if (token.text.size() == 3 && (token.text[0] == 'N' || token.text[0] == 'n')) return false;  // NOT
        entry = SqlEntry::kClause;
        return true;
      case SqlTokenKind::kOperator:
        if (token.text == "-" || token.text == "+" || token.text == "!" || token.text == "~") return false;
        entry = SqlEntry::kClause;
        return true;
      case SqlTokenKind::kUnion:
      case SqlTokenKind::kSemicolon:
      case SqlTokenKind::kCloseParen:
        entry = SqlEntry::kClause;
        return true;
      case SqlTokenKind::kKeyword: {
        static constexpr std::string_view kClauseWords[] = {"ORDER", "GROUP", "HAVING", "LIMIT", "INTO", "PROCEDURE"};
        for (std::string_view word : kClauseWords) {
          if (token.text.size() == word.size() &&
              std::equal(word.begin(), word.end(), token.text.begin(),
                         [](char w, char c) { return w == (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c); })) {
            entry = SqlEntry::kClause;
            return true;
          }
        }
        return false;
      }
      default:
        return false;
    }
  }
  return false;
}

}  // namespace

SqliVerdict DetectSqli(std::string_view input) {
  SqliVerdict verdict;
  Reading best;
  SqlContext best_context = SqlContext::kAsIs;
  auto consider = [&](const Reading& reading, SqlContext context) {
    if (reading.score > best.score) {
      best = reading;
      best_context = context;
    }
  };

  const std::vector<SqlToken> as_is = LexSql(input, SqlContext::kAsIs);
  consider(Judge(ParseSqlFragment(as_is, SqlContext::kAsIs, SqlEntry::kOperand), SqlEntry::kOperand,
                 SqlContext::kAsIs, input, {}, {}),
           SqlContext::kAsIs);
  SqlEntry other_entry = SqlEntry::kOperand;
  if (HasEntryWord(as_is, other_entry)) {
    consider(
        Judge(ParseSqlFragment(as_is, SqlContext::kAsIs, other_entry), other_entry, SqlContext::kAsIs, input, {}, {}),
        SqlContext::kAsIs);
  }
  for (SqlContext context : {SqlContext::kSingleQuote, SqlContext::kDoubleQuote}) {
    const char quote = context == SqlContext::kSingleQuote ? '\'' : '"';
    if (input.find(quote) == std::string_view::npos) continue;
    const std::vector<SqlToken> tokens = LexSql(input, context);
    const std::string_view context_text = tokens.empty() ? std::string_view() : tokens.front().text;
    const bool reopens = tokens.size() > 1 && tokens.back().kind == SqlTokenKind::kString && !tokens.back().closed;
    const std::string_view reopened_text = reopens ? tokens.back().text : std::string_view();
    consider(Judge(ParseSqlFragment(tokens, context, SqlEntry::kAfterValue), SqlEntry::kAfterValue, context, input,
                   context_text, reopened_text),
             context);
  }

  verdict.score = best.score;
  verdict.reason = best.reason;
  verdict.context = best_context;
  if (best.score > 0) verdict.signature = "sqli fingerprint " + best.fingerprint;
  return verdict;
}

double SqliScore(std::string_view input) { return DetectSqli(input).score; }

}  // namespace rampart::attacks
