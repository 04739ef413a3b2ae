/*
 * spf.c - the SPF record parser (spf.h), after RFC 7208 §12's grammar.
 *
 * A record is "v=spf1" and terms separated by spaces.  A term is a
 * mechanism with an optional qualifier (+ - ~ ?) or a modifier name=value.
 * Targets are kept as offsets into the caller's text; domain-specs are
 * checked for macro syntax and, when they hold no macro, for the shape of
 * a domain name (a receiver would fail looking up anything else).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spf.h"
#include "text.h"

#define DOMAIN_LABEL_MAX	63

struct mech_name {
	const char *name;
	enum spf_kind kind;
	bool needs_target;	/* ":" required */
	bool takes_target;	/* ":" allowed */
	bool takes_cidr;	/* "/" allowed */
};

static const struct mech_name mechs[] = {
	{ "all", SPF_ALL, false, false, false },
	{ "include", SPF_INCLUDE, true, true, false },
	{ "a", SPF_A, false, true, true },
	{ "mx", SPF_MX, false, true, true },
	{ "ptr", SPF_PTR, false, true, false },
	{ "ip4", SPF_IP4, true, true, true },
	{ "ip6", SPF_IP6, true, true, true },
	{ "exists", SPF_EXISTS, true, true, false },
};

const char *
spf_qual_text(unsigned int q)
{
	static const char *const t[] = { "+", "-", "~", "?" };

	return q < 4 ? t[q] : "?";
}

bool
spf_is_record(const char *txt, size_t len)
{
	return posture_has_prefix(txt, len, "v=spf1") && (len == 6 || txt[6] == ' ');
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
bad(char *err, size_t errlen, const char *what, const char *s, size_t n)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s '%s'", what, text_shown(b, s, n));
	return -EINVAL;
}

/* A macro-expand after '%' at s[i]; returns its length or 0 when bad. */
static size_t
macro_len(const char *s, size_t n, size_t i)
{
	size_t j;

	if (i + 1 >= n)
		return 0;
	if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-')
		return 2;
	if (s[i + 1] != '{' || i + 2 >= n || !strchr("slodiphcrtvSLODIPHCRTV", s[i + 2]))
		return 0;
	for (j = i + 3; j < n && is_digit(s[j]); j++)
		;
	if (j < n && (s[j] == 'r' || s[j] == 'R'))
		j++;
	while (j < n && strchr(".-+,/_=", s[j]))
		j++;
	return j < n && s[j] == '}' ? j - i + 1 : 0;
}

/* The last label of a literal domain: letters, digits and inner hyphens,
 * not all digits (RFC 7208 toplabel). */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]) && s[i] != '-')
			return false;
	}
	return alpha;
}

/* A domain-spec without macros: dotted labels of 1..63 visible
 * characters, 253 in all, ending in a toplabel (a trailing dot is fine). */
static bool
literal_domain_ok(const char *s, size_t n)
{
	size_t start = 0, label;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > POSTURE_NAME_MAX || !memchr(s, '.', n))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		label = i - start;
		if (label == 0 || label > DOMAIN_LABEL_MAX)
			return false;
		start = i + 1;
	}
	start = n;
	while (start > 0 && s[start - 1] != '.')
		start--;
	return toplabel_ok(s + start, n - start);
}

/* Check a domain-spec: visible characters and well-formed macros; a
 * literal one must look like a domain.  Sets *macro. */
static int
domain_spec_check(const char *s, size_t n, bool *macro, char *err, size_t errlen)
{
	*macro = false;
	if (n == 0)
		return bad(err, errlen, "empty domain in", s, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t m;

		if (c < 0x21 || c > 0x7e)
			return bad(err, errlen, "bad character in domain", s, n);
		if (c != '%')
			continue;
		m = macro_len(s, n, i);
		if (!m)
			return bad(err, errlen, "bad macro in", s, n);
		*macro = true;
		i += m - 1;
	}
	if (!*macro && !literal_domain_ok(s, n))
		return bad(err, errlen, "not a domain name:", s, n);
	return 0;
}

/* "/N" with N in 0..max, no leading zero; returns its length or 0. */
static size_t
cidr_len(const char *s, size_t n, unsigned int max, uint8_t *out)
{
	unsigned int v = 0;
	size_t i = 1;

	if (n < 2 || s[0] != '/' || !is_digit(s[1]) || (s[1] == '0' && n > 2 && is_digit(s[2])))
		return 0;
	while (i < n && is_digit(s[i]) && i < 5)
		v = v * 10 + (unsigned int)(s[i++] - '0');
	if (v > max)
		return 0;
	*out = (uint8_t)v;
	return i;
}

/* The CIDR suffix of ip4/ip6/a/mx: "/N", "//N" (IPv6) or "/N//M". */
static int
parse_cidr(struct spf_term *t, const char *s, size_t n, char *err, size_t errlen)
{
	size_t k = 0, m;

	if (t->kind != SPF_IP6 && n > 0 && !(n > 1 && s[1] == '/')) {
		m = cidr_len(s, n, 32, &t->cidr4);
		if (!m)
			return bad(err, errlen, "bad IPv4 prefix length", s, n);
		k = m;
	}
	if (k < n && t->kind == SPF_IP6) {
		m = cidr_len(s + k, n - k, 128, &t->cidr6);
		if (!m)
			return bad(err, errlen, "bad IPv6 prefix length", s, n);
		k += m;
	} else if (k < n && t->kind != SPF_IP4) {
		if (n - k < 3 || s[k] != '/' || !(m = cidr_len(s + k + 1, n - k - 1, 128, &t->cidr6)))
			return bad(err, errlen, "bad IPv6 prefix length", s, n);
		k += m + 1;
	}
	return k == n ? 0 : bad(err, errlen, "bad prefix length", s, n);
}

static int
parse_address(struct spf_term *t, const char *s, size_t n, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16];

	if (n == 0 || n >= sizeof(buf))
		return bad(err, errlen, "bad address", s, n);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(t->kind == SPF_IP4 ? AF_INET : AF_INET6, buf, addr) != 1)
		return bad(err, errlen, t->kind == SPF_IP4 ? "bad IPv4 address" : "bad IPv6 address",
			   s, n);
	return 0;
}

/* ip4:, ip6:, a, mx: the target up to the first '/' (macros never hold one
 * here: receivers split the same way), then the prefix lengths. */
static int
parse_target_cidr(struct spf_term *t, const char *rec, size_t off, size_t n, char *err,
		  size_t errlen)
{
	const char *s = rec + off;
	const char *slash = memchr(s, '/', n);
	size_t tn = slash ? (size_t)(slash - s) : n;
	int ret;

	if (t->kind == SPF_IP4 || t->kind == SPF_IP6)
		ret = parse_address(t, s, tn, err, errlen);
	else
		ret = domain_spec_check(s, tn, &t->macro, err, errlen);
	if (ret < 0)
		return ret;
	t->off = (uint16_t)off;
	t->len = (uint16_t)tn;
	return slash ? parse_cidr(t, slash, n - tn, err, errlen) : 0;
}

/* A mechanism term (qualifier already taken off). */
static int
parse_mechanism(struct spf_term *t, const char *rec, size_t off, size_t n, char *err,
		size_t errlen)
{
	const char *s = rec + off;
	size_t nl = 0;

	while (nl < n && (is_alpha(s[nl]) || is_digit(s[nl])))
		nl++;
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		const struct mech_name *m = &mechs[i];

		if (strlen(m->name) != nl || strncasecmp(s, m->name, nl) != 0)
			continue;
		t->kind = (uint8_t)m->kind;
		if (nl == n)
			return m->needs_target ? bad(err, errlen, "missing ':' after", s, n) : 0;
		if (s[nl] == ':' && m->takes_target) {
			if (m->takes_cidr)
				return parse_target_cidr(t, rec, off + nl + 1, n - nl - 1, err, errlen);
			t->off = (uint16_t)(off + nl + 1);
			t->len = (uint16_t)(n - nl - 1);
			return domain_spec_check(s + nl + 1, n - nl - 1, &t->macro, err, errlen);
		}
		if (s[nl] == '/' && m->takes_cidr && !m->needs_target)
			return parse_cidr(t, s + nl, n - nl, err, errlen);
		return bad(err, errlen, "bad mechanism", s, n);
	}
	return bad(err, errlen, "unknown mechanism", s, n);
}

/* name=value; true when the term has that shape. */
static bool
is_modifier(const char *s, size_t n, size_t *name_len)
{
	size_t i = 0;

	if (n == 0 || !is_alpha(s[0]))
		return false;
	while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || strchr("-_.", s[i])))
		i++;
	*name_len = i;
	return i < n && s[i] == '=';
}

static int
parse_modifier(struct spf_record *r, struct spf_term *t, const char *rec, size_t off,
	       size_t n, size_t nl, char *err, size_t errlen)
{
	const char *s = rec + off;
	bool known = false;

	t->off = (uint16_t)(off + nl + 1);
	t->len = (uint16_t)(n - nl - 1);
	if (nl == 8 && strncasecmp(s, "redirect", 8) == 0) {
		if (r->redirect >= 0)
			return bad(err, errlen, "second redirect=", s, n);
		t->kind = SPF_REDIRECT;
		r->redirect = (int)r->n;
		known = true;
	} else if (nl == 3 && strncasecmp(s, "exp", 3) == 0) {
		for (unsigned int i = 0; i < r->n; i++)
			if (r->t[i].kind == SPF_EXP)
				return bad(err, errlen, "second exp=", s, n);
		t->kind = SPF_EXP;
		known = true;
	} else {
		t->kind = SPF_MODIFIER;
	}
	if (!known)
		return 0;
	return domain_spec_check(s + nl + 1, n - nl - 1, &t->macro, err, errlen);
}

static int
parse_term(struct spf_record *r, const char *rec, size_t off, size_t n, char *err,
	   size_t errlen)
{
	struct spf_term *t = &r->t[r->n];
	const char *s = rec + off;
	size_t nl;
	int ret;

	memset(t, 0, sizeof(*t));
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (is_modifier(s, n, &nl))
		ret = parse_modifier(r, t, rec, off, n, nl, err, errlen);
	else if (strchr("+-~?", s[0]) && n > 1) {
		t->qual = (uint8_t)(strchr("+-~?", s[0]) - "+-~?");
		ret = parse_mechanism(t, rec, off + 1, n - 1, err, errlen);
	} else {
		ret = parse_mechanism(t, rec, off, n, err, errlen);
	}
	if (ret < 0)
		return ret;
	if (t->kind == SPF_ALL && r->all < 0)
		r->all = (int)r->n;
	else if (r->all >= 0 && t->kind < SPF_REDIRECT)
		r->terms_after_all = true;
	r->n++;
	return 0;
}

int
spf_parse(const char *txt, size_t len, struct spf_record *out, char *err, size_t errlen)
{
	size_t i = 6;

	out->n = 0;
	out->all = -1;
	out->redirect = -1;
	out->terms_after_all = false;
	if (len > POSTURE_TXT_MAX)
		return bad(err, errlen, "record too long:", txt, len);
	if (!spf_is_record(txt, len))
		return bad(err, errlen, "does not start with v=spf1:", txt, len);
	while (i < len) {
		size_t start, n;

		if (txt[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < len && txt[i] != ' ')
			i++;
		n = i - start;
		for (size_t k = start; k < i; k++)
			if ((unsigned char)txt[k] < 0x21 || (unsigned char)txt[k] > 0x7e)
				return bad(err, errlen, "bad character in term", txt + start, n);
		if (out->n >= SPF_TERMS_MAX)
			return bad(err, errlen, "too many terms at", txt + start, n);
		if (parse_term(out, txt, start, n, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}
