// OS command injection: lexes an input as a shell would (shell_lexer.h) and
// looks at every command that starts after a separator (; | || & && newline)
// or inside a substitution (`...`, $(...)). A command word from the list of
// binaries attackers run (id, whoami, uname, cat, wget, curl, nc, bash,
// python, ping, sleep, ...) scores by how unambiguous the word is and how
// shell-like its arguments are: "; cat /etc/passwd" and "| whoami" score
// high, "salt; pepper" and "cats & dogs" nothing, "see; cat food" low.
#pragma once

#include <string_view>

#include "agent/attacks/verdict.h"

namespace rampart::attacks {

// Judges one decoded value. Linear in its size.
Verdict DetectCommandInjection(std::string_view input);

// DetectCommandInjection(input).score.
double CommandInjectionScore(std::string_view input);

}  // namespace rampart::attacks
