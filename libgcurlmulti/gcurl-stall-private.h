/* gcurl-stall-private.h: when a transfer has received nothing for too long
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How long an HTTP/2 transfer may receive nothing before the watchdog
 * nudges libcurl's sockets once (see g_curl_source_nudge()). */
#define GCURL_STALL_NUDGE_IDLE_US (G_USEC_PER_SEC)

/* The stall watch of one transfer. libcurl's callbacks only bump the
 * transfer's activity count (no clock on the hot path); whoever looks at
 * the transfer after libcurl has returned (the flush, right after each
 * dispatch, and the watchdog) tells the watch what the count is now and
 * what time it is, and the watch remembers when the count last changed.
 * From that it says when the transfer stalls, so the watchdog can sleep
 * until exactly then. Pure: the clock is passed in, nothing allocates. */
typedef struct
{
  guint64  seen_activity;  /* the activity count last observed */
  gint64   last_activity;  /* µs (monotonic): the stall timeout counts from
                            * here (a change seen, or a hold that ended) */
  gint64   idle_since;     /* µs: a change last seen; nudges count from here */
  gboolean nudged;         /* nudged once in this idle spell */
} GCurlStall;

void     g_curl_stall_reset         (GCurlStall *stall,
                                     guint64     activity,
                                     gint64      now);
void     g_curl_stall_restart_timeout (GCurlStall *stall,
                                       gint64      now);
gboolean g_curl_stall_observe       (GCurlStall *stall,
                                     guint64     activity,
                                     gint64      now);
gint64   g_curl_stall_deadline      (const GCurlStall *stall,
                                     guint       timeout_s);
gboolean g_curl_stall_is_stalled    (const GCurlStall *stall,
                                     guint       timeout_s,
                                     gint64      now);
gint64   g_curl_stall_nudge_due     (const GCurlStall *stall);
gboolean g_curl_stall_take_nudge    (GCurlStall *stall,
                                     gint64      now);

G_END_DECLS
