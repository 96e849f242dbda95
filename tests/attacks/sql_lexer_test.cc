#include "agent/attacks/sql_lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rampart::attacks {
namespace {

// The kinds of all tokens, one letter each ("s&sos").
std::string Kinds(std::string_view input, SqlContext context = SqlContext::kAsIs) {
  std::string kinds;
  for (const SqlToken& token : LexSql(input, context)) kinds.push_back(static_cast<char>(token.kind));
  return kinds;
}

std::vector<std::string> Texts(std::string_view input, SqlContext context = SqlContext::kAsIs) {
  std::vector<std::string> texts;
  for (const SqlToken& token : LexSql(input, context)) texts.emplace_back(token.text);
  return texts;
}

TEST(SqlLexerTest, StartsInsideTheApplicationsStringInQuotedContexts) {
  const std::vector<SqlToken> tokens = LexSql("1' or '1'='1", SqlContext::kSingleQuote);
  ASSERT_EQ(Kinds("1' or '1'='1", SqlContext::kSingleQuote), "s&sos");
  EXPECT_TRUE(tokens[0].from_context);
  EXPECT_TRUE(tokens[0].closed);
  EXPECT_EQ(tokens[0].text, "1");
  EXPECT_FALSE(tokens.back().closed);  // left for the application's closing quote
  EXPECT_EQ(Kinds("1\" or \"1\"=\"1", SqlContext::kDoubleQuote), "s&sos");
}

TEST(SqlLexerTest, HonoursBackslashAndDoubledQuoteEscapes) {
  EXPECT_EQ(Kinds("'it''s' 'a\\'b'"), "ss");
  EXPECT_EQ(Texts("x\\' or 1=1", SqlContext::kSingleQuote).size(), 1u);  // the quote is escaped: all one string
}

TEST(SqlLexerTest, ReadsStringPrefixesAndDollarQuoting) {
  EXPECT_EQ(Kinds("N'abc' x'41' _utf8 'z' $$body$$ $t$b$t$"), "sssss");
}

TEST(SqlLexerTest, ReadsNumbersInEveryNotation) {
  EXPECT_EQ(Texts("0x41 0b101 1.5e-3 .5 42"), (std::vector<std::string>{"0x41", "0b101", "1.5e-3", ".5", "42"}));
  EXPECT_EQ(Kinds("0x41 0b101 1.5e-3 .5 42"), "11111");
}

TEST(SqlLexerTest, SplitsNumbersFromKeywordsButKeepsNamesThatStartWithDigits) {
  EXPECT_EQ(Kinds("1and 1=1"), "1&1o1");
  EXPECT_EQ(Kinds("1union select"), "1UE");
  EXPECT_EQ(Kinds("1abc"), "n");
}

TEST(SqlLexerTest, ReadsAllCommentStyles) {
  EXPECT_EQ(Kinds("1 -- x"), "1c");
  EXPECT_EQ(Kinds("1 # x\nor 2"), "1c&1");
  EXPECT_EQ(Kinds("union/**/select"), "UcE");
  EXPECT_FALSE(LexSql("1 /* open", SqlContext::kAsIs).back().closed);
}

TEST(SqlLexerTest, LexesMySqlExecutableCommentsAsCode) {
  EXPECT_EQ(Kinds("1 /*!UNION*/ /*!50000SELECT*/ 2"), "1UE1");
  EXPECT_EQ(Kinds("/*!0SELECT*/ 1"), "E1");
}

TEST(SqlLexerTest, ClassifiesWordsFromTheDictionary) {
  EXPECT_EQ(Kinds("SELECT a FROM t WHERE NULL IS NOT TRUE UNION ALL"), "Enknklo&lUk");
  EXPECT_EQ(Kinds("x LIKE y DIV 2"), "nono1");
}

TEST(SqlLexerTest, MakesAWordFollowedByAParenthesisAFunction) {
  EXPECT_EQ(Kinds("sleep(5) sleep"), "f(1)n");
  EXPECT_EQ(Kinds("my_udf (1)"), "f(1)");
  EXPECT_EQ(Kinds("x IN (1)"), "no(1)");  // operators stay operators
  EXPECT_EQ(LexSql("BENCHMARK(1,2)", SqlContext::kAsIs)[0].word.risk, SqlRisk::kTimeDelay);
}

TEST(SqlLexerTest, ReadsVariablesQuotedNamesAndQualifiedNames) {
  EXPECT_EQ(Kinds("@a @@version @# `t` [dbo].[users] information_schema.tables users.*"), "vvvnnnn");
  EXPECT_TRUE(LexSql("information_schema.tables", SqlContext::kAsIs)[0].word.catalog);
  EXPECT_EQ(LexSql("master..xp_cmdshell 'dir'", SqlContext::kAsIs)[0].word.risk, SqlRisk::kSystem);
}

TEST(SqlLexerTest, ReadsMultiCharacterOperatorsAndLogicSymbols) {
  EXPECT_EQ(Texts("a<=>b||c&&d!=e"), (std::vector<std::string>{"a", "<=>", "b", "||", "c", "&&", "d", "!=", "e"}));
  EXPECT_EQ(Kinds("a<=>b||c&&d!=e"), "non&n&non");
}

TEST(SqlLexerTest, TreatsControlCharactersAndLatin1NoBreakSpaceAsWhitespace) {
  EXPECT_EQ(Kinds("1\x0bUNION\xa0SELECT\x0c" "2"), "1UE1");
}

TEST(SqlLexerTest, NeverFailsOnArbitraryBytes) {
  EXPECT_EQ(Kinds("{?}\\"), "????");
  EXPECT_EQ(Kinds(""), "");
}

}  // namespace
}  // namespace rampart::attacks
