/* gcurl-log-private.h: a transfer's traffic, as lines for the log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <glib.h>

#include "gcurl-log.h"

G_BEGIN_DECLS

/* Lines are made in libcurl's debug callback and only queued there: the
 * log writer is application code (a GLogWriterFunc), which must never run
 * inside libcurl. The transfer emits them when it reports. */
typedef struct
{
  GCurlLogLevel  level;
  GPtrArray     *lines;   /* (nullable) (owned): char *, to emit */
} GCurlLog;

void          g_curl_log_init          (GCurlLog       *log);
void          g_curl_log_clear         (GCurlLog       *log);
void          g_curl_log_record        (GCurlLog       *log,
                                        curl_infotype   type,
                                        const char     *data,
                                        size_t          size);
void          g_curl_log_add           (GCurlLog       *log,
                                        char           *line);
GPtrArray    *g_curl_log_steal_lines   (GCurlLog       *log);
char         *g_curl_log_redact        (const char     *header_line);
GCurlLogLevel g_curl_log_level_from_string (const char *value);

G_END_DECLS
