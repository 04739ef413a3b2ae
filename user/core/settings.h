/*
 * settings.h - bouncewall's settings: defaults, keys and values,
 * and the live `threshold` names.
 *
 * One table describes every key: its default, its range, whether it may be
 * changed while the agent runs.  settings_set() is the only writer, so the
 * file, command-line flags and `threshold set` validate the same way.
 * Pure: the config file is read by io/conf_file.c.
 */
#ifndef BW_SETTINGS_H
#define BW_SETTINGS_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bouncewall.h"

#define BW_MAX_IFACES		8
#define BW_MAX_DOMAINS		16
#define BW_DOMAIN_MAX		254
#define BW_SECRET_MAX		128
#define BW_BATV_KEYS_MAX	10	/* one per key digit K */
#define BW_MAX_RELAYS		64
#define BW_ENDPOINT_MAX		128	/* "HOST:PORT" or "unix:PATH" */
#define BW_URL_MAX		256
#define BW_CREDENTIAL_MAX	256
#define BW_MAX_SELECTORS	8
#define BW_SELECTOR_MAX		63
#define BW_LISTEN_MAX		64
#define BW_SOCKPATH_MAX		108	/* sun_path */
#define BW_RESOLVER_MAX		56	/* "[IPv6]:PORT" */
#define BW_DEFAULT_CONFIG	"/etc/bouncewall/bouncewall.conf"
#define BW_ERR_MAX		256
#define SETTINGS_MAX		64	/* keys in the table, at most */

/* A BATV signing key: tags carry its digit K, so a bounce of mail signed
 * last week with the old key still checks after a roll. */
struct bw_batv_key {
	uint8_t digit;			/* 0..9 */
	char secret[BW_SECRET_MAX + 1];
};

enum bw_bounce_policy {
	BW_BOUNCE_SCORE = 0,	/* never refuse per message; only score */
	BW_BOUNCE_STORM = 1,	/* refuse unverifiable bounces during a storm */
	BW_BOUNCE_ALWAYS = 2,	/* refuse them always */
};

enum bw_xdp_multi {
	BW_XDP_MULTI_AUTO = 0,	/* libxdp's dispatcher when another program is there */
	BW_XDP_MULTI_ON = 1,
	BW_XDP_MULTI_OFF = 2,
};

struct bw_settings {
	char interfaces[BW_MAX_IFACES][IF_NAMESIZE];
	unsigned int n_interfaces;
	uint16_t smtp_ports[BW_MAX_PORTS];	/* host order */
	unsigned int n_ports;
	uint32_t mode;			/* enum bw_mode */
	uint32_t syn_rate;		/* 0 = off */
	uint32_t syn_burst;
	uint32_t throttle_rate;
	uint32_t null_rate;		/* per minute */
	uint32_t score_throttle;
	uint32_t score_block;
	uint64_t block_ttl;		/* seconds */
	uint64_t block_ttl_max;		/* seconds */
	double storm_factor;
	uint32_t prefix_v4;		/* 8..32 */
	uint32_t prefix_v6;		/* 16..128 */
	char protected_domains[BW_MAX_DOMAINS][BW_DOMAIN_MAX + 1];
	unsigned int n_domains;
	struct bw_batv_key batv_keys[BW_BATV_KEYS_MAX];	/* [0] signs */
	unsigned int n_batv_keys;
	char metrics_listen[BW_LISTEN_MAX];	/* "HOST:PORT" or "off" */
	char control_socket[BW_SOCKPATH_MAX];
	char state_dir[PATH_MAX];
	uint32_t max_sources;		/* scorer capacity */
	uint32_t max_flows;		/* flow table capacity */
	uint32_t max_rules;		/* per rule list, and per kernel rule map */
	struct bw_cidr our_relays[BW_MAX_RELAYS];
	unsigned int n_relays;
	char policy_listen[BW_ENDPOINT_MAX];	/* or "off" */
	char socketmap_listen[BW_ENDPOINT_MAX];	/* or "off" */
	uint32_t bounce_policy;		/* enum bw_bounce_policy */
	uint64_t sent_window;		/* seconds */
	uint32_t bounce_budget;		/* bounces per send without BATV */
	uint32_t ledger_max;		/* local addresses in the sent ledger */
	char crowdsec_url[BW_URL_MAX];
	char crowdsec_api_key[BW_CREDENTIAL_MAX + 1];
	char crowdsec_login[BW_CREDENTIAL_MAX + 1];
	char crowdsec_password[BW_CREDENTIAL_MAX + 1];
	uint64_t crowdsec_poll;		/* seconds */
	char dkim_selectors[BW_MAX_SELECTORS][BW_SELECTOR_MAX + 1];
	unsigned int n_selectors;
	uint32_t xdp_multi;		/* enum bw_xdp_multi */
	char posture_resolver[BW_RESOLVER_MAX];	/* "" = /etc/resolv.conf, or "off" */
};

struct setting_desc {
	const char *name;
	const char *default_value;	/* as the file would spell it */
	const char *help;		/* one line */
	bool live;			/* may `threshold set` change it? */
};

/* The table, in documentation order; *n receives its length (at most
 * SETTINGS_MAX).  A key's position in it is its index for callers that
 * keep something per key. */
const struct setting_desc *settings_table(size_t *n);

/* Look a key up in the table; NULL when unknown. */
const struct setting_desc *settings_find(const char *name);

void settings_defaults(struct bw_settings *s);

/*
 * Validate `value` for `key` and store it.  On error *s is unchanged and
 * err holds one line naming the key and the bad value (escaped, cut).
 * Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value.
 *
 * The value is trimmed of surrounding whitespace.  Integers are plain
 * decimal (no sign).  Lists (interface, smtp_ports, protected_domains,
 * our_relays, dkim_selectors, batv_secret) take comma- or space-separated
 * items, replace the whole list, and refuse an item given twice; an empty
 * value is an empty list, and clears a secret or URL; everywhere else it
 * is an error.  Domains are stored lowercased.  batv_secret items are
 * "K:SECRET" (K a key digit 0..9; a lone "SECRET" is key 0), the first
 * one signs.  batv_secret and the crowdsec_ credentials are never echoed,
 * not even in err.  Per-key checks only: cross-key rules are
 * settings_validate()'s.
 */
int settings_set(struct bw_settings *s, const char *key, const char *value,
		 char *err, size_t errlen);

/* Canonical text of a key's current value ("10m", "25,465,587", "enforce").
 * Lists are joined with ","; secrets are shown as "(set)" or "".  The text
 * of every other key reads back through settings_set() to the same value.
 * 0, -ENOENT, or -ENOSPC when it does not fit in len (buf is then cut). */
int settings_get(const struct bw_settings *s, const char *key, char *buf,
		 size_t len);

/* Cross-key checks (score_throttle < score_block, block_ttl <= block_ttl_max,
 * ...).  0 or -EINVAL with err. */
int settings_validate(const struct bw_settings *s, char *err, size_t errlen);

#endif
