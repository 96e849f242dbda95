#include "agent/attacks/json_walker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rampart::attacks {
namespace {

using ::testing::ElementsAre;

struct Seen {
  std::string path;
  std::string value;
  bool is_key;
  bool operator==(const Seen&) const = default;
};

void PrintTo(const Seen& seen, std::ostream* os) {
  *os << (seen.is_key ? "key " : "value ") << seen.path << " = " << seen.value;
}

std::vector<Seen> Walk(std::string_view json, bool* ok = nullptr, int max_depth = 64) {
  std::vector<Seen> seen;
  const bool result = WalkJsonStrings(
      json, [&](std::string_view path, std::string_view value, bool is_key) {
        seen.push_back({std::string(path), std::string(value), is_key});
      },
      max_depth);
  if (ok != nullptr) *ok = result;
  return seen;
}

TEST(JsonWalkerTest, VisitsKeysAndStringValuesWithTheirPaths) {
  bool ok = false;
  EXPECT_THAT(Walk(R"({"user": {"name": "ann", "tags": ["a", "b"]}, "n": 3, "t": true})", &ok),
              ElementsAre(Seen{"$.user", "user", true}, Seen{"$.user.name", "name", true},
                          Seen{"$.user.name", "ann", false}, Seen{"$.user.tags", "tags", true},
                          Seen{"$.user.tags[0]", "a", false}, Seen{"$.user.tags[1]", "b", false},
                          Seen{"$.n", "n", true}, Seen{"$.t", "t", true}));
  EXPECT_TRUE(ok);
}

TEST(JsonWalkerTest, DecodesEscapesInValuesAndKeys) {
  EXPECT_THAT(Walk(R"({"q\u0027": "x\u0027 OR \"1\"\\\/\n"})"),
              ElementsAre(Seen{"$.#0", "q'", true}, Seen{"$.#0", "x' OR \"1\"\\/\n", false}));
}

TEST(JsonWalkerTest, WritesNonIdentifierKeysAsTheirPosition) {
  EXPECT_THAT(Walk(R"({"ok": "1", "<script>": "2"})"),
              ElementsAre(Seen{"$.ok", "ok", true}, Seen{"$.ok", "1", false}, Seen{"$.#1", "<script>", true},
                          Seen{"$.#1", "2", false}));
}

TEST(JsonWalkerTest, ReportsATopLevelString) { EXPECT_THAT(Walk(R"("hi")"), ElementsAre(Seen{"$", "hi", false})); }

TEST(JsonWalkerTest, VisitsStringsBeforeASyntaxErrorAndReportsTheError) {
  bool ok = true;
  EXPECT_THAT(Walk(R"({"a": "one", "b": oops, "c": "never"})", &ok),
              ElementsAre(Seen{"$.a", "a", true}, Seen{"$.a", "one", false}, Seen{"$.b", "b", true}));
  EXPECT_FALSE(ok);
}

TEST(JsonWalkerTest, ReportsTheStartOfAStringCutOffByTruncation) {
  bool ok = true;
  EXPECT_THAT(Walk(R"({"a": "' UNION SEL)", &ok), ElementsAre(Seen{"$.a", "a", true}, Seen{"$.a", "' UNION SEL", false}));
  EXPECT_FALSE(ok);
}

TEST(JsonWalkerTest, StopsAtTheDepthLimit) {
  bool ok = true;
  EXPECT_THAT(Walk(R"([[["deep"]]])", &ok, 2), ElementsAre());
  EXPECT_FALSE(ok);
  EXPECT_THAT(Walk(R"([[["deep"]]])", &ok, 3), ElementsAre(Seen{"$[0][0][0]", "deep", false}));
  EXPECT_TRUE(ok);
}

TEST(JsonWalkerTest, RejectsTrailingGarbage) {
  bool ok = true;
  Walk(R"({"a": 1} x)", &ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace rampart::attacks
