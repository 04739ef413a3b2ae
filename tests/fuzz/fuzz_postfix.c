/*
 * fuzz_postfix.c - libFuzzer target: bytes a Postfix policy client or a
 * socketmap client may send.  The first byte picks the protocol; the rest
 * is cut into requests the way the agent cuts them and each one judged
 * against a small ledger, as the agent does.  Nothing may crash, and every
 * judged bounce's answer must be one Postfix understands.
 */
#include <stdlib.h>
#include <string.h>

#include "bounce_check.h"
#include "ledger.h"
#include "netstring.h"
#include "policy_req.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bw_settings s;
static struct ledger *l;

static void
init(void)
{
	static const uint8_t seed[16] = { 1 };
	char err[BW_ERR_MAX];

	settings_defaults(&s);
	settings_set(&s, "protected_domains", "victim.example example.org", err, sizeof(err));
	settings_set(&s, "bounce_policy", "always", err, sizeof(err));
	l = ledger_new(64, seed);
	if (!l)
		abort();
	ledger_send(l, "alice@victim.example", 1700000000);
}

static void
policy(const char *p, size_t len, int batv)
{
	char err[BW_ERR_MAX], text[600];

	settings_set(&s, "batv_secret", batv ? "1:k 2:j" : "", err, sizeof(err));
	while (len) {
		size_t n = policy_request_len(p, len);
		struct policy_req r;
		struct bounce_judgement j;
		const char *why;

		if (!n)
			return;
		if (policy_parse(p, n, &r, &why) == 0) {
			struct bounce_input in = { r.sender, r.recipient, 1700000100, true, false };

			bounce_judge(&s, l, &in, &j);
			bounce_record(l, &j, in.now);
			bounce_action_text(&j, r.recipient, text, sizeof(text));
			if (strchr(text, '\n') || (j.action == POLICY_REJECT && strncmp(text, "550 ", 4)))
				abort();
		}
		p += n;
		len -= n;
	}
}

static void
socketmap(const char *p, size_t len)
{
	while (len) {
		const char *d;
		size_t dlen;
		long n = netstring_parse(p, len, 1024, &d, &dlen);

		if (n <= 0)
			return;
		if ((size_t)n > len || d < p || d + dlen > p + len)
			abort();
		p += n;
		len -= (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!l)
		init();
	if (size < 1 || size > POLICY_REQUEST_MAX * 2)
		return 0;
	if (data[0] & 1)
		socketmap((const char *)data + 1, size - 1);
	else
		policy((const char *)data + 1, size - 1, data[0] & 2);
	return 0;
}
