#!/usr/bin/env bash
# TLS capture benchmark (issue 4, BENCHMARKS.md): what Rampart's OpenSSL
# uprobes cost a real HTTPS server. Each variant has an nginx of its own (one
# process: `master_process off; worker_processes 1;`, so it is the 1 worker
# and its pid is the one we start), serving /1k and /16k over HTTPS on its own
# port in a network namespace of the benchmark's (loopback only), and stays
# attached for the whole run; wrk drives one nginx at a time with keep-alive
# connections, the variants interleaved within every round and body size:
#
#   detached  no probes
#   noop      no-op uprobes (noop_ssl.bpf.c, attached by noop_ssl_attach) on
#             the entry and return of exactly the functions Rampart probes
#             (SSL_write, SSL_read, SSL_write_ex, SSL_read_ex, SSL_do_handshake),
#             in the same file, with the same pid filter: the floor
#   rampart   the real rampartd, no control plane, selecting its nginx by
#             process name (--capture-process); the kernel's counters it
#             reports are read before and after each run
#   base      another rampartd (RAMPARTD_BASE, e.g. built from an earlier
#             commit), run like `rampart` with BASE_ARGS added: an A/B of two
#             versions, or of one flag, in the same run, printed as rampart/base
#
# Why every variant stays attached: attaching and starting an agent between
# runs took seconds, so runs of one variant lay far apart in time, and this
# VM's speed drifts by 10-20% within a minute. With all of them up, a round of
# short runs takes little more than the runs themselves. The nginx of a
# variant idles while another one is measured, and its probes are filtered to
# its own pid, so they do not fire for the others; Rampart's socket
# tracepoints fire for every socket, and return at once while no probed call
# is in flight (docs/capture.md): the other variants' nginx pay a few tens of
# nanoseconds a socket call for them, under 0.1% of a request.
#
# Each nginx runs as a symlink named rpb-VARIANT, so its process name (comm)
# is unique and rampartd attaches to that nginx only, not to any other nginx
# on the host.
#
# Prints every run, then per body size the medians of the per-round ratios
#   (a) noop/detached, (b) rampart/detached, (c) rampart/noop (goal: >= 0.95)
# with, beside them, the ring buffer's drops (chunks lost / chunks), probe
# hits per request (the no-op probes' own count: Rampart's probes sit at the
# same places, so they fire as often) and Rampart's data-moving calls per
# request (its kernel counters), and the CPU that nginx and rampartd used.
# With PROFILE=1 the kernel's BPF statistics (enabled only while measuring)
# also give each program's runs per request and ns per run, over one second
# of every run with probes. They cost every program run about 90 ns, and
# Rampart runs twice as many programs as the no-op probes, so in runs of a
# few seconds they lower (c): off by default, on for a look at the programs.
#
#   sudo kernel_tests/bench/capture_bench.sh [BUILD_DIR]
#   env: ROUNDS (30), DURATION seconds per run (2), SIZES ("1k 16k"),
#        VARIANTS ("detached noop rampart"), THREADS (1), CONNECTIONS (8),
#        WARMUP seconds of unmeasured load per size and variant before round 1 (2), PROFILE (0),
#        RAMPARTD_BASE (the `base` variant's rampartd), BASE_ARGS (flags
#        only the `base` variant's rampartd gets, e.g. to A/B a flag with
#        RAMPARTD_BASE the same binary), PIN (1: nginx on CPU 0,
#        wrk on CPU 1), PERF_DIR (a directory: `perf record -g` of CPU 0, nginx's,
#        for 2 s of every run, as ROUND-SIZE-VARIANT.data, to compare where
#        nginx's time goes with and without probes; needs PIN=1), KEEP_WORK
#        (set: keep the temporary directory, with every nginx's and agent's
#        logs, and print its path)
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
rounds=${ROUNDS:-30}
duration=${DURATION:-2}
sizes=(${SIZES:-1k 16k})
variants=(${VARIANTS:-detached noop rampart})
threads=${THREADS:-1}
connections=${CONNECTIONS:-8}
warmup=${WARMUP:-2}
profile=${PROFILE:-0}
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

base_port=8443
work=$(mktemp -d /tmp/rampart-capbench.XXXXXX)
unique=${work##*.}  # mktemp's random part: no other run has it
ns=rpcb-$unique
ns_created=
declare -A nginx_pid=() port=() attached_pid=()  # per variant; attached_pid: noop_ssl_attach or rampartd
profile_pid=
perf_pid=

cleanup() {
  set +e
  [[ -n $profile_pid ]] && bench_stop "$profile_pid"
  [[ -n $perf_pid ]] && bench_stop "$perf_pid"
  for v in "${!attached_pid[@]}"; do bench_stop "${attached_pid[$v]}"; done
  for v in "${!nginx_pid[@]}"; do bench_stop "${nginx_pid[$v]}"; done
  [[ -n $ns_created ]] && ip netns del "$ns" 2>/dev/null
  for v in "${variants[@]}"; do rm -rf "/sys/fs/bpf/rpbench-cap-$unique-$v"; done
  if [[ -n ${KEEP_WORK:-} ]]; then echo "capture_bench: kept $work" >&2; else rm -rf "$work"; fi
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
mkdir -p "$work/www"
python3 - "$work/www" "${sizes[@]}" <<'EOF'
import random, string, sys
rng = random.Random(4)  # printable bytes, the same in every run
for size in sys.argv[2:]:
    n = int(size[:-1]) * 1024 if size[-1] in 'kK' else int(size)
    open(f'{sys.argv[1]}/{size}', 'w').write(''.join(rng.choices(string.ascii_letters + string.digits, k=n)))
EOF
listening() { [[ -n $(in_ns ss -Hltn "sport = :$1") ]]; }

# One nginx per variant, each named rpb-VARIANT (a symlink to nginx, so its
# process name is unique: rampartd selects by it and attaches to no other
# nginx on the host), on a port of its own, all serving the same files.
next_port=$base_port
for v in "${variants[@]}"; do
  dir=$work/$v
  mkdir -p "$dir"
  ln -s ../www "$dir/www"
  port[$v]=$next_port
  next_port=$((next_port + 1))
  bench_nginx_conf "$dir" "default_type application/octet-stream;
keepalive_requests 100000000;
keepalive_timeout 300s;" "listen 127.0.0.1:${port[$v]} ssl;
ssl_certificate $work/cert.pem;
ssl_certificate_key $work/key.pem;"
  ln -s "$(command -v nginx)" "$dir/rpb-$v"
  "${in_ns[@]}" "${nginx_on[@]}" "$dir/rpb-$v" -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" >"$dir/nginx.out" 2>&1 &
  nginx_pid[$v]=$!
  if ! bench_wait_for 10 listening "${port[$v]}" || [[ $(cat "/proc/${nginx_pid[$v]}/comm" 2>/dev/null) != "rpb-$v" ]]; then
    echo "capture_bench: nginx for $v did not come up" >&2
    cat "$dir/nginx.out" "$dir/error.log" >&2 2>/dev/null
    exit 1
  fi
done
libssl=$(grep -m1 -o '/[^ ]*libssl[^ ]*' "/proc/${nginx_pid[${variants[0]}]}/maps" || echo "?")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime
# CPU 0's interrupt counts by kind ("LOC=n,IWI=n,..."): timer, irq work,
# rescheduling and function-call IPIs, TLB shootdowns. With PIN=1 that is
# nginx's CPU, and each of these is a hypervisor exit on this VM: a variant
# that sends nginx more of them pays for it in nginx's CPU time.
cpu0_interrupts() {
  awk '$1 ~ /^(LOC|IWI|RES|CAL|TLB):$/ {printf "%s%s=%s", sep, substr($1, 1, 3), $2; sep = ","} END {print ""}' /proc/interrupts
}

agent_status() { "$rampartctl" --socket "$work/$1/agent.sock" status --json 2>/dev/null; }

# The capture row of the variant's nginx in its rampartd's status says "attached".
rampart_attached() {
  agent_status "$1" | python3 -c '
import json, sys
s = json.load(sys.stdin).get("capture", {})
sys.exit(0 if any(p["pid"] == int(sys.argv[1]) and p["attached"] for p in s.get("processes", [])) else 1)
' "${nginx_pid[$1]}" 2>/dev/null
}

# "calls lost probes": the kernel's capture counters since the agent started.
agent_counters() {
  agent_status "$1" | python3 -c '
import json, sys
c = json.load(sys.stdin)["capture"]
print(int(c["calls"]), int(c["chunks_lost"]), int(c["probes"]))'
}

noop_attached() { grep -q '^attached' "$work/noop/noop.out"; }

attach() {
  local v=$1 dir=$work/$1
  case $v in
    detached) ;;
    noop)
      "$noop" --pid "${nginx_pid[$v]}" >"$dir/noop.out" 2>"$dir/noop.err" &
      attached_pid[$v]=$!
      bench_wait_for 10 noop_attached || { cat "$dir/noop.err" >&2; return 1; } ;;
    rampart|base)
      local binary=$rampartd
      [[ $v == base ]] && binary=$rampartd_base
      local extra=()
      [[ $v == base ]] && extra=("${base_args[@]}")
      mkdir -p "$dir/agent"
      "${in_ns[@]}" "$binary" --node-name "capture-bench-$v" --state-dir "$dir/agent" --socket "$dir/agent.sock" \
        --pin-dir "/sys/fs/bpf/rpbench-cap-$unique-$v" --capture-process "rpb-$v" --log-level warn "${extra[@]}" \
        >>"$dir/rampartd.log" 2>&1 &
      attached_pid[$v]=$!
      bench_wait_for 30 rampart_attached "$v" || {
        echo "rampartd ($v) did not attach to its nginx:" >&2
        tail -20 "$dir/rampartd.log" >&2
        return 1
      } ;;
    *) echo "unknown variant $v" >&2; return 1 ;;
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

# The no-op probes' hits so far: noop_ssl_attach prints them on SIGUSR1.
noop_hits() {
  local out=$work/noop/noop.out lines
  lines=$(grep -c '^hits so far' "$out" || true)
  kill -USR1 "${attached_pid[noop]}"
  count_grew() { (($(grep -c '^hits so far' "$out" || true) > lines)); }
  bench_wait_for 10 count_grew || { echo "noop_ssl_attach did not print its hits" >&2; return 1; }
  awk '$1 == "hits" && $2 == "so" {n = $4} END {print n}' "$out"
}

echo "capture_bench: kernel $(uname -r), $(nproc) CPUs; $(nginx -v 2>&1 | sed 's/.*: //') with $libssl;" \
     "wrk -t$threads -c$connections (keep-alive); $rounds interleaved rounds of ${duration}s per variant and size:" \
     "${variants[*]}; sizes ${sizes[*]}; every variant attached to its own nginx for the whole run"
for v in "${variants[@]}"; do attach "$v"; done
: >"$work/results.tsv"
: >"$work/profile.tsv"
for size in "${sizes[@]}"; do
  if ((warmup > 0)); then
    for v in "${variants[@]}"; do
      in_ns "${wrk_on[@]}" wrk -t"$threads" -c"$connections" -d"${warmup}s" "https://127.0.0.1:${port[$v]}/$size" >"$work/wrk.txt"
    done
  fi
done
for ((r = 1; r <= rounds; r++)); do
  # Each round starts one variant further on, so that no variant always runs
  # first after a change of body size or last before one.
  n=${#variants[@]}
  order=()
  for ((k = 0; k < n; k++)); do order+=("${variants[$(((r - 1 + k) % n))]}"); done
  for size in "${sizes[@]}"; do
    for v in "${order[@]}"; do
      agent=${attached_pid[$v]:-}
      nginx=${nginx_pid[$v]}
      progs=
      if [[ $profile == 1 && -n $agent ]]; then
        progs=$(program_args "$agent")
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
      counters_before="0 0 0" hits_before=0
      [[ $v == rampart || $v == base ]] && counters_before=$(agent_counters "$v")
      [[ $v == noop ]] && hits_before=$(noop_hits)
      nginx_before=$(cpu_ticks "$nginx")
      irqs_before=$(cpu0_interrupts)
      agent_before=0
      [[ -n $agent ]] && agent_before=$(cpu_ticks "$agent")
      t0=$(date +%s.%N)
      if ! in_ns "${wrk_on[@]}" wrk -t"$threads" -c"$connections" -d"${duration}s" "https://127.0.0.1:${port[$v]}/$size" >"$work/wrk.txt" 2>&1; then
        echo "wrk failed in round $r, $size, $v:" >&2
        cat "$work/wrk.txt" >&2
        exit 1
      fi
      t1=$(date +%s.%N)
      nginx_after=$(cpu_ticks "$nginx")
      irqs_after=$(cpu0_interrupts)
      agent_after=0
      [[ -n $agent ]] && agent_after=$(cpu_ticks "$agent")
      if [[ -n $profile_pid ]]; then
        wait "$profile_pid" || true
        profile_pid=
      fi
      if [[ -n $perf_pid ]]; then
        wait "$perf_pid" || true
        perf_pid=
      fi
      calls=0 lost=0 probes=0 hits=-
      [[ $v == noop ]] && hits=$(($(noop_hits) - hits_before))
      if [[ $v == rampart || $v == base ]]; then
        counters_after=$(agent_counters "$v")
        [[ -n $counters_after ]] || { echo "rampartctl status ($v) gave no capture counters:" >&2; tail -20 "$work/$v/rampartd.log" >&2; exit 1; }
        read -r calls lost probes < <(python3 -c '
import sys
b, a = sys.argv[1].split(), sys.argv[2].split()
print(int(a[0]) - int(b[0]), int(a[1]) - int(b[1]), a[2])' "$counters_before" "$counters_after")
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
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$size" "$v" "$rps" "$requests" "$hits" \
        "$calls" "$lost" "$nginx_cpu" "$agent_cpu" "$errors" "$irqs_before" "$irqs_after" >>"$work/results.tsv"
      line=$(printf '  round %d %-4s %-9s %9.0f req/s  nginx %3.0f%% CPU' "$r" "$size" "$v" "$rps" "$nginx_cpu")
      case $v in
        noop) line+=$(printf '  %.2f hits/request' "$(python3 -c "print($hits / $requests)")") ;;
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
    r, size, v, rps, requests, hits, calls, lost, nginx_cpu, agent_cpu, errors, irq0, irq1 = line.rstrip('\n').split('\t')
    counts = lambda text: {k: int(n) for k, n in (kv.split('=') for kv in text.split(',') if kv)}
    before, after = counts(irq0), counts(irq1)
    runs[(size, v)][int(r)] = dict(rps=float(rps), requests=int(requests), hits=None if hits == '-' else int(hits),
                                   calls=int(calls), lost=int(lost), nginx_cpu=float(nginx_cpu),
                                   agent_cpu=float(agent_cpu),
                                   irqs={k: (after[k] - before[k]) / max(int(requests), 1) for k in after if k in before})
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
print()
print('| body | variant | interrupts on CPU 0 (nginx\'s) per request, medians: LOC timer, IWI irq work, '
      'RES rescheduling, CAL function call, TLB shootdown |')
print('|---|---|---|')
for size in sizes:
    for v in ('detached', 'noop', 'rampart', 'base'):
        rs = runs.get((size, v), {}).values()
        if rs:
            kinds = sorted({k for x in rs for k in x['irqs']})
            print(f"| {size} | {v} | " + ', '.join(f"{k} {med([x['irqs'].get(k) for x in rs]):.3f}" for k in kinds) + ' |')
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
