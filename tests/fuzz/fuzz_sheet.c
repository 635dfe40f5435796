/*
 * fuzz_sheet.c - libFuzzer target for the spreadsheet reader (cli/sheet.h).
 *
 * Feeds arbitrary bytes to sheet_parse: bytes starting with the ZIP
 * signature take the XLSX path, anything else the CSV path.  Checks the
 * reader's promises: every rejection carries a message, and every accepted
 * sheet holds sorted, non-empty, valid UTF-8 cells inside its bounds.  A
 * broken promise aborts, which is how a fuzzer reports it.
 *
 * Built with -fsanitize=fuzzer when meson's `fuzz` option is on; otherwise
 * linked with replay.c, and `meson test` replays the committed corpus.
 */
#include "cli/sheet.h"
#include "crdt/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	int rc = sheet_parse("fuzz.csv", data, size, NULL, &sh, &err);
	if (rc > 0 || (rc < 0 && (err.len == 0 || sh.n != 0)))
		abort();
	for (size_t i = 0; rc == 0 && i < sh.n; i++) {
		const struct sheet_cell *c = &sh.cells[i];
		if (c->len == 0 || c->len != strlen(c->text) ||
		    !ml_utf8_valid((const uint8_t *)c->text, c->len) || c->row < 1 ||
		    c->row > sh.max_row || c->col < 1 || c->col > sh.max_col)
			abort();
		if (i > 0 && !(sh.cells[i - 1].row < c->row ||
		               (sh.cells[i - 1].row == c->row && sh.cells[i - 1].col < c->col)))
			abort();
		if (sheet_get(&sh, c->row, c->col) != c)
			abort();
	}
	sheet_release(&sh);
	ml_buf_release(&err);
	return 0;
}
