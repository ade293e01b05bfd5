/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-host-path.h"

/* First version: local paths only; the document portal comes next. */
void
spyglass_host_paths_async (GFile               **files,
                           guint                 n_files,
                           GCancellable         *cancellable,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GPtrArray *paths = g_ptr_array_new ();

  g_task_set_source_tag (task, spyglass_host_paths_async);
  for (guint i = 0; i < n_files; i++)
    {
      char *path = g_file_get_path (files[i]);

      if (path != NULL)
        g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);
  g_task_return_pointer (task, g_ptr_array_free (paths, FALSE), (GDestroyNotify) g_strfreev);
}

char **
spyglass_host_paths_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
