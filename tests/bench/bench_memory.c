/*
 * bench_memory.c - memory per tracked source and per flow, measured with the
 * real modules (score.c, flow_table.c, engine.c) against what their entry
 * sizes say.
 *
 *   build/bench/bench_memory [-s MAX_SOURCES] [-f MAX_FLOWS] [-j FILE]
 *
 * For each size (1k, 10k, 100k, 1M sources; 1k, 10k, 100k flows, up to the
 * maxima) it creates the structure at exactly that capacity, fills it with
 * that many distinct entries (sources: one null-sender transaction each,
 * all inside one scoring window, then score_decide() over all of them;
 * flows: SYN, SYN-ACK and a client "EHLO" segment per connection, so all
 * are open at once), and reads VmRSS from /proc/self/status before and
 * after.  The RSS delta divided by the entry count is the measured cost;
 * score_entry_bytes() and flow_table_entry_size() (+ hash bucket) the
 * sizeof-based one.  Then the agent-shaped whole: engine_init() with
 * max_sources 1M and max_flows 100k, both filled, and the process peak
 * (VmHWM).
 *
 * Target (issue #6): under 200 bytes per tracked source.  Prints a table;
 * with -j appends one JSON object per measurement (SPEC §9).  Exit 0 once
 * measured, 1 when a structure could not be filled as asked.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "settings.h"
#include "engine.h"
#include "flow_table.h"
#include "score.h"
#include "smtp_parse.h"

#define NSEC		1000000000ULL
#define T0		(1000ULL * NSEC)	/* any clock: not 0 */
#define TARGET_SOURCE	200.0

static FILE *json;

/* VmRSS or VmHWM in bytes, 0 if unreadable. */
static uint64_t
status_bytes(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb * 1024;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
json_line(const char *name, double value, const char *unit, const char *baseline,
	  double baseline_value, uint64_t entries)
{
	if (!json)
		return;
	fprintf(json, "{\"name\":\"%s\",\"value\":%.2f,\"unit\":\"%s\",", name, value, unit);
	if (baseline)
		fprintf(json, "\"baseline\":\"%s\",\"baseline_value\":%.2f,\"ratio\":%.4f",
			baseline, baseline_value, baseline_value ? value / baseline_value : 0.0);
	else
		fprintf(json, "\"baseline\":null,\"baseline_value\":null");
	if (entries)
		fprintf(json, ",\"entries\":%" PRIu64, entries);
	fprintf(json, "}\n");
}

static const char *
label(uint64_t n, char *buf, size_t len)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 "M", n / 1000000);
	else if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "k", n / 1000);
	else
		snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

/* Source i: IPv4-mapped 10.0.0.0/8 for the first 16M (the default /32
 * prefix makes each its own source), then IPv6 /64s. */
static void
source_addr(uint32_t i, uint8_t a[16])
{
	memset(a, 0, 16);
	if (i < (1u << 24)) {
		a[10] = a[11] = 0xff;
		a[12] = 10;
		a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		memcpy(a + 4, &i, 4);
		a[15] = 1;
	}
}

/* One null-sender transaction, one unknown recipient, from each of n
 * distinct sources, all within one second.  Returns ns per score_tx. */
static double
fill_sources(struct score *sc, uint32_t n, uint64_t t0)
{
	struct score_tx tx = {
		.sender = SCORE_SENDER_NULL,
		.rcpts = 1,
		.rcpt_5xx = 1,
		.rcpt_unknown = 1,
		.rcpt_checked = 1,
		.rcpt_unverified = 1,
	};
	double t = now_s();

	for (uint32_t i = 0; i < n; i++) {
		tx.ts_ns = t0 + (uint64_t)i * (NSEC / 2 / (n ? n : 1));
		source_addr(i, tx.client);
		score_tx(sc, &tx);
	}
	return (now_s() - t) * 1e9 / (n ? n : 1);
}

static void
decide_all(struct score *sc, uint64_t now)
{
	struct score_decision d[256];

	while (score_decide(sc, now, d, 256) == 256)
		;
}

/* Sources: measured bytes per source at capacity n.  0 ok, -1 failed. */
static int
bench_sources(uint32_t n, double *per_out)
{
	struct score_config cfg;
	struct score_stats st;
	uint8_t seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint64_t r0, r1, r2;
	struct score *sc;
	char lb[32], name[96];
	double ns_tx, per;

	score_config_defaults(&cfg);
	r0 = status_bytes("VmRSS");
	sc = score_new(n, seed, &cfg);
	if (!sc) {
		fprintf(stderr, "bench_memory: score_new(%u): %s\n", n, strerror(errno));
		return -1;
	}
	r1 = status_bytes("VmRSS");
	ns_tx = fill_sources(sc, n, T0);
	decide_all(sc, T0 + NSEC);
	r2 = status_bytes("VmRSS");
	score_get_stats(sc, T0 + NSEC, &st);
	score_free(sc);
	if (st.tracked != n || st.evictions) {
		fprintf(stderr, "bench_memory: scorer tracks %u of %u sources (%" PRIu64
			" evictions)\n", st.tracked, n, st.evictions);
		return -1;
	}
	per = (double)(r2 - r0) / n;
	printf("%-8s %10s %12.1f %12.1f %12zu %12.0f %10.0f\n", "sources",
	       label(n, lb, sizeof(lb)), (double)(r1 - r0) / 1e6, (double)(r2 - r0) / 1e6,
	       score_entry_bytes(), per, ns_tx);
	snprintf(name, sizeof(name), "memory.score.bytes_per_source.%s", lb);
	json_line(name, per, "bytes", "memory.score.entry_bytes", (double)score_entry_bytes(), n);
	snprintf(name, sizeof(name), "memory.score.ns_per_tx.%s", lb);
	json_line(name, ns_tx, "ns", NULL, 0, n);
	*per_out = per;
	return 0;
}

/* Connection i: client 10.x.y.z:port -> 192.0.2.25:25, SYN, SYN-ACK, EHLO. */
static int
open_flows(struct flow_table *ft, uint32_t n, uint64_t t0)
{
	static const uint8_t server[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 25 };
	static const char ehlo[] = "EHLO client.example\r\n";
	struct flow_seg c = { 0 }, s = { 0 };
	int fed = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = t0 + (uint64_t)i * 1000;	/* 1 µs apart */
		uint32_t isn = i * 2654435761u, sisn = ~isn;

		source_addr(i / 16, c.src);	/* 16 connections per client */
		memcpy(c.dst, server, 16);
		c.sport = (uint16_t)(20000 + (i % 16) * 1000 + (i / 16) % 997);
		c.dport = 25;
		c.seq = isn;
		c.ack = 0;
		c.flags = FLOW_TCP_SYN;
		c.payload = NULL;
		c.len = c.wire_len = 0;
		fed += flow_table_input(ft, &c, t);

		memcpy(s.src, server, 16);
		memcpy(s.dst, c.src, 16);
		s.sport = 25;
		s.dport = c.sport;
		s.seq = sisn;
		s.ack = isn + 1;
		s.flags = FLOW_TCP_SYN | FLOW_TCP_ACK;
		flow_table_input(ft, &s, t + 100);

		c.seq = isn + 1;
		c.ack = sisn + 1;
		c.flags = FLOW_TCP_ACK;
		c.payload = (const uint8_t *)ehlo;
		c.len = c.wire_len = sizeof(ehlo) - 1;
		flow_table_input(ft, &c, t + 200);
	}
	return fed;
}

static int
bench_flows(uint32_t n, double *per_out)
{
	struct flow_config cfg = { .ports = { 25 }, .n_ports = 1, .max_flows = n,
				   .hash_seed = 0x5eed };
	static const struct smtp_hooks no_hooks;
	struct smtp_ctx smtp = { .hooks = &no_hooks };
	const struct flow_stats *st;
	struct flow_table *ft;
	uint64_t r0, r1, r2, active, evicted;
	char lb[32], name[96];
	size_t sz = flow_table_entry_size();
	double per;
	int ret;

	r0 = status_bytes("VmRSS");
	ret = flow_table_new(&ft, &cfg, &smtp);
	if (ret < 0) {
		fprintf(stderr, "bench_memory: flow_table_new(%u): %s\n", n, strerror(-ret));
		return -1;
	}
	r1 = status_bytes("VmRSS");
	open_flows(ft, n, T0);
	r2 = status_bytes("VmRSS");
	st = flow_table_stats(ft);
	active = st->flows_active;
	evicted = st->flows_evicted;
	flow_table_free(ft, T0 + NSEC);
	if (active != n || evicted || smtp.stats.sessions != n || smtp.stats.commands != n) {
		fprintf(stderr, "bench_memory: %" PRIu64 " of %u flows open, %" PRIu64
			" evicted, %" PRIu64 " sessions, %" PRIu64 " EHLO parsed\n",
			active, n, evicted, smtp.stats.sessions, smtp.stats.commands);
		return -1;
	}
	per = (double)(r2 - r0) / n;
	printf("%-8s %10s %12.1f %12.1f %12zu %12.0f %10s\n", "flows",
	       label(n, lb, sizeof(lb)), (double)(r1 - r0) / 1e6, (double)(r2 - r0) / 1e6,
	       sz, per, "-");
	snprintf(name, sizeof(name), "memory.flow.bytes_per_flow.%s", lb);
	json_line(name, per, "bytes", "memory.flow.entry_size", (double)sz, n);
	*per_out = per;
	return 0;
}

/* The agent's pipeline at the asked sizes, both filled; peak RSS. */
static int
bench_engine(uint32_t nsrc, uint32_t nflows)
{
	static struct bw_settings s;
	struct engine_limits lim = { .max_flows = nflows, .max_sources = nsrc,
				     .seed = { 1, 2 } };
	struct engine e;
	struct score_stats st;
	uint64_t r0, r1, r2, hwm, active;
	char a[32], b[32];
	int ret;

	settings_defaults(&s);
	r0 = status_bytes("VmRSS");
	ret = engine_init(&e, &s, &lim);
	if (ret < 0) {
		fprintf(stderr, "bench_memory: engine_init: %s\n", strerror(-ret));
		return -1;
	}
	r1 = status_bytes("VmRSS");
	fill_sources(e.score, nsrc, T0);
	open_flows(e.flows, nflows, T0 + NSEC / 2);
	decide_all(e.score, T0 + NSEC);
	r2 = status_bytes("VmRSS");
	hwm = status_bytes("VmHWM");
	score_get_stats(e.score, T0 + NSEC, &st);
	active = flow_table_stats(e.flows)->flows_active;
	engine_free(&e);
	printf("\nengine (engine_init, max_sources %s, max_flows %s): %u sources tracked, %"
	       PRIu64 " flows open\n", label(nsrc, a, sizeof(a)), label(nflows, b, sizeof(b)),
	       st.tracked, active);
	printf("  RSS %.1f MB before, %.1f MB allocated, %.1f MB filled; process peak (VmHWM) %.1f MB\n",
	       r0 / 1e6, r1 / 1e6, r2 / 1e6, hwm / 1e6);
	printf("  sizeof-based: %.1f MB sources + %.1f MB flows = %.1f MB\n",
	       (double)nsrc * score_entry_bytes() / 1e6,
	       (double)nflows * flow_table_entry_size() / 1e6,
	       ((double)nsrc * score_entry_bytes() + (double)nflows * flow_table_entry_size()) / 1e6);
	json_line("memory.engine.filled_rss", (double)(r2 - r0), "bytes",
		  "memory.engine.sizeof_based",
		  (double)nsrc * score_entry_bytes() + (double)nflows * flow_table_entry_size(),
		  (uint64_t)nsrc + nflows);
	json_line("memory.engine.peak_rss", (double)hwm, "bytes", NULL, 0, 0);
	return st.tracked == nsrc && active == nflows ? 0 : -1;
}

int
main(int argc, char **argv)
{
	uint32_t max_src = 1000000, max_flows = 100000;
	const char *jpath = NULL;
	double per_src = 0, per_flow = 0;
	int c, bad = 0;

	while ((c = getopt(argc, argv, "s:f:j:h")) != -1) {
		switch (c) {
		case 's': max_src = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': max_flows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'j': jpath = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-s MAX_SOURCES] [-f MAX_FLOWS] [-j JSON_FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (max_src < SCORE_CAPACITY_MIN || max_flows < 1) {
		fprintf(stderr, "bench_memory: -s at least %d, -f at least 1\n", SCORE_CAPACITY_MIN);
		return 2;
	}
	if (jpath) {
		json = fopen(jpath, "a");
		if (!json) {
			fprintf(stderr, "bench_memory: %s: %s\n", jpath, strerror(errno));
			return 1;
		}
	}

	/* Every table in fresh pages from mmap, given back on free: glibc's
	 * sliding mmap threshold would otherwise serve a small table from heap
	 * pages a freed one left resident, and the delta would read 0. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);

	printf("memory per entry: RSS delta (VmRSS, /proc/self/status) over the entries "
	       "vs the modules' own sizes\n\n");
	printf("%-8s %10s %12s %12s %12s %12s %10s\n", "table", "entries", "new MB",
	       "filled MB", "sizeof B", "measured B", "ns/insert");
	/* 1k, 10k, ... and the maximum itself */
	for (uint64_t n = 1000; ; n *= 10) {
		uint32_t m = n < max_src ? (uint32_t)n : max_src;

		bad |= bench_sources(m, &per_src);
		if (m == max_src)
			break;
	}
	for (uint64_t n = 1000; ; n *= 10) {
		uint32_t m = n < max_flows ? (uint32_t)n : max_flows;

		bad |= bench_flows(m, &per_flow);
		if (m == max_flows)
			break;
	}
	bad |= bench_engine(max_src, max_flows);

	printf("\ntargets\n");
	printf("  per tracked source: %.0f B measured, %zu B sizeof-based (target < %.0f) %s\n",
	       per_src, score_entry_bytes(), TARGET_SOURCE,
	       per_src < TARGET_SOURCE ? "met" : "MISSED");
	printf("  per flow: %.0f B measured, %zu B entry (no target; 100k flows = %.0f MB)\n",
	       per_flow, flow_table_entry_size(), per_flow * 100000 / 1e6);
	if (json)
		fclose(json);
	return bad ? 1 : 0;
}
