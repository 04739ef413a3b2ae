// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench-xdp-trivial.bpf.c - the floor for scripts/bench-xdp: what
 * BPF_PROG_TEST_RUN costs per packet when the program does nothing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int trivial_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int trivial_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
