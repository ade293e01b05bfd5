/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fake-notifications.h"

#define NOTIFICATIONS_NAME      "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH      "/org/freedesktop/Notifications"
#define NOTIFICATIONS_INTERFACE "org.freedesktop.Notifications"

/* DBUS_NAME_FLAG_DO_NOT_QUEUE and DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER. */
#define NAME_FLAG_DO_NOT_QUEUE   4
#define NAME_REPLY_PRIMARY_OWNER 1

static const char introspection_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Notifications'>"
  "    <method name='Notify'>"
  "      <arg type='s' name='app_name' direction='in'/>"
  "      <arg type='u' name='replaces_id' direction='in'/>"
  "      <arg type='s' name='app_icon' direction='in'/>"
  "      <arg type='s' name='summary' direction='in'/>"
  "      <arg type='s' name='body' direction='in'/>"
  "      <arg type='as' name='actions' direction='in'/>"
  "      <arg type='a{sv}' name='hints' direction='in'/>"
  "      <arg type='i' name='expire_timeout' direction='in'/>"
  "      <arg type='u' name='id' direction='out'/>"
  "    </method>"
  "    <method name='CloseNotification'>"
  "      <arg type='u' name='id' direction='in'/>"
  "    </method>"
  "    <method name='GetCapabilities'>"
  "      <arg type='as' name='capabilities' direction='out'/>"
  "    </method>"
  "    <method name='GetServerInformation'>"
  "      <arg type='s' name='name' direction='out'/>"
  "      <arg type='s' name='vendor' direction='out'/>"
  "      <arg type='s' name='version' direction='out'/>"
  "      <arg type='s' name='spec_version' direction='out'/>"
  "    </method>"
  "    <signal name='NotificationClosed'>"
  "      <arg type='u' name='id'/>"
  "      <arg type='u' name='reason'/>"
  "    </signal>"
  "    <signal name='ActionInvoked'>"
  "      <arg type='u' name='id'/>"
  "      <arg type='s' name='action_key'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

struct _FakeNotifications
{
  GObject          parent_instance;

  GDBusConnection *connection;    /* owned; NULL when stopped */
  GMainContext    *context;       /* owned: where calls are handled */
  guint            registration_id;
  GPtrArray       *notifications; /* element-type FakeNotification, owned */
  guint            n_waited;      /* how many fake_notifications_wait() returned */
  GArray          *close_requests; /* guint32 */
  guint32          next_id;
};

G_DEFINE_FINAL_TYPE (FakeNotifications, fake_notifications, G_TYPE_OBJECT)

enum
{
  SIGNAL_NOTIFICATION_RECEIVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
fake_notification_free (FakeNotification *notification)
{
  g_free (notification->app_name);
  g_free (notification->app_icon);
  g_free (notification->summary);
  g_free (notification->body);
  g_strfreev (notification->actions);
  g_clear_pointer (&notification->hints, g_variant_unref);
  g_free (notification);
}

const char *
fake_notification_get_hint_string (const FakeNotification *notification,
                                   const char             *name)
{
  const char *value = NULL;

  g_return_val_if_fail (notification != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!g_variant_lookup (notification->hints, name, "&s", &value))
    return NULL;
  return value;
}

const char *
fake_notification_get_action_label (const FakeNotification *notification,
                                    const char             *key)
{
  g_return_val_if_fail (notification != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  for (guint i = 0; notification->actions[i] != NULL && notification->actions[i + 1] != NULL; i += 2)
    if (g_str_equal (notification->actions[i], key))
      return notification->actions[i + 1];
  return NULL;
}

static gboolean
fake_notifications_knows_id (FakeNotifications *self,
                             guint32            id)
{
  for (guint i = 0; i < self->notifications->len; i++)
    {
      const FakeNotification *notification = g_ptr_array_index (self->notifications, i);

      if (notification->id == id)
        return TRUE;
    }
  return FALSE;
}

static void
handle_notify (FakeNotifications     *self,
               GVariant              *parameters,
               GDBusMethodInvocation *invocation)
{
  FakeNotification *notification = g_new0 (FakeNotification, 1);

  g_variant_get (parameters, "(susss^as@a{sv}i)",
                 &notification->app_name,
                 &notification->replaces_id,
                 &notification->app_icon,
                 &notification->summary,
                 &notification->body,
                 &notification->actions,
                 &notification->hints,
                 &notification->expire_timeout);

  /* The spec: replacing an id we handed out keeps it; anything else (0,
   * or an id we do not know) gets a new one. */
  if (notification->replaces_id != 0 &&
      fake_notifications_knows_id (self, notification->replaces_id))
    notification->id = notification->replaces_id;
  else
    notification->id = self->next_id++;

  g_debug ("fake-notifications: Notify #%u “%s”", notification->id, notification->summary);
  g_ptr_array_add (self->notifications, notification);
  g_signal_emit (self, signals[SIGNAL_NOTIFICATION_RECEIVED], 0, notification);

  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", notification->id));
}

static void
handle_method_call (GDBusConnection       *connection,
                    const char            *sender,
                    const char            *object_path,
                    const char            *interface_name,
                    const char            *method_name,
                    GVariant              *parameters,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  FakeNotifications *self = user_data;

  if (g_str_equal (method_name, "Notify"))
    {
      handle_notify (self, parameters, invocation);
    }
  else if (g_str_equal (method_name, "CloseNotification"))
    {
      guint32 id;

      g_variant_get (parameters, "(u)", &id);
      g_array_append_val (self->close_requests, id);
      g_dbus_method_invocation_return_value (invocation, NULL);
      /* A real server closes it and says so. */
      if (fake_notifications_knows_id (self, id))
        g_dbus_connection_emit_signal (connection, NULL, NOTIFICATIONS_PATH,
                                       NOTIFICATIONS_INTERFACE, "NotificationClosed",
                                       g_variant_new ("(uu)", id,
                                                      (guint32) FAKE_NOTIFICATION_CLOSED_CALLED),
                                       NULL);
    }
  else if (g_str_equal (method_name, "GetCapabilities"))
    {
      const char *capabilities[] = { "actions", "body", NULL };

      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(^as)", capabilities));
    }
  else if (g_str_equal (method_name, "GetServerInformation"))
    {
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(ssss)", "Spyglass Fake Notifications",
                                                            "Spyglass", "1.0", "1.2"));
    }
  else
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
    }
}

static const GDBusInterfaceVTable interface_vtable = {
  handle_method_call, NULL, NULL, { 0 }
};

FakeNotifications *
fake_notifications_new (void)
{
  return g_object_new (FAKE_TYPE_NOTIFICATIONS, NULL);
}

gboolean
fake_notifications_start (FakeNotifications  *self,
                          GError            **error)
{
  g_autoptr(GDBusNodeInfo) node = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *address = NULL;
  guint32 result;

  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  /* A connection of our own, not the process's shared session bus: the
   * GApplication under test sends from that one. Created while the
   * context is thread-default so that calls are handled there. */
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, error);
  if (address == NULL)
    return FALSE;
  connection = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, error);
  if (connection == NULL)
    return FALSE;
  g_dbus_connection_set_exit_on_close (connection, FALSE);

  node = g_dbus_node_info_new_for_xml (introspection_xml, error);
  g_assert (node != NULL);
  self->registration_id = g_dbus_connection_register_object (connection, NOTIFICATIONS_PATH,
                                                             node->interfaces[0],
                                                             &interface_vtable, self, NULL,
                                                             error);
  if (self->registration_id == 0)
    return FALSE;

  /* The name last, once calls can be answered. */
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", NOTIFICATIONS_NAME,
                                                      (guint32) NAME_FLAG_DO_NOT_QUEUE),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       -1, NULL, error);
  if (reply == NULL)
    {
      g_dbus_connection_unregister_object (connection, self->registration_id);
      self->registration_id = 0;
      return FALSE;
    }
  g_variant_get (reply, "(u)", &result);
  if (result != NAME_REPLY_PRIMARY_OWNER)
    {
      g_dbus_connection_unregister_object (connection, self->registration_id);
      self->registration_id = 0;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s is owned by someone else on this bus", NOTIFICATIONS_NAME);
      return FALSE;
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->connection = g_steal_pointer (&connection);
  return TRUE;
}

void
fake_notifications_stop (FakeNotifications *self)
{
  g_return_if_fail (FAKE_IS_NOTIFICATIONS (self));

  if (self->connection == NULL)
    return;

  g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  /* Closing drops the name; flushing first sends any signal still queued. */
  g_dbus_connection_flush_sync (self->connection, NULL, NULL);
  g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
}

const char *
fake_notifications_get_unique_name (FakeNotifications *self)
{
  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), NULL);

  return self->connection != NULL ? g_dbus_connection_get_unique_name (self->connection) : NULL;
}

GPtrArray *
fake_notifications_get_notifications (FakeNotifications *self)
{
  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), NULL);

  return self->notifications;
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

const FakeNotification *
fake_notifications_wait (FakeNotifications *self,
                         guint              timeout_ms)
{
  g_autoptr(GSource) timeout = NULL;
  gboolean timed_out = FALSE;

  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), NULL);
  g_return_val_if_fail (self->context != NULL, NULL);

  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timeout, on_wait_timeout, &timed_out, NULL);
  g_source_attach (timeout, self->context);

  while (self->n_waited >= self->notifications->len && !timed_out)
    g_main_context_iteration (self->context, TRUE);
  /* Destroyed here whatever happened: it points into this frame. */
  g_source_destroy (timeout);

  if (self->n_waited >= self->notifications->len)
    return NULL;
  return g_ptr_array_index (self->notifications, self->n_waited++);
}

void
fake_notifications_clear (FakeNotifications *self)
{
  g_return_if_fail (FAKE_IS_NOTIFICATIONS (self));

  g_ptr_array_set_size (self->notifications, 0);
  g_array_set_size (self->close_requests, 0);
  self->n_waited = 0;
}

GArray *
fake_notifications_get_close_requests (FakeNotifications *self)
{
  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), NULL);

  return self->close_requests;
}

static gboolean
emit (FakeNotifications  *self,
      const char         *signal_name,
      GVariant           *parameters,
      GError            **error)
{
  g_autoptr(GVariant) sunk = g_variant_ref_sink (parameters);

  if (self->connection == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "The server is not started");
      return FALSE;
    }

  return g_dbus_connection_emit_signal (self->connection, NULL, NOTIFICATIONS_PATH,
                                        NOTIFICATIONS_INTERFACE, signal_name, sunk, error);
}

gboolean
fake_notifications_invoke_action (FakeNotifications  *self,
                                  guint32             id,
                                  const char         *action_key,
                                  GError            **error)
{
  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), FALSE);
  g_return_val_if_fail (action_key != NULL, FALSE);

  return emit (self, "ActionInvoked", g_variant_new ("(us)", id, action_key), error) &&
         emit (self, "NotificationClosed",
               g_variant_new ("(uu)", id, (guint32) FAKE_NOTIFICATION_CLOSED_DISMISSED), error);
}

gboolean
fake_notifications_close (FakeNotifications             *self,
                          guint32                        id,
                          FakeNotificationClosedReason   reason,
                          GError                       **error)
{
  g_return_val_if_fail (FAKE_IS_NOTIFICATIONS (self), FALSE);

  return emit (self, "NotificationClosed", g_variant_new ("(uu)", id, (guint32) reason), error);
}

static void
fake_notifications_finalize (GObject *object)
{
  FakeNotifications *self = FAKE_NOTIFICATIONS (object);

  fake_notifications_stop (self);
  g_clear_pointer (&self->notifications, g_ptr_array_unref);
  g_clear_pointer (&self->close_requests, g_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (fake_notifications_parent_class)->finalize (object);
}

static void
fake_notifications_class_init (FakeNotificationsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = fake_notifications_finalize;

  signals[SIGNAL_NOTIFICATION_RECEIVED] =
    g_signal_new ("notification-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
fake_notifications_init (FakeNotifications *self)
{
  self->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_notification_free);
  self->close_requests = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->next_id = 1;
}
