/*
 * fuzz_dkim_key.c - libFuzzer target: DKIM key records (tag list, base64,
 * DER) through the parser and the grade, and the raw bytes through the
 * DER reader alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct posture_check out;
	const char *txt = (const char *)data;
	struct posture_answer a;
	struct dkim_key k;
	unsigned int bits;
	bool pkcs1;
	char err[128];

	if (size > POSTURE_TXT_MAX)
		return 0;
	if (dkim_rsa_bits(data, size, &bits, &pkcs1) == 0 && (bits == 0 || bits > size * 8))
		abort();
	if (dkim_key_parse(txt, size, &k, err, sizeof(err)) == 0 && k.type == DKIM_K_ED25519 &&
	    !k.revoked && k.bits != 256)
		abort();
	memset(&a, 0, sizeof(a));
	a.status = POSTURE_ANS_OK;
	a.n = a.total = 1;
	a.rr[0].text = txt;
	a.rr[0].len = size;
	memset(&out, 0, sizeof(out));
	dkim_grade("sel", "fuzz.test", &a, &out);
	if (!out.done || out.verdict > POSTURE_PASS)
		abort();
	return 0;
}
