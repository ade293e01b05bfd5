/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "spyglass-error.h"
#include "spyglass-path-map.h"
#include "spyglass-path-private.h"

typedef struct
{
  char *local_prefix;  /* normalized, POSIX, absolute */
  char *plex_prefix;   /* normalized, POSIX or Windows, absolute */
} PathRule;

struct _SpyglassPathMap
{
  GArray *rules;  /* of PathRule, in the order they were added */
};

/* "O:\Media", "C:/x", "\\server\share", "Media\Music": the separators are
 * '\' (and '/' too, as Windows accepts both).  Anything else is POSIX,
 * where '\' is an ordinary character of a file name. */
static gboolean
path_is_windows (const char *path)
{
  if (g_ascii_isalpha (path[0]) && path[1] == ':' &&
      (path[2] == '\\' || path[2] == '/' || path[2] == '\0'))
    return TRUE;

  return strchr (path, '\\') != NULL && strchr (path, '/') == NULL;
}

static inline gboolean
is_separator (char     c,
              gboolean windows)
{
  return c == '/' || (windows && c == '\\');
}

static inline gboolean
has_drive (const char *path,
           gboolean    windows)
{
  return windows && g_ascii_isalpha (path[0]) && path[1] == ':';
}

/* How many bytes of @path are its root: "/", "C:\", "C:", or the "\\" of
 * a UNC path; 0 for a relative path. */
static gsize
root_length (const char *path,
             gboolean    windows)
{
  if (has_drive (path, windows))
    return is_separator (path[2], TRUE) ? 3 : 2;

  if (windows && is_separator (path[0], TRUE) && is_separator (path[1], TRUE))
    return 2;

  return is_separator (path[0], windows) ? 1 : 0;
}

static gboolean
roots_equal (const char *a,
             gsize       a_len,
             const char *b,
             gsize       b_len,
             gboolean    windows)
{
  if (a_len != b_len || has_drive (a, windows) != has_drive (b, windows))
    return FALSE;

  /* Drive letters are case-insensitive; any other root is separators
   * only, and the same length means the same kind. */
  if (has_drive (a, windows))
    return g_ascii_tolower (a[0]) == g_ascii_tolower (b[0]);

  return TRUE;
}

/* Skips separators at *@p and returns the length of the component there
 * (0 at the end of the path). */
static gsize
next_component (const char **p,
                gboolean     windows)
{
  const char *start = *p;
  const char *end;

  while (*start != '\0' && is_separator (*start, windows))
    start++;

  end = start;
  while (*end != '\0' && !is_separator (*end, windows))
    end++;

  *p = start;
  return end - start;
}

/* TRUE when @path is @prefix or below it, component-wise, in @prefix's
 * separator style; @remainder then points at what follows @prefix in
 * @path (leading separators skipped, "" when they are the same). */
static gboolean
path_match_prefix (const char  *path,
                   const char  *prefix,
                   const char **remainder)
{
  gboolean windows;
  gsize path_root;
  gsize prefix_root;
  const char *p;
  const char *x;

  if (path[0] == '\0' || prefix[0] == '\0')
    return FALSE;

  windows = path_is_windows (prefix);
  path_root = root_length (path, windows);
  prefix_root = root_length (prefix, windows);
  if (!roots_equal (path, path_root, prefix, prefix_root, windows))
    return FALSE;

  p = path + path_root;
  x = prefix + prefix_root;

  for (;;)
    {
      gsize x_len = next_component (&x, windows);
      gsize p_len;

      if (x_len == 0)
        break;

      p_len = next_component (&p, windows);
      if (p_len != x_len || memcmp (p, x, x_len) != 0)
        return FALSE;

      p += p_len;
      x += x_len;
    }

  while (*p != '\0' && is_separator (*p, windows))
    p++;

  if (remainder != NULL)
    *remainder = p;

  return TRUE;
}

gboolean
spyglass_path_is_within (const char *path,
                         const char *prefix)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (prefix != NULL, FALSE);

  return path_match_prefix (path, prefix, NULL);
}

static char *
normalize_path (const char *path,
                gboolean    windows)
{
  gsize root = root_length (path, windows);
  GString *str = g_string_new_len (path, root);
  const char *p = path + root;

  /* Separators right after the root add nothing: "//a" is "/a". */
  while (*p != '\0' && is_separator (*p, windows))
    p++;

  while (*p != '\0')
    {
      if (is_separator (*p, windows))
        {
          char separator = *p;

          while (*p != '\0' && is_separator (*p, windows))
            p++;

          /* A run of separators becomes its first one; a trailing run goes. */
          if (*p != '\0')
            g_string_append_c (str, separator);
        }
      else
        {
          g_string_append_c (str, *p++);
        }
    }

  return g_string_free (str, FALSE);
}

char *
spyglass_path_normalize (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return normalize_path (path, path_is_windows (path));
}

GStrv
spyglass_path_split (const char *path)
{
  gboolean windows;
  GPtrArray *components;
  const char *p;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  windows = path_is_windows (path);
  components = g_ptr_array_new ();
  p = path + root_length (path, windows);

  while ((len = next_component (&p, windows)) > 0)
    {
      g_ptr_array_add (components, g_strndup (p, len));
      p += len;
    }

  g_ptr_array_add (components, NULL);
  return (GStrv) g_ptr_array_free (components, FALSE);
}

char *
spyglass_path_truncate (const char *path,
                        guint       n_components)
{
  g_autofree char *normalized = NULL;
  gboolean windows;
  const char *p;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  windows = path_is_windows (path);
  normalized = normalize_path (path, windows);
  p = normalized + root_length (normalized, windows);

  for (guint i = 0; i < n_components; i++)
    {
      len = next_component (&p, windows);
      if (len == 0)
        break;
      p += len;
    }

  return g_strndup (normalized, p - normalized);
}

/* Replaces control characters (a newline in a folder name, say) so that
 * a message stays on one line.  @text must be valid UTF-8. */
static char *
replace_control_characters (const char *text)
{
  GString *str = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        g_string_append_unichar (str, 0xFFFD);
      else
        g_string_append_len (str, p, g_utf8_next_char (p) - p);
    }

  return g_string_free (str, FALSE);
}

char *
spyglass_path_display_name (const char *path)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  name = g_filename_display_name (path);
  return replace_control_characters (name);
}

char *
spyglass_display_text (const char *text)
{
  g_autofree char *valid = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  valid = g_utf8_make_valid (text, -1);
  return replace_control_characters (valid);
}

/* An absolute path as a Plex prefix may be: "/…", "C:\…" (or "C:/…"),
 * or a UNC path "\\server\share". */
static gboolean
is_absolute_plex_path (const char *path)
{
  if (path[0] == '/')
    return TRUE;

  if (g_ascii_isalpha (path[0]) && path[1] == ':' &&
      (path[2] == '\\' || path[2] == '/'))
    return TRUE;

  return path[0] == '\\' && path[1] == '\\';
}

static void
path_rule_clear (gpointer data)
{
  PathRule *rule = data;

  g_clear_pointer (&rule->local_prefix, g_free);
  g_clear_pointer (&rule->plex_prefix, g_free);
}

SpyglassPathMap *
spyglass_path_map_new (void)
{
  SpyglassPathMap *map = g_new0 (SpyglassPathMap, 1);

  map->rules = g_array_new (FALSE, TRUE, sizeof (PathRule));
  g_array_set_clear_func (map->rules, path_rule_clear);
  return map;
}

void
spyglass_path_map_free (SpyglassPathMap *map)
{
  if (map == NULL)
    return;

  g_array_unref (map->rules);
  g_free (map);
}

/* @shown_rule is the rule as the user wrote it, for the message. */
static gboolean
add_rule (SpyglassPathMap  *map,
          const char       *local_prefix,
          const char       *plex_prefix,
          const char       *shown_rule,
          GError          **error)
{
  PathRule rule;

  if (local_prefix[0] != '/')
    {
      g_autofree char *shown = spyglass_path_display_name (shown_rule);

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING,
                   _("Invalid path mapping “%s”: the local folder must be an absolute path, like /mnt/nas/Music"),
                   shown);
      return FALSE;
    }

  if (!is_absolute_plex_path (plex_prefix))
    {
      g_autofree char *shown = spyglass_path_display_name (shown_rule);

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING,
                   _("Invalid path mapping “%s”: the Plex folder must be an absolute path, like /data/music or O:\\Media"),
                   shown);
      return FALSE;
    }

  rule.local_prefix = normalize_path (local_prefix, FALSE);
  rule.plex_prefix = spyglass_path_normalize (plex_prefix);
  g_array_append_val (map->rules, rule);

  return TRUE;
}

gboolean
spyglass_path_map_add_rule (SpyglassPathMap  *map,
                            const char       *local_prefix,
                            const char       *plex_prefix,
                            GError          **error)
{
  g_autofree char *shown_rule = NULL;

  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (local_prefix != NULL, FALSE);
  g_return_val_if_fail (plex_prefix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  shown_rule = g_strconcat (local_prefix, "=", plex_prefix, NULL);
  return add_rule (map, local_prefix, plex_prefix, shown_rule, error);
}

gboolean
spyglass_path_map_add_rule_string (SpyglassPathMap  *map,
                                   const char       *rule,
                                   GError          **error)
{
  g_autofree char *local_prefix = NULL;
  gsize len;

  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (rule != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* From the right, so that a local folder may itself contain '=' (and
   * even "=/"): the Plex side is the shortest absolute tail. */
  for (len = strlen (rule); len > 0; len--)
    {
      if (rule[len - 1] == '=' && is_absolute_plex_path (rule + len))
        break;
    }

  if (len == 0)
    {
      g_autofree char *shown = spyglass_path_display_name (rule);

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING,
                   _("Invalid path mapping “%s”: write it as LOCAL=PLEX, like /mnt/nas/Music=/data/music"),
                   shown);
      return FALSE;
    }

  local_prefix = g_strndup (rule, len - 1);
  return add_rule (map, local_prefix, rule + len, rule, error);
}

guint
spyglass_path_map_get_n_rules (SpyglassPathMap *map)
{
  g_return_val_if_fail (map != NULL, 0);

  return map->rules->len;
}

void
spyglass_path_map_get_rule (SpyglassPathMap  *map,
                            guint             index,
                            const char      **local_prefix,
                            const char      **plex_prefix)
{
  const PathRule *rule;

  if (local_prefix != NULL)
    *local_prefix = NULL;
  if (plex_prefix != NULL)
    *plex_prefix = NULL;

  g_return_if_fail (map != NULL);
  g_return_if_fail (index < map->rules->len);

  rule = &g_array_index (map->rules, PathRule, index);
  if (local_prefix != NULL)
    *local_prefix = rule->local_prefix;
  if (plex_prefix != NULL)
    *plex_prefix = rule->plex_prefix;
}

char *
spyglass_path_map_apply (SpyglassPathMap *map,
                         const char      *local_path)
{
  g_autofree char *normalized = NULL;
  const PathRule *best = NULL;
  const char *best_remainder = NULL;
  gsize best_len = 0;
  gboolean windows;
  char separator;
  GString *result;

  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (local_path != NULL, NULL);

  /* Local paths are POSIX: a '\' is part of a file name. */
  normalized = normalize_path (local_path, FALSE);

  for (guint i = 0; i < map->rules->len; i++)
    {
      const PathRule *rule = &g_array_index (map->rules, PathRule, i);
      const char *remainder;
      gsize len = strlen (rule->local_prefix);

      /* Longest prefix wins; between equal prefixes, the first rule. */
      if (len > best_len &&
          path_match_prefix (normalized, rule->local_prefix, &remainder))
        {
          best = rule;
          best_len = len;
          best_remainder = remainder;
        }
    }

  if (best == NULL)
    return g_steal_pointer (&normalized);

  result = g_string_new (best->plex_prefix);
  if (best_remainder[0] == '\0')
    return g_string_free (result, FALSE);

  /* The remainder takes the Plex prefix's separator: '\\' for a Windows
   * prefix, unless it is written with '/' only ("D:/Media"). */
  windows = path_is_windows (best->plex_prefix);
  separator = windows && strchr (best->plex_prefix, '\\') != NULL ? '\\' : '/';
  if (!is_separator (result->str[result->len - 1], windows))
    g_string_append_c (result, separator);

  for (const char *p = best_remainder; *p != '\0'; p++)
    g_string_append_c (result, *p == '/' ? separator : *p);

  return g_string_free (result, FALSE);
}
