/*
 * score_table.c - the scorer's source table (score_int.h).
 *
 * One array of fixed-size entries, a keyed hash index (SipHash of the
 * prefix: a sender who picks source addresses cannot pile them into one
 * chain), a recency list and a dirty list, all allocated by score_new().
 * An event is O(1); when the table is full the least recently seen source
 * is evicted (and counted): memory never grows with what an attacker sends.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "score_int.h"
#include "siphash.h"

static uint32_t
prefix_hash(const uint8_t seed[16], const struct bw_cidr *p)
{
	uint8_t key[17];

	memcpy(key, p->addr, 16);
	key[16] = (uint8_t)p->plen;
	return (uint32_t)siphash24(seed, key, sizeof(key));
}

struct bw_cidr
score_src_prefix(const struct score_src *s)
{
	struct bw_cidr p;

	memcpy(p.addr, s->addr, sizeof(p.addr));
	p.plen = s->plen;
	return p;
}

static bool
src_is(const struct score_src *s, const struct bw_cidr *p)
{
	return s->plen == p->plen && memcmp(s->addr, p->addr, sizeof(s->addr)) == 0;
}

uint64_t
score_src_until_ns(const struct score_src *s)
{
	return (uint64_t)s->until_s * NS_PER_S;
}

void
score_src_set_until(struct score_src *s, uint64_t ns)
{
	uint64_t secs = ns / NS_PER_S + (ns % NS_PER_S != 0);

	s->until_s = secs > UINT32_MAX ? UINT32_MAX : (uint32_t)secs;
}

uint32_t
score_table_find(const struct score *sc, const struct bw_cidr *p)
{
	uint32_t i = sc->heads[prefix_hash(sc->seed, p) & sc->hmask];

	while (i != NIL && !src_is(&sc->src[i], p))
		i = sc->src[i].hnext;
	return i;
}

static void
hash_unlink(struct score *sc, uint32_t i)
{
	struct bw_cidr p = score_src_prefix(&sc->src[i]);
	uint32_t *pp = &sc->heads[prefix_hash(sc->seed, &p) & sc->hmask];

	while (*pp != NIL && *pp != i)
		pp = &sc->src[*pp].hnext;
	if (*pp == i)
		*pp = sc->src[i].hnext;
	sc->src[i].hnext = NIL;
}

void
score_mark_dirty(struct score *sc, uint32_t i)
{
	if (sc->src[i].flags & F_DIRTY)
		return;
	sc->src[i].flags |= F_DIRTY;
	sc->dirty[sc->ndirty++] = i;
}

struct score_src *
score_table_get(struct score *sc, const struct bw_cidr *p)
{
	uint32_t i = score_table_find(sc, p), h;
	struct score_src *s;

	if (i == NIL) {
		if (sc->used < sc->capacity) {
			i = sc->used++;
		} else {
			i = sc->lru.tail;
			hash_unlink(sc, i);
			sc->st.evictions++;
		}
		s = &sc->src[i];
		if (s->flags & F_USED)
			lru_unlink(&sc->lru, i);
		/* A reused slot may still sit in the dirty list: keep the flag
		 * so it is not listed twice. */
		h = s->flags & F_DIRTY;
		memset(s, 0, sizeof(*s));
		s->flags = (uint8_t)(F_USED | h);
		memcpy(s->addr, p->addr, sizeof(s->addr));
		s->plen = (uint8_t)p->plen;
		s->lru.prev = s->lru.next = NIL;
		h = prefix_hash(sc->seed, p) & sc->hmask;
		s->hnext = sc->heads[h];
		sc->heads[h] = i;
		lru_push_head(&sc->lru, i);
	} else {
		lru_touch(&sc->lru, i);
	}
	score_mark_dirty(sc, i);
	return &sc->src[i];
}

void
score_src_roll(struct score_src *s, uint32_t e)
{
	if (e <= s->epoch)
		return;
	if (e - s->epoch >= SCORE_NBUCKETS) {
		memset(s->c, 0, sizeof(s->c));
	} else {
		for (uint32_t k = s->epoch + 1; k <= e; k++)
			for (int c = 0; c < C_COUNT; c++)
				s->c[c][k % SCORE_NBUCKETS] = 0;
	}
	s->epoch = e;
}

void
score_src_add(struct score_src *s, int c, uint64_t v)
{
	uint16_t *slot = &s->c[c][s->epoch % SCORE_NBUCKETS];

	*slot = ((uint64_t)(CNT_MAX - *slot) < v) ? CNT_MAX : (uint16_t)(*slot + v);
}

uint32_t
score_src_sum(const struct score_src *s, int c, uint32_t e)
{
	uint32_t lo, sum = 0;

	if (e < s->epoch)
		e = s->epoch;
	lo = e + 1 >= SCORE_NBUCKETS ? e + 1 - SCORE_NBUCKETS : 0;
	for (uint32_t k = lo; k <= s->epoch; k++)
		sum += s->c[c][k % SCORE_NBUCKETS];
	return sum;
}

size_t
score_entry_bytes(void)
{
	/* entry + hash head (at most 2 per entry) + dirty slot */
	return sizeof(struct score_src) + 2 * sizeof(uint32_t) + sizeof(uint32_t);
}

struct score *
score_new(uint32_t capacity, const uint8_t seed[16], const struct score_config *cfg)
{
	struct score *sc;
	uint32_t nh = 1;

	if (capacity < SCORE_CAPACITY_MIN || capacity > SCORE_CAPACITY_MAX ||
	    score_config_check(cfg, NULL, 0) < 0) {
		errno = EINVAL;
		return NULL;
	}
	while (nh < capacity)
		nh <<= 1;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->src = calloc(capacity, sizeof(*sc->src));
	sc->heads = malloc((size_t)nh * sizeof(*sc->heads));
	sc->dirty = malloc((size_t)capacity * sizeof(*sc->dirty));
	if (!sc->src || !sc->heads || !sc->dirty) {
		score_free(sc);
		errno = ENOMEM;
		return NULL;
	}
	memset(sc->heads, 0xff, (size_t)nh * sizeof(*sc->heads));
	sc->hmask = nh - 1;
	sc->capacity = capacity;
	lru_init(&sc->lru, sc->src, sizeof(*sc->src), offsetof(struct score_src, lru));
	memcpy(sc->seed, seed, 16);
	sc->cfg = *cfg;
	storm_init(&sc->storm);
	return sc;
}

void
score_free(struct score *sc)
{
	if (!sc)
		return;
	free(sc->src);
	free(sc->heads);
	free(sc->dirty);
	free(sc);
}
