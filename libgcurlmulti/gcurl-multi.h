/* gcurl-multi.h: transfers run together on one main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <gio/gio.h>
#include <curl/curl.h>

#include "gcurl-version.h"
#include "gcurl-source.h"
#include "gcurl-transfer.h"

G_BEGIN_DECLS

/**
 * GCurlDownloadFlags:
 * @G_CURL_DOWNLOAD_NONE: no flags
 * @G_CURL_DOWNLOAD_RESUME: continue an existing `.part` file with a
 *   `Range` request
 * @G_CURL_DOWNLOAD_OVERWRITE: replace an existing destination file
 * @G_CURL_DOWNLOAD_IF_MODIFIED: revalidate an existing destination: ask
 *   only for a version other than the one it holds (`If-None-Match` with
 *   the `ETag` kept with it, `If-Modified-Since` with its `Last-Modified`
 *   or its modification time); a 304 leaves it untouched, a new version
 *   replaces it. A saved file's `ETag` and `Last-Modified` are kept in an
 *   extended attribute, or where the file system has none (and only with
 *   this flag) in `<destination>.validators` beside it, which the next
 *   version saved replaces or removes; that side file counts only while
 *   the file keeps the size and modification time the download gave it
 *
 * Flags for downloads to a file. A download to a folder
 * ([method@GCurl.Multi.download_to_directory_async]) never replaces a
 * file: it ignores %G_CURL_DOWNLOAD_OVERWRITE and
 * %G_CURL_DOWNLOAD_IF_MODIFIED.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/ {
  G_CURL_DOWNLOAD_NONE = 0,
  G_CURL_DOWNLOAD_RESUME = 1 << 0,
  G_CURL_DOWNLOAD_OVERWRITE = 1 << 1,
  G_CURL_DOWNLOAD_IF_MODIFIED = 1 << 2,
} GCurlDownloadFlags;

/**
 * G_CURL_TYPE_MULTI:
 *
 * The `GType` of [class@GCurl.Multi], for g_object_new() and type checks.
 *
 * Since: 0.1
 */
#define G_CURL_TYPE_MULTI (g_curl_multi_get_type ())

GCURL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GCurlMulti, g_curl_multi, G_CURL, MULTI, GObject)

GCURL_AVAILABLE_IN_ALL
GCurlMulti   *g_curl_multi_new                   (void);
GCURL_AVAILABLE_IN_ALL
GMainContext *g_curl_multi_get_context           (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
CURLM        *g_curl_multi_get_handle            (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
GCurlSourceBackend g_curl_multi_get_backend      (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_add_transfer          (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_cancel_all            (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_set_default_header    (GCurlMulti          *self,
                                                  const char          *name,
                                                  const char          *value);
GCURL_AVAILABLE_IN_ALL
guint         g_curl_multi_get_n_transfers       (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
char        **g_curl_multi_get_cookies           (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_add_cookie            (GCurlMulti          *self,
                                                  const char          *url,
                                                  const char          *set_cookie);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_clear_cookies         (GCurlMulti          *self);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_send_and_read_async   (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GCURL_AVAILABLE_IN_ALL
GBytes       *g_curl_multi_send_and_read_finish  (GCurlMulti          *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_send_async            (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GCURL_AVAILABLE_IN_ALL
GInputStream *g_curl_multi_send_finish           (GCurlMulti          *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_send_and_splice_async (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GOutputStream       *output,
                                                  GOutputStreamSpliceFlags flags,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GCURL_AVAILABLE_IN_ALL
gssize        g_curl_multi_send_and_splice_finish (GCurlMulti         *self,
                                                   GAsyncResult       *result,
                                                   GError            **error);

GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_download_async        (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GFile               *destination,
                                                  GCurlDownloadFlags   flags,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GCURL_AVAILABLE_IN_ALL
gboolean      g_curl_multi_download_finish       (GCurlMulti          *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
GCURL_AVAILABLE_IN_ALL
void          g_curl_multi_download_to_directory_async  (GCurlMulti          *self,
                                                         GCurlTransfer       *transfer,
                                                         GFile               *directory,
                                                         GCurlDownloadFlags   flags,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
GCURL_AVAILABLE_IN_ALL
GFile        *g_curl_multi_download_to_directory_finish (GCurlMulti          *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

/* Blocking calls, from any thread (gcurl-sync.c) */
GCURL_AVAILABLE_IN_ALL
GBytes       *g_curl_multi_send_and_read         (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
GCURL_AVAILABLE_IN_ALL
GInputStream *g_curl_multi_send                  (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
GCURL_AVAILABLE_IN_ALL
gssize        g_curl_multi_send_and_splice       (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GOutputStream       *output,
                                                  GOutputStreamSpliceFlags flags,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
GCURL_AVAILABLE_IN_ALL
gboolean      g_curl_multi_download              (GCurlMulti          *self,
                                                  GCurlTransfer       *transfer,
                                                  GFile               *destination,
                                                  GCurlDownloadFlags   flags,
                                                  GCancellable        *cancellable,
                                                  GError             **error);

G_END_DECLS
