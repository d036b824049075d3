/* test-download.c: download_async, where nothing may be lost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"
#include "gcurl-download-private.h"

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
  /* Quick retries: the tests are about what happens, not how long. */
  g_object_set (fixture->multi, "retry-delay", 20, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-download-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      g_unlink (file);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  remove_dir (fixture->dir);
  g_free (fixture->dir);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

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

static gboolean
download (Fixture             *fixture,
          GCurlTransfer       *transfer,
          const char          *name,
          GCurlDownloadFlags   flags,
          GCancellable        *cancellable,
          GError             **error)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  DownloadResult dr = { 0, };

  g_curl_multi_download_async (fixture->multi, transfer, file, flags, cancellable,
                               download_cb, &dr);
  g_assert_false (dr.done);
  test_run_until (&dr.done);
  if (dr.error != NULL)
    g_propagate_error (error, dr.error);

  return dr.ok;
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

static void
assert_no_file (Fixture    *fixture,
                const char *name)
{
  g_autofree char *path = path_in (fixture, name);

  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static goffset
file_size (Fixture    *fixture,
           const char *name)
{
  g_autofree char *path = path_in (fixture, name);
  GStatBuf st;

  if (g_stat (path, &st) < 0)
    return -1;
  return st.st_size;
}

/* Writes the first @len pattern bytes, or @len bytes of something else. */
static void
write_part (Fixture    *fixture,
            const char *name,
            gsize       len,
            gboolean    pattern,
            const char *validator)
{
  g_autofree char *path = path_in (fixture, name);
  g_autofree guint8 *buf = g_malloc (len);

  if (pattern)
    test_pattern_fill (0, buf, len);
  else
    memset (buf, 'x', len);
  g_assert_true (g_file_set_contents (path, (char *) buf, len, NULL));

  if (validator != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);

      g_assert_true (g_file_set_attribute_string (file, "xattr::gcurlmulti.validator", validator,
                                                  G_FILE_QUERY_INFO_NONE, NULL, NULL));
    }
}

/* A 3 MiB download lands whole at its destination, and no .part is left. */
static void
test_simple (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 3 * 1024 * 1024 + 1);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 3 * 1024 * 1024 + 1);
  assert_no_file (fixture, "file.part");
}

/* An existing destination fails G_IO_ERROR_EXISTS before any request; OVERWRITE replaces it. */
static void
test_existing_destination (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%u", 5000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = path_in (fixture, "file");
  guint before = test_server_get_path_count (server, "/bytes/5000");

  g_assert_true (g_file_set_contents (path, "mine", 4, NULL));

  /* Refused before anything is sent. */
  g_assert_false (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/5000"), ==, before);
  g_assert_cmpint (file_size (fixture, "file"), ==, 4);
  g_clear_error (&error);

  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_OVERWRITE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 5000);
}

/* A 404 is tried once and fails HTTP_RETURNED_ERROR (the transfer FAILED); no file, no .part. */
static void
test_http_error_saves_nothing (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/status/404");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  guint before = test_server_get_path_count (server, "/status/404");

  g_assert_false (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  assert_no_file (fixture, "file");
  assert_no_file (fixture, "file.part");
  /* A 404 is permanent: not retried. */
  g_assert_cmpuint (test_server_get_path_count (server, "/status/404"), ==, before + 1);

  /* The transfer says so too, not "succeeded" for the error page. */
  if (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    test_run_until_finished (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_error ((GError *) g_curl_transfer_get_error (transfer),
                  G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* A cancelled download keeps a partial .part; RESUME then fetches only the rest, as a 206. */
static void
test_cancel_then_resume (Fixture       *fixture,
                         gconstpointer  data)
{
  const guint size = 1024 * 1024;
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", size);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) again = g_curl_transfer_new (url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *range = NULL;
  goffset partial;

  /* 1 MiB at 1 MiB/s, cancelled after 300 ms. */
  g_curl_transfer_set_max_download_speed (transfer, size);
  g_timeout_add (300, cancel_cb, cancellable);
  g_assert_false (download (fixture, transfer, "file", G_CURL_DOWNLOAD_RESUME, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  assert_no_file (fixture, "file");
  partial = file_size (fixture, "file.part");
  g_test_message (".part has %" G_GOFFSET_FORMAT " bytes after the cancel", partial);
  g_assert_cmpint (partial, >, 0);
  g_assert_cmpint (partial, <, size);

  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", size);
  assert_no_file (fixture, "file.part");
  /* The second run only fetched the rest, and counted within the file. */
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 206);
  range = g_strdup_printf ("bytes %" G_GOFFSET_FORMAT "-%u/%u", partial, size - 1, size);
  g_assert_cmpstr (g_curl_transfer_get_response_header (again, "Content-Range"), ==, range);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (again), ==, size);
  g_assert_cmpint (g_curl_transfer_get_download_size (again), ==, size);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (again), ==, 1.0);
}

/* RESUME gets the right file: no Range support, a changed ETag, a misplaced 206, or a good 206.
 * Each starts from a .part of 1000 bytes and must end with the right file. */
static void
test_resume_cases (Fixture       *fixture,
                   gconstpointer  data)
{
  struct {
    const char *query;
    gboolean    part_is_pattern;
    const char *validator;
    guint       expected_status;
  } cases[] = {
    /* A server without range support answers 200: start over. */
    { "?norange=1", TRUE, NULL, 200 },
    /* The resource changed: If-Range does not match, 200, start over. */
    { "?etag=new", FALSE, "\"old\"", 200 },
    /* A 206 that does not start where the .part ends: start over. */
    { "?badrange=1", TRUE, NULL, 200 },
    /* The normal case: only the rest. */
    { "", TRUE, NULL, 206 },
  };
  const guint size = 200000;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = test_server_raw_url (server, "/bytes/%u%s", size, cases[i].query);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      g_autoptr(GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("file%u", i);
      g_autofree char *part = g_strdup_printf ("file%u.part", i);

      g_test_message ("resume with %s", cases[i].query);
      write_part (fixture, part, 1000, cases[i].part_is_pattern, cases[i].validator);
      g_assert_true (download (fixture, transfer, name, G_CURL_DOWNLOAD_RESUME, NULL, &error));
      g_assert_no_error (error);
      assert_file_is_pattern (fixture, name, size);
      assert_no_file (fixture, part);
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, cases[i].expected_status);
    }
}

/* RESUME with the whole file in the .part takes the server's 416 as success and renames it. */
static void
test_resume_complete_part (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 5000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  /* The whole file is there already: the server says 416. */
  write_part (fixture, "file.part", 5000, TRUE, NULL);
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 416);
  assert_file_is_pattern (fixture, "file", 5000);
}

/* Without RESUME a stale .part of other bytes is replaced by the whole download. */
static void
test_no_resume_replaces_part (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 5000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  write_part (fixture, "file.part", 3000, FALSE, NULL);
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 5000);
}

/* Cut twice after 150000 bytes, the download retries, its last attempt a 206 of the rest. */
static void
test_retries_resume (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("retry-%d", g_test_rand_int ());
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=2&after=%u",
                                              500000, key, 150000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  /* The connection drops twice, after 150000 bytes each time. */
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 500000);
  /* The last attempt resumed after 2 × 150000 bytes. */
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Range"), ==,
                   "bytes 300000-499999/500000");
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 500000);
}

/* A retry waiting 60 s starts once network-changed says available, not while it says unavailable.
 * A download waiting to retry (here for a minute) retries as soon as the
 * network monitor says the network is there again. */
static void
test_retry_on_network_change (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("netchange-%d", g_test_rand_int ());
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&after=%u",
                                              200000, key, 50000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autofree char *path = g_build_filename (fixture->dir, "file", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GNetworkMonitor) monitor = NULL;
  DownloadResult dr = { 0, };

  g_object_set (fixture->multi, "retry-delay", 60 * 1000, NULL);
  g_object_get (fixture->multi, "network-monitor", &monitor, NULL);
  g_assert_nonnull (monitor);

  g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &dr);
  /* The first attempt fails after 50000 bytes; the retry waits (RETRYING). */
  while (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_RETRYING)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (dr.done);

  /* Not while the network is still gone. */
  g_signal_emit_by_name (monitor, "network-changed", FALSE);
  test_count_iterations (100);
  g_assert_false (dr.done);

  g_signal_emit_by_name (monitor, "network-changed", TRUE);
  test_run_until (&dr.done);
  g_assert_no_error (dr.error);
  g_assert_true (dr.ok);
  assert_file_is_pattern (fixture, "file", 200000);
}

/* With download-retries 2, 3 cut attempts fail PARTIAL_FILE; the .part keeps their 3000 bytes. */
static void
test_retries_exhausted (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("exhaust-%d", g_test_rand_int ());
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=100&after=%u",
                                              500000, key, 1000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  g_object_set (fixture->multi, "download-retries", 2, NULL);
  g_assert_false (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE);
  assert_no_file (fixture, "file");
  /* Three attempts of 1000 bytes each, resumed: the .part keeps them. */
  g_assert_cmpint (file_size (fixture, "file.part"), ==, 3000);
}

/* A 503 with Retry-After: 1 delays the retry 1 s, over the 20 ms retry-delay; then it succeeds. */
static void
test_retry_after (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("busy-%d", g_test_rand_int ());
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&status=503&retry-after=1",
                                              7000, key);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 7000);
  /* Retry-After: 1 outweighs the 20 ms retry delay. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
}

/* A matching SHA-256 saves the file; a wrong one: one fresh retry, then INVALID_DATA, no file. */
static void
test_checksum (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 100000);
  g_autoptr(GCurlTransfer) good = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) bad = g_curl_transfer_new (url);
  g_autofree char *sum = test_pattern_sha256 (0, 100000);
  g_autofree char *wrong = test_pattern_sha256 (0, 99999);
  g_autoptr(GError) error = NULL;
  TestRecorder recorder;

  g_curl_transfer_set_expected_checksum (good, G_CHECKSUM_SHA256, sum);
  g_assert_true (download (fixture, good, "good", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "good", 100000);

  /* A mismatch is worth one attempt from zero, then fails. */
  g_curl_transfer_set_expected_checksum (bad, G_CHECKSUM_SHA256, wrong);
  test_recorder_attach (&recorder, bad);
  g_assert_false (download (fixture, bad, "bad", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (recorder.n_finished, ==, 2);
  test_recorder_clear (&recorder);
  assert_no_file (fixture, "bad");
  assert_no_file (fixture, "bad.part");
}


/* Reads the .part's validators as download_async keeps them: the side file
 * (NULL if there is none) and the extended attribute (NULL likewise). */
static char *
read_side_file (Fixture    *fixture,
                const char *part)
{
  g_autofree char *name = g_strconcat (part, ".validators", NULL);
  g_autofree char *path = path_in (fixture, name);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

static char *
read_validators_xattr (Fixture    *fixture,
                       const char *part)
{
  g_autofree char *path = path_in (fixture, part);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, "xattr::gcurlmulti.validators",
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  if (info == NULL || !g_file_info_has_attribute (info, "xattr::gcurlmulti.validators"))
    return NULL;
  return g_strdup (g_file_info_get_attribute_string (info, "xattr::gcurlmulti.validators"));
}

/* What GIO's "\xNN" escapes of an xattr value stand for. */
static char *
unescape_gio (const char *value)
{
  GString *raw = g_string_new (NULL);
  const char *p;

  for (p = value; *p != '\0'; p++)
    if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3]))
      {
        g_string_append_c (raw, (char) (g_ascii_xdigit_value (p[2]) * 16 +
                                        g_ascii_xdigit_value (p[3])));
        p += 3;
      }
    else
      g_string_append_c (raw, *p);

  return g_string_free (raw, FALSE);
}

/* Downloads @url slowly and cancels it after @ms: leaves a .part. */
static goffset
download_part (Fixture    *fixture,
               const char *url,
               const char *name,
               guint       ms)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *part = g_strconcat (name, ".part", NULL);

  g_curl_transfer_set_max_download_speed (transfer, 256 * 1024);
  g_timeout_add (ms, cancel_cb, cancellable);
  g_assert_false (download (fixture, transfer, name, G_CURL_DOWNLOAD_NONE, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  return file_size (fixture, part);
}

/* Without xattrs the ETag is kept in a .validators side file; a 206 of a changed file is refused.
 * Without extended attributes (a tmpfs or network mount without them), the
 * validators go to a side file; a resumed download whose server ignores
 * If-Range (as h2o 2.2 does) and answers 206 for a changed resource is
 * started over, not spliced. */
static void
test_validators_side_file (Fixture       *fixture,
                           gconstpointer  data)
{
  const guint size = 1024 * 1024;
  g_autofree char *first = test_server_raw_url (server, "/bytes/%u?etag=v1", size);
  g_autofree char *changed = test_server_raw_url (server, "/bytes/%u?etag=v2&ignore-if-range=1",
                                                  size);
  g_autoptr(GCurlTransfer) again = g_curl_transfer_new (changed);
  g_autoptr(GError) error = NULL;
  g_autofree char *side = NULL;
  goffset partial;

  g_curl_download_set_xattrs_disabled (TRUE);
  partial = download_part (fixture, first, "file", 200);
  g_assert_cmpint (partial, >, 0);
  side = read_side_file (fixture, "file.part");
  g_assert_nonnull (side);
  g_assert_nonnull (strstr (side, "etag=\"v1\""));
  g_assert_nonnull (strstr (side, "size=1048576"));

  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_curl_download_set_xattrs_disabled (FALSE);
  g_assert_no_error (error);
  /* The 206 of the other version was refused: the file came whole. */
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 200);
  assert_file_is_pattern (fixture, "file", size);
  assert_no_file (fixture, "file.part");
  assert_no_file (fixture, "file.part.validators");
  /* Kept for the file only by a download that revalidates (IF_MODIFIED). */
  assert_no_file (fixture, "file.validators");
}

/* With xattrs the validators are one xattr, no side file, read back byte for byte.
 * Where the file system has extended attributes, the validators are one
 * (GIO escapes its newlines), there is no side file, and they are read
 * back. */
static void
test_validators_xattr (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?etag=v1", 1024 * 1024);
  g_autofree char *changed = test_server_raw_url (server, "/bytes/%u?etag=v2&ignore-if-range=1",
                                                  1024 * 1024);
  g_autoptr(GCurlTransfer) again = g_curl_transfer_new (changed);
  g_autofree char *odd = test_server_raw_url (server, "/bytes/%u?etag=a%%5Cx41b", 1024 * 1024);
  g_autoptr(GCurlTransfer) odd_again = g_curl_transfer_new (odd);
  g_autoptr(GError) error = NULL;
  g_autofree char *xattr = NULL;
  g_autofree char *odd_xattr = NULL;
  g_autofree char *odd_raw = NULL;

  g_assert_cmpint (download_part (fixture, url, "file", 200), >, 0);
  xattr = read_validators_xattr (fixture, "file.part");
  if (xattr == NULL)
    {
      g_test_skip ("the temporary directory has no user extended attributes");
      return;
    }
  g_assert_nonnull (strstr (xattr, "etag=\"v1\""));
  assert_no_file (fixture, "file.part.validators");

  /* And they are read back: a 206 of another version is refused. */
  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 200);
  assert_file_is_pattern (fixture, "file", 1024 * 1024);

  /* An ETag with what GIO takes for an escape ("\x41") comes back as it
   * was: the resume of the same version is a 206. */
  g_assert_cmpint (download_part (fixture, odd, "odd", 200), >, 0);
  odd_xattr = read_validators_xattr (fixture, "odd.part");
  odd_raw = unescape_gio (odd_xattr);
  /* The key file's own escape of the backslash, byte for byte. */
  g_assert_nonnull (strstr (odd_raw, "etag=\"a\\\\x41b\""));
  g_assert_true (download (fixture, odd_again, "odd", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (odd_again), ==, 206);
  assert_file_is_pattern (fixture, "odd", 1024 * 1024);
}

/* A retry's 206 with a new ETag is refused with nothing on disk: the file comes whole, a 200.
 * A retry within one download checks the continuation against the ETag its
 * own first attempt got, even with nowhere to keep it on disk: the resource
 * changed between the attempts and the server ignores If-Range. */
static void
test_validators_retry_changed (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("changed-%d", g_test_rand_int ());
  g_autofree char *url =
    test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&after=%u&etag=v1"
                                 "&etag-after-fail=v2&ignore-if-range=1",
                         300000, key, 100000);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  TestRecorder recorder;

  g_curl_download_set_xattrs_disabled (TRUE);
  test_recorder_attach (&recorder, transfer);
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_curl_download_set_xattrs_disabled (FALSE);
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 300000);
  /* The retry's 206 (ETag v2) was refused, and the file fetched whole. */
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpuint (recorder.n_finished, ==, 3);
  test_recorder_clear (&recorder);
}

/* A side file's ETag or date with a control character: no crash, the .part is not continued.
 * Key file escapes decode to CR, LF and tab, and a raw byte can be any
 * other control character, which this library never keeps: the request
 * goes without them (a line break in a header would be an injection, and
 * a crash), and the edited or damaged record vouches for nothing. The
 * .part is not the pattern: a splice would show in the bytes. */
static void
test_validators_damaged (Fixture       *fixture,
                         gconstpointer  data)
{
  const guint size = 300000;
  const char *records[] = {
    "etag=\"v1\\r\"\n",
    "etag=\"v1\\r\\nX-Injected: yes\"\n",
    "etag=\"v1\\t\"\n",
    "etag=\"v1\x01\"\n",
    "etag=\"v1\"\nlast-modified=Mon, 01 Jan 2024\\n00:00:00 GMT\n",
  };
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?etag=v1&ignore-if-range=1",
                                              size);
  guint i;

  g_curl_download_set_xattrs_disabled (TRUE);
  for (i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      g_autoptr(GError) error = NULL;
      g_autofree char *record = g_strdup_printf ("[gcurlmulti]\n%ssize=%u\n", records[i], size);
      g_autofree char *name = g_strdup_printf ("file-%u", i);
      g_autofree char *part = g_strconcat (name, ".part", NULL);
      g_autofree char *side_name = g_strconcat (part, ".validators", NULL);
      g_autofree char *side = path_in (fixture, side_name);

      g_test_message ("record %s", record);
      write_part (fixture, part, 100000, FALSE, NULL);
      g_assert_true (g_file_set_contents (side, record, -1, NULL));

      g_assert_true (download (fixture, transfer, name, G_CURL_DOWNLOAD_RESUME, NULL, &error));
      g_assert_no_error (error);
      /* The 206 (the server ignores If-Range) was refused: a fresh 200. */
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
      assert_file_is_pattern (fixture, name, size);
      assert_no_file (fixture, part);
      assert_no_file (fixture, side_name);
    }
  g_curl_download_set_xattrs_disabled (FALSE);
}

/* The same kept in extended attributes, today's and the legacy one, and with IF_MODIFIED.
 * GIO gives a CR back as "\x0d", which the library decodes: the records
 * are as damaged as the side files above. A destination's damaged record
 * is no condition either: the file's time is (a 304). */
static void
test_validators_damaged_xattr (Fixture       *fixture,
                               gconstpointer  data)
{
  const guint size = 300000;
  const struct { const char *attribute; const char *value; } kept[] = {
    { "xattr::gcurlmulti.validators", "[gcurlmulti]\netag=\"v1\\r\"\nsize=300000\n" },
    { "xattr::gcurlmulti.validator", "\"v1\r\"" },
  };
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?etag=v1&ignore-if-range=1",
                                              size);
  g_autoptr(GCurlTransfer) current =
    test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                              "Sun,%2006%20Nov%201994%2008:49:37%20GMT");
  g_autofree char *cond_path = path_in (fixture, "cond");
  g_autoptr(GFile) cond = g_file_new_for_path (cond_path);
  g_autoptr(GError) error = NULL;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      g_autofree char *name = g_strdup_printf ("file-%u", i);
      g_autofree char *part = g_strconcat (name, ".part", NULL);
      g_autofree char *part_path = path_in (fixture, part);
      g_autoptr(GFile) file = g_file_new_for_path (part_path);

      g_test_message ("%s %s", kept[i].attribute, kept[i].value);
      write_part (fixture, part, 100000, FALSE, NULL);
      if (!g_file_set_attribute_string (file, kept[i].attribute, kept[i].value,
                                        G_FILE_QUERY_INFO_NONE, NULL, NULL))
        {
          g_test_skip ("the temporary directory has no user extended attributes");
          return;
        }

      g_assert_true (download (fixture, transfer, name, G_CURL_DOWNLOAD_RESUME, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
      assert_file_is_pattern (fixture, name, size);
      assert_no_file (fixture, part);
    }

  write_part (fixture, "cond", 1000, TRUE, NULL);
  g_assert_true (g_file_set_attribute_string (cond, kept[0].attribute, kept[0].value,
                                              G_FILE_QUERY_INFO_NONE, NULL, NULL));
  g_assert_true (download (fixture, current, "cond", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (current), ==, 304);
  assert_file_is_pattern (fixture, "cond", 1000);
}

static gboolean
has_control (const char *value)
{
  for (; value != NULL && *value != '\0'; value++)
    if ((guchar) *value < 0x20 || *value == 0x7f)
      return TRUE;
  return FALSE;
}

/* A server's ETag with a control character is no validator: not kept, not sent back; no crash.
 * The first attempt is cut off and the retry asks for the rest without
 * If-Range (a 206); a .part left by a cancel keeps the size, not the ETag,
 * and is continued the same way. libcurl 7.88 ends a value at a CR: that
 * ETag is kept as libcurl gave it, and no longer matches the server's (a
 * 200 of the whole file each time). */
static void
test_validators_server_control (Fixture       *fixture,
                                gconstpointer  data)
{
  const guint size = 300000;
  const char *etags[] = { "v1%0D", "v1%01", "v1%09x", "v1%7F" };
  guint n_control = 0;
  guint i;

  g_curl_download_set_xattrs_disabled (TRUE);
  for (i = 0; i < G_N_ELEMENTS (etags); i++)
    {
      g_autofree char *key = g_strdup_printf ("control-%u-%d", i, g_test_rand_int ());
      g_autofree char *cut = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&after=%u"
                                                  "&etag=%s", size, key, 100000, etags[i]);
      g_autofree char *slow = test_server_raw_url (server, "/bytes/%u?etag=%s", 1024 * 1024,
                                                   etags[i]);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (cut);
      g_autoptr(GCurlTransfer) again = g_curl_transfer_new (slow);
      g_autoptr(GError) error = NULL;
      g_autofree char *cut_name = g_strdup_printf ("cut-%u", i);
      g_autofree char *slow_name = g_strdup_printf ("slow-%u", i);
      g_autofree char *slow_part = g_strconcat (slow_name, ".part", NULL);
      g_autofree char *kept = NULL;
      g_autofree char *got = NULL;
      const char *etag;
      gboolean control;

      g_test_message ("ETag %s", etags[i]);
      g_assert_true (download (fixture, transfer, cut_name, G_CURL_DOWNLOAD_NONE, NULL, &error));
      g_assert_no_error (error);
      etag = g_curl_transfer_get_response_header (transfer, "ETag");
      got = g_strescape (etag != NULL ? etag : "", NULL);
      g_test_message ("libcurl gave the ETag \"%s\"", got);
      control = has_control (etag);
      n_control += control;
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, control ? 206 : 200);
      assert_file_is_pattern (fixture, cut_name, size);

      g_assert_cmpint (download_part (fixture, slow, slow_name, 200), >, 0);
      kept = read_side_file (fixture, slow_part);
      g_assert_nonnull (kept);
      g_assert_true (strstr (kept, "etag=") == NULL || !control);
      g_assert_nonnull (strstr (kept, "size=1048576"));
      g_assert_true (download (fixture, again, slow_name, G_CURL_DOWNLOAD_RESUME, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, control ? 206 : 200);
      assert_file_is_pattern (fixture, slow_name, 1024 * 1024);
    }
  g_curl_download_set_xattrs_disabled (FALSE);
  /* Some reached download_async: the test tests something. */
  g_assert_cmpuint (n_control, >, 0);
}

typedef struct
{
  char     *path;
  guint     times;   /* truncations left, one per attempt */
  gboolean  armed;   /* an attempt began since the last one */
} Truncate;

static void
arm_truncate_cb (GCurlTransfer *transfer,
                 gpointer       user_data)
{
  ((Truncate *) user_data)->armed = TRUE;
}

static gboolean
truncate_cb (gpointer user_data)
{
  Truncate *t = user_data;
  GStatBuf st;

  if (t->times == 0)
    return G_SOURCE_CONTINUE;
  /* Only once some of it is there. */
  if (!t->armed || g_stat (t->path, &st) < 0 || st.st_size < 64 * 1024)
    return G_SOURCE_CONTINUE;

  g_test_message ("truncating %s at %" G_GOFFSET_FORMAT, t->path, (goffset) st.st_size);
  g_assert_cmpint (truncate (t->path, 0), ==, 0);
  t->armed = FALSE;
  t->times--;
  return G_SOURCE_CONTINUE;
}

/* A .part truncated under the download costs one fresh attempt; truncated twice, INVALID_DATA.
 * Another program shortens the .part while it is written. Appending, the
 * writes go on at its new end, never after a hole of zeros that would pass
 * for data, and the size check before the rename catches it: one more
 * attempt from zero; a second time, G_IO_ERROR_INVALID_DATA and nothing is
 * renamed into place. */
static void
test_part_truncated (Fixture       *fixture,
                     gconstpointer  data)
{
  const guint size = 1024 * 1024;
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?trunc=%d", size,
                                              g_test_rand_int ());
  Truncate once = { path_in (fixture, "file.part"), 1, FALSE };
  Truncate always = { path_in (fixture, "again.part"), 2, FALSE };
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) again = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  TestRecorder recorder;
  guint id;

  g_curl_transfer_set_max_download_speed (transfer, 2 * 1024 * 1024);
  test_recorder_attach (&recorder, transfer);
  g_signal_connect (transfer, "got-headers", G_CALLBACK (arm_truncate_cb), &once);
  id = g_timeout_add (20, truncate_cb, &once);
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_source_remove (id);
  g_assert_no_error (error);
  g_assert_cmpuint (once.times, ==, 0);
  assert_file_is_pattern (fixture, "file", size);
  g_assert_cmpuint (recorder.n_finished, ==, 2);
  test_recorder_clear (&recorder);

  g_curl_transfer_set_max_download_speed (again, 2 * 1024 * 1024);
  g_signal_connect (again, "got-headers", G_CALLBACK (arm_truncate_cb), &always);
  id = g_timeout_add (20, truncate_cb, &always);
  g_assert_false (download (fixture, again, "again", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_source_remove (id);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  assert_no_file (fixture, "again");
  assert_no_file (fixture, "again.part");

  g_free (once.path);
  g_free (always.path);
}

/* A resume redirected to another origin still sends Range there and gets a 206 of the rest.
 * Range and If-Range are the download's own: they follow a redirect to
 * another origin (a mirror), unlike the application's headers. */
static void
test_resume_across_origins (Fixture       *fixture,
                            gconstpointer  data)
{
  const guint size = 200000;
  g_autofree char *target = g_strdup_printf ("%s/bytes/%u", test_server_get_uri2 (server), size);
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);
  g_autofree char *url = test_server_url (server, "/redirect-to?url=%s", escaped);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  g_autofree char *range = g_strdup_printf ("bytes 1000-%u/%u", size - 1, size);

  write_part (fixture, "file.part", 1000, TRUE, NULL);
  g_curl_transfer_set_request_header (transfer, "X-Api-Key", "secret");
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", size);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Range"), ==, range);
}

/* A refused connection is transient: the download tries again. */
static void
test_refused_is_retried (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/file",
                                          test_server_get_refused_port ());
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  TestRecorder recorder;

  g_object_set (fixture->multi, "download-retries", 2, NULL);
  test_recorder_attach (&recorder, transfer);
  g_assert_false (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_cmpuint (recorder.n_finished, ==, 3);
  test_recorder_clear (&recorder);
  assert_no_file (fixture, "file");
}

/* Retry-After as an HTTP date is honoured as well as seconds. */
static void
test_retry_after_date (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *key = g_strdup_printf ("busy-date-%d", g_test_rand_int ());
  g_autofree char *url =
    test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&status=503&retry-after=2"
                                 "&retry-after-date=1", 7000, key);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "file", 7000);
  /* A date 2 s ahead, in whole seconds: at least 1 s of waiting. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
}

static void
count_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error));
  g_assert_no_error (error);
  (*(guint *) user_data)++;
}

/* 100 concurrent downloads of different sizes all succeed, each file with its own bytes. */
static void
test_many_concurrent (Fixture       *fixture,
                      gconstpointer  data)
{
  const guint n = 100;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint done = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autofree char *url = test_server_raw_url (server, "/bytes/%u", 1000 + i * 5003);
      g_autofree char *path = g_strdup_printf ("%s/file%u", fixture->dir, i);
      g_autoptr(GFile) file = g_file_new_for_path (path);
      GCurlTransfer *transfer = g_curl_transfer_new (url);

      g_ptr_array_add (transfers, transfer);
      g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                                   count_done_cb, &done);
    }
  while (done < n)
    g_main_context_iteration (NULL, TRUE);

  for (i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("file%u", i);

      assert_file_is_pattern (fixture, name, 1000 + i * 5003);
    }
}

/* The first bytes and the size of the file @name. */
static GBytes *
file_bytes (Fixture    *fixture,
            const char *name)
{
  g_autofree char *path = path_in (fixture, name);
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));

  return g_bytes_new_take (contents, length);
}

/* A gzip body is saved as served (the multi decodes by default, a download does not). */
static void
test_as_served (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) saved = NULL;
  const guint8 *bytes;
  gsize size;

  g_assert_true (download (fixture, transfer, "file.gz", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  saved = file_bytes (fixture, "file.gz");
  bytes = g_bytes_get_data (saved, &size);
  g_assert_cmpuint (size, <, 100000);
  g_assert_cmpuint (size, >=, 2);
  g_assert_cmpuint (bytes[0], ==, 0x1f);
  g_assert_cmpuint (bytes[1], ==, 0x8b);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, (gint64) size);
}

/* A transfer that sets accept-encoding itself gets its download decoded. */
static void
test_decoded_when_asked (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/gzip-zeros/%u", 100000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) saved = NULL;
  const guint8 *bytes;
  gsize size, i;

  g_object_set (transfer, "accept-encoding", "", NULL);
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  saved = file_bytes (fixture, "file");
  bytes = g_bytes_get_data (saved, &size);
  for (i = 0; i < size && bytes[i] == 0; i++)
    ;
  g_assert_cmpuint (size, ==, 100000);
  g_assert_cmpuint (i, ==, size);
}

/* A 304 leaves an existing destination as it was (content and mtime), even with OVERWRITE. */
static void
test_not_modified_keeps_file (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/304");
  g_autofree char *path = path_in (fixture, "file");
  g_autofree char *part = path_in (fixture, "file.part");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) before = NULL;
  g_autoptr(GFileInfo) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (path, "the copy we have", -1, NULL));
  before = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                              G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_curl_transfer_set_request_header (transfer, "If-None-Match", "\"v1\"");
  g_assert_true (download (fixture, transfer, "file", G_CURL_DOWNLOAD_OVERWRITE, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 304);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "the copy we have");
  after = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                             G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_assert_cmpuint (g_file_info_get_attribute_uint64 (after, G_FILE_ATTRIBUTE_TIME_MODIFIED), ==,
                    g_file_info_get_attribute_uint64 (before, G_FILE_ATTRIBUTE_TIME_MODIFIED));
  g_assert_cmpuint (g_file_info_get_attribute_uint32 (after, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC), ==,
                    g_file_info_get_attribute_uint32 (before, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* A saved file's modification time is the response's Last-Modified. */
static void
test_mtime_from_last_modified (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer =
    test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                              "Sun,%2006%20Nov%201994%2008:49:37%20GMT");
  g_autoptr(GCurlTransfer) undated = test_transfer_new_printf (server, "/bytes/1000");
  g_autofree char *path = path_in (fixture, "dated");
  g_autofree char *undated_path = path_in (fixture, "undated");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) undated_file = g_file_new_for_path (undated_path);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFileInfo) undated_info = NULL;
  g_autoptr(GError) error = NULL;
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_true (download (fixture, transfer, "dated", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_pattern (fixture, "dated", 1000);
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED, G_FILE_QUERY_INFO_NONE,
                            NULL, NULL);
  g_assert_cmpuint (g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED), ==,
                    784111777);

  /* Without one, the file has the time it was written. */
  g_assert_true (download (fixture, undated, "undated", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  undated_info = g_file_query_info (undated_file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                    G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_assert_cmpuint (g_file_info_get_attribute_uint64 (undated_info, G_FILE_ATTRIBUTE_TIME_MODIFIED),
                    >=, (guint64) before);
}

static guint64
mtime_of (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  g_assert_nonnull (info);
  return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED);
}

#define NOV_1994 "Sun,%2006%20Nov%201994%2008:49:37%20GMT"
#define NOV_1995 "Mon,%2006%20Nov%201995%2008:49:37%20GMT"

/* IF_MODIFIED: fetched when missing, 304 and untouched when current, replaced by a new version. */
static void
test_if_modified (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                            NOV_1994);
  g_autoptr(GCurlTransfer) again = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                            NOV_1994);
  g_autoptr(GCurlTransfer) newer = test_transfer_new_printf (server, "/bytes/1001?last-modified=%s",
                                                            NOV_1995);
  g_autofree char *path = path_in (fixture, "file");
  g_autoptr(GError) error = NULL;
  guint not_modified = test_server_get_path_count (server, "304");

  /* Missing: fetched, with the resource's time. */
  g_assert_true (download (fixture, first, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (first), ==, 200);
  assert_file_is_pattern (fixture, "file", 1000);
  g_assert_cmpuint (mtime_of (path), ==, 784111777);

  /* Current: the server says 304, the file stays as it is (no EXISTS either). */
  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 304);
  g_assert_cmpuint (test_server_get_path_count (server, "304"), ==, not_modified + 1);
  assert_file_is_pattern (fixture, "file", 1000);
  g_assert_cmpuint (mtime_of (path), ==, 784111777);

  /* A new version (another ETag, a later date): it replaces the file. */
  g_assert_true (download (fixture, newer, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (newer), ==, 200);
  assert_file_is_pattern (fixture, "file", 1001);
  g_assert_cmpuint (mtime_of (path), ==, 815647777);
}

/* Without kept validators, the file's own time is the condition. */
static void
test_if_modified_by_mtime (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) current = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                              NOV_1994);
  g_autoptr(GCurlTransfer) newer = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                            NOV_1995);
  g_autofree char *path = path_in (fixture, "file");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  /* A file of the application's own, dated 1994-11-06 08:49:37. */
  g_assert_true (g_file_set_contents (path, "ours", -1, NULL));
  g_assert_true (g_file_set_attribute_uint64 (file, G_FILE_ATTRIBUTE_TIME_MODIFIED, 784111777,
                                              G_FILE_QUERY_INFO_NONE, NULL, NULL));

  g_assert_true (download (fixture, current, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (current), ==, 304);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ours");

  g_assert_true (download (fixture, newer, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (newer), ==, 200);
  assert_file_is_pattern (fixture, "file", 1000);
}

/* The modification time of @path, s and µs, as one number to compare. */
static guint64
mtime_usec_of (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info =
    g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                       G_FILE_QUERY_INFO_NONE, NULL, NULL);

  g_assert_nonnull (info);
  return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
         g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
}

/* IF_MODIFIED asks with the ETag kept with the file (xattr, or side file): 304 where the date says 200.
 * The saved ETag is what makes this a 304: the resource's Last-Modified
 * is now later than the file's (an If-Modified-Since alone would get a
 * 200), but the server checks If-None-Match first, and the ETag is the
 * same. @data: TRUE for a file system without extended attributes, where
 * the ETag is kept in "<file>.validators". */
static void
test_if_modified_by_etag (Fixture       *fixture,
                          gconstpointer  data)
{
  gboolean side_file = GPOINTER_TO_INT (data);
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                            NOV_1994);
  g_autoptr(GCurlTransfer) again = test_transfer_new_printf (server, "/bytes/1000?last-modified=%s",
                                                            NOV_1995);
  g_autofree char *path = path_in (fixture, "file");
  g_autofree char *kept = NULL;
  g_autoptr(GError) error = NULL;
  guint not_modified = test_server_get_path_count (server, "304");
  guint64 mtime;

  g_curl_download_set_xattrs_disabled (side_file);
  g_assert_true (download (fixture, first, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (first), ==, 200);
  assert_file_is_pattern (fixture, "file", 1000);
  assert_no_file (fixture, "file.part.validators");
  if (side_file)
    {
      kept = read_side_file (fixture, "file");
      g_assert_nonnull (kept);
      g_assert_nonnull (strstr (kept, "etag=\"pattern-1000\""));
    }
  else
    {
      kept = read_validators_xattr (fixture, "file");
      if (kept == NULL)
        {
          g_test_skip ("the temporary directory has no user extended attributes");
          return;
        }
      g_assert_nonnull (strstr (kept, "etag=\"pattern-1000\""));
      assert_no_file (fixture, "file.validators");
    }
  mtime = mtime_usec_of (path);
  g_assert_cmpuint (mtime, ==, (guint64) 784111777 * G_USEC_PER_SEC);

  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_curl_download_set_xattrs_disabled (FALSE);
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 304);
  g_assert_cmpuint (test_server_get_path_count (server, "304"), ==, not_modified + 1);
  assert_file_is_pattern (fixture, "file", 1000);
  g_assert_cmpuint (mtime_usec_of (path), ==, mtime);
  assert_no_file (fixture, "file.part");
}

/* A side file that no longer describes its file is not used; a version saved with an xattr drops it.
 * Another program that rewrites the file leaves its side file behind: with
 * another size the ETag in it says nothing of the file, and is not sent.
 * A newer version whose validators go to an extended attribute removes
 * the side file of the version before (where the file system has none,
 * replaces it). */
static void
test_if_modified_side_file_stale (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GCurlTransfer) again = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GCurlTransfer) newer = test_transfer_new_printf (server, "/bytes/1001");
  g_autofree char *path = path_in (fixture, "file");
  g_autofree char *side = NULL;
  g_autofree char *xattr = NULL;
  g_autoptr(GError) error = NULL;

  g_curl_download_set_xattrs_disabled (TRUE);
  g_assert_true (download (fixture, first, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  side = read_side_file (fixture, "file");
  g_assert_nonnull (strstr (side, "etag=\"pattern-1000\""));

  /* Rewritten by hand: the ETag is not sent (it would get a 304), and
   * without a Last-Modified the server has no date to answer 304 to. */
  g_assert_true (g_file_set_contents (path, "ours", -1, NULL));
  g_assert_true (download (fixture, again, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_curl_download_set_xattrs_disabled (FALSE);
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 200);
  assert_file_is_pattern (fixture, "file", 1000);

  /* The next version, with xattrs where there are: no stale side file. */
  g_assert_true (download (fixture, newer, "file", G_CURL_DOWNLOAD_IF_MODIFIED, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (newer), ==, 200);
  assert_file_is_pattern (fixture, "file", 1001);
  g_clear_pointer (&side, g_free);
  side = read_side_file (fixture, "file");
  xattr = read_validators_xattr (fixture, "file");
  if (xattr != NULL)
    {
      g_assert_nonnull (strstr (xattr, "etag=\"pattern-1001\""));
      g_assert_null (side);
    }
  else
    g_assert_nonnull (strstr (side, "etag=\"pattern-1001\""));
}

/* With file allowed, a file:// download saves the exact bytes, with the file's time, and succeeds.
 * libcurl gives no status for file:// (0): the download must not take
 * that for a failure. */
static void
test_file_scheme (Fixture       *fixture,
                  gconstpointer  data)
{
  const gsize size = 300000;
  g_autofree char *source = path_in (fixture, "source.bin");
  g_autofree char *url = g_filename_to_uri (source, NULL, NULL);
  g_autofree guint8 *bytes = g_malloc (size);
  g_autoptr(GFile) source_file = g_file_new_for_path (source);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) refused = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  g_autofree char *dest = path_in (fixture, "local.bin");

  test_pattern_fill (0, bytes, size);
  g_assert_true (g_file_set_contents (source, (const char *) bytes, size, NULL));
  g_assert_true (g_file_set_attribute_uint64 (source_file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                              784111777, G_FILE_QUERY_INFO_NONE, NULL, NULL));

  /* Not allowed by default. */
  g_assert_false (download (fixture, refused, "refused.bin", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_clear_error (&error);
  assert_no_file (fixture, "refused.bin");
  assert_no_file (fixture, "refused.bin.part");

  g_object_set (fixture->multi, "allowed-protocols", "http,https,file", NULL);
  g_assert_true (download (fixture, transfer, "local.bin", G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 0);
  assert_file_is_pattern (fixture, "local.bin", size);
  assert_no_file (fixture, "local.bin.part");
  g_assert_cmpuint (mtime_of (dest), ==, 784111777);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/download/simple", test_simple);
  ADD_TEST ("/download/as-served", test_as_served);
  ADD_TEST ("/download/not-modified-keeps-file", test_not_modified_keeps_file);
  ADD_TEST ("/download/mtime-from-last-modified", test_mtime_from_last_modified);
  ADD_TEST ("/download/if-modified", test_if_modified);
  ADD_TEST ("/download/if-modified-by-mtime", test_if_modified_by_mtime);
  g_test_add ("/download/if-modified-by-etag/xattr", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_if_modified_by_etag, fixture_teardown);
  g_test_add ("/download/if-modified-by-etag/side-file", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_if_modified_by_etag, fixture_teardown);
  ADD_TEST ("/download/if-modified-side-file-stale", test_if_modified_side_file_stale);
  ADD_TEST ("/download/file-scheme", test_file_scheme);
  ADD_TEST ("/download/decoded-when-asked", test_decoded_when_asked);
  ADD_TEST ("/download/existing-destination", test_existing_destination);
  ADD_TEST ("/download/http-error-saves-nothing", test_http_error_saves_nothing);
  ADD_TEST ("/download/cancel-then-resume", test_cancel_then_resume);
  ADD_TEST ("/download/resume-cases", test_resume_cases);
  ADD_TEST ("/download/resume-complete-part", test_resume_complete_part);
  ADD_TEST ("/download/no-resume-replaces-part", test_no_resume_replaces_part);
  ADD_TEST ("/download/retries-resume", test_retries_resume);
  ADD_TEST ("/download/retries-exhausted", test_retries_exhausted);
  ADD_TEST ("/download/retry-on-network-change", test_retry_on_network_change);
  ADD_TEST ("/download/retry-after", test_retry_after);
  ADD_TEST ("/download/checksum", test_checksum);
  ADD_TEST ("/download/validators/side-file", test_validators_side_file);
  ADD_TEST ("/download/validators/xattr", test_validators_xattr);
  ADD_TEST ("/download/validators/retry-changed", test_validators_retry_changed);
  ADD_TEST ("/download/validators/damaged", test_validators_damaged);
  ADD_TEST ("/download/validators/damaged-xattr", test_validators_damaged_xattr);
  ADD_TEST ("/download/validators/server-control", test_validators_server_control);
  ADD_TEST ("/download/part-truncated", test_part_truncated);
  ADD_TEST ("/download/resume-across-origins", test_resume_across_origins);
  ADD_TEST ("/download/refused-is-retried", test_refused_is_retried);
  ADD_TEST ("/download/retry-after-date", test_retry_after_date);
  ADD_TEST ("/download/many-concurrent", test_many_concurrent);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
