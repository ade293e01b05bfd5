/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-error.h"
#include "spyglass-request.h"

struct _SpyglassRequest
{
  GObject               parent_instance;

  char                 *id;
  char                 *local_path;     /* any bytes; NULL for a library */
  gboolean              force;
  SpyglassRequestState  state;
  char                 *section_key;
  char                 *section_title;
  gboolean              routed;
  char                 *target_path;    /* Plex side; NULL = whole library */
  int                   progress;
  char                 *message;
  int                   error_code;     /* SpyglassError, or -1 */
  guint                 attempts;
  gint64                created;
  gint64                sent;
  gint64                finished;
  gint64                not_before;
  gboolean              rerouted;
};

G_DEFINE_FINAL_TYPE (SpyglassRequest, spyglass_request, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_PROGRESS,
  PROP_MESSAGE,
  PROP_SECTION_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
replace_str (char       **pointer,
             const char  *value)
{
  if (g_strcmp0 (*pointer, value) == 0)
    return FALSE;

  g_free (*pointer);
  *pointer = g_strdup (value);
  return TRUE;
}

static SpyglassRequest *
request_new (const char *local_path,
             const char *section_key,
             gboolean    force)
{
  SpyglassRequest *self = g_object_new (SPYGLASS_TYPE_REQUEST, NULL);

  self->id = g_uuid_string_random ();
  self->local_path = g_strdup (local_path);
  self->section_key = g_strdup (section_key);
  self->force = force;
  self->created = g_get_real_time ();
  return self;
}

SpyglassRequest *
spyglass_request_new_folder (const char *local_path,
                             const char *section_key,
                             gboolean    force)
{
  g_return_val_if_fail (local_path != NULL && local_path[0] != '\0', NULL);

  return request_new (local_path, section_key, force);
}

SpyglassRequest *
spyglass_request_new_library (const char *section_key,
                              gboolean    force)
{
  g_return_val_if_fail (section_key != NULL, NULL);

  return request_new (NULL, section_key, force);
}

const char *
spyglass_request_get_id (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->id;
}

const char *
spyglass_request_get_local_path (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->local_path;
}

gboolean
spyglass_request_get_force (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), FALSE);
  return self->force;
}

SpyglassRequestState
spyglass_request_get_state (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), SPYGLASS_REQUEST_QUEUED);
  return self->state;
}

const char *
spyglass_request_get_section_key (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->section_key;
}

const char *
spyglass_request_get_section_title (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->section_title;
}

gboolean
spyglass_request_get_routed (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), FALSE);
  return self->routed;
}

const char *
spyglass_request_get_target_path (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->target_path;
}

int
spyglass_request_get_progress (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), -1);
  return self->progress;
}

const char *
spyglass_request_get_message (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);
  return self->message;
}

int
spyglass_request_get_error_code (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), -1);
  return self->error_code;
}

guint
spyglass_request_get_attempts (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), 0);
  return self->attempts;
}

gint64
spyglass_request_get_created (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), 0);
  return self->created;
}

gint64
spyglass_request_get_sent (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), 0);
  return self->sent;
}

gint64
spyglass_request_get_finished (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), 0);
  return self->finished;
}

gint64
spyglass_request_get_not_before (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), 0);
  return self->not_before;
}

gboolean
spyglass_request_get_rerouted (SpyglassRequest *self)
{
  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), FALSE);
  return self->rerouted;
}

void
spyglass_request_set_state (SpyglassRequest      *self,
                            SpyglassRequestState  state)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));

  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
spyglass_request_set_route (SpyglassRequest *self,
                            const char      *section_key,
                            const char      *section_title,
                            const char      *target_path)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  g_return_if_fail (section_key != NULL);

  replace_str (&self->section_key, section_key);
  replace_str (&self->target_path, target_path);
  self->routed = TRUE;
  if (replace_str (&self->section_title, section_title))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECTION_TITLE]);
}

void
spyglass_request_clear_route (SpyglassRequest *self)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));

  /* A folder request goes back to what the user named; a library request
   * keeps its library. */
  if (self->local_path != NULL)
    g_clear_pointer (&self->section_key, g_free);
  g_clear_pointer (&self->target_path, g_free);
  self->routed = FALSE;
}

void
spyglass_request_set_progress (SpyglassRequest *self,
                               int              progress)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));

  progress = CLAMP (progress, -1, 100);
  if (self->progress == progress)
    return;

  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

void
spyglass_request_set_message (SpyglassRequest *self,
                              const char      *message)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));

  if (replace_str (&self->message, message))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}

void
spyglass_request_set_error (SpyglassRequest *self,
                            const GError    *error)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));

  self->error_code = error != NULL && error->domain == SPYGLASS_ERROR ? error->code : -1;
  spyglass_request_set_message (self, error != NULL ? error->message : NULL);
}

void
spyglass_request_set_attempts (SpyglassRequest *self,
                               guint            attempts)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  self->attempts = attempts;
}

void
spyglass_request_set_sent (SpyglassRequest *self,
                           gint64           when)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  self->sent = when;
}

void
spyglass_request_set_finished (SpyglassRequest *self,
                               gint64           when)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  self->finished = when;
}

void
spyglass_request_set_not_before (SpyglassRequest *self,
                                 gint64           when)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  self->not_before = when;
}

void
spyglass_request_set_rerouted (SpyglassRequest *self,
                               gboolean         rerouted)
{
  g_return_if_fail (SPYGLASS_IS_REQUEST (self));
  self->rerouted = rerouted;
}

const char *
spyglass_request_state_to_string (SpyglassRequestState state)
{
  switch (state)
    {
    case SPYGLASS_REQUEST_QUEUED:
      return "queued";
    case SPYGLASS_REQUEST_SENDING:
      return "sending";
    case SPYGLASS_REQUEST_SCANNING:
      return "scanning";
    case SPYGLASS_REQUEST_DONE:
      return "done";
    case SPYGLASS_REQUEST_FAILED:
      return "failed";
    default:
      return NULL;
    }
}

static gboolean
state_from_string (const char           *text,
                   SpyglassRequestState *state)
{
  for (SpyglassRequestState s = SPYGLASS_REQUEST_QUEUED; s <= SPYGLASS_REQUEST_FAILED; s++)
    if (g_strcmp0 (text, spyglass_request_state_to_string (s)) == 0)
      {
        *state = s;
        return TRUE;
      }

  return FALSE;
}

/* Paths are bytes: UTF-8 ones are stored as they are, others in base64
 * under "<name>-base64". */
static void
add_path_member (JsonBuilder *builder,
                 const char  *name,
                 const char  *path)
{
  if (path == NULL)
    return;

  if (g_utf8_validate (path, -1, NULL))
    {
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, path);
    }
  else
    {
      g_autofree char *member = g_strconcat (name, "-base64", NULL);
      g_autofree char *encoded = g_base64_encode ((const guchar *) path, strlen (path));

      json_builder_set_member_name (builder, member);
      json_builder_add_string_value (builder, encoded);
    }
}

static char *
get_path_member (JsonObject *object,
                 const char *name)
{
  g_autofree char *member = g_strconcat (name, "-base64", NULL);
  g_autofree guchar *decoded = NULL;
  const char *encoded;
  gsize length;

  if (json_object_has_member (object, name))
    return g_strdup (json_object_get_string_member_with_default (object, name, NULL));

  encoded = json_object_get_string_member_with_default (object, member, NULL);
  if (encoded == NULL)
    return NULL;

  decoded = g_base64_decode (encoded, &length);
  /* A path never holds a NUL byte: cut at one rather than trust it. */
  return g_strndup ((const char *) decoded, length);
}

static void
add_string_member (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  if (value == NULL)
    return;

  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_int_member (JsonBuilder *builder,
                const char  *name,
                gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

JsonNode *
spyglass_request_to_json (SpyglassRequest *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (SPYGLASS_IS_REQUEST (self), NULL);

  json_builder_begin_object (builder);
  add_string_member (builder, "id", self->id);
  add_path_member (builder, "local-path", self->local_path);
  json_builder_set_member_name (builder, "force");
  json_builder_add_boolean_value (builder, self->force);
  add_string_member (builder, "state", spyglass_request_state_to_string (self->state));
  add_string_member (builder, "section-key", self->section_key);
  add_string_member (builder, "section-title", self->section_title);
  json_builder_set_member_name (builder, "routed");
  json_builder_add_boolean_value (builder, self->routed);
  add_path_member (builder, "target-path", self->target_path);
  add_string_member (builder, "message", self->message);
  add_int_member (builder, "error-code", self->error_code);
  add_int_member (builder, "attempts", self->attempts);
  add_int_member (builder, "created", self->created);
  add_int_member (builder, "sent", self->sent);
  add_int_member (builder, "finished", self->finished);
  add_int_member (builder, "not-before", self->not_before);
  json_builder_set_member_name (builder, "rerouted");
  json_builder_add_boolean_value (builder, self->rerouted);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

SpyglassRequest *
spyglass_request_new_from_json (JsonNode  *node,
                                GError   **error)
{
  g_autoptr(SpyglassRequest) self = NULL;
  JsonObject *object;
  const char *id;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE,
                           _("A queued request is not an object"));
      return NULL;
    }

  object = json_node_get_object (node);
  id = json_object_get_string_member_with_default (object, "id", NULL);

  self = g_object_new (SPYGLASS_TYPE_REQUEST, NULL);
  self->id = g_strdup (id);
  self->local_path = get_path_member (object, "local-path");
  self->force = json_object_get_boolean_member_with_default (object, "force", FALSE);
  self->section_key = g_strdup (json_object_get_string_member_with_default (object, "section-key", NULL));
  self->section_title = g_strdup (json_object_get_string_member_with_default (object, "section-title", NULL));
  self->routed = json_object_get_boolean_member_with_default (object, "routed", FALSE);
  self->target_path = get_path_member (object, "target-path");
  self->message = g_strdup (json_object_get_string_member_with_default (object, "message", NULL));
  self->error_code = json_object_get_int_member_with_default (object, "error-code", -1);
  self->attempts = json_object_get_int_member_with_default (object, "attempts", 0);
  self->created = json_object_get_int_member_with_default (object, "created", 0);
  self->sent = json_object_get_int_member_with_default (object, "sent", 0);
  self->finished = json_object_get_int_member_with_default (object, "finished", 0);
  self->not_before = json_object_get_int_member_with_default (object, "not-before", 0);
  self->rerouted = json_object_get_boolean_member_with_default (object, "rerouted", FALSE);

  if (self->id == NULL || self->id[0] == '\0' ||
      !state_from_string (json_object_get_string_member_with_default (object, "state", NULL),
                          &self->state) ||
      (self->local_path == NULL && self->section_key == NULL) ||
      (self->routed && self->section_key == NULL))
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE,
                           _("A queued request is incomplete"));
      return NULL;
    }

  return g_steal_pointer (&self);
}

static void
spyglass_request_finalize (GObject *object)
{
  SpyglassRequest *self = (SpyglassRequest *) object;

  g_free (self->id);
  g_free (self->local_path);
  g_free (self->section_key);
  g_free (self->section_title);
  g_free (self->target_path);
  g_free (self->message);

  G_OBJECT_CLASS (spyglass_request_parent_class)->finalize (object);
}

static void
spyglass_request_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SpyglassRequest *self = SPYGLASS_REQUEST (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;

    case PROP_PROGRESS:
      g_value_set_int (value, self->progress);
      break;

    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;

    case PROP_SECTION_TITLE:
      g_value_set_string (value, self->section_title);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_request_class_init (SpyglassRequestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = spyglass_request_finalize;
  object_class->get_property = spyglass_request_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      SPYGLASS_REQUEST_QUEUED, SPYGLASS_REQUEST_FAILED, SPYGLASS_REQUEST_QUEUED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROGRESS] =
    g_param_spec_int ("progress", NULL, NULL, -1, 100, -1,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECTION_TITLE] =
    g_param_spec_string ("section-title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
spyglass_request_init (SpyglassRequest *self)
{
  self->progress = -1;
  self->error_code = -1;
}
