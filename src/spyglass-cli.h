/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs `spyglass SUBCOMMAND …` and returns the exit status:
 * 0 success, 1 a Plex or network error, 2 a usage error. */
int spyglass_cli_run (int   argc,
                      char *argv[]);

G_END_DECLS
