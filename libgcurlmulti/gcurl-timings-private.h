/* gcurl-timings-private.h: how long the steps of a request took
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>

#include "gcurl-timings.h"

G_BEGIN_DECLS

gint64        g_curl_timings_info            (CURL     *handle,
                                              CURLINFO  info);
GCurlTimings *g_curl_timings_new_for_handle  (CURL     *handle,
                                              gint64    redirects);

G_END_DECLS
