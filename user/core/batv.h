/*
 * batv.h - BATV "prvs=" tags (draft-levine-smtp-batv-01), Exim-compatible.
 *
 * We tag the envelope sender of the mail we send; a real bounce comes back
 * to the tagged address, a backscatter bounce to a forged, untagged one.
 * The tagged local part is
 *
 *	prvs=KDDDHHHHHH=original-local@domain
 *
 * K	key number, one decimal digit (lets the operator roll secrets);
 * DDD	expiry day: (days since the Unix epoch + BATV_VALID_DAYS) mod 1000;
 * HHHHHH	first 3 bytes, lowercase hex, of
 *	HMAC-SHA1(secret, K DDD original-local@domain)
 *	(the three fields concatenated as text, no separators).
 *
 * This is what Exim's ${prvs{address}{secret}{K}} produces and what
 * ${prvscheck ...} accepts.  Differences, on purpose: we compare the hex
 * case-insensitively, and a secret longer than 64 bytes is hashed as RFC 2104
 * says (Exim refuses such a secret; for <= 64 bytes the two agree).
 *
 * Pure: no I/O, no clock; "today" is passed in (whole days since the Unix
 * epoch, UTC: wall-clock time, not a monotonic clock).
 */
#ifndef BW_BATV_H
#define BW_BATV_H

#include <stddef.h>
#include <stdint.h>

#define BATV_VALID_DAYS		7
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define BATV_ADDR_MAX		256
/* "prvs=" + 10 + "=" before the original address. */
#define BATV_TAG_OVERHEAD	16
#define BATV_SIGNED_MAX		(BATV_ADDR_MAX + BATV_TAG_OVERHEAD + 1)

enum batv_result {
	BATV_VALID = 0,		/* tag present, HMAC right, not expired */
	BATV_INVALID,		/* starts with prvs= but malformed or wrong HMAC */
	BATV_NO_TAG,		/* an ordinary address */
	BATV_EXPIRED,		/* HMAC right, expiry day outside the window */
};

/* Whole days since the Unix epoch for a wall-clock time in seconds. */
static inline uint64_t
batv_day(uint64_t unix_seconds)
{
	return unix_seconds / 86400;
}

/*
 * Sign `address` ("local@domain", no angle brackets) with key number
 * key_digit (0..9), valid from `today` for BATV_VALID_DAYS.  Writes the
 * NUL-terminated tagged address to out.  Returns its length, -EINVAL for a
 * bad key digit or an address without a local part and domain or longer
 * than BATV_ADDR_MAX, -ENOSPC when out is too small, -EIO when the crypto
 * library fails.
 */
int batv_sign(const void *secret, size_t secret_len, unsigned int key_digit,
	      const char *address, uint64_t today, char *out, size_t outlen);

/*
 * Check a recipient ("local@domain", no angle brackets) on `today`.
 * Never fails: anything it cannot make sense of after a "prvs=" prefix
 * (matched case-insensitively) is BATV_INVALID, and so is a tagged
 * address too long to be one we signed.
 */
enum batv_result batv_check(const void *secret, size_t secret_len,
			    const char *rcpt, uint64_t today);

/* One of the operator's keys: its digit K and its secret. */
struct batv_key {
	unsigned int digit;
	const void *secret;
	size_t len;
};

/*
 * Check rcpt with the key whose digit its tag names (so keys can be
 * rolled: last week's tags still check with last week's key); a tag whose
 * digit no key has is BATV_INVALID.  Never fails.
 */
enum batv_result batv_check_keys(const struct batv_key *keys, size_t n,
				 const char *rcpt, uint64_t today);

/* The address inside a well-formed tag ("prvs=KDDDHHHHHH=ADDR" -> ADDR,
 * a pointer into rcpt), or NULL for an untagged or malformed one. */
const char *batv_original(const char *rcpt);

/* "valid", "invalid", "no-tag", "expired". */
const char *batv_result_name(enum batv_result r);

#endif
