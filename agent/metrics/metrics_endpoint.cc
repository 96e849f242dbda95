#include "agent/metrics/metrics_endpoint.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <exception>

#include "agent/common/strings.h"

namespace rampart::metrics {

class MetricsEndpoint::Collector final : public prometheus::Collectable {
 public:
  explicit Collector(MetricsEndpoint::Collect collect) : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return collect_(); }

 private:
  const MetricsEndpoint::Collect collect_;
};

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& address, Collect collect) {
  const size_t colon = address.rfind(':');
  if (address.empty() || colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(rampart::StrCat("metrics address \"", address, "\": expected HOST:PORT"));
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->collector_ = std::make_shared<Collector>(std::move(collect));
  try {
    // One thread: scrapes are rare and each reads the whole status.
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(rampart::StrCat("metrics: listen on ", address, ": ", e.what()));
  }
  endpoint->exposer_->RegisterCollectable(endpoint->collector_);
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() = default;

int MetricsEndpoint::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace rampart::metrics
