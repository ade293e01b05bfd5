/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-client.h"

G_BEGIN_DECLS

#define SPYGLASS_DEFAULT_POLL_INTERVAL       3000   /* ms */
#define SPYGLASS_DEFAULT_START_GRACE         10000  /* ms */
#define SPYGLASS_DEFAULT_MIN_RECONNECT_DELAY 1000   /* ms */
#define SPYGLASS_DEFAULT_MAX_RECONNECT_DELAY 60000  /* ms */

/* How a SpyglassScanMonitor learns about scans right now. */
typedef enum
{
  SPYGLASS_SCAN_MONITOR_STOPPED,    /* "stopped": not started, or stopped */
  SPYGLASS_SCAN_MONITOR_WEBSOCKET,  /* "websocket": activity notifications */
  SPYGLASS_SCAN_MONITOR_POLLING,    /* "polling": GET /library/sections and /activities */
} SpyglassScanMonitorMode;

#define SPYGLASS_TYPE_SCAN_MONITOR_MODE (spyglass_scan_monitor_mode_get_type ())
GType spyglass_scan_monitor_mode_get_type (void) G_GNUC_CONST;

#define SPYGLASS_TYPE_SCAN_MONITOR (spyglass_scan_monitor_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassScanMonitor, spyglass_scan_monitor, SPYGLASS, SCAN_MONITOR, GObject)

/*
 * Follows the library scans of the server of a SpyglassClient.
 *
 * Once started it listens to Plex's notification WebSocket (`activity`
 * events of type library.update.section).  While the WebSocket cannot be
 * had (refused, dropped, not connected yet) it polls GET /library/sections
 * (`refreshing`) every poll-interval, and GET /activities for the progress
 * while a section scans, and tries the WebSocket again after a back-off
 * that doubles from min-reconnect-delay to max-reconnect-delay, with
 * jitter.  Each time the WebSocket opens it polls once, to catch up with
 * what happened while it was closed.
 *
 * An invalid token, a refusal (403), an untrusted or changed certificate
 * or an unusable address stops every request: "error" is emitted, pending
 * waits fail with that error, and nothing more is sent until the client's
 * token, base-url or pinned-certificate changes.  Other errors of the
 * polls (unreachable, timeout, 5xx) are retried; "error" is emitted when
 * such an error differs from the last one since a poll went through.  A
 * refused WebSocket is no error: polling is the fallback.  After a fatal
 * error the mode is "polling", although nothing is sent.
 *
 * Properties: client (construct only), mode (read only,
 * SpyglassScanMonitorMode), poll-interval, start-grace,
 * min-reconnect-delay, max-reconnect-delay (all in milliseconds).
 *
 * Signals:
 *   scan-started  (SpyglassScanMonitor *, const char *section_key)
 *   scan-progress (SpyglassScanMonitor *, const char *section_key, int progress)
 *   scan-finished (SpyglassScanMonitor *, const char *section_key)
 *   error         (SpyglassScanMonitor *, const GError *error)
 *
 * Everything runs in the thread-default main context at construction,
 * and nothing blocks it.
 */
SpyglassScanMonitor     *spyglass_scan_monitor_new                (SpyglassClient       *client);

SpyglassClient          *spyglass_scan_monitor_get_client         (SpyglassScanMonitor  *self);
SpyglassScanMonitorMode  spyglass_scan_monitor_get_mode           (SpyglassScanMonitor  *self);

guint                    spyglass_scan_monitor_get_poll_interval  (SpyglassScanMonitor  *self);
void                     spyglass_scan_monitor_set_poll_interval  (SpyglassScanMonitor  *self,
                                                                   guint                 milliseconds);
guint                    spyglass_scan_monitor_get_start_grace    (SpyglassScanMonitor  *self);
void                     spyglass_scan_monitor_set_start_grace    (SpyglassScanMonitor  *self,
                                                                   guint                 milliseconds);
/* The WebSocket back-off: from @min_ms, doubling up to @max_ms. */
void                     spyglass_scan_monitor_set_reconnect_delays (SpyglassScanMonitor *self,
                                                                     guint                min_ms,
                                                                     guint                max_ms);

void                     spyglass_scan_monitor_start              (SpyglassScanMonitor  *self);
/* Closes the WebSocket, stops every request and timer, and fails pending
 * waits with G_IO_ERROR_CANCELLED. */
void                     spyglass_scan_monitor_stop               (SpyglassScanMonitor  *self);

/* What the monitor knows of section @section_key: whether a scan runs, and
 * its progress (0–100, -1 when unknown or not scanning). */
gboolean                 spyglass_scan_monitor_is_scanning        (SpyglassScanMonitor  *self,
                                                                   const char           *section_key);
int                      spyglass_scan_monitor_get_progress       (SpyglassScanMonitor  *self,
                                                                   const char           *section_key);

/* Completes when a scan of section @section_key that runs at the call, or
 * that starts after it, has ended; or, when no scan is seen to start within
 * start-grace, at the end of it (Plex can finish a small scan between two
 * polls).  Call it before or right after asking for the scan.
 * spyglass_scan_monitor_wait_finish() returns TRUE either way, with
 * *@scan_seen telling which; FALSE with G_IO_ERROR_CANCELLED when
 * @cancellable is cancelled or the monitor is stopped (or was not
 * started), or with the error that made the monitor stop sending
 * requests (an invalid token, …). */
void                     spyglass_scan_monitor_wait_async         (SpyglassScanMonitor  *self,
                                                                   const char           *section_key,
                                                                   GCancellable         *cancellable,
                                                                   GAsyncReadyCallback   callback,
                                                                   gpointer              user_data);
gboolean                 spyglass_scan_monitor_wait_finish        (SpyglassScanMonitor  *self,
                                                                   GAsyncResult         *result,
                                                                   gboolean             *scan_seen,
                                                                   GError              **error);

G_END_DECLS
