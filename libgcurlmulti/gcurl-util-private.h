/* gcurl-util-private.h: small helpers every layer uses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The flags of the library's properties (as gtkprivate.h has
 * GTK_PARAM_READWRITE): each notifies only when its value changes. */
#define GCURL_PARAM_READABLE  (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)
#define GCURL_PARAM_READWRITE (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

/* Debug messages (G_MESSAGES_DEBUG=GCurl) that cost a check when they are
 * off: their arguments are not even evaluated then. */
#define GCURL_DEBUG(...) \
  G_STMT_START { \
    if (G_UNLIKELY (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))) \
      g_debug (__VA_ARGS__); \
  } G_STMT_END

GSource *g_curl_watch_cancellable       (GMainContext           *context,
                                         GCancellable           *cancellable,
                                         GCancellableSourceFunc  func,
                                         gpointer                user_data);
void     g_curl_clear_source            (GSource               **source);

char    *g_curl_url_without_password    (const char             *url);
char    *g_curl_proxy_without_password  (const char             *proxy);
char    *g_curl_url_origin              (const char             *url);
gboolean g_curl_url_has_origin          (const char             *url,
                                         const char             *origin);
gboolean g_curl_url_same_origin         (const char             *a,
                                         const char             *b);

G_END_DECLS
