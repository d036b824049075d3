/* test-mirrors.c: download_async with more URLs of the same file
 *
 * GCurlTransfer:mirrors (gcurl-transfer-mirrors.c) and the failover of
 * download_async (gcurl-download-mirrors.c): which URL serves, and that a
 * .part is continued on another server only on the same strong ETag.
 * Origins A and B serve /bytes/N with the same ETag "pattern-N"; the raw
 * server's /bytes/N cuts bodies and changes ETags on request.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"

#define SIZE 200000
#define CUT  70000

static TestServer *server;

typedef struct
{
  TestFixture base;
  GCurlMulti *multi;     /* base.multi */
  char       *dir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, data);
  fixture->multi = fixture->base.multi;
  /* Failover never waits; retries are the tests' own business. */
  g_object_set (fixture->multi, "retry-delay", 20, "download-retries", 0, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-mirrors-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  GDir *dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (fixture->dir, name, NULL);

      g_unlink (file);
    }
  g_dir_close (dir);
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GFile    *file;
  GError   *error;
} Result;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &r->error);
  r->done = TRUE;
}

static void
count_cb (GCurlTransfer *transfer,
          gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* Downloads @transfer to "file" in the fixture's folder; *@runs counts its
 * "finished". */
static gboolean
download (Fixture        *fixture,
          GCurlTransfer  *transfer,
          guint          *runs,
          GError        **error)
{
  g_autofree char *path = g_build_filename (fixture->dir, "file", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  Result r = { 0, };
  guint n = 0;
  gulong id = g_signal_connect (transfer, "finished", G_CALLBACK (count_cb), &n);

  g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &r);
  test_run_until (&r.done);
  g_signal_handler_disconnect (transfer, id);
  if (runs != NULL)
    *runs = n;
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

static void
assert_file_is_pattern (Fixture    *fixture,
                        const char *name,
                        guint64     len)
{
  g_autofree char *path = path_in (fixture, name);

  test_assert_file_is_pattern (path, len);
}

static gboolean
exists_in (Fixture    *fixture,
           const char *name)
{
  g_autofree char *path = path_in (fixture, name);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static char *
refused_url (const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", test_server_get_refused_port (), path);
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

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* The property and its accessors: NULL and empty mean none. */
static void
test_property (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/10");
  const char * const urls[] = { "http://a.example/f", "http://b.example/f", NULL };
  const char * const empty[] = { NULL };
  g_auto(GStrv) got = NULL;
  guint notified = 0;

  g_signal_connect (transfer, "notify::mirrors", G_CALLBACK (notify_count_cb), &notified);
  g_assert_null (g_curl_transfer_get_mirrors (transfer));
  g_curl_transfer_set_mirrors (transfer, urls);
  g_assert_cmpuint (notified, ==, 1);
  g_curl_transfer_set_mirrors (transfer, urls);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (g_strv_equal ((const char **) g_curl_transfer_get_mirrors (transfer),
                               (const char **) urls));
  g_object_get (transfer, "mirrors", &got, NULL);
  g_assert_true (g_strv_equal ((const char **) got, (const char **) urls));
  g_curl_transfer_set_mirrors (transfer, empty);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_null (g_curl_transfer_get_mirrors (transfer));
  g_object_set (transfer, "mirrors", urls, NULL);
  g_assert_cmpuint (notified, ==, 3);
  g_curl_transfer_set_mirrors (transfer, NULL);
  g_assert_cmpuint (notified, ==, 4);
  g_assert_null (g_curl_transfer_get_mirrors (transfer));
}

/* The primary refuses the connection: the mirror serves the file, and
 * effective-url says so; url does not change. Two runs. */
static void
test_primary_refused (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *primary = refused_url ("/bytes/" G_STRINGIFY (SIZE));
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  g_assert_true (download (fixture, transfer, &runs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (runs, ==, 2);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, mirror);
  g_assert_cmpstr (g_curl_transfer_get_url (transfer), ==, primary);
  g_assert_false (exists_in (fixture, "file.part"));
}

/* A 503 from the primary goes to the mirror at once: no retry of the
 * primary, whatever download-retries says. */
static void
test_primary_503 (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *primary = test_server_url (server, "/status/503");
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint before = test_server_get_path_count (server, "/status/503");

  g_object_set (fixture->multi, "download-retries", 3, NULL);
  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpuint (test_server_get_path_count (server, "/status/503") - before, ==, 1);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, mirror);
}

/* A 404 on the primary is a file that is not there: a mirror has it. */
static void
test_primary_404 (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *primary = test_server_url (server, "/status/404");
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
}

/* The primary cuts the body; the mirror has the same strong ETag, so it
 * continues the .part with a Range: origin B sees only that request. */
static void
test_resume_same_etag (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *primary = test_server_raw_url (server, "/bytes/%d?key=same-etag&fail=1&after=%d",
                                                  SIZE, CUT);
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autofree char *path = g_strdup_printf ("/bytes/%d", SIZE);
  g_autofree char *range_key = g_strdup_printf ("range /bytes/%d", SIZE);
  g_autofree char *content_range = g_strdup_printf ("bytes %d-%d/%d", CUT, SIZE - 1, SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint before = test_server_get_path_count (server, path);
  guint ranges_before = test_server_get_key_count (server, range_key);
  guint runs = 0;

  g_assert_true (download (fixture, transfer, &runs, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpuint (runs, ==, 2);
  /* One cut request to the raw server, one ranged one to origin B. */
  g_assert_cmpuint (test_server_get_path_count (server, path) - before, ==, 2);
  g_assert_cmpuint (test_server_get_key_count (server, range_key) - ranges_before, ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Range"), ==,
                   content_range);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, mirror);
}

/* The primary's file has another ETag than the mirror's: the mirror's
 * 206 does not continue the .part (origin B ignores If-Range), and the
 * file starts over from zero with a whole GET. Never spliced. */
static void
test_resume_other_etag (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *primary =
    test_server_raw_url (server, "/bytes/%d?key=other-etag&fail=1&after=%d&etag=elsewhere",
                         SIZE, CUT);
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autofree char *path = g_strdup_printf ("/bytes/%d", SIZE);
  g_autofree char *range_key = g_strdup_printf ("range /bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint before = test_server_get_path_count (server, path);
  guint ranges_before = test_server_get_key_count (server, range_key);

  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  /* The cut request, the refused 206, the whole GET. */
  g_assert_cmpuint (test_server_get_path_count (server, path) - before, ==, 3);
  g_assert_cmpuint (test_server_get_key_count (server, range_key) - ranges_before, ==, 1);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
}

/* A stall on the primary (no ETag there: /stall has none) goes to the
 * mirror, which gets no Range at all: nothing could prove the .part is
 * its file. */
static void
test_stall_no_etag (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *primary = test_server_raw_url (server, "/stall/%d/%d", SIZE, CUT);
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autofree char *range_key = g_strdup_printf ("range /bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint ranges_before = test_server_get_key_count (server, range_key);

  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpuint (test_server_get_key_count (server, range_key) - ranges_before, ==, 0);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
}

/* Every URL fails: the download fails with the last URL's error, after one
 * run per URL; the destination is not created, and no .part either (no
 * response had a body to keep). */
static void
test_all_fail (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *primary = refused_url ("/file");
  g_autofree char *mirror1 = test_server_url2 (server, "/status/503");
  g_autofree char *mirror2 = test_server_url (server, "/status/404");
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror1, mirror2, NULL);
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  g_assert_false (download (fixture, transfer, &runs, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 404);
  g_assert_cmpuint (runs, ==, 3);
  g_assert_false (exists_in (fixture, "file"));
  g_assert_false (exists_in (fixture, "file.part"));
}

/* A cut body on every URL: the .part stays, a verified prefix, for a
 * later G_CURL_DOWNLOAD_RESUME. */
static void
test_all_cut_keeps_part (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *primary = test_server_raw_url (server, "/bytes/%d?key=cut-a&fail=1&after=%d",
                                                  SIZE, CUT);
  g_autofree char *mirror = test_server_raw_url (server, "/bytes/%d?key=cut-b&fail=1&after=%d",
                                                 SIZE, CUT);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *part = path_in (fixture, "file.part");
  g_autofree char *contents = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, 2 * CUT);
  gsize size = 0;

  g_assert_false (download (fixture, transfer, NULL, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  g_assert_false (exists_in (fixture, "file"));
  /* The raw server's two URLs give the same ETag: the mirror continued. */
  g_assert_true (g_file_get_contents (part, &contents, &size, NULL));
  g_assert_cmpuint (size, ==, 2 * CUT);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, size);
  g_assert_cmpstr (sum, ==, expected);
}

/* A round is every URL once; download-retries then starts a new round
 * from the primary after its wait. */
static void
test_rounds (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *primary = test_server_raw_url (server, "/bytes/%d?key=round-a&fail=5&status=503",
                                                  SIZE);
  g_autofree char *mirror = test_server_raw_url (server, "/bytes/%d?key=round-b&fail=1&status=503",
                                                 SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  g_object_set (fixture->multi, "download-retries", 1, NULL);
  g_assert_true (download (fixture, transfer, &runs, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpuint (runs, ==, 4);
  g_assert_cmpuint (test_server_get_key_count (server, "round-a"), ==, 2);
  g_assert_cmpuint (test_server_get_key_count (server, "round-b"), ==, 2);
}

/* Without mirrors nothing changes: one run, the error of the URL. */
static void
test_no_mirrors (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *primary = refused_url ("/file");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (primary);
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  g_assert_false (download (fixture, transfer, &runs, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_cmpuint (runs, ==, 1);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, primary);
}

/* A file that does not match the expected checksum is fetched again from
 * zero, from the next URL. */
static void
test_checksum_next_mirror (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *primary = test_server_url (server, "/bytes/%d", SIZE - 1);
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autofree char *sum = test_pattern_sha256 (0, SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;

  g_curl_transfer_set_expected_checksum (transfer, G_CHECKSUM_SHA256, sum);
  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", SIZE);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, mirror);
}

/* Credentials in the primary URL go to the primary only; the application's
 * headers go to the mirror it chose. */
static void
test_credentials_not_sent (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *primary = g_strdup_printf ("http://%s:%s@127.0.0.1:%u/echo-headers",
                                              TEST_AUTH_USER, TEST_AUTH_PASSWORD,
                                              test_server_get_refused_port ());
  g_autofree char *mirror = test_server_raw_url (server, "/echo-headers");
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = path_in (fixture, "file");
  g_autofree char *echo = NULL;

  g_curl_transfer_set_request_header (transfer, "X-App", "chosen");
  g_assert_true (download (fixture, transfer, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &echo, NULL, NULL));
  g_assert_null (strstr (echo, "Authorization"));
  g_assert_null (strstr (echo, TEST_AUTH_PASSWORD));
  g_assert_nonnull (strstr (echo, "X-App: chosen"));
  g_assert_cmpstr (g_curl_transfer_get_effective_url (transfer), ==, mirror);
}

static void
directory_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Result *r = user_data;

  r->file = g_curl_multi_download_to_directory_finish (G_CURL_MULTI (source), result, &r->error);
  r->done = TRUE;
}

/* download_to_directory_async, built on download_async, fails over too. */
static void
test_directory (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *primary = refused_url ("/bytes/" G_STRINGIFY (SIZE));
  g_autofree char *mirror = test_server_url2 (server, "/bytes/%d", SIZE);
  g_autoptr(GCurlTransfer) transfer = transfer_with_mirrors (primary, mirror, NULL);
  g_autoptr(GFile) directory = g_file_new_for_path (fixture->dir);
  g_autofree char *name = NULL;
  Result r = { 0, };

  g_curl_multi_download_to_directory_async (fixture->multi, transfer, directory,
                                            G_CURL_DOWNLOAD_NONE, NULL, directory_cb, &r);
  test_run_until (&r.done);
  g_assert_no_error (r.error);
  name = g_file_get_basename (r.file);
  g_assert_cmpstr (name, ==, G_STRINGIFY (SIZE));
  assert_file_is_pattern (fixture, name, SIZE);
  g_clear_object (&r.file);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/mirrors/property", test_property);
  ADD_TEST ("/mirrors/primary-refused", test_primary_refused);
  ADD_TEST ("/mirrors/primary-503", test_primary_503);
  ADD_TEST ("/mirrors/primary-404", test_primary_404);
  ADD_TEST ("/mirrors/resume/same-etag", test_resume_same_etag);
  ADD_TEST ("/mirrors/resume/other-etag", test_resume_other_etag);
  ADD_TEST ("/mirrors/resume/stall-no-etag", test_stall_no_etag);
  ADD_TEST ("/mirrors/all-fail", test_all_fail);
  ADD_TEST ("/mirrors/all-fail/part-kept", test_all_cut_keeps_part);
  ADD_TEST ("/mirrors/rounds", test_rounds);
  ADD_TEST ("/mirrors/none", test_no_mirrors);
  ADD_TEST ("/mirrors/checksum-next-mirror", test_checksum_next_mirror);
  ADD_TEST ("/mirrors/credentials-not-sent", test_credentials_not_sent);
  ADD_TEST ("/mirrors/directory", test_directory);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
