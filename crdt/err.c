/*
 * err.c - names and messages for enum ml_err, generated from ML_ERRNO_MAP.
 */
#include "err.h"

#include <string.h>

struct err_entry {
	int code;
	const char *name;
	const char *msg;
};

static const struct err_entry entries[] = {
#define ML_ERR_ENTRY(name, msg) {ML_##name, "ML_" #name, msg},
    ML_ERRNO_MAP(ML_ERR_ENTRY)
#undef ML_ERR_ENTRY
};

static const struct err_entry *find(int err)
{
	if (err <= ML__ERR_BASE || err >= ML__ERR_END)
		return NULL;
	return &entries[err - ML__ERR_BASE - 1];
}

const char *ml_strerror(int err)
{
	if (err == ML_OK)
		return "success";
	const struct err_entry *e = find(err);
	return e ? e->msg : "unknown error";
}

const char *ml_err_name(int err)
{
	if (err == ML_OK)
		return "ML_OK";
	const struct err_entry *e = find(err);
	return e ? e->name : "ML_EUNKNOWN";
}

int ml_err_from_name(const char *name)
{
	if (strcmp(name, "ML_OK") == 0 || strcmp(name, "OK") == 0)
		return ML_OK;
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
		if (strcmp(name, entries[i].name) == 0 || strcmp(name, entries[i].name + 3) == 0)
			return entries[i].code;
	}
	return ML_EINVAL;
}
