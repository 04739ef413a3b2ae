/*
 * lapi_stream.c - the decision stream, chunk by chunk (lapi_stream.h).
 *
 * States name what the next significant byte may be.  Whitespace between
 * tokens is skipped here; everything else that is a value goes to json-c
 * (strict, trailing bytes allowed so it stops at the value's end).
 */
#include <errno.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

#include "lapi_stream.h"

enum {
	S_OPEN,		/* '{' */
	S_KEY_FIRST,	/* a key or '}' */
	S_KEY_NEXT,	/* a key */
	S_KEY,		/* json-c reads the key */
	S_COLON,	/* ':' */
	S_VALUE,	/* a member's value */
	S_SKIP,		/* json-c reads a value we only check */
	S_AFTER_VALUE,	/* ',' or '}' */
	S_ELEM_FIRST,	/* a decision or ']' */
	S_ELEM_NEXT,	/* ',' or ']' */
	S_ELEM_EXPECT,	/* a decision */
	S_ELEM,		/* json-c reads a decision */
	S_END,		/* only whitespace */
	S_ERROR,
};

enum { L_OTHER = 0, L_NEW, L_DELETED };

int
lapi_stream_init(struct lapi_stream *s, lapi_stream_fn *fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->tok = json_tokener_new_ex(LAPI_STREAM_DEPTH);
	if (!s->tok)
		return -ENOMEM;
	json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	s->state = S_OPEN;
	s->fn = fn;
	s->arg = arg;
	return 0;
}

void
lapi_stream_free(struct lapi_stream *s)
{
	if (s->tok)
		json_tokener_free(s->tok);
	s->tok = NULL;
}

static int
fail(struct lapi_stream *s, const char *why)
{
	if (s->state != S_ERROR)
		s->error = why;
	s->state = S_ERROR;
	return -EINVAL;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A string member of o, or NULL (absent, another type, or holding NUL). */
static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *str;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	str = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(str))
		return NULL;
	return str;
}

void
lapi_fields_from_json(struct json_object *o, struct lapi_fields *f)
{
	struct json_object *id;

	memset(f, 0, sizeof(*f));
	if (!json_object_is_type(o, json_type_object))
		return;
	f->type = member_str(o, "type");
	f->scope = member_str(o, "scope");
	f->value = member_str(o, "value");
	f->duration = member_str(o, "duration");
	f->origin = member_str(o, "origin");
	f->scenario = member_str(o, "scenario");
	if (json_object_object_get_ex(o, "id", &id) && json_object_is_type(id, json_type_int)) {
		f->id = json_object_get_int64(id);
		f->has_id = true;
	}
}

/* A whole value json-c has read, in the state that asked for it. */
static int
value_done(struct lapi_stream *s, struct json_object *o)
{
	struct lapi_fields f;
	struct lapi_decision d;
	enum lapi_verdict v;
	const char *key;

	switch (s->state) {
	case S_KEY:
		if (!json_object_is_type(o, json_type_string))
			return fail(s, "a member name is not a string");
		key = json_object_get_string(o);
		s->list = strcmp(key, "new") == 0 ? L_NEW :
			  strcmp(key, "deleted") == 0 ? L_DELETED : L_OTHER;
		s->state = S_COLON;
		return 0;
	case S_SKIP:
		/* "new": null is an empty list; anything else there is not. */
		if (s->list != L_OTHER && o)
			return fail(s, "\"new\" or \"deleted\" is neither a list nor null");
		s->state = S_AFTER_VALUE;
		return 0;
	default:		/* S_ELEM */
		lapi_fields_from_json(o, &f);
		v = lapi_decision_map(&f, s->list == L_DELETED, &d);
		s->decisions++;
		s->fn(s->arg, s->list == L_DELETED, v, &d);
		s->state = S_ELEM_NEXT;
		return 0;
	}
}

/* Hand json-c what it takes of buf for the value in progress; returns
 * the bytes it took, or -EINVAL. */
static long
feed_value(struct lapi_stream *s, const char *buf, size_t len)
{
	size_t room = LAPI_STREAM_VALUE_MAX - s->value_bytes, n = len < room ? len : room, used;
	struct json_object *o;
	enum json_tokener_error e;
	int ret;

	o = json_tokener_parse_ex(s->tok, buf, (int)n);
	e = json_tokener_get_error(s->tok);
	used = json_tokener_get_parse_end(s->tok);
	if (e == json_tokener_continue) {
		s->value_bytes += n;
		if (s->value_bytes >= LAPI_STREAM_VALUE_MAX)
			return fail(s, "a value is larger than the limit");
		return (long)n;
	}
	if (e != json_tokener_success) {
		json_object_put(o);
		return fail(s, "a value is not valid JSON");
	}
	json_tokener_reset(s->tok);
	s->value_bytes = 0;
	ret = value_done(s, o);
	json_object_put(o);
	return ret < 0 ? ret : (long)used;
}

/* Start json-c on a value whose first byte is c; S the state to read it in. */
static void
start_value(struct lapi_stream *s, int state)
{
	json_tokener_reset(s->tok);
	s->value_bytes = 0;
	s->state = state;
}

/* One byte of punctuation at a state that wants it.  Returns 1 when the
 * byte was consumed, 0 when a value starts at it (not consumed), or
 * -EINVAL. */
static int
punct(struct lapi_stream *s, char c)
{
	switch (s->state) {
	case S_OPEN:
		if (c != '{')
			return fail(s, "the body is not a JSON object");
		s->state = S_KEY_FIRST;
		return 1;
	case S_KEY_FIRST:
	case S_KEY_NEXT:
		if (c == '}' && s->state == S_KEY_FIRST) {
			s->state = S_END;
			return 1;
		}
		if (c != '"')
			return fail(s, "a member name was expected");
		start_value(s, S_KEY);
		return 0;
	case S_COLON:
		if (c != ':')
			return fail(s, "':' was expected");
		s->state = S_VALUE;
		return 1;
	case S_VALUE:
		if (c == '[' && s->list != L_OTHER) {
			s->state = S_ELEM_FIRST;
			return 1;
		}
		start_value(s, S_SKIP);
		return 0;
	case S_AFTER_VALUE:
		if (c == ',')
			s->state = S_KEY_NEXT;
		else if (c == '}')
			s->state = S_END;
		else
			return fail(s, "',' or '}' was expected");
		return 1;
	case S_ELEM_FIRST:
	case S_ELEM_EXPECT:
		if (c == ']' && s->state == S_ELEM_FIRST) {
			s->state = S_AFTER_VALUE;
			return 1;
		}
		if (c != '{')
			return fail(s, "a decision is not a JSON object");
		start_value(s, S_ELEM);
		return 0;
	case S_ELEM_NEXT:
		if (c == ',')
			s->state = S_ELEM_EXPECT;
		else if (c == ']')
			s->state = S_AFTER_VALUE;
		else
			return fail(s, "',' or ']' was expected");
		return 1;
	case S_END:
		return fail(s, "bytes after the end of the document");
	default:
		return -EINVAL;
	}
}

static bool
in_value(int state)
{
	return state == S_KEY || state == S_SKIP || state == S_ELEM;
}

int
lapi_stream_feed(struct lapi_stream *s, const char *buf, size_t len)
{
	size_t i = 0;

	if (s->state == S_ERROR)
		return -EINVAL;
	s->bytes += len;
	while (i < len) {
		long n;

		if (in_value(s->state)) {
			n = feed_value(s, buf + i, len - i);
			if (n < 0)
				return -EINVAL;
			i += (size_t)n;
			continue;
		}
		if (is_space(buf[i])) {
			i++;
			continue;
		}
		n = punct(s, buf[i]);
		if (n < 0)
			return -EINVAL;
		i += (size_t)n;
	}
	return 0;
}

int
lapi_stream_end(struct lapi_stream *s)
{
	if (s->state == S_END)
		return 0;
	/* A top-level value that ends at the end of the body (a bare
	 * number after an unknown key) cannot be: the '}' must follow. */
	return fail(s, s->state == S_ERROR ? s->error : "the body ended inside the document");
}
