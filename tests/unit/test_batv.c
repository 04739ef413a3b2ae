/*
 * test_batv.c - BATV prvs= tags against vectors computed outside this code.
 *
 * The expected hashes were computed with the OpenSSL command line, e.g.
 *
 *	$ printf '%s' '0007alice@example.org' | openssl dgst -sha1 -hmac 's3cret'
 *	SHA1(stdin)= c9f9399678563bfaa987c7953e41b976e48fa6f7
 *	$ printf '%s' '3999bob@mail.example.net' | openssl dgst -sha1 -hmac 'another key'
 *	SHA1(stdin)= 7c7de769cfdb2ebfce38b9a2499d0e05e91f324c
 *	$ printf '%s' '0007alice@example.org' | openssl dgst -sha1 -hmac ''
 *	SHA1(stdin)= 3d1704ef729a5b7272a5cbbbd074df692b101143
 *	$ printf '%s' '0002alice@example.org' | openssl dgst -sha1 -hmac 's3cret'
 *	SHA1(stdin)= 7aeb82c9d109a9fa5bbb844e1d7e7d8039e8b380
 *
 * and a secret longer than a SHA-1 block with Python's hmac module:
 *	hmac.new(b'k'*100, b'0007alice@example.org', hashlib.sha1)
 *	-> 25b73005d4f08126c57b3f5096081ee5c60c0040
 *
 * (the tag keeps the first 6 hex digits).  Day 20000 is 2024-10-04, so a tag
 * signed that day expires on day 20007: DDD = 007.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "batv.h"

#define S(x)	x, sizeof(x) - 1

static void
sign_matches_openssl(void **state)
{
	char out[BATV_SIGNED_MAX];

	assert_int_equal(batv_sign(S("s3cret"), 0, "alice@example.org", 20000,
				   out, sizeof(out)),
			 (int)strlen("prvs=0007c9f939=alice@example.org"));
	assert_string_equal(out, "prvs=0007c9f939=alice@example.org");

	assert_true(batv_sign(S("another key"), 3, "bob@mail.example.net",
			      19992, out, sizeof(out)) > 0);
	assert_string_equal(out, "prvs=39997c7de7=bob@mail.example.net");

	assert_true(batv_sign("", 0, 0, "alice@example.org", 20000, out,
			      sizeof(out)) > 0);
	assert_string_equal(out, "prvs=00073d1704=alice@example.org");

	{
		char key[100];

		memset(key, 'k', sizeof(key));
		assert_true(batv_sign(key, sizeof(key), 0, "alice@example.org",
				      20000, out, sizeof(out)) > 0);
		assert_string_equal(out, "prvs=000725b730=alice@example.org");
	}
}

static void
sign_rejects_bad_input(void **state)
{
	char out[BATV_SIGNED_MAX], big[BATV_ADDR_MAX + 10];

	assert_int_equal(batv_sign(S("k"), 10, "a@b", 1, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(batv_sign(S("k"), 0, "ab", 1, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(batv_sign(S("k"), 0, "@b", 1, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(batv_sign(S("k"), 0, "a@", 1, out, sizeof(out)),
			 -EINVAL);
	/* "prvs=" 10 "=" + "a@b" + NUL = 20 bytes */
	assert_int_equal(batv_sign(S("k"), 0, "a@b", 1, out, 19), -ENOSPC);
	assert_int_equal(batv_sign(S("k"), 0, "a@b", 1, out, 20), 19);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '@';
	assert_int_equal(batv_sign(S("k"), 0, big, 1, out, sizeof(out)),
			 -EINVAL);
}

static void
check_known_vectors(void **state)
{
	assert_int_equal(batv_check(S("s3cret"),
				    "prvs=0007c9f939=alice@example.org", 20000),
			 BATV_VALID);
	/* Hex case does not matter, nor does the case of "prvs=". */
	assert_int_equal(batv_check(S("s3cret"),
				    "PRVS=0007C9F939=alice@example.org", 20000),
			 BATV_VALID);
	assert_int_equal(batv_check(S("another key"),
				    "prvs=39997c7de7=bob@mail.example.net",
				    19992),
			 BATV_VALID);
}

static void
check_wrong_secret_or_address(void **state)
{
	/* Right format, wrong key: forged. */
	assert_int_equal(batv_check(S("s3cres"),
				    "prvs=0007c9f939=alice@example.org", 20000),
			 BATV_INVALID);
	/* Tag moved onto another address. */
	assert_int_equal(batv_check(S("s3cret"),
				    "prvs=0007c9f939=alicf@example.org", 20000),
			 BATV_INVALID);
	/* Key digit is hashed too. */
	assert_int_equal(batv_check(S("s3cret"),
				    "prvs=1007c9f939=alice@example.org", 20000),
			 BATV_INVALID);
	/* One hex digit off. */
	assert_int_equal(batv_check(S("s3cret"),
				    "prvs=0007c9f938=alice@example.org", 20000),
			 BATV_INVALID);
}

static void
check_expiry_window(void **state)
{
	const char *t = "prvs=0007c9f939=alice@example.org";	/* expires 20007 */

	assert_int_equal(batv_check(S("s3cret"), t, 20000), BATV_VALID);
	assert_int_equal(batv_check(S("s3cret"), t, 20007), BATV_VALID);
	assert_int_equal(batv_check(S("s3cret"), t, 20008), BATV_EXPIRED);
	assert_int_equal(batv_check(S("s3cret"), t, 21000), BATV_VALID);
	/* More than 7 days ahead: not one we signed that recently. */
	assert_int_equal(batv_check(S("s3cret"), t, 19999), BATV_EXPIRED);

	/* Across the 1000-day wrap: signed day 19995, DDD 002 (= 20002). */
	t = "prvs=00027aeb82=alice@example.org";
	assert_int_equal(batv_check(S("s3cret"), t, 19995), BATV_VALID);
	assert_int_equal(batv_check(S("s3cret"), t, 19999), BATV_VALID);
	assert_int_equal(batv_check(S("s3cret"), t, 20002), BATV_VALID);
	assert_int_equal(batv_check(S("s3cret"), t, 20003), BATV_EXPIRED);

	/* Tag with DDD 999 checked on day 20000 (000): expired. */
	assert_int_equal(batv_check(S("another key"),
				    "prvs=39997c7de7=bob@mail.example.net",
				    20000),
			 BATV_EXPIRED);
	assert_int_equal(batv_check(S("another key"),
				    "prvs=39997c7de7=bob@mail.example.net",
				    19999),
			 BATV_VALID);
}

static void
check_untagged(void **state)
{
	assert_int_equal(batv_check(S("k"), "alice@example.org", 1),
			 BATV_NO_TAG);
	assert_int_equal(batv_check(S("k"), "", 1), BATV_NO_TAG);
	assert_int_equal(batv_check(S("k"), "prv", 1), BATV_NO_TAG);
	assert_int_equal(batv_check(S("k"), "prvsx=0007c9f939=a@b", 1),
			 BATV_NO_TAG);
	assert_int_equal(batv_check(S("k"), "xprvs=0007c9f939=a@b", 1),
			 BATV_NO_TAG);
}

static void
check_malformed(void **state)
{
	static const char *const bad[] = {
		"prvs=",
		"prvs=0007c9f939",
		"prvs=0007c9f939=",
		"prvs=0007c9f939=alice",
		"prvs=0007c9f939=@example.org",
		"prvs=0007c9f939=alice@",
		"prvs=000c9f939=alice@example.org",	/* DDD too short */
		"prvs=00070c9f939=alice@example.org",	/* too long */
		"prvs=0007c9f93=alice@example.org",	/* hash too short */
		"prvs=0007c9f93g=alice@example.org",	/* not hex */
		"prvs=a007c9f939=alice@example.org",	/* K not a digit */
		"prvs=00x7c9f939=alice@example.org",
		"prvs=0007c9f939-alice@example.org",	/* wrong separator */
		"prvs=alice=0007c9f939@example.org",	/* old draft order */
	};
	char big[BATV_SIGNED_MAX + 20];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(batv_check(S("s3cret"), bad[i], 20000),
				 BATV_INVALID);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "prvs=0007c9f939=", 16);
	big[40] = '@';
	assert_int_equal(batv_check(S("s3cret"), big, 20000), BATV_INVALID);
}

static void
round_trip(void **state)
{
	char out[BATV_SIGNED_MAX];

	for (uint64_t day = 19990; day < 20010; day++) {
		assert_true(batv_sign(S("rt"), day % 10, "x.y+z@sub.example",
				      day, out, sizeof(out)) > 0);
		assert_int_equal(batv_check(S("rt"), out, day), BATV_VALID);
		assert_int_equal(batv_check(S("rt"), out, day + 7), BATV_VALID);
		assert_int_equal(batv_check(S("rt"), out, day + 8),
				 BATV_EXPIRED);
		assert_int_equal(batv_check(S("rt2"), out, day), BATV_INVALID);
	}
	assert_string_equal(batv_result_name(BATV_EXPIRED), "expired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_matches_openssl),
		cmocka_unit_test(sign_rejects_bad_input),
		cmocka_unit_test(check_known_vectors),
		cmocka_unit_test(check_wrong_secret_or_address),
		cmocka_unit_test(check_expiry_window),
		cmocka_unit_test(check_untagged),
		cmocka_unit_test(check_malformed),
		cmocka_unit_test(round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
