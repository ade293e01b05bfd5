/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "spyglass-preferences-window.h"

G_BEGIN_DECLS

/* For the UI tests: what the Add Folder… chooser's response does with the
 * chosen folders (element-type GFile). */
void spyglass_preferences_window_add_watch_folders (SpyglassPreferencesWindow *self,
                                                    GListModel                *folders);

G_END_DECLS
