/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fake-plex.c: a fake Plex Media Server on loopback, for tests.
 *
 * It follows ../shared/plex-api.md: the documents it serves carry the
 * attributes real servers send, in the types real servers use (XML "0"/"1",
 * JSON true/false, section keys as JSON strings, Location ids as numbers).
 * Links only GLib, GIO, libsoup and json-glib: it must not depend on the
 * code it tests.
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "fake-plex.h"

#define FAKE_PLEX_BODY_400 "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>"
#define FAKE_PLEX_BODY_404 "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
#define FAKE_PLEX_BODY_500 "<html><head><title>Internal Server Error</title></head><body><h1>500 Internal Server Error</h1></body></html>"

#define CONTENT_TYPE_HTML "text/html"
#define CONTENT_TYPE_XML  "text/xml;charset=utf-8"
#define CONTENT_TYPE_JSON "application/json"

#define DEFAULT_SCAN_DURATION_MS 500
/* While a scan runs, an `updated` notification goes out every fifth of
 * its duration, within these bounds. */
#define MIN_UPDATE_INTERVAL_MS 10
#define MAX_UPDATE_INTERVAL_MS 250
/* FAKE_PLEX_FAULT_SLOW_BODY: one byte every 200 ms of a body this long,
 * which takes five minutes. */
#define SLOW_BODY_INTERVAL_MS 200
#define SLOW_BODY_LENGTH      1500
/* FAKE_PLEX_FAULT_HUGE_BODY: over the client's 8 MiB cap. */
#define HUGE_BODY_LENGTH      (9 * 1024 * 1024)

/* ------------------------------------------------------------------------
 * Documents: one tree, written out as XML or as JSON
 * ------------------------------------------------------------------------ */

typedef enum
{
  VALUE_STRING,
  VALUE_INT,   /* a number in both XML and JSON */
  VALUE_BOOL,  /* "0"/"1" in XML, false/true in JSON */
} ValueKind;

typedef struct
{
  const char *name;    /* static */
  ValueKind   kind;
  char       *string;  /* owned, VALUE_STRING only */
  gint64      number;
} Attr;

typedef struct _Node Node;
struct _Node
{
  const char *name;        /* static element name */
  GArray     *attrs;       /* of Attr */
  GPtrArray  *children;    /* of Node, owned */
  /* In JSON, a single object (as "Context" in an Activity) rather than a
   * member of an array named after the element. */
  gboolean    json_object;
};

static void
attr_clear (gpointer data)
{
  Attr *attr = data;

  g_free (attr->string);
}

static Node *
node_new (const char *name)
{
  Node *node = g_new0 (Node, 1);

  node->name = name;
  node->attrs = g_array_new (FALSE, TRUE, sizeof (Attr));
  g_array_set_clear_func (node->attrs, attr_clear);
  node->children = g_ptr_array_new ();

  return node;
}

static void
node_free (Node *node)
{
  g_array_unref (node->attrs);
  g_ptr_array_foreach (node->children, (GFunc) node_free, NULL);
  g_ptr_array_unref (node->children);
  g_free (node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Node, node_free)

static Node *
node_add (Node       *parent,
          const char *name)
{
  Node *child = node_new (name);

  g_ptr_array_add (parent->children, child);

  return child;
}

static void
node_set_string (Node       *node,
                 const char *name,
                 const char *value)
{
  Attr attr = { name, VALUE_STRING, g_strdup (value ? value : ""), 0 };

  g_array_append_val (node->attrs, attr);
}

static void
node_set_int (Node       *node,
              const char *name,
              gint64      value)
{
  Attr attr = { name, VALUE_INT, NULL, value };

  g_array_append_val (node->attrs, attr);
}

static void
node_set_bool (Node       *node,
               const char *name,
               gboolean    value)
{
  Attr attr = { name, VALUE_BOOL, NULL, value ? 1 : 0 };

  g_array_append_val (node->attrs, attr);
}

/* g_markup_escape_text() leaves tab, newline and carriage return alone,
 * and an XML parser turns them into spaces inside an attribute value. */
static void
append_attr_escaped (GString    *out,
                     const char *value)
{
  g_autofree char *escaped = g_markup_escape_text (value, -1);

  for (const char *p = escaped; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '\t':
          g_string_append (out, "&#x9;");
          break;
        case '\n':
          g_string_append (out, "&#xA;");
          break;
        case '\r':
          g_string_append (out, "&#xD;");
          break;
        default:
          g_string_append_c (out, *p);
          break;
        }
    }
}

static void
node_write_xml (const Node *node,
                GString    *out)
{
  g_string_append_c (out, '<');
  g_string_append (out, node->name);

  for (guint i = 0; i < node->attrs->len; i++)
    {
      const Attr *attr = &g_array_index (node->attrs, Attr, i);

      g_string_append_printf (out, " %s=\"", attr->name);
      if (attr->kind == VALUE_STRING)
        append_attr_escaped (out, attr->string);
      else
        g_string_append_printf (out, "%" G_GINT64_FORMAT, attr->number);
      g_string_append_c (out, '"');
    }

  if (node->children->len == 0)
    {
      g_string_append (out, " />\n");
      return;
    }

  g_string_append (out, ">\n");
  for (guint i = 0; i < node->children->len; i++)
    node_write_xml (g_ptr_array_index (node->children, i), out);
  g_string_append_printf (out, "</%s>\n", node->name);
}

static void
node_build_json_members (const Node  *node,
                         JsonBuilder *builder)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < node->attrs->len; i++)
    {
      const Attr *attr = &g_array_index (node->attrs, Attr, i);

      json_builder_set_member_name (builder, attr->name);
      switch (attr->kind)
        {
        case VALUE_STRING:
          json_builder_add_string_value (builder, attr->string);
          break;
        case VALUE_INT:
          json_builder_add_int_value (builder, attr->number);
          break;
        case VALUE_BOOL:
          json_builder_add_boolean_value (builder, attr->number != 0);
          break;
        default:
          g_assert_not_reached ();
        }
    }

  /* Children become one member per element name, in order of appearance:
   * an array ("Location": [...]) or, for json_object, one object. */
  for (guint i = 0; i < node->children->len; i++)
    {
      const Node *child = g_ptr_array_index (node->children, i);
      gboolean seen = FALSE;

      for (guint j = 0; j < names->len && !seen; j++)
        seen = g_str_equal (g_ptr_array_index (names, j), child->name);
      if (!seen)
        g_ptr_array_add (names, (gpointer) child->name);
    }

  for (guint j = 0; j < names->len; j++)
    {
      const char *name = g_ptr_array_index (names, j);
      const Node *first = NULL;

      for (guint i = 0; i < node->children->len && first == NULL; i++)
        {
          const Node *child = g_ptr_array_index (node->children, i);

          if (g_str_equal (child->name, name))
            first = child;
        }

      json_builder_set_member_name (builder, name);
      if (first->json_object)
        {
          json_builder_begin_object (builder);
          node_build_json_members (first, builder);
          json_builder_end_object (builder);
          continue;
        }

      json_builder_begin_array (builder);
      for (guint i = 0; i < node->children->len; i++)
        {
          const Node *child = g_ptr_array_index (node->children, i);

          if (!g_str_equal (child->name, name))
            continue;
          json_builder_begin_object (builder);
          node_build_json_members (child, builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
    }
}

static char *
node_to_json (const Node *node,
              gsize      *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, node->name);
  json_builder_begin_object (builder);
  node_build_json_members (node, builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, length);
}

#define XML_DECLARATION "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* The document whose root is @node, as XML or JSON. */
static GBytes *
node_to_bytes (const Node *node,
               gboolean    json)
{
  if (json)
    {
      gsize length = 0;
      char *data = node_to_json (node, &length);

      return g_bytes_new_take (data, length);
    }
  else
    {
      GString *out = g_string_new (XML_DECLARATION);

      node_write_xml (node, out);

      return g_string_free_to_bytes (out);
    }
}

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

/* Percent-decoding that keeps every byte: %XX is that byte (%00 too), a
 * '%' without two hex digits after it stays, '+' is a space when
 * @plus_is_space. The result is followed by a NUL it does not count. */
static GBytes *
percent_decode (const char *text,
                gsize       length,
                gboolean    plus_is_space)
{
  char *out = g_malloc (length + 1);
  gsize n = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (c == '+' && plus_is_space)
        {
          out[n++] = ' ';
        }
      else if (c == '%' && i + 2 < length &&
               g_ascii_isxdigit (text[i + 1]) && g_ascii_isxdigit (text[i + 2]))
        {
          out[n++] = (char) ((g_ascii_xdigit_value (text[i + 1]) << 4) |
                             g_ascii_xdigit_value (text[i + 2]));
          i += 2;
        }
      else
        {
          out[n++] = c;
        }
    }
  out[n] = '\0';

  return g_bytes_new_take (out, n);
}

static GHashTable *
parse_query (const char *query)
{
  GHashTable *params = g_hash_table_new_full (g_str_hash, g_str_equal,
                                              g_free,
                                              (GDestroyNotify) g_bytes_unref);
  const char *part = query;

  while (part != NULL)
    {
      const char *amp = strchr (part, '&');
      gsize part_length = amp ? (gsize) (amp - part) : strlen (part);
      const char *eq = memchr (part, '=', part_length);
      gsize name_length = eq ? (gsize) (eq - part) : part_length;
      g_autoptr(GBytes) name = NULL;
      GBytes *value;

      if (part_length > 0)
        {
          name = percent_decode (part, name_length, TRUE);
          if (eq != NULL)
            value = percent_decode (eq + 1, part_length - name_length - 1, TRUE);
          else
            value = percent_decode ("", 0, TRUE);

          g_hash_table_replace (params,
                                g_strdup (g_bytes_get_data (name, NULL)),
                                value);
        }

      part = amp ? amp + 1 : NULL;
    }

  return params;
}

static FakePlexRequest *
fake_plex_request_new (SoupServerMessage *msg)
{
  FakePlexRequest *request = g_new0 (FakePlexRequest, 1);
  GUri *uri = soup_server_message_get_uri (msg);

  request->method = g_strdup (soup_server_message_get_method (msg));
  /* SoupServer has already percent-decoded the path (and answered 400
   * itself to a %00 in it, so such requests never get here). */
  request->path = g_strdup (g_uri_get_path (uri));
  /* Parsed with G_URI_FLAGS_ENCODED_QUERY: exactly as received. */
  request->query = g_strdup (g_uri_get_query (uri));
  request->params = parse_query (request->query);
  request->headers = soup_message_headers_ref (soup_server_message_get_request_headers (msg));
  request->token_in_query = g_hash_table_contains (request->params, "X-Plex-Token");

  return request;
}

static void
fake_plex_request_free (gpointer data)
{
  FakePlexRequest *request = data;

  g_free (request->method);
  g_free (request->path);
  g_free (request->query);
  g_hash_table_unref (request->params);
  soup_message_headers_unref (request->headers);
  g_free (request);
}

GBytes *
fake_plex_request_get_param (const FakePlexRequest *request,
                             const char            *name)
{
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (request->params, name);
}

const char *
fake_plex_request_get_param_string (const FakePlexRequest *request,
                                    const char            *name)
{
  GBytes *value = fake_plex_request_get_param (request, name);

  return value ? g_bytes_get_data (value, NULL) : NULL;
}

/* ------------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------------ */

typedef struct
{
  guint  id;
  char  *path;
} FakeLocation;

typedef struct
{
  FakePlex  *plex;             /* unowned: the section belongs to it */
  char      *key;
  char      *type;
  char      *title;
  char      *uuid;
  GPtrArray *locations;        /* of FakeLocation */
  gint64     created_at;       /* wall-clock seconds */
  gint64     updated_at;
  gint64     scanned_at;

  /* The simulated scan; activity_uuid is NULL when idle. */
  char      *activity_uuid;
  char      *activity_subtitle;
  gint64     scan_started;     /* monotonic µs */
  guint      scan_duration_ms;
  GSource   *scan_source;
  GSource   *update_source;    /* `updated` notifications */
  int        notified_progress;
} FakeSection;

/* A request held open by FAKE_PLEX_FAULT_HANG or FAKE_PLEX_FAULT_SLOW_BODY. */
typedef struct
{
  FakePlex          *plex;     /* unowned */
  SoupServerMessage *msg;      /* owned */
  GBytes            *body;     /* SLOW_BODY: what to send; NULL for HANG */
  gsize              sent;
  GSource           *source;
  gulong             finished_id;
  gulong             disconnected_id;
} HeldMessage;

struct _FakePlex
{
  GObject          parent_instance;

  /* The thread-default context at construction: SoupServer and our
   * timers run there, so a test may run the server in a thread. */
  GMainContext    *context;
  SoupServer      *server;     /* NULL when not listening */
  char            *url;
  guint16          port;       /* kept after fake_plex_stop() */

  char            *token;      /* NULL: no token needed */
  char            *version;
  char            *friendly_name;
  char            *machine_identifier;

  GPtrArray       *sections;   /* of FakeSection */
  guint            next_location_id;
  guint            scan_duration_ms;

  FakePlexFault    fault;
  GPtrArray       *requests;   /* of FakePlexRequest */
  GPtrArray       *held;       /* of HeldMessage */

  /* The notification WebSocket. */
  gboolean         websocket_enabled;
  GPtrArray       *websockets; /* of SoupWebsocketConnection, open */
  GPtrArray       *closing;    /* of SoupWebsocketConnection, closed by us, until they are */
  gint64           last_ended_time;  /* monotonic µs, 0 before the first */
};

G_DEFINE_FINAL_TYPE (FakePlex, fake_plex, G_TYPE_OBJECT)

enum {
  REQUEST_RECEIVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A timeout in @self's main context (g_timeout_add() would use the
 * global default one). Returns a reference for source_clear(). */
static GSource *
fake_plex_add_timeout (FakePlex    *self,
                       guint        milliseconds,
                       GSourceFunc  func,
                       gpointer     user_data)
{
  GSource *source = g_timeout_source_new (milliseconds);

  g_source_set_callback (source, func, user_data, NULL);
  g_source_attach (source, self->context);

  return source;
}

/* Destroys and drops a source from fake_plex_add_timeout(), also from
 * inside its own callback. */
static void
source_clear (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* g_set_str() is GLib 2.76, past the floor. */
static void
replace_string (char       **field,
                const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

static void
fake_location_free (gpointer data)
{
  FakeLocation *location = data;

  g_free (location->path);
  g_free (location);
}

static void
fake_section_stop_scan (FakeSection *section)
{
  source_clear (&section->scan_source);
  source_clear (&section->update_source);
  g_clear_pointer (&section->activity_uuid, g_free);
  g_clear_pointer (&section->activity_subtitle, g_free);
}

static int
fake_section_get_progress (const FakeSection *section)
{
  gint64 elapsed_ms = (g_get_monotonic_time () - section->scan_started) / 1000;

  if (section->scan_duration_ms == 0 || elapsed_ms >= section->scan_duration_ms)
    return 100;

  return (int) (elapsed_ms * 100 / section->scan_duration_ms);
}

/* The Activity of the running scan, as GET /activities and the
 * notifications show it. */
static Node *
fake_section_build_activity (const FakeSection *section,
                             int                progress)
{
  g_autofree char *title = g_strdup_printf ("Scanning %s", section->title);
  Node *activity = node_new ("Activity");
  Node *context;

  node_set_string (activity, "uuid", section->activity_uuid);
  node_set_string (activity, "type", "library.update.section");
  node_set_bool (activity, "cancellable", TRUE);
  node_set_int (activity, "userID", 1);
  node_set_string (activity, "title", title);
  node_set_string (activity, "subtitle", section->activity_subtitle);
  node_set_int (activity, "progress", progress);

  context = node_add (activity, "Context");
  context->json_object = TRUE;
  node_set_string (context, "librarySectionID", section->key);

  return activity;
}

/* Sends an `activity` notification (plex-api.md §5.3) about the scan of
 * @section to every connected client. */
static void
fake_plex_notify_activity (FakePlex          *self,
                           const FakeSection *section,
                           const char        *event,
                           int                progress)
{
  g_autoptr(Node) container = NULL;
  g_autofree char *text = NULL;
  Node *notification;
  Node *activity;
  guint sent = 0;
  gint64 now;

  if (self->websockets->len == 0)
    return;

  container = node_new ("NotificationContainer");
  node_set_string (container, "type", "activity");
  node_set_int (container, "size", 1);
  notification = node_add (container, "ActivityNotification");
  node_set_string (notification, "event", event);
  node_set_string (notification, "uuid", section->activity_uuid);
  activity = fake_section_build_activity (section, progress);
  activity->json_object = TRUE;
  g_ptr_array_add (notification->children, activity);
  text = node_to_json (container, NULL);

  /* Before the frame leaves: a client in another thread may have read it
   * before the send returns. */
  now = g_get_monotonic_time ();
  for (guint i = 0; i < self->websockets->len; i++)
    {
      SoupWebsocketConnection *connection = g_ptr_array_index (self->websockets, i);

      if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
        continue;
      soup_websocket_connection_send_text (connection, text);
      sent++;
    }

  if (sent > 0 && g_str_equal (event, "ended"))
    self->last_ended_time = now;

  g_debug ("Fake Plex: activity %s (%d %%) for section %s to %u clients",
           event, progress, section->key, sent);
}

/* Stops the scan of @section, telling the clients it ended. */
static void
fake_section_end_scan (FakeSection *section,
                       int          progress)
{
  if (section->activity_uuid != NULL)
    fake_plex_notify_activity (section->plex, section, "ended", progress);
  fake_section_stop_scan (section);
}

static gboolean
fake_section_update_cb (gpointer user_data)
{
  FakeSection *section = user_data;
  int progress = fake_section_get_progress (section);

  /* `ended` says 100. */
  if (progress > section->notified_progress && progress < 100)
    {
      fake_plex_notify_activity (section->plex, section, "updated", progress);
      section->notified_progress = progress;
    }

  return G_SOURCE_CONTINUE;
}

static void
fake_section_free (gpointer data)
{
  FakeSection *section = data;

  fake_section_stop_scan (section);
  g_free (section->key);
  g_free (section->type);
  g_free (section->title);
  g_free (section->uuid);
  g_ptr_array_unref (section->locations);
  g_free (section);
}

static gboolean
fake_section_scan_done_cb (gpointer user_data)
{
  FakeSection *section = user_data;

  g_debug ("Fake Plex: scan of section %s done", section->key);
  section->scanned_at = g_get_real_time () / G_USEC_PER_SEC;
  section->updated_at = section->scanned_at;
  fake_section_end_scan (section, 100);

  return G_SOURCE_REMOVE;
}

/* A refresh while a scan runs restarts it (same activity, progress back
 * to 0, full duration again): an `updated` notification at 0 rather than
 * a second `started`. */
static void
fake_section_start_scan (FakeSection *section,
                         const char  *path)
{
  FakePlex *self = section->plex;
  gboolean restart = section->activity_uuid != NULL;

  if (!restart)
    section->activity_uuid = g_uuid_string_random ();
  g_free (section->activity_subtitle);
  section->activity_subtitle = g_strdup (path);
  section->scan_started = g_get_monotonic_time ();
  section->scan_duration_ms = self->scan_duration_ms;
  section->notified_progress = 0;

  source_clear (&section->scan_source);
  section->scan_source = fake_plex_add_timeout (self, self->scan_duration_ms,
                                                fake_section_scan_done_cb,
                                                section);
  source_clear (&section->update_source);
  section->update_source = fake_plex_add_timeout (self,
                                                  CLAMP (self->scan_duration_ms / 5,
                                                         MIN_UPDATE_INTERVAL_MS,
                                                         MAX_UPDATE_INTERVAL_MS),
                                                  fake_section_update_cb,
                                                  section);

  fake_plex_notify_activity (self, section, restart ? "updated" : "started", 0);
}

static FakeSection *
fake_plex_lookup_section (FakePlex   *self,
                          const char *key)
{
  for (guint i = 0; i < self->sections->len; i++)
    {
      FakeSection *section = g_ptr_array_index (self->sections, i);

      if (g_str_equal (section->key, key))
        return section;
    }

  return NULL;
}

static void
held_message_free (gpointer data)
{
  HeldMessage *held = data;

  source_clear (&held->source);
  g_clear_signal_handler (&held->finished_id, held->msg);
  g_clear_signal_handler (&held->disconnected_id, held->msg);
  g_clear_object (&held->msg);
  g_clear_pointer (&held->body, g_bytes_unref);
  g_free (held);
}

static void
held_message_done_cb (SoupServerMessage *msg,
                      gpointer           user_data)
{
  HeldMessage *held = user_data;

  /* Frees @held, which also disconnects this handler. */
  g_ptr_array_remove_fast (held->plex->held, held);
}

static gboolean
held_message_send_byte_cb (gpointer user_data)
{
  HeldMessage *held = user_data;
  SoupMessageBody *body = soup_server_message_get_response_body (held->msg);
  const char *data = g_bytes_get_data (held->body, NULL);
  gboolean done;

  soup_message_body_append (body, SOUP_MEMORY_COPY, data + held->sent, 1);
  held->sent++;
  done = held->sent >= g_bytes_get_size (held->body);
  if (done)
    {
      soup_message_body_complete (body);
      source_clear (&held->source);
    }

  /* The I/O pauses the message again by itself once it has written what
   * there is; "finished" then frees @held. */
  soup_server_message_unpause (held->msg);

  return done ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
fake_plex_hold_message (FakePlex          *self,
                        SoupServerMessage *msg,
                        GBytes            *slow_body)
{
  HeldMessage *held = g_new0 (HeldMessage, 1);

  held->plex = self;
  held->msg = g_object_ref (msg);
  held->finished_id = g_signal_connect (msg, "finished",
                                        G_CALLBACK (held_message_done_cb), held);
  held->disconnected_id = g_signal_connect (msg, "disconnected",
                                            G_CALLBACK (held_message_done_cb), held);
  g_ptr_array_add (self->held, held);

  if (slow_body != NULL)
    {
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

      held->body = g_bytes_ref (slow_body);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      held->source = fake_plex_add_timeout (self, SLOW_BODY_INTERVAL_MS,
                                            held_message_send_byte_cb, held);
    }

  soup_server_message_pause (msg);
}

static gboolean
wants_json (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *accept = soup_message_headers_get_list (headers, "Accept");

  return accept != NULL && strstr (accept, "application/json") != NULL;
}

static void
respond (SoupServerMessage *msg,
         guint              status,
         const char        *content_type,
         GBytes            *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  if (content_type != NULL)
    soup_message_headers_replace (headers, "Content-Type", content_type);
  if (body != NULL && g_bytes_get_size (body) > 0)
    soup_message_body_append_bytes (soup_server_message_get_response_body (msg), body);
}

static void
respond_html (SoupServerMessage *msg,
              guint              status,
              const char        *html)
{
  g_autoptr(GBytes) body = g_bytes_new_static (html, strlen (html));

  respond (msg, status, CONTENT_TYPE_HTML, body);
}

static void
respond_document (SoupServerMessage *msg,
                  const Node        *document,
                  gboolean           json)
{
  g_autoptr(GBytes) body = node_to_bytes (document, json);

  respond (msg, SOUP_STATUS_OK, json ? CONTENT_TYPE_JSON : CONTENT_TYPE_XML, body);
}

/* Scans and cancels answer 200 with an empty text/html body. */
static void
respond_empty (SoupServerMessage *msg)
{
  respond_html (msg, SOUP_STATUS_OK, "");
}

/* --- documents --- */

static Node *
fake_plex_build_identity (FakePlex *self)
{
  Node *container = node_new ("MediaContainer");

  node_set_int (container, "size", 0);
  node_set_bool (container, "claimed", TRUE);
  node_set_string (container, "machineIdentifier", self->machine_identifier);
  node_set_string (container, "version", self->version);

  return container;
}

static Node *
fake_plex_build_root (FakePlex *self)
{
  static const char * const directories[] = {
    "activities", "butler", "channels", "clients", "diagnostics", "hubs",
    "library", "livetv", "media", "player", "playlists", "resources",
    "search", "server", "servers", "statistics", "system", "transcode",
    "updater", "user",
  };
  Node *container = node_new ("MediaContainer");
  gboolean tls = self->url != NULL && g_str_has_prefix (self->url, "https:");

  node_set_int (container, "size", G_N_ELEMENTS (directories));
  node_set_bool (container, "allowCameraUpload", TRUE);
  node_set_bool (container, "allowChannelAccess", TRUE);
  node_set_bool (container, "allowMediaDeletion", TRUE);
  node_set_bool (container, "allowSharing", TRUE);
  node_set_bool (container, "allowSync", TRUE);
  node_set_bool (container, "allowTuners", TRUE);
  node_set_bool (container, "backgroundProcessing", TRUE);
  node_set_bool (container, "certificate", tls);
  node_set_bool (container, "companionProxy", TRUE);
  node_set_string (container, "countryCode", "usa");
  node_set_string (container, "diagnostics", "logs,databases,streaminglogs");
  node_set_bool (container, "eventStream", TRUE);
  node_set_string (container, "friendlyName", self->friendly_name);
  node_set_bool (container, "hubSearch", TRUE);
  node_set_bool (container, "itemClusters", TRUE);
  node_set_int (container, "livetv", 7);
  node_set_string (container, "machineIdentifier", self->machine_identifier);
  node_set_bool (container, "mediaProviders", TRUE);
  node_set_bool (container, "multiuser", TRUE);
  node_set_bool (container, "myPlex", TRUE);
  node_set_string (container, "myPlexMappingState", "mapped");
  node_set_string (container, "myPlexSigninState", "ok");
  node_set_bool (container, "myPlexSubscription", TRUE);
  node_set_string (container, "myPlexUsername", "fake@example.invalid");
  node_set_bool (container, "offlineTranscode", TRUE);
  node_set_string (container, "ownerFeatures", "adaptive_bitrate,camera_upload,cloudsync");
  node_set_bool (container, "photoAutoTag", TRUE);
  node_set_string (container, "platform", "Linux");
  node_set_string (container, "platformVersion", "12 (bookworm)");
  node_set_bool (container, "pluginHost", TRUE);
  node_set_bool (container, "pushNotifications", FALSE);
  node_set_bool (container, "readOnlyLibraries", FALSE);
  node_set_bool (container, "requestParametersInCookie", TRUE);
  node_set_int (container, "streamingBrainABRVersion", 3);
  node_set_int (container, "streamingBrainVersion", 2);
  node_set_bool (container, "sync", TRUE);
  node_set_int (container, "transcoderActiveVideoSessions", 0);
  node_set_bool (container, "transcoderAudio", TRUE);
  node_set_bool (container, "transcoderLyrics", TRUE);
  node_set_bool (container, "transcoderPhoto", TRUE);
  node_set_bool (container, "transcoderSubtitles", TRUE);
  node_set_bool (container, "transcoderVideo", TRUE);
  node_set_string (container, "transcoderVideoBitrates", "64,96,208,320,720,1500,2000,3000,4000,8000,10000,12000,20000");
  node_set_string (container, "transcoderVideoQualities", "0,1,2,3,4,5,6,7,8,9,10,11,12");
  node_set_string (container, "transcoderVideoResolutions", "128,128,160,240,320,480,768,720,720,1080,1080,1080,1080");
  node_set_int (container, "updatedAt", 1700000000);
  node_set_bool (container, "updater", TRUE);
  node_set_string (container, "version", self->version);
  node_set_bool (container, "voiceSearch", TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (directories); i++)
    {
      Node *directory = node_add (container, "Directory");

      node_set_int (directory, "count", 1);
      node_set_string (directory, "key", directories[i]);
      node_set_string (directory, "title", directories[i]);
    }

  return container;
}

typedef struct
{
  const char *type;
  const char *agent;
  const char *scanner;
} SectionKind;

static const SectionKind section_kinds[] = {
  { "movie",  "tv.plex.agents.movie",    "Plex Movie" },
  { "show",   "tv.plex.agents.series",   "Plex TV Series" },
  { "artist", "tv.plex.agents.music",    "Plex Music" },
  { "photo",  "com.plexapp.agents.none", "Plex Photo Scanner" },
};

static Node *
fake_section_build_directory (const FakeSection *section)
{
  Node *directory = node_new ("Directory");
  const SectionKind *kind = &section_kinds[0];
  g_autofree char *art = g_strdup_printf ("/:/resources/%s-fanart.jpg", section->type);
  g_autofree char *thumb = g_strdup_printf ("/:/resources/%s.png", section->type);
  g_autofree char *composite = g_strdup_printf ("/library/sections/%s/composite/%" G_GINT64_FORMAT,
                                                section->key, section->scanned_at);

  for (guint i = 0; i < G_N_ELEMENTS (section_kinds); i++)
    if (g_str_equal (section_kinds[i].type, section->type))
      kind = &section_kinds[i];

  node_set_bool (directory, "allowSync", TRUE);
  node_set_string (directory, "art", art);
  node_set_string (directory, "composite", composite);
  node_set_bool (directory, "filters", TRUE);
  node_set_bool (directory, "refreshing", section->activity_uuid != NULL);
  node_set_string (directory, "thumb", thumb);
  node_set_string (directory, "key", section->key);
  node_set_string (directory, "type", section->type);
  node_set_string (directory, "title", section->title);
  node_set_string (directory, "agent", kind->agent);
  node_set_string (directory, "scanner", kind->scanner);
  node_set_string (directory, "language", "en-US");
  node_set_string (directory, "uuid", section->uuid);
  node_set_int (directory, "updatedAt", section->updated_at);
  node_set_int (directory, "createdAt", section->created_at);
  node_set_int (directory, "scannedAt", section->scanned_at);
  node_set_bool (directory, "content", TRUE);
  node_set_bool (directory, "directory", TRUE);
  node_set_int (directory, "contentChangedAt", 116260421);
  node_set_int (directory, "hidden", 0);

  for (guint i = 0; i < section->locations->len; i++)
    {
      const FakeLocation *location = g_ptr_array_index (section->locations, i);
      Node *child = node_add (directory, "Location");

      node_set_int (child, "id", location->id);
      node_set_string (child, "path", location->path);
    }

  return directory;
}

static Node *
fake_plex_build_sections (FakePlex *self)
{
  Node *container = node_new ("MediaContainer");

  node_set_int (container, "size", self->sections->len);
  node_set_bool (container, "allowSync", FALSE);
  node_set_string (container, "identifier", "com.plexapp.plugins.library");
  node_set_string (container, "mediaTagPrefix", "/system/bundle/media/flags/");
  node_set_int (container, "mediaTagVersion", 1603922053);
  node_set_string (container, "title1", "Plex Library");

  for (guint i = 0; i < self->sections->len; i++)
    g_ptr_array_add (container->children,
                     fake_section_build_directory (g_ptr_array_index (self->sections, i)));

  return container;
}

static Node *
fake_plex_build_activities (FakePlex *self)
{
  Node *container = node_new ("MediaContainer");
  guint size = 0;

  for (guint i = 0; i < self->sections->len; i++)
    if (((FakeSection *) g_ptr_array_index (self->sections, i))->activity_uuid != NULL)
      size++;
  node_set_int (container, "size", size);

  for (guint i = 0; i < self->sections->len; i++)
    {
      const FakeSection *section = g_ptr_array_index (self->sections, i);

      if (section->activity_uuid != NULL)
        g_ptr_array_add (container->children,
                         fake_section_build_activity (section,
                                                      fake_section_get_progress (section)));
    }

  return container;
}

/* A well-formed /library/sections document of HUGE_BODY_LENGTH bytes or
 * a little more, with made-up libraries whose rows carry the attributes of
 * fake_section_build_directory(). Written with printf rather than through
 * a Node tree: 13 000 rows, few allocations. */
static GBytes *
make_huge_body (gboolean json)
{
  GString *out = g_string_sized_new (HUGE_BODY_LENGTH + 4096);
  gsize size_offset;
  char size_text[16];
  guint count;

  if (json)
    g_string_append (out,
                     "{\"MediaContainer\":{\"size\":          ,\"allowSync\":false,"
                     "\"identifier\":\"com.plexapp.plugins.library\","
                     "\"mediaTagPrefix\":\"/system/bundle/media/flags/\","
                     "\"mediaTagVersion\":1603922053,\"title1\":\"Plex Library\","
                     "\"Directory\":[");
  else
    g_string_append (out,
                     XML_DECLARATION
                     "<MediaContainer size=\"          \" allowSync=\"0\" "
                     "identifier=\"com.plexapp.plugins.library\" "
                     "mediaTagPrefix=\"/system/bundle/media/flags/\" "
                     "mediaTagVersion=\"1603922053\" title1=\"Plex Library\">\n");
  /* The ten spaces above are where the size goes, once known. */
  size_offset = strstr (out->str, "          ") - out->str;

  for (count = 1; out->len < HUGE_BODY_LENGTH; count++)
    {
      guint key = 1000 + count;

      if (json)
        g_string_append_printf (out,
                                "%s{\"allowSync\":true,\"art\":\"/:/resources/artist-fanart.jpg\","
                                "\"composite\":\"/library/sections/%u/composite/1700000000\","
                                "\"filters\":true,\"refreshing\":false,"
                                "\"thumb\":\"/:/resources/artist.png\",\"key\":\"%u\","
                                "\"type\":\"artist\",\"title\":\"Huge Library %u\","
                                "\"agent\":\"tv.plex.agents.music\",\"scanner\":\"Plex Music\","
                                "\"language\":\"en-US\","
                                "\"uuid\":\"00000000-0000-4000-8000-%012u\","
                                "\"updatedAt\":1700000000,\"createdAt\":1600000000,"
                                "\"scannedAt\":1700000000,\"content\":true,\"directory\":true,"
                                "\"contentChangedAt\":116260421,\"hidden\":0,"
                                "\"Location\":[{\"id\":%u,\"path\":\"/data/huge/%u\"}]}",
                                count > 1 ? "," : "", key, key, count, count, key, count);
      else
        g_string_append_printf (out,
                                "<Directory allowSync=\"1\" art=\"/:/resources/artist-fanart.jpg\" "
                                "composite=\"/library/sections/%u/composite/1700000000\" "
                                "filters=\"1\" refreshing=\"0\" thumb=\"/:/resources/artist.png\" "
                                "key=\"%u\" type=\"artist\" title=\"Huge Library %u\" "
                                "agent=\"tv.plex.agents.music\" scanner=\"Plex Music\" "
                                "language=\"en-US\" uuid=\"00000000-0000-4000-8000-%012u\" "
                                "updatedAt=\"1700000000\" createdAt=\"1600000000\" "
                                "scannedAt=\"1700000000\" content=\"1\" directory=\"1\" "
                                "contentChangedAt=\"116260421\" hidden=\"0\">\n"
                                "<Location id=\"%u\" path=\"/data/huge/%u\" />\n"
                                "</Directory>\n",
                                key, key, count, count, key, count);
    }

  g_string_append (out, json ? "]}}" : "</MediaContainer>\n");

  /* Fill in the size. JSON takes spaces after a number; in XML the
   * closing quote moves left, leaving spaces between attributes. */
  g_snprintf (size_text, sizeof size_text, "%u", count - 1);
  memcpy (out->str + size_offset, size_text, strlen (size_text));
  if (!json)
    {
      gsize n = strlen (size_text);

      out->str[size_offset + n] = '"';
      memset (out->str + size_offset + n + 1, ' ', 10 - n);
    }

  return g_string_free_to_bytes (out);
}

/* Made once per process and format: the content depends on nothing. */
static GBytes *
fake_plex_get_huge_body (gboolean json)
{
  static GBytes *cache[2];
  G_LOCK_DEFINE_STATIC (cache);
  GBytes *body;

  G_LOCK (cache);
  if (cache[json ? 1 : 0] == NULL)
    cache[json ? 1 : 0] = make_huge_body (json);
  body = g_bytes_ref (cache[json ? 1 : 0]);
  G_UNLOCK (cache);

  return body;
}

/* --- routes --- */

static gboolean
is_read (const char *method)
{
  return g_str_equal (method, "GET") || g_str_equal (method, "HEAD");
}

static gboolean
is_scan_method (const char *method)
{
  return g_str_equal (method, "GET") ||
         g_str_equal (method, "PUT") ||
         g_str_equal (method, "POST");
}

static void
fake_plex_refresh (FakePlex              *self,
                   SoupServerMessage     *msg,
                   const FakePlexRequest *request,
                   const char            *key)
{
  const char *path = fake_plex_request_get_param_string (request, "path");
  gboolean all = key == NULL || g_str_equal (key, "all");
  FakeSection *section = all ? NULL : fake_plex_lookup_section (self, key);

  if (!all && section == NULL)
    {
      respond_html (msg, SOUP_STATUS_NOT_FOUND, FAKE_PLEX_BODY_404);
      return;
    }

  if (g_str_equal (request->method, "DELETE"))
    {
      for (guint i = 0; i < self->sections->len; i++)
        {
          FakeSection *each = g_ptr_array_index (self->sections, i);

          if (all || each == section)
            fake_section_end_scan (each, fake_section_get_progress (each));
        }
    }
  else
    {
      for (guint i = 0; i < self->sections->len; i++)
        {
          FakeSection *each = g_ptr_array_index (self->sections, i);

          if (all || each == section)
            fake_section_start_scan (each, path);
        }
    }

  respond_empty (msg);
}

/* The plural is what clients use, the singular what Plex's documents
 * say (plex-api.md §5.1): serve both. */
static const char * const notification_paths[] = {
  "/:/websockets/notifications",
  "/:/websocket/notifications",
};

static gboolean
is_notification_path (const char *path)
{
  for (guint i = 0; i < G_N_ELEMENTS (notification_paths); i++)
    if (g_str_equal (path, notification_paths[i]))
      return TRUE;

  return FALSE;
}

static gboolean
fake_plex_route (FakePlex              *self,
                 SoupServerMessage     *msg,
                 const FakePlexRequest *request,
                 gboolean               json)
{
  const char *method = request->method;
  const char *path = request->path;
  g_auto(GStrv) parts = NULL;
  guint n_parts;

  if (is_notification_path (path))
    {
      if (!self->websocket_enabled || !g_str_equal (method, "GET"))
        return FALSE;
      /* No status: SoupServer answers the handshake (101, or 400 to a
       * request that is not a WebSocket upgrade) and then calls
       * fake_plex_websocket_cb(). */
      return TRUE;
    }

  if (g_str_equal (path, "/"))
    {
      g_autoptr(Node) document = NULL;

      if (!is_read (method))
        return FALSE;
      document = fake_plex_build_root (self);
      respond_document (msg, document, json);
      return TRUE;
    }

  if (g_str_equal (path, "/library/sections") ||
      g_str_equal (path, "/library/sections/all"))
    {
      g_autoptr(Node) document = NULL;

      if (!is_read (method))
        return FALSE;
      document = fake_plex_build_sections (self);
      respond_document (msg, document, json);
      return TRUE;
    }

  if (g_str_equal (path, "/activities"))
    {
      g_autoptr(Node) document = NULL;

      if (!is_read (method))
        return FALSE;
      document = fake_plex_build_activities (self);
      respond_document (msg, document, json);
      return TRUE;
    }

  /* "/a/b/c" splits into "", "a", "b", "c". */
  parts = g_strsplit (path, "/", -1);
  n_parts = g_strv_length (parts);

  /* POST /library/sections/refresh: Plex's spec names it "refresh all". */
  if (n_parts == 4 &&
      g_str_equal (parts[1], "library") &&
      g_str_equal (parts[2], "sections") &&
      g_str_equal (parts[3], "refresh"))
    {
      if (!is_scan_method (method))
        return FALSE;
      fake_plex_refresh (self, msg, request, NULL);
      return TRUE;
    }

  if (n_parts == 5 &&
      g_str_equal (parts[1], "library") &&
      g_str_equal (parts[2], "sections") &&
      parts[3][0] != '\0')
    {
      const char *key = parts[3];

      if (g_str_equal (parts[4], "refresh"))
        {
          if (!is_scan_method (method) && !g_str_equal (method, "DELETE"))
            return FALSE;
          fake_plex_refresh (self, msg, request, key);
          return TRUE;
        }

      if (g_str_equal (parts[4], "emptyTrash") || g_str_equal (parts[4], "analyze"))
        {
          if (!g_str_equal (method, "PUT") || g_str_equal (key, "all"))
            return FALSE;
          if (fake_plex_lookup_section (self, key) == NULL)
            respond_html (msg, SOUP_STATUS_NOT_FOUND, FAKE_PLEX_BODY_404);
          else
            respond_empty (msg);
          return TRUE;
        }

      return FALSE;
    }

  if (n_parts == 3 &&
      g_str_equal (parts[1], "activities") &&
      parts[2][0] != '\0')
    {
      if (!g_str_equal (method, "DELETE"))
        return FALSE;

      for (guint i = 0; i < self->sections->len; i++)
        {
          FakeSection *section = g_ptr_array_index (self->sections, i);

          if (g_strcmp0 (section->activity_uuid, parts[2]) == 0)
            {
              fake_section_end_scan (section, fake_section_get_progress (section));
              respond_empty (msg);
              return TRUE;
            }
        }

      respond_html (msg, SOUP_STATUS_NOT_FOUND, FAKE_PLEX_BODY_404);
      return TRUE;
    }

  return FALSE;
}

static gboolean
fake_plex_check_token (FakePlex              *self,
                       SoupServerMessage     *msg,
                       const FakePlexRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *header = soup_message_headers_get_one (headers, "X-Plex-Token");
  GBytes *in_query = fake_plex_request_get_param (request, "X-Plex-Token");

  if (self->token == NULL)
    return TRUE;

  if (header != NULL)
    return g_str_equal (header, self->token);

  if (in_query != NULL)
    return g_bytes_get_size (in_query) == strlen (self->token) &&
           memcmp (g_bytes_get_data (in_query, NULL), self->token,
                   strlen (self->token)) == 0;

  return FALSE;
}

/* A document cut in the middle of an attribute, as a connection that
 * breaks would leave it. */
static GBytes *
fake_plex_get_malformed_body (FakePlex *self,
                              gboolean  json)
{
  g_autoptr(Node) document = fake_plex_build_sections (self);
  g_autoptr(GBytes) whole = node_to_bytes (document, json);

  return g_bytes_new_from_bytes (whole, 0, g_bytes_get_size (whole) / 2);
}

/* The identity document followed by spaces (allowed after the root in both
 * formats) up to SLOW_BODY_LENGTH: valid if anyone waits for all of it. */
static GBytes *
fake_plex_get_slow_body (FakePlex *self,
                         gboolean  json)
{
  g_autoptr(Node) document = fake_plex_build_identity (self);
  g_autoptr(GBytes) whole = node_to_bytes (document, json);
  GString *out = g_string_sized_new (SLOW_BODY_LENGTH);

  g_string_append_len (out, g_bytes_get_data (whole, NULL), g_bytes_get_size (whole));
  while (out->len < SLOW_BODY_LENGTH)
    g_string_append_c (out, ' ');

  return g_string_free_to_bytes (out);
}

static gboolean
fake_plex_apply_fault (FakePlex          *self,
                       SoupServerMessage *msg,
                       gboolean           json)
{
  g_autoptr(GBytes) body = NULL;

  switch (self->fault)
    {
    case FAKE_PLEX_FAULT_NONE:
      return FALSE;

    case FAKE_PLEX_FAULT_UNAUTHORIZED:
      respond_html (msg, SOUP_STATUS_UNAUTHORIZED, FAKE_PLEX_BODY_401);
      break;

    case FAKE_PLEX_FAULT_FORBIDDEN:
      respond_html (msg, SOUP_STATUS_FORBIDDEN, FAKE_PLEX_BODY_403);
      break;

    case FAKE_PLEX_FAULT_NOT_FOUND:
      respond_html (msg, SOUP_STATUS_NOT_FOUND, FAKE_PLEX_BODY_404);
      break;

    case FAKE_PLEX_FAULT_SERVER_ERROR:
      respond_html (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, FAKE_PLEX_BODY_500);
      break;

    case FAKE_PLEX_FAULT_HANG:
      fake_plex_hold_message (self, msg, NULL);
      break;

    case FAKE_PLEX_FAULT_SLOW_BODY:
      body = fake_plex_get_slow_body (self, json);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Content-Type",
                                    json ? CONTENT_TYPE_JSON : CONTENT_TYPE_XML);
      fake_plex_hold_message (self, msg, body);
      break;

    case FAKE_PLEX_FAULT_MALFORMED:
      body = fake_plex_get_malformed_body (self, json);
      respond (msg, SOUP_STATUS_OK, json ? CONTENT_TYPE_JSON : CONTENT_TYPE_XML, body);
      break;

    case FAKE_PLEX_FAULT_HUGE_BODY:
      body = fake_plex_get_huge_body (json);
      respond (msg, SOUP_STATUS_OK, json ? CONTENT_TYPE_JSON : CONTENT_TYPE_XML, body);
      break;

    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

static void
fake_plex_handle_cb (SoupServer        *server,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  FakePlex *self = user_data;
  FakePlexRequest *request = fake_plex_request_new (msg);
  gboolean json = wants_json (msg);

  g_ptr_array_add (self->requests, request);
  g_signal_emit (self, signals[REQUEST_RECEIVED], 0, request);

  if (fake_plex_apply_fault (self, msg, json))
    return;

  if (g_str_equal (request->path, "/identity") && is_read (request->method))
    {
      g_autoptr(Node) document = fake_plex_build_identity (self);

      respond_document (msg, document, json);
      return;
    }

  if (!fake_plex_check_token (self, msg, request))
    {
      respond_html (msg, SOUP_STATUS_UNAUTHORIZED, FAKE_PLEX_BODY_401);
      return;
    }

  if (!fake_plex_route (self, msg, request, json))
    respond_html (msg, SOUP_STATUS_NOT_FOUND, FAKE_PLEX_BODY_404);
}

static void fake_plex_websocket_closed_cb (SoupWebsocketConnection *connection,
                                           gpointer                 user_data);

/* Frees an element of websockets or closing. */
static void
websocket_release (gpointer data)
{
  SoupWebsocketConnection *connection = data;

  g_signal_handlers_disconnect_matched (connection, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                        fake_plex_websocket_closed_cb, NULL);
  g_object_unref (connection);
}

static void
fake_plex_websocket_closed_cb (SoupWebsocketConnection *connection,
                               gpointer                 user_data)
{
  FakePlex *self = user_data;

  g_debug ("Fake Plex: notification WebSocket closed (%u)",
           soup_websocket_connection_get_close_code (connection));
  if (!g_ptr_array_remove (self->websockets, connection))
    g_ptr_array_remove (self->closing, connection);
}

static void
fake_plex_websocket_cb (SoupServer              *server,
                        SoupServerMessage       *msg,
                        const char              *path,
                        SoupWebsocketConnection *connection,
                        gpointer                 user_data)
{
  FakePlex *self = user_data;

  g_debug ("Fake Plex: notification WebSocket connected on %s", path);
  /* Pings are answered by libsoup; what clients send is ignored. */
  g_signal_connect (connection, "closed", G_CALLBACK (fake_plex_websocket_closed_cb), self);
  g_ptr_array_add (self->websockets, g_object_ref (connection));
}

/* Also reaches the answers SoupServer gives by itself (400, 417…). */
static void
fake_plex_request_started_cb (SoupServer        *server,
                              SoupServerMessage *msg,
                              gpointer           user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "X-Plex-Protocol", "1.0");
}

static void
fake_plex_release_held (FakePlex *self)
{
  g_ptr_array_set_size (self->held, 0);
}

static void
fake_plex_dispose (GObject *object)
{
  FakePlex *self = FAKE_PLEX (object);

  fake_plex_stop (self);
  if (self->closing != NULL)
    g_ptr_array_set_size (self->closing, 0);
  if (self->sections != NULL)
    g_ptr_array_set_size (self->sections, 0);

  G_OBJECT_CLASS (fake_plex_parent_class)->dispose (object);
}

static void
fake_plex_finalize (GObject *object)
{
  FakePlex *self = FAKE_PLEX (object);

  g_free (self->url);
  g_free (self->token);
  g_free (self->version);
  g_free (self->friendly_name);
  g_free (self->machine_identifier);
  g_ptr_array_unref (self->sections);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->held);
  g_ptr_array_unref (self->websockets);
  g_ptr_array_unref (self->closing);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (fake_plex_parent_class)->finalize (object);
}

static void
fake_plex_class_init (FakePlexClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fake_plex_dispose;
  object_class->finalize = fake_plex_finalize;

  /**
   * FakePlex::request-received:
   * @request: (type gpointer): the FakePlexRequest just recorded
   */
  signals[REQUEST_RECEIVED] =
    g_signal_new ("request-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
fake_plex_init (FakePlex *self)
{
  static const char * const movies[] = { "/data/movies", NULL };
  static const char * const tv[] = { "/data/tv", NULL };
  static const char * const music[] = { "/data/music", "/srv/more music", NULL };
  static const char * const hires[] = { "/data/music-hires", NULL };
  g_autofree char *seed = g_uuid_string_random ();

  self->context = g_main_context_ref_thread_default ();
  self->token = g_strdup (FAKE_PLEX_DEFAULT_TOKEN);
  self->version = g_strdup (FAKE_PLEX_DEFAULT_VERSION);
  self->friendly_name = g_strdup (FAKE_PLEX_DEFAULT_NAME);
  self->machine_identifier = g_compute_checksum_for_string (G_CHECKSUM_SHA1, seed, -1);
  self->sections = g_ptr_array_new_with_free_func (fake_section_free);
  self->next_location_id = 1;
  self->scan_duration_ms = DEFAULT_SCAN_DURATION_MS;
  self->requests = g_ptr_array_new_with_free_func (fake_plex_request_free);
  self->held = g_ptr_array_new_with_free_func (held_message_free);
  self->websocket_enabled = TRUE;
  self->websockets = g_ptr_array_new_with_free_func (websocket_release);
  self->closing = g_ptr_array_new_with_free_func (websocket_release);

  fake_plex_add_section (self, "1", "movie", "Movies", movies);
  fake_plex_add_section (self, "2", "show", "TV Shows", tv);
  fake_plex_add_section (self, "3", "artist", "Music", music);
  fake_plex_add_section (self, "4", "artist", "Music Hi-Res", hires);
}

/* ------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------ */

FakePlex *
fake_plex_new (void)
{
  return g_object_new (FAKE_TYPE_PLEX, NULL);
}

gboolean
fake_plex_start_on_port (FakePlex         *self,
                         guint16           port,
                         GTlsCertificate  *certificate,
                         GError          **error)
{
  g_autoptr(SoupServer) server = NULL;
  SoupServerListenOptions options = SOUP_SERVER_LISTEN_IPV4_ONLY;
  GSList *uris;

  g_return_val_if_fail (FAKE_IS_PLEX (self), FALSE);
  g_return_val_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  server = g_object_new (SOUP_TYPE_SERVER,
                         "tls-certificate", certificate,
                         NULL);
  if (certificate != NULL)
    options |= SOUP_SERVER_LISTEN_HTTPS;

  soup_server_add_handler (server, NULL, fake_plex_handle_cb, self, NULL);
  /* A path with both handlers: fake_plex_handle_cb() records the upgrade
   * request and may answer it (401, 404, faults); when it leaves the
   * status unset, SoupServer completes the handshake. */
  for (guint i = 0; i < G_N_ELEMENTS (notification_paths); i++)
    {
      soup_server_add_handler (server, notification_paths[i], fake_plex_handle_cb, self, NULL);
      soup_server_add_websocket_handler (server, notification_paths[i], NULL, NULL,
                                         fake_plex_websocket_cb, self, NULL);
    }
  g_signal_connect (server, "request-started",
                    G_CALLBACK (fake_plex_request_started_cb), self);

  if (!soup_server_listen_local (server, port, options, error))
    return FALSE;

  uris = soup_server_get_uris (server);
  g_assert (uris != NULL);
  self->port = (guint16) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_free (self->url);
  self->url = g_strdup_printf ("%s://127.0.0.1:%u",
                               certificate != NULL ? "https" : "http",
                               self->port);
  self->server = g_steal_pointer (&server);

  g_debug ("Fake Plex listening on %s", self->url);

  return TRUE;
}

gboolean
fake_plex_start (FakePlex  *self,
                 GError   **error)
{
  return fake_plex_start_on_port (self, 0, NULL, error);
}

gboolean
fake_plex_start_tls (FakePlex         *self,
                     GTlsCertificate  *certificate,
                     GError          **error)
{
  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), FALSE);

  return fake_plex_start_on_port (self, 0, certificate, error);
}

void
fake_plex_stop (FakePlex *self)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  if (self->server == NULL)
    return;

  /* Let go of held requests first: their signal handlers point at us. */
  fake_plex_release_held (self);
  /* WebSocket connections no longer belong to the SoupServer: a server
   * that goes away drops them without a close handshake. */
  g_ptr_array_set_size (self->websockets, 0);
  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
}

gboolean
fake_plex_is_running (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), FALSE);

  return self->server != NULL;
}

const char *
fake_plex_get_url (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);

  return self->url;
}

guint16
fake_plex_get_port (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), 0);

  return self->port;
}

const char *
fake_plex_get_token (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);

  return self->token;
}

void
fake_plex_set_token (FakePlex   *self,
                     const char *token)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  replace_string (&self->token, token);
}

void
fake_plex_set_version (FakePlex   *self,
                       const char *version)
{
  g_return_if_fail (FAKE_IS_PLEX (self));
  g_return_if_fail (version != NULL);

  replace_string (&self->version, version);
}

void
fake_plex_set_friendly_name (FakePlex   *self,
                             const char *name)
{
  g_return_if_fail (FAKE_IS_PLEX (self));
  g_return_if_fail (name != NULL);

  replace_string (&self->friendly_name, name);
}

const char *
fake_plex_get_machine_identifier (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);

  return self->machine_identifier;
}

void
fake_plex_clear_sections (FakePlex *self)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  for (guint i = 0; i < self->sections->len; i++)
    {
      FakeSection *section = g_ptr_array_index (self->sections, i);

      fake_section_end_scan (section, fake_section_get_progress (section));
    }
  g_ptr_array_set_size (self->sections, 0);
}

void
fake_plex_add_section (FakePlex           *self,
                       const char         *key,
                       const char         *type,
                       const char         *title,
                       const char * const *locations)
{
  FakeSection *section;
  FakeSection *old;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_if_fail (FAKE_IS_PLEX (self));
  g_return_if_fail (key != NULL && *key != '\0' && strchr (key, '/') == NULL);
  g_return_if_fail (type != NULL);
  g_return_if_fail (title != NULL);

  section = g_new0 (FakeSection, 1);
  section->plex = self;
  section->key = g_strdup (key);
  section->type = g_strdup (type);
  section->title = g_strdup (title);
  section->uuid = g_uuid_string_random ();
  section->locations = g_ptr_array_new_with_free_func (fake_location_free);
  section->created_at = now - 86400;
  section->updated_at = now - 3600;
  section->scanned_at = now - 3600;

  for (guint i = 0; locations != NULL && locations[i] != NULL; i++)
    {
      FakeLocation *location = g_new0 (FakeLocation, 1);

      location->id = self->next_location_id++;
      location->path = g_strdup (locations[i]);
      g_ptr_array_add (section->locations, location);
    }

  /* The same key again replaces the section, in place. */
  old = fake_plex_lookup_section (self, key);
  if (old != NULL)
    {
      guint index = 0;

      g_ptr_array_find (self->sections, old, &index);
      fake_section_end_scan (old, fake_section_get_progress (old));
      fake_section_free (old);
      self->sections->pdata[index] = section;
      return;
    }

  g_ptr_array_add (self->sections, section);
}

void
fake_plex_set_scan_duration (FakePlex *self,
                             guint     milliseconds)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  self->scan_duration_ms = milliseconds;
}

gboolean
fake_plex_is_scanning (FakePlex   *self,
                       const char *key)
{
  FakeSection *section;

  g_return_val_if_fail (FAKE_IS_PLEX (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  section = fake_plex_lookup_section (self, key);

  return section != NULL && section->activity_uuid != NULL;
}

char *
fake_plex_dup_activity_uuid (FakePlex   *self,
                             const char *key)
{
  FakeSection *section;

  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  section = fake_plex_lookup_section (self, key);

  return section != NULL ? g_strdup (section->activity_uuid) : NULL;
}

void
fake_plex_set_fault (FakePlex      *self,
                     FakePlexFault  fault)
{
  g_return_if_fail (FAKE_IS_PLEX (self));
  g_return_if_fail (fault >= FAKE_PLEX_FAULT_NONE && fault <= FAKE_PLEX_FAULT_HUGE_BODY);

  self->fault = fault;
}

GPtrArray *
fake_plex_get_requests (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);

  return self->requests;
}

void
fake_plex_clear_requests (FakePlex *self)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  g_ptr_array_set_size (self->requests, 0);
}

GPtrArray *
fake_plex_find_requests (FakePlex   *self,
                         const char *method,
                         const char *path)
{
  GPtrArray *found;

  g_return_val_if_fail (FAKE_IS_PLEX (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  found = g_ptr_array_new ();
  for (guint i = 0; i < self->requests->len; i++)
    {
      FakePlexRequest *request = g_ptr_array_index (self->requests, i);

      if ((method == NULL || g_str_equal (request->method, method)) &&
          g_str_equal (request->path, path))
        g_ptr_array_add (found, request);
    }

  return found;
}

void
fake_plex_set_websocket_enabled (FakePlex *self,
                                 gboolean  enabled)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  self->websocket_enabled = !!enabled;
}

void
fake_plex_close_websockets (FakePlex *self)
{
  g_return_if_fail (FAKE_IS_PLEX (self));

  while (self->websockets->len > 0)
    {
      SoupWebsocketConnection *connection = g_ptr_array_steal_index (self->websockets, 0);

      /* Kept until the close handshake ends ("closed" drops it). */
      g_ptr_array_add (self->closing, connection);
      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
}

guint
fake_plex_get_n_websockets (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), 0);

  return self->websockets->len;
}

gint64
fake_plex_get_last_ended_time (FakePlex *self)
{
  g_return_val_if_fail (FAKE_IS_PLEX (self), 0);

  return self->last_ended_time;
}
