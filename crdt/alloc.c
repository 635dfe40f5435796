/*
 * alloc.c - malloc wrappers with a fault-injection hook for tests.
 */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned long fail_at;   /* 0: never fail */
static unsigned long attempted; /* allocations since the hook was last set */
static int fail_once;           /* only allocation fail_at fails, not the later ones */

static int injected_failure(void)
{
	attempted++;
	return fail_at != 0 && (fail_once ? attempted == fail_at : attempted >= fail_at);
}

void *ml_malloc(size_t n)
{
	if (injected_failure())
		return NULL;
	return malloc(n ? n : 1);
}

void *ml_calloc(size_t count, size_t size)
{
	if (injected_failure())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *ml_realloc(void *p, size_t n)
{
	if (injected_failure())
		return NULL;
	return realloc(p, n ? n : 1);
}

void *ml_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap && v)
		return v;
	size_t n = *cap ? *cap : (first ? first : 1);
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return NULL;
	void *p = ml_realloc(v, n * elem);
	if (p)
		*cap = n;
	return p;
}

void ml_free(void *p)
{
	free(p);
}

char *ml_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ml_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void ml_alloc_fail_at(unsigned long n)
{
	fail_at = n;
	fail_once = 0;
	attempted = 0;
}

void ml_alloc_fail_only(unsigned long n)
{
	fail_at = n;
	fail_once = 1;
	attempted = 0;
}

unsigned long ml_alloc_count(void)
{
	return attempted;
}
