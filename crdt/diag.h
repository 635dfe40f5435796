/*
 * diag.h - CBOR diagnostic notation (RFC 8949 §8) of the deterministic subset.
 *
 * For people: the CLI prints op bodies with it, and the test vectors carry
 * it beside the hex.  {"name": "Lê Văn Lương", "n": 3, "key": h'00ff', "ok": true}
 */
#ifndef ML_DIAG_H
#define ML_DIAG_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Appends the diagnostic notation of the one CBOR value in p[0..len) to out.
 * Text is printed as UTF-8 with JSON escapes for '"', '\\' and control bytes.
 * Returns ML_OK, ML_ENOMEM, or the reader's error if p is not one valid value
 * of the subset (out may then hold a partial rendering).
 */
int ml_diag(const uint8_t *p, size_t len, struct ml_buf *out);

#endif
