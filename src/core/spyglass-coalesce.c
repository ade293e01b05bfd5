/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-path-map.h"
#include "spyglass-route.h"

/* One requested folder of a group, and where it was first asked for. */
typedef struct
{
  char     *path;      /* normalized */
  guint     position;  /* index in the input of the earliest request it covers */
  gboolean  dropped;   /* covered by another folder of the group */
} Folder;

/* The targets of one section with one value of force. */
typedef struct
{
  SpyglassSection *section;  /* borrowed from the first target of the group */
  gboolean         force;
  guint            position; /* index in the input of its first target */
  gboolean         whole;
  GArray          *folders;  /* of Folder, in order of first appearance */
} Group;

/* An output target and the input position it stands for. */
typedef struct
{
  SpyglassScanTarget *target;
  guint               position;
} Placed;

static void
folder_clear (gpointer data)
{
  Folder *folder = data;

  g_clear_pointer (&folder->path, g_free);
}

static void
group_free (gpointer data)
{
  Group *group = data;

  g_array_unref (group->folders);
  g_free (group);
}

static Group *
find_group (GPtrArray          *groups,
            SpyglassScanTarget *target,
            guint               position)
{
  Group *group;

  for (guint i = 0; i < groups->len; i++)
    {
      group = g_ptr_array_index (groups, i);
      if (!group->force == !target->force &&
          g_strcmp0 (group->section->key, target->section->key) == 0)
        return group;
    }

  group = g_new0 (Group, 1);
  group->section = target->section;
  group->force = !!target->force;
  group->position = position;
  group->folders = g_array_new (FALSE, TRUE, sizeof (Folder));
  g_array_set_clear_func (group->folders, folder_clear);
  g_ptr_array_add (groups, group);
  return group;
}

/* Drops every folder that is equal to an earlier one or lies below
 * another; a kept folder takes the earliest position of those it covers.
 * Returns how many are kept.  Compares every pair: for any kind of path. */
static guint
drop_covered_folders_pairwise (GArray *folders)
{
  guint kept = 0;

  for (guint i = 0; i < folders->len; i++)
    {
      Folder *folder = &g_array_index (folders, Folder, i);

      for (guint j = 0; j < folders->len && !folder->dropped; j++)
        {
          Folder *other = &g_array_index (folders, Folder, j);
          gboolean within;
          gboolean same;

          if (i == j)
            continue;

          within = spyglass_path_is_within (folder->path, other->path);
          same = within && spyglass_path_is_within (other->path, folder->path);
          if (within && (!same || j < i))
            folder->dropped = TRUE;
        }
    }

  for (guint i = 0; i < folders->len; i++)
    {
      Folder *folder = &g_array_index (folders, Folder, i);

      if (folder->dropped)
        continue;

      kept++;
      for (guint j = 0; j < folders->len; j++)
        {
          Folder *other = &g_array_index (folders, Folder, j);

          if (other->dropped &&
              other->position < folder->position &&
              spyglass_path_is_within (other->path, folder->path))
            folder->position = other->position;
        }
    }

  return kept;
}

/* The first appearance of the topmost folder of @first (normalized path
 * → index + 1 in @folders) that lies above @path, or NULL.  For absolute
 * POSIX paths only: a normalized one holds no "//" and ends in '/' only
 * when it is "/", so the folders above it are the prefixes that end
 * before one of its '/', and "/". */
static Folder *
find_topmost_above (GArray     *folders,
                    GHashTable *first,
                    const char *path)
{
  g_autofree char *prefix = NULL;
  gpointer index;

  if (path[1] == '\0')
    return NULL;

  index = g_hash_table_lookup (first, "/");
  if (index != NULL)
    return &g_array_index (folders, Folder, GPOINTER_TO_UINT (index) - 1);

  prefix = g_strdup (path);
  for (char *p = prefix + 1; *p != '\0'; p++)
    {
      if (*p != '/')
        continue;

      *p = '\0';
      index = g_hash_table_lookup (first, prefix);
      *p = '/';
      if (index != NULL)
        return &g_array_index (folders, Folder, GPOINTER_TO_UINT (index) - 1);
    }

  return NULL;
}

/* The same as drop_covered_folders_pairwise() when every folder is an
 * absolute POSIX path, as Plex gives them on every system but Windows:
 * then a folder's ancestors can be looked up by name, and a burst of N
 * folders costs N lookups a level instead of N² comparisons. */
static guint
drop_covered_folders_by_name (GArray *folders)
{
  g_autoptr(GHashTable) first = g_hash_table_new (g_str_hash, g_str_equal);
  guint kept = 0;

  for (guint i = 0; i < folders->len; i++)
    {
      Folder *folder = &g_array_index (folders, Folder, i);

      if (g_hash_table_contains (first, folder->path))
        folder->dropped = TRUE;
      else
        g_hash_table_insert (first, folder->path, GUINT_TO_POINTER (i + 1));
    }

  /* Of the folders above one, only the topmost is kept: it covers all
   * the others and takes the earliest position among them. */
  for (guint i = 0; i < folders->len; i++)
    {
      Folder *folder = &g_array_index (folders, Folder, i);
      Folder *top = find_topmost_above (folders, first, folder->path);

      if (top == NULL)
        continue;

      folder->dropped = TRUE;
      top->position = MIN (top->position, folder->position);
    }

  for (guint i = 0; i < folders->len; i++)
    if (!g_array_index (folders, Folder, i).dropped)
      kept++;

  return kept;
}

static guint
drop_covered_folders (GArray *folders)
{
  for (guint i = 0; i < folders->len; i++)
    if (g_array_index (folders, Folder, i).path[0] != '/')
      return drop_covered_folders_pairwise (folders);

  return drop_covered_folders_by_name (folders);
}

static int
compare_placed (gconstpointer a,
                gconstpointer b)
{
  const Placed *pa = a;
  const Placed *pb = b;

  return (pa->position > pb->position) - (pa->position < pb->position);
}

GPtrArray *
spyglass_coalesce (GPtrArray *targets,
                   guint      threshold)
{
  g_autoptr(GPtrArray) groups = NULL;
  g_autoptr(GArray) placed = NULL;
  GPtrArray *result;

  g_return_val_if_fail (targets != NULL, NULL);

  groups = g_ptr_array_new_with_free_func (group_free);
  for (guint i = 0; i < targets->len; i++)
    {
      SpyglassScanTarget *target = g_ptr_array_index (targets, i);
      Group *group;

      g_return_val_if_fail (target != NULL && target->section != NULL, NULL);

      group = find_group (groups, target, i);
      if (target->path == NULL)
        {
          group->whole = TRUE;
        }
      else if (!group->whole)
        {
          Folder folder = { spyglass_path_normalize (target->path), i, FALSE };

          g_array_append_val (group->folders, folder);
        }
    }

  /* Every output target stands at the earliest request it answers, so a
   * burst is sent in the order it arrived. */
  placed = g_array_new (FALSE, FALSE, sizeof (Placed));
  for (guint g = 0; g < groups->len; g++)
    {
      Group *group = g_ptr_array_index (groups, g);
      Placed entry;
      guint kept;

      kept = group->whole ? 0 : drop_covered_folders (group->folders);
      if (group->whole || (threshold > 0 && kept > threshold))
        {
          entry.target = spyglass_scan_target_new (group->section, NULL, group->force);
          entry.position = group->position;
          g_array_append_val (placed, entry);
          continue;
        }

      for (guint f = 0; f < group->folders->len; f++)
        {
          Folder *folder = &g_array_index (group->folders, Folder, f);

          if (folder->dropped)
            continue;

          entry.target = spyglass_scan_target_new (group->section, folder->path, group->force);
          entry.position = folder->position;
          g_array_append_val (placed, entry);
        }
    }

  g_array_sort (placed, compare_placed);

  result = g_ptr_array_new_full (placed->len, (GDestroyNotify) spyglass_scan_target_free);
  for (guint i = 0; i < placed->len; i++)
    g_ptr_array_add (result, g_array_index (placed, Placed, i).target);

  return result;
}
