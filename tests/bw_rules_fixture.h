/*
 * bw_rules_fixture.h - what the BPF tests and the XDP benchmark need when
 * they write map entries themselves: the kernel's clock and a masked key
 * address.  Their config comes from the agent's own kern_build_config().
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

#endif
