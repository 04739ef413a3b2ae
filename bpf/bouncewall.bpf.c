// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bouncewall.bpf.c - the XDP half of bouncewall.
 *
 * Parses Ethernet (two VLAN tags at most), IPv4/IPv6 and TCP.  Packets to
 * an SMTP port are checked against the allowlist, then the blocklist (block
 * or throttle, with a boot-time expiry), then a per-source SYN budget kept
 * as GCRA timestamps.  Everything else, and everything it cannot parse,
 * passes: the program fails open and never returns XDP_ABORTED.
 *
 * Most traffic of a mail gateway is not SMTP, so that path is kept short:
 * it reads no map but the counters, only the TCP ports of the TCP header,
 * and tests the destination port against the SMTP ports held in read-only
 * global data (bw_static, see bouncewall.h).  Only an SMTP packet reads
 * the config map and the rest of its TCP header.
 *
 * Counters (bw_stats, per CPU): every packet counts exactly one of
 * PASS_UNPARSED, PASS_NOT_TCP, PASS_NOT_SMTP, SMTP, DROP_* or NO_CONFIG
 * (a dropped SMTP packet counts its DROP_* only); readers add DROP_* to
 * SMTP and take the sum as BW_CNT_PACKETS, which the kernel does not
 * count: increments the fast paths need not make.  SMTP packets
 * additionally count SMTP_SYN, and a passed one at most one of
 * PASS_ALLOW or WOULD_DROP_*.  A packet cut short
 * after the destination port of another port is still PASS_NOT_SMTP: the
 * rest of its header is never needed.
 *
 * Rules: an IPv4 source probes the IPv4 map once per IPv4 prefix length
 * in use, longest (a host) first; an IPv6 source likewise the IPv6 map.
 * (An IPv6 packet from an IPv4-mapped address tries the IPv4 lengths
 * first, then the IPv6 ones, as if both families' rules were one list.)
 *
 * The rate state in bw_rate is shared between CPUs and updated without a
 * lock: under a race two CPUs may both admit a SYN the bucket had room for
 * once.  That costs at most one extra SYN per CPU per race; a spin lock
 * would cost every SYN.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bouncewall.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Restart-only settings: the loader writes them before the load. */
const volatile struct bw_static bw_static = {};

/* The live settings: writable global data in a section of its own (an
 * internal array map of one entry, BW_MAP_CONFIG), written whole by the
 * agent (kern_write_config).  Reading it costs one load, where a map
 * lookup cost a helper's worth.  All zero until then: the program passes
 * everything and counts NO_CONFIG. */
struct bw_config bw_cfg SEC(".data.config") = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_counters);
} bw_stats SEC(".maps");

/* The rule maps (bouncewall.h says which holds what). */
#define RULE_MAP(name, key_t, value_t)				\
	struct {						\
		__uint(type, BPF_MAP_TYPE_HASH);		\
		__uint(max_entries, BW_RULES_DEFAULT);		\
		__uint(map_flags, BPF_F_NO_PREALLOC);		\
		__type(key, key_t);				\
		__type(value, value_t);				\
	} name SEC(".maps")

RULE_MAP(bw_allow4, struct bw_key4, struct bw_allow);
RULE_MAP(bw_allow, struct bw_key, struct bw_allow);
RULE_MAP(bw_block4, struct bw_key4, struct bw_rule);
RULE_MAP(bw_block, struct bw_key, struct bw_rule);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BW_RATE_MAX);
	__type(key, struct bw_key);
	__type(value, struct bw_rate_state);
} bw_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BW_EVENTS_BYTES);
} bw_events SEC(".maps");

#define NSEC_PER_SEC	1000000000ULL

/*
 * CLOCK_BOOTTIME for the hot path.  bpf_ktime_get_boot_ns() reads the
 * clocksource: rdtsc on bare metal, a paravirt clock in a VM, where it was
 * measured at ~35 ns, more than a hash lookup.  bpf_ktime_get_coarse_ns()
 * returns the timekeeper's last tick (CLOCK_MONOTONIC) for a few ns.
 * BOOTTIME is MONOTONIC plus the time spent suspended, so we keep that
 * offset and refresh it from the precise clock once a second.  The result
 * is within one tick (4 ms at HZ=250) of bpf_ktime_get_boot_ns(): far below
 * any TTL, and GCRA needs no more (a rate above HZ is still enforced on
 * average).  After a resume the offset is stale for at most a second.
 * Two CPUs refreshing at once store near-identical values: no lock.
 *
 * The coarse clock only moves when jiffies do, and bpf_jiffies64() is
 * inlined by the verifier as one load, where the coarse clock is a helper
 * call: the result is kept per jiffy.  A CPU that reads the new jiffy with
 * the old time (a race with the writer) is one tick behind, as the coarse
 * clock may be anyway.
 */
static __u64 boot_offset_ns;
static __u64 boot_offset_at;	/* coarse time of the last refresh */
static __u64 now_cached_ns;	/* now_boot_ns() as of now_cached_jiffy */
static __u64 now_cached_jiffy;

static __always_inline __u64
now_boot_ns(void)
{
	__u64 j = bpf_jiffies64(), c, now;

	if (j == now_cached_jiffy && now_cached_ns)
		return now_cached_ns;
	c = bpf_ktime_get_coarse_ns();
	if (c - boot_offset_at >= NSEC_PER_SEC || !boot_offset_at) {
		boot_offset_ns = bpf_ktime_get_boot_ns() - c;
		boot_offset_at = c;
	}
	now = c + boot_offset_ns;
	now_cached_ns = now;
	now_cached_jiffy = j;
	return now;
}

/* bw_drop() turns DROP_x into WOULD_DROP_x by a fixed offset. */
_Static_assert(BW_CNT_WOULD_DROP_BLOCK - BW_CNT_DROP_BLOCK == 3 &&
	       BW_CNT_WOULD_DROP_RATELIMIT - BW_CNT_DROP_RATELIMIT == 3 &&
	       BW_CNT_WOULD_DROP_THROTTLE - BW_CNT_DROP_THROTTLE == 3,
	       "WOULD_DROP_* must follow DROP_* in the same order");

/* An IPv6 source address, as four network-order words so masking works
 * a word at a time.  (An IPv4 source is just its address word.) */
struct bw_src {
	__u32 w[4];
	bool mapped;	/* IPv4-mapped: the IPv4 rules apply too */
};

/* This CPU's counters are looked up once a packet; each count is then a
 * plain increment: per-CPU value, no other writer, no atomic needed. */
static __always_inline void
count(struct bw_counters *ctr, __u32 idx)
{
	if (idx < BW_CNT_MAX)
		ctr->cnt[idx]++;
}

/*
 * Fill key with src masked to plen (128-bit form, clamped to 128): an IPv6
 * rule probe or a rate key.  A whole address (a host, or an IPv4 source at
 * prefix_v4 32) needs no mask.  Otherwise the mask of each word comes from a 64-bit
 * shift so that 0 and 32 bits need no special case: (~0ULL << 32)
 * truncates to 0, (~0ULL << 0) to ~0.
 */
static __always_inline void
key_mask(struct bw_key *key, const struct bw_src *src, __u32 plen)
{
	__u32 *w = (__u32 *)key->addr;
	__u32 i;

	if (plen >= 128) {
		key->plen = 128;
		__builtin_memcpy(w, src->w, sizeof(src->w));
		return;
	}
	key->plen = plen;
#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 bits = plen > 32 * i ? plen - 32 * i : 0;

		if (bits > 32)
			bits = 32;
		w[i] = src->w[i] & bpf_htonl((__u32)(~0ULL << (32 - bits)));
	}
}

/*
 * Key of bw_allow4 / bw_block4: the IPv4 source masked to plen (96..128).
 * A plen under 96 is config garbage and gives a key no entry has.
 */
static __always_inline void
key4_mask(struct bw_key4 *key, __be32 addr, __u32 plen)
{
	__u32 bits = plen - BW_V4_PLEN_BASE;

	key->plen = plen;
	if (bits >= 32) {
		key->addr = addr;	/* a host: the usual rule */
		return;
	}
	key->addr = addr & bpf_htonl((__u32)(~0ULL << (32 - bits)));
}

/*
 * GCRA (virtual scheduling): the bucket admits a packet unless its
 * theoretical arrival time is more than tau ahead of now.  With tau =
 * interval * burst this admits burst packets at once, then one per
 * interval.  interval 0 means a rate of 0: admit nothing.  An over-limit
 * packet does not advance tat, so a flood cannot push the source's budget
 * further into the future than tau.
 */
static __always_inline bool
gcra_admit(__u64 *tat, __u64 now, __u64 interval, __u64 tau)
{
	__u64 t = *tat > now ? *tat : now;

	if (!interval)
		return false;
	if (t + interval - now > tau)
		return false;
	*tat = t + interval;
	return true;
}

/* Count a drop for reason cnt (a DROP_* index); in monitor mode pass the
 * packet and count WOULD_DROP_* instead. */
static __always_inline int
bw_drop(const struct bw_config *cfg, struct bw_counters *ctr, __u32 cnt)
{
	if (cfg->mode == BW_MODE_MONITOR) {
		count(ctr, cnt + (BW_CNT_WOULD_DROP_BLOCK - BW_CNT_DROP_BLOCK));
		return XDP_PASS;
	}
	count(ctr, cnt);
	return XDP_DROP;
}

static __always_inline void
emit_event(struct bw_counters *ctr, const struct bw_key *key,
	   const struct bw_rate_state *st, __u64 now, __u32 type)
{
	struct bw_event *ev;

	ev = bpf_ringbuf_reserve(&bw_events, sizeof(*ev), 0);
	if (!ev) {
		count(ctr, BW_CNT_EVENTS_LOST);
		return;
	}
	ev->ts_ns = now;
	__builtin_memcpy(ev->addr, key->addr, sizeof(ev->addr));
	ev->plen = key->plen;
	ev->type = type;
	ev->syns = st->syns;
	ev->dropped = st->dropped;
	bpf_ringbuf_submit(ev, 0);
	count(ctr, BW_CNT_EVENTS);
}

/* One test of port_mask turns most other ports away; the list decides.
 * There is always a first port (with none, port_mask is 0). */
static __always_inline bool
is_smtp_port(__u16 port)
{
	int i;

	if (!(bw_static.port_mask & (1ULL << (port & 63))))
		return false;
	if (bw_static.ports[0] == port)
		return true;
#pragma unroll
	for (i = 1; i < BW_MAX_PORTS; i++) {
		if (i >= bw_static.n_ports)
			break;
		if (bw_static.ports[i] == port)
			return true;
	}
	return false;
}

/*
 * The SYN budget of the source's prefix, key (prefix_v4 or prefix_v6 of
 * the source).  Returns XDP_PASS or the result of bw_drop().  throttled
 * selects the throttle bucket instead of the syn_rate one.  now is the
 * clock if a rule's expiry read it already, else 0.
 */
static __always_inline int
rate_check(const struct bw_config *cfg, struct bw_counters *ctr,
	   const struct bw_key *key, bool throttled, __u64 now)
{
	struct bw_rate_state *st, init = {};
	__u32 type, cnt;
	bool admit;

	if (!now)
		now = now_boot_ns();
	st = bpf_map_lookup_elem(&bw_rate, key);
	if (!st) {
		/* NOEXIST: another CPU may have inserted it meanwhile, and
		 * its state must not be reset; look it up either way. */
		bpf_map_update_elem(&bw_rate, key, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&bw_rate, key);
		if (!st) {
			count(ctr, BW_CNT_RATE_MAP_FULL);
			return XDP_PASS;
		}
	}
	st->syns++;

	if (throttled) {
		admit = gcra_admit(&st->throttle_tat_ns, now,
				   cfg->throttle_interval_ns,
				   cfg->throttle_tau_ns);
		type = BW_EV_THROTTLE_OVER;
		cnt = BW_CNT_DROP_THROTTLE;
	} else if (cfg->syn_rate) {
		admit = gcra_admit(&st->syn_tat_ns, now, cfg->syn_interval_ns,
				   cfg->syn_tau_ns);
		type = BW_EV_SYN_OVER_RATE;
		cnt = BW_CNT_DROP_RATELIMIT;
	} else {
		return XDP_PASS;
	}
	if (admit)
		return XDP_PASS;

	st->dropped++;
	/* One event per source per interval: a flood must not flood the
	 * ring buffer too. */
	if (now >= st->last_event_ns + cfg->event_interval_ns) {
		st->last_event_ns = now;
		emit_event(ctr, key, st, now, type);
	}
	return bw_drop(cfg, ctr, cnt);
}

/*
 * The action of a block map entry, or 0 when it does not decide: absent,
 * expired (as good as absent, so a shorter prefix may still apply), or an
 * unknown action (ignored: fail open).  *now is read on first need.
 */
static __always_inline __u32
rule_action(const struct bw_rule *rule, __u64 *now)
{
	if (!rule)
		return 0;
	if (rule->expires_ns) {
		if (!*now)
			*now = now_boot_ns();
		if (rule->expires_ns <= *now)
			return 0;
	}
	if (rule->action == BW_ACT_BLOCK || rule->action == BW_ACT_THROTTLE)
		return rule->action;
	return 0;
}

/* Whether an IPv4 allow rule covers addr: presence is enough, and any
 * one will do, so the order does not matter. */
static __always_inline bool
allowed4(const struct bw_config *cfg, __be32 addr)
{
	struct bw_key4 key4;
	__u32 i, n = cfg->n_allow_plens_v4;

	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key4_mask(&key4, addr, cfg->allow_plens_v4[i]);
		if (bpf_map_lookup_elem(&bw_allow4, &key4))
			return true;
	}
	return false;
}

/* The same for an IPv6 source: an IPv4-mapped one meets the IPv4 rules
 * too. */
static __always_inline bool
allowed6(const struct bw_config *cfg, const struct bw_src *src)
{
	struct bw_key key;
	__u32 i, n;

	if (src->mapped && allowed4(cfg, src->w[3]))
		return true;
	n = cfg->n_allow_plens_v6;
	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key_mask(&key, src, cfg->allow_plens_v6[i]);
		if (bpf_map_lookup_elem(&bw_allow, &key))
			return true;
	}
	return false;
}

/* The action of the longest live IPv4 block rule covering addr, or 0. */
static __always_inline __u32
block_action4(const struct bw_config *cfg, __be32 addr, __u64 *now)
{
	struct bw_key4 key4;
	__u32 i, n = cfg->n_block_plens_v4, act;

	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key4_mask(&key4, addr, cfg->block_plens_v4[i]);
		act = rule_action(bpf_map_lookup_elem(&bw_block4, &key4), now);
		if (act)
			return act;
	}
	return 0;
}

/* The same for an IPv6 source, IPv4 rules first for a mapped one: the
 * IPv6 lengths that can match it are under 96, shorter than every IPv4
 * length, so this is still longest first. */
static __always_inline __u32
block_action6(const struct bw_config *cfg, const struct bw_src *src, __u64 *now)
{
	struct bw_key key;
	__u32 i, n, act;

	if (src->mapped && (act = block_action4(cfg, src->w[3], now)))
		return act;
	n = cfg->n_block_plens_v6;
	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key_mask(&key, src, cfg->block_plens_v6[i]);
		act = rule_action(bpf_map_lookup_elem(&bw_block, &key), now);
		if (act)
			return act;
	}
	return 0;
}

/* The rate key of an IPv4 source: its prefix_v4, IPv4-mapped. */
static __always_inline void
rate_key4(struct bw_key *key, __be32 saddr)
{
	__u32 bits = bw_static.prefix_v4 < 32 ? bw_static.prefix_v4 : 32;

	__builtin_memset(key, 0, sizeof(*key));
	key->plen = BW_V4_PLEN_BASE + bits;
	key->addr[10] = 0xff;
	key->addr[11] = 0xff;
	*(__u32 *)&key->addr[12] = bits >= 32 ? saddr :
		saddr & bpf_htonl((__u32)(~0ULL << (32 - bits)));
}

/*
 * Verdict for a TCP packet to an SMTP port from an IPv4 source: allow
 * beats block, the longest live block rule decides, then the SYN budget.
 * Rate limits are on new connections only: dropping segments of an
 * established session would only make it retransmit.
 */
static __always_inline int
smtp_verdict4(const struct bw_config *cfg, struct bw_counters *ctr, __be32 saddr, bool syn)
{
	struct bw_key key;
	__u64 now = 0;
	__u32 act;

	if (allowed4(cfg, saddr)) {
		count(ctr, BW_CNT_PASS_ALLOW);
		return XDP_PASS;
	}
	act = block_action4(cfg, saddr, &now);
	if (act == BW_ACT_BLOCK)
		return bw_drop(cfg, ctr, BW_CNT_DROP_BLOCK);
	if (!syn)
		return XDP_PASS;
	rate_key4(&key, saddr);
	return rate_check(cfg, ctr, &key, act == BW_ACT_THROTTLE, now);
}

/* The same from an IPv6 source. */
static __always_inline int
smtp_verdict6(const struct bw_config *cfg, struct bw_counters *ctr,
	      const struct bw_src *src, bool syn)
{
	struct bw_key key;
	__u64 now = 0;
	__u32 act;

	if (allowed6(cfg, src)) {
		count(ctr, BW_CNT_PASS_ALLOW);
		return XDP_PASS;
	}
	act = block_action6(cfg, src, &now);
	if (act == BW_ACT_BLOCK)
		return bw_drop(cfg, ctr, BW_CNT_DROP_BLOCK);
	if (!syn)
		return XDP_PASS;
	key_mask(&key, src, bw_static.prefix_v6);
	return rate_check(cfg, ctr, &key, act == BW_ACT_THROTTLE, now);
}

/*
 * Up to the TCP destination port: returns 0 with *l4 at the TCP header,
 * of which the two ports are known to be in the packet, or the counter of
 * a packet that stops here (PASS_UNPARSED, PASS_NOT_TCP).  The usual
 * frame (no VLAN tag, IPv4 without options or IPv6 straight to TCP) takes
 * the shortest way; the parsers in parsing.h handle the rest.
 */
static __always_inline __u32
parse_to_ports(struct xdp_md *ctx, void **l4, struct iphdr **iph,
	       struct ipv6hdr **ip6h)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = c.pos;
	struct iphdr *ip;
	__be16 h_proto;
	int proto;

	*iph = NULL;
	*ip6h = NULL;
	if ((void *)(eth + 1) > data_end)
		return BW_CNT_PASS_UNPARSED;
	/* As in parse_eth(): a 2-byte aligned load, not two byte loads. */
	h_proto = *(__be16 *)((void *)eth + offsetof(struct ethhdr, h_proto));
	c.pos = eth + 1;
	ip = c.pos;
	if (h_proto == bpf_htons(ETH_P_IP) && (void *)(ip + 1) <= data_end &&
	    *(__u8 *)ip == 0x45) {
		/* IPv4 without options: the usual frame. */
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return BW_CNT_PASS_NOT_TCP;
		proto = ip->protocol;
		*iph = ip;
		c.pos = ip + 1;
	} else {
		proto = bpf_ntohs(h_proto);
		if (proto_is_vlan(proto)) {
			c.pos = eth;
			proto = parse_eth(&c, data_end);
		}
		if (proto == ETH_P_IP)
			proto = parse_ipv4(&c, data_end, iph);
		else if (proto == ETH_P_IPV6)
			proto = parse_ipv6(&c, data_end, ip6h);
		else
			return proto < 0 ? BW_CNT_PASS_UNPARSED : BW_CNT_PASS_NOT_TCP;
		if (proto < 0)
			return BW_CNT_PASS_UNPARSED;
	}
	if (proto != IPPROTO_TCP)
		return BW_CNT_PASS_NOT_TCP;
	if (c.pos + 2 * sizeof(__be16) > data_end)
		return BW_CNT_PASS_UNPARSED;
	*l4 = c.pos;
	return 0;
}

/* A TCP packet to an SMTP port: the rest of the TCP header, the source,
 * then the verdict.  *reason is the top-level counter for the packet. */
static __always_inline int
smtp_packet(struct xdp_md *ctx, struct bw_counters *ctr, void *l4,
	    const struct iphdr *iph, const struct ipv6hdr *ip6h, __u32 *reason)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = l4 };
	struct bw_config *cfg;
	struct tcphdr *tcph;
	struct bw_src src;
	bool syn;

	if (parse_tcp(&c, data_end, &tcph) < 0) {
		*reason = BW_CNT_PASS_UNPARSED;
		return XDP_PASS;
	}
	cfg = &bw_cfg;
	if (!cfg->event_interval_ns) {
		*reason = BW_CNT_NO_CONFIG;
		return XDP_PASS;
	}
	*reason = BW_CNT_SMTP;
	syn = tcph->syn && !tcph->ack;
	if (syn)
		count(ctr, BW_CNT_SMTP_SYN);
	if (iph)
		return smtp_verdict4(cfg, ctr, iph->saddr, syn);
	if (!ip6h)
		return XDP_PASS;	/* parse_to_ports() set one of them */
	__builtin_memcpy(src.w, &ip6h->saddr, sizeof(src.w));
	src.mapped = !(src.w[0] | src.w[1]) && src.w[2] == bpf_htonl(0xffff);
	return smtp_verdict6(cfg, ctr, &src, syn);
}

SEC("xdp")
int bouncewall_xdp(struct xdp_md *ctx)
{
	struct bw_counters *ctr;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	__u32 zero = 0, reason;
	int action = XDP_PASS;
	void *l4;

	reason = parse_to_ports(ctx, &l4, &iph, &ip6h);
	/* The stats entry is the only map every packet reads: entry 0 of
	 * an array is always there. */
	ctr = bpf_map_lookup_elem(&bw_stats, &zero);
	if (!ctr)
		return XDP_PASS;
	if (reason == 0) {
		if (!is_smtp_port(bpf_ntohs(((struct tcphdr *)l4)->dest)))
			reason = BW_CNT_PASS_NOT_SMTP;
		else
			action = smtp_packet(ctx, ctr, l4, iph, ip6h, &reason);
	}
	/* A drop has counted its DROP_* already, which readers add to SMTP:
	 * one increment less on the path a flood takes. */
	if (action != XDP_DROP)
		count(ctr, reason);
	return action;
}
