/* test-send.c: send_and_read_async, the whole response as GBytes, against the test server
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

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
