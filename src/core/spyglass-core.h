/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "spyglass-address.h"
#include "spyglass-client.h"
#include "spyglass-error.h"
#include "spyglass-host-path.h"
#include "spyglass-path-map.h"
#include "spyglass-plex-parse.h"
#include "spyglass-plex-types.h"
#include "spyglass-queue.h"
#include "spyglass-queue-service.h"
#include "spyglass-request.h"
#include "spyglass-route.h"
#include "spyglass-scan-monitor.h"
#include "spyglass-token-store.h"
#include "spyglass-watcher.h"
