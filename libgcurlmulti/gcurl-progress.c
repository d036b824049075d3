/* gcurl-progress.c: the figures a transfer reports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-progress-private.h"

/* How much of a new speed measurement goes into the smoothed speed, in
 * tenths: enough that a progress bar's estimate does not jump. */
#define GCURL_SPEED_WEIGHT 3

/* A meter that reported nothing: nothing known yet. */
void
g_curl_progress_init (GCurlProgress *progress)
{
  progress->downloaded = 0;
  progress->download_size = -1;
  progress->uploaded = 0;
  progress->upload_size = -1;
  progress->fraction = 0.0;
  progress->speed = 0;
  progress->time_remaining = -1;
  progress->time = 0;
  progress->reported = FALSE;
}

/* Back to nothing known for a new run, but for the size of the request
 * body, which the first report of the run sets. Returns what changed. */
guint
g_curl_progress_reset (GCurlProgress *progress)
{
  guint changed = 0;

  if (progress->downloaded != 0 || progress->download_size != -1 ||
      progress->uploaded != 0 || progress->fraction != 0.0)
    {
      progress->downloaded = 0;
      progress->download_size = -1;
      progress->uploaded = 0;
      progress->fraction = 0.0;
      progress->speed = 0;
      progress->time_remaining = -1;
      changed = G_CURL_PROGRESS_DOWNLOADED | G_CURL_PROGRESS_DOWNLOAD_SIZE |
                G_CURL_PROGRESS_UPLOADED | G_CURL_PROGRESS_FRACTION |
                G_CURL_PROGRESS_SPEED | G_CURL_PROGRESS_TIME_REMAINING;
    }
  progress->time = 0;
  progress->reported = FALSE;

  return changed;
}

/* Whether the raw figures differ from those last reported. */
gboolean
g_curl_progress_changed (const GCurlProgress *progress,
                         gint64               downloaded,
                         gint64               download_size,
                         gint64               uploaded)
{
  return downloaded != progress->downloaded ||
         download_size != progress->download_size ||
         uploaded != progress->uploaded;
}

/* Whether a report may be made at @now, @interval µs after the last one;
 * if not, *@next_due says when. */
gboolean
g_curl_progress_is_due (const GCurlProgress *progress,
                        gint64               now,
                        gint64               interval,
                        gint64              *next_due)
{
  if (progress->reported && now - progress->time < interval)
    {
      *next_due = progress->time + interval;
      return FALSE;
    }

  return TRUE;
}

/* Takes the raw figures at @now as the reported ones: the speed from the
 * bytes since the last report, the fraction (1 once @succeeded), the time
 * left (unknown once @ended). Returns what changed. */
guint
g_curl_progress_report (GCurlProgress *progress,
                        gint64         now,
                        gint64         downloaded,
                        gint64         download_size,
                        gint64         uploaded,
                        gint64         upload_size,
                        gboolean       ended,
                        gboolean       succeeded)
{
  gint64 elapsed = now - progress->time;
  gint64 speed = progress->speed;
  gint64 time_remaining = -1;
  double fraction;
  guint changed = 0;

  if (progress->reported && elapsed > 0)
    {
      gint64 instant = (downloaded - progress->downloaded) * G_USEC_PER_SEC / elapsed;

      speed = speed == 0
        ? instant
        : (speed * (10 - GCURL_SPEED_WEIGHT) + instant * GCURL_SPEED_WEIGHT) / 10;
    }

  if (succeeded)
    fraction = 1.0;
  else if (download_size > 0)
    fraction = CLAMP ((double) downloaded / (double) download_size, 0.0, 1.0);
  else
    fraction = 0.0;

  if (download_size >= 0 && speed > 0 && !ended)
    time_remaining = MAX (0, download_size - downloaded) / speed;

#define UPDATE(field, value, bit) \
  if (progress->field != (value)) \
    { \
      progress->field = (value); \
      changed |= bit; \
    }
  UPDATE (downloaded, downloaded, G_CURL_PROGRESS_DOWNLOADED);
  UPDATE (download_size, download_size, G_CURL_PROGRESS_DOWNLOAD_SIZE);
  UPDATE (uploaded, uploaded, G_CURL_PROGRESS_UPLOADED);
  UPDATE (upload_size, upload_size, G_CURL_PROGRESS_UPLOAD_SIZE);
  UPDATE (fraction, fraction, G_CURL_PROGRESS_FRACTION);
  UPDATE (speed, speed, G_CURL_PROGRESS_SPEED);
  UPDATE (time_remaining, time_remaining, G_CURL_PROGRESS_TIME_REMAINING);
#undef UPDATE

  progress->time = now;
  progress->reported = TRUE;

  return changed;
}
