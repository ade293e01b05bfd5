/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-preferences-window-private.h"

/*
 * The preferences: plain settings are bound with g_settings_bind().  The
 * server address and the token are not: what is typed there is only
 * written once the user applies it (Enter or the row's apply button) or a
 * Test Connection with it succeeds, so a half-typed address never
 * reaches the application, which reconnects on every change of
 * "server-url".  The token goes to the keyring (spyglass-token-store),
 * never to GSettings.
 */

/* One entry of the library combo row. */
#define SPYGLASS_TYPE_LIBRARY_ITEM (spyglass_library_item_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassLibraryItem, spyglass_library_item, SPYGLASS, LIBRARY_ITEM, GObject)

struct _SpyglassLibraryItem
{
  GObject  parent_instance;

  char    *key;        /* section id, "" for every library */
  char    *label;      /* "Music (Section 3)" */
  char    *icon_name;
};

G_DEFINE_FINAL_TYPE (SpyglassLibraryItem, spyglass_library_item, G_TYPE_OBJECT)

enum {
  ITEM_PROP_0,
  ITEM_PROP_LABEL,
  ITEM_N_PROPS
};

static GParamSpec *item_properties[ITEM_N_PROPS];

static SpyglassLibraryItem *
spyglass_library_item_new (const char *key,
                           const char *label,
                           const char *icon_name)
{
  SpyglassLibraryItem *self = g_object_new (SPYGLASS_TYPE_LIBRARY_ITEM, NULL);

  self->key = g_strdup (key);
  self->label = g_strdup (label);
  self->icon_name = g_strdup (icon_name);
  return self;
}

static void
spyglass_library_item_finalize (GObject *object)
{
  SpyglassLibraryItem *self = SPYGLASS_LIBRARY_ITEM (object);

  g_free (self->key);
  g_free (self->label);
  g_free (self->icon_name);

  G_OBJECT_CLASS (spyglass_library_item_parent_class)->finalize (object);
}

static void
spyglass_library_item_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  SpyglassLibraryItem *self = SPYGLASS_LIBRARY_ITEM (object);

  switch (prop_id)
    {
    case ITEM_PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_library_item_class_init (SpyglassLibraryItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = spyglass_library_item_finalize;
  object_class->get_property = spyglass_library_item_get_property;

  /* For the combo row's expression: keyboard search and accessibility. */
  item_properties[ITEM_PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, ITEM_N_PROPS, item_properties);
}

static void
spyglass_library_item_init (SpyglassLibraryItem *self)
{
}

typedef enum
{
  STATUS_NONE,
  STATUS_TESTING,
  STATUS_CONNECTED,
  STATUS_ERROR,
} StatusKind;

struct _SpyglassPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  SpyglassApplication  *application;
  GSettings            *settings;          /* the application's */
  GCancellable         *cancellable;       /* cancelled when the window goes */
  GCancellable         *test_cancellable;  /* the running test, else NULL */
  GPtrArray            *sections;          /* element-type SpyglassSection, or NULL */
  GListStore           *libraries;         /* element-type SpyglassLibraryItem */
  GPtrArray            *rule_rows;         /* the rows of rules_group */
  GPtrArray            *folder_rows;       /* the rows of watch_group */
  GtkFileChooserNative *chooser;
  char                 *suggested_rule;    /* "LOCAL=PLEX" for the preview's folder */
  char                 *stored_token;      /* as loaded or last saved, wiped when freed */
  int                   editing_rule;      /* index in path-mappings, -1 for a new rule */
  gboolean              updating_libraries;
  gboolean              tested;            /* the status shows a test, not the app's check */

  /* Template widgets */
  AdwEntryRow          *url_row;
  AdwPasswordEntryRow  *token_row;
  GtkImage             *status_icon;
  GtkLabel             *status_label;
  GtkSpinner           *test_spinner;
  GtkButton            *test_button;
  AdwComboRow          *library_row;
  GtkSwitch            *auto_scan_switch;
  GtkSwitch            *refresh_switch;
  GtkSpinButton        *threshold_spin;
  AdwActionRow         *settle_delay_row;
  GtkSpinButton        *settle_delay_spin;
  AdwPreferencesGroup  *watch_group;
  GtkButton            *add_folder_button;
  AdwActionRow         *no_folders_row;
  AdwPreferencesGroup  *rules_group;
  GtkButton            *add_rule_button;
  AdwActionRow         *no_rules_row;
  AdwEntryRow          *preview_row;
  AdwActionRow         *preview_plex_row;
  AdwActionRow         *preview_library_row;
  AdwActionRow         *suggestion_row;
  GtkButton            *add_suggestion_button;
  GtkSwitch            *notify_success_switch;
  GtkSwitch            *notify_failure_switch;
  AdwMessageDialog     *rule_dialog;
  AdwEntryRow          *rule_local_row;
  AdwEntryRow          *rule_plex_row;
  GtkLabel             *rule_error_label;
};

G_DEFINE_FINAL_TYPE (SpyglassPreferencesWindow, spyglass_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* Status line */

static void
set_status (SpyglassPreferencesWindow *self,
            StatusKind                 kind,
            const char                *text)
{
  static const char *icons[] = {
    [STATUS_NONE] = "network-offline-symbolic",
    [STATUS_TESTING] = "network-transmit-receive-symbolic",
    [STATUS_CONNECTED] = "emblem-ok-symbolic",
    [STATUS_ERROR] = "dialog-error-symbolic",
  };

  gtk_label_set_text (self->status_label, text);
  gtk_image_set_from_icon_name (self->status_icon, icons[kind]);

  if (kind == STATUS_ERROR)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_icon), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_icon), "error");
  if (kind == STATUS_CONNECTED)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_icon), "success");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_icon), "success");
}

/* "Connected (Plex Media Server 1.40.0)", as `spyglass test` says it
 * without the server's name. */
static char *
describe_connected (const SpyglassServerInfo *info)
{
  g_autofree char *version = spyglass_server_info_dup_short_version (info);

  return g_strdup_printf (_("Connected (Plex Media Server %s)"),
                          version != NULL ? version : _("unknown version"));
}

/* Until the user tests, the status line shows the application's own
 * connection check. */
static void
show_application_state (SpyglassPreferencesWindow *self)
{
  const SpyglassServerInfo *info;
  g_autofree char *connected = NULL;

  if (self->tested || self->test_cancellable != NULL)
    return;

  switch (spyglass_application_get_connection_state (self->application))
    {
    case SPYGLASS_CONNECTION_UNCONFIGURED:
      set_status (self, STATUS_NONE, _("Enter the server address and the token, then test the connection"));
      break;
    case SPYGLASS_CONNECTION_CHECKING:
      set_status (self, STATUS_TESTING, _("Checking the connection…"));
      break;
    case SPYGLASS_CONNECTION_CONNECTED:
      info = spyglass_application_get_server_info (self->application);
      if (info == NULL)
        break;
      connected = describe_connected (info);
      set_status (self, STATUS_CONNECTED, connected);
      break;
    case SPYGLASS_CONNECTION_UNREACHABLE:
    case SPYGLASS_CONNECTION_REJECTED:
    default:
      set_status (self, STATUS_ERROR, spyglass_application_get_connection_error (self->application));
      break;
    }
}

/* Library */

static const char *
section_icon_name (const char *type)
{
  if (g_strcmp0 (type, "artist") == 0)
    return "audio-x-generic-symbolic";
  if (g_strcmp0 (type, "movie") == 0)
    return "video-x-generic-symbolic";
  if (g_strcmp0 (type, "show") == 0)
    return "video-display-symbolic";
  if (g_strcmp0 (type, "photo") == 0)
    return "image-x-generic-symbolic";
  return "folder-symbolic";
}

static char *
describe_section (const SpyglassSection *section)
{
  /* Translators: a library in a list, e.g. "Music (Section 3)". */
  return g_strdup_printf (_("%s (Section %s)"), section->title, section->key);
}

static SpyglassSection *
find_section (GPtrArray  *sections,
              const char *key)
{
  for (guint i = 0; sections != NULL && i < sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (sections, i);

      if (g_strcmp0 (section->key, key) == 0)
        return section;
    }
  return NULL;
}

static const char *default_library_subtitle (void);

/* Selects the remembered library, or says why it cannot. */
static void
rebuild_libraries (SpyglassPreferencesWindow *self)
{
  g_autofree char *chosen = g_settings_get_string (self->settings, "default-section");
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *subtitle = NULL;
  guint selected = 0;

  g_ptr_array_add (items, spyglass_library_item_new ("", _("All libraries that contain the folder"),
                                                     "view-list-symbolic"));

  for (guint i = 0; self->sections != NULL && i < self->sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (self->sections, i);
      g_autofree char *label = describe_section (section);

      if (g_strcmp0 (section->key, chosen) == 0)
        selected = items->len;
      g_ptr_array_add (items, spyglass_library_item_new (section->key, label,
                                                         section_icon_name (section->type)));
    }

  /* The remembered library is not in the list: keep it chosen (nothing
   * changes behind the user's back) and say why it is not there. */
  if (chosen[0] != '\0' && selected == 0)
    {
      g_autofree char *label = NULL;

      if (self->sections != NULL)
        {
          /* Translators: a library the server no longer has; %s is its id. */
          label = g_strdup_printf (_("Section %s (no longer on the server)"), chosen);
          /* Translators: %s is a library's section id. */
          subtitle = g_strdup_printf (_("The library chosen before (section %s) is no longer on the server"),
                                      chosen);
        }
      else
        {
          /* Translators: a library whose name is not known yet; %s is its id. */
          label = g_strdup_printf (_("Section %s"), chosen);
          subtitle = g_strdup (_("Test the connection to list the server’s libraries"));
        }

      selected = items->len;
      g_ptr_array_add (items, spyglass_library_item_new (chosen, label, "dialog-warning-symbolic"));
    }
  else if (self->sections == NULL)
    subtitle = g_strdup (_("Test the connection to list the server’s libraries"));

  self->updating_libraries = TRUE;
  g_list_store_splice (self->libraries, 0, g_list_model_get_n_items (G_LIST_MODEL (self->libraries)),
                       items->pdata, items->len);
  adw_combo_row_set_selected (self->library_row, selected);
  self->updating_libraries = FALSE;

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->library_row),
                               subtitle != NULL ? subtitle : default_library_subtitle ());
}

static const char *
default_library_subtitle (void)
{
  return _("Where a folder goes when it lies in several libraries");
}

/* After a change of "default-section": select it if it is listed. */
static void
sync_library_selection (SpyglassPreferencesWindow *self)
{
  g_autofree char *chosen = g_settings_get_string (self->settings, "default-section");
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->libraries));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SpyglassLibraryItem) item = g_list_model_get_item (G_LIST_MODEL (self->libraries), i);

      if (g_str_equal (item->key, chosen) &&
          (chosen[0] == '\0' || find_section (self->sections, chosen) != NULL))
        {
          self->updating_libraries = TRUE;
          adw_combo_row_set_selected (self->library_row, i);
          self->updating_libraries = FALSE;
          adw_action_row_set_subtitle (ADW_ACTION_ROW (self->library_row), default_library_subtitle ());
          return;
        }
    }

  rebuild_libraries (self);
}

static void
library_row_selected_cb (SpyglassPreferencesWindow *self)
{
  SpyglassLibraryItem *item;

  if (self->updating_libraries)
    return;

  item = adw_combo_row_get_selected_item (self->library_row);
  if (item != NULL)
    g_settings_set_string (self->settings, "default-section", item->key);
}

static void
library_item_setup_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *list_item)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *image = g_object_new (GTK_TYPE_IMAGE,
                                   "accessible-role", GTK_ACCESSIBLE_ROLE_PRESENTATION,
                                   NULL);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (box), image);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (list_item, box);
}

static void
library_item_bind_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *list_item)
{
  SpyglassLibraryItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *image = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (image);

  gtk_image_set_from_icon_name (GTK_IMAGE (image), item->icon_name);
  gtk_label_set_text (GTK_LABEL (label), item->label);
}

static void
set_sections (SpyglassPreferencesWindow *self,
              GPtrArray                 *sections);

static void
application_sections_cb (SpyglassPreferencesWindow *self)
{
  GPtrArray *sections = spyglass_application_get_sections (self->application);

  /* NULL only means the application is checking again: keep what the
   * last test listed. */
  if (sections != NULL)
    set_sections (self, sections);
}

/* Path mappings */

/* The stored rules, in order.  Rules that would not be accepted (edited
 * by hand) are skipped, as the application skips them. */
static SpyglassPathMap *
load_path_map (SpyglassPreferencesWindow *self)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  SpyglassPathMap *map = spyglass_path_map_new ();
  GVariantIter iter;
  const char *local, *plex;

  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&s&s)", &local, &plex))
    spyglass_path_map_add_rule (map, local, plex, NULL);

  return map;
}

/* Replaces rule @index of "path-mappings" with LOCAL → PLEX, or adds it
 * when @index is -1 (replacing a rule for the same local folder, which
 * would otherwise win over it).  Both are checked and stored normalized. */
static gboolean
store_rule (SpyglassPreferencesWindow  *self,
            int                         index,
            const char                 *local,
            const char                 *plex,
            GError                    **error)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  g_autoptr(SpyglassPathMap) checked = spyglass_path_map_new ();
  GVariantBuilder builder;
  const char *new_local, *new_plex;
  gsize n = g_variant_n_children (rules);
  gboolean stored = FALSE;

  if (!spyglass_path_map_add_rule (checked, local, plex, error))
    return FALSE;
  spyglass_path_map_get_rule (checked, 0, &new_local, &new_plex);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (gsize i = 0; i < n; i++)
    {
      const char *old_local, *old_plex;
      g_autofree char *normalized = NULL;

      g_variant_get_child (rules, i, "(&s&s)", &old_local, &old_plex);
      normalized = spyglass_path_normalize (old_local);

      if ((index >= 0 && (gsize) index == i) ||
          (index < 0 && g_str_equal (normalized, new_local)))
        {
          if (!stored)
            g_variant_builder_add (&builder, "(ss)", new_local, new_plex);
          stored = TRUE;
        }
      else
        g_variant_builder_add (&builder, "(ss)", old_local, old_plex);
    }
  if (!stored)
    g_variant_builder_add (&builder, "(ss)", new_local, new_plex);

  g_settings_set_value (self->settings, "path-mappings", g_variant_builder_end (&builder));
  return TRUE;
}

static void
remove_rule (SpyglassPreferencesWindow *self,
             guint                      index)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  GVariantBuilder builder;
  gsize n = g_variant_n_children (rules);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) rule = g_variant_get_child_value (rules, i);

      if (i != index)
        g_variant_builder_add_value (&builder, rule);
    }

  g_settings_set_value (self->settings, "path-mappings", g_variant_builder_end (&builder));
}

static void
update_rule_dialog (SpyglassPreferencesWindow *self)
{
  const char *local = gtk_editable_get_text (GTK_EDITABLE (self->rule_local_row));
  const char *plex = gtk_editable_get_text (GTK_EDITABLE (self->rule_plex_row));
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GError) error = NULL;
  gboolean valid;

  valid = spyglass_path_map_add_rule (map, local, plex, &error);
  adw_message_dialog_set_response_enabled (self->rule_dialog, "save", valid);

  /* No complaint about a field not filled in yet. */
  gtk_widget_set_visible (GTK_WIDGET (self->rule_error_label),
                          !valid && local[0] != '\0' && plex[0] != '\0');
  gtk_label_set_text (self->rule_error_label, valid ? "" : error->message);
}

static void
rule_row_changed_cb (SpyglassPreferencesWindow *self)
{
  update_rule_dialog (self);
}

static void
show_rule_dialog (SpyglassPreferencesWindow *self,
                  int                        index,
                  const char                *local,
                  const char                *plex)
{
  self->editing_rule = index;
  adw_message_dialog_set_heading (self->rule_dialog, index < 0 ? _("Add Rule") : _("Edit Rule"));
  gtk_editable_set_text (GTK_EDITABLE (self->rule_local_row), local);
  gtk_editable_set_text (GTK_EDITABLE (self->rule_plex_row), plex);
  update_rule_dialog (self);
  gtk_window_present (GTK_WINDOW (self->rule_dialog));
  gtk_widget_grab_focus (GTK_WIDGET (local[0] == '\0' ? self->rule_local_row : self->rule_plex_row));
}

static void
add_rule_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  show_rule_dialog (self, -1, "", "");
}

static void
rule_dialog_response_cb (SpyglassPreferencesWindow *self,
                         const char                *response)
{
  g_autoptr(GError) error = NULL;

  if (g_str_equal (response, "save") &&
      !store_rule (self, self->editing_rule,
                   gtk_editable_get_text (GTK_EDITABLE (self->rule_local_row)),
                   gtk_editable_get_text (GTK_EDITABLE (self->rule_plex_row)),
                   &error))
    {
      /* The button is only enabled for a valid rule; say so anyway. */
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
    }

  gtk_window_close (GTK_WINDOW (self->rule_dialog));
}

static void
edit_rule_clicked_cb (GtkButton                 *button,
                      SpyglassPreferencesWindow *self)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "rule-index"));
  const char *local, *plex;

  if (index >= g_variant_n_children (rules))
    return;

  g_variant_get_child (rules, index, "(&s&s)", &local, &plex);
  show_rule_dialog (self, (int) index, local, plex);
}

static void
remove_rule_clicked_cb (GtkButton                 *button,
                        SpyglassPreferencesWindow *self)
{
  remove_rule (self, GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "rule-index")));
  gtk_widget_grab_focus (GTK_WIDGET (self->add_rule_button));
}

static GtkWidget *
row_button_new (const char *icon_name,
                const char *tooltip,
                const char *accessible_label)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon_name);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible_label,
                                  -1);
  return button;
}

static void
rebuild_rules (SpyglassPreferencesWindow *self)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  gsize n = g_variant_n_children (rules);

  for (guint i = 0; i < self->rule_rows->len; i++)
    adw_preferences_group_remove (self->rules_group, g_ptr_array_index (self->rule_rows, i));
  g_ptr_array_set_size (self->rule_rows, 0);

  for (gsize i = 0; i < n; i++)
    {
      const char *local, *plex;
      g_autofree char *subtitle = NULL;
      g_autofree char *edit_label = NULL;
      g_autofree char *remove_label = NULL;
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *edit, *remove;

      g_variant_get_child (rules, i, "(&s&s)", &local, &plex);
      /* Translators: the Plex side of a path mapping rule. */
      subtitle = g_strdup_printf (_("On the server: %s"), plex);
      /* Translators: an icon button's accessible name; %s is a folder. */
      edit_label = g_strdup_printf (_("Edit the rule for %s"), local);
      /* Translators: an icon button's accessible name; %s is a folder. */
      remove_label = g_strdup_printf (_("Remove the rule for %s"), local);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), local);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

      edit = row_button_new ("document-edit-symbolic", _("Edit Rule"), edit_label);
      g_object_set_data (G_OBJECT (edit), "rule-index", GUINT_TO_POINTER (i));
      g_signal_connect (edit, "clicked", G_CALLBACK (edit_rule_clicked_cb), self);
      remove = row_button_new ("user-trash-symbolic", _("Remove Rule"), remove_label);
      g_object_set_data (G_OBJECT (remove), "rule-index", GUINT_TO_POINTER (i));
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_rule_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), edit);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), edit);

      adw_preferences_group_add (self->rules_group, row);
      g_ptr_array_add (self->rule_rows, row);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->no_rules_row), n == 0);
}

/* Watched folders */

static gboolean
folders_contain (GPtrArray  *folders,
                 const char *folder)
{
  for (guint i = 0; i < folders->len; i++)
    {
      g_autofree char *normalized = spyglass_path_normalize (g_ptr_array_index (folders, i));

      if (g_str_equal (normalized, folder))
        return TRUE;
    }
  return FALSE;
}

/* Adds the chosen folders to "watch-folders", normalized as the
 * application watches them, each once. */
void
spyglass_preferences_window_add_watch_folders (SpyglassPreferencesWindow *self,
                                               GListModel                *folders)
{
  g_auto(GStrv) stored = NULL;
  g_autoptr(GPtrArray) updated = NULL;
  guint n, n_stored;
  gboolean not_local = FALSE;

  g_return_if_fail (SPYGLASS_IS_PREFERENCES_WINDOW (self));
  g_return_if_fail (G_IS_LIST_MODEL (folders));

  stored = g_settings_get_strv (self->settings, "watch-folders");
  n_stored = g_strv_length (stored);
  updated = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_stored; i++)
    g_ptr_array_add (updated, g_strdup (stored[i]));

  n = g_list_model_get_n_items (folders);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (folders, i);
      g_autofree char *path = g_file_get_path (file);
      g_autofree char *normalized = NULL;

      if (path == NULL || !g_path_is_absolute (path))
        {
          not_local = TRUE;
          continue;
        }

      normalized = spyglass_path_normalize (path);
      if (!folders_contain (updated, normalized))
        g_ptr_array_add (updated, g_steal_pointer (&normalized));
    }

  if (not_local)
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                      adw_toast_new (_("This folder is not a local folder")));

  if (updated->len > n_stored)
    {
      g_ptr_array_add (updated, NULL);
      g_settings_set_strv (self->settings, "watch-folders", (const char * const *) updated->pdata);
    }
}

static void
remove_watch_folder (SpyglassPreferencesWindow *self,
                     const char                *folder)
{
  g_auto(GStrv) stored = g_settings_get_strv (self->settings, "watch-folders");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) updated = NULL;

  for (guint i = 0; stored[i] != NULL; i++)
    if (!g_str_equal (stored[i], folder))
      g_strv_builder_add (builder, stored[i]);

  updated = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "watch-folders", (const char * const *) updated);
}

static void
remove_folder_clicked_cb (GtkButton                 *button,
                          SpyglassPreferencesWindow *self)
{
  /* Copied: rebuilding the rows frees the button's data. */
  g_autofree char *folder = g_strdup (g_object_get_data (G_OBJECT (button), "watch-folder"));

  remove_watch_folder (self, folder);
  gtk_widget_grab_focus (GTK_WIDGET (self->add_folder_button));
}

static GtkWidget *
folder_row_new (const char *path)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *name = g_path_get_basename (path);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), path);
  return row;
}

/* The local folders of the path mappings (read-only: they go with their
 * rule), then the added ones, each with a remove button. */
static void
rebuild_folders (SpyglassPreferencesWindow *self)
{
  g_autoptr(GVariant) rules = g_settings_get_value (self->settings, "path-mappings");
  g_auto(GStrv) folders = g_settings_get_strv (self->settings, "watch-folders");
  g_autoptr(GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GVariantIter iter;
  const char *local, *plex;

  for (guint i = 0; i < self->folder_rows->len; i++)
    adw_preferences_group_remove (self->watch_group, g_ptr_array_index (self->folder_rows, i));
  g_ptr_array_set_size (self->folder_rows, 0);

  /* An added folder that is also a mapping's is listed once, as added. */
  for (guint i = 0; folders[i] != NULL; i++)
    g_hash_table_add (shown, spyglass_path_normalize (folders[i]));

  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&s&s)", &local, &plex))
    {
      g_autofree char *normalized = NULL;
      GtkWidget *row, *label;

      if (local[0] != '/')
        continue;
      normalized = spyglass_path_normalize (local);
      if (normalized == NULL || g_hash_table_contains (shown, normalized))
        continue;

      row = folder_row_new (normalized);
      label = gtk_label_new (_("Path mapping"));
      gtk_widget_add_css_class (label, "dim-label");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);

      adw_preferences_group_add (self->watch_group, row);
      g_ptr_array_add (self->folder_rows, row);
      g_hash_table_add (shown, g_steal_pointer (&normalized));
    }

  for (guint i = 0; folders[i] != NULL; i++)
    {
      g_autofree char *remove_label = NULL;
      GtkWidget *row = folder_row_new (folders[i]);
      GtkWidget *remove;

      /* Translators: an icon button's accessible name; %s is a folder. */
      remove_label = g_strdup_printf (_("Stop watching %s"), folders[i]);
      remove = row_button_new ("user-trash-symbolic", _("Remove Folder"), remove_label);
      g_object_set_data_full (G_OBJECT (remove), "watch-folder", g_strdup (folders[i]), g_free);
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_folder_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);

      adw_preferences_group_add (self->watch_group, row);
      g_ptr_array_add (self->folder_rows, row);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->no_folders_row), self->folder_rows->len == 0);
}

/* Preview */

static void
update_preview (SpyglassPreferencesWindow *self)
{
  g_autofree char *local = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->preview_row)));
  g_autoptr(SpyglassPathMap) map = NULL;
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *plex = NULL;
  g_autofree char *suggestion = NULL;

  g_clear_pointer (&self->suggested_rule, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->suggestion_row), FALSE);

  if (local[0] == '\0')
    {
      gtk_widget_set_visible (GTK_WIDGET (self->preview_plex_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->preview_library_row), FALSE);
      return;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->preview_plex_row), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->preview_library_row), TRUE);

  if (local[0] != '/')
    {
      adw_action_row_set_subtitle (self->preview_plex_row, "");
      adw_action_row_set_subtitle (self->preview_library_row,
                                   _("A folder on this computer starts with “/”"));
      return;
    }

  map = load_path_map (self);
  plex = spyglass_path_map_apply (map, local);
  adw_action_row_set_subtitle (self->preview_plex_row, plex);

  if (self->sections == NULL)
    {
      adw_action_row_set_subtitle (self->preview_library_row,
                                   _("Test the connection to see the library"));
      return;
    }

  targets = spyglass_route_local_path (map, local, self->sections, NULL, FALSE, &error);
  if (targets != NULL)
    {
      g_autoptr(GString) libraries = g_string_new (NULL);

      for (guint i = 0; i < targets->len; i++)
        {
          SpyglassScanTarget *target = g_ptr_array_index (targets, i);
          g_autofree char *label = describe_section (target->section);

          if (libraries->len > 0)
            g_string_append (libraries, ", ");
          g_string_append (libraries, label);
        }
      adw_action_row_set_subtitle (self->preview_library_row, libraries->str);
      return;
    }

  adw_action_row_set_subtitle (self->preview_library_row, error->message);

  /* The rule would start from the folder as typed, before any mapping. */
  suggestion = spyglass_route_suggest_mapping (local, self->sections);
  if (suggestion != NULL)
    {
      g_autoptr(SpyglassPathMap) suggested = spyglass_path_map_new ();
      const char *rule_local, *rule_plex;
      g_autofree char *text = NULL;

      if (spyglass_path_map_add_rule_string (suggested, suggestion, NULL))
        {
          spyglass_path_map_get_rule (suggested, 0, &rule_local, &rule_plex);
          text = g_strdup_printf ("%s → %s", rule_local, rule_plex);
          adw_action_row_set_subtitle (self->suggestion_row, text);
          gtk_widget_set_visible (GTK_WIDGET (self->suggestion_row), TRUE);
          self->suggested_rule = g_steal_pointer (&suggestion);
        }
    }
}

static void
preview_row_changed_cb (SpyglassPreferencesWindow *self)
{
  update_preview (self);
}

static void
add_suggestion_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  g_autoptr(SpyglassPathMap) map = spyglass_path_map_new ();
  g_autoptr(GError) error = NULL;
  const char *local, *plex;

  if (self->suggested_rule == NULL)
    return;

  if (!spyglass_path_map_add_rule_string (map, self->suggested_rule, &error))
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
      return;
    }

  spyglass_path_map_get_rule (map, 0, &local, &plex);
  if (!store_rule (self, -1, local, plex, &error))
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
  gtk_widget_grab_focus (GTK_WIDGET (self->preview_row));
}

static void
set_sections (SpyglassPreferencesWindow *self,
              GPtrArray                 *sections)
{
  if (sections == self->sections)
    return;

  g_clear_pointer (&self->sections, g_ptr_array_unref);
  if (sections != NULL)
    self->sections = g_ptr_array_ref (sections);

  rebuild_libraries (self);
  update_preview (self);
}

/* Choosing a folder, for the preview or a rule */

static void
chooser_response_cb (GtkNativeDialog           *chooser,
                     int                        response,
                     SpyglassPreferencesWindow *self)
{
  GtkEditable *target = g_object_get_data (G_OBJECT (chooser), "target");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        gtk_editable_set_text (target, path);
      else
        adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                          adw_toast_new (_("This folder is not a local folder")));
    }

  g_clear_object (&self->chooser);
}

static void
choose_folder (SpyglassPreferencesWindow *self,
               GtkWindow                 *parent,
               GtkEditable               *target)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  self->chooser = gtk_file_chooser_native_new (_("Choose a Folder"), parent,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_object_set_data (G_OBJECT (self->chooser), "target", target);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
preview_choose_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  choose_folder (self, GTK_WINDOW (self), GTK_EDITABLE (self->preview_row));
}

static void
rule_choose_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  choose_folder (self, GTK_WINDOW (self->rule_dialog), GTK_EDITABLE (self->rule_local_row));
}

static void
watch_chooser_response_cb (GtkNativeDialog           *chooser,
                           int                        response,
                           SpyglassPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));

      spyglass_preferences_window_add_watch_folders (self, files);
    }

  g_clear_object (&self->chooser);
}

static void
add_folder_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  self->chooser = gtk_file_chooser_native_new (_("Add Folders to Watch"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Add"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (watch_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Server: applying, testing, saving */

static void
wipe_string (char *text)
{
  if (text != NULL)
    memset (text, 0, strlen (text));
  g_free (text);
}

/* A string wiped before it is freed: g_auto(SecretString). */
typedef char *SecretString;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SecretString, wipe_string, NULL)

typedef struct
{
  SpyglassApplication *application;
  GWeakRef             window;
  char                *token;
} TokenSave;

static void
token_save_free (TokenSave *save)
{
  g_object_unref (save->application);
  g_weak_ref_clear (&save->window);
  memset (save->token, 0, strlen (save->token));
  g_free (save->token);
  g_free (save);
}

static void
token_saved_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TokenSave *save = user_data;
  g_autoptr(SpyglassPreferencesWindow) self = g_weak_ref_get (&save->window);
  g_autoptr(GError) error = NULL;
  SpyglassTokenLocation location = SPYGLASS_TOKEN_LOCATION_NONE;

  if (spyglass_token_store_save_finish (result, &location, &error))
    {
      spyglass_application_set_token (save->application, save->token);
      if (self != NULL && location == SPYGLASS_TOKEN_LOCATION_FILE)
        adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                          adw_toast_new (_("No keyring answered: the token is stored in a file only you can read")));
    }
  else if (self != NULL)
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
  else
    g_warning ("Could not store the Plex token: %s", error->message);

  token_save_free (save);
}

/* Not cancelled with the window: a token the user applied is stored even
 * when the window closes right after. */
static void
save_token (SpyglassPreferencesWindow *self,
            const char                *token)
{
  TokenSave *save;

  /* The keyring is not rewritten for every test. */
  if (g_strcmp0 (token, self->stored_token) == 0)
    return;
  wipe_string (self->stored_token);
  self->stored_token = g_strdup (token);

  save = g_new0 (TokenSave, 1);

  save->application = g_object_ref (self->application);
  g_weak_ref_init (&save->window, self);
  save->token = g_strdup (token);
  spyglass_token_store_save_async (token, NULL, token_saved_cb, save);
}

static void
save_address (SpyglassPreferencesWindow *self,
              const char                *address)
{
  g_autofree char *stored = g_settings_get_string (self->settings, "server-url");

  if (!g_str_equal (stored, address))
    g_settings_set_string (self->settings, "server-url", address);
}

static char *
dup_stripped_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}


static void
url_row_apply_cb (SpyglassPreferencesWindow *self)
{
  g_autofree char *address = dup_stripped_text (self->url_row);
  g_autofree char *base_url = NULL;
  g_autoptr(GError) error = NULL;

  if (address[0] != '\0')
    {
      base_url = spyglass_address_normalize (address, &error);
      if (base_url == NULL)
        {
          gtk_widget_add_css_class (GTK_WIDGET (self->url_row), "error");
          set_status (self, STATUS_ERROR, error->message);
          self->tested = TRUE;
          return;
        }
    }

  /* The application checks the connection again: show that. */
  self->tested = FALSE;
  save_address (self, address);
  show_application_state (self);
}

static void
token_row_apply_cb (SpyglassPreferencesWindow *self)
{
  g_auto(SecretString) token = dup_stripped_text (self->token_row);

  if (token[0] == '\0')
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->token_row), "error");
      set_status (self, STATUS_ERROR, _("Enter the Plex token"));
      self->tested = TRUE;
      return;
    }

  self->tested = FALSE;
  save_token (self, token);
}

static void
connection_row_changed_cb (SpyglassPreferencesWindow *self,
                           GtkEditable               *row)
{
  gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
}

static void
set_testing (SpyglassPreferencesWindow *self,
             gboolean                   testing)
{
  gtk_widget_set_visible (GTK_WIDGET (self->test_spinner), testing);
  gtk_spinner_set_spinning (self->test_spinner, testing);
  gtk_button_set_label (self->test_button, testing ? _("_Cancel") : _("_Test Connection"));
}

typedef struct
{
  SpyglassPreferencesWindow *self;
  SpyglassClient            *client;
  GCancellable              *cancellable;
  char                      *address;  /* as typed */
  char                      *token;
} ConnectionTest;

static void
connection_test_free (ConnectionTest *test)
{
  g_object_unref (test->self);
  g_object_unref (test->client);
  g_object_unref (test->cancellable);
  g_free (test->address);
  wipe_string (test->token);
  g_free (test);
}

static void
finish_test (ConnectionTest *test)
{
  SpyglassPreferencesWindow *self = test->self;

  if (self->test_cancellable == test->cancellable)
    {
      g_clear_object (&self->test_cancellable);
      set_testing (self, FALSE);
    }
  connection_test_free (test);
}

static void
test_sections_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ConnectionTest *test = user_data;
  SpyglassPreferencesWindow *self = test->self;
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;

  sections = spyglass_client_list_sections_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (test->cancellable))
    {
      connection_test_free (test);
      return;
    }

  if (sections != NULL)
    set_sections (self, sections);
  else
    {
      g_autofree char *message = NULL;

      /* Translators: %s says why, e.g. "Plex request timeout". */
      message = g_strdup_printf (_("Could not list the libraries: %s"), error->message);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->library_row), message);
    }

  finish_test (test);
}

static void
test_server_info_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  ConnectionTest *test = user_data;
  SpyglassPreferencesWindow *self = test->self;
  g_autoptr(SpyglassServerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *connected = NULL;

  info = spyglass_client_get_server_info_finish (test->client, result, &error);
  if (g_cancellable_is_cancelled (test->cancellable))
    {
      connection_test_free (test);
      return;
    }

  if (info == NULL)
    {
      if (g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_TOKEN))
        gtk_widget_add_css_class (GTK_WIDGET (self->token_row), "error");
      set_status (self, STATUS_ERROR, error->message);
      finish_test (test);
      return;
    }

  connected = describe_connected (info);
  set_status (self, STATUS_CONNECTED, connected);

  /* What worked is what the application uses from now on. */
  save_address (self, test->address);
  save_token (self, test->token);

  spyglass_client_list_sections_async (test->client, test->cancellable, test_sections_cb, test);
}

static void
start_test (SpyglassPreferencesWindow *self)
{
  g_autofree char *address = dup_stripped_text (self->url_row);
  g_auto(SecretString) token = dup_stripped_text (self->token_row);
  g_autofree char *base_url = NULL;
  g_autofree char *pinned = NULL;
  g_autoptr(GError) error = NULL;
  SpyglassClient *app_client = spyglass_application_get_client (self->application);
  ConnectionTest *test;

  self->tested = TRUE;

  base_url = spyglass_address_normalize (address, &error);
  if (base_url == NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->url_row), "error");
      set_status (self, STATUS_ERROR, error->message);
      return;
    }
  if (token[0] == '\0')
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->token_row), "error");
      set_status (self, STATUS_ERROR, _("Enter the Plex token"));
      return;
    }

  test = g_new0 (ConnectionTest, 1);
  test->self = g_object_ref (self);
  test->address = g_steal_pointer (&address);
  test->token = g_strdup (token);
  test->cancellable = g_cancellable_new ();

  /* A client of its own, from what is typed, with the application's
   * identity and limits. */
  test->client = spyglass_client_new (base_url, token);
  spyglass_client_set_client_id (test->client, spyglass_client_get_client_id (app_client));
  spyglass_client_set_timeout (test->client, g_settings_get_uint (self->settings, "request-timeout"));
  pinned = g_settings_get_string (self->settings, "pinned-certificate");
  if (pinned[0] != '\0')
    spyglass_client_set_pinned_certificate (test->client, pinned);

  self->test_cancellable = g_object_ref (test->cancellable);
  set_testing (self, TRUE);
  set_status (self, STATUS_TESTING, _("Testing the connection…"));

  spyglass_client_get_server_info_async (test->client, test->cancellable, test_server_info_cb, test);
}

static void
cancel_test (SpyglassPreferencesWindow *self)
{
  g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
  set_testing (self, FALSE);

  /* After "Connected", only the library list was still coming. */
  if (gtk_widget_has_css_class (GTK_WIDGET (self->status_icon), "success"))
    return;
  set_status (self, STATUS_NONE, _("Test cancelled"));
}

static void
test_button_clicked_cb (SpyglassPreferencesWindow *self)
{
  if (self->test_cancellable != NULL)
    cancel_test (self);
  else
    start_test (self);
}

static void
token_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SpyglassPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(SecretString) token = NULL;

  token = spyglass_token_store_load_finish (result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
      return;
    }

  if (token == NULL)
    return;
  if (self->stored_token == NULL)
    self->stored_token = g_strdup (token);
  /* What the user typed meanwhile wins. */
  if (gtk_editable_get_text (GTK_EDITABLE (self->token_row))[0] == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->token_row), token);
}

static void
settings_changed_cb (SpyglassPreferencesWindow *self,
                     const char                *key)
{
  if (g_str_equal (key, "default-section"))
    sync_library_selection (self);
  else if (g_str_equal (key, "path-mappings"))
    {
      rebuild_rules (self);
      rebuild_folders (self);
      update_preview (self);
    }
  else if (g_str_equal (key, "watch-folders"))
    rebuild_folders (self);
  else if (g_str_equal (key, "server-url"))
    {
      g_autofree char *address = g_settings_get_string (self->settings, "server-url");
      g_autofree char *typed = dup_stripped_text (self->url_row);

      /* Changed elsewhere (the command line): show it. */
      if (!g_str_equal (address, typed))
        gtk_editable_set_text (GTK_EDITABLE (self->url_row), address);
    }
}

static void
setup_application (SpyglassPreferencesWindow *self,
                   SpyglassApplication       *application)
{
  g_autofree char *address = NULL;

  self->application = g_object_ref (application);
  self->settings = g_object_ref (spyglass_application_get_settings (application));

  g_settings_bind (self->settings, "auto-scan", self->auto_scan_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "refresh-metadata", self->refresh_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "full-scan-threshold", self->threshold_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "settle-delay", self->settle_delay_spin, "value", G_SETTINGS_BIND_DEFAULT);
  /* What only auto-scan uses is greyed out without it; the group's
   * description says so. */
  g_settings_bind (self->settings, "auto-scan", self->settle_delay_row, "sensitive", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "auto-scan", self->watch_group, "sensitive", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "notify-success", self->notify_success_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "notify-failure", self->notify_failure_switch, "active", G_SETTINGS_BIND_DEFAULT);

  address = g_settings_get_string (self->settings, "server-url");
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), address);

  g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::connection-state", G_CALLBACK (show_application_state),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::sections", G_CALLBACK (application_sections_cb),
                           self, G_CONNECT_SWAPPED);

  self->sections = spyglass_application_get_sections (application);
  if (self->sections != NULL)
    g_ptr_array_ref (self->sections);

  rebuild_libraries (self);
  rebuild_rules (self);
  rebuild_folders (self);
  update_preview (self);
  show_application_state (self);

  spyglass_token_store_load_async (self->cancellable, token_loaded_cb, g_object_ref (self));
}

GtkWidget *
spyglass_preferences_window_new (SpyglassApplication *application,
                                 GtkWindow           *parent)
{
  SpyglassPreferencesWindow *self;

  g_return_val_if_fail (SPYGLASS_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (SPYGLASS_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  setup_application (self, application);
  return GTK_WIDGET (self);
}

/* Closing the window (gtk_window_destroy() unrealizes it, but the
 * pending operations still hold it, so no dispose yet) stops a running
 * test and the token lookup. */
static void
cancel_operations (SpyglassPreferencesWindow *self)
{
  g_cancellable_cancel (self->cancellable);
  if (self->test_cancellable != NULL)
    g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
}

static void
spyglass_preferences_window_unrealize (GtkWidget *widget)
{
  cancel_operations (SPYGLASS_PREFERENCES_WINDOW (widget));

  GTK_WIDGET_CLASS (spyglass_preferences_window_parent_class)->unrealize (widget);
}

static void
spyglass_preferences_window_dispose (GObject *object)
{
  SpyglassPreferencesWindow *self = SPYGLASS_PREFERENCES_WINDOW (object);

  cancel_operations (self);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* A toplevel of the template: it is not destroyed with the window. */
  if (self->rule_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->rule_dialog));

  gtk_widget_dispose_template (GTK_WIDGET (self), SPYGLASS_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (spyglass_preferences_window_parent_class)->dispose (object);
}

static void
spyglass_preferences_window_finalize (GObject *object)
{
  SpyglassPreferencesWindow *self = SPYGLASS_PREFERENCES_WINDOW (object);

  g_clear_object (&self->application);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->libraries);
  g_clear_pointer (&self->sections, g_ptr_array_unref);
  g_clear_pointer (&self->rule_rows, g_ptr_array_unref);
  g_clear_pointer (&self->folder_rows, g_ptr_array_unref);
  g_clear_pointer (&self->suggested_rule, g_free);
  g_clear_pointer (&self->stored_token, wipe_string);

  G_OBJECT_CLASS (spyglass_preferences_window_parent_class)->finalize (object);
}

static void
spyglass_preferences_window_class_init (SpyglassPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = spyglass_preferences_window_dispose;
  object_class->finalize = spyglass_preferences_window_finalize;
  widget_class->unrealize = spyglass_preferences_window_unrealize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/spyglass/Spyglass/spyglass-preferences-window.ui");

  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, token_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, status_icon);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, test_spinner);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, test_button);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, library_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, auto_scan_switch);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, refresh_switch);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, settle_delay_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, settle_delay_spin);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, watch_group);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, add_folder_button);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, no_folders_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, rules_group);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, add_rule_button);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, no_rules_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, preview_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, preview_plex_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, preview_library_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, suggestion_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, add_suggestion_button);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, notify_success_switch);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, notify_failure_switch);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, rule_dialog);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, rule_local_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, rule_plex_row);
  gtk_widget_class_bind_template_child (widget_class, SpyglassPreferencesWindow, rule_error_label);

  gtk_widget_class_bind_template_callback (widget_class, url_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, token_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, connection_row_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, test_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, library_row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_rule_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, preview_row_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, preview_choose_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_suggestion_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, rule_dialog_response_cb);
  gtk_widget_class_bind_template_callback (widget_class, rule_row_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, rule_choose_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_folder_button_clicked_cb);
}

static void
spyglass_preferences_window_init (SpyglassPreferencesWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = NULL;
  g_autoptr(GtkExpression) expression = NULL;

  self->cancellable = g_cancellable_new ();
  self->libraries = g_list_store_new (SPYGLASS_TYPE_LIBRARY_ITEM);
  self->rule_rows = g_ptr_array_new ();
  self->folder_rows = g_ptr_array_new ();
  self->editing_rule = -1;

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_window_set_transient_for (GTK_WINDOW (self->rule_dialog), GTK_WINDOW (self));

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (library_item_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (library_item_bind_cb), NULL);
  expression = gtk_property_expression_new (SPYGLASS_TYPE_LIBRARY_ITEM, NULL, "label");
  adw_combo_row_set_expression (self->library_row, expression);
  adw_combo_row_set_factory (self->library_row, factory);
  self->updating_libraries = TRUE;
  adw_combo_row_set_model (self->library_row, G_LIST_MODEL (self->libraries));
  self->updating_libraries = FALSE;
}
