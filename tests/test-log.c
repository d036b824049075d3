/* test-log.c: log-level, the traffic of a multi's transfers in the log
 *
 * The line making of libgcurlmulti/gcurl-log.c from tables (what libcurl's
 * debug callback gives, what each level keeps, what is redacted), then
 * real transfers with a log handler of the test's own: the lines, that no
 * credential is in them, and that none is emitted inside libcurl.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "gcurl-log-private.h"
#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

static char *
lines_of (GCurlLog *log)
{
  g_autoptr(GPtrArray) lines = g_curl_log_steal_lines (log);
  GString *joined = g_string_new (NULL);

  for (guint i = 0; lines != NULL && i < lines->len; i++)
    g_string_append_printf (joined, "%s%s", i > 0 ? "|" : "", (char *) lines->pdata[i]);

  return g_string_free (joined, FALSE);
}

#define REQUEST "GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic c2VjcmV0\r\ncookie: s=1\r\n\r\n"

/* Each level keeps what it says: request and status lines, then headers (credentials redacted), then bodies. */
static void
test_levels (void)
{
  static const struct { GCurlLogLevel level; const char *expected; } cases[] = {
    { G_CURL_LOG_MINIMAL, "> GET /a HTTP/1.1|< HTTP/1.1 200 OK" },
    { G_CURL_LOG_HEADERS, "> GET /a HTTP/1.1|> Host: h|> Authorization: [redacted]|"
                          "> cookie: [redacted]|* Connected|< HTTP/1.1 200 OK|"
                          "< Set-Cookie: [redacted]|< X-Other: fine" },
    { G_CURL_LOG_BODY,    "> GET /a HTTP/1.1|> Host: h|> Authorization: [redacted]|"
                          "> cookie: [redacted]|* Connected|< HTTP/1.1 200 OK|"
                          "< Set-Cookie: [redacted]|< X-Other: fine|< body 3 bytes: \"a\\nb\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GCurlLog log;
      g_autofree char *joined = NULL;

      g_curl_log_init (&log);
      log.level = cases[i].level;
      g_curl_log_record (&log, CURLINFO_HEADER_OUT, REQUEST, strlen (REQUEST));
      g_curl_log_record (&log, CURLINFO_TEXT, "Connected\n", 10);
      g_curl_log_record (&log, CURLINFO_HEADER_IN, "HTTP/1.1 200 OK\r\n", 17);
      g_curl_log_record (&log, CURLINFO_HEADER_IN, "Set-Cookie: id=secret; Path=/\r\n", 31);
      g_curl_log_record (&log, CURLINFO_HEADER_IN, "X-Other: fine\r\n", 15);
      g_curl_log_record (&log, CURLINFO_HEADER_IN, "\r\n", 2);
      g_curl_log_record (&log, CURLINFO_SSL_DATA_IN, "xx", 2);
      g_curl_log_record (&log, CURLINFO_DATA_IN, "a\nb", 3);
      joined = lines_of (&log);
      g_assert_cmpstr (joined, ==, cases[i].expected);
      g_assert_null (strstr (joined, "secret"));
      g_assert_null (strstr (joined, "c2VjcmV0"));
      g_curl_log_clear (&log);
    }
}

/* Exactly the four credential headers are redacted, in any case; a line without a colon is kept. */
static void
test_redact (void)
{
  static const struct { const char *line, *expected; } cases[] = {
    { "Authorization: Bearer x", "Authorization: [redacted]" },
    { "PROXY-AUTHORIZATION: Basic x", "PROXY-AUTHORIZATION: [redacted]" },
    { "Cookie: a=b", "Cookie: [redacted]" },
    { "set-cookie: a=b", "set-cookie: [redacted]" },
    { "Authorization-Hint: shown", "Authorization-Hint: shown" },
    { "X-Cookie: shown", "X-Cookie: shown" },
    { "no colon", "no colon" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *redacted = g_curl_log_redact (cases[i].line);

      g_assert_cmpstr (redacted, ==, cases[i].expected);
    }
}

/* GCURL_DEBUG's words, any case; anything else is none. */
static void
test_level_from_string (void)
{
  g_assert_cmpint (g_curl_log_level_from_string ("minimal"), ==, G_CURL_LOG_MINIMAL);
  g_assert_cmpint (g_curl_log_level_from_string ("HEADERS"), ==, G_CURL_LOG_HEADERS);
  g_assert_cmpint (g_curl_log_level_from_string ("body"), ==, G_CURL_LOG_BODY);
  g_assert_cmpint (g_curl_log_level_from_string ("all"), ==, G_CURL_LOG_NONE);
  g_assert_cmpint (g_curl_log_level_from_string (""), ==, G_CURL_LOG_NONE);
  g_assert_cmpint (g_curl_log_level_from_string (NULL), ==, G_CURL_LOG_NONE);
}

/* Real transfers */

typedef struct
{
  GPtrArray *lines;
  CURLM     *handle;        /* the multi's: asked whether we are inside libcurl */
  guint      inside_curl;   /* messages emitted from inside a libcurl callback */
} Capture;

static Capture capture;

static void
log_handler (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
  long timeout = 0;

  if (capture.lines == NULL)
    return;
  g_ptr_array_add (capture.lines, g_strdup (message));
  /* libcurl refuses any multi call from inside its callbacks. */
  if (capture.handle != NULL &&
      curl_multi_timeout (capture.handle, &timeout) == CURLM_RECURSIVE_API_CALL)
    capture.inside_curl++;
}

static gboolean
captured (const char *needle)
{
  for (guint i = 0; i < capture.lines->len; i++)
    if (strstr (capture.lines->pdata[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

/* log-level headers logs a transfer's request, status and headers, names it, never a credential. */
static void
test_headers_logged (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/cookies");
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *with_password = g_strdup_printf ("http://joe:pa55word@%s:%d/cookies",
                                                    g_uri_get_host (uri), g_uri_get_port (uri));
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (with_password);
  g_autofree char *name = NULL;

  capture.lines = g_ptr_array_new_with_free_func (g_free);
  capture.handle = g_curl_multi_get_handle (fixture->multi);
  capture.inside_curl = 0;
  g_object_set (fixture->multi, "log-level", G_CURL_LOG_HEADERS, NULL);
  g_curl_transfer_set_request_header (transfer, "Cookie", "session=t0ps3cret");
  g_curl_transfer_set_request_header (transfer, "X-Visible", "yes");
  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 299);

  name = g_strdup_printf ("%p ", transfer);
  g_assert_true (captured ("> GET /cookies HTTP/1.1"));
  g_assert_true (captured ("> X-Visible: yes"));
  g_assert_true (captured ("> Cookie: [redacted]"));
  g_assert_true (captured ("> Authorization: [redacted]"));
  g_assert_true (captured ("< HTTP/1.1 299"));
  g_assert_true (captured ("< Set-Cookie: [redacted]"));
  g_assert_true (captured ("< set-cookie: [redacted]"));
  g_assert_true (captured ("< X-Other: x"));
  g_assert_true (captured (" ms (name lookup "));
  for (guint i = 0; i < capture.lines->len; i++)
    {
      const char *line = capture.lines->pdata[i];

      g_assert_true (g_str_has_prefix (line, name));
      g_assert_null (strstr (line, "t0ps3cret"));
      g_assert_null (strstr (line, "pa55word"));
      g_assert_null (strstr (line, "a=1"));
      g_assert_null (strstr (line, "am9lOnBhNTV3b3Jk"));   /* joe:pa55word in Basic */
    }
  g_assert_cmpuint (capture.inside_curl, ==, 0);
  g_clear_pointer (&capture.lines, g_ptr_array_unref);
  capture.handle = NULL;
}

/* The default is none: not one line, whatever the transfer does. */
static void
test_none_by_default (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/100");
  GCurlLogLevel level = G_CURL_LOG_BODY;

  g_object_get (fixture->multi, "log-level", &level, NULL);
  g_assert_cmpint (level, ==, G_CURL_LOG_NONE);
  capture.lines = g_ptr_array_new_with_free_func (g_free);
  test_run_transfer (fixture->multi, transfer);
  g_assert_false (captured ("> GET"));
  g_clear_pointer (&capture.lines, g_ptr_array_unref);
}

/* GCURL_DEBUG sets the level of multis made after it; minimal keeps headers out. */
static void
test_from_environment (void)
{
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/headers");
  GCurlLogLevel level = G_CURL_LOG_NONE;

  g_setenv ("GCURL_DEBUG", "minimal", TRUE);
  multi = g_curl_multi_new ();
  g_unsetenv ("GCURL_DEBUG");
  g_object_get (multi, "log-level", &level, NULL);
  g_assert_cmpint (level, ==, G_CURL_LOG_MINIMAL);

  capture.lines = g_ptr_array_new_with_free_func (g_free);
  test_run_transfer (multi, transfer);
  g_assert_true (captured ("> GET /headers HTTP/1.1"));
  g_assert_true (captured ("< HTTP/1.1 200 OK"));
  g_assert_false (captured ("X-Multi"));
  g_clear_pointer (&capture.lines, g_ptr_array_unref);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_unsetenv ("GCURL_DEBUG");
  g_test_init (&argc, &argv, NULL);
  g_log_set_handler ("GCurl", G_LOG_LEVEL_DEBUG, log_handler, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  g_test_add_func ("/log/levels", test_levels);
  g_test_add_func ("/log/redact", test_redact);
  g_test_add_func ("/log/level-from-string", test_level_from_string);
  ADD_TEST ("/log/headers-logged", test_headers_logged);
  ADD_TEST ("/log/none-by-default", test_none_by_default);
  g_test_add_func ("/log/from-environment", test_from_environment);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
