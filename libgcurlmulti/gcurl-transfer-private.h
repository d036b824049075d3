/* gcurl-transfer-private.h: what the multi and the GIO layer need of a
 * transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-engine-private.h"
#include "gcurl-progress-private.h"
#include "gcurl-request-options-private.h"
#include "gcurl-sink-private.h"
#include "gcurl-transfer.h"

G_BEGIN_DECLS

/* The end of a run, while its "finished" is emitted. A handler of the
 * application's that runs before the library's own may start the next run
 * (which resets the transfer's error and body): the library's handlers
 * read the run they are for here, and ignore the end of any other. */
typedef struct _GCurlTransferEnding GCurlTransferEnding;
struct _GCurlTransferEnding
{
  guint                run;
  GError              *error;   /* NULL: it succeeded */
  GBytes              *body;    /* the body in memory, if any */
  GCurlTransferEnding *outer;
};

/* Whether a failed run is retried (download_async's rules). */
typedef gboolean (*GCurlTransferRetryFunc) (GCurlTransfer *self,
                                            const GError  *error,
                                            gpointer       user_data);

/* Runs (the multi) */
gboolean                g_curl_transfer_start        (GCurlTransfer             *self,
                                                      GCurlEngine               *engine,
                                                      const GCurlRequestOptions *defaults);
void                    g_curl_transfer_submit       (GCurlTransfer             *self);
void                    g_curl_transfer_end          (GCurlTransfer             *self,
                                                      GError                    *error);
gboolean                g_curl_transfer_is_completed (GCurlTransfer             *self);
gboolean                g_curl_transfer_is_running   (GCurlTransfer             *self);
void                    g_curl_transfer_set_state    (GCurlTransfer             *self,
                                                      GCurlTransferState         state);

/* States (gcurl-transfer-state.c): QUEUED until the request is sent,
 * PAUSED from the start after a pause() between runs, RETRYING between
 * download_async's attempts. */
GCurlTransferState      g_curl_transfer_starting_state (GCurlTransfer           *self);
GCurlTransferState      g_curl_transfer_retrying_state (GCurlTransfer           *self);
gboolean                g_curl_transfer_is_retrying  (GCurlTransfer             *self);
void                    g_curl_transfer_set_retry_func (GCurlTransfer           *self,
                                                        GCurlTransferRetryFunc   func,
                                                        gpointer                 user_data);
void                    g_curl_transfer_settle       (GCurlTransfer             *self,
                                                      const GError              *error);
GObject                *g_curl_transfer_get_owner    (GCurlTransfer             *self);
guint                   g_curl_transfer_get_run      (GCurlTransfer             *self);
gboolean                g_curl_transfer_has_proxy    (GCurlTransfer             *self);
void                    g_curl_transfer_set_proxy    (GCurlTransfer             *self,
                                                      const char                *proxy);
const char             *g_curl_transfer_get_shown_url (GCurlTransfer            *self);
typedef struct _GCurlEasy GCurlEasy;
GCurlEasy              *g_curl_transfer_get_easy     (GCurlTransfer             *self);
const GCurlProgress    *g_curl_transfer_get_progress (GCurlTransfer             *self);
/* @hook (transfer, @data) is called after each "progress": one only, the
 * list of the multi the transfer is in. */
void                    g_curl_transfer_set_progress_hook (GCurlTransfer        *self,
                                                           GFunc                 hook,
                                                           gpointer              data);
/* The transfer's own settings, made when first needed. */
GCurlRequestOptions    *g_curl_transfer_ensure_options (GCurlTransfer           *self);

/* The GIO layer (send_async, its stream, download_async) */
const GCurlTransferEnding *g_curl_transfer_get_ending (GCurlTransfer            *self);
void                    g_curl_transfer_set_sink     (GCurlTransfer             *self,
                                                      GCurlBodySink             *sink);
void                    g_curl_transfer_unpause_sink (GCurlTransfer             *self);
const char             *g_curl_transfer_get_expected_checksum (GCurlTransfer    *self,
                                                               GChecksumType    *type);
/* download_async's rules: a status >= 400 fails (416 does not), and the
 * body is saved as served unless the transfer asks for decoding. */
void                    g_curl_transfer_set_download_mode (GCurlTransfer  *self,
                                                           gboolean        download);
gint64                  g_curl_transfer_get_expected_size (GCurlTransfer        *self);
void                    g_curl_transfer_set_library_header (GCurlTransfer       *self,
                                                            const char          *name,
                                                            const char          *value);
void                    g_curl_transfer_set_resume_from (GCurlTransfer          *self,
                                                         gint64                  offset,
                                                         gboolean                filetime);

/* The TLS side of the transfer, in gcurl-transfer-tls.c: its properties
 * are installed from @first_prop_id on (it returns the next free id), and
 * reach it through the
 * transfer's get and set functions; the flush and "finished" let it
 * report. */
guint                   g_curl_transfer_tls_class_init   (GObjectClass  *object_class,
                                                          guint          first_prop_id);
void                    g_curl_transfer_tls_get_property (GCurlTransfer *self,
                                                          guint          prop_id,
                                                          GValue        *value,
                                                          GParamSpec    *pspec);
void                    g_curl_transfer_tls_set_property (GCurlTransfer *self,
                                                          guint          prop_id,
                                                          const GValue  *value,
                                                          GParamSpec    *pspec);
gboolean                g_curl_transfer_tls_flush        (GCurlTransfer *self);
void                    g_curl_transfer_tls_notify       (GCurlTransfer *self);

/* Retries, in gcurl-transfer-retry.c: the "idempotent" property,
 * installed at @first_prop_id (its get and set functions return FALSE for
 * any other), what a retry asks of the transfer, and the wait before it,
 * which g_curl_transfer_cancel() ends. */
void                    g_curl_transfer_retry_class_init   (GObjectClass  *object_class,
                                                            guint          first_prop_id);
gboolean                g_curl_transfer_retry_get_property (GCurlTransfer *self,
                                                            guint          prop_id,
                                                            GValue        *value);
gboolean                g_curl_transfer_retry_set_property (GCurlTransfer *self,
                                                            guint          prop_id,
                                                            const GValue  *value);
gboolean                g_curl_transfer_can_retry          (GCurlTransfer *self);
void                    g_curl_transfer_begin_retry_wait   (GCurlTransfer *self,
                                                            GCancellable  *wait);
void                    g_curl_transfer_end_retry_wait     (GCurlTransfer *self,
                                                            GCancellable  *wait);
gboolean                g_curl_transfer_cancel_retry_wait  (GCurlTransfer *self);
void                    g_curl_transfer_set_fresh_connect  (GCurlTransfer *self,
                                                            gboolean       fresh);

/* Where its download is saved, in gcurl-transfer-destination.c: the
 * property "destination", installed by g_curl_transfer_tls_class_init()
 * after its own, which hands its get on. */
void                    g_curl_transfer_destination_class_init   (GObjectClass  *object_class,
                                                                  guint          prop_id);
void                    g_curl_transfer_destination_get_property (GCurlTransfer *self,
                                                                  GValue        *value);
void                    g_curl_transfer_set_destination          (GCurlTransfer *self,
                                                                  GFile         *destination);

/* More URLs of the same file, in gcurl-transfer-mirrors.c: the property
 * "mirrors", installed by g_curl_transfer_retry_class_init() after its
 * own, which hands its get and set on; and the URL a run of download_async
 * requests when it is a mirror. */
void                    g_curl_transfer_mirrors_class_init   (GObjectClass  *object_class,
                                                              guint          prop_id);
gboolean                g_curl_transfer_mirrors_get_property (GCurlTransfer *self,
                                                              guint          prop_id,
                                                              GValue        *value);
gboolean                g_curl_transfer_mirrors_set_property (GCurlTransfer *self,
                                                              guint          prop_id,
                                                              const GValue  *value);
void                    g_curl_transfer_set_run_url          (GCurlTransfer *self,
                                                              const char    *url);

/* Segmented downloads (gcurl-download-segments.c): the run ends at the
 * next chunk of its body, successfully; what downloaded-bytes says (-1:
 * the run's own count). */
void                    g_curl_transfer_end_body             (GCurlTransfer *self);
/* Whether the run has no connection yet (no request sent): the engine
 * may hand it to libcurl again (g_curl_engine_requeue()). */
gboolean                g_curl_transfer_run_is_queued        (GCurlRun      *run);
void                    g_curl_transfer_set_segmented_bytes  (GCurlTransfer *self,
                                                              gint64         downloaded);

/* The property "segments", in gcurl-transfer-segments.c, installed by
 * g_curl_transfer_mirrors_class_init() after its own; and the mark of a
 * segmented download's own connections, which no multi lists. */
void                    g_curl_transfer_segments_class_init   (GObjectClass  *object_class,
                                                               guint          prop_id);
gboolean                g_curl_transfer_segments_get_property (GCurlTransfer *self,
                                                               guint          prop_id,
                                                               GValue        *value);
gboolean                g_curl_transfer_segments_set_property (GCurlTransfer *self,
                                                               guint          prop_id,
                                                               const GValue  *value);
void                    g_curl_transfer_set_unlisted          (GCurlTransfer *self);
gboolean                g_curl_transfer_is_unlisted           (GCurlTransfer *self);

/* Test hook: when the stall watch last saw the transfer receive something
 * (or a hold end), monotonic µs. */
gint64                  g_curl_transfer_get_last_activity (GCurlTransfer        *self);

G_END_DECLS
