/* gcurl-date.h: HTTP dates
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

GCURL_AVAILABLE_IN_ALL
char      *g_curl_date_time_to_http_string       (GDateTime  *datetime);
GCURL_AVAILABLE_IN_ALL
GDateTime *g_curl_date_time_new_from_http_string (const char *date);

G_END_DECLS
