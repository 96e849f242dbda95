// rampartd's metrics, all derived from one status snapshot (the same one
// `rampartctl status` shows). Names and labels are documented in docs/metrics.md.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "rampart/v1/agent_api.pb.h"

namespace rampart::metrics {

std::vector<prometheus::MetricFamily> AgentMetrics(const v1::AgentStatus& status);

}  // namespace rampart::metrics
