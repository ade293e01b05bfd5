/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * A fake Plex Media Server for tests, demos and benchmarks, modelled on
 * ../shared/plex-api.md: a SoupServer on loopback (127.0.0.1, port 0) in
 * the main context that is thread-default when fake_plex_new() is called
 * (its scan timers run there too). Make, start and use it in that thread;
 * to use libsoup's blocking calls, run it in a thread of its own with its
 * own context (see /fake-plex/thread in test-fake-plex.c).
 *
 * - XML by default, JSON when the request has "Accept: application/json".
 * - Every response carries "X-Plex-Protocol: 1.0".
 * - GET /identity needs no token; everything else needs the token, in the
 *   X-Plex-Token header (or, as real Plex allows, the query; the header
 *   wins when both are there), else 401 with Plex's exact HTML body. The
 *   token is checked before the path: an unknown path is 404 only with it.
 * - GET /, GET /library/sections (several libraries, several Locations),
 *   GET|PUT|POST /library/sections/{id}/refresh[?path=…][&force=1] (200, empty
 *   body, 404 for an unknown id; starts a simulated scan: the section's
 *   `refreshing` turns on, an activity of type library.update.section with
 *   rising progress appears in GET /activities, and both clear after the
 *   scan duration), DELETE /library/sections/{id|all}/refresh (stops the
 *   scan, 200 even when idle), GET /activities, DELETE /activities/{uuid}
 *   (200, 404 for an unknown uuid). Also GET|PUT|POST
 *   /library/sections/all/refresh and POST /library/sections/refresh (scan
 *   every library), PUT /library/sections/{id}/emptyTrash and …/analyze
 *   (200, no effect). Anything else: 404. Error bodies are HTML.
 * - A refresh while a scan of the same section runs restarts it: same
 *   activity, progress back to 0, a whole scan duration again.
 * - The notification WebSocket (plex-api.md §5) on /:/websockets/notifications
 *   and the singular /:/websocket/notifications: the upgrade request needs
 *   the token like any other (else 401, no upgrade), is recorded like any
 *   other, and gets 404 while fake_plex_set_websocket_enabled() is off.
 *   Every connected client gets `activity` frames for every simulated scan
 *   ({"NotificationContainer":{"type":"activity","size":1,
 *   "ActivityNotification":[{"event":…,"uuid":…,"Activity":{…,
 *   "Context":{"librarySectionID":…}}}]}}): one `started` (progress 0),
 *   `updated` as the progress rises (every fifth of the scan duration,
 *   10–250 ms), and one `ended` (progress 100, or where a cancel stopped
 *   it). A restarted scan gets an `updated` at 0 instead of a second
 *   `started`. Pings are answered; whatever clients send is ignored.
 * - Records every request it receives, decoded byte-for-byte.
 * - Faults on demand (fake_plex_set_fault()).
 */

#define FAKE_PLEX_DEFAULT_TOKEN   "fake-plex-token"
#define FAKE_PLEX_DEFAULT_VERSION "1.40.0.7998-c29d4c0c8"
#define FAKE_PLEX_DEFAULT_NAME    "Fake Plex"

/* The exact bodies real Plex sends (plex-api.md §3.5). */
#define FAKE_PLEX_BODY_401 "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
#define FAKE_PLEX_BODY_403 "<html><head><title>Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"

typedef enum
{
  FAKE_PLEX_FAULT_NONE,
  FAKE_PLEX_FAULT_UNAUTHORIZED,  /* 401 + real body, whatever the token */
  FAKE_PLEX_FAULT_FORBIDDEN,     /* 403 + real body */
  FAKE_PLEX_FAULT_NOT_FOUND,     /* 404 */
  FAKE_PLEX_FAULT_SERVER_ERROR,  /* 500 */
  FAKE_PLEX_FAULT_HANG,          /* accept the request, never answer */
  FAKE_PLEX_FAULT_SLOW_BODY,     /* 200, then one byte of body every 200 ms, for minutes */
  FAKE_PLEX_FAULT_MALFORMED,     /* 200 with a truncated, malformed XML/JSON body */
  FAKE_PLEX_FAULT_HUGE_BODY,     /* 200 with a well-formed body of 9 MiB (over the 2 MiB cap) */
} FakePlexFault;

/* One request as the server received it.
 *
 * SoupServer parses the request line with GUri before we see it, so:
 * @path is already percent-decoded by SoupServer (a request whose path
 * holds %00 or a new ".." segment gets 400 from SoupServer and is not
 * recorded); @query is the query as GUri keeps it, which is the bytes
 * received except that escapes are upper-cased ("%e9" → "%E9"), escaped
 * unreserved characters are decoded ("%7E" → "~", "%41" → "A") and raw
 * bytes GUri does not allow are escaped; a query with a broken escape
 * ("%zz", "%4") gets 400 from SoupServer. None of this changes what the
 * parameters decode to. */
typedef struct
{
  char               *method;   /* "GET", "DELETE", … */
  char               *path;     /* decoded path, e.g. "/library/sections/3/refresh" */
  char               *query;    /* the query string as received (see above), or NULL */
  GHashTable         *params;   /* name (char*) → decoded value (GBytes*), '+' and %20 both a space */
  SoupMessageHeaders *headers;  /* the request headers (a reference) */
  gboolean            token_in_query; /* X-Plex-Token arrived in the URL */
} FakePlexRequest;

/* The decoded value of query parameter @name, or NULL when the query has no
 * such parameter. The bytes may be anything (invalid UTF-8, NUL); the data
 * is followed by a NUL that g_bytes_get_size() does not count, so
 * g_bytes_get_data() can be read as a string when no NUL is expected.
 * Transfer none: owned by @request. When a name repeats, the last one wins.
 *
 * Decoding: the query is split on '&', each part on its first '='; '+' is a
 * space, %XX (two hex digits, any case) is that byte, %00 included; a '%'
 * not followed by two hex digits stays as it is (SoupServer refuses such
 * queries today). Names are decoded the same way; a part without '=' is a
 * name with an empty value. */
GBytes     *fake_plex_request_get_param        (const FakePlexRequest *request,
                                                const char            *name);
/* The same value as a string (borrowed; cut at an embedded NUL), or NULL. */
const char *fake_plex_request_get_param_string (const FakePlexRequest *request,
                                                const char            *name);

#define FAKE_TYPE_PLEX (fake_plex_get_type ())
G_DECLARE_FINAL_TYPE (FakePlex, fake_plex, FAKE, PLEX, GObject)

/* A server with these libraries (key, type, title, Locations):
 *   1 movie  "Movies"        /data/movies
 *   2 show   "TV Shows"      /data/tv
 *   3 artist "Music"         /data/music, /srv/more music
 *   4 artist "Music Hi-Res"  /data/music-hires
 * Not listening until fake_plex_start(). */
FakePlex    *fake_plex_new                (void);
gboolean     fake_plex_start              (FakePlex            *self,
                                           GError             **error);
/* Same, serving HTTPS with @certificate (which must have a private key). */
gboolean     fake_plex_start_tls          (FakePlex            *self,
                                           GTlsCertificate     *certificate,
                                           GError             **error);
/* Same, on 127.0.0.1:@port (0 for any free port), serving HTTPS when
 * @certificate is not NULL. Only while not running. Also brings a stopped server back on the port it
 * had (fake_plex_get_port() still returns it after fake_plex_stop()). */
gboolean     fake_plex_start_on_port      (FakePlex            *self,
                                           guint16              port,
                                           GTlsCertificate     *certificate,
                                           GError             **error);
/* Stops listening: the port is closed from then on (the "closed port"
 * fault), and every open connection is closed, including requests held by
 * FAKE_PLEX_FAULT_HANG or FAKE_PLEX_FAULT_SLOW_BODY. Libraries, scans and
 * recorded requests are kept. */
void         fake_plex_stop               (FakePlex            *self);
gboolean     fake_plex_is_running         (FakePlex            *self);
/* "http://127.0.0.1:PORT" (or https), no trailing slash; NULL before the
 * first start, the last one after fake_plex_stop(). */
const char  *fake_plex_get_url            (FakePlex            *self);
guint16      fake_plex_get_port           (FakePlex            *self);

/* The token every request but GET /identity must carry (default
 * FAKE_PLEX_DEFAULT_TOKEN); NULL lets every request through. */
const char  *fake_plex_get_token          (FakePlex            *self);
void         fake_plex_set_token          (FakePlex            *self,
                                           const char          *token);
void         fake_plex_set_version        (FakePlex            *self,
                                           const char          *version);
void         fake_plex_set_friendly_name  (FakePlex            *self,
                                           const char          *name);
/* 40 lower-case hex digits, random per FakePlex. */
const char  *fake_plex_get_machine_identifier (FakePlex        *self);

/* Libraries. @type is "movie", "show", "artist" or "photo" (agent and
 * scanner follow from it); @locations is a NULL-terminated array of UTF-8
 * paths, each given the next Location id. The same @key again replaces
 * that library in place. Clearing stops their scans. */
void         fake_plex_clear_sections     (FakePlex            *self);
void         fake_plex_add_section        (FakePlex            *self,
                                           const char          *key,
                                           const char          *type,
                                           const char          *title,
                                           const char * const  *locations);

/* How long a simulated scan runs (default 500 ms). */
void         fake_plex_set_scan_duration  (FakePlex            *self,
                                           guint                milliseconds);
/* TRUE while a simulated scan of section @key runs. */
gboolean     fake_plex_is_scanning        (FakePlex            *self,
                                           const char          *key);
/* The uuid of the activity of the running scan of section @key, or NULL. */
char        *fake_plex_dup_activity_uuid  (FakePlex            *self,
                                           const char          *key);

/* Applies to every request from now on, /identity included, until
 * FAKE_PLEX_FAULT_NONE. A fault replaces the normal answer, token check
 * included, and has no other effect (no scan starts or stops). The bodies
 * of the 200 faults are XML or JSON as the Accept header asks. */
void         fake_plex_set_fault          (FakePlex            *self,
                                           FakePlexFault        fault);

/* Off: the WebSocket upgrade gets 404, as from a server or proxy without
 * WebSocket support (default on). Connected clients stay connected. */
void         fake_plex_set_websocket_enabled (FakePlex         *self,
                                              gboolean          enabled);
/* Closes every notification WebSocket (close code 1001, "going away"),
 * as a restarting server would. fake_plex_stop() drops them without a
 * close handshake. */
void         fake_plex_close_websockets   (FakePlex            *self);
/* How many notification WebSockets are connected (closing ones not
 * counted). */
guint        fake_plex_get_n_websockets   (FakePlex            *self);
/* When the last `ended` notification was sent to at least one client, in
 * g_get_monotonic_time() microseconds, taken just before the frame was
 * written; 0 before the first. */
gint64       fake_plex_get_last_ended_time (FakePlex           *self);

/* Every request received so far (element-type FakePlexRequest), oldest
 * first. Transfer none: the array belongs to @self and changes as requests
 * arrive or are cleared. The signal "request-received" (void handler
 * (FakePlex *, const FakePlexRequest *, gpointer)) is emitted for each one
 * as it is recorded, before it is answered. */
GPtrArray   *fake_plex_get_requests       (FakePlex            *self);
void         fake_plex_clear_requests     (FakePlex            *self);
/* The requests whose path is @path and whose method is @method (any method
 * when @method is NULL): a new array of borrowed pointers. */
GPtrArray   *fake_plex_find_requests      (FakePlex            *self,
                                           const char          *method,
                                           const char          *path);

G_END_DECLS
