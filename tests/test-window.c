/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The main window, in this process, under a real display (Xvfb in CI), on
 * this test's own session bus, against the fake Plex server: what the user
 * reads in the header, the list and the toasts, and what Plex receives.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "fake-notifications.h"
#include "fake-plex.h"
#include "spyglass-application.h"
#include "spyglass-window-private.h"

#define WAIT_TIMEOUT_S 30

/* XDG_DATA_DIRS before the isolation: the MIME database that image
 * loaders sniff icons with lives there. */
static char *system_data_dirs;

typedef struct
{
  FakePlex            *plex;
  FakeNotifications   *notifications;  /* the desktop's notification service */
  SpyglassApplication *app;
  SpyglassWindow      *window;
  char                *music;   /* a local folder mapped to /data/music */
} Fixture;

/* Iterates the main context until @done (or fails after WAIT_TIMEOUT_S). */
#define WAIT_UNTIL(cond) \
  G_STMT_START { \
    gint64 deadline_ = g_get_monotonic_time () + WAIT_TIMEOUT_S * G_USEC_PER_SEC; \
    while (!(cond)) \
      { \
        if (g_get_monotonic_time () > deadline_) \
          { \
            dump_window (); \
            g_error ("Timed out waiting for: %s", #cond); \
          } \
        g_main_context_iteration (NULL, FALSE); \
        g_usleep (1000); \
      } \
  } G_STMT_END

static Fixture *current;

/* What the window showed, when a wait times out. */
static void
dump_window (void)
{
  GtkListBoxRow *row;

  if (current == NULL || current->window == NULL)
    return;

  g_printerr ("Window: page %s, status “%s”, last toast “%s”\n",
              spyglass_window_get_page (current->window),
              spyglass_window_get_status_text (current->window),
              spyglass_window_get_last_toast (current->window));
  for (int i = 0; (row = gtk_list_box_get_row_at_index (spyglass_window_get_request_list (current->window), i)); i++)
    g_printerr ("  row %d: “%s” — “%s”\n", i,
                adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                adw_action_row_get_subtitle (ADW_ACTION_ROW (row)));
}

static gboolean
have_display (void)
{
  if (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("SPYGLASS_UI_REQUIRED"), "1") == 0)
    g_error ("SPYGLASS_UI_REQUIRED=1 but there is no display");
  return FALSE;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *music = NULL;

  if (!have_display ())
    {
      g_test_skip ("no display");
      return;
    }

  if (system_data_dirs != NULL)
    g_setenv ("XDG_DATA_DIRS", system_data_dirs, TRUE);

  fixture->notifications = fake_notifications_new ();
  g_assert_true (fake_notifications_start (fixture->notifications, &error));
  g_assert_no_error (error);

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 100);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  /* Isolated dirs: g_get_user_state_dir() (the queue) is a fresh temp. */
  fixture->music = g_build_filename (g_get_user_data_dir (), "Music", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->music, 0700), ==, 0);

  fixture->app = spyglass_application_new ();
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (G_APPLICATION (fixture->app)));

  /* The memory backend outlives each test: start from the defaults. */
  {
    GSettings *settings = spyglass_application_get_settings (fixture->app);
    const char *keys[] = { "server-url", "path-mappings", "default-section" };

    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      g_settings_reset (settings, keys[i]);
  }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->window));
  if (fixture->app != NULL)
    {
      g_application_quit (G_APPLICATION (fixture->app));
      /* Let the queue and the window finish what they started. */
      for (int i = 0; i < 50; i++)
        g_main_context_iteration (NULL, FALSE);
    }
  g_clear_object (&fixture->app);
  if (fixture->plex != NULL)
    fake_plex_stop (fixture->plex);
  g_clear_object (&fixture->plex);
  g_clear_object (&fixture->notifications);
  g_clear_pointer (&fixture->music, g_free);
}

static SpyglassWindow *
open_window (Fixture *fixture)
{
  GList *windows;

  g_application_activate (G_APPLICATION (fixture->app));
  windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app));
  g_assert_nonnull (windows);
  g_assert_true (SPYGLASS_IS_WINDOW (windows->data));
  fixture->window = windows->data;
  return fixture->window;
}

/* Points the app at the fake server with @token, maps fixture->music to
 * the Music library's /data/music. */
static void
configure (Fixture    *fixture,
           const char *token)
{
  GSettings *settings = spyglass_application_get_settings (fixture->app);

  g_settings_set_value (settings, "path-mappings",
                        g_variant_new_parsed ("[(%s, '/data/music')]", fixture->music));
  g_settings_set_string (settings, "server-url", fake_plex_get_url (fixture->plex));
  spyglass_application_set_token (fixture->app, token);
}

static guint
count_rows (GtkListBox *list)
{
  guint n = 0;

  while (gtk_list_box_get_row_at_index (list, n) != NULL)
    n++;
  return n;
}

static AdwActionRow *
row_at (Fixture *fixture,
        int      index)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (spyglass_window_get_request_list (fixture->window),
                                                      index);

  return row != NULL ? ADW_ACTION_ROW (row) : NULL;
}

/* The row whose title is @title, or NULL. */
static AdwActionRow *
find_row (Fixture    *fixture,
          const char *title)
{
  for (int i = 0; row_at (fixture, i) != NULL; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row_at (fixture, i))), title) == 0)
      return row_at (fixture, i);
  return NULL;
}

static gboolean
row_subtitle_starts (AdwActionRow *row,
                     const char   *prefix)
{
  return row != NULL && g_str_has_prefix (adw_action_row_get_subtitle (row), prefix);
}

/* The decoded path= of every scan request Plex received. */
static GPtrArray *
scanned_paths (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < requests->len; i++)
    {
      const FakePlexRequest *request = g_ptr_array_index (requests, i);

      if (g_str_has_suffix (request->path, "/refresh"))
        g_ptr_array_add (paths, g_strdup (fake_plex_request_get_param_string (request, "path")));
    }
  return paths;
}

static char *
make_folder (Fixture    *fixture,
             const char *relative)
{
  char *path = g_build_filename (fixture->music, relative, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static void
test_welcome (Fixture       *fixture,
              gconstpointer  data)
{
  if (fixture->app == NULL)
    return;

  open_window (fixture);
  /* Not set up: the welcome page, which leads to the settings. */
  WAIT_UNTIL (g_strcmp0 (spyglass_window_get_status_text (fixture->window), "Not set up") == 0);
  g_assert_cmpstr (spyglass_window_get_page (fixture->window), ==, "welcome");

  configure (fixture, fake_plex_get_token (fixture->plex));
  g_assert_cmpstr (spyglass_window_get_page (fixture->window), ==, "main");
  WAIT_UNTIL (g_strcmp0 (spyglass_window_get_status_text (fixture->window),
                         "Fake Plex — Connected") == 0);
}

static void
test_token_rejected (Fixture       *fixture,
                     gconstpointer  data)
{
  if (fixture->app == NULL)
    return;

  open_window (fixture);
  configure (fixture, "not-the-token");
  WAIT_UNTIL (g_strcmp0 (spyglass_window_get_status_text (fixture->window), "Token rejected") == 0);
  g_assert_cmpstr (spyglass_window_get_status_tooltip (fixture->window), ==, "Invalid Plex token");

  /* A closed port: unreachable, and the tooltip says where. */
  fake_plex_stop (fixture->plex);
  spyglass_application_set_token (fixture->app, fake_plex_get_token (fixture->plex));
  WAIT_UNTIL (g_strcmp0 (spyglass_window_get_status_text (fixture->window), "Server unreachable") == 0);
  g_assert_true (g_str_has_prefix (spyglass_window_get_status_tooltip (fixture->window),
                                   "Cannot reach Plex server at"));
}

static void
test_open_folders (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *album = NULL;
  g_autofree char *track = NULL;
  g_autofree char *other = NULL;
  g_autoptr(GFile) album_file = NULL;
  g_autoptr(GFile) track_file = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  GFile *files[2];

  if (fixture->app == NULL)
    return;

  open_window (fixture);
  configure (fixture, fake_plex_get_token (fixture->plex));
  WAIT_UNTIL (spyglass_application_get_connection_state (fixture->app) == SPYGLASS_CONNECTION_CONNECTED &&
              spyglass_application_get_sections (fixture->app) != NULL);

  /* A folder, and a file that stands for its own folder. */
  album = make_folder (fixture, "Pink Floyd/The Dark Side of the Moon");
  other = make_folder (fixture, "AC&DC #1 + 100% Hits");
  track = g_build_filename (other, "01 Track.flac", NULL);
  g_assert_true (g_file_set_contents (track, "", 0, NULL));
  album_file = g_file_new_for_path (album);
  track_file = g_file_new_for_path (track);
  files[0] = album_file;
  files[1] = track_file;
  spyglass_window_open_files (fixture->window, files, 2);

  WAIT_UNTIL (g_strcmp0 (spyglass_window_get_last_toast (fixture->window),
                         "2 folders queued for Music") == 0);
  WAIT_UNTIL (count_rows (spyglass_window_get_request_list (fixture->window)) == 2);

  /* Followed to the end of Plex's scan, with how long it took. */
  WAIT_UNTIL (row_subtitle_starts (find_row (fixture, "The Dark Side of the Moon"), "Music · Done in ") &&
              row_subtitle_starts (find_row (fixture, "AC&DC #1 + 100% Hits"), "Music · Done in "));

  /* One notification for the batch, when Plex has finished. */
  {
    const FakeNotification *notification = fake_notifications_wait (fixture->notifications,
                                                                    WAIT_TIMEOUT_S * 1000);

    g_assert_nonnull (notification);
    g_assert_cmpstr (notification->summary, ==, "Music");
    g_assert_cmpstr (notification->body, ==, "2 folders scanned");
    g_assert_cmpstr (fake_notification_get_hint_string (notification, "desktop-entry"), ==,
                     "io.github.spyglass.Spyglass");
  }

  paths = scanned_paths (fixture);
  g_assert_cmpuint (paths->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (paths, "/data/music/Pink Floyd/The Dark Side of the Moon",
                                                   g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (paths, "/data/music/AC&DC #1 + 100% Hits",
                                                   g_str_equal, NULL));
}

static void
test_failed_and_retry (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *outside = NULL;
  const char *paths[2] = { NULL, NULL };
  AdwActionRow *row;
  GtkWidget *retry;
  g_autoptr(GError) error = NULL;

  if (fixture->app == NULL)
    return;

  open_window (fixture);
  configure (fixture, fake_plex_get_token (fixture->plex));
  WAIT_UNTIL (spyglass_application_get_sections (fixture->app) != NULL);

  /* A folder outside every library fails with the reason, and a Retry. */
  outside = g_build_filename (g_get_user_data_dir (), "Elsewhere", NULL);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  paths[0] = outside;
  g_assert_cmpuint (spyglass_application_add_paths (fixture->app, paths, &error), ==, 1);
  g_assert_no_error (error);
  WAIT_UNTIL (row_subtitle_starts (find_row (fixture, "Elsewhere"), "Failed: "));

  row = find_row (fixture, "Elsewhere");
  retry = spyglass_request_row_get_retry_button (SPYGLASS_REQUEST_ROW (row));
  g_assert_true (gtk_widget_get_visible (retry));
  g_assert_cmpuint (count_rows (spyglass_window_get_request_list (fixture->window)), ==, 1);

  /* Retry sends it again: a second row, which fails the same way. */
  gtk_widget_activate (retry);
  WAIT_UNTIL (count_rows (spyglass_window_get_request_list (fixture->window)) == 2);
  WAIT_UNTIL (row_subtitle_starts (row_at (fixture, 0), "Failed: "));
  {
    g_autoptr(GPtrArray) scans = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");

    g_assert_cmpuint (scans->len, ==, 0);
  }
}

static void
on_process_exited (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* `spyglass FOLDER` while the window is open: the folder joins this
 * window's list; no second window. */
static void
test_second_launch (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *album = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  const char *spyglass = g_getenv ("SPYGLASS_BIN");
  gboolean done = FALSE;

  if (fixture->app == NULL)
    return;
  g_assert_nonnull (spyglass);

  open_window (fixture);
  configure (fixture, fake_plex_get_token (fixture->plex));
  WAIT_UNTIL (spyglass_application_get_sections (fixture->app) != NULL);

  album = make_folder (fixture, "Nina Simone/Pastel Blues");
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* The command line needs no server of its own to hand folders over. */
  g_subprocess_launcher_unsetenv (launcher, "PLEX_URL");
  g_subprocess_launcher_unsetenv (launcher, "PLEX_TOKEN");
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, spyglass, album, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (process, NULL, on_process_exited, &done);

  WAIT_UNTIL (find_row (fixture, "Pastel Blues") != NULL);
  WAIT_UNTIL (done);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (fixture->app))), ==, 1);

  WAIT_UNTIL (row_subtitle_starts (find_row (fixture, "Pastel Blues"), "Music · Done in "));
  paths = scanned_paths (fixture);
  g_assert_cmpuint (paths->len, ==, 1);
  g_assert_cmpstr (paths->pdata[0], ==, "/data/music/Nina Simone/Pastel Blues");
}

typedef void (*TestFunc) (Fixture *fixture, gconstpointer data);

/* Each case runs in a process of its own: an application registers its
 * bus name and initializes GTK once per process. */
static void
run_in_subprocess (gconstpointer data)
{
  TestFunc func = (TestFunc) data;

  if (g_test_subprocess ())
    {
      Fixture fixture = { 0 };

      current = &fixture;
      fixture_set_up (&fixture, NULL);
      func (&fixture, NULL);
      fixture_tear_down (&fixture, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

#define ADD_TEST(path, func) g_test_add_data_func (path, (gconstpointer) (func), run_in_subprocess)

int
main (int   argc,
      char *argv[])
{
  /* Kept in the environment for the subprocesses, which inherit the
   * isolated value. */
  if (g_getenv ("SPYGLASS_TEST_SYSTEM_DATA_DIRS") == NULL)
    g_setenv ("SPYGLASS_TEST_SYSTEM_DATA_DIRS",
              g_getenv ("XDG_DATA_DIRS") != NULL ? g_getenv ("XDG_DATA_DIRS") : "/usr/local/share:/usr/share",
              TRUE);
  system_data_dirs = g_strdup (g_getenv ("SPYGLASS_TEST_SYSTEM_DATA_DIRS"));
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD_TEST ("/window/welcome", test_welcome);
  ADD_TEST ("/window/token-rejected", test_token_rejected);
  ADD_TEST ("/window/open-folders", test_open_folders);
  ADD_TEST ("/window/failed-and-retry", test_failed_and_retry);
  ADD_TEST ("/window/second-launch", test_second_launch);

  return g_test_run ();
}
