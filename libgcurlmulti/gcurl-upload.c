/* gcurl-upload.c: a request body read from a GInputStream
 *
 * See gcurl-upload-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-upload-private.h"

/* The upload of @owner (refed while a read runs), which embeds it and is
 * told through @funcs, with @data. */
void
g_curl_upload_init (GCurlUpload            *upload,
                    const GCurlUploadFuncs *funcs,
                    gpointer                data,
                    GObject                *owner)
{
  memset (upload, 0, sizeof *upload);
  upload->funcs = funcs;
  upload->data = data;
  upload->owner = owner;
}

void
g_curl_upload_clear (GCurlUpload *upload)
{
  g_clear_object (&upload->stream);
  g_clear_pointer (&upload->chunk, g_bytes_unref);
  g_clear_object (&upload->cancellable);
  g_clear_error (&upload->error);
  g_clear_pointer (&upload->url, g_free);
}

/* The body of the next runs: @stream, of @length bytes (-1: unknown), or
 * none. */
void
g_curl_upload_set_stream (GCurlUpload  *upload,
                          GInputStream *stream,
                          gint64        length)
{
  g_clear_object (&upload->stream);
  upload->started = FALSE;
  if (stream != NULL)
    {
      upload->stream = g_object_ref (stream);
      upload->length = length;
    }
}

/* libcurl's read callback: copies what was read ahead. Returns the bytes
 * given, 0 at the end, CURL_READFUNC_ABORT after a read error, or
 * CURL_READFUNC_PAUSE when nothing is ready; wants_data then says that
 * the owner's flush must call g_curl_upload_read_ahead(). */
size_t
g_curl_upload_read (GCurlUpload *upload,
                    char        *buffer,
                    size_t       max)
{
  if (upload->chunk != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (upload->chunk, &len);
      gsize n = MIN (max, len - upload->offset);

      memcpy (buffer, data + upload->offset, n);
      upload->offset += n;
      upload->sent += n;
      if (upload->offset == len)
        {
          g_clear_pointer (&upload->chunk, g_bytes_unref);
          upload->offset = 0;
          /* Read the next chunk while libcurl sends this one. */
          upload->wants_data = TRUE;
        }
      return n;
    }

  if (upload->error != NULL)
    return CURL_READFUNC_ABORT;
  if (upload->eof)
    return 0;

  upload->wants_data = TRUE;
  return CURL_READFUNC_PAUSE;
}

static gboolean seek_and_read (GCurlUpload  *upload,
                               GError      **error);

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GCurlUpload *upload = user_data;
  GObject *owner = upload->owner;
  GError *error = NULL;
  GBytes *bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  upload->reading = FALSE;

  if (upload->rewind_pending)
    {
      /* The body is to be sent again (a new run, a 307 or 308) and waited
       * for this read, cancelled, to be over: a stream with an operation
       * pending can neither seek nor read. */
      g_clear_pointer (&bytes, g_bytes_unref);
      g_clear_error (&error);
      upload->rewind_pending = FALSE;
      if (!seek_and_read (upload, &error))
        upload->funcs->failed (upload->data, error);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
    }
  else
    {
      if (bytes == NULL)
        upload->error = error;
      else if (g_bytes_get_size (bytes) == 0)
        {
          upload->eof = TRUE;
          g_bytes_unref (bytes);
        }
      else
        {
          g_clear_pointer (&upload->chunk, g_bytes_unref);
          upload->chunk = bytes;
          upload->offset = 0;
        }
      upload->funcs->ready (upload->data);
    }

  /* The upload lives in its owner, which the read held. */
  g_object_unref (owner);
}

/* Starts the next read, if one is wanted and none runs. */
void
g_curl_upload_read_ahead (GCurlUpload *upload)
{
  upload->wants_data = FALSE;
  if (upload->reading || upload->chunk != NULL || upload->eof ||
      upload->error != NULL || upload->stream == NULL)
    return;

  upload->reading = TRUE;
  upload->started = TRUE;
  g_input_stream_read_bytes_async (upload->stream, GCURL_UPLOAD_CHUNK_SIZE,
                                   G_PRIORITY_DEFAULT, upload->cancellable,
                                   read_cb, upload);
  g_object_ref (upload->owner);
}

/* Seeks the stream back to its start, if it was read from, and reads the
 * first chunk ahead. */
static gboolean
seek_and_read (GCurlUpload  *upload,
               GError      **error)
{
  g_autoptr(GError) local_error = NULL;

  if (upload->started)
    {
      if (!G_IS_SEEKABLE (upload->stream) || !g_seekable_can_seek (G_SEEKABLE (upload->stream)))
        {
          g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_SEND_FAIL_REWIND,
                       _("The request body of %s cannot be sent again: its stream "
                         "cannot seek back"), upload->url);
          return FALSE;
        }
      if (!g_seekable_seek (G_SEEKABLE (upload->stream), 0, G_SEEK_SET, NULL, &local_error))
        {
          g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_SEND_FAIL_REWIND,
                       _("The request body of %s cannot be sent again: %s"),
                       upload->url, local_error->message);
          return FALSE;
        }
    }

  g_curl_upload_read_ahead (upload);
  return TRUE;
}

/* Puts the stream back at its start for a new run or a redirect that sends
 * the body again (to @url, as messages show it), and reads the first chunk
 * ahead. A read still running (the read-ahead of the request that is being
 * replaced) is cancelled, and the seek waits for its end. */
gboolean
g_curl_upload_rewind (GCurlUpload  *upload,
                      const char   *url,
                      GError      **error)
{
  if (upload->cancellable != NULL)
    g_cancellable_cancel (upload->cancellable);
  g_clear_object (&upload->cancellable);
  upload->cancellable = g_cancellable_new ();
  g_clear_pointer (&upload->chunk, g_bytes_unref);
  g_clear_error (&upload->error);
  g_free (upload->url);
  upload->url = g_strdup (url);
  upload->offset = 0;
  upload->sent = 0;
  upload->eof = FALSE;
  upload->wants_data = FALSE;

  if (upload->reading)
    {
      upload->rewind_pending = TRUE;
      return TRUE;
    }

  return seek_and_read (upload, error);
}

/* libcurl rewinds the body itself only for its own retries (a reused
 * connection that turned out dead): allow it when the stream is where it
 * started. */
int
g_curl_upload_seek (GCurlUpload *upload,
                    curl_off_t   offset,
                    int          origin)
{
  if (upload->stream == NULL)
    return CURL_SEEKFUNC_OK;
  if (offset == 0 && origin == SEEK_SET && !upload->started)
    return CURL_SEEKFUNC_OK;

  return CURL_SEEKFUNC_CANTSEEK;
}
