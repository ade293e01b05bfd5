/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What GET / says about the server (Test Connection). */
typedef struct
{
  char *friendly_name;       /* friendlyName, may be NULL */
  char *version;             /* version, e.g. "1.40.0.7998-c29d4c0c8"; may be NULL */
  char *machine_identifier;  /* machineIdentifier, may be NULL */
  char *platform;            /* platform, may be NULL */
  char *platform_version;    /* platformVersion, may be NULL */
} SpyglassServerInfo;

#define SPYGLASS_TYPE_SERVER_INFO (spyglass_server_info_get_type ())
GType               spyglass_server_info_get_type (void) G_GNUC_CONST;
SpyglassServerInfo *spyglass_server_info_copy     (const SpyglassServerInfo *info);
void                spyglass_server_info_free     (SpyglassServerInfo       *info);
/* The version as people quote it: "1.40.0.7998-c29d4c0c8" → "1.40.0".
 * NULL when the server did not say. */
char               *spyglass_server_info_dup_short_version (const SpyglassServerInfo *info);

/* One row of GET /library/sections.  Reference counted, immutable after
 * parsing, so routes and queue entries can share it. */
typedef struct
{
  /*< private >*/
  gatomicrefcount ref_count;
  /*< public >*/
  char      *key;         /* section id, e.g. "3" (a string in XML and JSON) */
  char      *type;        /* "artist", "movie", "show", "photo", … */
  char      *title;
  char      *agent;       /* may be NULL */
  char      *scanner;     /* may be NULL */
  gboolean   refreshing;  /* the section is being scanned right now */
  GStrv      locations;   /* every Location@path, in server order; never NULL */
} SpyglassSection;

#define SPYGLASS_TYPE_SECTION (spyglass_section_get_type ())
GType            spyglass_section_get_type (void) G_GNUC_CONST;
/* Takes copies of every argument; @locations may be NULL (no folders). */
SpyglassSection *spyglass_section_new      (const char         *key,
                                            const char         *type,
                                            const char         *title,
                                            const char * const *locations);
SpyglassSection *spyglass_section_ref      (SpyglassSection    *section);
void             spyglass_section_unref    (SpyglassSection    *section);

/* One entry of GET /activities. */
typedef struct
{
  char     *uuid;
  char     *type;         /* e.g. "library.update.section" */
  char     *title;        /* may be NULL */
  char     *subtitle;     /* may be NULL */
  int       progress;     /* 0–100, or -1 when unknown/indeterminate */
  char     *section_key;  /* Context@librarySectionID, or NULL */
  gboolean  cancellable;
} SpyglassActivity;

#define SPYGLASS_TYPE_ACTIVITY (spyglass_activity_get_type ())
GType             spyglass_activity_get_type (void) G_GNUC_CONST;
SpyglassActivity *spyglass_activity_copy     (const SpyglassActivity *activity);
void              spyglass_activity_free     (SpyglassActivity       *activity);

/* What happened to an activity, as a notification frame says. */
typedef enum
{
  SPYGLASS_ACTIVITY_EVENT_STARTED,
  SPYGLASS_ACTIVITY_EVENT_UPDATED,
  SPYGLASS_ACTIVITY_EVENT_ENDED,
} SpyglassActivityEventKind;

/* One entry of an `activity` notification (plex-api.md §5.3). */
typedef struct
{
  SpyglassActivityEventKind  kind;
  SpyglassActivity          *activity;  /* owned, never NULL */
} SpyglassActivityEvent;

#define SPYGLASS_TYPE_ACTIVITY_EVENT (spyglass_activity_event_get_type ())
GType                  spyglass_activity_event_get_type (void) G_GNUC_CONST;
SpyglassActivityEvent *spyglass_activity_event_copy     (const SpyglassActivityEvent *event);
void                   spyglass_activity_event_free     (SpyglassActivityEvent       *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassServerInfo, spyglass_server_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassSection, spyglass_section_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassActivity, spyglass_activity_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpyglassActivityEvent, spyglass_activity_event_free)

G_END_DECLS
