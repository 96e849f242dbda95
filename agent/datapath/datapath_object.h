// Owns the loaded datapath BPF object (bpf/progs/datapath.bpf.c) through its
// skeleton: the ingress programs (XDP, TC) and the egress program (TC). Maps
// are pinned by name in the pin directory and reused when already pinned, so a
// restarted agent adopts the enforcement state in force.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct datapath_bpf;

namespace rampart::datapath {

// Sizes of the maps that are not per-policy. Changing one needs the old pins
// removed first (the kernel cannot resize a map); Load says so.
struct MapSizes {
  uint32_t bucket_entries = 131072;   // token buckets (LRU)
  uint32_t block_entries = 65536;     // blocklist entries
  uint32_t event_ring_bytes = 256 * 1024;  // drop events; a power of two, >= page size
};

class DatapathObject {
 public:
  // Opens and loads the object, reusing pinned maps under `pin_dir`.
  static absl::StatusOr<std::unique_ptr<DatapathObject>> Load(const std::string& pin_dir, const MapSizes& sizes = {});
  ~DatapathObject();
  DatapathObject(const DatapathObject&) = delete;
  DatapathObject& operator=(const DatapathObject&) = delete;

  int xdp_ingress_fd() const;
  int tc_ingress_fd() const;
  int tc_egress_fd() const;
  std::string ProgramName(int prog_fd) const;

  int ingress_hosts_fd() const;
  int egress_hosts_fd() const;
  int ingress_prefixes_fd() const;
  int egress_prefixes_fd() const;
  int lensets_fd() const;
  int ingress_lpm_fd() const;
  int egress_lpm_fd() const;
  int rulesets_fd() const;
  int gen_config_fd() const;
  int state_fd() const;
  int confined_fd() const;
  int block_fd() const;
  int buckets_fd() const;
  int reasons_fd() const;
  int rule_counters_fd() const;
  int errors_fd() const;
  int events_fd() const;

 private:
  explicit DatapathObject(datapath_bpf* skel) : skel_(skel) {}
  datapath_bpf* skel_;
};

}  // namespace rampart::datapath
