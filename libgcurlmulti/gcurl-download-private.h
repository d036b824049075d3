/* gcurl-download-private.h: download_async's test hooks, and its hook for
 * download_to_directory_async
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-multi.h"

G_BEGIN_DECLS

void g_curl_download_set_xattrs_disabled (gboolean disabled);

/* Names the file of a download started without one, once: at the first
 * final response's headers (status below 400), which @transfer has.
 * Returns the destination, with its .part either made, empty, by the
 * function (*@resume FALSE), or one to continue (*@resume TRUE, see
 * g_curl_download_part_continues()); or %NULL with @error set, which ends
 * the download. */
typedef GFile *(*GCurlDownloadChooseFunc) (GCurlTransfer  *transfer,
                                           gboolean       *resume,
                                           gpointer        user_data,
                                           GError        **error);

void     g_curl_download_start          (GCurlMulti              *self,
                                         GCurlTransfer           *transfer,
                                         GFile                   *destination,
                                         GCurlDownloadFlags       flags,
                                         GCurlDownloadChooseFunc  choose,
                                         gpointer                 choose_data,
                                         GCancellable            *cancellable,
                                         GAsyncReadyCallback      callback,
                                         gpointer                 user_data);
gboolean g_curl_download_part_continues (GCurlTransfer           *transfer,
                                         GFile                   *destination);

G_END_DECLS
