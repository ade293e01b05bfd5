/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Following scans against the fake server: completion through the
 * WebSocket and through polling, falling back and reconnecting, an invalid
 * token, the start grace, cancellation.  Intervals are short so that each
 * case takes a second or two.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fake-plex.h"
#include "spyglass-core.h"

#define POLL_INTERVAL_MS 100
#define MIN_RECONNECT_MS 100
#define MAX_RECONNECT_MS 400
#define SCAN_DURATION_MS 600
#define DEADLINE_US      (10 * G_USEC_PER_SEC)

typedef struct
{
  FakePlex            *plex;
  SpyglassClient      *client;
  SpyglassScanMonitor *monitor;
  GPtrArray           *events;  /* "started 3", "progress 3 40", "finished 3", "error N" */
  GPtrArray           *modes;   /* of SpyglassScanMonitorMode, as notified */
  GPtrArray           *errors;  /* of GError */
} Fixture;

static void
on_scan_started (SpyglassScanMonitor *monitor,
                 const char          *key,
                 Fixture             *fixture)
{
  g_ptr_array_add (fixture->events, g_strdup_printf ("started %s", key));
}

static void
on_scan_progress (SpyglassScanMonitor *monitor,
                  const char          *key,
                  int                  progress,
                  Fixture             *fixture)
{
  g_ptr_array_add (fixture->events, g_strdup_printf ("progress %s %d", key, progress));
}

static void
on_scan_finished (SpyglassScanMonitor *monitor,
                  const char          *key,
                  Fixture             *fixture)
{
  g_ptr_array_add (fixture->events, g_strdup_printf ("finished %s", key));
}

static void
on_error (SpyglassScanMonitor *monitor,
          const GError        *error,
          Fixture             *fixture)
{
  g_ptr_array_add (fixture->errors, g_error_copy (error));
}

static void
on_mode (SpyglassScanMonitor *monitor,
         GParamSpec          *pspec,
         Fixture             *fixture)
{
  g_ptr_array_add (fixture->modes, GINT_TO_POINTER (spyglass_scan_monitor_get_mode (monitor)));
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, SCAN_DURATION_MS);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
  fixture->monitor = spyglass_scan_monitor_new (fixture->client);
  spyglass_scan_monitor_set_poll_interval (fixture->monitor, POLL_INTERVAL_MS);
  spyglass_scan_monitor_set_reconnect_delays (fixture->monitor, MIN_RECONNECT_MS, MAX_RECONNECT_MS);

  fixture->events = g_ptr_array_new_with_free_func (g_free);
  fixture->modes = g_ptr_array_new ();
  fixture->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_signal_connect (fixture->monitor, "scan-started", G_CALLBACK (on_scan_started), fixture);
  g_signal_connect (fixture->monitor, "scan-progress", G_CALLBACK (on_scan_progress), fixture);
  g_signal_connect (fixture->monitor, "scan-finished", G_CALLBACK (on_scan_finished), fixture);
  g_signal_connect (fixture->monitor, "error", G_CALLBACK (on_error), fixture);
  g_signal_connect (fixture->monitor, "notify::mode", G_CALLBACK (on_mode), fixture);
}

/* The token never travels in a URL, whatever happened in the test. */
static void
assert_token_never_in_url (Fixture    *fixture,
                           const char *token)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);

  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);

      g_assert_false (request->token_in_query);
      g_assert_null (strstr (request->path, token));
      g_assert_true (request->query == NULL || strstr (request->query, token) == NULL);
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();

  assert_token_never_in_url (fixture, fake_plex_get_token (fixture->plex));
  assert_token_never_in_url (fixture, "wrong");

  spyglass_scan_monitor_stop (fixture->monitor);
  g_signal_handlers_disconnect_by_data (fixture->monitor, fixture);
  /* Requests in flight hold the monitor until they are back, cancelled. */
  g_object_add_weak_pointer (G_OBJECT (fixture->monitor), (gpointer *) &fixture->monitor);
  g_object_unref (fixture->monitor);
  while (fixture->monitor != NULL)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }

  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);
  g_ptr_array_unref (fixture->events);
  g_ptr_array_unref (fixture->modes);
  g_ptr_array_unref (fixture->errors);

  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Helpers */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  gint64 start = g_get_monotonic_time ();

  while (*result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }

  return *result;
}

static gboolean
set_done (gpointer user_data)
{
  gboolean *done = user_data;

  *done = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_ms (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, set_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_for_mode (Fixture                 *fixture,
               SpyglassScanMonitorMode  mode)
{
  gint64 start = g_get_monotonic_time ();

  while (spyglass_scan_monitor_get_mode (fixture->monitor) != mode)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }
}

static guint
count_requests (Fixture    *fixture,
                const char *path)
{
  g_autoptr(GPtrArray) found = fake_plex_find_requests (fixture->plex, "GET", path);

  return found->len;
}

static guint
count_upgrades (Fixture *fixture)
{
  return count_requests (fixture, "/:/websockets/notifications");
}

static void
scan (Fixture    *fixture,
      const char *key)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  spyglass_client_scan_async (fixture->client, key, NULL, FALSE, NULL, store_result, &result);
  g_assert_true (spyglass_client_scan_finish (fixture->client, wait_for (&result), &error));
  g_assert_no_error (error);
}

typedef struct
{
  GAsyncResult *result;
  gint64        when;     /* monotonic µs */
  gboolean      scanning; /* the fake scanned at that moment */
  FakePlex     *plex;
  const char   *key;
} Completion;

static void
store_completion (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Completion *completion = user_data;

  completion->result = g_object_ref (result);
  completion->when = g_get_monotonic_time ();
  completion->scanning = fake_plex_is_scanning (completion->plex, completion->key);
}

/* Waits for spyglass_scan_monitor_wait_async(); returns its result. */
static gboolean
wait_scan (Fixture       *fixture,
           const char    *key,
           GCancellable  *cancellable,
           Completion    *completion,
           gboolean      *scan_seen,
           GError       **error)
{
  completion->plex = fixture->plex;
  completion->key = key;
  spyglass_scan_monitor_wait_async (fixture->monitor, key, cancellable, store_completion, completion);
  return spyglass_scan_monitor_wait_finish (fixture->monitor, wait_for (&completion->result),
                                            scan_seen, error);
}

static void
completion_clear (Completion *completion)
{
  g_clear_object (&completion->result);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Completion, completion_clear)

/* The events of section @key are: started, progress rising (at least
 * @min_progress of them), finished. */
static void
assert_scan_events (Fixture    *fixture,
                    const char *key,
                    guint       min_progress)
{
  g_autofree char *started = g_strdup_printf ("started %s", key);
  g_autofree char *finished = g_strdup_printf ("finished %s", key);
  g_autofree char *progress_prefix = g_strdup_printf ("progress %s ", key);
  int last = -1;
  guint n_progress = 0;

  g_assert_cmpuint (fixture->events->len, >=, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->events, 0), ==, started);
  g_assert_cmpstr (g_ptr_array_index (fixture->events, fixture->events->len - 1), ==, finished);

  for (guint i = 1; i + 1 < fixture->events->len; i++)
    {
      const char *event = g_ptr_array_index (fixture->events, i);
      int progress;

      g_assert_true (g_str_has_prefix (event, progress_prefix));
      progress = atoi (event + strlen (progress_prefix));
      g_assert_cmpint (progress, >, last);
      g_assert_cmpint (progress, <=, 100);
      last = progress;
      n_progress++;
    }

  g_assert_cmpuint (n_progress, >=, min_progress);
}

/* Tests */

static void
test_websocket (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = FALSE;
  guint polls;

  g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==, SPYGLASS_SCAN_MONITOR_STOPPED);
  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (fake_plex_get_n_websockets (fixture->plex), ==, 1);
  /* Let the catch-up poll come back. */
  wait_ms (100);
  polls = count_requests (fixture, "/library/sections");

  scan (fixture, "3");
  g_assert_true (wait_scan (fixture, "3", NULL, &completion, &scan_seen, &error));
  g_assert_no_error (error);
  g_assert_true (scan_seen);

  /* After the fake's ended frame, which ended the scan. */
  g_assert_false (completion.scanning);
  g_assert_cmpint (fake_plex_get_last_ended_time (fixture->plex), >, 0);
  g_assert_cmpint (completion.when, >=, fake_plex_get_last_ended_time (fixture->plex));
  /* 0 at the start, then at least one update. */
  assert_scan_events (fixture, "3", 2);
  g_assert_false (spyglass_scan_monitor_is_scanning (fixture->monitor, "3"));
  g_assert_cmpint (spyglass_scan_monitor_get_progress (fixture->monitor, "3"), ==, -1);

  /* No polling while the WebSocket is there. */
  g_assert_cmpuint (count_requests (fixture, "/library/sections"), ==, polls);
  g_assert_cmpuint (count_requests (fixture, "/activities"), ==, 0);
  g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (fixture->errors->len, ==, 0);
}

/* A scan that runs when the wait starts: the wait ends with it. */
static void
test_running_at_call (Fixture       *fixture,
                      gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = FALSE;
  gint64 start = g_get_monotonic_time ();

  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  scan (fixture, "1");
  while (spyglass_scan_monitor_get_progress (fixture->monitor, "1") < 20)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (spyglass_scan_monitor_is_scanning (fixture->monitor, "1"));

  g_assert_true (wait_scan (fixture, "1", NULL, &completion, &scan_seen, &error));
  g_assert_true (scan_seen);
  g_assert_false (completion.scanning);
  assert_scan_events (fixture, "1", 2);
}

static void
test_polling (Fixture       *fixture,
              gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = FALSE;
  gint64 start = g_get_monotonic_time ();

  fake_plex_set_websocket_enabled (fixture->plex, FALSE);
  spyglass_scan_monitor_start (fixture->monitor);
  g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==, SPYGLASS_SCAN_MONITOR_POLLING);
  /* The WebSocket was asked for and refused. */
  while (count_upgrades (fixture) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }

  scan (fixture, "3");
  g_assert_true (wait_scan (fixture, "3", NULL, &completion, &scan_seen, &error));
  g_assert_no_error (error);
  g_assert_true (scan_seen);

  /* After `refreshing` went back to 0. */
  g_assert_false (completion.scanning);
  assert_scan_events (fixture, "3", 1);
  g_assert_cmpuint (count_requests (fixture, "/activities"), >, 0);
  g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==, SPYGLASS_SCAN_MONITOR_POLLING);
  g_assert_cmpuint (fixture->modes->len, ==, 1);
  /* A refused WebSocket is no error: polling is the fallback. */
  g_assert_cmpuint (fixture->errors->len, ==, 0);
  /* Tried again, with back-off: not at every poll. */
  g_assert_cmpuint (count_upgrades (fixture), <, count_requests (fixture, "/library/sections"));
}

static void
test_reconnect (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = FALSE;

  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (count_upgrades (fixture), ==, 1);

  /* The server drops the WebSocket: polling, then the WebSocket again. */
  fake_plex_close_websockets (fixture->plex);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_POLLING);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (fake_plex_get_n_websockets (fixture->plex), ==, 1);
  g_assert_cmpuint (count_upgrades (fixture), ==, 2);

  g_assert_cmpuint (fixture->modes->len, ==, 4);
  g_assert_cmpint (GPOINTER_TO_INT (fixture->modes->pdata[0]), ==, SPYGLASS_SCAN_MONITOR_POLLING);
  g_assert_cmpint (GPOINTER_TO_INT (fixture->modes->pdata[1]), ==, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpint (GPOINTER_TO_INT (fixture->modes->pdata[2]), ==, SPYGLASS_SCAN_MONITOR_POLLING);
  g_assert_cmpint (GPOINTER_TO_INT (fixture->modes->pdata[3]), ==, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  /* And it still follows scans. */
  scan (fixture, "2");
  g_assert_true (wait_scan (fixture, "2", NULL, &completion, &scan_seen, &error));
  g_assert_true (scan_seen);
  g_assert_false (completion.scanning);
  g_assert_cmpuint (fixture->errors->len, ==, 0);
}

/* The server goes away and comes back: polling meanwhile, one error,
 * back-off, and the WebSocket once it is back. */
static void
test_server_restart (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  guint16 port = fake_plex_get_port (fixture->plex);
  guint upgrades;

  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  fake_plex_stop (fixture->plex);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_POLLING);
  while (fixture->errors->len == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }
  /* Polls keep failing the same way: said once. */
  wait_ms (1000);
  g_assert_cmpuint (fixture->errors->len, ==, 1);
  g_assert_error ((GError *) g_ptr_array_index (fixture->errors, 0), SPYGLASS_ERROR,
                  SPYGLASS_ERROR_UNREACHABLE);

  upgrades = count_upgrades (fixture);
  g_assert_true (fake_plex_start_on_port (fixture->plex, port, NULL, &error));
  g_assert_no_error (error);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (count_upgrades (fixture), ==, upgrades + 1);
  g_assert_cmpuint (fixture->errors->len, ==, 1);
}

static void
test_invalid_token (Fixture       *fixture,
                    gconstpointer  data)
{
  g_auto(Completion) pending = { NULL, };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = TRUE;
  gint64 start = g_get_monotonic_time ();
  GError *reported;

  spyglass_client_set_token (fixture->client, "wrong");
  spyglass_scan_monitor_start (fixture->monitor);
  pending.plex = fixture->plex;
  pending.key = "3";
  spyglass_scan_monitor_wait_async (fixture->monitor, "3", NULL, store_completion, &pending);

  while (fixture->errors->len == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }
  reported = g_ptr_array_index (fixture->errors, 0);
  g_assert_error (reported, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN);
  g_assert_cmpstr (reported->message, ==, "Invalid Plex token");

  /* The pending wait fails with it, and so does a new one. */
  g_assert_false (spyglass_scan_monitor_wait_finish (fixture->monitor, wait_for (&pending.result),
                                                     &scan_seen, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN);
  g_assert_false (scan_seen);
  g_clear_error (&error);
  spyglass_scan_monitor_wait_async (fixture->monitor, "3", NULL, store_result, &result);
  g_assert_false (spyglass_scan_monitor_wait_finish (fixture->monitor, wait_for (&result),
                                                     NULL, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN);

  /* No reconnect storm: nothing more is sent while the token stays wrong. */
  wait_ms (10 * MAX_RECONNECT_MS / 4);
  g_assert_cmpuint (count_upgrades (fixture), <=, 1);
  g_assert_cmpuint (count_requests (fixture, "/library/sections"), <=, 1);
  g_assert_cmpuint (fixture->errors->len, ==, 1);

  /* The right token: back to work. */
  spyglass_client_set_token (fixture->client, fake_plex_get_token (fixture->plex));
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (fixture->errors->len, ==, 1);
  {
    g_auto(Completion) completion = { NULL, };
    g_autoptr(GError) wait_error = NULL;

    scan (fixture, "3");
    g_assert_true (wait_scan (fixture, "3", NULL, &completion, &scan_seen, &wait_error));
    g_assert_no_error (wait_error);
    g_assert_true (scan_seen);
  }
}

/* Only the upgrade is refused: "request-received" comes before the fake
 * answers, so a fault set there applies to that request. */
static void
refuse_upgrades (FakePlex              *plex,
                 const FakePlexRequest *request,
                 gpointer               user_data)
{
  fake_plex_set_fault (plex, g_str_equal (request->path, "/:/websockets/notifications")
                               ? FAKE_PLEX_FAULT_UNAUTHORIZED : FAKE_PLEX_FAULT_NONE);
}

/* 401 on the handshake alone (polls go through): the same error, and no
 * reconnect storm. */
static void
test_invalid_token_handshake (Fixture       *fixture,
                              gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();
  guint polls;

  g_signal_connect (fixture->plex, "request-received", G_CALLBACK (refuse_upgrades), NULL);
  spyglass_scan_monitor_start (fixture->monitor);
  while (fixture->errors->len == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_error ((GError *) g_ptr_array_index (fixture->errors, 0), SPYGLASS_ERROR,
                  SPYGLASS_ERROR_INVALID_TOKEN);
  g_assert_cmpuint (count_upgrades (fixture), ==, 1);

  polls = count_requests (fixture, "/library/sections");
  wait_ms (10 * MAX_RECONNECT_MS / 4);
  g_assert_cmpuint (count_upgrades (fixture), ==, 1);
  g_assert_cmpuint (count_requests (fixture, "/library/sections"), ==, polls);
  g_assert_cmpuint (fixture->errors->len, ==, 1);

  /* A new token (the fake's too): back to work. */
  g_signal_handlers_disconnect_by_func (fixture->plex, refuse_upgrades, NULL);
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_NONE);
  fake_plex_set_token (fixture->plex, "new-token");
  spyglass_client_set_token (fixture->client, "new-token");
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  g_assert_cmpuint (count_upgrades (fixture), ==, 2);
  g_assert_cmpuint (fixture->errors->len, ==, 1);
  assert_token_never_in_url (fixture, "new-token");
}

/* No scan starts: the wait ends anyway after start-grace, and says so. */
static void
test_start_grace (Fixture       *fixture,
                  gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = TRUE;
  gint64 start;

  g_assert_cmpuint (spyglass_scan_monitor_get_start_grace (fixture->monitor), ==,
                    SPYGLASS_DEFAULT_START_GRACE);
  spyglass_scan_monitor_set_start_grace (fixture->monitor, 300);
  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  start = g_get_monotonic_time ();
  g_assert_true (wait_scan (fixture, "2", NULL, &completion, &scan_seen, &error));
  g_assert_no_error (error);
  g_assert_false (scan_seen);
  g_assert_cmpint (completion.when - start, >=, 300 * 1000);
  g_assert_cmpint (completion.when - start, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (fixture->events->len, ==, 0);
}

/* Polling every few seconds, a tiny scan ends between two polls: the
 * wait ends after start-grace. */
static void
test_start_grace_polling (Fixture       *fixture,
                          gconstpointer  data)
{
  g_auto(Completion) completion = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = TRUE;
  gint64 start;

  fake_plex_set_websocket_enabled (fixture->plex, FALSE);
  fake_plex_set_scan_duration (fixture->plex, 20);
  spyglass_scan_monitor_set_poll_interval (fixture->monitor, 5000);
  spyglass_scan_monitor_set_start_grace (fixture->monitor, 300);
  spyglass_scan_monitor_start (fixture->monitor);
  wait_ms (100);

  scan (fixture, "4");
  while (fake_plex_is_scanning (fixture->plex, "4"))
    g_main_context_iteration (NULL, TRUE);

  start = g_get_monotonic_time ();
  g_assert_true (wait_scan (fixture, "4", NULL, &completion, &scan_seen, &error));
  g_assert_no_error (error);
  g_assert_false (scan_seen);
  g_assert_cmpint (completion.when - start, >=, 300 * 1000);
  g_assert_cmpuint (fixture->events->len, ==, 0);
}

typedef struct
{
  Fixture      *fixture;
  GAsyncResult *first;
  GAsyncResult *second;
} WaitAgain;

static void
on_first_wait (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  WaitAgain *again = user_data;

  again->first = g_object_ref (result);
  /* From the callback, while the monitor completes waits. */
  spyglass_scan_monitor_wait_async (again->fixture->monitor, "3", NULL, store_result, &again->second);
}

/* A wait started from the callback of one that the end of a scan
 * completed waits for the next scan, not that one. */
static void
test_wait_again (Fixture       *fixture,
                 gconstpointer  data)
{
  WaitAgain again = { fixture, NULL, NULL };
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = FALSE;

  spyglass_scan_monitor_set_start_grace (fixture->monitor, 300);
  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  scan (fixture, "3");
  spyglass_scan_monitor_wait_async (fixture->monitor, "3", NULL, on_first_wait, &again);
  g_assert_true (spyglass_scan_monitor_wait_finish (fixture->monitor, wait_for (&again.first),
                                                    &scan_seen, &error));
  g_assert_true (scan_seen);
  g_assert_true (spyglass_scan_monitor_wait_finish (fixture->monitor, wait_for (&again.second),
                                                    &scan_seen, &error));
  g_assert_no_error (error);
  g_assert_false (scan_seen);
  g_clear_object (&again.first);
  g_clear_object (&again.second);
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_later (gpointer user_data)
{
  spyglass_scan_monitor_stop (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_and_stop (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gboolean scan_seen = TRUE;

  /* Not started. */
  {
    g_auto(Completion) completion = { NULL, };

    g_assert_false (wait_scan (fixture, "3", NULL, &completion, &scan_seen, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
  }

  spyglass_scan_monitor_start (fixture->monitor);
  wait_for_mode (fixture, SPYGLASS_SCAN_MONITOR_WEBSOCKET);

  {
    g_auto(Completion) completion = { NULL, };

    g_timeout_add (100, cancel_later, cancellable);
    g_assert_false (wait_scan (fixture, "3", cancellable, &completion, &scan_seen, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_false (scan_seen);
    g_clear_error (&error);
  }

  {
    g_auto(Completion) completion = { NULL, };

    g_timeout_add (100, stop_later, fixture->monitor);
    g_assert_false (wait_scan (fixture, "3", NULL, &completion, &scan_seen, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==, SPYGLASS_SCAN_MONITOR_STOPPED);
  }

  /* Stopping closed the WebSocket. */
  while (fake_plex_get_n_websockets (fixture->plex) > 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_properties (void)
{
  g_autoptr(SpyglassClient) client = spyglass_client_new ("http://127.0.0.1:1", NULL);
  g_autoptr(SpyglassScanMonitor) monitor = spyglass_scan_monitor_new (client);
  g_autofree char *mode = NULL;
  SpyglassClient *got = NULL;
  guint poll_interval, start_grace, min_delay, max_delay;

  g_object_get (monitor,
                "client", &got,
                "poll-interval", &poll_interval,
                "start-grace", &start_grace,
                "min-reconnect-delay", &min_delay,
                "max-reconnect-delay", &max_delay,
                NULL);
  g_assert_true (got == client);
  g_object_unref (got);
  g_assert_cmpuint (poll_interval, ==, 3000);
  g_assert_cmpuint (start_grace, ==, 10000);
  g_assert_cmpuint (min_delay, ==, 1000);
  g_assert_cmpuint (max_delay, ==, 60000);

  mode = g_enum_to_string (SPYGLASS_TYPE_SCAN_MONITOR_MODE, spyglass_scan_monitor_get_mode (monitor));
  g_assert_cmpstr (mode, ==, "SPYGLASS_SCAN_MONITOR_STOPPED");
  g_assert_cmpstr (g_enum_get_value (g_type_class_peek (SPYGLASS_TYPE_SCAN_MONITOR_MODE),
                                     SPYGLASS_SCAN_MONITOR_WEBSOCKET)->value_nick, ==, "websocket");
  g_assert_cmpstr (g_enum_get_value (g_type_class_peek (SPYGLASS_TYPE_SCAN_MONITOR_MODE),
                                     SPYGLASS_SCAN_MONITOR_POLLING)->value_nick, ==, "polling");
  g_assert_cmpstr (g_enum_get_value (g_type_class_peek (SPYGLASS_TYPE_SCAN_MONITOR_MODE),
                                     SPYGLASS_SCAN_MONITOR_STOPPED)->value_nick, ==, "stopped");

  g_object_set (monitor, "max-reconnect-delay", 500, "min-reconnect-delay", 50, NULL);
  g_object_get (monitor, "min-reconnect-delay", &min_delay, "max-reconnect-delay", &max_delay, NULL);
  g_assert_cmpuint (min_delay, ==, 50);
  g_assert_cmpuint (max_delay, ==, 500);
  g_assert_false (spyglass_scan_monitor_is_scanning (monitor, "1"));
  g_assert_cmpint (spyglass_scan_monitor_get_progress (monitor, "1"), ==, -1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/scan-monitor/properties", test_properties);
  ADD ("/scan-monitor/websocket", test_websocket);
  ADD ("/scan-monitor/running-at-call", test_running_at_call);
  ADD ("/scan-monitor/polling", test_polling);
  ADD ("/scan-monitor/reconnect", test_reconnect);
  ADD ("/scan-monitor/server-restart", test_server_restart);
  ADD ("/scan-monitor/invalid-token", test_invalid_token);
  ADD ("/scan-monitor/invalid-token-handshake", test_invalid_token_handshake);
  ADD ("/scan-monitor/start-grace", test_start_grace);
  ADD ("/scan-monitor/start-grace-polling", test_start_grace_polling);
  ADD ("/scan-monitor/wait-again", test_wait_again);
  ADD ("/scan-monitor/cancel-and-stop", test_cancel_and_stop);

#undef ADD

  return g_test_run ();
}
