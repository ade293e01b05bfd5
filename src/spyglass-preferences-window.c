/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-preferences-window.h"

/* Placeholder while the real preferences are written. */
struct _SpyglassPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  SpyglassApplication  *application;
};

G_DEFINE_FINAL_TYPE (SpyglassPreferencesWindow, spyglass_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

GtkWidget *
spyglass_preferences_window_new (SpyglassApplication *application,
                                 GtkWindow           *parent)
{
  SpyglassPreferencesWindow *self;

  self = g_object_new (SPYGLASS_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  self->application = application;
  return GTK_WIDGET (self);
}

static void
spyglass_preferences_window_class_init (SpyglassPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/spyglass/Spyglass/spyglass-preferences-window.ui");
}

static void
spyglass_preferences_window_init (SpyglassPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
