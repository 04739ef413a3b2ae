// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench-wire-gen.c - the SYN flood of scripts/bench-wire.sh.
 *
 * The kernel has no pktgen here and xdp-trafficgen only floods UDP (which
 * bouncewall, an SMTP filter, rightly lets through), so this does what
 * xdp-trafficgen does with a TCP SYN to an SMTP port: BPF_PROG_RUN in
 * live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) runs a two-instruction
 * `return XDP_TX` program over one canned frame, and the kernel transmits
 * every run out of IFNAME (ndo_xdp_xmit; on a veth, straight into the
 * peer's receive ring).  No socket, no qdisc, no skb on the sending side:
 * one core makes millions of frames a second.  A frame the peer's ring has
 * no room for is dropped on the way (the veth counts it as an xdp_xmit
 * error), so "sent" is what was offered, not what arrived.
 *
 * Usage: bench-wire-gen -i IFNAME -m DST_MAC -s SRC_IP -d DST_IP
 *                       [-p DPORT] [-P SPORT] [-t SECONDS] [-b BATCH]
 * Run it in the namespace that holds IFNAME.  Prints one line:
 *   sent N seconds S
 * Exit 1 when the kernel refuses (no live-frames support, no such device).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>

/* Runs per BPF_PROG_RUN call: short enough to stop within ~0.1 s. */
#define CHUNK	(1u << 16)

struct frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static int if_mac(const char *ifname, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-wire-gen -i IFNAME -m DST_MAC -s SRC_IP -d DST_IP "
		"[-p DPORT] [-P SPORT] [-t SECONDS] [-b BATCH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dmac = NULL, *src = NULL, *dst = NULL;
	unsigned dport = 25, sport = 40000, batch = 64;
	double seconds = 5;
	struct frame f = { 0 };
	int c;

	while ((c = getopt(argc, argv, "i:m:s:d:p:P:t:b:")) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'm': dmac = optarg; break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': dport = strtoul(optarg, NULL, 10); break;
		case 'P': sport = strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!ifname || !dmac || !src || !dst || seconds <= 0 || !batch)
		usage();

	unsigned ifindex = if_nametoindex(ifname);
	unsigned char *d = f.eth.h_dest;

	if (!ifindex || if_mac(ifname, f.eth.h_source)) {
		fprintf(stderr, "bench-wire-gen: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	if (sscanf(dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
		   &d[0], &d[1], &d[2], &d[3], &d[4], &d[5]) != 6 ||
	    inet_pton(AF_INET, src, &f.ip.saddr) != 1 ||
	    inet_pton(AF_INET, dst, &f.ip.daddr) != 1)
		usage();

	/* A SYN as hping3 -S sends it: no options, checksums right, so the
	 * stack (the no-filter baseline) takes it as a real one. */
	f.eth.h_proto = htons(ETH_P_IP);
	f.ip.version = 4;
	f.ip.ihl = 5;
	f.ip.tot_len = htons(sizeof(f.ip) + sizeof(f.tcp));
	f.ip.id = htons(1);
	f.ip.ttl = 64;
	f.ip.protocol = IPPROTO_TCP;
	f.ip.check = htons(csum_fold(csum_add(0, &f.ip, sizeof(f.ip))));
	f.tcp.source = htons(sport);
	f.tcp.dest = htons(dport);
	f.tcp.seq = htonl(0x12345678);
	f.tcp.doff = 5;
	f.tcp.syn = 1;
	f.tcp.window = htons(64240);
	__u32 sum = csum_add(0, &f.ip.saddr, 8);	/* pseudo-header */
	sum += IPPROTO_TCP + sizeof(f.tcp);
	f.tcp.check = htons(csum_fold(csum_add(sum, &f.tcp, sizeof(f.tcp))));

	/* r0 = XDP_TX; exit */
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bw_wire_tx", "GPL", prog, 2, NULL);

	if (fd < 0) {
		fprintf(stderr, "bench-wire-gen: loading the XDP_TX program: %s\n", strerror(-fd));
		return 1;
	}

	struct xdp_md ctx = { .data_end = sizeof(f), .ingress_ifindex = ifindex };
	unsigned long long sent = 0;
	double t0 = now(), t;

	do {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &f, .data_size_in = sizeof(f),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = CHUNK,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
		int err = bpf_prog_test_run_opts(fd, &o);

		if (err) {
			fprintf(stderr, "bench-wire-gen: BPF_PROG_RUN (live frames) on %s: %s\n",
				ifname, strerror(-err));
			return 1;
		}
		sent += CHUNK;
		t = now() - t0;
	} while (t < seconds);
	printf("sent %llu seconds %.6f\n", sent, t);
	return 0;
}
