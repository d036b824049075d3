/* test-resources.c: many transfers, one after another and all at once,
 * give back every fd and the heap they took
 *
 * Each test warms up first (a multi, a few transfers of every body size
 * and, before the transfers at once, as many at once; the multi freed), so
 * that what is made once per process or kept at its high-water mark
 * (GLib's types and quarks, libcurl's global state, the GIO singletons,
 * the test server's per-path counters and arrays) is in the baseline. It
 * then runs its transfers on a multi of its own, checks every body, frees
 * the multi and asserts that the open fd count is back to the baseline and
 * that the heap in use is back to it within a tolerance (see
 * HEAP_TOLERANCE_FIXED).
 *
 * Under valgrind the counts are a tenth, whatever the test names say
 * (memcheck runs this code about 30 times slower; the leak check, not the
 * counts, is the point there), and the heap is not compared (memcheck has
 * its own allocator; its leak check replaces the comparison).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "test-util.h"

static TestServer *server;

/* Small pattern bodies, a few sizes so that the test server's per-path
 * counters stop growing after the warm-up. */
static const guint64 body_sizes[] = { 1, 100, 1000, 4096, 10000, 16384, 30000, 65536 };

#define N_SEQUENTIAL 10000
#define N_CONCURRENT 2000

/* Heap tolerance: 256 KiB, plus 4 KiB per connection the test server
 * accepted. libsoup 3.2 leaks one GSocket per accepted connection (see
 * test-server.c), and about 1.9 KiB per connection stays allocated with it:
 * 25 blocks (the GSocket, objects libsoup makes for the connection, signal
 * handler arrays), all allocated on the server's thread; valgrind's
 * still-reachable records grow by that much per connection, and none of
 * those that grow were allocated under libgcurlmulti or libcurl. ASan
 * counts 1.8 KiB per connection, glibc's arenas 1.9 to 2.4 KiB: 4 KiB
 * leaves room for glibc's chunk overhead and fragmentation. The
 * connections are counted by libcurl (CURLINFO_NUM_CONNECTS), so in a row,
 * where one kept-alive connection serves all the transfers, the tolerance
 * stays near 256 KiB: 26 bytes per transfer for 10 000 of them. */
#define HEAP_TOLERANCE_FIXED          (256 * 1024)
#define HEAP_TOLERANCE_PER_CONNECTION (4 * 1024)

static guint
scaled (guint n)
{
  return test_running_on_valgrind () ? n / 10 : n;
}

static guint64
body_size (guint i)
{
  return body_sizes[i % G_N_ELEMENTS (body_sizes)];
}

static GCurlTransfer *
transfer_new (guint64 size)
{
  g_autofree char *url = test_server_url (server, "/bytes/%" G_GUINT64_FORMAT, size);

  return g_curl_transfer_new (url);
}

/* How many new connections libcurl opened for @transfer. */
static guint
connections_of (GCurlTransfer *transfer)
{
  long n = 0;

  g_assert_cmpint (curl_easy_getinfo (g_curl_transfer_get_handle (transfer),
                                      CURLINFO_NUM_CONNECTS, &n), ==, CURLE_OK);
  return (guint) n;
}

/* @n transfers, one after the other, on a multi of their own; every body
 * checked. Returns how many connections they opened. */
static guint
run_sequential (guint n)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  guint connections = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(GCurlTransfer) transfer = transfer_new (body_size (i));

      test_run_transfer (multi, transfer);
      test_assert_pattern_body (transfer, body_size (i));
      connections += connections_of (transfer);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);

  return connections;
}

static void
count_finished_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* @n transfers at once on a multi of their own, without a connection
 * limit (the default): every one gets its own connection. Every body
 * checked. Returns how many connections they opened. */
static guint
run_concurrent (guint  n,
                guint *out_max_running)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint max_total_connections = G_MAXUINT;
  guint finished = 0, max_running = 0, connections = 0;
  guint i;

  g_object_get (multi, "max-total-connections", &max_total_connections, NULL);
  g_assert_cmpuint (max_total_connections, ==, 0);

  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer = transfer_new (body_size (i));

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_ptr_array_add (transfers, transfer);
      g_curl_multi_add_transfer (multi, transfer);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, n);

  while (finished < n)
    {
      max_running = MAX (max_running, g_curl_multi_get_n_transfers (multi));
      g_main_context_iteration (NULL, TRUE);
    }

  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer = g_ptr_array_index (transfers, i);

      test_assert_pattern_body (transfer, body_size (i));
      connections += connections_of (transfer);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);

  if (out_max_running != NULL)
    *out_max_running = max_running;
  return connections;
}

/* Lets the server thread close its ends and GLib drop what it holds for
 * the sources of the freed multi. */
static void
settle (void)
{
  test_run_for (200);
}

typedef struct
{
  guint fds;
  gsize heap;
} Baseline;

/* The same work first, with the same body sizes (and @n_at_once
 * transfers at once, if not 0), so that what is made once or kept at its
 * high-water mark (GLib's and libsoup's arrays on the server thread) is in
 * the baseline; then the baseline. */
static void
warm_up_and_measure (Baseline *baseline,
                     guint     n_at_once)
{
  test_init_gio_singletons ();
  run_sequential (2 * G_N_ELEMENTS (body_sizes));
  if (n_at_once > 0)
    run_concurrent (n_at_once, NULL);
  settle ();

  baseline->fds = test_count_open_fds (server);
  baseline->heap = test_heap_in_use ();
}

static void
assert_back_to (const Baseline *baseline,
                guint           connections,
                const char     *what)
{
  gsize heap, tolerance;
  gssize growth;

  settle ();
  test_assert_fds_back_to (server, baseline->fds);

  heap = test_heap_in_use ();
  growth = (gssize) heap - (gssize) baseline->heap;
  tolerance = HEAP_TOLERANCE_FIXED + HEAP_TOLERANCE_PER_CONNECTION * connections;
  g_test_message ("%s: %u fds open before and after; heap in use %" G_GSIZE_FORMAT
                  " bytes before, %" G_GSIZE_FORMAT " after (%+" G_GSSIZE_FORMAT
                  ", tolerance %" G_GSIZE_FORMAT " for %u connections)",
                  what, baseline->fds, baseline->heap, heap, growth, tolerance,
                  connections);
  if (test_running_on_valgrind ())
    {
      g_test_message ("under valgrind: the heap is memcheck's, its leak check replaces the comparison");
      return;
    }
  g_assert_cmpint (growth, <=, (gssize) tolerance);
}

/* 10000 transfers in a row get their bodies, one request each; fds and heap return to baseline. */
static void
test_sequential (void)
{
  const guint n = scaled (N_SEQUENTIAL);
  Baseline baseline;
  guint before_requests, connections;
  gint64 start;

  warm_up_and_measure (&baseline, 0);
  before_requests = test_server_get_request_count (server);

  start = g_get_monotonic_time ();
  connections = run_sequential (n);
  g_test_message ("%u transfers in a row in %.1f s over %u connections, backend %s", n,
                  (g_get_monotonic_time () - start) / 1e6, connections,
                  test_backend_name ());
  g_assert_cmpuint (test_server_get_request_count (server) - before_requests, ==, n);

  assert_back_to (&baseline, connections, "in a row");
}

/* Raises the soft limit on open files, up to the hard limit, so that @n
 * transfers of two fds each (ours and the server's end) fit; returns how
 * many fit. */
static guint
raise_fd_limit (guint n)
{
  const guint spare = 256;
  struct rlimit limit;
  rlim_t needed = 2 * (rlim_t) n + spare;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max)
    {
      struct rlimit raised = limit;

      raised.rlim_cur = MIN (needed, limit.rlim_max);
      if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
        limit = raised;
      else
        g_test_message ("could not raise the open files limit to %lu: %s",
                        (unsigned long) raised.rlim_cur, g_strerror (errno));
    }

  if (limit.rlim_cur < needed)
    {
      guint fit = limit.rlim_cur > 2 * spare ? (guint) ((limit.rlim_cur - spare) / 2) : 0;

      g_test_message ("open files limit %lu: %u transfers at once instead of %u",
                      (unsigned long) limit.rlim_cur, fit, n);
      return fit;
    }
  return n;
}

/* 2000 transfers at once get their bodies; then the fds and the heap return to the baseline. */
static void
test_concurrent (void)
{
  const guint n = raise_fd_limit (scaled (N_CONCURRENT));
  Baseline baseline;
  guint connections, max_running;
  gint64 start;

  g_assert_cmpuint (n, >=, 100);
  warm_up_and_measure (&baseline, n);

  start = g_get_monotonic_time ();
  connections = run_concurrent (n, &max_running);
  g_test_message ("%u transfers at once (up to %u running) in %.1f s over %u connections, "
                  "backend %s", n, max_running, (g_get_monotonic_time () - start) / 1e6,
                  connections, test_backend_name ());
  g_assert_cmpuint (max_running, ==, n);

  assert_back_to (&baseline, connections, "at once");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  g_test_add_func ("/resources/sequential-10000", test_sequential);
  g_test_add_func ("/resources/concurrent-2000", test_concurrent);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
