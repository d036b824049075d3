/* test-states.c: a multi's transfers as states, as a list, as sums, and
 * under a shared speed limit (issue 17)
 *
 * Every assertion is on counts and order, never on durations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <unistd.h>

#include <glib/gstdio.h>

#include "gcurl-easy-private.h"
#include "gcurl-multi-private.h"
#include "gcurl-transfer-private.h"
#include "test-util.h"

static TestServer *server;

typedef struct
{
  TestFixture  base;
  char        *dir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_fixture_setup (&fixture->base, data);
  g_object_set (fixture->base.multi, "retry-delay", 20, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-states-XXXXXX", NULL);
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
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_unlink (path);
    }
  g_clear_pointer (&dir, g_dir_close);
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  test_fixture_teardown (&fixture->base, data);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

static const char *
state_name (GCurlTransferState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_CURL_TYPE_TRANSFER_STATE);

  return g_enum_get_value (klass, state)->value_nick;
}

typedef struct
{
  GString *log;
  char    *name;    /* (nullable) */
} StateLog;

static void
state_log_free (gpointer data,
                GClosure *closure)
{
  StateLog *sl = data;

  g_free (sl->name);
  g_free (sl);
}

/* Appends "[name:]state," to the log on every notify::state. */
static void
log_state_cb (GCurlTransfer *transfer,
              GParamSpec    *pspec,
              gpointer       user_data)
{
  StateLog *sl = user_data;

  if (sl->name != NULL)
    g_string_append_printf (sl->log, "%s:", sl->name);
  g_string_append_printf (sl->log, "%s,", state_name (g_curl_transfer_get_state (transfer)));
}

static void
watch_states (GCurlTransfer *transfer,
              const char    *name,
              GString       *log)
{
  StateLog *sl = g_new0 (StateLog, 1);

  sl->log = log;
  sl->name = g_strdup (name);
  g_signal_connect_data (transfer, "notify::state", G_CALLBACK (log_state_cb), sl,
                         state_log_free, 0);
}

/* Counts "finished" in the guint @user_data. */
static void
count_finished_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* Adds @transfers to @multi and iterates until they have all finished and
 * left its list. */
static void
run_all (GCurlMulti     *multi,
         GCurlTransfer **transfers,
         guint           n)
{
  guint finished = 0;

  for (guint i = 0; i < n; i++)
    {
      g_signal_connect (transfers[i], "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (multi, transfers[i]);
    }
  while (finished < n || g_list_model_get_n_items (G_LIST_MODEL (multi)) > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < n; i++)
    g_signal_handlers_disconnect_by_func (transfers[i], count_finished_cb, &finished);
}

/* States */

typedef struct
{
  GCurlTransfer *other;
  GCurlTransferState other_state;
} QueuedCheck;

static void
first_running_cb (GCurlTransfer *transfer,
                  GParamSpec    *pspec,
                  gpointer       user_data)
{
  QueuedCheck *check = user_data;

  if (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    check->other_state = g_curl_transfer_get_state (check->other);
}

/* With max-total-connections 1, the second of two transfers is QUEUED while the first runs. */
static void
test_queued (Fixture       *fixture,
             gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/delay/200");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(GString) first_log = g_string_new (NULL);
  g_autoptr(GString) second_log = g_string_new (NULL);
  QueuedCheck check = { second, G_CURL_TRANSFER_STATE_NEW };
  guint finished = 0;

  g_object_set (multi, "max-total-connections", 1, NULL);
  watch_states (first, "a", log);
  watch_states (second, "b", log);
  watch_states (first, NULL, first_log);
  watch_states (second, NULL, second_log);
  g_signal_connect (first, "notify::state", G_CALLBACK (first_running_cb), &check);
  g_signal_connect (first, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (second, "finished", G_CALLBACK (count_finished_cb), &finished);

  g_curl_multi_add_transfer (multi, first);
  g_curl_multi_add_transfer (multi, second);
  g_assert_cmpint (g_curl_transfer_get_state (first), ==, G_CURL_TRANSFER_STATE_QUEUED);
  g_assert_cmpint (g_curl_transfer_get_state (second), ==, G_CURL_TRANSFER_STATE_QUEUED);
  while (finished < 2)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpstr (first_log->str, ==, "queued,running,succeeded,");
  g_assert_cmpstr (second_log->str, ==, "queued,running,succeeded,");
  /* The first ran while the second waited for the one connection. */
  g_assert_cmpint (check.other_state, ==, G_CURL_TRANSFER_STATE_QUEUED);
  g_assert_true (strstr (log->str, "a:running") < strstr (log->str, "b:running"));
  /* (b may be RUNNING before a's "finished": libcurl hands it a's
   * connection as it completes a, in the same call.) */
}

/* Raising max-total-connections while transfers are QUEUED starts them at
 * once, not when the running one leaves (libcurl 7.88 would wait for that). */
static void
test_queued_limit_raised (Fixture       *fixture,
                          gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/delay/5000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GCurlTransfer) third = test_transfer_new_printf (server, "/bytes/2000");
  guint finished = 0;

  g_object_set (multi, "max-total-connections", 1, NULL);
  g_signal_connect (second, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (third, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_curl_multi_add_transfer (multi, first);
  g_curl_multi_add_transfer (multi, second);
  g_curl_multi_add_transfer (multi, third);
  while (g_curl_transfer_get_state (first) != G_CURL_TRANSFER_STATE_RUNNING)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_curl_transfer_get_state (second), ==, G_CURL_TRANSFER_STATE_QUEUED);
  g_assert_cmpint (g_curl_transfer_get_state (third), ==, G_CURL_TRANSFER_STATE_QUEUED);

  g_object_set (multi, "max-total-connections", 3, NULL);
  while (finished < 2)
    g_main_context_iteration (NULL, TRUE);
  /* Both came and went while the first still waits for its 5 s answer. */
  g_assert_cmpint (g_curl_transfer_get_state (first), ==, G_CURL_TRANSFER_STATE_RUNNING);
  test_assert_pattern_body (second, 1000);
  test_assert_pattern_body (third, 2000);
  g_curl_transfer_cancel (first);
  test_run_until_finished (first);
}

/* Without connection limits transfers are never queued: running, succeeded. */
static void
test_not_queued_without_limits (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GString) log = g_string_new (NULL);

  watch_states (transfer, NULL, log);
  test_run_transfer (fixture->base.multi, transfer);
  g_assert_cmpstr (log->str, ==, "running,succeeded,");
}

/* pause() before add: PAUSED, no request until resume(), then it runs. */
static void
test_pause_before_add (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/4321");
  g_autoptr(GString) log = g_string_new (NULL);
  guint before = test_server_get_path_count (server, "/bytes/4321");
  gboolean done = FALSE;

  watch_states (transfer, NULL, log);
  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (test_set_flag), &done);
  g_curl_transfer_pause (transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_NEW);
  g_curl_multi_add_transfer (fixture->base.multi, transfer);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->base.multi), ==, 1);

  test_run_for (300);
  g_assert_false (done);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/4321") - before, ==, 0);

  g_curl_transfer_resume (transfer);
  test_run_until (&done);
  test_assert_pattern_body (transfer, 4321);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/4321") - before, ==, 1);
  g_assert_cmpstr (log->str, ==, "paused,running,succeeded,");
}

/* pause() then resume() before add: it runs as if nothing happened. */
static void
test_pause_resume_before_add (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/1000");
  g_autoptr(GString) log = g_string_new (NULL);

  watch_states (transfer, NULL, log);
  g_curl_transfer_pause (transfer);
  g_curl_transfer_resume (transfer);
  test_run_transfer (fixture->base.multi, transfer);
  g_assert_cmpstr (log->str, ==, "running,succeeded,");
}

/* A paused transfer that started paused can be cancelled: nothing sent. */
static void
test_cancel_started_paused (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/4322");
  guint before = test_server_get_path_count (server, "/bytes/4322");
  gboolean done = FALSE;

  /* No proxy lookup, which would hold the multi after the test. */
  g_object_set (fixture->base.multi, "proxy", "", NULL);
  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (test_set_flag), &done);
  g_curl_transfer_pause (transfer);
  g_curl_multi_add_transfer (fixture->base.multi, transfer);
  g_curl_transfer_cancel (transfer);
  test_run_until (&done);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_CANCELLED);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/4322") - before, ==, 0);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->base.multi), ==, 0);
}

/* Downloads that retry */

/* A key of the raw server's fail=K counters that no other test uses. */
static char *
new_key (void)
{
  static guint serial;

  return g_strdup_printf ("states-%d-%u", (int) getpid (), ++serial);
}

typedef struct
{
  GCurlMulti *multi;
  gboolean    done;
  gboolean    ok;
  GError     *error;
  guint       n_while_retrying;     /* n-transfers when RETRYING was notified */
  guint       items_while_retrying;
  guint       retrying_seen;
} DownloadRun;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  DownloadRun *run = user_data;

  run->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &run->error);
  run->done = TRUE;
}

static void
retrying_cb (GCurlTransfer *transfer,
             GParamSpec    *pspec,
             gpointer       user_data)
{
  DownloadRun *run = user_data;

  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_RETRYING)
    return;
  run->retrying_seen++;
  run->n_while_retrying = g_curl_multi_get_n_transfers (run->multi);
  run->items_while_retrying = g_list_model_get_n_items (G_LIST_MODEL (run->multi));
}

static void
log_items_cb (GListModel *model,
              guint       position,
              guint       removed,
              guint       added,
              gpointer    user_data)
{
  g_string_append_printf (user_data, "%u-%u+%u,", position, removed, added);
}

static GFile *
file_in (Fixture    *fixture,
         const char *name)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

  return g_file_new_for_path (path);
}

/* A 503 once: running, retrying, running, succeeded; in the list and n-transfers 1 throughout. */
static void
test_download_retrying (Fixture       *fixture,
                        gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autofree char *key = new_key ();
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&status=503",
                                              7000, key);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GFile) file = file_in (fixture, "file");
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(GString) items = g_string_new (NULL);
  DownloadRun run = { multi, };
  gulong items_id;

  watch_states (transfer, NULL, log);
  g_signal_connect (transfer, "notify::state", G_CALLBACK (retrying_cb), &run);
  items_id = g_signal_connect (multi, "items-changed", G_CALLBACK (log_items_cb), items);

  g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &run);
  test_run_until (&run.done);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);

  g_assert_cmpstr (log->str, ==, "running,retrying,running,succeeded,");
  g_assert_cmpuint (run.retrying_seen, ==, 1);
  g_assert_cmpuint (run.n_while_retrying, ==, 1);
  g_assert_cmpuint (run.items_while_retrying, ==, 1);
  /* Added once, removed once, whatever the attempts. */
  g_assert_cmpstr (items->str, ==, "0-0+1,0-1+0,");
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
  g_signal_handler_disconnect (multi, items_id);
}

/* Retries exhausted: the last word is FAILED, and the error is the transfer's. */
static void
test_download_retries_exhausted (Fixture       *fixture,
                                 gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autofree char *key = new_key ();
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=5&status=503",
                                              1000, key);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GFile) file = file_in (fixture, "file");
  g_autoptr(GString) log = g_string_new (NULL);
  DownloadRun run = { multi, };

  g_object_set (multi, "download-retries", 1, NULL);
  watch_states (transfer, NULL, log);
  g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &run);
  test_run_until (&run.done);
  g_assert_error (run.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_clear_error (&run.error);
  g_assert_cmpstr (log->str, ==, "running,retrying,running,failed,");
  g_assert_error (g_curl_transfer_get_error (transfer), G_CURL_ERROR,
                  G_CURL_ERROR_HTTP_RETURNED_ERROR);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
}

static void
cancel_when_retrying_cb (GCurlTransfer *transfer,
                         GParamSpec    *pspec,
                         gpointer       user_data)
{
  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_RETRYING)
    return;
  if (user_data != NULL)
    g_curl_multi_cancel_all (user_data);
  else
    g_curl_transfer_cancel (transfer);
}

/* cancel() (or cancel_all()) while waiting to retry: CANCELLED at once, the download fails CANCELLED. */
static void
test_download_cancel_retrying (Fixture       *fixture,
                               gconstpointer  data)
{
  gboolean all = GPOINTER_TO_INT (data);
  GCurlMulti *multi = fixture->base.multi;
  g_autofree char *key = new_key ();
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&status=503",
                                              1000, key);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GFile) file = file_in (fixture, "file");
  g_autoptr(GString) log = g_string_new (NULL);
  DownloadRun run = { multi, };

  /* Long enough that only the cancel can end the wait. */
  g_object_set (multi, "retry-delay", 60 * 1000, NULL);
  watch_states (transfer, NULL, log);
  g_signal_connect (transfer, "notify::state", G_CALLBACK (cancel_when_retrying_cb),
                    all ? multi : NULL);
  g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &run);
  test_run_until (&run.done);
  g_assert_cmpstr (log->str, ==, "running,retrying,cancelled,");
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&run.error);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
}

/* Paused when its attempt fails: PAUSED across the retry, the next request only after resume(). */
static void
test_download_pause_holds_across_retry (Fixture       *fixture,
                                        gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autofree char *key = new_key ();
  g_autofree char *url = test_server_raw_url (server, "/bytes/%u?key=%s&fail=1&status=503",
                                              5000, key);
  g_autofree char *counter = g_strconcat ("\x01key:", key, NULL);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GFile) file = file_in (fixture, "file");
  g_autoptr(GString) log = g_string_new (NULL);
  DownloadRun run = { multi, };

  watch_states (transfer, NULL, log);
  g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                               download_cb, &run);
  /* Paused before the 503 arrives (its body is held): the attempt fails
   * while paused. */
  g_curl_transfer_pause (transfer);

  /* Well past the 20 ms retry delay: the retry started, paused. */
  test_run_for (400);
  g_assert_false (run.done);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_assert_cmpuint (test_server_get_path_count (server, counter), ==, 1);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 1);

  g_curl_transfer_resume (transfer);
  test_run_until (&run.done);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_cmpuint (test_server_get_path_count (server, counter), ==, 2);
  g_assert_cmpstr (log->str, ==, "running,paused,running,succeeded,");
}

/* The list model */

typedef struct
{
  GCurlMulti *multi;
  guint       n_in_finished;    /* items during a "finished" handler */
} ListCheck;

static void
items_in_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  ListCheck *check = user_data;

  check->n_in_finished = MAX (check->n_in_finished,
                              g_list_model_get_n_items (G_LIST_MODEL (check->multi)));
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Three transfers: appended in order, removed at their positions once "finished" was emitted. */
static void
test_list_model (Fixture       *fixture,
                 gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  GListModel *model = G_LIST_MODEL (multi);
  g_autoptr(GCurlTransfer) slow = test_transfer_new_printf (server, "/delay/400");
  g_autoptr(GCurlTransfer) fast = test_transfer_new_printf (server, "/bytes/10");
  g_autoptr(GCurlTransfer) middle = test_transfer_new_printf (server, "/delay/150");
  GCurlTransfer *transfers[] = { slow, fast, middle };
  g_autoptr(GString) items = g_string_new (NULL);
  ListCheck check = { multi, 0 };
  guint n_notifies = 0;
  gulong items_id, notify_id;

  g_assert_true (g_list_model_get_item_type (model) == G_CURL_TYPE_TRANSFER);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  items_id = g_signal_connect (multi, "items-changed", G_CALLBACK (log_items_cb), items);
  notify_id = g_signal_connect (multi, "notify::n-transfers", G_CALLBACK (count_notify_cb),
                                &n_notifies);

  for (guint i = 0; i < G_N_ELEMENTS (transfers); i++)
    {
      g_signal_connect (transfers[i], "finished", G_CALLBACK (items_in_finished_cb), &check);
      g_curl_multi_add_transfer (multi, transfers[i]);
    }
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (transfers); i++)
    {
      g_autoptr(GCurlTransfer) item = g_list_model_get_item (model, i);

      g_assert_true (item == transfers[i]);
    }
  g_assert_null (g_list_model_get_item (model, 3));

  {
    guint finished = 0;

    for (guint i = 0; i < G_N_ELEMENTS (transfers); i++)
      g_signal_connect (transfers[i], "finished", G_CALLBACK (count_finished_cb), &finished);
    /* The last is removed once its "finished" has returned. */
    while (finished < 3 || g_list_model_get_n_items (model) > 0)
      g_main_context_iteration (NULL, TRUE);
    for (guint i = 0; i < G_N_ELEMENTS (transfers); i++)
      g_signal_handlers_disconnect_by_func (transfers[i], count_finished_cb, &finished);
  }

  /* fast (position 1), then middle (1 too, now), then slow (0). */
  g_assert_cmpstr (items->str, ==, "0-0+1,1-0+1,2-0+1,1-1+0,1-1+0,0-1+0,");
  g_assert_cmpuint (check.n_in_finished, ==, 3);
  g_assert_cmpuint (n_notifies, ==, 6);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
  g_signal_handler_disconnect (multi, items_id);
  g_signal_handler_disconnect (multi, notify_id);
}

static void
readd_once_cb (GCurlTransfer *transfer,
               gpointer       user_data)
{
  g_signal_handlers_disconnect_by_func (transfer, readd_once_cb, user_data);
  g_curl_multi_add_transfer (user_data, transfer);
}

/* Added again from its "finished": it stays in the list, no items-changed. */
static void
test_list_readd_in_finished (Fixture       *fixture,
                             gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/100");
  g_autoptr(GString) items = g_string_new (NULL);
  gulong items_id = g_signal_connect (multi, "items-changed", G_CALLBACK (log_items_cb), items);
  gboolean done = FALSE;

  g_signal_connect (transfer, "finished", G_CALLBACK (readd_once_cb), multi);
  g_curl_multi_add_transfer (multi, transfer);
  test_run_until_finished (transfer);
  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (test_set_flag), &done);
  test_run_until (&done);
  while (g_list_model_get_n_items (G_LIST_MODEL (multi)) > 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpstr (items->str, ==, "0-0+1,0-1+0,");
  g_signal_handler_disconnect (multi, items_id);
}

/* Aggregate progress */

typedef struct
{
  GCurlMulti *multi;
  guint       checks;
  gboolean    saw_unknown;
  gboolean    saw_sum;
} SumCheck;

/* The sums, checked against the transfers of the list whenever it changes. */
static void
check_sums (SumCheck *check)
{
  GListModel *model = G_LIST_MODEL (check->multi);
  gint64 downloaded = 0, size = 0, multi_downloaded, multi_size;
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_list_model_get_item (model, i);
      gint64 one = g_curl_transfer_get_download_size (transfer);

      downloaded += g_curl_transfer_get_downloaded_bytes (transfer);
      size = size < 0 || one < 0 ? -1 : size + one;
    }

  g_object_get (check->multi, "downloaded-bytes", &multi_downloaded,
                "download-size", &multi_size, NULL);
  g_assert_cmpint (multi_downloaded, ==, downloaded);
  g_assert_cmpint (multi_size, ==, size);
  check->saw_unknown |= size == -1;
  check->saw_sum |= n == 2 && size == 30000;
  check->checks++;
}

static void
sums_notify_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  check_sums (user_data);
}

static void
sums_items_cb (GListModel *model,
               guint       position,
               guint       removed,
               guint       added,
               gpointer    user_data)
{
  check_sums (user_data);
}

/* downloaded-bytes and download-size are the sums over the list after every change of it. */
static void
test_aggregate (Fixture       *fixture,
                gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  /* Slow enough to report progress several times each. */
  g_autoptr(GCurlTransfer) big = test_transfer_new_printf (server, "/slow/20000?rate=100000");
  g_autoptr(GCurlTransfer) small = test_transfer_new_printf (server, "/slow/10000?rate=100000");
  g_autoptr(GCurlTransfer) unknown = test_transfer_new_printf (server, "/bytes/3000?chunked=1");
  SumCheck check = { multi, };
  gint64 downloaded, size, speed;
  double fraction;
  gulong id;
  guint n_fraction = 0;

  /* Every report, so that one sees both sizes. */
  g_object_set (multi, "progress-interval", 0, NULL);
  id = g_signal_connect (multi, "items-changed", G_CALLBACK (sums_items_cb), &check);
  g_signal_connect (multi, "notify::downloaded-bytes", G_CALLBACK (sums_notify_cb), &check);
  g_signal_connect (multi, "notify::download-size", G_CALLBACK (sums_notify_cb), &check);
  g_signal_connect (multi, "notify::fraction", G_CALLBACK (count_notify_cb), &n_fraction);

  {
    GCurlTransfer *both[] = { big, small };

    run_all (multi, both, 2);
  }
  g_assert_true (check.saw_sum);

  /* A chunked body's size is unknown: so is the sum while it is there. */
  {
    GCurlTransfer *both[] = { unknown, big };

    run_all (multi, both, 2);
  }
  g_assert_true (check.saw_unknown);
  g_assert_cmpuint (check.checks, >, 8);

  /* Every transfer finished has left the sums. */
  g_object_get (multi, "downloaded-bytes", &downloaded, "download-size", &size,
                "download-speed", &speed, "fraction", &fraction, NULL);
  g_assert_cmpint (downloaded, ==, 0);
  g_assert_cmpint (size, ==, 0);
  g_assert_cmpint (speed, ==, 0);
  g_assert_cmpfloat (fraction, ==, 0.0);
  g_assert_cmpuint (n_fraction, >, 0);
  g_signal_handler_disconnect (multi, id);
  g_signal_handlers_disconnect_by_func (multi, count_notify_cb, &n_fraction);
  g_signal_handlers_disconnect_by_func (multi, sums_notify_cb, &check);
}

/* The multi's speed limit */

typedef struct
{
  GCurlMulti *multi;
  gint64      limit;
  gboolean    saw_half;      /* a transfer measured against limit / 2 */
  gboolean    saw_whole;     /* …against the whole limit, alone */
  gboolean    saw_more;      /* …against more than the limit */
  gboolean    changed;
} SpeedCheck;

static void
speed_progress_cb (GCurlTransfer *transfer,
                   gint64         downloaded,
                   gint64         download_size,
                   gint64         uploaded,
                   gint64         upload_size,
                   gpointer       user_data)
{
  SpeedCheck *check = user_data;
  gint64 applied = g_curl_transfer_get_easy (transfer)->rate_applied;

  if (downloaded == 0)
    return;
  /* Raised live, once both are well under way. */
  if (!check->changed && downloaded > 20000)
    {
      check->changed = TRUE;
      check->limit *= 2;
      g_object_set (check->multi, "max-download-speed", check->limit, NULL);
      return;
    }
  check->saw_half |= applied == check->limit / 2;
  check->saw_whole |= applied == check->limit;
  check->saw_more |= applied > check->limit;
}

/* Two transfers under a multi limit: each measured against half of it, the rest alone against all; raised live. */
static void
test_speed_limit (Fixture       *fixture,
                  gconstpointer  data)
{
  GCurlMulti *multi = fixture->base.multi;
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/bytes/150000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/bytes/40000");
  SpeedCheck check = { multi, 200000, };
  gint64 limit;
  guint64 waits_before = g_curl_multi_get_rate_waits (multi);

  g_object_set (multi, "max-download-speed", check.limit, "progress-interval", 0, NULL);
  g_object_get (multi, "max-download-speed", &limit, NULL);
  g_assert_cmpint (limit, ==, 200000);
  g_signal_connect (first, "progress", G_CALLBACK (speed_progress_cb), &check);
  g_signal_connect (second, "progress", G_CALLBACK (speed_progress_cb), &check);

  {
    GCurlTransfer *both[] = { first, second };

    run_all (multi, both, 2);
  }

  test_assert_pattern_body (first, 150000);
  test_assert_pattern_body (second, 40000);
  g_assert_true (check.changed);
  g_assert_cmpint (check.limit, ==, 400000);
  g_assert_true (check.saw_half);
  g_assert_true (check.saw_whole);
  g_assert_false (check.saw_more);
  /* The limit held them back (on loopback nothing else would). */
  g_assert_cmpuint (g_curl_multi_get_rate_waits (multi) - waits_before, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/states/queued/connection-limit", test_queued);
  ADD_TEST ("/states/queued/not-without-limits", test_not_queued_without_limits);
  ADD_TEST ("/states/queued/limit-raised", test_queued_limit_raised);
  ADD_TEST ("/states/paused/before-add", test_pause_before_add);
  ADD_TEST ("/states/paused/resumed-before-add", test_pause_resume_before_add);
  ADD_TEST ("/states/paused/cancel-started-paused", test_cancel_started_paused);
  ADD_TEST ("/states/retrying/once", test_download_retrying);
  ADD_TEST ("/states/retrying/exhausted", test_download_retries_exhausted);
  ADD_TEST ("/states/retrying/cancel", test_download_cancel_retrying);
  g_test_add ("/states/retrying/cancel-all", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_download_cancel_retrying, fixture_teardown);
  ADD_TEST ("/states/retrying/pause-holds", test_download_pause_holds_across_retry);
  ADD_TEST ("/states/list/order", test_list_model);
  ADD_TEST ("/states/list/readd-in-finished", test_list_readd_in_finished);
  ADD_TEST ("/states/aggregate/sums", test_aggregate);
  ADD_TEST ("/states/speed-limit/shared", test_speed_limit);

  ret = g_test_run ();
  test_server_free (server);
  return ret;
}
