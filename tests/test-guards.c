/* test-guards.c: the libcurl 7.88 behaviours the library guards against
 * that no other test program reaches (see tests/GUARDS.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gcurl-source-private.h"
#include "gcurl-multi-private.h"
#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

/* Remembers the fd of each socket libcurl opens for a connection. */
typedef struct
{
  int   last_fd;
  guint n_opened;
} OpenedSockets;

static curl_socket_t
record_socket_cb (void                 *user_data,
                  curlsocktype          purpose,
                  struct curl_sockaddr *address)
{
  OpenedSockets *opened = user_data;

  opened->last_fd = socket (address->family, address->socktype | SOCK_CLOEXEC,
                            address->protocol);
  opened->n_opened++;

  return opened->last_fd;
}

static CURL *
easy_new (const char    *url,
          GString       *sink,
          OpenedSockets *opened)
{
  CURL *easy = test_raw_easy_new (url, sink);

  /* Every transfer opens and closes a socket of its own. */
  curl_easy_setopt (easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETFUNCTION, record_socket_cb);
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETDATA, opened);

  return easy;
}

static gboolean
noop_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Sockets */

/* With stdin closed, transfers whose socket is fd 0 succeed and leave no watch and no fd 0.
 * fd 0 is a valid socket when stdin is closed (daemons, services): its
 * events must reach libcurl like those of any other fd. */
static void
test_fd_zero (Fixture       *fixture,
              gconstpointer  data)
{
  TestRawMulti raw;
  int saved_stdin;
  guint ticker, i;

  /* The epoll fd exists before fd 0 is free. */
  test_raw_multi_init (&raw);
  /* Wakes the loop, so that a transfer that hangs fails the test. */
  ticker = g_timeout_add (200, noop_cb, NULL);

  saved_stdin = fcntl (0, F_DUPFD_CLOEXEC, 3);
  g_assert_cmpint (saved_stdin, >=, 0);
  g_assert_cmpint (close (0), ==, 0);

  /* Two transfers, one after the other: the second socket reuses fd 0.
   * Bodies that trickle in, so that each needs many events of fd 0. */
  for (i = 0; i < 2; i++)
    {
      g_autofree char *url = test_server_url (server, "/slow/%u?rate=100000", 20000 + i);
      GString *sink = g_string_new (NULL);
      OpenedSockets opened = { -1, 0 };
      CURL *easy = easy_new (url, sink, &opened);

      g_assert_cmpint (curl_multi_add_handle (raw.multi, easy), ==, CURLM_OK);
      test_raw_multi_wait_for (&raw, i + 1);
      g_assert_cmpuint (opened.n_opened, ==, 1);
      g_assert_cmpint (opened.last_fd, ==, 0);
      g_assert_cmpint (g_array_index (raw.results, CURLcode, i), ==, CURLE_OK);
      test_assert_pattern_string (sink, 20000 + i);
      g_assert_cmpuint (g_curl_source_get_n_watches (raw.source), ==, 0);

      curl_easy_cleanup (easy);
      g_string_free (sink, TRUE);
    }

  test_raw_multi_clear (&raw);
  g_source_remove (ticker);

  /* Nothing of libcurl's is left at fd 0. */
  g_assert_cmpint (fcntl (0, F_GETFD), ==, -1);
  g_assert_cmpint (dup2 (saved_stdin, 0), ==, 0);
  close (saved_stdin);
}

/* A name that only the threaded resolver knows (not "localhost", which
 * libcurl resolves itself, nor an address in any of the forms its URL
 * parser normalises): this machine's, when /etc/hosts gives it 127.0.0.1
 * only. The resolver's socketpair reaches the socket callback without the
 * open-socket callback (nor the close-socket one), and is closed once the
 * name is resolved, so its fd number is free again for the connection. */
static char *
resolver_host (void)
{
  const char *name = g_get_host_name ();
  struct addrinfo hints = { 0, };
  struct addrinfo *result = NULL, *ai;
  gboolean loopback_only = TRUE;

  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (g_ascii_strcasecmp (name, "localhost") == 0 ||
      getaddrinfo (name, NULL, &hints, &result) != 0)
    return NULL;

  for (ai = result; ai != NULL; ai = ai->ai_next)
    if (((struct sockaddr_in *) ai->ai_addr)->sin_addr.s_addr != htonl (INADDR_LOOPBACK))
      loopback_only = FALSE;
  freeaddrinfo (result);

  return loopback_only ? g_strdup (name) : NULL;
}

static char *
url_via_resolver (const char *url,
                  const char *host)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GUri) other = NULL;

  g_assert_nonnull (uri);
  g_assert_cmpstr (g_uri_get_host (uri), ==, "127.0.0.1");
  other = g_uri_build (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL, host,
                       g_uri_get_port (uri), g_uri_get_path (uri), NULL, NULL);

  return g_uri_to_string (other);
}

/* 40 transfers to a name only the threaded resolver resolves succeed and leave no watch. */
static void
test_resolver_socketpair (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *host = resolver_host ();
  guint resolver_sockets_seen = 0;
  TestRawMulti raw;
  guint i;

  if (!(curl_version_info (CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
    {
      g_test_skip ("libcurl has no asynchronous resolver");
      return;
    }
  if (host == NULL)
    {
      g_test_skip ("this machine's name is not 127.0.0.1 alone in /etc/hosts");
      return;
    }

  /* With a GCurlSource of the application's. */
  test_raw_multi_init (&raw);
  for (i = 0; i < 20; i++)
    {
      g_autofree char *direct = test_server_raw_url (server, "/bytes/%u", 20000 + i);
      g_autofree char *url = url_via_resolver (direct, host);
      GString *sink = g_string_new (NULL);
      OpenedSockets opened = { -1, 0 };
      CURL *easy = easy_new (url, sink, &opened);

      g_assert_cmpint (curl_multi_add_handle (raw.multi, easy), ==, CURLM_OK);
      while (raw.done->len < i + 1)
        {
          /* A socket libcurl did not open for a connection: the
           * resolver's. */
          if (opened.n_opened == 0 && g_curl_source_get_n_sockets (raw.source) > 0)
            resolver_sockets_seen++;
          g_main_context_iteration (NULL, TRUE);
        }
      g_assert_cmpint (g_array_index (raw.results, CURLcode, i), ==, CURLE_OK);
      test_assert_pattern_string (sink, 20000 + i);
      g_assert_cmpuint (g_curl_source_get_n_watches (raw.source), ==, 0);

      curl_easy_cleanup (easy);
      g_string_free (sink, TRUE);
    }
  test_raw_multi_clear (&raw);
  /* Whether it is still there when the loop looks depends on how fast the
   * name is resolved: a clue that the path was taken, not a condition. */
  g_test_message ("the resolver's socket was seen in %u iterations", resolver_sockets_seen);

  /* With GCurlMulti, whose transfers close their sockets themselves. */
  for (i = 0; i < 20; i++)
    {
      g_autofree char *direct = test_server_url (server, "/bytes/%u", 30000 + i);
      g_autofree char *url = url_via_resolver (direct, host);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_FORBID_REUSE, 1L);
      test_run_transfer (fixture->multi, transfer);
      test_assert_pattern_body (transfer, 30000 + i);
      g_assert_cmpuint (g_curl_source_get_n_watches (g_curl_multi_get_source (fixture->multi)),
                        ==, 0);
    }
}

/* A host with two addresses, the first refused: libcurl closes the first
 * socket (CURL_POLL_REMOVE, then the close), and opens one for the second
 * address, in the same action and usually with the same fd number. The
 * error condition of the refused socket must not be taken for one of the
 * new socket, whose watch would then be dropped: the connection would
 * never be seen to complete. (127.0.0.2 is loopback too, where the server
 * does not listen.) */
static char *
refused_first_resolve (const char *url,
                       char      **resolve)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GUri) other = NULL;

  g_assert_nonnull (uri);
  *resolve = g_strdup_printf ("two-addresses.test:%d:127.0.0.2,127.0.0.1",
                              g_uri_get_port (uri));
  other = g_uri_build (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL, "two-addresses.test",
                       g_uri_get_port (uri), g_uri_get_path (uri), NULL, NULL);

  return g_uri_to_string (other);
}

/* With its first address refused, a transfer connects to the second (2 sockets) and succeeds. */
static void
test_refused_then_next_address (Fixture       *fixture,
                                gconstpointer  data)
{
  TestRawMulti raw;
  guint i;

  /* With a GCurlSource of the application's. */
  test_raw_multi_init (&raw);
  for (i = 0; i < 5; i++)
    {
      g_autofree char *direct = test_server_raw_url (server, "/bytes/%u", 1000 + i);
      g_autofree char *resolve = NULL;
      g_autofree char *url = refused_first_resolve (direct, &resolve);
      struct curl_slist *resolve_list = curl_slist_append (NULL, resolve);
      GString *sink = g_string_new (NULL);
      OpenedSockets opened = { -1, 0 };
      CURL *easy = easy_new (url, sink, &opened);

      curl_easy_setopt (easy, CURLOPT_RESOLVE, resolve_list);
      g_assert_cmpint (curl_multi_add_handle (raw.multi, easy), ==, CURLM_OK);
      test_raw_multi_wait_for (&raw, i + 1);
      g_assert_cmpint (g_array_index (raw.results, CURLcode, i), ==, CURLE_OK);
      g_assert_cmpuint (opened.n_opened, ==, 2);
      test_assert_pattern_string (sink, 1000 + i);

      curl_easy_cleanup (easy);
      curl_slist_free_all (resolve_list);
      g_string_free (sink, TRUE);
    }
  test_raw_multi_clear (&raw);

  /* With GCurlMulti. */
  for (i = 0; i < 5; i++)
    {
      g_autofree char *direct = test_server_url (server, "/bytes/%u", 2000 + i);
      g_autofree char *resolve = NULL;
      g_autofree char *url = refused_first_resolve (direct, &resolve);
      struct curl_slist *resolve_list = curl_slist_append (NULL, resolve);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_RESOLVE, resolve_list);
      test_run_transfer (fixture->multi, transfer);
      test_assert_pattern_body (transfer, 2000 + i);
      curl_slist_free_all (resolve_list);
    }
}

/* Hangs */

/* An unrequested 101 is ended by the 1 s stall watchdog: FAILED, OPERATION_TIMEDOUT.
 * libcurl 7.88 waits for ever after a 101 it did not ask for: only the
 * stall watchdog ends the transfer. */
static void
test_unrequested_101 (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/switching-protocols");
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  test_run_transfer (fixture->multi, transfer);
  g_assert_error ((GError *) g_curl_transfer_get_error (transfer),
                  G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
}

/* Security */

/* An Authorization name with a space or tab is refused with a critical, and never sent.
 * libcurl strips only an exact "Authorization:" on a redirect to another
 * host; "Authorization :" (a name with a space) would go along. Such a name
 * is not an HTTP token: it is refused, and never sent anywhere. */
static void
test_authorization_with_space (Fixture       *fixture,
                               gconstpointer  data)
{
  const char *names[] = { "Authorization ", " Authorization", "Authorization\t" };
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    for (j = 0; j < 2; j++)
      {
        g_autofree char *target = g_strconcat (j == 0 ? test_server_get_uri (server)
                                                      : test_server_get_uri2 (server),
                                               "/echo-headers", NULL);
        g_autofree char *escaped = g_uri_escape_string (target, NULL, FALSE);
        g_autofree char *url = test_server_url (server, "/redirect-to?status=307&url=%s",
                                                escaped);
        g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
        g_autofree char *echo = NULL;

        g_test_expect_message ("GCurl", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
        g_curl_transfer_set_request_header (transfer, names[i], "Bearer secret-token");
        g_test_assert_expected_messages ();

        test_run_transfer (fixture->multi, transfer);
        g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
        echo = test_body_string (transfer);
        g_assert_null (strstr (echo, "secret-token"));
      }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/guards/sockets/fd-zero", test_fd_zero);
  ADD_TEST ("/guards/sockets/resolver-socketpair", test_resolver_socketpair);
  ADD_TEST ("/guards/sockets/refused-then-next-address", test_refused_then_next_address);
  ADD_TEST ("/guards/hang/unrequested-101", test_unrequested_101);
  ADD_TEST ("/guards/headers/authorization-with-space", test_authorization_with_space);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
