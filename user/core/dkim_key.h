/*
 * dkim_key.h - DKIM public key records (RFC 6376 §3.6.1, RFC 8463 for
 * Ed25519): the parser, the size of an RSA key read from its DER, and the
 * grade of a selector's TXT answer.  Pure: the DER is read here, a few
 * dozen lines for the two shapes keys are published in, rather than
 * handing attacker-controlled bytes to a general ASN.1 decoder.
 */
#ifndef BW_DKIM_KEY_H
#define BW_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "posture.h"

#define DKIM_DER_MAX	(POSTURE_TXT_MAX / 4 * 3)	/* decoded p= */
#define DKIM_ED25519_LEN	32

enum dkim_key_type {
	DKIM_K_RSA = 0,
	DKIM_K_ED25519,
	DKIM_K_OTHER,
};

struct dkim_key {
	int type;		/* enum dkim_key_type */
	bool revoked;		/* p= is empty */
	bool testing;		/* t=y: verifiers treat failures as unsigned */
	bool sha1_only;		/* h= allows no sha256 */
	bool no_email;		/* s= excludes email */
	bool pkcs1;		/* RSA published as a bare RSAPublicKey */
	unsigned int bits;	/* RSA modulus bits; 256 for Ed25519 */
};

/*
 * Decode base64 (whitespace skipped, '=' padding required) into out.
 * 0, -EINVAL when it is not base64, -E2BIG when it does not fit in max.
 */
int dkim_base64(const char *s, size_t n, uint8_t *out, size_t max, size_t *outlen);

/*
 * Bits of an RSA public key's modulus from its DER: SubjectPublicKeyInfo
 * (what RFC 6376 publishes) or a bare PKCS#1 RSAPublicKey (*pkcs1 set).
 * 0, or -EINVAL when it is neither.
 */
int dkim_rsa_bits(const uint8_t *der, size_t len, unsigned int *bits, bool *pkcs1);

/* Parse a key record.  0, or -EINVAL with a one-line reason in err. */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, char *err, size_t errlen);

/* Grade the TXT answer for selector._domainkey.domain into out (finished). */
void dkim_grade(const char *selector, const char *domain, const struct posture_answer *a,
		struct posture_check *out);

#endif
