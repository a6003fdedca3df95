#!/usr/bin/env python3
"""Slow-drip clients against generator-backend while a client measures latency (issue 13).

usage: slow_clients.py PORT TOKEN JOB_ID [SECONDS_PER_PHASE]

Phases, each SECONDS_PER_PHASE long:
  quiet        no attack (the reference)
  one address  500 connections from 127.0.0.1, each sending a request head one byte every 2 s
  many         500 connections from 500 addresses 127.0.x.y, same drip
  both         the 1,000 at once
The drippers reconnect a second after the backend closes them (header timeout, per-address
cap), as an attacker would. A separate client from 127.0.0.254 alternates GET /health and
GET /api/v1/jobs/{id} on fresh connections, 20 requests/s, and reports p50/p99/max latency
and failures. Loopback only.
"""
import resource
import selectors
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
TOKEN = sys.argv[2]
JOB = sys.argv[3]
PHASE_S = float(sys.argv[4]) if len(sys.argv) > 4 else 15.0
DRIP_INTERVAL_S = 2.0
DRIPS_PER_GROUP = 500
HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


class Dripper:
    """Keeps `sources` connections open, each dripping one header byte per interval."""

    def __init__(self, sources):
        self.sources = sources
        self.sel = selectors.DefaultSelector()
        self.conns = {}  # socket -> (source, next drip time)
        self.opened = self.closed_by_server = 0
        self.reopen = []  # (time, source): a closed connection comes back after a second
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", PORT))
        except OSError:
            s.close()
            return
        self.sel.register(s, selectors.EVENT_READ)
        self.conns[s] = [source, time.monotonic() + 0.1, False]
        self.opened += 1

    def drop(self, s):
        source = self.conns.pop(s)[0]
        self.sel.unregister(s)
        s.close()
        self.closed_by_server += 1
        self.reopen.append((time.monotonic() + 1.0, source))

    def run(self):
        for src in self.sources:
            self.open(src)
        while not self.stop.is_set():
            for key, _ in self.sel.select(timeout=0.05):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed (a 429 or a timeout): reconnect
                    self.drop(s)
            now = time.monotonic()
            due = [src for t, src in self.reopen if t <= now]
            self.reopen = [(t, src) for t, src in self.reopen if t > now]
            for src in due:
                self.open(src)
            for s, state in list(self.conns.items()):
                if now < state[1]:
                    continue
                try:
                    s.send(HEAD if not state[2] else b"a")
                    state[2] = True
                except (BlockingIOError, OSError):
                    pass
                state[1] = now + DRIP_INTERVAL_S
        for s in list(self.conns):
            self.sel.unregister(s)
            s.close()
        self.conns.clear()


def request(path, auth):
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if auth:
        head += f"Authorization: Bearer {TOKEN}\r\n"
    head += "\r\n"
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.bind(("127.0.0.254", 0))
        s.connect(("127.0.0.1", PORT))
        s.sendall(head.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    elapsed = (time.monotonic() - started) * 1000
    return elapsed, data.startswith(b"HTTP/1.1 200")


def measure(seconds):
    lat = {"/health": [], "/api/v1/jobs/{id}": []}
    failures = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        name = "/health" if i % 2 == 0 else "/api/v1/jobs/{id}"
        path = "/health" if i % 2 == 0 else f"/api/v1/jobs/{JOB}"
        try:
            ms, ok = request(path, i % 2 == 1)
            lat[name].append(ms)
            failures += 0 if ok else 1
        except OSError:
            failures += 1
        i += 1
        time.sleep(0.05)
    return lat, failures


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def report(phase, lat, failures, drippers):
    opened = sum(d.opened for d in drippers)
    closed = sum(d.closed_by_server for d in drippers)
    held = sum(len(d.conns) for d in drippers)
    print(f"  {phase:<12} drip connections held {held:4d} (opened {opened}, closed by the backend {closed})")
    for name, values in lat.items():
        print(f"    {name:<20} n={len(values):4d}  p50 {pct(values, 50):6.1f} ms  p99 {pct(values, 99):6.1f} ms"
              f"  max {max(values) if values else float('nan'):6.1f} ms")
    print(f"    failed requests: {failures}")
    sys.stdout.flush()


def main():
    one = Dripper(["127.0.0.1"] * DRIPS_PER_GROUP)
    many = Dripper([f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(DRIPS_PER_GROUP)])
    print(f"slow clients: {DRIPS_PER_GROUP} drips per group, a byte every {DRIP_INTERVAL_S:.0f} s, "
          f"{PHASE_S:.0f} s per phase")
    lat, failures = measure(PHASE_S)
    report("quiet", lat, failures, [])
    one.thread.start()
    time.sleep(2)
    lat, failures = measure(PHASE_S)
    report("one address", lat, failures, [one])
    one.stop.set()
    one.thread.join()
    many.thread.start()
    time.sleep(2)
    lat, failures = measure(PHASE_S)
    report("many", lat, failures, [many])
    both_one = Dripper(["127.0.0.1"] * DRIPS_PER_GROUP)
    both_one.thread.start()
    time.sleep(2)
    lat, failures = measure(PHASE_S)
    report("both", lat, failures, [both_one, many])
    many.stop.set()
    both_one.stop.set()
    many.thread.join()
    both_one.thread.join()


if __name__ == "__main__":
    main()
