/*
 * lru.c - index-threaded recency list (lru.h).
 */
#include "lru.h"

void
lru_init(struct lru_list *l, void *base, size_t stride, size_t off)
{
	l->head = l->tail = LRU_NIL;
	l->base = base;
	l->stride = stride;
	l->off = off;
}

void
lru_unlink(struct lru_list *l, uint32_t i)
{
	struct lru_link *e = lru_link_of(l, i);

	if (e->prev != LRU_NIL)
		lru_link_of(l, e->prev)->next = e->next;
	else
		l->head = e->next;
	if (e->next != LRU_NIL)
		lru_link_of(l, e->next)->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = LRU_NIL;
}

void
lru_push_head(struct lru_list *l, uint32_t i)
{
	struct lru_link *e = lru_link_of(l, i);

	e->prev = LRU_NIL;
	e->next = l->head;
	if (l->head != LRU_NIL)
		lru_link_of(l, l->head)->prev = i;
	l->head = i;
	if (l->tail == LRU_NIL)
		l->tail = i;
}

void
lru_touch(struct lru_list *l, uint32_t i)
{
	if (l->head == i)
		return;
	lru_unlink(l, i);
	lru_push_head(l, i);
}
