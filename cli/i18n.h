/*
 * i18n.h - messages through gettext (domain "memberlog", po/vi.po).
 *
 * Wrap every sentence a person reads in _("...") so xgettext finds it; use
 * N_("...") for strings in static tables, translated where they are shown, and
 * ngettext(one, many, n) where a count decides the English form (Vietnamese
 * has one form: msgstr[0]).
 * Field names, JSON keys, op types and identifiers are never translated.
 */
#ifndef ML_CLI_I18N_H
#define ML_CLI_I18N_H

#include <libintl.h>

#define _(s)  gettext(s)
#define N_(s) (s)

/* Selects the user's locale and binds the message catalogue; called once by main. */
void cli_i18n_init(void);

#endif
