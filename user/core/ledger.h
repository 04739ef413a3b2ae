/*
 * ledger.h - the sent ledger: per local address, the mail it sent and the
 * bounces it received within sent_window.
 *
 * A bounce is a reply to mail someone sent.  An address of ours that sent
 * nothing lately cannot be owed a bounce; one that sent a message may get
 * a few (bounce_budget per send: a DSN, a delay warning, an auto-reply);
 * past that, the bounces are backscatter even when the address is real (a
 * joe-job forges real users).  Without BATV this is how a bounce is told
 * from backscatter per message.
 *
 * Sends are learned from the batv socketmap (signing is sending), from
 * authenticated submissions (sasl_username in a policy request) and from
 * our own relays' transactions.  Bounces are counted when the policy
 * service lets one through.
 *
 * Bounded: at most `capacity` addresses, the least recently touched is
 * evicted (and counted).  Keyed hash: an attacker choosing recipients
 * cannot pile them into one chain.  Time is passed in (unix seconds).  The
 * window is kept as LEDGER_BUCKETS buckets of sent_window / LEDGER_BUCKETS
 * each; a live change of sent_window reinterprets the buckets (counts are
 * kept, their age is approximate until a window has passed).  Pure.
 */
#ifndef BW_LEDGER_H
#define BW_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LEDGER_ADDR_MAX		256	/* RFC 5321 path, no brackets */
#define LEDGER_BUCKETS		8
#define LEDGER_CAPACITY_MIN	16

struct ledger;

enum ledger_verdict {
	LEDGER_PLAUSIBLE = 0,	/* it sent within the window, budget left */
	LEDGER_NO_SEND,		/* nothing sent within the window */
	LEDGER_OVER_BUDGET,	/* sent, but its bounces used the budget up */
};

struct ledger_view {
	uint32_t sends;		/* within the window */
	uint32_t bounces;	/* within the window */
	uint64_t last_send;	/* unix seconds, 0 = never */
	uint64_t last_bounce;
};

struct ledger_stats {
	uint32_t capacity;
	uint32_t addresses;	/* tracked now */
	uint64_t evictions;
	uint64_t sends_total;	/* recorded since start */
	uint64_t bounces_total;
};

/* NULL on a bad capacity (errno EINVAL) or no memory (ENOMEM). */
struct ledger *ledger_new(uint32_t capacity, const uint8_t seed[16]);
void ledger_free(struct ledger *l);

/* Bytes a tracked address takes (for the README and the bench). */
size_t ledger_entry_bytes(void);

/* The window's length changed (sent_window, seconds, > 0). */
void ledger_set_window(struct ledger *l, uint64_t window);

/* addr ("local@domain", any case; compared lowercased) sent a message at
 * now.  0, or -EINVAL for an address that is not one. */
int ledger_send(struct ledger *l, const char *addr, uint64_t now);

/* What a bounce to addr at now would be, without counting it. */
enum ledger_verdict ledger_check(const struct ledger *l, const char *addr, uint64_t now,
				 uint32_t budget);

/* Count a bounce addr received (one the policy let through). */
int ledger_bounce(struct ledger *l, const char *addr, uint64_t now);

/* 0 and *v, or -ENOENT when addr is not tracked. */
int ledger_lookup(const struct ledger *l, const char *addr, uint64_t now,
		  struct ledger_view *v);

void ledger_get_stats(const struct ledger *l, struct ledger_stats *st);

/* Visit every tracked address with its view at now (status, per-domain
 * totals, saving). */
void ledger_walk(const struct ledger *l, uint64_t now,
		 void (*fn)(void *arg, const char *addr, const struct ledger_view *v),
		 void *arg);

/*
 * The state file's text: a header, then one address a line:
 *   ADDRESS SENDS BOUNCES LAST_SEND LAST_BOUNCE
 * (counts within the window at the time of writing).  ledger_format
 * returns 0 or -EIO; ledger_parse_line adds one line (0), skips a comment
 * or blank line (1), or refuses it (-EINVAL).  A loaded address's counts
 * are placed at its last send / bounce.
 */
#define LEDGER_TEXT_HEADER	"# bouncewall sent ledger v1: address sends bounces last_send last_bounce"
#define LEDGER_LINE_MAX		(LEDGER_ADDR_MAX + 96)
int ledger_format(const struct ledger *l, uint64_t now, FILE *f);
int ledger_parse_line(struct ledger *l, const char *line, size_t len, uint64_t now);

const char *ledger_verdict_name(enum ledger_verdict v);

#endif
