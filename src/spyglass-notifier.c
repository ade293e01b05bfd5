/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "spyglass-notifier.h"

/*
 * What is told, and when:
 *
 * - Success: the requests Plex accepted for a library are gathered while
 *   its scan runs ("batch-sent" adds them, and the notifier's creation
 *   those the queue follows again after a restart); when the last of them
 *   has finished ("request-finished": the queue finishes all of a
 *   library's requests at once when its scan ends), one notification
 *   says so, at once.  A request that finishes without having been seen
 *   accepted joins its library's gathering, told from a high-priority
 *   idle after the dispatch that finished it.
 * - A request that finally failed: "Plex scan failed", with the reason.
 * - The queue pausing (invalid token, 403, certificate): "Plex scan
 *   failed" with an Open Preferences button, once until a scan goes
 *   through again, however often the queue is resumed and paused.
 * - Transient failures (server unreachable, timeouts, 5xx): once the
 *   first retry has failed too, one "Plex scans are waiting"
 *   notification until a scan goes through again.  A scan that goes
 *   through withdraws both.
 */

/* Consecutive transient failures before "Plex scans are waiting": the
 * first retry (after a second) must have failed too, so that a blip
 * that one retry cures goes unmentioned. */
#define WAITING_AFTER_FAILURES 2

#define ID_PAUSED  "paused"
#define ID_WAITING "waiting"
#define ID_FAILED  "failed"

/* The requests of one library being followed to the end of its scan. */
typedef struct
{
  char      *section_key;
  GPtrArray *pending;   /* SpyglassRequest: accepted, not finished */
  GPtrArray *finished;  /* SpyglassRequest: done */
} Batch;

struct _SpyglassNotifier
{
  GObject        parent_instance;

  GApplication  *application;     /* unowned (it owns the notifier); weak pointer */
  SpyglassQueue *queue;
  GSettings     *settings;

  GHashTable    *batches;         /* section key → Batch */
  GPtrArray     *failed;          /* SpyglassRequest: failed since the last flush */
  guint          flush_source;

  guint          transient_failures;  /* in a row, since the last success */
  gboolean       waiting_notified;    /* "Plex scans are waiting" is out */
  gboolean       paused_notified;     /* the pause was told */
};

G_DEFINE_FINAL_TYPE (SpyglassNotifier, spyglass_notifier, G_TYPE_OBJECT)

static void
batch_free (Batch *batch)
{
  g_free (batch->section_key);
  g_ptr_array_unref (batch->pending);
  g_ptr_array_unref (batch->finished);
  g_free (batch);
}

static Batch *
ensure_batch (SpyglassNotifier *self,
              const char       *section_key)
{
  Batch *batch = g_hash_table_lookup (self->batches, section_key);

  if (batch == NULL)
    {
      batch = g_new0 (Batch, 1);
      batch->section_key = g_strdup (section_key);
      batch->pending = g_ptr_array_new_with_free_func (g_object_unref);
      batch->finished = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_insert (self->batches, batch->section_key, batch);
    }

  return batch;
}

/* ------------------------------------------------------------------------
 * Words
 * ------------------------------------------------------------------------ */

/* How a folder is named in a notification: its last two components
 * ("Pink Floyd/The Dark Side of the Moon": artist and album in a music
 * library), in the file system's encoding made readable.  The notifier
 * does not know the library's Locations, so it cannot name the folder
 * relative to them; for the usual Location/Artist/Album layout the two
 * agree. */
static char *
describe_folder (const char *local_path)
{
  g_autofree char *trimmed = g_strdup (local_path);
  g_autofree char *base = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *parent_base = NULL;
  gsize len = strlen (trimmed);

  while (len > 1 && trimmed[len - 1] == G_DIR_SEPARATOR)
    trimmed[--len] = '\0';

  base = g_path_get_basename (trimmed);
  parent = g_path_get_dirname (trimmed);
  if (g_str_equal (parent, G_DIR_SEPARATOR_S) || g_str_equal (parent, "."))
    return g_filename_display_name (base);

  parent_base = g_path_get_basename (parent);
  {
    g_autofree char *two = g_build_filename (parent_base, base, NULL);

    return g_filename_display_name (two);
  }
}

static char *
describe_library (SpyglassRequest *request)
{
  const char *title = spyglass_request_get_section_title (request);

  if (title != NULL && title[0] != '\0')
    return g_strdup (title);
  if (spyglass_request_get_section_key (request) != NULL)
    /* Translators: a library whose name is not known; %s is its number. */
    return g_strdup_printf (_("Library %s"), spyglass_request_get_section_key (request));
  return g_strdup (_("Plex"));
}

/* The distinct folders of @requests (local paths, borrowed), or NULL when
 * one of them is a whole-library request. */
static GPtrArray *
distinct_folders (GPtrArray *requests)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) folders = g_ptr_array_new ();

  for (guint i = 0; i < requests->len; i++)
    {
      const char *path = spyglass_request_get_local_path (g_ptr_array_index (requests, i));

      if (path == NULL)
        return NULL;
      if (g_hash_table_add (seen, (gpointer) path))
        g_ptr_array_add (folders, (gpointer) path);
    }

  return g_steal_pointer (&folders);
}

/* ------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------ */

static gboolean
can_send (SpyglassNotifier *self,
          const char       *key)
{
  if (self->application == NULL ||
      !g_application_get_is_registered (self->application) ||
      g_application_get_is_remote (self->application))
    {
      g_debug ("Notifier: no registered application to notify through");
      return FALSE;
    }

  return g_settings_get_boolean (self->settings, key);
}

static void
send_notification (SpyglassNotifier *self,
                   const char       *id,
                   GNotification    *notification)
{
  g_notification_set_default_action (notification, "app.show-window");
  g_debug ("Notifier: sending notification “%s”", id);
  g_application_send_notification (self->application, id, notification);
}

static void
withdraw (SpyglassNotifier *self,
          const char       *id)
{
  if (self->application != NULL && g_application_get_is_registered (self->application) &&
      !g_application_get_is_remote (self->application))
    g_application_withdraw_notification (self->application, id);
}

static void
notify_finished (SpyglassNotifier *self,
                 Batch            *batch)
{
  g_autoptr(GNotification) notification = NULL;
  g_autoptr(GPtrArray) folders = distinct_folders (batch->finished);
  g_autofree char *library = describe_library (g_ptr_array_index (batch->finished, 0));
  g_autofree char *body = NULL;
  g_autofree char *id = NULL;
  gboolean force = TRUE;

  /* Metadata refreshed only when that is all that happened. */
  for (guint i = 0; i < batch->finished->len; i++)
    force &= spyglass_request_get_force (g_ptr_array_index (batch->finished, i));

  if (folders == NULL)
    body = g_strdup (force ? _("Metadata of the whole library refreshed")
                           : _("Whole library scanned"));
  else if (folders->len == 1)
    {
      g_autofree char *folder = describe_folder (g_ptr_array_index (folders, 0));

      /* Translators: %s is a folder, as in "Pink Floyd/The Dark Side of the Moon". */
      body = g_strdup_printf (force ? _("Metadata of %s refreshed") : _("%s scanned"), folder);
    }
  else if (force)
    body = g_strdup_printf (ngettext ("Metadata of %u folder refreshed",
                                      "Metadata of %u folders refreshed", folders->len),
                            folders->len);
  else
    body = g_strdup_printf (ngettext ("%u folder scanned", "%u folders scanned", folders->len),
                            folders->len);

  notification = g_notification_new (library);
  g_notification_set_body (notification, body);
  /* One per library: a newer batch replaces the older one. */
  id = g_strconcat ("library-", batch->section_key, NULL);
  send_notification (self, id, notification);
}

static void
notify_failed (SpyglassNotifier *self,
               GPtrArray        *failed)
{
  g_autoptr(GNotification) notification = NULL;
  g_autoptr(GPtrArray) folders = distinct_folders (failed);
  SpyglassRequest *first = g_ptr_array_index (failed, 0);
  const char *message = spyglass_request_get_message (first);
  g_autofree char *body = NULL;

  if (message == NULL)
    message = _("Unknown error");

  if (folders != NULL && folders->len > 1)
    /* Translators: "3 folders: Library section not found". */
    body = g_strdup_printf (ngettext ("%u folder: %s", "%u folders: %s", folders->len),
                            folders->len, message);
  else if (spyglass_request_get_error_code (first) == SPYGLASS_ERROR_NOT_IN_LIBRARY)
    /* That message names the folder already. */
    body = g_strdup (message);
  else
    {
      g_autofree char *what = NULL;

      if (failed->len == 1 && spyglass_request_get_local_path (first) != NULL)
        what = describe_folder (spyglass_request_get_local_path (first));
      else
        what = describe_library (first);
      /* Translators: "Pink Floyd/The Dark Side of the Moon: Library section not found". */
      body = g_strdup_printf (_("%s: %s"), what, message);
    }

  notification = g_notification_new (_("Plex scan failed"));
  g_notification_set_body (notification, body);
  send_notification (self, ID_FAILED, notification);
}

/* Tells what finished in the dispatch that just ended. */
static gboolean
flush (gpointer user_data)
{
  SpyglassNotifier *self = user_data;
  GHashTableIter iter;
  Batch *batch;

  self->flush_source = 0;

  g_hash_table_iter_init (&iter, self->batches);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &batch))
    {
      if (batch->pending->len > 0)
        continue;

      if (batch->finished->len > 0 && can_send (self, "notify-success"))
        notify_finished (self, batch);
      g_hash_table_iter_remove (&iter);
    }

  if (self->failed->len > 0)
    {
      if (can_send (self, "notify-failure"))
        notify_failed (self, self->failed);
      g_ptr_array_set_size (self->failed, 0);
    }

  return G_SOURCE_REMOVE;
}

static void
schedule_flush (SpyglassNotifier *self)
{
  if (self->flush_source == 0)
    self->flush_source = g_idle_add_full (G_PRIORITY_HIGH, flush, self, NULL);
}

/* ------------------------------------------------------------------------
 * The queue's signals
 * ------------------------------------------------------------------------ */

/* Requests Plex accepted: each joins the batch of its library. */
static void
add_pending (SpyglassNotifier *self,
             GPtrArray        *requests)
{
  for (guint i = 0; i < requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (requests, i);
      const char *key = spyglass_request_get_section_key (request);
      Batch *batch;

      if (key == NULL)
        continue;
      batch = ensure_batch (self, key);
      if (!g_ptr_array_find (batch->pending, request, NULL))
        g_ptr_array_add (batch->pending, g_object_ref (request));
    }
}

static void
on_batch_sent (SpyglassNotifier *self,
               GPtrArray        *requests)
{
  /* Plex is there and takes requests again. */
  self->transient_failures = 0;
  if (self->waiting_notified)
    {
      self->waiting_notified = FALSE;
      withdraw (self, ID_WAITING);
    }
  if (self->paused_notified)
    {
      self->paused_notified = FALSE;
      withdraw (self, ID_PAUSED);
    }

  add_pending (self, requests);
}

static void
on_request_finished (SpyglassNotifier *self,
                     SpyglassRequest  *request)
{
  const char *key = spyglass_request_get_section_key (request);
  Batch *batch = key != NULL ? g_hash_table_lookup (self->batches, key) : NULL;
  gboolean was_pending = FALSE;
  guint position;

  if (batch != NULL && g_ptr_array_find (batch->pending, request, &position))
    {
      g_ptr_array_remove_index (batch->pending, position);
      was_pending = TRUE;
    }

  if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_FAILED)
    {
      g_ptr_array_add (self->failed, g_object_ref (request));
      schedule_flush (self);
      return;
    }

  if (key == NULL)
    return;
  if (batch == NULL)
    batch = ensure_batch (self, key);
  g_ptr_array_add (batch->finished, g_object_ref (request));

  /* The last of the batch: told at once, not after the rest of the
   * queue's work in this dispatch (writing its files), which took a
   * millisecond of the delay from `ended` to the notification. */
  if (was_pending && batch->pending->len == 0)
    {
      if (can_send (self, "notify-success"))
        notify_finished (self, batch);
      g_hash_table_remove (self->batches, key);
      return;
    }

  schedule_flush (self);
}

/* As the queue's own rule: these are retried with a back-off; every other
 * error pauses the queue (and is told when it does). */
static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_TIMEOUT) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_HTTP_STATUS) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
}

static void
on_batch_failed (SpyglassNotifier *self,
                 GPtrArray        *requests,
                 const GError     *error)
{
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *body = NULL;

  if (!is_transient (error))
    return;

  self->transient_failures++;
  if (self->waiting_notified || self->transient_failures < WAITING_AFTER_FAILURES ||
      !can_send (self, "notify-failure"))
    return;

  notification = g_notification_new (_("Plex scans are waiting"));
  /* Translators: %s is why, such as "Cannot reach Plex server". */
  body = g_strdup_printf (_("%s. Spyglass keeps retrying."), error->message);
  g_notification_set_body (notification, body);
  send_notification (self, ID_WAITING, notification);
  self->waiting_notified = TRUE;
}

static void
on_paused_changed (SpyglassNotifier *self)
{
  g_autoptr(GNotification) notification = NULL;
  const char *reason;

  if (!spyglass_queue_get_paused (self->queue) || self->paused_notified)
    return;

  /* Waiting is over: the user has to act. */
  self->transient_failures = 0;
  if (self->waiting_notified)
    {
      self->waiting_notified = FALSE;
      withdraw (self, ID_WAITING);
    }

  if (!can_send (self, "notify-failure"))
    return;

  reason = spyglass_queue_get_pause_reason (self->queue);
  notification = g_notification_new (_("Plex scan failed"));
  g_notification_set_body (notification, reason != NULL ? reason : _("Unknown error"));
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_add_button (notification, _("Open Preferences"), "app.preferences");
  send_notification (self, ID_PAUSED, notification);
  self->paused_notified = TRUE;
}

/* ------------------------------------------------------------------------
 * GObject
 * ------------------------------------------------------------------------ */

SpyglassNotifier *
spyglass_notifier_new (GApplication  *application,
                       SpyglassQueue *queue,
                       GSettings     *settings)
{
  SpyglassNotifier *self;

  g_return_val_if_fail (G_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (queue), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (SPYGLASS_TYPE_NOTIFIER, NULL);
  self->application = application;
  g_object_add_weak_pointer (G_OBJECT (application), (gpointer *) &self->application);
  self->queue = g_object_ref (queue);
  self->settings = g_object_ref (settings);

  g_signal_connect_object (queue, "batch-sent", G_CALLBACK (on_batch_sent),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (queue, "batch-failed", G_CALLBACK (on_batch_failed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (queue, "request-finished", G_CALLBACK (on_request_finished),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (queue, "notify::paused", G_CALLBACK (on_paused_changed),
                           self, G_CONNECT_SWAPPED);
  /* Scans accepted before a restart, which the queue follows again. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (queue)); i++)
    {
      g_autoptr(SpyglassRequest) request = g_list_model_get_item (G_LIST_MODEL (queue), i);

      if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING)
        {
          g_autoptr(GPtrArray) one = g_ptr_array_new ();

          g_ptr_array_add (one, request);
          add_pending (self, one);
        }
    }

  /* Paused before we were made (loaded with a stale token…). */
  on_paused_changed (self);

  return self;
}

static void
spyglass_notifier_dispose (GObject *object)
{
  SpyglassNotifier *self = SPYGLASS_NOTIFIER (object);

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (self->application != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->application), (gpointer *) &self->application);
      self->application = NULL;
    }
  if (self->queue != NULL)
    g_signal_handlers_disconnect_by_data (self->queue, self);
  g_clear_object (&self->queue);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (spyglass_notifier_parent_class)->dispose (object);
}

static void
spyglass_notifier_finalize (GObject *object)
{
  SpyglassNotifier *self = SPYGLASS_NOTIFIER (object);

  g_clear_pointer (&self->batches, g_hash_table_unref);
  g_clear_pointer (&self->failed, g_ptr_array_unref);

  G_OBJECT_CLASS (spyglass_notifier_parent_class)->finalize (object);
}

static void
spyglass_notifier_class_init (SpyglassNotifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spyglass_notifier_dispose;
  object_class->finalize = spyglass_notifier_finalize;
}

static void
spyglass_notifier_init (SpyglassNotifier *self)
{
  self->batches = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) batch_free);
  self->failed = g_ptr_array_new_with_free_func (g_object_unref);
}
