/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

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

G_END_DECLS
