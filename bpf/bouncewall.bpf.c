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
 * Counters (bw_stats, per CPU): every packet counts exactly one of
 * PASS_UNPARSED, PASS_NOT_TCP, PASS_NOT_SMTP, SMTP or NO_CONFIG; readers
 * take their sum as BW_CNT_PACKETS, which the kernel does not count (one
 * increment a packet less).  SMTP packets additionally count SMTP_SYN and
 * at most one of PASS_ALLOW, DROP_* or WOULD_DROP_*.
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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_config);
} bw_config SEC(".maps");

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
		__uint(max_entries, BW_RULES_MAX);		\
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

/* The source address in the ABI's 16-byte form, as four network-order
 * words so masking works a word at a time. */
struct bw_src {
	__u32 w[4];
	bool v4;	/* came over IPv4: the rate key uses prefix_v4 */
	bool mapped;	/* w is IPv4-mapped (always when v4): IPv4 rules apply */
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
key4_mask(struct bw_key4 *key, const struct bw_src *src, __u32 plen)
{
	__u32 bits = plen - BW_V4_PLEN_BASE;

	if (bits > 32)
		bits = 32;
	key->plen = plen;
	key->addr = src->w[3] & bpf_htonl((__u32)(~0ULL << (32 - bits)));
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

static __always_inline bool
is_smtp_port(const struct bw_config *cfg, __u16 port)
{
	int i;

	/* One test turns away most other ports (bouncewall.h). */
	if (!(cfg->port_bits & (1U << (port & 31))))
		return false;
	/* Port 0 would match every unused slot. */
	if (!port)
		return false;
#pragma unroll
	for (i = 0; i < BW_MAX_PORTS; i++)
		if (cfg->ports[i] == port)
			return true;
	return false;
}

/*
 * The SYN budget of the source's prefix.  Returns XDP_PASS or the result
 * of bw_drop().  throttled selects the throttle bucket instead of the
 * syn_rate one.
 */
static __always_inline int
rate_check(const struct bw_config *cfg, struct bw_counters *ctr,
	   const struct bw_src *src, bool throttled, __u64 now)
{
	struct bw_rate_state *st, init = {};
	struct bw_key key;
	__u32 plen, type, cnt;
	bool admit;

	if (src->v4)
		plen = BW_V4_PLEN_BASE +
		       (cfg->prefix_v4 < 32 ? cfg->prefix_v4 : 32);
	else
		plen = cfg->prefix_v6;
	key_mask(&key, src, plen);

	st = bpf_map_lookup_elem(&bw_rate, &key);
	if (!st) {
		/* NOEXIST: another CPU may have inserted it meanwhile, and
		 * its state must not be reset; look it up either way. */
		bpf_map_update_elem(&bw_rate, &key, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&bw_rate, &key);
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
		emit_event(ctr, &key, st, now, type);
	}
	return bw_drop(cfg, ctr, cnt);
}

/* Whether an allow rule covers src: presence is enough, and any one
 * will do, so the order does not matter. */
static __always_inline bool
allowed(const struct bw_config *cfg, const struct bw_src *src)
{
	struct bw_key4 key4;
	struct bw_key key;
	__u32 i, n;

	if (src->mapped) {
		n = cfg->n_allow_plens_v4;
		for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
			key4_mask(&key4, src, cfg->allow_plens_v4[i]);
			if (bpf_map_lookup_elem(&bw_allow4, &key4))
				return true;
		}
	}
	if (src->v4)
		return false;
	n = cfg->n_allow_plens_v6;
	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key_mask(&key, src, cfg->allow_plens_v6[i]);
		if (bpf_map_lookup_elem(&bw_allow, &key))
			return true;
	}
	return false;
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

/* The action of the longest live block rule covering src, or 0. */
static __always_inline __u32
block_action(const struct bw_config *cfg, const struct bw_src *src,
	     __u64 *now)
{
	struct bw_key4 key4;
	struct bw_key key;
	__u32 i, n, act;

	if (src->mapped) {
		n = cfg->n_block_plens_v4;
		for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
			key4_mask(&key4, src, cfg->block_plens_v4[i]);
			act = rule_action(bpf_map_lookup_elem(&bw_block4, &key4),
					  now);
			if (act)
				return act;
		}
	}
	if (src->v4)
		return 0;
	/* For a mapped source only lengths under 96 can match here, and
	 * they are shorter than every IPv4 length: still longest first. */
	n = cfg->n_block_plens_v6;
	for (i = 0; i < BW_MAX_PLENS && i < n; i++) {
		key_mask(&key, src, cfg->block_plens_v6[i]);
		act = rule_action(bpf_map_lookup_elem(&bw_block, &key), now);
		if (act)
			return act;
	}
	return 0;
}

/* Verdict for a TCP packet to an SMTP port: allow beats block, the
 * longest live block rule decides, then the SYN budget. */
static __always_inline int
smtp_verdict(const struct bw_config *cfg, struct bw_counters *ctr,
	     const struct bw_src *src, bool syn)
{
	__u64 now = 0;
	__u32 act;

	if (allowed(cfg, src)) {
		count(ctr, BW_CNT_PASS_ALLOW);
		return XDP_PASS;
	}
	act = block_action(cfg, src, &now);
	if (act == BW_ACT_BLOCK)
		return bw_drop(cfg, ctr, BW_CNT_DROP_BLOCK);

	/* Rate limits are on new connections only: dropping segments of an
	 * established session would only make it retransmit. */
	if (!syn)
		return XDP_PASS;
	if (!now)
		now = now_boot_ns();
	return rate_check(cfg, ctr, src, act == BW_ACT_THROTTLE, now);
}

SEC("xdp")
int bouncewall_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	__u32 reason = BW_CNT_PASS_UNPARSED;
	int action = XDP_PASS;
	struct bw_counters *ctr;
	struct bw_config *cfg;
	struct ipv6hdr *ip6h;
	struct tcphdr *tcph;
	struct iphdr *iph;
	struct bw_src src;
	__u32 zero = 0;
	int proto;
	bool v4, syn;

	ctr = bpf_map_lookup_elem(&bw_stats, &zero);
	if (!ctr)
		return XDP_PASS;	/* entry 0 of an array: never */
	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (!cfg) {
		reason = BW_CNT_NO_CONFIG;
		goto out;
	}

	proto = parse_eth(&c, data_end);
	if (proto == ETH_P_IP) {
		proto = parse_ipv4(&c, data_end, &iph);
		if (proto < 0)
			goto out;
		v4 = true;
	} else if (proto == ETH_P_IPV6) {
		proto = parse_ipv6(&c, data_end, &ip6h);
		if (proto < 0)
			goto out;
		v4 = false;
	} else {
		if (proto >= 0)
			reason = BW_CNT_PASS_NOT_TCP;
		goto out;
	}
	if (proto != IPPROTO_TCP) {
		reason = BW_CNT_PASS_NOT_TCP;
		goto out;
	}
	if (parse_tcp(&c, data_end, &tcph) < 0)
		goto out;

	if (!is_smtp_port(cfg, bpf_ntohs(tcph->dest))) {
		reason = BW_CNT_PASS_NOT_SMTP;
		goto out;
	}
	reason = BW_CNT_SMTP;
	/* Only now the source: other ports never need it. */
	if (v4) {
		src.w[0] = 0;
		src.w[1] = 0;
		src.w[2] = bpf_htonl(0xffff);
		src.w[3] = iph->saddr;
		src.v4 = true;
		src.mapped = true;
	} else {
		__builtin_memcpy(src.w, &ip6h->saddr, sizeof(src.w));
		src.v4 = false;
		src.mapped = !(src.w[0] | src.w[1]) &&
			     src.w[2] == bpf_htonl(0xffff);
	}
	syn = tcph->syn && !tcph->ack;
	if (syn)
		count(ctr, BW_CNT_SMTP_SYN);
	action = smtp_verdict(cfg, ctr, &src, syn);

out:
	count(ctr, reason);
	return action;
}
