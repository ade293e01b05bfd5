/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "spyglass-notifier.h"

/* Placeholder while the real notifier is written. */
struct _SpyglassNotifier
{
  GObject        parent_instance;

  GApplication  *application;  /* unowned: it owns the notifier */
  SpyglassQueue *queue;
  GSettings     *settings;
};

G_DEFINE_FINAL_TYPE (SpyglassNotifier, spyglass_notifier, G_TYPE_OBJECT)

SpyglassNotifier *
spyglass_notifier_new (GApplication  *application,
                       SpyglassQueue *queue,
                       GSettings     *settings)
{
  SpyglassNotifier *self = g_object_new (SPYGLASS_TYPE_NOTIFIER, NULL);

  self->application = application;
  self->queue = g_object_ref (queue);
  self->settings = g_object_ref (settings);
  return self;
}

static void
spyglass_notifier_finalize (GObject *object)
{
  SpyglassNotifier *self = SPYGLASS_NOTIFIER (object);

  g_clear_object (&self->queue);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (spyglass_notifier_parent_class)->finalize (object);
}

static void
spyglass_notifier_class_init (SpyglassNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spyglass_notifier_finalize;
}

static void
spyglass_notifier_init (SpyglassNotifier *self)
{
}
