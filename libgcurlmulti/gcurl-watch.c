/* gcurl-watch.c: the stall watch of a transfer's easy handle
 *
 * The engine's watchdog asks each run when to look at it next and whether
 * it stalled: a run stalls when nothing arrived for its stall timeout
 * since it sent its request, unless something that is not the peer's
 * fault holds it back (a pause, a slow reader, the speed limit, a
 * challenge waiting for its "authenticate" handler). The arithmetic is
 * gcurl-stall.c's. See gcurl-watch-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-easy-private.h"
#include "gcurl-error.h"
#include "gcurl-watch-private.h"

static gint64
earliest (gint64 a,
          gint64 b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

/* Whether the run cannot stall yet (waiting for a connection) or any
 * more. */
static gboolean
is_unwatched (GCurlEasy *self)
{
  return self->phase < G_CURL_PHASE_ACTIVE || self->run.completed || self->challenge_waiting;
}

/* Whether something that is not the peer's fault holds the run back (the
 * application's pause, a slow reader of the stream, the speed limit, the
 * request stream): then it does not stall. */
static gboolean
is_held (GCurlEasy *self)
{
  return self->paused_in_curl || self->pause_requested;
}

/* When the watchdog must look at the run: its stall deadline unless it is
 * held, and a nudge for an HTTP/2 run idle for a while, held or not:
 * libcurl 7.88 can sit on the last bytes of a paused stream too, and a
 * nudge lets them into its pause buffer for the resume. */
static gint64
watch_due (GCurlEasy *self,
           gboolean   held)
{
  return earliest (held ? -1 : g_curl_stall_deadline (&self->stall, self->stall_timeout),
                   self->is_http2 ? g_curl_stall_nudge_due (&self->stall) : -1);
}

/* When the watchdog must look at the run next, -1 for never, as of @now,
 * right after libcurl returned. Also notes whether a nudge (see
 * g_curl_source_nudge(), @nudging: the dispatch that just ended was one)
 * brought data: libcurl had more of it in its buffers than one nudge lets
 * out, so *@nudge_again is set. */
gint64
g_curl_easy_watch_due (GCurlEasy *self,
                       gint64     now,
                       gboolean   nudging,
                       gboolean  *nudge_again)
{
  gboolean was_nudged = self->stall.nudged;

  if (is_unwatched (self))
    return -1;

  if (g_curl_stall_observe (&self->stall, self->activity, now) && nudging && was_nudged)
    *nudge_again = TRUE;

  return watch_due (self, is_held (self));
}

/* The watchdog's look at the run: returns the error to end it with if it
 * has received nothing for its stall timeout since it sent its request,
 * or %NULL. Sets *@nudge if it has been idle for a nudge (only libcurl's
 * HTTP/2 sits on bytes that way: an idle HTTP/1 run is waiting for its
 * server, and costs nobody a recv()), and lowers *@next_due to when it
 * must look again. */
GError *
g_curl_easy_watch (GCurlEasy *self,
                   gint64     now,
                   gboolean  *nudge,
                   gint64    *next_due)
{
  gboolean held = is_held (self);

  if (is_unwatched (self))
    {
      g_curl_stall_reset (&self->stall, self->activity, now);
      return NULL;
    }

  g_curl_stall_observe (&self->stall, self->activity, now);
  if (held)
    {
      /* Not the peer's fault: the stall timeout counts from the end of
       * the hold. */
      GCURL_RUN_DEBUG (&self->run, "%p %s: held (paused in libcurl %d, by the application %d)",
                       self->run.object, g_curl_easy_get_shown_url (self), self->paused_in_curl,
                       self->pause_requested);
      g_curl_stall_restart_timeout (&self->stall, now);
    }
  else if (g_curl_stall_is_stalled (&self->stall, self->stall_timeout, now))
    return g_error_new (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                        _("No data received from %s for %u seconds"),
                        g_curl_easy_get_shown_url (self), self->stall_timeout);

  if (self->is_http2 && g_curl_stall_take_nudge (&self->stall, now))
    {
      GCURL_RUN_DEBUG (&self->run, "%p %s: idle, nudging", self->run.object, g_curl_easy_get_shown_url (self));
      *nudge = TRUE;
    }

  *next_due = earliest (*next_due, watch_due (self, held));
  return NULL;
}
