/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spyglass-scan-monitor.c: follow Plex's library scans to their end
 *
 * Two sources tell the same story: activity events on the notification
 * WebSocket, and `refreshing` in GET /library/sections (with the progress
 * from GET /activities).  A poll answers for the moment it was sent, so
 * its answer is not applied to a section that a WebSocket event changed
 * since: every event bumps a serial number, which each section and each
 * poll remember.
 *
 * A run lasts from start (or a change of the client's settings) to stop
 * (or the next change, or a fatal error).  Every request of a run shares
 * its cancellable; callbacks of a cancelled run do nothing.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-error.h"
#include "spyglass-plex-parse.h"
#include "spyglass-scan-monitor.h"

#define SCAN_ACTIVITY_TYPE "library.update.section"
/* Pings keep NAT and proxies from dropping a quiet WebSocket, and let a
 * dead one fail on write. */
#define WEBSOCKET_KEEPALIVE_SECONDS 30

G_DEFINE_ENUM_TYPE (SpyglassScanMonitorMode, spyglass_scan_monitor_mode,
                    G_DEFINE_ENUM_VALUE (SPYGLASS_SCAN_MONITOR_STOPPED, "stopped"),
                    G_DEFINE_ENUM_VALUE (SPYGLASS_SCAN_MONITOR_WEBSOCKET, "websocket"),
                    G_DEFINE_ENUM_VALUE (SPYGLASS_SCAN_MONITOR_POLLING, "polling"))

typedef struct
{
  gboolean scanning;
  int      progress;  /* -1 when unknown */
  guint64  serial;    /* of the last WebSocket event about it */
} SectionState;

/* A pending spyglass_scan_monitor_wait_async(). */
typedef struct
{
  guint64   id;            /* unique in the monitor, unlike the address */
  GTask    *task;          /* owned; its source object is the monitor */
  char     *section_key;
  gboolean  seen_start;
  GSource  *grace_source;  /* until a scan is seen to start */
  GSource  *cancel_source;
} Waiter;

struct _SpyglassScanMonitor
{
  GObject                  parent_instance;

  SpyglassClient          *client;
  GMainContext            *context;        /* timers run here */
  SpyglassScanMonitorMode  mode;
  guint                    poll_interval;  /* ms */
  guint                    start_grace;    /* ms */
  guint                    min_reconnect_delay;  /* ms */
  guint                    max_reconnect_delay;  /* ms */

  /* The current run. */
  GCancellable            *cancellable;    /* NULL while stopped */
  guint                    run;            /* bumped at the end of each run */
  SoupWebsocketConnection *websocket;
  gint64                   websocket_opened;  /* monotonic µs */
  gboolean                 connecting;
  guint                    reconnect_delay;   /* ms, before jitter */
  GSource                 *reconnect_source;
  GSource                 *poll_source;
  gboolean                 polling;        /* a poll is in flight */
  gboolean                 poll_again;     /* poll again once it is back */
  GError                  *fatal_error;    /* no request until the settings change */
  int                      last_error_code;  /* of the last "error", -1 after a good poll */

  GHashTable              *sections;       /* key → SectionState */
  guint64                  serial;         /* WebSocket events so far */
  GPtrArray               *waiters;        /* of Waiter */
  guint64                  last_waiter_id;
};

G_DEFINE_FINAL_TYPE (SpyglassScanMonitor, spyglass_scan_monitor, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_MODE,
  PROP_POLL_INTERVAL,
  PROP_START_GRACE,
  PROP_MIN_RECONNECT_DELAY,
  PROP_MAX_RECONNECT_DELAY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SCAN_STARTED,
  SCAN_PROGRESS,
  SCAN_FINISHED,
  ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void monitor_poll_soon        (SpyglassScanMonitor *self);
static void monitor_connect          (SpyglassScanMonitor *self);

static GSource *
monitor_add_timeout (SpyglassScanMonitor *self,
                     guint                milliseconds,
                     GSourceFunc          func,
                     const char          *name)
{
  GSource *source = g_timeout_source_new (milliseconds);

  g_source_set_callback (source, func, self, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, self->context);

  return source;
}

static void
source_clear (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
monitor_set_mode (SpyglassScanMonitor     *self,
                  SpyglassScanMonitorMode  mode)
{
  if (self->mode == mode)
    return;

  g_debug ("Scan monitor: %s", mode == SPYGLASS_SCAN_MONITOR_WEBSOCKET ? "WebSocket" :
                               mode == SPYGLASS_SCAN_MONITOR_POLLING ? "polling" : "stopped");
  self->mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODE]);
}

/* Waiters */

static void
waiter_free (Waiter *waiter)
{
  source_clear (&waiter->grace_source);
  source_clear (&waiter->cancel_source);
  g_clear_object (&waiter->task);
  g_free (waiter->section_key);
  g_free (waiter);
}

/* Removes @waiter and completes its task: with @error when set, else
 * with whether a scan was seen.  The callback may run at once and call
 * anything on the monitor. */
static void
waiter_complete (SpyglassScanMonitor *self,
                 Waiter              *waiter,
                 gboolean             scan_seen,
                 GError              *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&waiter->task);

  g_debug ("Scan monitor: done waiting for section %s (%s)", waiter->section_key,
           error != NULL ? "error" : scan_seen ? "scan ended" : "no scan seen");
  g_ptr_array_remove (self->waiters, waiter);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, scan_seen ? 1 : 0);
}

/* The ids of the waiters of @section_key (all of them when NULL):
 * completing one runs its callback, which may add or remove others. */
static GArray *
monitor_dup_waiter_ids (SpyglassScanMonitor *self,
                        const char          *section_key)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < self->waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (self->waiters, i);

      if (section_key == NULL || g_str_equal (waiter->section_key, section_key))
        g_array_append_val (ids, waiter->id);
    }

  return ids;
}

static Waiter *
monitor_lookup_waiter (SpyglassScanMonitor *self,
                       guint64              id)
{
  for (guint i = 0; i < self->waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (self->waiters, i);

      if (waiter->id == id)
        return waiter;
    }

  return NULL;
}

static void
monitor_waiters_scan_started (SpyglassScanMonitor *self,
                              const char          *section_key)
{
  for (guint i = 0; i < self->waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (self->waiters, i);

      if (!waiter->seen_start && g_str_equal (waiter->section_key, section_key))
        {
          waiter->seen_start = TRUE;
          source_clear (&waiter->grace_source);
        }
    }
}

/* A scan of @section_key ended: it either ran at the call or started
 * after it, whether or not its start was seen. */
static void
monitor_waiters_scan_finished (SpyglassScanMonitor *self,
                               const char          *section_key)
{
  g_autoptr(GArray) ids = monitor_dup_waiter_ids (self, section_key);

  for (guint i = 0; i < ids->len; i++)
    {
      Waiter *waiter = monitor_lookup_waiter (self, g_array_index (ids, guint64, i));

      if (waiter != NULL)
        waiter_complete (self, waiter, TRUE, NULL);
    }
}

static void
monitor_waiters_fail (SpyglassScanMonitor *self,
                      const GError        *error)
{
  g_autoptr(GArray) ids = monitor_dup_waiter_ids (self, NULL);

  for (guint i = 0; i < ids->len; i++)
    {
      Waiter *waiter = monitor_lookup_waiter (self, g_array_index (ids, guint64, i));

      if (waiter != NULL)
        waiter_complete (self, waiter, FALSE, g_error_copy (error));
    }
}

static gboolean
on_grace_over (gpointer user_data)
{
  Waiter *waiter = user_data;
  SpyglassScanMonitor *self = g_task_get_source_object (waiter->task);

  g_clear_pointer (&waiter->grace_source, g_source_unref);
  waiter_complete (self, waiter, FALSE, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
on_wait_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  Waiter *waiter = user_data;
  SpyglassScanMonitor *self = g_task_get_source_object (waiter->task);
  GError *error = NULL;

  g_clear_pointer (&waiter->cancel_source, g_source_unref);
  g_cancellable_set_error_if_cancelled (cancellable, &error);
  waiter_complete (self, waiter, FALSE, error);
  return G_SOURCE_REMOVE;
}

/* Sections */

static SectionState *
monitor_ensure_section (SpyglassScanMonitor *self,
                        const char          *section_key)
{
  SectionState *state = g_hash_table_lookup (self->sections, section_key);

  if (state == NULL)
    {
      state = g_new0 (SectionState, 1);
      state->progress = -1;
      g_hash_table_insert (self->sections, g_strdup (section_key), state);
    }

  return state;
}

/* A scan of @section_key runs, at @progress (-1 when unknown).  Returns
 * FALSE when a signal handler ended the run. */
static gboolean
monitor_section_scanning (SpyglassScanMonitor *self,
                          const char          *section_key,
                          int                  progress)
{
  SectionState *state = monitor_ensure_section (self, section_key);
  g_autofree char *key = g_strdup (section_key);
  guint run = self->run;
  gboolean started = !state->scanning;

  if (!started && (progress < 0 || progress == state->progress))
    return TRUE;

  state->scanning = TRUE;
  if (progress >= 0 || started)
    state->progress = progress;

  if (started)
    {
      g_debug ("Scan monitor: section %s scanning", key);
      monitor_waiters_scan_started (self, key);
      g_signal_emit (self, signals[SCAN_STARTED], 0, key);
      if (self->run != run)
        return FALSE;
    }

  if (progress >= 0)
    {
      g_signal_emit (self, signals[SCAN_PROGRESS], 0, key, progress);
      if (self->run != run)
        return FALSE;
    }

  return TRUE;
}

/* A scan of @section_key ended, maybe one the monitor did not know of
 * (then no "scan-finished").  Returns FALSE when a signal handler or a
 * callback ended the run. */
static gboolean
monitor_section_finished (SpyglassScanMonitor *self,
                          const char          *section_key)
{
  SectionState *state = monitor_ensure_section (self, section_key);
  g_autofree char *key = g_strdup (section_key);
  guint run = self->run;
  gboolean was_scanning = state->scanning;

  state->scanning = FALSE;
  state->progress = -1;

  if (was_scanning)
    {
      g_debug ("Scan monitor: section %s done", key);
      g_signal_emit (self, signals[SCAN_FINISHED], 0, key);
      if (self->run != run)
        return FALSE;
    }

  monitor_waiters_scan_finished (self, key);
  return self->run == run;
}

/* Errors */

/* Errors that no retry can mend: only new settings can. */
static gboolean
error_is_fatal (const GError *error)
{
  if (error->domain != SPYGLASS_ERROR)
    return FALSE;

  switch ((SpyglassError) error->code)
    {
    case SPYGLASS_ERROR_INVALID_TOKEN:
    case SPYGLASS_ERROR_FORBIDDEN:
    case SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED:
    case SPYGLASS_ERROR_CERTIFICATE_CHANGED:
    case SPYGLASS_ERROR_INVALID_ADDRESS:
    case SPYGLASS_ERROR_NOT_CONFIGURED:
      return TRUE;

    case SPYGLASS_ERROR_SECTION_NOT_FOUND:
    case SPYGLASS_ERROR_HTTP_STATUS:
    case SPYGLASS_ERROR_UNREACHABLE:
    case SPYGLASS_ERROR_TIMEOUT:
    case SPYGLASS_ERROR_BAD_RESPONSE:
    case SPYGLASS_ERROR_RESPONSE_TOO_LARGE:
    case SPYGLASS_ERROR_INVALID_MAPPING:
    case SPYGLASS_ERROR_NOT_IN_LIBRARY:
    case SPYGLASS_ERROR_TOKEN_STORE:
    case SPYGLASS_ERROR_QUEUE_LOCKED:
    case SPYGLASS_ERROR_QUEUE_FILE:
    default:
      return FALSE;
    }
}

/* Ends the current run: nothing in flight, no timer, no WebSocket. */
static void
monitor_end_run (SpyglassScanMonitor *self)
{
  self->run++;

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }

  source_clear (&self->reconnect_source);
  source_clear (&self->poll_source);
  self->polling = FALSE;
  self->poll_again = FALSE;
  self->connecting = FALSE;

  if (self->websocket != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->websocket, self);
      if (soup_websocket_connection_get_state (self->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->websocket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->websocket);
    }
}

/* Stops sending anything until the client's settings change. */
static void
monitor_suspend (SpyglassScanMonitor *self,
                 const GError        *error)
{
  g_debug ("Scan monitor: stopped by an error until the settings change");
  monitor_end_run (self);
  g_clear_error (&self->fatal_error);
  self->fatal_error = g_error_copy (error);
  self->last_error_code = error->code;
  /* Not following anything, but not stopped either. */
  monitor_set_mode (self, SPYGLASS_SCAN_MONITOR_POLLING);

  g_signal_emit (self, signals[ERROR], 0, error);
  /* Unless a handler already changed the settings.  A copy: a callback
   * may change them too. */
  if (self->fatal_error != NULL)
    {
      g_autoptr(GError) copy = g_error_copy (self->fatal_error);

      monitor_waiters_fail (self, copy);
    }
}

static void
monitor_report_poll_error (SpyglassScanMonitor *self,
                           const GError        *error)
{
  g_debug ("Scan monitor: poll failed: %s", error->message);

  if (error_is_fatal (error))
    {
      monitor_suspend (self, error);
      return;
    }

  if (error->code != self->last_error_code)
    {
      self->last_error_code = error->code;
      g_signal_emit (self, signals[ERROR], 0, error);
    }
}

/* Polling */

typedef struct
{
  SpyglassScanMonitor *self;         /* owned */
  GCancellable        *cancellable;  /* owned: the run's */
  guint64              serial;       /* at the request */
  GPtrArray           *sections;     /* of SpyglassSection */
} Poll;

static void
poll_free (Poll *poll)
{
  g_clear_object (&poll->self);
  g_clear_object (&poll->cancellable);
  g_clear_pointer (&poll->sections, g_ptr_array_unref);
  g_free (poll);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Poll, poll_free)

static gboolean
on_poll_timeout (gpointer user_data)
{
  SpyglassScanMonitor *self = user_data;

  g_clear_pointer (&self->poll_source, g_source_unref);
  monitor_poll_soon (self);
  return G_SOURCE_REMOVE;
}

/* The poll is back (or failed): poll again when asked to, or on the
 * timer while polling. */
static void
monitor_poll_done (SpyglassScanMonitor *self)
{
  self->polling = FALSE;

  if (self->cancellable == NULL)
    return;

  if (self->poll_again)
    {
      self->poll_again = FALSE;
      monitor_poll_soon (self);
      return;
    }

  if (self->mode == SPYGLASS_SCAN_MONITOR_POLLING && self->poll_source == NULL)
    self->poll_source = monitor_add_timeout (self, self->poll_interval, on_poll_timeout,
                                             "[spyglass] scan monitor poll");
}

static int
find_scan_progress (GPtrArray  *activities,
                    const char *section_key)
{
  for (guint i = 0; activities != NULL && i < activities->len; i++)
    {
      SpyglassActivity *activity = g_ptr_array_index (activities, i);

      if (g_str_equal (activity->type, SCAN_ACTIVITY_TYPE) &&
          g_strcmp0 (activity->section_key, section_key) == 0)
        return activity->progress;
    }

  return -1;
}

/* Applies what the poll found to every section no WebSocket event has
 * changed since it was sent. */
static void
monitor_apply_poll (SpyglassScanMonitor *self,
                    Poll                *poll,
                    GPtrArray           *activities)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;
  guint run = self->run;

  self->last_error_code = -1;

  for (guint i = 0; i < poll->sections->len; i++)
    {
      SpyglassSection *section = g_ptr_array_index (poll->sections, i);
      SectionState *state = g_hash_table_lookup (self->sections, section->key);
      gboolean ok = TRUE;

      if (state != NULL && state->serial > poll->serial)
        continue;

      if (section->refreshing)
        ok = monitor_section_scanning (self, section->key,
                                       find_scan_progress (activities, section->key));
      else if (state != NULL && state->scanning)
        ok = monitor_section_finished (self, section->key);

      if (!ok)
        return;
    }

  /* A section that is no more does not scan. */
  g_hash_table_iter_init (&iter, self->sections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      SectionState *state = value;
      gboolean listed = FALSE;

      for (guint i = 0; i < poll->sections->len && !listed; i++)
        listed = g_str_equal (((SpyglassSection *) poll->sections->pdata[i])->key, key);

      if (!listed && state->scanning && state->serial <= poll->serial)
        g_ptr_array_add (gone, g_strdup (key));
    }

  for (guint i = 0; i < gone->len; i++)
    if (!monitor_section_finished (self, gone->pdata[i]))
      return;

  if (self->run == run)
    monitor_poll_done (self);
}

static void
on_poll_activities (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(Poll) poll = user_data;
  SpyglassScanMonitor *self = poll->self;
  g_autoptr(GPtrArray) activities = NULL;
  g_autoptr(GError) error = NULL;

  activities = spyglass_client_list_activities_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (poll->cancellable))
    return;

  /* The sections are news enough without the progress. */
  if (activities == NULL && error_is_fatal (error))
    {
      monitor_report_poll_error (self, error);
      return;
    }
  if (activities == NULL)
    g_debug ("Scan monitor: no progress: %s", error->message);

  monitor_apply_poll (self, poll, activities);
}

static void
on_poll_sections (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(Poll) poll = user_data;
  SpyglassScanMonitor *self = poll->self;
  g_autoptr(GError) error = NULL;
  gboolean any_refreshing = FALSE;

  poll->sections = spyglass_client_list_sections_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (poll->cancellable))
    return;

  if (poll->sections == NULL)
    {
      guint run = self->run;

      monitor_report_poll_error (self, error);
      if (self->run == run)
        monitor_poll_done (self);
      return;
    }

  for (guint i = 0; i < poll->sections->len && !any_refreshing; i++)
    any_refreshing = ((SpyglassSection *) poll->sections->pdata[i])->refreshing;

  if (any_refreshing)
    {
      GCancellable *cancellable = poll->cancellable;

      spyglass_client_list_activities_async (self->client, cancellable,
                                             on_poll_activities, g_steal_pointer (&poll));
      return;
    }

  monitor_apply_poll (self, poll, NULL);
}

/* Polls now, or as soon as the poll in flight is back: what it says may
 * be older than what the caller needs. */
static void
monitor_poll_soon (SpyglassScanMonitor *self)
{
  Poll *poll;

  if (self->cancellable == NULL)
    return;

  if (self->polling)
    {
      self->poll_again = TRUE;
      return;
    }

  source_clear (&self->poll_source);
  self->polling = TRUE;

  poll = g_new0 (Poll, 1);
  poll->self = g_object_ref (self);
  poll->cancellable = g_object_ref (self->cancellable);
  poll->serial = self->serial;

  spyglass_client_list_sections_async (self->client, poll->cancellable, on_poll_sections, poll);
}

/* The WebSocket */

static void
on_websocket_message (SoupWebsocketConnection *connection,
                      SoupWebsocketDataType    type,
                      GBytes                  *message,
                      gpointer                 user_data)
{
  g_autoptr(SpyglassScanMonitor) self = g_object_ref (user_data);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint run = self->run;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;

  events = spyglass_parse_notification (message, &error);
  if (events == NULL)
    {
      g_debug ("Scan monitor: ignoring a notification: %s", error->message);
      return;
    }

  for (guint i = 0; i < events->len && self->run == run; i++)
    {
      SpyglassActivityEvent *event = g_ptr_array_index (events, i);
      SpyglassActivity *activity = event->activity;

      if (!g_str_equal (activity->type, SCAN_ACTIVITY_TYPE) || activity->section_key == NULL)
        continue;

      monitor_ensure_section (self, activity->section_key)->serial = ++self->serial;

      switch (event->kind)
        {
        case SPYGLASS_ACTIVITY_EVENT_STARTED:
        case SPYGLASS_ACTIVITY_EVENT_UPDATED:
          monitor_section_scanning (self, activity->section_key, activity->progress);
          break;

        case SPYGLASS_ACTIVITY_EVENT_ENDED:
          monitor_section_finished (self, activity->section_key);
          break;

        default:
          g_assert_not_reached ();
        }
    }
}

static gboolean
on_reconnect_timeout (gpointer user_data)
{
  SpyglassScanMonitor *self = user_data;

  g_clear_pointer (&self->reconnect_source, g_source_unref);
  monitor_connect (self);
  return G_SOURCE_REMOVE;
}

/* Tries the WebSocket again after the back-off, which doubles each time,
 * with jitter so that many clients of one restarted server spread out. */
static void
monitor_schedule_reconnect (SpyglassScanMonitor *self)
{
  guint delay = self->reconnect_delay;
  guint jittered = delay / 2 + (guint) g_random_int_range (0, (gint32) (delay / 2 + 1));

  g_debug ("Scan monitor: WebSocket again in %u ms", jittered);
  source_clear (&self->reconnect_source);
  self->reconnect_source = monitor_add_timeout (self, jittered, on_reconnect_timeout,
                                                "[spyglass] scan monitor reconnect");
  self->reconnect_delay = MIN (MAX (delay, 1) * 2, self->max_reconnect_delay);
}

static void
on_websocket_closed (SoupWebsocketConnection *connection,
                     gpointer                 user_data)
{
  SpyglassScanMonitor *self = user_data;
  gint64 lived = g_get_monotonic_time () - self->websocket_opened;

  g_debug ("Scan monitor: WebSocket closed (%u)",
           soup_websocket_connection_get_close_code (connection));

  g_signal_handlers_disconnect_by_data (connection, self);
  g_clear_object (&self->websocket);

  /* A connection that stayed up a while starts the back-off afresh; one
   * that a server keeps dropping at once does not. */
  if (lived >= (gint64) self->max_reconnect_delay * 1000)
    self->reconnect_delay = self->min_reconnect_delay;

  monitor_set_mode (self, SPYGLASS_SCAN_MONITOR_POLLING);
  monitor_poll_soon (self);
  monitor_schedule_reconnect (self);
}

static void
on_websocket_error (SoupWebsocketConnection *connection,
                    GError                  *error,
                    gpointer                 user_data)
{
  /* "closed" follows. */
  g_debug ("Scan monitor: WebSocket error: %s", error->message);
}

typedef struct
{
  SpyglassScanMonitor *self;         /* owned */
  GCancellable        *cancellable;  /* owned: the run's */
} ConnectAttempt;

static void
connect_attempt_free (ConnectAttempt *attempt)
{
  g_clear_object (&attempt->self);
  g_clear_object (&attempt->cancellable);
  g_free (attempt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConnectAttempt, connect_attempt_free)

static void
on_websocket_connected (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(ConnectAttempt) attempt = user_data;
  SpyglassScanMonitor *self = attempt->self;
  g_autoptr(SoupWebsocketConnection) websocket = NULL;
  g_autoptr(GError) error = NULL;

  websocket = spyglass_client_connect_notifications_finish (SPYGLASS_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (attempt->cancellable))
    return;

  self->connecting = FALSE;

  if (websocket == NULL)
    {
      g_debug ("Scan monitor: no WebSocket: %s", error->message);
      if (error_is_fatal (error))
        monitor_suspend (self, error);
      else
        monitor_schedule_reconnect (self);
      return;
    }

  self->websocket = g_steal_pointer (&websocket);
  self->websocket_opened = g_get_monotonic_time ();
  soup_websocket_connection_set_keepalive_interval (self->websocket, WEBSOCKET_KEEPALIVE_SECONDS);
  g_signal_connect (self->websocket, "message", G_CALLBACK (on_websocket_message), self);
  g_signal_connect (self->websocket, "closed", G_CALLBACK (on_websocket_closed), self);
  g_signal_connect (self->websocket, "error", G_CALLBACK (on_websocket_error), self);

  source_clear (&self->poll_source);
  monitor_set_mode (self, SPYGLASS_SCAN_MONITOR_WEBSOCKET);
  /* Catch up with what happened while there was no WebSocket. */
  monitor_poll_soon (self);
}

static void
monitor_connect (SpyglassScanMonitor *self)
{
  ConnectAttempt *attempt;

  if (self->cancellable == NULL || self->connecting || self->websocket != NULL)
    return;

  self->connecting = TRUE;
  attempt = g_new0 (ConnectAttempt, 1);
  attempt->self = g_object_ref (self);
  attempt->cancellable = g_object_ref (self->cancellable);

  spyglass_client_connect_notifications_async (self->client, attempt->cancellable,
                                               on_websocket_connected, attempt);
}

/* Runs */

static void
monitor_begin_run (SpyglassScanMonitor *self)
{
  g_assert (self->cancellable == NULL);

  self->cancellable = g_cancellable_new ();
  self->reconnect_delay = self->min_reconnect_delay;
  g_clear_error (&self->fatal_error);
  self->last_error_code = -1;

  /* Polling until the WebSocket is there. */
  monitor_set_mode (self, SPYGLASS_SCAN_MONITOR_POLLING);
  monitor_poll_soon (self);
  monitor_connect (self);
}

static void
on_client_settings_changed (SpyglassClient      *client,
                            GParamSpec          *pspec,
                            SpyglassScanMonitor *self)
{
  if (self->mode == SPYGLASS_SCAN_MONITOR_STOPPED)
    return;

  g_debug ("Scan monitor: the client’s %s changed, starting over", pspec->name);
  monitor_end_run (self);
  monitor_begin_run (self);
}

/* Public API */

SpyglassScanMonitor *
spyglass_scan_monitor_new (SpyglassClient *client)
{
  g_return_val_if_fail (SPYGLASS_IS_CLIENT (client), NULL);

  return g_object_new (SPYGLASS_TYPE_SCAN_MONITOR, "client", client, NULL);
}

SpyglassClient *
spyglass_scan_monitor_get_client (SpyglassScanMonitor *self)
{
  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), NULL);

  return self->client;
}

SpyglassScanMonitorMode
spyglass_scan_monitor_get_mode (SpyglassScanMonitor *self)
{
  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), SPYGLASS_SCAN_MONITOR_STOPPED);

  return self->mode;
}

guint
spyglass_scan_monitor_get_poll_interval (SpyglassScanMonitor *self)
{
  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), 0);

  return self->poll_interval;
}

/* Takes effect at the next poll. */
void
spyglass_scan_monitor_set_poll_interval (SpyglassScanMonitor *self,
                                         guint                milliseconds)
{
  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));
  g_return_if_fail (milliseconds > 0);

  if (self->poll_interval == milliseconds)
    return;

  self->poll_interval = milliseconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLL_INTERVAL]);
}

guint
spyglass_scan_monitor_get_start_grace (SpyglassScanMonitor *self)
{
  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), 0);

  return self->start_grace;
}

/* Applies to waits from now on. */
void
spyglass_scan_monitor_set_start_grace (SpyglassScanMonitor *self,
                                       guint                milliseconds)
{
  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));

  if (self->start_grace == milliseconds)
    return;

  self->start_grace = milliseconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_START_GRACE]);
}

/* Takes effect at the next attempt. */
void
spyglass_scan_monitor_set_reconnect_delays (SpyglassScanMonitor *self,
                                            guint                min_ms,
                                            guint                max_ms)
{
  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));
  g_return_if_fail (min_ms > 0 && min_ms <= max_ms);

  g_object_freeze_notify (G_OBJECT (self));
  if (self->min_reconnect_delay != min_ms)
    {
      self->min_reconnect_delay = min_ms;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIN_RECONNECT_DELAY]);
    }
  if (self->max_reconnect_delay != max_ms)
    {
      self->max_reconnect_delay = max_ms;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_RECONNECT_DELAY]);
    }
  self->reconnect_delay = CLAMP (self->reconnect_delay, min_ms, max_ms);
  g_object_thaw_notify (G_OBJECT (self));
}

void
spyglass_scan_monitor_start (SpyglassScanMonitor *self)
{
  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));

  if (self->mode != SPYGLASS_SCAN_MONITOR_STOPPED)
    return;

  g_debug ("Scan monitor: start");
  monitor_begin_run (self);
}

void
spyglass_scan_monitor_stop (SpyglassScanMonitor *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));

  if (self->mode == SPYGLASS_SCAN_MONITOR_STOPPED)
    return;

  g_debug ("Scan monitor: stop");
  monitor_end_run (self);
  g_clear_error (&self->fatal_error);
  g_hash_table_remove_all (self->sections);
  monitor_set_mode (self, SPYGLASS_SCAN_MONITOR_STOPPED);

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Stopped following scans"));
  monitor_waiters_fail (self, error);
}

gboolean
spyglass_scan_monitor_is_scanning (SpyglassScanMonitor *self,
                                   const char          *section_key)
{
  SectionState *state;

  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), FALSE);
  g_return_val_if_fail (section_key != NULL, FALSE);

  state = g_hash_table_lookup (self->sections, section_key);
  return state != NULL && state->scanning;
}

int
spyglass_scan_monitor_get_progress (SpyglassScanMonitor *self,
                                    const char          *section_key)
{
  SectionState *state;

  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), -1);
  g_return_val_if_fail (section_key != NULL, -1);

  state = g_hash_table_lookup (self->sections, section_key);
  return state != NULL && state->scanning ? state->progress : -1;
}

void
spyglass_scan_monitor_wait_async (SpyglassScanMonitor *self,
                                  const char          *section_key,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter *waiter;

  g_return_if_fail (SPYGLASS_IS_SCAN_MONITOR (self));
  g_return_if_fail (section_key != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, spyglass_scan_monitor_wait_async);

  if (self->mode == SPYGLASS_SCAN_MONITOR_STOPPED)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "%s", _("Stopped following scans"));
      return;
    }

  if (self->fatal_error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->fatal_error));
      return;
    }

  waiter = g_new0 (Waiter, 1);
  waiter->id = ++self->last_waiter_id;
  waiter->task = g_steal_pointer (&task);
  waiter->section_key = g_strdup (section_key);
  waiter->seen_start = spyglass_scan_monitor_is_scanning (self, section_key);
  g_ptr_array_add (self->waiters, waiter);

  g_debug ("Scan monitor: waiting for section %s (%s)", section_key,
           waiter->seen_start ? "scanning" : "not scanning yet");

  if (!waiter->seen_start)
    {
      waiter->grace_source = g_timeout_source_new (self->start_grace);
      g_source_set_callback (waiter->grace_source, on_grace_over, waiter, NULL);
      g_source_set_static_name (waiter->grace_source, "[spyglass] scan start grace");
      g_source_attach (waiter->grace_source, self->context);
    }

  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancel_source, G_SOURCE_FUNC (on_wait_cancelled), waiter, NULL);
      g_source_attach (waiter->cancel_source, self->context);
    }

  /* A poll from before the call may not show a scan asked for just now. */
  if (!waiter->seen_start && self->mode == SPYGLASS_SCAN_MONITOR_POLLING)
    monitor_poll_soon (self);
}

gboolean
spyglass_scan_monitor_wait_finish (SpyglassScanMonitor  *self,
                                   GAsyncResult         *result,
                                   gboolean             *scan_seen,
                                   GError              **error)
{
  gssize outcome;

  g_return_val_if_fail (SPYGLASS_IS_SCAN_MONITOR (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  outcome = g_task_propagate_int (G_TASK (result), error);
  if (scan_seen != NULL)
    *scan_seen = outcome == 1;

  return outcome >= 0;
}

/* GObject */

static void
spyglass_scan_monitor_constructed (GObject *object)
{
  SpyglassScanMonitor *self = SPYGLASS_SCAN_MONITOR (object);

  G_OBJECT_CLASS (spyglass_scan_monitor_parent_class)->constructed (object);

  g_assert (self->client != NULL);

  /* What a request goes to and how it proves itself. */
  g_signal_connect_object (self->client, "notify::token",
                           G_CALLBACK (on_client_settings_changed), self, 0);
  g_signal_connect_object (self->client, "notify::base-url",
                           G_CALLBACK (on_client_settings_changed), self, 0);
  g_signal_connect_object (self->client, "notify::pinned-certificate",
                           G_CALLBACK (on_client_settings_changed), self, 0);
}

static void
spyglass_scan_monitor_dispose (GObject *object)
{
  SpyglassScanMonitor *self = SPYGLASS_SCAN_MONITOR (object);

  /* Waiters hold a reference: there are none left. */
  spyglass_scan_monitor_stop (self);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (spyglass_scan_monitor_parent_class)->dispose (object);
}

static void
spyglass_scan_monitor_finalize (GObject *object)
{
  SpyglassScanMonitor *self = SPYGLASS_SCAN_MONITOR (object);

  g_assert (self->waiters->len == 0);
  g_ptr_array_unref (self->waiters);
  g_hash_table_unref (self->sections);
  g_clear_error (&self->fatal_error);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (spyglass_scan_monitor_parent_class)->finalize (object);
}

static void
spyglass_scan_monitor_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  SpyglassScanMonitor *self = SPYGLASS_SCAN_MONITOR (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;

    case PROP_POLL_INTERVAL:
      g_value_set_uint (value, self->poll_interval);
      break;

    case PROP_START_GRACE:
      g_value_set_uint (value, self->start_grace);
      break;

    case PROP_MIN_RECONNECT_DELAY:
      g_value_set_uint (value, self->min_reconnect_delay);
      break;

    case PROP_MAX_RECONNECT_DELAY:
      g_value_set_uint (value, self->max_reconnect_delay);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_scan_monitor_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  SpyglassScanMonitor *self = SPYGLASS_SCAN_MONITOR (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;

    case PROP_POLL_INTERVAL:
      spyglass_scan_monitor_set_poll_interval (self, g_value_get_uint (value));
      break;

    case PROP_START_GRACE:
      spyglass_scan_monitor_set_start_grace (self, g_value_get_uint (value));
      break;

    case PROP_MIN_RECONNECT_DELAY:
      spyglass_scan_monitor_set_reconnect_delays (self, g_value_get_uint (value),
                                                  MAX (g_value_get_uint (value),
                                                       self->max_reconnect_delay));
      break;

    case PROP_MAX_RECONNECT_DELAY:
      spyglass_scan_monitor_set_reconnect_delays (self,
                                                  MIN (self->min_reconnect_delay,
                                                       g_value_get_uint (value)),
                                                  g_value_get_uint (value));
      break;

    case PROP_MODE:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_scan_monitor_class_init (SpyglassScanMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = spyglass_scan_monitor_constructed;
  object_class->dispose = spyglass_scan_monitor_dispose;
  object_class->finalize = spyglass_scan_monitor_finalize;
  object_class->get_property = spyglass_scan_monitor_get_property;
  object_class->set_property = spyglass_scan_monitor_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, SPYGLASS_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL, SPYGLASS_TYPE_SCAN_MONITOR_MODE,
                       SPYGLASS_SCAN_MONITOR_STOPPED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_POLL_INTERVAL] =
    g_param_spec_uint ("poll-interval", NULL, NULL, 1, G_MAXUINT, SPYGLASS_DEFAULT_POLL_INTERVAL,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_START_GRACE] =
    g_param_spec_uint ("start-grace", NULL, NULL, 0, G_MAXUINT, SPYGLASS_DEFAULT_START_GRACE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MIN_RECONNECT_DELAY] =
    g_param_spec_uint ("min-reconnect-delay", NULL, NULL, 1, G_MAXINT32,
                       SPYGLASS_DEFAULT_MIN_RECONNECT_DELAY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_RECONNECT_DELAY] =
    g_param_spec_uint ("max-reconnect-delay", NULL, NULL, 1, G_MAXINT32,
                       SPYGLASS_DEFAULT_MAX_RECONNECT_DELAY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SCAN_STARTED] =
    g_signal_new ("scan-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SCAN_PROGRESS] =
    g_signal_new ("scan-progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
  signals[SCAN_FINISHED] =
    g_signal_new ("scan-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
spyglass_scan_monitor_init (SpyglassScanMonitor *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->mode = SPYGLASS_SCAN_MONITOR_STOPPED;
  self->poll_interval = SPYGLASS_DEFAULT_POLL_INTERVAL;
  self->start_grace = SPYGLASS_DEFAULT_START_GRACE;
  self->min_reconnect_delay = SPYGLASS_DEFAULT_MIN_RECONNECT_DELAY;
  self->max_reconnect_delay = SPYGLASS_DEFAULT_MAX_RECONNECT_DELAY;
  self->reconnect_delay = self->min_reconnect_delay;
  self->last_error_code = -1;
  self->sections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
}
