/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "spyglass-client.h"
#include "spyglass-token-store.h"
#include "spyglass-settings.h"

char *
spyglass_settings_get_keyfile_path (void)
{
  if (g_getenv ("GSETTINGS_BACKEND") != NULL || spyglass_session_bus_available ())
    return NULL;

  return g_build_filename (g_get_user_config_dir (), "spyglass", "settings.ini", NULL);
}

GSettings *
spyglass_settings_open (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *keyfile = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);
  if (schema == NULL)
    {
      g_debug ("Schema %s is not installed; using defaults", APPLICATION_ID);
      return NULL;
    }

  keyfile = spyglass_settings_get_keyfile_path ();
  if (keyfile != NULL)
    {
      g_autoptr(GSettingsBackend) backend = NULL;

      g_debug ("No session bus: settings in %s", keyfile);
      backend = g_keyfile_settings_backend_new (keyfile, "/io/github/spyglass/Spyglass/",
                                                "spyglass");
      return g_settings_new_full (schema, backend, NULL);
    }

  return g_settings_new_full (schema, NULL, NULL);
}

char *
spyglass_settings_get_client_id (GSettings *settings)
{
  g_autofree char *client_id = NULL;

  if (settings == NULL)
    return spyglass_client_generate_client_id ();

  client_id = g_settings_get_string (settings, "client-identifier");
  if (client_id[0] == '\0')
    {
      g_free (client_id);
      client_id = spyglass_client_generate_client_id ();
      g_settings_set_string (settings, "client-identifier", client_id);
      /* dconf writes asynchronously: a command that exits right away
       * would lose it and look like a new device to Plex every time. */
      g_settings_sync ();
    }

  return g_steal_pointer (&client_id);
}

SpyglassPathMap *
spyglass_settings_get_path_map (GSettings *settings,
                                GPtrArray *ignored)
{
  g_autoptr(GVariant) rules = g_settings_get_value (settings, "path-mappings");
  SpyglassPathMap *map = spyglass_path_map_new ();
  GVariantIter iter;
  const char *local, *plex;

  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&s&s)", &local, &plex))
    {
      g_autoptr(GError) error = NULL;

      if (!spyglass_path_map_add_rule (map, local, plex, &error) && ignored != NULL)
        g_ptr_array_add (ignored, g_strdup (error->message));
    }

  return map;
}

void
spyglass_settings_add_watch_root (GPtrArray  *roots,
                                  const char *path)
{
  g_autofree char *canonical = g_canonicalize_filename (path, NULL);

  for (guint i = 0; i < roots->len; i++)
    if (g_str_equal (g_ptr_array_index (roots, i), canonical))
      return;
  g_ptr_array_add (roots, g_steal_pointer (&canonical));
}

GPtrArray *
spyglass_settings_get_watch_roots (GSettings       *settings,
                                   SpyglassPathMap *map)
{
  GPtrArray *roots = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < spyglass_path_map_get_n_rules (map); i++)
    {
      const char *local, *plex;

      spyglass_path_map_get_rule (map, i, &local, &plex);
      spyglass_settings_add_watch_root (roots, local);
    }

  if (settings != NULL)
    {
      g_auto(GStrv) folders = g_settings_get_strv (settings, "watch-folders");

      for (guint i = 0; folders[i] != NULL; i++)
        if (folders[i][0] == '/')
          spyglass_settings_add_watch_root (roots, folders[i]);
    }

  return roots;
}
