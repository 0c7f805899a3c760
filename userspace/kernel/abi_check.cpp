// Proves, at compile time, that the C++ side sees the shared structs exactly as the BPF side
// lays them out (x86-64 and BPF agree on natural alignment; these pin it down).
#include <cstddef>

#include "mtuguard_kern_user.h"

static_assert(sizeof(mg_addr) == 16);
static_assert(sizeof(mg_session) == 32);
static_assert(offsetof(mg_session, stats) == 8);
static_assert(offsetof(mg_session, dtls_mtu) == 0);
static_assert(offsetof(mg_session, tls_mtu) == 2);
static_assert(offsetof(mg_session, transport) == 4);
static_assert(offsetof(mg_session, source) == 5);
static_assert(sizeof(mg_session_stats) == 24);
static_assert(sizeof(mg_pool_key) == 20);
static_assert(offsetof(mg_pool_key, addr) == 4);
static_assert(sizeof(mg_iface) == 32);
static_assert(offsetof(mg_iface, mtu) == 4);
static_assert(offsetof(mg_iface, icmp_src4) == 8);
static_assert(offsetof(mg_iface, icmp_src6) == 12);
static_assert(offsetof(mg_iface, has_src4) == 28);
static_assert(sizeof(mg_bucket_config) == 24);
static_assert(offsetof(mg_session, mss_clamp) == 6);
static_assert(offsetof(mg_session, flags) == 7);
static_assert(sizeof(mg_client_pools) == 32);
static_assert(offsetof(mg_client_pools, prefix6) == 8);
static_assert(offsetof(mg_client_pools, first6) == 20);
static_assert(offsetof(mg_client_pools, size6) == 24);
static_assert(offsetof(mg_iface, direction) == 30);
static_assert(sizeof(mg_settings) == 64);
static_assert(offsetof(mg_settings, mss_clamp) == 8);
static_assert(offsetof(mg_settings, icmp_global) == 16);
static_assert(offsetof(mg_settings, icmp_per_source) == 40);
static_assert(sizeof(mg_bucket) == 16);
static_assert(sizeof(mg_locked_bucket) == 24);
static_assert(offsetof(mg_locked_bucket, bucket) == 8);
static_assert(sizeof(mg_counter) == 16);
static_assert(MG_REASON_ICMP_SENT == MG_REASON_COUNT - 1, "ICMP_SENT must stay last: it is the one XDP_TX reason");
static_assert(MG_ICMP4_QUOTE % 4 == 0 && MG_ICMP6_QUOTE % 4 == 0, "bpf_csum_diff sums whole words");
static_assert(sizeof(mg_client_obs) == 96);
static_assert(offsetof(mg_client_obs, last_syn_ns) == 48);
static_assert(offsetof(mg_client_obs, other_udp_port) == 88);
static_assert(sizeof(mg_observe_settings) == 8);
static_assert(sizeof(mg_answered_flow) == 24);
