#!/bin/bash
# The lab's seed-case toggle, run on the gateway at every `vagrant up` and provision:
# BLOCK_DTLS=1 drops UDP 443 so DTLS cannot pass and the clients fall back to TLS; anything else
# lets it through again. Only this nftables table changes: ocserv and the sessions stay up.
#   BLOCK_DTLS=1 vagrant provision gateway --provision-with block-dtls
#   vagrant provision gateway --provision-with block-dtls
set -euo pipefail

nft delete table inet lab_block_dtls 2>/dev/null || true
if [ "${BLOCK_DTLS:-0}" = 1 ]; then
    nft -f - <<'NFT'
table inet lab_block_dtls {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport 443 counter drop comment "BLOCK_DTLS=1: DTLS cannot pass, clients fall back to TLS"
    }
}
NFT
    echo "gateway: UDP 443 is blocked (BLOCK_DTLS=1): clients ride TLS"
else
    echo "gateway: UDP 443 is open: clients ride DTLS"
fi
