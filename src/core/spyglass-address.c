/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "spyglass-address.h"
#include "spyglass-error.h"

/* Why an address was refused; each has its own message. */
typedef enum
{
  ADDRESS_OK,
  ADDRESS_EMPTY,
  ADDRESS_BAD_CHARACTERS,
  ADDRESS_BAD_SCHEME,
  ADDRESS_CREDENTIALS,
  ADDRESS_QUERY_OR_FRAGMENT,
  ADDRESS_BAD_PORT,
  ADDRESS_NO_HOST,
  ADDRESS_BAD_HOST,
  ADDRESS_IPV6_WITHOUT_BRACKETS,
} AddressProblem;

/* The address as typed, safe to put in a one-line message: valid UTF-8,
 * control characters shown as \xNN. */
static char *
display_address (const char *address)
{
  g_autofree char *safe = NULL;
  g_autofree char *valid = NULL;
  GString *str = g_string_new (NULL);
  const char *authority;
  const char *at;
  gsize cut;

  /* An address pasted from a browser may carry the token in its query
   * (…?X-Plex-Token=…) or a password before '@': never show those. */
  cut = strcspn (address, "?#");
  authority = strstr (address, "://");
  authority = authority != NULL && (gsize) (authority - address) < cut ? authority + 3 : address;
  at = memchr (authority, '@', MIN (strcspn (authority, "/"), cut - (gsize) (authority - address)));
  if (at != NULL)
    safe = g_strdup_printf ("%.*s…%.*s%s", (int) (authority - address), address,
                            (int) (address + cut - at), at, address[cut] != '\0' ? "…" : "");
  else
    safe = g_strdup_printf ("%.*s%s", (int) cut, address, address[cut] != '\0' ? "…" : "");
  valid = g_utf8_make_valid (safe, -1);

  for (const char *p = valid; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        g_string_append_printf (str, "\\x%02x", (guchar) *p);
      else
        g_string_append_c (str, *p);
    }

  return g_string_free (str, FALSE);
}

static void
set_address_error (GError         **error,
                   const char      *address,
                   AddressProblem   problem)
{
  g_autofree char *shown = display_address (address);

  switch (problem)
    {
    case ADDRESS_EMPTY:
      g_set_error_literal (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                           _("The server address is empty"));
      break;

    case ADDRESS_BAD_CHARACTERS:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: it must not contain spaces or control characters"),
                   shown);
      break;

    case ADDRESS_BAD_SCHEME:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: only http:// and https:// are supported"),
                   shown);
      break;

    case ADDRESS_CREDENTIALS:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: remove the user name and password, Plex uses a token instead"),
                   shown);
      break;

    case ADDRESS_QUERY_OR_FRAGMENT:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: it must not contain “?” or “#”"),
                   shown);
      break;

    case ADDRESS_BAD_PORT:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: the port must be a number from 1 to 65535"),
                   shown);
      break;

    case ADDRESS_NO_HOST:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: the host name is missing"),
                   shown);
      break;

    case ADDRESS_BAD_HOST:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: the host name is not valid"),
                   shown);
      break;

    case ADDRESS_IPV6_WITHOUT_BRACKETS:
      g_set_error (error, SPYGLASS_ERROR, SPYGLASS_ERROR_INVALID_ADDRESS,
                   _("Invalid server address “%s”: put an IPv6 address in brackets, like http://[::1]:32400"),
                   shown);
      break;

    case ADDRESS_OK:
    default:
      g_assert_not_reached ();
    }
}

/* Length of a URI scheme followed by "://" at the start of @str, or 0. */
static gsize
scheme_length (const char *str)
{
  const char *p = str;

  if (!g_ascii_isalpha (*p))
    return 0;

  while (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.')
    p++;

  return g_str_has_prefix (p, "://") ? (gsize) (p - str) : 0;
}

static gboolean
parse_port (const char *str,
            gsize       len,
            guint      *port)
{
  g_autofree char *copy = g_strndup (str, len);
  guint64 value;

  /* g_ascii_string_to_unsigned() accepts no sign, space or empty string. */
  if (!g_ascii_string_to_unsigned (copy, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;

  *port = (guint) value;
  return TRUE;
}

/* A DNS name or IPv4 address, converted to lower-case ASCII (IDNA for
 * non-ASCII names), or NULL when it is not one. */
static char *
parse_host_name (const char *str,
                 gsize       len)
{
  g_autofree char *copy = g_strndup (str, len);
  g_autofree char *ascii = NULL;

  if (!g_utf8_validate (copy, -1, NULL))
    return NULL;

  ascii = g_hostname_to_ascii (copy);
  if (ascii == NULL || ascii[0] == '\0')
    return NULL;

  for (const char *p = ascii; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
        return NULL;
    }

  return g_ascii_strdown (ascii, -1);
}

/* An IPv6 literal, with an optional zone ("fe80::1%eth0" or the URI form
 * "fe80::1%25eth0"), in its URI form inside brackets, or NULL. */
static char *
parse_ipv6 (const char *str,
            gsize       len)
{
  g_autofree char *copy = g_strndup (str, len);
  g_autofree char *lower = NULL;
  char *zone;

  zone = strchr (copy, '%');
  if (zone != NULL)
    {
      *zone++ = '\0';
      if (g_str_has_prefix (zone, "25"))
        zone += 2;
      if (*zone == '\0')
        return NULL;
      for (const char *p = zone; *p != '\0'; p++)
        {
          if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
            return NULL;
        }
    }

  if (strchr (copy, ':') == NULL || !g_hostname_is_ip_address (copy))
    return NULL;

  lower = g_ascii_strdown (copy, -1);
  if (zone != NULL)
    return g_strdup_printf ("[%s%%25%s]", lower, zone);
  else
    return g_strdup_printf ("[%s]", lower);
}

/* The path as it goes into the URL: kept as typed, but bytes that may not
 * appear in a URI path (non-ASCII, a stray '%') are percent-encoded. */
static void
append_path (GString    *url,
             const char *path,
             gsize       len)
{
  static const char allowed[] = "-._~!$&'()*+,;=:@/";

  for (gsize i = 0; i < len; i++)
    {
      guchar c = path[i];

      if (g_ascii_isalnum (c) || (c != '\0' && strchr (allowed, c) != NULL))
        g_string_append_c (url, c);
      else if (c == '%' && i + 2 < len &&
               g_ascii_isxdigit (path[i + 1]) && g_ascii_isxdigit (path[i + 2]))
        g_string_append_c (url, c);
      else
        g_string_append_printf (url, "%%%02X", c);
    }
}

static AddressProblem
normalize (const char  *address,
           char       **url_out)
{
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;
  const char *rest;
  const char *authority_end;
  const char *host_start;
  const char *host_end;
  const char *port_start = NULL;
  const char *path;
  gsize path_len;
  gsize len;
  guint port;
  GString *url;

  if (address[0] == '\0')
    return ADDRESS_EMPTY;

  for (const char *p = address; *p != '\0'; p++)
    {
      if ((guchar) *p <= 0x20 || *p == 0x7f)
        return ADDRESS_BAD_CHARACTERS;
    }

  len = scheme_length (address);
  if (len > 0)
    {
      scheme = g_ascii_strdown (address, len);
      if (!g_str_equal (scheme, "http") && !g_str_equal (scheme, "https"))
        return ADDRESS_BAD_SCHEME;
      rest = address + len + strlen ("://");
      port = SPYGLASS_DEFAULT_PORT;
    }
  else
    {
      scheme = g_strdup ("http");
      rest = address;
      port = SPYGLASS_DEFAULT_PORT;
    }

  authority_end = rest + strcspn (rest, "/?#");
  path = authority_end;
  path_len = strcspn (path, "?#");
  if (path[path_len] != '\0')
    return ADDRESS_QUERY_OR_FRAGMENT;

  /* Plex itself listens on 32400 at the root; an address with a path is a
   * reverse proxy, which listens on the scheme's own port. */
  if (len > 0 && strspn (path, "/") < path_len)
    port = g_str_equal (scheme, "https") ? 443 : 80;

  if (memchr (rest, '@', authority_end - rest) != NULL)
    return ADDRESS_CREDENTIALS;

  host_start = rest;
  if (*host_start == '[')
    {
      const char *bracket = memchr (host_start, ']', authority_end - host_start);

      if (bracket == NULL)
        return ADDRESS_BAD_HOST;
      host_start++;
      host_end = bracket;
      if (bracket + 1 < authority_end)
        {
          if (bracket[1] != ':')
            return ADDRESS_BAD_HOST;
          port_start = bracket + 2;
        }
      if (host_start == host_end)
        return ADDRESS_NO_HOST;
      host = parse_ipv6 (host_start, host_end - host_start);
    }
  else
    {
      const char *colon = memchr (host_start, ':', authority_end - host_start);
      const char *second = NULL;

      if (colon != NULL)
        second = memchr (colon + 1, ':', authority_end - (colon + 1));

      if (second != NULL)
        {
          /* "::1": a bare IPv6 address is only unambiguous without a
           * port; accept it where people type it without a scheme. */
          if (scheme_length (address) > 0)
            return ADDRESS_IPV6_WITHOUT_BRACKETS;
          host_end = authority_end;
          host = parse_ipv6 (host_start, host_end - host_start);
        }
      else
        {
          host_end = colon != NULL ? colon : authority_end;
          if (colon != NULL)
            port_start = colon + 1;
          if (host_start == host_end)
            return ADDRESS_NO_HOST;
          host = parse_host_name (host_start, host_end - host_start);
        }
    }

  if (port_start != NULL &&
      !parse_port (port_start, authority_end - port_start, &port))
    return ADDRESS_BAD_PORT;

  if (host == NULL)
    return ADDRESS_BAD_HOST;

  /* "/plex/" and "/plex" are the same prefix; the result never ends in '/'. */
  while (path_len > 0 && path[path_len - 1] == '/')
    path_len--;

  url = g_string_new (scheme);
  g_string_append (url, "://");
  g_string_append (url, host);
  g_string_append_printf (url, ":%u", port);
  append_path (url, path, path_len);

  /* A last check that what was built is a URL GLib itself accepts. */
  if (!g_uri_is_valid (url->str, G_URI_FLAGS_ENCODED, NULL))
    {
      g_string_free (url, TRUE);
      return ADDRESS_BAD_HOST;
    }

  *url_out = g_string_free (url, FALSE);
  return ADDRESS_OK;
}

char *
spyglass_address_normalize (const char  *address,
                            GError     **error)
{
  g_autofree char *trimmed = NULL;
  char *url = NULL;
  AddressProblem problem;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  trimmed = g_strstrip (g_strdup (address));
  problem = normalize (trimmed, &url);
  if (problem != ADDRESS_OK)
    {
      set_address_error (error, trimmed, problem);
      return NULL;
    }

  return url;
}
