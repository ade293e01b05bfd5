/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "spyglass-host-path.h"

#define DOCUMENTS_NAME      "org.freedesktop.portal.Documents"
#define DOCUMENTS_PATH      "/org/freedesktop/portal/documents"
#define DOCUMENTS_INTERFACE "org.freedesktop.portal.Documents"
/* Where Flatpak also shows the document store inside the sandbox. */
#define FLATPAK_DOC_MOUNT   "/run/flatpak/doc"
/* A portal that does not answer within this is taken as absent. */
#define PORTAL_TIMEOUT_MS   5000

typedef struct
{
  GPtrArray       *paths;       /* char *: the result, in order */
  GDBusConnection *bus;
  char            *mount_point; /* without a trailing slash */
  GPtrArray       *doc_ids;     /* char *: the documents asked about, once each */
} HostPaths;

static void
host_paths_free (HostPaths *data)
{
  g_ptr_array_unref (data->paths);
  g_clear_object (&data->bus);
  g_free (data->mount_point);
  g_clear_pointer (&data->doc_ids, g_ptr_array_unref);
  g_free (data);
}

static void
return_paths (GTask *task)
{
  HostPaths *data = g_task_get_task_data (task);
  GPtrArray *paths = g_ptr_array_new_null_terminated (data->paths->len, g_free, TRUE);

  for (guint i = 0; i < data->paths->len; i++)
    g_ptr_array_add (paths, g_strdup (g_ptr_array_index (data->paths, i)));
  g_task_return_pointer (task, g_ptr_array_free (paths, FALSE), (GDestroyNotify) g_strfreev);
}

/* Whether @path is MOUNT/DOC_ID/NAME[/…] under the document store's mount
 * point (as the portal says, or Flatpak's alias of it): then the
 * document's id, and in @rest what lies below NAME ("" or "/deeper…").
 * MOUNT/DOC_ID alone is the document's folder in the store, not a file
 * from the host. */
static gboolean
parse_doc_path (const char  *path,
                const char  *mount_point,
                char       **doc_id,
                const char **rest)
{
  const char *mounts[] = { mount_point, FLATPAK_DOC_MOUNT };

  for (guint m = 0; m < G_N_ELEMENTS (mounts); m++)
    {
      gsize len = strlen (mounts[m]);
      const char *id;
      const char *id_end;
      const char *name_end;

      if (len == 0 || strncmp (path, mounts[m], len) != 0 || path[len] != G_DIR_SEPARATOR)
        continue;

      id = path + len + 1;
      id_end = strchr (id, G_DIR_SEPARATOR);
      if (id_end == NULL || id_end == id || id_end[1] == '\0' || id_end[1] == G_DIR_SEPARATOR)
        continue;

      name_end = strchr (id_end + 1, G_DIR_SEPARATOR);
      *doc_id = g_strndup (id, id_end - id);
      *rest = name_end != NULL ? name_end : "";
      return TRUE;
    }

  return FALSE;
}

/* The bytes of an "ay" that holds a path, NUL-terminated or not. */
static char *
dup_bytestring (GVariant *value)
{
  gsize len = 0;
  const char *bytes = g_variant_get_fixed_array (value, &len, 1);

  while (len > 0 && bytes[len - 1] == '\0')
    len--;
  return g_strndup (bytes, len);
}

static void
on_host_paths (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HostPaths *data = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) map = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
        g_debug ("The document portal is too old to tell host paths (GetHostPaths needs "
                 "version 5); dropped files keep their sandbox paths");
      else
        g_debug ("The document portal did not tell host paths (%s); dropped files keep "
                 "their sandbox paths", error->message);
      return_paths (task);
      return;
    }

  map = g_variant_get_child_value (reply, 0);
  for (guint i = 0; i < data->paths->len; i++)
    {
      const char *path = g_ptr_array_index (data->paths, i);
      g_autofree char *doc_id = NULL;
      g_autoptr(GVariant) host = NULL;
      const char *rest;

      if (!parse_doc_path (path, data->mount_point, &doc_id, &rest))
        continue;

      host = g_variant_lookup_value (map, doc_id, G_VARIANT_TYPE_BYTESTRING);
      if (host == NULL)
        {
          g_debug ("The document portal knows no host path for document %s", doc_id);
          continue;
        }

      {
        g_autofree char *host_path = dup_bytestring (host);

        if (host_path[0] != G_DIR_SEPARATOR)
          continue;
        g_ptr_array_index (data->paths, i) = g_strconcat (host_path, rest, NULL);
        g_free ((char *) path);
      }
    }

  return_paths (task);
}

static void
on_mount_point (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HostPaths *data = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) mount_point = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = NULL;
  /* Read before the call: its arguments steal the task. */
  GCancellable *cancellable = g_task_get_cancellable (task);
  gsize len;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_debug ("No document portal (%s); dropped files keep their sandbox paths",
               error->message);
      return_paths (task);
      return;
    }

  mount_point = g_variant_get_child_value (reply, 0);
  data->mount_point = dup_bytestring (mount_point);
  len = strlen (data->mount_point);
  while (len > 1 && data->mount_point[len - 1] == G_DIR_SEPARATOR)
    data->mount_point[--len] = '\0';

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  data->doc_ids = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  for (guint i = 0; i < data->paths->len; i++)
    {
      g_autofree char *doc_id = NULL;
      const char *rest;

      /* (Not g_hash_table_add() alone: it would replace the key kept.) */
      if (parse_doc_path (g_ptr_array_index (data->paths, i), data->mount_point, &doc_id, &rest) &&
          !g_hash_table_contains (seen, doc_id))
        {
          g_hash_table_add (seen, doc_id);
          g_ptr_array_add (data->doc_ids, g_steal_pointer (&doc_id));
        }
    }

  if (data->doc_ids->len == 0)
    {
      return_paths (task);
      return;
    }

  g_dbus_connection_call (data->bus, DOCUMENTS_NAME, DOCUMENTS_PATH, DOCUMENTS_INTERFACE,
                          "GetHostPaths",
                          g_variant_new ("(^as)", (char **) data->doc_ids->pdata),
                          G_VARIANT_TYPE ("(a{say})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, PORTAL_TIMEOUT_MS,
                          cancellable, on_host_paths,
                          g_steal_pointer (&task));
}

static void
on_bus (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HostPaths *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  data->bus = g_bus_get_finish (result, &error);
  if (data->bus == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_debug ("No session bus for the document portal (%s); dropped files keep their "
               "sandbox paths", error->message);
      return_paths (task);
      return;
    }

  /* Not auto-started: inside a Flatpak it runs already (it provides the
   * very paths asked about); outside, nothing comes from it. */
  g_dbus_connection_call (data->bus, DOCUMENTS_NAME, DOCUMENTS_PATH, DOCUMENTS_INTERFACE,
                          "GetMountPoint", NULL, G_VARIANT_TYPE ("(ay)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, PORTAL_TIMEOUT_MS,
                          cancellable, on_mount_point,
                          g_steal_pointer (&task));
}

void
spyglass_host_paths_async (GFile               **files,
                           guint                 n_files,
                           GCancellable         *cancellable,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  HostPaths *data;

  g_return_if_fail (files != NULL || n_files == 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_host_paths_async);

  data = g_new0 (HostPaths, 1);
  data->paths = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) host_paths_free);

  for (guint i = 0; i < n_files; i++)
    {
      char *path = g_file_get_path (files[i]);

      if (path != NULL)
        g_ptr_array_add (data->paths, path);
    }

  /* Only a local path can be a document portal path. */
  if (data->paths->len == 0)
    {
      return_paths (task);
      return;
    }

  g_bus_get (G_BUS_TYPE_SESSION, cancellable, on_bus, g_steal_pointer (&task));
}

char **
spyglass_host_paths_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == spyglass_host_paths_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
