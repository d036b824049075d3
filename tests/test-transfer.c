/* test-transfer.c: one GCurlTransfer's run, from request to outcome, against the test server
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

/* A 100 000-byte GET arrives whole: headers by any case, final progress figures, one "finished". */
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

/* An empty body (/bytes/0) is a success with no bytes and a fraction of 1.0. */
static void
test_get_empty (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/0");

  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 0);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
}

/* A header sent twice reads as "a, b"; header names match in any case. */
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

/* A 404 or a 500 is a succeeded transfer with its status and body, not an error. */
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

/* A 256 MiB body arrives byte-exact, with "progress" far rarer than once a chunk. */
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

/* Requests */

/* A 300 000-byte POST body reaches the server whole (its digest matches), with its type. */
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

/* A PUT sends its body with the default content type; a HEAD gets headers and no body. */
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

/* Request headers replace by name in any case, NULL removes one, "" sends it empty. */
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

/* The multi's user-agent is the User-Agent its transfers send. */
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

/* An invalid header name or a CR/LF in a value is refused with a critical, never sent. */
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

/* Failures */

/* A refused connection fails with COULDNT_CONNECT naming the address, and no "got-headers". */
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

/* Malformed URLs and non-HTTP schemes fail with their own codes; nothing reaches the server. */
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

/* A response cut short, reset, garbled or badly chunked fails with libcurl's code for it. */
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

/* A silent peer (mid-body, before headers, after a 101) times out, not before stall-timeout. */
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

/* Waiting longer than stall-timeout for the only connection is no stall: both succeed. */
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

/* A protocol list with an unknown name is refused with a critical; only http and https stay. */
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

/* Redirects */

/* Four redirects are followed to the final 200, whose headers alone are reported, once. */
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

/* A redirect loop stops at max-redirects with TOO_MANY_REDIRECTS after 1 + 5 requests. */
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

/* With max-redirects 0 the 302 itself is the response, its Location readable. */
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

/* A redirect to file:///etc/passwd fails with UNSUPPORTED_PROTOCOL. */
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

/* The transfer of a 302 to @target (escaped into the URL). */
static GCurlTransfer *
redirect_to_new (const char *target)
{
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);

  return test_transfer_new_printf (server, "/redirect-to?status=302&url=%s", escaped);
}

static char *
body_string (GCurlTransfer *transfer)
{
  g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

  return body != NULL ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
}

/* With file allowed for the app's own URLs, a server still cannot redirect to file://. */
static void
test_redirect_protocols (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("gcurl-redirect-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "secret", NULL);
  g_autofree char *file_url = g_filename_to_uri (path, NULL, NULL);
  g_autoptr(GCurlTransfer) direct = g_curl_transfer_new (file_url);
  g_autoptr(GCurlTransfer) refused = redirect_to_new (file_url);
  g_autoptr(GCurlTransfer) let_through = redirect_to_new (file_url);
  g_autoptr(GCurlTransfer) never_wider = redirect_to_new (file_url);
  g_autofree char *protocols = NULL;
  g_autofree char *direct_body = NULL;
  g_autofree char *through_body = NULL;

  g_assert_true (g_file_set_contents (path, "secret contents", -1, NULL));
  g_object_get (fixture->multi, "redirect-protocols", &protocols, NULL);
  g_assert_cmpstr (protocols, ==, "http,https");
  g_object_set (fixture->multi, "allowed-protocols", "http,https,file", NULL);

  /* The application's own file:// URL is allowed… */
  test_run_transfer (fixture->multi, direct);
  direct_body = body_string (direct);
  g_assert_cmpstr (direct_body, ==, "secret contents");

  /* …a server's redirect there is not, and nothing of the file is read. */
  test_run_transfer (fixture->multi, refused);
  test_assert_transfer_error (refused, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_nonnull (strstr (g_curl_transfer_get_error (refused)->message, "“file”"));
  g_assert_cmpuint (g_curl_transfer_get_status_code (refused), ==, 0);

  /* The transfer may widen its own redirect protocols… */
  g_object_set (let_through, "redirect-protocols", "http,https,file", NULL);
  test_run_transfer (fixture->multi, let_through);
  through_body = body_string (let_through);
  g_assert_cmpstr (through_body, ==, "secret contents");

  /* …but never past the protocols allowed at all. */
  g_object_set (never_wider, "redirect-protocols", "all", "allowed-protocols", "http", NULL);
  test_run_transfer (fixture->multi, never_wider);
  test_assert_transfer_error (never_wider, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);

  g_remove (path);
  g_rmdir (dir);
}

/* A redirect-protocols of https only refuses a redirect to plain http; a bad list is a critical. */
static void
test_redirect_protocols_narrow (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *target = test_server_url (server, "/bytes/10");
  g_autoptr(GCurlTransfer) transfer = redirect_to_new (target);
  g_autofree char *protocols = NULL;

  g_object_set (fixture->multi, "redirect-protocols", "https", NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/10"), ==, 0);

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*not a list of protocols*");
  g_object_set (fixture->multi, "redirect-protocols", "http,nonsense", NULL);
  g_test_assert_expected_messages ();
  g_object_get (fixture->multi, "redirect-protocols", &protocols, NULL);
  g_assert_cmpstr (protocols, ==, "https");
}

/* How echo_headers_via_redirect() gives its credentials. */
typedef enum
{
  CREDENTIALS_HEADERS,          /* the application's own headers */
  CREDENTIALS_RAW_USERPWD,      /* raw handle: CURLOPT_USERPWD, HTTPAUTH, COOKIE */
  CREDENTIALS_RAW_USERNAME,     /* raw handle: CURLOPT_USERNAME and PASSWORD */
} Credentials;

/* What /echo-headers got through a 307 to @target_base, with @credentials. */
static char *
echo_headers_via_redirect (GCurlMulti  *multi,
                           const char  *target_base,
                           Credentials  credentials)
{
  g_autofree char *target = g_strconcat (target_base, "/echo-headers", NULL);
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/redirect-to?status=307&url=%s", escaped);
  CURL *handle = g_curl_transfer_get_handle (transfer);
  g_autoptr(GBytes) body = NULL;

  switch (credentials)
    {
    case CREDENTIALS_HEADERS:
      g_curl_transfer_set_request_header (transfer, "X-Api-Key", "secret-key");
      g_curl_transfer_set_request_header (transfer, "Authorization", "Bearer secret-token");
      break;
    case CREDENTIALS_RAW_USERPWD:
      curl_easy_setopt (handle, CURLOPT_USERPWD, "joe:raw-secret");
      curl_easy_setopt (handle, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      curl_easy_setopt (handle, CURLOPT_COOKIE, "session=raw-cookie");
      break;
    case CREDENTIALS_RAW_USERNAME:
      curl_easy_setopt (handle, CURLOPT_USERNAME, "ann");
      curl_easy_setopt (handle, CURLOPT_PASSWORD, "raw-password");
      break;
    default:
      g_assert_not_reached ();
    }
  test_run_transfer (multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = g_curl_transfer_get_body (transfer);

  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

/* The application's headers follow a 307 to the same origin, not one to another port. */
static void
test_redirect_cross_origin_headers (Fixture       *fixture,
                                    gconstpointer  data)
{
  g_autofree char *same = echo_headers_via_redirect (fixture->multi, test_server_get_uri (server),
                                                     CREDENTIALS_HEADERS);
  g_autofree char *other = echo_headers_via_redirect (fixture->multi, test_server_get_uri2 (server),
                                                      CREDENTIALS_HEADERS);

  /* Same origin: the application's headers follow. */
  g_assert_nonnull (strstr (same, "secret-key"));
  g_assert_nonnull (strstr (same, "secret-token"));
  /* Another origin (another port): none of them. */
  g_assert_null (strstr (other, "secret-key"));
  g_assert_null (strstr (other, "secret-token"));
  g_assert_nonnull (strstr (other, "method: GET"));
}

/* Credentials set on the raw handle follow a 307 to the same origin, never one to another.
 * Both ways libcurl takes a user and password: CURLOPT_USERPWD (with
 * HTTPAUTH and a raw COOKIE), and CURLOPT_USERNAME with CURLOPT_PASSWORD
 * (Basic by default). */
static void
test_redirect_raw_credentials (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *same = echo_headers_via_redirect (fixture->multi, test_server_get_uri (server),
                                                     CREDENTIALS_RAW_USERPWD);
  g_autofree char *other_raw = echo_headers_via_redirect (fixture->multi,
                                                          test_server_get_uri2 (server),
                                                          CREDENTIALS_RAW_USERPWD);
  g_autofree char *other = g_ascii_strdown (other_raw, -1);
  g_autofree char *basic = g_base64_encode ((const guchar *) "joe:raw-secret", 14);
  g_autofree char *basic_down = g_ascii_strdown (basic, -1);
  g_autofree char *same_user =
    echo_headers_via_redirect (fixture->multi, test_server_get_uri (server),
                               CREDENTIALS_RAW_USERNAME);
  g_autofree char *other_user_raw =
    echo_headers_via_redirect (fixture->multi, test_server_get_uri2 (server),
                               CREDENTIALS_RAW_USERNAME);
  g_autofree char *other_user = g_ascii_strdown (other_user_raw, -1);
  g_autofree char *user_basic = g_base64_encode ((const guchar *) "ann:raw-password", 16);
  g_autofree char *user_basic_down = g_ascii_strdown (user_basic, -1);

  g_assert_nonnull (strstr (same, basic));
  g_assert_nonnull (strstr (same, "raw-cookie"));
  g_assert_null (strstr (other, basic_down));
  g_assert_null (strstr (other, "authorization"));
  g_assert_null (strstr (other, "raw-cookie"));
  g_assert_nonnull (strstr (other, "method: get"));

  g_assert_nonnull (strstr (same_user, user_basic));
  g_assert_null (strstr (other_user, user_basic_down));
  g_assert_null (strstr (other_user, "authorization"));
  g_assert_nonnull (strstr (other_user, "method: get"));
}

/* A POST answered with a 303 is followed by a GET without the body. */
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

/* Settings */

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

/* max-body-size counts decoded bytes: a gzip bomb is stopped at the limit.
 *
 * A decompression bomb: a few KiB of gzip that decode to 64 MiB. The limit
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
  g_object_set (small, "accept-encoding", "gzip", NULL);
  g_object_set (bomb, "accept-encoding", "gzip", NULL);

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

/* Content decoding */

/* Whether @body is @n zero bytes. */
static gboolean
is_zeros (GBytes *body,
          gsize   n)
{
  gsize size, i;
  const guint8 *bytes = g_bytes_get_data (body, &size);

  for (i = 0; i < size && bytes[i] == 0; i++)
    ;

  return size == n && i == n;
}

/* By default every coding is asked for and the body decoded; the request says so. */
static void
test_decoding_default (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GCurlTransfer) echo = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) echoed = NULL;
  g_autofree char *text = NULL;
  g_autofree char *encoding = NULL;

  g_object_get (fixture->multi, "accept-encoding", &encoding, NULL);
  g_assert_cmpstr (encoding, ==, "");

  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_true (is_zeros (body, 100000));
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Encoding"), ==, "gzip");

  test_run_transfer (fixture->multi, echo);
  echoed = g_curl_transfer_get_body (echo);
  text = g_ascii_strdown (g_bytes_get_data (echoed, NULL), g_bytes_get_size (echoed));
  g_assert_nonnull (strstr (text, "\naccept-encoding: "));
  g_assert_nonnull (strstr (text, "gzip"));
}

/* With the multi's accept-encoding NULL, nothing is asked for and a gzip body arrives as served. */
static void
test_decoding_none (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GCurlTransfer) echo = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GCurlTransfer) asks = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) echoed = NULL;
  g_autoptr(GBytes) decoded = NULL;
  g_autofree char *text = NULL;
  const guint8 *bytes;
  gsize size;

  g_object_set (fixture->multi, "accept-encoding", NULL, NULL);
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  bytes = g_bytes_get_data (body, &size);
  g_assert_cmpuint (size, <, 100000);
  g_assert_cmpuint (size, >=, 2);
  g_assert_cmpuint (bytes[0], ==, 0x1f);
  g_assert_cmpuint (bytes[1], ==, 0x8b);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, (gint64) size);

  test_run_transfer (fixture->multi, echo);
  echoed = g_curl_transfer_get_body (echo);
  text = g_ascii_strdown (g_bytes_get_data (echoed, NULL), g_bytes_get_size (echoed));
  g_assert_null (strstr (text, "accept-encoding"));

  /* The transfer's own setting wins. */
  g_object_set (asks, "accept-encoding", "gzip", NULL);
  test_run_transfer (fixture->multi, asks);
  decoded = g_curl_transfer_get_body (asks);
  g_assert_true (is_zeros (decoded, 100000));
}

typedef struct
{
  guint   reports;
  gboolean over;          /* downloaded-bytes past download-size, or fraction past 1 */
  gboolean one_early;     /* fraction 1 before the last report */
  double  last_fraction;
} DecodedProgress;

static void
decoded_progress_cb (GCurlTransfer   *transfer,
                     gint64           done,
                     gint64           size,
                     gint64           uploaded,
                     gint64           upload_size,
                     DecodedProgress *p)
{
  g_assert_cmpint (done, ==, g_curl_transfer_get_downloaded_bytes (transfer));
  p->reports++;
  if ((size >= 0 && done > size) || g_curl_transfer_get_fraction (transfer) > 1.0)
    p->over = TRUE;
  if (p->last_fraction >= 1.0)
    p->one_early = TRUE;
  p->last_fraction = g_curl_transfer_get_fraction (transfer);
}

/* A decoded body's progress counts encoded bytes: never past download-size, 1 only at the end. */
static void
test_decoding_progress (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/gzip-zeros/%u", 64 * 1024 * 1024);
  g_autoptr(GBytes) body = NULL;
  DecodedProgress p = { 0, };
  const char *length;

  g_object_set (fixture->multi, "progress-interval", 0, NULL);
  g_signal_connect (transfer, "progress", G_CALLBACK (decoded_progress_cb), &p);
  test_run_transfer (fixture->multi, transfer);

  body = g_curl_transfer_get_body (transfer);
  g_assert_true (is_zeros (body, 64 * 1024 * 1024));
  length = g_curl_transfer_get_response_header (transfer, "Content-Length");
  g_assert_nonnull (length);
  g_assert_cmpint (g_curl_transfer_get_download_size (transfer), ==, g_ascii_strtoll (length, NULL, 10));
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==,
                   g_curl_transfer_get_download_size (transfer));
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
  g_assert_cmpuint (p.reports, >=, 1);
  g_assert_false (p.over);
  g_assert_false (p.one_early);
}

/* A transfer paused across a watchdog look, then resumed, still stalls against a server that never answers. */
static void
test_stall_after_resume (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/stall-headers");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_curl_transfer_pause (transfer);
  /* The watchdog looks while it is held, and must not time it out. */
  test_run_for (2500);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
}

/* A final 401 without a body (a HEAD) is the response: settled when the run ends. */
static void
test_head_401 (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/%d", 401);

  g_curl_transfer_set_method (transfer, "HEAD");
  test_run_transfer (fixture->multi, transfer);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 401);
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

/* Cancelled before connecting: CANCELLED at once, one "finished" later, no request sent. */
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

/* Cancelled while connecting (to the blackhole): CANCELLED at once, one "finished" later. */
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

/* Cancelled from "progress" mid-body: CANCELLED with part of the body, one "finished". */
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

/* A paused transfer can be cancelled: CANCELLED at once, one "finished" later. */
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

/* Paused, a transfer takes no bytes and sleeps (few wakeups); resumed, it ends whole. */
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

/* Paused before it connects, nothing arrives; resumed, the whole body does. */
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

/* Pausing and resuming at every iteration of an 8 MiB body loses or doubles no byte. */
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

/* "progress" comes at most once per progress-interval; notify only when a value changes. */
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

/* "fraction" binds to another object's property: values on the way, 1.0 at the end. */
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

/* max-download-speed 100 KiB/s makes 150 KiB take at least 1.3 s, body intact. */
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

  ADD_TEST ("/transfer/get/small", test_get_small);
  ADD_TEST ("/transfer/get/empty", test_get_empty);
  ADD_TEST ("/transfer/get/repeated-headers", test_get_repeated_headers);
  ADD_TEST ("/transfer/get/header-forms", test_get_header_forms);
  ADD_TEST ("/transfer/get/http-error-status", test_http_error_status);
  ADD_TEST ("/transfer/get/large-256mib", test_large_body);
  ADD_TEST ("/transfer/request/post-body", test_post_body);
  ADD_TEST ("/transfer/request/put-and-head", test_put_and_head);
  ADD_TEST ("/transfer/request/headers", test_request_headers);
  ADD_TEST ("/transfer/request/user-agent", test_user_agent);
  ADD_TEST ("/transfer/request/bad-headers-critical", test_bad_headers_are_critical);
  ADD_TEST ("/transfer/error/refused", test_refused);
  ADD_TEST ("/transfer/error/invalid-urls", test_invalid_urls);
  ADD_TEST ("/transfer/error/faults", test_faults);
  ADD_TEST ("/transfer/error/stall", test_stall);
  ADD_TEST ("/transfer/error/stall-deadline", test_stall_deadline);
  ADD_TEST ("/transfer/error/no-stall-while-queued", test_stall_not_while_queued);
  ADD_TEST ("/transfer/error/invalid-protocols-refused", test_invalid_protocols_refused);
  ADD_TEST ("/transfer/redirect/chain", test_redirect_chain);
  ADD_TEST ("/transfer/redirect/loop", test_redirect_loop);
  ADD_TEST ("/transfer/redirect/not-followed", test_redirect_not_followed);
  ADD_TEST ("/transfer/redirect/to-file", test_redirect_to_file);
  ADD_TEST ("/transfer/redirect/protocols", test_redirect_protocols);
  ADD_TEST ("/transfer/redirect/protocols-narrow", test_redirect_protocols_narrow);
  ADD_TEST ("/transfer/redirect/cross-origin-headers", test_redirect_cross_origin_headers);
  ADD_TEST ("/transfer/redirect/raw-credentials", test_redirect_raw_credentials);
  ADD_TEST ("/transfer/redirect/post-303", test_redirect_post_303);
  ADD_TEST ("/transfer/settings", test_transfer_settings);
  ADD_TEST ("/transfer/connect-timeout", test_connect_timeout);
  ADD_TEST ("/transfer/timings", test_timings);
  ADD_TEST ("/transfer/max-body-size", test_max_body_size);
  ADD_TEST ("/transfer/max-body-size/decoded", test_max_body_size_decoded);
  ADD_TEST ("/transfer/decoding/default", test_decoding_default);
  ADD_TEST ("/transfer/decoding/none", test_decoding_none);
  ADD_TEST ("/transfer/decoding/progress", test_decoding_progress);
  ADD_TEST ("/transfer/cancel/before-connect", test_cancel_before_connect);
  ADD_TEST ("/transfer/cancel/during-connect", test_cancel_during_connect);
  ADD_TEST ("/transfer/cancel/during-body", test_cancel_during_body);
  ADD_TEST ("/transfer/cancel/while-paused", test_cancel_while_paused);
  ADD_TEST ("/transfer/pause/resume", test_pause_resume);
  ADD_TEST ("/transfer/pause/before-connect", test_pause_before_connect);
  ADD_TEST ("/transfer/pause/many-times", test_pause_many_times);
  ADD_TEST ("/transfer/pause/stall-after-resume", test_stall_after_resume);
  ADD_TEST ("/transfer/get/head-401", test_head_401);
  ADD_TEST ("/transfer/progress/throttled", test_progress_throttled);
  ADD_TEST ("/transfer/progress/bind-fraction", test_bind_fraction);
  ADD_TEST ("/transfer/progress/max-download-speed", test_max_download_speed);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
