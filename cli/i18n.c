/*
 * i18n.c - choosing the message catalogue (see i18n.h).
 *
 * The catalogue is looked for in $MEMBERLOG_LOCALEDIR, else where this
 * build put it (so the binary in build/ speaks Vietnamese without being
 * installed), else the installed locale directory.
 */
#include "i18n.h"

#include <locale.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef ML_BUILD_LOCALEDIR
#define ML_BUILD_LOCALEDIR ""
#endif
#ifndef ML_LOCALEDIR
#define ML_LOCALEDIR "/usr/local/share/locale"
#endif

void cli_i18n_init(void)
{
	setlocale(LC_ALL, "");
	const char *dir = getenv("MEMBERLOG_LOCALEDIR");
	if (!dir || !*dir)
		dir = access(ML_BUILD_LOCALEDIR "/vi/LC_MESSAGES/memberlog.mo", R_OK) == 0
		          ? ML_BUILD_LOCALEDIR
		          : ML_LOCALEDIR;
	bindtextdomain("memberlog", dir);
	bind_textdomain_codeset("memberlog", "UTF-8");
	textdomain("memberlog");
}
