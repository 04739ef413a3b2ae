/*
 * ledger.c - the sent ledger (ledger.h).
 *
 * One array of fixed-size entries allocated at ledger_new() (pages are
 * touched only as addresses arrive), a keyed hash index chained through
 * the entries, and a recency list for eviction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "lru.h"
#include "siphash.h"

#define NIL		UINT32_MAX
#define CNT_MAX		UINT16_MAX
#define WINDOW_DEFAULT	(7 * 86400)

struct ledger_entry {
	char addr[LEDGER_ADDR_MAX + 1];	/* lowercased; "" = free */
	uint32_t hnext;
	struct lru_link lru;
	uint32_t epoch;			/* bucket number of the newest bucket */
	uint32_t last_send;		/* unix seconds, saturating */
	uint32_t last_bounce;
	uint16_t sends[LEDGER_BUCKETS];
	uint16_t bounces[LEDGER_BUCKETS];
};

struct ledger {
	struct ledger_entry *e;
	uint32_t capacity, used;
	uint32_t *heads;
	uint32_t hmask;
	struct lru_list lru;
	uint8_t seed[16];
	uint64_t window;
	uint64_t bucket_s;
	struct ledger_stats st;
};

size_t
ledger_entry_bytes(void)
{
	return sizeof(struct ledger_entry) + 2 * sizeof(uint32_t);
}

const char *
ledger_verdict_name(enum ledger_verdict v)
{
	switch (v) {
	case LEDGER_PLAUSIBLE:
		return "plausible";
	case LEDGER_NO_SEND:
		return "no_send";
	case LEDGER_OVER_BUDGET:
		return "over_budget";
	}
	return "unknown";
}

void
ledger_set_window(struct ledger *l, uint64_t window)
{
	if (!window)
		window = WINDOW_DEFAULT;
	l->window = window;
	l->bucket_s = window / LEDGER_BUCKETS ? window / LEDGER_BUCKETS : 1;
}

struct ledger *
ledger_new(uint32_t capacity, const uint8_t seed[16])
{
	struct ledger *l;
	uint32_t nh = 1;

	if (capacity < LEDGER_CAPACITY_MIN || capacity > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (nh < capacity)
		nh <<= 1;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->e = calloc(capacity, sizeof(*l->e));
	l->heads = malloc((size_t)nh * sizeof(*l->heads));
	if (!l->e || !l->heads) {
		ledger_free(l);
		errno = ENOMEM;
		return NULL;
	}
	memset(l->heads, 0xff, (size_t)nh * sizeof(*l->heads));
	l->hmask = nh - 1;
	l->capacity = capacity;
	memcpy(l->seed, seed, sizeof(l->seed));
	lru_init(&l->lru, l->e, sizeof(*l->e), offsetof(struct ledger_entry, lru));
	ledger_set_window(l, WINDOW_DEFAULT);
	l->st.capacity = capacity;
	return l;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->heads);
	free(l);
}

/* addr lowercased into out; false when it is not an address we keep. */
static bool
normalize(const char *addr, char out[LEDGER_ADDR_MAX + 1])
{
	size_t n = strnlen(addr, LEDGER_ADDR_MAX + 1);
	const char *at;

	if (n == 0 || n > LEDGER_ADDR_MAX)
		return false;
	at = memrchr(addr, '@', n);
	if (!at || at == addr || at == addr + n - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (c <= ' ' || c >= 0x7f)
			return false;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[n] = '\0';
	return true;
}

static uint32_t
hash_of(const struct ledger *l, const char *key)
{
	return (uint32_t)siphash24(l->seed, key, strlen(key)) & l->hmask;
}

static uint32_t
find(const struct ledger *l, const char *key)
{
	uint32_t i = l->heads[hash_of(l, key)];

	while (i != NIL && strcmp(l->e[i].addr, key) != 0)
		i = l->e[i].hnext;
	return i;
}

static void
unhash(struct ledger *l, uint32_t i)
{
	uint32_t *pp = &l->heads[hash_of(l, l->e[i].addr)];

	while (*pp != NIL && *pp != i)
		pp = &l->e[*pp].hnext;
	if (*pp == i)
		*pp = l->e[i].hnext;
}

/* The entry for key, created (evicting the least recent) if need be. */
static struct ledger_entry *
get(struct ledger *l, const char *key)
{
	uint32_t i = find(l, key), h;

	if (i != NIL) {
		lru_touch(&l->lru, i);
		return &l->e[i];
	}
	if (l->used < l->capacity) {
		i = l->used++;
	} else {
		i = l->lru.tail;
		unhash(l, i);
		lru_unlink(&l->lru, i);
		l->st.evictions++;
	}
	memset(&l->e[i], 0, sizeof(l->e[i]));
	strcpy(l->e[i].addr, key);
	h = hash_of(l, key);
	l->e[i].hnext = l->heads[h];
	l->heads[h] = i;
	lru_push_head(&l->lru, i);
	return &l->e[i];
}

/* Slide the entry's window to the bucket of now. */
static void
roll(const struct ledger *l, struct ledger_entry *e, uint64_t now)
{
	uint64_t b = now / l->bucket_s;
	uint32_t ep = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;

	if (ep <= e->epoch)
		return;
	if (ep - e->epoch >= LEDGER_BUCKETS) {
		memset(e->sends, 0, sizeof(e->sends));
		memset(e->bounces, 0, sizeof(e->bounces));
	} else {
		for (uint32_t k = e->epoch + 1; k <= ep; k++) {
			e->sends[k % LEDGER_BUCKETS] = 0;
			e->bounces[k % LEDGER_BUCKETS] = 0;
		}
	}
	e->epoch = ep;
}

/* Window sums as seen at now, without changing e. */
static void
sums(const struct ledger *l, const struct ledger_entry *e, uint64_t now, uint32_t *sends,
     uint32_t *bounces)
{
	uint64_t b = now / l->bucket_s;
	uint64_t lo = b + 1 >= LEDGER_BUCKETS ? b + 1 - LEDGER_BUCKETS : 0;

	*sends = *bounces = 0;
	for (uint64_t k = lo; k <= e->epoch; k++) {
		*sends += e->sends[k % LEDGER_BUCKETS];
		*bounces += e->bounces[k % LEDGER_BUCKETS];
	}
}

static uint32_t
clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void
add16(uint16_t *slot, uint32_t v)
{
	*slot = (uint32_t)(CNT_MAX - *slot) < v ? CNT_MAX : (uint16_t)(*slot + v);
}

/* Count `sends` and `bounces` for addr at time `when` (<= now). */
static int
record(struct ledger *l, const char *addr, uint64_t when, uint64_t now, uint32_t sends,
       uint32_t bounces)
{
	char key[LEDGER_ADDR_MAX + 1];
	struct ledger_entry *e;
	uint64_t b;

	if (!normalize(addr, key))
		return -EINVAL;
	e = get(l, key);
	roll(l, e, now);
	b = when / l->bucket_s;
	if (b + LEDGER_BUCKETS <= e->epoch)
		return 0;	/* older than the window: nothing to keep */
	if (b > e->epoch)
		b = e->epoch;
	add16(&e->sends[b % LEDGER_BUCKETS], sends);
	add16(&e->bounces[b % LEDGER_BUCKETS], bounces);
	if (sends && clamp32(when) > e->last_send)
		e->last_send = clamp32(when);
	if (bounces && clamp32(when) > e->last_bounce)
		e->last_bounce = clamp32(when);
	l->st.sends_total += sends;
	l->st.bounces_total += bounces;
	return 0;
}

int
ledger_send(struct ledger *l, const char *addr, uint64_t now)
{
	return record(l, addr, now, now, 1, 0);
}

int
ledger_bounce(struct ledger *l, const char *addr, uint64_t now)
{
	return record(l, addr, now, now, 0, 1);
}

int
ledger_lookup(const struct ledger *l, const char *addr, uint64_t now, struct ledger_view *v)
{
	char key[LEDGER_ADDR_MAX + 1];
	const struct ledger_entry *e;
	uint32_t i;

	memset(v, 0, sizeof(*v));
	if (!normalize(addr, key))
		return -ENOENT;
	i = find(l, key);
	if (i == NIL)
		return -ENOENT;
	e = &l->e[i];
	sums(l, e, now, &v->sends, &v->bounces);
	v->last_send = e->last_send;
	v->last_bounce = e->last_bounce;
	return 0;
}

enum ledger_verdict
ledger_check(const struct ledger *l, const char *addr, uint64_t now, uint32_t budget)
{
	struct ledger_view v;

	if (ledger_lookup(l, addr, now, &v) < 0 || v.sends == 0)
		return LEDGER_NO_SEND;
	if ((uint64_t)v.bounces >= (uint64_t)v.sends * budget)
		return LEDGER_OVER_BUDGET;
	return LEDGER_PLAUSIBLE;
}

void
ledger_get_stats(const struct ledger *l, struct ledger_stats *st)
{
	*st = l->st;
	st->addresses = l->used;
}

void
ledger_walk(const struct ledger *l, uint64_t now,
	    void (*fn)(void *arg, const char *addr, const struct ledger_view *v), void *arg)
{
	for (uint32_t i = l->lru.head; i != NIL; i = l->e[i].lru.next) {
		struct ledger_view v;

		ledger_lookup(l, l->e[i].addr, now, &v);
		fn(arg, l->e[i].addr, &v);
	}
}

struct format_ctx {
	FILE *f;
	int ret;
};

static void
format_one(void *arg, const char *addr, const struct ledger_view *v)
{
	struct format_ctx *x = arg;

	if (!v->sends && !v->bounces)
		return;		/* aged out of the window: not worth keeping */
	if (fprintf(x->f, "%s %u %u %" PRIu64 " %" PRIu64 "\n", addr, v->sends, v->bounces,
		    v->last_send, v->last_bounce) < 0)
		x->ret = -EIO;
}

int
ledger_format(const struct ledger *l, uint64_t now, FILE *f)
{
	struct format_ctx x = { f, 0 };

	if (fprintf(f, "%s\n", LEDGER_TEXT_HEADER) < 0)
		return -EIO;
	ledger_walk(l, now, format_one, &x);
	return x.ret;
}

/* One unsigned decimal field of [*p, end). */
static bool
field_u64(const char **p, const char *end, uint64_t *out)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q >= end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - (uint64_t)(*q - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	if (q < end && *q != ' ')
		return false;
	*p = q < end ? q + 1 : q;
	*out = v;
	return true;
}

int
ledger_parse_line(struct ledger *l, const char *line, size_t len, uint64_t now)
{
	char addr[LEDGER_ADDR_MAX + 1];
	const char *p = line, *end = line + len, *sp;
	uint64_t sends, bounces, ls, lb;

	if (len && line[len - 1] == '\r')
		end--;
	if (p == end || *p == '#')
		return 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p || (size_t)(sp - p) > LEDGER_ADDR_MAX)
		return -EINVAL;
	memcpy(addr, p, (size_t)(sp - p));
	addr[sp - p] = '\0';
	p = sp + 1;
	if (!field_u64(&p, end, &sends) || !field_u64(&p, end, &bounces) ||
	    !field_u64(&p, end, &ls) || !field_u64(&p, end, &lb) || p != end)
		return -EINVAL;
	if (ls > now || lb > now || sends > CNT_MAX * LEDGER_BUCKETS ||
	    bounces > CNT_MAX * LEDGER_BUCKETS)
		return -EINVAL;
	if (sends && (!ls || record(l, addr, ls, now, (uint32_t)sends, 0) < 0))
		return -EINVAL;
	if (bounces && (!lb || record(l, addr, lb, now, 0, (uint32_t)bounces) < 0))
		return -EINVAL;
	/* Loading is not news: only new sends and bounces count. */
	l->st.sends_total -= sends && ls ? sends : 0;
	l->st.bounces_total -= bounces && lb ? bounces : 0;
	return 0;
}
