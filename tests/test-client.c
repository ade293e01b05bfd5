/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The core Plex client against the fake server: requests as Plex receives
 * them, every error with its code and message, timeouts, cancellation and
 * certificate pinning.
 */
#include "config.h"

#include "fake-plex.h"
#include "spyglass-core.h"

typedef struct
{
  FakePlex       *plex;
  SpyglassClient *client;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->plex = fake_plex_new ();
  fake_plex_set_scan_duration (fixture->plex, 200);
  g_assert_true (fake_plex_start (fixture->plex, &error));
  g_assert_no_error (error);

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static SpyglassServerInfo *
get_server_info (SpyglassClient  *client,
                 GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  spyglass_client_get_server_info_async (client, NULL, store_result, &result);
  return spyglass_client_get_server_info_finish (client, wait_for (&result), error);
}

static GPtrArray *
list_sections (SpyglassClient  *client,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  spyglass_client_list_sections_async (client, NULL, store_result, &result);
  return spyglass_client_list_sections_finish (client, wait_for (&result), error);
}

static gboolean
scan (SpyglassClient  *client,
      const char      *key,
      const char      *path,
      gboolean         force,
      GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  spyglass_client_scan_async (client, key, path, force, NULL, store_result, &result);
  return spyglass_client_scan_finish (client, wait_for (&result), error);
}

static SoupWebsocketConnection *
connect_notifications (SpyglassClient  *client,
                       GCancellable    *cancellable,
                       GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  spyglass_client_connect_notifications_async (client, cancellable, store_result, &result);
  return spyglass_client_connect_notifications_finish (client, wait_for (&result), error);
}

static FakePlexRequest *
last_request (Fixture *fixture)
{
  GPtrArray *requests = fake_plex_get_requests (fixture->plex);

  g_assert_cmpuint (requests->len, >, 0);
  return g_ptr_array_index (requests, requests->len - 1);
}

static void
test_server_info (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  FakePlexRequest *request;

  fake_plex_set_friendly_name (fixture->plex, "Living Room & Attic");
  info = get_server_info (fixture->client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->friendly_name, ==, "Living Room & Attic");
  g_assert_cmpstr (info->version, ==, FAKE_PLEX_DEFAULT_VERSION);
  g_assert_cmpstr (info->platform, ==, "Linux");
  g_assert_nonnull (info->machine_identifier);
  version = spyglass_server_info_dup_short_version (info);
  g_assert_cmpstr (version, ==, "1.40.0");

  request = last_request (fixture);
  g_assert_cmpstr (request->method, ==, "GET");
  g_assert_cmpstr (request->path, ==, "/");
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"), ==,
                   fake_plex_get_token (fixture->plex));
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Client-Identifier"), ==,
                   spyglass_client_get_client_id (fixture->client));
  g_assert_false (request->token_in_query);
}

static void
test_sections (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;
  const char * const odd[] = { "/data/a & b", "/data/<c> \"d\"", "/data/Sigur Rós", NULL };
  SpyglassSection *section;

  fake_plex_add_section (fixture->plex, "12", "artist", "Odd & <Names>", odd);
  sections = list_sections (fixture->client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sections->len, ==, 5);

  section = g_ptr_array_index (sections, 2);
  g_assert_cmpstr (section->key, ==, "3");
  g_assert_cmpstr (section->type, ==, "artist");
  g_assert_cmpstr (section->title, ==, "Music");
  g_assert_false (section->refreshing);
  g_assert_cmpstrv (section->locations, ((const char * const[]) { "/data/music", "/srv/more music", NULL }));

  section = g_ptr_array_index (sections, 4);
  g_assert_cmpstr (section->title, ==, "Odd & <Names>");
  g_assert_cmpstrv (section->locations, odd);
}

/* The refresh URL carries the path as one query value, whatever its bytes. */
static void
test_scan_encoding (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *paths[] = {
    "/data/music/plain",
    "/data/music/a b&c#d+e%f?g=h",
    "/data/music/Ágætis byrjun/日本語",
    "/data/music/latin1 \xe9\xe8 bytes",
    "/data/music/%2F not a slash %20",
    "/data/music/tab\there/new\nline",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(GError) error = NULL;
      GBytes *value;
      FakePlexRequest *request;

      g_assert_true (scan (fixture->client, "3", paths[i], FALSE, &error));
      g_assert_no_error (error);

      request = last_request (fixture);
      g_assert_cmpstr (request->method, ==, "GET");
      g_assert_cmpstr (request->path, ==, "/library/sections/3/refresh");
      value = fake_plex_request_get_param (request, "path");
      g_assert_nonnull (value);
      g_assert_cmpmem (g_bytes_get_data (value, NULL), g_bytes_get_size (value),
                       paths[i], strlen (paths[i]));
      g_assert_null (fake_plex_request_get_param (request, "force"));
    }
}

static void
test_scan_variants (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  FakePlexRequest *request;

  g_assert_true (scan (fixture->client, "3", NULL, FALSE, &error));
  request = last_request (fixture);
  g_assert_cmpstr (request->path, ==, "/library/sections/3/refresh");
  g_assert_null (request->query);
  g_assert_true (fake_plex_is_scanning (fixture->plex, "3"));

  g_assert_true (scan (fixture->client, "3", NULL, TRUE, &error));
  g_assert_cmpstr (last_request (fixture)->query, ==, "force=1");

  g_assert_true (scan (fixture->client, "3", "/data/music/x", TRUE, &error));
  g_assert_cmpstr (last_request (fixture)->query, ==, "path=%2Fdata%2Fmusic%2Fx&force=1");

  spyglass_client_cancel_scan_async (fixture->client, "3", NULL, store_result, &result);
  g_assert_true (spyglass_client_cancel_scan_finish (fixture->client, wait_for (&result), &error));
  g_assert_no_error (error);
  request = last_request (fixture);
  g_assert_cmpstr (request->method, ==, "DELETE");
  g_assert_cmpstr (request->path, ==, "/library/sections/3/refresh");
  g_assert_false (fake_plex_is_scanning (fixture->plex, "3"));

  g_clear_object (&result);
  spyglass_client_cancel_scan_async (fixture->client, NULL, NULL, store_result, &result);
  g_assert_true (spyglass_client_cancel_scan_finish (fixture->client, wait_for (&result), &error));
  g_assert_cmpstr (last_request (fixture)->path, ==, "/library/sections/all/refresh");
}

static void
test_activities (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) activities = NULL;
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;
  SpyglassActivity *activity;

  fake_plex_set_scan_duration (fixture->plex, 5000);
  g_assert_true (scan (fixture->client, "3", "/data/music/x", FALSE, &error));

  sections = list_sections (fixture->client, &error);
  g_assert_true (((SpyglassSection *) sections->pdata[2])->refreshing);

  spyglass_client_list_activities_async (fixture->client, NULL, store_result, &result);
  activities = spyglass_client_list_activities_finish (fixture->client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (activities->len, ==, 1);
  activity = g_ptr_array_index (activities, 0);
  g_assert_cmpstr (activity->type, ==, "library.update.section");
  g_assert_cmpstr (activity->section_key, ==, "3");
  g_assert_cmpstr (activity->title, ==, "Scanning Music");
  g_assert_cmpint (activity->progress, >=, 0);
  g_assert_cmpint (activity->progress, <=, 100);
}

typedef struct
{
  FakePlexFault  fault;
  const char    *operation;  /* "info" or "scan" */
  SpyglassError  code;
  const char    *message;
} ErrorCase;

static void
test_error (Fixture       *fixture,
            gconstpointer  data)
{
  const ErrorCase *error_case = data;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  fake_plex_set_fault (fixture->plex, error_case->fault);
  /* One second where the timeout is the point; otherwise the default, as
   * a sanitizer build is slow to produce a 9 MiB body. */
  if (error_case->code == SPYGLASS_ERROR_TIMEOUT)
    spyglass_client_set_timeout (fixture->client, 1);

  if (g_str_equal (error_case->operation, "info"))
    {
      g_autoptr(SpyglassServerInfo) info = get_server_info (fixture->client, &error);
      g_assert_null (info);
    }
  else
    g_assert_false (scan (fixture->client, "3", "/data/music/x", FALSE, &error));

  g_assert_error (error, SPYGLASS_ERROR, (int) error_case->code);
  if (error_case->message != NULL)
    g_assert_cmpstr (error->message, ==, error_case->message);
  /* A timeout ends at the one-second deadline, with slack for a busy
   * machine. */
  if (error_case->code == SPYGLASS_ERROR_TIMEOUT)
    g_assert_cmpint (g_get_monotonic_time () - start, <, 8 * G_USEC_PER_SEC);
}

static const ErrorCase error_cases[] = {
  { FAKE_PLEX_FAULT_UNAUTHORIZED, "info", SPYGLASS_ERROR_INVALID_TOKEN, "Invalid Plex token" },
  { FAKE_PLEX_FAULT_UNAUTHORIZED, "scan", SPYGLASS_ERROR_INVALID_TOKEN, "Invalid Plex token" },
  { FAKE_PLEX_FAULT_FORBIDDEN, "scan", SPYGLASS_ERROR_FORBIDDEN,
    "Plex refused the request: this account is not the server’s owner (403 Forbidden)" },
  { FAKE_PLEX_FAULT_NOT_FOUND, "scan", SPYGLASS_ERROR_SECTION_NOT_FOUND, "Library section not found" },
  { FAKE_PLEX_FAULT_NOT_FOUND, "info", SPYGLASS_ERROR_HTTP_STATUS, "Plex returned 404" },
  { FAKE_PLEX_FAULT_SERVER_ERROR, "scan", SPYGLASS_ERROR_HTTP_STATUS, "Plex returned 500" },
  { FAKE_PLEX_FAULT_HANG, "info", SPYGLASS_ERROR_TIMEOUT, "Plex request timeout" },
  { FAKE_PLEX_FAULT_HANG, "scan", SPYGLASS_ERROR_TIMEOUT, "Plex request timeout" },
  { FAKE_PLEX_FAULT_SLOW_BODY, "info", SPYGLASS_ERROR_TIMEOUT, "Plex request timeout" },
  { FAKE_PLEX_FAULT_MALFORMED, "info", SPYGLASS_ERROR_BAD_RESPONSE, NULL },
  { FAKE_PLEX_FAULT_HUGE_BODY, "info", SPYGLASS_ERROR_RESPONSE_TOO_LARGE,
    "The Plex server sent a response larger than 2.1\u00a0MB" },
};

static void
test_error_wrong_token (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  spyglass_client_set_token (fixture->client, "wrong");
  g_assert_false (scan (fixture->client, "3", NULL, FALSE, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN);
  g_assert_cmpstr (error->message, ==, "Invalid Plex token");

  /* No token at all is the same for Plex. */
  g_clear_error (&error);
  spyglass_client_set_token (fixture->client, NULL);
  g_assert_false (scan (fixture->client, "3", NULL, FALSE, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN);
  g_assert_null (soup_message_headers_get_one (last_request (fixture)->headers, "X-Plex-Token"));
}

static void
test_error_unknown_section (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (scan (fixture->client, "42", "/data/music/x", FALSE, &error));
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_SECTION_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "Library section not found");
}

static void
test_error_unreachable (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  fake_plex_stop (fixture->plex);
  info = get_server_info (fixture->client, &error);
  g_assert_null (info);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE);
  g_assert_cmpstr (error->message, ==, "Cannot reach Plex server");
}

static void
test_error_small_cap (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;

  spyglass_client_set_max_response_size (fixture->client, 100);
  sections = list_sections (fixture->client, &error);
  g_assert_null (sections);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
  g_assert_cmpstr (error->message, ==, "The Plex server sent a response larger than 100 bytes");
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_HANG);
  spyglass_client_set_timeout (fixture->client, 0);
  g_timeout_add (100, cancel_later, cancellable);

  spyglass_client_get_server_info_async (fixture->client, cancellable, store_result, &result);
  info = spyglass_client_get_server_info_finish (fixture->client, wait_for (&result), &error);
  g_assert_null (info);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static char *
fingerprint_of (const char *pem_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (pem_path, &error);
  g_autoptr(GByteArray) der = NULL;

  g_assert_no_error (error);
  g_object_get (certificate, "certificate", &der, NULL);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

static void
start_tls (Fixture    *fixture,
           const char *cert_name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", cert_name, NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_object (&fixture->client);
  g_clear_object (&fixture->plex);

  certificate = g_tls_certificate_new_from_file (path, &error);
  g_assert_no_error (error);

  fixture->plex = fake_plex_new ();
  g_assert_true (fake_plex_start_tls (fixture->plex, certificate, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (fake_plex_get_url (fixture->plex), "https://"));

  fixture->client = spyglass_client_new (fake_plex_get_url (fixture->plex),
                                         fake_plex_get_token (fixture->plex));
}

/* "ab12…" → "AB:12:…" */
static char *
display_fingerprint (const char *hex)
{
  GString *display = g_string_new (NULL);

  for (guint i = 0; hex[i] != '\0'; i += 2)
    g_string_append_printf (display, "%s%c%c", i > 0 ? ":" : "",
                            g_ascii_toupper (hex[i]), g_ascii_toupper (hex[i + 1]));
  return g_string_free (display, FALSE);
}

static void
test_tls_untrusted (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "cert-a.pem", NULL);
  g_autofree char *fingerprint = fingerprint_of (path);
  g_autofree char *display = display_fingerprint (fingerprint);
  g_autofree char *expected = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  start_tls (fixture, "cert-a.pem");
  info = get_server_info (fixture->client, &error);
  g_assert_null (info);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED);
  expected = g_strdup_printf ("The Plex server’s certificate is not trusted (SHA-256 %s)", display);
  g_assert_cmpstr (error->message, ==, expected);
  /* Nothing was sent: the token never left over an untrusted connection. */
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);
}

static void
test_tls_pinned (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "cert-a.pem", NULL);
  g_autofree char *fingerprint = fingerprint_of (path);
  g_autofree char *display = display_fingerprint (fingerprint);
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  start_tls (fixture, "cert-a.pem");
  /* Pasted the way browsers show it. */
  spyglass_client_set_pinned_certificate (fixture->client, display);
  info = get_server_info (fixture->client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->version, ==, FAKE_PLEX_DEFAULT_VERSION);
}

static void
test_tls_changed (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *path_a = g_test_build_filename (G_TEST_DIST, "data", "cert-a.pem", NULL);
  g_autofree char *path_b = g_test_build_filename (G_TEST_DIST, "data", "cert-b.pem", NULL);
  g_autofree char *fingerprint_a = fingerprint_of (path_a);
  g_autofree char *fingerprint_b = fingerprint_of (path_b);
  g_autofree char *display_b = display_fingerprint (fingerprint_b);
  g_autofree char *expected = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (fingerprint_a, !=, fingerprint_b);
  start_tls (fixture, "cert-b.pem");
  spyglass_client_set_pinned_certificate (fixture->client, fingerprint_a);
  info = get_server_info (fixture->client, &error);
  g_assert_null (info);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_CERTIFICATE_CHANGED);
  expected = g_strdup_printf ("The Plex server’s certificate has changed since it was trusted "
                              "(now SHA-256 %s); refusing to connect", display_b);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);
}

static void
redirect_handler (SoupServer        *server,
                  SoupServerMessage *message,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  const char *target = user_data;

  soup_server_message_set_redirect (message, SOUP_STATUS_MOVED_PERMANENTLY, target);
}

/* A redirect is never followed: it would carry the token to whatever host
 * it names. */
static void
test_no_redirect (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(SoupServer) redirector = soup_server_new (NULL, NULL);
  g_autoptr(SpyglassClient) client = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *target = g_strdup_printf ("%s/", fake_plex_get_url (fixture->plex));
  g_autofree char *url = NULL;
  GSList *uris;

  soup_server_add_handler (redirector, NULL, redirect_handler, target, NULL);
  g_assert_true (soup_server_listen_local (redirector, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (redirector);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  client = spyglass_client_new (url, fake_plex_get_token (fixture->plex));
  info = get_server_info (client, &error);
  g_assert_null (info);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_HTTP_STATUS);
  g_assert_cmpstr (error->message, ==, "Plex returned 301");
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);
}

static gboolean
on_plain_connection (GSocketService     *service,
                     GSocketConnection  *connection,
                     GObject            *source,
                     gpointer            user_data)
{
  const char *answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  /* What a plain HTTP server says to a TLS hello. */
  g_output_stream_write_all (out, answer, strlen (answer), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

/* https:// to a server that speaks plain HTTP is not a certificate
 * problem. */
static void
test_tls_not_spoken (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(SpyglassClient) client = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &bound, &error));
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (on_plain_connection), NULL);
  g_socket_service_start (service);

  url = g_strdup_printf ("https://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  client = spyglass_client_new (url, "token");
  info = get_server_info (client, &error);
  g_socket_service_stop (service);

  g_assert_null (info);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE);
  g_assert_cmpstr (error->message, ==,
                   "Cannot make a secure connection to the Plex server (is this address really https?)");
}

static void
on_frame (SoupWebsocketConnection *connection,
          SoupWebsocketDataType    type,
          GBytes                  *message,
          gpointer                 user_data)
{
  GPtrArray *events = user_data;
  g_autoptr(GPtrArray) parsed = NULL;
  g_autoptr(GError) error = NULL;

  parsed = spyglass_parse_notification (message, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < parsed->len; i++)
    g_ptr_array_add (events, spyglass_activity_event_copy (g_ptr_array_index (parsed, i)));
}

static void
test_notifications (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_activity_event_free);
  g_autoptr(GError) error = NULL;
  FakePlexRequest *request;
  SpyglassActivityEvent *event;
  GUri *uri;

  connection = connect_notifications (fixture->client, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);
  g_assert_cmpuint (soup_websocket_connection_get_max_incoming_payload_size (connection), ==,
                    SPYGLASS_MAX_RESPONSE_SIZE);
  uri = soup_websocket_connection_get_uri (connection);
  g_assert_cmpstr (g_uri_get_scheme (uri), ==, "ws");
  g_assert_cmpstr (g_uri_get_path (uri), ==, "/:/websockets/notifications");
  g_assert_null (g_uri_get_query (uri));

  /* The plural path; the token as a header, never in the URL. */
  request = last_request (fixture);
  g_assert_cmpstr (request->method, ==, "GET");
  g_assert_cmpstr (request->path, ==, "/:/websockets/notifications");
  g_assert_null (request->query);
  g_assert_false (request->token_in_query);
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Token"), ==,
                   fake_plex_get_token (fixture->plex));
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Client-Identifier"), ==,
                   spyglass_client_get_client_id (fixture->client));
  g_assert_cmpstr (soup_message_headers_get_one (request->headers, "X-Plex-Product"), ==, "Spyglass");
  g_assert_cmpuint (fake_plex_get_n_websockets (fixture->plex), ==, 1);

  g_signal_connect (connection, "message", G_CALLBACK (on_frame), events);
  g_assert_true (scan (fixture->client, "3", NULL, FALSE, &error));
  while (events->len == 0 ||
         ((SpyglassActivityEvent *) g_ptr_array_index (events, events->len - 1))->kind != SPYGLASS_ACTIVITY_EVENT_ENDED)
    g_main_context_iteration (NULL, TRUE);

  event = g_ptr_array_index (events, 0);
  g_assert_cmpint (event->kind, ==, SPYGLASS_ACTIVITY_EVENT_STARTED);
  g_assert_cmpstr (event->activity->type, ==, "library.update.section");
  g_assert_cmpstr (event->activity->section_key, ==, "3");
  event = g_ptr_array_index (events, events->len - 1);
  g_assert_cmpint (event->activity->progress, ==, 100);

  soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  while (fake_plex_get_n_websockets (fixture->plex) > 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
assert_notifications_fail (Fixture    *fixture,
                           int         code,
                           const char *message)
{
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = connect_notifications (fixture->client, NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, SPYGLASS_ERROR, code);
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_notifications_errors (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  spyglass_client_set_token (fixture->client, "wrong");
  assert_notifications_fail (fixture, SPYGLASS_ERROR_INVALID_TOKEN, "Invalid Plex token");
  g_assert_cmpstr (last_request (fixture)->path, ==, "/:/websockets/notifications");
  spyglass_client_set_token (fixture->client, fake_plex_get_token (fixture->plex));

  /* A server (or proxy) without the WebSocket. */
  fake_plex_set_websocket_enabled (fixture->plex, FALSE);
  assert_notifications_fail (fixture, SPYGLASS_ERROR_HTTP_STATUS, "Plex returned 404");
  fake_plex_set_websocket_enabled (fixture->plex, TRUE);

  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_FORBIDDEN);
  assert_notifications_fail (fixture, SPYGLASS_ERROR_FORBIDDEN, NULL);
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_SERVER_ERROR);
  assert_notifications_fail (fixture, SPYGLASS_ERROR_HTTP_STATUS, "Plex returned 500");
  /* 200 instead of 101: not a Plex server. */
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_MALFORMED);
  assert_notifications_fail (fixture, SPYGLASS_ERROR_BAD_RESPONSE, NULL);

  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_HANG);
  spyglass_client_set_timeout (fixture->client, 1);
  start = g_get_monotonic_time ();
  assert_notifications_fail (fixture, SPYGLASS_ERROR_TIMEOUT, "Plex request timeout");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 8 * G_USEC_PER_SEC);

  spyglass_client_set_timeout (fixture->client, 0);
  g_timeout_add (100, cancel_later, cancellable);
  connection = connect_notifications (fixture->client, cancellable, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  fake_plex_set_fault (fixture->plex, FAKE_PLEX_FAULT_NONE);

  fake_plex_stop (fixture->plex);
  assert_notifications_fail (fixture, SPYGLASS_ERROR_UNREACHABLE, "Cannot reach Plex server");
}

static void
test_notifications_tls (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "cert-a.pem", NULL);
  g_autofree char *fingerprint = fingerprint_of (path);
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  start_tls (fixture, "cert-a.pem");
  assert_notifications_fail (fixture, SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED, NULL);
  /* The token never left over an untrusted connection. */
  g_assert_cmpuint (fake_plex_get_requests (fixture->plex)->len, ==, 0);

  spyglass_client_set_pinned_certificate (fixture->client, fingerprint);
  connection = connect_notifications (fixture->client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_uri_get_scheme (soup_websocket_connection_get_uri (connection)), ==, "wss");
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);
}

static void
test_fingerprint_normalize (void)
{
  g_autofree char *a = spyglass_client_normalize_fingerprint (
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
  g_autofree char *b = spyglass_client_normalize_fingerprint ("abcd");
  g_autofree char *c = spyglass_client_normalize_fingerprint (
    "zz:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");

  g_assert_cmpstr (a, ==, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  g_assert_null (b);
  g_assert_null (c);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/client/server-info", test_server_info);
  ADD ("/client/sections", test_sections);
  ADD ("/client/scan/encoding", test_scan_encoding);
  ADD ("/client/scan/variants", test_scan_variants);
  ADD ("/client/activities", test_activities);
  ADD ("/client/error/wrong-token", test_error_wrong_token);
  ADD ("/client/error/unknown-section", test_error_unknown_section);
  ADD ("/client/error/unreachable", test_error_unreachable);
  ADD ("/client/error/small-cap", test_error_small_cap);
  ADD ("/client/cancel", test_cancel);
  ADD ("/client/tls/untrusted", test_tls_untrusted);
  ADD ("/client/tls/pinned", test_tls_pinned);
  ADD ("/client/tls/changed", test_tls_changed);
  ADD ("/client/tls/not-spoken", test_tls_not_spoken);
  ADD ("/client/no-redirect", test_no_redirect);
  g_test_add_func ("/client/tls/fingerprint", test_fingerprint_normalize);
  ADD ("/client/notifications/connect", test_notifications);
  ADD ("/client/notifications/errors", test_notifications_errors);
  ADD ("/client/notifications/tls", test_notifications_tls);

  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/client/error/fault-%u-%s", i,
                                               error_cases[i].operation);
      g_test_add (path, Fixture, &error_cases[i], fixture_setup, test_error, fixture_teardown);
    }

  return g_test_run ();
}
