#!/usr/bin/env bash
# Builds and runs Rampart's datapath benchmarks (BENCHMARKS.md), printing their
# tables. Needs root (BPF, network namespaces); installs iperf3 when missing.
#
#   sudo scripts/bench.sh [xdp] [lookup] [throughput]     (default: all three)
#
# Knobs (environment): XDP_ROUNDS (15), LOOKUP_ROUNDS (11), REPEAT (1000000),
# ROUNDS and DURATION for the throughput benchmark (10 rounds of 3 s).
# Benchmarks are programs, not tests: CTest does not run them. The machine is
# noisy; each benchmark interleaves its variants and reports medians of
# per-round ratios against a baseline measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
which=("$@")
((${#which[@]})) || which=(xdp lookup throughput)

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

[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target bpf_objects benchmarks

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
    *)
      echo "bench: unknown benchmark $b (xdp, lookup, throughput)" >&2
      exit 2 ;;
  esac
done
