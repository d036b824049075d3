/* test-progress.c: the progress meter and the speed limit, with a fake clock
 *
 * libgcurlmulti/gcurl-progress.c and gcurl-rate-limit.c are pure: the
 * figures and the time are passed in. These prove what the properties
 * report (fraction, speed, time left, what changed) and when a report is
 * due, and how many bytes the token bucket lets through when.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib.h>

#include "gcurl-progress-private.h"
#include "gcurl-rate-limit-private.h"

#define MS(ms) ((gint64) (ms) * 1000)

/* Nothing is known before the first report; it gives size and fraction and says what changed,
 * the second the speed. */
static void
test_first_reports (void)
{
  GCurlProgress p;
  guint changed;

  g_curl_progress_init (&p);
  g_assert_cmpint (p.download_size, ==, -1);
  g_assert_cmpint (p.time_remaining, ==, -1);
  g_assert_false (g_curl_progress_changed (&p, 0, -1, 0));
  g_assert_true (g_curl_progress_changed (&p, 10, -1, 0));

  changed = g_curl_progress_report (&p, MS (1000), 1000, 4000, 0, -1, FALSE, FALSE);
  g_assert_cmpuint (changed, ==, G_CURL_PROGRESS_DOWNLOADED | G_CURL_PROGRESS_DOWNLOAD_SIZE |
                                 G_CURL_PROGRESS_FRACTION);
  g_assert_cmpfloat (p.fraction, ==, 0.25);
  g_assert_cmpint (p.speed, ==, 0);
  g_assert_cmpint (p.time_remaining, ==, -1);

  /* 1000 bytes in 0.5 s: 2000 bytes/s, 2000 bytes left: 1 s. */
  changed = g_curl_progress_report (&p, MS (1500), 2000, 4000, 0, -1, FALSE, FALSE);
  g_assert_cmpuint (changed, ==, G_CURL_PROGRESS_DOWNLOADED | G_CURL_PROGRESS_FRACTION |
                                 G_CURL_PROGRESS_SPEED | G_CURL_PROGRESS_TIME_REMAINING);
  g_assert_cmpint (p.speed, ==, 2000);
  g_assert_cmpint (p.time_remaining, ==, 1);
  g_assert_cmpfloat (p.fraction, ==, 0.5);
}

/* The speed is smoothed: 70 % the old one, 30 % the new measurement. */
static void
test_speed_smoothed (void)
{
  GCurlProgress p;

  g_curl_progress_init (&p);
  g_curl_progress_report (&p, MS (1000), 0, 100000, 0, -1, FALSE, FALSE);
  g_curl_progress_report (&p, MS (2000), 10000, 100000, 0, -1, FALSE, FALSE);
  g_assert_cmpint (p.speed, ==, 10000);
  g_curl_progress_report (&p, MS (3000), 40000, 100000, 0, -1, FALSE, FALSE);
  g_assert_cmpint (p.speed, ==, (10000 * 7 + 30000 * 3) / 10);
  g_assert_cmpint (p.time_remaining, ==, 60000 / ((10000 * 7 + 30000 * 3) / 10));
}

/* The fraction stays <= 1, is 0 without a size, 1 on success, what came on failure; no ETA at end.
 * The fraction never passes 1 (more bytes than announced), is 0 while the
 * size is unknown, and is 1 once succeeded; the time left is unknown once
 * ended. */
static void
test_fraction_bounds (void)
{
  GCurlProgress p;

  g_curl_progress_init (&p);
  g_curl_progress_report (&p, MS (1000), 5000, 4000, 0, -1, FALSE, FALSE);
  g_assert_cmpfloat (p.fraction, ==, 1.0);
  g_curl_progress_report (&p, MS (2000), 6000, -1, 0, -1, FALSE, FALSE);
  g_assert_cmpfloat (p.fraction, ==, 0.0);
  g_curl_progress_report (&p, MS (3000), 6000, -1, 0, -1, TRUE, TRUE);
  g_assert_cmpfloat (p.fraction, ==, 1.0);
  g_assert_cmpint (p.time_remaining, ==, -1);

  /* A failure ends with the fraction of what came. */
  g_curl_progress_init (&p);
  g_curl_progress_report (&p, MS (1000), 1000, 4000, 0, -1, FALSE, FALSE);
  g_curl_progress_report (&p, MS (2000), 3000, 4000, 0, -1, TRUE, FALSE);
  g_assert_cmpfloat (p.fraction, ==, 0.75);
  g_assert_cmpint (p.time_remaining, ==, -1);
}

/* A report is due once the interval since the last has passed; the first, and interval 0, always.
 * A report is due once the interval has passed since the last one; the
 * first is always due. */
static void
test_due (void)
{
  GCurlProgress p;
  gint64 next = -1;

  g_curl_progress_init (&p);
  g_assert_true (g_curl_progress_is_due (&p, MS (5), MS (100), &next));
  g_curl_progress_report (&p, MS (5), 1, -1, 0, -1, FALSE, FALSE);
  g_assert_false (g_curl_progress_is_due (&p, MS (104), MS (100), &next));
  g_assert_cmpint (next, ==, MS (105));
  g_assert_true (g_curl_progress_is_due (&p, MS (105), MS (100), &next));
  g_assert_true (g_curl_progress_is_due (&p, MS (6), 0, &next));
}

/* A new run: back to nothing known, and the change bits say so, once. */
static void
test_reset (void)
{
  GCurlProgress p;

  g_curl_progress_init (&p);
  g_assert_cmpuint (g_curl_progress_reset (&p), ==, 0);
  g_curl_progress_report (&p, MS (1000), 10, 100, 5, 5, FALSE, FALSE);
  g_assert_cmpuint (g_curl_progress_reset (&p), !=, 0);
  g_assert_cmpint (p.downloaded, ==, 0);
  g_assert_cmpint (p.download_size, ==, -1);
  g_assert_cmpint (p.uploaded, ==, 0);
  g_assert_cmpfloat (p.fraction, ==, 0.0);
  g_assert_false (p.reported);
  g_assert_cmpuint (g_curl_progress_reset (&p), ==, 0);
}

/* The token bucket passes the first chunk, a 0.1 s burst, then the rate, to the exact microsecond.
 * The token bucket: a tenth of a second's worth of burst, the first chunk
 * always, then the rate; the moment more may pass is exact. */
static void
test_rate_limit (void)
{
  GCurlRateLimit r;
  gint64 at = -1;

  g_curl_rate_limit_reset (&r);
  /* 1000 bytes/s: burst 100. */
  g_assert_true (g_curl_rate_limit_take (&r, 1000, 5000, MS (1000), &at));
  g_assert_false (g_curl_rate_limit_take (&r, 1000, 100, MS (1000), &at));
  /* 5000 + 100 - 100 bytes at 1000 bytes/s: 5 s after the start. */
  g_assert_cmpint (at, ==, MS (6000));
  g_assert_false (g_curl_rate_limit_take (&r, 1000, 100, MS (5999), &at));
  g_assert_true (g_curl_rate_limit_take (&r, 1000, 100, MS (6000), &at));

  /* Within the burst, several chunks pass at once. */
  g_curl_rate_limit_reset (&r);
  g_assert_true (g_curl_rate_limit_take (&r, 100000, 4000, MS (10), &at));
  g_assert_true (g_curl_rate_limit_take (&r, 100000, 4000, MS (10), &at));
  g_assert_false (g_curl_rate_limit_take (&r, 100000, 4000, MS (10), &at));
  g_assert_cmpint (at, ==, MS (10) + (12000 - 10000) * G_USEC_PER_SEC / 100000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/progress/first-reports", test_first_reports);
  g_test_add_func ("/progress/speed-smoothed", test_speed_smoothed);
  g_test_add_func ("/progress/fraction-bounds", test_fraction_bounds);
  g_test_add_func ("/progress/due", test_due);
  g_test_add_func ("/progress/reset", test_reset);
  g_test_add_func ("/progress/rate-limit", test_rate_limit);

  return g_test_run ();
}
