/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "spyglass-application.h"

G_BEGIN_DECLS

#define SPYGLASS_TYPE_WINDOW (spyglass_window_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassWindow, spyglass_window, SPYGLASS, WINDOW, AdwApplicationWindow)

SpyglassWindow *spyglass_window_new         (SpyglassApplication *application);

/* Queues a scan of each folder (a file means its folder); portal
 * documents are first resolved to the path the user sees on the host. */
void            spyglass_window_open_files  (SpyglassWindow      *self,
                                             GFile              **files,
                                             guint                n_files);

/* Shows a short message over the window's content. */
void            spyglass_window_add_toast   (SpyglassWindow      *self,
                                             const char          *message);

G_END_DECLS
