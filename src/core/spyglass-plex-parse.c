/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spyglass-plex-parse.c: read Plex response bodies, XML or JSON, and
 * notification frames (JSON)
 *
 * What the header leaves open is decided here:
 *
 *  - A body that cannot be read as a whole is BAD_RESPONSE: neither XML
 *    nor JSON, not well-formed, a root other than MediaContainer
 *    (NotificationContainer for a frame, which must be JSON), an XML
 *    DOCTYPE (Plex never sends one; refusing it rules out entity tricks),
 *    JSON nested deeper than MAX_JSON_DEPTH, or a list Spyglass reads
 *    (Directory, Location, Activity, Context, ActivityNotification) that
 *    is not a list of elements/objects.
 *  - A row without what identifies it is skipped, so one odd row does not
 *    hide the others: a Directory without key, type or title (it is not a
 *    library section), a Location without path, an Activity without uuid
 *    or type, an ActivityNotification whose event is not started, updated
 *    or ended.
 *  - A field that cannot be read (a JSON object where a string belongs,
 *    "maybe" for a boolean, invalid UTF-8) counts as missing.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "spyglass-error.h"
#include "spyglass-plex-parse.h"

/* Plex answers are about six levels deep; json-glib recurses once per
 * level, so this bounds its stack use. */
#define MAX_JSON_DEPTH 64

/* One element (XML) or object (JSON) of a response, read the same way
 * whatever the format.  Exactly one member is set; both are borrowed from
 * the PlexDocument. */
typedef struct
{
  xmlNode    *element;
  JsonObject *object;
} PlexNode;

typedef struct
{
  xmlDoc     *doc;        /* owned, XML only */
  JsonParser *parser;     /* owned, JSON only */
  PlexNode    container;  /* the MediaContainer */
} PlexDocument;

static void
plex_document_clear (PlexDocument *self)
{
  g_clear_pointer (&self->doc, xmlFreeDoc);
  g_clear_object (&self->parser);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PlexDocument, plex_document_clear)

static void
set_bad_response (GError     **error,
                  const char  *reason)
{
  /* @reason is for developers and never quotes the body. */
  g_debug ("Unreadable Plex response: %s", reason);
  g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE,
                       _("The Plex server sent a response Spyglass cannot read"));
}

static char *
take_utf8 (char       *value,
           const char *name)
{
  if (value != NULL && !g_utf8_validate (value, -1, NULL))
    {
      g_debug ("Ignoring “%s”: not valid UTF-8", name);
      g_clear_pointer (&value, g_free);
    }

  return value;
}

/* Plex sends "0"/"1"; be lenient about the spelling. */
static gboolean
boolean_from_string (const char *value,
                     const char *name)
{
  gint64 number;

  if (value == NULL)
    return FALSE;

  if (g_ascii_strcasecmp (value, "true") == 0)
    return TRUE;

  if (g_ascii_strcasecmp (value, "false") == 0 || value[0] == '\0')
    return FALSE;

  if (g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &number, NULL))
    return number != 0;

  g_debug ("Ignoring “%s”: not a boolean", name);
  return FALSE;
}

/* Truncates rather than rounds, so 99.9 % is not shown as done. */
static int
progress_from_double (double value)
{
  if (!isfinite (value) || value < 0)
    return -1;

  if (value >= 100)
    return 100;

  return (int) value;
}

static int
progress_from_string (const char *value,
                      const char *name)
{
  char *end = NULL;
  double number;

  if (value == NULL)
    return -1;

  number = g_ascii_strtod (value, &end);
  if (end == value || *end != '\0')
    {
      g_debug ("Ignoring “%s”: not a number", name);
      return -1;
    }

  return progress_from_double (number);
}

/* XML */

/* Attribute values are copied from their text children: entity references
 * are never expanded (and cannot occur, see plex_document_load_xml()), so
 * xmlGetProp(), which would expand them, is not used. */
static char *
xml_dup_attribute (xmlNode    *element,
                   const char *name)
{
  for (xmlAttr *attr = element->properties; attr != NULL; attr = attr->next)
    {
      g_autoptr(GString) value = NULL;

      if (attr->ns != NULL || g_strcmp0 ((const char *) attr->name, name) != 0)
        continue;

      value = g_string_new (NULL);
      for (xmlNode *child = attr->children; child != NULL; child = child->next)
        {
          if (child->type != XML_TEXT_NODE)
            {
              g_debug ("Ignoring “%s”: not plain text", name);
              return NULL;
            }

          g_string_append (value, (const char *) child->content);
        }

      return take_utf8 (g_string_free (g_steal_pointer (&value), FALSE), name);
    }

  return NULL;
}

#if LIBXML_VERSION >= 21200
typedef const xmlError *XmlErrorArg;
#else
typedef xmlError *XmlErrorArg;
#endif

static void
ignore_xml_error (void        *user_data,
                  XmlErrorArg  xml_error)
{
  /* The parser context keeps the error; plex_document_load_xml() logs it. */
}

static gboolean
xml_name_is (xmlNode    *node,
             const char *name)
{
  return node->type == XML_ELEMENT_NODE &&
         g_strcmp0 ((const char *) node->name, name) == 0;
}

static gboolean
plex_document_load_xml (PlexDocument  *self,
                        const char    *data,
                        gsize          size,
                        GError       **error)
{
  static gsize initialized = 0;
  xmlStructuredErrorFunc saved_handler;
  void *saved_handler_data;
  xmlParserCtxt *ctxt;
  xmlNode *root;

  g_assert (size <= SPYGLASS_MAX_RESPONSE_SIZE);

  /* xmlInitParser() is not thread-safe in libxml2 2.9. */
  if (g_once_init_enter (&initialized))
    {
      xmlInitParser ();
      g_once_init_leave (&initialized, 1);
    }

  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    {
      set_bad_response (error, "libxml2 could not create a parser");
      return FALSE;
    }

  /* XML_PARSE_NOERROR silences errors raised on the context, but encoding
   * conversion errors are raised without one and would go to stderr,
   * quoting bytes of the body.  The handler is per thread in libxml2, so
   * swapping it for the duration of the parse affects no other thread. */
  saved_handler = xmlStructuredError;
  saved_handler_data = xmlStructuredErrorContext;
  xmlSetStructuredErrorFunc (NULL, ignore_xml_error);

  /* No XML_PARSE_NOENT (entities stay unexpanded), no XML_PARSE_DTDLOAD,
   * no network. */
  self->doc = xmlCtxtReadMemory (ctxt, data, (int) size, NULL, NULL,
                                 XML_PARSE_NONET |
                                 XML_PARSE_NOERROR |
                                 XML_PARSE_NOWARNING);

  xmlSetStructuredErrorFunc (saved_handler_data, saved_handler);

  if (self->doc == NULL)
    {
      const xmlError *xml_error = xmlCtxtGetLastError (ctxt);

      if (xml_error != NULL)
        g_debug ("libxml2 error %d at line %d, column %d",
                 xml_error->code, xml_error->line, xml_error->int2);
      xmlFreeParserCtxt (ctxt);
      set_bad_response (error, "not well-formed XML");
      return FALSE;
    }

  xmlFreeParserCtxt (ctxt);

  if (self->doc->intSubset != NULL || self->doc->extSubset != NULL)
    {
      set_bad_response (error, "XML with a DOCTYPE");
      return FALSE;
    }

  root = xmlDocGetRootElement (self->doc);
  if (root == NULL || !xml_name_is (root, "MediaContainer"))
    {
      set_bad_response (error, "the XML root is not MediaContainer");
      return FALSE;
    }

  self->container.element = root;
  return TRUE;
}

/* JSON */

/* json-glib 1.6 parses recursively and overflows the stack on deeply
 * nested input, so depth is measured before parsing.  Only plain JSON
 * passes: json-glib also accepts comments and single-quoted strings, in
 * which brackets would hide from this count. */
static gboolean
json_nesting_is_safe (const char *data,
                      gsize       size)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < size; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;

        case '{':
        case '[':
          if (++depth > MAX_JSON_DEPTH)
            return FALSE;
          break;

        case '}':
        case ']':
          if (depth == 0)
            return FALSE;
          depth--;
          break;

        case ' ':
        case '\t':
        case '\n':
        case '\r':
        case ',':
        case ':':
        case '-':
        case '+':
        case '.':
          break;

        default:
          if (!g_ascii_isalnum (c))
            return FALSE;
          break;
        }
    }

  return TRUE;
}

static char *
json_dup_scalar (JsonObject *object,
                 const char *name)
{
  JsonNode *member = json_object_get_member (object, name);
  GType type;

  if (member == NULL || JSON_NODE_HOLDS_NULL (member))
    return NULL;

  if (!JSON_NODE_HOLDS_VALUE (member))
    {
      g_debug ("Ignoring “%s”: not a string or a number", name);
      return NULL;
    }

  type = json_node_get_value_type (member);
  if (type == G_TYPE_STRING)
    return take_utf8 (g_strdup (json_node_get_string (member)), name);

  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (member));

  if (type == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (member);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      if (!isfinite (value))
        return NULL;

      /* 1.0 is the key "1", not "1.0". */
      if (value > -1e15 && value < 1e15 && value == (double) (gint64) value)
        return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) value);

      return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value));
    }

  g_debug ("Ignoring “%s”: not a string or a number", name);
  return NULL;
}

/* @root_name is the one member of the root object that matters:
 * "MediaContainer" for responses, "NotificationContainer" for
 * notification frames. */
static gboolean
plex_document_load_json (PlexDocument  *self,
                         const char    *data,
                         gsize          size,
                         const char    *root_name,
                         GError       **error)
{
  g_autoptr(GError) json_error = NULL;
  JsonNode *root;
  JsonNode *container;

  g_assert (size <= SPYGLASS_MAX_RESPONSE_SIZE);

  if (!json_nesting_is_safe (data, size))
    {
      set_bad_response (error, "JSON nested too deeply, or not plain JSON");
      return FALSE;
    }

  self->parser = json_parser_new ();
  if (!json_parser_load_from_data (self->parser, data, (gssize) size, &json_error))
    {
      /* json-glib's message quotes the body, so only the code is logged. */
      g_debug ("json-glib error %s %d",
               g_quark_to_string (json_error->domain), json_error->code);
      set_bad_response (error, "not well-formed JSON");
      return FALSE;
    }

  root = json_parser_get_root (self->parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_bad_response (error, "the JSON root is not an object");
      return FALSE;
    }

  container = json_object_get_member (json_node_get_object (root), root_name);
  if (container == NULL || !JSON_NODE_HOLDS_OBJECT (container))
    {
      g_autofree char *reason = g_strdup_printf ("the JSON root has no %s object", root_name);

      set_bad_response (error, reason);
      return FALSE;
    }

  self->container.object = json_node_get_object (container);
  return TRUE;
}

/* Either format */

/* The bytes of @body from the first one that is not a BOM or white space
 * (where the format shows), or NULL with @error set when @body is over
 * the size cap. */
static const char *
body_get_start (GBytes  *body,
                gsize   *size_out,
                GError **error)
{
  const char *data;
  gsize size;
  gsize start = 0;

  data = g_bytes_get_data (body, &size);

  if (size > SPYGLASS_MAX_RESPONSE_SIZE)
    {
      g_debug ("Plex response of %" G_GSIZE_FORMAT " bytes is over the limit", size);
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE,
                           _("The Plex server sent a response that is too large"));
      return NULL;
    }

  if (size >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    start = 3;
  while (start < size &&
         (data[start] == ' ' || data[start] == '\t' ||
          data[start] == '\r' || data[start] == '\n'))
    start++;

  *size_out = size - start;
  /* Never NULL, even for an empty body. */
  return data != NULL ? data + start : "";
}

static gboolean
plex_document_load (PlexDocument  *self,
                    GBytes        *body,
                    GError       **error)
{
  const char *data;
  gsize size = 0;

  data = body_get_start (body, &size, error);
  if (data == NULL)
    return FALSE;

  if (size > 0 && data[0] == '<')
    return plex_document_load_xml (self, data, size, error);

  if (size > 0 && data[0] == '{')
    return plex_document_load_json (self, data, size, "MediaContainer", error);

  set_bad_response (error, g_bytes_get_size (body) == 0 ? "empty body" : "neither XML nor JSON");
  return FALSE;
}

/* The value of attribute (XML) or member (JSON) @name as a string, or
 * NULL when it is missing or unreadable.  JSON numbers become strings. */
static char *
plex_node_dup_string (const PlexNode *node,
                      const char     *name)
{
  if (node->element != NULL)
    return xml_dup_attribute (node->element, name);

  return json_dup_scalar (node->object, name);
}

static gboolean
plex_node_get_boolean (const PlexNode *node,
                       const char     *name)
{
  g_autofree char *value = NULL;

  if (node->object != NULL)
    {
      JsonNode *member = json_object_get_member (node->object, name);

      if (member != NULL &&
          JSON_NODE_HOLDS_VALUE (member) &&
          json_node_get_value_type (member) == G_TYPE_BOOLEAN)
        return json_node_get_boolean (member);
    }

  value = plex_node_dup_string (node, name);
  return boolean_from_string (value, name);
}

static int
plex_node_get_progress (const PlexNode *node,
                        const char     *name)
{
  g_autofree char *value = NULL;

  if (node->object != NULL)
    {
      JsonNode *member = json_object_get_member (node->object, name);

      if (member != NULL &&
          JSON_NODE_HOLDS_VALUE (member) &&
          json_node_get_value_type (member) == G_TYPE_DOUBLE)
        return progress_from_double (json_node_get_double (member));
    }

  /* Integers and strings alike: "42", 42, "27.5". */
  value = plex_node_dup_string (node, name);
  return progress_from_string (value, name);
}

/* Appends to @children the child elements (XML) or the objects of member
 * (JSON) called @name.  JSON has an array of objects; a lone object is
 * taken as a list of one.  Returns FALSE when @name is something else. */
static gboolean
plex_node_get_children (const PlexNode *node,
                        const char     *name,
                        GArray         *children)
{
  JsonNode *member;

  if (node->element != NULL)
    {
      for (xmlNode *child = node->element->children; child != NULL; child = child->next)
        {
          if (xml_name_is (child, name))
            {
              PlexNode row = { .element = child };

              g_array_append_val (children, row);
            }
        }

      return TRUE;
    }

  member = json_object_get_member (node->object, name);
  if (member == NULL || JSON_NODE_HOLDS_NULL (member))
    return TRUE;

  if (JSON_NODE_HOLDS_OBJECT (member))
    {
      PlexNode row = { .object = json_node_get_object (member) };

      g_array_append_val (children, row);
      return TRUE;
    }

  if (JSON_NODE_HOLDS_ARRAY (member))
    {
      JsonArray *array = json_node_get_array (member);
      guint length = json_array_get_length (array);

      for (guint i = 0; i < length; i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          PlexNode row = { NULL, };

          if (!JSON_NODE_HOLDS_OBJECT (element))
            return FALSE;

          row.object = json_node_get_object (element);
          g_array_append_val (children, row);
        }

      return TRUE;
    }

  return FALSE;
}

static GArray *
plex_node_dup_children (const PlexNode  *node,
                        const char      *name,
                        GError         **error)
{
  g_autoptr(GArray) children = g_array_new (FALSE, FALSE, sizeof (PlexNode));

  if (!plex_node_get_children (node, name, children))
    {
      g_autofree char *reason = g_strdup_printf ("“%s” is not a list of objects", name);

      set_bad_response (error, reason);
      return NULL;
    }

  return g_steal_pointer (&children);
}

/* Public API */

/**
 * spyglass_parse_server_info:
 * @body: the body of `GET /`
 * @error: return location for a #GError
 *
 * Reads the server's name, version, identifier and platform.  Each of them
 * may be missing: `<MediaContainer/>` gives a #SpyglassServerInfo with all
 * fields %NULL.
 *
 * Returns: (transfer full): the server info, or %NULL with @error set
 */
SpyglassServerInfo *
spyglass_parse_server_info (GBytes  *body,
                            GError **error)
{
  g_auto(PlexDocument) document = { NULL, };
  SpyglassServerInfo *info;

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!plex_document_load (&document, body, error))
    return NULL;

  info = g_new0 (SpyglassServerInfo, 1);
  info->friendly_name = plex_node_dup_string (&document.container, "friendlyName");
  info->version = plex_node_dup_string (&document.container, "version");
  info->machine_identifier = plex_node_dup_string (&document.container, "machineIdentifier");
  info->platform = plex_node_dup_string (&document.container, "platform");
  info->platform_version = plex_node_dup_string (&document.container, "platformVersion");
  return info;
}

/* Returns FALSE with @error set when the Directory cannot be read; TRUE
 * with *@section_out NULL when it is skipped. */
static gboolean
section_from_node (const PlexNode   *node,
                   SpyglassSection **section_out,
                   GError          **error)
{
  g_autofree char *key = plex_node_dup_string (node, "key");
  g_autofree char *type = plex_node_dup_string (node, "type");
  g_autofree char *title = plex_node_dup_string (node, "title");
  g_autoptr(GArray) location_nodes = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  SpyglassSection *section;

  *section_out = NULL;

  if (key == NULL || key[0] == '\0' || type == NULL || title == NULL)
    {
      g_debug ("Skipping a Directory without key, type or title");
      return TRUE;
    }

  location_nodes = plex_node_dup_children (node, "Location", error);
  if (location_nodes == NULL)
    return FALSE;

  paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < location_nodes->len; i++)
    {
      char *path = plex_node_dup_string (&g_array_index (location_nodes, PlexNode, i), "path");

      if (path == NULL || path[0] == '\0')
        {
          g_debug ("Skipping a Location without path");
          g_free (path);
          continue;
        }

      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);

  section = spyglass_section_new (key, type, title, (const char * const *) paths->pdata);
  section->agent = plex_node_dup_string (node, "agent");
  section->scanner = plex_node_dup_string (node, "scanner");
  section->refreshing = plex_node_get_boolean (node, "refreshing");

  *section_out = section;
  return TRUE;
}

/**
 * spyglass_parse_sections:
 * @body: the body of `GET /library/sections`
 * @error: return location for a #GError
 *
 * Reads the library sections with their Location folders.  A Directory
 * without key, type or title is skipped.
 *
 * Returns: (transfer container) (element-type SpyglassSection): the
 *   sections in server order, possibly none, or %NULL with @error set
 */
GPtrArray *
spyglass_parse_sections (GBytes  *body,
                         GError **error)
{
  g_auto(PlexDocument) document = { NULL, };
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GPtrArray) sections = NULL;

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!plex_document_load (&document, body, error))
    return NULL;

  rows = plex_node_dup_children (&document.container, "Directory", error);
  if (rows == NULL)
    return NULL;

  sections = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_section_unref);
  for (guint i = 0; i < rows->len; i++)
    {
      SpyglassSection *section;

      if (!section_from_node (&g_array_index (rows, PlexNode, i), &section, error))
        return NULL;

      if (section != NULL)
        g_ptr_array_add (sections, section);
    }

  return g_steal_pointer (&sections);
}

/* Same contract as section_from_node(). */
static gboolean
activity_from_node (const PlexNode    *node,
                    SpyglassActivity **activity_out,
                    GError           **error)
{
  g_autoptr(SpyglassActivity) activity = g_new0 (SpyglassActivity, 1);
  g_autoptr(GArray) contexts = NULL;

  *activity_out = NULL;

  activity->uuid = plex_node_dup_string (node, "uuid");
  activity->type = plex_node_dup_string (node, "type");
  if (activity->uuid == NULL || activity->uuid[0] == '\0' || activity->type == NULL)
    {
      g_debug ("Skipping an Activity without uuid or type");
      return TRUE;
    }

  activity->title = plex_node_dup_string (node, "title");
  activity->subtitle = plex_node_dup_string (node, "subtitle");
  activity->progress = plex_node_get_progress (node, "progress");
  activity->cancellable = plex_node_get_boolean (node, "cancellable");

  contexts = plex_node_dup_children (node, "Context", error);
  if (contexts == NULL)
    return FALSE;

  for (guint i = 0; i < contexts->len && activity->section_key == NULL; i++)
    {
      activity->section_key = plex_node_dup_string (&g_array_index (contexts, PlexNode, i),
                                                    "librarySectionID");
      if (activity->section_key != NULL && activity->section_key[0] == '\0')
        g_clear_pointer (&activity->section_key, g_free);
    }

  *activity_out = g_steal_pointer (&activity);
  return TRUE;
}

/**
 * spyglass_parse_activities:
 * @body: the body of `GET /activities`
 * @error: return location for a #GError
 *
 * Reads the server's running activities.  An Activity without uuid or
 * type is skipped; `progress` is truncated to an integer in 0–100, -1 when
 * missing or indeterminate.
 *
 * Returns: (transfer container) (element-type SpyglassActivity): the
 *   activities in server order, possibly none, or %NULL with @error set
 */
GPtrArray *
spyglass_parse_activities (GBytes  *body,
                           GError **error)
{
  g_auto(PlexDocument) document = { NULL, };
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GPtrArray) activities = NULL;

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!plex_document_load (&document, body, error))
    return NULL;

  rows = plex_node_dup_children (&document.container, "Activity", error);
  if (rows == NULL)
    return NULL;

  activities = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_activity_free);
  for (guint i = 0; i < rows->len; i++)
    {
      SpyglassActivity *activity;

      if (!activity_from_node (&g_array_index (rows, PlexNode, i), &activity, error))
        return NULL;

      if (activity != NULL)
        g_ptr_array_add (activities, activity);
    }

  return g_steal_pointer (&activities);
}

static gboolean
activity_event_kind_from_string (const char                *value,
                                 SpyglassActivityEventKind *kind)
{
  if (g_strcmp0 (value, "started") == 0)
    *kind = SPYGLASS_ACTIVITY_EVENT_STARTED;
  else if (g_strcmp0 (value, "updated") == 0)
    *kind = SPYGLASS_ACTIVITY_EVENT_UPDATED;
  else if (g_strcmp0 (value, "ended") == 0)
    *kind = SPYGLASS_ACTIVITY_EVENT_ENDED;
  else
    return FALSE;

  return TRUE;
}

/* Same contract as section_from_node(): an entry with an unknown event, or
 * without an Activity that has uuid and type, is skipped. */
static gboolean
activity_event_from_node (const PlexNode         *node,
                          SpyglassActivityEvent **event_out,
                          GError                **error)
{
  g_autofree char *event = plex_node_dup_string (node, "event");
  g_autoptr(GArray) activities = NULL;
  SpyglassActivityEventKind kind;
  SpyglassActivity *activity = NULL;

  *event_out = NULL;

  if (!activity_event_kind_from_string (event, &kind))
    {
      g_debug ("Skipping an ActivityNotification whose event is not started, updated or ended");
      return TRUE;
    }

  /* One object; a list is read as its first object. */
  activities = plex_node_dup_children (node, "Activity", error);
  if (activities == NULL)
    return FALSE;

  if (activities->len == 0)
    {
      g_debug ("Skipping an ActivityNotification without Activity");
      return TRUE;
    }

  if (!activity_from_node (&g_array_index (activities, PlexNode, 0), &activity, error))
    return FALSE;

  if (activity == NULL)
    return TRUE;

  *event_out = g_new0 (SpyglassActivityEvent, 1);
  (*event_out)->kind = kind;
  (*event_out)->activity = activity;
  return TRUE;
}

/**
 * spyglass_parse_notification:
 * @frame: one text frame of the notification WebSocket
 * @error: return location for a #GError
 *
 * Reads the activity events of a notification (plex-api.md §5).  Frames
 * of other types (`timeline`, `playing`, `status`, …) or without a type
 * give no events; so does an ActivityNotification whose event is unknown
 * or whose Activity lacks uuid or type.  Activities are read as by
 * spyglass_parse_activities().
 *
 * Returns: (transfer container) (element-type SpyglassActivityEvent): the
 *   events in frame order, possibly none, or %NULL with @error set
 */
GPtrArray *
spyglass_parse_notification (GBytes  *frame,
                             GError **error)
{
  g_auto(PlexDocument) document = { NULL, };
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *type = NULL;
  const char *data;
  gsize size = 0;

  g_return_val_if_fail (frame != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = body_get_start (frame, &size, error);
  if (data == NULL)
    return NULL;

  /* Notifications are JSON whatever the Accept header says. */
  if (size == 0 || data[0] != '{')
    {
      set_bad_response (error, size == 0 ? "empty notification" : "a notification that is not JSON");
      return NULL;
    }

  if (!plex_document_load_json (&document, data, size, "NotificationContainer", error))
    return NULL;

  events = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_activity_event_free);

  type = plex_node_dup_string (&document.container, "type");
  if (g_strcmp0 (type, "activity") != 0)
    return g_steal_pointer (&events);

  rows = plex_node_dup_children (&document.container, "ActivityNotification", error);
  if (rows == NULL)
    return NULL;

  for (guint i = 0; i < rows->len; i++)
    {
      SpyglassActivityEvent *event;

      if (!activity_event_from_node (&g_array_index (rows, PlexNode, i), &event, error))
        return NULL;

      if (event != NULL)
        g_ptr_array_add (events, event);
    }

  return g_steal_pointer (&events);
}
