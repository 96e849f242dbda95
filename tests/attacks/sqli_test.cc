#include "agent/attacks/sqli.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::attacks {
namespace {

struct Case {
  const char* input;
  const char* why;
};

class SqliDetectsTest : public ::testing::TestWithParam<Case> {};

TEST_P(SqliDetectsTest, ScoresAtLeastTheDefaultThreshold) {
  const SqliVerdict verdict = DetectSqli(GetParam().input);
  EXPECT_GE(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input;
  EXPECT_FALSE(verdict.reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Injections, SqliDetectsTest,
    ::testing::Values(Case{"1' OR '1'='1", "tautology after a single quote"},
                      Case{"\" or \"\"=\"", "tautology after a double quote"},
                      Case{"' or 1=1--", "tautology cut off by a comment"},
                      Case{"admin'--", "login bypass: close and cut off"},
                      Case{"admin') #", "login bypass closing a parenthesis"},
                      Case{"1 or 1=1", "tautology in a numeric value"},
                      Case{"-1 UNION SELECT username, password FROM users", "union select"},
                      Case{"1' UnIoN/**/sElEcT/**/1,2,3#", "mixed case, comments as spaces"},
                      Case{"1'/*!50000UNION*//*!50000SELECT*/1,2-- -", "MySQL executable comments"},
                      Case{"1; DROP TABLE users", "stacked drop"},
                      Case{"x'; EXEC master..xp_cmdshell 'dir'--", "stacked system procedure"},
                      Case{"1 AND SLEEP(5)", "time delay"},
                      Case{"1' WAITFOR DELAY '0:0:5'--", "T-SQL delay without a semicolon"},
                      Case{"1 ORDER BY 5--", "column count probe"},
                      Case{"1' AND extractvalue(1,concat(0x7e,version()))-- -", "error-based extraction"},
                      Case{"1 AND ascii(substring(database(),1,1))>100", "blind extraction"},
                      Case{"(select password from users limit 1)", "subquery"},
                      Case{"1 INTO OUTFILE '/var/www/shell.php'", "writes a file"},
                      Case{"1' AND 1=IF(2>1,BENCHMARK(5000000,MD5(1)),0)--", "conditional delay"},
                      Case{"1 having 1=1", "HAVING probe"},
                      Case{"HOPE AND 8=3", "a test with a fixed answer after a name"},
                      Case{"1 order by ifnull(null,userid)", "ORDER BY a call"},
                      Case{"case when 1=1 then 1 else 0 end", "CASE expression"},
                      Case{"1'||(SELECT pg_sleep(5))||'", "concatenated subquery"},
                      Case{"select * from users where id=1", "a complete query"}));

class SqliIgnoresTest : public ::testing::TestWithParam<Case> {};

TEST_P(SqliIgnoresTest, ScoresBelowTheDefaultThreshold) {
  const SqliVerdict verdict = DetectSqli(GetParam().input);
  EXPECT_LT(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input << " -> " << verdict.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Benign, SqliIgnoresTest,
    ::testing::Values(Case{"O'Reilly", "name with an apostrophe"}, Case{"don't or won't", "contractions around or"},
                      Case{"I'm afraid so. You're entirely bonkers", "prose with apostrophes"},
                      Case{"rock 'n' roll", "quoted letter"}, Case{"1950 or 1960", "two numbers and or"},
                      Case{"10 OR LESS", "number, or, word"}, Case{"Select your country from the list", "prose"},
                      Case{"union workers select leaders", "prose with union and select"},
                      Case{"Drop me a line or call", "prose with drop"},
                      Case{"x >= 10 && y <= 20", "a formula"}, Case{"a < b and c > d", "math"},
                      Case{"John's car; Mary's bike", "apostrophes and a semicolon"},
                      Case{"SMALL \"&\" SIGN", "quoted symbol"}, Case{"\"LIKE\" STAMP", "quoted keyword"},
                      Case{"TRUE#LAST", "hash in a word"}, Case{"BAMBOO CHARCOAL SOAP 1 '#", "prose then quote and hash"},
                      Case{"1; exec will create the case", "exec in prose"},
                      Case{"User(login_name)", "an application function named like USER()"},
                      Case{"select x from y where", "a sentence about SQL"},
                      Case{"He said \"select all\" and left", "a quoted phrase starting with a keyword"},
                      Case{"", "empty"}));

TEST(SqliTest, ReportsTheContextOfTheStrongestReading) {
  EXPECT_EQ(DetectSqli("1' OR '1'='1").context, SqlContext::kSingleQuote);
  EXPECT_EQ(DetectSqli("1\" OR \"1\"=\"1").context, SqlContext::kDoubleQuote);
  EXPECT_EQ(DetectSqli("1 OR 1=1").context, SqlContext::kAsIs);
  EXPECT_NE(DetectSqli("1' OR '1'='1").reason.find("after a single quote"), std::string::npos);
}

TEST(SqliTest, SignatureIsTheTokenFingerprintNotTheInput) {
  const SqliVerdict verdict = DetectSqli("secretvalue' OR 1=1--");
  EXPECT_EQ(verdict.signature, "sqli fingerprint s&1o1c");
  EXPECT_EQ(verdict.reason.find("secretvalue"), std::string::npos);
}

TEST(SqliTest, RanksDangerousConstructsAboveWeakOnes) {
  EXPECT_GT(SqliScore("1 UNION SELECT password FROM users"), SqliScore("1' or 'a"));
  EXPECT_GT(SqliScore("1; DROP TABLE users"), SqliScore("1 OR 1"));
  EXPECT_GT(SqliScore("x' OR 1=1 --"), SqliScore("x' OR 1=1"));  // the dangling closing quote
}

TEST(SqliTest, EnglishThatBreaksOffMidParseGetsNoCreditForItsStart) {
  // "or 1=1" would be a tautology, but the sentence does not parse as SQL.
  EXPECT_EQ(SqliScore("it's 1 or 1=1 for sure"), 0);
}

TEST(SqliTest, StrongConstructsCountEvenWhenTrailingTextDoesNotParse) {
  EXPECT_GE(SqliScore("-1 UNION SELECT 1,2,concat(user,0x3a,password) FROM mysql.user // junk ..."), 0.8);
}

}  // namespace
}  // namespace rampart::attacks
