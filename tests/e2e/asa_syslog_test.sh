#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: Cisco ASA syslog as a session source. Lines as an ASA sends them (RFC 3164 header,
# %ASA-n-id: text) reach mtuguardd's --syslog-listen over UDP and over TCP (octet-counted and
# newline framing); the gateway enforces what they say.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   | mtuguardd --syslog-listen 127.0.0.1:5514 (udp + tcp)       |
#    ping -M do            | --asa-group '*,dtls-mtu=1418,tls-mtu=1347'                |
#                          +-------------------------------------+   +------------------+
#
#   asa_session_lifecycle  722051 makes session 10.8.0.5 (the group's MTUs, on TLS); 722033 UDP
#                          puts it on DTLS (a 1400-byte DF ping passes); 722043 back on TLS (the
#                          ping gets frag-needed 1347); 722034 TCP counts a reconnect and puts it on TLS; 722036 and
#                          602101 count headend reports (602101 for the session's address gives
#                          it the threshold as 722036 does); junk, an unused id and a broken 722051
#                          are counted as such; 722038 removes the session. Each counter moves by
#                          exactly what was sent.
#   asa_group_without_mtu  722051 for a group with no --asa-group makes no session, counted
#   asa_headend_threshold  a group without --asa-group inside a --session pool prefix takes the
#                          pool's MTUs; 722036 "threshold 1347" is enforced for that session at
#                          once: a 1418-byte DF probe answered with frag-needed 1347 within 1 s;
#                          the session shows its user, group, public address and the headend's
#                          threshold, and reads as in MTU mismatch (client 1418, enforced 1347)
#   syslog_flood           200 000 lines over TCP and 100 000 datagrams, half of them junk, while
#                          the daemon must keep enforcing and answering: every TCP line counted,
#                          RSS grows by less than 16 MiB (not checked under AddressSanitizer)
#
# Run as root: tests/e2e/asa_syslog_test.sh [TEST...] (MTUGUARD_BUILD_DIR as for the other e2e
# tests).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LISTEN=127.0.0.1:5514
PUBLIC=198.51.100.7

# send MODE LINE...: lines to the daemon from the gateway namespace; MODE udp (a datagram each),
# tcp (octet-counted) or tcp-lf (newline framing).
send()
{
    ip netns exec "$NS_GATEWAY" "$MG_PYTHON" - "$@" <<'PY'
import socket, sys
mode, lines = sys.argv[1], [l.encode() for l in sys.argv[2:]]
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for l in lines: s.sendto(l, ("127.0.0.1", 5514))
else:
    s = socket.create_connection(("127.0.0.1", 5514))
    s.sendall(b"".join(b"%d %s" % (len(l), l) if mode == "tcp" else l + b"\n" for l in lines))
    s.close()
PY
}

asa() # ID TEXT: one line as an ASA sends it
{
    printf '<166>Nov 22 10:00:00 asa1 : %%ASA-6-%s: %s' "$1" "$2"
}

who() { echo "Group <Staff> User <alice> IP <$PUBLIC>"; }

syslog_count() { mg_series "mtuguard_syslog_messages_total{result=\"$1\"}"; }
count_is() { [ "$(syslog_count "$1")" = "$2" ]; }

session_field() # FIELD: of session 10.8.0.5, or "none"
{
    ctl -o json session list "$MG_CLIENT4"
    if [ "$CTL_STATUS" -ne 0 ]; then echo none; return; fi
    json_get "d[\"sessions\"][0][\"$1\"]" "$CTL_OUT"
}
transport_is() { [ "$(session_field transport)" = "$1" ]; }
session_gone() { [ "$(session_field transport)" = none ]; }

ping_1400() { ip netns exec "$NS_SERVER" ping -c 1 -W 2 -M do -s 1372 "$MG_CLIENT4" 2>&1 || true; }

test_asa_session_lifecycle()
{
    mg_daemon_start --iface gw-in --syslog-listen "$LISTEN" --asa-group '*,dtls-mtu=1418,tls-mtu=1347'
    send udp "$(asa 722051 "$(who) IPv4 Address <$MG_CLIENT4> IPv6 address <::> assigned to session")"
    mg_wait_for 5 "session from 722051" transport_is tls
    mg_assert_eq "DTLS MTU from the group" 1418 "$(session_field dtls_mtu)"
    mg_assert_eq "TLS MTU from the group" 1347 "$(session_field tls_mtu)"
    mg_assert_eq "source" asa-syslog "$(session_field source)"

    send tcp "$(asa 722033 "$(who) First UDP SVC connection established for SVC session.")"
    mg_wait_for 5 "DTLS up" transport_is dtls
    mg_assert_match "1400 bytes fit DTLS" "1 received" "$(ping_1400)"
    send tcp-lf "$(asa 722043 "$(who) DTLS disabled: unable to negotiate cipher.")"
    mg_wait_for 5 "back on TLS" transport_is tls
    mg_assert_match "1400 bytes over TLS" "Frag needed and DF set \\(mtu = 1347\\)" "$(ping_1400)"

    send udp "$(asa 722034 "$(who) New TCP SVC connection, no existing connection.")" \
        "$(asa 722036 "$(who) Transmitting large packet 1418 (threshold 1347).")" \
        "$(asa 602101 "PMTU-D packet 1418 bytes greater than effective mtu 1347, dest_addr=$MG_CLIENT4, src_addr=$MG_SERVER4, prot=tcp")" \
        "hello, not an ASA line" \
        "$(asa 302013 "Built inbound TCP connection 1 for outside:1.2.3.4/5 to inside:6.7.8.9/10")" \
        "$(asa 722051 "$(who) IPv4 Address <10.8.0.999> IPv6 address <::> assigned to session")"
    mg_wait_for 5 "the six lines counted" count_is malformed 1
    mg_assert_eq "reconnects" 1 "$(mg_series mtuguard_reconnects_total)"
    mg_assert_eq "722036" 1 "$(mg_series 'mtuguard_headend_oversize_reports_total{kind="to_client"}')"
    mg_assert_eq "602101" 1 "$(mg_series 'mtuguard_headend_oversize_reports_total{kind="frag_needed_sent"}')"
    mg_assert_eq "not ASA" 1 "$(syslog_count not_asa)"
    mg_assert_eq "unused id" 1 "$(syslog_count ignored)"
    mg_assert_eq "applied (722036 and 602101 as well: the session's threshold)" 6 "$(syslog_count applied)"
    mg_assert_eq "722034 over TCP: back on TLS" tls "$(session_field transport)"

    send tcp "$(asa 722038 "$(who) SVC terminating session: User Requested.")"
    mg_wait_for 5 "session removed by 722038" session_gone
    mg_assert_eq "applied" 7 "$(syslog_count applied)"
    mg_daemon_stop
}

test_asa_group_without_mtu()
{
    mg_daemon_start --iface gw-in --syslog-listen "$LISTEN" --asa-group 'Staff,dtls-mtu=1418,tls-mtu=1347'
    send udp "$(asa 722051 "Group <Guests> User <bob> IP <$PUBLIC> IPv4 Address <$MG_CLIENT4> IPv6 address <::> assigned to session")"
    mg_wait_for 5 "counted" count_is no_group_mtu 1
    mg_assert_eq "no session made" none "$(session_field transport)"
    mg_assert_match "logged" "group 'Guests' has no --asa-group" "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
}

# The seed's own evidence: a user of a group without --asa-group, inside a --session pool prefix,
# gets the pool's MTUs; the headend's 722036 "threshold 1347" is then enforced for that session at
# once, so a 1418-byte DF probe is answered with frag-needed 1347 within a second.
test_asa_headend_threshold()
{
    mg_daemon_start --iface gw-in --syslog-listen "$LISTEN" --asa-group 'Staff,dtls-mtu=1418,tls-mtu=1347' \
        --session '10.8.0.0/24,dtls-mtu=1418,tls-mtu=1400,transport=dtls'
    send udp "$(asa 722051 "Group <Guests> User <bob> IP <$PUBLIC> IPv4 Address <$MG_CLIENT4> IPv6 address <::> assigned to session")"
    mg_wait_for 5 "session from 722051" transport_is dtls
    mg_assert_eq "DTLS MTU from the pool prefix" 1418 "$(session_field dtls_mtu)"
    mg_assert_eq "TLS MTU from the pool prefix" 1400 "$(session_field tls_mtu)"
    mg_assert_eq "source" asa-syslog "$(session_field source)"
    mg_assert_eq "the session's user" bob "$(session_field user)"
    mg_assert_eq "the session's group" Guests "$(session_field group)"
    mg_assert_eq "the client's public address" "$PUBLIC" "$(session_field public_address)"
    mg_assert_eq "no mismatch on DTLS" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    send tcp "$(asa 722033 "Group <Guests> User <bob> IP <$PUBLIC> First TCP SVC connection established for SVC session.")"
    mg_wait_for 5 "722033 applied" count_is applied 2
    mg_assert_match "1418 bytes fit DTLS" "1 received" \
        "$(ip netns exec "$NS_SERVER" ping -c 1 -W 2 -M do -s 1390 "$MG_CLIENT4" 2>&1 || true)"

    send udp "$(asa 722036 "Group <Guests> User <bob> IP <$PUBLIC> Transmitting large packet 1418 (threshold 1347).")"
    local start=$SECONDS out
    mg_flush_pmtu
    until out=$(ip netns exec "$NS_SERVER" ping -c 1 -W 1 -M do -s 1390 "$MG_CLIENT4" 2>&1 || true)
        [[ $out == *"mtu = 1347"* ]] || [ $((SECONDS - start)) -ge 3 ]; do
        mg_flush_pmtu
    done
    mg_note "after 722036: $(printf '%s' "$out" | grep -m1 -E 'Frag|received') ($((SECONDS - start)) s)"
    mg_assert_match "a 1418-byte DF probe after the headend's threshold" 'Frag needed and DF set \(mtu = 1347\)' "$out"
    mg_assert_cmp "seconds until it was answered with 1347" $((SECONDS - start)) -le 1
    mg_assert_eq "TLS MTU now" 1347 "$(session_field tls_mtu)"
    mg_assert_eq "transport now" tls "$(session_field transport)"
    mg_assert_eq "the headend's threshold, shown" 1347 "$(session_field headend_mtu)"
    mg_assert_eq "the client applies the DTLS MTU" 1418 "$(session_field client_mtu)"
    mg_assert_eq "the session in mismatch (client 1418, enforced 1347)" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    mg_assert_match "the mismatch logged with its user" \
        "session $MG_CLIENT4 \(user bob, group Guests\) in MTU mismatch: its client applies 1418, the gateway enforces 1347" \
        "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "logged once" "the headend enforces 1347 for $MG_CLIENT4 \(user 'bob', group 'Guests'\)" \
        "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$MG_DAEMON_PID/status"; }

test_syslog_flood()
{
    mg_daemon_start --iface gw-in --syslog-listen "$LISTEN" --asa-group '*,dtls-mtu=1418,tls-mtu=1347' \
        --session "$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1347"
    local before after
    before=$(rss_kib)
    ip netns exec "$NS_GATEWAY" "$MG_PYTHON" - <<'PY' &
import socket
tcp = socket.create_connection(("127.0.0.1", 5514))
good = b"<166>%ASA-6-722036: Group <g> User <u> IP <198.51.100.9> Transmitting large packet 1418 (threshold 1347)."
junk = b"<13>Nov 22 10:00:00 host app: " + b"x" * 200
batch = b"".join(b"%d %s" % (len(l), l) for l in [good, junk] * 1000)
for _ in range(100):
    tcp.sendall(batch)
tcp.close()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100000):
    udp.sendto(good if i % 2 else junk, ("127.0.0.1", 5514))
PY
    local flood=$!
    ctl_ok status
    mg_assert_match "enforcing during the flood" "Frag needed and DF set \\(mtu = 1347\\)" "$(ping_1400)"
    wait "$flood"
    mg_wait_for 20 "every TCP line counted" tcp_lines_counted
    after=$(rss_kib)
    mg_note "RSS $before KiB before, $after KiB after; counted: $(syslog_count not_asa) junk, $(mg_series 'mtuguard_headend_oversize_reports_total{kind="to_client"}') reports"
    # Under AddressSanitizer freed memory waits in its quarantine (256 MiB): RSS says nothing there.
    if [ -z "${ASAN_OPTIONS:-}" ]; then
        mg_assert_cmp "RSS growth (KiB)" $((after - before)) -lt 16384
    fi
    ctl_ok status
    mg_daemon_stop
}

# TCP delivers all 100 000 of each kind; UDP adds up to 50 000 more of each (a full socket
# buffer may drop some, which the kernel counts, not mtuguard).
tcp_lines_counted()
{
    [ "$(syslog_count not_asa)" -ge 100000 ] &&
        [ "$(mg_series 'mtuguard_headend_oversize_reports_total{kind="to_client"}')" -ge 100000 ]
}

mg_tests asa_session_lifecycle asa_group_without_mtu asa_headend_threshold syslog_flood
mg_main "$@"
