/*
 * test_config.c - settings: defaults, every key, the config file.
 *
 * The rules under test: SPEC §5 defaults; a rejected value (by
 * settings_set or by a file) leaves the settings byte-for-byte unchanged;
 * errors name the key, the bad value (escaped) and, for a file, the line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_file.h"
#include "conf_parse.h"
#include "settings.h"

struct tmpdir {
	char dir[64];
	char path[128];
};

/* Write `text` (len bytes, may hold NULs) to a fresh file; returns its path. */
static const char *
write_file(struct tmpdir *t, const char *text, size_t len)
{
	FILE *f;

	if (!t->dir[0]) {
		snprintf(t->dir, sizeof(t->dir), "/tmp/bw-test-config.XXXXXX");
		assert_non_null(mkdtemp(t->dir));
	}
	snprintf(t->path, sizeof(t->path), "%s/bouncewall.conf", t->dir);
	f = fopen(t->path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return t->path;
}

static const char *
write_conf(struct tmpdir *t, const char *text)
{
	return write_file(t, text, strlen(text));
}

static void
cleanup(struct tmpdir *t)
{
	if (!t->dir[0])
		return;
	unlink(t->path);
	rmdir(t->dir);
}

static const char *
get(const struct bw_settings *s, const char *key)
{
	static char buf[8192];

	assert_int_equal(settings_get(s, key, buf, sizeof(buf)), 0);
	return buf;
}

static void
set_ok(struct bw_settings *s, const char *key, const char *value)
{
	char err[BW_ERR_MAX] = "";

	if (settings_set(s, key, value, err, sizeof(err)) != 0)
		fail_msg("%s = '%s' should be accepted: %s", key, value, err);
}

/* Rejected, *s unchanged, message names the key and contains `want`. */
static void
set_bad(const char *key, const char *value, const char *want)
{
	struct bw_settings s, before;
	char err[BW_ERR_MAX] = "";

	settings_defaults(&s);
	before = s;
	if (settings_set(&s, key, value, err, sizeof(err)) != -EINVAL)
		fail_msg("%s = '%s' should be rejected", key, value);
	assert_memory_equal(&s, &before, sizeof(s));
	if (strncmp(err, key, strlen(key)) != 0 || !strstr(err, want))
		fail_msg("%s = '%s': message '%s' lacks '%s'", key, value, err, want);
}

static void
defaults_match_spec(void **state)
{
	struct bw_settings s;
	char err[BW_ERR_MAX];

	memset(&s, 0xa5, sizeof(s));
	settings_defaults(&s);
	assert_int_equal(s.n_interfaces, 0);
	assert_int_equal(s.n_ports, 3);
	assert_int_equal(s.smtp_ports[0], 25);
	assert_int_equal(s.smtp_ports[1], 465);
	assert_int_equal(s.smtp_ports[2], 587);
	assert_int_equal(s.mode, BW_MODE_ENFORCE);
	assert_int_equal(s.syn_rate, 20);
	assert_int_equal(s.syn_burst, 40);
	assert_int_equal(s.throttle_rate, 1);
	assert_int_equal(s.null_rate, 30);
	assert_int_equal(s.score_throttle, 50);
	assert_int_equal(s.score_block, 100);
	assert_int_equal(s.block_ttl, 600);
	assert_int_equal(s.block_ttl_max, 86400);
	assert_true(s.storm_factor == 5.0);
	assert_int_equal(s.prefix_v4, 32);
	assert_int_equal(s.prefix_v6, 64);
	assert_int_equal(s.n_domains, 0);
	assert_int_equal(s.n_batv_keys, 0);
	assert_string_equal(s.metrics_listen, "127.0.0.1:9025");
	assert_string_equal(s.control_socket, "/run/bouncewall/bouncewall.sock");
	assert_string_equal(s.state_dir, "/var/lib/bouncewall");
	assert_int_equal(s.max_sources, 65536);
	assert_int_equal(s.max_flows, 16384);
	assert_int_equal(s.n_relays, 0);
	assert_string_equal(s.policy_listen, "127.0.0.1:10040");
	assert_string_equal(s.socketmap_listen, "127.0.0.1:10041");
	assert_int_equal(s.bounce_policy, BW_BOUNCE_STORM);
	assert_int_equal(s.sent_window, 7 * 86400);
	assert_int_equal(s.bounce_budget, 2);
	assert_string_equal(s.crowdsec_url, "");
	assert_int_equal(s.crowdsec_poll, 10);
	assert_int_equal(s.n_selectors, 0);
	assert_int_equal(s.xdp_multi, BW_XDP_MULTI_AUTO);
	assert_int_equal(settings_validate(&s, err, sizeof(err)), 0);

	assert_string_equal(get(&s, "smtp_ports"), "25,465,587");
	assert_string_equal(get(&s, "block_ttl"), "10m");
	assert_string_equal(get(&s, "block_ttl_max"), "1d");
	assert_string_equal(get(&s, "storm_factor"), "5");
	assert_string_equal(get(&s, "interface"), "");
	assert_string_equal(get(&s, "batv_secret"), "");
}

static void
table_is_complete_and_consistent(void **state)
{
	static const struct {
		const char *name;
		bool live;
	} want[] = {
		{ "interface", false }, { "smtp_ports", false }, { "mode", true },
		{ "syn_rate", true }, { "syn_burst", true }, { "throttle_rate", true },
		{ "null_rate", true }, { "score_throttle", true }, { "score_block", true },
		{ "block_ttl", true }, { "block_ttl_max", true }, { "storm_factor", true },
		{ "prefix_v4", false }, { "prefix_v6", false },
		{ "protected_domains", true }, { "batv_secret", true },
		{ "metrics_listen", false }, { "control_socket", false },
		{ "state_dir", false }, { "max_sources", false }, { "max_flows", false },
		{ "max_rules", false },
		{ "our_relays", true }, { "policy_listen", false }, { "socketmap_listen", false },
		{ "bounce_policy", true }, { "sent_window", true }, { "bounce_budget", true },
		{ "ledger_max", false }, { "crowdsec_url", false }, { "crowdsec_api_key", false },
		{ "crowdsec_login", false }, { "crowdsec_password", false },
		{ "crowdsec_poll", true }, { "dkim_selectors", true }, { "xdp_multi", false },
		{ "posture_resolver", true },
	};
	struct bw_settings d, x;
	char a[512], b[512];
	size_t n;
	const struct setting_desc *t = settings_table(&n);

	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	settings_defaults(&d);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t[i].name, want[i].name);
		assert_int_equal(t[i].live, want[i].live);
		assert_ptr_equal(settings_find(t[i].name), &t[i]);
		assert_non_null(t[i].help);
		assert_true(strlen(t[i].help) > 10);
		/* The default as written reads back as the default. */
		memset(&x, 0, sizeof(x));
		if (t[i].default_value[0])
			set_ok(&x, t[i].name, t[i].default_value);
		assert_int_equal(settings_get(&d, t[i].name, a, sizeof(a)), 0);
		assert_int_equal(settings_get(&x, t[i].name, b, sizeof(b)), 0);
		assert_string_equal(a, b);
	}
	assert_null(settings_find("nope"));
	assert_null(settings_find("SYN_RATE"));
	assert_null(settings_find(""));
}

static void
every_key_settable(void **state)
{
	static const struct {
		const char *key, *value, *canonical;
	} cases[] = {
		{ "interface", "eth0 eth1", "eth0,eth1" },
		{ "interface", "ens3,  bond0.100\tveth-lab", "ens3,bond0.100,veth-lab" },
		{ "interface", "", "" },
		{ "smtp_ports", "25, 587", "25,587" },
		{ "smtp_ports", "2525", "2525" },
		{ "smtp_ports", "1,2,3,4,5,6,7,65535", "1,2,3,4,5,6,7,65535" },
		{ "mode", "monitor", "monitor" },
		{ "mode", "enforce", "enforce" },
		{ "syn_rate", "0", "0" },
		{ "syn_rate", "1000000", "1000000" },
		{ "syn_rate", "007", "7" },
		{ "syn_burst", "1", "1" },
		{ "throttle_rate", "0", "0" },
		{ "null_rate", "120", "120" },
		{ "score_throttle", "10", "10" },
		{ "score_block", "1000000", "1000000" },
		{ "block_ttl", "90s", "90s" },
		{ "block_ttl", "3600", "1h" },
		{ "block_ttl", "120m", "2h" },
		{ "block_ttl_max", "7d", "7d" },
		{ "storm_factor", "2.5", "2.5" },
		{ "storm_factor", "1.1", "1.1" },
		{ "storm_factor", "1.0001", "1.0001" },
		{ "storm_factor", "1000", "1000" },
		{ "storm_factor", "5.", "5" },
		{ "prefix_v4", "8", "8" },
		{ "prefix_v4", "24", "24" },
		{ "prefix_v6", "16", "16" },
		{ "prefix_v6", "128", "128" },
		{ "max_sources", "1024", "1024" },
		{ "max_sources", "4194304", "4194304" },
		{ "max_flows", "256", "256" },
		{ "max_flows", "1048576", "1048576" },
		{ "protected_domains", "Example.COM, mail.example.org", "example.com,mail.example.org" },
		{ "protected_domains", "localhost", "localhost" },
		{ "protected_domains", "", "" },
		{ "batv_secret", "s3cr3t!#;x", "(set)" },
		{ "batv_secret", "", "" },
		{ "metrics_listen", "off", "off" },
		{ "metrics_listen", "0.0.0.0:9025", "0.0.0.0:9025" },
		{ "metrics_listen", "[::1]:9025", "[::1]:9025" },
		{ "metrics_listen", "[::]:1", "[::]:1" },
		{ "metrics_listen", "localhost:65535", "localhost:65535" },
		{ "control_socket", "/tmp/bw.sock", "/tmp/bw.sock" },
		{ "state_dir", "/srv/bouncewall state/", "/srv/bouncewall state/" },
		/* Values are trimmed. */
		{ "syn_rate", "  42\t", "42" },
		{ "mode", " monitor\n", "monitor" },
		{ "state_dir", "\t/var/tmp ", "/var/tmp" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bw_settings s;

		settings_defaults(&s);
		set_ok(&s, cases[i].key, cases[i].value);
		if (strcmp(get(&s, cases[i].key), cases[i].canonical) != 0)
			fail_msg("%s = '%s' reads back '%s', want '%s'", cases[i].key,
				 cases[i].value, get(&s, cases[i].key), cases[i].canonical);
	}
}

static void
set_stores_the_fields(void **state)
{
	struct bw_settings s;

	settings_defaults(&s);
	set_ok(&s, "interface", "eth0 eth1");
	assert_int_equal(s.n_interfaces, 2);
	assert_string_equal(s.interfaces[1], "eth1");
	set_ok(&s, "smtp_ports", "587 25");
	assert_int_equal(s.n_ports, 2);
	assert_int_equal(s.smtp_ports[0], 587);
	assert_int_equal(s.smtp_ports[1], 25);
	set_ok(&s, "mode", "monitor");
	assert_int_equal(s.mode, BW_MODE_MONITOR);
	set_ok(&s, "block_ttl", "2h");
	assert_int_equal(s.block_ttl, 7200);
	set_ok(&s, "storm_factor", "2.5");
	assert_true(s.storm_factor == 2.5);
	set_ok(&s, "protected_domains", "EXAMPLE.net");
	assert_int_equal(s.n_domains, 1);
	assert_string_equal(s.protected_domains[0], "example.net");
	set_ok(&s, "batv_secret", "k3y");
	assert_int_equal(s.n_batv_keys, 1);
	assert_int_equal(s.batv_keys[0].digit, 0);
	assert_string_equal(s.batv_keys[0].secret, "k3y");
	/* Rolling keys: the first signs, each keeps its digit. */
	set_ok(&s, "batv_secret", "2:newer 1:older");
	assert_int_equal(s.n_batv_keys, 2);
	assert_int_equal(s.batv_keys[0].digit, 2);
	assert_string_equal(s.batv_keys[0].secret, "newer");
	assert_int_equal(s.batv_keys[1].digit, 1);
	set_bad("batv_secret", "1:a 1:b", "digit 1 is given twice");
	set_ok(&s, "batv_secret", "");
	assert_int_equal(s.n_batv_keys, 0);
	set_ok(&s, "our_relays", "192.0.2.0/24, 2001:db8::1");
	assert_int_equal(s.n_relays, 2);
	assert_string_equal(get(&s, "our_relays"), "192.0.2.0/24,2001:db8::1/128");
	set_bad("our_relays", "192.0.2.1/24", "invalid CIDR");
	set_bad("our_relays", "192.0.2.1 192.0.2.1", "listed twice");
	{
		/* One over the limit: refused, and the 65th never lands
		 * past the 64 it is compared with. */
		char many[65 * 16] = "";

		for (int i = 0; i <= BW_MAX_RELAYS; i++)
			sprintf(many + strlen(many), "10.0.%d.0/24 ", i);
		set_bad("our_relays", many, "at most 64");
	}
	set_ok(&s, "policy_listen", "unix:/run/bouncewall/policy.sock");
	set_ok(&s, "socketmap_listen", "[::1]:10041");
	set_bad("policy_listen", "unix:relative", "invalid value");
	set_ok(&s, "bounce_policy", "always");
	assert_int_equal(s.bounce_policy, BW_BOUNCE_ALWAYS);
	set_bad("bounce_policy", "sometimes", "score, storm or always");
	set_ok(&s, "crowdsec_url", "http://127.0.0.1:8080/");
	set_bad("crowdsec_url", "ftp://x", "invalid value");
	set_ok(&s, "crowdsec_api_key", "s3cr3t");
	assert_string_equal(get(&s, "crowdsec_api_key"), "(set)");
	set_ok(&s, "dkim_selectors", "mail s1._x");
	assert_int_equal(s.n_selectors, 2);
	set_ok(&s, "xdp_multi", "on");
	set_bad("xdp_multi", "yes", "auto, on or off");
	set_ok(&s, "posture_resolver", "192.0.2.53");
	set_ok(&s, "posture_resolver", "192.0.2.53:5353");
	set_ok(&s, "posture_resolver", "[2001:db8::53]:5353");
	assert_string_equal(get(&s, "posture_resolver"), "[2001:db8::53]:5353");
	set_ok(&s, "posture_resolver", "2001:db8::53");
	set_bad("posture_resolver", "dns.example", "an IP address");
	set_bad("posture_resolver", "192.0.2.53:0", "an IP address");
	set_bad("posture_resolver", "192.0.2.53:65536", "an IP address");
	set_bad("posture_resolver", "[2001:db8::53]x", "an IP address");
	set_ok(&s, "posture_resolver", "off");
	set_bad("posture_resolver", "of", "an IP address");
	set_ok(&s, "posture_resolver", "");
	assert_string_equal(get(&s, "posture_resolver"), "");
	/* A list value replaces the whole list. */
	set_ok(&s, "interface", "lo");
	assert_int_equal(s.n_interfaces, 1);
	assert_string_equal(get(&s, "interface"), "lo");
}

static void
bad_integers_rejected(void **state)
{
	static const char *const bad[] = {
		"", "abc", "+5", "-5", "0x10", "1e3", "5 5", "5.0", "1000001",
		"4294967296", "18446744073709551616", "99999999999999999999999999999999999",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_bad("syn_rate", bad[i], "(expected an integer 0..1000000)");
	set_bad("syn_burst", "0", "(expected an integer 1..1000000)");
	set_bad("null_rate", "0", "1..1000000");
	set_bad("score_throttle", "0", "1..1000000");
	set_bad("score_block", "1000001", "1..1000000");
	set_bad("throttle_rate", "-1", "0..1000000");
	set_bad("prefix_v4", "7", "8..32");
	set_bad("prefix_v4", "33", "8..32");
	set_bad("prefix_v6", "15", "16..128");
	set_bad("prefix_v6", "129", "16..128");
	set_bad("max_sources", "1023", "1024..4194304");
	set_bad("max_sources", "4194305", "1024..4194304");
	set_bad("max_flows", "255", "256..1048576");
	set_bad("max_flows", "1048577", "256..1048576");
}

static void
bad_values_rejected(void **state)
{
	static const struct {
		const char *key, *value, *want;
	} cases[] = {
		{ "mode", "Monitor", "'Monitor' (expected enforce or monitor)" },
		{ "mode", "", "''" },
		{ "block_ttl", "0", "'0' (expected a duration" },
		{ "block_ttl", "10x", "'10x'" },
		{ "block_ttl", "", "''" },
		{ "block_ttl", "-5", "'-5'" },
		{ "block_ttl", "99999999999999999999d", "duration" },
		{ "block_ttl_max", "1h 30m", "'1h 30m'" },
		{ "storm_factor", "1", "'1' (expected a decimal number above 1" },
		{ "storm_factor", "1.0", "'1.0'" },
		{ "storm_factor", "0.5", "'0.5'" },
		{ "storm_factor", ".5", "'.5'" },
		{ "storm_factor", "1000.001", "'1000.001'" },
		{ "storm_factor", "nan", "'nan'" },
		{ "storm_factor", "inf", "'inf'" },
		{ "storm_factor", "-2", "'-2'" },
		{ "storm_factor", "+2", "'+2'" },
		{ "storm_factor", "1e2", "'1e2'" },
		{ "storm_factor", "0x10", "'0x10'" },
		{ "storm_factor", "2..5", "'2..5'" },
		{ "storm_factor", ".", "'.'" },
		{ "storm_factor", "", "''" },
		{ "smtp_ports", "0", "invalid value '0' (expected a port number 1..65535)" },
		{ "smtp_ports", "25,65536", "invalid value '65536'" },
		{ "smtp_ports", "25,-1", "'-1'" },
		{ "smtp_ports", "25;587", "'25;587'" },
		{ "smtp_ports", "smtp", "'smtp'" },
		{ "smtp_ports", "", "at least one port" },
		{ "smtp_ports", " ", "at least one port" },
		{ "smtp_ports", " , ", "empty item" },
		{ "smtp_ports", "25,,587", "empty item" },
		{ "smtp_ports", "25,", "empty item" },
		{ "protected_domains", ",example.org", "empty item" },
		{ "smtp_ports", "1,2,3,4,5,6,7,8,9", "too many values" },
		{ "smtp_ports", "25,587,25", "'25' is listed twice" },
		{ "interface", "eth0 0123456789abcdef", "'0123456789abcdef'" },
		{ "interface", "a b c d e f g h i", "too many values" },
		{ "interface", "eth0/1", "'eth0/1'" },
		{ "interface", "eth0:1", "'eth0:1'" },
		{ "interface", ".", "'.'" },
		{ "interface", "..", "'..'" },
		{ "interface", "eth0 eth0", "'eth0' is listed twice" },
		{ "protected_domains", "-bad.com", "'-bad.com'" },
		{ "protected_domains", "bad-.com", "'bad-.com'" },
		{ "protected_domains", "a..b", "'a..b'" },
		{ "protected_domains", ".example.com", "'.example.com'" },
		{ "protected_domains", "example.com.", "'example.com.'" },
		{ "protected_domains", "under_score.com", "'under_score.com'" },
		{ "protected_domains", "ex*ample.com", "'ex*ample.com'" },
		{ "protected_domains", "Example.com example.COM", "listed twice" },
		{ "protected_domains",
		  "a.b c.d e.f g.h i.j k.l m.n o.p q.r s.t u.v w.x y.z ab.c cd.e ef.g gh.i",
		  "too many values" },
		{ "metrics_listen", "127.0.0.1", "'127.0.0.1' (expected HOST:PORT" },
		{ "metrics_listen", "127.0.0.1:0", "'127.0.0.1:0'" },
		{ "metrics_listen", "127.0.0.1:65536", "'127.0.0.1:65536'" },
		{ "metrics_listen", "127.0.0.1:+80", "'127.0.0.1:+80'" },
		{ "metrics_listen", "127.0.0.1:", "'127.0.0.1:'" },
		{ "metrics_listen", ":9025", "':9025'" },
		{ "metrics_listen", "::1:9025", "'::1:9025'" },
		{ "metrics_listen", "[::1]9025", "'[::1]9025'" },
		{ "metrics_listen", "[zz::1]:80", "'[zz::1]:80'" },
		{ "metrics_listen", "999.0.0.1:80", "'999.0.0.1:80'" },
		{ "metrics_listen", "host_name:80", "'host_name:80'" },
		{ "metrics_listen", "OFF", "'OFF'" },
		{ "metrics_listen", "", "''" },
		{ "control_socket", "run/bw.sock", "'run/bw.sock' (expected an absolute file path" },
		{ "control_socket", "/run/bouncewall/", "'/run/bouncewall/'" },
		{ "control_socket", "", "''" },
		{ "state_dir", "var/lib", "'var/lib' (expected an absolute directory path" },
		{ "state_dir", "", "''" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		set_bad(cases[i].key, cases[i].value, cases[i].want);
}

static void
length_limits(void **state)
{
	struct bw_settings s;
	char v[512];

	settings_defaults(&s);
	/* IFNAMSIZ - 1 = 15 characters fit, 16 do not. */
	set_ok(&s, "interface", "0123456789abcde");
	assert_string_equal(s.interfaces[0], "0123456789abcde");
	set_bad("interface", "0123456789abcdef", "invalid value");
	set_ok(&s, "interface", "a b c d e f g h");
	assert_int_equal(s.n_interfaces, BW_MAX_IFACES);

	/* sun_path: 107 characters and the NUL. */
	memset(v, 'a', sizeof(v));
	v[0] = '/';
	v[107] = '\0';
	set_ok(&s, "control_socket", v);
	v[107] = 'a';
	v[108] = '\0';
	set_bad("control_socket", v, "invalid value");

	/* A label is at most 63, a name at most 253. */
	memset(v, 'a', 63);
	strcpy(v + 63, ".com");
	set_ok(&s, "protected_domains", v);
	memset(v, 'a', 64);
	strcpy(v + 64, ".com");
	set_bad("protected_domains", v, "invalid value");
	for (int i = 0; i < 4; i++) {
		memset(v + i * 64, 'a', 63);
		v[i * 64 + 63] = '.';
	}
	v[253] = '\0';		/* 4 labels of 63 + dots, minus the last 2 */
	set_ok(&s, "protected_domains", v);
	assert_int_equal(strlen(s.protected_domains[0]), 253);
	v[253] = 'a';
	v[254] = '\0';
	set_bad("protected_domains", v, "invalid value");

	/* The secret: 128 fit, 129 do not. */
	memset(v, 'k', 128);
	v[128] = '\0';
	set_ok(&s, "batv_secret", v);
	assert_int_equal(strlen(s.batv_keys[0].secret), 128);
	v[128] = 'k';
	v[129] = '\0';
	set_bad("batv_secret", v, "invalid value");
}

static void
secret_never_echoed(void **state)
{
	struct bw_settings s;
	char err[BW_ERR_MAX];

	settings_defaults(&s);
	assert_int_equal(settings_set(&s, "batv_secret", "hunter2 with spaces", err, sizeof(err)),
			 -EINVAL);
	assert_null(strstr(err, "hunter2"));
	assert_non_null(strstr(err, "batv_secret"));
	set_bad("batv_secret", "ta\x01b", "not shown");
	/* Two items with the same (default) digit: refused, never echoed. */
	assert_int_equal(settings_set(&s, "batv_secret", "hunter2\tinside", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "hunter2"));
	set_bad("batv_secret", "caf\xc3\xa9", "not shown");
	set_ok(&s, "batv_secret", "hunter2");
	assert_string_equal(get(&s, "batv_secret"), "(set)");
}

static void
bad_value_escaped_and_truncated(void **state)
{
	struct bw_settings s;
	char err[BW_ERR_MAX], v[300];

	settings_defaults(&s);
	assert_int_equal(settings_set(&s, "syn_rate", "1\x1b[31m\x7f" "2", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "syn_rate: invalid value '1?[31m?2' (expected an integer 0..1000000)");

	memset(v, '9', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(settings_set(&s, "syn_rate", v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'9999999999999999999999999999999999999999999999999999999999999999...'"));

	/* A small buffer truncates, never overflows. */
	assert_int_equal(settings_set(&s, "syn_rate", "x", err, 10), -EINVAL);
	assert_string_equal(err, "syn_rate:");
}

static void
unknown_key(void **state)
{
	struct bw_settings s, before;
	char err[BW_ERR_MAX], buf[64];

	settings_defaults(&s);
	before = s;
	assert_int_equal(settings_set(&s, "syn_rat", "5", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown key 'syn_rat'");
	assert_int_equal(settings_set(&s, "bad\nkey", "5", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown key 'bad?key'");
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(settings_get(&s, "syn_rat", buf, sizeof(buf)), -ENOENT);
}

static void
get_reports_short_buffer(void **state)
{
	struct bw_settings s;
	char buf[8];

	settings_defaults(&s);
	assert_int_equal(settings_get(&s, "smtp_ports", buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(settings_get(&s, "control_socket", buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(settings_get(&s, "syn_rate", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "20");
	assert_int_equal(settings_get(&s, "syn_rate", buf, 0), -ENOSPC);
}

/* What `agent_reload` relies on: get's text sets the same value back. */
static void
get_round_trips_through_set(void **state)
{
	struct bw_settings a, b;
	char text[8192], again[8192];
	size_t n;
	const struct setting_desc *t = settings_table(&n);

	settings_defaults(&a);
	set_ok(&a, "interface", "eth0 eth1");
	set_ok(&a, "smtp_ports", "2525 25");
	set_ok(&a, "mode", "monitor");
	set_ok(&a, "block_ttl", "5400");
	set_ok(&a, "storm_factor", "1.3333333333333333");
	set_ok(&a, "protected_domains", "A.example B.example");
	set_ok(&a, "metrics_listen", "[::1]:9025");
	settings_defaults(&b);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, "batv_secret") == 0)
			continue;
		assert_int_equal(settings_get(&a, t[i].name, text, sizeof(text)), 0);
		set_ok(&b, t[i].name, text);
		assert_int_equal(settings_get(&b, t[i].name, again, sizeof(again)), 0);
		assert_string_equal(text, again);
	}
	assert_true(a.storm_factor == b.storm_factor);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void
cross_key_validation(void **state)
{
	struct bw_settings s;
	char err[BW_ERR_MAX];

	settings_defaults(&s);
	set_ok(&s, "score_throttle", "100");	/* fine alone ... */
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "score_throttle (100) must be below score_block (100)");
	set_ok(&s, "score_block", "101");
	assert_int_equal(settings_validate(&s, err, sizeof(err)), 0);

	set_ok(&s, "block_ttl", "2d");
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "block_ttl (2d) must not exceed block_ttl_max (1d)");
	set_ok(&s, "block_ttl_max", "48h");
	assert_int_equal(settings_validate(&s, err, sizeof(err)), 0);	/* equal is fine */

	set_ok(&s, "throttle_rate", "21");
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "throttle_rate (21) must not exceed syn_rate (20)");
	set_ok(&s, "syn_rate", "0");		/* off: nothing to compare */
	assert_int_equal(settings_validate(&s, err, sizeof(err)), 0);

	/* Fields written directly are range-checked too. */
	settings_defaults(&s);
	s.prefix_v4 = 40;
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "prefix_v4"));
	settings_defaults(&s);
	s.n_ports = 0;
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
	settings_defaults(&s);
	s.storm_factor = 1.0;
	assert_int_equal(settings_validate(&s, err, sizeof(err)), -EINVAL);
}

static void
file_sets_keys(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s;
	char err[BW_ERR_MAX] = "";
	const char *path = write_conf(&t,
		"# bouncewall.conf\n"
		"\n"
		"interface = eth0 eth1\n"
		"smtp_ports = 25, 587\n"
		"   mode=monitor\n"
		"\tsyn_rate =   5   \n"
		"  # an indented comment\n"
		"; a semicolon comment\n"
		"syn_burst = 7 # inline, after a space\n"
		"null_rate = 12 ; inline, after a space\n"
		"batv_secret = a#b;c\n"
		"protected_domains = Example.ORG\r\n"
		"score_block = 150\n"
		"block_ttl = 20m\n"
		"storm_factor = 3.5\n"
		"metrics_listen = [::1]:9025\n"
		"state_dir = /tmp/bw-state\n"
		"   \n");

	settings_defaults(&s);
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(get(&s, "interface"), "eth0,eth1");
	assert_string_equal(get(&s, "smtp_ports"), "25,587");
	assert_int_equal(s.mode, BW_MODE_MONITOR);
	assert_int_equal(s.syn_rate, 5);
	assert_int_equal(s.syn_burst, 7);
	assert_int_equal(s.null_rate, 12);
	assert_string_equal(s.batv_keys[0].secret, "a#b;c");
	assert_string_equal(get(&s, "protected_domains"), "example.org");
	assert_int_equal(s.score_block, 150);
	assert_int_equal(s.block_ttl, 1200);
	assert_true(s.storm_factor == 3.5);
	assert_string_equal(s.metrics_listen, "[::1]:9025");
	assert_string_equal(s.state_dir, "/tmp/bw-state");
	/* Keys the file does not name keep what *s had. */
	assert_int_equal(s.prefix_v6, 64);
	assert_string_equal(s.control_socket, "/run/bouncewall/bouncewall.sock");
	cleanup(&t);
}

static void
file_layers_on_top(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s;
	char err[BW_ERR_MAX];
	const char *path = write_conf(&t, "syn_rate = 6\ninterface = lo\n");

	settings_defaults(&s);
	set_ok(&s, "prefix_v4", "24");
	set_ok(&s, "interface", "eth9");
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.syn_rate, 6);
	assert_int_equal(s.prefix_v4, 24);
	assert_string_equal(get(&s, "interface"), "lo");
	cleanup(&t);
}

/* (libinih, used before, continued a value on an indented line.) */
static void
file_indented_line_is_not_a_continuation(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s;
	char err[BW_ERR_MAX];
	const char *path = write_conf(&t, "syn_rate = 5\n    syn_burst = 9\n");

	settings_defaults(&s);
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.syn_rate, 5);
	assert_int_equal(s.syn_burst, 9);
	cleanup(&t);
}

static void
file_empty_and_bom(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX];

	settings_defaults(&s);
	before = s;
	assert_int_equal(settings_load_file(&s, write_conf(&t, ""), err, sizeof(err)), 0);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(settings_load_file(&s, write_conf(&t, "# only\n\n"), err, sizeof(err)),
			 0);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(settings_load_file(&s, write_conf(&t, "\xef\xbb\xbfsyn_rate = 3"), err,
					    sizeof(err)),
			 0);
	assert_int_equal(s.syn_rate, 3);	/* and no final newline */
	cleanup(&t);
}

struct bad_file {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *msg;	/* expected after "PATH:" */
};

static void
file_bad_line_reports_line_and_changes_nothing(void **state)
{
	static const char nul_file[] = "syn_rate = 5\nsyn_burst = 4\0 2\n";
	static const struct bad_file cases[] = {
		{ "syn_rate = 5\n# c\n\nfoo = 1\nsyn_burst = 3\n", 0, "4: unknown key 'foo'" },
		{ "mode = monitor\nsyn_burst = 5\nsyn_rate = abc\n", 0,
		  "3: syn_rate: invalid value 'abc' (expected an integer 0..1000000)" },
		{ "syn_rate = 5\n[main]\nsyn_burst = 3\n", 0,
		  "2: section headers are not supported (write key = value lines)" },
		{ "  [main]\n", 0, "1: section headers are not supported" },
		{ "syn_rate = 5\nsyn_burst\n", 0, "2: expected 'key = value'" },
		{ "syn_rate: 5\n", 0, "1: expected 'key = value'" },
		{ "= 5\n", 0, "1: unknown key ''" },
		{ "syn rate = 5\n", 0, "1: unknown key 'syn rate'" },
		{ "syn_rate = 5 # five\nsyn_burst = 6# six\n", 0,
		  "2: syn_burst: invalid value '6# six'" },
		{ "syn_rate =\n", 0, "1: syn_rate: invalid value ''" },
		{ "smtp_ports = 25 0\n", 0, "1: smtp_ports: invalid value '0'" },
		{ "syn_rate = 5\r\nsyn_burst = x\r\n", 0, "2: syn_burst: invalid value 'x'" },
		{ "syn_rate = 5\n   stray words\nsyn_burst = 3\n", 0,
		  "2: expected 'key = value'" },
		{ nul_file, sizeof(nul_file) - 1, "2: line contains a NUL byte" },
		/* The first error wins, even if a later line is also bad. */
		{ "a = 1\nb = 2\n", 0, "1: unknown key 'a'" },
	};
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], want[BW_ERR_MAX];

	settings_defaults(&s);
	set_ok(&s, "syn_rate", "11");
	before = s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file(&t, cases[i].text,
					      cases[i].len ? cases[i].len : strlen(cases[i].text));

		memset(err, 0, sizeof(err));
		if (settings_load_file(&s, path, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu should fail", i);
		assert_memory_equal(&s, &before, sizeof(s));
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].msg);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, want);
	}
	cleanup(&t);
}

static void
file_long_lines(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], want[BW_ERR_MAX], *text;
	const char *path;
	size_t n;

	/* A real protected_domains list runs past the 199 characters that
	 * libinih's Debian build could hold (the old limit). */
	text = malloc(CONF_LINE_MAX + 64);
	assert_non_null(text);
	n = (size_t)sprintf(text, "protected_domains =");
	for (int i = 0; i < BW_MAX_DOMAINS; i++)
		n += (size_t)sprintf(text + n, " mail-%02d.a-rather-long-subsidiary-name.example.org", i);
	assert_true(n > 700);
	strcpy(text + n, "\nsyn_rate = 3\n");
	settings_defaults(&s);
	path = write_conf(&t, text);
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.n_domains, BW_MAX_DOMAINS);
	assert_int_equal(s.syn_rate, 3);

	/* CONF_LINE_MAX characters fit (a comment here); one more is an
	 * error on that line, never a silently cut value. */
	memset(text, '#', CONF_LINE_MAX);
	strcpy(text + CONF_LINE_MAX, "\nsyn_rate = 4\n");
	settings_defaults(&s);
	path = write_conf(&t, text);
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.syn_rate, 4);

	settings_defaults(&s);
	before = s;
	memcpy(text, "#\n", 2);
	memset(text + 2, '#', CONF_LINE_MAX + 1);
	strcpy(text + 2 + CONF_LINE_MAX + 1, "\nsyn_rate = 3\n");
	path = write_conf(&t, text);
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line too long (at most %d characters)", path,
		 CONF_LINE_MAX);
	assert_string_equal(err, want);
	assert_memory_equal(&s, &before, sizeof(s));
	free(text);
	cleanup(&t);
}

/* Two values for one key are a mistake to report, not an override. */
static void
file_duplicate_key(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], want[BW_ERR_MAX];
	const char *path = write_conf(&t, "syn_rate = 5\n# later\nmode = monitor\n  syn_rate=6\n");

	settings_defaults(&s);
	before = s;
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: syn_rate is already set on line 1 (give each key once)",
		 path);
	assert_string_equal(err, want);
	assert_memory_equal(&s, &before, sizeof(s));
	cleanup(&t);
}

/* A FIFO never delivers, /dev/zero never ends, a huge file is not a
 * config file: each is refused at once, and nothing changes. */
static void
file_not_regular_or_huge(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], fifo[300], big[300];
	FILE *f;

	settings_defaults(&s);
	before = s;
	write_conf(&t, "");
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", t.dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(settings_load_file(&s, fifo, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(fifo);

	assert_int_equal(settings_load_file(&s, "/dev/zero", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/dev/zero: not a regular file");

	snprintf(big, sizeof(big), "%s/big.conf", t.dir);
	f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(fseek(f, CONF_FILE_MAX, SEEK_SET), 0);
	fputc('\n', f);
	fclose(f);
	assert_int_equal(settings_load_file(&s, big, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "not a config file"));
	unlink(big);
	assert_memory_equal(&s, &before, sizeof(s));
	cleanup(&t);
}

static void
file_cross_key_error_changes_nothing(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], want[BW_ERR_MAX];
	const char *path = write_conf(&t, "syn_rate = 3\nscore_throttle = 200\n");

	settings_defaults(&s);
	before = s;
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: score_throttle (200) must be below score_block (100)",
		 path);
	assert_string_equal(err, want);
	assert_memory_equal(&s, &before, sizeof(s));

	/* Ordered either way, the pair is fine once both lines are read. */
	path = write_conf(&t, "score_throttle = 200\nscore_block = 300\n");
	assert_int_equal(settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.score_throttle, 200);
	cleanup(&t);
}

static void
file_unreadable(void **state)
{
	struct tmpdir t = { 0 };
	struct bw_settings s, before;
	char err[BW_ERR_MAX], want[BW_ERR_MAX];

	settings_defaults(&s);
	before = s;
	assert_int_equal(settings_load_file(&s, "/nonexistent/bouncewall.conf", err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/bouncewall.conf: No such file or directory");

	write_conf(&t, "");
	assert_int_equal(settings_load_file(&s, t.dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", t.dir);
	assert_string_equal(err, want);
	assert_memory_equal(&s, &before, sizeof(s));
	cleanup(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_match_spec),
		cmocka_unit_test(table_is_complete_and_consistent),
		cmocka_unit_test(every_key_settable),
		cmocka_unit_test(set_stores_the_fields),
		cmocka_unit_test(bad_integers_rejected),
		cmocka_unit_test(bad_values_rejected),
		cmocka_unit_test(length_limits),
		cmocka_unit_test(secret_never_echoed),
		cmocka_unit_test(bad_value_escaped_and_truncated),
		cmocka_unit_test(unknown_key),
		cmocka_unit_test(get_reports_short_buffer),
		cmocka_unit_test(get_round_trips_through_set),
		cmocka_unit_test(cross_key_validation),
		cmocka_unit_test(file_sets_keys),
		cmocka_unit_test(file_layers_on_top),
		cmocka_unit_test(file_indented_line_is_not_a_continuation),
		cmocka_unit_test(file_empty_and_bom),
		cmocka_unit_test(file_bad_line_reports_line_and_changes_nothing),
		cmocka_unit_test(file_long_lines),
		cmocka_unit_test(file_duplicate_key),
		cmocka_unit_test(file_not_regular_or_huge),
		cmocka_unit_test(file_cross_key_error_changes_nothing),
		cmocka_unit_test(file_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
