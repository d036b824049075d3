/* gcurl-send-private.h: send_async for download_async
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-multi.h"

G_BEGIN_DECLS

void g_curl_multi_send_async_full (GCurlMulti          *self,
                                   GCurlTransfer       *transfer,
                                   gboolean             retries,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data);

G_END_DECLS
