/* test-faults.c: the fault matrix: every way a server, the network or the
 * caller can get a request wrong, through every way of running it
 *
 * Each scenario asserts the exact outcome: the final state, the error's
 * domain and code, the status, how many body bytes were delivered (and that
 * they are the right ones), and that "finished" was emitted exactly once.
 * The network and protocol scenarios are one table, run through the three
 * ways of running a transfer:
 *   add            g_curl_multi_add_transfer(), the body in memory
 *   send-and-read  g_curl_multi_send_and_read_async(), the error in the task
 *   stream         g_curl_multi_send_async() and reading the stream: the
 *                  error comes from send_finish() before the headers, and
 *                  from a read after exactly the delivered bytes after them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* How long to keep running after "finished", for a second one to show. */
#define AFTER_FINISHED_MS 50

/* The name nothing resolves: RFC 6761 reserves .invalid. */
#define UNRESOLVABLE_URL "http://gcurl-faults.invalid/"

/* Credentials in URLs, and what they look like in a Basic header. */
#define URL_USERINFO "user:secret"
#define BASIC_CREDENTIALS "dXNlcjpzZWNyZXQ="

/* The fault table */

typedef enum
{
  TARGET_RAW,           /* the raw fault server, at @path */
  TARGET_SOUP,          /* the SoupServer (origin A), at @path */
  TARGET_REFUSED,       /* a port where nothing listens */
  TARGET_BLACKHOLE,     /* a port whose connects never complete */
  TARGET_UNRESOLVABLE,  /* a name that does not resolve */
  TARGET_REDIRECT_RAW,  /* a redirect from origin A to @path on the raw server */
} Target;

typedef enum
{
  API_ADD,
  API_SEND_AND_READ,
  API_STREAM,
} Api;

static const char * const api_names[] = { "add", "send-and-read", "stream" };

typedef struct
{
  const char *name;
  Target      target;
  const char *path;
  /* Settings; 0 leaves the default. */
  guint       stall_timeout;
  guint       connect_timeout;
  guint       timeout;
  int         max_redirects;
  /* The outcome: @code 0 is success, anything else a G_CURL_ERROR. */
  int         code;
  guint       status;
  gboolean    got_headers;  /* the final response's headers came */
  guint64     delivered;    /* body bytes delivered, pattern bytes from 0 */
  const char *text;         /* or, on success, this text body */
  void      (*check) (GCurlTransfer *transfer);  /* more, on success */
} FaultCase;

static void
check_large_header (GCurlTransfer *transfer)
{
  const char *value = g_curl_transfer_get_response_header (transfer, "X-Huge");

  g_assert_nonnull (value);
  g_assert_cmpuint (strlen (value), ==, 100000);
  g_assert_true (g_str_has_prefix (value, "abcdefghijklmnopqrstuvwxyzabc"));
  g_assert_cmpint (value[99999], ==, 'a' + 99999 % 26);
}

static void
check_many_headers (GCurlTransfer *transfer)
{
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-Header-0"), ==, "value-0");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "x-header-2500"), ==, "value-2500");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "X-Header-4999"), ==, "value-4999");
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Header-5000"));
}

/* The interim response's headers are not the response's. */
static void
check_final_headers_only (GCurlTransfer *transfer)
{
  g_assert_null (g_curl_transfer_get_response_header (transfer, "X-Interim"));
  g_assert_null (g_curl_transfer_get_response_header (transfer, "Link"));
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Length"), ==, "1000");
}

static void
check_no_length (GCurlTransfer *transfer)
{
  g_assert_null (g_curl_transfer_get_response_header (transfer, "Content-Length"));
}

static void
check_stray_length (GCurlTransfer *transfer)
{
  /* The header is reported as sent; the bytes it announces are not a body. */
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Length"), ==, "100");
}

#define FAIL(code_) .code = G_CURL_ERROR_##code_

static const FaultCase network_cases[] = {
  { "refused", TARGET_REFUSED, NULL, FAIL (COULDNT_CONNECT) },
  { "unresolvable", TARGET_UNRESOLVABLE, NULL, FAIL (COULDNT_RESOLVE_HOST) },
  { "blackhole-connect", TARGET_BLACKHOLE, NULL, .connect_timeout = 1, FAIL (OPERATION_TIMEDOUT) },
  { "close-mid-headers", TARGET_RAW, "/close-mid-headers", FAIL (PARTIAL_FILE) },
  { "close-after-headers", TARGET_RAW, "/close-mid-body/1000/0", FAIL (PARTIAL_FILE),
    .status = 200, .got_headers = TRUE, .delivered = 0 },
  { "close-mid-body", TARGET_RAW, "/close-mid-body/100000/5000", FAIL (PARTIAL_FILE),
    .status = 200, .got_headers = TRUE, .delivered = 5000 },
  { "reset-after-headers", TARGET_RAW, "/reset/0", FAIL (RECV_ERROR),
    .status = 200, .got_headers = TRUE, .delivered = 0 },
  { "reset-mid-body", TARGET_RAW, "/reset/5000", FAIL (RECV_ERROR),
    .status = 200, .got_headers = TRUE, .delivered = 5000 },
  { "stall-before-headers", TARGET_RAW, "/stall-headers", .stall_timeout = 1,
    FAIL (OPERATION_TIMEDOUT) },
  { "stall-mid-body", TARGET_RAW, "/stall/100000/5000", .stall_timeout = 1,
    FAIL (OPERATION_TIMEDOUT), .status = 200, .got_headers = TRUE, .delivered = 5000 },
  { "request-timeout", TARGET_SOUP, "/delay/5000", .timeout = 1, FAIL (OPERATION_TIMEDOUT) },
  /* A failure after a redirect is the final request's: no headers of the
   * redirect, the bytes of the final response. */
  { "redirect-then-close-mid-body", TARGET_REDIRECT_RAW, "/close-mid-body/100000/5000",
    FAIL (PARTIAL_FILE), .status = 200, .got_headers = TRUE, .delivered = 5000 },
  { "redirect-then-close-mid-headers", TARGET_REDIRECT_RAW, "/close-mid-headers",
    FAIL (PARTIAL_FILE) },
};

static const FaultCase protocol_cases[] = {
  { "garbage", TARGET_RAW, "/garbage", FAIL (UNSUPPORTED_PROTOCOL) },
  { "malformed-chunk", TARGET_RAW, "/chunked-bad", FAIL (RECV_ERROR),
    .status = 200, .got_headers = TRUE },
  /* libcurl takes one header line of at most 100 KiB; 7.88 says "Out of
   * memory" when there is more, later versions CURLE_TOO_LARGE. */
  { "header-over-limit", TARGET_RAW, "/huge-header/102400", FAIL (TOO_LARGE) },
  { "header-under-limit", TARGET_RAW, "/huge-header/100000", .status = 200, .got_headers = TRUE,
    .text = "ok", .check = check_large_header },
  { "many-headers", TARGET_RAW, "/many-headers/5000", .status = 200, .got_headers = TRUE,
    .text = "ok", .check = check_many_headers },
  /* More than 300 KiB of headers in all: refused since libcurl 8.3, and by
   * Debian's 7.88.1 since the fix of CVE-2023-38039 (headers eating all
   * memory); an older libcurl takes them without end. */
  { "headers-over-total-limit", TARGET_RAW, "/many-headers/20000", FAIL (RECV_ERROR) },
  { "interim-100", TARGET_RAW, "/informational/100", .status = 200, .got_headers = TRUE,
    .delivered = 1000, .check = check_final_headers_only },
  { "interim-102", TARGET_RAW, "/informational/102", .status = 200, .got_headers = TRUE,
    .delivered = 1000, .check = check_final_headers_only },
  { "interim-103", TARGET_RAW, "/informational/103", .status = 200, .got_headers = TRUE,
    .delivered = 1000, .check = check_final_headers_only },
  { "no-content-204", TARGET_SOUP, "/status/204", .status = 204, .got_headers = TRUE, .text = "" },
  { "not-modified-304", TARGET_SOUP, "/status/304", .status = 304, .got_headers = TRUE, .text = "" },
  { "stray-body-204", TARGET_RAW, "/stray-body/204", .status = 204, .got_headers = TRUE,
    .text = "", .check = check_no_length },
  { "stray-body-204-length", TARGET_RAW, "/stray-body/204?length=1", .status = 204,
    .got_headers = TRUE, .text = "", .check = check_stray_length },
  { "stray-body-304", TARGET_RAW, "/stray-body/304", .status = 304, .got_headers = TRUE,
    .text = "", .check = check_no_length },
  { "stray-body-304-length", TARGET_RAW, "/stray-body/304?length=1", .status = 304,
    .got_headers = TRUE, .text = "", .check = check_stray_length },
  /* Content-Length is what the body is: the excess is not part of it. */
  { "length-shorter-than-body", TARGET_RAW, "/length-mismatch/100/150", .status = 200,
    .got_headers = TRUE, .delivered = 100 },
  { "length-longer-than-body", TARGET_RAW, "/length-mismatch/150/100", FAIL (PARTIAL_FILE),
    .status = 200, .got_headers = TRUE, .delivered = 100 },
  { "redirect-loop", TARGET_SOUP, "/loop", .max_redirects = 5, FAIL (TOO_MANY_REDIRECTS) },
  { "redirects-over-max", TARGET_SOUP, "/redirect/3", .max_redirects = 2,
    FAIL (TOO_MANY_REDIRECTS) },
  { "redirects-at-max", TARGET_SOUP, "/redirect/3", .max_redirects = 3, .status = 200,
    .got_headers = TRUE, .text = "done" },
};

#undef FAIL

typedef struct
{
  const FaultCase *fault;
  Api              api;
} FaultRun;

static GPtrArray *fault_runs;

static char *
fault_url (const FaultCase *fault)
{
  switch (fault->target)
    {
    case TARGET_RAW:
      return test_server_raw_url (server, "%s", fault->path);
    case TARGET_SOUP:
      return test_server_url (server, "%s", fault->path);
    case TARGET_REFUSED:
      return g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
    case TARGET_BLACKHOLE:
      return g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_blackhole_port (server));
    case TARGET_UNRESOLVABLE:
      return g_strdup (UNRESOLVABLE_URL);
    case TARGET_REDIRECT_RAW:
      {
        g_autofree char *target = test_server_raw_url (server, "%s", fault->path);
        g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);

        return test_server_url (server, "/redirect-to?url=%s", escaped);
      }
    default:
      g_assert_not_reached ();
    }
}

static GCurlTransfer *
fault_transfer_new (const FaultCase *fault)
{
  g_autofree char *url = fault_url (fault);
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  /* Only ever a direct connection, whatever the environment says. */
  g_object_set (transfer, "proxy", "", NULL);
  if (fault->stall_timeout != 0)
    g_object_set (transfer, "stall-timeout", (int) fault->stall_timeout, NULL);
  if (fault->connect_timeout != 0)
    g_object_set (transfer, "connect-timeout", fault->connect_timeout, NULL);
  if (fault->timeout != 0)
    g_object_set (transfer, "timeout", fault->timeout, NULL);
  if (fault->max_redirects != 0)
    g_object_set (transfer, "max-redirects", fault->max_redirects, NULL);

  return transfer;
}

/* Asserts that @data is the body @fault delivers: its text, or its pattern
 * bytes. */
static void
assert_delivered (const FaultCase *fault,
                  const guint8    *data,
                  gsize            len)
{
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;

  if (fault->code == 0 && fault->text != NULL)
    {
      g_assert_cmpmem (data, len, fault->text, strlen (fault->text));
      return;
    }

  g_assert_cmpuint (len, ==, fault->delivered);
  expected = test_pattern_sha256 (0, fault->delivered);
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
  g_assert_cmpstr (actual, ==, expected);
}

/* What all three ways share: the transfer's own account of how it ended. */
static void
assert_transfer_outcome (const FaultCase *fault,
                         GCurlTransfer   *transfer,
                         TestRecorder    *recorder)
{
  /* Anything still to come would come now. */
  test_run_for (AFTER_FINISHED_MS);
  g_assert_cmpuint (recorder->n_finished, ==, 1);
  g_assert_cmpuint (recorder->n_got_headers, ==, fault->got_headers ? 1 : 0);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, fault->status);

  if (fault->code != 0)
    {
      test_assert_transfer_error (transfer, G_CURL_ERROR, fault->code,
                                  G_CURL_TRANSFER_STATE_FAILED);
      g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, fault->delivered);
    }
  else
    {
      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      if (fault->check != NULL)
        fault->check (transfer);
    }
}

static void
run_add (GCurlMulti      *multi,
         const FaultCase *fault,
         GCurlTransfer   *transfer,
         TestRecorder    *recorder)
{
  test_run_transfer (multi, transfer);
  assert_transfer_outcome (fault, transfer, recorder);

  if (fault->code == 0)
    {
      g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

      g_assert_nonnull (body);
      assert_delivered (fault, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
    }
}

static void
run_send_and_read (GCurlMulti      *multi,
                   const FaultCase *fault,
                   GCurlTransfer   *transfer,
                   TestRecorder    *recorder)
{
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_read_async (multi, transfer, NULL, test_send_and_read_cb, &ar);
  test_run_until (&ar.done);
  if (!recorder->finished)
    test_run_until (&recorder->finished);

  if (fault->code != 0)
    {
      g_assert_error (ar.error, G_CURL_ERROR, fault->code);
      g_assert_null (ar.bytes);
      g_clear_error (&ar.error);
    }
  else
    {
      g_assert_no_error (ar.error);
      g_assert_nonnull (ar.bytes);
      assert_delivered (fault, g_bytes_get_data (ar.bytes, NULL), g_bytes_get_size (ar.bytes));
      g_bytes_unref (ar.bytes);
    }
  assert_transfer_outcome (fault, transfer, recorder);
}

static void
run_stream (GCurlMulti      *multi,
            const FaultCase *fault,
            GCurlTransfer   *transfer,
            TestRecorder    *recorder)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = test_send_and_wait (multi, transfer, NULL, &error);
  TestReadAll ra = { 0, };

  if (!fault->got_headers)
    {
      /* No response to stream: the error is send_finish()'s. */
      g_assert_error (error, G_CURL_ERROR, fault->code);
      g_assert_null (stream);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_nonnull (stream);
      test_read_to_end (stream, &ra);
      /* Every byte that came, then the error: never a short EOF. */
      if (fault->code != 0)
        g_assert_error (ra.error, G_CURL_ERROR, fault->code);
      else
        g_assert_no_error (ra.error);
      assert_delivered (fault, ra.data->data, ra.data->len);
      g_clear_error (&ra.error);
      g_byte_array_unref (ra.data);
    }

  if (!recorder->finished)
    test_run_until (&recorder->finished);
  assert_transfer_outcome (fault, transfer, recorder);
  /* Streamed, never collected. */
  if (fault->code == 0)
    g_assert_null (g_curl_transfer_get_body (transfer));
}

/* Each table case, by add, send-and-read or stream, ends in its state, error, status and bytes. */
static void
test_fault (Fixture       *fixture,
            gconstpointer  data)
{
  const FaultRun *run = data;
  g_autoptr(GCurlTransfer) transfer = fault_transfer_new (run->fault);
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  switch (run->api)
    {
    case API_ADD:
      run_add (fixture->multi, run->fault, transfer, &recorder);
      break;
    case API_SEND_AND_READ:
      run_send_and_read (fixture->multi, run->fault, transfer, &recorder);
      break;
    case API_STREAM:
      run_stream (fixture->multi, run->fault, transfer, &recorder);
      break;
    default:
      g_assert_not_reached ();
    }
  test_recorder_clear (&recorder);
}

static void
add_fault_tests (const char      *group,
                 const FaultCase *cases,
                 gsize            n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      for (Api api = API_ADD; api <= API_STREAM; api++)
        {
          FaultRun *run = g_new0 (FaultRun, 1);
          g_autofree char *path = g_strdup_printf ("/faults/%s/%s/%s", group, cases[i].name,
                                                   api_names[api]);

          /* GTest does not free test data: main() does, after the run. */
          g_ptr_array_add (fault_runs, run);
          run->fault = &cases[i];
          run->api = api;
          g_test_add (path, Fixture, run, test_fixture_setup, test_fault, test_fixture_teardown);
        }
    }
}

/* Bad input */

/* A transfer of @url run through @multi: it must fail with @code before
 * anything reaches a server. */
static void
assert_refused_url (GCurlMulti *multi,
                    const char *url,
                    int         code)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  guint before = test_server_get_request_count (server);
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  g_object_set (transfer, "proxy", "", NULL);
  test_run_transfer (multi, transfer);
  test_run_for (AFTER_FINISHED_MS);
  test_assert_transfer_error (transfer, G_CURL_ERROR, code, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpuint (recorder.n_got_headers, ==, 0);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);
  g_assert_cmpuint (test_server_get_request_count (server), ==, before);
  test_recorder_clear (&recorder);
}

/* Malformed URLs fail URL_MALFORMAT (an unknown scheme UNSUPPORTED_PROTOCOL) with nothing sent. */
static void
test_bad_urls (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *space = test_server_url (server, "/echo-headers x");
  g_autofree char *crlf = test_server_url (server, "/echo-headers\r\nX-Injected: 1");
  g_autofree char *tab = test_server_url (server, "/echo\theaders");
  g_autofree char *bad_port = g_strdup_printf ("http://127.0.0.1:%u/", 99999);
  struct {
    const char *url;
    int code;
  } cases[] = {
    { "", G_CURL_ERROR_URL_MALFORMAT },
    { "not a url", G_CURL_ERROR_URL_MALFORMAT },
    { "http://", G_CURL_ERROR_URL_MALFORMAT },
    { "http://[::1", G_CURL_ERROR_URL_MALFORMAT },
    { bad_port, G_CURL_ERROR_URL_MALFORMAT },
    { space, G_CURL_ERROR_URL_MALFORMAT },
    { crlf, G_CURL_ERROR_URL_MALFORMAT },
    { tab, G_CURL_ERROR_URL_MALFORMAT },
    { "://127.0.0.1/", G_CURL_ERROR_URL_MALFORMAT },
    { "nosuchscheme://127.0.0.1/", G_CURL_ERROR_UNSUPPORTED_PROTOCOL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = g_strescape (cases[i].url, NULL);

      g_test_message ("URL “%s”", escaped);
      assert_refused_url (fixture->multi, cases[i].url, cases[i].code);
    }
}

/* A 1 MiB URL fails with G_CURL_ERROR_TOO_LARGE before anything reaches the server.
 * A 1 MiB URL: far more than any server takes. */
static void
test_overlong_url (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GString) url = g_string_new (test_server_get_uri (server));

  g_string_append (url, "/bytes/");
  while (url->len < 1024 * 1024)
    g_string_append_c (url, 'a');
  assert_refused_url (fixture->multi, url->str, G_CURL_ERROR_TOO_LARGE);
}

/* A header with CR/LF or a non-token name is refused with a critical; the request goes without it.
 * A header with a CR or LF, or a name that is not a token, is refused with
 * a critical: it would end the header early and make another header, or
 * another request, of the rest. */
static void
test_bad_headers (Fixture       *fixture,
                  gconstpointer  data)
{
  const struct {
    const char *name;
    const char *value;
  } cases[] = {
    { "X-Bad", "a\rb" },
    { "X-Bad", "a\nb" },
    { "X-Bad", "\r\n" },
    { "X-Bad", "a\r\nX-Injected: 1" },
    { "X-Bad", "a\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1" },
    { "X-Bad\r\nX-Injected", "1" },
    { "X-Bad\n", "1" },
    { "\r\nX-Injected", "1" },
    { "Authorization ", "Bearer injected" },
    { "Authorization :", "Bearer injected" },
    { "X-Bad\x01", "1" },
    { "X-B\xc3\xa4" "d", "1" },
  };
  guint before_smuggled = test_server_get_path_count (server, "/smuggled");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = test_server_url (server, "/echo-headers");
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      g_autofree char *escaped = g_strescape (cases[i].name, NULL);
      g_autoptr(GBytes) body = NULL;
      guint before = test_server_get_request_count (server);
      gsize len;
      const char *text;

      g_test_message ("header “%s”", escaped);
      g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
      g_curl_transfer_set_request_header (transfer, cases[i].name, cases[i].value);
      g_test_assert_expected_messages ();
      /* Refused at once: nothing sent... */
      g_assert_cmpuint (test_server_get_request_count (server), ==, before);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_NEW);

      /* ...and run, exactly one request without it. */
      test_run_transfer (fixture->multi, transfer);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      g_assert_cmpuint (test_server_get_request_count (server), ==, before + 1);
      body = g_curl_transfer_get_body (transfer);
      text = g_bytes_get_data (body, &len);
      g_assert_null (g_strstr_len (text, len, "X-Bad"));
      g_assert_null (g_strstr_len (text, len, "Injected"));
      g_assert_null (g_strstr_len (text, len, "injected"));
    }
  g_assert_cmpuint (test_server_get_path_count (server, "/smuggled"), ==, before_smuggled);
}

/* A method or content type with CR/LF or a space is refused with a critical; a plain GET goes.
 * The method and the body's type go into the request head too. */
static void
test_bad_method_and_type (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/echo");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GBytes) request = g_bytes_new_static ("data", 4);
  g_autoptr(GBytes) body = NULL;
  guint before = test_server_get_request_count (server);
  guint before_smuggled = test_server_get_path_count (server, "/smuggled");

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  g_curl_transfer_set_method (transfer, "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nPUT");
  g_test_assert_expected_messages ();
  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  g_curl_transfer_set_method (transfer, "PUT ");
  g_test_assert_expected_messages ();
  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  g_curl_transfer_set_request_body (transfer, request, "text/plain\r\nX-Injected: 1");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (test_server_get_request_count (server), ==, before);

  /* Neither was taken: a plain GET. */
  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), 6, "GET 0 ", 6);
  g_assert_cmpuint (test_server_get_request_count (server), ==, before + 1);
  g_assert_cmpuint (test_server_get_path_count (server, "/smuggled"), ==, before_smuggled);
}

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_assert_not_reached ();
}

/* NULL where the API takes none: a critical, and nothing happens. */
static void
test_null_arguments (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/10");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  GCurlTransfer *none;
  guint before = test_server_get_request_count (server);

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*url != NULL*");
  none = g_curl_transfer_new (NULL);
  g_test_assert_expected_messages ();
  g_assert_null (none);

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*G_CURL_IS_TRANSFER*");
  g_curl_multi_add_transfer (fixture->multi, NULL);
  g_test_assert_expected_messages ();
  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*G_CURL_IS_TRANSFER*");
  g_curl_multi_send_and_read_async (fixture->multi, NULL, NULL, never_called_cb, NULL);
  g_test_assert_expected_messages ();
  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*G_CURL_IS_TRANSFER*");
  g_curl_multi_send_async (fixture->multi, NULL, NULL, never_called_cb, NULL);
  g_test_assert_expected_messages ();
  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*g_curl_header_name_is_valid*");
  g_curl_transfer_set_request_header (transfer, NULL, "value");
  g_test_assert_expected_messages ();

  test_run_for (AFTER_FINISHED_MS);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_assert_cmpuint (test_server_get_request_count (server), ==, before);

  /* The transfer is untouched and still works. */
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 10);
}

/* file, dict and gopher URLs, direct or by 302/307, fail UNSUPPORTED_PROTOCOL, sending nothing.
 * Schemes other than http and https, asked for or redirected to: refused
 * before anything is read or sent. gopher:// would send its path as is,
 * here an HTTP request to the raw server, which would count it. */
static void
test_disallowed_schemes (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *dict_http = test_server_raw_url (server, "/d:word");
  g_autofree char *gopher_http =
    test_server_raw_url (server, "/_GET%%20/gopher-smuggled%%20HTTP/1.1%%0D%%0A%%0D%%0A");
  /* The raw server's URLs with another scheme. */
  g_autofree char *dict = g_strconcat ("dict", strchr (dict_http, ':'), NULL);
  g_autofree char *gopher = g_strconcat ("gopher", strchr (gopher_http, ':'), NULL);
  const char *targets[] = { "file:///etc/hostname", dict, gopher };
  const guint statuses[] = { 302, 307 };
  guint before_smuggled = test_server_get_path_count (server, "/gopher-smuggled");

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_test_message ("%s", targets[i]);
      assert_refused_url (fixture->multi, targets[i], G_CURL_ERROR_UNSUPPORTED_PROTOCOL);

      for (guint j = 0; j < G_N_ELEMENTS (statuses); j++)
        {
          g_autofree char *escaped = g_uri_escape_string (targets[i], NULL, FALSE);
          g_autofree char *url = test_server_url (server, "/redirect-to?status=%u&url=%s",
                                                  statuses[j], escaped);
          g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
          TestRecorder recorder;
          guint before = test_server_get_request_count (server);

          test_recorder_attach (&recorder, transfer);
          test_run_transfer (fixture->multi, transfer);
          test_run_for (AFTER_FINISHED_MS);
          test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                                      G_CURL_TRANSFER_STATE_FAILED);
          g_assert_cmpuint (recorder.n_finished, ==, 1);
          g_assert_cmpuint (recorder.n_got_headers, ==, 0);
          g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);
          /* The redirect only. */
          g_assert_cmpuint (test_server_get_request_count (server), ==, before + 1);
          test_recorder_clear (&recorder);
        }
    }
  g_assert_cmpuint (test_server_get_path_count (server, "/gopher-smuggled"), ==, before_smuggled);
}

/* A redirect to file:// fails send_and_read and send_async UNSUPPORTED_PROTOCOL, no stream.
 * The same through the async ways: the error in the task, no stream. */
static void
test_disallowed_scheme_async (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/redirect-to?url=%s", "file%3A%2F%2F%2Fetc%2Fhostname");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) streamed = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  TestSendAndRead ar = { 0, };

  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &ar);
  test_run_until (&ar.done);
  g_assert_error (ar.error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_assert_null (ar.bytes);
  g_clear_error (&ar.error);

  stream = test_send_and_wait (fixture->multi, streamed, NULL, &error);
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_assert_null (stream);
  if (g_curl_transfer_get_state (streamed) == G_CURL_TRANSFER_STATE_RUNNING)
    test_run_until_finished (streamed);
  g_assert_cmpint (g_curl_transfer_get_state (streamed), ==, G_CURL_TRANSFER_STATE_FAILED);
}

/* Credentials across redirects */

static char *
body_text (GCurlTransfer *transfer)
{
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  return test_body_string (transfer);
}

/* http://user:secret@A/PATH */
static char *
url_with_userinfo (const char *path)
{
  g_autofree char *url = test_server_url (server, "%s", path);

  g_assert_true (g_str_has_prefix (url, "http://"));
  return g_strconcat ("http://" URL_USERINFO "@", url + strlen ("http://"), NULL);
}

/* Where a redirect from A sends the client: the /echo-headers of @base
 * (which ends without a '/'), through a Location @status. */
static char *
redirect_path (const char *base,
               guint       status)
{
  g_autofree char *target = g_strconcat (base, "/echo-headers", NULL);
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);

  return g_strdup_printf ("/redirect-to?status=%u&url=%s", status, escaped);
}

static char *
echo_via (GCurlMulti *multi,
          const char *url)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  test_run_transfer (multi, transfer);
  return body_text (transfer);
}

/* URL credentials reach the same origin, by redirect too, never another origin nor A after B.
 * Credentials in the URL belong to its origin, as the application's
 * headers do: a redirect to the same origin keeps them, one to another
 * origin (another host or port, or a scheme-relative Location) drops them,
 * and so does coming back from there. */
static void
test_url_credentials (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *direct_url = url_with_userinfo ("/echo-headers");
  g_autofree char *direct = echo_via (fixture->multi, direct_url);
  g_autofree char *same_path = redirect_path (test_server_get_uri (server), 302);
  g_autofree char *same_url = url_with_userinfo (same_path);
  g_autofree char *same = echo_via (fixture->multi, same_url);
  g_autofree char *relative_url = url_with_userinfo ("/redirect-to?url=%2Fecho-headers");
  g_autofree char *relative = echo_via (fixture->multi, relative_url);
  g_autofree char *back_target = test_server_url (server, "/echo-headers");
  g_autofree char *back_escaped = g_uri_escape_string (back_target, NULL, FALSE);
  g_autofree char *back_path = g_strdup_printf ("/redirect-to?url=%s", back_escaped);
  g_autofree char *back_from_b = test_server_url2 (server, "%s", back_path);
  g_autofree char *back_escaped2 = g_uri_escape_string (back_from_b, NULL, FALSE);
  g_autofree char *there_path = g_strdup_printf ("/redirect-to?url=%s", back_escaped2);
  g_autofree char *there_url = url_with_userinfo (there_path);
  g_autofree char *there_and_back = echo_via (fixture->multi, there_url);
  g_autofree char *host_b = g_strdup (test_server_get_uri2 (server));
  /* "//127.0.0.1:PORT": another origin, with the scheme of the first. */
  const char *others[] = {
    test_server_get_uri2 (server),
    test_server_get_raw_uri (server),
    host_b + strlen ("http:"),
  };
  const guint statuses[] = { 301, 302, 303, 307, 308 };

  /* They are used: the test below could see them. */
  g_assert_nonnull (strstr (direct, "Authorization: Basic " BASIC_CREDENTIALS));
  g_assert_nonnull (strstr (same, "Authorization: Basic " BASIC_CREDENTIALS));
  g_assert_nonnull (strstr (relative, "Authorization: Basic " BASIC_CREDENTIALS));
  /* A to B to A: B never had them, and A does not get them back. */
  g_assert_nonnull (strstr (there_and_back, "method: GET"));
  g_assert_null (strstr (there_and_back, BASIC_CREDENTIALS));

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      for (guint j = 0; j < G_N_ELEMENTS (statuses); j++)
        {
          g_autofree char *path = redirect_path (others[i], statuses[j]);
          g_autofree char *url = url_with_userinfo (path);
          g_autofree char *echo = echo_via (fixture->multi, url);
          g_autofree char *lower = g_ascii_strdown (echo, -1);

          g_test_message ("%u to %s", statuses[j], others[i]);
          g_assert_nonnull (strstr (echo, "method: GET"));
          g_assert_null (strstr (echo, BASIC_CREDENTIALS));
          g_assert_null (strstr (lower, "authorization"));
        }
    }
}

/* Redirect-loop and stall error messages name the URL but not its password.
 * Messages name the URL without its password, which would otherwise go
 * wherever the application logs its errors. */
static void
test_url_credentials_not_in_messages (Fixture       *fixture,
                                      gconstpointer  data)
{
  g_autofree char *loop_url = url_with_userinfo ("/loop");
  g_autofree char *stall_url = test_server_raw_url (server, "/stall/1000/10");
  g_autofree char *stall_with = g_strconcat ("http://" URL_USERINFO "@",
                                             stall_url + strlen ("http://"), NULL);
  g_autoptr(GCurlTransfer) loop = g_curl_transfer_new (loop_url);
  g_autoptr(GCurlTransfer) stall = g_curl_transfer_new (stall_with);
  const char *message;

  g_object_set (loop, "max-redirects", 2, NULL);
  test_run_transfer (fixture->multi, loop);
  test_assert_transfer_error (loop, G_CURL_ERROR, G_CURL_ERROR_TOO_MANY_REDIRECTS,
                              G_CURL_TRANSFER_STATE_FAILED);
  message = g_curl_transfer_get_error (loop)->message;
  g_assert_nonnull (strstr (message, "/loop"));
  g_assert_null (strstr (message, "secret"));

  g_object_set (stall, "stall-timeout", 1, NULL);
  test_run_transfer (fixture->multi, stall);
  test_assert_transfer_error (stall, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  message = g_curl_transfer_get_error (stall)->message;
  g_assert_nonnull (strstr (message, "/stall/1000/10"));
  g_assert_null (strstr (message, "secret"));
}

/* The application's own secrets: every header it set stays with the
 * origin it was set for, whatever its name, whatever the redirect. */
static GCurlTransfer *
transfer_with_secrets (const char *url)
{
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  g_curl_transfer_set_request_header (transfer, "Authorization", "Bearer secret-auth");
  g_curl_transfer_set_request_header (transfer, "Cookie", "session=secret-cookie");
  g_curl_transfer_set_request_header (transfer, "X-Api-Key", "secret-key");
  g_curl_transfer_set_request_header (transfer, "Proxy-Authorization", "Basic secret-proxy");
  g_curl_transfer_set_request_header (transfer, "x-custom-token", "secret-custom");
  return transfer;
}

/* The application's secret headers follow a same-origin redirect; none reach another origin. */
static void
test_header_credentials (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *others[] = { test_server_get_uri2 (server), test_server_get_raw_uri (server) };
  const guint statuses[] = { 301, 302, 303, 307, 308 };
  g_autofree char *same_path = redirect_path (test_server_get_uri (server), 302);
  g_autofree char *same_url = test_server_url (server, "%s", same_path);
  g_autoptr(GCurlTransfer) same = transfer_with_secrets (same_url);
  g_autofree char *same_echo = NULL;

  /* Same origin: all of them follow. */
  test_run_transfer (fixture->multi, same);
  same_echo = body_text (same);
  g_assert_nonnull (strstr (same_echo, "Bearer secret-auth"));
  g_assert_nonnull (strstr (same_echo, "secret-cookie"));
  g_assert_nonnull (strstr (same_echo, "secret-key"));
  g_assert_nonnull (strstr (same_echo, "secret-proxy"));
  g_assert_nonnull (strstr (same_echo, "secret-custom"));

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      for (guint j = 0; j < G_N_ELEMENTS (statuses); j++)
        {
          g_autofree char *path = redirect_path (others[i], statuses[j]);
          g_autofree char *url = test_server_url (server, "%s", path);
          g_autoptr(GCurlTransfer) transfer = transfer_with_secrets (url);
          g_autofree char *echo = NULL;

          g_test_message ("%u to %s", statuses[j], others[i]);
          test_run_transfer (fixture->multi, transfer);
          echo = body_text (transfer);
          g_assert_nonnull (strstr (echo, "method: GET"));
          g_assert_null (strstr (echo, "secret"));
        }
    }
}

/* Headers dropped on a redirect to origin B are not sent again when B redirects back to A.
 * Once the request has left its origin, coming back by a redirect the
 * other origin chose does not bring the headers back. */
static void
test_header_credentials_there_and_back (Fixture       *fixture,
                                        gconstpointer  data)
{
  g_autofree char *back = redirect_path (test_server_get_uri (server), 302);
  g_autofree char *back_url = test_server_url2 (server, "%s", back);
  g_autofree char *escaped = g_uri_escape_string (back_url, NULL, FALSE);
  g_autofree char *url = test_server_url (server, "/redirect-to?url=%s", escaped);
  g_autoptr(GCurlTransfer) transfer = transfer_with_secrets (url);
  g_autofree char *echo = NULL;
  guint before = test_server_get_path_count (server, "/echo-headers");

  test_run_transfer (fixture->multi, transfer);
  echo = body_text (transfer);
  g_assert_cmpuint (test_server_get_path_count (server, "/echo-headers"), ==, before + 1);
  g_assert_null (strstr (echo, "secret"));
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

  fault_runs = g_ptr_array_new_with_free_func (g_free);
  add_fault_tests ("network", network_cases, G_N_ELEMENTS (network_cases));
  add_fault_tests ("protocol", protocol_cases, G_N_ELEMENTS (protocol_cases));
  ADD_TEST ("/faults/input/bad-urls", test_bad_urls);
  ADD_TEST ("/faults/input/overlong-url", test_overlong_url);
  ADD_TEST ("/faults/input/bad-headers", test_bad_headers);
  ADD_TEST ("/faults/input/bad-method-and-type", test_bad_method_and_type);
  ADD_TEST ("/faults/input/null-arguments", test_null_arguments);
  ADD_TEST ("/faults/input/disallowed-schemes", test_disallowed_schemes);
  ADD_TEST ("/faults/input/disallowed-scheme-async", test_disallowed_scheme_async);
  ADD_TEST ("/faults/credentials/url", test_url_credentials);
  ADD_TEST ("/faults/credentials/not-in-messages", test_url_credentials_not_in_messages);
  ADD_TEST ("/faults/credentials/headers", test_header_credentials);
  ADD_TEST ("/faults/credentials/there-and-back", test_header_credentials_there_and_back);

  ret = g_test_run ();
  test_server_free (server);
  g_ptr_array_unref (fault_runs);

  return ret;
}
