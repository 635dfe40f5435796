/*
 * record.h - a member's folded record (canonical CBOR map, docs/REGISTER.md
 * §4) as JSON, for showing, exporting and reporting.
 */
#ifndef ML_CLI_RECORD_H
#define ML_CLI_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Returns the record p[0..n) as a new JSON object: text as strings, numbers
 * as integers, booleans, 32-byte ids as hex, lists as arrays; NULL when p is
 * not a record (or n is 0).  The caller owns the result.
 */
json_t *cli_record_json(const uint8_t *p, size_t n);

/* Returns the text field key of obj, or "" when absent; borrowed from obj. */
const char *cli_jstr(const json_t *obj, const char *key);

#endif
