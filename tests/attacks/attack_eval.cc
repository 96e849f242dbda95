// attack_eval: detection and false-positive rates of Rampart's attack
// detectors against libinjection (the copy exported by Debian's
// libmodsecurity3), on the libinjection corpora, the CSIC 2010 benign
// requests and Rampart's own held-out sets. Not a test: it prints a table.
//
//   attack_eval [CORPORA_DIR [HELDOUT_DIR]] [--show]
//
// CORPORA_DIR holds attacks/{sqli,xss}-*.txt and benign/ as in
// /work/shared/corpora; HELDOUT_DIR holds attacks.tsv and benign.tsv. --show
// prints every miss and false positive.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/attacks/attack_detector.h"
#include "agent/attacks/decode.h"
#include "agent/attacks/json_walker.h"
#include "tests/attacks/corpus.h"

extern "C" int libinjection_sqli(const char* s, size_t slen, char fingerprint[]);
extern "C" int libinjection_xss(const char* s, size_t slen);

namespace rampart::attacks {
namespace {

using testing::CorpusFiles;
using testing::DecodeCorpusLine;
using testing::ReadCorpusLines;

bool show = false;
std::string notes;  // printed under the table

bool LibinjectionSqli(const std::string& value) {
  char fingerprint[8] = {};
  return libinjection_sqli(value.data(), value.size(), fingerprint) != 0;
}
bool LibinjectionXss(const std::string& value) { return libinjection_xss(value.data(), value.size()) != 0; }

bool HasDetector(const std::vector<findings::Finding>& findings, std::string_view detector) {
  for (const findings::Finding& finding : findings) {
    if (detector.empty() || finding.detector == detector) return true;
  }
  return false;
}

std::string Printable(std::string_view value) {
  std::string out;
  for (unsigned char c : value.substr(0, 160)) {
    if (c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

double Percent(size_t part, size_t whole) { return whole == 0 ? 0 : 100.0 * static_cast<double>(part) / whole; }

void Row(const std::string& name, size_t n, size_t ours, size_t ours_any, long libinjection) {
  if (libinjection < 0) {
    std::printf("| %-44s | %6zu | %8.2f%% | %10.2f%% | %12s |\n", name.c_str(), n, Percent(ours, n), Percent(ours_any, n),
                "n/a");
  } else {
    std::printf("| %-44s | %6zu | %8.2f%% | %10.2f%% | %11.2f%% |\n", name.c_str(), n, Percent(ours, n),
                Percent(ours_any, n), Percent(static_cast<size_t>(libinjection), n));
  }
}

struct Totals {
  size_t n = 0, ours = 0, ours_any = 0, libinjection = 0;
};

void AttackFiles(const AttackDetector& detector, const std::string& dir, const char* prefix, const char* name,
                 const char* finding_detector, bool (*libinjection)(const std::string&)) {
  Totals totals;
  for (const std::string& path : CorpusFiles(dir, prefix)) {
    Totals file;
    for (const std::string& line : ReadCorpusLines(path)) {
      const std::string value = DecodeCorpusLine(line);
      const std::vector<findings::Finding> found = detector.InspectValue(value, "eval");
      const bool ours = HasDetector(found, finding_detector);
      const bool li = libinjection(value);
      ++file.n;
      file.ours += ours;
      file.ours_any += !found.empty();
      file.libinjection += li;
      if (show && !ours) std::printf("  miss %s (libinjection %d): %s\n", prefix, li, Printable(value).c_str());
    }
    Row(std::filesystem::path(path).filename().string(), file.n, file.ours, file.ours_any,
        static_cast<long>(file.libinjection));
    totals.n += file.n;
    totals.ours += file.ours;
    totals.ours_any += file.ours_any;
    totals.libinjection += file.libinjection;
  }
  Row(std::string("**all ") + name + " files**", totals.n, totals.ours, totals.ours_any,
      static_cast<long>(totals.libinjection));
}

void LibinjectionFalsePositives(const AttackDetector& detector, const std::string& path) {
  Totals t;
  for (const std::string& line : ReadCorpusLines(path)) {
    const std::string value = DecodeCorpusLine(line);
    const std::vector<findings::Finding> found = detector.InspectValue(value, "eval");
    const bool li = LibinjectionSqli(value) || LibinjectionXss(value);
    ++t.n;
    t.ours += HasDetector(found, "attack.sqli") || HasDetector(found, "attack.xss");
    t.ours_any += !found.empty();
    t.libinjection += li;
    if (show && !found.empty()) std::printf("  fp %s: %s\n", found[0].detector.c_str(), Printable(value).c_str());
  }
  Row("libinjection-false-positives.txt (FP rate)", t.n, t.ours, t.ours_any, static_cast<long>(t.libinjection));
}

void Csic(const AttackDetector& detector, const std::string& path) {
  const std::vector<http::Message> requests = testing::ReadCsicRequests(path);
  Totals t;
  std::map<std::string, size_t> by_detector;
  const auto start = std::chrono::steady_clock::now();
  std::vector<bool> ours(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::vector<findings::Finding> found = detector.Inspect(requests[i]);
    ours[i] = !found.empty();
    for (const findings::Finding& finding : found) ++by_detector[finding.detector];
    if (show && !found.empty()) {
      std::printf("  fp %s at %s: %s\n", found[0].detector.c_str(), found[0].location.c_str(),
                  found[0].reason.c_str());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (size_t i = 0; i < requests.size(); ++i) {
    bool li = false;
    for (const std::string& value : testing::ParameterValues(requests[i])) {
      li = li || LibinjectionSqli(value) || LibinjectionXss(value);
    }
    ++t.n;
    t.ours_any += ours[i];
    t.libinjection += li;
  }
  t.ours = t.ours_any;
  Row("CSIC 2010 normal requests (FP rate)", t.n, t.ours, t.ours_any, static_cast<long>(t.libinjection));
  for (const auto& [name, count] : by_detector) {
    notes += "CSIC findings of " + name + ": " + std::to_string(count) + "\n";
  }
  char speed[160];
  std::snprintf(speed, sizeof speed, "Rampart on CSIC: %.0f requests/s, %.1f us per request (parsed requests, one core)\n",
                t.n / seconds, 1e6 * seconds / t.n);
  notes += speed;
}

// One held-out case: kind, transport, value as sent.
struct Case {
  std::string kind;
  std::string transport;
  std::string value;
};

std::vector<Case> ReadCases(const std::string& path, bool benign) {
  std::vector<Case> cases;
  for (const std::string& line : ReadCorpusLines(path)) {
    Case c;
    std::vector<std::string> fields;
    size_t start = 0;
    for (int i = 0; i < (benign ? 1 : 2); ++i) {
      const size_t tab = line.find('\t', start);
      if (tab == std::string::npos) break;
      fields.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    c.value = line.substr(start);
    if (!benign) c.kind = fields.size() > 0 ? fields[0] : "";
    c.transport = fields.size() > (benign ? 0u : 1u) ? fields[benign ? 0 : 1] : "query";
    cases.push_back(std::move(c));
  }
  return cases;
}

// The request that carries `c`, and the value as the application sees it.
http::Message RequestFor(const Case& c, std::string& app_value) {
  http::Message request;
  request.method = "GET";
  request.target = "/search";
  request.headers.push_back({"host", "shop.example"});
  if (c.transport == "json") {
    request.method = "POST";
    request.headers.push_back({"content-type", "application/json"});
    request.body = "{\"q\": \"" + c.value + "\"}";
    app_value = JsonUnescape(c.value);
  } else if (c.transport == "header") {
    request.headers.push_back({"user-agent", c.value});
    app_value = c.value;
  } else if (c.transport == "cookie") {
    request.headers.push_back({"cookie", "session=" + c.value});
    app_value = UrlDecode(c.value, false);
  } else if (c.transport == "path") {
    request.target = "/files/" + c.value;
    app_value = UrlDecode(c.value, false);
  } else {
    request.target = "/search?q=" + c.value;
    app_value = UrlDecode(c.value, true);
  }
  return request;
}

void HeldOut(const AttackDetector& detector, const std::string& dir) {
  const std::string attacks = dir + "/attacks.tsv";
  const std::string benign = dir + "/benign.tsv";
  if (!std::filesystem::exists(attacks) || !std::filesystem::exists(benign)) return;
  std::map<std::string, Totals> by_kind;
  for (const Case& c : ReadCases(attacks, false)) {
    std::string app_value;
    const std::vector<findings::Finding> found = detector.Inspect(RequestFor(c, app_value));
    Totals& t = by_kind[c.kind];
    const std::string wanted = c.kind == "sqli"        ? "attack.sqli"
                               : c.kind == "xss"       ? "attack.xss"
                               : c.kind == "traversal" ? "attack.path_traversal"
                                                       : "attack.command_injection";
    const bool ours = HasDetector(found, wanted);
    const bool li = c.kind == "sqli" ? LibinjectionSqli(app_value) : c.kind == "xss" ? LibinjectionXss(app_value) : false;
    ++t.n;
    t.ours += ours;
    t.ours_any += !found.empty();
    t.libinjection += li;
    if (show && !ours) std::printf("  miss %s/%s: %s\n", c.kind.c_str(), c.transport.c_str(), Printable(c.value).c_str());
    if (show && !li && (c.kind == "sqli" || c.kind == "xss")) {
      std::printf("  libinjection misses %s/%s: %s\n", c.kind.c_str(), c.transport.c_str(), Printable(c.value).c_str());
    }
  }
  for (const auto& [kind, t] : by_kind) {
    const bool comparable = kind == "sqli" || kind == "xss";
    Row("held-out attacks: " + kind, t.n, t.ours, t.ours_any, comparable ? static_cast<long>(t.libinjection) : -1);
  }
  Totals t;
  for (const Case& c : ReadCases(benign, true)) {
    std::string app_value;
    const std::vector<findings::Finding> found = detector.Inspect(RequestFor(c, app_value));
    ++t.n;
    t.ours += HasDetector(found, "attack.sqli") || HasDetector(found, "attack.xss");
    t.ours_any += !found.empty();
    t.libinjection += LibinjectionSqli(app_value) || LibinjectionXss(app_value);
    if (show && !found.empty()) {
      std::printf("  fp %s: %s\n", found[0].detector.c_str(), Printable(c.value).c_str());
    }
  }
  Row("held-out benign (FP rate)", t.n, t.ours, t.ours_any, static_cast<long>(t.libinjection));
}

}  // namespace
}  // namespace rampart::attacks

int main(int argc, char** argv) {
  using namespace rampart::attacks;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--show") == 0) {
      show = true;
    } else {
      positional.emplace_back(argv[i]);
    }
  }
  const std::string corpora = positional.size() > 0 ? positional[0] : RAMPART_CORPORA;
  const std::string heldout = positional.size() > 1 ? positional[1] : std::string(RAMPART_ATTACK_DATA) + "/heldout";
  const AttackDetector detector{AttackOptions{}};

  std::printf("Detection: share of corpus lines flagged. Rampart = the matching detector (attack.sqli on sqli files,\n"
              "attack.xss on xss files, ...), Rampart any = any attack.* finding; libinjection = libinjection_sqli or\n"
              "libinjection_xss on the same decoded value. On benign sets every column is a false-positive rate.\n\n");
  std::printf("| %-44s | %6s | %9s | %11s | %12s |\n", "set", "n", "Rampart", "Rampart any", "libinjection");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(8, '-').c_str(),
              std::string(11, '-').c_str(), std::string(13, '-').c_str(), std::string(14, '-').c_str());
  AttackFiles(detector, corpora + "/attacks", "sqli-", "sqli", "attack.sqli", &LibinjectionSqli);
  AttackFiles(detector, corpora + "/attacks", "xss-", "xss", "attack.xss", &LibinjectionXss);
  LibinjectionFalsePositives(detector, corpora + "/benign/libinjection-false-positives.txt");
  Csic(detector, corpora + "/benign/csic2010-normal-training.txt.gz");
  HeldOut(detector, heldout);
  std::printf("\n%s", notes.c_str());
  return 0;
}
