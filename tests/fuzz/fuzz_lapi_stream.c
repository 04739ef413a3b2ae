/*
 * fuzz_lapi_stream.c - libFuzzer target: a body from the LAPI's decision
 * stream, cut into chunks as the network would, through the same reader
 * and mapping the agent runs; and the same bytes as a login answer and
 * as a Go duration.  The first byte picks the chunk size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lapi_alert.h"
#include "lapi_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(void *arg, bool deleted, enum lapi_verdict v, const struct lapi_decision *d)
{
	uint8_t masked[16];

	if (v != LAPI_OK)
		return;
	/* what reaches the kernel is a masked prefix with time left */
	if (d->cidr.plen > 128 || (!deleted && d->remaining_ms <= 0))
		abort();
	memcpy(masked, d->cidr.addr, 16);
	addr_mask(masked, d->cidr.plen);
	if (memcmp(masked, d->cidr.addr, 16) != 0 || strlen(d->origin) > LAPI_ORIGIN_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lapi_stream s;
	size_t step;
	char token[LAPI_TOKEN_MAX], dur[64];
	int64_t v, ids[4];

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	if (lapi_stream_init(&s, check, NULL) < 0)
		return 0;
	for (size_t i = 0; i < size; i += step)
		if (lapi_stream_feed(&s, (const char *)data + i,
				     size - i < step ? size - i : step) < 0)
			break;
	lapi_stream_end(&s);
	lapi_stream_free(&s);
	lapi_login_parse((const char *)data, size, token, sizeof(token), &v);
	lapi_alerts_parse_ids((const char *)data, size, ids, 4);
	lapi_alert_decision_id((const char *)data, size, &v);
	if (size < sizeof(dur)) {
		memcpy(dur, data, size);
		dur[size] = '\0';
		lapi_duration_parse(dur, &v);
		lapi_time_parse(dur, &v);
	}
	return 0;
}
