/*
 * test_request.c - the control-request language and its wire framing, as
 * both the CLI and the agent parse it.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(r, ...) request_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), r, err, sizeof(err))

static char err[256];

static void
block_add_full(void **state)
{
	struct request r;

	assert_int_equal(PARSE(&r, "block", "add", "10.0.0.0/26", "--ttl", "10m",
			       "--reason", "storm"), 0);
	assert_int_equal(r.cmd, REQ_BLOCK_ADD);
	assert_int_equal(r.ttl, 600);
	assert_int_equal(r.cidr.plen, 96 + 26);
	assert_string_equal(r.text, "storm");
	assert_int_equal(PARSE(&r, "block", "add", "fd00::1"), 0);
	assert_int_equal(r.cidr.plen, 128);
	assert_int_equal(r.ttl, 0);
}

static void
invalid_input_is_refused(void **state)
{
	struct request r;

	assert_int_equal(PARSE(&r, "block", "add", "10.0.0.5/24"), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.5/24"));
	assert_int_equal(PARSE(&r, "block", "add", "10.0.0.0/24", "--ttl", "soon"), -EINVAL);
	assert_int_equal(PARSE(&r, "block", "add"), -EINVAL);
	assert_int_equal(PARSE(&r, "block", "add", "10.0.0.1", "10.0.0.2"), -EINVAL);
	assert_int_equal(PARSE(&r, "block", "purge"), -EINVAL);
	assert_int_equal(PARSE(&r, "allow", "add", "10.0.0.1", "--ttl", "1m"), -EINVAL);
	assert_int_equal(PARSE(&r, "block", "add", "10.0.0.1", "--reason", "a\nb"), -EINVAL);
	assert_int_equal(PARSE(&r, "threshold", "set", "nope", "1"), -EINVAL);
	assert_int_equal(PARSE(&r, "threshold", "set", "syn_rate", "-1"), -EINVAL);
	assert_int_equal(PARSE(&r, "threshold", "set", "state_dir", "/tmp"), -EINVAL);
	assert_non_null(strstr(err, "restart"));
	assert_int_equal(PARSE(&r, "top", "-n", "0"), -EINVAL);
	assert_int_equal(PARSE(&r, "detach"), -EINVAL);
	assert_int_equal(PARSE(&r, "status", "--frob"), -EINVAL);
	assert_int_equal(PARSE(&r, "launch"), -EINVAL);
}

static void
threshold_and_misc(void **state)
{
	struct request r;

	assert_int_equal(PARSE(&r, "threshold", "set", "syn_rate", "5"), 0);
	assert_int_equal(r.cmd, REQ_THRESHOLD_SET);
	assert_string_equal(r.name, "syn_rate");
	assert_string_equal(r.value, "5");
	assert_int_equal(PARSE(&r, "threshold", "list", "--json"), 0);
	assert_true(r.json);
	assert_int_equal(PARSE(&r, "top", "-n", "5", "--json"), 0);
	assert_int_equal(r.top_n, 5);
	assert_int_equal(PARSE(&r, "detach", "-i", "eth0"), 0);
	assert_string_equal(r.ifname, "eth0");
}

static void
wire_round_trip(void **state)
{
	char *in[] = { "block", "add", "10.0.0.0/8", "--reason", "two words" };
	char buf[REQ_BYTES_MAX], *out[REQ_ARGS_MAX];
	int len, argc;

	len = request_encode(5, in, buf, sizeof(buf));
	assert_true(len > 0);
	argc = request_decode(buf, (size_t)len, out);
	assert_int_equal(argc, 5);
	assert_string_equal(out[4], "two words");

	/* Unterminated, empty, trailing junk after the end mark. */
	assert_int_equal(request_decode(buf, (size_t)len - 1, out), -EINVAL);
	assert_int_equal(request_decode(buf, 0, out), -EINVAL);
	buf[len] = 'x';
	assert_int_equal(request_decode(buf, (size_t)len + 1, out), -EINVAL);
	assert_int_equal(request_decode("\0", 1, out), -EINVAL);
	assert_int_equal(request_encode(5, in, buf, 10), -E2BIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_add_full),
		cmocka_unit_test(invalid_input_is_refused),
		cmocka_unit_test(threshold_and_misc),
		cmocka_unit_test(wire_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
