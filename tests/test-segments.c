/* test-segments.c: download_async over several connections at once
 *
 * GCurlTransfer:segments (gcurl-transfer-segments.c) and the segmented
 * downloads of gcurl-download-segments.c: the file is whole and exact, the
 * ranges are asked once each, the download's transfer shows it all (one
 * "finished", one item in the multi's list, every byte in its
 * downloaded-bytes), a cancelled one continues every range, and a range
 * of another file is never written. The minimum segment is lowered to
 * SEGMENT_MIN so that small files split.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"
#include "gcurl-download-segments-private.h"

#define SEGMENT_MIN (64 * 1024)
#define SIZE        (1024 * 1024)

static TestServer *server;

typedef struct
{
  TestFixture base;
  GCurlMulti *multi;     /* base.multi */
  char       *dir;
  char       *path;      /* dir/file */
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, data);
  fixture->multi = fixture->base.multi;
  g_object_set (fixture->multi, "retry-delay", 20, "download-retries", 2, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-segments-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "file", NULL);
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
  g_free (fixture->path);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
  guint     finished;      /* the transfer's "finished" */
  guint     max_items;     /* the most the multi listed at once */
  gint64    cancel_at;     /* cancel once downloaded-bytes passes this */
  GCancellable *cancellable;
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
finished_cb (GCurlTransfer *transfer,
             gpointer       user_data)
{
  ((Result *) user_data)->finished++;
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  Result *r = user_data;

  r->max_items = MAX (r->max_items, g_list_model_get_n_items (model));
}

static void
progress_cb (GCurlTransfer *transfer,
             gint64         downloaded,
             gint64         download_size,
             gint64         uploaded,
             gint64         upload_size,
             gpointer       user_data)
{
  Result *r = user_data;

  if (r->cancel_at > 0 && downloaded >= r->cancel_at)
    g_cancellable_cancel (r->cancellable);
}

static void
download (Fixture            *fixture,
          GCurlTransfer      *transfer,
          GCurlDownloadFlags  flags,
          Result             *r)
{
  g_autoptr(GFile) file = g_file_new_for_path (fixture->path);
  gulong finished_id = g_signal_connect (transfer, "finished", G_CALLBACK (finished_cb), r);
  gulong progress_id = g_signal_connect (transfer, "progress", G_CALLBACK (progress_cb), r);
  gulong items_id = g_signal_connect (fixture->multi, "items-changed",
                                      G_CALLBACK (items_changed_cb), r);

  g_curl_multi_download_async (fixture->multi, transfer, file, flags, r->cancellable,
                               download_cb, r);
  test_run_until (&r->done);
  g_signal_handler_disconnect (transfer, finished_id);
  g_signal_handler_disconnect (transfer, progress_id);
  g_signal_handler_disconnect (fixture->multi, items_id);
}

static char *
sidecar (Fixture    *fixture,
         const char *suffix)
{
  return g_strconcat (fixture->path, suffix, NULL);
}

/* The property: 1 by default, 1 to 16, notified once per change. */
static void
test_property (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new ("http://example.invalid/");
  guint segments = 0;

  g_assert_cmpuint (g_curl_transfer_get_segments (transfer), ==, 1);
  g_curl_transfer_set_segments (transfer, 4);
  g_object_get (transfer, "segments", &segments, NULL);
  g_assert_cmpuint (segments, ==, 4);
  g_object_set (transfer, "segments", 16, NULL);
  g_assert_cmpuint (g_curl_transfer_get_segments (transfer), ==, 16);
}

/* A range-capable file over four connections: exact, three ranges asked
 * besides the first response, and the transfer is the whole download. */
static void
test_split (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autofree char *key = g_strdup_printf ("range /bytes/%u", SIZE);
  g_autofree char *layout = sidecar (fixture, ".part.segments");
  guint ranges_before = test_server_get_key_count (server, key);
  Result r = { 0, };

  g_curl_transfer_set_segments (transfer, 4);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_cmpuint (test_server_get_key_count (server, key) - ranges_before, ==, 3);
  g_assert_cmpuint (r.finished, ==, 1);
  g_assert_cmpuint (r.max_items, ==, 1);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, SIZE);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_false (g_file_test (layout, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

/* Fewer segments than asked for a file that is not worth them, none for a
 * small one. */
static void
test_small_files (Fixture       *fixture,
                  gconstpointer  data)
{
  const guint sizes[] = { 2 * SEGMENT_MIN - 1, 3 * SEGMENT_MIN };
  const guint expected_ranges[] = { 0, 2 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", sizes[i]);
      g_autofree char *key = g_strdup_printf ("range /bytes/%u", sizes[i]);
      guint before = test_server_get_key_count (server, key);
      Result r = { 0, };

      g_curl_transfer_set_segments (transfer, 8);
      download (fixture, transfer, G_CURL_DOWNLOAD_OVERWRITE, &r);
      g_assert_no_error (r.error);
      test_assert_file_is_pattern (fixture->path, sizes[i]);
      g_assert_cmpuint (test_server_get_key_count (server, key) - before, ==, expected_ranges[i]);
    }
}

/* A transfer's own speed limit is for one connection: it is not split. */
static void
test_own_speed_limit (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autofree char *key = g_strdup_printf ("range /bytes/%u", SIZE);
  guint before = test_server_get_key_count (server, key);
  Result r = { 0, };

  g_curl_transfer_set_segments (transfer, 4);
  g_curl_transfer_set_max_download_speed (transfer, 64 * 1024 * 1024);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_cmpuint (test_server_get_key_count (server, key) - before, ==, 0);
}

/* Cancelled halfway, the .part keeps every range's progress; a RESUME
 * continues each one (the first with a 206), and the file is exact. */
static void
test_resume (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autofree char *layout = sidecar (fixture, ".part.segments");
  g_autofree char *part = sidecar (fixture, ".part");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_auto(GStrv) done = NULL;
  Result r = { 0, };
  Result again = { 0, };
  gsize n_done = 0, i;
  guint64 saved = 0;

  /* Slow enough to be cancelled in the middle. */
  g_object_set (fixture->multi, "max-download-speed", (gint64) 2 * 1024 * 1024, NULL);
  g_curl_transfer_set_segments (transfer, 4);
  r.cancellable = g_cancellable_new ();
  r.cancel_at = SIZE / 3;
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
  g_clear_object (&r.cancellable);

  g_assert_true (g_key_file_load_from_file (key_file, layout, G_KEY_FILE_NONE, NULL));
  done = g_key_file_get_string_list (key_file, "gcurlmulti segments", "done", &n_done, NULL);
  g_assert_cmpuint (n_done, ==, 4);
  for (i = 0; i < n_done; i++)
    saved += g_ascii_strtoull (done[i], NULL, 10);
  g_assert_cmpuint (saved, >, 0);
  g_assert_cmpuint (saved, <, SIZE);
  {
    GStatBuf buf;

    g_assert_cmpint (g_stat (part, &buf), ==, 0);
    g_assert_cmpint (buf.st_size, ==, SIZE);
  }

  g_object_set (fixture->multi, "max-download-speed", (gint64) 0, NULL);
  download (fixture, transfer, G_CURL_DOWNLOAD_RESUME, &again);
  g_assert_no_error (again.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  g_assert_false (g_file_test (layout, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* A .part whose layout is gone has holes: it is never continued. */
static void
test_layout_lost (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autofree char *layout = sidecar (fixture, ".part.segments");
  g_autofree char *part = sidecar (fixture, ".part");
  Result r = { 0, };
  Result again = { 0, };

  g_object_set (fixture->multi, "max-download-speed", (gint64) 2 * 1024 * 1024, NULL);
  g_curl_transfer_set_segments (transfer, 4);
  r.cancellable = g_cancellable_new ();
  r.cancel_at = SIZE / 3;
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
  g_clear_object (&r.cancellable);
  g_assert_true (g_file_test (part, G_FILE_TEST_EXISTS));

  /* A broken layout, not a missing one: the .part has holes all the same. */
  g_assert_true (g_file_set_contents (layout, "[gcurlmulti segments]\nsize=12\n", -1, NULL));
  g_object_set (fixture->multi, "max-download-speed", (gint64) 0, NULL);
  g_curl_transfer_set_segments (transfer, 1);
  download (fixture, transfer, G_CURL_DOWNLOAD_RESUME, &again);
  g_assert_no_error (again.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* Segments spread over the mirrors; a mirror with another version of the
 * file (another ETag) is not used for any, and the file is the primary's,
 * exact. */
static void
test_mirror_other_file (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *primary = g_strdup_printf ("%s/bytes/%u", test_server_get_uri (server), SIZE);
  g_autofree char *other = g_strdup_printf ("%s/bytes/%u?etag=other", test_server_get_raw_uri (server),
                                            SIZE);
  const char * const mirrors[] = { other, NULL };
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (primary);
  g_autofree char *key = g_strdup_printf ("range /bytes/%u", SIZE);
  guint before = test_server_get_key_count (server, key);
  Result r = { 0, };

  g_curl_transfer_set_mirrors (transfer, mirrors);
  g_curl_transfer_set_segments (transfer, 4);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  /* The mirror's segments came from the primary's origin after all. */
  g_assert_cmpuint (test_server_get_key_count (server, key) - before, ==, 3);
  g_assert_cmpuint (r.finished, ==, 1);
}

/* A mirror that refuses connections: its segments go to the next URL. */
static void
test_mirror_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *primary = g_strdup_printf ("%s/bytes/%u", test_server_get_uri (server), SIZE);
  g_autofree char *refused = g_strdup_printf ("http://127.0.0.1:%u/bytes/%u",
                                              test_server_get_refused_port (), SIZE);
  const char * const mirrors[] = { refused, NULL };
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (primary);
  Result r = { 0, };

  g_curl_transfer_set_mirrors (transfer, mirrors);
  g_curl_transfer_set_segments (transfer, 3);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
}

/* A server that says Accept-Ranges but answers every range with the whole
 * file (the same one): its ranges fall to the first connection. */
static void
test_ranges_ignored (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("%s/bytes/%u?norange=1", test_server_get_raw_uri (server),
                                          SIZE);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  Result r = { 0, };

  g_curl_transfer_set_segments (transfer, 4);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_cmpuint (r.finished, ==, 1);
}

static gboolean
quit_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, quit_cb, &done);
  test_run_until (&done);
}

typedef struct
{
  gint64   pause_at;
  gboolean paused;
} PauseState;

static void
pause_progress_cb (GCurlTransfer *transfer,
                   gint64         downloaded,
                   gint64         download_size,
                   gint64         uploaded,
                   gint64         upload_size,
                   gpointer       user_data)
{
  PauseState *state = user_data;

  if (!state->paused && downloaded >= state->pause_at)
    {
      state->paused = TRUE;
      g_curl_transfer_pause (transfer);
    }
}

/* Pausing the download's transfer pauses every connection: nothing more
 * reaches the disk until resume(), and then the file is whole. */
static void
test_pause (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autoptr(GFile) file = g_file_new_for_path (fixture->path);
  g_autofree char *layout = sidecar (fixture, ".part.segments");
  PauseState state = { SIZE / 4, FALSE };
  Result r = { 0, };
  gint64 during, later;

  g_object_set (fixture->multi, "max-download-speed", (gint64) 2 * 1024 * 1024, NULL);
  g_curl_transfer_set_segments (transfer, 4);
  g_signal_connect (transfer, "progress", G_CALLBACK (pause_progress_cb), &state);
  g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &r);
  while (!state.paused && !r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (r.done);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);

  /* What was on its way when the pause came lands; then nothing. */
  wait_ms (200);
  during = g_curl_transfer_get_downloaded_bytes (transfer);
  wait_ms (400);
  later = g_curl_transfer_get_downloaded_bytes (transfer);
  g_assert_cmpint (later, ==, during);
  g_assert_cmpint (later, <, SIZE);

  g_curl_transfer_resume (transfer);
  test_run_until (&r.done);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);
  g_assert_false (g_file_test (layout, G_FILE_TEST_EXISTS));
}

/* The checksum covers the whole file, whichever connection wrote which
 * part: right, it succeeds; wrong, it fails after one more attempt. */
static void
test_checksum (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%u", SIZE);
  g_autofree char *sha = test_pattern_sha256 (0, SIZE);
  Result r = { 0, };
  Result wrong = { 0, };

  g_curl_transfer_set_segments (transfer, 4);
  g_curl_transfer_set_expected_checksum (transfer, G_CHECKSUM_SHA256, sha);
  download (fixture, transfer, G_CURL_DOWNLOAD_NONE, &r);
  g_assert_no_error (r.error);
  test_assert_file_is_pattern (fixture->path, SIZE);

  g_curl_transfer_set_expected_checksum (transfer, G_CHECKSUM_SHA256,
                                         "0000000000000000000000000000000000000000000000000000000000000000");
  download (fixture, transfer, G_CURL_DOWNLOAD_OVERWRITE, &wrong);
  g_assert_error (wrong.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&wrong.error);
  g_assert_cmpuint (wrong.finished, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);
  g_curl_download_set_segment_min (SEGMENT_MIN);

  ADD_TEST ("/segments/property", test_property);
  ADD_TEST ("/segments/split", test_split);
  ADD_TEST ("/segments/small-files", test_small_files);
  ADD_TEST ("/segments/own-speed-limit", test_own_speed_limit);
  ADD_TEST ("/segments/resume", test_resume);
  ADD_TEST ("/segments/layout-lost", test_layout_lost);
  ADD_TEST ("/segments/mirror/other-file", test_mirror_other_file);
  ADD_TEST ("/segments/mirror/refused", test_mirror_refused);
  ADD_TEST ("/segments/ranges-ignored", test_ranges_ignored);
  ADD_TEST ("/segments/checksum", test_checksum);
  ADD_TEST ("/segments/pause", test_pause);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
