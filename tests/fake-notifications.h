/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A fake desktop notification server for tests: it owns
 * org.freedesktop.Notifications on the session bus and implements the
 * freedesktop.org Desktop Notifications interface (Notify, GetCapabilities
 * with "actions" and "body", GetServerInformation, CloseNotification).
 *
 * It talks to the bus through a GDBusConnection of its own, so it works in
 * the very process whose GApplication sends the notifications: GLib's
 * freedesktop backend (the one GIO picks when neither the portal nor
 * org.gtk.Notifications is there) calls it like any other server.
 *
 * Method calls are handled in the main context that is thread-default when
 * fake_notifications_start() is called; fake_notifications_wait() iterates
 * that context, so the process's own GApplication and the server both make
 * progress while a test waits.
 *
 * Notifications are kept in the order they arrive. Each one gets an id from
 * 1 up; a Notify that replaces an id this server handed out keeps that id
 * (it is recorded again, with @replaces_id set).
 */

typedef struct
{
  guint32   id;            /* what Notify returned */
  char     *app_name;
  guint32   replaces_id;
  char     *app_icon;
  char     *summary;       /* the title */
  char     *body;
  char    **actions;       /* key, label, key, label, … (NULL-terminated) */
  GVariant *hints;         /* a{sv} */
  gint32    expire_timeout;
} FakeNotification;

/* The string value of hint @name (such as "desktop-entry"), or NULL when the
 * hint is missing or not a string. Borrowed from @notification. */
const char *fake_notification_get_hint_string (const FakeNotification *notification,
                                               const char             *name);
/* The label of the action with key @key (such as "default" or
 * "app.open-preferences"), or NULL. Borrowed. */
const char *fake_notification_get_action_label (const FakeNotification *notification,
                                                const char             *key);

#define FAKE_TYPE_NOTIFICATIONS (fake_notifications_get_type ())
G_DECLARE_FINAL_TYPE (FakeNotifications, fake_notifications, FAKE, NOTIFICATIONS, GObject)

/* Why a notification closed (the spec's NotificationClosed reasons). */
typedef enum
{
  FAKE_NOTIFICATION_CLOSED_EXPIRED   = 1,
  FAKE_NOTIFICATION_CLOSED_DISMISSED = 2,
  FAKE_NOTIFICATION_CLOSED_CALLED    = 3,  /* by CloseNotification */
  FAKE_NOTIFICATION_CLOSED_UNDEFINED = 4,
} FakeNotificationClosedReason;

FakeNotifications *fake_notifications_new   (void);
/* Connects to the session bus and takes the name. Fails (G_IO_ERROR_EXISTS)
 * when someone else owns it already, and when there is no session bus. */
gboolean     fake_notifications_start       (FakeNotifications  *self,
                                             GError            **error);
/* Gives the name back and closes the connection. Also done on finalize. */
void         fake_notifications_stop        (FakeNotifications  *self);
/* The connection's unique name (":1.42"), or NULL when not started. */
const char  *fake_notifications_get_unique_name (FakeNotifications *self);

/* Every notification received so far (element-type FakeNotification),
 * oldest first. Transfer none. The signal "notification-received" (void
 * handler (FakeNotifications *, const FakeNotification *, gpointer)) is
 * emitted for each as it is recorded, before Notify is answered. */
GPtrArray   *fake_notifications_get_notifications (FakeNotifications *self);
/* The next notification that no call to this function has returned yet,
 * waiting for it up to @timeout_ms while iterating the server's main
 * context; NULL when none came in time. Borrowed: valid until
 * fake_notifications_clear() or the server is finalized. */
const FakeNotification *fake_notifications_wait (FakeNotifications *self,
                                                 guint              timeout_ms);
/* Forgets every notification (ids keep counting up). */
void         fake_notifications_clear       (FakeNotifications  *self);
/* The ids passed to CloseNotification, in order (element-type guint32 in a
 * GArray). Transfer none. */
GArray      *fake_notifications_get_close_requests (FakeNotifications *self);

/* What a notification server does when the user clicks: ActionInvoked
 * (@id, @action_key), then NotificationClosed (@id, dismissed). Click the
 * body with @action_key "default", a button with its key. */
gboolean     fake_notifications_invoke_action (FakeNotifications  *self,
                                               guint32             id,
                                               const char         *action_key,
                                               GError            **error);
/* Emits NotificationClosed (@id, @reason) alone. */
gboolean     fake_notifications_close       (FakeNotifications            *self,
                                             guint32                       id,
                                             FakeNotificationClosedReason  reason,
                                             GError                      **error);

G_END_DECLS
