#include "agent/datapath/datapath_object.h"

#include <bpf/bpf.h>
#include <errno.h>

#include "agent/common/strings.h"
#include "agent/common/errors.h"
#include "datapath.skel.h"

namespace rampart::datapath {

absl::StatusOr<std::unique_ptr<DatapathObject>> DatapathObject::Load(const std::string& pin_dir,
                                                                     const MapSizes& sizes) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir.c_str());
  datapath_bpf* skel = datapath_bpf__open_opts(&opts);
  if (!skel) return ErrnoError(errno, "open BPF object datapath.bpf.o");
  std::unique_ptr<DatapathObject> object(new DatapathObject(skel));
  bpf_map__set_max_entries(skel->maps.rampart_buckets, sizes.bucket_entries);
  bpf_map__set_max_entries(skel->maps.rampart_block, sizes.block_entries);
  bpf_map__set_max_entries(skel->maps.rampart_events, sizes.event_ring_bytes);
  if (int err = datapath_bpf__load(skel); err != 0) {
    std::string what = rampart::StrCat("load BPF object datapath.bpf.o (pins in ", pin_dir, ")");
    if (err == -EINVAL) {
      what += "; if a map size changed, the pinned maps must be removed first (docs/operations.md)";
    }
    return ErrnoError(err, what);
  }
  return object;
}

DatapathObject::~DatapathObject() { datapath_bpf__destroy(skel_); }

int DatapathObject::xdp_ingress_fd() const { return bpf_program__fd(skel_->progs.rampart_xdp_ingress); }
int DatapathObject::tc_ingress_fd() const { return bpf_program__fd(skel_->progs.rampart_tc_ingress); }
int DatapathObject::tc_egress_fd() const { return bpf_program__fd(skel_->progs.rampart_tc_egress); }

std::string DatapathObject::ProgramName(int prog_fd) const {
  for (bpf_program* prog : {skel_->progs.rampart_xdp_ingress, skel_->progs.rampart_tc_ingress,
                            skel_->progs.rampart_tc_egress}) {
    if (bpf_program__fd(prog) == prog_fd) return bpf_program__name(prog);
  }
  return "";
}

int DatapathObject::ingress_hosts_fd() const { return bpf_map__fd(skel_->maps.rampart_ing_hosts); }
int DatapathObject::egress_hosts_fd() const { return bpf_map__fd(skel_->maps.rampart_egr_hosts); }
int DatapathObject::ingress_prefixes_fd() const { return bpf_map__fd(skel_->maps.rampart_ing_prefixes); }
int DatapathObject::egress_prefixes_fd() const { return bpf_map__fd(skel_->maps.rampart_egr_prefixes); }
int DatapathObject::lensets_fd() const { return bpf_map__fd(skel_->maps.rampart_lensets); }
int DatapathObject::ingress_lpm_fd() const { return bpf_map__fd(skel_->maps.rampart_ing_lpm); }
int DatapathObject::egress_lpm_fd() const { return bpf_map__fd(skel_->maps.rampart_egr_lpm); }
int DatapathObject::rulesets_fd() const { return bpf_map__fd(skel_->maps.rampart_rsets); }
int DatapathObject::gen_config_fd() const { return bpf_map__fd(skel_->maps.rampart_gencfg); }
int DatapathObject::state_fd() const { return bpf_map__fd(skel_->maps.rampart_state); }
int DatapathObject::confined_fd() const { return bpf_map__fd(skel_->maps.rampart_confine); }
int DatapathObject::block_fd() const { return bpf_map__fd(skel_->maps.rampart_block); }
int DatapathObject::buckets_fd() const { return bpf_map__fd(skel_->maps.rampart_buckets); }
int DatapathObject::reasons_fd() const { return bpf_map__fd(skel_->maps.rampart_reasons); }
int DatapathObject::rule_counters_fd() const { return bpf_map__fd(skel_->maps.rampart_rulecnt); }
int DatapathObject::errors_fd() const { return bpf_map__fd(skel_->maps.rampart_errors); }
int DatapathObject::events_fd() const { return bpf_map__fd(skel_->maps.rampart_events); }

}  // namespace rampart::datapath
