/*
 * posture_out.c - posture results as readable text or one JSON document
 * (posture.h).  Records were escaped when kept; findings hold only names
 * that were checked and escaped excerpts, so both print as they are in
 * text, and through json_str() in JSON.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "posture.h"
#include "spf.h"

#define RECORD_TEXT_SHOWN	100	/* bytes of a record on a text line */

static void
text_findings(FILE *f, const struct posture_check *c)
{
	for (unsigned int i = 0; i < c->n_findings; i++)
		fprintf(f, "         - %s: %s\n", posture_finding_severity(c->findings[i].grade),
			c->findings[i].text);
	if (c->dropped)
		fprintf(f, "         - (%u more findings not shown)\n", c->dropped);
}

static void
text_record(FILE *f, const struct posture_check *c)
{
	if (!c->has_record) {
		fputs("(no record)\n", f);
		return;
	}
	fprintf(f, "\"%.*s%s\"\n", RECORD_TEXT_SHOWN, c->record,
		strlen(c->record) > RECORD_TEXT_SHOWN ? "..." : "");
}

static void
text_domain(FILE *f, const struct posture_result *r)
{
	fprintf(f, "%s: %s\n", r->domain, posture_grade_name(posture_domain_grade(r)));
	fprintf(f, "  spf    %s  ", posture_grade_name(r->spf.verdict));
	text_record(f, &r->spf);
	if (r->spf.has_record)
		fprintf(f, "         DNS lookups: %u%s (limit %d), void: %u (limit %d)\n",
			r->spf.lookups, r->spf.lookups_partial ? " or more" : "", SPF_LOOKUP_LIMIT,
			r->spf.voids, SPF_VOID_LIMIT);
	text_findings(f, &r->spf);
	fprintf(f, "  dmarc  %s  ", posture_grade_name(r->dmarc.verdict));
	text_record(f, &r->dmarc);
	text_findings(f, &r->dmarc);
	if (!r->n_dkim)
		fputs("  dkim   not checked: no selectors (dkim_selectors, or --selector)\n", f);
	for (unsigned int i = 0; i < r->n_dkim; i++) {
		const struct posture_check *c = &r->dkim[i];

		fprintf(f, "  dkim   %s  %s", posture_grade_name(c->verdict), c->selector);
		if (c->key_type)
			fprintf(f, " (%s, %u bits)", c->key_type, c->key_bits);
		fputc('\n', f);
		text_findings(f, c);
	}
}

void
posture_print_text(FILE *f, const struct posture_result *r, size_t n)
{
	unsigned int count[3] = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc('\n', f);
		text_domain(f, &r[i]);
		count[posture_domain_grade(&r[i])]++;
	}
	fprintf(f, "\n%zu domain%s: %u pass, %u warn, %u fail\n", n, n == 1 ? "" : "s",
		count[POSTURE_PASS], count[POSTURE_WARN], count[POSTURE_FAIL]);
}

static void
json_check(FILE *f, const struct posture_check *c)
{
	fputs("\"record\":", f);
	if (c->has_record)
		json_str(f, c->record);
	else
		fputs("null", f);
	fprintf(f, ",\"verdict\":\"%s\",\"dns_error\":%s,\"findings\":[",
		posture_grade_name(c->verdict), c->dns_error ? "true" : "false");
	for (unsigned int i = 0; i < c->n_findings; i++) {
		fprintf(f, "%s{\"severity\":\"%s\",\"message\":", i ? "," : "",
			posture_finding_severity(c->findings[i].grade));
		json_str(f, c->findings[i].text);
		fputc('}', f);
	}
	fputc(']', f);
}

static void
json_domain(FILE *f, const struct posture_result *r)
{
	fputs("{\"domain\":", f);
	json_str(f, r->domain);
	fprintf(f, ",\"verdict\":\"%s\",\"spf\":{", posture_grade_name(posture_domain_grade(r)));
	json_check(f, &r->spf);
	fprintf(f, ",\"dns_lookups\":%u,\"dns_lookups_partial\":%s,\"void_lookups\":%u},\"dmarc\":{",
		r->spf.lookups, r->spf.lookups_partial ? "true" : "false", r->spf.voids);
	json_check(f, &r->dmarc);
	fputs("},\"dkim\":[", f);
	for (unsigned int i = 0; i < r->n_dkim; i++) {
		const struct posture_check *c = &r->dkim[i];

		fprintf(f, "%s{\"selector\":", i ? "," : "");
		json_str(f, c->selector);
		fputc(',', f);
		json_check(f, c);
		if (c->key_type)
			fprintf(f, ",\"key_type\":\"%s\",\"key_bits\":%u", c->key_type, c->key_bits);
		fputc('}', f);
	}
	fputs("]}", f);
}

void
posture_print_json(FILE *f, const struct posture_result *r, size_t n)
{
	fputs("{\"domains\":[", f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json_domain(f, &r[i]);
	}
	fputs("]}\n", f);
}
