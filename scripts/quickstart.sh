#!/usr/bin/env bash
# Rampart in five minutes, on one machine, as root:
#   sudo scripts/quickstart.sh        build, start rampart-cp and rampartd, show a policy allow one peer and drop another
#   sudo scripts/quickstart.sh down   stop the demo and remove everything it made
#
# The demo lives in three network namespaces made here (rp-demo-srv, rp-demo-ok,
# rp-demo-bad) joined by veth pairs; no traffic leaves them. rampart-cp and
# rampartd run inside rp-demo-srv and talk over its loopback with mutual TLS; the
# agent joins the fleet with a one-time token (docs/identity.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=/var/lib/rampart-demo
pins=/sys/fs/bpf/rampart-demo
bin=$root/build

down() {
  for pidfile in "$state"/*.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && tail --pid="$pid" -f /dev/null 2>/dev/null || true
    rm -f "$pidfile"
  done
  for ns in rp-demo-srv rp-demo-ok rp-demo-bad; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$pins" "$state"
}

if [[ ${1:-} == down ]]; then
  down
  echo "demo removed"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "quickstart: run as root (it creates network namespaces and loads BPF programs)" >&2; exit 1; }

bash "$root/scripts/build.sh"
down  # a previous run's leftovers
mkdir -p "$state"
chmod 700 "$state"

echo "== network: rp-demo-ok (10.77.1.2) and rp-demo-bad (10.77.2.2) each reach rp-demo-srv over a veth"
ip netns add rp-demo-srv
for peer in ok bad; do
  net=$([[ $peer == ok ]] && echo 1 || echo 2)
  ip netns add "rp-demo-$peer"
  ip link add "rpd-$peer" netns rp-demo-srv type veth peer name eth0 netns "rp-demo-$peer"
  ip -n rp-demo-srv addr add "10.77.$net.1/24" dev "rpd-$peer"
  ip -n rp-demo-srv link set "rpd-$peer" up
  ip -n "rp-demo-$peer" addr add "10.77.$net.2/24" dev eth0
  ip -n "rp-demo-$peer" link set eth0 up
  ip -n "rp-demo-$peer" link set lo up
done
ip -n rp-demo-srv link set lo up
in_srv() { nsenter --net=/run/netns/rp-demo-srv "$@"; }

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
in_srv timeout 10 bash -c 'until (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; do sleep 0.1; done'

echo "== applying docs/examples/demo-policy.yaml: only 10.77.1.0/24 may reach tcp/8080"
"$bin/controlplane/rampart-cp" policy apply -f "$root/docs/examples/demo-policy.yaml" \
  --admin-socket "$state/cp-admin.sock" -m "quickstart"
for _ in $(seq 50); do
  "$bin/agent/rampartctl" --socket "$state/agent.sock" status --json 2>/dev/null | grep -q '"policy_version": *"1"' && break
  sleep 0.2
done

echo
echo "== rp-demo-ok  -> 10.77.1.1:8080"
if ip netns exec rp-demo-ok curl -s -o /dev/null -w "   HTTP %{http_code}: allowed\n" --max-time 3 http://10.77.1.1:8080/demo-policy.yaml; then :; else echo "   unexpected: no answer"; fi
echo "== rp-demo-bad -> 10.77.2.1:8080"
if ip netns exec rp-demo-bad curl -s -o /dev/null --max-time 3 http://10.77.2.1:8080/demo-policy.yaml; then
  echo "   unexpected: answered"
else
  echo "   no answer after 3 s: dropped by Rampart's ingress program"
fi
echo
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
