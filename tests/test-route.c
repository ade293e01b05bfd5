/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "spyglass-core.h"

/* Sections as GET /library/sections would give them. */
static GPtrArray *
sections_new (const char *key,
              ...) G_GNUC_NULL_TERMINATED;

/* sections_new ("1", "Music", "/data/music", "/srv/more music", NULL,
 *               "2", "Movies", "/data/movies", NULL, NULL) */
static GPtrArray *
sections_new (const char *key,
              ...)
{
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_section_unref);
  va_list args;

  va_start (args, key);
  while (key != NULL)
    {
      const char *title = va_arg (args, const char *);
      g_autoptr(GPtrArray) locations = g_ptr_array_new ();
      const char *location;

      while ((location = va_arg (args, const char *)) != NULL)
        g_ptr_array_add (locations, (gpointer) location);
      g_ptr_array_add (locations, NULL);

      g_ptr_array_add (sections, spyglass_section_new (key, "artist", title,
                                                       (const char * const *) locations->pdata));
      key = va_arg (args, const char *);
    }
  va_end (args);

  return sections;
}

static GPtrArray *
music_and_movies_new (void)
{
  return sections_new ("1", "Music", "/data/music", "/srv/more music", NULL,
                       "2", "Music Hi-Res", "/data/music-hires", NULL,
                       "3", "Movies", "/data/movies", NULL,
                       NULL);
}

/* Targets as one string, "key:path" or "key:*" for a whole library, with
 * "!" after the key for force, separated by " | ". */
static char *
describe_targets (GPtrArray *targets)
{
  GString *str = g_string_new (NULL);

  for (guint i = 0; i < targets->len; i++)
    {
      SpyglassScanTarget *target = g_ptr_array_index (targets, i);

      if (i > 0)
        g_string_append (str, " | ");
      g_string_append_printf (str, "%s%s:%s",
                              target->section->key,
                              target->force ? "!" : "",
                              target->path != NULL ? target->path : "*");
    }

  return g_string_free (str, FALSE);
}

static void
assert_routes_to (const char *plex_path,
                  GPtrArray  *sections,
                  const char *only_section_key,
                  gboolean    force,
                  const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) targets = NULL;
  g_autofree char *described = NULL;

  targets = spyglass_route_path (plex_path, sections, only_section_key, force, &error);
  g_assert_no_error (error);
  g_assert_nonnull (targets);
  g_assert_cmpuint (targets->len, >, 0);
  described = describe_targets (targets);
  g_assert_cmpstr (described, ==, expected);
}

static char *
route_error_message (const char *plex_path,
                     GPtrArray  *sections,
                     const char *only_section_key,
                     int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) targets = NULL;

  targets = spyglass_route_path (plex_path, sections, only_section_key, FALSE, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (targets);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_null (strchr (error->message, '\n'));
  return g_strdup (error->message);
}

static void
test_route_single (void)
{
  g_autoptr(GPtrArray) sections = music_and_movies_new ();

  assert_routes_to ("/data/music/Pink Floyd", sections, NULL, FALSE, "1:/data/music/Pink Floyd");
  assert_routes_to ("/data/music/Pink Floyd/Animals/", sections, NULL, FALSE,
                    "1:/data/music/Pink Floyd/Animals");
  assert_routes_to ("/data/movies//Alien (1979)", sections, NULL, FALSE, "3:/data/movies/Alien (1979)");
  assert_routes_to ("/data/music/Pink Floyd", sections, NULL, TRUE, "1!:/data/music/Pink Floyd");
}

static void
test_route_prefix_trap (void)
{
  g_autoptr(GPtrArray) sections = music_and_movies_new ();

  /* "/data/music" is a string prefix of "/data/music-hires", not a folder of it. */
  assert_routes_to ("/data/music-hires/Album", sections, NULL, FALSE, "2:/data/music-hires/Album");
  assert_routes_to ("/data/music-hires", sections, NULL, FALSE, "2:*");
  assert_routes_to ("/data/music/Album", sections, NULL, FALSE, "1:/data/music/Album");
}

static void
test_route_multi_location (void)
{
  g_autoptr(GPtrArray) sections = music_and_movies_new ();

  assert_routes_to ("/srv/more music/Album", sections, NULL, FALSE, "1:/srv/more music/Album");
  assert_routes_to ("/srv/more music", sections, NULL, FALSE, "1:*");
  assert_routes_to ("/data/music", sections, NULL, FALSE, "1:*");
}

static void
test_route_two_libraries (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/data/music", NULL,
                                                "2", "Movies", "/data/movies", NULL,
                                                "5", "Everything", "/srv", "/data", NULL,
                                                NULL);

  /* Every library holding the folder gets a scan, in section order. */
  assert_routes_to ("/data/music/A", sections, NULL, FALSE, "1:/data/music/A | 5:/data/music/A");
  assert_routes_to ("/data/music", sections, NULL, FALSE, "1:* | 5:/data/music");
  assert_routes_to ("/data", sections, NULL, FALSE, "5:*");
  assert_routes_to ("/srv/x", sections, NULL, FALSE, "5:/srv/x");
}

static void
test_route_location_itself (void)
{
  g_autoptr(GPtrArray) sections = music_and_movies_new ();

  assert_routes_to ("/data/music", sections, NULL, FALSE, "1:*");
  assert_routes_to ("/data/music/", sections, NULL, FALSE, "1:*");
  assert_routes_to ("//data//music//", sections, NULL, FALSE, "1:*");
  assert_routes_to ("/data/movies", sections, NULL, TRUE, "3!:*");
}

static void
test_route_nested_locations (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/data", "/data/music", NULL, NULL);

  /* One target per library, even when two of its Locations hold the path. */
  assert_routes_to ("/data/music/A", sections, NULL, FALSE, "1:/data/music/A");
  assert_routes_to ("/data/music", sections, NULL, FALSE, "1:*");
}

static void
test_route_windows_locations (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "O:\\Media\\Music", NULL,
                                                "2", "Share", "\\\\nas\\share", NULL,
                                                NULL);

  assert_routes_to ("O:\\Media\\Music\\Pink Floyd", sections, NULL, FALSE, "1:O:\\Media\\Music\\Pink Floyd");
  assert_routes_to ("O:\\Media\\Music\\", sections, NULL, FALSE, "1:*");
  assert_routes_to ("\\\\nas\\share\\A", sections, NULL, FALSE, "2:\\\\nas\\share\\A");
}

static void
test_route_non_utf8 (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Musique", "/data/m\xe9lodie", NULL, NULL);
  g_autofree char *message = NULL;

  assert_routes_to ("/data/m\xe9lodie/Caf\xe9", sections, NULL, FALSE, "1:/data/m\xe9lodie/Caf\xe9");
  message = route_error_message ("/data/m\xc3\xa9lodie", sections, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_true (g_str_has_prefix (message, "“/data/mélodie” is not in any Plex library folder (Musique: /data/m"));
}

static void
test_route_only_section (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/data/music", NULL,
                                                "5", "Everything", "/data", NULL,
                                                NULL);
  g_autofree char *missing = NULL;
  g_autofree char *outside = NULL;

  assert_routes_to ("/data/music/A", sections, "1", FALSE, "1:/data/music/A");
  assert_routes_to ("/data/music/A", sections, "5", FALSE, "5:/data/music/A");
  assert_routes_to ("/data/music", sections, "5", TRUE, "5!:/data/music");

  missing = route_error_message ("/data/music/A", sections, "99", SPYGLASS_ERROR_SECTION_NOT_FOUND);
  g_assert_cmpstr (missing, ==, "Library section not found");

  /* The message names only the library that was asked for. */
  outside = route_error_message ("/data/movies/A", sections, "1", SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (outside, ==, "“/data/movies/A” is not in any Plex library folder (Music: /data/music)");
}

static void
test_route_not_in_library (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/data/music", "/srv/more music", NULL,
                                                "3", "Movies", "/data/movies", NULL,
                                                NULL);
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GPtrArray) empty = sections_new ("1", "Empty", NULL, NULL);
  g_autofree char *suggested = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *no_sections = NULL;
  g_autofree char *no_locations = NULL;
  g_autofree char *newline = NULL;

  suggested = route_error_message ("/mnt/nas/Music/Pink Floyd", sections, NULL,
                                   SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (suggested, ==,
                   "“/mnt/nas/Music/Pink Floyd” is not in any Plex library folder "
                   "(Music: /data/music, /srv/more music; Movies: /data/movies). "
                   "Add the path mapping /mnt/nas/Music=/data/music");

  plain = route_error_message ("/home/me/Downloads", sections, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (plain, ==,
                   "“/home/me/Downloads” is not in any Plex library folder "
                   "(Music: /data/music, /srv/more music; Movies: /data/movies)");

  no_sections = route_error_message ("/data/music/A", none, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (no_sections, ==, "“/data/music/A” is not in any Plex library folder");

  no_locations = route_error_message ("/data/music/A", empty, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (no_locations, ==, "“/data/music/A” is not in any Plex library folder");

  /* A newline in a folder name does not break the one-line message. */
  newline = route_error_message ("/mnt/a\nb", sections, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_true (g_str_has_prefix (newline, "“/mnt/a\xef\xbf\xbd" "b”"));

  /* The trap again: not a folder of /data/music, and no suggestion either,
   * since no folder is named "music" or "movies". */
  g_clear_pointer (&plain, g_free);
  plain = route_error_message ("/data/music2/A", sections, NULL, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_true (g_str_has_prefix (plain, "“/data/music2/A” is not in any Plex library folder (Music:"));
  g_assert_null (strstr (plain, "Add the path mapping"));
}

static void
assert_suggests (const char *path,
                 GPtrArray  *sections,
                 const char *expected)
{
  g_autofree char *rule = spyglass_route_suggest_mapping (path, sections);

  g_assert_cmpstr (rule, ==, expected);
}

static void
test_suggest_mapping (void)
{
  g_autoptr(GPtrArray) music = sections_new ("1", "Music", "/data/music", NULL,
                                             "2", "Other music", "/srv/music", NULL,
                                             "3", "Media", "/volume1/media/music", NULL,
                                             NULL);
  g_autoptr(GPtrArray) windows = sections_new ("1", "Music", "O:\\Media\\Music", NULL, NULL);
  g_autoptr(GPtrArray) bytes = sections_new ("1", "Musique", "/data/m\xe9lodie", NULL, NULL);
  g_autoptr(GPtrArray) utf8 = sections_new ("1", "Musique", "/data/mélodie", NULL, NULL);
  g_autoptr(GPtrArray) root = sections_new ("1", "All", "/", NULL, NULL);

  /* Same last name (ignoring case): the first Location wins the tie. */
  assert_suggests ("/mnt/nas/Music/Pink Floyd", music, "/mnt/nas/Music=/data/music");
  assert_suggests ("/mnt/nas/music", music, "/mnt/nas/music=/data/music");
  /* More trailing names in common beats order. */
  assert_suggests ("/mnt/Media/Music/Pink Floyd/Animals", music,
                   "/mnt/Media/Music=/volume1/media/music");
  /* Already in a library: no rule needed. */
  assert_suggests ("/volume1/media/music/A", music, NULL);
  assert_suggests ("/data/music", music, NULL);
  /* The outermost of equally good folders. */
  assert_suggests ("/mnt/music/x/music/y", music, "/mnt/music=/data/music");
  assert_suggests ("/home/me/Downloads", music, NULL);
  assert_suggests ("music/A", music, NULL);

  assert_suggests ("/mnt/nas/music/A", windows, "/mnt/nas/music=O:\\Media\\Music");
  assert_suggests ("/mnt/Media/Music", windows, "/mnt/Media/Music=O:\\Media\\Music");

  /* Not UTF-8: only an exact match counts. */
  assert_suggests ("/mnt/m\xe9lodie/x", bytes, "/mnt/m\xe9lodie=/data/m\xe9lodie");
  assert_suggests ("/mnt/M\xc9LODIE/x", bytes, NULL);
  assert_suggests ("/mnt/MÉLODIE/x", utf8, "/mnt/MÉLODIE=/data/mélodie");

  /* A Location "/" has no name to look for. */
  assert_suggests ("/mnt/x", root, NULL);
}

/* Targets for coalescing, from "key:path", "key:*" and "key!:path". */
static GPtrArray *
targets_new (GPtrArray          *sections,
             const char * const *specs)
{
  GPtrArray *targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);

  for (guint i = 0; specs[i] != NULL; i++)
    {
      const char *colon = strchr (specs[i], ':');
      g_autofree char *key = g_strndup (specs[i], colon - specs[i]);
      gboolean force = g_str_has_suffix (key, "!");
      SpyglassSection *section = NULL;

      if (force)
        key[strlen (key) - 1] = '\0';

      for (guint s = 0; s < sections->len; s++)
        {
          SpyglassSection *candidate = g_ptr_array_index (sections, s);

          if (g_str_equal (candidate->key, key))
            section = candidate;
        }
      g_assert_nonnull (section);

      g_ptr_array_add (targets, spyglass_scan_target_new (section,
                                                          g_str_equal (colon + 1, "*") ? NULL : colon + 1,
                                                          force));
    }

  return targets;
}

static void
assert_coalesces_to (const char * const *specs,
                     guint               threshold,
                     const char         *expected)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/a", NULL,
                                                "2", "Movies", "/m", NULL,
                                                "3", "Shows", "/s", NULL,
                                                NULL);
  g_autoptr(GPtrArray) targets = targets_new (sections, specs);
  g_autoptr(GPtrArray) coalesced = NULL;
  g_autofree char *before = describe_targets (targets);
  g_autofree char *after = NULL;
  g_autofree char *described = NULL;

  coalesced = spyglass_coalesce (targets, threshold);
  g_assert_nonnull (coalesced);
  described = describe_targets (coalesced);
  g_assert_cmpstr (described, ==, expected);

  /* The input is untouched and shares no target with the output. */
  after = describe_targets (targets);
  g_assert_cmpstr (after, ==, before);
  for (guint i = 0; i < coalesced->len; i++)
    {
      guint index;

      g_assert_false (g_ptr_array_find (targets, g_ptr_array_index (coalesced, i), &index));
    }
}

static void
test_coalesce_empty (void)
{
  const char * const specs[] = { NULL };

  assert_coalesces_to (specs, 10, "");
}

static void
test_coalesce_duplicates (void)
{
  const char * const specs[] = { "1:/a/x", "1:/a/x", "1:/a/x/", "1://a//x", "2:/m/y", "1:/a/x", NULL };

  assert_coalesces_to (specs, 10, "1:/a/x | 2:/m/y");
}

static void
test_coalesce_nested (void)
{
  const char * const specs[] = { "1:/a/x/y", "1:/a/z", "1:/a/x", "1:/a/x/y/w", "1:/a/xx", NULL };
  const char * const across[] = { "1:/a/x/y", "2:/a/x", NULL };

  /* /a/x covers /a/x/y, which was asked for first: it takes its place. */
  assert_coalesces_to (specs, 10, "1:/a/x | 1:/a/z | 1:/a/xx");
  /* Folders of different libraries never cover each other. */
  assert_coalesces_to (across, 10, "1:/a/x/y | 2:/a/x");
}

static void
test_coalesce_whole_absorbs (void)
{
  const char * const specs[] = { "2:/m/y", "1:/a/x", "3:/s/q", "1:*", "1:/a/z", "1:*", NULL };
  const char * const first[] = { "1:*", "1:/a/x", "2:/m/y", NULL };

  assert_coalesces_to (specs, 10, "2:/m/y | 1:* | 3:/s/q");
  assert_coalesces_to (first, 10, "1:* | 2:/m/y");
}

static void
assert_threshold (guint        n_folders,
                  guint        n_nested,
                  guint        threshold,
                  const char  *expected_prefix,
                  guint        expected_len)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/a", NULL,
                                                "2", "Movies", "/m", NULL,
                                                NULL);
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);
  g_autoptr(GPtrArray) coalesced = NULL;
  g_autofree char *described = NULL;

  g_ptr_array_add (targets, spyglass_scan_target_new (g_ptr_array_index (sections, 1), "/m/first", FALSE));
  for (guint i = 0; i < n_folders; i++)
    {
      g_autofree char *path = g_strdup_printf ("/a/album %u", i);

      g_ptr_array_add (targets, spyglass_scan_target_new (g_ptr_array_index (sections, 0), path, FALSE));
      /* Repeats do not count as distinct folders. */
      g_ptr_array_add (targets, spyglass_scan_target_new (g_ptr_array_index (sections, 0), path, FALSE));
    }
  for (guint i = 0; i < n_nested; i++)
    {
      g_autofree char *path = g_strdup_printf ("/a/album 0/disc %u", i);

      g_ptr_array_add (targets, spyglass_scan_target_new (g_ptr_array_index (sections, 0), path, FALSE));
    }
  g_ptr_array_add (targets, spyglass_scan_target_new (g_ptr_array_index (sections, 1), "/m/last", FALSE));

  coalesced = spyglass_coalesce (targets, threshold);
  described = describe_targets (coalesced);
  g_test_message ("%s", described);
  g_assert_cmpuint (coalesced->len, ==, expected_len);
  g_assert_true (g_str_has_prefix (described, expected_prefix));
  g_assert_true (g_str_has_suffix (described, "2:/m/last"));
}

static void
test_coalesce_threshold (void)
{
  /* 11 distinct folders in one library: one whole-library scan. */
  assert_threshold (11, 0, 10, "2:/m/first | 1:* | 2:/m/last", 3);
  assert_threshold (50, 0, 10, "2:/m/first | 1:* | 2:/m/last", 3);
  /* 10 stay 10. */
  assert_threshold (10, 0, 10, "2:/m/first | 1:/a/album 0 | 1:/a/album 1 | ", 12);
  /* Nested folders are dropped before counting. */
  assert_threshold (10, 5, 10, "2:/m/first | 1:/a/album 0 | 1:/a/album 1 | ", 12);
  /* 0 turns the threshold off. */
  assert_threshold (50, 0, 0, "2:/m/first | 1:/a/album 0 | 1:/a/album 1 | ", 52);
}

static void
test_coalesce_threshold_small (void)
{
  const char * const specs[] = { "2:/m/q", "1:/a/x", "1:/a/y", "3:/s/p", "1:/a/x", NULL };

  /* The threshold counts per library: 2 > 1 in Music only. */
  assert_coalesces_to (specs, 1, "2:/m/q | 1:* | 3:/s/p");
  assert_coalesces_to (specs, 2, "2:/m/q | 1:/a/x | 1:/a/y | 3:/s/p");
}

static void
test_coalesce_force_separate (void)
{
  const char * const specs[] = { "1!:/a/x", "1:/a/x", "1!:*", "1:/a/z", "1!:/a/y", "2!:/m/q", "2:/m", NULL };
  const char * const nested[] = { "1:/a/x/y", "1!:/a/x", "1:/a/x/y", NULL };

  assert_coalesces_to (specs, 10, "1!:* | 1:/a/x | 1:/a/z | 2!:/m/q | 2:/m");
  assert_coalesces_to (nested, 10, "1:/a/x/y | 1!:/a/x");
}

static void
test_coalesce_order (void)
{
  const char * const specs[] = { "2:/m/x", "1:/a/a", "3:/s/m", "1:/a/b", "2:/m/y", "3:/s/a", NULL };

  assert_coalesces_to (specs, 10, "2:/m/x | 1:/a/a | 3:/s/m | 1:/a/b | 2:/m/y | 3:/s/a");
}

static void
test_coalesce_sections_by_key (void)
{
  g_autoptr(SpyglassSection) first = spyglass_section_new ("1", "artist", "Music", NULL);
  g_autoptr(SpyglassSection) reloaded = spyglass_section_new ("1", "artist", "Music", NULL);
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);
  g_autoptr(GPtrArray) coalesced = NULL;
  SpyglassScanTarget *target;

  g_ptr_array_add (targets, spyglass_scan_target_new (first, "/a/x", FALSE));
  g_ptr_array_add (targets, spyglass_scan_target_new (reloaded, "/a/x", FALSE));
  g_ptr_array_add (targets, spyglass_scan_target_new (reloaded, NULL, FALSE));

  coalesced = spyglass_coalesce (targets, 10);
  g_clear_pointer (&targets, g_ptr_array_unref);

  /* Still valid once the input is gone: the output holds its own refs. */
  g_assert_cmpuint (coalesced->len, ==, 1);
  target = g_ptr_array_index (coalesced, 0);
  g_assert_true (target->section == first);
  g_assert_null (target->path);
  g_assert_false (target->force);
}

/* Windows paths (a Plex server on Windows) are compared pair by pair:
 * drive letters in any case, either separator. */
static void
test_coalesce_windows (void)
{
  const char * const specs[] = { "1:O:\\Media\\x\\y", "1:O:\\Media\\z", "1:o:/Media/x",
                                 "1:O:\\Media\\z\\", NULL };
  const char * const mixed[] = { "1:/a/x/y", "1:O:\\a", "1:/a/x", NULL };

  assert_coalesces_to (specs, 10, "1:o:/Media/x | 1:O:\\Media\\z");
  assert_coalesces_to (mixed, 10, "1:/a/x | 1:O:\\a");
}

/* The rules, as plainly as they can be written: every pair compared. */
static char *
coalesce_reference (GPtrArray *targets,
                    guint      threshold)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) positions = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree gboolean *seen = g_new0 (gboolean, targets->len);
  g_autoptr(GString) str = g_string_new (NULL);
  g_autofree guint *order = NULL;

  for (guint g = 0; g < targets->len; g++)
    {
      SpyglassScanTarget *head = g_ptr_array_index (targets, g);
      g_autoptr(GPtrArray) members = g_ptr_array_new ();
      g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GArray) indexes = g_array_new (FALSE, FALSE, sizeof (guint));
      gboolean whole = FALSE;
      guint kept = 0;

      if (seen[g])
        continue;

      /* The group of @head: same section key, same force. */
      for (guint i = g; i < targets->len; i++)
        {
          SpyglassScanTarget *target = g_ptr_array_index (targets, i);

          if (!g_str_equal (target->section->key, head->section->key) || !target->force != !head->force)
            continue;
          seen[i] = TRUE;
          if (target->path == NULL)
            whole = TRUE;
          else
            {
              g_ptr_array_add (paths, spyglass_path_normalize (target->path));
              g_array_append_val (indexes, i);
            }
        }

      for (guint i = 0; i < paths->len && !whole; i++)
        {
          gboolean dropped = FALSE;

          for (guint j = 0; j < paths->len && !dropped; j++)
            {
              gboolean within = i != j && spyglass_path_is_within (paths->pdata[i], paths->pdata[j]);
              gboolean same = within && spyglass_path_is_within (paths->pdata[j], paths->pdata[i]);

              dropped = within && (!same || j < i);
            }
          if (!dropped)
            {
              g_ptr_array_add (members, paths->pdata[i]);
              kept++;
            }
        }

      if (whole || (threshold > 0 && kept > threshold))
        {
          g_ptr_array_add (out, g_strdup_printf ("%s%s:*", head->section->key, head->force ? "!" : ""));
          g_array_append_val (positions, g);
          continue;
        }

      /* A kept folder stands where the first folder it covers stood. */
      for (guint m = 0; m < members->len; m++)
        {
          guint position = G_MAXUINT;

          for (guint i = 0; i < paths->len; i++)
            if (spyglass_path_is_within (paths->pdata[i], members->pdata[m]))
              position = MIN (position, g_array_index (indexes, guint, i));

          g_ptr_array_add (out, g_strdup_printf ("%s%s:%s", head->section->key,
                                                 head->force ? "!" : "", (char *) members->pdata[m]));
          g_array_append_val (positions, position);
        }
    }

  /* In order of position (all distinct). */
  order = g_new0 (guint, out->len);
  for (guint i = 0; i < out->len; i++)
    for (guint j = 0; j < out->len; j++)
      if (g_array_index (positions, guint, j) < g_array_index (positions, guint, i))
        order[i]++;
  for (guint rank = 0; rank < out->len; rank++)
    for (guint i = 0; i < out->len; i++)
      if (order[i] == rank)
        g_string_append_printf (str, "%s%s", rank > 0 ? " | " : "", (char *) out->pdata[i]);

  return g_strdup (str->str);
}

/* Random bursts against the plain rules: repeats, nesting at any depth,
 * "/" itself, names that are prefixes of others, separators to
 * normalize, whole libraries, force, two libraries, any threshold. */
static void
test_coalesce_random (void)
{
  g_autoptr(GPtrArray) sections = sections_new ("1", "Music", "/", NULL,
                                                "2", "Movies", "/m", NULL,
                                                NULL);
  const char * const names[] = { "a", "b", "ab", "a b", "a\\b", "b.", "é" };
  const guint thresholds[] = { 0, 1, 2, 3, 5, 10 };

  for (guint round = 0; round < 2000; round++)
    {
      g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);
      g_autoptr(GPtrArray) coalesced = NULL;
      g_autofree char *described = NULL;
      g_autofree char *expected = NULL;
      guint threshold = thresholds[g_test_rand_int_range (0, G_N_ELEMENTS (thresholds))];
      guint n = g_test_rand_int_range (0, 25);

      for (guint i = 0; i < n; i++)
        {
          SpyglassSection *section = g_ptr_array_index (sections, g_test_rand_int_range (0, 100) < 80 ? 0 : 1);
          gboolean force = g_test_rand_int_range (0, 100) < 10;
          g_autoptr(GString) path = g_string_new (section->key[0] == '1' ? "" : "/m");
          guint depth = g_test_rand_int_range (0, 4);

          if (g_test_rand_int_range (0, 100) < 3)
            {
              g_ptr_array_add (targets, spyglass_scan_target_new (section, NULL, force));
              continue;
            }

          for (guint d = 0; d < depth; d++)
            g_string_append_printf (path, "%s%s", g_test_rand_int_range (0, 10) == 0 ? "//" : "/",
                                    names[g_test_rand_int_range (0, G_N_ELEMENTS (names))]);
          if (path->len == 0 || g_test_rand_int_range (0, 10) == 0)
            g_string_append_c (path, '/');
          g_ptr_array_add (targets, spyglass_scan_target_new (section, path->str, force));
        }

      coalesced = spyglass_coalesce (targets, threshold);
      described = describe_targets (coalesced);
      expected = coalesce_reference (targets, threshold);
      if (g_strcmp0 (described, expected) != 0)
        {
          g_autofree char *input = describe_targets (targets);

          g_test_message ("threshold %u, input: %s", threshold, input);
        }
      g_assert_cmpstr (described, ==, expected);
    }
}

static void
test_scan_target (void)
{
  g_autoptr(SpyglassSection) section = spyglass_section_new ("7", "artist", "Music", NULL);
  g_autoptr(SpyglassScanTarget) folder = NULL;
  g_autoptr(SpyglassScanTarget) whole = NULL;
  char path[] = "/data/music/A";

  folder = spyglass_scan_target_new (section, path, FALSE);
  whole = spyglass_scan_target_new (section, NULL, TRUE);

  /* The target keeps its own copy of the path. */
  path[1] = 'X';
  g_assert_cmpstr (folder->path, ==, "/data/music/A");
  g_assert_true (folder->section == section);
  g_assert_false (folder->force);
  g_assert_null (whole->path);
  g_assert_true (whole->force);

  spyglass_scan_target_free (NULL);
}

/* Routing a local folder: mapped first; when the mapped path is in no
 * library the message names both, and the rule starts from the local
 * side, the one a new rule has to match. */
static void
test_route_local_path (void)
{
  g_autoptr(GPtrArray) sections = music_and_movies_new ();
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *described = NULL;

  g_assert_true (spyglass_path_map_add_rule (map, "/mnt/nas/music", "/data/music", NULL));
  g_assert_true (spyglass_path_map_add_rule (map, "/mnt/old", "/volume1", NULL));

  targets = spyglass_route_local_path (map, "/mnt/nas/music/Air/", sections, NULL, FALSE, &error);
  g_assert_no_error (error);
  described = describe_targets (targets);
  g_assert_cmpstr (described, ==, "1:/data/music/Air");

  g_clear_pointer (&targets, g_ptr_array_unref);
  targets = spyglass_route_local_path (map, "/mnt/old/Music/Air", sections, NULL, FALSE, &error);
  g_assert_null (targets);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_IN_LIBRARY);
  g_assert_cmpstr (error->message, ==,
                   "“/mnt/old/Music/Air” (“/volume1/Music/Air” for Plex) is not in any Plex "
                   "library folder (Music: /data/music, /srv/more music; Music Hi-Res: "
                   "/data/music-hires; Movies: /data/movies). Add the path mapping "
                   "/mnt/old/Music=/data/music");

  /* Without a rule the message is the plain one. */
  g_clear_error (&error);
  targets = spyglass_route_local_path (map, "/home/me/Music/Air", sections, NULL, FALSE, &error);
  g_assert_null (targets);
  g_assert_true (g_str_has_prefix (error->message, "“/home/me/Music/Air” is not in any Plex library folder ("));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/route/scan-target", test_scan_target);
  g_test_add_func ("/route/single", test_route_single);
  g_test_add_func ("/route/prefix-trap", test_route_prefix_trap);
  g_test_add_func ("/route/multi-location", test_route_multi_location);
  g_test_add_func ("/route/two-libraries", test_route_two_libraries);
  g_test_add_func ("/route/location-itself", test_route_location_itself);
  g_test_add_func ("/route/nested-locations", test_route_nested_locations);
  g_test_add_func ("/route/windows-locations", test_route_windows_locations);
  g_test_add_func ("/route/non-utf8", test_route_non_utf8);
  g_test_add_func ("/route/only-section", test_route_only_section);
  g_test_add_func ("/route/not-in-library", test_route_not_in_library);
  g_test_add_func ("/route/suggest-mapping", test_suggest_mapping);
  g_test_add_func ("/route/local-path", test_route_local_path);
  g_test_add_func ("/coalesce/empty", test_coalesce_empty);
  g_test_add_func ("/coalesce/duplicates", test_coalesce_duplicates);
  g_test_add_func ("/coalesce/nested", test_coalesce_nested);
  g_test_add_func ("/coalesce/whole-absorbs", test_coalesce_whole_absorbs);
  g_test_add_func ("/coalesce/threshold", test_coalesce_threshold);
  g_test_add_func ("/coalesce/threshold-small", test_coalesce_threshold_small);
  g_test_add_func ("/coalesce/force-separate", test_coalesce_force_separate);
  g_test_add_func ("/coalesce/order", test_coalesce_order);
  g_test_add_func ("/coalesce/sections-by-key", test_coalesce_sections_by_key);
  g_test_add_func ("/coalesce/windows", test_coalesce_windows);
  g_test_add_func ("/coalesce/random", test_coalesce_random);

  return g_test_run ();
}
