/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "spyglass-core.h"

G_BEGIN_DECLS

#define SPYGLASS_TYPE_NOTIFIER (spyglass_notifier_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassNotifier, spyglass_notifier, SPYGLASS, NOTIFIER, GObject)

/*
 * Desktop notifications for the scan queue: one GNotification per batch
 * when Plex has finished scanning it ("Music: Pink Floyd/The Dark Side of
 * the Moon scanned"), or when it failed ("Plex scan failed: Invalid Plex
 * token", with an Open Preferences button).  Clicking one activates
 * "app.show-window"; the button "app.preferences".  Honours the
 * notify-success and notify-failure settings.
 */
SpyglassNotifier *spyglass_notifier_new (GApplication  *application,
                                         SpyglassQueue *queue,
                                         GSettings     *settings);

G_END_DECLS
