/* gcurl-upload-private.h: a request body read from a GInputStream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* How much of a request body stream is read ahead at a time. */
#define GCURL_UPLOAD_CHUNK_SIZE (256 * 1024)

/* What the upload tells its owner (the transfer), from the main context,
 * never from inside libcurl. */
typedef struct
{
  /* A chunk, the end or a read error is there: libcurl may read again. */
  void (*ready)  (gpointer  data);
  /* The body cannot be sent again (a seek that failed once the read
   * ahead of the replaced request was over): the run must end. */
  void (*failed) (gpointer  data,
                  GError   *error);
} GCurlUploadFuncs;

/* libcurl asks for data in its read callback; the upload only copies what
 * an asynchronous read brought. With nothing ready it has libcurl pause,
 * and asks its owner's flush (outside libcurl: the stream may be
 * application code) to start the next read, whose completion unpauses. */
typedef struct
{
  GInputStream           *stream;          /* (nullable) (owned) */
  gint64                  length;          /* -1: chunked */
  GBytes                 *chunk;           /* (nullable) (owned): read ahead */
  gsize                   offset;          /* of chunk already given */
  GCancellable           *cancellable;     /* (owned): of the reads of this run */
  GError                 *error;           /* (nullable) (owned): a read failed */
  char                   *url;             /* (nullable) (owned): for messages */
  gint64                  sent;            /* body bytes given to libcurl */
  guint                   eof : 1;
  guint                   reading : 1;
  guint                   wants_data : 1;  /* a read is to be started */
  guint                   started : 1;     /* the stream has been read from */
  guint                   rewind_pending : 1;  /* seek once the read ends */
  const GCurlUploadFuncs *funcs;
  gpointer                data;            /* for funcs */
  GObject                *owner;           /* (unowned): refed while reading */
} GCurlUpload;

void     g_curl_upload_init       (GCurlUpload            *upload,
                                   const GCurlUploadFuncs *funcs,
                                   gpointer                data,
                                   GObject                *owner);
void     g_curl_upload_clear      (GCurlUpload            *upload);
void     g_curl_upload_set_stream (GCurlUpload            *upload,
                                   GInputStream           *stream,
                                   gint64                  length);
size_t   g_curl_upload_read       (GCurlUpload            *upload,
                                   char                   *buffer,
                                   size_t                  max);
void     g_curl_upload_read_ahead (GCurlUpload            *upload);
gboolean g_curl_upload_rewind     (GCurlUpload            *upload,
                                   const char             *url,
                                   GError                **error);
int      g_curl_upload_seek       (GCurlUpload            *upload,
                                   curl_off_t              offset,
                                   int                     origin);

G_END_DECLS
