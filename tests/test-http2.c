/* test-http2.c: HTTP/2 and TLS against real nghttpd servers
 *
 * The program makes a temporary directory with a document root of pattern
 * files named by their size ("/pattern-1000" has 1000 bytes, see
 * test-server.h), a throwaway CA and a server certificate for 127.0.0.1 and
 * localhost signed by it (made with openssl), then starts three nghttpd
 * processes (Debian package nghttp2-server) on 127.0.0.1 ephemeral ports,
 * all serving that document root:
 *
 *   h2c             cleartext HTTP/2, prior knowledge
 *   h2c_one_stream  the same, but one concurrent stream per connection
 *   h2              HTTP/2 over TLS (ALPN h2) with the test certificate
 *
 * Without nghttpd (or, for the TLS tests, openssl) the tests are skipped.
 * Everything is killed and removed when the program ends; if it dies
 * instead, the kernel kills the servers (PR_SET_PDEATHSIG) and the
 * directory, with the servers' logs, is left for a post-mortem.
 *
 * TEST_CURL_VERBOSE=1 turns on libcurl's verbose output for the transfers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-nghttpd.h"
#include "test-util.h"

/* /http2/multiplex: more streams than a browser opens for one page, well
 * under the default limit of 100 concurrent streams of curl and nghttpd. */
#define N_MULTIPLEXED 50

/* A megabyte that is not a multiple of any TLS record or HTTP/2 frame. */
#define TLS_GET_SIZE (1024 * 1024 + 7)

/* /http2/stall-not-while-queued: transfers that take about QUEUED_SIZE /
 * QUEUED_RATE = 1.5 s each on a connection with one stream at a time, so
 * the last one waits over 4 s for its stream, far longer than the stall
 * timeout. */
#define N_QUEUED        4
#define QUEUED_SIZE     (150 * 1024)
#define QUEUED_RATE     (100 * 1024)
#define STALL_TIMEOUT_S 1

/* A name the certificate does not have (.test is reserved, RFC 6761). */
#define WRONG_HOST_NAME "wrong-host.test"

/* curl 8.0.0 fixed prior-knowledge HTTP/2 on a reused connection. */
#define CURL_VERSION_PRIOR_KNOWLEDGE_REUSE 0x080000

/* libcurl 7.88 copies a stream's DATA into the receive buffer of its
 * transfer; when that is full it pauses nghttp2 and keeps the rest, and
 * nothing wakes the transfer up again if no more bytes come on the socket:
 * with the multi_socket API the last stream of a burst then stalls for good
 * (with the default 16 KiB, about one run in 150 of /http2/multiplex on
 * cleartext; with 1 KiB, nearly every run). A buffer larger than any body
 * these tests multiplex keeps clear of that libcurl bug: they are about
 * multiplexing. */
#define H2_RECEIVE_BUFFER_SIZE (512 * 1024)

/* Sizes from 0 to about 500 KB: most streams end with a partial DATA
 * frame, and small and large ones interleave on the connection. */
#define MULTIPLEXED_SIZE(i) ((guint64) (i) * (i) * 211 + (i))

G_STATIC_ASSERT (MULTIPLEXED_SIZE (N_MULTIPLEXED - 1) < H2_RECEIVE_BUFFER_SIZE);
G_STATIC_ASSERT (QUEUED_SIZE < H2_RECEIVE_BUFFER_SIZE);

/* The servers: see test-nghttpd.h. */
typedef TestNghttpd H2Server;

static char *nghttpd;          /* its path */
static char *tmp_dir;          /* everything the program writes */
static char *doc_root;
static char *ca_file;          /* the throwaway CA's certificate (PEM) */
static char *key_file;         /* the server's key and certificate */
static char *cert_file;
static char *skip_reason;      /* nghttpd is not installed */
static char *tls_skip_reason;  /* openssl is not installed */
static char *setup_error;      /* installed, but something did not start */

static H2Server h2c = { "h2c", FALSE };
static H2Server h2c_one_stream = { "h2c-one-stream", FALSE };
static H2Server h2 = { "h2", TRUE };

/* Test data */

static gboolean
write_doc_root (GError **error)
{
  guint i;

  doc_root = test_nghttpd_make_doc_root (tmp_dir, error);
  if (doc_root == NULL)
    return FALSE;

  for (i = 0; i < N_MULTIPLEXED; i++)
    if (!test_nghttpd_write_pattern (doc_root, MULTIPLEXED_SIZE (i), error))
      return FALSE;

  return test_nghttpd_write_pattern (doc_root, TLS_GET_SIZE, error) &&
         test_nghttpd_write_pattern (doc_root, QUEUED_SIZE, error);
}

/* A CA, and a certificate for IP:127.0.0.1 and DNS:localhost signed by it
 * (see test_make_ca_and_server()). */
static gboolean
make_certificates (GError **error)
{
  ca_file = g_build_filename (tmp_dir, "ca.pem", NULL);
  key_file = g_build_filename (tmp_dir, "server.key", NULL);
  cert_file = g_build_filename (tmp_dir, "server.pem", NULL);

  return test_make_ca_and_server (tmp_dir, "IP:127.0.0.1,DNS:localhost", error);
}

/* Makes the files and starts the servers. Returns FALSE with @error only
 * for failures of things that are installed: what is missing sets the skip
 * reasons instead. */
static gboolean
setup_servers (GError **error)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");

  nghttpd = test_nghttpd_find ();
  if (nghttpd == NULL)
    {
      skip_reason = g_strdup ("nghttpd is not installed (Debian package nghttp2-server)");
      return TRUE;
    }
  if (openssl == NULL)
    tls_skip_reason = g_strdup ("openssl is not installed (Debian package openssl)");

  tmp_dir = g_dir_make_tmp ("gcurl-test-http2-XXXXXX", error);
  if (tmp_dir == NULL || !write_doc_root (error))
    return FALSE;
  if (!test_nghttpd_start (&h2c, nghttpd, tmp_dir, doc_root, NULL, NULL, NULL, error) ||
      !test_nghttpd_start (&h2c_one_stream, nghttpd, tmp_dir, doc_root,
                           "--max-concurrent-streams=1", NULL, NULL, error))
    return FALSE;
  if (tls_skip_reason == NULL &&
      (!make_certificates (error) ||
       !test_nghttpd_start (&h2, nghttpd, tmp_dir, doc_root, NULL, key_file, cert_file, error)))
    return FALSE;

  return TRUE;
}

static void
teardown_servers (void)
{
  test_nghttpd_stop (&h2c);
  test_nghttpd_stop (&h2c_one_stream);
  test_nghttpd_stop (&h2);
  if (tmp_dir != NULL)
    test_nghttpd_remove_tree (tmp_dir);
  g_clear_pointer (&nghttpd, g_free);
  g_clear_pointer (&tmp_dir, g_free);
  g_clear_pointer (&doc_root, g_free);
  g_clear_pointer (&ca_file, g_free);
  g_clear_pointer (&key_file, g_free);
  g_clear_pointer (&cert_file, g_free);
  g_clear_pointer (&skip_reason, g_free);
  g_clear_pointer (&tls_skip_reason, g_free);
  g_clear_pointer (&setup_error, g_free);
}

/* Skips the test if a server it needs cannot run here, fails it if one
 * should have started and did not; returns whether the test may go on. */
static gboolean
servers_available (gboolean need_tls)
{
  if (skip_reason != NULL)
    g_test_skip (skip_reason);
  else if (need_tls && tls_skip_reason != NULL)
    g_test_skip (tls_skip_reason);
  else if (setup_error != NULL)
    g_test_fail_printf ("%s", setup_error);
  else
    return TRUE;

  return FALSE;
}

/* Fixture and helpers */

/* No TestServer: the fd checks count every fd (nghttpd's are its own). */
typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

static char *
pattern_url (H2Server *server,
             guint64   size)
{
  return g_strdup_printf ("%s/pattern-%" G_GUINT64_FORMAT, server->base_url, size);
}

/* The HTTP version the @index-th of the transfers added together asks
 * @server for. On cleartext, HTTP/2 with prior knowledge; but libcurl 7.88
 * fails a transfer that asks for it on a reused connection with "Error in
 * the HTTP2 framing layer" (curl issue 10634, fixed in 8.0.0). There, only
 * the first transfer, which opens the connection, asks for prior knowledge;
 * the others, added after it, wait for that connection (PIPEWAIT) and ask
 * for HTTP/2, which it already speaks. Such a transfer must never need a
 * connection of its own: it would ask for an HTTP/1.1 upgrade to h2c, which
 * nghttpd does not speak. */
static long
http_version_for (H2Server *server,
                  guint     index)
{
  if (server->tls)
    return CURL_HTTP_VERSION_2TLS;
  if (index == 0 ||
      curl_version_info (CURLVERSION_NOW)->version_num >= CURL_VERSION_PRIOR_KNOWLEDGE_REUSE)
    return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;

  return CURL_HTTP_VERSION_2_0;
}

/* A GET of a pattern file, the @index-th of the transfers added together,
 * that waits for the connection in progress to tell whether it multiplexes
 * (PIPEWAIT) rather than open a connection of its own. */
static GCurlTransfer *
pattern_transfer_new (H2Server *server,
                      guint64   size,
                      guint     index)
{
  g_autofree char *url = pattern_url (server, size);
  GCurlTransfer *transfer = g_curl_transfer_new (url);
  CURL *handle = g_curl_transfer_get_handle (transfer);

  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_HTTP_VERSION,
                                     http_version_for (server, index)), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_PIPEWAIT, 1L), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (handle, CURLOPT_BUFFERSIZE, (long) H2_RECEIVE_BUFFER_SIZE),
                   ==, CURLE_OK);
  if (g_getenv ("TEST_CURL_VERBOSE") != NULL)
    curl_easy_setopt (handle, CURLOPT_VERBOSE, 1L);

  return transfer;
}

/* Waits for the "finished" of every one of a set of transfers. */
typedef struct
{
  GPtrArray *transfers;
  guint      n_running;
  gboolean   done;
} Countdown;

static void
countdown_finished_cb (GCurlTransfer *transfer,
                       gpointer       user_data)
{
  Countdown *countdown = user_data;

  if (--countdown->n_running == 0)
    countdown->done = TRUE;
}

static void
countdown_start (Countdown *countdown,
                 GPtrArray *transfers)
{
  guint i;

  countdown->transfers = transfers;
  countdown->n_running = transfers->len;
  countdown->done = transfers->len == 0;
  for (i = 0; i < transfers->len; i++)
    g_signal_connect (transfers->pdata[i], "finished",
                      G_CALLBACK (countdown_finished_cb), countdown);
}

static void
countdown_wait (Countdown *countdown)
{
  guint i;

  test_run_until (&countdown->done);
  for (i = 0; i < countdown->transfers->len; i++)
    g_signal_handlers_disconnect_by_func (countdown->transfers->pdata[i],
                                          countdown_finished_cb, countdown);
}

/* Adds all @transfers at once and waits until every one has finished. */
static void
run_transfers (GCurlMulti *multi,
               GPtrArray  *transfers)
{
  Countdown countdown;
  guint i;

  countdown_start (&countdown, transfers);
  for (i = 0; i < transfers->len; i++)
    g_curl_multi_add_transfer (multi, transfers->pdata[i]);
  countdown_wait (&countdown);
}

static void
set_flag_cb (GCurlTransfer *transfer,
             gpointer       user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Asserts that all @transfers used HTTP/2 over one connection: the same
 * local port, and only one of them had to connect. */
static void
assert_one_h2_connection (GPtrArray *transfers)
{
  long port = test_transfer_get_info_long (transfers->pdata[0], CURLINFO_LOCAL_PORT);
  long n_connects = 0;
  guint i;

  g_assert_cmpint (port, >, 0);
  for (i = 0; i < transfers->len; i++)
    {
      GCurlTransfer *transfer = transfers->pdata[i];

      g_assert_cmpint (test_transfer_get_info_long (transfer, CURLINFO_HTTP_VERSION), ==,
                       CURL_HTTP_VERSION_2_0);
      g_assert_cmpint (test_transfer_get_info_long (transfer, CURLINFO_LOCAL_PORT), ==, port);
      n_connects += test_transfer_get_info_long (transfer, CURLINFO_NUM_CONNECTS);
    }
  g_assert_cmpint (n_connects, ==, 1);
  g_test_message ("%u transfers, HTTP/2, all from local port %ld, %ld connect in all",
                  transfers->len, port, n_connects);
}

static void
assert_failed (GCurlTransfer *transfer,
               GQuark         domain,
               int            code)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  g_assert_error ((GError *) error, domain, code);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_null (g_curl_transfer_get_body (transfer));
  g_test_message ("%s: error %d: %s", g_curl_transfer_get_url (transfer), code, error->message);
}

/* HTTP/2 multiplexing */

static void
run_multiplexed (GCurlMulti *multi,
                 H2Server   *server)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start;
  guint i;

  for (i = 0; i < N_MULTIPLEXED; i++)
    g_ptr_array_add (transfers, pattern_transfer_new (server, MULTIPLEXED_SIZE (i), i));

  start = g_get_monotonic_time ();
  run_transfers (multi, transfers);
  g_test_message ("%u transfers in %" G_GINT64_FORMAT " ms", N_MULTIPLEXED,
                  (g_get_monotonic_time () - start) / 1000);

  for (i = 0; i < N_MULTIPLEXED; i++)
    test_assert_pattern_body (transfers->pdata[i], MULTIPLEXED_SIZE (i));
  assert_one_h2_connection (transfers);
}

/* 50 GETs to cleartext h2c all arrive exact, over HTTP/2, on one connection. */
static void
test_multiplex (Fixture       *fixture,
                gconstpointer  data)
{
  if (!servers_available (FALSE))
    return;

  run_multiplexed (fixture->multi, &h2c);
}

/* 50 GETs to h2 over TLS, with the test CA, all arrive exact, over HTTP/2, on one connection. */
static void
test_tls_multiplex (Fixture       *fixture,
                    gconstpointer  data)
{
  if (!servers_available (TRUE))
    return;

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  run_multiplexed (fixture->multi, &h2);
}

/* Transfers queued over 2 s for the single h2 stream are not failed by a 1 s stall-timeout.
 * Transfers that wait for a stream are not stalled: with one stream per
 * connection, each waits for those before it to finish. */
static void
test_stall_not_while_queued (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 headers_at[N_QUEUED] = { 0, };
  gint64 start, queued_at, longest_wait = 0;
  gboolean first_started = FALSE;
  Countdown countdown;
  guint i;

  if (!servers_available (FALSE))
    return;

  /* One connection, so that the transfers queue for its one stream rather
   * than for connections of their own. */
  g_object_set (fixture->multi,
                "stall-timeout", STALL_TIMEOUT_S,
                "max-host-connections", 1,
                NULL);
  for (i = 0; i < N_QUEUED; i++)
    {
      GCurlTransfer *transfer = pattern_transfer_new (&h2c_one_stream, QUEUED_SIZE, i);

      g_curl_transfer_set_max_download_speed (transfer, QUEUED_RATE);
      g_signal_connect (transfer, "got-headers", G_CALLBACK (test_record_time_cb), &headers_at[i]);
      g_ptr_array_add (transfers, transfer);
    }

  /* (or failed: the assertions below then say how) */
  g_signal_connect (transfers->pdata[0], "got-headers", G_CALLBACK (set_flag_cb), &first_started);
  g_signal_connect (transfers->pdata[0], "finished", G_CALLBACK (set_flag_cb), &first_started);
  countdown_start (&countdown, transfers);

  /* The first alone until its response begins, which comes after the
   * server's SETTINGS: the others are then never sent before libcurl knows
   * the limit of one stream. Sent before, nghttpd would refuse them and
   * libcurl retry them on a new connection. */
  start = g_get_monotonic_time ();
  g_curl_multi_add_transfer (fixture->multi, transfers->pdata[0]);
  test_run_until (&first_started);
  queued_at = g_get_monotonic_time ();
  for (i = 1; i < N_QUEUED; i++)
    g_curl_multi_add_transfer (fixture->multi, transfers->pdata[i]);
  countdown_wait (&countdown);
  g_test_message ("%u transfers in %" G_GINT64_FORMAT " ms", N_QUEUED,
                  (g_get_monotonic_time () - start) / 1000);

  for (i = 0; i < N_QUEUED; i++)
    test_assert_pattern_body (transfers->pdata[i], QUEUED_SIZE);
  for (i = 1; i < N_QUEUED; i++)
    {
      g_assert_cmpint (headers_at[i], >, queued_at);
      longest_wait = MAX (longest_wait, headers_at[i] - queued_at);
      g_test_message ("transfer %u waited %" G_GINT64_FORMAT " ms for its stream", i,
                      (headers_at[i] - queued_at) / 1000);
    }
  assert_one_h2_connection (transfers);
  /* The test is only worth something if a transfer did wait for its stream
   * longer than the stall timeout. */
  g_assert_cmpint (longest_wait, >, 2 * STALL_TIMEOUT_S * G_USEC_PER_SEC);
}

/* Pause and resume over HTTP/2: libcurl 7.88 can end a paused stream
 * without delivering all its data, so the body's checksum is the test.
 * libcurl's own receive buffer (no CURLOPT_BUFFERSIZE): a stream window
 * larger than the body lets the server send it all, and end the stream,
 * while the transfer is paused. */
static GCurlTransfer *
paused_transfer_new (H2Server *server,
                     guint64   size,
                     guint     index)
{
  g_autofree char *url = pattern_url (server, size);
  GCurlTransfer *transfer = g_curl_transfer_new (url);

  g_assert_cmpint (curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_HTTP_VERSION,
                                     http_version_for (server, index)), ==, CURLE_OK);
  if (g_getenv ("TEST_CURL_VERBOSE") != NULL)
    curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_VERBOSE, 1L);

  return transfer;
}

static void
run_paused (GCurlMulti *multi,
            H2Server   *server)
{
  g_autoptr(GCurlTransfer) held = paused_transfer_new (server, TLS_GET_SIZE, 0);
  g_autoptr(GCurlTransfer) toggled = paused_transfer_new (server, TLS_GET_SIZE, 1);
  gboolean finished;
  guint pauses = 0;

  /* Paused from the start, while the whole body arrives. */
  g_curl_multi_add_transfer (multi, held);
  g_curl_transfer_pause (held);
  test_run_for (500);
  g_assert_cmpint (g_curl_transfer_get_state (held), ==, G_CURL_TRANSFER_STATE_PAUSED);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (held), ==, 0);
  g_curl_transfer_resume (held);
  test_run_until_finished (held);
  test_assert_pattern_body (held, TLS_GET_SIZE);
  g_test_message ("%s: paused from the start, then resumed: whole", server->name);
  g_assert_cmpint (test_transfer_get_info_long (held, CURLINFO_HTTP_VERSION), ==,
                   CURL_HTTP_VERSION_2_0);

  /* Paused and resumed at every main loop iteration. */
  g_curl_multi_add_transfer (multi, toggled);
  while (g_curl_transfer_get_state (toggled) == G_CURL_TRANSFER_STATE_RUNNING)
    {
      g_curl_transfer_pause (toggled);
      g_main_context_iteration (NULL, FALSE);
      g_curl_transfer_resume (toggled);
      g_main_context_iteration (NULL, TRUE);
      pauses++;
    }
  finished = g_curl_transfer_get_state (toggled) != G_CURL_TRANSFER_STATE_RUNNING;
  test_run_until (&finished);
  test_assert_pattern_body (toggled, TLS_GET_SIZE);
  g_test_message ("paused and resumed %u times", pauses);
}

/* An h2 stream paused from the start, or toggled every iteration, ends with its whole body. */
static void
test_pause_resume_checksum (Fixture       *fixture,
                            gconstpointer  data)
{
  if (!servers_available (FALSE))
    return;

  run_paused (fixture->multi, &h2c);

  if (!servers_available (TRUE))
    return;

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  run_paused (fixture->multi, &h2);
}

/* TLS */

/* With tls-ca-file, h2 over TLS verifies by IP and DNS name; the handshake is after the connect. */
static void
test_tls_verified (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) by_address = NULL;
  g_autoptr(GCurlTransfer) by_name = NULL;
  g_autoptr(GCurlTimings) timings = NULL;
  g_autofree char *name_url = NULL;
  g_autofree char *resolve = NULL;
  struct curl_slist *resolve_list;
  CURL *handle;

  if (!servers_available (TRUE))
    return;

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);

  /* The certificate's IP:127.0.0.1. */
  by_address = pattern_transfer_new (&h2, TLS_GET_SIZE, 0);
  test_run_transfer (fixture->multi, by_address);
  test_assert_pattern_body (by_address, TLS_GET_SIZE);
  timings = g_curl_transfer_get_timings (by_address);
  /* A new connection: the handshake comes after the TCP connect. */
  g_assert_cmpint (timings->tls_handshake, >, 0);
  g_assert_cmpint (timings->tls_handshake, >=, timings->connect);
  g_assert_cmpint (timings->first_byte, >=, timings->tls_handshake);
  g_assert_cmpint (test_transfer_get_info_long (by_address, CURLINFO_HTTP_VERSION), ==,
                   CURL_HTTP_VERSION_2_0);

  /* Its DNS:localhost; pinned to 127.0.0.1, where nghttpd listens, since
   * localhost may resolve to ::1 first. */
  name_url = g_strdup_printf ("https://localhost:%u/pattern-%d", h2.port, TLS_GET_SIZE);
  resolve = g_strdup_printf ("localhost:%u:127.0.0.1", h2.port);
  resolve_list = curl_slist_append (NULL, resolve);
  by_name = g_curl_transfer_new (name_url);
  handle = g_curl_transfer_get_handle (by_name);
  curl_easy_setopt (handle, CURLOPT_RESOLVE, resolve_list);
  test_run_transfer (fixture->multi, by_name);
  /* curl keeps the list's address, not a copy. */
  curl_easy_setopt (handle, CURLOPT_RESOLVE, NULL);
  curl_slist_free_all (resolve_list);
  test_assert_pattern_body (by_name, TLS_GET_SIZE);
}

/* Without tls-ca-file the test CA is unknown: PEER_FAILED_VERIFICATION, FAILED, no body. */
static void
test_tls_unverified (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;

  if (!servers_available (TRUE))
    return;

  /* No tls-ca-file: the system's CAs do not know the test CA. */
  transfer = pattern_transfer_new (&h2, TLS_GET_SIZE, 0);
  test_run_transfer (fixture->multi, transfer);
  assert_failed (transfer, G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION);
}

/* tls-ca-file unset between runs of one transfer fails verification; set again, it works.
 * A transfer run with a CA file and then without one goes back to the
 * system's trust store, which does not know the test CA; and a setting
 * changed between runs reaches the handle again. */
static void
test_tls_ca_file_not_kept (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;

  if (!servers_available (TRUE))
    return;

  transfer = pattern_transfer_new (&h2, TLS_GET_SIZE, 0);
  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, TLS_GET_SIZE);

  g_object_set (fixture->multi, "tls-ca-file", NULL, NULL);
  test_run_transfer (fixture->multi, transfer);
  assert_failed (transfer, G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION);

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, TLS_GET_SIZE);
}

/* Runs a GET of https://@host:port/ over a connection to the TLS server,
 * and asserts that it failed because the certificate is not for @host. */
static void
assert_wrong_host (GCurlMulti *multi,
                   const char *host,
                   CURLoption  route_option,
                   const char *route)
{
  g_autofree char *url = g_strdup_printf ("https://%s:%u/pattern-%d", host, h2.port,
                                          TLS_GET_SIZE);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  CURL *handle = g_curl_transfer_get_handle (transfer);
  struct curl_slist *list = curl_slist_append (NULL, route);
  const GError *error;

  curl_easy_setopt (handle, route_option, list);
  test_run_transfer (multi, transfer);
  curl_easy_setopt (handle, route_option, NULL);
  curl_slist_free_all (list);

  assert_failed (transfer, G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION);
  /* The message is curl's, and it names the host that did not match. */
  error = g_curl_transfer_get_error (transfer);
  g_assert_nonnull (strstr (error->message, host));
}

/* A trusted certificate of another name or address fails PEER_FAILED_VERIFICATION, naming it. */
static void
test_tls_wrong_host (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *resolve = NULL;
  g_autofree char *connect_to = NULL;

  if (!servers_available (TRUE))
    return;

  /* A trusted certificate, for another host: only the host check fails. */
  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);

  /* A name the certificate does not have, resolved to the server. */
  resolve = g_strdup_printf ("%s:%u:127.0.0.1", WRONG_HOST_NAME, h2.port);
  assert_wrong_host (fixture->multi, WRONG_HOST_NAME, CURLOPT_RESOLVE, resolve);

  /* An address the certificate does not have; nghttpd only listens on
   * 127.0.0.1, so the connection goes there. */
  connect_to = g_strdup_printf ("127.0.0.2:%u:127.0.0.1:%u", h2.port, h2.port);
  assert_wrong_host (fixture->multi, "127.0.0.2", CURLOPT_CONNECT_TO, connect_to);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* Before the first test, so that what lives as long as the program is in
   * no test's fd count: the wakeup fds of the default main context and of
   * GLib's worker thread (started with the servers, it reaps them), and a
   * pidfd per server. */
  g_main_context_default ();
  if (!setup_servers (&error))
    setup_error = g_strdup (error->message);

  ADD_TEST ("/http2/multiplex", test_multiplex);
  ADD_TEST ("/http2/tls-multiplex", test_tls_multiplex);
  ADD_TEST ("/http2/stall-not-while-queued", test_stall_not_while_queued);
  ADD_TEST ("/http2/pause-resume-checksum", test_pause_resume_checksum);
  ADD_TEST ("/tls/verified", test_tls_verified);
  ADD_TEST ("/tls/unverified", test_tls_unverified);
  ADD_TEST ("/tls/ca-file-not-kept", test_tls_ca_file_not_kept);
  ADD_TEST ("/tls/wrong-host", test_tls_wrong_host);

  ret = g_test_run ();
  teardown_servers ();

  return ret;
}
