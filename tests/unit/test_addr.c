/*
 * test_addr.c - CIDR and duration parsing as the operator types them.
 *
 * Each negative case names the rule it checks: a parser that accepts too
 * much turns a typo into a block on the wrong network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static struct bw_cidr
cidr(const char *s)
{
	struct bw_cidr c;
	char err[128];

	if (addr_parse_cidr(s, &c, err, sizeof(err)) != 0)
		fail_msg("'%s' should parse: %s", s, err);
	return c;
}

static void
reject(const char *s, const char *why_contains)
{
	struct bw_cidr c = { .plen = 77 };
	char err[128] = "";

	if (addr_parse_cidr(s, &c, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' should be rejected", s);
	assert_int_equal(c.plen, 77);	/* *out untouched */
	assert_non_null(strstr(err, why_contains));
}

static const char *
fmt(const struct bw_cidr *c)
{
	static char buf[ADDR_CIDR_STRLEN];

	return addr_format_cidr(c, buf, sizeof(buf));
}

static const char *
fmt_s(const char *s)
{
	struct bw_cidr c = cidr(s);

	return fmt(&c);
}

/* Is `inner` (text) inside `outer`? */
static bool
in_c(const struct bw_cidr *outer, const char *inner)
{
	struct bw_cidr i = cidr(inner);

	return addr_cidr_contains(outer, &i);
}

static bool
in_o(const char *outer, const struct bw_cidr *inner)
{
	struct bw_cidr o = cidr(outer);

	return addr_cidr_contains(&o, inner);
}

static bool
in(const char *outer, const char *inner)
{
	struct bw_cidr o = cidr(outer);

	return in_c(&o, inner);
}

static void
v4_with_and_without_prefix(void **state)
{
	struct bw_cidr c = cidr("10.0.0.0/26");
	static const __u8 want[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };

	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(c.plen, 96 + 26);
	assert_true(addr_is_v4(c.addr));
	assert_int_equal(addr_family_plen(&c), 26);
	assert_false(addr_is_host(&c));
	assert_string_equal(fmt(&c), "10.0.0.0/26");

	c = cidr("192.0.2.7");
	assert_int_equal(c.plen, 128);
	assert_true(addr_is_host(&c));
	assert_int_equal(addr_family_plen(&c), 32);
	assert_string_equal(fmt(&c), "192.0.2.7/32");

	c = cidr("192.0.2.7/32");
	assert_int_equal(c.plen, 128);
}

static void
v6_with_and_without_prefix(void **state)
{
	struct bw_cidr c = cidr("fd00:1:2:3::/64");

	assert_int_equal(c.plen, 64);
	assert_false(addr_is_v4(c.addr));
	assert_int_equal(addr_family_plen(&c), 64);
	assert_string_equal(fmt(&c), "fd00:1:2:3::/64");

	c = cidr("2001:DB8::1");
	assert_int_equal(c.plen, 128);
	assert_true(addr_is_host(&c));
	assert_string_equal(fmt(&c), "2001:db8::1/128");

	c = cidr("fd00:1:2:3:4:5:6:7/128");
	assert_string_equal(fmt(&c), "fd00:1:2:3:4:5:6:7/128");
}

static void
zero_prefix_is_everything(void **state)
{
	struct bw_cidr c = cidr("0.0.0.0/0");

	assert_int_equal(c.plen, 96);
	assert_string_equal(fmt(&c), "0.0.0.0/0");
	assert_true(in_c(&c, "203.0.113.9"));
	assert_false(in_c(&c, "2001:db8::1"));

	c = cidr("::/0");
	assert_int_equal(c.plen, 0);
	assert_string_equal(fmt(&c), "::/0");
	assert_true(in_c(&c, "2001:db8::1"));
	assert_true(in_c(&c, "203.0.113.9"));

	reject("1.2.3.4/0", "host bits");
	reject("::1/0", "host bits");
}

static void
v4_mapped_is_v4(void **state)
{
	struct bw_cidr c = cidr("::ffff:1.2.3.4");
	struct bw_cidr d = cidr("1.2.3.4");

	assert_memory_equal(c.addr, d.addr, 16);
	assert_int_equal(c.plen, d.plen);
	assert_string_equal(fmt(&c), "1.2.3.4/32");

	/* A prefix after IPv6 notation counts on the 128-bit form. */
	c = cidr("::ffff:10.0.0.0/120");
	assert_string_equal(fmt(&c), "10.0.0.0/24");
	reject("::ffff:10.0.0.0/24", "host bits");
	c = cidr("::ffff:0:0/96");
	assert_string_equal(fmt(&c), "0.0.0.0/0");
}

static void
host_bits_rejected(void **state)
{
	char err[128];
	struct bw_cidr c;

	reject("10.0.0.5/24", "host bits");
	reject("fd00::1/64", "host bits");
	reject("10.0.0.1/31", "host bits");
	/* The reason names the network the operator probably meant. */
	assert_int_equal(addr_parse_cidr("10.0.0.5/24", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.0/24"));
}

static void
prefix_out_of_range_rejected(void **state)
{
	reject("10.0.0.0/33", "0..32");
	reject("fd00::/129", "0..128");
	reject("10.0.0.0/-1", "prefix");
	reject("10.0.0.0/+8", "prefix");
	reject("10.0.0.0/08", "prefix");	/* leading zero */
	reject("10.0.0.0/1000", "prefix");
	reject("10.0.0.0/99999999999999999999", "prefix");
	reject("1.2.3.4/", "prefix");
	reject("1.2.3.4/24/24", "prefix");
	reject("10.0.0.0/ 8", "prefix");
}

static void
garbage_rejected(void **state)
{
	reject("", "address");
	reject("/24", "address");
	reject("abc", "address");
	reject("1.2.3", "address");		/* no inet_aton shorthand */
	reject("1.2.3.4.5", "address");
	reject("256.1.1.1", "address");
	reject("01.2.3.4", "address");		/* octal-looking */
	reject("0x7f.0.0.1", "address");
	reject("fe80::1%eth0", "address");	/* zone ids */
	reject("fd00:::1", "address");
	reject("1.2.3.4 ", "address");		/* no whitespace either side */
	reject(" 1.2.3.4", "address");
	reject("1.2.3.4\n", "address");
	reject("1.2.3.4 /24", "address");
	reject("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64", "address");
}

static void
bare_addr_parse(void **state)
{
	__u8 a[16], b[16];

	assert_int_equal(addr_parse("198.51.100.1", a), 0);
	assert_true(addr_is_v4(a));
	assert_int_equal(a[15], 1);
	assert_int_equal(addr_parse("::ffff:198.51.100.1", b), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(addr_parse("2001:db8::", a), 0);
	assert_false(addr_is_v4(a));
	memset(b, 0xaa, sizeof(b));
	memcpy(a, b, 16);
	assert_int_equal(addr_parse("10.0.0.0/8", a), -EINVAL);
	assert_int_equal(addr_parse("", a), -EINVAL);
	assert_memory_equal(a, b, 16);	/* untouched on error */
}

static void
format_round_trips(void **state)
{
	static const char *const cases[] = {
		"0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.0.2.128/25",
		"203.0.113.255/32", "255.255.255.255/32", "::/0", "::1/128",
		"2001:db8::/32", "fd00:1:2:3::/64", "2001:db8:0:0:1::/80",
		"fe80::1:2/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bw_cidr c = cidr(cases[i]), d;
		char buf[ADDR_CIDR_STRLEN], err[128];

		addr_format_cidr(&c, buf, sizeof(buf));
		assert_int_equal(addr_parse_cidr(buf, &d, err, sizeof(err)), 0);
		assert_memory_equal(&c, &d, sizeof(c));
		assert_string_equal(buf, cases[i]);
	}
	/* Non-canonical spellings come back canonical. */
	assert_string_equal(fmt_s("2001:0DB8:0000::/48"),
			    "2001:db8::/48");
}

static void
format_truncates_safely(void **state)
{
	struct bw_cidr c = cidr("192.0.2.0/24");
	char small[6];

	assert_ptr_equal(addr_format_cidr(&c, small, sizeof(small)), small);
	assert_string_equal(small, "192.0");
}

static void
mask_clears_host_bits(void **state)
{
	__u8 a[16];

	memset(a, 0xff, sizeof(a));
	addr_mask(a, 121);
	assert_int_equal(a[14], 0xff);
	assert_int_equal(a[15], 0x80);
	addr_mask(a, 8);
	assert_int_equal(a[0], 0xff);
	for (int i = 1; i < 16; i++)
		assert_int_equal(a[i], 0);
	memset(a, 0xff, sizeof(a));
	addr_mask(a, 128);
	assert_int_equal(a[15], 0xff);
	addr_mask(a, 0);
	assert_int_equal(a[0], 0);
}

static void
contains(void **state)
{
	struct bw_cidr net = cidr("10.1.0.0/16");
	struct bw_cidr v6 = cidr("2001:db8:1::/48");

	assert_true(in_c(&net, "10.1.200.3"));
	assert_true(in_c(&net, "10.1.128.0/17"));
	assert_true(addr_cidr_contains(&net, &net));
	{
		struct bw_cidr same = cidr("10.1.0.0/16"), wider = cidr("10.0.0.0/15");

		assert_true(addr_cidr_equal(&net, &same));
		assert_false(addr_cidr_equal(&net, &wider));
		assert_false(addr_cidr_equal(&net, &v6));
	}
	assert_false(in_c(&net, "10.2.0.1"));
	/* A wider network is not inside a narrower one. */
	assert_false(in_c(&net, "10.0.0.0/8"));
	assert_true(in_o("10.0.0.0/8", &net));
	/* Families never mix, even where the bits could line up. */
	assert_false(in_c(&net, "::a01:1"));
	assert_true(in_c(&v6, "2001:db8:1:ffff::9"));
	assert_false(in_c(&v6, "2001:db8:2::1"));
	/* Hosts contain only themselves. */
	assert_true(in("10.1.2.3", "10.1.2.3"));
	assert_false(in("10.1.2.3", "10.1.2.4"));
}

static void
duration_units(void **state)
{
	static const struct {
		const char *in;
		uint64_t secs;
	} ok[] = {
		{ "90s", 90 }, { "10m", 600 }, { "2h", 7200 }, { "1d", 86400 },
		{ "45", 45 }, { "1", 1 }, { "007", 7 }, { "3650d", 3650ULL * 86400 },
		{ "315360000", 315360000 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t secs = 0;

		assert_int_equal(duration_parse(ok[i].in, &secs), 0);
		assert_int_equal(secs, ok[i].secs);
	}
}

static void
duration_rejects(void **state)
{
	static const char *const bad[] = {
		"0", "0s", "0d",			/* zero: a block must last */
		"", "s", "m",				/* no number */
		"10x", "10ms", "1h30m", "10 m", "10mm",	/* unit */
		"-5", "+5", " 5", "5 ", "5\n",		/* signs, spaces */
		"1.5h", "0x10", "10M", "1D",		/* not our syntax */
		"3651d", "315360001", "87601h",		/* over ten years */
		"18446744073709551616", "99999999999999999999999s",	/* overflow */
		"18446744073709551615d",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t secs = 1234;

		if (duration_parse(bad[i], &secs) != -EINVAL)
			fail_msg("duration '%s' should be rejected", bad[i]);
		assert_int_equal(secs, 1234);
	}
}

static void
duration_formats_shortest(void **state)
{
	static const struct {
		uint64_t secs;
		const char *out;
	} cases[] = {
		{ 90, "90s" }, { 600, "10m" }, { 7200, "2h" }, { 86400, "1d" },
		{ 86400 * 2 + 3600, "49h" }, { 3601, "3601s" }, { 1, "1s" }, { 0, "0s" },
		{ 120, "2m" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t back;

		assert_string_equal(duration_format(cases[i].secs, buf, sizeof(buf)),
				    cases[i].out);
		if (cases[i].secs) {
			assert_int_equal(duration_parse(buf, &back), 0);
			assert_int_equal(back, cases[i].secs);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v4_with_and_without_prefix),
		cmocka_unit_test(v6_with_and_without_prefix),
		cmocka_unit_test(zero_prefix_is_everything),
		cmocka_unit_test(v4_mapped_is_v4),
		cmocka_unit_test(host_bits_rejected),
		cmocka_unit_test(prefix_out_of_range_rejected),
		cmocka_unit_test(garbage_rejected),
		cmocka_unit_test(bare_addr_parse),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(format_truncates_safely),
		cmocka_unit_test(mask_clears_host_bits),
		cmocka_unit_test(contains),
		cmocka_unit_test(duration_units),
		cmocka_unit_test(duration_rejects),
		cmocka_unit_test(duration_formats_shortest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
