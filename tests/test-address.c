/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "spyglass-core.h"

typedef struct
{
  const char *input;
  const char *expected;
} AddressCase;

static void
check_valid (const AddressCase *cases,
             gsize              n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *url = NULL;
      g_autofree char *escaped = g_strescape (cases[i].input, NULL);

      g_test_message ("input: %s", escaped);
      url = spyglass_address_normalize (cases[i].input, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (url, ==, cases[i].expected);
    }
}

static void
check_invalid (const char *input,
               const char *quoted)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *escaped = g_strescape (input, NULL);

  g_test_message ("input: %s", escaped);
  url = spyglass_address_normalize (input, &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS);
  g_assert_null (url);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_null (strchr (error->message, '\n'));
  if (quoted != NULL)
    {
      g_autofree char *needle = g_strdup_printf ("“%s”", quoted);
      g_assert_nonnull (strstr (error->message, needle));
    }
}

/* A secret pasted along with the address never reaches the message. */
static void
check_hidden (const char *input,
              const char *secret)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = spyglass_address_normalize (input, &error);

  g_assert_null (url);
  g_assert_nonnull (error);
  g_assert_null (strstr (error->message, secret));
}

static void
test_address_host_only (void)
{
  static const AddressCase cases[] = {
    { "nas.local", "http://nas.local:32400" },
    { "192.168.1.10", "http://192.168.1.10:32400" },
    { "localhost", "http://localhost:32400" },
    { "NAS.Local", "http://nas.local:32400" },
    { "plex_server", "http://plex_server:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_host_port (void)
{
  static const AddressCase cases[] = {
    { "192.168.1.10:32400", "http://192.168.1.10:32400" },
    { "nas.local:8080", "http://nas.local:8080" },
    { "nas.local:1", "http://nas.local:1" },
    { "nas.local:65535", "http://nas.local:65535" },
    { "nas.local:032400", "http://nas.local:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_scheme (void)
{
  static const AddressCase cases[] = {
    { "http://host:32400/", "http://host:32400" },
    { "http://host:32400", "http://host:32400" },
    { "https://1-2-3-4.x.plex.direct:32400", "https://1-2-3-4.x.plex.direct:32400" },
    { "HTTP://Host:32400", "http://host:32400" },
    { "HtTpS://host", "https://host:32400" },
    /* No port means Plex's own, with or without a scheme. */
    { "http://nas.local", "http://nas.local:32400" },
    { "https://nas.local", "https://nas.local:32400" },
    { "https://nas.local/", "https://nas.local:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_path_prefix (void)
{
  static const AddressCase cases[] = {
    { "https://example.org/plex/", "https://example.org:443/plex" },
    { "https://example.org/plex", "https://example.org:443/plex" },
    { "https://example.org/plex///", "https://example.org:443/plex" },
    { "example.org:8443/a/b/", "http://example.org:8443/a/b" },
    { "https://example.org/my%20plex/", "https://example.org:443/my%20plex" },
    /* Bytes that may not appear in a URL path are encoded. */
    { "https://example.org/b\xc3\xbc" "cher", "https://example.org:443/b%C3%BCcher" },
    { "https://example.org/100%", "https://example.org:443/100%25" },
    { "http://example.org/plex", "http://example.org:80/plex" },
    /* Without a scheme, a path still means Plex's port. */
    { "example.org/plex", "http://example.org:32400/plex" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_ipv6 (void)
{
  static const AddressCase cases[] = {
    { "[::1]:32400", "http://[::1]:32400" },
    { "[::1]", "http://[::1]:32400" },
    { "::1", "http://[::1]:32400" },
    { "http://[::1]", "http://[::1]:32400" },
    { "https://[2001:DB8::1]:32443/", "https://[2001:db8::1]:32443" },
    { "fe80::1%eth0", "http://[fe80::1%25eth0]:32400" },
    { "[fe80::1%25eth0]:32400", "http://[fe80::1%25eth0]:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_whitespace (void)
{
  static const AddressCase cases[] = {
    { "  nas.local  ", "http://nas.local:32400" },
    { "\thttp://host:32400/\n", "http://host:32400" },
    { " \r\n[::1]:32400 ", "http://[::1]:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_idn (void)
{
  static const AddressCase cases[] = {
    { "b\xc3\xbc" "cher.example", "http://xn--bcher-kva.example:32400" },
  };

  check_valid (cases, G_N_ELEMENTS (cases));
}

static void
test_address_empty (void)
{
  check_invalid ("", NULL);
  check_invalid ("   ", NULL);
  check_invalid ("\t\n", NULL);
}

static void
test_address_bad_scheme (void)
{
  check_invalid ("ftp://nas.local", "ftp://nas.local");
  check_invalid ("ws://nas.local:32400", "ws://nas.local:32400");
  check_invalid ("file:///srv", "file:///srv");
  check_invalid ("httpx://nas.local", "httpx://nas.local");
}

static void
test_address_credentials (void)
{
  check_invalid ("http://user:password@nas.local:32400", "http://…@nas.local:32400");
  check_hidden ("http://user:CANARY-PW@nas.local:32400", "CANARY");
  check_invalid ("user@nas.local", "…@nas.local");
  check_invalid ("https://user:pw@example.org/plex", "https://…@example.org/plex");
}

static void
test_address_query_fragment (void)
{
  check_invalid ("http://nas.local:32400/?X-Plex-Token=abc", "http://nas.local:32400/…");
  check_hidden ("http://nas.local:32400/library/sections?X-Plex-Token=CANARY-SECRET", "CANARY-SECRET");
  check_hidden ("http://me:CANARY-PW@nas.local/?X-Plex-Token=CANARY-SECRET", "CANARY");
  check_invalid ("http://nas.local:32400/#web", "http://nas.local:32400/…");
  check_invalid ("nas.local?", "nas.local…");
  check_invalid ("nas.local#", "nas.local…");
  check_invalid ("https://example.org/plex?a=b#c", "https://example.org/plex…");
}

static void
test_address_bad_port (void)
{
  check_invalid ("nas.local:0", "nas.local:0");
  check_invalid ("nas.local:65536", "nas.local:65536");
  check_invalid ("nas.local:99999999999999999999", "nas.local:99999999999999999999");
  check_invalid ("nas.local:", "nas.local:");
  check_invalid ("nas.local:abc", "nas.local:abc");
  check_invalid ("nas.local:-1", "nas.local:-1");
  check_invalid ("nas.local:+80", "nas.local:+80");
  check_invalid ("http://nas.local:32400:1", "http://nas.local:32400:1");
  check_invalid ("[::1]:", "[::1]:");
  check_invalid ("[::1]:70000", "[::1]:70000");
  check_invalid ("https://host:0/plex", "https://host:0/plex");
}

static void
test_address_bad_characters (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  check_invalid ("nas local", "nas local");
  check_invalid ("http://nas.local/my plex", "http://nas.local/my plex");
  check_invalid ("nas\tlocal", NULL);
  check_invalid ("nas.local\x7f", NULL);

  /* A control character is shown escaped, so the message stays one line. */
  url = spyglass_address_normalize ("nas\nlocal", &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS);
  g_assert_null (url);
  g_assert_nonnull (strstr (error->message, "“nas\\x0alocal”"));
}

static void
test_address_empty_host (void)
{
  check_invalid ("http://", "http://");
  check_invalid ("https:///plex", "https:///plex");
  check_invalid (":32400", ":32400");
  check_invalid ("http://:32400", "http://:32400");
  check_invalid ("[]:32400", "[]:32400");
  check_invalid ("/plex", "/plex");
}

static void
test_address_bad_host (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  check_invalid ("[nas.local]:32400", "[nas.local]:32400");
  check_invalid ("[::1", "[::1");
  check_invalid ("[::1]x", "[::1]x");
  check_invalid ("nas!.local", "nas!.local");
  /* Without brackets an IPv6 address and a port cannot be told apart. */
  check_invalid ("http://::1:32400", "http://::1:32400");

  /* Not UTF-8: refused, and the message is still valid UTF-8. */
  url = spyglass_address_normalize ("n\xe9s.local", &error);
  g_assert_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS);
  g_assert_null (url);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/address/host-only", test_address_host_only);
  g_test_add_func ("/address/host-port", test_address_host_port);
  g_test_add_func ("/address/scheme", test_address_scheme);
  g_test_add_func ("/address/path-prefix", test_address_path_prefix);
  g_test_add_func ("/address/ipv6", test_address_ipv6);
  g_test_add_func ("/address/whitespace", test_address_whitespace);
  g_test_add_func ("/address/idn", test_address_idn);
  g_test_add_func ("/address/reject/empty", test_address_empty);
  g_test_add_func ("/address/reject/scheme", test_address_bad_scheme);
  g_test_add_func ("/address/reject/credentials", test_address_credentials);
  g_test_add_func ("/address/reject/query-fragment", test_address_query_fragment);
  g_test_add_func ("/address/reject/port", test_address_bad_port);
  g_test_add_func ("/address/reject/characters", test_address_bad_characters);
  g_test_add_func ("/address/reject/empty-host", test_address_empty_host);
  g_test_add_func ("/address/reject/host", test_address_bad_host);

  return g_test_run ();
}
