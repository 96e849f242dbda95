#!/usr/bin/env bash
# The README's quickstart on a machine that systemd runs, for real: a systemd
# booted as PID 1 of namespaces made here (systemd_container_init.sh: PID,
# mount, UTS, IPC, network and cgroup namespaces, an overlay over this machine's
# root so that nothing it installs or writes reaches the host), and inside it
# `scripts/quickstart.sh` exactly as the README says, which there takes the
# systemd path: packages built with cpack from this build tree and installed,
# rampart-controlplane.service and rampart-agent.service enabled and started,
# the demo policy applied. Then
#   - both units are active, and `systemctl show` has their hardening in force;
#   - the agent's main process runs with the unit's capability bounding set and
#     no other (/proc/PID/status CapBnd), no new privileges and a seccomp filter;
#     the control plane's as the user rampart with no capability at all;
#   - rampartctl status: connected to the control plane, policy version 1 from it;
#   - the demo's peers: one answered, the other dropped;
#   - `scripts/quickstart.sh down` stops and purges it all.
# Whatever happens, the namespace's systemd is powered off (killed by pid if it
# does not go), and the sub-cgroup and the temporary directory are removed.
#
#   systemd_quickstart_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=kernel_tests/packaging/checks.sh
source "$here/checks.sh"
[[ $(id -u) -eq 0 ]] || skip "boots systemd in namespaces: needs root"
[[ -x /lib/systemd/systemd ]] || skip "no /lib/systemd/systemd (package systemd)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "this kernel has no overlayfs"
features=$(bpftool feature probe kernel 2>/dev/null || true)
grep -q "program_type xdp is available" <<<"$features" ||
  skip "this kernel cannot load XDP programs (bpftool feature probe)"
cgroup2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[[ -n $cgroup2 ]] || skip "no cgroup2 hierarchy mounted on this machine (systemd needs one)"

# A run killed outright (SIGKILL: no trap) leaves its cgroup and directory,
# empty, named after its pid: removed here once that process is gone.
for stale in "$cgroup2"/rampart-systemd-test-* /tmp/rampart-systemd-*; do
  [[ -d $stale ]] || continue
  pid=${stale##*-test-}
  [[ $stale == /tmp/* ]] && pid=$(basename "$stale" | cut -d- -f3 | cut -d. -f1)
  kill -0 "$pid" 2>/dev/null && continue
  if [[ $stale == /tmp/* ]]; then rm -rf "$stale"; else find "$stale" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
done

work=$(mktemp -d "/tmp/rampart-systemd-$$.XXXXXX")
mkdir "$work/layers" "$work/root"
cgroup=$cgroup2/rampart-systemd-test-$$
unshare_pid='' init_pid=''

# Every process of the namespaces dies with their PID 1; the mounts, the bpffs
# and the network namespaces with them. What is left on the host: the cgroup
# (empty once the processes are gone) and the directory.
cleanup() {
  if [[ -n $init_pid ]] && kill -0 "$init_pid" 2>/dev/null; then
    timeout 10 nsenter -t "$init_pid" -m -p systemctl poweroff >/dev/null 2>&1 || true
    timeout 20 tail --pid="$init_pid" -f /dev/null || true
    kill -KILL "$init_pid" 2>/dev/null || true
  fi
  if [[ -n $unshare_pid ]]; then
    kill -KILL "$unshare_pid" 2>/dev/null || true  # --kill-child takes PID 1 along
    wait "$unshare_pid" 2>/dev/null || true
  fi
  if [[ -d $cgroup ]]; then
    for _ in $(seq 50); do
      find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $cgroup ]] || break
      sleep 0.1
    done
    [[ ! -d $cgroup ]] || echo "warning: could not remove $cgroup" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT


echo "== booting systemd in namespaces of its own (cgroup $cgroup)"
mkdir "$cgroup"
# The subshell moves itself into the sub-cgroup, which the new cgroup namespace
# then has as its root. Should this script be killed outright (a ctest
# timeout), unshare gets SIGKILL too (--pdeathsig), and its child, PID 1, with
# it (--kill-child): the namespaces do not outlive the test.
(
  echo 0 >"$cgroup/cgroup.procs"
  exec setpriv --pdeathsig KILL unshare --pid --mount --uts --ipc --net --cgroup --fork --kill-child --propagation private \
    "$here/systemd_container_init.sh" "$work" "$src" "$build"
) >"$work/console.log" 2>&1 &
unshare_pid=$!
for _ in $(seq 100); do
  init_pid=$(pgrep -P "$unshare_pid" || true)
  [[ -n $init_pid && $(cat "/proc/$init_pid/comm" 2>/dev/null) == systemd ]] && break
  init_pid=
  sleep 0.1
done
if [[ -z $init_pid ]]; then
  echo "FAIL systemd did not start as PID 1 of the namespaces:" >&2
  cat "$work/console.log" >&2
  exit 1
fi
inside() { nsenter -t "$init_pid" -m -u -i -n -p -C -r -w "$@"; }
# systemctl talks to PID 1 on /run/systemd/private, made early in the boot;
# then 'running', or 'degraded' with a failed unit (shown, and a failure).
for _ in $(seq 100); do
  inside test -S /run/systemd/private && break
  sleep 0.1
done
boot_state=$(timeout 60 nsenter -t "$init_pid" -m -u -i -n -p -C -r -w systemctl is-system-running --wait 2>&1 || true)
echo "systemd $(inside systemctl --version | head -n 1 | cut -d' ' -f2) is PID 1 (pid $init_pid here): $boot_state"
if [[ $boot_state != running ]]; then
  inside systemctl --failed --no-pager >&2 || true
  cat "$work/console.log" >&2
  failed
fi

# This machine's own state shows through the overlay; inside, it goes (the
# host keeps it): packages a cut-short run left, a demo running out here.
inside bash -c 'rm -rf /var/lib/rampart-demo; dpkg --purge rampart-agent rampart-controlplane >/dev/null 2>&1 || true'

echo "== scripts/quickstart.sh, as the README says (binaries from $build)"
if inside env RAMPART_BUILD_DIR="$build" bash -c "cd '$src' && scripts/quickstart.sh" >"$work/quickstart.log" 2>&1; then
  echo "ok   quickstart.sh exited 0"
  sed 's/^/   | /' "$work/quickstart.log"
else
  echo "FAIL quickstart.sh exited non-zero; its output:" >&2
  cat "$work/quickstart.log" >&2
  inside journalctl --no-pager -n 40 -u rampart-agent.service -u rampart-controlplane.service >&2 || true
  exit 1
fi
check "quickstart took the systemd path" grep -q "^== Debian packages" "$work/quickstart.log"
check "the ok peer was answered" grep -q "HTTP 200: allowed" "$work/quickstart.log"
check "the bad peer was dropped" grep -q "dropped by Rampart's ingress program" "$work/quickstart.log"

echo "== the units"
for unit in rampart-controlplane.service rampart-agent.service; do
  check "$unit active" test "$(inside systemctl is-active "$unit")" = active
  check "$unit enabled" test "$(inside systemctl is-enabled "$unit")" = enabled
  check "$unit NoNewPrivileges=yes" test "$(inside systemctl show -P NoNewPrivileges "$unit")" = yes
  check "$unit ProtectSystem=strict" test "$(inside systemctl show -P ProtectSystem "$unit")" = strict
done

# The capabilities the agent's unit names, as systemd reports them and as a mask.
declare -A cap_number
while read -r name number; do cap_number[${name,,}]=$number; done < <(
  awk '$1 == "#define" && $2 ~ /^CAP_[A-Z_]+$/ && $3 ~ /^[0-9]+$/ { print $2, $3 }' /usr/include/linux/capability.h)
read -r -a unit_caps <<<"$(grep -m1 '^CapabilityBoundingSet=' "$src/systemd/rampart-agent.service" | cut -d= -f2)"
expected_mask=0
for cap in "${unit_caps[@]}"; do expected_mask=$((expected_mask | (1 << cap_number[${cap,,}]))); done
sorted() { tr ' ' '\n' | sed '/^$/d' | tr 'A-Z' 'a-z' | sort | tr '\n' ' '; }
check "rampart-agent.service CapabilityBoundingSet= is the unit's: ${unit_caps[*]}" \
  test "$(inside systemctl show -P CapabilityBoundingSet rampart-agent.service | sorted)" = "$(sorted <<<"${unit_caps[*]}")"
check "rampart-controlplane.service CapabilityBoundingSet= empty" \
  test -z "$(inside systemctl show -P CapabilityBoundingSet rampart-controlplane.service)"

agent_pid=$(inside systemctl show -P MainPID rampart-agent.service)
agent_status=$(inside cat "/proc/$agent_pid/status")
field() { awk -v f="$1:" '$1 == f { print $2 }' <<<"$2"; }
check "the agent (pid $agent_pid inside) runs with CapBnd $(printf '%016x' "$expected_mask") and no more" \
  test "$((16#$(field CapBnd "$agent_status")))" = "$expected_mask"
check "the agent runs with NoNewPrivs and a seccomp filter" \
  test "$(field NoNewPrivs "$agent_status") $(field Seccomp "$agent_status")" = "1 2"
cp_pid=$(inside systemctl show -P MainPID rampart-controlplane.service)
cp_status=$(inside cat "/proc/$cp_pid/status")
check "the control plane (pid $cp_pid inside) runs as the user rampart" \
  test "$(field Uid "$cp_status")" = "$(inside id -u rampart)"
check "the control plane runs with an empty bounding set" test "$((16#$(field CapBnd "$cp_status")))" = 0

echo "== rampartctl status"
status=$(inside rampartctl status)
sed 's/^/   | /' <<<"$status" | head -n 4
check "the agent is connected to the control plane" grep -q "^Control plane: *connected 127.0.0.1:7443" <<<"$status"
check "the agent applied policy version 1 from it" grep -q "^Policy version: 1 (from control-plane)" <<<"$status"
# The bad peer's silence was the ingress program's doing, not a route missing.
check "the agent counted ingress drops by the default deny" grep -Eq "^ +ingress +drop_default +[1-9]" <<<"$status"
check "rampart-cp nodes lists demo-node in sync" grep -q "^demo-node .*in sync" <<<"$(inside rampart-cp nodes)"

echo "== scripts/quickstart.sh down"
check "quickstart.sh down exited 0" inside bash -c "cd '$src' && scripts/quickstart.sh down >/dev/null"
purged() { ! inside dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "installed"; }
for p in rampart-agent rampart-controlplane; do check "$p purged" purged "$p"; done
check "the units are gone" test -z "$(inside systemctl list-units --no-legend --all 'rampart-*')"
check "the agent's pins are gone" inside test ! -e /sys/fs/bpf/rampart
check "the demo's network namespaces are gone" test -z "$(inside ip netns list)"

finish
