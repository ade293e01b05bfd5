/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-parse-notification.c: libFuzzer target for spyglass_parse_notification() (one notification WebSocket frame) */
#include "config.h"

#include <stdint.h>

#include "spyglass-plex-parse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) frame = g_bytes_new_static (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) result = NULL;

  result = spyglass_parse_notification (frame, &error);
  g_assert ((result == NULL) != (error == NULL));

  /* The contract in spyglass-plex-types.h, checked on every result. */
  for (guint i = 0; result != NULL && i < result->len; i++)
    {
      SpyglassActivityEvent *event = g_ptr_array_index (result, i);
      SpyglassActivity *activity = event->activity;

      g_assert (event->kind == SPYGLASS_ACTIVITY_EVENT_STARTED ||
                event->kind == SPYGLASS_ACTIVITY_EVENT_UPDATED ||
                event->kind == SPYGLASS_ACTIVITY_EVENT_ENDED);
      g_assert (activity != NULL);
      g_assert (activity->uuid != NULL && activity->uuid[0] != '\0');
      g_assert (g_utf8_validate (activity->uuid, -1, NULL));
      g_assert (activity->type != NULL && g_utf8_validate (activity->type, -1, NULL));
      g_assert (activity->title == NULL || g_utf8_validate (activity->title, -1, NULL));
      g_assert (activity->progress >= -1 && activity->progress <= 100);
      g_assert (activity->section_key == NULL || activity->section_key[0] != '\0');
    }

  return 0;
}
