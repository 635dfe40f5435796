/*
 * number.c - Damm check digits and serial ranges.
 *
 * The Damm table is the totally anti-symmetric quasigroup of order 10 from
 * H. M. Damm's thesis (2004): interim = table[interim][digit] over the
 * digits; the check digit is the final interim, and a number with its check
 * digit appended folds to 0.
 */
#include "number.h"

#include "err.h"

#include <stdio.h>

static const uint8_t damm[10][10] = {
    {0, 3, 1, 7, 5, 9, 8, 6, 4, 2}, {7, 0, 9, 2, 1, 5, 4, 8, 6, 3}, {4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
    {1, 7, 5, 0, 9, 8, 3, 4, 2, 6}, {6, 1, 2, 3, 0, 4, 5, 9, 7, 8}, {3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
    {5, 8, 6, 9, 7, 2, 0, 1, 3, 4}, {8, 9, 4, 5, 3, 6, 2, 0, 1, 7}, {9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
    {2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
};

int ml_number_check_digit(const char *s, size_t n)
{
	int interim = 0;
	for (size_t i = 0; i < n; i++)
		interim = damm[interim][s[i] - '0'];
	return interim;
}

void ml_number_format(uint64_t serial, char out[static 13])
{
	snprintf(out, 13, "%011llu", (unsigned long long)(serial % ML_SERIAL_LIMIT));
	out[11] = (char)('0' + ml_number_check_digit(out, 11));
	out[12] = 0;
}

int ml_number_parse(const char *s, size_t n, uint64_t *serial, struct ml_buf *err)
{
	if (n != 12)
		return ml_errf(err, ML_EFIELD, "a member number has 12 digits, not %zu", n);
	uint64_t v = 0;
	for (size_t i = 0; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ml_errf(err, ML_EFIELD, "a member number has only digits");
		if (i < 11)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (ml_number_check_digit(s, 12) != 0)
		return ml_errf(err, ML_EFIELD,
		               "member number %.12s fails its check digit: is a digit mistyped?",
		               s);
	*serial = v;
	return ML_OK;
}

bool ml_range_valid(struct ml_range r)
{
	return r.count >= 1 && r.start < ML_SERIAL_LIMIT && r.count <= ML_SERIAL_LIMIT - r.start;
}

bool ml_range_contains(struct ml_range outer, struct ml_range inner)
{
	return inner.start >= outer.start && inner.count <= outer.count &&
	       inner.start - outer.start <= outer.count - inner.count;
}

bool ml_range_has(struct ml_range r, uint64_t serial)
{
	return serial >= r.start && serial - r.start < r.count;
}

bool ml_range_overlap(struct ml_range a, struct ml_range b)
{
	return a.count && b.count && a.start < b.start + b.count && b.start < a.start + a.count;
}
