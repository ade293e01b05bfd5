/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "spyglass-error.h"
#include "spyglass-queue.h"
#include "spyglass-route.h"
#include "spyglass-scan-monitor.h"

#define QUEUE_FILE_VERSION 1

/* The journal is folded into a new snapshot once it holds more records
 * than this and more than twice the requests queued: so each change is
 * written a bounded number of times, whatever the size of the queue.  Not
 * much more: every `spyglass scan` and `spyglass status` reads the whole
 * journal (about 40 µs a record in a debug build). */
#define JOURNAL_COMPACT_MIN_RECORDS 256

/* Generated text goes to disk in pieces of about this size: a long queue
 * is never held as one string as well. */
#define WRITE_CHUNK_SIZE (64 * 1024)

/* What the journal does not know yet about a request. */
typedef enum
{
  CHANGE_ADD,     /* new: the journal has never seen it */
  CHANGE_UPDATE,  /* something written of it changed */
  CHANGE_REMOVE,  /* it left the queue */
  CHANGE_NONE,    /* added and removed again before the journal saw it */
} ChangeKind;

typedef struct
{
  SpyglassRequest *request;  /* owned */
  ChangeKind       kind;
  char            *after;    /* CHANGE_ADD: the id of the request it follows, or NULL: at the end */
} Change;

struct _SpyglassQueue
{
  GObject           parent_instance;

  SpyglassClient   *client;
  SpyglassPathMap  *path_map;         /* never NULL */
  char             *state_dir;
  char             *queue_path;       /* the snapshot */
  char             *journal_path;     /* the changes since the snapshot */
  char             *history_path;
  char             *lock_path;
  int               lock_fd;          /* -1 until load() */

  /* The list model: SpyglassRequest (owned), oldest first.  A GSequence
   * (a balanced tree), so that finding, removing and locating a request
   * anywhere in a long queue costs O(log n), not a walk or a move of the
   * rest of the queue. */
  GSequence        *requests;
  GHashTable       *positions;        /* SpyglassRequest → its GSequenceIter in requests */
  GPtrArray        *to_route;         /* SpyglassRequest (owned) queued and not routed yet, in order */
  GHashTable       *scanning;         /* section key → GPtrArray of its SpyglassRequest being scanned */
  GPtrArray        *plan;             /* the batches to send (GPtrArray of SpyglassRequest), in order, or NULL */
  guint             plan_next;        /* the next batch of plan */

  /* On disk: queue.json, a snapshot of the queue, and queue.journal, one
   * JSON record a line for each change since (see journal_flush()). */
  gint64            generation;       /* of the snapshot; the journal's first line repeats it */
  int               journal_fd;       /* appends to the journal of this generation, or -1 */
  gboolean          snapshot_needed;  /* the journal cannot be trusted to hold every change */
  gboolean          snapshot_empty;   /* the snapshot holds no request */
  gsize             journal_header;   /* bytes of the journal's first line */
  gsize             journal_length;   /* bytes of whole records in the journal */
  guint             journal_records;  /* records in it */
  GHashTable       *changes;          /* SpyglassRequest → Change, what the journal does not have yet */
  GPtrArray        *change_order;     /* the same Changes (owned), in order of their first change */
  gboolean          unsaved;          /* a new request is among them */
  JsonGenerator    *generator;

  GPtrArray        *history;          /* SpyglassRequest, newest last; read lazily */
  gboolean          history_loaded;
  guint             history_written;  /* lines appended since the start (when not loaded) */
  GPtrArray        *history_pending;  /* finished, not yet in the file: at most SPYGLASS_QUEUE_HISTORY_SIZE */
  gboolean          history_rewrite;  /* more than that finished: the file is replaced, not appended to */

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
  return (guint) g_sequence_get_length (SPYGLASS_QUEUE (model)->requests);
}

static gpointer
spyglass_queue_get_item (GListModel *model,
                         guint       position)
{
  SpyglassQueue *self = SPYGLASS_QUEUE (model);
  GSequenceIter *iter = g_sequence_get_iter_at_pos (self->requests, (int) position);

  if (g_sequence_iter_is_end (iter))
    return NULL;
  return g_object_ref (g_sequence_get (iter));
}

static void
spyglass_queue_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = spyglass_queue_get_item_type;
  iface->get_n_items = spyglass_queue_get_n_items;
  iface->get_item = spyglass_queue_get_item;
}

static guint
queue_length (SpyglassQueue *self)
{
  return (guint) g_sequence_get_length (self->requests);
}

static gboolean
queue_contains (SpyglassQueue   *self,
                SpyglassRequest *request)
{
  return g_hash_table_contains (self->positions, request);
}

/* Puts @request in the queue right after @anchor, or at the end. */
static void
queue_insert (SpyglassQueue   *self,
              SpyglassRequest *request,
              SpyglassRequest *anchor)
{
  GSequenceIter *iter;

  g_assert (!queue_contains (self, request));

  if (anchor != NULL)
    {
      GSequenceIter *at = g_hash_table_lookup (self->positions, anchor);

      g_assert (at != NULL);
      iter = g_sequence_insert_before (g_sequence_iter_next (at), g_object_ref (request));
    }
  else
    iter = g_sequence_append (self->requests, g_object_ref (request));

  g_hash_table_insert (self->positions, request, iter);
  g_list_model_items_changed (G_LIST_MODEL (self), g_sequence_iter_get_position (iter), 0, 1);
}

/* Takes @request out of the queue; the caller holds a reference. */
static void
queue_remove (SpyglassQueue   *self,
              SpyglassRequest *request)
{
  GSequenceIter *iter = g_hash_table_lookup (self->positions, request);
  guint position;

  if (iter == NULL)
    return;

  position = g_sequence_iter_get_position (iter);
  g_hash_table_remove (self->positions, request);
  g_sequence_remove (iter);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
}

/* ------------------------------------------------------------------------
 * Files
 *
 * The queue is kept in two files: queue.json, a snapshot
 * ({"version":1,"generation":G,"requests":[…]}), and queue.journal, what
 * changed since, one JSON object a line:
 *
 *   {"version":1,"generation":G}           the first line
 *   {"op":"add","request":{…},"after":ID}  a new request ("after": the
 *                                          request it follows; else at
 *                                          the end)
 *   {"op":"update","request":{…}}          a request's new state
 *   {"op":"remove","id":ID}                it left the queue
 *
 * So a change costs a line, not a rewrite of the queue.  When the journal
 * has grown past JOURNAL_COMPACT_MIN_RECORDS and twice the queue, the
 * queue is written to a new snapshot of generation G + 1, then a new
 * journal of G + 1 replaces the old one, each by an atomic rename with the
 * file and its folder synced.  A journal of an older generation than the
 * snapshot's is one a crash caught between the two renames: the snapshot
 * holds all it says, and it is ignored.
 *
 * A crash while a line is appended leaves it torn, without its newline:
 * that last piece is ignored (and cut off at the next load).  A line that
 * cannot be read before it is corruption.
 * ------------------------------------------------------------------------ */

static void
set_error_from_errno (GError     **error,
                      int          saved_errno,
                      const char  *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "%s: %s", path, g_strerror (saved_errno));
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += written;
      length -= written;
    }

  return TRUE;
}

/* Makes the renames in @path durable. */
static gboolean
sync_folder (const char  *path,
             GError     **error)
{
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      set_error_from_errno (error, saved_errno, path);
      return FALSE;
    }

  close (fd);
  return TRUE;
}

/* Moves the temporary file @tmp_path (open as @fd, written) to @path:
 * synced, renamed, the folder synced.  Closes @fd unless @keep_open. */
static gboolean
commit_file (SpyglassQueue  *self,
             int             fd,
             const char     *tmp_path,
             const char     *path,
             gboolean        keep_open,
             GError        **error)
{
  if (fsync (fd) != 0 || (!keep_open && close (fd) != 0) ||
      g_rename (tmp_path, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      set_error_from_errno (error, saved_errno, path);
      return FALSE;
    }

  return sync_folder (self->state_dir, error);
}

static void
append_json (SpyglassQueue *self,
             GString       *text,
             JsonNode      *node)
{
  json_generator_set_root (self->generator, node);
  json_generator_to_gstring (self->generator, text);
}

/* Writes the whole queue to a new snapshot of @generation. */
static gboolean
write_snapshot (SpyglassQueue  *self,
                gint64          generation,
                GError        **error)
{
  g_autofree char *tmp_path = g_strconcat (self->queue_path, ".XXXXXX", NULL);
  g_autoptr(GString) text = g_string_sized_new (WRITE_CHUNK_SIZE + 4096);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  gboolean written = TRUE;

  if (fd < 0)
    {
      set_error_from_errno (error, errno, tmp_path);
      return FALSE;
    }

  g_string_append_printf (text, "{\"version\":%d,\"generation\":%" G_GINT64_FORMAT ",\"requests\":[",
                          QUEUE_FILE_VERSION, generation);
  for (GSequenceIter *iter = g_sequence_get_begin_iter (self->requests);
       written && !g_sequence_iter_is_end (iter);
       iter = g_sequence_iter_next (iter))
    {
      g_autoptr(JsonNode) node = spyglass_request_to_json (g_sequence_get (iter));

      if (!g_sequence_iter_is_begin (iter))
        g_string_append_c (text, ',');
      append_json (self, text, node);
      if (text->len >= WRITE_CHUNK_SIZE)
        {
          written = write_all (fd, text->str, text->len);
          g_string_truncate (text, 0);
        }
    }
  g_string_append (text, "]}");

  if (!written || !write_all (fd, text->str, text->len))
    {
      int saved_errno = errno;

      close (fd);
      g_unlink (tmp_path);
      set_error_from_errno (error, saved_errno, self->queue_path);
      return FALSE;
    }

  return commit_file (self, fd, tmp_path, self->queue_path, FALSE, error);
}

/* Replaces the journal with an empty one of this generation, and keeps
 * it open for appending. */
static gboolean
journal_start (SpyglassQueue  *self,
               GError        **error)
{
  g_autofree char *tmp_path = g_strconcat (self->journal_path, ".XXXXXX", NULL);
  g_autofree char *header = g_strdup_printf ("{\"version\":%d,\"generation\":%" G_GINT64_FORMAT "}\n",
                                             QUEUE_FILE_VERSION, self->generation);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_APPEND | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      set_error_from_errno (error, errno, tmp_path);
      return FALSE;
    }

  if (!write_all (fd, header, strlen (header)))
    {
      int saved_errno = errno;

      close (fd);
      g_unlink (tmp_path);
      set_error_from_errno (error, saved_errno, self->journal_path);
      return FALSE;
    }

  if (!commit_file (self, fd, tmp_path, self->journal_path, TRUE, error))
    {
      close (fd);
      return FALSE;
    }

  if (self->journal_fd >= 0)
    close (self->journal_fd);
  self->journal_fd = fd;
  self->journal_header = self->journal_length = strlen (header);
  self->journal_records = 0;
  return TRUE;
}

static void
change_free (gpointer data)
{
  Change *change = data;

  g_object_unref (change->request);
  g_free (change->after);
  g_free (change);
}

static Change *
change_new (SpyglassQueue   *self,
            SpyglassRequest *request,
            ChangeKind       kind)
{
  Change *change = g_new0 (Change, 1);

  change->request = g_object_ref (request);
  change->kind = kind;
  g_hash_table_insert (self->changes, request, change);
  g_ptr_array_add (self->change_order, change);
  return change;
}

static void
clear_changes (SpyglassQueue *self)
{
  g_hash_table_remove_all (self->changes);
  g_ptr_array_set_size (self->change_order, 0);
  self->unsaved = FALSE;
}

/* @request was added to the queue, after @anchor (NULL: at the end). */
static void
note_added (SpyglassQueue   *self,
            SpyglassRequest *request,
            SpyglassRequest *anchor)
{
  Change *change;

  g_assert (!g_hash_table_contains (self->changes, request));

  change = change_new (self, request, CHANGE_ADD);
  if (anchor != NULL)
    change->after = g_strdup (spyglass_request_get_id (anchor));
  self->unsaved = TRUE;
}

/* Something of @request that is written to disk changed.  Several
 * changes before the next flush are one record. */
static void
note_changed (SpyglassQueue   *self,
              SpyglassRequest *request)
{
  if (queue_contains (self, request) && !g_hash_table_contains (self->changes, request))
    change_new (self, request, CHANGE_UPDATE);
}

/* @request left the queue (or, found finished by load(), never joined
 * it). */
static void
note_removed (SpyglassQueue   *self,
              SpyglassRequest *request)
{
  Change *change = g_hash_table_lookup (self->changes, request);

  if (change == NULL)
    change_new (self, request, CHANGE_REMOVE);
  else if (change->kind == CHANGE_ADD)
    change->kind = CHANGE_NONE;
  else if (change->kind == CHANGE_UPDATE)
    change->kind = CHANGE_REMOVE;
}

static void
append_record (SpyglassQueue *self,
               GString       *text,
               Change        *change)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *record = json_object_new ();

  switch (change->kind)
    {
    case CHANGE_ADD:
      json_object_set_string_member (record, "op", "add");
      json_object_set_member (record, "request", spyglass_request_to_json (change->request));
      if (change->after != NULL)
        json_object_set_string_member (record, "after", change->after);
      break;

    case CHANGE_UPDATE:
      json_object_set_string_member (record, "op", "update");
      json_object_set_member (record, "request", spyglass_request_to_json (change->request));
      break;

    case CHANGE_REMOVE:
      json_object_set_string_member (record, "op", "remove");
      json_object_set_string_member (record, "id", spyglass_request_get_id (change->request));
      break;

    case CHANGE_NONE:
    default:
      g_assert_not_reached ();
    }

  json_node_take_object (node, record);
  append_json (self, text, node);
  g_string_append_c (text, '\n');
}

/* Writes the queue to a new snapshot and starts a new journal: what the
 * journal held is in the snapshot now. */
static gboolean
journal_compact (SpyglassQueue  *self,
                 GError        **error)
{
  if (!write_snapshot (self, self->generation + 1, error))
    return FALSE;
  self->snapshot_empty = queue_length (self) == 0;

  /* The old journal is stale from here on: its generation is behind the
   * snapshot's, which holds every change in it. */
  self->generation++;
  self->snapshot_needed = FALSE;
  clear_changes (self);
  if (self->journal_fd >= 0)
    {
      close (self->journal_fd);
      self->journal_fd = -1;
    }

  return journal_start (self, error);
}

/* Appends what changed to the journal.  Synced when a new request is
 * among the changes: a request is on disk before it is sent.  A state
 * change after that need not be, as the queue file was not before: lost
 * in a power cut, it sends at most that request again, and never loses
 * it. */
static void
journal_flush (SpyglassQueue *self)
{
  g_autoptr(GString) text = NULL;
  g_autoptr(GError) error = NULL;
  gsize written = 0;
  guint records = 0;

  if (self->lock_fd < 0 || (self->change_order->len == 0 && !self->snapshot_needed))
    return;

  if (self->snapshot_needed)
    {
      if (!journal_compact (self, &error))
        g_warning (_("Cannot save the scan queue: %s"), error->message);
      return;
    }

  if (self->journal_fd < 0 && !journal_start (self, &error))
    goto failed;

  text = g_string_sized_new (WRITE_CHUNK_SIZE + 4096);
  for (guint i = 0; i < self->change_order->len; i++)
    {
      Change *change = g_ptr_array_index (self->change_order, i);

      if (change->kind == CHANGE_NONE)
        continue;

      append_record (self, text, change);
      records++;
      if (text->len >= WRITE_CHUNK_SIZE || i + 1 == self->change_order->len)
        {
          if (!write_all (self->journal_fd, text->str, text->len))
            {
              set_error_from_errno (&error, errno, self->journal_path);
              goto failed;
            }
          written += text->len;
          g_string_truncate (text, 0);
        }
    }
  if (text->len > 0)
    {
      if (!write_all (self->journal_fd, text->str, text->len))
        {
          set_error_from_errno (&error, errno, self->journal_path);
          goto failed;
        }
      written += text->len;
    }

  if (self->unsaved && fdatasync (self->journal_fd) != 0)
    {
      set_error_from_errno (&error, errno, self->journal_path);
      goto failed;
    }

  self->journal_length += written;
  self->journal_records += records;
  clear_changes (self);

  /* An empty queue over an empty snapshot: what the journal says comes to
   * nothing, so it is cut back to its first line, which needs no sync (if
   * the cut is lost, the whole journal still comes to nothing).  This
   * keeps the journal short for a command that sends a request and
   * exits.  A queue that empties over a snapshot that is not empty is
   * folded into an empty snapshot first. */
  if (queue_length (self) == 0 && self->journal_records > 0 && self->snapshot_empty)
    {
      if (ftruncate (self->journal_fd, self->journal_header) == 0)
        {
          self->journal_length = self->journal_header;
          self->journal_records = 0;
        }
    }
  else if ((queue_length (self) == 0 && self->journal_records > 0) ||
           self->journal_records > MAX (JOURNAL_COMPACT_MIN_RECORDS, 2 * queue_length (self)))
    {
      if (!journal_compact (self, &error))
        g_warning (_("Cannot save the scan queue: %s"), error->message);
    }
  return;

failed:
  /* Cut off what was written of this flush, so that no half record is
   * left in the middle of the journal, and let the next flush write the
   * whole queue to a snapshot instead: the changes are kept until then. */
  g_warning (_("Cannot save the scan queue: %s"), error->message);
  if (self->journal_fd >= 0 && ftruncate (self->journal_fd, self->journal_length) != 0)
    {
      close (self->journal_fd);
      self->journal_fd = -1;
    }
  self->snapshot_needed = TRUE;
}

/* Reads the snapshot at @path: its requests, oldest first, and its
 * generation.  A missing file is an empty queue of generation 0; an
 * unreadable one is an error. */
static GPtrArray *
read_snapshot (const char  *path,
               gint64      *generation,
               GError     **error)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonArray *array;

  *generation = 0;
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
      !json_object_has_member (object, "requests") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "requests")))
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                           _("not a Spyglass queue file"));
      return NULL;
    }

  array = json_object_get_array_member (object, "requests");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      SpyglassRequest *request = spyglass_request_new_from_json (json_array_get_element (array, i),
                                                                 error);
      if (request == NULL)
        return NULL;
      g_ptr_array_add (requests, request);
    }

  *generation = json_object_get_int_member_with_default (object, "generation", 0);
  return g_steal_pointer (&requests);
}

typedef enum
{
  JOURNAL_MISSING,   /* none (a queue saved before there were journals) */
  JOURNAL_STALE,     /* older than the snapshot, which holds all it says */
  JOURNAL_AHEAD,     /* of a newer snapshot than the one read */
  JOURNAL_REPLAYED,
} JournalStatus;

typedef struct
{
  JournalStatus status;
  gsize         size;     /* of the file */
  gsize         header;   /* of its first line */
  gsize         length;   /* of its whole lines: the rest is a torn record */
  guint         records;
} JournalInfo;

static gboolean
journal_line_error (GError     **error,
                    guint        line,
                    const char  *message)
{
  g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
               _("line %u: %s"), line, message);
  return FALSE;
}

/* Applies one record to @requests (the queue, oldest first) and @by_id
 * (request id → its GSequenceIter in @requests). */
static gboolean
replay_record (JsonObject  *record,
               GSequence   *requests,
               GHashTable  *by_id,
               guint        line,
               GError     **error)
{
  const char *op = json_object_get_string_member_with_default (record, "op", "");
  g_autoptr(GError) local_error = NULL;
  g_autoptr(SpyglassRequest) request = NULL;
  GSequenceIter *iter;
  const char *id;

  if (g_str_equal (op, "remove"))
    {
      id = json_object_get_string_member_with_default (record, "id", NULL);
      iter = id != NULL ? g_hash_table_lookup (by_id, id) : NULL;
      if (iter == NULL)
        return journal_line_error (error, line, _("not a change of the scan queue"));
      g_hash_table_remove (by_id, id);
      g_sequence_remove (iter);
      return TRUE;
    }

  if (!g_str_equal (op, "add") && !g_str_equal (op, "update"))
    return journal_line_error (error, line, _("not a change of the scan queue"));

  request = spyglass_request_new_from_json (json_object_get_member (record, "request"), &local_error);
  if (request == NULL)
    return journal_line_error (error, line, local_error->message);
  id = spyglass_request_get_id (request);
  iter = g_hash_table_lookup (by_id, id);

  if (g_str_equal (op, "update"))
    {
      if (iter == NULL)
        return journal_line_error (error, line, _("not a change of the scan queue"));
      g_sequence_set (iter, g_steal_pointer (&request));
      return TRUE;
    }

  if (iter != NULL)
    return journal_line_error (error, line, _("not a change of the scan queue"));

  /* The request it followed may have left before the journal saw it:
   * then it goes at the end. */
  iter = g_hash_table_lookup (by_id, json_object_get_string_member_with_default (record, "after", ""));
  if (iter != NULL)
    iter = g_sequence_insert_before (g_sequence_iter_next (iter), g_steal_pointer (&request));
  else
    iter = g_sequence_append (requests, g_steal_pointer (&request));
  g_hash_table_insert (by_id, g_strdup (id), iter);
  return TRUE;
}

/* Applies the journal at @path to @requests, read from a snapshot of
 * @generation.  Only when the journal belongs to that snapshot
 * (info->status JOURNAL_REPLAYED) does @requests change.  Fails when the
 * journal cannot be read, or a line before its last is not a record that
 * fits: corruption. */
static gboolean
replay_journal (const char   *path,
                gint64        generation,
                GPtrArray   **requests,
                JournalInfo  *info,
                GError      **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GSequence) sequence = NULL;
  g_autoptr(GHashTable) by_id = NULL;
  JsonObject *header;
  JsonNode *root;
  const char *end;
  char *line;
  char *next;
  guint number = 1;

  memset (info, 0, sizeof *info);

  if (!g_file_get_contents (path, &contents, &info->size, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE, "%s", local_error->message);
      return FALSE;
    }

  if (info->size == 0)
    return TRUE;

  /* What follows the last newline is a record a crash cut short. */
  for (end = contents + info->size; end > contents && end[-1] != '\n'; end--)
    ;
  info->length = end - contents;
  if (info->length == 0 || memchr (contents, '\0', info->length) != NULL)
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                           _("not a Spyglass queue journal"));
      return FALSE;
    }
  contents[info->length - 1] = '\0';

  next = strchr (contents, '\n');
  info->header = next != NULL ? (gsize) (next - contents) + 1 : info->length;
  if (next != NULL)
    *next++ = '\0';
  if (!json_parser_load_from_data (parser, contents, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      json_object_get_int_member_with_default ((header = json_node_get_object (root)),
                                               "version", 0) != QUEUE_FILE_VERSION ||
      !json_object_has_member (header, "generation"))
    {
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                           _("not a Spyglass queue journal"));
      return FALSE;
    }

  if (json_object_get_int_member (header, "generation") != generation)
    {
      info->status = json_object_get_int_member (header, "generation") < generation
                     ? JOURNAL_STALE : JOURNAL_AHEAD;
      return TRUE;
    }

  sequence = g_sequence_new (g_object_unref);
  by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < (*requests)->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (*requests, i);

      g_hash_table_insert (by_id, g_strdup (spyglass_request_get_id (request)),
                           g_sequence_append (sequence, g_object_ref (request)));
    }

  for (line = next; line != NULL; line = next)
    {
      g_autoptr(GError) parse_error = NULL;

      number++;
      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';

      if (!json_parser_load_from_data (parser, line, -1, &parse_error))
        return journal_line_error (error, number, parse_error->message);
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return journal_line_error (error, number, _("not a change of the scan queue"));
      if (!replay_record (json_node_get_object (root), sequence, by_id, number, error))
        return FALSE;
      info->records++;
    }

  g_ptr_array_set_size (*requests, 0);
  for (GSequenceIter *iter = g_sequence_get_begin_iter (sequence);
       !g_sequence_iter_is_end (iter);
       iter = g_sequence_iter_next (iter))
    g_ptr_array_add (*requests, g_object_ref (g_sequence_get (iter)));

  info->status = JOURNAL_REPLAYED;
  return TRUE;
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
 * history to add to it.  Lines that cannot be read are skipped.  Read at
 * most once: from then on the history in memory is the whole of it. */
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

/* Replaces the history file with the history in memory. */
static void
rewrite_history (SpyglassQueue *self)
{
  g_autofree char *tmp_path = g_strconcat (self->history_path, ".XXXXXX", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  int fd;

  for (guint i = 0; i < self->history->len; i++)
    {
      g_autofree char *line = request_to_line (g_ptr_array_index (self->history, i));
      g_string_append (text, line);
    }

  /* A record, not a promise: replaced atomically, not synced. */
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 || !write_all (fd, text->str, text->len) || close (fd) != 0 ||
      g_rename (tmp_path, self->history_path) != 0)
    {
      g_warning ("Cannot save the scan history: %s: %s", self->history_path, g_strerror (errno));
      if (fd >= 0)
        g_unlink (tmp_path);
    }
}

static void
save_history (SpyglassQueue *self)
{
  g_autoptr(GString) text = NULL;
  GStatBuf st;
  int fd;

  if (self->lock_fd < 0 || (self->history_pending->len == 0 && !self->history_rewrite))
    return;

  /* More requests finished than the history keeps: the newest of them,
   * in memory, are the whole history now. */
  if (self->history_rewrite)
    {
      self->history_loaded = TRUE;
      self->history_rewrite = FALSE;
      g_ptr_array_set_size (self->history_pending, 0);
      rewrite_history (self);
      return;
    }

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
  if (fd < 0 || !write_all (fd, text->str, text->len))
    g_warning ("Cannot save the scan history in %s: %s", self->history_path, g_strerror (errno));
  if (fd >= 0)
    close (fd);

  /* Grown past its size: read once (if it was not), then written from
   * memory. */
  if (g_stat (self->history_path, &st) == 0 && st.st_size > HISTORY_COMPACT_SIZE)
    {
      ensure_history_loaded (self);
      rewrite_history (self);
    }
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
  g_autofree char *queue_path = NULL;
  g_autofree char *journal_path = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (state_dir != NULL, NULL);

  queue_path = g_build_filename (state_dir, "queue.json", NULL);
  journal_path = g_build_filename (state_dir, "queue.journal", NULL);

  /* The owner may write a new snapshot and journal between the two reads:
   * then the journal read is ahead of the snapshot read, and both are
   * read again.  (A snapshot read after it and a journal read before is
   * a stale journal: the snapshot holds it all.) */
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GPtrArray) requests = NULL;
      JournalInfo info;
      gint64 generation;

      g_clear_error (&local_error);
      requests = read_snapshot (queue_path, &generation, &local_error);
      if (requests != NULL &&
          replay_journal (journal_path, generation, &requests, &info, &local_error))
        {
          if (info.status != JOURNAL_AHEAD)
            return g_steal_pointer (&requests);
          g_set_error_literal (&local_error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                               _("the journal is newer than the queue file"));
        }

      /* Reading as the owner cuts the journal back may read bytes of two
       * versions of it: what is really corrupt stays so. */
      g_usleep (2000);
    }

  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

static void
add_to_history (SpyglassQueue   *self,
                SpyglassRequest *request)
{
  g_ptr_array_add (self->history, g_object_ref (request));
  if (self->history->len > SPYGLASS_QUEUE_HISTORY_SIZE)
    g_ptr_array_remove_range (self->history, 0, self->history->len - SPYGLASS_QUEUE_HISTORY_SIZE);

  /* Past the size of the history, the file will be replaced by the
   * history in memory: nothing older need wait to be appended. */
  g_ptr_array_add (self->history_pending, g_object_ref (request));
  if (self->history_pending->len > SPYGLASS_QUEUE_HISTORY_SIZE)
    {
      g_ptr_array_set_size (self->history_pending, 0);
      self->history_rewrite = TRUE;
    }
}

static void
add_scanning (SpyglassQueue   *self,
              SpyglassRequest *request)
{
  const char *key = spyglass_request_get_section_key (request);
  GPtrArray *list = g_hash_table_lookup (self->scanning, key);

  if (list == NULL)
    {
      list = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_insert (self->scanning, g_strdup (key), list);
    }
  g_ptr_array_add (list, g_object_ref (request));
}

gboolean
spyglass_queue_load (SpyglassQueue  *self,
                     char          **recovered_path,
                     GError        **error)
{
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) local_error = NULL;
  JournalInfo journal = { JOURNAL_MISSING, 0, 0, 0, 0 };
  const char *unreadable = self->queue_path;
  gint64 generation = 0;

  g_return_val_if_fail (SPYGLASS_IS_QUEUE (self), FALSE);
  g_return_val_if_fail (self->lock_fd < 0, FALSE);

  if (recovered_path != NULL)
    *recovered_path = NULL;

  if (!take_lock (self, error))
    return FALSE;

  requests = read_snapshot (self->queue_path, &generation, &local_error);
  if (requests != NULL)
    {
      self->snapshot_empty = requests->len == 0;
      unreadable = self->journal_path;
      if (!replay_journal (self->journal_path, generation, &requests, &journal, &local_error))
        g_clear_pointer (&requests, g_ptr_array_unref);
      else if (journal.status == JOURNAL_AHEAD)
        {
          /* No owner writes one without the other: not ours to trust. */
          g_set_error_literal (&local_error, SPYGLASS_ERROR, SPYGLASS_ERROR_QUEUE_FILE,
                               _("the journal is newer than the queue file"));
          g_clear_pointer (&requests, g_ptr_array_unref);
        }
    }

  if (requests == NULL)
    {
      const char *other = unreadable == self->queue_path ? self->journal_path : self->queue_path;
      g_autofree char *aside = set_aside (unreadable);

      /* The other file means nothing without this one; it is kept next to
       * it rather than read, or overwritten later. */
      if (g_file_test (other, G_FILE_TEST_EXISTS))
        {
          g_autofree char *other_aside = set_aside (other);

          g_warning ("The scan queue %s could not be read (%s); it was kept as %s, and %s as %s",
                     unreadable, local_error->message, aside, other, other_aside);
        }
      else
        g_warning ("The scan queue %s could not be read (%s); it was kept as %s",
                   unreadable, local_error->message, aside);

      if (recovered_path != NULL)
        *recovered_path = g_steal_pointer (&aside);
      requests = g_ptr_array_new_with_free_func (g_object_unref);
      generation = 0;
      self->snapshot_empty = TRUE;
      memset (&journal, 0, sizeof journal);
      g_clear_error (&local_error);
    }

  self->generation = generation;
  if (journal.status == JOURNAL_REPLAYED)
    {
      /* Appends go on from the last whole record; a torn one is cut off. */
      self->journal_fd = g_open (self->journal_path, O_WRONLY | O_APPEND | O_CLOEXEC, 0);
      if (self->journal_fd < 0 ||
          (journal.length < journal.size && ftruncate (self->journal_fd, journal.length) != 0))
        self->snapshot_needed = TRUE;
      self->journal_header = journal.header;
      self->journal_length = journal.length;
      self->journal_records = journal.records;
    }
  /* Else there is no journal of this generation yet: the first flush
   * starts one (and replaces a stale one). */

  /* Resume: what was on its way is sent again (Plex may have it once
   * more, never lost); what was finished belongs to the history. */
  for (guint i = 0; i < requests->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (requests, i);
      GSequenceIter *iter;

      switch (spyglass_request_get_state (request))
        {
        case SPYGLASS_REQUEST_SENDING:
          spyglass_request_set_state (request, SPYGLASS_REQUEST_QUEUED);
          G_GNUC_FALLTHROUGH;
        case SPYGLASS_REQUEST_QUEUED:
        case SPYGLASS_REQUEST_SCANNING:
          iter = g_sequence_append (self->requests, g_object_ref (request));
          g_hash_table_insert (self->positions, request, iter);
          if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING)
            add_scanning (self, request);
          else if (!spyglass_request_get_routed (request))
            g_ptr_array_add (self->to_route, g_object_ref (request));
          break;

        case SPYGLASS_REQUEST_DONE:
        case SPYGLASS_REQUEST_FAILED:
        default:
          add_to_history (self, request);
          note_removed (self, request);
          break;
        }
    }

  if (queue_length (self) > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, queue_length (self));

  if (self->journal_records > MAX (JOURNAL_COMPACT_MIN_RECORDS, 2 * queue_length (self)))
    self->snapshot_needed = TRUE;
  journal_flush (self);

  return TRUE;
}


/* ------------------------------------------------------------------------
 * The state machine
 * ------------------------------------------------------------------------ */

static void
notify_idle_waiters (SpyglassQueue *self)
{
  GList *waiters;

  if (queue_length (self) > 0)
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

/* Moves a finished request from the queue to the history. */
static void
finish_request (SpyglassQueue        *self,
                SpyglassRequest      *request,
                SpyglassRequestState  state,
                const GError         *error)
{
  g_autoptr(SpyglassRequest) held = g_object_ref (request);

  /* The state last: whoever it notifies reads the rest. */
  spyglass_request_set_finished (request, g_get_real_time ());
  spyglass_request_set_error (request, error);
  spyglass_request_set_progress (request, state == SPYGLASS_REQUEST_DONE ? 100 : -1);
  spyglass_request_set_state (request, state);

  if (queue_contains (self, request))
    {
      note_removed (self, request);
      queue_remove (self, request);
    }

  add_to_history (self, request);
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

/* Routes every request that waits for it.  One folder may lie in several
 * libraries: the request takes the first, and a copy is queued after it
 * for each other one.
 *
 * A route is not written to disk by itself: after a restart a request
 * that was not sent is routed again, the same way, and only the route of
 * what was sent matters (it is written with the request's new state).
 * Except when routing made copies: the copies are new requests, and
 * their original's route is written with them, so that a restart does
 * not copy it once more. */
static void
route_pending (SpyglassQueue *self)
{
  g_autoptr(GPtrArray) pending = g_steal_pointer (&self->to_route);

  self->to_route = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < pending->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (pending, i);
      const char *local_path = spyglass_request_get_local_path (request);
      const char *section_key = spyglass_request_get_section_key (request);
      SpyglassRequest *anchor = request;
      g_autoptr(GPtrArray) targets = NULL;
      g_autoptr(GError) error = NULL;

      if (!queue_contains (self, request) ||
          spyglass_request_get_routed (request) ||
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
              continue;
            }
          spyglass_request_set_route (request, section->key, section->title, NULL);
          self->coalesce_pending = TRUE;
          continue;
        }

      targets = spyglass_route_local_path (self->path_map, local_path, self->sections,
                                           section_key, spyglass_request_get_force (request),
                                           &error);
      if (targets == NULL)
        {
          finish_request (self, request, SPYGLASS_REQUEST_FAILED, error);
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
          g_autoptr(SpyglassRequest) copy = NULL;

          if (t == 0)
            {
              spyglass_request_set_route (request, target->section->key, target->section->title,
                                          target->path);
              continue;
            }

          copy = spyglass_request_new_folder (local_path, NULL, spyglass_request_get_force (request));
          spyglass_request_set_route (copy, target->section->key, target->section->title,
                                      target->path);
          queue_insert (self, copy, anchor);
          note_added (self, copy, anchor);
          anchor = copy;
        }
      if (targets->len > 1)
        note_changed (self, request);
      self->coalesce_pending = TRUE;
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

/* "F\037KEY" for a whole library, "F\037KEY\037PATH" for a folder (F:
 * force, 0 or 1): how coalesce_queued() looks targets up. */
static char *
target_key (const char *section_key,
            gboolean    force,
            const char *path)
{
  return g_strconcat (force ? "1" : "0", "\037", section_key,
                      path != NULL ? "\037" : NULL, path, NULL);
}

/* The target of @coalesced (indexed by target_key() in @index) that
 * covers @request.  Kept folders never lie within one another, so at most
 * one does: for an absolute POSIX path, the one found among the path and
 * its ancestors by name; for any other, the first found in order. */
static SpyglassScanTarget *
find_covering_target (GHashTable      *index,
                      GPtrArray       *coalesced,
                      SpyglassRequest *request)
{
  const char *key = spyglass_request_get_section_key (request);
  const char *path = spyglass_request_get_target_path (request);
  gboolean force = spyglass_request_get_force (request);
  g_autofree char *whole = target_key (key, force, NULL);
  SpyglassScanTarget *found = g_hash_table_lookup (index, whole);

  if (found != NULL)
    return found;

  if (path != NULL && path[0] == '/')
    {
      g_autofree char *lookup = target_key (key, force, path);
      char *folder = lookup + strlen (whole) + 1;

      /* The path itself, then each ancestor up to "/": a normalized POSIX
       * path holds no "//" and ends in '/' only when it is "/". */
      for (char *end = folder + strlen (folder); end > folder; end--)
        {
          if (*end != '\0' && *end != '/')
            continue;
          if (end == folder + 0 + 1 && *end == '/')
            break;

          {
            char saved = *end;

            *end = '\0';
            found = g_hash_table_lookup (index, lookup);
            *end = saved;
          }
          if (found != NULL)
            return found;
        }

      folder[1] = '\0';
      found = g_hash_table_lookup (index, lookup);
      if (found != NULL)
        return found;
    }

  for (guint t = 0; t < coalesced->len; t++)
    if (target_covers (g_ptr_array_index (coalesced, t), request))
      return g_ptr_array_index (coalesced, t);

  return NULL;
}

/* Widens the targets of queued requests with the coalescing rules, so that
 * each library gets the fewest, narrowest scans.  Requests keep their
 * identity: only what will be sent for them changes.
 *
 * Only when requests were routed, or came back to the queue, since the
 * last time: what is left of a coalesced queue once a batch has gone
 * coalesces to itself, and coalescing is not cheap (it ran before every
 * request sent, over the whole queue).  Like a route, what coalescing
 * changes is not written by itself: after a restart it comes out the
 * same. */
static void
coalesce_queued (SpyglassQueue *self)
{
  g_autoptr(GPtrArray) queued = NULL;
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(GPtrArray) coalesced = NULL;
  g_autoptr(GHashTable) index = NULL;

  if (!self->coalesce_pending)
    return;
  self->coalesce_pending = FALSE;

  queued = g_ptr_array_new ();
  targets = g_ptr_array_new_with_free_func ((GDestroyNotify) spyglass_scan_target_free);
  for (GSequenceIter *iter = g_sequence_get_begin_iter (self->requests);
       !g_sequence_iter_is_end (iter);
       iter = g_sequence_iter_next (iter))
    {
      SpyglassRequest *request = g_sequence_get (iter);
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

      g_ptr_array_add (queued, request);
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

  index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint t = 0; t < coalesced->len; t++)
    {
      SpyglassScanTarget *target = g_ptr_array_index (coalesced, t);

      g_hash_table_insert (index, target_key (target->section->key, target->force, target->path),
                           target);
    }

  for (guint i = 0; i < queued->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (queued, i);
      SpyglassScanTarget *target = find_covering_target (index, coalesced, request);

      if (target != NULL &&
          g_strcmp0 (target->path, spyglass_request_get_target_path (request)) != 0)
        spyglass_request_set_route (request, target->section->key,
                                    spyglass_request_get_section_title (request),
                                    target->path);
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

static guint
target_hash (gconstpointer key)
{
  SpyglassRequest *request = (SpyglassRequest *) key;
  const char *path = spyglass_request_get_target_path (request);

  return (g_str_hash (spyglass_request_get_section_key (request)) * 31 +
          (path != NULL ? g_str_hash (path) : 0)) * 2 +
         !!spyglass_request_get_force (request);
}

static gboolean
target_equal (gconstpointer a,
              gconstpointer b)
{
  return same_target ((SpyglassRequest *) a, (SpyglassRequest *) b);
}

/* Groups the queued, routed requests by target, in the order of each
 * target's first request: the batches to send, one HTTP request each.
 * Made once, in one walk of the queue, after each coalescing (which is
 * when targets change or requests come back), and taken a batch at a
 * time: not a walk of the queue for every request sent. */
static void
make_plan (SpyglassQueue *self)
{
  g_autoptr(GHashTable) batches = g_hash_table_new (target_hash, target_equal);

  g_clear_pointer (&self->plan, g_ptr_array_unref);
  self->plan = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  self->plan_next = 0;

  for (GSequenceIter *iter = g_sequence_get_begin_iter (self->requests);
       !g_sequence_iter_is_end (iter);
       iter = g_sequence_iter_next (iter))
    {
      SpyglassRequest *request = g_sequence_get (iter);
      GPtrArray *batch;

      if (!spyglass_request_get_routed (request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED)
        continue;

      batch = g_hash_table_lookup (batches, request);
      if (batch == NULL)
        {
          batch = g_ptr_array_new_with_free_func (g_object_unref);
          g_ptr_array_add (self->plan, batch);
          g_hash_table_insert (batches, request, batch);
        }
      g_ptr_array_add (batch, g_object_ref (request));
    }
}

/* The queued, routed requests that share the first one's target, in
 * order: one HTTP request serves them all.  Requests of the plan that
 * were sent, finished or held back since it was made are left out; when
 * the plan is used up, it is made again once. */
static GPtrArray *
next_batch (SpyglassQueue *self)
{
  GPtrArray *batch = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 now = g_get_real_time ();
  gboolean made = FALSE;

  while (batch->len == 0)
    {
      GPtrArray *planned;

      if (self->plan == NULL || self->plan_next >= self->plan->len)
        {
          if (made)
            break;
          make_plan (self);
          made = TRUE;
          continue;
        }

      planned = g_ptr_array_index (self->plan, self->plan_next++);
      for (guint i = 0; i < planned->len; i++)
        {
          SpyglassRequest *request = g_ptr_array_index (planned, i);

          if (queue_contains (self, request) &&
              spyglass_request_get_routed (request) &&
              spyglass_request_get_state (request) == SPYGLASS_REQUEST_QUEUED &&
              spyglass_request_get_not_before (request) <= now &&
              (batch->len == 0 || same_target (g_ptr_array_index (batch, 0), request)))
            g_ptr_array_add (batch, g_object_ref (request));
        }
    }

  return batch;
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
  g_autoptr(GPtrArray) affected = NULL;

  /* A failed fetch of the libraries holds up every waiting request. */
  if (batch != NULL)
    affected = g_ptr_array_ref (batch);
  else
    {
      affected = g_ptr_array_new ();
      for (GSequenceIter *iter = g_sequence_get_begin_iter (self->requests);
           !g_sequence_iter_is_end (iter);
           iter = g_sequence_iter_next (iter))
        if (spyglass_request_get_state (g_sequence_get (iter)) == SPYGLASS_REQUEST_QUEUED)
          g_ptr_array_add (affected, g_sequence_get (iter));
    }

  for (guint i = 0; i < affected->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (affected, i);
      int code = error->domain == SPYGLASS_ERROR ? error->code : -1;

      /* Written when it says something new: a queue waiting out one
       * failure after another is not written again each time. */
      if (spyglass_request_get_state (request) != SPYGLASS_REQUEST_QUEUED ||
          spyglass_request_get_error_code (request) != code ||
          g_strcmp0 (spyglass_request_get_message (request), error->message) != 0)
        note_changed (self, request);
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
      journal_flush (self);
      schedule_backoff (self, delay);
      return;
    }

  /* Invalid token, 403, an untrusted certificate: the user has to act.
   * Nothing is dropped; a new token resumes the queue. */
  g_debug ("Queue paused: %s", error->message);
  set_paused (self, TRUE, error->message);
  journal_flush (self);
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
                  g_ptr_array_add (self->to_route, g_object_ref (request));
                  note_changed (self, request);
                }
            }
          self->sections_stale = TRUE;
          journal_flush (self);
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
        {
          spyglass_request_set_state (request, SPYGLASS_REQUEST_SCANNING);
          add_scanning (self, request);
          note_changed (self, request);
        }
      else
        finish_request (self, request, SPYGLASS_REQUEST_DONE, NULL);
    }

  if (self->scan_monitor != NULL)
    follow (self, spyglass_request_get_section_key (g_ptr_array_index (batch, 0)));

  journal_flush (self);
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
  queue_insert (self, refresh, NULL);
  note_added (self, refresh, NULL);
  self->coalesce_pending = TRUE;
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
  g_autoptr(GPtrArray) finished = NULL;
  gboolean scan_seen = FALSE;
  char *key = NULL;

  if (!spyglass_scan_monitor_wait_finish (SPYGLASS_SCAN_MONITOR (source), result, &scan_seen, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Every request of that library that was accepted before this scan
   * ended is done: the scan covered it. */
  if (g_hash_table_steal_extended (self->scanning, section_key, (gpointer *) &key,
                                   (gpointer *) &finished))
    g_free (key);

  for (guint i = 0; finished != NULL && i < finished->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (finished, i);

      if (!queue_contains (self, request) ||
          spyglass_request_get_state (request) != SPYGLASS_REQUEST_SCANNING)
        continue;

      /* The scan was accepted; only following it failed. */
      finish_request (self, request, SPYGLASS_REQUEST_DONE, error);
      queue_refresh_after (self, request);
    }

  journal_flush (self);
  notify_idle_waiters (self);
  if (queue_length (self) > 0)
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
  GPtrArray *scanning = g_hash_table_lookup (self->scanning, section_key);

  /* Progress is not written to disk: `spyglass status` takes it from
   * Plex. */
  for (guint i = 0; scanning != NULL && i < scanning->len; i++)
    {
      SpyglassRequest *request = g_ptr_array_index (scanning, i);

      if (spyglass_request_get_state (request) == SPYGLASS_REQUEST_SCANNING)
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
      note_changed (self, request);
    }

  /* On disk before it leaves: after a crash from here on, it is sent again
   * rather than forgotten.  (Its state "sending" need not be on disk: a
   * queued request is sent again all the same; it is written with what
   * comes after.) */
  if (self->unsaved)
    journal_flush (self);

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

  if (self->to_route->len > 0)
    {
      if (self->sections == NULL || self->sections_stale)
        {
          if (self->unsaved)
            journal_flush (self);
          self->busy = TRUE;
          spyglass_client_list_sections_async (self->client, self->cancellable,
                                               on_sections_fetched, g_object_ref (self));
          return;
        }
      route_pending (self);
    }

  /* What coalescing changes, the plan of batches follows. */
  if (self->coalesce_pending)
    {
      coalesce_queued (self);
      g_clear_pointer (&self->plan, g_ptr_array_unref);
    }

  batch = next_batch (self);
  if (batch->len > 0)
    {
      send_batch (self, batch);
      return;
    }

  journal_flush (self);
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

/* Takes @request; returns it (transfer none: the queue holds it). */
static SpyglassRequest *
add_request (SpyglassQueue   *self,
             SpyglassRequest *request)
{
  g_autoptr(SpyglassRequest) added = request;

  queue_insert (self, request, NULL);
  note_added (self, request, NULL);
  g_ptr_array_add (self->to_route, g_object_ref (request));

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
      GHashTableIter iter;
      const char *key;

      g_hash_table_iter_init (&iter, self->scanning);
      while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
        follow (self, key);
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

  if (queue_length (self) == 0)
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
  self->journal_path = g_build_filename (state_dir, "queue.journal", NULL);
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
  journal_flush (self);
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

  if (self->journal_fd >= 0)
    close (self->journal_fd);
  if (self->lock_fd >= 0)
    close (self->lock_fd);  /* releases the lock */

  g_clear_object (&self->client);
  g_clear_object (&self->scan_monitor);
  g_clear_object (&self->network_monitor);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->path_map, spyglass_path_map_free);
  g_clear_pointer (&self->plan, g_ptr_array_unref);
  g_clear_pointer (&self->change_order, g_ptr_array_unref);
  g_clear_pointer (&self->changes, g_hash_table_unref);
  g_clear_pointer (&self->positions, g_hash_table_unref);
  g_clear_pointer (&self->requests, g_sequence_free);
  g_clear_pointer (&self->to_route, g_ptr_array_unref);
  g_clear_pointer (&self->scanning, g_hash_table_unref);
  g_clear_object (&self->generator);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  g_clear_pointer (&self->history_pending, g_ptr_array_unref);
  g_clear_pointer (&self->sections, g_ptr_array_unref);
  g_free (self->state_dir);
  g_free (self->queue_path);
  g_free (self->journal_path);
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
  self->journal_fd = -1;
  self->requests = g_sequence_new (g_object_unref);
  self->positions = g_hash_table_new (NULL, NULL);
  self->to_route = g_ptr_array_new_with_free_func (g_object_unref);
  self->scanning = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  self->changes = g_hash_table_new (NULL, NULL);
  self->change_order = g_ptr_array_new_with_free_func (change_free);
  self->generator = json_generator_new ();
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
