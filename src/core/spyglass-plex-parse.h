/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "spyglass-plex-types.h"

G_BEGIN_DECLS

/* Largest response body Spyglass accepts from a server.  A real
 * /library/sections of a big server is a few hundred KiB; parsing a body
 * at the cap builds a tree of about 40 times its size, so the cap stays
 * small enough that a hostile server cannot make every poll cost
 * hundreds of megabytes. */
#define SPYGLASS_MAX_RESPONSE_SIZE ((gsize) 2 * 1024 * 1024)

/*
 * Parsers take a complete response body and return objects or a GError in
 * SPYGLASS_ERROR (BAD_RESPONSE for anything unreadable, RESPONSE_TOO_LARGE
 * over SPYGLASS_MAX_RESPONSE_SIZE).  They never do I/O, so they can be unit
 * tested and fuzzed.  The format is detected from the body: XML (libxml2,
 * no network, no entity expansion) or JSON (json-glib), as Plex answers
 * either depending on the Accept header.  Unknown attributes, members and
 * elements are ignored; numbers may arrive as JSON strings or numbers and
 * booleans as "0"/"1", true/false or 0/1.
 */

/* GET / → MediaContainer attributes. */
SpyglassServerInfo *spyglass_parse_server_info  (GBytes  *body,
                                                 GError **error);

/* GET /library/sections → array of SpyglassSection (free func set). */
GPtrArray          *spyglass_parse_sections     (GBytes  *body,
                                                 GError **error);

/* GET /activities → array of SpyglassActivity (free func set). */
GPtrArray          *spyglass_parse_activities   (GBytes  *body,
                                                 GError **error);

/* One text frame of the notification WebSocket (JSON only, root
 * NotificationContainer) → array of SpyglassActivityEvent (free func
 * set); empty for frames that are not `activity` notifications. */
GPtrArray          *spyglass_parse_notification (GBytes  *frame,
                                                 GError **error);

G_END_DECLS
