/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The folder watcher with real files in temporary folders, feeding a real
 * scan queue that talks to the fake Plex server: which folder scans Plex
 * receives once the changes settled.  The temporary "music" folder is
 * mapped to the fake server's /data/music (library 3).
 *
 * Steps that write several files use a settle delay long enough that no
 * stall of a busy machine between two writes can split them; every wait
 * for something to happen has a generous timeout, and "nothing more
 * happened" is checked over several settle delays.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "fake-plex.h"
#include "spyglass-core.h"

#define WAIT_TIMEOUT_MS 30000

typedef struct
{
  FakePlex        *plex;
  SpyglassClient  *client;
  SpyglassQueue   *queue;
  SpyglassWatcher *watcher;
  char            *tmpdir;
  char            *state_dir;
  char            *music;      /* the watched root */
  GPtrArray       *settled;    /* paths reported, relative to music */
  GPtrArray       *paused;     /* root-paused paths */
  guint            resumed;
  char            *limit_message;
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

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

/* Writes @path in place (no temporary file next to it). */
static void
write_file (const char *path,
            const char *contents)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, contents, strlen (contents)), ==, (gssize) strlen (contents));
  g_assert_cmpint (close (fd), ==, 0);
}

/* @relative under the music folder; "/" separated; a trailing '/' makes a
 * folder, else a file (its folders made as needed). */
static char *
music_path (Fixture    *fixture,
            const char *relative)
{
  return g_build_filename (fixture->music, relative, NULL);
}

static void
make (Fixture    *fixture,
      const char *relative)
{
  g_autofree char *path = music_path (fixture, relative);

  if (g_str_has_suffix (relative, "/"))
    g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
  else
    {
      g_autofree char *dir = g_path_get_dirname (path);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      write_file (path, relative);
    }
}

/* An album: two discs and a cover. */
static void
make_album (Fixture    *fixture,
            const char *album)
{
  const char *files[] = {
    "CD1/01 Intro.flac", "CD1/02 Song.flac", "CD2/01 Outro.flac", "cover.jpg",
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *relative = g_strdup_printf ("%s/%s", album, files[i]);
      make (fixture, relative);
    }
}

static void
on_folder_settled (SpyglassWatcher *watcher,
                   const char      *path,
                   Fixture         *fixture)
{
  gsize len = strlen (fixture->music);

  g_assert_true (g_str_has_prefix (path, fixture->music));
  g_assert_true (path[len] == '\0' || path[len] == '/');
  g_ptr_array_add (fixture->settled, g_strdup (path[len] == '/' ? path + len + 1 : ""));
  spyglass_queue_add_folder (fixture->queue, path, NULL, FALSE);
}

static void
on_root_paused (SpyglassWatcher *watcher,
                const char      *path,
                const char      *reason,
                Fixture         *fixture)
{
  g_assert_nonnull (reason);
  g_ptr_array_add (fixture->paused, g_strdup (path));
}

static void
on_root_resumed (SpyglassWatcher *watcher,
                 const char      *path,
                 Fixture         *fixture)
{
  fixture->resumed++;
}

static void
on_watch_limit (SpyglassWatcher *watcher,
                const char      *message,
                Fixture         *fixture)
{
  g_assert_null (fixture->limit_message);
  fixture->limit_message = g_strdup (message);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 20);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->tmpdir = g_dir_make_tmp ("spyglass-watcher-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->state_dir = g_build_filename (fixture->tmpdir, "state", NULL);
  fixture->music = g_build_filename (fixture->tmpdir, "music", NULL);
  g_assert_cmpint (g_mkdir (fixture->state_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->music, 0755), ==, 0);

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
  fixture->queue = spyglass_queue_new (fixture->client, fixture->state_dir);
  spyglass_queue_set_batch_window (fixture->queue, 20);
  spyglass_queue_set_backoff (fixture->queue, 20, 100);
  g_assert_true (spyglass_path_map_add_rule (map, fixture->music, "/data/music", &error));
  spyglass_queue_set_path_map (fixture->queue, g_steal_pointer (&map));
  g_assert_true (spyglass_queue_load (fixture->queue, NULL, &error));
  g_assert_no_error (error);
  spyglass_queue_start (fixture->queue);

  fixture->settled = g_ptr_array_new_with_free_func (g_free);
  fixture->paused = g_ptr_array_new_with_free_func (g_free);
  fixture->watcher = spyglass_watcher_new ();
  spyglass_watcher_set_settle_delay (fixture->watcher, 300);
  spyglass_watcher_set_poll_intervals (fixture->watcher, 100, 100);
  g_signal_connect (fixture->watcher, "folder-settled", G_CALLBACK (on_folder_settled), fixture);
  g_signal_connect (fixture->watcher, "root-paused", G_CALLBACK (on_root_paused), fixture);
  g_signal_connect (fixture->watcher, "root-resumed", G_CALLBACK (on_root_resumed), fixture);
  g_signal_connect (fixture->watcher, "watch-limit-reached", G_CALLBACK (on_watch_limit), fixture);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->watcher);
  g_clear_object (&fixture->queue);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);
  remove_tree (fixture->tmpdir);
  g_clear_pointer (&fixture->tmpdir, g_free);
  g_clear_pointer (&fixture->state_dir, g_free);
  g_clear_pointer (&fixture->music, g_free);
  g_clear_pointer (&fixture->settled, g_ptr_array_unref);
  g_clear_pointer (&fixture->paused, g_ptr_array_unref);
  g_clear_pointer (&fixture->limit_message, g_free);
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

/* Runs the main loop until *@flag is TRUE; fails after WAIT_TIMEOUT_MS. */
#define WAIT_UNTIL(condition)                                           \
  G_STMT_START {                                                        \
    gboolean expired_ = FALSE;                                          \
    guint timeout_ = g_timeout_add (WAIT_TIMEOUT_MS, on_timeout, &expired_); \
    while (!(condition) && !expired_)                                   \
      g_main_context_iteration (NULL, TRUE);                            \
    if (!expired_)                                                      \
      g_source_remove (timeout_);                                       \
    g_assert_true (condition);                                          \
  } G_STMT_END

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
wait_queue_idle (Fixture *fixture)
{
  gboolean done = FALSE;

  spyglass_queue_wait_idle_async (fixture->queue, NULL, on_idle, &done);
  WAIT_UNTIL (done);
}

static void
start_watching (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (spyglass_watcher_add_root (fixture->watcher, fixture->music, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (spyglass_watcher_get_ready (fixture->watcher));
}

static int
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The refresh requests Plex received, as sorted "KEY PATH" lines. */
static char *
refresh_log (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GString *log = g_string_new (NULL);

  for (guint i = 0; i < requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (requests, i);
      const char *path = fake_plex_request_get_param_string (request, "path");
      g_auto(GStrv) parts = NULL;

      if (!g_str_has_suffix (request->path, "/refresh"))
        continue;
      parts = g_strsplit (request->path, "/", -1);
      g_ptr_array_add (lines, g_strdup_printf ("%s %s\n", parts[3], path != NULL ? path : "*"));
    }

  g_ptr_array_sort (lines, compare_lines);
  for (guint i = 0; i < lines->len; i++)
    g_string_append (log, g_ptr_array_index (lines, i));
  return g_string_free (log, FALSE);
}

/* Waits for @n folders reported in all, lets the queue send them, then
 * checks that nothing more is reported for three settle delays. */
static void
wait_settled (Fixture *fixture,
              guint    n)
{
  guint delay = spyglass_watcher_get_settle_delay (fixture->watcher);

  WAIT_UNTIL (fixture->settled->len >= n);
  spin (3 * delay + 200);
  wait_queue_idle (fixture);
  g_assert_cmpuint (fixture->settled->len, ==, n);
}

static void
assert_refreshes (Fixture    *fixture,
                  const char *expected)
{
  g_autofree char *log = refresh_log (fixture);

  g_assert_cmpstr (log, ==, expected);
}

static void
test_ignored_names (void)
{
  const char *ignored[] = {
    ".hidden", ".nfs000000000012345600000001", "track.flac.part", "track.PART",
    "download.tmp", "notes.txt~", ".", "..", ".directory",
  };
  const char *kept[] = {
    "01 Song.flac", "cover.jpg", "partial.flac", "tmp", "Album~Live", "a.partition",
  };

  for (guint i = 0; i < G_N_ELEMENTS (ignored); i++)
    g_assert_true (spyglass_watcher_name_is_ignored (ignored[i]));
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    g_assert_false (spyglass_watcher_name_is_ignored (kept[i]));
}

/* An album copied in as a tree (folders, then files): one scan of it. */
static void
test_album_copied (Fixture       *fixture,
                   gconstpointer  data)
{
  make (fixture, "Air/");
  make_album (fixture, "Old Artist/Old Album");
  spyglass_watcher_set_settle_delay (fixture->watcher, 1000);
  start_watching (fixture);
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 6);

  make_album (fixture, "Air/Moon Safari");
  wait_settled (fixture, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->settled, 0), ==, "Air/Moon Safari");
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
  /* The new folders are watched too: a track added later is seen. */
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 9);

  make (fixture, "Air/Moon Safari/CD2/02 Bonus.flac");
  wait_settled (fixture, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->settled, 1), ==, "Air/Moon Safari/CD2");

  /* A whole artist moved in at once, as an importer does. */
  {
    g_autofree char *staging = g_build_filename (fixture->tmpdir, "Daft Punk", NULL);
    g_autofree char *album = g_build_filename (staging, "Discovery", NULL);
    g_autofree char *track = g_build_filename (album, "01 One More Time.flac", NULL);
    g_autofree char *target = music_path (fixture, "Daft Punk");

    g_assert_cmpint (g_mkdir_with_parents (album, 0755), ==, 0);
    write_file (track, "track");
    g_assert_cmpint (g_rename (staging, target), ==, 0);
  }
  wait_settled (fixture, 3);
  g_assert_cmpstr (g_ptr_array_index (fixture->settled, 2), ==, "Daft Punk");
  assert_refreshes (fixture,
                    "3 /data/music/Air/Moon Safari\n"
                    "3 /data/music/Air/Moon Safari/CD2\n"
                    "3 /data/music/Daft Punk\n");
  /* Moved in, then watched: Daft Punk and Discovery. */
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 11);
}

/* Tracks added one by one, each before the settle delay runs out, for
 * longer than the settle delay: one scan, after the last. */
static void
test_slow_copy (Fixture       *fixture,
                gconstpointer  data)
{
  make (fixture, "Air/Talkie Walkie/");
  spyglass_watcher_set_settle_delay (fixture->watcher, 1500);
  start_watching (fixture);

  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *track = g_strdup_printf ("Air/Talkie Walkie/%02u Track.flac", i);

      make (fixture, track);
      spin (250);
      g_assert_cmpuint (fixture->settled->len, ==, 0);
    }

  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air/Talkie Walkie\n");
}

/* Several albums of one artist: the artist.  Albums of two artists: each
 * album (their common folder is the library's). */
static void
test_artist (Fixture       *fixture,
             gconstpointer  data)
{
  make (fixture, "Air/");
  make (fixture, "Massive Attack/");
  make (fixture, "Portishead/Dummy/");
  spyglass_watcher_set_settle_delay (fixture->watcher, 1000);
  start_watching (fixture);

  make_album (fixture, "Air/Moon Safari");
  make_album (fixture, "Air/Talkie Walkie");
  make_album (fixture, "Air/10 000 Hz Legend");
  make_album (fixture, "Massive Attack/Mezzanine");
  make (fixture, "Portishead/Dummy/01 Mysterons.flac");
  wait_settled (fixture, 3);
  assert_refreshes (fixture,
                    "3 /data/music/Air\n"
                    "3 /data/music/Massive Attack/Mezzanine\n"
                    "3 /data/music/Portishead/Dummy\n");
}

/* A renamed album: its artist (the old name is gone, the new one new). */
static void
test_rename (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *old_path = music_path (fixture, "Air/Moon Safari");
  g_autofree char *new_path = music_path (fixture, "Air/Moon Safari (Deluxe)");
  g_autofree char *old_track = music_path (fixture, "Air/Talkie Walkie/01 Venus.flac");
  g_autofree char *new_track = music_path (fixture, "Air/Talkie Walkie/01 Vénus.flac");

  make_album (fixture, "Air/Moon Safari");
  make (fixture, "Air/Talkie Walkie/01 Venus.flac");
  start_watching (fixture);

  g_assert_cmpint (g_rename (old_path, new_path), ==, 0);
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air\n");

  /* A renamed track: its album. */
  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (g_rename (old_track, new_track), ==, 0);
  wait_settled (fixture, 2);
  assert_refreshes (fixture, "3 /data/music/Air/Talkie Walkie\n");
}

/* A deleted album: its artist.  A deleted track: its album. */
static void
test_delete (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *album = music_path (fixture, "Air/Moon Safari");
  g_autofree char *track = music_path (fixture, "Air/Premiers Symptômes/01 Modular.flac");

  make_album (fixture, "Air/Moon Safari");
  make (fixture, "Air/Premiers Symptômes/01 Modular.flac");
  make (fixture, "Air/Premiers Symptômes/02 Casanova 70.flac");
  start_watching (fixture);

  remove_tree (album);
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air\n");

  fake_plex_clear_requests (fixture->plex);
  g_assert_cmpint (g_unlink (track), ==, 0);
  wait_settled (fixture, 2);
  assert_refreshes (fixture, "3 /data/music/Air/Premiers Symptômes\n");
}

/* The root deleted (a share that went away), then back: nothing scanned
 * while it is missing nor when it comes back; then watched again. */
static void
test_root_removed (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *staging = g_build_filename (fixture->tmpdir, "music-again", NULL);
  guint delay;

  make_album (fixture, "Air/Moon Safari");
  make_album (fixture, "Portishead/Dummy");
  start_watching (fixture);
  delay = spyglass_watcher_get_settle_delay (fixture->watcher);

  remove_tree (fixture->music);
  WAIT_UNTIL (fixture->paused->len == 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->paused, 0), ==, fixture->music);
  g_assert_true (spyglass_watcher_get_root_paused (fixture->watcher, fixture->music));
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 0);
  spin (3 * delay + 200);
  g_assert_cmpuint (fixture->settled->len, ==, 0);

  /* The share is back, full: appearing is not a change. */
  {
    g_autofree char *track = g_build_filename (staging, "Air", "Moon Safari", "01 La femme d'argent.flac", NULL);
    g_autofree char *folder = g_path_get_dirname (track);

    g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
    write_file (track, "track");
    g_assert_cmpint (g_rename (staging, fixture->music), ==, 0);
  }
  WAIT_UNTIL (fixture->resumed == 1);
  WAIT_UNTIL (spyglass_watcher_get_ready (fixture->watcher));
  g_assert_false (spyglass_watcher_get_root_paused (fixture->watcher, fixture->music));
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 3);
  spin (3 * delay + 200);
  g_assert_cmpuint (fixture->settled->len, ==, 0);

  /* Watched again. */
  make (fixture, "Air/Moon Safari/02 Sexy Boy.flac");
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
}

/* The root renamed away with changes pending under it, then back. */
static void
test_root_moved (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *away = g_build_filename (fixture->tmpdir, "music-away", NULL);
  g_autofree char *moved_track = g_build_filename (away, "Air", "Moon Safari", "03 All I Need.flac", NULL);
  guint delay;

  make_album (fixture, "Air/Moon Safari");
  spyglass_watcher_set_settle_delay (fixture->watcher, 1000);
  start_watching (fixture);
  delay = spyglass_watcher_get_settle_delay (fixture->watcher);

  /* Pending when the root goes: dropped, never reported. */
  make (fixture, "Air/Moon Safari/02 Sexy Boy.flac");
  g_assert_cmpint (g_rename (fixture->music, away), ==, 0);
  WAIT_UNTIL (fixture->paused->len == 1);

  /* Changes where it went are not the root's. */
  write_file (moved_track, "track");
  spin (2 * delay + 200);
  g_assert_cmpuint (fixture->settled->len, ==, 0);

  g_assert_cmpint (g_rename (away, fixture->music), ==, 0);
  WAIT_UNTIL (fixture->resumed == 1);
  WAIT_UNTIL (spyglass_watcher_get_ready (fixture->watcher));
  spin (2 * delay + 200);
  g_assert_cmpuint (fixture->settled->len, ==, 0);
  assert_refreshes (fixture, "");

  make (fixture, "Air/Moon Safari/04 Kelly Watch the Stars.flac");
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
}

/* A root that is not there yet is waited for. */
static void
test_root_missing_at_start (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_rmdir (fixture->music), ==, 0);
  g_assert_true (spyglass_watcher_add_root (fixture->watcher, fixture->music, &error));
  g_assert_no_error (error);
  g_assert_true (spyglass_watcher_get_root_paused (fixture->watcher, fixture->music));
  g_assert_cmpuint (fixture->paused->len, ==, 1);

  make (fixture, "Air/");
  WAIT_UNTIL (fixture->resumed == 1);
  WAIT_UNTIL (spyglass_watcher_get_ready (fixture->watcher));
  make (fixture, "Air/Moon Safari/01 La femme d'argent.flac");
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
}

/* Past the watch limit (here: the root only), the folders below are
 * checked by their modification times, and a new album is still caught. */
static void
test_watch_limit (Fixture       *fixture,
                  gconstpointer  data)
{
  make_album (fixture, "Air/Moon Safari");
  make (fixture, "Portishead/");
  spyglass_watcher_set_max_watches (fixture->watcher, 1);
  spyglass_watcher_set_settle_delay (fixture->watcher, 1000);
  start_watching (fixture);

  WAIT_UNTIL (fixture->limit_message != NULL);
  g_assert_nonnull (strstr (fixture->limit_message, "fs.inotify.max_user_watches"));
  g_assert_nonnull (strstr (fixture->limit_message, "sysctl"));
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 1);
  g_assert_cmpuint (spyglass_watcher_get_n_polled (fixture->watcher), ==, 5);

  make_album (fixture, "Portishead/Dummy");
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Portishead/Dummy\n");
  g_assert_cmpuint (spyglass_watcher_get_n_polled (fixture->watcher), ==, 8);

  /* A track added to a polled album, a deleted album. */
  fake_plex_clear_requests (fixture->plex);
  make (fixture, "Air/Moon Safari/CD1/03 Talisman.flac");
  wait_settled (fixture, 2);
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari/CD1\n");

  fake_plex_clear_requests (fixture->plex);
  {
    g_autofree char *album = music_path (fixture, "Portishead/Dummy");
    remove_tree (album);
  }
  wait_settled (fixture, 3);
  assert_refreshes (fixture, "3 /data/music/Portishead\n");
  g_assert_cmpuint (spyglass_watcher_get_n_polled (fixture->watcher), ==, 5);
}

/* Temporary and partial files, dot-files and -folders, and Spyglass's
 * own state: nothing. */
static void
test_ignored (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *part = music_path (fixture, "Air/Moon Safari/01 Track.flac.part");
  g_autofree char *done = music_path (fixture, "Air/Moon Safari/01 Track.flac");
  g_autofree char *own = music_path (fixture, "spyglass-state");
  guint delay;

  make (fixture, "Air/Moon Safari/");
  make (fixture, "spyglass-state/");
  spyglass_watcher_add_ignored_path (fixture->watcher, own);
  start_watching (fixture);
  delay = spyglass_watcher_get_settle_delay (fixture->watcher);
  g_assert_cmpuint (spyglass_watcher_get_n_watched (fixture->watcher), ==, 3);

  make (fixture, "Air/Moon Safari/01 Track.flac.part");
  make (fixture, "Air/Moon Safari/download.tmp");
  make (fixture, "Air/Moon Safari/notes.txt~");
  make (fixture, "Air/Moon Safari/.nfs000000000012345600000001");
  make (fixture, "Air/.directory");
  make (fixture, ".hidden");
  make (fixture, ".staging/Album/01 Track.flac");
  make (fixture, "Air/Moon Safari/.cache/thumbnail.png");
  make (fixture, "spyglass-state/queue.json");
  make (fixture, "spyglass-state/history/history.jsonl");
  {
    g_autofree char *tmp = music_path (fixture, "Air/Moon Safari/download.tmp");
    g_assert_cmpint (g_unlink (tmp), ==, 0);
  }
  spin (3 * delay + 200);
  g_assert_cmpuint (fixture->settled->len, ==, 0);
  assert_refreshes (fixture, "");

  /* The partial file done: that is a change. */
  g_assert_cmpint (g_rename (part, done), ==, 0);
  wait_settled (fixture, 1);
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
}

static gboolean
file_contains (const char *path,
               const char *text)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, text) != NULL;
}

static gboolean
plex_received (Fixture    *fixture,
               const char *line)
{
  g_autofree char *log = refresh_log (fixture);

  return strstr (log, line) != NULL;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *exited = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  *exited = TRUE;
}

/* `spyglass watch`, the real binary without a session bus. */
static void
test_cli (Fixture       *fixture,
          gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out_path = g_build_filename (fixture->tmpdir, "stdout.txt", NULL);
  g_autofree char *map = g_strdup_printf ("%s=/data/music", fixture->music);
  g_autofree char *out = NULL;
  const char *bin = g_getenv ("SPYGLASS_BIN");
  const char *dirs[] = { "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
                         "XDG_STATE_HOME", "XDG_RUNTIME_DIR" };
  gboolean exited = FALSE;

  if (bin == NULL)
    {
      g_test_skip ("SPYGLASS_BIN is not set");
      return;
    }

  make (fixture, "Air/");
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->tmpdir, "home", dirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_subprocess_launcher_setenv (launcher, dirs[i], dir, TRUE);
    }
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  g_subprocess_launcher_setenv (launcher, "PLEX_URL", fake_plex_get_url (fixture->plex), TRUE);
  g_subprocess_launcher_setenv (launcher, "PLEX_TOKEN", fake_plex_get_token (fixture->plex), TRUE);
  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);

  process = g_subprocess_launcher_spawn (launcher, &error, bin, "watch", "--map", map,
                                         "--settle", "0.5", NULL);
  g_assert_no_error (error);

  WAIT_UNTIL (file_contains (out_path, "Watching"));

  make_album (fixture, "Air/Moon Safari");
  WAIT_UNTIL (plex_received (fixture, "3 /data/music/Air/Moon Safari\n"));

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, on_exited, &exited);
  WAIT_UNTIL (exited);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  g_assert_true (g_file_get_contents (out_path, &out, NULL, NULL));
  g_assert_nonnull (strstr (out, "Scanning “/data/music/Air/Moon Safari” in Music (section 3)"));
  assert_refreshes (fixture, "3 /data/music/Air/Moon Safari\n");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/watcher/ignored-names", test_ignored_names);
  ADD ("/watcher/album-copied", test_album_copied);
  ADD ("/watcher/slow-copy", test_slow_copy);
  ADD ("/watcher/artist", test_artist);
  ADD ("/watcher/rename", test_rename);
  ADD ("/watcher/delete", test_delete);
  ADD ("/watcher/root-removed", test_root_removed);
  ADD ("/watcher/root-moved", test_root_moved);
  ADD ("/watcher/root-missing-at-start", test_root_missing_at_start);
  ADD ("/watcher/watch-limit", test_watch_limit);
  ADD ("/watcher/ignored", test_ignored);
  ADD ("/watcher/cli", test_cli);

#undef ADD

  return g_test_run ();
}
