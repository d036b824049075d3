/* test-downloads.c: the downloader's downloads, without its window
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * DlDownloadManager runs the list the window shows: these tests drive it
 * as the buttons do (add, pause, resume, retry, remove) against the
 * examples' HTTP server on 127.0.0.1, and check the files, the saved list,
 * the multi's list of transfers (the window's "In Progress") and the words
 * the person reads.
 */

#include "dl-config.h"

#include <libintl.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gcurlmulti.h>

#include "dl-download-manager.h"
#include "dl-format.h"
#include "example-server.h"

/* The longest a test may wait for something to happen. */
#define TEST_TIMEOUT_S 30

/* Slow enough (bytes/s, with the manager's speed limit, which the running
 * downloads share) that a download can be paused or removed while it
 * runs. */
#define SLOW_SPEED (200 * 1000)
#define SLOW_FILE_SIZE (1024 * 1024)

#define NBSP "\302\240"

/* Milliseconds before a download tries again: short, for the tests. */
#define TEST_RETRY_DELAY_MS 200

typedef struct
{
  ExampleServer     *server;
  char              *folder_path;
  GFile             *folder;
  char              *state_path;
  DlDownloadManager *manager;
  guint              n_finished;    /* download-finished emissions */
} Fixture;

static void
count_finished_cb (DlDownloadManager *manager,
                   DlDownload        *download,
                   Fixture           *fixture)
{
  fixture->n_finished++;
}

static DlDownloadManager *
fixture_new_manager (Fixture *fixture)
{
  DlDownloadManager *manager = dl_download_manager_new (fixture->state_path);

  g_object_set (dl_download_manager_get_multi (manager), "retry-delay", TEST_RETRY_DELAY_MS, NULL);
  g_signal_connect (manager, "download-finished", G_CALLBACK (count_finished_cb), fixture);
  return manager;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->server = example_server_start (&error);
  g_assert_no_error (error);
  fixture->folder_path = g_dir_make_tmp ("test-downloads-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->folder = g_file_new_for_path (fixture->folder_path);
  fixture->state_path = g_build_filename (fixture->folder_path, "state", "downloads.ini", NULL);
  fixture->manager = fixture_new_manager (fixture);
}

static gboolean
timeout_cb (gpointer data)
{
  g_error ("Timed out waiting for %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @condition holds, failing the test after
 * TEST_TIMEOUT_S. */
#define WAIT_UNTIL(condition)                                                  \
  G_STMT_START {                                                               \
    guint timeout_id_ = g_timeout_add_seconds (TEST_TIMEOUT_S, timeout_cb,     \
                                               (gpointer) #condition);         \
    while (!(condition))                                                       \
      g_main_context_iteration (NULL, TRUE);                                   \
    g_source_remove (timeout_id_);                                             \
  } G_STMT_END

static gboolean
set_true_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms milliseconds. */
static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_true_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
stop_and_free_manager (DlDownloadManager **manager)
{
  dl_download_manager_stop_all (*manager);
  WAIT_UNTIL (dl_download_manager_is_stopped (*manager));
  g_object_add_weak_pointer (G_OBJECT (*manager), (gpointer *) manager);
  g_object_unref (*manager);
  /* Nothing else holds it once its runs have ended. */
  g_assert_null (*manager);
}

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children =
    g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                               G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));

      remove_tree (child);
      g_object_unref (info);
    }
  g_file_delete (file, NULL, NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->manager != NULL)
    stop_and_free_manager (&fixture->manager);
  remove_tree (fixture->folder);
  g_clear_object (&fixture->folder);
  g_free (fixture->folder_path);
  g_free (fixture->state_path);
  example_server_stop (fixture->server);
}

static DlDownload *
add_file (Fixture           *fixture,
          DlDownloadManager *manager,
          guint64            size)
{
  g_autofree char *url = example_server_get_file_url (fixture->server, size);
  g_autoptr(GError) error = NULL;
  DlDownload *download = dl_download_manager_add (manager, url, fixture->folder, &error);

  g_assert_no_error (error);
  g_assert_nonnull (download);
  return g_object_ref (download);
}

static void
assert_file_complete (DlDownload *download,
                      guint64     size)
{
  g_autofree char *path = NULL;
  g_autofree char *part_path = g_file_get_path (dl_download_get_part_file (download));
  g_autofree char *contents = NULL;
  g_autofree char *expected = example_server_expected_sha256 (size);
  g_autofree char *actual = NULL;
  gsize length;

  g_assert_nonnull (dl_download_get_file (download));
  path = g_file_get_path (dl_download_get_file (download));
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, ==, size);
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
  g_assert_cmpstr (actual, ==, expected);
  g_assert_false (g_file_test (part_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (dl_download_get_state (download), ==, DL_DOWNLOAD_STATE_DONE);
  g_assert_cmpfloat (dl_download_get_fraction (download), ==, 1.0);
}

static char *
read_state (Fixture *fixture)
{
  char *contents = NULL;

  if (!g_file_get_contents (fixture->state_path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

/* -1 if there is none, or the download has no name yet. */
static gint64
part_size (DlDownload *download)
{
  GFile *part = dl_download_get_part_file (download);
  g_autofree char *path = part != NULL ? g_file_get_path (part) : NULL;
  GStatBuf buf;

  return path != NULL && g_stat (path, &buf) == 0 ? (gint64) buf.st_size : -1;
}

static char *
status_of (DlDownload *download)
{
  return dl_format_status (download);
}

static gboolean
is_named (DlDownload *download,
          const char *name)
{
  GFile *file = dl_download_get_file (download);
  g_autofree char *basename = file != NULL ? g_file_get_basename (file) : NULL;

  return g_strcmp0 (basename, name) == 0;
}

/* The window's "In Progress" shows the multi's list, each transfer as the
 * download it runs: it holds @downloads (the running ones), in order. */
static void
assert_multi_lists (DlDownloadManager *manager,
                    DlDownload        *downloads[],
                    guint              n)
{
  GListModel *transfers = G_LIST_MODEL (dl_download_manager_get_multi (manager));

  g_assert_true (g_list_model_get_item_type (transfers) == G_CURL_TYPE_TRANSFER);
  g_assert_cmpuint (g_list_model_get_n_items (transfers), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_list_model_get_item (transfers, i);

      g_assert_true (dl_download_manager_lookup (manager, transfer) == downloads[i]);
      g_assert_true (dl_download_get_transfer (downloads[i]) == transfer);
      g_assert_true (dl_download_manager_is_running (manager, downloads[i]));
    }
}

/* ------------------------------------------------------------------------ */

static void
test_complete (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(DlDownload) small = add_file (fixture, fixture->manager, 1024);
  g_autoptr(DlDownload) large = add_file (fixture, fixture->manager, 4 * 1024 * 1024);
  g_autofree char *state = NULL;

  /* Saved as soon as added: a crash right now loses nothing. */
  state = read_state (fixture);
  g_assert_nonnull (strstr (state, dl_download_get_url (large)));
  g_clear_pointer (&state, g_free);

  g_assert_true (dl_download_manager_get_active (fixture->manager));
  {
    DlDownload *running[] = { small, large };

    assert_multi_lists (fixture->manager, running, G_N_ELEMENTS (running));
  }
  WAIT_UNTIL (!dl_download_manager_get_active (fixture->manager));

  assert_file_complete (small, 1024);
  assert_file_complete (large, 4 * 1024 * 1024);
  g_assert_cmpuint (fixture->n_finished, ==, 2);
  /* Named by the server's response (here: the URL's last segment), in the
   * folder, as the transfer's "destination" said. */
  g_assert_cmpstr (dl_download_get_display_name (small), ==, "1024");
  g_assert_true (g_file_equal (dl_download_get_file (small),
                               g_curl_transfer_get_destination (dl_download_get_transfer (small))));
  {
    g_autoptr(GFile) parent = g_file_get_parent (dl_download_get_file (small));

    g_assert_true (g_file_equal (parent, fixture->folder));
  }

  /* Finished, they leave the multi's list, and stay in the manager's. */
  assert_multi_lists (fixture->manager, NULL, 0);
  g_assert_false (dl_download_manager_is_running (fixture->manager, small));
  g_assert_cmpuint (g_list_model_get_n_items (dl_download_manager_get_downloads (fixture->manager)),
                    ==, 2);

  /* Only the unfinished are kept. */
  state = read_state (fixture);
  g_assert_null (strstr (state, "Download "));

  /* Their files stay when the list is cleared. */
  dl_download_manager_clear_finished (fixture->manager);
  g_assert_cmpuint (g_list_model_get_n_items (dl_download_manager_get_downloads (fixture->manager)),
                    ==, 0);
  g_assert_true (g_file_query_exists (dl_download_get_file (large), NULL));
}

static gint64
multi_speed_limit (DlDownloadManager *manager)
{
  gint64 limit = -1;

  g_object_get (dl_download_manager_get_multi (manager), "max-download-speed", &limit, NULL);
  return limit;
}

/* The multi queues the downloads: one at a time here, the others
 * G_CURL_TRANSFER_STATE_QUEUED, and their rows say "Queued". */
static void
test_queue (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(DlDownload) first = NULL;
  g_autoptr(DlDownload) second = NULL;
  g_autoptr(DlDownload) third = NULL;
  guint max_total_connections = 0;

  dl_download_manager_set_max_concurrent (fixture->manager, 1);
  g_object_get (dl_download_manager_get_multi (fixture->manager),
                "max-total-connections", &max_total_connections, NULL);
  g_assert_cmpuint (max_total_connections, ==, 1);
  dl_download_manager_set_speed_limit (fixture->manager, SLOW_SPEED);
  g_assert_cmpint (multi_speed_limit (fixture->manager), ==, SLOW_SPEED);

  first = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  second = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  third = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  {
    DlDownload *running[] = { first, second, third };

    assert_multi_lists (fixture->manager, running, G_N_ELEMENTS (running));
  }

  WAIT_UNTIL (dl_download_get_state (first) == DL_DOWNLOAD_STATE_DOWNLOADING);
  g_assert_cmpint (dl_download_get_state (second), ==, DL_DOWNLOAD_STATE_QUEUED);
  g_assert_cmpint (dl_download_get_state (third), ==, DL_DOWNLOAD_STATE_QUEUED);
  g_assert_cmpint (g_curl_transfer_get_state (dl_download_get_transfer (second)), ==,
                   G_CURL_TRANSFER_STATE_QUEUED);
  {
    g_autofree char *status = status_of (third);

    g_assert_cmpstr (status, ==, "Queued");
  }

  /* The first is named by its response; the others, not asked yet, are
   * called after their URL. */
  WAIT_UNTIL (is_named (first, "1048576"));
  g_assert_null (dl_download_get_file (second));
  g_assert_cmpstr (dl_download_get_display_name (second), ==, "1048576");

  /* A paused download would keep its connection: with the second waiting
   * for it, the first stops instead (keeping its .part), and the next
   * one starts. */
  dl_download_manager_pause (fixture->manager, first);
  g_assert_cmpint (dl_download_get_state (first), ==, DL_DOWNLOAD_STATE_PAUSED);
  WAIT_UNTIL (!dl_download_manager_is_running (fixture->manager, first));
  WAIT_UNTIL (dl_download_get_state (second) == DL_DOWNLOAD_STATE_DOWNLOADING);
  g_assert_cmpint (dl_download_get_state (first), ==, DL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpint (dl_download_get_state (third), ==, DL_DOWNLOAD_STATE_QUEUED);
  {
    DlDownload *running[] = { second, third };

    assert_multi_lists (fixture->manager, running, G_N_ELEMENTS (running));
  }

  /* The same name is taken: numbered, as the library does. */
  WAIT_UNTIL (is_named (second, "1048576 (1)"));

  /* A higher limit starts the rest at once: before the second is done. */
  dl_download_manager_set_max_concurrent (fixture->manager, 3);
  WAIT_UNTIL (dl_download_get_state (third) == DL_DOWNLOAD_STATE_DOWNLOADING);
  g_assert_cmpint (dl_download_get_state (second), ==, DL_DOWNLOAD_STATE_DOWNLOADING);
  WAIT_UNTIL (is_named (third, "1048576 (2)"));

  /* A new speed limit reaches the multi, which applies it at once. */
  dl_download_manager_set_speed_limit (fixture->manager, 0);
  g_assert_cmpint (multi_speed_limit (fixture->manager), ==, 0);

  dl_download_manager_resume (fixture->manager, first);
  WAIT_UNTIL (!dl_download_manager_get_active (fixture->manager));
  assert_file_complete (first, SLOW_FILE_SIZE);
  assert_file_complete (second, SLOW_FILE_SIZE);
  assert_file_complete (third, SLOW_FILE_SIZE);
  g_assert_cmpstr (dl_download_get_display_name (third), ==, "1048576 (2)");
}

static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(DlDownload) download = NULL;
  GCurlTransfer *transfer;
  gint64 paused_at;

  dl_download_manager_set_speed_limit (fixture->manager, SLOW_SPEED);
  download = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  WAIT_UNTIL (dl_download_get_downloaded_bytes (download) > SLOW_FILE_SIZE / 10);

  /* A running transfer is paused itself: same connection, no new run,
   * and its row stays in the multi's list. */
  transfer = dl_download_get_transfer (download);
  dl_download_manager_pause (fixture->manager, download);
  g_assert_cmpint (dl_download_get_state (download), ==, DL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  {
    DlDownload *running[] = { download };

    assert_multi_lists (fixture->manager, running, G_N_ELEMENTS (running));
  }

  /* Nothing more arrives while paused (after what was on its way). */
  run_for (300);
  paused_at = dl_download_get_downloaded_bytes (download);
  run_for (700);
  g_assert_cmpint (dl_download_get_downloaded_bytes (download), ==, paused_at);
  g_assert_cmpint (paused_at, <, SLOW_FILE_SIZE);

  {
    g_autofree char *status = dl_format_status (download);

    g_assert_true (g_str_has_prefix (status, "Paused — "));
  }

  dl_download_manager_set_speed_limit (fixture->manager, 0);
  dl_download_manager_resume (fixture->manager, download);
  g_assert_true (dl_download_get_transfer (download) == transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
  g_assert_cmpint (dl_download_get_state (download), ==, DL_DOWNLOAD_STATE_DOWNLOADING);
  WAIT_UNTIL (dl_download_get_state (download) == DL_DOWNLOAD_STATE_DONE);
  assert_file_complete (download, SLOW_FILE_SIZE);
}

static void
min_downloaded_cb (GCurlTransfer *transfer,
                   GParamSpec    *pspec,
                   gint64        *least)
{
  gint64 downloaded = g_curl_transfer_get_downloaded_bytes (transfer);

  if (downloaded > 0 && (*least < 0 || downloaded < *least))
    *least = downloaded;
}

/* Paused, the app quits; started again, the download is there, paused,
 * with its bytes, and resuming continues the .part. */
static void
test_restart (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(DlDownload) before = NULL;
  g_autoptr(DlDownload) after = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *downloads;
  gint64 kept, least = -1;

  dl_download_manager_set_speed_limit (fixture->manager, SLOW_SPEED);
  before = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  WAIT_UNTIL (dl_download_get_downloaded_bytes (before) > SLOW_FILE_SIZE / 5);
  dl_download_manager_pause (fixture->manager, before);
  stop_and_free_manager (&fixture->manager);

  kept = part_size (before);
  g_assert_cmpint (kept, >, 0);
  g_assert_cmpint (kept, <, SLOW_FILE_SIZE);

  fixture->manager = fixture_new_manager (fixture);
  g_assert_true (dl_download_manager_load (fixture->manager, &error));
  g_assert_no_error (error);
  downloads = dl_download_manager_get_downloads (fixture->manager);
  g_assert_cmpuint (g_list_model_get_n_items (downloads), ==, 1);
  after = g_list_model_get_item (downloads, 0);

  g_assert_cmpstr (dl_download_get_url (after), ==, dl_download_get_url (before));
  g_assert_true (g_file_equal (dl_download_get_file (after), dl_download_get_file (before)));
  g_assert_cmpint (dl_download_get_state (after), ==, DL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpstr (dl_download_get_display_name (after), ==, "1048576");
  g_assert_cmpint (dl_download_get_downloaded_bytes (after), ==, kept);
  g_assert_cmpint (dl_download_get_size (after), ==, SLOW_FILE_SIZE);
  g_assert_false (dl_download_manager_get_active (fixture->manager));

  dl_download_manager_resume (fixture->manager, after);
  g_assert_true (dl_download_manager_is_running (fixture->manager, after));
  g_assert_cmpint (dl_download_get_state (after), !=, DL_DOWNLOAD_STATE_PAUSED);
  g_signal_connect (dl_download_get_transfer (after), "notify::downloaded-bytes",
                    G_CALLBACK (min_downloaded_cb), &least);
  WAIT_UNTIL (dl_download_get_state (after) == DL_DOWNLOAD_STATE_DONE);
  assert_file_complete (after, SLOW_FILE_SIZE);

  /* A resumed download counts within the whole file: it never went back
   * below what the .part had. */
  g_assert_cmpint (least, >=, kept);
}

static void
record_state_cb (DlDownload *download,
                 GParamSpec *pspec,
                 GPtrArray  *statuses)
{
  if (dl_download_get_state (download) == DL_DOWNLOAD_STATE_RETRYING)
    g_ptr_array_add (statuses, dl_format_status (download));
}

static void
test_failure_and_retry (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *missing_url = g_strdup_printf ("http://127.0.0.1:%u/nothing/here.iso",
                                                  example_server_get_port (fixture->server));
  g_autoptr(GPtrArray) retrying = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  DlDownload *missing;
  DlDownload *refused;
  g_autofree char *state = NULL;

  missing = dl_download_manager_add (fixture->manager, missing_url, fixture->folder, &error);
  g_assert_no_error (error);
  /* Port 1 on the loopback: nothing listens there. */
  refused = dl_download_manager_add (fixture->manager, "http://127.0.0.1:1/file.bin",
                                     fixture->folder, &error);
  g_assert_no_error (error);
  g_signal_connect (refused, "notify::state", G_CALLBACK (record_state_cb), retrying);

  WAIT_UNTIL (!dl_download_manager_get_active (fixture->manager));
  g_assert_cmpint (dl_download_get_state (missing), ==, DL_DOWNLOAD_STATE_FAILED);
  g_assert_cmpstr (dl_download_get_error_message (missing), ==,
                   "The file was not found on the server (error 404).");
  /* No file was made of the error page, nor named. */
  g_assert_null (dl_download_get_file (missing));
  g_assert_cmpstr (dl_download_get_display_name (missing), ==, "here.iso");
  {
    g_autoptr(GFile) file = g_file_get_child (fixture->folder, "here.iso");

    g_assert_false (g_file_query_exists (file, NULL));
  }
  g_assert_cmpint (dl_download_get_state (refused), ==, DL_DOWNLOAD_STATE_FAILED);
  g_assert_cmpstr (dl_download_get_error_message (refused), ==,
                   "Could not connect to “127.0.0.1”. The server may be down, or you may "
                   "be offline.");
  g_assert_cmpuint (fixture->n_finished, ==, 2);

  /* Between its attempts, the refused one was retrying, and said why. */
  g_assert_cmpuint (retrying->len, >, 0);
  g_assert_cmpstr (g_ptr_array_index (retrying, 0), ==,
                   "Retrying — Could not connect to “127.0.0.1”. The server may be down, or you "
                   "may be offline.");

  /* Failed downloads are kept, with their message, to retry later. */
  state = read_state (fixture);
  g_assert_nonnull (strstr (state, "State=failed"));
  g_assert_nonnull (strstr (state, "Error=The file was not found"));

  dl_download_manager_retry (fixture->manager, refused);
  g_assert_true (dl_download_manager_is_running (fixture->manager, refused));
  g_assert_cmpint (dl_download_get_state (refused), !=, DL_DOWNLOAD_STATE_FAILED);
  g_assert_null (dl_download_get_error_message (refused));
  WAIT_UNTIL (dl_download_get_state (refused) == DL_DOWNLOAD_STATE_FAILED);
  g_assert_cmpuint (fixture->n_finished, ==, 3);
}

/* A pause holds across the download's retries: paused while it waits to
 * try again, it tries no more until resumed. */
static void
test_pause_while_retrying (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  DlDownload *refused;
  GCurlTransfer *transfer;

  refused = dl_download_manager_add (fixture->manager, "http://127.0.0.1:1/file.bin",
                                     fixture->folder, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (dl_download_get_state (refused) == DL_DOWNLOAD_STATE_RETRYING);

  transfer = dl_download_get_transfer (refused);
  dl_download_manager_pause (fixture->manager, refused);
  g_assert_cmpint (dl_download_get_state (refused), ==, DL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);

  /* Well past the retry delay: still paused, still in the multi's list. */
  run_for (4 * TEST_RETRY_DELAY_MS);
  g_assert_cmpint (dl_download_get_state (refused), ==, DL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  {
    DlDownload *running[] = { refused };

    assert_multi_lists (fixture->manager, running, G_N_ELEMENTS (running));
  }
  g_assert_cmpuint (fixture->n_finished, ==, 0);

  dl_download_manager_resume (fixture->manager, refused);
  g_assert_true (dl_download_get_transfer (refused) == transfer);
  g_assert_cmpint (dl_download_get_state (refused), !=, DL_DOWNLOAD_STATE_PAUSED);
  WAIT_UNTIL (dl_download_get_state (refused) == DL_DOWNLOAD_STATE_FAILED);
  g_assert_cmpuint (fixture->n_finished, ==, 1);
}

static void
test_remove_running (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(DlDownload) download = NULL;

  dl_download_manager_set_speed_limit (fixture->manager, SLOW_SPEED);
  download = add_file (fixture, fixture->manager, SLOW_FILE_SIZE);
  WAIT_UNTIL (part_size (download) > 0);

  dl_download_manager_remove (fixture->manager, download);
  g_assert_cmpuint (g_list_model_get_n_items (dl_download_manager_get_downloads (fixture->manager)),
                    ==, 0);
  /* The data so far goes once the run has closed it. */
  WAIT_UNTIL (!dl_download_manager_get_active (fixture->manager));
  g_assert_cmpint (part_size (download), ==, -1);
  g_assert_false (g_file_query_exists (dl_download_get_file (download), NULL));
  g_assert_cmpuint (fixture->n_finished, ==, 0);
}

static void
test_parse_url (void)
{
  const char *rejected[] = { "hello", "ftp://example.org/a", "file:///etc/passwd",
                             "http://", "", "javascript:alert(1)" };
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (dl_download_manager_parse_url ("  https://example.org/a.iso\n", &url, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (url, ==, "https://example.org/a.iso");

  for (gsize i = 0; i < G_N_ELEMENTS (rejected); i++)
    {
      g_autofree char *ignored = NULL;
      g_autoptr(GError) local_error = NULL;

      g_assert_false (dl_download_manager_parse_url (rejected[i], &ignored, &local_error));
      g_assert_error (local_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (local_error->message, "is not a web address"));
    }
}

static void
test_format (void)
{
  struct { gint64 seconds; const char *text; } times[] = {
    { 0, "1 second left" }, { 1, "1 second left" }, { 59, "59 seconds left" },
    { 60, "1 minute left" }, { 61, "2 minutes left" }, { 3600, "1 hour left" },
    { 3601, "2 hours left" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (times); i++)
    {
      g_autofree char *text = dl_format_time_left (times[i].seconds);

      g_assert_cmpstr (text, ==, times[i].text);
    }

  {
    g_autofree char *progress = dl_format_progress (1200000, 12000000);
    g_autofree char *unknown = dl_format_progress (1200000, -1);
    g_autofree char *speed = dl_format_speed (1000000);

    /* g_format_size() puts a no-break space before the unit. */
    g_assert_cmpstr (progress, ==, "1.2" NBSP "MB of 12.0" NBSP "MB");
    g_assert_cmpstr (unknown, ==, "1.2" NBSP "MB");
    g_assert_cmpstr (speed, ==, "1.0" NBSP "MB/s");
  }

  /* Under the window's title: the multi's n-transfers and download-speed. */
  {
    g_autofree char *none = dl_format_summary (0, 0);
    g_autofree char *one = dl_format_summary (1, 0);
    g_autofree char *two = dl_format_summary (2, 1000000);

    g_assert_cmpstr (none, ==, "");
    g_assert_cmpstr (one, ==, "1 active download");
    g_assert_cmpstr (two, ==, "2 active downloads (1.0" NBSP "MB/s)");
  }
}

/* The library binds its gettext domain (the demo's too) to where its
 * translations are installed, in UTF-8, as soon as its types exist; the
 * default domain stays the application's to choose. */
static void
test_library_domain (void)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();

  g_assert_nonnull (multi);
  g_assert_cmpstr (bindtextdomain (GETTEXT_PACKAGE, NULL), ==, LOCALEDIR);
  g_assert_cmpstr (bind_textdomain_codeset (GETTEXT_PACKAGE, NULL), ==, "UTF-8");
  g_assert_cmpstr (textdomain (NULL), ==, "messages");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/i18n/library-domain", test_library_domain);
  g_test_add_func ("/format/words", test_format);
  g_test_add_func ("/manager/parse-url", test_parse_url);
  g_test_add ("/manager/complete", Fixture, NULL, fixture_set_up, test_complete, fixture_tear_down);
  g_test_add ("/manager/queue", Fixture, NULL, fixture_set_up, test_queue, fixture_tear_down);
  g_test_add ("/manager/pause-resume", Fixture, NULL,
              fixture_set_up, test_pause_resume, fixture_tear_down);
  g_test_add ("/manager/restart", Fixture, NULL, fixture_set_up, test_restart, fixture_tear_down);
  g_test_add ("/manager/failure-and-retry", Fixture, NULL,
              fixture_set_up, test_failure_and_retry, fixture_tear_down);
  g_test_add ("/manager/pause-while-retrying", Fixture, NULL,
              fixture_set_up, test_pause_while_retrying, fixture_tear_down);
  g_test_add ("/manager/remove-running", Fixture, NULL,
              fixture_set_up, test_remove_running, fixture_tear_down);

  return g_test_run ();
}
