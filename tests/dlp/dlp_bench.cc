// Throughput of DlpScanner::Scan on ~1 MiB HTTP bodies with every detector
// enabled, against baselines measured in the same run, interleaved (each
// round measures every body with every variant in turn) and reported as
// medians, because the machine is shared:
//
//   memchr      one memchr over the body for a byte it does not hold: the
//               cost of reading the bytes
//   memchr-loop memchr from '"' to '"' through the body, counting them: the
//               cheapest pass that stops on the body's structure
//   vectorscan  every detector pattern in one Vectorscan database, matches
//               only (how the prefilter worked before the digit scanner)
//   prefilter   the prefilter as Scan uses it: Vectorscan for the patterns
//               with literals, the SIMD digit scanner for the others
//   Scan        DlpScanner::Scan: prefilter, validators, context, findings
//   std::regex  the same expressions (prefilter.h SourceOf) as std::regex,
//               each over the text, with the same recognizers and validators
//               run on what they match; on the first 64 KiB only, it is slow
//
// Not a test: run by hand, e.g. build-dlp2/tests/dlp/dlp_bench [rounds].
// `dlp_bench profile <body> <variant> [seconds]` runs one variant on one
// body in a loop, for perf record. `dlp_bench findings [FILE]` prints every
// finding on the bodies, then on each line of FILE read as text and as
// JSON, one per line: two builds' outputs compared show that a speed-up
// changed no finding. DLP_MAX_FINDINGS and DLP_MIN_CONFIDENCE set the
// report's cap and threshold for it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "agent/dlp/dlp_scanner.h"
#include "agent/dlp/document.h"
#include "agent/dlp/prefilter.h"
#include "agent/dlp/recognizers.h"

namespace {

using rampart::dlp::Detector;
using rampart::dlp::DlpScanner;
using rampart::dlp::Pattern;
using rampart::dlp::Prefilter;
using rampart::dlp::PrefilterMatch;

constexpr size_t kBodyBytes = 1 << 20;
constexpr size_t kRegexSliceBytes = 64 << 10;

std::string Digits(std::mt19937_64& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
  return s;
}

std::string Hex(std::mt19937_64& rng, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kHex[rng() % 16]);
  return s;
}

std::string Uuid(std::mt19937_64& rng) {
  return Hex(rng, 8) + "-" + Hex(rng, 4) + "-4" + Hex(rng, 3) + "-a" + Hex(rng, 3) + "-" + Hex(rng, 12);
}

// A Visa-range number completed so that the Luhn check passes.
std::string CardNumber(std::mt19937_64& rng) {
  std::string body = "4" + Digits(rng, 14);
  for (char last = '0'; last <= '9'; ++last) {
    std::string candidate = body + last;
    int sum = 0;
    for (size_t i = 0; i < candidate.size(); ++i) {
      int d = candidate[candidate.size() - 1 - i] - '0';
      if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 == 0) return candidate;
  }
  return body + "0";
}

std::string Timestamp(std::mt19937_64& rng) {
  return "2024-0" + std::to_string(1 + rng() % 9) + "-1" + Digits(rng, 1) + "T" + "1" + Digits(rng, 1) + ":" +
         std::to_string(10 + rng() % 50) + ":" + std::to_string(10 + rng() % 50) + "Z";
}

// An orders API page: ids, timestamps, line items, addresses and totals,
// with sensitive values few and far between: a customer email in one order
// in 16, a phone number in one in 40, a card number in one in 100, an access
// token in one in 250.
std::string OrdersApiJson() {
  std::mt19937_64 rng(11);
  std::string json = R"({"object":"list","data":[)";
  for (size_t i = 0; json.size() < kBodyBytes; ++i) {
    if (i > 0) json += ",";
    json += R"({"id":")" + Uuid(rng) + R"(","number":"SO-)" + Digits(rng, 7) + R"(","created_at":")" + Timestamp(rng) +
            R"(","status":"shipped","currency":"EUR","items":[)";
    const size_t items = 1 + rng() % 3;
    for (size_t k = 0; k < items; ++k) {
      if (k > 0) json += ",";
      json += R"({"sku":"SKU-)" + Digits(rng, 8) + R"(","name":"Widget model )" + std::to_string(rng() % 900) +
              R"(","quantity":)" + std::to_string(1 + rng() % 5) + R"(,"unit_price":)" + Digits(rng, 2) + ".99}";
    }
    json += R"(],"shipping":{"city":"Lyon","postcode":"690)" + Digits(rng, 2) +
            R"(","country":"FR","carrier":)"
            R"("colissimo","tracking":"6A)" +
            Digits(rng, 11) + R"("},"total":)" + Digits(rng, 3) + ".50";
    if (i % 16 == 0) json += R"(,"customer_email":"client)" + std::to_string(i) + R"(@orange.fr")";
    if (i % 40 == 0)
      json += R"(,"phone":"+33 6 )" + Digits(rng, 2) + " " + Digits(rng, 2) + " " + Digits(rng, 2) + " " +
              Digits(rng, 2) + R"(")";
    if (i % 100 == 0) json += R"(,"payment":{"card_number":")" + CardNumber(rng) + R"("})";
    if (i % 250 == 0) {
      json += R"(,"debug":{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.)" + Hex(rng, 43) + R"("})";
    }
    json += "}";
  }
  return json + R"(],"has_more":true})";
}

// Product data: SKUs, 13-digit EANs (which the card pattern sees), prices,
// prose; nothing sensitive.
std::string CatalogJson() {
  std::mt19937_64 rng(7);
  std::string json = "{\"products\":[";
  for (size_t i = 0; json.size() < kBodyBytes; ++i) {
    if (i > 0) json += ",";
    json += "{\"sku\":\"SKU-" + Digits(rng, 8) + "\",\"ean\":\"" + Digits(rng, 13) + "\",\"title\":\"Widget model " +
            std::to_string(i) + "\",\"price\":" + Digits(rng, 3) + ".99,\"stock\":" + Digits(rng, 3) +
            ",\"description\":\"A sturdy widget for everyday use, with a two-year warranty and free returns.\"}";
  }
  return json + "]}";
}

// A long article page: markup, links, prose with dates, prices and
// quantities, a contact block with an email and a phone number every 20 KB.
std::string HtmlPage() {
  std::mt19937_64 rng(3);
  static const char* kWords[] = {"the",  "widget", "delivery", "review",  "price", "customers", "quality",
                                 "and",  "with",   "warranty", "returns", "store", "between",   "shipping",
                                 "from", "model",  "colour",   "size",    "which", "available"};
  std::string html =
      "<!DOCTYPE html><html><head><title>Buying guide</title></head><body><nav><a href=\"/\">Home</a>"
      "<a href=\"/shop\">Shop</a></nav><article>";
  for (size_t i = 0; html.size() < kBodyBytes; ++i) {
    html += "<p>";
    for (int w = 0; w < 60; ++w) {
      html += kWords[rng() % 20];
      html += w % 13 == 12 ? ". " : " ";
      if (w == 30)
        html += "(from " + std::to_string(10 + rng() % 90) + ".99 EUR, updated 2024-03-1" + Digits(rng, 1) + ") ";
    }
    html += "<a href=\"/products/" + Digits(rng, 6) + "?ref=guide\">see model " + Digits(rng, 4) + "</a></p>\n";
    if (i % 50 == 49) {
      html += "<aside>Questions? Write to support" + std::to_string(i) + "@widgets.co.uk or call +44 20 7946 " +
              Digits(rng, 4) + ".</aside>\n";
    }
  }
  return html + "</article></body></html>";
}

// The worst case kept from earlier runs: every record holds an email and a
// phone number, one in ten a card number.
std::string DenseCustomersJson() {
  std::mt19937_64 rng(42);
  std::string json = "{\"customers\":[";
  for (size_t i = 0; json.size() < kBodyBytes; ++i) {
    if (i > 0) json += ",";
    json += "{\"id\":" + Digits(rng, 12) + ",\"uuid\":\"" + Digits(rng, 8) + "-4a2b-8c3d-" + Digits(rng, 12) +
            "\",\"name\":\"Customer " + std::to_string(i) + "\",\"email\":\"user" + std::to_string(i) +
            "@corp.io\",\"phone\":\"+1 415 555 " + Digits(rng, 4) + "\",\"created_at\":\"2024-03-" + Digits(rng, 1) +
            "1T10:" + Digits(rng, 2) + ":00Z\",\"balance\":" + Digits(rng, 5) + "." + Digits(rng, 2) +
            ",\"notes\":\"Prefers delivery before noon; gate code on file.\"";
    if (i % 10 == 0) json += ",\"card_number\":\"" + CardNumber(rng) + "\"";
    json += "}";
  }
  return json + "]}";
}

struct Body {
  const char* name;
  const char* content_type;
  std::string text;
  rampart::http::Message message;
};

// std::regex running the prefilter's expressions, then the same recognizers
// and validators on what they match.
class RegexBaseline {
 public:
  RegexBaseline() {
    for (size_t i = 0; i < rampart::dlp::kPatternCount; ++i) {
      const rampart::dlp::PatternSource source = rampart::dlp::SourceOf(static_cast<Pattern>(i));
      auto flags = std::regex::ECMAScript | std::regex::optimize;
      if (source.caseless) flags |= std::regex::icase;
      regexes_.emplace_back(std::string(source.expression), flags);
    }
  }

  size_t Detections(std::string_view text, bool json) {
    matches_.clear();
    for (size_t i = 0; i < regexes_.size(); ++i) {
      for (std::cregex_iterator it(text.data(), text.data() + text.size(), regexes_[i]), end; it != end; ++it) {
        const auto from = static_cast<uint32_t>(it->position());
        matches_.push_back({static_cast<Pattern>(i), from, from + static_cast<uint32_t>(it->length())});
      }
    }
    rampart::dlp::Document document =
        json ? rampart::dlp::Document::Json(text) : rampart::dlp::Document::PlainText(text);
    uint32_t last = 0;
    for (const PrefilterMatch& m : matches_) last = std::max(last, m.to);
    document.IndexUpTo(last);
    detections_.clear();
    for (const PrefilterMatch& m : matches_) {
      rampart::dlp::Recognize(m, document, detections_, rampart::dlp::Wording::kSkip);
    }
    return detections_.size();
  }

 private:
  std::vector<std::regex> regexes_;
  std::vector<PrefilterMatch> matches_;
  std::vector<rampart::dlp::Detection> detections_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Seconds per call: repeats `f` until at least 20 ms have passed, so one
// sample is not one timer tick.
double SecondsPerCall(const std::function<void()>& f) {
  size_t calls = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    f();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < 0.02);
  return elapsed / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  std::vector<Detector> all;
  for (size_t i = 0; i < rampart::dlp::kDetectorCount; ++i) all.push_back(static_cast<Detector>(i));
  // `findings` runs may set the report's cap and threshold, to compare two
  // builds' reports under more than the defaults.
  rampart::dlp::DlpOptions options;
  if (const char* cap = std::getenv("DLP_MAX_FINDINGS")) options.max_findings_per_message = std::strtoull(cap, nullptr, 10);
  if (const char* min = std::getenv("DLP_MIN_CONFIDENCE")) options.report_min_confidence = std::strtod(min, nullptr);
  auto scanner = DlpScanner::Create(options);
  auto prefilter = Prefilter::Create(all);
  auto vectorscan = Prefilter::Create(all, rampart::dlp::PrefilterEngine::kExpressions);
  if (!scanner.ok() || !prefilter.ok() || !vectorscan.ok()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  RegexBaseline regex;

  std::vector<Body> bodies;
  bodies.push_back({"orders-api", "application/json", OrdersApiJson(), {}});
  bodies.push_back({"catalog", "application/json", CatalogJson(), {}});
  bodies.push_back({"html-page", "text/html; charset=utf-8", HtmlPage(), {}});
  bodies.push_back({"dense-pii", "application/json", DenseCustomersJson(), {}});
  for (Body& b : bodies) {
    b.message.is_request = false;
    b.message.status = 200;
    b.message.headers.push_back({"content-type", b.content_type});
    b.message.body = b.text;
  }

  const char* kVariants[] = {"memchr", "memchr-loop", "vectorscan", "prefilter", "Scan", "std::regex"};
  constexpr size_t kVariantCount = sizeof(kVariants) / sizeof(kVariants[0]);
  // seconds[body][variant] per round
  std::vector<std::vector<std::vector<double>>> seconds(bodies.size(), std::vector<std::vector<double>>(kVariantCount));
  std::vector<PrefilterMatch> matches;
  size_t sink = 0;
  // run[variant][body]: one call of the variant on the body.
  std::vector<std::vector<std::function<void()>>> run(kVariantCount);
  for (const Body& body : bodies) {
    const std::string_view text = body.text;
    const std::string_view slice = text.substr(0, kRegexSliceBytes);
    const bool json = std::string_view(body.content_type).find("json") != std::string_view::npos;
    run[0].push_back([&sink, text] { sink += std::memchr(text.data(), '\x01', text.size()) == nullptr ? 1 : 0; });
    run[1].push_back([&sink, text] {
      for (const char* p = text.data();
           (p = static_cast<const char*>(std::memchr(p, '"', text.data() + text.size() - p))); ++p) {
        ++sink;
      }
    });
    run[2].push_back([&, text] {
      (void)(*vectorscan)->Scan(text, matches);
      sink += matches.size();
    });
    run[3].push_back([&, text] {
      (void)(*prefilter)->Scan(text, matches);
      sink += matches.size();
    });
    run[4].push_back([&, m = &body.message] { sink += (*scanner)->Scan(*m).size(); });
    run[5].push_back([&, slice, json] { sink += regex.Detections(slice, json); });
  }
  if (argc > 1 && std::string_view(argv[1]) == "findings") {
    // Every finding on every body, then on each line of argv[2] (text,
    // plain), for comparing two builds' output.
    auto print = [](const char* name, const std::vector<rampart::findings::Finding>& fs) {
      for (const auto& f : fs) {
        std::printf("%s\t%s\t%d\t%.2f\t%s\t%s\t%llu\t%llu\t%s\n", name, f.detector.c_str(), static_cast<int>(f.severity),
                    f.confidence, f.location.c_str(), f.masked_value.c_str(), static_cast<unsigned long long>(f.offset),
                    static_cast<unsigned long long>(f.length), f.reason.c_str());
      }
    };
    for (const Body& b : bodies) print(b.name, (*scanner)->Scan(b.message));
    if (argc > 2) {
      FILE* in = std::fopen(argv[2], "r");
      char line[65536];
      int n = 0;
      while (in != nullptr && std::fgets(line, sizeof(line), in) != nullptr) {
        const std::string text(line);
        const std::string name = "line" + std::to_string(++n);
        print(name.c_str(), (*scanner)->ScanText(text, "response.body", rampart::dlp::ContentKind::kPlainText));
        print(name.c_str(), (*scanner)->ScanText(text, "response.body", rampart::dlp::ContentKind::kJson));
      }
      if (in != nullptr) std::fclose(in);
    }
    return 0;
  }
  if (argc > 3 && std::string_view(argv[1]) == "profile") {
    size_t b = 0, v = 0;
    while (b < bodies.size() && bodies[b].name != std::string_view(argv[2])) ++b;
    while (v < kVariantCount && kVariants[v] != std::string_view(argv[3])) ++v;
    if (b == bodies.size() || v == kVariantCount) {
      std::fprintf(stderr, "unknown body or variant\n");
      return 1;
    }
    const double limit = argc > 4 ? std::atof(argv[4]) : 5.0;
    size_t calls = 0;
    for (const auto start = std::chrono::steady_clock::now();
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < limit; ++calls) {
      run[v][b]();
    }
    std::printf("%zu calls\n", calls);
    return 0;
  }
  for (int round = 0; round < rounds; ++round) {
    for (size_t b = 0; b < bodies.size(); ++b) {
      seconds[b][0].push_back(SecondsPerCall(run[0][b]));
      for (size_t v = 1; v < kVariantCount; ++v) seconds[b][v].push_back(SecondsPerCall(run[v][b]));
    }
    std::fprintf(stderr, "round %d/%d\r", round + 1, rounds);
  }
  std::fprintf(stderr, "\n");

  std::printf("DLP scan, all %zu detectors, one thread; median of %d interleaved rounds (GB/s = 1e9 bytes/s)\n",
              rampart::dlp::kDetectorCount, rounds);
  std::printf("%-11s %5s %7s %12s %11s %10s %6s %11s %12s %16s %16s %8s\n", "body", "MB", "memchr", "memchr-loop",
              "vectorscan", "prefilter", "Scan", "std::regex", "Scan/memchr", "Scan/memchr-loop", "Scan/std::regex",
              "matches");
  std::printf("%-11s %5s %7s %12s %11s %10s %6s %11s\n", "", "", "GB/s", "GB/s", "GB/s", "GB/s", "GB/s", "MB/s");
  for (size_t b = 0; b < bodies.size(); ++b) {
    const Body& body = bodies[b];
    const double bytes = static_cast<double>(body.text.size());
    const double slice = static_cast<double>(std::min(body.text.size(), kRegexSliceBytes));
    const double memchr_rate = bytes / Median(seconds[b][0]);
    const double loop_rate = bytes / Median(seconds[b][1]);
    const double vectorscan_rate = bytes / Median(seconds[b][2]);
    const double prefilter_rate = bytes / Median(seconds[b][3]);
    const double scan_rate = bytes / Median(seconds[b][4]);
    const double regex_rate = slice / Median(seconds[b][5]);
    (void)(*prefilter)->Scan(body.text, matches);
    std::printf("%-11s %5.2f %7.1f %12.2f %11.2f %10.2f %6.2f %11.2f %12.3f %16.2f %16.0f %8zu\n", body.name,
                bytes / 1e6, memchr_rate / 1e9, loop_rate / 1e9, vectorscan_rate / 1e9, prefilter_rate / 1e9,
                scan_rate / 1e9, regex_rate / 1e6, scan_rate / memchr_rate, scan_rate / loop_rate,
                scan_rate / regex_rate, matches.size());
  }
  for (const Body& body : bodies) {
    std::map<std::string, size_t> by_detector;
    for (const auto& f : (*scanner)->Scan(body.message)) {
      ++by_detector[f.detector + "/" + std::string(rampart::findings::SeverityName(f.severity))];
    }
    std::printf("%-11s findings:", body.name);
    for (const auto& [name, count] : by_detector) std::printf(" %s=%zu", name.c_str(), count);
    std::printf("\n");
  }
  return sink == 42 ? 1 : 0;
}
