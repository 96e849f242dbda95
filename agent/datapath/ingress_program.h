// Owns the loaded ingress BPF object (bpf/progs/ingress.bpf.c) through its
// skeleton. Maps are pinned by name in the pin directory and reused when
// already pinned, so a restarted agent adopts the enforcement state in force.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct ingress_bpf;

namespace rampart::datapath {

class IngressProgram {
 public:
  // Opens and loads the object, reusing pinned maps under `pin_dir`.
  static absl::StatusOr<std::unique_ptr<IngressProgram>> Load(const std::string& pin_dir);
  ~IngressProgram();
  IngressProgram(const IngressProgram&) = delete;
  IngressProgram& operator=(const IngressProgram&) = delete;

  int xdp_prog_fd() const;
  std::string xdp_prog_name() const;
  int lpm_fd() const;
  int rulesets_fd() const;
  int gen_config_fd() const;
  int state_fd() const;
  int reasons_fd() const;
  int rule_counters_fd() const;

 private:
  explicit IngressProgram(ingress_bpf* skel) : skel_(skel) {}
  ingress_bpf* skel_;
};

}  // namespace rampart::datapath
