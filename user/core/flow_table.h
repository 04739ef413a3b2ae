/*
 * flow_table.h - TCP connections to SMTP ports: a bounded table with just
 * enough reassembly to hand the SMTP parser each direction's bytes in
 * order, exactly once.
 *
 * One entry per connection, both directions, keyed by the address/port
 * pairs in either order.  The client is the side that sent the SYN, or
 * without a SYN the side talking to an SMTP port.  Everything is allocated
 * once by flow_table_new(): max_flows entries (each embeds its struct
 * smtp_session), the hash buckets and a shared pool of hold slots for
 * segments that arrive ahead of a hole.  Nothing is allocated per packet.
 *
 * Reassembly, per direction: the next expected sequence number; bytes
 * already delivered are dropped (retransmissions), partial overlaps
 * trimmed; a segment beyond a hole is held (at most FLOW_HOLD_PER_DIR per
 * direction, while pool slots last) until the hole fills.  When it cannot
 * be held, when the peer acknowledges bytes the capture never showed, or
 * when the connection ends, the hole is declared a gap: counted, and the
 * parser told (smtp_gap) so that it resynchronises instead of misreading.
 * A connection picked up without its SYN starts at its first segment.
 *
 * Life cycle: FIN from both sides or a RST ends the session (it is counted
 * and its transaction emitted); the entry stays to absorb late packets
 * until it ages out.  Entries idle for idle_timeout are ended and freed;
 * when the table is full the least recently active entry is evicted.
 *
 * Pure: no I/O, time passed in as ns.
 */
#ifndef BW_FLOW_TABLE_H
#define BW_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncewall.h"
#include "smtp_parse.h"

#define FLOW_PORTS_MAX		BW_MAX_PORTS
#define FLOW_HOLD_BYTES		4096	/* largest segment a hold slot takes */
#define FLOW_HOLD_PER_DIR	8	/* held segments per direction */

#define FLOW_DEFAULT_MAX	16384
#define FLOW_DEFAULT_IDLE_NS	(600ULL * 1000000000ULL)	/* 10 min */
#define FLOW_DEFAULT_HOLD_SLOTS	256
#define FLOW_CLOSED_LINGER_NS	(30ULL * 1000000000ULL)	/* ended: reusable after */

/* TCP flags as in the header's 13th octet. */
#define FLOW_TCP_FIN		0x01
#define FLOW_TCP_SYN		0x02
#define FLOW_TCP_RST		0x04
#define FLOW_TCP_ACK		0x10

/* One TCP segment, as pcap_decode() (or the live capture) gives it. */
struct flow_seg {
	uint8_t src[16];	/* 16-byte form, IPv4 mapped */
	uint8_t dst[16];
	uint16_t sport;		/* host order */
	uint16_t dport;
	uint32_t seq;		/* host order */
	uint32_t ack;
	uint8_t flags;		/* FLOW_TCP_* */
	const uint8_t *payload;
	uint32_t len;		/* payload octets captured */
	uint32_t wire_len;	/* payload octets on the wire (>= len) */
};

struct flow_config {
	uint16_t ports[FLOW_PORTS_MAX];	/* SMTP ports, host order */
	unsigned int n_ports;
	uint32_t max_flows;		/* 0: FLOW_DEFAULT_MAX */
	uint64_t idle_timeout_ns;	/* 0: FLOW_DEFAULT_IDLE_NS */
	uint32_t hold_slots;		/* 0: FLOW_DEFAULT_HOLD_SLOTS */
	uint64_t hash_seed;		/* pick at random live */
	/* Optional: asked before a segment starts a new flow; false leaves
	 * the connection untracked (whole-flow sampling).  Flows already
	 * tracked are never cut. */
	bool (*admit)(void *arg, const struct flow_seg *seg);
	void *admit_arg;
};

struct flow_stats {
	uint64_t segments;		/* TCP segments offered */
	uint64_t not_smtp;		/* neither port is an SMTP port */
	uint64_t stray;			/* no flow and nothing to start one */
	uint64_t flows_created;
	uint64_t flows_ended;		/* FIN both ways or RST */
	uint64_t flows_expired;		/* idle timeout */
	uint64_t flows_evicted;		/* table full */
	uint64_t flows_active;		/* gauge */
	uint64_t bytes;			/* payload octets given to the parser */
	uint64_t dup_bytes;		/* retransmitted octets dropped */
	uint64_t held;			/* segments held ahead of a hole */
	uint64_t hold_full;		/* ... that could not be held */
	uint64_t gaps;			/* holes given up on */
	uint64_t gap_bytes;
	uint64_t snap_cut;		/* segments cut short by the snaplen */
	uint64_t not_admitted;		/* segments of flows admit() refused */
};

struct flow_table;

/*
 * Allocate a table.  `smtp` receives every session's events and counters
 * and must outlive the table.  Returns 0, -EINVAL (bad config) or -ENOMEM.
 */
int flow_table_new(struct flow_table **out, const struct flow_config *cfg,
		   struct smtp_ctx *smtp);

/* End every session (flushing what reassembly holds), then free. */
void flow_table_free(struct flow_table *ft, uint64_t now);

/*
 * Feed one segment at time `now` (ns, must not go backwards: clamp it).
 * Returns 1 when the segment belonged to an SMTP flow, 0 when ignored.
 */
int flow_table_input(struct flow_table *ft, const struct flow_seg *seg,
		     uint64_t now);

/* End and free the flows idle since before now - idle_timeout. */
void flow_table_expire(struct flow_table *ft, uint64_t now);

/* End every open session now (end of a capture); entries stay. */
void flow_table_flush(struct flow_table *ft, uint64_t now);

/* Is port (host order) one of the table's SMTP ports? */
bool flow_table_is_smtp_port(const struct flow_table *ft, uint16_t port);

const struct flow_stats *flow_table_stats(const struct flow_table *ft);

/* Bytes one flow entry takes (for memory accounting and the bench). */
size_t flow_table_entry_size(void);

#endif
