/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-error.h"
#include "spyglass-queue-service.h"

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" SPYGLASS_QUEUE_INTERFACE "'>"
  "    <method name='AddFolders'>"
  "      <arg type='aay' name='paths' direction='in'/>"
  "      <arg type='s' name='section' direction='in'/>"
  "      <arg type='b' name='force' direction='in'/>"
  "      <arg type='as' name='ids' direction='out'/>"
  "    </method>"
  "    <method name='AddLibrary'>"
  "      <arg type='s' name='section' direction='in'/>"
  "      <arg type='b' name='force' direction='in'/>"
  "      <arg type='s' name='id' direction='out'/>"
  "    </method>"
  "    <method name='GetRequests'>"
  "      <arg type='a(ssaysi)' name='requests' direction='out'/>"
  "    </method>"
  "    <signal name='RequestChanged'>"
  "      <arg type='s' name='id'/>"
  "      <arg type='s' name='state'/>"
  "      <arg type='s' name='message'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

typedef struct
{
  SpyglassQueue   *queue;
  GDBusConnection *connection;
  gulong           sent_handler;
  gulong           finished_handler;
} Service;

static void
service_free (gpointer data)
{
  Service *service = data;

  g_clear_signal_handler (&service->sent_handler, service->queue);
  g_clear_signal_handler (&service->finished_handler, service->queue);
  g_clear_object (&service->queue);
  g_free (service);
}

static void
emit_changed (Service         *service,
              SpyglassRequest *request,
              const char      *state)
{
  const char *message = spyglass_request_get_message (request);

  g_dbus_connection_emit_signal (service->connection, NULL, SPYGLASS_QUEUE_OBJECT_PATH,
                                 SPYGLASS_QUEUE_INTERFACE, "RequestChanged",
                                 g_variant_new ("(sss)", spyglass_request_get_id (request),
                                                state, message != NULL ? message : ""),
                                 NULL);
}

static void
on_batch_sent (SpyglassQueue *queue,
               GPtrArray     *batch,
               Service       *service)
{
  for (guint i = 0; i < batch->len; i++)
    emit_changed (service, g_ptr_array_index (batch, i), "sent");
}

static void
on_request_finished (SpyglassQueue   *queue,
                     SpyglassRequest *request,
                     Service         *service)
{
  emit_changed (service, request,
                spyglass_request_state_to_string (spyglass_request_get_state (request)));
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
  Service *service = user_data;

  if (g_str_equal (method_name, "AddFolders"))
    {
      g_autoptr(GVariantIter) paths = NULL;
      GVariantBuilder ids;
      const char *section;
      const char *path;
      gboolean force;

      g_variant_get (parameters, "(aay&sb)", &paths, &section, &force);
      g_variant_builder_init (&ids, G_VARIANT_TYPE ("as"));
      while (g_variant_iter_next (paths, "^&ay", &path))
        {
          SpyglassRequest *request;

          if (path[0] != '/')
            continue;  /* the caller makes paths absolute; anything else is no folder */
          request = spyglass_queue_add_folder (service->queue, path,
                                               section[0] != '\0' ? section : NULL, force);
          g_variant_builder_add (&ids, "s", spyglass_request_get_id (request));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(as)", &ids));
    }
  else if (g_str_equal (method_name, "AddLibrary"))
    {
      SpyglassRequest *request;
      const char *section;
      gboolean force;

      g_variant_get (parameters, "(&sb)", &section, &force);
      if (section[0] == '\0')
        {
          g_dbus_method_invocation_return_error_literal (invocation, SPYGLASS_ERROR,
                                                         SPYGLASS_ERROR_SECTION_NOT_FOUND,
                                                         _("Library section not found"));
          return;
        }
      request = spyglass_queue_add_library (service->queue, section, force);
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(s)", spyglass_request_get_id (request)));
    }
  else if (g_str_equal (method_name, "GetRequests"))
    {
      GListModel *model = G_LIST_MODEL (service->queue);
      GVariantBuilder requests;

      g_variant_builder_init (&requests, G_VARIANT_TYPE ("a(ssaysi)"));
      for (guint i = 0; i < g_list_model_get_n_items (model); i++)
        {
          g_autoptr(SpyglassRequest) request = g_list_model_get_item (model, i);
          const char *local = spyglass_request_get_local_path (request);
          const char *message = spyglass_request_get_message (request);

          g_variant_builder_add (&requests, "(ss^aysi)",
                                 spyglass_request_get_id (request),
                                 spyglass_request_state_to_string (spyglass_request_get_state (request)),
                                 local != NULL ? local : "",
                                 message != NULL ? message : "",
                                 spyglass_request_get_progress (request));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ssaysi))", &requests));
    }
  else
    g_assert_not_reached ();
}

static const GDBusInterfaceVTable vtable = {
  handle_method_call, NULL, NULL, { 0 },
};

guint
spyglass_queue_service_export (SpyglassQueue    *queue,
                               GDBusConnection  *connection,
                               GError          **error)
{
  g_autoptr(GDBusNodeInfo) info = NULL;
  Service *service;
  guint id;

  g_return_val_if_fail (SPYGLASS_IS_QUEUE (queue), 0);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), 0);

  info = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (info == NULL)
    return 0;

  service = g_new0 (Service, 1);
  service->queue = g_object_ref (queue);
  service->connection = connection;  /* owns the service */

  /* The service lives as long as the connection: whether GDBus frees
   * user data when registering fails differs between versions, so it
   * gets none to free. */
  id = g_dbus_connection_register_object (connection, SPYGLASS_QUEUE_OBJECT_PATH,
                                          info->interfaces[0], &vtable,
                                          service, NULL, error);
  if (id == 0)
    {
      service_free (service);
      return 0;
    }
  g_object_set_data_full (G_OBJECT (connection), "spyglass-queue-service", service, service_free);

  service->sent_handler = g_signal_connect (queue, "batch-sent", G_CALLBACK (on_batch_sent), service);
  service->finished_handler = g_signal_connect (queue, "request-finished",
                                                G_CALLBACK (on_request_finished), service);
  return id;
}
