/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "ui-harness.h"

/* How long xdotool may take for a drag (it sleeps on purpose) or a query. */
#define XDOTOOL_TIMEOUT_MS (30 * 1000)

struct _UiProcess
{
  GSubprocess      *subprocess;
  GDataInputStream *out;
  GCancellable     *cancellable;  /* cancels the pending read on free */
  GQueue            lines;        /* element-type char*, read but not yet taken */
  GError           *read_error;   /* how reading ended, once it did */
  gboolean          eof;
};

static gboolean
ui_required (void)
{
  return g_strcmp0 (g_getenv ("SPYGLASS_UI_REQUIRED"), "1") == 0;
}

/* Skips the test, or fails it when the UI tests are required. */
static gboolean
missing (const char *what)
{
  if (ui_required ())
    {
      g_autofree char *message = g_strdup_printf ("%s, and SPYGLASS_UI_REQUIRED=1: run the "
                                                  "tests through build-aux/test-session.sh",
                                                  what);

      g_test_fail_printf ("%s", message);
      return FALSE;
    }
  g_test_skip (what);
  return FALSE;
}

gboolean
ui_harness_require_session_bus (void)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");

  if (address == NULL || address[0] == '\0')
    return missing ("No session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
  return TRUE;
}

gboolean
ui_harness_require_display (void)
{
  const char *display = g_getenv ("DISPLAY");
  g_autofree char *xdotool = NULL;

  if (display == NULL || display[0] == '\0')
    return missing ("No X display (DISPLAY is not set)");
  xdotool = g_find_program_in_path ("xdotool");
  if (xdotool == NULL)
    return missing ("xdotool is not installed");
  return ui_harness_require_session_bus ();
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_poll (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
ui_harness_wait_until (gboolean (*condition) (gpointer user_data),
                       gpointer   user_data,
                       guint      timeout_ms)
{
  g_autoptr(GSource) timeout = g_timeout_source_new (timeout_ms);
  g_autoptr(GSource) poll = g_timeout_source_new (20);
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean timed_out = FALSE;
  gboolean done;

  g_source_set_callback (timeout, on_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);
  /* Some conditions change with no event in this context: a child reaped
   * by GLib's worker thread. Look again every 20 ms. */
  g_source_set_callback (poll, on_poll, NULL, NULL);
  g_source_attach (poll, context);
  while (!(done = condition (user_data)) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (poll);
  g_source_destroy (timeout);
  return done;
}

static gboolean
never (gpointer user_data)
{
  return FALSE;
}

void
ui_harness_spin (guint ms)
{
  ui_harness_wait_until (never, NULL, ms);
}

/* In the child, before exec: die with the test, however it ends. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void read_next_line (UiProcess *process);

static void
on_line_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  UiProcess *process;
  char *line;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  /* Cancelled: @user_data was freed, touch nothing. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  process = user_data;
  if (line == NULL)
    {
      process->eof = TRUE;
      process->read_error = g_steal_pointer (&error);
      return;
    }
  g_debug ("ui-harness: pid %d said “%s”", ui_process_get_pid (process), line);
  g_queue_push_tail (&process->lines, line);
  read_next_line (process);
}

static void
read_next_line (UiProcess *process)
{
  g_data_input_stream_read_line_async (process->out, G_PRIORITY_DEFAULT, process->cancellable,
                                       on_line_read, process);
}

UiProcess *
ui_process_spawn (const char * const  *argv,
                  const char * const  *envp,
                  GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  UiProcess *process;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  if (envp != NULL)
    g_subprocess_launcher_set_environ (launcher, (char **) envp);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (subprocess == NULL)
    return NULL;

  g_debug ("ui-harness: started %s (pid %s)", argv[0], g_subprocess_get_identifier (subprocess));
  process = g_new0 (UiProcess, 1);
  process->subprocess = g_steal_pointer (&subprocess);
  process->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process->subprocess));
  process->cancellable = g_cancellable_new ();
  g_queue_init (&process->lines);
  read_next_line (process);
  return process;
}

GPid
ui_process_get_pid (UiProcess *process)
{
  const char *identifier;

  g_return_val_if_fail (process != NULL, 0);

  identifier = g_subprocess_get_identifier (process->subprocess);
  return identifier != NULL ? (GPid) atoi (identifier) : 0;
}

gboolean
ui_process_is_running (UiProcess *process)
{
  g_return_val_if_fail (process != NULL, FALSE);

  /* GSubprocess forgets the pid once the child is reaped, which happens
   * in GLib's worker thread whatever the main context does. */
  return g_subprocess_get_identifier (process->subprocess) != NULL;
}

static gboolean
has_line_or_eof (gpointer user_data)
{
  UiProcess *process = user_data;

  return !g_queue_is_empty (&process->lines) || process->eof;
}

char *
ui_process_read_line (UiProcess  *process,
                      guint       timeout_ms,
                      GError    **error)
{
  g_return_val_if_fail (process != NULL, NULL);

  ui_harness_wait_until (has_line_or_eof, process, timeout_ms);
  if (!g_queue_is_empty (&process->lines))
    return g_queue_pop_head (&process->lines);

  if (process->eof)
    {
      if (process->read_error != NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                     "Could not read the output of pid %d: %s",
                     ui_process_get_pid (process), process->read_error->message);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                     "The program ended its output (it exited or closed stdout)");
      return NULL;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "No line from pid %d in %u ms", ui_process_get_pid (process), timeout_ms);
  return NULL;
}

gboolean
ui_process_wait_for_line (UiProcess   *process,
                          const char  *line,
                          guint        timeout_ms,
                          GError     **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  g_return_val_if_fail (process != NULL, FALSE);
  g_return_val_if_fail (line != NULL, FALSE);

  for (;;)
    {
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      g_autofree char *read = NULL;

      read = ui_process_read_line (process, MAX (left_ms, 0), error);
      if (read == NULL)
        return FALSE;
      if (g_str_equal (read, line))
        return TRUE;
      g_debug ("ui-harness: skipped line “%s” waiting for “%s”", read, line);
    }
}

static gboolean
has_exited (gpointer user_data)
{
  return !ui_process_is_running (user_data);
}

void
ui_process_stop (UiProcess *process)
{
  g_return_if_fail (process != NULL);

  if (!ui_process_is_running (process))
    return;
  g_debug ("ui-harness: stopping pid %d", ui_process_get_pid (process));
  g_subprocess_send_signal (process->subprocess, SIGTERM);
  if (!ui_harness_wait_until (has_exited, process, 5000))
    {
      g_debug ("ui-harness: pid %d did not exit on SIGTERM, killing it", ui_process_get_pid (process));
      g_subprocess_force_exit (process->subprocess);
      /* Reaped by GLib's worker thread; SIGKILL cannot be ignored. */
      g_subprocess_wait (process->subprocess, NULL, NULL);
    }
}

void
ui_process_free (UiProcess *process)
{
  if (process == NULL)
    return;

  ui_process_stop (process);
  g_cancellable_cancel (process->cancellable);
  g_queue_clear_full (&process->lines, g_free);
  g_clear_error (&process->read_error);
  g_clear_object (&process->out);
  g_clear_object (&process->cancellable);
  g_clear_object (&process->subprocess);
  g_free (process);
}

typedef struct
{
  GAsyncResult *result;
  UiProcess    *watch;  /* nullable: stop waiting when it exits */
} XdotoolWait;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  XdotoolWait *wait = user_data;

  wait->result = g_object_ref (result);
}

static gboolean
xdotool_done_or_watch_exited (gpointer user_data)
{
  XdotoolWait *wait = user_data;

  return wait->result != NULL || (wait->watch != NULL && !ui_process_is_running (wait->watch));
}

static gboolean
xdotool_done (gpointer user_data)
{
  XdotoolWait *wait = user_data;

  return wait->result != NULL;
}

static char *
run_xdotool (const char * const  *args,
             UiProcess           *watch,
             guint                timeout_ms,
             GError             **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *command = NULL;
  XdotoolWait wait = { NULL, watch };
  gboolean watch_exited;

  g_ptr_array_add (argv, (gpointer) "xdotool");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  command = g_strjoinv (" ", (char **) argv->pdata);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (subprocess == NULL)
    return NULL;

  g_subprocess_communicate_utf8_async (subprocess, NULL, NULL, on_communicated, &wait);
  ui_harness_wait_until (xdotool_done_or_watch_exited, &wait, timeout_ms);
  watch_exited = wait.result == NULL && watch != NULL && !ui_process_is_running (watch);
  if (wait.result == NULL)
    {
      /* Killed, its pipe closes and the communication ends: wait for that,
       * since it writes into this frame. */
      g_subprocess_force_exit (subprocess);
      ui_harness_wait_until (xdotool_done, &wait, G_MAXUINT);
      g_clear_object (&wait.result);
      if (watch_exited)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "The program exited while “%s” waited for it", command);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                     "“%s” did not finish in %u ms", command, timeout_ms);
      return NULL;
    }

  if (!g_subprocess_communicate_utf8_finish (subprocess, wait.result, &out, NULL, &local_error))
    {
      g_clear_object (&wait.result);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_clear_object (&wait.result);

  if (!g_subprocess_get_successful (subprocess))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "“%s” failed (wait status %d)", command, g_subprocess_get_status (subprocess));
      return NULL;
    }
  return g_steal_pointer (&out);
}

char *
ui_harness_xdotool (const char * const  *args,
                    guint                timeout_ms,
                    GError             **error)
{
  g_return_val_if_fail (args != NULL, NULL);

  return run_xdotool (args, NULL, timeout_ms, error);
}

char *
ui_harness_wait_for_window (UiProcess   *process,
                            const char  *name_regex,
                            guint        timeout_ms,
                            GError     **error)
{
  g_autofree char *pid = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) ids = NULL;
  /* The pattern last: xdotool takes it as the end of the options. */
  const char *args[] = {
    "search", "--sync", "--onlyvisible", "--all", "--name",
    NULL, NULL, NULL, NULL,
  };

  g_return_val_if_fail (name_regex != NULL, NULL);

  if (process != NULL)
    {
      pid = g_strdup_printf ("%d", ui_process_get_pid (process));
      args[5] = "--pid";
      args[6] = pid;
      args[7] = name_regex;
      if (!ui_process_is_running (process))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "The program exited before showing a window “%s”", name_regex);
          return NULL;
        }
    }
  else
    {
      args[5] = name_regex;
    }

  out = run_xdotool (args, process, timeout_ms, error);
  if (out == NULL)
    return NULL;

  g_debug ("ui-harness: window “%s”: %s", name_regex, out);
  ids = g_strsplit (g_strstrip (out), "\n", -1);
  if (ids[0] == NULL || ids[0][0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No window “%s”", name_regex);
      return NULL;
    }
  if (g_strv_length (ids) > 1)
    g_debug ("ui-harness: %u windows “%s”, taking the first", g_strv_length (ids), name_regex);
  return g_strdup (ids[0]);
}

gboolean
ui_harness_get_window_geometry (const char  *window_id,
                                int         *x,
                                int         *y,
                                int         *width,
                                int         *height,
                                GError     **error)
{
  const char *args[] = { "getwindowgeometry", "--shell", window_id, NULL };
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  int values[4] = { -1, -1, -1, -1 };
  const char *keys[4] = { "X=", "Y=", "WIDTH=", "HEIGHT=" };

  g_return_val_if_fail (window_id != NULL, FALSE);

  out = run_xdotool (args, NULL, XDOTOOL_TIMEOUT_MS, error);
  if (out == NULL)
    return FALSE;

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
      if (g_str_has_prefix (lines[i], keys[k]))
        values[k] = atoi (lines[i] + strlen (keys[k]));

  if (values[2] <= 0 || values[3] <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Unexpected output from xdotool getwindowgeometry: %s", out);
      return FALSE;
    }

  if (x != NULL)
    *x = values[0];
  if (y != NULL)
    *y = values[1];
  if (width != NULL)
    *width = values[2];
  if (height != NULL)
    *height = values[3];
  return TRUE;
}

/* Appends "mousemove X Y sleep SECONDS" to @args (element-type char*, owned). */
static void
add_move (GPtrArray  *args,
          int         x,
          int         y,
          const char *sleep_seconds)
{
  g_ptr_array_add (args, g_strdup ("mousemove"));
  g_ptr_array_add (args, g_strdup_printf ("%d", x));
  g_ptr_array_add (args, g_strdup_printf ("%d", y));
  g_ptr_array_add (args, g_strdup ("sleep"));
  g_ptr_array_add (args, g_strdup (sleep_seconds));
}

gboolean
ui_harness_drag (int      from_x,
                 int      from_y,
                 int      to_x,
                 int      to_y,
                 GError **error)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  const int n_steps = 20;

  /* One xdotool run, its own sleeps between the steps: the timing does not
   * depend on how fast this process spawns programs. Sleeps are generous
   * (1.5 s in all): the X server, the source and the target all need to
   * answer at each step of the XDND exchange. */
  add_move (args, from_x, from_y, "0.2");
  g_ptr_array_add (args, g_strdup ("mousedown"));
  g_ptr_array_add (args, g_strdup ("1"));
  g_ptr_array_add (args, g_strdup ("sleep"));
  g_ptr_array_add (args, g_strdup ("0.2"));
  /* Past GTK's drag threshold (8 px by default) in small steps, inside the
   * source, so it sees motion while the button is down and starts the drag. */
  for (int i = 1; i <= 4; i++)
    add_move (args, from_x + 4 * i, from_y + 4 * i, "0.05");
  /* Across to the target: the drag is under way, each step is an XdndPosition. */
  for (int i = 1; i <= n_steps; i++)
    add_move (args,
              from_x + 16 + (to_x - from_x - 16) * i / n_steps,
              from_y + 16 + (to_y - from_y - 16) * i / n_steps,
              "0.03");
  /* Hover over the target, moving a little: the target must have answered
   * XdndStatus (accepting) before the release, or the drop is cancelled. */
  add_move (args, to_x + 2, to_y + 2, "0.2");
  add_move (args, to_x, to_y, "0.3");
  g_ptr_array_add (args, g_strdup ("mouseup"));
  g_ptr_array_add (args, g_strdup ("1"));
  g_ptr_array_add (args, NULL);

  g_debug ("ui-harness: dragging from %d,%d to %d,%d", from_x, from_y, to_x, to_y);
  out = run_xdotool ((const char * const *) args->pdata, NULL, XDOTOOL_TIMEOUT_MS, error);
  g_debug ("ui-harness: released the button");
  return out != NULL;
}

void
ui_harness_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_return_if_fail (path != NULL);

  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          ui_harness_remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}
