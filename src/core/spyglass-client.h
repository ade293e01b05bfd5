/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "spyglass-plex-types.h"

G_BEGIN_DECLS

#define SPYGLASS_DEFAULT_TIMEOUT 10 /* seconds, per request, whole exchange */

#define SPYGLASS_TYPE_CLIENT (spyglass_client_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassClient, spyglass_client, SPYGLASS, CLIENT, GObject)

/*
 * An asynchronous Plex Media Server client over one SoupSession.
 *
 * Properties: base-url (normalized, see spyglass_address_normalize()),
 * token (sent only as the X-Plex-Token header, never logged), client-id
 * (X-Plex-Client-Identifier), device-name, timeout (seconds for a whole
 * request, 0 = none), max-response-size, pinned-certificate (SHA-256 of
 * the server certificate's DER, hex, colons optional: when set, the
 * server's certificate must have exactly this fingerprint, CA-signed or
 * not).
 *
 * Every error is in SPYGLASS_ERROR, except G_IO_ERROR_CANCELLED.
 */
SpyglassClient     *spyglass_client_new                      (const char           *base_url,
                                                              const char           *token);

const char         *spyglass_client_get_base_url             (SpyglassClient       *self);
void                spyglass_client_set_token                (SpyglassClient       *self,
                                                              const char           *token);
const char         *spyglass_client_get_client_id            (SpyglassClient       *self);
void                spyglass_client_set_client_id            (SpyglassClient       *self,
                                                              const char           *client_id);
void                spyglass_client_set_device_name          (SpyglassClient       *self,
                                                              const char           *device_name);
guint               spyglass_client_get_timeout              (SpyglassClient       *self);
void                spyglass_client_set_timeout              (SpyglassClient       *self,
                                                              guint                 seconds);
void                spyglass_client_set_max_response_size    (SpyglassClient       *self,
                                                              gsize                 max_size);
void                spyglass_client_set_pinned_certificate   (SpyglassClient       *self,
                                                              const char           *sha256);

/* GET / (Test Connection). */
void                spyglass_client_get_server_info_async    (SpyglassClient       *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
SpyglassServerInfo *spyglass_client_get_server_info_finish   (SpyglassClient       *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

/* GET /library/sections → array of SpyglassSection. */
void                spyglass_client_list_sections_async      (SpyglassClient       *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
GPtrArray          *spyglass_client_list_sections_finish     (SpyglassClient       *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

/* GET /library/sections/{key}/refresh[?path=…][&force=1].  @path is a
 * Plex-side folder in any bytes; NULL scans the whole library. */
void                spyglass_client_scan_async               (SpyglassClient       *self,
                                                              const char           *section_key,
                                                              const char           *path,
                                                              gboolean              force,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
gboolean            spyglass_client_scan_finish              (SpyglassClient       *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

/* DELETE /library/sections/{key}/refresh, or /library/sections/all/refresh
 * when @section_key is NULL. */
void                spyglass_client_cancel_scan_async        (SpyglassClient       *self,
                                                              const char           *section_key,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
gboolean            spyglass_client_cancel_scan_finish       (SpyglassClient       *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

/* GET /activities → array of SpyglassActivity. */
void                spyglass_client_list_activities_async    (SpyglassClient       *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
GPtrArray          *spyglass_client_list_activities_finish   (SpyglassClient       *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

/* Plex's notification WebSocket (/:/websockets/notifications, ws:// or
 * wss://), the token in the X-Plex-Token header of the upgrade request.
 * Errors as for requests: 401 → SPYGLASS_ERROR_INVALID_TOKEN, 404 →
 * SPYGLASS_ERROR_HTTP_STATUS, refused → UNREACHABLE, timeout → TIMEOUT. */
void                spyglass_client_connect_notifications_async  (SpyglassClient       *self,
                                                                  GCancellable         *cancellable,
                                                                  GAsyncReadyCallback   callback,
                                                                  gpointer              user_data);
SoupWebsocketConnection *
                    spyglass_client_connect_notifications_finish (SpyglassClient       *self,
                                                                  GAsyncResult         *result,
                                                                  GError              **error);

/* "AB:12:…", "ab12…" or with spaces → 64 lowercase hex digits; NULL when
 * @input is not a SHA-256 fingerprint. */
char               *spyglass_client_normalize_fingerprint    (const char           *input);

/* A new random X-Plex-Client-Identifier (to be generated once and kept). */
char               *spyglass_client_generate_client_id       (void);

G_END_DECLS
