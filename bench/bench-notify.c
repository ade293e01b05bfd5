/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The delay from the fake Plex server's `ended` activity frame to the
 * desktop notification: the whole path a user waits for, WebSocket frame →
 * scan monitor → queue → SpyglassNotifier → GNotification → GLib's
 * freedesktop backend → D-Bus → the notification server's Notify.
 *
 * Three threads in one process, as three processes would be: the fake
 * Plex server (tests/fake-plex.c) on 127.0.0.1, a fake
 * org.freedesktop.Notifications server (tests/fake-notifications.c) on a
 * D-Bus connection of its own, which stamps each Notify as it arrives,
 * and, in the main thread, a registered GApplication with the client,
 * the scan monitor, the queue and the notifier, as in the application.
 *
 * It needs a session bus of its own (the name org.freedesktop.Notifications
 * must be free, and no org.gtk.Notifications must be there):
 *
 *   dbus-run-session -- _build/bench/bench-notify [--samples N] [--scan-duration MS]
 *
 * See bench/README.md.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "fake-notifications.h"
#include "fake-plex.h"
#include "spyglass-core.h"
#include "spyglass-notifier.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

static int opt_samples = 30;
static int opt_scan_duration = 100;

static GOptionEntry entries[] = {
  { "samples", 0, 0, G_OPTION_ARG_INT, &opt_samples, "Scans, one after the other (default 30)", "N" },
  { "scan-duration", 0, 0, G_OPTION_ARG_INT, &opt_scan_duration, "Fake scan duration in ms (default 100)", "MS" },
  G_OPTION_ENTRY_NULL
};

/* A server in a thread of its own, with its own main context. */
typedef struct
{
  GThread      *thread;
  GMutex        mutex;
  GCond         cond;
  GMainContext *context;
  gboolean      ready;
  gint          quit;

  /* fake Plex */
  FakePlex     *plex;
  char         *url;
  char         *token;

  /* fake notifications */
  FakeNotifications *notifications;
  GMainContext *wake;        /* the main thread's, woken at each Notify */
  guint         n_notified;  /* under the mutex */
  gint64        notified;    /* monotonic µs of the last Notify, under the mutex */
  char         *last_body;   /* under the mutex */
} Server;

static gpointer
plex_thread (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  server->plex = fake_plex_new ();
  fake_plex_set_scan_duration (server->plex, (guint) opt_scan_duration);
  if (!fake_plex_start (server->plex, &error))
    g_error ("Cannot start the fake Plex server: %s", error->message);

  g_mutex_lock (&server->mutex);
  server->url = g_strdup (fake_plex_get_url (server->plex));
  server->token = g_strdup (fake_plex_get_token (server->plex));
  server->context = g_main_context_ref (context);
  server->ready = TRUE;
  g_cond_broadcast (&server->cond);
  g_mutex_unlock (&server->mutex);

  while (!g_atomic_int_get (&server->quit))
    g_main_context_iteration (context, TRUE);

  fake_plex_stop (server->plex);
  g_clear_object (&server->plex);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
on_notify (FakeNotifications      *notifications,
           const FakeNotification *notification,
           Server                 *server)
{
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&server->mutex);
  server->notified = now;
  server->n_notified++;
  g_free (server->last_body);
  server->last_body = g_strdup (notification->body);
  g_mutex_unlock (&server->mutex);
  g_main_context_wakeup (server->wake);
}

static gpointer
notifications_thread (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  server->notifications = fake_notifications_new ();
  g_signal_connect (server->notifications, "notification-received", G_CALLBACK (on_notify), server);
  if (!fake_notifications_start (server->notifications, &error))
    g_error ("Cannot start the fake notification server: %s (run this under "
             "dbus-run-session)", error->message);

  g_mutex_lock (&server->mutex);
  server->context = g_main_context_ref (context);
  server->ready = TRUE;
  g_cond_broadcast (&server->cond);
  g_mutex_unlock (&server->mutex);

  while (!g_atomic_int_get (&server->quit))
    g_main_context_iteration (context, TRUE);

  fake_notifications_stop (server->notifications);
  g_clear_object (&server->notifications);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static Server *
server_start (GThreadFunc  func,
              const char  *name)
{
  Server *server = g_new0 (Server, 1);

  g_mutex_init (&server->mutex);
  g_cond_init (&server->cond);
  server->wake = g_main_context_ref (g_main_context_default ());
  server->thread = g_thread_new (name, func, server);

  g_mutex_lock (&server->mutex);
  while (!server->ready)
    g_cond_wait (&server->cond, &server->mutex);
  g_mutex_unlock (&server->mutex);
  return server;
}

static void
server_free (Server *server)
{
  g_atomic_int_set (&server->quit, TRUE);
  g_main_context_wakeup (server->context);
  g_thread_join (server->thread);

  g_main_context_unref (server->context);
  g_main_context_unref (server->wake);
  g_free (server->url);
  g_free (server->token);
  g_free (server->last_body);
  g_mutex_clear (&server->mutex);
  g_cond_clear (&server->cond);
  g_free (server);
}

typedef struct
{
  Server   *server;
  gint64    value;
  gboolean  done;
} EndedCall;

static gboolean
read_last_ended (gpointer user_data)
{
  EndedCall *call = user_data;

  g_mutex_lock (&call->server->mutex);
  call->value = fake_plex_get_last_ended_time (call->server->plex);
  call->done = TRUE;
  g_cond_broadcast (&call->server->cond);
  g_mutex_unlock (&call->server->mutex);
  return G_SOURCE_REMOVE;
}

/* fake_plex_get_last_ended_time(), asked in the server's thread. */
static gint64
get_last_ended_time (Server *server)
{
  EndedCall call = { server, 0, FALSE };

  g_main_context_invoke (server->context, read_last_ended, &call);
  g_mutex_lock (&server->mutex);
  while (!call.done)
    g_cond_wait (&server->cond, &server->mutex);
  g_mutex_unlock (&server->mutex);
  return call.value;
}

static void
on_request_finished (SpyglassQueue   *queue,
                     SpyglassRequest *request,
                     gint64          *finished)
{
  *finished = g_get_monotonic_time ();
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Nearest rank. */
static double
percentile (GArray *values,
            double  fraction)
{
  guint rank = (guint) (fraction * values->len + 0.999999);

  rank = CLAMP (rank, 1, values->len);
  return g_array_index (values, double, rank - 1);
}

static void
print_row (const char *what,
           GArray     *values)
{
  g_array_sort (values, compare_doubles);
  g_print ("  %-32s median %7.2f ms   p90 %7.2f ms   max %7.2f ms\n", what,
           percentile (values, 0.5), percentile (values, 0.9), percentile (values, 1.0));
}

static void
activate_nothing (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("- ended → notification delay");
  g_autoptr(GError) error = NULL;
  g_autoptr(GApplication) app = NULL;
  g_autoptr(SpyglassClient) client = NULL;
  g_autoptr(SpyglassScanMonitor) monitor = NULL;
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(SpyglassNotifier) notifier = NULL;
  g_autoptr(GArray) to_notify = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) to_finished = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) finished_to_notify = g_array_new (FALSE, FALSE, sizeof (double));
  static const GActionEntry actions[] = {
    { "show-window", activate_nothing, NULL, NULL, NULL, { 0 } },
    { "preferences", activate_nothing, NULL, NULL, NULL, { 0 } },
  };
  g_autofree char *state_dir = NULL;
  Server *plex;
  Server *notifications;
  gboolean expired = FALSE;
  guint deadline;
  gint64 finished = 0;
  guint bad = 0;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_printerr ("bench-notify needs a session bus of its own: "
                  "dbus-run-session -- %s\n", argv[0]);
      return 2;
    }

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GSETTINGS_SCHEMA_DIR", BENCH_SCHEMA_DIR, TRUE);
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GIO_USE_VFS", "local", TRUE);

  plex = server_start (plex_thread, "fake-plex");
  notifications = server_start (notifications_thread, "fake-notifications");

  app = g_application_new ("io.github.spyglass.Spyglass.NotifyBench", G_APPLICATION_DEFAULT_FLAGS);
  g_action_map_add_action_entries (G_ACTION_MAP (app), actions, G_N_ELEMENTS (actions), NULL);
  if (!g_application_register (app, NULL, &error))
    g_error ("Cannot register the application: %s", error->message);

  client = spyglass_client_new (plex->url, plex->token);
  monitor = spyglass_scan_monitor_new (client);
  spyglass_scan_monitor_start (monitor);
  deadline = g_timeout_add_seconds (10, on_deadline, &expired);
  while (spyglass_scan_monitor_get_mode (monitor) != SPYGLASS_SCAN_MONITOR_WEBSOCKET && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (expired)
    g_error ("The scan monitor did not open the WebSocket");
  g_source_remove (deadline);

  state_dir = g_dir_make_tmp ("spyglass-bench-notify-XXXXXX", &error);
  g_assert_no_error (error);
  queue = spyglass_queue_new (client, state_dir);
  spyglass_queue_set_scan_monitor (queue, monitor);
  if (!spyglass_queue_load (queue, NULL, &error))
    g_error ("Cannot load the queue: %s", error->message);
  g_signal_connect (queue, "request-finished", G_CALLBACK (on_request_finished), &finished);
  settings = g_settings_new (APPLICATION_ID);
  notifier = spyglass_notifier_new (app, queue, settings);
  spyglass_queue_start (queue);

  g_print ("bench-notify: %d scans of %d ms, one after the other, %s build, WebSocket\n",
           opt_samples, opt_scan_duration, BENCH_BUILDTYPE);

  for (guint i = 0; i < (guint) opt_samples; i++)
    {
      g_autofree char *folder = g_strdup_printf ("/data/music/Artist %03u/Album", i);
      g_autofree char *expected = g_strdup_printf ("Artist %03u/Album scanned", i);
      g_autofree char *body = NULL;
      guint n_before;
      guint n_now;
      gint64 notified;
      gint64 ended;
      double ms;

      g_mutex_lock (&notifications->mutex);
      n_before = notifications->n_notified;
      g_mutex_unlock (&notifications->mutex);
      finished = 0;

      spyglass_queue_add_folder (queue, folder, NULL, FALSE);
      expired = FALSE;
      deadline = g_timeout_add_seconds (10, on_deadline, &expired);
      do
        {
          g_main_context_iteration (NULL, TRUE);
          g_mutex_lock (&notifications->mutex);
          n_now = notifications->n_notified;
          notified = notifications->notified;
          body = g_strdup (notifications->last_body);
          g_mutex_unlock (&notifications->mutex);
          if (n_now == n_before)
            g_clear_pointer (&body, g_free);
        }
      while (n_now == n_before && !expired);
      if (expired)
        g_error ("No notification for scan %u", i);
      g_source_remove (deadline);

      ended = get_last_ended_time (plex);
      if (g_strcmp0 (body, expected) != 0 || ended == 0 || finished < ended || notified < finished)
        {
          g_print ("  sample %u discarded: “%s”, ended %" G_GINT64_FORMAT ", finished %+.2f ms, "
                   "notified %+.2f ms\n", i, body, ended, (finished - ended) / 1000.0,
                   (notified - ended) / 1000.0);
          bad++;
          continue;
        }

      ms = (notified - ended) / 1000.0;
      g_array_append_val (to_notify, ms);
      ms = (finished - ended) / 1000.0;
      g_array_append_val (to_finished, ms);
      ms = (notified - finished) / 1000.0;
      g_array_append_val (finished_to_notify, ms);
    }

  g_print ("%u samples (%u discarded)\n", to_notify->len, bad);
  if (to_notify->len > 0)
    {
      print_row ("`ended` -> Notify received", to_notify);
      print_row ("`ended` -> request-finished", to_finished);
      print_row ("request-finished -> Notify", finished_to_notify);
    }
  g_print ("goal: `ended` -> notification under 250 ms\n");

  g_clear_object (&notifier);
  g_clear_object (&queue);
  spyglass_scan_monitor_stop (monitor);
  {
    g_autoptr(GDir) dir = g_dir_open (state_dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (state_dir, name, NULL);

        g_unlink (path);
      }
    g_rmdir (state_dir);
  }
  server_free (notifications);
  server_free (plex);
  return to_notify->len > 0 ? 0 : 1;
}
