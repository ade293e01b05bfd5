/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A process that owns a scan queue, for tests that kill it: loads the
 * queue in STATE_DIR, adds the folders given, sends until nothing is left
 * and exits 0.  Exit 3 when another process holds the queue.
 *
 *   queue-runner STATE_DIR URL [--threshold N] [FOLDER…]
 *
 * The token comes from $PLEX_TOKEN.
 */
#include "config.h"

#include "spyglass-core.h"

static void
on_idle (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  *done = TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SpyglassClient) client = NULL;
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *recovered = NULL;
  gboolean done = FALSE;
  int first = 3;

  if (argc < 3)
    {
      g_printerr ("usage: queue-runner STATE_DIR URL [--threshold N] [FOLDER…]\n");
      return 2;
    }

  client = spyglass_client_new (argv[2], g_getenv ("PLEX_TOKEN"));
  queue = spyglass_queue_new (client, argv[1]);
  spyglass_queue_set_batch_window (queue, 0);

  if (argc > 4 && g_str_equal (argv[3], "--threshold"))
    {
      spyglass_queue_set_threshold (queue, (guint) g_ascii_strtoull (argv[4], NULL, 10));
      first = 5;
    }

  if (!spyglass_queue_load (queue, &recovered, &error))
    {
      g_printerr ("queue-runner: %s\n", error->message);
      return g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED) ? 3 : 1;
    }

  for (int i = first; i < argc; i++)
    spyglass_queue_add_folder (queue, argv[i], NULL, FALSE);

  spyglass_queue_start (queue);
  spyglass_queue_wait_idle_async (queue, NULL, on_idle, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);

  return 0;
}
