#include "agent/attacks/xss.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::attacks {
namespace {

struct Case {
  std::string input;
  const char* why;
};

class XssDetectsTest : public ::testing::TestWithParam<Case> {};

TEST_P(XssDetectsTest, ScoresAtLeastTheDefaultThreshold) {
  const Verdict verdict = DetectXss(GetParam().input);
  EXPECT_GE(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input;
  EXPECT_FALSE(verdict.reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Payloads, XssDetectsTest,
    ::testing::Values(
        Case{"<script>alert(1)</script>", "script tag"}, Case{"<ScRiPt SRC=//x.example/a.js>", "mixed case, src"},
        Case{std::string("<scr\0ipt>alert(1)</script>", 26), "NUL in the tag name"},
        Case{"<img src=x onerror=alert(1)>", "event handler"}, Case{"<svg/onload=alert(1)>", "slash separator"},
        Case{"<body onload=alert(1)", "unclosed tag"}, Case{"<iframe src=\"https://evil.example\">", "iframe"},
        Case{"<object data=\"x.swf\">", "object"}, Case{"<embed src=x.swf>", "embed"},
        Case{"<base href=\"https://evil.example/\">", "base"},
        Case{"<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">", "meta refresh"},
        Case{"<a href=\"javascript:alert(1)\">x</a>", "javascript URL"},
        Case{"<a href=\"jav&#x09;ascript&colon;alert(1)\">x</a>", "entity-obfuscated scheme"},
        Case{"<a href=' vbscript:msgbox(1)'>", "vbscript URL"},
        Case{"<iframe src=\"data:text/html,<script>alert(1)</script>\">", "data URL"},
        Case{"<a href=\"data:application/x;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">", "base64 markup"},
        Case{"<form><button formaction=javascript:alert(1)>x", "formaction"},
        Case{"<div style=\"width: expression(alert(1))\">", "CSS expression"},
        Case{"<div style=\"background:url(&#106;avascript:alert(1))\">", "script URL in CSS"},
        Case{"<div style=\"x:\\65xpression(alert(1))\">", "CSS escape"},
        Case{"\"><script>alert(1)</script>", "breaks out of a double-quoted attribute"},
        Case{"\" onmouseover=\"alert(1)", "handler added after a double quote"},
        Case{"' autofocus onfocus='alert(document.cookie)", "handler added after a single quote"},
        Case{"x onmouseover=alert(1)", "handler added to an unquoted attribute"},
        Case{"<!--[if gte IE 4]><script>alert(1)</script><![endif]-->", "conditional comment"},
        Case{"<svg><style><img src=x onerror=alert(1)>", "markup inside svg style"},
        Case{"<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>", "namespaced script"},
        Case{"javascript:alert(document.cookie)", "the whole value is a javascript URL"}));

class XssIgnoresTest : public ::testing::TestWithParam<Case> {};

TEST_P(XssIgnoresTest, ScoresBelowTheDefaultThreshold) {
  const Verdict verdict = DetectXss(GetParam().input);
  EXPECT_LT(verdict.score, 0.5) << GetParam().why << ": " << GetParam().input << " -> " << verdict.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Benign, XssIgnoresTest,
    ::testing::Values(Case{"a < b and c > d", "math"}, Case{"<3 love it", "heart"}, Case{"x<y>z", "letters"},
                      Case{"if a<b then c>d", "pseudo code"}, Case{"<b>bold</b> and <i>it</i>", "harmless markup"},
                      Case{"<a href=\"/help\">help</a>", "relative link"},
                      Case{"<img src=\"/logo.png\" alt=\"logo\">", "image"},
                      Case{"javascript: the good parts", "a book title"},
                      Case{"KNICKIN' AND KNACKIN' SEE WHAT ONFIRE'S PACKIN'", "word starting with on"},
                      Case{"online=yes", "attribute-like text"}, Case{"She said \"hi\" and 'bye'", "quotes"},
                      Case{"", "empty"}));

TEST(XssTest, SignatureNamesTheConstructNotTheInput) {
  const Verdict verdict = DetectXss("<img src=x onerror=stealSecretToken()>");
  EXPECT_EQ(verdict.signature, "xss event-handler");
  EXPECT_EQ(verdict.reason.find("stealSecretToken"), std::string::npos);
}

TEST(XssTest, AScriptTagOutranksABareFrame) {
  EXPECT_GT(XssScore("<script>alert(1)</script>"), XssScore("<iframe>"));
}

TEST(XssTest, AHandlerWithoutCodeIsNotAnAttack) {
  EXPECT_LT(XssScore("<input onclick>"), 0.5);
  EXPECT_GE(XssScore("<input onclick=go()>"), 0.5);
}

}  // namespace
}  // namespace rampart::attacks
