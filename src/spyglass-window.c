/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-request-row.h"
#include "spyglass-window.h"
#include "spyglass-window-private.h"

/* How many finished requests the list keeps. */
#define RECENT_LIMIT 100

struct _SpyglassWindow
{
  AdwApplicationWindow  parent_instance;

  SpyglassApplication  *application;
  SpyglassQueue        *queue;        /* the one observed, or NULL */
  GListStore           *recent;       /* element-type SpyglassRequest, newest first */
  GHashTable           *shown;        /* request ids in recent */
  GCancellable         *cancellable;  /* cancelled when the window closes */
  GtkFileChooserNative *chooser;
  char                 *last_toast;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  GtkWidget            *drop_zone;
  GtkWidget            *demo_label;
  GtkListBox           *request_list;
};

G_DEFINE_FINAL_TYPE (SpyglassWindow, spyglass_window, ADW_TYPE_APPLICATION_WINDOW)

static void setup_application (SpyglassWindow *self);

SpyglassWindow *
spyglass_window_new (SpyglassApplication *application)
{
  SpyglassWindow *self;

  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (application), NULL);

  self = g_object_new (SPYGLASS_TYPE_WINDOW, "application", application, NULL);
  setup_application (self);
  return self;
}

void
spyglass_window_add_toast (SpyglassWindow *self,
                           const char     *message)
{
  AdwToast *toast;

  g_return_if_fail (SPYGLASS_IS_WINDOW (self));

  g_free (self->last_toast);
  self->last_toast = g_strdup (message);
  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
show_recent (SpyglassWindow  *self,
             SpyglassRequest *request,
             gboolean         newest)
{
  guint n;

  if (!g_hash_table_add (self->shown, g_strdup (spyglass_request_get_id (request))))
    return;

  if (newest)
    g_list_store_insert (self->recent, 0, request);
  else
    g_list_store_append (self->recent, request);

  /* Forget the oldest finished ones. */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->recent));
  while (n > RECENT_LIMIT)
    {
      g_autoptr(SpyglassRequest) last = g_list_model_get_item (G_LIST_MODEL (self->recent), n - 1);
      SpyglassRequestState state = spyglass_request_get_state (last);

      if (state != SPYGLASS_REQUEST_DONE && state != SPYGLASS_REQUEST_FAILED)
        break;
      g_hash_table_remove (self->shown, spyglass_request_get_id (last));
      g_list_store_remove (self->recent, --n);
    }
}

static void
on_queue_items_changed (GListModel     *model,
                        guint           position,
                        guint           removed,
                        guint           added,
                        SpyglassWindow *self)
{
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(SpyglassRequest) request = g_list_model_get_item (model, position + i);

      show_recent (self, request, TRUE);
    }
}

static void
observe_queue (SpyglassWindow *self)
{
  SpyglassQueue *queue = spyglass_application_get_queue (self->application);
  GPtrArray *history;
  guint n;

  if (queue == self->queue || queue == NULL)
    return;

  g_set_object (&self->queue, queue);
  g_signal_connect_object (queue, "items-changed", G_CALLBACK (on_queue_items_changed), self, 0);

  /* Newest first: what is queued now, then the history from the newest. */
  n = g_list_model_get_n_items (G_LIST_MODEL (queue));
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(SpyglassRequest) request = g_list_model_get_item (G_LIST_MODEL (queue), i - 1);

      show_recent (self, request, FALSE);
    }
  history = spyglass_queue_get_history (queue);
  for (guint i = history->len; i > 0 && g_list_model_get_n_items (G_LIST_MODEL (self->recent)) < RECENT_LIMIT; i--)
    show_recent (self, g_ptr_array_index (history, i - 1), FALSE);
}

static void
update_header (SpyglassWindow *self)
{
  SpyglassApplication *app = self->application;
  const SpyglassServerInfo *info = spyglass_application_get_server_info (app);
  const char *error = spyglass_application_get_connection_error (app);
  g_autofree char *subtitle = NULL;

  switch (spyglass_application_get_connection_state (app))
    {
    case SPYGLASS_CONNECTION_UNCONFIGURED:
      subtitle = g_strdup (_("Not set up"));
      break;
    case SPYGLASS_CONNECTION_CHECKING:
      subtitle = g_strdup (_("Connecting…"));
      break;
    case SPYGLASS_CONNECTION_CONNECTED:
      if (info != NULL && info->friendly_name != NULL && info->friendly_name[0] != '\0')
        /* Translators: the header's subtitle, "My NAS — Connected". */
        subtitle = g_strdup_printf (_("%s — Connected"), info->friendly_name);
      else
        subtitle = g_strdup (_("Connected"));
      break;
    case SPYGLASS_CONNECTION_UNREACHABLE:
      subtitle = g_strdup (_("Server unreachable"));
      break;
    case SPYGLASS_CONNECTION_REJECTED:
      subtitle = g_strdup (_("Token rejected"));
      break;
    default:
      g_assert_not_reached ();
    }

  adw_window_title_set_subtitle (self->window_title, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->window_title), error);

  gtk_stack_set_visible_child_name (self->stack,
                                    spyglass_application_get_configured (app) ? "main" : "welcome");
}

static void
on_application_changed (SpyglassWindow *self)
{
  update_header (self);
  observe_queue (self);
}

static void
on_folders_queued (SpyglassApplication *application,
                   guint                count,
                   const char          *summary,
                   SpyglassWindow      *self)
{
  spyglass_window_add_toast (self, summary);
}

static void
on_host_paths (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(SpyglassWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;

  paths = spyglass_host_paths_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (paths == NULL)
    {
      spyglass_window_add_toast (self, error->message);
      return;
    }
  if (paths[0] == NULL)
    {
      spyglass_window_add_toast (self, _("Only local folders can be scanned"));
      return;
    }

  if (spyglass_application_add_paths (self->application, (const char * const *) paths, &error) == 0)
    spyglass_window_add_toast (self, error->message);
}

void
spyglass_window_open_files (SpyglassWindow  *self,
                            GFile          **files,
                            guint            n_files)
{
  g_return_if_fail (SPYGLASS_IS_WINDOW (self));

  if (n_files == 0)
    return;

  spyglass_host_paths_async (files, n_files, self->cancellable, on_host_paths, g_object_ref (self));
}

/* Drag and drop: a file list from any file manager (and, inside a Flatpak,
 * through the document portal), or a text/uri-list. */
static gboolean
on_drop (GtkDropTarget  *target,
         const GValue   *value,
         double          x,
         double          y,
         SpyglassWindow *self)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

  gtk_widget_remove_css_class (self->drop_zone, "drop-highlight");

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
        g_ptr_array_add (files, g_object_ref (l->data));
    }
  else if (G_VALUE_HOLDS (value, G_TYPE_STRING))
    {
      g_auto(GStrv) uris = g_uri_list_extract_uris (g_value_get_string (value));

      for (guint i = 0; uris[i] != NULL; i++)
        g_ptr_array_add (files, g_file_new_for_uri (uris[i]));
    }

  if (files->len == 0)
    return FALSE;

  if (!spyglass_application_get_configured (self->application))
    {
      spyglass_window_add_toast (self, _("Set up the Plex server first"));
      return FALSE;
    }

  spyglass_window_open_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

static GdkDragAction
on_drop_enter (GtkDropTarget  *target,
               double          x,
               double          y,
               SpyglassWindow *self)
{
  gtk_widget_add_css_class (self->drop_zone, "drop-highlight");
  return GDK_ACTION_COPY;
}

static void
on_drop_leave (GtkDropTarget  *target,
               SpyglassWindow *self)
{
  gtk_widget_remove_css_class (self->drop_zone, "drop-highlight");
}

static void
setup_drop_target (SpyglassWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY | GDK_ACTION_MOVE |
                                                                GDK_ACTION_LINK);
  GType types[] = { GDK_TYPE_FILE_LIST, G_TYPE_STRING };

  /* The file list first: GTK fills it from the portal's file transfer as
   * well as from text/uri-list; the plain string is the fallback GNOME
   * Console uses for folders some sources only offer as URIs. */
  gtk_drop_target_set_gtypes (target, types, G_N_ELEMENTS (types));
  gtk_drop_target_set_preload (target, FALSE);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  g_signal_connect (target, "enter", G_CALLBACK (on_drop_enter), self);
  g_signal_connect (target, "leave", G_CALLBACK (on_drop_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (target));
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     SpyglassWindow  *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        g_ptr_array_add (array, g_list_model_get_item (files, i));
      spyglass_window_open_files (self, (GFile **) array->pdata, array->len);
    }

  g_clear_object (&self->chooser);
}

static void
choose_folders_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SpyglassWindow *self = SPYGLASS_WINDOW (widget);

  if (!spyglass_application_get_configured (self->application))
    {
      g_action_group_activate_action (G_ACTION_GROUP (self->application), "preferences", NULL);
      return;
    }

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  self->chooser = gtk_file_chooser_native_new (_("Choose Folders to Scan"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Scan"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* The libraries a whole-library action applies to: the default one, or
 * every library the server listed. */
static GPtrArray *
target_sections (SpyglassWindow *self)
{
  GSettings *settings = spyglass_application_get_settings (self->application);
  GPtrArray *sections = spyglass_application_get_sections (self->application);
  g_autofree char *key = g_settings_get_string (settings, "default-section");
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);

  if (key[0] != '\0')
    g_ptr_array_add (keys, g_steal_pointer (&key));
  else
    for (guint i = 0; sections != NULL && i < sections->len; i++)
      g_ptr_array_add (keys, g_strdup (((SpyglassSection *) sections->pdata[i])->key));

  return keys;
}

static void
queue_libraries (SpyglassWindow *self,
                 gboolean        force)
{
  SpyglassQueue *queue = spyglass_application_get_queue (self->application);
  g_autoptr(GPtrArray) keys = NULL;

  if (queue == NULL)
    {
      spyglass_window_add_toast (self, spyglass_application_get_queue_error (self->application));
      return;
    }

  keys = target_sections (self);
  if (keys->len == 0)
    {
      spyglass_window_add_toast (self, _("No library known yet — test the connection in Preferences"));
      return;
    }

  for (guint i = 0; i < keys->len; i++)
    spyglass_queue_add_library (queue, keys->pdata[i], force);

  spyglass_window_add_toast (self, force ? _("Metadata refresh queued") : _("Library scan queued"));
}

static void
scan_library_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  queue_libraries (SPYGLASS_WINDOW (widget), FALSE);
}

static void
refresh_metadata_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  queue_libraries (SPYGLASS_WINDOW (widget), TRUE);
}

static void
on_scans_cancelled (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(SpyglassWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (spyglass_client_cancel_scan_finish (SPYGLASS_CLIENT (source), result, &error))
    spyglass_window_add_toast (self, _("Scans cancelled"));
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    spyglass_window_add_toast (self, error->message);
}

static void
cancel_scans_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SpyglassWindow *self = SPYGLASS_WINDOW (widget);
  GSettings *settings = spyglass_application_get_settings (self->application);
  g_autofree char *key = g_settings_get_string (settings, "default-section");

  spyglass_client_cancel_scan_async (spyglass_application_get_client (self->application),
                                     key[0] != '\0' ? key : NULL, self->cancellable,
                                     on_scans_cancelled, g_object_ref (self));
}

static void
on_retry (SpyglassRequestRow *row,
          SpyglassRequest    *request,
          SpyglassWindow     *self)
{
  SpyglassQueue *queue = spyglass_application_get_queue (self->application);
  const char *path = spyglass_request_get_local_path (request);

  if (queue == NULL)
    return;

  if (path != NULL)
    spyglass_queue_add_folder (queue, path, NULL, spyglass_request_get_force (request));
  else
    spyglass_queue_add_library (queue, spyglass_request_get_section_key (request),
                                spyglass_request_get_force (request));
}

static GtkWidget *
create_request_row (gpointer item,
                    gpointer user_data)
{
  SpyglassWindow *self = user_data;
  SpyglassRequestRow *row = spyglass_request_row_new (item);

  g_signal_connect_object (row, "retry", G_CALLBACK (on_retry), self, 0);
  return GTK_WIDGET (row);
}

/* For the benchmark: quit once the first frame is on screen. */
static void
on_first_frame (GdkFrameClock  *clock,
                SpyglassWindow *self)
{
  g_signal_handlers_disconnect_by_func (clock, on_first_frame, self);
  g_application_quit (G_APPLICATION (self->application));
}

static void
spyglass_window_realize (GtkWidget *widget)
{
  SpyglassWindow *self = SPYGLASS_WINDOW (widget);

  GTK_WIDGET_CLASS (spyglass_window_parent_class)->realize (widget);

  if (g_strcmp0 (g_getenv ("SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME"), "1") == 0)
    g_signal_connect (gtk_widget_get_frame_clock (widget), "after-paint",
                      G_CALLBACK (on_first_frame), self);
}

/* "application" is set after constructed(): spyglass_window_new() calls
 * this once it is. */
static void
setup_application (SpyglassWindow *self)
{
  self->application = SPYGLASS_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  if (spyglass_application_get_demo (self->application))
    {
      gtk_widget_set_visible (self->demo_label, TRUE);
      adw_window_title_set_title (self->window_title, _("Spyglass Demo"));
    }

  g_signal_connect_object (self->application, "notify::configured",
                           G_CALLBACK (on_application_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->application, "notify::connection-state",
                           G_CALLBACK (on_application_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->application, "notify::queue",
                           G_CALLBACK (on_application_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->application, "folders-queued",
                           G_CALLBACK (on_folders_queued), self, 0);
  g_signal_connect_object (self->application, "auto-scan-message",
                           G_CALLBACK (spyglass_window_add_toast), self, G_CONNECT_SWAPPED);

  on_application_changed (self);
}

static void
spyglass_window_dispose (GObject *object)
{
  SpyglassWindow *self = SPYGLASS_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  gtk_widget_dispose_template (GTK_WIDGET (self), SPYGLASS_TYPE_WINDOW);

  G_OBJECT_CLASS (spyglass_window_parent_class)->dispose (object);
}

static void
spyglass_window_finalize (GObject *object)
{
  SpyglassWindow *self = SPYGLASS_WINDOW (object);

  g_clear_object (&self->queue);
  g_clear_object (&self->recent);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->shown, g_hash_table_unref);
  g_clear_pointer (&self->last_toast, g_free);

  G_OBJECT_CLASS (spyglass_window_parent_class)->finalize (object);
}

static void
spyglass_window_class_init (SpyglassWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = spyglass_window_dispose;
  object_class->finalize = spyglass_window_finalize;
  widget_class->realize = spyglass_window_realize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/spyglass/Spyglass/spyglass-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, drop_zone);
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, demo_label);
  gtk_widget_class_bind_template_child (widget_class, SpyglassWindow, request_list);

  gtk_widget_class_install_action (widget_class, "win.choose-folders", NULL, choose_folders_action);
  gtk_widget_class_install_action (widget_class, "win.scan-library", NULL, scan_library_action);
  gtk_widget_class_install_action (widget_class, "win.refresh-metadata", NULL, refresh_metadata_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-scans", NULL, cancel_scans_action);
}

static void
spyglass_window_init (SpyglassWindow *self)
{
  GtkWidget *placeholder;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->recent = g_list_store_new (SPYGLASS_TYPE_REQUEST);
  self->shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  placeholder = gtk_label_new (_("Nothing scanned yet"));
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 18);
  gtk_widget_set_margin_bottom (placeholder, 18);
  gtk_list_box_set_placeholder (self->request_list, placeholder);
  gtk_list_box_bind_model (self->request_list, G_LIST_MODEL (self->recent),
                           create_request_row, self, NULL);

  setup_drop_target (self);
}

const char *
spyglass_window_get_page (SpyglassWindow *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
spyglass_window_get_status_text (SpyglassWindow *self)
{
  return adw_window_title_get_subtitle (self->window_title);
}

const char *
spyglass_window_get_status_tooltip (SpyglassWindow *self)
{
  return gtk_widget_get_tooltip_text (GTK_WIDGET (self->window_title));
}

const char *
spyglass_window_get_last_toast (SpyglassWindow *self)
{
  return self->last_toast;
}

GtkListBox *
spyglass_window_get_request_list (SpyglassWindow *self)
{
  return self->request_list;
}
