/*
 * names.c - enum words (names.h).
 */
#include <errno.h>
#include <string.h>

#include "bouncewall.h"
#include "names.h"
#include "settings.h"

static const char *const action_words[] = {
	[BW_ACT_BLOCK] = "block",
	[BW_ACT_THROTTLE] = "throttle",
};

static const char *const origin_words[] = {
	[BW_ORIGIN_OPERATOR] = "operator",
	[BW_ORIGIN_SCORER] = "scorer",
	[BW_ORIGIN_CROWDSEC] = "crowdsec",
};

static const char *const mode_words[] = {
	[BW_MODE_ENFORCE] = "enforce",
	[BW_MODE_MONITOR] = "monitor",
};

static const char *const bounce_policy_words[] = {
	[BW_BOUNCE_SCORE] = "score",
	[BW_BOUNCE_STORM] = "storm",
	[BW_BOUNCE_ALWAYS] = "always",
};

static const char *const xdp_multi_words[] = {
	[BW_XDP_MULTI_AUTO] = "auto",
	[BW_XDP_MULTI_ON] = "on",
	[BW_XDP_MULTI_OFF] = "off",
};

#define WORD(tab, v, none)						\
	((v) < sizeof(tab) / sizeof(tab[0]) && tab[v] ? tab[v] : (none))

const char *
names_action(uint32_t action)
{
	return WORD(action_words, action, "-");
}

const char *
names_origin(uint32_t origin)
{
	return WORD(origin_words, origin, "unknown");
}

const char *
names_mode(uint32_t mode)
{
	return WORD(mode_words, mode, "unknown");
}

static int
lookup(const char *const *tab, size_t ntab, const char *s, size_t n, uint32_t *out)
{
	for (size_t i = 0; i < ntab; i++) {
		if (tab[i] && strlen(tab[i]) == n && memcmp(tab[i], s, n) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
names_action_parse(const char *s, size_t n, uint32_t *action)
{
	return lookup(action_words, sizeof(action_words) / sizeof(action_words[0]), s, n,
		      action);
}

int
names_origin_parse(const char *s, size_t n, uint32_t *origin)
{
	return lookup(origin_words, sizeof(origin_words) / sizeof(origin_words[0]), s, n,
		      origin);
}

int
names_mode_parse(const char *s, size_t n, uint32_t *mode)
{
	return lookup(mode_words, sizeof(mode_words) / sizeof(mode_words[0]), s, n, mode);
}

const char *
names_bounce_policy(uint32_t p)
{
	return WORD(bounce_policy_words, p, "unknown");
}

const char *
names_xdp_multi(uint32_t m)
{
	return WORD(xdp_multi_words, m, "unknown");
}

int
names_bounce_policy_parse(const char *s, size_t n, uint32_t *p)
{
	return lookup(bounce_policy_words,
		      sizeof(bounce_policy_words) / sizeof(bounce_policy_words[0]), s, n, p);
}

int
names_xdp_multi_parse(const char *s, size_t n, uint32_t *m)
{
	return lookup(xdp_multi_words, sizeof(xdp_multi_words) / sizeof(xdp_multi_words[0]), s,
		      n, m);
}
