/* gcurl-error-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>

#include "gcurl-error.h"

G_BEGIN_DECLS

GError *g_curl_error_new_from_code (CURLcode    code,
                                    const char *error_buffer);

void    g_curl_init_i18n           (void);

GError  *g_curl_error_new_http      (guint       status,
                                    const char *reason,
                                    const char *url);
void     g_curl_error_set_response  (GError     *error,
                                    guint       status,
                                    int         os_errno);

gboolean g_curl_error_is_transient_for_status (const GError *error,
                                               guint         status,
                                               int           os_errno);

G_END_DECLS
