/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Helpers shared by the path mapping, routing and coalescing code; not
 * part of the core's interface.  Every path is split in its own style
 * (see spyglass-path-map.h). */

/* @path for a one-line message: valid UTF-8 (g_filename_display_name()),
 * with control characters replaced by U+FFFD. */
char  *spyglass_path_display_name (const char *path);

/* The same for a string meant to be UTF-8 (a library title, say). */
char  *spyglass_display_text      (const char *text);

/* The non-empty components of @path, in order ("/a//b/" → "a", "b"). */
GStrv  spyglass_path_split        (const char *path);

/* The normalized @path cut after its first @n_components components,
 * root included ("/a/b/c", 2 → "/a/b"). */
char  *spyglass_path_truncate     (const char *path,
                                   guint       n_components);

G_END_DECLS
