/* test-interop-proxy.c: proxies, authentication and HTTP/2 against real servers
 *
 * libgcurlmulti against the servers of interop.h (nginx, Apache, h2o,
 * lighttpd, squid, squid with authentication, tinyproxy), for four bugs
 * seen in the field:
 *
 *   /interop/proxy/https/…   HTTPS through an HTTP proxy (CONNECT): the
 *                            proxy's "200 Connection established" is not
 *                            the response; nor with a proxy chosen by the
 *                            multi, the transfer or a GProxyResolver; and
 *                            download_async() through the tunnel works.
 *   /interop/proxy/http/…    plain http:// through the proxies.
 *   /interop/proxy/auth/…    an authentication round libcurl answers itself
 *                            (401 from Apache, 407 from squid) is not the
 *                            response; a refused one is.
 *   /interop/proxy/error/…   a proxy that is down, refuses the tunnel or
 *                            does not resolve: the error names the proxy
 *                            (without its password) and keeps the CURLcode.
 *   /interop/proxy/h2/…      50 transfers to one HTTPS origin share one
 *                            HTTP/2 connection with the library's defaults,
 *                            as with curl -Z (lighttpd, which allows 8
 *                            streams per connection, needs more, as curl
 *                            does); with GCurlMulti:multiplex FALSE they
 *                            do not.
 *
 * Each test starts the servers it needs on first use (in its fixture's
 * setup, so that their fds are not counted as the test's) and main()
 * stops them at the end; a missing package is a skip. Every test checks
 * that no fd leaked (TestFixture). There is no timing assertion: timings
 * are printed with g_test_message() only.
 *
 * TEST_CURL_VERBOSE=1 turns on libcurl's verbose output for the transfers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gstdio.h>

#include "interop.h"
#include "test-util.h"

/* A mebibyte that is no multiple of a TLS record or HTTP/2 frame. */
#define BIG_SIZE 1048583
#define BIG_PATH "pattern-1048583"
G_STATIC_ASSERT (BIG_SIZE == 1024 * 1024 + 7);

#define SMALL_SIZE 1000
#define SMALL_PATH "pattern-1000"

/* As tests/test-http2.c: sizes from 0 to about 500 KB. */
#define N_MULTIPLEXED 50
#define MULTIPLEXED_SIZE(i) ((guint64) (i) * (i) * 211 + (i))

/* How long a server may take to write its log line. */
#define LOG_TIMEOUT_MS 5000

#define KIND_BIT(kind) (1u << (kind))

/* What the program shares. */
static InteropEnv env;
static char *setup_error;                       /* env not made */
static char *curl_path;                         /* curl(1), or NULL */
static InteropServer servers[N_INTEROP_KINDS];
static gboolean started[N_INTEROP_KINDS];
static char *start_errors[N_INTEROP_KINDS];
static guint download_counter;

/* The three ways to choose a proxy. */
typedef enum
{
  WAY_MULTI_PROXY,      /* GCurlMulti:proxy */
  WAY_TRANSFER_PROXY,   /* GCurlTransfer:proxy */
  WAY_RESOLVER,         /* GCurlMulti:proxy-resolver, a GSimpleProxyResolver */
  N_WAYS
} ProxyWay;

static const char * const way_names[N_WAYS] = {
  "multi-proxy", "transfer-proxy", "proxy-resolver",
};

/* A test's parameters. */
typedef struct
{
  guint        needs;      /* KIND_BIT()s of the servers it needs */
  InteropKind  proxy;
  InteropKind  origin;
  ProxyWay     way;
  const char  *area;       /* Apache's "basic" or "digest" */
  long         auth;       /* CURLAUTH_* */
  gboolean     tls;
} Case;

static GPtrArray *cases;   /* Case, freed at the end */

/* Servers */

/* Starts @kind if it can run and has not been tried yet. */
static void
ensure_started (InteropKind kind)
{
  g_autoptr(GError) error = NULL;
  gint64 start;

  if (setup_error != NULL || started[kind] || start_errors[kind] != NULL ||
      interop_missing (kind) != NULL)
    return;

  start = g_get_monotonic_time ();
  if (!interop_server_start (&servers[kind], &env, kind, &error))
    {
      start_errors[kind] = g_strdup (error->message);
      return;
    }
  started[kind] = TRUE;
  g_test_message ("%s started in %.0f ms on port %u%s", servers[kind].name,
                  (g_get_monotonic_time () - start) / 1000.0, servers[kind].port,
                  servers[kind].tls_port != 0 ? " (and TLS)" : "");
}

/* Whether every server the test needs runs: else skips (a missing
 * package) or fails (one that did not start) the test. */
static gboolean
require_servers (const Case *c)
{
  guint kind;

  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return FALSE;
    }
  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    {
      if ((c->needs & KIND_BIT (kind)) == 0)
        continue;
      if (interop_missing (kind) != NULL)
        {
          g_test_skip (interop_missing (kind));
          return FALSE;
        }
      if (start_errors[kind] != NULL)
        {
          g_test_fail_printf ("%s did not start: %s", interop_kind_name (kind),
                              start_errors[kind]);
          return FALSE;
        }
      g_assert_true (started[kind]);
    }

  return TRUE;
}

/* The servers first, then TestFixture's fd count and multi. */
static void
fixture_setup (TestFixture   *fixture,
               gconstpointer  data)
{
  const Case *c = data;
  guint kind;

  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    if (c->needs & KIND_BIT (kind))
      ensure_started (kind);

  test_fixture_setup (fixture, data);
  if (env.ca_file != NULL)
    g_object_set (fixture->multi, "tls-ca-file", env.ca_file, NULL);
}

/* Frees the multi now, and with it its connections: squid writes the log
 * line of a CONNECT when the tunnel closes. */
static void
free_multi (TestFixture *fixture)
{
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_object_unref (fixture->multi);
  g_assert_null (fixture->multi);
}

/* Logs */

/* Lines of the log of @server that start with @prefix (if not NULL) and
 * contain @needle. */
static guint
count_log_lines (InteropServer *server,
                 const char    *prefix,
                 const char    *needle)
{
  g_autofree char *log = interop_server_read_log (server);
  g_auto(GStrv) lines = NULL;
  guint n = 0;
  guint i;

  if (log == NULL)
    return 0;
  lines = g_strsplit (log, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    if ((prefix == NULL || g_str_has_prefix (lines[i], prefix)) &&
        strstr (lines[i], needle) != NULL)
      n++;

  return n;
}

/* Waits until count_log_lines() is at least @at_least (at most
 * LOG_TIMEOUT_MS) and returns it. */
static guint
wait_for_log_lines (InteropServer *server,
                    const char    *prefix,
                    const char    *needle,
                    guint          at_least)
{
  gint64 deadline = g_get_monotonic_time () + LOG_TIMEOUT_MS * 1000;
  guint n;

  while ((n = count_log_lines (server, prefix, needle)) < at_least &&
         g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);

  return n;
}

static void
assert_log_grew (InteropServer *server,
                 const char    *prefix,
                 const char    *needle,
                 guint          before,
                 guint          by)
{
  guint n = wait_for_log_lines (server, prefix, needle, before + by);

  if (n < before + by)
    {
      g_autofree char *log = interop_server_read_log (server);

      g_error ("%s's log has %u lines \"%s…%s\", expected at least %u:\n%s", server->name,
               n, prefix ? prefix : "", needle, before + by, log ? log : "(no log)");
    }
}

/* curl(1) */

/* Runs curl with the arguments (NULL-terminated), which end with the
 * URL(s); returns its exit code, its stdout in @out. Direct unless the
 * arguments have "-x" (NO_PROXY=* is in the test environment). FALSE if
 * curl is not installed (the comparison is then skipped). */
static gboolean
run_curl (int   *exit_code,
          char **out,
          ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *errors = NULL;
  gboolean proxied = FALSE;
  const char *arg;
  int wait_status;
  va_list ap;
  guint i;

  if (curl_path == NULL)
    {
      g_test_message ("curl is not installed (Debian package curl): no comparison");
      return FALSE;
    }

  va_start (ap, out);
  while ((arg = va_arg (ap, const char *)) != NULL)
    {
      proxied |= g_str_equal (arg, "-x");
      g_ptr_array_add (args, (gpointer) arg);
    }
  va_end (ap);

  g_strv_builder_add_many (builder, curl_path, "-s", "--max-time", "30",
                           "--noproxy", proxied ? "" : "*", NULL);
  for (i = 0; i < args->len; i++)
    g_strv_builder_add (builder, args->pdata[i]);
  argv = g_strv_builder_end (builder);

  g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &errors, &wait_status,
                &error);
  g_assert_no_error (error);
  *exit_code = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;

  return TRUE;
}

/* Transfers */

static GCurlTransfer *
transfer_new (const char *url)
{
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  if (g_getenv ("TEST_CURL_VERBOSE") != NULL)
    curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_VERBOSE, 1L);

  return transfer;
}

/* A transfer of @url that goes through @proxy, chosen the @way way. */
static GCurlTransfer *
proxied_transfer_new (GCurlMulti *multi,
                      ProxyWay    way,
                      const char *proxy,
                      const char *url)
{
  GCurlTransfer *transfer = transfer_new (url);

  switch (way)
    {
    case WAY_MULTI_PROXY:
      g_object_set (multi, "proxy", proxy, NULL);
      break;
    case WAY_TRANSFER_PROXY:
      g_object_set (multi, "proxy", NULL, NULL);
      g_object_set (transfer, "proxy", proxy, NULL);
      break;
    case WAY_RESOLVER:
      {
        g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy, NULL);

        g_object_set (multi, "proxy", NULL, "proxy-resolver", resolver, NULL);
      }
      break;
    default:
      g_assert_not_reached ();
    }

  return transfer;
}

static const char *
http_version_name (GCurlTransfer *transfer)
{
  switch (test_transfer_get_info_long (transfer, CURLINFO_HTTP_VERSION))
    {
    case CURL_HTTP_VERSION_1_0: return "HTTP/1.0";
    case CURL_HTTP_VERSION_1_1: return "HTTP/1.1";
    case CURL_HTTP_VERSION_2_0: return "HTTP/2";
    case CURL_HTTP_VERSION_3: return "HTTP/3";
    default: return "no HTTP";
    }
}

/* The one "headers:STATUS" event of @recorder: got-headers came once, and
 * for the response with @status. */
static void
assert_headers_once (TestRecorder *recorder,
                     guint         status)
{
  g_autofree char *summary = test_recorder_summary (recorder);
  g_autofree char *expected = g_strdup_printf ("headers:%u", status);
  guint i;

  g_assert_cmpuint (recorder->n_got_headers, ==, 1);
  g_assert_cmpuint (recorder->n_finished, ==, 1);
  for (i = 0; i < recorder->events->len; i++)
    if (g_str_has_prefix (recorder->events->pdata[i], "headers:"))
      g_assert_cmpstr (recorder->events->pdata[i], ==, expected);
  g_test_message ("events: %s", summary);
}

/* The response to a GET of pattern-@size, whole and right. */
static void
assert_pattern_response (GCurlTransfer *transfer,
                         TestRecorder  *recorder,
                         guint64        size)
{
  g_autofree char *length = g_strdup_printf ("%" G_GUINT64_FORMAT, size);

  test_assert_pattern_body (transfer, size);
  assert_headers_once (recorder, 200);
  g_assert_cmpint (g_curl_transfer_get_download_size (transfer), ==, (gint64) size);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, (gint64) size);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
  /* The origin's headers, not the proxy's or a challenge's. */
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Length"), ==, length);
  g_assert_nonnull (g_curl_transfer_get_response_header (transfer, "ETag"));
  g_assert_null (g_curl_transfer_get_response_header (transfer, "WWW-Authenticate"));
  g_assert_null (g_curl_transfer_get_response_header (transfer, "Proxy-Authenticate"));
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} DownloadResult;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  DownloadResult *r = user_data;

  r->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &r->error);
  r->done = TRUE;
}

/* Downloads @transfer (a GET of pattern-@size) into a new file of env.dir
 * and asserts that the file is the pattern. */
static void
assert_downloads_pattern (GCurlMulti    *multi,
                          GCurlTransfer *transfer,
                          guint64        size)
{
  g_autofree char *path = g_strdup_printf ("%s/download-%u", env.dir, download_counter++);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *expected = test_pattern_sha256 (0, size);
  g_autofree char *actual = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  DownloadResult r = { 0, };
  gint64 start = g_get_monotonic_time ();
  gsize len = 0;

  g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &r);
  test_run_until (&r.done);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, size);
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
  g_assert_cmpstr (actual, ==, expected);
  g_test_message ("download_async of %" G_GUINT64_FORMAT " bytes in %.0f ms: right", size,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_unlink (path);
}

static void
assert_went_through (GCurlTransfer *transfer,
                     InteropServer *proxy)
{
  /* The connection was to the proxy's port. */
  g_assert_cmpint (test_transfer_get_info_long (transfer, CURLINFO_PRIMARY_PORT), ==,
                   proxy->port);
}

/* An error of the G_CURL_ERROR @code, whose message names @proxy_shown. */
static void
assert_proxy_error (GCurlTransfer *transfer,
                    int            code,
                    const char    *proxy_shown)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  test_assert_transfer_error (transfer, G_CURL_ERROR, code, G_CURL_TRANSFER_STATE_FAILED);
  g_test_message ("%s: error %d: %s", g_curl_transfer_get_url (transfer), error->code,
                  error->message);
  g_assert_nonnull (strstr (error->message, "proxy"));
  g_assert_nonnull (strstr (error->message, proxy_shown));
}

/* 1. HTTPS through an HTTP proxy */

/* Through a CONNECT tunnel the response and a download are the origin's, not the proxy's 200. */
static void
test_https_through_proxy (TestFixture   *fixture,
                          gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[c->proxy];
  InteropServer *origin = &servers[c->origin];
  g_autofree char *url = NULL;
  g_autofree char *needle = NULL;
  const char *prefix = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GCurlTransfer) download = NULL;
  TestRecorder recorder;
  guint connects_before;
  gint64 start;

  if (!require_servers (c))
    return;

  url = g_strdup_printf ("%s/%s", origin->tls_url, BIG_PATH);
  /* squid: a "200 … "CONNECT localhost:PORT HTTP/1.1" TCP_TUNNEL" line;
   * tinyproxy: "Request (file descriptor N): CONNECT localhost:PORT …". */
  if (c->proxy == INTEROP_SQUID)
    {
      prefix = "200 ";
      needle = g_strdup_printf ("\"CONNECT localhost:%u HTTP/1.1\" TCP_TUNNEL",
                                origin->tls_port);
    }
  else
    needle = g_strdup_printf ("CONNECT localhost:%u HTTP/1.1", origin->tls_port);
  connects_before = count_log_lines (proxy, prefix, needle);

  transfer = proxied_transfer_new (fixture->multi, c->way, proxy->url, url);
  test_recorder_attach (&recorder, transfer);
  start = g_get_monotonic_time ();
  test_run_transfer (fixture->multi, transfer);
  g_test_message ("GET %s through %s (%s) in %.0f ms, %s", url, proxy->name,
                  way_names[c->way], (g_get_monotonic_time () - start) / 1000.0,
                  http_version_name (transfer));
  assert_pattern_response (transfer, &recorder, BIG_SIZE);
  assert_went_through (transfer, proxy);
  g_assert_cmpint (test_transfer_get_info_long (transfer, CURLINFO_HTTP_CONNECTCODE), ==, 200);
  test_recorder_clear (&recorder);

  /* A tunnel of its own: the download sees a CONNECT reply too. */
  download = proxied_transfer_new (fixture->multi, c->way, proxy->url, url);
  curl_easy_setopt (g_curl_transfer_get_handle (download), CURLOPT_FRESH_CONNECT, 1L);
  assert_downloads_pattern (fixture->multi, download, BIG_SIZE);
  assert_went_through (download, proxy);
  g_assert_cmpint (test_transfer_get_info_long (download, CURLINFO_NUM_CONNECTS), ==, 1);

  /* squid logs a CONNECT when its tunnel closes: with the multi. */
  free_multi (fixture);
  assert_log_grew (proxy, prefix, needle, connects_before, 2);
  g_test_message ("%s logged %u CONNECTs for the two transfers", proxy->name,
                  count_log_lines (proxy, prefix, needle) - connects_before);
}

/* Plain http:// through a proxy (absolute-form GET) gets the origin's 200 and 404. */
static void
test_http_through_proxy (TestFixture   *fixture,
                         gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[c->proxy];
  InteropServer *origin = &servers[INTEROP_NGINX];
  g_autofree char *url = NULL;
  g_autofree char *missing_url = NULL;
  g_autofree char *needle = NULL;
  guint before;
  ProxyWay way;

  if (!require_servers (c))
    return;

  url = g_strdup_printf ("%s/%s", origin->url, SMALL_PATH);
  missing_url = g_strdup_printf ("%s/no-such-file", origin->url);
  needle = g_strdup_printf ("GET %s HTTP/1.1", url);
  before = count_log_lines (proxy, NULL, needle);

  for (way = 0; way < N_WAYS; way++)
    {
      g_autoptr(GCurlTransfer) transfer = proxied_transfer_new (fixture->multi, way,
                                                                proxy->url, url);
      g_autoptr(GCurlTransfer) missing = proxied_transfer_new (fixture->multi, way,
                                                               proxy->url, missing_url);
      TestSendAndRead ar = { 0, };
      TestRecorder recorder;
      g_autofree char *sha256 = NULL;
      g_autofree char *expected = test_pattern_sha256 (0, SMALL_SIZE);

      test_recorder_attach (&recorder, transfer);
      g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL,
                                        test_send_and_read_cb, &ar);
      test_run_until (&ar.done);
      g_assert_no_error (ar.error);
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
      g_assert_cmpuint (g_bytes_get_size (ar.bytes), ==, SMALL_SIZE);
      sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, ar.bytes);
      g_assert_cmpstr (sha256, ==, expected);
      assert_headers_once (&recorder, 200);
      g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Length"), ==,
                       G_STRINGIFY (SMALL_SIZE));
      assert_went_through (transfer, proxy);
      g_bytes_unref (ar.bytes);
      test_recorder_clear (&recorder);

      test_recorder_attach (&recorder, missing);
      test_run_transfer (fixture->multi, missing);
      g_assert_cmpint (g_curl_transfer_get_state (missing), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      g_assert_cmpuint (g_curl_transfer_get_status_code (missing), ==, 404);
      assert_headers_once (&recorder, 404);
      assert_went_through (missing, proxy);
      test_recorder_clear (&recorder);
      g_test_message ("%s through %s (%s): 200 and 404", origin->url, proxy->name,
                      way_names[way]);
    }

  assert_log_grew (proxy, NULL, needle, before, N_WAYS);
}

/* 2. Authentication */

static const char *
curl_auth_option (long auth)
{
  switch (auth)
    {
    case CURLAUTH_BASIC: return "--basic";
    case CURLAUTH_DIGEST: return "--digest";
    case CURLAUTH_ANY: return "--anyauth";
    default: g_assert_not_reached ();
    }
}

/* Whether libcurl needs a 401 first: it sends Basic at once when Basic is
 * all it may use, and probes otherwise. */
static gboolean
auth_has_round (const Case *c)
{
  return c->auth != CURLAUTH_BASIC;
}

static GCurlTransfer *
auth_transfer_new (const Case *c,
                   const char *userpwd)
{
  InteropServer *apache = &servers[INTEROP_APACHE];
  g_autofree char *url = g_strdup_printf ("%s/%s/%s", c->tls ? apache->tls_url : apache->url,
                                          c->area, SMALL_PATH);
  GCurlTransfer *transfer = transfer_new (url);
  CURL *handle = g_curl_transfer_get_handle (transfer);

  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_HTTPAUTH, c->auth), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_USERPWD, userpwd), ==, CURLE_OK);

  return transfer;
}

/* A 401 that libcurl answers itself (Basic, Digest, any) is not the response: the 200 is. */
static void
test_server_auth (TestFixture   *fixture,
                  gconstpointer  data)
{
  const Case *c = data;
  InteropServer *apache = &servers[INTEROP_APACHE];
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autofree char *path = NULL;
  TestRecorder recorder;
  guint challenges_before;
  int exit_code;
  g_autofree char *out = NULL;

  if (!require_servers (c))
    return;

  path = g_strdup_printf ("GET /%s/%s HTTP/", c->area, SMALL_PATH);
  challenges_before = count_log_lines (apache, "401 ", path);

  transfer = auth_transfer_new (c, INTEROP_USER ":" INTEROP_PASSWORD);
  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);
  assert_pattern_response (transfer, &recorder, SMALL_SIZE);
  test_recorder_clear (&recorder);
  g_test_message ("%s: 200 in %s", g_curl_transfer_get_url (transfer),
                  http_version_name (transfer));

  /* The 401 round did happen (Apache logs at once). */
  if (auth_has_round (c))
    assert_log_grew (apache, "401 ", path, challenges_before, 1);
  else
    g_test_message ("Basic only: libcurl sent the credentials at once (%u 401 in the log)",
                    count_log_lines (apache, "401 ", path) - challenges_before);

  if (run_curl (&exit_code, &out, "-o", "/dev/null", "-w", "%{http_code}",
                "--cacert", env.ca_file, curl_auth_option (c->auth),
                "-u", INTEROP_USER ":" INTEROP_PASSWORD,
                g_curl_transfer_get_url (transfer), NULL))
    {
      g_test_message ("curl %s: exit %d, status %s", curl_auth_option (c->auth), exit_code, out);
      g_assert_cmpint (exit_code, ==, 0);
      g_assert_cmpstr (out, ==, "200");
    }
}

/* With a wrong password, the final 401 is the response: its page, its WWW-Authenticate. */
static void
test_server_auth_wrong (TestFixture   *fixture,
                        gconstpointer  data)
{
  const Case *c = data;
  guint i;

  if (!require_servers (c))
    return;

  for (i = 0; i < 4; i++)
    {
      Case variant = *c;
      g_autoptr(GCurlTransfer) transfer = NULL;
      g_autoptr(GBytes) body = NULL;
      g_autofree char *page = NULL;
      g_autofree char *out = NULL;
      const char *challenge;
      TestRecorder recorder;
      int exit_code;

      variant.tls = (i & 1) != 0;
      variant.auth = (i & 2) != 0 ? (long) CURLAUTH_ANY : c->auth;
      transfer = auth_transfer_new (&variant, INTEROP_USER ":wrong");
      test_recorder_attach (&recorder, transfer);
      test_run_transfer (fixture->multi, transfer);

      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 401);
      assert_headers_once (&recorder, 401);
      test_recorder_clear (&recorder);
      challenge = g_curl_transfer_get_response_header (transfer, "WWW-Authenticate");
      g_assert_nonnull (challenge);
      g_assert_true (g_str_has_prefix (challenge, g_str_equal (c->area, "digest") ?
                                       "Digest " : "Basic "));
      g_assert_nonnull (strstr (challenge, "realm=\"" INTEROP_REALM "\""));
      body = g_curl_transfer_get_body (transfer);
      g_assert_nonnull (body);
      g_assert_cmpuint (g_bytes_get_size (body), >, 0);
      g_assert_cmpint (g_curl_transfer_get_download_size (transfer), ==,
                       (gint64) g_bytes_get_size (body));
      page = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      g_assert_nonnull (strstr (page, "401"));
      g_test_message ("%s (%s): 401, a %" G_GSIZE_FORMAT "-byte page, WWW-Authenticate: %s",
                      g_curl_transfer_get_url (transfer), curl_auth_option (variant.auth),
                      g_bytes_get_size (body), challenge);

      if (run_curl (&exit_code, &out, "-o", "/dev/null", "-w", "%{http_code}",
                    "--cacert", env.ca_file, curl_auth_option (variant.auth),
                    "-u", INTEROP_USER ":wrong", g_curl_transfer_get_url (transfer), NULL))
        {
          g_assert_cmpint (exit_code, ==, 0);
          g_assert_cmpstr (out, ==, "401");
        }
    }
}

/* The "authenticate" signal: a handler that answers @passwords in turn
 * (NULL: it declines), and what it was asked. */
typedef struct
{
  const char *passwords[3];
  guint       n_calls;
  GString    *log;       /* "scheme|realm|authority|server or proxy|retrying;" */
} Asked;

static gboolean
authenticate_cb (GCurlTransfer *transfer,
                 GCurlAuth     *auth,
                 gboolean       retrying,
                 Asked         *asked)
{
  const char *password = asked->n_calls < G_N_ELEMENTS (asked->passwords) ?
                         asked->passwords[asked->n_calls] : NULL;

  asked->n_calls++;
  g_string_append_printf (asked->log, "%s|%s|%s|%s|%d;", g_curl_auth_get_scheme_name (auth),
                          g_curl_auth_get_realm (auth), g_curl_auth_get_authority (auth),
                          g_curl_auth_is_for_proxy (auth) ? "proxy" : "server", retrying);
  if (password == NULL)
    return FALSE;

  g_curl_auth_authenticate (auth, INTEROP_USER, password);
  return TRUE;
}

/* "host:port" of @url, which has its port. */
static char *
authority_of (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);
  return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
}

/* Apache's Basic and Digest through "authenticate": a wrong password is asked again, retrying; then the 200. */
static void
test_server_authenticate (TestFixture   *fixture,
                          gconstpointer  data)
{
  const Case *c = data;
  InteropServer *apache = &servers[INTEROP_APACHE];
  Asked asked = { { "wrong", INTEROP_PASSWORD }, 0, g_string_new (NULL) };
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autofree char *url = NULL;
  g_autofree char *authority = NULL;
  g_autofree char *expected = NULL;
  const char *scheme = g_str_equal (c->area, "digest") ? "Digest" : "Basic";
  TestRecorder recorder;

  if (!require_servers (c))
    {
      g_string_free (asked.log, TRUE);
      return;
    }

  url = g_strdup_printf ("%s/%s/%s", c->tls ? apache->tls_url : apache->url, c->area, SMALL_PATH);
  authority = authority_of (url);
  expected = g_strdup_printf ("%s|" INTEROP_REALM "|%s|server|0;%s|" INTEROP_REALM "|%s|server|1;",
                              scheme, authority, scheme, authority);
  transfer = transfer_new (url);
  g_signal_connect (transfer, "authenticate", G_CALLBACK (authenticate_cb), &asked);
  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);

  assert_pattern_response (transfer, &recorder, SMALL_SIZE);
  g_assert_cmpstr (asked.log->str, ==, expected);
  g_test_message ("%s: asked %s", url, asked.log->str);
  test_recorder_clear (&recorder);
  g_string_free (asked.log, TRUE);
}

/* nginx asks for a client certificate: none is a 403; a PEM certificate with its key, from the transfer or the multi, is the client nginx names. */
static void
test_client_certificate (TestFixture   *fixture,
                         gconstpointer  data)
{
  const Case *c = data;
  InteropServer *nginx = &servers[INTEROP_NGINX];
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  if (!require_servers (c))
    return;

  certificate = g_tls_certificate_new_from_files (env.client_cert_file, env.client_key_file,
                                                  &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("%s/client-cert/", nginx->tls_url);

  for (guint way = 0; way < 3; way++)
    {
      g_autoptr(GCurlTransfer) transfer = transfer_new (url);
      g_autofree char *body = NULL;

      if (way == 1)
        g_object_set (transfer, "tls-client-certificate", certificate, NULL);
      g_object_set (fixture->multi, "tls-client-certificate", way == 2 ? certificate : NULL, NULL);
      test_run_transfer (fixture->multi, transfer);

      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      body = test_body_string (transfer);
      g_test_message ("%s (%s): %u %s", url, way == 0 ? "none" : way == 1 ? "transfer" : "multi",
                      g_curl_transfer_get_status_code (transfer), body);
      if (way == 0)
        {
          g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 403);
          g_assert_cmpstr (body, ==, "no client certificate: NONE\n");
        }
      else
        {
          g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
          g_assert_cmpstr (body, ==, "client: CN=" INTEROP_CLIENT_CN "\n");
        }
    }
}

/* A transfer through squid-auth (its URL has no credentials), with
 * @userpwd and @auth (if @userpwd) on the raw handle. */
static GCurlTransfer *
squid_auth_transfer_new (TestFixture *fixture,
                         const char  *url,
                         const char  *userpwd,
                         long         auth)
{
  GCurlTransfer *transfer = proxied_transfer_new (fixture->multi, WAY_MULTI_PROXY,
                                                  servers[INTEROP_SQUID_AUTH].url, url);
  CURL *handle = g_curl_transfer_get_handle (transfer);

  if (userpwd != NULL)
    {
      g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_PROXYUSERPWD, userpwd), ==, CURLE_OK);
      g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_PROXYAUTH, auth), ==, CURLE_OK);
    }

  return transfer;
}

/* A 407 that libcurl answers itself (CONNECT or GET) is not the response: the origin's 200 is. */
static void
test_proxy_auth (TestFixture   *fixture,
                 gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[INTEROP_SQUID_AUTH];
  InteropServer *origin = &servers[INTEROP_NGINX];
  g_autofree char *tls_url = NULL;
  g_autofree char *url = NULL;
  g_autofree char *connect_needle = NULL;
  g_autofree char *get_needle = NULL;
  g_autoptr(GCurlTransfer) tunnelled = NULL;
  g_autoptr(GCurlTransfer) plain = NULL;
  g_autoptr(GCurlTransfer) download = NULL;
  g_autofree char *out = NULL;
  TestRecorder recorder;
  guint denied_connects, denied_gets;
  int exit_code;

  if (!require_servers (c))
    return;

  tls_url = g_strdup_printf ("%s/%s", origin->tls_url, BIG_PATH);
  url = g_strdup_printf ("%s/%s", origin->url, SMALL_PATH);
  connect_needle = g_strdup_printf ("\"CONNECT localhost:%u HTTP/1.1\" TCP_DENIED",
                                    origin->tls_port);
  get_needle = g_strdup_printf ("\"GET %s HTTP/1.1\" TCP_DENIED", url);
  denied_connects = count_log_lines (proxy, "407 ", connect_needle);
  denied_gets = count_log_lines (proxy, "407 ", get_needle);

  tunnelled = squid_auth_transfer_new (fixture, tls_url, INTEROP_USER ":" INTEROP_PASSWORD,
                                       c->auth);
  test_recorder_attach (&recorder, tunnelled);
  test_run_transfer (fixture->multi, tunnelled);
  assert_pattern_response (tunnelled, &recorder, BIG_SIZE);
  assert_went_through (tunnelled, proxy);
  g_assert_cmpint (test_transfer_get_info_long (tunnelled, CURLINFO_HTTP_CONNECTCODE), ==, 200);
  test_recorder_clear (&recorder);

  plain = squid_auth_transfer_new (fixture, url, INTEROP_USER ":" INTEROP_PASSWORD, c->auth);
  test_recorder_attach (&recorder, plain);
  test_run_transfer (fixture->multi, plain);
  assert_pattern_response (plain, &recorder, SMALL_SIZE);
  assert_went_through (plain, proxy);
  test_recorder_clear (&recorder);

  /* A tunnel of its own, with its own 407 round. */
  download = squid_auth_transfer_new (fixture, tls_url, INTEROP_USER ":" INTEROP_PASSWORD,
                                      c->auth);
  curl_easy_setopt (g_curl_transfer_get_handle (download), CURLOPT_FRESH_CONNECT, 1L);
  assert_downloads_pattern (fixture->multi, download, BIG_SIZE);

  /* squid logs a refused CONNECT at once. */
  if (c->auth != CURLAUTH_BASIC)
    {
      assert_log_grew (proxy, "407 ", connect_needle, denied_connects, 2);
      assert_log_grew (proxy, "407 ", get_needle, denied_gets, 1);
    }
  g_test_message ("squid-auth answered %u CONNECT(s) and %u GET(s) with a 407",
                  count_log_lines (proxy, "407 ", connect_needle) - denied_connects,
                  count_log_lines (proxy, "407 ", get_needle) - denied_gets);

  if (run_curl (&exit_code, &out, "-o", "/dev/null", "-w", "%{http_code}",
                "--cacert", env.ca_file, "-x", proxy->url,
                c->auth == CURLAUTH_BASIC ? "--proxy-basic" : "--proxy-anyauth",
                "--proxy-user", INTEROP_USER ":" INTEROP_PASSWORD, tls_url, NULL))
    {
      g_assert_cmpint (exit_code, ==, 0);
      g_assert_cmpstr (out, ==, "200");
    }
}

/* squid's 407, to a CONNECT (https) and to a GET (http), through "authenticate": the proxy is asked, then the 200. */
static void
test_proxy_authenticate (TestFixture   *fixture,
                         gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[INTEROP_SQUID_AUTH];
  InteropServer *origin = &servers[INTEROP_NGINX];
  g_autofree char *authority = NULL;
  g_autofree char *expected = NULL;
  guint tls;

  if (!require_servers (c))
    return;

  authority = authority_of (proxy->url);
  expected = g_strdup_printf ("Basic|" INTEROP_REALM "|%s|proxy|0;Basic|" INTEROP_REALM
                              "|%s|proxy|1;", authority, authority);

  for (tls = 0; tls < 2; tls++)
    {
      Asked asked = { { "wrong", INTEROP_PASSWORD }, 0, g_string_new (NULL) };
      g_autofree char *url = g_strdup_printf ("%s/%s", tls ? origin->tls_url : origin->url,
                                              tls ? BIG_PATH : SMALL_PATH);
      g_autoptr(GCurlTransfer) transfer = squid_auth_transfer_new (fixture, url, NULL, 0);
      TestRecorder recorder;

      g_signal_connect (transfer, "authenticate", G_CALLBACK (authenticate_cb), &asked);
      test_recorder_attach (&recorder, transfer);
      test_run_transfer (fixture->multi, transfer);

      assert_pattern_response (transfer, &recorder, tls ? BIG_SIZE : SMALL_SIZE);
      assert_went_through (transfer, proxy);
      g_assert_cmpstr (asked.log->str, ==, expected);
      g_test_message ("%s through squid-auth: asked %s", url, asked.log->str);
      test_recorder_clear (&recorder);
      g_string_free (asked.log, TRUE);
    }

  /* Declined: the tunnel's 407 fails the transfer, as without a handler. */
  {
    Asked asked = { { NULL }, 0, g_string_new (NULL) };
    g_autofree char *url = g_strdup_printf ("%s/%s", origin->tls_url, BIG_PATH);
    g_autoptr(GCurlTransfer) transfer = squid_auth_transfer_new (fixture, url, NULL, 0);

    g_signal_connect (transfer, "authenticate", G_CALLBACK (authenticate_cb), &asked);
    test_run_transfer (fixture->multi, transfer);
    g_assert_cmpuint (asked.n_calls, ==, 1);
    test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_RECV_ERROR,
                                G_CURL_TRANSFER_STATE_FAILED);
    g_assert_nonnull (strstr (g_curl_transfer_get_error (transfer)->message, "407"));
    g_string_free (asked.log, TRUE);
  }
}

/* A 407 for a CONNECT is G_CURL_ERROR_RECV_ERROR naming the proxy; for a GET, the response. */
static void
test_proxy_auth_refused (TestFixture   *fixture,
                         gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[INTEROP_SQUID_AUTH];
  InteropServer *origin = &servers[INTEROP_NGINX];
  g_autofree char *tls_url = NULL;
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  const char * const credentials[] = { NULL, INTEROP_USER ":wrong" };
  int exit_code;
  guint i;

  if (!require_servers (c))
    return;

  tls_url = g_strdup_printf ("%s/%s", origin->tls_url, BIG_PATH);
  url = g_strdup_printf ("%s/%s", origin->url, SMALL_PATH);

  for (i = 0; i < G_N_ELEMENTS (credentials); i++)
    {
      g_autoptr(GCurlTransfer) tunnelled = NULL;
      g_autoptr(GCurlTransfer) plain = NULL;
      g_autoptr(GBytes) body = NULL;
      const GError *error;
      TestRecorder recorder;

      tunnelled = squid_auth_transfer_new (fixture, tls_url, credentials[i], CURLAUTH_BASIC);
      test_recorder_attach (&recorder, tunnelled);
      test_run_transfer (fixture->multi, tunnelled);
      /* libcurl 7.88 fails a refused CONNECT with CURLE_RECV_ERROR
       * ("CONNECT tunnel failed, response 407"); curl(1) exits 56. */
      assert_proxy_error (tunnelled, G_CURL_ERROR_RECV_ERROR, proxy->url);
      error = g_curl_transfer_get_error (tunnelled);
      g_assert_nonnull (strstr (error->message, "HTTP 407"));
      g_assert_nonnull (strstr (error->message, tls_url));
      /* No response from the origin came. */
      g_assert_cmpuint (recorder.n_got_headers, ==, 0);
      g_assert_cmpuint (g_curl_transfer_get_status_code (tunnelled), ==, 0);
      g_assert_cmpint (test_transfer_get_info_long (tunnelled, CURLINFO_HTTP_CONNECTCODE), ==,
                       407);
      test_recorder_clear (&recorder);

      plain = squid_auth_transfer_new (fixture, url, credentials[i], CURLAUTH_BASIC);
      test_recorder_attach (&recorder, plain);
      test_run_transfer (fixture->multi, plain);
      g_assert_no_error ((GError *) g_curl_transfer_get_error (plain));
      g_assert_cmpint (g_curl_transfer_get_state (plain), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      g_assert_cmpuint (g_curl_transfer_get_status_code (plain), ==, 407);
      assert_headers_once (&recorder, 407);
      test_recorder_clear (&recorder);
      g_assert_cmpstr (g_curl_transfer_get_response_header (plain, "Proxy-Authenticate"), ==,
                       "Basic realm=\"" INTEROP_REALM "\"");
      body = g_curl_transfer_get_body (plain);
      g_assert_nonnull (body);
      g_assert_cmpuint (g_bytes_get_size (body), >, 0);
    }

  if (run_curl (&exit_code, &out, "-o", "/dev/null", "--cacert", env.ca_file,
                "-x", proxy->url, tls_url, NULL))
    {
      g_test_message ("curl through squid-auth without credentials: exit %d", exit_code);
      g_assert_cmpint (exit_code, ==, CURLE_RECV_ERROR);
    }
}

/* 3. A proxy that is down or refuses */

/* A 127.0.0.1 port that refuses connections while the returned socket
 * (bound, never listening) is open: no other socket can take it. */
static int
reserve_refused_port (guint16 *port)
{
  struct sockaddr_in addr = { 0, };
  socklen_t len = sizeof (addr);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof (addr)), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  *port = ntohs (addr.sin_port);

  return fd;
}

/* A proxy that is down: G_CURL_ERROR_COULDNT_CONNECT, naming the proxy without its password. */
static void
test_proxy_down (TestFixture   *fixture,
                 gconstpointer  data)
{
  guint16 port;
  int fd = reserve_refused_port (&port);
  g_autofree char *proxy = g_strdup_printf ("http://alice:pw@127.0.0.1:%u", port);
  g_autofree char *shown = g_strdup_printf ("http://alice@127.0.0.1:%u", port);
  char *urls[2];
  ProxyWay way;
  guint i;

  urls[0] = g_strdup_printf ("http://127.0.0.1:%u/%s", port, SMALL_PATH);
  urls[1] = g_strdup_printf ("https://localhost:%u/%s", port, SMALL_PATH);

  for (way = 0; way < N_WAYS; way++)
    for (i = 0; i < G_N_ELEMENTS (urls); i++)
      {
        g_autoptr(GCurlTransfer) transfer = proxied_transfer_new (fixture->multi, way, proxy,
                                                                  urls[i]);
        const GError *error;
        TestRecorder recorder;

        test_recorder_attach (&recorder, transfer);
        test_run_transfer (fixture->multi, transfer);
        assert_proxy_error (transfer, G_CURL_ERROR_COULDNT_CONNECT, shown);
        error = g_curl_transfer_get_error (transfer);
        g_assert_null (strstr (error->message, "pw"));
        g_assert_nonnull (strstr (error->message, urls[i]));
        g_assert_cmpuint (recorder.n_got_headers, ==, 0);
        test_recorder_clear (&recorder);
      }

  close (fd);
  g_free (urls[0]);
  g_free (urls[1]);
}

/* A tunnel the proxy refuses: G_CURL_ERROR_RECV_ERROR naming the proxy and its HTTP status. */
static void
test_tunnel_refused (TestFixture   *fixture,
                     gconstpointer  data)
{
  const Case *c = data;
  InteropServer *proxy = &servers[c->proxy];
  guint expected_status = c->proxy == INTEROP_SQUID ? 503 : 500;
  g_autofree char *status_text = g_strdup_printf ("HTTP %u", expected_status);
  g_autofree char *tls_url = NULL;
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GCurlTransfer) tunnelled = NULL;
  g_autoptr(GCurlTransfer) plain = NULL;
  g_autoptr(GBytes) body = NULL;
  const GError *error;
  TestRecorder recorder;
  int exit_code;
  guint16 port;
  int fd;

  if (!require_servers (c))
    return;

  fd = reserve_refused_port (&port);
  tls_url = g_strdup_printf ("https://localhost:%u/%s", port, SMALL_PATH);
  url = g_strdup_printf ("http://127.0.0.1:%u/%s", port, SMALL_PATH);

  tunnelled = proxied_transfer_new (fixture->multi, WAY_MULTI_PROXY, proxy->url, tls_url);
  test_recorder_attach (&recorder, tunnelled);
  test_run_transfer (fixture->multi, tunnelled);
  assert_proxy_error (tunnelled, G_CURL_ERROR_RECV_ERROR, proxy->url);
  error = g_curl_transfer_get_error (tunnelled);
  g_assert_nonnull (strstr (error->message, status_text));
  g_assert_nonnull (strstr (error->message, tls_url));
  g_assert_cmpint (test_transfer_get_info_long (tunnelled, CURLINFO_HTTP_CONNECTCODE), ==,
                   expected_status);
  g_assert_cmpuint (recorder.n_got_headers, ==, 0);
  test_recorder_clear (&recorder);

  plain = proxied_transfer_new (fixture->multi, WAY_MULTI_PROXY, proxy->url, url);
  test_recorder_attach (&recorder, plain);
  test_run_transfer (fixture->multi, plain);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (plain));
  g_assert_cmpint (g_curl_transfer_get_state (plain), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_test_message ("GET %s through %s: %u", url, proxy->name,
                  g_curl_transfer_get_status_code (plain));
  g_assert_cmpuint (g_curl_transfer_get_status_code (plain), ==, expected_status);
  assert_headers_once (&recorder, expected_status);
  test_recorder_clear (&recorder);
  body = g_curl_transfer_get_body (plain);
  g_assert_nonnull (body);
  g_assert_cmpuint (g_bytes_get_size (body), >, 0);

  if (run_curl (&exit_code, &out, "-o", "/dev/null", "-w", "%{http_connect}",
                "-x", proxy->url, tls_url, NULL))
    {
      g_autofree char *code = g_strdup_printf ("%u", expected_status);

      g_test_message ("curl: exit %d, CONNECT answered %s", exit_code, out);
      g_assert_cmpint (exit_code, ==, CURLE_RECV_ERROR);
      g_assert_cmpstr (out, ==, code);
    }

  close (fd);
}

/* A proxy name that does not resolve: G_CURL_ERROR_COULDNT_RESOLVE_PROXY, naming the proxy. */
static void
test_proxy_unresolvable (TestFixture   *fixture,
                         gconstpointer  data)
{
  const char *proxy = "http://proxy.invalid:3128";
  const char *url = "https://localhost:1/" SMALL_PATH;
  ProxyWay way;

  for (way = 0; way < N_WAYS; way++)
    {
      g_autoptr(GCurlTransfer) transfer = proxied_transfer_new (fixture->multi, way, proxy, url);

      test_run_transfer (fixture->multi, transfer);
      assert_proxy_error (transfer, G_CURL_ERROR_COULDNT_RESOLVE_PROXY, proxy);
      g_assert_nonnull (strstr (g_curl_transfer_get_error (transfer)->message, url));
    }
}

/* 4. HTTP/2 multiplexing */

typedef struct
{
  guint    n_running;
  gboolean done;
} Countdown;

static void
countdown_finished_cb (GCurlTransfer *transfer,
                       gpointer       user_data)
{
  Countdown *countdown = user_data;

  if (--countdown->n_running == 0)
    countdown->done = TRUE;
}

/* The 50 transfers, added at once with the library's defaults; returns
 * the sum of their CURLINFO_NUM_CONNECTS. */
static long
run_multiplexed (GCurlMulti    *multi,
                 InteropServer *server,
                 gboolean       expect_h2)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) ports = g_hash_table_new (NULL, NULL);
  Countdown countdown = { N_MULTIPLEXED, FALSE };
  long n_connects = 0;
  guint n_h2 = 0;
  gint64 start;
  guint i;

  for (i = 0; i < N_MULTIPLEXED; i++)
    {
      g_autofree char *url = g_strdup_printf ("%s/mux/pattern-%" G_GUINT64_FORMAT,
                                              server->tls_url, MULTIPLEXED_SIZE (i));
      GCurlTransfer *transfer = transfer_new (url);

      g_signal_connect (transfer, "finished", G_CALLBACK (countdown_finished_cb), &countdown);
      g_ptr_array_add (transfers, transfer);
    }

  start = g_get_monotonic_time ();
  for (i = 0; i < N_MULTIPLEXED; i++)
    g_curl_multi_add_transfer (multi, transfers->pdata[i]);
  test_run_until (&countdown.done);
  g_test_message ("%s: %u transfers in %.0f ms", server->name, N_MULTIPLEXED,
                  (g_get_monotonic_time () - start) / 1000.0);

  for (i = 0; i < N_MULTIPLEXED; i++)
    {
      GCurlTransfer *transfer = transfers->pdata[i];
      long version = test_transfer_get_info_long (transfer, CURLINFO_HTTP_VERSION);

      g_signal_handlers_disconnect_by_func (transfer, countdown_finished_cb, &countdown);
      test_assert_pattern_body (transfer, MULTIPLEXED_SIZE (i));
      if (expect_h2)
        g_assert_cmpint (version, ==, CURL_HTTP_VERSION_2_0);
      n_h2 += version == CURL_HTTP_VERSION_2_0;
      n_connects += test_transfer_get_info_long (transfer, CURLINFO_NUM_CONNECTS);
      g_hash_table_add (ports, GINT_TO_POINTER (test_transfer_get_info_long (transfer,
                                                                             CURLINFO_LOCAL_PORT)));
    }
  g_test_message ("%s: %u of %u in HTTP/2, %ld connect(s) in all, from %u local port(s)",
                  server->name, n_h2, N_MULTIPLEXED, n_connects, g_hash_table_size (ports));

  return n_connects;
}

/* curl -Z to the same 50 URLs: the sum of its %{num_connects}, or -1
 * without curl. */
static long
curl_multiplexed (InteropServer *server)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  long n_connects = 0;
  int wait_status;
  guint i;

  if (curl_path == NULL)
    {
      g_test_message ("curl is not installed (Debian package curl): no comparison");
      return -1;
    }

  builder = g_strv_builder_new ();
  g_strv_builder_add_many (builder, curl_path, "-Z", "--parallel-max", "50",
                           "--cacert", env.ca_file, "-s", "--noproxy", "*", "--max-time", "30",
                           "-w", "%{num_connects} %{http_version}\n", NULL);
  for (i = 0; i < N_MULTIPLEXED; i++)
    {
      g_autofree char *url = g_strdup_printf ("%s/mux/pattern-%" G_GUINT64_FORMAT,
                                              server->tls_url, MULTIPLEXED_SIZE (i));

      g_strv_builder_add_many (builder, "-o", "/dev/null", url, NULL);
    }
  argv = g_strv_builder_end (builder);
  g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 0);

  lines = g_strsplit (out, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      {
        n_connects += g_ascii_strtoll (lines[i], NULL, 10);
        g_assert_true (g_str_has_suffix (lines[i], " 2"));
      }
  g_assert_cmpuint (g_strv_length (lines), ==, N_MULTIPLEXED + 1);

  return n_connects;
}

/* The access log's lines of the 50 requests of run_multiplexed() in
 * HTTP/2 (@h2) or not. */
static guint
count_mux_lines (InteropServer *server,
                 gboolean       h2)
{
  g_autofree char *log = interop_server_read_log (server);
  g_auto(GStrv) lines = NULL;
  /* h2o writes "HTTP/2", the others "HTTP/2.0". */
  const char *h2_protocol = server->kind == INTEROP_H2O ? " HTTP/2\"" : " HTTP/2.0\"";
  guint n = 0;
  guint i;

  if (log == NULL)
    return 0;
  lines = g_strsplit (log, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "\"GET /mux/pattern-") != NULL &&
        (strstr (lines[i], h2_protocol) != NULL) == h2)
      n++;

  return n;
}

static guint
wait_for_log_lines_mux (InteropServer *server,
                        guint          at_least)
{
  gint64 deadline = g_get_monotonic_time () + LOG_TIMEOUT_MS * 1000;
  guint n;

  while ((n = count_mux_lines (server, TRUE)) < at_least && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);

  return n;
}

/* LIGHTTPD: lighttpd 1.4.69 (Debian 12) sends SETTINGS_MAX_CONCURRENT_STREAMS 8:
 * one connection cannot carry 50 streams at once. libcurl 7.88 then opens
 * a connection of its own for a transfer that finds the connections full
 * (curl -Z too: some 40 connections), unless CURLMOPT_MAX_HOST_CONNECTIONS
 * makes it wait for a stream. */

#define PRI_LINE "\"PRI * HTTP/2.0\""

/* By default, 50 transfers to an HTTP/2 origin share one connection, as with curl -Z. */
static void
test_multiplex (TestFixture   *fixture,
                gconstpointer  data)
{
  const Case *c = data;
  InteropServer *server = &servers[c->origin];
  gboolean lighttpd = c->origin == INTEROP_LIGHTTPD;
  guint h2_before, h1_before, pri_before, pri = 0;
  long n_connects, curl_connects;

  if (!require_servers (c))
    return;

  h2_before = count_mux_lines (server, TRUE);
  h1_before = count_mux_lines (server, FALSE);
  pri_before = count_log_lines (server, NULL, PRI_LINE);

  n_connects = run_multiplexed (fixture->multi, server, TRUE);
  free_multi (fixture);

  /* Every request reached the server once, in HTTP/2. */
  if (wait_for_log_lines_mux (server, h2_before + N_MULTIPLEXED) < h2_before + N_MULTIPLEXED)
    g_error ("%s logged %u of the %u requests in HTTP/2", server->name,
             count_mux_lines (server, TRUE) - h2_before, N_MULTIPLEXED);
  g_assert_cmpuint (count_mux_lines (server, TRUE), ==, h2_before + N_MULTIPLEXED);
  g_assert_cmpuint (count_mux_lines (server, FALSE), ==, h1_before);
  /* lighttpd: a line per HTTP/2 connection, when it ends (the multi is
   * gone). */
  if (lighttpd)
    {
      pri = wait_for_log_lines (server, NULL, PRI_LINE, pri_before + n_connects) - pri_before;
      g_test_message ("lighttpd logged %u HTTP/2 connection(s)", pri);
    }

  curl_connects = curl_multiplexed (server);
  g_test_message ("%s: libgcurlmulti needed %ld connection(s), curl -Z %ld", server->name,
                  n_connects, curl_connects);

  /* lighttpd: see LIGHTTPD above; one connection only when the transfers
   * wait for a stream (GCurlMulti:max-host-connections 1). */
  if (!lighttpd)
    {
      if (curl_connects >= 0)
        g_assert_cmpint (curl_connects, ==, 1);
      g_assert_cmpint (n_connects, ==, 1);
    }
  else
    {
      g_autoptr(GCurlMulti) multi = NULL;

      /* Each connection was HTTP/2, and some carried several streams;
       * how many connections libcurl opens depends on when the streams
       * end (curl -Z needs about as many). */
      g_assert_cmpuint (pri, ==, n_connects);
      g_assert_cmpint (n_connects, <, N_MULTIPLEXED);

      /* Waiting for a stream instead: one connection. */
      multi = g_curl_multi_new ();
      g_object_set (multi, "tls-ca-file", env.ca_file, "max-host-connections", 1, NULL);
      n_connects = run_multiplexed (multi, server, TRUE);
      g_test_message ("lighttpd with max-host-connections 1: %ld connection(s)", n_connects);
      g_assert_cmpint (n_connects, ==, 1);
    }
}

/* With GCurlMulti:multiplex FALSE, the 50 transfers do not share one connection. */
static void
test_no_multiplex (TestFixture   *fixture,
                   gconstpointer  data)
{
  const Case *c = data;
  InteropServer *server = &servers[c->origin];
  guint pri_before;
  long n_connects;

  if (!require_servers (c))
    return;

  pri_before = count_log_lines (server, NULL, PRI_LINE);

  g_object_set (fixture->multi, "multiplex", FALSE, NULL);
  n_connects = run_multiplexed (fixture->multi, server, FALSE);
  free_multi (fixture);
  g_test_message ("%s without multiplexing: %ld connections", server->name, n_connects);
  g_assert_cmpint (n_connects, >, 1);

  if (c->origin == INTEROP_LIGHTTPD)
    g_test_message ("lighttpd logged %u HTTP/2 connection(s)",
                    wait_for_log_lines (server, NULL, PRI_LINE, pri_before + n_connects) -
                    pri_before);
}

/* main */

static Case *
case_new (guint needs)
{
  Case *c = g_new0 (Case, 1);

  c->needs = needs;
  g_ptr_array_add (cases, c);

  return c;
}

static void
add_test (const char *path,
          Case       *c,
          void      (*func) (TestFixture *, gconstpointer))
{
  g_test_add (path, TestFixture, c, fixture_setup, func, test_fixture_teardown);
}

static gboolean
write_data (GError **error)
{
  guint i;

  if (!interop_env_write_pattern (&env, BIG_PATH, BIG_SIZE, error) ||
      !interop_env_write_pattern (&env, SMALL_PATH, SMALL_SIZE, error))
    return FALSE;
  for (i = 0; i < N_MULTIPLEXED; i++)
    {
      g_autofree char *path = g_strdup_printf ("mux/pattern-%" G_GUINT64_FORMAT,
                                               MULTIPLEXED_SIZE (i));

      if (!interop_env_write_pattern (&env, path, MULTIPLEXED_SIZE (i), error))
        return FALSE;
    }

  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  static const InteropKind proxies[] = { INTEROP_SQUID, INTEROP_TINYPROXY };
  static const InteropKind origins[] = { INTEROP_NGINX, INTEROP_APACHE };
  static const InteropKind h2_servers[] = {
    INTEROP_APACHE, INTEROP_NGINX, INTEROP_H2O, INTEROP_LIGHTTPD,
  };
  static const struct { const char *name; const char *area; long auth; } auths[] = {
    { "basic", "basic", CURLAUTH_BASIC },
    { "digest", "digest", CURLAUTH_DIGEST },
    { "any-basic", "basic", CURLAUTH_ANY },
    { "any-digest", "digest", CURLAUTH_ANY },
  };
  g_autoptr(GError) error = NULL;
  guint i, j, tls;
  ProxyWay way;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* Before the first test's fd count: the default context's wakeup fd. */
  g_main_context_default ();
  curl_path = g_find_program_in_path ("curl");
  cases = g_ptr_array_new_with_free_func (g_free);
  if (!interop_env_init (&env, &error) || !write_data (&error))
    setup_error = g_strdup_printf ("Cannot make the test environment: %s", error->message);

  /* 1. */
  for (i = 0; i < G_N_ELEMENTS (proxies); i++)
    for (way = 0; way < N_WAYS; way++)
      for (j = 0; j < G_N_ELEMENTS (origins); j++)
        {
          Case *c = case_new (KIND_BIT (proxies[i]) | KIND_BIT (origins[j]));
          g_autofree char *path = g_strdup_printf ("/interop/proxy/https/%s/%s/%s",
                                                   interop_kind_name (proxies[i]),
                                                   way_names[way],
                                                   interop_kind_name (origins[j]));

          c->proxy = proxies[i];
          c->origin = origins[j];
          c->way = way;
          add_test (path, c, test_https_through_proxy);
        }
  for (i = 0; i < G_N_ELEMENTS (proxies); i++)
    {
      Case *c = case_new (KIND_BIT (proxies[i]) | KIND_BIT (INTEROP_NGINX));
      g_autofree char *path = g_strdup_printf ("/interop/proxy/http/%s",
                                               interop_kind_name (proxies[i]));

      c->proxy = proxies[i];
      add_test (path, c, test_http_through_proxy);
    }

  /* 2. */
  for (i = 0; i < G_N_ELEMENTS (auths); i++)
    for (tls = 0; tls < 2; tls++)
      {
        Case *c = case_new (KIND_BIT (INTEROP_APACHE));
        g_autofree char *path = g_strdup_printf ("/interop/proxy/auth/%s/%s", auths[i].name,
                                                 tls ? "https" : "http");

        c->area = auths[i].area;
        c->auth = auths[i].auth;
        c->tls = tls;
        add_test (path, c, test_server_auth);
      }
  for (i = 0; i < 2; i++)
    {
      Case *c = case_new (KIND_BIT (INTEROP_APACHE));
      g_autofree char *path = g_strdup_printf ("/interop/proxy/auth/wrong-password/%s",
                                               auths[i].name);

      c->area = auths[i].area;
      c->auth = auths[i].auth;
      add_test (path, c, test_server_auth_wrong);
    }
  for (i = 0; i < 2; i++)
    for (tls = 0; tls < 2; tls++)
      {
        Case *c = case_new (KIND_BIT (INTEROP_APACHE));
        g_autofree char *path = g_strdup_printf ("/interop/proxy/authenticate/%s/%s",
                                                 auths[i].name, tls ? "https" : "http");

        c->area = auths[i].area;
        c->tls = tls;
        add_test (path, c, test_server_authenticate);
      }
  {
    Case *c = case_new (KIND_BIT (INTEROP_SQUID_AUTH) | KIND_BIT (INTEROP_NGINX));

    c->auth = CURLAUTH_BASIC;
    add_test ("/interop/proxy/auth/squid-auth/basic", c, test_proxy_auth);
    c = case_new (KIND_BIT (INTEROP_SQUID_AUTH) | KIND_BIT (INTEROP_NGINX));
    c->auth = CURLAUTH_ANY;
    add_test ("/interop/proxy/auth/squid-auth/any", c, test_proxy_auth);
    c = case_new (KIND_BIT (INTEROP_SQUID_AUTH) | KIND_BIT (INTEROP_NGINX));
    add_test ("/interop/proxy/auth/squid-auth/refused", c, test_proxy_auth_refused);
    c = case_new (KIND_BIT (INTEROP_SQUID_AUTH) | KIND_BIT (INTEROP_NGINX));
    add_test ("/interop/proxy/authenticate/squid-auth", c, test_proxy_authenticate);
    c = case_new (KIND_BIT (INTEROP_NGINX));
    add_test ("/interop/tls/client-certificate/nginx", c, test_client_certificate);
  }

  /* 3. */
  add_test ("/interop/proxy/error/proxy-down", case_new (0), test_proxy_down);
  for (i = 0; i < G_N_ELEMENTS (proxies); i++)
    {
      Case *c = case_new (KIND_BIT (proxies[i]));
      g_autofree char *path = g_strdup_printf ("/interop/proxy/error/tunnel-refused/%s",
                                               interop_kind_name (proxies[i]));

      c->proxy = proxies[i];
      add_test (path, c, test_tunnel_refused);
    }
  add_test ("/interop/proxy/error/unresolvable", case_new (0), test_proxy_unresolvable);

  /* 4. */
  for (i = 0; i < G_N_ELEMENTS (h2_servers); i++)
    {
      Case *c = case_new (KIND_BIT (h2_servers[i]));
      g_autofree char *path = g_strdup_printf ("/interop/proxy/h2/multiplex/%s",
                                               interop_kind_name (h2_servers[i]));

      c->origin = h2_servers[i];
      add_test (path, c, test_multiplex);
    }
  for (i = 0; i < G_N_ELEMENTS (h2_servers); i++)
    {
      Case *c = case_new (KIND_BIT (h2_servers[i]));
      g_autofree char *path = g_strdup_printf ("/interop/proxy/h2/no-multiplex/%s",
                                               interop_kind_name (h2_servers[i]));

      c->origin = h2_servers[i];
      add_test (path, c, test_no_multiplex);
    }

  status = g_test_run ();

  for (i = 0; i < N_INTEROP_KINDS; i++)
    {
      interop_server_stop (&servers[i]);
      g_free (start_errors[i]);
    }
  interop_env_clear (&env);
  g_ptr_array_unref (cases);
  g_free (curl_path);
  g_free (setup_error);

  return status;
}
