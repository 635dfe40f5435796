/*
 * fuzz_recon.c - libFuzzer target for reconciliation messages (net/recon.h).
 *
 * Two fixed sets (200 feeds, and the same with 12 differences) start an
 * honest exchange.  The input's first byte picks which of its messages the
 * rest of the input replaces (bits 0-2), and which side initiates (bit 3);
 * the exchange then goes on honestly for up to 64 messages, so the input
 * meets a state with real open queries and backlog.  Checked promises, any
 * broken one aborts (how a fuzzer reports it):
 *   - every step returns ML_OK or ML_EMALFORMED, a rejection with a message
 *     and nothing appended;
 *   - no reply exceeds ML_RECON_MSG_MAX, and an empty one leaves its side done;
 *   - no side reports a key twice, nor a "difference" with equal seqs;
 *   - when the input is the honest message itself, both sides end done with
 *     the 12 differences.
 *
 * The sets come from tests/common/recon_sets.c, which
 * tests/unit/test_net_recon.c also uses to write the seed corpus
 * (ML_RECON_CORPUS=dir).  Built with
 * -fsanitize=fuzzer when meson's `fuzz` option is on; otherwise linked with
 * replay.c, and `meson test` replays the committed corpus.
 */
#include "crdt/err.h"
#include "net/recon.h"
#include "tests/common/recon_sets.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

/* The keys one side reported. */
struct seen {
	uint8_t (*k)[32];
	size_t n, cap;
};

static void on_diff(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	struct seen *s = ctx;
	if (mine == theirs)
		abort();
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->k = realloc(s->k, s->cap * sizeof *s->k);
		if (!s->k)
			abort();
	}
	memcpy(s->k[s->n++], key, 32);
}

/* Aborts if s holds a key twice. */
static void check_once(struct seen *s)
{
	if (s->n > 1)
		qsort(s->k, s->n, sizeof *s->k, key_cmp);
	for (size_t i = 1; i < s->n; i++) {
		if (memcmp(s->k[i - 1], s->k[i], 32) == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ml_recon_item a[RECON_SETS_A], b[RECON_SETS_B_MAX];
	static size_t nb;
	static bool ready;
	if (!ready) {
		recon_sets(a, b, &nb);
		ready = true;
	}
	if (size == 0)
		return 0;
	unsigned at = data[0] & 7;
	bool b_first = data[0] & 8;
	const uint8_t *fm = data + 1;
	size_t flen = size - 1;

	struct ml_recon *ra, *rb;
	if (ml_recon_new(a, 200, &ra) != ML_OK || ml_recon_new(b, nb, &rb) != ML_OK)
		abort();
	struct ml_recon *side[2] = {b_first ? rb : ra, b_first ? ra : rb};
	struct seen seen[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	struct ml_buf msg = ML_BUF_INIT, reply = ML_BUF_INIT, err = ML_BUF_INIT;
	if (ml_recon_initiate(side[0], &msg) != ML_OK)
		abort();
	bool honest = true, over = false;
	int to = 1;
	for (unsigned k = 0; k < 64 && !over; k++) {
		const uint8_t *m = msg.data;
		size_t len = msg.len;
		if (k == at) {
			honest = len == flen && (len == 0 || memcmp(m, fm, len) == 0);
			m = fm;
			len = flen;
		}
		ml_buf_reset(&reply);
		ml_buf_reset(&err);
		int rc = ml_recon_step(side[to], m, len, &reply, on_diff, &seen[to], &err);
		if (rc == ML_EMALFORMED) {
			if (err.len == 0 || reply.len != 0)
				abort();
			break;
		}
		if (rc != ML_OK || reply.len > ML_RECON_MSG_MAX)
			abort();
		if (reply.len == 0 && !ml_recon_done(side[to]))
			abort();
		/* Past the replaced message, an empty reply ends the exchange. */
		over = reply.len == 0 && k >= at;
		struct ml_buf t = msg;
		msg = reply;
		reply = t;
		to = !to;
	}
	check_once(&seen[0]);
	check_once(&seen[1]);
	if (honest && (!over || seen[0].n != 12 || seen[1].n != 12))
		abort();
	free(seen[0].k);
	free(seen[1].k);
	ml_buf_release(&msg);
	ml_buf_release(&reply);
	ml_buf_release(&err);
	ml_recon_free(ra);
	ml_recon_free(rb);
	return 0;
}
