#!/usr/bin/env bash
# Builds and runs Rampart's datapath benchmarks (BENCHMARKS.md), printing their
# tables. Needs root (BPF, network namespaces); installs iperf3 when missing.
#
#   sudo scripts/bench.sh [xdp] [lookup] [throughput] [capture]   (default: all four)
#
# Knobs (environment): XDP_ROUNDS (15), LOOKUP_ROUNDS (11), REPEAT (1000000),
# ROUNDS and DURATION for the throughput benchmark (10 rounds of 3 s),
# CAPTURE_ROUNDS and CAPTURE_DURATION for the capture benchmark (5 rounds of
# 5 s; its other knobs are in kernel_tests/bench/capture_bench.sh). The capture
# benchmark needs nginx (scripts/install-deps.sh installs nginx-light) and wrk
# (installed here when missing).
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
[[ " ${which[*]} " == *" capture "* ]] && targets+=(rampartd rampartctl)  # capture measures the real agent
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
      ROUNDS=${CAPTURE_ROUNDS:-5} DURATION=${CAPTURE_DURATION:-5} \
        bash "$root/kernel_tests/bench/capture_bench.sh" "$build" ;;
    *)
      echo "bench: unknown benchmark $b (xdp, lookup, throughput, capture)" >&2
      exit 2 ;;
  esac
done
