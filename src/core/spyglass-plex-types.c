/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-plex-types.h"

G_DEFINE_BOXED_TYPE (SpyglassServerInfo, spyglass_server_info,
                     spyglass_server_info_copy, spyglass_server_info_free)
G_DEFINE_BOXED_TYPE (SpyglassSection, spyglass_section,
                     spyglass_section_ref, spyglass_section_unref)
G_DEFINE_BOXED_TYPE (SpyglassActivity, spyglass_activity,
                     spyglass_activity_copy, spyglass_activity_free)
G_DEFINE_BOXED_TYPE (SpyglassActivityEvent, spyglass_activity_event,
                     spyglass_activity_event_copy, spyglass_activity_event_free)

SpyglassServerInfo *
spyglass_server_info_copy (const SpyglassServerInfo *info)
{
  SpyglassServerInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (SpyglassServerInfo, 1);
  copy->friendly_name = g_strdup (info->friendly_name);
  copy->version = g_strdup (info->version);
  copy->machine_identifier = g_strdup (info->machine_identifier);
  copy->platform = g_strdup (info->platform);
  copy->platform_version = g_strdup (info->platform_version);
  return copy;
}

void
spyglass_server_info_free (SpyglassServerInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->friendly_name);
  g_free (info->version);
  g_free (info->machine_identifier);
  g_free (info->platform);
  g_free (info->platform_version);
  g_free (info);
}

char *
spyglass_server_info_dup_short_version (const SpyglassServerInfo *info)
{
  const char *end;
  guint dots = 0;

  g_return_val_if_fail (info != NULL, NULL);

  if (info->version == NULL || info->version[0] == '\0')
    return NULL;

  /* major.minor.patch, dropping the build number and the commit hash */
  for (end = info->version; *end != '\0' && *end != '-'; end++)
    if (*end == '.' && ++dots == 3)
      break;

  return g_strndup (info->version, end - info->version);
}

SpyglassSection *
spyglass_section_new (const char         *key,
                      const char         *type,
                      const char         *title,
                      const char * const *locations)
{
  SpyglassSection *section;

  g_return_val_if_fail (key != NULL, NULL);

  section = g_new0 (SpyglassSection, 1);
  g_atomic_ref_count_init (&section->ref_count);
  section->key = g_strdup (key);
  section->type = g_strdup (type);
  section->title = g_strdup (title);
  section->locations = locations != NULL ? g_strdupv ((char **) locations)
                                         : g_new0 (char *, 1);
  return section;
}

SpyglassSection *
spyglass_section_ref (SpyglassSection *section)
{
  g_return_val_if_fail (section != NULL, NULL);

  g_atomic_ref_count_inc (&section->ref_count);
  return section;
}

void
spyglass_section_unref (SpyglassSection *section)
{
  if (section == NULL)
    return;

  if (!g_atomic_ref_count_dec (&section->ref_count))
    return;

  g_free (section->key);
  g_free (section->type);
  g_free (section->title);
  g_free (section->agent);
  g_free (section->scanner);
  g_strfreev (section->locations);
  g_free (section);
}

SpyglassActivity *
spyglass_activity_copy (const SpyglassActivity *activity)
{
  SpyglassActivity *copy;

  g_return_val_if_fail (activity != NULL, NULL);

  copy = g_new0 (SpyglassActivity, 1);
  copy->uuid = g_strdup (activity->uuid);
  copy->type = g_strdup (activity->type);
  copy->title = g_strdup (activity->title);
  copy->subtitle = g_strdup (activity->subtitle);
  copy->progress = activity->progress;
  copy->section_key = g_strdup (activity->section_key);
  copy->cancellable = activity->cancellable;
  return copy;
}

void
spyglass_activity_free (SpyglassActivity *activity)
{
  if (activity == NULL)
    return;

  g_free (activity->uuid);
  g_free (activity->type);
  g_free (activity->title);
  g_free (activity->subtitle);
  g_free (activity->section_key);
  g_free (activity);
}

SpyglassActivityEvent *
spyglass_activity_event_copy (const SpyglassActivityEvent *event)
{
  SpyglassActivityEvent *copy;

  g_return_val_if_fail (event != NULL, NULL);
  g_return_val_if_fail (event->activity != NULL, NULL);

  copy = g_new0 (SpyglassActivityEvent, 1);
  copy->kind = event->kind;
  copy->activity = spyglass_activity_copy (event->activity);
  return copy;
}

void
spyglass_activity_event_free (SpyglassActivityEvent *event)
{
  if (event == NULL)
    return;

  spyglass_activity_free (event->activity);
  g_free (event);
}
