/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-fake-plex.c: the fake Plex server behaves like plex-api.md says a
 * real one does, checked with a plain SoupSession (no Spyglass code). */

#include "config.h"

#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "fake-plex.h"

/* SHA-256 of the DER of tests/data/cert-a.pem (see tests/data/README). */
#define CERT_A_SHA256 "cb088089ed9dba436d5b622a871b93244fe77178f49125b3fdbecbb3372d2034"

typedef struct
{
  FakePlex    *plex;
  SoupSession *session;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->plex = fake_plex_new ();
  fake_plex_set_scan_duration (f->plex, 200);
  g_assert_true (fake_plex_start (f->plex, &error));
  g_assert_no_error (error);
  f->session = soup_session_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_assert_finalize_object (f->plex);
  f->plex = NULL;

  /* Let closed connections finish. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
quit_cb (gpointer user_data)
{
  gboolean *done = user_data;

  *done = TRUE;

  return G_SOURCE_REMOVE;
}

static void
wait_ms (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, quit_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static SoupMessage *
new_message (Fixture    *f,
             const char *method,
             const char *path,
             const char *token,
             gboolean    json)
{
  g_autofree char *uri = g_strconcat (fake_plex_get_url (f->plex), path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);
  SoupMessageHeaders *headers;

  g_assert_nonnull (msg);
  headers = soup_message_get_request_headers (msg);
  if (token != NULL)
    soup_message_headers_replace (headers, "X-Plex-Token", token);
  if (json)
    soup_message_headers_replace (headers, "Accept", "application/json");

  return msg;
}

typedef struct
{
  GBytes   *body;
  GError   *error;
  gboolean  done;
} Reply;

static void
send_and_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Reply *reply = user_data;

  reply->body = soup_session_send_and_read_finish (SOUP_SESSION (object), result,
                                                   &reply->error);
  reply->done = TRUE;
}

static GBytes *
send_message (Fixture       *f,
              SoupMessage   *msg,
              GCancellable  *cancellable,
              GError       **error)
{
  Reply reply = { NULL, NULL, FALSE };

  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT,
                                    cancellable, send_and_read_cb, &reply);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);

  if (reply.error != NULL)
    g_propagate_error (error, reply.error);

  return reply.body;
}

/* Sends @method @path with the right token and returns the body, checking
 * the status and the X-Plex-Protocol header. */
static GBytes *
fetch (Fixture    *f,
       const char *method,
       const char *path,
       gboolean    json,
       guint       expected_status)
{
  g_autoptr(SoupMessage) msg = new_message (f, method, path, fake_plex_get_token (f->plex), json);
  g_autoptr(GError) error = NULL;
  GBytes *body;

  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, expected_status);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                 "X-Plex-Protocol"), ==, "1.0");

  return body;
}

/* --- parsing what came back --- */

typedef struct
{
  char       *name;
  GHashTable *attrs;
} Element;

static void
element_free (gpointer data)
{
  Element *element = data;

  g_free (element->name);
  g_hash_table_unref (element->attrs);
  g_free (element);
}

static void
collect_start_element (GMarkupParseContext  *context,
                       const char           *name,
                       const char          **attr_names,
                       const char          **attr_values,
                       gpointer              user_data,
                       GError              **error)
{
  GPtrArray *elements = user_data;
  Element *element = g_new0 (Element, 1);

  element->name = g_strdup (name);
  element->attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; attr_names[i] != NULL; i++)
    g_hash_table_insert (element->attrs, g_strdup (attr_names[i]), g_strdup (attr_values[i]));
  g_ptr_array_add (elements, element);
}

/* Every element of an XML document in document order, or NULL with @error
 * if it is not well-formed. */
static GPtrArray *
parse_xml (GBytes  *body,
           GError **error)
{
  static const GMarkupParser parser = { collect_start_element, NULL, NULL, NULL, NULL };
  g_autoptr(GPtrArray) elements = g_ptr_array_new_with_free_func (element_free);
  g_autoptr(GMarkupParseContext) context = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);

  context = g_markup_parse_context_new (&parser, 0, elements, NULL);
  if (!g_markup_parse_context_parse (context, data, length, error) ||
      !g_markup_parse_context_end_parse (context, error))
    return NULL;

  return g_steal_pointer (&elements);
}

static GPtrArray *
parse_xml_or_die (GBytes *body)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *elements = parse_xml (body, &error);

  g_assert_no_error (error);
  g_assert_nonnull (elements);
  g_assert_cmpuint (elements->len, >, 0);
  g_assert_cmpstr (((Element *) g_ptr_array_index (elements, 0))->name, ==, "MediaContainer");

  return elements;
}

static void
count_start_element (GMarkupParseContext  *context,
                     const char           *name,
                     const char          **attr_names,
                     const char          **attr_values,
                     gpointer              user_data,
                     GError              **error)
{
  guint *count = user_data;

  (*count)++;
}

/* How many elements a well-formed XML document has. */
static guint
count_xml_elements (GBytes *body)
{
  static const GMarkupParser parser = { count_start_element, NULL, NULL, NULL, NULL };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GError) error = NULL;
  guint count = 0;
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);

  context = g_markup_parse_context_new (&parser, 0, &count, NULL);
  g_markup_parse_context_parse (context, data, length, &error);
  g_assert_no_error (error);
  g_markup_parse_context_end_parse (context, &error);
  g_assert_no_error (error);

  return count;
}

/* The @index-th element named @name, or NULL. */
static Element *
find_element (GPtrArray  *elements,
              const char *name,
              guint       index)
{
  for (guint i = 0; i < elements->len; i++)
    {
      Element *element = g_ptr_array_index (elements, i);

      if (g_str_equal (element->name, name) && index-- == 0)
        return element;
    }

  return NULL;
}

static const char *
attr (Element    *element,
      const char *name)
{
  g_assert_nonnull (element);

  return g_hash_table_lookup (element->attrs, name);
}

/* The "MediaContainer" object of a JSON body. */
static JsonObject *
parse_json_container (GBytes      *body,
                      JsonParser **out_parser)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);
  JsonNode *root;
  JsonObject *container;

  json_parser_load_from_data (parser, data, length, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  container = json_object_get_object_member (json_node_get_object (root), "MediaContainer");
  g_assert_nonnull (container);
  *out_parser = g_steal_pointer (&parser);

  return container;
}

static JsonObject *
find_json_directory (JsonObject *container,
                     const char *key)
{
  JsonArray *directories = json_object_get_array_member (container, "Directory");

  for (guint i = 0; i < json_array_get_length (directories); i++)
    {
      JsonObject *directory = json_array_get_object_element (directories, i);
      JsonNode *node = json_object_get_member (directory, "key");

      g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
      if (g_str_equal (json_node_get_string (node), key))
        return directory;
    }

  return NULL;
}

static void
assert_bytes_equal (GBytes     *bytes,
                    const char *expected,
                    gsize       expected_length)
{
  gsize length = 0;
  const char *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &length);
  g_assert_cmpmem (data, length, expected, expected_length);
  /* The promised NUL after the data. */
  g_assert_cmpint (data[length], ==, '\0');
}

/* --- tests --- */

static void
test_identity (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = new_message (f, "GET", "/identity", NULL, FALSE);
  g_autoptr(SoupMessage) json_msg = new_message (f, "GET", "/identity", NULL, TRUE);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) json_body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  const char *machine_id = fake_plex_get_machine_identifier (f->plex);
  Element *container;
  JsonObject *object;

  g_assert_cmpuint (strlen (machine_id), ==, 40);
  for (guint i = 0; i < 40; i++)
    g_assert_true (g_ascii_isxdigit (machine_id[i]));

  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL),
                   ==, "text/xml");
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                 "X-Plex-Protocol"), ==, "1.0");
  elements = parse_xml_or_die (body);
  container = find_element (elements, "MediaContainer", 0);
  g_assert_cmpstr (attr (container, "size"), ==, "0");
  g_assert_cmpstr (attr (container, "claimed"), ==, "1");
  g_assert_cmpstr (attr (container, "machineIdentifier"), ==, machine_id);
  g_assert_cmpstr (attr (container, "version"), ==, FAKE_PLEX_DEFAULT_VERSION);

  json_body = send_message (f, json_msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (json_msg), ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (json_msg), NULL),
                   ==, "application/json");
  object = parse_json_container (json_body, &parser);
  g_assert_true (json_object_get_boolean_member (object, "claimed"));
  g_assert_cmpint (json_object_get_int_member (object, "size"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (object, "machineIdentifier"), ==, machine_id);
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, FAKE_PLEX_DEFAULT_VERSION);
}

static void
assert_unauthorized (Fixture    *f,
                     const char *path,
                     const char *token,
                     gboolean    json)
{
  g_autoptr(SoupMessage) msg = new_message (f, "GET", path, token, json);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;

  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  headers = soup_message_get_response_headers (msg);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 401);
  g_assert_cmpstr (soup_message_headers_get_content_type (headers, NULL), ==, "text/html");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Plex-Protocol"), ==, "1.0");
  assert_bytes_equal (body, FAKE_PLEX_BODY_401, strlen (FAKE_PLEX_BODY_401));
  g_assert_cmpuint (strlen (FAKE_PLEX_BODY_401), ==, 91);
}

static void
test_unauthorized (Fixture       *f,
                   gconstpointer  data)
{
  assert_unauthorized (f, "/library/sections", NULL, FALSE);
  /* Error bodies are HTML even when JSON was asked for. */
  assert_unauthorized (f, "/library/sections", NULL, TRUE);
  assert_unauthorized (f, "/library/sections", "wrong", FALSE);
  assert_unauthorized (f, "/library/sections?X-Plex-Token=wrong", NULL, FALSE);
  assert_unauthorized (f, "/", NULL, FALSE);
  assert_unauthorized (f, "/activities", NULL, FALSE);
  assert_unauthorized (f, "/library/sections/1/refresh", NULL, FALSE);
  /* Unknown paths ask for the token first, as every other path does. */
  assert_unauthorized (f, "/no/such/thing", NULL, FALSE);
  g_assert_false (fake_plex_is_scanning (f->plex, "1"));
}

static void
test_token (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  GPtrArray *requests = fake_plex_get_requests (f->plex);
  FakePlexRequest *request;

  body = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_assert_cmpuint (requests->len, ==, 1);
  request = g_ptr_array_index (requests, 0);
  g_assert_false (request->token_in_query);
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"),
                   ==, FAKE_PLEX_DEFAULT_TOKEN);
  g_clear_pointer (&body, g_bytes_unref);

  path = g_strdup_printf ("/library/sections?X-Plex-Token=%s", fake_plex_get_token (f->plex));
  msg = new_message (f, "GET", path, NULL, FALSE);
  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (requests->len, ==, 2);
  request = g_ptr_array_index (requests, 1);
  g_assert_true (request->token_in_query);
  g_assert_cmpstr (fake_plex_request_get_param_string (request, "X-Plex-Token"),
                   ==, FAKE_PLEX_DEFAULT_TOKEN);

  /* Another token. */
  fake_plex_set_token (f->plex, "other-token");
  assert_unauthorized (f, "/library/sections", FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  g_clear_pointer (&body, g_bytes_unref);
  body = fetch (f, "GET", "/library/sections", FALSE, 200);
}

static void
test_root (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) json_body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(JsonParser) parser = NULL;
  Element *container;
  JsonObject *object;

  fake_plex_set_friendly_name (f->plex, "Den & \"Attic\"");
  fake_plex_set_version (f->plex, "1.41.2.9200-c6bbc1b53");

  body = fetch (f, "GET", "/", FALSE, 200);
  elements = parse_xml_or_die (body);
  container = find_element (elements, "MediaContainer", 0);
  g_assert_cmpstr (attr (container, "friendlyName"), ==, "Den & \"Attic\"");
  g_assert_cmpstr (attr (container, "version"), ==, "1.41.2.9200-c6bbc1b53");
  g_assert_cmpstr (attr (container, "machineIdentifier"), ==,
                   fake_plex_get_machine_identifier (f->plex));
  g_assert_cmpstr (attr (container, "platform"), ==, "Linux");
  g_assert_nonnull (attr (container, "platformVersion"));
  g_assert_cmpstr (attr (container, "myPlexSigninState"), ==, "ok");
  g_assert_cmpstr (attr (container, "certificate"), ==, "0");
  g_assert_nonnull (find_element (elements, "Directory", 0));

  json_body = fetch (f, "GET", "/", TRUE, 200);
  object = parse_json_container (json_body, &parser);
  g_assert_cmpstr (json_object_get_string_member (object, "friendlyName"), ==, "Den & \"Attic\"");
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, "1.41.2.9200-c6bbc1b53");
  g_assert_cmpstr (json_object_get_string_member (object, "platform"), ==, "Linux");
  g_assert_true (json_object_get_boolean_member (object, "allowSync"));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "Directory")));
}

/* The default libraries, as fake-plex.h lists them. */
static const struct {
  const char *key;
  const char *type;
  const char *title;
  const char *locations[3];
} default_sections[] = {
  { "1", "movie",  "Movies",       { "/data/movies", NULL } },
  { "2", "show",   "TV Shows",     { "/data/tv", NULL } },
  { "3", "artist", "Music",        { "/data/music", "/srv/more music", NULL } },
  { "4", "artist", "Music Hi-Res", { "/data/music-hires", NULL } },
};

static void
test_sections_xml (Fixture       *f,
                   gconstpointer  data)
{
  const char *paths[] = { "/library/sections", "/library/sections/all" };

  for (guint p = 0; p < G_N_ELEMENTS (paths); p++)
    {
      g_autoptr(GBytes) body = fetch (f, "GET", paths[p], FALSE, 200);
      g_autoptr(GPtrArray) elements = parse_xml_or_die (body);
      guint location_index = 0;
      GHashTable *uuids = g_hash_table_new (g_str_hash, g_str_equal);

      g_assert_cmpstr (attr (find_element (elements, "MediaContainer", 0), "size"), ==, "4");
      g_assert_cmpstr (attr (find_element (elements, "MediaContainer", 0), "title1"), ==, "Plex Library");
      g_assert_null (find_element (elements, "Directory", 4));

      for (guint i = 0; i < G_N_ELEMENTS (default_sections); i++)
        {
          Element *directory = find_element (elements, "Directory", i);

          g_assert_cmpstr (attr (directory, "key"), ==, default_sections[i].key);
          g_assert_cmpstr (attr (directory, "type"), ==, default_sections[i].type);
          g_assert_cmpstr (attr (directory, "title"), ==, default_sections[i].title);
          g_assert_cmpstr (attr (directory, "refreshing"), ==, "0");
          g_assert_cmpstr (attr (directory, "language"), ==, "en-US");
          g_assert_cmpstr (attr (directory, "hidden"), ==, "0");
          g_assert_nonnull (attr (directory, "agent"));
          g_assert_nonnull (attr (directory, "scanner"));
          g_assert_nonnull (attr (directory, "scannedAt"));
          g_assert_cmpuint (strlen (attr (directory, "uuid")), ==, 36);
          g_assert_true (g_hash_table_add (uuids, (gpointer) attr (directory, "uuid")));

          for (guint j = 0; default_sections[i].locations[j] != NULL; j++)
            {
              Element *location = find_element (elements, "Location", location_index++);
              g_autofree char *id = g_strdup_printf ("%u", location_index);

              g_assert_cmpstr (attr (location, "path"), ==, default_sections[i].locations[j]);
              g_assert_cmpstr (attr (location, "id"), ==, id);
            }
        }

      g_assert_cmpstr (attr (find_element (elements, "Directory", 2), "scanner"), ==, "Plex Music");
      g_assert_cmpstr (attr (find_element (elements, "Directory", 2), "agent"), ==, "tv.plex.agents.music");
      g_assert_null (find_element (elements, "Location", location_index));
      g_hash_table_unref (uuids);
    }
}

static void
test_sections_json (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) body = fetch (f, "GET", "/library/sections", TRUE, 200);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *container = parse_json_container (body, &parser);
  JsonArray *directories = json_object_get_array_member (container, "Directory");

  g_assert_cmpint (json_object_get_int_member (container, "size"), ==, 4);
  g_assert_cmpuint (json_array_get_length (directories), ==, 4);

  for (guint i = 0; i < G_N_ELEMENTS (default_sections); i++)
    {
      JsonObject *directory = json_array_get_object_element (directories, i);
      JsonArray *locations = json_object_get_array_member (directory, "Location");
      JsonNode *refreshing = json_object_get_member (directory, "refreshing");
      JsonNode *hidden = json_object_get_member (directory, "hidden");

      g_assert_cmpstr (json_object_get_string_member (directory, "key"), ==, default_sections[i].key);
      g_assert_cmpstr (json_object_get_string_member (directory, "type"), ==, default_sections[i].type);
      g_assert_cmpstr (json_object_get_string_member (directory, "title"), ==, default_sections[i].title);
      g_assert_cmpint (json_node_get_value_type (refreshing), ==, G_TYPE_BOOLEAN);
      g_assert_false (json_node_get_boolean (refreshing));
      g_assert_cmpint (json_node_get_value_type (hidden), ==, G_TYPE_INT64);
      g_assert_nonnull (json_object_get_string_member (directory, "uuid"));

      /* Location is always an array, its id a number. */
      g_assert_nonnull (locations);
      for (guint j = 0; default_sections[i].locations[j] != NULL; j++)
        {
          JsonObject *location = json_array_get_object_element (locations, j);
          JsonNode *id = json_object_get_member (location, "id");

          g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_INT64);
          g_assert_cmpstr (json_object_get_string_member (location, "path"),
                           ==, default_sections[i].locations[j]);
        }
    }
}

/* Paths with characters that need escaping come back intact. */
static void
test_sections_odd_paths (Fixture       *f,
                         gconstpointer  data)
{
  static const char * const locations[] = {
    "/data/a&b <c> \"d\" 'e'",
    "/data/tab\there/new\nline/cr\r",
    "/data/caf\xc3\xa9/\xe2\x98\x83/back\\slash",
    NULL,
  };
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) json_body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *container;
  JsonObject *directory;
  JsonArray *json_locations;

  fake_plex_clear_sections (f->plex);
  fake_plex_add_section (f->plex, "7", "artist", "Odd <&> \"Music\"", locations);

  body = fetch (f, "GET", "/library/sections", FALSE, 200);
  elements = parse_xml_or_die (body);
  g_assert_cmpstr (attr (find_element (elements, "Directory", 0), "title"), ==, "Odd <&> \"Music\"");
  for (guint i = 0; locations[i] != NULL; i++)
    g_assert_cmpstr (attr (find_element (elements, "Location", i), "path"), ==, locations[i]);
  g_assert_null (find_element (elements, "Directory", 1));

  json_body = fetch (f, "GET", "/library/sections", TRUE, 200);
  container = parse_json_container (json_body, &parser);
  directory = find_json_directory (container, "7");
  g_assert_nonnull (directory);
  g_assert_cmpstr (json_object_get_string_member (directory, "title"), ==, "Odd <&> \"Music\"");
  json_locations = json_object_get_array_member (directory, "Location");
  for (guint i = 0; locations[i] != NULL; i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_locations, i), "path"),
                     ==, locations[i]);
}

static const char *
xml_refreshing (Fixture    *f,
                const char *key)
{
  g_autoptr(GBytes) body = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_autoptr(GPtrArray) elements = parse_xml_or_die (body);

  for (guint i = 0; find_element (elements, "Directory", i) != NULL; i++)
    {
      Element *directory = find_element (elements, "Directory", i);

      if (g_str_equal (attr (directory, "key"), key))
        return g_intern_string (attr (directory, "refreshing"));
    }

  g_assert_not_reached ();
}

static gboolean
json_refreshing (Fixture    *f,
                 const char *key)
{
  g_autoptr(GBytes) body = fetch (f, "GET", "/library/sections", TRUE, 200);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *container = parse_json_container (body, &parser);
  JsonNode *node = json_object_get_member (find_json_directory (container, key), "refreshing");

  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);

  return json_node_get_boolean (node);
}

/* Sends a scan request and checks Plex's answer: 200, empty, text/html. */
static void
request_scan (Fixture    *f,
              const char *method,
              const char *path)
{
  g_autoptr(SoupMessage) msg = new_message (f, method, path, FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL),
                   ==, "text/html");
}

static void
test_refresh (Fixture       *f,
              gconstpointer  data)
{
  static const char * const methods[] = { "GET", "PUT", "POST" };

  for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
    {
      g_autoptr(GBytes) activities = NULL;
      g_autoptr(GBytes) json_activities = NULL;
      g_autoptr(GPtrArray) elements = NULL;
      g_autoptr(JsonParser) parser = NULL;
      g_autofree char *uuid = NULL;
      Element *activity;
      JsonObject *container;
      JsonObject *json_activity;
      JsonObject *context;
      gint64 start;
      int progress;

      /* A scan long enough to look at it at leisure, even under
       * sanitizers: progress rises 1 % every 20 ms. */
      fake_plex_set_scan_duration (f->plex, 2000);
      request_scan (f, methods[m], "/library/sections/3/refresh?path=%2Fdata%2Fmusic%2FAlbum");

      g_assert_true (fake_plex_is_scanning (f->plex, "3"));
      g_assert_false (fake_plex_is_scanning (f->plex, "1"));
      g_assert_cmpstr (xml_refreshing (f, "3"), ==, "1");
      g_assert_cmpstr (xml_refreshing (f, "1"), ==, "0");
      g_assert_true (json_refreshing (f, "3"));
      g_assert_false (json_refreshing (f, "4"));

      uuid = fake_plex_dup_activity_uuid (f->plex, "3");
      g_assert_nonnull (uuid);
      activities = fetch (f, "GET", "/activities", FALSE, 200);
      elements = parse_xml_or_die (activities);
      g_assert_cmpstr (attr (find_element (elements, "MediaContainer", 0), "size"), ==, "1");
      activity = find_element (elements, "Activity", 0);
      g_assert_cmpstr (attr (activity, "uuid"), ==, uuid);
      g_assert_cmpstr (attr (activity, "type"), ==, "library.update.section");
      g_assert_cmpstr (attr (activity, "title"), ==, "Scanning Music");
      g_assert_cmpstr (attr (activity, "subtitle"), ==, "/data/music/Album");
      g_assert_cmpstr (attr (activity, "cancellable"), ==, "1");
      g_assert_cmpstr (attr (activity, "userID"), ==, "1");
      g_assert_cmpstr (attr (find_element (elements, "Context", 0), "librarySectionID"), ==, "3");
      progress = atoi (attr (activity, "progress"));
      g_assert_cmpint (progress, >=, 0);
      g_assert_cmpint (progress, <, 100);
      g_assert_null (find_element (elements, "Activity", 1));

      wait_ms (100);
      json_activities = fetch (f, "GET", "/activities", TRUE, 200);
      container = parse_json_container (json_activities, &parser);
      g_assert_cmpint (json_object_get_int_member (container, "size"), ==, 1);
      json_activity = json_array_get_object_element (json_object_get_array_member (container, "Activity"), 0);
      g_assert_cmpstr (json_object_get_string_member (json_activity, "uuid"), ==, uuid);
      g_assert_cmpstr (json_object_get_string_member (json_activity, "type"), ==, "library.update.section");
      g_assert_cmpstr (json_object_get_string_member (json_activity, "title"), ==, "Scanning Music");
      g_assert_true (json_object_get_boolean_member (json_activity, "cancellable"));
      g_assert_cmpint (json_object_get_int_member (json_activity, "userID"), ==, 1);
      g_assert_cmpint (json_object_get_int_member (json_activity, "progress"), >, progress);
      g_assert_cmpint (json_object_get_int_member (json_activity, "progress"), <, 100);
      /* Context is an object, librarySectionID a string. */
      context = json_object_get_object_member (json_activity, "Context");
      g_assert_nonnull (context);
      g_assert_cmpstr (json_object_get_string_member (context, "librarySectionID"), ==, "3");

      /* A new request restarts the scan with the new duration; it ends
       * no sooner than that. */
      fake_plex_set_scan_duration (f->plex, 200);
      start = g_get_monotonic_time ();
      request_scan (f, methods[m], "/library/sections/3/refresh");
      while (fake_plex_is_scanning (f->plex, "3"))
        {
          g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
          g_main_context_iteration (NULL, TRUE);
        }
      g_assert_cmpint (g_get_monotonic_time () - start, >=, 195 * 1000);

      g_assert_cmpstr (xml_refreshing (f, "3"), ==, "0");
      g_assert_false (json_refreshing (f, "3"));
      g_clear_pointer (&activities, g_bytes_unref);
      g_clear_pointer (&elements, g_ptr_array_unref);
      activities = fetch (f, "GET", "/activities", FALSE, 200);
      elements = parse_xml_or_die (activities);
      g_assert_cmpstr (attr (find_element (elements, "MediaContainer", 0), "size"), ==, "0");
      g_assert_null (find_element (elements, "Activity", 0));
    }
}

static void
test_refresh_all (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GBytes) body = fetch (f, "GET", "/library/sections/all/refresh", FALSE, 200);
  g_autoptr(GBytes) activities = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GBytes) cancel = NULL;
  JsonObject *container;

  for (guint i = 0; i < G_N_ELEMENTS (default_sections); i++)
    g_assert_true (fake_plex_is_scanning (f->plex, default_sections[i].key));

  activities = fetch (f, "GET", "/activities", TRUE, 200);
  container = parse_json_container (activities, &parser);
  g_assert_cmpint (json_object_get_int_member (container, "size"), ==, 4);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (container, "Activity")), ==, 4);

  cancel = fetch (f, "DELETE", "/library/sections/all/refresh", FALSE, 200);
  g_assert_cmpuint (g_bytes_get_size (cancel), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (default_sections); i++)
    g_assert_false (fake_plex_is_scanning (f->plex, default_sections[i].key));
}

static void
test_refresh_restart (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *uuid = NULL;
  g_autofree char *uuid_after = NULL;
  gint64 restarted;

  fake_plex_set_scan_duration (f->plex, 300);
  request_scan (f, "GET", "/library/sections/1/refresh");
  uuid = fake_plex_dup_activity_uuid (f->plex, "1");
  wait_ms (150);
  g_assert_true (fake_plex_is_scanning (f->plex, "1"));
  restarted = g_get_monotonic_time ();
  request_scan (f, "PUT", "/library/sections/1/refresh");

  /* The same activity goes on for a full duration from the restart. */
  uuid_after = fake_plex_dup_activity_uuid (f->plex, "1");
  g_assert_cmpstr (uuid, ==, uuid_after);
  while (fake_plex_is_scanning (f->plex, "1"))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_get_monotonic_time () - restarted, >=, 295 * 1000);
}

static void
test_refresh_cancel (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;
  g_autofree char *uuid = NULL;
  g_autofree char *path = NULL;

  /* Cancelling while idle is fine. */
  body = fetch (f, "DELETE", "/library/sections/2/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  body = fetch (f, "DELETE", "/library/sections/all/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);

  fake_plex_set_scan_duration (f->plex, 10000);
  body = fetch (f, "POST", "/library/sections/2/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  g_assert_true (fake_plex_is_scanning (f->plex, "2"));
  body = fetch (f, "DELETE", "/library/sections/2/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  g_assert_false (fake_plex_is_scanning (f->plex, "2"));
  g_assert_cmpstr (xml_refreshing (f, "2"), ==, "0");

  /* DELETE /activities/{uuid} */
  body = fetch (f, "GET", "/library/sections/2/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  uuid = fake_plex_dup_activity_uuid (f->plex, "2");
  path = g_strconcat ("/activities/", uuid, NULL);
  body = fetch (f, "DELETE", path, FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  g_assert_false (fake_plex_is_scanning (f->plex, "2"));
  body = fetch (f, "DELETE", path, FALSE, 404);
  g_clear_pointer (&body, g_bytes_unref);
  body = fetch (f, "DELETE", "/activities/00000000-0000-0000-0000-000000000000", FALSE, 404);
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  static const struct {
    const char *method;
    const char *path;
  } cases[] = {
    { "GET", "/library/sections/99/refresh" },
    { "PUT", "/library/sections/99/refresh?path=%2Fdata" },
    { "DELETE", "/library/sections/99/refresh" },
    { "GET", "/library/sections/3/nonsense" },
    { "GET", "/no/such/thing" },
    { "GET", "/identity/more" },
    { "POST", "/activities" },
    { "GET", "/activities/some-uuid" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = fetch (f, cases[i].method, cases[i].path, FALSE, 404);

      g_assert_cmpuint (g_bytes_get_size (body), >, 0);
    }

  g_assert_false (fake_plex_is_scanning (f->plex, "3"));
}

static void
test_requests_recorded (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GBytes) a = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_autoptr(GBytes) b = fetch (f, "PUT", "/library/sections/3/refresh?force=1", FALSE, 200);
  g_autoptr(GBytes) c = fetch (f, "GET", "/library/sections/3/refresh", FALSE, 200);
  g_autoptr(GPtrArray) puts = fake_plex_find_requests (f->plex, "PUT", "/library/sections/3/refresh");
  g_autoptr(GPtrArray) any = fake_plex_find_requests (f->plex, NULL, "/library/sections/3/refresh");
  g_autoptr(GPtrArray) none = fake_plex_find_requests (f->plex, "DELETE", "/library/sections/3/refresh");
  FakePlexRequest *request;

  g_assert_cmpuint (fake_plex_get_requests (f->plex)->len, ==, 3);
  g_assert_cmpuint (puts->len, ==, 1);
  g_assert_cmpuint (any->len, ==, 2);
  g_assert_cmpuint (none->len, ==, 0);

  request = g_ptr_array_index (puts, 0);
  g_assert_cmpstr (request->method, ==, "PUT");
  g_assert_cmpstr (request->query, ==, "force=1");
  g_assert_cmpstr (fake_plex_request_get_param_string (request, "force"), ==, "1");
  g_assert_null (fake_plex_request_get_param (request, "path"));
  request = g_ptr_array_index (any, 1);
  g_assert_null (request->query);
  g_assert_cmpuint (g_hash_table_size (request->params), ==, 0);

  fake_plex_clear_requests (f->plex);
  g_assert_cmpuint (fake_plex_get_requests (f->plex)->len, ==, 0);
}

static void
test_decoding (Fixture       *f,
               gconstpointer  data)
{
  static const char query[] =
    "path=/data/music/a%20b%26c%23d%2Be%25f%3Fg"
    "&plus=a+b%2Bc"
    "&latin1=%E9"
    "&utf8=caf%C3%A9%20%E2%98%83"
    "&nul=a%00b"
    "&percent=100%25"
    "&empty="
    "&bare"
    "&enc%20name=1"
    "&dup=first&dup=last";
  g_autofree char *path = g_strconcat ("/library/sections/3/refresh?", query, NULL);
  g_autoptr(GBytes) body = fetch (f, "GET", path, FALSE, 200);
  /* GUri, in the client and in SoupServer, upper-cases escapes and
   * decodes escaped unreserved characters ("%7e" is "~"). */
  g_autoptr(GBytes) body2 = fetch (f, "GET", "/library/sections/3/a%20b%2Fc?x=%e9%7e%41", FALSE, 404);
  g_autoptr(SoupMessage) nul_in_path = new_message (f, "GET", "/library/sections%00", FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  g_autoptr(GBytes) body3 = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *requests = fake_plex_get_requests (f->plex);
  FakePlexRequest *request = g_ptr_array_index (requests, 0);

  g_assert_cmpstr (request->path, ==, "/library/sections/3/refresh");
  g_assert_cmpstr (request->query, ==, query);

  assert_bytes_equal (fake_plex_request_get_param (request, "path"),
                      "/data/music/a b&c#d+e%f?g", strlen ("/data/music/a b&c#d+e%f?g"));
  assert_bytes_equal (fake_plex_request_get_param (request, "plus"), "a b+c", 5);
  assert_bytes_equal (fake_plex_request_get_param (request, "latin1"), "\xe9", 1);
  assert_bytes_equal (fake_plex_request_get_param (request, "utf8"),
                      "caf\xc3\xa9 \xe2\x98\x83", 9);
  assert_bytes_equal (fake_plex_request_get_param (request, "nul"), "a\0b", 3);
  assert_bytes_equal (fake_plex_request_get_param (request, "percent"), "100%", 4);
  assert_bytes_equal (fake_plex_request_get_param (request, "empty"), "", 0);
  assert_bytes_equal (fake_plex_request_get_param (request, "bare"), "", 0);
  assert_bytes_equal (fake_plex_request_get_param (request, "enc name"), "1", 1);
  assert_bytes_equal (fake_plex_request_get_param (request, "dup"), "last", 4);
  g_assert_null (fake_plex_request_get_param (request, "missing"));
  g_assert_cmpstr (fake_plex_request_get_param_string (request, "nul"), ==, "a");
  g_assert_true (fake_plex_is_scanning (f->plex, "3"));

  /* The path arrives decoded, the query as GUri normalised it. */
  request = g_ptr_array_index (requests, 1);
  g_assert_cmpstr (request->path, ==, "/library/sections/3/a b/c");
  g_assert_cmpstr (request->query, ==, "x=%E9~A");
  assert_bytes_equal (fake_plex_request_get_param (request, "x"), "\xe9~A", 3);

  /* SoupServer itself refuses a NUL in the path, before any handler. */
  body3 = send_message (f, nul_in_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (nul_in_path), ==, 400);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (nul_in_path),
                                                 "X-Plex-Protocol"), ==, "1.0");
  g_assert_cmpuint (requests->len, ==, 2);
}

static void
assert_fault_status (Fixture    *f,
                     const char *path,
                     guint       status,
                     const char *expected_body)
{
  g_autoptr(GBytes) body = fetch (f, "GET", path, FALSE, status);

  if (expected_body != NULL)
    assert_bytes_equal (body, expected_body, strlen (expected_body));
}

static void
test_fault_status (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_UNAUTHORIZED);
  assert_fault_status (f, "/identity", 401, FAKE_PLEX_BODY_401);
  assert_fault_status (f, "/library/sections", 401, FAKE_PLEX_BODY_401);

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_FORBIDDEN);
  assert_fault_status (f, "/identity", 403, FAKE_PLEX_BODY_403);
  assert_fault_status (f, "/library/sections/1/refresh", 403, FAKE_PLEX_BODY_403);
  g_assert_false (fake_plex_is_scanning (f->plex, "1"));

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_NOT_FOUND);
  assert_fault_status (f, "/library/sections", 404, NULL);

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_SERVER_ERROR);
  assert_fault_status (f, "/identity", 500, NULL);
  assert_fault_status (f, "/library/sections/1/refresh", 500, NULL);
  g_assert_false (fake_plex_is_scanning (f->plex, "1"));

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_NONE);
  body = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_assert_cmpuint (fake_plex_get_requests (f->plex)->len, ==, 8);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);

  return G_SOURCE_REMOVE;
}

static void
test_fault_hang (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = new_message (f, "GET", "/identity", NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  Reply reply = { NULL, NULL, FALSE };
  g_autoptr(SoupMessage) msg2 = new_message (f, "GET", "/library/sections", FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  g_autoptr(SoupSession) other = soup_session_new ();

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_HANG);

  /* No answer at all: the client gives up. */
  g_timeout_add (300, cancel_cb, cancellable);
  body = send_message (f, msg, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (body);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 290 * 1000);
  g_assert_cmpuint (fake_plex_get_requests (f->plex)->len, ==, 1);

  /* Another hung request is still open when the fixture disposes the
   * server: that must neither leak nor crash. */
  soup_session_send_and_read_async (other, msg2, G_PRIORITY_DEFAULT, NULL,
                                    send_and_read_cb, &reply);
  while (fake_plex_get_requests (f->plex)->len < 2)
    g_main_context_iteration (NULL, TRUE);
  wait_ms (50);
  g_assert_false (reply.done);

  g_clear_object (&f->session);
  g_assert_finalize_object (f->plex);
  f->plex = NULL;

  /* The client sees the connection go away. */
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (reply.error);
  g_clear_error (&reply.error);
  g_clear_pointer (&reply.body, g_bytes_unref);

  f->plex = fake_plex_new ();
}

typedef struct
{
  GInputStream *stream;
  GError       *error;
  gboolean      done;
} SendReply;

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  SendReply *reply = user_data;

  reply->stream = soup_session_send_finish (SOUP_SESSION (object), result, &reply->error);
  reply->done = TRUE;
}

typedef struct
{
  gssize    read;
  GError   *error;
  gboolean  done;
} ReadReply;

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  ReadReply *reply = user_data;

  reply->read = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &reply->error);
  reply->done = TRUE;
}

static void
test_fault_slow_body (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = new_message (f, "GET", "/library/sections", FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  SendReply reply = { NULL, NULL, FALSE };
  SoupMessageHeaders *headers;
  char buffer[16];
  gsize total = 0;
  gint64 start;

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_SLOW_BODY);

  soup_session_send_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, send_cb, &reply);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (reply.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  headers = soup_message_get_response_headers (msg);
  g_assert_cmpint (soup_message_headers_get_encoding (headers), ==, SOUP_ENCODING_CHUNKED);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Plex-Protocol"), ==, "1.0");

  /* Three bytes take about 600 ms, one at a time. */
  start = g_get_monotonic_time ();
  while (total < 3)
    {
      ReadReply read = { 0, NULL, FALSE };

      g_input_stream_read_async (reply.stream, buffer, sizeof buffer, G_PRIORITY_DEFAULT,
                                 NULL, read_cb, &read);
      while (!read.done)
        g_main_context_iteration (NULL, TRUE);
      g_assert_no_error (read.error);
      g_assert_cmpint (read.read, ==, 1);
      g_assert_cmpint (buffer[0], ==, "<?x"[total]);
      total += read.read;
    }
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 350 * 1000);

  /* The client hangs up; the server stops sending (no criticals about a
   * gone message under G_DEBUG=fatal-warnings). */
  g_input_stream_close (reply.stream, NULL, NULL);
  g_clear_object (&reply.stream);
  g_clear_object (&f->session);
  wait_ms (500);

  /* Again, and this time dispose the server while it sends. */
  f->session = soup_session_new ();
  {
    g_autoptr(SoupMessage) msg2 = new_message (f, "GET", "/identity", NULL, TRUE);
    SendReply reply2 = { NULL, NULL, FALSE };

    soup_session_send_async (f->session, msg2, G_PRIORITY_DEFAULT, NULL, send_cb, &reply2);
    while (!reply2.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_no_error (reply2.error);
    g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (msg2), NULL),
                     ==, "application/json");
    wait_ms (250);
    fake_plex_stop (f->plex);
    wait_ms (50);
    g_clear_object (&reply2.stream);
  }
}

static void
test_fault_malformed (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) json_body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *data_json;

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_MALFORMED);

  body = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (body, NULL), "<?xml"));
  elements = parse_xml (body, &error);
  g_assert_null (elements);
  g_assert_nonnull (error);
  g_clear_error (&error);

  json_body = fetch (f, "GET", "/identity", TRUE, 200);
  data_json = g_bytes_get_data (json_body, &length);
  g_assert_cmpuint (length, >, 0);
  g_assert_cmpint (data_json[0], ==, '{');
  g_assert_false (json_parser_load_from_data (parser, data_json, length, &error));
  g_assert_nonnull (error);
}

static void
test_fault_huge_body (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) json_body = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *container;

  fake_plex_set_fault (f->plex, FAKE_PLEX_FAULT_HUGE_BODY);

  body = fetch (f, "GET", "/library/sections", FALSE, 200);
  g_assert_cmpuint (g_bytes_get_size (body), >=, 9 * 1024 * 1024);
  g_assert_cmpuint (g_bytes_get_size (body), <, 9 * 1024 * 1024 + 4096);
  g_assert_cmpuint (count_xml_elements (body), >, 1000);

  again = fetch (f, "GET", "/identity", FALSE, 200);
  g_assert_true (g_bytes_equal (body, again));

  json_body = fetch (f, "GET", "/library/sections", TRUE, 200);
  g_assert_cmpuint (g_bytes_get_size (json_body), >=, 9 * 1024 * 1024);
  container = parse_json_container (json_body, &parser);
  g_assert_cmpint (json_object_get_int_member (container, "size"), ==,
                   json_array_get_length (json_object_get_array_member (container, "Directory")));
}

static void
test_stop (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = g_strdup (fake_plex_get_url (f->plex));
  guint16 port = fake_plex_get_port (f->plex);

  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_cmpuint (port, >, 0);
  g_assert_true (fake_plex_is_running (f->plex));

  fake_plex_stop (f->plex);
  g_assert_false (fake_plex_is_running (f->plex));
  fake_plex_stop (f->plex);

  msg = new_message (f, "GET", "/identity", NULL, FALSE);
  body = send_message (f, msg, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (body);
  g_clear_error (&error);
  g_clear_object (&msg);

  /* Back on the same port. */
  g_assert_true (fake_plex_start_on_port (f->plex, port, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fake_plex_get_url (f->plex), ==, url);
  body = fetch (f, "GET", "/identity", FALSE, 200);
}

/* --- the notification WebSocket --- */

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
} WebsocketReply;

static void
websocket_connect_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  WebsocketReply *reply = user_data;

  reply->connection = soup_session_websocket_connect_finish (SOUP_SESSION (object), result,
                                                             &reply->error);
  reply->done = TRUE;
}

/* Opens a notification WebSocket on @path ("/:/websockets/notifications…")
 * and waits for the server to count it. */
static SoupWebsocketConnection *
connect_websocket (Fixture      *f,
                   const char   *path,
                   const char   *token,
                   SoupMessage **out_msg,
                   GError      **error)
{
  g_autoptr(SoupMessage) msg = new_message (f, "GET", path, token, FALSE);
  WebsocketReply reply = { NULL, NULL, FALSE };
  guint before = fake_plex_get_n_websockets (f->plex);

  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, websocket_connect_cb, &reply);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);

  if (out_msg != NULL)
    *out_msg = g_object_ref (msg);

  if (reply.error != NULL)
    {
      g_propagate_error (error, reply.error);
      return NULL;
    }

  while (fake_plex_get_n_websockets (f->plex) == before)
    g_main_context_iteration (NULL, TRUE);

  return reply.connection;
}

/* One `activity` frame as a client reads it. */
typedef struct
{
  char   *event;
  char   *uuid;
  char   *activity_uuid;
  char   *type;
  char   *section_key;
  gint64  progress;
  gint64  received;  /* monotonic µs */
} Frame;

static void
frame_free (gpointer data)
{
  Frame *frame = data;

  g_free (frame->event);
  g_free (frame->uuid);
  g_free (frame->activity_uuid);
  g_free (frame->type);
  g_free (frame->section_key);
  g_free (frame);
}

static void
websocket_message_cb (SoupWebsocketConnection *connection,
                      SoupWebsocketDataType    type,
                      GBytes                  *message,
                      gpointer                 user_data)
{
  GPtrArray *frames = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);
  JsonObject *container;
  JsonArray *notifications;
  JsonObject *notification;
  JsonObject *activity;
  JsonObject *context;
  Frame *frame;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  json_parser_load_from_data (parser, data, length, &error);
  g_assert_no_error (error);

  /* plex-api.md §5.3, member by member. */
  container = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                             "NotificationContainer");
  g_assert_nonnull (container);
  g_assert_cmpstr (json_object_get_string_member (container, "type"), ==, "activity");
  g_assert_cmpint (json_object_get_int_member (container, "size"), ==, 1);
  notifications = json_object_get_array_member (container, "ActivityNotification");
  g_assert_cmpuint (json_array_get_length (notifications), ==, 1);
  notification = json_array_get_object_element (notifications, 0);
  activity = json_object_get_object_member (notification, "Activity");
  g_assert_nonnull (activity);
  g_assert_true (json_object_get_boolean_member (activity, "cancellable"));
  g_assert_cmpint (json_object_get_int_member (activity, "userID"), ==, 1);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (activity, "title"), "Scanning "));
  context = json_object_get_object_member (activity, "Context");
  g_assert_nonnull (context);
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (context, "librarySectionID")),
                   ==, G_TYPE_STRING);

  frame = g_new0 (Frame, 1);
  frame->event = g_strdup (json_object_get_string_member (notification, "event"));
  frame->uuid = g_strdup (json_object_get_string_member (notification, "uuid"));
  frame->activity_uuid = g_strdup (json_object_get_string_member (activity, "uuid"));
  frame->type = g_strdup (json_object_get_string_member (activity, "type"));
  frame->section_key = g_strdup (json_object_get_string_member (context, "librarySectionID"));
  frame->progress = json_object_get_int_member (activity, "progress");
  frame->received = g_get_monotonic_time ();
  g_ptr_array_add (frames, frame);
}

static Frame *
last_frame (GPtrArray *frames)
{
  return frames->len > 0 ? g_ptr_array_index (frames, frames->len - 1) : NULL;
}

/* Waits for an `ended` frame, for at most ten seconds. */
static void
wait_for_ended (GPtrArray *frames)
{
  gint64 start = g_get_monotonic_time ();

  while (last_frame (frames) == NULL || !g_str_equal (last_frame (frames)->event, "ended"))
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_websocket_scan (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (frame_free);
  g_autoptr(GPtrArray) upgrades = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = NULL;
  FakePlexRequest *request;
  gint64 before_scan;
  Frame *frame;

  g_assert_cmpint (fake_plex_get_last_ended_time (f->plex), ==, 0);
  connection = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN,
                                  NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);
  g_assert_cmpuint (fake_plex_get_n_websockets (f->plex), ==, 1);
  g_signal_connect (connection, "message", G_CALLBACK (websocket_message_cb), frames);

  /* The upgrade request is recorded like any other. */
  upgrades = fake_plex_find_requests (f->plex, "GET", "/:/websockets/notifications");
  g_assert_cmpuint (upgrades->len, ==, 1);
  request = g_ptr_array_index (upgrades, 0);
  g_assert_false (request->token_in_query);
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "Upgrade"), ==, "websocket");

  fake_plex_set_scan_duration (f->plex, 500);
  before_scan = g_get_monotonic_time ();
  body = fetch (f, "GET", "/library/sections/3/refresh?path=%2Fdata%2Fmusic%2Fx", FALSE, 200);
  uuid = fake_plex_dup_activity_uuid (f->plex, "3");
  wait_for_ended (frames);

  /* One started at 0, updated as the progress rises, one ended at 100. */
  g_assert_cmpuint (frames->len, >=, 3);
  frame = g_ptr_array_index (frames, 0);
  g_assert_cmpstr (frame->event, ==, "started");
  g_assert_cmpint (frame->progress, ==, 0);
  for (guint i = 0; i < frames->len; i++)
    {
      frame = g_ptr_array_index (frames, i);
      g_assert_cmpstr (frame->uuid, ==, uuid);
      g_assert_cmpstr (frame->activity_uuid, ==, uuid);
      g_assert_cmpstr (frame->type, ==, "library.update.section");
      g_assert_cmpstr (frame->section_key, ==, "3");
      if (i > 0 && i < frames->len - 1)
        {
          g_assert_cmpstr (frame->event, ==, "updated");
          g_assert_cmpint (frame->progress, >, ((Frame *) g_ptr_array_index (frames, i - 1))->progress);
          g_assert_cmpint (frame->progress, <, 100);
        }
    }
  frame = last_frame (frames);
  g_assert_cmpint (frame->progress, ==, 100);
  g_assert_false (fake_plex_is_scanning (f->plex, "3"));

  /* When the ended frame went out. */
  g_assert_cmpint (fake_plex_get_last_ended_time (f->plex), >=, before_scan + 500 * 1000);
  g_assert_cmpint (fake_plex_get_last_ended_time (f->plex), <=, frame->received);

  soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  while (fake_plex_get_n_websockets (f->plex) > 0)
    g_main_context_iteration (NULL, TRUE);
}

/* A cancelled scan ends where it was; a restarted one goes back to 0. */
static void
test_websocket_cancel (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (frame_free);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  connection = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN,
                                  NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "message", G_CALLBACK (websocket_message_cb), frames);

  fake_plex_set_scan_duration (f->plex, 5000);
  body = fetch (f, "GET", "/library/sections/1/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  while (frames->len < 2)
    g_main_context_iteration (NULL, TRUE);
  body = fetch (f, "GET", "/library/sections/1/refresh", FALSE, 200);
  g_clear_pointer (&body, g_bytes_unref);
  while (frames->len < 3)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (((Frame *) g_ptr_array_index (frames, 0))->event, ==, "started");
  g_assert_cmpstr (((Frame *) g_ptr_array_index (frames, 1))->event, ==, "updated");
  g_assert_cmpstr (((Frame *) g_ptr_array_index (frames, 2))->event, ==, "updated");
  g_assert_cmpint (((Frame *) g_ptr_array_index (frames, 2))->progress, ==, 0);

  body = fetch (f, "DELETE", "/library/sections/1/refresh", FALSE, 200);
  wait_for_ended (frames);
  g_assert_cmpint (last_frame (frames)->progress, <, 100);
  g_assert_cmpstr (last_frame (frames)->section_key, ==, "1");
}

/* The singular path of Plex's documents, and the token in the query. */
static void
test_websocket_singular (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GPtrArray) upgrades = NULL;
  g_autoptr(GError) error = NULL;
  FakePlexRequest *request;

  connection = connect_websocket (f, "/:/websocket/notifications?X-Plex-Token=" FAKE_PLEX_DEFAULT_TOKEN,
                                  NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);

  upgrades = fake_plex_find_requests (f->plex, "GET", "/:/websocket/notifications");
  g_assert_cmpuint (upgrades->len, ==, 1);
  request = g_ptr_array_index (upgrades, 0);
  g_assert_true (request->token_in_query);
}

static void
assert_upgrade_fails (Fixture    *f,
                      const char *path,
                      const char *token,
                      guint       status)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  connection = connect_websocket (f, path, token, &msg, &error);
  g_assert_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET);
  g_assert_null (connection);
  g_assert_cmpuint (soup_message_get_status (msg), ==, status);
  g_assert_cmpuint (fake_plex_get_n_websockets (f->plex), ==, 0);
}

static void
test_websocket_refused (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) upgrades = NULL;
  g_autoptr(GBytes) body = NULL;

  assert_upgrade_fails (f, "/:/websockets/notifications", NULL, 401);
  assert_upgrade_fails (f, "/:/websockets/notifications", "wrong", 401);
  assert_upgrade_fails (f, "/:/websocket/notifications?X-Plex-Token=wrong", NULL, 401);
  /* The header wins, as everywhere. */
  assert_upgrade_fails (f, "/:/websockets/notifications?X-Plex-Token=" FAKE_PLEX_DEFAULT_TOKEN,
                        "wrong", 401);
  assert_upgrade_fails (f, "/:/websockets/notifications/more", FAKE_PLEX_DEFAULT_TOKEN, 404);

  upgrades = fake_plex_find_requests (f->plex, "GET", "/:/websockets/notifications");
  g_assert_cmpuint (upgrades->len, ==, 3);

  /* Not an upgrade: SoupServer refuses it. */
  body = fetch (f, "GET", "/:/websockets/notifications", FALSE, 400);
  g_clear_pointer (&body, g_bytes_unref);

  /* Switched off: 404, with or without the token; back on: accepted. */
  fake_plex_set_websocket_enabled (f->plex, FALSE);
  assert_upgrade_fails (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN, 404);
  assert_upgrade_fails (f, "/:/websocket/notifications", FAKE_PLEX_DEFAULT_TOKEN, 404);
  assert_upgrade_fails (f, "/:/websockets/notifications", NULL, 401);
  fake_plex_set_websocket_enabled (f->plex, TRUE);
  {
    g_autoptr(SoupWebsocketConnection) connection = NULL;
    g_autoptr(GError) error = NULL;

    connection = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN,
                                    NULL, &error);
    g_assert_no_error (error);
  }
}

static void
closed_cb (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  guint *closed = user_data;

  (*closed)++;
}

static void
test_websocket_close (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) one = NULL;
  g_autoptr(SoupWebsocketConnection) two = NULL;
  g_autoptr(GError) error = NULL;
  guint closed = 0;

  one = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN, NULL, &error);
  g_assert_no_error (error);
  two = connect_websocket (f, "/:/websocket/notifications", FAKE_PLEX_DEFAULT_TOKEN, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fake_plex_get_n_websockets (f->plex), ==, 2);
  g_signal_connect (one, "closed", G_CALLBACK (closed_cb), &closed);
  g_signal_connect (two, "closed", G_CALLBACK (closed_cb), &closed);

  fake_plex_close_websockets (f->plex);
  g_assert_cmpuint (fake_plex_get_n_websockets (f->plex), ==, 0);
  while (closed < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (one), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (two), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);

  /* A stopped server drops them. */
  g_clear_object (&one);
  closed = 0;
  one = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (one, "closed", G_CALLBACK (closed_cb), &closed);
  fake_plex_stop (f->plex);
  g_assert_cmpuint (fake_plex_get_n_websockets (f->plex), ==, 0);
  while (closed < 1)
    g_main_context_iteration (NULL, TRUE);
}

static void
pong_cb (SoupWebsocketConnection *connection,
         GBytes                  *message,
         gpointer                 user_data)
{
  guint *pongs = user_data;

  (*pongs)++;
}

static void
test_websocket_ping (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  guint pongs = 0;

  connection = connect_websocket (f, "/:/websockets/notifications", FAKE_PLEX_DEFAULT_TOKEN,
                                  NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "pong", G_CALLBACK (pong_cb), &pongs);
  /* One ping a second, the shortest libsoup sends. */
  soup_websocket_connection_set_keepalive_interval (connection, 1);
  while (pongs == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);
}

static gboolean
accept_cert_a_cb (SoupMessage          *msg,
                  GTlsCertificate      *certificate,
                  GTlsCertificateFlags  errors,
                  gpointer              user_data)
{
  g_autoptr(GByteArray) der = NULL;
  g_autofree char *fingerprint = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  fingerprint = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);

  return g_str_equal (fingerprint, CERT_A_SHA256);
}

static void
test_tls (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *cert_path = g_test_build_filename (G_TEST_DIST, "data", "cert-a.pem", NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(SoupMessage) untrusted = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(GError) error = NULL;

  fake_plex_stop (f->plex);
  certificate = g_tls_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  g_assert_true (fake_plex_start_tls (f->plex, certificate, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (fake_plex_get_url (f->plex), "https://127.0.0.1:"));

  /* Self-signed: refused unless the client pins it. */
  untrusted = new_message (f, "GET", "/identity", NULL, FALSE);
  body = send_message (f, untrusted, NULL, &error);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_null (body);
  g_clear_error (&error);

  msg = new_message (f, "GET", "/", FAKE_PLEX_DEFAULT_TOKEN, FALSE);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_cert_a_cb), NULL);
  body = send_message (f, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  elements = parse_xml_or_die (body);
  g_assert_cmpstr (attr (find_element (elements, "MediaContainer", 0), "certificate"), ==, "1");
}

static void
request_received_cb (FakePlex              *plex,
                     const FakePlexRequest *request,
                     gpointer               user_data)
{
  guint *count = user_data;

  g_assert_cmpstr (request->path, ==, "/identity");
  (*count)++;
}

static void
test_signal (Fixture       *f,
             gconstpointer  data)
{
  guint count = 0;
  g_autoptr(GBytes) body = NULL;

  g_signal_connect (f->plex, "request-received", G_CALLBACK (request_received_cb), &count);
  body = fetch (f, "GET", "/identity", FALSE, 200);
  g_assert_cmpuint (count, ==, 1);
}

typedef struct
{
  GMutex        mutex;
  GCond         cond;
  char         *url;       /* set once the server listens */
  GMainContext *context;   /* the server thread's */
  gboolean      quit;
} ThreadData;

static gpointer
server_thread (gpointer user_data)
{
  ThreadData *data = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(FakePlex) plex = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  plex = fake_plex_new ();
  fake_plex_set_scan_duration (plex, 100);
  g_assert_true (fake_plex_start (plex, &error));
  g_assert_no_error (error);

  g_mutex_lock (&data->mutex);
  data->url = g_strdup (fake_plex_get_url (plex));
  data->context = g_main_context_ref (context);
  g_cond_signal (&data->cond);
  g_mutex_unlock (&data->mutex);

  while (!g_atomic_int_get (&data->quit))
    g_main_context_iteration (context, TRUE);

  fake_plex_stop (plex);
  g_clear_object (&plex);
  g_main_context_pop_thread_default (context);

  return NULL;
}

static gboolean
sync_refreshing (SoupSession *session,
                 const char  *url)
{
  g_autofree char *uri = g_strconcat (url, "/library/sections?X-Plex-Token=" FAKE_PLEX_DEFAULT_TOKEN, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  elements = parse_xml_or_die (body);

  return g_str_equal (attr (find_element (elements, "Directory", 0), "refreshing"), "1");
}

/* The server may run in a thread of its own, with its own main context
 * (its timers too), so that a test can use libsoup's blocking calls. */
static void
test_thread (void)
{
  ThreadData data = { 0, };
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  GThread *thread;
  gint64 start;

  g_mutex_init (&data.mutex);
  g_cond_init (&data.cond);
  thread = g_thread_new ("fake-plex", server_thread, &data);
  g_mutex_lock (&data.mutex);
  while (data.url == NULL)
    g_cond_wait (&data.cond, &data.mutex);
  g_mutex_unlock (&data.mutex);

  uri = g_strconcat (data.url, "/library/sections/1/refresh?X-Plex-Token=" FAKE_PLEX_DEFAULT_TOKEN, NULL);
  msg = soup_message_new ("PUT", uri);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);

  /* The scan ends by a timer in the server thread's context. */
  start = g_get_monotonic_time ();
  while (sync_refreshing (session, data.url))
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
      g_usleep (20 * 1000);
    }

  g_atomic_int_set (&data.quit, TRUE);
  g_main_context_wakeup (data.context);
  g_thread_join (thread);

  g_free (data.url);
  g_main_context_unref (data.context);
  g_mutex_clear (&data.mutex);
  g_cond_clear (&data.cond);
}

/* The program: two lines on stdout, one log line per request on stderr
 * without the token, exit 0 on SIGTERM. */
static void
test_program (void)
{
  g_autofree char *program = g_test_build_filename (G_TEST_BUILT, "spyglass-fake-plex", NULL);
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GDataInputStream) err = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url_line = NULL;
  g_autofree char *token_line = NULL;
  g_autofree char *log_line = NULL;
  g_autofree char *uri = NULL;
  Reply reply = { NULL, NULL, FALSE };

  subprocess = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                 &error,
                                 program, "--token", "s3cret-token", "--scan-duration", "100",
                                 "--verbose", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (subprocess));
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (subprocess));

  url_line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (url_line, "url=http://127.0.0.1:"));
  token_line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token_line, ==, "token=s3cret-token");

  uri = g_strconcat (url_line + strlen ("url="),
                     "/library/sections/3/refresh?path=%2Fdata%2Fmusic%2Fa%20b%E9&X-Plex-Token=s3cret-token",
                     NULL);
  msg = soup_message_new ("GET", uri);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL,
                                    send_and_read_cb, &reply);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (reply.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_bytes_unref (reply.body);

  log_line = g_data_input_stream_read_line (err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (log_line, ==,
                   "GET /library/sections/3/refresh X-Plex-Token=(hidden) path=\"/data/music/a b\\xE9\"");

  g_subprocess_send_signal (subprocess, SIGTERM);
  g_subprocess_wait (subprocess, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (subprocess));
  g_assert_cmpint (g_subprocess_get_exit_status (subprocess), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  /* No G_TEST_OPTION_ISOLATE_DIRS: nothing here touches the user's
   * directories, and GLib 2.74 leaks the old ones at every test case,
   * which LeakSanitizer reports. */
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/fake-plex/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("identity", test_identity);
  ADD ("unauthorized", test_unauthorized);
  ADD ("token", test_token);
  ADD ("root", test_root);
  ADD ("sections/xml", test_sections_xml);
  ADD ("sections/json", test_sections_json);
  ADD ("sections/odd-paths", test_sections_odd_paths);
  ADD ("refresh/scan", test_refresh);
  ADD ("refresh/all", test_refresh_all);
  ADD ("refresh/restart", test_refresh_restart);
  ADD ("refresh/cancel", test_refresh_cancel);
  ADD ("not-found", test_not_found);
  ADD ("requests/recorded", test_requests_recorded);
  ADD ("requests/decoding", test_decoding);
  ADD ("requests/signal", test_signal);
  ADD ("fault/status", test_fault_status);
  ADD ("fault/hang", test_fault_hang);
  ADD ("fault/slow-body", test_fault_slow_body);
  ADD ("fault/malformed", test_fault_malformed);
  ADD ("fault/huge-body", test_fault_huge_body);
  ADD ("websocket/scan", test_websocket_scan);
  ADD ("websocket/cancel", test_websocket_cancel);
  ADD ("websocket/singular", test_websocket_singular);
  ADD ("websocket/refused", test_websocket_refused);
  ADD ("websocket/close", test_websocket_close);
  ADD ("websocket/ping", test_websocket_ping);
  ADD ("stop", test_stop);
  ADD ("tls", test_tls);
  g_test_add_func ("/fake-plex/program", test_program);
  g_test_add_func ("/fake-plex/thread", test_thread);

#undef ADD

  return g_test_run ();
}
