/* gcurl-copy-private.h: a stream into another, reading while writing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The size of each of g_curl_copy_async()'s two buffers: the most one
 * write takes, so that a worker thread's round trip per write is cheap
 * next to the bytes it moves. */
#define GCURL_COPY_CHUNK_SIZE (1024 * 1024)

/* What a buffer holds before it is written when the disk is free (the
 * last bytes go whatever their size): writes stay large when the network
 * is fast, and the .part keeps close behind it when it is slow. */
#define GCURL_COPY_WRITE_SIZE (256 * 1024)

void     g_curl_copy_async  (GInputStream         *in,
                             GOutputStream        *out,
                             GAsyncReadyCallback   callback,
                             gpointer              user_data);
gboolean g_curl_copy_finish (GAsyncResult         *result,
                             guint64              *written,
                             GError              **error);

G_END_DECLS
