#include "agent/attacks/input_extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace rampart::attacks {
namespace {

using ::testing::Contains;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;

// location -> final decoded form
std::map<std::string, std::string> Extract(const http::Message& request, const ExtractionLimits& limits = {}) {
  std::map<std::string, std::string> out;
  for (const Input& input : ExtractInputs(request, limits)) out[input.location] = input.decoded.final_form();
  return out;
}

http::Message Get(std::string target) {
  http::Message request;
  request.method = "GET";
  request.target = std::move(target);
  return request;
}

http::Message Post(std::string content_type, std::string body) {
  http::Message request = Get("/api");
  request.method = "POST";
  request.headers.push_back({"content-type", std::move(content_type)});
  request.body = std::move(body);
  return request;
}

TEST(InputExtractorTest, SplitsTheQueryIntoDecodedNamesAndValues) {
  const auto inputs = Extract(Get("/search?q=a+b%27&id=7&flag"));
  EXPECT_THAT(inputs, Contains(Pair("request.query q", "a b'")));
  EXPECT_THAT(inputs, Contains(Pair("request.query id", "7")));
  EXPECT_THAT(inputs, Contains(Pair("request.query q (name)", "q")));
  EXPECT_THAT(inputs, Contains(Pair("request.query flag (name)", "flag")));
}

TEST(InputExtractorTest, NamesParametersThatAreNotIdentifiersByPosition) {
  const auto inputs = Extract(Get("/?a=1&%3Cscript%3E=2"));
  EXPECT_THAT(inputs, Contains(Pair("request.query #1 (name)", "<script>")));
  EXPECT_THAT(inputs, Contains(Pair("request.query #1", "2")));
  for (const auto& [location, value] : inputs) EXPECT_EQ(location.find("<script>"), std::string::npos) << location;
}

TEST(InputExtractorTest, GivesThePathWholeAndBySegment) {
  const auto inputs = Extract(Get("/files/..%2F..%2Fetc/passwd?x=1"));
  EXPECT_THAT(inputs, Contains(Pair("request.path", "/files/../../etc/passwd")));
  EXPECT_THAT(inputs, Contains(Pair("request.path segment 1", "files")));
  EXPECT_THAT(inputs, Contains(Pair("request.path segment 2", "../../etc")));
  EXPECT_THAT(inputs, Contains(Pair("request.path segment 3", "passwd")));
}

TEST(InputExtractorTest, DropsSchemeAndAuthorityOfAbsoluteFormTargets) {
  const auto inputs = Extract(Get("http://localhost:8080/shop/item.jsp?id=3"));
  EXPECT_THAT(inputs, Contains(Pair("request.path", "/shop/item.jsp")));
  EXPECT_THAT(inputs, Contains(Pair("request.query id", "3")));
}

TEST(InputExtractorTest, ReadsUrlEncodedFormBodies) {
  const auto inputs = Extract(Post("application/x-www-form-urlencoded; charset=utf-8", "user=ann+lee&pwd=s%3Dcret"));
  EXPECT_THAT(inputs, Contains(Pair("request.body user", "ann lee")));
  EXPECT_THAT(inputs, Contains(Pair("request.body pwd", "s=cret")));
}

TEST(InputExtractorTest, ReadsEachJsonStringAndKey) {
  const auto inputs = Extract(Post("application/json", R"({"filter": {"name": "x\u0027"}, "ids": [1, "2"]})"));
  EXPECT_THAT(inputs, Contains(Pair("request.body $.filter.name", "x'")));
  EXPECT_THAT(inputs, Contains(Pair("request.body $.ids[1]", "2")));
  EXPECT_THAT(inputs, Contains(Pair("request.body $.filter.name (key)", "name")));
}

TEST(InputExtractorTest, TakesJsonWithoutContentTypeButNotOtherBodies) {
  http::Message json = Get("/api");
  json.body = R"({"a": "b"})";
  EXPECT_THAT(Extract(json), Contains(Pair("request.body $.a", "b")));
  const auto text = Extract(Post("text/plain", "just' some text"));
  EXPECT_THAT(text, Not(Contains(Key(::testing::StartsWith("request.body")))));
}

TEST(InputExtractorTest, ReadsMultipartFieldsAndOnlyTheNameOfUploadedFiles) {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmy ' title\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"../../x.php\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n<?php system($_GET['c']); ?>\r\n--XyZ--\r\n";
  const auto inputs = Extract(Post("multipart/form-data; boundary=XyZ", body));
  EXPECT_THAT(inputs, Contains(Pair("request.body part title", "my ' title")));
  EXPECT_THAT(inputs, Contains(Pair("request.body part doc (filename)", "../../x.php")));
  for (const auto& [location, value] : inputs) EXPECT_EQ(value.find("system"), std::string::npos) << location;
}

TEST(InputExtractorTest, ReadsEachCookie) {
  http::Message request = Get("/");
  request.headers.push_back({"cookie", "session=abc%27; theme=dark"});
  const auto inputs = Extract(request);
  EXPECT_THAT(inputs, Contains(Pair("request.cookie session", "abc'")));
  EXPECT_THAT(inputs, Contains(Pair("request.cookie theme", "dark")));
}

TEST(InputExtractorTest, InspectsFreeTextHeadersAndSkipsProtocolAndSecretOnes) {
  http::Message request = Get("/");
  request.headers.push_back({"user-agent", "curl/8"});
  request.headers.push_back({"x-forwarded-for", "10.0.0.1"});
  request.headers.push_back({"x-custom", "v"});
  request.headers.push_back({"authorization", "Bearer secret"});
  request.headers.push_back({"accept", "*/*"});
  request.headers.push_back({"host", "example.com"});
  const auto inputs = Extract(request);
  EXPECT_THAT(inputs, Contains(Pair("request.header user-agent", "curl/8")));
  EXPECT_THAT(inputs, Contains(Pair("request.header x-forwarded-for", "10.0.0.1")));
  EXPECT_THAT(inputs, Contains(Pair("request.header x-custom", "v")));
  EXPECT_THAT(inputs, Not(Contains(Key("request.header authorization"))));
  EXPECT_THAT(inputs, Not(Contains(Key("request.header accept"))));
  EXPECT_THAT(inputs, Not(Contains(Key("request.header host"))));
}

TEST(InputExtractorTest, SplitsTheRefererIntoPathAndQueryParameters) {
  http::Message request = Get("/");
  request.headers.push_back({"referer", "https://shop.example/search?q=%3Cb%3E&page=2"});
  const auto inputs = Extract(request);
  EXPECT_THAT(inputs, Contains(Pair("request.header referer", "/search")));
  EXPECT_THAT(inputs, Contains(Pair("request.header referer query q", "<b>")));
  EXPECT_THAT(inputs, Contains(Pair("request.header referer query page", "2")));
}

TEST(InputExtractorTest, KeepsEveryDecodingRoundOfAValue) {
  const std::vector<Input> inputs = ExtractInputs(Get("/?q=%252527"), {});
  const Input* q = nullptr;
  for (const Input& input : inputs) {
    if (input.location == "request.query q") q = &input;
  }
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->source, InputSource::kQueryValue);
  EXPECT_EQ(q->decoded.forms, (std::vector<std::string>{"%2527", "%27", "'"}));
}

TEST(InputExtractorTest, RespectsTheInputCountAndValueSizeLimits) {
  ExtractionLimits limits;
  limits.max_inputs = 3;
  limits.max_value_bytes = 4;
  const std::vector<Input> inputs = ExtractInputs(Get("/p?a=123456&b=2&c=3"), limits);
  ASSERT_EQ(inputs.size(), 3u);
  for (const Input& input : inputs) EXPECT_LE(input.decoded.forms[0].size(), 4u);
}

}  // namespace
}  // namespace rampart::attacks
