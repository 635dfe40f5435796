/*
 * alloc.h - the allocator every memberlog module uses.
 *
 * Allocation failure is an error code (ML_ENOMEM), never an abort, so that
 * fault injection can prove it: a test arms ml_alloc_fail_at(N) and the
 * N-th allocation from then on fails (SQLite's alterfault.test idea).
 */
#ifndef ML_ALLOC_H
#define ML_ALLOC_H

#include <stddef.h>

/* Returns n bytes or NULL on failure (or injected failure); caller frees with ml_free. */
void *ml_malloc(size_t n);

/* Returns n zeroed bytes of count*size, NULL on overflow or failure; caller frees with ml_free. */
void *ml_calloc(size_t count, size_t size);

/* Resizes p to n bytes; on failure returns NULL and p stays valid and owned by the caller. */
void *ml_realloc(void *p, size_t n);

/*
 * Returns the array v (*cap elements of elem bytes) grown to hold at least
 * need >= 1 elements, doubling from `first`; updates *cap.  On failure returns
 * NULL and v stays valid and owned by the caller.
 */
void *ml_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first);

/* Frees p; accepts NULL. */
void ml_free(void *p);

/* Returns a copy of the NUL-terminated s, or NULL; caller frees with ml_free. */
char *ml_strdup(const char *s);

/*
 * Test hook: the n-th allocation from now (1-based) and every later one
 * fail until ml_alloc_fail_at(0) disarms it.  Not thread-safe; tests only.
 */
void ml_alloc_fail_at(unsigned long n);

/* Test hook: only the n-th allocation from now (1-based) fails, as a brief shortage would; 0
 * disarms.  Not thread-safe; tests only. */
void ml_alloc_fail_only(unsigned long n);

/* Returns how many allocations were attempted since the last ml_alloc_fail_at call. */
unsigned long ml_alloc_count(void);

#endif
