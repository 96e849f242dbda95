// rampart-cp's metrics, derived on each scrape from the fleet's node table and
// the event store (docs/metrics.md).
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "rampart/v1/admin.pb.h"
#include "rampart/v1/events.pb.h"

namespace rampart::cp {

std::vector<prometheus::MetricFamily> ControlPlaneMetrics(const v1::ListNodesReply& nodes,
                                                          const v1::EventStats& events);

}  // namespace rampart::cp
