/*
 * kern.c - load, pin, adopt, attach and feed the XDP program (kern.h).
 *
 * The link is created with bpf_link_create() and pinned by fd, so a killed
 * agent leaves the program attached and enforcing; the next agent opens the
 * pinned link and swaps its own program in with bpf_link_update(), which
 * never leaves the interface unprotected.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bouncewall.skel.h"
#include "kern.h"
#include "log.h"

#define NSEC_PER_SEC	1000000000ULL

uint64_t
kern_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t
kern_now_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int
kern_parse_xdp_mode(const char *s, enum kern_xdp_mode *mode)
{
	if (strcmp(s, "auto") == 0)
		*mode = KERN_XDP_AUTO;
	else if (strcmp(s, "native") == 0)
		*mode = KERN_XDP_NATIVE;
	else if (strcmp(s, "generic") == 0)
		*mode = KERN_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

static struct bpf_map *
map_at(struct bouncewall_bpf *skel, int i)
{
	struct bpf_map *maps[] = {
		skel->maps.bw_config, skel->maps.bw_stats,
		skel->maps.bw_allow4, skel->maps.bw_allow,
		skel->maps.bw_block4, skel->maps.bw_block,
		skel->maps.bw_rate, skel->maps.bw_events,
	};

	return i < (int)(sizeof(maps) / sizeof(maps[0])) ? maps[i] : NULL;
}

const char *
kern_pin_dir(void)
{
	const char *env = getenv("BOUNCEWALL_PIN_DIR");

	/* Only a directory on bpffs makes sense; the kernel refuses pins
	 * elsewhere, and that error names the path. */
	return env && env[0] == '/' ? env : BW_PIN_DIR;
}

static int
pin_path(char *buf, size_t len, const char *name)
{
	if (snprintf(buf, len, "%s/%s", kern_pin_dir(), name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static void
unpin_maps_by_name(void)
{
	static const char *const names[] = {
		BW_MAP_CONFIG, BW_MAP_STATS, BW_MAP_ALLOW4, BW_MAP_ALLOW,
		BW_MAP_BLOCK4, BW_MAP_BLOCK, BW_MAP_RATE, BW_MAP_EVENTS,
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (pin_path(path, sizeof(path), names[i]) == 0)
			unlink(path);
}

static int
open_and_load(struct kern *k)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int ret;

	k->skel = bouncewall_bpf__open();
	if (!k->skel) {
		ret = -errno;
		log_err("bpf open failed err=\"%s\"", strerror(-ret));
		return ret;
	}
	k->maps_adopted = false;
	for (int i = 0; (m = map_at(k->skel, i)); i++) {
		ret = pin_path(path, sizeof(path), bpf_map__name(m));
		if (ret == 0)
			ret = bpf_map__set_pin_path(m, path);
		if (ret < 0)
			return ret;
		if (access(path, F_OK) == 0)
			k->maps_adopted = true;
	}
	return bouncewall_bpf__load(k->skel);
}

int
kern_open(struct kern *k)
{
	int ret;

	memset(k, 0, sizeof(*k));
	if (mkdir(kern_pin_dir(), 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		log_err("mkdir path=%s err=\"%s\" hint=\"is bpffs mounted on /sys/fs/bpf?\"",
			kern_pin_dir(), strerror(-ret));
		return ret;
	}
	ret = open_and_load(k);
	if (ret < 0 && k->maps_adopted) {
		/* Pinned maps of another layout: a different version ran
		 * before.  Their rules come back from state_dir. */
		log_warn("pinned maps incompatible, replacing path=%s", kern_pin_dir());
		bouncewall_bpf__destroy(k->skel);
		unpin_maps_by_name();
		ret = open_and_load(k);
		k->maps_adopted = false;
	}
	if (ret < 0) {
		log_err("bpf load failed err=\"%s\"", strerror(-ret));
		bouncewall_bpf__destroy(k->skel);
		k->skel = NULL;
		return ret;
	}
	k->config_fd = bpf_map__fd(k->skel->maps.bw_config);
	k->stats_fd = bpf_map__fd(k->skel->maps.bw_stats);
	k->allow_fd[KERN_RM_V4] = bpf_map__fd(k->skel->maps.bw_allow4);
	k->allow_fd[KERN_RM_V6] = bpf_map__fd(k->skel->maps.bw_allow);
	k->block_fd[KERN_RM_V4] = bpf_map__fd(k->skel->maps.bw_block4);
	k->block_fd[KERN_RM_V6] = bpf_map__fd(k->skel->maps.bw_block);
	k->rate_fd = bpf_map__fd(k->skel->maps.bw_rate);
	k->events_fd = bpf_map__fd(k->skel->maps.bw_events);
	return 0;
}

static const char *
query_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q) < 0)
		return "unknown";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "multi";
	default:
		return "none";
	}
}

/* Take over a link pinned by an earlier agent, if it still belongs to
 * this interface.  Returns the fd, 0 when there is none, or -errno. */
static int
adopt_link(const char *path, int ifindex, int prog_fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd, ret;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (ret < 0 || info.type != BPF_LINK_TYPE_XDP ||
	    (int)info.xdp.ifindex != ifindex) {
		/* Its interface is gone or was recreated: a dead link. */
		close(fd);
		unlink(path);
		return 0;
	}
	ret = bpf_link_update(fd, prog_fd, NULL);
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static int
create_link(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

int
kern_attach(struct kern *k, const char *ifname, enum kern_xdp_mode mode)
{
	struct kern_iface *ifc;
	char path[PATH_MAX], name[IF_NAMESIZE + 8];
	int ifindex, prog_fd, fd, ret;

	if (k->n_ifaces >= BW_MAX_IFACES)
		return -ENOSPC;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		ret = -errno;
		log_err("attach iface=%s err=\"no such interface\"", ifname);
		return ret;
	}
	snprintf(name, sizeof(name), "link_%s", ifname);
	ret = pin_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	prog_fd = bpf_program__fd(k->skel->progs.bouncewall_xdp);

	ifc = &k->ifaces[k->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", ifname);
	ifc->ifindex = ifindex;

	fd = adopt_link(path, ifindex, prog_fd);
	if (fd > 0) {
		ifc->adopted = true;
	} else {
		if (mode == KERN_XDP_NATIVE || mode == KERN_XDP_AUTO)
			fd = create_link(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		if (mode == KERN_XDP_GENERIC ||
		    (mode == KERN_XDP_AUTO && fd < 0 && fd != -EBUSY))
			fd = create_link(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
		if (fd < 0) {
			ret = fd;
			if (ret == -EBUSY || ret == -EEXIST)
				log_err("attach iface=%s err=\"another XDP program is attached (mode=%s); detach it first\"",
					ifname, query_mode(ifindex));
			else
				log_err("attach iface=%s err=\"%s\"", ifname, strerror(-ret));
			return ret;
		}
		if (bpf_obj_pin(fd, path) < 0) {
			ret = -errno;
			log_err("pin path=%s err=\"%s\"", path, strerror(-ret));
			close(fd);
			return ret;
		}
	}
	ifc->link_fd = fd;
	ifc->mode = query_mode(ifindex);
	k->n_ifaces++;
	log_info("attached iface=%s mode=%s link=%s", ifname, ifc->mode,
		 ifc->adopted ? "adopted" : "new");
	return 0;
}

int
kern_detach_pinned(const char *ifname)
{
	char path[PATH_MAX], name[IF_NAMESIZE + 8];
	int ret;

	snprintf(name, sizeof(name), "link_%s", ifname);
	ret = pin_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

int
kern_detach(struct kern *k, const char *ifname)
{
	for (unsigned int i = 0; i < k->n_ifaces; i++) {
		struct kern_iface *ifc = &k->ifaces[i];

		if (strcmp(ifc->name, ifname) != 0)
			continue;
		kern_detach_pinned(ifname);
		close(ifc->link_fd);
		log_info("detached iface=%s", ifname);
		k->ifaces[i] = k->ifaces[--k->n_ifaces];
		return 0;
	}
	return -ENOENT;
}

void
kern_close(struct kern *k, bool unpin)
{
	struct bpf_map *m;

	if (unpin) {
		while (k->n_ifaces > 0)
			kern_detach(k, k->ifaces[0].name);
	} else {
		for (unsigned int i = 0; i < k->n_ifaces; i++)
			close(k->ifaces[i].link_fd);
		k->n_ifaces = 0;
	}
	if (k->skel && unpin) {
		for (int i = 0; (m = map_at(k->skel, i)); i++)
			bpf_map__unpin(m, NULL);
		rmdir(kern_pin_dir());
	}
	bouncewall_bpf__destroy(k->skel);
	k->skel = NULL;
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
	cfg->prefix_v4 = s->prefix_v4;
	cfg->prefix_v6 = s->prefix_v6;
	for (unsigned int i = 0; i < s->n_ports && i < BW_MAX_PORTS; i++) {
		cfg->ports[i] = s->smtp_ports[i];
		cfg->port_bits |= 1U << (s->smtp_ports[i] % 32);
	}
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
	if (bpf_map_update_elem(k->config_fd, &zero, &cfg, BPF_ANY) < 0) {
		int ret = -errno;

		log_err("map update map=%s err=\"%s\"", BW_MAP_CONFIG, strerror(-ret));
		return ret;
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

/* Delete the entries of map m that no rule in s accounts for.  Collect
 * first: deleting while walking with get_next_key restarts the walk. */
static int
prune_map(int fd, enum kern_rule_map m, const struct rule_set *s)
{
	union rule_key key, next, *stray = NULL;
	size_t n = 0, cap = 0;
	struct bw_cidr c;
	void *prev = NULL;
	int ret = 0;

	memset(&next, 0, sizeof(next));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (!key_cidr(m, &next, &c) || !rules_find(s, &c)) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				union rule_key *v = realloc(stray, nc * sizeof(*v));

				if (!v) {
					ret = -ENOMEM;
					break;
				}
				stray = v;
				cap = nc;
			}
			stray[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &stray[i]);
	free(stray);
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

/* Add to r->block the live rules of block map m it lacks. */
static int
adopt_block(int fd, enum kern_rule_map m, struct rule_set *s, uint64_t now_real,
	    uint64_t now_boot)
{
	union rule_key key, next;
	void *prev = NULL;
	int added = 0;

	memset(&next, 0, sizeof(next));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct rule_entry e = { 0 };
		struct bw_rule v;

		key = next;
		prev = &key;
		if (!key_cidr(m, &next, &e.cidr) || rules_find(s, &e.cidr) ||
		    bpf_map_lookup_elem(fd, &next, &v) < 0)
			continue;
		if (v.expires_ns && v.expires_ns <= now_boot)
			continue;
		e.action = v.action;
		e.origin = v.origin;
		e.added = now_real;
		e.expires = v.expires_ns ? now_real + (v.expires_ns - now_boot) / NSEC_PER_SEC + 1 : 0;
		snprintf(e.text, sizeof(e.text), "adopted from kernel");
		if (rules_put(s, &e) == 0)
			added++;
	}
	return added;
}

/* Add to r->allow the rules of allow map m it lacks. */
static int
adopt_allow(int fd, enum kern_rule_map m, struct rule_set *s, uint64_t now_real)
{
	union rule_key key, next;
	void *prev = NULL;
	int added = 0;

	memset(&next, 0, sizeof(next));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct rule_entry e = { 0 };

		key = next;
		prev = &key;
		if (!key_cidr(m, &next, &e.cidr) || rules_find(s, &e.cidr))
			continue;
		e.added = now_real;
		snprintf(e.text, sizeof(e.text), "adopted from kernel");
		if (rules_put(s, &e) == 0)
			added++;
	}
	return added;
}

int
kern_adopt_rules(struct kern *k, struct rules *r, uint64_t now_real)
{
	uint64_t now_boot = kern_now_boot_ns();
	int added = 0;

	for (int m = 0; m < KERN_RM_MAX; m++) {
		added += adopt_block(k->block_fd[m], m, &r->block, now_real, now_boot);
		added += adopt_allow(k->allow_fd[m], m, &r->allow, now_real);
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
	/* One increment a packet less in the kernel: every packet counts in
	 * exactly one of these. */
	out[BW_CNT_PACKETS] = out[BW_CNT_PASS_UNPARSED] + out[BW_CNT_PASS_NOT_TCP] +
			      out[BW_CNT_PASS_NOT_SMTP] + out[BW_CNT_SMTP] +
			      out[BW_CNT_NO_CONFIG];
	return 0;
}

uint64_t
kern_count_sources(struct kern *k)
{
	struct bw_key key, next;
	void *prev = NULL;
	uint64_t n = 0;

	while (bpf_map_get_next_key(k->rate_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}
