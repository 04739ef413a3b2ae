/*
 * test_rules.c - the agent's rule mirror and its state file.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kern.h"
#include "rules.h"

static struct rule_entry
mk(const char *cidr, uint32_t action, uint64_t expires, const char *text)
{
	struct rule_entry e = { 0 };
	char err[128];

	assert_int_equal(addr_parse_cidr(cidr, &e.cidr, err, sizeof(err)), 0);
	e.action = action;
	e.expires = expires;
	e.added = 1000;
	snprintf(e.text, sizeof(e.text), "%s", text);
	return e;
}

static void
put_replaces_same_cidr(void **state)
{
	struct rules r = { 0 };
	struct rule_entry a = mk("10.0.0.0/24", BW_ACT_BLOCK, 0, "one");
	struct rule_entry b = mk("10.0.0.0/24", BW_ACT_THROTTLE, 50, "two");

	assert_int_equal(rules_put(&r.block, &a), 0);
	assert_int_equal(rules_put(&r.block, &b), 1);
	assert_int_equal(r.block.n, 1);
	assert_string_equal(r.block.v[0].text, "two");
	assert_int_equal(rules_del(&r.block, &a.cidr), 0);
	assert_int_equal(rules_del(&r.block, &a.cidr), -ENOENT);
	rules_free(&r);
}

static void
plens_longest_first_and_bounded(void **state)
{
	struct rules r = { 0 };
	__u8 pl[BW_MAX_PLENS];
	char cidr[64];
	struct rule_entry e;

	e = mk("10.0.0.0/24", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("10.0.0.7", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("fd00::/64", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("fd00::/112", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	/* One list per family, each longest (a host) first. */
	assert_int_equal(rules_plens(&r.block, true, pl), 2);
	assert_int_equal(pl[0], 128);
	assert_int_equal(pl[1], 120);
	/* Family by address, not length: an IPv6 /112 is plen 112, under
	 * the IPv4 /24's 120 and over 96, and still IPv6. */
	assert_int_equal(rules_plens(&r.block, false, pl), 2);
	assert_int_equal(pl[0], 112);
	assert_int_equal(pl[1], 64);
	assert_int_equal(rules_plens(&r.allow, true, pl), 0);
	rules_free(&r);

	/* 16 distinct IPv6 lengths fit; the 17th is refused, an existing one
	 * not, and the IPv4 lengths have a budget of their own. */
	for (int p = 1; p <= BW_MAX_PLENS; p++) {
		snprintf(cidr, sizeof(cidr), "::/%d", p);
		e = mk(cidr, BW_ACT_BLOCK, 0, "");
		assert_int_equal(rules_put(&r.block, &e), 0);
	}
	e = mk("::/100", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), -E2BIG);
	e = mk("fe00::1", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), -E2BIG);
	e = mk("fe00::/8", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	e = mk("10.0.0.0/8", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	e = mk("10.0.0.9", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	/* The allow list has its own budget. */
	e = mk("::/100", 0, 0, "");
	assert_int_equal(rules_put(&r.allow, &e), 0);
	rules_free(&r);

	/* Likewise 16 IPv4 lengths (hosts one of them), whatever the IPv6
	 * side holds. */
	e = mk("fd00::/20", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("10.0.0.1", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	for (int p = 0; p < BW_MAX_PLENS - 1; p++) {
		snprintf(cidr, sizeof(cidr), "10.0.0.0/%d", 8 + p);
		e = mk(cidr, BW_ACT_BLOCK, 0, "");
		assert_int_equal(rules_put(&r.block, &e), 0);
	}
	e = mk("10.0.0.0/30", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), -E2BIG);
	e = mk("10.0.0.2", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	e = mk("fd00::/21", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), 0);
	assert_int_equal(rules_plens(&r.block, true, pl), BW_MAX_PLENS);
	assert_int_equal(pl[0], 128);
	assert_int_equal(pl[1], 96 + 22);
	assert_int_equal(pl[BW_MAX_PLENS - 1], 96 + 8);
	rules_free(&r);
}

/* The kernel's config: lengths per list and family. */
static void
build_config_per_family(void **state)
{
	struct bw_settings set;
	struct bw_config cfg;
	struct rules r = { 0 };
	struct rule_entry e;

	settings_defaults(&set);
	e = mk("10.0.0.0/24", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("2001:db8::/48", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("2001:db8::7", BW_ACT_BLOCK, 0, "");
	rules_put(&r.block, &e);
	e = mk("192.0.2.1", 0, 0, "");
	rules_put(&r.allow, &e);
	e = mk("fd00::/64", 0, 0, "");
	rules_put(&r.allow, &e);
	kern_build_config(&set, &r, &cfg);
	assert_int_equal(cfg.n_block_plens_v4, 1);
	assert_int_equal(cfg.block_plens_v4[0], 120);
	assert_int_equal(cfg.n_block_plens_v6, 2);
	assert_int_equal(cfg.block_plens_v6[0], 128);
	assert_int_equal(cfg.block_plens_v6[1], 48);
	assert_int_equal(cfg.n_allow_plens_v4, 1);
	assert_int_equal(cfg.allow_plens_v4[0], 128);
	assert_int_equal(cfg.n_allow_plens_v6, 1);
	assert_int_equal(cfg.allow_plens_v6[0], 64);
	/* 25, 465, 587 by default: their bits and no other. */
	assert_int_equal(cfg.port_bits, 1U << 25 | 1U << (465 % 32) | 1U << (587 % 32));
	rules_free(&r);
}

static void
match_longest_active(void **state)
{
	struct rules r = { 0 };
	struct rule_entry e;
	struct bw_cidr host;
	char err[64];

	e = mk("10.0.0.0/16", BW_ACT_BLOCK, 0, "wide");
	rules_put(&r.block, &e);
	e = mk("10.0.1.0/24", BW_ACT_THROTTLE, 100, "narrow, expires at 100");
	rules_put(&r.block, &e);
	addr_parse_cidr("10.0.1.9", &host, err, sizeof(err));
	assert_string_equal(rules_match(&r.block, host.addr, 50)->text, "narrow, expires at 100");
	assert_string_equal(rules_match(&r.block, host.addr, 100)->text, "wide");
	addr_parse_cidr("10.1.0.1", &host, err, sizeof(err));
	assert_null(rules_match(&r.block, host.addr, 50));
	rules_free(&r);
}

static void
expire_removes_only_expired(void **state)
{
	struct rules r = { 0 };
	struct rule_entry e, out[4];

	e = mk("10.0.0.1", BW_ACT_BLOCK, 10, "a");
	rules_put(&r.block, &e);
	e = mk("10.0.0.2", BW_ACT_BLOCK, 0, "forever");
	rules_put(&r.block, &e);
	e = mk("10.0.0.3", BW_ACT_BLOCK, 20, "b");
	rules_put(&r.block, &e);
	assert_int_equal(rules_expire(&r.block, 15, out, 4), 1);
	assert_string_equal(out[0].text, "a");
	assert_int_equal(rules_expire(&r.block, 1000, out, 4), 1);
	assert_int_equal(r.block.n, 1);
	assert_string_equal(r.block.v[0].text, "forever");
	rules_free(&r);
}

static void
save_load_round_trip(void **state)
{
	char dir[] = "/tmp/bw-rules-XXXXXX", err[256], path[300];
	struct rules r = { 0 }, back = { 0 };
	struct rule_entry e;
	unsigned int bad;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	e = mk("10.9.0.0/26", BW_ACT_BLOCK, 5000, "storm source, with spaces");
	e.origin = BW_ORIGIN_SCORER;
	e.offences = 3;
	rules_put(&r.block, &e);
	e = mk("fd00:1::/64", BW_ACT_THROTTLE, 0, "");
	rules_put(&r.block, &e);
	e = mk("192.0.2.1", 0, 0, "our relay");
	rules_put(&r.allow, &e);
	e = mk("10.8.0.1", BW_ACT_BLOCK, 100, "already expired at load");
	rules_put(&r.block, &e);
	assert_int_equal(rules_save(&r, dir, err, sizeof(err)), 0);

	assert_int_equal(rules_load(&back, dir, 1000, &bad, err, sizeof(err)), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(back.block.n, 2);
	assert_int_equal(back.allow.n, 1);
	assert_string_equal(back.allow.v[0].text, "our relay");
	assert_string_equal(rules_find(&back.block, &r.block.v[0].cidr)->text,
			    "storm source, with spaces");
	assert_int_equal(rules_find(&back.block, &r.block.v[0].cidr)->offences, 3);
	assert_int_equal(rules_find(&back.block, &r.block.v[0].cidr)->origin, BW_ORIGIN_SCORER);
	assert_int_equal(rules_find(&back.block, &r.block.v[1].cidr)->action, BW_ACT_THROTTLE);
	rules_free(&back);

	/* Damaged lines are skipped and counted; the good ones survive. */
	snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE);
	f = fopen(path, "a");
	fputs("block 10.0.0.5/24 1 0 block operator 0 host bits\n", f);
	fputs("block not-an-ip 1 0 block operator 0 x\n", f);
	fputs("frobnicate\n", f);
	fputs("block 10.7.0.0/16 1 0 explode operator 0 x\n", f);
	fclose(f);
	assert_int_equal(rules_load(&back, dir, 1000, &bad, err, sizeof(err)), 0);
	assert_int_equal(bad, 4);
	assert_non_null(strstr(err, RULES_FILE));
	assert_int_equal(back.block.n, 2);
	rules_free(&back);
	rules_free(&r);

	/* A missing file is an empty rule set, not an error. */
	unlink(path);
	assert_int_equal(rules_load(&back, dir, 1000, &bad, err, sizeof(err)), 0);
	assert_int_equal(back.block.n + back.allow.n, 0);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_replaces_same_cidr),
		cmocka_unit_test(plens_longest_first_and_bounded),
		cmocka_unit_test(build_config_per_family),
		cmocka_unit_test(match_longest_active),
		cmocka_unit_test(expire_removes_only_expired),
		cmocka_unit_test(save_load_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
