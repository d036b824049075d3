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

  GQueue         chunks;        /* GBytes, oldest first */
  gsize          head_offset;   /* bytes of the first chunk already read */
  gsize          buffered;
  gsize          max_buffered;

  gboolean       eof;           /* the transfer succeeded */
  GError        *error;         /* the transfer failed */

  GPtrArray     *sources;       /* child sources of pollable sources */
};

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

static gboolean
stream_sink (const char *data,
             gsize       len,
             gpointer    user_data)
{
  GCurlInputStream *self = user_data;

  if (self->buffered >= GCURL_STREAM_HIGH_WATER)
    return FALSE;

  g_queue_push_tail (&self->chunks, g_bytes_new (data, len));
  self->buffered += len;
  self->max_buffered = MAX (self->max_buffered, self->buffered);
  wake_sources (self);

  return TRUE;
}

static void
transfer_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  GCurlInputStream *self = user_data;
  const GError *error = g_curl_transfer_get_error (transfer);

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

static void
detach_transfer (GCurlInputStream *self)
{
  if (self->transfer == NULL)
    return;

  g_clear_signal_handler (&self->finished_id, self->transfer);
  g_curl_transfer_set_sink (self->transfer, NULL, NULL, NULL);
  /* Closing early ends the transfer: nobody would read the rest. */
  g_curl_transfer_cancel (self->transfer);
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
  if (self->buffered <= GCURL_STREAM_LOW_WATER && self->transfer != NULL)
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

/* A blocking read can only be served by running the multi's context,
 * which must then be this thread's. */
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
      while (!is_readable (self) && !g_cancellable_is_cancelled (cancellable))
        g_main_context_iteration (self->context, TRUE);
      g_main_context_release (self->context);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;

  return g_curl_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream),
                                               buffer, count, error);
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
  g_curl_transfer_set_sink (transfer, stream_sink, self, NULL);
  self->finished_id = g_signal_connect (transfer, "finished",
                                        G_CALLBACK (transfer_finished_cb), self);

  return G_INPUT_STREAM (self);
}

gsize
g_curl_input_stream_get_max_buffered (GCurlInputStream *self)
{
  return self->max_buffered;
}
