/*
 * test_smtp_parse.c - the SMTP dialogue parser on scripted dialogues:
 * commands split at every byte, pipelined batches, multi-line replies,
 * STARTTLS, bodies with command-like lines, BDAT, AUTH, over-long lines,
 * garbage, holes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_parse.h"

#define TXN_KEEP	8

struct rec {
	struct smtp_txn txn[TXN_KEEP];
	unsigned int n_txn;
	unsigned int starts, ends, opaque;
};

static void
rec_start(void *arg, const struct smtp_session *s)
{
	((struct rec *)arg)->starts++;
}

static void
rec_end(void *arg, const struct smtp_session *s)
{
	((struct rec *)arg)->ends++;
}

static void
rec_opaque(void *arg, const struct smtp_session *s)
{
	((struct rec *)arg)->opaque++;
}

static void
rec_txn(void *arg, struct smtp_txn *t)
{
	struct rec *r = arg;

	if (r->n_txn < TXN_KEEP)
		r->txn[r->n_txn] = *t;
	r->n_txn++;
}

static const struct smtp_hooks rec_hooks = {
	.session_start = rec_start,
	.session_end = rec_end,
	.session_opaque = rec_opaque,
	.txn = rec_txn,
};

/* One side of a scripted dialogue: 'C' client, 'S' server. */
struct step {
	char who;
	const char *text;
};

struct run {
	struct smtp_ctx ctx;
	struct smtp_session s;
	struct rec rec;
};

static void
run_init(struct run *r, bool saw_syn)
{
	struct smtp_peer peer;

	memset(r, 0, sizeof(*r));
	memset(&peer, 0, sizeof(peer));
	peer.client[10] = peer.client[11] = 0xff;
	peer.client[15] = 1;
	peer.client_port = 40000;
	peer.server_port = 25;
	r->ctx.hooks = &rec_hooks;
	r->ctx.arg = &r->rec;
	smtp_session_start(&r->ctx, &r->s, &peer, saw_syn, 1);
}

static void
feed(struct run *r, char who, const char *p, size_t len, size_t chunk)
{
	while (len) {
		size_t n = len < chunk ? len : chunk;

		if (who == 'C')
			smtp_client_data(&r->ctx, &r->s, (const uint8_t *)p, n, 2);
		else
			smtp_server_data(&r->ctx, &r->s, (const uint8_t *)p, n, 2);
		p += n;
		len -= n;
	}
}

/* Play a script, each step in pieces of `chunk` octets, then end. */
static void
play(struct run *r, const struct step *st, size_t n, size_t chunk)
{
	run_init(r, true);
	for (size_t i = 0; i < n; i++)
		feed(r, st[i].who, st[i].text, strlen(st[i].text), chunk);
	smtp_session_end(&r->ctx, &r->s, 3);
}

#define PLAY(r, script, chunk) play((r), (script), sizeof(script) / sizeof((script)[0]), (chunk))

static const struct step pipelined[] = {
	{ 'S', "220 mx.example.org ESMTP\r\n" },
	{ 'C', "EHLO client.example.net\r\n" },
	{ 'S', "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n" },
	{ 'C', "MAIL FROM:<> SIZE=1234\r\nRCPT TO:<alice@example.org>\r\n"
	       "RCPT TO:<x8f7q@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" },
	{ 'S', "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <x8f7q@example.org>: "
	       "Recipient address rejected: User unknown\r\n250 2.1.5 Ok\r\n354 go\r\n" },
	{ 'C', "From: MAILER-DAEMON\r\nSubject: Undelivered\r\n\r\n"
	       "MAIL FROM:<>\r\nRCPT TO:<evil@example.org>\r\n..leading dot\r\n.\r\n" },
	{ 'S', "250 2.0.0 Ok: queued\r\n" },
	{ 'C', "QUIT\r\n" },
	{ 'S', "221 2.0.0 Bye\r\n" },
};

static void
check_pipelined(const struct run *r)
{
	const struct smtp_stats *st = &r->ctx.stats;
	const struct smtp_txn *t = &r->rec.txn[0];

	assert_int_equal(st->sessions, 1);
	assert_int_equal(st->transactions, 1);
	assert_int_equal(st->null_sender, 1);
	assert_int_equal(st->rcpt_total, 3);
	assert_int_equal(st->rcpt_rejected, 1);
	assert_int_equal(st->rcpt_unknown, 1);
	assert_int_equal(st->replies, 9);
	assert_int_equal(st->replies_5xx, 1);
	assert_int_equal(st->malformed_lines, 0);
	assert_int_equal(st->unknown_commands, 0);
	assert_int_equal(r->rec.n_txn, 1);
	assert_true(t->sender_null);
	assert_string_equal(t->sender, "");
	assert_int_equal(t->mail_reply.code, 250);
	assert_int_equal(t->n_rcpt, 3);
	assert_int_equal(t->n_rcpt_accepted, 2);
	assert_int_equal(t->n_rcpt_rejected, 1);
	assert_int_equal(t->n_rcpt_unknown, 1);
	assert_int_equal(t->n_rcpt_kept, 3);
	assert_string_equal(t->rcpt[1].addr, "x8f7q@example.org");
	assert_int_equal(t->rcpt[1].reply.code, 550);
	assert_int_equal(t->rcpt[1].reply.cls, 5);
	assert_int_equal(t->rcpt[1].reply.subject, 1);
	assert_int_equal(t->rcpt[1].reply.detail, 1);
	assert_int_equal(t->rcpt[2].reply.code, 250);
	assert_string_equal(smtp_addr_domain(t->rcpt[2].addr), "example.org");
	assert_true(t->data_started);
	assert_int_equal(t->data_reply.code, 250);
	assert_int_equal(t->end, SMTP_TXN_END_DATA);
	assert_int_equal(r->rec.ends, 1);
}

/* Every chunk size from one octet up gives the same result. */
static void
pipelined_any_segmentation(void **state)
{
	struct run r;

	for (size_t chunk = 1; chunk <= 200; chunk++) {
		PLAY(&r, pipelined, chunk);
		check_pipelined(&r);
	}
}

/* Each step split in two at every octet. */
static void
split_at_every_byte(void **state)
{
	const size_t n = sizeof(pipelined) / sizeof(pipelined[0]);
	struct run r;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(pipelined[i].text);

		for (size_t cut = 0; cut <= len; cut++) {
			run_init(&r, true);
			for (size_t j = 0; j < n; j++) {
				const char *p = pipelined[j].text;
				size_t l = strlen(p);

				if (j == i) {
					feed(&r, pipelined[j].who, p, cut, SIZE_MAX);
					feed(&r, pipelined[j].who, p + cut, l - cut, SIZE_MAX);
				} else {
					feed(&r, pipelined[j].who, p, l, SIZE_MAX);
				}
			}
			smtp_session_end(&r.ctx, &r.s, 3);
			check_pipelined(&r);
		}
	}
}

static void
multiline_5xx_counts_once(void **state)
{
	static const struct step s[] = {
		{ 'S', "220-first\r\n220-second\r\n220 ready\r\n" },
		{ 'C', "DATA\r\n" },
		{ 'S', "503-All RCPT commands were rejected\r\n503-503 sender not yet given\r\n"
		       "503 valid RCPT command must precede DATA\r\n" },
		{ 'C', "Hello, Alice\r\n" },
		{ 'S', "500 unrecognized command\r\n" },
		{ 'C', "MAIL FROM:<bob@example.org>\r\n" },
		{ 'S', "250 OK\r\n" },
	};
	struct run r;

	PLAY(&r, s, SIZE_MAX);
	assert_int_equal(r.ctx.stats.replies, 4);
	assert_int_equal(r.ctx.stats.replies_5xx, 2);
	/* DATA was refused: the next line is a command, not a body */
	assert_int_equal(r.ctx.stats.unknown_commands, 1);
	assert_int_equal(r.ctx.stats.transactions, 1);
	assert_int_equal(r.rec.txn[0].mail_reply.code, 250);
	assert_string_equal(r.rec.txn[0].sender, "bob@example.org");
}

static void
starttls_makes_opaque(void **state)
{
	static const struct step s[] = {
		{ 'S', "220 mx ESMTP\r\n" },
		{ 'C', "EHLO a\r\n" },
		{ 'S', "250-mx\r\n250 STARTTLS\r\n" },
		{ 'C', "STARTTLS\r\n" },
		{ 'S', "220 2.0.0 Ready to start TLS\r\n" },
		{ 'C', "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\n" },
		{ 'S', "550 5.1.1 no\r\n" },
	};
	struct run r;

	PLAY(&r, s, 3);
	assert_int_equal(r.ctx.stats.opaque_sessions, 1);
	assert_int_equal(r.rec.opaque, 1);
	assert_int_equal(r.ctx.stats.transactions, 0);
	assert_int_equal(r.ctx.stats.rcpt_total, 0);
	assert_int_equal(r.ctx.stats.replies_5xx, 0);
	assert_int_equal(r.rec.ends, 1);
}

static void
starttls_refused_stays_clear(void **state)
{
	static const struct step s[] = {
		{ 'S', "220 mx ESMTP\r\n" },
		{ 'C', "STARTTLS\r\n" },
		{ 'S', "454 4.7.0 TLS not available\r\n" },
		{ 'C', "MAIL FROM:<>\r\n" },
		{ 'S', "250 ok\r\n" },
	};
	struct run r;

	PLAY(&r, s, SIZE_MAX);
	assert_int_equal(r.ctx.stats.opaque_sessions, 0);
	assert_int_equal(r.ctx.stats.null_sender, 1);
}

/* Client-only capture: the TLS ClientHello after STARTTLS gives it away. */
static void
starttls_one_sided(void **state)
{
	static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03MAIL FROM:<>\r\n";
	struct run r;

	run_init(&r, true);
	feed(&r, 'C', "EHLO a\r\nSTARTTLS\r\n", 18, SIZE_MAX);
	feed(&r, 'C', hello, sizeof(hello) - 1, SIZE_MAX);
	assert_int_equal(r.ctx.stats.opaque_sessions, 1);
	assert_int_equal(r.ctx.stats.transactions, 0);
}

static void
bdat_chunks_are_skipped(void **state)
{
	static const struct step s[] = {
		{ 'S', "220 mx\r\n" },
		{ 'C', "EHLO a\r\n" },
		{ 'S', "250 CHUNKING\r\n" },
		/* command, chunk and the next command in one segment */
		{ 'C', "MAIL FROM:<Mailer-Daemon@relay.example>\r\nRCPT TO:<u@example.org>\r\n"
		       "BDAT 29\r\nMAIL FROM:<>\r\nRCPT TO:<z@y>\r\nBDAT 17 LAST\r\nRCPT TO:<q@r>\r\n" },
		{ 'C', "\r\n" },
		{ 'S', "250 ok\r\n250 ok\r\n250 29 bytes\r\n250-17 byte chunk\r\n250 OK id=1\r\n" },
		{ 'C', "QUIT\r\n" },
		{ 'S', "221 bye\r\n" },
	};
	struct run r;

	for (size_t chunk = 1; chunk <= 64; chunk++) {
		PLAY(&r, s, chunk);
		assert_int_equal(r.ctx.stats.transactions, 1);
		assert_int_equal(r.ctx.stats.null_sender, 0);
		assert_int_equal(r.ctx.stats.bounce_sender, 1);
		assert_int_equal(r.ctx.stats.rcpt_total, 1);
		assert_int_equal(r.ctx.stats.unknown_commands, 0);
		assert_int_equal(r.rec.n_txn, 1);
		assert_true(r.rec.txn[0].sender_bounce);
		assert_true(smtp_txn_is_bounce(&r.rec.txn[0]));
		assert_int_equal(r.rec.txn[0].data_reply.code, 250);
		assert_int_equal(r.rec.txn[0].body_bytes, 46);
		assert_int_equal(r.rec.txn[0].end, SMTP_TXN_END_DATA);
	}
}

static void
auth_sasl_lines_are_not_commands(void **state)
{
	static const struct step s[] = {
		{ 'S', "220 mx\r\n" },
		{ 'C', "AUTH LOGIN\r\n" },
		{ 'S', "334 VXNlcm5hbWU6\r\n" },
		{ 'C', "UVVJVA==\r\n" },
		{ 'S', "334 UGFzc3dvcmQ6\r\n" },
		{ 'C', "RATA\r\n" },
		{ 'S', "235 2.7.0 ok\r\n" },
		{ 'C', "MAIL FROM:<postmaster@example.net>\r\n" },
		{ 'S', "250 ok\r\n" },
	};
	struct run r;

	PLAY(&r, s, 1);
	assert_int_equal(r.ctx.stats.unknown_commands, 0);
	assert_int_equal(r.ctx.stats.commands, 2);	/* AUTH, MAIL */
	assert_int_equal(r.ctx.stats.transactions, 1);
	assert_int_equal(r.ctx.stats.bounce_sender, 1);
	assert_int_equal(r.rec.txn[0].mail_reply.code, 250);
}

/* Without the server side, a non-base64 line ends the SASL exchange. */
static void
auth_one_sided(void **state)
{
	struct run r;
	static const char c[] = "AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nMAIL FROM:<a@b.c>\r\n";

	run_init(&r, true);
	feed(&r, 'C', c, sizeof(c) - 1, SIZE_MAX);
	assert_int_equal(r.ctx.stats.transactions, 1);
}

static void
overlong_line_is_counted_not_buffered(void **state)
{
	char line[2048];
	struct run r;

	memcpy(line, "EHLO ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	run_init(&r, true);
	feed(&r, 'S', "220 mx\r\n", 8, SIZE_MAX);
	feed(&r, 'C', line, sizeof(line), 100);
	feed(&r, 'C', "\r\nMAIL FROM:<>\r\n", 16, SIZE_MAX);
	feed(&r, 'S', "500 5.5.2 line too long\r\n250 ok\r\n", 33, SIZE_MAX);
	assert_int_equal(r.ctx.stats.malformed_lines, 1);
	assert_int_equal(r.ctx.stats.null_sender, 1);
	assert_int_equal(r.s.txn.mail_reply.code, 250);	/* paired correctly */

	/* at the limit: 510 octets + CRLF = 512 is fine, 511 + CRLF is not */
	run_init(&r, true);
	memset(line, 'y', sizeof(line));
	memcpy(line, "NOOP ", 5);
	feed(&r, 'C', line, SMTP_LINE_MAX - 2, SIZE_MAX);
	feed(&r, 'C', "\r\n", 2, SIZE_MAX);
	assert_int_equal(r.ctx.stats.malformed_lines, 0);
	feed(&r, 'C', line, SMTP_LINE_MAX - 1, SIZE_MAX);
	feed(&r, 'C', "\r\n", 2, SIZE_MAX);
	assert_int_equal(r.ctx.stats.malformed_lines, 1);
}

static void
overlong_reply_is_malformed(void **state)
{
	char line[SMTP_REPLY_MAX + 10];
	struct run r;

	memcpy(line, "550 ", 4);
	memset(line + 4, 'z', sizeof(line) - 4);
	run_init(&r, false);
	feed(&r, 'S', line, sizeof(line), 7);
	feed(&r, 'S', "\r\n550 short\r\n", 13, SIZE_MAX);
	assert_int_equal(r.ctx.stats.malformed_lines, 1);
	assert_int_equal(r.ctx.stats.replies_5xx, 1);
}

static void
garbage_does_not_crash(void **state)
{
	uint8_t junk[4096];
	uint32_t x = 12345;
	struct run r;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (uint8_t)(x >> 16);
	}
	run_init(&r, true);
	feed(&r, 'C', (const char *)junk, sizeof(junk), 97);
	feed(&r, 'S', (const char *)junk, sizeof(junk), 13);
	feed(&r, 'C', "\r\nRSET\r\n", 8, SIZE_MAX);
	smtp_session_end(&r.ctx, &r.s, 3);
	assert_int_equal(r.rec.ends, 1);
	assert_true(r.ctx.stats.malformed_lines > 0);
}

/* Client-only capture: no 354 ever comes; the body is skipped anyway. */
static void
one_sided_data_body(void **state)
{
	static const char c[] =
		"ehlo x\r\nmail FROM:<a@b.c> size=10\r\nrcpt TO:<d@e.f>\r\ndata\r\n"
		"MAIL FROM:<>\r\n.\r\nmail from:<g@h.i>\r\nrcpt to:<j@k.l>\r\n";
	struct run r;

	run_init(&r, true);
	feed(&r, 'C', c, sizeof(c) - 1, 5);
	assert_int_equal(r.ctx.stats.transactions, 2);
	assert_int_equal(r.ctx.stats.null_sender, 0);
	assert_int_equal(r.ctx.stats.rcpt_total, 2);
}

static void
bare_lf_and_odd_syntax(void **state)
{
	static const char c[] =
		"MAIL FROM: <a@b.c> \nRCPT TO: <d@e.f>\nDATA\n.\n"
		"MAIL FROM:<@relay.example:p@q.r>\nRCPT TO:Postmaster\n";
	struct run r;

	run_init(&r, false);
	feed(&r, 'C', c, sizeof(c) - 1, SIZE_MAX);
	smtp_session_end(&r.ctx, &r.s, 3);
	assert_int_equal(r.ctx.stats.transactions, 2);
	assert_int_equal(r.ctx.stats.rcpt_total, 2);
	assert_int_equal(r.rec.n_txn, 2);
	assert_string_equal(r.rec.txn[0].sender, "a@b.c");
	assert_string_equal(r.rec.txn[1].sender, "p@q.r");
	assert_string_equal(r.rec.txn[1].rcpt[0].addr, "Postmaster");
}

static void
reply_parse(void **state)
{
	struct smtp_code c;

	assert_int_equal(smtp_reply_parse("250-2.1.0 ok", 12, &c), 0);
	assert_int_equal(c.code, 250);
	assert_int_equal(c.cls, 2);
	assert_int_equal(c.subject, 1);
	assert_int_equal(c.detail, 0);
	assert_int_equal(smtp_reply_parse("550 5.1.1 <x>", 13, &c), 1);
	assert_int_equal(c.code, 550);
	assert_int_equal(c.detail, 1);
	assert_int_equal(smtp_reply_parse("250", 3, &c), 1);
	assert_int_equal(c.cls, 0);
	assert_int_equal(smtp_reply_parse("451 4.7.0", 9, &c), 1);
	assert_int_equal(c.cls, 4);
	assert_int_equal(smtp_reply_parse("550 5.1 x", 9, &c), 1);
	assert_int_equal(c.cls, 0);		/* not an enhanced code */
	assert_int_equal(smtp_reply_parse("4.7.0 [IPTS04] deferred", 23, &c), -1);
	assert_int_equal(smtp_reply_parse("2500 x", 6, &c), -1);
	assert_int_equal(smtp_reply_parse("650 x", 5, &c), -1);
	assert_int_equal(smtp_reply_parse("25", 2, &c), -1);
}

/* A hole in a command line: resync at the next line, misread nothing. */
static void
gap_resyncs(void **state)
{
	struct run r;

	run_init(&r, false);
	feed(&r, 'C', "MAIL FR", 7, SIZE_MAX);
	smtp_gap(&r.ctx, &r.s, true, 10, 2);
	feed(&r, 'C', "xample>\r\nRCPT TO:<a@b>\r\n", 24, SIZE_MAX);
	assert_int_equal(r.ctx.stats.gaps, 1);
	assert_int_equal(r.ctx.stats.transactions, 0);
	assert_int_equal(r.ctx.stats.rcpt_total, 1);
	assert_int_equal(r.ctx.stats.unknown_commands, 0);
}

/* The dot went missing in a hole; the final reply ends the body. */
static void
missed_dot(void **state)
{
	struct run r;

	run_init(&r, true);
	feed(&r, 'S', "220 mx\r\n", 8, SIZE_MAX);
	feed(&r, 'C', "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\n", 35, SIZE_MAX);
	feed(&r, 'S', "250 ok\r\n250 ok\r\n354 go\r\n", 24, SIZE_MAX);
	feed(&r, 'C', "body line\r\n", 11, SIZE_MAX);
	smtp_gap(&r.ctx, &r.s, true, 20, 2);
	feed(&r, 'S', "250 queued\r\n", 12, SIZE_MAX);
	feed(&r, 'C', "MAIL FROM:<c@d>\r\n", 17, SIZE_MAX);
	assert_int_equal(r.ctx.stats.missed_dot, 1);
	assert_int_equal(r.ctx.stats.transactions, 2);
	assert_int_equal(r.rec.n_txn, 1);
	assert_int_equal(r.rec.txn[0].data_reply.code, 250);
}

/* More commands in flight than the FIFO holds: counted, no mispairing
 * of the queued ones, nothing breaks. */
static void
pipeline_overflow(void **state)
{
	char buf[64];
	struct run r;
	int n;

	run_init(&r, false);
	feed(&r, 'C', "MAIL FROM:<>\r\n", 14, SIZE_MAX);
	for (int i = 0; i < 100; i++) {
		n = snprintf(buf, sizeof(buf), "RCPT TO:<u%d@example.org>\r\n", i);
		feed(&r, 'C', buf, (size_t)n, SIZE_MAX);
	}
	feed(&r, 'S', "250 ok\r\n", 8, SIZE_MAX);
	for (int i = 0; i < 100; i++)
		feed(&r, 'S', "550 5.1.1 unknown\r\n", 19, SIZE_MAX);
	smtp_session_end(&r.ctx, &r.s, 3);
	assert_int_equal(r.ctx.stats.rcpt_total, 100);
	assert_int_equal(r.ctx.stats.pipeline_overflow, 100 - (SMTP_PIPELINE_MAX - 1));
	assert_int_equal(r.ctx.stats.rcpt_rejected, SMTP_PIPELINE_MAX - 1);
	assert_int_equal(r.rec.txn[0].n_rcpt, 100);
	assert_int_equal(r.rec.txn[0].n_rcpt_kept, SMTP_TXN_RCPT_MAX);
	assert_int_equal(r.ctx.stats.replies_unsolicited, 0);
}

/* RSET pipelined after a transaction: it ends once its replies are in. */
static void
rset_waits_for_replies(void **state)
{
	struct run r;

	run_init(&r, false);
	feed(&r, 'C', "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRSET\r\n", 43, SIZE_MAX);
	assert_int_equal(r.rec.n_txn, 0);
	feed(&r, 'S', "250 ok\r\n550 5.1.1 no such user\r\n", 32, SIZE_MAX);
	assert_int_equal(r.rec.n_txn, 1);
	assert_int_equal(r.rec.txn[0].end, SMTP_TXN_END_RSET);
	assert_int_equal(r.rec.txn[0].n_rcpt_unknown, 1);
	feed(&r, 'S', "250 reset\r\n", 11, SIZE_MAX);
	assert_int_equal(r.ctx.stats.replies_unsolicited, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_any_segmentation),
		cmocka_unit_test(split_at_every_byte),
		cmocka_unit_test(multiline_5xx_counts_once),
		cmocka_unit_test(starttls_makes_opaque),
		cmocka_unit_test(starttls_refused_stays_clear),
		cmocka_unit_test(starttls_one_sided),
		cmocka_unit_test(bdat_chunks_are_skipped),
		cmocka_unit_test(auth_sasl_lines_are_not_commands),
		cmocka_unit_test(auth_one_sided),
		cmocka_unit_test(overlong_line_is_counted_not_buffered),
		cmocka_unit_test(overlong_reply_is_malformed),
		cmocka_unit_test(garbage_does_not_crash),
		cmocka_unit_test(one_sided_data_body),
		cmocka_unit_test(bare_lf_and_odd_syntax),
		cmocka_unit_test(reply_parse),
		cmocka_unit_test(gap_resyncs),
		cmocka_unit_test(missed_dot),
		cmocka_unit_test(pipeline_overflow),
		cmocka_unit_test(rset_waits_for_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
