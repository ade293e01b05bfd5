/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-parse.c: the Plex response parsers on real and hostile bodies
 *
 * Bodies live in tests/data/.  The ones named after plex-api.md sections
 * are copied verbatim from it; the others are constructed here to cover
 * one case each.
 */
#include "config.h"

#include <string.h>

#include "spyglass-error.h"
#include "spyglass-plex-parse.h"

static GBytes *
load_data (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static GBytes *
bytes_from_string (const char *string)
{
  return g_bytes_new (string, strlen (string));
}

static GPtrArray *
parse_sections_file (const char *name)
{
  g_autoptr(GBytes) body = load_data (name);
  g_autoptr(GError) error = NULL;
  GPtrArray *sections;

  sections = spyglass_parse_sections (body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sections);
  return sections;
}

static GPtrArray *
parse_activities_file (const char *name)
{
  g_autoptr(GBytes) body = load_data (name);
  g_autoptr(GError) error = NULL;
  GPtrArray *activities;

  activities = spyglass_parse_activities (body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (activities);
  return activities;
}

static GPtrArray *
parse_notification_string (const char *frame)
{
  g_autoptr(GBytes) body = bytes_from_string (frame);
  g_autoptr(GError) error = NULL;
  GPtrArray *events;

  events = spyglass_parse_notification (body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (events);
  return events;
}

static void
assert_notification_fails (const char *frame,
                           int         code)
{
  g_autoptr(GBytes) body = bytes_from_string (frame);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;

  events = spyglass_parse_notification (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (events);
  /* The message is for people: short, and never a quote of the frame. */
  g_assert_cmpuint (strlen (error->message), <, 200);
  g_assert_null (strstr (error->message, "s3cr3t"));
  g_assert_null (strstr (error->message, "Notification"));
}

static void
assert_locations (SpyglassSection *section,
                  ...)
{
  g_autoptr(GPtrArray) expected = g_ptr_array_new ();
  const char *path;
  va_list args;

  va_start (args, section);
  while ((path = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (expected, (gpointer) path);
  va_end (args);
  g_ptr_array_add (expected, NULL);

  g_assert_nonnull (section->locations);
  g_assert_cmpstrv (section->locations, (const char * const *) expected->pdata);
}

/* Every parser fails on @body with @code. */
static void
assert_all_fail (GBytes *body,
                 int     code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GPtrArray) activities = NULL;
  g_autoptr(GPtrArray) events = NULL;

  info = spyglass_parse_server_info (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (info);
  g_assert_nonnull (error->message);
  g_assert_cmpuint (strlen (error->message), <, 200);
  g_clear_error (&error);

  sections = spyglass_parse_sections (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (sections);
  g_clear_error (&error);

  activities = spyglass_parse_activities (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (activities);
  g_clear_error (&error);

  events = spyglass_parse_notification (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, code);
  g_assert_null (events);
}

static void
assert_file_fails (const char *name)
{
  g_autoptr(GBytes) body = load_data (name);

  assert_all_fail (body, SPYGLASS_ERROR_BAD_RESPONSE);
}

static void
assert_string_fails (const char *string)
{
  g_autoptr(GBytes) body = bytes_from_string (string);

  assert_all_fail (body, SPYGLASS_ERROR_BAD_RESPONSE);
}

/* Server info */

static void
test_server_info_xml (void)
{
  g_autoptr(GBytes) body = load_data ("server-info.xml");
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  info = spyglass_parse_server_info (body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->friendly_name, ==, "{name}");
  g_assert_cmpstr (info->version, ==, "1.20.4.3517-ab5e1197c");
  g_assert_cmpstr (info->machine_identifier, ==, "{machine_identifier}");
  g_assert_cmpstr (info->platform, ==, "Linux");
  g_assert_cmpstr (info->platform_version, ==, "20.04.1 LTS (Focal Fossa)");
}

static void
test_server_info_identity (void)
{
  const char *files[] = { "identity.xml", "identity.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GBytes) body = load_data (files[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(SpyglassServerInfo) info = NULL;

      g_test_message ("%s", files[i]);
      info = spyglass_parse_server_info (body, &error);
      g_assert_no_error (error);
      g_assert_nonnull (info);
      g_assert_cmpstr (info->version, ==, "1.18.5.2309-f5213a238");
      g_assert_cmpstr (info->machine_identifier, ==, "623cbfe8a679d4d8c68a6ffe3608aca44e8da703");
      g_assert_null (info->friendly_name);
      g_assert_null (info->platform);
      g_assert_null (info->platform_version);
    }
}

static void
test_server_info_json (void)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  body = bytes_from_string ("{\"MediaContainer\":{\"size\":0,\"friendlyName\":\"NAS\","
                            "\"version\":\"1.40.0.7998-c29d4c0c8\",\"platform\":\"Linux\","
                            "\"platformVersion\":6,\"machineIdentifier\":{\"odd\":1}}}");
  info = spyglass_parse_server_info (body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->friendly_name, ==, "NAS");
  g_assert_cmpstr (info->version, ==, "1.40.0.7998-c29d4c0c8");
  g_assert_cmpstr (info->platform, ==, "Linux");
  g_assert_cmpstr (info->platform_version, ==, "6");
  /* An object where a string belongs reads as missing. */
  g_assert_null (info->machine_identifier);
}

static void
test_server_info_empty_container (void)
{
  const char *bodies[] = { "<MediaContainer/>", "{\"MediaContainer\":{}}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GBytes) body = bytes_from_string (bodies[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(SpyglassServerInfo) info = NULL;

      info = spyglass_parse_server_info (body, &error);
      g_assert_no_error (error);
      g_assert_nonnull (info);
      g_assert_null (info->friendly_name);
      g_assert_null (info->version);
      g_assert_null (info->machine_identifier);
    }
}

/* libxml2 converts a declared encoding to UTF-8. */
static void
test_server_info_latin1 (void)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  body = bytes_from_string ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
                            "<MediaContainer friendlyName=\"Caf\xe9\"/>");
  info = spyglass_parse_server_info (body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->friendly_name, ==, "Café");
}

/* Sections */

static void
test_sections_xml (void)
{
  g_autoptr(GPtrArray) sections = parse_sections_file ("sections.xml");
  SpyglassSection *section;

  g_assert_cmpuint (sections->len, ==, 3);

  section = g_ptr_array_index (sections, 0);
  g_assert_cmpstr (section->key, ==, "1");
  g_assert_cmpstr (section->type, ==, "movie");
  g_assert_cmpstr (section->title, ==, "Movies");
  g_assert_cmpstr (section->agent, ==, "com.plexapp.agents.imdb");
  g_assert_cmpstr (section->scanner, ==, "Plex Movie Scanner");
  g_assert_false (section->refreshing);
  assert_locations (section, "/storage/movies", NULL);

  section = g_ptr_array_index (sections, 1);
  g_assert_cmpstr (section->key, ==, "2");
  g_assert_cmpstr (section->type, ==, "show");
  g_assert_cmpstr (section->title, ==, "TV Shows");
  g_assert_cmpstr (section->agent, ==, "com.plexapp.agents.thetvdb");
  g_assert_cmpstr (section->scanner, ==, "Plex Series Scanner");
  g_assert_false (section->refreshing);
  assert_locations (section, "/storage/tvshows", NULL);

  section = g_ptr_array_index (sections, 2);
  g_assert_cmpstr (section->key, ==, "3");
  g_assert_cmpstr (section->type, ==, "artist");
  g_assert_cmpstr (section->title, ==, "Music");
  g_assert_cmpstr (section->agent, ==, "tv.plex.agents.music");
  g_assert_cmpstr (section->scanner, ==, "Plex Music");
  g_assert_false (section->refreshing);
  assert_locations (section, "/storage/music", NULL);
}

static void
test_sections_json (void)
{
  g_autoptr(GPtrArray) sections = parse_sections_file ("sections.json");
  SpyglassSection *section;

  g_assert_cmpuint (sections->len, ==, 1);
  section = g_ptr_array_index (sections, 0);
  g_assert_cmpstr (section->key, ==, "1");
  g_assert_cmpstr (section->type, ==, "movie");
  g_assert_cmpstr (section->title, ==, "Movies");
  g_assert_cmpstr (section->agent, ==, "tv.plex.agents.movie");
  g_assert_cmpstr (section->scanner, ==, "Plex Movie");
  g_assert_false (section->refreshing);
  assert_locations (section, "/storage/media/movies", NULL);
}

static void
test_sections_multi_location (void)
{
  const char *files[] = { "sections-multi-location.xml", "sections-multi-location.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) sections = parse_sections_file (files[i]);
      SpyglassSection *section;

      g_test_message ("%s", files[i]);
      g_assert_cmpuint (sections->len, ==, 1);
      section = g_ptr_array_index (sections, 0);
      g_assert_cmpstr (section->key, ==, "4");
      g_assert_cmpstr (section->type, ==, "movie");
      g_assert_cmpstr (section->title, ==, "Movies HQ");
      g_assert_true (section->refreshing);
      assert_locations (section, "/volume1/Media/Movies_HQ", "/volume1/Media/downloads_hq", NULL);
    }
}

/* Unknown elements and members, entities, non-ASCII, skipped rows. */
static void
test_sections_odd (void)
{
  const char *files[] = { "sections-odd.xml", "sections-odd.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) sections = parse_sections_file (files[i]);
      gboolean is_json = g_str_has_suffix (files[i], ".json");
      SpyglassSection *section;

      g_test_message ("%s", files[i]);
      g_assert_cmpuint (sections->len, ==, is_json ? 3 : 2);

      section = g_ptr_array_index (sections, 0);
      g_assert_cmpstr (section->key, ==, "7");
      g_assert_cmpstr (section->type, ==, "artist");
      g_assert_cmpstr (section->title, ==, "Musik & Hörbücher");
      g_assert_cmpstr (section->agent, ==, "tv.plex.agents.music");
      g_assert_cmpstr (section->scanner, ==, "Plex Music");
      g_assert_true (section->refreshing);
      /* The Location without path is left out. */
      assert_locations (section, "/srv/Musik & Hörbücher/日本語 🎵", "/srv/café", NULL);

      section = g_ptr_array_index (sections, 1);
      g_assert_cmpstr (section->key, ==, "9");
      g_assert_cmpstr (section->type, ==, "photo");
      g_assert_cmpstr (section->title, ==, "");
      g_assert_null (section->agent);
      g_assert_null (section->scanner);
      g_assert_false (section->refreshing);
      assert_locations (section, NULL);

      if (is_json)
        {
          /* A float key and a lone Location object. */
          section = g_ptr_array_index (sections, 2);
          g_assert_cmpstr (section->key, ==, "10");
          g_assert_true (section->refreshing);
          assert_locations (section, "/srv/single", NULL);
        }
    }
}

static void
test_sections_key_number (void)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sections = NULL;
  SpyglassSection *section;

  body = bytes_from_string ("{\"MediaContainer\":{\"Directory\":["
                            "{\"key\":\"1\",\"type\":\"movie\",\"title\":\"A\"},"
                            "{\"key\":2,\"type\":\"artist\",\"title\":\"B\",\"refreshing\":true}]}}");
  sections = spyglass_parse_sections (body, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sections->len, ==, 2);

  section = g_ptr_array_index (sections, 0);
  g_assert_cmpstr (section->key, ==, "1");
  g_assert_false (section->refreshing);
  assert_locations (section, NULL);

  section = g_ptr_array_index (sections, 1);
  g_assert_cmpstr (section->key, ==, "2");
  g_assert_true (section->refreshing);
}

static void
test_sections_refreshing (void)
{
  const struct {
    const char *value;
    gboolean    expected;
  } cases[] = {
    { "\"1\"", TRUE }, { "\"0\"", FALSE }, { "1", TRUE }, { "0", FALSE },
    { "true", TRUE }, { "false", FALSE }, { "\"true\"", TRUE }, { "null", FALSE },
    { "\"yes\"", FALSE }, { "[]", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) sections = NULL;
      g_autofree char *json = NULL;

      json = g_strdup_printf ("{\"MediaContainer\":{\"Directory\":[{\"key\":\"1\","
                              "\"type\":\"artist\",\"title\":\"Music\",\"refreshing\":%s}]}}",
                              cases[i].value);
      body = bytes_from_string (json);
      sections = spyglass_parse_sections (body, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (sections->len, ==, 1);
      g_assert_cmpint (((SpyglassSection *) sections->pdata[0])->refreshing, ==, cases[i].expected);
    }
}

static void
test_sections_bom (void)
{
  const char *files[] = { "sections-bom.xml", "sections-bom.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) sections = parse_sections_file (files[i]);
      SpyglassSection *section;

      g_test_message ("%s", files[i]);
      g_assert_cmpuint (sections->len, ==, 1);
      section = g_ptr_array_index (sections, 0);
      g_assert_cmpstr (section->key, ==, "3");
      g_assert_cmpstr (section->title, ==, "Music");
      assert_locations (section, "/storage/music", NULL);
    }
}

static void
test_sections_empty (void)
{
  /* section-details.xml (plex-api.md §3.1) has Directory rows, but none
   * is a library section: they have no type. */
  const char *files[] = { "sections-empty.xml", "sections-empty.json", "section-details.xml" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) sections = parse_sections_file (files[i]);

      g_test_message ("%s", files[i]);
      g_assert_cmpuint (sections->len, ==, 0);
    }
}

/* Activities */

static void
test_activities_epg (void)
{
  g_autoptr(GPtrArray) activities = parse_activities_file ("activities-epg.xml");
  SpyglassActivity *activity;

  g_assert_cmpuint (activities->len, ==, 1);
  activity = g_ptr_array_index (activities, 0);
  g_assert_cmpstr (activity->uuid, ==, "d6199ba1-fb5e-4cae-bf17-1a5369c1cf1e");
  g_assert_cmpstr (activity->type, ==, "provider.epg.load");
  g_assert_cmpstr (activity->title, ==, "Refreshing EPG");
  g_assert_cmpstr (activity->subtitle, ==, "Downloaded 173 airings");
  g_assert_cmpint (activity->progress, ==, 7);
  g_assert_false (activity->cancellable);
  /* Its Context has no librarySectionID. */
  g_assert_null (activity->section_key);
}

static void
test_activities_scan (void)
{
  const char *files[] = { "activities-scan.xml", "activities-scan.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) activities = parse_activities_file (files[i]);
      SpyglassActivity *activity;

      g_test_message ("%s", files[i]);
      g_assert_cmpuint (activities->len, ==, 1);
      activity = g_ptr_array_index (activities, 0);
      g_assert_cmpstr (activity->uuid, ==, "19bcd729-3149-4baa-a129-01f8f7b01ff3");
      g_assert_cmpstr (activity->type, ==, "library.update.section");
      g_assert_cmpstr (activity->title, ==, "Scanning Movies");
      g_assert_cmpstr (activity->subtitle, ==, "The Matrix");
      g_assert_cmpint (activity->progress, ==, 42);
      g_assert_true (activity->cancellable);
      g_assert_cmpstr (activity->section_key, ==, "1");
    }
}

static void
test_activities_odd (void)
{
  const char *files[] = { "activities-odd.xml", "activities-odd.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GPtrArray) activities = parse_activities_file (files[i]);
      SpyglassActivity *activity;

      g_test_message ("%s", files[i]);
      /* The one without uuid is skipped. */
      g_assert_cmpuint (activities->len, ==, 4);

      activity = g_ptr_array_index (activities, 0);
      g_assert_cmpstr (activity->type, ==, "library.update.section");
      g_assert_cmpstr (activity->title, ==, "Scanning Music");
      g_assert_cmpstr (activity->subtitle, ==, "Pink Floyd");
      g_assert_cmpint (activity->progress, ==, 27);  /* "27.5" */
      g_assert_true (activity->cancellable);
      g_assert_cmpstr (activity->section_key, ==, "3");

      activity = g_ptr_array_index (activities, 1);
      g_assert_cmpstr (activity->type, ==, "media.generate.bif");
      g_assert_null (activity->title);
      g_assert_null (activity->subtitle);
      g_assert_cmpint (activity->progress, ==, -1);
      g_assert_false (activity->cancellable);
      g_assert_null (activity->section_key);

      activity = g_ptr_array_index (activities, 2);
      g_assert_cmpint (activity->progress, ==, 99);
      g_assert_null (activity->section_key);

      activity = g_ptr_array_index (activities, 3);
      g_assert_cmpint (activity->progress, ==, 100);
      g_assert_false (activity->cancellable);
    }
}

static void
test_activities_progress (void)
{
  const struct {
    const char *value;
    int         expected;
  } cases[] = {
    { "42", 42 }, { "\"42\"", 42 }, { "42.5", 42 }, { "\"42.5\"", 42 },
    { "\"27.5\"", 27 }, { "0", 0 }, { "100", 100 }, { "100.0", 100 },
    { "-1", -1 }, { "\"-1\"", -1 }, { "-0.5", -1 }, { "101", 100 },
    { "1e300", 100 }, { "-1e300", -1 }, { "9223372036854775807", 100 },
    { "\"nan\"", -1 }, { "\"inf\"", -1 }, { "\"\"", -1 }, { "\"abc\"", -1 },
    { "\"42 %\"", -1 }, { "null", -1 }, { "true", -1 }, { "{}", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) activities = NULL;
      g_autofree char *json = NULL;

      g_test_message ("progress %s", cases[i].value);
      json = g_strdup_printf ("{\"MediaContainer\":{\"Activity\":[{\"uuid\":\"u\","
                              "\"type\":\"t\",\"progress\":%s}]}}", cases[i].value);
      body = bytes_from_string (json);
      activities = spyglass_parse_activities (body, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (activities->len, ==, 1);
      g_assert_cmpint (((SpyglassActivity *) activities->pdata[0])->progress, ==, cases[i].expected);
    }

  /* Missing altogether. */
  {
    g_autoptr(GBytes) body = bytes_from_string ("<MediaContainer><Activity uuid=\"u\" type=\"t\"/></MediaContainer>");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) activities = spyglass_parse_activities (body, &error);

    g_assert_no_error (error);
    g_assert_cmpint (((SpyglassActivity *) activities->pdata[0])->progress, ==, -1);
  }
}

static void
test_activities_empty (void)
{
  const char *bodies[] = {
    "<MediaContainer size=\"0\"></MediaContainer>",
    "{\"MediaContainer\":{\"size\":0}}",
    "{\"MediaContainer\":{\"size\":0,\"Activity\":[]}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GBytes) body = bytes_from_string (bodies[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) activities = NULL;

      activities = spyglass_parse_activities (body, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (activities->len, ==, 0);
    }
}

/* Notifications */

static void
test_notification_activity (void)
{
  g_autoptr(GBytes) body = load_data ("notification-activity.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  SpyglassActivityEvent *event;

  events = spyglass_parse_notification (body, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 1);
  event = g_ptr_array_index (events, 0);
  g_assert_cmpint (event->kind, ==, SPYGLASS_ACTIVITY_EVENT_UPDATED);
  g_assert_cmpstr (event->activity->uuid, ==, "19bcd729-3149-4baa-a129-01f8f7b01ff3");
  g_assert_cmpstr (event->activity->type, ==, "library.update.section");
  g_assert_cmpstr (event->activity->title, ==, "Scanning Movies");
  g_assert_cmpstr (event->activity->subtitle, ==, "The Matrix");
  g_assert_cmpint (event->activity->progress, ==, 42);
  g_assert_true (event->activity->cancellable);
  g_assert_cmpstr (event->activity->section_key, ==, "1");
}

static void
test_notification_events (void)
{
  const struct {
    const char                *event;
    SpyglassActivityEventKind  kind;
  } cases[] = {
    { "started", SPYGLASS_ACTIVITY_EVENT_STARTED },
    { "updated", SPYGLASS_ACTIVITY_EVENT_UPDATED },
    { "ended", SPYGLASS_ACTIVITY_EVENT_ENDED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *frame = NULL;
      g_autoptr(GPtrArray) events = NULL;
      g_autoptr(SpyglassActivityEvent) copy = NULL;
      SpyglassActivityEvent *event;

      /* A lone object rather than a list, as elsewhere. */
      frame = g_strdup_printf ("{\"NotificationContainer\":{\"type\":\"activity\","
                               "\"ActivityNotification\":{\"event\":\"%s\",\"Activity\":"
                               "{\"uuid\":\"u\",\"type\":\"library.update.section\","
                               "\"progress\":\"%u\",\"Context\":{\"librarySectionID\":%u}}}}}",
                               cases[i].event, i * 50, i + 1);
      events = parse_notification_string (frame);
      g_assert_cmpuint (events->len, ==, 1);
      event = g_ptr_array_index (events, 0);
      g_assert_cmpint (event->kind, ==, cases[i].kind);
      g_assert_cmpint (event->activity->progress, ==, (int) i * 50);

      copy = spyglass_activity_event_copy (event);
      g_assert_cmpint (copy->kind, ==, cases[i].kind);
      g_assert_true (copy->activity != event->activity);
      g_assert_cmpstr (copy->activity->uuid, ==, "u");
      g_assert_cmpint (copy->activity->section_key[0], ==, '1' + (int) i);
    }
}

static void
test_notification_odd (void)
{
  g_autoptr(GBytes) body = load_data ("notification-odd.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  SpyglassActivityEvent *event;

  events = spyglass_parse_notification (body, &error);
  g_assert_no_error (error);
  /* Skipped: an unknown event ("paused", "ENDED"), no event, no Activity,
   * an Activity without uuid. */
  g_assert_cmpuint (events->len, ==, 2);

  event = g_ptr_array_index (events, 0);
  g_assert_cmpint (event->kind, ==, SPYGLASS_ACTIVITY_EVENT_STARTED);
  g_assert_cmpstr (event->activity->uuid, ==, "a1");
  g_assert_cmpint (event->activity->progress, ==, 27);
  g_assert_true (event->activity->cancellable);
  g_assert_cmpstr (event->activity->subtitle, ==, "");
  g_assert_cmpstr (event->activity->section_key, ==, "3");

  /* A list of Activities is read as its first. */
  event = g_ptr_array_index (events, 1);
  g_assert_cmpint (event->kind, ==, SPYGLASS_ACTIVITY_EVENT_ENDED);
  g_assert_cmpstr (event->activity->uuid, ==, "a6");
  g_assert_cmpstr (event->activity->type, ==, "media.generate.bif");
  g_assert_cmpint (event->activity->progress, ==, 100);
  g_assert_false (event->activity->cancellable);
  g_assert_null (event->activity->section_key);
}

/* Other notification types carry nothing Spyglass follows: no events, no
 * error. */
static void
test_notification_other_types (void)
{
  const char *frames[] = {
    "{\"NotificationContainer\":{\"type\":\"timeline\",\"size\":1,\"TimelineEntry\":"
    "[{\"identifier\":\"com.plexapp.plugins.library\",\"sectionID\":\"3\",\"itemID\":\"42\","
    "\"type\":9,\"title\":\"Animals\",\"state\":5,\"updatedAt\":1700000000}]}}",
    "{\"NotificationContainer\":{\"type\":\"playing\",\"size\":1,\"PlaySessionStateNotification\":"
    "[{\"sessionKey\":\"1\",\"state\":\"playing\",\"viewOffset\":1000}]}}",
    "{\"NotificationContainer\":{\"type\":\"status\",\"size\":1,\"StatusNotification\":"
    "[{\"title\":\"Library scan complete\",\"notificationName\":\"LIBRARY_UPDATE\"}]}}",
    "{\"NotificationContainer\":{\"type\":\"reachability\",\"size\":1,\"ReachabilityNotification\":[{}]}}",
    /* An activity list under another type is not read. */
    "{\"NotificationContainer\":{\"type\":\"timeline\",\"ActivityNotification\":\"not a list\"}}",
    "{\"NotificationContainer\":{\"type\":\"Activity\",\"ActivityNotification\":[{\"event\":\"ended\","
    "\"Activity\":{\"uuid\":\"u\",\"type\":\"t\"}}]}}",
    "{\"NotificationContainer\":{\"type\":42}}",
    "{\"NotificationContainer\":{\"type\":{\"activity\":1}}}",
    "{\"NotificationContainer\":{}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"size\":0}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":[]}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":null}}",
  };
  g_autoptr(GBytes) transcode = load_data ("notification-transcode.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;

  events = spyglass_parse_notification (transcode, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      g_autoptr(GPtrArray) none = NULL;

      g_test_message ("%s", frames[i]);
      none = parse_notification_string (frames[i]);
      g_assert_cmpuint (none->len, ==, 0);
    }
}

static void
test_notification_fail (void)
{
  const char *bad[] = {
    "",
    "  \r\n",
    "s3cr3t",
    "[]",
    "null",
    "\"NotificationContainer\"",
    /* Notifications are JSON only. */
    "<NotificationContainer type=\"activity\"/>",
    "<MediaContainer size=\"0\"/>",
    /* A response is not a notification. */
    "{\"MediaContainer\":{\"size\":0}}",
    "{\"NotificationContainer\":[]}",
    "{\"NotificationContainer\":\"s3cr3t\"}",
    "{\"NotificationContainer\":null}",
    "{\"notificationcontainer\":{}}",
    /* Not well-formed, or not plain JSON. */
    "{\"NotificationContainer\":{\"type\":\"activity\"}",
    "{\"NotificationContainer\":{\"type\":\"s3cr3t\",}}",
    "{'NotificationContainer':{}}",
    "{\"NotificationContainer\":{}} /* s3cr3t */",
    "{\"NotificationContainer\":{\"type\":\"\xff\"}}",
    /* A list Spyglass reads that is not a list of objects. */
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":\"s3cr3t\"}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":[1]}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":[{\"event\":\"ended\","
    "\"Activity\":\"s3cr3t\"}]}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":[{\"event\":\"ended\","
    "\"Activity\":[\"s3cr3t\"]}]}}",
    "{\"NotificationContainer\":{\"type\":\"activity\",\"ActivityNotification\":[{\"event\":\"ended\","
    "\"Activity\":{\"uuid\":\"u\",\"type\":\"t\",\"Context\":\"1\"}}]}}",
  };
  g_autoptr(GString) deep = g_string_new ("{\"NotificationContainer\":{\"type\":\"activity\",\"x\":");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *escaped = g_strescape (bad[i], NULL);

      g_test_message ("%s", escaped);
      assert_notification_fails (bad[i], SPYGLASS_ERROR_BAD_RESPONSE);
    }

  /* The nesting limit of the other parsers: 65 levels in all. */
  for (guint j = 0; j < 63; j++)
    g_string_append_c (deep, '[');
  for (guint j = 0; j < 63; j++)
    g_string_append_c (deep, ']');
  g_string_append (deep, "}}");
  assert_notification_fails (deep->str, SPYGLASS_ERROR_BAD_RESPONSE);
}

static void
test_notification_too_large (void)
{
  const char *head = "{\"NotificationContainer\":{\"type\":\"activity\"}}";
  gsize size = SPYGLASS_MAX_RESPONSE_SIZE + 1;
  char *data = g_malloc (size);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) at_limit = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;

  /* Well-formed: white space may follow the object. */
  memset (data, ' ', size);
  memcpy (data, head, strlen (head));
  body = g_bytes_new_take (data, size);
  events = spyglass_parse_notification (body, &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
  g_assert_null (events);
  g_clear_error (&error);

  at_limit = g_bytes_new_from_bytes (body, 0, SPYGLASS_MAX_RESPONSE_SIZE);
  events = spyglass_parse_notification (at_limit, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);
}

/* Failures */

static void
test_fail_not_plex (void)
{
  /* plex-api.md §3.5: 401 and 403 bodies are HTML, even for JSON requests. */
  assert_file_fails ("unauthorized.html");
  assert_file_fails ("forbidden.html");
  assert_file_fails ("bad-plain.txt");
  assert_string_fails ("<!DOCTYPE html><html><body>Bad Gateway</body></html>");
  assert_string_fails ("502 Bad Gateway");
  assert_string_fails ("[]");
  assert_string_fails ("\"MediaContainer\"");
}

static void
test_fail_empty (void)
{
  assert_string_fails ("");
  assert_string_fails ("   \r\n\t ");
  assert_string_fails ("\xef\xbb\xbf");
  assert_string_fails ("\xef\xbb\xbf   ");
}

static void
test_fail_malformed (void)
{
  assert_file_fails ("bad-truncated.xml");
  assert_file_fails ("bad-truncated.json");
  assert_string_fails ("<MediaContainer>");
  assert_string_fails ("<MediaContainer size=\"1\"><Directory key=\"1\"></MediaContainer>");
  assert_string_fails ("<MediaContainer a=\"1\" a=\"2\"/>");
  assert_string_fails ("<MediaContainer title=\"&nbsp;\"/>");
  assert_string_fails ("<MediaContainer/><MediaContainer/>");
  assert_string_fails ("{\"MediaContainer\":{}");
  assert_string_fails ("{\"MediaContainer\":{}}}");
  assert_string_fails ("{\"MediaContainer\":{\"Directory\":[{\"key\":\"1\",]}}");
  assert_string_fails ("{'MediaContainer':{}}");
  assert_file_fails ("bad-comment.json");
}

static void
test_fail_wrong_root (void)
{
  assert_file_fails ("bad-root.xml");
  assert_file_fails ("bad-root.json");
  assert_file_fails ("bad-root-array.json");
  assert_string_fails ("{\"MediaContainer\":[]}");
  assert_string_fails ("{\"MediaContainer\":null}");
  assert_string_fails ("{\"mediacontainer\":{}}");
}

static void
test_fail_wrong_shape (void)
{
  g_autoptr(GBytes) directory = load_data ("bad-directory-type.json");
  g_autoptr(GBytes) location = load_data ("bad-location-type.json");
  g_autoptr(GBytes) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GPtrArray) activities = NULL;

  sections = spyglass_parse_sections (directory, &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE);
  g_assert_null (sections);
  g_clear_error (&error);

  sections = spyglass_parse_sections (location, &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE);
  g_assert_null (sections);
  g_clear_error (&error);

  context = bytes_from_string ("{\"MediaContainer\":{\"Activity\":[{\"uuid\":\"u\","
                               "\"type\":\"t\",\"Context\":\"1\"}]}}");
  activities = spyglass_parse_activities (context, &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE);
  g_assert_null (activities);
}

static void
test_fail_invalid_utf8 (void)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sections = NULL;

  assert_string_fails ("<MediaContainer title=\"\xff\"/>");
  assert_string_fails ("{\"MediaContainer\":{\"title\":\"\xff\"}}");

  /* json-glib turns a lone surrogate escape into invalid UTF-8: the field
   * reads as missing, so the row is skipped. */
  body = bytes_from_string ("{\"MediaContainer\":{\"Directory\":[{\"key\":\"\\udc00x\","
                            "\"type\":\"artist\",\"title\":\"Music\"}]}}");
  sections = spyglass_parse_sections (body, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sections->len, ==, 0);
}

static void
test_fail_embedded_nul (void)
{
  static const char xml[] = "<MediaContainer friendlyName=\"a\0b\"/>";
  static const char json[] = "{\"MediaContainer\":{\"friendlyName\":\"a\0b\"}}";
  g_autoptr(GBytes) xml_body = g_bytes_new_static (xml, sizeof xml - 1);
  g_autoptr(GBytes) json_body = g_bytes_new_static (json, sizeof json - 1);

  assert_all_fail (xml_body, SPYGLASS_ERROR_BAD_RESPONSE);
  assert_all_fail (json_body, SPYGLASS_ERROR_BAD_RESPONSE);
}

/* No entity is ever expanded: the DOCTYPE alone makes the body unreadable. */
static void
test_fail_entities (void)
{
  gint64 start = g_get_monotonic_time ();

  assert_file_fails ("bad-billion-laughs.xml");
  assert_file_fails ("bad-internal-entity.xml");
  assert_file_fails ("bad-external-entity.xml");
  /* Would never finish if the external DTD were read. */
  assert_file_fails ("bad-external-dtd.xml");

  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

/* libxml2's error printing is off: a bad body leaves stderr alone. */
static void
test_fail_quietly (void)
{
  if (g_test_subprocess ())
    {
      g_unsetenv ("G_MESSAGES_DEBUG");
      assert_file_fails ("bad-truncated.xml");
      assert_file_fails ("bad-billion-laughs.xml");
      assert_file_fails ("bad-external-entity.xml");
      assert_file_fails ("unauthorized.html");
      assert_string_fails ("<MediaContainer title=\"\xff\"/>");
      assert_string_fails ("<MediaContainer title=\"&nbsp;\"/>");
      assert_string_fails ("<?xml version=\"1.0\" encoding=\"no-such-encoding\"?><MediaContainer/>");
      /* Found by fuzz-parse-server-info: iconv errors bypass the context. */
      assert_string_fails ("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><MediaContainer a=\"\x81\"/>");
      assert_string_fails ("<?xml version=\"1.0\" encoding=\"EUC-JP\"?><MediaContainer a=\"\xff\xfe\"/>");
      assert_string_fails ("{\"MediaContainer\":{}");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

static void
test_fail_deep_nesting (void)
{
  /* The deepest JSON stays just under the size cap. */
  const gsize depths[] = { 65, 1000, 100000, SPYGLASS_MAX_RESPONSE_SIZE / 2 - 16 };

  for (guint i = 0; i < G_N_ELEMENTS (depths); i++)
    {
      g_autoptr(GString) json = g_string_new ("{\"MediaContainer\":{\"x\":");
      g_autoptr(GString) xml = g_string_new ("<MediaContainer>");
      g_autoptr(GBytes) json_body = NULL;
      g_autoptr(GBytes) xml_body = NULL;

      for (gsize j = 0; j < depths[i]; j++)
        {
          g_string_append_c (json, '[');
          g_string_append (xml, "<a>");
        }
      for (gsize j = 0; j < depths[i]; j++)
        {
          g_string_append_c (json, ']');
          g_string_append (xml, "</a>");
        }
      g_string_append (json, "}}");
      g_string_append (xml, "</MediaContainer>");

      json_body = g_bytes_new (json->str, json->len);
      assert_all_fail (json_body, SPYGLASS_ERROR_BAD_RESPONSE);

      /* libxml2 refuses more than 256 levels; the deepest body is over
       * the size cap. */
      xml_body = g_bytes_new (xml->str, xml->len);
      if (xml->len > SPYGLASS_MAX_RESPONSE_SIZE)
        assert_all_fail (xml_body, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
      else if (depths[i] > 256)
        assert_all_fail (xml_body, SPYGLASS_ERROR_BAD_RESPONSE);
    }
}

static void
test_nesting_allowed (void)
{
  g_autoptr(GString) json = g_string_new ("{\"MediaContainer\":{\"x\":");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  /* 2 levels for the root and MediaContainer, 62 more. */
  for (guint j = 0; j < 62; j++)
    g_string_append (json, "[\"[{\\\"]\",");
  g_string_append_c (json, '0');
  for (guint j = 0; j < 62; j++)
    g_string_append_c (json, ']');
  g_string_append (json, ",\"version\":\"1.0\"}}");

  body = g_bytes_new (json->str, json->len);
  info = spyglass_parse_server_info (body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->version, ==, "1.0");
}

static void
test_fail_too_large (void)
{
  gsize size = SPYGLASS_MAX_RESPONSE_SIZE + 1;
  char *data = g_malloc (size);
  g_autoptr(GBytes) body = NULL;

  /* Well-formed, so only the size can make it fail. */
  memset (data, ' ', size);
  memcpy (data, "<MediaContainer>", strlen ("<MediaContainer>"));
  memcpy (data + size - strlen ("</MediaContainer>"), "</MediaContainer>", strlen ("</MediaContainer>"));
  body = g_bytes_new_take (data, size);

  assert_all_fail (body, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
}

static void
test_at_size_limit (void)
{
  gsize size = SPYGLASS_MAX_RESPONSE_SIZE;
  const char *head = "{\"MediaContainer\":{\"version\":\"1\"}}";
  char *data = g_malloc (size);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  memset (data, '\n', size);
  memcpy (data, head, strlen (head));
  body = g_bytes_new_take (data, size);

  info = spyglass_parse_server_info (body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->version, ==, "1");
}

/* Every sample body, and every input the fuzzers kept, through every
 * parser: a result or an error in SPYGLASS_ERROR, never both, never a
 * crash. */
static void
run_directory (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint count = 0;

  dir = g_dir_open (path, 0, &error);
  if (dir == NULL && g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return;
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autoptr(GBytes) body = NULL;
      g_autoptr(SpyglassServerInfo) info = NULL;
      g_autoptr(GPtrArray) sections = NULL;
      g_autoptr(GPtrArray) activities = NULL;
      g_autoptr(GError) info_error = NULL;
      g_autoptr(GError) sections_error = NULL;
      g_autoptr(GError) activities_error = NULL;
      g_autoptr(GPtrArray) events = NULL;
      g_autoptr(GError) events_error = NULL;
      char *contents = NULL;
      gsize length = 0;

      if (g_file_test (file, G_FILE_TEST_IS_DIR) || g_str_has_suffix (name, ".md"))
        continue;

      g_file_get_contents (file, &contents, &length, &error);
      g_assert_no_error (error);
      body = g_bytes_new_take (contents, length);

      info = spyglass_parse_server_info (body, &info_error);
      g_assert_true ((info == NULL) != (info_error == NULL));
      if (info_error != NULL)
        g_assert_true (info_error->domain == SPYGLASS_ERROR);

      sections = spyglass_parse_sections (body, &sections_error);
      g_assert_true ((sections == NULL) != (sections_error == NULL));
      if (sections_error != NULL)
        g_assert_true (sections_error->domain == SPYGLASS_ERROR);
      for (guint i = 0; sections != NULL && i < sections->len; i++)
        {
          SpyglassSection *section = g_ptr_array_index (sections, i);

          g_assert_nonnull (section->key);
          g_assert_nonnull (section->type);
          g_assert_nonnull (section->title);
          g_assert_nonnull (section->locations);
          g_assert_true (g_utf8_validate (section->title, -1, NULL));
        }

      activities = spyglass_parse_activities (body, &activities_error);
      g_assert_true ((activities == NULL) != (activities_error == NULL));
      if (activities_error != NULL)
        g_assert_true (activities_error->domain == SPYGLASS_ERROR);
      for (guint i = 0; activities != NULL && i < activities->len; i++)
        {
          SpyglassActivity *activity = g_ptr_array_index (activities, i);

          g_assert_nonnull (activity->uuid);
          g_assert_nonnull (activity->type);
          g_assert_cmpint (activity->progress, >=, -1);
          g_assert_cmpint (activity->progress, <=, 100);
        }

      events = spyglass_parse_notification (body, &events_error);
      g_assert_true ((events == NULL) != (events_error == NULL));
      if (events_error != NULL)
        g_assert_true (events_error->domain == SPYGLASS_ERROR);
      for (guint i = 0; events != NULL && i < events->len; i++)
        {
          SpyglassActivityEvent *event = g_ptr_array_index (events, i);

          g_assert_cmpint (event->kind, >=, SPYGLASS_ACTIVITY_EVENT_STARTED);
          g_assert_cmpint (event->kind, <=, SPYGLASS_ACTIVITY_EVENT_ENDED);
          g_assert_nonnull (event->activity);
          g_assert_nonnull (event->activity->uuid);
          g_assert_nonnull (event->activity->type);
          g_assert_cmpint (event->activity->progress, >=, -1);
          g_assert_cmpint (event->activity->progress, <=, 100);
        }

      count++;
    }

  g_test_message ("%u files in %s", count, path);
}

/* In a subprocess, so that anything printed to stderr fails the test too. */
static void
test_regression_corpus (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *data = g_test_build_filename (G_TEST_DIST, "data", NULL);
      g_autofree char *corpus = g_test_build_filename (G_TEST_DIST, "..", "fuzz", "corpus", NULL);

      g_unsetenv ("G_MESSAGES_DEBUG");
      run_directory (data);
      run_directory (corpus);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/parse/server-info/xml", test_server_info_xml);
  g_test_add_func ("/parse/server-info/identity", test_server_info_identity);
  g_test_add_func ("/parse/server-info/json", test_server_info_json);
  g_test_add_func ("/parse/server-info/empty-container", test_server_info_empty_container);
  g_test_add_func ("/parse/server-info/latin1", test_server_info_latin1);

  g_test_add_func ("/parse/sections/xml", test_sections_xml);
  g_test_add_func ("/parse/sections/json", test_sections_json);
  g_test_add_func ("/parse/sections/multi-location", test_sections_multi_location);
  g_test_add_func ("/parse/sections/odd", test_sections_odd);
  g_test_add_func ("/parse/sections/key-number", test_sections_key_number);
  g_test_add_func ("/parse/sections/refreshing", test_sections_refreshing);
  g_test_add_func ("/parse/sections/bom", test_sections_bom);
  g_test_add_func ("/parse/sections/empty", test_sections_empty);

  g_test_add_func ("/parse/activities/epg", test_activities_epg);
  g_test_add_func ("/parse/activities/scan", test_activities_scan);
  g_test_add_func ("/parse/activities/odd", test_activities_odd);
  g_test_add_func ("/parse/activities/progress", test_activities_progress);
  g_test_add_func ("/parse/activities/empty", test_activities_empty);

  g_test_add_func ("/parse/notification/activity", test_notification_activity);
  g_test_add_func ("/parse/notification/events", test_notification_events);
  g_test_add_func ("/parse/notification/odd", test_notification_odd);
  g_test_add_func ("/parse/notification/other-types", test_notification_other_types);
  g_test_add_func ("/parse/notification/fail", test_notification_fail);
  g_test_add_func ("/parse/notification/too-large", test_notification_too_large);

  g_test_add_func ("/parse/fail/not-plex", test_fail_not_plex);
  g_test_add_func ("/parse/fail/empty", test_fail_empty);
  g_test_add_func ("/parse/fail/malformed", test_fail_malformed);
  g_test_add_func ("/parse/fail/wrong-root", test_fail_wrong_root);
  g_test_add_func ("/parse/fail/wrong-shape", test_fail_wrong_shape);
  g_test_add_func ("/parse/fail/invalid-utf8", test_fail_invalid_utf8);
  g_test_add_func ("/parse/fail/embedded-nul", test_fail_embedded_nul);
  g_test_add_func ("/parse/fail/entities", test_fail_entities);
  g_test_add_func ("/parse/fail/quietly", test_fail_quietly);
  g_test_add_func ("/parse/fail/deep-nesting", test_fail_deep_nesting);
  g_test_add_func ("/parse/fail/too-large", test_fail_too_large);
  g_test_add_func ("/parse/limits/nesting", test_nesting_allowed);
  g_test_add_func ("/parse/limits/size", test_at_size_limit);

  g_test_add_func ("/parse/regression/corpus", test_regression_corpus);

  return g_test_run ();
}
