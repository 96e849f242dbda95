// SQL injection: lexes an input in the three contexts an injection can start
// in (as written, after a single quote, after a double quote), parses each
// token sequence with the permissive grammar of sql_grammar.h, and scores
// what the grammar found by how SQL-like and how dangerous it is: a UNION
// SELECT, a stacked DROP, a time delay or a tautology after a closed string
// score high; a lone boolean word between two numbers scores low; text that
// stops parsing (English with apostrophes) scores nothing.
#pragma once

#include <string_view>

#include "agent/attacks/sql_lexer.h"
#include "agent/attacks/verdict.h"

namespace rampart::attacks {

struct SqliVerdict : Verdict {
  SqlContext context = SqlContext::kAsIs;  // where the strongest reading starts
};

// Judges one decoded value. Costs a few passes over the input.
SqliVerdict DetectSqli(std::string_view input);

// DetectSqli(input).score.
double SqliScore(std::string_view input);

}  // namespace rampart::attacks
