/*
 * analyze.c - `bouncewall analyze FILE [-c FILE] [--ports LIST] [--json]`.
 *
 * The shell around the pure core for one capture file: libpcap reads the
 * frames (pcap or pcapng), pcap_decode() turns each into a TCP segment,
 * the flow table and the SMTP parser do the rest, and the transaction
 * events are summed per source prefix.  The scorer sees the same events
 * through the engine the agent runs, ticked once a second of capture time,
 * so every decision the live agent would take is replayed.  Memory is
 * bounded by the flow table (ANALYZE_MAX_FLOWS), the scorer and the source
 * table (ANALYZE_SOURCES_MAX).
 *
 * Output: a readable summary, or with --json one document (fields in the
 * README), sources highest score first.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "addr.h"
#include "analyze.h"
#include "conf_file.h"
#include "engine.h"
#include "json.h"
#include "pcap_decode.h"
#include "smtp_parse.h"
#include "usage.h"

#define ANALYZE_MAX_FLOWS	65536
#define ANALYZE_HOLD_SLOTS	1024
#define ANALYZE_SOURCES_MAX	65536	/* hash slots, a power of two */
#define ANALYZE_SOURCES_CAP	(ANALYZE_SOURCES_MAX / 4 * 3)	/* sources kept */
#define ANALYZE_PORTS_TEXT_MAX	128
#define ANALYZE_DECISIONS	64	/* per scorer tick */
#define ANALYZE_IOBUF		(1 << 20)
#define NSEC			1000000000ULL

struct analyze_opts {
	const char *file;
	const char *config;
	const char *ports_text;	/* --ports, applied over the config file */
	bool json;
	unsigned int prefix_v4;
	unsigned int prefix_v6;
	struct bw_settings settings;
};

struct analyze_source {
	uint8_t addr[16];	/* masked to the prefix; used when sessions > 0 */
	bool used;
	uint64_t sessions;
	uint64_t transactions;
	uint64_t null_sender;
	uint64_t bounce_sender;
	uint64_t rcpt;
	uint64_t rcpt_rejected;
	uint64_t rcpt_unknown;
	uint64_t throttled_at;	/* capture ns of the first decision, 0 none */
	uint64_t blocked_at;
	struct score_view view;	/* at the end of the capture */
	bool scored;
};

struct analyze_state {
	const struct analyze_opts *opts;
	struct analyze_source *src;	/* dense, ANALYZE_SOURCES_CAP */
	uint32_t *slots;		/* hash slots: 0 empty, else index + 1 */
	uint32_t n_src;
	uint64_t src_dropped;		/* events for sources beyond the cap */
	uint64_t packets;
	uint64_t smtp_packets;
	uint64_t decode[PCAP_DEC__MAX];
	uint64_t ts_backwards;
	uint64_t first_ts;
	uint64_t decisions_throttle;
	uint64_t decisions_block;
	struct engine engine;
};


/* ----- options ---------------------------------------------------------- */

/* 0 ok (run), 1 help printed (exit 0), 2 usage error printed. */
static int
parse_args(int argc, char **argv, struct analyze_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ports", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));

	optind = 0;	/* glibc: full reset, cmd_analyze may run twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'p':
			o->ports_text = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			printf("usage: bouncewall %s\n", usage_of("analyze"));
			return 1;
		case ':':
			fprintf(stderr, "bouncewall analyze: option '%.64s' needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			if (optopt)
				fprintf(stderr, "bouncewall analyze: unknown option '-%c' (usage: bouncewall %s)\n",
					optopt, usage_of("analyze"));
			else
				fprintf(stderr, "bouncewall analyze: unknown option '%.64s' (usage: bouncewall %s)\n",
					argv[optind - 1], usage_of("analyze"));
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bouncewall analyze: no capture file given (usage: bouncewall %s)\n",
			usage_of("analyze"));
		return 2;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "bouncewall analyze: one capture file at a time ('%.64s' is extra)\n",
			argv[optind + 1]);
		return 2;
	}
	o->file = argv[optind];
	return 0;
}

/*
 * Settings: defaults, then -c FILE, then --ports.  Returns 0, 1 when the
 * file cannot be read, 2 when it (or the port list) is invalid.
 */
static int
apply_config(struct analyze_opts *o)
{
	char err[BW_ERR_MAX];
	int ret;

	settings_defaults(&o->settings);
	if (o->config) {
		ret = settings_load_file(&o->settings, o->config, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "bouncewall analyze: %s\n", err);
			return ret == -EINVAL ? 2 : 1;
		}
	}
	if (o->ports_text &&
	    settings_set(&o->settings, "smtp_ports", o->ports_text, err, sizeof(err)) < 0) {
		fprintf(stderr, "bouncewall analyze: %s\n", err);
		return 2;
	}
	o->prefix_v4 = o->settings.prefix_v4;
	o->prefix_v6 = o->settings.prefix_v6;
	return 0;
}

/* ----- sources ------------------------------------------------------------ */

/* Open addressing over a slot array of indexes into the dense source
 * array: probes touch 4-byte slots, not whole source records. */
static struct analyze_source *
source_get(struct analyze_state *st, const uint8_t client[16])
{
	uint8_t key[16];
	uint64_t h = 1469598103934665603ULL;
	uint32_t i;

	memcpy(key, client, 16);
	addr_mask(key, addr_is_v4(key) ? BW_V4_PLEN_BASE + st->opts->prefix_v4 :
					   st->opts->prefix_v6);
	for (int k = 0; k < 16; k++)
		h = (h ^ key[k]) * 1099511628211ULL;
	i = (uint32_t)(h ^ (h >> 32)) & (ANALYZE_SOURCES_MAX - 1);
	for (uint32_t n = 0; n < ANALYZE_SOURCES_MAX; n++) {
		uint32_t v = st->slots[i];
		struct analyze_source *s;

		if (!v) {
			/* keep a quarter free: probes stay short */
			if (st->n_src >= ANALYZE_SOURCES_CAP) {
				st->src_dropped++;
				return NULL;
			}
			s = &st->src[st->n_src];
			s->used = true;
			memcpy(s->addr, key, 16);
			st->slots[i] = ++st->n_src;
			return s;
		}
		s = &st->src[v - 1];
		if (!memcmp(s->addr, key, 16))
			return s;
		i = (i + 1) & (ANALYZE_SOURCES_MAX - 1);
	}
	st->src_dropped++;
	return NULL;
}

/* The scored prefix of a source, as CIDR text. */
static char *
source_format(const struct analyze_state *st, const struct analyze_source *s,
	      char *buf, size_t len)
{
	struct bw_cidr c;

	memcpy(c.addr, s->addr, 16);
	c.plen = addr_is_v4(s->addr) ? BW_V4_PLEN_BASE + st->opts->prefix_v4 :
				       st->opts->prefix_v6;
	return addr_format_cidr(&c, buf, len);
}

static void
on_session_start(void *arg, const struct smtp_session *s)
{
	struct analyze_source *src = source_get(arg, s->peer.client);

	if (src)
		src->sessions++;
}

static void
on_txn(void *arg, struct smtp_txn *t)
{
	struct analyze_source *src = source_get(arg, t->peer.client);

	if (!src)
		return;
	src->transactions++;
	src->null_sender += t->sender_null;
	src->bounce_sender += t->sender_bounce;
	src->rcpt += t->n_rcpt;
	src->rcpt_rejected += t->n_rcpt_rejected;
	src->rcpt_unknown += t->n_rcpt_unknown;
}

static const struct smtp_hooks analyze_hooks = {
	.session_start = on_session_start,
	.txn = on_txn,
};

static int
source_cmp(const void *a, const void *b)
{
	const struct analyze_source *x = *(const struct analyze_source *const *)a;
	const struct analyze_source *y = *(const struct analyze_source *const *)b;

	if (x->view.score != y->view.score)
		return x->view.score > y->view.score ? -1 : 1;
	if (x->null_sender != y->null_sender)
		return x->null_sender > y->null_sender ? -1 : 1;
	if (x->rcpt_rejected != y->rcpt_rejected)
		return x->rcpt_rejected > y->rcpt_rejected ? -1 : 1;
	if (x->transactions != y->transactions)
		return x->transactions > y->transactions ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* ----- output ------------------------------------------------------------- */

/* Seconds from the first packet to `at`, or null. */
static void
print_when(const char *key, uint64_t at, uint64_t first)
{
	if (at)
		printf(", \"%s\": %.3f", key, (double)(at - first) / NSEC);
	else
		printf(", \"%s\": null", key);
}

static void
print_json(const struct analyze_state *st, const struct smtp_stats *ss,
	   const struct flow_stats *fs, const struct score_stats *stats,
	   struct analyze_source **list, uint32_t n, bool complete, const char *error)
{
	char cidr[ADDR_CIDR_STRLEN];

	printf("{\n  \"file\": ");
	json_str(stdout, st->opts->file);
	printf(",\n  \"complete\": %s", complete ? "true" : "false");
	if (error) {
		printf(",\n  \"error\": ");
		json_str(stdout, error);
	}
	printf(",\n  \"packets\": %" PRIu64, st->packets);
	printf(",\n  \"smtp_packets\": %" PRIu64, st->smtp_packets);
	printf(",\n  \"sessions\": %" PRIu64, ss->sessions);
	printf(",\n  \"opaque_sessions\": %" PRIu64, ss->opaque_sessions);
	printf(",\n  \"transactions\": %" PRIu64, ss->transactions);
	printf(",\n  \"null_sender_transactions\": %" PRIu64, ss->null_sender);
	printf(",\n  \"bounce_sender_transactions\": %" PRIu64, ss->bounce_sender);
	printf(",\n  \"callouts\": %" PRIu64, stats->callouts);
	printf(",\n  \"rcpt_total\": %" PRIu64, ss->rcpt_total);
	printf(",\n  \"rcpt_rejected\": %" PRIu64, ss->rcpt_rejected);
	printf(",\n  \"rcpt_unknown\": %" PRIu64, ss->rcpt_unknown);
	printf(",\n  \"replies\": %" PRIu64, ss->replies);
	printf(",\n  \"replies_4xx\": %" PRIu64, ss->replies_4xx);
	printf(",\n  \"replies_5xx\": %" PRIu64, ss->replies_5xx);
	printf(",\n  \"malformed_lines\": %" PRIu64, ss->malformed_lines);
	printf(",\n  \"unknown_commands\": %" PRIu64, ss->unknown_commands);
	printf(",\n  \"stream_gaps\": %" PRIu64, fs->gaps);
	printf(",\n  \"retransmitted_bytes\": %" PRIu64, fs->dup_bytes);
	printf(",\n  \"flows_evicted\": %" PRIu64, fs->flows_evicted);
	printf(",\n  \"flows_expired\": %" PRIu64, fs->flows_expired);
	printf(",\n  \"sources_dropped\": %" PRIu64, st->src_dropped);
	printf(",\n  \"decisions\": {\"throttle\": %" PRIu64 ", \"block\": %" PRIu64 "}",
	       st->decisions_throttle, st->decisions_block);
	printf(",\n  \"storms\": %" PRIu64, stats->storms);
	printf(",\n  \"sources\": [");
	for (uint32_t i = 0; i < n; i++) {
		const struct analyze_source *s = list[i];

		printf("%s\n    {\"source\": ", i ? "," : "");
		json_str(stdout, source_format(st, s, cidr, sizeof(cidr)));
		printf(", \"score\": %.1f, \"verdict\": \"%s\", \"veto\": \"%s\"", s->view.score,
		       score_verdict_name(s->view.verdict), score_veto_name(s->view.veto));
		printf(", \"sessions\": %" PRIu64 ", \"transactions\": %" PRIu64
		       ", \"null_sender\": %" PRIu64 ", \"bounce_sender\": %" PRIu64
		       ", \"rcpt\": %" PRIu64 ", \"rcpt_rejected\": %" PRIu64
		       ", \"rcpt_unknown\": %" PRIu64,
		       s->sessions, s->transactions, s->null_sender,
		       s->bounce_sender, s->rcpt, s->rcpt_rejected,
		       s->rcpt_unknown);
		print_when("throttled_after_s", s->throttled_at, st->first_ts);
		print_when("blocked_after_s", s->blocked_at, st->first_ts);
		printf(", \"signals\": {");
		for (int k = 0; k < SIG_COUNT; k++)
			printf("%s\"%s\": {\"value\": %.3f, \"points\": %.1f}", k ? ", " : "",
			       score_signal_name((enum score_signal_id)k),
			       s->view.sig[k].value, s->view.sig[k].points);
		printf("}}");
	}
	printf("%s]\n}\n", n ? "\n  " : "");
}

static void
print_table(const struct analyze_state *st, const struct smtp_stats *ss,
	    const struct flow_stats *fs, struct analyze_source **list,
	    uint32_t n)
{
	char cidr[ADDR_CIDR_STRLEN];

	printf("capture        %s: %" PRIu64 " packets, %" PRIu64 " on SMTP ports\n",
	       st->opts->file, st->packets, st->smtp_packets);
	printf("sessions       %" PRIu64 " (opaque after STARTTLS: %" PRIu64 ")\n",
	       ss->sessions, ss->opaque_sessions);
	printf("transactions   %" PRIu64 " (null sender: %" PRIu64
	       ", postmaster/mailer-daemon: %" PRIu64 ")\n",
	       ss->transactions, ss->null_sender, ss->bounce_sender);
	printf("recipients     %" PRIu64 " (rejected 5xx: %" PRIu64
	       ", unknown 5.1.x: %" PRIu64 ")\n",
	       ss->rcpt_total, ss->rcpt_rejected, ss->rcpt_unknown);
	printf("replies        %" PRIu64 " (4xx: %" PRIu64 ", 5xx: %" PRIu64 ")\n",
	       ss->replies, ss->replies_4xx, ss->replies_5xx);
	printf("malformed      %" PRIu64 " lines, %" PRIu64 " unknown commands\n",
	       ss->malformed_lines, ss->unknown_commands);
	printf("reassembly     %" PRIu64 " gaps, %" PRIu64
	       " retransmitted bytes, %" PRIu64 " flows evicted\n",
	       fs->gaps, fs->dup_bytes, fs->flows_evicted);
	if (!n)
		return;
	printf("decisions      %" PRIu64 " throttle, %" PRIu64 " block\n",
	       st->decisions_throttle, st->decisions_block);
	printf("\n%-40s %6s %-8s %8s %6s %6s %6s %8s  %s\n", "source", "score", "verdict",
	       "sessions", "txns", "null", "rcpt", "rejected", "signals");
	for (uint32_t i = 0; i < n; i++) {
		const struct analyze_source *s = list[i];
		char why[SCORE_REASON_MAX];

		printf("%-40s %6.1f %-8s %8" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
		       " %8" PRIu64 "  %s\n",
		       source_format(st, s, cidr, sizeof(cidr)), s->view.score,
		       score_verdict_name(s->view.verdict), s->sessions,
		       s->transactions, s->null_sender, s->rcpt, s->rcpt_rejected,
		       score_reason(&s->view, why, sizeof(why)));
	}
	if (st->src_dropped)
		printf("(%" PRIu64 " events from sources beyond the first %u not shown)\n",
		       st->src_dropped, st->n_src);
}

/* ----- the run -------------------------------------------------------------- */

/* Apply what the scorer decided: remember when each source was first
 * throttled and blocked, in capture time. */
static void
record_decisions(struct analyze_state *st, const struct score_decision *d, size_t n,
		 uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct analyze_source *src = source_get(st, d[i].prefix.addr);

		if (d[i].renewal)
			continue;
		if (d[i].action == SCORE_BLOCK)
			st->decisions_block++;
		else
			st->decisions_throttle++;
		if (!src)
			continue;
		if (d[i].action == SCORE_BLOCK && !src->blocked_at)
			src->blocked_at = now;
		if (d[i].action == SCORE_THROTTLE && !src->throttled_at)
			src->throttled_at = now;
	}
}

static void
tick(struct analyze_state *st, uint64_t now)
{
	struct score_decision d[ANALYZE_DECISIONS];
	size_t n;

	do {
		n = engine_tick(&st->engine, now, d, ANALYZE_DECISIONS);
		record_decisions(st, d, n, now);
	} while (n == ANALYZE_DECISIONS);
}

/* The capture, opened with a large stdio buffer: libpcap reads record by
 * record, and stdio's 4 KiB default makes that a syscall every few
 * packets.  NULL after printing why. */
static pcap_t *
open_capture(const char *file, char **iobuf, int *linktype)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	const char *lt;
	pcap_t *pc;
	FILE *fp;

	*iobuf = NULL;
	fp = fopen(file, "rb");
	if (!fp) {
		fprintf(stderr, "bouncewall analyze: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	*iobuf = malloc(ANALYZE_IOBUF);
	if (*iobuf)
		setvbuf(fp, *iobuf, _IOFBF, ANALYZE_IOBUF);
	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fclose(fp);
		free(*iobuf);
		*iobuf = NULL;
		/* libpcap's message sometimes names the file already */
		if (strncmp(errbuf, file, strlen(file)) == 0)
			fprintf(stderr, "bouncewall analyze: %s\n", errbuf);
		else
			fprintf(stderr, "bouncewall analyze: %s: %s\n", file, errbuf);
		return NULL;
	}
	*linktype = pcap_datalink(pc);
	if (!pcap_decode_supported(*linktype)) {
		lt = pcap_datalink_val_to_name(*linktype);
		fprintf(stderr, "bouncewall analyze: %s: link type %s is not supported\n", file,
			lt ? lt : "?");
		pcap_close(pc);
		free(*iobuf);
		*iobuf = NULL;
		return NULL;
	}
	return pc;
}

/* Every frame through the engine, capture time as the clock, scored once
 * a second as the agent does.  Returns false when the file was cut short
 * (error says where). */
static bool
replay(struct analyze_state *st, pcap_t *pc, int linktype, uint64_t *now, char *error,
       size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *frame;
	uint64_t next_tick = 0;
	int r;

	while ((r = pcap_next_ex(pc, &h, &frame)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * NSEC + (uint64_t)h->ts.tv_usec;

		st->packets++;
		if (ts < *now)
			st->ts_backwards++;	/* the clock never goes back */
		else
			*now = ts;
		if (!st->first_ts)
			st->first_ts = *now;
		if (*now >= next_tick) {
			tick(st, *now);
			next_tick = *now + NSEC;
		}
		st->smtp_packets += engine_frame(&st->engine, linktype, frame, h->caplen, *now) > 0;
	}
	engine_flush(&st->engine, *now);
	tick(st, *now);
	if (r != -1)
		return true;
	snprintf(error, errlen, "%s after %" PRIu64 " packets", pcap_geterr(pc), st->packets);
	return false;
}

/* The sources, scored at now, highest first.  0 or -ENOMEM. */
static int
report(struct analyze_state *st, const struct analyze_opts *o, uint64_t now, bool complete,
       const char *error)
{
	struct analyze_source **list = calloc(st->n_src ? st->n_src : 1, sizeof(*list));
	struct score_stats stats;
	uint32_t n = 0;

	if (!list)
		return -ENOMEM;
	for (uint32_t k = 0; k < st->n_src; k++) {
		struct analyze_source *src = &st->src[k];

		src->scored = score_lookup(st->engine.score, src->addr, now, &src->view) == 0;
		list[n++] = src;
	}
	qsort(list, n, sizeof(*list), source_cmp);
	score_get_stats(st->engine.score, now, &stats);
	if (o->json)
		print_json(st, &st->engine.smtp.stats, flow_table_stats(st->engine.flows), &stats,
			   list, n, complete, complete ? NULL : error);
	else
		print_table(st, &st->engine.smtp.stats, flow_table_stats(st->engine.flows), list, n);
	fflush(stdout);
	free(list);
	return 0;
}

int
cmd_analyze(int argc, char **argv)
{
	char error[PCAP_ERRBUF_SIZE + 64] = "";
	struct engine_limits lim = {
		.max_flows = ANALYZE_MAX_FLOWS,
		.max_sources = ANALYZE_SOURCES_MAX,
		.hold_slots = ANALYZE_HOLD_SLOTS,
		/* offline: reproducible */
		.seed = { 0x626f756e63657761ULL, 0x6c6c616e616c797aULL },
	};
	struct analyze_state st;
	struct analyze_opts o;
	pcap_t *pc;
	char *iobuf;
	uint64_t now = 0;
	bool complete, engine_up = false;
	int linktype, ret = 1, r;

	r = parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : 2;
	r = apply_config(&o);
	if (r)
		return r;
	memset(&st, 0, sizeof(st));
	st.opts = &o;
	pc = open_capture(o.file, &iobuf, &linktype);
	if (!pc)
		return 1;
	st.src = calloc(ANALYZE_SOURCES_CAP, sizeof(*st.src));
	st.slots = calloc(ANALYZE_SOURCES_MAX, sizeof(*st.slots));
	if (!st.src || !st.slots || engine_init(&st.engine, &o.settings, &lim) < 0) {
		fprintf(stderr, "bouncewall analyze: out of memory\n");
		goto out;
	}
	engine_up = true;
	st.engine.observer = &analyze_hooks;
	st.engine.observer_arg = &st;
	complete = replay(&st, pc, linktype, &now, error, sizeof(error));
	if (report(&st, &o, now, complete, error) < 0) {
		fprintf(stderr, "bouncewall analyze: out of memory\n");
		goto out;
	}
	if (!complete)
		fprintf(stderr, "bouncewall analyze: %s: %s (results above cover what was read)\n",
			o.file, error);
	ret = complete ? 0 : 1;
out:
	if (engine_up)
		engine_free(&st.engine);
	free(st.src);
	free(st.slots);
	pcap_close(pc);		/* closes the FILE too; only then may its buffer go */
	free(iobuf);
	return ret;
}
