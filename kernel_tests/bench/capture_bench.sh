#!/usr/bin/env bash
# TLS capture benchmark (issue 4, BENCHMARKS.md): what Rampart's OpenSSL
# uprobes cost a real HTTPS server. nginx (one process: `master_process off;
# worker_processes 1;`, so it is the 1 worker and its pid is the one we start)
# serves /1k and /16k over HTTPS in a network namespace of its own (loopback
# only); wrk drives it with keep-alive connections. Variants, interleaved
# within every round and body size:
#
#   detached  no probes
#   noop      no-op uprobes (noop_ssl.bpf.c, attached by noop_ssl_attach) on
#             the entry and return of exactly the functions Rampart probes
#             (SSL_write, SSL_read, SSL_write_ex, SSL_read_ex, SSL_do_handshake),
#             in the same file, with the same pid filter: the floor
#   rampart   the real rampartd, no control plane, selecting nginx by process
#             name (--capture-process); started before and stopped after each
#             run, so the kernel's counters it reports belong to that run
#   base      another rampartd (RAMPARTD_BASE, e.g. built from an earlier
#             commit), run like `rampart` with BASE_ARGS added: an A/B of two
#             versions, or of one flag,
#             in the same run, printed as rampart/base
#
# nginx runs as a symlink named rpb-nginx, so its process name (comm) is
# unique and rampartd attaches to this nginx only, not to any other nginx on
# the host.
#
# Prints every run, then per body size the medians of the per-round ratios
#   (a) noop/detached, (b) rampart/detached, (c) rampart/noop (goal: >= 0.95)
# with, beside them, the ring buffer's drops (chunks lost / chunks), probe
# hits per request (the no-op probes' own count: Rampart's probes sit at the
# same places, so they fire as often) and Rampart's data-moving calls per
# request (its kernel counters), and the CPU that nginx and rampartd used.
# With PROFILE=1 the kernel's BPF statistics (enabled only while measuring)
# also give each program's runs per request and ns per run, over one second
# of every run with probes (so their own cost barely touches the ratios).
#
#   sudo kernel_tests/bench/capture_bench.sh [BUILD_DIR]
#   env: ROUNDS (5), DURATION seconds per run (5), SIZES ("1k 16k"),
#        VARIANTS ("detached noop rampart"), THREADS (1), CONNECTIONS (8),
#        WARMUP seconds of unmeasured load per size before round 1 (2), PROFILE (1),
#        RAMPARTD_BASE (the `base` variant's rampartd), BASE_ARGS (flags
#        only the `base` variant's rampartd gets, e.g. to A/B a flag with
#        RAMPARTD_BASE the same binary), PIN (1: nginx on CPU 0,
#        wrk on CPU 1), PERF_DIR (a directory: `perf record -g` of CPU 0, nginx's,
#        for 2 s of every run, as ROUND-SIZE-VARIANT.data, to compare where
#        nginx's time goes with and without probes; needs PIN=1)
#
# Needs root, nginx, wrk, openssl, bpftool, python3 and a build with
# agent/rampartd, agent/rampartctl, kernel_tests/noop_ssl_attach and
# kernel_tests/apply_policy (scripts/bench.sh capture builds them). Traffic
# never leaves the namespace's loopback. On exit, even on failure, it stops
# the processes it started (by pid) and removes the namespace, rampartd's pin
# directory and the temporary directory.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
sizes=(${SIZES:-1k 16k})
variants=(${VARIANTS:-detached noop rampart})
threads=${THREADS:-1}
connections=${CONNECTIONS:-8}
warmup=${WARMUP:-2}
profile=${PROFILE:-1}
rampartd_base=${RAMPARTD_BASE:-}
base_args=(${BASE_ARGS:-})
pin_cpus=${PIN:-1}
perf_dir=${PERF_DIR:-}
# nginx on CPU 0 and wrk on CPU 1 in every variant. Unpinned, the scheduler
# placed them differently from run to run, and with it changed how often a
# response's wakeup of wrk needed an inter-processor interrupt (a hypervisor
# exit here, charged to nginx with interrupts off): 5% of nginx's time in one
# run, none in the next, whichever variant ran. rampartd is not pinned.
nginx_on=() wrk_on=()
if [[ $pin_cpus == 1 ]]; then
  nginx_on=(taskset -c 0) wrk_on=(taskset -c 1)
fi

rampartd=$build/agent/rampartd
rampartctl=$build/agent/rampartctl
noop=$build/kernel_tests/noop_ssl_attach
apply=$build/kernel_tests/apply_policy  # its --profile reads the BPF statistics
for f in "$rampartd" "$rampartctl" "$noop" "$apply"; do
  [[ -x $f ]] || { echo "capture_bench: missing $f (build first: scripts/bench.sh capture)" >&2; exit 2; }
done
if [[ " ${variants[*]} " == *" base "* && ! -x $rampartd_base ]]; then
  echo "capture_bench: the base variant needs RAMPARTD_BASE=<another rampartd>" >&2
  exit 2
fi
for tool in nginx wrk openssl bpftool python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "capture_bench: $tool is not installed (scripts/bench.sh installs wrk)" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "capture_bench: needs root" >&2; exit 2; }

port=8443
work=$(mktemp -d /tmp/rampart-capbench.XXXXXX)
unique=${work##*.}  # mktemp's random part: no other run has it
ns=rpcb-$unique
pin=/sys/fs/bpf/rpbench-cap-$unique
ns_created=
nginx_pid=
attached_pid=  # noop_ssl_attach or rampartd, while a variant is attached
profile_pid=
perf_pid=

cleanup() {
  set +e
  [[ -n $profile_pid ]] && bench_stop "$profile_pid"
  [[ -n $perf_pid ]] && bench_stop "$perf_pid"
  [[ -n $attached_pid ]] && bench_stop "$attached_pid"
  [[ -n $nginx_pid ]] && bench_stop "$nginx_pid"
  [[ -n $ns_created ]] && ip netns del "$ns" 2>/dev/null
  rm -rf "$pin" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Not `ip netns exec`, which remounts /sys (bpffs). nsenter execs the command,
# so `"${in_ns[@]}" CMD &` leaves CMD's own pid in $!, as stop() needs.
in_ns=(nsenter --net="/run/netns/$ns")
in_ns() { "${in_ns[@]}" "$@"; }


ip netns add "$ns"
ns_created=1
ip -n "$ns" link set lo up

bench_server_cert "$work"
mkdir -p "$work/www" "$work/agent"
python3 - "$work/www" "${sizes[@]}" <<'EOF'
import random, string, sys
rng = random.Random(4)  # printable bytes, the same in every run
for size in sys.argv[2:]:
    n = int(size[:-1]) * 1024 if size[-1] in 'kK' else int(size)
    open(f'{sys.argv[1]}/{size}', 'w').write(''.join(rng.choices(string.ascii_letters + string.digits, k=n)))
EOF
bench_nginx_conf "$work" "default_type application/octet-stream;
keepalive_requests 100000000;
keepalive_timeout 300s;" "listen 127.0.0.1:$port ssl;
ssl_certificate $work/cert.pem;
ssl_certificate_key $work/key.pem;"
ln -s "$(command -v nginx)" "$work/rpb-nginx"
"${in_ns[@]}" "${nginx_on[@]}" "$work/rpb-nginx" -c "$work/nginx.conf" -p "$work/" -e "$work/error.log" >"$work/nginx.out" 2>&1 &
nginx_pid=$!
listening() { [[ -n $(in_ns ss -Hltn "sport = :$port") ]]; }
if ! bench_wait_for 10 listening || [[ $(cat "/proc/$nginx_pid/comm" 2>/dev/null) != rpb-nginx ]]; then
  echo "capture_bench: nginx did not come up" >&2
  cat "$work/nginx.out" "$work/error.log" >&2 2>/dev/null
  exit 1
fi
libssl=$(grep -m1 -o '/[^ ]*libssl[^ ]*' "/proc/$nginx_pid/maps" || echo "?")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime

agent_status() { "$rampartctl" --socket "$work/agent.sock" status --json 2>/dev/null; }

# The capture row of nginx in rampartd's status says "attached".
rampart_attached() {
  agent_status | python3 -c '
import json, sys
s = json.load(sys.stdin).get("capture", {})
sys.exit(0 if any(p["pid"] == int(sys.argv[1]) and p["attached"] for p in s.get("processes", [])) else 1)
' "$nginx_pid" 2>/dev/null
}

noop_attached() { grep -q '^attached' "$work/noop.out"; }

attach() {
  case $1 in
    detached) ;;
    noop)
      "$noop" --pid "$nginx_pid" >"$work/noop.out" 2>"$work/noop.err" &
      attached_pid=$!
      bench_wait_for 10 noop_attached || { cat "$work/noop.err" >&2; return 1; } ;;
    rampart|base)
      local binary=$rampartd
      [[ $1 == base ]] && binary=$rampartd_base
      local extra=()
      [[ $1 == base ]] && extra=("${base_args[@]}")
      "${in_ns[@]}" "$binary" --node-name capture-bench --state-dir "$work/agent" --socket "$work/agent.sock" \
        --pin-dir "$pin" --capture-process rpb-nginx --log-level warn "${extra[@]}" >>"$work/rampartd.log" 2>&1 &
      attached_pid=$!
      bench_wait_for 30 rampart_attached || { echo "rampartd did not attach to nginx:" >&2; tail -20 "$work/rampartd.log" >&2; return 1; } ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}

# "--prog ID=NAME ..." for every BPF program the process holds (its program
# and link fds say which).
program_args() {
  grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un >"$work/prog_ids.txt"
  bpftool -j prog show | python3 -c '
import json, sys
ids = {int(l) for l in open(sys.argv[1]) if l.strip()}
print(" ".join("--prog %d=%s" % (p["id"], p.get("name", "?")) for p in json.load(sys.stdin) if p["id"] in ids))
' "$work/prog_ids.txt"
}

echo "capture_bench: kernel $(uname -r), $(nproc) CPUs; $(nginx -v 2>&1 | sed 's/.*: //') with $libssl;" \
     "wrk -t$threads -c$connections (keep-alive); $rounds interleaved rounds of ${duration}s per variant and size:" \
     "${variants[*]}; sizes ${sizes[*]}"
: >"$work/results.tsv"
: >"$work/profile.tsv"
for size in "${sizes[@]}"; do
  if ((warmup > 0)); then
    in_ns "${wrk_on[@]}" wrk -t"$threads" -c"$connections" -d"${warmup}s" "https://127.0.0.1:$port/$size" >/dev/null
  fi
done
for ((r = 1; r <= rounds; r++)); do
  for size in "${sizes[@]}"; do
    for v in "${variants[@]}"; do
      attach "$v"
      progs=
      if [[ $profile == 1 && -n $attached_pid ]]; then
        progs=$(program_args "$attached_pid")
        # In the run, after the connections are up, before wrk stops.
        # One second: the statistics cost every program run about 90 ns, and
        # Rampart runs twice as many programs per request as the no-op probes.
        window=1
        (sleep 0.7; exec "$apply" --profile "$window" $progs >"$work/prof.txt" 2>&1) &
        profile_pid=$!
      fi
      if [[ -n $perf_dir ]]; then
        (sleep 1.5; exec perf record -q -C 0 -g -F 2000 -o "$perf_dir/$r-$size-$v.data" -- sleep 2 >/dev/null 2>&1) &
        perf_pid=$!
      fi
      nginx_before=$(cpu_ticks "$nginx_pid")
      agent_before=0
      [[ -n $attached_pid ]] && agent_before=$(cpu_ticks "$attached_pid")
      t0=$(date +%s.%N)
      if ! in_ns "${wrk_on[@]}" wrk -t"$threads" -c"$connections" -d"${duration}s" "https://127.0.0.1:$port/$size" >"$work/wrk.txt" 2>&1; then
        echo "wrk failed in round $r, $size, $v:" >&2
        cat "$work/wrk.txt" >&2
        exit 1
      fi
      t1=$(date +%s.%N)
      nginx_after=$(cpu_ticks "$nginx_pid")
      agent_after=0
      [[ -n $attached_pid ]] && agent_after=$(cpu_ticks "$attached_pid")
      if [[ -n $profile_pid ]]; then
        wait "$profile_pid" || true
        profile_pid=
      fi
      if [[ -n $perf_pid ]]; then
        wait "$perf_pid" || true
        perf_pid=
      fi
      calls=0 lost=0 probes=0
      if [[ $v == rampart || $v == base ]]; then
        read -r calls lost probes < <(agent_status | python3 -c '
import json, sys
c = json.load(sys.stdin)["capture"]
print(int(c["calls"]), int(c["chunks_lost"]), int(c["probes"]))')
        [[ -n $calls ]] || { echo "rampartctl status gave no capture counters:" >&2; tail -20 "$work/rampartd.log" >&2; exit 1; }
      fi
      hits=
      if [[ -n $attached_pid ]]; then
        bench_stop "$attached_pid"
        attached_pid=
      fi
      if [[ $v == noop ]]; then
        hits=$(awk '$1 == "hits" && $2 == "total" {print $3}' "$work/noop.out")
        probes=$(awk '$1 == "attached" {n += $2} END {print n + 0}' "$work/noop.out")
        [[ -n $hits ]] || { echo "noop_ssl_attach printed no hits:" >&2; cat "$work/noop.err" >&2; exit 1; }
      fi
      read -r rps requests errors < <(python3 - "$work/wrk.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r'Requests/sec:\s*([\d.]+)', text).group(1)
requests = re.search(r'(\d+) requests in', text).group(1)
bad = re.search(r'Non-2xx or 3xx responses:\s*(\d+)', text)
errs = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
print(rps, requests, (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0))
EOF
)
      tick=$(getconf CLK_TCK)
      elapsed=$(python3 -c "print($t1 - $t0)")
      nginx_cpu=$(python3 -c "print(100 * ($nginx_after - $nginx_before) / $tick / $elapsed)")
      agent_cpu=$(python3 -c "print(100 * ($agent_after - $agent_before) / $tick / $elapsed)")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$size" "$v" "$rps" "$requests" "${hits:--}" \
        "$calls" "$lost" "$nginx_cpu" "$agent_cpu" "$errors" >>"$work/results.tsv"
      line=$(printf '  round %d %-4s %-9s %9.0f req/s  nginx %3.0f%% CPU' "$r" "$size" "$v" "$rps" "$nginx_cpu")
      case $v in
        noop) line+=$(printf '  %d probes, %.2f hits/request' "$probes" "$(python3 -c "print($hits / $requests)")") ;;
        rampart|base) line+=$(printf '  rampartd %.0f%% CPU, %d probes, %.2f calls/request, %d of %d chunks lost' \
                   "$agent_cpu" "$probes" "$(python3 -c "print($calls / $requests)")" "$lost" "$calls") ;;
      esac
      ((errors == 0)) || line+="  ($errors wrk errors or non-2xx responses)"
      echo "$line"
      if [[ -n $progs && -s $work/prof.txt ]]; then
        sed "s/^/$size\t$v\t$rps\t/" "$work/prof.txt" >>"$work/profile.tsv"
      fi
    done
  done
done

python3 - "$work/results.tsv" "$work/profile.tsv" <<'EOF'
import collections, re, statistics, sys
runs = collections.defaultdict(dict)  # (size, variant) -> round -> row
for line in open(sys.argv[1]):
    r, size, v, rps, requests, hits, calls, lost, nginx_cpu, agent_cpu, errors = line.rstrip('\n').split('\t')
    runs[(size, v)][int(r)] = dict(rps=float(rps), requests=int(requests), hits=None if hits == '-' else int(hits),
                                   calls=int(calls), lost=int(lost), nginx_cpu=float(nginx_cpu),
                                   agent_cpu=float(agent_cpu))
sizes = list(dict.fromkeys(s for s, _ in runs))
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float('nan')
def ratio(size, a, b):
    A, B = runs.get((size, a), {}), runs.get((size, b), {})
    rs = [A[r]['rps'] / B[r]['rps'] for r in A if r in B and B[r]['rps'] > 0]
    return (med(rs), min(rs), max(rs)) if rs else None
def fmt(t):
    return f'{t[0]:.3f} ({t[1]:.3f}-{t[2]:.3f})' if t else '-'
def num(x, decimals=0):  # '-' for a variant that did not run
    return '-' if x != x else f'{x:.{decimals}f}'
print()
def us_per_request(x):  # nginx CPU time per request: what the probes cost it, whatever CPU share it got
    return 1e6 * x['nginx_cpu'] / 100 / x['rps'] if x['rps'] > 0 else None
def cpu_ratio(size, a, b):  # a's CPU per request over b's: like b/a in req/s, higher is better for b
    A, B = runs.get((size, a), {}), runs.get((size, b), {})
    rs = [us_per_request(A[r]) / us_per_request(B[r]) for r in A if r in B and us_per_request(A[r]) and us_per_request(B[r])]
    return (med(rs), min(rs), max(rs)) if rs else None
print('| body | detached req/s | noop req/s | rampart req/s | (a) noop/detached | (b) rampart/detached '
      '| (c) rampart/noop | goal (c) >= 0.95 | ring-buffer drops (lost/chunks) | probe hits/request '
      '| rampart calls/request | nginx CPU % (det/noop/rampart) | rampartd CPU % '
      '| nginx CPU µs/request (det/noop/rampart) | (c) by CPU: noop µs/rampart µs |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for size in sizes:
    m = {v: med([x['rps'] for x in runs.get((size, v), {}).values()]) for v in ('detached', 'noop', 'rampart')}
    c = ratio(size, 'rampart', 'noop')
    rp = runs.get((size, 'rampart'), {}).values()
    lost, chunks = sum(x['lost'] for x in rp), sum(x['calls'] for x in rp)
    hits = med([x['hits'] / x['requests'] for x in runs.get((size, 'noop'), {}).values() if x['hits'] is not None])
    calls = med([x['calls'] / x['requests'] for x in rp])
    cpu = '/'.join(num(med([x['nginx_cpu'] for x in runs.get((size, v), {}).values()]))
                   for v in ('detached', 'noop', 'rampart'))
    agent = med([x['agent_cpu'] for x in rp])
    us = '/'.join(num(med([us_per_request(x) for x in runs.get((size, v), {}).values()]), 1)
                  for v in ('detached', 'noop', 'rampart'))
    verdict = ('met' if c[0] >= 0.95 else 'NOT met') if c else '-'
    drops = f'{lost}/{chunks}' if rp else '-'
    print(f"| {size} | {num(m['detached'])} | {num(m['noop'])} | {num(m['rampart'])} "
          f"| {fmt(ratio(size, 'noop', 'detached'))} | {fmt(ratio(size, 'rampart', 'detached'))} | {fmt(c)} "
          f"| {verdict} | {drops} | {num(hits, 2)} | {num(calls, 2)} | {cpu} | {num(agent, 1)} "
          f"| {us} | {fmt(cpu_ratio(size, 'noop', 'rampart'))} |")
print('Ratios: median of the per-round ratios (min-max). Drops: summed over the rounds. CPU µs/request: nginx\'s')
print('utime+stime over the run divided by its requests; on a shared machine it moves far less than req/s,')
print('which also follows the CPU share nginx happened to get.')
if any(v == 'base' for _, v in runs):
    print()
    print('| body | base req/s | rampart req/s | rampart/base | base/noop | base drops (lost/chunks) '
          '| nginx CPU µs/request (base/rampart) | by CPU: base µs/rampart µs | by CPU: noop µs/base µs |')
    print('|---|---|---|---|---|---|---|---|---|')
    for size in sizes:
        b = runs.get((size, 'base'), {}).values()
        print(f"| {size} | {num(med([x['rps'] for x in b]))} "
              f"| {num(med([x['rps'] for x in runs.get((size, 'rampart'), {}).values()]))} "
              f"| {fmt(ratio(size, 'rampart', 'base'))} | {fmt(ratio(size, 'base', 'noop'))} "
              f"| {sum(x['lost'] for x in b)}/{sum(x['calls'] for x in b)} "
              f"| {num(med([us_per_request(x) for x in b]), 1)}/"
              f"{num(med([us_per_request(x) for x in runs.get((size, 'rampart'), {}).values()]), 1)} "
              f"| {fmt(cpu_ratio(size, 'base', 'rampart'))} | {fmt(cpu_ratio(size, 'noop', 'base'))} |")

# "1k<TAB>rampart<TAB>rps<TAB>rampart_ssl_rea: 1234 runs/s, 567 ns/run, 1.2% of one CPU"
prof = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[2]):
    size, v, rps, rest = line.rstrip('\n').split('\t', 3)
    m = re.match(r'(\S+): (\S+) runs/s, (\S+) ns/run, (\S+)% of one CPU', rest)
    if m:
        d = prof[(size, v, m.group(1))]
        d['per_req'].append(float(m.group(2)) / float(rps))
        d['ns'].append(float(m.group(3)))
        d['cpu'].append(float(m.group(4)))
if prof:
    print()
    print('| body | variant: program (BPF stats, mid-run) | runs/request | ns/run | % of one CPU |')
    print('|---|---|---|---|---|')
    for (size, v, p), d in sorted(prof.items(), key=lambda kv: (sizes.index(kv[0][0]), kv[0][1], kv[0][2])):
        if max(d['per_req']) == 0:
            continue  # loaded but never run (rampartd's datapath programs, unused probes)
        print(f"| {size} | {v}: {p} | {med(d['per_req']):.2f} | {med(d['ns']):.0f} | {med(d['cpu']):.2f} |")
    print('runs/request: runs/s in the window over the run\'s req/s; ns/run excludes the uprobe trap itself.')
EOF
