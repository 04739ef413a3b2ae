/*
 * test_posture.c - DMARC and DKIM grades against record variants, the
 * checks of a domain run together, the text and JSON output, and the
 * resolver address parser.
 *
 * The DKIM keys were made with OpenSSL 3.0 and are public halves only:
 *	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:N -out k.pem
 *	openssl pkey -in k.pem -pubout -outform DER | base64 -w0    (SPKI)
 *	openssl rsa -in k.pem -RSAPublicKey_out -outform DER | base64 -w0
 *	openssl genpkey -algorithm ed25519 -out e.pem
 *	openssl pkey -in e.pem -pubout -outform DER | tail -c 32 | base64
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dkim_key.h"
#include "dmarc.h"
#include "test_posture_zone.h"

#define RSA2048 "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAj5V+ilQrrKJZSZBymdV7WpLpeUdieYWPvOl/nt1n" \
	"7fyUVptEs81XxVINQSiZnURKpxfsAE9BTHirqJ8Vc1djXC2tTihhzK3IDhrtPhlzKk3QfGazlsEvupe+/HRI0B68LIaZ6BDo" \
	"ANzCXALTOp2fp+D7+zb6UaSmi3HZ+912Lg5EZSFAARU5/xI0jjtdaNaL8SmhTdfRWKIjElzuLWHHwS+6k0f9VAtuIalp8LwB" \
	"r+laR4ymOahfLhFN7yZg7i0k6wZBVWPZtAcUHvqQ9KfWDC43Fnfr+2C72gAp9JqH5SKHnswE/CcdfqssA5dqzqjXGeOEGJVJ" \
	"m3Bq0IlluuVQXQIDAQAB"
#define RSA1024 "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDavjPHZ/11HaOIE8K/3cuxVzz2YYPr2lilRP+/aLntOLiP" \
	"8+Fuk6o/Eonn726l7eh7bXJ6LSCHK3j04C9BRVZ4iEIhHoyMGxe5Zmf/OghJa0dv/iYMu3uBCGbD9guMMdqZWYKl0/MT34nw" \
	"mCij7MFNnWQZCNdziEer85PELixkBwIDAQAB"
#define RSA1023 "MIGeMA0GCSqGSIb3DQEBAQUAA4GMADCBiAKBgE+y2S6M8CYGI8N3sZ6YPGe2uR2lwwKmI0O48L5W6Uvadedc" \
	"Z+VTYCOTUtHYive/mDjv1boCAFHitklFTlzvyeNZH5LMbnEZhkIeyYyS3fRSHIHNN6Gfc+k64zxxUbqkqZyXTZxio6aCkz5c" \
	"H8kN2bcelvJ1d7v9CyVN4atv9w2TAgMBAAE="
#define RSA512 "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAOJ5sb2/zIUPldk1kyyo3kkmNlF4TvwILPs8nAWi0IbYDFa/CvEw" \
	"uyrdorh40foebNCL6cHJU5zwQzpp92MOm0cCAwEAAQ=="
#define PKCS1_1024 "MIGJAoGBANq+M8dn/XUdo4gTwr/dy7FXPPZhg+vaWKVE/79oue04uI/z4W6Tqj8SiefvbqXt6Httcnot" \
	"IIcrePTgL0FFVniIQiEejIwbF7lmZ/86CElrR2/+Jgy7e4EIZsP2C4wx2plZgqXT8xPfifCYKKPswU2dZBkI13OIR6vzk8Qu" \
	"LGQHAgMBAAE="
#define ED25519 "Du5g8DjGnHI1wPBAZYKIoHRNe6W76YMxN644EFmdRu0="
#define ED25519_SPKI "MCowBQYDK2VwAyEADu5g8DjGnHI1wPBAZYKIoHRNe6W76YMxN644EFmdRu0="

static struct posture_result res;

/* One TXT answer (or none) graded by fn. */
static void
answer_of(struct posture_answer *a, const char *const *txt, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->status = n ? POSTURE_ANS_OK : POSTURE_ANS_NXDOMAIN;
	for (size_t i = 0; i < n; i++) {
		a->rr[i].text = txt[i];
		a->rr[i].len = strlen(txt[i]);
	}
	a->n = a->total = (unsigned int)n;
}

static const struct posture_check *
dmarc(const char *const *txt, size_t n)
{
	struct posture_answer a;

	answer_of(&a, txt, n);
	memset(&res, 0, sizeof(res));
	dmarc_grade("d.test", &a, &res.dmarc);
	assert_true(res.dmarc.done);
	return &res.dmarc;
}

static void
dmarc_records(void **state)
{
	static const struct {
		const char *rec;
		int grade;
		const char *finding;
	} cases[] = {
		{ "v=DMARC1; p=reject; rua=mailto:d@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1; p=quarantine; rua=mailto:d@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1;p=reject;rua=mailto:d@d.test;", POSTURE_PASS, NULL },
		{ "v = DMARC1 ;\tP = Reject ; RUA=mailto:d@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1; p=reject", POSTURE_PASS, "no rua=" },
		{ "v=DMARC1; p=none; rua=mailto:d@d.test", POSTURE_WARN, "p=none" },
		{ "v=DMARC1; p=reject; pct=50; rua=mailto:d@d.test", POSTURE_WARN, "pct=50" },
		{ "v=DMARC1; p=reject; pct=100; rua=mailto:d@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1; p=reject; pct=0; rua=mailto:d@d.test", POSTURE_WARN, "pct=0" },
		{ "v=DMARC1; p=reject; pct=101; rua=mailto:d@d.test", POSTURE_WARN, "0..100" },
		{ "v=DMARC1; p=reject; pct=-1; rua=mailto:d@d.test", POSTURE_WARN, "0..100" },
		{ "v=DMARC1; p=reject; sp=none; rua=mailto:d@d.test", POSTURE_WARN, "sp=none" },
		{ "v=DMARC1; p=reject; sp=reject; rua=mailto:d@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1; p=reject; sp=maybe; rua=mailto:d@d.test", POSTURE_WARN, "sp=" },
		{ "v=DMARC1; p=reject; adkim=x; rua=mailto:d@d.test", POSTURE_WARN, "adkim" },
		{ "v=DMARC1; p=reject; rua=https://r.test/", POSTURE_WARN, "mailto" },
		{ "v=DMARC1; p=reject; rua=https://r.test/,mailto:a@d.test", POSTURE_PASS, NULL },
		{ "v=DMARC1; rua=mailto:d@d.test", POSTURE_FAIL, "no p= tag" },
		{ "v=DMARC1; p=bogus", POSTURE_FAIL, "invalid p=" },
		{ "v=DMARC1; p=reject; p=none", POSTURE_FAIL, "given twice" },
		{ "v=DMARC1; p=reject; 9x=1", POSTURE_FAIL, "malformed" },
		{ "v=DMARC1; p=reject; novalue", POSTURE_FAIL, "malformed" },
		{ "v=DMARC1; p=reject; future=tag", POSTURE_PASS, "no rua" },
		{ "v=dmarc1; p=reject", POSTURE_FAIL, "no DMARC record" },
		{ "p=reject; v=DMARC1", POSTURE_FAIL, "no DMARC record" },
		{ "v=DMARC1 p=reject", POSTURE_FAIL, "no DMARC record" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct posture_check *c = dmarc(&cases[i].rec, 1);

		if (c->verdict != cases[i].grade)
			fail_msg("'%s': %s, want %s", cases[i].rec, posture_grade_name(c->verdict),
				 posture_grade_name((unsigned int)cases[i].grade));
		if (cases[i].finding && !has_finding(c, -1, cases[i].finding))
			fail_msg("'%s': no finding about '%s'", cases[i].rec, cases[i].finding);
	}
}

static void
dmarc_answers(void **state)
{
	const char *two[] = { "v=DMARC1; p=reject", "v=DMARC1; p=none" };
	const char *mixed[] = { "some-verification=1", "v=DMARC1; p=reject; rua=mailto:a@d.test" };
	struct posture_answer a;
	const struct posture_check *c;

	c = dmarc(NULL, 0);
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "no DMARC record at _dmarc.d.test"));
	assert_false(c->dns_error);
	c = dmarc(two, 2);
	assert_true(has_finding(c, POSTURE_FAIL, "2 DMARC records"));
	c = dmarc(mixed, 2);
	assert_int_equal(c->verdict, POSTURE_PASS);
	assert_string_equal(c->record, mixed[1]);

	memset(&a, 0, sizeof(a));
	a.status = POSTURE_ANS_ERROR;
	a.error = "Timeout";
	memset(&res, 0, sizeof(res));
	dmarc_grade("d.test", &a, &res.dmarc);
	assert_int_equal(res.dmarc.verdict, POSTURE_FAIL);
	assert_true(res.dmarc.dns_error);
}

static const struct posture_check *
dkim(const char *rec)
{
	struct posture_answer a;

	answer_of(&a, &rec, rec ? 1 : 0);
	memset(&res, 0, sizeof(res));
	dkim_grade("s1", "d.test", &a, &res.dkim[0]);
	assert_true(res.dkim[0].done);
	assert_string_equal(res.dkim[0].selector, "s1");
	return &res.dkim[0];
}

static void
dkim_records(void **state)
{
	static const struct {
		const char *rec;
		int grade;
		unsigned int bits;
		const char *finding;
	} cases[] = {
		{ "v=DKIM1; k=rsa; p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "v=DKIM1; k=rsa; p=" RSA1024, POSTURE_WARN, 1024, "1024-bit" },
		{ "v=DKIM1; k=rsa; p=" RSA1023, POSTURE_FAIL, 1023, "1023-bit" },
		{ "v=DKIM1; k=rsa; p=" RSA512, POSTURE_FAIL, 512, "512-bit" },
		{ "v=DKIM1; p=" PKCS1_1024, POSTURE_WARN, 1024, "RSAPublicKey" },
		{ "v=DKIM1; k=ed25519; p=" ED25519, POSTURE_PASS, 256, "Ed25519" },
		{ "v=DKIM1; k=ed25519; p=" ED25519_SPKI, POSTURE_FAIL, 0, "raw 32-byte" },
		{ "v=DKIM1; k=rsa; p=", POSTURE_FAIL, 0, "revoked" },
		{ "v=DKIM1; k=rsa; p= ;", POSTURE_FAIL, 0, "revoked" },
		{ "v=DKIM1; k=rsa; t=y; p=" RSA2048, POSTURE_WARN, 2048, "t=y" },
		{ "v=DKIM1; t=s:y; p=" RSA2048, POSTURE_WARN, 2048, "t=y" },
		{ "v=DKIM1; t=s; p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "v=DKIM1; h=sha1; p=" RSA2048, POSTURE_WARN, 2048, "SHA-1" },
		{ "v=DKIM1; h=sha1:sha256; p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "v=DKIM1; s=email; p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "v=DKIM1; s=*; p=" RSA2048, POSTURE_PASS, 2048, NULL },
		{ "v=DKIM1; s=tlsrpt; p=" RSA2048, POSTURE_FAIL, 2048, "s= excludes" },
		{ "v=DKIM1; k=dsa; p=" RSA2048, POSTURE_FAIL, 0, "neither rsa" },
		{ "v=DKIM2; p=" RSA2048, POSTURE_FAIL, 0, "DKIM1" },
		{ "k=rsa; v=DKIM1; p=" RSA2048, POSTURE_FAIL, 0, "first" },
		{ "v=DKIM1; k=rsa", POSTURE_FAIL, 0, "no p=" },
		{ "v=DKIM1; p=" RSA2048 "; p=" RSA2048, POSTURE_FAIL, 0, "twice" },
		{ "v=DKIM1; p=not*base64", POSTURE_FAIL, 0, "base64" },
		{ "v=DKIM1; p=QUJD", POSTURE_FAIL, 0, "not an RSA" },
		{ "v=DKIM1; p=" ED25519_SPKI, POSTURE_FAIL, 0, "not an RSA" },
		{ "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEF AAOCAQ8AMIIBCgKCAQEAj5V+ilQrrKJZSZBy"
		  "mdV7WpLpeUdieYWPvOl/nt1n7fyUVptEs81XxVINQSiZnURKpxfsAE9BTHirqJ8Vc1djXC2tTihhzK3IDhrtPh"
		  "lzKk3QfGazlsEvupe+/HRI0B68LIaZ6BDoANzCXALTOp2fp+D7+zb6UaSmi3HZ+912Lg5EZSFAARU5/xI0jjt"
		  "daNaL8SmhTdfRWKIjElzuLWHHwS+6k0f9VAtuIalp8LwBr+laR4ymOahfLhFN7yZg7i0k6wZBVWPZtAcUHvqQ"
		  "9KfWDC43Fnfr+2C72gAp9JqH5SKHnswE/CcdfqssA5dqzqjXGeOEGJVJm3Bq0IlluuVQXQIDAQAB",
		  POSTURE_PASS, 2048, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct posture_check *c = dkim(cases[i].rec);

		if (c->verdict != cases[i].grade)
			fail_msg("case %zu: %s, want %s (%s)", i, posture_grade_name(c->verdict),
				 posture_grade_name((unsigned int)cases[i].grade),
				 c->n_findings ? c->findings[0].text : "");
		if (c->key_bits != cases[i].bits)
			fail_msg("case %zu: %u bits, want %u", i, c->key_bits, cases[i].bits);
		if (cases[i].finding && !has_finding(c, -1, cases[i].finding))
			fail_msg("case %zu: no finding about '%s'", i, cases[i].finding);
	}
}

static void
dkim_answers(void **state)
{
	const char *two[] = { "v=DKIM1; p=" RSA2048, "v=DKIM1; p=" RSA1024 };
	struct posture_answer a;
	const struct posture_check *c;

	c = dkim(NULL);
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "no DKIM key at s1._domainkey.d.test"));
	assert_null(c->key_type);
	answer_of(&a, two, 2);
	memset(&res, 0, sizeof(res));
	dkim_grade("s1", "d.test", &a, &res.dkim[0]);
	assert_int_equal(res.dkim[0].verdict, POSTURE_WARN);
	assert_true(has_finding(&res.dkim[0], POSTURE_WARN, "2 TXT records"));
}

static void
base64_and_der(void **state)
{
	uint8_t out[64];
	size_t n;
	unsigned int bits;
	bool pkcs1;
	static const uint8_t short_len[] = { 0x30, 0x82, 0x01 };
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00 };
	static const uint8_t too_long[] = { 0x30, 0x05, 0x02, 0x01, 0x01 };
	static const uint8_t zero_mod[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03 };
	static const uint8_t tiny[] = { 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03 };

	assert_int_equal(dkim_base64("QUJD", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "ABC", 3);
	assert_int_equal(dkim_base64("QU I=\r\n", 7, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(dkim_base64("QQ==", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dkim_base64("QQ=", 3, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(dkim_base64("Q===", 4, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(dkim_base64("QQ=A", 4, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(dkim_base64("QUJD", 4, out, 2, &n), -E2BIG);
	assert_int_equal(dkim_base64("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(dkim_rsa_bits(short_len, sizeof(short_len), &bits, &pkcs1), -EINVAL);
	assert_int_equal(dkim_rsa_bits(indefinite, sizeof(indefinite), &bits, &pkcs1), -EINVAL);
	assert_int_equal(dkim_rsa_bits(too_long, sizeof(too_long), &bits, &pkcs1), -EINVAL);
	assert_int_equal(dkim_rsa_bits(zero_mod, sizeof(zero_mod), &bits, &pkcs1), -EINVAL);
	assert_int_equal(dkim_rsa_bits(tiny, sizeof(tiny), &bits, &pkcs1), 0);
	assert_int_equal(bits, 3);
	assert_true(pkcs1);
}

/* ---- a domain's checks together ---- */

static const char sels[3][BW_SELECTOR_MAX + 1] = { "s1", "old", "gone" };

static const struct zrec zone_d[] = {
	TXT("d.test", "v=spf1 mx ~all"), MXR("d.test"),
	TXT("_dmarc.d.test", "v=DMARC1; p=none; rua=mailto:r@d.test"),
	TXT("s1._domainkey.d.test", "v=DKIM1; k=rsa; p=" RSA2048),
	TXT("old._domainkey.d.test", "v=DKIM1; p="),
};

static void
domain_checks(void **state)
{
	struct zone z = { zone_d, sizeof(zone_d) / sizeof(zone_d[0]), 0, { 0 } };

	assert_true(zone_run(&z, "d.test", sels, 3, &res) > 0);
	assert_string_equal(res.domain, "d.test");
	assert_int_equal(posture_check_grade(&res, POSTURE_SPF), POSTURE_WARN);
	assert_int_equal(posture_check_grade(&res, POSTURE_DMARC), POSTURE_WARN);
	assert_int_equal(posture_check_grade(&res, POSTURE_DKIM), POSTURE_FAIL);
	assert_int_equal(res.n_dkim, 3);
	assert_int_equal(res.dkim[0].verdict, POSTURE_PASS);
	assert_true(has_finding(&res.dkim[1], POSTURE_FAIL, "revoked"));
	assert_true(has_finding(&res.dkim[2], POSTURE_FAIL, "no DKIM key"));
	assert_int_equal(posture_domain_grade(&res), POSTURE_FAIL);
	assert_string_equal(posture_first_problem(&res.dmarc)->text,
			    res.dmarc.findings[0].text);
	assert_null(posture_first_problem(&res.dkim[0]));
	/* SPF, its mx, DMARC and three selectors. */
	assert_int_equal(z.asked, 6);
	assert_false(posture_dns_error(&res, POSTURE_SPF));
}

static void
no_selectors_no_dkim(void **state)
{
	struct zone z = { zone_d, sizeof(zone_d) / sizeof(zone_d[0]), 0, { 0 } };

	assert_true(zone_run(&z, "d.test", NULL, 0, &res) > 0);
	assert_int_equal(posture_check_grade(&res, POSTURE_DKIM), -1);
	assert_int_equal(posture_domain_grade(&res), POSTURE_WARN);
}

static void
abort_fails_the_rest(void **state)
{
	struct posture_domain d;
	struct posture_query q[POSTURE_QUERIES_MAX];
	void *walk = malloc(posture_walk_size());
	size_t n;

	posture_begin(&d, &res, walk, "d.test", sels, 1);
	n = posture_want(&d, q, POSTURE_QUERIES_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(posture_want(&d, q, POSTURE_QUERIES_MAX), 0);	/* all asked */
	assert_false(posture_done(&d));
	posture_abort(&d, "deadline");
	assert_true(posture_done(&d));
	assert_true(res.spf.dns_error && res.dmarc.dns_error && res.dkim[0].dns_error);
	assert_true(has_finding(&res.spf, POSTURE_FAIL, "deadline"));
	/* A late answer changes nothing. */
	posture_feed(&d, q[0].token, &(struct posture_answer){ .status = POSTURE_ANS_NXDOMAIN });
	assert_true(posture_done(&d));
	free(walk);
}

static void
findings_overflow_keeps_the_grade(void **state)
{
	struct posture_check c;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < POSTURE_FINDINGS_MAX; i++)
		posture_note(&c, POSTURE_PASS, "info %d", i);
	posture_note(&c, POSTURE_WARN, "dropped warning");
	posture_finish(&c);
	assert_int_equal(c.n_findings, POSTURE_FINDINGS_MAX);
	assert_int_equal(c.dropped, 1);
	assert_int_equal(c.verdict, POSTURE_WARN);
}

static char *
render(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct zone z = { zone_d, sizeof(zone_d) / sizeof(zone_d[0]), 0, { 0 } };

	assert_true(zone_run(&z, "d.test", sels, 2, &res) > 0);
	if (json)
		posture_print_json(f, &res, 1);
	else
		posture_print_text(f, &res, 1);
	fclose(f);
	return buf;
}

static void
output(void **state)
{
	static const char head[] = "{\"domains\":[{\"domain\":\"d.test\",\"verdict\":\"fail\","
				   "\"spf\":{\"record\":\"v=spf1 mx ~all\",\"verdict\":\"warn\",";
	char *t = render(false), *j = render(true);

	assert_non_null(strstr(t, "d.test: fail\n"));
	assert_non_null(strstr(t, "  spf    warn  \"v=spf1 mx ~all\"\n"));
	assert_non_null(strstr(t, "  dkim   pass  s1 (rsa, 2048 bits)\n"));
	assert_non_null(strstr(t, "  dkim   fail  old\n"));
	assert_non_null(strstr(t, "1 domain: 0 pass, 0 warn, 1 fail\n"));
	assert_memory_equal(j, head, sizeof(head) - 1);
	assert_non_null(strstr(j, "\"dmarc\":{\"record\":\"v=DMARC1; p=none; rua=mailto:r@d.test\","
				  "\"verdict\":\"warn\",\"dns_error\":false,\"findings\":"
				  "[{\"severity\":\"warn\",\"message\":\"d.test: p=none"));
	assert_non_null(strstr(j, "\"dkim\":[{\"selector\":\"s1\",\"record\":"));
	assert_non_null(strstr(j, "\"key_type\":\"rsa\",\"key_bits\":2048}"));
	assert_non_null(strstr(j, "{\"selector\":\"old\",\"record\":\"v=DKIM1; p=\",\"verdict\":\"fail\""));
	assert_non_null(strstr(j, "\"dns_lookups\":1,\"dns_lookups_partial\":false,\"void_lookups\":0}"));
	assert_string_equal(j + strlen(j) - 6, "}]}]}\n");
	free(t);
	free(j);
}

static void
resolver_addresses(void **state)
{
	static const struct {
		const char *s;
		int family;
		uint16_t port;
	} good[] = {
		{ "192.0.2.53", AF_INET, 53 }, { "192.0.2.53:5353", AF_INET, 5353 },
		{ "2001:db8::53", AF_INET6, 53 }, { "::1", AF_INET6, 53 },
		{ "[2001:db8::53]", AF_INET6, 53 }, { "[::1]:65535", AF_INET6, 65535 },
	};
	static const char *const bad[] = {
		"", "dns.example", "192.0.2.53:", "192.0.2.53:0", "192.0.2.53:65536",
		"192.0.2.53:053", "192.0.2.256", "[192.0.2.53]:53", "[::1", "[::1]53",
		"[::1]:x", "2001:db8::53:5353:1:2:3:4", " 192.0.2.53",
	};
	struct posture_resolver r;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (posture_resolver_parse(good[i].s, strlen(good[i].s), &r) != 0)
			fail_msg("'%s' refused", good[i].s);
		assert_int_equal(r.family, good[i].family);
		assert_int_equal(r.port, good[i].port);
	}
	assert_int_equal(posture_resolver_parse("192.0.2.53", 10, &r), 0);
	assert_memory_equal(r.addr, "\xc0\x00\x02\x35", 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (posture_resolver_parse(bad[i], strlen(bad[i]), &r) == 0)
			fail_msg("'%s' accepted", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dmarc_records),
		cmocka_unit_test(dmarc_answers),
		cmocka_unit_test(dkim_records),
		cmocka_unit_test(dkim_answers),
		cmocka_unit_test(base64_and_der),
		cmocka_unit_test(domain_checks),
		cmocka_unit_test(no_selectors_no_dkim),
		cmocka_unit_test(abort_fails_the_rest),
		cmocka_unit_test(findings_overflow_keeps_the_grade),
		cmocka_unit_test(output),
		cmocka_unit_test(resolver_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
