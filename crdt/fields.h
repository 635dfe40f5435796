/*
 * fields.h - the register's field rules (docs/REGISTER.md §fields), from the
 * requirements: dd/MM/yyyy dates, 9- or 12-digit ID numbers, the fixed
 * vocabularies (genders, union positions, levels, sectors, roles, ...), and
 * diacritic-insensitive folding of Vietnamese text for search.
 *
 * Validators return ML_OK or ML_EFIELD with a sentence in err saying what the
 * value must look like; the caller prefixes the field's name.
 */
#ifndef ML_FIELDS_H
#define ML_FIELDS_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

struct ml_date {
	int year, month, day;
};

/* "dd/MM/yyyy" exactly (22/10/1990), a real calendar date, years 1900-2100. */
int ml_field_date(const char *s, size_t n, struct ml_date *out, struct ml_buf *err);

/* Days since 01/01/1900 of a valid date: for ordering and ranges. */
long ml_date_days(const struct ml_date *d);

/* CMND/CCCD number: digits only, exactly 9 or 12 (kept as text: leading zeros matter). */
int ml_field_id_number(const char *s, size_t n, struct ml_buf *err);

/* Phone: 10 or 11 digits starting with 0, or +84 and 9 or 10 digits. */
int ml_field_phone(const char *s, size_t n, struct ml_buf *err);

/* A person's or unit's name: 1..max code points, Unicode NFC, no control characters,
 * no leading, trailing or doubled spaces. */
int ml_field_name(const char *s, size_t n, size_t max, struct ml_buf *err);

/* Free text: 0..max bytes, NFC, no control characters except none at all. */
int ml_field_text(const char *s, size_t n, size_t max, struct ml_buf *err);

/* Returns the index of s[0..n) in the NULL-terminated list, or -1. */
int ml_enum_index(const char *const *values, const char *s, size_t n);

/* Vocabularies, NULL-terminated; identifiers follow the requirements' glossary. */
extern const char *const ml_genders[];
extern const char *const ml_positions[];
extern const char *const ml_levels[];
extern const char *const ml_sectors[];
extern const char *const ml_roles[];
extern const char *const ml_reduce_reasons[];
extern const char *const ml_card_types[];
extern const char *const ml_party_stages[];
extern const char *const ml_orgs[];

/*
 * Appends the search form of UTF-8 text s[0..n) to out: decomposed, marks
 * stripped, case-folded, đ/Đ mapped to d (they do not decompose), runs of
 * whitespace made one space.  "Nguyễn Thị Đào" and its NFD form both give
 * "nguyen thi dao".  Returns ML_OK, ML_ENOMEM, or ML_EFIELD for invalid UTF-8.
 */
int ml_fold(const char *s, size_t n, struct ml_buf *out);

#endif
