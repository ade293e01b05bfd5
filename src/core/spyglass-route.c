/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-error.h"
#include "spyglass-path-map.h"
#include "spyglass-path-private.h"
#include "spyglass-route.h"

SpyglassScanTarget *
spyglass_scan_target_new (SpyglassSection *section,
                          const char      *path,
                          gboolean         force)
{
  SpyglassScanTarget *target;

  g_return_val_if_fail (section != NULL, NULL);

  target = g_new0 (SpyglassScanTarget, 1);
  target->section = spyglass_section_ref (section);
  target->path = g_strdup (path);
  target->force = !!force;
  return target;
}

void
spyglass_scan_target_free (SpyglassScanTarget *target)
{
  if (target == NULL)
    return;

  g_clear_pointer (&target->section, spyglass_section_unref);
  g_free (target->path);
  g_free (target);
}

/* Folder names match exactly, or ignoring case when both are UTF-8
 * ("Music" on the NAS, "music" in the container). */
static gboolean
folder_names_match (const char *a,
                    const char *b)
{
  g_autofree char *a_folded = NULL;
  g_autofree char *b_folded = NULL;

  if (g_str_equal (a, b))
    return TRUE;

  if (!g_utf8_validate (a, -1, NULL) || !g_utf8_validate (b, -1, NULL))
    return FALSE;

  a_folded = g_utf8_casefold (a, -1);
  b_folded = g_utf8_casefold (b, -1);
  return g_str_equal (a_folded, b_folded);
}

char *
spyglass_route_suggest_mapping (const char *path,
                                GPtrArray  *sections)
{
  g_auto(GStrv) path_components = NULL;
  g_autofree char *best_local = NULL;
  g_autofree char *best_location = NULL;
  guint best_matched = 0;
  guint n_path;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (sections != NULL, NULL);

  /* The local side of a rule must be an absolute POSIX path. */
  if (path[0] != '/')
    return NULL;

  /* Nothing to suggest for a path that needs no rule. */
  for (guint s = 0; s < sections->len; s++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, s);

      for (guint l = 0; section->locations[l] != NULL; l++)
        {
          if (spyglass_path_is_within (path, section->locations[l]))
            return NULL;
        }
    }

  path_components = spyglass_path_split (path);
  n_path = g_strv_length (path_components);

  for (guint s = 0; s < sections->len; s++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, s);

      for (guint l = 0; section->locations[l] != NULL; l++)
        {
          const char *location = section->locations[l];
          g_auto(GStrv) location_components = spyglass_path_split (location);
          guint n_location = g_strv_length (location_components);

          for (guint i = 0; i < n_path && n_location > 0; i++)
            {
              guint matched = 0;

              /* Walk back from path component @i and the Location's last
               * component while the names agree. */
              while (matched < n_location && matched <= i &&
                     folder_names_match (path_components[i - matched],
                                         location_components[n_location - 1 - matched]))
                matched++;

              /* Most folder names in common wins; ties go to the first. */
              if (matched == 0 || matched <= best_matched)
                continue;

              best_matched = matched;
              g_free (best_local);
              g_free (best_location);
              best_local = spyglass_path_truncate (path, i + 1);
              best_location = spyglass_path_normalize (location);
            }
        }
    }

  if (best_matched == 0)
    return NULL;

  return g_strconcat (best_local, "=", best_location, NULL);
}

/* "Music: /data/music, /srv/more music; Movies: /data/movies" */
static char *
describe_locations (GPtrArray *sections)
{
  GString *str = g_string_new (NULL);

  for (guint s = 0; s < sections->len; s++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, s);
      g_autofree char *title = NULL;
      g_autoptr(GString) folders = NULL;

      if (section->locations[0] == NULL)
        continue;

      folders = g_string_new (NULL);
      for (guint l = 0; section->locations[l] != NULL; l++)
        {
          g_autofree char *shown = spyglass_path_display_name (section->locations[l]);

          if (l > 0)
            g_string_append (folders, C_("list of folders", ", "));
          g_string_append (folders, shown);
        }

      title = spyglass_display_text (section->title != NULL ? section->title : section->key);

      if (str->len > 0)
        g_string_append (str, C_("list of libraries", "; "));
      /* Translators: a library's title and its folders, as in
       * "Music: /data/music, /srv/more music" */
      g_string_append_printf (str, _("%s: %s"), title, folders->str);
    }

  return g_string_free (str, FALSE);
}

/* @local_path is what the user named, @plex_path what a mapping rule made
 * of it (the same string when no rule applied).  The suggestion starts
 * from the local path: that is the side a new rule matches. */
static void
set_not_in_library_error (GError     **error,
                          const char  *local_path,
                          const char  *plex_path,
                          GPtrArray   *sections)
{
  g_autofree char *shown_path = NULL;
  g_autofree char *locations = describe_locations (sections);
  g_autofree char *rule = spyglass_route_suggest_mapping (local_path, sections);

  if (g_strcmp0 (local_path, plex_path) == 0)
    {
      g_autofree char *shown = spyglass_path_display_name (local_path);

      /* Translators: a folder named in an error message */
      shown_path = g_strdup_printf (_("“%s”"), shown);
    }
  else
    {
      g_autofree char *shown_local = spyglass_path_display_name (local_path);
      g_autofree char *shown_plex = spyglass_path_display_name (plex_path);

      /* Translators: a folder and what a path mapping turned it into */
      shown_path = g_strdup_printf (_("“%s” (“%s” for Plex)"), shown_local, shown_plex);
    }

  if (locations[0] == '\0')
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_IN_LIBRARY,
                   _("%s is not in any Plex library folder"),
                   shown_path);
    }
  else if (rule == NULL)
    {
      /* Translators: the second %s lists libraries and their folders */
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_IN_LIBRARY,
                   _("%s is not in any Plex library folder (%s)"),
                   shown_path, locations);
    }
  else
    {
      g_autofree char *shown_rule = spyglass_path_display_name (rule);

      /* Translators: the second %s lists libraries and their folders, the
       * third is a rule LOCAL=PLEX, as in /mnt/nas/Music=/data/music */
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_IN_LIBRARY,
                   _("%s is not in any Plex library folder (%s). Add the path mapping %s"),
                   shown_path, locations, shown_rule);
    }
}

static GPtrArray *
route (const char  *local_path,
       const char  *plex_path,
       GPtrArray   *sections,
       const char  *only_section_key,
       gboolean     force,
       GError     **error)
{
  g_autoptr(GPtrArray) considered = NULL;
  g_autoptr(GPtrArray) targets = NULL;
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (plex_path != NULL, NULL);
  g_return_val_if_fail (sections != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  considered = g_ptr_array_new ();
  for (guint s = 0; s < sections->len; s++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, s);

      if (only_section_key == NULL || g_strcmp0 (section->key, only_section_key) == 0)
        g_ptr_array_add (considered, section);
    }

  if (only_section_key != NULL && considered->len == 0)
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_SECTION_NOT_FOUND,
                           _("Library section not found"));
      return NULL;
    }

  normalized = spyglass_path_normalize (plex_path);
  targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);

  for (guint s = 0; s < considered->len; s++)
    {
      SpyglassSection *section = g_ptr_array_index (considered, s);
      gboolean inside = FALSE;
      gboolean whole = FALSE;

      for (guint l = 0; section->locations[l] != NULL; l++)
        {
          const char *location = section->locations[l];

          if (spyglass_path_is_within (normalized, location))
            {
              inside = TRUE;
              if (spyglass_path_is_within (location, normalized))
                whole = TRUE;
            }
        }

      /* One target per section, even when nested Locations both hold it. */
      if (inside)
        g_ptr_array_add (targets, spyglass_scan_target_new (section, whole ? NULL : normalized, force));
    }

  if (targets->len == 0)
    {
      set_not_in_library_error (error, local_path, plex_path, considered);
      return NULL;
    }

  return g_steal_pointer (&targets);
}

GPtrArray *
spyglass_route_path (const char  *plex_path,
                     GPtrArray   *sections,
                     const char  *only_section_key,
                     gboolean     force,
                     GError     **error)
{
  return route (plex_path, plex_path, sections, only_section_key, force, error);
}

GPtrArray *
spyglass_route_local_path (SpyglassPathMap  *map,
                           const char       *local_path,
                           GPtrArray        *sections,
                           const char       *only_section_key,
                           gboolean          force,
                           GError          **error)
{
  g_autofree char *normalized = NULL;
  g_autofree char *plex_path = NULL;

  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (local_path != NULL, NULL);

  normalized = spyglass_path_normalize (local_path);
  plex_path = spyglass_path_map_apply (map, normalized);
  return route (normalized, plex_path, sections, only_section_key, force, error);
}
