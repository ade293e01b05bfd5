/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "spyglass-error.h"

G_DEFINE_QUARK (spyglass-error-quark, spyglass_error)
