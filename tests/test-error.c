/* test-error.c: the G_CURL_ERROR domain, and which failures are worth a retry
 *
 * The errors come from real failures (a refused port, statuses from the
 * test server, a bad URL, a cancellation), and g_curl_error_is_transient()
 * is asked about each, then about copies and re-created errors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

/* FAILED with HTTP_RETURNED_ERROR (test_assert_transfer_error() wants no body). */
static void
assert_http_failure (GCurlTransfer *transfer)
{
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_error ((GError *) g_curl_transfer_get_error (transfer),
                  G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
}

typedef struct
{
  gboolean  done;
  GError   *error;
} Result;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  g_assert_false (g_curl_multi_download_finish (G_CURL_MULTI (source), result, &r->error));
  r->done = TRUE;
}

/* The error download_async() ends with, for @path of the test server, with
 * no retries. */
static GError *
download_error (TestFixture  *fixture,
                const char   *url)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autofree char *dir = g_dir_make_tmp ("gcurl-error-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "file", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  Result r = { 0, };

  g_object_set (fixture->multi, "download-retries", 0, NULL);
  g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &r);
  test_run_until (&r.done);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (dir);

  return r.error;
}

/* The error a plain transfer of @url ends with. */
static GError *
transfer_error (TestFixture *fixture,
                const char  *url)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);

  return g_error_copy (g_curl_transfer_get_error (transfer));
}

/* 408, 429 and 5xx are worth a retry; 404, 403 and 400 are not; a copy says the same. */
static void
test_http_statuses (TestFixture   *fixture,
                    gconstpointer  data)
{
  static const struct { guint status; gboolean transient; } cases[] = {
    { 400, FALSE }, { 403, FALSE }, { 404, FALSE }, { 410, FALSE },
    { 408, TRUE }, { 429, TRUE }, { 500, TRUE }, { 502, TRUE }, { 503, TRUE }, { 504, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = test_server_url (server, "/status/%u", cases[i].status);
      g_autoptr(GError) error = download_error (fixture, url);
      g_autoptr(GError) copy = NULL;
      g_autofree char *number = g_strdup_printf ("%u", cases[i].status);

      g_test_message ("HTTP %u", cases[i].status);
      g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
      g_assert_nonnull (strstr (error->message, number));
      g_assert_cmpint (g_curl_error_is_transient (error), ==, cases[i].transient);

      copy = g_error_copy (error);
      g_assert_cmpint (g_curl_error_is_transient (copy), ==, cases[i].transient);
    }
}

/* A refused connection is transient, from a transfer as from a download. */
static void
test_refused (TestFixture   *fixture,
              gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
  g_autoptr(GError) from_transfer = transfer_error (fixture, url);
  g_autoptr(GError) from_download = download_error (fixture, url);

  g_assert_error (from_transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_true (g_curl_error_is_transient (from_transfer));
  g_assert_error (from_download, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_true (g_curl_error_is_transient (from_download));
}

/* A connection closed before the headers ended, or mid-body, is transient. */
static void
test_cut_off (TestFixture   *fixture,
              gconstpointer  data)
{
  g_autofree char *mid_headers = test_server_raw_url (server, "/close-mid-headers");
  g_autoptr(GError) headers_error = transfer_error (fixture, mid_headers);

  g_assert_error (headers_error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_assert_true (g_curl_error_is_transient (headers_error));
}

/* A malformed URL, a disallowed protocol and a cancellation are not worth a retry. */
static void
test_not_transient (TestFixture   *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) malformed = transfer_error (fixture, "http://exa mple.com:99999999/");
  g_autoptr(GError) not_allowed = transfer_error (fixture, "dict://127.0.0.1/");
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/delay/5000");
  gboolean finished = FALSE;



  /* No proxy to look up: a lookup still under way when the transfer is
   * cancelled would hold the multi a little longer. */
  g_object_set (transfer, "proxy", "", NULL);
  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (test_set_flag), &finished);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_curl_transfer_cancel (transfer);
  test_run_until (&finished);
  g_assert_error (malformed, G_CURL_ERROR, G_CURL_ERROR_URL_MALFORMAT);
  g_assert_false (g_curl_error_is_transient (malformed));
  g_assert_error (not_allowed, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_assert_false (g_curl_error_is_transient (not_allowed));

  g_assert_error (g_curl_transfer_get_error (transfer), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_curl_error_is_transient (g_curl_transfer_get_error (transfer)));

  g_assert_false (g_curl_error_is_transient (NULL));
}

/* An error made from domain, code and message alone carries no status: only the code decides. */
static void
test_recreated (void)
{
  g_autoptr(GError) refused = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT,
                                                   "refused");
  g_autoptr(GError) http = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR,
                                                "HTTP 503");
  g_autoptr(GError) tls = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_SSL_CONNECT_ERROR,
                                               "handshake");
  g_autoptr(GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");

  g_assert_true (g_curl_error_is_transient (refused));
  g_assert_false (g_curl_error_is_transient (http));
  g_assert_false (g_curl_error_is_transient (tls));
  g_assert_false (g_curl_error_is_transient (other));
}

/* fail-on-http-error */

/* On the multi: a 404 fails with status, reason and URL in the message, the error page kept. */
static void
test_fail_on_http_error (TestFixture   *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) missing = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GCurlTransfer) busy = test_transfer_new_printf (server, "/status/503");
  g_autoptr(GCurlTransfer) fine = test_transfer_new_printf (server, "/status/200");
  g_autofree char *url = test_server_url (server, "/status/404");
  g_autoptr(GBytes) page = NULL;
  const GError *error;
  gboolean fail = FALSE;

  g_object_set (fixture->multi, "fail-on-http-error", TRUE, NULL);
  g_object_get (fixture->multi, "fail-on-http-error", &fail, NULL);
  g_assert_true (fail);

  test_run_transfer (fixture->multi, missing);
  assert_http_failure (missing);
  error = g_curl_transfer_get_error (missing);
  g_assert_nonnull (strstr (error->message, "404"));
  g_assert_nonnull (strstr (error->message, "Not Found"));
  g_assert_nonnull (strstr (error->message, url));
  g_assert_false (g_curl_error_is_transient (error));
  g_assert_cmpuint (g_curl_transfer_get_status_code (missing), ==, 404);
  page = g_curl_transfer_get_body (missing);
  g_assert_nonnull (page);
  g_assert_cmpmem (g_bytes_get_data (page, NULL), g_bytes_get_size (page), "status 404", 10);

  test_run_transfer (fixture->multi, busy);
  g_assert_true (g_curl_error_is_transient (g_curl_transfer_get_error (busy)));

  test_run_transfer (fixture->multi, fine);
  g_assert_cmpint (g_curl_transfer_get_state (fine), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
}

/* A transfer's own fail-on-http-error wins over its multi's, both ways. */
static void
test_fail_on_http_error_override (TestFixture   *fixture,
                                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) lenient = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GCurlTransfer) strict = test_transfer_new_printf (server, "/status/404");
  gboolean fail = TRUE;

  g_object_get (lenient, "fail-on-http-error", &fail, NULL);
  g_assert_false (fail);

  g_object_set (fixture->multi, "fail-on-http-error", TRUE, NULL);
  g_object_set (lenient, "fail-on-http-error", FALSE, NULL);
  test_run_transfer (fixture->multi, lenient);
  g_assert_cmpint (g_curl_transfer_get_state (lenient), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (lenient), ==, 404);

  g_object_set (fixture->multi, "fail-on-http-error", FALSE, NULL);
  g_object_set (strict, "fail-on-http-error", TRUE, NULL);
  test_run_transfer (fixture->multi, strict);
  assert_http_failure (strict);
}

/* send_and_read fails with the error; the page is the transfer's body. */
static void
test_fail_on_http_error_send_and_read (TestFixture   *fixture,
                                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/410");
  g_autoptr(GBytes) page = NULL;
  TestSendAndRead result = { 0, };

  g_object_set (transfer, "fail-on-http-error", TRUE, NULL);
  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb,
                                    &result);
  test_run_until (&result.done);
  g_assert_null (result.bytes);
  g_assert_error (result.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_nonnull (strstr (result.error->message, "410"));
  page = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (page, NULL), g_bytes_get_size (page), "status 410", 10);
  g_clear_error (&result.error);
}

/* send_async's stream gives the error page's bytes, then the read that fails. */
static void
test_fail_on_http_error_stream (TestFixture   *fixture,
                                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  char buffer[64];
  gsize total = 0;
  gssize n;

  g_object_set (transfer, "fail-on-http-error", TRUE, NULL);
  stream = test_send_and_wait (fixture->multi, transfer, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);

  while ((n = g_input_stream_read (stream, buffer + total, sizeof buffer - total, NULL,
                                   &error)) > 0)
    total += (gsize) n;
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_cmpmem (buffer, total, "status 404", 10);
}

#define ADD_TEST(path, func) \
  g_test_add (path, TestFixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/error/transient/http-statuses", test_http_statuses);
  ADD_TEST ("/error/transient/refused", test_refused);
  ADD_TEST ("/error/transient/cut-off", test_cut_off);
  ADD_TEST ("/error/transient/not", test_not_transient);
  g_test_add_func ("/error/transient/recreated", test_recreated);
  ADD_TEST ("/error/fail-on-http-error/multi", test_fail_on_http_error);
  ADD_TEST ("/error/fail-on-http-error/override", test_fail_on_http_error_override);
  ADD_TEST ("/error/fail-on-http-error/send-and-read", test_fail_on_http_error_send_and_read);
  ADD_TEST ("/error/fail-on-http-error/stream", test_fail_on_http_error_stream);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
