/* test-upload.c: request bodies read from a GInputStream, as the test server receives them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

static void
upload_and_check (GCurlMulti *multi,
                  guint64     len,
                  gboolean    chunked)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) stream = test_pattern_stream_new (len, -1);
  g_autofree char *sum = test_pattern_sha256 (0, len);
  g_autofree char *expected = g_strdup_printf ("POST %" G_GUINT64_FORMAT " %s", len, sum);
  g_autofree char *echo = NULL;
  TestRecorder recorder;

  g_curl_transfer_set_request_stream (transfer, stream, chunked ? -1 : (gint64) len);
  test_recorder_attach (&recorder, transfer);
  test_run_transfer (multi, transfer);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  echo = test_body_string (transfer);
  g_assert_cmpstr (echo, ==, expected);
  g_assert_cmpint (g_curl_transfer_get_uploaded_bytes (transfer), ==, len);
  g_assert_cmpint (g_curl_transfer_get_upload_size (transfer), ==, chunked ? -1 : (gint64) len);
  g_assert_cmpuint (recorder.n_progress, >=, 1);
  test_recorder_clear (&recorder);
}

/* A 512 MiB body streamed from a GInputStream with its length arrives whole (its digest). */
static void
test_upload_stream (Fixture       *fixture,
                    gconstpointer  data)
{
  if (test_skip_under_valgrind ("512 MiB through memcheck take minutes"))
    return;

  /* The whole body never exists in memory: the server checks its digest. */
  upload_and_check (fixture->multi, 512 * 1024 * 1024, FALSE);
}

/* A stream of unknown length goes chunked, 3 MiB or empty, and arrives whole. */
static void
test_upload_chunked (Fixture       *fixture,
                     gconstpointer  data)
{
  upload_and_check (fixture->multi, 3 * 1024 * 1024 + 11, TRUE);
  upload_and_check (fixture->multi, 0, TRUE);
}

/* A request stream's read error fails the transfer with that error, not a network one. */
static void
test_upload_read_error (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) stream = test_pattern_stream_new (1000000, 300000);

  g_curl_transfer_set_request_stream (transfer, stream, 1000000);
  test_run_transfer (fixture->multi, transfer);
  /* The stream's own error, not a network one. */
  test_assert_transfer_error (transfer, G_IO_ERROR, G_IO_ERROR_FAILED, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpstr (g_curl_transfer_get_error (transfer)->message, ==, "test stream failure");
}

/* A rerun sends a seekable stream again; an unseekable one fails with SEND_FAIL_REWIND. */
static void
test_upload_rerun (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) seekable = test_transfer_new_printf (server, "/echo");
  g_autoptr(GCurlTransfer) once = test_transfer_new_printf (server, "/echo");
  g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_data ("hello", 5, NULL);
  g_autoptr(GInputStream) pattern = test_pattern_stream_new (100, -1);
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, hello);
  g_autofree char *expected = g_strdup_printf ("PUT 5 %s", sum);
  guint i;

  g_curl_transfer_set_request_stream (seekable, memory, 5);
  g_curl_transfer_set_method (seekable, "PUT");
  for (i = 0; i < 2; i++)
    {
      g_autofree char *echo = NULL;

      test_run_transfer (fixture->multi, seekable);
      echo = test_body_string (seekable);
      g_assert_cmpstr (echo, ==, expected);
    }

  /* A stream that cannot seek back is sent once. */
  g_curl_transfer_set_request_stream (once, pattern, 100);
  test_run_transfer (fixture->multi, once);
  g_assert_cmpint (g_curl_transfer_get_state (once), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  test_run_transfer (fixture->multi, once);
  test_assert_transfer_error (once, G_CURL_ERROR, G_CURL_ERROR_SEND_FAIL_REWIND, G_CURL_TRANSFER_STATE_FAILED);
}

/* A 307 or 308 sends a streamed body again from the start: the stream
 * seeks back once the read-ahead of the first request is over, whatever
 * the moment the redirect comes (a read was still pending then, and the
 * seek failed: "Stream has outstanding operation" for a memory stream,
 * "cannot seek back" for a file). Many runs, for the moment to vary. */
static void
test_upload_redirect_stream (Fixture       *fixture,
                             gconstpointer  data)
{
  const gsize len = 700 * 1024 + 3;
  g_autofree guint8 *bytes = g_malloc (len);
  g_autofree char *sum = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gcurl-upload-XXXXXX", NULL);
  g_autoptr(GFile) file = NULL;
  guint i;

  test_pattern_fill (0, bytes, len);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes, len);
  path = g_build_filename (dir, "body", NULL);
  g_assert_true (g_file_set_contents (path, (char *) bytes, len, NULL));
  file = g_file_new_for_path (path);

  for (i = 0; i < 40; i++)
    {
      g_autoptr(GCurlTransfer) transfer =
        test_transfer_new_printf (server, "/redirect-to?status=%u&url=%%2Fecho",
                                  i % 2 ? 307 : 308);
      g_autoptr(GInputStream) stream = NULL;
      g_autofree char *expected = g_strdup_printf ("PUT %" G_GSIZE_FORMAT " %s", len, sum);
      g_autofree char *echo = NULL;

      if (i % 4 < 2)
        stream = g_memory_input_stream_new_from_data (bytes, len, NULL);
      else
        stream = G_INPUT_STREAM (g_file_read (file, NULL, NULL));
      g_assert_nonnull (stream);

      g_curl_transfer_set_method (transfer, "PUT");
      g_curl_transfer_set_request_stream (transfer, stream, i % 3 ? (gint64) len : -1);
      test_run_transfer (fixture->multi, transfer);
      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      echo = test_body_string (transfer);
      g_assert_cmpstr (echo, ==, expected);
    }

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/upload/stream-512mib", test_upload_stream);
  ADD_TEST ("/upload/chunked", test_upload_chunked);
  ADD_TEST ("/upload/read-error", test_upload_read_error);
  ADD_TEST ("/upload/rerun", test_upload_rerun);
  ADD_TEST ("/upload/redirect-stream", test_upload_redirect_stream);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
