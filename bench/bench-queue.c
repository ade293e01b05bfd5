/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The scan queue under load, against the in-process fake Plex server (in a
 * thread of its own, on 127.0.0.1), with a temporary state directory:
 *
 *   burst    2,000 album folders under 300 artist folders submitted within
 *            one second: requests Plex received against the optimum the
 *            coalescing rules allow, and CPU time.
 *   bulk     100,000 submissions in two libraries, with the threshold off
 *            (0) and at its default (10): CPU time and peak memory from the
 *            first submission until the queue is idle, as ratios to a
 *            baseline that holds as many SpyglassRequest objects and sends
 *            the same requests to the same server without the queue.
 *   latency  the delay from the fake server's `ended` activity frame to
 *            the queue's "request-finished" signal, with a scan monitor on
 *            the notification WebSocket.
 *
 * Every scenario runs in a child process of its own (this program again,
 * with --child), so that each peak memory (ru_maxrss, which never goes
 * down) is its own.  See bench/README.md.
 *
 *   bench-queue [--only burst|bulk|latency] [--submissions N]
 *               [--per-folder K] [--samples N] [--timeout SECONDS]
 */
#define _GNU_SOURCE  /* RUSAGE_THREAD */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "fake-plex.h"
#include "spyglass-core.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

/* The fake server's default libraries (fake-plex.h), as the benchmark's
 * own routing table for the optimum: Location → section key. */
static const struct
{
  const char *location;
  const char *key;
} locations[] = {
  { "/data/movies", "1" },
  { "/data/tv", "2" },
  { "/data/music", "3" },
  { "/srv/more music", "3" },
  { "/data/music-hires", "4" },
};

/* Options, the same in the parent and in the children. */
static char *opt_only = NULL;
static char *opt_child = NULL;
static int opt_threshold = 10;
static int opt_spread_ms = 1000;
static gboolean opt_warm = FALSE;
static int opt_submissions = 100000;
static int opt_per_folder = 10;
static int opt_samples = 30;
static int opt_scan_duration = 100;
static int opt_timeout = 1200;
static int opt_deadline = 300;
static gboolean opt_scaling = FALSE;

static GOptionEntry entries[] = {
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "Run one part only: burst, bulk or latency", "PART" },
  { "submissions", 0, 0, G_OPTION_ARG_INT, &opt_submissions, "bulk: submissions (default 100000)", "N" },
  { "per-folder", 0, 0, G_OPTION_ARG_INT, &opt_per_folder, "bulk: submissions of each folder (default 10)", "K" },
  { "samples", 0, 0, G_OPTION_ARG_INT, &opt_samples, "latency: scans (default 30)", "N" },
  { "scan-duration", 0, 0, G_OPTION_ARG_INT, &opt_scan_duration, "latency: fake scan duration in ms (default 100)", "MS" },
  { "deadline", 0, 0, G_OPTION_ARG_INT, &opt_deadline, "bulk: stop a run that is not idle after this many seconds and report how far it got (default 300)", "SECONDS" },
  { "scaling", 0, 0, G_OPTION_ARG_NONE, &opt_scaling, "bulk: also time smaller runs, to see how the cost grows", NULL },
  { "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout, "Kill a scenario's process after this many seconds (default 1200)", "SECONDS" },
  { "child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_child, NULL, NULL },
  { "threshold", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_threshold, NULL, NULL },
  { "spread-ms", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_spread_ms, NULL, NULL },
  { "warm", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_warm, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

/* ------------------------------------------------------------------------
 * Measuring
 * ------------------------------------------------------------------------ */

typedef struct
{
  gint64 wall;         /* monotonic µs */
  gint64 cpu_process;  /* user + system µs, every thread */
  gint64 cpu_thread;   /* user + system µs, the calling (main) thread */
  long   maxrss;       /* KiB, the process's peak so far */
} Sample;

static gint64
rusage_cpu (const struct rusage *usage)
{
  return (gint64) usage->ru_utime.tv_sec * G_USEC_PER_SEC + usage->ru_utime.tv_usec +
         (gint64) usage->ru_stime.tv_sec * G_USEC_PER_SEC + usage->ru_stime.tv_usec;
}

static Sample
sample_now (void)
{
  struct rusage self_usage;
  struct rusage thread_usage;
  Sample sample;

  getrusage (RUSAGE_SELF, &self_usage);
  getrusage (RUSAGE_THREAD, &thread_usage);
  sample.wall = g_get_monotonic_time ();
  sample.cpu_process = rusage_cpu (&self_usage);
  sample.cpu_thread = rusage_cpu (&thread_usage);
  sample.maxrss = self_usage.ru_maxrss;
  return sample;
}

static gint64
thread_cpu_now (void)
{
  struct rusage usage;

  getrusage (RUSAGE_THREAD, &usage);
  return rusage_cpu (&usage);
}

/* A child reports "key=value" lines on stdout; the parent reads them. */
static void
report (const char *key,
        const char *format,
        ...) G_GNUC_PRINTF (2, 3);

static void
report (const char *key,
        const char *format,
        ...)
{
  g_autofree char *value = NULL;
  va_list args;

  va_start (args, format);
  value = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s=%s\n", key, value);
}

static void
report_span (const char *prefix,
             Sample     *start,
             Sample     *end)
{
  g_autofree char *wall = g_strconcat (prefix, "wall_ms", NULL);
  g_autofree char *cpu = g_strconcat (prefix, "cpu_ms", NULL);
  g_autofree char *main_cpu = g_strconcat (prefix, "main_cpu_ms", NULL);
  g_autofree char *rss = g_strconcat (prefix, "maxrss_kib", NULL);
  g_autofree char *rss_start = g_strconcat (prefix, "maxrss_start_kib", NULL);

  report (wall, "%.1f", (end->wall - start->wall) / 1000.0);
  report (cpu, "%.1f", (end->cpu_process - start->cpu_process) / 1000.0);
  report (main_cpu, "%.1f", (end->cpu_thread - start->cpu_thread) / 1000.0);
  report (rss, "%ld", end->maxrss);
  report (rss_start, "%ld", start->maxrss);
}

/* ------------------------------------------------------------------------
 * The fake server, in a thread of its own
 * ------------------------------------------------------------------------ */

typedef struct
{
  char *section_key;
  char *path;  /* NULL: the whole library */
} Received;

static void
received_free (gpointer data)
{
  Received *received = data;

  g_free (received->section_key);
  g_free (received->path);
  g_free (received);
}

typedef struct
{
  GThread      *thread;
  GMainContext *context;   /* the server thread's */
  FakePlex     *plex;      /* used in the server thread only */
  char         *url;
  char         *token;
  guint         scan_duration;
  GMutex        mutex;
  GCond         cond;
  gboolean      ready;
  int           quit;      /* atomic */

  /* Written in the server thread, under the mutex. */
  GPtrArray    *refreshes; /* Received */
  guint         section_lists;
  guint         websocket_upgrades;
  gint64        cpu;       /* the server thread's CPU µs, at its end */
} Server;

static void
on_request_received (FakePlex              *plex,
                     const FakePlexRequest *request,
                     gpointer               user_data)
{
  Server *server = user_data;

  g_mutex_lock (&server->mutex);
  if (g_str_has_suffix (request->path, "/refresh"))
    {
      Received *received = g_new0 (Received, 1);
      g_auto(GStrv) parts = g_strsplit (request->path, "/", -1);

      /* "/library/sections/KEY/refresh" */
      received->section_key = g_strdup (g_strv_length (parts) > 3 ? parts[3] : "?");
      received->path = g_strdup (fake_plex_request_get_param_string (request, "path"));
      g_ptr_array_add (server->refreshes, received);
    }
  else if (g_str_equal (request->path, "/library/sections"))
    server->section_lists++;
  else if (strstr (request->path, "websocket") != NULL)
    server->websocket_upgrades++;
  g_mutex_unlock (&server->mutex);
}

static gpointer
server_thread (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  server->plex = fake_plex_new ();
  fake_plex_set_scan_duration (server->plex, server->scan_duration);
  g_signal_connect (server->plex, "request-received", G_CALLBACK (on_request_received), server);
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

  g_mutex_lock (&server->mutex);
  server->cpu = thread_cpu_now ();
  g_mutex_unlock (&server->mutex);
  return NULL;
}

static Server *
server_start (guint scan_duration)
{
  Server *server = g_new0 (Server, 1);

  g_mutex_init (&server->mutex);
  g_cond_init (&server->cond);
  server->scan_duration = scan_duration;
  server->refreshes = g_ptr_array_new_with_free_func (received_free);
  server->thread = g_thread_new ("fake-plex", server_thread, server);

  g_mutex_lock (&server->mutex);
  while (!server->ready)
    g_cond_wait (&server->cond, &server->mutex);
  g_mutex_unlock (&server->mutex);

  return server;
}

/* Stops the server thread; what it recorded can be read without the lock
 * from then on. */
static void
server_stop (Server *server)
{
  g_atomic_int_set (&server->quit, TRUE);
  g_main_context_wakeup (server->context);
  g_thread_join (server->thread);
}

static void
server_free (Server *server)
{
  g_main_context_unref (server->context);
  g_ptr_array_unref (server->refreshes);
  g_free (server->url);
  g_free (server->token);
  g_mutex_clear (&server->mutex);
  g_cond_clear (&server->cond);
  g_free (server);
}

typedef struct
{
  Server *server;
  gint64  value;
  gboolean done;
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
server_get_last_ended_time (Server *server)
{
  EndedCall call = { server, 0, FALSE };

  g_main_context_invoke (server->context, read_last_ended, &call);
  g_mutex_lock (&server->mutex);
  while (!call.done)
    g_cond_wait (&server->cond, &server->mutex);
  g_mutex_unlock (&server->mutex);
  return call.value;
}

/* ------------------------------------------------------------------------
 * Workloads, and the optimum the rules allow
 * ------------------------------------------------------------------------ */

/* 2,000 album folders under 300 artist folders in /data/music, spread
 * unevenly (a few artists with many albums, most with one or two), in
 * the order an importer goes: artist by artist. */
static GPtrArray *
burst_folders (void)
{
  GPtrArray *folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (2000);
  guint albums[300];
  guint n_artists = G_N_ELEMENTS (albums);

  for (guint a = 0; a < n_artists; a++)
    albums[a] = 1;
  for (guint i = n_artists; i < 2000; i++)
    {
      double u = g_rand_double (rand);

      albums[(guint) (n_artists * u * u * u)]++;
    }

  for (guint a = 0; a < n_artists; a++)
    for (guint m = 0; m < albums[a]; m++)
      g_ptr_array_add (folders, g_strdup_printf ("/data/music/Artist %03u/Album %03u", a, m));

  return folders;
}

/* @n submissions of @n / @per_folder album folders (8 albums an artist),
 * three in four in "Music" (/data/music), one in four in "Music Hi-Res"
 * (/data/music-hires); each folder @per_folder times in a row, as a
 * watcher reports the tracks of an album. */
static GPtrArray *
bulk_folders (guint n,
              guint per_folder)
{
  GPtrArray *folders = g_ptr_array_new_full (n, g_free);
  guint distinct = MAX (1, n / per_folder);

  for (guint i = 0; i < n; i++)
    {
      guint album = MIN (i / per_folder, distinct - 1);

      g_ptr_array_add (folders,
                       g_strdup_printf ("%s/Artist %05u/Album %u",
                                        album % 4 == 3 ? "/data/music-hires" : "/data/music",
                                        album / 8, album % 8));
    }

  return folders;
}

/* The section of @path: the longest Location that contains it,
 * component-wise; @whole is set when @path is the Location itself. */
static const char *
route (const char *path,
       gboolean   *whole)
{
  const char *key = NULL;
  gsize best = 0;

  for (guint i = 0; i < G_N_ELEMENTS (locations); i++)
    {
      gsize len = strlen (locations[i].location);

      if (strncmp (path, locations[i].location, len) == 0 &&
          (path[len] == '\0' || path[len] == '/') && len > best)
        {
          key = locations[i].key;
          best = len;
          *whole = path[len] == '\0';
        }
    }

  return key;
}

/* TRUE when a proper ancestor of @path is in @set. */
static gboolean
has_ancestor_in (GHashTable *set,
                 const char *path)
{
  g_autofree char *copy = g_strdup (path);
  char *slash;

  while ((slash = strrchr (copy, '/')) != NULL && slash != copy)
    {
      *slash = '\0';
      if (g_hash_table_contains (set, copy))
        return TRUE;
    }

  return FALSE;
}

/* The requests the coalescing rules allow for @folders, computed here
 * from the rules rather than with spyglass_coalesce(): per library, the
 * distinct folders that lie under no other requested folder; a library
 * with more than @threshold of them (@threshold > 0), or whose Location
 * itself was asked for, gets one whole-library scan instead.  Returns an
 * array of Received (the targets), libraries in key order. */
static GPtrArray *
optimum (GPtrArray *folders,
         guint      threshold)
{
  g_autoptr(GHashTable) libraries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GHashTable) whole = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree gpointer *keys = NULL;
  GPtrArray *targets = g_ptr_array_new_with_free_func (received_free);
  guint n_keys;

  for (guint i = 0; i < folders->len; i++)
    {
      const char *path = g_ptr_array_index (folders, i);
      gboolean is_whole = FALSE;
      const char *key = route (path, &is_whole);
      GHashTable *set;

      g_assert (key != NULL);
      set = g_hash_table_lookup (libraries, key);
      if (set == NULL)
        {
          set = g_hash_table_new (g_str_hash, g_str_equal);
          g_hash_table_insert (libraries, (gpointer) key, set);
        }
      g_hash_table_add (set, (gpointer) path);
      if (is_whole)
        g_hash_table_add (whole, (gpointer) key);
    }

  keys = g_hash_table_get_keys_as_array (libraries, &n_keys);
  qsort (keys, n_keys, sizeof (gpointer), (GCompareFunc) g_strcmp0);
  for (guint k = 0; k < n_keys; k++)
    {
      GHashTable *set = g_hash_table_lookup (libraries, keys[k]);
      g_autoptr(GPtrArray) kept = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer path;

      g_hash_table_iter_init (&iter, set);
      while (g_hash_table_iter_next (&iter, &path, NULL))
        if (!has_ancestor_in (set, path))
          g_ptr_array_add (kept, path);

      if (g_hash_table_contains (whole, keys[k]) || (threshold > 0 && kept->len > threshold))
        {
          Received *target = g_new0 (Received, 1);

          target->section_key = g_strdup (keys[k]);
          g_ptr_array_add (targets, target);
          continue;
        }

      for (guint i = 0; i < kept->len; i++)
        {
          Received *target = g_new0 (Received, 1);

          target->section_key = g_strdup (keys[k]);
          target->path = g_strdup (g_ptr_array_index (kept, i));
          g_ptr_array_add (targets, target);
        }
    }

  return targets;
}

/* How many of @folders no request Plex received covers (its library
 * whole, the folder itself, or a folder above it). */
static guint
count_uncovered (GPtrArray *folders,
                 GPtrArray *received)
{
  g_autoptr(GHashTable) whole = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
  guint uncovered = 0;

  for (guint i = 0; i < received->len; i++)
    {
      Received *r = g_ptr_array_index (received, i);

      if (r->path == NULL)
        g_hash_table_add (whole, r->section_key);
      else
        g_hash_table_add (paths, r->path);
    }

  for (guint i = 0; i < folders->len; i++)
    {
      const char *path = g_ptr_array_index (folders, i);
      gboolean is_whole = FALSE;
      const char *key = route (path, &is_whole);

      if (!g_hash_table_contains (whole, key) &&
          !g_hash_table_contains (paths, path) &&
          !has_ancestor_in (paths, path))
        uncovered++;
    }

  return uncovered;
}

/* ------------------------------------------------------------------------
 * Running a queue
 * ------------------------------------------------------------------------ */

typedef struct
{
  Server          *server;
  SpyglassClient  *client;
  SpyglassQueue   *queue;
  char            *state_dir;
} Rig;

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
rig_init (Rig   *rig,
          guint  scan_duration)
{
  g_autoptr(GError) error = NULL;

  rig->server = server_start (scan_duration);
  rig->client = spyglass_client_new (rig->server->url, rig->server->token);
  rig->state_dir = g_dir_make_tmp ("spyglass-bench-XXXXXX", &error);
  if (rig->state_dir == NULL)
    g_error ("%s", error->message);
}

static void
rig_new_queue (Rig   *rig,
               guint  threshold)
{
  g_autoptr(GError) error = NULL;

  rig->queue = spyglass_queue_new (rig->client, rig->state_dir);
  spyglass_queue_set_threshold (rig->queue, threshold);
  if (!spyglass_queue_load (rig->queue, NULL, &error))
    g_error ("%s", error->message);
}

/* Stops the server too: its records can be read after this. */
static void
rig_clear (Rig *rig)
{
  g_clear_object (&rig->queue);
  g_clear_object (&rig->client);
  server_stop (rig->server);
  remove_tree (rig->state_dir);
  g_clear_pointer (&rig->state_dir, g_free);
}

static void
on_idle (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  if (!spyglass_queue_wait_idle_finish (SPYGLASS_QUEUE (source), result, NULL))
    g_error ("The queue was closed before it was idle");
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

/* Set when the queue is idle, or closed; shared with the callback, which
 * may come after wait_idle_until() gave up (when the queue goes). */
typedef struct
{
  gboolean done;
} IdleFlag;

static void
on_idle_flag (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  IdleFlag *flag = user_data;

  spyglass_queue_wait_idle_finish (SPYGLASS_QUEUE (source), result, NULL);
  flag->done = TRUE;
  g_rc_box_release (flag);
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* FALSE when the queue is still busy after @seconds. */
static gboolean
wait_idle_until (SpyglassQueue *queue,
                 guint          seconds)
{
  IdleFlag *flag = g_rc_box_new0 (IdleFlag);
  gboolean expired = FALSE;
  gboolean done;
  guint deadline;

  spyglass_queue_wait_idle_async (queue, NULL, on_idle_flag, g_rc_box_acquire (flag));
  deadline = g_timeout_add_seconds (seconds, on_deadline, &expired);
  while (!flag->done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);

  done = flag->done;
  g_rc_box_release (flag);
  return done;
}

typedef struct
{
  gint64 start;    /* monotonic µs of the first submission */
  guint  requests; /* requests in the batches so far */
  guint  batches;
} BatchLog;

static void
on_batch_sent (SpyglassQueue *queue,
               GPtrArray     *batch,
               BatchLog      *log)
{
  SpyglassRequest *first = g_ptr_array_index (batch, 0);
  const char *target = spyglass_request_get_target_path (first);
  g_autofree char *name = g_strdup_printf ("batch%u", ++log->batches);

  log->requests += batch->len;
  /* The first batches tell how a burst was cut up. */
  if (log->batches <= 10)
    report (name, "%.0f ms: section %s %s for %u requests",
            (g_get_monotonic_time () - log->start) / 1000.0,
            spyglass_request_get_section_key (first),
            target != NULL ? target : "(whole library)", batch->len);
}

/* ------------------------------------------------------------------------
 * 1. Burst
 * ------------------------------------------------------------------------ */

typedef struct
{
  SpyglassQueue *queue;
  GPtrArray     *folders;
  guint          next;
  gint64         start;
  guint          spread_ms;
  gint64         last;  /* monotonic µs of the last submission */
} Feeder;

/* Submits every folder whose time has come: folder i at
 * i × spread / n after the start. */
static gboolean
feed (gpointer user_data)
{
  Feeder *feeder = user_data;
  gint64 elapsed = g_get_monotonic_time () - feeder->start;

  while (feeder->next < feeder->folders->len &&
         (gint64) feeder->next * feeder->spread_ms * 1000 / feeder->folders->len <= elapsed)
    spyglass_queue_add_folder (feeder->queue, g_ptr_array_index (feeder->folders, feeder->next++),
                               NULL, FALSE);

  if (feeder->next < feeder->folders->len)
    return G_SOURCE_CONTINUE;

  feeder->last = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static int
child_burst (void)
{
  g_autoptr(GPtrArray) folders = burst_folders ();
  g_autoptr(GPtrArray) best = NULL;
  g_autoptr(GHashTable) artists = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  BatchLog log = { 0, };
  Feeder feeder = { 0, };
  Sample start;
  Sample end;
  Rig rig = { 0, };
  guint whole = 0;
  guint max_albums = 0;

  for (guint i = 0; i < folders->len; i++)
    {
      g_autofree char *artist = g_path_get_dirname (g_ptr_array_index (folders, i));
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (artists, artist)) + 1;

      max_albums = MAX (max_albums, n);
      g_hash_table_insert (artists, g_steal_pointer (&artist), GUINT_TO_POINTER (n));
    }

  rig_init (&rig, 500);
  rig_new_queue (&rig, (guint) opt_threshold);
  spyglass_queue_start (rig.queue);

  /* A queue that has run for a while knows the libraries already: the
   * burst then meets the batch window alone, without the first fetch. */
  if (opt_warm)
    {
      spyglass_queue_add_folder (rig.queue, "/data/movies/Warm-up", NULL, FALSE);
      wait_idle (rig.queue);
      g_mutex_lock (&rig.server->mutex);
      g_ptr_array_set_size (rig.server->refreshes, 0);
      rig.server->section_lists = 0;
      g_mutex_unlock (&rig.server->mutex);
    }
  g_signal_connect (rig.queue, "batch-sent", G_CALLBACK (on_batch_sent), &log);

  feeder.queue = rig.queue;
  feeder.folders = folders;
  feeder.spread_ms = (guint) opt_spread_ms;

  start = sample_now ();
  feeder.start = log.start = start.wall;
  if (feeder.spread_ms == 0)
    feed (&feeder);
  else
    {
      g_timeout_add (1, feed, &feeder);
      while (feeder.last == 0)
        g_main_context_iteration (NULL, TRUE);
    }
  wait_idle (rig.queue);
  end = sample_now ();

  rig_clear (&rig);

  best = optimum (folders, (guint) opt_threshold);
  for (guint i = 0; i < rig.server->refreshes->len; i++)
    if (((Received *) g_ptr_array_index (rig.server->refreshes, i))->path == NULL)
      whole++;

  report ("folders", "%u", folders->len);
  report ("artists", "%u", g_hash_table_size (artists));
  report ("max_albums_per_artist", "%u", max_albums);
  report ("last_submission_ms", "%.1f", (feeder.last - feeder.start) / 1000.0);
  report ("requests", "%u", rig.server->refreshes->len);
  report ("requests_whole", "%u", whole);
  report ("optimum", "%u", best->len);
  report ("section_lists", "%u", rig.server->section_lists);
  report ("uncovered", "%u", count_uncovered (folders, rig.server->refreshes));
  report ("batches", "%u", log.batches);
  report ("batched_requests", "%u", log.requests);
  report_span ("", &start, &end);
  report ("server_cpu_ms", "%.1f", rig.server->cpu / 1000.0);

  server_free (rig.server);
  return 0;
}

/* ------------------------------------------------------------------------
 * 2. Bulk
 * ------------------------------------------------------------------------ */

static int
child_bulk (void)
{
  g_autoptr(GPtrArray) folders = bulk_folders ((guint) opt_submissions, (guint) opt_per_folder);
  g_autoptr(GPtrArray) best = optimum (folders, (guint) opt_threshold);
  BatchLog log = { 0, };
  Sample start;
  Sample submitted;
  Sample end;
  Rig rig = { 0, };
  gboolean idle;
  guint left;

  rig_init (&rig, 500);
  rig_new_queue (&rig, (guint) opt_threshold);
  g_signal_connect (rig.queue, "batch-sent", G_CALLBACK (on_batch_sent), &log);
  spyglass_queue_start (rig.queue);

  start = sample_now ();
  log.start = start.wall;
  for (guint i = 0; i < folders->len; i++)
    spyglass_queue_add_folder (rig.queue, g_ptr_array_index (folders, i), NULL, FALSE);
  submitted = sample_now ();
  idle = wait_idle_until (rig.queue, (guint) opt_deadline);
  end = sample_now ();
  left = g_list_model_get_n_items (G_LIST_MODEL (rig.queue));

  rig_clear (&rig);

  report ("idle", "%s", idle ? "yes" : "no");
  report ("left", "%u", left);
  report ("submissions", "%u", folders->len);
  report ("optimum", "%u", best->len);
  report ("requests", "%u", rig.server->refreshes->len);
  report ("uncovered", "%u", count_uncovered (folders, rig.server->refreshes));
  report ("batches", "%u", log.batches);
  report_span ("", &start, &end);
  report_span ("submit_", &start, &submitted);
  report ("server_cpu_ms", "%.1f", rig.server->cpu / 1000.0);

  server_free (rig.server);
  return 0;
}

typedef struct
{
  GPtrArray *targets;  /* Received */
  guint      next;
  gboolean   done;
} Sender;

static void send_next (SpyglassClient *client,
                       Sender         *sender);

static void
on_baseline_sent (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!spyglass_client_scan_finish (SPYGLASS_CLIENT (source), result, &error))
    g_error ("baseline: %s", error->message);
  send_next (SPYGLASS_CLIENT (source), user_data);
}

static void
send_next (SpyglassClient *client,
           Sender         *sender)
{
  Received *target;

  if (sender->next == sender->targets->len)
    {
      sender->done = TRUE;
      return;
    }

  target = g_ptr_array_index (sender->targets, sender->next++);
  spyglass_client_scan_async (client, target->section_key, target->path, FALSE, NULL,
                              on_baseline_sent, sender);
}

static void
on_baseline_sections (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;

  sections = spyglass_client_list_sections_finish (SPYGLASS_CLIENT (source), result, &error);
  if (sections == NULL)
    g_error ("baseline: %s", error->message);
  send_next (SPYGLASS_CLIENT (source), user_data);
}

/* What the bulk run cannot do with less: hold as many SpyglassRequest
 * objects, and send the optimum's requests to the same server, one at a
 * time, with the same client (after listing the libraries once). */
static int
child_bulk_baseline (void)
{
  g_autoptr(GPtrArray) folders = bulk_folders ((guint) opt_submissions, (guint) opt_per_folder);
  g_autoptr(GPtrArray) best = optimum (folders, (guint) opt_threshold);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  Sender sender = { best, 0, FALSE };
  Sample start;
  Sample created;
  Sample sent;
  Sample end;
  Rig rig = { 0, };

  rig_init (&rig, 500);

  start = sample_now ();
  for (guint i = 0; i < folders->len; i++)
    g_ptr_array_add (requests, spyglass_request_new_folder (g_ptr_array_index (folders, i), NULL, FALSE));
  created = sample_now ();
  spyglass_client_list_sections_async (rig.client, NULL, on_baseline_sections, &sender);
  while (!sender.done)
    g_main_context_iteration (NULL, TRUE);
  sent = sample_now ();
  g_ptr_array_set_size (requests, 0);
  end = sample_now ();

  rig_clear (&rig);

  report ("submissions", "%u", folders->len);
  report ("requests", "%u", rig.server->refreshes->len);
  report_span ("", &start, &end);
  report_span ("objects_", &start, &created);
  report_span ("traffic_", &created, &sent);
  report ("server_cpu_ms", "%.1f", rig.server->cpu / 1000.0);

  server_free (rig.server);
  return 0;
}

/* ------------------------------------------------------------------------
 * 3. Latency
 * ------------------------------------------------------------------------ */

typedef struct
{
  gint64 sent;      /* batch-sent */
  gint64 monitor;   /* the monitor's scan-finished */
  gint64 finished;  /* the queue's request-finished */
} Times;

static void
on_latency_sent (SpyglassQueue *queue,
                 GPtrArray     *batch,
                 Times         *times)
{
  times->sent = g_get_monotonic_time ();
}

static void
on_monitor_finished (SpyglassScanMonitor *monitor,
                     const char          *section_key,
                     Times               *times)
{
  if (times->monitor == 0)
    times->monitor = g_get_monotonic_time ();
}

static void
on_request_finished (SpyglassQueue   *queue,
                     SpyglassRequest *request,
                     Times           *times)
{
  times->finished = g_get_monotonic_time ();
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The value below which @fraction of the sorted @values lie (nearest
 * rank). */
static double
percentile (GArray *values,
            double  fraction)
{
  guint rank = (guint) (fraction * values->len + 0.999999);

  rank = CLAMP (rank, 1, values->len);
  return g_array_index (values, double, rank - 1);
}

static int
child_latency (void)
{
  g_autoptr(SpyglassScanMonitor) monitor = NULL;
  g_autoptr(GArray) to_finished = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) to_monitor = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean expired = FALSE;
  guint deadline;
  Times times = { 0, };
  Rig rig = { 0, };
  guint bad = 0;

  rig_init (&rig, (guint) opt_scan_duration);
  monitor = spyglass_scan_monitor_new (rig.client);
  spyglass_scan_monitor_start (monitor);

  deadline = g_timeout_add_seconds (10, on_deadline, &expired);
  while (spyglass_scan_monitor_get_mode (monitor) != SPYGLASS_SCAN_MONITOR_WEBSOCKET && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (expired)
    g_error ("The scan monitor did not open the WebSocket");
  g_source_remove (deadline);

  rig_new_queue (&rig, 10);
  spyglass_queue_set_scan_monitor (rig.queue, monitor);
  g_signal_connect (rig.queue, "batch-sent", G_CALLBACK (on_latency_sent), &times);
  g_signal_connect (rig.queue, "request-finished", G_CALLBACK (on_request_finished), &times);
  g_signal_connect (monitor, "scan-finished", G_CALLBACK (on_monitor_finished), &times);
  spyglass_queue_start (rig.queue);

  for (guint i = 0; i < (guint) opt_samples; i++)
    {
      g_autofree char *folder = g_strdup_printf ("/data/music/Artist %03u/Album", i);
      gint64 ended;
      double ms;

      memset (&times, 0, sizeof times);
      spyglass_queue_add_folder (rig.queue, folder, NULL, FALSE);
      wait_idle (rig.queue);

      ended = server_get_last_ended_time (rig.server);
      /* That `ended` must be this scan's. */
      if (times.sent == 0 || ended < times.sent || times.finished < ended)
        {
          g_autofree char *key = g_strdup_printf ("bad%u", ++bad);

          report (key, "sent %" G_GINT64_FORMAT ", ended %+.2f ms, monitor %+.2f ms, finished %+.2f ms",
                  times.sent, (ended - times.sent) / 1000.0, (times.monitor - times.sent) / 1000.0,
                  (times.finished - times.sent) / 1000.0);
          continue;
        }

      ms = (times.finished - ended) / 1000.0;
      g_array_append_val (to_finished, ms);
      if (times.monitor >= ended)
        {
          ms = (times.monitor - ended) / 1000.0;
          g_array_append_val (to_monitor, ms);
        }
    }

  report ("mode", "%s", spyglass_scan_monitor_get_mode (monitor) == SPYGLASS_SCAN_MONITOR_WEBSOCKET
                          ? "websocket" : "not websocket");
  spyglass_scan_monitor_stop (monitor);
  rig_clear (&rig);

  g_array_sort (to_finished, compare_doubles);
  g_array_sort (to_monitor, compare_doubles);
  report ("samples", "%u", to_finished->len);
  report ("bad_samples", "%u", bad);
  report ("websocket_upgrades", "%u", rig.server->websocket_upgrades);
  report ("scan_duration_ms", "%d", opt_scan_duration);
  if (to_finished->len > 0)
    {
      report ("finished_median_ms", "%.2f", percentile (to_finished, 0.5));
      report ("finished_p90_ms", "%.2f", percentile (to_finished, 0.9));
      report ("finished_max_ms", "%.2f", percentile (to_finished, 1.0));
    }
  if (to_monitor->len > 0)
    {
      report ("monitor_median_ms", "%.2f", percentile (to_monitor, 0.5));
      report ("monitor_p90_ms", "%.2f", percentile (to_monitor, 0.9));
    }

  server_free (rig.server);
  return 0;
}

/* ------------------------------------------------------------------------
 * The parent: runs each scenario in a child and prints the figures
 * ------------------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  char      *out;
  gboolean   timed_out;
  GError    *error;
} ChildRun;

static void
on_child_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ChildRun *run = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, NULL,
                                        &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
on_child_timeout (gpointer user_data)
{
  ChildRun *run = user_data;

  run->timed_out = TRUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

/* Runs this program with --child @scenario and @args; returns its
 * "key=value" lines as a table, or NULL when it failed or timed out. */
static GHashTable *
run_child (const char  *scenario,
           const char  *first_arg,
           ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = NULL;
  g_auto(GStrv) lines = NULL;
  ChildRun run = { loop, NULL, FALSE, NULL };
  guint timeout;
  va_list args;

  g_ptr_array_add (argv, g_file_read_link ("/proc/self/exe", NULL));
  g_ptr_array_add (argv, g_strdup ("--child"));
  g_ptr_array_add (argv, g_strdup (scenario));
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  {
    g_autofree char *shown = g_strjoinv (" ", (char **) argv->pdata + 1);
    g_printerr ("running: %s\n", shown);
  }

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (process == NULL)
    g_error ("%s", error->message);

  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_child_done, &run);
  timeout = g_timeout_add_seconds ((guint) opt_timeout, on_child_timeout, &run);
  g_main_loop_run (loop);

  if (run.timed_out)
    {
      g_printerr ("  gave up after %d s\n", opt_timeout);
      g_subprocess_force_exit (process);
      g_subprocess_wait (process, NULL, NULL);
      /* The communicate callback still comes, and owns nothing of ours
       * but run. */
      g_main_loop_run (loop);
      g_clear_error (&run.error);
      g_free (run.out);
      return NULL;
    }
  g_source_remove (timeout);

  if (run.error != NULL || !g_subprocess_get_successful (process))
    {
      g_printerr ("  failed: %s\n", run.error != NULL ? run.error->message : "non-zero exit");
      g_clear_error (&run.error);
      g_free (run.out);
      return NULL;
    }

  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lines = g_strsplit (run.out != NULL ? run.out : "", "\n", -1);
  g_free (run.out);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq == NULL)
        continue;
      g_hash_table_insert (table, g_strndup (lines[i], eq - lines[i]), g_strdup (eq + 1));
    }

  return g_steal_pointer (&table);
}

static const char *
get (GHashTable *table,
     const char *key)
{
  const char *value = table != NULL ? g_hash_table_lookup (table, key) : NULL;

  return value != NULL ? value : "?";
}

static double
get_double (GHashTable *table,
            const char *key)
{
  return g_ascii_strtod (get (table, key), NULL);
}

static void
print_machine (void)
{
  g_autofree char *cpuinfo = NULL;
  g_autofree char *loadavg = NULL;
  const char *model = NULL;
  g_auto(GStrv) lines = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      lines = g_strsplit (cpuinfo, "\n", -1);
      for (guint i = 0; lines[i] != NULL && model == NULL; i++)
        if (g_str_has_prefix (lines[i], "model name"))
          model = strchr (lines[i], ':') != NULL ? strchr (lines[i], ':') + 2 : NULL;
    }
  g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
  if (loadavg != NULL)
    g_strstrip (loadavg);

  g_print ("machine: %u CPUs (%s), load average %s; build: %s\n",
           g_get_num_processors (), model != NULL ? model : "?",
           loadavg != NULL ? loadavg : "?", BENCH_BUILDTYPE);
}

static void
print_burst (const char *title,
             GHashTable *r)
{
  g_print ("\n%s\n", title);
  if (r == NULL)
    {
      g_print ("  did not finish\n");
      return;
    }
  g_print ("  %s folders under %s artist folders (up to %s albums each), last submitted at %s ms\n",
           get (r, "folders"), get (r, "artists"), get (r, "max_albums_per_artist"),
           get (r, "last_submission_ms"));
  g_print ("  refresh requests received: %s (%s whole-library); optimum: %s; folders not covered: %s\n",
           get (r, "requests"), get (r, "requests_whole"), get (r, "optimum"), get (r, "uncovered"));
  g_print ("  wall %s ms; CPU %s ms (queue and client thread %s ms, fake server thread %s ms); peak RSS %s KiB\n",
           get (r, "wall_ms"), get (r, "cpu_ms"), get (r, "main_cpu_ms"), get (r, "server_cpu_ms"),
           get (r, "maxrss_kib"));
  for (guint i = 1; i <= 10; i++)
    {
      g_autofree char *key = g_strdup_printf ("batch%u", i);

      if (g_hash_table_contains (r, key))
        g_print ("    batch %u at %s\n", i, get (r, key));
    }
}

static void
print_bulk (const char *name,
            GHashTable *r,
            GHashTable *b)
{
  double cpu = get_double (r, "cpu_ms");
  double base_cpu = get_double (b, "cpu_ms");
  double main_cpu = get_double (r, "main_cpu_ms");
  double base_main_cpu = get_double (b, "main_cpu_ms");
  double growth = get_double (r, "maxrss_kib") - get_double (r, "maxrss_start_kib");
  double base_growth = get_double (b, "maxrss_kib") - get_double (b, "maxrss_start_kib");

  g_print ("\n  %s\n", name);
  if (r == NULL || b == NULL)
    {
      g_print ("    did not finish\n");
      return;
    }

  if (!g_str_equal (get (r, "idle"), "yes"))
    {
      g_print ("    NOT IDLE after %.0f s: %s requests sent of the optimum %s, %s submissions still queued\n"
               "    CPU so far %.0f ms (%.1f ms a request sent); peak RSS %s KiB\n",
               get_double (r, "wall_ms") / 1000, get (r, "requests"), get (r, "optimum"),
               get (r, "left"), cpu, cpu / MAX (1, get_double (r, "requests")), get (r, "maxrss_kib"));
      g_print ("    baseline (the same %s requests without the queue): CPU %.0f ms, peak RSS %s KiB\n",
               get (b, "requests"), base_cpu, get (b, "maxrss_kib"));
      return;
    }

  g_print ("    requests %s (optimum %s), folders not covered %s; wall %.0f ms\n",
           get (r, "requests"), get (r, "optimum"), get (r, "uncovered"), get_double (r, "wall_ms"));
  g_print ("    CPU %.0f ms, baseline %.0f ms: %.1fx  (main thread %.0f ms, baseline %.0f ms: %.1fx)\n",
           cpu, base_cpu, cpu / MAX (1, base_cpu),
           main_cpu, base_main_cpu, main_cpu / MAX (1, base_main_cpu));
  g_print ("    peak RSS %s KiB, baseline %s KiB: %.2fx;  growth %.0f KiB, baseline %.0f KiB: %.1fx\n",
           get (r, "maxrss_kib"), get (b, "maxrss_kib"),
           get_double (r, "maxrss_kib") / MAX (1, get_double (b, "maxrss_kib")),
           growth, base_growth, growth / MAX (1, base_growth));
  g_print ("    of which submitting: %s ms CPU; baseline: creating the objects %s ms, sending %s requests %s ms CPU\n",
           get (r, "submit_main_cpu_ms"), get (b, "objects_main_cpu_ms"), get (b, "requests"),
           get (b, "traffic_cpu_ms"));
}

/* How the cost grows with the number of submissions. */
static void
print_scaling (const char *threshold,
               const int  *sizes,
               guint       n_sizes)
{
  g_autofree char *per_folder = g_strdup_printf ("--per-folder=%d", opt_per_folder);
  double previous = 0;

  g_print ("\n  scaling, %s:\n", threshold);
  for (guint i = 0; i < n_sizes; i++)
    {
      g_autofree char *submissions = g_strdup_printf ("--submissions=%d", sizes[i]);
      g_autoptr(GHashTable) r = run_child ("bulk", threshold, submissions, per_folder, NULL);
      double cpu = get_double (r, "cpu_ms");

      if (r == NULL || !g_str_equal (get (r, "idle"), "yes"))
        {
          g_print ("    %7d submissions: not idle in time\n", sizes[i]);
          break;
        }
      g_print ("    %7d submissions, %5s requests: CPU %8.0f ms", sizes[i], get (r, "requests"), cpu);
      if (previous > 0)
        g_print ("  (%.1fx the previous for %.1fx the submissions)",
                 cpu / previous, (double) sizes[i] / sizes[i - 1]);
      g_print ("\n");
      previous = cpu;
    }
}

static int
run_parent (void)
{
  g_autofree char *submissions = g_strdup_printf ("--submissions=%d", opt_submissions);
  g_autofree char *per_folder = g_strdup_printf ("--per-folder=%d", opt_per_folder);
  g_autofree char *samples = g_strdup_printf ("--samples=%d", opt_samples);
  g_autofree char *scan_duration = g_strdup_printf ("--scan-duration=%d", opt_scan_duration);
  g_autofree char *deadline = g_strdup_printf ("--deadline=%d", opt_deadline);
  gboolean all = opt_only == NULL;

  print_machine ();

  if (all || g_str_equal (opt_only, "burst"))
    {
      g_autoptr(GHashTable) spread = run_child ("burst", "--threshold=10", "--spread-ms=1000", NULL);
      g_autoptr(GHashTable) warm = run_child ("burst", "--threshold=10", "--spread-ms=1000", "--warm", NULL);
      g_autoptr(GHashTable) at_once = run_child ("burst", "--threshold=10", "--spread-ms=0", NULL);
      g_autoptr(GHashTable) no_threshold = run_child ("burst", "--threshold=0", "--spread-ms=1000", NULL);

      print_burst ("1. Burst: spread over 1 s, batch window 500 ms, threshold 10, a new queue", spread);
      print_burst ("   the same, a queue that knows the libraries already (warm)", warm);
      print_burst ("   the same (new queue), all submitted at once", at_once);
      print_burst ("   spread over 1 s, threshold 0 (off), a new queue", no_threshold);
    }

  if (all || g_str_equal (opt_only, "bulk"))
    {
      g_print ("\n2. Bulk: %d submissions, each folder %d times in a row, in two libraries, all at once\n",
               opt_submissions, opt_per_folder);
      for (int t = 0; t < 2; t++)
        {
          const char *threshold = t == 0 ? "--threshold=10" : "--threshold=0";
          g_autoptr(GHashTable) base = run_child ("bulk-baseline", threshold, submissions, per_folder, NULL);
          g_autoptr(GHashTable) run = run_child ("bulk", threshold, submissions, per_folder, deadline, NULL);

          print_bulk (t == 0 ? "threshold 10" : "threshold 0 (off)", run, base);
        }

      if (opt_scaling)
        {
          const int sizes_10[] = { 12500, 25000, 50000, 100000 };
          const int sizes_0[] = { 2500, 5000, 10000 };

          print_scaling ("--threshold=10", sizes_10, G_N_ELEMENTS (sizes_10));
          print_scaling ("--threshold=0", sizes_0, G_N_ELEMENTS (sizes_0));
        }
    }

  if (all || g_str_equal (opt_only, "latency"))
    {
      g_autoptr(GHashTable) r = run_child ("latency", samples, scan_duration, NULL);

      g_print ("\n3. Latency, `ended` frame -> request-finished, WebSocket\n");
      if (r == NULL)
        g_print ("  did not finish\n");
      else
        g_print ("  %s scans of %s ms (%s discarded), mode %s: median %s ms, p90 %s ms, max %s ms;\n"
                 "  `ended` -> the monitor's scan-finished: median %s ms, p90 %s ms\n",
                 get (r, "samples"), get (r, "scan_duration_ms"), get (r, "bad_samples"),
                 get (r, "mode"), get (r, "finished_median_ms"), get (r, "finished_p90_ms"),
                 get (r, "finished_max_ms"), get (r, "monitor_median_ms"), get (r, "monitor_p90_ms"));
    }

  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- the scan queue under load");
  g_autoptr(GError) error = NULL;

  /* No settings, proxies or GVfs daemons: only the fake server on
   * loopback, as in the tests. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GIO_USE_VFS", "local", TRUE);

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_submissions < 1 || opt_per_folder < 1 || opt_samples < 1 ||
      opt_scan_duration < 1 || opt_timeout < 1 || opt_deadline < 1 ||
      opt_threshold < 0 || opt_spread_ms < 0)
    {
      g_printerr ("Every number must be positive\n");
      return 2;
    }

  if (opt_child == NULL)
    return run_parent ();
  if (g_str_equal (opt_child, "burst"))
    return child_burst ();
  if (g_str_equal (opt_child, "bulk"))
    return child_bulk ();
  if (g_str_equal (opt_child, "bulk-baseline"))
    return child_bulk_baseline ();
  if (g_str_equal (opt_child, "latency"))
    return child_latency ();

  g_printerr ("Unknown scenario %s\n", opt_child);
  return 2;
}
