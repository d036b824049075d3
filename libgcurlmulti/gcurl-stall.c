/* gcurl-stall.c: when a transfer has received nothing for too long
 *
 * See gcurl-stall-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-stall-private.h"

/* Starts watching (a run starts): everything counts from @now. */
void
g_curl_stall_reset (GCurlStall *stall,
                    guint64     activity,
                    gint64      now)
{
  stall->seen_activity = activity;
  stall->last_activity = now;
  stall->idle_since = now;
  stall->nudged = FALSE;
}

/* The transfer was held back by something that is not the peer's fault
 * (paused, a slow reader, the speed limit): the stall timeout counts from
 * @now. The idle spell does not end: nothing arrived, and libcurl may
 * still sit on bytes that a nudge lets out. */
void
g_curl_stall_restart_timeout (GCurlStall *stall,
                              gint64      now)
{
  stall->last_activity = now;
}

/* Tells the watch the transfer's activity count at @now. Returns %TRUE if it
 * changed since the last observation: something arrived in between, which
 * ends the idle spell. The time of the change is taken to be @now; callers
 * observe right after each dispatch, so it is late by microseconds, and
 * never early. */
gboolean
g_curl_stall_observe (GCurlStall *stall,
                      guint64     activity,
                      gint64      now)
{
  if (activity == stall->seen_activity)
    return FALSE;

  g_curl_stall_reset (stall, activity, now);
  return TRUE;
}

/* When the transfer stalls if nothing arrives meanwhile, or -1 for never
 * (@timeout_s 0). */
gint64
g_curl_stall_deadline (const GCurlStall *stall,
                       guint             timeout_s)
{
  if (timeout_s == 0)
    return -1;

  return stall->last_activity + (gint64) timeout_s * G_USEC_PER_SEC;
}

gboolean
g_curl_stall_is_stalled (const GCurlStall *stall,
                         guint             timeout_s,
                         gint64            now)
{
  gint64 deadline = g_curl_stall_deadline (stall, timeout_s);

  return deadline >= 0 && now >= deadline;
}

/* When the idle spell is long enough for a nudge, or -1 once it had one. */
gint64
g_curl_stall_nudge_due (const GCurlStall *stall)
{
  if (stall->nudged)
    return -1;

  return stall->idle_since + GCURL_STALL_NUDGE_IDLE_US;
}

/* Returns %TRUE, once per idle spell, when the spell has lasted long enough
 * for a nudge. */
gboolean
g_curl_stall_take_nudge (GCurlStall *stall,
                         gint64      now)
{
  gint64 due = g_curl_stall_nudge_due (stall);

  if (due < 0 || now < due)
    return FALSE;

  stall->nudged = TRUE;
  return TRUE;
}
