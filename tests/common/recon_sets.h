/*
 * recon_sets.h - the two fixed sets of feed heads the reconciliation fuzz
 * target starts from (tests/fuzz/fuzz_recon.c) and whose exchange the unit
 * test replays and writes as its seed corpus (tests/unit/test_net_recon.c):
 * one definition, so the corpus always matches the target.
 */
#ifndef ML_TEST_RECON_SETS_H
#define ML_TEST_RECON_SETS_H

#include "net/recon.h"

#include <stddef.h>

#define RECON_SETS_A     200
#define RECON_SETS_B_MAX 204

/*
 * Fills a with 200 feeds sorted by key, and b with a without 4 of them, 4
 * heads further on and 4 feeds a lacks (*nb of them, sorted): 12 differences.
 */
void recon_sets(struct ml_recon_item a[RECON_SETS_A], struct ml_recon_item b[RECON_SETS_B_MAX],
                size_t *nb);

#endif
