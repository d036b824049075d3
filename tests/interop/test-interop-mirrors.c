/* test-interop-mirrors.c: download_async with mirrors, against real servers
 *
 * GCurlTransfer:mirrors (g_curl_transfer_set_mirrors()) with
 * g_curl_multi_download_async(), where the URLs are Debian's nginx, Apache
 * and h2o, started by tests/interop/interop.c, and the faults are a
 * refused port, a real 404 or 503, and the fault relay
 * (tests/test-fault-proxy.c) cutting or stalling a body mid-way:
 *
 *   - a failed primary (refused, nginx 404, Apache 503) goes on to the
 *     mirror at once, and the file saved is the served file, byte for byte;
 *     effective-url names the mirror, url and destination stay;
 *   - a .part begun on one server is continued on another only when both
 *     give it the same strong ETag (two nginx processes of the same file):
 *     the mirror's log has the Range of the rest, and a 206;
 *   - against a server with another ETag format (Apache), or a mirror with
 *     another version of the file that ignores If-Range (h2o), or one with
 *     no ETag but the same size and Last-Modified (h2o's /no-etag/), the
 *     file starts over from zero: never the head of one file with the tail
 *     of another;
 *   - a mirror that stalls mid-body hands over to the next one.
 *
 * Every check is on the bytes (SHA-256 of the file saved against the file
 * served, or the version expected), the transfer, and the servers' logs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "interop.h"
#include "test-fault-proxy.h"
#include "test-util.h"

/* The files served; the second version has the same size, other bytes. */
#define FILE_SIZE      (2 * 1024 * 1024 + 17)
#define V2_OFFSET      12345
/* Where the relay cuts or stalls the primary's response (headers
 * included). */
#define CUT_AT         (300 * 1024)
/* An earlier download, cancelled once this much has come, at this speed
 * (bytes/s). */
#define EARLIER_AT     (300 * 1024)
#define SLOW_SPEED     (1024 * 1024)

static InteropEnv env;
static char *setup_error;

static InteropServer servers[N_INTEROP_KINDS];
static gboolean started[N_INTEROP_KINDS];
/* A second nginx, another process on other ports serving the same
 * doc_root: the same strong ETags as the first. */
static InteropServer nginx_b;
static gboolean started_b;

/* Servers */

/* Skips (or fails) the test and returns FALSE unless every kind of @kinds
 * (ended by N_INTEROP_KINDS) runs. */
static gboolean
servers_run (const InteropKind *kinds)
{
  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return FALSE;
    }
  for (guint i = 0; kinds[i] != N_INTEROP_KINDS; i++)
    {
      if (interop_missing (kinds[i]) != NULL)
        {
          g_test_skip (interop_missing (kinds[i]));
          return FALSE;
        }
      g_assert_true (started[kinds[i]]);
      if (kinds[i] == INTEROP_NGINX)
        g_assert_true (started_b);
    }

  return TRUE;
}

#define NEED(...) \
  G_STMT_START { \
    const InteropKind needed_[] = { __VA_ARGS__, N_INTEROP_KINDS }; \
    if (!servers_run (needed_)) \
      return; \
  } G_STMT_END

static char *
url_of (const char *base,
        const char *path)
{
  return g_strconcat (base, "/", path, NULL);
}

static char *
refused_url (const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u/%s", test_server_get_refused_port (), path);
}

/* Test data */

static char *
file_sha256 (const char *path,
             gsize      *size)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  if (size != NULL)
    *size = len;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, len);
}

/* Writes doc_root/@path: the pattern from @offset, FILE_SIZE bytes, dated
 * an hour ago (interop_env_write_file()), or at @mtime if not 0. */
static void
serve (const char *path,
       guint64     offset,
       time_t      mtime)
{
  g_autofree guint8 *data = g_malloc (FILE_SIZE);
  g_autofree char *full = interop_env_path (&env, path);
  g_autoptr(GError) error = NULL;

  test_pattern_fill (offset, data, FILE_SIZE);
  g_assert_true (interop_env_write_file (&env, path, data, FILE_SIZE, &error));
  g_assert_no_error (error);
  if (mtime != 0)
    {
      struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

      g_assert_cmpint (utimensat (AT_FDCWD, full, times, 0), ==, 0);
    }
}

static time_t
served_mtime (const char *path)
{
  g_autofree char *full = interop_env_path (&env, path);
  GStatBuf st;

  g_assert_cmpint (g_stat (full, &st), ==, 0);
  return st.st_mtime;
}

/* Asserts that @dest is byte for byte doc_root/@served. */
static void
assert_file_is_served (const char *dest,
                       const char *served)
{
  g_autofree char *full = interop_env_path (&env, served);
  g_autofree char *expected = file_sha256 (full, NULL);
  g_autofree char *sum = NULL;
  gsize len = 0;

  g_assert_nonnull (expected);
  sum = file_sha256 (dest, &len);
  g_assert_nonnull (sum);
  g_assert_cmpuint (len, ==, FILE_SIZE);
  g_assert_cmpstr (sum, ==, expected);
}

/* Fixture: a multi with no retries (a failover that did not happen fails
 * the download) and a download directory. */

typedef struct
{
  TestFixture base;
  GCurlMulti *multi;
  char       *dir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, NULL);
  fixture->multi = fixture->base.multi;
  g_object_set (fixture->multi, "retry-delay", 100, "download-retries", 0, NULL);
  if (env.ca_file != NULL)
    g_object_set (fixture->multi, "tls-ca-file", env.ca_file, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-interop-mirrors-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  GDir *dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (fixture->dir, name, NULL);

      g_unlink (child);
    }
  /* Closed before the fd count of the teardown. */
  g_clear_pointer (&dir, g_dir_close);
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

/* Downloads */

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
  DownloadResult *dr = user_data;

  dr->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &dr->error);
  dr->done = TRUE;
}

static void
count_cb (GCurlTransfer *transfer,
          gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* Downloads @transfer to @path; *@runs (if not NULL) gets the number of
 * its runs ("finished"). */
static gboolean
download (GCurlMulti          *multi,
          GCurlTransfer       *transfer,
          const char          *path,
          GCurlDownloadFlags   flags,
          GCancellable        *cancellable,
          guint               *runs,
          GError             **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  DownloadResult dr = { 0, };
  guint n = 0;
  gulong id = g_signal_connect (transfer, "finished", G_CALLBACK (count_cb), &n);

  g_curl_multi_download_async (multi, transfer, file, flags, cancellable, download_cb, &dr);
  test_run_until (&dr.done);
  g_signal_handler_disconnect (transfer, id);
  if (runs != NULL)
    *runs = n;
  if (dr.error != NULL)
    g_propagate_error (error, dr.error);
  return dr.ok;
}

static GCurlTransfer *
transfer_with_mirrors (const char *url,
                       ...) G_GNUC_NULL_TERMINATED;

static GCurlTransfer *
transfer_with_mirrors (const char *url,
                       ...)
{
  GCurlTransfer *transfer = g_curl_transfer_new (url);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) mirrors = NULL;
  const char *mirror;
  va_list args;

  va_start (args, url);
  while ((mirror = va_arg (args, const char *)) != NULL)
    g_strv_builder_add (builder, mirror);
  va_end (args);
  mirrors = g_strv_builder_end (builder);
  g_curl_transfer_set_mirrors (transfer, (const char * const *) mirrors);

  return transfer;
}

/* Asserts what a successful download with mirrors leaves: @dest (and no
 * .part), the transfer's destination, its url unchanged and effective-url
 * naming @served_by. */
static void
assert_downloaded (GCurlTransfer *transfer,
                   const char    *dest,
                   const char    *served,
                   const char    *url,
                   const char    *served_by)
{
  g_autoptr(GFile) file = g_file_new_for_path (dest);
  g_autofree char *part = g_strconcat (dest, ".part", NULL);

  g_test_message ("served by %s, ETag %s, Last-Modified %s", served_by,
                  g_curl_transfer_get_response_header (transfer, "ETag"),
                  g_curl_transfer_get_response_header (transfer, "Last-Modified"));
  assert_file_is_served (dest, served);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_nonnull (g_curl_transfer_get_destination (transfer));
  g_assert_true (g_file_equal (g_curl_transfer_get_destination (transfer), file));
  g_assert_cmpstr (g_curl_transfer_get_url (transfer), ==, url);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, served_by);
}

typedef struct
{
  GCancellable *cancellable;
  gint64        at;
} CancelAt;

static void
cancel_at_cb (GCurlTransfer *transfer,
              gint64         downloaded,
              gint64         download_size,
              gint64         uploaded,
              gint64         upload_size,
              gpointer       user_data)
{
  CancelAt *c = user_data;

  if (downloaded >= c->at)
    g_cancellable_cancel (c->cancellable);
}

/* An earlier download of @url into @dest, without mirrors, cancelled
 * after EARLIER_AT bytes: leaves a .part. Returns its size. */
static gsize
download_part (GCurlMulti *multi,
               const char *url,
               const char *dest)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *part = g_strconcat (dest, ".part", NULL);
  CancelAt c = { cancellable, EARLIER_AT };
  GStatBuf st;

  g_curl_transfer_set_max_download_speed (transfer, SLOW_SPEED);
  g_signal_connect (transfer, "progress", G_CALLBACK (cancel_at_cb), &c);
  g_assert_false (download (multi, transfer, dest, G_CURL_DOWNLOAD_RESUME, cancellable, NULL,
                            &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_stat (part, &st), ==, 0);
  g_assert_cmpint (st.st_size, >=, EARLIER_AT);
  g_assert_cmpint (st.st_size, <, FILE_SIZE);
  return st.st_size;
}

/* Logs */

typedef struct
{
  guint   status;
  guint64 bytes;
  gint64  range_from;   /* the N of "bytes=N-", -1 without a Range */
} Request;

/* The requests of @server's access log for /@path (GET, any protocol), in
 * order; waits (at most 2 s) until there are at least @n. */
static GArray *
requests_of (InteropServer *server,
             const char    *path,
             guint          n)
{
  g_autofree char *needle = g_strdup_printf ("\"GET /%s HTTP/", path);
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  GArray *requests = g_array_new (FALSE, FALSE, sizeof (Request));

  for (;;)
    {
      g_autofree char *log = interop_server_read_log (server);
      g_auto(GStrv) lines = log != NULL ? g_strsplit (log, "\n", -1) : NULL;

      g_array_set_size (requests, 0);
      for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
        {
          Request r = { 0, 0, -1 };
          char range[64] = "";

          if (strstr (lines[i], needle) == NULL)
            continue;
          g_assert_cmpint (sscanf (lines[i], "%u %" G_GUINT64_FORMAT " \"%63[^\"]\"", &r.status,
                                   &r.bytes, range), ==, 3);
          if (g_str_has_prefix (range, "bytes="))
            {
              char *end = NULL;

              r.range_from = g_ascii_strtoll (range + strlen ("bytes="), &end, 10);
              g_assert_cmpstr (end, ==, "-");
            }
          g_array_append_val (requests, r);
        }
      if (requests->len >= n || g_get_monotonic_time () > deadline)
        return requests;
      g_usleep (20 * 1000);
    }
}

static const Request *
request_at (GArray *requests,
            guint   i)
{
  return &g_array_index (requests, Request, i);
}

/* A relay in front of nginx whose first response is cut by @kind after
 * CUT_AT bytes; the others go through. */
static TestFaultProxy *
faulty_nginx (TestFaultKind kind)
{
  TestFaultPlan plan = { kind, CUT_AT, 0, 1 };
  g_autoptr(GError) error = NULL;
  TestFaultProxy *relay = test_fault_proxy_new ("127.0.0.1", servers[INTEROP_NGINX].port,
                                                &error);

  g_assert_no_error (error);
  test_fault_proxy_set_plan (relay, &plan);
  return relay;
}

/* Failed primaries */

/* Nothing listens at the primary: nginx, the mirror, serves the file
 * whole, in a second run. */
static void
test_primary_refused (Fixture       *fixture,
                      gconstpointer  data)
{
  const char *name = "mirrors/refused.bin";
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "refused.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) requests = NULL;
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  NEED (INTEROP_NGINX);

  serve (name, 0, 0);
  primary = refused_url (name);
  mirror = url_of (servers[INTEROP_NGINX].url, name);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  assert_downloaded (transfer, dest, name, primary, mirror);

  requests = requests_of (&servers[INTEROP_NGINX], name, 1);
  g_assert_cmpuint (requests->len, ==, 1);
  g_assert_cmpuint (request_at (requests, 0)->status, ==, 200);
  g_assert_cmpuint (request_at (requests, 0)->bytes, ==, FILE_SIZE);
}

/* nginx has no such file (a real 404): Apache, the mirror, serves it; no
 * error page is saved. */
static void
test_primary_404 (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *name = "mirrors/not-on-nginx.bin";
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "not-on-nginx.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_nginx = NULL;
  g_autoptr(GArray) on_apache = NULL;
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  NEED (INTEROP_NGINX, INTEROP_APACHE);

  serve (name, 0, 0);
  primary = url_of (servers[INTEROP_NGINX].url, "mirrors/missing/not-on-nginx.bin");
  mirror = url_of (servers[INTEROP_APACHE].url, name);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_nginx = requests_of (&servers[INTEROP_NGINX], "mirrors/missing/not-on-nginx.bin", 1);
  g_assert_cmpuint (on_nginx->len, ==, 1);
  g_assert_cmpuint (request_at (on_nginx, 0)->status, ==, 404);
  on_apache = requests_of (&servers[INTEROP_APACHE], name, 1);
  g_assert_cmpuint (on_apache->len, ==, 1);
  g_assert_cmpuint (request_at (on_apache, 0)->status, ==, 200);
}

/* Apache answers 503: nginx, the mirror, serves the file at once, with
 * retries left (no second request to Apache, no wait). */
static void
test_primary_503 (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *name = "mirrors/unavailable.bin";
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "unavailable.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_apache = NULL;
  g_autoptr(GArray) on_nginx = NULL;
  g_autoptr(GError) error = NULL;
  guint runs = 0;
  gint64 start;

  NEED (INTEROP_NGINX, INTEROP_APACHE);

  serve (name, 0, 0);
  primary = url_of (servers[INTEROP_APACHE].url, "unavailable/mirrors/unavailable.bin");
  mirror = url_of (servers[INTEROP_NGINX].url, name);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  /* A retry would wait 10 s: the test's deadline would see it. */
  g_object_set (fixture->multi, "download-retries", 2, "retry-delay", 10000, NULL);
  start = g_get_monotonic_time ();
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (runs, ==, 2);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_apache = requests_of (&servers[INTEROP_APACHE], "unavailable/mirrors/unavailable.bin", 1);
  g_assert_cmpuint (on_apache->len, ==, 1);
  g_assert_cmpuint (request_at (on_apache, 0)->status, ==, 503);
  on_nginx = requests_of (&servers[INTEROP_NGINX], name, 1);
  g_assert_cmpuint (on_nginx->len, ==, 1);
  g_assert_cmpuint (request_at (on_nginx, 0)->status, ==, 200);
}

/* A .part across servers */

/* nginx's response is cut after CUT_AT bytes; the second nginx, another
 * server with the same strong ETag for the file, continues the .part:
 * one Range request for the rest, a 206, and the file whole. */
static void
test_part_same_etag (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *name = "mirrors/same-etag.bin";
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "same-etag.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_b = NULL;
  g_autoptr(GError) error = NULL;
  const Request *r;
  guint runs = 0;

  NEED (INTEROP_NGINX);

  serve (name, 0, 0);
  relay = faulty_nginx (TEST_FAULT_RESET);
  primary = test_fault_proxy_url (relay, NULL, "/mirrors/same-etag.bin");
  mirror = url_of (nginx_b.url, name);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_b = requests_of (&nginx_b, name, 1);
  g_assert_cmpuint (on_b->len, ==, 1);
  r = request_at (on_b, 0);
  g_test_message ("the second nginx sent %" G_GUINT64_FORMAT " bytes from %" G_GINT64_FORMAT,
                  r->bytes, r->range_from);
  g_assert_cmpuint (r->status, ==, 206);
  g_assert_cmpint (r->range_from, >, 0);
  g_assert_cmpint (r->range_from, <, CUT_AT);
  g_assert_cmpuint (r->bytes, ==, FILE_SIZE - r->range_from);
}

/* nginx's response is cut; Apache, the mirror, has the same file with an
 * ETag of its own format: the file starts over from zero there (one
 * request, a 200 of the whole file), never continued. */
static void
test_part_other_etag (Fixture       *fixture,
                      gconstpointer  data)
{
  const char *name = "mirrors/other-etag.bin";
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "other-etag.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_apache = NULL;
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  NEED (INTEROP_NGINX, INTEROP_APACHE);

  serve (name, 0, 0);
  relay = faulty_nginx (TEST_FAULT_RESET);
  primary = test_fault_proxy_url (relay, NULL, "/mirrors/other-etag.bin");
  mirror = url_of (servers[INTEROP_APACHE].url, name);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_apache = requests_of (&servers[INTEROP_APACHE], name, 1);
  g_assert_cmpuint (on_apache->len, ==, 1);
  g_test_message ("Apache's request: Range from %" G_GINT64_FORMAT,
                  request_at (on_apache, 0)->range_from);
  g_assert_cmpuint (request_at (on_apache, 0)->status, ==, 200);
  g_assert_cmpuint (request_at (on_apache, 0)->bytes, ==, FILE_SIZE);
}

/* The .part is nginx's cut version 1; the mirror, h2o, has another
 * version of the file (same size, synced a second later: another ETag)
 * and ignores If-Range, answering the Range with a 206 of its own bytes:
 * refused, and version 2 fetched whole. A splice would be version 1's
 * head with version 2's tail. */
static void
test_part_other_version (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *v1 = "mirrors/a/other-version.bin";
  const char *v2 = "mirrors/b/other-version.bin";
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "other-version.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_h2o = NULL;
  g_autoptr(GError) error = NULL;
  const Request *last;

  NEED (INTEROP_NGINX, INTEROP_H2O);

  serve (v1, 0, 0);
  serve (v2, V2_OFFSET, served_mtime (v1) + 1);
  relay = faulty_nginx (TEST_FAULT_RESET);
  primary = test_fault_proxy_url (relay, NULL, "/mirrors/a/other-version.bin");
  mirror = url_of (servers[INTEROP_H2O].url, v2);
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, NULL,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  assert_downloaded (transfer, dest, v2, primary, mirror);

  on_h2o = requests_of (&servers[INTEROP_H2O], v2, 1);
  g_assert_cmpuint (on_h2o->len, >=, 1);
  for (guint i = 0; i < on_h2o->len; i++)
    g_test_message ("h2o: %u, %" G_GUINT64_FORMAT " bytes, Range from %" G_GINT64_FORMAT,
                    request_at (on_h2o, i)->status, request_at (on_h2o, i)->bytes,
                    request_at (on_h2o, i)->range_from);
  last = request_at (on_h2o, on_h2o->len - 1);
  g_assert_cmpuint (last->status, ==, 200);
  g_assert_cmpuint (last->bytes, ==, FILE_SIZE);
}

/* The .part is nginx's cut version 1 (an ETag, a Last-Modified); the
 * mirror, h2o's /no-etag/, has another version of the same size and the
 * same Last-Modified, and no ETag, and ignores If-Range: its 206 agrees
 * with every validator it has, but shares no strong ETag with nginx's,
 * so the file starts over (version 2 whole), never spliced. */
static void
test_part_no_etag (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *v1 = "mirrors/a/no-etag.bin";
  const char *v2 = "mirrors/b/no-etag.bin";
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "no-etag.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_h2o = NULL;
  g_autoptr(GError) error = NULL;
  const Request *last;

  NEED (INTEROP_NGINX, INTEROP_H2O);

  serve (v1, 0, 0);
  serve (v2, V2_OFFSET, served_mtime (v1));
  relay = faulty_nginx (TEST_FAULT_RESET);
  primary = test_fault_proxy_url (relay, NULL, "/mirrors/a/no-etag.bin");
  mirror = url_of (servers[INTEROP_H2O].url, "no-etag/mirrors/b/no-etag.bin");
  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, NULL,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  g_assert_null (g_curl_transfer_get_response_header (transfer, "ETag"));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  assert_downloaded (transfer, dest, v2, primary, mirror);

  on_h2o = requests_of (&servers[INTEROP_H2O], "no-etag/mirrors/b/no-etag.bin", 1);
  g_assert_cmpuint (on_h2o->len, >=, 1);
  for (guint i = 0; i < on_h2o->len; i++)
    g_test_message ("h2o: %u, %" G_GUINT64_FORMAT " bytes, Range from %" G_GINT64_FORMAT,
                    request_at (on_h2o, i)->status, request_at (on_h2o, i)->bytes,
                    request_at (on_h2o, i)->range_from);
  last = request_at (on_h2o, on_h2o->len - 1);
  g_assert_cmpuint (last->status, ==, 200);
  g_assert_cmpuint (last->bytes, ==, FILE_SIZE);
}

/* A .part left by an earlier download of nginx's file (its URL is not
 * known), resumed with the primary refused: the second nginx (same strong
 * ETag) continues it with a 206 of the rest; Apache (another ETag)
 * starts over with a 200 of the whole file. */
static void
check_earlier_part (Fixture       *fixture,
                    InteropServer *mirror_server,
                    gboolean       continues)
{
  g_autofree char *name = g_strdup_printf ("mirrors/earlier-%s.bin", mirror_server->name);
  g_autofree char *first = url_of (servers[INTEROP_NGINX].url, name);
  g_autofree char *primary = refused_url (name);
  g_autofree char *mirror = url_of (mirror_server->url, name);
  g_autofree char *dest = path_in (fixture, "earlier.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_mirror = NULL;
  g_autoptr(GError) error = NULL;
  const Request *r;
  gsize partial;
  guint runs = 0;

  serve (name, 0, 0);
  partial = download_part (fixture->multi, first, dest);

  transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_RESUME, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, continues ? 206 : 200);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_mirror = requests_of (mirror_server, name, 1);
  g_assert_cmpuint (on_mirror->len, ==, 1);
  r = request_at (on_mirror, 0);
  if (continues)
    {
      g_assert_cmpuint (r->status, ==, 206);
      g_assert_cmpint (r->range_from, ==, partial);
      g_assert_cmpuint (r->bytes, ==, FILE_SIZE - partial);
    }
  else
    {
      g_assert_cmpuint (r->status, ==, 200);
      g_assert_cmpuint (r->bytes, ==, FILE_SIZE);
    }
}

static void
test_earlier_part_same_etag (Fixture       *fixture,
                             gconstpointer  data)
{
  NEED (INTEROP_NGINX);

  check_earlier_part (fixture, &nginx_b, TRUE);
}

static void
test_earlier_part_other_etag (Fixture       *fixture,
                              gconstpointer  data)
{
  NEED (INTEROP_NGINX, INTEROP_APACHE);

  check_earlier_part (fixture, &servers[INTEROP_APACHE], FALSE);
}

/* A stalling mirror */

/* The primary is refused; the first mirror (nginx behind the relay) goes
 * silent after CUT_AT bytes; after the stall timeout (1 s) the second
 * mirror, the second nginx, continues the .part with the same strong
 * ETag. Three runs. */
static void
test_stall_next_mirror (Fixture       *fixture,
                        gconstpointer  data)
{
  const char *name = "mirrors/stall.bin";
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *stalling = NULL;
  g_autofree char *mirror = NULL;
  g_autofree char *dest = path_in (fixture, "stall.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GArray) on_b = NULL;
  g_autoptr(GError) error = NULL;
  const Request *r;
  guint runs = 0;

  NEED (INTEROP_NGINX);

  serve (name, 0, 0);
  relay = faulty_nginx (TEST_FAULT_STALL);
  primary = refused_url (name);
  stalling = test_fault_proxy_url (relay, NULL, "/mirrors/stall.bin");
  mirror = url_of (nginx_b.url, name);
  transfer = transfer_with_mirrors (primary, stalling, mirror, NULL);
  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &runs,
                           &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 3);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  assert_downloaded (transfer, dest, name, primary, mirror);

  on_b = requests_of (&nginx_b, name, 1);
  g_assert_cmpuint (on_b->len, ==, 1);
  r = request_at (on_b, 0);
  g_assert_cmpuint (r->status, ==, 206);
  g_assert_cmpint (r->range_from, >, 0);
  g_assert_cmpint (r->range_from, <, CUT_AT);
  g_assert_cmpuint (r->bytes, ==, FILE_SIZE - r->range_from);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const InteropKind kinds[] = { INTEROP_NGINX, INTEROP_APACHE, INTEROP_H2O };
  int ret;
  guint i;

  g_test_init (&argc, &argv, NULL);
  test_util_set_server (NULL);

  /* Started before the tests, whose fixtures count the fds the servers
   * do not have. */
  if (!interop_env_init (&env, &error))
    setup_error = g_strdup (error->message);
  for (i = 0; i < G_N_ELEMENTS (kinds) && setup_error == NULL; i++)
    {
      if (interop_missing (kinds[i]) != NULL)
        continue;
      if (!interop_server_start (&servers[kinds[i]], &env, kinds[i], &error))
        setup_error = g_strdup (error->message);
      else
        started[kinds[i]] = TRUE;
    }
  if (setup_error == NULL && started[INTEROP_NGINX])
    {
      if (!interop_server_start (&nginx_b, &env, INTEROP_NGINX, &error))
        setup_error = g_strdup (error->message);
      else
        started_b = TRUE;
    }

  ADD_TEST ("/interop/mirrors/primary-refused", test_primary_refused);
  ADD_TEST ("/interop/mirrors/primary-404", test_primary_404);
  ADD_TEST ("/interop/mirrors/primary-503", test_primary_503);
  ADD_TEST ("/interop/mirrors/part/same-etag", test_part_same_etag);
  ADD_TEST ("/interop/mirrors/part/other-etag", test_part_other_etag);
  ADD_TEST ("/interop/mirrors/part/other-version", test_part_other_version);
  ADD_TEST ("/interop/mirrors/part/no-etag", test_part_no_etag);
  ADD_TEST ("/interop/mirrors/part/earlier-same-etag", test_earlier_part_same_etag);
  ADD_TEST ("/interop/mirrors/part/earlier-other-etag", test_earlier_part_other_etag);
  ADD_TEST ("/interop/mirrors/stall-next-mirror", test_stall_next_mirror);

  ret = g_test_run ();

  interop_server_stop (&nginx_b);
  for (i = 0; i < N_INTEROP_KINDS; i++)
    interop_server_stop (&servers[i]);
  interop_env_clear (&env);
  g_free (setup_error);

  return ret;
}
