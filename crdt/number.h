/*
 * number.h - national member numbers (mã số đoàn viên) and their ranges.
 *
 * A member number is 12 decimal digits: an 11-digit serial and a check digit
 * computed over it with the Damm algorithm, which detects every single-digit
 * error and every swap of two adjacent digits.  Numbers are never typed by
 * units: an approval assigns one from a range its unit was delegated, and
 * ranges are disjoint by construction, so numbers are unique without any
 * coordination.  The national unit holds the whole serial space.
 */
#ifndef ML_NUMBER_H
#define ML_NUMBER_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_SERIAL_LIMIT 100000000000ULL /* 10^11 serials: 00000000000 .. 99999999999 */

/* A half-open range of serials [start, start+count). */
struct ml_range {
	uint64_t start, count;
};

/* Returns the Damm check digit (0-9) of the decimal digits s[0..n). */
int ml_number_check_digit(const char *s, size_t n);

/* Writes the 12-digit number of serial (< ML_SERIAL_LIMIT) and a NUL into out. */
void ml_number_format(uint64_t serial, char out[static 13]);

/*
 * Parses a 12-digit member number into its serial.  Returns ML_OK, or
 * ML_EFIELD when it is not 12 digits or its check digit is wrong (a mistyped
 * number), with a message.
 */
int ml_number_parse(const char *s, size_t n, uint64_t *serial, struct ml_buf *err);

/* Range predicates; a range with count 0 is empty. */
bool ml_range_valid(struct ml_range r); /* count >= 1 and within the serial space */
bool ml_range_contains(struct ml_range outer, struct ml_range inner);
bool ml_range_has(struct ml_range r, uint64_t serial);
bool ml_range_overlap(struct ml_range a, struct ml_range b);

#endif
