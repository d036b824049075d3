/* gcurl-watch-private.h: the stall watch of a transfer's easy handle
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-easy-private.h"

G_BEGIN_DECLS

gint64      g_curl_easy_watch_due       (GCurlEasy           *self,
                                         gint64               now,
                                         gboolean             nudging,
                                         gboolean            *nudge_again);
GError     *g_curl_easy_watch           (GCurlEasy           *self,
                                         gint64               now,
                                         gboolean            *nudge,
                                         gint64              *next_due);

G_END_DECLS
