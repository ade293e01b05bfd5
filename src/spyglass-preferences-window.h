/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "spyglass-application.h"

G_BEGIN_DECLS

#define SPYGLASS_TYPE_PREFERENCES_WINDOW (spyglass_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassPreferencesWindow, spyglass_preferences_window, SPYGLASS, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* Server, library, scanning and notification settings of @application. */
GtkWidget *spyglass_preferences_window_new (SpyglassApplication *application,
                                            GtkWindow           *parent);

G_END_DECLS
