/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-path-map.h"

G_BEGIN_DECLS

/*
 * The user's settings, io.github.spyglass.Spyglass.
 *
 * On a desktop they live in dconf.  Without a session bus (cron, ssh to a
 * NAS) dconf cannot be written, so they live in a keyfile instead,
 * $XDG_CONFIG_HOME/spyglass/settings.ini.  An explicit GSETTINGS_BACKEND
 * always wins (tests use "memory" or "keyfile").
 *
 * Returns NULL when the schema is not installed (an uninstalled build run
 * without GSETTINGS_SCHEMA_DIR): callers then use the defaults.
 */
GSettings *spyglass_settings_open              (void);

/* The keyfile in use when there is no session bus, or NULL. */
char      *spyglass_settings_get_keyfile_path  (void);

/* The stable X-Plex-Client-Identifier: generated and stored on first use. */
char      *spyglass_settings_get_client_id     (GSettings *settings);

/* The stored path mappings.  Rules that cannot be used are left out; with
 * @ignored, each one's message is added to it (for the caller to report). */
SpyglassPathMap *spyglass_settings_get_path_map    (GSettings       *settings,
                                                    GPtrArray       *ignored);

/* What auto-scan watches: the local side of each rule of @map, then the
 * `watch-folders` of @settings (may be NULL); canonical, each once. */
GPtrArray *spyglass_settings_get_watch_roots       (GSettings       *settings,
                                                    SpyglassPathMap *map);
/* Adds @path (canonicalized) to @roots unless it is there already. */
void       spyglass_settings_add_watch_root        (GPtrArray       *roots,
                                                    const char      *path);

G_END_DECLS
