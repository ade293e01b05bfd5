/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "spyglass-core.h"
#include "spyglass-path-private.h"

static void
test_within_posix (void)
{
  g_assert_true (spyglass_path_is_within ("/mnt/music/a", "/mnt/music"));
  g_assert_true (spyglass_path_is_within ("/mnt/music/a/b/c", "/mnt/music"));
  g_assert_true (spyglass_path_is_within ("/mnt/music", "/mnt/music"));
  g_assert_true (spyglass_path_is_within ("/anything", "/"));
  g_assert_true (spyglass_path_is_within ("/", "/"));

  /* The trap: a common string prefix is not a common folder. */
  g_assert_false (spyglass_path_is_within ("/mnt/music2", "/mnt/music"));
  g_assert_false (spyglass_path_is_within ("/mnt/music2/a", "/mnt/music"));
  g_assert_false (spyglass_path_is_within ("/mnt/music-hires", "/mnt/music"));
  g_assert_false (spyglass_path_is_within ("/mnt/musi", "/mnt/music"));
  g_assert_false (spyglass_path_is_within ("/mnt", "/mnt/music"));
  g_assert_false (spyglass_path_is_within ("/srv/mnt/music", "/mnt/music"));

  /* Relative and absolute never mix; empty contains nothing. */
  g_assert_false (spyglass_path_is_within ("mnt/music", "/mnt"));
  g_assert_false (spyglass_path_is_within ("/mnt/music", "mnt"));
  g_assert_false (spyglass_path_is_within ("", "/"));
  g_assert_false (spyglass_path_is_within ("/mnt", ""));

  /* On POSIX a backslash is part of a name. */
  g_assert_false (spyglass_path_is_within ("/mnt/a\\b", "/mnt/a"));
  g_assert_true (spyglass_path_is_within ("/mnt/a\\b/c", "/mnt/a\\b"));
}

static void
test_within_separators (void)
{
  g_assert_true (spyglass_path_is_within ("/mnt/music/", "/mnt/music"));
  g_assert_true (spyglass_path_is_within ("/mnt/music", "/mnt/music/"));
  g_assert_true (spyglass_path_is_within ("/mnt/music/a/", "/mnt/music//"));
  g_assert_true (spyglass_path_is_within ("//mnt///music//a", "/mnt/music"));
  g_assert_true (spyglass_path_is_within ("/mnt/music/a", "//mnt//music"));
  g_assert_false (spyglass_path_is_within ("/mnt/music2/", "/mnt/music/"));
}

static void
test_within_windows (void)
{
  g_assert_true (spyglass_path_is_within ("O:\\Media\\Music", "O:\\Media"));
  g_assert_true (spyglass_path_is_within ("O:\\Media", "O:\\Media\\"));
  g_assert_true (spyglass_path_is_within ("o:\\Media\\Music", "O:\\Media"));
  g_assert_true (spyglass_path_is_within ("O:/Media/Music", "O:\\Media"));
  g_assert_true (spyglass_path_is_within ("O:\\Media\\Music", "O:\\"));
  g_assert_false (spyglass_path_is_within ("O:\\Media2", "O:\\Media"));
  g_assert_false (spyglass_path_is_within ("P:\\Media\\Music", "O:\\Media"));
  g_assert_false (spyglass_path_is_within ("/Media/Music", "O:\\Media"));

  g_assert_true (spyglass_path_is_within ("\\\\server\\share\\Music", "\\\\server\\share"));
  g_assert_true (spyglass_path_is_within ("\\\\server\\share", "\\\\server\\share\\"));
  g_assert_false (spyglass_path_is_within ("\\\\server\\share2", "\\\\server\\share"));
  g_assert_false (spyglass_path_is_within ("\\server\\share\\Music", "\\\\server\\share"));
  g_assert_false (spyglass_path_is_within ("O:\\server\\share", "\\\\server\\share"));
}

static void
test_within_bytes (void)
{
  g_assert_true (spyglass_path_is_within ("/mnt/m\xe9lodie/Album", "/mnt/m\xe9lodie"));
  g_assert_true (spyglass_path_is_within ("/mnt/m\xe9lodie", "/mnt"));
  /* Bytes are compared as bytes: Latin-1 é is not UTF-8 é. */
  g_assert_false (spyglass_path_is_within ("/mnt/m\xe9lodie/Album", "/mnt/m\xc3\xa9lodie"));
  g_assert_false (spyglass_path_is_within ("/mnt/m\xe9lodie2", "/mnt/m\xe9lodie"));
}

static void
test_normalize (void)
{
  static const struct {
    const char *path;
    const char *expected;
  } cases[] = {
    { "/", "/" },
    { "//", "/" },
    { "///", "/" },
    { "", "" },
    { "/mnt/music", "/mnt/music" },
    { "/mnt/music/", "/mnt/music" },
    { "/mnt//music///", "/mnt/music" },
    { "//mnt/music", "/mnt/music" },
    { "a//b/", "a/b" },
    { "/mnt/My Music & More/#1 + 50%?", "/mnt/My Music & More/#1 + 50%?" },
    { "/mnt/m\xe9lodie//", "/mnt/m\xe9lodie" },
    { "/mnt/a\\\\b/", "/mnt/a\\\\b" },
    { "O:\\Media\\", "O:\\Media" },
    { "O:\\Media\\\\Music", "O:\\Media\\Music" },
    { "O:\\", "O:\\" },
    { "O:\\\\", "O:\\" },
    { "\\\\server\\share\\", "\\\\server\\share" },
    { "\\\\server\\\\share", "\\\\server\\share" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normalized = spyglass_path_normalize (cases[i].path);

      g_assert_cmpstr (normalized, ==, cases[i].expected);
    }
}

static void
test_split_truncate (void)
{
  g_auto(GStrv) posix = spyglass_path_split ("//mnt/nas//Music/");
  g_auto(GStrv) windows = spyglass_path_split ("O:\\Media\\Music");
  g_auto(GStrv) root = spyglass_path_split ("/");
  g_autofree char *two = spyglass_path_truncate ("/mnt//nas/Music/", 2);
  g_autofree char *zero = spyglass_path_truncate ("/mnt/nas", 0);
  g_autofree char *many = spyglass_path_truncate ("/mnt/nas/", 9);
  g_autofree char *win = spyglass_path_truncate ("O:\\Media\\Music", 1);
  const char * const posix_expected[] = { "mnt", "nas", "Music", NULL };
  const char * const windows_expected[] = { "Media", "Music", NULL };

  g_assert_true (g_strv_equal ((const char * const *) posix, posix_expected));
  g_assert_true (g_strv_equal ((const char * const *) windows, windows_expected));
  g_assert_cmpuint (g_strv_length (root), ==, 0);
  g_assert_cmpstr (two, ==, "/mnt/nas");
  g_assert_cmpstr (zero, ==, "/");
  g_assert_cmpstr (many, ==, "/mnt/nas");
  g_assert_cmpstr (win, ==, "O:\\Media");
}

static void
test_display_name (void)
{
  g_autofree char *plain = spyglass_path_display_name ("/mnt/Pink Floyd");
  g_autofree char *latin1 = spyglass_path_display_name ("/mnt/m\xe9lodie");
  g_autofree char *newline = spyglass_path_display_name ("/mnt/a\nb");

  g_assert_cmpstr (plain, ==, "/mnt/Pink Floyd");
  g_assert_true (g_utf8_validate (latin1, -1, NULL));
  g_assert_true (g_str_has_prefix (latin1, "/mnt/m"));
  g_assert_true (g_str_has_suffix (latin1, "lodie"));
  g_assert_cmpstr (newline, ==, "/mnt/a\xef\xbf\xbd" "b");
}

static SpyglassPathMap *
map_new_from_rules (const char * const *rules)
{
  SpyglassPathMap *map = spyglass_path_map_new ();

  for (guint i = 0; rules[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;

      spyglass_path_map_add_rule_string (map, rules[i], &error);
      g_assert_no_error (error);
    }

  return map;
}

static void
assert_maps_to (SpyglassPathMap *map,
                const char      *local_path,
                const char      *expected)
{
  g_autofree char *mapped = spyglass_path_map_apply (map, local_path);

  g_assert_cmpstr (mapped, ==, expected);
}

static void
test_map_longest_prefix (void)
{
  const char * const rules[] = {
    "/mnt/nas=/data",
    "/mnt/nas/Music=/music",
    "/mnt/nas/Music/Classical=/classical",
    NULL,
  };
  const char * const reversed[] = {
    "/mnt/nas/Music/Classical=/classical",
    "/mnt/nas/Music=/music",
    "/mnt/nas=/data",
    NULL,
  };
  const char * const *orders[] = { rules, reversed };

  /* The answer does not depend on the order the rules were added in. */
  for (guint i = 0; i < G_N_ELEMENTS (orders); i++)
    {
      g_autoptr(SpyglassPathMap) map = map_new_from_rules (orders[i]);

      assert_maps_to (map, "/mnt/nas/Films/Alien", "/data/Films/Alien");
      assert_maps_to (map, "/mnt/nas/Music/Pink Floyd", "/music/Pink Floyd");
      assert_maps_to (map, "/mnt/nas/Music/Classical/Bach", "/classical/Bach");
      assert_maps_to (map, "/mnt/nas/Music/Classical", "/classical");
      assert_maps_to (map, "/mnt/nas/Music", "/music");
      assert_maps_to (map, "/mnt/nas", "/data");
    }
}

static void
test_map_component_wise (void)
{
  const char * const rules[] = { "/mnt/music=/data/music", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  assert_maps_to (map, "/mnt/music/Album", "/data/music/Album");
  assert_maps_to (map, "/mnt/music2/Album", "/mnt/music2/Album");
  assert_maps_to (map, "/mnt/music-hires", "/mnt/music-hires");
  assert_maps_to (map, "/mnt/musi", "/mnt/musi");
  assert_maps_to (map, "/mnt", "/mnt");
}

static void
test_map_trailing_slashes (void)
{
  const char * const rules[] = { "/mnt/music/=/data/music/", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);
  const char *local = NULL;
  const char *plex = NULL;

  spyglass_path_map_get_rule (map, 0, &local, &plex);
  g_assert_cmpstr (local, ==, "/mnt/music");
  g_assert_cmpstr (plex, ==, "/data/music");

  assert_maps_to (map, "/mnt/music/", "/data/music");
  assert_maps_to (map, "/mnt/music", "/data/music");
  assert_maps_to (map, "/mnt/music//Album//", "/data/music/Album");
  assert_maps_to (map, "//mnt//music/A/B/", "/data/music/A/B");
}

static void
test_map_root_prefixes (void)
{
  const char * const rules[] = { "/mnt/x=/", "/=/host", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  assert_maps_to (map, "/mnt/x/Album", "/Album");
  assert_maps_to (map, "/mnt/x", "/");
  assert_maps_to (map, "/home/me/Music", "/host/home/me/Music");
  assert_maps_to (map, "/", "/host");
}

static void
test_map_equals_in_local (void)
{
  static const struct {
    const char *rule;
    const char *local;
    const char *plex;
  } cases[] = {
    { "/mnt/a=b=/data", "/mnt/a=b", "/data" },
    { "/mnt/a=b/c=d=/data/music", "/mnt/a=b/c=d", "/data/music" },
    { "/mnt/x=/y=/data", "/mnt/x=/y", "/data" },
    { "/mnt/=music=O:\\Media", "/mnt/=music", "O:\\Media" },
    { "/mnt/k=v==/data", "/mnt/k=v=", "/data" },
    { "/mnt/music=/data/a=b", "/mnt/music", "/data/a=b" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
      g_autoptr(GError) error = NULL;
      const char *local = NULL;
      const char *plex = NULL;

      g_assert_true (spyglass_path_map_add_rule_string (map, cases[i].rule, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 1);
      spyglass_path_map_get_rule (map, 0, &local, &plex);
      g_assert_cmpstr (local, ==, cases[i].local);
      g_assert_cmpstr (plex, ==, cases[i].plex);
    }
}

static void
test_map_windows_plex (void)
{
  const char * const rules[] = {
    "/mnt/media=O:\\Media",
    "/mnt/share=\\\\server\\share\\",
    "/mnt/c=C:\\",
    "/mnt/slashes=D:/Music",
    NULL,
  };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  assert_maps_to (map, "/mnt/media/Pink Floyd/Animals", "O:\\Media\\Pink Floyd\\Animals");
  assert_maps_to (map, "/mnt/media/Pink Floyd/", "O:\\Media\\Pink Floyd");
  assert_maps_to (map, "/mnt/media", "O:\\Media");
  assert_maps_to (map, "/mnt/share/Music/A", "\\\\server\\share\\Music\\A");
  assert_maps_to (map, "/mnt/c/Music/A", "C:\\Music\\A");
  assert_maps_to (map, "/mnt/slashes/A/B", "D:/Music/A/B");
}

static void
test_map_bytes (void)
{
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (spyglass_path_map_add_rule_string (map, "/mnt/m\xe9lodie=/data/m\xe9lodie", &error));
  g_assert_no_error (error);
  g_assert_true (spyglass_path_map_add_rule (map, "/mnt/\xff\xfe", "/data/raw", &error));
  g_assert_no_error (error);

  assert_maps_to (map, "/mnt/m\xe9lodie/Caf\xe9", "/data/m\xe9lodie/Caf\xe9");
  assert_maps_to (map, "/mnt/\xff\xfe/\x80", "/data/raw/\x80");
  /* UTF-8 é is a different name from Latin-1 é. */
  assert_maps_to (map, "/mnt/m\xc3\xa9lodie/x", "/mnt/m\xc3\xa9lodie/x");
}

static void
test_map_special_characters (void)
{
  const char * const rules[] = { "/mnt/My Music & More=/data/a #1+b%20c?", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  /* Paths are paths: nothing is encoded or decoded here. */
  assert_maps_to (map, "/mnt/My Music & More/AC?DC #1/50% + off",
                  "/data/a #1+b%20c?/AC?DC #1/50% + off");
  assert_maps_to (map, "/mnt/My Music & More/100%25/a+b", "/data/a #1+b%20c?/100%25/a+b");
  assert_maps_to (map, "/mnt/My Music", "/mnt/My Music");
}

static void
test_map_posix_backslash (void)
{
  const char * const rules[] = { "/mnt/x=/data/a\\b", "/mnt/a\\b=/data/y", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  /* In a POSIX Plex prefix a backslash is a name byte, not a separator. */
  assert_maps_to (map, "/mnt/x/c/d", "/data/a\\b/c/d");
  assert_maps_to (map, "/mnt/a\\b/c\\d", "/data/y/c\\d");
  assert_maps_to (map, "/mnt/a/b", "/mnt/a/b");
}

static void
test_map_no_rule (void)
{
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();

  g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 0);
  assert_maps_to (map, "/mnt/music//Album/", "/mnt/music/Album");
  assert_maps_to (map, "/", "/");
}

static void
test_map_first_rule_wins_tie (void)
{
  const char * const rules[] = { "/mnt/music=/first", "/mnt/music/=/second", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);

  g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 2);
  assert_maps_to (map, "/mnt/music/A", "/first/A");
}

static void
test_map_get_rule (void)
{
  const char * const rules[] = { "/b//=/y/", "/a=O:\\A\\", NULL };
  g_autoptr(SpyglassPathMap) map = map_new_from_rules (rules);
  const char *local = NULL;
  const char *plex = NULL;

  g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 2);
  spyglass_path_map_get_rule (map, 0, &local, &plex);
  g_assert_cmpstr (local, ==, "/b");
  g_assert_cmpstr (plex, ==, "/y");
  spyglass_path_map_get_rule (map, 1, &local, NULL);
  spyglass_path_map_get_rule (map, 1, NULL, &plex);
  g_assert_cmpstr (local, ==, "/a");
  g_assert_cmpstr (plex, ==, "O:\\A");
}

static void
assert_rule_string_invalid (const char *rule,
                            const char *quoted)
{
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *escaped = g_strescape (rule, NULL);

  g_test_message ("rule: %s", escaped);
  g_assert_false (spyglass_path_map_add_rule_string (map, rule, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING);
  g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 0);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_null (strchr (error->message, '\n'));
  if (quoted != NULL)
    {
      g_autofree char *needle = g_strdup_printf ("“%s”", quoted);
      g_assert_nonnull (strstr (error->message, needle));
    }
}

static void
test_map_invalid (void)
{
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GError) error = NULL;

  assert_rule_string_invalid ("", "");
  assert_rule_string_invalid ("/mnt/music", "/mnt/music");
  assert_rule_string_invalid ("/mnt/music=", "/mnt/music=");
  assert_rule_string_invalid ("=/data/music", "=/data/music");
  assert_rule_string_invalid ("=", "=");
  assert_rule_string_invalid ("music=/data/music", "music=/data/music");
  assert_rule_string_invalid ("/mnt/music=data/music", "/mnt/music=data/music");
  assert_rule_string_invalid ("/mnt/music=O:", "/mnt/music=O:");
  assert_rule_string_invalid ("/mnt/music=\\single", "/mnt/music=\\single");
  assert_rule_string_invalid ("O:\\Media=/data", "O:\\Media=/data");
  /* Newlines stay out of the one-line message; bad bytes stay valid UTF-8. */
  assert_rule_string_invalid ("/mnt/a\nb", NULL);
  assert_rule_string_invalid ("/mnt/m\xe9lodie", NULL);

  g_assert_false (spyglass_path_map_add_rule (map, "", "/data", &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING);
  g_assert_nonnull (strstr (error->message, "“=/data”"));
  g_clear_error (&error);

  g_assert_false (spyglass_path_map_add_rule (map, "/mnt", "", &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING);
  g_assert_nonnull (strstr (error->message, "“/mnt=”"));
  g_clear_error (&error);

  g_assert_false (spyglass_path_map_add_rule (map, "mnt", "/data", &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_MAPPING);
  g_clear_error (&error);

  g_assert_cmpuint (spyglass_path_map_get_n_rules (map), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/path/within/posix", test_within_posix);
  g_test_add_func ("/path/within/separators", test_within_separators);
  g_test_add_func ("/path/within/windows", test_within_windows);
  g_test_add_func ("/path/within/bytes", test_within_bytes);
  g_test_add_func ("/path/normalize", test_normalize);
  g_test_add_func ("/path/split-truncate", test_split_truncate);
  g_test_add_func ("/path/display-name", test_display_name);
  g_test_add_func ("/path-map/longest-prefix", test_map_longest_prefix);
  g_test_add_func ("/path-map/component-wise", test_map_component_wise);
  g_test_add_func ("/path-map/trailing-slashes", test_map_trailing_slashes);
  g_test_add_func ("/path-map/root-prefixes", test_map_root_prefixes);
  g_test_add_func ("/path-map/equals-in-local", test_map_equals_in_local);
  g_test_add_func ("/path-map/windows-plex", test_map_windows_plex);
  g_test_add_func ("/path-map/bytes", test_map_bytes);
  g_test_add_func ("/path-map/special-characters", test_map_special_characters);
  g_test_add_func ("/path-map/posix-backslash", test_map_posix_backslash);
  g_test_add_func ("/path-map/no-rule", test_map_no_rule);
  g_test_add_func ("/path-map/first-rule-wins-tie", test_map_first_rule_wins_tie);
  g_test_add_func ("/path-map/get-rule", test_map_get_rule);
  g_test_add_func ("/path-map/invalid", test_map_invalid);

  return g_test_run ();
}
