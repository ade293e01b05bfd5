/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-request-row.h"
#include "spyglass-window-private.h"

struct _SpyglassRequestRow
{
  AdwActionRow     parent_instance;

  SpyglassRequest *request;
  GtkWidget       *icon;
  GtkWidget       *spinner;
  GtkWidget       *retry_button;
};

G_DEFINE_FINAL_TYPE (SpyglassRequestRow, spyglass_request_row, ADW_TYPE_ACTION_ROW)

enum {
  RETRY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* "3 s", "2 min 5 s", "1 h 4 min". */
static char *
format_duration (gint64 usec)
{
  gint64 seconds = MAX (usec / G_USEC_PER_SEC, 0);

  if (usec < G_USEC_PER_SEC)
    /* Translators: a scan that took less than a second. */
    return g_strdup (_("under a second"));
  if (seconds < 60)
    /* Translators: a duration in seconds. */
    return g_strdup_printf (_("%d s"), (int) seconds);
  if (seconds < 3600)
    /* Translators: a duration in minutes and seconds. */
    return g_strdup_printf (_("%d min %d s"), (int) (seconds / 60), (int) (seconds % 60));
  /* Translators: a duration in hours and minutes. */
  return g_strdup_printf (_("%d h %d min"), (int) (seconds / 3600), (int) (seconds % 3600 / 60));
}

char *
spyglass_request_describe_state (SpyglassRequest *request)
{
  const char *library = spyglass_request_get_section_title (request);
  const char *message = spyglass_request_get_message (request);
  g_autofree char *state = NULL;
  int progress;

  switch (spyglass_request_get_state (request))
    {
    case SPYGLASS_REQUEST_QUEUED:
      if (spyglass_request_get_attempts (request) > 0 && message != NULL)
        /* Translators: a request waiting to be sent again, and why. */
        state = g_strdup_printf (_("Waiting to retry: %s"), message);
      else
        state = g_strdup (_("Queued"));
      break;
    case SPYGLASS_REQUEST_SENDING:
      state = g_strdup (_("Sending…"));
      break;
    case SPYGLASS_REQUEST_SCANNING:
      progress = spyglass_request_get_progress (request);
      if (progress >= 0)
        /* Translators: scan progress, "Scanning 45 %". */
        state = g_strdup_printf (_("Scanning %d %%"), progress);
      else
        state = g_strdup (_("Scanning…"));
      break;
    case SPYGLASS_REQUEST_DONE:
      {
        g_autofree char *duration = NULL;
        gint64 start = spyglass_request_get_created (request);
        gint64 end = spyglass_request_get_finished (request);

        if (start > 0 && end >= start)
          {
            duration = format_duration (end - start);
            /* Translators: a finished request and how long it took. */
            state = g_strdup_printf (_("Done in %s"), duration);
          }
        else
          state = g_strdup (_("Done"));
      }
      break;
    case SPYGLASS_REQUEST_FAILED:
      /* Translators: a request that failed, and the reason. */
      state = g_strdup_printf (_("Failed: %s"), message != NULL ? message : _("unknown error"));
      break;
    default:
      g_assert_not_reached ();
    }

  if (library != NULL && library[0] != '\0')
    /* Translators: "Music · Scanning 45 %": the library, then the state. */
    return g_strdup_printf (_("%s · %s"), library, state);
  return g_steal_pointer (&state);
}

static char *
describe_target (SpyglassRequest *request)
{
  const char *path = spyglass_request_get_local_path (request);
  g_autofree char *name = NULL;

  if (path == NULL)
    {
      if (spyglass_request_get_force (request))
        return g_strdup (_("Metadata refresh of the whole library"));
      return g_strdup (_("Whole library"));
    }

  name = g_path_get_basename (path);
  /* Paths may be any bytes; a label takes UTF-8. */
  return g_utf8_make_valid (name, -1);
}

static void
update (SpyglassRequestRow *self)
{
  SpyglassRequest *request = self->request;
  SpyglassRequestState state = spyglass_request_get_state (request);
  const char *path = spyglass_request_get_local_path (request);
  const char *icon;
  g_autofree char *title = describe_target (request);
  g_autofree char *subtitle = spyglass_request_describe_state (request);
  g_autofree char *tooltip = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);

  if (path != NULL)
    {
      g_autofree char *display = g_filename_display_name (path);

      tooltip = g_markup_escape_text (display, -1);
    }
  gtk_widget_set_tooltip_markup (GTK_WIDGET (self), tooltip);

  switch (state)
    {
    case SPYGLASS_REQUEST_QUEUED:
      icon = "content-loading-symbolic";
      break;
    case SPYGLASS_REQUEST_SENDING:
    case SPYGLASS_REQUEST_SCANNING:
      icon = "emblem-synchronizing-symbolic";
      break;
    case SPYGLASS_REQUEST_DONE:
      icon = "emblem-ok-symbolic";
      break;
    case SPYGLASS_REQUEST_FAILED:
      icon = "dialog-warning-symbolic";
      break;
    default:
      g_assert_not_reached ();
    }
  gtk_image_set_from_icon_name (GTK_IMAGE (self->icon), icon);

  if (state == SPYGLASS_REQUEST_FAILED)
    gtk_widget_add_css_class (self->icon, "error");
  else
    gtk_widget_remove_css_class (self->icon, "error");
  if (state == SPYGLASS_REQUEST_DONE)
    gtk_widget_add_css_class (self->icon, "success");
  else
    gtk_widget_remove_css_class (self->icon, "success");

  gtk_widget_set_visible (self->spinner, state == SPYGLASS_REQUEST_SENDING ||
                                         state == SPYGLASS_REQUEST_SCANNING);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), gtk_widget_get_visible (self->spinner));
  gtk_widget_set_visible (self->retry_button, state == SPYGLASS_REQUEST_FAILED);
}

static void
on_retry_clicked (SpyglassRequestRow *self)
{
  g_signal_emit (self, signals[RETRY], 0, self->request);
}

SpyglassRequestRow *
spyglass_request_row_new (SpyglassRequest *request)
{
  SpyglassRequestRow *self;

  g_return_val_if_fail (SPYGLASS_IS_REQUEST (request), NULL);

  self = g_object_new (SPYGLASS_TYPE_REQUEST_ROW, NULL);
  self->request = g_object_ref (request);
  g_signal_connect_object (request, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
  return self;
}

static void
spyglass_request_row_dispose (GObject *object)
{
  SpyglassRequestRow *self = SPYGLASS_REQUEST_ROW (object);

  g_clear_object (&self->request);

  G_OBJECT_CLASS (spyglass_request_row_parent_class)->dispose (object);
}

static void
spyglass_request_row_class_init (SpyglassRequestRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spyglass_request_row_dispose;

  /* The user asked to send a failed request again. */
  signals[RETRY] =
    g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, SPYGLASS_TYPE_REQUEST);
}

static void
spyglass_request_row_init (SpyglassRequestRow *self)
{
  self->icon = gtk_image_new ();
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("State"), -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (self), self->icon);

  self->spinner = gtk_spinner_new ();
  gtk_widget_set_valign (self->spinner, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self), self->spinner);

  self->retry_button = gtk_button_new_with_mnemonic (_("_Retry"));
  gtk_widget_set_valign (self->retry_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (self->retry_button, _("Send this request again"));
  g_signal_connect_swapped (self->retry_button, "clicked", G_CALLBACK (on_retry_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self), self->retry_button);

  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (self), 2);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self), FALSE);
}

GtkWidget *
spyglass_request_row_get_retry_button (SpyglassRequestRow *self)
{
  return self->retry_button;
}
