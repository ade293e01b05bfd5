/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "spyglass-core.h"

G_BEGIN_DECLS

#define SPYGLASS_TYPE_REQUEST_ROW (spyglass_request_row_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassRequestRow, spyglass_request_row, SPYGLASS, REQUEST_ROW, AdwActionRow)

/* One request in the window's list, with its live state: queued,
 * scanning (with progress when Plex says), done (with how long), failed
 * (with the reason and a Retry button, which emits "retry"). */
SpyglassRequestRow *spyglass_request_row_new (SpyglassRequest *request);

/* "Music · Scanning 45 %", as the row shows it under the folder's name. */
char               *spyglass_request_describe_state (SpyglassRequest *request);

G_END_DECLS
