/* gcurl-input-stream.c: the response body of send_async, with back-pressure
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-input-stream-private.h"
#include "gcurl-multi-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* The stream is fed by the transfer's write callback through a sink, which
 * only queues the chunk and wakes the stream's pollable sources. When the
 * reader is GCURL_STREAM_HIGH_WATER behind, the sink refuses the chunk and
 * libcurl pauses the transfer; reading below GCURL_STREAM_LOW_WATER lets it
 * go on. Everything happens on the multi's main context: no threads. */

struct _GCurlInputStream
{
  GInputStream   parent_instance;

  GCurlTransfer *transfer;
  GMainContext  *context;
  gulong         finished_id;
  GCurlBodySink  sink;          /* the transfer's, until our run ends */

  GQueue         chunks;        /* GBytes, oldest first */
  gsize          head_offset;   /* bytes of the first chunk already read */
  gsize          buffered;
  gsize          max_buffered;

  gboolean       eof;           /* the transfer succeeded */
  GError        *error;         /* the transfer failed */
  gboolean       ended;         /* our run of the transfer is over */

  GPtrArray     *sources;       /* child sources of pollable sources */

  /* A g_input_stream_read_async() waiting for data: the sink copies
   * libcurl's chunks straight into its buffer, and the flush after
   * libcurl returns completes it, so a fast stream is copied once. */
  GTask         *pending;
  guint8        *pending_buffer;
  gsize          pending_count;
  gsize          pending_done;
  GSource       *pending_cancel_source;
};

static gssize read_buffered (GCurlInputStream *self,
                             void             *buffer,
                             gsize             count);

static void g_curl_input_stream_pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GCurlInputStream, g_curl_input_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      g_curl_input_stream_pollable_iface_init))

static gboolean
is_readable (GCurlInputStream *self)
{
  return self->buffered > 0 || self->eof || self->error != NULL;
}

static void
wake_sources (GCurlInputStream *self)
{
  guint i = 0;

  while (i < self->sources->len)
    {
      GSource *source = g_ptr_array_index (self->sources, i);

      if (g_source_is_destroyed (source))
        {
          g_ptr_array_remove_index_fast (self->sources, i);
          continue;
        }
      g_source_set_ready_time (source, 0);
      i++;
    }
}

static GCurlInputStream *
from_sink (GCurlBodySink *sink)
{
  return (GCurlInputStream *) ((char *) sink - G_STRUCT_OFFSET (GCurlInputStream, sink));
}

static gboolean
stream_begin (GCurlBodySink *sink,
              gint64         content_length)
{
  return TRUE;
}

static GCurlSinkResult
stream_write (GCurlBodySink *sink,
              const char    *data,
              gsize          len,
              gboolean       may_refuse)
{
  GCurlInputStream *self = from_sink (sink);

  if (self->pending != NULL && self->pending_done < self->pending_count)
    {
      gsize n = MIN (len, self->pending_count - self->pending_done);

      memcpy (self->pending_buffer + self->pending_done, data, n);
      self->pending_done += n;
      data += n;
      len -= n;
      /* A chunk taken in part must be taken whole: libcurl would give all
       * of it again after a pause. */
      if (len == 0)
        return G_CURL_SINK_TAKEN;
    }
  else if (self->buffered >= GCURL_STREAM_HIGH_WATER && may_refuse)
    return G_CURL_SINK_FULL;

  g_queue_push_tail (&self->chunks, g_bytes_new (data, len));
  self->buffered += len;
  self->max_buffered = MAX (self->max_buffered, self->buffered);
  wake_sources (self);

  return G_CURL_SINK_TAKEN;
}

/* Completes the waiting read if there is anything to say: the bytes the
 * sink copied, or the end or failure of the transfer. */
static GTask *
take_pending (GCurlInputStream *self)
{
  self->pending_buffer = NULL;
  g_curl_clear_source (&self->pending_cancel_source);
  return g_steal_pointer (&self->pending);
}

static void
complete_pending (GCurlInputStream *self)
{
  GTask *task;
  GError *error = NULL;
  gssize n;

  if (self->pending == NULL)
    return;

  if (self->pending_done > 0)
    {
      n = (gssize) self->pending_done;
      task = take_pending (self);
    }
  else if (self->buffered > 0)
    {
      guint8 *buffer = self->pending_buffer;

      /* Taken first: reading may unpause libcurl, whose next chunks must
       * then go to the queue, not over what is read here. */
      task = take_pending (self);
      n = read_buffered (self, buffer, self->pending_count);
    }
  else if (self->error != NULL)
    {
      error = g_error_copy (self->error);
      n = -1;
      task = take_pending (self);
    }
  else if (self->eof)
    {
      n = 0;
      task = take_pending (self);
    }
  else
    return;

  /* The callback may run from here and read again, or drop the stream. */
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, n);
  g_object_unref (task);
}

static void
stream_flush (GCurlBodySink *sink)
{
  complete_pending (from_sink (sink));
}

/* Our run has ended: the transfer says how, before any handler of its
 * "finished" may start another run (whose state is not ours to read). */
static void
stream_end (GCurlBodySink *sink,
            const GError  *error)
{
  GCurlInputStream *self = from_sink (sink);

  self->ended = TRUE;
  if (error != NULL)
    {
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
    }
  else
    {
      self->eof = TRUE;
    }
  wake_sources (self);
}

static const GCurlBodySinkFuncs stream_sink_funcs = {
  GCURL_SINK_BUFFER_SIZE, stream_begin, stream_write, stream_flush, stream_end,
};

/* A waiting read completes with "finished", where application code may
 * run. */
static void
transfer_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  GCurlInputStream *self = user_data;

  g_clear_signal_handler (&self->finished_id, transfer);
  complete_pending (self);
}

static void
detach_transfer (GCurlInputStream *self)
{
  if (self->transfer == NULL)
    return;

  g_clear_signal_handler (&self->finished_id, self->transfer);
  /* Closing early ends the transfer: nobody would read the rest. Once our
   * run is over, the transfer (maybe running again) is none of ours. */
  if (!self->ended)
    {
      g_curl_transfer_set_sink (self->transfer, NULL);
      g_curl_transfer_cancel (self->transfer);
    }
  g_clear_object (&self->transfer);
}

static gssize
read_buffered (GCurlInputStream *self,
               void             *buffer,
               gsize             count)
{
  gsize done = 0;

  while (done < count && self->buffered > 0)
    {
      GBytes *head = g_queue_peek_head (&self->chunks);
      gsize size;
      const guint8 *data = g_bytes_get_data (head, &size);
      gsize n = MIN (count - done, size - self->head_offset);

      memcpy ((guint8 *) buffer + done, data + self->head_offset, n);
      done += n;
      self->head_offset += n;
      self->buffered -= n;
      if (self->head_offset == size)
        {
          g_bytes_unref (g_queue_pop_head (&self->chunks));
          self->head_offset = 0;
        }
    }

  /* Caught up: let libcurl deliver again (this may refill the queue at
   * once, through the sink). */
  if (self->buffered <= GCURL_STREAM_LOW_WATER && self->transfer != NULL && !self->ended)
    g_curl_transfer_unpause_sink (self->transfer);

  return done;
}

static gssize
g_curl_input_stream_read_nonblocking (GPollableInputStream  *stream,
                                      void                  *buffer,
                                      gsize                  count,
                                      GError               **error)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (stream);

  if (self->buffered > 0)
    return read_buffered (self, buffer, count);

  /* Never a silent short read: a transfer that failed after the headers
   * fails the read once the bytes that did arrive have been read. */
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return -1;
    }
  if (self->eof || count == 0)
    return 0;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                       g_strerror (EAGAIN));
  return -1;
}

static gboolean
g_curl_input_stream_is_readable (GPollableInputStream *stream)
{
  return is_readable (G_CURL_INPUT_STREAM (stream));
}

static gboolean
child_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

/* g_pollable_source_new_full() gives the child a dummy callback, which
 * needs this; the parent source does the real work. */
static gboolean
child_closure_callback (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs child_funcs = {
  NULL, NULL, child_dispatch, NULL, child_closure_callback, NULL,
};

static GSource *
g_curl_input_stream_create_source (GPollableInputStream *stream,
                                   GCancellable         *cancellable)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (stream);
  GSource *child = g_source_new (&child_funcs, sizeof (GSource));
  GSource *source;

  g_source_set_static_name (child, "GCurlInputStream readable");
  if (is_readable (self))
    g_source_set_ready_time (child, 0);
  g_ptr_array_add (self->sources, g_source_ref (child));

  source = g_pollable_source_new_full (stream, child, cancellable);
  g_source_unref (child);

  return source;
}

static void
g_curl_input_stream_pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->is_readable = g_curl_input_stream_is_readable;
  iface->create_source = g_curl_input_stream_create_source;
  iface->read_nonblocking = g_curl_input_stream_read_nonblocking;
}

static void
wake_context_cb (GCancellable *cancellable,
                 gpointer      context)
{
  g_main_context_wakeup (context);
}

/* A blocking read can only be served by running the multi's context,
 * which must then be this thread's (a blocking send()'s stream has a
 * context of its own, gcurl-sync.c). */
static gssize
g_curl_input_stream_read (GInputStream  *stream,
                          void          *buffer,
                          gsize          count,
                          GCancellable  *cancellable,
                          GError       **error)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (stream);

  if (!is_readable (self) && !g_main_context_acquire (self->context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                           _("A blocking read must run on the thread of the "
                             "transfer’s main context"));
      return -1;
    }

  if (!is_readable (self))
    {
      /* Cancelled from another thread: the wait must end now. */
      gulong id = cancellable != NULL
                  ? g_cancellable_connect (cancellable, G_CALLBACK (wake_context_cb),
                                           g_main_context_ref (self->context),
                                           (GDestroyNotify) g_main_context_unref)
                  : 0;

      while (!is_readable (self) && !g_cancellable_is_cancelled (cancellable))
        g_main_context_iteration (self->context, TRUE);
      g_cancellable_disconnect (cancellable, id);
      g_main_context_release (self->context);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;

  return g_curl_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream),
                                               buffer, count, error);
}

static gboolean
pending_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  GCurlInputStream *self = user_data;
  GTask *task;

  /* What the sink copied already is the read's result, not lost. */
  if (self->pending == NULL || self->pending_done > 0)
    return G_SOURCE_REMOVE;

  task = take_pending (self);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

/* Reads what is buffered at once; otherwise waits for libcurl's next
 * chunk, which the sink then copies straight into @buffer. */
static void
g_curl_input_stream_read_async (GInputStream        *stream,
                                void                *buffer,
                                gsize                count,
                                int                  io_priority,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (stream);
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;
  gssize n;

  g_task_set_source_tag (task, g_curl_input_stream_read_async);
  g_task_set_priority (task, io_priority);
  /* Bytes the sink copied before a cancellation are the read's result:
   * GTask must not turn them into G_IO_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (is_readable (self) || count == 0)
    {
      n = g_curl_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream),
                                                buffer, count, &error);
      if (n < 0)
        g_task_return_error (task, error);
      else
        g_task_return_int (task, n);
      return;
    }

  self->pending = g_steal_pointer (&task);
  self->pending_buffer = buffer;
  self->pending_count = count;
  self->pending_done = 0;
  /* Cancelled from any thread, handled in the transfer's context. */
  if (cancellable != NULL)
    {
      self->pending_cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (self->pending_cancel_source, "GCurlInputStream read");
      g_source_set_callback (self->pending_cancel_source, G_SOURCE_FUNC (pending_cancelled_cb),
                             self, NULL);
      g_source_attach (self->pending_cancel_source, self->context);
    }
}

static gssize
g_curl_input_stream_read_finish (GInputStream  *stream,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

static gboolean
g_curl_input_stream_close (GInputStream  *stream,
                           GCancellable  *cancellable,
                           GError       **error)
{
  detach_transfer (G_CURL_INPUT_STREAM (stream));
  return TRUE;
}

/* GInputStream would close in a worker thread; the transfer may only be
 * touched from its context, and closing never blocks anyway. */
static void
g_curl_input_stream_close_async (GInputStream        *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, g_curl_input_stream_close_async);
  g_curl_input_stream_close (stream, cancellable, NULL);
  g_task_return_boolean (task, TRUE);
}

static gboolean
g_curl_input_stream_close_finish (GInputStream  *stream,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
g_curl_input_stream_dispose (GObject *object)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (object);

  detach_transfer (self);

  G_OBJECT_CLASS (g_curl_input_stream_parent_class)->dispose (object);
}

static void
g_curl_input_stream_finalize (GObject *object)
{
  GCurlInputStream *self = G_CURL_INPUT_STREAM (object);

  g_queue_clear_full (&self->chunks, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&self->error);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (g_curl_input_stream_parent_class)->finalize (object);
}

static void
g_curl_input_stream_class_init (GCurlInputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->dispose = g_curl_input_stream_dispose;
  object_class->finalize = g_curl_input_stream_finalize;
  stream_class->read_fn = g_curl_input_stream_read;
  stream_class->read_async = g_curl_input_stream_read_async;
  stream_class->read_finish = g_curl_input_stream_read_finish;
  stream_class->close_fn = g_curl_input_stream_close;
  stream_class->close_async = g_curl_input_stream_close_async;
  stream_class->close_finish = g_curl_input_stream_close_finish;
}

static void
g_curl_input_stream_init (GCurlInputStream *self)
{
  g_queue_init (&self->chunks);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
}

/* Makes the stream of @transfer's next run, which must not have started:
 * its body goes to the stream instead of memory. */
GInputStream *
g_curl_input_stream_new (GCurlTransfer *transfer,
                         GMainContext  *context)
{
  GCurlInputStream *self = g_object_new (G_CURL_TYPE_INPUT_STREAM, NULL);

  self->transfer = g_object_ref (transfer);
  self->context = g_main_context_ref (context);
  self->sink.funcs = &stream_sink_funcs;
  g_curl_transfer_set_sink (transfer, &self->sink);
  self->finished_id = g_signal_connect (transfer, "finished",
                                        G_CALLBACK (transfer_finished_cb), self);

  return G_INPUT_STREAM (self);
}

gsize
g_curl_input_stream_get_max_buffered (GCurlInputStream *self)
{
  return self->max_buffered;
}
