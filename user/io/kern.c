/*
 * kern.c - load, lock, attach and detach the XDP program (kern.h).
 *
 * Alone on an interface, the link is created with bpf_link_create() and
 * pinned by fd, so a killed agent leaves the program attached and
 * enforcing; the next agent opens the pinned link and swaps its own
 * program in with bpf_link_update(), which never leaves the interface
 * unprotected.  Beside another program the dispatcher of libxdp holds
 * both (kern_xdp.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
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

#include "bouncewall.h"		/* before the skeleton: its .rodata type */
#include "bouncewall.skel.h"
#include "kern_int.h"
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

/* The object's maps in enum kern_map order. */
static void
skel_maps(struct bouncewall_bpf *skel, struct bpf_map *maps[KERN_MAP_MAX])
{
	maps[KERN_MAP_STATS] = skel ? skel->maps.bw_stats : NULL;
	maps[KERN_MAP_ALLOW4] = skel ? skel->maps.bw_allow4 : NULL;
	maps[KERN_MAP_ALLOW] = skel ? skel->maps.bw_allow : NULL;
	maps[KERN_MAP_BLOCK4] = skel ? skel->maps.bw_block4 : NULL;
	maps[KERN_MAP_BLOCK] = skel ? skel->maps.bw_block : NULL;
	maps[KERN_MAP_RATE] = skel ? skel->maps.bw_rate : NULL;
	maps[KERN_MAP_EVENTS] = skel ? skel->maps.bw_events : NULL;
}

const void *
kern_elf_bytes(size_t *sz)
{
	return bouncewall_bpf__elf_bytes(sz);
}

const char *
kern_pin_dir(void)
{
	const char *env = getenv("BOUNCEWALL_PIN_DIR");

	/* Only a directory on bpffs makes sense; the kernel refuses pins
	 * elsewhere, and that error names the path. */
	return env && env[0] == '/' ? env : BW_PIN_DIR;
}

int
kern_pin_path(char *buf, size_t len, const char *name)
{
	if (snprintf(buf, len, "%s/%s", kern_pin_dir(), name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

const char *
kern_attach_name(enum kern_attach a)
{
	return a == KERN_ATTACH_LIBXDP ? "libxdp" : "bpf_link";
}

/*
 * One agent per pin directory: a second one would adopt the first's link
 * and maps and, on its way out, unpin them under the first.  The lock is
 * flock() on the directory itself (bpffs takes it), released by the kernel
 * when the agent dies however it dies.
 */
static int
lock_pin_dir(struct kern *k)
{
	int ret;

	k->lock_fd = open(kern_pin_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->lock_fd < 0) {
		ret = -errno;
		log_err("open path=%s err=\"%s\"", kern_pin_dir(), strerror(-ret));
		return ret;
	}
	if (flock(k->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (ret == -EBUSY)
			log_err("pin directory in use path=%s err=\"another bouncewall agent runs with it\" "
				"hint=\"stop it, or give this one its own BOUNCEWALL_PIN_DIR\"",
				kern_pin_dir());
		else
			log_err("flock path=%s err=\"%s\"", kern_pin_dir(), strerror(-ret));
		close(k->lock_fd);
		k->lock_fd = -1;
		return ret;
	}
	return 0;
}

static int
open_and_load(struct kern *k)
{
	struct bpf_map *maps[KERN_MAP_MAX];
	int ret;

	k->skel = bouncewall_bpf__open();
	if (!k->skel) {
		ret = -errno;
		log_err("bpf open failed err=\"%s\"", strerror(-ret));
		return ret;
	}
	skel_maps(k->skel, maps);
	ret = kern_obj_setup(k->skel->obj, k->settings);
	if (ret == 0)
		ret = kern_pin_prepare(k, maps);
	if (ret == 0)
		ret = bouncewall_bpf__load(k->skel);
	return ret;
}

static void
release(struct kern *k)
{
	kern_xdp_free(k);
	bouncewall_bpf__destroy(k->skel);
	k->skel = NULL;
	kern_pin_release(k);
	if (k->lock_fd >= 0)
		close(k->lock_fd);
	k->lock_fd = -1;
}

void
kern_init(struct kern *k)
{
	memset(k, 0, sizeof(*k));
	k->lock_fd = -1;
	k->config_fd = k->stats_fd = k->rate_fd = k->events_fd = -1;
	for (int i = 0; i < KERN_RM_MAX; i++)
		k->allow_fd[i] = k->block_fd[i] = -1;
	k->multi_config_fd = -1;
	for (int i = 0; i < KERN_MAP_MAX; i++)
		k->map_old_fd[i] = -1;
}

int
kern_open(struct kern *k, const struct bw_settings *s)
{
	struct bpf_map *maps[KERN_MAP_MAX];
	int ret;

	kern_init(k);
	k->settings = s;
	if (mkdir(kern_pin_dir(), 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		log_err("mkdir path=%s err=\"%s\" hint=\"is bpffs mounted on /sys/fs/bpf?\"",
			kern_pin_dir(), strerror(-ret));
		return ret;
	}
	ret = lock_pin_dir(k);
	if (ret < 0)
		return ret;
	ret = open_and_load(k);
	if (ret < 0 && k->skel && kern_pin_reused(k)) {
		/* Pinned maps libbpf would not take although they looked
		 * alike: a different version ran before. */
		skel_maps(k->skel, maps);
		kern_pin_forget_reused(k, maps);
		bouncewall_bpf__destroy(k->skel);
		ret = open_and_load(k);
	}
	skel_maps(k->skel, maps);
	if (ret == 0)
		ret = kern_pin_migrate(k, maps);
	if (ret < 0) {
		log_err("bpf load failed err=\"%s\"", strerror(-ret));
		kern_pin_undo(k, maps);
		release(k);
		return ret;
	}
	k->config_fd = bpf_map__fd(k->skel->maps.data_config);
	k->stats_fd = bpf_map__fd(k->skel->maps.bw_stats);
	k->allow_fd[KERN_RM_V4] = bpf_map__fd(k->skel->maps.bw_allow4);
	k->allow_fd[KERN_RM_V6] = bpf_map__fd(k->skel->maps.bw_allow);
	k->block_fd[KERN_RM_V4] = bpf_map__fd(k->skel->maps.bw_block4);
	k->block_fd[KERN_RM_V6] = bpf_map__fd(k->skel->maps.bw_block);
	k->rate_fd = bpf_map__fd(k->skel->maps.bw_rate);
	k->events_fd = bpf_map__fd(k->skel->maps.bw_events);
	return 0;
}

int
kern_prog_fd(const struct kern *k)
{
	return bpf_program__fd(k->skel->progs.bouncewall_xdp);
}

void
kern_commit(struct kern *k)
{
	kern_pin_release(k);
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

/* Alone on the interface: a new link, pinned. */
static int
attach_link(struct kern *k, struct kern_iface *ifc, enum kern_xdp_mode mode, const char *path)
{
	int prog_fd = bpf_program__fd(k->skel->progs.bouncewall_xdp), fd = -ENOENT, ret;

	if (mode == KERN_XDP_NATIVE || mode == KERN_XDP_AUTO)
		fd = create_link(prog_fd, ifc->ifindex, XDP_FLAGS_DRV_MODE);
	if (mode == KERN_XDP_GENERIC || (mode == KERN_XDP_AUTO && fd < 0 && fd != -EBUSY))
		fd = create_link(prog_fd, ifc->ifindex, XDP_FLAGS_SKB_MODE);
	if (fd < 0) {
		if (fd == -EBUSY || fd == -EEXIST)
			log_err("attach iface=%s err=\"another XDP program was attached meanwhile (mode=%s)\"",
				ifc->name, query_mode(ifc->ifindex));
		else
			log_err("attach iface=%s err=\"%s\"", ifc->name, strerror(-fd));
		return fd;
	}
	if (bpf_obj_pin(fd, path) < 0) {
		ret = -errno;
		log_err("pin path=%s err=\"%s\"", path, strerror(-ret));
		close(fd);
		return ret;
	}
	ifc->link_fd = fd;
	return 0;
}

/* Another program is on the interface: join it through the dispatcher,
 * or say why not. */
static int
attach_beside(struct kern *k, struct kern_iface *ifc, enum kern_xdp_mode mode,
	      uint32_t multi, const struct kern_xdp_found *f)
{
	if (f->kind == KERN_XDP_OTHER) {
		log_err("attach iface=%s err=\"another XDP program is attached without libxdp's dispatcher\" "
			"prog=%s id=%u hint=\"%s\"", ifc->name, f->name, f->id,
			multi == BW_XDP_MULTI_OFF ?
			"xdp_multi is off: detach it, or run with --xdp-multi auto" :
			"only programs loaded through libxdp (xdp-loader, xdp-filter) can share an interface; "
			"reload it that way (xdp-loader status must show xdp_dispatcher), or detach it");
		return -EBUSY;
	}
	if (multi == BW_XDP_MULTI_OFF) {
		log_err("attach iface=%s err=\"libxdp's dispatcher holds other programs and xdp_multi is off\" "
			"progs=%s hint=\"run with --xdp-multi auto to join them\"", ifc->name, f->progs);
		return -EBUSY;
	}
	return kern_xdp_join(k, ifc, mode);
}

int
kern_attach(struct kern *k, const char *ifname, enum kern_xdp_mode mode, uint32_t multi)
{
	struct kern_xdp_found found;
	struct kern_iface *ifc;
	char path[PATH_MAX], name[IF_NAMESIZE + 8];
	int ifindex, fd, ret;

	if (k->n_ifaces >= BW_MAX_IFACES)
		return -ENOSPC;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		ret = -errno;
		log_err("attach iface=%s err=\"no such interface\"", ifname);
		return ret;
	}
	snprintf(name, sizeof(name), "link_%s", ifname);
	ret = kern_pin_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;

	ifc = &k->ifaces[k->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", ifname);
	ifc->ifindex = ifindex;
	ifc->link_fd = -1;

	fd = adopt_link(path, ifindex, bpf_program__fd(k->skel->progs.bouncewall_xdp));
	if (fd > 0) {
		ifc->link_fd = fd;
		ifc->adopted = true;
		if (multi == BW_XDP_MULTI_ON)
			log_warn("attach iface=%s msg=\"kept the bpf_link an earlier agent pinned; "
				 "xdp_multi on applies after bouncewall detach -i %s\"", ifname, ifname);
	} else if (fd < 0) {
		log_err("adopt link path=%s err=\"%s\"", path, strerror(-fd));
		return fd;
	} else {
		ret = kern_xdp_inspect(ifindex, &found);
		if (ret < 0)
			return ret;
		if (found.kind != KERN_XDP_NONE)
			ret = attach_beside(k, ifc, mode, multi, &found);
		else if (multi == BW_XDP_MULTI_ON)
			ret = kern_xdp_join(k, ifc, mode);
		else
			ret = attach_link(k, ifc, mode, path);
		if (ret < 0)
			return ret;
	}
	if (ifc->attach == KERN_ATTACH_LINK)
		ifc->mode = query_mode(ifindex);
	k->n_ifaces++;
	log_info("attached iface=%s mode=%s attach=%s %s", ifname, ifc->mode,
		 kern_attach_name(ifc->attach), ifc->adopted ? "adopted=yes" : "adopted=no");
	return 0;
}

int
kern_detach_pinned(const char *ifname)
{
	char path[PATH_MAX], name[IF_NAMESIZE + 8];
	__u32 ids[2 * KERN_MAP_MAX];
	unsigned int n;
	int ifindex, ret;

	snprintf(name, sizeof(name), "link_%s", ifname);
	ret = kern_pin_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	if (unlink(path) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	/* No link: perhaps our program in libxdp's dispatcher. */
	ifindex = (int)if_nametoindex(ifname);
	n = kern_pin_map_ids(NULL, ids, sizeof(ids) / sizeof(ids[0]));
	if (!ifindex || !n)
		return -ENOENT;
	return kern_xdp_leave_pinned(ifindex, ids, n);
}

int
kern_detach(struct kern *k, const char *ifname)
{
	char path[PATH_MAX], name[IF_NAMESIZE + 8];

	for (unsigned int i = 0; i < k->n_ifaces; i++) {
		struct kern_iface *ifc = &k->ifaces[i];

		if (strcmp(ifc->name, ifname) != 0)
			continue;
		if (ifc->attach == KERN_ATTACH_LIBXDP) {
			if (kern_xdp_leave(k, ifc) < 0)
				return -EIO;
		} else {
			snprintf(name, sizeof(name), "link_%s", ifname);
			if (kern_pin_path(path, sizeof(path), name) == 0)
				unlink(path);
			close(ifc->link_fd);
		}
		log_info("detached iface=%s attach=%s", ifname, kern_attach_name(ifc->attach));
		k->ifaces[i] = k->ifaces[--k->n_ifaces];
		return 0;
	}
	return -ENOENT;
}

void
kern_close(struct kern *k)
{
	struct bpf_map *maps[KERN_MAP_MAX];

	while (k->n_ifaces > 0)
		if (kern_detach(k, k->ifaces[0].name) < 0)
			k->ifaces[0] = k->ifaces[--k->n_ifaces];	/* logged */
	if (k->skel) {
		skel_maps(k->skel, maps);
		kern_pin_remove(maps);
		rmdir(kern_pin_dir());
	}
	release(k);
}

/* A start that failed: what an earlier agent left attached stays (our new
 * program, swapped in already, keeps enforcing from the pinned maps);
 * what this start attached fresh goes. */
void
kern_abort(struct kern *k)
{
	struct bpf_map *maps[KERN_MAP_MAX];

	for (unsigned int i = k->n_ifaces; i-- > 0;) {
		if (k->ifaces[i].adopted && k->ifaces[i].attach == KERN_ATTACH_LINK)
			close(k->ifaces[i].link_fd);
		else if (!k->ifaces[i].adopted)
			kern_detach(k, k->ifaces[i].name);
	}
	k->n_ifaces = 0;
	if (k->skel) {
		/* Maps pinned fresh by this start would hold kernel memory
		 * for nothing; resized maps' old copies are pinned back. */
		skel_maps(k->skel, maps);
		kern_pin_undo(k, maps);
		rmdir(kern_pin_dir());
	}
	release(k);
}
