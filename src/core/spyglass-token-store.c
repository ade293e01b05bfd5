/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>

#include "spyglass-error.h"
#include "spyglass-token-store.h"

static const SecretSchema token_schema = {
  "io.github.spyglass.Spyglass.Token", SECRET_SCHEMA_NONE,
  {
    { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
  0,
};

#define TOKEN_KIND "plex-token"

gboolean
spyglass_session_bus_available (void)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  g_autofree char *socket = NULL;

  if (address != NULL && address[0] != '\0')
    return TRUE;

  socket = g_build_filename (g_get_user_runtime_dir (), "bus", NULL);
  return g_file_test (socket, G_FILE_TEST_EXISTS);
}

char *
spyglass_token_store_get_fallback_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "spyglass", "token", NULL);
}

/* Wipes a secret before freeing it. */
/* The keyring, when there is one to reach, and unless this is the demo:
 * a demo's token must never replace the user's real one, so it stays in
 * the demo's own (temporary) fallback file. */
static gboolean
use_keyring (void)
{
  if (g_strcmp0 (g_getenv ("SPYGLASS_DEMO"), "1") == 0)
    return FALSE;

  return spyglass_session_bus_available ();
}

static void
secret_free (char *secret)
{
  if (secret == NULL)
    return;

  memset (secret, 0, strlen (secret));
  g_free (secret);
}

/* The first line of @contents, without surrounding white space. */
static char *
token_from_contents (const char *contents,
                     gsize       length)
{
  g_autofree char *copy = g_strndup (contents, length);
  char *newline = strpbrk (copy, "\r\n");
  char *token;

  if (newline != NULL)
    *newline = '\0';
  token = g_strdup (g_strstrip (copy));
  memset (copy, 0, length);
  return token;
}

static gboolean
save_to_file (const char  *token,
              GError     **error)
{
  g_autofree char *path = spyglass_token_store_get_fallback_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) local_error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_TOKEN_STORE,
                   _("Cannot create the folder %s: %s"),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  /* Written atomically, readable by its owner only from the first byte. */
  if (!g_file_set_contents_full (path, token, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local_error))
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_TOKEN_STORE,
                   _("Cannot store the Plex token in %s: %s"),
                   path, local_error->message);
      return FALSE;
    }

  return TRUE;
}

static char *
load_from_file (GError **error)
{
  g_autofree char *path = spyglass_token_store_get_fallback_path ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  char *token;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_TOKEN_STORE,
                   _("Cannot read the stored Plex token from %s: %s"),
                   path, local_error->message);
      return NULL;
    }

  token = token_from_contents (contents, length);
  memset (contents, 0, length);
  if (token[0] == '\0')
    {
      g_free (token);
      return NULL;
    }

  return token;
}

static void
remove_file (void)
{
  g_autofree char *path = spyglass_token_store_get_fallback_path ();

  if (g_unlink (path) != 0 && errno != ENOENT)
    g_debug ("Could not remove %s: %s", path, g_strerror (errno));
}

gboolean
spyglass_token_store_save (const char             *token,
                           SpyglassTokenLocation  *location,
                           GCancellable           *cancellable,
                           GError                **error)
{
  g_autoptr(GError) keyring_error = NULL;

  g_return_val_if_fail (token != NULL && token[0] != '\0', FALSE);

  if (use_keyring () &&
      secret_password_store_sync (&token_schema, SECRET_COLLECTION_DEFAULT,
                                  _("Plex token for Spyglass"), token,
                                  cancellable, &keyring_error,
                                  "kind", TOKEN_KIND,
                                  NULL))
    {
      /* A token that made it to the keyring has no business in a file. */
      remove_file ();
      if (location != NULL)
        *location = SPYGLASS_TOKEN_LOCATION_KEYRING;
      return TRUE;
    }

  if (g_error_matches (keyring_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      g_cancellable_is_cancelled (cancellable))
    {
      g_propagate_error (error, g_steal_pointer (&keyring_error));
      return FALSE;
    }

  if (keyring_error != NULL)
    g_debug ("No Secret Service to store the token in: %s", keyring_error->message);

  if (!save_to_file (token, error))
    return FALSE;

  if (location != NULL)
    *location = SPYGLASS_TOKEN_LOCATION_FILE;
  return TRUE;
}

char *
spyglass_token_store_load (SpyglassTokenLocation  *location,
                           GCancellable           *cancellable,
                           GError                **error)
{
  g_autoptr(GError) keyring_error = NULL;
  char *secret;

  if (location != NULL)
    *location = SPYGLASS_TOKEN_LOCATION_NONE;

  secret = !use_keyring () ? NULL :
    secret_password_lookup_sync (&token_schema, cancellable, &keyring_error,
                                 "kind", TOKEN_KIND,
                                 NULL);
  if (secret != NULL)
    {
      char *token = g_strdup (secret);

      secret_password_free (secret);
      if (location != NULL)
        *location = SPYGLASS_TOKEN_LOCATION_KEYRING;
      return token;
    }

  if (keyring_error != NULL)
    {
      if (g_error_matches (keyring_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          g_cancellable_is_cancelled (cancellable))
        {
          g_propagate_error (error, g_steal_pointer (&keyring_error));
          return NULL;
        }
      g_debug ("No Secret Service to read the token from: %s", keyring_error->message);
    }

  /* The file is the fallback for machines without a keyring, and where a
   * keyring answers but has no token, a token stored before it existed. */
  {
    g_autoptr(GError) file_error = NULL;
    char *token = load_from_file (&file_error);

    if (file_error != NULL)
      {
        g_propagate_error (error, g_steal_pointer (&file_error));
        return NULL;
      }

    if (token != NULL && location != NULL)
      *location = SPYGLASS_TOKEN_LOCATION_FILE;
    return token;
  }
}

gboolean
spyglass_token_store_clear (GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GError) keyring_error = NULL;

  if (use_keyring () &&
      !secret_password_clear_sync (&token_schema, cancellable, &keyring_error,
                                   "kind", TOKEN_KIND,
                                   NULL))
    {
      if (keyring_error != NULL)
        g_debug ("No Secret Service to clear the token from: %s", keyring_error->message);
    }

  remove_file ();
  return TRUE;
}

char *
spyglass_token_read_file (const char  *path,
                          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  char *token;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED,
                   _("Cannot read the token file: %s"), local_error->message);
      return NULL;
    }

  token = token_from_contents (contents, length);
  memset (contents, 0, length);
  if (token[0] == '\0')
    {
      g_autofree char *display = g_filename_display_name (path);

      secret_free (token);
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED,
                   _("The token file %s is empty"), display);
      return NULL;
    }

  return token;
}

/* The worker-thread wrappers.  The location travels in the task's data. */

static void
load_in_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SpyglassTokenLocation *location = task_data;
  g_autoptr(GError) error = NULL;
  char *token = spyglass_token_store_load (location, cancellable, &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, token, (GDestroyNotify) secret_free);
}

void
spyglass_token_store_load_async (GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, spyglass_token_store_load_async);
  g_task_set_task_data (task, g_new0 (SpyglassTokenLocation, 1), g_free);
  g_task_run_in_thread (task, load_in_thread);
}

char *
spyglass_token_store_load_finish (GAsyncResult           *result,
                                  SpyglassTokenLocation  *location,
                                  GError                **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  if (location != NULL)
    *location = *(SpyglassTokenLocation *) g_task_get_task_data (G_TASK (result));
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  char                  *token;
  SpyglassTokenLocation  location;
} SaveData;

static void
save_data_free (SaveData *data)
{
  secret_free (data->token);
  g_free (data);
}

static void
save_in_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SaveData *data = task_data;
  g_autoptr(GError) error = NULL;

  if (spyglass_token_store_save (data->token, &data->location, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

void
spyglass_token_store_save_async (const char          *token,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SaveData *data;

  g_return_if_fail (token != NULL && token[0] != '\0');

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_token_store_save_async);
  data = g_new0 (SaveData, 1);
  data->token = g_strdup (token);
  g_task_set_task_data (task, data, (GDestroyNotify) save_data_free);
  g_task_run_in_thread (task, save_in_thread);
}

gboolean
spyglass_token_store_save_finish (GAsyncResult           *result,
                                  SpyglassTokenLocation  *location,
                                  GError                **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  if (location != NULL)
    *location = ((SaveData *) g_task_get_task_data (G_TASK (result)))->location;
  return g_task_propagate_boolean (G_TASK (result), error);
}
