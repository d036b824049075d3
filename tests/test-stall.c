/* test-stall.c: the stall watch, with a fake clock
 *
 * GCurlStall (libgcurlmulti/gcurl-stall.c) is pure: the activity count and
 * the time are passed in. These tables prove the watchdog's arithmetic
 * without a server or a real clock: a stall is due exactly stall-timeout
 * after the last change seen, a nudge once per idle spell.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib.h>

#include "gcurl-stall-private.h"

#define S(seconds) ((gint64) (seconds) * G_USEC_PER_SEC)
#define MS(ms) ((gint64) (ms) * 1000)

/* The stall deadline is the last activity seen plus the timeout; looks without activity keep it.
 * The deadline is the last change seen plus the timeout, whatever the time
 * of the look; looks without a change leave it where it is. */
static void
test_deadline_from_last_change (void)
{
  GCurlStall stall;

  g_curl_stall_reset (&stall, 0, S (100));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 5), ==, S (105));

  /* Activity seen at 101.5 s: the deadline moves with it. */
  g_assert_true (g_curl_stall_observe (&stall, 3, S (101) + MS (500)));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 5), ==, S (106) + MS (500));

  /* Looks without activity do not move it. */
  g_assert_false (g_curl_stall_observe (&stall, 3, S (103)));
  g_assert_false (g_curl_stall_observe (&stall, 3, S (106)));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 5), ==, S (106) + MS (500));

  g_assert_false (g_curl_stall_is_stalled (&stall, 5, S (106) + MS (499)));
  g_assert_true (g_curl_stall_is_stalled (&stall, 5, S (106) + MS (500)));
}

/* A timeout of 0 never stalls and has no deadline. */
static void
test_timeout_zero (void)
{
  GCurlStall stall;

  g_curl_stall_reset (&stall, 7, S (1));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 0), ==, -1);
  g_assert_false (g_curl_stall_is_stalled (&stall, 0, S (1000000)));
}

/* A reset restarts the stall timeout from its time, even with the activity count unchanged.
 * A reset (resume, a hold that ended) starts the timeout over, even with
 * the same activity count. */
static void
test_reset_restarts (void)
{
  GCurlStall stall;

  g_curl_stall_reset (&stall, 10, S (0));
  g_assert_true (g_curl_stall_is_stalled (&stall, 2, S (2)));
  g_curl_stall_reset (&stall, 10, S (2));
  g_assert_false (g_curl_stall_is_stalled (&stall, 2, S (3)));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 2), ==, S (4));
}

/* restart_timeout() moves the stall deadline but leaves the nudge due 1 s after the last byte.
 * A hold that ended restarts the stall timeout, but not the idle spell: a
 * nudge stays due a second after the last byte, however often the
 * application pauses and resumes. */
static void
test_restart_timeout_keeps_spell (void)
{
  GCurlStall stall;

  g_curl_stall_reset (&stall, 0, S (10));
  g_curl_stall_restart_timeout (&stall, S (10) + MS (600));
  g_curl_stall_restart_timeout (&stall, S (10) + MS (900));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 2), ==, S (12) + MS (900));
  g_assert_cmpint (g_curl_stall_nudge_due (&stall), ==, S (10) + GCURL_STALL_NUDGE_IDLE_US);
  g_assert_true (g_curl_stall_take_nudge (&stall, S (11)));
  /* Activity ends the spell: both clocks start again. */
  g_assert_true (g_curl_stall_observe (&stall, 1, S (12)));
  g_assert_cmpint (g_curl_stall_deadline (&stall, 2), ==, S (14));
  g_assert_cmpint (g_curl_stall_nudge_due (&stall), ==, S (12) + GCURL_STALL_NUDGE_IDLE_US);
}

/* With a 1 s timeout each look gives the table's deadline; stalled exactly 1 s after a change.
 * Table: after each step (activity count, time of the look), the stall
 * deadline for a 1 s timeout and whether it is stalled then. */
static void
test_table (void)
{
  const struct {
    guint64  activity;
    gint64   now;
    gint64   deadline;
    gboolean stalled;
  } steps[] = {
    { 0, MS (0),    MS (1000), FALSE },
    { 1, MS (10),   MS (1010), FALSE },
    { 5, MS (400),  MS (1400), FALSE },
    { 5, MS (1399), MS (1400), FALSE },
    { 5, MS (1400), MS (1400), TRUE },
    { 6, MS (1401), MS (2401), FALSE },
    { 6, MS (9000), MS (2401), TRUE },
  };
  GCurlStall stall;
  guint i;

  g_curl_stall_reset (&stall, 0, 0);
  for (i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_test_message ("step %u: activity %" G_GUINT64_FORMAT " at %" G_GINT64_FORMAT " µs",
                      i, steps[i].activity, steps[i].now);
      g_curl_stall_observe (&stall, steps[i].activity, steps[i].now);
      g_assert_cmpint (g_curl_stall_deadline (&stall, 1), ==, steps[i].deadline);
      g_assert_cmpint (g_curl_stall_is_stalled (&stall, 1, steps[i].now), ==, steps[i].stalled);
    }
}

/* A nudge is given once per idle spell, not before 1 s idle, and again after new activity.
 * A nudge is due a second into an idle spell, given once per spell, and
 * due again once activity starts a new spell. */
static void
test_nudge_once_per_spell (void)
{
  GCurlStall stall;

  g_curl_stall_reset (&stall, 0, S (10));
  g_assert_cmpint (g_curl_stall_nudge_due (&stall), ==, S (10) + GCURL_STALL_NUDGE_IDLE_US);
  g_assert_false (g_curl_stall_take_nudge (&stall, S (10) + GCURL_STALL_NUDGE_IDLE_US - 1));
  g_assert_true (g_curl_stall_take_nudge (&stall, S (11)));
  g_assert_cmpint (g_curl_stall_nudge_due (&stall), ==, -1);
  g_assert_false (g_curl_stall_take_nudge (&stall, S (30)));

  /* The nudge brought data: a new spell, a new nudge later. */
  g_assert_true (g_curl_stall_observe (&stall, 1, S (31)));
  g_assert_false (stall.nudged);
  g_assert_cmpint (g_curl_stall_nudge_due (&stall), ==, S (31) + GCURL_STALL_NUDGE_IDLE_US);
  g_assert_true (g_curl_stall_take_nudge (&stall, S (32)));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/stall/deadline-from-last-change", test_deadline_from_last_change);
  g_test_add_func ("/stall/timeout-zero", test_timeout_zero);
  g_test_add_func ("/stall/reset-restarts", test_reset_restarts);
  g_test_add_func ("/stall/restart-timeout-keeps-spell", test_restart_timeout_keeps_spell);
  g_test_add_func ("/stall/table", test_table);
  g_test_add_func ("/stall/nudge-once-per-spell", test_nudge_once_per_spell);

  return g_test_run ();
}
