/* test-retry.c: the wait before a retry (gcurl-retry.c), and the retries
 * of send_and_read_async, send_async and send_and_splice_async
 * (GCurlMulti:retries, GCurlTransfer:idempotent), against the test server
 *
 * The server counts the requests of each key (test_server_get_key_count()),
 * so every assertion on "how many requests" is the server's word, and no
 * assertion is on a duration.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"
#include "gcurl-retry-private.h"

/* Small, so that the tests run fast; the rule itself is tested below. */
#define TEST_RETRY_DELAY_MS 10
/* So long that a test never sees its end. */
#define TEST_LONG_DELAY_MS (3600 * 1000)

static TestServer *server;

typedef struct
{
  TestFixture base;
  guint       finished;       /* "finished" emissions of the transfer */
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, data);
  g_object_set (fixture->base.multi, "retries", 3, "retry-delay", TEST_RETRY_DELAY_MS, NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

static void
count_finished_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  Fixture *fixture = user_data;

  fixture->finished++;
}

static GCurlTransfer *
raw_transfer_new (const char *format,
                  ...) G_GNUC_PRINTF (1, 2);

static GCurlTransfer *
raw_transfer_new (const char *format,
                  ...)
{
  va_list args;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;

  va_start (args, format);
  path = g_strdup_vprintf (format, args);
  va_end (args);
  url = g_strconcat (test_server_get_raw_uri (server), path, NULL);

  return g_curl_transfer_new (url);
}

/* Runs send_and_read_async on @transfer, counting its "finished". */
static void
send_and_read (Fixture         *fixture,
               GCurlTransfer   *transfer,
               GCancellable    *cancellable,
               TestSendAndRead *ar)
{
  gulong id = g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), fixture);

  memset (ar, 0, sizeof *ar);
  fixture->finished = 0;
  g_curl_multi_send_and_read_async (fixture->base.multi, transfer, cancellable,
                                    test_send_and_read_cb, ar);
  test_run_until (&ar->done);
  g_signal_handler_disconnect (transfer, id);
}

static void
assert_pattern_bytes (GBytes *bytes,
                      gsize   len)
{
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_autofree char *expected = test_pattern_sha256 (0, len);

  g_assert_cmpuint (g_bytes_get_size (bytes), ==, len);
  g_assert_cmpstr (sum, ==, expected);
}

/* The wait: about the delay (between half and all of it), doubled after
 * each retry, at least the server's Retry-After (capped), one retry less
 * each time. */
static void
test_delay_rule (Fixture       *fixture,
                 gconstpointer  data)
{
  GCurlRetry retry;
  guint base = 1000;

  g_curl_retry_init (&retry, 4, base);
  for (guint i = 0; i < 3; i++)
    {
      guint delay = g_curl_retry_next_delay (&retry, NULL);

      g_assert_cmpuint (delay, >=, base / 2);
      g_assert_cmpuint (delay, <=, base);
      g_assert_cmpuint (retry.left, ==, 3 - i);
      base *= 2;
    }
  /* Retry-After asks for longer: that wins. */
  g_assert_cmpuint (g_curl_retry_next_delay (&retry, "20"), ==, 20000);
  g_assert_cmpuint (retry.left, ==, 0);

  g_curl_retry_init (&retry, 1, 0);
  g_assert_cmpuint (retry.delay, ==, 1);

  g_assert_cmpuint (g_curl_retry_after_ms (NULL), ==, 0);
  g_assert_cmpuint (g_curl_retry_after_ms ("0"), ==, 0);
  g_assert_cmpuint (g_curl_retry_after_ms ("7"), ==, 7000);
  g_assert_cmpuint (g_curl_retry_after_ms ("999999"), ==, GCURL_MAX_RETRY_AFTER_S * 1000);
  g_assert_cmpuint (g_curl_retry_after_ms ("soon"), ==, 0);
  g_assert_cmpuint (g_curl_retry_after_ms ("Sun, 06 Nov 1994 08:49:37 GMT"), ==, 0);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* "idempotent" follows the method until it is set, then stays. */
static void
test_idempotent_property (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GBytes) body = g_bytes_new_static ("x", 1);
  const char *idempotent[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };
  const char *not_idempotent[] = { "POST", "PATCH", "CONNECT", "PROPFIND", "get" };
  guint notified = 0;
  gboolean value;

  g_assert_true (g_curl_transfer_get_idempotent (transfer));
  /* A body makes the default method POST. */
  g_curl_transfer_set_request_body (transfer, body, NULL);
  g_assert_false (g_curl_transfer_get_idempotent (transfer));
  for (guint i = 0; i < G_N_ELEMENTS (idempotent); i++)
    {
      g_curl_transfer_set_method (transfer, idempotent[i]);
      g_assert_true (g_curl_transfer_get_idempotent (transfer));
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_idempotent); i++)
    {
      g_curl_transfer_set_method (transfer, not_idempotent[i]);
      g_assert_false (g_curl_transfer_get_idempotent (transfer));
    }

  g_signal_connect (transfer, "notify::idempotent", G_CALLBACK (count_notify_cb), &notified);

  /* A POST reads FALSE already: setting FALSE notifies nothing. */
  g_curl_transfer_set_method (transfer, "POST");
  g_curl_transfer_set_idempotent (transfer, FALSE);
  g_assert_cmpuint (notified, ==, 0);
  g_object_set (transfer, "idempotent", TRUE, NULL);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (transfer, "idempotent", &value, NULL);
  g_assert_true (value);
  /* Set, it no longer follows the method. */
  g_curl_transfer_set_method (transfer, "GET");
  g_curl_transfer_set_idempotent (transfer, FALSE);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_false (g_curl_transfer_get_idempotent (transfer));
  g_curl_transfer_set_method (transfer, "PUT");
  g_assert_false (g_curl_transfer_get_idempotent (transfer));
}

/* A GET that fails twice (the body cut off) and then succeeds: three
 * requests, three runs, the whole body. */
static void
test_get_flaky (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/50000?key=get-flaky&fail=2&after=1000");
  TestSendAndRead ar;

  send_and_read (fixture, transfer, NULL, &ar);
  g_assert_no_error (ar.error);
  assert_pattern_bytes (ar.bytes, 50000);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (test_server_get_key_count (server, "get-flaky"), ==, 3);
  g_assert_cmpuint (fixture->finished, ==, 3);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
}

/* More failures than retries: 1 + retries requests, the last error. */
static void
test_get_gives_up (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/5000?key=gives-up&fail=100&after=10");
  TestSendAndRead ar;

  send_and_read (fixture, transfer, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "gives-up"), ==, 4);
  g_assert_cmpuint (fixture->finished, ==, 4);
}

/* retries = 0: one request, its error. */
static void
test_no_retries (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/5000?key=none&fail=2&after=10");
  TestSendAndRead ar;

  g_object_set (fixture->base.multi, "retries", 0, NULL);
  send_and_read (fixture, transfer, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "none"), ==, 1);
  g_assert_cmpuint (fixture->finished, ==, 1);
}

/* A 503 is retried only when it fails the transfer (fail-on-http-error);
 * otherwise it is the response, as g_curl_error_is_transient() has no
 * error to judge. */
static void
test_http_status (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) plain = raw_transfer_new ("/bytes/1000?key=503-plain&fail=2&status=503");
  g_autoptr(GCurlTransfer) failing = raw_transfer_new ("/bytes/1000?key=503-fail&fail=2&status=503");
  g_autoptr(GCurlTransfer) throttled = raw_transfer_new ("/bytes/1000?key=429&fail=1&status=429");
  g_autoptr(GCurlTransfer) missing = test_transfer_new_printf (server, "/status/404");
  TestSendAndRead ar;

  send_and_read (fixture, plain, NULL, &ar);
  g_assert_no_error (ar.error);
  g_assert_cmpmem (g_bytes_get_data (ar.bytes, NULL), g_bytes_get_size (ar.bytes), "fail", 4);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (g_curl_transfer_get_status_code (plain), ==, 503);
  g_assert_cmpuint (test_server_get_key_count (server, "503-plain"), ==, 1);
  g_assert_cmpuint (fixture->finished, ==, 1);

  g_object_set (fixture->base.multi, "fail-on-http-error", TRUE, NULL);
  send_and_read (fixture, failing, NULL, &ar);
  g_assert_no_error (ar.error);
  assert_pattern_bytes (ar.bytes, 1000);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (test_server_get_key_count (server, "503-fail"), ==, 3);
  g_assert_cmpuint (fixture->finished, ==, 3);

  send_and_read (fixture, throttled, NULL, &ar);
  g_assert_no_error (ar.error);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (test_server_get_key_count (server, "429"), ==, 2);

  /* A 404 is no better the second time. */
  send_and_read (fixture, missing, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_path_count (server, "/status/404"), ==, 1);
  g_assert_cmpuint (fixture->finished, ==, 1);
}

/* What a retry cannot fix is not retried: a protocol not allowed. */
static void
test_not_transient (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new ("gopher://127.0.0.1:1/");
  TestSendAndRead ar;

  send_and_read (fixture, transfer, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_clear_error (&ar.error);
  g_assert_cmpuint (fixture->finished, ==, 1);
}

static char *
echo_of (const char *method,
         GBytes     *body)
{
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);

  return g_strdup_printf ("%s %" G_GSIZE_FORMAT " %s", method, g_bytes_get_size (body), sum);
}

static void
assert_echo (GBytes     *bytes,
             const char *expected)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  g_assert_cmpstr (text, ==, expected);
}

/* A POST is sent once, unless the application says it is idempotent: then
 * it is sent again, whole, until it succeeds. */
static void
test_post (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) once = test_transfer_new_printf (server, "/echo?key=post-once&fail=1");
  g_autoptr(GCurlTransfer) again = test_transfer_new_printf (server, "/echo?key=post-again&fail=2");
  g_autoptr(GCurlTransfer) patch = test_transfer_new_printf (server, "/echo?key=patch&fail=1");
  g_autoptr(GBytes) body = g_bytes_new_static ("a request body", 14);
  g_autofree char *expected = echo_of ("POST", body);
  TestSendAndRead ar;

  g_object_set (fixture->base.multi, "fail-on-http-error", TRUE, NULL);

  g_curl_transfer_set_request_body (once, body, "text/plain");
  send_and_read (fixture, once, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_true (g_curl_error_is_transient (ar.error));
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "post-once"), ==, 1);
  g_assert_cmpuint (fixture->finished, ==, 1);

  g_curl_transfer_set_request_body (patch, body, "text/plain");
  g_curl_transfer_set_method (patch, "PATCH");
  send_and_read (fixture, patch, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "patch"), ==, 1);

  g_curl_transfer_set_request_body (again, body, "text/plain");
  g_curl_transfer_set_idempotent (again, TRUE);
  send_and_read (fixture, again, NULL, &ar);
  g_assert_no_error (ar.error);
  assert_echo (ar.bytes, expected);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (test_server_get_key_count (server, "post-again"), ==, 3);
  g_assert_cmpuint (fixture->finished, ==, 3);
}

/* A body from a stream is sent again if the stream seeks back; one that
 * cannot is sent once, and its failure is the result. */
static void
test_stream_body (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) seekable = test_transfer_new_printf (server, "/echo?key=put-seekable&fail=2");
  g_autoptr(GCurlTransfer) once = test_transfer_new_printf (server, "/echo?key=put-once&fail=1");
  g_autoptr(GBytes) body = g_bytes_new_static ("streamed body", 13);
  g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_bytes (body);
  g_autoptr(GInputStream) pattern = test_pattern_stream_new (100000, -1);
  g_autofree char *expected = echo_of ("PUT", body);
  TestSendAndRead ar;

  g_object_set (fixture->base.multi, "fail-on-http-error", TRUE, NULL);

  g_curl_transfer_set_request_stream (seekable, memory, 13);
  g_curl_transfer_set_method (seekable, "PUT");
  send_and_read (fixture, seekable, NULL, &ar);
  g_assert_no_error (ar.error);
  assert_echo (ar.bytes, expected);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (test_server_get_key_count (server, "put-seekable"), ==, 3);

  g_curl_transfer_set_request_stream (once, pattern, 100000);
  g_curl_transfer_set_method (once, "PUT");
  send_and_read (fixture, once, NULL, &ar);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "put-once"), ==, 1);
  g_assert_cmpuint (fixture->finished, ==, 1);
}

/* During the wait the transfer is as the failed run left it; cancelling
 * (the call's cancellable, or the transfer itself) ends the call at once
 * with CANCELLED, and nothing more is sent. */
typedef struct
{
  GCurlTransfer *transfer;
  GCancellable  *cancellable;   /* NULL: cancel the transfer */
  gboolean       cancelled;
} CancelInWait;

static gboolean
cancel_in_wait_cb (gpointer user_data)
{
  CancelInWait *c = user_data;

  /* The wait is after the first request, and not over. */
  g_assert_cmpint (g_curl_transfer_get_state (c->transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_error ((GError *) g_curl_transfer_get_error (c->transfer),
                  G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  if (c->cancellable != NULL)
    g_cancellable_cancel (c->cancellable);
  else
    g_curl_transfer_cancel (c->transfer);
  c->cancelled = TRUE;

  return G_SOURCE_REMOVE;
}

static void
schedule_cancel_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  g_idle_add (cancel_in_wait_cb, user_data);
}

static void
test_cancel_in_wait (Fixture       *fixture,
                     gconstpointer  data)
{
  for (guint i = 0; i < 2; i++)
    {
      const char *key = i == 0 ? "cancel-cancellable" : "cancel-transfer";
      g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/5000?key=%s&fail=5&after=10", key);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      CancelInWait c = { transfer, i == 0 ? cancellable : NULL, FALSE };
      TestSendAndRead ar;

      g_object_set (fixture->base.multi, "retry-delay", TEST_LONG_DELAY_MS, NULL);
      g_signal_connect (transfer, "finished", G_CALLBACK (schedule_cancel_cb), &c);
      send_and_read (fixture, transfer, cancellable, &ar);
      g_assert_true (c.cancelled);
      g_assert_error (ar.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&ar.error);
      g_assert_null (ar.bytes);
      g_assert_cmpuint (fixture->finished, ==, 1);
      g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->base.multi), ==, 0);
      /* Nothing more comes. */
      test_run_for (50);
      g_assert_cmpuint (test_server_get_key_count (server, key), ==, 1);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
    }
}

/* The wait comes between the runs: when the first run's "finished" has
 * been emitted and the main loop has gone round, no second request has
 * been made; the second comes after the wait. */
static gboolean
record_count_cb (gpointer user_data)
{
  guint *count = user_data;

  *count = test_server_get_key_count (server, "waits");
  return G_SOURCE_REMOVE;
}

static void
schedule_record_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  guint *counts = user_data;

  /* Only after the first run. */
  if (counts[0] == 0)
    {
      counts[0] = test_server_get_key_count (server, "waits");
      g_idle_add (record_count_cb, &counts[1]);
    }
}

static void
test_waits_between_runs (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/1000?key=waits&fail=1&after=10");
  guint counts[2] = { 0, 0 };
  TestSendAndRead ar;

  /* Long enough that an idle always runs before its end. */
  g_object_set (fixture->base.multi, "retry-delay", 400, NULL);
  g_signal_connect (transfer, "finished", G_CALLBACK (schedule_record_cb), counts);
  send_and_read (fixture, transfer, NULL, &ar);
  g_assert_no_error (ar.error);
  assert_pattern_bytes (ar.bytes, 1000);
  g_bytes_unref (ar.bytes);
  g_assert_cmpuint (counts[0], ==, 1);
  g_assert_cmpuint (counts[1], ==, 1);
  g_assert_cmpuint (test_server_get_key_count (server, "waits"), ==, 2);
}

/* send_async retries a failure before the headers (the response cut off
 * in them), and hands over the stream of the run that got its headers. */
static void
test_send_before_headers (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/70000?key=send-cut&fail=2&cut-headers=1");
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  TestReadAll ra = { 0, };

  g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), fixture);
  stream = test_send_and_wait (fixture->base.multi, transfer, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  /* The two failed runs; the third may have ended too, its body buffered
   * in the stream. */
  g_assert_cmpuint (fixture->finished, >=, 2);
  test_read_to_end (stream, &ra);
  g_assert_no_error (ra.error);
  bytes = g_byte_array_free_to_bytes (ra.data);
  assert_pattern_bytes (bytes, 70000);
  /* The end of the stream is the end of the run. */
  g_assert_cmpuint (fixture->finished, ==, 3);
  g_assert_cmpuint (test_server_get_key_count (server, "send-cut"), ==, 3);
}

/* Once the caller has the stream, a failure is the read's, not retried. */
static void
test_send_after_headers (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/70000?key=send-body&fail=2&after=1000");
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  TestReadAll ra = { 0, };

  stream = test_send_and_wait (fixture->base.multi, transfer, NULL, &error);
  g_assert_no_error (error);
  test_read_to_end (stream, &ra);
  g_assert_error (ra.error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_clear_error (&ra.error);
  g_assert_cmpuint (ra.data->len, ==, 1000);
  g_byte_array_unref (ra.data);
  test_run_for (50);
  g_assert_cmpuint (test_server_get_key_count (server, "send-body"), ==, 1);
}

/* send_async's cancellable and the transfer's cancel() end its wait too. */
static void
test_send_cancel_in_wait (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/100?key=send-wait&fail=5&cut-headers=1");
  CancelInWait c = { transfer, NULL, FALSE };
  TestSend sr = { 0, };

  g_object_set (fixture->base.multi, "retry-delay", TEST_LONG_DELAY_MS, NULL);
  g_signal_connect (transfer, "finished", G_CALLBACK (schedule_cancel_cb), &c);
  g_curl_multi_send_async (fixture->base.multi, transfer, NULL, test_send_cb, &sr);
  test_run_until (&sr.done);
  g_assert_true (c.cancelled);
  g_assert_error (sr.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&sr.error);
  g_assert_null (sr.stream);
  test_run_for (50);
  g_assert_cmpuint (test_server_get_key_count (server, "send-wait"), ==, 1);
}

static void
splice_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  TestSendAndRead *ar = user_data;
  gssize n = g_curl_multi_send_and_splice_finish (G_CURL_MULTI (source), result, &ar->error);

  g_assert_cmpint (n, >=, -1);
  ar->done = TRUE;
}

/* send_and_splice_async is send_async spliced: retried the same way. */
static void
test_splice (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/30000?key=splice&fail=1&cut-headers=1");
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) bytes = NULL;
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_splice_async (fixture->base.multi, transfer, output,
                                      G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, splice_cb, &ar);
  test_run_until (&ar.done);
  g_assert_no_error (ar.error);
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  assert_pattern_bytes (bytes, 30000);
  g_assert_cmpuint (test_server_get_key_count (server, "splice"), ==, 2);
}

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  TestSendAndRead *ar = user_data;

  g_curl_multi_download_finish (G_CURL_MULTI (source), result, &ar->error);
  ar->done = TRUE;
}

/* download_async retries by download-retries alone: the multi's retries
 * do not multiply its attempts. */
static void
test_download_keeps_its_count (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = raw_transfer_new ("/bytes/5000?key=download&fail=100&after=10");
  g_autofree char *dir = g_dir_make_tmp ("gcurl-retry-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "file", NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  TestSendAndRead ar = { 0, };

  g_object_set (fixture->base.multi, "download-retries", 1, NULL);
  g_curl_multi_download_async (fixture->base.multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &ar);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_clear_error (&ar.error);
  g_assert_cmpuint (test_server_get_key_count (server, "download"), ==, 2);
  g_unlink (part);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/retry/delay-rule", test_delay_rule);
  ADD_TEST ("/retry/idempotent-property", test_idempotent_property);
  ADD_TEST ("/retry/send-and-read/get-flaky", test_get_flaky);
  ADD_TEST ("/retry/send-and-read/gives-up", test_get_gives_up);
  ADD_TEST ("/retry/send-and-read/no-retries", test_no_retries);
  ADD_TEST ("/retry/send-and-read/http-status", test_http_status);
  ADD_TEST ("/retry/send-and-read/not-transient", test_not_transient);
  ADD_TEST ("/retry/send-and-read/post", test_post);
  ADD_TEST ("/retry/send-and-read/stream-body", test_stream_body);
  ADD_TEST ("/retry/send-and-read/cancel-in-wait", test_cancel_in_wait);
  ADD_TEST ("/retry/send-and-read/waits-between-runs", test_waits_between_runs);
  ADD_TEST ("/retry/send/before-headers", test_send_before_headers);
  ADD_TEST ("/retry/send/after-headers", test_send_after_headers);
  ADD_TEST ("/retry/send/cancel-in-wait", test_send_cancel_in_wait);
  ADD_TEST ("/retry/splice", test_splice);
  ADD_TEST ("/retry/download-keeps-its-count", test_download_keeps_its_count);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
