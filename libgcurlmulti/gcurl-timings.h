/* gcurl-timings.h: how long the steps of a request took
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <glib-object.h>

#include "gcurl-version.h"

G_BEGIN_DECLS

/**
 * GCurlTimings:
 * @name_lookup: microseconds from the start of the request until the host
 *   name was resolved
 * @connect: until the TCP connection was made (to the proxy, if any)
 * @tls_handshake: until the TLS handshake was done; 0 without TLS
 * @first_byte: until the first byte of the response arrived
 * @total: until the request was over
 * @redirects: microseconds spent in the redirects followed before the last
 *   request, which the other figures describe
 *
 * How long the steps of a transfer's last request took, from libcurl's
 * `CURLINFO_*_TIME_T`: each figure counts from the start of that request,
 * so they grow in this order. A step that was not needed (a reused
 * connection has no name lookup or connect of its own) is 0.
 *
 * Since: 0.1
 */
typedef struct
{
  gint64 name_lookup;
  gint64 connect;
  gint64 tls_handshake;
  gint64 first_byte;
  gint64 total;
  gint64 redirects;

  /*< private >*/
  gpointer padding[4];
} GCurlTimings;

#define G_CURL_TYPE_TIMINGS (g_curl_timings_get_type ())

GCURL_AVAILABLE_IN_ALL
GType               g_curl_timings_get_type              (void) G_GNUC_CONST;
GCURL_AVAILABLE_IN_ALL
GCurlTimings       *g_curl_timings_copy                  (const GCurlTimings *timings);
GCURL_AVAILABLE_IN_ALL
void                g_curl_timings_free                  (GCurlTimings  *timings);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GCurlTimings, g_curl_timings_free)

G_END_DECLS
