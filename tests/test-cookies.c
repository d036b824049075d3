/* test-cookies.c: a multi's cookie jar and HSTS cache (cookie-file, hsts-file)
 *
 * The cookie tests use the test server's /set-cookie and /echo-headers;
 * host names other than 127.0.0.1 (www.example.test…) reach it through
 * CURLOPT_RESOLVE on the transfer's handle. The HSTS tests start a TLS
 * SoupServer of their own, on its own thread, with a certificate for
 * localhost and sub.localhost made by openssl (skipped without openssl):
 * libcurl 7.88 ignores Strict-Transport-Security from IP addresses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sys/stat.h>

#include "test-util.h"

static TestServer *server;
static guint16 server_port;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* Helpers */

/* A transfer of @url, with @host (if not NULL) resolving to 127.0.0.1 on
 * @port. */
static GCurlTransfer *
transfer_new (const char *url,
              const char *host,
              guint16     port)
{
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  if (host != NULL)
    {
      g_autofree char *entry = g_strdup_printf ("%s:%u:127.0.0.1", host, port);
      struct curl_slist *resolve = curl_slist_append (NULL, entry);

      /* libcurl copies the list's entries when the transfer starts; the
       * list itself must live as long as the handle. */
      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_RESOLVE, resolve);
      g_object_set_data_full (G_OBJECT (transfer), "resolve", resolve,
                              (GDestroyNotify) curl_slist_free_all);
    }

  return transfer;
}

/* Runs a GET of @path on the test server (as @host if not NULL) and
 * returns its body; the transfer must succeed with 200. */
static char *
get_body (GCurlMulti *multi,
          const char *host,
          const char *path)
{
  g_autofree char *url = g_strdup_printf ("http://%s:%u%s", host != NULL ? host : "127.0.0.1",
                                          server_port, path);
  g_autoptr(GCurlTransfer) transfer = transfer_new (url, host, server_port);

  test_run_transfer (multi, transfer);
  g_assert_no_error (g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  return test_body_string (transfer);
}

/* The Cookie header /echo-headers saw, or NULL if there was none. */
static char *
sent_cookie (GCurlMulti *multi,
             const char *host,
             const char *path)
{
  g_autofree char *body = get_body (multi, host, path);
  g_auto(GStrv) lines = g_strsplit (body, "\n", -1);
  char *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], "Cookie: ", 8) == 0)
      {
        g_assert_null (found);
        found = g_strdup (lines[i] + 8);
      }

  return found;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The multi's cookies, sorted, joined by "\n" ("" for none). */
static char *
cookies_of (GCurlMulti *multi)
{
  g_auto(GStrv) cookies = g_curl_multi_get_cookies (multi);

  g_assert_nonnull (cookies);
  qsort (cookies, g_strv_length (cookies), sizeof (char *), compare_strings);
  return g_strjoinv ("\n", cookies);
}

static char *
make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("gcurl-test-cookies-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* The names in @dir, sorted, joined by " ". */
static char *
dir_listing (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Iterates the main context until @path exists with contents other than
 * @old (NULL: any), and returns them. */
static char *
wait_for_file (const char *path,
               const char *old)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL) && g_strcmp0 (contents, old) != 0)
        return contents;
      g_free (contents);
      test_run_for (20);
    }
  g_error ("%s was not written", path);
}

static void
write_file (const char *path,
            const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
assert_mode_0600 (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

#define COOKIE_FILE_HEADER "# Netscape HTTP Cookie File\n"
/* GCURL_JAR_SAVE_DELAY_MS, the delay of a save after a response. */
#define JAR_SAVE_DELAY_MS 200

/* Cookies off */

/* Without cookie-file a multi has no cookie engine: a Set-Cookie is not kept, none is sent, and the cookie functions do nothing. */
static void
test_off_by_default (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *cookie_file = NULL;
  g_autofree char *body = NULL;
  g_autofree char *cookie = NULL;
  g_autofree char *cookies = NULL;

  g_object_get (fixture->multi, "cookie-file", &cookie_file, NULL);
  g_assert_null (cookie_file);

  body = get_body (fixture->multi, NULL, "/set-cookie?c=a%3D1");
  g_assert_cmpstr (body, ==, "ok");
  cookie = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_null (cookie);

  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "b=2");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");
  g_clear_pointer (&cookie, g_free);
  cookie = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_null (cookie);
  g_curl_multi_clear_cookies (fixture->multi);
}

/* In memory */

/* With cookie-file "" a cookie set by one transfer is sent by the next, and listed as its exact Netscape line. */
static void
test_memory_across_transfers (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *body = NULL;
  g_autofree char *cookie = NULL;
  g_autofree char *cookies = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  body = get_body (fixture->multi, NULL, "/set-cookie?c=a%3D1");
  cookie = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_cmpstr (cookie, ==, "a=1");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1");
}

/* A Set-Cookie on a 302 the library follows is sent with the request to where it leads. */
static void
test_memory_redirect (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *body = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  body = get_body (fixture->multi, NULL, "/set-cookie?c=hop%3D1&location=/echo-headers");
  g_assert_nonnull (strstr (body, "\nCookie: hop=1\n"));
}

/* Domain, Path, Secure, HttpOnly, Expires and Max-Age from responses reach the listed lines exactly. */
static void
test_memory_lines (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *body = NULL;
  g_autofree char *cookies = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 expiry;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  body = get_body (fixture->multi, "www.example.test",
                   "/set-cookie"
                   "?c=dom%3Dd%3B%20Domain%3Dexample.test%3B%20Path%3D%2Fx"
                   "&c=exp%3De%3B%20Expires%3DWed%2C%2001%20Jan%202031%2000%3A00%3A00%20GMT%3B%20HttpOnly"
                   "&c=age%3Dm%3B%20Max-Age%3D3600");
  cookies = cookies_of (fixture->multi);
  lines = g_strsplit (cookies, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_cmpstr (lines[0], ==, "#HttpOnly_www.example.test\tFALSE\t/\tFALSE\t1924992000\texp\te");
  g_assert_cmpstr (lines[1], ==, ".example.test\tTRUE\t/x\tFALSE\t0\tdom\td");
  g_assert_true (g_str_has_prefix (lines[2], "www.example.test\tFALSE\t/\tFALSE\t"));
  g_assert_true (g_str_has_suffix (lines[2], "\tage\tm"));
  expiry = g_ascii_strtoll (strchr (lines[2] + strlen ("www.example.test\tFALSE\t/\tFALSE"), '\t') + 1, NULL, 10);
  g_assert_cmpint (expiry, >=, now + 3600);
  g_assert_cmpint (expiry, <=, now + 3600 + 60);
}

/* add_cookie: a cookie without Domain is host-only, one with Domain is sent to the hosts of that domain. */
static void
test_add_host_only_and_domain (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *cookies = NULL;
  g_autofree char *www = NULL;
  g_autofree char *sub = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  g_curl_multi_add_cookie (fixture->multi, "http://www.example.test/", "host=1");
  g_curl_multi_add_cookie (fixture->multi, "http://www.example.test/", "dom=2; Domain=.example.test");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==,
                   ".example.test\tTRUE\t/\tFALSE\t0\tdom\t2\n"
                   "www.example.test\tFALSE\t/\tFALSE\t0\thost\t1");

  www = sent_cookie (fixture->multi, "www.example.test", "/echo-headers");
  g_assert_true (g_strcmp0 (www, "host=1; dom=2") == 0 || g_strcmp0 (www, "dom=2; host=1") == 0);
  sub = sent_cookie (fixture->multi, "sub.example.test", "/echo-headers");
  g_assert_cmpstr (sub, ==, "dom=2");
}

/* add_cookie: without Path the cookie's path is the URL's directory (RFC 6265), and it is sent only below it. */
static void
test_add_default_path (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *cookies = NULL;
  g_autofree char *below = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/echo-headers/page?q=1", "p=1");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "127.0.0.1\tFALSE\t/echo-headers\tFALSE\t0\tp\t1");
  below = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_cmpstr (below, ==, "p=1");
  g_clear_pointer (&cookies, g_free);
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/a/b", "q=1; Path=/elsewhere");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==,
                   "127.0.0.1\tFALSE\t/echo-headers\tFALSE\t0\tp\t1\n"
                   "127.0.0.1\tFALSE\t/elsewhere\tFALSE\t0\tq\t1");
  g_clear_pointer (&below, g_free);
  below = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_cmpstr (below, ==, "p=1");
}

/* add_cookie: a Secure cookie is kept from an https URL and never sent over http (to a host other than localhost). */
static void
test_add_secure_not_over_http (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *cookies = NULL;
  g_autofree char *sent = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  g_curl_multi_add_cookie (fixture->multi, "https://www.example.test/", "s=1; Secure; HttpOnly");
  g_curl_multi_add_cookie (fixture->multi, "https://www.example.test/", "p=1");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==,
                   "#HttpOnly_www.example.test\tFALSE\t/\tTRUE\t0\ts\t1\n"
                   "www.example.test\tFALSE\t/\tFALSE\t0\tp\t1");
  sent = sent_cookie (fixture->multi, "www.example.test", "/echo-headers");
  g_assert_cmpstr (sent, ==, "p=1");
}

/* add_cookie: Expires and Max-Age are honoured; Max-Age=0 removes the cookie. */
static void
test_add_expiry (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *cookies = NULL;
  g_autofree char *sent = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/",
                           "e=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT");
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "gone=1");
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "gone=1; Max-Age=0");
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/",
                           "old=1; Expires=Thu, 01 Jan 2015 00:00:00 GMT");
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "127.0.0.1\tFALSE\t/\tFALSE\t1924992000\te\t1");
  sent = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_cmpstr (sent, ==, "e=1");
}

/* add_cookie refuses, with a warning, what a response from the URL could not set: a foreign Domain, a dotless Domain, Secure from http. */
static void
test_add_refused (Fixture       *fixture,
                  gconstpointer  data)
{
  static const struct { const char *url, *cookie; } refused[] = {
    { "http://www.example.test/", "a=1; Domain=other.test" },
    { "http://www.example.test/", "a=1; Domain=test" },
    { "http://www.example.test/", "a=1; Domain=ww.example.test" },
    { "http://127.0.0.1/", "a=1; Domain=127.0.0.2" },
    { "http://www.example.test/", "a=1; Secure" },
    { "http://www.example.test/", "novalue" },
  };
  g_autofree char *cookies = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_test_expect_message ("GCurl", G_LOG_LEVEL_WARNING, "The cookie*");
      g_curl_multi_add_cookie (fixture->multi, refused[i].url, refused[i].cookie);
      g_test_assert_expected_messages ();
    }
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");
}

static const struct { const char *url, *cookie; } bad_add[] = {
  { "not a url", "a=1" },
  { "ftp://example.test/", "a=1" },
  { "/relative", "a=1" },
  { "http://example.test/", "a=1\r\nX-Injected: 1" },
};

/* add_cookie with a URL that is not http(s) with a host, or a value with a newline, is a programmer error (a critical). */
static void
test_add_programmer_error (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);

  if (g_test_subprocess ())
    {
      g_autoptr(GCurlMulti) multi = g_object_new (G_CURL_TYPE_MULTI, "cookie-file", "", NULL);

      g_curl_multi_add_cookie (multi, bad_add[i].url, bad_add[i].cookie);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*g_curl_multi_add_cookie*");
}

/* clear_cookies empties the jar: nothing is listed or sent afterwards. */
static void
test_clear (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *body = NULL;
  g_autofree char *cookies = NULL;
  g_autofree char *sent = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  body = get_body (fixture->multi, NULL, "/set-cookie?c=a%3D1");
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "b=2");
  g_curl_multi_clear_cookies (fixture->multi);
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");
  sent = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_null (sent);
}

/* Files */

/* An existing jar is loaded when cookie-file is set: its cookie goes with the first transfer. */
static void
test_file_load (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "cookies.txt", NULL);
  g_autofree char *sent = NULL;
  g_autofree char *cookies = NULL;

  write_file (path, COOKIE_FILE_HEADER "\n"
                    "# a comment\n"
                    "127.0.0.1\tFALSE\t/\tFALSE\t0\tloaded\tyes\n"
                    "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t1924992000\tho\t1\n"
                    "127.0.0.1\tFALSE\t/\tFALSE\t1000\texpired\t1\n");
  g_object_set (fixture->multi, "cookie-file", path, NULL);
  sent = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_true (g_strcmp0 (sent, "loaded=yes; ho=1") == 0 || g_strcmp0 (sent, "ho=1; loaded=yes") == 0);
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==,
                   "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t1924992000\tho\t1\n"
                   "127.0.0.1\tFALSE\t/\tFALSE\t0\tloaded\tyes");

  g_clear_object (&fixture->multi);
  remove_dir (dir);
}

/* A transfer that receives a cookie saves the jar soon after: the full Netscape file, mode 0600, replacing the old file by a rename, no temporary left behind. */
static void
test_file_save_after_transfer (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "cookies.txt", NULL);
  const char *old = COOKIE_FILE_HEADER "127.0.0.1\tFALSE\t/\tFALSE\t0\told\t1\n";
  g_autofree char *body = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;
  g_auto(GStrv) lines = NULL;
  GStatBuf before, after;

  write_file (path, old);
  g_assert_cmpint (g_stat (path, &before), ==, 0);
  g_object_set (fixture->multi, "cookie-file", path, NULL);
  body = get_body (fixture->multi, NULL, "/set-cookie?c=new%3D2%3B%20Expires%3DWed%2C%2001%20Jan%202031%2000%3A00%3A00%20GMT");

  contents = wait_for_file (path, old);
  g_assert_true (g_str_has_prefix (contents, "# Netscape HTTP Cookie File\n"));
  lines = g_strsplit (contents, "\n", -1);
  {
    g_autoptr(GPtrArray) cookies = g_ptr_array_new ();

    for (guint i = 0; lines[i] != NULL; i++)
      if (lines[i][0] != '#' && lines[i][0] != '\0')
        g_ptr_array_add (cookies, lines[i]);
    g_ptr_array_sort (cookies, compare_strings);
    g_assert_cmpuint (cookies->len, ==, 2);
    g_assert_cmpstr (cookies->pdata[0], ==, "127.0.0.1\tFALSE\t/\tFALSE\t0\told\t1");
    g_assert_cmpstr (cookies->pdata[1], ==, "127.0.0.1\tFALSE\t/\tFALSE\t1924992000\tnew\t2");
  }
  g_assert_true (g_str_has_suffix (contents, "\n"));
  assert_mode_0600 (path);
  g_assert_cmpint (g_stat (path, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, !=, before.st_ino);
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "cookies.txt");

  g_clear_object (&fixture->multi);
  remove_dir (dir);
}

/* A jar that does not exist yet is an empty jar (no warning); add_cookie and clear_cookies save it. */
static void
test_file_missing_add_clear (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "new.txt", NULL);
  g_autofree char *added = NULL;
  g_autofree char *cleared = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *cookies = NULL;

  g_object_set (fixture->multi, "cookie-file", path, NULL);
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_curl_multi_add_cookie (fixture->multi, "https://www.example.test/app/", "k=v; Path=/; Secure");
  added = wait_for_file (path, NULL);
  g_assert_cmpstr (added, ==, "# Netscape HTTP Cookie File\n"
                              "# https://curl.se/docs/http-cookies.html\n"
                              "# Written by libgcurlmulti.\n\n"
                              "www.example.test\tFALSE\t/\tTRUE\t0\tk\tv\n");
  assert_mode_0600 (path);

  /* Saved before clear_cookies returns. */
  g_curl_multi_clear_cookies (fixture->multi);
  g_assert_true (g_file_get_contents (path, &cleared, NULL, NULL));
  g_assert_cmpstr (cleared, ==, "# Netscape HTTP Cookie File\n"
                                "# https://curl.se/docs/http-cookies.html\n"
                                "# Written by libgcurlmulti.\n\n");
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "new.txt");

  g_clear_object (&fixture->multi);
  remove_dir (dir);
}

/* What one multi saved at its disposal, a second multi loads and sends. */
static void
test_file_second_multi (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "jar", NULL);
  g_autoptr(GCurlMulti) second = NULL;
  g_autofree char *body = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *contents = NULL;

  g_object_set (fixture->multi, "cookie-file", path, NULL);
  body = get_body (fixture->multi, NULL, "/set-cookie?c=first%3D1");
  /* Disposed before the delayed save: disposal saves. */
  g_clear_object (&fixture->multi);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\n127.0.0.1\tFALSE\t/\tFALSE\t0\tfirst\t1\n"));

  second = g_object_new (G_CURL_TYPE_MULTI, "cookie-file", path, NULL);
  sent = sent_cookie (second, NULL, "/echo-headers");
  g_assert_cmpstr (sent, ==, "first=1");

  g_clear_object (&second);
  remove_dir (dir);
}

/* A jar that cannot be read or written (a directory) is a warning naming the path, and an empty jar. */
static void
test_file_unreadable (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *cookies = NULL;
  g_autofree char *sent = NULL;

  g_test_expect_message ("GCurl", G_LOG_LEVEL_WARNING,
                         "Could not read the cookie file *gcurl-test-cookies-*");
  g_object_set (fixture->multi, "cookie-file", dir, NULL);
  g_test_assert_expected_messages ();
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");

  /* The jar works in memory all the same. */
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "m=1");
  sent = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_cmpstr (sent, ==, "m=1");

  g_test_expect_message ("GCurl", G_LOG_LEVEL_WARNING,
                         "Could not save the cookies to *gcurl-test-cookies-*");
  g_curl_multi_clear_cookies (fixture->multi);
  g_test_assert_expected_messages ();

  g_clear_object (&fixture->multi);
  remove_dir (dir);
}

/* Changing cookie-file saves the jar to the old path and replaces it by the new file's cookies; "" keeps them in memory; NULL turns cookies off. */
static void
test_file_change (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_autofree char *b = g_build_filename (dir, "b", NULL);
  g_autofree char *cookies = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *sent = NULL;

  write_file (b, COOKIE_FILE_HEADER "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_b\t1\n");
  g_object_set (fixture->multi, "cookie-file", a, NULL);
  g_curl_multi_add_cookie (fixture->multi, "http://127.0.0.1/", "from_a=1");
  g_object_set (fixture->multi, "cookie-file", b, NULL);

  g_assert_true (g_file_get_contents (a, &saved, NULL, NULL));
  g_assert_true (g_str_has_suffix (saved, "\n127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_a\t1\n"));
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_b\t1");

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  g_clear_pointer (&cookies, g_free);
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_b\t1");

  g_object_set (fixture->multi, "cookie-file", NULL, NULL);
  g_clear_pointer (&cookies, g_free);
  cookies = cookies_of (fixture->multi);
  g_assert_cmpstr (cookies, ==, "");
  sent = sent_cookie (fixture->multi, NULL, "/echo-headers");
  g_assert_null (sent);

  g_clear_object (&fixture->multi);
  remove_dir (dir);
}

/* HSTS */

static char *tls_dir;
static char *tls_skip;
static char *ca_file;

typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *soup;
  guint16       port;
  GMutex        mutex;
  GCond         cond;
  gboolean      ready;
} TlsServer;

static TlsServer tls_server;

/* /hsts?max-age=N[&sub=1]: Strict-Transport-Security with that max-age
 * (and includeSubDomains); any path: 200 "tls PATH". */
static void
tls_callback (SoupServer        *soup,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  g_autofree char *body = g_strdup_printf ("tls %s", path);

  if (g_str_equal (path, "/hsts"))
    {
      const char *max_age = query != NULL ? g_hash_table_lookup (query, "max-age") : NULL;
      g_autofree char *value = g_strdup_printf ("max-age=%s%s", max_age != NULL ? max_age : "0",
                                                query != NULL && g_hash_table_contains (query, "sub")
                                                ? "; includeSubDomains" : "");

      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Strict-Transport-Security", value);
    }
  /* libsoup 3.2 leaves a TLS connection the client closed in CLOSE_WAIT
   * until the server is freed: one connection per request. */
  soup_message_headers_append (soup_server_message_get_response_headers (msg),
                               "Connection", "close");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

static gpointer
tls_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = g_build_filename (tls_dir, "server.pem", NULL);
  g_autofree char *key = g_build_filename (tls_dir, "server.key", NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;

  g_main_context_push_thread_default (tls_server.context);
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
  tls_server.soup = soup_server_new ("tls-certificate", certificate, NULL);
  soup_server_add_handler (tls_server.soup, NULL, tls_callback, NULL, NULL);
  /* A socket of ours: soup_server_listen_local() leaks an address. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  tls_server.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  soup_server_listen_socket (tls_server.soup, socket, SOUP_SERVER_LISTEN_HTTPS, &error);
  g_assert_no_error (error);

  g_mutex_lock (&tls_server.mutex);
  tls_server.ready = TRUE;
  g_cond_signal (&tls_server.cond);
  g_mutex_unlock (&tls_server.mutex);

  g_main_loop_run (tls_server.loop);
  soup_server_disconnect (tls_server.soup);
  g_clear_object (&tls_server.soup);
  g_main_context_pop_thread_default (tls_server.context);
  return NULL;
}

/* A CA, and a certificate for localhost and sub.localhost signed by it. */
static void
tls_server_start (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *openssl = g_find_program_in_path ("openssl");

  if (openssl == NULL)
    {
      tls_skip = g_strdup ("openssl is not installed (Debian package openssl)");
      return;
    }
  tls_dir = make_tmp_dir ();
  test_make_ca_and_server (tls_dir, "IP:127.0.0.1,DNS:localhost,DNS:sub.localhost", &error);
  g_assert_no_error (error);
  ca_file = g_build_filename (tls_dir, "ca.pem", NULL);

  g_mutex_init (&tls_server.mutex);
  g_cond_init (&tls_server.cond);
  tls_server.context = g_main_context_new ();
  tls_server.loop = g_main_loop_new (tls_server.context, FALSE);
  tls_server.thread = g_thread_new ("tls-server", tls_thread, NULL);
  g_mutex_lock (&tls_server.mutex);
  while (!tls_server.ready)
    g_cond_wait (&tls_server.cond, &tls_server.mutex);
  g_mutex_unlock (&tls_server.mutex);
}

static gboolean
quit_loop_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
tls_server_stop (void)
{
  if (tls_server.thread == NULL)
    return;

  g_main_context_invoke (tls_server.context, quit_loop_cb, tls_server.loop);
  g_thread_join (tls_server.thread);
  g_main_loop_unref (tls_server.loop);
  g_main_context_unref (tls_server.context);
  remove_dir (tls_dir);
}

/* A transfer of @scheme://@host:TLSPORT@path, localhost and sub.localhost
 * resolving to 127.0.0.1, run to its end. */
static GCurlTransfer *
run_tls (GCurlMulti *multi,
         const char *scheme,
         const char *host,
         const char *path)
{
  g_autofree char *url = g_strdup_printf ("%s://%s:%u%s", scheme, host, tls_server.port, path);
  GCurlTransfer *transfer = transfer_new (url, "localhost", tls_server.port);
  g_autofree char *sub = g_strdup_printf ("sub.localhost:%u:127.0.0.1", tls_server.port);
  struct curl_slist *resolve = g_object_get_data (G_OBJECT (transfer), "resolve");

  g_assert_true (curl_slist_append (resolve, sub) == resolve);
  test_run_transfer (multi, transfer);
  return transfer;
}

/* Asserts that @transfer went over TLS: 200 "tls PATH" from
 * https://HOST:TLSPORT@path (PATH: @path without its query). */
static void
assert_over_tls (GCurlTransfer *transfer,
                 const char    *host,
                 const char    *path)
{
  g_autofree char *body = NULL;
  g_autofree char *expected_body = g_strdup_printf ("tls %.*s", (int) strcspn (path, "?"), path);
  g_autofree char *expected_url = g_strdup_printf ("https://%s:%u%s", host, tls_server.port, path);

  g_assert_no_error (g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, expected_body);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, expected_url);
}

/* Asserts that @transfer spoke plain HTTP to the TLS port: the server
 * closes the connection (or resets it, when the request is still unread)
 * without an answer. */
static void
assert_not_upgraded (GCurlTransfer *transfer)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_GOT_NOTHING) ||
                 g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_RECV_ERROR));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 0);
  g_assert_true (g_str_has_prefix (g_curl_transfer_get_effective_url (transfer), "http://"));
}

static GCurlMulti *
tls_multi_new (const char *first_property,
               ...)
{
  GCurlMulti *multi = g_object_new (G_CURL_TYPE_MULTI, "tls-ca-file", ca_file, NULL);
  va_list args;

  va_start (args, first_property);
  g_object_set_valist (G_OBJECT (multi), first_property, args);
  va_end (args);
  return multi;
}

#define SKIP_WITHOUT_TLS() \
  G_STMT_START { if (tls_skip != NULL) { g_test_skip (tls_skip); return; } } G_STMT_END

/* A multi with cookies and no hsts-file does not enforce HSTS: after Strict-Transport-Security over https, http:// to that host stays http. */
static void
test_hsts_off_with_cookies (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;
  g_autoptr(GCurlTransfer) plain = NULL;

  SKIP_WITHOUT_TLS ();
  multi = tls_multi_new ("cookie-file", "", NULL);
  sts = run_tls (multi, "https", "localhost", "/hsts?max-age=3600");
  assert_over_tls (sts, "localhost", "/hsts?max-age=3600");
  plain = run_tls (multi, "http", "localhost", "/");
  assert_not_upgraded (plain);
}

/* With hsts-file "" an https response with Strict-Transport-Security upgrades later http://localhost:PORT/ URLs to https on the same port. */
static void
test_hsts_upgrade (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) before = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;
  g_autoptr(GCurlTransfer) upgraded = NULL;

  SKIP_WITHOUT_TLS ();
  multi = tls_multi_new ("hsts-file", "", NULL);
  before = run_tls (multi, "http", "localhost", "/");
  assert_not_upgraded (before);
  sts = run_tls (multi, "https", "localhost", "/hsts?max-age=3600");
  assert_over_tls (sts, "localhost", "/hsts?max-age=3600");
  upgraded = run_tls (multi, "http", "localhost", "/after");
  assert_over_tls (upgraded, "localhost", "/after");
}

/* Strict-Transport-Security from an IP address is ignored (libcurl 7.88, RFC 6797). */
static void
test_hsts_ip_literal (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;
  g_autoptr(GCurlTransfer) plain = NULL;

  SKIP_WITHOUT_TLS ();
  multi = tls_multi_new ("hsts-file", "", NULL);
  sts = run_tls (multi, "https", "127.0.0.1", "/hsts?max-age=3600");
  assert_over_tls (sts, "127.0.0.1", "/hsts?max-age=3600");
  plain = run_tls (multi, "http", "127.0.0.1", "/");
  assert_not_upgraded (plain);
}

/* includeSubDomains extends the upgrade to subdomains; without it, only the host itself is upgraded. */
static void
test_hsts_subdomains (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlMulti) multi_sub = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;
  g_autoptr(GCurlTransfer) sub = NULL;
  g_autoptr(GCurlTransfer) sts_sub = NULL;
  g_autoptr(GCurlTransfer) sub_upgraded = NULL;

  SKIP_WITHOUT_TLS ();
  multi = tls_multi_new ("hsts-file", "", NULL);
  sts = run_tls (multi, "https", "localhost", "/hsts?max-age=3600");
  assert_over_tls (sts, "localhost", "/hsts?max-age=3600");
  sub = run_tls (multi, "http", "sub.localhost", "/");
  assert_not_upgraded (sub);

  multi_sub = tls_multi_new ("hsts-file", "", NULL);
  sts_sub = run_tls (multi_sub, "https", "localhost", "/hsts?max-age=3600&sub=1");
  assert_over_tls (sts_sub, "localhost", "/hsts?max-age=3600&sub=1");
  sub_upgraded = run_tls (multi_sub, "http", "sub.localhost", "/s");
  assert_over_tls (sub_upgraded, "sub.localhost", "/s");
}

/* hsts-file is written in libcurl's format, atomically with mode 0600, and a new multi loads it and upgrades at its first transfer. */
static void
test_hsts_file (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlMulti) second = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;
  g_autoptr(GCurlTransfer) upgraded = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GDateTime) expires = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autofree char *iso = NULL;
  GTimeSpan ahead;

  SKIP_WITHOUT_TLS ();
  dir = make_tmp_dir ();
  path = g_build_filename (dir, "hsts.txt", NULL);
  multi = tls_multi_new ("hsts-file", path, NULL);
  sts = run_tls (multi, "https", "localhost", "/hsts?max-age=86400&sub=1");
  assert_over_tls (sts, "localhost", "/hsts?max-age=86400&sub=1");

  contents = wait_for_file (path, NULL);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (lines[0], ==, "# Your HSTS cache. https://curl.se/docs/hsts.html");
  g_assert_cmpstr (lines[1], ==, "# Written by libgcurlmulti.");
  g_assert_true (g_str_has_prefix (lines[2], ".localhost \""));
  g_assert_cmpuint (strlen (lines[2]), ==, strlen (".localhost \"YYYYMMDD HH:MM:SS\""));
  g_assert_cmpstr (lines[3], ==, "");
  /* "YYYYMMDD HH:MM:SS" a day from now. */
  iso = g_strdup_printf ("%.4s-%.2s-%.2sT%.8sZ", lines[2] + 12, lines[2] + 16, lines[2] + 18,
                         lines[2] + 21);
  expires = g_date_time_new_from_iso8601 (iso, utc);
  g_assert_nonnull (expires);
  ahead = g_date_time_difference (expires, now) / G_TIME_SPAN_SECOND;
  g_assert_cmpint (ahead, >=, 86400 - 60);
  g_assert_cmpint (ahead, <=, 86400 + 60);
  assert_mode_0600 (path);
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "hsts.txt");

  second = tls_multi_new ("hsts-file", path, NULL);
  upgraded = run_tls (second, "http", "sub.localhost", "/loaded");
  assert_over_tls (upgraded, "sub.localhost", "/loaded");

  g_clear_object (&multi);
  g_clear_object (&second);
  remove_dir (dir);
}

/* A multi that learnt no HSTS never rewrites its hsts-file: not when no transfer ran, not after transfers without the header. */
static void
test_hsts_file_untouched (Fixture       *fixture,
                          gconstpointer  data)
{
  const char *original = "# mine\nexample.test \"20300101 00:00:00\"\n";
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "hsts.txt", NULL);
  g_autofree char *after_idle = NULL;
  g_autofree char *after_run = NULL;
  g_autofree char *body = NULL;
  GCurlMulti *multi;

  write_file (path, original);
  multi = g_object_new (G_CURL_TYPE_MULTI, "hsts-file", path, NULL);
  g_object_unref (multi);
  g_assert_true (g_file_get_contents (path, &after_idle, NULL, NULL));
  g_assert_cmpstr (after_idle, ==, original);

  multi = g_object_new (G_CURL_TYPE_MULTI, "hsts-file", path, "cookie-file", "", NULL);
  body = get_body (multi, NULL, "/bytes/10");
  test_run_for (2 * JAR_SAVE_DELAY_MS);
  g_object_unref (multi);
  g_assert_true (g_file_get_contents (path, &after_run, NULL, NULL));
  g_assert_cmpstr (after_run, ==, original);

  remove_dir (dir);
}

/* A loaded hsts-file entry upgrades; an unchanged cache is not written, and a changed one keeps the loaded entry. */
static void
test_hsts_file_loaded_kept (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) upgraded = NULL;
  g_autoptr(GCurlTransfer) sts = NULL;

  SKIP_WITHOUT_TLS ();
  dir = make_tmp_dir ();
  path = g_build_filename (dir, "hsts.txt", NULL);
  write_file (path, "localhost \"unlimited\"\nexample.test \"20300101 00:00:00\"\n");
  multi = tls_multi_new ("hsts-file", path, NULL);
  upgraded = run_tls (multi, "http", "localhost", "/");
  assert_over_tls (upgraded, "localhost", "/");
  sts = run_tls (multi, "https", "sub.localhost", "/hsts?max-age=100");
  assert_over_tls (sts, "sub.localhost", "/hsts?max-age=100");
  g_clear_object (&multi);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\nlocalhost \"unlimited\"\n"));
  g_assert_nonnull (strstr (contents, "\nexample.test \"20300101 00:00:00\"\n"));
  g_assert_nonnull (strstr (contents, "\nsub.localhost \""));

  remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);
  {
    g_autoptr(GUri) uri = g_uri_parse (test_server_get_uri (server), G_URI_FLAGS_NONE, NULL);

    server_port = (guint16) g_uri_get_port (uri);
  }
  if (!g_test_subprocess ())
    tls_server_start ();

  ADD_TEST ("/cookies/off/default", test_off_by_default);
  ADD_TEST ("/cookies/memory/across-transfers", test_memory_across_transfers);
  ADD_TEST ("/cookies/memory/redirect", test_memory_redirect);
  ADD_TEST ("/cookies/memory/lines", test_memory_lines);
  ADD_TEST ("/cookies/add/host-only-and-domain", test_add_host_only_and_domain);
  ADD_TEST ("/cookies/add/default-path", test_add_default_path);
  ADD_TEST ("/cookies/add/secure-not-over-http", test_add_secure_not_over_http);
  ADD_TEST ("/cookies/add/expiry", test_add_expiry);
  ADD_TEST ("/cookies/add/refused", test_add_refused);
  for (guint i = 0; i < G_N_ELEMENTS (bad_add); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cookies/add/programmer-error/%u", i);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_add_programmer_error);
    }
  ADD_TEST ("/cookies/clear", test_clear);
  ADD_TEST ("/cookies/file/load", test_file_load);
  ADD_TEST ("/cookies/file/save-after-transfer", test_file_save_after_transfer);
  ADD_TEST ("/cookies/file/missing-add-clear", test_file_missing_add_clear);
  ADD_TEST ("/cookies/file/second-multi", test_file_second_multi);
  ADD_TEST ("/cookies/file/unreadable", test_file_unreadable);
  ADD_TEST ("/cookies/file/change", test_file_change);
  ADD_TEST ("/hsts/off-with-cookies", test_hsts_off_with_cookies);
  ADD_TEST ("/hsts/upgrade", test_hsts_upgrade);
  ADD_TEST ("/hsts/ip-literal-ignored", test_hsts_ip_literal);
  ADD_TEST ("/hsts/subdomains", test_hsts_subdomains);
  ADD_TEST ("/hsts/file", test_hsts_file);
  ADD_TEST ("/hsts/file/untouched", test_hsts_file_untouched);
  ADD_TEST ("/hsts/file/loaded-kept", test_hsts_file_loaded_kept);

  ret = g_test_run ();
  tls_server_stop ();
  test_server_free (server);

  return ret;
}
