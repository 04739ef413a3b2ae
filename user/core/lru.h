/*
 * lru.h - a recency list threaded through the entries of a fixed array by
 * index (the scorer's sources, the flow table's connections): O(1) touch,
 * unlink and eviction from the tail, no allocation.  Pure.
 *
 * Each entry embeds a struct lru_link; the list is told where the array
 * starts, how large an entry is and where its link sits.
 */
#ifndef BW_LRU_H
#define BW_LRU_H

#include <stddef.h>
#include <stdint.h>

#define LRU_NIL	UINT32_MAX

struct lru_link {
	uint32_t prev;		/* more recent; LRU_NIL at the head */
	uint32_t next;		/* less recent; LRU_NIL at the tail */
};

struct lru_list {
	uint32_t head;		/* most recent */
	uint32_t tail;		/* least recent */
	char *base;		/* the array */
	size_t stride;		/* sizeof one entry */
	size_t off;		/* offsetof its struct lru_link */
};

static inline struct lru_link *
lru_link_of(const struct lru_list *l, uint32_t i)
{
	return (struct lru_link *)(l->base + (size_t)i * l->stride + l->off);
}

void lru_init(struct lru_list *l, void *base, size_t stride, size_t off);
void lru_unlink(struct lru_list *l, uint32_t i);
void lru_push_head(struct lru_list *l, uint32_t i);
/* Move i to the head (it must be on the list). */
void lru_touch(struct lru_list *l, uint32_t i);

#endif
