/*
 * capture.h - the live SMTP sampler's shell: one libpcap handle per
 * protected interface, filtered in the kernel to the SMTP ports in both
 * directions (inbound sessions to us and the outbound ones that are "mail
 * we sent"), non-blocking, driven by the agent's event loop.
 *
 * The AF_PACKET tap sits after XDP: what the program dropped is never
 * seen here, which is what we want (it was never delivered either).
 */
#ifndef BW_CAPTURE_H
#define BW_CAPTURE_H

#include <net/if.h>
#include <stdint.h>

#include "engine.h"

/* pcap.h's struct bpf_insn clashes with linux/bpf.h: keep it out of the
 * agent's headers. */
struct pcap;

/*
 * Not immediate mode: that is TPACKET_V2, whose ring has one fixed-size
 * slot per packet, each sized for a 64 KiB GRO super-packet when the NIC
 * aggregates: an 8 MiB buffer held 128 packets and lost hundreds a second
 * at 100k packets/s, with a wake-up per packet (~6 us of agent CPU each).
 * TPACKET_V3 packs packets into blocks and wakes us once per block, when
 * it fills or CAPTURE_TIMEOUT_MS after its first packet: that bounds the
 * delay a decision waits for its packet.
 */
#define CAPTURE_SNAPLEN		65535	/* GRO'd segments arrive whole */
#define CAPTURE_BUFFER		(8 << 20)
#define CAPTURE_TIMEOUT_MS	5
#define CAPTURE_BATCH		512	/* frames per dispatch call */
#define CAPTURE_ERR_MAX		320

struct capture {
	char ifname[IF_NAMESIZE];
	struct pcap *pcap;
	int linktype;
	int fd;
	uint64_t frames;
	uint64_t drops_seen;	/* pcap ps_drop + ps_ifdrop at last stats */
	void *owner;		/* the caller's, for its event handler */
};

/* Open, filter and make non-blocking.  0 or -errno; err explains. */
int capture_open(struct capture *c, const char *ifname, const uint16_t *ports,
		 unsigned int n_ports, char *err, size_t errlen);

/* Feed up to CAPTURE_BATCH pending frames to the engine, stamped with
 * their capture time.  Returns frames read, or -EIO. */
int capture_dispatch(struct capture *c, struct engine *e);

/* Packets libpcap/the kernel dropped so far (ps_drop + ps_ifdrop). */
uint64_t capture_drops(struct capture *c);

void capture_close(struct capture *c);

#endif
