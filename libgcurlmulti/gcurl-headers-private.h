/* gcurl-headers-private.h: request header lists, response header lookups
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/* RFC 9110 5.6.2: a method or header name. */
gboolean            g_curl_header_name_is_valid   (const char         *name);
/* No CR or LF: a value cannot start another header. */
gboolean            g_curl_header_value_is_valid  (const char         *value);
/* An ETag or date kept and sent back: no control character. */
gboolean            g_curl_header_validator_is_valid (const char      *value);
gboolean            g_curl_header_validator_sanitize (char           **value);

/* A list of request headers: a GArray of GCurlHeader, names compared
 * without case, at most one value per name. */
typedef struct
{
  char *name;
  char *value;
} GCurlHeader;

void                g_curl_header_list_set        (GArray            **list,
                                                   const char         *name,
                                                   const char         *value);
GArray             *g_curl_header_list_copy       (GArray             *list);
gboolean            g_curl_header_list_has        (GArray             *list,
                                                   const char         *name);
struct curl_slist  *g_curl_header_list_append_to  (GArray             *list,
                                                   struct curl_slist  *slist,
                                                   GArray             *except);

gboolean            g_curl_parse_content_range    (const char         *value,
                                                   gint64             *start,
                                                   gint64             *total);

/* The headers of the response being received, looked up in libcurl's own
 * store (curl_easy_header()) when someone asks, each value made once and
 * kept until the response changes. */
typedef struct
{
  GHashTable *cache;    /* (nullable): name → value (nullable), case-insensitive */
} GCurlResponseHeaders;

const char         *g_curl_response_headers_lookup (GCurlResponseHeaders *headers,
                                                    CURL                 *handle,
                                                    const char           *name);
void                g_curl_response_headers_clear  (GCurlResponseHeaders *headers);
char              **g_curl_response_headers_values (CURL                 *handle,
                                                    const char           *name);
char              **g_curl_response_headers_names  (CURL                 *handle);

G_END_DECLS
