/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-parse-server-info.c: libFuzzer target for spyglass_parse_server_info() (GET /) */
#include "config.h"

#include <stdint.h>

#include "spyglass-plex-parse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) body = g_bytes_new_static (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) result = NULL;

  result = spyglass_parse_server_info (body, &error);
  g_assert ((result == NULL) != (error == NULL));

  return 0;
}
