// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_xdp.c - the XDP program run for real through BPF_PROG_TEST_RUN.
 *
 * Usage: test_xdp build/bouncewall.bpf.o   (root)
 *
 * Loads the object with plain libbpf (no skeleton, so it tests exactly the
 * file the Makefile produced) and sets it up as the agent does: its
 * read-only settings and map sizes by kern_obj_setup(), its config map by
 * kern_write_config() from a struct bw_settings and the agent's rule
 * mirror, its counters read by kern_read_stats().  Then it feeds crafted
 * packets to the program one case at a time.  Every case starts from empty
 * maps, zeroed counters, a drained ring buffer and the default settings,
 * and names the rule it checks; a case that changes a restart-only
 * setting (smtp_ports, prefix_v4) reloads the program, as a restart would.
 * After each case the top-level counters must add up (see
 * bouncewall.bpf.c).  Exit status 0 only if all assertions held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncewall.h"
#include "bw_rules_fixture.h"
#include "bw_test.h"
#include "kern.h"
#include "rules.h"
#include "settings.h"

#define PKT_MAX		512
#define DST_V4		"192.0.2.25"
#define DST_V6		"2001:db8:25::25"

/* Which of a list's maps holds a rule: one per family (bouncewall.h). */
enum rule_map {
	RM_V4 = KERN_RM_V4,
	RM_V6 = KERN_RM_V6,
	RM_MAX
};

static struct {
	const char *path;		/* the object file under test */
	struct bpf_object *obj;
	int prog_fd;
	/* The agent's side: settings, rule mirror, and a struct kern that
	 * holds just the map fds its map functions use. */
	struct bw_settings set;
	struct rules rules;
	struct kern k;
	bool reloaded;			/* restart-only settings changed */
	unsigned long runs;		/* runs the kernel accepted */
	struct ring_buffer *rb;
	struct bw_event last_ev;	/* last event consumed */
	int n_events;			/* events consumed in this case */
} env;

/* ---------------------------------------------------------------------
 * Packets
 */

struct pkt_spec {
	const char *src;	/* IPv4 or IPv6 literal: picks the family */
	__u16 dport;		/* 0 means 25 */
	bool ack;		/* ACK set; syn is the default */
	bool nosyn;		/* SYN clear */
	bool udp;		/* UDP instead of TCP */
	int vlans;		/* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q); 3 to overdo */
	int ip4_optlen;		/* bytes of IPv4 options, multiple of 4 */
	int ihl;		/* override the IPv4 header length field */
	bool v4_frag;		/* IPv4 more-fragments bit */
	bool v6_ext;		/* hop-by-hop + destination options headers */
	bool v6_frag;		/* fragment header in front of TCP */
};

static bool
is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

/* Store v in network order at p, which need not be aligned. */
static void
put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Build the packet spec describes into buf; returns its length.  Checksums
 * are left zero: XDP does not verify them, and neither does the program. */
static size_t
build_pkt(const struct pkt_spec *s, __u8 *buf)
{
	static const __u16 vlan_protos[3] = { ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q };
	struct ethhdr *eth = (struct ethhdr *)buf;
	__u8 *p = buf + sizeof(*eth);
	bool v6 = is_v6(s->src);
	__u8 l4 = s->udp ? IPPROTO_UDP : IPPROTO_TCP;
	__u8 *proto = buf + offsetof(struct ethhdr, h_proto);	/* EtherType slot */
	size_t l4len = s->udp ? sizeof(struct udphdr) : sizeof(struct tcphdr) + 4;
	__u8 *l4p;
	int i;

	memset(buf, 0, PKT_MAX);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x25", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);

	for (i = 0; i < s->vlans; i++) {
		/* Outer tag 802.1ad only when stacked, as switches do. */
		put16(proto, s->vlans == 1 ? ETH_P_8021Q : vlan_protos[i]);
		p[1] = 10 + i;				/* VLAN id */
		proto = p + 2;
		p += 4;
	}

	if (!v6) {
		struct iphdr *ip = (struct iphdr *)p;

		put16(proto, ETH_P_IP);
		ip->version = 4;
		ip->ihl = s->ihl ? s->ihl : 5 + s->ip4_optlen / 4;
		ip->ttl = 64;
		ip->protocol = l4;
		ip->tot_len = htons(sizeof(*ip) + s->ip4_optlen + l4len);
		if (s->v4_frag)
			ip->frag_off = htons(0x2000);	/* MF */
		inet_pton(AF_INET, s->src, &ip->saddr);
		inet_pton(AF_INET, DST_V4, &ip->daddr);
		p += sizeof(*ip);
		/* Options: NOPs, then end-of-list. */
		memset(p, 1, s->ip4_optlen);
		if (s->ip4_optlen)
			p[s->ip4_optlen - 1] = 0;
		p += s->ip4_optlen;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)p;
		__u8 *next = &ip6->nexthdr;
		__u8 *start;

		put16(proto, ETH_P_IPV6);
		ip6->version = 6;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, s->src, &ip6->saddr);
		inet_pton(AF_INET6, DST_V6, &ip6->daddr);
		p += sizeof(*ip6);
		start = p;
		if (s->v6_ext) {
			/* Hop-by-hop, 8 bytes: PadN option of 4. */
			*next = IPPROTO_HOPOPTS;
			next = &p[0];
			p[1] = 0;
			p[2] = 1;
			p[3] = 4;
			p += 8;
			/* Destination options, 16 bytes (hdrlen 1): PadN of 12,
			 * so a parser that ignores hdrlen lands in the padding. */
			*next = IPPROTO_DSTOPTS;
			next = &p[0];
			p[1] = 1;
			p[2] = 1;
			p[3] = 12;
			p += 16;
		}
		if (s->v6_frag) {
			*next = IPPROTO_FRAGMENT;
			next = &p[0];
			p[3] = 1;	/* offset 0, M flag */
			p += 8;
		}
		*next = l4;
		ip6->payload_len = htons(p - start + l4len);
	}

	l4p = p;
	if (s->udp) {
		struct udphdr *udp = (struct udphdr *)l4p;

		udp->source = htons(40000);
		udp->dest = htons(s->dport ? s->dport : 25);
		udp->len = htons(sizeof(*udp));
	} else {
		struct tcphdr *tcp = (struct tcphdr *)l4p;

		tcp->source = htons(40000);
		tcp->dest = htons(s->dport ? s->dport : 25);
		tcp->seq = htonl(1);
		tcp->doff = 6;			/* one MSS option */
		tcp->syn = !s->nosyn;
		tcp->ack = s->ack;
		tcp->window = htons(64240);
		memcpy(tcp + 1, "\x02\x04\x05\xb4", 4);
	}
	return l4p + l4len - buf;
}

/* Run len bytes of buf through the program.  Returns the XDP action, or
 * -errno if the kernel refused the run. */
static int
run_raw(const __u8 *buf, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = buf,
		.data_size_in = len,
		.repeat = 1,
	);
	int err;

	err = bpf_prog_test_run_opts(env.prog_fd, &opts);
	if (err)
		return err;
	env.runs++;
	return opts.retval;
}

static int
run(const struct pkt_spec *s)
{
	__u8 buf[PKT_MAX];

	return run_raw(buf, build_pkt(s, buf));
}

/* ---------------------------------------------------------------------
 * Maps
 */

/* A counter as the agent reads it (kern_read_stats: summed over CPUs,
 * drops added to SMTP, PACKETS the sum of the top-level classes). */
static __u64
stat(__u32 idx)
{
	uint64_t c[BW_CNT_MAX];

	if (idx >= BW_CNT_MAX || kern_read_stats(&env.k, c) < 0)
		return (__u64)-1;
	return c[idx];
}

/* A counter as the kernel holds it, summed over CPUs. */
static __u64
raw_stat(__u32 idx)
{
	int ncpus = libbpf_num_possible_cpus();
	struct bw_counters vals[ncpus];
	__u64 sum = 0;
	__u32 zero = 0;

	if (idx >= BW_CNT_MAX || bpf_map_lookup_elem(env.k.stats_fd, &zero, vals))
		return (__u64)-1;
	for (int i = 0; i < ncpus; i++)
		sum += vals[i].cnt[idx];
	return sum;
}

/* "a.b.c.d[/n]" or "v6[/n]" to a map key as the ABI wants it: the address
 * in 16-byte form masked to plen, plen on the 128-bit scale. */
static bool
make_key(const char *cidr, struct bw_key *key)
{
	char buf[64], *slash;
	int n = -1;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		n = atoi(slash + 1);
	}
	memset(key, 0, sizeof(*key));
	if (is_v6(buf)) {
		if (inet_pton(AF_INET6, buf, key->addr) != 1)
			return false;
		key->plen = n < 0 ? 128 : n;
	} else {
		if (inet_pton(AF_INET, buf, key->addr + 12) != 1)
			return false;
		key->addr[10] = 0xff;
		key->addr[11] = 0xff;
		key->plen = BW_V4_PLEN_BASE + (n < 0 ? 32 : n);
	}
	mask_to_plen(key->addr, key->plen);
	return true;
}

/* The config map as the agent writes it: from env.set and the prefix
 * lengths of env.rules. */
static int
write_config(void)
{
	return kern_write_config(&env.k, &env.set, &env.rules);
}

/* The live settings a case runs with (syn_burst at least 1, as the
 * settings require). */
static int
set_config(__u32 mode, __u32 syn_rate, __u32 syn_burst, __u32 throttle_rate)
{
	env.set.mode = mode;
	env.set.syn_rate = syn_rate;
	env.set.syn_burst = syn_burst ? syn_burst : 1;
	env.set.throttle_rate = throttle_rate;
	return write_config();
}

/* The map a rule belongs in (family by the address, IPv4-mapped or not)
 * and the key as that map wants it. */
struct rule_key {
	enum rule_map map;
	union {
		struct bw_key4 v4;
		struct bw_key v6;
	} k;
};

static bool
rule_key(const char *cidr, struct rule_key *rk)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct bw_key key;

	if (!make_key(cidr, &key))
		return false;
	memset(rk, 0, sizeof(*rk));
	if (memcmp(key.addr, mapped, sizeof(mapped)) == 0) {
		rk->map = RM_V4;
		rk->k.v4.plen = key.plen;
		memcpy(&rk->k.v4.addr, key.addr + 12, 4);
	} else {
		rk->map = RM_V6;
		rk->k.v6 = key;
	}
	return true;
}

/* Put value under cidr in the allow or block map, the rule in the
 * agent's mirror, and write the config, as the agent would.  The map entry
 * is written here rather than by kern_put_rule(), whose expiry has whole
 * seconds: some cases need a finer one. */
static int
add_rule(bool allow, const char *cidr, const void *value)
{
	struct rule_entry e = { 0 };
	struct rule_key rk;
	char err[64];
	int ret;

	if (!rule_key(cidr, &rk) || addr_parse_cidr(cidr, &e.cidr, err, sizeof(err)) < 0)
		return -EINVAL;
	if (!allow)
		e.action = ((const struct bw_rule *)value)->action;
	ret = rules_put(allow ? &env.rules.allow : &env.rules.block, &e);
	if (ret < 0)
		return ret;
	ret = bpf_map_update_elem(allow ? env.k.allow_fd[rk.map] : env.k.block_fd[rk.map],
				  &rk.k, value, BPF_ANY);
	if (ret)
		return ret;
	return write_config();
}

static int
add_block(const char *cidr, __u32 action, __u64 expires_ns)
{
	struct bw_rule rule = { .expires_ns = expires_ns, .action = action };

	return add_rule(false, cidr, &rule);
}

static int
add_allow(const char *cidr)
{
	struct bw_allow v = { .added_ns = boot_ns() };

	return add_rule(true, cidr, &v);
}

/*
 * What the kernel holds, checked against values written out by hand from
 * the ABI (IPv4 /n is plen 96 + n; an IPv4 source is ::ffff:a.b.c.d), not
 * against what this file's own helpers computed: a helper and the program
 * sharing one mistake must not make a check pass.
 */

/* The config the program reads, as the kernel holds it. */
static bool
kernel_config(struct bw_config *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(env.k.config_fd, &zero, c) == 0;
}

/* The kernel's block list lengths of one family are exactly want[0..n),
 * longest first. */
static bool
block_plens_are(bool v4, const __u8 *want, __u32 n)
{
	struct bw_config c;

	if (!kernel_config(&c))
		return false;
	if ((v4 ? c.n_block_plens_v4 : c.n_block_plens_v6) != n)
		return false;
	return memcmp(v4 ? c.block_plens_v4 : c.block_plens_v6, want, n) == 0;
}

/* ::ffff:a.b.c.d, the form an IPv4 source takes in keys and events. */
static void
mapped_v4(__u8 addr[16], __u8 a, __u8 b, __u8 c, __u8 d)
{
	memset(addr, 0, 16);
	addr[10] = 0xff;
	addr[11] = 0xff;
	addr[12] = a;
	addr[13] = b;
	addr[14] = c;
	addr[15] = d;
}

/* Rate state of the prefix cidr names; zeroed if there is none. */
static bool
rate_state(const char *cidr, struct bw_rate_state *st)
{
	struct bw_key key;

	memset(st, 0, sizeof(*st));
	return make_key(cidr, &key) &&
	       bpf_map_lookup_elem(env.k.rate_fd, &key, st) == 0;
}

static int
on_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(env.last_ev))
		memcpy(&env.last_ev, data, sizeof(env.last_ev));
	env.n_events++;
	return 0;
}

/* Events the program submitted since the last call. */
static int
consume_events(void)
{
	env.n_events = 0;
	ring_buffer__consume(env.rb);
	return env.n_events;
}

static void
clear_hash(int fd)
{
	struct bw_key key;	/* the largest key of any map */

	while (bpf_map_get_next_key(fd, NULL, &key) == 0)
		bpf_map_delete_elem(fd, &key);
}

static int load_program(void);

static void
reset(void)
{
	struct bw_counters zeros[libbpf_num_possible_cpus()];
	__u32 i = 0;

	if (env.reloaded) {
		/* A case changed a restart-only setting: back to defaults. */
		settings_defaults(&env.set);
		if (load_program() < 0)
			bw_test_failed++;
		env.reloaded = false;
	}
	memset(zeros, 0, sizeof(zeros));
	bpf_map_update_elem(env.k.stats_fd, &i, zeros, BPF_ANY);
	for (i = 0; i < RM_MAX; i++) {
		clear_hash(env.k.allow_fd[i]);
		clear_hash(env.k.block_fd[i]);
	}
	clear_hash(env.k.rate_fd);
	rules_free(&env.rules);
	memset(&env.rules, 0, sizeof(env.rules));
	rules_set_max(&env.rules, env.set.max_rules);
	env.runs = 0;
	consume_events();
	memset(&env.last_ev, 0, sizeof(env.last_ev));
	set_config(BW_MODE_ENFORCE, 20, 40, 1);
}

/* Change a restart-only setting: the program is loaded again with it, as
 * an agent restart would (maps fresh, counters at zero). */
static bool
restart_with(const char *key, const char *value)
{
	char err[BW_ERR_MAX];

	if (!ASSERT_OK(settings_set(&env.set, key, value, err, sizeof(err)), key))
		return false;
	env.reloaded = true;
	env.runs = 0;
	if (!ASSERT_OK(load_program(), "reload with new settings"))
		return false;
	return ASSERT_OK(write_config(), "config after reload");
}

/* ---------------------------------------------------------------------
 * Cases
 */

static void
ipv4_smtp_syn_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	ASSERT_EQ(run(&s), XDP_PASS, "unknown IPv4 source: SYN to 25 passes");
	ASSERT_EQ(stat(BW_CNT_SMTP), 1, "counted as SMTP");
	ASSERT_EQ(stat(BW_CNT_SMTP_SYN), 1, "counted as SYN");
	s.dport = 587;
	ASSERT_EQ(run(&s), XDP_PASS, "submission port passes");
	ASSERT_EQ(stat(BW_CNT_SMTP), 2, "587 is an SMTP port");
}

static void
ipv6_smtp_syn_passes(void)
{
	struct pkt_spec s = { .src = "2001:db8:1::7", .dport = 465 };

	ASSERT_EQ(run(&s), XDP_PASS, "unknown IPv6 source: SYN to 465 passes");
	ASSERT_EQ(stat(BW_CNT_SMTP_SYN), 1, "counted as SYN");
}

static void
vlan_single_tag_parsed(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .vlans = 1 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	/* Only a parse that reached the TCP port can drop. */
	ASSERT_EQ(run(&s), XDP_DROP, "802.1Q-tagged blocked source drops");
	s.src = "2001:db8:1::7";
	add_block("2001:db8:1::7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "802.1Q-tagged IPv6 blocked source drops");
}

static void
vlan_double_tag_parsed(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .vlans = 2 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "QinQ-tagged blocked source drops");
}

static void
vlan_triple_tag_unparsed(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .vlans = 3 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "more tags than VLAN_MAX_DEPTH pass");
	ASSERT_EQ(stat(BW_CNT_PASS_UNPARSED), 1, "counted unparsed");
}

static void
ipv4_options_parsed(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .ip4_optlen = 12 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "ihl 8: TCP found after the options");
	s.ip4_optlen = 40;
	ASSERT_EQ(run(&s), XDP_DROP, "ihl 15 (maximum) parsed");
}

static void
ipv4_bad_ihl_unparsed(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .ihl = 4 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "ihl < 5 passes");
	ASSERT_EQ(stat(BW_CNT_PASS_UNPARSED), 1, "counted unparsed");
}

static void
ipv4_fragment_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .v4_frag = true };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "IPv4 fragment passes even if blocked");
	ASSERT_EQ(stat(BW_CNT_PASS_NOT_TCP), 1, "fragment counted not-TCP");
}

static void
ipv6_ext_headers_parsed(void)
{
	struct pkt_spec s = { .src = "2001:db8:1::7", .v6_ext = true };

	add_block("2001:db8:1::7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "TCP found after hop-by-hop + dest opts");
	s.vlans = 2;
	ASSERT_EQ(run(&s), XDP_DROP, "same behind QinQ");
}

static void
ipv6_fragment_passes(void)
{
	struct pkt_spec s = { .src = "2001:db8:1::7", .v6_ext = true,
			      .v6_frag = true };

	add_block("2001:db8:1::7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "IPv6 fragment header passes");
	ASSERT_EQ(stat(BW_CNT_PASS_NOT_TCP), 1, "fragment counted not-TCP");
}

static void
udp_passes_not_tcp(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .udp = true };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "UDP to port 25 from a blocked source passes");
	ASSERT_EQ(stat(BW_CNT_PASS_NOT_TCP), 1, "counted not-TCP");
}

/*
 * Every prefix of a complete packet from a BLOCKED source: below 14 bytes
 * the kernel refuses the run (EINVAL), from 14 on the program must pass
 * (it cannot have seen the port yet), and only the whole packet drops.
 */
static void
truncate_each_offset(const struct pkt_spec *s, const char *what)
{
	__u8 buf[PKT_MAX];
	size_t len, full = build_pkt(s, buf);
	int ret, bad = 0;

	for (len = 0; len < full; len++) {
		ret = run_raw(buf, len);
		if (len < ETH_HLEN) {
			if (!ASSERT_TRUE(ret == -EINVAL || ret == XDP_PASS, what))
				bad++;
			continue;
		}
		if (!ASSERT_EQ(ret, XDP_PASS, what))
			fprintf(stderr, "  at length %zu of %zu\n", len, full);
		if (ret != XDP_PASS)
			bad++;
	}
	ASSERT_EQ(bad, 0, "no truncated length gave anything but PASS");
	ASSERT_EQ(stat(BW_CNT_PASS_UNPARSED), full - ETH_HLEN,
		  "each truncated packet counted unparsed");
	ASSERT_EQ(run_raw(buf, full), XDP_DROP, "the whole packet drops");
}

static void
truncated_vlan_ipv4_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .vlans = 2,
			      .ip4_optlen = 8 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	truncate_each_offset(&s, "truncated QinQ+IPv4(options)+TCP passes");
}

static void
truncated_ipv6_ext_passes(void)
{
	struct pkt_spec s = { .src = "2001:db8:1::7", .vlans = 1,
			      .v6_ext = true };

	add_block("2001:db8:1::7", BW_ACT_BLOCK, 0);
	truncate_each_offset(&s, "truncated VLAN+IPv6+ext+TCP passes");
}

static void
non_smtp_port_from_blocked_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .dport = 80 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "blocked source: port 80 still passes");
	ASSERT_EQ(stat(BW_CNT_PASS_NOT_SMTP), 1, "counted not-SMTP");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 0, "no block counted");
}

/* smtp_ports reach the program as read-only data: port_mask only turns
 * ports away, the list decides, and a restart with other ports changes
 * what is SMTP. */
static void
ports_from_settings(void)
{
	struct pkt_spec s = { .src = "198.51.100.7", .dport = 25 + 64 };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "port 89 shares 25's mask bit but is not SMTP");
	s.dport = 2048;
	ASSERT_EQ(run(&s), XDP_PASS, "2048 is not SMTP by default");
	if (!restart_with("smtp_ports", "25,465,587,2048"))
		return;
	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "a configured port past 1023 is SMTP");
	s.dport = 2048 + 64;
	ASSERT_EQ(run(&s), XDP_PASS, "port 2112 shares 2048's mask bit but is not SMTP");
	s.dport = 587;
	ASSERT_EQ(run(&s), XDP_DROP, "the third port still is");
	if (!restart_with("smtp_ports", "2525"))
		return;
	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	s.dport = 25;
	ASSERT_EQ(run(&s), XDP_PASS, "25 is no SMTP port once the settings drop it");
	s.dport = 2525;
	ASSERT_EQ(run(&s), XDP_DROP, "a lone port is");
	ASSERT_EQ(stat(BW_CNT_PASS_NOT_SMTP), 1, "counted not-SMTP since the restart");
}

static void
rate_under_limit_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct bw_rate_state st;
	int i, passed = 0;

	set_config(BW_MODE_ENFORCE, 1, 5, 1);
	for (i = 0; i < 5; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 5, "burst SYNs at once all pass");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 0, "nothing rate-limited");
	ASSERT_TRUE(rate_state("198.51.100.7", &st), "source tracked");
	ASSERT_EQ(st.syns, 5, "SYNs counted per source");
}

static void
rate_over_limit_drops_and_reports(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct bw_key key;
	int i, passed = 0;

	set_config(BW_MODE_ENFORCE, 1, 3, 1);
	for (i = 0; i < 3; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 3, "first burst SYNs pass");
	ASSERT_EQ(run(&s), XDP_DROP, "SYN burst+1 drops");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 1, "counted DROP_RATELIMIT");

	if (!ASSERT_EQ(consume_events(), 1, "one event in the ring buffer"))
		return;
	mapped_v4(key.addr, 198, 51, 100, 7);
	ASSERT_EQ(env.last_ev.type, BW_EV_SYN_OVER_RATE, "event type");
	ASSERT_EQ(env.last_ev.plen, 128, "event plen: IPv4 /32");
	ASSERT_TRUE(memcmp(env.last_ev.addr, key.addr, 16) == 0,
		    "event address is ::ffff:198.51.100.7");
	ASSERT_EQ(env.last_ev.syns, 4, "event syns");
	ASSERT_EQ(env.last_ev.dropped, 1, "event dropped");
	/* The program keeps its own cheap boot clock (coarse + offset):
	 * it must agree with CLOCK_BOOTTIME to well within a second. */
	ASSERT_TRUE(llabs((long long)(env.last_ev.ts_ns - boot_ns())) <
		    (long long)(NSEC_PER_SEC / 10), "event timestamp is CLOCK_BOOTTIME");

	ASSERT_EQ(run(&s), XDP_DROP, "next SYN drops too");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 2, "counted again");
	ASSERT_EQ(consume_events(), 0, "no second event within event_interval");

	s.src = "198.51.100.8";
	ASSERT_EQ(run(&s), XDP_PASS, "another source has its own budget");
}

static void
throttled_source_limited(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	int i, passed = 0;

	/* syn_rate far above: only the throttle bucket can limit. */
	set_config(BW_MODE_ENFORCE, 1000, 1000, 2);
	add_block("198.51.100.0/24", BW_ACT_THROTTLE, 0);
	for (i = 0; i < 2; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 2, "throttle_rate SYNs pass");
	ASSERT_EQ(run(&s), XDP_DROP, "next SYN of a throttled source drops");
	ASSERT_EQ(stat(BW_CNT_DROP_THROTTLE), 1, "counted DROP_THROTTLE");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 0, "not counted as ratelimit");
	if (ASSERT_EQ(consume_events(), 1, "throttle event"))
		ASSERT_EQ(env.last_ev.type, BW_EV_THROTTLE_OVER, "event type");

	s.nosyn = true;
	s.ack = true;
	ASSERT_EQ(run(&s), XDP_PASS, "established segments of a throttled source pass");

	s.src = "198.51.101.7";
	s.nosyn = s.ack = false;
	for (i = 0, passed = 0; i < 10; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 10, "a source outside the throttle rule is not throttled");
}

static void
throttle_rate_zero_admits_none(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	set_config(BW_MODE_ENFORCE, 20, 40, 0);
	add_block("198.51.100.7", BW_ACT_THROTTLE, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "throttle_rate 0: no SYN admitted");
	ASSERT_EQ(stat(BW_CNT_DROP_THROTTLE), 1, "counted DROP_THROTTLE");
}

static void
block_exact_v4_drops(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "blocked IPv4 host: SYN drops");
	s.nosyn = true;
	s.ack = true;
	ASSERT_EQ(run(&s), XDP_DROP, "blocked IPv4 host: every SMTP segment drops");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 2, "counted DROP_BLOCK");
	s.src = "198.51.100.8";
	ASSERT_EQ(run(&s), XDP_PASS, "neighbour address passes");
}

static void
block_exact_v6_drops(void)
{
	struct pkt_spec s = { .src = "2001:db8:bad::7" };

	add_block("2001:db8:bad::7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "blocked IPv6 host drops");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 1, "counted DROP_BLOCK");
	s.src = "2001:db8:bad::8";
	ASSERT_EQ(run(&s), XDP_PASS, "neighbour address passes");
}

static void
block_cidr_v4_drops_inside(void)
{
	struct pkt_spec s = { .src = "198.51.100.1" };

	add_block("198.51.100.0/26", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "first address of a /26 drops");
	s.src = "198.51.100.63";
	ASSERT_EQ(run(&s), XDP_DROP, "last address of a /26 drops");
	s.src = "198.51.100.64";
	ASSERT_EQ(run(&s), XDP_PASS, "first address past the /26 passes");
}

static void
block_cidr_v6_drops_inside(void)
{
	struct pkt_spec s = { .src = "2001:db8:bad:1::1" };

	add_block("2001:db8:bad:1::/64", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "address inside a /64 drops");
	s.src = "2001:db8:bad:1:ffff:ffff:ffff:ffff";
	ASSERT_EQ(run(&s), XDP_DROP, "last address of the /64 drops");
	s.src = "2001:db8:bad:2::1";
	ASSERT_EQ(run(&s), XDP_PASS, "next /64 passes");
}

static void
v6_rule_does_not_cover_v4(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	add_block("::/0", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "::/0 does not block IPv4 sources");
	s.src = "2001:db8::1";
	ASSERT_EQ(run(&s), XDP_DROP, "::/0 blocks IPv6 sources");
}

static void
allow_beats_block(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	add_allow("198.51.100.0/24");
	ASSERT_EQ(run(&s), XDP_PASS, "allowlisted source passes despite a block");
	ASSERT_EQ(stat(BW_CNT_PASS_ALLOW), 1, "counted PASS_ALLOW");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 0, "no block counted");
}

static void
expired_block_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	__u64 now = boot_ns();

	add_block("198.51.100.7", BW_ACT_BLOCK, now - NSEC_PER_SEC);
	ASSERT_EQ(run(&s), XDP_PASS, "expired block passes");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 0, "no block counted");

	add_block("198.51.100.8", BW_ACT_BLOCK, now + 3600 * NSEC_PER_SEC);
	s.src = "198.51.100.8";
	ASSERT_EQ(run(&s), XDP_DROP, "block with a future expiry drops");

	/* An expired /32 must not hide a live /24 covering it. */
	add_block("198.51.100.0/24", BW_ACT_BLOCK, 0);
	s.src = "198.51.100.7";
	ASSERT_EQ(run(&s), XDP_DROP, "expired longer entry falls back to shorter");
}

static void
block_expires_on_time(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct timespec pause = { .tv_nsec = 600 * 1000 * 1000 };

	/* Expiry is judged by the kernel's clock alone: no agent here. */
	add_block("198.51.100.7", BW_ACT_BLOCK, boot_ns() + 400 * 1000 * 1000);
	ASSERT_EQ(run(&s), XDP_DROP, "block live until expires_ns");
	nanosleep(&pause, NULL);
	ASSERT_EQ(run(&s), XDP_PASS, "block gone once expires_ns has passed");
}

static void
monitor_mode_counts_would_drop(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	int i;

	set_config(BW_MODE_MONITOR, 1, 2, 1);
	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_PASS, "monitor: blocked source passes");
	ASSERT_EQ(stat(BW_CNT_WOULD_DROP_BLOCK), 1, "counted WOULD_DROP_BLOCK");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 0, "not counted DROP_BLOCK");

	s.src = "198.51.100.8";
	for (i = 0; i < 3; i++)
		ASSERT_EQ(run(&s), XDP_PASS, "monitor: over-rate SYN passes");
	ASSERT_EQ(stat(BW_CNT_WOULD_DROP_RATELIMIT), 1, "counted WOULD_DROP_RATELIMIT");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 0, "not counted DROP_RATELIMIT");
	ASSERT_EQ(consume_events(), 1, "monitor mode still reports");

	add_block("198.51.100.9", BW_ACT_THROTTLE, 0);
	s.src = "198.51.100.9";
	run(&s);
	ASSERT_EQ(run(&s), XDP_PASS, "monitor: over-throttle SYN passes");
	ASSERT_EQ(stat(BW_CNT_WOULD_DROP_THROTTLE), 1, "counted WOULD_DROP_THROTTLE");
}

static void
non_syn_from_ratelimited_passes(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	int i;

	set_config(BW_MODE_ENFORCE, 1, 1, 1);
	for (i = 0; i < 2; i++)
		run(&s);
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 1, "source is over its rate");
	s.nosyn = true;
	s.ack = true;
	ASSERT_EQ(run(&s), XDP_PASS, "ACK from a rate-limited source passes");
	s.nosyn = false;
	ASSERT_EQ(run(&s), XDP_PASS, "SYN-ACK is not a new connection");
	ASSERT_EQ(stat(BW_CNT_SMTP_SYN), 2, "SYN-ACK and ACK not counted as SYN");
}

static void
syn_rate_zero_disables_limit(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct bw_rate_state st;
	int i, passed = 0;

	set_config(BW_MODE_ENFORCE, 0, 0, 1);
	for (i = 0; i < 100; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 100, "syn_rate 0: no SYN limited");
	ASSERT_EQ(stat(BW_CNT_DROP_RATELIMIT), 0, "nothing counted");
	ASSERT_TRUE(rate_state("198.51.100.7", &st), "SYNs still tracked for top");
	ASSERT_EQ(st.syns, 100, "syns tracked");
}

static void
rate_prefix_groups_sources(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct bw_rate_state st;

	if (!restart_with("prefix_v4", "24"))
		return;
	set_config(BW_MODE_ENFORCE, 1, 1, 1);
	ASSERT_EQ(run(&s), XDP_PASS, "first SYN of the /24");
	s.src = "198.51.100.200";
	ASSERT_EQ(run(&s), XDP_DROP, "same /24 shares the budget (prefix_v4)");
	{
		struct bw_key k = { .plen = 96 + 24 };

		mapped_v4(k.addr, 198, 51, 100, 0);
		ASSERT_OK(bpf_map_lookup_elem(env.k.rate_fd, &k, &st),
			  "state keyed (::ffff:198.51.100.0, plen 120)");
		ASSERT_EQ(st.syns, 2, "both SYNs in the /24 state");
	}

	s.src = "2001:db8:1:2::1";
	ASSERT_EQ(run(&s), XDP_PASS, "first SYN of the /64");
	s.src = "2001:db8:1:2::ffff";
	ASSERT_EQ(run(&s), XDP_DROP, "same /64 shares the budget (prefix_v6)");
}


/* Rules land in the map of their family, hosts at plen 128, and the
 * config lists each family's lengths apart. */
static void
rules_in_family_maps(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	struct bw_key4 k4 = { .plen = 128 };
	struct bw_key k6 = { .plen = 128 };
	struct bw_rule rule;

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	add_block("2001:db8:bad::7", BW_ACT_BLOCK, 0);
	add_block("203.0.113.0/24", BW_ACT_BLOCK, 0);
	inet_pton(AF_INET, "198.51.100.7", &k4.addr);
	inet_pton(AF_INET6, "2001:db8:bad::7", k6.addr);
	ASSERT_OK(bpf_map_lookup_elem(env.k.block_fd[RM_V4], &k4, &rule),
		  "IPv4 host keyed (128, 4 bytes) in bw_block4");
	ASSERT_OK(bpf_map_lookup_elem(env.k.block_fd[RM_V6], &k6, &rule),
		  "IPv6 host keyed (128, 16 bytes) in bw_block");
	ASSERT_TRUE(block_plens_are(true, (const __u8[]){ 128, 96 + 24 }, 2),
		    "kernel's IPv4 lengths: 128 (host), 120 (/24)");
	ASSERT_TRUE(block_plens_are(false, (const __u8[]){ 128 }, 1),
		    "kernel's IPv6 lengths: 128 (host)");
	ASSERT_EQ(run(&s), XDP_DROP, "IPv4 host drops");
	s.src = "2001:db8:bad::7";
	ASSERT_EQ(run(&s), XDP_DROP, "IPv6 host drops");
	s.src = "203.0.113.9";
	ASSERT_EQ(run(&s), XDP_DROP, "IPv4 /24 member drops");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 3, "counted DROP_BLOCK");
}

static void
expired_host_falls_through_to_cidr(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	__u64 past = boot_ns() - NSEC_PER_SEC;

	add_block("198.51.100.7", BW_ACT_BLOCK, past);
	ASSERT_EQ(run(&s), XDP_PASS, "expired IPv4 host alone passes");
	add_block("198.51.100.0/24", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "expired IPv4 host falls through to a live /24");

	s.src = "2001:db8:bad::7";
	add_block("2001:db8:bad::7", BW_ACT_BLOCK, past);
	ASSERT_EQ(run(&s), XDP_PASS, "expired IPv6 host alone passes");
	add_block("2001:db8:bad::/64", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "expired IPv6 host falls through to a live /64");

	/* CIDR to shorter CIDR too. */
	s.src = "203.0.113.9";
	add_block("203.0.113.0/26", BW_ACT_BLOCK, past);
	ASSERT_EQ(run(&s), XDP_PASS, "expired /26 alone passes");
	add_block("203.0.0.0/16", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "expired /26 falls through to a live /16");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 3, "counted DROP_BLOCK");
}

/* The longest live entry decides, even when a shorter one is harsher. */
static void
longest_live_match_decides(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };
	int i, passed = 0;

	set_config(BW_MODE_ENFORCE, 1000, 1000, 2);
	add_block("198.51.100.0/24", BW_ACT_BLOCK, 0);
	add_block("198.51.100.7", BW_ACT_THROTTLE, 0);
	for (i = 0; i < 2; i++)
		passed += run(&s) == XDP_PASS;
	ASSERT_EQ(passed, 2, "throttled host inside a blocked /24 is throttled, not blocked");
	ASSERT_EQ(run(&s), XDP_DROP, "over its throttle rate it drops");
	ASSERT_EQ(stat(BW_CNT_DROP_THROTTLE), 1, "counted DROP_THROTTLE");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 0, "the /24 did not decide");
	s.src = "198.51.100.8";
	ASSERT_EQ(run(&s), XDP_DROP, "its neighbour is blocked by the /24");

	/* An entry with an action the kernel does not know is ignored. */
	s.src = "198.51.100.9";
	add_block("198.51.100.9", 99, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "unknown action on the host: the /24 decides");
}

static void
allow_host_beats_block_cidr(void)
{
	struct pkt_spec s = { .src = "198.51.100.7" };

	add_block("198.51.100.0/24", BW_ACT_BLOCK, 0);
	add_allow("198.51.100.7");
	ASSERT_EQ(run(&s), XDP_PASS, "allowed IPv4 host inside a blocked /24 passes");
	s.src = "198.51.100.8";
	ASSERT_EQ(run(&s), XDP_DROP, "the rest of the /24 is still blocked");

	s.src = "2001:db8:bad::7";
	add_block("2001:db8:bad::/64", BW_ACT_BLOCK, 0);
	add_allow("2001:db8:bad::7");
	ASSERT_EQ(run(&s), XDP_PASS, "allowed IPv6 host inside a blocked /64 passes");
	s.src = "2001:db8:bad::8";
	ASSERT_EQ(run(&s), XDP_DROP, "the rest of the /64 is still blocked");

	s.src = "2001:db8:cafe::1";
	add_block("2001:db8:cafe::1", BW_ACT_BLOCK, 0);
	add_allow("2001:db8:cafe::/48");
	ASSERT_EQ(run(&s), XDP_PASS, "allowed IPv6 /48 beats a blocked host in it");
	ASSERT_EQ(stat(BW_CNT_PASS_ALLOW), 3, "counted PASS_ALLOW");
	ASSERT_EQ(stat(BW_CNT_DROP_BLOCK), 2, "counted DROP_BLOCK");
}

/* A rule's family is its address's, not its length's. */
static void
family_by_address_not_length(void)
{
	struct pkt_spec s = { .src = "2001:db8::5" };

	add_block("2001:db8::/112", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "IPv6 /112 (plen >= 96) drops inside");
	s.src = "2001:db8::1:5";
	ASSERT_EQ(run(&s), XDP_PASS, "and passes outside");
	/* 10.0.0.0/8 is plen 104: it must not cover IPv6 sources. */
	add_block("10.0.0.0/8", BW_ACT_BLOCK, 0);
	s.src = "10.1.2.3";
	ASSERT_EQ(run(&s), XDP_DROP, "IPv4 /8 drops inside");
	s.src = "2001:db8::1:5";
	ASSERT_EQ(run(&s), XDP_PASS, "an IPv4 length does not touch an IPv6 source");
	ASSERT_TRUE(block_plens_are(true, (const __u8[]){ 96 + 8 }, 1),
		    "kernel's IPv4 lengths: 104 (/8) only");
	ASSERT_TRUE(block_plens_are(false, (const __u8[]){ 112 }, 1),
		    "kernel's IPv6 lengths: 112 only");
}

/* BW_MAX_PLENS lengths per family and list: the shortest is still seen. */
static void
full_plen_lists_walked(void)
{
	struct pkt_spec s = { .src = "10.1.2.3" };
	char cidr[64];
	int i;

	for (i = 0; i < BW_MAX_PLENS; i++) {
		/* /8 covers the source; /9../23 are elsewhere. */
		snprintf(cidr, sizeof(cidr), "%d.0.0.0/%d", i ? 100 + i : 10, 8 + i);
		add_block(cidr, BW_ACT_BLOCK, 0);
		snprintf(cidr, sizeof(cidr), "%x::/%d", i ? 0x2400 + i * 0x100 : 0x2001, 16 + i);
		add_block(cidr, BW_ACT_BLOCK, 0);
	}
	ASSERT_TRUE(block_plens_are(true, (const __u8[]){ 119, 118, 117, 116, 115, 114, 113,
		112, 111, 110, 109, 108, 107, 106, 105, 104 }, BW_MAX_PLENS),
		"kernel's IPv4 list full: /23 .. /8 as 119 .. 104");
	ASSERT_TRUE(block_plens_are(false, (const __u8[]){ 31, 30, 29, 28, 27, 26, 25, 24,
		23, 22, 21, 20, 19, 18, 17, 16 }, BW_MAX_PLENS),
		"kernel's IPv6 list full: /31 .. /16");
	ASSERT_EQ(run(&s), XDP_DROP, "16th IPv4 length (/8) matches");
	s.src = "2001:db8::1";
	ASSERT_EQ(run(&s), XDP_DROP, "16th IPv6 length (/16) matches");
	s.src = "11.1.2.3";
	ASSERT_EQ(run(&s), XDP_PASS, "outside every IPv4 rule passes");
}

/* An IPv6 packet from an IPv4-mapped address meets the IPv4 rules, and
 * the IPv6 ones that cover ::ffff:0:0/96, as when they were one list. */
static void
v4_mapped_v6_source_meets_v4_rules(void)
{
	struct pkt_spec s = { .src = "::ffff:198.51.100.7" };

	add_block("198.51.100.7", BW_ACT_BLOCK, 0);
	ASSERT_EQ(run(&s), XDP_DROP, "mapped source: IPv4 host block applies");
	s.src = "::ffff:198.51.100.8";
	ASSERT_EQ(run(&s), XDP_PASS, "mapped neighbour passes");
	add_block("198.51.100.0/24", BW_ACT_THROTTLE, 0);
	add_block("::/64", BW_ACT_BLOCK, 0);
	set_config(BW_MODE_ENFORCE, 1000, 1000, 1);
	ASSERT_EQ(run(&s), XDP_PASS, "IPv4 /24 throttle is longer than ::/64");
	ASSERT_EQ(run(&s), XDP_DROP, "and throttles");
	s.src = "::ffff:198.51.101.8";
	ASSERT_EQ(run(&s), XDP_DROP, "outside the /24: ::/64 blocks");
	add_allow("198.51.101.0/24");
	ASSERT_EQ(run(&s), XDP_PASS, "IPv4 allow covers the mapped source");
}

/* ---------------------------------------------------------------------
 * Runner
 */

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define CASE(f) { #f, f }

static const struct test_case cases[] = {
	CASE(ipv4_smtp_syn_passes),
	CASE(ipv6_smtp_syn_passes),
	CASE(vlan_single_tag_parsed),
	CASE(vlan_double_tag_parsed),
	CASE(vlan_triple_tag_unparsed),
	CASE(ipv4_options_parsed),
	CASE(ipv4_bad_ihl_unparsed),
	CASE(ipv4_fragment_passes),
	CASE(ipv6_ext_headers_parsed),
	CASE(ipv6_fragment_passes),
	CASE(udp_passes_not_tcp),
	CASE(truncated_vlan_ipv4_passes),
	CASE(truncated_ipv6_ext_passes),
	CASE(non_smtp_port_from_blocked_passes),
	CASE(ports_from_settings),
	CASE(rate_under_limit_passes),
	CASE(rate_over_limit_drops_and_reports),
	CASE(throttled_source_limited),
	CASE(throttle_rate_zero_admits_none),
	CASE(block_exact_v4_drops),
	CASE(block_exact_v6_drops),
	CASE(block_cidr_v4_drops_inside),
	CASE(block_cidr_v6_drops_inside),
	CASE(v6_rule_does_not_cover_v4),
	CASE(allow_beats_block),
	CASE(expired_block_passes),
	CASE(block_expires_on_time),
	CASE(monitor_mode_counts_would_drop),
	CASE(non_syn_from_ratelimited_passes),
	CASE(syn_rate_zero_disables_limit),
	CASE(rate_prefix_groups_sources),
	CASE(rules_in_family_maps),
	CASE(expired_host_falls_through_to_cidr),
	CASE(longest_live_match_decides),
	CASE(allow_host_beats_block_cidr),
	CASE(family_by_address_not_length),
	CASE(full_plen_lists_walked),
	CASE(v4_mapped_v6_source_meets_v4_rules),
};

/* Every packet lands in exactly one top-level class; their sum stands for
 * PACKETS, which the kernel leaves to its readers. */
static void
counters_add_up(void)
{
	__u64 sum = stat(BW_CNT_PASS_UNPARSED) + stat(BW_CNT_PASS_NOT_TCP) +
		    stat(BW_CNT_PASS_NOT_SMTP) + stat(BW_CNT_SMTP) +
		    stat(BW_CNT_NO_CONFIG);

	ASSERT_EQ(sum, env.runs, "top-level counters add up to the packets run");
	ASSERT_EQ(stat(BW_CNT_PACKETS), env.runs, "the reader's PACKETS is every packet");
	ASSERT_EQ(raw_stat(BW_CNT_PACKETS), 0, "the kernel does not count PACKETS");
	ASSERT_EQ(raw_stat(BW_CNT_SMTP) + raw_stat(BW_CNT_DROP_BLOCK) +
		  raw_stat(BW_CNT_DROP_RATELIMIT) + raw_stat(BW_CNT_DROP_THROTTLE),
		  stat(BW_CNT_SMTP), "a dropped SMTP packet counts its drop, not SMTP");
	ASSERT_EQ(stat(BW_CNT_EVENTS_LOST), 0, "no event lost");
	ASSERT_EQ(stat(BW_CNT_RATE_MAP_FULL), 0, "rate map never full");
}

static int
find_map(const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(env.obj, name);

	if (!map) {
		fprintf(stderr, "map %s not found in object\n", name);
		return -1;
	}
	return bpf_map__fd(map);
}

/* Open and load the object under test as the agent sets it up, from
 * env.set; point env.k at its maps. */
static int
load_program(void)
{
	static const char *const rule_map_names[2][RM_MAX] = {
		{ BW_MAP_BLOCK4, BW_MAP_BLOCK },
		{ BW_MAP_ALLOW4, BW_MAP_ALLOW },
	};
	struct bpf_program *prog;
	int err;

	ring_buffer__free(env.rb);
	env.rb = NULL;
	bpf_object__close(env.obj);
	env.obj = bpf_object__open_file(env.path, NULL);
	if (!env.obj) {
		fprintf(stderr, "open %s: %s\n", env.path, strerror(errno));
		return -1;
	}
	err = kern_obj_setup(env.obj, &env.set);
	if (!err)
		err = bpf_object__load(env.obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", env.path, strerror(-err));
		return -1;
	}
	prog = bpf_object__find_program_by_name(env.obj, "bouncewall_xdp");
	if (!prog) {
		fprintf(stderr, "program bouncewall_xdp not found in %s\n", env.path);
		return -1;
	}
	env.prog_fd = bpf_program__fd(prog);
	kern_init(&env.k);
	env.k.config_fd = find_map(BW_MAP_CONFIG);
	env.k.stats_fd = find_map(BW_MAP_STATS);
	env.k.rate_fd = find_map(BW_MAP_RATE);
	env.k.events_fd = find_map(BW_MAP_EVENTS);
	if (env.k.config_fd < 0 || env.k.stats_fd < 0 || env.k.rate_fd < 0 ||
	    env.k.events_fd < 0)
		return -1;
	for (int m = 0; m < RM_MAX; m++) {
		env.k.block_fd[m] = find_map(rule_map_names[0][m]);
		env.k.allow_fd[m] = find_map(rule_map_names[1][m]);
		if (env.k.block_fd[m] < 0 || env.k.allow_fd[m] < 0)
			return -1;
	}
	env.rb = ring_buffer__new(env.k.events_fd, on_event, NULL, NULL);
	if (!env.rb) {
		fprintf(stderr, "ring buffer: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int
setup(const char *path)
{
	env.path = path;
	settings_defaults(&env.set);
	if (libbpf_num_possible_cpus() <= 0) {
		fprintf(stderr, "cannot count possible CPUs\n");
		return -1;
	}
	return load_program();
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BOUNCEWALL_BPF_OBJECT\n", argv[0]);
		return 2;
	}
	if (setup(argv[1]) < 0) {
		bw_test_failed++;
		return bw_test_summary();
	}

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int failed = bw_test_failed;

		reset();
		cases[i].fn();
		counters_add_up();
		printf("%s %s\n", bw_test_failed == failed ? "ok  " : "FAIL",
		       cases[i].name);
	}

	ring_buffer__free(env.rb);
	bpf_object__close(env.obj);
	rules_free(&env.rules);
	return bw_test_summary();
}
