# shellcheck shell=bash
# The packaging tests' shared verbs, sourced by deb_install_test.sh and
# systemd_quickstart_test.sh.
#
#   skip REASON...            exit 77 (CTest's skip), or fail when CI requires
#                             kernel tests (RAMPART_REQUIRE_KERNEL=1)
#   check DESCRIPTION CMD...  run CMD; print ok/FAIL, count the failures
#   failed                    count a failure that check did not run
#   finish                    exit 1 if anything failed, else say so

skip() {
  if [[ ${RAMPART_REQUIRE_KERNEL:-} == 1 ]]; then
    echo "FAIL: $* (RAMPART_REQUIRE_KERNEL=1)" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}

failures=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what" >&2
    failures=$((failures + 1))
  fi
}

failed() { failures=$((failures + 1)); }

finish() {
  if ((failures)); then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
