/* test-source.c: GCurlSource driving a CURLM the application owns
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gcurl-source-private.h"
#include "gcurl-multi-private.h"
#include "test-util.h"

static TestServer *server;

/* 40 transfers on the application's CURLM end whole; before and after, no watch, no wakeup. */
static void
test_raw_concurrent (void)
{
  const guint n = 40;
  CURL *easies[40];
  GString *sinks[40];
  TestRawMulti raw;
  guint i;

  test_raw_multi_init (&raw);
  g_assert_cmpint (test_count_iterations (200), ==, 0);

  for (i = 0; i < n; i++)
    {
      g_autofree char *url = test_server_url (server, "/bytes/%u", i * 3001);

      sinks[i] = g_string_new (NULL);
      easies[i] = test_raw_easy_new (url, sinks[i]);
      g_assert_cmpint (curl_multi_add_handle (raw.multi, easies[i]), ==, CURLM_OK);
    }
  test_raw_multi_wait_for (&raw, n);

  for (i = 0; i < n; i++)
    {
      g_assert_cmpint (g_array_index (raw.results, CURLcode, i), ==, CURLE_OK);
      test_assert_pattern_string (sinks[i], i * 3001);
      curl_easy_cleanup (easies[i]);
      g_string_free (sinks[i], TRUE);
    }

  /* Done: the kept-alive connections are not watched, nothing wakes us. */
  g_assert_cmpuint (g_curl_source_get_n_watches (raw.source), ==, 0);
  g_assert_cmpint (test_count_iterations (500), ==, 0);
  test_raw_multi_clear (&raw);
}

/* Without a callback the source still runs the transfer; DONE waits for curl_multi_info_read(). */
static void
test_raw_no_callback (void)
{
  g_autofree char *url = test_server_url (server, "/bytes/100");
  GString *sink = g_string_new (NULL);
  CURLM *multi = curl_multi_init ();
  GSource *source = g_curl_source_new (multi);
  CURL *easy = test_raw_easy_new (url, sink);
  CURLMsg *message = NULL;
  int remaining;

  g_source_attach (source, NULL);
  curl_multi_add_handle (multi, easy);
  /* Without a callback, the completion waits for curl_multi_info_read(). */
  while (sink->len < 100)
    g_main_context_iteration (NULL, TRUE);
  test_run_for (100);
  message = curl_multi_info_read (multi, &remaining);
  g_assert_nonnull (message);
  g_assert_cmpint (message->msg, ==, CURLMSG_DONE);
  g_assert_true (message->easy_handle == easy);
  g_assert_cmpint (message->data.result, ==, CURLE_OK);

  curl_multi_remove_handle (multi, easy);
  curl_easy_cleanup (easy);
  g_source_destroy (source);
  g_source_unref (source);
  curl_multi_cleanup (multi);
  g_string_free (sink, TRUE);
}

/* A callback returning G_SOURCE_REMOVE gets its completion, and the source is destroyed. */
static void
test_raw_remove_source_from_callback (void)
{
  g_autofree char *url = test_server_url (server, "/bytes/10");
  GString *sink = g_string_new (NULL);
  TestRawMulti raw;
  CURL *easy;

  test_raw_multi_init (&raw);
  raw.remove_source = TRUE;
  easy = test_raw_easy_new (url, sink);
  curl_multi_add_handle (raw.multi, easy);
  test_raw_multi_wait_for (&raw, 1);
  g_assert_true (g_source_is_destroyed (raw.source));
  curl_easy_cleanup (easy);
  test_raw_multi_clear (&raw);
  g_string_free (sink, TRUE);
}

/* A CURLOPT_TIMEOUT_MS that fires in a timer action ends the transfer TIMEDOUT, not before 400 ms.
 * A completion that happens inside a timer action (curl's own timeout on a
 * server that never answers) must be delivered, and promptly: the timer is
 * rounded up and re-synced, so it neither fires early and hangs nor spins. */
static void
test_raw_completion_from_timer (void)
{
  g_autofree char *url = test_server_raw_url (server, "/stall-headers");
  GString *sink = g_string_new (NULL);
  gint64 start = g_get_monotonic_time ();
  TestRawMulti raw;
  CURL *easy;

  test_raw_multi_init (&raw);
  easy = test_raw_easy_new (url, sink);
  curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, 400L);
  curl_multi_add_handle (raw.multi, easy);
  test_raw_multi_wait_for (&raw, 1);
  g_assert_cmpint (g_array_index (raw.results, CURLcode, 0), ==, CURLE_OPERATION_TIMEDOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 400 * 1000);
  curl_easy_cleanup (easy);
  test_raw_multi_clear (&raw);
  g_string_free (sink, TRUE);
}

static curl_socket_t
capture_socket_cb (void                 *user_data,
                   curlsocktype          purpose,
                   struct curl_sockaddr *address)
{
  int *fd = user_data;

  *fd = socket (address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  return *fd;
}

/* With curl's socket swapped for /dev/null, the loop wakes < 100 times in 300 ms; the run fails.
 * Someone closes curl's socket behind its back: the source must neither
 * crash nor spin on the dead fd, and the transfer must end. */
static void
test_raw_socket_closed_behind_back (void)
{
  g_autofree char *url = test_server_raw_url (server, "/stall/100000/5000");
  GString *sink = g_string_new (NULL);
  TestRawMulti raw;
  CURL *easy;
  int fd = -1, devnull;
  guint iterations;

  test_raw_multi_init (&raw);
  easy = test_raw_easy_new (url, sink);
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETFUNCTION, capture_socket_cb);
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETDATA, &fd);
  curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, 2000L);
  curl_multi_add_handle (raw.multi, easy);
  while (sink->len < 5000)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (fd, >=, 0);

  /* Replace the socket with /dev/null under the same number, so that
   * curl's own close() later cannot hit an unrelated fd. */
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  g_assert_cmpint (dup2 (devnull, fd), ==, fd);
  close (devnull);

  iterations = test_count_iterations (300);
  g_test_message ("%u iterations in 300 ms after the close", iterations);
  g_assert_cmpuint (iterations, <, 100);

  test_raw_multi_wait_for (&raw, 1);
  g_assert_cmpint (g_array_index (raw.results, CURLcode, 0), !=, CURLE_OK);
  curl_easy_cleanup (easy);
  test_raw_multi_clear (&raw);
  g_string_free (sink, TRUE);
}

/* A keep-alive HTTP/1.1 server for one connection, on its own thread:
 * answers @n_requests requests with "hello", then keeps the connection
 * open until keepalive_server_close(), and closes it then. */
typedef struct
{
  GSocket  *listener;
  GThread  *thread;
  guint     n_requests;
  GMutex    lock;
  GCond     cond;
  gboolean  close_now;
  char     *url;
} KeepaliveServer;

static gpointer
keepalive_server_thread (gpointer data)
{
  KeepaliveServer *ks = data;
  g_autoptr(GSocket) conn = g_socket_accept (ks->listener, NULL, NULL);
  static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  guint answered = 0;
  GString *request = g_string_new (NULL);

  g_assert_nonnull (conn);
  while (answered < ks->n_requests)
    {
      char buf[1024];
      gssize n = g_socket_receive (conn, buf, sizeof buf, NULL, NULL);
      const char *end;

      g_assert_cmpint (n, >, 0);
      g_string_append_len (request, buf, n);
      while ((end = strstr (request->str, "\r\n\r\n")) != NULL)
        {
          g_string_erase (request, 0, end + 4 - request->str);
          g_assert_cmpint (g_socket_send (conn, response, strlen (response), NULL, NULL),
                           ==, (gssize) strlen (response));
          answered++;
        }
    }
  g_string_free (request, TRUE);

  g_mutex_lock (&ks->lock);
  while (!ks->close_now)
    g_cond_wait (&ks->cond, &ks->lock);
  g_mutex_unlock (&ks->lock);
  g_socket_close (conn, NULL);

  return NULL;
}

static void
keepalive_server_start (KeepaliveServer *ks,
                        guint            n_requests)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  memset (ks, 0, sizeof *ks);
  ks->n_requests = n_requests;
  g_mutex_init (&ks->lock);
  g_cond_init (&ks->cond);
  ks->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                               G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_bind (ks->listener, any, TRUE, NULL));
  g_assert_true (g_socket_listen (ks->listener, NULL));
  bound = g_socket_get_local_address (ks->listener, NULL);
  ks->url = g_strdup_printf ("http://127.0.0.1:%u/",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  ks->thread = g_thread_new ("keepalive-server", keepalive_server_thread, ks);
}

static void
keepalive_server_close (KeepaliveServer *ks)
{
  g_mutex_lock (&ks->lock);
  ks->close_now = TRUE;
  g_cond_signal (&ks->cond);
  g_mutex_unlock (&ks->lock);
}

static void
keepalive_server_stop (KeepaliveServer *ks)
{
  keepalive_server_close (ks);
  g_thread_join (ks->thread);
  g_socket_close (ks->listener, NULL);
  g_object_unref (ks->listener);
  g_mutex_clear (&ks->lock);
  g_cond_clear (&ks->cond);
  g_free (ks->url);
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Main-loop iterations in @ms, counting whatever is pending too (unlike
 * test_count_iterations(), whose draining would spin with a busy loop). */
static guint
count_iterations_undrained (guint ms)
{
  gboolean done = FALSE;
  guint n = 0;

  g_timeout_add (ms, set_flag_cb, &done);
  while (!done)
    {
      g_main_context_iteration (NULL, TRUE);
      n++;
    }

  return n;
}

/* An idle keep-alive socket is unwatched and reused; its peer's close wakes the loop < 30 times.
 * While another transfer runs, the socket of a finished keep-alive
 * transfer is idle: it is not counted as watched, its next transfer reuses
 * the connection, and when the peer closes it the loop wakes once, not
 * over and over (the close is level-triggered). */
static void
test_keepalive_idle_socket (void)
{
  g_autofree char *slow_url = test_server_url (server, "/slow/%u?rate=%u", 8000, 4000);
  GString *slow_sink = g_string_new (NULL);
  GString *sinks[2] = { g_string_new (NULL), g_string_new (NULL) };
  CURL *easies[2];
  CURL *slow;
  KeepaliveServer ks;
  long connects = -1;
  guint i, iterations;
  TestRawMulti raw;

  keepalive_server_start (&ks, 2);
  test_raw_multi_init (&raw);
  slow = test_raw_easy_new (slow_url, slow_sink);
  g_assert_cmpint (curl_multi_add_handle (raw.multi, slow), ==, CURLM_OK);

  for (i = 0; i < 2; i++)
    {
      easies[i] = test_raw_easy_new (ks.url, sinks[i]);
      g_assert_cmpint (curl_multi_add_handle (raw.multi, easies[i]), ==, CURLM_OK);
      test_raw_multi_wait_for (&raw, i + 1);
      g_assert_cmpint (g_array_index (raw.results, CURLcode, i), ==, CURLE_OK);
      g_assert_cmpstr (sinks[i]->str, ==, "hello");
      /* Only the slow transfer's socket is watched for libcurl. */
      g_assert_cmpuint (g_curl_source_get_n_watches (raw.source), ==, 1);
      g_assert_cmpuint (g_curl_source_get_n_sockets (raw.source), ==, 1);
    }
  curl_easy_getinfo (easies[1], CURLINFO_NUM_CONNECTS, &connects);
  g_assert_cmpint (connects, ==, 0);

  keepalive_server_close (&ks);
  iterations = count_iterations_undrained (300);
  g_test_message ("%u iterations in 300 ms after the peer closed an idle socket", iterations);
  g_assert_cmpuint (iterations, <, 30);
  g_assert_cmpuint (raw.done->len, ==, 2);

  test_raw_multi_wait_for (&raw, 3);
  g_assert_cmpint (g_array_index (raw.results, CURLcode, 2), ==, CURLE_OK);
  test_assert_pattern_string (slow_sink, 8000);

  /* Nothing runs: nothing is watched, nothing wakes the loop. */
  g_assert_cmpuint (g_curl_source_get_n_watches (raw.source), ==, 0);
  g_assert_cmpint (test_count_iterations (300), ==, 0);

  for (i = 0; i < 2; i++)
    {
      curl_easy_cleanup (easies[i]);
      g_string_free (sinks[i], TRUE);
    }
  curl_easy_cleanup (slow);
  g_string_free (slow_sink, TRUE);
  test_raw_multi_clear (&raw);
  keepalive_server_stop (&ks);
}

/* new_with_backend() keeps fds; g_curl_source_new() picks epoll unless GCURL_BACKEND=fds. */
static void
test_backend_choice (void)
{
  CURLM *multi = curl_multi_init ();
  GSource *fds = g_curl_source_new_with_backend (multi, G_CURL_SOURCE_BACKEND_FDS);
  GSource *def;
  const char *env = g_getenv ("GCURL_BACKEND");

  g_assert_cmpint (g_curl_source_get_backend (fds), ==, G_CURL_SOURCE_BACKEND_FDS);
  g_source_unref (fds);

  def = g_curl_source_new (multi);
  if (g_strcmp0 (env, "fds") == 0)
    g_assert_cmpint (g_curl_source_get_backend (def), ==, G_CURL_SOURCE_BACKEND_FDS);
  else
    g_assert_cmpint (g_curl_source_get_backend (def), ==, G_CURL_SOURCE_BACKEND_EPOLL);
  g_source_unref (def);
  curl_multi_cleanup (multi);
}

/* An unwatchable socket fails only its transfer (COULDNT_CONNECT, a warning); the next succeeds.
 * The socket callback cannot watch a socket: that transfer fails, the rest
 * of the multi goes on (returning -1 would break the whole multi). */
static void
test_failed_watch (void)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autofree char *url = test_server_url (server, "/bytes/1000");
  g_autoptr(GCurlTransfer) failing = g_curl_transfer_new (url);
  g_autoptr(GCurlTransfer) fine = g_curl_transfer_new (url);

  g_curl_source_fail_next_watches (g_curl_multi_get_source (multi), 1, ENOSPC);
  g_test_expect_message ("GCurl", G_LOG_LEVEL_WARNING, "*Could not watch socket*");
  test_run_transfer (multi, failing);
  g_test_assert_expected_messages ();
  g_assert_error ((GError *) g_curl_transfer_get_error (failing),
                  G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);

  test_run_transfer (multi, fine);
  test_assert_pattern_body (fine, 1000);
}

/* 40 transfers without connection reuse each get their body and leave no watch and no fd behind.
 * Sockets opened and closed one after the other reuse fd numbers: every
 * watch must follow its own socket. */
static void
test_fd_reuse (void)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  guint fds_before = test_count_open_fds (server);
  guint i;

  for (i = 0; i < 40; i++)
    {
      g_autofree char *url = i % 2 ? test_server_url (server, "/bytes/%u", 1000 + i)
                                   : test_server_raw_url (server, "/bytes/%u", 1000 + i);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

      /* No connection reuse: every transfer opens and closes a socket. */
      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_FORBID_REUSE, 1L);
      test_run_transfer (multi, transfer);
      test_assert_pattern_body (transfer, 1000 + i);
      g_assert_cmpuint (g_curl_source_get_n_watches (g_curl_multi_get_source (multi)), ==, 0);
    }
  test_assert_fds_back_to (server, fds_before);
}

/* G_IO_ERR maps to IN|OUT|ERR (a read or write finds the error), HUP to IN, NVAL to ERR alone.
 * An error is learnt by reading or writing, as libcurl's own poll does:
 * given CURL_CSELECT_ERR alone, libcurl 7.88 fails the transfer with
 * CURLE_SEND_ERROR "select/poll returned error" and loses the real error.
 * The kernel can report a reset connection as an error alone, before it
 * marks it hung up (found by test-chaos: /reset/0 failed with
 * CURLE_SEND_ERROR instead of CURLE_RECV_ERROR, seed 30, fds backend). */
static void
test_error_events (void)
{
  const int in = CURL_CSELECT_IN, out = CURL_CSELECT_OUT, err = CURL_CSELECT_ERR;

  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_ERR), ==, in | out | err);
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_ERR | G_IO_HUP), ==, in | out | err);
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_HUP), ==, in);
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_IN), ==, in);
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_OUT), ==, out);
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_IN | G_IO_OUT), ==, in | out);
  /* Not a socket any more: nothing to read, the watch is dropped. */
  g_assert_cmpint (g_curl_source_events_from_condition (G_IO_NVAL), ==, err);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();

  g_test_add_func ("/source/raw/concurrent", test_raw_concurrent);
  g_test_add_func ("/source/raw/no-callback", test_raw_no_callback);
  g_test_add_func ("/source/raw/remove-from-callback", test_raw_remove_source_from_callback);
  g_test_add_func ("/source/raw/completion-from-timer", test_raw_completion_from_timer);
  g_test_add_func ("/source/raw/socket-closed-behind-back", test_raw_socket_closed_behind_back);
  g_test_add_func ("/source/raw/keepalive-idle-socket", test_keepalive_idle_socket);
  g_test_add_func ("/source/backend-choice", test_backend_choice);
  g_test_add_func ("/source/failed-watch", test_failed_watch);
  g_test_add_func ("/source/fd-reuse", test_fd_reuse);
  g_test_add_func ("/source/error-events", test_error_events);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
