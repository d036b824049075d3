/* gcurl-log.h: how much of its traffic a multi logs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <glib.h>

#include "gcurl-version.h"

G_BEGIN_DECLS

/**
 * GCurlLogLevel:
 * @G_CURL_LOG_NONE: nothing
 * @G_CURL_LOG_MINIMAL: each request line, each status line, and the
 *   timings of the request once it is over
 * @G_CURL_LOG_HEADERS: that, the request and response headers (credentials
 *   redacted) and libcurl's own account of the connection
 * @G_CURL_LOG_BODY: that, and the start of every chunk of body sent and
 *   received
 *
 * How much of its traffic a [class@GCurl.Multi] logs (see
 * [property@GCurl.Multi:log-level]).
 *
 * Since: 0.1
 */
typedef enum
{
  G_CURL_LOG_NONE,
  G_CURL_LOG_MINIMAL,
  G_CURL_LOG_HEADERS,
  G_CURL_LOG_BODY,
} GCurlLogLevel;

G_END_DECLS
