/*
 * kern.h - the agent's side of the kernel: load the embedded XDP program,
 * pin or adopt its maps and links under BW_PIN_DIR, attach it alone
 * (bpf_link) or beside other programs (libxdp's dispatcher), write config
 * and rules, read counters.  Every function returns 0 or -errno and logs
 * its own failure once, naming the interface, map or path.
 *
 *   kern.c       load, lock, attach and detach, close and abort
 *   kern_pin.c   pinned maps: reuse, resize (migrate entries), replace
 *   kern_xdp.c   the libxdp dispatcher: join, adopt, leave
 *   kern_maps.c  config, rules and counters in the maps
 */
#ifndef BW_KERN_H
#define BW_KERN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "bouncewall.h"
#include "settings.h"
#include "rules.h"

enum kern_xdp_mode {
	KERN_XDP_AUTO = 0,
	KERN_XDP_NATIVE,
	KERN_XDP_GENERIC,
};

/* How the program sits on an interface. */
enum kern_attach {
	KERN_ATTACH_LINK = 0,	/* alone, through a pinned bpf_link */
	KERN_ATTACH_LIBXDP,	/* one of the programs of libxdp's dispatcher */
};

struct kern_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	int link_fd;		/* KERN_ATTACH_LINK */
	enum kern_attach attach;
	bool adopted;		/* an earlier agent's link or program taken over */
	const char *mode;	/* "native", "generic" */
};

struct bouncewall_bpf;
struct ring_buffer;
struct kern_multi;

/* The object's pinned maps, in the order kern_pin.c walks them.  (Its
 * config is global data, each program its own.) */
enum kern_map {
	KERN_MAP_STATS,
	KERN_MAP_ALLOW4,
	KERN_MAP_ALLOW,
	KERN_MAP_BLOCK4,
	KERN_MAP_BLOCK,
	KERN_MAP_RATE,
	KERN_MAP_EVENTS,
	KERN_MAP_MAX
};

/* The maps of a rule list, one per address family (bouncewall.h). */
enum kern_rule_map {
	KERN_RM_V4,		/* bw_allow4, bw_block4 */
	KERN_RM_V6,		/* bw_allow, bw_block */
	KERN_RM_MAX
};

struct kern {
	struct bouncewall_bpf *skel;
	const struct bw_settings *settings;	/* as of kern_open() */
	int lock_fd;		/* the pin directory, flock()ed: one agent */
	int config_fd, stats_fd, rate_fd, events_fd;
	int allow_fd[KERN_RM_MAX], block_fd[KERN_RM_MAX];
	bool maps_adopted;	/* rule maps were found pinned (agent restart) */
	bool map_fresh[KERN_MAP_MAX];	/* pinned by this start */
	int map_old_fd[KERN_MAP_MAX];	/* a pinned map of another size the
					 * entries were copied from; -1 */
	struct kern_multi *multi;	/* the program as libxdp loads it */
	int multi_config_fd;		/* its config; -1 until loaded */
	struct bw_config cfg;		/* as last written, for a later load */
	struct kern_iface ifaces[BW_MAX_IFACES];
	unsigned int n_ifaces;
	/* kern_rate_count_step()'s pass over bw_rate */
	struct bw_key rate_cursor;
	bool rate_cursor_valid;
	uint64_t rate_counting;
	uint64_t rate_tracked;	/* the last finished pass's count */
};

/* Where maps and links are pinned: $BOUNCEWALL_PIN_DIR (an absolute path
 * on bpffs, for running several agents side by side, as the lab tests do)
 * or BW_PIN_DIR. */
const char *kern_pin_dir(void);

/* An empty struct kern: no fds held (-1), nothing loaded.  Tests and
 * benchmarks that point one at an object's maps start from this. */
void kern_init(struct kern *k);

/* Parse "auto", "native", "generic". 0 or -EINVAL. */
int kern_parse_xdp_mode(const char *s, enum kern_xdp_mode *mode);

/* Take the pin directory for this agent alone (flock: a second agent on
 * the same directory gets -EBUSY before it touches anything), open the
 * program, set it up from s (kern_obj_setup) and load it; reuse pinned
 * maps when present and compatible, else pin fresh ones.  A rule map
 * pinned with another size (max_rules changed) is replaced by one of the
 * new size holding its entries; the old one stays in use by the running
 * program until kern_attach() swaps it out.  Other incompatible leftovers
 * (an older ABI) are unpinned with a warning: state_dir restores the
 * rules.  s must outlive k. */
int kern_open(struct kern *k, const struct bw_settings *s);

/* Attach to ifname, or adopt what an earlier agent left there (its pinned
 * link, or its program in libxdp's dispatcher), swapping in this program
 * without a moment unprotected.  Alone on the interface, the program gets
 * a pinned bpf_link; beside another program, or with multi on, it joins
 * libxdp's dispatcher (kern_xdp.c).  multi is enum bw_xdp_multi; off
 * refuses an interface another program uses. */
int kern_attach(struct kern *k, const char *ifname, enum kern_xdp_mode mode,
		uint32_t multi);

/* The loaded program (for BPF_PROG_TEST_RUN: the benchmark measures the
 * program exactly as the agent loads it). */
int kern_prog_fd(const struct kern *k);

/* After every interface is attached: the resized maps' old copies are no
 * longer used by any program of ours; let them go. */
void kern_commit(struct kern *k);

/* Detach one interface (unpin its link, or leave the dispatcher). */
int kern_detach(struct kern *k, const char *ifname);

/* Standalone detach with no agent running: unpin the pinned link, or take
 * our program out of the interface's dispatcher.  -ENOENT when neither is
 * there. */
int kern_detach_pinned(const char *ifname);

/* "bpf_link" or "libxdp". */
const char *kern_attach_name(enum kern_attach a);

/* Clean shutdown: detach every interface and unpin every map. */
void kern_close(struct kern *k);

/* A start that failed: undo only what this agent created.  Links and maps
 * an earlier agent left pinned keep enforcing; maps pinned fresh by this
 * start are unpinned (they would hold kernel memory for nothing). */
void kern_abort(struct kern *k);

/* The restart-only settings as the program's read-only data. */
void kern_build_static(const struct bw_settings *s, struct bw_static *st);

/* Before an opened (not loaded) bouncewall object is loaded: write its
 * bw_static from s, and size its rule maps to s->max_rules.  Every loader
 * (the agent, the BPF tests, the benchmarks) goes through this.  0 or
 * -errno (logged). */
struct bpf_object;
int kern_obj_setup(struct bpf_object *obj, const struct bw_settings *s);

/* Build struct bw_config from settings and the rules' prefix lengths, per
 * list and address family. */
void kern_build_config(const struct bw_settings *s, const struct rules *r,
		       struct bw_config *cfg);
int kern_write_config(struct kern *k, const struct bw_settings *s,
		      const struct rules *r);

/* Write or delete one rule in the allow or block map of its address
 * family.  `now_real` converts the rule's wall-clock expiry to the
 * kernel's CLOCK_BOOTTIME.  Write the config after a put and after a
 * delete (kern_write_config), so it never lacks a length that the kernel
 * would miss a rule for. */
int kern_put_rule(struct kern *k, bool allow, const struct rule_entry *e,
		  uint64_t now_real);
int kern_del_rule(struct kern *k, bool allow, const struct bw_cidr *c);

/* Make the kernel maps hold exactly the rules in r: add missing ones,
 * delete strays.  Used on start after adopting pinned maps. */
int kern_sync_rules(struct kern *k, const struct rules *r, uint64_t now_real);

/* Add to r the kernel rules it lacks (adopted from pinned maps after a
 * crash that beat the state file).  Returns how many were added. */
int kern_adopt_rules(struct kern *k, struct rules *r, uint64_t now_real);

/* Sum the per-CPU counters into out[BW_CNT_MAX], as readers see them:
 * out[BW_CNT_SMTP] includes the dropped SMTP packets (which the kernel
 * counts only as DROP_*), out[BW_CNT_PACKETS] is the sum of the five
 * top-level classes (the kernel does not count it). */
int kern_read_stats(struct kern *k, uint64_t out[BW_CNT_MAX]);

/* Seconds and nanoseconds helpers: wall clock and CLOCK_BOOTTIME. */
uint64_t kern_now_real(void);
uint64_t kern_now_boot_ns(void);



/* Move the count of bw_rate's entries on by at most `budget` keys;
 * k->rate_tracked holds the count of the last finished pass. */
void kern_rate_count_step(struct kern *k, unsigned int budget);

#endif
