/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SPYGLASS_WATCHER_DEFAULT_SETTLE_DELAY      20000  /* milliseconds */
#define SPYGLASS_WATCHER_DEFAULT_ROOT_INTERVAL     2000   /* milliseconds */
#define SPYGLASS_WATCHER_DEFAULT_FALLBACK_INTERVAL 30000  /* milliseconds */

#define SPYGLASS_TYPE_WATCHER (spyglass_watcher_get_type ())
G_DECLARE_FINAL_TYPE (SpyglassWatcher, spyglass_watcher, SPYGLASS, WATCHER, GObject)

/*
 * Watches folder trees ("roots") and reports the folders whose content
 * changed, once it has stopped changing.  Linux only: one inotify file
 * descriptor for every folder of every root (a GFileMonitor per folder is
 * too heavy for 50,000 folders), read in the thread-default main context
 * of spyglass_watcher_new().
 *
 * What counts as a change of folder F: a file in F created, written,
 * closed after writing, changed in its attributes, deleted or renamed; a
 * subfolder of F deleted or renamed away (a change of F: that is how Plex
 * notices a removal); a subfolder created in or moved into F (a change of
 * the new folder, whose whole content is new: an album copied in as a
 * tree).  Names starting with '.' (".nfs*" included) and ending in
 * ".part", ".tmp" or "~" are ignored, as are the paths given to
 * spyglass_watcher_add_ignored_path() (Spyglass's own state).
 *
 * Settling: changed folders are pending until nothing under them changed
 * for the settle delay; then "folder-settled" reports each.  Pending
 * folders merge into the narrowest folder that holds their changes:
 *   - a folder pending inside another pending folder is absorbed by it;
 *   - two sibling folders pending (two albums of one artist) are replaced
 *     by their parent (the artist), unless that parent is a root (a
 *     library folder: two new artists stay two scans, and the scan queue's
 *     threshold decides about a whole-library scan);
 *   - merging repeats upwards (two artists of one genre folder).
 * A change directly in a root is reported as the root.
 *
 * Mount safety: a root that disappears (deleted, renamed, unmounted —
 * IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, or found missing, not a
 * folder, or on another device than when it was added; a root that was a
 * mount point is missing while it is not one) is paused: its watches and
 * pending changes are dropped, "root-paused" is emitted, and nothing is
 * reported for it.  Roots are checked every root interval; a paused root
 * that is back is watched again ("root-resumed") without reporting
 * anything: appearing is not a change.  Before a folder is reported its
 * root is checked once more.
 *
 * Watch limit: when the kernel refuses a watch (ENOSPC: more folders than
 * fs.inotify.max_user_watches), "watch-limit-reached" is emitted once with
 * a message saying how to raise it, and the folders left unwatched are
 * checked every fallback interval instead: a folder whose modification
 * time changed is listed, new subfolders are new content, and a change to
 * its set of file names is a change of it.  (This catches new and removed
 * files and folders, not a file rewritten in place.)  Such a change
 * settles after the settle delay plus one fallback interval, so that a
 * copy still running is seen again before it is reported.  When the event
 * queue overflows, every folder is checked that way once.
 *
 * Folder checks run in the main context: a hard-mounted network share that
 * hangs would stall it.
 */
SpyglassWatcher *spyglass_watcher_new                 (void);

/* Starts watching @path and everything under it.  The folders are listed
 * in the main loop a slice at a time; "ready" turns TRUE when every root
 * is listed.  A missing @path is a paused root that is waited for.  A root
 * inside another root is ignored; fails only when inotify cannot be set
 * up. */
gboolean         spyglass_watcher_add_root            (SpyglassWatcher  *self,
                                                       const char       *path,
                                                       GError          **error);
void             spyglass_watcher_remove_root         (SpyglassWatcher  *self,
                                                       const char       *path);
/* Never watched nor reported: @path and everything below it. */
void             spyglass_watcher_add_ignored_path    (SpyglassWatcher  *self,
                                                       const char       *path);

void             spyglass_watcher_set_settle_delay    (SpyglassWatcher  *self,
                                                       guint             milliseconds);
guint            spyglass_watcher_get_settle_delay    (SpyglassWatcher  *self);
/* How often roots are checked (and paused ones looked for), and how often
 * unwatched folders are checked (defaults above). */
void             spyglass_watcher_set_poll_intervals  (SpyglassWatcher  *self,
                                                       guint             root_ms,
                                                       guint             fallback_ms);
/* Adds at most @max_watches inotify watches, as if the kernel's limit were
 * reached there (0: no limit of its own).  For tests and benchmarks. */
void             spyglass_watcher_set_max_watches     (SpyglassWatcher  *self,
                                                       guint             max_watches);

/* TRUE when every root has been listed once. */
gboolean         spyglass_watcher_get_ready           (SpyglassWatcher  *self);
/* Folders watched with inotify, and folders checked by the fallback. */
guint            spyglass_watcher_get_n_watched       (SpyglassWatcher  *self);
guint            spyglass_watcher_get_n_polled        (SpyglassWatcher  *self);
gboolean         spyglass_watcher_get_root_paused     (SpyglassWatcher  *self,
                                                       const char       *path);

/* TRUE for a file or folder name that is never a change. */
gboolean         spyglass_watcher_name_is_ignored     (const char       *name);

G_END_DECLS
