#!/usr/bin/env python3
"""Holds many idle or trickling connections to an api on loopback and measures /health meanwhile.

Used by scripts/idle-sockets.sh (which builds and starts the api); can be run on its own
against an api already listening on 127.0.0.1:PORT:

    scripts/idle_sockets.py --port 8000 --connections 20000 --mode trickle --seconds 30

Workers (one process per ~9,000 sockets, each under its own open-file limit) keep up to
--connections sockets open, reopening the ones the server closes (at most --open-rate per
second and --max-opens in all), and in `trickle` mode send one byte of a never-ending request head per socket every
--trickle-interval seconds. After --ramp seconds the main process requests /health every
--probe-interval seconds on a fresh connection until --seconds have passed, then prints the
median, p99 and max latency and the counts, and exits 1 if p99 exceeds --p99-limit-ms or
any probe failed. Loopback only, bounded in count and time.
"""
import argparse
import errno
import json
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import sys
import time

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TRICKLE_HEAD = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100_000
PER_WORKER = 9000


def raise_open_files(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def worker(host, port, count, mode, trickle_interval, deadline, max_opens, open_rate, results):
    # The generator shares the machine with the api it measures: it yields the CPU first, so
    # what is measured is the api holding the sockets, not the generator's own appetite.
    os.nice(10)
    raise_open_files(count + 64)
    selector = selectors.DefaultSelector()
    sockets = {}  # fd -> [socket, connected, bytes sent]
    opened = closed_by_server = refused = peak = pending = connected = 0
    next_trickle = time.monotonic() + trickle_interval
    trickle_cursor = 0
    started = time.monotonic()

    def close(fd, by_server):
        nonlocal closed_by_server, pending, connected
        entry = sockets.pop(fd, None)
        if entry is None:
            return
        if entry[1]:
            connected -= 1
        else:
            pending -= 1
        selector.unregister(entry[0])
        entry[0].close()
        if by_server:
            closed_by_server += 1

    while time.monotonic() < deadline:
        # Open (or reopen) up to the target at --open-rate: a hostile client keeps its
        # population up, but a connect flood faster than that is another test (a SYN flood).
        allowed = int((time.monotonic() - started) * open_rate) + 1
        while len(sockets) < count and opened < min(max_opens, allowed) and pending < 256:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((host, port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                refused += 1
                break
            opened += 1
            pending += 1
            sockets[sock.fileno()] = [sock, False, 0]
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        for key, mask in selector.select(timeout=0.05):
            fd = key.fd
            entry = sockets.get(fd)
            if entry is None:
                continue
            if mask & selectors.EVENT_WRITE and not entry[1]:
                if entry[0].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    close(fd, False)
                    refused += 1
                    continue
                entry[1] = True
                pending -= 1
                connected += 1
                selector.modify(entry[0], selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    data = entry[0].recv(4096)
                except OSError:
                    data = b""
                if not data:
                    close(fd, True)
        peak = max(peak, connected)
        now = time.monotonic()
        if mode == "trickle" and now >= next_trickle:
            # One byte per connection per interval, spread over the interval in 20 slices.
            fds = list(sockets.keys())
            slice_size = max(1, len(fds) // 20)
            for fd in fds[trickle_cursor:trickle_cursor + slice_size]:
                entry = sockets.get(fd)
                if entry is None or not entry[1]:
                    continue
                try:
                    entry[0].send(TRICKLE_HEAD[entry[2]:entry[2] + 1])
                    entry[2] = (entry[2] + 1) % len(TRICKLE_HEAD)
                except OSError:
                    close(fd, True)
            trickle_cursor = trickle_cursor + slice_size if trickle_cursor + slice_size < len(fds) else 0
            next_trickle = now + trickle_interval / 20
    held = connected
    for fd in list(sockets.keys()):
        close(fd, False)
    results.put({"opened": opened, "closed_by_server": closed_by_server, "refused": refused, "peak": peak, "held_at_end": held})


def probe(host, port, timeout):
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - started
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("unexpected answer: %r" % data[:40])
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=20000)
    parser.add_argument("--mode", choices=["idle", "trickle"], default="idle")
    parser.add_argument("--trickle-interval", type=float, default=1.0)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds to open connections before probing")
    parser.add_argument("--seconds", type=float, default=30.0, help="total duration (ramp included)")
    parser.add_argument("--probe-interval", type=float, default=0.05)
    parser.add_argument("--p99-limit-ms", type=float, default=100.0)
    parser.add_argument("--max-opens", type=int, default=0, help="connections opened in all (default 10 × --connections)")
    parser.add_argument("--open-rate", type=float, default=2000.0, help="connections opened per second, reopens included")
    args = parser.parse_args()
    if args.host not in LOOPBACK:
        sys.exit("idle_sockets: refusing %s: loopback only" % args.host)
    if not 1 <= args.connections <= 50000 or not 1 <= args.seconds <= 600:
        sys.exit("idle_sockets: --connections must be 1..50000 and --seconds 1..600")
    max_opens = args.max_opens or 10 * args.connections
    raise_open_files(256)

    deadline = time.monotonic() + args.seconds
    workers = (args.connections + PER_WORKER - 1) // PER_WORKER
    results = multiprocessing.Queue()
    processes = []
    for index in range(workers):
        share = args.connections // workers + (1 if index < args.connections % workers else 0)
        process = multiprocessing.Process(target=worker, args=(
            args.host, args.port, share, args.mode, args.trickle_interval, deadline, max_opens // workers,
            args.open_rate / workers, results))
        process.start()
        processes.append(process)

    time.sleep(min(args.ramp, args.seconds / 2))
    latencies, failures = [], []
    while time.monotonic() < deadline - 1:
        try:
            latencies.append(probe(args.host, args.port, timeout=5))
        except Exception as error:  # noqa: BLE001 - every failure counts
            failures.append(str(error))
        time.sleep(args.probe_interval)
    totals = {"opened": 0, "closed_by_server": 0, "refused": 0, "peak": 0, "held_at_end": 0}
    for _ in processes:
        for key, value in results.get(timeout=30).items():
            totals[key] += value
    for process in processes:
        process.join(timeout=10)

    latencies.sort()
    ms = lambda seconds: round(seconds * 1000, 2)  # noqa: E731
    report = {
        "mode": args.mode, "connections": args.connections, "probes": len(latencies), "failures": len(failures),
        "median_ms": ms(statistics.median(latencies)) if latencies else None,
        "p99_ms": ms(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]) if latencies else None,
        "max_ms": ms(latencies[-1]) if latencies else None,
        **totals,
    }
    print(json.dumps(report))
    if failures:
        print("idle_sockets: %d /health probes failed, e.g. %s" % (len(failures), failures[:3]), file=sys.stderr)
    if not latencies or failures or report["p99_ms"] > args.p99_limit_ms:
        print("idle_sockets: FAIL: /health p99 must stay under %.0f ms with no failure" % args.p99_limit_ms, file=sys.stderr)
        sys.exit(1)
    print("idle_sockets: ok", file=sys.stderr)


if __name__ == "__main__":
    main()
