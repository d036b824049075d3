/* gcurl-multi-private.h: what GCurlTransfer needs of its multi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-multi.h"

G_BEGIN_DECLS

void     g_curl_multi_mark_dirty        (GCurlMulti    *self,
                                         GCurlTransfer *transfer);
void     g_curl_multi_cancel_transfer   (GCurlMulti    *self,
                                         GCurlTransfer *transfer,
                                         GError        *error);
void     g_curl_multi_wake              (GCurlMulti    *self);
void     g_curl_multi_wait_for_rate     (GCurlMulti    *self,
                                         GCurlTransfer *transfer);
GSource *g_curl_multi_get_source        (GCurlMulti    *self);
guint    g_curl_multi_get_download_retries (GCurlMulti *self);
void      g_curl_multi_fail_transfer     (GCurlMulti            *self,
                                         GCurlTransfer         *transfer,
                                         GError                *error);
guint    g_curl_multi_get_retry_delay   (GCurlMulti    *self);

/* Test hook: when the stall watchdog looks at the transfers next
 * (monotonic µs), or -1 if it sleeps until a transfer can stall. */
gint64   g_curl_multi_get_watchdog_due  (GCurlMulti    *self);

G_END_DECLS
