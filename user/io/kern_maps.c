/*
 * kern_maps.c - what the agent reads and writes in the XDP program's maps:
 * the config, the allow and block rules, the counters, the rate map's
 * size (kern.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kern.h"
#include "log.h"

#define NSEC_PER_SEC	1000000000ULL

void
kern_build_static(const struct bw_settings *s, struct bw_static *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < s->n_ports && i < BW_MAX_PORTS; i++) {
		st->ports[st->n_ports++] = s->smtp_ports[i];
		st->port_mask |= 1ULL << (s->smtp_ports[i] % 64);
	}
	st->prefix_v4 = s->prefix_v4;
	st->prefix_v6 = s->prefix_v6;
}

/* Where variable `name` of data section `sec` lies in the object, from
 * its BTF.  The offset, or -ENOENT. */
static int
btf_var_offset(const struct btf *btf, const char *sec, const char *name, __u32 *size)
{
	const struct btf_var_secinfo *vs;
	const struct btf_type *t;
	int id;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), name) == 0) {
			*size = vs->size;
			return (int)vs->offset;
		}
	}
	return -ENOENT;
}

int
kern_obj_setup(struct bpf_object *obj, const struct bw_settings *s)
{
	static const char *const rule_maps[] = {
		BW_MAP_ALLOW4, BW_MAP_ALLOW, BW_MAP_BLOCK4, BW_MAP_BLOCK,
	};
	struct bpf_map *ro = bpf_object__find_map_by_name(obj, ".rodata");
	struct bw_static st;
	const void *init;
	__u32 size = 0;
	size_t sz = 0;
	void *buf;
	int off, ret;

	struct bpf_map *cfg = bpf_object__find_map_by_name(obj, BW_MAP_CONFIG);
	__u32 cfg_size = 0;

	off = btf_var_offset(bpf_object__btf(obj), ".rodata", "bw_static", &size);
	init = ro ? bpf_map__initial_value(ro, &sz) : NULL;
	if (off < 0 || size != sizeof(st) || !init || (size_t)off + size > sz) {
		log_err("bpf object lacks bw_static in .rodata (built from another bouncewall.h?)");
		return -EINVAL;
	}
	/* kern_write_config() writes the whole section as one struct. */
	if (btf_var_offset(bpf_object__btf(obj), BW_MAP_CONFIG, "bw_cfg", &cfg_size) != 0 ||
	    cfg_size != sizeof(struct bw_config) || !cfg ||
	    bpf_map__value_size(cfg) != sizeof(struct bw_config)) {
		log_err("bpf object's %s is not one struct bw_config (built from another bouncewall.h?)",
			BW_MAP_CONFIG);
		return -EINVAL;
	}
	kern_build_static(s, &st);
	buf = malloc(sz);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, init, sz);
	memcpy((char *)buf + off, &st, sizeof(st));
	ret = bpf_map__set_initial_value(ro, buf, sz);
	free(buf);
	for (size_t i = 0; ret == 0 && i < sizeof(rule_maps) / sizeof(rule_maps[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, rule_maps[i]);

		ret = m ? bpf_map__set_max_entries(m, s->max_rules) : -ENOENT;
	}
	if (ret < 0)
		log_err("bpf object setup err=\"%s\"", strerror(-ret));
	return ret;
}

void
kern_build_config(const struct bw_settings *s, const struct rules *r,
		  struct bw_config *cfg)
{
	uint32_t throttle_burst = s->throttle_rate ? s->throttle_rate : 1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = s->mode;
	cfg->syn_rate = s->syn_rate;
	cfg->syn_burst = s->syn_burst;
	cfg->throttle_rate = s->throttle_rate;
	if (s->syn_rate) {
		cfg->syn_interval_ns = NSEC_PER_SEC / s->syn_rate;
		cfg->syn_tau_ns = cfg->syn_interval_ns * s->syn_burst;
	}
	if (s->throttle_rate) {
		cfg->throttle_interval_ns = NSEC_PER_SEC / s->throttle_rate;
		cfg->throttle_tau_ns = cfg->throttle_interval_ns * throttle_burst;
	}
	cfg->event_interval_ns = NSEC_PER_SEC;
	cfg->n_allow_plens_v4 = rules_plens(&r->allow, true, cfg->allow_plens_v4);
	cfg->n_allow_plens_v6 = rules_plens(&r->allow, false, cfg->allow_plens_v6);
	cfg->n_block_plens_v4 = rules_plens(&r->block, true, cfg->block_plens_v4);
	cfg->n_block_plens_v6 = rules_plens(&r->block, false, cfg->block_plens_v6);
}

int
kern_write_config(struct kern *k, const struct bw_settings *s, const struct rules *r)
{
	struct bw_config cfg;
	__u32 zero = 0;

	kern_build_config(s, r, &cfg);
	k->cfg = cfg;
	/* The skeleton's program, and libxdp's copy of it once loaded. */
	for (int i = 0; i < 2; i++) {
		int fd = i ? k->multi_config_fd : k->config_fd;

		if (fd < 0)
			continue;
		if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) < 0) {
			int ret = -errno;

			log_err("map update map=%s err=\"%s\"", BW_MAP_CONFIG, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A rule's key, as the map of its family wants it. */
union rule_key {
	struct bw_key4 v4;
	struct bw_key v6;
};

static const char *const rule_map_name[2][KERN_RM_MAX] = {
	{ BW_MAP_BLOCK4, BW_MAP_BLOCK },
	{ BW_MAP_ALLOW4, BW_MAP_ALLOW },
};

static const __u8 v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

/* Which map of a list holds c (by the family of its address, never its
 * length), and c's key there. */
static enum kern_rule_map
rule_key(const struct bw_cidr *c, union rule_key *key)
{
	memset(key, 0, sizeof(*key));
	if (addr_is_v4(c->addr)) {
		key->v4.plen = c->plen;
		memcpy(&key->v4.addr, c->addr + 12, 4);
		return KERN_RM_V4;
	}
	key->v6.plen = c->plen;
	memcpy(key->v6.addr, c->addr, 16);
	return KERN_RM_V6;
}

/* The CIDR a key read back from map m stands for.  False when no rule of
 * ours has that key in that map (a length out of range, host bits set, the
 * other family): such an entry is a stray. */
static bool
key_cidr(enum kern_rule_map m, const union rule_key *key, struct bw_cidr *c)
{
	union rule_key again;
	__u8 masked[16];

	memset(c, 0, sizeof(*c));
	if (m == KERN_RM_V4) {
		memcpy(c->addr, v4_mapped, sizeof(v4_mapped));
		memcpy(c->addr + 12, &key->v4.addr, 4);
		c->plen = key->v4.plen;
	} else {
		memcpy(c->addr, key->v6.addr, 16);
		c->plen = key->v6.plen;
	}
	if (c->plen > 128)
		return false;
	memcpy(masked, c->addr, 16);
	addr_mask(masked, c->plen);
	return memcmp(masked, c->addr, 16) == 0 && rule_key(c, &again) == m;
}

static uint64_t
real_to_boot_ns(uint64_t expires, uint64_t now_real)
{
	if (!expires)
		return 0;
	if (expires <= now_real)
		return 1;	/* already past: the kernel ignores it */
	return kern_now_boot_ns() + (expires - now_real) * NSEC_PER_SEC;
}

int
kern_put_rule(struct kern *k, bool allow, const struct rule_entry *e, uint64_t now_real)
{
	union rule_key key;
	enum kern_rule_map m = rule_key(&e->cidr, &key);
	int ret;

	if (allow) {
		struct bw_allow v = { .added_ns = kern_now_boot_ns() };

		ret = bpf_map_update_elem(k->allow_fd[m], &key, &v, BPF_ANY);
	} else {
		struct bw_rule v = {
			.expires_ns = real_to_boot_ns(e->expires, now_real),
			.action = e->action,
			.origin = e->origin,
		};

		ret = bpf_map_update_elem(k->block_fd[m], &key, &v, BPF_ANY);
	}
	if (ret < 0) {
		ret = -errno;
		log_err("map update map=%s err=\"%s\"%s", rule_map_name[allow][m],
			strerror(-ret), ret == -E2BIG || ret == -ENOSPC ? " (map full)" : "");
	}
	return ret;
}

int
kern_del_rule(struct kern *k, bool allow, const struct bw_cidr *c)
{
	union rule_key key;
	enum kern_rule_map m = rule_key(c, &key);

	if (bpf_map_delete_elem(allow ? k->allow_fd[m] : k->block_fd[m], &key) < 0 &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * The one walk over a map's keys.  fn sees each key once (it may look the
 * value up, never delete: a delete restarts get_next_key from the start);
 * a non-zero return stops the walk and is returned.  A map that changes
 * under the walk (LRU evictions) may show a key twice or not at all:
 * callers tolerate that.
 */
static int
map_walk(int fd, size_t keysz, int (*fn)(void *arg, const void *key), void *arg)
{
	union rule_key prevk, next;
	void *prev = NULL;
	int ret;

	if (keysz > sizeof(next))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		ret = fn(arg, &next);
		if (ret)
			return ret;
		memcpy(&prevk, &next, keysz);
		prev = &prevk;
	}
	return 0;
}

static size_t
rule_key_size(enum kern_rule_map m)
{
	return m == KERN_RM_V4 ? sizeof(struct bw_key4) : sizeof(struct bw_key);
}

struct prune {
	enum kern_rule_map m;
	const struct rule_set *s;
	union rule_key *stray;
	size_t n, cap;
};

static int
prune_one(void *arg, const void *key)
{
	struct prune *p = arg;
	struct bw_cidr c;

	if (key_cidr(p->m, key, &c) && rules_find(p->s, &c))
		return 0;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		union rule_key *v = realloc(p->stray, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->stray = v;
		p->cap = nc;
	}
	memcpy(&p->stray[p->n++], key, sizeof(union rule_key));
	return 0;
}

/* Delete the entries of map m that no rule in s accounts for: collected
 * first, deleted after the walk. */
static int
prune_map(int fd, enum kern_rule_map m, const struct rule_set *s)
{
	struct prune p = { .m = m, .s = s };
	int ret = map_walk(fd, rule_key_size(m), prune_one, &p);

	for (size_t i = 0; i < p.n; i++)
		bpf_map_delete_elem(fd, &p.stray[i]);
	free(p.stray);
	return ret;
}

int
kern_sync_rules(struct kern *k, const struct rules *r, uint64_t now_real)
{
	int ret = 0;

	for (int m = 0; ret == 0 && m < KERN_RM_MAX; m++) {
		ret = prune_map(k->allow_fd[m], m, &r->allow);
		if (ret == 0)
			ret = prune_map(k->block_fd[m], m, &r->block);
	}
	for (size_t i = 0; ret == 0 && i < r->allow.n; i++)
		ret = kern_put_rule(k, true, &r->allow.v[i], now_real);
	for (size_t i = 0; ret == 0 && i < r->block.n; i++)
		ret = kern_put_rule(k, false, &r->block.v[i], now_real);
	return ret;
}

struct adopt {
	int fd;
	enum kern_rule_map m;
	bool allow;
	struct rule_set *s;
	uint64_t now_real, now_boot;
	int added;
};

/* One kernel rule the mirror lacks (a crash beat the state file). */
static int
adopt_one(void *arg, const void *key)
{
	struct adopt *a = arg;
	struct rule_entry e = { 0 };
	struct bw_rule v;

	if (!key_cidr(a->m, key, &e.cidr) || rules_find(a->s, &e.cidr))
		return 0;
	if (!a->allow) {
		if (bpf_map_lookup_elem(a->fd, key, &v) < 0)
			return 0;
		if (v.expires_ns && v.expires_ns <= a->now_boot)
			return 0;
		e.action = v.action;
		e.origin = v.origin;
		e.expires = v.expires_ns ?
			    a->now_real + (v.expires_ns - a->now_boot) / NSEC_PER_SEC + 1 : 0;
	}
	e.added = a->now_real;
	snprintf(e.text, sizeof(e.text), "adopted from kernel");
	if (rules_put(a->s, &e) == 0)
		a->added++;
	return 0;
}

int
kern_adopt_rules(struct kern *k, struct rules *r, uint64_t now_real)
{
	struct adopt a = { .now_real = now_real, .now_boot = kern_now_boot_ns() };
	int added = 0;

	for (int m = 0; m < KERN_RM_MAX; m++) {
		for (int allow = 0; allow < 2; allow++) {
			a.fd = allow ? k->allow_fd[m] : k->block_fd[m];
			a.m = m;
			a.allow = allow;
			a.s = allow ? &r->allow : &r->block;
			a.added = 0;
			map_walk(a.fd, rule_key_size(m), adopt_one, &a);
			added += a.added;
		}
	}
	return added;
}

int
kern_read_stats(struct kern *k, uint64_t out[BW_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct bw_counters *v;
	__u32 zero = 0;
	int ret = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, BW_CNT_MAX * sizeof(out[0]));
	if (bpf_map_lookup_elem(k->stats_fd, &zero, v) < 0) {
		ret = -errno;
		log_err("map lookup map=%s err=\"%s\"", BW_MAP_STATS, strerror(-ret));
	} else {
		for (int c = 0; c < ncpu; c++)
			for (int i = 0; i < BW_CNT_MAX; i++)
				out[i] += v[c].cnt[i];
	}
	free(v);
	if (ret < 0)
		return ret;
	/* Fewer increments a packet in the kernel (bouncewall.bpf.c): a
	 * dropped SMTP packet counts only its drop, and every packet counts
	 * in exactly one of the top-level classes. */
	out[BW_CNT_SMTP] += out[BW_CNT_DROP_BLOCK] + out[BW_CNT_DROP_RATELIMIT] +
			    out[BW_CNT_DROP_THROTTLE];
	out[BW_CNT_PACKETS] = out[BW_CNT_PASS_UNPARSED] + out[BW_CNT_PASS_NOT_TCP] +
			      out[BW_CNT_PASS_NOT_SMTP] + out[BW_CNT_SMTP] +
			      out[BW_CNT_NO_CONFIG];
	return 0;
}

struct rate_walk {
	struct kern *k;
	unsigned int budget;
};

static int
rate_count_one(void *arg, const void *key)
{
	struct rate_walk *w = arg;
	struct kern *k = w->k;

	k->rate_cursor = *(const struct bw_key *)key;
	k->rate_cursor_valid = true;
	k->rate_counting++;
	return --w->budget == 0;
}

/*
 * bw_rate is an LRU hash of up to BW_RATE_MAX entries that a spoofed flood
 * fills in a second: walking all of it every tick cost a quarter of a CPU,
 * and every command waited for a walk.  So the count moves at most
 * `budget` keys a call, resuming where it stopped; a finished pass
 * publishes its count (capped at the map's size: LRU evictions during the
 * pass can show a key twice).  At 4096 keys a second a full map is
 * recounted in about a minute.
 */
void
kern_rate_count_step(struct kern *k, unsigned int budget)
{
	struct rate_walk w = { k, budget ? budget : 1 };
	struct bw_key next;
	int ret;

	if (!k->rate_cursor_valid) {
		/* A new pass. */
		k->rate_counting = 0;
		if (bpf_map_get_next_key(k->rate_fd, NULL, &next) < 0) {
			k->rate_tracked = 0;
			return;
		}
		if (rate_count_one(&w, &next))
			return;
	}
	/* An evicted cursor makes get_next_key start over from the first
	 * key: a pass that counts past the map's size is over (it is full). */
	while (k->rate_counting < BW_RATE_MAX) {
		ret = bpf_map_get_next_key(k->rate_fd, &k->rate_cursor, &next);
		if (ret < 0)
			break;
		if (rate_count_one(&w, &next))
			return;
	}
	k->rate_tracked = k->rate_counting < BW_RATE_MAX ? k->rate_counting : BW_RATE_MAX;
	k->rate_cursor_valid = false;
}
