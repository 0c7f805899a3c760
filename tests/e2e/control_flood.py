#!/usr/bin/env python3
"""Many control clients at once, and one that stalls (tests/e2e/faults_test.sh control_flood).

  control_flood.py SOCKET N

First one client connects and sends half a status request, then nothing. While it stalls, N
clients connect (all of them before any sends), each sends a status request and reads its answer.
The stalled client then waits for the daemon to close its connection. Prints key=value lines:
  answered         clients of the N whose answer was a status (ok, with interfaces)
  seconds          from the first connect to the last answer
  first_failure    what went wrong first, if anything
  stalled_closed   how the stalled connection ended: eof (closed by the daemon), or timeout
  stalled_bytes    bytes the stalled client received before that (an answer would be > 0)
  stalled_seconds  from its last byte sent to the close
"""
import json
import resource
import socket
import sys
import threading
import time

path, n = sys.argv[1], int(sys.argv[2])
STATUS = b'{"command": "status"}\n'


def connect(timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Blocking connect, as mtuguardctl's: a non-blocking AF_UNIX connect fails with EAGAIN while
    # the listen backlog is full.
    s.connect(path)
    s.settimeout(timeout)
    return s


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
threading.stack_size(256 << 10)

stalled = connect(30)
stalled.sendall(b'{"command": "sta')
stalled_since = time.monotonic()

barrier = threading.Barrier(n, timeout=60)
results = [None] * n


def worker(i):
    try:
        s = connect(60)
        barrier.wait()
        s.sendall(STATUS)
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError(f"closed after {len(buf)} bytes")
            buf += chunk
        r = json.loads(buf.split(b"\n", 1)[0])
        results[i] = "ok" if r.get("ok") is True and "interfaces" in r else "bad answer: " + json.dumps(r)[:200]
        s.close()
    except threading.BrokenBarrierError:
        results[i] = "gave up: another client failed"
    except Exception as e:  # noqa: BLE001 - reported, not raised
        results[i] = f"client {i}: {type(e).__name__}: {e}"
        barrier.abort()


start = time.monotonic()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
seconds = time.monotonic() - start
failures = [r for r in results if r != "ok"]
causes = [r for r in failures if not r.startswith("gave up")] or failures
print(f"answered={n - len(failures)}")
print(f"seconds={seconds:.2f}")
print(f"first_failure={causes[0] if causes else ''}")

received, closed = b"", "timeout"
try:
    while True:
        chunk = stalled.recv(65536)
        if not chunk:
            closed = "eof"
            break
        received += chunk
except socket.timeout:
    pass
except ConnectionResetError:
    closed = "eof"
print(f"stalled_closed={closed}")
print(f"stalled_bytes={len(received)}")
print(f"stalled_seconds={time.monotonic() - stalled_since:.2f}")
