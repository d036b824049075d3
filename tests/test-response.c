/* test-response.c: what a transfer's final response said
 *
 * The status, reason phrase, headers (joined, every value, their names)
 * and effective URL of GCurlTransfer (libgcurlmulti/gcurl-response.c),
 * against the test servers: only the final response counts, never a 1xx,
 * a redirect or trailers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

static char *
join (char **strv)
{
  return strv != NULL ? g_strjoinv ("|", strv) : g_strdup ("(null)");
}

/* The reason phrase of the final status line, as sent; NULL before the headers. */
static void
test_reason_phrase (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) not_found = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GCurlTransfer) ok = test_transfer_new_printf (server, "/status/200");

  g_assert_null (g_curl_transfer_get_reason_phrase (not_found));
  test_run_transfer (fixture->multi, not_found);
  g_assert_cmpuint (g_curl_transfer_get_status_code (not_found), ==, 404);
  g_assert_cmpstr (g_curl_transfer_get_reason_phrase (not_found), ==, "Not Found");

  test_run_transfer (fixture->multi, ok);
  g_assert_cmpstr (g_curl_transfer_get_reason_phrase (ok), ==, "OK");
}

/* A Latin-1 reason phrase comes out as valid UTF-8, its odd bytes replaced. */
static void
test_reason_phrase_latin1 (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/cookies");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  const char *reason;

  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 299);
  reason = g_curl_transfer_get_reason_phrase (transfer);
  g_assert_true (g_utf8_validate (reason, -1, NULL));
  g_assert_cmpstr (reason, ==, "Caf\xef\xbf\xbd Cr\xef\xbf\xbdme");
}

/* The reason of a 1xx or of a redirect followed is never the final one's. */
static void
test_reason_phrase_final_only (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/informational/103");
  g_autoptr(GCurlTransfer) interim = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) redirected = test_transfer_new_printf (server, "/redirect/1");

  test_run_transfer (fixture->multi, interim);
  g_assert_cmpuint (g_curl_transfer_get_status_code (interim), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_reason_phrase (interim), ==, "OK");

  test_run_transfer (fixture->multi, redirected);
  g_assert_cmpuint (g_curl_transfer_get_status_code (redirected), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_reason_phrase (redirected), ==, "OK");
}

/* Two Set-Cookie with Expires dates stay two values, in order; the joined form has both. */
static void
test_header_values (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/cookies");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_auto(GStrv) cookies = NULL;
  g_auto(GStrv) other = NULL;
  g_auto(GStrv) missing = NULL;

  g_assert_null (g_curl_transfer_get_response_header_values (transfer, "Set-Cookie"));
  test_run_transfer (fixture->multi, transfer);

  cookies = g_curl_transfer_get_response_header_values (transfer, "SET-COOKIE");
  g_assert_nonnull (cookies);
  g_assert_cmpuint (g_strv_length (cookies), ==, 2);
  g_assert_cmpstr (cookies[0], ==, "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/");
  g_assert_cmpstr (cookies[1], ==, "b=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT");
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "set-cookie"), ==,
                   "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/, "
                   "b=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT");

  other = g_curl_transfer_get_response_header_values (transfer, "X-Other");
  g_assert_cmpuint (g_strv_length (other), ==, 1);
  g_assert_cmpstr (other[0], ==, "x");
  missing = g_curl_transfer_get_response_header_values (transfer, "X-Missing");
  g_assert_null (missing);
}

/* Header names come once each, in first order and spelling; no 1xx, no trailer. */
static void
test_list_headers (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *forms_url = test_server_raw_url (server, "/header-forms");
  g_autofree char *cookies_url = test_server_raw_url (server, "/cookies");
  g_autoptr(GCurlTransfer) forms = g_curl_transfer_new (forms_url);
  g_autoptr(GCurlTransfer) cookies = g_curl_transfer_new (cookies_url);
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) cookie_names = NULL;
  g_auto(GStrv) multi = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *cookie_joined = NULL;
  g_autofree char *multi_joined = NULL;

  before = g_curl_transfer_list_response_headers (forms);
  g_assert_nonnull (before);
  g_assert_cmpuint (g_strv_length (before), ==, 0);

  test_run_transfer (fixture->multi, forms);
  names = g_curl_transfer_list_response_headers (forms);
  joined = join (names);
  g_assert_cmpstr (joined, ==, "Connection|X-Folded|X-Multi|X-Spaces|Transfer-Encoding");
  multi = g_curl_transfer_get_response_header_values (forms, "X-Multi");
  multi_joined = join (multi);
  g_assert_cmpstr (multi_joined, ==, "a|b");

  test_run_transfer (fixture->multi, cookies);
  cookie_names = g_curl_transfer_list_response_headers (cookies);
  cookie_joined = join (cookie_names);
  g_assert_cmpstr (cookie_joined, ==, "Connection|Set-Cookie|X-Other|Content-Length");
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

/* The effective URL is the last hop's, without a password; notified per hop and per new run. */
static void
test_effective_url (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *base = g_strdup (test_server_get_uri (server));
  g_autoptr(GUri) uri = g_uri_parse (base, G_URI_FLAGS_NONE, NULL);
  g_autofree char *with_password = g_strdup_printf ("http://user:secret@%s:%d/redirect/2",
                                                    g_uri_get_host (uri), g_uri_get_port (uri));
  g_autofree char *last = g_strdup_printf ("http://user@%s:%d/redirect/0",
                                           g_uri_get_host (uri), g_uri_get_port (uri));
  g_autofree char *first = g_strdup_printf ("http://user@%s:%d/redirect/2",
                                            g_uri_get_host (uri), g_uri_get_port (uri));
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (with_password);
  g_autofree char *property = NULL;
  guint notified = 0;

  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, first);
  g_signal_connect (transfer, "notify::effective-url", G_CALLBACK (count_notify), &notified);

  test_run_transfer (fixture->multi, transfer);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, last);
  g_object_get (transfer, "effective-url", &property, NULL);
  g_assert_cmpstr (property, ==, last);
  g_assert_null (strstr (property, "secret"));
  g_assert_cmpuint (notified, ==, 2);

  /* A new run starts from the first URL again. */
  notified = 0;
  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, first);
  test_run_until_finished (transfer);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, last);
  g_assert_cmpuint (notified, ==, 3);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/response/reason-phrase", test_reason_phrase);
  ADD_TEST ("/response/reason-phrase/latin1", test_reason_phrase_latin1);
  ADD_TEST ("/response/reason-phrase/final-only", test_reason_phrase_final_only);
  ADD_TEST ("/response/header-values", test_header_values);
  ADD_TEST ("/response/list-headers", test_list_headers);
  ADD_TEST ("/response/effective-url", test_effective_url);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
