/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fake notification server, reached the way the app reaches a real one:
 * a GApplication in this process calls g_application_send_notification(),
 * GLib's freedesktop backend sends Notify over the session bus, and a click
 * simulated by the server activates the application's action.
 */
#include "config.h"

#include "fake-notifications.h"
#include "ui-harness.h"

#define TEST_APP_ID "io.github.spyglass.Spyglass.Test"
#define WAIT_MS     (30 * 1000)

typedef struct
{
  FakeNotifications *server;
  GApplication      *app;
  GPtrArray         *activated;  /* "name" or "name:target" of each action activated */
  guint              n_app_activations;
} Fixture;

static void
on_action_activated (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  Fixture *fixture = user_data;
  const char *name = g_action_get_name (G_ACTION (action));

  if (parameter != NULL)
    g_ptr_array_add (fixture->activated,
                     g_strdup_printf ("%s:%s", name, g_variant_get_string (parameter, NULL)));
  else
    g_ptr_array_add (fixture->activated, g_strdup (name));
}

static void
on_app_activate (GApplication *app,
                 gpointer      user_data)
{
  Fixture *fixture = user_data;

  fixture->n_app_activations++;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const GActionEntry entries[] = {
    { "open-preferences", on_action_activated, NULL, NULL, NULL, { 0 } },
    { "show-request", on_action_activated, "s", NULL, NULL, { 0 } },
  };

  fixture->activated = g_ptr_array_new_with_free_func (g_free);
  if (!ui_harness_require_session_bus ())
    return;

  fixture->server = fake_notifications_new ();
  g_assert_true (fake_notifications_start (fixture->server, &error));
  g_assert_no_error (error);

  fixture->app = g_application_new (TEST_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_action_map_add_action_entries (G_ACTION_MAP (fixture->app), entries,
                                   G_N_ELEMENTS (entries), fixture);
  g_signal_connect (fixture->app, "activate", G_CALLBACK (on_app_activate), fixture);
  g_assert_true (g_application_register (fixture->app, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (fixture->app));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->app);
  g_clear_object (&fixture->server);
  g_clear_pointer (&fixture->activated, g_ptr_array_unref);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until @n actions were activated. */
static void
wait_for_activations (Fixture *fixture,
                      guint    n)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add (WAIT_MS, on_wait_timeout, &timed_out);

  while (fixture->activated->len < n && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_cmpuint (fixture->activated->len, ==, n);
}

static void
on_called (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
has_result (gpointer user_data)
{
  GAsyncResult **result = user_data;

  return *result != NULL;
}

/* Calls @method of the server through the process's shared session bus
 * connection. Not with a blocking call: the server answers in this
 * thread's main context, which must keep running. */
static GVariant *
call_server (const char         *method,
             const GVariantType *reply_type)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *reply;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_call (bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                          "org.freedesktop.Notifications", method, NULL, reply_type,
                          G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, on_called, &result);
  g_assert_true (ui_harness_wait_until (has_result, &result, WAIT_MS));
  reply = g_dbus_connection_call_finish (bus, result, &error);
  g_assert_no_error (error);
  return reply;
}

static void
test_server_information (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GVariant) capabilities = NULL;
  g_autoptr(GVariant) information = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **strv = NULL;
  const char *name, *vendor, *version, *spec_version;

  if (fixture->server == NULL)
    return;

  capabilities = call_server ("GetCapabilities", G_VARIANT_TYPE ("(as)"));
  g_variant_get (capabilities, "(^a&s)", &strv);
  g_assert_true (g_strv_contains (strv, "actions"));
  g_assert_true (g_strv_contains (strv, "body"));

  information = call_server ("GetServerInformation", G_VARIANT_TYPE ("(ssss)"));
  g_variant_get (information, "(&s&s&s&s)", &name, &vendor, &version, &spec_version);
  g_assert_cmpstr (name, ==, "Spyglass Fake Notifications");
  g_assert_cmpstr (spec_version, ==, "1.2");

  /* The name is taken: a second server cannot start. */
  {
    g_autoptr(FakeNotifications) second = fake_notifications_new ();

    g_assert_false (fake_notifications_start (second, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  }
}

/* A failure notification with a button, as the app sends it; clicking the
 * button activates the app action, clicking the body the default action. */
static void
test_send_and_click (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GNotification) failure = NULL;
  g_autoptr(GNotification) success = NULL;
  g_autoptr(GError) error = NULL;
  const FakeNotification *received;
  guint32 failure_id;

  if (fixture->server == NULL)
    return;

  failure = g_notification_new ("Plex scan failed");
  g_notification_set_body (failure, "Invalid Plex token");
  g_notification_add_button (failure, "Open Preferences", "app.open-preferences");
  g_application_send_notification (fixture->app, "scan-failed", failure);

  received = fake_notifications_wait (fixture->server, WAIT_MS);
  g_assert_nonnull (received);
  /* app_name is GLib's choice (the program name in 2.74, empty in some
   * versions): the desktop-entry hint is what names the app. */
  g_test_message ("app_name “%s”, desktop-entry “%s”", received->app_name,
                  fake_notification_get_hint_string (received, "desktop-entry"));
  g_assert_cmpstr (received->summary, ==, "Plex scan failed");
  g_assert_cmpstr (received->body, ==, "Invalid Plex token");
  g_assert_cmpstr (fake_notification_get_hint_string (received, "desktop-entry"), ==, TEST_APP_ID);
  g_assert_cmpstr (fake_notification_get_action_label (received, "app.open-preferences"), ==,
                   "Open Preferences");
  g_assert_null (fake_notification_get_action_label (received, "default"));
  g_assert_cmpuint (received->replaces_id, ==, 0);
  failure_id = received->id;
  g_assert_cmpuint (failure_id, >, 0);

  /* GLib learns the id from the reply to Notify: let it arrive before the
   * click, as it always would for a person. */
  g_assert_null (fake_notifications_wait (fixture->server, 200));
  g_assert_true (fake_notifications_invoke_action (fixture->server, failure_id,
                                                   "app.open-preferences", &error));
  g_assert_no_error (error);
  wait_for_activations (fixture, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->activated, 0), ==, "open-preferences");

  /* A default action with a target: clicking the body. */
  success = g_notification_new ("Music: Pink Floyd/The Dark Side of the Moon scanned");
  g_notification_set_body (success, "Scanned in 12 s");
  g_notification_set_default_action_and_target (success, "app.show-request", "s", "/data/music");
  g_application_send_notification (fixture->app, "scan-done", success);

  received = fake_notifications_wait (fixture->server, WAIT_MS);
  g_assert_nonnull (received);
  g_assert_cmpstr (received->summary, ==, "Music: Pink Floyd/The Dark Side of the Moon scanned");
  g_assert_cmpstr (received->body, ==, "Scanned in 12 s");
  g_assert_nonnull (fake_notification_get_action_label (received, "default"));
  g_assert_cmpuint (received->id, !=, failure_id);

  g_assert_null (fake_notifications_wait (fixture->server, 200));
  g_assert_true (fake_notifications_invoke_action (fixture->server, received->id, "default", &error));
  g_assert_no_error (error);
  wait_for_activations (fixture, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->activated, 1), ==, "show-request:/data/music");
  g_assert_cmpuint (fixture->n_app_activations, ==, 0);

  g_assert_cmpuint (fake_notifications_get_notifications (fixture->server)->len, ==, 2);
}

/* The same notification id sent again replaces the shown one. */
static void
test_replace (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GNotification) first = g_notification_new ("3 folders queued");
  g_autoptr(GNotification) second = g_notification_new ("3 folders scanned");
  const FakeNotification *received;
  guint32 id;

  if (fixture->server == NULL)
    return;

  g_application_send_notification (fixture->app, "batch", first);
  received = fake_notifications_wait (fixture->server, WAIT_MS);
  g_assert_nonnull (received);
  id = received->id;
  g_assert_null (fake_notifications_wait (fixture->server, 200));

  g_application_send_notification (fixture->app, "batch", second);
  received = fake_notifications_wait (fixture->server, WAIT_MS);
  g_assert_nonnull (received);
  g_assert_cmpstr (received->summary, ==, "3 folders scanned");
  g_assert_cmpuint (received->replaces_id, ==, id);
  g_assert_cmpuint (received->id, ==, id);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/fake-notifications/server-information", Fixture, NULL,
              fixture_setup, test_server_information, fixture_teardown);
  g_test_add ("/fake-notifications/send-and-click", Fixture, NULL,
              fixture_setup, test_send_and_click, fixture_teardown);
  g_test_add ("/fake-notifications/replace", Fixture, NULL,
              fixture_setup, test_replace, fixture_teardown);

  return g_test_run ();
}
