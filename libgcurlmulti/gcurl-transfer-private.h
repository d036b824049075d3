/* gcurl-transfer-private.h: what GCurlMulti needs of its transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-transfer.h"
#include "gcurl-multi.h"
#include "gcurl-request-options-private.h"
#include "gcurl-sink-private.h"

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

/* What the multi does with a transfer libcurl has finished with. */
typedef enum {
  G_CURL_TRANSFER_DONE_FINISHED,  /* queue "finished" */
  G_CURL_TRANSFER_DONE_RESTART,   /* add the handle again: a redirect */
} GCurlTransferDoneAction;

gboolean                g_curl_transfer_start        (GCurlTransfer             *self,
                                                      GCurlMulti                *multi,
                                                      const GCurlRequestOptions *defaults,
                                                      GSource                   *source,
                                                      GError                   **error);
GCurlMulti             *g_curl_transfer_get_multi    (GCurlTransfer             *self);
GList                  *g_curl_transfer_get_running_link (GCurlTransfer         *self);
GList                  *g_curl_transfer_get_dirty_link   (GCurlTransfer         *self);
GQueue                **g_curl_transfer_get_queue_slot   (GCurlTransfer         *self);
GCurlTransferDoneAction g_curl_transfer_handle_done  (GCurlTransfer             *self,
                                                      CURLcode                   result);
void                    g_curl_transfer_fail         (GCurlTransfer             *self,
                                                      GError                    *error);
gboolean                g_curl_transfer_is_completed (GCurlTransfer             *self);
gboolean                g_curl_transfer_flush        (GCurlTransfer             *self,
                                                      gint64                     now,
                                                      gint64                     interval,
                                                      gint64                    *next_due);
void                    g_curl_transfer_emit_finished (GCurlTransfer            *self);
const GCurlTransferEnding *g_curl_transfer_get_ending (GCurlTransfer              *self);
gint64                  g_curl_transfer_watch_due    (GCurlTransfer             *self,
                                                      gint64                     now,
                                                      gboolean                   nudging,
                                                      gboolean                  *nudge_again);
GError                 *g_curl_transfer_watch        (GCurlTransfer             *self,
                                                      gint64                     now,
                                                      gboolean                  *nudge,
                                                      gint64                    *next_due);
GCurlMulti             *g_curl_transfer_steal_multi  (GCurlTransfer             *self);
GList                  *g_curl_transfer_get_rate_link (GCurlTransfer            *self);
gboolean               *g_curl_transfer_get_rate_waiting (GCurlTransfer         *self);
gint64                  g_curl_transfer_get_rate_resume_at (GCurlTransfer       *self);
void                    g_curl_transfer_rate_resume  (GCurlTransfer             *self);
void                    g_curl_transfer_set_sink     (GCurlTransfer             *self,
                                                      GCurlBodySink             *sink);
void                    g_curl_transfer_unpause_sink (GCurlTransfer             *self);
const char             *g_curl_transfer_get_shown_url (GCurlTransfer    *self);
const char             *g_curl_transfer_get_expected_checksum (GCurlTransfer    *self,
                                                               GChecksumType    *type);

gboolean                g_curl_transfer_has_proxy    (GCurlTransfer             *self);
guint                   g_curl_transfer_get_run      (GCurlTransfer             *self);
void                    g_curl_transfer_set_fail_on_http_error (GCurlTransfer   *self,
                                                                gboolean         fail);
void                    g_curl_transfer_set_proxy    (GCurlTransfer             *self,
                                                      const char                *proxy);

gint64                  g_curl_transfer_get_expected_size (GCurlTransfer        *self);
void                    g_curl_transfer_set_library_header (GCurlTransfer       *self,
                                                            const char          *name,
                                                            const char          *value);
void                    g_curl_transfer_set_fresh_connect (GCurlTransfer        *self,
                                                           gboolean              fresh);
void                    g_curl_transfer_forbid_reuse (GCurlTransfer             *self);
void                    g_curl_transfer_set_resume_from (GCurlTransfer          *self,
                                                         gint64                  offset,
                                                         gboolean                filetime);



G_END_DECLS
