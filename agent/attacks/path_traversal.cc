#include "agent/attacks/path_traversal.h"

#include <string>
#include <vector>

#include "agent/attacks/evidence.h"

namespace rampart::attacks {
namespace {

// Files and directories whose disclosure is the point of a traversal. Each
// matches at segment boundaries of the resolved path, in lower case.
constexpr std::string_view kSensitivePaths[] = {
    "/etc/passwd",        "/etc/shadow",          "/etc/group",            "/etc/hosts",
    "/etc/issue",         "/etc/os-release",      "/etc/sudoers",          "/etc/crontab",
    "/etc/ssh",           "/etc/nginx",           "/etc/apache2",          "/etc/httpd",
    "/etc/mysql",         "/etc/fstab",           "/proc/self",            "/proc/version",
    "/proc/1",            "/root",                "/.ssh",                 "/.bash_history",
    "/.aws/credentials",  "/.kube/config",        "/.docker/config.json",  "/var/log",
    "/var/run/secrets",   "/windows/win.ini",     "/win.ini",              "/boot.ini",
    "/windows/system32",  "/winnt",               "/inetpub",              "/web-inf",
    "/meta-inf",          "/.htaccess",           "/.htpasswd",            "/.git",
    "/.env",              "/wp-config.php",
};

std::string ToLowerPath(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (c == '\\') c = '/';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

struct Resolution {
  int climbs = 0;         // ".." segments that went above the starting directory
  int dot_dots = 0;       // ".." segments in all
  std::string resolved;   // "/a/b" after applying "." and ".."
};

// Walks the segments as a server would. Windows drive prefixes ("c:") and
// Tomcat path parameters ("..;jsessionid") are part of the walk.
Resolution Resolve(std::string_view lower) {
  Resolution r;
  std::vector<std::string_view> stack;
  size_t pos = 0;
  while (pos <= lower.size()) {
    const size_t slash = lower.find('/', pos);
    std::string_view segment = lower.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    pos = slash == std::string_view::npos ? lower.size() + 1 : slash + 1;
    const size_t semicolon = segment.find(';');
    const std::string_view bare = segment.substr(0, semicolon);
    if (bare.empty() || bare == ".") continue;
    if (stack.empty() && bare.size() == 2 && bare[1] == ':') continue;  // drive letter
    if (bare == "..") {
      ++r.dot_dots;
      if (stack.empty()) {
        ++r.climbs;
      } else {
        stack.pop_back();
      }
      continue;
    }
    stack.push_back(bare);
  }
  for (std::string_view segment : stack) r.resolved.append("/").append(segment);
  return r;
}

std::string_view SensitiveTarget(std::string_view resolved) {
  for (std::string_view target : kSensitivePaths) {
    size_t at = resolved.find(target);
    while (at != std::string_view::npos) {
      const size_t end = at + target.size();
      if (end == resolved.size() || resolved[end] == '/') return target;
      at = resolved.find(target, at + 1);
    }
  }
  return {};
}

// What a filter that deletes "../" (and "..\") once leaves behind.
std::string StripTraversalOnce(std::string_view lower) {
  std::string out;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (lower.compare(i, 3, "../") == 0) {
      i += 2;
      continue;
    }
    out.push_back(lower[i]);
  }
  return out;
}

}  // namespace

Verdict DetectPathTraversal(std::string_view input) {
  EvidenceList evidence;
  const size_t nul = input.find('\0');
  const bool has_nul = nul != std::string_view::npos;
  // The OS sees the path up to the NUL: "../../etc/passwd%00.png".
  std::string lower = ToLowerPath(input.substr(0, nul));
  if (lower.starts_with("file://")) lower.erase(0, 7);
  const bool absolute = lower.starts_with('/') || (lower.size() > 2 && lower[1] == ':' && lower[2] == '/');

  const Resolution r = Resolve(lower);
  const std::string_view target = SensitiveTarget(r.resolved);
  const std::string nul_note = has_nul ? " behind a NUL byte" : "";
  if (r.climbs > 0) {
    const std::string climbs = std::to_string(r.climbs) + (r.climbs == 1 ? " directory" : " directories");
    if (!target.empty()) {
      evidence.Add(0.95, "climbs " + climbs + " above its root to " + std::string(target) + nul_note,
                   "path-traversal " + std::string(target));
    } else {
      const double score = r.climbs >= 3 ? 0.85 : r.climbs == 2 ? 0.7 : 0.45;
      evidence.Add(score, "climbs " + climbs + " above its root" + nul_note, "path-traversal climbs " +
                                                                                 std::to_string(r.climbs));
    }
  } else if (!target.empty()) {
    // A sentence that mentions a file ("edit your /etc/hosts") is not a path.
    const bool prose = lower.find_first_of(" \t\n") != std::string::npos;
    const double score = absolute ? 0.85 : r.dot_dots > 0 ? 0.8 : prose ? 0.3 : 0.6;
    evidence.Add(score, std::string(absolute ? "absolute path to " : "path to ") + std::string(target) + nul_note,
                 "path-traversal " + std::string(target));
  }

  // "....//" and "..././": built to survive a filter that strips "../" once.
  if (lower.find("....") != std::string::npos || lower.find(".../") != std::string::npos) {
    const Resolution stripped = Resolve(StripTraversalOnce(lower));
    if (stripped.climbs > 0) {
      evidence.Add(0.8, "climbs above its root once a filter strips \"../\"", "path-traversal filter-evasion");
    }
  }
  if (has_nul) evidence.Add(0.55, "NUL byte, which truncates paths in C-based file APIs", "path-traversal nul-byte");
  return evidence.Combine();
}

double PathTraversalScore(std::string_view input) { return DetectPathTraversal(input).score; }

}  // namespace rampart::attacks
