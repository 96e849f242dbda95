#!/usr/bin/env bash
# The Debian packages, for real: cpack builds rampart-agent and
# rampart-controlplane from this build tree, dpkg installs them into this
# system (a disposable test machine), and then
#   - the control fields: dependencies found by dpkg-shlibdeps, conffiles;
#   - every file where Debian 12 looks for it, the units identical to systemd/;
#   - postinst's work: the user rampart, the tmpfiles directories and link;
#   - the installed binaries run: --help, and rampartd and rampart-cp started
#     from the installed configuration send READY=1 the way their Type=notify
#     units expect, after which rampartctl and rampart-cp talk to them;
#   - a second dpkg -i (upgrade path) works, and dpkg --purge removes it all.
# Whatever happens, the packages are purged and the daemons killed at the end.
# Packages already installed (a run that was cut short) are replaced.
#
#   deb_install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
packages=(rampart-agent rampart-controlplane)

# shellcheck source=kernel_tests/packaging/checks.sh
source "$here/checks.sh"
[[ $(id -u) -eq 0 ]] || skip "installs packages with dpkg: needs root"
features=$(bpftool feature probe kernel 2>/dev/null || true)
grep -q "program_type xdp is available" <<<"$features" ||
  skip "this kernel cannot load XDP programs (bpftool feature probe)"

work=$(mktemp -d /tmp/rampart-deb.XXXXXX)
pin_dir=/sys/fs/bpf/rampart-deb-$$
pids=()
had_user=$(getent passwd rampart >/dev/null && echo 1 || echo 0)
had_cp_state=$([[ -e /var/lib/rampart-cp ]] && echo 1 || echo 0)
had_agent_state=$([[ -e /var/lib/rampart ]] && echo 1 || echo 0)
had_run_dir=$([[ -e /run/rampart ]] && echo 1 || echo 0)

cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null && tail --pid="$pid" -f /dev/null 2>/dev/null || true
  done
  dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
  rm -rf "$pin_dir" "$work"
  ((had_cp_state)) || rm -rf /var/lib/rampart-cp
  ((had_agent_state)) || rm -rf /var/lib/rampart
  ((had_run_dir)) || rm -rf /run/rampart
  ((had_user)) || userdel rampart 2>/dev/null || true
}
trap cleanup EXIT

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
absent() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "installed"; }

for p in "${packages[@]}"; do
  installed "$p" && echo "note: $p is installed already; it is replaced, then purged"
done

echo "== cpack"
(cd "$work" && cpack -G DEB -B "$work/out" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  exit 1
}
agent_deb=$(ls "$work"/out/rampart-agent_*.deb)
cp_deb=$(ls "$work"/out/rampart-controlplane_*.deb)
echo "$(basename "$agent_deb") $(du -h "$agent_deb" | cut -f1), $(basename "$cp_deb") $(du -h "$cp_deb" | cut -f1)"
depends() { dpkg-deb -f "$1" Depends; }
check "rampart-agent depends on libbpf, libelf and gRPC (dpkg-shlibdeps)" \
  grep -Eq 'libbpf1.*libelf1|libelf1.*libbpf1' <<<"$(depends "$agent_deb")"
check "rampart-controlplane depends on gRPC and SQLite (dpkg-shlibdeps)" \
  grep -Eq 'libgrpc\+\+.*libsqlite3|libsqlite3.*libgrpc\+\+' <<<"$(depends "$cp_deb")"
check "rampart-agent marks its configuration as conffiles" \
  diff <(dpkg-deb -I "$agent_deb" conffiles) <(printf '/etc/default/rampart-agent\n/etc/rampart/agent.conf\n')
check "rampart-controlplane marks its configuration as conffiles" \
  diff <(dpkg-deb -I "$cp_deb" conffiles) <(printf '/etc/default/rampart-controlplane\n')

echo "== dpkg -i"
DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold -i "$agent_deb" "$cp_deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  exit 1
}
for p in "${packages[@]}"; do check "$p installed" installed "$p"; done
for f in /usr/bin/rampartd /usr/bin/rampartctl /usr/bin/rampart-cp; do check "$f executable" test -x "$f"; done
check "agent unit as in systemd/" cmp /lib/systemd/system/rampart-agent.service "$src/systemd/rampart-agent.service"
check "control-plane unit as in systemd/" \
  cmp /lib/systemd/system/rampart-controlplane.service "$src/systemd/rampart-controlplane.service"
check "agent tmpfiles entry" cmp /usr/lib/tmpfiles.d/rampart-agent.conf "$src/systemd/rampart-agent.tmpfiles"
check "control-plane tmpfiles entry" \
  cmp /usr/lib/tmpfiles.d/rampart-controlplane.conf "$src/systemd/rampart-controlplane.tmpfiles"
check "control-plane sysusers entry" \
  cmp /usr/lib/sysusers.d/rampart-controlplane.conf "$src/systemd/rampart-controlplane.sysusers"
check "/etc/rampart/agent.conf" cmp /etc/rampart/agent.conf "$src/systemd/agent.conf.example"
check "/etc/default/rampart-agent" cmp /etc/default/rampart-agent "$src/systemd/rampart-agent.default"
check "/etc/default/rampart-controlplane" cmp /etc/default/rampart-controlplane "$src/systemd/rampart-controlplane.default"
check "docs in /usr/share/doc/rampart-agent" test -f /usr/share/doc/rampart-agent/operations.md
check "postinst made the system user rampart" bash -c "getent passwd rampart >/dev/null"
if command -v systemd-tmpfiles >/dev/null; then
  check "postinst made /var/lib/rampart (root, 0700)" test "$(stat -c '%U %a' /var/lib/rampart)" = "root 700"
  check "postinst made /var/lib/rampart-cp (rampart, 0700)" test "$(stat -c '%U %a' /var/lib/rampart-cp)" = "rampart 700"
  check "postinst linked /run/rampart/cp-admin.sock to the unit's admin socket" \
    test "$(readlink /run/rampart/cp-admin.sock)" = /run/rampart-cp/admin.sock
fi

echo "== the installed binaries"
check "rampartd --help" bash -c '/usr/bin/rampartd --help | grep -q "rampartd options"'
check "rampartctl --help" bash -c '/usr/bin/rampartctl --help >/dev/null'
check "rampart-cp --help" bash -c '/usr/bin/rampart-cp --help >/dev/null'

# rampartd from the shipped configuration, its state and pins moved aside.
if agent_pid=$("$here/run_until_ready.py" 30 "$work/agent.log" /usr/bin/rampartd --config /etc/rampart/agent.conf \
    --state-dir "$work/agent" --socket "$work/agent.sock" --pin-dir "$pin_dir"); then
  pids+=("$agent_pid")
  echo "ok   rampartd (installed configuration) sent READY=1"
  check "rampartctl status talks to it" bash -c "/usr/bin/rampartctl --socket '$work/agent.sock' status >/dev/null"
  check "rampartd serves metrics on the shipped address" \
    bash -c "curl -sf http://127.0.0.1:9970/metrics | grep -q '^rampart_agent_info'"
else
  echo "FAIL rampartd sent no READY=1; its log:" >&2
  cat "$work/agent.log" >&2
  failed
fi

# rampart-cp as the unit runs it: user rampart, a fleet CA made by that user.
install -d -o rampart -g rampart -m 0700 "$work/cp"
chmod 0755 "$work"
# The source tree may sit where rampart cannot read (a 0700 home): a copy.
install -m 0755 "$here/run_until_ready.py" "$work/run_until_ready.py"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
runuser -u rampart -- /usr/bin/rampart-cp ca init --dir "$work/cp/ca" --hosts localhost,127.0.0.1 >/dev/null
if cp_pid=$(runuser -u rampart -- "$work/run_until_ready.py" 30 "$work/cp/cp.log" /usr/bin/rampart-cp serve \
    --listen "127.0.0.1:$port" --ca-dir "$work/cp/ca" --state-dir "$work/cp" --admin-socket "$work/cp/admin.sock"); then
  pids+=("$cp_pid")
  echo "ok   rampart-cp serve (user rampart) sent READY=1"
  check "rampart-cp policy history talks to it" \
    bash -c "/usr/bin/rampart-cp policy history --admin-socket '$work/cp/admin.sock' >/dev/null"
else
  echo "FAIL rampart-cp sent no READY=1; its log:" >&2
  cat "$work/cp/cp.log" >&2
  failed
fi
for pid in "${pids[@]}"; do kill "$pid" && tail --pid="$pid" -f /dev/null; done
pids=()

echo "== dpkg -i again (upgrade path), then dpkg --purge"
check "second dpkg -i" bash -c "DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold -i '$agent_deb' '$cp_deb' >'$work/dpkg2.log' 2>&1"
check "dpkg --purge" bash -c "dpkg --purge ${packages[*]} >'$work/purge.log' 2>&1"
for p in "${packages[@]}"; do check "$p gone" absent "$p"; done
for f in /usr/bin/rampartd /usr/bin/rampart-cp /lib/systemd/system/rampart-agent.service \
  /etc/default/rampart-agent /etc/rampart/agent.conf /etc/default/rampart-controlplane; do
  check "$f removed" test ! -e "$f"
done
check "/run/rampart/cp-admin.sock link removed" test ! -L /run/rampart/cp-admin.sock

finish
