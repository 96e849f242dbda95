#include "agent/attacks/path_traversal.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::attacks {
namespace {

TEST(PathTraversalTest, ClimbingToASensitiveFileScoresHighestAndNamesIt) {
  const Verdict verdict = DetectPathTraversal("../../../etc/passwd");
  EXPECT_GE(verdict.score, 0.9);
  EXPECT_EQ(verdict.reason, "climbs 3 directories above its root to /etc/passwd");
  EXPECT_EQ(verdict.signature, "path-traversal /etc/passwd");
}

TEST(PathTraversalTest, ScoresByHowFarThePathClimbs) {
  EXPECT_LT(PathTraversalScore("../images/logo.png"), 0.5);  // a relative link
  EXPECT_GE(PathTraversalScore("../../secret/key"), 0.5);
  EXPECT_GT(PathTraversalScore("../../../../a"), PathTraversalScore("../../a"));
}

TEST(PathTraversalTest, ResolvesDotDotInsideThePathBeforeJudging) {
  EXPECT_EQ(PathTraversalScore("/static/css/../img/a.png"), 0);
  EXPECT_GE(PathTraversalScore("/static/../../../../etc/shadow"), 0.9);
}

TEST(PathTraversalTest, TreatsBackslashesAsSeparators) {
  EXPECT_GE(PathTraversalScore("..\\..\\..\\windows\\win.ini"), 0.9);
}

TEST(PathTraversalTest, ReadsTomcatPathParametersOnDotDot) {
  EXPECT_GE(PathTraversalScore("..;/..;/WEB-INF/web.xml"), 0.9);
}

TEST(PathTraversalTest, FlagsAbsolutePathsToSensitiveFiles) {
  EXPECT_GE(PathTraversalScore("/etc/passwd"), 0.8);
  EXPECT_GE(PathTraversalScore("file:///proc/self/environ"), 0.8);
  EXPECT_GE(PathTraversalScore("C:\\Windows\\win.ini"), 0.8);
  EXPECT_EQ(PathTraversalScore("/home/user/docs/readme.md"), 0);
}

TEST(PathTraversalTest, ASentenceMentioningAFileIsNotAPath) {
  EXPECT_LT(PathTraversalScore("Edit your /etc/hosts file to add the name"), 0.5);
}

TEST(PathTraversalTest, ANulByteTruncatesThePathAndIsSuspiciousItself) {
  const Verdict verdict = DetectPathTraversal(std::string_view("../../../etc/passwd\0.png", 24));
  EXPECT_GE(verdict.score, 0.9);
  EXPECT_NE(verdict.reason.find("NUL"), std::string::npos);
  EXPECT_GE(PathTraversalScore(std::string_view("photo.jpg\0.php", 14)), 0.5);
}

TEST(PathTraversalTest, SeesThroughFiltersThatStripDotDotSlashOnce) {
  const Verdict verdict = DetectPathTraversal("....//....//....//etc/passwd");
  EXPECT_GE(verdict.score, 0.8);
}

TEST(PathTraversalTest, IgnoresOrdinaryNamesWithDots) {
  EXPECT_EQ(PathTraversalScore("report.final.v2.pdf"), 0);
  EXPECT_EQ(PathTraversalScore("wait... what?"), 0);
  EXPECT_EQ(PathTraversalScore("archive.tar.gz"), 0);
}

}  // namespace
}  // namespace rampart::attacks
