/*
 * cmd_sample.c - `memberlog sample`: a Phụ lục 03 template filled with
 * synthetic, realistic members (cli/people.h), for the demo network, the
 * user guide and anyone trying the import without real personal data; with
 * --tree, an organisation tree of realistic unit sizes (cli/orgtree.h), for
 * the nation-scale simulation and anyone sizing a deployment.
 */
#include "cli.h"

#include "cli/i18n.h"
#include "cli/orgtree.h"
#include "cli/people.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "sample -o FILE.csv [--rows N] [--seed S] [--first SERIAL]\n"
    "       memberlog sample --tree -o FILE.csv [--provinces N] [--districts N] "
    "[--bases N | --members N] [--groups] [--seed S]";

/* Parses a whole decimal number in [min, max] into *v; false otherwise. */
static bool number_arg(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *s && !*end && *v >= min && *v <= max;
}

/* Writes the tree of shape to out and prints what it holds. */
static int write_tree(const char *out, const struct ml_orgtree_shape *shape)
{
	struct ml_orgtree t;
	if (ml_orgtree_make(shape, &t) != 0)
		return errno == EINVAL
		           ? cli_error(_("--provinces × --districts × --bases is more than "
		                         "4,000,000 base units: make the tree smaller"))
		           : cli_error(_("cannot make the tree: %s"), strerror(errno));
	size_t count[ML_ORG_GROUP + 1] = {0};
	for (size_t i = 0; i < t.n; i++)
		count[t.units[i].kind]++;
	int64_t p50 = ml_orgtree_base_percentile(&t, 50), p90 = ml_orgtree_base_percentile(&t, 90),
	        p100 = ml_orgtree_base_percentile(&t, 100);
	FILE *f = fopen(out, "w");
	int rc = f ? ml_orgtree_csv(f, &t) : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc != 0 || p50 < 0 || p90 < 0 || p100 < 0) {
		int e = errno;
		ml_orgtree_free(&t);
		return cli_error(_("cannot write '%s': %s"), out, strerror(e));
	}
	printf(_("wrote a tree of %zu units to %s: %zu provinces, %zu districts, %zu base units "
	         "(%zu union groups) with %llu members; base units hold %lld members at the "
	         "median, %lld at the 90th percentile, %lld at most\n"),
	       t.n, out, count[ML_ORG_PROVINCE], count[ML_ORG_DISTRICT], count[ML_ORG_BASE],
	       count[ML_ORG_GROUP], (unsigned long long)t.members, (long long)p50, (long long)p90,
	       (long long)p100);
	ml_orgtree_free(&t);
	return CLI_OK;
}

/* The index in opts of the option whose short value is c. */
static size_t opt_index(const struct option *opts, int c)
{
	size_t i = 0;
	while (opts[i].name && opts[i].val != c)
		i++;
	return i;
}

int cmd_sample(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"rows", required_argument, NULL, 'r'},
	                                     {"seed", required_argument, NULL, 's'},
	                                     {"first", required_argument, NULL, 'f'},
	                                     {"tree", no_argument, NULL, 't'},
	                                     {"provinces", required_argument, NULL, 'P'},
	                                     {"districts", required_argument, NULL, 'D'},
	                                     {"bases", required_argument, NULL, 'B'},
	                                     {"members", required_argument, NULL, 'M'},
	                                     {"groups", no_argument, NULL, 'g'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	unsigned long long rows = 20, seed = 1, first = 1;
	unsigned long long provinces = 3, districts = 3, bases = 3, members = 0;
	bool tree = false, groups = false;
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
		else if (c == 't')
			tree = true;
		else if (c == 'g')
			groups = true;
		else if (c == 'P')
			ok = number_arg(optarg, 1, 100, &provinces);
		else if (c == 'D')
			ok = number_arg(optarg, 1, 1000, &districts);
		else if (c == 'B')
			ok = number_arg(optarg, 1, 100000, &bases);
		else if (c == 'M')
			ok = number_arg(optarg, 1, 20000000, &members);
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
			             "its own --first serial so ID numbers do not repeat.\n\n"
			             "With --tree, writes an organisation tree instead (CSV: "
			             "index,parent,level,sector,members,name): the national unit, "
			             "--provinces (default 3), --districts per province (default "
			             "3) "
			             "and --bases per district (default 3), or base units until "
			             "--members are placed; --groups splits base units of 30 or "
			             "more into union groups. Base-unit sizes are drawn by sector "
			             "as the trade union's are spread: many small units, a long "
			             "tail of large enterprises (cli/orgtree.c).\n"),
			           usage),
			       CLI_OK;
		else
			return cli_usage(usage);
		if (!ok)
			return cli_error(_("--%s '%s' is not a number in its range (see --help)"),
			                 opts[opt_index(opts, c)].name, optarg),
			       CLI_USAGE;
	}
	if (!out || optind != argc)
		return cli_usage(usage);
	(void)cli;
	if (tree)
		return write_tree(out, &(struct ml_orgtree_shape){.seed = seed,
		                                                  .provinces = (uint32_t)provinces,
		                                                  .districts = (uint32_t)districts,
		                                                  .bases = (uint32_t)bases,
		                                                  .members = members,
		                                                  .groups = groups});
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
