/*
 * test_cli.h - helpers shared by the tests of cli/'s file formats (sheet,
 * template, export): scratch directories, whole-file reads and writes, and
 * hand-built XLSX archives.  Every helper fails the running test on error.
 */
#ifndef ML_TEST_CLI_H
#define ML_TEST_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Creates a new empty directory under $TMPDIR (or /tmp); caller frees the path with free. */
char *cli_test_tmpdir(void);

/* Removes dir and everything in it, then frees the path. */
void cli_test_rmdir(char *dir);

/* Returns "dir/name"; caller frees with free. */
char *cli_test_path(const char *dir, const char *name);

/* Writes p[0..n) to path, replacing it. */
void cli_test_write(const char *path, const void *p, size_t n);

/* Returns the bytes of path (NUL-terminated past *n); caller frees with free. */
uint8_t *cli_test_read(const char *path, size_t *n);

/* Returns how many entries dir holds (without . and ..). */
int cli_test_count_files(const char *dir);

/* One member of a ZIP archive: its name and NUL-terminated text. */
struct cli_test_part {
	const char *name;
	const char *text;
};

/*
 * Writes a ZIP archive of parts[0..n) to path with libzip, deflated unless
 * `stored`; the tests build XLSX files part by part with it.
 */
void cli_test_zip(const char *path, const struct cli_test_part *parts, size_t n, int stored);

/* Namespaces of SpreadsheetML and of relationships, for hand-written parts. */
#define CLI_TEST_NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define CLI_TEST_NS_REL  "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define CLI_TEST_NS_PKG  "http://schemas.openxmlformats.org/package/2006/relationships"

#endif
