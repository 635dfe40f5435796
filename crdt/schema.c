/*
 * schema.c - the table of op types and the validation of their bodies.
 *
 * Body rules common to all types: every key must be one the type lists,
 * required keys must be present, each value must pass its field rule.
 * Lists of ids are one byte string of ascending 32-byte ids (like `deps`);
 * lists of words are arrays of text sorted bytewise without repeats, so that
 * each value has exactly one encoding.
 */
#include "schema.h"

#include "codec.h"
#include "err.h"
#include "fields.h"
#include "number.h"

#include <string.h>

/* clang-format off */
static const struct ml_optype_info types[ML_OT_COUNT] = {
	[ML_OT_UNKNOWN] = {"", ML_LANE_GOV, ML_ROLE_NONE, ML_SCOPE_NONE, 0},
	[ML_OT_GENESIS] = {"genesis", ML_LANE_GOV, ML_ROLE_NONE, ML_SCOPE_NONE, 0},
	[ML_OT_UNIT_CREATE] = {"unit_create", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_UNIT_UPDATE] = {"unit_update", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_ABOVE, 0},
	[ML_OT_UNIT_TRANSFER] = {"unit_transfer", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_ABOVE, 0},
	[ML_OT_UNIT_RECEIVE] = {"unit_receive", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_UNIT_MERGE] = {"unit_merge", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_ABOVE, 0},
	[ML_OT_UNIT_SPLIT] = {"unit_split", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_ABOVE, 0},
	[ML_OT_UNIT_DISSOLVE] = {"unit_dissolve", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_ABOVE, 0},
	[ML_OT_DIRECTIVE_POST] = {"directive_post", ML_LANE_GOV, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_GRANT] = {"grant", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_REVOKE] = {"revoke", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_NUMBERS_DELEGATE] = {"numbers_delegate", ML_LANE_GOV, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, 0},
	[ML_OT_MEMBER_CREATE] = {"member_create", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_CREATES},
	[ML_OT_MEMBER_UPDATE] = {"member_update", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_POSITION] = {"member_position", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_REDUCE] = {"member_reduce", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_TRANSFER] = {"member_transfer", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_RECEIVE] = {"member_receive", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_CARD_REQUEST] = {"member_card_request", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_YOUTH_ADMISSION] = {"youth_admission", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_CREATES},
	[ML_OT_YOUTH_AGE_OUT] = {"youth_age_out", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_YOUTH_OUTSTANDING] = {"youth_outstanding", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_YOUTH_PARTY_DEVELOPMENT] = {"youth_party_development", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_YOUTH_TRAINING_REGISTRATION] = {"youth_training_registration", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_YOUTH_RESIDENCE_ACTIVITY] = {"youth_residence_activity", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_CHANGE | ML_OTF_MEMBER},
	[ML_OT_MEMBER_SUBMIT] = {"member_submit", ML_LANE_REG, ML_ROLE_OFFICER, ML_SCOPE_SELF_OR_ABOVE, ML_OTF_DECISION | ML_OTF_MEMBER},
	[ML_OT_MEMBER_APPROVE] = {"member_approve", ML_LANE_REG, ML_ROLE_APPROVER, ML_SCOPE_ABOVE, ML_OTF_DECISION | ML_OTF_MEMBER},
	[ML_OT_MEMBER_REJECT] = {"member_reject", ML_LANE_REG, ML_ROLE_APPROVER, ML_SCOPE_ABOVE, ML_OTF_DECISION | ML_OTF_MEMBER},
	[ML_OT_DUPLICATE_RESOLVE] = {"duplicate_resolve", ML_LANE_REG, ML_ROLE_APPROVER, ML_SCOPE_ABOVE, 0},
};
/* clang-format on */

enum kind {
	K_NAME,      /* a name: NFC, 1..max characters */
	K_TEXT,      /* free text: NFC, 0..max characters */
	K_DATE,      /* dd/MM/yyyy */
	K_IDNUM,     /* 9 or 12 digits */
	K_PHONE,     /* Vietnamese phone number */
	K_BOOL,      /* true / false */
	K_ENUM,      /* one word of a vocabulary */
	K_ENUM_LIST, /* words of a vocabulary, sorted, no repeats */
	K_HASH,      /* 32-byte id */
	K_KEY,       /* 32-byte device public key */
	K_UINT,      /* unsigned integer 0..max (max 0: any) */
	K_IDS,       /* ascending 32-byte ids in one byte string */
	K_NUMBER,    /* 12-digit member number with a valid check digit */
	K_NAME_LIST, /* 2..16 names */
	K_CUTS,      /* revoke cut-offs: [[unit, lane, seq], ...] sorted by unit, lane */
};

enum field_flags {
	REQ = 1 << 0,         /* required */
	REQ_TU = 1 << 1,      /* required in a trade union network */
	REQ_YU = 1 << 2,      /* required in a youth union network */
	ONLY_TU = 1 << 3,     /* allowed only in a trade union network */
	ONLY_YU = 1 << 4,     /* allowed only in a youth union network */
	MEMBER_DATA = 1 << 5, /* an editable member field */
};

struct field_spec {
	const char *key;
	enum kind kind;
	const char *const *words; /* for K_ENUM, K_ENUM_LIST */
	size_t max;
	unsigned flags;
};

/* The member's editable data (requirements §2, template Phụ lục 03). */
#define MEMBER_FIELDS(name_req, id_req)                                                            \
	{"full_name", K_NAME, NULL, 100, MEMBER_DATA | (name_req)},                                \
	    {"dob", K_DATE, NULL, 0, MEMBER_DATA}, {"gender", K_ENUM, ml_genders, 0, MEMBER_DATA}, \
	    {"hometown", K_TEXT, NULL, 200, MEMBER_DATA},                                          \
	    {"id_number", K_IDNUM, NULL, 0, MEMBER_DATA | (id_req)},                               \
	    {"phone", K_PHONE, NULL, 0, MEMBER_DATA},                                              \
	    {"positions", K_ENUM_LIST, ml_positions, 0, MEMBER_DATA | ONLY_TU},                    \
	    {"is_full_time_cadre", K_BOOL, NULL, 0, MEMBER_DATA | ONLY_TU},                        \
	    {"participates", K_BOOL, NULL, 0, MEMBER_DATA},                                        \
	    {"pays_dues", K_BOOL, NULL, 0, MEMBER_DATA},                                           \
	{                                                                                          \
		"photo", K_HASH, NULL, 0, MEMBER_DATA                                              \
	}

static const struct field_spec f_genesis[] = {
    {"name", K_NAME, NULL, 200, REQ},
    {"org", K_ENUM, ml_orgs, 0, REQ},
    {0},
};
static const struct field_spec f_unit_create[] = {
    {"name", K_NAME, NULL, 200, REQ},
    {"level", K_ENUM, ml_levels, 0, REQ},
    {"sector", K_ENUM, ml_sectors, 0, 0},
    {0},
};
static const struct field_spec f_unit_update[] = {
    {"name", K_NAME, NULL, 200, 0},
    {"level", K_ENUM, ml_levels, 0, 0},
    {"sector", K_ENUM, ml_sectors, 0, 0},
    {0},
};
static const struct field_spec f_unit_transfer[] = {{"to", K_HASH, NULL, 0, REQ}, {0}};
static const struct field_spec f_unit_receive[] = {{"transfer", K_HASH, NULL, 0, REQ}, {0}};
static const struct field_spec f_unit_merge[] = {{"into", K_HASH, NULL, 0, REQ}, {0}};
static const struct field_spec f_unit_split[] = {{"names", K_NAME_LIST, NULL, 200, REQ}, {0}};
static const struct field_spec f_unit_dissolve[] = {{"reason", K_TEXT, NULL, 500, 0}, {0}};
static const struct field_spec f_directive[] = {
    {"title", K_NAME, NULL, 300, REQ},
    {"date", K_DATE, NULL, 0, REQ},
    {"reference", K_TEXT, NULL, 100, 0},
    {0},
};
static const struct field_spec f_grant[] = {
    {"device", K_KEY, NULL, 0, REQ},
    {"role", K_ENUM, ml_roles, 0, REQ},
    {0},
};
static const struct field_spec f_revoke[] = {
    {"device", K_KEY, NULL, 0, REQ},
    {"cuts", K_CUTS, NULL, 0, REQ},
    {"reason", K_TEXT, NULL, 500, 0},
    {0},
};
static const struct field_spec f_numbers[] = {
    {"to", K_HASH, NULL, 0, REQ},
    {"start", K_UINT, NULL, ML_SERIAL_LIMIT - 1, REQ},
    {"count", K_UINT, NULL, ML_SERIAL_LIMIT, REQ},
    {0},
};
static const struct field_spec f_member_create[] = {
    MEMBER_FIELDS(REQ, REQ),
    {"union_join_date", K_DATE, NULL, 0, MEMBER_DATA | REQ_TU | ONLY_TU},
    {"youth_join_date", K_DATE, NULL, 0, MEMBER_DATA | REQ_YU | ONLY_YU},
    {"origin", K_ENUM, (const char *const[]){"new", "transfer_in", NULL}, 0, 0},
    {0},
};
static const struct field_spec f_member_update[] = {
    {"member", K_HASH, NULL, 0, REQ},
    MEMBER_FIELDS(0, 0),
    {"union_join_date", K_DATE, NULL, 0, MEMBER_DATA | ONLY_TU},
    {"youth_join_date", K_DATE, NULL, 0, MEMBER_DATA | ONLY_YU},
    {0},
};
static const struct field_spec f_member_position[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"positions", K_ENUM_LIST, ml_positions, 0, REQ | ONLY_TU},
    {0},
};
static const struct field_spec f_member_reduce[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"reason", K_ENUM, ml_reduce_reasons, 0, REQ},
    {"date", K_DATE, NULL, 0, REQ},
    {"note", K_TEXT, NULL, 500, 0},
    {0},
};
static const struct field_spec f_member_transfer[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"to", K_HASH, NULL, 0, REQ},
    {"date", K_DATE, NULL, 0, 0},
    {0},
};
static const struct field_spec f_member_receive[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"transfer", K_HASH, NULL, 0, REQ},
    {0},
};
static const struct field_spec f_card[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"card", K_ENUM, ml_card_types, 0, REQ},
    {0},
};
static const struct field_spec f_youth_admission[] = {
    MEMBER_FIELDS(REQ, REQ),
    {"youth_join_date", K_DATE, NULL, 0, MEMBER_DATA | REQ},
    {0},
};
static const struct field_spec f_age_out[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"date", K_DATE, NULL, 0, REQ},
    {0},
};
static const struct field_spec f_outstanding[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"year", K_UINT, NULL, 2100, REQ},
    {0},
};
static const struct field_spec f_party[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"stage", K_ENUM, ml_party_stages, 0, REQ},
    {"date", K_DATE, NULL, 0, REQ},
    {0},
};
static const struct field_spec f_training[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"programme", K_NAME, NULL, 200, REQ},
    {"year", K_UINT, NULL, 2100, REQ},
    {0},
};
static const struct field_spec f_residence[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"place", K_NAME, NULL, 200, REQ},
    {"date", K_DATE, NULL, 0, REQ},
    {0},
};
static const struct field_spec f_submit[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"changes", K_IDS, NULL, 0, REQ},
    {0},
};
static const struct field_spec f_approve[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"changes", K_IDS, NULL, 0, REQ},
    {"number", K_NUMBER, NULL, 0, 0},
    {0},
};
static const struct field_spec f_reject[] = {
    {"member", K_HASH, NULL, 0, REQ},
    {"changes", K_IDS, NULL, 0, REQ},
    {"reason", K_NAME, NULL, 500, REQ},
    {0},
};
static const struct field_spec f_duplicate[] = {
    {"a", K_HASH, NULL, 0, REQ},
    {"b", K_HASH, NULL, 0, REQ},
    {"decision", K_ENUM, (const char *const[]){"distinct", "same", NULL}, 0, REQ},
    {0},
};

static const struct field_spec *const specs[ML_OT_COUNT] = {
    [ML_OT_GENESIS] = f_genesis,
    [ML_OT_UNIT_CREATE] = f_unit_create,
    [ML_OT_UNIT_UPDATE] = f_unit_update,
    [ML_OT_UNIT_TRANSFER] = f_unit_transfer,
    [ML_OT_UNIT_RECEIVE] = f_unit_receive,
    [ML_OT_UNIT_MERGE] = f_unit_merge,
    [ML_OT_UNIT_SPLIT] = f_unit_split,
    [ML_OT_UNIT_DISSOLVE] = f_unit_dissolve,
    [ML_OT_DIRECTIVE_POST] = f_directive,
    [ML_OT_GRANT] = f_grant,
    [ML_OT_REVOKE] = f_revoke,
    [ML_OT_NUMBERS_DELEGATE] = f_numbers,
    [ML_OT_MEMBER_CREATE] = f_member_create,
    [ML_OT_MEMBER_UPDATE] = f_member_update,
    [ML_OT_MEMBER_POSITION] = f_member_position,
    [ML_OT_MEMBER_REDUCE] = f_member_reduce,
    [ML_OT_MEMBER_TRANSFER] = f_member_transfer,
    [ML_OT_MEMBER_RECEIVE] = f_member_receive,
    [ML_OT_MEMBER_CARD_REQUEST] = f_card,
    [ML_OT_YOUTH_ADMISSION] = f_youth_admission,
    [ML_OT_YOUTH_AGE_OUT] = f_age_out,
    [ML_OT_YOUTH_OUTSTANDING] = f_outstanding,
    [ML_OT_YOUTH_PARTY_DEVELOPMENT] = f_party,
    [ML_OT_YOUTH_TRAINING_REGISTRATION] = f_training,
    [ML_OT_YOUTH_RESIDENCE_ACTIVITY] = f_residence,
    [ML_OT_MEMBER_SUBMIT] = f_submit,
    [ML_OT_MEMBER_APPROVE] = f_approve,
    [ML_OT_MEMBER_REJECT] = f_reject,
    [ML_OT_DUPLICATE_RESOLVE] = f_duplicate,
};

const char *const ml_member_fields[] = {
    "full_name",       "dob",       "gender",    "hometown",
    "id_number",       "phone",     "positions", "is_full_time_cadre",
    "participates",    "pays_dues", "photo",     "union_join_date",
    "youth_join_date", NULL,
};

enum ml_optype ml_optype_of(const char *name)
{
	for (int t = 1; t < ML_OT_COUNT; t++) {
		if (strcmp(types[t].name, name) == 0)
			return (enum ml_optype)t;
	}
	return ML_OT_UNKNOWN;
}

const struct ml_optype_info *ml_optype_info(enum ml_optype t)
{
	return &types[t < ML_OT_COUNT ? t : ML_OT_UNKNOWN];
}

enum ml_role ml_role_of(const char *s, size_t n)
{
	int i = ml_enum_index(ml_roles, s, n);
	return i < 0 ? ML_ROLE_NONE : (enum ml_role)i;
}

const char *ml_role_name(enum ml_role r)
{
	return r < ML_ROLE_NONE ? ml_roles[r] : "none";
}

/* Checks an array of words from a vocabulary, sorted bytewise without repeats. */
static int check_word_list(const struct ml_body_field *f, const struct field_spec *s,
                           struct ml_buf *err)
{
	struct ml_reader r;
	ml_rd_init(&r, f->val, f->vlen);
	uint64_t n = ml_rd_array(&r);
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (uint64_t i = 0; i < n && !r.err; i++) {
		size_t len;
		const uint8_t *w = ml_rd_text(&r, &len);
		if (!w)
			break;
		if (s->kind == K_ENUM_LIST && ml_enum_index(s->words, (const char *)w, len) < 0)
			return ml_errf(err, ML_EFIELD, "'%.*s' is not one of the allowed values",
			               (int)(len > 40 ? 40 : len), (const char *)w);
		if (s->kind == K_NAME_LIST) {
			int rc = ml_field_name((const char *)w, len, s->max, err);
			if (rc < 0)
				return rc;
		} else if (prev) {
			int c = memcmp(prev, w, prev_len < len ? prev_len : len);
			if (c > 0 || (c == 0 && prev_len >= len))
				return ml_errf(err, ML_EFIELD,
				               "values must be sorted and not repeated");
		}
		prev = w;
		prev_len = len;
	}
	if (r.err)
		return ml_errf(err, ML_EFIELD, "expected a list of text values");
	if (s->kind == K_NAME_LIST && (n < 2 || n > 16))
		return ml_errf(err, ML_EFIELD, "a split makes 2 to 16 units, not %llu",
		               (unsigned long long)n);
	return ML_OK;
}

/* Checks revoke cut-offs: [[unit bstr32, lane, seq], ...], 1..1024, sorted by (unit, lane). */
static int check_cuts(const struct ml_body_field *f, struct ml_buf *err)
{
	struct ml_reader r;
	ml_rd_init(&r, f->val, f->vlen);
	uint64_t n = ml_rd_array(&r);
	if (!r.err && (n == 0 || n > 1024))
		return ml_errf(err, ML_EFIELD, "a revocation lists 1 to 1024 feeds");
	uint8_t prev[33];
	for (uint64_t i = 0; i < n && !r.err; i++) {
		size_t ulen, llen;
		if (ml_rd_array(&r) != 3 && !r.err)
			return ml_errf(err, ML_EFIELD, "each cut is [unit, lane, last valid seq]");
		const uint8_t *u = ml_rd_bytes(&r, &ulen);
		const uint8_t *l = ml_rd_text(&r, &llen);
		ml_rd_uint(&r);
		if (r.err)
			break;
		bool gov = llen == 3 && memcmp(l, "gov", 3) == 0;
		bool reg = llen == 3 && memcmp(l, "reg", 3) == 0;
		if (ulen != 32 || !(gov || reg))
			return ml_errf(err, ML_EFIELD, "each cut is [unit, lane, last valid seq]");
		uint8_t key[33];
		memcpy(key, u, 32);
		key[32] = reg;
		if (i && memcmp(prev, key, 33) >= 0)
			return ml_errf(err, ML_EFIELD,
			               "cuts must be sorted by unit and lane, once each");
		memcpy(prev, key, 33);
	}
	if (r.err)
		return ml_errf(err, ML_EFIELD, "each cut is [unit, lane, last valid seq]");
	return ML_OK;
}

static int check_field(const struct ml_body *b, const struct ml_body_field *f,
                       const struct field_spec *s, struct ml_buf *err)
{
	const char *t;
	size_t n;
	uint64_t u;
	bool v;
	struct ml_hash h;
	struct ml_pubkey k;
	const uint8_t *ids;
	int rc;
	switch (s->kind) {
	case K_NAME:
	case K_TEXT:
	case K_DATE:
	case K_IDNUM:
	case K_PHONE:
	case K_ENUM:
	case K_NUMBER:
		if ((rc = ml_body_text(b, s->key, &t, &n, err)) < 0)
			return rc;
		if (s->kind == K_NAME)
			return ml_field_name(t, n, s->max, err);
		if (s->kind == K_TEXT)
			return ml_field_text(t, n, s->max, err);
		if (s->kind == K_DATE)
			return ml_field_date(t, n, NULL, err);
		if (s->kind == K_IDNUM)
			return ml_field_id_number(t, n, err);
		if (s->kind == K_PHONE)
			return ml_field_phone(t, n, err);
		if (s->kind == K_NUMBER)
			return ml_number_parse(t, n, &u, err);
		if (ml_enum_index(s->words, t, n) < 0) {
			ml_errf(err, ML_EFIELD, "'%.*s' is not one of:", (int)(n > 40 ? 40 : n), t);
			for (int i = 0; s->words[i]; i++)
				ml_buf_addf(err, " %s", s->words[i]);
			return ML_EFIELD;
		}
		return ML_OK;
	case K_BOOL:
		return ml_body_bool(b, s->key, &v, err);
	case K_UINT:
		if ((rc = ml_body_uint(b, s->key, &u, err)) < 0)
			return rc;
		if (s->max && u > s->max)
			return ml_errf(err, ML_EFIELD, "%llu is more than %zu",
			               (unsigned long long)u, s->max);
		return ML_OK;
	case K_HASH:
		return ml_body_hash(b, s->key, &h, err);
	case K_KEY:
		return ml_body_pubkey(b, s->key, &k, err);
	case K_IDS:
		return ml_body_ids(b, s->key, &ids, &n, err);
	case K_ENUM_LIST:
	case K_NAME_LIST:
		return check_word_list(f, s, err);
	case K_CUTS:
		return check_cuts(f, err);
	}
	return ML_EFIELD;
}

/* The type's own rules, after every field passed. */
static int check_type_rules(enum ml_optype t, const struct ml_body *b, struct ml_buf *err)
{
	switch (t) {
	case ML_OT_UNIT_UPDATE:
		if (b->n == 0)
			return ml_errf(err, ML_EFIELD,
			               "change at least one of name, level, sector");
		break;
	case ML_OT_MEMBER_UPDATE:
		if (b->n < 2)
			return ml_errf(err, ML_EFIELD, "change at least one field of the member");
		break;
	case ML_OT_NUMBERS_DELEGATE: {
		uint64_t start = 0, count = 0;
		ml_body_uint(b, "start", &start, NULL);
		ml_body_uint(b, "count", &count, NULL);
		if (!ml_range_valid((struct ml_range){start, count}))
			return ml_errf(
			    err, ML_EFIELD,
			    "numbers %llu..+%llu are not a range of the 11-digit serials",
			    (unsigned long long)start, (unsigned long long)count);
		break;
	}
	case ML_OT_DUPLICATE_RESOLVE: {
		struct ml_hash a, c;
		ml_body_hash(b, "a", &a, NULL);
		ml_body_hash(b, "b", &c, NULL);
		if (ml_hash_cmp(&a, &c) >= 0)
			return ml_errf(err, ML_EFIELD, "members a and b must differ, a < b");
		break;
	}
	default:
		break;
	}
	return ML_OK;
}

int ml_schema_check(const struct ml_op *op, enum ml_org org, struct ml_body *body,
                    enum ml_optype *t, struct ml_buf *err)
{
	*t = ml_optype_of(op->type);
	if (*t == ML_OT_UNKNOWN)
		return ml_errf(err, ML_EFIELD, "unknown op type '%s'", op->type);
	const struct ml_optype_info *info = &types[*t];
	if (op->lane != info->lane)
		return ml_errf(err, ML_EFIELD, "%s: belongs in the %s lane, not %s", info->name,
		               ml_lane_name(info->lane), ml_lane_name(op->lane));
	int rc = ml_body_parse(body, op->body, op->body_len, err);
	if (rc < 0) {
		ml_err_prefix(err, "%s: ", info->name);
		return rc == ML_ENOMEM ? rc : ML_EFIELD;
	}
	const struct field_spec *spec = specs[*t];
	if (*t == ML_OT_GENESIS) {
		const char *s;
		size_t n;
		if (ml_body_text(body, "org", &s, &n, NULL) == ML_OK &&
		    ml_enum_index(ml_orgs, s, n) >= 0)
			org = (enum ml_org)ml_enum_index(ml_orgs, s, n);
	}
	bool youth_op = *t >= ML_OT_YOUTH_ADMISSION && *t <= ML_OT_YOUTH_RESIDENCE_ACTIVITY;
	if (youth_op && org != ML_ORG_YOUTH_UNION)
		return ml_errf(err, ML_EFIELD,
		               "%s: a youth union operation, in a trade union network", info->name);
	for (size_t i = 0; i < body->n; i++) {
		const struct ml_body_field *f = &body->f[i];
		const struct field_spec *s = spec;
		while (s->key &&
		       !(strlen(s->key) == f->klen && memcmp(s->key, f->key, f->klen) == 0))
			s++;
		if (!s->key)
			return ml_errf(err, ML_EFIELD, "%s: unknown field '%.*s'", info->name,
			               (int)(f->klen > 40 ? 40 : f->klen), f->key);
		if ((s->flags & ONLY_TU && org != ML_ORG_TRADE_UNION) ||
		    (s->flags & ONLY_YU && org != ML_ORG_YOUTH_UNION))
			return ml_errf(err, ML_EFIELD,
			               "%s: field '%s' does not apply to a %s network", info->name,
			               s->key, ml_orgs[org]);
		rc = check_field(body, f, s, err);
		if (rc < 0) {
			ml_err_prefix(err, "%s: field '%s': ", info->name, s->key);
			return rc == ML_ENOMEM ? rc : ML_EFIELD;
		}
	}
	for (const struct field_spec *s = spec; s->key; s++) {
		bool req = s->flags & REQ || (s->flags & REQ_TU && org == ML_ORG_TRADE_UNION) ||
		           (s->flags & REQ_YU && org == ML_ORG_YOUTH_UNION);
		if (req && !ml_body_get(body, s->key))
			return ml_errf(err, ML_EFIELD, "%s: field '%s' is required", info->name,
			               s->key);
	}
	rc = check_type_rules(*t, body, err);
	if (rc < 0)
		ml_err_prefix(err, "%s: ", info->name);
	return rc;
}
