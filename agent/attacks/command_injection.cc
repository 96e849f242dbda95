#include "agent/attacks/command_injection.h"

#include <algorithm>
#include <string>

#include "agent/attacks/evidence.h"
#include "agent/attacks/shell_lexer.h"

namespace rampart::attacks {
namespace {

// How much a command word alone says: words nobody writes in prose, short
// tool names that appear in abbreviations, and everyday English.
enum class Ambiguity { kNone, kTool, kShort, kEnglish };

struct CommandWord {
  std::string_view name;
  Ambiguity ambiguity;
};

constexpr CommandWord kCommands[] = {
    {"whoami", Ambiguity::kTool},     {"uname", Ambiguity::kTool},       {"ifconfig", Ambiguity::kTool},
    {"ipconfig", Ambiguity::kTool},   {"netstat", Ambiguity::kTool},     {"wget", Ambiguity::kTool},
    {"curl", Ambiguity::kTool},       {"nc", Ambiguity::kTool},          {"ncat", Ambiguity::kTool},
    {"netcat", Ambiguity::kTool},     {"bash", Ambiguity::kTool},        {"sh", Ambiguity::kTool},
    {"zsh", Ambiguity::kTool},        {"ksh", Ambiguity::kTool},         {"csh", Ambiguity::kTool},
    {"tcsh", Ambiguity::kTool},       {"dash", Ambiguity::kTool},        {"python", Ambiguity::kTool},
    {"python2", Ambiguity::kTool},    {"python3", Ambiguity::kTool},     {"perl", Ambiguity::kTool},
    {"php", Ambiguity::kTool},        {"ruby", Ambiguity::kTool},        {"lua", Ambiguity::kTool},
    {"node", Ambiguity::kTool},       {"powershell", Ambiguity::kTool},  {"pwsh", Ambiguity::kTool},
    {"cmd", Ambiguity::kTool},        {"nslookup", Ambiguity::kTool},    {"dig", Ambiguity::kTool},
    {"telnet", Ambiguity::kTool},     {"ssh", Ambiguity::kTool},         {"scp", Ambiguity::kTool},
    {"tftp", Ambiguity::kTool},       {"ftp", Ambiguity::kTool},         {"chmod", Ambiguity::kTool},
    {"chown", Ambiguity::kTool},      {"useradd", Ambiguity::kTool},     {"usermod", Ambiguity::kTool},
    {"base64", Ambiguity::kTool},     {"xxd", Ambiguity::kTool},         {"busybox", Ambiguity::kTool},
    {"awk", Ambiguity::kTool},        {"gawk", Ambiguity::kTool},        {"sed", Ambiguity::kTool},
    {"grep", Ambiguity::kTool},       {"egrep", Ambiguity::kTool},       {"xargs", Ambiguity::kTool},
    {"mkfifo", Ambiguity::kTool},     {"mknod", Ambiguity::kTool},       {"socat", Ambiguity::kTool},
    {"systeminfo", Ambiguity::kTool}, {"tasklist", Ambiguity::kTool},    {"taskkill", Ambiguity::kTool},
    {"certutil", Ambiguity::kTool},   {"bitsadmin", Ambiguity::kTool},   {"wmic", Ambiguity::kTool},
    {"regsvr32", Ambiguity::kTool},   {"rundll32", Ambiguity::kTool},    {"mshta", Ambiguity::kTool},
    {"cscript", Ambiguity::kTool},    {"wscript", Ambiguity::kTool},     {"sudo", Ambiguity::kTool},
    {"crontab", Ambiguity::kTool},    {"nohup", Ambiguity::kTool},       {"printenv", Ambiguity::kTool},
    {"uptime", Ambiguity::kTool},     {"hostname", Ambiguity::kTool},    {"dmesg", Ambiguity::kTool},
    {"getent", Ambiguity::kTool},     {"pkill", Ambiguity::kTool},       {"killall", Ambiguity::kTool},
    {"chattr", Ambiguity::kTool},     {"ls", Ambiguity::kShort},         {"ps", Ambiguity::kShort},
    {"rm", Ambiguity::kShort},        {"cp", Ambiguity::kShort},         {"mv", Ambiguity::kShort},
    {"pwd", Ambiguity::kShort},       {"env", Ambiguity::kShort},        {"tar", Ambiguity::kShort},
    {"dd", Ambiguity::kShort},        {"nl", Ambiguity::kShort},         {"od", Ambiguity::kShort},
    {"cat", Ambiguity::kEnglish},     {"id", Ambiguity::kEnglish},       {"ping", Ambiguity::kEnglish},
    {"sleep", Ambiguity::kEnglish},   {"echo", Ambiguity::kEnglish},     {"kill", Ambiguity::kEnglish},
    {"time", Ambiguity::kEnglish},    {"type", Ambiguity::kEnglish},     {"dir", Ambiguity::kEnglish},
    {"more", Ambiguity::kEnglish},    {"less", Ambiguity::kEnglish},     {"head", Ambiguity::kEnglish},
    {"tail", Ambiguity::kEnglish},    {"sort", Ambiguity::kEnglish},     {"find", Ambiguity::kEnglish},
    {"which", Ambiguity::kEnglish},   {"who", Ambiguity::kEnglish},      {"net", Ambiguity::kEnglish},
    {"exec", Ambiguity::kEnglish},    {"eval", Ambiguity::kEnglish},     {"source", Ambiguity::kEnglish},
    {"export", Ambiguity::kEnglish},  {"date", Ambiguity::kEnglish},     {"ver", Ambiguity::kEnglish},
    {"shutdown", Ambiguity::kEnglish}, {"reboot", Ambiguity::kEnglish},
};

// Matches `pattern` with shell globs (? and *) against `text`, in
// O(pattern * text): a '*' backtracks only to the last star.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct Resolved {
  const CommandWord* word = nullptr;
  bool glob = false;
};

// The command a word names: its last path component, lower case, without
// ".exe"; globs (/bin/c?t, /???/??t) are tried against the list.
Resolved ResolveCommand(std::string_view raw) {
  std::string name(raw.substr(raw.find_last_of("/\\") == std::string_view::npos ? 0 : raw.find_last_of("/\\") + 1));
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (name.ends_with(".exe")) name.resize(name.size() - 4);
  if (name.empty() || name.size() > 24) return {};
  const bool glob = name.find_first_of("?*") != std::string::npos;
  for (const CommandWord& command : kCommands) {
    if (glob ? (command.ambiguity != Ambiguity::kEnglish || raw.find('/') != std::string_view::npos) &&
                   GlobMatch(name, command.name)
             : name == command.name) {
      return {&command, glob};
    }
  }
  return {};
}

bool IsNumber(std::string_view word) {
  return !word.empty() && word.find_first_not_of("0123456789.") == std::string_view::npos;
}

bool LooksLikeIp(std::string_view word) {
  int dots = 0;
  for (char c : word) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

// Arguments as shells see them, not as sentences have them. A bare number
// counts only for commands that take one ("sleep 5"); prose has numbers too.
bool IsShellArgument(std::string_view command, std::string_view word) {
  if (IsNumber(word)) return command == "sleep" || command == "ping" || command == "kill" || command == "time";
  return word.starts_with('-') || word.find('/') != std::string_view::npos || word.find('\\') != std::string_view::npos ||
         word.starts_with('$') || LooksLikeIp(word) || word.find("://") != std::string_view::npos;
}

bool IsSensitiveFile(std::string_view word) {
  static constexpr std::string_view kFiles[] = {"/etc/passwd", "/etc/shadow", "/etc/hosts", "win.ini",
                                                             "/proc/self", "/.ssh/", "boot.ini"};
  for (std::string_view file : kFiles) {
    if (word.find(file) != std::string_view::npos) return true;
  }
  return false;
}

bool IsReverseShell(std::string_view name, const std::vector<std::string>& words, std::string_view input) {
  if (input.find("/dev/tcp/") != std::string_view::npos || input.find("/dev/udp/") != std::string_view::npos) {
    return true;
  }
  const bool netcat = name == "nc" || name == "ncat" || name == "netcat";
  const bool shell = name == "bash" || name == "sh";
  for (size_t i = 1; i < words.size(); ++i) {
    if (netcat && (words[i] == "-e" || words[i] == "-c")) return true;
    if (shell && words[i] == "-i") return true;
  }
  return false;
}

size_t WordCount(const ShellCommand& command) {
  size_t letters_words = 0;
  for (const std::string& word : command.words) {
    if (word.find_first_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
      ++letters_words;
    }
  }
  return letters_words;
}

}  // namespace

Verdict DetectCommandInjection(std::string_view input) {
  if (input.find_first_of(";|&`$\n\r") == std::string_view::npos) return {};
  const std::vector<ShellCommand> commands = LexShell(input);
  // A sentence before the first separator: "salt, pepper; cat food".
  const bool prose_prefix =
      !commands.empty() && commands.front().separator.empty() && WordCount(commands.front()) >= 3;

  EvidenceList evidence;
  for (size_t index = 0; index < commands.size(); ++index) {
    const ShellCommand& command = commands[index];
    const std::string& separator = command.separator;
    if (separator.empty() || separator == ")") continue;  // not a command position
    // Leading assignments (A=1 cmd) are part of the command.
    size_t first = 0;
    while (first < command.words.size() && command.words[first].find('=') != std::string::npos &&
           command.words[first].front() != '=') {
      ++first;
    }
    if (first >= command.words.size()) continue;
    const Resolved resolved = ResolveCommand(command.words[first]);
    if (resolved.word == nullptr) continue;
    const CommandWord& word = *resolved.word;
    const std::vector<std::string> words(command.words.begin() + static_cast<long>(first), command.words.end());

    bool shell_arguments = command.redirection;
    bool sensitive = false;
    for (size_t i = 1; i < words.size(); ++i) {
      shell_arguments = shell_arguments || IsShellArgument(word.name, words[i]);
      sensitive = sensitive || IsSensitiveFile(words[i]);
    }
    const bool bare = words.size() == 1 && !command.redirection;
    const bool substitution = separator == "`" || separator == "$(";
    const bool weak_separator = separator == "\n" || separator == "&";

    double score = 0;
    switch (word.ambiguity) {
      case Ambiguity::kTool: score = bare ? 0.8 : shell_arguments ? 0.9 : 0.55; break;
      case Ambiguity::kShort: score = bare ? 0.65 : shell_arguments ? 0.75 : 0.4; break;
      case Ambiguity::kEnglish: score = bare ? 0.55 : shell_arguments ? 0.7 : 0.3; break;
      case Ambiguity::kNone: break;
    }
    if (substitution) score += 0.1;
    if (weak_separator) score -= 0.1;
    if (prose_prefix && !shell_arguments) score -= 0.15;
    // "Run `ls -la` to list files": a Markdown code span, not a substitution.
    if (separator == "`" && index + 1 < commands.size() && commands[index + 1].separator == ")" &&
        WordCount(commands[index + 1]) >= 2) {
      score -= 0.4;
    }
    if (sensitive) score += 0.1;
    if (command.obfuscated || resolved.glob) score += 0.1;
    std::string reason = "runs the command '" + std::string(word.name) + "' after " +
                         (substitution ? std::string("a command substitution")
                                       : "the shell separator '" + (separator == "\n" ? std::string("newline") : separator) +
                                             "'");
    if (command.obfuscated || resolved.glob) reason += ", disguised with quotes, globs or ${IFS}";
    if (IsReverseShell(word.name, words, input)) {
      score = std::max(score, 0.95);
      reason = "opens a reverse shell with '" + std::string(word.name) + "'";
    }
    evidence.Add(std::min(score, 1.0), reason, "cmdi " + std::string(word.name));
  }
  return evidence.Combine();
}

double CommandInjectionScore(std::string_view input) { return DetectCommandInjection(input).score; }

}  // namespace rampart::attacks
