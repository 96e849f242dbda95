#!/usr/bin/env bash
# The capture reader's CPU budget at work (docs/capture.md, "Reader
# scheduling"; BENCHMARKS.md, detection-to-block): the real rampartd, its DLP
# policy (action monitor) pushed by the real rampart-cp, captures an nginx of
# the benchmark's own while wrk fetches a JSON body dense with personal data
# (ROWS rows, each with an email address and a phone number: about 1.3 MB at
# the default) over TLS, for SECONDS. The reader thread, raised at first (as
# the agent ships, nice -20; READER=realtime for SCHED_FIFO 1), has far more
# than its budget to do. Prints, for each phase (before the
# load, under it, 2.5 s after it): the reader's policy as the kernel has it
# (/proc/PID/task/TID/stat), as rampartctl status says it, the steps down so
# far and the reader's share of a CPU (schedstat). Exits 1 unless the reader
# was raised before the load, stepped down under it (SCHED_OTHER at nice 0),
# and was raised again after it.
#
#   sudo kernel_tests/bench/reader_budget_bench.sh [BUILD_DIR]
#   env: SECONDS_OF_LOAD (8), CONNECTIONS for wrk (2), ROWS (12000), READER
#        (the agent's --capture-reader-scheduling: high), KEEP=1 keeps the
#        temporary directory
#
# Needs root, nginx, wrk, openssl, python3, nsenter. Traffic stays on the
# loopback of a network namespace of its own; on exit, even on failure, it
# stops the processes it started (by pid) and removes the namespace, the pin
# directory and the temporary directory.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
load_seconds=${SECONDS_OF_LOAD:-8}
connections=${CONNECTIONS:-2}
rows=${ROWS:-12000}
keep=${KEEP:-0}
reader=${READER:-high}
case $reader in
  high) raised="SCHED_OTHER nice -20" ;;
  realtime) raised="SCHED_FIFO 1" ;;
  *) echo "reader_budget_bench: READER is high or realtime" >&2; exit 2 ;;
esac
rampartd=$build/agent/rampartd
rampartctl=$build/agent/rampartctl
rampart_cp=$build/controlplane/rampart-cp
for f in "$rampartd" "$rampartctl" "$rampart_cp"; do
  [[ -x $f ]] || { echo "reader_budget_bench: missing $f (build rampartd, rampartctl, rampart-cp)" >&2; exit 2; }
done
for tool in nginx wrk openssl python3 nsenter ip; do
  command -v "$tool" >/dev/null || { echo "reader_budget_bench: $tool is not installed" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "reader_budget_bench: needs root" >&2; exit 2; }

work=$(mktemp -d /tmp/rampart-budgetbench.XXXXXX)
unique=${work##*.}
ns=rprb-$unique
pin=/sys/fs/bpf/rpbench-budget-$unique
comm=rprb-$unique  # nginx's process name: the policy captures this nginx only
nginx_pid= cp_pid= agent_pid= ns_made=

cleanup() {
  set +e
  for pid in $agent_pid $cp_pid $nginx_pid; do bench_stop "$pid"; done
  [[ -n $ns_made ]] && ip netns del "$ns" 2>/dev/null
  rm -rf "$pin"
  if [[ $keep == 1 ]]; then echo "reader_budget_bench: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() {
  echo "reader_budget_bench: $*" >&2
  tail -20 "$work/rampartd.log" >&2
  exit 1
}

ip netns add "$ns"
ns_made=1
ip -n "$ns" link set lo up
in_ns=(nsenter --net="/run/netns/$ns")  # not `ip netns exec`, which remounts /sys (bpffs)

mkdir -p "$work/www" "$work/agent" "$work/cp"
python3 - "$work/www/people.json" "$rows" <<'EOF'
import json, sys
rows = [{'id': i, 'title': 'Ceramic mug with a blue glaze', 'email': f'user{i}@example.com',
         'phone': '+1 415 555 %04d' % (i % 10000)} for i in range(int(sys.argv[2]))]
open(sys.argv[1], 'w').write(json.dumps({'people': rows}))
EOF
bench_server_cert "$work"
bash "$root/scripts/make-demo-certs.sh" "$work/certs" budget-node >"$work/certs.log" 2>&1
bench_nginx_conf "$work" "default_type application/json;" "listen 127.0.0.1:9443 ssl;
ssl_certificate $work/cert.pem;
ssl_certificate_key $work/key.pem;"
ln -s "$(command -v nginx)" "$work/$comm"
"${in_ns[@]}" "$work/$comm" -c "$work/nginx.conf" -p "$work/" -e "$work/error.log" >"$work/nginx.out" 2>&1 &
nginx_pid=$!
"${in_ns[@]}" "$rampart_cp" serve --listen 127.0.0.1:7443 --cert "$work/certs/server.crt" \
  --key "$work/certs/server.key" --client-ca "$work/certs/ca.crt" --state-dir "$work/cp" \
  --admin-socket "$work/cp-admin.sock" >"$work/cp.log" 2>&1 &
cp_pid=$!
"${in_ns[@]}" "$rampartd" --control-plane 127.0.0.1:7443 --server-name localhost --ca "$work/certs/ca.crt" \
  --cert "$work/certs/node.crt" --key "$work/certs/node.key" --node-name budget-node --state-dir "$work/agent" \
  --socket "$work/agent.sock" --pin-dir "$pin" --capture-reader-scheduling "$reader" >"$work/rampartd.log" 2>&1 &
agent_pid=$!

status_field() {  # PYTHON-EXPRESSION over the status `s`
  "$rampartctl" --socket "$work/agent.sock" status --json 2>/dev/null |
    python3 -c "import json, sys; s = json.load(sys.stdin); print($1)" 2>/dev/null
}
connected() { [[ $(status_field 's.get("control_plane", {}).get("state")') == CONNECTION_STATE_CONNECTED ]]; }
bench_wait_for 15 connected || fail "rampartd did not connect to rampart-cp"
cat >"$work/policy.yaml" <<EOF
apiVersion: rampart/v1
kind: Policy
metadata: {name: reader-budget}
spec:
  inspection:
    capture: {processes: [$comm]}
    dlp: {action: monitor}
EOF
"$rampart_cp" policy apply -f "$work/policy.yaml" --admin-socket "$work/cp-admin.sock" >"$work/apply.log" 2>&1 ||
  { cat "$work/apply.log" >&2; fail "rampart-cp policy apply failed"; }
attached() {
  [[ $(status_field "any(p.get('pid') == $nginx_pid and p.get('attached')
                         for p in s.get('capture', {}).get('processes', []))") == True ]]
}
bench_wait_for 15 attached || fail "nginx not attached for capture"
reader_tid() {
  grep -lx rp-capture /proc/"$agent_pid"/task/*/comm 2>/dev/null | head -n 1 | cut -d/ -f5
}
tid=$(reader_tid)
[[ -n $tid ]] || fail "no thread rp-capture in rampartd"
policy() { sed 's/.*) //' "/proc/$agent_pid/task/$tid/stat" | awk '{ print ($39 == 1 ? "SCHED_FIFO " $38 : $39 == 0 ? "SCHED_OTHER nice " $17 : "policy " $39) }'; }
cpu_ns() { cut -d' ' -f1 "/proc/$agent_pid/task/$tid/schedstat"; }
said() {  # scheduling|reason|demotions, from rampartctl status
  status_field '"|".join((s["capture"]["reader_scheduling"], s["capture"].get("reader_scheduling_reason", ""),
                          str(s["capture"].get("reader_demotions", 0))))'
}
declare -A policy_at demotions_at
phase() {  # KEY NAME CPU_NS_BEFORE SECONDS: one row; the policy and steps down kept under KEY
  local share scheduling reason demotions
  share=$(python3 -c "print(f'{100 * ($(cpu_ns) - $3) / 1e9 / $4:.1f}')")
  IFS='|' read -r scheduling reason demotions < <(said)
  policy_at[$1]=$(policy)
  demotions_at[$1]=$demotions
  printf '| %s | %s | %s%s | %s | %s%% |\n' "$2" "${policy_at[$1]}" "$scheduling" "${reason:+ ($reason)}" "$demotions" \
    "$share"
}

echo "reader_budget_bench: kernel $(uname -r), $(nproc) CPUs; wrk -c$connections for ${load_seconds} s on a" \
     "$(stat -c %s "$work/www/people.json")-byte JSON body ($rows people with an email address and a phone number)," \
     "dlp monitor; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| phase | reader policy (kernel) | rampartctl status | steps down | reader CPU |"
echo "|---|---|---|---|---|"
c0=$(cpu_ns); sleep 2; phase before "idle, 2 s" "$c0" 2
c0=$(cpu_ns); t0=$(date +%s.%N)
"${in_ns[@]}" wrk -t1 -c"$connections" -d"${load_seconds}s" https://127.0.0.1:9443/people.json >"$work/wrk.out" 2>&1 ||
  { cat "$work/wrk.out" >&2; fail "wrk failed"; }
phase under "under wrk" "$c0" "$(python3 -c "print($(date +%s.%N) - $t0)")"
c0=$(cpu_ns); sleep 2.5; phase after "2.5 s after" "$c0" 2.5
echo
echo "wrk: $(grep -E 'Requests/sec' "$work/wrk.out" | tr -s ' '), $(grep -E 'Transfer/sec' "$work/wrk.out" | tr -s ' ')"
echo "capture: $(status_field 'str(s["capture"].get("calls", 0)) + " calls, " + str(s["capture"].get("chunks_lost", 0)) + " chunks lost to a full ring buffer"'); findings $(status_field 's.get("inspection", {}).get("findings", 0)')"
grep -E "capture reader" "$work/rampartd.log" | sed 's/^/rampartd: /' || true

bad=0
[[ ${policy_at[before]} == "$raised" ]] || { echo "FAIL: the reader was not $raised before the load" >&2; bad=1; }
((demotions_at[under] > demotions_at[before])) || { echo "FAIL: the reader did not step down under the load" >&2; bad=1; }
[[ ${policy_at[under]} == "SCHED_OTHER nice 0" ]] || { echo "FAIL: the reader was not SCHED_OTHER nice 0 under the load" >&2; bad=1; }
[[ ${policy_at[after]} == "$raised" ]] || { echo "FAIL: the reader was not back at $raised after the load" >&2; bad=1; }
exit "$bad"
