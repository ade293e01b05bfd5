/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-core.h"

G_BEGIN_DECLS

#define SPYGLASS_TYPE_NOTIFIER (spyglass_notifier_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassNotifier, spyglass_notifier, SPYGLASS, NOTIFIER, GObject)

/*
 * Desktop notifications for the scan queue (GIO only: GNotification).
 *
 * One notification per batch: the requests Plex accepted for a library
 * while its scan runs are told together once all of them have finished,
 * with the library as the title and what happened as the body:
 *
 *   Music   Pink Floyd/The Dark Side of the Moon scanned   (one folder)
 *   Music   3 folders scanned                              (several)
 *   Music   Whole library scanned                          (a library scan)
 *   Music   Metadata of … refreshed                        (forced refreshes)
 *
 * A folder is named by its last two components (artist/album): the
 * notifier does not know the library's Locations.  The id is
 * "library-KEY", so a newer batch of a library replaces the older one.
 *
 * Failures, titled "Plex scan failed": a request that finally failed
 * ("Pink Floyd/The Dark Side of the Moon: Library section not found",
 * id "failed"); the queue pausing on an invalid token, a 403 or a
 * certificate (the reason as the body, an Open Preferences button that
 * activates "app.preferences", id "paused"; told once until a scan goes
 * through again).  While Plex cannot be reached and the first retry has
 * failed too, one "Plex scans are waiting" notification ("Cannot reach
 * Plex server. Spyglass keeps retrying.", id "waiting") until a scan
 * goes through again, which withdraws it and the pause's.
 *
 * Clicking a notification activates "app.show-window".  The settings
 * notify-success and notify-failure are read when a notification is due.
 * Nothing is sent while @application is not registered (or is remote).
 */
SpyglassNotifier *spyglass_notifier_new (GApplication  *application,
                                         SpyglassQueue *queue,
                                         GSettings     *settings);

G_END_DECLS
