/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "spyglass-application.h"
#include "spyglass-notifier.h"
#include "spyglass-preferences-window.h"
#include "spyglass-settings.h"
#include "spyglass-window.h"

/* How long a window start waits for a command-line run that holds the
 * queue for a moment (`spyglass scan` without a running instance). */
#define QUEUE_LOAD_ATTEMPTS 50
#define QUEUE_LOAD_RETRY_MS 200

struct _SpyglassApplication
{
  AdwApplication           parent_instance;

  GSettings               *settings;
  SpyglassClient          *client;
  SpyglassScanMonitor     *monitor;
  SpyglassQueue           *queue;          /* NULL until loaded */
  SpyglassQueue           *loading_queue;  /* waiting for the lock */
  SpyglassNotifier        *notifier;
  SpyglassWatcher         *watcher;        /* while auto-scan is on */
  GHashTable              *watched_roots;  /* local folders given to the watcher */
  gboolean                 held;           /* running in the background for auto-scan */
  GDBusConnection         *connection;     /* while registered on the bus */
  guint                    queue_service_id;
  guint                    queue_load_source;
  guint                    queue_load_attempts;
  GCancellable            *cancellable;    /* cancelled at shutdown */
  GCancellable            *check_cancellable;

  gboolean                 demo;
  gboolean                 token_known;    /* the keyring answered */
  gboolean                 have_token;
  gboolean                 monitor_started;
  gboolean                 trimmed;        /* start-up memory given back */

  SpyglassConnectionState  state;
  SpyglassServerInfo      *server_info;
  char                    *connection_error;
  GPtrArray               *sections;       /* element-type SpyglassSection */
  char                    *queue_error;    /* why there is no queue, or NULL */
};

G_DEFINE_FINAL_TYPE (SpyglassApplication, spyglass_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_CONFIGURED,
  PROP_CONNECTION_STATE,
  PROP_SECTIONS,
  PROP_QUEUE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FOLDERS_QUEUED,
  AUTO_SCAN_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

SpyglassApplication *
spyglass_application_new (void)
{
  /* A demo (SPYGLASS_DEMO=1) keeps the real application id: GNOME Shell
   * shows notifications only for an id with a desktop file.  Its settings,
   * token and queue are its own (build-aux/run.sh --demo), and it refuses
   * to start while a real Spyglass runs. */
  return g_object_new (SPYGLASS_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/spyglass/Spyglass",
                       NULL);
}

GSettings *
spyglass_application_get_settings (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->settings;
}

SpyglassClient *
spyglass_application_get_client (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->client;
}

SpyglassQueue *
spyglass_application_get_queue (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->queue;
}

gboolean
spyglass_application_get_demo (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), FALSE);
  return self->demo;
}

gboolean
spyglass_application_get_configured (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), FALSE);
  return self->have_token && spyglass_client_get_base_url (self->client) != NULL;
}

SpyglassConnectionState
spyglass_application_get_connection_state (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), SPYGLASS_CONNECTION_UNCONFIGURED);
  return self->state;
}

const SpyglassServerInfo *
spyglass_application_get_server_info (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->server_info;
}

const char *
spyglass_application_get_connection_error (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->connection_error;
}

GPtrArray *
spyglass_application_get_sections (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->sections;
}

const char *
spyglass_application_get_queue_error (SpyglassApplication *self)
{
  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), NULL);
  return self->queue_error;
}

static void
set_state (SpyglassApplication     *self,
           SpyglassConnectionState  state,
           const char              *error_message)
{
  gboolean changed = self->state != state ||
                     g_strcmp0 (self->connection_error, error_message) != 0;

  self->state = state;
  g_free (self->connection_error);
  self->connection_error = g_strdup (error_message);
  if (state != SPYGLASS_CONNECTION_CONNECTED)
    g_clear_pointer (&self->server_info, spyglass_server_info_free);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION_STATE]);
}

/* The scan monitor follows Plex's activities once there is something to
 * talk to: before, it would only fail and back off. */
static void
update_monitor (SpyglassApplication *self)
{
  if (self->monitor_started || !spyglass_application_get_configured (self))
    return;

  spyglass_scan_monitor_start (self->monitor);
  self->monitor_started = TRUE;
}

/* Starting up (GTK, the first answers from Plex) leaves freed memory in
 * malloc's arenas that an app idling in the background for days has no
 * use for: give it back once the start-up work is done. */
static gboolean
trim_memory (gpointer user_data)
{
  malloc_trim (0);
  return G_SOURCE_REMOVE;
}

static void
on_sections_listed (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(SpyglassApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sections = NULL;

  sections = spyglass_client_list_sections_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (sections == NULL)
    {
      g_debug ("Listing the libraries failed: %s", error->message);
      return;
    }

  g_clear_pointer (&self->sections, g_ptr_array_unref);
  self->sections = g_steal_pointer (&sections);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECTIONS]);

  if (!self->trimmed)
    {
      self->trimmed = TRUE;
      g_timeout_add_seconds (1, trim_memory, NULL);
    }
}

static void
on_server_info (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SpyglassApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SpyglassServerInfo) info = NULL;

  info = spyglass_client_get_server_info_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (info == NULL)
    {
      gboolean rejected = g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN) ||
                          g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_FORBIDDEN);

      g_autofree char *message = NULL;

      /* Say where: the address may be the mistake. */
      if (g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE))
        message = g_strdup_printf (_("Cannot reach Plex server at %s"),
                                   spyglass_client_get_base_url (self->client));
      set_state (self, rejected ? SPYGLASS_CONNECTION_REJECTED : SPYGLASS_CONNECTION_UNREACHABLE,
                 message != NULL ? message : error->message);
      return;
    }

  self->server_info = g_steal_pointer (&info);
  set_state (self, SPYGLASS_CONNECTION_CONNECTED, NULL);
  /* set_state() notified before server_info was set when the state did
   * not change: say it again for the header. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION_STATE]);

  spyglass_client_list_sections_async (self->client, self->check_cancellable,
                                       on_sections_listed, g_object_ref (self));
}

void
spyglass_application_check_connection (SpyglassApplication *self)
{
  g_return_if_fail (SPYGLASS_IS_APPLICATION (self));

  g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->check_cancellable);

  if (!self->token_known)
    return;

  if (!spyglass_application_get_configured (self))
    {
      set_state (self, SPYGLASS_CONNECTION_UNCONFIGURED, NULL);
      return;
    }

  self->check_cancellable = g_cancellable_new ();
  set_state (self, SPYGLASS_CONNECTION_CHECKING, NULL);
  spyglass_client_get_server_info_async (self->client, self->check_cancellable,
                                         on_server_info, g_object_ref (self));
}

void
spyglass_application_set_token (SpyglassApplication *self,
                                 const char          *token)
{
  gboolean was_configured;

  g_return_if_fail (SPYGLASS_IS_APPLICATION (self));

  if (token != NULL && token[0] == '\0')
    token = NULL;

  was_configured = spyglass_application_get_configured (self);
  self->token_known = TRUE;
  self->have_token = token != NULL;
  spyglass_client_set_token (self->client, token);

  if (was_configured != spyglass_application_get_configured (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFIGURED]);

  update_monitor (self);
  spyglass_application_check_connection (self);
}

static void
on_token_loaded (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SpyglassApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  token = spyglass_token_store_load_finish (result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_warning ("Could not read the Plex token: %s", error->message);

  /* A token saved in the preferences meanwhile is newer than this one. */
  if (!self->token_known)
    spyglass_application_set_token (self, token);
  if (token != NULL)
    memset (token, 0, strlen (token));
}

static gboolean
load_token (gpointer user_data)
{
  SpyglassApplication *self = user_data;

  spyglass_token_store_load_async (self->cancellable, on_token_loaded, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

/* The server address from the settings, normalized, or NULL. */
static char *
configured_base_url (SpyglassApplication *self)
{
  g_autofree char *address = g_settings_get_string (self->settings, "server-url");
  g_autoptr(GError) error = NULL;
  char *base_url;

  if (address[0] == '\0')
    return NULL;

  base_url = spyglass_address_normalize (address, &error);
  if (base_url == NULL)
    g_debug ("Ignoring the stored server address: %s", error->message);
  return base_url;
}

static SpyglassPathMap *
configured_path_map (SpyglassApplication *self)
{
  g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func (g_free);
  SpyglassPathMap *map = spyglass_settings_get_path_map (self->settings, ignored);

  for (guint i = 0; i < ignored->len; i++)
    g_debug ("Ignoring a stored path mapping: %s", (const char *) ignored->pdata[i]);
  return map;
}

static void
on_folder_settled (SpyglassWatcher     *watcher,
                   const char          *path,
                   SpyglassApplication *self)
{
  g_autofree char *display = g_filename_display_name (path);

  g_debug ("Auto-scan: “%s” changed", display);
  if (self->queue != NULL)
    spyglass_queue_add_folder (self->queue, path, NULL, FALSE);
}

static void
on_root_paused (SpyglassWatcher     *watcher,
                const char          *path,
                const char          *reason,
                SpyglassApplication *self)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *message = NULL;

  /* Translators: auto-scan lost a watched folder (a share that dropped). */
  message = g_strdup_printf (_("Auto-scan paused for “%s”: %s"), display, reason);
  g_signal_emit (self, signals[AUTO_SCAN_MESSAGE], 0, message);
}

static void
on_root_resumed (SpyglassWatcher     *watcher,
                 const char          *path,
                 SpyglassApplication *self)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *message = NULL;

  message = g_strdup_printf (_("Auto-scan resumed for “%s”"), display);
  g_signal_emit (self, signals[AUTO_SCAN_MESSAGE], 0, message);
}

static void
on_watch_limit (SpyglassWatcher     *watcher,
                const char          *message,
                SpyglassApplication *self)
{
  g_warning ("%s", message);
  g_signal_emit (self, signals[AUTO_SCAN_MESSAGE], 0, message);
}

/* Start at login while auto-scan is on: an XDG autostart entry, or inside
 * a Flatpak the Background portal's. */
static void
update_autostart (SpyglassApplication *self,
                  gboolean             enabled)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "autostart", NULL);
  g_autofree char *path = g_build_filename (dir, APPLICATION_ID ".desktop", NULL);
  g_autoptr(GError) error = NULL;

  /* A demo is temporary: it never starts at login. */
  if (self->demo)
    return;

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS))
    {
      GVariantBuilder options;
      const char *commandline[] = { "spyglass-window", "--gapplication-service", NULL };

      if (self->connection == NULL)
        return;
      g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&options, "{sv}", "reason",
                             g_variant_new_string (_("Scan new music in Plex as it arrives")));
      g_variant_builder_add (&options, "{sv}", "autostart", g_variant_new_boolean (enabled));
      g_variant_builder_add (&options, "{sv}", "commandline", g_variant_new_strv (commandline, -1));
      g_dbus_connection_call (self->connection, "org.freedesktop.portal.Desktop",
                              "/org/freedesktop/portal/desktop", "org.freedesktop.portal.Background",
                              "RequestBackground", g_variant_new ("(sa{sv})", "", &options),
                              NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
      return;
    }

  if (!enabled)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Could not remove %s: %s", path, g_strerror (errno));
      return;
    }

  {
    g_autofree char *contents = g_strdup_printf ("[Desktop Entry]\n"
                                                 "Type=Application\n"
                                                 "Name=%s\n"
                                                 "Comment=%s\n"
                                                 "Icon=" APPLICATION_ID "\n"
                                                 "Exec=spyglass-window --gapplication-service\n"
                                                 "NoDisplay=true\n"
                                                 "X-GNOME-Autostart-enabled=true\n",
                                                 _("Spyglass"),
                                                 _("Scans new music in Plex as it arrives"));

    if (g_mkdir_with_parents (dir, 0700) != 0 ||
        !g_file_set_contents (path, contents, -1, &error))
      g_warning ("Could not write %s: %s", path,
                 error != NULL ? error->message : g_strerror (errno));
  }
}

/* Auto-scan on: watch the roots and keep running without a window;
 * off: stop watching and let closing the window quit. */
static void
update_auto_scan (SpyglassApplication *self)
{
  gboolean enabled = self->queue != NULL && g_settings_get_boolean (self->settings, "auto-scan");
  g_autoptr(SpyglassPathMap) map = NULL;
  g_autoptr(GPtrArray) roots = NULL;
  GHashTableIter iter;
  gpointer root;

  if (enabled != self->held)
    {
      if (enabled)
        g_application_hold (G_APPLICATION (self));
      else
        g_application_release (G_APPLICATION (self));
      self->held = enabled;
      update_autostart (self, enabled);
    }

  if (!enabled)
    {
      if (self->watcher != NULL)
        g_signal_handlers_disconnect_by_data (self->watcher, self);
      g_clear_object (&self->watcher);
      g_hash_table_remove_all (self->watched_roots);
      return;
    }

  if (self->watcher == NULL)
    {
      g_autofree char *state_dir = g_build_filename (g_get_user_state_dir (), "spyglass", NULL);
      g_autofree char *config_dir = g_build_filename (g_get_user_config_dir (), "spyglass", NULL);

      self->watcher = spyglass_watcher_new ();
      spyglass_watcher_add_ignored_path (self->watcher, state_dir);
      spyglass_watcher_add_ignored_path (self->watcher, config_dir);
      g_signal_connect_object (self->watcher, "folder-settled", G_CALLBACK (on_folder_settled), self, 0);
      g_signal_connect_object (self->watcher, "root-paused", G_CALLBACK (on_root_paused), self, 0);
      g_signal_connect_object (self->watcher, "root-resumed", G_CALLBACK (on_root_resumed), self, 0);
      g_signal_connect_object (self->watcher, "watch-limit-reached", G_CALLBACK (on_watch_limit), self, 0);
    }
  spyglass_watcher_set_settle_delay (self->watcher,
                                     g_settings_get_uint (self->settings, "settle-delay") * 1000);

  /* What changed since the last time. */
  map = configured_path_map (self);
  roots = spyglass_settings_get_watch_roots (self->settings, map);
  g_hash_table_iter_init (&iter, self->watched_roots);
  while (g_hash_table_iter_next (&iter, &root, NULL))
    if (!g_ptr_array_find_with_equal_func (roots, root, g_str_equal, NULL))
      {
        spyglass_watcher_remove_root (self->watcher, root);
        g_hash_table_iter_remove (&iter);
      }
  for (guint i = 0; i < roots->len; i++)
    if (!g_hash_table_contains (self->watched_roots, roots->pdata[i]))
      {
        g_autoptr(GError) error = NULL;

        if (spyglass_watcher_add_root (self->watcher, roots->pdata[i], &error))
          g_hash_table_add (self->watched_roots, g_strdup (roots->pdata[i]));
        else
          g_signal_emit (self, signals[AUTO_SCAN_MESSAGE], 0, error->message);
      }
}

static void
apply_queue_settings (SpyglassApplication *self)
{
  g_autofree char *default_section = NULL;

  if (self->queue == NULL)
    return;

  default_section = g_settings_get_string (self->settings, "default-section");
  spyglass_queue_set_default_section (self->queue, default_section);
  spyglass_queue_set_threshold (self->queue, g_settings_get_uint (self->settings, "full-scan-threshold"));
  spyglass_queue_set_refresh_after_scan (self->queue,
                                         g_settings_get_boolean (self->settings, "refresh-metadata"));
  spyglass_queue_set_path_map (self->queue, configured_path_map (self));
}

static void
on_settings_changed (GSettings           *settings,
                     const char          *key,
                     SpyglassApplication *self)
{
  if (g_str_equal (key, "server-url"))
    {
      g_autofree char *base_url = configured_base_url (self);
      gboolean was_configured = spyglass_application_get_configured (self);

      if (g_strcmp0 (base_url, spyglass_client_get_base_url (self->client)) == 0)
        return;

      g_object_set (self->client, "base-url", base_url, NULL);
      g_clear_pointer (&self->sections, g_ptr_array_unref);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECTIONS]);
      if (was_configured != spyglass_application_get_configured (self))
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFIGURED]);
      update_monitor (self);
      spyglass_application_check_connection (self);
    }
  else if (g_str_equal (key, "request-timeout"))
    spyglass_client_set_timeout (self->client, g_settings_get_uint (settings, key));
  else if (g_str_equal (key, "pinned-certificate"))
    {
      g_autofree char *pinned = g_settings_get_string (settings, key);

      spyglass_client_set_pinned_certificate (self->client, pinned[0] != '\0' ? pinned : NULL);
      spyglass_application_check_connection (self);
    }
  else if (g_str_equal (key, "default-section") || g_str_equal (key, "full-scan-threshold") ||
           g_str_equal (key, "refresh-metadata") || g_str_equal (key, "path-mappings"))
    apply_queue_settings (self);

  if (g_str_equal (key, "auto-scan") || g_str_equal (key, "path-mappings") ||
      g_str_equal (key, "watch-folders") || g_str_equal (key, "settle-delay"))
    update_auto_scan (self);
}

static void queue_loaded (SpyglassApplication *self);

/* Takes the queue; another process may hold it for a moment (a
 * `spyglass scan` that ran alone), so try again for a while. */
static gboolean
try_load_queue (gpointer user_data)
{
  SpyglassApplication *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *recovered = NULL;

  if (spyglass_queue_load (self->loading_queue, &recovered, &error))
    {
      self->queue_load_source = 0;
      if (recovered != NULL)
        g_warning ("The scan queue could not be read; it was kept as %s and a new one started",
                   recovered);
      queue_loaded (self);
      return G_SOURCE_REMOVE;
    }

  if (g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED) &&
      ++self->queue_load_attempts < QUEUE_LOAD_ATTEMPTS)
    {
      if (self->queue_load_source == 0)
        self->queue_load_source = g_timeout_add (QUEUE_LOAD_RETRY_MS, try_load_queue, self);
      return G_SOURCE_CONTINUE;
    }

  self->queue_load_source = 0;
  g_warning ("The scan queue is not available: %s", error->message);
  g_free (self->queue_error);
  self->queue_error = g_strdup (error->message);
  g_clear_object (&self->loading_queue);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE]);
  return G_SOURCE_REMOVE;
}

static void
queue_loaded (SpyglassApplication *self)
{
  g_autoptr(GError) error = NULL;

  self->queue = g_steal_pointer (&self->loading_queue);
  apply_queue_settings (self);

  if (self->connection != NULL)
    {
      self->queue_service_id = spyglass_queue_service_export (self->queue, self->connection, &error);
      if (self->queue_service_id == 0)
        g_warning ("Could not offer the scan queue on the session bus: %s", error->message);
    }

  self->notifier = spyglass_notifier_new (G_APPLICATION (self), self->queue, self->settings);
  spyglass_queue_start (self->queue);
  update_auto_scan (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE]);
}

/* The settings, the client, the monitor and the queue: everything but the
 * window.  Runs before the bus name is taken, so that a `spyglass scan`
 * that sees the name finds the queue on it. */
static void
ensure_core (SpyglassApplication *self)
{
  g_autofree char *base_url = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *pinned = NULL;
  g_autofree char *state_dir = NULL;

  if (self->client != NULL)
    return;

  self->settings = spyglass_settings_open ();
  if (self->settings == NULL)
    g_error ("The settings schema %s is not installed; run Spyglass from its build "
             "directory with build-aux/run.sh, or install it", APPLICATION_ID);

  base_url = configured_base_url (self);
  client_id = spyglass_settings_get_client_id (self->settings);
  pinned = g_settings_get_string (self->settings, "pinned-certificate");

  self->client = spyglass_client_new (base_url, NULL);
  spyglass_client_set_client_id (self->client, client_id);
  spyglass_client_set_timeout (self->client, g_settings_get_uint (self->settings, "request-timeout"));
  if (pinned[0] != '\0')
    spyglass_client_set_pinned_certificate (self->client, pinned);

  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_settings_changed), self, 0);

  self->monitor = spyglass_scan_monitor_new (self->client);

  state_dir = g_build_filename (g_get_user_state_dir (), "spyglass", NULL);
  self->loading_queue = spyglass_queue_new (self->client, state_dir);
  spyglass_queue_set_scan_monitor (self->loading_queue, self->monitor);
  try_load_queue (self);

  /* The keyring and then the server are asked once the window is on
   * screen: neither holds up the first frame. */
  g_idle_add_full (G_PRIORITY_LOW, load_token, g_object_ref (self), g_object_unref);
}

static gboolean
spyglass_application_dbus_register (GApplication     *application,
                                    GDBusConnection  *connection,
                                    const char       *object_path,
                                    GError          **error)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);

  if (!G_APPLICATION_CLASS (spyglass_application_parent_class)->dbus_register (application, connection,
                                                                                object_path, error))
    return FALSE;

  g_set_object (&self->connection, connection);
  ensure_core (self);
  if (self->queue != NULL && self->queue_service_id == 0)
    {
      self->queue_service_id = spyglass_queue_service_export (self->queue, connection, error);
      if (self->queue_service_id == 0)
        return FALSE;
    }

  return TRUE;
}

static void
spyglass_application_dbus_unregister (GApplication    *application,
                                      GDBusConnection *connection,
                                      const char      *object_path)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);

  if (self->queue_service_id != 0)
    {
      g_dbus_connection_unregister_object (connection, self->queue_service_id);
      self->queue_service_id = 0;
    }
  g_clear_object (&self->connection);

  G_APPLICATION_CLASS (spyglass_application_parent_class)->dbus_unregister (application, connection,
                                                                            object_path);
}

static SpyglassWindow *
get_window (SpyglassApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); window == NULL && l; l = l->next)
    if (SPYGLASS_IS_WINDOW (l->data))
      window = l->data;

  if (window != NULL && !SPYGLASS_IS_WINDOW (window))
    window = gtk_window_get_transient_for (window);

  return SPYGLASS_IS_WINDOW (window) ? SPYGLASS_WINDOW (window) : NULL;
}

static SpyglassWindow *
ensure_window (SpyglassApplication *self)
{
  SpyglassWindow *window = get_window (self);

  if (window == NULL)
    window = spyglass_window_new (self);
  return window;
}

static void
spyglass_application_activate (GApplication *application)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);

  gtk_window_present (GTK_WINDOW (ensure_window (self)));
}

/* "3 folders queued for Music", from the libraries known at the last
 * connection check (the queue routes again when it sends). */
static char *
describe_queued (SpyglassApplication *self,
                 GPtrArray           *paths)
{
  g_autoptr(SpyglassPathMap) map = configured_path_map (self);
  g_autoptr(GHashTable) titles = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *library = NULL;
  const char *title = NULL;

  if (self->sections != NULL)
    for (guint i = 0; i < paths->len; i++)
      {
        g_autoptr(GPtrArray) targets = spyglass_route_local_path (map, paths->pdata[i],
                                                                  self->sections, NULL, FALSE, NULL);

        for (guint j = 0; targets != NULL && j < targets->len; j++)
          {
            SpyglassScanTarget *target = g_ptr_array_index (targets, j);

            title = target->section->title;
            g_hash_table_add (titles, (gpointer) title);
          }
      }

  if (g_hash_table_size (titles) == 1)
    /* Translators: the end of "3 folders queued for Music". */
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u folder queued for %s",
                                         "%u folders queued for %s", paths->len),
                            paths->len, title);

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u folder queued",
                                       "%u folders queued", paths->len),
                          paths->len);
}

guint
spyglass_application_add_paths (SpyglassApplication *self,
                                const char * const  *paths,
                                GError             **error)
{
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *summary = NULL;

  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (self), 0);

  if (self->queue == NULL)
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED,
                   _("The scan queue is not available: %s"),
                   self->queue_error != NULL ? self->queue_error : _("it is still loading"));
      return 0;
    }

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *folder = NULL;

      /* A file means its folder. */
      if (g_file_test (paths[i], G_FILE_TEST_IS_DIR))
        folder = g_strdup (paths[i]);
      else
        folder = g_path_get_dirname (paths[i]);

      spyglass_queue_add_folder (self->queue, folder, NULL, FALSE);
      g_ptr_array_add (queued, g_steal_pointer (&folder));
    }

  if (queued->len > 0)
    {
      summary = describe_queued (self, queued);
      g_signal_emit (self, signals[FOLDERS_QUEUED], 0, queued->len, summary);
    }

  return queued->len;
}

static void
spyglass_application_open (GApplication  *application,
                           GFile        **files,
                           int            n_files,
                           const char    *hint)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);
  SpyglassWindow *window = ensure_window (self);

  gtk_window_present (GTK_WINDOW (window));
  spyglass_window_open_files (window, files, n_files);
}

static void
show_window_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  g_application_activate (G_APPLICATION (user_data));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  SpyglassApplication *self = user_data;
  SpyglassWindow *window = ensure_window (self);
  GtkWidget *preferences;

  gtk_window_present (GTK_WINDOW (window));
  preferences = spyglass_preferences_window_new (self, GTK_WINDOW (window));
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  SpyglassApplication *self = user_data;
  static const char *developers[] = { "The Spyglass developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", get_window (self),
                        "application-name", _("Spyglass"),
                        "application-icon", APPLICATION_ID,
                        "developer-name", _("The Spyglass developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Tell Plex Media Server exactly which folders changed"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: put your names here, one per line. */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "show-window", show_window_action },
  { "preferences", preferences_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
spyglass_application_startup (GApplication *application)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *choose_accels[] = { "<Control>o", NULL };
  static const char *scan_library_accels[] = { "<Control>r", NULL };
  static const char *shortcuts_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (spyglass_application_parent_class)->startup (application);

  /* Without a session bus there was no dbus_register(). */
  ensure_core (self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.choose-folders", choose_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.scan-library", scan_library_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-help-overlay", shortcuts_accels);
}

static void
spyglass_application_shutdown (GApplication *application)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->check_cancellable);
  g_clear_handle_id (&self->queue_load_source, g_source_remove);
  if (self->monitor != NULL)
    spyglass_scan_monitor_stop (self->monitor);
  if (self->watcher != NULL)
    g_signal_handlers_disconnect_by_data (self->watcher, self);
  g_clear_object (&self->watcher);

  G_APPLICATION_CLASS (spyglass_application_parent_class)->shutdown (application);
}

static void
spyglass_application_finalize (GObject *object)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (object);

  g_clear_handle_id (&self->queue_load_source, g_source_remove);
  g_clear_object (&self->notifier);
  g_clear_object (&self->watcher);
  g_clear_pointer (&self->watched_roots, g_hash_table_unref);
  g_clear_object (&self->queue);
  g_clear_object (&self->loading_queue);
  g_clear_object (&self->monitor);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->check_cancellable);
  g_clear_pointer (&self->server_info, spyglass_server_info_free);
  g_clear_pointer (&self->connection_error, g_free);
  g_clear_pointer (&self->queue_error, g_free);
  g_clear_pointer (&self->sections, g_ptr_array_unref);

  G_OBJECT_CLASS (spyglass_application_parent_class)->finalize (object);
}

static void
spyglass_application_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  SpyglassApplication *self = SPYGLASS_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_CONFIGURED:
      g_value_set_boolean (value, spyglass_application_get_configured (self));
      break;
    case PROP_CONNECTION_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_SECTIONS:
      g_value_set_boxed (value, self->sections);
      break;
    case PROP_QUEUE:
      g_value_set_object (value, self->queue);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_application_class_init (SpyglassApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = spyglass_application_finalize;
  object_class->get_property = spyglass_application_get_property;

  app_class->startup = spyglass_application_startup;
  app_class->shutdown = spyglass_application_shutdown;
  app_class->activate = spyglass_application_activate;
  app_class->open = spyglass_application_open;
  app_class->dbus_register = spyglass_application_dbus_register;
  app_class->dbus_unregister = spyglass_application_dbus_unregister;

  properties[PROP_CONFIGURED] =
    g_param_spec_boolean ("configured", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONNECTION_STATE] =
    g_param_spec_int ("connection-state", NULL, NULL,
                      SPYGLASS_CONNECTION_UNCONFIGURED, SPYGLASS_CONNECTION_REJECTED,
                      SPYGLASS_CONNECTION_UNCONFIGURED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECTIONS] =
    g_param_spec_boxed ("sections", NULL, NULL, G_TYPE_PTR_ARRAY,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_QUEUE] =
    g_param_spec_object ("queue", NULL, NULL, SPYGLASS_TYPE_QUEUE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Folders were queued: (guint count, const char *summary) for a toast. */
  signals[FOLDERS_QUEUED] =
    g_signal_new ("folders-queued", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

  /* Auto-scan has something to say: a watched folder is gone or back, or
   * the kernel's watch limit was reached (const char *message). */
  signals[AUTO_SCAN_MESSAGE] =
    g_signal_new ("auto-scan-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
spyglass_application_init (SpyglassApplication *self)
{
  self->cancellable = g_cancellable_new ();
  self->watched_roots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->demo = g_strcmp0 (g_getenv ("SPYGLASS_DEMO"), "1") == 0;
}
