/*
 * kern.c - load, pin, adopt, attach and feed the XDP program (kern.h).
 *
 * The link is created with bpf_link_create() and pinned by fd, so a killed
 * agent leaves the program attached and enforcing; the next agent opens the
 * pinned link and swaps its own program in with bpf_link_update(), which
 * never leaves the interface unprotected.
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
	k->lock_fd = -1;
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
		close(k->lock_fd);
		k->lock_fd = -1;
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

static void
unpin_maps(struct kern *k)
{
	struct bpf_map *m;

	for (int i = 0; (m = map_at(k->skel, i)); i++)
		bpf_map__unpin(m, NULL);
}

static void
release(struct kern *k)
{
	bouncewall_bpf__destroy(k->skel);
	k->skel = NULL;
	if (k->lock_fd >= 0)
		close(k->lock_fd);
	k->lock_fd = -1;
}

void
kern_close(struct kern *k)
{
	while (k->n_ifaces > 0)
		kern_detach(k, k->ifaces[0].name);
	if (k->skel) {
		unpin_maps(k);
		rmdir(kern_pin_dir());
	}
	release(k);
}

void
kern_abort(struct kern *k)
{
	for (unsigned int i = k->n_ifaces; i-- > 0;) {
		if (k->ifaces[i].adopted)
			close(k->ifaces[i].link_fd);
		else
			kern_detach(k, k->ifaces[i].name);
	}
	k->n_ifaces = 0;
	if (k->skel && !k->maps_adopted) {
		unpin_maps(k);
		rmdir(kern_pin_dir());
	}
	release(k);
}
