/*
 * batv.c - sign and check BATV prvs= tags (format in batv.h).
 *
 * batv_sign() returns the tagged address length or -errno; batv_check()
 * returns an enum batv_result and cannot fail.  Everything is bounded by
 * BATV_ADDR_MAX and lives on the stack; the HMAC is OpenSSL's.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "batv.h"

#define BATV_PREFIX		"prvs="
#define BATV_PREFIX_LEN		5
#define BATV_HASH_HEX		6	/* 3 bytes of the HMAC */
#define BATV_TAGVAL_LEN		10	/* K DDD HHHHHH */
/* K + DDD + the original address */
#define BATV_SOURCE_MAX		(4 + BATV_ADDR_MAX)

static const char hexdig[] = "0123456789abcdef";

/* 6 lowercase hex digits of HMAC-SHA1(secret, K DDD address), NUL-ended.
 * 0 or -EIO. */
static int
batv_hash(const void *secret, size_t secret_len, char key, unsigned int ddd,
	  const char *addr, size_t addr_len, char hex[BATV_HASH_HEX + 1])
{
	unsigned char src[BATV_SOURCE_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	/* OpenSSL wants a non-NULL key pointer even for an empty key. */
	static const unsigned char empty_key[1];

	if (addr_len > BATV_ADDR_MAX)
		return -EIO;
	src[0] = (unsigned char)key;
	src[1] = (unsigned char)('0' + ddd / 100);
	src[2] = (unsigned char)('0' + ddd / 10 % 10);
	src[3] = (unsigned char)('0' + ddd % 10);
	memcpy(src + 4, addr, addr_len);
	if (secret_len > INT32_MAX)
		return -EIO;
	if (!HMAC(EVP_sha1(), secret_len ? secret : empty_key, (int)secret_len,
		  src, 4 + addr_len, md, &mdlen) || mdlen < 3)
		return -EIO;
	for (int i = 0; i < 3; i++) {
		hex[2 * i] = hexdig[md[i] >> 4];
		hex[2 * i + 1] = hexdig[md[i] & 0x0f];
	}
	hex[BATV_HASH_HEX] = '\0';
	return 0;
}

/* "local@domain" with both parts non-empty; the last '@' splits them. */
static bool
addr_well_formed(const char *a, size_t len)
{
	const char *at = memrchr(a, '@', len);

	return at && at != a && at != a + len - 1;
}

int
batv_sign(const void *secret, size_t secret_len, unsigned int key_digit,
	  const char *address, uint64_t today, char *out, size_t outlen)
{
	size_t len = strnlen(address, BATV_ADDR_MAX + 1);
	unsigned int ddd = (unsigned int)((today + BATV_VALID_DAYS) % 1000);
	char hex[BATV_HASH_HEX + 1];
	size_t need;

	if (key_digit > 9 || len > BATV_ADDR_MAX || !addr_well_formed(address, len))
		return -EINVAL;
	need = BATV_PREFIX_LEN + BATV_TAGVAL_LEN + 1 + len + 1;
	if (outlen < need)
		return -ENOSPC;
	if (batv_hash(secret, secret_len, (char)('0' + key_digit), ddd,
		      address, len, hex) < 0)
		return -EIO;
	memcpy(out, BATV_PREFIX, BATV_PREFIX_LEN);
	out[5] = (char)('0' + key_digit);
	out[6] = (char)('0' + ddd / 100);
	out[7] = (char)('0' + ddd / 10 % 10);
	out[8] = (char)('0' + ddd % 10);
	memcpy(out + 9, hex, BATV_HASH_HEX);
	out[15] = '=';
	memcpy(out + 16, address, len);
	out[16 + len] = '\0';
	return (int)(need - 1);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
hex_lower(char c)
{
	if (c >= '0' && c <= '9')
		return c;
	if (c >= 'a' && c <= 'f')
		return c;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 'a';
	return -1;
}

enum batv_result
batv_check(const void *secret, size_t secret_len, const char *rcpt,
	   uint64_t today)
{
	size_t len = strnlen(rcpt, BATV_SIGNED_MAX + 1);
	char got[BATV_HASH_HEX], want[BATV_HASH_HEX + 1];
	const char *orig;
	unsigned int ddd, ahead;
	size_t orig_len;

	if (len < BATV_PREFIX_LEN || strncasecmp(rcpt, BATV_PREFIX,
						 BATV_PREFIX_LEN) != 0)
		return BATV_NO_TAG;
	if (len > BATV_SIGNED_MAX - 1 ||
	    len < BATV_PREFIX_LEN + BATV_TAGVAL_LEN + 1)
		return BATV_INVALID;

	/* K DDD: four decimal digits. */
	for (int i = 5; i < 9; i++)
		if (!is_digit(rcpt[i]))
			return BATV_INVALID;
	for (int i = 0; i < BATV_HASH_HEX; i++) {
		int h = hex_lower(rcpt[9 + i]);

		if (h < 0)
			return BATV_INVALID;
		got[i] = (char)h;
	}
	if (rcpt[15] != '=')
		return BATV_INVALID;
	orig = rcpt + 16;
	orig_len = len - 16;
	if (orig_len > BATV_ADDR_MAX || !addr_well_formed(orig, orig_len))
		return BATV_INVALID;

	ddd = (unsigned int)(rcpt[6] - '0') * 100 +
	      (unsigned int)(rcpt[7] - '0') * 10 + (unsigned int)(rcpt[8] - '0');
	if (batv_hash(secret, secret_len, rcpt[5], ddd, orig, orig_len,
		      want) < 0)
		return BATV_INVALID;
	/* The HMAC is the secret part: compare without an early exit. */
	if (CRYPTO_memcmp(got, want, BATV_HASH_HEX) != 0)
		return BATV_INVALID;

	/* Days from today until the expiry day, modulo the 1000-day wheel:
	 * 0..BATV_VALID_DAYS is live (it still holds on its expiry day, as
	 * in Exim); anything else expired, or was never one of ours. */
	ahead = (unsigned int)((ddd + 1000 - today % 1000) % 1000);
	return ahead <= BATV_VALID_DAYS ? BATV_VALID : BATV_EXPIRED;
}

enum batv_result
batv_check_keys(const struct batv_key *keys, size_t n, const char *rcpt, uint64_t today)
{
	size_t len = strnlen(rcpt, BATV_PREFIX_LEN + 1);

	if (len < BATV_PREFIX_LEN || strncasecmp(rcpt, BATV_PREFIX, BATV_PREFIX_LEN) != 0)
		return BATV_NO_TAG;
	if (len <= BATV_PREFIX_LEN || !is_digit(rcpt[BATV_PREFIX_LEN]))
		return BATV_INVALID;
	for (size_t i = 0; i < n; i++)
		if (keys[i].digit == (unsigned int)(rcpt[BATV_PREFIX_LEN] - '0'))
			return batv_check(keys[i].secret, keys[i].len, rcpt, today);
	return BATV_INVALID;
}

const char *
batv_original(const char *rcpt)
{
	size_t len = strnlen(rcpt, BATV_SIGNED_MAX + 1);

	if (len < BATV_PREFIX_LEN + BATV_TAGVAL_LEN + 1 || len > BATV_SIGNED_MAX - 1 ||
	    strncasecmp(rcpt, BATV_PREFIX, BATV_PREFIX_LEN) != 0 || rcpt[15] != '=')
		return NULL;
	for (int i = 5; i < 9; i++)
		if (!is_digit(rcpt[i]))
			return NULL;
	for (int i = 9; i < 15; i++)
		if (hex_lower(rcpt[i]) < 0)
			return NULL;
	if (!addr_well_formed(rcpt + 16, len - 16))
		return NULL;
	return rcpt + 16;
}

const char *
batv_result_name(enum batv_result r)
{
	switch (r) {
	case BATV_VALID:
		return "valid";
	case BATV_INVALID:
		return "invalid";
	case BATV_NO_TAG:
		return "no-tag";
	case BATV_EXPIRED:
		return "expired";
	}
	return "unknown";
}
