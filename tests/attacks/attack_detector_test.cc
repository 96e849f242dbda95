#include "agent/attacks/attack_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace rampart::attacks {
namespace {

using ::testing::IsEmpty;

http::Message Get(std::string target) {
  http::Message request;
  request.method = "GET";
  request.target = std::move(target);
  request.headers.push_back({"host", "shop.example"});
  return request;
}

const findings::Finding* Find(const std::vector<findings::Finding>& findings, std::string_view detector,
                              std::string_view location) {
  for (const findings::Finding& finding : findings) {
    if (finding.detector == detector && finding.location == location) return &finding;
  }
  return nullptr;
}

class AttackDetectorTest : public ::testing::Test {
 protected:
  AttackDetector detector_{AttackOptions{}};
};

TEST_F(AttackDetectorTest, ABenignRequestHasNoFinding) {
  http::Message request = Get("/tienda1/publico/anadir.jsp?id=3&nombre=Vino+Rioja&precio=100&B1=A%F1adir");
  request.headers.push_back({"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"});
  request.headers.push_back({"cookie", "JSESSIONID=1F767F17239C9B670A39E9B10C3825F4"});
  request.headers.push_back({"referer", "https://shop.example/search?q=O%27Reilly+%26+Sons"});
  EXPECT_THAT(detector_.Inspect(request), IsEmpty());
}

TEST_F(AttackDetectorTest, FindsEachAttackWhereItSits) {
  http::Message request = Get("/api/items/1%20OR%201=1?q=%3Cscript%3Ealert(1)%3C/script%3E&file=../../../etc/passwd");
  request.method = "POST";
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back({"user-agent", "x'; DROP TABLE users;--"});
  request.headers.push_back({"cookie", "session=abc; host=127.0.0.1%3Bcat%20/etc/passwd"});
  request.body = R"({"filter": {"name": "x' UNION SELECT password FROM users--"}})";
  const auto found = detector_.Inspect(request);
  EXPECT_NE(Find(found, "attack.sqli", "request.path segment 3"), nullptr);
  EXPECT_NE(Find(found, "attack.xss", "request.query q"), nullptr);
  EXPECT_NE(Find(found, "attack.path_traversal", "request.query file"), nullptr);
  EXPECT_NE(Find(found, "attack.sqli", "request.header user-agent"), nullptr);
  EXPECT_NE(Find(found, "attack.command_injection", "request.cookie host"), nullptr);
  EXPECT_NE(Find(found, "attack.sqli", "request.body $.filter.name"), nullptr);
}

TEST_F(AttackDetectorTest, FindsTraversalInThePathItself) {
  const auto found = detector_.Inspect(Get("/static/..%2f..%2f..%2fetc/passwd"));
  const findings::Finding* finding = Find(found, "attack.path_traversal", "request.path");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->severity, findings::Severity::kHigh);
}

TEST_F(AttackDetectorTest, FindingsNeverHoldTheRawValue) {
  const std::string marker = "SECRETMARKER42";
  const std::string payloads[] = {
      "' OR 1=1 -- " + marker,
      "<img src=x onerror=alert('" + marker + "')>",
      "../../../etc/passwd?" + marker,
      "127.0.0.1; cat /etc/passwd #" + marker,
  };
  for (const std::string& payload : payloads) {
    const auto found = detector_.InspectValue(payload, "request.query q");
    ASSERT_FALSE(found.empty()) << payload;
    for (const findings::Finding& finding : found) {
      for (const std::string* field : {&finding.masked_value, &finding.reason, &finding.location}) {
        EXPECT_EQ(field->find(marker), std::string::npos) << *field;
        EXPECT_EQ(field->find(payload), std::string::npos) << *field;
      }
    }
  }
}

TEST_F(AttackDetectorTest, MaskedValueIsTheSignatureAndTheLength) {
  const auto found = detector_.InspectValue("1' OR '1'='1", "request.query id");
  const findings::Finding* finding = Find(found, "attack.sqli", "request.query id");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->masked_value, "sqli fingerprint s&sos, 12 bytes");
  EXPECT_EQ(finding->reason, "SQL tautology after closing a quoted string (after a single quote) in the query parameter");
  EXPECT_EQ(finding->severity, findings::Severity::kHigh);
}

TEST_F(AttackDetectorTest, ExtraEncodingLayersRaiseConfidenceAndAreNamed) {
  const auto plain = detector_.Inspect(Get("/?q=%27%20OR%201=1--"));
  const auto twice = detector_.Inspect(Get("/?q=%2527%2520OR%25201=1--"));
  const findings::Finding* once = Find(plain, "attack.sqli", "request.query q");
  const findings::Finding* layered = Find(twice, "attack.sqli", "request.query q");
  ASSERT_NE(once, nullptr);
  ASSERT_NE(layered, nullptr);
  EXPECT_GT(layered->confidence, once->confidence);
  EXPECT_NE(layered->reason.find("under 1 extra layer of encoding (URL encoding)"), std::string::npos);
}

TEST_F(AttackDetectorTest, FindsHtmlEntityAndJsonEscapedPayloads) {
  EXPECT_NE(Find(detector_.Inspect(Get("/?c=%26lt%3Bscript%26gt%3Balert(1)%26lt%3B/script%26gt%3B")), "attack.xss",
                 "request.query c"),
            nullptr);
  http::Message json = Get("/api");
  json.method = "POST";
  json.headers.push_back({"content-type", "application/json"});
  json.body = R"({"q": "\u0027 OR \u00271\u0027=\u00271"})";
  EXPECT_NE(Find(detector_.Inspect(json), "attack.sqli", "request.body $.q"), nullptr);
}

TEST_F(AttackDetectorTest, MinScoreDropsWeakFindings) {
  AttackOptions strict;
  strict.min_score = 0.99;
  EXPECT_THAT(AttackDetector(strict).InspectValue("1' OR '1'='1", "q"), IsEmpty());
  AttackOptions loose;
  loose.min_score = 0.3;
  EXPECT_FALSE(AttackDetector(loose).InspectValue("../img/a.png", "q").empty());
  EXPECT_THAT(detector_.InspectValue("../img/a.png", "q"), IsEmpty());
}

TEST_F(AttackDetectorTest, DisabledDetectorsStaySilent) {
  AttackOptions options;
  options.sqli = false;
  EXPECT_THAT(AttackDetector(options).InspectValue("1 UNION SELECT password FROM users", "q"), IsEmpty());
}

TEST_F(AttackDetectorTest, KeepsOnlyTheStrongestFindingsButEverySizeFinding) {
  AttackOptions options;
  options.max_findings = 2;
  options.limits.max_url_bytes = 10;
  std::string target = "/?";
  for (int i = 0; i < 5; ++i) target += "p" + std::to_string(i) + "=1%20UNION%20SELECT%20password%20FROM%20users&";
  const auto found = AttackDetector(options).Inspect(Get(target));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].detector, "attack.oversize");
  EXPECT_EQ(found[1].detector, "attack.sqli");
  EXPECT_GE(found[1].confidence, found[2].confidence);
}

TEST_F(AttackDetectorTest, ReportsOversizedRequests) {
  http::Message request = Get("/");
  request.method = "POST";
  request.body = "x";
  request.body_wire_bytes = 20ull * 1024 * 1024;
  const auto found = detector_.Inspect(request);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].detector, "attack.oversize");
  EXPECT_EQ(found[0].location, "request.body");
}

}  // namespace
}  // namespace rampart::attacks
