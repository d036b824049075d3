/* test-multi.c: the GCurlMulti façade: transfers at once, re-entrant handlers, lifetime, threads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* Many at once */

static void
count_finished_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  (*(guint *) user_data)++;
}

static guint64
mixed_size (guint i)
{
  /* A few large bodies among many small ones, 0 B to 4 MiB. */
  if (i % 25 == 0)
    return 4 * 1024 * 1024;
  if (i % 7 == 0)
    return 0;
  return ((guint64) i * 7919) % 65536;
}

/* 500 transfers of 0 B to 4 MiB added at once all finish with their exact bodies. */
static void
test_concurrent (Fixture       *fixture,
                 gconstpointer  data)
{
  const guint n = 500;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i, max_running = 0;

  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer =
        test_transfer_new_printf (server, "/bytes/%" G_GUINT64_FORMAT, mixed_size (i));

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_ptr_array_add (transfers, transfer);
      g_curl_multi_add_transfer (fixture->multi, transfer);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, n);

  while (finished < n)
    {
      max_running = MAX (max_running, g_curl_multi_get_n_transfers (fixture->multi));
      g_main_context_iteration (NULL, TRUE);
    }

  for (i = 0; i < n; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), mixed_size (i));
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_test_message ("%u transfers, up to %u at once, backend %s", n, max_running,
                  test_backend_name ());
}

/* Re-entrancy: handlers may do anything */

typedef struct
{
  GCurlMulti    *multi;
  GCurlTransfer *other;
  GMainLoop     *loop;
  guint          n;
} HandlerData;

static void
unref_in_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  HandlerData *hd = user_data;

  hd->n++;
  g_object_unref (transfer);
}

/* A "finished" handler may drop the last reference to its transfer. */
static void
test_unref_transfer_in_finished (Fixture       *fixture,
                                 gconstpointer  data)
{
  GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/5000");
  HandlerData hd = { 0, };

  g_object_add_weak_pointer (G_OBJECT (transfer), (gpointer *) &transfer);
  g_signal_connect (transfer, "finished", G_CALLBACK (unref_in_finished_cb), &hd);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (transfer != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (hd.n, ==, 1);
}

static void
unref_multi_in_finished_cb (GCurlTransfer *transfer,
                            gpointer       user_data)
{
  GCurlMulti **multi = user_data;

  g_clear_object (multi);
}

/* A "finished" handler may drop the last reference to the multi; the body is intact. */
static void
test_unref_multi_in_finished (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/5000");

  g_signal_connect (transfer, "finished", G_CALLBACK (unref_multi_in_finished_cb), &fixture->multi);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (fixture->multi != NULL)
    g_main_context_iteration (NULL, TRUE);
  test_assert_pattern_body (transfer, 5000);
}

static void
unref_in_progress_cb (GCurlTransfer *transfer,
                      gint64         downloaded,
                      gint64         download_size,
                      gint64         uploaded,
                      gint64         upload_size,
                      gpointer       user_data)
{
  GCurlTransfer **ours = user_data;

  /* The application's last reference: the multi still holds one. */
  if (*ours != NULL)
    g_clear_object (ours);
}

/* Unreffed from "progress", a transfer runs on, owned by the multi, freed once finished. */
static void
test_unref_transfer_in_progress (Fixture       *fixture,
                                 gconstpointer  data)
{
  GCurlTransfer *transfer = test_transfer_new_printf (server, "/slow/20000?rate=40000");
  GCurlTransfer *ours = transfer;
  GCurlTransfer *weak = transfer;

  g_object_add_weak_pointer (G_OBJECT (transfer), (gpointer *) &weak);
  g_signal_connect (transfer, "progress", G_CALLBACK (unref_in_progress_cb), &ours);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (ours != NULL)
    g_main_context_iteration (NULL, TRUE);
  /* Still running, owned by the multi, and freed once finished: never
   * while libcurl is on the stack (ASan would see it). */
  g_assert_nonnull (weak);
  while (weak != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

static void
cancel_other_cb (GCurlTransfer *transfer,
                 gint64         downloaded,
                 gint64         download_size,
                 gint64         uploaded,
                 gint64         upload_size,
                 gpointer       user_data)
{
  HandlerData *hd = user_data;

  g_curl_transfer_cancel (hd->other);
  g_curl_transfer_cancel (transfer);
}

static void
add_in_finished_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  HandlerData *hd = user_data;

  if (hd->n++ == 0)
    g_curl_multi_add_transfer (hd->multi, hd->other);
}

/* From "progress" a handler cancels another and its own; from "finished" it adds one. */
static void
test_handlers_cancel_and_add (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = test_transfer_new_printf (server, "/slow/50000?rate=25000");
  g_autoptr(GCurlTransfer) second = test_transfer_new_printf (server, "/slow/50000?rate=25000");
  g_autoptr(GCurlTransfer) third = test_transfer_new_printf (server, "/bytes/3000");
  HandlerData cancel_data = { fixture->multi, second, NULL, 0 };
  HandlerData add_data = { fixture->multi, third, NULL, 0 };

  /* From first's progress: cancel second, then first itself; from first's
   * finished: add third. */
  g_signal_connect (first, "progress", G_CALLBACK (cancel_other_cb), &cancel_data);
  g_signal_connect (first, "finished", G_CALLBACK (add_in_finished_cb), &add_data);
  g_curl_multi_add_transfer (fixture->multi, first);
  g_curl_multi_add_transfer (fixture->multi, second);
  test_run_until_finished (first);
  test_assert_transfer_error (first, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
  if (g_curl_transfer_get_state (second) != G_CURL_TRANSFER_STATE_CANCELLED)
    test_run_until_finished (second);
  test_assert_transfer_error (second, G_IO_ERROR, G_IO_ERROR_CANCELLED, G_CURL_TRANSFER_STATE_CANCELLED);
  test_run_until_finished (third);
  test_assert_pattern_body (third, 3000);
}

static void
quit_in_headers_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  g_main_loop_quit (user_data);
}

static void
pause_in_headers_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  g_curl_transfer_pause (transfer);
}

/* Paused and the loop quit from "got-headers": it stays paused until resumed, then ends whole. */
static void
test_handlers_quit_and_pause (Fixture       *fixture,
                              gconstpointer  data)
{
  /* Trickled, so that the body is not all there with the headers. */
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/slow/30000?rate=60000");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_signal_connect (transfer, "got-headers", G_CALLBACK (pause_in_headers_cb), NULL);
  g_signal_connect (transfer, "got-headers", G_CALLBACK (quit_in_headers_cb), loop);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  g_main_loop_run (loop);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);
  test_run_for (200);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_PAUSED);

  g_curl_transfer_resume (transfer);
  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 30000);
}

static void
readd_in_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  HandlerData *hd = user_data;

  if (hd->n++ == 0)
    {
      /* The first run's outcome is still readable here... */
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
      /* ...and a new run starts clean. */
      g_curl_multi_add_transfer (hd->multi, transfer);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);
      g_assert_null (g_curl_transfer_get_body (transfer));
      g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, 0);
    }
}

/* A transfer re-added from its "finished" handler starts a clean run; a third run works too. */
static void
test_readd_finished (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/7000");
  HandlerData hd = { fixture->multi, NULL, NULL, 0 };

  g_signal_connect (transfer, "finished", G_CALLBACK (readd_in_finished_cb), &hd);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (hd.n < 2)
    g_main_context_iteration (NULL, TRUE);
  test_assert_pattern_body (transfer, 7000);

  /* And once more from outside a handler. */
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 7000);
  g_assert_cmpuint (hd.n, ==, 3);
}

/* Every action a handler may take, from every signal (DESIGN.md rule 1). */

typedef enum {
  ACTION_CANCEL,
  ACTION_PAUSE,
  ACTION_ADD,
  ACTION_UNREF_TRANSFER,
  ACTION_UNREF_MULTI,
  ACTION_QUIT_LOOP,
} HandlerAction;

typedef struct
{
  HandlerAction   action;
  const char     *signal;
  GCurlMulti     *multi;       /* the test's reference, for UNREF_MULTI */
  GCurlTransfer  *transfer;    /* the test's reference, for UNREF_TRANSFER */
  GCurlTransfer  *added;
  GMainLoop      *loop;
  gboolean        acted;
  guint           n_finished;
  GCurlTransferState final_state;
  gint64          final_bytes;
} MatrixData;

static void
matrix_act (MatrixData    *md,
            GCurlTransfer *transfer)
{
  if (md->acted)
    return;
  md->acted = TRUE;

  switch (md->action)
    {
    case ACTION_CANCEL:
      g_curl_transfer_cancel (transfer);
      break;
    case ACTION_PAUSE:
      g_curl_transfer_pause (transfer);
      break;
    case ACTION_ADD:
      md->added = test_transfer_new_printf (server, "/bytes/%u", 500);
      g_curl_multi_add_transfer (md->multi, md->added);
      break;
    case ACTION_UNREF_TRANSFER:
      g_clear_object (&md->transfer);
      break;
    case ACTION_UNREF_MULTI:
      g_clear_object (&md->multi);
      break;
    case ACTION_QUIT_LOOP:
      g_main_loop_quit (md->loop);
      break;
    }
}

static void
matrix_progress_cb (GCurlTransfer *transfer, gint64 d, gint64 ds, gint64 u, gint64 us,
                    gpointer user_data)
{
  MatrixData *md = user_data;

  if (g_str_equal (md->signal, "progress") && d > 0)
    matrix_act (md, transfer);
}

static void
matrix_headers_cb (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  MatrixData *md = user_data;

  if (g_str_equal (md->signal, "got-headers"))
    matrix_act (md, transfer);
}

static void
matrix_finished_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  MatrixData *md = user_data;

  md->n_finished++;
  md->final_state = g_curl_transfer_get_state (transfer);
  md->final_bytes = g_curl_transfer_get_downloaded_bytes (transfer);
  if (g_str_equal (md->signal, "finished"))
    matrix_act (md, transfer);
}

/* Every action (cancel, pause, add, unref, quit) from every signal ends right, leaks nothing. */
static void
test_handler_matrix (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *signals_[] = { "progress", "got-headers", "finished" };
  HandlerAction actions[] = { ACTION_CANCEL, ACTION_PAUSE, ACTION_ADD, ACTION_UNREF_TRANSFER,
                              ACTION_UNREF_MULTI, ACTION_QUIT_LOOP };
  const char *names[] = { "cancel", "pause", "add", "unref-transfer", "unref-multi", "quit-loop" };
  guint s, a;

  for (s = 0; s < G_N_ELEMENTS (signals_); s++)
    for (a = 0; a < G_N_ELEMENTS (actions); a++)
      {
        MatrixData md = { 0, };
        GCurlTransfer *weak;
        GCurlMulti *weak_multi;
        gboolean cancelled;

        g_test_message ("%s from %s", names[a], signals_[s]);
        md.action = actions[a];
        md.signal = signals_[s];
        md.multi = g_curl_multi_new ();
        g_object_set (md.multi, "progress-interval", 0, NULL);
        md.transfer = test_transfer_new_printf (server, "/slow/20000?rate=80000");
        md.loop = g_main_loop_new (NULL, FALSE);
        weak = md.transfer;
        weak_multi = md.multi;
        g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
        g_object_add_weak_pointer (G_OBJECT (weak_multi), (gpointer *) &weak_multi);
        g_signal_connect (md.transfer, "progress", G_CALLBACK (matrix_progress_cb), &md);
        g_signal_connect (md.transfer, "got-headers", G_CALLBACK (matrix_headers_cb), &md);
        g_signal_connect (md.transfer, "finished", G_CALLBACK (matrix_finished_cb), &md);
        g_curl_multi_add_transfer (md.multi, md.transfer);

        if (md.action == ACTION_QUIT_LOOP)
          g_main_loop_run (md.loop);
        while (md.n_finished == 0 || (md.action == ACTION_PAUSE && !md.acted))
          {
            if (md.action == ACTION_PAUSE && md.acted && weak != NULL &&
                g_curl_transfer_get_state (weak) == G_CURL_TRANSFER_STATE_PAUSED)
              {
                test_run_for (50);
                g_curl_transfer_resume (weak);
              }
            g_main_context_iteration (NULL, TRUE);
          }

        g_assert_true (md.acted);
        g_assert_cmpuint (md.n_finished, ==, 1);
        cancelled = md.action == ACTION_CANCEL && !g_str_equal (md.signal, "finished");
        g_assert_cmpint (md.final_state, ==, cancelled ? G_CURL_TRANSFER_STATE_CANCELLED
                                                       : G_CURL_TRANSFER_STATE_SUCCEEDED);
        if (!cancelled)
          g_assert_cmpint (md.final_bytes, ==, 20000);

        if (md.added != NULL)
          {
            if (g_curl_transfer_get_state (md.added) == G_CURL_TRANSFER_STATE_RUNNING)
              test_run_until_finished (md.added);
            test_assert_pattern_body (md.added, 500);
            g_clear_object (&md.added);
          }

        /* Nothing leaks, whatever the handler dropped. */
        g_clear_object (&md.transfer);
        g_clear_object (&md.multi);
        test_run_for (10);
        g_assert_null (weak);
        g_assert_null (weak_multi);
        g_main_loop_unref (md.loop);
      }
}

/* Lifetime */

/* Running transfers keep an unreffed multi alive until the last one finishes. */
static void
test_multi_unref_while_running (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i;

  for (i = 0; i < 20; i++)
    {
      GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/%u", 1000 * (i + 1));

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (fixture->multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }

  /* The running transfers keep the multi alive... */
  g_object_unref (fixture->multi);
  g_assert_nonnull (fixture->multi);
  while (finished < 20)
    g_main_context_iteration (NULL, TRUE);
  /* ...and let go of it once finished. */
  g_assert_null (fixture->multi);
  for (i = 0; i < 20; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), 1000 * (i + 1));
}

/* The last unref of the multi with a thousand transfers running: they all
 * finish, with their whole bodies, and then the multi is freed. */
static void
test_multi_unref_with_1000_running (Fixture       *fixture,
                                    gconstpointer  data)
{
  const guint n = 1000;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  GCurlMulti *weak_multi = fixture->multi;
  guint finished = 0;
  guint i;

  g_object_add_weak_pointer (G_OBJECT (weak_multi), (gpointer *) &weak_multi);
  for (i = 0; i < n; i++)
    {
      GCurlTransfer *transfer = test_transfer_new_printf (server, "/bytes/%u", 100 + i * 37);

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (fixture->multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }
  /* Some are already on the wire when the last reference goes. */
  test_run_for (20);
  g_assert_cmpuint (finished, <, n);
  g_clear_object (&fixture->multi);
  g_assert_nonnull (weak_multi);

  while (finished < n)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (finished, ==, n);
  g_assert_null (weak_multi);
  for (i = 0; i < n; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), 100 + i * 37);
}

static void
quit_on_progress_cb (GCurlTransfer *transfer,
                     GParamSpec    *pspec,
                     gpointer       user_data)
{
  GMainLoop *loop = user_data;

  if (g_curl_transfer_get_downloaded_bytes (transfer) > 0)
    g_main_loop_quit (loop);
}

/* The application's loop is quit and destroyed while transfers run, nothing
 * iterates the context for a while (the server keeps sending into the socket
 * buffers, and one transfer's server stalls), then a new loop runs the same
 * context: every transfer carries on where it was and ends right. */
static void
test_loop_destroyed_and_resumed (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) slow = test_transfer_new_printf (server, "/slow/20000?rate=40000");
  g_autoptr(GCurlTransfer) large = test_transfer_new_printf (server, "/bytes/%u", 8 * 1024 * 1024);
  g_autoptr(GCurlTransfer) delayed = test_transfer_new_printf (server, "/delay/300");
  g_autofree char *stall_url = test_server_raw_url (server, "/stall/1000/10");
  g_autoptr(GCurlTransfer) stalled = g_curl_transfer_new (stall_url);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  gulong handler;
  guint finished = 0;

  g_object_set (stalled, "stall-timeout", 1, NULL);
  handler = g_signal_connect (slow, "notify::downloaded-bytes", G_CALLBACK (quit_on_progress_cb), loop);
  g_signal_connect (slow, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (large, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (delayed, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_signal_connect (stalled, "finished", G_CALLBACK (count_finished_cb), &finished);
  g_curl_multi_add_transfer (fixture->multi, slow);
  g_curl_multi_add_transfer (fixture->multi, large);
  g_curl_multi_add_transfer (fixture->multi, delayed);
  g_curl_multi_add_transfer (fixture->multi, stalled);

  g_main_loop_run (loop);
  g_signal_handler_disconnect (slow, handler);
  g_main_loop_unref (loop);
  g_assert_cmpuint (finished, <, 4);

  /* No loop at all for 1.5 s: longer than the stalled transfer's timeout
   * and than the delayed response's delay. */
  g_usleep (1500 * G_TIME_SPAN_MILLISECOND);

  loop = g_main_loop_new (NULL, FALSE);
  while (finished < 4)
    g_main_context_iteration (NULL, TRUE);
  g_main_loop_unref (loop);

  test_assert_pattern_body (slow, 20000);
  test_assert_pattern_body (large, 8 * 1024 * 1024);
  g_assert_cmpint (g_curl_transfer_get_state (delayed), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  test_assert_transfer_error (stalled, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

/* Adding a running transfer to a second multi is a programmer error: a
 * critical, and nothing else happens: the transfer ends normally in its
 * first multi, and the second one never sees it. */
static void
test_add_to_second_multi (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlMulti) other = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/5000");
  TestRecorder recorder = { 0 };

  test_recorder_attach (&recorder, transfer);
  g_curl_multi_add_transfer (fixture->multi, transfer);

  g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*g_curl_multi_add_transfer*");
  g_curl_multi_add_transfer (other, transfer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (g_curl_multi_get_n_transfers (other), ==, 0);

  test_run_until_finished (transfer);
  test_assert_pattern_body (transfer, 5000);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (other), ==, 0);
  test_recorder_clear (&recorder);
}

/* Threads: one multi per thread and context */

static gpointer
thread_func (gpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  guint finished = 0;
  guint i, seed = GPOINTER_TO_UINT (data);

  g_main_context_push_thread_default (context);
  multi = g_curl_multi_new ();
  g_assert_true (g_curl_multi_get_context (multi) == context);

  for (i = 0; i < 20; i++)
    {
      GCurlTransfer *transfer =
        test_transfer_new_printf (server, "/bytes/%u", seed * 1000 + i * 100);

      g_signal_connect (transfer, "finished", G_CALLBACK (count_finished_cb), &finished);
      g_curl_multi_add_transfer (multi, transfer);
      g_ptr_array_add (transfers, transfer);
    }
  while (finished < 20)
    g_main_context_iteration (context, TRUE);
  for (i = 0; i < 20; i++)
    test_assert_pattern_body (g_ptr_array_index (transfers, i), seed * 1000 + i * 100);

  g_clear_object (&multi);
  g_main_context_pop_thread_default (context);
  return GUINT_TO_POINTER (finished);
}

/* Four threads, each with its own context and multi, run 20 transfers apiece. */
static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  GThread *threads[4];
  guint i;

  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("multi", thread_func, GUINT_TO_POINTER (i + 1));
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 20);
}

/* Idle */

/* An idle multi, fresh or keeping a connection, wakes its context not once. */
static void
test_idle_zero_wakeups (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/1000");

  /* A fresh multi... */
  g_assert_cmpuint (test_count_iterations (500), ==, 0);
  /* ...and one that has run a transfer and keeps its connection. */
  test_run_transfer (fixture->multi, transfer);
  test_run_for (50);
  g_assert_cmpuint (test_count_iterations (1500), ==, 0);
}

/* Timers */

/* A response delayed 600 ms arrives whole, and not before the delay. */
static void
test_delayed_response (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/delay/600");
  g_autoptr(GBytes) body = NULL;
  gint64 start = g_get_monotonic_time ();

  test_run_transfer (fixture->multi, transfer);
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "delayed", 7);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 600 * 1000);
}

/* Defaults for every transfer */

/* The body of /echo-headers for @url (reached directly or by a 307), lower-cased. */
static char *
echo_headers (GCurlMulti    *multi,
              GCurlTransfer *transfer)
{
  g_autoptr(GBytes) body = NULL;

  test_run_transfer (multi, transfer);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = g_curl_transfer_get_body (transfer);

  return g_ascii_strdown (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static GCurlTransfer *
echo_via_redirect_new (const char *target_base)
{
  g_autofree char *target = g_strconcat (target_base, "/echo-headers", NULL);
  g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);

  return test_transfer_new_printf (server, "/redirect-to?status=307&url=%s", escaped);
}

/* The multi's default headers reach every transfer's origin, a transfer's own wins, NULL removes. */
static void
test_default_headers (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) plain = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GCurlTransfer) own = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GCurlTransfer) after = test_transfer_new_printf (server, "/echo-headers");
  g_autofree char *plain_text = NULL;
  g_autofree char *own_text = NULL;
  g_autofree char *after_text = NULL;

  g_curl_multi_set_default_header (fixture->multi, "Accept-Language", "de, en;q=0.5");
  g_curl_multi_set_default_header (fixture->multi, "X-Default", "from the multi");
  g_curl_multi_set_default_header (fixture->multi, "X-Gone", "soon");
  g_curl_multi_set_default_header (fixture->multi, "x-gone", NULL);

  plain_text = echo_headers (fixture->multi, plain);
  g_assert_nonnull (strstr (plain_text, "\naccept-language: de, en;q=0.5\n"));
  g_assert_nonnull (strstr (plain_text, "\nx-default: from the multi\n"));
  g_assert_null (strstr (plain_text, "x-gone"));
  g_assert_nonnull (strstr (plain_text, "\nuser-agent: libgcurlmulti/"));

  /* The transfer's own header of the same name, in another case, wins: sent once. */
  g_curl_transfer_set_request_header (own, "x-DEFAULT", "from the transfer");
  own_text = echo_headers (fixture->multi, own);
  g_assert_nonnull (strstr (own_text, "\nx-default: from the transfer\n"));
  g_assert_null (strstr (own_text, "from the multi"));
  g_assert_nonnull (strstr (own_text, "\naccept-language: de, en;q=0.5\n"));

  /* Removed from the multi: the next transfer no longer sends it. */
  g_curl_multi_set_default_header (fixture->multi, "X-Default", NULL);
  after_text = echo_headers (fixture->multi, after);
  g_assert_null (strstr (after_text, "x-default"));
  g_assert_nonnull (strstr (after_text, "\naccept-language: de, en;q=0.5\n"));
}

/* Default headers follow a 307 to the same origin and never reach another one. */
static void
test_default_headers_cross_origin (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) same = echo_via_redirect_new (test_server_get_uri (server));
  g_autoptr(GCurlTransfer) other = echo_via_redirect_new (test_server_get_uri2 (server));
  g_autofree char *same_text = NULL;
  g_autofree char *other_text = NULL;

  g_curl_multi_set_default_header (fixture->multi, "Authorization", "Bearer secret-token");
  same_text = echo_headers (fixture->multi, same);
  other_text = echo_headers (fixture->multi, other);
  g_assert_nonnull (strstr (same_text, "secret-token"));
  g_assert_null (strstr (other_text, "secret-token"));
  g_assert_nonnull (strstr (other_text, "method: get"));
}

/* Bad default header names and values are refused with a critical and never sent. */
static void
test_default_headers_bad (Fixture       *fixture,
                          gconstpointer  data)
{
  const char *names[] = { "Bad Name", "Bad:Name", "", "X-Ok" };
  const char *values[] = { "v", "v", "v", "a\r\nX-Injected: 1" };
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
  g_autofree char *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
      g_curl_multi_set_default_header (fixture->multi, names[i], values[i]);
      g_test_assert_expected_messages ();
    }

  text = echo_headers (fixture->multi, transfer);
  g_assert_null (strstr (text, "x-injected"));
  g_assert_null (strstr (text, "bad"));
  g_assert_null (strstr (text, "x-ok"));
}

/* The multi's connect-timeout and timeout apply to its transfers; a transfer's own wins. */
static void
test_default_timeouts (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *blackhole = g_strdup_printf ("http://127.0.0.1:%u/",
                                                test_server_get_blackhole_port (server));
  g_autoptr(GCurlTransfer) connecting = g_curl_transfer_new (blackhole);
  g_autoptr(GCurlTransfer) slow = test_transfer_new_printf (server, "/delay/3000");
  g_autoptr(GCurlTransfer) patient = test_transfer_new_printf (server, "/delay/1500");
  guint connect_timeout = 0, timeout = 0;

  g_object_set (fixture->multi, "connect-timeout", 1, "timeout", 1, NULL);
  g_object_get (fixture->multi, "connect-timeout", &connect_timeout, "timeout", &timeout, NULL);
  g_assert_cmpuint (connect_timeout, ==, 1);
  g_assert_cmpuint (timeout, ==, 1);

  test_run_transfer (fixture->multi, connecting);
  test_assert_transfer_error (connecting, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  test_run_transfer (fixture->multi, slow);
  test_assert_transfer_error (slow, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);

  g_object_set (patient, "timeout", 30, NULL);
  test_run_transfer (fixture->multi, patient);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (patient));
  g_assert_cmpuint (g_curl_transfer_get_status_code (patient), ==, 200);
}

static void
count_cb (GCurlTransfer *transfer,
          guint         *count)
{
  (*count)++;
}

/* cancel_all() cancels every unfinished transfer at once, each finishes once, the multi goes on. */
static void
test_cancel_all (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) done = test_transfer_new_printf (server, "/bytes/100");
  g_autoptr(GCurlTransfer) next = test_transfer_new_printf (server, "/bytes/100");
  GCurlTransfer *running[3];
  guint finished = 0;

  /* No proxy lookup that could still be under way when they are cancelled. */
  g_object_set (fixture->multi, "proxy", "", NULL);
  test_run_transfer (fixture->multi, done);
  g_assert_cmpint (g_curl_transfer_get_state (done), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);

  for (guint i = 0; i < G_N_ELEMENTS (running); i++)
    {
      running[i] = test_transfer_new_printf (server, "/delay/%u", 5000 + i);
      g_signal_connect (running[i], "finished", G_CALLBACK (count_cb), &finished);
      g_curl_multi_add_transfer (fixture->multi, running[i]);
    }
  /* One has its request sent, one is paused. */
  test_run_for (100);
  g_curl_transfer_pause (running[1]);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 3);

  g_curl_multi_cancel_all (fixture->multi);
  for (guint i = 0; i < G_N_ELEMENTS (running); i++)
    {
      g_assert_cmpint (g_curl_transfer_get_state (running[i]), ==,
                       G_CURL_TRANSFER_STATE_CANCELLED);
      g_assert_error ((GError *) g_curl_transfer_get_error (running[i]),
                      G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
  g_assert_cmpuint (finished, ==, 0);
  while (finished < G_N_ELEMENTS (running))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);

  /* A finished transfer is left as it was; cancelling again does nothing. */
  g_assert_cmpint (g_curl_transfer_get_state (done), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_curl_multi_cancel_all (fixture->multi);
  test_run_for (50);
  g_assert_cmpuint (finished, ==, G_N_ELEMENTS (running));

  /* The multi goes on. */
  test_run_transfer (fixture->multi, next);
  test_assert_pattern_body (next, 100);

  for (guint i = 0; i < G_N_ELEMENTS (running); i++)
    g_object_unref (running[i]);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);
  /* Made on first use, with fds of its own: not in any test's fd count. */
  test_server_get_blackhole_port (server);

  ADD_TEST ("/multi/get/concurrent-500", test_concurrent);
  ADD_TEST ("/multi/handler/unref-transfer-in-finished", test_unref_transfer_in_finished);
  ADD_TEST ("/multi/handler/unref-multi-in-finished", test_unref_multi_in_finished);
  ADD_TEST ("/multi/handler/unref-transfer-in-progress", test_unref_transfer_in_progress);
  ADD_TEST ("/multi/handler/cancel-and-add", test_handlers_cancel_and_add);
  ADD_TEST ("/multi/handler/quit-and-pause", test_handlers_quit_and_pause);
  ADD_TEST ("/multi/handler/readd-in-finished", test_readd_finished);
  ADD_TEST ("/multi/handler/every-action-from-every-signal", test_handler_matrix);
  ADD_TEST ("/multi/lifetime/unref-while-running", test_multi_unref_while_running);
  ADD_TEST ("/multi/lifetime/unref-with-1000-running", test_multi_unref_with_1000_running);
  ADD_TEST ("/multi/lifetime/loop-destroyed-and-resumed", test_loop_destroyed_and_resumed);
  ADD_TEST ("/multi/lifetime/add-running-critical", test_add_to_second_multi);
  ADD_TEST ("/multi/threads", test_threads);
  ADD_TEST ("/multi/idle/zero-wakeups", test_idle_zero_wakeups);
  ADD_TEST ("/multi/timer/delayed-response", test_delayed_response);
  ADD_TEST ("/multi/defaults/headers", test_default_headers);
  ADD_TEST ("/multi/defaults/headers-cross-origin", test_default_headers_cross_origin);
  ADD_TEST ("/multi/defaults/headers-bad", test_default_headers_bad);
  ADD_TEST ("/multi/defaults/timeouts", test_default_timeouts);
  ADD_TEST ("/multi/cancel-all", test_cancel_all);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
