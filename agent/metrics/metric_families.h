// Small builders for Prometheus metric families, so a collector can turn a
// status snapshot into the exposition format without keeping a second set of
// counters: every scrape reads the numbers the status already holds (the
// per-CPU maps, the capture and inspection counters), so metrics and
// `rampartctl status` can never disagree.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace rampart::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class FamilyBuilder {
 public:
  // `name` follows Prometheus conventions: rampart_ prefix, base units,
  // counters end in _total.
  FamilyBuilder(std::string name, std::string help, prometheus::MetricType type);

  FamilyBuilder& Add(double value, const Labels& labels = {});
  prometheus::MetricFamily Build() { return std::move(family_); }  // once

 private:
  prometheus::MetricFamily family_;
};

// The text exposition format (for tests and for one-shot dumps).
std::string ToText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace rampart::metrics
