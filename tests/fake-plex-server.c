/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fake-plex-server.c: the fake Plex server as a program, for demos,
 * benchmarks and trying Spyglass by hand.
 *
 *   spyglass-fake-plex [--port N] [--token TOKEN] [--scan-duration MS]
 *                      [--tls-certificate PEM] [--fault NAME] [--verbose]
 *
 * Listens on 127.0.0.1 only, prints "url=…" and "token=…" on two lines of
 * stdout, then serves until SIGINT or SIGTERM.
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "fake-plex.h"

static const struct {
  const char    *name;
  FakePlexFault  fault;
} fault_names[] = {
  { "none",         FAKE_PLEX_FAULT_NONE },
  { "unauthorized", FAKE_PLEX_FAULT_UNAUTHORIZED },
  { "forbidden",    FAKE_PLEX_FAULT_FORBIDDEN },
  { "not-found",    FAKE_PLEX_FAULT_NOT_FOUND },
  { "server-error", FAKE_PLEX_FAULT_SERVER_ERROR },
  { "hang",         FAKE_PLEX_FAULT_HANG },
  { "slow-body",    FAKE_PLEX_FAULT_SLOW_BODY },
  { "malformed",    FAKE_PLEX_FAULT_MALFORMED },
  { "huge-body",    FAKE_PLEX_FAULT_HUGE_BODY },
};

static gboolean
quit_cb (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_main_loop_quit (loop);

  return G_SOURCE_CONTINUE;
}

static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* A parameter value for the log: as it is when it is printable UTF-8,
 * with \xNN for other bytes. */
static void
append_escaped (GString *out,
                GBytes  *value)
{
  gsize length = 0;
  const guchar *data = g_bytes_get_data (value, &length);
  gboolean utf8 = g_utf8_validate_len ((const char *) data, length, NULL);

  g_string_append_c (out, '"');
  for (gsize i = 0; i < length; i++)
    {
      guchar c = data[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
        g_string_append_printf (out, "\\x%02X", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static void
log_request_cb (FakePlex              *plex,
                const FakePlexRequest *request,
                gpointer               user_data)
{
  g_autoptr(GString) line = g_string_new (NULL);
  g_autofree const char **names = NULL;
  guint n_names = 0;

  g_string_append_printf (line, "%s %s", request->method, request->path);

  names = (const char **) g_hash_table_get_keys_as_array (request->params, &n_names);
  qsort (names, n_names, sizeof (char *), compare_names);
  for (guint i = 0; i < n_names; i++)
    {
      g_string_append_printf (line, " %s=", names[i]);
      /* Never a token in a log. */
      if (g_ascii_strcasecmp (names[i], "X-Plex-Token") == 0)
        g_string_append (line, "(hidden)");
      else
        append_escaped (line, g_hash_table_lookup (request->params, names[i]));
    }

  fprintf (stderr, "%s\n", line->str);
  fflush (stderr);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(FakePlex) plex = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *certificate_path = NULL;
  g_autofree char *fault_name = NULL;
  int port = 0;
  int scan_duration = -1;
  gboolean verbose = FALSE;
  FakePlexFault fault = FAKE_PLEX_FAULT_NONE;
  gboolean fault_found = FALSE;
  guint sigint_id;
  guint sigterm_id;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port,
      "Port to listen on, on 127.0.0.1 (default: any free port)", "N" },
    { "token", 't', 0, G_OPTION_ARG_STRING, &token,
      "Token requests must carry (default: " FAKE_PLEX_DEFAULT_TOKEN ")", "TOKEN" },
    { "scan-duration", 'd', 0, G_OPTION_ARG_INT, &scan_duration,
      "How long a simulated scan runs (default: 500)", "MS" },
    { "tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &certificate_path,
      "Serve HTTPS with this PEM certificate and key", "FILE" },
    { "fault", 0, 0, G_OPTION_ARG_STRING, &fault_name,
      "Answer every request with a fault: unauthorized, forbidden, not-found, "
      "server-error, hang, slow-body, malformed or huge-body", "NAME" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      "Log each request to stderr (never the token)", NULL },
    { NULL }
  };

  context = g_option_context_new ("- a fake Plex Media Server on 127.0.0.1");
  g_option_context_set_description (context,
                                    "Prints url=URL and token=TOKEN on two lines, then serves "
                                    "until SIGINT or SIGTERM.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }

  if (argc > 1)
    {
      g_printerr ("Unexpected argument: %s\n", argv[1]);
      return EXIT_FAILURE;
    }
  if (port < 0 || port > G_MAXUINT16)
    {
      g_printerr ("Invalid port: %d\n", port);
      return EXIT_FAILURE;
    }
  if (token != NULL && *token == '\0')
    {
      g_printerr ("The token must not be empty\n");
      return EXIT_FAILURE;
    }
  if (fault_name != NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (fault_names); i++)
        {
          if (g_str_equal (fault_name, fault_names[i].name))
            {
              fault = fault_names[i].fault;
              fault_found = TRUE;
            }
        }
      if (!fault_found)
        {
          g_printerr ("Unknown fault: %s\n", fault_name);
          return EXIT_FAILURE;
        }
    }
  if (certificate_path != NULL)
    {
      certificate = g_tls_certificate_new_from_file (certificate_path, &error);
      if (certificate == NULL)
        {
          g_printerr ("Cannot load %s: %s\n", certificate_path, error->message);
          return EXIT_FAILURE;
        }
    }

  plex = fake_plex_new ();
  if (token != NULL)
    fake_plex_set_token (plex, token);
  if (scan_duration >= 0)
    fake_plex_set_scan_duration (plex, (guint) scan_duration);
  fake_plex_set_fault (plex, fault);
  if (verbose)
    g_signal_connect (plex, "request-received", G_CALLBACK (log_request_cb), NULL);

  if (!fake_plex_start_on_port (plex, (guint16) port, certificate, &error))
    {
      g_printerr ("Cannot listen on 127.0.0.1:%d: %s\n", port, error->message);
      return EXIT_FAILURE;
    }

  /* Handlers first: whoever reads the URL may signal us at once. */
  loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, loop);

  printf ("url=%s\n", fake_plex_get_url (plex));
  printf ("token=%s\n", fake_plex_get_token (plex));
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  fake_plex_stop (plex);

  return EXIT_SUCCESS;
}
