/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "spyglass-request-row.h"
#include "spyglass-window.h"

G_BEGIN_DECLS

/* What the window shows, for the UI tests. */

/* "welcome" or "main". */
const char *spyglass_window_get_page          (SpyglassWindow     *self);
/* The header's subtitle: "Fake Plex — Connected", "Token rejected", … */
const char *spyglass_window_get_status_text   (SpyglassWindow     *self);
const char *spyglass_window_get_status_tooltip (SpyglassWindow    *self);
/* The text of the last toast, or NULL. */
const char *spyglass_window_get_last_toast    (SpyglassWindow     *self);
GtkListBox *spyglass_window_get_request_list  (SpyglassWindow     *self);

GtkWidget  *spyglass_request_row_get_retry_button (SpyglassRequestRow *self);

G_END_DECLS
