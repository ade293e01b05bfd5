/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Helpers for UI tests that drive real programs on a real X server
 * (build-aux/test-session.sh: Xvfb, a session bus, gnome-keyring) with
 * xdotool. GTK-free: the programs under test run in processes of their own.
 *
 * Every wait iterates the thread-default main context, so servers living
 * in the test process (the fake Plex, the fake notification server) keep
 * answering, and every wait has a timeout: a wait that times out is an
 * error, never a measurement.
 *
 * With no window manager, windows map at 0,0 in the order they are shown,
 * the last one on top.
 */

/* Generous: the CI machine is small and the sanitizer build slow. */
#define UI_HARNESS_TIMEOUT_MS (60 * 1000)

/* Whether the test can go on. When DISPLAY (and xdotool) or the session
 * bus is missing: with SPYGLASS_UI_REQUIRED=1 (build-aux/test.sh) the test
 * fails; otherwise it is skipped (g_test_skip) and FALSE is returned, and
 * the test should return at once. */
gboolean     ui_harness_require_display     (void);
gboolean     ui_harness_require_session_bus (void);

/* Iterates the thread-default main context until @condition (@user_data)
 * returns TRUE or @timeout_ms pass. Returns the last value of @condition. */
gboolean     ui_harness_wait_until          (gboolean  (*condition) (gpointer user_data),
                                             gpointer    user_data,
                                             guint       timeout_ms);
/* Iterates the thread-default main context for @ms. */
void         ui_harness_spin                (guint       ms);

/* A program started by a test. Its stdout is a pipe read with
 * ui_process_read_line(); its stderr goes to the test's. It is killed
 * (SIGKILL) when the test process dies, however it dies
 * (PR_SET_PDEATHSIG), and by ui_process_free() if still running. */
typedef struct _UiProcess UiProcess;

/* Starts @argv with environment @envp (NULL: the test's own). */
UiProcess   *ui_process_spawn               (const char * const  *argv,
                                             const char * const  *envp,
                                             GError             **error);
GPid         ui_process_get_pid             (UiProcess           *process);
gboolean     ui_process_is_running          (UiProcess           *process);
/* The next line of the program's stdout without its line end, waiting up
 * to @timeout_ms; NULL with an error on timeout (G_IO_ERROR_TIMED_OUT) or
 * at the end of its output (G_IO_ERROR_CLOSED). */
char        *ui_process_read_line           (UiProcess           *process,
                                             guint                timeout_ms,
                                             GError             **error);
/* Reads lines until one equals @line; the lines before it are dropped. */
gboolean     ui_process_wait_for_line       (UiProcess           *process,
                                             const char          *line,
                                             guint                timeout_ms,
                                             GError             **error);
/* SIGTERM, then SIGKILL if it has not exited within 5 s; waits for it. */
void         ui_process_stop                (UiProcess           *process);
/* Stops it if running and frees it. */
void         ui_process_free                (UiProcess           *process);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UiProcess, ui_process_free)

/* Runs `xdotool ARGS…` and returns its stdout, failing if it does not end
 * within @timeout_ms (it is killed then) or exits non-zero. */
char        *ui_harness_xdotool             (const char * const  *args,
                                             guint                timeout_ms,
                                             GError             **error);

/* Waits until a visible window whose title matches the extended regular
 * expression @name_regex (anchor it: "^Spyglass$") exists and returns its
 * X window id (decimal). With @process, only that process's windows
 * (_NET_WM_PID) count, and the wait ends early with an error if it exits. */
char        *ui_harness_wait_for_window     (UiProcess           *process,
                                             const char          *name_regex,
                                             guint                timeout_ms,
                                             GError             **error);
/* The window's position on the screen and size. */
gboolean     ui_harness_get_window_geometry (const char          *window_id,
                                             int                 *x,
                                             int                 *y,
                                             int                 *width,
                                             int                 *height,
                                             GError             **error);

/* A drag with the first mouse button from screen point (@from_x, @from_y)
 * to (@to_x, @to_y), the way a person does it: press, move a few pixels at
 * a time (past GTK's drag threshold, giving the XDND negotiation time at
 * each step), hover over the target a moment, release. Returns when the
 * button is released; the drop is handled after that. */
gboolean     ui_harness_drag                (int                  from_x,
                                             int                  from_y,
                                             int                  to_x,
                                             int                  to_y,
                                             GError             **error);

/* Removes @path and everything under it (no symlink is followed). */
void         ui_harness_remove_tree         (const char          *path);

G_END_DECLS
