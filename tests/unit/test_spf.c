/*
 * test_spf.c - the SPF parser against record variants, and the SPF walk
 * against pretend zones: the all term, the 10-lookup limit through
 * include: and redirect=, void lookups, loops, duplicates, DNS errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spf.h"
#include "test_posture_zone.h"

static int
parse(const char *rec, struct spf_record *r, char *err, size_t errlen)
{
	return spf_parse(rec, strlen(rec), r, err, errlen);
}

static void
is_record(void **state)
{
	assert_true(spf_is_record("v=spf1", 6));
	assert_true(spf_is_record("v=spf1 -all", 11));
	assert_true(spf_is_record("V=SPF1 -all", 11));
	assert_false(spf_is_record("v=spf10 -all", 12));
	assert_false(spf_is_record("v=spf1\t-all", 11));
	assert_false(spf_is_record("v=spf", 5));
	assert_false(spf_is_record(" v=spf1 -all", 12));
	assert_false(spf_is_record("spf2.0/pra -all", 15));
}

static void
parses_good_records(void **state)
{
	static const char *const good[] = {
		"v=spf1",
		"v=spf1 -all",
		"v=spf1   ip4:192.0.2.0/24  ip6:2001:db8::/32 -all  ",
		"v=spf1 a mx a:mail.example.com mx:example.com/24 a/24//64 mx//48 ~all",
		"v=spf1 include:_spf.google.com include:spf.protection.outlook.com -all",
		"v=spf1 ptr ptr:example.com ?all",
		"v=spf1 exists:%{i}._spf.%{d} -all",
		"v=spf1 include:%{l1r-}.example.com redirect=_spf.example.com",
		"v=spf1 exp=explain.%{d} -all",
		"v=spf1 +all",
		"v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/0 ip6:::1/128 -all",
		"v=spf1 unknown-mod=whatever%{x} -all",
		"v=spf1 a:example.com. -all",
		"v=spf1 INCLUDE:Example.COM -ALL",
		"v=spf1 exists:%%%_%-.example.com -all",
	};
	struct spf_record r;
	char err[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(good[i], &r, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i], err);
	}
}

static void
parse_details(void **state)
{
	struct spf_record r;
	char err[128];
	const char *rec = "v=spf1 a:mail.example.com/24//64 ip4:192.0.2.0/25 ~all redirect=x.example";

	assert_int_equal(parse(rec, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.t[0].kind, SPF_A);
	assert_int_equal(r.t[0].cidr4, 24);
	assert_int_equal(r.t[0].cidr6, 64);
	assert_int_equal(r.t[0].len, strlen("mail.example.com"));
	assert_memory_equal(rec + r.t[0].off, "mail.example.com", r.t[0].len);
	assert_int_equal(r.t[1].kind, SPF_IP4);
	assert_int_equal(r.t[1].cidr4, 25);
	assert_int_equal(r.t[2].kind, SPF_ALL);
	assert_int_equal(r.t[2].qual, SPF_Q_SOFTFAIL);
	assert_int_equal(r.all, 2);
	assert_int_equal(r.redirect, 3);
	assert_false(r.terms_after_all);

	assert_int_equal(parse("v=spf1 -all a", &r, err, sizeof(err)), 0);
	assert_true(r.terms_after_all);
	assert_int_equal(parse("v=spf1 include:%{d}.x.example -all", &r, err, sizeof(err)), 0);
	assert_true(r.t[0].macro);
	assert_int_equal(parse("v=spf1 a -all", &r, err, sizeof(err)), 0);
	assert_int_equal(r.t[0].len, 0);
	assert_int_equal(r.t[0].cidr4, 32);
	assert_int_equal(r.t[0].cidr6, 128);
}

static void
refuses_bad_records(void **state)
{
	static const struct {
		const char *rec, *why;
	} bad[] = {
		{ "v=spf2 -all", "v=spf1" },
		{ "v=spf1 foo -all", "unknown mechanism" },
		{ "v=spf1 foo:bar -all", "unknown mechanism" },
		{ "v=spf1 include -all", "missing ':'" },
		{ "v=spf1 include: -all", "empty domain" },
		{ "v=spf1 include:example -all", "not a domain" },
		{ "v=spf1 include:example.123 -all", "not a domain" },
		{ "v=spf1 include:a..example.com -all", "not a domain" },
		{ "v=spf1 ip4:300.1.1.1 -all", "IPv4 address" },
		{ "v=spf1 ip4:192.0.2.0/33 -all", "prefix length" },
		{ "v=spf1 ip4:192.0.2.0/024 -all", "prefix length" },
		{ "v=spf1 ip4:192.0.2.0//64 -all", "prefix length" },
		{ "v=spf1 ip6:192.0.2.1 -all", "IPv6 address" },
		{ "v=spf1 ip6:2001:db8::/129 -all", "prefix length" },
		{ "v=spf1 ip4 -all", "missing ':'" },
		{ "v=spf1 a/33 -all", "prefix length" },
		{ "v=spf1 a//129 -all", "prefix length" },
		{ "v=spf1 all:x.example", "bad mechanism" },
		{ "v=spf1 redirect=a.example redirect=b.example", "second redirect" },
		{ "v=spf1 exp=a.example exp=b.example -all", "second exp" },
		{ "v=spf1 include:%{z}.example -all", "bad macro" },
		{ "v=spf1 include:%{d -all", "bad macro" },
		{ "v=spf1 include:50% -all", "bad macro" },
		{ "v=spf1 +redirect=a.example", "unknown mechanism" },
		{ "v=spf1 - -all", "unknown mechanism" },
		{ "v=spf1 a:ex\x01mple.com -all", "bad character" },
		{ "v=spf1 -all\tmx", "bad character" },
	};
	struct spf_record r;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].rec, &r, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i].rec);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].rec, err, bad[i].why);
	}
}

static void
refuses_too_many_terms(void **state)
{
	char rec[POSTURE_TXT_MAX + 64];
	struct spf_record r;
	char err[128];
	size_t n = (size_t)snprintf(rec, sizeof(rec), "v=spf1");

	for (int i = 0; i < SPF_TERMS_MAX; i++)
		n += (size_t)snprintf(rec + n, sizeof(rec) - n, " a");
	assert_int_equal(parse(rec, &r, err, sizeof(err)), 0);
	snprintf(rec + n, sizeof(rec) - n, " -all");
	assert_int_equal(parse(rec, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many terms"));
}

/* ---- the walk ---- */

static struct posture_result res;

static const struct posture_check *
walk(const struct zrec *z, size_t n, const char *domain)
{
	struct zone zone = { z, n, 0, { 0 } };

	assert_true(zone_run(&zone, domain, NULL, 0, &res) > 0);
	assert_true(res.spf.done);
	return &res.spf;
}

#define WALK(z, d)	walk(z, sizeof(z) / sizeof(z[0]), d)

static void
all_terms(void **state)
{
	static const struct {
		const char *rec;
		int grade;
		const char *finding;
	} cases[] = {
		{ "v=spf1 mx -all", POSTURE_PASS, NULL },
		{ "v=spf1 ip4:192.0.2.0/24 ~all", POSTURE_WARN, "~all" },
		{ "v=spf1 ip4:192.0.2.0/24 ?all", POSTURE_FAIL, "?all" },
		{ "v=spf1 +all", POSTURE_FAIL, "+all" },
		{ "v=spf1 all", POSTURE_FAIL, "+all" },
		{ "v=spf1 ip4:192.0.2.0/24", POSTURE_FAIL, "no all term" },
		{ "v=spf1 ip4:0.0.0.0/0 -all", POSTURE_FAIL, "every address" },
		{ "v=spf1 ip6:::/0 -all", POSTURE_FAIL, "every address" },
		{ "v=spf1 ip4:10.0.0.0/7 -all", POSTURE_WARN, "huge address range" },
		{ "v=spf1 -ip4:0.0.0.0/0 -all", POSTURE_PASS, NULL },
		{ "v=spf1 ptr -all", POSTURE_WARN, "ptr" },
		{ "v=spf1 -all mx", POSTURE_PASS, "never evaluated" },
		{ "v=spf1 bogus -all", POSTURE_FAIL, "malformed" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct zrec z[] = { TXT("d.test", cases[i].rec), MXR("d.test"),
					  ADDR("d.test") };
		const struct posture_check *c = WALK(z, "d.test");

		if (c->verdict != cases[i].grade)
			fail_msg("'%s': %s, want %s", cases[i].rec, posture_grade_name(c->verdict),
				 posture_grade_name((unsigned int)cases[i].grade));
		if (cases[i].finding && !has_finding(c, -1, cases[i].finding))
			fail_msg("'%s': no finding about %s", cases[i].rec, cases[i].finding);
		assert_true(c->has_record);
		assert_string_equal(c->record, cases[i].rec);
	}
}

static void
missing_and_duplicate(void **state)
{
	const struct zrec none[] = { TXT("d.test", "google-site-verification=abc") };
	const struct zrec two[] = { TXT("d.test", "v=spf1 -all"), TXT("d.test", "v=spf1 mx -all") };
	const struct zrec other[] = { TXT("d.test", "hello"), TXT("d.test", "v=spf1 -all") };
	const struct posture_check *c;

	c = WALK(none, "d.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "no SPF record"));
	assert_false(c->has_record);
	c = WALK(none, "nx.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_false(c->dns_error);
	assert_int_equal(c->voids, 0);	/* the top lookup is not a term */
	c = WALK(two, "d.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "2 SPF records"));
	c = WALK(other, "d.test");
	assert_int_equal(c->verdict, POSTURE_PASS);
}

static void
redirect_followed(void **state)
{
	const struct zrec z[] = {
		TXT("d.test", "v=spf1 redirect=_spf.d.test"),
		TXT("_spf.d.test", "v=spf1 ip4:192.0.2.0/24 ~all"),
		TXT("e.test", "v=spf1 redirect=_spf.e.test -all"),
		TXT("_spf.e.test", "v=spf1 +all"),
		TXT("f.test", "v=spf1 redirect=nx.test"),
	};
	const struct posture_check *c;

	c = WALK(z, "d.test");
	assert_int_equal(c->verdict, POSTURE_WARN);	/* the target's ~all is ours */
	assert_int_equal(c->lookups, 1);
	assert_true(has_finding(c, POSTURE_WARN, "_spf.d.test's SPF ends in ~all"));
	c = WALK(z, "e.test");	/* all present: redirect ignored, not counted */
	assert_int_equal(c->verdict, POSTURE_PASS);
	assert_int_equal(c->lookups, 0);
	c = WALK(z, "f.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "redirect=nx.test has no SPF record"));
	assert_int_equal(c->voids, 1);
}

static void
include_problems(void **state)
{
	const struct zrec z[] = {
		TXT("loop.test", "v=spf1 include:b.loop.test -all"),
		TXT("b.loop.test", "v=spf1 include:c.loop.test -all"),
		TXT("c.loop.test", "v=spf1 include:LOOP.test. -all"),
		TXT("self.test", "v=spf1 include:self.test -all"),
		TXT("plus.test", "v=spf1 include:open.test -all"),
		TXT("open.test", "v=spf1 +all"),
		TXT("gone.test", "v=spf1 include:nothere.test -all"),
		TXT("macro.test", "v=spf1 include:%{ir}.x.test -all"),
		TXT("soft.test", "v=spf1 include:softie.test -all"),
		TXT("softie.test", "v=spf1 ~all"),
	};
	const struct posture_check *c;

	c = WALK(z, "loop.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "include:loop.test loops back"));
	assert_int_equal(c->lookups, 3);
	c = WALK(z, "self.test");
	assert_true(has_finding(c, POSTURE_FAIL, "loops back"));
	c = WALK(z, "plus.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "include:open.test ends in +all"));
	c = WALK(z, "gone.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "include:nothere.test has no SPF record"));
	c = WALK(z, "macro.test");
	assert_int_equal(c->verdict, POSTURE_PASS);
	assert_int_equal(c->lookups, 1);
	assert_true(has_finding(c, POSTURE_PASS, "macro"));
	c = WALK(z, "soft.test");	/* an include's ~all is its own business */
	assert_int_equal(c->verdict, POSTURE_PASS);
}

/* A chain of n includes i1.test -> i2.test -> ... each ending in -all. */
static void
chain(struct zrec *z, char (*names)[32], char (*recs)[64], int n)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], 32, "i%d.test", i);
		if (i + 1 < n)
			snprintf(recs[i], 64, "v=spf1 include:i%d.test -all", i + 1);
		else
			snprintf(recs[i], 64, "v=spf1 ip4:192.0.2.1 -all");
		z[i] = (struct zrec)TXT(names[i], recs[i]);
	}
}

static void
lookup_limit(void **state)
{
	struct zrec z[20];
	char names[20][32], recs[20][64];
	const struct posture_check *c;
	struct zone zone;

	chain(z, names, recs, 11);	/* i0 + 10 includes: exactly 10 */
	c = walk(z, 11, "i0.test");
	assert_int_equal(c->lookups, 10);
	assert_int_equal(c->verdict, POSTURE_PASS);

	chain(z, names, recs, 20);	/* 19 includes: stops past 10 */
	zone = (struct zone){ z, 20, 0, { 0 } };
	assert_true(zone_run(&zone, "i0.test", NULL, 0, &res) > 0);
	c = &res.spf;
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_int_equal(c->lookups, 11);
	assert_true(c->lookups_partial);
	assert_true(has_finding(c, POSTURE_FAIL, "at least 11 DNS lookups"));
	/* i0..i10 and _dmarc: nothing fetched past the limit */
	assert_int_equal(zone.asked, 12);
}

static void
lookup_limit_flat(void **state)
{
	const struct zrec z[] = {
		TXT("flat.test", "v=spf1 a mx a:a1.test a:a2.test a:a3.test mx:m1.test mx:m2.test "
				 "exists:e1.test include:inc.test include:inc.test ptr -all"),
		TXT("inc.test", "v=spf1 ip4:192.0.2.1 -all"),
		ADDR("flat.test"), MXR("flat.test"), ADDR("a1.test"), ADDR("a2.test"),
		ADDR6("a3.test"), MXR("m1.test"), MXR("m2.test"), ADDR("e1.test"),
	};
	const struct posture_check *c = WALK(z, "flat.test");

	assert_int_equal(c->lookups, 11);
	assert_false(c->lookups_partial);
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "needs 11 DNS lookups"));
	assert_int_equal(c->voids, 0);	/* a3 has AAAA only: not void */
}

static void
void_lookups(void **state)
{
	const struct zrec z[] = {
		TXT("two.test", "v=spf1 a:gone1.test mx:gone2.test -all"),
		TXT("three.test", "v=spf1 a:gone1.test mx:gone2.test exists:gone3.test -all"),
		TXT("gone2.test", "not an MX"),	/* exists, no MX: NODATA is void too */
	};
	const struct posture_check *c;

	c = WALK(z, "two.test");
	assert_int_equal(c->voids, 2);
	assert_int_equal(c->verdict, POSTURE_PASS);
	c = WALK(z, "three.test");
	assert_int_equal(c->voids, 3);
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "gone1.test, gone2.test, gone3.test"));
}

static void
mx_limit(void **state)
{
	struct zrec z[13];
	const struct posture_check *c;

	z[0] = (struct zrec)TXT("mx.test", "v=spf1 mx -all");
	for (int i = 1; i < 13; i++)
		z[i] = (struct zrec)MXR("mx.test");	/* 12 MX records */
	c = walk(z, 13, "mx.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "12 MX records"));
	c = walk(z, 11, "mx.test");	/* 10 is fine */
	assert_int_equal(c->verdict, POSTURE_PASS);
}

static void
dns_errors_and_bounds(void **state)
{
	const struct zrec z[] = {
		FAILS("err.test", "Timeout"),
		TXT("inc.test", "v=spf1 include:err.test -all"),
	};
	struct zrec cut[] = { TXT("cut.test", "v=spf1 ip4:192.0.2.1") };
	struct zrec many[POSTURE_RR_MAX + 1];
	const struct posture_check *c;

	c = WALK(z, "err.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(c->dns_error);
	assert_true(has_finding(c, POSTURE_FAIL, "failed (Timeout)"));
	c = WALK(z, "inc.test");
	assert_true(c->dns_error);
	assert_int_equal(c->verdict, POSTURE_FAIL);

	cut[0].cut = true;
	c = WALK(cut, "cut.test");
	assert_true(has_finding(c, POSTURE_FAIL, "longer than"));

	for (int i = 0; i <= POSTURE_RR_MAX; i++)
		many[i] = (struct zrec)TXT("many.test", "v=spf1 -all");
	c = walk(many, POSTURE_RR_MAX + 1, "many.test");
	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "not all were read"));
}

static void
bad_include_name(void **state)
{
	const struct zrec z[] = { TXT("q.test", "v=spf1 include:we\"ird.test -all") };
	const struct posture_check *c = WALK(z, "q.test");

	assert_int_equal(c->verdict, POSTURE_FAIL);
	assert_true(has_finding(c, POSTURE_FAIL, "is not a host name"));
	assert_null(strchr(c->findings[0].text, '"'));	/* shown escaped */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(is_record),
		cmocka_unit_test(parses_good_records),
		cmocka_unit_test(parse_details),
		cmocka_unit_test(refuses_bad_records),
		cmocka_unit_test(refuses_too_many_terms),
		cmocka_unit_test(all_terms),
		cmocka_unit_test(missing_and_duplicate),
		cmocka_unit_test(redirect_followed),
		cmocka_unit_test(include_problems),
		cmocka_unit_test(lookup_limit),
		cmocka_unit_test(lookup_limit_flat),
		cmocka_unit_test(void_lookups),
		cmocka_unit_test(mx_limit),
		cmocka_unit_test(dns_errors_and_bounds),
		cmocka_unit_test(bad_include_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
