/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "spyglass-client.h"
#include "spyglass-error.h"
#include "spyglass-plex-parse.h"

#define READ_CHUNK_SIZE (64 * 1024)

/* Plex's notification WebSocket: the plural, which every working client
 * uses (plex-api.md §5.1). */
#define NOTIFICATIONS_PATH "/:/websockets/notifications"

struct _SpyglassClient
{
  GObject      parent_instance;

  SoupSession *session;
  char        *base_url;            /* normalized, no trailing '/' */
  char        *token;               /* never logged */
  char        *client_id;
  char        *device_name;
  char        *pinned_certificate;  /* lowercase hex, no colons, or NULL */
  gsize        max_response_size;
  guint        timeout;             /* seconds, 0 = none */
};

G_DEFINE_FINAL_TYPE (SpyglassClient, spyglass_client, G_TYPE_OBJECT)

/* g_set_str() is GLib 2.76, above the platform floor. */
static gboolean
set_str (char       **str_pointer,
         const char  *new_str)
{
  if (g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;

  g_free (*str_pointer);
  *str_pointer = g_strdup (new_str);
  return TRUE;
}

enum {
  PROP_0,
  PROP_BASE_URL,
  PROP_TOKEN,
  PROP_CLIENT_ID,
  PROP_DEVICE_NAME,
  PROP_TIMEOUT,
  PROP_MAX_RESPONSE_SIZE,
  PROP_PINNED_CERTIFICATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What a request needs while it runs. */
typedef struct
{
  SoupMessage  *message;
  GCancellable *request_cancellable;  /* cancelled by the caller's or the timeout */
  GCancellable *caller_cancellable;
  gulong        caller_handler;
  GSource      *timeout_source;
  GInputStream *stream;
  GByteArray   *body;
  char         *peer_fingerprint;     /* of a certificate the TLS layer rejected */
  gboolean      timed_out;
  gboolean      section_url;          /* 404 means "Library section not found" */
} Request;

static void
request_free (Request *request)
{
  if (request->caller_handler != 0)
    g_cancellable_disconnect (request->caller_cancellable, request->caller_handler);
  if (request->timeout_source != NULL)
    {
      g_source_destroy (request->timeout_source);
      g_source_unref (request->timeout_source);
    }
  g_clear_object (&request->caller_cancellable);
  g_clear_object (&request->request_cancellable);
  g_clear_object (&request->stream);
  g_clear_object (&request->message);
  g_clear_pointer (&request->body, g_byte_array_unref);
  g_free (request->peer_fingerprint);
  g_free (request);
}

static char *
certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  if (certificate == NULL)
    return NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

/* "ab12…" → "AB:12:…", the way browsers and openssl show fingerprints. */
static char *
fingerprint_for_display (const char *hex)
{
  GString *display = g_string_new (NULL);

  for (gsize i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2)
    {
      if (i > 0)
        g_string_append_c (display, ':');
      g_string_append_c (display, g_ascii_toupper (hex[i]));
      g_string_append_c (display, g_ascii_toupper (hex[i + 1]));
    }

  return g_string_free (display, FALSE);
}

char *
spyglass_client_normalize_fingerprint (const char *input)
{
  GString *hex;

  g_return_val_if_fail (input != NULL, NULL);

  hex = g_string_new (NULL);
  for (const char *p = input; *p != '\0'; p++)
    {
      if (*p == ':' || *p == ' ')
        continue;
      if (!g_ascii_isxdigit (*p))
        {
          g_string_free (hex, TRUE);
          return NULL;
        }
      g_string_append_c (hex, g_ascii_tolower (*p));
    }

  if (hex->len != 64)
    {
      g_string_free (hex, TRUE);
      return NULL;
    }

  return g_string_free (hex, FALSE);
}

static GError *
certificate_error (SpyglassClient *self,
                   const char     *fingerprint)
{
  g_autofree char *display = fingerprint != NULL ? fingerprint_for_display (fingerprint)
                                                 : g_strdup (_("unknown"));

  if (self->pinned_certificate != NULL)
    return g_error_new (SPYGLASS_ERROR, SPYGLASS_ERROR_CERTIFICATE_CHANGED,
                        _("The Plex server’s certificate has changed since it was trusted "
                          "(now SHA-256 %s); refusing to connect"),
                        display);

  return g_error_new (SPYGLASS_ERROR, SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED,
                      _("The Plex server’s certificate is not trusted (SHA-256 %s)"),
                      display);
}

static GError *
status_error (guint    status,
              gboolean section_url)
{
  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
    case 498: /* "Token Expired" in Plex's JWT flow */
      return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN,
                                  _("Invalid Plex token"));

    case SOUP_STATUS_FORBIDDEN:
      return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_FORBIDDEN,
                                  _("Plex refused the request: this account is not the "
                                    "server’s owner (403 Forbidden)"));

    case SOUP_STATUS_NOT_FOUND:
      if (section_url)
        return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_SECTION_NOT_FOUND,
                                    _("Library section not found"));
      G_GNUC_FALLTHROUGH;

    default:
      return g_error_new (SPYGLASS_ERROR, SPYGLASS_ERROR_HTTP_STATUS,
                          _("Plex returned %u"), status);
    }
}

/* Turns a transport error into the error users know. */
static GError *
transport_error (SpyglassClient *self,
                 Request        *request,
                 const GError   *error)
{
  if (request->timed_out)
    return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_TIMEOUT,
                                _("Plex request timeout"));

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  g_debug ("Request to %s failed: %s", self->base_url, error->message);

  /* A certificate we were shown and refused; any other TLS failure is a
   * server that does not speak TLS there, or a broken handshake. */
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) &&
      request->peer_fingerprint != NULL)
    return certificate_error (self, request->peer_fingerprint);

  if (error->domain == G_TLS_ERROR)
    return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE,
                                _("Cannot make a secure connection to the Plex server (is this "
                                  "address really https?)"));

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_TIMEOUT,
                                _("Plex request timeout"));

  if (error->domain == SOUP_SESSION_ERROR || error->domain == SOUP_WEBSOCKET_ERROR)
    return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE,
                                _("The server did not answer like a Plex server"));

  return g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE,
                              _("Cannot reach Plex server"));
}

static GError *
response_too_large_error (SpyglassClient *self)
{
  g_autofree char *size = g_format_size (self->max_response_size);

  return g_error_new (SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE,
                      _("The Plex server sent a response larger than %s"), size);
}

static gboolean
on_accept_certificate (SoupMessage          *message,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  GTask *task = user_data;
  SpyglassClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  g_clear_pointer (&request->peer_fingerprint, g_free);
  request->peer_fingerprint = certificate_fingerprint (certificate);

  return self->pinned_certificate != NULL &&
         g_strcmp0 (request->peer_fingerprint, self->pinned_certificate) == 0;
}

static gboolean
on_timeout (gpointer user_data)
{
  Request *request = user_data;

  request->timed_out = TRUE;
  g_cancellable_cancel (request->request_cancellable);
  g_clear_pointer (&request->timeout_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  GCancellable *request_cancellable = user_data;

  g_cancellable_cancel (request_cancellable);
}

static void
request_fail (GTask        *task,
              const GError *error)
{
  SpyglassClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  g_task_return_error (task, transport_error (self, request, error));
}

static void read_next_chunk (GTask *task);

static void
on_chunk_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpyglassClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (chunk == NULL)
    {
      request_fail (task, error);
      return;
    }

  if (g_bytes_get_size (chunk) == 0)
    {
      GByteArray *body = g_steal_pointer (&request->body);

      g_task_return_pointer (task, g_byte_array_free_to_bytes (body),
                             (GDestroyNotify) g_bytes_unref);
      return;
    }

  if (request->body->len + g_bytes_get_size (chunk) > self->max_response_size)
    {
      g_task_return_error (task, response_too_large_error (self));
      return;
    }

  g_byte_array_append (request->body,
                       g_bytes_get_data (chunk, NULL),
                       g_bytes_get_size (chunk));
  read_next_chunk (g_steal_pointer (&task));
}

static void
read_next_chunk (GTask *task)
{
  Request *request = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (request->stream, READ_CHUNK_SIZE,
                                   G_PRIORITY_DEFAULT,
                                   request->request_cancellable,
                                   on_chunk_read, task);
}

/* A pinned certificate is required even when a CA vouches for the
 * server: checked once the exchange is done. */
static gboolean
request_check_pinned_certificate (SpyglassClient  *self,
                                  Request         *request,
                                  GError         **error)
{
  const char *scheme = g_uri_get_scheme (soup_message_get_uri (request->message));
  g_autofree char *fingerprint = NULL;

  if (self->pinned_certificate == NULL ||
      !(g_str_equal (scheme, "https") || g_str_equal (scheme, "wss")))
    return TRUE;

  fingerprint = certificate_fingerprint (soup_message_get_tls_peer_certificate (request->message));
  if (g_strcmp0 (fingerprint, self->pinned_certificate) == 0)
    return TRUE;

  g_propagate_error (error, certificate_error (self, fingerprint));
  return FALSE;
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpyglassClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  goffset content_length;
  guint status;

  request->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (request->stream == NULL)
    {
      request_fail (task, error);
      return;
    }

  if (!request_check_pinned_certificate (self, request, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  status = soup_message_get_status (request->message);
  g_debug ("%s %s -> %u", soup_message_get_method (request->message),
           g_uri_get_path (soup_message_get_uri (request->message)), status);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_task_return_error (task, status_error (status, request->section_url));
      return;
    }

  content_length = soup_message_headers_get_content_length (soup_message_get_response_headers (request->message));
  if (content_length > 0 && (guint64) content_length > self->max_response_size)
    {
      g_task_return_error (task, response_too_large_error (self));
      return;
    }

  request->body = g_byte_array_new ();
  read_next_chunk (g_steal_pointer (&task));
}

/* base_url + @path_and_query, with ws:// or wss:// for http:// or
 * https:// when @websocket. */
static GUri *
spyglass_client_build_uri (SpyglassClient  *self,
                           const char      *path_and_query,
                           gboolean         websocket,
                           GError         **error)
{
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;

  if (self->base_url == NULL)
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED,
                           _("No Plex server is set up"));
      return NULL;
    }

  if (websocket && g_ascii_strncasecmp (self->base_url, "http://", strlen ("http://")) == 0)
    url = g_strconcat ("ws://", self->base_url + strlen ("http://"), path_and_query, NULL);
  else if (websocket && g_ascii_strncasecmp (self->base_url, "https://", strlen ("https://")) == 0)
    url = g_strconcat ("wss://", self->base_url + strlen ("https://"), path_and_query, NULL);
  else
    url = g_strconcat (self->base_url, path_and_query, NULL);

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL)
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”"), self->base_url);
      return NULL;
    }

  return g_steal_pointer (&uri);
}

/*
 * Makes the request for METHOD base_url + @path_and_query (already
 * percent-encoded; see spyglass_client_build_uri() for @websocket) with
 * everything every request to Plex needs: the client's headers (the token
 * as a header only), no redirects, the TLS check with the pinned
 * certificate, the caller's cancellable and the client's deadline, which
 * starts now.  The Request becomes @task's data; send its message with
 * its request_cancellable.  NULL with @error set when the base URL cannot
 * be used.
 */
static Request *
spyglass_client_prepare_request (SpyglassClient  *self,
                                 GTask           *task,
                                 const char      *method,
                                 const char      *path_and_query,
                                 gboolean         websocket,
                                 GCancellable    *cancellable,
                                 GError         **error)
{
  g_autoptr(GUri) uri = NULL;
  SoupMessageHeaders *headers;
  Request *request;

  uri = spyglass_client_build_uri (self, path_and_query, websocket, error);
  if (uri == NULL)
    return NULL;

  request = g_new0 (Request, 1);
  request->message = soup_message_new_from_uri (method, uri);
  request->request_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  /* Never follow a redirect: it would carry the token to another host. */
  soup_message_add_flags (request->message, SOUP_MESSAGE_NO_REDIRECT);

  headers = soup_message_get_request_headers (request->message);
  if (self->token != NULL && self->token[0] != '\0')
    soup_message_headers_replace (headers, "X-Plex-Token", self->token);
  soup_message_headers_replace (headers, "X-Plex-Client-Identifier", self->client_id);
  soup_message_headers_replace (headers, "X-Plex-Product", "Spyglass");
  soup_message_headers_replace (headers, "X-Plex-Version", PACKAGE_VERSION);
  soup_message_headers_replace (headers, "X-Plex-Platform", "Linux");
  soup_message_headers_replace (headers, "X-Plex-Device", "Spyglass");
  soup_message_headers_replace (headers, "X-Plex-Device-Name", self->device_name);

  g_signal_connect_object (request->message, "accept-certificate",
                           G_CALLBACK (on_accept_certificate), task, 0);

  if (cancellable != NULL)
    {
      request->caller_cancellable = g_object_ref (cancellable);
      request->caller_handler = g_cancellable_connect (cancellable,
                                                       G_CALLBACK (on_caller_cancelled),
                                                       request->request_cancellable,
                                                       NULL);
    }

  if (self->timeout > 0)
    {
      request->timeout_source = g_timeout_source_new (self->timeout * 1000);
      g_source_set_callback (request->timeout_source, on_timeout, request, NULL);
      g_source_set_static_name (request->timeout_source, "[spyglass] request timeout");
      g_source_attach (request->timeout_source, g_main_context_get_thread_default ());
    }

  return request;
}

/*
 * Sends METHOD base_url + @path_and_query (already percent-encoded) and
 * returns the whole body as GBytes.  The token travels as a header only.
 */
static void
spyglass_client_request_async (SpyglassClient      *self,
                               const char          *method,
                               const char          *path_and_query,
                               gboolean             section_url,
                               GCancellable        *cancellable,
                               gpointer             source_tag,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Request *request;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  request = spyglass_client_prepare_request (self, task, method, path_and_query, FALSE,
                                             cancellable, &error);
  if (request == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  request->section_url = section_url;
  soup_message_headers_replace (soup_message_get_request_headers (request->message),
                                "Accept", "application/xml");

  g_debug ("%s %s%s", method, self->base_url,
           g_uri_get_path (soup_message_get_uri (request->message)));

  soup_session_send_async (self->session, request->message, G_PRIORITY_DEFAULT,
                           request->request_cancellable, on_sent,
                           g_steal_pointer (&task));
}

static GBytes *
spyglass_client_request_finish (SpyglassClient  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The parse step shared by every request that returns objects. */
typedef struct
{
  gpointer       (*parse) (GBytes *body, GError **error);
  GDestroyNotify   free_result;
} ParseSpec;

static gpointer
parse_server_info_body (GBytes  *body,
                        GError **error)
{
  return spyglass_parse_server_info (body, error);
}

static gpointer
parse_sections_body (GBytes  *body,
                     GError **error)
{
  return spyglass_parse_sections (body, error);
}

static gpointer
parse_activities_body (GBytes  *body,
                       GError **error)
{
  return spyglass_parse_activities (body, error);
}

static const ParseSpec parse_server_info = {
  parse_server_info_body, (GDestroyNotify) spyglass_server_info_free,
};
static const ParseSpec parse_sections = {
  parse_sections_body, (GDestroyNotify) g_ptr_array_unref,
};
static const ParseSpec parse_activities = {
  parse_activities_body, (GDestroyNotify) g_ptr_array_unref,
};

static void
on_parsed_request_done (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  const ParseSpec *spec = g_task_get_task_data (task);
  gpointer parsed;

  body = spyglass_client_request_finish (SPYGLASS_CLIENT (source), result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  parsed = spec->parse (body, &error);
  if (parsed == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, parsed, spec->free_result);
}

static void
spyglass_client_get_parsed_async (SpyglassClient      *self,
                                  const char          *path,
                                  const ParseSpec     *spec,
                                  GCancellable        *cancellable,
                                  gpointer             source_tag,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, (gpointer) spec, NULL);

  spyglass_client_request_async (self, "GET", path, FALSE, cancellable, source_tag,
                                 on_parsed_request_done, task);
}

void
spyglass_client_get_server_info_async (SpyglassClient      *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  spyglass_client_get_parsed_async (self, "/", &parse_server_info, cancellable, spyglass_client_get_server_info_async,
                                    callback, user_data);
}

SpyglassServerInfo *
spyglass_client_get_server_info_finish (SpyglassClient  *self,
                                        GAsyncResult    *result,
                                        GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
spyglass_client_list_sections_async (SpyglassClient      *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  spyglass_client_get_parsed_async (self, "/library/sections", &parse_sections, cancellable, spyglass_client_list_sections_async,
                                    callback, user_data);
}

GPtrArray *
spyglass_client_list_sections_finish (SpyglassClient  *self,
                                      GAsyncResult    *result,
                                      GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
spyglass_client_list_activities_async (SpyglassClient      *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  spyglass_client_get_parsed_async (self, "/activities", &parse_activities, cancellable, spyglass_client_list_activities_async,
                                    callback, user_data);
}

GPtrArray *
spyglass_client_list_activities_finish (SpyglassClient  *self,
                                        GAsyncResult    *result,
                                        GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_command_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;

  /* Plex answers a scan or a cancel with an empty body; ignore whatever
   * it sends. */
  body = spyglass_client_request_finish (SPYGLASS_CLIENT (source), result, &error);
  if (body == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static char *
section_refresh_path (const char *section_key)
{
  g_autofree char *escaped = g_uri_escape_string (section_key, NULL, FALSE);

  return g_strdup_printf ("/library/sections/%s/refresh", escaped);
}

void
spyglass_client_scan_async (SpyglassClient      *self,
                            const char          *section_key,
                            const char          *path,
                            gboolean             force,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autofree char *refresh_path = NULL;
  GString *url;
  GTask *task;

  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (section_key != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  refresh_path = section_refresh_path (section_key);
  url = g_string_new (refresh_path);
  if (path != NULL)
    {
      /* The whole path is one query value: every byte outside the
       * unreserved set is percent-encoded, '/' and '+' included, and bytes
       * that are not UTF-8 pass through unchanged. */
      g_autofree char *escaped = g_uri_escape_bytes ((const guint8 *) path, strlen (path), NULL);

      g_string_append (url, "?path=");
      g_string_append (url, escaped);
    }
  if (force)
    g_string_append (url, path != NULL ? "&force=1" : "?force=1");

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_client_scan_async);

  spyglass_client_request_async (self, "GET", url->str, TRUE, cancellable,
                                 spyglass_client_scan_async, on_command_done, task);
  g_string_free (url, TRUE);
}

gboolean
spyglass_client_scan_finish (SpyglassClient  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
spyglass_client_cancel_scan_async (SpyglassClient      *self,
                                   const char          *section_key,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autofree char *refresh_path = NULL;
  GTask *task;

  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  refresh_path = section_refresh_path (section_key != NULL ? section_key : "all");

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_client_cancel_scan_async);

  spyglass_client_request_async (self, "DELETE", refresh_path, section_key != NULL,
                                 cancellable, spyglass_client_cancel_scan_async,
                                 on_command_done, task);
}

gboolean
spyglass_client_cancel_scan_finish (SpyglassClient  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_websocket_connected (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpyglassClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  guint status;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  status = soup_message_get_status (request->message);
  g_debug ("WebSocket %s -> %u", NOTIFICATIONS_PATH, status);

  if (connection == NULL)
    {
      /* A refused handshake is an HTTP answer like any other: 401 is an
       * invalid token, 404 a server or proxy without the WebSocket. */
      if (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET) &&
          !request->timed_out && status >= 300)
        g_task_return_error (task, status_error (status, FALSE));
      else
        request_fail (task, error);
      return;
    }

  if (!request_check_pinned_certificate (self, request, &error))
    {
      /* Dropped without a close handshake: nothing more goes to it. */
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* A frame gets the same cap as a response body. */
  soup_websocket_connection_set_max_incoming_payload_size (connection, self->max_response_size);

  g_task_return_pointer (task, g_steal_pointer (&connection), g_object_unref);
}

/**
 * spyglass_client_connect_notifications_async:
 * @self: a #SpyglassClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the handshake is over
 * @user_data: data for @callback
 *
 * Opens Plex's notification WebSocket, `/:/websockets/notifications` on
 * the server (ws:// for http://, wss:// for https://), with the token in
 * the X-Plex-Token header of the upgrade request, never in the URL.  The
 * client's timeout covers the handshake; its pinned certificate and its
 * cap on the response size (as the largest frame) apply.
 */
void
spyglass_client_connect_notifications_async (SpyglassClient      *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Request *request;

  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_client_connect_notifications_async);

  request = spyglass_client_prepare_request (self, task, "GET", NOTIFICATIONS_PATH, TRUE,
                                             cancellable, &error);
  if (request == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_debug ("WebSocket %s%s", self->base_url, NOTIFICATIONS_PATH);

  soup_session_websocket_connect_async (self->session, request->message, NULL, NULL,
                                        G_PRIORITY_DEFAULT, request->request_cancellable,
                                        on_websocket_connected, g_steal_pointer (&task));
}

/**
 * spyglass_client_connect_notifications_finish:
 * @self: a #SpyglassClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the open connection, or %NULL with @error set
 *   (%SPYGLASS_ERROR_INVALID_TOKEN for 401, %SPYGLASS_ERROR_HTTP_STATUS
 *   for a server that refuses the upgrade with 404, …)
 */
SoupWebsocketConnection *
spyglass_client_connect_notifications_finish (SpyglassClient  *self,
                                              GAsyncResult    *result,
                                              GError         **error)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
spyglass_client_generate_client_id (void)
{
  return g_uuid_string_random ();
}

SpyglassClient *
spyglass_client_new (const char *base_url,
                     const char *token)
{
  return g_object_new (SPYGLASS_TYPE_CLIENT,
                       "base-url", base_url,
                       "token", token,
                       NULL);
}

const char *
spyglass_client_get_base_url (SpyglassClient *self)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);

  return self->base_url;
}

static void
spyglass_client_set_base_url (SpyglassClient *self,
                              const char     *base_url)
{
  g_autofree char *trimmed = NULL;

  if (base_url != NULL)
    {
      gsize len = strlen (base_url);

      while (len > 0 && base_url[len - 1] == '/')
        len--;
      trimmed = g_strndup (base_url, len);
    }

  if (set_str (&self->base_url, trimmed))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BASE_URL]);
}

void
spyglass_client_set_token (SpyglassClient *self,
                           const char     *token)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));

  if (g_strcmp0 (self->token, token) == 0)
    return;

  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_free (self->token);
  self->token = g_strdup (token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
}

const char *
spyglass_client_get_client_id (SpyglassClient *self)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), NULL);

  return self->client_id;
}

void
spyglass_client_set_client_id (SpyglassClient *self,
                               const char     *client_id)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));

  if (client_id == NULL || client_id[0] == '\0')
    return;

  if (set_str (&self->client_id, client_id))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT_ID]);
}

void
spyglass_client_set_device_name (SpyglassClient *self,
                                 const char     *device_name)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));

  if (device_name == NULL || device_name[0] == '\0')
    device_name = g_get_host_name ();

  if (set_str (&self->device_name, device_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE_NAME]);
}

guint
spyglass_client_get_timeout (SpyglassClient *self)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (self), 0);

  return self->timeout;
}

void
spyglass_client_set_timeout (SpyglassClient *self,
                             guint           seconds)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));

  if (self->timeout == seconds)
    return;

  self->timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

void
spyglass_client_set_max_response_size (SpyglassClient *self,
                                       gsize           max_size)
{
  g_return_if_fail (SPYGLASS_IS_CLIENT (self));
  /* Above the parsers' own cap a body would be read, then refused. */
  g_return_if_fail (max_size > 0 && max_size <= SPYGLASS_MAX_RESPONSE_SIZE);

  if (self->max_response_size == max_size)
    return;

  self->max_response_size = max_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_RESPONSE_SIZE]);
}

void
spyglass_client_set_pinned_certificate (SpyglassClient *self,
                                        const char     *sha256)
{
  g_autofree char *normalized = NULL;

  g_return_if_fail (SPYGLASS_IS_CLIENT (self));

  if (sha256 != NULL && sha256[0] != '\0')
    {
      normalized = spyglass_client_normalize_fingerprint (sha256);
      if (normalized == NULL)
        {
          g_warning ("Ignoring a pinned certificate that is not a SHA-256 fingerprint");
          return;
        }
    }

  if (!set_str (&self->pinned_certificate, normalized))
    return;

  /* With a pin, no certificate authority vouches for the server: without a
   * database every certificate goes through accept-certificate, which
   * compares it with the pin before a byte (or the token) is sent. */
  if (self->pinned_certificate != NULL)
    soup_session_set_tls_database (self->session, NULL);
  else
    {
      g_autoptr(GTlsDatabase) database =
        g_tls_backend_get_default_database (g_tls_backend_get_default ());

      soup_session_set_tls_database (self->session, database);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED_CERTIFICATE]);
}

static void
spyglass_client_finalize (GObject *object)
{
  SpyglassClient *self = (SpyglassClient *) object;

  spyglass_client_set_token (self, NULL);
  g_clear_object (&self->session);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->client_id, g_free);
  g_clear_pointer (&self->device_name, g_free);
  g_clear_pointer (&self->pinned_certificate, g_free);

  G_OBJECT_CLASS (spyglass_client_parent_class)->finalize (object);
}

static void
spyglass_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SpyglassClient *self = SPYGLASS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;

    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;

    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;

    case PROP_DEVICE_NAME:
      g_value_set_string (value, self->device_name);
      break;

    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;

    case PROP_MAX_RESPONSE_SIZE:
      g_value_set_uint64 (value, self->max_response_size);
      break;

    case PROP_PINNED_CERTIFICATE:
      g_value_set_string (value, self->pinned_certificate);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_client_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SpyglassClient *self = SPYGLASS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      spyglass_client_set_base_url (self, g_value_get_string (value));
      break;

    case PROP_TOKEN:
      spyglass_client_set_token (self, g_value_get_string (value));
      break;

    case PROP_CLIENT_ID:
      spyglass_client_set_client_id (self, g_value_get_string (value));
      break;

    case PROP_DEVICE_NAME:
      spyglass_client_set_device_name (self, g_value_get_string (value));
      break;

    case PROP_TIMEOUT:
      spyglass_client_set_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_RESPONSE_SIZE:
      spyglass_client_set_max_response_size (self, g_value_get_uint64 (value));
      break;

    case PROP_PINNED_CERTIFICATE:
      spyglass_client_set_pinned_certificate (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_client_class_init (SpyglassClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = spyglass_client_finalize;
  object_class->get_property = spyglass_client_get_property;
  object_class->set_property = spyglass_client_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOKEN] =
    g_param_spec_string ("token", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLIENT_ID] =
    g_param_spec_string ("client-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE_NAME] =
    g_param_spec_string ("device-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 0, G_MAXUINT / 1000, SPYGLASS_DEFAULT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_RESPONSE_SIZE] =
    g_param_spec_uint64 ("max-response-size", NULL, NULL, 1, SPYGLASS_MAX_RESPONSE_SIZE,
                         SPYGLASS_MAX_RESPONSE_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PINNED_CERTIFICATE] =
    g_param_spec_string ("pinned-certificate", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
spyglass_client_init (SpyglassClient *self)
{
  /* SoupSession's own timeouts are off: each request has one deadline for
   * the whole exchange, body included (a server that drips bytes forever
   * still times out). */
  self->session = soup_session_new_with_options ("timeout", 0,
                                                 "idle-timeout", 60,
                                                 "user-agent", "Spyglass/" PACKAGE_VERSION " ",
                                                 NULL);
  self->client_id = spyglass_client_generate_client_id ();
  self->device_name = g_strdup (g_get_host_name ());
  self->timeout = SPYGLASS_DEFAULT_TIMEOUT;
  self->max_response_size = SPYGLASS_MAX_RESPONSE_SIZE;
}
