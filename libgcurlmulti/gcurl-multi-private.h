/* gcurl-multi-private.h: what the GIO layer and the tests need of a multi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-multi.h"

G_BEGIN_DECLS

guint    g_curl_multi_get_download_retries (GCurlMulti    *self);
guint    g_curl_multi_get_retries          (GCurlMulti    *self);
guint    g_curl_multi_get_retry_delay      (GCurlMulti    *self);
void     g_curl_multi_fail_transfer        (GCurlMulti    *self,
                                            GCurlTransfer *transfer,
                                            GError        *error);

/* Test hooks: the source of the multi's CURLM, and when the stall
 * watchdog looks at the transfers next (monotonic µs), or -1 if it sleeps
 * until a transfer can stall. */
GSource *g_curl_multi_get_source           (GCurlMulti    *self);
gint64   g_curl_multi_get_watchdog_due     (GCurlMulti    *self);
guint64  g_curl_multi_get_rate_waits       (GCurlMulti    *self);

/* download_async keeps its transfer in the multi's list between attempts. */
void     g_curl_multi_hold_transfer        (GCurlMulti    *self,
                                            GCurlTransfer *transfer);
void     g_curl_multi_release_transfer     (GCurlMulti    *self,
                                            GCurlTransfer *transfer);

/* Blocking calls (gcurl-sync.c) */
GCurlMulti *g_curl_multi_take_sibling      (GCurlMulti    *self);
void        g_curl_multi_return_sibling    (GCurlMulti    *self,
                                            GCurlMulti    *sibling);

G_END_DECLS
