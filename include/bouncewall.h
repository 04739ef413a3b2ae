/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bouncewall.h - the ABI shared by the XDP program and the agent.
 *
 * Fixed-width fields, explicit padding, nothing else.  Addresses are thought
 * of in one 16-byte form: IPv6 as is, IPv4 mapped (::ffff:a.b.c.d).  Prefix
 * lengths are always expressed on that 128-bit form (an IPv4 /24 is plen
 * 96 + 24 = 120), even in the IPv4-only maps, whose keys store just the
 * four IPv4 bytes.
 */
#ifndef BOUNCEWALL_H
#define BOUNCEWALL_H

#include <linux/types.h>

#define BW_PIN_DIR		"/sys/fs/bpf/bouncewall"

/*
 * Map names as libbpf sees them (and as they are pinned).  Each rule list
 * (allow, block) is a hash map per address family, keyed by a prefix
 * length and the address masked to it; a host is the prefix length 128.
 *
 *   bw_allow4, bw_block4    IPv4 rules, key struct bw_key4 (8 bytes)
 *   bw_allow, bw_block      IPv6 rules, key struct bw_key (20 bytes)
 *
 * A rule's family is that of its address (IPv4-mapped or not), never its
 * length: fd00::/112 is an IPv6 rule, 10.0.0.0/8 (plen 104) an IPv4 one.
 */
/* The live config is the program's writable global data, not a map of
 * its own: libbpf's internal map for the section, found by that name.  It
 * is not pinned: each loaded program has its own, written by the agent. */
#define BW_MAP_CONFIG		".data.config"
#define BW_MAP_STATS		"bw_stats"
#define BW_MAP_ALLOW4		"bw_allow4"
#define BW_MAP_BLOCK4		"bw_block4"
#define BW_MAP_ALLOW		"bw_allow"
#define BW_MAP_BLOCK		"bw_block"
#define BW_MAP_RATE		"bw_rate"
#define BW_MAP_EVENTS		"bw_events"

#define BW_MAX_PORTS		8	/* SMTP ports the kernel knows */
#define BW_MAX_PLENS		16	/* prefix lengths per list and family */
/* Entries per rule map (and per list in the agent): the max_rules setting,
 * at most BW_RULES_MAX.  A hash map's bucket array is sized by max_entries,
 * used or not (16 bytes a bucket, the count rounded up to a power of two),
 * so the object is compiled with the default and the loader sizes the maps
 * from the setting before it loads them. */
#define BW_RULES_DEFAULT	(1 << 17)
#define BW_RULES_MAX		(1 << 20)
#define BW_RATE_MAX		(1 << 18)	/* sources rate-tracked (LRU) */
#define BW_EVENTS_BYTES		(256 * 1024)

#define BW_V4_PLEN_BASE		96	/* IPv4 /n is plen 96 + n */

enum bw_mode {
	BW_MODE_ENFORCE = 0,
	BW_MODE_MONITOR = 1,
};

/*
 * Key of bw_allow / bw_block (IPv6 rules): a prefix length and the address
 * masked to it; a host is plen 128.  A source is looked up one hash probe
 * per distinct prefix length of its family in use (listed in bw_cfg),
 * longest first, so a host costs one probe, the hot path never walks a
 * trie, and pays nothing for lengths nobody configured.  Also the key of
 * bw_rate (a source prefix of either family).
 */
struct bw_key {
	__u32 plen;
	__u8 addr[16];
};

/* Key of bw_allow4 / bw_block4: plen on the 128-bit form (96..128), the
 * IPv4 address masked to it.  Up to 12 bytes the kernel's jhash2 needs no
 * mixing round: a probe measured ~2.5 ns cheaper than with a bw_key. */
struct bw_key4 {
	__u32 plen;
	__be32 addr;
};

enum bw_action {
	BW_ACT_BLOCK = 1,	/* drop every packet to an SMTP port */
	BW_ACT_THROTTLE = 2,	/* admit SYNs at throttle_rate */
};

/* Value in the block maps.  expires_ns is CLOCK_BOOTTIME
 * (bpf_ktime_get_boot_ns); 0 means no expiry.  An expired entry is ignored
 * by the kernel even when no agent is left to delete it. */
struct bw_rule {
	__u64 expires_ns;
	__u32 action;		/* enum bw_action */
	__u32 origin;		/* enum bw_origin: who added it */
};

enum bw_origin {
	BW_ORIGIN_OPERATOR = 0,	/* bouncewall block add */
	BW_ORIGIN_SCORER = 1,	/* the agent's own decision */
	BW_ORIGIN_CROWDSEC = 2,	/* a decision of the fleet (CrowdSec LAPI) */
};

/* Value in the allow maps: presence is the rule; added_ns is informational. */
struct bw_allow {
	__u64 added_ns;
};

/*
 * Per-source rate state in bw_rate (LRU hash keyed by the source address
 * masked to prefix_v4/prefix_v6, as a struct bw_key).  Token buckets are kept
 * as GCRA theoretical arrival times: one word per bucket, no division on the
 * hot path.
 */
struct bw_rate_state {
	__u64 syn_tat_ns;	/* syn_rate / syn_burst bucket */
	__u64 throttle_tat_ns;	/* throttle_rate bucket */
	__u64 last_event_ns;	/* last ring-buffer report for this source */
	__u64 syns;		/* SYNs seen, for the agent's top view */
	__u64 dropped;		/* SYNs over a limit (dropped or would-drop) */
};

/*
 * Settings that only change with a restart (smtp_ports, prefix_v4,
 * prefix_v6): the program's read-only global data (the object's .rodata,
 * variable bw_static), written into the opened object before it is loaded
 * (kern_build_static(), kern_obj_set_static()).  The verifier knows these
 * values: unused port slots cost nothing, and most other ports are turned
 * away by one test of port_mask without reading any map.  Every loader
 * (agent, tests, benchmarks) sets it the same way.
 */
struct bw_static {
	__u64 port_mask;		/* bit p % 64 set for each p in ports:
					 * a port is SMTP only if both say so */
	__u16 ports[BW_MAX_PORTS];	/* host byte order */
	__u32 n_ports;			/* valid entries of ports */
	__u32 prefix_v4;		/* 0..32: rate-tracking prefix */
	__u32 prefix_v6;		/* 0..128 */
	__u32 pad;
};

/*
 * The program's global variable bw_cfg (section .data.config, its only
 * variable; userspace writes it as entry 0 of that section's array map):
 * the settings that change live (`threshold set`, reload) and the rules'
 * prefix lengths.
 * The agent writes the derived fields (intervals) together with the rates
 * so the kernel never divides.  A rate of 0 disables that bucket.  Only
 * packets to an SMTP port read it; while event_interval_ns is 0 (never
 * written) they pass and count NO_CONFIG.
 */
struct bw_config {
	__u32 mode;			/* enum bw_mode */
	__u32 syn_rate;			/* SYN/s per source prefix, 0 = off */
	__u32 syn_burst;
	__u32 throttle_rate;		/* SYN/s from a throttled source */
	__u64 syn_interval_ns;		/* 1e9 / syn_rate */
	__u64 syn_tau_ns;		/* syn_interval_ns * syn_burst */
	__u64 throttle_interval_ns;	/* 1e9 / throttle_rate */
	__u64 throttle_tau_ns;		/* throttle_interval_ns * throttle burst */
	__u64 event_interval_ns;	/* min gap between events per source */
	/* Prefix lengths (128-bit form) in use, per list and address family
	 * (128 when it holds hosts), longest first; n_* says how many are
	 * valid.  An IPv4 source walks only the _v4 lists, an IPv6 source
	 * the _v6 ones. */
	__u32 n_allow_plens_v4;
	__u32 n_allow_plens_v6;
	__u32 n_block_plens_v4;
	__u32 n_block_plens_v6;
	__u8 allow_plens_v4[BW_MAX_PLENS];
	__u8 allow_plens_v6[BW_MAX_PLENS];
	__u8 block_plens_v4[BW_MAX_PLENS];
	__u8 block_plens_v6[BW_MAX_PLENS];
};

/* Indexes into struct bw_counters, the value of bw_stats (a per-CPU array
 * of one entry, so the program looks its counters up once a packet). */
enum bw_counter {
	/* Every packet the program saw.  The kernel leaves this slot at 0:
	 * it is the sum of the five top-level classes below (UNPARSED,
	 * NOT_TCP, NOT_SMTP, SMTP, NO_CONFIG), which readers fill in.  The
	 * kernel counts a dropped SMTP packet only in its DROP_* slot (one
	 * increment less on a flood's path): readers add DROP_BLOCK,
	 * DROP_RATELIMIT and DROP_THROTTLE to SMTP. */
	BW_CNT_PACKETS = 0,
	BW_CNT_PASS_UNPARSED,		/* parse could not finish: passed */
	BW_CNT_PASS_NOT_TCP,		/* not IP/TCP, or a fragment */
	BW_CNT_PASS_NOT_SMTP,		/* TCP to another port */
	BW_CNT_SMTP,			/* TCP to an SMTP port */
	BW_CNT_SMTP_SYN,		/* new connection attempts (SYN, no ACK) */
	BW_CNT_PASS_ALLOW,		/* allowlisted source */
	BW_CNT_DROP_BLOCK,
	BW_CNT_DROP_RATELIMIT,
	BW_CNT_DROP_THROTTLE,
	BW_CNT_WOULD_DROP_BLOCK,	/* monitor mode */
	BW_CNT_WOULD_DROP_RATELIMIT,
	BW_CNT_WOULD_DROP_THROTTLE,
	BW_CNT_EVENTS,			/* heavy-hitter events sent */
	BW_CNT_EVENTS_LOST,		/* ring buffer full */
	BW_CNT_RATE_MAP_FULL,		/* could not track a new source */
	BW_CNT_NO_CONFIG,		/* config not written yet: passed */
	BW_CNT_MAX
};

struct bw_counters {
	__u64 cnt[BW_CNT_MAX];
};

enum bw_event_type {
	BW_EV_SYN_OVER_RATE = 1,	/* source exceeded syn_rate/burst */
	BW_EV_THROTTLE_OVER = 2,	/* throttled source exceeded its rate */
};

/* Ring-buffer record: a source first exceeded its rate in an interval. */
struct bw_event {
	__u64 ts_ns;		/* CLOCK_BOOTTIME */
	__u8 addr[16];		/* source prefix, masked */
	__u32 plen;
	__u32 type;		/* enum bw_event_type */
	__u64 syns;		/* SYNs seen from the prefix so far */
	__u64 dropped;		/* of which over a limit */
};

_Static_assert(sizeof(struct bw_key) == 20, "bw_key layout");
_Static_assert(sizeof(struct bw_key4) == 8, "bw_key4 layout");
_Static_assert(sizeof(struct bw_rule) == 16, "bw_rule layout");
_Static_assert(sizeof(struct bw_allow) == 8, "bw_allow layout");
_Static_assert(sizeof(struct bw_rate_state) == 40, "bw_rate_state layout");
_Static_assert(sizeof(struct bw_config) == 136, "bw_config layout");
_Static_assert(sizeof(struct bw_static) == 40, "bw_static layout");
_Static_assert(sizeof(struct bw_event) == 48, "bw_event layout");
_Static_assert(sizeof(struct bw_counters) == 8 * BW_CNT_MAX, "bw_counters layout");

#endif /* BOUNCEWALL_H */
