/*
 * kern_int.h - what kern.c, kern_pin.c and kern_xdp.c share and nothing
 * else sees.
 */
#ifndef BW_KERN_INT_H
#define BW_KERN_INT_H

#include <stddef.h>

#include "kern.h"

struct bpf_map;

/* pin_dir/name; -ENAMETOOLONG when it does not fit. */
int kern_pin_path(char *buf, size_t len, const char *name);

/* The embedded object's ELF image (the skeleton's), for a second load. */
const void *kern_elf_bytes(size_t *sz);

/* kern_pin.c, around the load of the object whose maps are maps[]. */
int kern_pin_prepare(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX]);
bool kern_pin_reused(const struct kern *k);
void kern_pin_forget_reused(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX]);
int kern_pin_migrate(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX]);
void kern_pin_undo(struct kern *k, struct bpf_map *const maps[KERN_MAP_MAX]);
void kern_pin_release(struct kern *k);
void kern_pin_remove(struct bpf_map *const maps[KERN_MAP_MAX]);

/* The ids of the maps an agent of this pin directory uses or just used
 * (the pinned ones and the resized maps' old copies): how our program is
 * told from another bouncewall's in a shared dispatcher.  Returns how many
 * ids were written (at most max). */
unsigned int kern_pin_map_ids(const struct kern *k, __u32 *ids, unsigned int max);

/* kern_xdp.c: what is attached to an interface. */
enum kern_xdp_found_kind {
	KERN_XDP_NONE,
	KERN_XDP_DISPATCHER,	/* libxdp's dispatcher, with n_progs programs */
	KERN_XDP_OTHER,		/* one program, attached without the dispatcher */
};

struct kern_xdp_found {
	enum kern_xdp_found_kind kind;
	char name[16];		/* BPF_OBJ_NAME_LEN */
	__u32 id;
	unsigned int n_progs;
	char progs[96];		/* the dispatcher's programs, "a,b" */
};

int kern_xdp_inspect(int ifindex, struct kern_xdp_found *f);
int kern_xdp_join(struct kern *k, struct kern_iface *ifc, enum kern_xdp_mode mode);
int kern_xdp_leave(struct kern *k, struct kern_iface *ifc);
int kern_xdp_leave_pinned(int ifindex, const __u32 *ids, unsigned int n_ids);
void kern_xdp_free(struct kern *k);

#endif
