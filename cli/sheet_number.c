/*
 * sheet_number.c - how XLSX cells written as numbers read as text: Excel's
 * number notation rendered as its General format shows it, date serials as
 * dd/MM/yyyy, and which number format codes show dates.
 *
 * All of it is exact decimal work on the digits of the file's text, never
 * floating point: "1.09814122E8" gives "109814122" with no rounding detour,
 * and the locale (a vi-VN decimal comma) cannot change a result.
 */
#include "cli/sheet_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_DATE_DAYS 2958465 /* serial of 31/12/9999, the last date Excel has */

/* The contracts of the sheet__ functions here are in sheet_int.h. */

bool sheet__parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
			return false;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool sheet__format_is_date(const char *code)
{
	for (const char *p = code; *p; p++) {
		if (*p == '"') {
			while (p[1] && p[1] != '"')
				p++;
			if (!p[1])
				return false;
			p++;
		} else if (*p == '[') {
			while (*p && *p != ']')
				p++;
			if (!*p)
				return false;
		} else if (*p == '\\' || *p == '_' || *p == '*') {
			if (!p[1])
				return false;
			p++;
		} else if (strchr("dDyY", *p)) {
			return true;
		}
	}
	return false;
}

bool sheet__number_text(const char *s, size_t n, char out[static 64])
{
	if (n == 0 || n > 64)
		return false;
	char dig[64];
	int nd = 0, point = 0; /* value = 0.dig * 10^point */
	size_t i = 0;
	bool neg = false, seen_point = false, any = false;
	if (s[i] == '-' || s[i] == '+')
		neg = s[i++] == '-';
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			any = true;
			if (nd == 0 && s[i] == '0') {
				if (seen_point)
					point--;
				continue;
			}
			dig[nd++] = s[i];
			if (!seen_point)
				point++;
		} else if (s[i] == '.' && !seen_point) {
			seen_point = true;
		} else {
			break;
		}
	}
	if (!any)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		bool eneg = i < n && s[i] == '-';
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		uint64_t e;
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (!sheet__parse_uint(s + start, i - start, 9999, &e))
			return false;
		point += eneg ? -(int)e : (int)e;
	}
	if (i != n)
		return false;
	while (nd > 0 && dig[nd - 1] == '0')
		nd--;
	if (nd == 0) {
		strcpy(out, "0");
		return true;
	}
	if (nd > 15) {
		bool up = dig[15] >= '5';
		nd = 15;
		int k = 14;
		while (up && k >= 0 && dig[k] == '9')
			dig[k--] = '0';
		if (up && k < 0) {
			dig[0] = '1';
			nd = 1;
			point++;
		} else if (up) {
			dig[k]++;
		}
		while (nd > 0 && dig[nd - 1] == '0')
			nd--;
	}
	if (point > 30 || point < -20)
		return false;
	char *o = out;
	if (neg)
		*o++ = '-';
	if (point >= nd) {
		memcpy(o, dig, (size_t)nd);
		o += nd;
		for (int z = nd; z < point; z++)
			*o++ = '0';
	} else if (point > 0) {
		memcpy(o, dig, (size_t)point);
		o += point;
		*o++ = '.';
		memcpy(o, dig + point, (size_t)(nd - point));
		o += nd - point;
	} else {
		*o++ = '0';
		*o++ = '.';
		for (int z = point; z < 0; z++)
			*o++ = '0';
		memcpy(o, dig, (size_t)nd);
		o += nd;
	}
	*o = 0;
	return true;
}

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Writes dd/MM/yyyy for `days` days after 01/01/1900. */
static void days_to_dmy(long days, char out[static 11])
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	long y = 1900 + 400 * (days / 146097); /* the calendar repeats every 400 years */
	days %= 146097;
	while (days >= (leap(y) ? 366 : 365))
		days -= leap(y++) ? 366 : 365;
	int m = 0;
	for (;;) {
		int len = mdays[m] + (m == 1 && leap(y));
		if (days < len)
			break;
		days -= len;
		m++;
	}
	int d = (int)days + 1, mo = m + 1, yy = (int)y; /* yy <= 9999 by MAX_DATE_DAYS */
	char s[11] = {(char)('0' + d / 10),
	              (char)('0' + d % 10),
	              '/',
	              (char)('0' + mo / 10),
	              (char)('0' + mo % 10),
	              '/',
	              (char)('0' + yy / 1000 % 10),
	              (char)('0' + yy / 100 % 10),
	              (char)('0' + yy / 10 % 10),
	              (char)('0' + yy % 10),
	              0};
	memcpy(out, s, sizeof s);
}

bool sheet__serial_to_dmy(const char *number, bool date1904, char out[static 11])
{
	if (number[0] == '-')
		return false;
	size_t int_len = strcspn(number, ".");
	uint64_t serial;
	if (!sheet__parse_uint(number, int_len, MAX_DATE_DAYS, &serial))
		return false;
	if (date1904) {
		if (serial + 1462 > MAX_DATE_DAYS)
			return false;
		days_to_dmy((long)serial + 1460, out);
	} else if (serial == 0) {
		return false;
	} else if (serial == 60) {
		strcpy(out, "29/02/1900");
	} else {
		days_to_dmy((long)serial - (serial < 60 ? 1 : 2), out);
	}
	return true;
}

bool sheet__iso_to_dmy(const char *s, size_t n, char out[static 11])
{
	if (n < 10 || s[4] != '-' || s[7] != '-' || (n > 10 && s[10] != 'T'))
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	snprintf(out, 11, "%.2s/%.2s/%.4s", s + 8, s + 5, s);
	return true;
}
