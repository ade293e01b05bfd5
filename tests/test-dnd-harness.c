/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Proves the drag-and-drop harness without the app: a real XDND drag of two
 * folders from dnd-source (one process) into dnd-probe-target (another),
 * driven by xdotool on the test X server, and the exact paths arriving.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "ui-harness.h"

/* Spaces, '&', '#', '%', and non-ASCII: what URI lists get wrong. */
static const char * const folder_names[] = {
  "AC&DC #1 (100% live)",
  "Sigur Rós — Ágætis byrjun",
};

typedef struct
{
  char      *tmpdir;
  char      *folders[G_N_ELEMENTS (folder_names)];
  UiProcess *target;
  UiProcess *source;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->tmpdir = g_dir_make_tmp ("spyglass-dnd-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (folder_names); i++)
    {
      fixture->folders[i] = g_build_filename (fixture->tmpdir, folder_names[i], NULL);
      g_assert_cmpint (g_mkdir (fixture->folders[i], 0700), ==, 0);
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->source, ui_process_free);
  g_clear_pointer (&fixture->target, ui_process_free);
  ui_harness_remove_tree (fixture->tmpdir);
  for (guint i = 0; i < G_N_ELEMENTS (folder_names); i++)
    g_clear_pointer (&fixture->folders[i], g_free);
  g_clear_pointer (&fixture->tmpdir, g_free);
}

/* Starts a program of this build and waits for its window. */
static UiProcess *
start_window (const char * const *argv,
              const char         *title_regex,
              char              **window_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UiProcess) process = ui_process_spawn (argv, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ui_process_wait_for_line (process, "ready", UI_HARNESS_TIMEOUT_MS, &error));
  g_assert_no_error (error);
  *window_id = ui_harness_wait_for_window (process, title_regex, UI_HARNESS_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&process);
}

static char *
expect_line (UiProcess *process)
{
  g_autoptr(GError) error = NULL;
  char *line = ui_process_read_line (process, UI_HARNESS_TIMEOUT_MS, &error);

  g_assert_no_error (error);
  return line;
}

static void
test_two_folders (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *probe_path = g_test_build_filename (G_TEST_BUILT, "dnd-probe-target", NULL);
  g_autofree char *source_path = g_test_build_filename (G_TEST_BUILT, "dnd-source", NULL);
  g_autofree char *target_window = NULL;
  g_autofree char *source_window = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  int sx, sy, sw, sh, tx, ty, tw, th;

  if (!ui_harness_require_display ())
    return;

  /* The target first, the source last: with no window manager, the source
   * maps on top of the target's top-left corner. */
  fixture->target = start_window ((const char * const[]) { probe_path, NULL },
                                  "^Spyglass DnD Probe$", &target_window);
  fixture->source = start_window ((const char * const[]) {
                                    source_path, fixture->folders[0], fixture->folders[1], NULL
                                  },
                                  "^Spyglass DnD Source$", &source_window);

  g_assert_true (ui_harness_get_window_geometry (source_window, &sx, &sy, &sw, &sh, &error));
  g_assert_no_error (error);
  g_assert_true (ui_harness_get_window_geometry (target_window, &tx, &ty, &tw, &th, &error));
  g_assert_no_error (error);
  g_test_message ("source %dx%d at %d,%d; target %dx%d at %d,%d", sw, sh, sx, sy, tw, th, tx, ty);
  g_assert_cmpint (tw, >=, 400);
  g_assert_cmpint (th, >=, 300);

  /* From the middle of the source to a point of the target well clear of it. */
  g_assert_true (ui_harness_drag (sx + sw / 2, sy + sh / 2, tx + tw * 2 / 3, ty + th * 2 / 3, &error));
  g_assert_no_error (error);

  /* "enter" comes first, maybe more than once, then the drop. */
  do
    {
      g_free (line);
      line = expect_line (fixture->target);
    }
  while (g_str_equal (line, "enter"));

  g_assert_cmpstr (line, ==, "drop 2");
  for (guint i = 0; i < G_N_ELEMENTS (folder_names); i++)
    {
      g_autofree char *expected = g_strdup_printf ("file %s", fixture->folders[i]);

      g_free (line);
      line = expect_line (fixture->target);
      g_assert_cmpstr (line, ==, expected);
    }
  g_free (line);
  line = expect_line (fixture->target);
  g_assert_cmpstr (line, ==, "end");

  /* The source saw its drag through. */
  g_assert_true (ui_process_wait_for_line (fixture->source, "drag-begin", UI_HARNESS_TIMEOUT_MS, &error));
  g_assert_no_error (error);
  g_free (line);
  line = expect_line (fixture->source);
  g_assert_true (g_str_has_prefix (line, "drag-end"));
}

int
main (int   argc,
      char *argv[])
{
  /* Not G_TEST_OPTION_ISOLATE_DIRS: it also empties XDG_DATA_DIRS, and
   * GTK programs without the shared MIME database cannot load an SVG icon
   * (a drag icon is one), a warning G_DEBUG makes fatal. Nothing here
   * writes to the home folder. */
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/dnd-harness/two-folders", Fixture, NULL,
              fixture_setup, test_two_folders, fixture_teardown);

  return g_test_run ();
}
