/* gcurl-rate-limit.c: a token bucket for the download speed limit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-rate-limit-private.h"

/* Measures from the next chunk on (a new run, a new limit). */
void
g_curl_rate_limit_reset (GCurlRateLimit *limiter)
{
  limiter->start = 0;
  limiter->bytes = 0;
}

/* Accepts @len more bytes at @now if @bytes_per_second allows, or sets
 * *@resume_at to the moment it will and returns %FALSE. A burst of a tenth
 * of a second's worth smooths the rate; the first chunk always passes, so
 * a limit below the chunk size still makes progress. */
gboolean
g_curl_rate_limit_take (GCurlRateLimit *limiter,
                        gint64          bytes_per_second,
                        gsize           len,
                        gint64          now,
                        gint64         *resume_at)
{
  gint64 burst = MAX (bytes_per_second / 10, 1);
  gint64 budget;

  if (limiter->start == 0)
    {
      limiter->start = now;
      limiter->bytes = 0;
    }

  budget = (now - limiter->start) * bytes_per_second / G_USEC_PER_SEC + burst;
  if (limiter->bytes == 0 || limiter->bytes + (gint64) len <= budget)
    {
      limiter->bytes += len;
      return TRUE;
    }

  *resume_at = limiter->start +
    (limiter->bytes + (gint64) len - burst) * G_USEC_PER_SEC / bytes_per_second;
  return FALSE;
}
