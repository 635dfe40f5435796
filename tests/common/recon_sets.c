/*
 * recon_sets.c - the reconciliation fuzz target's fixed sets (recon_sets.h).
 */
#include "recon_sets.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64: a fixed stream, the same on every machine */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void key(uint64_t *s, uint8_t k[32])
{
	for (int w = 0; w < 4; w++) {
		uint64_t v = next(s);
		memcpy(k + 8 * w, &v, 8);
	}
}

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

void recon_sets(struct ml_recon_item a[RECON_SETS_A], struct ml_recon_item b[RECON_SETS_B_MAX],
                size_t *nb)
{
	uint64_t s = 0x7265636f6eULL;
	for (size_t i = 0; i < RECON_SETS_A; i++) {
		key(&s, a[i].key);
		a[i].seq = 1 + next(&s) % 50;
	}
	qsort(a, RECON_SETS_A, sizeof *a, key_cmp);
	*nb = 0;
	for (size_t i = 0; i < RECON_SETS_A; i++) {
		if (i % 50 == 7)
			continue;
		b[*nb] = a[i];
		if (i % 50 == 23)
			b[*nb].seq += 3;
		(*nb)++;
	}
	for (size_t i = 0; i < 4; i++) {
		key(&s, b[*nb].key);
		b[(*nb)++].seq = 1 + next(&s) % 50;
	}
	qsort(b, *nb, sizeof *b, key_cmp);
}
