/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  SPYGLASS_REQUEST_QUEUED,    /* waiting: batch window, back-off, or a paused queue */
  SPYGLASS_REQUEST_SENDING,   /* the request is on its way to Plex */
  SPYGLASS_REQUEST_SCANNING,  /* Plex accepted it; its library is being scanned */
  SPYGLASS_REQUEST_DONE,
  SPYGLASS_REQUEST_FAILED,
} SpyglassRequestState;

#define SPYGLASS_TYPE_REQUEST (spyglass_request_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassRequest, spyglass_request, SPYGLASS, REQUEST, GObject)

/*
 * One thing a user asked Plex to do: scan a folder (or a whole library),
 * or refresh its metadata.  It starts as what the user named (a local
 * folder, or a library) and is routed to a library and a Plex-side folder
 * before it is sent; coalescing may widen its target (to the parent
 * folder, or to the whole library) without losing the request.
 *
 * Every field survives a restart (spyglass_request_to_json()).
 */

/* A folder scan: @local_path is the folder as this machine sees it (any
 * bytes).  @section_key restricts it to one library, or NULL. */
SpyglassRequest      *spyglass_request_new_folder      (const char       *local_path,
                                                        const char       *section_key,
                                                        gboolean          force);
/* A whole-library scan of @section_key. */
SpyglassRequest      *spyglass_request_new_library     (const char       *section_key,
                                                        gboolean          force);

const char           *spyglass_request_get_id          (SpyglassRequest  *self);
/* NULL for a whole-library request. */
const char           *spyglass_request_get_local_path  (SpyglassRequest  *self);
gboolean              spyglass_request_get_force       (SpyglassRequest  *self);
SpyglassRequestState  spyglass_request_get_state       (SpyglassRequest  *self);
/* The library the request was routed to (or restricted to), or NULL. */
const char           *spyglass_request_get_section_key (SpyglassRequest  *self);
const char           *spyglass_request_get_section_title (SpyglassRequest *self);
/* TRUE once routed: then the target below is meaningful. */
gboolean              spyglass_request_get_routed      (SpyglassRequest  *self);
/* The Plex-side folder to scan, or NULL for the whole library. */
const char           *spyglass_request_get_target_path (SpyglassRequest  *self);
/* 0–100 while scanning when Plex says, else -1. */
int                   spyglass_request_get_progress    (SpyglassRequest  *self);
/* Why it failed, or why it waits (the last error), or NULL. */
const char           *spyglass_request_get_message     (SpyglassRequest  *self);
/* The SpyglassError code of the last error, or -1. */
int                   spyglass_request_get_error_code  (SpyglassRequest  *self);
guint                 spyglass_request_get_attempts    (SpyglassRequest  *self);
/* Wall-clock times in microseconds since the epoch (0 = not yet). */
gint64                spyglass_request_get_created     (SpyglassRequest  *self);
gint64                spyglass_request_get_sent        (SpyglassRequest  *self);
gint64                spyglass_request_get_finished    (SpyglassRequest  *self);
/* Not before this wall-clock time (back-off), or 0. */
gint64                spyglass_request_get_not_before  (SpyglassRequest  *self);
/* TRUE once a 404 made the queue route it again. */
gboolean              spyglass_request_get_rerouted    (SpyglassRequest  *self);

/* For the queue, which owns the state machine. */
void                  spyglass_request_set_state       (SpyglassRequest      *self,
                                                        SpyglassRequestState  state);
void                  spyglass_request_set_route       (SpyglassRequest      *self,
                                                        const char           *section_key,
                                                        const char           *section_title,
                                                        const char           *target_path);
void                  spyglass_request_clear_route     (SpyglassRequest      *self);
void                  spyglass_request_set_progress    (SpyglassRequest      *self,
                                                        int                   progress);
void                  spyglass_request_set_message     (SpyglassRequest      *self,
                                                        const char           *message);
/* The message and, for SPYGLASS_ERROR, the code of @error (NULL clears
 * both). */
void                  spyglass_request_set_error       (SpyglassRequest      *self,
                                                        const GError         *error);
void                  spyglass_request_set_attempts    (SpyglassRequest      *self,
                                                        guint                 attempts);
void                  spyglass_request_set_sent        (SpyglassRequest      *self,
                                                        gint64                when);
void                  spyglass_request_set_finished    (SpyglassRequest      *self,
                                                        gint64                when);
void                  spyglass_request_set_not_before  (SpyglassRequest      *self,
                                                        gint64                when);
void                  spyglass_request_set_rerouted    (SpyglassRequest      *self,
                                                        gboolean              rerouted);

/* A JSON object with every field; paths that are not UTF-8 are stored
 * base64-encoded, so any bytes survive. */
JsonNode             *spyglass_request_to_json         (SpyglassRequest  *self);
SpyglassRequest      *spyglass_request_new_from_json   (JsonNode         *node,
                                                        GError          **error);

const char           *spyglass_request_state_to_string (SpyglassRequestState state);

G_END_DECLS
