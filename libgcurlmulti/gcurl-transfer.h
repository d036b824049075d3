/* gcurl-transfer.h: one HTTP transfer
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

G_BEGIN_DECLS

/**
 * GCurlTransferState:
 * @G_CURL_TRANSFER_STATE_NEW: made, not added to a multi yet
 * @G_CURL_TRANSFER_STATE_RUNNING: added to a multi and not finished
 * @G_CURL_TRANSFER_STATE_PAUSED: running, but paused with
 *   [method@GCurl.Transfer.pause]
 * @G_CURL_TRANSFER_STATE_SUCCEEDED: finished: the response was received in
 *   full (whatever its HTTP status)
 * @G_CURL_TRANSFER_STATE_FAILED: finished with an error, see
 *   [method@GCurl.Transfer.get_error]
 * @G_CURL_TRANSFER_STATE_CANCELLED: finished because
 *   [method@GCurl.Transfer.cancel] was called
 *
 * Where a [class@GCurl.Transfer] is in its run.
 *
 * Since: 1.0
 */
typedef enum {
  G_CURL_TRANSFER_STATE_NEW,
  G_CURL_TRANSFER_STATE_RUNNING,
  G_CURL_TRANSFER_STATE_PAUSED,
  G_CURL_TRANSFER_STATE_SUCCEEDED,
  G_CURL_TRANSFER_STATE_FAILED,
  G_CURL_TRANSFER_STATE_CANCELLED,
} GCurlTransferState;

/**
 * G_CURL_TYPE_TRANSFER:
 *
 * The `GType` of [class@GCurl.Transfer], for g_object_new() and type checks.
 *
 * Since: 1.0
 */
/**
 * GCurlTimings:
 * @name_lookup: microseconds from the start of the request until the host
 *   name was resolved
 * @connect: until the TCP connection was made (to the proxy, if any)
 * @tls_handshake: until the TLS handshake was done; 0 without TLS
 * @first_byte: until the first byte of the response arrived
 * @total: until the request was over
 * @redirects: microseconds spent in the redirects followed before the last
 *   request, which the other figures describe
 *
 * How long the steps of a transfer's last request took, from libcurl's
 * `CURLINFO_*_TIME_T`: each figure counts from the start of that request,
 * so they grow in this order. A step that was not needed (a reused
 * connection has no name lookup or connect of its own) is 0.
 *
 * Since: 1.0
 */
typedef struct
{
  gint64 name_lookup;
  gint64 connect;
  gint64 tls_handshake;
  gint64 first_byte;
  gint64 total;
  gint64 redirects;

  /*< private >*/
  gpointer padding[4];
} GCurlTimings;

#define G_CURL_TYPE_TIMINGS (g_curl_timings_get_type ())

GCURL_AVAILABLE_IN_ALL
GType               g_curl_timings_get_type              (void) G_GNUC_CONST;
GCURL_AVAILABLE_IN_ALL
GCurlTimings       *g_curl_timings_copy                  (const GCurlTimings *timings);
GCURL_AVAILABLE_IN_ALL
void                g_curl_timings_free                  (GCurlTimings  *timings);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GCurlTimings, g_curl_timings_free)

#define G_CURL_TYPE_TRANSFER (g_curl_transfer_get_type ())

GCURL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GCurlTransfer, g_curl_transfer, G_CURL, TRANSFER, GObject)

GCURL_AVAILABLE_IN_ALL
GCurlTransfer      *g_curl_transfer_new                  (const char    *url);
GCURL_AVAILABLE_IN_ALL
const char         *g_curl_transfer_get_url              (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
CURL               *g_curl_transfer_get_handle           (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
const char         *g_curl_transfer_get_method           (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_method           (GCurlTransfer *self,
                                                          const char    *method);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_request_header   (GCurlTransfer *self,
                                                          const char    *name,
                                                          const char    *value);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_request_body     (GCurlTransfer *self,
                                                          GBytes        *body,
                                                          const char    *content_type);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_request_stream   (GCurlTransfer *self,
                                                          GInputStream  *stream,
                                                          gint64         length);
GCURL_AVAILABLE_IN_ALL
GCurlTransferState  g_curl_transfer_get_state            (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
guint               g_curl_transfer_get_status_code      (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
const char         *g_curl_transfer_get_response_header  (GCurlTransfer *self,
                                                          const char    *name);
GCURL_AVAILABLE_IN_ALL
GBytes             *g_curl_transfer_get_body             (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
const GError       *g_curl_transfer_get_error            (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_downloaded_bytes (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_download_size    (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_uploaded_bytes   (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_upload_size      (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
double              g_curl_transfer_get_fraction         (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_download_speed   (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_time_remaining   (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
gint64              g_curl_transfer_get_max_download_speed (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_max_download_speed (GCurlTransfer *self,
                                                            gint64         bytes_per_second);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_expected_checksum (GCurlTransfer *self,
                                                           GChecksumType  type,
                                                           const char    *hex_digest);
GCURL_AVAILABLE_IN_ALL
GCurlTimings       *g_curl_transfer_get_timings          (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_pause                (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_resume               (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_cancel               (GCurlTransfer *self);

G_END_DECLS
