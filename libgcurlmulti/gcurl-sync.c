/* gcurl-sync.c: send_and_read, send, send_and_splice, download: blocking
 *
 * Each blocking call runs the asynchronous call of the same name on a
 * sibling of the multi (g_curl_multi_take_sibling()): a multi of its own,
 * on a main context of its own, which the calling thread iterates until
 * the call is over. So a call works from any thread, many at once, and
 * from the multi's own thread with its loop not running; it never
 * iterates the caller's thread-default context (nor the multi's), and a
 * GCancellable cancelled from another thread wakes the sibling's context
 * (its cancellable source is attached there).
 *
 * A sibling takes its multi's settings when the call starts, and shares
 * its cookie jar and HSTS cache (a CURLSH with locks, gcurl-jar.c); its
 * connections are its own (libcurl 7.88 documents connection sharing
 * across threads as unsafe), kept open for the next call that takes the
 * sibling.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-multi.h"
#include "gcurl-multi-private.h"

/* The application's cancellable, which any thread may cancel, stands
 * for one of the call's own that only the sibling's context cancels: the
 * asynchronous calls watch theirs with a GCancellableSource on that
 * context, and GLib 2.74 leaks such a source when another thread cancels
 * its cancellable while the source goes away. */
typedef struct
{
  GCancellable *cancellable;      /* (owned) (nullable): the application's */
  gulong        handler;
  GMainContext *context;          /* (owned): the sibling's */
  GCancellable *own;              /* (owned): the asynchronous call's */
} SyncCancel;

static gboolean
cancel_own_cb (gpointer own)
{
  g_cancellable_cancel (own);
  return G_SOURCE_REMOVE;
}

/* In the cancelling thread: the cancel happens in the sibling's context,
 * at once if this thread runs it. */
static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  SyncCancel *cancel = user_data;

  g_main_context_invoke_full (cancel->context, G_PRIORITY_DEFAULT, cancel_own_cb,
                              g_object_ref (cancel->own), g_object_unref);
}

static SyncCancel *
sync_cancel_new (GCancellable *cancellable,
                 GMainContext *context)
{
  SyncCancel *cancel = g_new0 (SyncCancel, 1);

  cancel->context = g_main_context_ref (context);
  cancel->own = g_cancellable_new ();
  if (cancellable != NULL)
    {
      cancel->cancellable = g_object_ref (cancellable);
      cancel->handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), cancel,
                                               NULL);
    }

  return cancel;
}

/* Waits for a cancelled_cb() running in another thread to return. */
static void
sync_cancel_free (SyncCancel *cancel)
{
  if (cancel->cancellable != NULL)
    g_cancellable_disconnect (cancel->cancellable, cancel->handler);
  g_clear_object (&cancel->cancellable);
  g_clear_object (&cancel->own);
  g_main_context_unref (cancel->context);
  g_free (cancel);
}

/* A call in progress on a sibling. */
typedef struct
{
  GCurlMulti   *multi;      /* (owned): the application's */
  GCurlMulti   *sibling;    /* (owned) */
  GMainContext *context;    /* (unowned): the sibling's */
  SyncCancel   *cancel;     /* (owned) */
  GAsyncResult *result;     /* (owned) (nullable): once the call is over */
} SyncCall;

static void
sync_call_begin (SyncCall     *call,
                 GCurlMulti   *multi,
                 GCancellable *cancellable)
{
  call->multi = g_object_ref (multi);
  call->sibling = g_curl_multi_take_sibling (multi);
  call->context = g_curl_multi_get_context (call->sibling);
  call->result = NULL;
  g_main_context_push_thread_default (call->context);
  /* After the push: a cancellable cancelled already cancels at once. */
  call->cancel = sync_cancel_new (cancellable, call->context);
}

static void
sync_call_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  SyncCall *call = user_data;

  call->result = g_object_ref (result);
}

/* Runs the sibling's context until the asynchronous call is over. */
static void
sync_call_wait (SyncCall *call)
{
  while (call->result == NULL)
    g_main_context_iteration (call->context, TRUE);
}

/* Ends what still runs on @sibling (a stream's transfer, closed before
 * its end), so that it goes back to its multi idle. Its context must be
 * the caller's to run. */
static void
sibling_drain (GCurlMulti *sibling)
{
  GMainContext *context = g_curl_multi_get_context (sibling);

  if (g_curl_multi_get_n_transfers (sibling) == 0)
    return;

  g_curl_multi_cancel_all (sibling);
  g_main_context_push_thread_default (context);
  while (g_curl_multi_get_n_transfers (sibling) > 0)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
}

/* The sibling goes back to its multi, unless @keep (a stream takes it). */
static void
sync_call_end (SyncCall *call,
               gboolean  keep)
{
  g_main_context_pop_thread_default (call->context);
  g_clear_object (&call->result);
  if (!keep)
    g_clear_pointer (&call->cancel, sync_cancel_free);
  if (!keep)
    sibling_drain (call->sibling);
  if (!keep)
    g_curl_multi_return_sibling (call->multi, g_steal_pointer (&call->sibling));
  g_clear_object (&call->multi);
}

/**
 * g_curl_multi_send_and_read:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable, which may be cancelled from
 *   any thread
 * @error: return location for a #GError
 *
 * Runs @transfer and returns its response body, blocking the calling
 * thread until it has finished: the blocking form of
 * [method@GCurl.Multi.send_and_read_async], with the same errors.
 *
 * It may be called from any thread, from many at once, and from the
 * multi's own thread while its main loop is not running. The transfer
 * runs with the multi's settings as they are when the call starts
 * (proxy, CA file, user agent, default headers, limits, cookies), on a
 * connection of its own thread's (connections are reused from one call to
 * the next, never shared between threads at once). Neither the caller's
 * thread-default main context nor the multi's is iterated: the
 * transfer's signals are emitted in the calling thread, during the call.
 * See [Threads](threads.html).
 *
 * Returns: (transfer full): the response body (empty if it had none), or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
g_curl_multi_send_and_read (GCurlMulti     *self,
                            GCurlTransfer  *transfer,
                            GCancellable   *cancellable,
                            GError        **error)
{
  SyncCall call;
  GBytes *body;

  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (G_CURL_IS_TRANSFER (transfer), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sync_call_begin (&call, self, cancellable);
  g_curl_multi_send_and_read_async (call.sibling, transfer, call.cancel->own, sync_call_done_cb,
                                    &call);
  sync_call_wait (&call);
  body = g_curl_multi_send_and_read_finish (call.sibling, call.result, error);
  sync_call_end (&call, FALSE);

  return body;
}

/**
 * g_curl_multi_send_and_splice:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @output: where the body goes
 * @flags: what to close once the body is written
 * @cancellable: (nullable): a cancellable, which may be cancelled from
 *   any thread
 * @error: return location for a #GError
 *
 * Runs @transfer and writes its response body into @output, blocking the
 * calling thread until it is all written: the blocking form of
 * [method@GCurl.Multi.send_and_splice_async]. Threads as for
 * [method@GCurl.Multi.send_and_read]; @output is written from the calling
 * thread.
 *
 * Returns: the number of bytes written, or -1 with @error set
 *
 * Since: 0.1
 */
gssize
g_curl_multi_send_and_splice (GCurlMulti                *self,
                              GCurlTransfer             *transfer,
                              GOutputStream             *output,
                              GOutputStreamSpliceFlags   flags,
                              GCancellable              *cancellable,
                              GError                   **error)
{
  SyncCall call;
  gssize written;

  g_return_val_if_fail (G_CURL_IS_MULTI (self), -1);
  g_return_val_if_fail (G_CURL_IS_TRANSFER (transfer), -1);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), -1);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  sync_call_begin (&call, self, cancellable);
  g_curl_multi_send_and_splice_async (call.sibling, transfer, output, flags, call.cancel->own,
                                      sync_call_done_cb, &call);
  sync_call_wait (&call);
  written = g_curl_multi_send_and_splice_finish (call.sibling, call.result, error);
  sync_call_end (&call, FALSE);

  return written;
}

/**
 * g_curl_multi_download:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @destination: the file to write
 * @flags: how to treat an existing file or `.part`
 * @cancellable: (nullable): a cancellable, which may be cancelled from
 *   any thread
 * @error: return location for a #GError
 *
 * Downloads @transfer's response body into @destination, blocking the
 * calling thread until the file is complete: the blocking form of
 * [method@GCurl.Multi.download_async], with its `.part` file, resuming,
 * validation and retries. Threads as for
 * [method@GCurl.Multi.send_and_read].
 *
 * Returns: %TRUE once @destination holds the file, %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
g_curl_multi_download (GCurlMulti          *self,
                       GCurlTransfer       *transfer,
                       GFile               *destination,
                       GCurlDownloadFlags   flags,
                       GCancellable        *cancellable,
                       GError             **error)
{
  SyncCall call;
  gboolean done;

  g_return_val_if_fail (G_CURL_IS_MULTI (self), FALSE);
  g_return_val_if_fail (G_CURL_IS_TRANSFER (transfer), FALSE);
  g_return_val_if_fail (G_IS_FILE (destination), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  sync_call_begin (&call, self, cancellable);
  g_curl_multi_download_async (call.sibling, transfer, destination, flags, call.cancel->own,
                               sync_call_done_cb, &call);
  sync_call_wait (&call);
  done = g_curl_multi_download_finish (call.sibling, call.result, error);
  sync_call_end (&call, FALSE);

  return done;
}

/* A blocking send()'s stream has its sibling to itself until it goes:
 * its reads run the sibling's context. */
typedef struct
{
  GCurlMulti *multi;      /* (owned) */
  GCurlMulti *sibling;    /* (owned) */
  SyncCancel *cancel;     /* (owned): cancels the transfer until then */
} SiblingLoan;

static void
sibling_loan_free (gpointer data)
{
  SiblingLoan *loan = data;

  sync_cancel_free (loan->cancel);
  sibling_drain (loan->sibling);
  g_curl_multi_return_sibling (loan->multi, g_steal_pointer (&loan->sibling));
  g_object_unref (loan->multi);
  g_free (loan);
}

/**
 * g_curl_multi_send:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable, which may be cancelled from
 *   any thread
 * @error: return location for a #GError
 *
 * Sends @transfer's request and returns a stream of its response body as
 * soon as the response's headers have arrived, blocking the calling
 * thread until then: the blocking form of
 * [method@GCurl.Multi.send_async]. Threads as for
 * [method@GCurl.Multi.send_and_read].
 *
 * The stream reads blockingly (g_input_stream_read()) in the thread that
 * called this (one thread at a time, as for any stream), and
 * asynchronously there too if that thread runs its thread-default main
 * context for it: the body is received only while the stream is read.
 * The transfer keeps a connection of its own until the stream is closed
 * or finalized.
 *
 * Returns: (transfer full): the response body's stream, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
GInputStream *
g_curl_multi_send (GCurlMulti     *self,
                   GCurlTransfer  *transfer,
                   GCancellable   *cancellable,
                   GError        **error)
{
  SyncCall call;
  GInputStream *stream;

  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (G_CURL_IS_TRANSFER (transfer), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sync_call_begin (&call, self, cancellable);
  g_curl_multi_send_async (call.sibling, transfer, call.cancel->own, sync_call_done_cb, &call);
  sync_call_wait (&call);
  stream = g_curl_multi_send_finish (call.sibling, call.result, error);
  if (stream != NULL)
    {
      SiblingLoan *loan = g_new0 (SiblingLoan, 1);

      loan->multi = g_object_ref (call.multi);
      loan->sibling = g_steal_pointer (&call.sibling);
      loan->cancel = g_steal_pointer (&call.cancel);
      g_object_set_data_full (G_OBJECT (stream), "gcurl-sibling", loan, sibling_loan_free);
    }
  sync_call_end (&call, stream != NULL);

  return stream;
}
