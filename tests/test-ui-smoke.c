/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GTK and libadwaita in the test process, on the test display: a window is
 * shown, paints its first frame and goes away. It proves that in-process UI
 * tests work here, including under AddressSanitizer and LeakSanitizer (see
 * build-aux/lsan.supp), and is the pattern for such tests: adw_init() only
 * once a display is known to be there, waits that iterate the main context
 * with a timeout.
 */
#include "config.h"

#include <adwaita.h>

#include "ui-harness.h"

static gboolean
is_true (gpointer user_data)
{
  return *(gboolean *) user_data;
}

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
test_first_frame (void)
{
  GtkWidget *window;
  GtkWidget *box;
  GtkWidget *status;
  GdkFrameClock *clock;
  gboolean painted = FALSE;
  gulong handler;

  if (!ui_harness_require_display ())
    return;
  adw_init ();

  window = adw_window_new ();
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  status = adw_status_page_new ();
  adw_status_page_set_title (ADW_STATUS_PAGE (status), "Drop folders here");
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "folder-symbolic");
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), status);
  adw_window_set_content (ADW_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 560);
  gtk_widget_realize (window);

  clock = gdk_surface_get_frame_clock (gtk_native_get_surface (GTK_NATIVE (window)));
  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (ui_harness_wait_until (is_true, &painted, UI_HARNESS_TIMEOUT_MS));
  g_signal_handler_disconnect (clock, handler);

  g_assert_true (gtk_widget_get_mapped (window));
  g_assert_cmpint (gtk_widget_get_width (window), >, 0);

  gtk_window_destroy (GTK_WINDOW (window));
  /* Let GTK finish with the surface before the process exits. */
  ui_harness_spin (100);
}

int
main (int   argc,
      char *argv[])
{
  /* Not gtk_test_init(): it aborts without a display, and this test must
   * skip then instead (unless SPYGLASS_UI_REQUIRED=1). */
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/smoke/first-frame", test_first_frame);

  return g_test_run ();
}
