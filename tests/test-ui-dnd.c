/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A real drag and drop into the real window: Spyglass is configured through
 * its command line (server, path mapping, library; the token in the
 * test session's gnome-keyring), its window starts, dnd-source (another
 * process, as a file manager would be) offers two folders, xdotool drags
 * them onto the window, and the fake Plex server must receive the two scan
 * requests with the mapped paths.
 *
 * Skipped until the build has the window (SPYGLASS_WINDOW_BIN, set by
 * tests/meson.build when src/ defines spyglass_window_bin).
 */
#include "config.h"

#include <glib/gstdio.h>

#include "fake-notifications.h"
#include "fake-plex.h"
#include "ui-harness.h"

/* Spaces, '&', '#', '%', and non-ASCII: what URI lists and query strings
 * get wrong. */
static const char * const album_names[] = {
  "AC&DC #1 (100% live)",
  "Sigur Rós — Ágætis byrjun",
};

typedef struct
{
  FakePlex  *plex;
  FakeNotifications *notifications;  /* the desktop's notification service */
  char      *tmpdir;
  char      *music;        /* the local folder mapped to /data/music */
  char     **env;          /* for every program the test starts */
  UiProcess *window;
  UiProcess *source;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *dirs[][2] = {
    { "HOME", "home" },
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_DATA_HOME", "data" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_STATE_HOME", "state" },
    { "XDG_RUNTIME_DIR", "runtime" },
  };

  fixture->notifications = fake_notifications_new ();
  g_assert_true (fake_notifications_start (fixture->notifications, &error));
  g_assert_no_error (error);

  fixture->plex = fake_plex_new ();
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->tmpdir = g_dir_make_tmp ("spyglass-ui-dnd-XXXXXX", &error);
  g_assert_no_error (error);

  /* One home for the command line and the window: they share the keyfile
   * settings ($XDG_CONFIG_HOME/glib-2.0/settings/keyfile) and the queue.
   * The session bus (keyring, notifications) and DISPLAY stay. */
  fixture->env = g_get_environ ();
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->tmpdir, dirs[i][1], NULL);

      g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
      fixture->env = g_environ_setenv (fixture->env, dirs[i][0], dir, TRUE);
    }
  fixture->env = g_environ_setenv (fixture->env, "GSETTINGS_BACKEND", "keyfile", TRUE);
  fixture->env = g_environ_unsetenv (fixture->env, "PLEX_URL");
  fixture->env = g_environ_unsetenv (fixture->env, "PLEX_TOKEN");

  fixture->music = g_build_filename (fixture->tmpdir, "nas music", NULL);
  g_assert_cmpint (g_mkdir (fixture->music, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (album_names); i++)
    {
      g_autofree char *album = g_build_filename (fixture->music, album_names[i], NULL);

      g_assert_cmpint (g_mkdir (album, 0700), ==, 0);
    }
}

typedef struct
{
  GAsyncResult *result;
} Communication;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communication *communication = user_data;

  communication->result = g_object_ref (result);
}

static gboolean
communicated (gpointer user_data)
{
  Communication *communication = user_data;

  return communication->result != NULL;
}

/* Runs `spyglass ARGS…` with @stdin_text and returns its stdout; fails the
 * test unless it exits with 0. */
static char *
run_cli (Fixture            *fixture,
         const char         *stdin_text,
         const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  Communication communication = { NULL };

  g_ptr_array_add (argv, (gpointer) g_getenv ("SPYGLASS_BIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, fixture->env);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  input = g_bytes_new (stdin_text != NULL ? stdin_text : "",
                       stdin_text != NULL ? strlen (stdin_text) : 0);
  g_subprocess_communicate_async (process, input, NULL, on_communicated, &communication);
  g_assert_true (ui_harness_wait_until (communicated, &communication, UI_HARNESS_TIMEOUT_MS));
  g_subprocess_communicate_finish (process, communication.result, &out, &err, &error);
  g_clear_object (&communication.result);
  g_assert_no_error (error);

  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("spyglass %s failed (wait status %d): %.*s", args[0],
             g_subprocess_get_status (process),
             (int) g_bytes_get_size (err), (const char *) g_bytes_get_data (err, NULL));

  return g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
}

#define cli(fixture, stdin_text, ...) \
  run_cli ((fixture), (stdin_text), (const char * const[]) { __VA_ARGS__, NULL })

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->source, ui_process_free);
  g_clear_pointer (&fixture->window, ui_process_free);
  /* The keyring outlives the test: leave no token in it. */
  if (fixture->env != NULL && g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL &&
      g_getenv ("SPYGLASS_WINDOW_BIN") != NULL)
    g_free (cli (fixture, NULL, "config", "--forget-token"));
  ui_harness_remove_tree (fixture->tmpdir);
  g_clear_pointer (&fixture->tmpdir, g_free);
  g_clear_pointer (&fixture->music, g_free);
  g_clear_pointer (&fixture->env, g_strfreev);
  g_clear_object (&fixture->plex);
  g_clear_object (&fixture->notifications);
}

typedef struct
{
  FakePlex *plex;
  guint     n;
} RequestCount;

static gboolean
has_refresh_requests (gpointer user_data)
{
  RequestCount *count = user_data;
  g_autoptr(GPtrArray) found = fake_plex_find_requests (count->plex, NULL,
                                                        "/library/sections/3/refresh");

  return found->len >= count->n;
}

static void
test_drop_two_folders (Fixture       *fixture,
                       gconstpointer  data)
{
  const char *window_bin = g_getenv ("SPYGLASS_WINDOW_BIN");
  const char *source_bin = g_getenv ("DND_SOURCE");
  g_autofree char *mapping = g_strdup_printf ("%s=/data/music", fixture->music);
  g_autofree char *token_line = g_strdup_printf ("%s\n", fake_plex_get_token (fixture->plex));
  g_autofree char *out = NULL;
  g_autofree char *window_id = NULL;
  g_autofree char *source_id = NULL;
  g_autofree char *album_a = g_build_filename (fixture->music, album_names[0], NULL);
  g_autofree char *album_b = g_build_filename (fixture->music, album_names[1], NULL);
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  RequestCount count = { fixture->plex, G_N_ELEMENTS (album_names) };
  int sx, sy, sw, sh, wx, wy, ww, wh;

  if (window_bin == NULL || window_bin[0] == '\0')
    {
      g_test_skip ("SPYGLASS_WINDOW_BIN is not set: this build has no spyglass-window");
      return;
    }
  if (!ui_harness_require_display ())
    return;
  g_assert_nonnull (source_bin);

  /* Configured the way a user of the command line would. */
  g_free (cli (fixture, NULL, "config", "--server", fake_plex_get_url (fixture->plex),
               "--map", mapping, "--section", "3"));
  out = cli (fixture, token_line, "config", "--token-stdin");
  g_assert_nonnull (strstr (out, "Token stored in the keyring"));

  fixture->window = ui_process_spawn ((const char * const[]) { window_bin, NULL },
                                      (const char * const *) fixture->env, &error);
  g_assert_no_error (error);
  window_id = ui_harness_wait_for_window (fixture->window, "^Spyglass$",
                                          UI_HARNESS_TIMEOUT_MS, &error);
  g_assert_no_error (error);

  /* Shown last, the source maps on top of the window's top-left corner. */
  fixture->source = ui_process_spawn ((const char * const[]) { source_bin, album_a, album_b, NULL },
                                      (const char * const *) fixture->env, &error);
  g_assert_no_error (error);
  g_assert_true (ui_process_wait_for_line (fixture->source, "ready", UI_HARNESS_TIMEOUT_MS, &error));
  g_assert_no_error (error);
  source_id = ui_harness_wait_for_window (fixture->source, "^Spyglass DnD Source$",
                                          UI_HARNESS_TIMEOUT_MS, &error);
  g_assert_no_error (error);

  g_assert_true (ui_harness_get_window_geometry (window_id, &wx, &wy, &ww, &wh, &error));
  g_assert_no_error (error);
  g_assert_true (ui_harness_get_window_geometry (source_id, &sx, &sy, &sw, &sh, &error));
  g_assert_no_error (error);
  g_test_message ("window %dx%d at %d,%d; source %dx%d at %d,%d", ww, wh, wx, wy, sw, sh, sx, sy);

  /* Into the drop zone, clear of the source and of the header bar. */
  g_assert_true (ui_harness_drag (sx + sw / 2, sy + sh / 2, wx + ww * 2 / 3, wy + wh * 2 / 3, &error));
  g_assert_no_error (error);

  g_assert_true (ui_harness_wait_until (has_refresh_requests, &count, UI_HARNESS_TIMEOUT_MS));
  /* A moment for a stray third request to show up. */
  ui_harness_spin (500);

  requests = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");
  for (guint i = 0; i < requests->len; i++)
    {
      const FakePlexRequest *request = g_ptr_array_index (requests, i);
      const char *path = fake_plex_request_get_param_string (request, "path");

      g_test_message ("%s %s?%s", request->method, request->path, request->query);
      g_assert_nonnull (path);
      g_ptr_array_add (paths, g_strdup (path));
    }
  g_assert_cmpuint (paths->len, ==, 2);
  {
    const char *expected[] = {
      "/data/music/AC&DC #1 (100% live)",
      "/data/music/Sigur Rós — Ágætis byrjun",
    };
    const char *first = g_ptr_array_index (paths, 0);
    const char *second = g_ptr_array_index (paths, 1);

    /* In either order. */
    if (g_strcmp0 (first, second) > 0)
      {
        const char *swap = first;

        first = second;
        second = swap;
      }
    g_assert_cmpstr (first, ==, expected[0]);
    g_assert_cmpstr (second, ==, expected[1]);
  }
}

/* Runs a program other than spyglass with the fixture's environment and
 * waits for it to succeed. */
static void
run_program (Fixture            *fixture,
             const char * const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_set_environ (launcher, fixture->env);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
}

/* Auto-scan on: started at login the way its autostart entry says, with
 * no window, Spyglass keeps running and scans what arrives in the music
 * folder. */
static void
test_background_auto_scan (Fixture       *fixture,
                           gconstpointer  data)
{
  const char *window_bin = g_getenv ("SPYGLASS_WINDOW_BIN");
  g_autofree char *mapping = g_strdup_printf ("%s=/data/music", fixture->music);
  g_autofree char *token_line = g_strdup_printf ("%s\n", fake_plex_get_token (fixture->plex));
  g_autofree char *autostart = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *album = NULL;
  g_autofree char *track = NULL;
  g_autofree char *windows = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) error = NULL;
  RequestCount count = { fixture->plex, 1 };
  const char *config_home = g_environ_getenv (fixture->env, "XDG_CONFIG_HOME");

  if (window_bin == NULL || window_bin[0] == '\0')
    {
      g_test_skip ("SPYGLASS_WINDOW_BIN is not set: this build has no spyglass-window");
      return;
    }
  if (!ui_harness_require_display ())
    return;

  g_free (cli (fixture, NULL, "config", "--server", fake_plex_get_url (fixture->plex),
               "--map", mapping, "--section", "3"));
  g_free (cli (fixture, token_line, "config", "--token-stdin"));
  run_program (fixture, (const char * const[]) { "gsettings", "set", "io.github.spyglass.Spyglass",
                                                 "settle-delay", "1", NULL });
  run_program (fixture, (const char * const[]) { "gsettings", "set", "io.github.spyglass.Spyglass",
                                                 "auto-scan", "true", NULL });

  fixture->window = ui_process_spawn ((const char * const[]) { window_bin, "--gapplication-service", NULL },
                                      (const char * const *) fixture->env, &error);
  g_assert_no_error (error);

  /* It writes its autostart entry once the queue and the watcher run. */
  autostart = g_build_filename (config_home, "autostart", "io.github.spyglass.Spyglass.desktop", NULL);
  for (int i = 0; i < 200 && !g_file_test (autostart, G_FILE_TEST_EXISTS); i++)
    ui_harness_spin (50);
  g_assert_true (g_file_get_contents (autostart, &contents, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (contents, "\nExec=spyglass-window --gapplication-service\n"));

  /* Import an album. The watcher may still be listing the music folder
   * (a sanitized build starts slowly): what it lists is not new, so keep
   * adding tracks, as a slow import does, until a scan arrives. */
  album = g_build_filename (fixture->music, "Nina Simone", "Pastel Blues", NULL);
  g_assert_cmpint (g_mkdir_with_parents (album, 0700), ==, 0);
  for (int i = 1; !has_refresh_requests (&count); i++)
    {
      g_autofree char *name = g_strdup_printf ("%02d Track.flac", i);

      g_assert_cmpint (i, <=, 20);
      g_free (track);
      track = g_build_filename (album, name, NULL);
      g_assert_true (g_file_set_contents (track, "fLaC", 4, &error));
      ui_harness_wait_until (has_refresh_requests, &count, 3000);
    }
  ui_harness_spin (1500);

  /* The new artist folder as a whole (caught as it appeared) or the album
   * (a track added later): nothing else, and nothing outside it. */
  requests = fake_plex_find_requests (fixture->plex, NULL, "/library/sections/3/refresh");
  g_assert_cmpuint (requests->len, >=, 1);
  for (guint i = 0; i < requests->len; i++)
    {
      const char *path = fake_plex_request_get_param_string (g_ptr_array_index (requests, i), "path");

      if (g_strcmp0 (path, "/data/music/Nina Simone") != 0)
        g_assert_cmpstr (path, ==, "/data/music/Nina Simone/Pastel Blues");
    }

  /* Still running in the background, and no window was opened. */
  g_assert_true (ui_process_is_running (fixture->window));
  {
    g_autofree char *pid = g_strdup_printf ("%d", (int) ui_process_get_pid (fixture->window));

    g_autoptr(GError) search_error = NULL;

    /* xdotool search fails when it finds nothing. */
    windows = ui_harness_xdotool ((const char * const[]) { "search", "--pid", pid, "--onlyvisible",
                                                           "--name", ".", NULL },
                                  UI_HARNESS_TIMEOUT_MS, &search_error);
    g_assert_true (windows == NULL || windows[0] == '\0');
  }

  /* Auto-scan off: the entry goes. */
  run_program (fixture, (const char * const[]) { "gsettings", "set", "io.github.spyglass.Spyglass",
                                                 "auto-scan", "false", NULL });
  for (int i = 0; i < 200 && g_file_test (autostart, G_FILE_TEST_EXISTS); i++)
    ui_harness_spin (50);
  g_assert_false (g_file_test (autostart, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ui/dnd/two-folders", Fixture, NULL,
              fixture_setup, test_drop_two_folders, fixture_teardown);
  g_test_add ("/ui/background/auto-scan", Fixture, NULL,
              fixture_setup, test_background_auto_scan, fixture_teardown);

  return g_test_run ();
}
