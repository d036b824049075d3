/* gcurl-filename-private.h: the name a downloaded file gets in a folder
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest name given: NAME_MAX (255) less ".part.validators", the
 * longest suffix download_async puts after it, so that the files it
 * keeps beside the download fit too. */
#define GCURL_FILENAME_MAX (255 - 16)

/* The name when neither the response nor the URL gives one. */
#define GCURL_FILENAME_FALLBACK "index.html"

char *g_curl_filename_from_content_disposition (const char *value);
char *g_curl_filename_from_url                 (const char *url);
char *g_curl_filename_sanitize                 (const char *raw,
                                                gssize      length);
char *g_curl_filename_choose                   (const char *content_disposition,
                                                const char *url);
char *g_curl_filename_numbered                 (const char *name,
                                                guint       n);

G_END_DECLS
