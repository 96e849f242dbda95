#!/usr/bin/env bash
# Peer-certificate capture benchmark (docs/capture.md "Peer certificates"):
# what the d2i_X509 probe costs an mTLS server's handshakes. nginx (one
# process) requires client certificates in a network namespace of its own
# (loopback only); `openssl s_time -new` makes full TLS 1.3 handshakes with a
# client certificate, one connection each, for DURATION seconds. Variants,
# interleaved within every round:
#
#   detached  no probes
#   nocert    rampartd capturing nginx, --capture-peer-certificates=false
#             (the SSL_* probes only, as before peer certificates)
#   rampart   rampartd capturing nginx with peer certificates (the default)
#
# Prints every run (handshakes/s, and the peer certificates rampartd counted),
# then the medians of the per-round ratios rampart/nocert, nocert/detached and
# rampart/detached. The probe is on d2i_X509, which SSL_read and SSL_write on
# an established connection never call: this is its only cost.
#
#   sudo kernel_tests/bench/mtls_handshake_bench.sh [BUILD_DIR]
#   env: ROUNDS (5), DURATION seconds per run (4), VARIANTS ("detached nocert rampart")
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-5}
duration=${DURATION:-4}
variants=(${VARIANTS:-detached nocert rampart})
rampartd=$build/agent/rampartd
rampartctl=$build/agent/rampartctl
for f in "$rampartd" "$rampartctl"; do
  [[ -x $f ]] || { echo "mtls_handshake_bench: missing $f (build rampartd and rampartctl first)" >&2; exit 2; }
done
for tool in nginx openssl python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "mtls_handshake_bench: $tool is not installed" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "mtls_handshake_bench: needs root" >&2; exit 2; }

port=8443
work=$(mktemp -d /tmp/rampart-mtlsbench.XXXXXX)
unique=${work##*.}
ns=rpmb-$unique
pin=/sys/fs/bpf/rpbench-mtls-$unique
ns_created=
nginx_pid=
agent_pid=

cleanup() {
  set +e
  [[ -n $agent_pid ]] && bench_stop "$agent_pid"
  [[ -n $nginx_pid ]] && bench_stop "$nginx_pid"
  [[ -n $ns_created ]] && ip netns del "$ns" 2>/dev/null
  rm -rf "$pin" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_ns=(nsenter --net="/run/netns/$ns")

ip netns add "$ns"
ns_created=1
ip -n "$ns" link set lo up

cd "$work"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -days 1 -subj '/CN=bench client CA' \
  -addext basicConstraints=critical,CA:TRUE -out ca.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout server.key -out server.pem 2>/dev/null
key client.key
openssl req -new -key client.key -subj /CN=bench-client -out client.csr 2>/dev/null
echo subjectAltName=URI:spiffe://rampart.bench/client > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile client.ext \
  -out client.pem 2>/dev/null
mkdir -p www agent
echo ok > www/index.html
bench_nginx_conf "$work" "" "listen 127.0.0.1:$port ssl;
ssl_protocols TLSv1.3;
ssl_session_tickets off;
ssl_certificate $work/server.pem;
ssl_certificate_key $work/server.key;
ssl_client_certificate $work/ca.pem;
ssl_verify_client on;"
# A unique process name, so rampartd attaches to this nginx only.
ln -s "$(command -v nginx)" rpmb-nginx
"${in_ns[@]}" "$work/rpmb-nginx" -c "$work/nginx.conf" -p "$work/" -e "$work/error.log" >nginx.out 2>&1 &
nginx_pid=$!
listening() { [[ -n $("${in_ns[@]}" ss -Hltn "sport = :$port") ]]; }
bench_wait_for 10 listening || { echo "mtls_handshake_bench: nginx did not come up" >&2; cat error.log >&2; exit 1; }

status_json() { "$rampartctl" --socket "$work/agent.sock" status --json 2>/dev/null; }
attached() {
  status_json | python3 -c '
import json, sys
s = json.load(sys.stdin).get("capture", {})
sys.exit(0 if any(p["pid"] == int(sys.argv[1]) and p["attached"] for p in s.get("processes", [])) else 1)
' "$nginx_pid" 2>/dev/null
}
peer_certs() {
  status_json | python3 -c 'import json, sys; print(json.load(sys.stdin).get("capture", {}).get("peer_certificates", 0))'
}

attach() {
  case $1 in
    detached) return 0 ;;
    nocert) extra=(--capture-peer-certificates=false) ;;
    rampart) extra=() ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
  "${in_ns[@]}" "$rampartd" --node-name mtls-bench --state-dir "$work/agent" --socket "$work/agent.sock" \
    --pin-dir "$pin" --capture-process rpmb-nginx --log-level warn "${extra[@]}" >>rampartd.log 2>&1 &
  agent_pid=$!
  bench_wait_for 30 attached || { echo "rampartd did not attach to nginx:" >&2; tail -20 rampartd.log >&2; return 1; }
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, 1/CLK_TCK s

run() {  # prints "HANDSHAKES/S NGINX_CPU_US_PER_HANDSHAKE" (s_time's connections over wall time)
  local start end ticks0 ticks1 n
  ticks0=$(cpu_ticks "$nginx_pid")
  start=$(date +%s.%N)
  "${in_ns[@]}" openssl s_time -connect 127.0.0.1:$port -new -time "$duration" -cert client.pem -key client.key \
    -www /index.html >s_time.out 2>&1 || true
  end=$(date +%s.%N)
  ticks1=$(cpu_ticks "$nginx_pid")
  n=$(awk '/connections in [0-9.]+ real seconds/ { print $1 }' s_time.out)
  [[ -n $n && $n -gt 0 ]] || { echo "mtls_handshake_bench: s_time made no connection:" >&2; tail -5 s_time.out >&2; return 1; }
  python3 -c "print('%.1f %.0f' % ($n / ($end - $start), ($ticks1 - $ticks0) * 1e6 / $(getconf CLK_TCK) / $n))"
}

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(openssl version | cut -d' ' -f1-2); TLS 1.3 full handshakes with a client certificate;" \
     "$rounds interleaved rounds of ${duration}s per variant: ${variants[*]}"
results=$work/results.txt
: >"$results"
for ((r = 1; r <= rounds; r++)); do
  for v in "${variants[@]}"; do
    attach "$v"
    read -r rate cpu < <(run)
    certs=-
    if [[ -n $agent_pid ]]; then
      certs=$(peer_certs)
      bench_stop "$agent_pid"
      agent_pid=
    fi
    printf 'round %d %-8s %8s handshakes/s  nginx %5s us CPU/handshake  peer certificates counted: %s\n' \
      "$r" "$v" "$rate" "$cpu" "$certs"
    echo "$r $v $rate $cpu" >>"$results"
  done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)  # variant -> round -> (handshakes/s, nginx us CPU/handshake)
for line in open(sys.argv[1]):
    r, v, rate, cpu = line.split()
    runs[v][r] = (float(rate), float(cpu))
def ratio(a, b, k):
    common = sorted(set(runs.get(a, {})) & set(runs.get(b, {})))
    ratios = [runs[a][r][k] / runs[b][r][k] for r in common if runs[b][r][k] > 0]
    return (statistics.median(ratios), min(ratios), max(ratios)) if ratios else None
for v in runs:
    print(f"median {v:8s} {statistics.median(x[0] for x in runs[v].values()):8.1f} handshakes/s, "
          f"nginx {statistics.median(x[1] for x in runs[v].values()):5.0f} us CPU/handshake")
for a, b in (("rampart", "nocert"), ("nocert", "detached"), ("rampart", "detached")):
    for k, what in ((0, "handshakes/s"), (1, "nginx CPU/handshake")):
        x = ratio(a, b, k)
        if x is not None:
            print(f"median ratio {a}/{b}, {what}: {x[0]:.3f} ({x[1]:.3f}-{x[2]:.3f})")
PY
