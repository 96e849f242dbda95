// Human-readable rendering of `rampartctl policy show` and `policy trace`.
#pragma once

#include <string>

#include "rampart/v1/agent_api.pb.h"

namespace rampart::cli {

// The policy in force: version and source, the node-wide defaults and
// interfaces, the rules of each direction (egress scopes with their cgroups),
// rate limits in match order, each policy's own settings, inspection.
std::string RenderAppliedPolicy(const v1::AppliedPolicy& policy);

// "ingress tcp 10.0.0.5:40000 -> 10.0.0.1:8080", the packet as traced.
std::string DescribeTracedPacket(const v1::TracePacketRequest& request);
// The steps, then "Verdict: DROP (drop_default)".
std::string RenderPacketTrace(const v1::TracePacketRequest& request, const v1::PacketTrace& trace);
// The families in force, one row per finding with its verdict, then the verdict.
std::string RenderHttpTrace(const std::string& file, const v1::HttpTrace& trace);

}  // namespace rampart::cli
