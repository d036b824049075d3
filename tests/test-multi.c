/* test-multi.c: GCurlMulti and GCurlTransfer against real local servers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "test-util.h"
#include "gcurl-multi-private.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* Basic requests */

static void
test_get_small (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 100000);
  g_autofree char *summary = NULL;
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);

  test_assert_pattern_body (transfer, 100000);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "content-length"), ==, "100000");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "CONTENT-TYPE"), ==,
                   "application/octet-stream");
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Not-There"));
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 100000);
  g_assert_cmpint (g_curl_transfer_get_download_size (transfer), ==, 100000);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);

  summary = test_recorder_summary (&recorder);
  g_assert_cmpstr (summary, ==, "headers:200 progress* finished:succeeded");
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  /* The last progress before "finished" has the final figures. */
  g_assert_cmpstr (g_ptr_array_index (recorder.events, recorder.events->len - 2), ==,
                   "progress:100000");
  test_recorder_clear (&recorder);
}

static void
test_get_empty (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/0");

  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 0);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
}

static void
test_get_repeated_headers (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/headers");

  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "x-multi"), ==, "a, b");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-MIXED-CASE"), ==, "Value");
}

/* What a header is when the response spells it in the less common ways:
 * only the final response's headers count (not a 1xx's, not trailers),
 * folded lines are one value, repeated ones a list. */
static void
test_get_header_forms (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/header-forms");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GBytes) body = NULL;

  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello", 5);

  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-Folded"), ==, "first second");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-MULTI"), ==, "a, b");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "x-spaces"), ==, "padded");
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Interim"));
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Trailer"));
  /* Asked again: the same answer, from what the first lookup kept. */
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "x-folded"), ==, "first second");
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Interim"));
}

static void
test_http_error_status (Fixture       *fixture,
                        gconstpointer  data)
{
  guint codes[] = { 404, 500 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/%u", codes[i]);
      g_autoptr(GBytes) body = NULL;
      g_autofree char *expected = g_strdup_printf ("status %u", codes[i]);

      test_run_transfer (fixture->multi, transfer);
      /* An HTTP error is a response, not a failed transfer. */
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      g_assert_null (g_curl_transfer_get_error (transfer));
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, codes[i]);
      body = g_curl_transfer_get_body (transfer);
      g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                       expected, strlen (expected));
    }
}

static void
test_post_body (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree guint8 *buf = g_malloc (300000);
  g_autofree char *sum = NULL;
  g_autofree char *expected = NULL;

  test_pattern_fill (0, buf, 300000);
  request = g_bytes_new (buf, 300000);
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, request);
  g_curl_transfer_set_request_body (transfer, request, "application/x-test");
  g_assert_cmpstr (g_curl_transfer_get_method (transfer), ==, "POST");

  test_run_transfer (fixture->multi, transfer);

  body = g_curl_transfer_get_body (transfer);
  expected = g_strdup_printf ("POST 300000 %s", sum);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                   expected, strlen (expected));
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-Request-Content-Type"), ==,
                   "application/x-test");
  g_assert_cmpint (g_curl_transfer_get_uploaded_bytes (transfer), ==, 300000);
  g_assert_cmpint (g_curl_transfer_get_upload_size (transfer), ==, 300000);
}

static void
test_put_and_head (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) put = test_transfer_new_printf (server, "/echo");
  g_autoptr(GCurlTransfer) head = test_transfer_new_printf (server, "/bytes/5000");
  g_autoptr(GBytes) request = g_bytes_new_static ("hello", 5);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, request);

  g_curl_transfer_set_request_body (put, request, NULL);
  g_curl_transfer_set_method (put, "PUT");
  test_run_transfer (fixture->multi, put);
  body = g_curl_transfer_get_body (put);
  expected = g_strdup_printf ("PUT 5 %s", sum);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                   expected, strlen (expected));
  g_assert_cmpstr (g_curl_transfer_get_response_header (put, "X-Request-Content-Type"), ==,
                   "application/octet-stream");

  g_curl_transfer_set_method (head, "HEAD");
  test_run_transfer (fixture->multi, head);
  g_assert_cmpint (g_curl_transfer_get_state (head), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (head), ==, 200);
  g_clear_pointer (&body, g_bytes_unref);
  body = g_curl_transfer_get_body (head);
  g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  g_assert_cmpstr (g_curl_transfer_get_response_header (head, "Content-Length"), ==, "5000");
}

static void
test_request_headers (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;

  g_curl_transfer_set_request_header (transfer, "X-First", "one");
  g_curl_transfer_set_request_header (transfer, "X-Second", "two");
  g_curl_transfer_set_request_header (transfer, "x-first", "replaced");
  g_curl_transfer_set_request_header (transfer, "X-Second", NULL);
  g_curl_transfer_set_request_header (transfer, "X-Empty", "");
  test_run_transfer (fixture->multi, transfer);

  body = g_curl_transfer_get_body (transfer);
  text = g_ascii_strdown (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_nonnull (strstr (text, "method: get\n"));
  g_assert_nonnull (strstr (text, "x-first: replaced\n"));
  g_assert_null (strstr (text, "one"));
  g_assert_null (strstr (text, "x-second"));
  g_assert_nonnull (strstr (text, "x-empty: \n") ?: strstr (text, "x-empty:\n"));
  g_assert_nonnull (strstr (text, "user-agent: libgcurlmulti/"));
}

static void
test_user_agent (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;

  g_object_set (fixture->multi, "user-agent", "TestAgent/1.0", NULL);
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  text = g_ascii_strdown (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_nonnull (strstr (text, "user-agent: testagent/1.0\n"));
}

/* Many at once */

static void
count_finished_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  (*(guint *) user_data)++;
}

static guint64
mixed_size (guint i)
{
  /* A few large bodies among many small ones, 0 B to 4 MiB. */
  if (i % 25 == 0)
    return 4 * 1024 * 1024;
  if (i % 7 == 0)
    return 0;
  return ((guint64) i * 7919) % 65536;
}

static void
test_concurrent (Fixture       *fixture,
                 gconstpointer  data)
{
  const guint n = 500;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i, max_running = 0;

  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer =
        test_transfer_new_printf (server, "/bytes/%" G_GUINT64_FORMAT, mixed_size (i));

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_ptr_array_add (transfers, transfer);
      g_curl_multi_add_transfer (fixture->multi, transfer);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, n);

  while (finished < n)
    {
      max_running = MAX (max_running, g_curl_multi_get_n_transfers (fixture->multi));
      g_main_context_iteration (NULL, TRUE);
    }

  for (i = 0; i < n; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), mixed_size (i));
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_test_message ("%u transfers, up to %u at once, backend %s", n, max_running,
                  test_backend_name ());
}

static void
test_large_body (Fixture       *fixture,
                 gconstpointer  data)
{
  const guint64 size = 256 * 1024 * 1024;
  g_autofree char *url = test_server_raw_url (server, "/bytes/%" G_GUINT64_FORMAT, size);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  TestRecorder recorder;

  if (test_skip_under_valgrind ("256 MiB through memcheck take minutes"))
    return;

  g_object_set (fixture->multi, "progress-interval", 50, NULL);
  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, size);
  /* Progress is throttled: nowhere near one emission per chunk. */
  g_assert_cmpuint (recorder.n_progress, >=, 1);
  g_assert_cmpuint (recorder.n_progress, <, size / (16 * 1024) / 10);
  test_recorder_clear (&recorder);
}

/* Failures */

static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT, G_CURL_TRANSFER_STATE_FAILED);
  /* curl's error buffer says where it failed, not just "Couldn't connect". */
  g_assert_nonnull (strstr (g_curl_transfer_get_error (transfer)->message, "127.0.0.1"));
  g_assert_cmpuint (recorder.n_got_headers, ==, 0);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  test_recorder_clear (&recorder);
}

static void
test_invalid_urls (Fixture       *fixture,
                   gconstpointer  data)
{
  struct {
    const char *url;
    int code;
  } cases[] = {
    { "", G_CURL_ERROR_URL_MALFORMAT },
    { "http://[::1", G_CURL_ERROR_URL_MALFORMAT },
    { "not a url", G_CURL_ERROR_URL_MALFORMAT },
    { "http://", G_CURL_ERROR_URL_MALFORMAT },
    { "file:///etc/passwd", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
    { "ftp://127.0.0.1/", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
    { "dict://127.0.0.1/", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
    { "gopher://127.0.0.1/", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
  };
  guint before = test_server_get_request_count (server);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (cases[i].url);

      g_test_message ("URL “%s”", cases[i].url);
      test_run_transfer (fixture->multi, transfer);
      test_assert_transfer_error (transfer, G_CURL_ERROR, cases[i].code, G_CURL_TRANSFER_STATE_FAILED);
    }
  g_assert_cmpuint (test_server_get_request_count (server), ==, before);
}

static void
test_faults (Fixture       *fixture,
             gconstpointer  data)
{
  struct {
    const char *path;
    int code;
  } cases[] = {
    { "/close-mid-body/100000/5000", G_CURL_ERROR_PARTIAL_FILE },
    { "/close-mid-headers", G_CURL_ERROR_PARTIAL_FILE },
    { "/reset/5000", G_CURL_ERROR_RECV_ERROR },
    { "/garbage", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
    { "/chunked-bad", G_CURL_ERROR_RECV_ERROR },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = test_server_raw_url (server, "%s", cases[i].path);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

      g_test_message ("%s", cases[i].path);
      test_run_transfer (fixture->multi, transfer);
      test_assert_transfer_error (transfer, G_CURL_ERROR, cases[i].code, G_CURL_TRANSFER_STATE_FAILED);
    }
}

static void
test_stall (Fixture       *fixture,
            gconstpointer  data)
{
  /* A peer gone silent mid-body, before any header, or after an
   * unrequested 101 (libcurl 7.88 waits for ever): the watchdog ends it. */
  const char *paths[] = { "/stall/100000/5000", "/stall-headers", "/switching-protocols" };
  guint i;

  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  for (i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *url = test_server_raw_url (server, "%s", paths[i]);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      gint64 start = g_get_monotonic_time ();
      gint64 elapsed;

      test_run_transfer (fixture->multi, transfer);
      elapsed = g_get_monotonic_time () - start;
      test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                                  G_CURL_TRANSFER_STATE_FAILED);
      /* Not before the timeout: a lower bound holds on a loaded machine. */
      g_assert_cmpint (elapsed, >=, G_USEC_PER_SEC);
    }
}


typedef struct
{
  GCurlMulti *multi;
  gint64      last_progress;   /* when the last byte was reported */
  gint64      due;             /* the watchdog's deadline right then */
  gint64      downloaded;
} StallWatch;

static void
stall_progress_cb (GCurlTransfer *transfer,
                   gint64         downloaded,
                   gint64         download_size,
                   gint64         uploaded,
                   gint64         upload_size,
                   gpointer       user_data)
{
  StallWatch *watch = user_data;

  if (downloaded == watch->downloaded)
    return;
  watch->downloaded = downloaded;
  watch->last_progress = g_get_monotonic_time ();
  watch->due = g_curl_multi_get_watchdog_due (watch->multi);
}

/* The watchdog sleeps until exactly the stall deadline: the last byte seen
 * plus stall-timeout (it used to tick once a second, coalesced, and fired
 * up to 2.5 s late). Checked on its schedule, not on a clock, so a loaded
 * machine cannot fail it; the lateness is printed. */
static void
test_stall_deadline (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/stall/100000/5000");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  StallWatch watch = { fixture->multi, 0, -1, 0 };
  gint64 ended;

  g_object_set (fixture->multi, "stall-timeout", 2, "progress-interval", 0, NULL);
  g_assert_cmpint (g_curl_multi_get_watchdog_due (fixture->multi), ==, -1);
  g_signal_connect (transfer, "progress", G_CALLBACK (stall_progress_cb), &watch);
  test_run_transfer (fixture->multi, transfer);
  ended = g_get_monotonic_time ();
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpint (watch.downloaded, ==, 5000);

  /* Seen before the "progress" that reported the byte, 2 s ahead of it. */
  g_assert_cmpint (watch.due, >, watch.last_progress);
  g_assert_cmpint (watch.due, <=, watch.last_progress + 2 * G_USEC_PER_SEC);
  g_assert_cmpint (watch.due, >=, watch.last_progress + 2 * G_USEC_PER_SEC - G_USEC_PER_SEC / 4);
  g_assert_cmpint (ended, >=, watch.due);
  g_test_message ("stalled %" G_GINT64_FORMAT " ms after the last byte (timeout 2000 ms)",
                  (ended - watch.last_progress) / 1000);

  /* Nothing can stall any more: no wakeup. */
  g_assert_cmpint (g_curl_multi_get_watchdog_due (fixture->multi), ==, -1);
  test_run_for (100);
  g_assert_cmpint (g_curl_multi_get_watchdog_due (fixture->multi), ==, -1);
}

static void
test_stall_not_while_queued (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/slow/30000?rate=10000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/bytes/1000");

  /* The second waits ~3 s for the only connection, longer than the stall
   * timeout: waiting for a connection is not a stall. */
  g_object_set (fixture->multi, "stall-timeout", 1, "max-total-connections", 1, NULL);
  g_curl_multi_add_transfer (fixture->multi, first);
  test_run_transfer (fixture->multi, second);
  /* The first has the connection first, so it is done already. */
  g_assert_cmpint (g_curl_transfer_get_state (first), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  test_assert_pattern_body (first, 30000);
  test_assert_pattern_body (second, 1000);
}


/* Request bodies from streams */

static void
upload_and_check (GCurlMulti *multi,
                  guint64     len,
                  gboolean    chunked)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) stream = test_pattern_stream_new (len, -1);
  g_autofree char *sum = test_pattern_sha256 (0, len);
  g_autofree char *expected = g_strdup_printf ("POST %" G_GUINT64_FORMAT " %s", len, sum);
  g_autofree char *echo = NULL;
  TestRecorder recorder;

  g_curl_transfer_set_request_stream (transfer, stream, chunked ? -1 : (gint64) len);
  test_recorder_attach (&recorder, transfer);
  test_run_transfer (multi, transfer);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  echo = test_body_string (transfer);
  g_assert_cmpstr (echo, ==, expected);
  g_assert_cmpint (g_curl_transfer_get_uploaded_bytes (transfer), ==, len);
  g_assert_cmpint (g_curl_transfer_get_upload_size (transfer), ==, chunked ? -1 : (gint64) len);
  g_assert_cmpuint (recorder.n_progress, >=, 1);
  test_recorder_clear (&recorder);
}

static void
test_upload_stream (Fixture       *fixture,
                    gconstpointer  data)
{
  if (test_skip_under_valgrind ("512 MiB through memcheck take minutes"))
    return;

  /* The whole body never exists in memory: the server checks its digest. */
  upload_and_check (fixture->multi, 512 * 1024 * 1024, FALSE);
}

static void
test_upload_chunked (Fixture       *fixture,
                     gconstpointer  data)
{
  upload_and_check (fixture->multi, 3 * 1024 * 1024 + 11, TRUE);
  upload_and_check (fixture->multi, 0, TRUE);
}

static void
test_upload_read_error (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) stream = test_pattern_stream_new (1000000, 300000);

  g_curl_transfer_set_request_stream (transfer, stream, 1000000);
  test_run_transfer (fixture->multi, transfer);
  /* The stream's own error, not a network one. */
  test_assert_transfer_error (transfer, G_IO_ERROR, G_IO_ERROR_FAILED, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpstr (g_curl_transfer_get_error (transfer)->message, ==, "test stream failure");
}

static void
test_upload_rerun (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) seekable = test_transfer_new_printf (server, "/echo");
  g_autoptr(GCurlTransfer) once = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_data ("hello", 5, NULL);
  g_autoptr(GInputStream) pattern = test_pattern_stream_new (100, -1);
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, hello);
  g_autofree char *expected = g_strdup_printf ("PUT 5 %s", sum);
  guint i;

  g_curl_transfer_set_request_stream (seekable, memory, 5);
  g_curl_transfer_set_method (seekable, "PUT");
  for (i = 0; i < 2; i++)
    {
      g_autofree char *echo = NULL;

      test_run_transfer (fixture->multi, seekable);
      echo = test_body_string (seekable);
      g_assert_cmpstr (echo, ==, expected);
    }

  /* A stream that cannot seek back is sent once. */
  g_curl_transfer_set_request_stream (once, pattern, 100);
  test_run_transfer (fixture->multi, once);
  g_assert_cmpint (g_curl_transfer_get_state (once), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  test_run_transfer (fixture->multi, once);
  test_assert_transfer_error (once, G_CURL_ERROR, G_CURL_ERROR_SEND_FAIL_REWIND, G_CURL_TRANSFER_STATE_FAILED);
}

/* Redirects */

/* Proxies */

#define PROXIED_URL "http://gcurl-test.invalid/hello"

static void
assert_body_text (GCurlTransfer *transfer,
                  const char    *text)
{
  g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_nonnull (body);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), text, strlen (text));
}

/* The proxy resolver says where each URL goes: a host that does not even
 * resolve is reached through the proxy it names. */
static void
test_proxy_from_resolver (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  guint before = test_server_get_path_count (server, "proxied");
  guint i;

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  /* Twice: the second answer comes from the multi's cache. */
  for (i = 0; i < 2; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);

      test_run_transfer (fixture->multi, transfer);
      assert_body_text (transfer, "proxied " PROXIED_URL);
    }
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before + 2);
}

/* A GProxyResolver that answers "direct://" and records what it is asked. */
#define TEST_TYPE_RECORDING_RESOLVER (test_recording_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestRecordingResolver, test_recording_resolver,
                      TEST, RECORDING_RESOLVER, GObject)

struct _TestRecordingResolver
{
  GObject    parent_instance;
  GPtrArray *asked;
};

static void test_recording_resolver_iface_init (GProxyResolverInterface *iface);

G_DEFINE_TYPE_WITH_CODE (TestRecordingResolver, test_recording_resolver, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER,
                                                test_recording_resolver_iface_init))

static char **
recording_resolver_lookup (GProxyResolver  *resolver,
                           const char      *uri,
                           GCancellable    *cancellable,
                           GError         **error)
{
  TestRecordingResolver *self = TEST_RECORDING_RESOLVER (resolver);
  char *direct[] = { (char *) "direct://", NULL };

  g_ptr_array_add (self->asked, g_strdup (uri));
  return g_strdupv (direct);
}

static void
recording_resolver_lookup_async (GProxyResolver      *resolver,
                                 const char          *uri,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_return_pointer (task, recording_resolver_lookup (resolver, uri, cancellable, NULL),
                         (GDestroyNotify) g_strfreev);
}

static char **
recording_resolver_lookup_finish (GProxyResolver  *resolver,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_recording_resolver_iface_init (GProxyResolverInterface *iface)
{
  iface->lookup = recording_resolver_lookup;
  iface->lookup_async = recording_resolver_lookup_async;
  iface->lookup_finish = recording_resolver_lookup_finish;
}

static void
test_recording_resolver_finalize (GObject *object)
{
  g_ptr_array_unref (TEST_RECORDING_RESOLVER (object)->asked);
  G_OBJECT_CLASS (test_recording_resolver_parent_class)->finalize (object);
}

static void
test_recording_resolver_class_init (TestRecordingResolverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_recording_resolver_finalize;
}

static void
test_recording_resolver_init (TestRecordingResolver *self)
{
  self->asked = g_ptr_array_new_with_free_func (g_free);
}

/* The resolver (perhaps a PAC script from the network) is asked about the
 * origin only: no user, password, path or query. */
static void
test_proxy_resolver_asked_origin (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(TestRecordingResolver) resolver = g_object_new (TEST_TYPE_RECORDING_RESOLVER, NULL);
  g_autofree char *url = test_server_url (server, "/bytes/100?token=t0ps3cret");
  g_autofree char *with_password = g_strconcat ("http://user:secret@", url + strlen ("http://"), NULL);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (with_password);
  g_autofree char *expected = g_strconcat (test_server_get_uri (server), "/", NULL);

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 100);

  g_assert_cmpuint (resolver->asked->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (resolver->asked, 0), ==, expected);
}

/* An explicit proxy beats the resolver: the transfer's, then the multi's;
 * the empty string means a direct connection. */
static void
test_proxy_explicit (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  g_autoptr(GCurlTransfer) direct = test_transfer_new_printf (server, "/bytes/%u", 1000);
  g_autoptr(GCurlTransfer) via_multi = g_curl_transfer_new (PROXIED_URL);
  guint before = test_server_get_path_count (server, "proxied");

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  g_object_set (direct, "proxy", "", NULL);
  test_run_transfer (fixture->multi, direct);
  test_assert_pattern_body (direct, 1000);
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before);

  /* No resolver, the multi's proxy. */
  g_object_set (fixture->multi, "proxy-resolver", NULL,
                "proxy", test_server_get_raw_uri (server), NULL);
  test_run_transfer (fixture->multi, via_multi);
  assert_body_text (via_multi, "proxied " PROXIED_URL);
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before + 1);

  /* The transfer's empty proxy beats the multi's: the name does not
   * resolve, directly. */
  g_object_set (via_multi, "proxy", "", NULL);
  test_run_transfer (fixture->multi, via_multi);
  test_assert_transfer_error (via_multi, G_CURL_ERROR, G_CURL_ERROR_COULDNT_RESOLVE_HOST,
                              G_CURL_TRANSFER_STATE_FAILED);
}


/* A 307 or 308 sends a streamed body again from the start: the stream
 * seeks back once the read-ahead of the first request is over, whatever
 * the moment the redirect comes (a read was still pending then, and the
 * seek failed: "Stream has outstanding operation" for a memory stream,
 * "cannot seek back" for a file). Many runs, for the moment to vary. */
static void
test_upload_redirect_stream (Fixture       *fixture,
                             gconstpointer  data)
{
  const gsize len = 700 * 1024 + 3;
  g_autofree guint8 *bytes = g_malloc (len);
  g_autofree char *sum = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gcurl-upload-XXXXXX", NULL);
  g_autoptr(GFile) file = NULL;
  guint i;

  test_pattern_fill (0, bytes, len);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes, len);
  path = g_build_filename (dir, "body", NULL);
  g_assert_true (g_file_set_contents (path, (char *) bytes, len, NULL));
  file = g_file_new_for_path (path);

  for (i = 0; i < 40; i++)
    {
      g_autoptr(GCurlTransfer) transfer =
        test_transfer_new_printf (server, "/redirect-to?status=%u&url=%%2Fecho",
                                  i % 2 ? 307 : 308);
      g_autoptr(GInputStream) stream = NULL;
      g_autofree char *expected = g_strdup_printf ("PUT %" G_GSIZE_FORMAT " %s", len, sum);
      g_autofree char *echo = NULL;

      if (i % 4 < 2)
        stream = g_memory_input_stream_new_from_data (bytes, len, NULL);
      else
        stream = G_INPUT_STREAM (g_file_read (file, NULL, NULL));
      g_assert_nonnull (stream);

      g_curl_transfer_set_method (transfer, "PUT");
      g_curl_transfer_set_request_stream (transfer, stream, i % 3 ? (gint64) len : -1);
      test_run_transfer (fixture->multi, transfer);
      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      echo = test_body_string (transfer);
      g_assert_cmpstr (echo, ==, expected);
    }

  g_unlink (path);
  g_rmdir (dir);
}

/* A proxy that is down is named in the message (without its password); the
 * code stays libcurl's. */
static void
test_proxy_down (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);
  guint16 port = test_server_get_refused_port ();
  g_autofree char *proxy = g_strdup_printf ("http://alice:s3cret@127.0.0.1:%u", port);
  g_autofree char *shown = g_strdup_printf ("http://alice@127.0.0.1:%u", port);
  const GError *error;

  g_object_set (fixture->multi, "proxy", proxy, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT,
                              G_CURL_TRANSFER_STATE_FAILED);
  error = g_curl_transfer_get_error (transfer);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "proxy"));
  g_assert_nonnull (strstr (error->message, shown));
  g_assert_null (strstr (error->message, "s3cret"));
}

/* The resolver's answers are kept until the network changes. */
static void
test_proxy_network_change (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);
  GNetworkMonitor *monitor = NULL;

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  g_object_get (fixture->multi, "network-monitor", &monitor, NULL);
  g_assert_true (monitor == g_network_monitor_get_default ());

  test_run_transfer (fixture->multi, transfer);
  assert_body_text (transfer, "proxied " PROXIED_URL);

  /* The desktop's settings change: still the kept answer. */
  g_simple_proxy_resolver_set_default_proxy (G_SIMPLE_PROXY_RESOLVER (resolver), "direct://");
  test_run_transfer (fixture->multi, transfer);
  assert_body_text (transfer, "proxied " PROXIED_URL);

  /* Then the network changes: asked again, direct, and the name does not
   * resolve. */
  g_signal_emit_by_name (monitor, "network-changed", TRUE);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_RESOLVE_HOST,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_object_unref (monitor);
}

/* Per-transfer settings beat the multi's. */
static void
test_transfer_settings (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GCurlTransfer) no_redirects = test_transfer_new_printf (server, "/redirect/1");
  g_autoptr(GCurlTransfer) file = g_curl_transfer_new ("file:///etc/hostname");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;
  int max_redirects = 0;

  g_object_set (fixture->multi, "user-agent", "MultiAgent/1", NULL);
  g_object_set (transfer, "user-agent", "TransferAgent/2", NULL);
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  text = g_ascii_strdown (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_nonnull (strstr (text, "user-agent: transferagent/2\n"));

  /* Back to the multi's once unset. */
  g_object_set (transfer, "user-agent", NULL, NULL);
  test_run_transfer (fixture->multi, transfer);
  g_clear_pointer (&body, g_bytes_unref);
  g_clear_pointer (&text, g_free);
  body = g_curl_transfer_get_body (transfer);
  text = g_ascii_strdown (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_nonnull (strstr (text, "user-agent: multiagent/1\n"));

  g_object_get (no_redirects, "max-redirects", &max_redirects, NULL);
  g_assert_cmpint (max_redirects, ==, -1);
  g_object_set (no_redirects, "max-redirects", 0, NULL);
  test_run_transfer (fixture->multi, no_redirects);
  g_assert_cmpuint (g_curl_transfer_get_status_code (no_redirects), ==, 302);

  /* file:// is not allowed by the multi; the transfer allows it. */
  test_run_transfer (fixture->multi, file);
  test_assert_transfer_error (file, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_object_set (file, "allowed-protocols", "file", NULL);
  test_run_transfer (fixture->multi, file);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (file));
  g_assert_cmpint (g_curl_transfer_get_state (file), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);

  /* Refused with a critical, nothing changed. */
  if (g_test_undefined ())
    {
      g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*not a list of protocols*");
      g_object_set (file, "allowed-protocols", "nonsense", NULL);
      g_test_assert_expected_messages ();
      g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*CR or LF*");
      g_object_set (transfer, "user-agent", "a\r\nX-Injected: 1", NULL);
      g_test_assert_expected_messages ();
    }
  g_clear_pointer (&text, g_free);
  g_object_get (file, "allowed-protocols", &text, NULL);
  g_assert_cmpstr (text, ==, "file");
}

/* The steps of the last request, in order; the server's delay is in the
 * first byte's time (a lower bound, so no timing flakiness). */
static void
test_timings (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/delay/%u", 200);
  g_autoptr(GCurlTransfer) redirected = test_transfer_new_printf (server, "/redirect/2");
  g_autoptr(GCurlTimings) timings = NULL;
  g_autoptr(GCurlTimings) copy = NULL;

  g_assert_null (g_curl_transfer_get_timings (transfer));
  test_run_transfer (fixture->multi, transfer);
  timings = g_curl_transfer_get_timings (transfer);
  g_assert_nonnull (timings);
  g_assert_cmpint (timings->name_lookup, >=, 0);
  g_assert_cmpint (timings->connect, >=, timings->name_lookup);
  g_assert_cmpint (timings->tls_handshake, ==, 0);
  g_assert_cmpint (timings->first_byte, >=, 200 * 1000);
  g_assert_cmpint (timings->total, >=, timings->first_byte);
  g_assert_cmpint (timings->redirects, ==, 0);

  copy = g_curl_timings_copy (timings);
  g_assert_cmpmem (copy, sizeof *copy, timings, sizeof *timings);

  g_clear_pointer (&timings, g_curl_timings_free);
  test_run_transfer (fixture->multi, redirected);
  timings = g_curl_transfer_get_timings (redirected);
  g_assert_cmpint (timings->redirects, >, 0);
  g_assert_cmpint (timings->total, >, 0);
}

/* A body in memory is bounded: announced too large, refused before it
 * comes; too large without a Content-Length, stopped at the limit. A
 * stream is not held in memory and is not bounded. */
static void
test_max_body_size (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) at_limit = test_transfer_new_printf (server, "/bytes/%u", 100000);
  g_autoptr(GCurlTransfer) announced = test_transfer_new_printf (server, "/bytes/%u", 100001);
  g_autoptr(GCurlTransfer) chunked =
    test_transfer_new_printf (server, "/bytes/%u?chunked=1", 5000000);
  guint64 limit = 0;

  g_object_get (fixture->multi, "max-body-size", &limit, NULL);
  g_assert_cmpuint (limit, ==, 256 * 1024 * 1024);
  g_object_set (fixture->multi, "max-body-size", (guint64) 100000, NULL);

  test_run_transfer (fixture->multi, at_limit);
  test_assert_pattern_body (at_limit, 100000);

  test_run_transfer (fixture->multi, announced);
  test_assert_transfer_error (announced, G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_nonnull (strstr (g_curl_transfer_get_error (announced)->message, "/bytes/100001"));
  /* Refused at the headers: no body byte was taken. */
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (announced), ==, 0);

  test_run_transfer (fixture->multi, chunked);
  test_assert_transfer_error (chunked, G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (chunked), <=, 100000);

  /* 0: no limit. */
  g_object_set (fixture->multi, "max-body-size", (guint64) 0, NULL);
  test_run_transfer (fixture->multi, chunked);
  test_assert_pattern_body (chunked, 5000000);
}

/* A decompression bomb: a few KiB of gzip that decode to 64 MiB. The limit
 * counts decoded bytes (libcurl's CURLOPT_MAXFILESIZE counts the wire's), so
 * it stops the transfer at max-body-size, not 64 MiB later. */
static void
test_max_body_size_decoded (Fixture       *fixture,
                            gconstpointer  data)
{
  const guint64 limit = 1024 * 1024;
  g_autoptr(GCurlTransfer) small = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GCurlTransfer) bomb =
    test_transfer_new_printf (server, "/gzip-zeros/%u", 64 * 1024 * 1024);
  g_autoptr(GBytes) body = NULL;
  const guint8 *bytes;
  gsize size, i;

  g_object_set (fixture->multi, "max-body-size", limit, NULL);
  /* Decoding is the application's choice, through the easy handle. */
  curl_easy_setopt (g_curl_transfer_get_handle (small), CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt (g_curl_transfer_get_handle (bomb), CURLOPT_ACCEPT_ENCODING, "gzip");

  /* Under the limit: decoded in full. */
  test_run_transfer (fixture->multi, small);
  g_assert_cmpint (g_curl_transfer_get_state (small), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  body = g_curl_transfer_get_body (small);
  bytes = g_bytes_get_data (body, &size);
  g_assert_cmpuint (size, ==, 100000);
  for (i = 0; i < size && bytes[i] == 0; i++)
    ;
  g_assert_cmpuint (i, ==, size);

  test_run_transfer (fixture->multi, bomb);
  test_assert_transfer_error (bomb, G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (bomb), <=, limit);
}

/* A connect timeout ends a connection that never completes. */
static void
test_connect_timeout (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/",
                                          test_server_get_blackhole_port (server));
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  gint64 start = g_get_monotonic_time ();

  g_object_set (transfer, "connect-timeout", 1, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  /* Not the default 300 s (a bound only, not a timing assertion). */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 60 * G_USEC_PER_SEC);
}

static void
test_redirect_chain (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/redirect/4");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *summary = NULL;
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "done", 4);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  /* The final response's headers only: once. */
  summary = test_recorder_summary (&recorder);
  g_assert_cmpstr (summary, ==, "headers:200 progress* finished:succeeded");
  g_assert_cmpuint (test_server_get_path_count (server, "/redirect/0"), >=, 1);
  /* The redirects' own headers are gone with them. */
  g_assert_null (g_curl_transfer_get_response_header (transfer, "Location"));
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Length"), ==, "4");
  test_recorder_clear (&recorder);
}

static void
test_redirect_loop (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/loop");
  guint before = test_server_get_path_count (server, "/loop");

  g_object_set (fixture->multi, "max-redirects", 5, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_TOO_MANY_REDIRECTS,
                              G_CURL_TRANSFER_STATE_FAILED);
  /* The first request and five redirects. */
  g_assert_cmpuint (test_server_get_path_count (server, "/loop") - before, ==, 6);
}

static void
test_redirect_not_followed (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/redirect/1");

  g_object_set (fixture->multi, "max-redirects", 0, NULL);
  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 302);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Location"), ==, "/redirect/0");
}

static void
test_redirect_to_file (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server,
                              "/redirect-to?status=302&url=file%%3A%%2F%%2F%%2Fetc%%2Fpasswd");

  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);
}

static char *
echo_headers_via_redirect (GCurlMulti *multi,
                           const char *target_base)
{
  g_autofree char *target = g_strconcat (target_base, "/echo-headers", NULL);
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/redirect-to?status=307&url=%s", escaped);
  g_autoptr(GBytes) body = NULL;

  g_curl_transfer_set_request_header (transfer, "X-Api-Key", "secret-key");
  g_curl_transfer_set_request_header (transfer, "Authorization", "Bearer secret-token");
  test_run_transfer (multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = g_curl_transfer_get_body (transfer);

  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static void
test_redirect_cross_origin_headers (Fixture       *fixture,
                                    gconstpointer  data)
{
  g_autofree char *same = echo_headers_via_redirect (fixture->multi, test_server_get_uri (server));
  g_autofree char *other = echo_headers_via_redirect (fixture->multi, test_server_get_uri2 (server));

  /* Same origin: the application's headers follow. */
  g_assert_nonnull (strstr (same, "secret-key"));
  g_assert_nonnull (strstr (same, "secret-token"));
  /* Another origin (another port): none of them. */
  g_assert_null (strstr (other, "secret-key"));
  g_assert_null (strstr (other, "secret-token"));
  g_assert_nonnull (strstr (other, "method: GET"));
}

static void
test_redirect_post_303 (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/redirect-to?status=303&url=%%2Fecho");
  g_autoptr(GBytes) request = g_bytes_new_static ("data", 4);
  g_autoptr(GBytes) body = NULL;

  g_curl_transfer_set_request_body (transfer, request, "text/plain");
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpuint (g_bytes_get_size (body), >, 6);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), 6, "GET 0 ", 6);
}

/* Cancel */

static void
finished_flag_cb (GCurlTransfer *transfer,
                  gpointer       user_data)
{
  (*(guint *) user_data)++;
}

static void
cancel_and_check (GCurlMulti    *multi,
                  GCurlTransfer *transfer)
{
  guint finished = 0;

  g_signal_connect (transfer, "finished", G_CALLBACK (finished_flag_cb), &finished);
  g_curl_transfer_cancel (transfer);
  /* At once: the state; later: "finished". */
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_CANCELLED);
  g_assert_cmpuint (finished, ==, 0);
  g_assert_error ((GError *) g_curl_transfer_get_error (transfer),
                  G_IO_ERROR, G_IO_ERROR_CANCELLED);

  while (finished == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (finished, ==, 1);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);

  /* Cancelling again does nothing. */
  g_curl_transfer_cancel (transfer);
  test_run_for (50);
  g_assert_cmpuint (finished, ==, 1);
  test_assert_transfer_error (transfer, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
}

static void
test_cancel_before_connect (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/1000");
  guint before = test_server_get_path_count (server, "/bytes/1000");

  g_curl_multi_add_transfer (fixture->multi, transfer);
  cancel_and_check (fixture->multi, transfer);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/1000"), ==, before);
}

static void
test_cancel_during_connect (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/",
                                          test_server_get_blackhole_port (server));
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  g_curl_multi_add_transfer (fixture->multi, transfer);
  test_run_for (300);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
  cancel_and_check (fixture->multi, transfer);
}

static void
cancel_on_progress_cb (GCurlTransfer *transfer,
                       gint64         downloaded,
                       gint64         download_size,
                       gint64         uploaded,
                       gint64         upload_size,
                       gpointer       user_data)
{
  if (downloaded > 0)
    g_curl_transfer_cancel (transfer);
}

static void
test_cancel_during_body (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/100000?rate=20000");
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  g_signal_connect (transfer, "progress", G_CALLBACK (cancel_on_progress_cb), NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), >, 0);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), <, 100000);
  test_recorder_clear (&recorder);
}

static void
test_cancel_while_paused (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/100000?rate=20000");

  g_curl_multi_add_transfer (fixture->multi, transfer);
  test_run_for (200);
  g_curl_transfer_pause (transfer);
  test_run_for (200);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  cancel_and_check (fixture->multi, transfer);
}

/* Pause and resume */

static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/60000?rate=30000");
  gint64 at_pause;
  guint iterations;

  g_object_set (fixture->multi, "progress-interval", 0, NULL);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (g_curl_transfer_get_downloaded_bytes (transfer) == 0)
    g_main_context_iteration (NULL, TRUE);

  g_curl_transfer_pause (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  /* Let a chunk already on its way be held back by the write callback. */
  test_run_for (100);
  at_pause = g_curl_transfer_get_downloaded_bytes (transfer);
  iterations = test_count_iterations (700);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, at_pause);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  /* Paused means asleep: a few timer wakeups, not a spin. */
  g_assert_cmpuint (iterations, <, 50);

  g_curl_transfer_resume (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 60000);
}

static void
test_pause_before_connect (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/200000");

  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_curl_transfer_pause (transfer);
  test_run_for (300);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);

  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 200000);
}

static void
test_pause_many_times (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 8 * 1024 * 1024);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  gboolean finished = FALSE;
  guint pauses = 0;

  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    {
      g_curl_transfer_pause (transfer);
      g_main_context_iteration (NULL, FALSE);
      g_curl_transfer_resume (transfer);
      g_main_context_iteration (NULL, TRUE);
      pauses++;
    }
  finished = g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_RUNNING;
  test_run_until (&finished);
  test_assert_pattern_body (transfer, 8 * 1024 * 1024);
  g_test_message ("paused and resumed %u times", pauses);
}

/* Re-entrancy: handlers may do anything */

typedef struct
{
  GCurlMulti    *multi;
  GCurlTransfer *other;
  GMainLoop     *loop;
  guint          n;
} HandlerData;

static void
unref_in_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  HandlerData *hd = user_data;

  hd->n++;
  g_object_unref (transfer);
}

static void
test_unref_transfer_in_finished (Fixture       *fixture,
                                 gconstpointer  data)
{
  GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/5000");
  HandlerData hd = { 0, };

  g_object_add_weak_pointer (G_OBJECT (transfer), (gpointer *) &transfer);
  g_signal_connect (transfer, "finished", G_CALLBACK (unref_in_finished_cb), &hd);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (transfer != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (hd.n, ==, 1);
}

static void
unref_in_progress_cb (GCurlTransfer *transfer,
                      gint64         downloaded,
                      gint64         download_size,
                      gint64         uploaded,
                      gint64         upload_size,
                      gpointer       user_data)
{
  GCurlTransfer **ours = user_data;

  /* The application's last reference: the multi still holds one. */
  if (*ours != NULL)
    g_clear_object (ours);
}

static void
test_unref_transfer_in_progress (Fixture       *fixture,
                                 gconstpointer  data)
{
  GCurlTransfer *transfer = test_transfer_new_printf (server, "/slow/20000?rate=40000");
  GCurlTransfer *ours = transfer;
  GCurlTransfer *weak = transfer;

  g_object_add_weak_pointer (G_OBJECT (transfer), (gpointer *) &weak);
  g_signal_connect (transfer, "progress", G_CALLBACK (unref_in_progress_cb), &ours);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (ours != NULL)
    g_main_context_iteration (NULL, TRUE);
  /* Still running, owned by the multi, and freed once finished: never
   * while libcurl is on the stack (ASan would see it). */
  g_assert_nonnull (weak);
  while (weak != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

static void
unref_multi_in_finished_cb (GCurlTransfer *transfer,
                            gpointer       user_data)
{
  GCurlMulti **multi = user_data;

  g_clear_object (multi);
}

static void
test_unref_multi_in_finished (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/5000");

  g_signal_connect (transfer, "finished", G_CALLBACK (unref_multi_in_finished_cb), &fixture->multi);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (fixture->multi != NULL)
    g_main_context_iteration (NULL, TRUE);
  test_assert_pattern_body (transfer, 5000);
}

static void
cancel_other_cb (GCurlTransfer *transfer,
                 gint64         downloaded,
                 gint64         download_size,
                 gint64         uploaded,
                 gint64         upload_size,
                 gpointer       user_data)
{
  HandlerData *hd = user_data;

  g_curl_transfer_cancel (hd->other);
  g_curl_transfer_cancel (transfer);
}

static void
add_in_finished_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  HandlerData *hd = user_data;

  if (hd->n++ == 0)
    g_curl_multi_add_transfer (hd->multi, hd->other);
}

static void
test_handlers_cancel_and_add (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/slow/50000?rate=25000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/slow/50000?rate=25000");
  g_autoptr(GCurlTransfer) third = test_transfer_new_printf (server, "/bytes/3000");
  HandlerData cancel_data = { fixture->multi, second, NULL, 0 };
  HandlerData add_data = { fixture->multi, third, NULL, 0 };

  /* From first's progress: cancel second, then first itself; from first's
   * finished: add third. */
  g_signal_connect (first, "progress", G_CALLBACK (cancel_other_cb), &cancel_data);
  g_signal_connect (first, "finished", G_CALLBACK (add_in_finished_cb), &add_data);
  g_curl_multi_add_transfer (fixture->multi, first);
  g_curl_multi_add_transfer (fixture->multi, second);
  test_run_until_finished (first);
  test_assert_transfer_error (first, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
  if (g_curl_transfer_get_state (second) != G_CURL_TRANSFER_STATE_CANCELLED)
    test_run_until_finished (second);
  test_assert_transfer_error (second, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
  test_run_until_finished (third);
  test_assert_pattern_body (third, 3000);
}

static void
quit_in_headers_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  g_main_loop_quit (user_data);
}

static void
pause_in_headers_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  g_curl_transfer_pause (transfer);
}

static void
test_handlers_quit_and_pause (Fixture       *fixture,
                              gconstpointer  data)
{
  /* Trickled, so that the body is not all there with the headers. */
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/30000?rate=60000");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_signal_connect (transfer, "got-headers", G_CALLBACK (pause_in_headers_cb), NULL);
  g_signal_connect (transfer, "got-headers", G_CALLBACK (quit_in_headers_cb), loop);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_main_loop_run (loop);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  test_run_for (200);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);

  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 30000);
}

static void
readd_in_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  HandlerData *hd = user_data;

  if (hd->n++ == 0)
    {
      /* The first run's outcome is still readable here... */
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      /* ...and a new run starts clean. */
      g_curl_multi_add_transfer (hd->multi, transfer);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
      g_assert_null (g_curl_transfer_get_body (transfer));
      g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);
    }
}

static void
test_readd_finished (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/7000");
  HandlerData hd = { fixture->multi, NULL, NULL, 0 };

  g_signal_connect (transfer, "finished", G_CALLBACK (readd_in_finished_cb), &hd);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (hd.n < 2)
    g_main_context_iteration (NULL, TRUE);
  test_assert_pattern_body (transfer, 7000);

  /* And once more from outside a handler. */
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 7000);
  g_assert_cmpuint (hd.n, ==, 3);
}


/* Every action a handler may take, from every signal (DESIGN.md rule 1). */

typedef enum {
  ACTION_CANCEL,
  ACTION_PAUSE,
  ACTION_ADD,
  ACTION_UNREF_TRANSFER,
  ACTION_UNREF_MULTI,
  ACTION_QUIT_LOOP,
} HandlerAction;

typedef struct
{
  HandlerAction   action;
  const char     *signal;
  GCurlMulti     *multi;       /* the test's reference, for UNREF_MULTI */
  GCurlTransfer  *transfer;    /* the test's reference, for UNREF_TRANSFER */
  GCurlTransfer  *added;
  GMainLoop      *loop;
  gboolean        acted;
  guint           n_finished;
  GCurlTransferState final_state;
  gint64          final_bytes;
} MatrixData;

static void
matrix_act (MatrixData    *md,
            GCurlTransfer *transfer)
{
  if (md->acted)
    return;
  md->acted = TRUE;

  switch (md->action)
    {
    case ACTION_CANCEL:
      g_curl_transfer_cancel (transfer);
      break;
    case ACTION_PAUSE:
      g_curl_transfer_pause (transfer);
      break;
    case ACTION_ADD:
      md->added = test_transfer_new_printf (server, "/bytes/%u", 500);
      g_curl_multi_add_transfer (md->multi, md->added);
      break;
    case ACTION_UNREF_TRANSFER:
      g_clear_object (&md->transfer);
      break;
    case ACTION_UNREF_MULTI:
      g_clear_object (&md->multi);
      break;
    case ACTION_QUIT_LOOP:
      g_main_loop_quit (md->loop);
      break;
    }
}

static void
matrix_progress_cb (GCurlTransfer *transfer, gint64 d, gint64 ds, gint64 u, gint64 us,
                    gpointer user_data)
{
  MatrixData *md = user_data;

  if (g_str_equal (md->signal, "progress") && d > 0)
    matrix_act (md, transfer);
}

static void
matrix_headers_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  MatrixData *md = user_data;

  if (g_str_equal (md->signal, "got-headers"))
    matrix_act (md, transfer);
}

static void
matrix_finished_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  MatrixData *md = user_data;

  md->n_finished++;
  md->final_state = g_curl_transfer_get_state (transfer);
  md->final_bytes = g_curl_transfer_get_downloaded_bytes (transfer);
  if (g_str_equal (md->signal, "finished"))
    matrix_act (md, transfer);
}

static void
test_handler_matrix (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *signals_[] = { "progress", "got-headers", "finished" };
  HandlerAction actions[] = { ACTION_CANCEL, ACTION_PAUSE, ACTION_ADD, ACTION_UNREF_TRANSFER,
                              ACTION_UNREF_MULTI, ACTION_QUIT_LOOP };
  const char *names[] = { "cancel", "pause", "add", "unref-transfer", "unref-multi", "quit-loop" };
  guint s, a;

  for (s = 0; s < G_N_ELEMENTS (signals_); s++)
    for (a = 0; a < G_N_ELEMENTS (actions); a++)
      {
        MatrixData md = { 0, };
        GCurlTransfer *weak;
        GCurlMulti *weak_multi;
        gboolean cancelled;

        g_test_message ("%s from %s", names[a], signals_[s]);
        md.action = actions[a];
        md.signal = signals_[s];
        md.multi = g_curl_multi_new ();
        g_object_set (md.multi, "progress-interval", 0, NULL);
        md.transfer = test_transfer_new_printf (server, "/slow/20000?rate=80000");
        md.loop = g_main_loop_new (NULL, FALSE);
        weak = md.transfer;
        weak_multi = md.multi;
        g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
        g_object_add_weak_pointer (G_OBJECT (weak_multi), (gpointer *) &weak_multi);
        g_signal_connect (md.transfer, "progress", G_CALLBACK (matrix_progress_cb), &md);
        g_signal_connect (md.transfer, "got-headers", G_CALLBACK (matrix_headers_cb), &md);
        g_signal_connect (md.transfer, "finished", G_CALLBACK (matrix_finished_cb), &md);
        g_curl_multi_add_transfer (md.multi, md.transfer);

        if (md.action == ACTION_QUIT_LOOP)
          g_main_loop_run (md.loop);
        while (md.n_finished == 0 || (md.action == ACTION_PAUSE && !md.acted))
          {
            if (md.action == ACTION_PAUSE && md.acted && weak != NULL &&
                g_curl_transfer_get_state (weak) == G_CURL_TRANSFER_STATE_PAUSED)
              {
                test_run_for (50);
                g_curl_transfer_resume (weak);
              }
            g_main_context_iteration (NULL, TRUE);
          }

        g_assert_true (md.acted);
        g_assert_cmpuint (md.n_finished, ==, 1);
        cancelled = md.action == ACTION_CANCEL && !g_str_equal (md.signal, "finished");
        g_assert_cmpint (md.final_state, ==, cancelled ? G_CURL_TRANSFER_STATE_CANCELLED
                                                       : G_CURL_TRANSFER_STATE_SUCCEEDED);
        if (!cancelled)
          g_assert_cmpint (md.final_bytes, ==, 20000);

        if (md.added != NULL)
          {
            if (g_curl_transfer_get_state (md.added) == G_CURL_TRANSFER_STATE_RUNNING)
              test_run_until_finished (md.added);
            test_assert_pattern_body (md.added, 500);
            g_clear_object (&md.added);
          }

        /* Nothing leaks, whatever the handler dropped. */
        g_clear_object (&md.transfer);
        g_clear_object (&md.multi);
        test_run_for (10);
        g_assert_null (weak);
        g_assert_null (weak_multi);
        g_main_loop_unref (md.loop);
      }
}

/* Lifetime */

static void
test_multi_unref_while_running (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i;

  for (i = 0; i < 20; i++)
    {
      GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/%u", 1000 * (i + 1));

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (fixture->multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }

  /* The running transfers keep the multi alive... */
  g_object_unref (fixture->multi);
  g_assert_nonnull (fixture->multi);
  while (finished < 20)
    g_main_context_iteration (NULL, TRUE);
  /* ...and let go of it once finished. */
  g_assert_null (fixture->multi);
  for (i = 0; i < 20; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), 1000 * (i + 1));
}

/* The last unref of the multi with a thousand transfers running: they all
 * finish, with their whole bodies, and then the multi is freed. */
static void
test_multi_unref_with_1000_running (Fixture       *fixture,
                                    gconstpointer  data)
{
  const guint n = 1000;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  GCurlMulti *weak_multi = fixture->multi;
  guint finished = 0;
  guint i;

  g_object_add_weak_pointer (G_OBJECT (weak_multi), (gpointer *) &weak_multi);
  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/%u", 100 + i * 37);

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (fixture->multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }
  /* Some are already on the wire when the last reference goes. */
  test_run_for (20);
  g_assert_cmpuint (finished, <, n);
  g_clear_object (&fixture->multi);
  g_assert_nonnull (weak_multi);

  while (finished < n)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (finished, ==, n);
  g_assert_null (weak_multi);
  for (i = 0; i < n; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), 100 + i * 37);
}

static void
quit_on_progress_cb (GCurlTransfer *transfer,
                     GParamSpec    *pspec,
                     gpointer       user_data)
{
  GMainLoop *loop = user_data;

  if (g_curl_transfer_get_downloaded_bytes (transfer) > 0)
    g_main_loop_quit (loop);
}

/* The application's loop is quit and destroyed while transfers run, nothing
 * iterates the context for a while (the server keeps sending into the socket
 * buffers, and one transfer's server stalls), then a new loop runs the same
 * context: every transfer carries on where it was and ends right. */
static void
test_loop_destroyed_and_resumed (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) slow = test_transfer_new_printf (server, "/slow/20000?rate=40000");
  g_autoptr(GCurlTransfer) large = test_transfer_new_printf (server, "/bytes/%u", 8 * 1024 * 1024);
  g_autoptr(GCurlTransfer) delayed = test_transfer_new_printf (server, "/delay/300");
  g_autofree char *stall_url = test_server_raw_url (server, "/stall/1000/10");
  g_autoptr(GCurlTransfer) stalled = g_curl_transfer_new (stall_url);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  gulong handler;
  guint finished = 0;

  g_object_set (stalled, "stall-timeout", 1, NULL);
  handler = g_signal_connect (slow, "notify::downloaded-bytes", G_CALLBACK (quit_on_progress_cb), loop);
  g_signal_connect (slow, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (large, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (delayed, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (stalled, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_curl_multi_add_transfer (fixture->multi, slow);
  g_curl_multi_add_transfer (fixture->multi, large);
  g_curl_multi_add_transfer (fixture->multi, delayed);
  g_curl_multi_add_transfer (fixture->multi, stalled);

  g_main_loop_run (loop);
  g_signal_handler_disconnect (slow, handler);
  g_main_loop_unref (loop);
  g_assert_cmpuint (finished, <, 4);

  /* No loop at all for 1.5 s: longer than the stalled transfer's timeout
   * and than the delayed response's delay. */
  g_usleep (1500 * G_TIME_SPAN_MILLISECOND);

  loop = g_main_loop_new (NULL, FALSE);
  while (finished < 4)
    g_main_context_iteration (NULL, TRUE);
  g_main_loop_unref (loop);

  test_assert_pattern_body (slow, 20000);
  test_assert_pattern_body (large, 8 * 1024 * 1024);
  g_assert_cmpint (g_curl_transfer_get_state (delayed), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  test_assert_transfer_error (stalled, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

/* Adding a running transfer to a second multi is a programmer error: a
 * critical, and nothing else happens: the transfer ends normally in its
 * first multi, and the second one never sees it. */
static void
test_add_to_second_multi (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlMulti) other = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/5000");
  TestRecorder recorder = { 0 };

  test_recorder_attach (&recorder, transfer);
  g_curl_multi_add_transfer (fixture->multi, transfer);

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*g_curl_multi_add_transfer*");
  g_curl_multi_add_transfer (other, transfer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (g_curl_multi_get_n_transfers (other), ==, 0);

  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 5000);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (other), ==, 0);
  test_recorder_clear (&recorder);
}

static void
test_bad_headers_are_critical (Fixture       *fixture,
                               gconstpointer  data)
{
  const char *names[] = { "Bad Name", "Bad:Name", "", "X-Ok" };
  const char *values[] = { "v", "v", "v", "a\r\nX-Injected: 1" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
      g_autoptr(GBytes) body = NULL;

      g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
      g_curl_transfer_set_request_header (transfer, names[i], values[i]);
      g_test_assert_expected_messages ();

      test_run_transfer (fixture->multi, transfer);
      body = g_curl_transfer_get_body (transfer);
      g_assert_null (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                   "X-Injected"));
      g_assert_null (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                   "Bad"));
    }
}

static void
test_invalid_protocols_refused (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *protocols = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*not a list of protocols*");
  g_object_set (fixture->multi, "allowed-protocols", "http,nonsense", NULL);
  g_test_assert_expected_messages ();
  g_object_get (fixture->multi, "allowed-protocols", &protocols, NULL);
  g_assert_cmpstr (protocols, ==, "http,https");

  /* Still only http and https. */
  transfer = g_curl_transfer_new ("file:///etc/hostname");
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);
}

/* Properties and progress */

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  GHashTable *counts = user_data;
  const char *name = g_param_spec_get_name (pspec);

  g_hash_table_insert (counts, (gpointer) name,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, name)) + 1));
}

static void
test_progress_throttled (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/40000?rate=40000");
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  TestRecorder recorder;
  gint64 start, elapsed;
  guint max_progress;

  g_object_set (fixture->multi, "progress-interval", 250, NULL);
  test_recorder_attach (&recorder, transfer);
  g_signal_connect (transfer, "notify", G_CALLBACK (notify_count_cb), counts);

  start = g_get_monotonic_time ();
  test_run_transfer (fixture->multi, transfer);
  elapsed = g_get_monotonic_time () - start;
  test_assert_pattern_body (transfer, 40000);

  /* At most one per interval (plus the first and the final one). */
  max_progress = elapsed / (250 * 1000) + 2;
  g_assert_cmpuint (recorder.n_progress, >=, 2);
  g_assert_cmpuint (recorder.n_progress, <=, max_progress);
  /* Notifications come with the emissions, only when values change. */
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (counts, "downloaded-bytes")), <=,
                    recorder.n_progress);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (counts, "download-size")), ==, 1);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (counts, "state")), ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (counts, "fraction")), >=, 2);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
  g_assert_cmpint (g_curl_transfer_get_time_remaining (transfer), ==, -1);
  test_recorder_clear (&recorder);
}

typedef struct
{
  GObject parent;
  double  value;
  guint   n_sets;
} TestTarget;

typedef GObjectClass TestTargetClass;
GType test_target_get_type (void);
G_DEFINE_TYPE (TestTarget, test_target, G_TYPE_OBJECT)

static void
test_target_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  TestTarget *self = (TestTarget *) object;

  self->value = g_value_get_double (value);
  self->n_sets++;
}

static void
test_target_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  g_value_set_double (value, ((TestTarget *) object)->value);
}

static void
test_target_class_init (TestTargetClass *klass)
{
  klass->set_property = test_target_set_property;
  klass->get_property = test_target_get_property;
  g_object_class_install_property (klass, 1,
                                   g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0,
                                                        G_PARAM_READWRITE));
}

static void
test_target_init (TestTarget *self)
{
}

static void
test_bind_fraction (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/40000?rate=80000");
  TestTarget *target = g_object_new (test_target_get_type (), NULL);

  g_object_set (fixture->multi, "progress-interval", 50, NULL);
  g_object_bind_property (transfer, "fraction", target, "fraction", G_BINDING_DEFAULT);
  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpfloat (target->value, ==, 1.0);
  /* Some intermediate values on the way. */
  g_assert_cmpuint (target->n_sets, >=, 2);
  g_object_unref (target);
}

static void
test_max_download_speed (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", 150 * 1024);
  gint64 start = g_get_monotonic_time ();

  g_curl_transfer_set_max_download_speed (transfer, 100 * 1024);
  g_assert_cmpint (g_curl_transfer_get_max_download_speed (transfer), ==, 100 * 1024);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 150 * 1024);
  /* 150 KiB at 100 KiB/s, less a burst of 10 KiB: at least 1.4 s. A lower
   * bound holds however loaded the machine is. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC * 13 / 10);
}

/* send_and_read_async */

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

static gpointer
cancel_from_thread (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

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

/* Threads: one multi per thread and context */

static gpointer
thread_func (gpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i, seed = GPOINTER_TO_UINT (data);

  g_main_context_push_thread_default (context);
  multi = g_curl_multi_new ();
  g_assert_true (g_curl_multi_get_context (multi) == context);

  for (i = 0; i < 20; i++)
    {
      GCurlTransfer *transfer =
        test_transfer_new_printf (server, "/bytes/%u", seed * 1000 + i * 100);

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }
  while (finished < 20)
    g_main_context_iteration (context, TRUE);
  for (i = 0; i < 20; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), seed * 1000 + i * 100);

  g_clear_object (&multi);
  g_main_context_pop_thread_default (context);
  return GUINT_TO_POINTER (finished);
}

static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  GThread *threads[4];
  guint i;

  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("multi", thread_func, GUINT_TO_POINTER (i + 1));
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 20);
}

/* Idle */

static void
test_idle_zero_wakeups (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/1000");

  /* A fresh multi... */
  g_assert_cmpuint (test_count_iterations (500), ==, 0);
  /* ...and one that has run a transfer and keeps its connection. */
  test_run_transfer (fixture->multi, transfer);
  test_run_for (50);
  g_assert_cmpuint (test_count_iterations (1500), ==, 0);
}

static void
test_delayed_response (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/delay/600");
  g_autoptr(GBytes) body = NULL;
  gint64 start = g_get_monotonic_time ();

  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "delayed", 7);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 600 * 1000);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);
  /* Made on first use, with fds of its own: not in any test's fd count. */
  test_server_get_blackhole_port (server);

  ADD_TEST ("/multi/get/small", test_get_small);
  ADD_TEST ("/multi/get/empty", test_get_empty);
  ADD_TEST ("/multi/get/repeated-headers", test_get_repeated_headers);
  ADD_TEST ("/multi/get/header-forms", test_get_header_forms);
  ADD_TEST ("/multi/get/http-error-status", test_http_error_status);
  ADD_TEST ("/multi/get/concurrent-500", test_concurrent);
  ADD_TEST ("/multi/get/large-256mib", test_large_body);
  ADD_TEST ("/multi/request/post-body", test_post_body);
  ADD_TEST ("/multi/request/put-and-head", test_put_and_head);
  ADD_TEST ("/multi/request/headers", test_request_headers);
  ADD_TEST ("/multi/request/user-agent", test_user_agent);
  ADD_TEST ("/multi/request/bad-headers-critical", test_bad_headers_are_critical);
  ADD_TEST ("/multi/upload/stream-512mib", test_upload_stream);
  ADD_TEST ("/multi/upload/chunked", test_upload_chunked);
  ADD_TEST ("/multi/upload/read-error", test_upload_read_error);
  ADD_TEST ("/multi/upload/rerun", test_upload_rerun);
  ADD_TEST ("/multi/error/refused", test_refused);
  ADD_TEST ("/multi/error/invalid-urls", test_invalid_urls);
  ADD_TEST ("/multi/error/faults", test_faults);
  ADD_TEST ("/multi/error/stall", test_stall);
  ADD_TEST ("/multi/error/stall-deadline", test_stall_deadline);
  ADD_TEST ("/multi/error/no-stall-while-queued", test_stall_not_while_queued);
  ADD_TEST ("/multi/error/invalid-protocols-refused", test_invalid_protocols_refused);
  ADD_TEST ("/multi/redirect/chain", test_redirect_chain);
  ADD_TEST ("/multi/proxy/from-resolver", test_proxy_from_resolver);
  ADD_TEST ("/multi/proxy/resolver-asked-origin", test_proxy_resolver_asked_origin);
  ADD_TEST ("/multi/proxy/explicit", test_proxy_explicit);
  ADD_TEST ("/multi/proxy/network-change", test_proxy_network_change);
  ADD_TEST ("/multi/proxy/down", test_proxy_down);
  ADD_TEST ("/multi/upload/redirect-stream", test_upload_redirect_stream);
  ADD_TEST ("/multi/transfer-settings", test_transfer_settings);
  ADD_TEST ("/multi/connect-timeout", test_connect_timeout);
  ADD_TEST ("/multi/timings", test_timings);
  ADD_TEST ("/multi/max-body-size", test_max_body_size);
  ADD_TEST ("/multi/max-body-size/decoded", test_max_body_size_decoded);
  ADD_TEST ("/multi/redirect/loop", test_redirect_loop);
  ADD_TEST ("/multi/redirect/not-followed", test_redirect_not_followed);
  ADD_TEST ("/multi/redirect/to-file", test_redirect_to_file);
  ADD_TEST ("/multi/redirect/cross-origin-headers", test_redirect_cross_origin_headers);
  ADD_TEST ("/multi/redirect/post-303", test_redirect_post_303);
  ADD_TEST ("/multi/cancel/before-connect", test_cancel_before_connect);
  ADD_TEST ("/multi/cancel/during-connect", test_cancel_during_connect);
  ADD_TEST ("/multi/cancel/during-body", test_cancel_during_body);
  ADD_TEST ("/multi/cancel/while-paused", test_cancel_while_paused);
  ADD_TEST ("/multi/pause/resume", test_pause_resume);
  ADD_TEST ("/multi/pause/before-connect", test_pause_before_connect);
  ADD_TEST ("/multi/pause/many-times", test_pause_many_times);
  ADD_TEST ("/multi/handler/unref-transfer-in-finished", test_unref_transfer_in_finished);
  ADD_TEST ("/multi/handler/unref-multi-in-finished", test_unref_multi_in_finished);
  ADD_TEST ("/multi/handler/unref-transfer-in-progress", test_unref_transfer_in_progress);
  ADD_TEST ("/multi/handler/cancel-and-add", test_handlers_cancel_and_add);
  ADD_TEST ("/multi/handler/quit-and-pause", test_handlers_quit_and_pause);
  ADD_TEST ("/multi/handler/readd-in-finished", test_readd_finished);
  ADD_TEST ("/multi/handler/every-action-from-every-signal", test_handler_matrix);
  ADD_TEST ("/multi/lifetime/unref-while-running", test_multi_unref_while_running);
  ADD_TEST ("/multi/lifetime/unref-with-1000-running", test_multi_unref_with_1000_running);
  ADD_TEST ("/multi/lifetime/loop-destroyed-and-resumed", test_loop_destroyed_and_resumed);
  ADD_TEST ("/multi/lifetime/add-running-critical", test_add_to_second_multi);
  ADD_TEST ("/multi/progress/throttled", test_progress_throttled);
  ADD_TEST ("/multi/progress/bind-fraction", test_bind_fraction);
  ADD_TEST ("/multi/progress/max-download-speed", test_max_download_speed);
  ADD_TEST ("/multi/async/send-and-read", test_send_and_read);
  ADD_TEST ("/multi/async/send-and-read-cancel", test_send_and_read_cancel);
  ADD_TEST ("/multi/async/send-and-read-readd-in-finished", test_send_and_read_readd_in_finished);
  ADD_TEST ("/multi/async/send-and-read-error", test_send_and_read_error);
  ADD_TEST ("/multi/threads", test_threads);
  ADD_TEST ("/multi/idle/zero-wakeups", test_idle_zero_wakeups);
  ADD_TEST ("/multi/timer/delayed-response", test_delayed_response);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
