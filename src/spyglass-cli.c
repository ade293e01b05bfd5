/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "spyglass-cli.h"
#include "spyglass-core.h"
#include "spyglass-settings.h"

#include <glib-unix.h>
#include <signal.h>

#define EXIT_PLEX_ERROR 1
#define EXIT_USAGE      2

#define MAX_TOKEN_INPUT 4096

/* Options every subcommand takes: they override the stored settings for
 * one run, for scripts and headless machines. */
typedef struct
{
  char   *server;      /* --server, else PLEX_URL */
  char   *token_file;  /* --token-file (the token itself never comes from argv) */
  char  **maps;        /* --map LOCAL=PLEX, repeatable */
  int     timeout;     /* --timeout SECONDS, -1 = from settings */
  gboolean verbose;
} GlobalOptions;

/* Everything a command needs to talk to Plex. */
typedef struct
{
  GSettings        *settings;     /* NULL when the schema is not installed */
  SpyglassClient   *client;
  SpyglassPathMap  *path_map;
  char             *default_section;
  guint             threshold;
  gboolean          have_token;
} Context;

static void
context_clear (Context *ctx)
{
  g_clear_object (&ctx->client);
  g_clear_object (&ctx->settings);
  g_clear_pointer (&ctx->path_map, spyglass_path_map_free);
  g_clear_pointer (&ctx->default_section, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Context, context_clear)

static void
global_options_clear (GlobalOptions *options)
{
  g_clear_pointer (&options->server, g_free);
  g_clear_pointer (&options->token_file, g_free);
  g_clear_pointer (&options->maps, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GlobalOptions, global_options_clear)

/* One line on stderr that a person can act on. */
G_GNUC_PRINTF (1, 2)
static void
print_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("spyglass: %s\n", message);
}

static int
usage_error (const char *command,
             const char *message)
{
  if (command != NULL)
    g_printerr (_("spyglass %s: %s (see “spyglass %s --help”)\n"), command, message, command);
  else
    g_printerr (_("spyglass: %s (see “spyglass --help”)\n"), message);
  return EXIT_USAGE;
}

/* What to do about an error, added to its message. */
static const char *
error_hint (const GError *error,
            Context      *ctx)
{
  if (error->domain != SPYGLASS_ERROR)
    return NULL;

  switch ((SpyglassError) error->code)
    {
    case SPYGLASS_ERROR_INVALID_TOKEN:
      if (ctx != NULL && !ctx->have_token)
        return _("this server needs a token: store one with “spyglass config --token-stdin”");
      return _("get a new token and store it with “spyglass config --token-stdin”");
    case SPYGLASS_ERROR_FORBIDDEN:
      return _("use the token of the account that owns the server");
    case SPYGLASS_ERROR_SECTION_NOT_FOUND:
      return _("“spyglass sections” lists the libraries");
    case SPYGLASS_ERROR_UNREACHABLE:
      return _("check the address and port, and that Plex is running");
    case SPYGLASS_ERROR_TIMEOUT:
      return _("the server did not answer in time; try again or raise --timeout");
    case SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED:
      return _("if this is your server, trust it with “spyglass config --pin-certificate FINGERPRINT”");
    case SPYGLASS_ERROR_CERTIFICATE_CHANGED:
      return _("if you replaced the certificate yourself, pin the new one with “spyglass config --pin-certificate FINGERPRINT”");
    case SPYGLASS_ERROR_BAD_RESPONSE:
    case SPYGLASS_ERROR_RESPONSE_TOO_LARGE:
      return _("is this address a Plex Media Server?");
    case SPYGLASS_ERROR_HTTP_STATUS:
    case SPYGLASS_ERROR_INVALID_ADDRESS:
    case SPYGLASS_ERROR_INVALID_MAPPING:
    case SPYGLASS_ERROR_NOT_IN_LIBRARY:
    case SPYGLASS_ERROR_NOT_CONFIGURED:
    case SPYGLASS_ERROR_TOKEN_STORE:
    case SPYGLASS_ERROR_QUEUE_LOCKED:
    case SPYGLASS_ERROR_QUEUE_FILE:
    default:
      return NULL;
    }
}

/* The one line for @error: its message, where it happened, what to do. */
static char *
format_plex_error (const GError *error,
                   Context      *ctx)
{
  const char *hint = error_hint (error, ctx);
  const char *server = ctx != NULL && ctx->client != NULL
                       ? spyglass_client_get_base_url (ctx->client) : NULL;

  if (g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE) && server != NULL)
    return g_strdup_printf (_("%s at %s — %s"), error->message, server, hint);
  else if (hint != NULL)
    return g_strdup_printf ("%s — %s", error->message, hint);
  else
    return g_strdup (error->message);
}

static int
plex_error (const GError *error,
            Context      *ctx)
{
  g_autofree char *line = format_plex_error (error, ctx);

  print_error ("%s", line);
  return EXIT_PLEX_ERROR;
}

/* The same with a note after it, still one line. */
G_GNUC_PRINTF (3, 4)
static void
plex_error_with_note (const GError *error,
                      Context      *ctx,
                      const char   *note_format,
                      ...)
{
  g_autofree char *line = format_plex_error (error, ctx);
  g_autofree char *note = NULL;
  va_list args;

  va_start (args, note_format);
  note = g_strdup_vprintf (note_format, args);
  va_end (args);

  print_error ("%s; %s", line, note);
}

/* The command line is a short-lived process with nothing else to do, so
 * it simply iterates the main context until the operation is done. */
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

static GOptionEntry *
global_option_entries (GlobalOptions *options)
{
  const GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_STRING, &options->server,
      N_("Plex server address (default: the stored one, or $PLEX_URL)"), N_("URL") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &options->token_file,
      N_("Read the Plex token from FILE (default: the keyring, or $PLEX_TOKEN)"), N_("FILE") },
    { "map", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options->maps,
      N_("Map a local folder to the folder Plex sees (repeatable)"), N_("LOCAL=PLEX") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &options->timeout,
      N_("Seconds to wait for each answer from Plex"), N_("SECONDS") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
      N_("Print what is sent (never the token)"), NULL },
    G_OPTION_ENTRY_NULL
  };

  return g_memdup2 (entries, sizeof entries);
}

/* Parses one subcommand's options.  Returns FALSE after printing a usage
 * error. */
static gboolean
parse_options (const char         *command,
               const char         *parameters,
               const char         *summary,
               const GOptionEntry *entries,
               GlobalOptions      *global,
               int                *argc,
               char             ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree GOptionEntry *global_entries = global_option_entries (global);
  g_autofree char *title = g_strdup (parameters);
  GOptionGroup *group;

  context = g_option_context_new (title);
  g_option_context_set_summary (context, summary);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  group = g_option_group_new ("connection", _("Connection Options:"),
                              _("Show connection options"), NULL, NULL);
  g_option_group_add_entries (group, global_entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  g_option_context_add_group (context, group);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      usage_error (command, error->message);
      return FALSE;
    }

  if (global->timeout != G_MININT && (global->timeout < 1 || global->timeout > 600))
    {
      usage_error (command, _("the timeout is 1 to 600 seconds"));
      return FALSE;
    }

  if (global->verbose)
    g_log_set_debug_enabled (TRUE);

  return TRUE;
}

/* Settings, environment and options, in that order of precedence (the
 * last wins), into a client ready to talk to Plex. */
static gboolean
context_init (Context        *ctx,
              GlobalOptions  *options,
              const char     *command,
              int            *exit_status)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *base_url = NULL;
  g_autofree char *token = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *pinned = NULL;
  guint timeout = SPYGLASS_DEFAULT_TIMEOUT;
  gboolean address_from_argv = FALSE;

  ctx->settings = spyglass_settings_open ();
  ctx->path_map = spyglass_path_map_new ();
  ctx->threshold = 10;

  if (ctx->settings != NULL)
    {
      address = g_settings_get_string (ctx->settings, "server-url");
      ctx->default_section = g_settings_get_string (ctx->settings, "default-section");
      ctx->threshold = g_settings_get_uint (ctx->settings, "full-scan-threshold");
      timeout = g_settings_get_uint (ctx->settings, "request-timeout");
      pinned = g_settings_get_string (ctx->settings, "pinned-certificate");
    }

  if (options->server != NULL)
    {
      g_free (address);
      address = g_strdup (options->server);
      address_from_argv = TRUE;
    }
  else if (g_getenv ("PLEX_URL") != NULL)
    {
      g_free (address);
      address = g_strdup (g_getenv ("PLEX_URL"));
    }

  if (address == NULL || address[0] == '\0')
    {
      print_error (_("No Plex server is set up — run “spyglass config --server ADDRESS” "
                     "or set PLEX_URL"));
      *exit_status = EXIT_PLEX_ERROR;
      return FALSE;
    }

  base_url = spyglass_address_normalize (address, &error);
  if (base_url == NULL)
    {
      if (address_from_argv)
        *exit_status = usage_error (command, error->message);
      else
        *exit_status = plex_error (error, NULL);
      return FALSE;
    }

  /* Mappings from the command line replace the stored ones. */
  if (options->maps != NULL)
    {
      for (guint i = 0; options->maps[i] != NULL; i++)
        if (!spyglass_path_map_add_rule_string (ctx->path_map, options->maps[i], &error))
          {
            *exit_status = usage_error (command, error->message);
            return FALSE;
          }
    }
  else if (ctx->settings != NULL)
    {
      g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func (g_free);

      spyglass_path_map_free (ctx->path_map);
      ctx->path_map = spyglass_settings_get_path_map (ctx->settings, ignored);
      for (guint i = 0; i < ignored->len; i++)
        print_error (_("Ignoring a stored path mapping: %s"), (const char *) ignored->pdata[i]);
    }

  if (options->token_file != NULL)
    {
      token = spyglass_token_read_file (options->token_file, &error);
      if (token == NULL)
        {
          *exit_status = plex_error (error, NULL);
          return FALSE;
        }
    }
  else if (g_getenv ("PLEX_TOKEN") != NULL && g_getenv ("PLEX_TOKEN")[0] != '\0')
    {
      /* Environment files written on Windows end lines with \r. */
      token = g_strstrip (g_strdup (g_getenv ("PLEX_TOKEN")));
    }
  else
    {
      token = spyglass_token_store_load (NULL, NULL, &error);
      if (error != NULL)
        {
          *exit_status = plex_error (error, NULL);
          return FALSE;
        }
    }
  if (token != NULL && token[0] == '\0')
    g_clear_pointer (&token, g_free);

  for (const char *p = token; p != NULL && *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        memset (token, 0, strlen (token));
        print_error (_("The Plex token contains characters no token has — check PLEX_TOKEN "
                       "or the token file"));
        *exit_status = EXIT_PLEX_ERROR;
        return FALSE;
      }
  ctx->have_token = token != NULL;

  if (options->timeout != G_MININT)
    timeout = options->timeout;

  client_id = spyglass_settings_get_client_id (ctx->settings);

  ctx->client = spyglass_client_new (base_url, token);
  spyglass_client_set_client_id (ctx->client, client_id);
  spyglass_client_set_timeout (ctx->client, timeout);
  if (pinned != NULL && pinned[0] != '\0')
    spyglass_client_set_pinned_certificate (ctx->client, pinned);

  if (token != NULL)
    memset (token, 0, strlen (token));

  return TRUE;
}

static GPtrArray *
list_sections (Context  *ctx,
               GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  spyglass_client_list_sections_async (ctx->client, NULL, store_result, &result);
  return spyglass_client_list_sections_finish (ctx->client, wait_for (&result), error);
}

/* "Music (section 3)" */
static char *
section_label (SpyglassSection *section)
{
  return g_strdup_printf (_("%s (section %s)"), section->title != NULL ? section->title : "",
                          section->key);
}

/* spyglass test */
static int
command_test (int    argc,
              char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  int status = 0;

  if (!parse_options ("test", "", _("Check that Spyglass can talk to the Plex server."),
                      NULL, &options, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error ("test", _("unexpected argument"));
  if (!context_init (&ctx, &options, "test", &status))
    return status;

  spyglass_client_get_server_info_async (ctx.client, NULL, store_result, &result);
  info = spyglass_client_get_server_info_finish (ctx.client, wait_for (&result), &error);
  if (info == NULL)
    return plex_error (error, &ctx);

  version = spyglass_server_info_dup_short_version (info);
  if (version == NULL)
    version = g_strdup (_("unknown version"));

  if (info->friendly_name != NULL && info->friendly_name[0] != '\0')
    g_print (_("Connected to %s (Plex Media Server %s)\n"), info->friendly_name, version);
  else
    g_print (_("Connected (Plex Media Server %s)\n"), version);

  return EXIT_SUCCESS;
}

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

/* spyglass sections */
static int
command_sections (int    argc,
                  char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE;
  int status = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!parse_options ("sections", "", _("List the server’s libraries and their folders."),
                      entries, &options, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error ("sections", _("unexpected argument"));
  if (!context_init (&ctx, &options, "sections", &status))
    return status;

  sections = list_sections (&ctx, &error);
  if (sections == NULL)
    return plex_error (error, &ctx);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_array (builder);
      for (guint i = 0; i < sections->len; i++)
        {
          SpyglassSection *section = g_ptr_array_index (sections, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, section->key);
          json_builder_set_member_name (builder, "type");
          json_builder_add_string_value (builder, section->type);
          json_builder_set_member_name (builder, "title");
          json_builder_add_string_value (builder, section->title);
          json_builder_set_member_name (builder, "refreshing");
          json_builder_add_boolean_value (builder, section->refreshing);
          json_builder_set_member_name (builder, "folders");
          json_builder_begin_array (builder);
          for (guint j = 0; section->locations[j] != NULL; j++)
            json_builder_add_string_value (builder, section->locations[j]);
          json_builder_end_array (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      print_json (builder);
      return EXIT_SUCCESS;
    }

  if (sections->len == 0)
    {
      g_print (_("The server has no libraries.\n"));
      return EXIT_SUCCESS;
    }

  for (guint i = 0; i < sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, i);

      g_print ("%-4s %-8s %s\n", section->key, section->type != NULL ? section->type : "",
               section->title != NULL ? section->title : "");
      for (guint j = 0; section->locations[j] != NULL; j++)
        g_print ("              %s\n", section->locations[j]);
    }

  return EXIT_SUCCESS;
}

/* A folder to scan, from what the user typed: absolute, a file becomes
 * its folder. */
static char *
local_folder_for_argument (const char *argument)
{
  g_autofree char *absolute = g_canonicalize_filename (argument, NULL);

  if (!g_file_test (absolute, G_FILE_TEST_IS_DIR) &&
      g_file_test (absolute, G_FILE_TEST_EXISTS))
    return g_path_get_dirname (absolute);

  /* A folder, or something that is gone: Plex scans what is there now. */
  return g_steal_pointer (&absolute);
}

/* "Scanning “/data/music/Air” in Music (section 3)", for what Plex
 * accepted. */
static void
print_sent (SpyglassRequest *request)
{
  const char *title = spyglass_request_get_section_title (request);
  const char *path = spyglass_request_get_target_path (request);
  gboolean force = spyglass_request_get_force (request);
  g_autofree char *label = g_strdup_printf (_("%s (section %s)"), title != NULL ? title : "",
                                            spyglass_request_get_section_key (request));

  if (path == NULL)
    {
      if (force)
        g_print (_("Refreshing all metadata of %s\n"), label);
      else
        g_print (_("Scanning all of %s\n"), label);
    }
  else
    {
      g_autofree char *display = g_filename_display_name (path);

      if (force)
        g_print (_("Refreshing metadata of “%s” in %s\n"), display, label);
      else
        g_print (_("Scanning “%s” in %s\n"), display, label);
    }
}

/* One `spyglass scan`: what it added to the queue and how far it got. */
typedef struct
{
  Context   *ctx;
  GPtrArray *mine;     /* SpyglassRequest this run added */
  GError    *stopped;  /* the failure that ends the run, or NULL */
  gboolean   wait;     /* until Plex has scanned, not only accepted */
} ScanRun;

static void
on_batch_sent (SpyglassQueue *queue,
               GPtrArray     *batch,
               ScanRun       *run)
{
  print_sent (g_ptr_array_index (batch, 0));
}

static void
on_batch_failed (SpyglassQueue *queue,
                 GPtrArray     *batch,
                 const GError  *error,
                 ScanRun       *run)
{
  /* The queue keeps trying in the background of a running Spyglass; a
   * command stops at the first failure and leaves the rest queued. */
  if (run->stopped == NULL)
    run->stopped = g_error_copy (error);
}

static void
on_request_finished (SpyglassQueue   *queue,
                     SpyglassRequest *request,
                     ScanRun         *run)
{
  g_autoptr(GError) error = NULL;

  if (spyglass_request_get_state (request) != SPYGLASS_REQUEST_FAILED ||
      !g_ptr_array_find (run->mine, request, NULL))
    return;

  error = g_error_new_literal (SPYGLASS_ERROR, spyglass_request_get_error_code (request),
                               spyglass_request_get_message (request));
  plex_error (error, run->ctx);
}

static gboolean
scan_run_done (ScanRun       *run,
               SpyglassQueue *queue)
{
  if (run->stopped != NULL)
    return TRUE;

  /* Nothing may be on its way when the process ends: it would be sent
   * again by the next run. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (queue)); i++)
    {
      g_autoptr(SpyglassRequest) request = g_list_model_get_item (G_LIST_MODEL (queue), i);

      if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SENDING)
        return FALSE;
    }

  for (guint i = 0; i < run->mine->len; i++)
    {
      SpyglassRequestState state = spyglass_request_get_state (g_ptr_array_index (run->mine, i));

      if (state == SPYGLASS_REQUEST_QUEUED || state == SPYGLASS_REQUEST_SENDING ||
          (run->wait && state == SPYGLASS_REQUEST_SCANNING))
        return FALSE;
    }

  return TRUE;
}

static char *
queue_state_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "spyglass", NULL);
}

/* Takes the queue, waiting a little for another command that holds it. */
static gboolean
load_queue (SpyglassQueue  *queue,
            GError        **error)
{
  g_autofree char *recovered = NULL;

  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (spyglass_queue_load (queue, &recovered, &local_error))
        break;

      if (!g_error_matches (local_error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED) ||
          attempt == 100)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_usleep (100 * 1000);
    }

  if (recovered != NULL)
    print_error (_("The scan queue could not be read; it was kept as %s and a new one started"),
                 recovered);
  return TRUE;
}

/* The running Spyglass (the window or `spyglass service`), if any: its
 * connection, or NULL.  Never starts a bus. */
static GDBusConnection *
running_instance (void)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  if (!spyglass_session_bus_available ())
    return NULL;

  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (connection == NULL)
    return NULL;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", SPYGLASS_BUS_NAME),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                       2000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);

  return owned ? g_steal_pointer (&connection) : NULL;
}

typedef struct
{
  GHashTable *pending;  /* ids not finished yet */
  guint       failed;
} JoinWait;

static void
on_request_changed (GDBusConnection *connection,
                    const char      *sender,
                    const char      *object_path,
                    const char      *interface_name,
                    const char      *signal_name,
                    GVariant        *parameters,
                    gpointer         user_data)
{
  JoinWait *wait = user_data;
  const char *id, *state, *message;

  g_variant_get (parameters, "(&s&s&s)", &id, &state, &message);
  if (!g_hash_table_contains (wait->pending, id))
    return;

  if (g_str_equal (state, "failed"))
    {
      print_error ("%s", message);
      wait->failed++;
    }
  if (g_str_equal (state, "done") || g_str_equal (state, "failed"))
    g_hash_table_remove (wait->pending, id);
}

/* Hands the requests to the running instance's queue; with @wait, follows
 * them to their end.  @ctx is only needed with @all (NULL otherwise). */
static int
join_running_queue (GDBusConnection  *connection,
                    Context          *ctx,
                    char            **paths,
                    const char       *section_key,
                    gboolean          all,
                    gboolean          force,
                    gboolean          wait)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  JoinWait join = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0 };
  guint subscription;

  /* Subscribe first: a fast server could finish before the reply. */
  subscription = g_dbus_connection_signal_subscribe (connection, SPYGLASS_BUS_NAME,
                                                     SPYGLASS_QUEUE_INTERFACE, "RequestChanged",
                                                     SPYGLASS_QUEUE_OBJECT_PATH, NULL,
                                                     G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_request_changed, &join, NULL);

  if (all)
    {
      const char *key = section_key != NULL ? section_key : ctx->default_section;
      g_autoptr(GPtrArray) sections = NULL;

      if (key == NULL || key[0] == '\0')
        {
          sections = list_sections (ctx, &error);
          if (sections == NULL)
            {
              g_dbus_connection_signal_unsubscribe (connection, subscription);
              g_hash_table_unref (join.pending);
              return plex_error (error, ctx);
            }
        }

      for (guint i = 0; sections == NULL ? i < 1 : i < sections->len; i++)
        {
          const char *library = sections != NULL ? ((SpyglassSection *) sections->pdata[i])->key : key;
          const char *id;

          g_clear_pointer (&reply, g_variant_unref);
          reply = g_dbus_connection_call_sync (connection, SPYGLASS_BUS_NAME, SPYGLASS_QUEUE_OBJECT_PATH,
                                               SPYGLASS_QUEUE_INTERFACE, "AddLibrary",
                                               g_variant_new ("(sb)", library, force),
                                               G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
                                               10000, NULL, &error);
          if (reply == NULL)
            break;
          g_variant_get (reply, "(&s)", &id);
          g_ptr_array_add (ids, g_strdup (id));
        }
    }
  else
    {
      GVariantBuilder builder;
      g_autoptr(GVariantIter) iter = NULL;
      const char *id;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("aay"));
      for (guint i = 0; paths[i] != NULL; i++)
        {
          g_autofree char *local = local_folder_for_argument (paths[i]);
          g_variant_builder_add (&builder, "^ay", local);
        }
      reply = g_dbus_connection_call_sync (connection, SPYGLASS_BUS_NAME, SPYGLASS_QUEUE_OBJECT_PATH,
                                           SPYGLASS_QUEUE_INTERFACE, "AddFolders",
                                           g_variant_new ("(@aaysb)", g_variant_builder_end (&builder),
                                                          section_key != NULL ? section_key : "", force),
                                           G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                                           10000, NULL, &error);
      if (reply != NULL)
        {
          g_variant_get (reply, "(as)", &iter);
          while (g_variant_iter_next (iter, "&s", &id))
            g_ptr_array_add (ids, g_strdup (id));
        }
    }

  if (error != NULL)
    {
      g_dbus_connection_signal_unsubscribe (connection, subscription);
      g_hash_table_unref (join.pending);
      g_dbus_error_strip_remote_error (error);
      print_error (_("The running Spyglass did not take the requests: %s"), error->message);
      return EXIT_PLEX_ERROR;
    }

  g_print (g_dngettext (GETTEXT_PACKAGE,
                        "Queued %u request in the running Spyglass\n",
                        "Queued %u requests in the running Spyglass\n", ids->len),
           ids->len);

  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (join.pending, g_strdup (ids->pdata[i]));

  while (wait && g_hash_table_size (join.pending) > 0)
    g_main_context_iteration (NULL, TRUE);

  g_dbus_connection_signal_unsubscribe (connection, subscription);
  g_hash_table_unref (join.pending);
  return join.failed > 0 ? EXIT_PLEX_ERROR : EXIT_SUCCESS;
}

/* spyglass scan */
static int
command_scan (int    argc,
              char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autoptr(SpyglassScanMonitor) monitor = NULL;
  g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *section_key = NULL;
  g_autofree char *state_dir = NULL;
  g_auto(GStrv) paths = NULL;
  gboolean all = FALSE;
  gboolean force = FALSE;
  gboolean wait = FALSE;
  ScanRun run = { 0 };
  guint failed = 0;
  int status = 0;
  const GOptionEntry entries[] = {
    { "section", 's', 0, G_OPTION_ARG_STRING, &section_key,
      N_("Only this library (its id, see “spyglass sections”)"), N_("ID") },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all,
      N_("Scan the whole library (the default one, or every library)"), NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      N_("Force a refresh of metadata, even if nothing changed"), NULL },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
      N_("Wait until Plex has finished scanning"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!parse_options ("scan", _("[PATH…]"),
                      _("Ask Plex to scan these folders (a file means its folder), "
                        "or with --all, whole libraries. Requests go through the scan "
                        "queue: what cannot be sent now is sent by the next run."),
                      entries, &options, &argc, &argv))
    return EXIT_USAGE;
  if (all && paths != NULL)
    return usage_error ("scan", _("give folders or --all, not both"));
  if (!all && paths == NULL)
    return usage_error ("scan", _("no folder to scan"));
  /* A running Spyglass owns the queue: folders go to it as they are (it
   * routes them with its own settings); nothing here needs a server. */
  if (!all)
    {
      g_autoptr(GDBusConnection) connection = running_instance ();

      if (connection != NULL)
        return join_running_queue (connection, NULL, paths, section_key, FALSE, force, wait);
    }

  if (!context_init (&ctx, &options, "scan", &status))
    return status;

  /* A whole-library scan needs the libraries: join with them. */
  {
    g_autoptr(GDBusConnection) connection = running_instance ();

    if (connection != NULL)
      return join_running_queue (connection, &ctx, paths, section_key, all, force, wait);
  }

  state_dir = queue_state_dir ();
  queue = spyglass_queue_new (ctx.client, state_dir);
  spyglass_queue_set_batch_window (queue, 0);
  spyglass_queue_set_threshold (queue, ctx.threshold);
  spyglass_queue_set_default_section (queue, ctx.default_section);
  spyglass_queue_set_path_map (queue, g_steal_pointer (&ctx.path_map));
  if (ctx.settings != NULL)
    spyglass_queue_set_refresh_after_scan (queue, g_settings_get_boolean (ctx.settings,
                                                                         "refresh-metadata"));
  if (wait)
    {
      monitor = spyglass_scan_monitor_new (ctx.client);
      spyglass_scan_monitor_start (monitor);
      spyglass_queue_set_scan_monitor (queue, monitor);
    }

  if (!load_queue (queue, &error))
    return plex_error (error, &ctx);

  if (all)
    {
      const char *key = section_key != NULL ? section_key : ctx.default_section;

      if (key != NULL && key[0] != '\0')
        g_ptr_array_add (mine, g_object_ref (spyglass_queue_add_library (queue, key, force)));
      else
        {
          g_autoptr(GPtrArray) sections = list_sections (&ctx, &error);

          if (sections == NULL)
            return plex_error (error, &ctx);
          for (guint i = 0; i < sections->len; i++)
            {
              SpyglassSection *section = g_ptr_array_index (sections, i);
              g_ptr_array_add (mine, g_object_ref (spyglass_queue_add_library (queue, section->key,
                                                                              force)));
            }
        }
    }
  else
    {
      for (guint i = 0; paths[i] != NULL; i++)
        {
          g_autofree char *local = local_folder_for_argument (paths[i]);

          g_ptr_array_add (mine, g_object_ref (spyglass_queue_add_folder (queue, local, section_key,
                                                                         force)));
        }
    }

  run.ctx = &ctx;
  run.mine = mine;
  run.wait = wait;
  g_signal_connect (queue, "batch-sent", G_CALLBACK (on_batch_sent), &run);
  g_signal_connect (queue, "batch-failed", G_CALLBACK (on_batch_failed), &run);
  g_signal_connect (queue, "request-finished", G_CALLBACK (on_request_finished), &run);

  spyglass_queue_start (queue);
  while (!scan_run_done (&run, queue))
    g_main_context_iteration (NULL, TRUE);

  g_signal_handlers_disconnect_by_data (queue, &run);

  for (guint i = 0; i < mine->len; i++)
    if (spyglass_request_get_state (g_ptr_array_index (mine, i)) == SPYGLASS_REQUEST_FAILED)
      failed++;

  if (run.stopped != NULL)
    {
      guint waiting = 0;

      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (queue)); i++)
        {
          g_autoptr(SpyglassRequest) request = g_list_model_get_item (G_LIST_MODEL (queue), i);

          if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_QUEUED)
            waiting++;
        }

      plex_error_with_note (run.stopped, &ctx,
                            g_dngettext (GETTEXT_PACKAGE,
                                         "%u request stays queued for the next run",
                                         "%u requests stay queued for the next run",
                                         waiting),
                            waiting);
      g_clear_error (&run.stopped);
      return EXIT_PLEX_ERROR;
    }

  return failed > 0 ? EXIT_PLEX_ERROR : EXIT_SUCCESS;
}

static SpyglassActivity *
find_scan_activity (GPtrArray  *activities,
                    const char *section_key)
{
  for (guint i = 0; i < activities->len; i++)
    {
      SpyglassActivity *activity = g_ptr_array_index (activities, i);

      if (g_strcmp0 (activity->section_key, section_key) == 0 &&
          g_strcmp0 (activity->type, "library.update.section") == 0)
        return activity;
    }

  return NULL;
}

/* "Air (Music)": what a request is about, for one line. */
static char *
describe_request (SpyglassRequest *request)
{
  const char *local = spyglass_request_get_local_path (request);
  const char *title = spyglass_request_get_section_title (request);
  const char *key = spyglass_request_get_section_key (request);
  g_autofree char *what = NULL;

  if (local != NULL)
    what = g_filename_display_name (local);
  else
    what = g_strdup_printf (_("all of %s"), title != NULL ? title : key);

  if (spyglass_request_get_force (request))
    return g_strdup_printf (_("%s (metadata refresh)"), what);
  return g_steal_pointer (&what);
}

/* The scan queue as the queue file has it. */
static void
print_queue (void)
{
  g_autofree char *state_dir = queue_state_dir ();
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) error = NULL;

  requests = spyglass_queue_read_requests (state_dir, &error);
  if (requests == NULL)
    {
      g_print (_("Queue: cannot be read (%s)\n"), error->message);
      return;
    }

  if (requests->len == 0)
    {
      g_print (_("Queue: empty\n"));
      return;
    }

  g_print (g_dngettext (GETTEXT_PACKAGE, "Queue: %u request\n", "Queue: %u requests\n",
                        requests->len), requests->len);
  for (guint i = 0; i < requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (requests, i);
      g_autofree char *what = describe_request (request);
      const char *message = spyglass_request_get_message (request);

      if (message != NULL)
        g_print ("  %-8s %s — %s\n",
                 spyglass_request_state_to_string (spyglass_request_get_state (request)),
                 what, message);
      else
        g_print ("  %-8s %s\n",
                 spyglass_request_state_to_string (spyglass_request_get_state (request)), what);
    }
}

/* The scan queue for `status --json`: the requests waiting, being sent
 * or being scanned, oldest first, as the queue's files have them (another
 * process may own the queue).  A scanning request's progress is its
 * library's, as Plex reports it in @activities: the queue does not write
 * progress down. */
static void
add_queue_json (JsonBuilder *builder,
                GPtrArray   *activities)
{
  g_autofree char *state_dir = queue_state_dir ();
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) error = NULL;

  requests = spyglass_queue_read_requests (state_dir, &error);
  json_builder_set_member_name (builder, "queue");
  if (requests == NULL)
    {
      json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "queue-error");
      json_builder_add_string_value (builder, error->message);
      return;
    }

  json_builder_begin_array (builder);
  for (guint i = 0; i < requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (requests, i);
      SpyglassRequestState state = spyglass_request_get_state (request);
      const char *local = spyglass_request_get_local_path (request);
      const char *key = spyglass_request_get_section_key (request);
      const char *title = spyglass_request_get_section_title (request);
      const char *message = spyglass_request_get_message (request);
      SpyglassActivity *activity = NULL;

      if (state != SPYGLASS_REQUEST_QUEUED && state != SPYGLASS_REQUEST_SENDING &&
          state != SPYGLASS_REQUEST_SCANNING)
        continue;
      if (state == SPYGLASS_REQUEST_SCANNING && key != NULL)
        activity = find_scan_activity (activities, key);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, spyglass_request_get_id (request));
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, spyglass_request_state_to_string (state));

      /* JSON holds text: a path that is not UTF-8 is shown as well as it
       * can be, and given exactly in base64. */
      json_builder_set_member_name (builder, "path");
      if (local == NULL)
        json_builder_add_null_value (builder);
      else if (g_utf8_validate (local, -1, NULL))
        json_builder_add_string_value (builder, local);
      else
        {
          g_autofree char *display = g_filename_display_name (local);
          g_autofree char *encoded = g_base64_encode ((const guchar *) local, strlen (local));

          json_builder_add_string_value (builder, display);
          json_builder_set_member_name (builder, "path-base64");
          json_builder_add_string_value (builder, encoded);
        }

      json_builder_set_member_name (builder, "force");
      json_builder_add_boolean_value (builder, spyglass_request_get_force (request));

      /* Known once the request is routed (or when it names its library). */
      json_builder_set_member_name (builder, "library");
      if (key == NULL)
        json_builder_add_null_value (builder);
      else
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, key);
          json_builder_set_member_name (builder, "title");
          if (title != NULL)
            json_builder_add_string_value (builder, title);
          else
            json_builder_add_null_value (builder);
          json_builder_end_object (builder);
        }

      json_builder_set_member_name (builder, "progress");
      if (activity != NULL && activity->progress >= 0)
        json_builder_add_int_value (builder, activity->progress);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "attempts");
      json_builder_add_int_value (builder, spyglass_request_get_attempts (request));
      json_builder_set_member_name (builder, "message");
      if (message != NULL)
        json_builder_add_string_value (builder, message);
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* spyglass history */
static int
command_history (int    argc,
                 char **argv)
{
  g_autoptr(SpyglassClient) client = spyglass_client_new (NULL, NULL);
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autofree char *state_dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new ("");
  GPtrArray *history;
  int limit = 20;
  const GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show the last N results (default 20)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_set_summary (context, _("Show the last results of the scan queue."));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error ("history", error->message);
  if (argc > 1)
    return usage_error ("history", _("unexpected argument"));
  if (limit < 1 || limit > SPYGLASS_QUEUE_HISTORY_SIZE)
    return usage_error ("history", _("the limit is 1 to 200"));

  /* Reading the history takes no lock and talks to no server. */
  state_dir = queue_state_dir ();
  queue = spyglass_queue_new (client, state_dir);
  history = spyglass_queue_get_history (queue);

  if (history->len == 0)
    {
      g_print (_("No scans yet\n"));
      return EXIT_SUCCESS;
    }

  for (guint i = history->len > (guint) limit ? history->len - limit : 0; i < history->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (history, i);
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (spyglass_request_get_created (request) / G_USEC_PER_SEC);
      g_autofree char *stamp = g_date_time_format (when, "%Y-%m-%d %H:%M:%S");
      g_autofree char *what = describe_request (request);
      const char *title = spyglass_request_get_section_title (request);
      const char *message = spyglass_request_get_message (request);
      gint64 sent = spyglass_request_get_sent (request);
      gint64 finished = spyglass_request_get_finished (request);
      SpyglassRequestState state = spyglass_request_get_state (request);

      if (state == SPYGLASS_REQUEST_DONE && sent > 0 && finished >= sent)
        g_print (_("%s  done    %s in %s, %.1f s\n"), stamp, what, title != NULL ? title : "?",
                 (finished - sent) / (double) G_USEC_PER_SEC);
      else if (state == SPYGLASS_REQUEST_DONE)
        g_print (_("%s  done    %s in %s\n"), stamp, what, title != NULL ? title : "?");
      else
        g_print (_("%s  failed  %s — %s\n"), stamp, what, message != NULL ? message : "");
    }

  return EXIT_SUCCESS;
}

/* spyglass status */
static int
command_status (int    argc,
                char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GPtrArray) activities = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  gboolean json = FALSE;
  int status = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!parse_options ("status", "", _("Show which libraries Plex is scanning."),
                      entries, &options, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error ("status", _("unexpected argument"));
  if (!context_init (&ctx, &options, "status", &status))
    return status;

  sections = list_sections (&ctx, &error);
  if (sections == NULL)
    return plex_error (error, &ctx);

  spyglass_client_list_activities_async (ctx.client, NULL, store_result, &result);
  activities = spyglass_client_list_activities_finish (ctx.client, wait_for (&result), &error);
  if (activities == NULL)
    return plex_error (error, &ctx);

  /* {"libraries": [...], "queue": [...]} */
  if (json)
    {
      builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "libraries");
      json_builder_begin_array (builder);
    }

  for (guint i = 0; i < sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, i);
      SpyglassActivity *activity = find_scan_activity (activities, section->key);
      gboolean scanning = section->refreshing || activity != NULL;
      int progress = activity != NULL ? activity->progress : -1;
      g_autofree char *label = section_label (section);

      if (json)
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, section->key);
          json_builder_set_member_name (builder, "title");
          json_builder_add_string_value (builder, section->title);
          json_builder_set_member_name (builder, "state");
          json_builder_add_string_value (builder, scanning ? "scanning" : "idle");
          json_builder_set_member_name (builder, "progress");
          if (progress >= 0)
            json_builder_add_int_value (builder, progress);
          else
            json_builder_add_null_value (builder);
          json_builder_set_member_name (builder, "activity");
          if (activity != NULL && activity->title != NULL)
            json_builder_add_string_value (builder, activity->title);
          else
            json_builder_add_null_value (builder);
          json_builder_end_object (builder);
        }
      else if (!scanning)
        g_print (_("%s: idle\n"), label);
      else if (progress >= 0)
        g_print (_("%s: scanning, %d%%\n"), label, progress);
      else
        g_print (_("%s: scanning\n"), label);
    }

  if (json)
    {
      json_builder_end_array (builder);
      add_queue_json (builder, activities);
      json_builder_end_object (builder);
      print_json (builder);
    }
  else
    print_queue ();

  return EXIT_SUCCESS;
}

/* spyglass cancel */
static int
command_cancel (int    argc,
                char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *section_key = NULL;
  int status = 0;
  const GOptionEntry entries[] = {
    { "section", 's', 0, G_OPTION_ARG_STRING, &section_key,
      N_("Only this library (default: every library)"), N_("ID") },
    G_OPTION_ENTRY_NULL
  };

  if (!parse_options ("cancel", "", _("Ask Plex to stop scanning."),
                      entries, &options, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error ("cancel", _("unexpected argument"));
  if (!context_init (&ctx, &options, "cancel", &status))
    return status;

  spyglass_client_cancel_scan_async (ctx.client, section_key, NULL, store_result, &result);
  if (!spyglass_client_cancel_scan_finish (ctx.client, wait_for (&result), &error))
    return plex_error (error, &ctx);

  if (section_key != NULL)
    g_print (_("Stopped scanning section %s\n"), section_key);
  else
    g_print (_("Stopped scanning every library\n"));

  return EXIT_SUCCESS;
}

/* Reads the token from standard input: typed at a prompt without echo on
 * a terminal, else the first line of what is piped in. */
static char *
read_token_from_stdin (GError **error)
{
  gboolean terminal = isatty (STDIN_FILENO);
  struct termios saved, quiet;
  char buffer[MAX_TOKEN_INPUT];
  char *line;
  char *token;

  if (terminal)
    {
      g_printerr (_("Plex token: "));
      if (tcgetattr (STDIN_FILENO, &saved) == 0)
        {
          quiet = saved;
          quiet.c_lflag &= ~ECHO;
          tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
        }
      else
        terminal = FALSE;
    }

  line = fgets (buffer, sizeof buffer, stdin);

  if (terminal)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      g_printerr ("\n");
    }

  if (line == NULL)
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED,
                           _("No token on standard input"));
      return NULL;
    }

  buffer[strcspn (buffer, "\r\n")] = '\0';
  token = g_strdup (g_strstrip (buffer));
  memset (buffer, 0, sizeof buffer);

  if (token[0] == '\0')
    {
      g_free (token);
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_NOT_CONFIGURED,
                           _("No token on standard input"));
      return NULL;
    }

  return token;
}

static void
print_settings (GSettings *settings)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) rules = NULL;
  g_autofree char *server = g_settings_get_string (settings, "server-url");
  g_autofree char *section = g_settings_get_string (settings, "default-section");
  g_autofree char *pinned = g_settings_get_string (settings, "pinned-certificate");
  g_autofree char *keyfile = spyglass_settings_get_keyfile_path ();
  g_autofree char *token = NULL;
  SpyglassTokenLocation location = SPYGLASS_TOKEN_LOCATION_NONE;
  GVariantIter iter;
  const char *local, *plex;

  g_print (_("Server: %s\n"), server[0] != '\0' ? server : _("not set"));

  token = spyglass_token_store_load (&location, NULL, &error);
  if (token != NULL)
    memset (token, 0, strlen (token));
  switch (location)
    {
    case SPYGLASS_TOKEN_LOCATION_KEYRING:
      g_print (_("Token: stored in the keyring\n"));
      break;

    case SPYGLASS_TOKEN_LOCATION_FILE:
      {
        g_autofree char *path = spyglass_token_store_get_fallback_path ();
        g_print (_("Token: stored in %s (no keyring available)\n"), path);
      }
      break;

    case SPYGLASS_TOKEN_LOCATION_NONE:
    default:
      if (error != NULL)
        g_print (_("Token: %s\n"), error->message);
      else
        g_print (_("Token: not set\n"));
      break;
    }

  g_print (_("Default library: %s\n"), section[0] != '\0' ? section : _("every library"));

  rules = g_settings_get_value (settings, "path-mappings");
  if (g_variant_n_children (rules) == 0)
    g_print (_("Path mappings: none\n"));
  else
    g_print (_("Path mappings:\n"));
  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&s&s)", &local, &plex))
    g_print ("  %s → %s\n", local, plex);

  g_print (_("Whole-library threshold: %u folders\n"),
           g_settings_get_uint (settings, "full-scan-threshold"));
  g_print (_("Timeout: %u s\n"), g_settings_get_uint (settings, "request-timeout"));
  g_print (_("Pinned certificate: %s\n"), pinned[0] != '\0' ? pinned : _("none"));
  if (keyfile != NULL)
    g_print (_("Settings file: %s (no session bus)\n"), keyfile);
}

/* spyglass config */
static int
command_config (int    argc,
                char **argv)
{
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *server = NULL;
  g_autofree char *section = NULL;
  g_autofree char *pin = NULL;
  g_auto(GStrv) maps = NULL;
  gboolean token_stdin = FALSE;
  gboolean forget_token = FALSE;
  gboolean clear_maps = FALSE;
  int threshold = G_MININT;
  int timeout = G_MININT;
  gboolean changed = FALSE;
  const GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_STRING, &server,
      N_("Store the Plex server address"), N_("ADDRESS") },
    { "token-stdin", 0, 0, G_OPTION_ARG_NONE, &token_stdin,
      N_("Store the token read from standard input (typed at a prompt on a terminal)"), NULL },
    { "forget-token", 0, 0, G_OPTION_ARG_NONE, &forget_token,
      N_("Remove the stored token"), NULL },
    { "section", 's', 0, G_OPTION_ARG_STRING, &section,
      N_("Store the default library (empty: every library)"), N_("ID") },
    { "map", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &maps,
      N_("Store path mappings, replacing the stored ones (repeatable)"), N_("LOCAL=PLEX") },
    { "clear-maps", 0, 0, G_OPTION_ARG_NONE, &clear_maps,
      N_("Remove every stored path mapping"), NULL },
    { "threshold", 0, 0, G_OPTION_ARG_INT, &threshold,
      N_("Scan the whole library past this many folders (0: never)"), N_("N") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      N_("Seconds to wait for each answer from Plex"), N_("SECONDS") },
    { "pin-certificate", 0, 0, G_OPTION_ARG_STRING, &pin,
      N_("Trust the server certificate with this SHA-256 fingerprint (empty: none)"),
      N_("SHA256") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("");

  g_option_context_set_summary (context, _("Show or change the stored settings. "
                                           "The token goes to the keyring, never to a "
                                           "command line."));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error ("config", error->message);
  if (argc > 1)
    return usage_error ("config", _("unexpected argument"));
  if (maps != NULL && clear_maps)
    return usage_error ("config", _("give --map or --clear-maps, not both"));
  if (token_stdin && forget_token)
    return usage_error ("config", _("give --token-stdin or --forget-token, not both"));
  if (threshold != G_MININT && (threshold < 0 || threshold > 10000))
    return usage_error ("config", _("the threshold is 0 to 10000 folders"));
  if (timeout != G_MININT && (timeout < 1 || timeout > 600))
    return usage_error ("config", _("the timeout is 1 to 600 seconds"));

  settings = spyglass_settings_open ();
  if (settings == NULL)
    {
      print_error (_("The settings schema %s is not installed"), APPLICATION_ID);
      return EXIT_PLEX_ERROR;
    }

  if (server != NULL)
    {
      g_autofree char *base_url = NULL;

      if (server[0] == '\0')
        base_url = g_strdup ("");
      else if ((base_url = spyglass_address_normalize (server, &error)) == NULL)
        return usage_error ("config", error->message);
      g_settings_set_string (settings, "server-url", base_url);
      changed = TRUE;
    }

  if (section != NULL)
    {
      g_settings_set_string (settings, "default-section", section);
      changed = TRUE;
    }

  if (maps != NULL || clear_maps)
    {
      g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
      GVariantBuilder builder;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
      for (guint i = 0; maps != NULL && maps[i] != NULL; i++)
        {
          const char *local, *plex;

          if (!spyglass_path_map_add_rule_string (map, maps[i], &error))
            return usage_error ("config", error->message);
          spyglass_path_map_get_rule (map, spyglass_path_map_get_n_rules (map) - 1,
                                      &local, &plex);
          /* GSettings strings are UTF-8. */
          if (!g_utf8_validate (local, -1, NULL) || !g_utf8_validate (plex, -1, NULL))
            return usage_error ("config", _("stored path mappings must be valid UTF-8; "
                                            "use --map on each command instead"));
          g_variant_builder_add (&builder, "(ss)", local, plex);
        }
      g_settings_set_value (settings, "path-mappings", g_variant_builder_end (&builder));
      changed = TRUE;
    }

  if (threshold != G_MININT)
    {
      g_settings_set_uint (settings, "full-scan-threshold", threshold);
      changed = TRUE;
    }

  if (timeout != G_MININT)
    {
      g_settings_set_uint (settings, "request-timeout", timeout);
      changed = TRUE;
    }

  if (pin != NULL)
    {
      g_autofree char *normalized = NULL;

      if (pin[0] != '\0' &&
          (normalized = spyglass_client_normalize_fingerprint (pin)) == NULL)
        return usage_error ("config", _("not a SHA-256 fingerprint (64 hexadecimal digits)"));
      g_settings_set_string (settings, "pinned-certificate", normalized != NULL ? normalized : "");
      changed = TRUE;
    }

  g_settings_sync ();

  if (forget_token)
    {
      spyglass_token_store_clear (NULL, NULL);
      g_print (_("Token removed\n"));
      changed = TRUE;
    }

  if (token_stdin)
    {
      g_autofree char *token = read_token_from_stdin (&error);
      SpyglassTokenLocation location = SPYGLASS_TOKEN_LOCATION_NONE;

      if (token == NULL)
        return plex_error (error, NULL);

      if (!spyglass_token_store_save (token, &location, NULL, &error))
        {
          memset (token, 0, strlen (token));
          return plex_error (error, NULL);
        }
      memset (token, 0, strlen (token));

      if (location == SPYGLASS_TOKEN_LOCATION_KEYRING)
        g_print (_("Token stored in the keyring\n"));
      else
        {
          g_autofree char *path = spyglass_token_store_get_fallback_path ();
          g_print (_("No keyring available: token stored in %s (readable only by you)\n"), path);
        }
      changed = TRUE;
    }

  if (!changed)
    print_settings (settings);
  else
    g_print (_("Settings saved\n"));

  return EXIT_SUCCESS;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_application_release (G_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}

/* spyglass service */
static int
command_service (int    argc,
                 char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(GApplication) app = NULL;
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autoptr(SpyglassScanMonitor) monitor = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = NULL;
  GDBusConnection *connection;
  int status = 0;

  if (!parse_options ("service", "",
                      _("Keep running and own the scan queue: “spyglass scan” from scripts "
                        "and importers joins it, and scans are followed to their end."),
                      NULL, &options, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error ("service", _("unexpected argument"));
  if (!spyglass_session_bus_available ())
    {
      print_error (_("There is no session bus to offer the queue on; "
                     "“spyglass scan” works on its own without one"));
      return EXIT_PLEX_ERROR;
    }
  if (!context_init (&ctx, &options, "service", &status))
    return status;

  {
    g_autoptr(GDBusConnection) running = running_instance ();

    if (running != NULL)
      {
        print_error (_("Spyglass is already running"));
        return EXIT_PLEX_ERROR;
      }
  }

  app = g_application_new (SPYGLASS_BUS_NAME, G_APPLICATION_IS_SERVICE);
  if (!g_application_register (app, NULL, &error))
    return plex_error (error, &ctx);
  if (g_application_get_is_remote (app))
    {
      print_error (_("Spyglass is already running"));
      return EXIT_PLEX_ERROR;
    }
  connection = g_application_get_dbus_connection (app);

  state_dir = queue_state_dir ();
  queue = spyglass_queue_new (ctx.client, state_dir);
  spyglass_queue_set_threshold (queue, ctx.threshold);
  spyglass_queue_set_default_section (queue, ctx.default_section);
  spyglass_queue_set_path_map (queue, g_steal_pointer (&ctx.path_map));
  if (ctx.settings != NULL)
    spyglass_queue_set_refresh_after_scan (queue, g_settings_get_boolean (ctx.settings,
                                                                         "refresh-metadata"));
  monitor = spyglass_scan_monitor_new (ctx.client);
  spyglass_scan_monitor_start (monitor);
  spyglass_queue_set_scan_monitor (queue, monitor);

  if (!load_queue (queue, &error) ||
      spyglass_queue_service_export (queue, connection, &error) == 0)
    return plex_error (error, &ctx);

  spyglass_queue_start (queue);
  g_application_hold (app);
  g_unix_signal_add (SIGINT, on_quit_signal, app);
  g_unix_signal_add (SIGTERM, on_quit_signal, app);

  g_print (_("Spyglass is running and owns the scan queue; stop it with Ctrl+C\n"));
  fflush (stdout);
  return g_application_run (app, 0, NULL);
}

/* One `spyglass watch`. */
typedef struct
{
  Context         *ctx;
  SpyglassQueue   *queue;
  SpyglassWatcher *watcher;
  GMainLoop       *loop;       /* without a session bus */
  GApplication    *app;        /* with one */
  gboolean         announced;
} WatchRun;

static void
on_watch_ready (SpyglassWatcher *watcher,
                GParamSpec      *pspec,
                WatchRun        *run)
{
  guint watched = spyglass_watcher_get_n_watched (watcher);
  guint polled = spyglass_watcher_get_n_polled (watcher);

  if (run->announced || !spyglass_watcher_get_ready (watcher))
    return;
  run->announced = TRUE;

  if (polled > 0)
    g_print (_("Watching %u folders, and checking %u more every %u s; stop with Ctrl+C\n"),
             watched, polled, SPYGLASS_WATCHER_DEFAULT_FALLBACK_INTERVAL / 1000);
  else
    g_print (g_dngettext (GETTEXT_PACKAGE,
                          "Watching %u folder; stop with Ctrl+C\n",
                          "Watching %u folders; stop with Ctrl+C\n", watched),
             watched);
  fflush (stdout);
}

static void
on_watch_settled (SpyglassWatcher *watcher,
                  const char      *path,
                  WatchRun        *run)
{
  g_autofree char *display = g_filename_display_name (path);

  g_print (_("Changed: “%s”\n"), display);
  fflush (stdout);
  spyglass_queue_add_folder (run->queue, path, NULL, FALSE);
}

static void
on_watch_paused (SpyglassWatcher *watcher,
                 const char      *path,
                 const char      *reason,
                 WatchRun        *run)
{
  g_autofree char *display = g_filename_display_name (path);

  print_error (_("Not watching “%s”: %s. Nothing there is scanned until it is back."),
               display, reason);
}

static void
on_watch_resumed (SpyglassWatcher *watcher,
                  const char      *path,
                  WatchRun        *run)
{
  g_autofree char *display = g_filename_display_name (path);

  g_print (_("“%s” is back; watching it again\n"), display);
  fflush (stdout);
}

static void
on_watch_limit (SpyglassWatcher *watcher,
                const char      *message,
                WatchRun        *run)
{
  print_error ("%s", message);
}

static void
on_watch_batch_sent (SpyglassQueue *queue,
                     GPtrArray     *batch,
                     WatchRun      *run)
{
  print_sent (g_ptr_array_index (batch, 0));
  fflush (stdout);
}

static void
on_watch_batch_failed (SpyglassQueue *queue,
                       GPtrArray     *batch,
                       const GError  *error,
                       WatchRun      *run)
{
  /* The queue keeps it and tries again. */
  plex_error_with_note (error, run->ctx, _("the scan stays queued and is tried again"));
}

static void
on_watch_request_finished (SpyglassQueue   *queue,
                           SpyglassRequest *request,
                           WatchRun        *run)
{
  g_autoptr(GError) error = NULL;

  if (spyglass_request_get_state (request) != SPYGLASS_REQUEST_FAILED)
    return;

  error = g_error_new_literal (SPYGLASS_ERROR, spyglass_request_get_error_code (request),
                               spyglass_request_get_message (request));
  plex_error (error, run->ctx);
}

static gboolean
on_watch_quit (gpointer user_data)
{
  WatchRun *run = user_data;

  if (run->app != NULL)
    g_application_release (run->app);
  else
    g_main_loop_quit (run->loop);
  /* Removed by command_watch(). */
  return G_SOURCE_CONTINUE;
}

/* spyglass watch */
static int
command_watch (int    argc,
               char **argv)
{
  g_auto(GlobalOptions) options = { .timeout = G_MININT };
  g_auto(Context) ctx = { 0 };
  g_autoptr(SpyglassQueue) queue = NULL;
  g_autoptr(SpyglassWatcher) watcher = NULL;
  g_autoptr(SpyglassScanMonitor) monitor = NULL;
  g_autoptr(GApplication) app = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GPtrArray) roots = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *config_dir = NULL;
  g_auto(GStrv) paths = NULL;
  double settle = -1;
  WatchRun run = { 0 };
  guint sigint, sigterm;
  int status = 0;
  const GOptionEntry entries[] = {
    { "settle", 0, 0, G_OPTION_ARG_DOUBLE, &settle,
      N_("Scan a folder when nothing in it changed for this long (default: the stored "
         "settle delay, 20 s)"), N_("SECONDS") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  if (!parse_options ("watch", _("[PATH…]"),
                      _("Watch the music folders and scan each folder shortly after it "
                        "stops changing, in the foreground. Watched: the local folders of "
                        "the path mappings, the stored watch folders and the PATHs given; "
                        "without any, the libraries’ folders as Plex names them."),
                      entries, &options, &argc, &argv))
    return EXIT_USAGE;
  if (settle != -1 && (settle < 0.1 || settle > 3600))
    return usage_error ("watch", _("the settle delay is 0.1 to 3600 seconds"));
  if (!context_init (&ctx, &options, "watch", &status))
    return status;

  {
    g_autoptr(GDBusConnection) running = running_instance ();

    if (running != NULL)
      {
        print_error (_("Spyglass is already running (its window or “spyglass service”); "
                       "with Auto-scan on, it watches the folders itself"));
        return EXIT_PLEX_ERROR;
      }
  }

  /* What to watch. */
  roots = spyglass_settings_get_watch_roots (ctx.settings, ctx.path_map);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    spyglass_settings_add_watch_root (roots, paths[i]);
  if (roots->len == 0)
    {
      g_autoptr(GPtrArray) sections = list_sections (&ctx, &error);

      if (sections == NULL)
        return plex_error (error, &ctx);
      for (guint i = 0; i < sections->len; i++)
        {
          SpyglassSection *section = g_ptr_array_index (sections, i);

          for (guint j = 0; section->locations[j] != NULL; j++)
            if (g_file_test (section->locations[j], G_FILE_TEST_IS_DIR))
              spyglass_settings_add_watch_root (roots, section->locations[j]);
        }
    }
  if (roots->len == 0)
    return usage_error ("watch", _("no folder to watch: give PATHs, or store path mappings"));

  state_dir = queue_state_dir ();
  config_dir = g_build_filename (g_get_user_config_dir (), "spyglass", NULL);

  watcher = spyglass_watcher_new ();
  if (settle != -1)
    spyglass_watcher_set_settle_delay (watcher, (guint) (settle * 1000 + 0.5));
  else if (ctx.settings != NULL)
    spyglass_watcher_set_settle_delay (watcher, g_settings_get_uint (ctx.settings,
                                                                     "settle-delay") * 1000);
  /* Spyglass's own files are not music. */
  spyglass_watcher_add_ignored_path (watcher, state_dir);
  spyglass_watcher_add_ignored_path (watcher, config_dir);

  queue = spyglass_queue_new (ctx.client, state_dir);
  spyglass_queue_set_threshold (queue, ctx.threshold);
  spyglass_queue_set_default_section (queue, ctx.default_section);
  spyglass_queue_set_path_map (queue, g_steal_pointer (&ctx.path_map));
  if (ctx.settings != NULL)
    spyglass_queue_set_refresh_after_scan (queue, g_settings_get_boolean (ctx.settings,
                                                                         "refresh-metadata"));
  monitor = spyglass_scan_monitor_new (ctx.client);
  spyglass_scan_monitor_start (monitor);
  spyglass_queue_set_scan_monitor (queue, monitor);

  /* On a desktop session bus, offer the queue there as `service` does,
   * so that `spyglass scan` joins it. */
  if (spyglass_session_bus_available ())
    {
      app = g_application_new (SPYGLASS_BUS_NAME, G_APPLICATION_IS_SERVICE);
      if (!g_application_register (app, NULL, &error))
        return plex_error (error, &ctx);
      if (g_application_get_is_remote (app))
        {
          print_error (_("Spyglass is already running"));
          return EXIT_PLEX_ERROR;
        }
    }

  if (!load_queue (queue, &error))
    return plex_error (error, &ctx);
  if (app != NULL &&
      spyglass_queue_service_export (queue, g_application_get_dbus_connection (app), &error) == 0)
    return plex_error (error, &ctx);

  run.ctx = &ctx;
  run.queue = queue;
  run.watcher = watcher;
  run.app = app;
  g_signal_connect (watcher, "notify::ready", G_CALLBACK (on_watch_ready), &run);
  g_signal_connect (watcher, "folder-settled", G_CALLBACK (on_watch_settled), &run);
  g_signal_connect (watcher, "root-paused", G_CALLBACK (on_watch_paused), &run);
  g_signal_connect (watcher, "root-resumed", G_CALLBACK (on_watch_resumed), &run);
  g_signal_connect (watcher, "watch-limit-reached", G_CALLBACK (on_watch_limit), &run);
  g_signal_connect (queue, "batch-sent", G_CALLBACK (on_watch_batch_sent), &run);
  g_signal_connect (queue, "batch-failed", G_CALLBACK (on_watch_batch_failed), &run);
  g_signal_connect (queue, "request-finished", G_CALLBACK (on_watch_request_finished), &run);

  for (guint i = 0; i < roots->len; i++)
    if (!spyglass_watcher_add_root (watcher, g_ptr_array_index (roots, i), &error))
      return plex_error (error, &ctx);
  on_watch_ready (watcher, NULL, &run);

  spyglass_queue_start (queue);
  if (app != NULL)
    {
      sigint = g_unix_signal_add (SIGINT, on_watch_quit, &run);
      sigterm = g_unix_signal_add (SIGTERM, on_watch_quit, &run);
      g_application_hold (app);
      status = g_application_run (app, 0, NULL);
    }
  else
    {
      loop = g_main_loop_new (NULL, FALSE);
      run.loop = loop;
      sigint = g_unix_signal_add (SIGINT, on_watch_quit, &run);
      sigterm = g_unix_signal_add (SIGTERM, on_watch_quit, &run);
      g_main_loop_run (loop);
    }

  g_clear_handle_id (&sigint, g_source_remove);
  g_clear_handle_id (&sigterm, g_source_remove);
  g_signal_handlers_disconnect_by_data (watcher, &run);
  g_signal_handlers_disconnect_by_data (queue, &run);
  return status;
}

typedef struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "test", command_test, N_("Check the connection to the Plex server") },
  { "sections", command_sections, N_("List the libraries and their folders") },
  { "scan", command_scan, N_("Scan folders, or whole libraries") },
  { "status", command_status, N_("Show which libraries are being scanned") },
  { "cancel", command_cancel, N_("Stop scans") },
  { "config", command_config, N_("Show or change the stored settings") },
  { "history", command_history, N_("Show the last results of the scan queue") },
  { "service", command_service, N_("Keep running and own the scan queue") },
  { "watch", command_watch, N_("Watch the music folders and scan what changed") },
};

static void
print_help (FILE *stream)
{
  GString *help = g_string_new (NULL);

  g_string_append (help, _("Usage:\n  spyglass COMMAND [OPTION…]\n\n"));
  g_string_append (help, _("Tell Plex Media Server exactly which folders changed.\n\n"));
  g_string_append (help, _("Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (help, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  g_string_append (help, _("\nRun “spyglass COMMAND --help” for a command’s options.\n"));

  fputs (help->str, stream);
  g_string_free (help, TRUE);
}

/* Whether a window could open here. */
static gboolean
have_display (void)
{
  const char *wayland = g_getenv ("WAYLAND_DISPLAY");
  const char *x11 = g_getenv ("DISPLAY");

  return (wayland != NULL && wayland[0] != '\0') || (x11 != NULL && x11[0] != '\0');
}

/* The window's program: next to this one (installed side by side in
 * bindir, or both in the build tree), else in BINDIR. */
static char *
window_program (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *beside = NULL;

  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);

      beside = g_build_filename (dir, "spyglass-window", NULL);
      if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&beside);
    }

  beside = g_build_filename (BINDIR, "spyglass-window", NULL);
  if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&beside);

  return NULL;
}

/* Replaces this process with the window, handing it @folders (may be
 * empty).  Returns only when there is no window to start. */
static void
exec_window (int    n_folders,
             char **folders)
{
  g_autofree char *program = NULL;
  g_autofree char **window_argv = NULL;

  if (!have_display ())
    return;
  program = window_program ();
  if (program == NULL)
    return;

  window_argv = g_new0 (char *, n_folders + 2);
  window_argv[0] = program;
  for (int i = 0; i < n_folders; i++)
    window_argv[i + 1] = folders[i];

  g_debug ("Starting the window: %s", program);
  execv (program, window_argv);
  g_debug ("Could not start %s: %s", program, g_strerror (errno));
}

int
spyglass_cli_run (int   argc,
                  char *argv[])
{
  const char *name;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("spyglass");
  /* stdout is for results (scripts parse --json); every log line goes to
   * stderr, debug output included. */
  g_log_writer_default_set_use_stderr (TRUE);

  if (argc < 2)
    {
      /* `spyglass` alone on a desktop opens the window. */
      exec_window (0, NULL);
      print_help (stderr);
      return EXIT_USAGE;
    }

  /* Connection options may also come before the command, as in
   * `spyglass --server nas.local test`: move them after it. */
  {
    static const char * const with_value[] = { "--server", "--token-file", "--map", "--timeout", NULL };
    int first = 1;

    while (first < argc && argv[first][0] == '-' &&
           !g_str_equal (argv[first], "--help") && !g_str_equal (argv[first], "-h") &&
           !g_str_equal (argv[first], "--version"))
      first += g_strv_contains (with_value, argv[first]) && first + 1 < argc ? 2 : 1;

    if (first > 1 && first < argc)
      {
        char *command = argv[first];

        memmove (argv + 2, argv + 1, (first - 1) * sizeof (char *));
        argv[1] = command;
      }
  }

  name = argv[1];
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h") || g_str_equal (name, "help"))
    {
      print_help (stdout);
      return EXIT_SUCCESS;
    }
  if (g_str_equal (name, "--version"))
    {
      g_print ("spyglass %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      {
        g_autofree char *prgname = g_strdup_printf ("spyglass %s", name);

        g_set_prgname (prgname);
        /* The subcommand sees itself as argv[0]. */
        return commands[i].run (argc - 1, argv + 1);
      }

  /* `spyglass FOLDER…`, as the file manager's Open With runs it: scan
   * them. */
  if (g_file_test (name, G_FILE_TEST_EXISTS))
    {
      g_autofree char **scan_argv = NULL;

      /* Into the running Spyglass's queue if there is one (its window
       * lists them); else, on a desktop, into a new window; else scanned
       * from here, as `spyglass scan` would. */
      {
        g_autoptr(GDBusConnection) running = running_instance ();

        if (running == NULL)
          exec_window (argc - 1, argv + 1);
      }

      scan_argv = g_new0 (char *, argc + 1);

      scan_argv[0] = (char *) "scan";
      for (int i = 1; i < argc; i++)
        scan_argv[i] = argv[i];
      g_set_prgname ("spyglass scan");
      return command_scan (argc, scan_argv);
    }

  {
    g_autofree char *message = g_strdup_printf (_("unknown command “%s”"), name);
    return usage_error (NULL, message);
  }
}
