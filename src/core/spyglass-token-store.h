/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The Plex token lives in the Secret Service (libsecret).  When no Secret
 * Service answers (no session bus, no keyring: cron, a headless NAS) it
 * falls back to a file only its owner can read,
 * $XDG_CONFIG_HOME/spyglass/token (mode 0600), and says so through
 * @location so the caller can tell the user.
 */
typedef enum
{
  SPYGLASS_TOKEN_LOCATION_NONE,
  SPYGLASS_TOKEN_LOCATION_KEYRING,
  SPYGLASS_TOKEN_LOCATION_FILE,
} SpyglassTokenLocation;

/* Whether GDBus would find a session bus, found without connecting to one
 * (and without autolaunching one, which may start a stray dbus-daemon and
 * keyring from cron or an ssh session). */
gboolean  spyglass_session_bus_available         (void);

/* The fallback file's path. */
char     *spyglass_token_store_get_fallback_path (void);

gboolean  spyglass_token_store_save  (const char             *token,
                                      SpyglassTokenLocation  *location,
                                      GCancellable           *cancellable,
                                      GError                **error);
/* NULL with no error when no token is stored anywhere. */
char     *spyglass_token_store_load  (SpyglassTokenLocation  *location,
                                      GCancellable           *cancellable,
                                      GError                **error);
gboolean  spyglass_token_store_clear (GCancellable           *cancellable,
                                      GError                **error);

/* The same without blocking the caller's main loop (the keyring may wait
 * for an unlock prompt): run in a worker thread. */
void      spyglass_token_store_load_async  (GCancellable            *cancellable,
                                            GAsyncReadyCallback      callback,
                                            gpointer                 user_data);
char     *spyglass_token_store_load_finish (GAsyncResult            *result,
                                            SpyglassTokenLocation   *location,
                                            GError                 **error);
void      spyglass_token_store_save_async  (const char              *token,
                                            GCancellable            *cancellable,
                                            GAsyncReadyCallback      callback,
                                            gpointer                 user_data);
gboolean  spyglass_token_store_save_finish (GAsyncResult            *result,
                                            SpyglassTokenLocation   *location,
                                            GError                 **error);

/* Reads a token from a file (--token-file): the first line, trimmed.  Errors
 * name the file, never its content. */
char     *spyglass_token_read_file   (const char             *path,
                                      GError                **error);

G_END_DECLS
