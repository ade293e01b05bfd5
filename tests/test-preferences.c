/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The preferences window of the real application under a real display,
 * against the fake Plex server: what a user sees after Test Connection,
 * the library combo and its memory across a restart, the token in a real
 * Secret Service and nowhere in GSettings, the path-mapping editor and its
 * preview, the watched folders and the settle delay, accessible names.
 *
 * Everything stays inside the test: a private session bus (GTestDBus),
 * a gnome-keyring-daemon of its own on it, its own XDG folders and the
 * keyfile settings backend.  A developer's keyring, settings and running
 * Spyglass are never touched.
 *
 * Without $DISPLAY the tests are skipped, and without gnome-keyring-daemon
 * the keyring test is, unless SPYGLASS_UI_REQUIRED=1 (CI): then they fail.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>

#include "fake-plex.h"
#include "spyglass-preferences-window-private.h"

#define TEST_TOKEN "spyglass-test-token-5f3a9c"
#define WAIT_SECONDS 30

/* As in src/core/spyglass-token-store.c. */
static const SecretSchema token_schema = {
  "io.github.spyglass.Spyglass.Token", SECRET_SCHEMA_NONE,
  {
    { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
  0,
};

static char *tmpdir;
/* Never freed: its finalize would wait for the session bus connection,
 * which GTK and libsecret keep to the end. */
static GTestDBus *test_bus;
static gboolean required;
static gboolean have_display;
static gboolean have_keyring;
static char *keyring_problem;

typedef struct _Fixture Fixture;
typedef void (*BodyFunc) (Fixture *fixture);

struct _Fixture
{
  FakePlex                  *plex;
  SpyglassApplication       *app;
  SpyglassPreferencesWindow *prefs;
  BodyFunc                   body;
  gboolean                   ran;
  SpyglassQueue             *queue;  /* weak */
};

/* Waiting */

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until @cond holds, for at most WAIT_SECONDS. */
#define WAIT_FOR(cond) G_STMT_START {                                          \
    gint64 deadline_ = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC; \
    guint tick_ = g_timeout_add (10, tick_cb, NULL);                            \
    while (!(cond) && g_get_monotonic_time () < deadline_)                      \
      g_main_context_iteration (NULL, TRUE);                                    \
    g_source_remove (tick_);                                                    \
    if (!(cond))                                                                \
      g_error ("%s:%d: timed out waiting for %s", __FILE__, __LINE__, #cond);   \
  } G_STMT_END

static void
iterate_for (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * 1000;
  guint tick = g_timeout_add (10, tick_cb, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

/* The window's widgets */

static gpointer
child (Fixture    *fixture,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (fixture->prefs),
                                                   SPYGLASS_TYPE_PREFERENCES_WINDOW, name);

  g_assert_nonnull (object);
  return object;
}

static const char *
status_text (Fixture *fixture)
{
  return gtk_label_get_text (child (fixture, "status_label"));
}

static gboolean
testing (Fixture *fixture)
{
  return gtk_widget_get_visible (child (fixture, "test_spinner"));
}

static void
set_text (Fixture    *fixture,
          const char *name,
          const char *text)
{
  gtk_editable_set_text (child (fixture, name), text);
}

static void
click (gpointer button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* Types the address and token, tests, waits for the answer. */
static void
test_connection (Fixture    *fixture,
                 const char *url,
                 const char *token)
{
  set_text (fixture, "url_row", url);
  set_text (fixture, "token_row", token);
  click (child (fixture, "test_button"));
  g_assert_true (testing (fixture));
  g_assert_cmpstr (gtk_button_get_label (child (fixture, "test_button")), ==, "_Cancel");
  WAIT_FOR (!testing (fixture));
  g_assert_cmpstr (gtk_button_get_label (child (fixture, "test_button")), ==, "_Test Connection");
}

static guint
n_libraries (Fixture *fixture)
{
  GListModel *model = adw_combo_row_get_model (child (fixture, "library_row"));

  return g_list_model_get_n_items (model);
}

static char *
library_label (Fixture *fixture,
               guint    position)
{
  GListModel *model = adw_combo_row_get_model (child (fixture, "library_row"));
  g_autoptr(GObject) item = g_list_model_get_item (model, position);
  char *label = NULL;

  if (item != NULL)
    g_object_get (item, "label", &label, NULL);
  return label;
}

static char *
selected_library_label (Fixture *fixture)
{
  return library_label (fixture, adw_combo_row_get_selected (child (fixture, "library_row")));
}

static gboolean
selected_library_is (Fixture    *fixture,
                     const char *label)
{
  g_autofree char *selected = selected_library_label (fixture);

  return g_strcmp0 (selected, label) == 0;
}

static guint
find_library (Fixture    *fixture,
              const char *label)
{
  for (guint i = 0; i < n_libraries (fixture); i++)
    {
      g_autofree char *text = library_label (fixture, i);

      if (g_strcmp0 (text, label) == 0)
        return i;
    }
  g_error ("No library “%s” in the combo row", label);
}

static GSettings *
settings (Fixture *fixture)
{
  return spyglass_application_get_settings (fixture->app);
}

static const char *
subtitle (Fixture    *fixture,
          const char *row)
{
  const char *text = adw_action_row_get_subtitle (child (fixture, row));

  return text != NULL ? text : "";
}

/* Running the application */

static gboolean
run_body (gpointer user_data)
{
  Fixture *fixture = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app));
  GtkWindow *main_window = windows != NULL ? windows->data : NULL;

  g_assert_nonnull (main_window);
  fixture->prefs = SPYGLASS_PREFERENCES_WINDOW (spyglass_preferences_window_new (fixture->app, main_window));
  g_object_add_weak_pointer (G_OBJECT (fixture->prefs), (gpointer *) &fixture->prefs);
  gtk_window_present (GTK_WINDOW (fixture->prefs));
  WAIT_FOR (gtk_widget_get_mapped (GTK_WIDGET (fixture->prefs)));

  fixture->body (fixture);
  fixture->ran = TRUE;

  fixture->queue = spyglass_application_get_queue (fixture->app);
  if (fixture->queue != NULL)
    g_object_add_weak_pointer (G_OBJECT (fixture->queue), (gpointer *) &fixture->queue);

  /* Closed as a user closes them: the windows hold the application. */
  if (fixture->prefs != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->prefs));
  WAIT_FOR (fixture->prefs == NULL);
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app))) != NULL)
    gtk_window_destroy (windows->data);
  g_application_quit (G_APPLICATION (fixture->app));
  return G_SOURCE_REMOVE;
}

static void
activate_cb (GApplication *app,
             Fixture      *fixture)
{
  g_idle_add (run_body, fixture);
}

/* Starts the application as a user would (its main window, then the
 * preferences), runs @body, quits, and checks the application is gone so
 * the next one owns the bus name and the scan queue again. */
static void
run_application (Fixture  *fixture,
                 BodyFunc  body)
{
  fixture->body = body;
  fixture->ran = FALSE;
  fixture->app = spyglass_application_new ();
  g_object_add_weak_pointer (G_OBJECT (fixture->app), (gpointer *) &fixture->app);
  g_signal_connect_after (fixture->app, "activate", G_CALLBACK (activate_cb), fixture);

  g_assert_cmpint (g_application_run (G_APPLICATION (fixture->app), 0, NULL), ==, 0);
  /* Not handed to another instance: this one ran the body. */
  g_assert_true (fixture->ran);

  g_object_unref (fixture->app);
  WAIT_FOR (fixture->app == NULL);

  /* The queue's lock goes with the queue.  Its D-Bus service (already
   * unregistered with the application) keeps a reference for as long as
   * the session bus connection lives, the whole process here: drop it,
   * as the end of a real process would. */
  {
    g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);

    if (bus != NULL)
      g_object_set_data (G_OBJECT (bus), "spyglass-queue-service", NULL);
  }
  WAIT_FOR (fixture->queue == NULL);
}

static gboolean
check_environment (void)
{
  if (have_display)
    return TRUE;

  if (required)
    g_test_fail_printf ("No X display ($DISPLAY), and SPYGLASS_UI_REQUIRED=1");
  else
    g_test_skip ("No X display ($DISPLAY)");
  return FALSE;
}

static gboolean
check_keyring (void)
{
  if (have_keyring)
    return TRUE;

  if (required)
    g_test_fail_printf ("No Secret Service (%s), and SPYGLASS_UI_REQUIRED=1", keyring_problem);
  else
    g_test_skip_printf ("No Secret Service: %s", keyring_problem);
  return FALSE;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GSettings) defaults = g_settings_new (APPLICATION_ID);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  g_autoptr(GError) error = NULL;

  /* Without a display there is no private bus either: touch nothing. */
  if (!have_display)
    return;

  /* Every test starts from the defaults.  The token stays: every test
   * uses the same one, and gnome-keyring 42 does not take a quick clear
   * and store well. */
  g_object_get (defaults, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (defaults, keys[i]);
  g_settings_sync ();

  fixture->plex = fake_plex_new ();
  fake_plex_set_token (fixture->plex, TEST_TOKEN);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->plex);
}

/* /preferences/test-connection */

static void
connection_body (Fixture *fixture)
{
  const char *url = fake_plex_get_url (fixture->plex);
  g_autofree char *stored = NULL;
  g_autofree char *label = NULL;

  /* Before anything is set up. */
  g_assert_cmpstr (status_text (fixture), ==,
                   "Enter the server address and the token, then test the connection");
  g_assert_cmpuint (n_libraries (fixture), ==, 1);

  test_connection (fixture, url, "wrong-token");
  g_assert_cmpstr (status_text (fixture), ==, "Invalid Plex token");
  g_assert_true (gtk_widget_has_css_class (child (fixture, "token_row"), "error"));
  /* A failed test stores nothing. */
  stored = g_settings_get_string (settings (fixture), "server-url");
  g_assert_cmpstr (stored, ==, "");
  g_clear_pointer (&stored, g_free);

  /* Repeated, with the right token. */
  test_connection (fixture, url, TEST_TOKEN);
  g_assert_cmpstr (status_text (fixture), ==, "Connected (Plex Media Server 1.40.0)");
  g_assert_false (gtk_widget_has_css_class (child (fixture, "token_row"), "error"));
  stored = g_settings_get_string (settings (fixture), "server-url");
  g_assert_cmpstr (stored, ==, url);

  /* The library combo filled from the server, the first entry chosen. */
  g_assert_cmpuint (n_libraries (fixture), ==, 5);
  label = library_label (fixture, 0);
  g_assert_cmpstr (label, ==, "All libraries that contain the folder");
  g_clear_pointer (&label, g_free);
  label = library_label (fixture, 1);
  g_assert_cmpstr (label, ==, "Movies (Section 1)");
  g_clear_pointer (&label, g_free);
  label = library_label (fixture, 3);
  g_assert_cmpstr (label, ==, "Music (Section 3)");
  g_assert_cmpuint (adw_combo_row_get_selected (child (fixture, "library_row")), ==, 0);

  /* The application uses what was tested: the saved token reached it. */
  WAIT_FOR (spyglass_application_get_connection_state (fixture->app) == SPYGLASS_CONNECTION_CONNECTED);

  /* An address that cannot be one: said at once, nothing sent. */
  set_text (fixture, "url_row", "ftp://nas.local");
  click (child (fixture, "test_button"));
  g_assert_false (testing (fixture));
  g_assert_true (gtk_widget_has_css_class (child (fixture, "url_row"), "error"));
  g_assert_cmpstr (status_text (fixture), !=, "Connected (Plex Media Server 1.40.0)");
  g_assert_cmpstr (status_text (fixture), !=, "");
}

static void
test_connection_results (Fixture       *fixture,
                         gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, connection_body);
}

/* /preferences/unreachable */

static void
unreachable_body (Fixture *fixture)
{
  g_autofree char *url = g_strdup (fake_plex_get_url (fixture->plex));

  fake_plex_stop (fixture->plex);  /* a closed port */
  test_connection (fixture, url, TEST_TOKEN);
  g_assert_true (g_str_has_prefix (status_text (fixture), "Cannot reach Plex server"));
}

static void
test_unreachable (Fixture       *fixture,
                  gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, unreachable_body);
}

/* /preferences/timeout-cancel */

static gboolean
count_cb (gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

static void
timeout_body (Fixture *fixture)
{
  const char *url = fake_plex_get_url (fixture->plex);
  GtkWidget *button = child (fixture, "test_button");
  guint ticks = 0;
  guint counter;
  gint64 started;

  g_settings_set_uint (settings (fixture), "request-timeout", 1);
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_HANG);

  /* The window keeps running while the server does not answer. */
  counter = g_timeout_add (50, count_cb, &ticks);
  started = g_get_monotonic_time ();
  test_connection (fixture, url, TEST_TOKEN);
  g_source_remove (counter);
  g_assert_cmpstr (status_text (fixture), ==, "Plex request timeout");
  g_assert_cmpint (g_get_monotonic_time () - started, >=, G_USEC_PER_SEC / 2);
  g_assert_cmpuint (ticks, >=, 8);

  /* Cancel: at once, and a late answer does not overwrite it. */
  g_settings_set_uint (settings (fixture), "request-timeout", 60);
  click (button);
  g_assert_true (testing (fixture));
  iterate_for (300);
  g_assert_true (testing (fixture));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "_Cancel");
  click (button);
  g_assert_false (testing (fixture));
  g_assert_cmpstr (status_text (fixture), ==, "Test cancelled");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "_Test Connection");
  iterate_for (500);
  g_assert_cmpstr (status_text (fixture), ==, "Test cancelled");

  /* Closing the window cancels a test: nothing is left holding it. */
  click (button);
  g_assert_true (testing (fixture));
  iterate_for (200);
  gtk_window_destroy (GTK_WINDOW (fixture->prefs));
  WAIT_FOR (fixture->prefs == NULL);
}

static void
test_timeout_cancel (Fixture       *fixture,
                     gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, timeout_body);
}

/* /preferences/library-restart */

static void
choose_library_body (Fixture *fixture)
{
  g_autofree char *chosen = NULL;

  test_connection (fixture, fake_plex_get_url (fixture->plex), TEST_TOKEN);
  g_assert_cmpstr (status_text (fixture), ==, "Connected (Plex Media Server 1.40.0)");

  adw_combo_row_set_selected (child (fixture, "library_row"), find_library (fixture, "Music (Section 3)"));
  chosen = g_settings_get_string (settings (fixture), "default-section");
  g_assert_cmpstr (chosen, ==, "3");
}

static void
restarted_body (Fixture *fixture)
{
  g_autofree char *label = NULL;
  g_autofree char *chosen = NULL;
  const char * const movies[] = { "/data/movies", NULL };

  /* The application checks the connection with what was saved and lists
   * the libraries: the combo shows the choice by name. */
  WAIT_FOR (selected_library_is (fixture, "Music (Section 3)"));
  g_assert_cmpstr (subtitle (fixture, "library_row"), ==,
                   "Where a folder goes when it lies in several libraries");

  /* The token came back from the store into its row. */
  WAIT_FOR (g_strcmp0 (gtk_editable_get_text (child (fixture, "token_row")), TEST_TOKEN) == 0);

  /* The library goes away on the server. */
  fake_plex_clear_sections (fixture->plex);
  fake_plex_add_section (fixture->plex, "1", "movie", "Movies", movies);
  click (child (fixture, "test_button"));
  WAIT_FOR (!testing (fixture));
  g_assert_cmpstr (status_text (fixture), ==, "Connected (Plex Media Server 1.40.0)");
  WAIT_FOR (strstr (subtitle (fixture, "library_row"), "no longer on the server") != NULL);
  g_assert_cmpstr (subtitle (fixture, "library_row"), ==,
                   "The library chosen before (section 3) is no longer on the server");
  g_clear_pointer (&label, g_free);
  label = selected_library_label (fixture);
  g_assert_cmpstr (label, ==, "Section 3 (no longer on the server)");
  /* Nothing changed behind the user's back. */
  chosen = g_settings_get_string (settings (fixture), "default-section");
  g_assert_cmpstr (chosen, ==, "3");
}

static void
test_library_restart (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *keyfile = NULL;
  g_autofree char *contents = NULL;

  if (!check_environment ())
    return;

  run_application (fixture, choose_library_body);

  /* On disk, not only in this process's settings backend. */
  g_settings_sync ();
  keyfile = g_build_filename (g_get_user_config_dir (), "glib-2.0", "settings", "keyfile", NULL);
  g_assert_true (g_file_get_contents (keyfile, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "default-section='3'"));

  run_application (fixture, restarted_body);
}

/* /preferences/token-in-keyring */

static void
token_body (Fixture *fixture)
{
  g_autofree char *fallback = spyglass_token_store_get_fallback_path ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  g_autofree char *keyfile = NULL;
  g_autofree char *contents = NULL;
  char *secret = NULL;

  test_connection (fixture, fake_plex_get_url (fixture->plex), TEST_TOKEN);
  g_assert_cmpstr (status_text (fixture), ==, "Connected (Plex Media Server 1.40.0)");
  WAIT_FOR (spyglass_application_get_connection_state (fixture->app) == SPYGLASS_CONNECTION_CONNECTED);

  /* In the Secret Service, as the token store files it. */
  secret = secret_password_lookup_sync (&token_schema, NULL, NULL, "kind", "plex-token", NULL);
  g_assert_cmpstr (secret, ==, TEST_TOKEN);
  secret_password_free (secret);
  g_assert_false (g_file_test (fallback, G_FILE_TEST_EXISTS));

  /* In no settings key, nor in the settings file. */
  g_object_get (settings (fixture), "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GVariant) value = g_settings_get_value (settings (fixture), keys[i]);
      g_autofree char *printed = g_variant_print (value, TRUE);

      g_assert_null (strstr (printed, TEST_TOKEN));
    }
  g_settings_sync ();
  keyfile = g_build_filename (g_get_user_config_dir (), "glib-2.0", "settings", "keyfile", NULL);
  g_assert_true (g_file_get_contents (keyfile, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, fake_plex_get_url (fixture->plex)));
  g_assert_null (strstr (contents, TEST_TOKEN));
}

static void
test_token_in_keyring (Fixture       *fixture,
                       gconstpointer  data)
{
  if (!check_environment () || !check_keyring ())
    return;

  /* Stored by the test, not left from another. */
  g_assert_true (spyglass_token_store_clear (NULL, NULL));
  run_application (fixture, token_body);
}

/* /preferences/path-mapping */

static gboolean
find_button_cb (GtkWidget  *widget,
                const char *tooltip)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_widget_get_tooltip_text (widget), tooltip) == 0;
}

/* The @n-th widget (depth first) below @root for which @match holds. */
static GtkWidget *
find_widget (GtkWidget   *root,
             gboolean   (*match) (GtkWidget *, const char *),
             const char  *data,
             guint       *n)
{
  if (match (root, data) && (*n)-- == 0)
    return root;

  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget (c, match, data, n);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
rule_button (Fixture    *fixture,
             const char *tooltip,
             guint       n)
{
  GtkWidget *button = find_widget (child (fixture, "rules_group"), find_button_cb, tooltip, &n);

  g_assert_nonnull (button);
  return button;
}

static char *
stored_rules (Fixture *fixture)
{
  g_autoptr(GVariant) rules = g_settings_get_value (settings (fixture), "path-mappings");

  return g_variant_print (rules, FALSE);
}

static void
path_mapping_body (Fixture *fixture)
{
  AdwMessageDialog *dialog = child (fixture, "rule_dialog");
  GtkWidget *error_label = child (fixture, "rule_error_label");
  g_autofree char *rules = NULL;

  test_connection (fixture, fake_plex_get_url (fixture->plex), TEST_TOKEN);
  g_assert_cmpstr (status_text (fixture), ==, "Connected (Plex Media Server 1.40.0)");
  g_assert_true (gtk_widget_get_visible (child (fixture, "no_rules_row")));

  /* Add: checked as it is typed. */
  click (child (fixture, "add_rule_button"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "save"));
  set_text (fixture, "rule_local_row", "/home/me/Music");
  set_text (fixture, "rule_plex_row", "data/music");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "save"));
  g_assert_true (gtk_widget_get_visible (error_label));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (error_label)), !=, "");
  set_text (fixture, "rule_plex_row", "/data/music/");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "save"));
  g_assert_false (gtk_widget_get_visible (error_label));
  adw_message_dialog_response (dialog, "save");
  WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (dialog)));

  rules = stored_rules (fixture);
  g_assert_cmpstr (rules, ==, "[('/home/me/Music', '/data/music')]");
  g_clear_pointer (&rules, g_free);
  g_assert_false (gtk_widget_get_visible (child (fixture, "no_rules_row")));

  /* The preview: mapped, then routed to a library. */
  set_text (fixture, "preview_row", "/home/me/Music/Pink Floyd");
  g_assert_cmpstr (subtitle (fixture, "preview_plex_row"), ==, "/data/music/Pink Floyd");
  g_assert_cmpstr (subtitle (fixture, "preview_library_row"), ==, "Music (Section 3)");
  g_assert_false (gtk_widget_get_visible (child (fixture, "suggestion_row")));

  /* A folder in no library: the reason, and a rule that would do. */
  set_text (fixture, "preview_row", "/mnt/nas/tv/Some Show");
  g_assert_cmpstr (subtitle (fixture, "preview_plex_row"), ==, "/mnt/nas/tv/Some Show");
  g_assert_nonnull (strstr (subtitle (fixture, "preview_library_row"), "/data/tv"));
  g_assert_true (gtk_widget_get_visible (child (fixture, "suggestion_row")));
  g_assert_cmpstr (subtitle (fixture, "suggestion_row"), ==, "/mnt/nas/tv → /data/tv");
  click (child (fixture, "add_suggestion_button"));
  rules = stored_rules (fixture);
  g_assert_cmpstr (rules, ==, "[('/home/me/Music', '/data/music'), ('/mnt/nas/tv', '/data/tv')]");
  g_clear_pointer (&rules, g_free);
  g_assert_cmpstr (subtitle (fixture, "preview_plex_row"), ==, "/data/tv/Some Show");
  g_assert_cmpstr (subtitle (fixture, "preview_library_row"), ==, "TV Shows (Section 2)");
  g_assert_false (gtk_widget_get_visible (child (fixture, "suggestion_row")));

  /* Edit the first rule. */
  click (rule_button (fixture, "Edit Rule", 0));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_cmpstr (gtk_editable_get_text (child (fixture, "rule_local_row")), ==, "/home/me/Music");
  g_assert_cmpstr (gtk_editable_get_text (child (fixture, "rule_plex_row")), ==, "/data/music");
  set_text (fixture, "rule_plex_row", "/data/music-hires");
  adw_message_dialog_response (dialog, "save");
  WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (dialog)));
  rules = stored_rules (fixture);
  g_assert_cmpstr (rules, ==, "[('/home/me/Music', '/data/music-hires'), ('/mnt/nas/tv', '/data/tv')]");
  g_clear_pointer (&rules, g_free);

  /* Cancel changes nothing. */
  click (rule_button (fixture, "Edit Rule", 1));
  set_text (fixture, "rule_plex_row", "/elsewhere");
  adw_message_dialog_response (dialog, "cancel");
  WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (dialog)));
  rules = stored_rules (fixture);
  g_assert_cmpstr (rules, ==, "[('/home/me/Music', '/data/music-hires'), ('/mnt/nas/tv', '/data/tv')]");
  g_clear_pointer (&rules, g_free);

  /* Remove the second one: the preview follows. */
  click (rule_button (fixture, "Remove Rule", 1));
  rules = stored_rules (fixture);
  g_assert_cmpstr (rules, ==, "[('/home/me/Music', '/data/music-hires')]");
  g_assert_cmpstr (subtitle (fixture, "preview_plex_row"), ==, "/mnt/nas/tv/Some Show");
  g_assert_true (gtk_widget_get_visible (child (fixture, "suggestion_row")));
}

static void
test_path_mapping (Fixture       *fixture,
                   gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, path_mapping_body);
}

/* /preferences/bindings */

static void
bindings_body (Fixture *fixture)
{
  GSettings *s = settings (fixture);

  gtk_switch_set_active (child (fixture, "auto_scan_switch"), TRUE);
  g_assert_true (g_settings_get_boolean (s, "auto-scan"));
  gtk_switch_set_active (child (fixture, "refresh_switch"), TRUE);
  g_assert_true (g_settings_get_boolean (s, "refresh-metadata"));
  gtk_switch_set_active (child (fixture, "notify_success_switch"), FALSE);
  g_assert_false (g_settings_get_boolean (s, "notify-success"));
  gtk_switch_set_active (child (fixture, "notify_failure_switch"), FALSE);
  g_assert_false (g_settings_get_boolean (s, "notify-failure"));
  gtk_spin_button_set_value (child (fixture, "threshold_spin"), 25);
  g_assert_cmpuint (g_settings_get_uint (s, "full-scan-threshold"), ==, 25);

  g_settings_set_uint (s, "full-scan-threshold", 3);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (child (fixture, "threshold_spin")), ==, 3);
  g_settings_set_boolean (s, "auto-scan", FALSE);
  g_assert_false (gtk_switch_get_active (child (fixture, "auto_scan_switch")));

  /* A typed address reaches the settings only when applied, and only
   * when it is one. */
  set_text (fixture, "url_row", "nas.lo");
  {
    g_autofree char *stored = g_settings_get_string (s, "server-url");
    g_assert_cmpstr (stored, ==, "");
  }
  set_text (fixture, "url_row", "ftp://nas.local");
  g_signal_emit_by_name (child (fixture, "url_row"), "apply");
  {
    g_autofree char *stored = g_settings_get_string (s, "server-url");
    g_assert_cmpstr (stored, ==, "");
  }
  g_assert_true (gtk_widget_has_css_class (child (fixture, "url_row"), "error"));
  set_text (fixture, "url_row", "127.0.0.1:1");
  g_assert_false (gtk_widget_has_css_class (child (fixture, "url_row"), "error"));
  g_signal_emit_by_name (child (fixture, "url_row"), "apply");
  {
    g_autofree char *stored = g_settings_get_string (s, "server-url");
    g_assert_cmpstr (stored, ==, "127.0.0.1:1");
  }
}

static void
test_bindings (Fixture       *fixture,
               gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, bindings_body);
}

/* /preferences/watch-folders */

static gboolean
find_row_cb (GtkWidget  *widget,
             const char *title)
{
  return ADW_IS_ACTION_ROW (widget) && gtk_widget_get_visible (widget) &&
         g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0;
}

/* The watched-folder row titled @title, or NULL. */
static GtkWidget *
folder_row (Fixture    *fixture,
            const char *title)
{
  guint n = 0;

  return find_widget (child (fixture, "watch_group"), find_row_cb, title, &n);
}

static GtkWidget *
folder_button (Fixture    *fixture,
               GtkWidget  *row,
               const char *tooltip)
{
  guint n = 0;

  return find_widget (row, find_button_cb, tooltip, &n);
}

static char *
stored_folders (Fixture *fixture)
{
  g_autoptr(GVariant) folders = g_settings_get_value (settings (fixture), "watch-folders");

  return g_variant_print (folders, FALSE);
}

/* What the Add Folder… chooser answers with. */
static void
add_folders (Fixture *fixture,
             ...)
{
  g_autoptr(GListStore) files = g_list_store_new (G_TYPE_FILE);
  const char *uri;
  va_list args;

  va_start (args, fixture);
  while ((uri = va_arg (args, const char *)) != NULL)
    {
      g_autoptr(GFile) file = uri[0] == '/' ? g_file_new_for_path (uri) : g_file_new_for_uri (uri);

      g_list_store_append (files, file);
    }
  va_end (args);

  spyglass_preferences_window_add_watch_folders (fixture->prefs, G_LIST_MODEL (files));
}

static void
watch_folders_body (Fixture *fixture)
{
  GSettings *s = settings (fixture);
  GtkWidget *row, *remove;
  g_autofree char *folders = NULL;

  /* Auto-scan off: what only it uses is greyed out. */
  g_assert_false (g_settings_get_boolean (s, "auto-scan"));
  g_assert_false (gtk_widget_is_sensitive (child (fixture, "watch_group")));
  g_assert_false (gtk_widget_is_sensitive (child (fixture, "settle_delay_row")));
  gtk_switch_set_active (child (fixture, "auto_scan_switch"), TRUE);
  g_assert_true (gtk_widget_is_sensitive (child (fixture, "watch_group")));
  g_assert_true (gtk_widget_is_sensitive (child (fixture, "settle_delay_row")));
  g_assert_true (gtk_widget_is_sensitive (child (fixture, "add_folder_button")));

  /* Nothing watched yet. */
  g_assert_true (gtk_widget_get_visible (child (fixture, "no_folders_row")));

  /* A path mapping's local folder: listed, not removable here. */
  g_settings_set_value (s, "path-mappings", g_variant_new_parsed ("[('/home/me/Music/', '/data/music')]"));
  g_assert_false (gtk_widget_get_visible (child (fixture, "no_folders_row")));
  row = folder_row (fixture, "Music");
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "/home/me/Music");
  g_assert_null (folder_button (fixture, row, "Remove Folder"));

  /* Added as the chooser adds them: normalized, each once, a folder
   * that is not local refused. */
  add_folders (fixture, "/srv/imports/Incoming/", "/srv/downloads", "/srv/imports/Incoming",
               "http://example.com/music/", NULL);
  folders = stored_folders (fixture);
  g_assert_cmpstr (folders, ==, "['/srv/imports/Incoming', '/srv/downloads']");
  g_clear_pointer (&folders, g_free);
  add_folders (fixture, "/srv/downloads/", NULL);
  folders = stored_folders (fixture);
  g_assert_cmpstr (folders, ==, "['/srv/imports/Incoming', '/srv/downloads']");
  g_clear_pointer (&folders, g_free);

  /* A row each: the folder's name, its path, a named remove button. */
  row = folder_row (fixture, "Incoming");
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "/srv/imports/Incoming");
  remove = folder_button (fixture, row, "Remove Folder");
  g_assert_nonnull (remove);
  gtk_test_accessible_assert_property (remove, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Stop watching /srv/imports/Incoming");
  g_assert_nonnull (folder_row (fixture, "downloads"));
  g_assert_nonnull (folder_row (fixture, "Music"));

  /* Removed: the setting and the rows follow. */
  click (remove);
  folders = stored_folders (fixture);
  g_assert_cmpstr (folders, ==, "['/srv/downloads']");
  g_clear_pointer (&folders, g_free);
  g_assert_null (folder_row (fixture, "Incoming"));
  click (folder_button (fixture, folder_row (fixture, "downloads"), "Remove Folder"));
  folders = stored_folders (fixture);
  g_assert_cmpstr (folders, ==, "[]");
  g_clear_pointer (&folders, g_free);
  g_assert_null (folder_row (fixture, "downloads"));

  /* The mapping's folder stays until its rule goes. */
  g_assert_nonnull (folder_row (fixture, "Music"));
  g_settings_reset (s, "path-mappings");
  g_assert_null (folder_row (fixture, "Music"));
  g_assert_true (gtk_widget_get_visible (child (fixture, "no_folders_row")));

  /* The settle delay, both ways. */
  g_assert_cmpint (gtk_spin_button_get_value_as_int (child (fixture, "settle_delay_spin")), ==, 20);
  gtk_spin_button_set_value (child (fixture, "settle_delay_spin"), 45);
  g_assert_cmpuint (g_settings_get_uint (s, "settle-delay"), ==, 45);
  g_settings_set_uint (s, "settle-delay", 7);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (child (fixture, "settle_delay_spin")), ==, 7);
}

static void
test_watch_folders (Fixture       *fixture,
                    gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, watch_folders_body);
}

/* /preferences/accessible-names */

static void
check_accessible (GtkWidget *widget,
                  guint     *n_checked)
{
  if (!gtk_widget_get_visible (widget))
    return;

  if (GTK_IS_BUTTON (widget) && gtk_button_get_icon_name (GTK_BUTTON (widget)) != NULL &&
      /* libadwaita 1.2's own "Show Text" button of the password row has
       * only a tooltip: not ours to name. */
      !g_str_has_prefix (gtk_button_get_icon_name (GTK_BUTTON (widget)), "view-reveal") &&
      !g_str_has_prefix (gtk_button_get_icon_name (GTK_BUTTON (widget)), "view-conceal"))
    {
      /* An icon-only button: a tooltip and an accessible name. */
      g_test_message ("icon button %s", gtk_button_get_icon_name (GTK_BUTTON (widget)));
      g_assert_nonnull (gtk_widget_get_tooltip_text (widget));
      g_assert_true (gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget),
                                                       GTK_ACCESSIBLE_PROPERTY_LABEL));
      (*n_checked)++;
    }
  else if (GTK_IS_SWITCH (widget) || GTK_IS_SPIN_BUTTON (widget))
    {
      g_assert_true (gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget),
                                                       GTK_ACCESSIBLE_PROPERTY_LABEL));
      /* A spin button's focus goes to its text inside. */
      g_assert_true (gtk_widget_get_focusable (widget) || GTK_IS_SPIN_BUTTON (widget));
      (*n_checked)++;
      /* GTK's own +/− buttons inside are named by GTK. */
      return;
    }
  else if (ADW_IS_PREFERENCES_ROW (widget))
    {
      const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));

      g_assert_nonnull (title);
      g_assert_cmpstr (title, !=, "");
      (*n_checked)++;
    }

  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    check_accessible (c, n_checked);
}

static void
accessible_body (Fixture *fixture)
{
  guint n_checked = 0;

  /* With a rule, so its buttons are there too. */
  g_settings_set_value (settings (fixture), "path-mappings",
                        g_variant_new_parsed ("[('/home/me/Music', '/data/music')]"));

  check_accessible (GTK_WIDGET (fixture->prefs), &n_checked);
  check_accessible (child (fixture, "rule_dialog"), &n_checked);
  /* Rows, switches, the spin button, the icon buttons. */
  g_assert_cmpuint (n_checked, >=, 20);

  /* Named for what they act on. */
  gtk_test_accessible_assert_property (rule_button (fixture, "Edit Rule", 0),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Edit the rule for /home/me/Music");
  gtk_test_accessible_assert_property (rule_button (fixture, "Remove Rule", 0),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Remove the rule for /home/me/Music");
}

static void
test_accessible_names (Fixture       *fixture,
                       gconstpointer  data)
{
  if (!check_environment ())
    return;
  run_application (fixture, accessible_body);
}

/* The test's own session bus and keyring */

static GSubprocess *
start_keyring (void)
{
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_find_program_in_path ("gnome-keyring-daemon");
  GOutputStream *input;
  gint64 deadline;

  if (program == NULL)
    {
      keyring_problem = g_strdup ("gnome-keyring-daemon is not installed");
      return NULL;
    }

  /* --unlock reads the new login keyring's password from stdin. */
  daemon = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
                             &error, "gnome-keyring-daemon", "--foreground", "--unlock",
                             "--components=secrets", NULL);
  if (daemon == NULL)
    {
      keyring_problem = g_strdup (error->message);
      return NULL;
    }
  input = g_subprocess_get_stdin_pipe (daemon);
  g_output_stream_write_all (input, "test", 4, NULL, NULL, NULL);
  g_output_stream_close (input, NULL, NULL);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GVariant) reply = NULL;
      gboolean owned = FALSE;

      reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner",
                                           g_variant_new ("(s)", "org.freedesktop.secrets"),
                                           G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                           -1, NULL, NULL);
      if (reply != NULL)
        g_variant_get (reply, "(b)", &owned);
      if (owned)
        return g_steal_pointer (&daemon);
      g_usleep (50 * 1000);
    }

  keyring_problem = g_strdup ("gnome-keyring-daemon did not appear on the bus");
  g_subprocess_force_exit (daemon);
  return NULL;
}

/* G_DEBUG=fatal-warnings, but for one known warning that is not the
 * preferences' business: gdk-pixbuf does not recognise the app icon in
 * the resources (its "<svg" comes after the first 256 bytes, behind a
 * comment, where MIME sniffing stops looking).  Remove once fixed. */
static GLogWriterOutput
log_writer_cb (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }

  if ((log_level & G_LOG_LEVEL_WARNING) && g_strcmp0 (domain, "Gtk") == 0 && message != NULL &&
      g_str_has_prefix (message, "Failed to load icon ") &&
      strstr (message, "/io.github.spyglass.Spyglass.svg: ") != NULL)
    return G_LOG_WRITER_HANDLED;

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static void
make_private_dirs (void)
{
  const char *dirs[][2] = {
    { "HOME", "home" },
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_DATA_HOME", "data" },
    { "XDG_STATE_HOME", "state" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_RUNTIME_DIR", "runtime" },
  };
  g_autoptr(GError) error = NULL;

  tmpdir = g_dir_make_tmp ("spyglass-test-preferences-XXXXXX", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (tmpdir, dirs[i][1], NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (dirs[i][0], path, TRUE);
    }
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL)
    {
      GFileInfo *info = NULL;
      GFile *entry = NULL;

      if (!g_file_enumerator_iterate (children, &info, &entry, NULL, NULL) || info == NULL)
        break;
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          g_autofree char *child_path = g_file_get_path (entry);

          remove_tree (child_path);
        }
      else
        g_file_delete (entry, NULL, NULL);
    }
  g_file_delete (file, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSubprocess) keyring = NULL;
  int status;

  /* Before anything reads them: the folders, the settings backend (a
   * file, so a restart can read back what the last run wrote), and the
   * accessibility backend that keeps names for the test to check (the
   * private bus has no accessibility bus). */
  make_private_dirs ();
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("GSK_RENDERER", "cairo", TRUE);

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (log_writer_cb, NULL, NULL);

  required = g_strcmp0 (g_getenv ("SPYGLASS_UI_REQUIRED"), "1") == 0;
  have_display = g_getenv ("DISPLAY") != NULL && g_getenv ("DISPLAY")[0] != '\0';

  if (have_display)
    {
      g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));

      /* GTestDBus unsets DISPLAY (against X11 autolaunch): GTK needs it. */
      test_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
      g_test_dbus_up (test_bus);
      g_setenv ("DISPLAY", display, TRUE);
      keyring = start_keyring ();
      have_keyring = keyring != NULL;
    }

  g_test_add ("/preferences/test-connection", Fixture, NULL,
              fixture_setup, test_connection_results, fixture_teardown);
  g_test_add ("/preferences/unreachable", Fixture, NULL,
              fixture_setup, test_unreachable, fixture_teardown);
  g_test_add ("/preferences/timeout-cancel", Fixture, NULL,
              fixture_setup, test_timeout_cancel, fixture_teardown);
  g_test_add ("/preferences/library-restart", Fixture, NULL,
              fixture_setup, test_library_restart, fixture_teardown);
  g_test_add ("/preferences/token-in-keyring", Fixture, NULL,
              fixture_setup, test_token_in_keyring, fixture_teardown);
  g_test_add ("/preferences/path-mapping", Fixture, NULL,
              fixture_setup, test_path_mapping, fixture_teardown);
  g_test_add ("/preferences/bindings", Fixture, NULL,
              fixture_setup, test_bindings, fixture_teardown);
  g_test_add ("/preferences/watch-folders", Fixture, NULL,
              fixture_setup, test_watch_folders, fixture_teardown);
  g_test_add ("/preferences/accessible-names", Fixture, NULL,
              fixture_setup, test_accessible_names, fixture_teardown);

  status = g_test_run ();

  if (keyring != NULL)
    {
      g_subprocess_send_signal (keyring, SIGTERM);
      g_subprocess_wait (keyring, NULL, NULL);
    }
  /* Not g_test_dbus_down(): it waits for the connection to go. */
  if (test_bus != NULL)
    g_test_dbus_stop (test_bus);
  remove_tree (tmpdir);
  g_free (tmpdir);
  g_free (keyring_problem);

  return status;
}
