/* gcurl-rate-limit-private.h: a token bucket for the download speed limit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Applied in the write callback: libcurl 7.88's own limit reads whole
 * socket buffers at once and lets a loopback or LAN transfer through at
 * full speed. Pure: the clock is passed in, nothing allocates. */
typedef struct
{
  gint64 start;   /* µs (monotonic), 0: not started */
  gint64 bytes;   /* accepted since start */
} GCurlRateLimit;

void     g_curl_rate_limit_reset (GCurlRateLimit *limiter);
gboolean g_curl_rate_limit_take  (GCurlRateLimit *limiter,
                                  gint64          bytes_per_second,
                                  gsize           len,
                                  gint64          now,
                                  gint64         *resume_at);

G_END_DECLS
