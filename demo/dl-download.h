/* dl-download.h: one download in the downloader's list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gcurlmulti.h>

G_BEGIN_DECLS

/**
 * DlDownloadState:
 * @DL_DOWNLOAD_STATE_QUEUED: its transfer waits in the multi for a
 *   connection (G_CURL_TRANSFER_STATE_QUEUED, see
 *   DlDownloadManager:max-concurrent), or is about to be started
 * @DL_DOWNLOAD_STATE_DOWNLOADING: its transfer runs
 * @DL_DOWNLOAD_STATE_PAUSED: paused by the person; the data so far is kept
 * @DL_DOWNLOAD_STATE_FAILED: stopped with an error; can be retried
 * @DL_DOWNLOAD_STATE_DONE: the file is complete
 * @DL_DOWNLOAD_STATE_RETRYING: an attempt failed, and its transfer waits
 *   to try again (G_CURL_TRANSFER_STATE_RETRYING)
 *
 * Where a download is, as the person sees it. While a download runs, its
 * transfer's state says which of the first three (or the last) it is.
 */
typedef enum {
  DL_DOWNLOAD_STATE_QUEUED,
  DL_DOWNLOAD_STATE_DOWNLOADING,
  DL_DOWNLOAD_STATE_PAUSED,
  DL_DOWNLOAD_STATE_FAILED,
  DL_DOWNLOAD_STATE_DONE,
  DL_DOWNLOAD_STATE_RETRYING,
} DlDownloadState;

#define DL_TYPE_DOWNLOAD_STATE (dl_download_state_get_type ())
GType dl_download_state_get_type (void) G_GNUC_CONST;

#define DL_TYPE_DOWNLOAD (dl_download_get_type ())
G_DECLARE_FINAL_TYPE (DlDownload, dl_download, DL, DOWNLOAD, GObject)

DlDownload      *dl_download_new                (const char      *url,
                                                 GFile           *folder,
                                                 GFile           *file);
const char      *dl_download_get_url            (DlDownload      *self);
GFile           *dl_download_get_folder         (DlDownload      *self);
GFile           *dl_download_get_file           (DlDownload      *self);
GFile           *dl_download_get_part_file      (DlDownload      *self);
const char      *dl_download_get_display_name   (DlDownload      *self);
DlDownloadState  dl_download_get_state          (DlDownload      *self);
GCurlTransfer   *dl_download_get_transfer       (DlDownload      *self);
const char      *dl_download_get_error_message  (DlDownload      *self);
gint64           dl_download_get_downloaded_bytes (DlDownload    *self);
gint64           dl_download_get_size           (DlDownload      *self);
double           dl_download_get_fraction       (DlDownload      *self);

/* For DlDownloadManager, which runs the downloads. */
void             dl_download_set_file           (DlDownload      *self,
                                                 GFile           *file);
void             dl_download_set_state          (DlDownload      *self,
                                                 DlDownloadState  state);
void             dl_download_set_transfer       (DlDownload      *self,
                                                 GCurlTransfer   *transfer);
void             dl_download_set_error_message  (DlDownload      *self,
                                                 const char      *message);
void             dl_download_set_progress       (DlDownload      *self,
                                                 gint64           downloaded_bytes,
                                                 gint64           size);

const char      *dl_download_state_to_string    (DlDownloadState  state);
gboolean         dl_download_state_from_string  (const char      *string,
                                                 DlDownloadState *state);

G_END_DECLS
