// Proves, at compile time, that the C++ side sees the shared structs exactly as the BPF side
// lays them out (x86-64 and BPF agree on natural alignment; these pin it down).
#include <cstddef>

#include "mtuguard_kern_user.h"

// MG_LAYOUT(type, size, field, offset, ...): the struct's size and the offset of each field
// named, one static_assert each, so that a failure names the field. The MG_EACH_* levels rescan
// the expansion (3^4 times) to unroll the list of fields, as a macro cannot recurse directly.
#define MG_EACH_1(...) __VA_ARGS__
#define MG_EACH_2(...) MG_EACH_1(MG_EACH_1(MG_EACH_1(__VA_ARGS__)))
#define MG_EACH_3(...) MG_EACH_2(MG_EACH_2(MG_EACH_2(__VA_ARGS__)))
#define MG_EACH_4(...) MG_EACH_3(MG_EACH_3(MG_EACH_3(__VA_ARGS__)))
#define MG_PARENS ()
#define MG_OFFSETS(type, field, offset, ...)                                                        \
    static_assert(offsetof(type, field) == (offset), #type "." #field " is not where BPF has it"); \
    __VA_OPT__(MG_OFFSETS_AGAIN MG_PARENS(type, __VA_ARGS__))
#define MG_OFFSETS_AGAIN() MG_OFFSETS
#define MG_LAYOUT(type, size, ...)                                                                  \
    static_assert(sizeof(type) == (size), "sizeof(" #type ") is not what BPF has");               \
    __VA_OPT__(MG_EACH_4(MG_OFFSETS(type, __VA_ARGS__)))

MG_LAYOUT(mg_addr, 16);
MG_LAYOUT(mg_session, 32, dtls_mtu, 0, tls_mtu, 2, transport, 4, source, 5, mss_clamp, 6, flags, 7, stats, 8);
MG_LAYOUT(mg_session_stats, 24);
MG_LAYOUT(mg_session_meta, 152, group, 64, public_addr, 128, has_public, 144, client_mtu, 146, headend_mtu, 148);
MG_LAYOUT(mg_pool_key, 20, addr, 4);
MG_LAYOUT(mg_iface, 40, mtu, 4, icmp_src4, 8, icmp_src6, 12, has_src4, 28, direction, 30, l3_only, 31, mac, 32,
          has_mac, 38);
MG_LAYOUT(mg_bucket_config, 24);
MG_LAYOUT(mg_client_pool4, 16, size, 4, base, 8);
MG_LAYOUT(mg_client_pool6, 24, first, 8, size, 16, base, 20);
MG_LAYOUT(mg_client_pools, 40 + 16 * 16 + 16 * 24 + 2 * 65536, step6, 4, count4, 8, count6, 12, shift4, 16, shift6, 20,
          seed4, 24, seed6, 32, pools4, 40, pools6, 296, buckets4, 680, buckets6, 680 + 65536);
MG_LAYOUT(mg_settings, 64, mss_clamp, 8, icmp_global, 16, icmp_per_source, 40);
MG_LAYOUT(mg_bucket, 16);
MG_LAYOUT(mg_locked_bucket, 24, bucket, 8);
MG_LAYOUT(mg_counter, 16);
MG_LAYOUT(mg_client_obs, 96, last_syn_ns, 48, other_udp_port, 88);
MG_LAYOUT(mg_observe_settings, 8);
MG_LAYOUT(mg_answered_flow, 40, first_answered_ns, 8, last_answered_ns, 16, unheeded, 24, mtu, 32);

static_assert(MG_REASON_ICMP_SENT == MG_REASON_COUNT - 1, "ICMP_SENT must stay last: it is the one XDP_TX reason");
static_assert(MG_ICMP4_QUOTE % 4 == 0 && MG_ICMP6_QUOTE % 4 == 0, "bpf_csum_diff sums whole words");
