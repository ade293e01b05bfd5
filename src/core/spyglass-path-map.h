/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Paths are byte strings in the file-system encoding: they may be any bytes
 * but NUL, and are never assumed to be UTF-8.  Comparisons are
 * component-wise and byte-exact: "/mnt/music" contains "/mnt/music/a" but
 * not "/mnt/music2".  A prefix that looks like a Windows path ("O:\Media",
 * "C:/x", "\\server\share", or one with backslashes and no slash) uses '\'
 * (and '/') as its separators, and its drive letter is compared
 * case-insensitively; anywhere else '\' is an ordinary byte of a name.
 */

/* TRUE when @path is @prefix or lies below it, component-wise, in
 * @prefix's separator style.  Trailing separators and repeated separators
 * are ignored; an empty @path or @prefix contains nothing. */
gboolean spyglass_path_is_within (const char *path,
                                  const char *prefix);

/* A copy of @path with repeated separators collapsed and any trailing
 * separator removed (but "/" stays "/"). */
char    *spyglass_path_normalize (const char *path);

typedef struct _SpyglassPathMap SpyglassPathMap;

/* Rules LOCAL_PREFIX → PLEX_PREFIX: the longest local prefix that contains
 * a path wins (between equal ones, the rule added first); the rest of the
 * path is appended to the Plex prefix with its separator ('\' for a Windows
 * prefix written with '\'). */
SpyglassPathMap *spyglass_path_map_new              (void);
void             spyglass_path_map_free             (SpyglassPathMap  *map);
/* Both prefixes must be non-empty and absolute: the local one a POSIX path
 * ("/…"), the Plex one POSIX or Windows ("O:\…", "\\server\share");
 * otherwise SPYGLASS_ERROR_INVALID_MAPPING.  Both are stored normalized
 * (see spyglass_path_normalize()). */
gboolean         spyglass_path_map_add_rule         (SpyglassPathMap  *map,
                                                     const char       *local_prefix,
                                                     const char       *plex_prefix,
                                                     GError          **error);
/* "LOCAL=PLEX", as given to --map.  The split is at the last '=' that is
 * followed by an absolute path ('/', "X:\" or "X:/", "\\"), so a local
 * folder may contain '='.  Nothing is trimmed: paths may start or end
 * with spaces. */
gboolean         spyglass_path_map_add_rule_string  (SpyglassPathMap  *map,
                                                     const char       *rule,
                                                     GError          **error);
guint            spyglass_path_map_get_n_rules      (SpyglassPathMap  *map);
void             spyglass_path_map_get_rule         (SpyglassPathMap  *map,
                                                     guint             index,
                                                     const char      **local_prefix,
                                                     const char      **plex_prefix);
/* The Plex-side path for @local_path (a newly allocated copy of the
 * normalized path when no rule applies). */
char            *spyglass_path_map_apply            (SpyglassPathMap  *map,
                                                     const char       *local_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassPathMap, spyglass_path_map_free)

G_END_DECLS
