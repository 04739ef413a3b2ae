/*
 * kern_pin.c - the maps that outlive an agent (kern.h).
 *
 * Before the object is loaded, each of its maps is compared with what is
 * pinned under its name: the same map (type, key, value, flags, size) is
 * reused, so a restarted agent adopts a crashed one's state; a rule map
 * pinned with another size (max_rules changed) is moved out of the way,
 * the load creates one of the new size, and its entries are copied over
 * before anything is attached; anything else (an older ABI) is unpinned
 * with a warning, its rules coming back from state_dir.  The running
 * program keeps the maps it holds until the new one is swapped in, so
 * none of this leaves a moment without enforcement.  A start that fails
 * puts the pins back as they were.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern_int.h"
#include "log.h"

static bool
is_rule_map(int i)
{
	return i == KERN_MAP_ALLOW4 || i == KERN_MAP_ALLOW ||
	       i == KERN_MAP_BLOCK4 || i == KERN_MAP_BLOCK;
}

enum pin_verdict {
	PIN_NONE,	/* nothing pinned: the load pins a fresh map */
	PIN_REUSE,
	PIN_RESIZE,	/* a rule map of another size: migrate */
	PIN_REPLACE,
};

static enum pin_verdict
judge(const struct bpf_map *m, int i, const struct bpf_map_info *info)
{
	if (info->type != bpf_map__type(m) || info->key_size != bpf_map__key_size(m) ||
	    info->value_size != bpf_map__value_size(m) ||
	    info->map_flags != bpf_map__map_flags(m))
		return PIN_REPLACE;
	if (info->max_entries == bpf_map__max_entries(m))
		return PIN_REUSE;
	return is_rule_map(i) ? PIN_RESIZE : PIN_REPLACE;
}

int
kern_pin_prepare(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX])
{
	char path[PATH_MAX];
	struct bpf_map_info info;
	__u32 len;
	int fd, ret;

	/* Versions before the config became global data pinned it. */
	if (kern_pin_path(path, sizeof(path), "bw_config") == 0)
		unlink(path);

	for (int i = 0; i < KERN_MAP_MAX; i++) {
		const char *name = bpf_map__name(maps[i]);

		ret = kern_pin_path(path, sizeof(path), name);
		if (ret == 0)
			ret = bpf_map__set_pin_path(maps[i], path);
		if (ret < 0)
			return ret;
		k->map_fresh[i] = false;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT) {
				ret = -errno;
				log_err("open pinned map path=%s err=\"%s\"", path, strerror(-ret));
				return ret;
			}
			k->map_fresh[i] = true;
			continue;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			info.type = BPF_MAP_TYPE_UNSPEC;	/* not a map: replace */
		switch (judge(maps[i], i, &info)) {
		case PIN_REUSE:
			if (is_rule_map(i))
				k->maps_adopted = true;
			close(fd);
			break;
		case PIN_RESIZE:
			log_info("pinned map resized map=%s old_max=%u new_max=%u msg=\"entries are copied over\"",
				 name, info.max_entries, bpf_map__max_entries(maps[i]));
			k->map_old_fd[i] = fd;
			k->map_fresh[i] = true;
			k->maps_adopted = true;
			unlink(path);
			break;
		default:
			log_warn("pinned map incompatible, replacing map=%s path=%s msg=\"state_dir restores the rules\"",
				 name, path);
			close(fd);
			k->map_fresh[i] = true;
			unlink(path);
			break;
		}
	}
	return 0;
}

bool
kern_pin_reused(const struct kern *k)
{
	for (int i = 0; i < KERN_MAP_MAX; i++)
		if (!k->map_fresh[i])
			return true;
	return false;
}

/* A load that failed on maps judged compatible: libbpf saw a difference
 * judge() did not.  Replace them, as an older ABI's. */
void
kern_pin_forget_reused(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX])
{
	for (int i = 0; i < KERN_MAP_MAX; i++) {
		if (k->map_fresh[i])
			continue;
		log_warn("pinned map incompatible, replacing map=%s msg=\"state_dir restores the rules\"",
			 bpf_map__name(maps[i]));
		bpf_map__unpin(maps[i], NULL);
		k->map_fresh[i] = true;
	}
}

/* Copy every entry of old_fd into new_fd; stops when the new map is full. */
static int
copy_entries(int old_fd, int new_fd, const char *name)
{
	__u8 key[64], next[64], value[64];
	unsigned long copied = 0, left = 0;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(old_fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(old_fd, key, value) < 0)
			continue;	/* gone meanwhile */
		if (left) {
			left++;
			continue;
		}
		ret = bpf_map_update_elem(new_fd, key, value, BPF_NOEXIST);
		if (ret == 0 || errno == EEXIST) {
			copied++;
		} else if (errno == E2BIG || errno == ENOSPC || errno == ENOMEM) {
			left = 1;
		} else {
			ret = -errno;
			log_err("map migrate map=%s err=\"%s\"", name, strerror(-ret));
			return ret;
		}
	}
	if (left)
		log_warn("map migrate map=%s copied=%lu left_out=%lu msg=\"max_rules is below what was enforced\"",
			 name, copied, left);
	else
		log_info("map migrated map=%s entries=%lu", name, copied);
	return 0;
}

int
kern_pin_migrate(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX])
{
	int ret;

	_Static_assert(sizeof(struct bw_key) <= 64 && sizeof(struct bw_rule) <= 64,
		       "copy_entries buffers");
	for (int i = 0; i < KERN_MAP_MAX; i++) {
		if (k->map_old_fd[i] < 0)
			continue;
		ret = copy_entries(k->map_old_fd[i], bpf_map__fd(maps[i]), bpf_map__name(maps[i]));
		if (ret < 0)
			return ret;
	}
	return 0;
}

void
kern_pin_undo(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX])
{
	char path[PATH_MAX];

	for (int i = 0; i < KERN_MAP_MAX; i++) {
		if (!maps[i] || !k->map_fresh[i])
			continue;
		if (kern_pin_path(path, sizeof(path), bpf_map__name(maps[i])) < 0)
			continue;
		unlink(path);
		/* The running program still holds the old copy: pin it back
		 * so the next start can migrate it again. */
		if (k->map_old_fd[i] >= 0 && bpf_obj_pin(k->map_old_fd[i], path) < 0)
			log_warn("re-pin map=%s path=%s err=\"%s\"", bpf_map__name(maps[i]), path,
				 strerror(errno));
	}
	kern_pin_release(k);
}

void
kern_pin_release(struct kern *k)
{
	for (int i = 0; i < KERN_MAP_MAX; i++) {
		if (k->map_old_fd[i] >= 0)
			close(k->map_old_fd[i]);
		k->map_old_fd[i] = -1;
	}
}

void
kern_pin_remove(struct bpf_map *const maps[KERN_MAP_MAX])
{
	for (int i = 0; i < KERN_MAP_MAX; i++)
		if (maps[i])
			bpf_map__unpin(maps[i], NULL);
}

static __u32
map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

unsigned int
kern_pin_map_ids(const struct kern *k, __u32 *ids, unsigned int max)
{
	char path[PATH_MAX];
	unsigned int n = 0;
	static const char *const names[KERN_MAP_MAX] = {
		BW_MAP_STATS, BW_MAP_ALLOW4, BW_MAP_ALLOW,
		BW_MAP_BLOCK4, BW_MAP_BLOCK, BW_MAP_RATE, BW_MAP_EVENTS,
	};

	for (int i = 0; i < KERN_MAP_MAX && n < max; i++) {
		int fd;
		__u32 id;

		if (k && k->map_old_fd[i] >= 0 && (id = map_id(k->map_old_fd[i])))
			ids[n++] = id;
		if (n >= max || kern_pin_path(path, sizeof(path), names[i]) < 0)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if ((id = map_id(fd)))
			ids[n++] = id;
		close(fd);
	}
	return n;
}
