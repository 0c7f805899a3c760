#!/bin/bash
# Provisions the lab's client (see the Vagrantfile): openconnect, and lab-connect (copied in by
# the Vagrantfile) installed to connect to the gateway's ocserv with the lab's password.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends openconnect iputils-ping curl tcpdump >/dev/null
install -m 0755 /tmp/lab-connect /usr/local/bin/lab-connect

echo "client: connect with 'sudo lab-connect' (foreground; -b for background)"
