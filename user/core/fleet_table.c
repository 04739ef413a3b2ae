/*
 * fleet_table.c - the fleet's decisions and our pushes by CIDR
 * (fleet_table.h).  Open addressing with linear probing over positions in
 * the dense array; a delete shifts the rest of its probe run back, so no
 * tombstones build up under a stream of adds and deletes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_table.h"
#include "siphash.h"

#define CAP_MIN		32

void
fleet_table_init(struct fleet_table *t, size_t max, const uint8_t seed[16])
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	memcpy(t->seed, seed, sizeof(t->seed));
	snprintf(t->origins[0], sizeof(t->origins[0]), "other");
	t->n_origins = 1;
}

void
fleet_table_free(struct fleet_table *t)
{
	free(t->v);
	free(t->slots);
	t->v = NULL;
	t->slots = NULL;
	t->n = t->cap = t->nslots = 0;
	memset(t->per_origin, 0, sizeof(t->per_origin));
}

static size_t
home(const struct fleet_table *t, const struct bw_cidr *c)
{
	uint8_t key[17];

	memcpy(key, c->addr, 16);
	key[16] = (uint8_t)c->plen;
	return (size_t)siphash24(t->seed, key, sizeof(key)) & (t->nslots - 1);
}

static size_t
probe(const struct fleet_table *t, const struct bw_cidr *c)
{
	size_t i = home(t, c);

	while (t->slots[i] && !addr_cidr_equal(&t->v[t->slots[i] - 1].cidr, c))
		i = (i + 1) & (t->nslots - 1);
	return i;
}

struct fleet_entry *
fleet_table_find(const struct fleet_table *t, const struct bw_cidr *c)
{
	size_t i;

	if (!t->n)
		return NULL;
	i = probe(t, c);
	return t->slots[i] ? &t->v[t->slots[i] - 1] : NULL;
}

static int
reserve(struct fleet_table *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : CAP_MIN;
		struct fleet_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (t->nslots < 2 * t->cap) {
		size_t nslots = 2 * t->cap;
		uint32_t *slots = calloc(nslots, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		free(t->slots);
		t->slots = slots;
		t->nslots = nslots;
		for (size_t k = 0; k < t->n; k++)
			t->slots[probe(t, &t->v[k].cidr)] = (uint32_t)k + 1;
	}
	return 0;
}

static uint8_t
origin_ok(const struct fleet_table *t, uint8_t o)
{
	return o < t->n_origins ? o : 0;
}

int
fleet_table_put(struct fleet_table *t, const struct fleet_entry *e, struct fleet_entry **out)
{
	struct fleet_entry *old = fleet_table_find(t, &e->cidr);
	size_t i;
	int ret;

	if (old) {
		t->per_origin[old->origin]--;
		*old = *e;
		old->origin = origin_ok(t, e->origin);
		t->per_origin[old->origin]++;
		if (out)
			*out = old;
		return 1;
	}
	if (t->n >= t->max)
		return -ENOSPC;
	ret = reserve(t);
	if (ret < 0)
		return ret;
	t->v[t->n] = *e;
	t->v[t->n].origin = origin_ok(t, e->origin);
	t->per_origin[t->v[t->n].origin]++;
	i = probe(t, &e->cidr);
	t->slots[i] = (uint32_t)++t->n;
	if (out)
		*out = &t->v[t->n - 1];
	return 0;
}

/* Empty slot i and shift later members of its probe run back. */
static void
slot_clear(struct fleet_table *t, size_t i)
{
	size_t mask = t->nslots - 1, j = i;

	t->slots[i] = 0;
	for (;;) {
		size_t h;

		j = (j + 1) & mask;
		if (!t->slots[j])
			return;
		h = home(t, &t->v[t->slots[j] - 1].cidr);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = 0;
			i = j;
		}
	}
}

int
fleet_table_del(struct fleet_table *t, const struct bw_cidr *c)
{
	size_t i, pos, last;

	if (!t->n)
		return -ENOENT;
	i = probe(t, c);
	if (!t->slots[i])
		return -ENOENT;
	pos = t->slots[i] - 1;
	t->per_origin[t->v[pos].origin]--;
	slot_clear(t, i);
	last = --t->n;
	if (pos != last) {
		t->v[pos] = t->v[last];
		t->slots[probe(t, &t->v[pos].cidr)] = (uint32_t)pos + 1;
	}
	return 0;
}

uint8_t
fleet_table_origin(struct fleet_table *t, const char *name)
{
	for (unsigned int i = 0; i < t->n_origins; i++)
		if (strcmp(t->origins[i], name) == 0)
			return (uint8_t)i;
	if (t->n_origins >= FLEET_ORIGINS_MAX)
		return 0;
	snprintf(t->origins[t->n_origins], sizeof(t->origins[0]), "%s", name);
	return (uint8_t)t->n_origins++;
}
