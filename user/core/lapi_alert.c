/*
 * lapi_alert.c - login and alert bodies for the LAPI (lapi_alert.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

#include "bouncewall.h"
#include "lapi_alert.h"
#include "lapi_decision.h"

/* The bodies we read are small: a login answer, a list of ids. */
#define ANSWER_DEPTH	4

static int
add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int
emit(FILE *f, struct json_object *o, int ret)
{
	if (ret == 0 && fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE), f) < 0)
		ret = -EIO;
	json_object_put(o);
	return ret;
}

int
lapi_login_format(FILE *f, const char *login, const char *password)
{
	struct json_object *o = json_object_new_object(), *sc = json_object_new_array();
	int ret = o && sc ? 0 : -ENOMEM;

	if (ret == 0)
		ret = json_object_array_add(sc, json_object_new_string(LAPI_SCENARIO_SCORER));
	if (ret == 0)
		ret = json_object_array_add(sc, json_object_new_string(LAPI_SCENARIO_OPERATOR));
	if (ret == 0)
		ret = add(o, "machine_id", json_object_new_string(login));
	if (ret == 0)
		ret = add(o, "password", json_object_new_string(password));
	if (ret == 0)
		ret = add(o, "scenarios", sc);
	else
		json_object_put(sc);
	if (!o)
		return -ENOMEM;
	return emit(f, o, ret < 0 ? -ENOMEM : 0);
}

static struct json_object *
parse_small(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(ANSWER_DEPTH);
	struct json_object *o = NULL;

	if (!tok || len > LAPI_TOKEN_MAX * 4) {
		if (tok)
			json_tokener_free(tok);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int
lapi_login_parse(const char *body, size_t len, char *token, size_t tokcap, int64_t *expire)
{
	struct json_object *o = parse_small(body, len), *t, *e;
	const char *tv;
	size_t n;
	int ret = -EINVAL;

	if (!o)
		return -EINVAL;
	if (!json_object_object_get_ex(o, "token", &t) || !json_object_is_type(t, json_type_string) ||
	    !json_object_object_get_ex(o, "expire", &e) || !json_object_is_type(e, json_type_string) ||
	    lapi_time_parse(json_object_get_string(e), expire) < 0)
		goto out;
	tv = json_object_get_string(t);
	n = (size_t)json_object_get_string_len(t);
	if (n == 0 || n >= tokcap)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)tv[i] <= ' ' || (unsigned char)tv[i] >= 0x7f)
			goto out;
	memcpy(token, tv, n);
	token[n] = '\0';
	ret = 0;
out:
	json_object_put(o);
	return ret;
}

/* "1.2.3.4" for a host (scope Ip), "10.0.0.0/24" for a range, as cscli
 * writes them. */
static const char *
value_of(const struct bw_cidr *c, char *buf, size_t len, bool *range)
{
	char *slash;

	addr_format_cidr(c, buf, len);
	*range = !addr_is_host(c);
	slash = strchr(buf, '/');
	if (!*range && slash)
		*slash = '\0';
	return buf;
}

static struct json_object *
decision_json(const char *scenario, const char *scope, const char *value, uint64_t ttl)
{
	struct json_object *d = json_object_new_object();
	char dur[32];

	if (!d)
		return NULL;
	snprintf(dur, sizeof(dur), "%llus", (unsigned long long)ttl);
	if (add(d, "type", json_object_new_string("ban")) < 0 ||
	    add(d, "scope", json_object_new_string(scope)) < 0 ||
	    add(d, "value", json_object_new_string(value)) < 0 ||
	    add(d, "duration", json_object_new_string(dur)) < 0 ||
	    add(d, "origin", json_object_new_string(LAPI_ORIGIN_BOUNCEWALL)) < 0 ||
	    add(d, "scenario", json_object_new_string(scenario)) < 0) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

static struct json_object *
alert_json(const struct lapi_push *p, const char *at, const char *version)
{
	const char *scenario = p->origin == BW_ORIGIN_OPERATOR ? LAPI_SCENARIO_OPERATOR :
				LAPI_SCENARIO_SCORER;
	struct json_object *a = json_object_new_object(), *src = json_object_new_object();
	struct json_object *ds = json_object_new_array(), *d = NULL;
	char value[ADDR_CIDR_STRLEN], msg[LAPI_REASON_MAX + 96];
	const char *scope;
	bool range;
	int ret;

	if (!a || !src || !ds)
		goto fail;
	value_of(&p->cidr, value, sizeof(value), &range);
	scope = range ? "Range" : "Ip";
	snprintf(msg, sizeof(msg), "bouncewall blocked %s for %llus: %s", value,
		 (unsigned long long)p->ttl, p->reason[0] ? p->reason : "-");
	ret = add(src, "scope", json_object_new_string(scope));
	if (ret == 0)
		ret = add(src, "value", json_object_new_string(value));
	if (ret == 0)
		ret = add(src, range ? "range" : "ip", json_object_new_string(value));
	if (ret == 0) {
		d = decision_json(scenario, scope, value, p->ttl);
		ret = d ? json_object_array_add(ds, d) : -ENOMEM;
		if (ret < 0)
			json_object_put(d);
	}
	if (ret < 0)
		goto fail;
	if (add(a, "scenario", json_object_new_string(scenario)) < 0 ||
	    add(a, "scenario_hash", json_object_new_string("")) < 0 ||
	    add(a, "scenario_version", json_object_new_string(version)) < 0 ||
	    add(a, "message", json_object_new_string(msg)) < 0 ||
	    add(a, "events_count", json_object_new_int(1)) < 0 ||
	    add(a, "events", json_object_new_array()) < 0 ||
	    add(a, "start_at", json_object_new_string(at)) < 0 ||
	    add(a, "stop_at", json_object_new_string(at)) < 0 ||
	    add(a, "capacity", json_object_new_int(0)) < 0 ||
	    add(a, "leakspeed", json_object_new_string("0")) < 0 ||
	    add(a, "simulated", json_object_new_boolean(0)) < 0 ||
	    add(a, "remediation", json_object_new_boolean(1)) < 0)
		goto fail;
	ret = add(a, "source", src);
	src = NULL;
	if (ret == 0)
		ret = add(a, "decisions", ds);
	ds = NULL;
	if (ret == 0)
		return a;
fail:
	json_object_put(a);
	json_object_put(src);
	json_object_put(ds);
	return NULL;
}

int
lapi_alerts_format(FILE *f, const struct lapi_push *p, size_t n, int64_t now,
		   const char *version)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	char at[32];

	if (!arr)
		return -ENOMEM;
	lapi_time_format(now, at, sizeof(at));
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = alert_json(&p[i], at, version);

		if (!a || json_object_array_add(arr, a) < 0) {
			json_object_put(a);
			json_object_put(arr);
			return -ENOMEM;
		}
	}
	return emit(f, arr, 0);
}

/* A positive id written as a JSON string ("12", the LAPI's way for
 * alerts) or number; 0 for anything else. */
static int64_t
id_of(struct json_object *v)
{
	const char *s;
	char *end;
	long long n;

	if (json_object_is_type(v, json_type_int)) {
		n = (long long)json_object_get_int64(v);
		return n > 0 ? (int64_t)n : 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	if (*s < '1' || *s > '9')
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	return errno || *end ? 0 : (int64_t)n;
}

int
lapi_alerts_parse_ids(const char *body, size_t len, int64_t *ids, size_t cap)
{
	struct json_object *o = parse_small(body, len);
	size_t n;

	if (!o || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return -EINVAL;
	}
	n = json_object_array_length(o);
	for (size_t i = 0; i < n && i < cap; i++)
		ids[i] = id_of(json_object_array_get_idx(o, i));
	json_object_put(o);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int
lapi_alert_decision_id(const char *body, size_t len, int64_t *id)
{
	struct json_object *o = parse_small(body, len), *ds, *d, *v;
	int ret = -EINVAL;

	if (!o)
		return -EINVAL;
	if (json_object_object_get_ex(o, "decisions", &ds) &&
	    json_object_is_type(ds, json_type_array) && json_object_array_length(ds) > 0 &&
	    (d = json_object_array_get_idx(ds, 0)) && json_object_is_type(d, json_type_object) &&
	    json_object_object_get_ex(d, "id", &v) && (*id = id_of(v)) > 0)
		ret = 0;
	json_object_put(o);
	return ret;
}
