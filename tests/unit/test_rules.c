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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kern.h"
#include "rules.h"
#include "rules_state.h"

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
	struct bw_static st;
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
	/* The restart-only part: 25, 465, 587 by default, their mask bits
	 * and no other; the rate-tracking prefixes. */
	kern_build_static(&set, &st);
	assert_int_equal(st.n_ports, 3);
	assert_int_equal(st.ports[0], 25);
	assert_int_equal(st.ports[2], 587);
	assert_true(st.port_mask == (1ULL << 25 | 1ULL << (465 % 64) | 1ULL << (587 % 64)));
	assert_int_equal(st.prefix_v4, 32);
	assert_int_equal(st.prefix_v6, 64);
	rules_free(&r);
}

/* The mirror takes max_rules per list, as the kernel's maps are sized;
 * a replacement still fits when full. */
static void
max_rules_bounds_each_list(void **state)
{
	struct rules r = { 0 };
	struct rule_entry e;
	char cidr[32];

	rules_set_max(&r, 1024);
	assert_int_equal(rules_max(&r.block), 1024);
	for (int i = 0; i < 1024; i++) {
		snprintf(cidr, sizeof(cidr), "10.0.%d.%d", i / 256, i % 256);
		e = mk(cidr, BW_ACT_BLOCK, 0, "");
		assert_int_equal(rules_put(&r.block, &e), 0);
	}
	e = mk("10.9.9.9", BW_ACT_BLOCK, 0, "");
	assert_int_equal(rules_put(&r.block, &e), -ENOSPC);
	e = mk("10.0.0.1", BW_ACT_THROTTLE, 0, "replaced");
	assert_int_equal(rules_put(&r.block, &e), 1);
	e = mk("10.9.9.9", 0, 0, "");
	assert_int_equal(rules_put(&r.allow, &e), 0);
	/* Never past the kernel's own cap. */
	rules_set_max(&r, (size_t)BW_RULES_MAX * 4);
	assert_int_equal(rules_max(&r.allow), BW_RULES_MAX);
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

struct gone_log {
	char text[4][RULE_TEXT_MAX + 1];
	int n;
};

static void
note_gone(void *arg, const struct rule_entry *e)
{
	struct gone_log *g = arg;

	if (g->n < 4)
		snprintf(g->text[g->n], sizeof(g->text[0]), "%s", e->text);
	g->n++;
}

static void
expire_removes_only_expired(void **state)
{
	struct rules r = { 0 };
	struct rule_entry e;
	struct gone_log g = { 0 };

	e = mk("10.0.0.1", BW_ACT_BLOCK, 10, "a");
	rules_put(&r.block, &e);
	e = mk("10.0.0.2", BW_ACT_BLOCK, 0, "forever");
	rules_put(&r.block, &e);
	e = mk("10.0.0.3", BW_ACT_BLOCK, 20, "b");
	rules_put(&r.block, &e);
	assert_int_equal(rules_expire(&r.block, 15, note_gone, &g), 1);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], "a");
	assert_int_equal(rules_expire(&r.block, 1000, NULL, NULL), 1);
	assert_int_equal(r.block.n, 1);
	assert_string_equal(r.block.v[0].text, "forever");
	/* The index followed every move: the survivor is still found. */
	e = mk("10.0.0.2", BW_ACT_BLOCK, 0, "");
	assert_non_null(rules_find(&r.block, &e.cidr));
	e = mk("10.0.0.3", BW_ACT_BLOCK, 0, "");
	assert_null(rules_find(&r.block, &e.cidr));
	rules_free(&r);
}

/* The index against a plain array, through 20,000 random puts and
 * deletes over a small address space (lots of collisions and moves). */
static void
index_matches_linear_model(void **state)
{
	struct rules r = { 0 };
	static uint8_t present[4096];
	uint32_t x = 12345;
	size_t live = 0;
	uint8_t seed[16] = { 1, 2, 3 };

	rules_seed(&r, seed);
	memset(present, 0, sizeof(present));
	for (int step = 0; step < 20000; step++) {
		struct rule_entry e = { 0 };
		uint32_t k;

		x = x * 1103515245 + 12345;
		k = (x >> 8) % 4096;
		e.cidr.addr[10] = e.cidr.addr[11] = 0xff;
		e.cidr.addr[14] = (uint8_t)(k >> 8);
		e.cidr.addr[15] = (uint8_t)k;
		e.cidr.plen = 128;
		e.action = BW_ACT_BLOCK;
		if ((x >> 20) & 1) {
			int ret = rules_put(&r.block, &e);

			assert_int_equal(ret, present[k] ? 1 : 0);
			live += !present[k];
			present[k] = 1;
		} else {
			assert_int_equal(rules_del(&r.block, &e.cidr), present[k] ? 0 : -ENOENT);
			live -= present[k];
			present[k] = 0;
		}
		if (step % 1000 == 0) {
			assert_int_equal(r.block.n, live);
			for (uint32_t q = 0; q < 4096; q++) {
				e.cidr.addr[14] = (uint8_t)(q >> 8);
				e.cidr.addr[15] = (uint8_t)q;
				assert_int_equal(rules_find(&r.block, &e.cidr) != NULL, present[q]);
			}
		}
	}
	rules_free(&r);
}

static const char *
tmp_state_dir(char *dir)
{
	strcpy(dir, "/tmp/bw-rules-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
save_load_round_trip(void **state)
{
	char dir[32], err[256], path[300];
	struct rules r = { 0 }, back = { 0 };
	struct rules_load_report rep;
	struct rule_entry e;
	FILE *f;

	tmp_state_dir(dir);
	e = mk("10.9.0.0/26", BW_ACT_BLOCK, 5000, "storm source, with spaces");
	e.origin = BW_ORIGIN_SCORER;
	e.offences = 3;
	rules_put(&r.block, &e);
	e = mk("fd00:1::/64", BW_ACT_THROTTLE, 0, "");
	e.origin = BW_ORIGIN_CROWDSEC;
	rules_put(&r.block, &e);
	e = mk("192.0.2.1", 0, 0, "our relay");
	rules_put(&r.allow, &e);
	e = mk("10.8.0.1", BW_ACT_BLOCK, 100, "already expired at load");
	rules_put(&r.block, &e);
	assert_int_equal(rules_save(&r, dir, err, sizeof(err)), 0);

	assert_int_equal(rules_load(&back, dir, 1000, &rep, err, sizeof(err)), 0);
	assert_true(rep.found);
	assert_true(rep.header);
	assert_int_equal(rep.bad, 0);
	assert_int_equal(rep.expired, 1);
	assert_int_equal(back.block.n, 2);
	assert_int_equal(back.allow.n, 1);
	assert_string_equal(back.allow.v[0].text, "our relay");
	assert_string_equal(rules_find(&back.block, &r.block.v[0].cidr)->text,
			    "storm source, with spaces");
	assert_int_equal(rules_find(&back.block, &r.block.v[0].cidr)->offences, 3);
	assert_int_equal(rules_find(&back.block, &r.block.v[0].cidr)->origin, BW_ORIGIN_SCORER);
	assert_int_equal(rules_find(&back.block, &r.block.v[1].cidr)->action, BW_ACT_THROTTLE);
	assert_int_equal(rules_find(&back.block, &r.block.v[1].cidr)->origin, BW_ORIGIN_CROWDSEC);
	rules_free(&back);

	/* Damaged lines are skipped and counted; the good ones survive. */
	snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE);
	f = fopen(path, "a");
	fputs("block 10.0.0.5/24 1 0 block operator 0 host bits\n", f);
	fputs("block not-an-ip 1 0 block operator 0 x\n", f);
	fputs("frobnicate\n", f);
	fputs("block 10.7.0.0/16 1 0 explode operator 0 x\n", f);
	for (int i = 0; i < 600; i++)
		fputc('x', f);		/* a line longer than any we write */
	fputs("\n", f);
	fclose(f);
	assert_int_equal(rules_load(&back, dir, 1000, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.bad, 5);
	assert_int_equal(rep.first_bad, 6);	/* header, 1 allow, 3 blocks */
	assert_int_equal(back.block.n, 2);
	rules_free(&back);
	rules_free(&r);

	/* A missing file is an empty rule set, not an error. */
	unlink(path);
	assert_int_equal(rules_load(&back, dir, 1000, &rep, err, sizeof(err)), 0);
	assert_false(rep.found);
	assert_int_equal(back.block.n + back.allow.n, 0);
	rmdir(dir);
}

/* An empty or headerless file is reported (the caller warns); a
 * directory, a FIFO or a device is refused without reading or waiting,
 * and a save over a directory fails instead of pretending. */
static void
state_file_damaged_or_not_a_file(void **state)
{
	char dir[32], err[256], path[300];
	struct rules r = { 0 };
	struct rules_load_report rep;
	struct rule_entry e;
	FILE *f;

	tmp_state_dir(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(rules_load(&r, dir, 1000, &rep, err, sizeof(err)), 0);
	assert_true(rep.found);
	assert_int_equal(rep.lines, 0);

	f = fopen(path, "w");
	fputs("block 10.0.0.1/32 1 0 block operator 0 -\n", f);
	fclose(f);
	assert_int_equal(rules_load(&r, dir, 1000, &rep, err, sizeof(err)), 0);
	assert_false(rep.header);
	assert_int_equal(r.block.n, 1);
	rules_free(&r);

	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rules_load(&r, dir, 1000, &rep, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, RULES_FILE));
	e = mk("10.0.0.1", BW_ACT_BLOCK, 0, "x");
	rules_put(&r.block, &e);
	assert_int_equal(rules_save(&r, dir, err, sizeof(err)), -EISDIR);
	rmdir(path);

	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(rules_load(&r, dir, 1000, &rep, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);

	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(rules_load(&r, dir, 1000, &rep, err, sizeof(err)), -EINVAL);
	unlink(path);
	rules_free(&r);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_replaces_same_cidr),
		cmocka_unit_test(plens_longest_first_and_bounded),
		cmocka_unit_test(build_config_per_family),
		cmocka_unit_test(max_rules_bounds_each_list),
		cmocka_unit_test(match_longest_active),
		cmocka_unit_test(expire_removes_only_expired),
		cmocka_unit_test(index_matches_linear_model),
		cmocka_unit_test(save_load_round_trip),
		cmocka_unit_test(state_file_damaged_or_not_a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
