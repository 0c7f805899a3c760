#!/usr/bin/env python3
"""Session changes in a burst, and what a killed daemon left of them (tests/e2e/faults_test.sh).

  session_burst.py plan DIR
      writes DIR/plan.json (the sessions of each group, their old and new state), DIR/static.conf
      (the static sessions, as --config lines) and DIR/preload.txt (the mtuguardctl sessions that
      exist before the burst, for `mtuguardctl session add --file`)

  session_burst.py burst DIR SOCKET PID KILL_AFTER
      16 clients change the sessions at once over the control socket, one request in flight each;
      once KILL_AFTER changes are acknowledged, SIGKILL goes to PID. Every acknowledged change is
      written to DIR/acked; prints key=value lines (acked, total, in_flight)

  session_burst.py check DIR LIST_JSON MAP_DUMP_JSON STATUS_JSON
      LIST_JSON: `mtuguardctl -o json session list`; MAP_DUMP_JSON: `bpftool -j map dump pinned`
      of the IPv4 session map; STATUS_JSON: `mtuguardctl -o json status`. Prints key=value lines:
      sessions of each group found wholly old, wholly new, absent or mixed, acknowledged changes
      missing, disagreements between the list and the kernel's map, and the daemon's counts.

Groups (each session is changed once, by one client):
  replace    mtuguardctl sessions 1400/1300 on dtls, replaced by 1418/1347 on tls (session.add)
  transport  static sessions 1400/1300 on dtls, switched to tls (session.transport)
  create     absent, added as 1418/1347 on tls (session.add)
  delete     mtuguardctl sessions 1400/1300 on dtls, deleted (session.del)
  batch      absent, added 100 at a time as 1418/1347 on tls (session.add with many sessions)
"""
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import threading

OLD = {"dtls_mtu": 1400, "tls_mtu": 1300, "transport": "dtls"}
NEW = {"dtls_mtu": 1418, "tls_mtu": 1347, "transport": "tls"}
SWITCHED = {"dtls_mtu": 1400, "tls_mtu": 1300, "transport": "tls"}
GROUPS = {  # name: (third octets of 10.9.X.Y, Y per octet, clients)
    "replace": ((1, 2, 3, 4), 200, 5),
    "transport": ((5, 6), 200, 4),
    "create": ((7, 8), 200, 3),
    "delete": ((9, 10), 200, 3),
    "batch": ((11, 12, 13, 14), 100, 1),
}
TRANSPORTS = {0: "dtls", 1: "tls"}  # enum mg_transport


def spec(address, state):
    return f"{address},dtls-mtu={state['dtls_mtu']},tls-mtu={state['tls_mtu']},transport={state['transport']}"


def plan(directory):
    groups = {name: [f"10.9.{x}.{y}" for x in octets for y in range(1, per + 1)]
              for name, (octets, per, _) in GROUPS.items()}
    with open(f"{directory}/plan.json", "w") as f:
        json.dump(groups, f)
    with open(f"{directory}/static.conf", "w") as f:
        f.writelines(f"session = {spec(a, OLD)}\n" for a in groups["transport"])
    with open(f"{directory}/preload.txt", "w") as f:
        f.writelines(spec(a, OLD) + "\n" for a in groups["replace"] + groups["delete"])


def requests(name, addresses):
    """The (key, request) pairs of one group; a key names what an acknowledgement proves."""
    if name == "replace" or name == "create":
        return [(a, {"command": "session.add", "sessions": [spec(a, NEW)]}) for a in addresses]
    if name == "transport":
        return [(a, {"command": "session.transport", "address": a, "transport": "tls"}) for a in addresses]
    if name == "delete":
        return [(a, {"command": "session.del", "address": a}) for a in addresses]
    return [(" ".join(addresses[i:i + 100]),
             {"command": "session.add", "sessions": [spec(a, NEW) for a in addresses[i:i + 100]]})
            for i in range(0, len(addresses), 100)]


def burst(directory, path, pid, kill_after):
    groups = json.load(open(f"{directory}/plan.json"))
    work = []  # one list of (group, key, request) per client
    for name, (_, _, clients) in GROUPS.items():
        reqs = requests(name, groups[name])
        for c in range(clients):
            work.append([(name, key, req) for key, req in reqs[c::clients]])
    acked_file = open(f"{directory}/acked", "w")
    lock = threading.Lock()
    state = {"acked": 0, "killed": False, "in_flight": 0, "errors": []}
    start = threading.Barrier(len(work))

    def client(items):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        start.wait()
        buffer = b""
        for name, key, req in items:
            with lock:
                if state["killed"]:
                    return
                state["in_flight"] += 1
            try:
                s.sendall(json.dumps(req).encode() + b"\n")
                while b"\n" not in buffer:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise EOFError("connection closed")
                    buffer += chunk
            except (OSError, EOFError):
                return  # the daemon is gone: this request stays in flight, unacknowledged
            line, buffer = buffer.split(b"\n", 1)
            reply = json.loads(line)
            with lock:
                state["in_flight"] -= 1
                if not reply.get("ok"):
                    state["errors"].append(f"{name} {key}: {reply}")
                    continue
                acked_file.write(f"{name} {key}\n")
                acked_file.flush()
                state["acked"] += 1
                if state["acked"] >= kill_after and not state["killed"]:
                    os.kill(pid, signal.SIGKILL)
                    state["killed"] = True

    threads = [threading.Thread(target=client, args=(items,)) for items in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(f"acked={state['acked']}")
    print(f"total={sum(len(w) for w in work)}")
    print(f"in_flight={state['in_flight']}")
    print(f"killed={state['killed']}")
    print(f"refused={len(state['errors'])}")
    print(f"first_refusal={state['errors'][0] if state['errors'] else ''}")


def map_entries(dump):
    """address -> {dtls_mtu, tls_mtu, transport} from bpftool's JSON dump of mg_sessions4."""
    out = {}
    for entry in dump:
        if "formatted" in entry:
            entry = entry["formatted"]
        key, value = entry["key"], entry["value"]
        if isinstance(key, int):
            address = str(ipaddress.IPv4Address(struct.pack("<I", key)))
        else:
            address = str(ipaddress.IPv4Address(bytes(int(b, 16) for b in key)))
        if isinstance(value, dict):
            fields = (value["dtls_mtu"], value["tls_mtu"], value["transport"])
        else:
            raw = bytes(int(b, 16) for b in value)
            fields = struct.unpack("<HHB", raw[:5])
        out[address] = {"dtls_mtu": fields[0], "tls_mtu": fields[1], "transport": TRANSPORTS.get(fields[2], "?")}
    return out


def check(directory, list_path, dump_path, status_path):
    groups = json.load(open(f"{directory}/plan.json"))
    listed = {s["address"]: {k: s[k] for k in ("dtls_mtu", "tls_mtu", "transport")}
              for s in json.load(open(list_path))["sessions"]}
    in_map = map_entries(json.load(open(dump_path)))
    status = json.load(open(status_path))
    acked = {}
    for line in open(f"{directory}/acked"):
        name, key = line.split(" ", 1)
        for address in key.split():
            acked[address] = name

    before = {"replace": OLD, "transport": OLD, "create": None, "delete": OLD, "batch": None}
    after = {"replace": NEW, "transport": SWITCHED, "create": NEW, "delete": None, "batch": NEW}
    mixed, lost = [], []
    for name, addresses in groups.items():
        counts = {"old": 0, "new": 0}
        for a in addresses:
            seen = listed.get(a)
            if seen == after[name]:
                counts["new"] += 1
            elif seen == before[name]:
                counts["old"] += 1
                if a in acked:
                    lost.append(f"{name} {a}: acknowledged, found {seen}")
            else:
                mixed.append(f"{name} {a}: {seen}")
        print(f"{name}.old={counts['old']}")
        print(f"{name}.new={counts['new']}")
        print(f"{name}.acked={sum(1 for a in addresses if acked.get(a) == name)}")
    print(f"mixed={len(mixed)}")
    print(f"first_mixed={mixed[0] if mixed else ''}")
    print(f"acked_missing={len(lost)}")
    print(f"first_acked_missing={lost[0] if lost else ''}")
    v4_listed = {a: v for a, v in listed.items() if ipaddress.ip_address(a).version == 4}
    differ = sorted(a for a in set(v4_listed) | set(in_map) if v4_listed.get(a) != in_map.get(a))
    print(f"list_vs_map={len(differ)}")
    print(f"first_list_vs_map={differ[0] + ': list ' + str(v4_listed.get(differ[0])) + ' map ' + str(in_map.get(differ[0])) if differ else ''}")
    print(f"map_entries={len(in_map)}")
    sessions = status["sessions"]
    on_dtls = sum(1 for v in listed.values() if v["transport"] == "dtls")
    print(f"status_counts={sessions['exact']} {sessions['dtls']} {sessions['tls']}")
    print(f"listed_counts={len(listed)} {on_dtls} {len(listed) - on_dtls}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "plan":
        plan(sys.argv[2])
    elif command == "burst":
        burst(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif command == "check":
        check(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
