/*
 * smtp_parse.h - the SMTP dialogue parser: one session per TCP connection,
 * fed the reassembled client and server byte streams, producing transaction
 * and session events for the scorer.
 *
 * Pure: no I/O, no allocation, time passed in (ns, any monotonic clock: the
 * capture timestamps offline, CLOCK_BOOTTIME live).  All memory is the
 * struct smtp_session the caller owns (the flow table embeds one per flow);
 * every buffer in it has a named bound below.
 *
 * What it understands: EHLO/HELO, MAIL FROM, RCPT TO, DATA (the body is
 * skipped to the lone dot), BDAT n [LAST] (exactly n bytes skipped), RSET,
 * QUIT, AUTH (the SASL lines that follow 334 replies are not commands),
 * STARTTLS (after the 2xx reply the session is opaque: counted, never
 * guessed at), multi-line replies, enhanced status codes (RFC 3463) and
 * PIPELINING: a FIFO of commands awaiting replies pairs each reply with the
 * command it answers, so each recipient gets its own reply code.
 *
 * Malformed input (over-long lines, replies without a code, garbage) is
 * counted in struct smtp_stats and skipped; it never stops the parser.
 */
#ifndef BW_SMTP_PARSE_H
#define BW_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Hard limits.  A command line longer than SMTP_LINE_MAX octets including
 * its CRLF (RFC 5321 §4.5.3.1.4) is counted as malformed and discarded up
 * to its line feed, never buffered.  Reply lines are parsed as they stream
 * by: only their first SMTP_REPLY_KEEP octets are kept (code, separator,
 * enhanced code); one longer than SMTP_REPLY_MAX is malformed.
 */
#define SMTP_LINE_MAX		512
#define SMTP_REPLY_MAX		1024
#define SMTP_REPLY_KEEP		24
#define SMTP_PIPELINE_MAX	64	/* commands awaiting a reply */
#define SMTP_TXN_RCPT_MAX	8	/* recipients kept per transaction */
#define SMTP_ADDR_KEEP		96	/* octets kept of an address, NUL incl. */

/* Commands, as the parser classifies client lines (also the FIFO tags). */
enum smtp_cmd {
	SMTP_CMD_NONE = 0,
	SMTP_CMD_CONNECT,	/* pseudo: the greeting answers the connection */
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_DOT,		/* pseudo: end of a DATA body */
	SMTP_CMD_BDAT,
	SMTP_CMD_BDAT_LAST,
	SMTP_CMD_RSET,
	SMTP_CMD_QUIT,
	SMTP_CMD_AUTH,
	SMTP_CMD_SASL,		/* pseudo: a SASL response line after 334 */
	SMTP_CMD_STARTTLS,
	SMTP_CMD_NOOP,		/* NOOP, VRFY, EXPN, HELP: answered, no effect */
	SMTP_CMD_UNKNOWN,	/* unknown verb, bad syntax or over-long line */
	SMTP_CMD__MAX,
};

/* A reply: the 3-digit code and the RFC 3463 enhanced code when present.
 * code 0 means "no reply seen"; cls 0 means "no enhanced code". */
struct smtp_code {
	uint16_t code;		/* 200..599 */
	uint16_t detail;	/* x.y.DETAIL, 0..999 */
	uint8_t cls;		/* CLS.y.z: 2, 4 or 5 */
	uint8_t subject;	/* x.SUBJECT.z, 0..999 clamped to 255 */
};

/* The two ends of a session, addresses in the 16-byte form of
 * include/bouncewall.h (IPv4 mapped as ::ffff:a.b.c.d); ports host order.
 * The client is the side that connected to the SMTP port. */
struct smtp_peer {
	uint8_t client[16];
	uint8_t server[16];
	uint16_t client_port;
	uint16_t server_port;
};

struct smtp_rcpt {
	struct smtp_code reply;		/* code 0: no reply paired (yet) */
	char addr[SMTP_ADDR_KEEP];	/* "local@domain", NUL-terminated */
	bool truncated;			/* addr was cut to fit */
};

/* Why a transaction was closed. */
enum smtp_txn_end {
	SMTP_TXN_END_DATA = 1,	/* final reply to end of DATA / BDAT LAST */
	SMTP_TXN_END_RSET,	/* RSET, HELO or EHLO */
	SMTP_TXN_END_MAIL,	/* a new MAIL command superseded it */
	SMTP_TXN_END_QUIT,
	SMTP_TXN_END_SESSION,	/* connection closed, timed out or evicted */
	SMTP_TXN_END_OPAQUE,	/* STARTTLS went through */
};

/*
 * One mail transaction: everything from a MAIL command to its end.  Every
 * MAIL command makes one (accepted or not: mail_reply tells).  Delivered
 * to smtp_hooks.txn when it ends; replies still due then are not waited
 * for beyond the end of the session.
 *
 * Recipients: n_rcpt counts every RCPT command of the transaction; the
 * first SMTP_TXN_RCPT_MAX are kept in rcpt[] (n_rcpt_kept) with their own
 * reply.  The n_rcpt_* counters cover all of them, kept or not.
 */
struct smtp_txn {
	struct smtp_peer peer;
	uint64_t ts_start;		/* ns: the MAIL command was seen */
	uint64_t ts_end;		/* ns: the transaction ended */
	uint64_t session_id;		/* smtp_session.id */
	enum smtp_txn_end end;

	char sender[SMTP_ADDR_KEEP];	/* reverse path, "" when null */
	bool sender_null;		/* MAIL FROM:<> */
	bool sender_bounce;		/* postmaster@... or mailer-daemon@... */
	bool sender_truncated;
	bool outbound;			/* client is us: set by the shell */
	struct smtp_code mail_reply;

	uint32_t n_rcpt;
	uint32_t n_rcpt_accepted;	/* 2xx */
	uint32_t n_rcpt_tempfail;	/* 4xx */
	uint32_t n_rcpt_rejected;	/* 5xx */
	uint32_t n_rcpt_unknown;	/* 5xx with enhanced code 5.1.x */
	uint32_t n_rcpt_kept;
	struct smtp_rcpt rcpt[SMTP_TXN_RCPT_MAX];

	bool data_started;		/* DATA got 354, or a BDAT was sent */
	struct smtp_code data_reply;	/* final reply to the message */
	uint64_t body_bytes;		/* DATA body / BDAT chunk octets seen */
};

/* "domain" of "local@domain" (after the last '@'); "" when none. */
const char *smtp_addr_domain(const char *addr);

/* A null or bounce-like sender (postmaster@, mailer-daemon@, as rspamd
 * and backscatterer.org count them): a bounce. */
static inline bool
smtp_txn_is_bounce(const struct smtp_txn *t)
{
	return t->sender_null || t->sender_bounce;
}

/* Counters over all sessions a context saw; the caller owns and reads
 * them (analyze prints them, the agent exports them as metrics). */
struct smtp_stats {
	uint64_t sessions;		/* sessions that carried data: a SYN
					 * nobody answered is not one */
	uint64_t sessions_ended;	/* of those, ended */
	uint64_t opaque_sessions;	/* went STARTTLS */
	uint64_t commands;		/* complete client command lines */
	uint64_t transactions;		/* MAIL commands */
	uint64_t null_sender;		/* MAIL FROM:<> */
	uint64_t bounce_sender;		/* postmaster@ / mailer-daemon@ */
	uint64_t rcpt_total;		/* RCPT commands */
	uint64_t rcpt_rejected;		/* 5xx replies paired with RCPT */
	uint64_t rcpt_unknown;		/* ... of which 5.1.x */
	uint64_t replies;		/* complete replies (multi-line = 1) */
	uint64_t replies_4xx;
	uint64_t replies_5xx;
	uint64_t replies_unsolicited;	/* no command was awaiting them */
	uint64_t malformed_lines;	/* over-long, no reply code, bad syntax */
	uint64_t unknown_commands;
	uint64_t pipeline_overflow;	/* commands beyond SMTP_PIPELINE_MAX */
	uint64_t gaps;			/* stream holes the parser resynced over */
	uint64_t missed_dot;		/* DATA bodies ended by a reply, no dot */
};

/* Session events.  Any hook may be NULL.  The txn may be modified by the
 * hook (e.g. to set outbound) before it is handed on; it is not kept. */
struct smtp_session;
struct smtp_hooks {
	void (*session_start)(void *arg, const struct smtp_session *s);
	void (*session_opaque)(void *arg, const struct smtp_session *s);
	void (*session_end)(void *arg, const struct smtp_session *s);
	void (*txn)(void *arg, struct smtp_txn *t);
};

/* One per consumer: hooks, their argument, the counters. */
struct smtp_ctx {
	const struct smtp_hooks *hooks;
	void *arg;
	struct smtp_stats stats;
	uint64_t next_id;
};

/* Client-side state: what the next client octets are. */
enum smtp_cstate {
	SMTP_C_CMD = 0,		/* command lines */
	SMTP_C_AUTH,		/* SASL response lines */
	SMTP_C_BODY,		/* DATA body, up to the lone dot */
	SMTP_C_CHUNK,		/* BDAT chunk octets */
	SMTP_C_OFF,		/* opaque or closed: ignore */
};

/* Where a DATA body scan stands, between segments. */
enum smtp_body_state {
	SMTP_BODY_BOL = 0,	/* at the start of a line */
	SMTP_BODY_DOT,		/* "." at the start of a line */
	SMTP_BODY_DOTCR,	/* ".\r" */
	SMTP_BODY_MID,		/* inside a line */
};

struct smtp_pending {
	uint8_t cmd;		/* enum smtp_cmd */
	uint8_t rcpt_idx;	/* index in txn.rcpt[], 0xff: not kept */
	uint16_t txn_gen;	/* which transaction the command belongs to */
};

/* Session state machine (enter via smtp_enter_state() only). */
enum smtp_state {
	SMTP_S_IDLE = 0,	/* slot unused */
	SMTP_S_OPEN,		/* parsing */
	SMTP_S_OPAQUE,		/* STARTTLS succeeded: nothing more is parsed */
	SMTP_S_CLOSED,		/* ended, counted */
};

struct smtp_session {
	enum smtp_state state;
	enum smtp_cstate cstate;
	enum smtp_body_state body;
	struct smtp_peer peer;
	uint64_t id;
	uint64_t ts_start;
	uint64_t ts_last;

	/* client command line being assembled */
	uint16_t clen;
	bool cdiscard;		/* over-long or resyncing: drop to LF */
	bool cdiscard_long;	/* ... and it was too long (count once) */
	uint64_t chunk_left;	/* BDAT octets still to skip */
	bool chunk_last;

	/* server reply line being scanned */
	uint16_t slen;		/* octets of the current line so far */
	bool sdiscard;
	bool in_multiline;	/* saw "ddd-" */
	struct smtp_code multi_first;	/* enhanced code of its first line */

	/* commands awaiting a reply, oldest first */
	struct smtp_pending fifo[SMTP_PIPELINE_MAX];
	uint8_t fifo_head;
	uint8_t fifo_len;
	uint32_t fifo_lost;	/* commands not queued (FIFO full) */

	bool txn_open;		/* txn holds a transaction not yet emitted */
	bool txn_closing;	/* ... ended, waiting for its replies */
	uint16_t txn_gen;
	uint16_t txn_pending;	/* FIFO entries of the current txn */
	enum smtp_txn_end txn_end;
	struct smtp_txn txn;

	/* per-session counters */
	uint32_t n_commands;
	uint32_t n_replies;
	uint32_t n_malformed;
	uint32_t n_txn;
	bool starttls_sent;
	bool midstream;		/* began without a SYN */
	bool counted;		/* carried data: counted in stats.sessions */

	char cline[SMTP_LINE_MAX];
	char sline[SMTP_REPLY_KEEP];
};

/*
 * Start a session.  `saw_syn` says the connection was seen from its start:
 * the server's greeting is then paired with the connection itself; a
 * session picked up mid-stream pairs only what it sees.
 */
void smtp_session_start(struct smtp_ctx *ctx, struct smtp_session *s,
			const struct smtp_peer *peer, bool saw_syn,
			uint64_t now);

/* Bytes of the client→server stream, in order, each exactly once. */
void smtp_client_data(struct smtp_ctx *ctx, struct smtp_session *s,
		      const uint8_t *data, size_t len, uint64_t now);

/* Bytes of the server→client stream, in order, each exactly once. */
void smtp_server_data(struct smtp_ctx *ctx, struct smtp_session *s,
		      const uint8_t *data, size_t len, uint64_t now);

/*
 * `len` octets of one direction are missing (lost by the capture, or
 * given up on by reassembly).  The line in progress is dropped and the
 * parser resynchronises on the next line feed; a BDAT chunk is shortened by
 * the hole.  Counted in stats.gaps.
 */
void smtp_gap(struct smtp_ctx *ctx, struct smtp_session *s, bool from_client,
	      uint64_t len, uint64_t now);

/* End the session: the open transaction is emitted, then session_end.
 * Idempotent. */
void smtp_session_end(struct smtp_ctx *ctx, struct smtp_session *s,
		      uint64_t now);

/* "CMD", "AUTH", ... for logs and tests. */
const char *smtp_cmd_name(enum smtp_cmd cmd);

/* Parse the start of a reply line ("250-2.1.0 ok"); exposed for tests.
 * Returns 1 final line, 0 continuation line ("ddd-"), -1 no valid code. */
int smtp_reply_parse(const char *line, size_t len, struct smtp_code *code);

#endif
