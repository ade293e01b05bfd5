/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-cli.h"

int
spyglass_cli_run (int   argc,
                  char *argv[])
{
  return 2;
}
