/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The yardstick for bench/bench-ui.sh: the smallest libadwaita window an app
 * like Spyglass could open (AdwApplication, an AdwApplicationWindow with a
 * header bar and an AdwStatusPage, 640×560), built with the same flags as
 * Spyglass. Its time to first frame and idle memory are what Spyglass's
 * window is compared with.
 *
 * With SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1 it quits right after the
 * window's first frame is painted (the "after-paint" signal of the frame
 * clock of the window's surface), so that timing the whole process run
 * times start-up to first frame. spyglass-window follows the same
 * convention.
 */
#include "config.h"

#include <adwaita.h>

#define MINIMAL_APP_ID "io.github.spyglass.Spyglass.BenchMinimal"

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  GApplication *app = user_data;

  g_signal_handlers_disconnect_by_func (clock, on_after_paint, user_data);
  g_application_quit (app);
}

/* Connected after GTK's own handler: the surface and its frame clock exist. */
static void
on_realize (GtkWidget *window,
            gpointer   user_data)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));

  g_signal_connect (gdk_surface_get_frame_clock (surface), "after-paint",
                    G_CALLBACK (on_after_paint), user_data);
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (app));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *status = adw_status_page_new ();

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "folder-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (status), "Minimal Window");
  adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                   "A header bar and a status page, nothing else");
  gtk_widget_set_vexpand (status, TRUE);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), status);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);

  gtk_window_set_title (GTK_WINDOW (window), "Minimal Window");
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 560);

  if (g_strcmp0 (g_getenv ("SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME"), "1") == 0)
    g_signal_connect_after (window, "realize", G_CALLBACK (on_realize), app);

  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(AdwApplication) app = NULL;

  app = adw_application_new (MINIMAL_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
