// Throughput of DlpScanner::Scan on ~1 MB JSON bodies, against two baselines
// measured in the same run: a memchr pass over the body and the Vectorscan
// prefilter alone (same database, no validation, no context). Not a test:
// run by hand, e.g. build-dlp/tests/dlp/dlp_bench.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "agent/dlp/dlp_scanner.h"
#include "agent/dlp/prefilter.h"

namespace {

using rampart::dlp::DlpScanner;

std::string Digits(std::mt19937_64& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
  return s;
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

// Customer records: every record has an email and a phone number, one in
// ten a card number; ids, timestamps and amounts everywhere.
std::string CustomersJson(size_t target_bytes) {
  std::mt19937_64 rng(42);
  std::string json = "{\"customers\":[";
  for (size_t i = 0; json.size() < target_bytes; ++i) {
    if (i > 0) json += ",";
    json += "{\"id\":" + Digits(rng, 12) + ",\"uuid\":\"" + Digits(rng, 8) + "-4a2b-8c3d-" + Digits(rng, 12) +
            "\",\"name\":\"Customer " + std::to_string(i) + "\",\"email\":\"user" + std::to_string(i) +
            "@corp.io\",\"phone\":\"+1 415 555 " + Digits(rng, 4) + "\",\"created_at\":\"2024-03-" +
            Digits(rng, 1) + "1T10:" + Digits(rng, 2) + ":00Z\",\"balance\":" + Digits(rng, 5) + "." +
            Digits(rng, 2) + ",\"notes\":\"Prefers delivery before noon; gate code on file.\"";
    if (i % 10 == 0) json += ",\"card_number\":\"" + CardNumber(rng) + "\"";
    json += "}";
  }
  return json + "]}";
}

// Product data: numbers and prose, nothing sensitive.
std::string CatalogJson(size_t target_bytes) {
  std::mt19937_64 rng(7);
  std::string json = "{\"products\":[";
  for (size_t i = 0; json.size() < target_bytes; ++i) {
    if (i > 0) json += ",";
    json += "{\"sku\":\"SKU-" + Digits(rng, 8) + "\",\"ean\":\"" + Digits(rng, 13) + "\",\"title\":\"Widget model " +
            std::to_string(i) + "\",\"price\":" + Digits(rng, 3) + ".99,\"stock\":" + Digits(rng, 3) +
            ",\"description\":\"A sturdy widget for everyday use, with a two-year warranty and free returns.\"}";
  }
  return json + "]}";
}

template <typename F>
double BestSeconds(int rounds, F&& f) {
  double best = 1e9;
  for (int r = 0; r < rounds; ++r) {
    auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void Measure(const char* name, const std::string& body, DlpScanner& scanner, rampart::dlp::Prefilter& prefilter) {
  rampart::http::Message message;
  message.is_request = false;
  message.headers.push_back({"content-type", "application/json"});
  message.body = body;
  const double mb = static_cast<double>(body.size()) / 1e6;
  constexpr int kRounds = 20;

  size_t quotes = 0;
  const double t_memchr = BestSeconds(kRounds, [&] {
    quotes = 0;
    for (const char* p = body.data(); (p = static_cast<const char*>(std::memchr(p, '"', body.data() + body.size() - p)));
         ++p) {
      ++quotes;
    }
  });
  std::vector<rampart::dlp::PrefilterMatch> matches;
  const double t_prefilter = BestSeconds(kRounds, [&] { (void)prefilter.Scan(body, matches); });
  size_t findings = 0;
  const double t_scan = BestSeconds(kRounds, [&] { findings = scanner.Scan(message).size(); });

  std::printf("%-10s %.2f MB: memchr %8.0f MB/s | prefilter only %7.0f MB/s (%zu matches) | Scan %7.0f MB/s "
              "(%zu findings) | Scan/prefilter %.2f, Scan/memchr %.3f\n",
              name, mb, mb / t_memchr, mb / t_prefilter, matches.size(), mb / t_scan, findings,
              t_prefilter / t_scan, t_memchr / t_scan);
  std::map<std::string, size_t> by_detector;
  for (const auto& f : scanner.Scan(message)) ++by_detector[f.detector + "/" + std::string(rampart::findings::SeverityName(f.severity))];
  std::printf("           (%zu quotes)", quotes);
  for (const auto& [name, count] : by_detector) std::printf(" %s=%zu", name.c_str(), count);
  std::printf("\n");
}

}  // namespace

int main() {
  auto scanner = DlpScanner::Create({});
  std::vector<rampart::dlp::Detector> all;
  for (size_t i = 0; i < rampart::dlp::kDetectorCount; ++i) all.push_back(static_cast<rampart::dlp::Detector>(i));
  auto prefilter = rampart::dlp::Prefilter::Create(all);
  if (!scanner.ok() || !prefilter.ok()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  Measure("customers", CustomersJson(1 << 20), **scanner, **prefilter);
  Measure("catalog", CatalogJson(1 << 20), **scanner, **prefilter);
  return 0;
}
