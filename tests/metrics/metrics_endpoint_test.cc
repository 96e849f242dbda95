// The /metrics endpoint over real HTTP on 127.0.0.1: it serves what the
// collector computes at scrape time, and a bad or busy address is a clear
// one-line error.
#include "agent/metrics/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/metrics/metric_families.h"

namespace rampart::metrics {
namespace {

using ::testing::HasSubstr;

// GET /metrics from 127.0.0.1:port; the whole response, headers included.
std::string Scrape(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsEndpoint, ServesWhatTheCollectorComputesAtEachScrape) {
  std::atomic<int> scrapes{0};
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", [&] {
    const int n = ++scrapes;
    return std::vector<prometheus::MetricFamily>{
        FamilyBuilder("rampart_test_scrapes_total", "Scrapes so far.", prometheus::MetricType::Counter)
            .Add(n)
            .Build()};
  });
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const int port = (*endpoint)->port();
  ASSERT_GT(port, 0);

  std::string first = Scrape(port);
  EXPECT_THAT(first, HasSubstr("200 OK"));
  EXPECT_THAT(first, HasSubstr("text/plain"));
  EXPECT_THAT(first, HasSubstr("rampart_test_scrapes_total 1"));
  EXPECT_THAT(Scrape(port), HasSubstr("rampart_test_scrapes_total 2"));
}

TEST(MetricsEndpoint, RefusesAnAddressWithoutAPort) {
  auto endpoint = MetricsEndpoint::Start("127.0.0.1", [] { return std::vector<prometheus::MetricFamily>{}; });
  ASSERT_FALSE(endpoint.ok());
  EXPECT_EQ(std::string(endpoint.status().message()), "metrics address \"127.0.0.1\": expected HOST:PORT");
}

TEST(MetricsEndpoint, ABusyPortIsAClearError) {
  auto first = MetricsEndpoint::Start("127.0.0.1:0", [] { return std::vector<prometheus::MetricFamily>{}; });
  ASSERT_TRUE(first.ok());
  const std::string address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsEndpoint::Start(address, [] { return std::vector<prometheus::MetricFamily>{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("metrics: listen on " + address));
}

}  // namespace
}  // namespace rampart::metrics
