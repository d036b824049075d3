/* test-download-directory.c: download_to_directory_async, the download
 * the server names
 *
 * Every download goes into "downloads", a folder inside a folder of its
 * own ("parent"), which the tests list before and after: a hostile name
 * must never put a file anywhere else.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"
#include "gcurl-download-private.h"
#include "gcurl-filename-private.h"

static TestServer *server;

typedef struct
{
  TestFixture base;
  GCurlMulti *multi;     /* base.multi */
  char       *parent;
  char       *dir;       /* parent/downloads */
  GFile      *directory;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, data);
  fixture->multi = fixture->base.multi;
  g_object_set (fixture->multi, "retry-delay", 20, NULL);
  fixture->parent = g_dir_make_tmp ("gcurl-directory-XXXXXX", NULL);
  g_assert_nonnull (fixture->parent);
  fixture->dir = g_build_filename (fixture->parent, "downloads", NULL);
  g_assert_cmpint (g_mkdir (fixture->dir, 0700), ==, 0);
  fixture->directory = g_file_new_for_path (fixture->dir);
}

static void
empty_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      if (g_file_test (file, G_FILE_TEST_IS_DIR) && !g_file_test (file, G_FILE_TEST_IS_SYMLINK))
        {
          empty_dir (file);
          g_rmdir (file);
        }
      else
        g_unlink (file);
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  empty_dir (fixture->parent);
  g_rmdir (fixture->parent);
  g_clear_object (&fixture->directory);
  g_free (fixture->dir);
  g_free (fixture->parent);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The names in @path, sorted, joined with '|'. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return g_strjoinv ("|", (char **) names->pdata);
}

typedef struct
{
  gboolean  done;
  GFile    *file;
  GError   *error;
} Result;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->file = g_curl_multi_download_to_directory_finish (G_CURL_MULTI (source), result, &r->error);
  r->done = TRUE;
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Downloads @transfer into the fixture's folder; returns the file (or NULL
 * with @error), checking that "destination" was notified once with it. */
static GFile *
download (Fixture             *fixture,
          GCurlTransfer       *transfer,
          GCurlDownloadFlags   flags,
          GCancellable        *cancellable,
          GError             **error)
{
  Result r = { 0, };
  guint notified = 0;
  gulong id = g_signal_connect (transfer, "notify::destination", G_CALLBACK (count_cb), &notified);

  g_curl_multi_download_to_directory_async (fixture->multi, transfer, fixture->directory, flags,
                                            cancellable, download_cb, &r);
  g_assert_false (r.done);
  test_run_until (&r.done);
  g_signal_handler_disconnect (transfer, id);

  if (r.file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (r.file);

      g_assert_no_error (r.error);
      g_assert_cmpuint (notified, ==, 1);
      g_assert_true (g_file_equal (g_curl_transfer_get_destination (transfer), r.file));
      g_assert_true (g_file_equal (parent, fixture->directory));
    }
  else
    g_propagate_error (error, r.error);

  return r.file;
}

static void
assert_listing (const char *path,
                const char *expected)
{
  g_autofree char *listing = list_dir (path);

  g_assert_cmpstr (listing, ==, expected);
}

static void
assert_pattern (GFile   *file,
                guint64  len)
{
  g_autofree char *path = g_file_get_path (file);

  test_assert_file_is_pattern (path, len);
}

/* A transfer of /disposition/LEN[PATH] with Content-Disposition @cd. */
static GCurlTransfer *
disposition_transfer (guint       len,
                      const char *path,
                      const char *cd)
{
  g_autofree char *escaped = cd != NULL ? g_uri_escape_string (cd, NULL, FALSE) : NULL;

  return test_transfer_new_printf (server, "/disposition/%u%s%s%s", len, path,
                                   cd != NULL ? "?cd=" : "", cd != NULL ? escaped : "");
}

/* Downloads @transfer, 1000 pattern bytes, and checks it became @name. */
static void
assert_downloads_as (Fixture       *fixture,
                     GCurlTransfer *transfer,
                     const char    *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = download (fixture, transfer, G_CURL_DOWNLOAD_NONE, NULL, &error);
  g_autofree char *basename = NULL;

  g_assert_no_error (error);
  basename = g_file_get_basename (file);
  g_assert_cmpstr (basename, ==, name);
  assert_pattern (file, 1000);
}

static void
test_name_filename_star (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    disposition_transfer (1000, "/url.bin",
                          "attachment; filename=\"fallback.bin\"; "
                          "filename*=UTF-8''%E2%82%AC%20rates.bin");

  assert_downloads_as (fixture, transfer, "€ rates.bin");
  assert_listing (fixture->dir, "€ rates.bin");
}

static void
test_name_filename (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    disposition_transfer (1000, "/url.bin", "inline; FILENAME=\"report \\\"final\\\".pdf\"");

  assert_downloads_as (fixture, transfer, "report _final_.pdf");
}

/* No Content-Disposition: the final URL's name, not the first one's. */
static void
test_name_url_after_redirect (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/redirect-to?url=/disposition/1000/caf%%25C3%%25A9.txt");

  assert_downloads_as (fixture, transfer, "café.txt");
}

static void
test_name_index_html (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = disposition_transfer (1000, "/", "attachment");

  assert_downloads_as (fixture, transfer, "index.html");
}

/* Each hostile name becomes a visible file in the folder, and nothing
 * appears anywhere else. */
static void
test_hostile_names (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *long_stem = g_strnfill (300, 'a');
  g_autofree char *long_cd = g_strdup_printf ("attachment; filename=\"%s.txt\"", long_stem);
  g_autofree char *long_name = NULL;
  g_autofree char *parent_before = list_dir (fixture->parent);
  /* What "../../" from the folder would reach: the temporary folder. */
  const char *escapes[] = { "x", "up.txt", "win.ini", "x.part", "up.txt.part", "win.ini.part" };
  gboolean escaped_before[G_N_ELEMENTS (escapes)];
  const struct { const char *cd; const char *name; } cases[] = {
    { "attachment; filename=\"../../x\"", "x" },
    { "attachment; filename=\"/etc/passwd\"", "passwd" },
    { "attachment; filename*=UTF-8''..%2F..%2Fup.txt", "up.txt" },
    { "attachment; filename=\"..\"", "index.html" },
    { "attachment; filename=\".\"", "index.html" },
    { "attachment; filename=\".bashrc\"", "bashrc" },
    { "attachment; filename*=UTF-8''a%01b%1Fc%7F.txt", "a_b_c_.txt" },
    { "attachment; filename*=UTF-8''line%0D%0Abreak.txt", "line__break.txt" },
    { "attachment; filename*=UTF-8''evil%00.txt", "evil_.txt" },
    { "attachment; filename=\"..\\\\..\\\\win.ini\"", "win.ini" },
    { "attachment; filename*=UTF-8''bad%FF%FE.txt", "bad\xef\xbf\xbd\xef\xbf\xbd.txt" },
    { "attachment; filename=\". . .\"", "index.html" },
    { "attachment; filename=\"   \"", "index.html" },
    { "attachment; filename=\"a<b>c:d|e?f*g.txt\"", "a_b_c_d_e_f_g.txt" },
    { "attachment; filename*=UTF-8''invoice%E2%80%AEtxt.exe", "invoice_txt.exe" },
    { long_cd, NULL },
  };

  g_autofree char *long_expected_stem = g_strnfill (GCURL_FILENAME_MAX - 4, 'a');

  long_name = g_strconcat (long_expected_stem, ".txt", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (escapes); i++)
    {
      g_autofree char *path = g_build_filename (g_get_tmp_dir (), escapes[i], NULL);

      escaped_before[i] = g_file_test (path, G_FILE_TEST_EXISTS);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GCurlTransfer) transfer = disposition_transfer (1000, "/", cases[i].cd);
      const char *expected = cases[i].name != NULL ? cases[i].name : long_name;
      g_autofree char *listing = NULL;

      g_test_message ("%s", cases[i].cd);
      assert_downloads_as (fixture, transfer, expected);
      listing = list_dir (fixture->dir);
      g_assert_cmpstr (listing, ==, expected);
      g_assert_cmpuint (strlen (expected), <=, 255);
      g_assert_true (g_utf8_validate (expected, -1, NULL));
      empty_dir (fixture->dir);
    }

  {
    g_autofree char *parent_after = list_dir (fixture->parent);

    g_assert_cmpstr (parent_after, ==, "downloads");
    g_assert_cmpstr (parent_after, ==, parent_before);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (escapes); i++)
    {
      g_autofree char *path = g_build_filename (g_get_tmp_dir (), escapes[i], NULL);

      g_assert_cmpint (g_file_test (path, G_FILE_TEST_EXISTS), ==, escaped_before[i]);
    }
  g_assert_false (g_file_test ("/etc/passwd.part", G_FILE_TEST_EXISTS));
}

/* An existing file is never overwritten: "name (1).ext", then "(2)". */
static void
test_existing_file (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *taken = g_build_filename (fixture->dir, "taken.bin", NULL);
  g_autofree char *contents = NULL;
  const char *cd = "attachment; filename=\"taken.bin\"";

  g_assert_true (g_file_set_contents (taken, "ours", -1, NULL));
  for (guint i = 1; i <= 2; i++)
    {
      g_autoptr(GCurlTransfer) transfer = disposition_transfer (1000, "/", cd);
      g_autofree char *name = g_strdup_printf ("taken (%u).bin", i);

      /* OVERWRITE is ignored: the server chose the name. */
      g_curl_transfer_set_request_header (transfer, "X-Attempt", name);
      assert_downloads_as (fixture, transfer, name);
    }
  g_assert_true (g_file_get_contents (taken, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ours");
  assert_listing (fixture->dir, "taken (1).bin|taken (2).bin|taken.bin");
}

/* OVERWRITE does not let the server replace a file. */
static void
test_overwrite_ignored (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *taken = g_build_filename (fixture->dir, "taken.bin", NULL);
  g_autoptr(GCurlTransfer) transfer =
    disposition_transfer (1000, "/", "attachment; filename=\"taken.bin\"");
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *basename = NULL;

  g_assert_true (g_file_set_contents (taken, "ours", -1, NULL));
  file = download (fixture, transfer, G_CURL_DOWNLOAD_OVERWRITE, NULL, &error);
  g_assert_no_error (error);
  basename = g_file_get_basename (file);
  g_assert_cmpstr (basename, ==, "taken (1).bin");
  g_assert_true (g_file_get_contents (taken, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ours");
}

static void
create_destination_cb (GCurlTransfer *transfer,
                       GParamSpec    *pspec,
                       gpointer       user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileOutputStream) out =
    g_file_create (g_curl_transfer_get_destination (transfer), G_FILE_CREATE_NONE, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (out), "theirs", 6, NULL, NULL, NULL));
}

/* Another program takes the name while the file downloads: the download
 * fails, and their file stays as it is. */
static void
test_name_taken_meanwhile (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    disposition_transfer (1000, "/", "attachment; filename=\"raced.bin\"");
  g_autofree char *raced = g_build_filename (fixture->dir, "raced.bin", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;

  g_signal_connect (transfer, "notify::destination", G_CALLBACK (create_destination_cb), NULL);
  file = download (fixture, transfer, G_CURL_DOWNLOAD_NONE, NULL, &error);
  g_assert_null (file);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_true (g_file_get_contents (raced, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "theirs");
}

static void
test_error_no_directory (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = disposition_transfer (1000, "/name.bin", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autoptr(GFile) directory = g_file_new_for_path (missing);
  guint requests = test_server_get_request_count (server);
  Result r = { 0, };

  g_curl_multi_download_to_directory_async (fixture->multi, transfer, directory,
                                            G_CURL_DOWNLOAD_NONE, NULL, download_cb, &r);
  test_run_until (&r.done);
  g_assert_null (r.file);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (r.error->message, missing));
  g_assert_nonnull (strstr (r.error->message, "does not exist"));
  g_clear_error (&r.error);
  g_assert_cmpuint (test_server_get_request_count (server), ==, requests);
  g_assert_null (g_curl_transfer_get_destination (transfer));
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
}

static void
test_error_http (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/404");
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = download (fixture, transfer, G_CURL_DOWNLOAD_NONE, NULL, &error);

  g_assert_null (file);
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  assert_listing (fixture->dir, "");
  g_assert_null (g_curl_transfer_get_destination (transfer));
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Only "big.bin.part" (and where the file system has no extended
 * attributes, its validators) in the folder. */
static void
assert_only_part (Fixture *fixture)
{
  g_autofree char *listing = list_dir (fixture->dir);

  g_assert_true (g_str_equal (listing, "big.bin.part") ||
                 g_str_equal (listing, "big.bin.part|big.bin.part.validators"));
}

/* Cancelled mid-way, only the .part stays; RESUME in a later run finds it
 * by the name the headers give and fetches only the rest. Without RESUME
 * the .part holds its name: the new download is "big (1).bin". */
static void
test_cancel_then_resume (Fixture       *fixture,
                         gconstpointer  data)
{
  const guint size = 256 * 1024;
  const char *cd = "attachment; filename=\"big.bin\"";
  g_autoptr(GCurlTransfer) transfer = disposition_transfer (size, "/", cd);
  g_autoptr(GCurlTransfer) fresh = disposition_transfer (size, "/", cd);
  g_autoptr(GCurlTransfer) again = disposition_transfer (size, "/", cd);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) other = NULL;
  g_autofree char *part_path = g_build_filename (fixture->dir, "big.bin.part", NULL);
  g_autofree char *basename = NULL;
  GStatBuf st;

  /* data: as on a file system without extended attributes. */
  g_curl_download_set_xattrs_disabled (data != NULL);

  /* 256 KiB at 256 KiB/s, cancelled after 300 ms. */
  g_curl_transfer_set_max_download_speed (transfer, size);
  g_timeout_add (300, cancel_cb, cancellable);
  g_assert_null (download (fixture, transfer, G_CURL_DOWNLOAD_RESUME, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  assert_only_part (fixture);
  g_assert_cmpint (g_stat (part_path, &st), ==, 0);
  g_test_message (".part has %" G_GOFFSET_FORMAT " bytes after the cancel", (goffset) st.st_size);
  g_assert_cmpint (st.st_size, >, 0);
  g_assert_cmpint (st.st_size, <, size);
  g_assert_nonnull (g_curl_transfer_get_destination (transfer));

  other = download (fixture, fresh, G_CURL_DOWNLOAD_NONE, NULL, &error);
  g_assert_no_error (error);
  basename = g_file_get_basename (other);
  g_assert_cmpstr (basename, ==, "big (1).bin");
  assert_pattern (other, size);
  g_clear_pointer (&basename, g_free);

  file = download (fixture, again, G_CURL_DOWNLOAD_RESUME, NULL, &error);
  g_assert_no_error (error);
  basename = g_file_get_basename (file);
  g_assert_cmpstr (basename, ==, "big.bin");
  assert_pattern (file, size);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 206);
  assert_listing (fixture->dir, "big (1).bin|big.bin");
  g_curl_download_set_xattrs_disabled (FALSE);
}

/* Two downloads of one name at once: each gets its own. */
static void
test_concurrent_same_name (Fixture       *fixture,
                           gconstpointer  data)
{
  const char *cd = "attachment; filename=\"same.bin\"";
  g_autoptr(GCurlTransfer) a = disposition_transfer (1000, "/", cd);
  g_autoptr(GCurlTransfer) b = disposition_transfer (1000, "/", cd);
  Result ra = { 0, }, rb = { 0, };

  g_curl_multi_download_to_directory_async (fixture->multi, a, fixture->directory,
                                            G_CURL_DOWNLOAD_RESUME, NULL, download_cb, &ra);
  g_curl_multi_download_to_directory_async (fixture->multi, b, fixture->directory,
                                            G_CURL_DOWNLOAD_RESUME, NULL, download_cb, &rb);
  test_run_until (&ra.done);
  test_run_until (&rb.done);
  g_assert_no_error (ra.error);
  g_assert_no_error (rb.error);
  g_assert_false (g_file_equal (ra.file, rb.file));
  assert_pattern (ra.file, 1000);
  assert_pattern (rb.file, 1000);
  assert_listing (fixture->dir, "same (1).bin|same.bin");
  g_object_unref (ra.file);
  g_object_unref (rb.file);
}

static void
download_async_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

/* download_async says its destination too, at once. */
static void
test_destination_of_download_async (Fixture       *fixture,
                                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/100");
  g_autofree char *path = g_build_filename (fixture->dir, "given", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) got = NULL;
  guint notified = 0;
  gboolean done = FALSE;

  g_assert_null (g_curl_transfer_get_destination (transfer));
  g_signal_connect (transfer, "notify::destination", G_CALLBACK (count_cb), &notified);
  g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_async_cb, &done);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (transfer, "destination", &got, NULL);
  g_assert_true (g_file_equal (got, file));
  test_run_until (&done);
  g_assert_cmpuint (notified, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/download-directory/name/filename-star", test_name_filename_star);
  ADD_TEST ("/download-directory/name/filename", test_name_filename);
  ADD_TEST ("/download-directory/name/url-after-redirect", test_name_url_after_redirect);
  ADD_TEST ("/download-directory/name/index-html", test_name_index_html);
  ADD_TEST ("/download-directory/hostile-names", test_hostile_names);
  ADD_TEST ("/download-directory/existing-file", test_existing_file);
  ADD_TEST ("/download-directory/overwrite-ignored", test_overwrite_ignored);
  ADD_TEST ("/download-directory/concurrent-same-name", test_concurrent_same_name);
  ADD_TEST ("/download-directory/name-taken-meanwhile", test_name_taken_meanwhile);
  ADD_TEST ("/download-directory/error/no-directory", test_error_no_directory);
  ADD_TEST ("/download-directory/error/http", test_error_http);
  ADD_TEST ("/download-directory/cancel-then-resume", test_cancel_then_resume);
  g_test_add ("/download-directory/cancel-then-resume/side-file", Fixture, "side-file",
              fixture_setup, test_cancel_then_resume, fixture_teardown);
  ADD_TEST ("/download-directory/destination-of-download-async",
            test_destination_of_download_async);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
