/*
 * feedmap.c - feed number -> what a peer holds (feedmap.h).
 */
#include "feedmap.h"

#include "crdt/alloc.h"

static size_t slot_of(int64_t feed, size_t cap)
{
	/* Fibonacci hashing: feed numbers are small and dense. */
	return (size_t)(((uint64_t)feed * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

struct ml_feedmap_slot *ml_feedmap_get(const struct ml_feedmap *m, int64_t feed)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(feed, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].feed == feed)
			return &m->slots[i];
		if (m->slots[i].feed == 0)
			return NULL;
	}
}

static bool grow(struct ml_feedmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct ml_feedmap_slot *v = ml_calloc(cap, sizeof *v);
	if (!v)
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].feed)
			continue;
		size_t j = slot_of(m->slots[i].feed, cap);
		while (v[j].feed)
			j = (j + 1) & (cap - 1);
		v[j] = m->slots[i];
	}
	ml_free(m->slots);
	m->slots = v;
	m->cap = cap;
	return true;
}

struct ml_feedmap_slot *ml_feedmap_put(struct ml_feedmap *m, int64_t feed)
{
	struct ml_feedmap_slot *s = ml_feedmap_get(m, feed);
	if (s)
		return s;
	if ((m->n + 1) * 2 > m->cap && !grow(m))
		return NULL;
	size_t i = slot_of(feed, m->cap);
	while (m->slots[i].feed)
		i = (i + 1) & (m->cap - 1);
	m->slots[i] = (struct ml_feedmap_slot){.feed = feed};
	m->n++;
	return &m->slots[i];
}

void ml_feedmap_release(struct ml_feedmap *m)
{
	ml_free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
