/*
 * flow_table.c - bounded TCP flow table and reassembly for the SMTP parser
 * (flow_table.h).
 *
 * Layout: an array of max_flows entries, a power-of-two array of hash
 * bucket heads (entry index + 1, 0 = empty) chaining through the entries,
 * and one LRU list through the entries, most recently active first, from
 * whose tail idle flows expire and full-table evictions come.  A shared
 * pool of hold slots keeps segments that arrived ahead of a hole, each
 * direction a sorted list of at most FLOW_HOLD_PER_DIR of them.
 *
 * flow_table_new() returns 0, -EINVAL or -ENOMEM; everything else returns
 * nothing that can fail: a segment that cannot be placed is counted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flow_table.h"
#include "lru.h"

#define NIL		UINT32_MAX

enum flow_state {
	FLOW_FREE = 0,
	FLOW_OPEN,	/* session being parsed */
	FLOW_CLOSED,	/* session ended; absorbs late packets */
};

enum { DIR_C2S = 0, DIR_S2C = 1 };

struct flow_dir {
	uint32_t next_seq;	/* next octet expected */
	uint32_t held;		/* first hold slot (sorted by seq), NIL */
	uint8_t n_held;
	bool known;		/* next_seq is valid */
	bool fin;
};

struct flow_entry {
	uint32_t hnext;		/* hash chain: index + 1, 0 = end */
	struct lru_link lru;	/* .next also chains the free entries */
	uint32_t bucket;
	uint64_t last_seen;
	enum flow_state state;
	bool syn_seen;
	uint32_t client_isn;
	struct flow_dir dir[2];
	struct smtp_session sess;	/* sess.peer is the key */
};

struct hold_slot {
	uint32_t next;		/* next slot of the same direction / free */
	uint32_t seq;
	uint32_t len;
	uint8_t data[FLOW_HOLD_BYTES];
};

struct flow_table {
	struct flow_config cfg;
	struct smtp_ctx *smtp;
	struct flow_entry *e;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint32_t n_used;
	uint32_t free_head;	/* free entries through lru.next */
	uint32_t n_fresh;	/* e[n_fresh..] never used: pages untouched */
	struct lru_list lru;	/* head: most recently active */
	struct hold_slot *hold;
	uint32_t hold_free;	/* released slots, through next */
	uint32_t hold_fresh;	/* hold[hold_fresh..] never used: untouched */
	struct flow_stats st;
};

/* Sequence space comparisons (RFC 793 arithmetic). */
static inline int32_t
seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

size_t
flow_table_entry_size(void)
{
	return sizeof(struct flow_entry);
}

const struct flow_stats *
flow_table_stats(const struct flow_table *ft)
{
	return &ft->st;
}

bool
flow_table_is_smtp_port(const struct flow_table *ft, uint16_t port)
{
	for (unsigned int i = 0; i < ft->cfg.n_ports; i++)
		if (ft->cfg.ports[i] == port)
			return true;
	return false;
}

/* ----- hashing --------------------------------------------------------- */

static inline uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
hash_end(uint64_t h, const uint8_t addr[16], uint16_t port)
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	h = mix64(h ^ a);
	h = mix64(h ^ b);
	return mix64(h ^ port);
}

/* Same value for both directions: the lower end goes first. */
static uint32_t
flow_hash(const struct flow_table *ft, const uint8_t a[16], uint16_t ap,
	  const uint8_t b[16], uint16_t bp)
{
	int c = memcmp(a, b, 16);
	uint64_t h = ft->cfg.hash_seed;

	if (c < 0 || (c == 0 && ap <= bp)) {
		h = hash_end(h, a, ap);
		h = hash_end(h, b, bp);
	} else {
		h = hash_end(h, b, bp);
		h = hash_end(h, a, ap);
	}
	return (uint32_t)h & ft->bucket_mask;
}

/* ----- LRU and allocation ---------------------------------------------- */

static void
flow_touch(struct flow_table *ft, uint32_t i, uint64_t now)
{
	ft->e[i].last_seen = now;
	lru_touch(&ft->lru, i);
}

/* ----- hold slots ------------------------------------------------------ */

static void
hold_release(struct flow_table *ft, uint32_t slot)
{
	ft->hold[slot].next = ft->hold_free;
	ft->hold_free = slot;
}

/* Keep a segment that starts beyond the hole; false if it cannot be. */
static bool
hold_put(struct flow_table *ft, struct flow_dir *d, uint32_t seq,
	 const uint8_t *data, uint32_t len)
{
	uint32_t *link = &d->held, slot;

	if (len > FLOW_HOLD_BYTES || d->n_held >= FLOW_HOLD_PER_DIR ||
	    (ft->hold_free == NIL && ft->hold_fresh == ft->cfg.hold_slots))
		return false;
	while (*link != NIL && seq_diff(ft->hold[*link].seq, seq) < 0)
		link = &ft->hold[*link].next;
	if (*link != NIL && ft->hold[*link].seq == seq &&
	    ft->hold[*link].len >= len) {
		ft->st.dup_bytes += len;	/* held already */
		return true;
	}
	if (ft->hold_free != NIL) {
		slot = ft->hold_free;
		ft->hold_free = ft->hold[slot].next;
	} else {
		slot = ft->hold_fresh++;
	}
	ft->hold[slot].seq = seq;
	ft->hold[slot].len = len;
	memcpy(ft->hold[slot].data, data, len);
	ft->hold[slot].next = *link;
	*link = slot;
	d->n_held++;
	ft->st.held++;
	return true;
}

/* ----- delivery -------------------------------------------------------- */

static void
parser_data(struct flow_table *ft, struct flow_entry *e, int dir,
	    const uint8_t *p, uint32_t len, uint64_t now)
{
	ft->st.bytes += len;
	if (dir == DIR_C2S)
		smtp_client_data(ft->smtp, &e->sess, p, len, now);
	else
		smtp_server_data(ft->smtp, &e->sess, p, len, now);
}

static void
parser_gap(struct flow_table *ft, struct flow_entry *e, int dir, uint64_t len,
	   uint64_t now)
{
	ft->st.gaps++;
	ft->st.gap_bytes += len;
	smtp_gap(ft->smtp, &e->sess, dir == DIR_C2S, len, now);
}

/*
 * Hand over octets that start at or before next_seq (already placed):
 * trim what was delivered before, pass the rest; `wire` > `len` when the
 * snaplen cut the segment, the missing tail being a gap.
 */
static void
deliver_inorder(struct flow_table *ft, struct flow_entry *e, int dir,
		uint32_t seq, const uint8_t *p, uint32_t len, uint32_t wire,
		uint64_t now)
{
	struct flow_dir *d = &e->dir[dir];
	uint32_t skip = d->next_seq - seq;	/* octets already delivered */

	if (skip >= wire) {
		ft->st.dup_bytes += wire;
		return;
	}
	ft->st.dup_bytes += skip;
	if (skip >= len) {
		len = 0;
	} else {
		p += skip;
		len -= skip;
	}
	wire -= skip;
	if (len)
		parser_data(ft, e, dir, p, len, now);
	if (wire > len)
		parser_gap(ft, e, dir, wire - len, now);
	d->next_seq += wire;
}

/* Deliver held segments that the stream has now reached. */
static void
hold_drain(struct flow_table *ft, struct flow_entry *e, int dir, uint64_t now)
{
	struct flow_dir *d = &e->dir[dir];

	while (d->held != NIL && seq_diff(ft->hold[d->held].seq, d->next_seq) <= 0) {
		uint32_t slot = d->held;
		struct hold_slot *h = &ft->hold[slot];

		d->held = h->next;
		d->n_held--;
		deliver_inorder(ft, e, dir, h->seq, h->data, h->len, h->len, now);
		hold_release(ft, slot);
	}
}

/* Give up on holes before `upto`: held segments below it are delivered,
 * each hole before them is a gap. */
static void
hold_flush(struct flow_table *ft, struct flow_entry *e, int dir, uint32_t upto,
	   bool all, uint64_t now)
{
	struct flow_dir *d = &e->dir[dir];

	while (d->held != NIL &&
	       (all || seq_diff(ft->hold[d->held].seq, upto) < 0)) {
		uint32_t s = ft->hold[d->held].seq;

		if (seq_diff(s, d->next_seq) > 0) {
			parser_gap(ft, e, dir, (uint32_t)seq_diff(s, d->next_seq), now);
			d->next_seq = s;
		}
		hold_drain(ft, e, dir, now);
	}
}

static void
flow_segment_data(struct flow_table *ft, struct flow_entry *e, int dir,
		  uint32_t seq, const struct flow_seg *seg, uint64_t now)
{
	struct flow_dir *d = &e->dir[dir];
	int32_t off = seq_diff(seq, d->next_seq);

	if (off > 0) {
		/* A hole: hold the segment until it fills, or give up on it
		 * (the ACK check in flow_table_input gives up early). */
		if (seg->len == seg->wire_len &&
		    hold_put(ft, d, seq, seg->payload, seg->len))
			return;
		ft->st.hold_full++;
		hold_flush(ft, e, dir, seq, false, now);
		off = seq_diff(seq, d->next_seq);
		if (off > 0) {
			parser_gap(ft, e, dir, (uint32_t)off, now);
			d->next_seq = seq;
		}
	}
	deliver_inorder(ft, e, dir, seq, seg->payload, seg->len, seg->wire_len,
			now);
	hold_drain(ft, e, dir, now);
}

/* ----- entries --------------------------------------------------------- */

static void
entry_release_holds(struct flow_table *ft, struct flow_entry *e)
{
	for (int dir = 0; dir < 2; dir++) {
		struct flow_dir *d = &e->dir[dir];

		while (d->held != NIL) {
			uint32_t slot = d->held;

			d->held = ft->hold[slot].next;
			hold_release(ft, slot);
		}
		d->n_held = 0;
	}
}

/* End the session: flush what reassembly holds, then tell the parser. */
static void
entry_end(struct flow_table *ft, struct flow_entry *e, uint64_t now)
{
	if (e->state != FLOW_OPEN)
		return;
	for (int dir = 0; dir < 2; dir++)
		hold_flush(ft, e, dir, 0, true, now);
	entry_release_holds(ft, e);
	smtp_session_end(ft->smtp, &e->sess, now);
	e->state = FLOW_CLOSED;
}

static void
entry_free(struct flow_table *ft, uint32_t i, uint64_t now)
{
	struct flow_entry *e = &ft->e[i];
	uint32_t *link = &ft->buckets[e->bucket];

	entry_end(ft, e, now);
	while (*link && *link != i + 1)
		link = &ft->e[*link - 1].hnext;
	if (*link)
		*link = e->hnext;
	lru_unlink(&ft->lru, i);
	e->state = FLOW_FREE;
	e->lru.next = ft->free_head;
	ft->free_head = i;
	ft->n_used--;
	ft->st.flows_active = ft->n_used;
}

void
flow_table_expire(struct flow_table *ft, uint64_t now)
{
	while (ft->lru.tail != NIL) {
		struct flow_entry *e = &ft->e[ft->lru.tail];

		if (now < e->last_seen || now - e->last_seen < ft->cfg.idle_timeout_ns)
			break;
		if (e->state == FLOW_OPEN)
			ft->st.flows_expired++;
		entry_free(ft, ft->lru.tail, now);
	}
}

static uint32_t
entry_alloc(struct flow_table *ft, uint64_t now)
{
	uint32_t i;

	/* A session ended FLOW_CLOSED_LINGER_NS ago has absorbed its late
	 * packets: its entry goes before a fresh one is touched. */
	if (ft->free_head == NIL && ft->lru.tail != NIL &&
	    ft->e[ft->lru.tail].state == FLOW_CLOSED &&
	    now - ft->e[ft->lru.tail].last_seen > FLOW_CLOSED_LINGER_NS)
		entry_free(ft, ft->lru.tail, now);
	/* Entries are handed out in order on first use, so a table sized
	 * for a flood costs only the memory the traffic really needs. */
	if (ft->free_head == NIL && ft->n_fresh < ft->cfg.max_flows) {
		i = ft->n_fresh++;
		ft->e[i].lru.prev = NIL;
		ft->e[i].lru.next = NIL;
		ft->e[i].dir[0].held = ft->e[i].dir[1].held = NIL;
		ft->n_used++;
		ft->st.flows_active = ft->n_used;
		return i;
	}
	if (ft->free_head == NIL) {
		if (ft->e[ft->lru.tail].state == FLOW_OPEN)
			ft->st.flows_evicted++;
		entry_free(ft, ft->lru.tail, now);
	}
	i = ft->free_head;
	ft->free_head = ft->e[i].lru.next;
	ft->n_used++;
	ft->st.flows_active = ft->n_used;
	return i;
}

/* (Re)start a connection in entry e: the client is (c, cp). */
static void
entry_start(struct flow_table *ft, struct flow_entry *e,
	    const struct flow_seg *seg, bool src_is_client, uint64_t now)
{
	struct smtp_peer peer;
	bool syn = seg->flags & FLOW_TCP_SYN;

	memset(&peer, 0, sizeof(peer));
	if (src_is_client) {
		memcpy(peer.client, seg->src, 16);
		memcpy(peer.server, seg->dst, 16);
		peer.client_port = seg->sport;
		peer.server_port = seg->dport;
	} else {
		memcpy(peer.client, seg->dst, 16);
		memcpy(peer.server, seg->src, 16);
		peer.client_port = seg->dport;
		peer.server_port = seg->sport;
	}
	entry_release_holds(ft, e);
	memset(e->dir, 0, sizeof(e->dir));
	e->dir[0].held = e->dir[1].held = NIL;
	e->syn_seen = syn && !(seg->flags & FLOW_TCP_ACK);
	e->client_isn = e->syn_seen ? seg->seq : 0;
	e->state = FLOW_OPEN;
	ft->st.flows_created++;
	smtp_session_start(ft->smtp, &e->sess, &peer, syn, now);
}

/* Find the entry for a segment; *dir receives its direction. */
static uint32_t
entry_lookup(struct flow_table *ft, const struct flow_seg *seg, uint32_t b,
	     int *dir)
{
	for (uint32_t n = ft->buckets[b]; n; n = ft->e[n - 1].hnext) {
		const struct smtp_peer *p = &ft->e[n - 1].sess.peer;

		if (p->client_port == seg->sport && p->server_port == seg->dport &&
		    !memcmp(p->client, seg->src, 16) &&
		    !memcmp(p->server, seg->dst, 16)) {
			*dir = DIR_C2S;
			return n - 1;
		}
		if (p->client_port == seg->dport && p->server_port == seg->sport &&
		    !memcmp(p->client, seg->dst, 16) &&
		    !memcmp(p->server, seg->src, 16)) {
			*dir = DIR_S2C;
			return n - 1;
		}
	}
	return NIL;
}

/* Which side of a new flow's first segment is the client: the SYN's
 * sender, else whoever talks to an SMTP port (the lower one when both
 * are). */
static bool
source_is_client(const struct flow_table *ft, const struct flow_seg *seg)
{
	if (seg->flags & FLOW_TCP_SYN)
		return !(seg->flags & FLOW_TCP_ACK);
	return flow_table_is_smtp_port(ft, seg->dport) &&
	       !(flow_table_is_smtp_port(ft, seg->sport) && seg->sport < seg->dport);
}

/* A flow for a segment that found none.  NIL when it cannot start one:
 * only a SYN or data does (a lone ACK, FIN or RST is the tail of
 * something we no longer track), and sampling may refuse it. */
static uint32_t
flow_start(struct flow_table *ft, const struct flow_seg *seg, uint32_t b, int *dir,
	   uint64_t now)
{
	bool src_client;
	uint32_t i;

	if ((seg->flags & FLOW_TCP_RST) || (!(seg->flags & FLOW_TCP_SYN) && seg->wire_len == 0)) {
		ft->st.stray++;
		return NIL;
	}
	if (ft->cfg.admit && !ft->cfg.admit(ft->cfg.admit_arg, seg)) {
		ft->st.not_admitted++;
		return NIL;
	}
	src_client = source_is_client(ft, seg);
	i = entry_alloc(ft, now);
	entry_start(ft, &ft->e[i], seg, src_client, now);
	ft->e[i].bucket = b;
	ft->e[i].hnext = ft->buckets[b];
	ft->buckets[b] = i + 1;
	lru_push_head(&ft->lru, i);
	*dir = src_client ? DIR_C2S : DIR_S2C;
	return i;
}

/* A new SYN from the client with another ISN: the port pair was reused, a
 * new connection begins in the same entry. */
static void
flow_reuse(struct flow_table *ft, struct flow_entry *e, const struct flow_seg *seg, int dir,
	   uint64_t now)
{
	if (!(seg->flags & FLOW_TCP_SYN) || (seg->flags & FLOW_TCP_ACK) || dir != DIR_C2S)
		return;
	if (e->syn_seen && seg->seq == e->client_isn)
		return;		/* a retransmitted SYN */
	if (e->state == FLOW_CLOSED || e->syn_seen ||
	    (e->dir[DIR_C2S].known && seq_diff(seg->seq, e->dir[DIR_C2S].next_seq) != -1)) {
		entry_end(ft, e, now);
		entry_start(ft, e, seg, true, now);
	}
}

/* Where the segment's data starts; learns each side's position. */
static uint32_t
flow_positions(struct flow_entry *e, const struct flow_seg *seg, int dir)
{
	struct flow_dir *d = &e->dir[dir];
	uint32_t seq = seg->seq;

	if (seg->flags & FLOW_TCP_SYN) {
		if (!d->known) {
			d->next_seq = seq + 1;
			d->known = true;
		}
		seq++;		/* data on a SYN (TFO) follows the ISN */
	} else if (!d->known) {
		d->next_seq = seq;	/* picked up mid-stream */
		d->known = true;
	}
	if ((seg->flags & FLOW_TCP_ACK) && !e->dir[!dir].known) {
		/* the peer's position, before we see it send */
		e->dir[!dir].next_seq = seg->ack;
		e->dir[!dir].known = true;
	}
	return seq;
}

int
flow_table_input(struct flow_table *ft, const struct flow_seg *seg, uint64_t now)
{
	struct flow_entry *e;
	uint32_t b, i, seq;
	int dir = DIR_C2S;

	ft->st.segments++;
	if (!flow_table_is_smtp_port(ft, seg->dport) &&
	    !flow_table_is_smtp_port(ft, seg->sport)) {
		ft->st.not_smtp++;
		return 0;
	}
	flow_table_expire(ft, now);
	b = flow_hash(ft, seg->src, seg->sport, seg->dst, seg->dport);
	i = entry_lookup(ft, seg, b, &dir);
	if (i == NIL) {
		i = flow_start(ft, seg, b, &dir, now);
		if (i == NIL)
			return 0;
	} else {
		flow_reuse(ft, &ft->e[i], seg, dir, now);
	}
	e = &ft->e[i];
	flow_touch(ft, i, now);
	if (e->state != FLOW_OPEN)
		return 1;	/* late packet of an ended session */
	seq = flow_positions(e, seg, dir);
	if (seg->flags & FLOW_TCP_RST) {
		entry_end(ft, e, now);
		ft->st.flows_ended++;
		return 1;
	}
	if (e->sess.state != SMTP_S_OPEN)
		entry_release_holds(ft, e);	/* opaque: nothing to reassemble */
	else if (seg->wire_len)
		flow_segment_data(ft, e, dir, seq, seg, now);
	/* The peer acknowledges octets this capture never showed: a hole
	 * that will not fill. */
	if ((seg->flags & FLOW_TCP_ACK) && e->dir[!dir].held != NIL &&
	    seq_diff(seg->ack, e->dir[!dir].next_seq) > 0)
		hold_flush(ft, e, !dir, seg->ack, false, now);
	if (seg->flags & FLOW_TCP_FIN)
		e->dir[dir].fin = true;
	if (e->dir[0].fin && e->dir[1].fin) {
		entry_end(ft, e, now);
		ft->st.flows_ended++;
	}
	return 1;
}

void
flow_table_flush(struct flow_table *ft, uint64_t now)
{
	for (uint32_t i = ft->lru.head; i != NIL; i = ft->e[i].lru.next)
		entry_end(ft, &ft->e[i], now);
}

int
flow_table_new(struct flow_table **out, const struct flow_config *cfg,
	       struct smtp_ctx *smtp)
{
	struct flow_table *ft;
	uint32_t nb = 1;

	*out = NULL;
	if (!cfg || !smtp || cfg->n_ports == 0 || cfg->n_ports > FLOW_PORTS_MAX)
		return -EINVAL;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->cfg = *cfg;
	if (!ft->cfg.max_flows)
		ft->cfg.max_flows = FLOW_DEFAULT_MAX;
	if (!ft->cfg.idle_timeout_ns)
		ft->cfg.idle_timeout_ns = FLOW_DEFAULT_IDLE_NS;
	if (!ft->cfg.hold_slots)
		ft->cfg.hold_slots = FLOW_DEFAULT_HOLD_SLOTS;
	if (ft->cfg.max_flows > (1U << 26) || ft->cfg.hold_slots > (1U << 20)) {
		free(ft);
		return -EINVAL;
	}
	while (nb < ft->cfg.max_flows)
		nb <<= 1;
	ft->smtp = smtp;
	ft->bucket_mask = nb - 1;
	ft->e = calloc(ft->cfg.max_flows, sizeof(*ft->e));
	ft->buckets = calloc(nb, sizeof(*ft->buckets));
	ft->hold = calloc(ft->cfg.hold_slots, sizeof(*ft->hold));
	if (!ft->e || !ft->buckets || !ft->hold) {
		free(ft->e);
		free(ft->buckets);
		free(ft->hold);
		free(ft);
		return -ENOMEM;
	}
	ft->free_head = NIL;
	ft->n_fresh = 0;
	lru_init(&ft->lru, ft->e, sizeof(*ft->e), offsetof(struct flow_entry, lru));
	/* Slots are a page each: handed out in order, never touched before
	 * use, so a table that holds nothing costs no page faults. */
	ft->hold_free = NIL;
	ft->hold_fresh = 0;
	*out = ft;
	return 0;
}

void
flow_table_free(struct flow_table *ft, uint64_t now)
{
	if (!ft)
		return;
	flow_table_flush(ft, now);
	free(ft->e);
	free(ft->buckets);
	free(ft->hold);
	free(ft);
}
