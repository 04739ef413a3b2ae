/*
 * rules.c - the agent's allow/block mirror (rules.h).
 *
 * The index is open addressing with linear probing over positions in the
 * dense array; a delete moves the last entry into the hole (and its slot
 * with it) and closes the probe run behind the removed slot by shifting
 * back, so there are no tombstones to age out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "siphash.h"

#define SLOTS_MIN	64

void
rules_seed(struct rules *r, const uint8_t seed[16])
{
	memcpy(r->allow.seed, seed, sizeof(r->allow.seed));
	memcpy(r->block.seed, seed, sizeof(r->block.seed));
}

static void
set_free(struct rule_set *s)
{
	uint8_t seed[16];

	memcpy(seed, s->seed, sizeof(seed));
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof(*s));
	memcpy(s->seed, seed, sizeof(seed));
}

void
rules_free(struct rules *r)
{
	set_free(&r->allow);
	set_free(&r->block);
}

static size_t
home(const struct rule_set *s, const struct bw_cidr *c)
{
	uint8_t key[17];

	memcpy(key, c->addr, 16);
	key[16] = (uint8_t)c->plen;
	return (size_t)siphash24(s->seed, key, sizeof(key)) & (s->nslots - 1);
}

/* The slot holding c, or the empty slot where it would go. */
static size_t
probe(const struct rule_set *s, const struct bw_cidr *c)
{
	size_t i = home(s, c);

	while (s->slots[i] && !addr_cidr_equal(&s->v[s->slots[i] - 1].cidr, c))
		i = (i + 1) & (s->nslots - 1);
	return i;
}

struct rule_entry *
rules_find(const struct rule_set *s, const struct bw_cidr *c)
{
	size_t i;

	if (!s->n)
		return NULL;
	i = probe(s, c);
	return s->slots[i] ? &s->v[s->slots[i] - 1] : NULL;
}

/* Rebuild the index at nslots slots. */
static int
reindex(struct rule_set *s, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	for (size_t k = 0; k < s->n; k++)
		s->slots[probe(s, &s->v[k].cidr)] = (uint32_t)k + 1;
	return 0;
}

/* Room for one more entry, in the array and the index. */
static int
reserve(struct rule_set *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : SLOTS_MIN / 2;
		struct rule_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (s->nslots < 2 * s->cap)
		return reindex(s, 2 * s->cap);
	return 0;
}

static uint32_t *
plen_slot(struct rule_set *s, const struct bw_cidr *c)
{
	return &s->plen_count[addr_is_v4(c->addr)][c->plen <= 128 ? c->plen : 128];
}

unsigned int
rules_plens(const struct rule_set *s, bool v4, __u8 out[BW_MAX_PLENS])
{
	unsigned int n = 0;

	for (int p = 128; p >= 0 && n < BW_MAX_PLENS; p--)
		if (s->plen_count[v4][p])
			out[n++] = (__u8)p;
	return n;
}

void
rules_set_max(struct rules *r, size_t max)
{
	if (max > BW_RULES_MAX)
		max = BW_RULES_MAX;
	r->allow.max = max;
	r->block.max = max;
}

size_t
rules_max(const struct rule_set *s)
{
	return s->max ? s->max : BW_RULES_MAX;
}

int
rules_put(struct rule_set *s, const struct rule_entry *e)
{
	struct rule_entry *old = rules_find(s, &e->cidr);
	__u8 plens[BW_MAX_PLENS];
	size_t i;
	int ret;

	if (old) {
		*old = *e;
		return 1;
	}
	if (s->n >= rules_max(s))
		return -ENOSPC;
	if (!*plen_slot(s, &e->cidr) &&
	    rules_plens(s, addr_is_v4(e->cidr.addr), plens) >= BW_MAX_PLENS)
		return -E2BIG;
	ret = reserve(s);
	if (ret < 0)
		return ret;
	s->v[s->n] = *e;
	i = probe(s, &e->cidr);
	s->slots[i] = (uint32_t)++s->n;
	(*plen_slot(s, &e->cidr))++;
	return 0;
}

/* Empty slot i and shift later members of its probe run back into it. */
static void
slot_clear(struct rule_set *s, size_t i)
{
	size_t mask = s->nslots - 1, j = i;

	s->slots[i] = 0;
	for (;;) {
		size_t h;

		j = (j + 1) & mask;
		if (!s->slots[j])
			return;
		h = home(s, &s->v[s->slots[j] - 1].cidr);
		/* Can the entry at j move to i?  Only when its home is not
		 * in the cyclic interval (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = 0;
			i = j;
		}
	}
}

int
rules_del(struct rule_set *s, const struct bw_cidr *c)
{
	size_t i, pos, last;

	if (!s->n)
		return -ENOENT;
	i = probe(s, c);
	if (!s->slots[i])
		return -ENOENT;
	pos = s->slots[i] - 1;
	(*plen_slot(s, c))--;
	slot_clear(s, i);
	last = --s->n;
	if (pos != last) {
		s->v[pos] = s->v[last];
		s->slots[probe(s, &s->v[pos].cidr)] = (uint32_t)pos + 1;
	}
	return 0;
}

const struct rule_entry *
rules_match(const struct rule_set *s, const __u8 addr[16], uint64_t now)
{
	bool v4 = addr_is_v4(addr);
	struct bw_cidr c;

	if (!s->n)
		return NULL;
	for (int p = 128; p >= 0; p--) {
		const struct rule_entry *e;

		if (!s->plen_count[v4][p])
			continue;
		memcpy(c.addr, addr, 16);
		c.plen = (__u32)p;
		addr_mask(c.addr, c.plen);
		e = rules_find(s, &c);
		if (e && (!e->expires || e->expires > now))
			return e;
	}
	return NULL;
}

size_t
rules_expire(struct rule_set *s, uint64_t now,
	     void (*gone)(void *arg, const struct rule_entry *e), void *arg)
{
	size_t removed = 0;

	for (size_t i = 0; i < s->n;) {
		struct rule_entry e = s->v[i];

		if (!e.expires || e.expires > now) {
			i++;
			continue;
		}
		if (gone)
			gone(arg, &e);
		rules_del(s, &e.cidr);	/* the last entry moves to i */
		removed++;
	}
	return removed;
}

size_t
rules_count_action(const struct rule_set *s, uint32_t action)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].action == action;
	return n;
}
