/* test-send.c: send_and_read_async (the whole response as GBytes) and
 * send_and_splice_async (the body written to an output stream), against
 * the test server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* send_and_read_async gives the whole body as GBytes, and a 404's body with no error. */
static void
test_send_and_read (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/12345");
  g_autoptr(GCurlTransfer) missing = test_transfer_new_printf (server, "/status/404");
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, 12345);
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &ar);
  g_assert_false (ar.done);
  test_run_until (&ar.done);
  g_assert_no_error (ar.error);
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, ar.bytes);
  g_assert_cmpstr (sum, ==, expected);
  g_clear_pointer (&ar.bytes, g_bytes_unref);

  /* A 404 is a response, not an error. */
  memset (&ar, 0, sizeof ar);
  g_curl_multi_send_and_read_async (fixture->multi, missing, NULL, test_send_and_read_cb, &ar);
  test_run_until (&ar.done);
  g_assert_no_error (ar.error);
  g_assert_cmpuint (g_bytes_get_size (ar.bytes), ==, strlen ("status 404"));
  g_assert_cmpuint (g_curl_transfer_get_status_code (missing), ==, 404);
  g_bytes_unref (ar.bytes);
}

static gpointer
cancel_from_thread (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* Cancelled from another thread it ends CANCELLED; already cancelled, it sends nothing. */
static void
test_send_and_read_cancel (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/100000?rate=10000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/bytes/10");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GThread) thread = NULL;
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_read_async (fixture->multi, transfer, cancellable, test_send_and_read_cb, &ar);
  /* Cancelled from another thread: the transfer is still only touched
   * from the multi's context. */
  thread = g_thread_new ("canceller", cancel_from_thread, cancellable);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (ar.bytes);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_CANCELLED);
  g_clear_error (&ar.error);
  g_thread_join (g_steal_pointer (&thread));

  /* Already cancelled: nothing is sent, and the callback still comes later. */
  memset (&ar, 0, sizeof ar);
  g_curl_multi_send_and_read_async (fixture->multi, second, cancellable, test_send_and_read_cb, &ar);
  g_assert_false (ar.done);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_curl_transfer_get_state (second), ==, G_CURL_TRANSFER_STATE_NEW);
  g_clear_error (&ar.error);
}

/* An application's "finished" handler, connected before send_and_read's
 * own, may run the transfer again at once (a retry): the callback still
 * has the result of the run it was for (found by test-chaos, seed 1). */
static void
test_send_and_read_readd_in_finished (Fixture       *fixture,
                                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/12345");
  g_autoptr(GCurlTransfer) cancelled = test_transfer_new_printf (server, "/slow/100000?rate=10000");
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, 12345);
  TestSendAndRead ar = { 0, };

  g_signal_connect (transfer, "finished",
                    G_CALLBACK (test_readd_once_in_finished_cb), fixture->multi);
  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &ar);
  test_run_until (&ar.done);
  g_assert_no_error (ar.error);
  g_assert_nonnull (ar.bytes);
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, ar.bytes);
  g_assert_cmpstr (sum, ==, expected);
  g_clear_pointer (&ar.bytes, g_bytes_unref);
  /* The second run goes on, and ends as any add_transfer run. */
  if (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 12345);

  /* A cancelled run is a cancellation, not a success with no body. */
  memset (&ar, 0, sizeof ar);
  g_signal_connect (cancelled, "finished",
                    G_CALLBACK (test_readd_once_in_finished_cb), fixture->multi);
  g_curl_multi_send_and_read_async (fixture->multi, cancelled, NULL, test_send_and_read_cb, &ar);
  g_curl_transfer_cancel (cancelled);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (ar.bytes);
  g_clear_error (&ar.error);
  g_assert_cmpint (g_curl_transfer_get_state (cancelled), ==, G_CURL_TRANSFER_STATE_RUNNING);
  g_curl_transfer_cancel (cancelled);
  test_run_until_finished (cancelled);
}

/* A refused connection comes to the callback as COULDNT_CONNECT. */
static void
test_send_and_read_error (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &ar);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_clear_error (&ar.error);
}

/* send_and_splice */

typedef struct
{
  gboolean  done;
  gssize    count;
  GError   *error;
} SpliceResult;

static void
splice_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SpliceResult *r = user_data;

  r->count = g_curl_multi_send_and_splice_finish (G_CURL_MULTI (source), result, &r->error);
  r->done = TRUE;
}

static gssize
splice_and_wait (GCurlMulti               *multi,
                 GCurlTransfer            *transfer,
                 GOutputStream            *output,
                 GOutputStreamSpliceFlags  flags,
                 GCancellable             *cancellable,
                 GError                  **error)
{
  SpliceResult r = { 0, };

  g_curl_multi_send_and_splice_async (multi, transfer, output, flags, cancellable, splice_cb, &r);
  g_assert_false (r.done);
  test_run_until (&r.done);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.count;
}

/* The whole body is written to the output, its byte count returned, the output closed. */
static void
test_splice (Fixture       *fixture,
             gconstpointer  data)
{
  const guint size = 3 * 1024 * 1024 + 17;
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", size);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) written = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, size);
  gssize count;

  count = splice_and_wait (fixture->multi, transfer, output,
                           G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count, ==, size);
  g_assert_true (g_output_stream_is_closed (output));
  written = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, written);
  g_assert_cmpstr (sum, ==, expected);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
}

/* An output whose writes are slow: each sleeps, in GIO's worker thread. */
typedef struct
{
  GOutputStream parent_instance;
  gint          written;     /* atomic */
  guint         fail_after;  /* 0: never */
} TestSlowOutput;

typedef GOutputStreamClass TestSlowOutputClass;

static GType test_slow_output_get_type (void);
G_DEFINE_TYPE (TestSlowOutput, test_slow_output, G_TYPE_OUTPUT_STREAM)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestSlowOutput, g_object_unref)

static gssize
test_slow_output_write (GOutputStream  *stream,
                        const void     *buffer,
                        gsize           count,
                        GCancellable   *cancellable,
                        GError        **error)
{
  TestSlowOutput *self = (TestSlowOutput *) stream;
  gsize n = MIN (count, 16 * 1024);

  if (self->fail_after > 0 && (guint) g_atomic_int_get (&self->written) >= self->fail_after)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "the disk is full");
      return -1;
    }
  g_usleep (2000);
  g_atomic_int_add (&self->written, (gint) n);

  return (gssize) n;
}

static void
test_slow_output_class_init (TestSlowOutputClass *klass)
{
  klass->write_fn = test_slow_output_write;
}

static void
test_slow_output_init (TestSlowOutput *self)
{
}

typedef struct
{
  TestSlowOutput *output;
  gint64          max_lag;
} LagWatch;

static void
lag_progress_cb (GCurlTransfer *transfer,
                 gint64         downloaded,
                 gint64         download_size,
                 gint64         uploaded,
                 gint64         upload_size,
                 LagWatch      *watch)
{
  gint64 lag = downloaded - g_atomic_int_get (&watch->output->written);

  watch->max_lag = MAX (watch->max_lag, lag);
}

/* A slow output holds the transfer back: what is received stays a bounded amount ahead of it. */
static void
test_splice_back_pressure (Fixture       *fixture,
                           gconstpointer  data)
{
  const guint size = 8 * 1024 * 1024;
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", size);
  g_autoptr(TestSlowOutput) output = g_object_new (test_slow_output_get_type (), NULL);
  g_autoptr(GError) error = NULL;
  LagWatch watch = { output, 0 };
  gssize count;

  if (test_skip_under_valgrind ("8 MiB written 16 KiB at a time with 2 ms sleeps"))
    return;

  g_object_set (fixture->multi, "progress-interval", 0, NULL);
  g_signal_connect (transfer, "progress", G_CALLBACK (lag_progress_cb), &watch);
  count = splice_and_wait (fixture->multi, transfer, G_OUTPUT_STREAM (output),
                           G_OUTPUT_STREAM_SPLICE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count, ==, size);
  g_assert_cmpint (g_atomic_int_get (&output->written), ==, size);
  /* The stream buffers a few hundred KiB and libcurl one more chunk; the
   * body is 8 MiB and the server sends it in a few milliseconds. */
  g_test_message ("largest lag: %" G_GINT64_FORMAT " bytes", watch.max_lag);
  g_assert_cmpint (watch.max_lag, <, 2 * 1024 * 1024);
}

/* An output that fails ends the call with its error and cancels the transfer. */
static void
test_splice_output_error (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", 4 * 1024 * 1024);
  g_autoptr(TestSlowOutput) output = g_object_new (test_slow_output_get_type (), NULL);
  g_autoptr(GError) error = NULL;
  gboolean finished = FALSE;
  gssize count;

  output->fail_after = 64 * 1024;
  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (test_set_flag), &finished);
  count = splice_and_wait (fixture->multi, transfer, G_OUTPUT_STREAM (output),
                           G_OUTPUT_STREAM_SPLICE_NONE, NULL, &error);
  g_assert_cmpint (count, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  test_run_until (&finished);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_CANCELLED);
}

/* With fail-on-http-error, the error page is written and the call fails with the status. */
static void
test_splice_http_error (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GCurlTransfer) lenient = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) lenient_output = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  gssize count;

  /* By default a 404 is a body like any other. */
  count = splice_and_wait (fixture->multi, lenient, lenient_output,
                           G_OUTPUT_STREAM_SPLICE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count, ==, 10);

  g_object_set (transfer, "fail-on-http-error", TRUE, NULL);
  count = splice_and_wait (fixture->multi, transfer, output, G_OUTPUT_STREAM_SPLICE_NONE, NULL,
                           &error);
  g_assert_cmpint (count, ==, -1);
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_cmpmem (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (output)),
                   g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (output)),
                   "status 404", 10);
}

/* A refused connection, and a cancel mid-body, end the call with their errors. */
static void
test_splice_failures (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *refused_url = g_strdup_printf ("http://127.0.0.1:%u/",
                                                  test_server_get_refused_port ());
  g_autoptr(GCurlTransfer) refused = g_curl_transfer_new (refused_url);
  g_autoptr(GCurlTransfer) slow = test_transfer_new_printf (server, "/slow/%u?rate=%u",
                                                            200000, 20000);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) refused_error = NULL;
  SpliceResult r = { 0, };
  gboolean slow_finished = FALSE;

  g_assert_cmpint (splice_and_wait (fixture->multi, refused, output, G_OUTPUT_STREAM_SPLICE_NONE,
                                    NULL, &refused_error), ==, -1);
  g_assert_error (refused_error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);

  g_signal_connect_swapped (slow, "finished", G_CALLBACK (test_set_flag), &slow_finished);
  g_curl_multi_send_and_splice_async (fixture->multi, slow, output, G_OUTPUT_STREAM_SPLICE_NONE,
                                      cancellable, splice_cb, &r);
  test_run_for (300);
  g_assert_false (r.done);
  g_cancellable_cancel (cancellable);
  test_run_until (&r.done);
  g_assert_cmpint (r.count, ==, -1);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
  test_run_until (&slow_finished);
  g_assert_cmpint (g_curl_transfer_get_state (slow), ==, G_CURL_TRANSFER_STATE_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/send/send-and-read", test_send_and_read);
  ADD_TEST ("/send/send-and-read-cancel", test_send_and_read_cancel);
  ADD_TEST ("/send/send-and-read-readd-in-finished", test_send_and_read_readd_in_finished);
  ADD_TEST ("/send/send-and-read-error", test_send_and_read_error);
  ADD_TEST ("/send/splice", test_splice);
  ADD_TEST ("/send/splice/back-pressure", test_splice_back_pressure);
  ADD_TEST ("/send/splice/output-error", test_splice_output_error);
  ADD_TEST ("/send/splice/http-error", test_splice_http_error);
  ADD_TEST ("/send/splice/failures", test_splice_failures);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
