// Serves /metrics in the Prometheus text format over HTTP (prometheus-cpp's
// pull exposer, civetweb inside). What it serves is computed on each scrape
// by `collect`, on the exposer's thread.
//
// Plain HTTP on the address given: bind it to loopback (the default in the
// units) or to an interface only the scraper can reach. Metrics carry counts,
// names of policies, rules and detectors, never captured data.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
}

namespace rampart::metrics {

class MetricsEndpoint {
 public:
  using Collect = std::function<std::vector<prometheus::MetricFamily>()>;

  // `address` is HOST:PORT; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address, Collect collect);
  ~MetricsEndpoint();

  int port() const;

 private:
  class Collector;
  MetricsEndpoint() = default;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace rampart::metrics
