/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-queue.h"

G_BEGIN_DECLS

/*
 * The scan queue on the session bus, so that `spyglass scan` (an importer,
 * a script) joins the queue of the running Spyglass instead of sending on
 * its own.  The running instance owns the well-known name
 * io.github.spyglass.Spyglass (GApplication does that) and exports:
 *
 *   object    /io/github/spyglass/Spyglass/Queue
 *   interface io.github.spyglass.Spyglass.Queue1
 *     AddFolders (aay paths, s section, b force) → (as ids)
 *     AddLibrary (s section, b force) → (s id)
 *     GetRequests () → (a(ssaysi) id, state, local path, message, progress)
 *     signal RequestChanged (s id, s state, s message)
 *       "sent" when Plex accepted it, then "done" or "failed".
 *
 * Paths travel as bytes (ay), so any file name survives.
 */

#define SPYGLASS_BUS_NAME          "io.github.spyglass.Spyglass"
#define SPYGLASS_QUEUE_OBJECT_PATH "/io/github/spyglass/Spyglass/Queue"
#define SPYGLASS_QUEUE_INTERFACE   "io.github.spyglass.Spyglass.Queue1"

/* Returns the registration id (for g_dbus_connection_unregister_object()),
 * or 0 with @error set. */
guint spyglass_queue_service_export (SpyglassQueue    *queue,
                                     GDBusConnection  *connection,
                                     GError          **error);

G_END_DECLS
