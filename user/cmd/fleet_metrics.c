/*
 * fleet_metrics.c - the fleet client's Prometheus families (fleet.h),
 * rendered through metrics.c's hook after the agent's own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fleet_int.h"
#include "metrics.h"

static const char *const op_names[FLEET_OP_MAX] = { "pull", "push", "login" };

void
fleet_render_metrics(FILE *out, const void *arg)
{
	const struct fleet *f = arg;
	static const char *const ignored[FLEET_IGNORED_MAX] = {
		[LAPI_SKIP_TYPE] = "type", [LAPI_SKIP_SCOPE] = "scope",
		[LAPI_SKIP_WIDE] = "too_wide", [LAPI_SKIP_EXPIRED] = "expired",
		[LAPI_INVALID] = "invalid", [FLEET_IGNORED_REFUSED] = "refused",
	};
	size_t pushed_in_force = 0;

	metrics_family(out, "bouncewall_crowdsec_decisions", "gauge",
		       "LAPI ban decisions of addresses and ranges in force, by their origin.");
	if (!f->bouncer)
		for (size_t i = 0; i < f->ledger.n; i++)
			pushed_in_force += f->ledger.v[i].state == FLEET_PUSHED;
	for (unsigned int i = 0; i < f->lapi.n_origins; i++)
		fprintf(out, "bouncewall_crowdsec_decisions{origin=\"%s\"} %zu\n",
			f->lapi.origins[i], f->lapi.per_origin[i] +
			(strcmp(f->lapi.origins[i], LAPI_ORIGIN_BOUNCEWALL) ? 0 : pushed_in_force));
	metrics_family(out, "bouncewall_crowdsec_errors_total", "counter",
		       "Failed calls to the LAPI, by operation.");
	for (int i = 0; i < FLEET_OP_MAX; i++)
		fprintf(out, "bouncewall_crowdsec_errors_total{op=\"%s\"} %" PRIu64 "\n",
			op_names[i], f->errors[i]);
	metrics_family(out, "bouncewall_crowdsec_pulls_total", "counter",
		       "Decision stream pulls that succeeded.");
	fprintf(out, "bouncewall_crowdsec_pulls_total %" PRIu64 "\n", f->pulls);
	metrics_family(out, "bouncewall_crowdsec_last_pull_timestamp_seconds", "gauge",
		       "When the last pull succeeded, unix seconds (0: never).");
	fprintf(out, "bouncewall_crowdsec_last_pull_timestamp_seconds %" PRIu64 "\n",
		f->last_pull_ok);
	metrics_family(out, "bouncewall_crowdsec_decisions_applied_total", "counter",
		       "LAPI decisions written as kernel blocks.");
	fprintf(out, "bouncewall_crowdsec_decisions_applied_total %" PRIu64 "\n", f->applied);
	metrics_family(out, "bouncewall_crowdsec_decisions_lifted_total", "counter",
		       "Kernel blocks lifted because the LAPI deleted their decision.");
	fprintf(out, "bouncewall_crowdsec_decisions_lifted_total %" PRIu64 "\n", f->lifted);
	metrics_family(out, "bouncewall_crowdsec_decisions_suppressed_total", "counter",
		       "LAPI decisions the allowlist overrode.");
	fprintf(out, "bouncewall_crowdsec_decisions_suppressed_total %" PRIu64 "\n",
		f->suppressed);
	metrics_family(out, "bouncewall_crowdsec_decisions_ignored_total", "counter",
		       "LAPI decisions not enforced, by reason.");
	for (int i = 1; i < FLEET_IGNORED_MAX; i++)
		fprintf(out, "bouncewall_crowdsec_decisions_ignored_total{reason=\"%s\"} %" PRIu64
			"\n", ignored[i], f->ignored[i]);
	metrics_family(out, "bouncewall_crowdsec_pushed_total", "counter",
		       "Blocks pushed to the LAPI, one alert with one decision each.");
	fprintf(out, "bouncewall_crowdsec_pushed_total %" PRIu64 "\n", f->pushed);
	metrics_family(out, "bouncewall_crowdsec_push_dropped_total", "counter",
		       "Blocks never pushed: queue full, refused by the LAPI, or expired first.");
	fprintf(out, "bouncewall_crowdsec_push_dropped_total %" PRIu64 "\n", f->push_dropped);
	metrics_family(out, "bouncewall_crowdsec_push_queue", "gauge",
		       "Blocks waiting to be pushed.");
	fprintf(out, "bouncewall_crowdsec_push_queue %zu\n", f->q_len);
	metrics_family(out, "bouncewall_crowdsec_retracted_total", "counter",
		       "Pushed blocks the operator deleted here whose LAPI decision was deleted.");
	fprintf(out, "bouncewall_crowdsec_retracted_total %" PRIu64 "\n", f->retracted);
}
