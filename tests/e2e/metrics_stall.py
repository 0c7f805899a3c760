#!/usr/bin/env python3
"""/metrics clients that stall (tests/e2e/faults_test.sh slow_metrics).

  metrics_stall.py hold HOST PORT SLOW SILENT READY_FILE
      SLOW clients each send a GET /metrics, then read the answer one byte a second through a
      1 KiB receive buffer; SILENT clients connect and send nothing, and connect again whenever
      the server closes on them. Once the slow ones have their first byte, writes READY_FILE;
      then holds on until killed, rewriting it every second with slow_bytes (the bytes the slow
      readers got so far) and silent_reconnects (how often the server closed a silent one).

  metrics_stall.py scrape HOST PORT COUNT TIMEOUT
      COUNT scrapes one after the other, each on a new connection with TIMEOUT seconds to
      answer. Prints key=value lines: ok (scrapes answered 200 with mtuguard_build_info),
      max_seconds, first_failure.
"""
import os
import socket
import sys
import threading
import time
import urllib.request


def hold(host, port, slow, silent, ready_file):
    sockets, got = [], [0] * slow
    first_byte = threading.Barrier(slow + 1, timeout=30)

    def reader(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect((host, port))
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        sockets.append(s)
        first = True
        while True:
            b = s.recv(1)
            if not b:
                return
            got[i] += 1
            if first:
                first = False
                first_byte.wait()
            time.sleep(1)

    reconnects = [0]

    def mute():
        # Connects and sends nothing; once the server gives up on it, again.
        while True:
            s = socket.create_connection((host, port))
            while s.recv(4096):
                pass
            s.close()
            reconnects[0] += 1

    threads = [threading.Thread(target=mute, daemon=True) for _ in range(silent)]
    threads += [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(slow)]
    for t in threads:
        t.start()
    first_byte.wait()
    while True:
        with open(ready_file + ".tmp", "w") as f:
            f.write(f"slow_bytes={sum(got)}\nsilent_reconnects={reconnects[0]}\n")
        os.replace(ready_file + ".tmp", ready_file)
        time.sleep(1)


def scrape(host, port, count, timeout):
    ok, worst, failure = 0, 0.0, ""
    for _ in range(count):
        start = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as r:
                body = r.read()
                if r.status == 200 and b"mtuguard_build_info" in body:
                    ok += 1
                elif not failure:
                    failure = f"status {r.status}, {len(body)} bytes"
        except Exception as e:  # noqa: BLE001 - reported, not raised
            if not failure:
                failure = f"{type(e).__name__}: {e}"
        worst = max(worst, time.monotonic() - start)
    print(f"ok={ok}")
    print(f"max_seconds={worst:.3f}")
    print(f"first_failure={failure}")


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif sys.argv[1] == "scrape":
        scrape(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
