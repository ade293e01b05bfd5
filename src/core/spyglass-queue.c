/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/file.h>
#include <unistd.h>

#include "spyglass-error.h"
#include "spyglass-queue.h"
#include "spyglass-route.h"
#include "spyglass-scan-monitor.h"

#define QUEUE_FILE_VERSION 1

struct _SpyglassQueue
{
  GObject           parent_instance;

  SpyglassClient   *client;
  SpyglassPathMap  *path_map;         /* never NULL */
  char             *state_dir;
  char             *queue_path;
  char             *history_path;
  char             *lock_path;
  int               lock_fd;          /* -1 until load() */

  GPtrArray        *requests;         /* SpyglassRequest, oldest first: the list model */
  guint             last_removed;     /* where the last finished request was in requests */
  GPtrArray        *history;          /* SpyglassRequest, newest last; read lazily */
  gboolean          history_loaded;
  guint             history_written;  /* lines appended since the start */
  GPtrArray        *history_pending;  /* finished, not yet appended to the file */

  GPtrArray        *sections;         /* the server's libraries, or NULL until fetched */
  gboolean          sections_stale;   /* fetch again before routing */

  char             *default_section;  /* preferred when a folder is in several libraries */
  guint             threshold;
  guint             batch_window;     /* ms */
  guint             min_backoff;      /* ms */
  guint             max_backoff;      /* ms */
  guint             failures;         /* consecutive transient failures */

  guint             step_source;      /* the next step: batch window or back-off */
  gint64            step_due;         /* monotonic µs of step_source, 0 = none */
  gint64            batch_opened;     /* monotonic µs: step_source closes a batch opened then, or 0 */
  gboolean          backing_off;      /* step_source is a back-off: new requests wait for it */
  gboolean          busy;             /* a fetch or a send is on its way */
  gboolean          started;
  gboolean          dirty;            /* the queue file is behind */
  gboolean          unsaved;          /* ... by requests it does not hold at all */
  gboolean          coalesce_pending; /* queued requests were routed (again) since the last coalescing */

  gboolean          paused;
  char             *pause_reason;

  SpyglassScanMonitor *scan_monitor; /* follows accepted scans, or NULL */
  gboolean          refresh_after_scan;

  GNetworkMonitor  *network_monitor;  /* from the first failure on */
  GCancellable     *cancellable;      /* cancelled on dispose */
  GList            *idle_waiters;     /* GTask */
};

static void spyglass_queue_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SpyglassQueue, spyglass_queue, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      spyglass_queue_list_model_init))

enum {
  PROP_0,
  PROP_PAUSED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  REQUEST_FINISHED,
  BATCH_SENT,
  BATCH_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule_step (SpyglassQueue *self,
                           guint          delay_ms);
static void on_network_changed (SpyglassQueue *self,
                                gboolean       available);
static void schedule_backoff (SpyglassQueue *self,
                              guint          delay_ms);

/* ------------------------------------------------------------------------
 * GListModel
 * ------------------------------------------------------------------------ */

static GType
spyglass_queue_get_item_type (GListModel *model)
{
  return SPYGLASS_TYPE_REQUEST;
}

static guint
spyglass_queue_get_n_items (GListModel *model)
{
  return SPYGLASS_QUEUE (model)->requests->len;
}

static gpointer
spyglass_queue_get_item (GListModel *model,
                         guint       position)
{
  SpyglassQueue *self = SPYGLASS_QUEUE (model);

  if (position >= self->requests->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->requests, position));
}

static void
spyglass_queue_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = spyglass_queue_get_item_type;
  iface->get_n_items = spyglass_queue_get_n_items;
  iface->get_item = spyglass_queue_get_item;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

/* g_file_set_contents_full() syncs whenever it replaces a file. */
static void
replace_without_sync (const char  *path,
                      const char  *text,
                      gsize        length,
                      GError     **error)
{
  g_autofree char *tmp_path = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  gboolean written;

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "%s: %s", tmp_path, g_strerror (saved_errno));
      return;
    }

  written = write (fd, text, length) == (gssize) length;
  if (close (fd) != 0 || !written || g_rename (tmp_path, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
    }
}

static gboolean
write_json_file (const char  *path,
                 const char  *member,
                 GPtrArray   *requests,
                 gboolean     durable,
                 GError     **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  gsize length;

  /* One request at a time, so that a long queue is never held as a JSON
   * tree as well: that tree took ten times the memory of the requests. */
  g_string_append_printf (text, "{\"version\":%d,\"%s\":[", QUEUE_FILE_VERSION, member);
  for (guint i = 0; i < requests->len; i++)
    {
      g_autoptr(JsonNode) node = spyglass_request_to_json (g_ptr_array_index (requests, i));
      g_autofree char *item = NULL;
      gsize item_length;

      json_generator_set_root (generator, node);
      item = json_generator_to_data (generator, &item_length);
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append_len (text, item, item_length);
    }
  g_string_append (text, "]}");
  length = text->len;

  /* Always an atomic replace: a crash leaves the old file or the new one.
   * Durable (fsync of the file and its folder) when a request would
   * otherwise be lost; a state change after Plex accepted a request is not
   * worth it: losing it sends that one request again. */
  if (durable)
    g_file_set_contents_full (path, text->str, length,
                              G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                              0600, &local_error);
  else
    replace_without_sync (path, text->str, length, &local_error);

  if (local_error != NULL)
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                   _("Cannot save the scan queue: %s"), local_error->message);
      return FALSE;
    }

  return TRUE;
}

static void
save_queue (SpyglassQueue *self)
{
  g_autoptr(GError) error = NULL;

  if (self->lock_fd < 0)
    return;

  if (!write_json_file (self->queue_path, "requests", self->requests, self->unsaved, &error))
    g_warning ("%s", error->message);
  else
    self->dirty = self->unsaved = FALSE;
}

#define HISTORY_COMPACT_SIZE (256 * 1024)

static char *
request_to_line (SpyglassRequest *request)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) node = spyglass_request_to_json (request);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

/* The history file holds one JSON object a line, oldest first: finishing
 * a request appends a line, so nobody rewrites (or even reads) the whole
 * history to add to it.  Lines that cannot be read are skipped. */
static void
ensure_history_loaded (SpyglassQueue *self)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->history_loaded)
    return;
  self->history_loaded = TRUE;

  if (g_file_get_contents (self->history_path, &contents, NULL, NULL))
    {
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autoptr(GError) error = NULL;
          SpyglassRequest *request;

          if (lines[i][0] == '\0')
            continue;
          if (!json_parser_load_from_data (parser, lines[i], -1, &error) ||
              (request = spyglass_request_new_from_json (json_parser_get_root (parser), &error)) == NULL)
            {
              g_debug ("Skipping line %u of %s: %s", i + 1, self->history_path, error->message);
              continue;
            }
          g_ptr_array_add (loaded, request);
        }
    }

  /* The last lines are the requests finished since the start, which are
   * in memory already: keep those objects. */
  g_ptr_array_set_size (loaded, loaded->len - MIN (loaded->len, self->history_written));
  g_ptr_array_extend_and_steal (loaded, g_steal_pointer (&self->history));
  self->history = g_steal_pointer (&loaded);
  if (self->history->len > SPYGLASS_QUEUE_HISTORY_SIZE)
    g_ptr_array_remove_range (self->history, 0, self->history->len - SPYGLASS_QUEUE_HISTORY_SIZE);
}

static void
compact_history (SpyglassQueue *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  ensure_history_loaded (self);
  for (guint i = 0; i < self->history->len; i++)
    {
      g_autofree char *line = request_to_line (g_ptr_array_index (self->history, i));
      g_string_append (text, line);
    }

  replace_without_sync (self->history_path, text->str, text->len, &error);
  if (error != NULL)
    g_warning ("Cannot save the scan history: %s", error->message);
}

static void
save_history (SpyglassQueue *self)
{
  g_autoptr(GString) text = NULL;
  GStatBuf st;
  int fd;

  if (self->lock_fd < 0 || self->history_pending->len == 0)
    return;

  text = g_string_new (NULL);
  for (guint i = 0; i < self->history_pending->len; i++)
    {
      g_autofree char *line = request_to_line (g_ptr_array_index (self->history_pending, i));
      g_string_append (text, line);
    }
  self->history_written += self->history_pending->len;
  g_ptr_array_set_size (self->history_pending, 0);

  /* The history is a record, not a promise: appended, no fsync. */
  fd = g_open (self->history_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, text->str, text->len) != (gssize) text->len)
    g_warning ("Cannot save the scan history in %s: %s", self->history_path, g_strerror (errno));
  if (fd >= 0)
    close (fd);

  if (g_stat (self->history_path, &st) == 0 && st.st_size > HISTORY_COMPACT_SIZE)
    compact_history (self);
}

/* Reads @path's @member array.  A missing file is an empty list; an
 * unreadable one is an error. */
static GPtrArray *
read_json_file (const char  *path,
                const char  *member,
                GError     **error)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonArray *array;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&requests);

  if (!json_parser_load_from_file (parser, path, &local_error))
    {
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                   "%s", local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      json_object_get_int_member_with_default ((object = json_node_get_object (root)),
                                               "version", 0) != QUEUE_FILE_VERSION ||
      !json_object_has_member (object, member) ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, member)))
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                           _("not a Spyglass queue file"));
      return NULL;
    }

  array = json_object_get_array_member (object, member);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      SpyglassRequest *request = spyglass_request_new_from_json (json_array_get_element (array, i),
                                                                 error);
      if (request == NULL)
        return NULL;
      g_ptr_array_add (requests, request);
    }

  return g_steal_pointer (&requests);
}

/* Moves an unreadable file aside, never deleting it; returns its new
 * name. */
static char *
set_aside (const char *path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *aside = g_strdup_printf ("%s.corrupt-%s", path, stamp);

  for (guint n = 2; g_file_test (aside, G_FILE_TEST_EXISTS); n++)
    {
      g_free (aside);
      aside = g_strdup_printf ("%s.corrupt-%s-%u", path, stamp, n);
    }

  if (g_rename (path, aside) != 0)
    g_warning ("Could not move %s aside: %s", path, g_strerror (errno));

  return aside;
}

static gboolean
take_lock (SpyglassQueue  *self,
           GError        **error)
{
  int fd;

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                   _("Cannot create the folder %s: %s"),
                   self->state_dir, g_strerror (saved_errno));
      return FALSE;
    }

  fd = g_open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                   _("Cannot open %s: %s"), self->lock_path, g_strerror (saved_errno));
      return FALSE;
    }

  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      close (fd);
      if (saved_errno == EWOULDBLOCK)
        g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_LOCKED,
                             _("Another Spyglass is already sending the scan queue"));
      else
        g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                     _("Cannot lock %s: %s"), self->lock_path, g_strerror (saved_errno));
      return FALSE;
    }

  self->lock_fd = fd;
  return TRUE;
}

GPtrArray *
spyglass_queue_read_requests (const char  *state_dir,
                              GError     **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (state_dir != NULL, NULL);

  path = g_build_filename (state_dir, "queue.json", NULL);
  return read_json_file (path, "requests", error);
}

static void
add_to_history (SpyglassQueue   *self,
                SpyglassRequest *request)
{
  g_ptr_array_add (self->history_pending, g_object_ref (request));
  g_ptr_array_add (self->history, g_object_ref (request));
  if (self->history->len > SPYGLASS_QUEUE_HISTORY_SIZE)
    g_ptr_array_remove_range (self->history, 0, self->history->len - SPYGLASS_QUEUE_HISTORY_SIZE);
}

gboolean
spyglass_queue_load (SpyglassQueue  *self,
                     char          **recovered_path,
                     GError        **error)
{
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), FALSE);
  g_return_val_if_fail (self->lock_fd < 0, FALSE);

  if (recovered_path != NULL)
    *recovered_path = NULL;

  if (!take_lock (self, error))
    return FALSE;

  requests = read_json_file (self->queue_path, "requests", &local_error);
  if (requests == NULL)
    {
      g_autofree char *aside = set_aside (self->queue_path);

      g_warning ("The scan queue %s could not be read (%s); it was kept as %s",
                 self->queue_path, local_error->message, aside);
      if (recovered_path != NULL)
        *recovered_path = g_steal_pointer (&aside);
      requests = g_ptr_array_new_with_free_func (g_object_unref);
      g_clear_error (&local_error);
    }

  /* Resume: what was on its way is sent again (Plex may have it once
   * more, never lost); what was finished belongs to the history. */
  for (guint i = 0; i < requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (requests, i);

      switch (spyglass_request_get_state (request))
        {
        case SPYGLASS_REQUEST_SENDING:
          spyglass_request_set_state (request, SPYGLASS_REQUEST_QUEUED);
          G_GNUC_FALLTHROUGH;
        case SPYGLASS_REQUEST_QUEUED:
        case SPYGLASS_REQUEST_SCANNING:
          g_ptr_array_add (self->requests, g_object_ref (request));
          break;

        case SPYGLASS_REQUEST_DONE:
        case SPYGLASS_REQUEST_FAILED:
        default:
          add_to_history (self, request);
          break;
        }
    }

  if (self->requests->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, self->requests->len);

  self->dirty = TRUE;
  return TRUE;
}

/* ------------------------------------------------------------------------
 * The state machine
 * ------------------------------------------------------------------------ */

static void
notify_idle_waiters (SpyglassQueue *self)
{
  GList *waiters;

  if (self->requests->len > 0)
    return;

  /* Idle: a good moment to bring the history up to date. */
  save_history (self);

  waiters = g_steal_pointer (&self->idle_waiters);
  for (GList *l = waiters; l != NULL; l = l->next)
    {
      g_autoptr(GTask) task = l->data;
      g_task_return_boolean (task, TRUE);
    }
  g_list_free (waiters);
}

/* Where @request is in the queue.  The requests of a batch or of a scan
 * are finished in the order of the queue, each at or after where the one
 * before it was: looking there first keeps finishing a batch of n
 * requests linear in the queue rather than n times it. */
static gboolean
find_request (SpyglassQueue   *self,
              SpyglassRequest *request,
              guint           *position)
{
  guint len = self->requests->len;
  guint start = MIN (self->last_removed, len);

  for (guint i = 0; i < len; i++)
    {
      guint at = start + i < len ? start + i : start + i - len;

      if (g_ptr_array_index (self->requests, at) == request)
        {
          *position = at;
          return TRUE;
        }
    }

  return FALSE;
}

/* Moves a finished request from the queue to the history. */
static void
finish_request (SpyglassQueue        *self,
                SpyglassRequest      *request,
                SpyglassRequestState  state,
                const GError         *error)
{
  g_autoptr(SpyglassRequest) held = g_object_ref (request);
  guint position;

  spyglass_request_set_state (request, state);
  spyglass_request_set_error (request, error);
  spyglass_request_set_progress (request, state == SPYGLASS_REQUEST_DONE ? 100 : -1);
  spyglass_request_set_finished (request, g_get_real_time ());

  if (find_request (self, request, &position))
    {
      g_ptr_array_remove_index (self->requests, position);
      self->last_removed = position;
      g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
    }

  add_to_history (self, request);
  self->dirty = TRUE;
  g_signal_emit (self, signals[REQUEST_FINISHED], 0, request);
}

static SpyglassSection *
find_section (SpyglassQueue *self,
              const char    *key)
{
  for (guint i = 0; self->sections != NULL && i < self->sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (self->sections, i);

      if (g_strcmp0 (section->key, key) == 0)
        return section;
    }

  return NULL;
}

/* Routes every request that is not routed yet.  One folder may lie in
 * several libraries: the request takes the first, and a copy is queued
 * for each other one. */
static void
route_pending (SpyglassQueue *self)
{
  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);
      const char *local_path = spyglass_request_get_local_path (request);
      const char *section_key = spyglass_request_get_section_key (request);
      g_autoptr(GPtrArray) targets = NULL;
      g_autoptr(GError) error = NULL;

      if (spyglass_request_get_routed (request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED)
        continue;

      if (local_path == NULL)
        {
          SpyglassSection *section = find_section (self, section_key);

          if (section == NULL)
            {
              g_autoptr(GError) not_found =
                g_error_new_literal (SPYGLASS_ERROR, SPYGLASS_ERROR_SECTION_NOT_FOUND,
                                     _("Library section not found"));

              finish_request (self, request, SPYGLASS_REQUEST_FAILED, not_found);
              i--;
              continue;
            }
          spyglass_request_set_route (request, section->key, section->title, NULL);
          self->dirty = self->coalesce_pending = TRUE;
          continue;
        }

      targets = spyglass_route_local_path (self->path_map, local_path, self->sections,
                                           section_key, spyglass_request_get_force (request),
                                           &error);
      if (targets == NULL)
        {
          finish_request (self, request, SPYGLASS_REQUEST_FAILED, error);
          i--;
          continue;
        }

      /* A folder in several libraries goes to the default one if it is
       * among them, else to all of them. */
      if (section_key == NULL && self->default_section != NULL && targets->len > 1)
        for (guint t = 0; t < targets->len; t++)
          {
            SpyglassScanTarget *target = g_ptr_array_index (targets, t);

            if (g_strcmp0 (target->section->key, self->default_section) == 0)
              {
                g_ptr_array_steal_index (targets, t);
                g_ptr_array_set_size (targets, 0);
                g_ptr_array_add (targets, target);
                break;
              }
          }

      for (guint t = 0; t < targets->len; t++)
        {
          SpyglassScanTarget *target = g_ptr_array_index (targets, t);

          if (t == 0)
            spyglass_request_set_route (request, target->section->key, target->section->title,
                                        target->path);
          else
            {
              g_autoptr(SpyglassRequest) copy =
                spyglass_request_new_folder (local_path, NULL, spyglass_request_get_force (request));

              spyglass_request_set_route (copy, target->section->key, target->section->title,
                                          target->path);
              g_ptr_array_insert (self->requests, i + t, g_object_ref (copy));
              g_list_model_items_changed (G_LIST_MODEL (self), i + t, 0, 1);
              self->unsaved = TRUE;
            }
        }
      i += targets->len - 1;
      self->dirty = self->coalesce_pending = TRUE;
    }
}

static gboolean
target_covers (SpyglassScanTarget *target,
               SpyglassRequest    *request)
{
  const char *path = spyglass_request_get_target_path (request);

  return g_strcmp0 (target->section->key, spyglass_request_get_section_key (request)) == 0 &&
         target->force == spyglass_request_get_force (request) &&
         (target->path == NULL || (path != NULL && spyglass_path_is_within (path, target->path)));
}

/* Widens the targets of queued requests with the coalescing rules, so that
 * each library gets the fewest, narrowest scans.  Requests keep their
 * identity: only what will be sent for them changes.
 *
 * Only when requests were routed, or came back to the queue, since the
 * last time: what is left of a coalesced queue once a batch has gone
 * coalesces to itself, and coalescing is not cheap (it ran before every
 * request sent, over the whole queue). */
static void
coalesce_queued (SpyglassQueue *self)
{
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(GPtrArray) coalesced = NULL;

  if (!self->coalesce_pending)
    return;
  self->coalesce_pending = FALSE;

  targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);
  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);
      SpyglassSection *section;

      if (!spyglass_request_get_routed (request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED)
        continue;

      section = find_section (self, spyglass_request_get_section_key (request));
      if (section == NULL)
        section = spyglass_section_new (spyglass_request_get_section_key (request), NULL,
                                        spyglass_request_get_section_title (request), NULL);
      else
        spyglass_section_ref (section);

      g_ptr_array_add (targets, spyglass_scan_target_new (section,
                                                          spyglass_request_get_target_path (request),
                                                          spyglass_request_get_force (request)));
      spyglass_section_unref (section);
    }

  if (targets->len < 2)
    return;

  coalesced = spyglass_coalesce (targets, self->threshold);
  if (coalesced->len == targets->len)
    return;

  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);

      if (!spyglass_request_get_routed (request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED)
        continue;

      for (guint t = 0; t < coalesced->len; t++)
        {
          SpyglassScanTarget *target = g_ptr_array_index (coalesced, t);

          if (target_covers (target, request))
            {
              if (g_strcmp0 (target->path, spyglass_request_get_target_path (request)) != 0)
                {
                  spyglass_request_set_route (request, target->section->key,
                                              spyglass_request_get_section_title (request),
                                              target->path);
                  self->dirty = TRUE;
                }
              break;
            }
        }
    }
}

static gboolean
same_target (SpyglassRequest *a,
             SpyglassRequest *b)
{
  return g_strcmp0 (spyglass_request_get_section_key (a), spyglass_request_get_section_key (b)) == 0 &&
         g_strcmp0 (spyglass_request_get_target_path (a), spyglass_request_get_target_path (b)) == 0 &&
         spyglass_request_get_force (a) == spyglass_request_get_force (b);
}

/* The queued, routed requests that share the first one's target, in
 * order: one HTTP request serves them all. */
static GPtrArray *
next_batch (SpyglassQueue *self)
{
  GPtrArray *batch = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 now = g_get_real_time ();

  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);

      if (!spyglass_request_get_routed (request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED ||
          spyglass_request_get_not_before (request) > now)
        continue;

      if (batch->len == 0 || same_target (g_ptr_array_index (batch, 0), request))
        g_ptr_array_add (batch, g_object_ref (request));
    }

  return batch;
}

static gboolean
has_unrouted (SpyglassQueue *self)
{
  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);

      if (!spyglass_request_get_routed (request) &&
          spyglass_request_get_state (request) == SPYGLASS_REQUEST_QUEUED)
        return TRUE;
    }

  return FALSE;
}

static void
set_paused (SpyglassQueue *self,
            gboolean       paused,
            const char    *reason)
{
  g_free (self->pause_reason);
  self->pause_reason = paused ? g_strdup (reason) : NULL;

  if (self->paused == paused)
    return;

  self->paused = paused;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAUSED]);
}

/* The next delay after @failures transient failures in a row: doubling
 * from the minimum up to the maximum, each drawn between half and all of
 * it so that many clients do not retry in step. */
static guint
backoff_delay (SpyglassQueue *self)
{
  guint64 delay = self->min_backoff;

  for (guint i = 1; i < self->failures && delay < self->max_backoff; i++)
    delay *= 2;
  delay = MIN (delay, self->max_backoff);

  return (guint) g_random_int_range (delay / 2, delay + 1);
}

static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_UNREACHABLE) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_TIMEOUT) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_HTTP_STATUS) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_BAD_RESPONSE) ||
         g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_RESPONSE_TOO_LARGE);
}

/* What a failed fetch or send means for the requests it was for. */
static void
handle_error (SpyglassQueue *self,
              GPtrArray     *batch,
              const GError  *error)
{
  /* A failed fetch of the libraries holds up every waiting request. */
  GPtrArray *affected = batch != NULL ? batch : self->requests;

  for (guint i = 0; i < affected->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (affected, i);

      if (batch == NULL && spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED)
        continue;
      spyglass_request_set_state (request, SPYGLASS_REQUEST_QUEUED);
      spyglass_request_set_error (request, error);
    }
  /* Back in the queue, a batch may coalesce with what came meanwhile. */
  if (batch != NULL)
    self->coalesce_pending = TRUE;

  {
    g_autoptr(GPtrArray) none = g_ptr_array_new ();

    g_signal_emit (self, signals[BATCH_FAILED], 0, batch != NULL ? batch : none, error);
  }

  if (is_transient (error))
    {
      guint delay;

      /* Only now is the network's state of interest; the monitor loads
       * GIO modules, which a command that succeeds at once need not pay. */
      if (self->network_monitor == NULL)
        spyglass_queue_set_network_monitor (self, g_network_monitor_get_default ());

      self->failures++;
      delay = backoff_delay (self);
      g_debug ("Plex unavailable (%s); next try in %u ms", error->message, delay);
      self->dirty = TRUE;
      save_queue (self);
      schedule_backoff (self, delay);
      return;
    }

  /* Invalid token, 403, an untrusted certificate: the user has to act.
   * Nothing is dropped; a new token resumes the queue. */
  g_debug ("Queue paused: %s", error->message);
  set_paused (self, TRUE, error->message);
  self->dirty = TRUE;
  save_queue (self);
}

static void step (SpyglassQueue *self);
static void follow (SpyglassQueue *self,
                    const char    *section_key);

static void
on_sections_fetched (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(SpyglassQueue) self = user_data;
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  sections = spyglass_client_list_sections_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (sections == NULL)
    {
      handle_error (self, NULL, error);
      return;
    }

  g_clear_pointer (&self->sections, g_ptr_array_unref);
  self->sections = g_steal_pointer (&sections);
  self->sections_stale = FALSE;
  self->failures = 0;
  step (self);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpyglassQueue *self = g_task_get_source_object (task);
  GPtrArray *batch = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  if (!spyglass_client_scan_finish (SPYGLASS_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      if (g_error_matches (error, SPYGLASS_ERROR, SPYGLASS_ERROR_SECTION_NOT_FOUND))
        {
          /* The library may have been recreated under a new id: reload
           * the libraries and route once more, then give up. */
          for (guint i = 0; i < batch->len; i++)
            {
              SpyglassRequest *request = g_ptr_array_index (batch, i);

              if (spyglass_request_get_rerouted (request))
                finish_request (self, request, SPYGLASS_REQUEST_FAILED, error);
              else
                {
                  spyglass_request_set_state (request, SPYGLASS_REQUEST_QUEUED);
                  spyglass_request_set_rerouted (request, TRUE);
                  spyglass_request_clear_route (request);
                }
            }
          self->sections_stale = TRUE;
          self->dirty = TRUE;
          save_queue (self);
          notify_idle_waiters (self);
          step (self);
          return;
        }

      handle_error (self, batch, error);
      return;
    }

  self->failures = 0;
  g_signal_emit (self, signals[BATCH_SENT], 0, batch);
  for (guint i = 0; i < batch->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (batch, i);

      spyglass_request_set_sent (request, g_get_real_time ());
      spyglass_request_set_error (request, NULL);
      /* Without a scan monitor there is nothing to follow: accepted is
       * as done as it gets. */
      if (self->scan_monitor != NULL)
        spyglass_request_set_state (request, SPYGLASS_REQUEST_SCANNING);
      else
        finish_request (self, request, SPYGLASS_REQUEST_DONE, NULL);
    }
  self->dirty = TRUE;

  if (self->scan_monitor != NULL)
    follow (self, spyglass_request_get_section_key (g_ptr_array_index (batch, 0)));

  save_queue (self);
  notify_idle_waiters (self);
  step (self);
}

/* A forced refresh of the same folder after its scan, when asked for. */
static void
queue_refresh_after (SpyglassQueue   *self,
                     SpyglassRequest *scanned)
{
  g_autoptr(SpyglassRequest) refresh = NULL;
  const char *local_path = spyglass_request_get_local_path (scanned);

  if (!self->refresh_after_scan || spyglass_request_get_force (scanned) ||
      local_path == NULL || spyglass_request_get_target_path (scanned) == NULL)
    return;

  refresh = spyglass_request_new_folder (local_path, NULL, TRUE);
  spyglass_request_set_route (refresh,
                              spyglass_request_get_section_key (scanned),
                              spyglass_request_get_section_title (scanned),
                              spyglass_request_get_target_path (scanned));
  g_ptr_array_add (self->requests, g_object_ref (refresh));
  g_list_model_items_changed (G_LIST_MODEL (self), self->requests->len - 1, 0, 1);
  self->unsaved = self->coalesce_pending = TRUE;
}

static void
on_scan_followed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpyglassQueue *self = g_task_get_source_object (task);
  const char *section_key = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) finished = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean scan_seen = FALSE;

  if (!spyglass_scan_monitor_wait_finish (SPYGLASS_SCAN_MONITOR (source), result, &scan_seen, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Every request of that library that was accepted before this scan
   * ended is done: the scan covered it. */
  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);

      if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING &&
          g_strcmp0 (spyglass_request_get_section_key (request), section_key) == 0)
        g_ptr_array_add (finished, g_object_ref (request));
    }

  for (guint i = 0; i < finished->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (finished, i);

      /* The scan was accepted; only following it failed. */
      finish_request (self, request, SPYGLASS_REQUEST_DONE, error);
      queue_refresh_after (self, request);
    }

  self->dirty = TRUE;
  save_queue (self);
  notify_idle_waiters (self);
  if (self->requests->len > 0)
    schedule_step (self, 0);
}

/* Waits for the end of the scan of @section_key, then finishes its
 * requests. */
static void
follow (SpyglassQueue *self,
        const char    *section_key)
{
  GTask *task = g_task_new (self, self->cancellable, NULL, NULL);

  g_task_set_source_tag (task, follow);
  g_task_set_task_data (task, g_strdup (section_key), g_free);
  spyglass_scan_monitor_wait_async (self->scan_monitor, section_key, self->cancellable,
                                    on_scan_followed, task);
}

static void
on_scan_progress (SpyglassQueue *self,
                  const char    *section_key,
                  int            progress)
{
  for (guint i = 0; i < self->requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (self->requests, i);

      if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING &&
          g_strcmp0 (spyglass_request_get_section_key (request), section_key) == 0)
        spyglass_request_set_progress (request, progress);
    }
}

static void
send_batch (SpyglassQueue *self,
            GPtrArray     *batch)
{
  SpyglassRequest *first = g_ptr_array_index (batch, 0);
  GTask *task;

  for (guint i = 0; i < batch->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (batch, i);

      spyglass_request_set_state (request, SPYGLASS_REQUEST_SENDING);
      spyglass_request_set_attempts (request, spyglass_request_get_attempts (request) + 1);
    }

  /* On disk before it leaves: after a crash from here on, it is sent again
   * rather than forgotten.  (Its state "sending" need not be on disk: a
   * queued request is sent again all the same.) */
  if (self->unsaved)
    save_queue (self);

  task = g_task_new (self, self->cancellable, NULL, NULL);
  g_task_set_source_tag (task, send_batch);
  g_task_set_task_data (task, g_ptr_array_ref (batch), (GDestroyNotify) g_ptr_array_unref);

  self->busy = TRUE;
  spyglass_client_scan_async (self->client,
                              spyglass_request_get_section_key (first),
                              spyglass_request_get_target_path (first),
                              spyglass_request_get_force (first),
                              self->cancellable, on_sent, task);
}

/* One step: fetch the libraries if something needs routing, route,
 * coalesce, and send the next batch. */
static void
step (SpyglassQueue *self)
{
  g_autoptr(GPtrArray) batch = NULL;

  if (!self->started || self->busy || self->paused || self->step_source != 0)
    return;

  if (has_unrouted (self))
    {
      if (self->sections == NULL || self->sections_stale)
        {
          if (self->unsaved)
            save_queue (self);
          self->busy = TRUE;
          spyglass_client_list_sections_async (self->client, self->cancellable,
                                               on_sections_fetched, g_object_ref (self));
          return;
        }
      route_pending (self);
    }

  coalesce_queued (self);

  batch = next_batch (self);
  if (batch->len > 0)
    {
      send_batch (self, batch);
      return;
    }

  if (self->dirty)
    save_queue (self);
  save_history (self);
  notify_idle_waiters (self);
}

static gboolean
on_step_due (gpointer user_data)
{
  SpyglassQueue *self = user_data;

  self->step_source = 0;
  self->step_due = 0;
  self->batch_opened = 0;
  self->backing_off = FALSE;
  step (self);
  return G_SOURCE_REMOVE;
}

static void
cancel_step (SpyglassQueue *self)
{
  g_clear_handle_id (&self->step_source, g_source_remove);
  self->step_due = 0;
  self->batch_opened = 0;
  self->backing_off = FALSE;
}

/* Runs step() after @delay_ms, or sooner if a sooner step is already due. */
static void
schedule_step (SpyglassQueue *self,
               guint          delay_ms)
{
  gint64 due = g_get_monotonic_time () + (gint64) delay_ms * 1000;

  if (self->step_source != 0)
    {
      /* A back-off is not cut short by new requests: they wait too. */
      if (self->backing_off || self->step_due <= due)
        return;
      cancel_step (self);
    }

  self->step_due = due;
  self->step_source = g_timeout_add (delay_ms, on_step_due, self);
}

static void
schedule_backoff (SpyglassQueue *self,
                  guint          delay_ms)
{
  cancel_step (self);
  schedule_step (self, delay_ms);
  self->backing_off = TRUE;
}

static void
on_token_changed (SpyglassQueue *self)
{
  if (!self->paused)
    return;

  g_debug ("New token: the queue resumes");
  set_paused (self, FALSE, NULL);
  self->failures = 0;
  self->sections_stale = TRUE;
  cancel_step (self);
  schedule_step (self, 0);
}

static void
on_network_changed (SpyglassQueue *self,
                    gboolean       available)
{
  /* Waiting out a back-off makes no sense once the network is back. */
  if (available && self->backing_off)
    {
      g_debug ("Network is back: retrying now");
      cancel_step (self);
      schedule_step (self, 0);
    }
}

/* Requests arriving together are routed and coalesced together: a batch
 * closes when no request has come for a batch window, so that a burst
 * longer than one window (an importer's) is one batch, not one per
 * window; but at most SPYGLASS_QUEUE_MAX_BATCH_WINDOWS windows after its
 * first request, so that a steady stream is still sent. */
static void
schedule_batch (SpyglassQueue *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 window = (gint64) self->batch_window * 1000;
  gint64 due;

  if (self->step_source == 0)
    {
      schedule_step (self, self->batch_window);
      self->batch_opened = now;
      return;
    }

  /* A back-off or a step due at once takes the request as it is. */
  if (self->batch_opened == 0)
    return;

  due = MIN (now + window, self->batch_opened + window * SPYGLASS_QUEUE_MAX_BATCH_WINDOWS);
  if (due <= self->step_due)
    return;

  g_source_remove (self->step_source);
  self->step_due = due;
  self->step_source = g_timeout_add ((guint) ((due - now + 999) / 1000), on_step_due, self);
}

static SpyglassRequest *
add_request (SpyglassQueue   *self,
             SpyglassRequest *request)
{
  g_ptr_array_add (self->requests, request);
  g_list_model_items_changed (G_LIST_MODEL (self), self->requests->len - 1, 0, 1);
  self->dirty = self->unsaved = TRUE;

  schedule_batch (self);
  return request;
}

SpyglassRequest *
spyglass_queue_add_folder (SpyglassQueue *self,
                           const char    *local_path,
                           const char    *section_key,
                           gboolean       force)
{
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), NULL);
  g_return_val_if_fail (local_path != NULL && local_path[0] != '\0', NULL);

  return add_request (self, spyglass_request_new_folder (local_path, section_key, force));
}

SpyglassRequest *
spyglass_queue_add_library (SpyglassQueue *self,
                            const char    *section_key,
                            gboolean       force)
{
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), NULL);
  g_return_val_if_fail (section_key != NULL, NULL);

  return add_request (self, spyglass_request_new_library (section_key, force));
}

void
spyglass_queue_start (SpyglassQueue *self)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));

  if (self->started)
    return;

  self->started = TRUE;

  /* Scans accepted before a restart are followed again. */
  if (self->scan_monitor != NULL)
    {
      g_autoptr(GHashTable) followed = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < self->requests->len; i++)
        {
          SpyglassRequest *request = g_ptr_array_index (self->requests, i);
          const char *key = spyglass_request_get_section_key (request);

          if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING &&
              g_hash_table_add (followed, (gpointer) key))
            follow (self, key);
        }
    }

  schedule_step (self, 0);
}

void
spyglass_queue_set_scan_monitor (SpyglassQueue       *self,
                                 SpyglassScanMonitor *monitor)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (monitor));
  g_return_if_fail (self->scan_monitor == NULL && !self->started);

  self->scan_monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "scan-progress", G_CALLBACK (on_scan_progress),
                           self, G_CONNECT_SWAPPED);
}

void
spyglass_queue_set_network_monitor (SpyglassQueue   *self,
                                    GNetworkMonitor *monitor)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  g_return_if_fail (G_IS_NETWORK_MONITOR (monitor));

  if (self->network_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->network_monitor, self);
      g_clear_object (&self->network_monitor);
    }

  self->network_monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "network-changed", G_CALLBACK (on_network_changed),
                           self, G_CONNECT_SWAPPED);
}

void
spyglass_queue_set_refresh_after_scan (SpyglassQueue *self,
                                       gboolean       refresh)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  self->refresh_after_scan = refresh;
}

void
spyglass_queue_set_path_map (SpyglassQueue   *self,
                             SpyglassPathMap *map)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  g_return_if_fail (map != NULL);

  spyglass_path_map_free (self->path_map);
  self->path_map = map;
}

void
spyglass_queue_set_default_section (SpyglassQueue *self,
                                    const char    *section_key)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));

  g_free (self->default_section);
  self->default_section = section_key != NULL && section_key[0] != '\0' ? g_strdup (section_key) : NULL;
}

void
spyglass_queue_set_threshold (SpyglassQueue *self,
                              guint          threshold)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  self->threshold = threshold;
  self->coalesce_pending = TRUE;
}

void
spyglass_queue_set_batch_window (SpyglassQueue *self,
                                 guint          milliseconds)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  self->batch_window = milliseconds;
}

void
spyglass_queue_set_backoff (SpyglassQueue *self,
                            guint          min_ms,
                            guint          max_ms)
{
  g_return_if_fail (SPYGLASS_IS_QUEUE (self));
  g_return_if_fail (min_ms > 0 && min_ms <= max_ms);

  self->min_backoff = min_ms;
  self->max_backoff = max_ms;
}

gboolean
spyglass_queue_get_paused (SpyglassQueue *self)
{
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), FALSE);
  return self->paused;
}

const char *
spyglass_queue_get_pause_reason (SpyglassQueue *self)
{
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), NULL);
  return self->pause_reason;
}

GPtrArray *
spyglass_queue_get_history (SpyglassQueue *self)
{
  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), NULL);

  ensure_history_loaded (self);
  return self->history;
}

void
spyglass_queue_wait_idle_async (SpyglassQueue       *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SPYGLASS_IS_QUEUE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_queue_wait_idle_async);

  if (self->requests->len == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->idle_waiters = g_list_append (self->idle_waiters, g_steal_pointer (&task));
}

gboolean
spyglass_queue_wait_idle_finish (SpyglassQueue  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

SpyglassQueue *
spyglass_queue_new (SpyglassClient *client,
                    const char     *state_dir)
{
  SpyglassQueue *self;

  g_return_val_if_fail (SPYGLASS_IS_CLIENT (client), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (SPYGLASS_TYPE_QUEUE, NULL);
  self->client = g_object_ref (client);
  self->state_dir = g_strdup (state_dir);
  self->queue_path = g_build_filename (state_dir, "queue.json", NULL);
  self->history_path = g_build_filename (state_dir, "history.jsonl", NULL);
  self->lock_path = g_build_filename (state_dir, "queue.lock", NULL);

  g_signal_connect_object (client, "notify::token", G_CALLBACK (on_token_changed),
                           self, G_CONNECT_SWAPPED);
  return self;
}

static void
spyglass_queue_dispose (GObject *object)
{
  SpyglassQueue *self = (SpyglassQueue *) object;

  g_cancellable_cancel (self->cancellable);
  cancel_step (self);

  /* Whatever changed since the last save is kept for the next start. */
  if (self->dirty)
    save_queue (self);
  save_history (self);

  while (self->idle_waiters != NULL)
    {
      g_autoptr(GTask) task = self->idle_waiters->data;

      self->idle_waiters = g_list_delete_link (self->idle_waiters, self->idle_waiters);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The queue was closed");
    }

  G_OBJECT_CLASS (spyglass_queue_parent_class)->dispose (object);
}

static void
spyglass_queue_finalize (GObject *object)
{
  SpyglassQueue *self = (SpyglassQueue *) object;

  if (self->lock_fd >= 0)
    close (self->lock_fd);  /* releases the lock */

  g_clear_object (&self->client);
  g_clear_object (&self->scan_monitor);
  g_clear_object (&self->network_monitor);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->path_map, spyglass_path_map_free);
  g_clear_pointer (&self->requests, g_ptr_array_unref);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  g_clear_pointer (&self->history_pending, g_ptr_array_unref);
  g_clear_pointer (&self->sections, g_ptr_array_unref);
  g_free (self->state_dir);
  g_free (self->queue_path);
  g_free (self->history_path);
  g_free (self->lock_path);
  g_free (self->pause_reason);
  g_free (self->default_section);

  G_OBJECT_CLASS (spyglass_queue_parent_class)->finalize (object);
}

static void
spyglass_queue_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SpyglassQueue *self = SPYGLASS_QUEUE (object);

  switch (prop_id)
    {
    case PROP_PAUSED:
      g_value_set_boolean (value, self->paused);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_queue_class_init (SpyglassQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spyglass_queue_dispose;
  object_class->finalize = spyglass_queue_finalize;
  object_class->get_property = spyglass_queue_get_property;

  properties[PROP_PAUSED] =
    g_param_spec_boolean ("paused", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A request left the queue, done or failed. */
  signals[REQUEST_FINISHED] =
    g_signal_new ("request-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, SPYGLASS_TYPE_REQUEST);

  /* Plex accepted one request, sent for these requests (a GPtrArray of
   * SpyglassRequest sharing one target; the first has it). */
  signals[BATCH_SENT] =
    g_signal_new ("batch-sent", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);

  /* Sending (or listing the libraries, then the array is empty) failed;
   * the requests stay queued: retried after a back-off, or held while the
   * queue is paused. */
  signals[BATCH_FAILED] =
    g_signal_new ("batch-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_PTR_ARRAY, G_TYPE_ERROR);
}

static void
spyglass_queue_init (SpyglassQueue *self)
{
  self->lock_fd = -1;
  self->requests = g_ptr_array_new_with_free_func (g_object_unref);
  self->history = g_ptr_array_new_with_free_func (g_object_unref);
  self->history_pending = g_ptr_array_new_with_free_func (g_object_unref);
  self->path_map = spyglass_path_map_new ();
  self->threshold = 10;
  self->coalesce_pending = TRUE;  /* what load() finds routed */
  self->batch_window = SPYGLASS_QUEUE_DEFAULT_BATCH_WINDOW;
  self->min_backoff = SPYGLASS_QUEUE_MIN_BACKOFF;
  self->max_backoff = SPYGLASS_QUEUE_MAX_BACKOFF;
  self->cancellable = g_cancellable_new ();
}
