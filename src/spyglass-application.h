/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "spyglass-core.h"

G_BEGIN_DECLS

/* How the server answered the last connection check. */
typedef enum
{
  SPYGLASS_CONNECTION_UNCONFIGURED,  /* no server address or no token yet */
  SPYGLASS_CONNECTION_CHECKING,
  SPYGLASS_CONNECTION_CONNECTED,
  SPYGLASS_CONNECTION_UNREACHABLE,   /* refused, timeout, TLS, a broken answer */
  SPYGLASS_CONNECTION_REJECTED,      /* invalid token or 403 */
} SpyglassConnectionState;

#define SPYGLASS_TYPE_APPLICATION (spyglass_application_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassApplication, spyglass_application, SPYGLASS, APPLICATION, AdwApplication)

/*
 * The desktop app: owns the settings, the Plex client, the scan queue (also
 * offered on the session bus, so `spyglass scan` joins it), the scan
 * monitor and the notifications.  One instance: a second launch hands its
 * folders to the running one (GApplication's open).
 */
SpyglassApplication     *spyglass_application_new                  (void);

GSettings               *spyglass_application_get_settings         (SpyglassApplication *self);
SpyglassClient          *spyglass_application_get_client           (SpyglassApplication *self);
/* NULL until the queue is loaded (or when another process owns it). */
SpyglassQueue           *spyglass_application_get_queue            (SpyglassApplication *self);

/* A demo against the bundled fake server (SPYGLASS_DEMO=1). */
gboolean                 spyglass_application_get_demo             (SpyglassApplication *self);

/* TRUE once the server address and a token are known. */
gboolean                 spyglass_application_get_configured       (SpyglassApplication *self);
SpyglassConnectionState  spyglass_application_get_connection_state (SpyglassApplication *self);
/* The server's name and version when connected, else NULL. */
const SpyglassServerInfo *spyglass_application_get_server_info     (SpyglassApplication *self);
/* The error of the last check, for the header's tooltip and the welcome
 * page, else NULL. */
const char              *spyglass_application_get_connection_error (SpyglassApplication *self);
/* The libraries the server listed at the last successful check
 * (element-type SpyglassSection), or NULL. */
GPtrArray               *spyglass_application_get_sections         (SpyglassApplication *self);

/* Checks the connection again (after a settings change, or from the UI). */
void                     spyglass_application_check_connection     (SpyglassApplication *self);
/* The token the user just saved: the client uses it from now on. */
void                     spyglass_application_set_token            (SpyglassApplication *self,
                                                                    const char          *token);

/* Why there is no queue (another process owns it), else NULL. */
const char              *spyglass_application_get_queue_error      (SpyglassApplication *self);

/* Queues a scan of each local path (a file means its folder) and emits
 * "folders-queued".  Returns how many requests were queued. */
guint                    spyglass_application_add_paths            (SpyglassApplication *self,
                                                                    const char * const  *paths,
                                                                    GError             **error);

G_END_DECLS
