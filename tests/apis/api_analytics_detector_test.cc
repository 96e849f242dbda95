#include "agent/apis/api_analytics_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/jwt/base64url.h"
#include "tests/apis/test_support.h"

namespace rampart::apis {
namespace {

using findings::Finding;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ApiKey;
using testing::Context;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::Request;
using testing::Response;
using testing::ServerConnection;
using testing::T0;
using testing::TestData;

ApiAnalyticsConfig WithUsersSpec() {
  ApiAnalyticsConfig config;
  config.openapi.push_back({.process = "api-server", .host = "", .port = 443, .spec_file = TestData("users-api.yaml")});
  return config;
}

// One detector, its inventory, and a client connection; Send runs one
// message through Inspect, as the pipeline would, and returns its findings.
struct Harness {
  explicit Harness(const ApiAnalyticsConfig& config) : inventory(std::make_shared<ApiInventory>(config.inventory)) {
    auto created = ApiAnalyticsDetector::Create(config, inventory);
    EXPECT_TRUE(created.ok()) << created.status();
    detector = std::move(*created);
  }
  std::vector<Finding> Send(const http::Message& m, std::chrono::system_clock::time_point now,
                            const char* client = "10.0.0.7", uint16_t port = 50000) {
    const capture::ConnectionInfo conn = ServerConnection(client, port, 0x1000 + port);
    std::vector<Finding> out;
    detector->Inspect(m, Context(conn, now, client), out);
    return out;
  }
  std::vector<std::string> Detectors(const std::vector<Finding>& found) {
    std::vector<std::string> ids;
    for (const auto& f : found) ids.push_back(f.detector);
    return ids;
  }
  std::shared_ptr<ApiInventory> inventory;
  std::unique_ptr<ApiAnalyticsDetector> detector;
};

TEST(ApiAnalyticsDetectorTest, ShadowZombieAndUndocumentedParametersAreFoundAgainstTheSpec) {
  Harness h(WithUsersSpec());
  const auto key = ApiKey("k-partner-000111");
  EXPECT_THAT(h.Send(Request("GET", "/v1/users/42?fields=name", key), T0()), IsEmpty());
  EXPECT_THAT(h.Send(Request("GET", "/v1/users/me", key), T0()), IsEmpty());

  auto shadow = h.Send(Request("GET", "/v1/internal/debug", key), T0());
  ASSERT_EQ(shadow.size(), 1u);
  EXPECT_EQ(shadow[0].detector, "api.shadow_endpoint");
  EXPECT_EQ(shadow[0].location, "request.path");
  EXPECT_EQ(shadow[0].severity, findings::Severity::kMedium);
  EXPECT_THAT(shadow[0].reason, HasSubstr("GET /v1/internal/debug is not in the OpenAPI spec of "
                                          "api.example.com:443 (api-server)"));
  EXPECT_THAT(shadow[0].reason, HasSubstr("users-api.yaml"));
  EXPECT_EQ(shadow[0].masked_value, "api_key ************0111");

  auto method = h.Send(Request("PUT", "/v1/users/42", key), T0());
  ASSERT_EQ(method.size(), 1u);
  EXPECT_EQ(method[0].detector, "api.shadow_endpoint");
  EXPECT_THAT(method[0].reason, HasSubstr("PUT /v1/users/{id} is not in the OpenAPI spec"));
  EXPECT_THAT(method[0].reason, HasSubstr("/users/{userId} has no PUT"));

  auto zombie = h.Send(Request("GET", "/v1/users/42/orders", key), T0());
  ASSERT_EQ(zombie.size(), 1u);
  EXPECT_EQ(zombie[0].detector, "api.zombie_endpoint");
  EXPECT_THAT(zombie[0].reason, HasSubstr("GET /v1/users/{id}/orders is deprecated"));

  auto undocumented = h.Send(Request("GET", "/v1/users?limit=10&debug=true&cursor=x", key), T0());
  ASSERT_EQ(undocumented.size(), 1u);
  EXPECT_EQ(undocumented[0].detector, "api.undocumented_parameter");
  EXPECT_EQ(undocumented[0].location, "request.query debug");
  EXPECT_EQ(undocumented[0].severity, findings::Severity::kLow);

  // Monitoring: once per identity and endpoint per realertAfter (10m).
  EXPECT_THAT(h.Send(Request("GET", "/v1/internal/debug", key), T0() + seconds(60)), IsEmpty());
  EXPECT_THAT(h.Detectors(h.Send(Request("GET", "/v1/internal/debug", ApiKey("k-other-9999")), T0())),
              ::testing::ElementsAre("api.shadow_endpoint"))
      << "another identity is reported on its own";
  EXPECT_THAT(h.Detectors(h.Send(Request("GET", "/v1/internal/debug", key), T0() + seconds(601))),
              ::testing::ElementsAre("api.shadow_endpoint"));

  // The inventory knows where each endpoint stands.
  std::map<std::string, std::string> status;
  const auto snapshot = h.inventory->Snapshot();
  for (const auto& e : snapshot.at(0).endpoints) {
    status[e.method + " " + e.path_template] = std::string(SpecStatusName(e.spec));
  }
  EXPECT_EQ(status["GET /v1/users/{id}"], "documented");
  EXPECT_EQ(status["GET /v1/users/me"], "documented");
  EXPECT_EQ(status["GET /v1/internal/debug"], "shadow");
  EXPECT_EQ(status["PUT /v1/users/{id}"], "shadow");
  EXPECT_EQ(status["GET /v1/users/{id}/orders"], "zombie");
}

TEST(ApiAnalyticsDetectorTest, ServicesWithoutASpecRaiseNoSpecAlerts) {
  ApiAnalyticsConfig config = WithUsersSpec();
  config.openapi[0].port = 8443;  // another service
  Harness h(config);
  EXPECT_THAT(h.Send(Request("GET", "/v1/internal/debug"), T0()), IsEmpty());
}

TEST(ApiAnalyticsDetectorTest, EachAlertKindHasItsOwnVerdict) {
  ApiAnalyticsConfig config = WithUsersSpec();
  config.alerts.zombie_endpoint = {.block = true, .block_ttl = seconds(3600)};
  config.alerts.bola = {.block = true, .block_ttl = seconds(0)};
  Harness h(config);
  const inspect::FamilyVerdict family;
  auto verdict = [&](std::string_view id) {
    Finding f;
    f.detector = std::string(id);
    return h.detector->VerdictFor(f, family);
  };
  EXPECT_FALSE(verdict(kShadowEndpoint).block);
  EXPECT_TRUE(verdict(kZombieEndpoint).block);
  EXPECT_EQ(verdict(kZombieEndpoint).ttl, seconds(3600));
  EXPECT_EQ(verdict(kZombieEndpoint).reason, RP_BLOCK_BY_API);
  EXPECT_EQ(verdict(kZombieEndpoint).min_severity, findings::Severity::kInfo);
  EXPECT_TRUE(verdict(kBola).block);
  EXPECT_EQ(verdict(kBola).ttl, seconds(600)) << "the default TTL";
  // Blocking alerts are raised on every request, not once per identity.
  const auto key = ApiKey("k-partner-000111");
  EXPECT_EQ(h.Send(Request("GET", "/v1/users/1/orders", key), T0()).size(), 1u);
  EXPECT_EQ(h.Send(Request("GET", "/v1/users/1/orders", key), T0()).size(), 1u);
}

// 500 distinct users fetched in about three minutes by one API key is an
// enumeration; people fetching their own profile again and again, or a
// client paging through a few dozen records, are not.
TEST(ApiAnalyticsDetectorTest, AScraperEnumeratingUsersIsFlaggedNormalClientsAreNot) {
  Harness h(WithUsersSpec());
  std::vector<Finding> bola;
  auto collect = [&](std::vector<Finding> found) {
    for (auto& f : found) {
      if (f.detector == kBola) bola.push_back(std::move(f));
    }
  };
  const auto scraper = ApiKey("sk_live_scraper_7f3a9b");
  for (int minute = 0; minute < 3; ++minute) {
    // 40 users, each reading their own profile 4 times a minute, as JWT subjects.
    for (int user = 0; user < 40; ++user) {
      const std::string sub = "user-" + std::to_string(1000 + user);
      const std::string token =
          jwt::EncodeBase64Url(R"({"alg":"none"})") + "." + jwt::EncodeBase64Url(R"({"sub":")" + sub + R"("})") + ".";
      for (int i = 0; i < 4; ++i) {
        const auto at = T0() + seconds(minute * 60 + user) + milliseconds(i * 100);
        collect(
            h.Send(Request("GET", "/v1/users/" + std::to_string(1000 + user), {{"authorization", "Bearer " + token}}),
                   at, "10.0.1.1", static_cast<uint16_t>(40000 + user)));
        collect(h.Send(Request("GET", "/v1/users/me", {{"authorization", "Bearer " + token}}), at, "10.0.1.1",
                       static_cast<uint16_t>(40000 + user)));
      }
    }
    // A support tool paging through 36 accounts.
    for (int i = 0; i < 36; ++i) {
      collect(h.Send(Request("GET", "/v1/users/" + std::to_string(5000 + i), ApiKey("k-support-tool-01")),
                     T0() + seconds(minute * 60) + milliseconds(i * 500), "10.0.2.2", 41000));
    }
    // The scraper: 167 new ids a minute.
    for (int i = 0; i < 167; ++i) {
      const int id = 100000 + minute * 167 + i;
      collect(h.Send(Request("GET", "/v1/users/" + std::to_string(id), scraper),
                     T0() + seconds(minute * 60) + milliseconds(i * 350), "203.0.113.9", 42000));
    }
  }
  ASSERT_EQ(bola.size(), 1u) << "one finding per window while monitoring";
  EXPECT_EQ(bola[0].masked_value, "api_key ******************3a9b");
  EXPECT_EQ(bola[0].severity, findings::Severity::kHigh);
  EXPECT_EQ(bola[0].location, "request.path");
  EXPECT_THAT(bola[0].reason, HasSubstr("101 distinct object ids on GET /v1/users/{id} of api.example.com:443 "
                                        "(api-server) within 5m (threshold 100)"));
  EXPECT_THAT(bola[0].reason, Not(HasSubstr("100100"))) << "object ids are not shown";
}

TEST(ApiAnalyticsDetectorTest, ARateLimitTakesEffectAtTheConfiguredCount) {
  ApiAnalyticsConfig config;
  config.rate_limits.reads = RateLimit{100, seconds(1)};
  config.rate_limits.writes = RateLimit{10, seconds(60)};
  config.alerts.rate_limit.block = true;
  Harness h(config);
  const auto key = ApiKey("k-busy-client-42");
  for (int i = 1; i <= 100; ++i) {
    EXPECT_THAT(h.Send(Request("GET", "/items/" + std::to_string(i % 3), key), T0() + milliseconds(i)), IsEmpty())
        << "request " << i;
  }
  const auto over = h.Send(Request("GET", "/items/1", key), T0() + milliseconds(250));
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].detector, "api.rate_limit");
  EXPECT_EQ(over[0].location, "request");
  EXPECT_EQ(over[0].masked_value, "api_key ************t-42");
  EXPECT_THAT(over[0].reason, HasSubstr("reads over 100/second on api.example.com:443 (api-server): request 101 in "
                                        "the current window (1s left)"));
  const inspect::FamilyVerdict v = h.detector->VerdictFor(over[0], {});
  EXPECT_TRUE(v.block);
  EXPECT_EQ(v.ttl, seconds(1)) << "until the window ends";
  EXPECT_EQ(v.reason, RP_BLOCK_BY_API);
  // Writes have their own limit, and another client its own count.
  EXPECT_THAT(h.Send(Request("POST", "/items", key), T0() + milliseconds(300)), IsEmpty());
  EXPECT_THAT(h.Send(Request("GET", "/items/1", ApiKey("k-quiet-client-7")), T0() + milliseconds(300)), IsEmpty());

  // A minute limit blocks until the minute ends.
  for (int i = 0; i < 9; ++i) h.Send(Request("POST", "/items", key), T0() + seconds(1));
  const auto write_over = h.Send(Request("POST", "/items", key), T0() + seconds(1));
  ASSERT_EQ(write_over.size(), 1u);
  EXPECT_EQ(h.detector->VerdictFor(write_over[0], {}).ttl, seconds(59));
}

// 150 reads a second for a simulated minute against 100/second: the requests
// that pass (no rate-limit finding) are 6000, within 5% (exactly, with
// fixed windows).
TEST(ApiAnalyticsDetectorTest, OverASimulatedMinuteThePassCountIsWithinFivePercentOfTheLimit) {
  ApiAnalyticsConfig config;
  config.rate_limits.reads = RateLimit{100, seconds(1)};
  config.alerts.rate_limit.block = true;  // a finding for every refused request
  Harness h(config);
  int passed = 0;
  const int total = 150 * 60;
  for (int i = 0; i < total; ++i) {
    const auto at = T0() + std::chrono::microseconds(int64_t{60'000'000} * i / total);
    if (h.Send(Request("GET", "/items", ApiKey("k-busy-client-42")), at).empty()) ++passed;
  }
  EXPECT_NEAR(passed, 6000, 300);
  EXPECT_EQ(passed, 6000);
  EXPECT_EQ(h.detector->stats().rate_limiter.refused, static_cast<uint64_t>(total - 6000));
}

TEST(ApiAnalyticsDetectorTest, BulkExtractionUsesTheIdentityOfTheRequestAResponseAnswers) {
  Harness h(ApiAnalyticsConfig{});
  const std::string token =
      jwt::EncodeBase64Url(R"({"alg":"none"})") + "." + jwt::EncodeBase64Url(R"({"sub":"analyst-0042"})") + ".";
  const std::vector<http::Header> auth = {{"authorization", "Bearer " + token}};
  const std::vector<http::Header> json = {{"content-type", "application/json"}};
  auto page = [](int n) {
    std::string body = "{\"data\":[";
    for (int i = 0; i < n; ++i) body += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + "}";
    return body + "]}";
  };
  for (int i = 0; i < 25; ++i) {
    const http::Message request = Request("GET", "/v1/users?limit=20", auth);
    EXPECT_THAT(h.Send(request, T0() + seconds(i)), IsEmpty());
    EXPECT_THAT(h.Send(Response(request, 200, page(20), json), T0() + seconds(i)), IsEmpty());
  }
  const http::Message dump = Request("GET", "/v1/users?limit=100000", auth);
  h.Send(dump, T0() + seconds(30));
  const auto found = h.Send(Response(dump, 200, page(5000), json), T0() + seconds(30));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].detector, "api.bulk_extraction");
  EXPECT_EQ(found[0].masked_value, "jwt_sub **********42");
  EXPECT_EQ(found[0].location, "response.body");
  EXPECT_THAT(found[0].reason, HasSubstr("5000 records in one response from GET /v1/users (threshold 200; this "
                                         "identity's usual 20.0)"));
  // A response whose request was never seen (capture began after it) is
  // recorded in the inventory but cannot be judged for bulk extraction.
  EXPECT_THAT(h.Send(Response(Request("GET", "/v1/orders"), 200, page(9000), json), T0() + seconds(31)), IsEmpty());
  EXPECT_EQ(h.detector->stats().unpaired_responses, 1u);
}

TEST(ApiAnalyticsDetectorTest, DlpFindingsOnResponsesTellWhatDataAnEndpointReturns) {
  Harness h(ApiAnalyticsConfig{});
  const http::Message request = Request("GET", "/v1/users/42");
  h.Send(request, T0());
  const http::Message response = Response(request, 200, "{}");
  Finding email;
  email.detector = "dlp.email";
  email.location = "response.body $.email";
  Finding card_in_request;
  card_in_request.detector = "dlp.credit_card";
  card_in_request.location = "request.body $.card";
  Finding sqli;
  sqli.detector = "attack.sqli";
  sqli.location = "response.body";
  const capture::ConnectionInfo conn = ServerConnection();
  h.detector->AfterInspection(response, Context(conn, T0()), {email, card_in_request, sqli});
  const auto endpoints = h.inventory->Snapshot().at(0).endpoints;
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_THAT(endpoints[0].sensitive_data, ::testing::ElementsAre("dlp.email"));
}

// Two clients behind one address (a NAT, a shared egress proxy) with their
// own client certificates: the limit counts each certificate, not the
// address, and the inventory records mTLS.
TEST(ApiAnalyticsDetectorTest, ClientCertificatesOnTheConnectionAreSeparateIdentitiesBehindOneAddress) {
  ApiAnalyticsConfig config;
  config.rate_limits.reads = RateLimit{5, seconds(60)};
  Harness h(config);
  auto send = [&](const char* cn, uint16_t port) {
    capture::ConnectionInfo conn = ServerConnection("10.0.0.7", port, 0x1000 + port);
    conn.peer_certificate = std::make_shared<const capture::PeerCertificate>(capture::PeerCertificate{.subject_cn = cn});
    std::vector<Finding> out;
    h.detector->Inspect(Request("GET", "/items/1"), Context(conn, T0(), "10.0.0.7"), out);
    return out;
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(send("client-a", 50000 + i), IsEmpty());
    EXPECT_THAT(send("client-b", 51000 + i), IsEmpty()) << "client-b's reads are not client-a's";
  }
  const auto over = send("client-a", 50100);
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].detector, "api.rate_limit");
  EXPECT_EQ(over[0].masked_value, "mtls_peer CN=client-a");
  EXPECT_THAT(over[0].reason, HasSubstr("request 6 in the current window"));
  const auto endpoints = h.inventory->Snapshot().at(0).endpoints;
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].auth_schemes, kAuthMtls);
}

TEST(ApiAnalyticsDetectorTest, MessagesWhereTheProcessIsTheClientAreNotAnalysed) {
  Harness h(WithUsersSpec());
  const capture::ConnectionInfo conn = ServerConnection();
  std::vector<Finding> out;
  h.detector->Inspect(Request("GET", "/v1/internal/debug"), Context(conn, T0(), "10.0.0.7", /*server_side=*/false),
                      out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(h.inventory->stats().services, 0u);
  EXPECT_EQ(h.detector->stats().client_side_skipped, 1u);
}

// Every finding the family can raise, from requests full of secrets: none of
// its fields holds the API key, the JWT or its sub, an object id, or a
// query value.
TEST(ApiAnalyticsDetectorTest, FindingsNeverHoldPlaintext) {
  ApiAnalyticsConfig config = WithUsersSpec();
  config.rate_limits.reads = RateLimit{5, seconds(60)};
  config.bola.min_distinct = 10;
  config.bulk.warmup = 3;
  config.bulk.min_records = 10;
  Harness h(config);
  const std::string api_key = "sk_live_51HqLyjSecretKeyValue";
  const std::string sub = "alice.smith@example.com";
  const std::string token =
      jwt::EncodeBase64Url(R"({"alg":"none"})") + "." + jwt::EncodeBase64Url(R"({"sub":")" + sub + R"("})") + ".";
  const std::string object_id = "9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f";
  std::vector<Finding> all;
  auto add = [&](std::vector<Finding> found) { all.insert(all.end(), found.begin(), found.end()); };
  for (int i = 0; i < 20; ++i) {
    const std::string id = i == 0 ? object_id : "7f3a" + std::to_string(100000 + i);
    add(h.Send(Request("GET", "/v1/users/" + id + "?fields=x&secret_q=hunter2", {{"x-api-key", api_key}}), T0()));
    add(h.Send(Request("GET", "/v1/internal/" + object_id + "?token=hunter2", {{"authorization", "Bearer " + token}}),
               T0()));
  }
  for (int i = 0; i < 4; ++i) {
    const http::Message request = Request("GET", "/v1/users?limit=2", {{"authorization", "Bearer " + token}});
    h.Send(request, T0());
    std::string many = "[1";
    for (int n = 1; n < 30; ++n) many += ",1";
    add(h.Send(Response(request, 200, i < 3 ? "[1,2]" : many + "]"), T0()));
  }
  std::set<std::string> kinds;
  for (const auto& f : all) kinds.insert(f.detector);
  EXPECT_THAT(kinds, ::testing::ElementsAre("api.bola", "api.bulk_extraction", "api.rate_limit", "api.shadow_endpoint",
                                            "api.undocumented_parameter"));
  for (const auto& f : all) {
    for (const std::string& field : {f.masked_value, f.reason, f.location}) {
      for (const std::string& secret : {api_key.substr(8, 12), token.substr(0, 20), std::string("alice"),
                                        object_id.substr(0, 8), std::string("100005"), std::string("hunter2")}) {
        EXPECT_THAT(field, Not(HasSubstr(secret))) << f.detector;
      }
    }
  }
}

}  // namespace
}  // namespace rampart::apis
