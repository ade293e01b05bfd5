/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-client.h"
#include "spyglass-path-map.h"
#include "spyglass-request.h"
#include "spyglass-scan-monitor.h"

G_BEGIN_DECLS

#define SPYGLASS_QUEUE_DEFAULT_BATCH_WINDOW 500  /* milliseconds */
/* A batch closes at most this many batch windows after its first request. */
#define SPYGLASS_QUEUE_MAX_BATCH_WINDOWS    10
#define SPYGLASS_QUEUE_MIN_BACKOFF          1000 /* milliseconds */
#define SPYGLASS_QUEUE_MAX_BACKOFF          (5 * 60 * 1000)

#define SPYGLASS_TYPE_QUEUE (spyglass_queue_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassQueue, spyglass_queue, SPYGLASS, QUEUE, GObject)

/*
 * The scan queue: every request goes through it, and none is lost.
 *
 * - A request is written to disk (json-glib, fsync) before it is sent, and
 *   at every change of state after; after a crash the next load() resumes:
 *   queued and in-flight requests are sent (the one that was in flight may
 *   be sent twice), requests that were being followed are followed again.
 *   On disk, queue.json is a snapshot and queue.journal holds one line a
 *   change since, folded into a new snapshot (atomic renames) as it grows:
 *   a change costs a line, not a rewrite of the queue.
 * - One process owns the queue's files at a time (an advisory lock).
 * - Requests arriving together are routed and coalesced together
 *   (spyglass_coalesce()): a batch closes when no request has arrived for
 *   the batch window, or SPYGLASS_QUEUE_MAX_BATCH_WINDOWS windows after
 *   its first request.  A whole-library request already queued absorbs
 *   that library's folder requests.
 * - Requests are sent one at a time.  Refused connections, timeouts and
 *   5xx are retried with exponential back-off and jitter (1 s to 5 min),
 *   and at once when the network comes back.  An invalid token or a 403
 *   pauses the queue (nothing is dropped) until the client's token
 *   changes.  "Library section not found" reloads the libraries and
 *   routes the request once more before failing it.
 *
 * The queue is a GListModel of the SpyglassRequest objects it holds,
 * oldest first; finished requests leave it for the history.
 */
SpyglassQueue   *spyglass_queue_new              (SpyglassClient   *client,
                                                  const char       *state_dir);

/* Takes the lock and reads the queue's snapshot and journal.  A corrupt
 * file (either; a torn last line of the journal, which a crash leaves, is
 * not corruption and is dropped) is renamed aside (the new name is in
 * @recovered_path; the other file is kept next to it) and the queue
 * starts empty.  Fails with SPYGLASS_ERROR_QUEUE_LOCKED when another
 * process owns the queue. */
gboolean         spyglass_queue_load             (SpyglassQueue    *self,
                                                  char            **recovered_path,
                                                  GError          **error);

/* Follows accepted requests to the end of their library's scan (set
 * before start()); without one, an accepted request is done. */
void             spyglass_queue_set_scan_monitor (SpyglassQueue       *self,
                                                  SpyglassScanMonitor *monitor);
/* Where the queue learns that the network is back (default: GIO's, set
 * at the first failure). */
void             spyglass_queue_set_network_monitor (SpyglassQueue   *self,
                                                     GNetworkMonitor *monitor);
/* Follow each finished folder scan with a forced metadata refresh of the
 * same folder. */
void             spyglass_queue_set_refresh_after_scan (SpyglassQueue *self,
                                                        gboolean       refresh);

/* Starts sending (after load()). */
void             spyglass_queue_start            (SpyglassQueue    *self);

void             spyglass_queue_set_path_map     (SpyglassQueue    *self,
                                                  SpyglassPathMap  *map);
/* The library that takes a folder found in several (empty: all of them). */
void             spyglass_queue_set_default_section (SpyglassQueue *self,
                                                     const char    *section_key);
void             spyglass_queue_set_threshold    (SpyglassQueue    *self,
                                                  guint             threshold);
void             spyglass_queue_set_batch_window (SpyglassQueue    *self,
                                                  guint             milliseconds);
/* Back-off bounds, for tests (defaults 1 s and 5 min). */
void             spyglass_queue_set_backoff      (SpyglassQueue    *self,
                                                  guint             min_ms,
                                                  guint             max_ms);

/* Adds a folder scan (a file means its folder); @section_key restricts it
 * to one library.  Returns the new request (transfer none). */
SpyglassRequest *spyglass_queue_add_folder       (SpyglassQueue    *self,
                                                  const char       *local_path,
                                                  const char       *section_key,
                                                  gboolean          force);
SpyglassRequest *spyglass_queue_add_library      (SpyglassQueue    *self,
                                                  const char       *section_key,
                                                  gboolean          force);

/* TRUE while an invalid token or a 403 holds the queue. */
gboolean         spyglass_queue_get_paused       (SpyglassQueue    *self);
/* Why it is paused, or NULL. */
const char      *spyglass_queue_get_pause_reason (SpyglassQueue    *self);

/* The last results, newest last (element-type SpyglassRequest, transfer
 * none): at most SPYGLASS_QUEUE_HISTORY_SIZE. */
#define SPYGLASS_QUEUE_HISTORY_SIZE 200
GPtrArray       *spyglass_queue_get_history      (SpyglassQueue    *self);

/* What the queue's files in @state_dir hold (snapshot and journal, read
 * consistently while their owner writes them), without taking the queue
 * (for `spyglass status`): requests, oldest first. */
GPtrArray       *spyglass_queue_read_requests    (const char       *state_dir,
                                                  GError          **error);

/* Completes when nothing is queued, sending or scanning any more. */
void             spyglass_queue_wait_idle_async  (SpyglassQueue       *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean         spyglass_queue_wait_idle_finish (SpyglassQueue       *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

G_END_DECLS
