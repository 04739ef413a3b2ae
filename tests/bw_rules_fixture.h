/*
 * bw_rules_fixture.h - what the BPF tests and the XDP benchmark both need
 * to stand in for the agent when they fill the maps themselves: the
 * kernel's clock, and prefix-length lists kept longest first as
 * kern_build_config() keeps them.
 */
#ifndef BW_RULES_FIXTURE_H
#define BW_RULES_FIXTURE_H

#include <time.h>

#include <linux/types.h>

#include "bouncewall.h"

#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC	1000000000ULL
#endif

/* CLOCK_BOOTTIME, the clock of bw_rule.expires_ns. */
static inline __u64
boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + (__u64)ts.tv_nsec;
}

/* Zero every bit of addr past plen (128-bit scale), as the agent masks
 * a rule's address before it becomes a key. */
static inline void
mask_to_plen(__u8 addr[16], __u32 plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = (int)plen - 8 * i;

		if (bits <= 0)
			addr[i] = 0;
		else if (bits < 8)
			addr[i] &= (__u8)(0xff << (8 - bits));
	}
}

/* Insert plen into a longest-first list without duplicates. */
static inline void
plens_add(__u8 *plens, __u32 *n, __u8 plen)
{
	__u32 i, j;

	for (i = 0; i < *n; i++) {
		if (plens[i] == plen)
			return;
		if (plens[i] < plen)
			break;
	}
	if (*n >= BW_MAX_PLENS)
		return;
	for (j = *n; j > i; j--)
		plens[j] = plens[j - 1];
	plens[i] = plen;
	(*n)++;
}

#endif
