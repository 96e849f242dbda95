// Cost figures for docs/jwt.md: Inspect per token on first sight (parse and
// signature check) and on later sights (remembered verdict), per
// algorithm, and the heap cost of a remembered token. Not a test: run it by
// hand (`build/tests/jwt/jwt_bench`); times are CPU microseconds per call.
#include <malloc.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/jwt/compact_jws.h"
#include "agent/jwt/jwt_inspector.h"
#include "agent/jwt/signature_check.h"
#include "agent/jwt/token_memory.h"
#include "agent/jwt/verification_key.h"
#include "tests/jwt/test_signer.h"

namespace rampart::jwt {
namespace {

// CPU time of this thread: the figures should not depend on what else the
// machine is running.
struct Clock {
  using time_point = std::chrono::nanoseconds;
  static time_point now() {
    timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
  }
};
using testing::TestKey;

double MicrosPerCall(Clock::time_point start, size_t calls) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / static_cast<double>(calls);
}

void InspectCosts() {
  TestKey rsa = testing::SharedRsa("issuer", "rsa-1");
  TestKey ec = testing::GenerateEc("P-256", "ec-256");
  TestKey ed = testing::GenerateEd25519("ed-1");
  std::string secret(64, 'k');
  JwtOptions options;
  options.jwks_documents = {{"bench", testing::Jwks({rsa.Jwk(), ec.Jwk(), ed.Jwk(), testing::OctJwk(secret, "hs-1")})}};
  auto inspector = JwtInspector::Create(options);
  if (!inspector.ok()) {
    std::fprintf(stderr, "%s\n", std::string(inspector.status().message()).c_str());
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  constexpr size_t kTokens = 2000;
  auto keys = ParseJwks("bench", options.jwks_documents[0].content);
  std::printf("%-6s %14s %14s %14s\n", "alg", "first sight us", "seen again us", "check only us");
  for (const char* alg : {"HS256", "RS256", "PS256", "ES256", "EdDSA"}) {
    std::string kid = alg[0] == 'H'                    ? "hs-1"
                      : alg[0] == 'E' && alg[1] == 'S' ? "ec-256"
                      : alg[0] == 'E'                  ? "ed-1"
                                                       : "rsa-1";
    const TestKey& key = kid == "ec-256" ? ec : kid == "ed-1" ? ed : rsa;
    std::vector<http::Message> requests;
    for (size_t i = 0; i < kTokens; ++i) {
      std::string header = std::string(R"({"alg":")") + alg + R"(","kid":")" + kid + R"("})";
      std::string claims = R"({"sub":"user-)" + std::to_string(i) + R"(","exp":)" + std::to_string(now_s + 3600) + "}";
      std::string token =
          alg[0] == 'H' ? testing::SignHmac(header, claims, alg, secret) : testing::SignJws(header, claims, alg, key);
      http::Message request;
      request.headers = {{"authorization", "Bearer " + token}};
      requests.push_back(std::move(request));
    }
    size_t findings = 0;
    auto start = Clock::now();
    for (const auto& request : requests) findings += (*inspector)->Inspect(request, "10.0.0.1", now).size();
    double first = MicrosPerCall(start, kTokens);
    start = Clock::now();
    for (const auto& request : requests) findings += (*inspector)->Inspect(request, "10.0.0.1", now).size();
    double again = MicrosPerCall(start, kTokens);
    std::string token = requests[0].headers[0].value.substr(7);
    auto jws = ParseCompactJws(token);
    start = Clock::now();
    for (size_t i = 0; i < kTokens; ++i)
      findings += CheckSignature(*jws, *FindJwsAlgorithm(alg), *keys).outcome != SignatureVerdict::Outcome::kVerified;
    double check = MicrosPerCall(start, kTokens);
    std::printf("%-6s %14.1f %14.1f %14.1f%s\n", alg, first, again, check, findings ? "  (unexpected findings!)" : "");
  }
}

void MemoryCost() {
  constexpr size_t kTokens = 100000;
  struct mallinfo2 before = mallinfo2();
  {
    TokenMemory memory(kTokens, std::chrono::seconds(600));
    const auto now = std::chrono::system_clock::now();
    SignatureVerdict verified{SignatureVerdict::Outcome::kVerified, 1, ""};
    for (size_t i = 0; i < kTokens; ++i) {
      TokenDigest digest = DigestToken("token-" + std::to_string(i));
      memory.Observe(digest, "10.0.0.1", now);
      memory.RememberVerdict(digest, verified);
    }
    struct mallinfo2 after = mallinfo2();
    std::printf("TokenMemory: %zu tokens, %.0f heap bytes per token\n", memory.size(),
                static_cast<double>(after.uordblks - before.uordblks) / kTokens);
  }
}

}  // namespace
}  // namespace rampart::jwt

int main() {
  rampart::jwt::InspectCosts();
  rampart::jwt::MemoryCost();
  return 0;
}
