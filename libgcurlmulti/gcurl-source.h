/* gcurl-source.h: a GSource that drives a CURLM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <glib.h>
#include <curl/curl.h>

#include "gcurl-version.h"

G_BEGIN_DECLS

/**
 * GCurlSourceFunc: (skip)
 * @message: a `CURLMSG_DONE` message read with `curl_multi_info_read()`,
 *   valid only during the call
 * @user_data: data passed to g_source_set_callback()
 *
 * The callback of a source made by [func@GCurl.source_new], called from the
 * source's main context once for each transfer libcurl has finished.
 *
 * It may call any libcurl function, including `curl_multi_remove_handle()`
 * and `curl_easy_cleanup()` on the finished handle, and may destroy the
 * source.
 *
 * Returns: %G_SOURCE_REMOVE to destroy the source, %G_SOURCE_CONTINUE to
 *   keep it
 *
 * Since: 0.1
 */
typedef gboolean (*GCurlSourceFunc) (CURLMsg  *message,
                                     gpointer  user_data);

/**
 * GCurlSourceBackend:
 * @G_CURL_SOURCE_BACKEND_DEFAULT: the backend named by the environment
 *   variable `GCURL_BACKEND` (`epoll` or `fds`) if it is set, otherwise
 *   %G_CURL_SOURCE_BACKEND_EPOLL where the system has epoll and
 *   %G_CURL_SOURCE_BACKEND_FDS elsewhere
 * @G_CURL_SOURCE_BACKEND_FDS: one g_source_add_unix_fd() tag per socket.
 *   Portable; GLib polls every socket on every main loop iteration
 * @G_CURL_SOURCE_BACKEND_EPOLL: one epoll file descriptor holding all the
 *   sockets; an iteration costs the same however many sockets are idle.
 *   Linux only
 *
 * How a [func@GCurl.source_new] source watches libcurl's sockets.
 *
 * Since: 0.1
 */
typedef enum {
  G_CURL_SOURCE_BACKEND_DEFAULT,
  G_CURL_SOURCE_BACKEND_FDS,
  G_CURL_SOURCE_BACKEND_EPOLL,
} GCurlSourceBackend;

GCURL_AVAILABLE_IN_ALL
GSource            *g_curl_source_new              (CURLM              *multi);
GCURL_AVAILABLE_IN_ALL
GSource            *g_curl_source_new_with_backend (CURLM              *multi,
                                                    GCurlSourceBackend  backend);
GCURL_AVAILABLE_IN_ALL
GCurlSourceBackend  g_curl_source_get_backend      (GSource            *source);

G_END_DECLS
