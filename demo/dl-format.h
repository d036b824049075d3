/* dl-format.h: what the downloader says about a download, in words
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "dl-download.h"

G_BEGIN_DECLS

char *dl_format_progress  (gint64        downloaded_bytes,
                           gint64        size);
char *dl_format_speed     (gint64        bytes_per_second);
char *dl_format_time_left (gint64        seconds);
char *dl_format_error     (const GError *error,
                           const char   *url,
                           guint         status_code);
char *dl_format_status    (DlDownload   *download);
char *dl_format_summary   (guint         n_downloads,
                           gint64        bytes_per_second);

G_END_DECLS
