/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "spyglass-path-map.h"
#include "spyglass-plex-types.h"

G_BEGIN_DECLS

/* One request to send: scan @path in @section, or the whole section when
 * @path is NULL; with @force, a forced metadata refresh instead. */
typedef struct
{
  SpyglassSection *section;  /* owned reference */
  char            *path;     /* Plex-side folder, or NULL for the whole library */
  gboolean         force;
} SpyglassScanTarget;

SpyglassScanTarget *spyglass_scan_target_new  (SpyglassSection    *section,
                                               const char         *path,
                                               gboolean            force);
void                spyglass_scan_target_free (SpyglassScanTarget *target);

/*
 * Routes one Plex-side folder (already mapped, already a folder) to every
 * section in @sections (SpyglassSection) with a Location that contains it,
 * component-wise: at most one target per section, in the order of
 * @sections, with the path normalized (spyglass_path_normalize()).  A path
 * equal to a Location becomes a whole-library target.  With
 * @only_section_key, only that section is considered (and named in the
 * error message).
 *
 * Returns an array of SpyglassScanTarget (free func set), never empty; or
 * NULL with SPYGLASS_ERROR_NOT_IN_LIBRARY whose message names the
 * libraries' folders and, where a Location shares the path's trailing
 * folder names, the mapping rule that would fix it (see
 * spyglass_route_suggest_mapping()); or SPYGLASS_ERROR_SECTION_NOT_FOUND
 * when @only_section_key is not among @sections.
 */
GPtrArray *spyglass_route_path             (const char  *plex_path,
                                            GPtrArray   *sections,
                                            const char  *only_section_key,
                                            gboolean     force,
                                            GError     **error);

/* The same for a local folder: mapped through @map first.  When a rule
 * applied and the result is in no library, the message names both paths
 * and the suggested rule starts from the local one. */
GPtrArray *spyglass_route_local_path       (SpyglassPathMap  *map,
                                            const char       *local_path,
                                            GPtrArray        *sections,
                                            const char       *only_section_key,
                                            gboolean          force,
                                            GError          **error);

/* A rule "LOCAL=PLEX" that would bring @path into one of @sections'
 * Locations, found by matching the Location's trailing folder names inside
 * @path (exactly, or ignoring case when both are UTF-8): the Location with
 * the most names in common wins, ties going to the first section, first
 * Location, outermost folder.  NULL when nothing matches, when @path is not
 * absolute, or when it already lies in a Location.  @path should be the
 * unmapped local path: the rule's left side is a prefix of it. */
char      *spyglass_route_suggest_mapping  (const char  *path,
                                            GPtrArray   *sections);

/*
 * Coalesces a batch of targets (SpyglassScanTarget) for sending, keeping the
 * order of first appearance:
 *   - duplicates are merged (paths compare component-wise);
 *   - a folder under another requested folder of the same section is dropped;
 *   - a whole-library target absorbs every folder target of its section;
 *   - more than @threshold distinct folders in one section (counted after
 *     the two rules above) become one whole-library target (@threshold 0
 *     disables this).
 * Sections are told apart by key; targets with and without @force are
 * coalesced separately.  Each result stands where the earliest request it
 * answers stood (a whole-library target where its section's first request
 * was), and refers to the section of that group's first target.
 * Returns a new array of new targets (free func set); @targets is untouched.
 */
GPtrArray *spyglass_coalesce               (GPtrArray   *targets,
                                            guint        threshold);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassScanTarget, spyglass_scan_target_free)

G_END_DECLS
