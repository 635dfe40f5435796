/*
 * member.c - folding a member's entries into its record (see member.h).
 *
 * Each change writes record fields: the body's member fields as they are,
 * and for the status-changing types, fields derived from the body:
 *
 *   create / youth_admission  data fields, unit = op unit, status = active, origin
 *   update                    data fields
 *   position                  positions
 *   reduce                    status = reduced, reduce_reason, reduce_date, reduce_note
 *   transfer                  status = transferring, unit = to, transfer_date
 *   receive                   status = active
 *   card_request              card
 *   youth_age_out             status = aged_out, age_out_date
 *   youth_outstanding         outstanding_year
 *   youth_party_development   party_stage, party_date
 *   youth_training_registration  training_programme, training_year
 *   youth_residence_activity  residence_place, residence_date
 *
 * Writes are applied in stamp order, so a later write to a field replaces an
 * earlier one.
 */
#include "member.h"

#include "alloc.h"
#include "body.h"
#include "codec.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

enum slot {
	S_FULL_NAME,
	S_DOB,
	S_GENDER,
	S_HOMETOWN,
	S_ID_NUMBER,
	S_PHONE,
	S_POSITIONS,
	S_FULL_TIME,
	S_PARTICIPATES,
	S_PAYS_DUES,
	S_PHOTO,
	S_UNION_JOIN,
	S_YOUTH_JOIN,
	S_UNIT,
	S_STATUS,
	S_ORIGIN,
	S_REDUCE_REASON,
	S_REDUCE_DATE,
	S_REDUCE_NOTE,
	S_TRANSFER_DATE,
	S_CARD,
	S_AGE_OUT_DATE,
	S_OUTSTANDING_YEAR,
	S_PARTY_STAGE,
	S_PARTY_DATE,
	S_TRAINING_PROGRAMME,
	S_TRAINING_YEAR,
	S_RESIDENCE_PLACE,
	S_RESIDENCE_DATE,
	S_COUNT
};

static const char *const slot_names[S_COUNT] = {
    "full_name",
    "dob",
    "gender",
    "hometown",
    "id_number",
    "phone",
    "positions",
    "is_full_time_cadre",
    "participates",
    "pays_dues",
    "photo",
    "union_join_date",
    "youth_join_date",
    "unit",
    "status",
    "origin",
    "reduce_reason",
    "reduce_date",
    "reduce_note",
    "transfer_date",
    "card",
    "age_out_date",
    "outstanding_year",
    "party_stage",
    "party_date",
    "training_programme",
    "training_year",
    "residence_place",
    "residence_date",
};

/* Pre-encoded text values the fold writes itself. */
#define TEXT_VALUE(s)                             \
	{                                         \
		(const uint8_t *)s, sizeof(s) - 1 \
	}
static const struct {
	const uint8_t *p;
	size_t n;
} v_active = TEXT_VALUE("\x66"
                        "active"),
  v_transferring = TEXT_VALUE("\x6c"
                              "transferring"),
  v_reduced = TEXT_VALUE("\x67"
                         "reduced"),
  v_aged_out = TEXT_VALUE("\x68"
                          "aged_out"),
  v_new = TEXT_VALUE("\x63"
                     "new");

struct value {
	const uint8_t *p; /* encoded CBOR value; NULL when unset */
	size_t n;
};

struct record {
	struct value slot[S_COUNT];
	uint8_t unit_enc[34]; /* bstr 32 of a creating op's unit */
};

int ml_stamp_cmp(const struct ml_stamp *a, const struct ml_stamp *b)
{
	int c = ml_hlc_cmp(a->hlc, b->hlc);
	if (!c)
		c = memcmp(a->author.b, b->author.b, ML_PUBKEY_BYTES);
	if (!c)
		c = memcmp(a->id.b, b->id.b, ML_HASH_BYTES);
	return c;
}

const char *ml_record_state_name(enum ml_record_state s)
{
	static const char *const names[] = {"draft", "submitted", "returned", "official",
	                                    "unknown"};
	return s <= ML_REC_UNKNOWN ? names[s] : "unknown";
}

static void set_field(struct record *r, enum slot s, const struct ml_body *b, const char *key)
{
	const struct ml_body_field *f = ml_body_get(b, key);
	if (f)
		r->slot[s] = (struct value){f->val, f->vlen};
}

/* Applies one change's writes to r.  The entry's body was validated at ingest. */
static void apply_change(struct record *r, const struct ml_member_entry *e, const struct ml_body *b)
{
	switch (e->type) {
	case ML_OT_MEMBER_CREATE:
	case ML_OT_YOUTH_ADMISSION:
		r->unit_enc[0] = 0x58;
		r->unit_enc[1] = 0x20;
		memcpy(r->unit_enc + 2, e->unit.b, 32);
		r->slot[S_UNIT] = (struct value){r->unit_enc, 34};
		r->slot[S_STATUS] = (struct value){v_active.p, v_active.n};
		r->slot[S_ORIGIN] = (struct value){v_new.p, v_new.n};
		set_field(r, S_ORIGIN, b, "origin");
		/* then the data fields, as update does */
		/* fall through */
	case ML_OT_MEMBER_UPDATE:
		for (int s = S_FULL_NAME; s <= S_YOUTH_JOIN; s++)
			set_field(r, (enum slot)s, b, slot_names[s]);
		break;
	case ML_OT_MEMBER_POSITION:
		set_field(r, S_POSITIONS, b, "positions");
		break;
	case ML_OT_MEMBER_REDUCE:
		r->slot[S_STATUS] = (struct value){v_reduced.p, v_reduced.n};
		set_field(r, S_REDUCE_REASON, b, "reason");
		set_field(r, S_REDUCE_DATE, b, "date");
		r->slot[S_REDUCE_NOTE] = (struct value){0};
		set_field(r, S_REDUCE_NOTE, b, "note");
		break;
	case ML_OT_MEMBER_TRANSFER:
		r->slot[S_STATUS] = (struct value){v_transferring.p, v_transferring.n};
		set_field(r, S_UNIT, b, "to");
		set_field(r, S_TRANSFER_DATE, b, "date");
		break;
	case ML_OT_MEMBER_RECEIVE:
		r->slot[S_STATUS] = (struct value){v_active.p, v_active.n};
		break;
	case ML_OT_MEMBER_CARD_REQUEST:
		set_field(r, S_CARD, b, "card");
		break;
	case ML_OT_YOUTH_AGE_OUT:
		r->slot[S_STATUS] = (struct value){v_aged_out.p, v_aged_out.n};
		set_field(r, S_AGE_OUT_DATE, b, "date");
		break;
	case ML_OT_YOUTH_OUTSTANDING:
		set_field(r, S_OUTSTANDING_YEAR, b, "year");
		break;
	case ML_OT_YOUTH_PARTY_DEVELOPMENT:
		set_field(r, S_PARTY_STAGE, b, "stage");
		set_field(r, S_PARTY_DATE, b, "date");
		break;
	case ML_OT_YOUTH_TRAINING_REGISTRATION:
		set_field(r, S_TRAINING_PROGRAMME, b, "programme");
		set_field(r, S_TRAINING_YEAR, b, "year");
		break;
	case ML_OT_YOUTH_RESIDENCE_ACTIVITY:
		set_field(r, S_RESIDENCE_PLACE, b, "place");
		set_field(r, S_RESIDENCE_DATE, b, "date");
		break;
	default:
		break;
	}
}

static int write_record(const struct record *r, struct ml_buf *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	/* Sized once: growing both buffers by doubling was a tenth of a step (perf). */
	size_t size = 9;
	for (int s = 0; s < S_COUNT; s++)
		if (r->slot[s].p)
			size += 9 + strlen(slot_names[s]) + r->slot[s].n;
	int rc = ml_buf_reserve(&bb.bytes, size);
	if (rc == ML_OK)
		rc = ml_buf_reserve(out, size);
	for (int s = 0; s < S_COUNT && rc == ML_OK; s++)
		if (r->slot[s].p)
			ml_bb_raw(&bb, slot_names[s], r->slot[s].p, r->slot[s].n);
	if (rc == ML_OK)
		rc = ml_bb_finish(&bb, out);
	ml_bb_release(&bb);
	return rc;
}

static bool is_status(const struct value *v, const uint8_t *p, size_t n)
{
	return v->p && v->n == n && memcmp(v->p, p, n) == 0;
}

static void add_conflict(struct ml_member_view *v, enum ml_member_conflict_kind kind,
                         const struct ml_hash *a, const struct ml_hash *b)
{
	v->n_conflicts_total++;
	if (v->n_conflicts < ML_MEMBER_MAX_CONFLICTS)
		v->conflicts[v->n_conflicts++] = (struct ml_member_conflict){kind, *a, *b};
}

/* Per-entry working state. */
struct work {
	const struct ml_member_entry *e;
	struct ml_body body;
	bool change, approved, rejected, submitted;
	const struct ml_hash *approved_by, *rejected_by; /* the first such decisions */
};

static int by_stamp(const void *x, const void *y)
{
	const struct work *a = x, *b = y;
	return ml_stamp_cmp(&a->e->stamp, &b->e->stamp);
}

/* Finds the change entry with op id `id`; NULL if none. */
static struct work *find_change(struct work *w, size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].change && memcmp(w[i].e->stamp.id.b, id, ML_HASH_BYTES) == 0)
			return &w[i];
	return NULL;
}

static int write_sum_of_fold(const struct work *w, size_t n, const struct work *create,
                             const struct ml_member_view *v, uint64_t number_tag,
                             bool numbered_twice, struct ml_buf *sum);

static int fold(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                struct ml_member_view *v, struct ml_buf *sum)
{
	memset(v, 0, sizeof *v);
	v->state = ML_REC_UNKNOWN;
	if (n > ML_MEMBER_MAX_ENTRIES)
		return ML_ETOOBIG;
	struct work *w = ml_calloc(n ? n : 1, sizeof *w);
	if (!w)
		return ML_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		w[i].e = &e[i];
		w[i].change = ml_optype_info(e[i].type)->flags & ML_OTF_CHANGE;
		ml_body_parse(&w[i].body, e[i].body, e[i].body_len, NULL);
	}
	qsort(w, n, sizeof *w, by_stamp);

	/* Decisions: which changes are submitted, approved, rejected; the number. */
	struct work *create = NULL;
	const struct ml_hash *number_op = NULL;
	uint64_t number_tag = 0;
	size_t numbered = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].change && (ml_optype_info(w[i].e->type)->flags & ML_OTF_CREATES) &&
		    ml_hash_eq(&w[i].e->stamp.id, id))
			create = &w[i];
	}
	for (size_t i = 0; i < n; i++) {
		enum ml_optype t = w[i].e->type;
		if (t != ML_OT_MEMBER_SUBMIT && t != ML_OT_MEMBER_APPROVE &&
		    t != ML_OT_MEMBER_REJECT)
			continue;
		const uint8_t *ids;
		size_t k;
		if (ml_body_ids(&w[i].body, "changes", &ids, &k, NULL) != ML_OK)
			continue;
		bool covers_create = false;
		for (size_t j = 0; j < k; j++) {
			struct work *c = find_change(w, n, ids + j * ML_HASH_BYTES);
			if (!c)
				continue;
			covers_create |= c == create;
			if (t == ML_OT_MEMBER_SUBMIT) {
				c->submitted = true;
				/* A resubmission after a rejection (the record came back
				 * fixed) reopens the change: a later approval is the
				 * normal path, not a conflict. */
				if (c->rejected && !c->approved) {
					c->rejected = false;
					c->rejected_by = NULL;
				}
			} else if (t == ML_OT_MEMBER_APPROVE && !c->approved) {
				c->approved = true;
				c->approved_by = &w[i].e->stamp.id;
			} else if (t == ML_OT_MEMBER_REJECT && !c->rejected) {
				c->rejected = true;
				c->rejected_by = &w[i].e->stamp.id;
			}
		}
		if (t == ML_OT_MEMBER_REJECT) {
			const char *reason;
			size_t len;
			if (ml_body_text(&w[i].body, "reason", &reason, &len, NULL) == ML_OK) {
				v->return_reason = reason;
				v->return_reason_len = len;
			}
		}
		if (t != ML_OT_MEMBER_APPROVE)
			continue;
		if (covers_create && !v->approved_ever) {
			v->approved_ever = true;
			v->first_approval = w[i].e->stamp;
		}
		const char *num;
		size_t len;
		if (ml_body_text(&w[i].body, "number", &num, &len, NULL) == ML_OK && len == 12) {
			numbered++;
			if (!v->has_number) {
				v->has_number = true;
				memcpy(v->number, num, 12);
				number_op = &w[i].e->stamp.id;
				number_tag = w[i].e->tag;
			} else if (memcmp(v->number, num, 12) != 0) {
				add_conflict(v, ML_MC_TWO_NUMBERS, number_op, &w[i].e->stamp.id);
			}
		}
	}

	/* Draft and official records, writes in stamp order. */
	struct record draft, official;
	memset(&draft, 0, sizeof draft);
	memset(&official, 0, sizeof official);
	const struct ml_hash *transfer_op = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!w[i].change)
			continue;
		/* Changes before the member exists in this set are kept but not applied. */
		if (!create)
			break;
		v->changes++;
		apply_change(&draft, w[i].e, &w[i].body);
		if (w[i].approved && w[i].rejected)
			add_conflict(v, ML_MC_APPROVED_AND_REJECTED, w[i].approved_by,
			             w[i].rejected_by);
		if (w[i].approved) {
			v->approved++;
			if (w[i].e->type == ML_OT_MEMBER_TRANSFER) {
				if (is_status(&official.slot[S_STATUS], v_transferring.p,
				              v_transferring.n) &&
				    transfer_op)
					add_conflict(v, ML_MC_TWO_TRANSFERS, &w[i].e->stamp.id,
					             transfer_op);
				transfer_op = &w[i].e->stamp.id;
			}
			apply_change(&official, w[i].e, &w[i].body);
		} else if (w[i].rejected) {
			v->rejected++;
		} else {
			v->pending++;
		}
	}

	int rc = ML_OK;
	if (create) {
		v->create_unit = create->e->unit;
		v->create_type = create->e->type;
		v->unit = v->create_unit;
		if (create->approved) {
			v->state = ML_REC_OFFICIAL;
			if (official.slot[S_UNIT].p && official.slot[S_UNIT].n == 34)
				memcpy(v->unit.b, official.slot[S_UNIT].p + 2, 32);
		} else {
			bool waiting = false, rejected = false;
			for (size_t i = 0; i < n; i++) {
				waiting |= w[i].change && w[i].submitted && !w[i].approved &&
				           !w[i].rejected;
				rejected |= w[i].change && w[i].rejected;
			}
			v->state = waiting    ? ML_REC_SUBMITTED
			           : rejected ? ML_REC_RETURNED
			                      : ML_REC_DRAFT;
		}
		rc = write_record(&draft, &v->draft);
		if (rc == ML_OK && create->approved)
			rc = write_record(&official, &v->official);
	}
	if (rc == ML_OK && sum)
		rc = write_sum_of_fold(w, n, create, v, number_tag, numbered > 1, sum);
	ml_free(w);
	if (rc != ML_OK)
		ml_member_view_release(v);
	return rc;
}

int ml_member_fold(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                   struct ml_member_view *v)
{
	return fold(id, e, n, v, NULL);
}

int ml_member_fold_sum(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                       struct ml_member_view *v, struct ml_buf *sum)
{
	sum->len = 0;
	int rc = fold(id, e, n, v, sum);
	if (rc != ML_OK)
		ml_buf_release(sum);
	return rc;
}

void ml_member_view_release(struct ml_member_view *v)
{
	if (!v)
		return;
	ml_buf_release(&v->official);
	ml_buf_release(&v->draft);
}

const char *ml_member_text(const struct ml_buf *map, const char *key, size_t *n)
{
	struct ml_body b;
	const char *s;
	if (!map->len || ml_body_parse(&b, map->data, map->len, NULL) != ML_OK ||
	    ml_body_text(&b, key, &s, n, NULL) != ML_OK)
		return NULL;
	return s;
}

/* --- summaries -------------------------------------------------------------- */

/*
 * Layout, integers little-endian, clocks as ms (8 bytes) then c (4):
 *   0    version (3)
 *   1    flags (ML_SUM_*)
 *   2    the creating entry's type
 *   3    how many entries it summarises (4 bytes): a store another build wrote to
 *        may hold more ops of the member than its summary knows
 *   7    latest clock of any entry
 *   19   latest clock of an approved change
 *   31   clock of the first approval of the record itself
 *   43   tag of the approval that carried the number
 *   51   the number (12 digits; zeros when none)
 *   63   latest clock of any change: once every change is approved, the latest
 *        approved, without reading the changes (ml_member_step)
 *   75   the changes in stamp order, ML_MEMBER_SUM_CHANGE bytes each:
 *        op id (32), tag (8), flags (SC_*)
 */
#define SUM_VERSION 3
#define SUM_HEAD    75

enum { SC_SUBMITTED = 1, SC_APPROVED = 2, SC_REJECTED = 4, SC_CREATE = 8 };

static void put_u64(uint8_t *p, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	return x;
}

static void put_hlc(uint8_t *p, struct ml_hlc h)
{
	put_u64(p, h.ms);
	for (int i = 0; i < 4; i++)
		p[8 + i] = (uint8_t)(h.c >> (8 * i));
}

static struct ml_hlc get_hlc(const uint8_t *p)
{
	uint32_t c = 0;
	for (int i = 3; i >= 0; i--)
		c = c << 8 | p[8 + i];
	return (struct ml_hlc){get_u64(p), c};
}

static int put_head(struct ml_buf *out, const struct ml_member_sum *s)
{
	uint8_t h[SUM_HEAD] = {SUM_VERSION, s->flags, (uint8_t)s->create_type};
	for (int i = 0; i < 4; i++)
		h[3 + i] = (uint8_t)(s->n_entries >> (8 * i));
	put_hlc(h + 7, s->last);
	put_hlc(h + 19, s->last_approved);
	put_hlc(h + 31, s->first_approval);
	put_u64(h + 43, s->number_tag);
	memcpy(h + 51, s->number, 12);
	put_hlc(h + 63, s->last_change);
	return ml_buf_add(out, h, sizeof h);
}

static int put_change(struct ml_buf *out, const struct ml_hash *id, uint64_t tag, uint8_t flags)
{
	uint8_t c[ML_MEMBER_SUM_CHANGE];
	memcpy(c, id->b, 32);
	put_u64(c + 32, tag);
	c[40] = flags;
	return ml_buf_add(out, c, sizeof c);
}

static struct ml_hlc later(struct ml_hlc a, struct ml_hlc b)
{
	return ml_hlc_cmp(a, b) >= 0 ? a : b;
}

static bool moves(enum ml_optype t)
{
	return t == ML_OT_MEMBER_TRANSFER || t == ML_OT_MEMBER_RECEIVE;
}

/* The summary of a fold's work; left empty when the entries cannot be summarised. */
static int write_sum_of_fold(const struct work *w, size_t n, const struct work *create,
                             const struct ml_member_view *v, uint64_t number_tag,
                             bool numbered_twice, struct ml_buf *sum)
{
	if (!create || v->n_conflicts_total)
		return ML_OK;
	struct ml_member_sum h;
	memset(&h, 0, sizeof h);
	h.n_entries = (uint32_t)n;
	h.create_type = create->e->type;
	h.first_approval = v->first_approval.hlc;
	h.flags = (v->approved_ever ? ML_SUM_APPROVED_EVER : 0) |
	          (v->has_number ? ML_SUM_HAS_NUMBER : 0) |
	          (numbered_twice ? ML_SUM_NUMBERED_TWICE : 0);
	if (v->has_number) {
		memcpy(h.number, v->number, 12);
		h.number_tag = number_tag;
	}
	for (size_t i = 0; i < n; i++) {
		if (moves(w[i].e->type))
			return ML_OK;
		h.last = later(h.last, w[i].e->stamp.hlc);
		if (w[i].change)
			h.last_change = later(h.last_change, w[i].e->stamp.hlc);
		if (!w[i].change || !w[i].approved)
			continue;
		/* A step builds the official record only from the record's own approval on. */
		if (!create->approved)
			return ML_OK;
		h.flags |= ML_SUM_ANY_APPROVED;
		h.last_approved = later(h.last_approved, w[i].e->stamp.hlc);
	}
	int rc = put_head(sum, &h);
	for (size_t i = 0; i < n && rc == ML_OK; i++)
		if (w[i].change)
			rc = put_change(sum, &w[i].e->stamp.id, w[i].e->tag,
			                (uint8_t)((w[i].submitted ? SC_SUBMITTED : 0) |
			                          (w[i].approved ? SC_APPROVED : 0) |
			                          (w[i].rejected ? SC_REJECTED : 0) |
			                          (&w[i] == create ? SC_CREATE : 0)));
	if (rc != ML_OK)
		sum->len = 0;
	return rc;
}

int ml_member_sum_parse(const uint8_t *p, size_t len, struct ml_member_sum *s)
{
	if (!p || len < SUM_HEAD || p[0] != SUM_VERSION ||
	    (len - SUM_HEAD) % ML_MEMBER_SUM_CHANGE != 0)
		return ML_EMALFORMED;
	s->flags = p[1];
	s->create_type = (enum ml_optype)p[2];
	s->n_entries =
	    (uint32_t)p[3] | (uint32_t)p[4] << 8 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 24;
	s->last = get_hlc(p + 7);
	s->last_approved = get_hlc(p + 19);
	s->first_approval = get_hlc(p + 31);
	s->number_tag = get_u64(p + 43);
	memcpy(s->number, p + 51, 12);
	s->last_change = get_hlc(p + 63);
	s->changes = p + SUM_HEAD;
	s->n_changes = (len - SUM_HEAD) / ML_MEMBER_SUM_CHANGE;
	return ML_OK;
}

/* Index of change `id` in s, or -1. */
static long change_index(const struct ml_member_sum *s, const uint8_t *id)
{
	for (size_t i = 0; i < s->n_changes; i++)
		if (memcmp(s->changes + i * ML_MEMBER_SUM_CHANGE, id, 32) == 0)
			return (long)i;
	return -1;
}

bool ml_member_sum_change(const struct ml_member_sum *s, const uint8_t *id, uint64_t *tag)
{
	long i = change_index(s, id);
	if (i >= 0)
		*tag = get_u64(s->changes + (size_t)i * ML_MEMBER_SUM_CHANGE + 32);
	return i >= 0;
}

/* Splits a folded record (as write_record wrote it) back into slots. */
static int read_record(const uint8_t *p, size_t len, struct record *r)
{
	memset(r, 0, sizeof *r);
	struct ml_body b;
	if (!len)
		return ML_OK;
	if (ml_body_parse(&b, p, len, NULL) != ML_OK)
		return ML_EAGAIN;
	for (size_t i = 0; i < b.n; i++) {
		int s = 0;
		while (s < S_COUNT && (strlen(slot_names[s]) != b.f[i].klen ||
		                       memcmp(slot_names[s], b.f[i].key, b.f[i].klen) != 0))
			s++;
		if (s == S_COUNT)
			return ML_EAGAIN;
		r->slot[s] = (struct value){b.f[i].val, b.f[i].vlen};
	}
	return ML_OK;
}

/* The changes a step reads (approved by its entry), with their parsed bodies. */
struct fetched {
	struct ml_member_entry e;
	struct ml_body body;
};

static int by_fetched_stamp(const void *x, const void *y)
{
	const struct fetched *a = x, *b = y;
	return ml_stamp_cmp(&a->e.stamp, &b->e.stamp);
}

/* Applies decision e (body b) to the change flags fl of s; the changes it newly approves go
 * to approved[0..*k).  ML_EAGAIN when the outcome needs the full fold. */
static int decide_step(const struct ml_member_sum *s, uint8_t *fl, const struct ml_member_entry *e,
                       const struct ml_body *b, struct ml_member_sum *out, size_t *approved,
                       size_t *k, struct ml_member_view *v)
{
	const uint8_t *ids;
	size_t n;
	*k = 0;
	if (ml_body_ids(b, "changes", &ids, &n, NULL) != ML_OK)
		return ML_OK; /* as the fold: a decision naming nothing decides nothing */
	bool covers_create = false;
	for (size_t j = 0; j < n; j++) {
		long i = change_index(s, ids + j * ML_HASH_BYTES);
		if (i < 0)
			continue;
		uint8_t *f = &fl[i];
		covers_create |= *f & SC_CREATE;
		if (e->type == ML_OT_MEMBER_SUBMIT) {
			*f |= SC_SUBMITTED;
			if ((*f & SC_REJECTED) && !(*f & SC_APPROVED))
				*f &= (uint8_t)~SC_REJECTED;
		} else if (e->type == ML_OT_MEMBER_APPROVE && !(*f & SC_APPROVED)) {
			*f |= SC_APPROVED;
			approved[(*k)++] = (size_t)i;
		} else if (e->type == ML_OT_MEMBER_REJECT && !(*f & SC_REJECTED)) {
			*f |= SC_REJECTED;
		}
		if ((*f & SC_APPROVED) && (*f & SC_REJECTED))
			return ML_EAGAIN; /* a conflict: the fold lists it */
	}
	if (e->type == ML_OT_MEMBER_REJECT &&
	    ml_body_text(b, "reason", &v->return_reason, &v->return_reason_len, NULL) != ML_OK)
		v->return_reason = NULL;
	if (e->type != ML_OT_MEMBER_APPROVE)
		return ML_OK;
	if (covers_create && !(out->flags & ML_SUM_APPROVED_EVER)) {
		out->flags |= ML_SUM_APPROVED_EVER;
		out->first_approval = e->stamp.hlc;
	}
	const char *num;
	size_t len;
	if (ml_body_text(b, "number", &num, &len, NULL) == ML_OK && len == 12) {
		if (!(out->flags & ML_SUM_HAS_NUMBER)) {
			out->flags |= ML_SUM_HAS_NUMBER;
			memcpy(out->number, num, 12);
			out->number_tag = e->tag;
		} else if (memcmp(out->number, num, 12) != 0) {
			return ML_EAGAIN; /* two numbers */
		} else {
			out->flags |= ML_SUM_NUMBERED_TWICE;
		}
	}
	return ML_OK;
}

/* Reads the changes s[approved[0..k)] through get and applies them to the official record, in
 * stamp order, after every change approved before.  ML_EAGAIN when one is older than those. */
static int approve_step(const struct ml_member_sum *s, const size_t *approved, size_t k,
                        ml_member_get_fn get, void *ctx, struct fetched *got,
                        struct record *official, struct ml_member_sum *out)
{
	for (size_t i = 0; i < k; i++) {
		const uint8_t *c = s->changes + approved[i] * ML_MEMBER_SUM_CHANGE;
		int rc = get(ctx, get_u64(c + 32), &got[i].e);
		if (rc != ML_OK)
			return rc;
		if (memcmp(got[i].e.stamp.id.b, c, 32) != 0)
			return ML_EAGAIN;
		memset(&got[i].body, 0, sizeof got[i].body);
		ml_body_parse(&got[i].body, got[i].e.body, got[i].e.body_len, NULL);
	}
	qsort(got, k, sizeof *got, by_fetched_stamp);
	if (k && (out->flags & ML_SUM_ANY_APPROVED) &&
	    ml_hlc_cmp(got[0].e.stamp.hlc, out->last_approved) <= 0)
		return ML_EAGAIN;
	for (size_t i = 0; i < k; i++) {
		if (moves(got[i].e.type))
			return ML_EAGAIN;
		apply_change(official, &got[i].e, &got[i].body);
		out->last_approved = got[i].e.stamp.hlc;
		out->flags |= ML_SUM_ANY_APPROVED;
	}
	return ML_OK;
}

/* Sets *out to a copy of the record bytes p[0..len) (emptied first). */
static int copy_record(const uint8_t *p, size_t len, struct ml_buf *out)
{
	out->len = 0;
	return len ? ml_buf_add(out, p, len) : ML_OK;
}

/* True when every change of s, as fl flags them, is approved. */
static bool all_approved(const uint8_t *fl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(fl[i] & SC_APPROVED))
			return false;
	return true;
}

/*
 * The official record after decision e: its bytes go to *rec.  Most decisions
 * need no record decoded.  Unless it approves changes, the record stays as it
 * was.  Once every change is approved, the official record is the draft: both
 * are every change applied in stamp order.  Else the changes it approves are
 * read and applied to the official record.
 */
static int official_after(const struct ml_member_prior *p, bool was_official,
                          const struct ml_member_sum *s, const uint8_t *fl, const size_t *approved,
                          size_t k, ml_member_get_fn get, void *ctx, struct ml_member_sum *out,
                          struct ml_buf *rec)
{
	const uint8_t *before = was_official ? p->official : NULL;
	size_t before_len = was_official ? p->official_len : 0;
	if (!k)
		return copy_record(before, before_len, rec);
	if (all_approved(fl, s->n_changes)) {
		out->last_approved = s->last_change;
		out->flags |= ML_SUM_ANY_APPROVED;
		return copy_record(p->draft, p->draft_len, rec);
	}
	struct record official;
	struct fetched *got = ml_calloc(k, sizeof *got);
	int rc = got ? read_record(before, before_len, &official) : ML_ENOMEM;
	if (rc == ML_OK)
		rc = approve_step(s, approved, k, get, ctx, got, &official, out);
	if (rc == ML_OK)
		rc = write_record(&official, rec);
	ml_free(got);
	return rc;
}

int ml_member_step(const struct ml_member_prior *p, const struct ml_member_entry *e,
                   ml_member_get_fn get, void *ctx, struct ml_member_view *v, struct ml_buf *sum)
{
	memset(v, 0, sizeof *v);
	v->state = ML_REC_UNKNOWN;
	sum->len = 0;
	struct ml_member_sum s;
	bool is_change = ml_optype_info(e->type)->flags & ML_OTF_CHANGE;
	bool is_decision = e->type == ML_OT_MEMBER_SUBMIT || e->type == ML_OT_MEMBER_APPROVE ||
	                   e->type == ML_OT_MEMBER_REJECT;
	if (ml_member_sum_parse(p->sum, p->sum_len, &s) != ML_OK || s.n_entries != p->n_entries ||
	    ml_hlc_cmp(e->stamp.hlc, s.last) <= 0 || moves(e->type) ||
	    (ml_optype_info(e->type)->flags & ML_OTF_CREATES) || !(is_change || is_decision) ||
	    s.n_changes + 1 > ML_MEMBER_MAX_ENTRIES || !p->draft_len)
		return ML_EAGAIN;
	/* A member has few changes: their flags live on the stack unless there are many. */
	uint8_t fl_small[32];
	size_t approved_small[32];
	bool small = s.n_changes + 1 <= 32;
	uint8_t *fl = small ? fl_small : ml_malloc(s.n_changes + 1);
	size_t *approved = small ? approved_small : ml_calloc(s.n_changes + 1, sizeof *approved);
	int rc = fl && approved ? ML_OK : ML_ENOMEM;
	bool was_official = false;
	for (size_t i = 0; i < s.n_changes && rc == ML_OK; i++) {
		fl[i] = s.changes[i * ML_MEMBER_SUM_CHANGE + 40];
		if ((fl[i] & SC_CREATE) && (fl[i] & SC_APPROVED))
			was_official = true;
	}
	struct ml_body body;
	memset(&body, 0, sizeof body);
	ml_body_parse(&body, e->body, e->body_len, NULL);
	struct ml_member_sum out = s;
	out.n_entries++;
	out.last = e->stamp.hlc;
	bool official_now = was_official;
	if (rc == ML_OK && is_change) {
		/* Later than every decision, so none names it: a pending change of the draft.  The
		 * official record stays as it was. */
		struct record draft;
		rc = read_record(p->draft, p->draft_len, &draft);
		if (rc == ML_OK) {
			apply_change(&draft, e, &body);
			rc = write_record(&draft, &v->draft);
		}
		fl[s.n_changes] = 0;
		out.last_change = e->stamp.hlc;
		if (rc == ML_OK && was_official)
			rc = copy_record(p->official, p->official_len, &v->official);
	} else if (rc == ML_OK) {
		size_t k = 0;
		rc = decide_step(&s, fl, e, &body, &out, approved, &k, v);
		for (size_t i = 0; i < s.n_changes; i++)
			official_now |= (fl[i] & SC_CREATE) && (fl[i] & SC_APPROVED);
		/* Approved changes before the record's own approval: the full fold. */
		if (rc == ML_OK && k && !official_now)
			rc = ML_EAGAIN;
		/* A decision changes no field of the draft. */
		if (rc == ML_OK)
			rc = copy_record(p->draft, p->draft_len, &v->draft);
		if (rc == ML_OK && official_now)
			rc = official_after(p, was_official, &s, fl, approved, k, get, ctx, &out,
			                    &v->official);
	}
	size_t n = s.n_changes + (is_change ? 1 : 0);
	bool waiting = false, rejected = false;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		v->changes++;
		if (fl[i] & SC_APPROVED)
			v->approved++;
		else if (fl[i] & SC_REJECTED)
			v->rejected++;
		else
			v->pending++;
		waiting |= (fl[i] & SC_SUBMITTED) && !(fl[i] & (SC_APPROVED | SC_REJECTED));
		rejected |= fl[i] & SC_REJECTED;
	}
	if (rc == ML_OK) {
		v->create_unit = v->unit = p->create_unit;
		v->create_type = s.create_type;
		v->approved_ever = out.flags & ML_SUM_APPROVED_EVER;
		v->first_approval.hlc = out.first_approval;
		v->has_number = out.flags & ML_SUM_HAS_NUMBER;
		memcpy(v->number, out.number, 12);
		/* Only the create and moves write the unit, and a summarised member never
		 * moved: its official record's unit is the create's. */
		if (official_now) {
			v->state = ML_REC_OFFICIAL;
		} else {
			v->state = waiting    ? ML_REC_SUBMITTED
			           : rejected ? ML_REC_RETURNED
			                      : ML_REC_DRAFT;
		}
	}
	if (rc == ML_OK)
		rc = put_head(sum, &out);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		struct ml_hash cid = e->stamp.id;
		uint64_t tag = e->tag;
		if (i < s.n_changes) {
			memcpy(cid.b, s.changes + i * ML_MEMBER_SUM_CHANGE, 32);
			tag = get_u64(s.changes + i * ML_MEMBER_SUM_CHANGE + 32);
		}
		rc = put_change(sum, &cid, tag, fl[i]);
	}
	if (!small) {
		ml_free(fl);
		ml_free(approved);
	}
	if (rc != ML_OK) {
		ml_member_view_release(v);
		memset(v, 0, sizeof *v);
		v->state = ML_REC_UNKNOWN;
		ml_buf_release(sum);
	}
	return rc;
}
