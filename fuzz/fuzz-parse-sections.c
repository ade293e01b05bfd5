/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-parse-sections.c: libFuzzer target for spyglass_parse_sections() (GET /library/sections) */
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
  g_autoptr(GPtrArray) result = NULL;

  result = spyglass_parse_sections (body, &error);
  g_assert ((result == NULL) != (error == NULL));

  /* The contract in spyglass-plex-types.h, checked on every result. */
  for (guint i = 0; result != NULL && i < result->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (result, i);

      g_assert (section->key != NULL && section->key[0] != '\0');
      g_assert (g_utf8_validate (section->key, -1, NULL));
      g_assert (section->type != NULL && g_utf8_validate (section->type, -1, NULL));
      g_assert (section->title != NULL && g_utf8_validate (section->title, -1, NULL));
      g_assert (section->locations != NULL);
      for (guint j = 0; section->locations[j] != NULL; j++)
        g_assert (section->locations[j][0] != '\0' &&
                  g_utf8_validate (section->locations[j], -1, NULL));
    }

  return 0;
}
