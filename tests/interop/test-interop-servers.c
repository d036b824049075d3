/* test-interop-servers.c: the interop harness proves its servers work
 *
 * Starts each kind of server of interop.h (a kind whose package is missing
 * is a skip, with the reason) and checks it with curl(1), not with
 * libgcurlmulti: the files served are the pattern, over HTTP/1.1 and over
 * TLS with HTTP/2; a Range request is a 206 in the access log; a changed
 * file has a new ETag; the proxies forward GETs and CONNECTs to any port;
 * the authentication works; kill and restart give the same ports back;
 * and a server dies with the test program that started it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "interop.h"
#include "test-server.h"

#define PATTERN_SIZE 100000
#define PARENT_DIR_VARIABLE "GCURL_INTEROP_SELFTEST_DIR"

static InteropEnv env;
static char *curl;            /* curl(1) */
static char *setup_error;     /* the env could not be made */

/* curl */

typedef struct
{
  int      exit_code;   /* curl's: 0, 7 (cannot connect), 56… */
  guint    status;      /* %{http_code}: HTTP status, or FTP reply code */
  char    *version;     /* %{http_version}: "1.1", "2" */
  char    *redirect;    /* %{redirect_url} */
  GBytes  *body;
  char    *headers;     /* the response's header block(s) */
  char    *errors;      /* curl's stderr */
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_free (fetch->version);
  g_free (fetch->redirect);
  g_clear_pointer (&fetch->body, g_bytes_unref);
  g_free (fetch->headers);
  g_free (fetch->errors);
  g_free (fetch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fetch, fetch_free)

/* Runs curl on @url, with the options after it (NULL-terminated). Direct
 * unless the options have "-x" (the test environment has NO_PROXY=*, which
 * curl honours even for -x: the options say --noproxy ""). */
static Fetch *
fetch (const char *url,
       ...)
{
  static guint counter;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *body_path = g_strdup_printf ("%s/curl-%u.body", env.dir, counter);
  g_autofree char *headers_path = g_strdup_printf ("%s/curl-%u.headers", env.dir, counter++);
  g_autofree char *out = NULL;
  g_autofree char *body = NULL;
  g_auto(GStrv) fields = NULL;
  g_autoptr(GError) error = NULL;
  gboolean proxied = FALSE;
  Fetch *result = g_new0 (Fetch, 1);
  const char *arg;
  gsize body_len = 0;
  int wait_status;
  va_list args;

  g_strv_builder_add_many (builder, curl, "-sS", "--max-time", "30",
                           "-o", body_path, "-D", headers_path,
                           "-w", "%{http_code}|%{http_version}|%{redirect_url}", NULL);
  va_start (args, url);
  while ((arg = va_arg (args, const char *)) != NULL)
    {
      proxied |= g_str_equal (arg, "-x");
      g_strv_builder_add (builder, arg);
    }
  va_end (args);
  g_strv_builder_add_many (builder, "--noproxy", proxied ? "" : "*", url, NULL);
  argv = g_strv_builder_end (builder);

  g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &result->errors, &wait_status, &error);
  g_assert_no_error (error);
  result->exit_code = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  fields = g_strsplit (out, "|", 3);
  g_assert_cmpuint (g_strv_length (fields), ==, 3);
  result->status = (guint) g_ascii_strtoull (fields[0], NULL, 10);
  result->version = g_strdup (fields[1]);
  result->redirect = g_strdup (fields[2]);
  if (g_file_get_contents (body_path, &body, &body_len, NULL))
    result->body = g_bytes_new_take (g_steal_pointer (&body), body_len);
  else
    result->body = g_bytes_new (NULL, 0);
  if (!g_file_get_contents (headers_path, &result->headers, NULL, NULL))
    result->headers = g_strdup ("");
  g_unlink (body_path);
  g_unlink (headers_path);
  if (g_test_verbose ())
    g_test_message ("curl %s: exit %d, status %u, HTTP %s, %" G_GSIZE_FORMAT " bytes%s%s",
                    url, result->exit_code, result->status, result->version,
                    g_bytes_get_size (result->body),
                    result->errors[0] != '\0' ? ": " : "", result->errors);

  return result;
}

static void
assert_pattern (Fetch   *fetch,
                guint64  offset,
                guint64  len)
{
  g_autofree char *expected = test_pattern_sha256 (offset, len);
  g_autofree char *sha256 = NULL;

  g_assert_cmpint (fetch->exit_code, ==, 0);
  g_assert_cmpuint (g_bytes_get_size (fetch->body), ==, len);
  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, fetch->body);
  g_assert_cmpstr (sha256, ==, expected);
}

/* The value of header @name in the last header block, or NULL. */
static char *
header_value (Fetch      *fetch,
              const char *name)
{
  g_auto(GStrv) lines = g_strsplit (fetch->headers, "\n", -1);
  char *value = NULL;
  guint i;

  for (i = 0; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');

      if (g_str_has_prefix (lines[i], "HTTP/"))
        g_clear_pointer (&value, g_free);
      else if (colon != NULL && (gsize) (colon - lines[i]) == strlen (name) &&
               g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0)
        {
          g_free (value);
          value = g_strstrip (g_strdup (colon + 1));
        }
    }

  return value;
}

/* Whether a line of @log starts with @status and contains @request. */
static gboolean
log_has_line (const char *log,
              const char *status,
              const char *request)
{
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
  guint i;

  for (i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], status) && strstr (lines[i], request) != NULL)
      return TRUE;

  return FALSE;
}

#define assert_log_has_line(log, status, request) \
  G_STMT_START { \
    if (!log_has_line ((log), (status), (request))) \
      g_error ("no line \"%s…%s\" in the log:\n%s", (status), (request), (log)); \
  } G_STMT_END

/* Servers */

static char *
pattern_url (const char *base,
             const char *path)
{
  return g_strdup_printf ("%s/%s", base, path);
}

/* Skips the test if @kind cannot run here; else starts it, or fails. */
static gboolean
start_or_skip (InteropServer *server,
               InteropKind    kind,
               const InteropOptions *options)
{
  g_autoptr(GError) error = NULL;
  const char *missing = interop_missing (kind);
  gint64 start;

  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return FALSE;
    }
  if (curl == NULL)
    {
      g_test_skip ("curl is not installed (Debian package curl)");
      return FALSE;
    }
  if (missing != NULL)
    {
      g_test_skip (missing);
      return FALSE;
    }

  start = g_get_monotonic_time ();
  if (!interop_server_start_full (server, &env, kind, options, &error))
    {
      g_test_fail_printf ("%s", error->message);
      return FALSE;
    }
  g_test_message ("%s started in %.0f ms on port %u%s", server->name,
                  (g_get_monotonic_time () - start) / 1000.0, server->port,
                  server->tls_port != 0 ? " (and TLS)" : "");

  return TRUE;
}

static gboolean
process_is_gone (GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *paren;

  /* Gone, or a zombie: an orphan's reaper may be slow, or absent. */
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;
  paren = strrchr (stat, ')');

  return paren != NULL && (paren[2] == 'Z' || paren[2] == 'X');
}

static gboolean
wait_until_gone (GPid  pid,
                 guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!process_is_gone (pid))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (10 * 1000);
    }

  return TRUE;
}

/* The URL a kind serves pattern-PATTERN_SIZE at, and the curl options. */
static char *
check_url (InteropServer *server)
{
  if (server->kind == INTEROP_HTTPBIN)
    return g_strdup_printf ("%s/range/%u", server->url, 1000);

  return g_strdup_printf ("%s/pattern-%u", server->url, PATTERN_SIZE);
}

/* GET of check_url(): fails the test unless it is what the server should
 * send. Proxies are checked through nginx, started by the caller. */
static void
assert_serves (InteropServer *server,
               InteropServer *target)
{
  g_autofree char *url = NULL;
  g_autoptr(Fetch) result = NULL;

  if (interop_kind_is_proxy (server->kind))
    {
      url = g_strdup_printf ("%s/pattern-%u", target->url, PATTERN_SIZE);
      if (server->kind == INTEROP_SQUID_AUTH)
        result = fetch (url, "-x", server->url,
                        "--proxy-user", INTEROP_USER ":" INTEROP_PASSWORD, NULL);
      else
        result = fetch (url, "-x", server->url, NULL);
      g_assert_cmpuint (result->status, ==, 200);
      assert_pattern (result, 0, PATTERN_SIZE);
      return;
    }

  url = check_url (server);
  result = fetch (url, NULL);
  if (server->kind == INTEROP_FTP)
    {
      g_assert_cmpuint (result->status, ==, 226);
      assert_pattern (result, 0, PATTERN_SIZE);
    }
  else if (server->kind == INTEROP_HTTPBIN)
    {
      /* /range/N: N bytes "abcd…" */
      g_assert_cmpuint (result->status, ==, 200);
      g_assert_cmpuint (g_bytes_get_size (result->body), ==, 1000);
      g_assert_cmpmem (g_bytes_get_data (result->body, NULL), 4, "abcd", 4);
    }
  else
    {
      g_assert_cmpuint (result->status, ==, 200);
      g_assert_cmpstr (result->version, ==, "1.1");
      assert_pattern (result, 0, PATTERN_SIZE);
    }
}

/* The nginx the proxy tests go to, or NULL (skipped) if there is none. */
static gboolean
start_target (InteropServer *target)
{
  const char *missing = interop_missing (INTEROP_NGINX);

  if (missing != NULL)
    {
      g_autofree char *reason = g_strdup_printf ("the proxy tests go to nginx: %s", missing);

      g_test_skip (reason);
      return FALSE;
    }

  return start_or_skip (target, INTEROP_NGINX, NULL);
}

/* Tests */

/* Reports each interop kind as installed or what is missing; it asserts nothing. */
static void
test_missing (void)
{
  guint kind;

  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    {
      const char *missing = interop_missing (kind);

      g_test_message ("%-10s %s", interop_kind_name (kind), missing ? missing : "installed");
    }
}

/* A web server serves the pattern over HTTP/1.1 and TLS h2, ranges (206, 416, multipart), logs. */
static void
test_web_server (gconstpointer data)
{
  InteropKind kind = GPOINTER_TO_UINT (data);
  InteropServer server;
  g_autofree char *url = NULL;
  g_autofree char *tls_url = NULL;
  g_autofree char *ip_url = NULL;
  g_autofree char *log = NULL;
  g_autoptr(Fetch) plain = NULL;
  g_autoptr(Fetch) tls = NULL;
  g_autoptr(Fetch) tls_ip = NULL;
  g_autoptr(Fetch) tls12 = NULL;
  g_autoptr(Fetch) range = NULL;
  g_autoptr(Fetch) missing = NULL;
  g_autoptr(Fetch) after_end = NULL;
  g_autofree char *missing_url = NULL;
  g_autoptr(Fetch) multi = NULL;
  g_autoptr(Fetch) text = NULL;
  g_autofree char *text_url = NULL;
  g_autofree char *content_type = NULL;
  g_autoptr(GError) error = NULL;
  const char *needle = "206 10 \"bytes=10-19\" \"GET /pattern-100000 HTTP/1.1\"";

  if (!start_or_skip (&server, kind, NULL))
    return;

  url = pattern_url (server.url, "pattern-100000");
  tls_url = pattern_url (server.tls_url, "pattern-100000");
  ip_url = g_strdup_printf ("https://127.0.0.1:%u/pattern-100000", server.tls_port);

  plain = fetch (url, NULL);
  g_assert_cmpuint (plain->status, ==, 200);
  g_assert_cmpstr (plain->version, ==, "1.1");
  assert_pattern (plain, 0, PATTERN_SIZE);

  tls = fetch (tls_url, "--cacert", env.ca_file, "--http2", NULL);
  g_assert_cmpuint (tls->status, ==, 200);
  g_assert_cmpstr (tls->version, ==, "2");
  assert_pattern (tls, 0, PATTERN_SIZE);

  /* TLS 1.2 too, with h2. */
  tls12 = fetch (tls_url, "--cacert", env.ca_file, "--http2",
                 "--tlsv1.2", "--tls-max", "1.2", NULL);
  g_assert_cmpuint (tls12->status, ==, 200);
  g_assert_cmpstr (tls12->version, ==, "2");
  assert_pattern (tls12, 0, PATTERN_SIZE);

  if (kind == INTEROP_APACHE)
    {
      /* Not the Upgrade to h2c: curl 7.88's, against Apache, fails now and
       * then ("HTTP/2 framing layer", exit 16), and nothing uses it. */
      g_autoptr(Fetch) h2c = fetch (url, "--http2-prior-knowledge", NULL);

      g_assert_cmpstr (h2c->version, ==, "2");
      assert_pattern (h2c, 0, PATTERN_SIZE);
    }

  /* The certificate is valid for the address too; HTTP/1.1 over TLS. */
  tls_ip = fetch (ip_url, "--cacert", env.ca_file, "--http1.1", NULL);
  g_assert_cmpuint (tls_ip->status, ==, 200);
  g_assert_cmpstr (tls_ip->version, ==, "1.1");
  assert_pattern (tls_ip, 0, PATTERN_SIZE);

  range = fetch (url, "-r", "10-19", NULL);
  g_assert_cmpuint (range->status, ==, 206);
  assert_pattern (range, 10, 10);

  after_end = fetch (url, "-r", "200000-", NULL);
  g_assert_cmpuint (after_end->status, ==, 416);

  /* Far apart: lighttpd merges near ranges into one (as RFC 9110 allows). */
  multi = fetch (url, "-r", "0-1,50000-50001", NULL);
  g_assert_cmpuint (multi->status, ==, 206);
  content_type = header_value (multi, "Content-Type");
  g_assert_true (g_str_has_prefix (content_type, "multipart/byteranges; boundary="));

  /* Types: interop.h. */
  g_clear_pointer (&content_type, g_free);
  content_type = header_value (plain, "Content-Type");
  g_assert_cmpstr (content_type, ==, "application/octet-stream");
  interop_env_write_file (&env, "hello.txt", "hello\n", 6, &error);
  g_assert_no_error (error);
  text_url = pattern_url (server.url, "hello.txt");
  text = fetch (text_url, NULL);
  g_assert_cmpuint (text->status, ==, 200);
  g_clear_pointer (&content_type, g_free);
  content_type = header_value (text, "Content-Type");
  g_assert_true (g_str_has_prefix (content_type, "text/plain"));

  missing_url = pattern_url (server.url, "no-such-file");
  missing = fetch (missing_url, NULL);
  g_assert_cmpuint (missing->status, ==, 404);

  /* The access log's format, interop.h's "Logs". */
  if (!interop_server_wait_for_log (&server, needle, 5000, &log))
    g_error ("%s's access log has no \"%s\": %s", server.name, needle, log ? log : "no log");
  assert_log_has_line (log, "200 100000 ", "\"-\" \"GET /pattern-100000 HTTP/1.1\"");
  assert_log_has_line (log, "200 100000 ", kind == INTEROP_H2O ?
                       "\"-\" \"GET /pattern-100000 HTTP/2\"" :
                       "\"-\" \"GET /pattern-100000 HTTP/2.0\"");

  interop_server_stop (&server);
}

/* A file replaced at once gets a new strong ETag and Last-Modified; a stale If-Range gets 200.
 * interop_env_replace_file(): a new ETag and Last-Modified, however soon,
 * and a strong ETag. */
static void
test_changed_file (gconstpointer data)
{
  InteropKind kind = GPOINTER_TO_UINT (data);
  InteropServer server;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *name = g_strdup_printf ("changing-%s", interop_kind_name (kind));
  g_autoptr(Fetch) before = NULL;
  g_autoptr(Fetch) after = NULL;
  g_autoptr(Fetch) conditional = NULL;
  g_autofree char *etag_before = NULL;
  g_autofree char *etag_after = NULL;
  g_autofree char *modified_before = NULL;
  g_autofree char *modified_after = NULL;
  g_autofree char *if_match = NULL;

  if (!start_or_skip (&server, kind, NULL))
    return;

  interop_env_write_file (&env, name, "first version", 13, &error);
  g_assert_no_error (error);
  url = pattern_url (server.url, name);

  before = fetch (url, NULL);
  g_assert_cmpuint (before->status, ==, 200);
  etag_before = header_value (before, "ETag");
  modified_before = header_value (before, "Last-Modified");
  g_assert_nonnull (etag_before);
  g_assert_nonnull (modified_before);
  g_assert_false (g_str_has_prefix (etag_before, "W/"));

  /* Same size, at once. */
  interop_env_replace_file (&env, name, "other version", 13, &error);
  g_assert_no_error (error);

  after = fetch (url, NULL);
  g_assert_cmpuint (after->status, ==, 200);
  g_assert_cmpmem (g_bytes_get_data (after->body, NULL), g_bytes_get_size (after->body),
                   "other version", 13);
  etag_after = header_value (after, "ETag");
  modified_after = header_value (after, "Last-Modified");
  g_assert_nonnull (etag_after);
  g_assert_false (g_str_has_prefix (etag_after, "W/"));
  g_assert_cmpstr (etag_after, !=, etag_before);
  g_assert_cmpstr (modified_after, !=, modified_before);

  /* A resume with the old validator: If-Range with the old ETag gets the
   * whole new file, not a 206. */
  if_match = g_strdup_printf ("If-Range: %s", etag_before);
  conditional = fetch (url, "-r", "5-", "-H", if_match, NULL);
  if (kind == INTEROP_H2O && conditional->status == 206)
    {
      /* A known quirk, see interop.h: the old file's range of the new
       * file. */
      g_test_message ("h2o ignores If-Range: 206 for a stale validator");
      g_assert_cmpuint (g_bytes_get_size (conditional->body), ==, 8);
    }
  else
    {
      g_assert_cmpuint (conditional->status, ==, 200);
      g_assert_cmpuint (g_bytes_get_size (conditional->body), ==, 13);
    }

  interop_server_stop (&server);
}

/* nginx's /slow/ is rate-limited, redirect-other-origin goes to url2, redirect307 keeps https. */
static void
test_nginx_extras (void)
{
  InteropServer server;
  InteropOptions options = { .limit_rate = "100k" };
  g_autofree char *slow_url = NULL;
  g_autofree char *other_url = NULL;
  g_autofree char *redirect_url = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *second_url = NULL;
  g_autofree char *tls_redirect_url = NULL;
  g_autofree char *tls_expected = NULL;
  g_autoptr(Fetch) slow = NULL;
  g_autoptr(Fetch) other = NULL;
  g_autoptr(Fetch) followed = NULL;
  g_autoptr(Fetch) second = NULL;
  g_autoptr(Fetch) redirect = NULL;
  g_autoptr(Fetch) tls_redirect = NULL;
  gint64 start;
  double seconds;

  if (!start_or_skip (&server, INTEROP_NGINX, &options))
    return;
  g_assert_cmpuint (server.port2, !=, 0);
  g_assert_nonnull (server.url2);

  /* 100000 bytes at 100 KiB/s: about a second (nginx sends in bursts of a
   * tenth of the rate, or so). */
  slow_url = pattern_url (server.url, "slow/pattern-100000");
  start = g_get_monotonic_time ();
  slow = fetch (slow_url, NULL);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("/slow/: 100000 bytes at 100k in %.2f s", seconds);
  g_assert_cmpuint (slow->status, ==, 200);
  assert_pattern (slow, 0, PATTERN_SIZE);
  g_assert_cmpfloat (seconds, >, 0.6);

  other_url = pattern_url (server.url, "redirect-other-origin/pattern-100000?x=1");
  expected = g_strdup_printf ("%s/pattern-100000?x=1", server.url2);
  other = fetch (other_url, NULL);
  g_assert_cmpuint (other->status, ==, 302);
  g_assert_cmpstr (other->redirect, ==, expected);
  followed = fetch (other_url, "-L", NULL);
  g_assert_cmpuint (followed->status, ==, 200);
  assert_pattern (followed, 0, PATTERN_SIZE);

  second_url = pattern_url (server.url2, "pattern-100000");
  second = fetch (second_url, NULL);
  assert_pattern (second, 0, PATTERN_SIZE);

  redirect_url = pattern_url (server.url, "redirect307/pattern-100000");
  g_clear_pointer (&expected, g_free);
  expected = pattern_url (server.url, "pattern-100000");
  redirect = fetch (redirect_url, NULL);
  g_assert_cmpuint (redirect->status, ==, 307);
  g_assert_cmpstr (redirect->redirect, ==, expected);

  /* On the TLS port, the 307 stays on https://localhost:TLS_PORT. */
  tls_redirect_url = pattern_url (server.tls_url, "redirect307/pattern-100000");
  tls_expected = pattern_url (server.tls_url, "pattern-100000");
  tls_redirect = fetch (tls_redirect_url, "--cacert", env.ca_file, NULL);
  g_assert_cmpuint (tls_redirect->status, ==, 307);
  g_assert_cmpstr (tls_redirect->redirect, ==, tls_expected);

  interop_server_stop (&server);
}

/* Apache's basic and digest areas: 401 and the realm with no or a wrong password, else 200. */
static void
test_apache_auth (void)
{
  const char *areas[] = { "basic", "digest" };
  InteropServer server;
  guint i;

  if (!start_or_skip (&server, INTEROP_APACHE, NULL))
    return;

  for (i = 0; i < G_N_ELEMENTS (areas); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/pattern-%u", areas[i], INTEROP_AUTH_FILE_SIZE);
      g_autofree char *url = pattern_url (server.url, path);
      g_autofree char *tls_url = pattern_url (server.tls_url, path);
      g_autofree char *challenge = NULL;
      const char *method = i == 0 ? "--basic" : "--digest";
      g_autoptr(Fetch) anonymous = fetch (url, NULL);
      g_autoptr(Fetch) wrong = fetch (url, method, "-u", INTEROP_USER ":wrong", NULL);
      g_autoptr(Fetch) right = fetch (url, method, "-u", INTEROP_USER ":" INTEROP_PASSWORD, NULL);
      g_autoptr(Fetch) tls = fetch (tls_url, "--cacert", env.ca_file, "--http2", method,
                                    "-u", INTEROP_USER ":" INTEROP_PASSWORD, NULL);

      g_assert_cmpuint (anonymous->status, ==, 401);
      challenge = header_value (anonymous, "WWW-Authenticate");
      g_assert_nonnull (challenge);
      g_assert_true (g_str_has_prefix (challenge, i == 0 ? "Basic " : "Digest "));
      g_assert_nonnull (strstr (challenge, "realm=\"" INTEROP_REALM "\""));
      g_assert_cmpuint (wrong->status, ==, 401);
      g_assert_cmpuint (right->status, ==, 200);
      assert_pattern (right, 0, INTEROP_AUTH_FILE_SIZE);
      g_assert_cmpuint (tls->status, ==, 200);
      g_assert_cmpstr (tls->version, ==, "2");
      assert_pattern (tls, 0, INTEROP_AUTH_FILE_SIZE);
    }

  interop_server_stop (&server);
}

/* The proxy's URL, with the credentials for SQUID_AUTH. */
static char *
proxy_url (InteropServer *proxy)
{
  if (proxy->kind == INTEROP_SQUID_AUTH)
    return g_strdup_printf ("http://%s:%s@127.0.0.1:%u", INTEROP_USER, INTEROP_PASSWORD,
                            proxy->port);

  return g_strdup (proxy->url);
}

/* A proxy forwards GETs and ranges by address and name, CONNECTs to any port, and logs them. */
static void
test_proxy (gconstpointer data)
{
  InteropKind kind = GPOINTER_TO_UINT (data);
  InteropServer proxy;
  InteropServer target;
  g_autofree char *via = NULL;
  g_autofree char *url = NULL;
  g_autofree char *by_name = NULL;
  g_autofree char *tls_url = NULL;
  g_autofree char *tls_ip_url = NULL;
  g_autofree char *needle = NULL;
  g_autofree char *log = NULL;
  g_autoptr(Fetch) get = NULL;
  g_autoptr(Fetch) get_by_name = NULL;
  g_autoptr(Fetch) range = NULL;
  g_autoptr(Fetch) connect = NULL;
  g_autoptr(Fetch) connect_ip = NULL;

  if (!start_target (&target))
    return;
  if (!start_or_skip (&proxy, kind, NULL))
    {
      interop_server_stop (&target);
      return;
    }
  via = proxy_url (&proxy);

  url = pattern_url (target.url, "pattern-100000");
  by_name = g_strdup_printf ("http://localhost:%u/pattern-100000", target.port);
  tls_url = pattern_url (target.tls_url, "pattern-100000");
  tls_ip_url = g_strdup_printf ("https://127.0.0.1:%u/pattern-100000", target.tls_port);

  if (kind == INTEROP_SQUID_AUTH)
    {
      g_autofree char *wrong_url = g_strdup_printf ("http://%s:wrong@127.0.0.1:%u",
                                                    INTEROP_USER, proxy.port);
      g_autoptr(Fetch) anonymous = fetch (url, "-x", proxy.url, NULL);
      g_autoptr(Fetch) wrong = fetch (url, "-x", wrong_url, NULL);
      g_autoptr(Fetch) tunnel = fetch (tls_url, "-x", proxy.url, "--cacert", env.ca_file, NULL);
      g_autofree char *challenge = NULL;

      g_assert_cmpuint (anonymous->status, ==, 407);
      challenge = header_value (anonymous, "Proxy-Authenticate");
      g_assert_cmpstr (challenge, ==, "Basic realm=\"" INTEROP_REALM "\"");
      g_assert_cmpuint (wrong->status, ==, 407);
      /* A CONNECT refused: curl fails the transfer. */
      g_assert_cmpint (tunnel->exit_code, ==, 56);
    }

  /* Absolute-form GET, by address and by name, on nginx's ephemeral port. */
  get = fetch (url, "-x", via, NULL);
  g_assert_cmpuint (get->status, ==, 200);
  assert_pattern (get, 0, PATTERN_SIZE);
  get_by_name = fetch (by_name, "-x", via, NULL);
  g_assert_cmpuint (get_by_name->status, ==, 200);
  assert_pattern (get_by_name, 0, PATTERN_SIZE);
  range = fetch (url, "-x", via, "-r", "10-19", NULL);
  g_assert_cmpuint (range->status, ==, 206);
  assert_pattern (range, 10, 10);

  /* CONNECT to ports other than 443, then TLS and h2 with nginx. */
  connect = fetch (tls_url, "-x", via, "--cacert", env.ca_file, "--http2", NULL);
  g_assert_cmpuint (connect->status, ==, 200);
  g_assert_cmpstr (connect->version, ==, "2");
  assert_pattern (connect, 0, PATTERN_SIZE);
  connect_ip = fetch (tls_ip_url, "-x", via, "--cacert", env.ca_file, NULL);
  g_assert_cmpuint (connect_ip->status, ==, 200);
  assert_pattern (connect_ip, 0, PATTERN_SIZE);

  /* The last request's line; squid writes a tunnel's when it closes. */
  if (kind == INTEROP_TINYPROXY)
    needle = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1", target.tls_port);
  else
    needle = g_strdup_printf ("\"CONNECT 127.0.0.1:%u HTTP/1.1\" TCP_TUNNEL", target.tls_port);
  if (!interop_server_wait_for_log (&proxy, needle, 5000, &log))
    g_error ("%s's log has no \"%s\": %s", proxy.name, needle, log ? log : "no log");
  if (kind == INTEROP_TINYPROXY)
    {
      g_autofree char *get_request = g_strdup_printf ("GET %s HTTP/1.1", url);

      g_assert_nonnull (strstr (log, get_request));
    }
  else
    {
      g_autofree char *range_request = g_strdup_printf ("\"bytes=10-19\" \"GET %s HTTP/1.1\" "
                                                        "TCP_MISS", url);
      g_autofree char *tunnel_request = g_strdup_printf ("\"-\" \"CONNECT localhost:%u HTTP/1.1\" "
                                                         "TCP_TUNNEL", target.tls_port);

      assert_log_has_line (log, "206 ", range_request);
      assert_log_has_line (log, "200 ", tunnel_request);
    }

  /* Elsewhere: refused without trying (squid). */
  if (kind != INTEROP_TINYPROXY)
    {
      g_autoptr(Fetch) elsewhere = fetch ("http://192.0.2.1/", "-x", via, NULL);

      g_assert_cmpuint (elsewhere->status, ==, 403);
    }

  interop_server_stop (&proxy);
  interop_server_stop (&target);
}

/* httpbin answers /get, /status, /bytes, /range (206), /basic-auth, and logs as interop.h says. */
static void
test_httpbin (void)
{
  InteropServer server;
  g_autofree char *get_url = NULL;
  g_autofree char *status_url = NULL;
  g_autofree char *bytes_url = NULL;
  g_autofree char *range_url = NULL;
  g_autofree char *auth_url = NULL;
  g_autofree char *log = NULL;
  g_autoptr(Fetch) get = NULL;
  g_autoptr(Fetch) status = NULL;
  g_autoptr(Fetch) bytes = NULL;
  g_autoptr(Fetch) range = NULL;
  g_autoptr(Fetch) anonymous = NULL;
  g_autoptr(Fetch) authenticated = NULL;
  g_autofree char *body = NULL;

  if (!start_or_skip (&server, INTEROP_HTTPBIN, NULL))
    return;

  get_url = pattern_url (server.url, "get?a=1");
  get = fetch (get_url, NULL);
  g_assert_cmpuint (get->status, ==, 200);
  body = g_strndup (g_bytes_get_data (get->body, NULL), g_bytes_get_size (get->body));
  g_assert_nonnull (strstr (body, "\"args\":{\"a\":\"1\"}"));

  status_url = pattern_url (server.url, "status/418");
  status = fetch (status_url, NULL);
  g_assert_cmpuint (status->status, ==, 418);

  bytes_url = pattern_url (server.url, "bytes/1000");
  bytes = fetch (bytes_url, NULL);
  g_assert_cmpuint (bytes->status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (bytes->body), ==, 1000);

  range_url = pattern_url (server.url, "range/1000");
  range = fetch (range_url, "-r", "10-19", NULL);
  g_assert_cmpuint (range->status, ==, 206);
  g_assert_cmpmem (g_bytes_get_data (range->body, NULL), g_bytes_get_size (range->body),
                   "klmnopqrst", 10);

  auth_url = pattern_url (server.url, "basic-auth/" INTEROP_USER "/" INTEROP_PASSWORD);
  anonymous = fetch (auth_url, NULL);
  g_assert_cmpuint (anonymous->status, ==, 401);
  authenticated = fetch (auth_url, "-u", INTEROP_USER ":" INTEROP_PASSWORD, NULL);
  g_assert_cmpuint (authenticated->status, ==, 200);

  if (!interop_server_wait_for_log (&server, "206 10 \"bytes=10-19\" \"GET /range/1000 HTTP/1.1\"",
                                    5000, &log))
    g_error ("httpbin's access log has no 206: %s", log ? log : "no log");
  assert_log_has_line (log, "418 ", "\"-\" \"GET /status/418 HTTP/1.1\"");

  interop_server_stop (&server);
}

/* pyftpdlib serves the pattern in EPSV, PASV and active mode, and a range; it logs the RETR. */
static void
test_ftp (void)
{
  InteropServer server;
  g_autofree char *url = NULL;
  g_autofree char *log = NULL;
  g_autoptr(Fetch) epsv = NULL;
  g_autoptr(Fetch) pasv = NULL;
  g_autoptr(Fetch) active = NULL;
  g_autoptr(Fetch) range = NULL;

  if (!start_or_skip (&server, INTEROP_FTP, NULL))
    return;
  g_assert_true (g_str_has_prefix (server.url, "ftp://127.0.0.1:"));

  url = pattern_url (server.url, "pattern-100000");
  epsv = fetch (url, NULL);
  g_assert_cmpuint (epsv->status, ==, 226);
  assert_pattern (epsv, 0, PATTERN_SIZE);
  pasv = fetch (url, "--disable-epsv", NULL);
  g_assert_cmpuint (pasv->status, ==, 226);
  assert_pattern (pasv, 0, PATTERN_SIZE);
  active = fetch (url, "-P", "127.0.0.1", NULL);
  g_assert_cmpuint (active->status, ==, 226);
  assert_pattern (active, 0, PATTERN_SIZE);
  range = fetch (url, "-r", "99990-", NULL);
  assert_pattern (range, 99990, 10);

  if (!interop_server_wait_for_log (&server, "pattern-100000 completed=1 bytes=100000", 5000, &log))
    g_error ("pyftpdlib's log has no RETR: %s", log ? log : "no log");

  interop_server_stop (&server);
}

/* Kill (a crash), then restart on the same ports. */
static void
test_restart (gconstpointer data)
{
  InteropKind kind = GPOINTER_TO_UINT (data);
  InteropServer server;
  InteropServer target = { 0, };
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Fetch) refused = NULL;
  guint16 port, tls_port;
  GPid pid;

  if (interop_kind_is_proxy (kind) && !start_target (&target))
    return;
  if (!start_or_skip (&server, kind, NULL))
    {
      interop_server_stop (&target);
      return;
    }
  port = server.port;
  tls_port = server.tls_port;
  assert_serves (&server, &target);

  pid = interop_server_get_pid (&server);
  g_assert_cmpint (pid, >, 0);
  interop_server_kill (&server);
  g_assert_null (server.process);
  g_assert_cmpint (interop_server_get_pid (&server), ==, 0);
  g_assert_true (wait_until_gone (pid, 2000));

  url = check_url (&server);
  refused = fetch (url, NULL);
  g_assert_cmpint (refused->exit_code, ==, 7);

  /* Twice: a restart after a restart works as well. */
  if (!interop_server_restart (&server, &error))
    g_error ("%s", error->message);
  g_assert_cmpuint (server.port, ==, port);
  g_assert_cmpuint (server.tls_port, ==, tls_port);
  g_assert_cmpint (interop_server_get_pid (&server), !=, pid);
  assert_serves (&server, &target);
  if (!interop_server_restart (&server, &error))
    g_error ("%s", error->message);
  assert_serves (&server, &target);

  pid = interop_server_get_pid (&server);
  interop_server_stop (&server);
  g_assert_null (server.url);
  g_assert_true (wait_until_gone (pid, 2000));
  interop_server_stop (&target);
}

/* The test program dies (SIGKILL, no cleanup): its server dies too. The
 * test runs itself in a subprocess, which writes the server's pid and its
 * env's directory to a file in this process's directory, then kills itself. */
static void
test_dies_with_test (gconstpointer data)
{
  InteropKind kind = GPOINTER_TO_UINT (data);
  g_autofree char *record = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  GPid pid;

  if (g_test_subprocess ())
    {
      InteropServer server;
      g_autofree char *line = NULL;

      record = g_strdup_printf ("%s/dies-%s", g_getenv (PARENT_DIR_VARIABLE),
                                interop_kind_name (kind));
      if (!interop_server_start (&server, &env, kind, &error))
        g_error ("%s", error->message);
      line = g_strdup_printf ("%d\n%s\n%u\n", (int) interop_server_get_pid (&server), env.dir,
                              server.port);
      g_file_set_contents (record, line, -1, &error);
      g_assert_no_error (error);
      raise (SIGKILL);
      return;
    }

  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return;
    }
  if (interop_missing (kind) != NULL)
    {
      g_test_skip (interop_missing (kind));
      return;
    }

  record = g_strdup_printf ("%s/dies-%s", env.dir, interop_kind_name (kind));
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_file_get_contents (record, &contents, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 3);
  pid = (GPid) g_ascii_strtoll (lines[0], NULL, 10);
  g_assert_cmpint (pid, >, 0);
  if (!wait_until_gone (pid, 3000))
    {
      kill (pid, SIGKILL);
      g_error ("%s (pid %d) outlived the test program", interop_kind_name (kind), (int) pid);
    }
  /* The subprocess's own directory. */
  g_assert_true (g_str_has_prefix (lines[1], g_get_tmp_dir ()));
  g_assert_nonnull (strstr (lines[1], "gcurl-interop-"));
  {
    InteropEnv orphan = { .dir = g_strdup (lines[1]) };

    interop_env_clear (&orphan);
  }
}

/* main */

/* "/interop/KIND/@test". */
static void
add_kind_test (const char    *test,
               InteropKind    kind,
               GTestDataFunc  func)
{
  g_autofree char *path = g_strdup_printf ("/interop/%s/%s", interop_kind_name (kind), test);

  g_test_add_data_func (path, GUINT_TO_POINTER (kind), func);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  InteropKind kind;
  int status;

  g_test_init (&argc, &argv, NULL);

  curl = g_find_program_in_path ("curl");
  if (!interop_env_init (&env, &error) ||
      !interop_env_write_pattern (&env, "pattern-100000", PATTERN_SIZE, &error))
    setup_error = g_strdup_printf ("Cannot make the test environment: %s", error->message);
  /* For the subprocesses of test_dies_with_test(); before any thread. */
  if (!g_test_subprocess () && env.dir != NULL)
    g_setenv (PARENT_DIR_VARIABLE, env.dir, TRUE);

  g_test_add_func ("/interop/missing", test_missing);
  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    if (interop_kind_is_web_server (kind))
      {
        add_kind_test ("serves", kind, test_web_server);
        add_kind_test ("changed-file", kind, test_changed_file);
      }
  g_test_add_func ("/interop/nginx/extras", test_nginx_extras);
  g_test_add_func ("/interop/apache2/auth", test_apache_auth);
  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    if (interop_kind_is_proxy (kind))
      add_kind_test ("proxies", kind, test_proxy);
  g_test_add_func ("/interop/httpbin/serves", test_httpbin);
  g_test_add_func ("/interop/ftp/serves", test_ftp);
  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    add_kind_test ("restart", kind, test_restart);
  for (kind = 0; kind < N_INTEROP_KINDS; kind++)
    add_kind_test ("dies-with-test", kind, test_dies_with_test);

  status = g_test_run ();

  interop_env_clear (&env);
  g_free (curl);
  g_free (setup_error);

  return status;
}
