/* gcurl-timings.c: how long the steps of a request took
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-timings-private.h"

/**
 * g_curl_timings_copy:
 * @timings: timings
 *
 * Copies @timings.
 *
 * Returns: (transfer full): a copy, to free with g_curl_timings_free()
 *
 * Since: 0.1
 */
GCurlTimings *
g_curl_timings_copy (const GCurlTimings *timings)
{
  g_return_val_if_fail (timings != NULL, NULL);

  return g_memdup2 (timings, sizeof *timings);
}

/**
 * g_curl_timings_free:
 * @timings: (transfer full): timings from [method@GCurl.Transfer.get_timings]
 *
 * Frees @timings.
 *
 * Since: 0.1
 */
void
g_curl_timings_free (GCurlTimings *timings)
{
  g_free (timings);
}

G_DEFINE_BOXED_TYPE (GCurlTimings, g_curl_timings, g_curl_timings_copy, g_curl_timings_free)

/* A time of libcurl's (CURLINFO_*_TIME_T, µs), 0 if it has none. */
gint64
g_curl_timings_info (CURL     *handle,
                     CURLINFO  info)
{
  curl_off_t value = 0;

  if (curl_easy_getinfo (handle, info, &value) != CURLE_OK || value < 0)
    return 0;
  return value;
}

/* The timings of @handle's last request, after @redirects µs of earlier
 * requests of the same run. */
GCurlTimings *
g_curl_timings_new_for_handle (CURL   *handle,
                               gint64  redirects)
{
  GCurlTimings *timings = g_new0 (GCurlTimings, 1);

  timings->name_lookup = g_curl_timings_info (handle, CURLINFO_NAMELOOKUP_TIME_T);
  timings->connect = g_curl_timings_info (handle, CURLINFO_CONNECT_TIME_T);
  timings->tls_handshake = g_curl_timings_info (handle, CURLINFO_APPCONNECT_TIME_T);
  timings->first_byte = g_curl_timings_info (handle, CURLINFO_STARTTRANSFER_TIME_T);
  timings->total = g_curl_timings_info (handle, CURLINFO_TOTAL_TIME_T);
  timings->redirects = redirects;

  return timings;
}
