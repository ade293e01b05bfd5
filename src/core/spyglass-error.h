/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPYGLASS_ERROR (spyglass_error_quark ())

/**
 * SpyglassError:
 * Every failure the core reports to its callers.  The UI and the command
 * line branch on the code; the message is the text a user reads.
 */
typedef enum
{
  SPYGLASS_ERROR_INVALID_TOKEN,       /* 401 (and 498): "Invalid Plex token" */
  SPYGLASS_ERROR_FORBIDDEN,           /* 403: the account does not own the server */
  SPYGLASS_ERROR_SECTION_NOT_FOUND,   /* 404 on a section URL: "Library section not found" */
  SPYGLASS_ERROR_HTTP_STATUS,         /* any other status: "Plex returned N" */
  SPYGLASS_ERROR_UNREACHABLE,         /* refused, DNS, no route: "Cannot reach Plex server" */
  SPYGLASS_ERROR_TIMEOUT,             /* "Plex request timeout" */
  SPYGLASS_ERROR_CERTIFICATE_UNTRUSTED,
  SPYGLASS_ERROR_CERTIFICATE_CHANGED,
  SPYGLASS_ERROR_BAD_RESPONSE,        /* a body that cannot be parsed */
  SPYGLASS_ERROR_RESPONSE_TOO_LARGE,  /* a body over the size cap */
  SPYGLASS_ERROR_INVALID_ADDRESS,     /* a server address that cannot be used */
  SPYGLASS_ERROR_INVALID_MAPPING,     /* a path-mapping rule that cannot be used */
  SPYGLASS_ERROR_NOT_IN_LIBRARY,      /* a path inside no library Location */
  SPYGLASS_ERROR_NOT_CONFIGURED,      /* no server or no token */
  SPYGLASS_ERROR_TOKEN_STORE,         /* the keyring and the fallback file both failed */
  SPYGLASS_ERROR_QUEUE_LOCKED,        /* another process owns the scan queue */
  SPYGLASS_ERROR_QUEUE_FILE,          /* the queue's files cannot be read or written */
} SpyglassError;

GQuark spyglass_error_quark (void);

G_END_DECLS
