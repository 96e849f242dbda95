#include "agent/datapath/ingress_program.h"

#include <errno.h>

#include "agent/common/errors.h"
#include "ingress.skel.h"

namespace rampart::datapath {

absl::StatusOr<std::unique_ptr<IngressProgram>> IngressProgram::Load(const std::string& pin_dir) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir.c_str());
  ingress_bpf* skel = ingress_bpf__open_opts(&opts);
  if (!skel) return ErrnoError(errno, "open BPF object ingress.bpf.o");
  std::unique_ptr<IngressProgram> program(new IngressProgram(skel));
  if (int err = ingress_bpf__load(skel); err != 0) {
    return ErrnoError(err, "load BPF object ingress.bpf.o (pins in " + pin_dir + ")");
  }
  return program;
}

IngressProgram::~IngressProgram() { ingress_bpf__destroy(skel_); }

int IngressProgram::xdp_prog_fd() const { return bpf_program__fd(skel_->progs.rampart_xdp_ingress); }
std::string IngressProgram::xdp_prog_name() const { return bpf_program__name(skel_->progs.rampart_xdp_ingress); }
int IngressProgram::lpm_fd() const { return bpf_map__fd(skel_->maps.rampart_ing_lpm); }
int IngressProgram::rulesets_fd() const { return bpf_map__fd(skel_->maps.rampart_rsets); }
int IngressProgram::gen_config_fd() const { return bpf_map__fd(skel_->maps.rampart_gencfg); }
int IngressProgram::state_fd() const { return bpf_map__fd(skel_->maps.rampart_state); }
int IngressProgram::reasons_fd() const { return bpf_map__fd(skel_->maps.rampart_reasons); }
int IngressProgram::rule_counters_fd() const { return bpf_map__fd(skel_->maps.rampart_rulecnt); }

}  // namespace rampart::datapath
