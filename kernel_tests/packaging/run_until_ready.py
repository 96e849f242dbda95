#!/usr/bin/env python3
"""Starts a daemon the way a Type=notify systemd unit would, and waits for its
readiness: binds an abstract unix datagram socket, runs COMMAND with
NOTIFY_SOCKET naming it, and prints the daemon's pid once READY=1 arrives.
Exits 1 (the daemon killed) when the daemon exits first or TIMEOUT passes.

  run_until_ready.py TIMEOUT_SECONDS LOG_FILE COMMAND [ARG...]
"""
import os
import socket
import subprocess
import sys
import time


def main():
    timeout, log_path, command = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    name = "rampart-ready-%d-%d" % (os.getpid(), time.monotonic_ns())
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name)
    with open(log_path, "ab") as log:
        daemon = subprocess.Popen(command, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            print("%s exited with %d before READY=1" % (command[0], daemon.returncode), file=sys.stderr)
            return 1
        listener.settimeout(0.2)
        try:
            message = listener.recv(4096).decode()
        except socket.timeout:
            continue
        if "READY=1" in message.split("\n"):
            print(daemon.pid)
            return 0
    daemon.kill()
    print("%s sent no READY=1 within %.0f s" % (command[0], timeout), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
