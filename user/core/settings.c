/*
 * settings.c - bouncewall's settings: one table of keys, one writer.
 *
 * Every way a setting changes (the config file, a command-line flag,
 * `threshold set`) goes through settings_set(), which parses into locals and
 * stores only when the whole value is good, so a rejected value never leaves
 * a half-written list behind.  The file's text is conf_parse.c's; this file
 * knows keys and values only.
 *
 * Functions return 0 or a negative errno; messages go to the caller's err.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "addr.h"
#include "settings.h"
#include "settings_int.h"
#include "names.h"
#include "posture.h"
#include "text.h"

#define VALUE_SPACE		" \t\r\n"

enum setting_kind {
	K_IFACES,
	K_PORTS,
	K_MODE,
	K_U32,
	K_DURATION,
	K_FACTOR,
	K_DOMAINS,
	K_BATV,
	K_LISTEN,
	K_SOCKET,
	K_DIR,
	K_RELAYS,
	K_ENDPOINT,	/* a char[] field: HOST:PORT, unix:PATH or off */
	K_BOUNCE_POLICY,
	K_URL,		/* a char[] field, empty allowed */
	K_CREDENTIAL,	/* a char[] field, empty allowed, never shown */
	K_SELECTORS,
	K_XDP_MULTI,
	K_RESOLVER,	/* a char[] field: ADDR[:PORT] or empty */
};

enum setting_id {
	S_INTERFACE,
	S_SMTP_PORTS,
	S_MODE,
	S_SYN_RATE,
	S_SYN_BURST,
	S_THROTTLE_RATE,
	S_NULL_RATE,
	S_SCORE_THROTTLE,
	S_SCORE_BLOCK,
	S_BLOCK_TTL,
	S_BLOCK_TTL_MAX,
	S_STORM_FACTOR,
	S_PREFIX_V4,
	S_PREFIX_V6,
	S_PROTECTED_DOMAINS,
	S_BATV_SECRET,
	S_METRICS_LISTEN,
	S_CONTROL_SOCKET,
	S_STATE_DIR,
	S_MAX_SOURCES,
	S_MAX_FLOWS,
	S_MAX_RULES,
	S_OUR_RELAYS,
	S_POLICY_LISTEN,
	S_SOCKETMAP_LISTEN,
	S_BOUNCE_POLICY,
	S_SENT_WINDOW,
	S_BOUNCE_BUDGET,
	S_LEDGER_MAX,
	S_CROWDSEC_URL,
	S_CROWDSEC_API_KEY,
	S_CROWDSEC_LOGIN,
	S_CROWDSEC_PASSWORD,
	S_CROWDSEC_POLL,
	S_DKIM_SELECTORS,
	S_XDP_MULTI,
	S_POSTURE_RESOLVER,
	S_COUNT
};

_Static_assert(S_COUNT <= SETTINGS_MAX, "SETTINGS_MAX");

static const struct setting_desc table[S_COUNT] = {
	[S_INTERFACE] = { "interface", "",
			  "interfaces to protect (space- or comma-separated)", false },
	[S_SMTP_PORTS] = { "smtp_ports", "25,465,587",
			   "TCP ports treated as SMTP (at most 8)", false },
	[S_MODE] = { "mode", "enforce",
		     "enforce, or monitor: count what would be dropped, drop nothing", true },
	[S_SYN_RATE] = { "syn_rate", "20",
			 "new SMTP connections/s admitted per source prefix (0 = off)", true },
	[S_SYN_BURST] = { "syn_burst", "40",
			  "connections a source prefix may open at once above syn_rate", true },
	[S_THROTTLE_RATE] = { "throttle_rate", "1",
			      "new SMTP connections/s admitted from a throttled source", true },
	[S_NULL_RATE] = { "null_rate", "30",
			  "null-sender transactions/min from one source that count as suspicious",
			  true },
	[S_SCORE_THROTTLE] = { "score_throttle", "50",
			       "score at which a source is throttled", true },
	[S_SCORE_BLOCK] = { "score_block", "100",
			    "score at which a source is blocked", true },
	[S_BLOCK_TTL] = { "block_ttl", "10m",
			  "length of a first block; doubled for each repeat", true },
	[S_BLOCK_TTL_MAX] = { "block_ttl_max", "24h",
			      "cap on the length of a repeated block", true },
	[S_STORM_FACTOR] = { "storm_factor", "5",
			     "null-sender rate / its baseline that declares a storm", true },
	[S_PREFIX_V4] = { "prefix_v4", "32",
			  "IPv4 prefix length sources are scored and blocked as (8..32)", false },
	[S_PREFIX_V6] = { "prefix_v6", "64",
			  "IPv6 prefix length sources are scored and blocked as (16..128)", false },
	[S_PROTECTED_DOMAINS] = { "protected_domains", "",
				  "our domains: bounces to them are what we count", true },
	[S_BATV_SECRET] = { "batv_secret", "",
			    "BATV keys K:SECRET (first signs); bounces without a valid tag are refused or score high",
			    true },
	[S_METRICS_LISTEN] = { "metrics_listen", "127.0.0.1:9025",
			       "Prometheus endpoint HOST:PORT, or off", false },
	[S_CONTROL_SOCKET] = { "control_socket", "/run/bouncewall/bouncewall.sock",
			       "path of the CLI's control socket", false },
	[S_STATE_DIR] = { "state_dir", "/var/lib/bouncewall",
			  "where blocks and counters survive restarts", false },
	[S_MAX_SOURCES] = { "max_sources", "65536",
			    "source prefixes scored at once; the least recent is evicted (1024..4194304)",
			    false },
	[S_MAX_FLOWS] = { "max_flows", "16384",
			  "SMTP connections followed at once; the oldest is evicted (256..1048576)",
			  false },
	[S_MAX_RULES] = { "max_rules", "131072",
			  "allow and block rules kept per list; sizes the kernel's rule maps (1024..1048576)",
			  false },
	[S_OUR_RELAYS] = { "our_relays", "",
			   "CIDRs of our own relays: never punished, their mail is mail we sent", true },
	[S_POLICY_LISTEN] = { "policy_listen", "127.0.0.1:10040",
			      "Postfix policy service HOST:PORT or unix:PATH, or off", false },
	[S_SOCKETMAP_LISTEN] = { "socketmap_listen", "127.0.0.1:10041",
				 "Postfix socketmap (batv, unbatv) HOST:PORT or unix:PATH, or off",
				 false },
	[S_BOUNCE_POLICY] = { "bounce_policy", "storm",
			      "refuse unverifiable bounces per message: score (never), storm, always",
			      true },
	[S_SENT_WINDOW] = { "sent_window", "7d",
			    "how long a send makes bounces to its sender plausible", true },
	[S_BOUNCE_BUDGET] = { "bounce_budget", "2",
			      "without BATV: bounces a local address may get per message it sent",
			      true },
	[S_LEDGER_MAX] = { "ledger_max", "100000",
			   "local addresses the sent ledger keeps; the least recent is evicted",
			   false },
	[S_CROWDSEC_URL] = { "crowdsec_url", "",
			     "CrowdSec Local API base URL (http://HOST:PORT); empty: no fleet",
			     false },
	[S_CROWDSEC_API_KEY] = { "crowdsec_api_key", "",
				 "bouncer key: pull the fleet's decisions", false },
	[S_CROWDSEC_LOGIN] = { "crowdsec_login", "",
			       "watcher login: push our decisions", false },
	[S_CROWDSEC_PASSWORD] = { "crowdsec_password", "",
				  "watcher password", false },
	[S_CROWDSEC_POLL] = { "crowdsec_poll", "10s",
			      "how often the fleet's decision stream is pulled", true },
	[S_DKIM_SELECTORS] = { "dkim_selectors", "",
			       "DKIM selectors of the protected domains, for posture", true },
	[S_XDP_MULTI] = { "xdp_multi", "auto",
			  "attach through libxdp's dispatcher: auto (when another program is there), on, off",
			  false },
	[S_POSTURE_RESOLVER] = { "posture_resolver", "",
				 "DNS server for posture checks, ADDR or ADDR:PORT; empty: /etc/resolv.conf; off: the agent does not check",
				 true },
};

/* How each key is parsed and where it lives; numbers only for K_U32 and
 * K_DURATION, the other kinds each have one field. */
struct setting_rule {
	enum setting_kind kind;
	size_t off;
	uint32_t min, max;	/* K_U32; the field's size for text kinds */
};

#define U32(field, lo, hi)	{ K_U32, offsetof(struct bw_settings, field), lo, hi }
#define DUR(field)		{ K_DURATION, offsetof(struct bw_settings, field), 0, 0 }
#define TEXT(kind, field)	{ kind, offsetof(struct bw_settings, field), 0,		\
				  sizeof(((struct bw_settings *)0)->field) }

static const struct setting_rule rules[S_COUNT] = {
	[S_INTERFACE] = { K_IFACES, 0, 0, 0 },
	[S_SMTP_PORTS] = { K_PORTS, 0, 0, 0 },
	[S_MODE] = { K_MODE, 0, 0, 0 },
	[S_SYN_RATE] = U32(syn_rate, 0, U32_MAX_VALUE),
	[S_SYN_BURST] = U32(syn_burst, 1, U32_MAX_VALUE),
	[S_THROTTLE_RATE] = U32(throttle_rate, 0, U32_MAX_VALUE),
	[S_NULL_RATE] = U32(null_rate, 1, U32_MAX_VALUE),
	[S_SCORE_THROTTLE] = U32(score_throttle, 1, U32_MAX_VALUE),
	[S_SCORE_BLOCK] = U32(score_block, 1, U32_MAX_VALUE),
	[S_BLOCK_TTL] = DUR(block_ttl),
	[S_BLOCK_TTL_MAX] = DUR(block_ttl_max),
	[S_STORM_FACTOR] = { K_FACTOR, 0, 0, 0 },
	[S_PREFIX_V4] = U32(prefix_v4, 8, 32),
	[S_PREFIX_V6] = U32(prefix_v6, 16, 128),
	[S_PROTECTED_DOMAINS] = { K_DOMAINS, 0, 0, 0 },
	[S_BATV_SECRET] = { K_BATV, 0, 0, 0 },
	[S_METRICS_LISTEN] = { K_LISTEN, 0, 0, 0 },
	[S_CONTROL_SOCKET] = { K_SOCKET, 0, 0, 0 },
	[S_STATE_DIR] = { K_DIR, 0, 0, 0 },
	[S_MAX_SOURCES] = U32(max_sources, 1024, 4194304),
	[S_MAX_FLOWS] = U32(max_flows, 256, 1048576),
	[S_MAX_RULES] = U32(max_rules, 1024, BW_RULES_MAX),
	[S_OUR_RELAYS] = { K_RELAYS, 0, 0, 0 },
	[S_POLICY_LISTEN] = TEXT(K_ENDPOINT, policy_listen),
	[S_SOCKETMAP_LISTEN] = TEXT(K_ENDPOINT, socketmap_listen),
	[S_BOUNCE_POLICY] = { K_BOUNCE_POLICY, 0, 0, 0 },
	[S_SENT_WINDOW] = DUR(sent_window),
	[S_BOUNCE_BUDGET] = U32(bounce_budget, 0, 1000),
	[S_LEDGER_MAX] = U32(ledger_max, 1024, 4194304),
	[S_CROWDSEC_URL] = TEXT(K_URL, crowdsec_url),
	[S_CROWDSEC_API_KEY] = TEXT(K_CREDENTIAL, crowdsec_api_key),
	[S_CROWDSEC_LOGIN] = TEXT(K_CREDENTIAL, crowdsec_login),
	[S_CROWDSEC_PASSWORD] = TEXT(K_CREDENTIAL, crowdsec_password),
	[S_CROWDSEC_POLL] = DUR(crowdsec_poll),
	[S_DKIM_SELECTORS] = { K_SELECTORS, 0, 0, 0 },
	[S_XDP_MULTI] = { K_XDP_MULTI, 0, 0, 0 },
	[S_POSTURE_RESOLVER] = TEXT(K_RESOLVER, posture_resolver),
};

/* The number a K_U32 or K_DURATION rule points at. */
static void *
field(struct bw_settings *s, const struct setting_rule *r)
{
	return (char *)s + r->off;
}

static const void *
cfield(const struct bw_settings *s, const struct setting_rule *r)
{
	return (const char *)s + r->off;
}

const struct setting_desc *
settings_table(size_t *n)
{
	*n = S_COUNT;
	return table;
}

static int
find_id(const char *name)
{
	for (int i = 0; i < S_COUNT; i++)
		if (strcmp(table[i].name, name) == 0)
			return i;
	return -1;
}

const struct setting_desc *
settings_find(const char *name)
{
	int id = find_id(name);

	return id < 0 ? NULL : &table[id];
}

int
settings_set(struct bw_settings *s, const char *key, const char *value, char *err,
	     size_t errlen)
{
	char b[TEXT_SHOWN_BUF], expected[64], text[NUMBER_TEXT_MAX];
	const struct setting_rule *r;
	const char *v = value;
	unsigned long num;
	uint64_t secs;
	size_t n;
	double f;
	int id = find_id(key);

	if (id < 0) {
		snprintf(err, errlen, "unknown key '%s'", text_shown(b, key, strlen(key)));
		return -ENOENT;
	}
	r = &rules[id];
	n = strlen(v);
	while (n > 0 && strchr(VALUE_SPACE, v[0])) {
		v++;
		n--;
	}
	while (n > 0 && strchr(VALUE_SPACE, v[n - 1]))
		n--;

	switch (r->kind) {
	case K_IFACES:
		return sv_set_ifaces(s, v, n, err, errlen);
	case K_PORTS:
		return sv_set_ports(s, v, n, err, errlen);
	case K_DOMAINS:
		return sv_set_domains(s, v, n, err, errlen);
	case K_BATV:
		return sv_set_batv_keys(s, v, n, err, errlen);
	case K_RELAYS:
		return sv_set_relays(s, v, n, err, errlen);
	case K_SELECTORS:
		return sv_set_selectors(s, v, n, err, errlen);
	case K_CREDENTIAL:
		return sv_set_credential(field(s, r), r->max, table[id].name, v, n, err, errlen);
	case K_URL:
		if (n && !sv_valid_url(v, n))
			return sv_bad_value(err, errlen, table[id].name, v, n,
					    "http://HOST:PORT[/PATH] or https://..., or empty");
		sv_store_text(field(s, r), r->max, v, n);
		return 0;
	case K_ENDPOINT:
		if (!sv_valid_endpoint(v, n))
			return sv_bad_value(err, errlen, table[id].name, v, n,
					    "HOST:PORT, [IPv6]:PORT, unix:/PATH or off");
		sv_store_text(field(s, r), r->max, v, n);
		return 0;
	case K_RESOLVER: {
		struct posture_resolver res;

		if (n && !(n == 3 && memcmp(v, "off", 3) == 0) &&
		    (n >= r->max || posture_resolver_parse(v, n, &res) < 0))
			return sv_bad_value(err, errlen, table[id].name, v, n,
					    "an IP address with an optional :PORT ([IPv6]:PORT), off, or empty");
		sv_store_text(field(s, r), r->max, v, n);
		return 0;
	}
	case K_BOUNCE_POLICY:
		if (names_bounce_policy_parse(v, n, &s->bounce_policy) == 0)
			return 0;
		return sv_bad_value(err, errlen, table[id].name, v, n, "score, storm or always");
	case K_XDP_MULTI:
		if (names_xdp_multi_parse(v, n, &s->xdp_multi) == 0)
			return 0;
		return sv_bad_value(err, errlen, table[id].name, v, n, "auto, on or off");
	case K_MODE:
		if (names_mode_parse(v, n, &s->mode) == 0)
			return 0;
		return sv_bad_value(err, errlen, table[id].name, v, n, "enforce or monitor");
	case K_U32:
		if (sv_parse_ulong(v, n, r->min, r->max, &num) < 0) {
			snprintf(expected, sizeof(expected), "an integer %u..%u", r->min, r->max);
			return sv_bad_value(err, errlen, table[id].name, v, n, expected);
		}
		*(uint32_t *)field(s, r) = (uint32_t)num;
		return 0;
	case K_DURATION:
		if (n < sizeof(text))
			sv_store_text(text, sizeof(text), v, n);
		if (n >= sizeof(text) || duration_parse(text, &secs) < 0)
			return sv_bad_value(err, errlen, table[id].name, v, n,
					 "a duration such as 90s, 10m, 2h or 1d");
		*(uint64_t *)field(s, r) = secs;
		return 0;
	case K_FACTOR:
		if (sv_parse_factor(v, n, &f) < 0)
			return sv_bad_value(err, errlen, table[id].name, v, n,
					 "a decimal number above 1 and at most 1000");
		s->storm_factor = f;
		return 0;
	case K_LISTEN:
		if (!sv_valid_listen(v, n))
			return sv_bad_value(err, errlen, table[id].name, v, n,
					 "HOST:PORT, [IPv6]:PORT or off");
		sv_store_text(s->metrics_listen, sizeof(s->metrics_listen), v, n);
		return 0;
	case K_SOCKET:
		if (!sv_valid_path(v, n, sizeof(s->control_socket), false)) {
			snprintf(expected, sizeof(expected), "an absolute file path under %zu bytes",
				 sizeof(s->control_socket));
			return sv_bad_value(err, errlen, table[id].name, v, n, expected);
		}
		sv_store_text(s->control_socket, sizeof(s->control_socket), v, n);
		return 0;
	case K_DIR:
		if (!sv_valid_path(v, n, sizeof(s->state_dir), true))
			return sv_bad_value(err, errlen, table[id].name, v, n, "an absolute directory path");
		sv_store_text(s->state_dir, sizeof(s->state_dir), v, n);
		return 0;
	}
	return -EINVAL;
}

/* Append to a canonical value; false once it no longer fits. */
static bool
put(char *buf, size_t len, size_t *used, const char *sep, const char *text)
{
	int w;

	if (*used >= len)
		return false;
	w = snprintf(buf + *used, len - *used, "%s%s", *used ? sep : "", text);
	if (w < 0 || (size_t)w >= len - *used) {
		*used = len;
		return false;
	}
	*used += (size_t)w;
	return true;
}

int
settings_get(const struct bw_settings *s, const char *key, char *buf, size_t len)
{
	const struct setting_rule *r;
	char text[ADDR_CIDR_STRLEN];
	size_t used = 0;
	bool ok = true;
	int id = find_id(key);

	if (id < 0)
		return -ENOENT;
	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	r = &rules[id];
	switch (r->kind) {
	case K_IFACES:
		for (unsigned int i = 0; ok && i < s->n_interfaces; i++)
			ok = put(buf, len, &used, ",", s->interfaces[i]);
		break;
	case K_PORTS:
		for (unsigned int i = 0; ok && i < s->n_ports; i++) {
			snprintf(text, sizeof(text), "%u", s->smtp_ports[i]);
			ok = put(buf, len, &used, ",", text);
		}
		break;
	case K_DOMAINS:
		for (unsigned int i = 0; ok && i < s->n_domains; i++)
			ok = put(buf, len, &used, ",", s->protected_domains[i]);
		break;
	case K_MODE:
		ok = put(buf, len, &used, "",
			 names_mode(s->mode));
		break;
	case K_U32:
		snprintf(text, sizeof(text), "%u", *(const uint32_t *)cfield(s, r));
		ok = put(buf, len, &used, "", text);
		break;
	case K_DURATION:
		duration_format(*(const uint64_t *)cfield(s, r), text, sizeof(text));
		ok = put(buf, len, &used, "", text);
		break;
	case K_FACTOR:
		sv_format_factor(s->storm_factor, text, sizeof(text));
		ok = put(buf, len, &used, "", text);
		break;
	case K_BATV:
		ok = put(buf, len, &used, "", s->n_batv_keys ? "(set)" : "");
		break;
	case K_CREDENTIAL:
		ok = put(buf, len, &used, "", *(const char *)cfield(s, r) ? "(set)" : "");
		break;
	case K_URL:
	case K_ENDPOINT:
	case K_RESOLVER:
		ok = put(buf, len, &used, "", (const char *)cfield(s, r));
		break;
	case K_RELAYS:
		for (unsigned int i = 0; ok && i < s->n_relays; i++)
			ok = put(buf, len, &used, ",",
				 addr_format_cidr(&s->our_relays[i], text, sizeof(text)));
		break;
	case K_SELECTORS:
		for (unsigned int i = 0; ok && i < s->n_selectors; i++)
			ok = put(buf, len, &used, ",", s->dkim_selectors[i]);
		break;
	case K_BOUNCE_POLICY:
		ok = put(buf, len, &used, "", names_bounce_policy(s->bounce_policy));
		break;
	case K_XDP_MULTI:
		ok = put(buf, len, &used, "", names_xdp_multi(s->xdp_multi));
		break;
	case K_LISTEN:
		ok = put(buf, len, &used, "", s->metrics_listen);
		break;
	case K_SOCKET:
		ok = put(buf, len, &used, "", s->control_socket);
		break;
	case K_DIR:
		ok = put(buf, len, &used, "", s->state_dir);
		break;
	}
	return ok ? 0 : -ENOSPC;
}

void
settings_defaults(struct bw_settings *s)
{
	char err[BW_ERR_MAX];

	/* The table is the one source of defaults; an empty default is the
	 * zeroed field (no interfaces, no domains, no secret). */
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < S_COUNT; i++) {
		if (table[i].default_value[0] == '\0')
			continue;
		if (settings_set(s, table[i].name, table[i].default_value, err, sizeof(err)) < 0)
			abort();	/* a bad table is a build bug */
	}
}

int
settings_validate(const struct bw_settings *s, char *err, size_t errlen)
{
	char a[NUMBER_TEXT_MAX], b[NUMBER_TEXT_MAX];

	/* Fields written directly, not through settings_set(), get their
	 * ranges checked again here. */
	for (int i = 0; i < S_COUNT; i++) {
		const struct setting_rule *r = &rules[i];
		uint32_t v;

		if (r->kind != K_U32)
			continue;
		v = *(const uint32_t *)cfield(s, r);
		if (v < r->min || v > r->max) {
			snprintf(err, errlen, "%s: %u is out of range %u..%u", table[i].name, v,
				 r->min, r->max);
			return -EINVAL;
		}
	}
	if (s->n_ports == 0 || s->n_ports > BW_MAX_PORTS) {
		snprintf(err, errlen, "smtp_ports: between 1 and %d ports are needed",
			 BW_MAX_PORTS);
		return -EINVAL;
	}
	if (s->n_interfaces > BW_MAX_IFACES || s->n_domains > BW_MAX_DOMAINS) {
		snprintf(err, errlen, "too many interfaces or protected_domains");
		return -EINVAL;
	}
	if (strcmp(names_mode(s->mode), "unknown") == 0) {
		snprintf(err, errlen, "mode: unknown mode %u", s->mode);
		return -EINVAL;
	}
	if (!(s->storm_factor > 1.0 && s->storm_factor <= FACTOR_MAX)) {
		snprintf(err, errlen, "storm_factor: must be above 1 and at most 1000");
		return -EINVAL;
	}
	if (s->block_ttl == 0 || s->block_ttl_max == 0) {
		snprintf(err, errlen, "block_ttl and block_ttl_max must be above zero");
		return -EINVAL;
	}

	/* Cross-key rules. */
	if (s->score_throttle >= s->score_block) {
		snprintf(err, errlen, "score_throttle (%u) must be below score_block (%u)",
			 s->score_throttle, s->score_block);
		return -EINVAL;
	}
	if (s->block_ttl > s->block_ttl_max) {
		snprintf(err, errlen, "block_ttl (%s) must not exceed block_ttl_max (%s)",
			 duration_format(s->block_ttl, a, sizeof(a)),
			 duration_format(s->block_ttl_max, b, sizeof(b)));
		return -EINVAL;
	}
	if ((s->crowdsec_api_key[0] || s->crowdsec_login[0]) && !s->crowdsec_url[0]) {
		snprintf(err, errlen, "crowdsec_api_key and crowdsec_login need crowdsec_url");
		return -EINVAL;
	}
	if (!s->crowdsec_login[0] != !s->crowdsec_password[0]) {
		snprintf(err, errlen, "crowdsec_login and crowdsec_password go together");
		return -EINVAL;
	}
	if (s->crowdsec_url[0] && !s->crowdsec_api_key[0] && !s->crowdsec_login[0]) {
		snprintf(err, errlen,
			 "crowdsec_url needs crowdsec_api_key (pull) or crowdsec_login (push), or both");
		return -EINVAL;
	}
	if (strcmp(s->policy_listen, "off") != 0 && strcmp(s->policy_listen, s->socketmap_listen) == 0) {
		snprintf(err, errlen, "policy_listen and socketmap_listen must differ");
		return -EINVAL;
	}
	/* A throttled source admitted faster than an ordinary one is not
	 * throttled.  With syn_rate off there is nothing to compare with. */
	if (s->syn_rate != 0 && s->throttle_rate > s->syn_rate) {
		snprintf(err, errlen, "throttle_rate (%u) must not exceed syn_rate (%u)",
			 s->throttle_rate, s->syn_rate);
		return -EINVAL;
	}
	return 0;
}
