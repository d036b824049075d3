/* test-sync.c: the blocking calls, from any thread
 *
 * g_curl_multi_send_and_read(), send(), send_and_splice() and download()
 * (libgcurlmulti/gcurl-sync.c): from the multi's own thread with its loop
 * not running, from other threads, many at once, cancelled from another
 * thread; never iterating the caller's thread-default context or the
 * multi's; with the multi's settings and its cookie jar.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* An idle on @context that sets *@flag if anybody iterates it. */
static GSource *
watch_iterations (GMainContext *context,
                  gboolean     *flag)
{
  GSource *idle = g_idle_source_new ();

  *flag = FALSE;
  g_source_set_callback (idle, set_flag_cb, flag, NULL);
  g_source_attach (idle, context);
  return idle;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static char *
bytes_sha256 (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static void
assert_pattern (GBytes *body,
                gsize   size)
{
  g_autofree char *expected = test_pattern_sha256 (0, size);
  g_autofree char *actual = bytes_sha256 (body);

  g_assert_cmpuint (g_bytes_get_size (body), ==, size);
  g_assert_cmpstr (actual, ==, expected);
}

/* From the multi's thread, its loop not running: the exact body; neither the caller's context nor the multi's is iterated. */
static void
test_main_thread (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GMainContext) caller = g_main_context_new ();
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 200000);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) caller_idle = NULL;
  g_autoptr(GSource) multi_idle = NULL;
  gboolean caller_iterated, multi_iterated;
  guint finished = 0;

  g_signal_connect_swapped (transfer, "finished", G_CALLBACK (count_cb), &finished);
  multi_idle = watch_iterations (g_curl_multi_get_context (fixture->multi), &multi_iterated);
  g_main_context_push_thread_default (caller);
  caller_idle = watch_iterations (caller, &caller_iterated);

  body = g_curl_multi_send_and_read (fixture->multi, transfer, NULL, &error);

  g_main_context_pop_thread_default (caller);
  g_assert_no_error (error);
  assert_pattern (body, 200000);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (finished, ==, 1);
  g_assert_false (caller_iterated);
  g_assert_false (multi_iterated);
  g_source_destroy (caller_idle);
  g_source_destroy (multi_idle);
}

typedef struct
{
  GCurlMulti *multi;
  guint       index;
  guint       calls;
  guint       succeeded;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *worker = data;

  for (guint i = 0; i < worker->calls; i++)
    {
      gsize size = 1000 + worker->index * 7919 + i * 131;
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%" G_GSIZE_FORMAT,
                                                                    size);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) body = g_curl_multi_send_and_read (worker->multi, transfer, NULL, &error);

      g_assert_no_error (error);
      assert_pattern (body, size);
      worker->succeeded++;
    }

  return NULL;
}

/* 8 threads × 25 calls on one multi made on the main thread: every body exact, connections reused. */
static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  Worker workers[8];
  GThread *threads[G_N_ELEMENTS (workers)];
  guint before = test_server_get_request_count (server);

  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      workers[i] = (Worker) { fixture->multi, i, 25, 0 };
      threads[i] = g_thread_new ("blocking", worker_thread, &workers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (workers[i].succeeded, ==, 25);
    }

  g_assert_cmpuint (test_server_get_request_count (server) - before, ==, 8 * 25);
  /* The async side is untouched: nothing ran there. */
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
}

typedef struct
{
  GCurlMulti    *multi;
  GCurlTransfer *transfer;
  GCancellable  *cancellable;
  GBytes        *body;
  GError        *error;
  gint64         returned;   /* monotonic µs */
} Call;

static gpointer
call_thread (gpointer data)
{
  Call *call = data;

  call->body = g_curl_multi_send_and_read (call->multi, call->transfer, call->cancellable,
                                           &call->error);
  call->returned = g_get_monotonic_time ();
  return NULL;
}

static void
call_clear (Call *call)
{
  g_clear_object (&call->transfer);
  g_clear_object (&call->cancellable);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_clear_error (&call->error);
}

static void
record_finished_cb (GCurlTransfer *transfer,
                    gpointer       data)
{
  *(gint64 *) data = g_get_monotonic_time ();
}

/* A blocking call in a thread never holds up the multi's own loop: an async transfer finishes first. */
static void
test_multi_not_blocked (Fixture       *fixture,
                        gconstpointer  data)
{
  Call call = { fixture->multi, test_transfer_new_printf (server, "/delay/1500"), NULL, };
  g_autoptr(GCurlTransfer) async = test_transfer_new_printf (server, "/delay/100");
  GThread *thread = g_thread_new ("blocking", call_thread, &call);
  gint64 async_finished = 0;
  g_autofree char *text = NULL;

  g_signal_connect (async, "finished", G_CALLBACK (record_finished_cb), &async_finished);
  test_run_transfer (fixture->multi, async);
  g_thread_join (thread);

  g_assert_no_error (call.error);
  text = g_strndup (g_bytes_get_data (call.body, NULL), g_bytes_get_size (call.body));
  g_assert_cmpstr (text, ==, "delayed");
  g_assert_cmpuint (g_curl_transfer_get_status_code (async), ==, 200);
  g_assert_cmpint (async_finished, >, 0);
  g_assert_cmpint (async_finished, <, call.returned);
  call_clear (&call);
}

/* Cancelled from the main thread, a call blocked on a server that never answers returns G_IO_ERROR_CANCELLED. */
static void
test_cancel_from_another_thread (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/stall-headers");
  Call call = { fixture->multi, g_curl_transfer_new (url), g_cancellable_new (), };
  GThread *thread;

  /* Far beyond the test's own bound: only the cancel can end it. */
  g_object_set (fixture->multi, "stall-timeout", 600, NULL);
  thread = g_thread_new ("blocking", call_thread, &call);
  while (g_curl_transfer_get_state (call.transfer) != G_CURL_TRANSFER_STATE_RUNNING)
    g_usleep (1000);
  g_usleep (100 * 1000);
  g_cancellable_cancel (call.cancellable);
  g_thread_join (thread);

  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (call.body);
  g_assert_cmpint (g_curl_transfer_get_state (call.transfer), ==, G_CURL_TRANSFER_STATE_CANCELLED);
  call_clear (&call);
}

/* The multi's settings of the moment apply: user agent and default headers, changed between calls. */
static void
test_settings (Fixture       *fixture,
               gconstpointer  data)
{
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo-headers");
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) body = NULL;
      g_autofree char *text = NULL;
      g_autofree char *agent = g_strdup_printf ("User-Agent: blocking/%u\n", round);
      g_autofree char *agent_value = g_strdup_printf ("blocking/%u", round);

      g_object_set (fixture->multi, "user-agent", agent_value, NULL);
      g_curl_multi_set_default_header (fixture->multi, "X-Round", round == 0 ? "zero" : NULL);
      body = g_curl_multi_send_and_read (fixture->multi, transfer, NULL, &error);
      g_assert_no_error (error);
      text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      g_assert_nonnull (strstr (text, agent));
      if (round == 0)
        g_assert_nonnull (strstr (text, "X-Round: zero\n"));
      else
        g_assert_null (strstr (text, "X-Round"));
    }
}

/* The multi's cookie jar is shared: a cookie a blocking call got is sent by an async transfer, and listed. */
static void
test_cookies (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) setter = test_transfer_new_printf (server, "/set-cookie?c=flavour%%3Doat");
  g_autoptr(GCurlTransfer) echo = test_transfer_new_printf (server, "/echo-headers");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_auto(GStrv) cookies = NULL;
  g_autofree char *text = NULL;

  g_object_set (fixture->multi, "cookie-file", "", NULL);
  body = g_curl_multi_send_and_read (fixture->multi, setter, NULL, &error);
  g_assert_no_error (error);

  cookies = g_curl_multi_get_cookies (fixture->multi);
  g_assert_cmpuint (g_strv_length (cookies), ==, 1);
  g_assert_true (g_str_has_suffix (cookies[0], "\tflavour\toat"));

  test_run_transfer (fixture->multi, echo);
  text = test_body_string (echo);
  g_assert_nonnull (strstr (text, "Cookie: flavour=oat\n"));
}

typedef struct
{
  GCurlMulti    *multi;
  gsize          size;
  GCancellable  *cancellable;
  gboolean       started;
  GByteArray    *data;
  GError        *error;
} StreamCall;

static gpointer
stream_thread (gpointer user_data)
{
  StreamCall *call = user_data;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GInputStream) stream = NULL;
  guint8 buffer[16384];
  gssize n;

  if (call->cancellable != NULL)
    transfer = test_transfer_new_printf (server, "/slow/%" G_GSIZE_FORMAT "?rate=4096", call->size);
  else
    transfer = test_transfer_new_printf (server, "/bytes/%" G_GSIZE_FORMAT, call->size);
  stream = g_curl_multi_send (call->multi, transfer, call->cancellable, &call->error);
  if (stream == NULL)
    return NULL;

  call->data = g_byte_array_new ();
  g_atomic_int_set (&call->started, TRUE);
  while ((n = g_input_stream_read (stream, buffer, sizeof buffer, call->cancellable,
                                   &call->error)) > 0)
    g_byte_array_append (call->data, buffer, n);
  g_input_stream_close (stream, NULL, NULL);

  return NULL;
}

/* send() in a thread: the stream reads blockingly there, to the exact body; cancelled from another thread, a read ends at once. */
static void
test_send_stream (Fixture       *fixture,
                  gconstpointer  data)
{
  StreamCall whole = { fixture->multi, 3 * 1024 * 1024 + 17, };
  StreamCall cancelled = { fixture->multi, 1024 * 1024, g_cancellable_new (), };
  g_autofree char *expected = test_pattern_sha256 (0, whole.size);
  g_autofree char *actual = NULL;
  GThread *thread;

  thread = g_thread_new ("blocking", stream_thread, &whole);
  g_thread_join (thread);
  g_assert_no_error (whole.error);
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, whole.data->data, whole.data->len);
  g_assert_cmpuint (whole.data->len, ==, whole.size);
  g_assert_cmpstr (actual, ==, expected);
  g_byte_array_unref (whole.data);

  /* 1 MiB at 4 KiB/s: only the cancel ends the reads. */
  thread = g_thread_new ("blocking", stream_thread, &cancelled);
  while (!g_atomic_int_get (&cancelled.started))
    g_usleep (1000);
  g_usleep (100 * 1000);
  g_cancellable_cancel (cancelled.cancellable);
  g_thread_join (thread);
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (cancelled.data->len, <, cancelled.size);
  g_byte_array_unref (cancelled.data);
  g_clear_error (&cancelled.error);
  g_object_unref (cancelled.cancellable);
}

/* send() from the multi's own thread, its loop not running: the stream reads blockingly there too. */
static void
test_send_main_thread (Fixture       *fixture,
                       gconstpointer  data)
{
  StreamCall whole = { fixture->multi, 300000, };
  g_autofree char *expected = test_pattern_sha256 (0, whole.size);
  g_autofree char *actual = NULL;

  stream_thread (&whole);
  g_assert_no_error (whole.error);
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, whole.data->data, whole.data->len);
  g_assert_cmpstr (actual, ==, expected);
  g_byte_array_unref (whole.data);
}

/* send_and_splice(): every byte into the output stream, the count returned. */
static void
test_send_and_splice (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 500009);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gssize written;

  written = g_curl_multi_send_and_splice (fixture->multi, transfer, output,
                                          G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (written, ==, 500009);
  g_assert_true (g_output_stream_is_closed (output));
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  assert_pattern (bytes, 500009);
}

/* download() in a thread: the file is exact, and no .part is left. */
static void
test_download (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("gcurl-sync-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "file", NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 1048583);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) contents = NULL;

  g_assert_true (g_curl_multi_download (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE,
                                        NULL, &error));
  g_assert_no_error (error);
  contents = g_file_load_bytes (file, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_pattern (contents, 1048583);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_remove (path);
  g_rmdir (dir);
}

/* A refused connection is G_CURL_ERROR_COULDNT_CONNECT, as for the async call. */
static void
test_error (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_curl_multi_send_and_read (fixture->multi, transfer, NULL, &error);

  g_assert_null (body);
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
}

/* The multi's retries apply: a 503 (fail-on-http-error) is retried once, then the 200. */
static void
test_retries (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/echo?key=sync-retry&fail=1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;

  g_object_set (fixture->multi, "retries", 2, "retry-delay", 10, "fail-on-http-error", TRUE, NULL);
  body = g_curl_multi_send_and_read (fixture->multi, transfer, NULL, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_true (g_str_has_prefix (text, "GET 0 "));
  g_assert_cmpuint (test_server_get_key_count (server, "sync-retry"), ==, 2);
}

#define STRESS_THREADS 16
#define STRESS_CALLS 200

typedef struct
{
  GCurlMulti *multi;
  guint       index;
  guint       succeeded;
  guint       cancelled;
} StressWorker;

typedef struct
{
  GCancellable *cancellable;
  guint         delay_us;
} Cancel;

static gpointer
cancel_thread (gpointer data)
{
  Cancel *cancel = data;

  g_usleep (cancel->delay_us);
  g_cancellable_cancel (cancel->cancellable);
  return NULL;
}

static gpointer
stress_thread (gpointer data)
{
  StressWorker *worker = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (worker->index);

  for (guint i = 0; i < STRESS_CALLS; i++)
    {
      gsize size = g_rand_int_range (rand, 1, 200000);
      g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%" G_GSIZE_FORMAT,
                                                                    size);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) body = NULL;
      Cancel cancel = { cancellable, g_rand_int_range (rand, 0, 3000) };
      GThread *canceller = NULL;

      /* One call in five is cancelled from another thread, at a random moment. */
      if (g_rand_int_range (rand, 0, 5) == 0)
        canceller = g_thread_new ("cancel", cancel_thread, &cancel);
      body = g_curl_multi_send_and_read (worker->multi, transfer, cancellable, &error);
      if (canceller != NULL)
        g_thread_join (canceller);

      if (body != NULL)
        {
          g_assert_no_error (error);
          assert_pattern (body, size);
          worker->succeeded++;
        }
      else
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_nonnull (canceller);
          worker->cancelled++;
        }
    }

  return NULL;
}

/* 16 threads × 200 calls, one in five cancelled from another thread: each an exact body or G_IO_ERROR_CANCELLED. */
static void
test_stress (Fixture       *fixture,
             gconstpointer  data)
{
  StressWorker workers[STRESS_THREADS];
  GThread *threads[STRESS_THREADS];
  guint succeeded = 0, cancelled = 0;

  if (test_skip_under_valgrind ("3 200 blocking calls from 16 threads"))
    return;

  for (guint i = 0; i < STRESS_THREADS; i++)
    {
      workers[i] = (StressWorker) { fixture->multi, i, 0, 0 };
      threads[i] = g_thread_new ("stress", stress_thread, &workers[i]);
    }
  for (guint i = 0; i < STRESS_THREADS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (workers[i].succeeded + workers[i].cancelled, ==, STRESS_CALLS);
      succeeded += workers[i].succeeded;
      cancelled += workers[i].cancelled;
    }
  g_test_message ("%u succeeded, %u cancelled", succeeded, cancelled);
  g_assert_cmpuint (succeeded, >, STRESS_THREADS * STRESS_CALLS / 2);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/sync/main-thread", test_main_thread);
  ADD_TEST ("/sync/threads", test_threads);
  ADD_TEST ("/sync/multi-not-blocked", test_multi_not_blocked);
  ADD_TEST ("/sync/cancel-from-another-thread", test_cancel_from_another_thread);
  ADD_TEST ("/sync/settings", test_settings);
  ADD_TEST ("/sync/cookies", test_cookies);
  ADD_TEST ("/sync/send-stream", test_send_stream);
  ADD_TEST ("/sync/send-main-thread", test_send_main_thread);
  ADD_TEST ("/sync/send-and-splice", test_send_and_splice);
  ADD_TEST ("/sync/download", test_download);
  ADD_TEST ("/sync/error", test_error);
  ADD_TEST ("/sync/retries", test_retries);
  ADD_TEST ("/sync/stress", test_stress);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
