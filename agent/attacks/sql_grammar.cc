#include "agent/attacks/sql_grammar.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace rampart::attacks {
namespace {

constexpr int kMaxNesting = 64;
constexpr size_t kMaxFingerprint = 16;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

bool IsWordKind(SqlTokenKind kind) {
  switch (kind) {
    case SqlTokenKind::kBareword:
    case SqlTokenKind::kFunction:
    case SqlTokenKind::kKeyword:
    case SqlTokenKind::kStatement:
    case SqlTokenKind::kUnion:
    case SqlTokenKind::kLogic:
    case SqlTokenKind::kOperator:
    case SqlTokenKind::kValue:
    case SqlTokenKind::kType:
      return true;
    default:
      return false;
  }
}

bool ParseNumber(std::string_view text, double& value) {
  if (text.empty() || text.size() > 30) return false;
  const std::string copy(text);
  char* end = nullptr;
  value = std::strtod(copy.c_str(), &end);
  return end != nullptr && *end == '\0';
}

struct Operand {
  enum Kind : uint8_t { kNumber, kString, kValue, kVariable, kName, kCall, kSubquery, kGroup };
  Kind kind = kGroup;
  std::string_view text;
  SqlCondition inner = SqlCondition::kNone;  // kGroup: the strongest condition inside the parentheses
};

SqlCondition ClassOf(const Operand& operand) {
  switch (operand.kind) {
    case Operand::kString:
      return SqlCondition::kText;
    case Operand::kNumber:
    case Operand::kValue:
    case Operand::kVariable:
      return SqlCondition::kLiteral;
    case Operand::kName:
      return SqlCondition::kBareword;
    case Operand::kCall:
    case Operand::kSubquery:
      return SqlCondition::kCall;
    case Operand::kGroup:
      return operand.inner;
  }
  return SqlCondition::kNone;
}

enum class BinaryKind : uint8_t { kComparison, kArithmetic, kIs, kIn, kBetween, kCollate, kCast, kEscape };

bool TakesNoArguments(std::string_view function) {
  static constexpr std::string_view kNames[] = {"VERSION",      "DATABASE",       "SCHEMA",      "USER",
                                                 "CURRENT_USER", "SESSION_USER",   "SYSTEM_USER", "CONNECTION_ID",
                                                 "SQLITE_VERSION", "CURRENT_DATABASE", "CURRENT_SCHEMA"};
  for (std::string_view name : kNames) {
    if (EqualsIgnoreCase(function, name)) return true;
  }
  return false;
}

struct SelectShape {
  bool from = false;
  bool where = false;
  bool rich_list = false;
};

class Parser {
 public:
  Parser(const std::vector<SqlToken>& all, SqlContext context, SqlFeatures& features)
      : context_(context), f_(features) {
    for (const SqlToken& token : all) {
      if (token.kind != SqlTokenKind::kComment) tokens_.push_back(&token);
    }
    f_.tokens = tokens_.size();
    f_.ends_in_comment = !all.empty() && all.back().kind == SqlTokenKind::kComment;
    for (const SqlToken* token : tokens_) {
      if (f_.fingerprint.size() >= kMaxFingerprint) break;
      f_.fingerprint.push_back(static_cast<char>(token->kind));
    }
    if (f_.ends_in_comment && f_.fingerprint.size() < kMaxFingerprint) f_.fingerprint.push_back('c');
  }

  void Run(SqlEntry entry) {
    bool ok = false;
    switch (entry) {
      case SqlEntry::kAfterValue: {
        if (tokens_.empty() || tokens_[0]->kind != SqlTokenKind::kString || !tokens_[0]->from_context ||
            !tokens_[0]->closed) {
          return;
        }
        pos_ = 1;
        Operand value{Operand::kString, tokens_[0]->text};
        SqlCondition condition = SqlCondition::kNone;
        ok = ParseExprRest(value, /*after_value=*/true, condition) && ParseTail();
        break;
      }
      case SqlEntry::kOperand: {
        Operand first;
        SqlCondition condition = SqlCondition::kNone;
        ok = ParseOperand(first);
        f_.starts_with_name = ok && first.kind == Operand::kName;
        ok = ok && ParseExprRest(first, /*after_value=*/false, condition) && ParseTail();
        break;
      }
      case SqlEntry::kClause: {
        // The application's value comes first: `= 1 union ...`, `or 1=1`.
        Operand prior{Operand::kGroup, {}};
        SqlCondition condition = SqlCondition::kNone;
        ok = ParseExprRest(prior, /*after_value=*/false, condition) && ParseTail();
        break;
      }
      case SqlEntry::kStatement: {
        SqlStacked kind = SqlStacked::kNone;
        capture_select_ = true;
        ok = ParseStatement(kind);
        if (kind != SqlStacked::kNone) f_.first_statement = kind;
        ok = ok && ParseTail();
        break;
      }
    }
    f_.parsed_tokens = pos_;
    f_.complete = ok && AtEnd();
    f_.valid_prefix = !ok && AtEnd() && pos_ > 0;
  }

 private:
  // --- Token access ---
  bool AtEnd() const { return pos_ >= tokens_.size(); }
  const SqlToken* Peek(size_t ahead = 0) const {
    return pos_ + ahead < tokens_.size() ? tokens_[pos_ + ahead] : nullptr;
  }
  bool Is(SqlTokenKind kind, size_t ahead = 0) const {
    const SqlToken* t = Peek(ahead);
    return t != nullptr && t->kind == kind;
  }
  bool IsSymbol(std::string_view symbol, size_t ahead = 0) const {
    const SqlToken* t = Peek(ahead);
    return t != nullptr && t->kind == SqlTokenKind::kOperator && t->text == symbol;
  }
  bool IsWord(std::string_view upper, size_t ahead = 0) const {
    const SqlToken* t = Peek(ahead);
    return t != nullptr && IsWordKind(t->kind) && EqualsIgnoreCase(t->text, upper);
  }
  void Next() { ++pos_; }
  bool Accept(SqlTokenKind kind) {
    if (!Is(kind)) return false;
    Next();
    return true;
  }
  bool AcceptWord(std::string_view upper) {
    if (!IsWord(upper)) return false;
    Next();
    return true;
  }
  // A closing parenthesis, or the end of input where the application's
  // own text may close it.
  bool CloseParen() {
    if (AtEnd()) return true;
    return Accept(SqlTokenKind::kCloseParen);
  }
  bool IsName(size_t ahead = 0) const {
    const SqlToken* t = Peek(ahead);
    return t != nullptr && (t->kind == SqlTokenKind::kBareword || t->kind == SqlTokenKind::kType) && t->closed;
  }

  void RecordRisk(SqlRisk risk) {
    if (static_cast<int>(risk) > static_cast<int>(f_.risk)) f_.risk = risk;
  }
  char ContextQuote() const {
    return context_ == SqlContext::kSingleQuote ? '\'' : context_ == SqlContext::kDoubleQuote ? '"' : 0;
  }

  struct NestingGuard {
    explicit NestingGuard(int& n) : n_(n) { ++n_; }
    ~NestingGuard() { --n_; }
    bool ok() const { return n_ <= kMaxNesting; }
    int& n_;
  };

  // --- Expressions ---

  bool ParseOperand(Operand& out) {
    NestingGuard guard(nesting_);
    if (!guard.ok()) return false;
    const SqlToken* t = Peek();
    if (t == nullptr) return false;
    if (t->kind == SqlTokenKind::kOperator &&
        (t->text == "-" || t->text == "+" || t->text == "~" || t->text == "!")) {
      Next();
      return ParseOperand(out);
    }
    if (IsWord("NOT") || IsWord("BINARY")) {
      Next();
      return ParseOperand(out);
    }
    if ((IsWord("EXISTS") || IsWord("ANY") || IsWord("SOME") || IsWord("ALL")) && Is(SqlTokenKind::kOpenParen, 1)) {
      Next();
      return ParseOperand(out);
    }
    if (IsWord("INTERVAL")) {
      Next();
      if (!ParseOperand(out)) return false;
      if (IsName() || Is(SqlTokenKind::kKeyword)) Next();  // the unit: DAY, SECOND, ...
      return true;
    }
    if (!ParsePrimary(out)) return false;
    // Oracle object methods: XMLAGG(...).EXTRACT('//text()')
    while (Is(SqlTokenKind::kOther) && Peek()->text == "." && (Is(SqlTokenKind::kFunction, 1) || IsName(1))) {
      Next();
      if (Is(SqlTokenKind::kFunction)) {
        if (!ParseCall(out)) return false;
      } else {
        Next();
      }
    }
    return true;
  }

  bool ParsePrimary(Operand& out) {
    const SqlToken* t = Peek();
    if (t->kind == SqlTokenKind::kOther && t->text == "{") {
      // ODBC escapes: {d '2001-01-01'}, {fn version()}
      Next();
      if (!IsName()) return false;
      Next();
      if (!ParseOperand(out)) return false;
      if (AtEnd()) return true;
      if (!Is(SqlTokenKind::kOther) || Peek()->text != "}") return false;
      Next();
      return true;
    }
    // SQLite's like(x, y) and glob(x, y) are operators written as calls.
    if (t->kind == SqlTokenKind::kOperator && t->word.word_class == SqlWordClass::kOperator &&
        Is(SqlTokenKind::kOpenParen, 1)) {
      return ParseCall(out);
    }
    if (IsWord("MATCH") && (Is(SqlTokenKind::kOpenParen, 1) || IsName(1))) {
      // MySQL full-text search: MATCH (a, b) AGAINST ('x' IN BOOLEAN MODE)
      Next();
      Operand columns;
      if (Is(SqlTokenKind::kOpenParen) ? !ParseGroup(columns) : !ParseOperand(columns)) return false;
      if (!AcceptWord("AGAINST") || !Is(SqlTokenKind::kOpenParen)) return false;
      if (!ParseGroup(out)) return false;
      out = {Operand::kCall, {}};
      return true;
    }
    switch (t->kind) {
      case SqlTokenKind::kNumber:
        Next();
        out = {Operand::kNumber, t->text};
        return true;
      case SqlTokenKind::kString:
        if (!t->closed) {
          // Only the application's closing quote can end it.
          if (context_ == SqlContext::kAsIs || t->quote != ContextQuote() || pos_ + 1 != tokens_.size()) return false;
          f_.ends_in_open_string = true;
        }
        Next();
        out = {Operand::kString, t->text};
        return true;
      case SqlTokenKind::kValue:
        Next();
        RecordRisk(t->word.risk);
        out = {Operand::kValue, t->text};
        return true;
      case SqlTokenKind::kVariable:
        Next();
        if (t->text.starts_with("@@")) RecordRisk(SqlRisk::kMetadata);
        out = {Operand::kVariable, t->text};
        return true;
      case SqlTokenKind::kBareword:
      case SqlTokenKind::kType:
        if (!t->closed) return false;
        Next();
        if (t->word.catalog) RecordRisk(SqlRisk::kMetadata);
        out = {Operand::kName, t->text};
        return true;
      case SqlTokenKind::kFunction:
        return ParseCall(out);
      case SqlTokenKind::kOpenParen:
        return ParseGroup(out);
      case SqlTokenKind::kKeyword:
        if (IsWord("CASE")) return ParseCase(out);
        return false;
      default:
        return false;
    }
  }

  bool ParseGroup(Operand& out) {
    Next();  // (
    out = {Operand::kGroup, {}};
    if (AtEnd()) return true;
    if (IsWord("SELECT") || IsWord("WITH")) {
      SelectShape shape;
      if (!ParseSelect(shape)) return false;
      if (!CloseParen()) return false;
      f_.subquery = true;
      ++subqueries_;
      out.kind = Operand::kSubquery;
      return true;
    }
    if (Is(SqlTokenKind::kCloseParen)) {  // () as in VALUES ()
      Next();
      return true;
    }
    SqlCondition inner = SqlCondition::kNone;
    if (!ParseExpr(inner)) return false;
    while (Accept(SqlTokenKind::kComma)) {
      SqlCondition more = SqlCondition::kNone;
      if (!ParseExpr(more)) return false;
      inner = std::max(inner, more);
    }
    // A parenthesised subquery followed by set operators: ((select 1) union (select 2))
    if (!ParseClauses()) return false;
    if (!CloseParen()) return false;
    out.inner = inner;
    return true;
  }

  bool ParseCall(Operand& out) {
    const SqlToken* name = Peek();
    Next();
    if (!Accept(SqlTokenKind::kOpenParen)) return false;
    const int extraction_before = extraction_calls_;
    const bool no_arguments = Is(SqlTokenKind::kCloseParen);
    const int comparisons_before = comparisons_;
    if (!ParseCallArguments()) return false;
    if (!CloseParen()) return false;
    if (comparisons_ > comparisons_before &&
        (EqualsIgnoreCase(name->text, "IF") || EqualsIgnoreCase(name->text, "IIF"))) {
      f_.conditional_test = true;
    }
    ++f_.calls;
    SqlRisk risk = name->word.risk;
    // USER(login_name) is some application's function, not MySQL's USER().
    if (risk == SqlRisk::kMetadata && !no_arguments && TakesNoArguments(name->text)) risk = SqlRisk::kNone;
    RecordRisk(risk);
    if (risk != SqlRisk::kNone) {
      if (extraction_calls_ > extraction_before) f_.nested_extraction = true;
      ++extraction_calls_;
    }
    out = {Operand::kCall, name->text};
    return true;
  }

  bool ParseCallArguments() {
    if (Is(SqlTokenKind::kCloseParen) || AtEnd()) return true;
    for (;;) {
      if (IsSymbol("*")) {
        Next();
      } else {
        while (AcceptWord("DISTINCT") || AcceptWord("ALL")) {
        }
        if (IsWord("SELECT")) {
          SelectShape shape;
          if (!ParseSelect(shape)) return false;
          f_.subquery = true;
        } else if (Is(SqlTokenKind::kType) ||
                   (IsWord("BINARY") && (Is(SqlTokenKind::kCloseParen, 1) || Is(SqlTokenKind::kComma, 1)))) {
          Next();  // a type: CAST(x AS CHAR), CONVERT(x, BINARY)
          if (Accept(SqlTokenKind::kOpenParen)) {
            if (!ParseCallArguments() || !CloseParen()) return false;
          }
        } else {
          SqlCondition condition = SqlCondition::kNone;
          if (!ParseExpr(condition)) return false;
        }
      }
      // CAST(x AS t), CONVERT(x USING utf8), SUBSTRING(x FROM 1 FOR 1),
      // GROUP_CONCAT(x ORDER BY y SEPARATOR ',')
      if (AcceptWord("AS") || AcceptWord("FROM") || AcceptWord("FOR") || AcceptWord("USING") ||
          AcceptWord("SEPARATOR") || AcceptWord("IN")) {
        continue;
      }
      if (IsWord("ORDER") && IsWord("BY", 1)) {
        pos_ += 2;
        continue;
      }
      if (AcceptWord("ASC") || AcceptWord("DESC")) {
        if (Accept(SqlTokenKind::kComma)) continue;
        if (AcceptWord("SEPARATOR")) continue;
        return true;
      }
      if (Accept(SqlTokenKind::kComma)) continue;
      return true;
    }
  }

  bool ParseCase(Operand& out) {
    Next();  // CASE
    const int comparisons_before = comparisons_;
    SqlCondition ignored = SqlCondition::kNone;
    if (!IsWord("WHEN") && !ParseExpr(ignored)) return false;
    bool any_when = false;
    while (AcceptWord("WHEN")) {
      any_when = true;
      if (!ParseExpr(ignored) || !AcceptWord("THEN") || !ParseExpr(ignored)) return false;
    }
    if (!any_when) return false;
    if (AcceptWord("ELSE") && !ParseExpr(ignored)) return false;
    if (!AtEnd() && !AcceptWord("END")) return false;
    if (comparisons_ > comparisons_before) f_.conditional_test = true;
    f_.case_expression = true;
    out = {Operand::kCall, {}};
    return true;
  }

  bool PeekBinary(BinaryKind& kind, size_t& width) const {
    const SqlToken* t = Peek();
    if (t == nullptr) return false;
    width = 1;
    if (t->kind == SqlTokenKind::kFunction && t->word.word_class == SqlWordClass::kOperator) {  // a MOD (2)
      kind = BinaryKind::kArithmetic;
      return true;
    }
    if (t->kind == SqlTokenKind::kOperator) {
      const std::string_view s = t->text;
      if (s == "=" || s == "<>" || s == "!=" || s == "<" || s == ">" || s == "<=" || s == ">=" || s == "<=>" ||
          s == "!<" || s == "!>" || s == "==") {
        kind = BinaryKind::kComparison;
        return true;
      }
      if (s == "+" || s == "-" || s == "*" || s == "/" || s == "%" || s == "&" || s == "|" || s == "^" ||
          s == "<<" || s == ">>" || s == "->" || s == "->>" || s == ":=") {
        kind = BinaryKind::kArithmetic;
        return true;
      }
      if (s == "::") {
        kind = BinaryKind::kCast;
        return true;
      }
      if (IsWord("LIKE") || IsWord("RLIKE") || IsWord("REGEXP") || IsWord("ILIKE") || IsWord("GLOB")) {
        kind = BinaryKind::kComparison;
        return true;
      }
      if (IsWord("SOUNDS") && IsWord("LIKE", 1)) {
        kind = BinaryKind::kComparison;
        width = 2;
        return true;
      }
      if (IsWord("DIV") || IsWord("MOD")) {
        kind = BinaryKind::kArithmetic;
        return true;
      }
      if (IsWord("IS")) {
        kind = BinaryKind::kIs;
        return true;
      }
      if (IsWord("IN")) {
        kind = BinaryKind::kIn;
        return true;
      }
      if (IsWord("BETWEEN")) {
        kind = BinaryKind::kBetween;
        return true;
      }
      if (IsWord("COLLATE")) {
        kind = BinaryKind::kCollate;
        return true;
      }
      return false;
    }
    if (IsWord("NOT")) {
      if (IsWord("LIKE", 1) || IsWord("RLIKE", 1) || IsWord("REGEXP", 1) || IsWord("ILIKE", 1)) {
        kind = BinaryKind::kComparison;
        width = 2;
        return true;
      }
      if (IsWord("IN", 1)) {
        kind = BinaryKind::kIn;
        width = 2;
        return true;
      }
      if (IsWord("BETWEEN", 1)) {
        kind = BinaryKind::kBetween;
        width = 2;
        return true;
      }
    }
    if (IsWord("ESCAPE")) {
      kind = BinaryKind::kEscape;
      return true;
    }
    return false;
  }

  // Whether `lhs op rhs` holds for literals; false when it cannot be told.
  static bool Holds(const Operand& lhs, std::string_view op, const Operand& rhs) {
    const bool lhs_literal = lhs.kind == Operand::kNumber || lhs.kind == Operand::kString || lhs.kind == Operand::kValue;
    const bool rhs_literal = rhs.kind == Operand::kNumber || rhs.kind == Operand::kString || rhs.kind == Operand::kValue;
    const bool same_names = lhs.kind == Operand::kName && rhs.kind == Operand::kName;
    if (!(lhs_literal && rhs_literal) && !same_names) return false;
    double a = 0;
    double b = 0;
    const bool numeric = ParseNumber(lhs.text, a) && ParseNumber(rhs.text, b);
    const bool equal = numeric ? a == b : EqualsIgnoreCase(lhs.text, rhs.text);
    if (op == "=" || op == "==" || op == "<=>" || EqualsIgnoreCase(op, "LIKE") || EqualsIgnoreCase(op, "GLOB") ||
        EqualsIgnoreCase(op, "SOUNDS")) {
      return equal;
    }
    if (op == "<>" || op == "!=") return !equal;
    if (!numeric) return false;
    if (op == "<") return a < b;
    if (op == ">") return a > b;
    if (op == "<=" || op == "!>") return a <= b;
    if (op == ">=" || op == "!<") return a >= b;
    return false;
  }

  // After `first`: binary operators that stay within one condition.
  bool ParseConditionRest(const Operand& first, bool after_value, SqlCondition& condition) {
    condition = ClassOf(first);
    Operand previous = first;
    int operators = 0;
    bool comparison = false;
    bool tautology = false;
    bool names = first.kind == Operand::kName || (first.kind == Operand::kGroup && first.inner == SqlCondition::kBareword);
    BinaryKind kind;
    size_t width = 0;
    while (PeekBinary(kind, width)) {
      const std::string_view op = Peek()->text;
      pos_ += width;
      Operand rhs;
      switch (kind) {
        case BinaryKind::kComparison:
          if (!ParseOperand(rhs)) return false;
          if (!comparison && operators == 0) tautology = Holds(previous, op, rhs);
          comparison = true;
          break;
        case BinaryKind::kArithmetic:
        case BinaryKind::kEscape:
          if (!ParseOperand(rhs)) return false;
          condition = std::max(condition, ClassOf(rhs));
          break;
        case BinaryKind::kIs:
          AcceptWord("NOT");
          if (AcceptWord("DISTINCT") && !AcceptWord("FROM")) return false;
          if (!ParseOperand(rhs)) return false;
          comparison = true;
          break;
        case BinaryKind::kIn:
          // MATCH (...) AGAINST ('x' IN BOOLEAN MODE)
          if ((IsWord("BOOLEAN") && IsWord("MODE", 1)) || (IsWord("NATURAL") && IsWord("LANGUAGE", 1))) {
            while (!AtEnd() && !IsWord("MODE")) Next();
            Next();
            comparison = true;
            break;
          }
          if (!ParseOperand(rhs)) return false;
          comparison = true;
          condition = std::max(condition, ClassOf(rhs));
          break;
        case BinaryKind::kBetween: {
          Operand low;
          if (!ParseArithmetic(low) || !AcceptWord("AND") || !ParseArithmetic(rhs)) return false;
          comparison = true;
          break;
        }
        case BinaryKind::kCollate:
        case BinaryKind::kCast:
          if (!IsName() && !Is(SqlTokenKind::kString)) return false;
          Next();
          rhs = previous;
          break;
      }
      if (after_value && operators == 0) f_.operator_after_value = true;
      ++operators;
      names = names || rhs.kind == Operand::kName;
      previous = rhs;
    }
    if (comparison) {
      ++comparisons_;
      const SqlCondition compared = tautology && operators == 1 ? SqlCondition::kTautology
                                    : names                     ? SqlCondition::kComparison
                                                                : SqlCondition::kConstant;
      condition = std::max(condition, compared);
      if (after_value && operators == 1) f_.value_comparison = compared;
    }
    return true;
  }

  // An operand and the arithmetic after it: the bounds of BETWEEN.
  bool ParseArithmetic(Operand& out) {
    if (!ParseOperand(out)) return false;
    BinaryKind kind;
    size_t width = 0;
    while (PeekBinary(kind, width) && kind == BinaryKind::kArithmetic) {
      pos_ += width;
      Operand rhs;
      if (!ParseOperand(rhs)) return false;
    }
    return true;
  }

  bool IsLogicOperator() const {
    const SqlToken* t = Peek();
    if (t == nullptr || t->kind != SqlTokenKind::kLogic) return false;
    return !EqualsIgnoreCase(t->text, "NOT");
  }

  // Conditions joined by AND / OR / XOR / && / ||, after `first`.
  bool ParseExprRest(const Operand& first, bool after_value, SqlCondition& strongest) {
    if (!ParseConditionRest(first, after_value, strongest)) return false;
    // In `1=1 and x`, the condition before the operator is the input's too.
    if (IsLogicOperator() && !after_value) f_.best_condition = std::max(f_.best_condition, strongest);
    while (IsLogicOperator()) {
      Next();
      Operand operand;
      SqlCondition condition = SqlCondition::kNone;
      if (!ParseOperand(operand) || !ParseConditionRest(operand, false, condition)) return false;
      ++f_.logic_operators;
      f_.best_condition = std::max(f_.best_condition, condition);
      strongest = std::max(strongest, condition);
    }
    return true;
  }

  bool ParseExpr(SqlCondition& strongest) {
    NestingGuard guard(nesting_);
    if (!guard.ok()) return false;
    Operand first;
    return ParseOperand(first) && ParseExprRest(first, false, strongest);
  }

  // --- SELECT and its clauses ---

  bool ParseAlias() {
    if (AcceptWord("AS")) {
      if (!IsName() && !(Is(SqlTokenKind::kString) && Peek()->closed)) return false;
      Next();
      return true;
    }
    if ((IsName() && Peek()->kind == SqlTokenKind::kBareword) || (Is(SqlTokenKind::kString) && Peek()->closed)) Next();
    return true;
  }

  bool ParseSelect(SelectShape& shape, bool after_union = false) {
    NestingGuard guard(nesting_);
    if (!guard.ok()) return false;
    if (AcceptWord("WITH")) return false;  // CTEs: not worth the grammar here
    Next();                                 // SELECT
    // The statement entry records the outermost SELECT as it goes, so a
    // query cut short ("select 1 from foo where") still shows its shape.
    const bool capture = capture_select_;
    capture_select_ = false;
    if (capture) f_.first_statement = SqlStacked::kRead;
    for (;;) {
      if (AcceptWord("ALL") || AcceptWord("DISTINCT") || AcceptWord("DISTINCTROW")) continue;
      if (Is(SqlTokenKind::kBareword) && Peek()->text.size() > 4 && EqualsIgnoreCase(Peek()->text.substr(0, 4), "SQL_")) {
        Next();
        continue;
      }
      if (AcceptWord("TOP")) {
        Operand count;
        if (!ParseOperand(count)) return false;
        AcceptWord("PERCENT");
        continue;
      }
      break;
    }
    int items = 0;
    for (;;) {
      if (IsSymbol("*")) {
        Next();
        shape.rich_list = true;
      } else {
        Operand first;
        SqlCondition condition = SqlCondition::kNone;
        const bool open_before = f_.ends_in_open_string;
        if (!ParseOperand(first) || !ParseExprRest(first, false, condition)) return false;
        // The string the input leaves open reads nothing: `"select all" and left`.
        const bool reopened = !open_before && f_.ends_in_open_string && first.kind == Operand::kString;
        if (first.kind != Operand::kName && !reopened) shape.rich_list = true;
        if (!ParseAlias()) return false;
      }
      ++items;
      if (!Accept(SqlTokenKind::kComma)) break;
    }
    if (items > 1) shape.rich_list = true;
    if (capture) f_.statement_rich_list = shape.rich_list;
    // Recorded now: a UNION SELECT that reads data stays evidence even if
    // the text after it does not parse.
    if (after_union && shape.rich_list) f_.union_select = true;
    if (AcceptWord("INTO")) {  // SELECT ... INTO OUTFILE before FROM (MySQL allows both orders)
      if (!ParseIntoTarget()) return false;
    }
    if (AcceptWord("FROM")) {
      shape.from = true;
      if (capture) f_.statement_from = true;
      if (!ParseTableReferences()) return false;
      if (after_union) f_.union_select = true;
    }
    if (AcceptWord("WHERE")) {
      shape.where = true;
      if (capture) f_.statement_where = true;
      SqlCondition condition = SqlCondition::kNone;
      if (!ParseExpr(condition)) return false;
    }
    return ParseClauses();
  }

  bool ParseTableReference() {
    if (Is(SqlTokenKind::kOpenParen)) {
      Operand group;
      if (!ParseGroup(group)) return false;
    } else if (Is(SqlTokenKind::kFunction)) {
      Operand call;
      if (!ParseCall(call)) return false;
    } else if (IsName()) {
      const SqlToken* t = Peek();
      if (t->word.catalog || t->word.risk == SqlRisk::kMetadata) RecordRisk(SqlRisk::kMetadata);
      Next();
    } else {
      return false;
    }
    if (!ParseAlias()) return false;
    if (IsWord("WITH") && Is(SqlTokenKind::kOpenParen, 1)) {  // table hints: WITH (NOLOCK)
      pos_ += 2;
      if (!SkipBalanced()) return false;
    }
    return true;
  }

  bool AcceptJoin() {
    const size_t start = pos_;
    while (AcceptWord("NATURAL") || AcceptWord("LEFT") || AcceptWord("RIGHT") || AcceptWord("FULL") ||
           AcceptWord("INNER") || AcceptWord("OUTER") || AcceptWord("CROSS")) {
    }
    if (AcceptWord("JOIN") || AcceptWord("STRAIGHT_JOIN")) return true;
    pos_ = start;
    return false;
  }

  bool ParseTableReferences() {
    if (!ParseTableReference()) return false;
    for (;;) {
      if (Accept(SqlTokenKind::kComma)) {
        if (!ParseTableReference()) return false;
        continue;
      }
      if (AcceptJoin()) {
        if (!ParseTableReference()) return false;
        if (AcceptWord("ON")) {
          SqlCondition condition = SqlCondition::kNone;
          if (!ParseExpr(condition)) return false;
        } else if (AcceptWord("USING")) {
          Operand group;
          if (!Is(SqlTokenKind::kOpenParen) || !ParseGroup(group)) return false;
        }
        continue;
      }
      return true;
    }
  }

  bool ParseExpressionList(bool* first_is_number) {
    for (bool first = true;; first = false) {
      if (first && first_is_number != nullptr) *first_is_number = Is(SqlTokenKind::kNumber);
      SqlCondition condition = SqlCondition::kNone;
      if (!ParseExpr(condition)) return false;
      if (!AcceptWord("ASC")) AcceptWord("DESC");
      if (!Accept(SqlTokenKind::kComma)) return true;
    }
  }

  bool ParseIntoTarget() {
    if (AcceptWord("OUTFILE") || AcceptWord("DUMPFILE")) {
      Operand path;
      if (!ParseOperand(path)) return false;
      f_.writes_file = true;
      // FIELDS TERMINATED BY '...' LINES STARTING BY '...'
      while (IsName() || Is(SqlTokenKind::kKeyword) || (Is(SqlTokenKind::kString) && Peek()->closed)) Next();
      return true;
    }
    do {
      if (!Is(SqlTokenKind::kVariable) && !IsName()) return false;
      Next();
    } while (Accept(SqlTokenKind::kComma));
    return true;
  }

  // Clauses that may follow a value or a SELECT: set operators, ORDER BY,
  // GROUP BY, HAVING, LIMIT, INTO, PROCEDURE, FOR.
  bool ParseClauses() {
    for (;;) {
      if ((IsWord("ORDER") || IsWord("GROUP")) && IsWord("BY", 1)) {
        pos_ += 2;
        bool number = false;
        const int calls_before = f_.calls;
        if (!ParseExpressionList(&number)) return false;
        if (number) f_.order_by_number = true;
        if (f_.calls > calls_before && nesting_ == 0 && !in_statements_) f_.injected_order_call = true;
        if (IsWord("WITH") && IsWord("ROLLUP", 1)) pos_ += 2;
      } else if (IsWord("HAVING") || IsWord("WHERE")) {
        const bool having = IsWord("HAVING");
        Next();
        SqlCondition condition = SqlCondition::kNone;
        if (!ParseExpr(condition)) return false;
        if (having && nesting_ == 0 && !in_statements_) f_.injected_having = true;
      } else if (AcceptWord("LIMIT")) {
        Operand count;
        if (!ParseOperand(count)) return false;
        if (Accept(SqlTokenKind::kComma) || AcceptWord("OFFSET")) {
          if (!ParseOperand(count)) return false;
        }
      } else if (AcceptWord("OFFSET")) {
        Operand count;
        if (!ParseOperand(count)) return false;
        if (!AcceptWord("ROWS")) AcceptWord("ROW");
      } else if (AcceptWord("INTO")) {
        if (!ParseIntoTarget()) return false;
      } else if (IsWord("PROCEDURE") && Is(SqlTokenKind::kFunction, 1)) {
        Next();
        Operand call;
        if (!ParseCall(call)) return false;
        f_.injected_procedure = true;
      } else if (AcceptWord("FOR")) {
        // FOR UPDATE, FOR XML PATH(''), FOR JSON AUTO
        if (!IsName() && !Is(SqlTokenKind::kStatement) && !Is(SqlTokenKind::kKeyword) &&
            !Is(SqlTokenKind::kFunction)) {
          return false;
        }
        while (IsName() || Is(SqlTokenKind::kStatement) || Is(SqlTokenKind::kFunction) || Is(SqlTokenKind::kComma)) {
          if (Is(SqlTokenKind::kFunction)) {
            Operand call;
            if (!ParseCall(call)) return false;
          } else {
            Next();
          }
        }
      } else if (IsWord("LOCK") && IsWord("IN", 1) && IsWord("SHARE", 2) && IsWord("MODE", 3)) {
        pos_ += 4;
      } else if (Is(SqlTokenKind::kUnion)) {
        if (!ParseUnion()) return false;
      } else {
        return true;
      }
    }
  }

  bool ParseUnion() {
    Next();  // UNION / INTERSECT / EXCEPT
    while (AcceptWord("ALL") || AcceptWord("DISTINCT")) {
    }
    if (Is(SqlTokenKind::kOpenParen)) {
      const int before = subqueries_;
      Operand group;
      if (!ParseGroup(group)) return false;
      if (subqueries_ == before) return false;
      f_.union_select = true;
      return true;
    }
    if (!IsWord("SELECT")) return false;
    f_.weak_union_select = true;
    SelectShape shape;
    return ParseSelect(shape, /*after_union=*/true);
  }

  // --- Statements ---

  // Skips tokens up to the ')' that closes an already opened '('.
  bool SkipBalanced() {
    int depth = 1;
    while (!AtEnd()) {
      if (Is(SqlTokenKind::kOpenParen)) ++depth;
      if (Is(SqlTokenKind::kCloseParen) && --depth == 0) {
        Next();
        return true;
      }
      if (Is(SqlTokenKind::kSemicolon)) return false;
      Next();
    }
    return true;
  }

  // The loosely checked rest of a statement: balanced tokens up to ';'.
  // Words that start the next statement of a T-SQL batch, where ';' is optional.
  bool AtBatchBoundary() const {
    return IsWord("END") || IsWord("BEGIN") || IsWord("DECLARE") || IsWord("GOTO") || IsWord("WAITFOR") ||
           IsWord("EXEC") || IsWord("EXECUTE") || IsWord("SHUTDOWN") || IsLabel();
  }
  bool IsLabel() const { return Is(SqlTokenKind::kBareword) && IsSymbol(":", 1); }

  bool SkipStatementBody() {
    while (!AtEnd() && !Is(SqlTokenKind::kSemicolon) && !AtBatchBoundary()) {
      if (Is(SqlTokenKind::kCloseParen)) return true;
      if (Accept(SqlTokenKind::kOpenParen)) {
        if (!SkipBalanced()) return false;
        continue;
      }
      const SqlToken* t = Peek();
      if (t->kind == SqlTokenKind::kString && !t->closed) {  // runs to the end of the input
        Next();
        return true;
      }
      if (t->kind == SqlTokenKind::kOther || (IsWordKind(t->kind) && !t->closed)) return false;
      Next();
    }
    return true;
  }

  bool ParseAssignments() {
    do {
      if (!Is(SqlTokenKind::kVariable) && !IsName()) return false;
      Next();
      if (!IsSymbol("=") && !IsSymbol(":=")) return false;
      Next();
      SqlCondition condition = SqlCondition::kNone;
      if (!ParseExpr(condition)) return false;
    } while (Accept(SqlTokenKind::kComma));
    return true;
  }

  bool ParseWhere() {
    if (!AcceptWord("WHERE")) return true;
    SqlCondition condition = SqlCondition::kNone;
    return ParseExpr(condition);
  }

  bool ParseStatement(SqlStacked& kind) {
    NestingGuard guard(nesting_);
    if (!guard.ok()) return false;
    if (IsLabel()) {  // T-SQL `label:`
      pos_ += 2;
      if (AtEnd()) {
        kind = SqlStacked::kExecute;
        return true;
      }
    }
    const SqlToken* t = Peek();
    if (t == nullptr) return false;
    if (IsWord("GOTO")) {
      Next();
      if (!IsName()) return false;
      Next();
      kind = SqlStacked::kExecute;
      return true;
    }
    if (t->kind == SqlTokenKind::kOpenParen) {
      Operand group;
      if (!ParseGroup(group) || group.kind != Operand::kSubquery) return false;
      kind = SqlStacked::kRead;
      return true;
    }
    if (!IsWordKind(t->kind)) return false;
    if (IsWord("SELECT")) {
      SelectShape shape;
      if (!ParseSelect(shape)) return false;
      kind = SqlStacked::kRead;
      return true;
    }
    if (IsWord("INSERT") || IsWord("REPLACE")) {
      Next();
      AcceptWord("INTO");
      if (!IsName()) return false;
      Next();
      if (Is(SqlTokenKind::kOpenParen)) {
        Next();
        if (!SkipBalanced()) return false;
      }
      if (AcceptWord("VALUES") || AcceptWord("VALUE")) {
        do {
          Operand row;
          if (!Is(SqlTokenKind::kOpenParen) || !ParseGroup(row)) return false;
        } while (Accept(SqlTokenKind::kComma));
      } else if (IsWord("SELECT")) {
        SelectShape shape;
        if (!ParseSelect(shape)) return false;
      } else if (!AcceptWord("SET") || !ParseAssignments()) {
        return false;
      }
      kind = SqlStacked::kWrite;
      return true;
    }
    if (IsWord("UPDATE")) {
      Next();
      if (!IsName()) return false;
      Next();
      if (!AcceptWord("SET") || !ParseAssignments() || !ParseWhere()) return false;
      kind = SqlStacked::kWrite;
      return true;
    }
    if (IsWord("DELETE")) {
      Next();
      AcceptWord("FROM");
      if (!IsName()) return false;
      Next();
      if (!ParseWhere()) return false;
      kind = SqlStacked::kWrite;
      return true;
    }
    if (IsWord("DROP") || IsWord("TRUNCATE") || IsWord("ALTER") || IsWord("CREATE") || IsWord("GRANT") ||
        IsWord("REVOKE") || IsWord("RENAME")) {
      Next();
      static constexpr std::string_view kObjects[] = {
          "TABLE", "DATABASE", "SCHEMA", "VIEW", "PROCEDURE", "FUNCTION", "USER", "INDEX", "TRIGGER", "LOGIN",
          "EVENT", "SEQUENCE", "TEMPORARY", "OR", "ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "EXEC",
          "PROC", "DEFINER", "UNIQUE", "ROLE", "SERVER", "ASSEMBLY"};
      bool object = false;
      for (std::string_view word : kObjects) object = object || IsWord(word);
      if (!object) return false;
      Next();
      if (!SkipStatementBody()) return false;
      kind = SqlStacked::kDestructive;
      return true;
    }
    if (IsWord("SHUTDOWN")) {
      Next();
      if (AcceptWord("WITH")) AcceptWord("NOWAIT");
      kind = SqlStacked::kDestructive;
      return true;
    }
    if (IsWord("EXEC") || IsWord("EXECUTE")) {
      Next();
      if (IsWord("AS") && (IsWord("LOGIN", 1) || IsWord("USER", 1))) {  // impersonation
        pos_ += 2;
        if (!SkipStatementBody()) return false;
        kind = SqlStacked::kExecute;
        return true;
      }
      if (Is(SqlTokenKind::kOpenParen)) {
        Operand group;
        if (!ParseGroup(group)) return false;
      } else {
        if (Is(SqlTokenKind::kVariable) && IsSymbol("=", 1)) pos_ += 2;
        const SqlToken* procedure = Peek();
        if (procedure == nullptr) return false;
        if (procedure->kind == SqlTokenKind::kVariable) {
          Next();
        } else if ((procedure->kind == SqlTokenKind::kBareword || procedure->kind == SqlTokenKind::kFunction) &&
                   procedure->closed) {
          RecordRisk(procedure->word.risk);
          Next();
        } else {
          return false;
        }
        if (!SkipStatementBody()) return false;
        if (!IsSystemProcedure(procedure)) {
          kind = SqlStacked::kWeak;  // "exec will ..." is English too
          return true;
        }
      }
      kind = SqlStacked::kExecute;
      return true;
    }
    if (IsWord("DECLARE")) {
      Next();
      // DECLARE @v type, or a T-SQL cursor: DECLARE c CURSOR FOR SELECT ...
      if (!Is(SqlTokenKind::kVariable) && !(IsName() && IsWord("CURSOR", 1))) return false;
      if (!SkipStatementBody()) return false;
      kind = SqlStacked::kExecute;
      return true;
    }
    if (IsWord("SET")) {
      Next();
      if (!ParseAssignments()) return false;
      kind = SqlStacked::kExecute;
      return true;
    }
    if (IsWord("WAITFOR")) {
      Next();
      if (!AcceptWord("DELAY") && !AcceptWord("TIME")) return false;
      Operand when;
      if (!ParseOperand(when)) return false;
      f_.time_statement = true;
      kind = SqlStacked::kExecute;
      return true;
    }
    if (IsWord("IF") || IsWord("WHILE")) {
      Next();
      SqlCondition condition = SqlCondition::kNone;
      if (!ParseExpr(condition)) return false;
      SqlStacked body = SqlStacked::kNone;
      if (!ParseStatement(body)) return false;
      if (AcceptWord("ELSE") && !ParseStatement(body)) return false;
      kind = std::max(body, SqlStacked::kExecute);
      return true;
    }
    if (IsWord("BEGIN")) {
      Next();
      const bool block = AcceptWord("TRY") || AcceptWord("CATCH");
      if (!block && !AcceptWord("TRAN")) AcceptWord("TRANSACTION");
      SqlStacked strongest = SqlStacked::kExecute;
      while (!AtEnd() && !IsWord("END")) {
        if (Accept(SqlTokenKind::kSemicolon)) continue;
        SqlStacked inner = SqlStacked::kNone;
        if (!ParseStatement(inner)) return false;
        strongest = std::max(strongest, inner);
      }
      if (AcceptWord("END") && block && !AcceptWord("TRY")) AcceptWord("CATCH");
      kind = strongest;
      return true;
    }
    if (IsWord("LOAD") && (IsWord("DATA", 1) || IsWord("XML", 1))) {  // reads a file on the server
      Next();
      if (!SkipStatementBody()) return false;
      kind = SqlStacked::kExecute;
      return true;
    }
    if (t->kind == SqlTokenKind::kStatement) {
      // Statement words that are also everyday English: checked loosely,
      // weighed lightly.
      Next();
      if (!SkipStatementBody()) return false;
      kind = SqlStacked::kWeak;
      return true;
    }
    return false;
  }

  // T-SQL runs statements written one after another without ';'. Only the
  // unambiguous ones count, until one has been seen.
  bool StartsBatchStatement() const {
    if (in_statements_) return IsLabel() || Is(SqlTokenKind::kStatement) || IsWord("GOTO");
    if (IsWord("WAITFOR") || IsWord("BEGIN") || IsWord("GOTO") || IsWord("DROP") || IsWord("SELECT") ||
        IsWord("UPDATE") || (IsWord("INSERT") && IsWord("INTO", 1))) {
      return true;
    }
    if (IsWord("DECLARE")) return Is(SqlTokenKind::kVariable, 1);
    if (IsWord("IF")) return IsWord("EXISTS", 1) || IsWord("NOT", 1) || Is(SqlTokenKind::kOpenParen, 1);
    if (IsWord("SHUTDOWN")) return context_ != SqlContext::kAsIs;
    if (IsWord("EXEC") || IsWord("EXECUTE")) {
      const SqlToken* procedure = Peek(1);
      return procedure != nullptr && (procedure->kind == SqlTokenKind::kOpenParen || IsSystemProcedure(procedure));
    }
    return false;
  }

  // What EXEC runs in attacks: a system procedure, or a variable holding SQL.
  static bool IsSystemProcedure(const SqlToken* procedure) {
    if (procedure->kind == SqlTokenKind::kVariable || procedure->word.risk == SqlRisk::kSystem) return true;
    const std::string_view name = procedure->text;
    return name.size() > 3 && (EqualsIgnoreCase(name.substr(0, 3), "XP_") || EqualsIgnoreCase(name.substr(0, 3), "SP_") ||
                               name.find("..") != std::string_view::npos);
  }

  // After a value: closing parentheses, clauses, and stacked statements.
  bool ParseTail() {
    while (!AtEnd()) {
      const size_t start = pos_;
      if (Is(SqlTokenKind::kCloseParen)) {
        Next();
        ++f_.closers;
        Operand closed{Operand::kGroup, {}};
        SqlCondition condition = SqlCondition::kNone;
        if (!ParseExprRest(closed, false, condition)) return false;
        continue;
      }
      if (Accept(SqlTokenKind::kSemicolon)) {
        while (Accept(SqlTokenKind::kSemicolon)) {
        }
        if (AtEnd()) return true;
        SqlStacked kind = SqlStacked::kNone;
        if (!ParseStatement(kind)) return false;
        f_.stacked = std::max(f_.stacked, kind);
        in_statements_ = true;
        continue;
      }
      if (StartsBatchStatement()) {
        SqlStacked kind = SqlStacked::kNone;
        if (IsWord("SELECT") && !in_statements_) {
          // Without ';' only a SELECT that reads something: "please select one" is English.
          SelectShape shape;
          if (!ParseSelect(shape) || !shape.rich_list) return false;
          kind = SqlStacked::kRead;
        } else if (!ParseStatement(kind)) {
          return false;
        }
        f_.stacked = std::max(f_.stacked, kind);
        in_statements_ = true;
        continue;
      }
      if (Accept(SqlTokenKind::kComma)) {  // the value sat in a list: ORDER BY x, ... / VALUES (x, ...)
        SqlCondition condition = SqlCondition::kNone;
        if (!ParseExpr(condition)) return false;
        continue;
      }
      if (IsLogicOperator()) {  // after a clause: PROCEDURE ANALYSE(...) AND ('x'='x
        Operand clause{Operand::kGroup, {}};
        SqlCondition condition = SqlCondition::kNone;
        if (!ParseExprRest(clause, false, condition)) return false;
        continue;
      }
      if (IsWord("AS") && (IsName(1) || Is(SqlTokenKind::kString, 1))) {
        if (!ParseAlias()) return false;
        continue;
      }
      if (!ParseClauses()) return false;
      if (pos_ == start) return false;
    }
    return true;
  }

  SqlContext context_;
  SqlFeatures& f_;
  std::vector<const SqlToken*> tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int subqueries_ = 0;
  int extraction_calls_ = 0;
  int comparisons_ = 0;
  bool capture_select_ = false;
  bool in_statements_ = false;
};

}  // namespace

SqlFeatures ParseSqlFragment(const std::vector<SqlToken>& tokens, SqlContext context, SqlEntry entry) {
  SqlFeatures features;
  Parser parser(tokens, context, features);
  parser.Run(entry);
  return features;
}

}  // namespace rampart::attacks
