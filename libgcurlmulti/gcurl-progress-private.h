/* gcurl-progress-private.h: the figures a transfer reports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a report changed, for the transfer to notify. */
typedef enum
{
  G_CURL_PROGRESS_DOWNLOADED     = 1 << 0,
  G_CURL_PROGRESS_DOWNLOAD_SIZE  = 1 << 1,
  G_CURL_PROGRESS_UPLOADED       = 1 << 2,
  G_CURL_PROGRESS_UPLOAD_SIZE    = 1 << 3,
  G_CURL_PROGRESS_FRACTION       = 1 << 4,
  G_CURL_PROGRESS_SPEED          = 1 << 5,
  G_CURL_PROGRESS_TIME_REMAINING = 1 << 6,
} GCurlProgressChange;

/* The progress meter: the figures as last reported (what the properties
 * say), a smoothed speed and an estimate of the time left, and when the
 * next report is due. Pure: the clock and the raw figures are passed in. */
typedef struct
{
  gint64   downloaded;
  gint64   download_size;     /* -1: unknown */
  gint64   uploaded;
  gint64   upload_size;       /* -1: unknown or none */
  double   fraction;          /* 0..1 */
  gint64   speed;             /* bytes/s, smoothed */
  gint64   time_remaining;    /* s, -1: unknown */
  gint64   time;              /* µs (monotonic) of the last report */
  gboolean reported;          /* reported at least once since the reset */
} GCurlProgress;

void     g_curl_progress_init    (GCurlProgress *progress);
guint    g_curl_progress_reset   (GCurlProgress *progress);
gboolean g_curl_progress_changed (const GCurlProgress *progress,
                                  gint64         downloaded,
                                  gint64         download_size,
                                  gint64         uploaded);
gboolean g_curl_progress_is_due  (const GCurlProgress *progress,
                                  gint64         now,
                                  gint64         interval,
                                  gint64        *next_due);
guint    g_curl_progress_report  (GCurlProgress *progress,
                                  gint64         now,
                                  gint64         downloaded,
                                  gint64         download_size,
                                  gint64         uploaded,
                                  gint64         upload_size,
                                  gboolean       ended,
                                  gboolean       succeeded);

G_END_DECLS
