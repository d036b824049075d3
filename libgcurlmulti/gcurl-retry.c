/* gcurl-retry.c: how long to wait before trying again
 *
 * The one rule every retry of the library waits by (download_async's and
 * those of send_async and send_and_read_async): exponential back-off from
 * the multi's "retry-delay", with jitter, and at least what the server
 * asked for with Retry-After.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <time.h>
#include <curl/curl.h>

#include "gcurl-retry-private.h"

/* @retries retries, the first after about @delay_ms (at least 1 ms). */
void
g_curl_retry_init (GCurlRetry *retry,
                   guint       retries,
                   guint       delay_ms)
{
  retry->left = retries;
  retry->delay = MAX (delay_ms, 1);
}

/* Retry-After (RFC 9110 10.2.3): seconds, or an HTTP date; 0 if absent or
 * not understood, capped at GCURL_MAX_RETRY_AFTER_S. */
guint
g_curl_retry_after_ms (const char *retry_after)
{
  guint64 seconds;
  time_t date;

  if (retry_after == NULL)
    return 0;

  if (!g_ascii_string_to_unsigned (retry_after, 10, 0, G_MAXUINT64, &seconds, NULL))
    {
      date = curl_getdate (retry_after, NULL);
      if (date < 0)
        return 0;
      seconds = date > time (NULL) ? (guint64) (date - time (NULL)) : 0;
    }

  return (guint) MIN (seconds, GCURL_MAX_RETRY_AFTER_S) * 1000;
}

/* Takes one of the retries left (the caller checked there is one) and
 * returns how long to wait before it, in ms: the back-off delay, doubled
 * after every retry, with jitter (between half of it and all of it) so
 * that operations that failed together do not all come back together; at
 * least what the server asked for in @retry_after (the failed response's
 * Retry-After, or NULL). */
guint
g_curl_retry_next_delay (GCurlRetry *retry,
                         const char *retry_after)
{
  guint base = retry->delay;
  guint half = base / 2;
  guint spread = MIN (base - half, (guint) G_MAXINT32 - 1);
  guint delay = half + (guint) g_random_int_range (0, (gint32) spread + 1);

  g_assert (retry->left > 0);

  retry->left--;
  retry->delay = base > G_MAXUINT / 2 ? G_MAXUINT : base * 2;

  return MAX (delay, g_curl_retry_after_ms (retry_after));
}
