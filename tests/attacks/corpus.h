// Reading the evaluation corpora, shared by the corpus tests and attack_eval.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/http/message.h"

namespace rampart::attacks::testing {

// The lines of a corpus file, without '#' comment lines and empty lines.
std::vector<std::string> ReadCorpusLines(const std::string& path);

// A corpus line as the application would see it: URL-decoded once, with '+'
// as a space unless the line also holds raw spaces (then it was written
// unencoded, and its '+' is a plus).
std::string DecodeCorpusLine(std::string_view line);

// The requests of a CSIC 2010 file (gzip-compressed raw HTTP/1.1 text,
// requests separated by blank lines, bodies sized by Content-Length).
std::vector<http::Message> ReadCsicRequests(const std::string& gz_path);

// Query and form-body parameter values of `request`, URL-decoded once: what
// a WAF applying libinjection per parameter would look at.
std::vector<std::string> ParameterValues(const http::Message& request);

// The files in `dir` whose names start with `prefix` and end in ".txt", sorted.
std::vector<std::string> CorpusFiles(const std::string& dir, std::string_view prefix);

}  // namespace rampart::attacks::testing
