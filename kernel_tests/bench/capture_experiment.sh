#!/usr/bin/env bash
# What each part of the capture's return probe costs a real server (issue 4,
# BENCHMARKS.md, "Where the plaintext lands"): builds a rampartd whose
# capture.bpf.c has one experiment patch applied
# (kernel_tests/bench/experiments/capture-NAME.patch) and runs it as the
# `base` variant of capture_bench.sh, beside the unchanged agent (`rampart`)
# and the no-op probes, in one run. The patches change only where the
# plaintext goes; no experiment is ever part of the agent itself:
#
#   hot-scratch  read into one per-CPU buffer that stays in cache
#   cold-unread  read into 8 MiB of slots taken in turn that nothing reads
#   header-only  not read at all
#
# In each, every record keeps its reservation and header, so the reader
# receives as many records of the same sizes (their payload is whatever the
# ring held before).
#
#   sudo kernel_tests/bench/capture_experiment.sh NAME [BUILD_DIR]
#     env: what capture_bench.sh takes (ROUNDS, DURATION, SIZES, PROFILE, ...);
#          VARIANTS defaults to "noop rampart base"; EXPERIMENT_BUILD_DIR, a
#          directory to build the experiment in and keep, outside the source
#          tree or named build* in it (default: a temporary one, removed at
#          exit)
#   kernel_tests/bench/capture_experiment.sh check BPF_OUT
#     applies every patch to a copy of the sources and compiles its
#     capture.bpf.c into a skeleton (BPF_OUT: the build's bpf directory, for
#     its vmlinux.h); CTest runs it so a patch that no longer applies or
#     builds fails the suite, not the next benchmark run.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
experiments=$root/kernel_tests/bench/experiments

usage() {
  echo "usage: $0 NAME [BUILD_DIR] | $0 check BPF_OUT (NAME: one of" \
    "$(cd "$experiments" && ls capture-*.patch | sed -e 's/^capture-//' -e 's/\.patch$//' | tr '\n' ' ' | sed 's/ $//'))" >&2
  exit 2
}
(($# >= 1)) || usage

# DEST [PATH...]: the given sources (default: all that build rampartd) into
# DEST, without build directories or version control.
copy_sources() {
  local dest=$1
  shift
  (($#)) || set -- .
  tar -C "$root" --exclude='./build*' --exclude='./.git' -cf - "$@" | tar -C "$dest" -xf -
}

# SRC PATCH: applies PATCH in SRC, or names both in one line and fails. The
# ceiling keeps git from finding a repository around SRC, whose top it would
# apply the patch to instead.
apply_patch() {
  if ! (cd "$1" && GIT_CEILING_DIRECTORIES=$(dirname "$1") git apply "$2" 2>/dev/null); then
    echo "capture_experiment: $(basename "$2") does not apply to bpf/progs/capture.bpf.c; remake it against this tree" >&2
    return 1
  fi
}

if [[ $1 == check ]]; then
  (($# == 2)) || usage
  bpf_out=$(cd "$2" && pwd)
  work=$(mktemp -d /tmp/rampart-experiment-check.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  failed=0
  for patch in "$experiments"/capture-*.patch; do
    dir=$work/$(basename "$patch" .patch)
    mkdir -p "$dir/src" "$dir/out"
    copy_sources "$dir/src" Makefile.bpf bpf
    apply_patch "$dir/src" "$patch" || { failed=1; continue; }
    cp "$bpf_out/vmlinux.h" "$dir/out/"
    if ! make --no-print-directory -s -f "$dir/src/Makefile.bpf" OUT="$dir/out" \
        "$dir/out/capture.skel.h" > "$dir/make.log" 2>&1; then
      echo "capture_experiment: $(basename "$patch") applies but capture.bpf.c no longer builds:" >&2
      tail -5 "$dir/make.log" >&2
      failed=1
      continue
    fi
    echo "capture_experiment: $(basename "$patch") applies and builds"
  done
  exit "$failed"
fi

name=$1
patch=$experiments/capture-$name.patch
[[ -f $patch ]] || { echo "capture_experiment: no experiment '$name'" >&2; usage; }
build=$(cd "${2:-$root/build}" && pwd)

if [[ -n ${EXPERIMENT_BUILD_DIR:-} ]]; then
  work=$EXPERIMENT_BUILD_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/rampart-experiment.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/src"
mkdir -p "$work/src"
copy_sources "$work/src"
apply_patch "$work/src" "$patch"
echo "capture_experiment: building rampartd with capture-$name.patch in $work"
if ! { cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        cmake --build "$work/build" -j2 --target rampartd; } > "$work/build.log" 2>&1; then
  echo "capture_experiment: building rampartd with capture-$name.patch failed; the log's end:" >&2
  tail -20 "$work/build.log" >&2
  exit 1
fi
RAMPARTD_BASE=$work/build/agent/rampartd VARIANTS=${VARIANTS:-noop rampart base} \
  "$root/kernel_tests/bench/capture_bench.sh" "$build"
