/*
 * metrics.c - Prometheus exposition and its HTTP endpoint (metrics.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;	/* guards text/len against the HTTP thread */
	char *text;		/* the exposition last published */
	size_t len;
};

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, "%s%s %" PRIu64 "\n", name, labels ? labels : "", v);
}

int
metrics_render(FILE *f, const struct metrics_snapshot *m)
{
	const uint64_t *k = m->kern;

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
	if (m->sampler) {
		family(f, "bouncewall_smtp_sessions_total", "counter", "SMTP sessions parsed by the sampler.");
		sample(f, "bouncewall_smtp_sessions_total", NULL, m->smtp_sessions);
		family(f, "bouncewall_smtp_opaque_sessions_total", "counter", "Sessions that went STARTTLS.");
		sample(f, "bouncewall_smtp_opaque_sessions_total", NULL, m->smtp_opaque_sessions);
		family(f, "bouncewall_smtp_transactions_total", "counter",
		       "MAIL FROM transactions, by sender (null includes postmaster@/mailer-daemon@).");
		sample(f, "bouncewall_smtp_transactions_total", "{sender=\"null\"}", m->smtp_txn_null);
		sample(f, "bouncewall_smtp_transactions_total", "{sender=\"other\"}", m->smtp_txn_other);
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
	return ferror(f) ? -EIO : 0;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct metrics_server *s = cls;
	struct MHD_Response *resp;
	unsigned int status = MHD_HTTP_OK;
	enum MHD_Result ret;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "method not allowed\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		goto send;
	}
	if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "bouncewall: see /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = strcmp(url, "/") == 0 ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND;
		goto send;
	}
	pthread_mutex_lock(&s->lock);
	if (s->text)
		resp = MHD_create_response_from_buffer(s->len, s->text, MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!s->text)
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	pthread_mutex_unlock(&s->lock);
	if (resp)
		MHD_add_response_header(resp, "Content-Type",
					"text/plain; version=0.0.4; charset=utf-8");
send:
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
metrics_start(struct metrics_server **out, const char *listen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct metrics_server *s;
	char host[128], *port;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int ret;

	if (snprintf(host, sizeof(host), "%s", listen) >= (int)sizeof(host))
		return -EINVAL;
	port = strrchr(host, ':');
	if (!port)
		return -EINVAL;
	*port++ = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return -EINVAL;
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
	}
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret != 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, s,
				     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_LIMIT,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)8,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_CONN_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!s->daemon) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -EADDRNOTAVAIL;
	}
	*out = s;
	return 0;
}

int
metrics_publish(struct metrics_server *s, const struct metrics_snapshot *m)
{
	char *text = NULL, *old;
	size_t len = 0;
	FILE *f;

	if (!s)
		return 0;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	metrics_render(f, m);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	old = s->text;
	s->text = text;
	s->len = len;
	pthread_mutex_unlock(&s->lock);
	free(old);
	return 0;
}

void
metrics_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}
