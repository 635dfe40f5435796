/*
 * fields.c - validation of register fields and Vietnamese search folding.
 */
#include "fields.h"

#include "alloc.h"
#include "codec.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

const char *const ml_genders[] = {"male", "female", NULL};
const char *const ml_positions[] = {"chair",
                                    "vice_chair",
                                    "exec_committee_member",
                                    "group_leader",
                                    "group_deputy",
                                    "member_base_union_officer",
                                    "inspection_committee_member",
                                    NULL};
const char *const ml_levels[] = {"national",
                                 "province",
                                 "district",
                                 "affiliated_union",
                                 "delegated_upper_base",
                                 "base_union",
                                 "occupational_union",
                                 "member_base_union",
                                 "union_group",
                                 "youth_base_union",
                                 "base_branch",
                                 "branch",
                                 "unit_group",
                                 NULL};
const char *const ml_sectors[] = {
    "urban",   "rural",          "agencies_enterprises", "state_enterprises",
    "schools", "civil_servants", "armed_forces",         NULL};
const char *const ml_roles[] = {"admin", "officer", "approver", "auditor", NULL};
const char *const ml_reduce_reasons[] = {"left_job", "quit",       "age_out", "death",
                                         "expelled", "moved_away", "other",   NULL};
const char *const ml_card_types[] = {"ordinary", "linked", NULL};
const char *const ml_party_stages[] = {"referred", "trained", "admitted", NULL};
const char *const ml_orgs[] = {"trade_union", "youth_union", NULL};

int ml_enum_index(const char *const *values, const char *s, size_t n)
{
	for (int i = 0; values[i]; i++) {
		if (strlen(values[i]) == n && memcmp(values[i], s, n) == 0)
			return i;
	}
	return -1;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

int ml_field_date(const char *s, size_t n, struct ml_date *out, struct ml_buf *err)
{
	if (n != 10 || s[2] != '/' || s[5] != '/' || !is_digits(s, 2) || !is_digits(s + 3, 2) ||
	    !is_digits(s + 6, 4))
		return ml_errf(err, ML_EFIELD,
		               "'%.*s' is not a date written dd/MM/yyyy, like 22/10/1990",
		               (int)(n > 40 ? 40 : n), s);
	struct ml_date d = {two(s + 6) * 100 + two(s + 8), two(s + 3), two(s)};
	if (d.year < 1900 || d.year > 2100 || d.month < 1 || d.month > 12 || d.day < 1 ||
	    d.day > days_in_month(d.year, d.month))
		return ml_errf(err, ML_EFIELD, "'%.*s' is not a real date between 1900 and 2100",
		               (int)n, s);
	if (out)
		*out = d;
	return ML_OK;
}

long ml_date_days(const struct ml_date *d)
{
	long days = 0;
	for (int y = 1900; y < d->year; y++)
		days += leap(y) ? 366 : 365;
	for (int m = 1; m < d->month; m++)
		days += days_in_month(d->year, m);
	return days + d->day - 1;
}

int ml_field_id_number(const char *s, size_t n, struct ml_buf *err)
{
	if ((n != 9 && n != 12) || !is_digits(s, n))
		return ml_errf(
		    err, ML_EFIELD,
		    "'%.*s' is not an ID card number: it must be 9 digits (CMND) or 12 digits "
		    "(CCCD)",
		    (int)(n > 40 ? 40 : n), s);
	return ML_OK;
}

int ml_field_phone(const char *s, size_t n, struct ml_buf *err)
{
	bool ok = false;
	if (n >= 3 && memcmp(s, "+84", 3) == 0)
		ok = (n == 12 || n == 13) && is_digits(s + 3, n - 3) && s[3] != '0';
	else
		ok = (n == 10 || n == 11) && s[0] == '0' && is_digits(s, n);
	if (!ok)
		return ml_errf(
		    err, ML_EFIELD,
		    "'%.*s' is not a phone number: 10 or 11 digits starting with 0, or +84 "
		    "and the number without its 0",
		    (int)(n > 40 ? 40 : n), s);
	return ML_OK;
}

/* Sets *same when s[0..n) is in NFC.  As utf8proc_map, but the buffer comes from ml_malloc, so
 * that tests can make it fail: running out of memory is ML_ENOMEM, never a verdict on the text
 * (another node would find the same text valid). */
static int is_nfc(const char *s, size_t n, bool *same)
{
	const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
	const utf8proc_uint8_t *in = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t m = utf8proc_decompose(in, (utf8proc_ssize_t)n, NULL, 0, opt);
	utf8proc_int32_t *buf = m >= 0 ? ml_malloc(((size_t)m + 1) * sizeof *buf) : NULL;
	if (m >= 0 && !buf)
		return ML_ENOMEM;
	if (m >= 0)
		m = utf8proc_decompose(in, (utf8proc_ssize_t)n, buf, m, opt);
	if (m >= 0)
		m = utf8proc_reencode(buf, m, opt); /* composes, then UTF-8 in place */
	*same = m >= 0 && (size_t)m == n && memcmp(buf, s, n) == 0;
	ml_free(buf);
	return ML_OK;
}

/* Checks UTF-8, NFC and control characters; counts code points into *cps. */
static int check_text(const char *s, size_t n, size_t *cps, struct ml_buf *err)
{
	if (!ml_utf8_valid((const uint8_t *)s, n))
		return ml_errf(err, ML_EFIELD, "text is not valid UTF-8");
	size_t count = 0;
	bool ascii = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return ml_errf(err, ML_EFIELD, "text holds a control character");
		if ((c & 0xc0) != 0x80)
			count++;
		if (c >= 0x80)
			ascii = false;
	}
	if (!ascii) {
		/* Text is stored in NFC so that equal names have equal bytes. */
		bool same;
		int rc = is_nfc(s, n, &same);
		if (rc < 0)
			return rc;
		if (!same)
			return ml_errf(
			    err, ML_EFIELD,
			    "text is not in Unicode NFC (composed) form; re-enter it, or "
			    "let memberlog normalise it");
	}
	*cps = count;
	return ML_OK;
}

int ml_field_name(const char *s, size_t n, size_t max, struct ml_buf *err)
{
	size_t cps;
	int rc = check_text(s, n, &cps, err);
	if (rc < 0)
		return rc;
	if (cps == 0)
		return ml_errf(err, ML_EFIELD, "must not be empty");
	if (cps > max)
		return ml_errf(err, ML_EFIELD, "is %zu characters long, at most %zu", cps, max);
	if (s[0] == ' ' || s[n - 1] == ' ' || memmem(s, n, "  ", 2))
		return ml_errf(err, ML_EFIELD, "has leading, trailing or doubled spaces");
	return ML_OK;
}

int ml_field_text(const char *s, size_t n, size_t max, struct ml_buf *err)
{
	size_t cps;
	int rc = check_text(s, n, &cps, err);
	if (rc < 0)
		return rc;
	if (cps > max)
		return ml_errf(err, ML_EFIELD, "is %zu characters long, at most %zu", cps, max);
	return ML_OK;
}

static utf8proc_int32_t map_d(utf8proc_int32_t c, void *data)
{
	(void)data;
	return c == 0x0110 || c == 0x0111 ? 'd' : c;
}

int ml_fold(const char *s, size_t n, struct ml_buf *out)
{
	utf8proc_uint8_t *f = NULL;
	utf8proc_ssize_t m = utf8proc_map_custom(
	    (const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &f,
	    UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD, map_d,
	    NULL);
	if (m < 0)
		return m == UTF8PROC_ERROR_NOMEM ? ML_ENOMEM : ML_EFIELD;
	int rc = ML_OK;
	size_t start = out->len;
	bool space = true; /* drops leading spaces and collapses runs */
	for (utf8proc_ssize_t i = 0; i < m && rc == ML_OK; i++) {
		bool ws = f[i] == ' ' || f[i] == '\t' || f[i] == '\n' || f[i] == '\r';
		if (ws && space)
			continue;
		space = ws;
		rc = ml_buf_add(out, ws ? (const uint8_t *)" " : &f[i], 1);
	}
	if (rc == ML_OK && out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = 0;
	free(f);
	return rc;
}
