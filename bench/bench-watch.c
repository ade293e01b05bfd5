/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Watching a library of 50,000 folders: SpyglassWatcher against
 * `inotifywait -r` (inotify-tools) on the same generated tree, in the
 * same run.  For each, in a process of its own:
 *
 *   setup   wall time from spawning the process until every folder is
 *           watched (SpyglassWatcher "ready"; inotifywait's "Watches
 *           established."), its CPU time, and its peak memory (VmHWM);
 *   events  the CPU time the process spends absorbing 100,000 file events
 *           (50,000 files created in the album folders: IN_CREATE and
 *           IN_CLOSE_WRITE each) written by a separate generator process,
 *           up to the moment it has seen a last folder created after them.
 *
 * Rounds alternate which of the two goes first.  CPU times come from
 * /proc/PID/stat (clock ticks, 10 ms) for both.  See bench/README.md.
 *
 *   bench-watch [--folders N] [--events N] [--rounds R] [--dir PARENT]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spyglass-core.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

#define ALBUMS_PER_ARTIST 9

static int opt_folders = 50000;
static int opt_events = 100000;
static int opt_rounds = 3;
static char *opt_dir = NULL;
static char *opt_child = NULL;

static GOptionEntry entries[] = {
  { "folders", 0, 0, G_OPTION_ARG_INT, &opt_folders, "Folders in the tree (default 50000)", "N" },
  { "events", 0, 0, G_OPTION_ARG_INT, &opt_events, "File events to absorb (default 100000)", "N" },
  { "rounds", 0, 0, G_OPTION_ARG_INT, &opt_rounds, "Rounds of both (default 3)", "R" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Make the tree in a temporary folder in PARENT (default: $TMPDIR)", "PARENT" },
  { "child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_child, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

/* The child: a SpyglassWatcher on the tree.  Prints "ready" when it
 * watches everything, then "seen NAME" for each settled folder. */

static void
on_settled (SpyglassWatcher *watcher,
            const char      *path,
            gpointer         user_data)
{
  printf ("seen %s\n", path);
  fflush (stdout);
}

static int
run_child (const char *root)
{
  g_autoptr(SpyglassWatcher) watcher = spyglass_watcher_new ();
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  spyglass_watcher_set_settle_delay (watcher, 500);
  g_signal_connect (watcher, "folder-settled", G_CALLBACK (on_settled), NULL);
  if (!spyglass_watcher_add_root (watcher, root, &error))
    {
      g_printerr ("bench-watch: %s\n", error->message);
      return 1;
    }
  while (!spyglass_watcher_get_ready (watcher))
    g_main_context_iteration (NULL, TRUE);

  printf ("ready %.3f %u %u\n", (g_get_monotonic_time () - start) / 1e6,
          spyglass_watcher_get_n_watched (watcher), spyglass_watcher_get_n_polled (watcher));
  fflush (stdout);

  /* Until the parent kills it. */
  for (;;)
    g_main_context_iteration (NULL, TRUE);
  return 0;
}

/* The parent */

typedef struct
{
  double setup_wall;   /* s, spawn to ready */
  double setup_cpu;    /* s */
  double peak_setup;   /* MiB, VmHWM at ready */
  double events_cpu;   /* s */
  double events_wall;  /* s, first event written to the end seen */
  double peak_events;  /* MiB, VmHWM at the end */
} Result;

static double
proc_cpu (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return -1;
  /* After the ")" that ends the command name: state is field 3. */
  after = strrchr (contents, ')');
  fields = g_strsplit (after + 2, " ", -1);
  /* utime and stime are fields 14 and 15, so 11 and 12 from state. */
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         sysconf (_SC_CLK_TCK);
}

static double
proc_peak_mib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (line = strstr (contents, "VmHWM:")) == NULL)
    return -1;
  return g_ascii_strtod (line + 6, NULL) / 1024.0;
}

static void
make_dir (const char *path)
{
  if (g_mkdir (path, 0755) != 0 && errno != EEXIST)
    g_error ("mkdir %s: %s", path, g_strerror (errno));
}

static void
touch (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    g_error ("create %s: %s", path, g_strerror (errno));
  close (fd);
}

/* Artists of ALBUMS_PER_ARTIST albums, one file each, @folders folders
 * in all (the root not counted).  Returns the album folders. */
static GPtrArray *
make_tree (const char *root,
           int         folders)
{
  GPtrArray *albums = g_ptr_array_new_with_free_func (g_free);
  int made = 0;

  make_dir (root);
  for (int artist = 0; made < folders; artist++)
    {
      g_autofree char *artist_path = g_strdup_printf ("%s/Artist %05d", root, artist);

      make_dir (artist_path);
      made++;
      for (int album = 0; album < ALBUMS_PER_ARTIST && made < folders; album++)
        {
          char *album_path = g_strdup_printf ("%s/Album %d", artist_path, album);
          g_autofree char *track = g_strdup_printf ("%s/01 Track.flac", album_path);

          make_dir (album_path);
          touch (track);
          g_ptr_array_add (albums, album_path);
          made++;
        }
    }

  return albums;
}

/* In a process of its own: @events / 2 new files in the album folders,
 * round robin, then the folder @end_marker. */
static GPid
generate_events (GPtrArray  *albums,
                 int         events,
                 int         round,
                 const char *end_marker)
{
  pid_t pid = fork ();

  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid > 0)
    return pid;

  for (int i = 0; i < events / 2; i++)
    {
      char path[4096];
      int fd;

      snprintf (path, sizeof path, "%s/r%d-%06d.flac",
                (const char *) g_ptr_array_index (albums, i % albums->len), round, i);
      fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0)
        close (fd);
    }
  mkdir (end_marker, 0755);
  _exit (0);
}

/* Reads lines from @stream until one contains @text. */
static gboolean
read_until (FILE       *stream,
            const char *text,
            char       *line,
            gsize       size)
{
  while (fgets (line, size, stream) != NULL)
    if (strstr (line, text) != NULL)
      return TRUE;
  return FALSE;
}

static void
stop (GPid  pid,
      FILE *out)
{
  int status;

  kill (pid, SIGTERM);
  waitpid (pid, &status, 0);
  fclose (out);
  g_spawn_close_pid (pid);
}

/* One contestant: @argv spawned, "ready" when a line of its (@ready_on_stderr
 * ? stderr : stdout) holds @ready_text, the end when a stdout line holds
 * @end_text. */
static Result
measure (const char * const *argv,
         gboolean            ready_on_stderr,
         const char         *ready_text,
         GPtrArray          *albums,
         const char         *root,
         int                 round)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *marker = g_strdup_printf ("%s/zz-end-%d", root, round);
  Result result = { 0 };
  char line[8192];
  int out_fd, err_fd;
  FILE *out, *err;
  gint64 start;
  double cpu_before;
  GPid pid, generator;
  int status;

  start = g_get_monotonic_time ();
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &pid, NULL, &out_fd, &err_fd, &error))
    g_error ("%s: %s", argv[0], error->message);
  out = fdopen (out_fd, "r");
  err = fdopen (err_fd, "r");

  if (!read_until (ready_on_stderr ? err : out, ready_text, line, sizeof line))
    g_error ("%s did not get ready", argv[0]);
  result.setup_wall = (g_get_monotonic_time () - start) / 1e6;
  result.setup_cpu = proc_cpu (pid);
  result.peak_setup = proc_peak_mib (pid);
  fclose (err);

  cpu_before = proc_cpu (pid);
  start = g_get_monotonic_time ();
  generator = generate_events (albums, opt_events, round, marker);
  if (!read_until (out, "zz-end-", line, sizeof line))
    g_error ("%s did not see the end", argv[0]);
  result.events_wall = (g_get_monotonic_time () - start) / 1e6;
  result.events_cpu = proc_cpu (pid) - cpu_before;
  result.peak_events = proc_peak_mib (pid);
  waitpid (generator, &status, 0);

  stop (pid, out);
  return result;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *values,
        int     n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— watching 50,000 folders against inotifywait -r");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) albums = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *root = NULL;
  g_autofree char *self = NULL;
  g_autofree char *limit = NULL;
  g_autofree char *inotifywait = g_find_program_in_path ("inotifywait");
  g_autofree Result *ours = NULL;
  g_autofree Result *theirs = NULL;
  const char *names[] = { "SpyglassWatcher", "inotifywait -r" };
  gint64 start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-watch: %s\n", error->message);
      return 2;
    }
  if (opt_child != NULL)
    return run_child (opt_child);

  if (inotifywait == NULL)
    {
      g_printerr ("bench-watch: inotifywait not found: build-aux/install-deps.sh inotify-tools\n");
      return 1;
    }

  if (g_file_get_contents ("/proc/sys/fs/inotify/max_user_watches", &limit, NULL, NULL))
    g_strstrip (limit);
  printf ("fs.inotify.max_user_watches = %s (shared by every process of this user)\n",
          limit != NULL ? limit : "?");
  if (limit != NULL && g_ascii_strtoll (limit, NULL, 10) < opt_folders + 1000)
    printf ("  too low for %d folders: raise it as root, e.g. sysctl fs.inotify.max_user_watches=524288\n",
            opt_folders);

  tmp = opt_dir != NULL ? g_build_filename (opt_dir, "bench-watch-XXXXXX", NULL)
                        : g_build_filename (g_get_tmp_dir (), "bench-watch-XXXXXX", NULL);
  if (g_mkdtemp (tmp) == NULL)
    g_error ("mkdtemp: %s", g_strerror (errno));
  root = g_build_filename (tmp, "music", NULL);

  start = g_get_monotonic_time ();
  albums = make_tree (root, opt_folders);
  printf ("Tree: %d folders (%u albums with one file each) in %s, made in %.1f s\n",
          opt_folders, albums->len, root, (g_get_monotonic_time () - start) / 1e6);
  printf ("Build: %s; events: %d (%d files created); %d rounds\n\n",
          BENCH_BUILDTYPE, opt_events, opt_events / 2, opt_rounds);
  fflush (stdout);

  self = g_file_read_link ("/proc/self/exe", NULL);
  ours = g_new0 (Result, opt_rounds);
  theirs = g_new0 (Result, opt_rounds);

  for (int round = 0; round < opt_rounds; round++)
    for (int k = 0; k < 2; k++)
      {
        int which = (k + round) % 2;
        Result *result = which == 0 ? &ours[round] : &theirs[round];
        const char *watcher_argv[] = { self, "--child", root, NULL };
        const char *inotifywait_argv[] = {
          inotifywait, "-r", "-m",
          "-e", "create", "-e", "modify", "-e", "attrib", "-e", "close_write",
          "-e", "delete", "-e", "moved_from", "-e", "moved_to",
          "-e", "delete_self", "-e", "move_self",
          root, NULL
        };

        if (which == 0)
          *result = measure (watcher_argv, FALSE, "ready", albums, root, round * 2 + k);
        else
          *result = measure (inotifywait_argv, TRUE, "Watches established", albums, root,
                             round * 2 + k);

        printf ("round %d  %-16s setup %6.2f s wall %6.2f s CPU, peak %6.1f MiB | "
                "events %6.2f s CPU (%5.2f s wall), peak %6.1f MiB\n",
                round + 1, names[which], result->setup_wall, result->setup_cpu,
                result->peak_setup, result->events_cpu, result->events_wall,
                result->peak_events);
        fflush (stdout);
      }

  {
    double v[2][5][64];
    const char *what[] = { "setup wall (s)", "setup CPU (s)", "peak at setup (MiB)",
                           "events CPU (s)", "peak after events (MiB)" };
    double med[2][5];

    for (int which = 0; which < 2; which++)
      {
        Result *results = which == 0 ? ours : theirs;

        for (int r = 0; r < opt_rounds && r < 64; r++)
          {
            v[which][0][r] = results[r].setup_wall;
            v[which][1][r] = results[r].setup_cpu;
            v[which][2][r] = results[r].peak_setup;
            v[which][3][r] = results[r].events_cpu;
            v[which][4][r] = results[r].peak_events;
          }
        for (int m = 0; m < 5; m++)
          med[which][m] = median (v[which][m], MIN (opt_rounds, 64));
      }

    printf ("\nMedians of %d rounds:\n  %-26s %16s %16s %8s\n", opt_rounds, "",
            names[0], names[1], "ratio");
    for (int m = 0; m < 5; m++)
      printf ("  %-26s %16.2f %16.2f %7.2fx\n", what[m], med[0][m], med[1][m],
              med[1][m] > 0 ? med[0][m] / med[1][m] : 0);
    printf ("\nGoals: setup no slower (wall ratio <= 1: %s), peak memory within 1.5x (%s)\n",
            med[0][0] <= med[1][0] ? "met" : "missed",
            med[0][2] <= 1.5 * med[1][2] ? "met" : "missed");
  }

  /* The tree goes. */
  {
    const char *rm_argv[] = { "rm", "-rf", tmp, NULL };
    g_spawn_sync (NULL, (char **) rm_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }

  return 0;
}
