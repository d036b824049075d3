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

#include "gcurl-timings.h"
#include "gcurl-version.h"

G_BEGIN_DECLS

/**
 * GCurlTransferState:
 * @G_CURL_TRANSFER_STATE_NEW: made, not added to a multi yet
 * @G_CURL_TRANSFER_STATE_RUNNING: added to a multi, its request sent, and
 *   not finished
 * @G_CURL_TRANSFER_STATE_PAUSED: added, but paused with
 *   [method@GCurl.Transfer.pause]
 * @G_CURL_TRANSFER_STATE_SUCCEEDED: finished: the response was received in
 *   full (whatever its HTTP status)
 * @G_CURL_TRANSFER_STATE_FAILED: finished with an error, see
 *   [method@GCurl.Transfer.get_error]
 * @G_CURL_TRANSFER_STATE_CANCELLED: finished because
 *   [method@GCurl.Transfer.cancel] was called
 * @G_CURL_TRANSFER_STATE_QUEUED: added to a multi that limits its
 *   connections, waiting for one: for a slot under
 *   [property@GCurl.Multi:max-total-connections] and
 *   [property@GCurl.Multi:max-host-connections], then for the connection
 *   itself
 * @G_CURL_TRANSFER_STATE_RETRYING: a download
 *   ([method@GCurl.Multi.download_async]) whose attempt failed, waiting to
 *   try again; [method@GCurl.Transfer.get_error] says why
 *
 * Where a [class@GCurl.Transfer] is in its run.
 *
 * ## Transfers
 *
 * A transfer starts %G_CURL_TRANSFER_STATE_NEW. Added to a multi, it is
 * %G_CURL_TRANSFER_STATE_RUNNING (%G_CURL_TRANSFER_STATE_PAUSED while
 * paused) until it ends %G_CURL_TRANSFER_STATE_SUCCEEDED,
 * %G_CURL_TRANSFER_STATE_FAILED or %G_CURL_TRANSFER_STATE_CANCELLED, just
 * before [signal@GCurl.Transfer::finished]: it notifies `running`, then
 * `succeeded`.
 *
 * On a multi with [property@GCurl.Multi:max-total-connections] or
 * [property@GCurl.Multi:max-host-connections] set, where libcurl holds
 * back the transfers beyond the limits, a transfer added is
 * %G_CURL_TRANSFER_STATE_QUEUED until libcurl has a connection for it and
 * sends its request (`CURLOPT_PREREQFUNCTION`, for a new connection and a
 * reused one alike; the name lookup and the TCP and TLS handshakes of a
 * new one count as waiting), and only then
 * %G_CURL_TRANSFER_STATE_RUNNING: `queued`, `running`, `succeeded`. Without
 * limits libcurl holds nothing back, and transfers are never queued.
 *
 * A transfer paused before it is added starts %G_CURL_TRANSFER_STATE_PAUSED
 * and sends nothing until [method@GCurl.Transfer.resume].
 *
 * A download whose attempt fails transiently, with retries left, ends that
 * attempt %G_CURL_TRANSFER_STATE_RETRYING instead of
 * %G_CURL_TRANSFER_STATE_FAILED (its [signal@GCurl.Transfer::finished] is
 * emitted as for any run), then runs again: `running`, `retrying`,
 * `running`, `succeeded`. A paused download stays
 * %G_CURL_TRANSFER_STATE_PAUSED across the retry, and its next attempt
 * sends nothing until [method@GCurl.Transfer.resume]. When the download
 * gives up, its state becomes %G_CURL_TRANSFER_STATE_FAILED (or
 * %G_CURL_TRANSFER_STATE_CANCELLED).
 *
 * The values are in the order they were added, not in the order of a run;
 * more may be added.
 *
 * Since: 0.1
 */
typedef enum {
  G_CURL_TRANSFER_STATE_NEW,
  G_CURL_TRANSFER_STATE_RUNNING,
  G_CURL_TRANSFER_STATE_PAUSED,
  G_CURL_TRANSFER_STATE_SUCCEEDED,
  G_CURL_TRANSFER_STATE_FAILED,
  G_CURL_TRANSFER_STATE_CANCELLED,
  G_CURL_TRANSFER_STATE_QUEUED,
  G_CURL_TRANSFER_STATE_RETRYING,
} GCurlTransferState;

/**
 * G_CURL_TYPE_TRANSFER:
 *
 * The `GType` of [class@GCurl.Transfer], for g_object_new() and type checks.
 *
 * Since: 0.1
 */
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
char              **g_curl_transfer_get_response_header_values (GCurlTransfer *self,
                                                                const char    *name);
GCURL_AVAILABLE_IN_ALL
char              **g_curl_transfer_list_response_headers (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
const char         *g_curl_transfer_get_reason_phrase    (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
const char         *g_curl_transfer_get_effective_url    (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
GFile              *g_curl_transfer_get_destination      (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_mirrors          (GCurlTransfer      *self,
                                                          const char * const *urls);
GCURL_AVAILABLE_IN_ALL
const char * const *g_curl_transfer_get_mirrors          (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_segments         (GCurlTransfer *self,
                                                          guint          segments);
GCURL_AVAILABLE_IN_ALL
guint               g_curl_transfer_get_segments         (GCurlTransfer *self);
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
gboolean            g_curl_transfer_get_idempotent       (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
void                g_curl_transfer_set_idempotent       (GCurlTransfer *self,
                                                          gboolean       idempotent);
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
GCURL_AVAILABLE_IN_ALL
GTlsCertificate    *g_curl_transfer_get_tls_peer_certificate        (GCurlTransfer *self);
GCURL_AVAILABLE_IN_ALL
GTlsCertificateFlags g_curl_transfer_get_tls_peer_certificate_errors (GCurlTransfer *self);

G_END_DECLS
