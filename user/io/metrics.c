/*
 * metrics.c - the Prometheus exposition text (metrics.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	family(f, name, type, help);
}

static void
sample(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, "%s%s %" PRIu64 "\n", name, labels ? labels : "", v);
}

/* Clients of the agent's own servers: a slow or hostile client shows up
 * here as a timeout or an eviction, never as a stalled agent. */
static void
render_servers(FILE *f, const struct metrics_snapshot *m)
{
	static const struct {
		const char *reason;
		size_t off;
	} closed[] = {
		{ "timeout", offsetof(struct conn_stats, timeouts) },
		{ "evicted", offsetof(struct conn_stats, evicted) },
		{ "oversized", offsetof(struct conn_stats, oversized) },
		{ "error", offsetof(struct conn_stats, errors) },
	};

	if (!m->n_servers)
		return;
	family(f, "bouncewall_server_connections_total", "counter",
	       "Connections accepted by the agent's servers.");
	for (unsigned int i = 0; i < m->n_servers; i++)
		fprintf(f, "bouncewall_server_connections_total{server=\"%s\"} %" PRIu64 "\n",
			m->servers[i].name, m->servers[i].st.accepted);
	family(f, "bouncewall_server_requests_total", "counter",
	       "Requests the agent's servers answered.");
	for (unsigned int i = 0; i < m->n_servers; i++)
		fprintf(f, "bouncewall_server_requests_total{server=\"%s\"} %" PRIu64 "\n",
			m->servers[i].name, m->servers[i].st.requests);
	family(f, "bouncewall_server_clients_closed_total", "counter",
	       "Clients the agent closed on them, by reason.");
	for (unsigned int i = 0; i < m->n_servers; i++)
		for (size_t k = 0; k < sizeof(closed) / sizeof(closed[0]); k++)
			fprintf(f, "bouncewall_server_clients_closed_total{server=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
				m->servers[i].name, closed[k].reason,
				*(const uint64_t *)((const char *)&m->servers[i].st + closed[k].off));
	family(f, "bouncewall_server_clients", "gauge", "Clients connected now.");
	for (unsigned int i = 0; i < m->n_servers; i++)
		fprintf(f, "bouncewall_server_clients{server=\"%s\"} %" PRIu64 "\n",
			m->servers[i].name, m->servers[i].st.active);
}

/* The agent itself: version, mode, the settings in force. */
static void
render_agent(FILE *f, const struct metrics_snapshot *m)
{
	family(f, "bouncewall_build_info", "gauge", "Build information.");
	fprintf(f, "bouncewall_build_info{version=\"%s\"} 1\n", m->version);
	family(f, "bouncewall_start_time_seconds", "gauge", "Agent start time, unix seconds.");
	sample(f, "bouncewall_start_time_seconds", NULL, m->start_time);
	family(f, "bouncewall_monitor_mode", "gauge", "1 when drops are only counted (mode = monitor).");
	sample(f, "bouncewall_monitor_mode", NULL, m->monitor_mode);

	if (m->n_thresholds) {
		family(f, "bouncewall_threshold", "gauge",
		       "Numeric settings in force (threshold list), durations in seconds.");
		for (unsigned int i = 0; i < m->n_thresholds && i < METRICS_THRESHOLDS_MAX; i++)
			fprintf(f, "bouncewall_threshold{name=\"%s\"} %g\n", m->thresholds[i].name,
				m->thresholds[i].value);
	}
}

/* The XDP program's per-CPU counters, summed. */
static void
render_kernel(FILE *f, const struct metrics_snapshot *m)
{
	const uint64_t *k = m->kern;

	family(f, "bouncewall_xdp_packets_total", "counter", "Packets the XDP program saw.");
	sample(f, "bouncewall_xdp_packets_total", NULL, k[BW_CNT_PACKETS]);
	family(f, "bouncewall_xdp_smtp_packets_total", "counter", "Packets to an SMTP port.");
	sample(f, "bouncewall_xdp_smtp_packets_total", NULL, k[BW_CNT_SMTP]);
	family(f, "bouncewall_xdp_smtp_syn_total", "counter", "New SMTP connection attempts seen in XDP.");
	sample(f, "bouncewall_xdp_smtp_syn_total", NULL, k[BW_CNT_SMTP_SYN]);
	family(f, "bouncewall_xdp_passed_packets_total", "counter",
	       "Packets passed without a rate check, by reason.");
	sample(f, "bouncewall_xdp_passed_packets_total", "{reason=\"unparsed\"}", k[BW_CNT_PASS_UNPARSED]);
	sample(f, "bouncewall_xdp_passed_packets_total", "{reason=\"not_tcp\"}", k[BW_CNT_PASS_NOT_TCP]);
	sample(f, "bouncewall_xdp_passed_packets_total", "{reason=\"not_smtp\"}", k[BW_CNT_PASS_NOT_SMTP]);
	sample(f, "bouncewall_xdp_passed_packets_total", "{reason=\"allowlist\"}", k[BW_CNT_PASS_ALLOW]);
	sample(f, "bouncewall_xdp_passed_packets_total", "{reason=\"no_config\"}", k[BW_CNT_NO_CONFIG]);
	family(f, "bouncewall_xdp_dropped_packets_total", "counter", "Packets dropped in XDP, by reason.");
	sample(f, "bouncewall_xdp_dropped_packets_total", "{reason=\"block\"}", k[BW_CNT_DROP_BLOCK]);
	sample(f, "bouncewall_xdp_dropped_packets_total", "{reason=\"ratelimit\"}", k[BW_CNT_DROP_RATELIMIT]);
	sample(f, "bouncewall_xdp_dropped_packets_total", "{reason=\"throttle\"}", k[BW_CNT_DROP_THROTTLE]);
	family(f, "bouncewall_xdp_would_drop_packets_total", "counter",
	       "Packets monitor mode would have dropped, by reason.");
	sample(f, "bouncewall_xdp_would_drop_packets_total", "{reason=\"block\"}", k[BW_CNT_WOULD_DROP_BLOCK]);
	sample(f, "bouncewall_xdp_would_drop_packets_total", "{reason=\"ratelimit\"}",
	       k[BW_CNT_WOULD_DROP_RATELIMIT]);
	sample(f, "bouncewall_xdp_would_drop_packets_total", "{reason=\"throttle\"}",
	       k[BW_CNT_WOULD_DROP_THROTTLE]);
	family(f, "bouncewall_xdp_events_total", "counter", "Heavy-hitter events sent by the kernel.");
	sample(f, "bouncewall_xdp_events_total", NULL, k[BW_CNT_EVENTS]);
	family(f, "bouncewall_xdp_events_lost_total", "counter", "Heavy-hitter events lost to a full ring buffer.");
	sample(f, "bouncewall_xdp_events_lost_total", NULL, k[BW_CNT_EVENTS_LOST]);
	family(f, "bouncewall_xdp_rate_map_full_total", "counter",
	       "SYNs from a source the kernel could not start tracking.");
	sample(f, "bouncewall_xdp_rate_map_full_total", NULL, k[BW_CNT_RATE_MAP_FULL]);

	family(f, "bouncewall_xdp_rate_tracked_prefixes", "gauge",
	       "Source prefixes the kernel rate-tracks (LRU).");
	sample(f, "bouncewall_xdp_rate_tracked_prefixes", NULL, m->kernel_tracked);
	family(f, "bouncewall_tracked_sources", "gauge", "Source prefixes the scorer tracks.");
	sample(f, "bouncewall_tracked_sources", NULL, m->tracked_sources);
}

/* What the sampler parsed and the scorer made of it. */
static void
render_sampler(FILE *f, const struct metrics_snapshot *m)
{
	if (m->sampler) {
		family(f, "bouncewall_smtp_sessions_total", "counter", "SMTP sessions parsed by the sampler.");
		sample(f, "bouncewall_smtp_sessions_total", NULL, m->smtp_sessions);
		family(f, "bouncewall_smtp_opaque_sessions_total", "counter", "Sessions that went STARTTLS.");
		sample(f, "bouncewall_smtp_opaque_sessions_total", NULL, m->smtp_opaque_sessions);
		family(f, "bouncewall_smtp_transactions_total", "counter",
		       "MAIL FROM transactions, by sender (null includes postmaster@/mailer-daemon@).");
		sample(f, "bouncewall_smtp_transactions_total", "{sender=\"null\"}", m->smtp_txn_null);
		sample(f, "bouncewall_smtp_transactions_total", "{sender=\"other\"}", m->smtp_txn_other);
		family(f, "bouncewall_smtp_callouts_total", "counter",
		       "Null-sender transactions that were sender verification (all recipients "
		       "accepted, no DATA): never counted as bounces.");
		sample(f, "bouncewall_smtp_callouts_total", NULL, m->smtp_callouts);
		family(f, "bouncewall_smtp_rcpt_rejected_total", "counter", "Recipients our server answered 5xx.");
		sample(f, "bouncewall_smtp_rcpt_rejected_total", NULL, m->smtp_rcpt_rejected);
		family(f, "bouncewall_smtp_malformed_lines_total", "counter",
		       "SMTP lines the parser counted as malformed and skipped.");
		sample(f, "bouncewall_smtp_malformed_lines_total", NULL, m->smtp_malformed_lines);
		family(f, "bouncewall_capture_packets_total", "counter", "Frames the sampler read.");
		sample(f, "bouncewall_capture_packets_total", NULL, m->capture_frames);
		family(f, "bouncewall_capture_dropped_packets_total", "counter", "Packets libpcap lost.");
		sample(f, "bouncewall_capture_dropped_packets_total", NULL, m->capture_dropped);
		family(f, "bouncewall_capture_sampled_ratio", "gauge",
		       "Share of new flows parsed (1 = all; less under overload).");
		fprintf(f, "bouncewall_capture_sampled_ratio %g\n", m->sample_keep / 1024.0);
		family(f, "bouncewall_storm_active", "gauge", "1 while a backscatter storm is declared.");
		sample(f, "bouncewall_storm_active", NULL, m->storm_active);
		family(f, "bouncewall_null_sender_rate_per_minute", "gauge",
		       "Null-sender transactions per minute, all sources (short window).");
		fprintf(f, "bouncewall_null_sender_rate_per_minute %.3f\n", m->null_rate_per_min);
		family(f, "bouncewall_null_sender_baseline_per_minute", "gauge",
		       "The storm detector's moving baseline of the same rate.");
		fprintf(f, "bouncewall_null_sender_baseline_per_minute %.3f\n", m->null_baseline_per_min);
	}
}

/* Rules in force and the decisions that made them. */
static void
render_rules(FILE *f, const struct metrics_snapshot *m)
{
	family(f, "bouncewall_blocked_prefixes", "gauge", "Prefixes blocked now.");
	sample(f, "bouncewall_blocked_prefixes", NULL, m->blocked_prefixes);
	family(f, "bouncewall_throttled_prefixes", "gauge", "Prefixes throttled now.");
	sample(f, "bouncewall_throttled_prefixes", NULL, m->throttled_prefixes);
	family(f, "bouncewall_allowed_prefixes", "gauge", "Allowlist entries.");
	sample(f, "bouncewall_allowed_prefixes", NULL, m->allowed_prefixes);
	family(f, "bouncewall_decisions_total", "counter", "Decisions taken, by action.");
	sample(f, "bouncewall_decisions_total", "{action=\"throttle\"}", m->decisions_throttle);
	sample(f, "bouncewall_decisions_total", "{action=\"block\"}", m->decisions_block);
	sample(f, "bouncewall_decisions_total", "{action=\"unblock\"}", m->decisions_unblock);
	family(f, "bouncewall_decisions_suppressed_total", "counter",
	       "Scorer decisions the allowlist overrode.");
	sample(f, "bouncewall_decisions_suppressed_total", NULL, m->decisions_suppressed);
	family(f, "bouncewall_kernel_events_received_total", "counter",
	       "Heavy-hitter events the agent consumed.");
	sample(f, "bouncewall_kernel_events_received_total", NULL, m->kernel_events);
	family(f, "bouncewall_state_save_failures", "gauge",
	       "State file writes failed in a row (0 when the last one worked).");
	sample(f, "bouncewall_state_save_failures", NULL, m->state_save_failures);
}

int
metrics_render(FILE *f, const struct metrics_snapshot *m)
{
	render_agent(f, m);
	render_kernel(f, m);
	render_sampler(f, m);
	render_rules(f, m);
	render_servers(f, m);
	return ferror(f) ? -EIO : 0;
}
