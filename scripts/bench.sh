#!/usr/bin/env bash
# Builds and runs Rampart's datapath benchmarks (BENCHMARKS.md), printing their
# tables. Needs root (BPF, network namespaces); installs iperf3 when missing.
#
#   sudo scripts/bench.sh [xdp] [lookup] [throughput] [capture] [mtls] [block] [fleet]
#   (default: the first four; block needs rampart-cp too; fleet, the control
#   plane with thousands of simulated agents, takes several minutes)
#
# Knobs (environment): XDP_ROUNDS (15), LOOKUP_ROUNDS (11), REPEAT (1000000),
# ROUNDS and DURATION for the throughput benchmark (10 rounds of 3 s),
# CAPTURE_ROUNDS and CAPTURE_DURATION for the capture benchmark (30 rounds of
# 2 s: fewer rounds leave its medians ±4% apart on this VM; its other knobs
# are in kernel_tests/bench/capture_bench.sh);
# MTLS_ROUNDS and MTLS_DURATION for the peer-certificate probe's cost on mTLS
# handshakes (5 rounds of 4 s, kernel_tests/bench/mtls_handshake_bench.sh). The capture
# benchmark needs nginx (scripts/install-deps.sh installs nginx-light) and wrk
# (installed here when missing). BLOCK_ROUNDS and BLOCK_REQUESTS for the
# detection-to-block benchmark (3 rounds of 100 requests per variant; its
# other knobs are in kernel_tests/bench/block_latency_bench.sh); RAMPART_CP
# names a rampart-cp binary to use instead of building one. FLEET_AGENTS
# (1000,10000), FLEET_CHANGES (10), FLEET_ROUNDS (1) and FLEET_PUSH_RATE (the
# server's default) for the fleet propagation benchmark (rampart-cp-load; one
# agent is always measured first as the baseline).
# Benchmarks are programs, not tests: CTest does not run them. The machine is
# noisy; each benchmark interleaves its variants and reports medians of
# per-round ratios against a baseline measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
which=("$@")
((${#which[@]})) || which=(xdp lookup throughput capture)

if [[ $(id -u) -ne 0 ]]; then
  echo "bench: needs root (BPF programs, network namespaces)" >&2
  exit 1
fi

if [[ " ${which[*]} " == *" throughput "* ]] && ! command -v iperf3 >/dev/null; then
  echo "bench: installing iperf3"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends iperf3 >/dev/null
fi

if [[ " ${which[*]} " == *" capture "* ]] && ! command -v wrk >/dev/null; then
  echo "bench: installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(bpf_objects benchmarks)
[[ " ${which[*]} " == *" capture "* || " ${which[*]} " == *" mtls "* ]] &&
  targets+=(rampartd rampartctl)  # capture and mtls measure the real agent
if [[ " ${which[*]} " == *" block "* ]]; then  # the real agent, its policy pushed by the real control plane
  targets+=(rampartd rampartctl)
  [[ -n ${RAMPART_CP:-} ]] || targets+=(rampart-cp)
fi
if [[ " ${which[*]} " == *" fleet "* ]]; then  # simulated agents against the real control plane
  targets+=(rampart-cp-load)
  [[ -n ${RAMPART_CP:-} ]] || targets+=(rampart-cp)
fi
cmake --build "$build" -j2 --target "${targets[@]}"

for b in "${which[@]}"; do
  echo
  case $b in
    xdp)
      echo "== XDP program cost (kernel_tests/bench/xdp_cost_bench.cc) =="
      "$build/kernel_tests/xdp_cost_bench" --rounds "${XDP_ROUNDS:-15}" --repeat "${REPEAT:-1000000}" ;;
    lookup)
      echo "== Lookup scaling (kernel_tests/bench/lookup_scaling_bench.cc) =="
      "$build/kernel_tests/lookup_scaling_bench" --rounds "${LOOKUP_ROUNDS:-11}" --repeat "${REPEAT:-1000000}" ;;
    throughput)
      echo "== Throughput (kernel_tests/bench/throughput_bench.sh) =="
      bash "$root/kernel_tests/bench/throughput_bench.sh" "$build" ;;
    capture)
      echo "== TLS capture (kernel_tests/bench/capture_bench.sh) =="
      ROUNDS=${CAPTURE_ROUNDS:-30} DURATION=${CAPTURE_DURATION:-2} \
        bash "$root/kernel_tests/bench/capture_bench.sh" "$build" ;;
    mtls)
      echo "== Peer-certificate probe on mTLS handshakes (kernel_tests/bench/mtls_handshake_bench.sh) =="
      ROUNDS=${MTLS_ROUNDS:-5} DURATION=${MTLS_DURATION:-4} \
        bash "$root/kernel_tests/bench/mtls_handshake_bench.sh" "$build" ;;
    block)
      echo "== Detection-to-block latency (kernel_tests/bench/block_latency_bench.sh) =="
      ROUNDS=${BLOCK_ROUNDS:-3} REQUESTS=${BLOCK_REQUESTS:-100} \
        bash "$root/kernel_tests/bench/block_latency_bench.sh" "$build" ;;
    fleet)
      echo "== Fleet propagation (controlplane/loadtest, rampart-cp-load) =="
      fleet_args=(--agents "${FLEET_AGENTS:-1000,10000}" --changes "${FLEET_CHANGES:-10}" --rounds "${FLEET_ROUNDS:-1}")
      [[ -n ${FLEET_PUSH_RATE:-} ]] && fleet_args+=(--push-rate "$FLEET_PUSH_RATE")
      # Each agent holds a socket in this process and one in rampart-cp.
      ulimit -Hn 65536 2>/dev/null || true
      "$build/controlplane/loadtest/rampart-cp-load" --rampart-cp "${RAMPART_CP:-$build/controlplane/rampart-cp}" \
        "${fleet_args[@]}" ;;
    *)
      echo "bench: unknown benchmark $b (xdp, lookup, throughput, capture, mtls, block, fleet)" >&2
      exit 2 ;;
  esac
done
