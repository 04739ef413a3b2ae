/*
 * policy_req.c - parse Postfix policy requests (policy_req.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "policy_req.h"

struct attr {
	const char *name;
	size_t off;		/* in struct policy_req; 0: known, not kept */
	size_t size;
};

#define KEEP(n)	{ #n, offsetof(struct policy_req, n), sizeof(((struct policy_req *)0)->n) }
#define SKIP(n)	{ #n, 0, 0 }

/* Postfix 3.7's attributes.  The kept ones first. */
static const struct attr attrs[] = {
	KEEP(request), KEEP(protocol_state), KEEP(client_address), KEEP(sender),
	KEEP(recipient), KEEP(sasl_username), KEEP(encryption_protocol), KEEP(instance),
	SKIP(protocol_name), SKIP(helo_name), SKIP(queue_id), SKIP(recipient_count),
	SKIP(client_name), SKIP(reverse_client_name), SKIP(sasl_method), SKIP(sasl_sender),
	SKIP(size), SKIP(ccert_subject), SKIP(ccert_issuer), SKIP(ccert_fingerprint),
	SKIP(ccert_pubkey_fingerprint), SKIP(encryption_cipher), SKIP(encryption_keysize),
	SKIP(etrn_domain), SKIP(stress), SKIP(server_address), SKIP(server_port),
	SKIP(policy_context), SKIP(compatibility_level), SKIP(mail_version), SKIP(client_port),
};

size_t
policy_request_len(const char *buf, size_t len)
{
	/* The first empty line: "\n\n", or the request is only "\n". */
	if (len && buf[0] == '\n')
		return 1;
	for (size_t i = 1; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\n')
			return i + 1;
	return 0;
}

static const struct attr *
lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strlen(attrs[i].name) == n && memcmp(attrs[i].name, name, n) == 0)
			return &attrs[i];
	return NULL;
}

int
policy_parse(const char *buf, size_t len, struct policy_req *r, const char **why)
{
	const char *p = buf, *end = buf + len;
	unsigned int lines = 0;

	memset(r, 0, sizeof(*r));
	if (memchr(buf, '\0', len)) {
		*why = "NUL byte";
		return -EINVAL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const struct attr *a;

		if (n == 0)
			break;		/* the empty line that ends it */
		if (++lines > POLICY_ATTRS_MAX) {
			*why = "too many attributes";
			return -EINVAL;
		}
		eq = memchr(p, '=', n);
		if (!eq || eq == p) {
			*why = "line without name=value";
			return -EINVAL;
		}
		a = lookup(p, (size_t)(eq - p));
		if (!a) {
			if (!r->unknown++) {
				size_t k = (size_t)(eq - p) < sizeof(r->first_unknown) - 1 ?
					   (size_t)(eq - p) : sizeof(r->first_unknown) - 1;

				memcpy(r->first_unknown, p, k);
			}
		} else if (a->size) {
			size_t vn = n - (size_t)(eq - p) - 1;

			if (vn >= a->size) {
				*why = "value too long";
				return -EINVAL;
			}
			memcpy((char *)r + a->off, eq + 1, vn);
		}
		p += n + 1;
	}
	if (strcmp(r->request, "smtpd_access_policy") != 0) {
		*why = "not an smtpd_access_policy request";
		return -EINVAL;
	}
	return 0;
}
