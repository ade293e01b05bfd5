/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPYGLASS_DEFAULT_PORT 32400

/*
 * Turns a server address the way people type it into a base URL:
 *
 *   nas.local                        → http://nas.local:32400
 *   192.168.1.10:32400               → http://192.168.1.10:32400
 *   http://host:32400/               → http://host:32400
 *   https://1-2-3-4.x.plex.direct:32400 → unchanged
 *   [::1]:32400                      → http://[::1]:32400
 *   https://example.org/plex/        → https://example.org:443/plex  (reverse proxy)
 *
 * No scheme means http; no port means 32400, Plex's own port, except for
 * an address with a scheme and a path, which is a reverse proxy on the
 * scheme's port (443 or 80).  The result never ends in '/'.  Returns
 * NULL with SPYGLASS_ERROR_INVALID_ADDRESS for anything unusable (empty,
 * other schemes, credentials, query or fragment, bad port, spaces).
 */
char *spyglass_address_normalize (const char  *address,
                                  GError     **error);

G_END_DECLS
