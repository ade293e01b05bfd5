/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Runs the real `spyglass` binary against the fake Plex server and checks
 * what a user sees (stdout, stderr, exit status) and what Plex receives.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "fake-plex.h"

typedef struct
{
  FakePlex   *plex;
  char       *tmpdir;
  char       *config_dir;  /* spyglass's $XDG_CONFIG_HOME */
  char      **env;       /* the subprocess environment */
  char       *out;
  char       *err;
  int         status;
  gint64      elapsed_us;
} Fixture;

static void
fixture_set_env (Fixture    *fixture,
                 const char *name,
                 const char *value)
{
  if (value != NULL)
    fixture->env = g_environ_setenv (fixture->env, name, value, TRUE);
  else
    fixture->env = g_environ_unsetenv (fixture->env, name);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 3000);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->tmpdir = g_dir_make_tmp ("spyglass-cli-XXXXXX", &error);
  g_assert_no_error (error);

  /* No session bus, no keyring, no display: a headless machine. */
  fixture->env = g_get_environ ();
  /* A home of its own for each test, everything spyglass writes inside
   * the temporary folder. */
  {
    const char *dirs[][2] = {
      { "HOME", "home" },
      { "XDG_CONFIG_HOME", "config" },
      { "XDG_DATA_HOME", "data" },
      { "XDG_CACHE_HOME", "cache" },
      { "XDG_STATE_HOME", "state" },
      { "XDG_RUNTIME_DIR", "runtime" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
      {
        g_autofree char *dir = g_build_filename (fixture->tmpdir, dirs[i][1], NULL);

        g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
        fixture_set_env (fixture, dirs[i][0], dir);
      }
    fixture->config_dir = g_build_filename (fixture->tmpdir, "config", NULL);
  }
  fixture_set_env (fixture, "DBUS_SESSION_BUS_ADDRESS", NULL);
  fixture_set_env (fixture, "DISPLAY", NULL);
  fixture_set_env (fixture, "WAYLAND_DISPLAY", NULL);
  fixture_set_env (fixture, "G_MESSAGES_DEBUG", NULL);
  fixture_set_env (fixture, "PLEX_URL", fake_plex_get_url (fixture->plex));
  fixture_set_env (fixture, "PLEX_TOKEN", fake_plex_get_token (fixture->plex));
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  remove_tree (fixture->tmpdir);
  g_clear_pointer (&fixture->tmpdir, g_free);
  g_clear_pointer (&fixture->config_dir, g_free);
  g_clear_pointer (&fixture->env, g_strfreev);
  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->err, g_free);
  g_clear_object (&fixture->plex);
}

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static char *
bytes_to_string (GBytes *bytes)
{
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    return g_strdup ("");
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Runs spyglass with @args (NULL-terminated) while the fake server keeps
 * answering in this process's main context. */
static int
run_with_stdin (Fixture            *fixture,
                const char         *stdin_text,
                const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) stdin_bytes = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  gint64 start;

  g_ptr_array_add (argv, (gpointer) g_getenv ("SPYGLASS_BIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, fixture->env);
  g_subprocess_launcher_set_cwd (launcher, fixture->tmpdir);

  start = g_get_monotonic_time ();
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* An empty stdin when there is nothing to type: the pipe then closes. */
  stdin_bytes = g_bytes_new (stdin_text != NULL ? stdin_text : "",
                             stdin_text != NULL ? strlen (stdin_text) : 0);
  g_subprocess_communicate_async (process, stdin_bytes, NULL, on_communicated, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_communicate_finish (process, result, &out, &err, &error);
  g_assert_no_error (error);
  fixture->elapsed_us = g_get_monotonic_time () - start;

  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->err, g_free);
  fixture->out = bytes_to_string (out);
  fixture->err = bytes_to_string (err);

  if (!g_subprocess_get_if_exited (process))
    g_error ("spyglass was killed by signal %d; stderr: %s",
             g_subprocess_get_term_sig (process), fixture->err);
  fixture->status = g_subprocess_get_exit_status (process);

  if (g_test_verbose ())
    g_test_message ("exit %d\nstdout: %s\nstderr: %s", fixture->status, fixture->out, fixture->err);

  return fixture->status;
}

#define run(fixture, ...) \
  run_with_stdin ((fixture), NULL, (const char * const[]) { __VA_ARGS__, NULL })

/* The single request with this method and path; fails the test otherwise. */
static FakePlexRequest *
single_request (Fixture    *fixture,
                const char *method,
                const char *path)
{
  g_autoptr(GPtrArray) found = fake_plex_find_requests (fixture->plex, method, path);

  g_assert_cmpuint (found->len, ==, 1);
  return g_ptr_array_index (found, 0);
}

static void
assert_param (const FakePlexRequest *request,
              const char            *name,
              const char            *expected)
{
  GBytes *value = fake_plex_request_get_param (request, name);

  if (expected == NULL)
    {
      g_assert_null (value);
      return;
    }

  g_assert_nonnull (value);
  g_assert_cmpmem (g_bytes_get_data (value, NULL), g_bytes_get_size (value),
                   expected, strlen (expected));
}

/* The refresh requests received, in order, as "KEY PATH" or "KEY *". */
static char *
refresh_log (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);
  GString *log = g_string_new (NULL);

  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);
      GBytes *path;
      GBytes *force;
      g_auto(GStrv) parts = NULL;

      if (!g_str_has_suffix (request->path, "/refresh"))
        continue;

      parts = g_strsplit (request->path, "/", -1);
      path = fake_plex_request_get_param (request, "path");
      force = fake_plex_request_get_param (request, "force");
      g_string_append_printf (log, "%s %s %.*s%s\n", request->method, parts[3],
                              path != NULL ? (int) g_bytes_get_size (path) : 1,
                              path != NULL ? (const char *) g_bytes_get_data (path, NULL) : "*",
                              force != NULL ? " force" : "");
    }

  return g_string_free (log, FALSE);
}

static void
assert_no_token_in_urls (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);

  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);

      g_assert_false (request->token_in_query);
      if (request->query != NULL)
        g_assert_null (strstr (request->query, fake_plex_get_token (fixture->plex)));
    }
}

static void
test_connection (Fixture       *fixture,
                 gconstpointer  data)
{
  FakePlexRequest *request;

  g_assert_cmpint (run (fixture, "test"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Connected to Fake Plex (Plex Media Server 1.40.0)\n");
  g_assert_cmpstr (fixture->err, ==, "");

  request = single_request (fixture, "GET", "/");
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"), ==,
                   fake_plex_get_token (fixture->plex));
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Product"), ==,
                   "Spyglass");
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Version"), ==,
                   PACKAGE_VERSION);
  g_assert_nonnull (soup_message_headers_get_one (request->headers, "X-Plex-Client-Identifier"));
  g_assert_nonnull (soup_message_headers_get_one (request->headers, "X-Plex-Platform"));
  g_assert_nonnull (soup_message_headers_get_one (request->headers, "X-Plex-Device-Name"));
  g_assert_null (request->query);
  assert_no_token_in_urls (fixture);
}

static void
test_sections (Fixture       *fixture,
               gconstpointer  data)
{
  g_assert_cmpint (run (fixture, "sections"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "1    movie    Movies\n"
                   "              /data/movies\n"
                   "2    show     TV Shows\n"
                   "              /data/tv\n"
                   "3    artist   Music\n"
                   "              /data/music\n"
                   "              /srv/more music\n"
                   "4    artist   Music Hi-Res\n"
                   "              /data/music-hires\n");
  single_request (fixture, "GET", "/library/sections");
}

static void
test_sections_json (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *array;
  JsonObject *music;
  JsonArray *folders;

  g_assert_cmpint (run (fixture, "sections", "--json"), ==, 0);
  json_parser_load_from_data (parser, fixture->out, -1, &error);
  g_assert_no_error (error);

  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, 4);
  music = json_array_get_object_element (array, 2);
  g_assert_cmpstr (json_object_get_string_member (music, "id"), ==, "3");
  g_assert_cmpstr (json_object_get_string_member (music, "type"), ==, "artist");
  g_assert_cmpstr (json_object_get_string_member (music, "title"), ==, "Music");
  folders = json_object_get_array_member (music, "folders");
  g_assert_cmpuint (json_array_get_length (folders), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (folders, 0), ==, "/data/music");
  g_assert_cmpstr (json_array_get_string_element (folders, 1), ==, "/srv/more music");
}

static void
test_scan_path (Fixture       *fixture,
                gconstpointer  data)
{
  FakePlexRequest *request;

  g_assert_cmpint (run (fixture, "scan", "/data/music/Pink Floyd/The Wall"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music/Pink Floyd/The Wall” in Music (section 3)\n");
  g_assert_cmpstr (fixture->err, ==, "");

  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/Pink Floyd/The Wall");
  assert_param (request, "force", NULL);
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"), ==,
                   fake_plex_get_token (fixture->plex));
  assert_no_token_in_urls (fixture);
  /* The path is one query value: nothing of it leaks into the URL's path. */
  g_assert_true (g_str_has_prefix (request->query, "path=%2Fdata%2Fmusic%2FPink%20Floyd"));
}

/* Paths with characters that break naive URL building arrive decoded
 * byte-for-byte; the non-UTF-8 one too. */
static void
test_scan_odd_paths (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *names[] = {
    "Simon & Garfunkel",
    "#1 Hits",
    "C++ Songs + More",
    "100% Pure",
    "Why? Because",
    "Sigur Rós/Ágætis byrjun",
    "Mélodie\xe9 (Latin-1)",
    "a=b;c,d'e\"f",
    "  spaced  out ",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename ("/data/music", names[i], NULL);
      FakePlexRequest *request;

      fake_plex_clear_requests (fixture->plex);
      g_assert_cmpint (run (fixture, "scan", path), ==, 0);
      g_assert_cmpstr (fixture->err, ==, "");
      request = single_request (fixture, "GET", "/library/sections/3/refresh");
      assert_param (request, "path", path);
    }
}

/* A real folder tree with odd names, mapped onto Plex's view: a file
 * becomes its folder, and the mapped path arrives exactly. */
static void
test_scan_mapped_files (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *local_root = g_build_filename (fixture->tmpdir, "nas music", NULL);
  g_autofree char *album = g_build_filename (local_root, "AC&DC #1", "Back + Black 100%", NULL);
  g_autofree char *track = g_build_filename (album, "01 Hells Bells?.flac", NULL);
  g_autofree char *map = g_strdup_printf ("%s=/data/music", local_root);
  FakePlexRequest *request;

  g_assert_cmpint (g_mkdir_with_parents (album, 0700), ==, 0);
  g_assert_true (g_file_set_contents (track, "fLaC", -1, NULL));

  g_assert_cmpint (run (fixture, "scan", "--map", map, track), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/AC&DC #1/Back + Black 100%");
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music/AC&DC #1/Back + Black 100%” in Music (section 3)\n");

  /* Open With → Spyglass runs `spyglass FOLDER`: a scan. */
  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (run (fixture, "--map", map, album), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/AC&DC #1/Back + Black 100%");

  /* A relative path is taken from the current folder. */
  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (run (fixture, "scan", "--map", map, "nas music/AC&DC #1"), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/AC&DC #1");
}

static void
test_scan_second_location (Fixture       *fixture,
                           gconstpointer  data)
{
  FakePlexRequest *request;

  g_assert_cmpint (run (fixture, "scan", "/srv/more music/Nina Simone"), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/srv/more music/Nina Simone");

  /* /data/music-hires is its own library, not a folder of /data/music. */
  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (run (fixture, "scan", "/data/music-hires/Miles Davis"), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/4/refresh");
  assert_param (request, "path", "/data/music-hires/Miles Davis");
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music-hires/Miles Davis” in Music Hi-Res (section 4)\n");
}

static void
test_scan_whole (Fixture       *fixture,
                 gconstpointer  data)
{
  FakePlexRequest *request;

  g_assert_cmpint (run (fixture, "scan", "--all", "--section", "3"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Scanning all of Music (section 3)\n");
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  g_assert_null (request->query);

  /* A library's own folder means the whole library. */
  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (run (fixture, "scan", "/data/movies/"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Scanning all of Movies (section 1)\n");
  request = single_request (fixture, "GET", "/library/sections/1/refresh");
  g_assert_null (request->query);
}

static void
test_scan_force (Fixture       *fixture,
                 gconstpointer  data)
{
  FakePlexRequest *request;

  g_assert_cmpint (run (fixture, "scan", "--force", "/data/music/Björk/Homogenic"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "Refreshing metadata of “/data/music/Björk/Homogenic” in Music (section 3)\n");
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/Björk/Homogenic");
  assert_param (request, "force", "1");

  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (run (fixture, "scan", "--all", "--force", "--section", "3"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Refreshing all metadata of Music (section 3)\n");
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  g_assert_cmpstr (request->query, ==, "force=1");
}

static void
test_scan_coalesce (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) args = NULL;
  g_autofree char *log = NULL;

  /* Duplicates merge and a folder inside another requested one is dropped. */
  g_assert_cmpint (run (fixture, "scan",
                        "/data/music/Air/Moon Safari",
                        "/data/music/Air",
                        "/data/music/Air/Talkie Walkie",
                        "/data/movies/Alien",
                        "/data/music/Air"), ==, 0);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==,
                   "GET 3 /data/music/Air\n"
                   "GET 1 /data/movies/Alien\n");
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music/Air” in Music (section 3)\n"
                   "Scanning “/data/movies/Alien” in Movies (section 1)\n");

  /* More than ten folders of one library become one whole-library scan. */
  fake_plex_clear_requests (fixture->plex);
  g_strv_builder_add (builder, "scan");
  for (guint i = 0; i < 11; i++)
    {
      g_autofree char *album = g_strdup_printf ("/data/music/Artist %u/Album", i);
      g_strv_builder_add (builder, album);
    }
  args = g_strv_builder_end (builder);
  g_assert_cmpint (run_with_stdin (fixture, NULL, (const char * const *) args), ==, 0);
  g_clear_pointer (&log, g_free);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "GET 3 *\n");
  g_assert_cmpstr (fixture->out, ==, "Scanning all of Music (section 3)\n");
}

static void
test_scan_not_in_library (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *log = NULL;

  g_assert_cmpint (run (fixture, "scan", "/mnt/nas/Music/Pink Floyd/Animals",
                        "/data/music/Pink Floyd/Meddle"), ==, 1);
  /* The other folder is still scanned. */
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "GET 3 /data/music/Pink Floyd/Meddle\n");
  g_assert_nonnull (strstr (fixture->err, "“/mnt/nas/Music/Pink Floyd/Animals” is not in any Plex library folder"));
  g_assert_nonnull (strstr (fixture->err, "/data/music"));
  g_assert_nonnull (strstr (fixture->err, "/mnt/nas/Music=/data/music"));
  g_assert_true (g_str_has_prefix (fixture->err, "spyglass: "));
  g_assert_cmpuint (strchr (fixture->err, '\n') - fixture->err + 1, ==, strlen (fixture->err));
}

static void assert_fails (Fixture    *fixture,
                          const char *expected_err);

/* What cannot be sent now stays queued on disk and goes with the next
 * run. */
static void
test_scan_kept_for_next_run (Fixture       *fixture,
                             gconstpointer  data)
{
  guint16 port = fake_plex_get_port (fixture->plex);
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *log = NULL;

  fake_plex_stop (fixture->plex);
  run (fixture, "scan", "/data/music/Air");
  expected = g_strdup_printf ("spyglass: Cannot reach Plex server at %s — check the address and "
                              "port, and that Plex is running; 1 request stays queued for the "
                              "next run\n", fake_plex_get_url (fixture->plex));
  assert_fails (fixture, expected);

  /* What waits is on disk (in the queue's journal), and the history is
   * still empty. */
  {
    g_autofree char *state = g_build_filename (fixture->tmpdir, "state", "spyglass", "queue.journal", NULL);
    g_autofree char *contents = NULL;

    g_assert_true (g_file_get_contents (state, &contents, NULL, NULL));
    g_assert_nonnull (strstr (contents, "\"local-path\":\"/data/music/Air\""));
    g_assert_nonnull (strstr (contents, "\"message\":\"Cannot reach Plex server\""));
  }
  g_assert_cmpint (run (fixture, "history"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "No scans yet\n");

  g_assert_true (fake_plex_start_on_port (fixture->plex, port, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (run (fixture, "status"), ==, 0);
  g_assert_true (g_str_has_suffix (fixture->out,
                                   "Queue: 1 request\n"
                                   "  queued   /data/music/Air — Cannot reach Plex server\n"));

  /* The same for a script: never sent (the libraries could not be
   * listed), so not routed to a library yet. */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *root;
    JsonArray *queue;
    JsonObject *request;

    g_assert_cmpint (run (fixture, "status", "--json"), ==, 0);
    json_parser_load_from_data (parser, fixture->out, -1, &error);
    g_assert_no_error (error);
    root = json_node_get_object (json_parser_get_root (parser));
    queue = json_object_get_array_member (root, "queue");
    g_assert_cmpuint (json_array_get_length (queue), ==, 1);
    request = json_array_get_object_element (queue, 0);
    g_assert_cmpuint (strlen (json_object_get_string_member (request, "id")), >, 0);
    g_assert_cmpstr (json_object_get_string_member (request, "state"), ==, "queued");
    g_assert_cmpstr (json_object_get_string_member (request, "path"), ==, "/data/music/Air");
    g_assert_false (json_object_get_boolean_member (request, "force"));
    g_assert_true (json_object_get_null_member (request, "library"));
    g_assert_true (json_object_get_null_member (request, "progress"));
    g_assert_cmpint (json_object_get_int_member (request, "attempts"), ==, 0);
    g_assert_cmpstr (json_object_get_string_member (request, "message"), ==,
                     "Cannot reach Plex server");
  }
  g_assert_cmpint (run (fixture, "scan", "/data/music/Can"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music/Air” in Music (section 3)\n"
                   "Scanning “/data/music/Can” in Music (section 3)\n");
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "GET 3 /data/music/Air\nGET 3 /data/music/Can\n");

  g_assert_cmpint (run (fixture, "history"), ==, 0);
  g_assert_true (g_regex_match_simple ("^\\S+ \\S+  done    /data/music/Air in Music, [0-9.]+ s\n"
                                       "\\S+ \\S+  done    /data/music/Can in Music, [0-9.]+ s\n$",
                                       fixture->out, 0, 0));
  g_assert_cmpint (run (fixture, "status"), ==, 0);
  g_assert_true (g_str_has_suffix (fixture->out, "Queue: empty\n"));
}

/* --wait returns when Plex has finished scanning, not when it accepted. */
static void
test_scan_wait (Fixture       *fixture,
                gconstpointer  data)
{
  fake_plex_set_scan_duration (fixture->plex, 1500);
  g_assert_cmpint (run (fixture, "scan", "--wait", "/data/music/Air"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Scanning “/data/music/Air” in Music (section 3)\n");
  g_assert_false (fake_plex_is_scanning (fixture->plex, "3"));
  g_assert_cmpint (fixture->elapsed_us, >=, 1200 * 1000);
  g_assert_cmpint (fake_plex_get_last_ended_time (fixture->plex), >, 0);

  /* Without it, the command is back at once, the scan still running. */
  g_assert_cmpint (run (fixture, "scan", "/data/music/Can"), ==, 0);
  g_assert_true (fake_plex_is_scanning (fixture->plex, "3"));
}

static void
on_wait_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* `spyglass scan` hands its folders to the queue of a running Spyglass
 * (here `spyglass service`, on a session bus of the test's own) instead
 * of sending them itself. */
static void
test_join_running (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) bus = NULL;
  g_autoptr(GSubprocess) service = NULL;
  g_autoptr(GDataInputStream) bus_out = NULL;
  g_autoptr(GDataInputStream) service_out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *log = NULL;
  gboolean expired = FALSE;
  gboolean done = FALSE;
  guint deadline;
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");

  if (dbus_daemon == NULL)
    {
      g_test_skip ("dbus-daemon is not installed");
      return;
    }

  fake_plex_set_scan_duration (fixture->plex, 800);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_environ (launcher, fixture->env);
  /* They go when the test goes, even when it fails. */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  bus = g_subprocess_launcher_spawn (launcher, &error, dbus_daemon, "--session", "--nofork",
                                     "--print-address", NULL);
  g_assert_no_error (error);
  bus_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus));
  address = g_data_input_stream_read_line_utf8 (bus_out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (address);
  fixture_set_env (fixture, "DBUS_SESSION_BUS_ADDRESS", address);

  g_subprocess_launcher_set_environ (launcher, fixture->env);
  service = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SPYGLASS_BIN"), "service", NULL);
  g_assert_no_error (error);
  service_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (service));
  ready = g_data_input_stream_read_line_utf8 (service_out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ready, ==, "Spyglass is running and owns the scan queue; stop it with Ctrl+C");

  g_assert_cmpint (run (fixture, "scan", "/data/music/Air", "/data/movies/Alien"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Queued 2 requests in the running Spyglass\n");

  /* The service sends them, in its own time. */
  deadline = g_timeout_add_seconds (10, on_deadline, &expired);
  while (!expired)
    {
      g_autoptr(GPtrArray) sent = fake_plex_find_requests (fixture->plex, "GET",
                                                           "/library/sections/1/refresh");
      if (sent->len > 0)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  if (!expired)
    g_source_remove (deadline);
  log = refresh_log (fixture);
  g_assert_cmpstr (log, ==, "GET 3 /data/music/Air\nGET 1 /data/movies/Alien\n");

  /* With --wait, until Plex has scanned. */
  g_assert_cmpint (run (fixture, "scan", "--wait", "/data/music/Can"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Queued 1 request in the running Spyglass\n");
  g_assert_false (fake_plex_is_scanning (fixture->plex, "3"));

  /* A second service is refused. */
  g_assert_cmpint (run (fixture, "service"), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "spyglass: Spyglass is already running\n");

  g_subprocess_send_signal (service, SIGTERM);
  g_subprocess_wait_async (service, NULL, on_wait_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (g_subprocess_get_if_exited (service));
  g_assert_cmpint (g_subprocess_get_exit_status (service), ==, 0);
  g_subprocess_force_exit (bus);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_assert_cmpint (run (fixture, "cancel", "--section", "3"), ==, 0);
  single_request (fixture, "DELETE", "/library/sections/3/refresh");
  g_assert_cmpstr (fixture->out, ==, "Stopped scanning section 3\n");

  g_assert_cmpint (run (fixture, "cancel"), ==, 0);
  single_request (fixture, "DELETE", "/library/sections/all/refresh");
  g_assert_cmpstr (fixture->out, ==, "Stopped scanning every library\n");

  g_assert_cmpint (run (fixture, "cancel", "--section", "99"), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "spyglass: Library section not found — “spyglass sections” lists the libraries\n");
}

static void
test_status (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonObject *music;

  g_assert_cmpint (run (fixture, "status"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "Movies (section 1): idle\n"
                   "TV Shows (section 2): idle\n"
                   "Music (section 3): idle\n"
                   "Music Hi-Res (section 4): idle\n"
                   "Queue: empty\n");
  single_request (fixture, "GET", "/activities");

  g_assert_cmpint (run (fixture, "scan", "/data/music/Air"), ==, 0);
  g_assert_true (fake_plex_is_scanning (fixture->plex, "3"));
  g_assert_cmpint (run (fixture, "status"), ==, 0);
  g_assert_true (g_str_has_prefix (strstr (fixture->out, "Music (section 3)"),
                                   "Music (section 3): scanning, "));
  g_assert_nonnull (strstr (fixture->out, "Movies (section 1): idle\n"));

  g_assert_cmpint (run (fixture, "status", "--json"), ==, 0);
  json_parser_load_from_data (parser, fixture->out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  music = json_array_get_object_element (json_object_get_array_member (root, "libraries"), 2);
  g_assert_cmpstr (json_object_get_string_member (music, "id"), ==, "3");
  g_assert_cmpstr (json_object_get_string_member (music, "state"), ==, "scanning");
  g_assert_cmpint (json_object_get_int_member (music, "progress"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (music, "progress"), <=, 100);
  g_assert_cmpstr (json_object_get_string_member (music, "activity"), ==, "Scanning Music");
  /* That scan was accepted and not followed (no --wait): nothing queued. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "queue")), ==, 0);
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *exited = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  *exited = TRUE;
}

/* `status --json` while another process owns the queue and follows a
 * scan: the request as a script reads it, with its library and the
 * progress Plex reports. */
static void
test_status_json_queue (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) scan = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  JsonObject *request = NULL;
  JsonObject *library;
  gboolean exited = FALSE;

  /* The fixture's scans last 3 s: long enough to look at one. */
  g_subprocess_launcher_set_environ (launcher, fixture->env);
  g_subprocess_launcher_set_cwd (launcher, fixture->tmpdir);
  scan = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SPYGLASS_BIN"),
                                      "scan", "--wait", "/data/music/Air", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (scan, NULL, on_waited, &exited);

  while (request == NULL)
    {
      JsonArray *queue;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_assert_false (exited);
      g_assert_cmpint (run (fixture, "status", "--json"), ==, 0);
      json_parser_load_from_data (parser, fixture->out, -1, &error);
      g_assert_no_error (error);
      queue = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                            "queue");
      if (json_array_get_length (queue) == 1 &&
          g_strcmp0 (json_object_get_string_member (json_array_get_object_element (queue, 0), "state"),
                     "scanning") == 0)
        request = json_array_get_object_element (queue, 0);
      else
        g_assert_cmpuint (json_array_get_length (queue), <=, 1);
    }

  g_assert_cmpuint (strlen (json_object_get_string_member (request, "id")), >, 0);
  g_assert_cmpstr (json_object_get_string_member (request, "path"), ==, "/data/music/Air");
  g_assert_false (json_object_get_boolean_member (request, "force"));
  library = json_object_get_object_member (request, "library");
  g_assert_cmpstr (json_object_get_string_member (library, "id"), ==, "3");
  g_assert_cmpstr (json_object_get_string_member (library, "title"), ==, "Music");
  g_assert_cmpint (json_object_get_int_member (request, "progress"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (request, "progress"), <=, 100);
  g_assert_cmpint (json_object_get_int_member (request, "attempts"), ==, 1);
  g_assert_true (json_object_get_null_member (request, "message"));

  /* Once the scan is over, the queue is empty. */
  while (!exited)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_subprocess_get_exit_status (scan), ==, 0);
  g_assert_cmpint (run (fixture, "status", "--json"), ==, 0);
  json_parser_load_from_data (parser, fixture->out, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                                         "queue")), ==, 0);
}

/* Each error: its exact one-line message and exit status 1. */
static void
assert_fails (Fixture    *fixture,
              const char *expected_err)
{
  g_assert_cmpint (fixture->status, ==, 1);
  g_assert_cmpstr (fixture->out, ==, "");
  g_assert_cmpstr (fixture->err, ==, expected_err);
}

static void
test_error_invalid_token (Fixture       *fixture,
                          gconstpointer  data)
{
  fixture_set_env (fixture, "PLEX_TOKEN", "not-the-token");
  run (fixture, "test");
  assert_fails (fixture, "spyglass: Invalid Plex token — get a new token and store it with "
                         "“spyglass config --token-stdin”\n");

  fixture_set_env (fixture, "PLEX_TOKEN", NULL);
  run (fixture, "scan", "/data/music/Air");
  assert_fails (fixture, "spyglass: Invalid Plex token — this server needs a token: store one "
                         "with “spyglass config --token-stdin”; 1 request stays queued for the "
                         "next run\n");

  /* The next run with a token sends it, with its own. */
  fixture_set_env (fixture, "PLEX_TOKEN", fake_plex_get_token (fixture->plex));
  g_assert_cmpint (run (fixture, "scan", "/data/movies/Alien"), ==, 0);
  g_assert_cmpstr (fixture->out, ==,
                   "Scanning “/data/music/Air” in Music (section 3)\n"
                   "Scanning “/data/movies/Alien” in Movies (section 1)\n");
}

static void
test_error_forbidden (Fixture       *fixture,
                      gconstpointer  data)
{
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_FORBIDDEN);
  run (fixture, "sections");
  assert_fails (fixture, "spyglass: Plex refused the request: this account is not the server’s "
                         "owner (403 Forbidden) — use the token of the account that owns the "
                         "server\n");
}

static void
test_error_not_found (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) sent = NULL;

  run (fixture, "scan", "--section", "7", "/data/music/Air");

  assert_fails (fixture, "spyglass: Library section not found — “spyglass sections” lists the "
                         "libraries\n");
  sent = fake_plex_find_requests (fixture->plex, "GET", "/library/sections/7/refresh");
  g_assert_cmpuint (sent->len, ==, 0);
}

static void
test_error_server (Fixture       *fixture,
                   gconstpointer  data)
{
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_SERVER_ERROR);
  run (fixture, "test");
  assert_fails (fixture, "spyglass: Plex returned 500\n");
}

static void
test_error_unreachable (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *expected = NULL;

  fake_plex_stop (fixture->plex);
  run (fixture, "test");
  expected = g_strdup_printf ("spyglass: Cannot reach Plex server at %s — check the address "
                              "and port, and that Plex is running\n",
                              fake_plex_get_url (fixture->plex));
  assert_fails (fixture, expected);
}

static void
test_error_timeout (Fixture       *fixture,
                    gconstpointer  data)
{
  const FakePlexFault faults[] = { FAKE_PLEX_FAULT_HANG, FAKE_PLEX_FAULT_SLOW_BODY };

  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      fake_plex_set_fault (fixture->plex, faults[i]);
      run (fixture, "test", "--timeout", "1");
      assert_fails (fixture, "spyglass: Plex request timeout — the server did not answer in "
                             "time; try again or raise --timeout\n");
      /* It ends at the timeout, not whenever the server gives up; the bound
       * is generous because the machine is shared. */
      g_assert_cmpint (fixture->elapsed_us, <, 8 * G_USEC_PER_SEC);
    }
}

static void
test_error_bad_response (Fixture       *fixture,
                         gconstpointer  data)
{
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_MALFORMED);
  run (fixture, "sections");
  g_assert_cmpint (fixture->status, ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, "spyglass: "));
  g_assert_nonnull (strstr (fixture->err, "is this address a Plex Media Server?\n"));

  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_HUGE_BODY);
  run (fixture, "sections");
  assert_fails (fixture, "spyglass: The Plex server sent a response larger than 2.1\u00a0MB — is "
                         "this address a Plex Media Server?\n");
}

static void
test_error_usage (Fixture       *fixture,
                  gconstpointer  data)
{
  g_assert_cmpint (run (fixture, "scan", "--server", "ftp://nas.local", "/data/music/Air"), ==, 2);
  g_assert_true (g_str_has_prefix (fixture->err, "spyglass scan: "));
  g_assert_nonnull (strstr (fixture->err, "ftp://nas.local"));
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);

  g_assert_cmpint (run (fixture, "frobnicate"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "spyglass: unknown command “frobnicate” (see “spyglass --help”)\n");

  g_assert_cmpint (run (fixture, "scan"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "spyglass scan: no folder to scan (see “spyglass scan --help”)\n");

  g_assert_cmpint (run (fixture, "scan", "--all", "/data/music"), ==, 2);
  g_assert_cmpint (run (fixture, "sections", "--bogus"), ==, 2);

  g_assert_cmpint (run (fixture, "scan", "--help"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "--section"));
  g_assert_nonnull (strstr (fixture->out, "--force"));
  g_assert_nonnull (strstr (fixture->out, "--all"));

  g_assert_cmpint (run (fixture, "--help"), ==, 0);
  for (const char *const *c = (const char *const[]) { "test", "sections", "scan", "status", "cancel", "config", NULL }; *c; c++)
    g_assert_nonnull (strstr (fixture->out, *c));

  fixture_set_env (fixture, "PLEX_URL", NULL);
  g_assert_cmpint (run (fixture, "test"), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "spyglass: No Plex server is set up — run “spyglass config --server ADDRESS” "
                   "or set PLEX_URL\n");
}

static char *
display_fingerprint_of (const char *cert_name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", cert_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (path, &error);
  g_autoptr(GByteArray) der = NULL;
  g_autofree char *hex = NULL;
  GString *display = g_string_new (NULL);

  g_assert_no_error (error);
  g_object_get (certificate, "certificate", &der, NULL);
  hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
  for (guint i = 0; hex[i] != '\0'; i += 2)
    g_string_append_printf (display, "%s%c%c", i > 0 ? ":" : "",
                            g_ascii_toupper (hex[i]), g_ascii_toupper (hex[i + 1]));
  return g_string_free (display, FALSE);
}

static void
restart_with_certificate (Fixture    *fixture,
                          const char *cert_name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", cert_name, NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;

  certificate = g_tls_certificate_new_from_file (path, &error);
  g_assert_no_error (error);
  g_clear_object (&fixture->plex);
  fixture->plex = fake_plex_new ();
  g_assert_true (fake_plex_start_tls (fixture->plex, certificate, &error));
  g_assert_no_error (error);
  fixture_set_env (fixture, "PLEX_URL", fake_plex_get_url (fixture->plex));
}

/* A self-signed server: refused with its fingerprint, trusted once pinned
 * with `spyglass config`, refused again when its certificate changes. */
static void
test_certificate (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *fingerprint_a = display_fingerprint_of ("cert-a.pem");
  g_autofree char *fingerprint_b = display_fingerprint_of ("cert-b.pem");
  g_autofree char *expected = NULL;

  fixture_set_env (fixture, "GSETTINGS_BACKEND", NULL);
  restart_with_certificate (fixture, "cert-a.pem");

  run (fixture, "test");
  expected = g_strdup_printf ("spyglass: The Plex server’s certificate is not trusted (SHA-256 %s) "
                              "— if this is your server, trust it with “spyglass config "
                              "--pin-certificate FINGERPRINT”\n", fingerprint_a);
  assert_fails (fixture, expected);
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);

  g_assert_cmpint (run (fixture, "config", "--pin-certificate", fingerprint_a), ==, 0);
  g_assert_cmpint (run (fixture, "test"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Connected to Fake Plex (Plex Media Server 1.40.0)\n");

  /* Same address, another certificate. */
  {
    guint16 port = fake_plex_get_port (fixture->plex);
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "cert-b.pem", NULL);
    g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (path, NULL);
    g_autoptr(GError) error = NULL;

    g_clear_object (&fixture->plex);
    fixture->plex = fake_plex_new ();
    g_assert_true (fake_plex_start_on_port (fixture->plex, port, certificate, &error));
    g_assert_no_error (error);
  }
  run (fixture, "test");
  g_free (expected);
  expected = g_strdup_printf ("spyglass: The Plex server’s certificate has changed since it was "
                              "trusted (now SHA-256 %s); refusing to connect — if you replaced the "
                              "certificate yourself, pin the new one with “spyglass config "
                              "--pin-certificate FINGERPRINT”\n", fingerprint_b);
  assert_fails (fixture, expected);
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);

  g_assert_cmpint (run (fixture, "config", "--pin-certificate", "not-a-fingerprint"), ==, 2);
}

/* The server address as people type it. */
static void
test_server_forms (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *bare = g_strdup_printf ("127.0.0.1:%u", fake_plex_get_port (fixture->plex));
  g_autofree char *slash = g_strdup_printf ("%s/", fake_plex_get_url (fixture->plex));

  fixture_set_env (fixture, "PLEX_URL", NULL);
  g_assert_cmpint (run (fixture, "test", "--server", bare), ==, 0);
  /* Connection options before the command work too. */
  g_assert_cmpint (run (fixture, "--server", bare, "-v", "--timeout", "5", "test"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "Connected to Fake Plex (Plex Media Server 1.40.0)\n");
  g_assert_cmpint (run (fixture, "test", "--server", slash), ==, 0);
  fixture_set_env (fixture, "PLEX_URL", bare);
  g_assert_cmpint (run (fixture, "test"), ==, 0);
}

/* An environment file written on Windows: the \r is not part of the
 * token; a token with control characters inside is refused clearly. */
static void
test_token_env (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *crlf = g_strdup_printf ("%s\r", fake_plex_get_token (fixture->plex));

  fixture_set_env (fixture, "PLEX_TOKEN", crlf);
  g_assert_cmpint (run (fixture, "test"), ==, 0);

  fixture_set_env (fixture, "PLEX_TOKEN", "abc\ndef");
  run (fixture, "test");
  assert_fails (fixture, "spyglass: The Plex token contains characters no token has — check "
                         "PLEX_TOKEN or the token file\n");
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 1);

  g_assert_cmpint (run (fixture, "test", "--timeout", "0"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "spyglass test: the timeout is 1 to 600 seconds (see “spyglass test --help”)\n");
  g_assert_cmpint (run (fixture, "config", "--threshold", "-3"), ==, 2);
}

static void
test_token_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *token_file = g_build_filename (fixture->tmpdir, "token", NULL);
  g_autofree char *contents = g_strdup_printf ("%s\n", fake_plex_get_token (fixture->plex));
  g_autofree char *missing = g_build_filename (fixture->tmpdir, "missing", NULL);

  g_assert_true (g_file_set_contents (token_file, contents, -1, NULL));
  fixture_set_env (fixture, "PLEX_TOKEN", NULL);
  g_assert_cmpint (run (fixture, "test", "--token-file", token_file), ==, 0);

  g_assert_cmpint (run (fixture, "test", "--token-file", missing), ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, "spyglass: Cannot read the token file: "));
}

/* Settings stored by `spyglass config` are used by later runs, and the
 * token typed on stdin lands in a 0600 file when there is no keyring. */
static void
test_config (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *token_path = g_build_filename (fixture->config_dir, "spyglass", "token", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *bare = g_strdup_printf ("127.0.0.1:%u", fake_plex_get_port (fixture->plex));
  g_autofree char *stdin_text = g_strdup_printf ("%s\n", fake_plex_get_token (fixture->plex));
  FakePlexRequest *request;
  GStatBuf st;

  fixture_set_env (fixture, "GSETTINGS_BACKEND", NULL);
  fixture_set_env (fixture, "PLEX_URL", NULL);
  fixture_set_env (fixture, "PLEX_TOKEN", NULL);

  g_assert_cmpint (run (fixture, "config", "--server", bare, "--map", "/mnt/nas/music=/data/music",
                        "--section", "3"), ==, 0);
  g_assert_cmpint (run_with_stdin (fixture, stdin_text,
                                   (const char * const[]) { "config", "--token-stdin", NULL }), ==, 0);
  expected = g_strdup_printf ("No keyring available: token stored in %s (readable only by you)\n"
                              "Settings saved\n", token_path);
  g_assert_cmpstr (fixture->out, ==, expected);
  g_assert_cmpint (g_stat (token_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_cmpint (run (fixture, "config"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Server: http://127.0.0.1:"));
  g_assert_nonnull (strstr (fixture->out, "Token: stored in "));
  g_assert_nonnull (strstr (fixture->out, "  /mnt/nas/music → /data/music\n"));
  g_assert_nonnull (strstr (fixture->out, "Default library: 3\n"));
  g_assert_null (strstr (fixture->out, fake_plex_get_token (fixture->plex)));

  g_assert_cmpint (run (fixture, "scan", "/mnt/nas/music/Air/Moon Safari"), ==, 0);
  request = single_request (fixture, "GET", "/library/sections/3/refresh");
  assert_param (request, "path", "/data/music/Air/Moon Safari");
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"), ==,
                   fake_plex_get_token (fixture->plex));

  g_assert_cmpint (run (fixture, "config", "--forget-token"), ==, 0);
  g_assert_false (g_file_test (token_path, G_FILE_TEST_EXISTS));
}

/* The X-Plex-Client-Identifier is generated once and kept. */
static void
test_client_identifier_stable (Fixture       *fixture,
                               gconstpointer  data)
{
  GPtrArray *requests;
  const char *first, *second;

  fixture_set_env (fixture, "GSETTINGS_BACKEND", NULL);
  g_assert_cmpint (run (fixture, "test"), ==, 0);
  g_assert_cmpint (run (fixture, "test"), ==, 0);
  requests = fake_plex_get_requests (fixture->plex);
  g_assert_cmpuint (requests->len, ==, 2);
  first = soup_message_headers_get_one (((FakePlexRequest *) requests->pdata[0])->headers,
                                        "X-Plex-Client-Identifier");
  second = soup_message_headers_get_one (((FakePlexRequest *) requests->pdata[1])->headers,
                                         "X-Plex-Client-Identifier");
  g_assert_cmpstr (first, ==, second);
  g_assert_cmpuint (strlen (first), >=, 16);
}

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *contents = NULL;
  gsize length;

  gsize needle_length = strlen (needle);

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return FALSE;

  /* Binary files too: NUL bytes do not stop the search. */
  for (gsize i = 0; i + needle_length <= length; i++)
    if (memcmp (contents + i, needle, needle_length) == 0)
      return TRUE;
  return FALSE;
}

/* Every file below @dir that contains @needle. */
static void
find_files_containing (const char *dir,
                       const char *needle,
                       GPtrArray  *found)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;

  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        find_files_containing (path, needle, found);
      else if (file_contains (path, needle))
        g_ptr_array_add (found, g_steal_pointer (&path));
    }
}

/* A canary token goes through every command with full debug output and is
 * found in no output, no URL, and no file but the token store. */
static void
test_token_canary (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *canary = "CANARY-7d1f0c2e-token-must-not-leak";
  g_autofree char *stdin_text = g_strdup_printf ("%s\n", canary);
  g_autofree char *token_file = g_build_filename (fixture->tmpdir, "token-file", NULL);
  g_autofree char *token_store = g_build_filename (fixture->config_dir, "spyglass", "token", NULL);
  g_autofree char *bare = g_strdup_printf ("127.0.0.1:%u", fake_plex_get_port (fixture->plex));
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  GString *all_output = g_string_new (NULL);
  const char * const *commands[] = {
    (const char * const[]) { "test", "-v", NULL },
    (const char * const[]) { "sections", "-v", NULL },
    (const char * const[]) { "sections", "--json", NULL },
    (const char * const[]) { "scan", "-v", "/data/music/Air", "/data/movies/Alien", NULL },
    (const char * const[]) { "scan", "-v", "--all", "--force", "--section", "3", NULL },
    (const char * const[]) { "status", "-v", NULL },
    (const char * const[]) { "status", "--json", NULL },
    (const char * const[]) { "cancel", "-v", NULL },
    (const char * const[]) { "config", NULL },
    (const char * const[]) { "test", "--token-file", token_file, NULL },
    (const char * const[]) { "scan", "/nowhere/at/all", NULL },
  };

  fake_plex_set_token (fixture->plex, canary);
  g_assert_true (g_file_set_contents (token_file, canary, -1, NULL));
  fixture_set_env (fixture, "GSETTINGS_BACKEND", NULL);
  fixture_set_env (fixture, "PLEX_URL", NULL);
  fixture_set_env (fixture, "PLEX_TOKEN", NULL);
  fixture_set_env (fixture, "G_MESSAGES_DEBUG", "all");

  g_assert_cmpint (run (fixture, "config", "--server", bare), ==, 0);
  g_assert_cmpint (run_with_stdin (fixture, stdin_text,
                                   (const char * const[]) { "config", "--token-stdin", NULL }), ==, 0);
  g_string_append (all_output, fixture->out);
  g_string_append (all_output, fixture->err);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      run_with_stdin (fixture, NULL, commands[i]);
      g_string_append (all_output, fixture->out);
      g_string_append (all_output, fixture->err);
    }

  /* The token pasted into the server address, as the browser check URL
   * has it, and the token from the environment. */
  {
    g_autofree char *pasted = g_strdup_printf ("%s/library/sections?X-Plex-Token=%s",
                                               fake_plex_get_url (fixture->plex), canary);

    g_assert_cmpint (run (fixture, "test", "--server", pasted), ==, 2);
    g_string_append (all_output, fixture->err);
    fixture_set_env (fixture, "PLEX_URL", pasted);
    g_assert_cmpint (run (fixture, "test"), ==, 1);
    g_string_append (all_output, fixture->err);
    fixture_set_env (fixture, "PLEX_URL", NULL);
    fixture_set_env (fixture, "PLEX_TOKEN", canary);
    g_assert_cmpint (run (fixture, "test", "-v"), ==, 0);
    g_string_append (all_output, fixture->out);
    g_string_append (all_output, fixture->err);
    fixture_set_env (fixture, "PLEX_TOKEN", NULL);
  }

  /* The same through a wrong-token failure, with the canary as the token. */
  fake_plex_set_token (fixture->plex, "something-else");
  run (fixture, "test", "-v");
  g_assert_cmpint (fixture->status, ==, 1);
  g_string_append (all_output, fixture->out);
  g_string_append (all_output, fixture->err);

  /* The debug output did run: it names the requests. */
  g_assert_nonnull (strstr (all_output->str, "/library/sections"));
  g_assert_null (strstr (all_output->str, canary));
  assert_no_token_in_urls (fixture);

  /* No file holds it but the token store (and the --token-file we wrote). */
  /* The temporary folder holds spyglass's home and XDG folders. */
  find_files_containing (fixture->tmpdir, canary, found);
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (found, token_store, g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (found, token_file, g_str_equal, NULL));

  g_string_free (all_output, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/cli/test", test_connection);
  ADD ("/cli/sections/text", test_sections);
  ADD ("/cli/sections/json", test_sections_json);
  ADD ("/cli/scan/path", test_scan_path);
  ADD ("/cli/scan/odd-paths", test_scan_odd_paths);
  ADD ("/cli/scan/mapped-files", test_scan_mapped_files);
  ADD ("/cli/scan/second-location", test_scan_second_location);
  ADD ("/cli/scan/whole", test_scan_whole);
  ADD ("/cli/scan/force", test_scan_force);
  ADD ("/cli/scan/coalesce", test_scan_coalesce);
  ADD ("/cli/scan/not-in-library", test_scan_not_in_library);
  ADD ("/cli/scan/kept-for-next-run", test_scan_kept_for_next_run);
  ADD ("/cli/scan/wait", test_scan_wait);
  ADD ("/cli/scan/join-running", test_join_running);
  ADD ("/cli/cancel", test_cancel);
  ADD ("/cli/status", test_status);
  ADD ("/cli/status/json-queue", test_status_json_queue);
  ADD ("/cli/error/invalid-token", test_error_invalid_token);
  ADD ("/cli/error/forbidden", test_error_forbidden);
  ADD ("/cli/error/section-not-found", test_error_not_found);
  ADD ("/cli/error/server-error", test_error_server);
  ADD ("/cli/error/unreachable", test_error_unreachable);
  ADD ("/cli/error/timeout", test_error_timeout);
  ADD ("/cli/error/bad-response", test_error_bad_response);
  ADD ("/cli/error/usage", test_error_usage);
  ADD ("/cli/error/certificate", test_certificate);
  ADD ("/cli/server-forms", test_server_forms);
  ADD ("/cli/token-file", test_token_file);
  ADD ("/cli/token-env", test_token_env);
  ADD ("/cli/config", test_config);
  ADD ("/cli/client-identifier", test_client_identifier_stable);
  ADD ("/cli/token-canary", test_token_canary);

  return g_test_run ();
}
