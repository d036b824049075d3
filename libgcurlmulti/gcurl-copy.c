/* gcurl-copy.c: a stream into another, reading while writing
 *
 * What download_async does with a response body: copies it into the .part.
 * g_output_stream_splice_async() reads and writes in turn, 8 KiB at a
 * time, and a write to a local file is a round trip to a worker thread
 * (GLocalFileOutputStream has no asynchronous writes of its own), so the
 * copy spent more time handing pieces over than moving bytes, and the
 * network waited while the disk wrote.
 *
 * Here two buffers of GCURL_COPY_CHUNK_SIZE take turns: reads fill one
 * while the other is written, and what one holds is written in one piece. When both are
 * busy no read is pending, and the input stream (a transfer's) pauses the
 * transfer: the disk sets the pace without anything piling up.
 *
 * It ends once nothing is pending any more: at the end of the input, with
 * every byte read written; or at the first failure. A failed read (the
 * transfer failed or was cancelled) still writes what was read before it,
 * so that a resume need not ask for it again; a failed write cuts the
 * pending read short and writes nothing more. Either way the error is the
 * result, a failed write's over a failed read's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-copy-private.h"

typedef struct
{
  GInputStream  *in;
  GOutputStream *out;
  GCancellable  *cancel_read;   /* (owned): cuts a read short after a failed write */
  guint8        *buffers[2];    /* (owned) (nullable): made when first needed */
  gsize          fill[2];
  guint          filling;       /* the buffer reads go into; the other may be
                                 * being written */
  gboolean       reading;
  gboolean       writing;
  gboolean       ended;         /* no more reads: the end of the input or a
                                 * failure */
  gboolean       write_failed;
  guint64        written;
  GError        *error;         /* (nullable) (owned): the result */
} Copy;

static void
copy_free (gpointer data)
{
  Copy *c = data;

  g_object_unref (c->in);
  g_object_unref (c->out);
  g_object_unref (c->cancel_read);
  g_free (c->buffers[0]);
  g_free (c->buffers[1]);
  g_clear_error (&c->error);
  g_free (c);
}

static void copy_step (GTask *task);

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Copy *c = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  c->reading = FALSE;
  if (n > 0)
    c->fill[c->filling] += (gsize) n;
  else
    c->ended = TRUE;

  /* A read cut short after a failed write adds nothing to that error. */
  if (error != NULL && c->error == NULL)
    g_propagate_error (&c->error, error);
  else
    g_clear_error (&error);

  copy_step (task);
}

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  Copy *c = g_task_get_task_data (task);
  GError *error = NULL;
  gsize n = 0;

  c->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &n, &error))
    {
      /* What was written may be a part of the buffer: nothing more goes
       * after it. */
      c->write_failed = TRUE;
      c->ended = TRUE;
      g_clear_error (&c->error);
      c->error = error;
      g_cancellable_cancel (c->cancel_read);
    }
  c->written += n;

  copy_step (task);
}

/* After every completion: the next read and write, or the result. */
static void
copy_step (GTask *task)
{
  Copy *c = g_task_get_task_data (task);
  guint f = c->filling;

  /* What was read goes to the disk when the disk is free and no read is
   * filling the buffer: once it holds GCURL_COPY_WRITE_SIZE, or the last
   * bytes. A slow disk so gets writes of up to a whole buffer, a fast one
   * smaller writes that keep the .part close behind the network. */
  if (!c->write_failed && !c->writing && !c->reading && c->fill[f] > 0 &&
      (c->fill[f] >= GCURL_COPY_WRITE_SIZE || c->ended))
    {
      c->writing = TRUE;
      g_output_stream_write_all_async (c->out, c->buffers[f], c->fill[f], G_PRIORITY_DEFAULT,
                                       NULL, write_cb, task);
      c->filling = f = 1 - f;
      c->fill[f] = 0;
    }

  if (!c->ended && !c->reading && c->fill[f] < GCURL_COPY_CHUNK_SIZE)
    {
      if (c->buffers[f] == NULL)
        c->buffers[f] = g_malloc (GCURL_COPY_CHUNK_SIZE);
      c->reading = TRUE;
      g_input_stream_read_async (c->in, c->buffers[f] + c->fill[f],
                                 GCURL_COPY_CHUNK_SIZE - c->fill[f], G_PRIORITY_DEFAULT,
                                 c->cancel_read, read_cb, task);
    }

  if (c->reading || c->writing)
    return;

  if (c->error != NULL)
    g_task_return_error (task, g_steal_pointer (&c->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Copies @in into @out until the end of @in; @callback then gets the
 * result for g_curl_copy_finish(). Neither stream is closed. */
void
g_curl_copy_async (GInputStream        *in,
                   GOutputStream       *out,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Copy *c = g_new0 (Copy, 1);

  g_task_set_source_tag (task, g_curl_copy_async);
  c->in = g_object_ref (in);
  c->out = g_object_ref (out);
  c->cancel_read = g_cancellable_new ();
  g_task_set_task_data (task, c, copy_free);

  copy_step (task);
}

/* %TRUE if all of the input was written; *@written is how many bytes
 * were, whatever the result. */
gboolean
g_curl_copy_finish (GAsyncResult  *result,
                    guint64       *written,
                    GError       **error)
{
  Copy *c = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_copy_async), FALSE);

  if (written != NULL)
    *written = c->written;
  return g_task_propagate_boolean (G_TASK (result), error);
}
