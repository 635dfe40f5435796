/*
 * fuzz_op_decode.c - libFuzzer target for the op decoder.
 *
 * Feeds arbitrary bytes to ml_op_decode and, when they are accepted, checks
 * the decoder's promises: the op re-encodes to exactly the input, its id is
 * the hash of the input, and its body renders as diagnostic notation.  A
 * broken promise aborts, which is how a fuzzer reports it.
 *
 * Built with -fsanitize=fuzzer when meson's `fuzz` option is on; otherwise
 * linked with replay.c, and `meson test` replays the committed corpus.
 */
#include "crdt/diag.h"
#include "crdt/err.h"
#include "crdt/feed.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (ml_crypto_init() < 0)
			abort();
		ready = true;
	}
	struct ml_op op;
	struct ml_buf err = ML_BUF_INIT;
	/* The network of tests/vectors/ops.json, so signed seeds reach the signature check. */
	static const struct ml_hash net = {{0x97, 0x7e, 0xdf, 0x7d, 0x52, 0xb5, 0x77, 0x81,
	                                    0xdc, 0x63, 0xfb, 0x77, 0xf9, 0x26, 0x91, 0xc2,
	                                    0xe2, 0xb7, 0x1c, 0x16, 0xa9, 0xcb, 0x63, 0x25,
	                                    0x38, 0x7f, 0xf4, 0xd8, 0x29, 0xef, 0xc8, 0x7e}};
	int rc = ml_op_decode(data, size, &net, &op, &err);
	if (rc > 0 || (rc < 0 && err.len == 0))
		abort(); /* every rejection carries a message */
	if (rc == ML_OK || rc == ML_EBADSIG || rc == ML_EWRONGNET) {
		/* parsed: the canonical promise must hold */
		struct ml_op parsed;
		if (ml_op_parse(data, size, &parsed, NULL) != ML_OK)
			abort();
		struct ml_buf again = ML_BUF_INIT;
		if (ml_op_encode(&parsed, &again, NULL) != ML_OK || again.len != size ||
		    memcmp(again.data, data, size) != 0)
			abort();
		struct ml_hash id = ml_hash_of(data, size);
		if (!ml_hash_eq(&id, &parsed.id))
			abort();
		struct ml_buf d = ML_BUF_INIT;
		if (ml_diag(parsed.body, parsed.body_len, &d) != ML_OK)
			abort();
		size_t ok;
		(void)ml_feed_verify_run(NULL, &parsed, 1, &ok, NULL);
		ml_buf_release(&d);
		ml_buf_release(&again);
	}
	ml_buf_release(&err);
	return 0;
}
