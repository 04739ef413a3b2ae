/*
 * dkim_key.c - DKIM key records and their grade (dkim_key.h).
 *
 * Verifiers refuse RSA keys under 1024 bits (RFC 8301) and a selector
 * whose key is missing or revoked makes every message signed with it fail
 * DKIM: either way the domain's mail loses the signature that lets DMARC
 * tell it from forged mail.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dkim_key.h"
#include "taglist.h"
#include "text.h"

#define RSA_MIN_BITS	1024	/* verifiers refuse less */
#define RSA_GOOD_BITS	2048

#define DER_INTEGER	0x02
#define DER_BIT_STRING	0x03
#define DER_OID		0x06
#define DER_SEQUENCE	0x30

/* 1.2.840.113549.1.1.1 */
static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
dkim_base64(const char *s, size_t n, uint8_t *out, size_t max, size_t *outlen)
{
	uint32_t acc = 0;
	unsigned int bits = 0, chars = 0, pad = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			continue;
		chars++;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		v = b64_value(s[i]);
		if (v < 0 || pad)
			return -EINVAL;	/* a bad character, or data after '=' */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= max)
				return -E2BIG;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (chars % 4 || pad > 2 || (pad && bits != 2 * pad))
		return -EINVAL;
	*outlen = o;
	return 0;
}

/* One DER TLV at *p: its tag, and its value in [*val, *val + *len). */
static int
der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **val, size_t *len)
{
	const uint8_t *q = *p;
	size_t l, nb;

	if (end - q < 2)
		return -EINVAL;
	*tag = q[0];
	l = q[1];
	q += 2;
	if (l & 0x80) {
		nb = l & 0x7f;
		if (nb == 0 || nb > 3 || (size_t)(end - q) < nb)
			return -EINVAL;	/* indefinite, or absurdly long */
		l = 0;
		for (size_t i = 0; i < nb; i++)
			l = l << 8 | *q++;
	}
	if (l > (size_t)(end - q))
		return -EINVAL;
	*val = q;
	*len = l;
	*p = q + l;
	return 0;
}

/* Bits of a positive DER INTEGER, 0 when it is zero. */
static unsigned int
integer_bits(const uint8_t *v, size_t len)
{
	while (len && *v == 0) {
		v++;
		len--;
	}
	if (!len)
		return 0;
	return (unsigned int)(len * 8) - (unsigned int)__builtin_clz(*v) + 24;
}

/* RSAPublicKey: SEQUENCE { modulus INTEGER, publicExponent INTEGER }, the
 * SEQUENCE's value in [p, end). */
static int
rsa_public_key(const uint8_t *p, const uint8_t *end, unsigned int *bits)
{
	const uint8_t *n, *e;
	size_t nlen, elen;
	uint8_t tag;

	if (der_next(&p, end, &tag, &n, &nlen) < 0 || tag != DER_INTEGER)
		return -EINVAL;
	if (der_next(&p, end, &tag, &e, &elen) < 0 || tag != DER_INTEGER || !elen)
		return -EINVAL;
	*bits = integer_bits(n, nlen);
	return *bits ? 0 : -EINVAL;
}

int
dkim_rsa_bits(const uint8_t *der, size_t len, unsigned int *bits, bool *pkcs1)
{
	const uint8_t *p = der, *end = der + len, *v, *alg, *oid, *key;
	size_t vlen, alen, olen, klen;
	uint8_t tag;

	*pkcs1 = false;
	if (der_next(&p, end, &tag, &v, &vlen) < 0 || tag != DER_SEQUENCE)
		return -EINVAL;
	p = v;
	end = v + vlen;
	if (vlen && *p == DER_INTEGER) {
		*pkcs1 = true;
		return rsa_public_key(p, end, bits);
	}
	/* SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING } */
	if (der_next(&p, end, &tag, &alg, &alen) < 0 || tag != DER_SEQUENCE)
		return -EINVAL;
	if (der_next(&alg, alg + alen, &tag, &oid, &olen) < 0 || tag != DER_OID ||
	    olen != sizeof(oid_rsa) || memcmp(oid, oid_rsa, olen) != 0)
		return -EINVAL;
	if (der_next(&p, end, &tag, &key, &klen) < 0 || tag != DER_BIT_STRING || klen < 1 ||
	    key[0] != 0)
		return -EINVAL;
	p = key + 1;
	end = key + klen;
	if (der_next(&p, end, &tag, &v, &vlen) < 0 || tag != DER_SEQUENCE)
		return -EINVAL;
	return rsa_public_key(v, v + vlen, bits);
}

/* Does a colon-separated list hold item? */
static bool
list_has(const struct tag *t, const char *item)
{
	const char *p = t->value, *end = t->value + t->vlen;
	size_t n = strlen(item);

	while (p < end) {
		const char *q = memchr(p, ':', (size_t)(end - p));
		const char *e = q ? q : end, *s = p;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == n && memcmp(s, item, n) == 0)
			return true;
		p = q ? q + 1 : end;
	}
	return false;
}

static int
key_bits(struct dkim_key *k, const struct tag *p, char *err, size_t errlen)
{
	uint8_t der[DKIM_DER_MAX];
	size_t len;

	if (dkim_base64(p->value, p->vlen, der, sizeof(der), &len) < 0) {
		snprintf(err, errlen, "p= is not base64");
		return -EINVAL;
	}
	if (k->type == DKIM_K_ED25519) {
		if (len != DKIM_ED25519_LEN) {
			snprintf(err, errlen, "an Ed25519 p= must be the raw %d-byte key, not %zu bytes",
				 DKIM_ED25519_LEN, len);
			return -EINVAL;
		}
		k->bits = 256;
		return 0;
	}
	if (dkim_rsa_bits(der, len, &k->bits, &k->pkcs1) < 0) {
		snprintf(err, errlen, "p= is not an RSA public key");
		return -EINVAL;
	}
	return 0;
}

/* v= first if at all; each tag once. */
static int
check_tag(const struct tag *t, unsigned int index, unsigned int *seen, char *err, size_t errlen)
{
	static const char *const tags[] = { "v", "h", "k", "n", "p", "s", "t" };
	char b[TEXT_SHOWN_BUF];

	if (tag_is(t, "v") && (index != 0 || !(t->vlen == 5 && memcmp(t->value, "DKIM1", 5) == 0))) {
		snprintf(err, errlen, "v= must come first and be DKIM1, not '%s'",
			 text_shown(b, t->value, t->vlen));
		return -EINVAL;
	}
	for (unsigned int i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (!tag_is(t, tags[i]))
			continue;
		if (*seen & (1u << i)) {
			snprintf(err, errlen, "tag %s= given twice", tags[i]);
			return -EINVAL;
		}
		*seen |= 1u << i;
	}
	return 0;
}

int
dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, char *err, size_t errlen)
{
	const char *pos = txt, *end = txt + len;
	struct tag t, p = { 0 };
	unsigned int seen = 0, i = 0;
	char b[TEXT_SHOWN_BUF];
	int ret;

	memset(k, 0, sizeof(*k));
	while ((ret = taglist_next(&pos, end, &t)) == 1) {
		if (check_tag(&t, i++, &seen, err, errlen) < 0)
			return -EINVAL;
		if (tag_is(&t, "p"))
			p = t;
		else if (tag_is(&t, "k"))
			k->type = tag_value_is(&t, "rsa") ? DKIM_K_RSA :
				  tag_value_is(&t, "ed25519") ? DKIM_K_ED25519 : DKIM_K_OTHER;
		else if (tag_is(&t, "t"))
			k->testing = list_has(&t, "y");
		else if (tag_is(&t, "h"))
			k->sha1_only = !list_has(&t, "sha256");
		else if (tag_is(&t, "s"))
			k->no_email = !list_has(&t, "email") && !list_has(&t, "*");
	}
	if (ret < 0) {
		snprintf(err, errlen, "bad tag list at '%s'",
			 text_shown(b, t.name, (size_t)(end - t.name)));
		return -EINVAL;
	}
	if (!p.name) {
		snprintf(err, errlen, "no p= tag");
		return -EINVAL;
	}
	k->revoked = p.vlen == 0;
	if (k->revoked || k->type == DKIM_K_OTHER)
		return 0;
	return key_bits(k, &p, err, errlen);
}

static void
grade_key(const char *name, const struct dkim_key *k, struct posture_check *out)
{
	out->key_type = k->type == DKIM_K_RSA ? "rsa" : "ed25519";
	out->key_bits = k->bits;
	if (k->type == DKIM_K_RSA && k->bits < RSA_MIN_BITS)
		posture_note(out, POSTURE_FAIL, "%s: a %u-bit RSA key, which verifiers refuse (under "
			     "%d): publish a %d-bit key and sign with it", name, k->bits, RSA_MIN_BITS,
			     RSA_GOOD_BITS);
	else if (k->type == DKIM_K_RSA && k->bits < RSA_GOOD_BITS)
		posture_note(out, POSTURE_WARN, "%s: a %u-bit RSA key is weak: rotate to a %d-bit key",
			     name, k->bits, RSA_GOOD_BITS);
	else if (k->type == DKIM_K_ED25519)
		posture_note(out, POSTURE_PASS, "%s: Ed25519, which not every verifier supports yet: "
			     "also sign with an RSA key", name);
	if (k->pkcs1)
		posture_note(out, POSTURE_WARN, "%s: the key is a bare RSAPublicKey; some verifiers "
			     "need SubjectPublicKeyInfo (openssl rsa -pubout)", name);
	if (k->testing)
		posture_note(out, POSTURE_WARN, "%s: t=y (testing): verifiers treat failed signatures "
			     "as unsigned; remove t=y", name);
	if (k->sha1_only)
		posture_note(out, POSTURE_WARN, "%s: h= allows only SHA-1, which verifiers refuse: "
			     "allow sha256 (or drop h=)", name);
	if (k->no_email)
		posture_note(out, POSTURE_FAIL, "%s: s= excludes email: the key cannot verify mail; "
			     "drop s=", name);
}

void
dkim_grade(const char *selector, const char *domain, const struct posture_answer *a,
	   struct posture_check *out)
{
	char name[POSTURE_NAME_MAX + 1], err[POSTURE_FINDING_MAX / 2];
	const struct posture_rr *rr = &a->rr[0];
	struct dkim_key k;

	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	if (out->selector != selector)
		snprintf(out->selector, sizeof(out->selector), "%s", selector);
	out->checked = true;
	if (a->status == POSTURE_ANS_ERROR) {
		out->dns_error = true;
		posture_note(out, POSTURE_FAIL, "DNS lookup of %s TXT failed (%s): DKIM not checked",
			     name, a->error ? a->error : "error");
	} else if (a->status != POSTURE_ANS_OK || a->n == 0) {
		posture_note(out, POSTURE_FAIL, "no DKIM key at %s: mail signed with selector %s "
			     "fails DKIM; publish its key, or drop %s from dkim_selectors", name,
			     selector, selector);
	} else {
		posture_keep_record(out, rr->text, rr->len);
		if (a->total > 1)
			posture_note(out, POSTURE_WARN, "%s has %u TXT records: verifiers may use any; "
				     "keep one", name, a->total);
		if (rr->cut)
			posture_note(out, POSTURE_FAIL, "%s: the record is longer than %d bytes", name,
				     POSTURE_TXT_MAX);
		else if (dkim_key_parse(rr->text, rr->len, &k, err, sizeof(err)) < 0)
			posture_note(out, POSTURE_FAIL, "%s is malformed (%s): mail signed with it "
				     "fails DKIM", name, err);
		else if (k.revoked)
			posture_note(out, POSTURE_FAIL, "%s is revoked (empty p=): mail signed with it "
				     "fails DKIM; if %s is retired, drop it from dkim_selectors", name,
				     selector);
		else if (k.type == DKIM_K_OTHER)
			posture_note(out, POSTURE_FAIL, "%s: k= is neither rsa nor ed25519", name);
		else
			grade_key(name, &k, out);
	}
	posture_finish(out);
}
