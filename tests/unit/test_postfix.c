/*
 * test_postfix.c - the pure parts of the Postfix integration: policy
 * requests, netstrings, the sent ledger and the per-message judgement of a
 * bounce (with BATV key rings and without).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batv.h"
#include "bounce_check.h"
#include "ledger.h"
#include "netstring.h"
#include "policy_req.h"
#include "settings.h"

#define DAY	86400ull
#define T0	(20000 * DAY + 3600)	/* 2024-10-04 01:00 UTC */

static const uint8_t seed[16] = { 7, 7, 7 };

static const char rcpt_req[] =
	"request=smtpd_access_policy\n"
	"protocol_state=RCPT\n"
	"protocol_name=ESMTP\n"
	"client_address=192.0.2.10\n"
	"client_name=mx.example.net\n"
	"helo_name=mx.example.net\n"
	"sender=\n"
	"recipient=alice@victim.example\n"
	"recipient_count=0\n"
	"queue_id=\n"
	"instance=1a2b.5f3e.1\n"
	"size=0\n"
	"encryption_protocol=TLSv1.3\n"
	"encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	"encryption_keysize=256\n"
	"a_future_attribute=whatever\n"
	"\n";

static void
policy_request_framing_and_fields(void **state)
{
	struct policy_req r;
	const char *why;
	size_t n = policy_request_len(rcpt_req, strlen(rcpt_req));
	char two[2 * sizeof(rcpt_req)];

	assert_int_equal(n, strlen(rcpt_req));
	/* Every proper prefix is incomplete. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(policy_request_len(rcpt_req, k), 0);
	assert_int_equal(policy_parse(rcpt_req, n, &r, &why), 0);
	assert_string_equal(r.protocol_state, "RCPT");
	assert_string_equal(r.client_address, "192.0.2.10");
	assert_string_equal(r.sender, "");
	assert_string_equal(r.recipient, "alice@victim.example");
	assert_string_equal(r.encryption_protocol, "TLSv1.3");
	assert_string_equal(r.instance, "1a2b.5f3e.1");
	/* Newer Postfix attributes are counted, not fatal. */
	assert_int_equal(r.unknown, 1);
	assert_string_equal(r.first_unknown, "a_future_attribute");

	/* Two requests back to back: the first is measured alone. */
	snprintf(two, sizeof(two), "%s%s", rcpt_req, rcpt_req);
	assert_int_equal(policy_request_len(two, strlen(two)), n);
	/* An empty request (a stray blank line) is a request, and malformed. */
	assert_int_equal(policy_request_len("\n", 1), 1);
	assert_int_equal(policy_parse("\n", 1, &r, &why), -EINVAL);
}

static void
policy_request_malformed(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *why;
	} bad[] = {
		{ "request=smtpd_access_policy\nno equals sign\n\n", 0, "name=value" },
		{ "request=smtpd_access_policy\n=value\n\n", 0, "name=value" },
		{ "request=something_else\nprotocol_state=RCPT\n\n", 0, "smtpd_access_policy" },
		{ "protocol_state=RCPT\n\n", 0, "smtpd_access_policy" },
		{ "request=smtpd_access_policy\nsender=a\0b\n\n", 41, "NUL" },
	};
	char big[POLICY_ADDR_MAX + 80];
	struct policy_req r;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);

		assert_int_equal(policy_parse(bad[i].text, len, &r, &why), -EINVAL);
		assert_non_null(strstr(why, bad[i].why));
	}
	/* A recipient longer than any address: refused, never cut. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "request=smtpd_access_policy\nrecipient=", 38);
	memcpy(big + sizeof(big) - 3, "\n\n", 2);
	assert_int_equal(policy_parse(big, sizeof(big) - 1, &r, &why), -EINVAL);
	assert_string_equal(why, "value too long");
}

static void
netstrings(void **state)
{
	const char *data;
	size_t dlen;
	char out[64];

	assert_int_equal(netstring_parse("5:hello,", 8, 100, &data, &dlen), 8);
	assert_int_equal(dlen, 5);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(netstring_parse("0:,", 3, 100, &data, &dlen), 3);
	assert_int_equal(dlen, 0);
	/* Incomplete at every cut. */
	for (size_t k = 0; k < 8; k++)
		assert_int_equal(netstring_parse("5:hello,", k, 100, &data, &dlen), 0);
	assert_int_equal(netstring_parse("5:hello!", 8, 100, &data, &dlen), -EINVAL);
	assert_int_equal(netstring_parse(":x,", 3, 100, &data, &dlen), -EINVAL);
	assert_int_equal(netstring_parse("05:hello,", 9, 100, &data, &dlen), -EINVAL);
	assert_int_equal(netstring_parse("5x", 2, 100, &data, &dlen), -EINVAL);
	assert_int_equal(netstring_parse("200:", 4, 100, &data, &dlen), -E2BIG);
	assert_int_equal(netstring_parse("123456", 6, 100, &data, &dlen), -E2BIG);
	assert_int_equal(netstring_format(out, sizeof(out), "OK x", 4), 7);
	assert_string_equal(out, "4:OK x,");
	assert_int_equal(netstring_format(out, 5, "OK x", 4), -ENOSPC);
}

static void
ledger_window_budget_and_eviction(void **state)
{
	struct ledger *l = ledger_new(16, seed);
	struct ledger_view v;
	struct ledger_stats st;
	uint64_t w = 7 * DAY;
	char addr[64];

	assert_non_null(l);
	ledger_set_window(l, w);
	assert_int_equal(ledger_check(l, "alice@victim.example", T0, 2), LEDGER_NO_SEND);
	assert_int_equal(ledger_send(l, "Alice@Victim.Example", T0), 0);
	/* Case does not matter; a send allows budget bounces. */
	assert_int_equal(ledger_check(l, "alice@victim.example", T0 + 60, 2), LEDGER_PLAUSIBLE);
	ledger_bounce(l, "alice@victim.example", T0 + 60);
	ledger_bounce(l, "alice@victim.example", T0 + 61);
	assert_int_equal(ledger_check(l, "alice@victim.example", T0 + 62, 2),
			 LEDGER_OVER_BUDGET);
	assert_int_equal(ledger_lookup(l, "alice@victim.example", T0 + 62, &v), 0);
	assert_int_equal(v.sends, 1);
	assert_int_equal(v.bounces, 2);
	/* Past the window, it is as if nothing was sent. */
	assert_int_equal(ledger_check(l, "alice@victim.example", T0 + w + DAY, 2),
			 LEDGER_NO_SEND);
	/* Not addresses. */
	assert_int_equal(ledger_send(l, "no-at-sign", T0), -EINVAL);
	assert_int_equal(ledger_send(l, "@victim.example", T0), -EINVAL);
	assert_int_equal(ledger_send(l, "a b@victim.example", T0), -EINVAL);
	/* Bounded: 40 addresses through 16 slots, the least recent go. */
	for (int i = 0; i < 40; i++) {
		snprintf(addr, sizeof(addr), "user%d@victim.example", i);
		ledger_send(l, addr, T0 + (uint64_t)i);
	}
	ledger_get_stats(l, &st);
	assert_int_equal(st.addresses, 16);
	assert_int_equal(st.evictions, 40 + 1 - 16);
	assert_int_equal(ledger_check(l, "user39@victim.example", T0 + 40, 2), LEDGER_PLAUSIBLE);
	assert_int_equal(ledger_check(l, "user0@victim.example", T0 + 40, 2), LEDGER_NO_SEND);
	ledger_free(l);
}

static void
ledger_text_round_trip(void **state)
{
	struct ledger *l = ledger_new(64, seed), *back = ledger_new(64, seed);
	struct ledger_view v;
	char *text = NULL, *line, *save;
	size_t len = 0;
	FILE *f;

	ledger_set_window(l, 7 * DAY);
	ledger_set_window(back, 7 * DAY);
	ledger_send(l, "alice@victim.example", T0);
	ledger_send(l, "alice@victim.example", T0 + 10);
	ledger_bounce(l, "alice@victim.example", T0 + 20);
	ledger_send(l, "bob@victim.example", T0 + 30);
	f = open_memstream(&text, &len);
	assert_int_equal(ledger_format(l, T0 + 100, f), 0);
	fclose(f);
	assert_non_null(strstr(text, LEDGER_TEXT_HEADER));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_true(ledger_parse_line(back, line, strlen(line), T0 + 100) >= 0);
	assert_int_equal(ledger_lookup(back, "alice@victim.example", T0 + 100, &v), 0);
	assert_int_equal(v.sends, 2);
	assert_int_equal(v.bounces, 1);
	assert_int_equal(v.last_send, T0 + 10);
	/* Lines that are not ours, or lie about the time. */
	assert_int_equal(ledger_parse_line(back, "x 1 1 1", 7, T0), -EINVAL);
	assert_int_equal(ledger_parse_line(back, "a@b 1 0 99999999999 0", 21, T0), -EINVAL);
	assert_int_equal(ledger_parse_line(back, "a@b 1 0 5 0 extra", 17, T0), -EINVAL);
	assert_int_equal(ledger_parse_line(back, "# comment", 9, T0), 1);
	free(text);
	ledger_free(l);
	ledger_free(back);
}

static void
settings_for(struct bw_settings *s, const char *batv, const char *policy)
{
	char err[BW_ERR_MAX];

	settings_defaults(s);
	assert_int_equal(settings_set(s, "protected_domains", "victim.example", err, sizeof(err)), 0);
	assert_int_equal(settings_set(s, "batv_secret", batv, err, sizeof(err)), 0);
	assert_int_equal(settings_set(s, "bounce_policy", policy, err, sizeof(err)), 0);
}

static void
judge_one(const struct bw_settings *s, const struct ledger *l, const char *sender,
	  const char *rcpt, bool storm, bool throttled, struct bounce_judgement *j)
{
	struct bounce_input in = { sender, rcpt, T0, storm, throttled };

	bounce_judge(s, l, &in, j);
}

/* With BATV: a tag signed with either key of the ring checks; untagged,
 * forged or expired ones are unverifiable and refused per the policy. */
static void
judge_with_batv_key_ring(void **state)
{
	struct bw_settings s;
	struct ledger *l = ledger_new(64, seed);
	struct bounce_judgement j;
	char old[BATV_SIGNED_MAX], cur[BATV_SIGNED_MAX], text[600];

	settings_for(&s, "2:new-key 1:old-key", "always");
	/* Last week's mail was signed with the old key (digit 1). */
	assert_true(batv_sign("old-key", 7, 1, "alice@victim.example", 20000 - 3, old,
			      sizeof(old)) > 0);
	assert_true(batv_sign("new-key", 7, 2, "alice@victim.example", 20000, cur,
			      sizeof(cur)) > 0);
	judge_one(&s, l, "", old, false, false, &j);
	assert_int_equal(j.verdict, BOUNCE_TAGGED);
	assert_int_equal(j.action, POLICY_DUNNO);
	assert_string_equal(j.original, "alice@victim.example");
	judge_one(&s, l, "MAILER-DAEMON@mx.example.net", cur, false, false, &j);
	assert_int_equal(j.verdict, BOUNCE_TAGGED);
	/* The old key's tag with the new key's digit: forged. */
	old[5] = '2';
	judge_one(&s, l, "", old, false, false, &j);
	assert_int_equal(j.verdict, BOUNCE_UNVERIFIABLE);
	assert_int_equal(j.why, BOUNCE_WHY_BAD_TAG);
	assert_int_equal(j.action, POLICY_REJECT);
	bounce_action_text(&j, old, text, sizeof(text));
	assert_memory_equal(text, "550 5.7.1 <prvs=", 16);
	/* A digit no key has. */
	old[5] = '7';
	judge_one(&s, l, "", old, false, false, &j);
	assert_int_equal(j.why, BOUNCE_WHY_BAD_TAG);
	/* The joe-job: a bounce to the real, untagged user. */
	judge_one(&s, l, "", "alice@victim.example", false, false, &j);
	assert_int_equal(j.verdict, BOUNCE_UNVERIFIABLE);
	assert_int_equal(j.why, BOUNCE_WHY_NO_TAG);
	assert_int_equal(j.action, POLICY_REJECT);
	/* Expired: signed 30 days ago. */
	assert_true(batv_sign("new-key", 7, 2, "alice@victim.example", 20000 - 30, cur,
			      sizeof(cur)) > 0);
	judge_one(&s, l, "", cur, false, false, &j);
	assert_int_equal(j.why, BOUNCE_WHY_EXPIRED_TAG);
	/* Not a bounce, or not to us: never judged. */
	judge_one(&s, l, "bob@example.net", "alice@victim.example", true, true, &j);
	assert_int_equal(j.verdict, BOUNCE_NOT);
	assert_int_equal(j.action, POLICY_DUNNO);
	judge_one(&s, l, "", "someone@elsewhere.example", true, false, &j);
	assert_int_equal(j.verdict, BOUNCE_NOT);
	ledger_free(l);
}

/* Without BATV: the ledger; and bounce_policy's three settings. */
static void
judge_with_ledger_and_policies(void **state)
{
	struct bw_settings s;
	struct ledger *l = ledger_new(64, seed);
	struct bounce_judgement j;

	settings_for(&s, "", "storm");
	ledger_set_window(l, s.sent_window);
	ledger_send(l, "carol@victim.example", T0 - DAY);
	judge_one(&s, l, "", "carol@victim.example", true, false, &j);
	assert_int_equal(j.verdict, BOUNCE_PLAUSIBLE);
	assert_int_equal(j.action, POLICY_DUNNO);
	bounce_record(l, &j, T0);
	judge_one(&s, l, "", "carol@victim.example", true, false, &j);
	bounce_record(l, &j, T0);
	/* Budget 2 per send, used up: the third is unverifiable. */
	judge_one(&s, l, "", "carol@victim.example", true, false, &j);
	assert_int_equal(j.verdict, BOUNCE_UNVERIFIABLE);
	assert_int_equal(j.why, BOUNCE_WHY_OVER_BUDGET);
	assert_int_equal(j.action, POLICY_REJECT);
	/* Storm policy: refused only while a storm is declared. */
	judge_one(&s, l, "", "dave@victim.example", true, false, &j);
	assert_int_equal(j.why, BOUNCE_WHY_NO_SEND);
	assert_int_equal(j.action, POLICY_REJECT);
	judge_one(&s, l, "", "dave@victim.example", false, false, &j);
	assert_int_equal(j.action, POLICY_DUNNO);
	/* ... but a throttled source's bounce is deferred. */
	judge_one(&s, l, "", "dave@victim.example", false, true, &j);
	assert_int_equal(j.action, POLICY_DEFER);
	/* score: never refused per message. */
	settings_for(&s, "", "score");
	judge_one(&s, l, "", "dave@victim.example", true, false, &j);
	assert_int_equal(j.verdict, BOUNCE_UNVERIFIABLE);
	assert_int_equal(j.action, POLICY_DUNNO);
	/* always: refused in calm weather too. */
	settings_for(&s, "", "always");
	judge_one(&s, l, "", "dave@victim.example", false, false, &j);
	assert_int_equal(j.action, POLICY_REJECT);
	/* Without protected domains nothing is ours to vouch for. */
	settings_defaults(&s);
	judge_one(&s, l, "", "dave@victim.example", true, false, &j);
	assert_int_equal(j.verdict, BOUNCE_NOT);
	ledger_free(l);
}

static void
bounce_senders(void **state)
{
	assert_true(bounce_sender(""));
	assert_true(bounce_sender("MAILER-DAEMON@mx.example.net"));
	assert_true(bounce_sender("postmaster@example.net"));
	assert_false(bounce_sender("postmaster"));
	assert_false(bounce_sender("postmasters@example.net"));
	assert_false(bounce_sender("alice@example.net"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_request_framing_and_fields),
		cmocka_unit_test(policy_request_malformed),
		cmocka_unit_test(netstrings),
		cmocka_unit_test(ledger_window_budget_and_eviction),
		cmocka_unit_test(ledger_text_round_trip),
		cmocka_unit_test(judge_with_batv_key_ring),
		cmocka_unit_test(judge_with_ledger_and_policies),
		cmocka_unit_test(bounce_senders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
