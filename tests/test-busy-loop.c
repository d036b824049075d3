/* test-busy-loop.c: a transfer held back lets the main loop sleep
 *
 * libcurl 7.88 (Debian 12) has busy loops in paused and rate-limited
 * transfers that later releases fixed (see DESIGN.md). Each test here holds
 * a transfer back for HOLD_MS while the server could send (or, for the
 * upload, receive) more, counts the main loop's iterations and the CPU time
 * of the main thread meanwhile, then lets it go on and checks that the body
 * is complete and its SHA-256 right: a guard against spinning must not lose
 * data.
 *
 * The bounds are generous, for a loaded shared machine, but a busy loop
 * (thousands of iterations a second, a whole core) fails every one of
 * them. CPU time is the main thread's own (getrusage (RUSAGE_THREAD)): the
 * in-process test server and GLib's worker thread are not counted, and a
 * machine busy with other work slows the wall clock, not this figure.
 *
 * The HTTP/2 tests use nghttpd (Debian package nghttp2-server), cleartext
 * with prior knowledge, as test-http2.c does; they are skipped without it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* RUSAGE_THREAD */
#define _GNU_SOURCE 1

#include <string.h>
#include <sys/resource.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "test-nghttpd.h"
#include "test-util.h"

/* How long each transfer is held back. */
#define HOLD_MS 5000

/* A transfer held back wakes the loop at most this often: the stall
 * watchdog (once a second) and a few stray wakeups, not a spin. */
#define MAX_ITERATIONS_PER_S 20

/* At most this share of HOLD_MS as CPU time of the main thread; a busy
 * loop takes all of it. Sanitizers make every iteration and every byte
 * slower: the bound is looser there (meson defines TEST_SANITIZER). */
#ifdef TEST_SANITIZER
#define MAX_CPU_PERCENT 30
#else
#define MAX_CPU_PERCENT 10
#endif

/* The rate-limited transfer: 1 KiB/s, read 1 KiB at a time (libcurl's
 * smallest receive buffer), so that the limit lets a chunk through about
 * once a second instead of one 16 KiB chunk every 16 s. It may wake the
 * loop a few times per KiB it gets, and once a second for the watchdog. */
#define RATE_LIMIT           1024
#define RATE_BUFFER_SIZE     1024L
#define MAX_ITERATIONS_PER_KIB 8

/* The HTTP/2 body: larger than the stream's 256 KiB of read-ahead and than
 * what libcurl and the socket buffers hold, so that data is still coming
 * when the transfer is held back. */
#define H2_SIZE (4 * 1024 * 1024 + 7)

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* Measuring */

typedef struct
{
  guint  iterations;
  gint64 cpu_us;
  gint64 wall_us;
} Load;

static gint64
thread_cpu_time (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_THREAD, &usage), ==, 0);

  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the thread-default context for @ms and measures it. Unlike
 * test_count_iterations(), nothing pending is drained first: with a busy
 * loop that would never end. The iteration that dispatches the measuring
 * timeout is not counted. */
static void
measure_load (guint  ms,
              Load  *load)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  GSource *timeout = g_timeout_source_new (ms);
  gboolean done = FALSE;
  gint64 cpu_start, wall_start;

  g_source_set_callback (timeout, set_flag_cb, &done, NULL);
  g_source_attach (timeout, context);

  load->iterations = 0;
  cpu_start = thread_cpu_time ();
  wall_start = g_get_monotonic_time ();
  while (!done)
    {
      g_main_context_iteration (context, TRUE);
      load->iterations++;
    }
  load->iterations--;
  load->cpu_us = thread_cpu_time () - cpu_start;
  load->wall_us = g_get_monotonic_time () - wall_start;

  g_source_unref (timeout);
  g_main_context_unref (context);
}

static void
report_load (const char *what,
             const Load *load)
{
  g_test_message ("%s, %s backend: %u iterations (%.1f/s), %.1f ms CPU (%.2f%%) in %.1f s",
                  what, test_backend_name (),
                  load->iterations, load->iterations * (double) G_USEC_PER_SEC / load->wall_us,
                  load->cpu_us / 1000.0, 100.0 * load->cpu_us / load->wall_us,
                  load->wall_us / (double) G_USEC_PER_SEC);
}

/* Asserts that the loop slept: at most @max_iterations iterations, and at
 * most MAX_CPU_PERCENT of the time on the CPU. */
static void
assert_slept (const Load *load,
              guint       max_iterations)
{
  g_assert_cmpuint (load->iterations, <=, max_iterations);
  g_assert_cmpint (load->cpu_us, <=, load->wall_us * MAX_CPU_PERCENT / 100);
}

static void
assert_slept_while_held (const char *what,
                         const Load *load)
{
  report_load (what, load);
  assert_slept (load, MAX_ITERATIONS_PER_S * HOLD_MS / 1000);
}

/* Transfers */

static void
run_until_downloaded (GCurlTransfer *transfer,
                      gint64         bytes)
{
  gint64 deadline = g_get_monotonic_time () + TEST_TIMEOUT_S * G_USEC_PER_SEC;

  while (g_curl_transfer_get_downloaded_bytes (transfer) < bytes &&
         g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
}

/* Pauses @transfer, holds it for HOLD_MS and checks that not a byte came
 * through and that the loop slept meanwhile. */
static void
hold_paused (const char    *what,
             GCurlTransfer *transfer)
{
  gint64 at_pause;
  Load load;

  g_curl_transfer_pause (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  /* Let a chunk already on its way be held back by the write callback. */
  test_run_for (100);
  at_pause = g_curl_transfer_get_downloaded_bytes (transfer);

  measure_load (HOLD_MS, &load);
  assert_slept_while_held (what, &load);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, at_pause);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
}

/* (a) Paused after some data, while the server keeps sending: the socket
 * stays readable and libcurl holds the chunk the write callback refused. */
#define PAUSED_SIZE 2000000
#define PAUSED_RATE 400000

/* Paused 5 s mid-body while the server sends: the loop sleeps, no byte comes; then all of it. */
static void
test_paused_while_server_sends (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/slow/%d?rate=%d", PAUSED_SIZE, PAUSED_RATE);

  g_curl_multi_add_transfer (fixture->multi, transfer);
  run_until_downloaded (transfer, 1);

  hold_paused ("paused after data, HTTP/1.1", transfer);
  /* Not everything was in before the pause: the server kept sending. */
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), <, PAUSED_SIZE / 2);

  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, PAUSED_SIZE);
}

/* (d) Paused before it has a connection: the pause is applied by the first
 * write callback, on a socket that has a whole response waiting. */
#define BEFORE_CONNECT_SIZE 3000000

/* Paused before it connects: no byte in 5 s, the loop asleep, the request sent; then all of it. */
static void
test_paused_before_connect (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/bytes/%d", BEFORE_CONNECT_SIZE);
  Load load;

  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_curl_transfer_pause (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);

  measure_load (HOLD_MS, &load);
  assert_slept_while_held ("paused before connect, HTTP/1.1", &load);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);
  /* The request did reach the server, which answered. */
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/3000000"), ==, 1);

  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, BEFORE_CONNECT_SIZE);
}

/* (b) 1 KiB/s from a server that sends as fast as it is read: the socket
 * is readable all along, and the limit holds the data back. */
#define RATE_SIZE 300000

/* At 1 KiB/s with a readable socket the loop sleeps, about 1 KiB/s comes, the body ends whole. */
static void
test_rate_limited (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", RATE_SIZE);
  gint64 at_start, received;
  guint max_iterations;
  Load load;

  g_assert_cmpint (curl_easy_setopt (g_curl_transfer_get_handle (transfer),
                                     CURLOPT_BUFFERSIZE, RATE_BUFFER_SIZE), ==, CURLE_OK);
  g_object_set (transfer, "max-download-speed", (gint64) RATE_LIMIT, NULL);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  run_until_downloaded (transfer, 1);

  at_start = g_curl_transfer_get_downloaded_bytes (transfer);
  measure_load (HOLD_MS, &load);
  received = g_curl_transfer_get_downloaded_bytes (transfer) - at_start;
  report_load ("1 KiB/s limit, HTTP/1.1", &load);
  g_test_message ("%" G_GINT64_FORMAT " bytes in %.1f s", received,
                  load.wall_us / (double) G_USEC_PER_SEC);

  /* The limit held: about RATE_LIMIT a second, give or take a chunk and
   * the burst; and data did flow. */
  g_assert_cmpint (received, >=, RATE_LIMIT * HOLD_MS / 1000 / 2);
  g_assert_cmpint (received, <=, RATE_LIMIT * load.wall_us / G_USEC_PER_SEC + 2 * RATE_BUFFER_SIZE);
  max_iterations = MAX_ITERATIONS_PER_S * HOLD_MS / 1000 / 2 +
                   MAX_ITERATIONS_PER_KIB * (received + 1023) / 1024;
  assert_slept (&load, max_iterations);

  g_curl_transfer_set_max_download_speed (transfer, 0);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, RATE_SIZE);
}

/* (e) An upload whose request stream has nothing to give for a while:
 * libcurl's read callback pauses the upload until the stream has data. */
#define UPLOAD_FIRST 32768
#define UPLOAD_SIZE  (UPLOAD_FIRST + 500000)

static void
write_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  gboolean *done = user_data;
  GError *error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  g_assert_no_error (error);
  *done = TRUE;
}

/* An upload whose stream runs dry lets the loop sleep 5 s, sends nothing more, then all of it. */
static void
test_upload_starved (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autofree guint8 *pattern = g_malloc (UPLOAD_SIZE);
  g_autofree char *sum = test_pattern_sha256 (0, UPLOAD_SIZE);
  g_autofree char *expected = g_strdup_printf ("POST %d %s", UPLOAD_SIZE, sum);
  g_autofree char *echo = NULL;
  GError *error = NULL;
  gboolean written = FALSE;
  gint64 uploaded;
  int fds[2];
  Load load;

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  /* Else the write of the rest blocks until libcurl has read it all. */
  g_assert_true (g_unix_set_fd_nonblocking (fds[0], TRUE, &error));
  g_assert_true (g_unix_set_fd_nonblocking (fds[1], TRUE, &error));
  g_assert_no_error (error);
  in = g_unix_input_stream_new (fds[0], TRUE);
  out = g_unix_output_stream_new (fds[1], TRUE);
  test_pattern_fill (0, pattern, UPLOAD_SIZE);

  /* Less than a pipe holds: written at once. */
  g_assert_true (g_output_stream_write_all (out, pattern, UPLOAD_FIRST, NULL, NULL, &error));
  g_assert_no_error (error);

  g_curl_transfer_set_request_stream (transfer, in, UPLOAD_SIZE);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  /* The stream's first bytes go out; then it has nothing more. */
  test_run_for (300);

  measure_load (HOLD_MS, &load);
  assert_slept_while_held ("upload waiting for its stream, HTTP/1.1", &load);
  uploaded = g_curl_transfer_get_uploaded_bytes (transfer);
  g_test_message ("%" G_GINT64_FORMAT " bytes uploaded while the stream was empty", uploaded);
  g_assert_cmpint (uploaded, <=, UPLOAD_FIRST);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);

  g_output_stream_write_all_async (out, pattern + UPLOAD_FIRST, UPLOAD_SIZE - UPLOAD_FIRST,
                                   G_PRIORITY_DEFAULT, NULL, write_done_cb, &written);
  test_run_until (&written);
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  test_run_until_finished (transfer);

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  echo = test_body_string (transfer);
  g_assert_cmpstr (echo, ==, expected);
  g_assert_cmpint (g_curl_transfer_get_uploaded_bytes (transfer), ==, UPLOAD_SIZE);
}

/* Timers: libcurl's timeout is in whole milliseconds, rounded down from its
 * own clock. A timer that fires that early finds nothing due, and libcurl
 * before 8.4 does not re-arm it: rounded up and re-synced after firing,
 * each of many timers wakes the loop about once, never in a burst, and
 * none is left to hang. N_TIMERS transfers wait for responses that come
 * far later than their timeouts (CURLOPT_TIMEOUT_MS), one every
 * TIMER_STEP_MS: every one must end by its own timeout, on time. */
#define N_TIMERS        20
#define TIMER_FIRST_MS  500
#define TIMER_STEP_MS   100
#define TIMER_DELAY_MS  20000
#define TIMER_LATE_MS   1000
#define MAX_ITERATIONS_PER_TIMER 4

/* 20 staggered timeouts each end TIMEDOUT within 1 s after their time, with few wakeups. */
static void
test_timer_many_timeouts (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 finished_at[N_TIMERS] = { 0, };
  gint64 start;
  guint max_iterations, i;
  Load load;

  start = g_get_monotonic_time ();
  for (i = 0; i < N_TIMERS; i++)
    {
      GCurlTransfer *transfer = test_transfer_new_printf (server, "/delay/%d", TIMER_DELAY_MS);

      g_assert_cmpint (curl_easy_setopt (g_curl_transfer_get_handle (transfer),
                                         CURLOPT_TIMEOUT_MS,
                                         (long) (TIMER_FIRST_MS + i * TIMER_STEP_MS)),
                       ==, CURLE_OK);
      g_signal_connect (transfer, "finished", G_CALLBACK (test_record_time_cb), &finished_at[i]);
      g_curl_multi_add_transfer (fixture->multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }

  /* The connections and requests, then the timeouts alone. */
  test_run_for (TIMER_FIRST_MS / 2);
  measure_load (TIMER_FIRST_MS / 2 + (N_TIMERS - 1) * TIMER_STEP_MS + TIMER_LATE_MS, &load);
  report_load ("many timeouts", &load);

  for (i = 0; i < N_TIMERS; i++)
    {
      gint64 timeout_us = (gint64) (TIMER_FIRST_MS + i * TIMER_STEP_MS) * 1000;

      g_assert_cmpint (finished_at[i], !=, 0);
      g_assert_error ((GError *) g_curl_transfer_get_error (transfers->pdata[i]),
                      G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT);
      g_assert_cmpint (finished_at[i] - start, >=, timeout_us);
      g_assert_cmpint (finished_at[i] - start, <, timeout_us + TIMER_LATE_MS * 1000);
    }
  max_iterations = MAX_ITERATIONS_PER_S * load.wall_us / G_USEC_PER_SEC +
                   MAX_ITERATIONS_PER_TIMER * N_TIMERS;
  assert_slept (&load, max_iterations);
}

/* HTTP/2, with nghttpd */

static char *nghttpd;
static char *h2_dir;
static char *h2_doc_root;
static TestNghttpd h2_server = { "h2c", FALSE };
static char *h2_skip_reason;
static char *h2_setup_error;

static gboolean
h2_setup (GError **error)
{
  nghttpd = test_nghttpd_find ();
  if (nghttpd == NULL)
    {
      h2_skip_reason = g_strdup ("nghttpd is not installed (Debian package nghttp2-server)");
      return TRUE;
    }

  h2_dir = g_dir_make_tmp ("gcurl-test-busy-loop-XXXXXX", error);
  if (h2_dir == NULL)
    return FALSE;
  h2_doc_root = test_nghttpd_make_doc_root (h2_dir, error);
  if (h2_doc_root == NULL || !test_nghttpd_write_pattern (h2_doc_root, H2_SIZE, error))
    return FALSE;

  /* Cleartext HTTP/2 with prior knowledge. */
  return test_nghttpd_start (&h2_server, nghttpd, h2_dir, h2_doc_root, NULL, NULL, NULL, error);
}

static void
h2_teardown (void)
{
  test_nghttpd_stop (&h2_server);
  if (h2_dir != NULL)
    test_nghttpd_remove_tree (h2_dir);
  g_clear_pointer (&h2_doc_root, g_free);
  g_clear_pointer (&h2_dir, g_free);
  g_clear_pointer (&nghttpd, g_free);
  g_clear_pointer (&h2_skip_reason, g_free);
  g_clear_pointer (&h2_setup_error, g_free);
}

static gboolean
h2_available (void)
{
  if (h2_skip_reason != NULL)
    g_test_skip (h2_skip_reason);
  else if (h2_setup_error != NULL)
    g_test_fail_printf ("%s", h2_setup_error);
  else
    return TRUE;

  return FALSE;
}

static GCurlTransfer *
h2_transfer_new (void)
{
  g_autofree char *url = g_strdup_printf ("%s/pattern-%d", h2_server.base_url, H2_SIZE);
  GCurlTransfer *transfer = g_curl_transfer_new (url);
  CURL *handle = g_curl_transfer_get_handle (transfer);

  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_HTTP_VERSION,
                                     (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE), ==, CURLE_OK);
  if (g_getenv ("TEST_CURL_VERBOSE") != NULL)
    curl_easy_setopt (handle, CURLOPT_VERBOSE, 1L);

  return transfer;
}

static void
assert_http2 (GCurlTransfer *transfer)
{
  long version = 0;

  g_assert_cmpint (curl_easy_getinfo (g_curl_transfer_get_handle (transfer),
                                      CURLINFO_HTTP_VERSION, &version), ==, CURLE_OK);
  g_assert_cmpint (version, ==, CURL_HTTP_VERSION_2_0);
}

/* A paused h2 stream lets the loop sleep and gets no byte; resumed, it ends with its whole body.
 * (c) An HTTP/2 stream paused with pause(), the body collected in memory,
 * with libcurl's receive buffer of @data bytes (0: the default). A small
 * one makes libcurl 7.88 keep the stream's last DATA frame in its
 * connection buffer when the server has sent everything (see the
 * library's nudge in the stall watchdog): the transfer must end all the
 * same, with all its bytes. */
static void
test_http2_paused (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;
  long buffer_size = GPOINTER_TO_INT (data);
  gint64 resumed_at;

  if (!h2_available ())
    return;

  transfer = h2_transfer_new ();
  if (buffer_size > 0)
    g_assert_cmpint (curl_easy_setopt (g_curl_transfer_get_handle (transfer),
                                       CURLOPT_BUFFERSIZE, buffer_size), ==, CURLE_OK);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  run_until_downloaded (transfer, 1);

  hold_paused ("paused after data, HTTP/2", transfer);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), <, H2_SIZE);

  resumed_at = g_get_monotonic_time ();
  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  g_test_message ("finished %" G_GINT64_FORMAT " ms after the resume",
                  (g_get_monotonic_time () - resumed_at) / 1000);
  test_assert_pattern_body (transfer, H2_SIZE);
  assert_http2 (transfer);
}

/* (c) An HTTP/2 stream paused beside a running one on the same connection:
 * the socket stays watched for the running stream while data for the
 * paused one keeps arriving. */
#define BESIDE_RATE (20 * 1024)

/* An h2 stream paused beside a running one on its connection: the loop sleeps, both end whole. */
static void
test_http2_paused_beside_running (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) paused = NULL;
  g_autoptr(GCurlTransfer) running = NULL;
  CURL *handle;
  gint64 running_before;

  if (!h2_available ())
    return;

  paused = h2_transfer_new ();
  g_curl_multi_add_transfer (fixture->multi, paused);
  run_until_downloaded (paused, 1);
  /* Before it is done; hold_paused() holds it from here on. */
  g_curl_transfer_pause (paused);

  /* On the connection @paused opened: libcurl 7.88 fails prior knowledge
   * on a reused connection (see test-http2.c), and PIPEWAIT keeps it from
   * opening one of its own. */
  running = h2_transfer_new ();
  handle = g_curl_transfer_get_handle (running);
  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2_0),
                   ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_PIPEWAIT, 1L), ==, CURLE_OK);
  g_curl_transfer_set_max_download_speed (running, BESIDE_RATE);
  g_curl_multi_add_transfer (fixture->multi, running);
  run_until_downloaded (running, 1);

  running_before = g_curl_transfer_get_downloaded_bytes (running);
  hold_paused ("paused beside a running stream, HTTP/2", paused);
  g_test_message ("the running stream got %" G_GINT64_FORMAT " bytes meanwhile",
                  g_curl_transfer_get_downloaded_bytes (running) - running_before);
  /* The connection kept serving the other stream. */
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (running), >, running_before);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (running), <, H2_SIZE);

  g_curl_transfer_set_max_download_speed (running, 0);
  g_curl_transfer_resume (paused);
  test_run_until_finished (paused);
  if (g_curl_transfer_get_state (running) == G_CURL_TRANSFER_STATE_RUNNING)
    test_run_until_finished (running);
  test_assert_pattern_body (paused, H2_SIZE);
  test_assert_pattern_body (running, H2_SIZE);
  assert_http2 (paused);
  assert_http2 (running);
  g_assert_cmpint (test_transfer_get_info_long (running, CURLINFO_LOCAL_PORT), ==,
                   test_transfer_get_info_long (paused, CURLINFO_LOCAL_PORT));
}

static void
splice_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  TestSend *sr = user_data;

  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &sr->error);
  sr->done = TRUE;
}

/* An unread h2 stream stops the transfer short with the loop asleep; read, it gives the whole body.
 * (c) An HTTP/2 stream read by nobody: send_async's stream holds its
 * read-ahead, then the transfer pauses until the reader catches up. */
static void
test_http2_slow_reader (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GOutputStream) sink = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  TestSend sr = { 0, };
  gint64 at_hold;
  Load load;

  if (!h2_available ())
    return;

  transfer = h2_transfer_new ();
  g_curl_multi_send_async (fixture->multi, transfer, NULL, test_send_cb, &sr);
  test_run_until (&sr.done);
  g_assert_no_error (sr.error);
  g_assert_nonnull (sr.stream);

  /* Unread, the stream fills up to its limit and the transfer stops. */
  test_run_for (300);
  at_hold = g_curl_transfer_get_downloaded_bytes (transfer);
  measure_load (HOLD_MS, &load);
  assert_slept_while_held ("unread stream, HTTP/2", &load);
  g_test_message ("%" G_GINT64_FORMAT " bytes in before the hold, %" G_GINT64_FORMAT " after",
                  at_hold, g_curl_transfer_get_downloaded_bytes (transfer));
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), <, H2_SIZE);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);

  sink = g_memory_output_stream_new_resizable ();
  sr.done = FALSE;
  g_output_stream_splice_async (sink, sr.stream,
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, splice_cb, &sr);
  test_run_until (&sr.done);
  g_assert_no_error (sr.error);
  g_clear_object (&sr.stream);
  if (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    test_run_until_finished (transfer);

  body = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (sink));
  g_assert_cmpuint (g_bytes_get_size (body), ==, H2_SIZE);
  expected = test_pattern_sha256 (0, H2_SIZE);
  actual = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_assert_cmpstr (actual, ==, expected);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  assert_http2 (transfer);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  /* Before the first test, so that what lives as long as the program is in
   * no test's fd count: the default main context's wakeup fd, GLib's
   * worker thread (it reaps nghttpd) and the server's pidfd. */
  g_main_context_default ();
  if (!h2_setup (&error))
    h2_setup_error = g_strdup (error->message);

  ADD_TEST ("/busy-loop/paused/while-server-sends", test_paused_while_server_sends);
  ADD_TEST ("/busy-loop/paused/before-connect", test_paused_before_connect);
  ADD_TEST ("/busy-loop/rate-limited", test_rate_limited);
  ADD_TEST ("/busy-loop/upload/starved", test_upload_starved);
  ADD_TEST ("/busy-loop/timer/many-timeouts", test_timer_many_timeouts);
  g_test_add ("/busy-loop/http2/paused", Fixture, GINT_TO_POINTER (0),
              test_fixture_setup, test_http2_paused, test_fixture_teardown);
  g_test_add ("/busy-loop/http2/paused-1k-buffer", Fixture, GINT_TO_POINTER (1024),
              test_fixture_setup, test_http2_paused, test_fixture_teardown);
  ADD_TEST ("/busy-loop/http2/paused-beside-running", test_http2_paused_beside_running);
  ADD_TEST ("/busy-loop/http2/slow-reader", test_http2_slow_reader);

  ret = g_test_run ();
  h2_teardown ();
  test_server_free (server);

  return ret;
}
