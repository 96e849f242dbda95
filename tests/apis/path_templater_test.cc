#include "agent/apis/path_templater.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace rampart::apis {
namespace {

using ::testing::ElementsAre;

struct SegmentCase {
  std::string segment;
  SegmentKind kind;
};

TEST(ClassifySegmentTest, IdentifiersAndDataAreParametersWordsAreNot) {
  const SegmentCase cases[] = {
      {"users", SegmentKind::kStatic},
      {"v1", SegmentKind::kStatic},
      {"me", SegmentKind::kStatic},
      {"oauth2", SegmentKind::kStatic},
      {"openid-configuration", SegmentKind::kStatic},
      {"deadbeef", SegmentKind::kStatic},  // a hex-looking word without digits
      {"42", SegmentKind::kNumber},
      {"0", SegmentKind::kNumber},
      {"9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f", SegmentKind::kUuid},
      {"5f2b8c3a", SegmentKind::kHex},
      {"507f1f77bcf86cd799439011", SegmentKind::kHex},                   // a MongoDB ObjectId
      {"d41d8cd98f00b204e9800998ecf8427e", SegmentKind::kHash},          // md5
      {"da39a3ee5e6b4b0d3255bfef95601890afd80709", SegmentKind::kHash},  // sha1
      {"dGhpcyBpcyBhIHRva2VuMTIz", SegmentKind::kHash},                  // base64
      {"cus_NffrFeUfNV2Hib", SegmentKind::kHash},                        // a prefixed id
      {"alice@example.com", SegmentKind::kData},
      {"caf%C3%A9", SegmentKind::kData},
      {"order-123456", SegmentKind::kData},
      {"2024-05-01", SegmentKind::kData},
      {std::string(65, 'a'), SegmentKind::kData},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(SegmentKindName(ClassifySegment(c.segment)), SegmentKindName(c.kind)) << c.segment;
  }
}

TEST(PathTemplaterTest, TemplatesAMixOfPaths) {
  PathTemplater t;
  struct Case {
    const char* path;
    const char* want;
  };
  const Case cases[] = {
      {"/v1/users/42", "/v1/users/{id}"},
      {"/v1/users/me", "/v1/users/me"},
      {"/v1/users/9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f/orders/507f1f77bcf86cd799439011", "/v1/users/{id}/orders/{id2}"},
      {"/v1/files/d41d8cd98f00b204e9800998ecf8427e", "/v1/files/{id}"},
      {"/v1/files/5f2b8c3a/download", "/v1/files/{id}/download"},
      {"/v1/customers/cus_NffrFeUfNV2Hib", "/v1/customers/{id}"},
      {"/v1/users/alice@example.com/avatar", "/v1/users/{id}/avatar"},
      {"/.well-known/openid-configuration", "/.well-known/openid-configuration"},
      {"/", "/"},
      {"", "/"},
      {"/healthz/", "/healthz"},
      {"//v1//users///7", "/v1/users/{id}"},
  };
  for (const auto& c : cases) EXPECT_EQ(t.Learn(c.path).text, c.want) << c.path;
}

TEST(PathTemplaterTest, ParameterValuesAndKindsComeBackInOrder) {
  PathTemplater t;
  const std::string path = "/v1/users/42/orders/9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f";
  const TemplatedPath p = t.Learn(path);
  EXPECT_THAT(p.values, ElementsAre("42", "9f1c2b4e-8d3a-4c6b-9e2f-1a2b3c4d5e6f"));
  EXPECT_THAT(p.kinds, ElementsAre(SegmentKind::kNumber, SegmentKind::kUuid));
}

TEST(PathTemplaterTest, HighCardinalitySlugsBecomeAParameterWhileRoutesStayStatic) {
  TemplaterLimits limits;
  limits.param_threshold = 20;
  PathTemplater t(limits);
  // Users keep calling /v1/users/me and /v1/users/search; profiles are
  // fetched by slug, each a few times.
  for (int round = 0; round < 30; ++round) {
    t.Learn("/v1/users/me");
    t.Learn("/v1/users/search");
  }
  const char* slugs[] = {"alice-smith",   "bob-jones",     "carol-white",     "dave-brown",   "erin-black",
                         "frank-green",   "grace-hall",    "heidi-young",     "ivan-king",    "judy-wright",
                         "mallory-lopez", "niaj-hill",     "olivia-scott",    "peggy-adams",  "rupert-baker",
                         "sybil-nelson",  "trent-carter",  "victor-mitchell", "walter-perez", "xena-roberts",
                         "yvonne-turner", "zara-phillips", "amir-campbell",   "bea-parker"};
  std::string last;
  for (const char* slug : slugs) last = t.Learn(std::string("/v1/users/") + slug + "/posts").text;
  EXPECT_EQ(last, "/v1/users/{id}/posts");
  EXPECT_EQ(t.promotions(), 1u);
  // After the promotion every slug, old or new, is the parameter...
  EXPECT_EQ(t.Apply("/v1/users/alice-smith/posts").text, "/v1/users/{id}/posts");
  EXPECT_EQ(t.Learn("/v1/users/someone-new").text, "/v1/users/{id}");
  // ...and the routes that carried weight stay what they are.
  EXPECT_EQ(t.Learn("/v1/users/me").text, "/v1/users/me");
  EXPECT_EQ(t.Learn("/v1/users/search").text, "/v1/users/search");
  EXPECT_EQ(t.Learn("/v1/orders").text, "/v1/orders");
}

TEST(PathTemplaterTest, LowCardinalityPositionsStayStatic) {
  PathTemplater t;  // threshold 50
  const char* collections[] = {"users", "orders", "invoices", "products", "carts", "payments", "refunds"};
  for (int i = 0; i < 100; ++i) {
    for (const char* c : collections) t.Learn(std::string("/api/v2/") + c);
  }
  for (const char* c : collections) EXPECT_EQ(t.Apply(std::string("/api/v2/") + c).text, std::string("/api/v2/") + c);
  EXPECT_EQ(t.promotions(), 0u);
}

TEST(PathTemplaterTest, PinnedSpecRoutesNeverFold) {
  TemplaterLimits limits;
  limits.param_threshold = 5;
  PathTemplater t(limits);
  t.Pin("/v1/users/{userId}");
  t.Pin("/v1/users/export");
  t.Learn("/v1/users/export");  // once only: no weight of its own
  for (int i = 0; i < 10; ++i) t.Learn("/v1/users/slug-" + std::string(1, static_cast<char>('a' + i)));
  EXPECT_EQ(t.promotions(), 1u);
  EXPECT_EQ(t.Learn("/v1/users/export").text, "/v1/users/export");
  EXPECT_EQ(t.Learn("/v1/users/slug-z").text, "/v1/users/{id}");
}

TEST(PathTemplaterTest, NodeCapTurnsNewSegmentsIntoParameters) {
  TemplaterLimits limits;
  limits.max_nodes = 10;
  limits.param_threshold = 1000;
  PathTemplater t(limits);
  for (int i = 0; i < 50; ++i) t.Learn("/section" + std::to_string(i));
  EXPECT_LE(t.nodes(), 11u) << "the cap, plus the one parameter node the overflow goes to";
  EXPECT_EQ(t.node_limit_hits(), 40u);
  EXPECT_EQ(t.Learn("/zzz").text, "/{id}");
}

TEST(PathTemplaterTest, VeryDeepPathsEndInOneParameter) {
  TemplaterLimits limits;
  limits.max_segments = 4;
  PathTemplater t(limits);
  const TemplatedPath p = t.Learn("/a/b/c/d/e/f/g");
  EXPECT_EQ(p.text, "/a/b/c/d/{id}");
  EXPECT_THAT(p.values, ElementsAre("e/f/g"));
}

TEST(SplitTargetTest, PathAndQuery) {
  EXPECT_EQ(SplitTarget("/users/42?fields=name&x").path, "/users/42");
  EXPECT_EQ(SplitTarget("/users/42?fields=name&x").query, "fields=name&x");
  EXPECT_EQ(SplitTarget("/a#frag").path, "/a");
  EXPECT_EQ(SplitTarget("https://api.example.com/v1/x?y=1").path, "/v1/x");
  EXPECT_EQ(SplitTarget("https://api.example.com").path, "/");
  EXPECT_EQ(SplitTarget("?q=1").path, "/");
}

TEST(QueryParameterNamesTest, NamesThatLookLikeNamesOnly) {
  size_t skipped = 0;
  EXPECT_THAT(QueryParameterNames("limit=10&cursor=abc&limit=20&filter%5Bstatus%5D=open&ids[]=1&flag", &skipped),
              ElementsAre("limit", "cursor", "filter[status]", "ids[]", "flag"));
  EXPECT_EQ(skipped, 0u);
  EXPECT_THAT(QueryParameterNames("alice%40example.com=1&123456=x&ok=1&" + std::string(41, 'n') + "=1", &skipped),
              ElementsAre("ok"));
  EXPECT_EQ(skipped, 3u);
}

}  // namespace
}  // namespace rampart::apis
