/*
 * cmd_sample.c - `memberlog sample`: a Phụ lục 03 template filled with
 * synthetic, realistic members (cli/people.h), for the demo network, the
 * user guide and anyone trying the import without real personal data.
 */
#include "cli.h"

#include "cli/i18n.h"
#include "cli/people.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "sample -o FILE.csv [--rows N] [--seed S] [--first SERIAL]";

/* Parses a whole decimal number in [min, max] into *v; false otherwise. */
static bool number_arg(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *s && !*end && *v >= min && *v <= max;
}

int cmd_sample(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"rows", required_argument, NULL, 'r'},
	                                     {"seed", required_argument, NULL, 's'},
	                                     {"first", required_argument, NULL, 'f'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	unsigned long long rows = 20, seed = 1, first = 1;
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		bool ok = true;
		if (c == 'o')
			out = optarg;
		else if (c == 'r')
			ok = number_arg(optarg, 1, 100000, &rows);
		else if (c == 's')
			ok = number_arg(optarg, 0, UINT64_MAX, &seed);
		else if (c == 'f')
			ok = number_arg(optarg, 0, 999999, &first);
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nWrites the official new-member "
			             "template (Phụ lục 03, CSV) filled with N (default 20, at "
			             "most "
			             "100,000) synthetic members: Vietnamese names, dates of "
			             "birth, "
			             "hometowns and 12-digit ID numbers like real ones, never real "
			             "people. The same --seed gives the same people; give each "
			             "unit "
			             "its own --first serial so ID numbers do not repeat.\n"),
			           usage),
			       CLI_OK;
		else
			return cli_usage(usage);
		if (!ok)
			return cli_error(_("--%s '%s' is not a number in its range (see --help)"),
			                 c == 'r'   ? "rows"
			                 : c == 's' ? "seed"
			                            : "first",
			                 optarg),
			       CLI_USAGE;
	}
	if (!out || optind != argc)
		return cli_usage(usage);
	(void)cli;
	FILE *f = fopen(out, "w");
	if (!f)
		return cli_error(_("cannot write '%s': %s"), out, strerror(errno));
	struct ml_people g;
	ml_people_seed(&g, seed);
	int rc = ml_people_template_csv(f, &g, (uint32_t)first, (uint32_t)rows);
	if (fclose(f) != 0 || rc != 0)
		return cli_error(_("cannot write '%s': %s"), out, strerror(errno));
	printf(_("wrote %llu synthetic members to %s\n"), rows, out);
	return CLI_OK;
}
