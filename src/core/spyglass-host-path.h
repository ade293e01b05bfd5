/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The path the user sees on the host for each dropped or opened file.
 *
 * Inside a Flatpak, a file dropped from the host arrives through the
 * document portal as MOUNT/DOC_ID/NAME[/deeper…], MOUNT being the document
 * store's mount point (GetMountPoint(), usually /run/user/UID/doc) or
 * Flatpak's /run/flatpak/doc.  Path mappings are written against the
 * host's paths, so each such path becomes the document's host path (from
 * org.freedesktop.portal.Documents GetHostPaths(), interface version 5)
 * with the deeper components appended.  When there is no portal (it is
 * not auto-started), or it is too old, or it does not know a document,
 * the sandbox path stays, and a g_debug() says why.  Other files keep
 * g_file_get_path(); files without a local path are left out.
 *
 * Fails only with G_IO_ERROR_CANCELLED.
 */
void    spyglass_host_paths_async  (GFile               **files,
                                    guint                 n_files,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
/* A NULL-terminated array of paths (possibly empty). */
char  **spyglass_host_paths_finish (GAsyncResult         *result,
                                    GError              **error);

G_END_DECLS
