/*
 * sheet_xlsx.c - the first worksheet of an XLSX workbook, read with libzip
 * and expat into the cells of a struct sheet (see sheet.h for what a cell
 * holds).
 *
 * An XLSX file is a ZIP archive of XML parts tied together by relationship
 * parts (ECMA-376 part 2, Open Packaging Conventions).  We read, in order:
 *
 *   _rels/.rels               the officeDocument relationship names the
 *                             workbook (xl/workbook.xml when absent)
 *   <workbook>                the first <sheet>'s r:id, and
 *                             <workbookPr date1904> (the date system)
 *   <dir>/_rels/<wb>.rels     r:id -> the worksheet part; the sharedStrings
 *                             and styles parts by relationship type
 *   styles (optional)         <cellXfs><xf numFmtId> per style index, and
 *                             the custom <numFmts>: which styles show dates
 *   sharedStrings (optional)  <si> = <t> or rich runs <r><t>...; <rPh>
 *                             (phonetic hints) is not part of the text
 *   the worksheet             <row r="7"><c r="C7" t=".." s=".."><v>..</v>
 *                             or <is><t>..</t></is></c>
 *
 * Untrusted input rules: element names are matched by their local name
 * (prefixes and the strict-OOXML namespaces both work); a DOCTYPE stops the
 * parse (OOXML never has one, and without it no entity can expand); every
 * part is streamed in 32 KiB pieces and refused past lim.part_bytes of
 * decompressed XML, whatever sizes the ZIP directory claims; text collected
 * for one cell or shared string stops at lim.cell_bytes; shared strings are
 * counted against lim.cells and lim.text_bytes.  How a number cell reads
 * as text (plain digits, or a date when its style shows one) is
 * sheet_number.c's work.
 */
#include "cli/sheet_int.h"

#include "cli/i18n.h"
#include "crdt/alloc.h"
#include "crdt/err.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define XML_CHUNK     32768
#define PART_NAME_MAX 1024
#define MAX_STYLES    65536 /* cellXfs entries we keep; later ones show no date */
#define MAX_NUMFMT_ID 65536 /* custom number formats with larger ids are ignored */

enum cell_type { T_NUMBER, T_SHARED, T_INLINE, T_BOOL, T_ISODATE, T_TEXT };

struct xlsx {
	struct sheet_rd *rd;
	zip_t *zip;
	XML_Parser parser;  /* of the part being read */
	const char *part;   /* its name */
	int rc;             /* first failure inside a handler */
	struct ml_buf text; /* character data being collected */
	bool collect;       /* character data goes into text */
	int skip;           /* depth inside <rPh>, whose text is not collected */

	/* relationships */
	const char *want_id;   /* the Id looked for in a .rels part */
	const char *rels_from; /* the part the .rels part describes */
	char *office_doc, *sheet_part, *sst_part, *styles_part;
	char *sheet_rid;
	bool date1904, in_sheets;

	/* styles */
	bool in_numfmts, in_xfs;
	uint8_t custom_date[MAX_NUMFMT_ID / 8];
	uint8_t *xf_date;
	size_t n_xf, cap_xf;

	/* shared strings */
	bool in_si;
	struct sst_entry {
		char *s;
		size_t len;
	} * sst;
	size_t n_sst, cap_sst, sst_bytes;

	/* the worksheet */
	uint32_t row, col; /* current row, last column seen in it */
	bool in_c, in_is;
	uint32_t c_row, c_col, c_style;
	bool c_styled;
	enum cell_type c_type;
};

static const char *local_name(const char *name)
{
	const char *bar = strrchr(name, '|');
	return bar ? bar + 1 : name;
}

static const char *attr(const char **atts, const char *want)
{
	for (; atts[0]; atts += 2)
		if (strcmp(local_name(atts[0]), want) == 0)
			return atts[1];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Records the first failure of a handler and stops the parser. */
static void stop(struct xlsx *x, int rc)
{
	if (x->rc == ML_OK)
		x->rc = rc;
	XML_StopParser(x->parser, XML_FALSE);
}

static void stop_unreadable(struct xlsx *x, const char *why)
{
	stop(x, sheet__unreadable(x->rd, ML_EMALFORMED, "%s", why));
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	struct xlsx *x = ud;
	struct ml_buf why = ML_BUF_INIT;
	ml_buf_addf(&why, _("part '%s' declares a DOCTYPE, which a workbook never does"), x->part);
	stop_unreadable(x, ml_buf_str(&why));
	ml_buf_release(&why);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xlsx *x = ud;
	if (!x->collect || x->skip || x->rc < 0 || len <= 0)
		return;
	if ((size_t)len > x->rd->lim->cell_bytes - x->text.len) {
		char size[32];
		sheet__size_text(x->rd->lim->cell_bytes, size);
		struct ml_buf what = ML_BUF_INIT;
		ml_buf_addf(&what, _("the cell holds more than %s, too long for a member list"),
		            size);
		if (x->in_c)
			stop(x, sheet__cell_fail(x->rd, ML_ETOOBIG, x->c_row, x->c_col,
			                         ml_buf_str(&what)));
		else
			stop(x, ml_errf(x->rd->err, ML_ETOOBIG,
			                _("'%s' holds a text longer than %s, too long for a member "
			                  "list"),
			                x->rd->name, size));
		ml_buf_release(&what);
		return;
	}
	if (ml_buf_add(&x->text, s, (size_t)len) < 0)
		stop(x,
		     ml_errf(x->rd->err, ML_ENOMEM, _("out of memory reading '%s'"), x->rd->name));
}

/* Streams the part `name` through expat with the given element handlers; a missing optional
 * part is ML_OK. */
static int parse_part(struct xlsx *x, const char *name, bool optional,
                      XML_StartElementHandler start, XML_EndElementHandler end)
{
	struct sheet_rd *rd = x->rd;
	zip_int64_t idx = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
	if (idx < 0)
		return optional ? ML_OK
		                : sheet__unreadable(rd, ML_EMALFORMED,
		                                    _("the workbook has no part '%s'"), name);
	char size[32];
	sheet__size_text(rd->lim->part_bytes, size);
	zip_stat_t st;
	zip_stat_init(&st);
	if (zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
	    st.size > rd->lim->part_bytes)
		return sheet__unreadable(rd, ML_ETOOBIG, _("part '%s' unpacks to more than %s"),
		                         name, size);
	zip_file_t *f = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!f)
		return sheet__unreadable(rd, ML_EMALFORMED, _("cannot unpack part '%s' (%s)"), name,
		                         zip_strerror(x->zip));
	XML_Parser p = XML_ParserCreateNS(NULL, '|');
	if (!p) {
		zip_fclose(f);
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	}
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, start, end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	x->parser = p;
	x->part = name;
	x->rc = ML_OK;
	x->collect = false;
	x->skip = 0;
	ml_buf_reset(&x->text);

	char *buf = ml_malloc(XML_CHUNK);
	int rc =
	    buf ? ML_OK : ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	size_t total = 0;
	while (rc == ML_OK) {
		zip_int64_t n = zip_fread(f, buf, XML_CHUNK);
		if (n < 0) {
			rc = sheet__unreadable(rd, ML_EMALFORMED, _("part '%s' is damaged (%s)"),
			                       name, zip_file_strerror(f));
			break;
		}
		total += (size_t)n;
		if (total > rd->lim->part_bytes) {
			rc = sheet__unreadable(rd, ML_ETOOBIG,
			                       _("part '%s' unpacks to more than %s"), name, size);
			break;
		}
		if (XML_Parse(p, buf, (int)n, n == 0) != XML_STATUS_OK || x->rc < 0) {
			rc = x->rc < 0
			         ? x->rc
			         : sheet__unreadable(rd, ML_EMALFORMED,
			                             _("part '%s' is not well-formed XML: %s at "
			                               "line %lu"),
			                             name, XML_ErrorString(XML_GetErrorCode(p)),
			                             (unsigned long)XML_GetCurrentLineNumber(p));
			break;
		}
		if (n == 0)
			break;
	}
	ml_free(buf);
	XML_ParserFree(p);
	x->parser = NULL;
	zip_fclose(f);
	return rc;
}

/*
 * Resolves a relationship target against the folder of part `from`
 * ("worksheets/sheet1.xml" from "xl/workbook.xml" is "xl/worksheets/sheet1.xml";
 * "/xl/x.xml" is absolute) into *out, a new string.  Returns ML_OK,
 * ML_EMALFORMED when the target climbs above the archive's root, is empty or
 * too long, or ML_ENOMEM.
 */
static int resolve(const char *from, const char *target, char **out_path)
{
	struct ml_buf path = ML_BUF_INIT;
	*out_path = NULL;
	size_t n = strlen(target);
	if (n == 0 || n > PART_NAME_MAX)
		return ML_EMALFORMED;
	const char *slash = target[0] == '/' ? NULL : strrchr(from, '/');
	if ((slash && ml_buf_add(&path, from, (size_t)(slash - from + 1)) < 0) ||
	    ml_buf_add(&path, target, n) < 0) {
		ml_buf_release(&path);
		return ML_ENOMEM;
	}
	/* Rewrite segment by segment in place: "." and "" vanish, ".." drops one. */
	char *s = (char *)path.data;
	size_t out = 0, i = 0;
	bool ok = true;
	while (i < path.len && ok) {
		size_t j = i;
		while (j < path.len && s[j] != '/')
			j++;
		size_t seg = j - i;
		if (seg == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (out == 0)
				ok = false;
			else {
				out--; /* the slash ending the previous segment */
				while (out > 0 && s[out - 1] != '/')
					out--;
			}
		} else if (seg > 0 && !(seg == 1 && s[i] == '.')) {
			memmove(s + out, s + i, seg);
			out += seg;
			if (j < path.len)
				s[out++] = '/';
		}
		i = j + 1;
	}
	int rc = ML_EMALFORMED;
	if (ok && out > 0) {
		s[out] = 0;
		*out_path = ml_strdup(s);
		rc = *out_path ? ML_OK : ML_ENOMEM;
	}
	ml_buf_release(&path);
	return rc;
}

/* The .rels part describing `part`: "xl/workbook.xml" -> "xl/_rels/workbook.xml.rels". */
static char *rels_of(const char *part)
{
	struct ml_buf b = ML_BUF_INIT;
	const char *slash = strrchr(part, '/');
	size_t dir = slash ? (size_t)(slash - part + 1) : 0;
	ml_buf_add(&b, part, dir);
	ml_buf_addf(&b, "_rels/%s.rels", part + dir);
	char *r = b.len ? ml_strdup(ml_buf_str(&b)) : NULL;
	ml_buf_release(&b);
	return r;
}

/* ---- relationships and the workbook */

static void set_target(struct xlsx *x, char **slot, const char *target)
{
	if (*slot)
		return; /* the first relationship of a kind wins */
	int rc = resolve(x->rels_from, target, slot);
	if (rc == ML_ENOMEM) {
		stop(x, ml_errf(x->rd->err, rc, _("out of memory reading '%s'"), x->rd->name));
	} else if (rc < 0) {
		struct ml_buf why = ML_BUF_INIT;
		ml_buf_addf(&why, _("part '%s' points outside the workbook"), x->part);
		stop_unreadable(x, ml_buf_str(&why));
		ml_buf_release(&why);
	}
}

static void XMLCALL rels_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct xlsx *x = ud;
	if (strcmp(local_name(el), "Relationship") != 0)
		return;
	const char *id = attr(atts, "Id"), *type = attr(atts, "Type");
	const char *target = attr(atts, "Target"), *mode = attr(atts, "TargetMode");
	if (!id || !type || !target || (mode && strcmp(mode, "External") == 0))
		return;
	if (!x->want_id) {
		if (ends_with(type, "/officeDocument"))
			set_target(x, &x->office_doc, target);
		return;
	}
	if (strcmp(id, x->want_id) == 0)
		set_target(x, &x->sheet_part, target);
	else if (ends_with(type, "/sharedStrings"))
		set_target(x, &x->sst_part, target);
	else if (ends_with(type, "/styles"))
		set_target(x, &x->styles_part, target);
}

static void XMLCALL no_end(void *ud, const XML_Char *el)
{
	(void)ud, (void)el;
}

static void XMLCALL wb_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (strcmp(name, "workbookPr") == 0) {
		const char *v = attr(atts, "date1904");
		x->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	} else if (strcmp(name, "sheets") == 0) {
		x->in_sheets = true;
	} else if (strcmp(name, "sheet") == 0 && x->in_sheets && !x->sheet_rid) {
		const char *id = attr(atts, "id"); /* r:id */
		if (id && !(x->sheet_rid = ml_strdup(id)))
			stop(x, ml_errf(x->rd->err, ML_ENOMEM, _("out of memory reading '%s'"),
			                x->rd->name));
	}
}

static void XMLCALL wb_end(void *ud, const XML_Char *el)
{
	struct xlsx *x = ud;
	if (strcmp(local_name(el), "sheets") == 0)
		x->in_sheets = false;
}

/* ---- styles */

static bool builtin_date(uint64_t id)
{
	return (id >= 14 && id <= 17) || id == 22;
}

static void XMLCALL st_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	uint64_t id;
	if (strcmp(name, "numFmts") == 0) {
		x->in_numfmts = true;
	} else if (strcmp(name, "cellXfs") == 0) {
		x->in_xfs = true;
	} else if (strcmp(name, "numFmt") == 0 && x->in_numfmts) {
		const char *v = attr(atts, "numFmtId"), *code = attr(atts, "formatCode");
		if (v && code && sheet__parse_uint(v, strlen(v), MAX_NUMFMT_ID - 1, &id) &&
		    sheet__format_is_date(code))
			x->custom_date[id / 8] |= (uint8_t)(1u << (id % 8));
	} else if (strcmp(name, "xf") == 0 && x->in_xfs && x->n_xf < MAX_STYLES) {
		const char *v = attr(atts, "numFmtId");
		bool date = false;
		if (v && sheet__parse_uint(v, strlen(v), UINT32_MAX, &id))
			date = builtin_date(id) ||
			       (id < MAX_NUMFMT_ID && (x->custom_date[id / 8] >> (id % 8) & 1));
		uint8_t *a = ml_grow(x->xf_date, &x->cap_xf, x->n_xf + 1, 1, 64);
		if (!a) {
			stop(x, ml_errf(x->rd->err, ML_ENOMEM, _("out of memory reading '%s'"),
			                x->rd->name));
			return;
		}
		x->xf_date = a;
		a[x->n_xf++] = date;
	}
}

static void XMLCALL st_end(void *ud, const XML_Char *el)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (strcmp(name, "numFmts") == 0)
		x->in_numfmts = false;
	else if (strcmp(name, "cellXfs") == 0)
		x->in_xfs = false;
}

/* ---- shared strings */

static void XMLCALL sst_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	(void)atts;
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (strcmp(name, "si") == 0) {
		x->in_si = true;
		ml_buf_reset(&x->text);
	} else if (strcmp(name, "rPh") == 0) {
		x->skip++;
	} else if (strcmp(name, "t") == 0 && x->in_si) {
		x->collect = true;
	}
}

static void XMLCALL sst_end(void *ud, const XML_Char *el)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (strcmp(name, "t") == 0) {
		x->collect = false;
	} else if (strcmp(name, "rPh") == 0) {
		if (x->skip > 0)
			x->skip--;
	} else if (strcmp(name, "si") == 0 && x->in_si) {
		x->in_si = false;
		const struct sheet_limits *lim = x->rd->lim;
		size_t bytes;
		if (x->n_sst >= lim->cells ||
		    __builtin_add_overflow(x->sst_bytes, x->text.len, &bytes) ||
		    bytes > lim->text_bytes) {
			stop(x, ml_errf(x->rd->err, ML_ETOOBIG,
			                _("'%s' holds too many texts (more than %zu, or more than "
			                  "%zu bytes); split it into smaller files"),
			                x->rd->name, lim->cells, lim->text_bytes));
			return;
		}
		struct sst_entry *a = ml_grow(x->sst, &x->cap_sst, x->n_sst + 1, sizeof *a, 64);
		if (a)
			x->sst = a;
		char *copy = a ? ml_malloc(x->text.len + 1) : NULL;
		if (!copy) {
			stop(x, ml_errf(x->rd->err, ML_ENOMEM, _("out of memory reading '%s'"),
			                x->rd->name));
			return;
		}
		if (x->text.len)
			memcpy(copy, x->text.data, x->text.len);
		copy[x->text.len] = 0;
		x->sst[x->n_sst++] = (struct sst_entry){copy, x->text.len};
		x->sst_bytes = bytes;
	}
}

/* ---- the worksheet */

/* Parses a cell reference "C7" (1-3 letters, then a row number) into *row, *col. */
static bool parse_ref(const char *r, uint32_t *row, uint32_t *col)
{
	uint32_t c = 0;
	size_t i = 0;
	while (i < 3 && ((r[i] >= 'A' && r[i] <= 'Z') || (r[i] >= 'a' && r[i] <= 'z'))) {
		c = c * 26 + (uint32_t)((r[i] | 0x20) - 'a' + 1);
		i++;
	}
	uint64_t v;
	if (i == 0 || c > SHEET_MAX_COL || r[i] == '0' ||
	    !sheet__parse_uint(r + i, strlen(r + i), SHEET_MAX_ROW, &v) || v == 0)
		return false;
	*row = (uint32_t)v;
	*col = c;
	return true;
}

static void XMLCALL ws_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (strcmp(name, "row") == 0) {
		const char *r = attr(atts, "r");
		uint64_t v;
		if (r) {
			if (!sheet__parse_uint(r, strlen(r), SHEET_MAX_ROW, &v) || v == 0) {
				stop_unreadable(x, _("a row number is not between 1 and 1048576"));
				return;
			}
			x->row = (uint32_t)v;
		} else if (++x->row > SHEET_MAX_ROW) {
			stop_unreadable(x, _("the sheet has more rows than Excel allows"));
			return;
		}
		x->col = 0;
	} else if (strcmp(name, "c") == 0) {
		const char *r = attr(atts, "r"), *t = attr(atts, "t"), *s = attr(atts, "s");
		if (r) {
			if (!parse_ref(r, &x->c_row, &x->c_col)) {
				struct ml_buf why = ML_BUF_INIT;
				ml_buf_addf(&why, _("'%.20s' is not a cell reference"), r);
				stop_unreadable(x, ml_buf_str(&why));
				ml_buf_release(&why);
				return;
			}
		} else {
			x->c_row = x->row ? x->row : 1;
			x->c_col = x->col + 1;
			if (x->c_col > SHEET_MAX_COL) {
				stop_unreadable(x, _("a row has more columns than Excel allows"));
				return;
			}
		}
		x->col = x->c_col;
		x->c_type = !t || strcmp(t, "n") == 0     ? T_NUMBER
		            : strcmp(t, "s") == 0         ? T_SHARED
		            : strcmp(t, "inlineStr") == 0 ? T_INLINE
		            : strcmp(t, "b") == 0         ? T_BOOL
		            : strcmp(t, "d") == 0         ? T_ISODATE
		                                          : T_TEXT;
		uint64_t style;
		x->c_styled = s && sheet__parse_uint(s, strlen(s), UINT32_MAX, &style);
		x->c_style = x->c_styled ? (uint32_t)style : 0;
		x->in_c = true;
		ml_buf_reset(&x->text);
	} else if (!x->in_c) {
		return;
	} else if (strcmp(name, "v") == 0) {
		x->collect = x->c_type != T_INLINE;
	} else if (strcmp(name, "is") == 0) {
		x->in_is = true;
	} else if (strcmp(name, "rPh") == 0) {
		x->skip++;
	} else if (strcmp(name, "t") == 0 && x->in_is) {
		x->collect = true;
	}
}

/* Adds the finished cell <c> to the sheet. */
static void cell_end(struct xlsx *x)
{
	const char *v = (const char *)(x->text.len ? x->text.data : (const uint8_t *)"");
	size_t n = x->text.len;
	char tmp[64];
	bool numeric = false;
	switch (x->c_type) {
	case T_SHARED: {
		uint64_t i;
		if (n == 0)
			return;
		if (!sheet__parse_uint(v, n, SIZE_MAX, &i) || i >= x->n_sst) {
			char what[96];
			snprintf(what, sizeof what,
			         _("refers to shared text %.20s, which does not exist"), v);
			stop(x, sheet__cell_fail(x->rd, ML_EMALFORMED, x->c_row, x->c_col, what));
			return;
		}
		v = x->sst[i].s;
		n = x->sst[i].len;
		break;
	}
	case T_BOOL:
		if (n == 1 && (v[0] == '0' || v[0] == '1')) {
			v = v[0] == '1' ? "TRUE" : "FALSE";
			n = strlen(v);
		}
		break;
	case T_ISODATE:
		if (sheet__iso_to_dmy(v, n, tmp)) {
			v = tmp;
			n = strlen(tmp);
		}
		break;
	case T_NUMBER:
		if (n == 0)
			return;
		if (!sheet__number_text(v, n, tmp))
			break;
		bool date = x->c_styled && x->c_style < x->n_xf && x->xf_date[x->c_style];
		char dmy[11];
		if (date && sheet__serial_to_dmy(tmp, x->date1904, dmy)) {
			memcpy(tmp, dmy, sizeof dmy);
		} else {
			numeric = true;
		}
		v = tmp;
		n = strlen(tmp);
		break;
	case T_INLINE:
	case T_TEXT:
		break;
	}
	int rc = sheet__cell_add(x->rd, x->c_row, x->c_col, v, n, numeric);
	if (rc < 0)
		stop(x, rc);
}

static void XMLCALL ws_end(void *ud, const XML_Char *el)
{
	struct xlsx *x = ud;
	const char *name = local_name(el);
	if (!x->in_c)
		return;
	if (strcmp(name, "v") == 0 || strcmp(name, "t") == 0) {
		x->collect = false;
	} else if (strcmp(name, "rPh") == 0) {
		if (x->skip > 0)
			x->skip--;
	} else if (strcmp(name, "is") == 0) {
		x->in_is = false;
	} else if (strcmp(name, "c") == 0) {
		x->in_c = false;
		x->in_is = false;
		x->collect = false;
		x->skip = 0;
		cell_end(x);
	}
}

/* ---- the whole workbook */

static int read_workbook(struct xlsx *x)
{
	struct sheet_rd *rd = x->rd;
	zip_int64_t entries = zip_get_num_entries(x->zip, 0);
	if (entries < 0 || (zip_uint64_t)entries > rd->lim->zip_entries)
		return sheet__unreadable(rd, ML_ETOOBIG,
		                         _("the archive lists more than %zu files, far more than a "
		                           "workbook has"),
		                         rd->lim->zip_entries);
	x->rels_from = "";
	int rc = parse_part(x, "_rels/.rels", true, rels_start, no_end);
	if (rc < 0)
		return rc;
	const char *wb = x->office_doc ? x->office_doc : "xl/workbook.xml";
	rc = parse_part(x, wb, false, wb_start, wb_end);
	if (rc < 0)
		return rc;
	if (!x->sheet_rid)
		return sheet__unreadable(rd, ML_EMALFORMED, _("the workbook lists no worksheet"));
	char *rels = rels_of(wb);
	if (!rels)
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	x->want_id = x->sheet_rid;
	x->rels_from = wb;
	rc = parse_part(x, rels, false, rels_start, no_end);
	ml_free(rels);
	if (rc < 0)
		return rc;
	if (!x->sheet_part)
		return sheet__unreadable(rd, ML_EMALFORMED,
		                         _("the workbook's first sheet has no part"));
	if (x->styles_part && (rc = parse_part(x, x->styles_part, true, st_start, st_end)) < 0)
		return rc;
	if (x->sst_part && (rc = parse_part(x, x->sst_part, true, sst_start, sst_end)) < 0)
		return rc;
	return parse_part(x, x->sheet_part, false, ws_start, ws_end);
}

int sheet__xlsx(struct sheet_rd *rd, const uint8_t *data, size_t len)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
	if (!src) {
		zip_error_fini(&ze);
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	}
	zip_t *zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	if (!zip) {
		zip_source_free(src);
		int rc =
		    zip_error_code_zip(&ze) == ZIP_ER_MEMORY
		        ? ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name)
		        : sheet__unreadable(rd, ML_EMALFORMED,
		                            _("it is damaged or not an Excel workbook (%s)"),
		                            zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	struct xlsx *x = ml_calloc(1, sizeof *x);
	if (!x) {
		zip_discard(zip);
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	}
	x->rd = rd;
	x->zip = zip;
	int rc = read_workbook(x);
	zip_discard(zip);
	for (size_t i = 0; i < x->n_sst; i++)
		ml_free(x->sst[i].s);
	ml_free(x->sst);
	ml_free(x->xf_date);
	ml_free(x->office_doc);
	ml_free(x->sheet_part);
	ml_free(x->sst_part);
	ml_free(x->styles_part);
	ml_free(x->sheet_rid);
	ml_buf_release(&x->text);
	ml_free(x);
	return rc;
}
