/*
 * smtp_parse.c - the SMTP dialogue parser (smtp_parse.h).
 *
 * Two byte streams per session.  Client octets are command lines, a DATA
 * body, a BDAT chunk or SASL lines, as enum smtp_cstate says: this file.
 * Server octets are reply lines, scanned as they stream by: smtp_reply.c.
 * A FIFO of commands awaiting replies pairs each final reply line with the
 * command it answers, which is what PIPELINING needs.
 *
 * Commands go through a table: the verb selects an entry, the entry's
 * check function validates the arguments into struct smtp_args, and
 * client_act() then acts on the result.  Nothing here allocates, nothing is
 * static and writable: all state is in struct smtp_session and smtp_ctx.
 *
 * Where the two streams disagree with the protocol (one-sided captures,
 * holes, clients that do not wait), the parser chooses what the server
 * would have done and counts what it could not follow:
 *  - DATA enters the body at once (a client-only capture never shows the
 *    354); a non-354 reply to DATA puts the client back to commands.
 *  - AUTH expects SASL lines at once; a reply other than 334 ends that,
 *    and so does a line that cannot be base64.
 *  - A server reply while the client is in a DATA body that has already
 *    had its 354 means the dot was missed: the body is over (missed_dot).
 */
#include <string.h>

#include "smtp_int.h"
#include "smtp_parse.h"

/* Arguments a check function extracted from a command line. */
struct smtp_args {
	char addr[SMTP_ADDR_KEEP];
	bool addr_truncated;
	bool addr_null;		/* "<>" */
	bool addr_missing;	/* no path at all */
	uint64_t bdat_size;
	bool bdat_last;
};

typedef int (*smtp_check_fn)(const char *arg, size_t len,
			     struct smtp_args *a);

struct smtp_cmd_desc {
	const char *verb;
	enum smtp_cmd cmd;
	smtp_check_fn check;	/* NULL: any arguments */
};

/* Largest BDAT size we take at face value (RFC 3030 leaves it open). */
#define SMTP_BDAT_DIGITS_MAX	19

static int check_mail(const char *arg, size_t len, struct smtp_args *a);
static int check_rcpt(const char *arg, size_t len, struct smtp_args *a);
static int check_bdat(const char *arg, size_t len, struct smtp_args *a);

static const struct smtp_cmd_desc smtp_cmd_table[] = {
	{ "HELO",	SMTP_CMD_HELO,		NULL },
	{ "EHLO",	SMTP_CMD_EHLO,		NULL },
	{ "MAIL",	SMTP_CMD_MAIL,		check_mail },
	{ "RCPT",	SMTP_CMD_RCPT,		check_rcpt },
	{ "DATA",	SMTP_CMD_DATA,		NULL },
	{ "BDAT",	SMTP_CMD_BDAT,		check_bdat },
	{ "RSET",	SMTP_CMD_RSET,		NULL },
	{ "QUIT",	SMTP_CMD_QUIT,		NULL },
	{ "AUTH",	SMTP_CMD_AUTH,		NULL },
	{ "STARTTLS",	SMTP_CMD_STARTTLS,	NULL },
	{ "NOOP",	SMTP_CMD_NOOP,		NULL },
	{ "VRFY",	SMTP_CMD_NOOP,		NULL },
	{ "EXPN",	SMTP_CMD_NOOP,		NULL },
	{ "HELP",	SMTP_CMD_NOOP,		NULL },
};

static const char *const smtp_cmd_names[SMTP_CMD__MAX] = {
	[SMTP_CMD_NONE] = "NONE",
	[SMTP_CMD_CONNECT] = "CONNECT",
	[SMTP_CMD_HELO] = "HELO",
	[SMTP_CMD_EHLO] = "EHLO",
	[SMTP_CMD_MAIL] = "MAIL",
	[SMTP_CMD_RCPT] = "RCPT",
	[SMTP_CMD_DATA] = "DATA",
	[SMTP_CMD_DOT] = "DOT",
	[SMTP_CMD_BDAT] = "BDAT",
	[SMTP_CMD_BDAT_LAST] = "BDAT-LAST",
	[SMTP_CMD_RSET] = "RSET",
	[SMTP_CMD_QUIT] = "QUIT",
	[SMTP_CMD_AUTH] = "AUTH",
	[SMTP_CMD_SASL] = "SASL",
	[SMTP_CMD_STARTTLS] = "STARTTLS",
	[SMTP_CMD_NOOP] = "NOOP",
	[SMTP_CMD_UNKNOWN] = "UNKNOWN",
};

const char *
smtp_cmd_name(enum smtp_cmd cmd)
{
	if ((unsigned int)cmd >= SMTP_CMD__MAX || !smtp_cmd_names[cmd])
		return "?";
	return smtp_cmd_names[cmd];
}

static inline char
ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive: does s (len) start with the upper-case word w? */
static bool
prefix_ci(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_upper(s[i]) != w[i])
			return false;
	return true;
}

static bool
eq_ci(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ascii_upper(a[i]) != ascii_upper(b[i]))
			return false;
	return true;
}

const char *
smtp_addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* ----- command checks ----------------------------------------------- */

/*
 * Parse the path after "FROM:" / "TO:": optional blanks, then "<...>" (a
 * source route "<@a,@b:user@dom>" is stripped to its mailbox) or, as some
 * clients send it, a bare address up to the next blank.
 */
static void
parse_path(const char *p, size_t len, struct smtp_args *a)
{
	size_t i = 0, start, end;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == len) {
		a->addr_missing = true;
		return;
	}
	if (p[i] == '<') {
		start = ++i;
		while (i < len && p[i] != '>')
			i++;
		end = i;	/* no '>': take the rest, the server judges */
		if (end == start) {
			a->addr_null = true;
			return;
		}
		if (p[start] == '@') {	/* source route */
			const char *colon = memchr(p + start, ':', end - start);

			if (colon)
				start = (size_t)(colon - p) + 1;
		}
	} else {
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
		end = i;
	}
	if (end - start >= SMTP_ADDR_KEEP) {
		a->addr_truncated = true;
		end = start + SMTP_ADDR_KEEP - 1;
	}
	memcpy(a->addr, p + start, end - start);
	a->addr[end - start] = '\0';
}

/* "MAIL FROM:<path> [params]"; arg points past "MAIL". 0 or -1. */
static int
check_mail(const char *arg, size_t len, struct smtp_args *a)
{
	size_t i = 0;

	while (i < len && arg[i] == ' ')
		i++;
	if (!prefix_ci(arg + i, len - i, "FROM:"))
		return -1;
	i += 5;
	parse_path(arg + i, len - i, a);
	return 0;
}

static int
check_rcpt(const char *arg, size_t len, struct smtp_args *a)
{
	size_t i = 0;

	while (i < len && arg[i] == ' ')
		i++;
	if (!prefix_ci(arg + i, len - i, "TO:"))
		return -1;
	i += 3;
	parse_path(arg + i, len - i, a);
	if (a->addr_missing || a->addr_null)
		return -1;
	return 0;
}

/* "BDAT size [LAST]" */
static int
check_bdat(const char *arg, size_t len, struct smtp_args *a)
{
	size_t i = 0, ndig = 0;
	uint64_t n = 0;

	while (i < len && arg[i] == ' ')
		i++;
	while (i < len && is_digit(arg[i])) {
		if (++ndig > SMTP_BDAT_DIGITS_MAX)
			return -1;
		n = n * 10 + (uint64_t)(arg[i] - '0');
		i++;
	}
	if (ndig == 0)
		return -1;
	a->bdat_size = n;
	while (i < len && arg[i] == ' ')
		i++;
	if (i < len) {
		if (len - i < 4 || !prefix_ci(arg + i, len - i, "LAST"))
			return -1;
		i += 4;
		while (i < len && arg[i] == ' ')
			i++;
		if (i != len)
			return -1;
		a->bdat_last = true;
	}
	return 0;
}

/* ----- state ---------------------------------------------------------- */

static void
smtp_enter_state(struct smtp_session *s, enum smtp_state st)
{
	s->state = st;
	if (st != SMTP_S_OPEN)
		s->cstate = SMTP_C_OFF;
}

static void
fifo_push(struct smtp_ctx *ctx, struct smtp_session *s, enum smtp_cmd cmd,
	  uint8_t rcpt_idx, bool in_txn)
{
	struct smtp_pending *p;

	/* Once a command could not be queued, later ones must not be
	 * either: replies come in order, so they would pair wrongly. */
	if (s->fifo_lost || s->fifo_len == SMTP_PIPELINE_MAX) {
		s->fifo_lost++;
		ctx->stats.pipeline_overflow++;
		return;
	}
	p = &s->fifo[(s->fifo_head + s->fifo_len) % SMTP_PIPELINE_MAX];
	p->cmd = (uint8_t)cmd;
	p->rcpt_idx = rcpt_idx;
	p->txn_gen = in_txn ? s->txn_gen : 0;
	if (in_txn)
		s->txn_pending++;
	s->fifo_len++;
}

/* Take the oldest command awaiting a reply; false when there is none. */
bool
smtp_fifo_pop(struct smtp_session *s, struct smtp_pending *out)
{
	if (s->fifo_len == 0) {
		if (s->fifo_lost) {
			s->fifo_lost--;
			out->cmd = SMTP_CMD_UNKNOWN;
			out->rcpt_idx = 0xff;
			out->txn_gen = 0;
			return true;
		}
		return false;
	}
	*out = s->fifo[s->fifo_head];
	s->fifo_head = (uint8_t)((s->fifo_head + 1) % SMTP_PIPELINE_MAX);
	s->fifo_len--;
	return true;
}

static bool
fifo_has(const struct smtp_session *s, enum smtp_cmd cmd)
{
	for (unsigned int i = 0; i < s->fifo_len; i++)
		if (s->fifo[(s->fifo_head + i) % SMTP_PIPELINE_MAX].cmd == cmd)
			return true;
	return false;
}

/* Is the current transaction taking new commands? */
bool
smtp_txn_accepting(const struct smtp_session *s)
{
	return s->txn_open && !s->txn_closing;
}

void
smtp_txn_emit(struct smtp_ctx *ctx, struct smtp_session *s, enum smtp_txn_end end,
	 uint64_t now)
{
	if (!s->txn_open)
		return;
	s->txn.end = end;
	s->txn.ts_end = now;
	s->txn_open = false;
	s->txn_closing = false;
	s->txn_pending = 0;
	if (ctx->hooks && ctx->hooks->txn)
		ctx->hooks->txn(ctx->arg, &s->txn);
}

/* The transaction is over; emit it once the replies it awaits are in. */
static void
txn_close(struct smtp_ctx *ctx, struct smtp_session *s, enum smtp_txn_end end,
	  uint64_t now)
{
	if (!smtp_txn_accepting(s))
		return;
	if (s->txn_pending == 0) {
		smtp_txn_emit(ctx, s, end, now);
		return;
	}
	s->txn_closing = true;
	s->txn_end = end;
}

static bool
local_is(const char *addr, const char *local)
{
	size_t n = strlen(local);

	return strlen(addr) > n && addr[n] == '@' && eq_ci(addr, local, n);
}

static void
txn_begin(struct smtp_ctx *ctx, struct smtp_session *s,
	  const struct smtp_args *a, uint64_t now)
{
	struct smtp_txn *t = &s->txn;

	if (s->txn_open)
		smtp_txn_emit(ctx, s,
			 s->txn_closing ? s->txn_end : SMTP_TXN_END_MAIL, now);
	memset(t, 0, sizeof(*t));
	t->peer = s->peer;
	t->session_id = s->id;
	t->ts_start = now;
	memcpy(t->sender, a->addr, sizeof(t->sender));
	t->sender_truncated = a->addr_truncated;
	t->sender_null = a->addr_null;
	t->sender_bounce = !a->addr_null &&
			   (local_is(a->addr, "postmaster") ||
			    local_is(a->addr, "mailer-daemon"));
	if (++s->txn_gen == 0)
		s->txn_gen = 1;
	s->txn_open = true;
	s->txn_closing = false;
	s->txn_pending = 0;
	s->n_txn++;

	ctx->stats.transactions++;
	if (t->sender_null)
		ctx->stats.null_sender++;
	if (t->sender_bounce)
		ctx->stats.bounce_sender++;
}

void
smtp_go_opaque(struct smtp_ctx *ctx, struct smtp_session *s, uint64_t now)
{
	smtp_txn_emit(ctx, s, SMTP_TXN_END_OPAQUE, now);
	smtp_enter_state(s, SMTP_S_OPAQUE);
	ctx->stats.opaque_sessions++;
	if (ctx->hooks && ctx->hooks->session_opaque)
		ctx->hooks->session_opaque(ctx->arg, s);
}

/* ----- client side ---------------------------------------------------- */

/* A SASL response is base64, "=" or "*" (cancel): nothing a command has. */
static bool
looks_sasl(const char *l, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = l[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      is_digit(c) || c == '+' || c == '/' || c == '=' ||
		      c == '*'))
			return false;
	}
	return true;
}

static const struct smtp_cmd_desc *
cmd_lookup(const char *l, size_t len, size_t *verb_len)
{
	size_t n = 0;

	while (n < len && l[n] != ' ')
		n++;
	*verb_len = n;
	for (size_t i = 0; i < sizeof(smtp_cmd_table) / sizeof(smtp_cmd_table[0]); i++) {
		const struct smtp_cmd_desc *d = &smtp_cmd_table[i];

		if (strlen(d->verb) == n && eq_ci(l, d->verb, n))
			return d;
	}
	return NULL;
}

/* Act on a checked command. */
static void
client_act(struct smtp_ctx *ctx, struct smtp_session *s, enum smtp_cmd cmd,
	   const struct smtp_args *a, uint64_t now)
{
	struct smtp_txn *t = &s->txn;
	uint8_t idx = 0xff;

	switch (cmd) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
	case SMTP_CMD_RSET:
		txn_close(ctx, s, SMTP_TXN_END_RSET, now);
		fifo_push(ctx, s, cmd, 0xff, false);
		break;
	case SMTP_CMD_QUIT:
		txn_close(ctx, s, SMTP_TXN_END_QUIT, now);
		fifo_push(ctx, s, cmd, 0xff, false);
		break;
	case SMTP_CMD_MAIL:
		txn_begin(ctx, s, a, now);
		if (a->addr_missing) {
			s->n_malformed++;
			ctx->stats.malformed_lines++;
		}
		fifo_push(ctx, s, cmd, 0xff, true);
		break;
	case SMTP_CMD_RCPT:
		ctx->stats.rcpt_total++;
		if (!smtp_txn_accepting(s)) {	/* RCPT without MAIL */
			fifo_push(ctx, s, cmd, 0xff, false);
			break;
		}
		t->n_rcpt++;
		if (t->n_rcpt_kept < SMTP_TXN_RCPT_MAX) {
			struct smtp_rcpt *r = &t->rcpt[t->n_rcpt_kept];

			memcpy(r->addr, a->addr, sizeof(r->addr));
			r->truncated = a->addr_truncated;
			idx = (uint8_t)t->n_rcpt_kept++;
		}
		fifo_push(ctx, s, cmd, idx, true);
		break;
	case SMTP_CMD_DATA:
		fifo_push(ctx, s, cmd, 0xff, smtp_txn_accepting(s));
		s->cstate = SMTP_C_BODY;
		s->body = SMTP_BODY_BOL;
		break;
	case SMTP_CMD_BDAT:
		cmd = a->bdat_last ? SMTP_CMD_BDAT_LAST : SMTP_CMD_BDAT;
		if (smtp_txn_accepting(s))
			t->data_started = true;
		fifo_push(ctx, s, cmd, 0xff, smtp_txn_accepting(s));
		s->chunk_left = a->bdat_size;
		if (s->chunk_left)
			s->cstate = SMTP_C_CHUNK;
		break;
	case SMTP_CMD_AUTH:
		fifo_push(ctx, s, cmd, 0xff, false);
		s->cstate = SMTP_C_AUTH;
		break;
	case SMTP_CMD_STARTTLS:
		s->starttls_sent = true;
		fifo_push(ctx, s, cmd, 0xff, false);
		break;
	default:
		fifo_push(ctx, s, cmd, 0xff, false);
		break;
	}
}

/* One complete client line, terminator stripped. */
static void
client_line(struct smtp_ctx *ctx, struct smtp_session *s, const char *l,
	    size_t len, uint64_t now)
{
	const struct smtp_cmd_desc *d;
	struct smtp_args a;
	enum smtp_cmd cmd;
	size_t vlen;

	if (s->cstate == SMTP_C_AUTH) {
		if (looks_sasl(l, len)) {
			fifo_push(ctx, s, SMTP_CMD_SASL, 0xff, false);
			return;
		}
		s->cstate = SMTP_C_CMD;	/* a command after all */
	}
	s->n_commands++;
	ctx->stats.commands++;
	memset(&a, 0, sizeof(a));
	d = cmd_lookup(l, len, &vlen);
	if (!d) {
		ctx->stats.unknown_commands++;
		fifo_push(ctx, s, SMTP_CMD_UNKNOWN, 0xff, false);
		return;
	}
	cmd = d->cmd;
	if (d->check && d->check(l + vlen, len - vlen, &a) < 0) {
		/* Bad syntax: the server will refuse it; it does nothing.
		 * A RCPT is still a RCPT command to count. */
		s->n_malformed++;
		ctx->stats.malformed_lines++;
		if (cmd == SMTP_CMD_RCPT)
			ctx->stats.rcpt_total++;
		else if (cmd == SMTP_CMD_MAIL)
			ctx->stats.unknown_commands++;
		fifo_push(ctx, s, cmd == SMTP_CMD_RCPT ? SMTP_CMD_RCPT :
			  SMTP_CMD_UNKNOWN, 0xff, false);
		return;
	}
	client_act(ctx, s, cmd, &a, now);
}

/* Command or SASL lines: consume up to and including one line feed. */
static size_t
client_lines(struct smtp_ctx *ctx, struct smtp_session *s,
	     const uint8_t *data, size_t len, uint64_t now)
{
	const uint8_t *lf = memchr(data, '\n', len);
	size_t take = lf ? (size_t)(lf - data) + 1 : len;
	size_t body = lf ? take - 1 : take;	/* octets before the LF */

	/* After STARTTLS, a TLS handshake record where a command should be
	 * means the 220 went by unseen (one-sided capture). */
	if (s->clen == 0 && !s->cdiscard && s->starttls_sent &&
	    data[0] == 0x16 && fifo_has(s, SMTP_CMD_STARTTLS)) {
		smtp_go_opaque(ctx, s, now);
		return len;
	}
	if (s->cdiscard) {
		if (lf) {
			if (s->cdiscard_long) {
				s->n_malformed++;
				ctx->stats.malformed_lines++;
				if (s->cstate == SMTP_C_AUTH)
					fifo_push(ctx, s, SMTP_CMD_SASL, 0xff, false);
				else
					fifo_push(ctx, s, SMTP_CMD_UNKNOWN, 0xff, false);
			}
			s->cdiscard = false;
			s->cdiscard_long = false;
		}
		return take;
	}
	/* The limit counts the line feed: check before copying. */
	if (s->clen + body + 1 > SMTP_LINE_MAX) {
		s->clen = 0;
		s->cdiscard = true;
		s->cdiscard_long = true;
		if (lf) {
			/* ends right here */
			s->cdiscard = false;
			s->cdiscard_long = false;
			s->n_malformed++;
			ctx->stats.malformed_lines++;
			fifo_push(ctx, s, s->cstate == SMTP_C_AUTH ?
				  SMTP_CMD_SASL : SMTP_CMD_UNKNOWN, 0xff, false);
		}
		return take;
	}
	memcpy(s->cline + s->clen, data, body);
	s->clen = (uint16_t)(s->clen + body);
	if (lf) {
		size_t n = s->clen;

		if (n && s->cline[n - 1] == '\r')
			n--;
		s->clen = 0;
		client_line(ctx, s, s->cline, n, now);
	}
	return take;
}

/* A DATA body: consume up to and including the lone-dot line. */
static size_t
client_body(struct smtp_ctx *ctx, struct smtp_session *s, const uint8_t *data,
	    size_t len, uint64_t now)
{
	size_t i = 0;
	bool end = false;

	while (i < len && !end) {
		uint8_t c;

		if (s->body == SMTP_BODY_MID) {
			const uint8_t *lf = memchr(data + i, '\n', len - i);

			if (!lf) {
				i = len;
				break;
			}
			i = (size_t)(lf - data) + 1;
			s->body = SMTP_BODY_BOL;
			continue;
		}
		c = data[i++];
		switch (s->body) {
		case SMTP_BODY_BOL:
			s->body = c == '.' ? SMTP_BODY_DOT :
				  c == '\n' ? SMTP_BODY_BOL : SMTP_BODY_MID;
			break;
		case SMTP_BODY_DOT:
			if (c == '\r')
				s->body = SMTP_BODY_DOTCR;
			else if (c == '\n')
				end = true;
			else
				s->body = SMTP_BODY_MID;	/* dot-stuffed */
			break;
		case SMTP_BODY_DOTCR:
			if (c == '\n')
				end = true;
			else
				s->body = SMTP_BODY_MID;
			break;
		default:
			break;
		}
	}
	if (s->txn_open)
		s->txn.body_bytes += i;
	if (end) {
		s->cstate = SMTP_C_CMD;
		s->body = SMTP_BODY_BOL;
		fifo_push(ctx, s, SMTP_CMD_DOT, 0xff, smtp_txn_accepting(s));
	}
	return i;
}

/* A session counts once it carries data either way: half-open
 * connections of a SYN flood are not sessions. */
void
smtp_session_count(struct smtp_ctx *ctx, struct smtp_session *s, size_t len)
{
	if (len && !s->counted) {
		s->counted = true;
		ctx->stats.sessions++;
	}
}

void
smtp_client_data(struct smtp_ctx *ctx, struct smtp_session *s,
		 const uint8_t *data, size_t len, uint64_t now)
{
	if (s->state != SMTP_S_OPEN)
		return;
	s->ts_last = now;
	smtp_session_count(ctx, s, len);
	while (len > 0 && s->state == SMTP_S_OPEN) {
		size_t n = 0;

		switch (s->cstate) {
		case SMTP_C_CMD:
		case SMTP_C_AUTH:
			n = client_lines(ctx, s, data, len, now);
			break;
		case SMTP_C_BODY:
			n = client_body(ctx, s, data, len, now);
			break;
		case SMTP_C_CHUNK:
			n = len < s->chunk_left ? len : (size_t)s->chunk_left;
			s->chunk_left -= n;
			if (s->txn_open)
				s->txn.body_bytes += n;
			if (s->chunk_left == 0)
				s->cstate = SMTP_C_CMD;
			break;
		case SMTP_C_OFF:
			return;
		}
		data += n;
		len -= n;
	}
}

/* ----- life cycle ----------------------------------------------------- */

void
smtp_gap(struct smtp_ctx *ctx, struct smtp_session *s, bool from_client,
	 uint64_t len, uint64_t now)
{
	if (s->state != SMTP_S_OPEN || len == 0)
		return;
	ctx->stats.gaps++;
	if (!from_client) {
		s->slen = 0;
		s->sdiscard = true;
		return;
	}
	switch (s->cstate) {
	case SMTP_C_CMD:
	case SMTP_C_AUTH:
		s->clen = 0;
		s->cdiscard = true;
		s->cdiscard_long = false;
		break;
	case SMTP_C_BODY:
		s->body = SMTP_BODY_MID;
		break;
	case SMTP_C_CHUNK:
		if (len < s->chunk_left) {
			s->chunk_left -= len;
		} else {
			bool past = len > s->chunk_left;

			s->chunk_left = 0;
			s->cstate = SMTP_C_CMD;
			s->clen = 0;
			s->cdiscard = past;
			s->cdiscard_long = false;
		}
		break;
	case SMTP_C_OFF:
		break;
	}
}

void
smtp_session_start(struct smtp_ctx *ctx, struct smtp_session *s,
		   const struct smtp_peer *peer, bool saw_syn, uint64_t now)
{
	memset(s, 0, sizeof(*s));
	s->peer = *peer;
	s->id = ++ctx->next_id;
	s->ts_start = now;
	s->ts_last = now;
	s->midstream = !saw_syn;
	smtp_enter_state(s, SMTP_S_OPEN);
	s->cstate = SMTP_C_CMD;
	if (saw_syn)
		fifo_push(ctx, s, SMTP_CMD_CONNECT, 0xff, false);
	if (ctx->hooks && ctx->hooks->session_start)
		ctx->hooks->session_start(ctx->arg, s);
}

void
smtp_session_end(struct smtp_ctx *ctx, struct smtp_session *s, uint64_t now)
{
	if (s->state != SMTP_S_OPEN && s->state != SMTP_S_OPAQUE)
		return;
	smtp_txn_emit(ctx, s, s->txn_closing ? s->txn_end : SMTP_TXN_END_SESSION,
		 now);
	s->ts_last = now;
	smtp_enter_state(s, SMTP_S_CLOSED);
	if (s->counted)
		ctx->stats.sessions_ended++;
	if (ctx->hooks && ctx->hooks->session_end)
		ctx->hooks->session_end(ctx->arg, s);
}
