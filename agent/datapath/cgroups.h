// cgroup v2 lookups for egress rules scoped to a unit or a cgroup path. A
// cgroup's id, as bpf_skb_cgroup_id() reports it, is the inode number of its
// directory in the cgroup v2 hierarchy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rampart::datapath {

// Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts,
// /sys/fs/cgroup/unified on hybrid ones; "" when it is not mounted.
std::string Cgroup2Mount();

// kind "cgroup": `name` is a path below the cgroup v2 root ("/system.slice/x").
// kind "unit": NAME.service and NAME.socket are looked up in system.slice,
// NAME.slice at the root ("a-b.slice" nests as a.slice/a-b.slice), and any
// unit, failing those, by a bounded search of the tree.
// nullopt when the cgroup does not exist (e.g. the unit is not running).
std::optional<uint64_t> ResolveCgroup(const std::string& kind, const std::string& name);

}  // namespace rampart::datapath
