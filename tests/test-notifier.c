/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The notifier end to end, with no display: a real GApplication on the
 * test's session bus, a real scan queue and scan monitor against the fake
 * Plex server (its WebSocket says when a scan ended), and a fake
 * org.freedesktop.Notifications server that records what GLib's
 * freedesktop backend sends it.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "fake-notifications.h"
#include "fake-plex.h"
#include "spyglass-core.h"
#include "spyglass-notifier.h"

#define TEST_APP_ID "io.github.spyglass.Spyglass.NotifierTest"
#define ALBUM       "/data/music/Pink Floyd/The Dark Side of the Moon"

/* For the whole program: a GApplication registers its name once, and
 * GLib's notification backend lives as long as the application. */
static GApplication      *app;
static FakeNotifications *server;
static guint              n_show_window;
static guint              n_preferences;

typedef struct
{
  FakePlex            *plex;
  SpyglassClient      *client;
  SpyglassScanMonitor *monitor;
  SpyglassQueue       *queue;
  GSettings           *settings;
  SpyglassNotifier    *notifier;
  char                *state_dir;
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

/* Runs the main loop until *@counter is at least @value, or 5 s. */
static void
spin_until (guint *counter,
            guint  value)
{
  gboolean expired = FALSE;
  guint source = g_timeout_add (5000, on_timeout, &expired);

  while (*counter < value && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (source);
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

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  fake_notifications_clear (server);
  n_show_window = n_preferences = 0;

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 200);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
  fixture->monitor = spyglass_scan_monitor_new (fixture->client);
  spyglass_scan_monitor_set_poll_interval (fixture->monitor, 100);
  spyglass_scan_monitor_start (fixture->monitor);

  fixture->state_dir = g_dir_make_tmp ("spyglass-notifier-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  spyglass_queue_set_batch_window (fixture->queue, 50);
  spyglass_queue_set_backoff (fixture->queue, 20, 100);
  spyglass_queue_set_scan_monitor (fixture->queue, fixture->monitor);
  g_assert_true (spyglass_queue_load (fixture->queue, NULL, &error));
  g_assert_no_error (error);

  /* The memory backend: the settings live as long as the process, so
   * every test starts from the defaults. */
  fixture->settings = g_settings_new (APPLICATION_ID);
  g_settings_reset (fixture->settings, "notify-success");
  g_settings_reset (fixture->settings, "notify-failure");

  fixture->notifier = spyglass_notifier_new (app, fixture->queue, fixture->settings);
  spyglass_queue_start (fixture->queue);

  /* Followed through the WebSocket, as in the application. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (spyglass_scan_monitor_get_mode (fixture->monitor) != SPYGLASS_SCAN_MONITOR_WEBSOCKET &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (spyglass_scan_monitor_get_mode (fixture->monitor), ==,
                   SPYGLASS_SCAN_MONITOR_WEBSOCKET);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->notifier);
  g_clear_object (&fixture->settings);
  g_clear_object (&fixture->queue);
  spyglass_scan_monitor_stop (fixture->monitor);
  g_clear_object (&fixture->monitor);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);
  /* Let what was cancelled finish before the next test. */
  spin (20);
  remove_tree (fixture->state_dir);
  g_free (fixture->state_dir);
}

/* The next notification, which must come within 5 s. */
static const FakeNotification *
next_notification (void)
{
  const FakeNotification *notification = fake_notifications_wait (server, 5000);

  g_assert_nonnull (notification);
  return notification;
}

/* Nothing more arrives for a while. */
static void
assert_no_more_notifications (void)
{
  const FakeNotification *extra = fake_notifications_wait (server, 400);

  if (extra != NULL)
    g_error ("Unexpected notification “%s” / “%s”", extra->summary, extra->body);
}

static guchar
urgency (const FakeNotification *notification)
{
  guchar value = 255;

  g_assert_true (g_variant_lookup (notification->hints, "urgency", "y", &value));
  return value;
}

/* GIO picks its freedesktop notification backend here: not in a
 * Flatpak (no portal backend), nobody owns org.gtk.Notifications (no
 * GTK backend), and no GNOTIFICATION_BACKEND to force one. */
static void
test_backend (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = TRUE;

  g_assert_null (g_getenv ("GNOTIFICATION_BACKEND"));
  g_assert_false (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS));
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", "org.gtk.Notifications"),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                       -1, NULL, NULL);
  g_assert_nonnull (reply);
  g_variant_get (reply, "(b)", &has_owner);
  g_assert_false (has_owner);
}

/* One folder: one notification when Plex has finished scanning it, with
 * the library as the title and the folder in the body. */
static void
test_folder_scanned (Fixture       *fixture,
                     gconstpointer  data)
{
  const FakeNotification *notification;
  SpyglassRequest *request;
  gint64 ended;

  request = spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  g_object_ref (request);
  notification = next_notification ();

  /* The freedesktop backend is what sent it: this is its Notify. */
  g_assert_cmpstr (fake_notification_get_hint_string (notification, "desktop-entry"), ==,
                   TEST_APP_ID);
  g_assert_cmpstr (notification->summary, ==, "Music");
  g_assert_cmpstr (notification->body, ==, "Pink Floyd/The Dark Side of the Moon scanned");
  g_assert_nonnull (fake_notification_get_action_label (notification, "default"));
  g_assert_null (fake_notification_get_action_label (notification, "app.preferences"));
  g_assert_cmpint (urgency (notification), ==, 1);

  /* After the end of the scan, not at its start. */
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_DONE);
  ended = fake_plex_get_last_ended_time (fixture->plex);
  g_assert_cmpint (ended, >, 0);
  g_assert_cmpint (ended, <=, g_get_monotonic_time ());
  g_object_unref (request);

  assert_no_more_notifications ();
}

/* Three folders of one library in one batch: one notification. */
static void
test_three_folders (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) refreshes = NULL;
  const FakeNotification *notification;

  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  spyglass_queue_add_folder (fixture->queue, "/data/music/Air/Moon Safari", NULL, FALSE);
  spyglass_queue_add_folder (fixture->queue, "/data/music/Björk/Homogenic", NULL, FALSE);
  notification = next_notification ();

  g_assert_cmpstr (notification->summary, ==, "Music");
  g_assert_cmpstr (notification->body, ==, "3 folders scanned");
  wait_idle (fixture->queue);
  assert_no_more_notifications ();
  /* Plex got three scans, not one whole-library scan. */
  refreshes = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");
  g_assert_cmpuint (refreshes->len, ==, 3);
}

static void
test_whole_library (Fixture       *fixture,
                    gconstpointer  data)
{
  const FakeNotification *notification;

  spyglass_queue_add_library (fixture->queue, "3", FALSE);
  notification = next_notification ();
  g_assert_cmpstr (notification->summary, ==, "Music");
  g_assert_cmpstr (notification->body, ==, "Whole library scanned");
  assert_no_more_notifications ();
}

static void
test_metadata_refreshed (Fixture       *fixture,
                         gconstpointer  data)
{
  const FakeNotification *notification;

  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, TRUE);
  notification = next_notification ();
  g_assert_cmpstr (notification->summary, ==, "Music");
  g_assert_cmpstr (notification->body, ==,
                   "Metadata of Pink Floyd/The Dark Side of the Moon refreshed");
  assert_no_more_notifications ();
}

/* Two batches of one library replace each other's notification. */
static void
test_replaces (Fixture       *fixture,
               gconstpointer  data)
{
  const FakeNotification *first;
  const FakeNotification *second;

  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  first = next_notification ();
  spyglass_queue_add_folder (fixture->queue, "/data/music/Air/Moon Safari", NULL, FALSE);
  second = next_notification ();

  g_assert_cmpstr (second->body, ==, "Air/Moon Safari scanned");
  g_assert_cmpuint (second->replaces_id, ==, first->id);
  g_assert_cmpuint (second->id, ==, first->id);
}

/* Scans accepted before a restart are followed again, and told. */
static void
test_after_restart (Fixture       *fixture,
                    gconstpointer  data)
{
  const FakeNotification *notification;
  g_autoptr(GError) error = NULL;
  SpyglassRequest *request;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  fake_plex_set_scan_duration (fixture->plex, 600);
  request = spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  spyglass_queue_add_folder (fixture->queue, "/data/music/Air/Moon Safari", NULL, FALSE);
  while (spyglass_request_get_state (request) != SPYGLASS_REQUEST_SCANNING &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (spyglass_request_get_state (request), ==, SPYGLASS_REQUEST_SCANNING);
  /* Both accepted. */
  spin (50);

  /* The application quits while Plex scans, and starts again. */
  g_clear_object (&fixture->notifier);
  /* (Disposed explicitly: its tasks following the scan hold references
   * to it until the scan ends.) */
  g_object_run_dispose (G_OBJECT (fixture->queue));
  g_clear_object (&fixture->queue);
  spin (50);
  fixture->queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  spyglass_queue_set_scan_monitor (fixture->queue, fixture->monitor);
  g_assert_true (spyglass_queue_load (fixture->queue, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (fixture->queue)), ==, 2);
  fixture->notifier = spyglass_notifier_new (app, fixture->queue, fixture->settings);
  spyglass_queue_start (fixture->queue);

  notification = next_notification ();
  g_assert_cmpstr (notification->summary, ==, "Music");
  g_assert_cmpstr (notification->body, ==, "2 folders scanned");
  assert_no_more_notifications ();
}

/* Clicking the notification opens the window: app.show-window. */
static void
test_default_action (Fixture       *fixture,
                     gconstpointer  data)
{
  const FakeNotification *notification;
  g_autoptr(GError) error = NULL;

  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  notification = next_notification ();

  g_assert_true (fake_notifications_invoke_action (server, notification->id, "default", &error));
  g_assert_no_error (error);
  spin_until (&n_show_window, 1);
  g_assert_cmpuint (n_show_window, ==, 1);
  g_assert_cmpuint (n_preferences, ==, 0);
}

/* An invalid token pauses the queue: one failure notification with an
 * Open Preferences button, however often the queue tries again. */
static void
test_invalid_token (Fixture       *fixture,
                    gconstpointer  data)
{
  const FakeNotification *notification;
  g_autoptr(GError) error = NULL;

  spyglass_client_set_token (fixture->client, "stale-token");
  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  notification = next_notification ();

  g_assert_true (spyglass_queue_get_paused (fixture->queue));
  g_assert_cmpstr (notification->summary, ==, "Plex scan failed");
  g_assert_cmpstr (notification->body, ==, "Invalid Plex token");
  g_assert_cmpstr (fake_notification_get_action_label (notification, "app.preferences"), ==,
                   "Open Preferences");
  g_assert_nonnull (fake_notification_get_action_label (notification, "default"));
  /* G_NOTIFICATION_PRIORITY_HIGH: GLib 2.74's freedesktop backend sends
   * it as normal urgency, newer ones as critical. */
  g_assert_cmpint (urgency (notification), >=, 1);

  /* Another wrong token: the queue resumes, tries, and pauses again;
   * twice. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *token = g_strdup_printf ("still-stale-%u", i);
      guint n_requests = fake_plex_get_requests (fixture->plex)->len;
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      spyglass_client_set_token (fixture->client, token);
      while ((fake_plex_get_requests (fixture->plex)->len == n_requests ||
              !spyglass_queue_get_paused (fixture->queue)) &&
             g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, >, n_requests);
      g_assert_true (spyglass_queue_get_paused (fixture->queue));
    }
  assert_no_more_notifications ();

  /* Its button opens the preferences. */
  g_assert_true (fake_notifications_invoke_action (server, notification->id, "app.preferences",
                                                   &error));
  g_assert_no_error (error);
  spin_until (&n_preferences, 1);
  g_assert_cmpuint (n_preferences, ==, 1);
  g_assert_cmpuint (n_show_window, ==, 0);
}

/* A request that finally failed says why. */
static void
test_request_failed (Fixture       *fixture,
                     gconstpointer  data)
{
  const FakeNotification *notification;

  spyglass_queue_add_library (fixture->queue, "99", FALSE);
  notification = next_notification ();
  g_assert_cmpstr (notification->summary, ==, "Plex scan failed");
  g_assert_cmpstr (notification->body, ==, "Library 99: Library section not found");
  assert_no_more_notifications ();
}

/* Plex unreachable: one "waiting" notification however many retries,
 * withdrawn when the scan goes through; then the success. */
static void
test_unreachable (Fixture       *fixture,
                  gconstpointer  data)
{
  const FakeNotification *notification;
  g_autoptr(GError) error = NULL;
  guint16 port = fake_plex_get_port (fixture->plex);

  fake_plex_stop (fixture->plex);
  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  notification = next_notification ();
  g_assert_cmpstr (notification->summary, ==, "Plex scans are waiting");
  g_assert_cmpstr (notification->body, ==, "Cannot reach Plex server. Spyglass keeps retrying.");
  /* Retries every 20–100 ms meanwhile. */
  assert_no_more_notifications ();
  g_assert_cmpuint (fake_notifications_get_close_requests (server)->len, ==, 0);

  g_assert_true (fake_plex_start_on_port (fixture->plex, port, NULL, &error));
  g_assert_no_error (error);
  notification = next_notification ();
  g_assert_cmpstr (notification->body, ==, "Pink Floyd/The Dark Side of the Moon scanned");
  /* The waiting one was withdrawn.  (GLib 2.74's freedesktop backend
   * passes the wrong id to CloseNotification, so only the call is
   * checked.) */
  g_assert_cmpuint (fake_notifications_get_close_requests (server)->len, ==, 1);
}

/* notify-success off: nothing for a success; notify-failure off:
 * nothing for a failure. */
static void
test_success_off (Fixture       *fixture,
                  gconstpointer  data)
{
  g_settings_set_boolean (fixture->settings, "notify-success", FALSE);
  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  wait_idle (fixture->queue);
  g_assert_cmpuint (spyglass_queue_get_history (fixture->queue)->len, ==, 1);
  assert_no_more_notifications ();
}

static void
test_failure_off (Fixture       *fixture,
                  gconstpointer  data)
{
  g_settings_set_boolean (fixture->settings, "notify-failure", FALSE);
  spyglass_client_set_token (fixture->client, "stale-token");
  spyglass_queue_add_folder (fixture->queue, ALBUM, NULL, FALSE);
  spyglass_queue_add_library (fixture->queue, "99", FALSE);
  spin (300);
  g_assert_true (spyglass_queue_get_paused (fixture->queue));
  assert_no_more_notifications ();
}

static void
count_activation (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  guint *counter = user_data;

  (*counter)++;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSimpleAction) show_window = g_simple_action_new ("show-window", NULL);
  g_autoptr(GSimpleAction) preferences = g_simple_action_new ("preferences", NULL);
  int status;

  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("No session bus (run under dbus-run-session)");
      return g_test_run ();
    }

  app = g_application_new (TEST_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_signal_connect (show_window, "activate", G_CALLBACK (count_activation), &n_show_window);
  g_signal_connect (preferences, "activate", G_CALLBACK (count_activation), &n_preferences);
  g_action_map_add_action (G_ACTION_MAP (app), G_ACTION (show_window));
  g_action_map_add_action (G_ACTION_MAP (app), G_ACTION (preferences));
  g_assert_true (g_application_register (app, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (app));

  server = fake_notifications_new ();
  g_assert_true (fake_notifications_start (server, &error));
  g_assert_no_error (error);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/notifier/backend", test_backend);
  ADD ("/notifier/folder-scanned", test_folder_scanned);
  ADD ("/notifier/three-folders", test_three_folders);
  ADD ("/notifier/whole-library", test_whole_library);
  ADD ("/notifier/metadata-refreshed", test_metadata_refreshed);
  ADD ("/notifier/replaces", test_replaces);
  ADD ("/notifier/after-restart", test_after_restart);
  ADD ("/notifier/default-action", test_default_action);
  ADD ("/notifier/invalid-token", test_invalid_token);
  ADD ("/notifier/request-failed", test_request_failed);
  ADD ("/notifier/unreachable", test_unreachable);
  ADD ("/notifier/success-off", test_success_off);
  ADD ("/notifier/failure-off", test_failure_off);

  status = g_test_run ();

  g_clear_object (&server);
  g_clear_object (&app);
  return status;
}
