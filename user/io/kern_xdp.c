/*
 * kern_xdp.c - bouncewall as one program of libxdp's multi-program
 * dispatcher, for an interface another XDP program uses (kern.h).
 *
 * The dispatcher is an XDP program that calls its component programs in
 * order of run priority, each attached to one of its slots by an freplace
 * link that libxdp pins under its own bpffs directory (/sys/fs/bpf/xdp);
 * after each program it goes on to the next only for the actions that
 * program chain-calls.  bouncewall runs at BW_RUN_PRIO with only XDP_PASS
 * chained: its drops end the chain, what it passes reaches the programs
 * after it, and what a program before it drops never reaches it.  20 puts
 * it after packet filters at xdp-filter's priority (10), which drop junk
 * before we look at it, and before programs at libxdp's default (50),
 * which may redirect or transmit packets our drops would then miss.
 *
 * libxdp must load the program itself (as an freplace of a dispatcher
 * slot), so it gets a second copy of the embedded object, opened from the
 * skeleton's ELF bytes, set up from the same settings and sharing the
 * maps the agent pinned.  One loaded copy serves every interface.
 *
 * Adoption: a killed agent's program stays in the dispatcher, enforcing
 * from the pinned maps.  The next agent adds its own program first, then
 * takes the old one out, so the interface is never unprotected.  Ours is
 * told from another bouncewall's (another pin directory) by its maps.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "kern_int.h"
#include "log.h"

#define BW_RUN_PRIO	20
#define BW_PROG_NAME	"bouncewall_xdp"
#define OURS_MAX	4	/* our programs found in one dispatcher */
#define MAP_IDS_MAX	64

struct kern_multi {
	struct bpf_object *obj;
	struct xdp_program *prog;
};

static const char *
mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

static enum xdp_attach_mode
to_libxdp(enum kern_xdp_mode m)
{
	switch (m) {
	case KERN_XDP_NATIVE:
		return XDP_MODE_NATIVE;
	case KERN_XDP_GENERIC:
		return XDP_MODE_SKB;
	default:
		return XDP_MODE_UNSPEC;
	}
}

/* libxdp's pointers carry errors: NULL or an error code, 0 when usable. */
static int
xdp_err(const void *p)
{
	long err = libxdp_get_error(p);

	return err ? (int)err : (p ? 0 : -ENOENT);
}

static int
multi_open(struct kern *k)
{
	struct kern_multi *m;
	char path[PATH_MAX];
	struct bpf_map *map;
	const void *bytes;
	size_t sz;
	int ret;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	bytes = kern_elf_bytes(&sz);
	m->obj = bpf_object__open_mem(bytes, sz, NULL);
	ret = m->obj ? 0 : -errno;
	if (ret == 0)
		ret = kern_obj_setup(m->obj, k->settings);
	bpf_object__for_each_map(map, m->obj) {
		if (ret < 0)
			break;
		if (bpf_map__is_internal(map))
			continue;	/* .rodata, .bss: its own */
		ret = kern_pin_path(path, sizeof(path), bpf_map__name(map));
		if (ret == 0)
			ret = bpf_map__set_pin_path(map, path);
	}
	/* libxdp loads it when it attaches it: it starts with the config
	 * the agent wrote last, and gets every later one (kern_write_config). */
	if (ret == 0)
		ret = bpf_map__set_initial_value(bpf_object__find_map_by_name(m->obj, BW_MAP_CONFIG),
						 &k->cfg, sizeof(k->cfg));
	if (ret == 0) {
		m->prog = xdp_program__from_bpf_obj(m->obj, NULL);
		ret = xdp_err(m->prog);
		if (ret < 0)
			m->prog = NULL;
	}
	if (ret == 0)
		ret = xdp_program__set_run_prio(m->prog, BW_RUN_PRIO);
	if (ret == 0)
		ret = xdp_program__set_chain_call_enabled(m->prog, XDP_PASS, true);
	if (ret == 0)
		ret = xdp_program__set_chain_call_enabled(m->prog, XDP_DROP, false);
	k->multi = m;
	if (ret < 0) {
		log_err("libxdp program setup err=\"%s\"", strerror(-ret));
		kern_xdp_free(k);
	}
	return ret;
}

void
kern_xdp_free(struct kern *k)
{
	if (!k->multi)
		return;
	xdp_program__close(k->multi->prog);
	bpf_object__close(k->multi->obj);
	free(k->multi);
	k->multi = NULL;
	k->multi_config_fd = -1;
}

/* Whether program id uses one of the maps ids[] (then it is ours). */
static bool
uses_maps(__u32 id, const __u32 *ids, unsigned int n_ids)
{
	__u32 map_ids[MAP_IDS_MAX];
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool found = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = MAP_IDS_MAX;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    strcmp(info.name, BW_PROG_NAME) == 0) {
		for (__u32 i = 0; i < info.nr_map_ids && i < MAP_IDS_MAX && !found; i++)
			for (unsigned int j = 0; j < n_ids && !found; j++)
				found = map_ids[i] == ids[j];
	}
	close(fd);
	return found;
}

/* Our programs among the dispatcher's: their ids, how many. */
static unsigned int
find_ours(const struct xdp_multiprog *mp, const __u32 *ids, unsigned int n_ids,
	  __u32 out[OURS_MAX])
{
	struct xdp_program *p = NULL;
	unsigned int n = 0;

	while ((p = xdp_multiprog__next_prog(p, mp)) && n < OURS_MAX)
		if (uses_maps(xdp_program__id(p), ids, n_ids))
			out[n++] = xdp_program__id(p);
	return n;
}

static void
name_of(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(buf, len, "%s", info.name);
	close(fd);
}

int
kern_xdp_inspect(int ifindex, struct kern_xdp_found *f)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	size_t used = 0;
	int ret;

	memset(f, 0, sizeof(*f));
	if (bpf_xdp_query(ifindex, 0, &q) < 0) {
		ret = -errno;
		log_err("xdp query ifindex=%d err=\"%s\"", ifindex, strerror(-ret));
		return ret;
	}
	if (q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (xdp_err(mp) < 0 || xdp_multiprog__is_legacy(mp)) {
		f->kind = KERN_XDP_OTHER;
		f->id = q.prog_id ? q.prog_id : (q.skb_prog_id ? q.skb_prog_id : q.drv_prog_id);
		name_of(f->id, f->name, sizeof(f->name));
	} else {
		f->kind = KERN_XDP_DISPATCHER;
		f->id = xdp_program__id(xdp_multiprog__main_prog(mp));
		snprintf(f->name, sizeof(f->name), "%s", xdp_program__name(xdp_multiprog__main_prog(mp)));
		while ((p = xdp_multiprog__next_prog(p, mp))) {
			int w = snprintf(f->progs + used, sizeof(f->progs) - used, "%s%s",
					 used ? "," : "", xdp_program__name(p));

			f->n_progs++;
			if (w > 0 && used + (size_t)w < sizeof(f->progs))
				used += (size_t)w;
		}
	}
	if (xdp_err(mp) == 0)
		xdp_multiprog__close(mp);
	return 0;
}

/* Take the programs ids[] out of the interface's dispatcher. */
static int
detach_ids(int ifindex, const __u32 *ids, unsigned int n)
{
	int ret = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct xdp_program *p = xdp_program__from_id(ids[i]);
		int err = xdp_err(p);

		if (err == 0) {
			err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
			xdp_program__close(p);
		}
		if (err < 0) {
			log_err("libxdp detach ifindex=%d prog_id=%u err=\"%s\"", ifindex, ids[i],
				strerror(-err));
			ret = err;
		}
	}
	return ret;
}

/* libxdp falls back to attaching a lone program without the dispatcher
 * when the kernel will not run it (freplace programs refused): that is
 * not sharing, so it is undone and refused. */
static int
check_dispatcher(struct kern_iface *ifc)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifc->ifindex);
	int ret = xdp_err(mp);

	if (ret < 0) {
		log_err("attach iface=%s via=libxdp err=\"no program found after attaching: %s\"",
			ifc->name, strerror(-ret));
		return ret;
	}
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__detach(mp);
		xdp_multiprog__close(mp);
		log_err("attach iface=%s via=libxdp err=\"this kernel cannot run libxdp's dispatcher "
			"(it refuses freplace programs)\" hint=\"run with --xdp-multi auto or off to "
			"attach alone; another program can then not share the interface\"", ifc->name);
		return -EOPNOTSUPP;
	}
	ifc->mode = mode_name(xdp_multiprog__attach_mode(mp));
	xdp_multiprog__close(mp);
	return 0;
}

int
kern_xdp_join(struct kern *k, struct kern_iface *ifc, enum kern_xdp_mode mode)
{
	enum xdp_attach_mode xm = to_libxdp(mode);
	__u32 ids[MAP_IDS_MAX], old[OURS_MAX];
	unsigned int n_ids, n_old = 0;
	struct xdp_multiprog *mp;
	int ret;

	if (!k->multi && (ret = multi_open(k)) < 0)
		return ret;
	n_ids = kern_pin_map_ids(k, ids, MAP_IDS_MAX);
	mp = xdp_multiprog__get_from_ifindex(ifc->ifindex);
	if (xdp_err(mp) == 0) {
		if (!xdp_multiprog__is_legacy(mp)) {
			/* Joined in the dispatcher's own mode: native and
			 * generic cannot both be attached. */
			xm = xdp_multiprog__attach_mode(mp);
			n_old = find_ours(mp, ids, n_ids, old);
		}
		xdp_multiprog__close(mp);
	}
	ret = xdp_program__attach(k->multi->prog, ifc->ifindex, xm, 0);
	if (ret < 0) {
		log_err("attach iface=%s via=libxdp err=\"%s\"", ifc->name, strerror(-ret));
		return ret;
	}
	ret = check_dispatcher(ifc);
	if (ret < 0)
		return ret;
	ifc->attach = KERN_ATTACH_LIBXDP;
	k->multi_config_fd = bpf_map__fd(bpf_object__find_map_by_name(k->multi->obj, BW_MAP_CONFIG));
	if (n_old) {
		/* Ours is in: the old one can go.  Should that fail, both
		 * run, the same rules twice: harmless, and logged. */
		detach_ids(ifc->ifindex, old, n_old);
		ifc->adopted = true;
	}
	log_info("libxdp dispatcher iface=%s prio=%d chain=XDP_PASS prog_id=%u replaced=%u",
		 ifc->name, BW_RUN_PRIO, xdp_program__id(k->multi->prog), n_old);
	return 0;
}

int
kern_xdp_leave(struct kern *k, struct kern_iface *ifc)
{
	int ret;

	if (!k->multi)
		return -ENOENT;
	ret = xdp_program__detach(k->multi->prog, ifc->ifindex, XDP_MODE_UNSPEC, 0);
	if (ret < 0)
		log_err("detach iface=%s via=libxdp err=\"%s\"", ifc->name, strerror(-ret));
	return ret;
}

int
kern_xdp_leave_pinned(int ifindex, const __u32 *ids, unsigned int n_ids)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	__u32 ours[OURS_MAX];
	unsigned int n = 0;

	if (xdp_err(mp) < 0)
		return -ENOENT;
	if (!xdp_multiprog__is_legacy(mp))
		n = find_ours(mp, ids, n_ids, ours);
	xdp_multiprog__close(mp);
	if (!n)
		return -ENOENT;
	return detach_ids(ifindex, ours, n);
}
