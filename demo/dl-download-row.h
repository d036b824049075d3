/* dl-download-row.h: one download in the window's list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "dl-download-manager.h"

G_BEGIN_DECLS

#define DL_TYPE_DOWNLOAD_ROW (dl_download_row_get_type ())
G_DECLARE_FINAL_TYPE (DlDownloadRow, dl_download_row, DL, DOWNLOAD_ROW, GtkListBoxRow)

GtkWidget  *dl_download_row_new          (DlDownloadManager *manager,
                                          DlDownload        *download);
DlDownload *dl_download_row_get_download (DlDownloadRow     *self);
const char *dl_download_row_get_status   (DlDownloadRow     *self);

G_END_DECLS
