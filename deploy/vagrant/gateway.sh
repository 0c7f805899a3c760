#!/bin/bash
# Provisions the lab's gateway (see the Vagrantfile): ocserv on TCP and UDP 443 with password
# login (user "vpnuser", password "vpnpass") and a self-signed certificate, mtuguard from the
# package enforcing on the inside interface, sessions added by the ocserv connect-script.
# Idempotent: `vagrant provision gateway` runs it again. The DTLS toggle is block-dtls.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

OUTSIDE_IP=192.168.60.2
INSIDE_IP=192.168.61.2
POOL=10.8.0.0/24
VPN_USER=vpnuser VPN_PASSWORD=vpnpass
src=/vagrant

iface_of() { ip -o -4 addr show | awk -v ip="$1" '$4 ~ "^"ip"/" {print $2; exit}'; }
inside=$(iface_of "$INSIDE_IP")
[ -n "$inside" ] || { echo "no interface has $INSIDE_IP" >&2; exit 1; }
echo "gateway: inside interface $inside"

apt-get update -qq
apt-get install -y -qq --no-install-recommends ocserv openssl nftables curl jq >/dev/null

# Routing between the tunnel and the inside network
echo "net.ipv4.ip_forward = 1" >/etc/sysctl.d/60-lab-forward.conf
sysctl -q -p /etc/sysctl.d/60-lab-forward.conf

# --- mtuguard: the package from build/, or built here from the synced source ------------------
# The last (in glob order) mtuguard_*.deb in a directory, or nothing
package_in() {
    local file last=""
    for file in "$1"/mtuguard_*_amd64.deb; do
        [ -f "$file" ] && last=$file
    done
    echo "$last"
}
deb=$(package_in "$src/build")
if [ -z "$deb" ]; then
    echo "gateway: no build/mtuguard_*.deb on the host: building the package from the source"
    "$src/scripts/deps"
    cmake -S "$src" -B /root/mtuguard-build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build /root/mtuguard-build -j"$(nproc)"
    (cd /root/mtuguard-build && cpack -G DEB)
    deb=$(package_in /root/mtuguard-build)
fi
echo "gateway: installing $deb"
apt-get install -y -qq --reinstall "$deb" >/dev/null

# Enforce toward the clients on the inside interface; sessions come from the connect-script
cat >/etc/mtuguard/mtuguard.conf <<EOF
# The lab's gateway (deploy/vagrant/gateway.sh); every option: mtuguard.conf(5)
iface = $inside
keep-attached = true
EOF
if [ -f /lib/systemd/system/mtuguard.service ]; then
    systemctl enable mtuguard.service
    systemctl restart mtuguard.service
else
    # A package built before the unit existed: run the daemon as a transient unit instead
    systemctl stop mtuguard-lab.service 2>/dev/null || true
    systemd-run --unit mtuguard-lab --property=Restart=on-failure \
        /usr/sbin/mtuguardd --config /etc/mtuguard/mtuguard.conf
fi

# --- ocserv ---------------------------------------------------------------------------------------
mkdir -p /etc/ocserv/lab
if [ ! -f /etc/ocserv/lab/server-cert.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$OUTSIDE_IP" \
        -addext "subjectAltName=IP:$OUTSIDE_IP" \
        -keyout /etc/ocserv/lab/server-key.pem -out /etc/ocserv/lab/server-cert.pem 2>/dev/null
fi
printf '%s\n%s\n' "$VPN_PASSWORD" "$VPN_PASSWORD" | ocpasswd -c /etc/ocserv/ocpasswd "$VPN_USER"

cat >/etc/ocserv/ocserv.conf <<EOF
# The lab's ocserv (deploy/vagrant/gateway.sh)
auth = "plain[passwd=/etc/ocserv/ocpasswd]"
tcp-port = 443
udp-port = 443
listen-host = $OUTSIDE_IP
run-as-user = nobody
run-as-group = daemon
socket-file = /run/ocserv-socket
server-cert = /etc/ocserv/lab/server-cert.pem
server-key = /etc/ocserv/lab/server-key.pem
isolate-workers = true
max-clients = 16
max-same-clients = 4
keepalive = 32400
dpd = 90
mobile-dpd = 1800
# How long without DTLS before a session's packets go over TLS (ocserv's default 25 s)
switch-to-tcp-timeout = 25
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0"
auth-timeout = 240
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
use-occtl = true
pid-file = /run/ocserv.pid
device = vpns
predictable-ips = true
ipv4-network = $POOL
# Split tunnel: only the inside network goes through the VPN
route = 192.168.61.0/255.255.255.0
# mtuguard: add the session on login, remove it on logout (settings: /etc/default/mtuguard)
connect-script = /usr/libexec/mtuguard/mtuguard-connect
disconnect-script = /usr/libexec/mtuguard/mtuguard-connect
EOF
systemctl enable ocserv.service >/dev/null 2>&1 || true
systemctl restart ocserv.service

echo "gateway: ready. ocserv on $OUTSIDE_IP:443 (user $VPN_USER, password $VPN_PASSWORD);"
echo "         mtuguardd enforcing on $inside; try: mtuguardctl status; mtuguardctl session list"
