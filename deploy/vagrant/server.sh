#!/bin/bash
# Provisions the lab's inside server (see the Vagrantfile): nginx with files large enough to
# fill full-size packets, and the route back to the VPN pool through the gateway, kept across
# reboots by a small unit.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

GATEWAY_INSIDE=192.168.61.2
POOL=10.8.0.0/24

apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx iputils-ping tcpdump nftables curl >/dev/null

# 10 MB of data for the client to fetch through the tunnel
head -c 10M /dev/urandom >/var/www/html/10M.bin
systemctl enable --now nginx.service >/dev/null 2>&1

cat >/etc/systemd/system/lab-route.service <<UNIT
[Unit]
Description=mtuguard lab: route to the VPN pool through the gateway
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/sbin/ip route replace $POOL via $GATEWAY_INSIDE

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable lab-route.service >/dev/null 2>&1
systemctl restart lab-route.service

echo "server: nginx on 192.168.61.10 (http://192.168.61.10/10M.bin); $POOL via $GATEWAY_INSIDE"
