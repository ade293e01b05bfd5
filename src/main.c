/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-cli.h"

int
main (int   argc,
      char *argv[])
{
  return spyglass_cli_run (argc, argv);
}
