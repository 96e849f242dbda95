#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (tests/) and
# kernel tests (kernel_tests/, root: real BPF programs, network namespaces,
# real processes). With RAMPART_REQUIRE_KERNEL=1 (CI) a kernel test that
# cannot run fails instead of skipping.
#
#   sudo scripts/test.sh            all tests
#   sudo scripts/test.sh -L unit    only the unit tests (any ctest arguments pass through)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
cd "$root/build"
# Kernel tests are RUN_SERIAL; unit tests run two at a time.
ctest --output-on-failure -j 2 --timeout 600 "$@"
# The full run also fuzzes the parsers and the DLP scanner for a bounded time.
if (($# == 0)); then
  bash "$root/scripts/fuzz.sh" "${RAMPART_FUZZ_SECONDS:-30}"
fi
