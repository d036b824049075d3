/* soak.c: many transfers on one long-lived multi, in rounds; the memory
 * (RSS) and the open fds stay flat
 *
 * 100 000 transfers by default (GCURL_SOAK_TRANSFERS sets another count),
 * in SOAK_ROUNDS rounds, SOAK_BATCH at once, small pattern bodies, every
 * body checked, against the in-process test server; one GCurlMulti for
 * all of them, as a long-running application would have. The first round
 * is the warm-up: caches, arenas and the connections kept alive reach
 * their size there. After every later round the RSS may exceed the
 * warm-up's by at most SOAK_RSS_TOLERANCE_KIB, and the open fds (ours,
 * not the server's ends) may not exceed the warm-up's by more than
 * SOAK_FD_TOLERANCE.
 *
 * Not in the default `meson test` run (the 'soak' suite): run it with
 * `meson test --suite soak`, or as a program.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <curl/curl.h>

#include "test-util.h"

#define SOAK_DEFAULT_TRANSFERS 100000
#define SOAK_ROUNDS            10
#define SOAK_BATCH             50

/* 4 MiB over the warm-up round: 40 bytes per transfer at 100 000, 200 at
 * 20 000; a leak of our own (a GCurlTransfer, a curl easy handle: several
 * KiB each) would exceed it within a round. The test server's thread
 * shares this process's RSS: libsoup 3.2 leaks about 2 KiB per accepted
 * connection (see test-resources.c), which is why the connections are
 * kept alive and reused, never opened anew per transfer. */
#define SOAK_RSS_TOLERANCE_KIB 4096
/* The connections libcurl keeps alive (one per running transfer, SOAK_BATCH)
 * vary by up to about ten between two rounds, as some are replaced. */
#define SOAK_FD_TOLERANCE      16

static TestServer *server;

static const guint64 body_sizes[] = { 1, 100, 1000, 4096, 10000, 16384, 30000, 65536 };

static guint64
body_size (guint i)
{
  return body_sizes[i % G_N_ELEMENTS (body_sizes)];
}

static guint
n_transfers (void)
{
  const char *env = g_getenv ("GCURL_SOAK_TRANSFERS");
  guint64 n = SOAK_DEFAULT_TRANSFERS;

  if (env != NULL)
    {
      char *end = NULL;

      n = g_ascii_strtoull (env, &end, 10);
      if (end == env || *end != '\0' || n == 0 || n > G_MAXUINT)
        g_error ("GCURL_SOAK_TRANSFERS=%s is not a count of transfers", env);
    }
  return (guint) MAX (n, SOAK_ROUNDS * SOAK_BATCH);
}

typedef struct
{
  GCurlMulti *multi;
  guint       next;         /* index of the next transfer to start */
  guint       end;          /* one past the last of the round */
  guint       running;
  guint       connections;  /* new connections libcurl opened */
} Round;

static void start_transfer (Round *round);

static void
finished_cb (GCurlTransfer *transfer,
             gpointer       user_data)
{
  Round *round = user_data;
  long connections = 0;

  test_assert_pattern_body (transfer,
                            GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (transfer), "size")));
  g_assert_cmpint (curl_easy_getinfo (g_curl_transfer_get_handle (transfer),
                                      CURLINFO_NUM_CONNECTS, &connections), ==, CURLE_OK);
  round->connections += connections;
  round->running--;
  /* Ours was the last reference. */
  g_object_unref (transfer);
  if (round->next < round->end)
    start_transfer (round);
}

static void
start_transfer (Round *round)
{
  guint64 size = body_size (round->next++);
  g_autofree char *url = test_server_url (server, "/bytes/%" G_GUINT64_FORMAT, size);
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  g_object_set_data (G_OBJECT (transfer), "size", GSIZE_TO_POINTER (size));
  g_signal_connect (transfer, "finished", G_CALLBACK (finished_cb), round);
  round->running++;
  g_curl_multi_add_transfer (round->multi, transfer);
}

/* Transfers @first to @first + @n - 1 on @multi, SOAK_BATCH of them
 * running all the time (a new one starts as one finishes: the steady load
 * of a busy application, whose connections stay in libcurl's cache), every
 * body checked. Returns how many new connections they opened. */
static guint
run_round (GCurlMulti *multi,
           guint       first,
           guint       n)
{
  Round round = { multi, first, first + n, 0, 0 };

  while (round.running < SOAK_BATCH && round.next < round.end)
    start_transfer (&round);
  while (round.running > 0)
    g_main_context_iteration (NULL, TRUE);

  return round.connections;
}

/* 100000 transfers on one multi keep RSS within 4 MiB and fds within 16 of the warm-up round. */
static void
test_soak (void)
{
  const guint total = n_transfers ();
  const guint per_round = total / SOAK_ROUNDS;
  g_autoptr(GCurlMulti) multi = NULL;
  guint fds_start, fds_warm = 0, fds_end;
  guint64 rss_start, rss_warm = 0, rss_end;
  guint64 rss_max = 0;
  guint fds_max = 0;
  gint64 start, warm_end = 0;
  guint round;
  /* Under ASan (its quarantine of freed memory fills for a long time) or
   * valgrind the RSS is mostly the tool's: reported, not compared. */
  gboolean rss_is_ours = !test_running_under_asan () && !test_running_on_valgrind ();

  test_init_gio_singletons ();
  fds_start = test_count_open_fds (server);
  rss_start = test_proc_status_kib ("VmRSS");
  start = g_get_monotonic_time ();

  multi = g_curl_multi_new ();
  for (round = 0; round < SOAK_ROUNDS; round++)
    {
      guint fds, connections;
      guint64 rss;

      connections = run_round (multi, round * per_round, per_round);
      g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
      fds = test_count_open_fds (server);
      rss = test_proc_status_kib ("VmRSS");
      g_test_message ("round %u: %u transfers, %u new connections, RSS %" G_GUINT64_FORMAT
                      " KiB, %u fds open", round + 1, (round + 1) * per_round, connections,
                      rss, fds);
      if (round == 0)
        {
          /* The warm-up. */
          rss_warm = rss;
          fds_warm = fds;
          warm_end = g_get_monotonic_time ();
          continue;
        }
      rss_max = MAX (rss_max, rss);
      fds_max = MAX (fds_max, fds);
      if (rss_is_ours)
        g_assert_cmpuint (rss, <=, rss_warm + SOAK_RSS_TOLERANCE_KIB);
      g_assert_cmpuint (fds, <=, fds_warm + SOAK_FD_TOLERANCE);
    }
  g_clear_object (&multi);
  test_assert_fds_back_to (server, fds_start);
  fds_end = test_count_open_fds (server);
  rss_end = test_proc_status_kib ("VmRSS");

  g_test_message ("%u transfers in %.1f s: %.0f transfers/s after the warm-up round "
                  "(backend %s)", per_round * SOAK_ROUNDS,
                  (g_get_monotonic_time () - start) / 1e6,
                  per_round * (SOAK_ROUNDS - 1) / ((g_get_monotonic_time () - warm_end) / 1e6),
                  test_backend_name ());
  g_test_message ("RSS: %" G_GUINT64_FORMAT " KiB at the start, %" G_GUINT64_FORMAT
                  " after the warm-up round, at most %" G_GUINT64_FORMAT
                  " after a later one (%+" G_GINT64_FORMAT ", tolerance %d), %"
                  G_GUINT64_FORMAT " at the end",
                  rss_start, rss_warm, rss_max, (gint64) rss_max - (gint64) rss_warm,
                  SOAK_RSS_TOLERANCE_KIB, rss_end);
  if (!rss_is_ours)
    g_test_message ("under ASan or valgrind: the RSS is the tool's, not compared");
  g_test_message ("open fds: %u at the start, %u after the warm-up round, at most %u "
                  "after a later one (tolerance +%d), %u once the multi is freed",
                  fds_start, fds_warm, fds_max, SOAK_FD_TOLERANCE, fds_end);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  g_test_add_func ("/soak/transfers", test_soak);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
