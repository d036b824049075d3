/* gcurl-retry-private.h: how long to wait before trying again
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest Retry-After honoured: a server cannot park a request for
 * longer than this. */
#define GCURL_MAX_RETRY_AFTER_S 300

/* The retries of one operation (download_async, send_async,
 * send_and_read_async): how many are left, and the back-off of the next
 * wait. Pure: no clock, no main loop; the caller waits. */
typedef struct
{
  guint left;    /* retries still allowed */
  guint delay;   /* ms: the back-off of the next wait, doubled after each */
} GCurlRetry;

void     g_curl_retry_init       (GCurlRetry *retry,
                                  guint       retries,
                                  guint       delay_ms);
guint    g_curl_retry_after_ms   (const char *retry_after);
guint    g_curl_retry_next_delay (GCurlRetry *retry,
                                  const char *retry_after);

G_END_DECLS
