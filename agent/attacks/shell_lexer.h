// A small POSIX-shell lexer: splits an input into the commands a shell would
// run, the way `sh -c "ping <input>"` would see them. It undoes the
// obfuscations shells ignore (c'a't, c\at, c$@at, ${IFS}, {cat,/etc/passwd})
// and records that it had to.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rampart::attacks {

struct ShellCommand {
  // What started it: "" (the start of the input), ";", "\n", "|", "||",
  // "&", "&&", "`" or "$(" (command substitution).
  std::string separator;
  std::vector<std::string> words;  // quotes, escapes and empty expansions removed
  bool redirection = false;        // a '<' or '>' among its words
  bool obfuscated = false;         // quotes or expansions inside its command word, ${IFS}, brace lists
  size_t offset = 0;               // where it starts in the input
};

// Costs one pass over the input.
std::vector<ShellCommand> LexShell(std::string_view input);

}  // namespace rampart::attacks
