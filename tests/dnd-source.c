/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A drag source in a process of its own, as a file manager would be, for
 * the drag-and-drop UI tests:
 *
 *   dnd-source [--title TITLE] PATH…
 *
 * A 120×120 window (title "Spyglass DnD Source" unless --title) whose whole
 * content is a GtkDragSource offering PATH… as a GdkFileList, which GTK
 * also serializes as text/uri-list, the format X11 file managers use.
 * Relative paths are taken from the current folder. It prints "ready" on
 * stdout once its window is mapped, "drag-begin" and "drag-end DELETE" as a
 * drag starts and ends, and keeps running until it is killed.
 */
#include "config.h"

#include <gtk/gtk.h>
#include <stdio.h>

#define DEFAULT_TITLE "Spyglass DnD Source"

static GSList *files;  /* element-type GFile, owned */

static void
say (const char *line)
{
  printf ("%s\n", line);
  fflush (stdout);
}

static GdkContentProvider *
on_prepare (GtkDragSource *source,
            double         x,
            double         y,
            gpointer       user_data)
{
  return gdk_content_provider_new_typed (GDK_TYPE_FILE_LIST, files);
}

static void
on_drag_begin (GtkDragSource *source,
               GdkDrag       *drag,
               gpointer       user_data)
{
  say ("drag-begin");
}

static void
on_drag_end (GtkDragSource *source,
             GdkDrag       *drag,
             gboolean       delete_data,
             gpointer       user_data)
{
  say (delete_data ? "drag-end delete" : "drag-end");
}

static gboolean
on_drag_cancel (GtkDragSource       *source,
                GdkDrag             *drag,
                GdkDragCancelReason  reason,
                gpointer             user_data)
{
  static const char * const reasons[] = { "no-target", "user-cancelled", "error" };

  if (reason < G_N_ELEMENTS (reasons))
    {
      g_autofree char *line = g_strdup_printf ("drag-cancel %s", reasons[reason]);

      say (line);
    }
  return FALSE;
}

static void
on_map (GtkWidget *window,
        gpointer   user_data)
{
  say ("ready");
}

static void
on_activate (GtkApplication *app,
             gpointer        user_data)
{
  const char *title = user_data;
  GtkWidget *window = gtk_application_window_new (app);
  GtkWidget *label = gtk_label_new ("Drag me");
  GtkDragSource *source = gtk_drag_source_new ();

  gtk_window_set_title (GTK_WINDOW (window), title);
  gtk_window_set_default_size (GTK_WINDOW (window), 120, 120);
  gtk_window_set_resizable (GTK_WINDOW (window), FALSE);
  gtk_widget_set_size_request (label, 120, 120);
  gtk_window_set_child (GTK_WINDOW (window), label);

  gtk_drag_source_set_actions (source, GDK_ACTION_COPY);
  g_signal_connect (source, "prepare", G_CALLBACK (on_prepare), NULL);
  g_signal_connect (source, "drag-begin", G_CALLBACK (on_drag_begin), NULL);
  g_signal_connect (source, "drag-end", G_CALLBACK (on_drag_end), NULL);
  g_signal_connect (source, "drag-cancel", G_CALLBACK (on_drag_cancel), NULL);
  gtk_widget_add_controller (label, GTK_EVENT_CONTROLLER (source));

  g_signal_connect (window, "map", G_CALLBACK (on_map), NULL);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) app = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  const GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "Window title", "TITLE" },
    G_OPTION_ENTRY_NULL
  };
  int status;

  /* stdout is for the test to read: every log message to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  context = g_option_context_new ("PATH…");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dnd-source: %s\n", error->message);
      return 2;
    }
  if (argc < 2)
    {
      g_printerr ("dnd-source: no PATH given\n");
      return 2;
    }

  for (int i = argc - 1; i >= 1; i--)
    files = g_slist_prepend (files, g_file_new_for_commandline_arg (argv[i]));

  /* Its own process, never handed over to another instance. */
  app = gtk_application_new (NULL, G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate),
                    title != NULL ? title : (char *) DEFAULT_TITLE);
  status = g_application_run (G_APPLICATION (app), 1, argv);

  g_slist_free_full (files, g_object_unref);
  return status;
}
