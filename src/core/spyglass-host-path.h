/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The path the user sees on the host for each dropped or opened file.
 *
 * Inside a Flatpak, a file dropped from the host arrives through the
 * document portal as /run/user/UID/doc/ID/NAME (or /run/flatpak/doc/…);
 * path mappings are written against the host's paths, so those are asked
 * of org.freedesktop.portal.Documents (GetHostPaths).  Other files keep
 * g_file_get_path().  Files without a local path are left out.
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
