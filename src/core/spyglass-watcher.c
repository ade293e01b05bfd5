/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spyglass-watcher.c: watch folder trees with inotify, report what settled
 *
 * Every watched folder is a Dir in a tree per root: a parent pointer, a
 * list of subfolders and its own name only (the top Dir's name is the
 * root's path), so 50,000 folders cost a few MiB.  An inotify watch
 * descriptor leads to its Dir through one hash table.
 *
 * A pending change is a Pending on the Dir it is about; every Dir counts
 * the Pendings of its children and below, so that noting a change walks
 * only the ancestors of its folder (see note_change()).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spyglass-watcher.h"

#define WATCH_MASK (IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE | \
                    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* Dir.wd before the folder is listed, and for one without a watch. */
#define WD_NONE   0
#define WD_POLLED (-1)

/* The initial listing runs in slices of about this long. */
#define WALK_SLICE_USEC (10 * 1000)
/* Reads of the inotify descriptor per dispatch, so a flood cannot starve
 * the main loop. */
#define MAX_READS_PER_DISPATCH 16
#define EVENT_BUFFER_SIZE (64 * 1024)

typedef struct _Dir Dir;
typedef struct _Pending Pending;

struct _Dir
{
  Dir      *parent;             /* NULL for a root's top folder */
  Dir      *first_child;        /* subfolders, owned */
  Dir      *next_sibling;
  Pending  *pending;            /* the change pending here, or NULL */
  gint64    mtime_ns;           /* when last listed */
  guint32   names_hash;         /* the file names when last listed */
  int       wd;                 /* inotify watch, WD_NONE or WD_POLLED */
  guint     n_pending_children; /* children with a Pending */
  guint     n_pending_below;    /* Pendings anywhere below */
  guint     queued : 1;         /* in the initial walk's queue */
  guint     dead : 1;           /* forgotten while queued: freed when dequeued */
  char      name[];
};

struct _Pending
{
  Dir    *dir;
  gint64  deadline;  /* monotonic µs */
  guint   index;     /* in SpyglassWatcher.pending */
};

typedef struct
{
  char     *path;
  Dir      *top;               /* NULL while paused */
  dev_t     dev;
  ino_t     ino;
  gboolean  was_mount_point;   /* on another device than its parent folder */
  gboolean  paused;
} Root;

struct _SpyglassWatcher
{
  GObject       parent_instance;

  GMainContext *context;        /* where every source runs */
  int           fd;             /* inotify, -1 until the first root */
  GSource      *fd_source;
  GHashTable   *dirs_by_wd;     /* wd → Dir (borrowed: the roots own them) */
  GPtrArray    *roots;          /* Root */
  GPtrArray    *ignored;        /* normalized paths (char *) */
  GPtrArray    *pending;        /* Pending, owned (freed by pending_drop()) */
  GQueue        walk;           /* Dir to list, of the initial walks */
  GSource      *walk_source;
  GSource      *settle_source;
  gint64        settle_at;
  GSource      *root_source;
  GSource      *fallback_source;
  GSource      *limit_source;   /* emits "watch-limit-reached" */
  char         *buffer;         /* EVENT_BUFFER_SIZE bytes */

  guint         settle_delay;   /* ms */
  guint         root_interval;  /* ms */
  guint         fallback_interval;  /* ms */
  guint         max_watches;    /* 0: no limit of our own */
  guint         n_watched;
  guint         n_polled;
  gboolean      limit_reported;
  gboolean      ready;
};

G_DEFINE_FINAL_TYPE (SpyglassWatcher, spyglass_watcher, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SETTLE_DELAY,
  PROP_READY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FOLDER_SETTLED,
  ROOT_PAUSED,
  ROOT_RESUMED,
  WATCH_LIMIT_REACHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void note_change (SpyglassWatcher *self, Dir *dir, gint64 deadline);
static void pause_root (SpyglassWatcher *self, Root *root, const char *reason);

gboolean
spyglass_watcher_name_is_ignored (const char *name)
{
  gsize len;

  g_return_val_if_fail (name != NULL, TRUE);

  /* Dot-files and dot-folders, ".nfs*" (NFS's silly renames) among them. */
  if (name[0] == '.')
    return TRUE;

  len = strlen (name);
  if (len > 0 && name[len - 1] == '~')
    return TRUE;
  if (len >= 5 && g_ascii_strcasecmp (name + len - 5, ".part") == 0)
    return TRUE;
  if (len >= 4 && g_ascii_strcasecmp (name + len - 4, ".tmp") == 0)
    return TRUE;

  return FALSE;
}

static GSource *
add_timeout (SpyglassWatcher *self,
             guint            milliseconds,
             GSourceFunc      func)
{
  GSource *source = g_timeout_source_new (milliseconds);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Dirs */

static Dir *
dir_new (Dir        *parent,
         const char *name)
{
  gsize len = strlen (name);
  Dir *dir = g_malloc0 (sizeof (Dir) + len + 1);

  memcpy (dir->name, name, len + 1);
  dir->parent = parent;
  if (parent != NULL)
    {
      dir->next_sibling = parent->first_child;
      parent->first_child = dir;
    }
  return dir;
}

static void
dir_append_path (const Dir *dir,
                 GString   *path)
{
  if (dir->parent != NULL)
    {
      dir_append_path (dir->parent, path);
      if (path->len == 0 || path->str[path->len - 1] != '/')
        g_string_append_c (path, '/');
    }
  g_string_append (path, dir->name);
}

static char *
dir_dup_path (const Dir *dir)
{
  GString *path = g_string_sized_new (128);

  dir_append_path (dir, path);
  return g_string_free (path, FALSE);
}

static Dir *
dir_find_child (Dir        *dir,
                const char *name)
{
  for (Dir *child = dir->first_child; child != NULL; child = child->next_sibling)
    if (strcmp (child->name, name) == 0)
      return child;
  return NULL;
}

/* Takes @dir out of its parent's subfolders (it keeps ->parent, for the
 * pending counts, until it is forgotten). */
static void
dir_unlink (Dir *dir)
{
  Dir **link;

  if (dir->parent == NULL)
    return;

  for (link = &dir->parent->first_child; *link != NULL; link = &(*link)->next_sibling)
    if (*link == dir)
      {
        *link = dir->next_sibling;
        dir->next_sibling = NULL;
        return;
      }
}

static Root *
find_root_of_top (SpyglassWatcher *self,
                  Dir             *top)
{
  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);

      if (root->top == top)
        return root;
    }
  return NULL;
}

/* Pendings */

static void
pending_count (Dir *dir,
               int  delta)
{
  if (dir->parent != NULL)
    dir->parent->n_pending_children += delta;
  for (Dir *ancestor = dir->parent; ancestor != NULL; ancestor = ancestor->parent)
    ancestor->n_pending_below += delta;
}

static void
pending_drop (SpyglassWatcher *self,
              Pending         *pending)
{
  Pending *last = g_ptr_array_index (self->pending, self->pending->len - 1);

  pending_count (pending->dir, -1);
  pending->dir->pending = NULL;

  self->pending->pdata[pending->index] = last;
  last->index = pending->index;
  g_ptr_array_set_size (self->pending, self->pending->len - 1);
  g_free (pending);
}

/* Drops every Pending below @dir; returns the latest of their deadlines. */
static gint64
pending_absorb_below (SpyglassWatcher *self,
                      Dir             *dir)
{
  gint64 latest = 0;

  for (Dir *child = dir->first_child; child != NULL && dir->n_pending_below > 0;
       child = child->next_sibling)
    {
      if (child->pending != NULL)
        {
          latest = MAX (latest, child->pending->deadline);
          pending_drop (self, child->pending);
        }
      if (child->n_pending_below > 0)
        latest = MAX (latest, pending_absorb_below (self, child));
    }

  return latest;
}

static gboolean on_settle (gpointer user_data);

static void
schedule_settle (SpyglassWatcher *self,
                 gint64           deadline)
{
  gint64 now;

  if (self->settle_source != NULL && self->settle_at <= deadline)
    return;

  clear_source (&self->settle_source);
  now = g_get_monotonic_time ();
  self->settle_at = deadline;
  self->settle_source = add_timeout (self, deadline > now ? (deadline - now + 999) / 1000 : 0,
                                     on_settle);
}

/* @dir changed; nothing may be reported for it before @deadline. */
static void
note_change (SpyglassWatcher *self,
             Dir             *dir,
             gint64           deadline)
{
  Dir *target = dir;
  Pending *pending;

  /* Pending here or above: that folder holds this change too. */
  for (Dir *ancestor = dir; ancestor != NULL; ancestor = ancestor->parent)
    if (ancestor->pending != NULL)
      {
        ancestor->pending->deadline = MAX (ancestor->pending->deadline, deadline);
        return;
      }

  /* A sibling pending: their parent holds both, unless it is a root. */
  while (target->parent != NULL && target->parent->parent != NULL &&
         target->parent->n_pending_children > 0)
    target = target->parent;

  /* Pending below: absorbed. */
  if (target->n_pending_below > 0)
    deadline = MAX (deadline, pending_absorb_below (self, target));

  pending = g_new0 (Pending, 1);
  pending->dir = target;
  pending->deadline = deadline;
  pending->index = self->pending->len;
  g_ptr_array_add (self->pending, pending);
  target->pending = pending;
  pending_count (target, 1);

  schedule_settle (self, deadline);
}

static gint64
change_deadline (SpyglassWatcher *self,
                 gint64           now)
{
  return now + (gint64) self->settle_delay * 1000;
}

/* A change the fallback found: seen again one fallback interval later at
 * the latest, before it may settle. */
static gint64
polled_change_deadline (SpyglassWatcher *self,
                        gint64           now)
{
  return now + ((gint64) self->settle_delay + self->fallback_interval) * 1000;
}

/* Forgetting folders */

/* Frees @dir and everything below it; the caller has unlinked it. */
static void
forget_dir (SpyglassWatcher *self,
            Dir             *dir)
{
  Dir *child = dir->first_child;

  while (child != NULL)
    {
      Dir *next = child->next_sibling;

      forget_dir (self, child);
      child = next;
    }
  dir->first_child = NULL;

  if (dir->pending != NULL)
    pending_drop (self, dir->pending);

  if (dir->wd > 0)
    {
      /* Fails (harmlessly) for a folder already deleted. */
      inotify_rm_watch (self->fd, dir->wd);
      g_hash_table_remove (self->dirs_by_wd, GINT_TO_POINTER (dir->wd));
      self->n_watched--;
    }
  else if (dir->wd == WD_POLLED)
    self->n_polled--;
  dir->wd = WD_NONE;

  if (dir->queued)
    {
      dir->dead = TRUE;
      dir->parent = NULL;
    }
  else
    g_free (dir);
}

static void
forget_subfolder (SpyglassWatcher *self,
                  Dir             *dir)
{
  dir_unlink (dir);
  forget_dir (self, dir);
}

/* Watching and listing */

static gboolean
emit_watch_limit (gpointer user_data)
{
  SpyglassWatcher *self = user_data;
  g_autofree char *limit = NULL;
  g_autofree char *message = NULL;

  if (!g_file_get_contents ("/proc/sys/fs/inotify/max_user_watches", &limit, NULL, NULL))
    limit = g_strdup ("?");
  g_strstrip (limit);

  message = g_strdup_printf (_("Cannot watch more than %u folders: the kernel’s limit "
                               "fs.inotify.max_user_watches (%s, for all programs of this "
                               "user) is reached. The other folders are checked for changes "
                               "every %u s instead. To watch them all, raise the limit, for "
                               "example: echo fs.inotify.max_user_watches=524288 | sudo tee "
                               "/etc/sysctl.d/90-inotify.conf && sudo sysctl --system"),
                             self->n_watched, limit,
                             MAX (1, self->fallback_interval / 1000));
  g_clear_pointer (&self->limit_source, g_source_unref);
  g_signal_emit (self, signals[WATCH_LIMIT_REACHED], 0, message);
  return G_SOURCE_REMOVE;
}

static gboolean on_fallback (gpointer user_data);

static void
report_watch_limit (SpyglassWatcher *self)
{
  if (self->limit_reported)
    return;
  self->limit_reported = TRUE;

  /* Later: this runs in the middle of a listing. */
  self->limit_source = g_idle_source_new ();
  g_source_set_callback (self->limit_source, emit_watch_limit, self, NULL);
  g_source_attach (self->limit_source, self->context);
}

/* Gives @dir a watch, or makes it polled past the watch limit.  FALSE when
 * it cannot be watched at all (gone, not a folder, no permission, or a
 * folder watched already: a bind mount or a loop). */
static gboolean
watch_dir (SpyglassWatcher *self,
           Dir             *dir,
           const char      *path)
{
  int wd;

  if (self->max_watches > 0 && self->n_watched >= self->max_watches)
    {
      wd = -1;
      errno = ENOSPC;
    }
  else
    wd = inotify_add_watch (self->fd, path, WATCH_MASK | (dir->parent != NULL ? IN_DONT_FOLLOW : 0));

  if (wd < 0)
    {
      if (errno != ENOSPC)
        {
          g_debug ("Cannot watch %s: %s", path, g_strerror (errno));
          return FALSE;
        }

      report_watch_limit (self);
      dir->wd = WD_POLLED;
      self->n_polled++;
      if (self->fallback_source == NULL)
        self->fallback_source = add_timeout (self, self->fallback_interval, on_fallback);
      return TRUE;
    }

  if (g_hash_table_contains (self->dirs_by_wd, GINT_TO_POINTER (wd)))
    {
      g_debug ("%s is a folder watched already; not descending", path);
      return FALSE;
    }

  dir->wd = wd;
  g_hash_table_insert (self->dirs_by_wd, GINT_TO_POINTER (wd), dir);
  self->n_watched++;
  return TRUE;
}

static gboolean
path_is_ignored (SpyglassWatcher *self,
                 const char      *path)
{
  for (guint i = 0; i < self->ignored->len; i++)
    {
      const char *ignored = g_ptr_array_index (self->ignored, i);
      gsize len = strlen (ignored);

      if (strncmp (path, ignored, len) == 0 && (path[len] == '\0' || path[len] == '/'))
        return TRUE;
    }
  return FALSE;
}

static gint64
stat_mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
}

typedef enum
{
  LIST_OK,
  LIST_GONE,     /* not there any more, or not readable */
  LIST_IGNORED,
} ListResult;

/* Watches @dir (if it has no watch yet) and lists it.  Subfolders not
 * known yet become Dirs pushed on @todo (known ones are kept, vanished
 * ones forgotten).  *@changed (when not NULL) tells whether a subfolder
 * vanished or the names of its files changed since the last listing.  On
 * LIST_GONE and LIST_IGNORED the caller forgets @dir. */
static ListResult
list_dir (SpyglassWatcher *self,
          Dir             *dir,
          GQueue          *todo,
          gboolean        *changed)
{
  g_autofree char *path = dir_dup_path (dir);
  g_autoptr(GHashTable) known = NULL;
  struct dirent *entry;
  struct stat st;
  gboolean removed = FALSE;
  guint32 names_hash = 0;
  DIR *stream;
  int fd;

  if (changed != NULL)
    *changed = FALSE;

  if (self->ignored->len > 0 && path_is_ignored (self, path))
    return LIST_IGNORED;

  if (dir->wd == WD_NONE && !watch_dir (self, dir, path))
    return LIST_GONE;

  /* After the watch: a change made while listing is not lost. */
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (dir->parent != NULL ? O_NOFOLLOW : 0));
  if (fd < 0)
    return LIST_GONE;
  if (fstat (fd, &st) != 0 || (stream = fdopendir (fd)) == NULL)
    {
      close (fd);
      return LIST_GONE;
    }

  /* A folder listed before: which subfolders are still there. */
  if (dir->first_child != NULL)
    {
      known = g_hash_table_new (g_str_hash, g_str_equal);
      for (Dir *child = dir->first_child; child != NULL; child = child->next_sibling)
        g_hash_table_insert (known, child->name, child);
    }

  while ((entry = readdir (stream)) != NULL)
    {
      const char *name = entry->d_name;
      gboolean is_dir;
      Dir *child;

      if (spyglass_watcher_name_is_ignored (name))
        continue;  /* "." and ".." too */

      if (entry->d_type == DT_UNKNOWN)
        {
          struct stat child_st;

          is_dir = fstatat (dirfd (stream), name, &child_st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISDIR (child_st.st_mode);
        }
      else
        is_dir = entry->d_type == DT_DIR;

      if (!is_dir)
        {
          /* Order-independent. */
          names_hash += g_str_hash (name);
          continue;
        }

      if (known != NULL && g_hash_table_steal (known, name))
        continue;

      child = dir_new (dir, name);
      g_queue_push_tail (todo, child);
    }
  closedir (stream);

  /* What is left in @known is gone. */
  if (known != NULL && g_hash_table_size (known) > 0)
    {
      GHashTableIter iter;
      Dir *child;

      removed = TRUE;
      g_hash_table_iter_init (&iter, known);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &child))
        {
          g_hash_table_iter_steal (&iter);
          forget_subfolder (self, child);
        }
    }

  if (changed != NULL && (removed || names_hash != dir->names_hash))
    *changed = TRUE;
  dir->names_hash = names_hash;
  dir->mtime_ns = stat_mtime_ns (&st);

  return LIST_OK;
}

/* Lists @dir and everything below it now (a folder that just appeared).
 * FALSE when @dir itself is gone or ignored, and then forgotten. */
static gboolean
list_tree_now (SpyglassWatcher *self,
               Dir             *dir)
{
  GQueue todo = G_QUEUE_INIT;
  Dir *next;

  switch (list_dir (self, dir, &todo, NULL))
    {
    case LIST_OK:
      break;
    case LIST_GONE:
    case LIST_IGNORED:
    default:
      forget_subfolder (self, dir);
      return FALSE;
    }

  while ((next = g_queue_pop_head (&todo)) != NULL)
    if (list_dir (self, next, &todo, NULL) != LIST_OK)
      forget_subfolder (self, next);

  return TRUE;
}

static void
set_ready (SpyglassWatcher *self,
           gboolean         ready)
{
  if (self->ready == ready)
    return;
  self->ready = ready;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

static gboolean
on_walk (gpointer user_data)
{
  SpyglassWatcher *self = user_data;
  gint64 until = g_get_monotonic_time () + WALK_SLICE_USEC;
  guint n = 0;
  Dir *dir;

  while ((dir = g_queue_pop_head (&self->walk)) != NULL)
    {
      GQueue todo = G_QUEUE_INIT;
      Dir *child;

      dir->queued = FALSE;
      if (dir->dead)
        {
          g_free (dir);
          continue;
        }

      if (list_dir (self, dir, &todo, NULL) != LIST_OK)
        {
          Root *root = dir->parent == NULL ? find_root_of_top (self, dir) : NULL;

          if (root != NULL)
            {
              pause_root (self, root, _("The folder cannot be read"));
              break;
            }
          forget_subfolder (self, dir);
        }

      while ((child = g_queue_pop_head (&todo)) != NULL)
        {
          child->queued = TRUE;
          g_queue_push_tail (&self->walk, child);
        }

      /* The clock is read every few folders only. */
      if (++n % 32 == 0 && g_get_monotonic_time () >= until)
        break;
    }

  if (g_queue_is_empty (&self->walk))
    {
      g_clear_pointer (&self->walk_source, g_source_unref);
      set_ready (self, TRUE);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
queue_walk (SpyglassWatcher *self,
            Dir             *dir)
{
  dir->queued = TRUE;
  g_queue_push_tail (&self->walk, dir);
  set_ready (self, FALSE);

  if (self->walk_source == NULL)
    {
      self->walk_source = g_idle_source_new ();
      g_source_set_priority (self->walk_source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (self->walk_source, on_walk, self, NULL);
      g_source_attach (self->walk_source, self->context);
    }
}

/* Checking modification times (the fallback, and after an overflow) */

/* Lists @dir again if its modification time changed: new subfolders are
 * changes of their own, other differences a change of @dir.  FALSE when
 * @dir is gone, and then forgotten. */
static gboolean
check_dir (SpyglassWatcher *self,
           Dir             *dir,
           gint64           deadline)
{
  g_autofree char *path = dir_dup_path (dir);
  g_autoptr(GPtrArray) new_dirs = NULL;
  GQueue todo = G_QUEUE_INIT;
  struct stat st;
  gboolean changed = FALSE;
  Dir *next;

  if ((dir->parent != NULL ? lstat (path, &st) : stat (path, &st)) != 0 || !S_ISDIR (st.st_mode))
    {
      Dir *parent = dir->parent;

      /* A root is the root checks' business. */
      if (parent == NULL)
        return TRUE;
      forget_subfolder (self, dir);
      note_change (self, parent, deadline);
      return FALSE;
    }

  if (stat_mtime_ns (&st) == dir->mtime_ns)
    return TRUE;

  if (list_dir (self, dir, &todo, &changed) != LIST_OK)
    {
      /* Gone between stat() and open(): the next check sees it. */
      while ((next = g_queue_pop_head (&todo)) != NULL)
        forget_subfolder (self, next);
      return TRUE;
    }

  /* New subfolders: listed whole, then each is a change of its own. */
  new_dirs = g_ptr_array_new ();
  while ((next = g_queue_pop_head (&todo)) != NULL)
    if (list_tree_now (self, next))
      g_ptr_array_add (new_dirs, next);

  if (changed)
    note_change (self, dir, deadline);
  for (guint i = 0; i < new_dirs->len; i++)
    note_change (self, g_ptr_array_index (new_dirs, i), deadline);

  return TRUE;
}

/* Checks @dir and below: with @polled_only, the folders without a watch. */
static void
check_tree (SpyglassWatcher *self,
            Dir             *dir,
            gboolean         polled_only,
            gint64           deadline)
{
  Dir *child;

  if ((!polled_only || dir->wd == WD_POLLED) && !check_dir (self, dir, deadline))
    return;

  child = dir->first_child;
  while (child != NULL)
    {
      Dir *next = child->next_sibling;

      check_tree (self, child, polled_only, deadline);
      child = next;
    }
}

static void
check_roots_trees (SpyglassWatcher *self,
                   gboolean         polled_only,
                   gint64           deadline)
{
  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);

      if (root->top != NULL)
        check_tree (self, root->top, polled_only, deadline);
    }
}

static gboolean
on_fallback (gpointer user_data)
{
  SpyglassWatcher *self = user_data;

  check_roots_trees (self, TRUE, polled_change_deadline (self, g_get_monotonic_time ()));

  if (self->n_polled == 0)
    {
      g_clear_pointer (&self->fallback_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Roots */

static gboolean
stat_parent_dev (const char *path,
                 dev_t      *dev)
{
  g_autofree char *parent = g_path_get_dirname (path);
  struct stat st;

  if (stat (parent, &st) != 0)
    return FALSE;
  *dev = st.st_dev;
  return TRUE;
}

static void
pause_root (SpyglassWatcher *self,
            Root            *root,
            const char      *reason)
{
  if (root->paused)
    return;

  g_debug ("Pausing %s: %s", root->path, reason);
  if (root->top != NULL)
    {
      Dir *top = g_steal_pointer (&root->top);

      forget_dir (self, top);
    }
  root->paused = TRUE;
  g_signal_emit (self, signals[ROOT_PAUSED], 0, root->path, reason);
}

/* Starts watching a root that is there.  FALSE when it is not (yet). */
static gboolean
try_start_root (SpyglassWatcher *self,
                Root            *root)
{
  struct stat st;
  dev_t parent_dev;
  gboolean mount_point;

  if (stat (root->path, &st) != 0 || !S_ISDIR (st.st_mode))
    return FALSE;

  mount_point = stat_parent_dev (root->path, &parent_dev) && parent_dev != st.st_dev;
  /* The empty folder of a share that is not mounted. */
  if (root->was_mount_point && !mount_point)
    return FALSE;

  root->dev = st.st_dev;
  root->ino = st.st_ino;
  root->was_mount_point = mount_point;
  root->top = dir_new (NULL, root->path);
  queue_walk (self, root->top);
  return TRUE;
}

/* Why @root, being watched, should not be, or NULL. */
static const char *
root_problem (Root *root)
{
  struct stat st;

  if (stat (root->path, &st) != 0)
    return _("The folder is missing");
  if (!S_ISDIR (st.st_mode))
    return _("It is not a folder any more");
  if (st.st_dev != root->dev || st.st_ino != root->ino)
    return _("The folder was unmounted or replaced");
  return NULL;
}

static gboolean
on_root_check (gpointer user_data)
{
  SpyglassWatcher *self = user_data;

  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);

      if (!root->paused)
        {
          const char *problem = root_problem (root);

          if (problem != NULL)
            pause_root (self, root, problem);
        }
      else if (try_start_root (self, root))
        {
          g_debug ("Resuming %s", root->path);
          root->paused = FALSE;
          g_signal_emit (self, signals[ROOT_RESUMED], 0, root->path);
        }
    }

  return G_SOURCE_CONTINUE;
}

/* Events */

static void
handle_event (SpyglassWatcher            *self,
              const struct inotify_event *event,
              gint64                      now)
{
  Dir *dir;
  Dir *child;

  if (event->mask & IN_Q_OVERFLOW)
    {
      g_debug ("The inotify queue overflowed: checking every folder");
      check_roots_trees (self, FALSE, change_deadline (self, now));
      return;
    }

  dir = g_hash_table_lookup (self->dirs_by_wd, GINT_TO_POINTER (event->wd));
  if (dir == NULL)
    return;

  if (event->mask & (IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
    {
      Dir *parent = dir->parent;

      if (parent == NULL)
        {
          Root *root = find_root_of_top (self, dir);

          if (root != NULL)
            pause_root (self, root,
                        event->mask & IN_UNMOUNT ? _("The folder was unmounted")
                        : event->mask & IN_MOVE_SELF ? _("The folder was moved away")
                        : _("The folder was deleted"));
          return;
        }

      /* The parent's IN_DELETE tells, or came already. */
      if (event->mask & IN_DELETE_SELF)
        return;

      forget_subfolder (self, dir);
      /* A file system mounted inside a root went away: not a change. */
      if (!(event->mask & IN_UNMOUNT))
        note_change (self, parent, change_deadline (self, now));
      return;
    }

  /* Events about the folder itself (IN_ATTRIB on it) change nothing. */
  if (event->len == 0 || event->name[0] == '\0' ||
      spyglass_watcher_name_is_ignored (event->name))
    return;

  if (!(event->mask & IN_ISDIR))
    {
      note_change (self, dir, change_deadline (self, now));
      return;
    }

  if (event->mask & (IN_CREATE | IN_MOVED_TO))
    {
      child = dir_find_child (dir, event->name);
      if (child == NULL)
        {
          child = dir_new (dir, event->name);
          if (!list_tree_now (self, child))
            return;
        }
      note_change (self, child, change_deadline (self, now));
    }
  else if (event->mask & (IN_DELETE | IN_MOVED_FROM))
    {
      child = dir_find_child (dir, event->name);
      if (child != NULL)
        forget_subfolder (self, child);
      note_change (self, dir, change_deadline (self, now));
    }
}

static gboolean
on_inotify (int          fd,
            GIOCondition condition,
            gpointer     user_data)
{
  SpyglassWatcher *self = user_data;

  for (guint reads = 0; reads < MAX_READS_PER_DISPATCH; reads++)
    {
      ssize_t len = read (fd, self->buffer, EVENT_BUFFER_SIZE);
      gint64 now;

      if (len < 0 && errno == EINTR)
        continue;
      if (len <= 0)
        break;

      now = g_get_monotonic_time ();
      for (char *p = self->buffer; p < self->buffer + len; )
        {
          const struct inotify_event *event = (const struct inotify_event *) p;

          handle_event (self, event, now);
          p += sizeof (struct inotify_event) + event->len;
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
ensure_inotify (SpyglassWatcher  *self,
                GError          **error)
{
  int saved_errno;

  if (self->fd >= 0)
    return TRUE;

  self->fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (self->fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot watch folders: %s"), g_strerror (saved_errno));
      return FALSE;
    }

  self->buffer = g_malloc (EVENT_BUFFER_SIZE);
  self->fd_source = g_unix_fd_source_new (self->fd, G_IO_IN);
  g_source_set_callback (self->fd_source, G_SOURCE_FUNC (on_inotify), self, NULL);
  g_source_attach (self->fd_source, self->context);

  self->root_source = add_timeout (self, self->root_interval, on_root_check);
  return TRUE;
}

/* Settling */

static gboolean
on_settle (gpointer user_data)
{
  SpyglassWatcher *self = user_data;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;

  g_clear_pointer (&self->settle_source, g_source_unref);

  /* Nothing of a root that is gone may be reported: check them first. */
  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);
      const char *problem;

      if (root->top != NULL &&
          (root->top->pending != NULL || root->top->n_pending_below > 0) &&
          (problem = root_problem (root)) != NULL)
        pause_root (self, root, problem);
    }

  for (guint i = 0; i < self->pending->len; )
    {
      Pending *pending = g_ptr_array_index (self->pending, i);

      if (pending->deadline > now)
        {
          next = MIN (next, pending->deadline);
          i++;
          continue;
        }

      g_ptr_array_add (paths, dir_dup_path (pending->dir));
      /* Swaps the last one in at i. */
      pending_drop (self, pending);
    }

  if (next != G_MAXINT64)
    schedule_settle (self, next);

  /* Last: a handler may change the watcher. */
  g_object_ref (self);
  for (guint i = 0; i < paths->len; i++)
    {
      char *path = g_ptr_array_index (paths, i);

      /* A folder deleted since: the nearest one still there changed. */
      while (!g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          char *slash = strrchr (path, '/');

          if (slash == NULL || slash == path)
            break;
          *slash = '\0';
        }
      g_debug ("Settled: %s", path);
      g_signal_emit (self, signals[FOLDER_SETTLED], 0, path);
    }
  g_object_unref (self);

  return G_SOURCE_REMOVE;
}

/* Public API */

SpyglassWatcher *
spyglass_watcher_new (void)
{
  return g_object_new (SPYGLASS_TYPE_WATCHER, NULL);
}

gboolean
spyglass_watcher_add_root (SpyglassWatcher  *self,
                           const char       *path,
                           GError          **error)
{
  g_autofree char *canonical = NULL;
  Root *root;

  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), FALSE);
  g_return_val_if_fail (path != NULL && path[0] != '\0', FALSE);

  if (!ensure_inotify (self, error))
    return FALSE;

  canonical = g_canonicalize_filename (path, NULL);

  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *other = g_ptr_array_index (self->roots, i);
      gsize len = strlen (other->path);

      if (strncmp (canonical, other->path, len) == 0 &&
          (canonical[len] == '\0' || canonical[len] == '/' || g_str_equal (other->path, "/")))
        {
          g_debug ("%s is watched already (in %s)", canonical, other->path);
          return TRUE;
        }
    }

  /* Roots inside this one give way to it. */
  for (guint i = self->roots->len; i > 0; i--)
    {
      Root *other = g_ptr_array_index (self->roots, i - 1);
      gsize len = strlen (canonical);

      if (strncmp (other->path, canonical, len) == 0 &&
          (other->path[len] == '/' || g_str_equal (canonical, "/")))
        spyglass_watcher_remove_root (self, other->path);
    }

  root = g_new0 (Root, 1);
  root->path = g_steal_pointer (&canonical);
  g_ptr_array_add (self->roots, root);

  if (!try_start_root (self, root))
    {
      g_debug ("%s is missing; waiting for it", root->path);
      root->paused = TRUE;
      if (g_queue_is_empty (&self->walk))
        set_ready (self, TRUE);
      g_signal_emit (self, signals[ROOT_PAUSED], 0, root->path, _("The folder is missing"));
    }

  return TRUE;
}

static void
root_free (SpyglassWatcher *self,
           Root            *root)
{
  if (root->top != NULL)
    forget_dir (self, g_steal_pointer (&root->top));
  g_free (root->path);
  g_free (root);
}

void
spyglass_watcher_remove_root (SpyglassWatcher *self,
                              const char      *path)
{
  g_autofree char *canonical = NULL;

  g_return_if_fail (SPYGLASS_IS_WATCHER (self));
  g_return_if_fail (path != NULL);

  canonical = g_canonicalize_filename (path, NULL);
  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);

      if (g_str_equal (root->path, canonical))
        {
          g_ptr_array_remove_index (self->roots, i);
          root_free (self, root);
          return;
        }
    }
}

void
spyglass_watcher_add_ignored_path (SpyglassWatcher *self,
                                   const char      *path)
{
  g_autofree char *canonical = NULL;

  g_return_if_fail (SPYGLASS_IS_WATCHER (self));
  g_return_if_fail (path != NULL && path[0] == '/');

  canonical = g_canonicalize_filename (path, NULL);
  g_ptr_array_add (self->ignored, g_steal_pointer (&canonical));
}

void
spyglass_watcher_set_settle_delay (SpyglassWatcher *self,
                                   guint            milliseconds)
{
  g_return_if_fail (SPYGLASS_IS_WATCHER (self));

  if (self->settle_delay == milliseconds)
    return;
  self->settle_delay = milliseconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SETTLE_DELAY]);
}

guint
spyglass_watcher_get_settle_delay (SpyglassWatcher *self)
{
  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), 0);

  return self->settle_delay;
}

void
spyglass_watcher_set_poll_intervals (SpyglassWatcher *self,
                                     guint            root_ms,
                                     guint            fallback_ms)
{
  g_return_if_fail (SPYGLASS_IS_WATCHER (self));
  g_return_if_fail (root_ms > 0 && fallback_ms > 0);

  self->root_interval = root_ms;
  self->fallback_interval = fallback_ms;

  if (self->root_source != NULL)
    {
      clear_source (&self->root_source);
      self->root_source = add_timeout (self, self->root_interval, on_root_check);
    }
  if (self->fallback_source != NULL)
    {
      clear_source (&self->fallback_source);
      self->fallback_source = add_timeout (self, self->fallback_interval, on_fallback);
    }
}

void
spyglass_watcher_set_max_watches (SpyglassWatcher *self,
                                  guint            max_watches)
{
  g_return_if_fail (SPYGLASS_IS_WATCHER (self));

  self->max_watches = max_watches;
}

gboolean
spyglass_watcher_get_ready (SpyglassWatcher *self)
{
  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), FALSE);

  return self->ready;
}

guint
spyglass_watcher_get_n_watched (SpyglassWatcher *self)
{
  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), 0);

  return self->n_watched;
}

guint
spyglass_watcher_get_n_polled (SpyglassWatcher *self)
{
  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), 0);

  return self->n_polled;
}

gboolean
spyglass_watcher_get_root_paused (SpyglassWatcher *self,
                                  const char      *path)
{
  g_autofree char *canonical = NULL;

  g_return_val_if_fail (SPYGLASS_IS_WATCHER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  canonical = g_canonicalize_filename (path, NULL);
  for (guint i = 0; i < self->roots->len; i++)
    {
      Root *root = g_ptr_array_index (self->roots, i);

      if (g_str_equal (root->path, canonical))
        return root->paused;
    }
  return FALSE;
}

/* GObject */

static void
spyglass_watcher_dispose (GObject *object)
{
  SpyglassWatcher *self = SPYGLASS_WATCHER (object);
  Dir *dir;

  clear_source (&self->fd_source);
  clear_source (&self->walk_source);
  clear_source (&self->settle_source);
  clear_source (&self->root_source);
  clear_source (&self->fallback_source);
  clear_source (&self->limit_source);

  while (self->roots->len > 0)
    {
      Root *root = g_ptr_array_steal_index (self->roots, self->roots->len - 1);
      root_free (self, root);
    }
  while ((dir = g_queue_pop_head (&self->walk)) != NULL)
    g_free (dir);  /* dead: forgotten with their root */

  G_OBJECT_CLASS (spyglass_watcher_parent_class)->dispose (object);
}

static void
spyglass_watcher_finalize (GObject *object)
{
  SpyglassWatcher *self = SPYGLASS_WATCHER (object);

  g_assert (self->pending->len == 0);
  g_ptr_array_unref (self->pending);
  g_ptr_array_unref (self->roots);
  g_ptr_array_unref (self->ignored);
  g_hash_table_unref (self->dirs_by_wd);
  g_free (self->buffer);
  if (self->fd >= 0)
    close (self->fd);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (spyglass_watcher_parent_class)->finalize (object);
}

static void
spyglass_watcher_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SpyglassWatcher *self = SPYGLASS_WATCHER (object);

  switch (prop_id)
    {
    case PROP_SETTLE_DELAY:
      g_value_set_uint (value, self->settle_delay);
      break;
    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_watcher_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  SpyglassWatcher *self = SPYGLASS_WATCHER (object);

  switch (prop_id)
    {
    case PROP_SETTLE_DELAY:
      spyglass_watcher_set_settle_delay (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spyglass_watcher_class_init (SpyglassWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spyglass_watcher_dispose;
  object_class->finalize = spyglass_watcher_finalize;
  object_class->get_property = spyglass_watcher_get_property;
  object_class->set_property = spyglass_watcher_set_property;

  /* Milliseconds without a change before a folder is reported. */
  properties[PROP_SETTLE_DELAY] =
    g_param_spec_uint ("settle-delay", NULL, NULL, 0, G_MAXUINT / 2,
                       SPYGLASS_WATCHER_DEFAULT_SETTLE_DELAY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Every root has been listed once. */
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A folder whose changes settled: scan it. */
  signals[FOLDER_SETTLED] =
    g_signal_new ("folder-settled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A root went away (its path, and why, for people): nothing under it is
   * reported until "root-resumed". */
  signals[ROOT_PAUSED] =
    g_signal_new ("root-paused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[ROOT_RESUMED] =
    g_signal_new ("root-resumed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* Once: the kernel refused a watch; the message says what to do. */
  signals[WATCH_LIMIT_REACHED] =
    g_signal_new ("watch-limit-reached", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
spyglass_watcher_init (SpyglassWatcher *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->fd = -1;
  self->dirs_by_wd = g_hash_table_new (NULL, NULL);
  self->roots = g_ptr_array_new ();
  self->ignored = g_ptr_array_new_with_free_func (g_free);
  self->pending = g_ptr_array_new ();
  g_queue_init (&self->walk);
  self->settle_delay = SPYGLASS_WATCHER_DEFAULT_SETTLE_DELAY;
  self->root_interval = SPYGLASS_WATCHER_DEFAULT_ROOT_INTERVAL;
  self->fallback_interval = SPYGLASS_WATCHER_DEFAULT_FALLBACK_INTERVAL;
}
