/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A drop target in a process of its own, to prove the drag-and-drop
 * harness without the app:
 *
 *   dnd-probe-target [--title TITLE]
 *
 * A 640×560 window (title "Spyglass DnD Probe" unless --title), the size of
 * Spyglass's, whose content is a GtkDropTarget for GdkFileList. It prints
 * "ready" on stdout once mapped, "enter" when a drag comes in, and for each
 * drop "drop N" followed by the N paths, one a line ("file PATH"), then
 * "end". It keeps running until it is killed.
 */
#include "config.h"

#include <gtk/gtk.h>
#include <stdio.h>

#define DEFAULT_TITLE "Spyglass DnD Probe"

static void
say (const char *line)
{
  printf ("%s\n", line);
  fflush (stdout);
}

static GdkDragAction
on_enter (GtkDropTarget *target,
          double         x,
          double         y,
          gpointer       user_data)
{
  say ("enter");
  return GDK_ACTION_COPY;
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         gpointer       user_data)
{
  GdkFileList *list = g_value_get_boxed (value);
  g_autoptr(GSList) files = list != NULL ? gdk_file_list_get_files (list) : NULL;
  g_autofree char *header = g_strdup_printf ("drop %u", g_slist_length (files));

  say (header);
  for (GSList *l = files; l != NULL; l = l->next)
    {
      g_autofree char *path = g_file_get_path (l->data);
      g_autofree char *uri = NULL;
      g_autofree char *line = NULL;

      /* A file with no local path shows as its URI, so a test sees it. */
      if (path == NULL)
        uri = g_file_get_uri (l->data);
      line = g_strdup_printf ("file %s", path != NULL ? path : uri);
      say (line);
    }
  say ("end");
  return TRUE;
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
  GtkWidget *label = gtk_label_new ("Drop folders here");
  GtkDropTarget *target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

  gtk_window_set_title (GTK_WINDOW (window), title);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 560);
  gtk_window_set_child (GTK_WINDOW (window), label);

  g_signal_connect (target, "enter", G_CALLBACK (on_enter), NULL);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), NULL);
  gtk_widget_add_controller (window, GTK_EVENT_CONTROLLER (target));

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

  /* stdout is for the test to read: every log message to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dnd-probe-target: %s\n", error->message);
      return 2;
    }

  app = gtk_application_new (NULL, G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate),
                    title != NULL ? title : (char *) DEFAULT_TITLE);
  return g_application_run (G_APPLICATION (app), 1, argv);
}
