/*
 * smtp_reply.c - the server side of the SMTP dialogue parser: reply lines
 * as they stream by (a short prefix of each kept), each final reply paired
 * with the oldest command waiting for one (smtp_parse.h).
 */
#include <string.h>

#include "smtp_int.h"
#include "smtp_parse.h"

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ----- server side ---------------------------------------------------- */

/* "d.ddd.ddd" at l (len): fill cls/subject/detail; false if not one. */
static bool
parse_enhanced(const char *l, size_t len, struct smtp_code *c)
{
	unsigned int part[3] = { 0, 0, 0 };
	size_t i = 0;

	for (int k = 0; k < 3; k++) {
		size_t nd = 0;

		while (i < len && is_digit(l[i]) && nd < 3) {
			part[k] = part[k] * 10 + (unsigned int)(l[i] - '0');
			i++;
			nd++;
		}
		if (nd == 0 || (k == 0 && nd != 1))
			return false;
		if (k < 2) {
			if (i >= len || l[i] != '.')
				return false;
			i++;
		}
	}
	if (i < len && l[i] != ' ')
		return false;
	if (part[0] < 2 || part[0] > 5)
		return false;
	c->cls = (uint8_t)part[0];
	c->subject = (uint8_t)(part[1] > 255 ? 255 : part[1]);
	c->detail = (uint16_t)part[2];
	return true;
}

int
smtp_reply_parse(const char *l, size_t len, struct smtp_code *c)
{
	memset(c, 0, sizeof(*c));
	if (len < 3 || l[0] < '2' || l[0] > '5' || !is_digit(l[1]) ||
	    !is_digit(l[2]))
		return -1;
	if (len > 3 && l[3] != ' ' && l[3] != '-')
		return -1;
	c->code = (uint16_t)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
	if (len > 4)
		parse_enhanced(l + 4, len - 4, c);
	return (len > 3 && l[3] == '-') ? 0 : 1;
}

/* A complete reply: pair it with the command it answers and act. */
/* A reply nothing was waiting for.  In a body whose dot we missed it
 * answers that dot; fills *p and returns true then. */
static bool
unsolicited_reply(struct smtp_ctx *ctx, struct smtp_session *s, struct smtp_pending *p)
{
	ctx->stats.replies_unsolicited++;
	if (s->cstate != SMTP_C_BODY)
		return false;
	ctx->stats.missed_dot++;
	s->cstate = SMTP_C_CMD;	/* the client waits: a new line */
	s->body = SMTP_BODY_BOL;
	p->cmd = SMTP_CMD_DOT;
	p->rcpt_idx = 0xff;
	p->txn_gen = smtp_txn_accepting(s) ? s->txn_gen : 0;
	if (p->txn_gen)
		s->txn_pending++;
	return true;
}

/* Our server's answer to one RCPT (mine: of the open transaction). */
static void
rcpt_reply(struct smtp_ctx *ctx, struct smtp_session *s, const struct smtp_pending *p,
	   const struct smtp_code *c, bool mine)
{
	struct smtp_txn *t = &s->txn;
	bool unknown = c->code >= 500 && c->cls == 5 && c->subject == 1;

	if (c->code >= 500) {
		ctx->stats.rcpt_rejected++;
		ctx->stats.rcpt_unknown += unknown;
	}
	if (!mine)
		return;
	if (p->rcpt_idx < SMTP_TXN_RCPT_MAX)
		t->rcpt[p->rcpt_idx].reply = *c;
	if (c->code >= 500) {
		t->n_rcpt_rejected++;
		t->n_rcpt_unknown += unknown;
	} else if (c->code >= 400) {
		t->n_rcpt_tempfail++;
	} else if (c->code < 300) {
		t->n_rcpt_accepted++;
	}
}

/* The answer to DATA: 354 starts the body; anything else refuses it. */
static void
data_reply(struct smtp_session *s, const struct smtp_code *c, bool mine)
{
	if (c->code / 100 == 3) {
		if (mine)
			s->txn.data_started = true;
		return;
	}
	if (mine)
		s->txn.data_reply = *c;
	if (s->cstate == SMTP_C_BODY) {	/* refused: no body follows */
		if (s->body != SMTP_BODY_BOL)
			s->cdiscard = true;
		s->cstate = SMTP_C_CMD;
		s->body = SMTP_BODY_BOL;
	}
}

/* The final answer to a message (its dot, or BDAT LAST). */
static void
message_reply(struct smtp_session *s, const struct smtp_code *c, bool mine)
{
	if (!mine)
		return;
	s->txn.data_reply = *c;
	if (!s->txn_closing) {
		s->txn_closing = true;
		s->txn_end = SMTP_TXN_END_DATA;
	}
}

static void
auth_reply(struct smtp_session *s, const struct smtp_code *c)
{
	if (c->code == 334) {
		if (s->cstate == SMTP_C_CMD && s->clen == 0)
			s->cstate = SMTP_C_AUTH;
	} else if (s->cstate == SMTP_C_AUTH) {
		s->cstate = SMTP_C_CMD;
	}
}

/* One whole reply, paired with the oldest command waiting for one. */
static void
server_reply(struct smtp_ctx *ctx, struct smtp_session *s,
	     const struct smtp_code *c, uint64_t now)
{
	struct smtp_pending p;
	bool mine;

	s->n_replies++;
	ctx->stats.replies++;
	if (c->code >= 500)
		ctx->stats.replies_5xx++;
	else if (c->code >= 400)
		ctx->stats.replies_4xx++;
	if (!smtp_fifo_pop(s, &p) && !unsolicited_reply(ctx, s, &p))
		return;
	mine = s->txn_open && p.txn_gen && p.txn_gen == s->txn_gen;

	switch (p.cmd) {
	case SMTP_CMD_MAIL:
		if (mine)
			s->txn.mail_reply = *c;
		break;
	case SMTP_CMD_RCPT:
		rcpt_reply(ctx, s, &p, c, mine);
		break;
	case SMTP_CMD_DATA:
		data_reply(s, c, mine);
		break;
	case SMTP_CMD_BDAT:
		if (mine && c->code >= 400)
			s->txn.data_reply = *c;
		break;
	case SMTP_CMD_DOT:
	case SMTP_CMD_BDAT_LAST:
		message_reply(s, c, mine);
		break;
	case SMTP_CMD_AUTH:
	case SMTP_CMD_SASL:
		auth_reply(s, c);
		break;
	case SMTP_CMD_STARTTLS:
		if (c->code / 100 == 2)
			smtp_go_opaque(ctx, s, now);
		break;
	default:
		break;
	}
	if (mine && s->txn_open && s->txn_pending) {
		s->txn_pending--;
		if (s->txn_closing && s->txn_pending == 0)
			smtp_txn_emit(ctx, s, s->txn_end, now);
	}
}

/* One complete server line: its first `kept` octets (terminator
 * stripped) are in s->sline. */
static void
server_line(struct smtp_ctx *ctx, struct smtp_session *s, size_t kept,
	    uint64_t now)
{
	struct smtp_code c;
	int r;

	r = smtp_reply_parse(s->sline, kept, &c);
	if (r < 0) {
		s->n_malformed++;
		ctx->stats.malformed_lines++;
		return;
	}
	if (r == 0) {
		if (!s->in_multiline) {
			s->in_multiline = true;
			s->multi_first = c;
		}
		return;
	}
	if (s->in_multiline) {
		if (!c.cls && s->multi_first.cls) {
			c.cls = s->multi_first.cls;
			c.subject = s->multi_first.subject;
			c.detail = s->multi_first.detail;
		}
		s->in_multiline = false;
	}
	server_reply(ctx, s, &c, now);
}

void
smtp_server_data(struct smtp_ctx *ctx, struct smtp_session *s,
		 const uint8_t *data, size_t len, uint64_t now)
{
	if (s->state != SMTP_S_OPEN)
		return;
	s->ts_last = now;
	smtp_session_count(ctx, s, len);
	while (len > 0 && s->state == SMTP_S_OPEN) {
		const uint8_t *lf = memchr(data, '\n', len);
		size_t take = lf ? (size_t)(lf - data) + 1 : len;
		size_t body = lf ? take - 1 : take;

		if (!s->sdiscard) {
			if (s->slen < SMTP_REPLY_KEEP) {
				size_t room = SMTP_REPLY_KEEP - s->slen;
				size_t n = body < room ? body : room;

				memcpy(s->sline + s->slen, data, n);
			}
			if (s->slen + body + 1 > SMTP_REPLY_MAX) {
				/* over-long: count once, drop to its LF */
				s->sdiscard = true;
				s->n_malformed++;
				ctx->stats.malformed_lines++;
			} else {
				s->slen = (uint16_t)(s->slen + body);
			}
		}
		if (lf) {
			if (!s->sdiscard) {
				size_t kept = s->slen < SMTP_REPLY_KEEP ?
					      s->slen : SMTP_REPLY_KEEP;

				/* a CR past the kept prefix does not matter */
				if (kept && kept == s->slen &&
				    s->sline[kept - 1] == '\r')
					kept--;
				server_line(ctx, s, kept, now);
			}
			s->slen = 0;
			s->sdiscard = false;
		}
		data += take;
		len -= take;
	}
}

