/* gcurl-send.c: send_and_read_async, send_async, send_and_splice_async
 *
 * The ways to run a transfer as one asynchronous call: with its body
 * collected in memory, streamed through a GCurlInputStream from its headers
 * on, or that stream spliced into an output stream. Both are a GTask around the transfer's signals, which only
 * take the run they started (an earlier handler of "finished" may have
 * started the next one).
 *
 * With GCurlMulti:retries, a run that failed transiently before the call
 * has its result (send_async: before the stream is handed over) is made
 * again after a wait (gcurl-retry.c), if the transfer may be sent again
 * (gcurl-transfer-retry.c). Meanwhile the transfer stays as the failed run
 * left it; its cancel() ends the wait (g_curl_transfer_begin_retry_wait()),
 * and so does the call's cancellable, through it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-input-stream-private.h"
#include "gcurl-multi.h"
#include "gcurl-multi-private.h"
#include "gcurl-retry-private.h"
#include "gcurl-send-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* Retries (GCurlMulti:retries). The task data of both calls starts with a
 * SendRetry. */

typedef struct
{
  GCurlTransfer *transfer;         /* (unowned): the call's */
  GCurlRetry     retry;
  guint          attempt;          /* 0 for the first */
  GError        *error;            /* (nullable): the failure waited on */
  GSource       *timeout;          /* (nullable): the wait */
  GCancellable  *wait;             /* (nullable): cancelled by the
                                    * transfer's cancel() during the wait */
  GSource       *wait_cancel_source;
  void         (*run)  (GTask  *task);   /* starts an attempt */
  void         (*fail) (GTask  *task,    /* returns @error, drops the task */
                        GError *error);
} SendRetry;

static void
send_retry_init (SendRetry     *r,
                 GCurlMulti    *multi,
                 GCurlTransfer *transfer,
                 gboolean       retries)
{
  r->transfer = transfer;
  g_curl_retry_init (&r->retry, retries ? g_curl_multi_get_retries (multi) : 0,
                     g_curl_multi_get_retry_delay (multi));
}

static void
send_retry_stop_waiting (SendRetry *r)
{
  if (r->wait != NULL)
    g_curl_transfer_end_retry_wait (r->transfer, r->wait);
  g_curl_clear_source (&r->timeout);
  g_curl_clear_source (&r->wait_cancel_source);
  g_clear_object (&r->wait);
}

static void
send_retry_clear (SendRetry *r)
{
  send_retry_stop_waiting (r);
  g_clear_error (&r->error);
}

/* Before each attempt of a call that may retry: a retry never goes back
 * to the connection the failure came on (as download_async's). A call
 * without retries leaves the transfer as the application set it. */
static void
send_retry_prepare (SendRetry *r)
{
  GCurlTransferState state = g_curl_transfer_get_state (r->transfer);

  if ((r->attempt > 0 || r->retry.left > 0) &&
      state != G_CURL_TRANSFER_STATE_RUNNING && state != G_CURL_TRANSFER_STATE_PAUSED)
    g_curl_transfer_set_fresh_connect (r->transfer, r->attempt > 0);
}

/* Whether the run @run that ended with @error is to be made again: retries
 * are left, the failure is transient, nobody ran the transfer again
 * already (a handler of "finished" before ours), the call is not
 * cancelled, and the request may be sent twice. */
static gboolean
send_retry_wanted (SendRetry    *r,
                   GTask        *task,
                   guint         run,
                   const GError *error)
{
  return r->retry.left > 0 && g_curl_error_is_transient (error) &&
         g_curl_transfer_get_run (r->transfer) == run &&
         !g_cancellable_is_cancelled (g_task_get_cancellable (task)) &&
         g_curl_transfer_can_retry (r->transfer);
}

static gboolean
send_retry_cancelled_cb (GCancellable *wait,
                         gpointer      user_data)
{
  GTask *task = user_data;
  SendRetry *r = g_task_get_task_data (task);
  GError *error = NULL;

  send_retry_stop_waiting (r);
  if (!g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
  r->fail (task, error);

  return G_SOURCE_REMOVE;
}

static gboolean
send_retry_due_cb (gpointer user_data)
{
  GTask *task = user_data;
  SendRetry *r = g_task_get_task_data (task);
  GCurlTransferState state = g_curl_transfer_get_state (r->transfer);
  GError *error = NULL;

  send_retry_stop_waiting (r);
  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    r->fail (task, error);
  /* The application ran the transfer itself meanwhile, or made its
   * request one that must not be sent twice: the failure stands. */
  else if (state == G_CURL_TRANSFER_STATE_RUNNING || state == G_CURL_TRANSFER_STATE_PAUSED ||
           !g_curl_transfer_can_retry (r->transfer))
    r->fail (task, g_steal_pointer (&r->error));
  else
    r->run (task);

  return G_SOURCE_REMOVE;
}

/* Waits before the next attempt, after @error: the back-off, or the
 * failed response's Retry-After. */
static void
send_retry_wait (SendRetry    *r,
                 GTask        *task,
                 const GError *error)
{
  GMainContext *context = g_curl_multi_get_context (g_task_get_source_object (task));
  guint delay = g_curl_retry_next_delay (&r->retry,
                                         g_curl_transfer_get_response_header (r->transfer,
                                                                              "Retry-After"));

  GCURL_DEBUG ("Request to %s failed (%s); retrying in %u ms, %u retries left after this one",
               g_curl_transfer_get_shown_url (r->transfer), error->message, delay,
               r->retry.left);
  g_clear_error (&r->error);
  r->error = g_error_copy (error);
  r->attempt++;

  r->wait = g_cancellable_new ();
  g_curl_transfer_begin_retry_wait (r->transfer, r->wait);
  r->wait_cancel_source = g_curl_watch_cancellable (context, r->wait, send_retry_cancelled_cb,
                                                    task);
  r->timeout = g_timeout_source_new (delay);
  g_source_set_static_name (r->timeout, "GCurl send retry");
  g_source_set_callback (r->timeout, send_retry_due_cb, task, NULL);
  g_source_attach (r->timeout, context);
}

/* send_and_read */

typedef struct
{
  SendRetry      retry;            /* first: see SendRetry */
  GCurlMulti    *multi;
  GCurlTransfer *transfer;
  guint          run;
  gulong         finished_id;
  GSource       *cancel_source;
} SendAndReadData;

static void
send_and_read_data_free (SendAndReadData *data)
{
  send_retry_clear (&data->retry);
  g_clear_object (&data->multi);
  g_curl_clear_source (&data->cancel_source);
  g_clear_signal_handler (&data->finished_id, data->transfer);
  g_clear_object (&data->transfer);
  g_free (data);
}

static void
send_and_read_finished_cb (GCurlTransfer *transfer,
                           gpointer       user_data)
{
  GTask *task = user_data;
  SendAndReadData *data = g_task_get_task_data (task);
  const GCurlTransferEnding *ending = g_curl_transfer_get_ending (transfer);

  /* Not the transfer's current state: a handler that ran before this one
   * may have started the next run already. */
  if (ending == NULL || ending->run != data->run)
    return;

  if (ending->error != NULL && send_retry_wanted (&data->retry, task, data->run, ending->error))
    {
      send_retry_wait (&data->retry, task, ending->error);
      return;
    }

  if (ending->error != NULL)
    g_task_return_error (task, g_error_copy (ending->error));
  else
    g_task_return_pointer (task, ending->body ? g_bytes_ref (ending->body) : g_bytes_new (NULL, 0),
                           (GDestroyNotify) g_bytes_unref);

  /* Drops the data (and with it this handler) and the task. */
  g_object_unref (task);
}

static void
send_and_read_fail (GTask  *task,
                    GError *error)
{
  SendAndReadData *data = g_task_get_task_data (task);

  g_clear_signal_handler (&data->finished_id, data->transfer);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
send_and_read_run (GTask *task)
{
  SendAndReadData *data = g_task_get_task_data (task);

  send_retry_prepare (&data->retry);
  g_curl_multi_add_transfer (data->multi, data->transfer);
  data->run = g_curl_transfer_get_run (data->transfer);
}

/* While a run goes on, this cancels it; during a wait before a retry, the
 * wait (g_curl_transfer_cancel() ends it). */
static gboolean
send_and_read_cancelled_cb (GCancellable *cancellable,
                            gpointer      user_data)
{
  GTask *task = user_data;
  SendAndReadData *data = g_task_get_task_data (task);

  g_curl_transfer_cancel (data->transfer);
  return G_SOURCE_REMOVE;
}

/**
 * g_curl_multi_send_and_read_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable to stop the transfer
 * @callback: (scope async): called when the transfer has finished
 * @user_data: (closure): data for @callback
 *
 * Runs @transfer and collects its response body in memory. The callback
 * runs from the multi's main context once the transfer has finished; get
 * the body with [method@GCurl.Multi.send_and_read_finish].
 *
 * An HTTP error status is not an error here: the body is returned and the
 * status is on @transfer. Cancelling @cancellable cancels the transfer
 * and gives %G_IO_ERROR_CANCELLED.
 *
 * With [property@GCurl.Multi:retries], a run that fails with a transient
 * error ([func@GCurl.Error.is_transient]) is made again, after a wait of
 * about [property@GCurl.Multi:retry-delay] (doubled for each further
 * retry, with jitter, and at least the response's `Retry-After`), if the
 * request is idempotent ([property@GCurl.Transfer:idempotent]) and its
 * body can be sent again; the callback gets the last run's result. An
 * HTTP status of 408, 429 or 5xx is retried only when it failed the
 * transfer, with [property@GCurl.Multi:fail-on-http-error]; without it
 * such a response is the result, like any other. Each retry is a new run
 * of @transfer: [signal@GCurl.Transfer::finished] is emitted once per run,
 * the failed ones included. During the wait the transfer is not running:
 * it stays as the failed run left it (%G_CURL_TRANSFER_STATE_FAILED, with
 * its error) until the next run starts, and cancelling @cancellable, or
 * calling [method@GCurl.Transfer.cancel], ends the wait at once with
 * %G_IO_ERROR_CANCELLED, without another request.
 *
 * Since: 0.1
 */
void
g_curl_multi_send_and_read_async (GCurlMulti          *self,
                                  GCurlTransfer       *transfer,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SendAndReadData *data;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_send_and_read_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  data = g_new0 (SendAndReadData, 1);
  data->multi = g_object_ref (self);
  data->transfer = g_object_ref (transfer);
  send_retry_init (&data->retry, self, transfer, TRUE);
  data->retry.run = send_and_read_run;
  data->retry.fail = send_and_read_fail;
  g_task_set_task_data (task, data, (GDestroyNotify) send_and_read_data_free);

  /* The handler owns a reference to the task until "finished". */
  data->finished_id = g_signal_connect (transfer, "finished",
                                        G_CALLBACK (send_and_read_finished_cb),
                                        g_object_ref (task));

  data->cancel_source = g_curl_watch_cancellable (g_curl_multi_get_context (self), cancellable,
                                                        send_and_read_cancelled_cb, task);

  send_and_read_run (task);
}

/**
 * g_curl_multi_send_and_read_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.send_and_read_async].
 *
 * Returns: (transfer full): the response body, or %NULL with @error set:
 *   %G_CURL_ERROR for a failed transfer, %G_IO_ERROR_CANCELLED for a
 *   cancelled one
 *
 * Since: 0.1
 */
GBytes *
g_curl_multi_send_and_read_finish (GCurlMulti    *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_send_and_read_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* send */

typedef struct
{
  SendRetry      retry;            /* first: see SendRetry */
  GCurlMulti    *multi;
  GCurlTransfer *transfer;
  guint          run;
  GInputStream  *stream;
  gulong         headers_id;
  gulong         finished_id;
  GSource       *cancel_source;
} SendData;

static void
send_data_disconnect (SendData *data)
{
  send_retry_stop_waiting (&data->retry);
  g_curl_clear_source (&data->cancel_source);
  g_clear_signal_handler (&data->headers_id, data->transfer);
  g_clear_signal_handler (&data->finished_id, data->transfer);
}

static void
send_data_free (SendData *data)
{
  send_data_disconnect (data);
  send_retry_clear (&data->retry);
  g_clear_object (&data->stream);
  g_clear_object (&data->multi);
  g_clear_object (&data->transfer);
  g_free (data);
}

/* The handlers own a reference to the task until one of them returns it. */
static void
send_got_headers_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);

  /* The headers of a later run, in a main loop nested in a handler of
   * this run's "finished" (see send_finished_cb()). */
  if (g_curl_transfer_get_run (transfer) != data->run)
    return;

  send_data_disconnect (data);
  g_task_return_pointer (task, g_steal_pointer (&data->stream), g_object_unref);
  g_object_unref (task);
}

static void
send_finished_cb (GCurlTransfer *transfer,
                  gpointer       user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);
  const GCurlTransferEnding *ending = g_curl_transfer_get_ending (transfer);

  /* Not the transfer's current state: a handler that ran before this one
   * may have started the next run already. */
  if (ending == NULL || ending->run != data->run)
    return;

  /* Before the headers (after them this handler is gone): the caller has
   * no stream yet, the failure may be retried. The stream of this run is
   * over, and the next one gets its own. */
  if (ending->error != NULL && send_retry_wanted (&data->retry, task, data->run, ending->error))
    {
      g_clear_object (&data->stream);
      send_retry_wait (&data->retry, task, ending->error);
      return;
    }

  send_data_disconnect (data);
  if (ending->error != NULL)
    g_task_return_error (task, g_error_copy (ending->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&data->stream), g_object_unref);
  g_object_unref (task);
}

static void
send_fail (GTask  *task,
           GError *error)
{
  send_data_disconnect (g_task_get_task_data (task));
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
send_run (GTask *task)
{
  SendData *data = g_task_get_task_data (task);

  g_clear_object (&data->stream);
  data->stream = g_curl_input_stream_new (data->transfer, g_curl_multi_get_context (data->multi));
  send_retry_prepare (&data->retry);
  g_curl_multi_add_transfer (data->multi, data->transfer);
  data->run = g_curl_transfer_get_run (data->transfer);
}

static gboolean
send_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  SendData *data = g_task_get_task_data (user_data);

  g_curl_transfer_cancel (data->transfer);
  return G_SOURCE_REMOVE;
}

/**
 * g_curl_multi_send_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable to stop the transfer until its
 *   headers have arrived
 * @callback: (scope async): called once the response headers are there
 * @user_data: (closure): data for @callback
 *
 * Runs @transfer and streams its response body, as
 * `soup_session_send_async()` does. The callback runs from the multi's main
 * context once the final response's status and headers are known (after
 * redirects), or the transfer has failed; get the body's stream with
 * [method@GCurl.Multi.send_finish].
 *
 * The stream is a `GPollableInputStream` that delivers the body in order
 * and applies back-pressure: when the reader is more than a few hundred
 * KiB behind, the transfer is paused until it catches up, so a slow reader
 * of any body holds a bounded amount of memory. Closing or dropping the
 * stream before its end cancels the transfer. A failure after the headers
 * (such as the connection closing mid-body) is the error of the read that
 * comes after the last byte that arrived, never a silent short read.
 *
 * An HTTP error status is not an error here: the stream has the error
 * page, and the status is on @transfer; with
 * [property@GCurl.Multi:fail-on-http-error], the read after the page fails
 * with %G_CURL_ERROR_HTTP_RETURNED_ERROR. Read the stream from the multi's
 * main context.
 *
 * With [property@GCurl.Multi:retries], a run that fails with a transient
 * error before its final response's headers (a refused or reset
 * connection, a name that does not resolve, a response cut off in its
 * headers) is made again, as [method@GCurl.Multi.send_and_read_async]
 * does, with the same rules: idempotent requests only, waits of about
 * [property@GCurl.Multi:retry-delay], one
 * [signal@GCurl.Transfer::finished] per run, the transfer as the failed
 * run left it during the wait, cancellation at once. Once the callback
 * has the stream, nothing is retried: a failure is the error of a read,
 * as without retries. So an HTTP status, known with the headers, is never
 * retried here.
 *
 * Since: 0.1
 */
void
g_curl_multi_send_async (GCurlMulti          *self,
                         GCurlTransfer       *transfer,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_curl_multi_send_async_full (self, transfer, TRUE, cancellable, callback, user_data);
}

/* send_async, with or without the multi's retries (download_async retries
 * by its own count, and must not multiply it). Finished with
 * g_curl_multi_send_finish(). */
void
g_curl_multi_send_async_full (GCurlMulti          *self,
                              GCurlTransfer       *transfer,
                              gboolean             retries,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SendData *data;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_send_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  data = g_new0 (SendData, 1);
  data->multi = g_object_ref (self);
  data->transfer = g_object_ref (transfer);
  send_retry_init (&data->retry, self, transfer, retries);
  data->retry.run = send_run;
  data->retry.fail = send_fail;
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  data->headers_id = g_signal_connect (transfer, "got-headers",
                                       G_CALLBACK (send_got_headers_cb), g_object_ref (task));
  data->finished_id = g_signal_connect_data (transfer, "finished",
                                             G_CALLBACK (send_finished_cb), task,
                                             NULL, 0);

  data->cancel_source = g_curl_watch_cancellable (g_curl_multi_get_context (self), cancellable,
                                                        send_cancelled_cb, task);

  send_run (task);
}

/**
 * g_curl_multi_send_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.send_async].
 *
 * Returns: (transfer full): the stream of the response body, or %NULL with
 *   @error set: %G_CURL_ERROR for a transfer that failed before its headers
 *   arrived, %G_IO_ERROR_CANCELLED for a cancelled one
 *
 * Since: 0.1
 */
GInputStream *
g_curl_multi_send_finish (GCurlMulti    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_send_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* send_and_splice */

typedef struct
{
  GCurlTransfer            *transfer;
  GOutputStream            *output;
  GOutputStreamSpliceFlags  flags;
} SpliceData;

static void
splice_data_free (SpliceData *data)
{
  g_object_unref (data->transfer);
  g_object_unref (data->output);
  g_free (data);
}

static void
splice_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SpliceData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      /* The output failed, or the call was cancelled: the transfer stops
       * (if it has not ended already, with the error reported here). */
      g_curl_transfer_cancel (data->transfer);
      g_task_return_error (task, error);
    }
  else
    g_task_return_int (task, n);
}

static void
splice_sent_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  SpliceData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(GInputStream) stream = g_curl_multi_send_finish (G_CURL_MULTI (source), result,
                                                             &error);

  if (stream == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  /* The splice reads the next chunk once the last one is written: a slow
   * output fills the stream's buffer, which pauses the transfer. Dropping
   * the stream unfinished (an error of the output) cancels the transfer. */
  g_output_stream_splice_async (data->output, stream, data->flags,
                                g_task_get_priority (task), g_task_get_cancellable (task),
                                splice_done_cb, task);
}

/**
 * g_curl_multi_send_and_splice_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @output: the stream to write the response body to
 * @flags: what to close at the end, as g_output_stream_splice() takes it
 * @cancellable: (nullable): a cancellable to stop the transfer and the
 *   writing
 * @callback: (scope async): called once the body is written, or the
 *   transfer or a write failed
 * @user_data: (closure): data for @callback
 *
 * Runs @transfer and writes its response body to @output as it arrives, as
 * `soup_session_send_and_splice_async()` does: the stream of
 * [method@GCurl.Multi.send_async] spliced into @output with
 * g_output_stream_splice_async(). The transfer waits (it is paused) while
 * @output is behind, so a body of any size takes a bounded amount of
 * memory. Get the number of bytes written with
 * [method@GCurl.Multi.send_and_splice_finish]. When a write fails or
 * @cancellable is cancelled, the transfer is cancelled too.
 *
 * As with [method@GCurl.Multi.send_async], an HTTP error status is written
 * like any body unless [property@GCurl.Multi:fail-on-http-error] is set:
 * then the error page is written, and the call fails with
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR.
 *
 * Since: 0.1
 */
void
g_curl_multi_send_and_splice_async (GCurlMulti               *self,
                                    GCurlTransfer            *transfer,
                                    GOutputStream            *output,
                                    GOutputStreamSpliceFlags  flags,
                                    GCancellable             *cancellable,
                                    GAsyncReadyCallback       callback,
                                    gpointer                  user_data)
{
  GTask *task;
  SpliceData *data;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (G_IS_OUTPUT_STREAM (output));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_send_and_splice_async);
  data = g_new0 (SpliceData, 1);
  data->transfer = g_object_ref (transfer);
  data->output = g_object_ref (output);
  data->flags = flags;
  g_task_set_task_data (task, data, (GDestroyNotify) splice_data_free);

  g_curl_multi_send_async (self, transfer, cancellable, splice_sent_cb, task);
}

/**
 * g_curl_multi_send_and_splice_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.send_and_splice_async].
 *
 * Returns: the number of bytes written to the output, or -1 with @error
 *   set: %G_CURL_ERROR for a transfer that failed (before its headers or
 *   during its body), %G_IO_ERROR_CANCELLED, or the output's own error
 *
 * Since: 0.1
 */
gssize
g_curl_multi_send_and_splice_finish (GCurlMulti    *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), -1);
  g_return_val_if_fail (g_task_is_valid (result, self), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_send_and_splice_async),
                        -1);

  return g_task_propagate_int (G_TASK (result), error);
}
