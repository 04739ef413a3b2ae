/*
 * config.h - bouncewall's settings: defaults, the config file (SPEC §5),
 * and the live `threshold` names.
 *
 * One table describes every key: its default, its range, whether it may be
 * changed while the agent runs.  settings_set() is the only writer, so the
 * file, command-line flags and `threshold set` validate the same way.
 * Pure: no I/O except settings_load_file() reading the named file.
 */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncewall.h"

#define BW_MAX_IFACES		8
#define BW_MAX_DOMAINS		16
#define BW_DOMAIN_MAX		254
#define BW_SECRET_MAX		128
#define BW_LISTEN_MAX		64
#define BW_SOCKPATH_MAX		108	/* sun_path */
#define BW_DEFAULT_CONFIG	"/etc/bouncewall/bouncewall.conf"
#define BW_ERR_MAX		256

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
	char batv_secret[BW_SECRET_MAX + 1];
	char metrics_listen[BW_LISTEN_MAX];	/* "HOST:PORT" or "off" */
	char control_socket[BW_SOCKPATH_MAX];
	char state_dir[PATH_MAX];
	uint32_t max_sources;		/* scorer capacity */
	uint32_t max_flows;		/* flow table capacity */
};

struct setting_desc {
	const char *name;
	const char *default_value;	/* as the file would spell it */
	const char *help;		/* one line */
	bool live;			/* may `threshold set` change it? */
};

/* The table, in documentation order; *n receives its length. */
const struct setting_desc *settings_table(size_t *n);

/* Look a key up in the table; NULL when unknown. */
const struct setting_desc *settings_find(const char *name);

void settings_defaults(struct bw_settings *s);

/*
 * Validate `value` for `key` and store it.  Lists (interface, smtp_ports,
 * protected_domains) take comma- or space-separated items and replace the
 * whole list.  On error *s is unchanged and err holds one line naming the
 * key and the bad value (escaped, truncated).  Returns 0, -ENOENT for an
 * unknown key, -EINVAL for a bad value.
 *
 * The value is trimmed of surrounding whitespace.  Integers are plain
 * decimal (no sign).  An empty value is an empty list for interface and
 * protected_domains, and clears batv_secret; everywhere else it is an
 * error.  smtp_ports needs 1..BW_MAX_PORTS distinct ports; a list item
 * given twice is an error.  protected_domains are stored lowercased.
 * batv_secret is never echoed, not even in err.  Per-key checks only:
 * cross-key rules are settings_validate()'s.
 */
int settings_set(struct bw_settings *s, const char *key, const char *value,
		 char *err, size_t errlen);

/* Canonical text of a key's current value ("10m", "25,465,587", "enforce").
 * Lists are joined with ","; secrets are shown as "(set)" or "".  The text
 * of every other key reads back through settings_set() to the same value.
 * 0, -ENOENT, or -ENOSPC when it does not fit in len (buf is then cut). */
int settings_get(const struct bw_settings *s, const char *key, char *buf,
		 size_t len);

/*
 * Read `path` (key = value lines, # comments, blank lines) on top of *s.
 * All or nothing: on any error *s is unchanged and err holds
 * "PATH:LINE: message" (the first bad line), or "PATH: message" when the
 * lines are fine but settings_validate() is not.  Returns 0, -errno when
 * the file cannot be read ("PATH: strerror"), -EINVAL for a bad file.
 *
 * The format, pinned down here whatever libinih's build options:
 *  - leading and trailing whitespace is ignored, also on indented lines
 *    (never a continuation of the previous value);
 *  - a line starting with '#' or ';' is a comment, and so is the rest of a
 *    line from a '#' or ';' that follows a space or tab ("syn_rate = 5 # x"
 *    is 5); elsewhere they are part of the value ("batv_secret = a#b");
 *  - the separator is '='; "key: value" and "[section]" lines are errors;
 *  - a line may hold at most 199 characters (libinih's buffer); a longer
 *    one is an error, never cut;
 *  - a key given twice: the last one wins (a list is replaced, not merged).
 */
int settings_load_file(struct bw_settings *s, const char *path, char *err,
		       size_t errlen);

/* Cross-key checks (score_throttle < score_block, block_ttl <= block_ttl_max,
 * ...).  0 or -EINVAL with err. */
int settings_validate(const struct bw_settings *s, char *err, size_t errlen);

#endif
