/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The token store on a machine without a session bus: the 0600 fallback
 * file, through the blocking and the asynchronous calls.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "spyglass-core.h"

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
test_fallback_file (void)
{
  g_autofree char *path = spyglass_token_store_get_fallback_path ();
  g_autoptr(GAsyncResult) saved = NULL;
  g_autoptr(GAsyncResult) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *contents = NULL;
  SpyglassTokenLocation location = SPYGLASS_TOKEN_LOCATION_NONE;
  GStatBuf st;

  g_assert_false (spyglass_session_bus_available ());

  spyglass_token_store_save_async ("async-token-1", NULL, store_result, &saved);
  g_assert_true (spyglass_token_store_save_finish (wait_for (&saved), &location, &error));
  g_assert_no_error (error);
  g_assert_cmpint (location, ==, SPYGLASS_TOKEN_LOCATION_FILE);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "async-token-1");

  location = SPYGLASS_TOKEN_LOCATION_NONE;
  spyglass_token_store_load_async (NULL, store_result, &loaded);
  token = spyglass_token_store_load_finish (wait_for (&loaded), &location, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "async-token-1");
  g_assert_cmpint (location, ==, SPYGLASS_TOKEN_LOCATION_FILE);

  g_assert_true (spyglass_token_store_clear (NULL, &error));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&token, g_free);
  token = spyglass_token_store_load (&location, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (token);
  g_assert_cmpint (location, ==, SPYGLASS_TOKEN_LOCATION_NONE);
}

static void
test_read_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("spyglass-token-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "token", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  /* First line, surrounding white space and a Windows line end dropped. */
  g_assert_true (g_file_set_contents (path, "  the-token \r\nsecond line\n", -1, NULL));
  token = spyglass_token_read_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "the-token");

  g_assert_true (g_file_set_contents (path, "\n", -1, NULL));
  g_clear_pointer (&token, g_free);
  token = spyglass_token_read_file (path, &error);
  g_assert_null (token);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED);
  g_assert_true (g_str_has_suffix (error->message, "is empty"));

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("spyglass-home-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (home, "config", NULL);
  g_autofree char *runtime = g_build_filename (home, "runtime", NULL);
  int status;

  /* A headless machine: no bus, a config folder of the test's own. */
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_mkdir (runtime, 0700);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/token-store/fallback-file", test_fallback_file);
  g_test_add_func ("/token-store/read-file", test_read_file);
  status = g_test_run ();

  g_rmdir (runtime);
  {
    g_autofree char *dir = g_build_filename (config, "spyglass", NULL);
    g_rmdir (dir);
  }
  g_rmdir (config);
  g_rmdir (home);
  return status;
}
