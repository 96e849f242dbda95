#!/usr/bin/env bash
# Rampart in five minutes, on one machine, as root:
#   sudo scripts/quickstart.sh              build, then the demo below: under systemd when systemd
#                                           runs this machine, as plain processes otherwise
#   sudo scripts/quickstart.sh --systemd    the Debian packages installed, their hardened units running
#   sudo scripts/quickstart.sh --processes  rampart-cp and rampartd as processes of this script
#   sudo scripts/quickstart.sh down         stop the demo and remove everything it made
#
# Either way: a control plane with its own CA; an agent that joins the fleet with
# a one-time token (docs/identity.md) and then talks mutual TLS; the policy
# docs/examples/demo-policy.yaml; and two peers in network namespaces made here
# (rp-demo-ok, rp-demo-bad), each joined by a veth pair to the agent's side, where
# a web server listens on port 8080. One peer is answered, the other dropped. No
# traffic leaves the machine.
#
# --systemd (docs/operations.md "Install from packages"): cpack builds the
# packages rampart-agent and rampart-controlplane, apt-get installs them, the
# fleet CA is made as the user rampart, and rampart-controlplane.service and
# rampart-agent.service are enabled and started. The veths' agent ends (rpd-ok,
# rpd-bad) are in this machine's network namespace, where the units run; the web
# server listens on 10.77.1.1 only. `down` purges the packages, their state and
# the agent's pins.
#
# --processes: rampart-cp and rampartd run inside a third namespace,
# rp-demo-srv, and talk over its loopback. Nothing is installed but the build
# dependencies.
#
# RAMPART_BUILD_DIR=DIR takes the binaries already built in DIR instead of
# installing the dependencies and building into build/ (the tests do this).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=/var/lib/rampart-demo
pins=/sys/fs/bpf/rampart-demo
bin=${RAMPART_BUILD_DIR:-$root/build}
packages=(rampart-agent rampart-controlplane)

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

down() {
  local mode
  mode=$(cat "$state/mode" 2>/dev/null || true)
  for pidfile in "$state"/*.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && tail --pid="$pid" -f /dev/null 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [[ $mode == systemd ]]; then
    systemctl stop rampart-demo-web.service 2>/dev/null || true
    systemctl disable --now rampart-agent.service rampart-controlplane.service >/dev/null 2>&1 || true
    dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
    # What purge leaves on purpose (docs/operations.md): the demo's store, CA,
    # node identity, pins (which keep enforcing until removed) and user.
    rm -rf /sys/fs/bpf/rampart /var/lib/rampart /var/lib/rampart-cp /run/rampart /run/rampart-cp
    userdel rampart 2>/dev/null || true
  fi
  for ns in rp-demo-srv rp-demo-ok rp-demo-bad; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$pins" "$state"
}

mode=
case ${1:-} in
  down) down; echo "demo removed"; exit 0 ;;
  --systemd) mode=systemd ;;
  --processes) mode=processes ;;
  "") mode=$([[ -d /run/systemd/system ]] && echo systemd || echo processes) ;;
  *) echo "quickstart: unknown argument '$1' (expected --systemd, --processes or down)" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "quickstart: run as root (it creates network namespaces and loads BPF programs)" >&2; exit 1; }
if [[ $mode == systemd ]]; then
  [[ -d /run/systemd/system ]] ||
    { echo "quickstart: --systemd: systemd does not run this machine (no /run/systemd/system); use --processes" >&2; exit 1; }
  for p in "${packages[@]}"; do
    if installed "$p" && [[ $(cat "$state/mode" 2>/dev/null) != systemd ]]; then
      echo "quickstart: --systemd: package $p is installed already, not by the quickstart; remove it first or use --processes" >&2
      exit 1
    fi
  done
fi

if [[ -n ${RAMPART_BUILD_DIR:-} ]]; then
  [[ -x $bin/agent/rampartd && -x $bin/controlplane/rampart-cp && -x $bin/agent/rampartctl ]] ||
    { echo "quickstart: RAMPART_BUILD_DIR=$bin: no rampartd, rampartctl and rampart-cp built there" >&2; exit 1; }
else
  bash "$root/scripts/build.sh"
fi
down  # a previous run's leftovers
mkdir -p "$state"
chmod 700 "$state"
echo "$mode" >"$state/mode"

# The peers, and where the agent runs: rp-demo-srv (--processes) or this
# machine's own network namespace (--systemd, SRV empty).
make_network() {  # SRV
  local srv=$1 peer net
  [[ -z $srv ]] || ip netns add "$srv"
  for peer in ok bad; do
    net=$([[ $peer == ok ]] && echo 1 || echo 2)
    ip netns add "rp-demo-$peer"
    ip link add "rpd-$peer" ${srv:+netns "$srv"} type veth peer name eth0 netns "rp-demo-$peer"
    ip ${srv:+-n "$srv"} addr add "10.77.$net.1/24" dev "rpd-$peer"
    ip ${srv:+-n "$srv"} link set "rpd-$peer" up
    ip -n "rp-demo-$peer" addr add "10.77.$net.2/24" dev eth0
    ip -n "rp-demo-$peer" link set eth0 up
    ip -n "rp-demo-$peer" link set lo up
    ip -n "rp-demo-$peer" route add default via "10.77.$net.1"
  done
  [[ -z $srv ]] || ip -n "$srv" link set lo up
}

# Sends each peer's request and says what happened. OK_TARGET BAD_TARGET
show_traffic() {
  echo
  echo "== rp-demo-ok  -> $1:8080"
  if ip netns exec rp-demo-ok curl -s -o /dev/null -w "   HTTP %{http_code}: allowed\n" --max-time 3 "http://$1:8080/demo-policy.yaml"; then :; else echo "   unexpected: no answer"; fi
  echo "== rp-demo-bad -> $2:8080"
  if ip netns exec rp-demo-bad curl -s -o /dev/null --max-time 3 "http://$2:8080/demo-policy.yaml"; then
    echo "   unexpected: answered"
  else
    echo "   no answer after 3 s: dropped by Rampart's ingress program"
  fi
  echo
}

policy_applied() {  # RAMPARTCTL ARGS...: version 1 in force, from the control plane, connected
  local s
  s=$("$@" status --json 2>/dev/null) || return 1
  grep -q '"policy_version": *"1"' <<<"$s" && grep -q '"CONNECTION_STATE_CONNECTED"' <<<"$s"
}

processes_demo() {
  echo "== network: rp-demo-ok (10.77.1.2) and rp-demo-bad (10.77.2.2) each reach rp-demo-srv over a veth"
  make_network rp-demo-srv
  # For the daemons started in the background: exec, so that $! is the daemon
  # itself (nsenter execs it too) and `down` stops it by that pid.
  in_srv() { exec nsenter --net=/run/netns/rp-demo-srv "$@"; }

  echo "== fleet identity: the control plane's CA, then a one-time join token for node demo-node"
  "$bin/controlplane/rampart-cp" ca init --dir "$state/ca" --hosts localhost,127.0.0.1 | sed 's/^/   /'

  echo "== starting rampart-cp, rampartd (joining with the token) and a web server on port 8080 (logs in $state/*.log)"
  in_srv "$bin/controlplane/rampart-cp" serve --listen 127.0.0.1:7443 --ca-dir "$state/ca" \
    --state-dir "$state/cp" --admin-socket "$state/cp-admin.sock" >"$state/cp.log" 2>&1 &
  echo $! >"$state/cp.pid"
  for _ in $(seq 50); do [[ -S $state/cp-admin.sock ]] && break; sleep 0.2; done
  token=$("$bin/controlplane/rampart-cp" token create --ttl 10m --description quickstart \
    --admin-socket "$state/cp-admin.sock" 2>/dev/null)
  in_srv "$bin/agent/rampartd" --join "$token" --control-plane 127.0.0.1:7443 \
    --node-name demo-node --label role=demo --state-dir "$state/agent" --socket "$state/agent.sock" \
    --pin-dir "$pins" >"$state/agent.log" 2>&1 &
  echo $! >"$state/agent.pid"
  in_srv python3 -m http.server 8080 --bind 0.0.0.0 --directory "$root/docs/examples" >"$state/web.log" 2>&1 &
  echo $! >"$state/web.pid"
  for _ in $(seq 50); do [[ -S $state/cp-admin.sock && -S $state/agent.sock ]] && break; sleep 0.2; done
  nsenter --net=/run/netns/rp-demo-srv timeout 10 bash -c 'until (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; do sleep 0.1; done'

  echo "== applying docs/examples/demo-policy.yaml: only 10.77.1.0/24 may reach tcp/8080"
  "$bin/controlplane/rampart-cp" policy apply -f "$root/docs/examples/demo-policy.yaml" \
    --admin-socket "$state/cp-admin.sock" -m "quickstart"
  for _ in $(seq 50); do
    policy_applied "$bin/agent/rampartctl" --socket "$state/agent.sock" && break
    sleep 0.2
  done

  show_traffic 10.77.1.1 10.77.2.1
  "$bin/agent/rampartctl" --socket "$state/agent.sock" status

  cat <<NEXT

The demo keeps running. Try:
  $bin/agent/rampartctl --socket $state/agent.sock status            # counters move as you send traffic
  $bin/agent/rampartctl --socket $state/agent.sock drops --follow      # live drops; in another terminal:
  ip netns exec rp-demo-bad curl --max-time 2 http://10.77.2.1:8080/  # dropped
  $bin/agent/rampartctl --socket $state/agent.sock block add 10.77.1.2 --ttl 10   # block the good peer for 10 s
  \$EDITOR $root/docs/examples/demo-policy.yaml                         # e.g. add 10.77.2.0/24 to "from"
  $bin/controlplane/rampart-cp policy apply -f $root/docs/examples/demo-policy.yaml --admin-socket $state/cp-admin.sock
  $bin/controlplane/rampart-cp nodes --admin-socket $state/cp-admin.sock
  $bin/controlplane/rampart-cp policy history --admin-socket $state/cp-admin.sock
  sudo $root/scripts/quickstart.sh down                                # remove everything
Logs: $state/cp.log, $state/agent.log. Concepts and the policy reference: docs/.
NEXT
}

systemd_demo() {
  echo "== Debian packages: cpack in $bin, then apt-get install (logs in $state)"
  (cd "$state" && cpack -G DEB -B "$state/debs" --config "$bin/CPackConfig.cmake" >"$state/cpack.log" 2>&1) ||
    { cat "$state/cpack.log" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "$state"/debs/rampart-agent_*.deb "$state"/debs/rampart-controlplane_*.deb >"$state/apt.log" 2>&1 ||
    { cat "$state/apt.log" >&2; exit 1; }
  for p in "${packages[@]}"; do echo "   $p $(dpkg-query -W -f='${Version}' "$p") installed"; done

  echo "== network: rp-demo-ok (10.77.1.2) and rp-demo-bad (10.77.2.2) each reach this host over a veth (rpd-ok, rpd-bad)"
  make_network ""

  echo "== fleet identity: the control plane's CA in /var/lib/rampart-cp/ca, made as the user rampart"
  runuser -u rampart -- rampart-cp ca init --dir /var/lib/rampart-cp/ca --hosts localhost,127.0.0.1 | sed 's/^/   /'

  echo "== systemctl enable --now rampart-controlplane (127.0.0.1:7443), then a one-time join token"
  systemctl enable --now rampart-controlplane.service 2>&1 | sed 's/^/   /'
  token=$(rampart-cp token create --ttl 10m --description quickstart)

  echo "== /etc/rampart/agent.conf: node demo-node, label role=demo, control plane 127.0.0.1:7443"
  cat >>/etc/rampart/agent.conf <<CONF

# Added by scripts/quickstart.sh: the demo node and its control plane.
node-name = demo-node
label = role=demo
control-plane = 127.0.0.1:7443
CONF
  echo "== systemctl enable --now rampart-agent, joining once with the token (/etc/default/rampart-agent)"
  cp /etc/default/rampart-agent "$state/rampart-agent.default"
  echo "RAMPARTD_ARGS=\"--config /etc/rampart/agent.conf --join $token\"" >>/etc/default/rampart-agent
  # Type=notify: this returns once the agent has joined and serves rampartctl.
  systemctl enable --now rampart-agent.service 2>&1 | sed 's/^/   /'
  # The token is spent, and a joined agent refuses one: a restart must not pass it again.
  cp "$state/rampart-agent.default" /etc/default/rampart-agent

  echo "== a web server on 10.77.1.1:8080 (systemd-run --unit rampart-demo-web)"
  systemd-run --quiet --collect --unit rampart-demo-web \
    python3 -m http.server 8080 --bind 10.77.1.1 --directory /usr/share/doc/rampart-agent/examples
  timeout 10 bash -c 'until (exec 3<>/dev/tcp/10.77.1.1/8080) 2>/dev/null; do sleep 0.1; done'

  echo "== rampart-cp policy apply -f docs/examples/demo-policy.yaml: only 10.77.1.0/24 may reach tcp/8080"
  rampart-cp policy apply -f "$root/docs/examples/demo-policy.yaml" -m quickstart
  local applied=0
  for _ in $(seq 100); do
    if policy_applied rampartctl; then applied=1; break; fi
    sleep 0.2
  done
  if ((!applied)); then
    echo "quickstart: the agent did not report policy version 1 from a connected control plane within 20 s:" >&2
    rampartctl status >&2 || true
    journalctl -u rampart-agent.service -n 20 --no-pager >&2 || true
    exit 1
  fi

  show_traffic 10.77.1.1 10.77.1.1
  local unit
  for unit in rampart-controlplane.service rampart-agent.service; do
    echo "$unit: $(systemctl is-active "$unit"), main PID $(systemctl show -P MainPID "$unit"), user" \
      "$(systemctl show -P User "$unit" | sed 's/^$/root/'), NoNewPrivileges=$(systemctl show -P NoNewPrivileges "$unit")" \
      "ProtectSystem=$(systemctl show -P ProtectSystem "$unit")" \
      "CapabilityBoundingSet=$(systemctl show -P CapabilityBoundingSet "$unit")"
  done
  echo
  rampartctl status

  cat <<NEXT

The demo keeps running, under systemd. Try:
  rampartctl status                                                # counters move as you send traffic
  rampartctl drops --follow                                        # live drops; in another terminal:
  ip netns exec rp-demo-bad curl --max-time 2 http://10.77.1.1:8080/   # dropped
  systemctl show rampart-agent -p CapabilityBoundingSet -p NoNewPrivileges -p ProtectSystem
  journalctl -u rampart-agent -u rampart-controlplane
  \$EDITOR $root/docs/examples/demo-policy.yaml                     # e.g. add 10.77.2.0/24 to "from"
  rampart-cp policy apply -f $root/docs/examples/demo-policy.yaml
  rampart-cp nodes
  rampart-cp policy history
  sudo $root/scripts/quickstart.sh down                            # stop, purge the packages, remove everything
The units and their hardening: docs/operations.md. Concepts and the policy reference: docs/.
NEXT
}

"${mode}_demo"
