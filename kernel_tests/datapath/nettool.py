"""Traffic helper for the datapath kernel tests (kernel_tests/datapath/).

Each mode is one small, real network program that the tests run inside a
network namespace (nsenter --net=/run/netns/NAME python3 nettool.py MODE ...).
Results are printed on stdout, or written to a file, as JSON or as simple
lines, so the C++ tests can assert on them. Nothing here talks to an address
the tests did not create.

Modes:
  serve      TCP listeners (greeting "hi", then a line echo; "stats" answers the
             socket's retransmission count) and UDP listeners (echo, and count or
             log every datagram by source and port).
  probe      tries TCP connections / UDP round trips, in parallel; one result line
             per attempt: "SPEC ok" or "SPEC fail ...".
  send       sends COUNT UDP datagrams from a given source (and port).
  rate-send  sends UDP at a paced rate for some seconds; reports what it achieved.
  rate-recv  counts UDP datagrams with kernel receive timestamps (SO_TIMESTAMPNS).
  flood      paced UDP on several flows until a stop file appears.
  echo-client  holds one TCP connection, one message every interval, until a stop file.
  deny-probe   connects to a port again and again until a stop file; counts successes.
"""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

# SO_TIMESTAMPNS (== SCM_TIMESTAMPNS) from asm-generic/socket.h; Python's
# socket module does not export it everywhere.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def tcp_total_retrans(sock):
    # struct tcp_info: tcpi_total_retrans is the u32 at offset 100.
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 100)[0]


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.rename(tmp, path)


# --- serve -------------------------------------------------------------------


def serve(args):
    lock = threading.Lock()
    counts = {}
    log = open(args.log, "a") if args.log else None

    def note(line, key):
        with lock:
            counts[key] = counts.get(key, 0) + 1
            if log:
                log.write(line + "\n")
                log.flush()

    def dump_counts(*_):
        if args.counts:
            with lock:
                write_json(args.counts, counts)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump_counts)

    def listeners(kind, port):
        out = []
        for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            try:
                s = socket.socket(fam, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if kind == socket.SOCK_DGRAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                s.bind((addr, port))
            except OSError:
                if fam == socket.AF_INET6:
                    continue  # no IPv6 in this namespace
                raise
            out.append(s)
        return out

    def tcp_conn(conn, peer, port):
        note("tcp-accept %s %d" % (peer[0], port), "tcp %s %d" % (peer[0], port))
        try:
            conn.sendall(b"hi\n")
            reader = conn.makefile("rb")
            for line in reader:
                if line == b"stats\n":
                    conn.sendall(b"retrans %d\n" % tcp_total_retrans(conn))
                else:
                    conn.sendall(line)
        except OSError:
            pass
        finally:
            conn.close()

    def tcp_loop(s, port):
        s.listen(128)
        while True:
            conn, peer = s.accept()
            threading.Thread(target=tcp_conn, args=(conn, peer, port), daemon=True).start()

    def udp_loop(s, port):
        while True:
            data, peer = s.recvfrom(4096)
            src = peer[0]
            text = data.decode(errors="replace")
            note("udp %s %d %s" % (src, port, text), "%s %d" % (src, port))
            if args.echo:
                try:
                    s.sendto(data, peer)
                except OSError:
                    pass

    for port in args.tcp:
        for s in listeners(socket.SOCK_STREAM, port):
            threading.Thread(target=tcp_loop, args=(s, port), daemon=True).start()
    for port in args.udp:
        for s in listeners(socket.SOCK_DGRAM, port):
            threading.Thread(target=udp_loop, args=(s, port), daemon=True).start()
    with open(args.ready, "w") as f:
        f.write("ready\n")
    while True:
        time.sleep(3600)


# --- probe -------------------------------------------------------------------


def probe_one(spec, timeout):
    proto, src, dst, port = spec.split(",")
    port = int(port)
    fam = family_of(dst)
    deadline = time.monotonic() + timeout
    try:
        if proto == "tcp":
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(timeout)
            if src != "-":
                s.bind((src, 0))
            s.connect((dst, port))
            s.settimeout(max(0.05, deadline - time.monotonic()))
            greeting = s.recv(3)
            s.close()
            return "ok" if greeting == b"hi\n" else "fail greeting %r" % greeting
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if src != "-":
            s.bind((src, 0))
        payload = b"probe"
        while time.monotonic() < deadline:
            try:
                s.sendto(payload, (dst, port))
            except OSError as e:  # an egress drop may surface as ENOBUFS/EPERM
                last = e
            ready, _, _ = select.select([s], [], [], min(0.25, max(0.0, deadline - time.monotonic())))
            if ready:
                data, _ = s.recvfrom(4096)
                if data == payload:
                    return "ok"
        return "fail timeout"
    except OSError as e:
        return "fail %s" % e.__class__.__name__


def probe(args):
    results = {}

    def run(spec):
        results[spec] = probe_one(spec, args.timeout)

    threads = [threading.Thread(target=run, args=(spec,)) for spec in args.specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for spec in args.specs:
        print("%s %s" % (spec, results[spec]))


# --- send, rate-send, rate-recv, flood ---------------------------------------


def udp_socket(src, sport, dst):
    s = socket.socket(family_of(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    if src != "-" or sport:
        s.bind(("" if src == "-" else src, sport))
    return s


def send(args):
    s = udp_socket(args.src, args.sport, args.dst)
    sent = errors = 0
    for i in range(args.count):
        try:
            s.sendto(("%s %d" % (args.tag, i)).encode(), (args.dst, args.port))
            sent += 1
        except OSError:
            errors += 1
    print(json.dumps({"sent": sent, "errors": errors}))


def pace(start, index, pps):
    """Sleeps (then spins briefly) until packet `index` is due."""
    due = start + index / pps
    while True:
        ahead = due - time.monotonic()
        if ahead <= 0:
            return
        if ahead > 0.002:
            time.sleep(ahead - 0.001)


def rate_send(args):
    s = udp_socket(args.src, args.sport, args.dst)
    total = int(args.pps * args.seconds)
    payload = b"r" * 32
    sent = errors = 0
    start = time.monotonic()
    first = last = None
    for i in range(total):
        pace(start, i, args.pps)
        now = time.monotonic()
        try:
            s.sendto(payload, (args.dst, args.port))
            sent += 1
        except OSError:
            errors += 1
            continue
        if first is None:
            first = now
        last = now
    duration = (last - first) if sent > 1 else 0.0
    print(json.dumps({"sent": sent, "errors": errors, "duration": duration,
                      "pps": (sent - 1) / duration if duration > 0 else 0.0}))


def rate_recv(args):
    s = socket.socket(family_of(args.bind), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((args.bind, args.port))
    with open(args.ready, "w") as f:
        f.write("ready\n")
    stamps = []
    give_up = time.monotonic() + args.max_seconds
    while time.monotonic() < give_up:
        ready, _, _ = select.select([s], [], [], args.idle)
        if not ready:
            if stamps:
                break
            continue
        _, ancdata, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(16))
        stamp = None
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                stamp = sec + nsec / 1e9
        stamps.append(stamp if stamp is not None else time.time())
    first = stamps[0] if stamps else 0.0
    first_second = sum(1 for t in stamps if t - first < 1.0)
    per_second = {}
    for t in stamps:
        k = int(t - first)
        per_second[k] = per_second.get(k, 0) + 1
    write_json(args.out, {"count": len(stamps), "first_second": first_second,
                          "span": (stamps[-1] - first) if stamps else 0.0,
                          "per_second": [per_second.get(k, 0) for k in range(max(per_second) + 1)] if stamps else []})


def flood(args):
    flows = []
    for spec in args.flows:
        src, dst, port = spec.split(",")
        flows.append((spec, udp_socket(src, 0, dst), (dst, int(port))))
    sent = {spec: 0 for spec, _, _ in flows}
    errors = {spec: 0 for spec, _, _ in flows}
    start = time.monotonic()
    tick = 0
    while not os.path.exists(args.stop):
        pace(start, tick, 1.0 / args.tick)
        tick += 1
        due = int((time.monotonic() - start) * args.pps)
        for spec, s, dest in flows:
            while sent[spec] + errors[spec] < due:
                try:
                    s.sendto(b"f%d" % sent[spec], dest)
                    sent[spec] += 1
                except OSError:
                    errors[spec] += 1
    print(json.dumps({"sent": sent, "errors": errors, "seconds": time.monotonic() - start}))


# --- echo-client, deny-probe -------------------------------------------------


def echo_client(args):
    result = {"sent": 0, "echoed": 0, "errors": [], "client_retrans": -1, "server_retrans": -1,
              "max_rtt_ms": 0.0, "seconds": 0.0}
    start = time.monotonic()
    try:
        s = socket.create_connection((args.dst, args.port), timeout=5)
        s.settimeout(args.reply_timeout)
        reader = s.makefile("rb")
        if reader.readline() != b"hi\n":
            raise RuntimeError("no greeting")
        with open(args.ready, "w") as f:
            f.write("connected\n")
        seq = 0
        while not os.path.exists(args.stop):
            line = b"m%d\n" % seq
            t0 = time.monotonic()
            s.sendall(line)
            result["sent"] += 1
            reply = reader.readline()
            if reply != line:
                raise RuntimeError("message %d: echo %r" % (seq, reply))
            result["echoed"] += 1
            result["max_rtt_ms"] = max(result["max_rtt_ms"], (time.monotonic() - t0) * 1000)
            seq += 1
            time.sleep(args.interval)
        s.sendall(b"stats\n")
        reply = reader.readline().split()
        result["server_retrans"] = int(reply[1])
        result["client_retrans"] = tcp_total_retrans(s)
        s.close()
    except Exception as e:  # noqa: BLE001 - every failure is a result
        result["errors"].append("%s: %s" % (e.__class__.__name__, e))
    result["seconds"] = time.monotonic() - start
    write_json(args.out, result)


def deny_probe(args):
    attempts = connected = 0
    start = time.monotonic()
    while not os.path.exists(args.stop):
        attempts += 1
        try:
            s = socket.create_connection((args.dst, args.port), timeout=args.timeout)
            connected += 1
            s.close()
        except OSError:
            pass
    write_json(args.out, {"attempts": attempts, "connected": connected, "seconds": time.monotonic() - start})


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)

    p = sub.add_parser("serve")
    p.add_argument("--ready", required=True)
    p.add_argument("--tcp", type=int, nargs="*", default=[])
    p.add_argument("--udp", type=int, nargs="*", default=[])
    p.add_argument("--log", default="")
    p.add_argument("--counts", default="")
    p.add_argument("--echo", action="store_true")
    p.set_defaults(func=serve)

    p = sub.add_parser("probe")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("specs", nargs="+")
    p.set_defaults(func=probe)

    p = sub.add_parser("send")
    p.add_argument("--src", default="-")
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--tag", default="x")
    p.set_defaults(func=send)

    p = sub.add_parser("rate-send")
    p.add_argument("--src", default="-")
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pps", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.set_defaults(func=rate_send)

    p = sub.add_parser("rate-recv")
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--idle", type=float, default=1.5)
    p.add_argument("--max-seconds", type=float, default=60)
    p.set_defaults(func=rate_recv)

    p = sub.add_parser("flood")
    p.add_argument("--stop", required=True)
    p.add_argument("--pps", type=float, required=True, help="per flow")
    p.add_argument("--tick", type=float, default=0.005)
    p.add_argument("flows", nargs="+", help="SRC,DST,PORT")
    p.set_defaults(func=flood)

    p = sub.add_parser("echo-client")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--reply-timeout", type=float, default=10.0)
    p.add_argument("--ready", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=echo_client)

    p = sub.add_parser("deny-probe")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=0.2)
    p.add_argument("--stop", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=deny_probe)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
