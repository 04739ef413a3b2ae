/*
 * fuzz_conf.c - libFuzzer target: any bytes as the config file's text.
 *
 * conf_parse() must never crash nor read past the text; it is all or
 * nothing (a refused text leaves the settings exactly as they were); what
 * it accepts passes settings_validate(); and every key's value as
 * settings_get() shows it reads back through settings_set() to the same
 * text (what `threshold get`, `reload` and the docs rely on).  Secrets are
 * never shown, so they are left out of the round trip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "settings.h"

#define VALUE_MAX	16384	/* longer than any list the table allows */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
secret(const char *key)
{
	return strcmp(key, "batv_secret") == 0 || strcmp(key, "crowdsec_api_key") == 0 ||
	       strcmp(key, "crowdsec_login") == 0 || strcmp(key, "crowdsec_password") == 0;
}

static void
round_trip(const struct bw_settings *s)
{
	static char a[VALUE_MAX], b[VALUE_MAX];
	static struct bw_settings t;
	char err[BW_ERR_MAX];
	size_t n;
	const struct setting_desc *tab = settings_table(&n);

	for (size_t i = 0; i < n; i++) {
		const char *key = tab[i].name;

		if (secret(key))
			continue;
		if (settings_get(s, key, a, sizeof(a)) < 0)
			abort();
		t = *s;
		if (settings_set(&t, key, a, err, sizeof(err)) < 0)
			abort();	/* a shown value the parser refuses */
		if (settings_get(&t, key, b, sizeof(b)) < 0 || strcmp(a, b) != 0)
			abort();	/* ... or reads back as another */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bw_settings s, before;
	char err[BW_ERR_MAX], *text;
	unsigned int line = 0;

	/* An exactly sized copy: a read past the end is caught. */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	settings_defaults(&s);
	before = s;
	if (conf_parse(&s, text, size, &line, err, sizeof(err)) < 0) {
		if (memcmp(&s, &before, sizeof(s)) != 0 || !err[0])
			abort();	/* half applied, or refused in silence */
	} else {
		if (settings_validate(&s, err, sizeof(err)) < 0)
			abort();
		round_trip(&s);
	}
	free(text);
	return 0;
}
