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
	for (int s = 0; s < S_COUNT; s++)
		if (r->slot[s].p)
			ml_bb_raw(&bb, slot_names[s], r->slot[s].p, r->slot[s].n);
	int rc = ml_bb_finish(&bb, out);
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

int ml_member_fold(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                   struct ml_member_view *v)
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
			if (!v->has_number) {
				v->has_number = true;
				memcpy(v->number, num, 12);
				number_op = &w[i].e->stamp.id;
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
	ml_free(w);
	if (rc != ML_OK)
		ml_member_view_release(v);
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
