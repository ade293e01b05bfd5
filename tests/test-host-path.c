/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Host paths of dropped files, against a fake document portal
 * (org.freedesktop.portal.Documents) on the test's session bus, with a
 * temporary directory as its mount point.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "spyglass-core.h"

#define DOCUMENTS_NAME "org.freedesktop.portal.Documents"
#define DOCUMENTS_PATH "/org/freedesktop/portal/documents"

/* DBUS_NAME_FLAG_DO_NOT_QUEUE and DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER. */
#define NAME_FLAG_DO_NOT_QUEUE   4
#define NAME_REPLY_PRIMARY_OWNER 1

static const char introspection_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.portal.Documents'>"
  "    <property name='version' type='u' access='read'/>"
  "    <method name='GetMountPoint'>"
  "      <arg type='ay' name='path' direction='out'/>"
  "    </method>"
  "    <method name='GetHostPaths'>"
  "      <arg type='as' name='doc_ids' direction='in'/>"
  "      <arg type='a{say}' name='paths' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

/* The documents the fake portal knows: id → host path (any bytes). */
static const struct
{
  const char *id;
  const char *host_path;
} documents[] = {
  { "a1b2c3", "/home/me/Music/Pink Floyd/The Dark Side of the Moon" },
  { "d4e5f6", "/srv/a & b/Rock & Roll #1" },
  { "0718ff", "/srv/\xff\xfe dir/\xfe\xffname" },
};

typedef struct
{
  GDBusConnection *connection;  /* the portal's own; NULL without a portal */
  guint            registration_id;
  gboolean         old;         /* version 4: no GetHostPaths */
  char            *mount_point;
  GPtrArray       *asked;       /* char *: the doc ids of each GetHostPaths, joined by "," */
} Fixture;

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
  Fixture *fixture = user_data;

  if (g_str_equal (method_name, "GetMountPoint"))
    {
      /* With a trailing slash: the answer is taken as it comes. */
      g_autofree char *mount_point = g_strconcat (fixture->mount_point, "/", NULL);

      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^ay)", mount_point));
    }
  else if (g_str_equal (method_name, "GetHostPaths") && !fixture->old)
    {
      g_autofree const char **ids = NULL;
      GVariantBuilder builder;

      g_variant_get (parameters, "(^a&s)", &ids);
      g_ptr_array_add (fixture->asked, g_strjoinv (",", (char **) ids));

      /* Documents it does not know are left out of the answer. */
      g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{say}"));
      for (guint i = 0; ids[i] != NULL; i++)
        for (guint d = 0; d < G_N_ELEMENTS (documents); d++)
          if (g_str_equal (ids[i], documents[d].id))
            g_variant_builder_add (&builder, "{s^ay}", ids[i], documents[d].host_path);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a{say})", &builder));
    }
  else
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
    }
}

static GVariant *
handle_get_property (GDBusConnection  *connection,
                     const char       *sender,
                     const char       *object_path,
                     const char       *interface_name,
                     const char       *property_name,
                     GError          **error,
                     gpointer          user_data)
{
  Fixture *fixture = user_data;

  return g_variant_new_uint32 (fixture->old ? 4 : 5);
}

static const GDBusInterfaceVTable vtable = {
  handle_method_call, handle_get_property, NULL, { 0 }
};

/* The portal on a connection of its own, as a separate process would be. */
static void
start_portal (Fixture  *fixture,
              gboolean  old)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) node = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *address = NULL;
  guint32 result = 0;

  fixture->old = old;
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  fixture->connection =
    g_dbus_connection_new_for_address_sync (address,
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (fixture->connection, FALSE);

  node = g_dbus_node_info_new_for_xml (introspection_xml, &error);
  g_assert_no_error (error);
  fixture->registration_id = g_dbus_connection_register_object (fixture->connection, DOCUMENTS_PATH,
                                                                node->interfaces[0], &vtable,
                                                                fixture, NULL, &error);
  g_assert_no_error (error);

  reply = g_dbus_connection_call_sync (fixture->connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "RequestName",
                                       g_variant_new ("(su)", DOCUMENTS_NAME,
                                                      (guint32) NAME_FLAG_DO_NOT_QUEUE),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       -1, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &result);
  g_assert_cmpuint (result, ==, NAME_REPLY_PRIMARY_OWNER);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->mount_point = g_dir_make_tmp ("spyglass-doc-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->asked = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  if (fixture->connection != NULL)
    {
      g_autoptr(GVariant) reply = NULL;

      /* Given back before the next test looks for it. */
      reply = g_dbus_connection_call_sync (fixture->connection, "org.freedesktop.DBus",
                                           "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                           "ReleaseName", g_variant_new ("(s)", DOCUMENTS_NAME),
                                           G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                           -1, NULL, NULL);
      g_dbus_connection_unregister_object (fixture->connection, fixture->registration_id);
      g_dbus_connection_close_sync (fixture->connection, NULL, NULL);
      g_clear_object (&fixture->connection);
    }
  g_rmdir (fixture->mount_point);
  g_free (fixture->mount_point);
  g_ptr_array_unref (fixture->asked);
}

static void
on_host_paths (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* spyglass_host_paths_async() on @paths (paths or URIs), waited for. */
static char **
host_paths (const char * const  *names,
            GCancellable        *cancellable,
            GError             **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) result = NULL;

  for (guint i = 0; names[i] != NULL; i++)
    g_ptr_array_add (files, names[i][0] == '/' ? g_file_new_for_path (names[i])
                                               : g_file_new_for_uri (names[i]));

  spyglass_host_paths_async ((GFile **) files->pdata, files->len, cancellable,
                             on_host_paths, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return spyglass_host_paths_finish (result, error);
}

static char *
doc_path (Fixture    *fixture,
          const char *rest)
{
  return g_build_filename (fixture->mount_point, rest, NULL);
}

/* A doc path resolves to the host path, deeper components appended;
 * whatever else stays as it is. */
static void
test_portal (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;
  g_autofree char *album = doc_path (fixture, "a1b2c3/The Dark Side of the Moon");
  g_autofree char *track = doc_path (fixture, "a1b2c3/The Dark Side of the Moon/CD 1/01 Speak to Me.flac");
  g_autofree char *rock = doc_path (fixture, "d4e5f6/Rock & Roll #1");
  g_autofree char *raw = doc_path (fixture, "0718ff/\xfe\xffname/\xff deeper");
  g_autofree char *unknown = doc_path (fixture, "99zz99/Unknown");
  g_autofree char *store_folder = doc_path (fixture, "a1b2c3");
  const char *names[] = {
    album,
    "/data/music/Air",
    track,
    "http://127.0.0.1/not/local",
    rock,
    raw,
    "/run/flatpak/doc/a1b2c3/The Dark Side of the Moon",
    unknown,
    store_folder,
    NULL
  };

  start_portal (fixture, FALSE);
  paths = host_paths (names, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (g_strv_length (paths), ==, 8);
  g_assert_cmpstr (paths[0], ==, "/home/me/Music/Pink Floyd/The Dark Side of the Moon");
  g_assert_cmpstr (paths[1], ==, "/data/music/Air");
  g_assert_cmpstr (paths[2], ==,
                   "/home/me/Music/Pink Floyd/The Dark Side of the Moon/CD 1/01 Speak to Me.flac");
  /* (The URI is left out.) */
  g_assert_cmpstr (paths[3], ==, "/srv/a & b/Rock & Roll #1");
  g_assert_cmpstr (paths[4], ==, "/srv/\xff\xfe dir/\xfe\xffname/\xff deeper");
  g_assert_cmpstr (paths[5], ==, "/home/me/Music/Pink Floyd/The Dark Side of the Moon");
  g_assert_cmpstr (paths[6], ==, unknown);
  g_assert_cmpstr (paths[7], ==, store_folder);

  /* One question, each document once. */
  g_assert_cmpuint (fixture->asked->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->asked, 0), ==, "a1b2c3,d4e5f6,0718ff,99zz99");
}

/* No document paths: the portal is not asked about any. */
static void
test_portal_no_doc_paths (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;
  const char *names[] = { "/data/music/Air", "/srv/more music/Björk", NULL };

  start_portal (fixture, FALSE);
  paths = host_paths (names, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (paths), ==, 2);
  g_assert_cmpstr (paths[0], ==, "/data/music/Air");
  g_assert_cmpstr (paths[1], ==, "/srv/more music/Björk");
  g_assert_cmpuint (fixture->asked->len, ==, 0);
}

/* No portal on the bus: every path as it is (the sandbox path). */
static void
test_no_portal (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;
  g_autofree char *album = doc_path (fixture, "a1b2c3/The Dark Side of the Moon");
  const char *names[] = {
    album,
    "/run/flatpak/doc/a1b2c3/The Dark Side of the Moon",
    "http://127.0.0.1/not/local",
    "/data/music/Air",
    NULL
  };

  paths = host_paths (names, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (paths), ==, 3);
  g_assert_cmpstr (paths[0], ==, album);
  g_assert_cmpstr (paths[1], ==, "/run/flatpak/doc/a1b2c3/The Dark Side of the Moon");
  g_assert_cmpstr (paths[2], ==, "/data/music/Air");
}

/* A portal older than version 5 (no GetHostPaths): sandbox paths. */
static void
test_old_portal (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;
  g_autofree char *album = doc_path (fixture, "a1b2c3/The Dark Side of the Moon");
  const char *names[] = { album, "/data/music/Air", NULL };

  start_portal (fixture, TRUE);
  paths = host_paths (names, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (paths), ==, 2);
  g_assert_cmpstr (paths[0], ==, album);
  g_assert_cmpstr (paths[1], ==, "/data/music/Air");
}

static void
test_nothing_local (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = NULL;
  const char *names[] = { "http://127.0.0.1/a", NULL };

  paths = host_paths (names, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (paths);
  g_assert_cmpuint (g_strv_length (paths), ==, 0);
}

static void
test_cancelled (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(GStrv) paths = NULL;
  g_autofree char *album = doc_path (fixture, "a1b2c3/The Dark Side of the Moon");
  const char *names[] = { album, NULL };

  start_portal (fixture, FALSE);
  g_cancellable_cancel (cancellable);
  paths = host_paths (names, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (paths);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("No session bus (run under dbus-run-session)");
      return g_test_run ();
    }

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/host-path/no-portal", test_no_portal);
  ADD ("/host-path/portal", test_portal);
  ADD ("/host-path/portal/no-doc-paths", test_portal_no_doc_paths);
  ADD ("/host-path/portal/old", test_old_portal);
  ADD ("/host-path/nothing-local", test_nothing_local);
  ADD ("/host-path/cancelled", test_cancelled);

  return g_test_run ();
}
