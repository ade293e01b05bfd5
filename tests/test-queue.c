/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The scan queue against the fake Plex server: what Plex receives, what
 * is left on disk, and that nothing is lost (back-off, a paused queue, a
 * killed process).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "fake-plex.h"
#include "spyglass-core.h"

typedef struct
{
  FakePlex       *plex;
  SpyglassClient *client;
  char           *state_dir;
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 50);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
  fixture->state_dir = g_dir_make_tmp ("spyglass-queue-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  remove_tree (fixture->state_dir);
  g_free (fixture->state_dir);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);
}

static SpyglassQueue *
queue_new (Fixture *fixture)
{
  g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autoptr(GError) error = NULL;

  spyglass_queue_set_batch_window (queue, 50);
  spyglass_queue_set_backoff (queue, 20, 100);
  g_assert_true (spyglass_queue_load (queue, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&queue);
}

static void
on_idle (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_assert_true (spyglass_queue_wait_idle_finish (SPYGLASS_QUEUE (source), result, NULL));
  *done = TRUE;
}

static void
wait_idle (SpyglassQueue *queue)
{
  gboolean done = FALSE;

  spyglass_queue_wait_idle_async (queue, NULL, on_idle, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms milliseconds. */
static void
spin (guint ms)
{
  gboolean expired = FALSE;

  g_timeout_add (ms, on_timeout, &expired);
  while (!expired)
    g_main_context_iteration (NULL, TRUE);
}

/* The refresh requests Plex received, as "KEY PATH" lines ("*" for a
 * whole library). */
static char *
refresh_log (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);
  GString *log = g_string_new (NULL);

  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);
      const char *path = fake_plex_request_get_param_string (request, "path");
      g_auto(GStrv) parts = NULL;

      if (!g_str_has_suffix (request->path, "/refresh"))
        continue;
      parts = g_strsplit (request->path, "/", -1);
      g_string_append_printf (log, "%s %s\n", parts[3], path != NULL ? path : "*");
    }

  return g_string_free (log, FALSE);
}

static char *
file_contents (Fixture    *fixture,
               const char *name)
{
  g_autofree char *path = g_build_filename (fixture->state_dir, name, NULL);
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, NULL);
  return contents;
}

static void
test_send (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autofree char *log = NULL;
  g_autofree char *history_file = NULL;
  g_autofree char *journal = NULL;
  g_autoptr(GPtrArray) on_disk = NULL;
  g_autoptr(GError) error = NULL;
  SpyglassRequest *request;
  GPtrArray *history;

  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/data/music/Air/Moon Safari", NULL, FALSE);
  spyglass_queue_add_folder (queue, "/data/movies/Alien", NULL, FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 2);
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_QUEUED);

  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air/Moon Safari\n1 /data/movies/Alien\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 0);

  history = spyglass_queue_get_history (queue);
  g_assert_cmpuint (history->len, ==, 2);
  g_assert_true (g_ptr_array_index (history, 0) == request);
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_DONE);
  g_assert_cmpstr (spyglass_request_get_section_title (request), ==, "Music");
  g_assert_cmpuint (spyglass_request_get_attempts (request), ==, 1);
  g_assert_cmpint (spyglass_request_get_sent (request), >, 0);

  /* What is on disk: an empty queue (as `spyglass status` reads it), and
   * the history.  Each request was added to the journal, then removed;
   * once the queue is empty that comes to nothing, and the journal is cut
   * back to its first line. */
  on_disk = spyglass_queue_read_requests (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, 0);
  journal = file_contents (fixture, "queue.journal");
  g_assert_cmpstr (journal, ==, "{\"version\":1,\"generation\":0}\n");
  history_file = file_contents (fixture, "history.jsonl");
  g_assert_nonnull (strstr (history_file, "/data/music/Air/Moon Safari"));
  g_assert_nonnull (strstr (history_file, "\"state\":\"done\""));
}

/* Requests that arrive together are coalesced; a whole-library request
 * absorbs its library's folders. */
static void
test_batching (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autofree char *log = NULL;

  spyglass_queue_start (queue);
  spyglass_queue_add_folder (queue, "/data/music/Air/Moon Safari", NULL, FALSE);
  spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spyglass_queue_add_folder (queue, "/data/music/Air/Talkie Walkie", NULL, FALSE);
  spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n");
  /* Four requests, one scan, four results. */
  g_assert_cmpuint (spyglass_queue_get_history (queue)->len, ==, 4);

  fake_plex_clear_requests (fixture->plex);
  spyglass_queue_add_folder (queue, "/data/music/Björk/Homogenic", NULL, FALSE);
  spyglass_queue_add_library (queue, "3", FALSE);
  spyglass_queue_add_folder (queue, "/data/music/Can/Tago Mago", NULL, FALSE);
  spyglass_queue_add_folder (queue, "/data/movies/Alien", NULL, FALSE);
  wait_idle (queue);
  g_clear_pointer (&log, g_free);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 *\n1 /data/movies/Alien\n");

  /* More than the threshold of folders: one whole-library scan. */
  fake_plex_clear_requests (fixture->plex);
  spyglass_queue_set_threshold (queue, 3);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/music/Artist %u", i);
      spyglass_queue_add_folder (queue, path, NULL, FALSE);
    }
  wait_idle (queue);
  g_clear_pointer (&log, g_free);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 *\n");
}

/* A burst longer than the batch window is one batch all the same: the
 * window stays open while requests keep coming.  (A queue that knows the
 * libraries already: the first fetch would hold the batch up.) */
static void
test_batching_long_burst (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autofree char *log = NULL;

  spyglass_queue_start (queue);
  spyglass_queue_add_folder (queue, "/data/movies/Alien", NULL, FALSE);
  wait_idle (queue);
  fake_plex_clear_requests (fixture->plex);

  /* A request every 25 ms for one and a half windows. */
  spyglass_queue_set_batch_window (queue, 1000);
  spyglass_queue_set_threshold (queue, 3);
  for (guint i = 0; i < 60; i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/music/Artist %02u", i);

      spyglass_queue_add_folder (queue, path, NULL, FALSE);
      spin (25);
    }
  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 *\n");
}

/* ... but a steady stream is not held back: a batch closes at the latest
 * SPYGLASS_QUEUE_MAX_BATCH_WINDOWS windows after its first request. */
static void
test_batching_steady_stream (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autoptr(GPtrArray) sent_while_adding = NULL;
  g_autoptr(GPtrArray) sent = NULL;

  spyglass_queue_set_batch_window (queue, 200);
  spyglass_queue_set_threshold (queue, 0);
  spyglass_queue_start (queue);

  /* A request every 25 ms for 3 s: the window never stays quiet, yet a
   * batch leaves after 10 windows (2 s). */
  for (guint i = 0; i < 120; i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/music/Artist %03u", i);

      spyglass_queue_add_folder (queue, path, NULL, FALSE);
      spin (25);
    }
  sent_while_adding = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");
  g_assert_cmpuint (sent_while_adding->len, >, 0);

  wait_idle (queue);
  sent = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");
  g_assert_cmpuint (sent->len, ==, 120);
}

static void
lower_threshold (SpyglassQueue *queue,
                 GPtrArray     *batch,
                 gpointer       user_data)
{
  spyglass_queue_set_threshold (queue, 3);
}

/* Requests coalesced already are coalesced again when the threshold
 * changes while they wait. */
static void
test_threshold_changed_while_queued (Fixture       *fixture,
                                     gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autofree char *log = NULL;

  spyglass_queue_start (queue);
  spyglass_queue_add_folder (queue, "/data/movies/Alien", NULL, FALSE);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/music/Artist %u", i);
      spyglass_queue_add_folder (queue, path, NULL, FALSE);
    }

  /* Four folders are under the threshold of 10 until the first request
   * has gone. */
  g_signal_connect (queue, "batch-sent", G_CALLBACK (lower_threshold), NULL);
  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "1 /data/movies/Alien\n3 *\n");
}

/* A copy of the queue kept only through "items-changed". */
static void
mirror_items_changed (GListModel *model,
                      guint       position,
                      guint       removed,
                      guint       added,
                      GPtrArray  *mirror)
{
  g_assert_cmpuint (position + removed, <=, mirror->len);
  g_ptr_array_remove_range (mirror, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (mirror, position + i, g_list_model_get_item (model, position + i));

  g_assert_cmpuint (mirror->len, ==, g_list_model_get_n_items (model));
  for (guint i = 0; i < mirror->len; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      g_assert_true (item == g_ptr_array_index (mirror, i));
    }
}

static void
check_not_queued (SpyglassQueue   *queue,
                  SpyglassRequest *request,
                  gpointer         user_data)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (queue)); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (queue), i);

      g_assert_true (item != (GObject *) request);
    }
}

/* The queue as a list model: each change signalled where it happened,
 * while batches whose requests lie apart in the queue are finished. */
static void
test_list_model (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autoptr(GPtrArray) mirror = g_ptr_array_new_with_free_func (g_object_unref);
  const char * const folders[] = {
    "/data/music/A", "/data/movies/X", "/data/music/A", "/data/music/B",
    "/data/movies/X", "/data/music/A", "/data/music/B", "/data/movies/Y",
  };
  g_autofree char *log = NULL;

  g_signal_connect (queue, "items-changed", G_CALLBACK (mirror_items_changed), mirror);
  g_signal_connect (queue, "request-finished", G_CALLBACK (check_not_queued), NULL);
  spyglass_queue_set_threshold (queue, 0);
  spyglass_queue_start (queue);
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
      spyglass_queue_add_folder (queue, folders[i], NULL, FALSE);
  wait_idle (queue);

  g_assert_cmpuint (mirror->len, ==, 0);
  g_assert_cmpuint (spyglass_queue_get_history (queue)->len, ==, 16);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/A\n1 /data/movies/X\n3 /data/music/B\n1 /data/movies/Y\n");
}

static void
test_not_in_library (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  SpyglassRequest *request;
  g_autofree char *log = NULL;

  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/home/me/Music/Air", NULL, FALSE);
  wait_idle (queue);
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_FAILED);
  g_assert_true (g_str_has_prefix (spyglass_request_get_message (request),
                                   "“/home/me/Music/Air” is not in any Plex library folder"));
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "");
}

/* The server is down: the queue backs off and delivers once it is back. */
static void
test_backoff (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autoptr(GError) error = NULL;
  guint16 port = fake_plex_get_port (fixture->plex);
  SpyglassRequest *request;
  g_autofree char *log = NULL;

  fake_plex_stop (fixture->plex);
  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spin (400);

  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_QUEUED);
  g_assert_cmpstr (spyglass_request_get_message (request), ==, "Cannot reach Plex server");
  g_assert_false (spyglass_queue_get_paused (queue));

  g_assert_true (fake_plex_start_on_port (fixture->plex, port, NULL, &error));
  g_assert_no_error (error);
  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n");
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_DONE);
}

/* A server error is retried too. */
static void
test_server_error_retried (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  g_autofree char *log = NULL;
  SpyglassRequest *request;

  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spin (100);  /* the libraries are fetched */
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_SERVER_ERROR);
  spin (300);
  g_assert_cmpint (spyglass_request_get_state (request), !=, SPYGLASS_REQUEST_FAILED);
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_NONE);
  wait_idle (queue);
  log = refresh_log (fixture);
  g_assert_true (g_str_has_suffix (log, "3 /data/music/Air\n"));
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_DONE);
}

/* 401 pauses the queue without dropping anything; a new token resumes. */
static void
test_pause_on_invalid_token (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autofree char *log = NULL;
  SpyglassRequest *request;
  guint n_requests;

  spyglass_client_set_token (fixture->client, "stale-token");
  queue = queue_new (fixture);
  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spin (300);

  g_assert_true (spyglass_queue_get_paused (queue));
  g_assert_cmpstr (spyglass_queue_get_pause_reason (queue), ==, "Invalid Plex token");
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_QUEUED);
  /* Paused means no hammering of the server either. */
  n_requests = fake_plex_get_requests (fixture->plex)->len;
  spin (200);
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, n_requests);

  spyglass_client_set_token (fixture->client, fake_plex_get_token (fixture->plex));
  wait_idle (queue);
  g_assert_false (spyglass_queue_get_paused (queue));
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n");
}

/* A library recreated under a new id: 404, reload, route again. */
static void
test_reroute_after_404 (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = queue_new (fixture);
  const char * const music[] = { "/data/music", "/srv/more music", NULL };
  g_autofree char *log = NULL;
  SpyglassRequest *request;

  spyglass_queue_start (queue);
  spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  wait_idle (queue);

  fake_plex_clear_sections (fixture->plex);
  fake_plex_add_section (fixture->plex, "7", "artist", "Music", music);
  request = spyglass_queue_add_folder (queue, "/data/music/Can", NULL, FALSE);
  wait_idle (queue);

  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n3 /data/music/Can\n7 /data/music/Can\n");
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_DONE);
  g_assert_cmpstr (spyglass_request_get_section_key (request), ==, "7");
}

/* Requests survive the process: the next load sends them, once. */
static void
test_persist_and_resume (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *odd = "/data/music/M\xe9lodie & #1 + 100%";
  g_autofree char *log = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *journal = NULL;
  g_autoptr(GPtrArray) on_disk = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    /* Not started: nothing is sent, but everything is kept. */
    spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
    spyglass_queue_add_folder (queue, odd, NULL, TRUE);
  }

  journal = file_contents (fixture, "queue.journal");
  g_assert_nonnull (strstr (journal, "/data/music/Air"));
  g_assert_nonnull (strstr (journal, "\"local-path-base64\""));
  on_disk = spyglass_queue_read_requests (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, 2);
  g_assert_cmpstr (spyglass_request_get_local_path (on_disk->pdata[1]), ==, odd);
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);

  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 2);
    spyglass_queue_start (queue);
    wait_idle (queue);
  }

  log = refresh_log (fixture);
  expected = g_strdup_printf ("3 /data/music/Air\n3 %s\n", odd);
  g_assert_cmpstr (log, ==, expected);

  /* And nothing is sent again by a third start. */
  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 0);
    g_assert_cmpuint (spyglass_queue_get_history (queue)->len, ==, 2);
  }
}

static void
test_lock (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(SpyglassQueue) first = queue_new (fixture);
  g_autoptr(SpyglassQueue) second = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autoptr(GError) error = NULL;

  g_assert_false (spyglass_queue_load (second, NULL, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED);

  /* Released with its owner. */
  g_clear_object (&first);
  g_clear_object (&second);
  g_clear_error (&error);
  second = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_assert_true (spyglass_queue_load (second, NULL, &error));
}

static void
test_corrupt_file (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autofree char *path = g_build_filename (fixture->state_dir, "queue.json", NULL);
  g_autofree char *recovered = NULL;
  g_autofree char *kept = NULL;
  g_autoptr(GError) error = NULL;
  const char *garbage = "{\"version\":1,\"requests\":[{\"id\":\"x\",\"state\":\"sending\"";

  g_assert_true (g_file_set_contents (path, garbage, -1, NULL));
  g_test_expect_message ("Spyglass", G_LOG_LEVEL_WARNING, "The scan queue * could not be read*");
  g_assert_true (spyglass_queue_load (queue, &recovered, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 0);
  g_assert_nonnull (recovered);
  g_assert_true (g_str_has_prefix (recovered, path));
  g_assert_true (g_file_get_contents (recovered, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, garbage);
}

static char *
state_path (Fixture    *fixture,
            const char *name)
{
  return g_build_filename (fixture->state_dir, name, NULL);
}

static void
append_to_file (const char *path,
                const char *text)
{
  g_autofree char *contents = NULL;
  g_autofree char *appended = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  appended = g_strconcat (contents, text, NULL);
  g_assert_true (g_file_set_contents (path, appended, -1, NULL));
}

/* A crash while a record was appended leaves it torn: the last line,
 * without its newline.  It is ignored, and cut off so that the next
 * records do not follow garbage. */
static void
test_journal_torn_line (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *journal = state_path (fixture, "queue.journal");
  g_autoptr(GPtrArray) on_disk = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
    spyglass_queue_add_folder (queue, "/data/music/Can", NULL, FALSE);
  }
  g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));
  append_to_file (journal, "{\"op\":\"remove\",\"id\":\"");

  /* What `spyglass status` reads, and what the owner loads. */
  on_disk = spyglass_queue_read_requests (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, 2);

  {
    g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
    g_autofree char *recovered = NULL;

    g_assert_true (spyglass_queue_load (queue, &recovered, &error));
    g_assert_no_error (error);
    g_assert_null (recovered);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 2);
    spyglass_queue_add_folder (queue, "/data/music/Dub", NULL, FALSE);
  }

  {
    g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
    g_autoptr(SpyglassRequest) third = NULL;
    g_autofree char *recovered = NULL;

    g_assert_true (spyglass_queue_load (queue, &recovered, &error));
    g_assert_null (recovered);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 3);
    third = g_list_model_get_item (G_LIST_MODEL (queue), 2);
    g_assert_cmpstr (spyglass_request_get_local_path (third), ==, "/data/music/Dub");
  }
}

/* A line that cannot be read before the last one is corruption: the
 * journal is set aside and reported, the snapshot it belongs to is kept
 * next to it, and the queue starts empty. */
static void
test_journal_corrupt (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autofree char *snapshot = state_path (fixture, "queue.json");
  g_autofree char *journal = state_path (fixture, "queue.journal");
  g_autofree char *recovered = NULL;
  g_autofree char *kept = NULL;
  g_autoptr(GError) error = NULL;
  const char *request = "{\"id\":\"a\",\"local-path\":\"/data/music/Air\",\"state\":\"queued\"}";
  g_autofree char *snapshot_text = g_strdup_printf ("{\"version\":1,\"generation\":4,\"requests\":[%s]}",
                                                    request);
  const char *journal_text =
    "{\"version\":1,\"generation\":4}\n"
    "{\"op\":\"remove\",\"id\":\"a\"}\n"
    "{\"op\":\"add\",\"request\":{\"id\":\"b\",\"local-path\":\"/data/music/Can\",\"state\":\"queu\n"
    "{\"op\":\"add\",\"request\":{\"id\":\"c\",\"local-path\":\"/data/music/Dub\",\"state\":\"queued\"}}\n";

  g_assert_true (g_file_set_contents (snapshot, snapshot_text, -1, NULL));
  g_assert_true (g_file_set_contents (journal, journal_text, -1, NULL));

  /* `spyglass status` says it cannot read it. */
  g_assert_null (spyglass_queue_read_requests (fixture->state_dir, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE);
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_clear_error (&error);

  g_test_expect_message ("Spyglass", G_LOG_LEVEL_WARNING, "The scan queue * could not be read*");
  g_assert_true (spyglass_queue_load (queue, &recovered, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 0);
  g_assert_nonnull (recovered);
  g_assert_true (g_str_has_prefix (recovered, journal));
  g_assert_true (g_file_get_contents (recovered, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, journal_text);
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));

  /* The snapshot is not lost either: kept aside, not overwritten later. */
  g_assert_false (g_file_test (snapshot, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GDir) dir = g_dir_open (fixture->state_dir, 0, NULL);
    const char *name;
    gboolean found = FALSE;

    while ((name = g_dir_read_name (dir)) != NULL)
      if (g_str_has_prefix (name, "queue.json.corrupt-"))
        {
          g_autofree char *path = state_path (fixture, name);
          g_autofree char *contents = NULL;

          g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
          g_assert_cmpstr (contents, ==, snapshot_text);
          found = TRUE;
        }
    g_assert_true (found);
  }
}

typedef struct
{
  Fixture  *fixture;
  gboolean  checked;
} CompactionCheck;

/* When the movies batch leaves, the journal was folded into a new
 * snapshot (after the music batch): it holds the three requests left. */
static void
check_compacted (SpyglassQueue *queue,
                 GPtrArray     *batch,
                 gpointer       user_data)
{
  CompactionCheck *check = user_data;
  g_autofree char *snapshot = state_path (check->fixture, "queue.json");
  g_autofree char *journal = state_path (check->fixture, "queue.journal");
  g_autofree char *snapshot_text = NULL;
  g_autofree char *journal_text = NULL;
  g_autoptr(GPtrArray) on_disk = NULL;
  g_autoptr(GError) error = NULL;
  const char * const expected[] = { "/data/movies/Alien", "/data/tv/Lost", "/data/music-hires/Air" };

  if (check->checked ||
      g_strcmp0 (spyglass_request_get_local_path (batch->pdata[0]), "/data/movies/Alien") != 0)
    return;
  check->checked = TRUE;

  g_assert_true (g_file_get_contents (snapshot, &snapshot_text, NULL, NULL));
  g_assert_nonnull (strstr (snapshot_text, "\"generation\":1,"));
  g_assert_true (g_file_get_contents (journal, &journal_text, NULL, NULL));
  g_assert_cmpstr (journal_text, ==, "{\"version\":1,\"generation\":1}\n");

  on_disk = spyglass_queue_read_requests (check->fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpstr (spyglass_request_get_local_path (on_disk->pdata[i]), ==, expected[i]);
      g_assert_cmpint (spyglass_request_get_state (on_disk->pdata[i]), ==, SPYGLASS_REQUEST_QUEUED);
    }
}

/* The journal grows past its limit (1,500 folders in no library: each
 * added, then removed) and is folded into a snapshot; every request still
 * queued is in it, and the queue goes on from it. */
static void
test_journal_compaction (Fixture       *fixture,
                         gconstpointer  data)
{
  CompactionCheck check = { fixture, FALSE };
  g_autofree char *log = NULL;

  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    g_signal_connect (queue, "batch-sent", G_CALLBACK (check_compacted), &check);
    spyglass_queue_set_threshold (queue, 0);
    spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
    for (guint i = 0; i < 1500; i++)
      {
        g_autofree char *outside = g_strdup_printf ("/elsewhere/%u", i);

        spyglass_queue_add_folder (queue, outside, NULL, FALSE);
      }
    spyglass_queue_add_folder (queue, "/data/movies/Alien", NULL, FALSE);
    spyglass_queue_add_folder (queue, "/data/tv/Lost", NULL, FALSE);
    spyglass_queue_add_folder (queue, "/data/music-hires/Air", "4", FALSE);
    spyglass_queue_start (queue);
    wait_idle (queue);
    g_assert_true (check.checked);
  }

  /* Empty, the queue was folded into an empty snapshot once more. */
  {
    g_autofree char *snapshot = file_contents (fixture, "queue.json");
    g_autofree char *journal = file_contents (fixture, "queue.journal");

    g_assert_cmpstr (snapshot, ==, "{\"version\":1,\"generation\":2,\"requests\":[]}");
    g_assert_cmpstr (journal, ==, "{\"version\":1,\"generation\":2}\n");
  }

  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==,
                   "3 /data/music/Air\n1 /data/movies/Alien\n2 /data/tv/Lost\n4 /data/music-hires/Air\n");

  /* Nothing is left for a restart. */
  {
    g_autoptr(SpyglassQueue) queue = queue_new (fixture);

    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (queue)), ==, 0);
  }
}

/* `spyglass status` reads the queue while its owner changes it: the
 * journal's records, before any snapshot exists. */
static void
test_journal_read_requests (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autofree char *snapshot = state_path (fixture, "queue.json");
  g_autoptr(GPtrArray) on_disk = NULL;
  g_autoptr(GError) error = NULL;

  spyglass_client_set_token (fixture->client, "stale-token");
  queue = queue_new (fixture);
  spyglass_queue_start (queue);
  spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spin (300);
  g_assert_true (spyglass_queue_get_paused (queue));

  g_assert_false (g_file_test (snapshot, G_FILE_TEST_EXISTS));
  on_disk = spyglass_queue_read_requests (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, 1);
  g_assert_cmpstr (spyglass_request_get_local_path (on_disk->pdata[0]), ==, "/data/music/Air");
  g_assert_cmpint (spyglass_request_get_state (on_disk->pdata[0]), ==, SPYGLASS_REQUEST_QUEUED);
  g_assert_cmpstr (spyglass_request_get_message (on_disk->pdata[0]), ==, "Invalid Plex token");
  g_clear_pointer (&on_disk, g_ptr_array_unref);

  spyglass_client_set_token (fixture->client, fake_plex_get_token (fixture->plex));
  wait_idle (queue);
  on_disk = spyglass_queue_read_requests (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (on_disk->len, ==, 0);
}

typedef struct
{
  GPid  pid;
  guint refreshes;
} KillPlan;

static void
count_received (FakePlex        *plex,
                FakePlexRequest *request,
                gpointer         user_data)
{
  KillPlan *plan = user_data;

  /* Kill the owner in the middle of its work. */
  if (!g_str_has_suffix (request->path, "/refresh"))
    return;

  if (++plan->refreshes == 30 && plan->pid > 0)
    {
      kill (plan->pid, SIGKILL);
      plan->pid = 0;
    }
}

static void
on_runner_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

static int
run_runner (Fixture            *fixture,
            const char * const *folders,
            GPid               *pid_out)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean exited = FALSE;
  const char *id;

  g_ptr_array_add (argv, (gpointer) g_getenv ("QUEUE_RUNNER"));
  g_ptr_array_add (argv, fixture->state_dir);
  g_ptr_array_add (argv, (gpointer) fake_plex_get_url (fixture->plex));
  g_ptr_array_add (argv, (gpointer) "--threshold");
  g_ptr_array_add (argv, (gpointer) "0");
  for (guint i = 0; folders != NULL && folders[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) folders[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_setenv (launcher, "PLEX_TOKEN", fake_plex_get_token (fixture->plex), TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  id = g_subprocess_get_identifier (process);
  *pid_out = (GPid) g_ascii_strtoll (id, NULL, 10);

  g_subprocess_wait_async (process, NULL, on_runner_exited, &exited);
  while (!exited)
    g_main_context_iteration (NULL, TRUE);

  if (g_subprocess_get_if_signaled (process))
    return -g_subprocess_get_term_sig (process);
  return g_subprocess_get_exit_status (process);
}

/* 100 folders, the owner killed with SIGKILL while requests are pending:
 * after a restart Plex has received every folder, once (the one in flight
 * may come twice). */
static void
test_kill_and_resume (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *requests;
  KillPlan plan = { 0, 0 };
  GPid pid = 0;
  guint duplicates = 0;
  gulong handler;
  int status;

  for (guint i = 0; i < 100; i++)
    g_ptr_array_add (folders, g_strdup_printf ("/data/music/Artist %03u/Album", i));
  g_ptr_array_add (folders, NULL);

  handler = g_signal_connect (fixture->plex, "request-received", G_CALLBACK (count_received), &plan);
  status = run_runner (fixture, (const char * const *) folders->pdata, &plan.pid);
  g_assert_cmpint (status, ==, -SIGKILL);
  g_signal_handler_disconnect (fixture->plex, handler);

  requests = fake_plex_get_requests (fixture->plex);
  g_assert_cmpuint (requests->len, <, 100);

  /* What the next start resumes from is the journal (too short yet to
   * have been folded into a snapshot). */
  {
    g_autofree char *snapshot = state_path (fixture, "queue.json");
    g_autofree char *journal = state_path (fixture, "queue.journal");

    g_assert_false (g_file_test (snapshot, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));
  }

  status = run_runner (fixture, NULL, &pid);
  g_assert_cmpint (status, ==, 0);

  requests = fake_plex_get_requests (fixture->plex);
  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);
      const char *path = fake_plex_request_get_param_string (request, "path");

      if (path == NULL)
        continue;
      g_hash_table_insert (counts, g_strdup (path),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, path)) + 1));
    }

  for (guint i = 0; i < 100; i++)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, folders->pdata[i]));

      g_assert_cmpuint (count, >=, 1);
      g_assert_cmpuint (count, <=, 2);
      if (count == 2)
        duplicates++;
    }
  g_assert_cmpuint (g_hash_table_size (counts), ==, 100);
  g_assert_cmpuint (duplicates, <=, 1);
}

/* A network monitor the test switches by hand. */
typedef struct
{
  GObject parent_instance;
} TestNetworkMonitor;

typedef struct
{
  GObjectClass parent_class;
} TestNetworkMonitorClass;

static GType test_network_monitor_get_type (void);
static void test_network_monitor_iface_init (GNetworkMonitorInterface *iface);
static void test_network_monitor_initable_init (GInitableIface *iface);

G_DEFINE_TYPE_WITH_CODE (TestNetworkMonitor, test_network_monitor, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_network_monitor_initable_init)
                         G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, test_network_monitor_iface_init))

static gboolean
test_network_monitor_initable_init_impl (GInitable     *initable,
                                         GCancellable  *cancellable,
                                         GError       **error)
{
  return TRUE;
}

static void
test_network_monitor_initable_init (GInitableIface *iface)
{
  iface->init = test_network_monitor_initable_init_impl;
}

static void
test_network_monitor_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  switch (prop_id)
    {
    case 1: /* network-available */
      g_value_set_boolean (value, TRUE);
      break;
    case 2: /* network-metered */
      g_value_set_boolean (value, FALSE);
      break;
    case 3: /* connectivity */
      g_value_set_enum (value, G_NETWORK_CONNECTIVITY_FULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_network_monitor_class_init (TestNetworkMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_network_monitor_get_property;
  g_object_class_override_property (object_class, 1, "network-available");
  g_object_class_override_property (object_class, 2, "network-metered");
  g_object_class_override_property (object_class, 3, "connectivity");
}

static void
test_network_monitor_iface_init (GNetworkMonitorInterface *iface)
{
}

static void
test_network_monitor_init (TestNetworkMonitor *self)
{
}

/* The network comes back: the queue retries at once instead of waiting
 * out its back-off. */
static void
test_network_back (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autoptr(GObject) network = g_object_new (test_network_monitor_get_type (), NULL);
  g_autoptr(GError) error = NULL;
  guint16 port = fake_plex_get_port (fixture->plex);
  g_autofree char *log = NULL;
  SpyglassRequest *request;
  gint64 back;

  spyglass_queue_set_batch_window (queue, 0);
  /* A back-off far longer than the test: only the network can end it. */
  spyglass_queue_set_backoff (queue, 60 * 1000, 60 * 1000);
  spyglass_queue_set_network_monitor (queue, G_NETWORK_MONITOR (network));
  g_assert_true (spyglass_queue_load (queue, NULL, &error));

  fake_plex_stop (fixture->plex);
  spyglass_queue_start (queue);
  request = spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  spin (300);
  g_assert_cmpstr (spyglass_request_get_message (request), ==, "Cannot reach Plex server");

  g_assert_true (fake_plex_start_on_port (fixture->plex, port, NULL, &error));
  g_assert_no_error (error);
  spin (200);
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_QUEUED);

  back = g_get_monotonic_time ();
  g_signal_emit_by_name (network, "network-changed", TRUE);
  wait_idle (queue);
  g_assert_cmpint (g_get_monotonic_time () - back, <, 30 * G_USEC_PER_SEC);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n");
}

static void
record_state (SpyglassRequest *request,
              GParamSpec      *pspec,
              GString         *states)
{
  g_string_append_printf (states, "%s ",
                          spyglass_request_state_to_string (spyglass_request_get_state (request)));
}

/* With a scan monitor a request is done when Plex has finished scanning,
 * not when Plex accepted it; over the WebSocket, or by polling when the
 * WebSocket is refused.  Refresh-after-scan then sends a forced refresh
 * of the same folder. */
static void
check_followed (Fixture  *fixture,
                gboolean  websocket)
{
  g_autoptr(SpyglassScanMonitor) monitor = spyglass_scan_monitor_new (fixture->client);
  g_autoptr(SpyglassQueue) queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  g_autoptr(GString) states = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;
  g_autoptr(GPtrArray) forced = NULL;
  SpyglassRequest *request;
  gint64 accepted;

  fake_plex_set_scan_duration (fixture->plex, 600);
  fake_plex_set_websocket_enabled (fixture->plex, websocket);
  spyglass_scan_monitor_set_poll_interval (monitor, 100);
  spyglass_scan_monitor_start (monitor);

  spyglass_queue_set_batch_window (queue, 0);
  spyglass_queue_set_scan_monitor (queue, monitor);
  spyglass_queue_set_refresh_after_scan (queue, TRUE);
  g_assert_true (spyglass_queue_load (queue, NULL, &error));
  spyglass_queue_start (queue);
  spin (300);
  g_assert_cmpint (spyglass_scan_monitor_get_mode (monitor), ==,
                   websocket ? SPYGLASS_SCAN_MONITOR_WEBSOCKET : SPYGLASS_SCAN_MONITOR_POLLING);

  request = spyglass_queue_add_folder (queue, "/data/music/Air", NULL, FALSE);
  g_signal_connect (request, "notify::state", G_CALLBACK (record_state), states);
  wait_idle (queue);

  g_assert_cmpstr (states->str, ==, "sending scanning done ");
  accepted = spyglass_request_get_sent (request);
  /* Done at the end of Plex's 600 ms scan, not at its start. */
  g_assert_cmpint (spyglass_request_get_finished (request) - accepted, >=, 400 * 1000);

  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "3 /data/music/Air\n3 /data/music/Air\n");
  forced = fake_plex_find_requests (fixture->plex, "GET", "/library/sections/3/refresh");
  g_assert_null (fake_plex_request_get_param (forced->pdata[0], "force"));
  g_assert_cmpstr (fake_plex_request_get_param_string (forced->pdata[1], "force"), ==, "1");
  g_assert_cmpuint (spyglass_queue_get_history (queue)->len, ==, 2);
}

static void
test_followed_websocket (Fixture       *fixture,
                         gconstpointer  data)
{
  check_followed (fixture, TRUE);
}

static void
test_followed_polling (Fixture       *fixture,
                       gconstpointer  data)
{
  check_followed (fixture, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/queue/send", test_send);
  ADD ("/queue/batching", test_batching);
  ADD ("/queue/batching/long-burst", test_batching_long_burst);
  ADD ("/queue/batching/steady-stream", test_batching_steady_stream);
  ADD ("/queue/batching/threshold-changed", test_threshold_changed_while_queued);
  ADD ("/queue/list-model", test_list_model);
  ADD ("/queue/not-in-library", test_not_in_library);
  ADD ("/queue/backoff", test_backoff);
  ADD ("/queue/server-error", test_server_error_retried);
  ADD ("/queue/network-back", test_network_back);
  ADD ("/queue/pause-on-invalid-token", test_pause_on_invalid_token);
  ADD ("/queue/reroute-after-404", test_reroute_after_404);
  ADD ("/queue/persist-and-resume", test_persist_and_resume);
  ADD ("/queue/lock", test_lock);
  ADD ("/queue/corrupt-file", test_corrupt_file);
  ADD ("/queue/kill-and-resume", test_kill_and_resume);
  ADD ("/queue/journal/torn-line", test_journal_torn_line);
  ADD ("/queue/journal/corrupt", test_journal_corrupt);
  ADD ("/queue/journal/compaction", test_journal_compaction);
  ADD ("/queue/journal/read-requests", test_journal_read_requests);
  ADD ("/queue/followed/websocket", test_followed_websocket);
  ADD ("/queue/followed/polling", test_followed_polling);

  return g_test_run ();
}
