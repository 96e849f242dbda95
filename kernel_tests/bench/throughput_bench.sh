#!/usr/bin/env bash
# Throughput benchmark (issue 3, BENCHMARKS.md): iperf3 TCP throughput from a
# client namespace to a server namespace over one veth pair, in interleaved
# rounds of these variants, all on the server's veth (the receiving side):
#
#   none          no programs
#   empty-xdpg    empty XDP program in generic mode + empty TC egress program
#   rampart-xdpg  Rampart, ingress hook `auto` (a veth gets xdp-generic) + its TC egress
#   empty-tc      empty TC ingress + empty TC egress programs
#   rampart-tc    Rampart with --ingress-hook tc (TC ingress) + its TC egress
#
# and, when named in VARIANTS, two comparison variants measured under traffic
# (benchmark-only programs swapped in for Rampart's, on the same maps):
#
#   rampart-xdpg-trieonly   ingress XDP with one trie for every prefix (before the host maps)
#   rampart-tc-lazypull     TC ingress pulls headers only when they are not linear
#
# and one attribution variant: rampart-xdpg-nolimit, the policy without its
# rate limit (so no token bucket on the iperf3 port).
#
# During every run with programs, the kernel's BPF statistics (enabled only
# while measuring) give each program's runs per second, ns per run and share
# of one CPU: the cost of the programs themselves, free of iperf3's noise.
#
# Rampart's variants run the benchmarks' real policy (kernel_tests/bench/
# apply_policy.cc: 10,000 source prefixes in 2,000 rules, 1,000 egress rules,
# a per-source rate limit on the iperf3 port, default deny both ways).
# Prints the median Gbit/s per variant and the medians of the per-round
# ratios empty/none and rampart/empty. Goal: rampart/empty >= 0.95 at the
# hook `auto` picks for a veth (xdp-generic).
#
#   sudo kernel_tests/bench/throughput_bench.sh [BUILD_DIR]
#   env: ROUNDS (default 10), DURATION seconds per run (default 3), VARIANTS (default: all five)
#
# Needs root, iperf3 (scripts/bench.sh installs it), python3 and a build with
# bpf/empty.bpf.o, bpf/empty_tc.bpf.o and kernel_tests/apply_policy. Traffic
# stays inside the two namespaces, which are removed on exit, even on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-10}
duration=${DURATION:-3}
variants=(${VARIANTS:-none empty-xdpg rampart-xdpg empty-tc rampart-tc})

apply=$build/kernel_tests/apply_policy
empty_xdp=$build/bpf/empty.bpf.o
empty_tc=$build/bpf/empty_tc.bpf.o
for f in "$apply" "$empty_xdp" "$empty_tc"; do
  [[ -e $f ]] || { echo "throughput_bench: missing $f (build first: scripts/bench.sh)" >&2; exit 2; }
done
command -v iperf3 >/dev/null || { echo "throughput_bench: iperf3 is not installed (scripts/bench.sh installs it)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "throughput_bench: needs root" >&2; exit 2; }

id=$(( $$ % 100000 ))
srv=rpbS$id
cli=rpbC$id
vs=rpbs$id  # server end: the device under test
vc=rpbc$id
pin=/sys/fs/bpf/rpbench-tp$id
port=5201
work=$(mktemp -d /tmp/rampart-tput.XXXXXX)
server_pid=

cleanup() {
  set +e
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [[ -d $pin ]] && "$apply" --pin-dir "$pin" --remove
  ip netns del "$srv" 2>/dev/null
  ip netns del "$cli" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_srv() { nsenter --net="/run/netns/$srv" "$@"; }  # not `ip netns exec`: that remounts /sys (bpffs)

ip netns add "$srv"
ip netns add "$cli"
ip link add "$vs" netns "$srv" type veth peer name "$vc" netns "$cli"
for ns in "$srv" "$cli"; do
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$srv" addr add 10.77.0.2/24 dev "$vs"
ip -n "$cli" addr add 10.77.0.1/24 dev "$vc"
ip -n "$srv" link set "$vs" up
ip -n "$cli" link set "$vc" up

ip netns exec "$srv" iperf3 -s -B 10.77.0.2 -p "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  ip netns exec "$srv" ss -Hltn "sport = :$port" | grep -q . && break
  sleep 0.1
done

# "--prog ID=LABEL" for every program on the server's veth.
program_ids() {
  in_srv bpftool -j net show dev "$vs" | python3 -c '
import json, sys
for dev in json.load(sys.stdin):
    for p in dev.get("xdp", []):
        print("--prog %d=ingress-xdp-%s" % (p["id"], p["mode"]), end=" ")
    for p in dev.get("tc", []):
        print("--prog %d=%s-tc" % (p["id"], p["kind"].split("/")[1]), end=" ")
'
}

detach() {
  ip -n "$srv" link set dev "$vs" xdpgeneric off 2>/dev/null || true
  if [[ -d $pin ]]; then "$apply" --pin-dir "$pin" --ifname "$vs" --detach >/dev/null 2>&1 || true; fi
  tc -n "$srv" qdisc del dev "$vs" clsact 2>/dev/null || true
}

attach() {
  detach
  case $1 in
    none) ;;
    empty-xdpg)
      ip -n "$srv" link set dev "$vs" xdpgeneric obj "$empty_xdp" sec xdp
      tc -n "$srv" qdisc add dev "$vs" clsact
      tc -n "$srv" filter add dev "$vs" egress bpf da obj "$empty_tc" sec tc ;;
    empty-tc)
      tc -n "$srv" qdisc add dev "$vs" clsact
      tc -n "$srv" filter add dev "$vs" ingress bpf da obj "$empty_tc" sec tc
      tc -n "$srv" filter add dev "$vs" egress bpf da obj "$empty_tc" sec tc ;;
    rampart-*)
      local hook=auto extra=()
      [[ $1 == rampart-tc* ]] && hook=tc
      [[ $1 == rampart-xdpg-trieonly ]] && extra=(--variant trieonly)
      [[ $1 == rampart-tc-lazypull ]] && extra=(--variant lazypull)
      [[ $1 == rampart-xdpg-nolimit ]] && extra=(--no-rate-limit)
      in_srv "$apply" --pin-dir "$pin" --ifname "$vs" --client 10.77.0.1/32 --port "$port" --hook "$hook" \
        "${extra[@]}" >"$work/attach.txt" 2>"$work/apply.log" || { cat "$work/apply.log" >&2; return 1; }
      ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}

echo "throughput_bench: kernel $(uname -r), $(nproc) CPUs; iperf3 $(iperf3 --version | head -1 | awk '{print $2}');" \
     "$rounds interleaved rounds of ${duration}s (+1s omitted) per variant: ${variants[*]}"
: >"$work/results.tsv"
: >"$work/profile.txt"
for ((r = 1; r <= rounds; r++)); do
  for v in "${variants[@]}"; do
    attach "$v"
    json=$work/run.json
    prof_pid=
    progs=$(program_ids)
    if [[ -n $progs ]]; then  # the programs' own run time during the measured seconds
      (sleep 1.2; "$apply" --profile "$duration" $progs >"$work/prof.txt" 2>&1) &
      prof_pid=$!
    fi
    if ! ip netns exec "$cli" iperf3 -c 10.77.0.2 -p "$port" -t "$duration" -O 1 -J >"$json" 2>&1; then
      echo "iperf3 failed in round $r, variant $v:" >&2
      cat "$json" >&2
      exit 1
    fi
    if [[ -n $prof_pid ]]; then
      wait "$prof_pid" || true
      sed "s/^/$v: /" "$work/prof.txt" >>"$work/profile.txt"
    fi
    bps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"])' "$json")
    printf '%s\t%s\t%s\n' "$r" "$v" "$bps" >>"$work/results.tsv"
    printf '  round %d %-22s %6.2f Gbit/s\n' "$r" "$v" "$(python3 -c "print($bps/1e9)")"
    if [[ $v == rampart-* ]]; then echo "    attached: $(tr '\n' ';' <"$work/attach.txt")"; fi
    if [[ -n $prof_pid ]]; then sed 's/^/    /' "$work/prof.txt"; fi
  done
done
if [[ -d $pin ]]; then
  echo "Rampart's counters over all its rounds (the policy was enforcing):"
  "$apply" --pin-dir "$pin" --counters 2>/dev/null | sed 's/^/    /'
fi
detach

python3 - "$work/results.tsv" "$work/profile.txt" <<'EOF'
import collections, statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
by = collections.defaultdict(dict)  # variant -> round -> bps
for r, v, bps in rows:
    by[v][int(r)] = float(bps)
def med(xs): return statistics.median(xs) if xs else float('nan')
def ratio(a, b):
    rs = [by[a][r] / by[b][r] for r in by[a] if r in by[b] and by[b][r] > 0]
    return med(rs), (min(rs) if rs else float('nan')), (max(rs) if rs else float('nan'))
order = [v for v in ['none', 'empty-xdpg', 'rampart-xdpg', 'rampart-xdpg-nolimit', 'rampart-xdpg-trieonly',
                     'empty-tc', 'rampart-tc',
                     'rampart-tc-lazypull'] if v in by]
print()
print('| variant | median Gbit/s | min | max |')
print('|---|---|---|---|')
for v in order:
    xs = list(by[v].values())
    print(f'| {v} | {med(xs)/1e9:.2f} | {min(xs)/1e9:.2f} | {max(xs)/1e9:.2f} |')
print()
print('| ratio (median of per-round ratios) | median | min | max | goal |')
print('|---|---|---|---|---|')
for a, b, goal in [('empty-xdpg', 'none', ''), ('rampart-xdpg', 'empty-xdpg', '>= 0.95 (auto hook on a veth)'),
                   ('rampart-xdpg-nolimit', 'empty-xdpg', ''), ('rampart-xdpg-trieonly', 'empty-xdpg', ''),
                   ('empty-tc', 'none', ''), ('rampart-tc', 'empty-tc', ''), ('rampart-tc-lazypull', 'empty-tc', '')]:
    if a in by and b in by:
        m, lo, hi = ratio(a, b)
        verdict = ''
        if goal:
            verdict = ('met' if m >= 0.95 else 'NOT met') + f' ({goal})'
        print(f'| {a} / {b} | {m:.3f} | {lo:.3f} | {hi:.3f} | {verdict} |')

# "rampart-xdpg: ingress xdp-generic: 12345 runs/s, 98 ns/run, 0.123% of one CPU"
import re
prof = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[2]):
    m = re.match(r'(\S+): (\S+): (\S+) runs/s, (\S+) ns/run, (\S+)% of one CPU', line)
    if m:
        for k, val in zip(('runs/s', 'ns/run', 'cpu%'), m.groups()[2:]):
            prof[(m.group(1), m.group(2))][k].append(float(val))
if prof:
    print()
    print("| programs during the runs (BPF stats) | median runs/s | median ns/run | median % of one CPU |")
    print('|---|---|---|---|')
    rank = {v: i for i, v in enumerate(order)}
    for (v, p), d in sorted(prof.items(), key=lambda kv: (rank.get(kv[0][0], 99), kv[0][1])):
        print(f"| {v}: {p} | {med(d['runs/s']):.0f} | {med(d['ns/run']):.0f} | {med(d['cpu%']):.3f} |")
EOF
