/* gcurl-input-stream-private.h: the response body of send_async
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-transfer.h"

G_BEGIN_DECLS

/* The reader may be this far behind before the transfer is paused, and is
 * resumed once it has caught up to the low mark. */
#define GCURL_STREAM_HIGH_WATER (256 * 1024)
#define GCURL_STREAM_LOW_WATER  (64 * 1024)

#define G_CURL_TYPE_INPUT_STREAM (g_curl_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (GCurlInputStream, g_curl_input_stream, G_CURL, INPUT_STREAM, GInputStream)

GInputStream *g_curl_input_stream_new            (GCurlTransfer    *transfer,
                                                  GMainContext     *context);
gsize         g_curl_input_stream_get_max_buffered (GCurlInputStream *self);

G_END_DECLS
