/*
 * people.h - synthetic but realistic members, reproducible from a seed: for
 * the demo network, the tests and the benchmarks.
 *
 * Vietnamese full names with their diacritics, family names drawn at their
 * real frequencies (census studies), middle and given names by gender;
 * dates of birth between 1965 and 2004; hometowns among real provinces;
 * 12-digit citizen ID numbers structured like real ones (province code,
 * gender-and-century digit, two-digit year, serial); union join dates at
 * ages 18 to 27, none after 2025; one in ten holds a union position.  Not real people: the
 * serials are ours, so two runs with the same seed give the same people.
 */
#ifndef ML_CLI_PEOPLE_H
#define ML_CLI_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ml_people {
	uint64_t s; /* xorshift64 state */
};

struct ml_person {
	char full_name[96];
	char dob[16]; /* dd/MM/yyyy */
	bool female;
	char hometown[48];
	char id_number[16];
	char union_join_date[16];
	const char *position; /* "chair", "exec_committee_member", "group_leader" or NULL */
	bool pays_dues;
};

/* The name of the i-th of the provinces people come from (i wraps around), for unit names. */
const char *ml_people_province(size_t i);

/* Seeds g; the same seed gives the same people. */
void ml_people_seed(struct ml_people *g, uint64_t seed);

/* Makes the next person into *out; serial (unique per run) ends the ID number. */
void ml_people_next(struct ml_people *g, uint32_t serial, struct ml_person *out);

/*
 * Writes n people (serials first .. first+n-1) to f as the official new-member
 * template (Phụ lục 03) in CSV: its three header rows, then one row each.
 * Returns 0, or -1 when writing failed (errno set).
 */
int ml_people_template_csv(FILE *f, struct ml_people *g, uint32_t first, uint32_t n);

#endif
