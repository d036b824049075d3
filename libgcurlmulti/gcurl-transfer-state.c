/* gcurl-transfer-state.c: where a transfer is in its run, and the calls
 * that move it
 *
 * The part of GCurlTransfer's API that pauses, resumes and cancels, and the
 * state rules the multi and download_async rely on:
 *
 * - on a multi with connection limits a run starts QUEUED, and is RUNNING
 *   once libcurl has a connection for it and sends the request (its
 *   CURLOPT_PREREQFUNCTION, or the first response bytes): the engine's
 *   G_CURL_PHASE_ACTIVE. Until then it waits for a slot under the limits
 *   (libcurl 7.88 keeps such a handle pending, and says so nowhere), then
 *   for its connection (name lookup, TCP and TLS handshakes). Without
 *   limits libcurl never holds a handle back: a run starts RUNNING, as it
 *   always did;
 * - pause() before a run (a new transfer, or a download waiting to retry)
 *   makes it start PAUSED: it is not handed to libcurl, so no request goes
 *   out, until resume();
 * - a failed run that download_async will try again ends RETRYING, or
 *   PAUSED if it was paused: the next attempt then starts paused too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-easy-private.h"
#include "gcurl-engine-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"

/* The state a run starts in; consumes a pause() made before it. */
GCurlTransferState
g_curl_transfer_starting_state (GCurlTransfer *self)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);

  easy->hold_submit = easy->start_paused;
  easy->submit_waiting = FALSE;
  easy->start_paused = FALSE;

  if (easy->hold_submit)
    return G_CURL_TRANSFER_STATE_PAUSED;

  return g_curl_engine_is_limited (easy->run.engine) ? G_CURL_TRANSFER_STATE_QUEUED
                                                     : G_CURL_TRANSFER_STATE_RUNNING;
}

/* The state a failed run that will be retried ends in. */
GCurlTransferState
g_curl_transfer_retrying_state (GCurlTransfer *self)
{
  if (g_curl_transfer_get_state (self) != G_CURL_TRANSFER_STATE_PAUSED)
    return G_CURL_TRANSFER_STATE_RETRYING;

  g_curl_transfer_get_easy (self)->start_paused = TRUE;
  return G_CURL_TRANSFER_STATE_PAUSED;
}

/* Between two attempts of a download, paused or not. */
gboolean
g_curl_transfer_is_retrying (GCurlTransfer *self)
{
  GCurlTransferState state = g_curl_transfer_get_state (self);

  return state == G_CURL_TRANSFER_STATE_RETRYING ||
         (state == G_CURL_TRANSFER_STATE_PAUSED && g_curl_transfer_get_easy (self)->start_paused);
}

/* Hands a started run to libcurl (once its proxy is known), unless it
 * started paused: then resume() does. */
void
g_curl_transfer_submit (GCurlTransfer *self)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);

  if (easy->hold_submit)
    {
      easy->submit_waiting = TRUE;
      return;
    }

  g_curl_engine_submit (&easy->run);
}

/**
 * g_curl_transfer_pause:
 * @self: a transfer
 *
 * Stops receiving the response until [method@GCurl.Transfer.resume]. The
 * state becomes %G_CURL_TRANSFER_STATE_PAUSED at once; data already on its
 * way is kept, not lost. A paused transfer is not timed out as stalled.
 *
 * A transfer paused before it is added to a multi (its state
 * %G_CURL_TRANSFER_STATE_NEW) starts paused: added, its state is
 * %G_CURL_TRANSFER_STATE_PAUSED and no request is sent until it is resumed.
 * A download waiting to retry ([method@GCurl.Multi.download_async],
 * %G_CURL_TRANSFER_STATE_RETRYING) becomes paused, and so does its next
 * attempt; a download paused when an attempt fails stays paused across
 * the retry.
 *
 * Pausing a transfer that has finished does nothing.
 *
 * Since: 0.1
 */
void
g_curl_transfer_pause (GCurlTransfer *self)
{
  GCurlEasy *easy;
  GCurlTransferState state;

  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  easy = g_curl_transfer_get_easy (self);
  state = g_curl_transfer_get_state (self);

  /* Not in a run: the next one starts paused. */
  if (state == G_CURL_TRANSFER_STATE_NEW || state == G_CURL_TRANSFER_STATE_RETRYING)
    {
      easy->start_paused = TRUE;
      g_curl_transfer_set_state (self, state == G_CURL_TRANSFER_STATE_RETRYING
                                       ? G_CURL_TRANSFER_STATE_PAUSED : state);
      return;
    }

  if ((state != G_CURL_TRANSFER_STATE_RUNNING && state != G_CURL_TRANSFER_STATE_QUEUED) ||
      easy->run.completed)
    return;

  g_curl_easy_pause (easy);
  g_curl_transfer_set_state (self, G_CURL_TRANSFER_STATE_PAUSED);
}

/**
 * g_curl_transfer_resume:
 * @self: a transfer
 *
 * Continues a transfer paused with [method@GCurl.Transfer.pause]: its
 * state becomes %G_CURL_TRANSFER_STATE_RUNNING again, or
 * %G_CURL_TRANSFER_STATE_QUEUED if it has not sent its request yet (one
 * that started paused sends it now), or %G_CURL_TRANSFER_STATE_RETRYING
 * for a download between two attempts. Resuming a transfer that is not
 * paused does nothing (but cancels a pause() made before it was added).
 *
 * Since: 0.1
 */
void
g_curl_transfer_resume (GCurlTransfer *self)
{
  GCurlEasy *easy;
  GCurlTransferState state;

  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  easy = g_curl_transfer_get_easy (self);
  state = g_curl_transfer_get_state (self);

  if (state == G_CURL_TRANSFER_STATE_NEW)
    easy->start_paused = FALSE;
  /* A paused transfer is running, so its multi keeps it alive through
   * the notifications below. */
  if (state != G_CURL_TRANSFER_STATE_PAUSED)
    return;

  if (easy->start_paused)
    {
      easy->start_paused = FALSE;
      g_curl_transfer_set_state (self, G_CURL_TRANSFER_STATE_RETRYING);
      return;
    }

  /* Started paused: libcurl has not seen it yet. */
  if (easy->hold_submit)
    {
      easy->hold_submit = FALSE;
      g_curl_transfer_set_state (self, g_curl_engine_is_limited (easy->run.engine)
                                       ? G_CURL_TRANSFER_STATE_QUEUED
                                       : G_CURL_TRANSFER_STATE_RUNNING);
      /* A notify::state handler may have cancelled it. */
      if (easy->submit_waiting && g_curl_easy_is_running (easy))
        {
          easy->submit_waiting = FALSE;
          g_curl_engine_submit (&easy->run);
        }
      return;
    }

  /* The state first: notify::state handlers see a running transfer
   * before libcurl delivers what it held. */
  g_curl_transfer_set_state (self, easy->phase >= G_CURL_PHASE_ACTIVE ||
                                   !g_curl_engine_is_limited (easy->run.engine)
                                   ? G_CURL_TRANSFER_STATE_RUNNING
                                   : G_CURL_TRANSFER_STATE_QUEUED);
  g_curl_easy_resume (easy);
}

static GError *
cancelled_error (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
}

/**
 * g_curl_transfer_cancel:
 * @self: a transfer
 *
 * Stops a running, queued or paused transfer. Its state becomes
 * %G_CURL_TRANSFER_STATE_CANCELLED at once, and its error
 * %G_IO_ERROR_CANCELLED; [signal@GCurl.Transfer::finished] follows from the
 * multi's main context, never from inside this call. A download waiting to
 * retry is cancelled at once (there is no run to finish): its
 * [method@GCurl.Multi.download_async] fails with %G_IO_ERROR_CANCELLED.
 *
 * Cancelling a transfer that is not running, or whose result is already
 * known, does nothing, but for one waiting to be retried by
 * [method@GCurl.Multi.send_and_read_async] or
 * [method@GCurl.Multi.send_async] (see [property@GCurl.Multi:retries]):
 * the wait ends, no further request is made, and the call fails with
 * %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */
void
g_curl_transfer_cancel (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  /* A send_and_read_async() or send_async() waiting to retry (see
   * GCurlMulti:retries): the wait ends, and the call fails. */
  if (g_curl_transfer_cancel_retry_wait (self))
    return;

  easy = g_curl_transfer_get_easy (self);
  if (g_curl_transfer_is_retrying (self))
    {
      g_autoptr(GError) error = cancelled_error ();

      g_curl_transfer_settle (self, error);
      return;
    }

  if (!g_curl_transfer_is_running (self) || !g_curl_easy_is_running (easy))
    return;

  g_curl_engine_end_run (&easy->run, cancelled_error ());
}

/* Whether the run has no connection yet (g_curl_engine_requeue()). */
gboolean
g_curl_transfer_run_is_queued (GCurlRun *run)
{
  return g_curl_transfer_get_easy (G_CURL_TRANSFER (run->object))->phase == G_CURL_PHASE_QUEUED;
}
