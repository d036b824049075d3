/* dl-download-manager.h: the list of downloads, and what runs them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gcurlmulti.h>

#include "dl-download.h"

G_BEGIN_DECLS

#define DL_TYPE_DOWNLOAD_MANAGER (dl_download_manager_get_type ())
G_DECLARE_FINAL_TYPE (DlDownloadManager, dl_download_manager, DL, DOWNLOAD_MANAGER, GObject)

DlDownloadManager *dl_download_manager_new                (const char         *state_path);
GListModel        *dl_download_manager_get_downloads      (DlDownloadManager  *self);
GCurlMulti        *dl_download_manager_get_multi          (DlDownloadManager  *self);
DlDownload        *dl_download_manager_lookup             (DlDownloadManager  *self,
                                                           GCurlTransfer      *transfer);
gboolean           dl_download_manager_is_running         (DlDownloadManager  *self,
                                                           DlDownload         *download);

DlDownload        *dl_download_manager_add                (DlDownloadManager  *self,
                                                           const char         *url,
                                                           GFile              *folder,
                                                           GError            **error);
void               dl_download_manager_pause              (DlDownloadManager  *self,
                                                           DlDownload         *download);
void               dl_download_manager_resume             (DlDownloadManager  *self,
                                                           DlDownload         *download);
void               dl_download_manager_retry              (DlDownloadManager  *self,
                                                           DlDownload         *download);
void               dl_download_manager_remove             (DlDownloadManager  *self,
                                                           DlDownload         *download);
void               dl_download_manager_clear_finished     (DlDownloadManager  *self);

guint              dl_download_manager_get_max_concurrent (DlDownloadManager  *self);
void               dl_download_manager_set_max_concurrent (DlDownloadManager  *self,
                                                           guint               max_concurrent);
gint64             dl_download_manager_get_speed_limit    (DlDownloadManager  *self);
void               dl_download_manager_set_speed_limit    (DlDownloadManager  *self,
                                                           gint64              bytes_per_second);
gboolean           dl_download_manager_get_active         (DlDownloadManager  *self);

gboolean           dl_download_manager_load               (DlDownloadManager  *self,
                                                           GError            **error);
gboolean           dl_download_manager_save               (DlDownloadManager  *self,
                                                           GError            **error);
void               dl_download_manager_stop_all           (DlDownloadManager  *self);
gboolean           dl_download_manager_is_stopped         (DlDownloadManager  *self);

gboolean           dl_download_manager_parse_url          (const char         *text,
                                                           char              **url,
                                                           GError            **error);

G_END_DECLS
