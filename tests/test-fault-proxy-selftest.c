/* test-fault-proxy-selftest.c: checks the fault proxy with plain sockets
 *
 * Each test puts a TestFaultProxy in front of the in-process test server
 * and talks HTTP/1.1 through it with blocking GSockets from the test
 * thread (and, once, with a libcurl easy handle), which only works because
 * both the proxy and the server run on threads of their own. Every socket
 * carries a timeout, so that no test can hang.
 *
 * Fault offsets count from the first byte of the response head. The
 * SoupServer's heads are under 300 bytes, so an offset of 1000 or more
 * always falls in the body.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <curl/curl.h>

#include "test-fault-proxy.h"
#include "test-util.h"

/* Upper bound for any single socket operation in these tests. */
#define CLIENT_TIMEOUT_S 10
#define READ_SIZE        (64 * 1024)

typedef struct
{
  TestServer     *server;
  TestFaultProxy *proxy;      /* in front of the SoupServer (origin A) */
  guint           fds_before;
} Fixture;

static guint16
port_of (const char *base_uri)
{
  g_autoptr(GUri) uri = g_uri_parse (base_uri, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);
  return (guint16) g_uri_get_port (uri);
}

static TestFaultProxy *
proxy_new_for (const char *base_uri)
{
  g_autoptr(GError) error = NULL;
  TestFaultProxy *proxy = test_fault_proxy_new ("127.0.0.1", port_of (base_uri), &error);

  g_assert_no_error (error);
  g_assert_nonnull (proxy);
  return proxy;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data G_GNUC_UNUSED)
{
  fixture->server = test_server_new ();
  fixture->fds_before = test_count_open_fds (fixture->server);
  fixture->proxy = proxy_new_for (test_server_get_uri (fixture->server));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data G_GNUC_UNUSED)
{
  g_clear_pointer (&fixture->proxy, test_fault_proxy_free);
  /* Every test closes its own sockets: what is left is the proxy's. */
  test_assert_fds_back_to (fixture->server, fixture->fds_before);
  g_clear_pointer (&fixture->server, test_server_free);
}

static void
set_plan (TestFaultProxy *proxy,
          TestFaultKind   kind,
          guint64         after,
          guint64         rate,
          guint           n_connections)
{
  TestFaultPlan plan = { kind, after, rate, n_connections };

  test_fault_proxy_set_plan (proxy, &plan);
}

/* Client helpers */

static GSocket *
try_connect (guint16   port,
             GError  **error)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  g_assert_nonnull (socket);
  g_socket_set_timeout (socket, CLIENT_TIMEOUT_S);
  if (!g_socket_connect (socket, address, NULL, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static GSocket *
connect_to (TestFaultProxy *proxy)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = try_connect (test_fault_proxy_get_port (proxy), &error);

  g_assert_no_error (error);
  return socket;
}

static gsize
send_get (GSocket    *socket,
          const char *path,
          gboolean    keep_alive)
{
  g_autofree char *request =
    g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
                     path, keep_alive ? "" : "Connection: close\r\n");
  g_autoptr(GError) error = NULL;
  gsize len = strlen (request);
  gsize sent = 0;

  while (sent < len)
    {
      gssize n = g_socket_send (socket, request + sent, len - sent, NULL, &error);

      g_assert_no_error (error);
      sent += n;
    }
  return len;
}

/* Reads until EOF, an error, or @max bytes (0: no limit). *@error is set
 * if reading ended with an error rather than a clean EOF. */
static GByteArray *
read_until_end (GSocket  *socket,
                gsize     max,
                GError  **error)
{
  GByteArray *data = g_byte_array_new ();
  g_autofree guint8 *buffer = g_malloc (READ_SIZE);

  while (max == 0 || data->len < max)
    {
      gsize want = max == 0 ? READ_SIZE : MIN (READ_SIZE, max - data->len);
      gssize n = g_socket_receive (socket, (char *) buffer, want, NULL, error);

      if (n <= 0)
        break;
      g_byte_array_append (data, buffer, n);
    }

  return data;
}

static gsize
head_length (GByteArray *data)
{
  for (gsize i = 3; i < data->len; i++)
    {
      if (memcmp (data->data + i - 3, "\r\n\r\n", 4) == 0)
        return i + 1;
    }
  return 0;
}

/* Asserts @data is a 200 response head followed by the first @body_len
 * pattern bytes. */
static void
assert_pattern_response (GByteArray *data,
                         gsize       body_len)
{
  gsize head = head_length (data);
  g_autofree guint8 *expected = g_malloc (MAX (body_len, 1));

  g_assert_cmpuint (head, >, 0);
  g_assert_true (g_str_has_prefix ((const char *) data->data, "HTTP/1.1 200 "));
  g_assert_cmpuint (data->len - head, ==, body_len);
  test_pattern_fill (0, expected, body_len);
  g_assert_cmpmem (data->data + head, body_len, expected, body_len);
}

/* Reads one response with a Content-Length, on a kept-alive connection. */
static GByteArray *
read_response (GSocket *socket)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *head = NULL;
  const char *length;
  gsize head_len = 0;
  gsize total;

  while (head_len == 0)
    {
      char byte;

      g_assert_cmpint (g_socket_receive (socket, &byte, 1, NULL, &error), ==, 1);
      g_byte_array_append (data, (const guint8 *) &byte, 1);
      head_len = head_length (data);
    }

  head = g_ascii_strdown ((const char *) data->data, head_len);
  length = strstr (head, "\r\ncontent-length:");
  g_assert_nonnull (length);
  total = head_len + g_ascii_strtoull (length + strlen ("\r\ncontent-length:"), NULL, 10);
  while (data->len < total)
    {
      char buffer[4096];
      gssize n = g_socket_receive (socket, buffer, MIN (sizeof buffer, total - data->len), NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (data, (const guint8 *) buffer, n);
    }

  return g_steal_pointer (&data);
}

static GByteArray *
fetch (TestFaultProxy  *proxy,
       const char      *path,
       GError         **error)
{
  g_autoptr(GSocket) socket = connect_to (proxy);

  send_get (socket, path, FALSE);
  return read_until_end (socket, 0, error);
}

static guint64
connection_bytes (TestFaultProxy *proxy,
                  guint           index)
{
  g_autoptr(GArray) bytes = test_fault_proxy_get_connection_bytes (proxy);

  g_assert_cmpuint (index, <, bytes->len);
  return g_array_index (bytes, guint64, index);
}

static void
wait_n_open (TestFaultProxy *proxy,
             guint           n_open)
{
  gint64 deadline = g_get_monotonic_time () + TEST_TIMEOUT_S * G_USEC_PER_SEC;

  while (test_fault_proxy_get_n_open (proxy) != n_open && g_get_monotonic_time () < deadline)
    g_usleep (5 * 1000);
  g_assert_cmpuint (test_fault_proxy_get_n_open (proxy), ==, n_open);
}

static void
assert_reset (GError *error)
{
  /* GIO's name for ECONNRESET. */
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

/* Connects and expects an RST before any byte. The RST can come so soon
 * that the connect itself reports it (GSocket's connect with a timeout
 * polls, then reads SO_ERROR, which the RST has set by then). */
static void
assert_reset_at_once (TestFaultProxy *proxy)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;

  socket = try_connect (test_fault_proxy_get_port (proxy), &error);
  if (socket == NULL)
    {
      assert_reset (error);
      return;
    }

  g_assert_true (g_socket_condition_timed_wait (socket, G_IO_IN, CLIENT_TIMEOUT_S * G_USEC_PER_SEC,
                                                NULL, NULL));
  response = read_until_end (socket, 0, &error);
  assert_reset (error);
  g_assert_cmpuint (response->len, ==, 0);
}

/* Tests */

/* Without a fault 4 MiB pass through exact, and the proxy's byte and connection counts match. */
static void
test_none (Fixture       *fixture,
           gconstpointer  data G_GNUC_UNUSED)
{
  const gsize size = 4 * 1024 * 1024 + 3;
  g_autofree char *path = g_strdup_printf ("/bytes/%zu", size);
  g_autoptr(GSocket) socket = connect_to (fixture->proxy);
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;
  gsize request_len;

  request_len = send_get (socket, path, FALSE);
  response = read_until_end (socket, 0, &error);
  g_assert_no_error (error);
  assert_pattern_response (response, size);
  g_clear_object (&socket);

  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 1);
  g_assert_cmpuint (test_fault_proxy_get_bytes_down (fixture->proxy), ==, response->len);
  g_assert_cmpuint (test_fault_proxy_get_bytes_up (fixture->proxy), ==, request_len);
  g_assert_cmpuint (connection_bytes (fixture->proxy, 0), ==, response->len);
}

/* test_fault_proxy_url() gives the proxy's own port, http or the given scheme, a '/' added. */
static void
test_url (Fixture       *fixture,
          gconstpointer  data G_GNUC_UNUSED)
{
  guint16 port = test_fault_proxy_get_port (fixture->proxy);
  g_autofree char *expected = g_strdup_printf ("http://127.0.0.1:%u/bytes/10", port);
  g_autofree char *expected_tls = g_strdup_printf ("https://127.0.0.1:%u/x", port);
  g_autofree char *url = test_fault_proxy_url (fixture->proxy, NULL, "/bytes/10");
  g_autofree char *url_tls = test_fault_proxy_url (fixture->proxy, "https", "x");

  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpuint (port, !=, port_of (test_server_get_uri (fixture->server)));
  g_assert_cmpstr (url, ==, expected);
  g_assert_cmpstr (url_tls, ==, expected_tls);
}

/* A RESET plan cuts the response after exactly N bytes (the head included) with an RST. */
static void
test_reset (Fixture       *fixture,
            gconstpointer  data G_GNUC_UNUSED)
{
  const guint64 afters[] = { 1000, 300000 };

  for (gsize i = 0; i < G_N_ELEMENTS (afters); i++)
    {
      g_autoptr(GByteArray) response = NULL;
      g_autoptr(GError) error = NULL;

      set_plan (fixture->proxy, TEST_FAULT_RESET, afters[i], 0, 0);
      response = fetch (fixture->proxy, "/bytes/1000000", &error);
      assert_reset (error);
      g_assert_cmpuint (response->len, ==, afters[i]);
      assert_pattern_response (response, afters[i] - head_length (response));
      g_assert_cmpuint (connection_bytes (fixture->proxy, i), ==, afters[i]);
    }

  wait_n_open (fixture->proxy, 0);
}

/* A RESET at a response's exact length passes it whole; at 0 the request still reaches the server.
 * A response of exactly N bytes goes through whole; with N = 0 the request
 * reaches the server, and the answer never comes. */
static void
test_reset_edges (Fixture       *fixture,
                  gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GByteArray) whole = NULL;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GByteArray) nothing = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  guint requests;

  /* The length of a keep-alive response to /bytes/1000. */
  socket = connect_to (fixture->proxy);
  send_get (socket, "/bytes/1000", TRUE);
  whole = read_response (socket);
  assert_pattern_response (whole, 1000);
  g_clear_object (&socket);

  /* Exactly that much: the first response whole, the second one reset. */
  set_plan (fixture->proxy, TEST_FAULT_RESET, whole->len, 0, 0);
  socket = connect_to (fixture->proxy);
  send_get (socket, "/bytes/1000", TRUE);
  response = read_until_end (socket, whole->len, &error);
  g_assert_no_error (error);
  assert_pattern_response (response, 1000);
  send_get (socket, "/bytes/1000", FALSE);
  g_clear_pointer (&response, g_byte_array_unref);
  response = read_until_end (socket, 0, &error);
  assert_reset (error);
  g_assert_cmpuint (response->len, ==, 0);
  g_clear_error (&error);
  g_clear_object (&socket);

  requests = test_server_get_path_count (fixture->server, "/bytes/1000");
  set_plan (fixture->proxy, TEST_FAULT_RESET, 0, 0, 0);
  nothing = fetch (fixture->proxy, "/bytes/1000", &error);
  assert_reset (error);
  g_assert_cmpuint (nothing->len, ==, 0);
  g_assert_cmpuint (test_server_get_path_count (fixture->server, "/bytes/1000"), ==, requests + 1);

  wait_n_open (fixture->proxy, 0);
}

/* A CLOSE plan ends the response after exactly 1000 bytes with a clean EOF. */
static void
test_close (Fixture       *fixture,
            gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;

  set_plan (fixture->proxy, TEST_FAULT_CLOSE, 1000, 0, 0);
  response = fetch (fixture->proxy, "/bytes/1000000", &error);
  /* A clean EOF, no error. */
  g_assert_no_error (error);
  g_assert_cmpuint (response->len, ==, 1000);
  assert_pattern_response (response, 1000 - head_length (response));

  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_bytes_down (fixture->proxy), ==, 1000);
}

/* A STALL plan sends 1000 bytes then nothing, keeps the connection and still forwards requests. */
static void
test_stall (Fixture       *fixture,
            gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GSocket) socket = connect_to (fixture->proxy);
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;
  guint64 up_before;
  gint64 start;

  set_plan (fixture->proxy, TEST_FAULT_STALL, 1000, 0, 0);
  g_clear_object (&socket);
  socket = connect_to (fixture->proxy);
  send_get (socket, "/bytes/1000000", TRUE);
  response = read_until_end (socket, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->len, ==, 1000);
  assert_pattern_response (response, 1000 - head_length (response));

  /* Then silence, on an open connection. */
  start = g_get_monotonic_time ();
  g_assert_false (g_socket_condition_timed_wait (socket, G_IO_IN, 300 * G_TIME_SPAN_MILLISECOND,
                                                 NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * G_TIME_SPAN_MILLISECOND);
  /* The first connection, closed at once, and this one. */
  wait_n_open (fixture->proxy, 1);
  g_assert_cmpuint (connection_bytes (fixture->proxy, 1), ==, 1000);

  /* What the client sends still reaches the server. */
  up_before = test_fault_proxy_get_bytes_up (fixture->proxy);
  send_get (socket, "/status/200", TRUE);
  for (gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       test_fault_proxy_get_bytes_up (fixture->proxy) == up_before && g_get_monotonic_time () < deadline;)
    g_usleep (5 * 1000);
  g_assert_cmpuint (test_fault_proxy_get_bytes_up (fixture->proxy), >, up_before);
  g_assert_false (g_socket_condition_timed_wait (socket, G_IO_IN, 100 * G_TIME_SPAN_MILLISECOND,
                                                 NULL, NULL));

  g_clear_object (&socket);
  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (connection_bytes (fixture->proxy, 1), ==, 1000);
}

/* A TRICKLE of 50 KiB/s takes at least 1.8 s for 100 KiB, and the body arrives exact. */
static void
test_trickle (Fixture       *fixture,
              gconstpointer  data G_GNUC_UNUSED)
{
  const guint64 rate = 50 * 1024;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start, elapsed;

  set_plan (fixture->proxy, TEST_FAULT_TRICKLE, 0, rate, 0);
  start = g_get_monotonic_time ();
  response = fetch (fixture->proxy, "/bytes/102400", &error);
  elapsed = g_get_monotonic_time () - start;
  g_assert_no_error (error);
  assert_pattern_response (response, 102400);

  /* About 2 s; never much less: the rate is a ceiling. */
  g_test_message ("100 KiB at 50 KiB/s took %" G_GINT64_FORMAT " ms", elapsed / 1000);
  g_assert_cmpint (elapsed, >=, 1800 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (elapsed, <, 30 * G_USEC_PER_SEC);
}

/* The first N bytes at full speed, then the rate. */
static void
test_trickle_after (Fixture       *fixture,
                    gconstpointer  data G_GNUC_UNUSED)
{
  const guint64 after = 200000;
  const guint64 rate = 1000;
  g_autoptr(GSocket) socket = connect_to (fixture->proxy);
  g_autoptr(GByteArray) first = NULL;
  g_autoptr(GByteArray) more = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  gint64 start, elapsed;

  set_plan (fixture->proxy, TEST_FAULT_TRICKLE, after, rate, 0);
  g_clear_object (&socket);
  socket = connect_to (fixture->proxy);
  start = g_get_monotonic_time ();
  send_get (socket, "/bytes/1000000", FALSE);
  first = read_until_end (socket, after, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->len, ==, after);

  /* Read what trickles in for 500 ms. */
  while (g_get_monotonic_time () - start < 500 * G_TIME_SPAN_MILLISECOND)
    {
      char buffer[4096];
      gssize n;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, 50 * G_TIME_SPAN_MILLISECOND, NULL, NULL))
        continue;
      n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (more, (const guint8 *) buffer, n);
    }
  elapsed = g_get_monotonic_time () - start;

  /* At most rate * elapsed, and two writes of slack. */
  g_test_message ("%u bytes trickled in %" G_GINT64_FORMAT " ms", more->len, elapsed / 1000);
  g_assert_cmpuint (more->len, <=, rate * elapsed / G_USEC_PER_SEC + 2 * (rate / 100 + 1));
  g_assert_cmpuint (more->len, >, 0);
}

/* A CORRUPT plan inverts exactly the byte at the offset (head or body), all else intact. */
static void
test_corrupt (Fixture       *fixture,
              gconstpointer  data G_GNUC_UNUSED)
{
  const gsize size = 100000;
  const guint64 offsets[] = { 0, 5000, 99999 };
  g_autofree guint8 *expected = g_malloc (size);

  test_pattern_fill (0, expected, size);

  for (gsize i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      g_autoptr(GByteArray) response = NULL;
      g_autoptr(GError) error = NULL;
      gsize head;

      set_plan (fixture->proxy, TEST_FAULT_CORRUPT, offsets[i], 0, 0);
      response = fetch (fixture->proxy, "/bytes/100000", &error);
      g_assert_no_error (error);

      if (offsets[i] == 0)
        {
          /* 'H' of "HTTP/1.1", inverted. */
          g_assert_cmpuint (response->data[0], ==, (guint8) ~'H');
          g_assert_true (g_str_has_prefix ((const char *) response->data + 1, "TTP/1.1 200 "));
          response->data[0] = 'H';
          assert_pattern_response (response, size);
          continue;
        }

      head = head_length (response);
      g_assert_cmpuint (head, >, 0);
      g_assert_cmpuint (head, <, offsets[i]);
      g_assert_cmpuint (response->len, ==, head + size);
      for (gsize j = 0; j < size; j++)
        {
          if (head + j == offsets[i])
            g_assert_cmpuint (response->data[head + j], ==, expected[j] ^ 0xff);
          else if (response->data[head + j] != expected[j])
            g_error ("byte %zu differs", head + j);
        }
    }

  wait_n_open (fixture->proxy, 0);
}

/* A REFUSE plan resets the connection before any byte, and nothing reaches the server. */
static void
test_refuse (Fixture       *fixture,
             gconstpointer  data G_GNUC_UNUSED)
{
  guint requests = test_server_get_request_count (fixture->server);

  set_plan (fixture->proxy, TEST_FAULT_REFUSE, 0, 0, 0);
  assert_reset_at_once (fixture->proxy);

  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 1);
  g_assert_cmpuint (connection_bytes (fixture->proxy, 0), ==, 0);
  g_assert_cmpuint (test_fault_proxy_get_bytes_up (fixture->proxy), ==, 0);
  g_assert_cmpuint (test_server_get_request_count (fixture->server), ==, requests);
}

/* Paused, new connects are refused, open ones work; resumed on the same port, and again later. */
static void
test_pause_listening (Fixture       *fixture,
                      gconstpointer  data G_GNUC_UNUSED)
{
  guint16 port = test_fault_proxy_get_port (fixture->proxy);
  g_autoptr(GSocket) open_before = NULL;
  g_autoptr(GSocket) refused = NULL;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;

  /* A connection made before the pause goes on through it. */
  open_before = connect_to (fixture->proxy);

  test_fault_proxy_pause_listening (fixture->proxy);
  test_fault_proxy_pause_listening (fixture->proxy);
  refused = try_connect (port, &error);
  g_assert_null (refused);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_clear_error (&error);
  refused = try_connect (port, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_clear_error (&error);

  send_get (open_before, "/bytes/1000", FALSE);
  response = read_until_end (open_before, 0, &error);
  g_assert_no_error (error);
  assert_pattern_response (response, 1000);
  g_clear_pointer (&response, g_byte_array_unref);

  /* Again on the same port, with the first connection still open. */
  g_assert_true (test_fault_proxy_resume_listening (fixture->proxy, &error));
  g_assert_no_error (error);
  g_assert_true (test_fault_proxy_resume_listening (fixture->proxy, &error));
  g_assert_cmpuint (test_fault_proxy_get_port (fixture->proxy), ==, port);
  response = fetch (fixture->proxy, "/bytes/1000", &error);
  g_assert_no_error (error);
  assert_pattern_response (response, 1000);
  g_clear_object (&open_before);

  /* And once more, after connections on that port went to TIME-WAIT. */
  test_fault_proxy_pause_listening (fixture->proxy);
  g_assert_true (test_fault_proxy_resume_listening (fixture->proxy, &error));
  g_assert_no_error (error);
  g_clear_pointer (&response, g_byte_array_unref);
  response = fetch (fixture->proxy, "/bytes/10", &error);
  g_assert_no_error (error);
  assert_pattern_response (response, 10);

  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 3);
}

/* A plan for the first 2 connections faults those two only; set_plan() restarts the count. */
static void
test_first_connections (Fixture       *fixture,
                        gconstpointer  data G_GNUC_UNUSED)
{
  for (guint round = 0; round < 2; round++)
    {
      /* set_plan() restarts the count. */
      set_plan (fixture->proxy, TEST_FAULT_RESET, 500, 0, 2);

      for (guint i = 0; i < 4; i++)
        {
          g_autoptr(GByteArray) response = NULL;
          g_autoptr(GError) error = NULL;

          response = fetch (fixture->proxy, "/bytes/10000", &error);
          if (i < 2)
            {
              assert_reset (error);
              g_assert_cmpuint (response->len, ==, 500);
            }
          else
            {
              g_assert_no_error (error);
              assert_pattern_response (response, 10000);
            }
        }
    }

  wait_n_open (fixture->proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 8);
}

/* The per-connection, up and down byte counts and the accepted count match what the clients saw. */
static void
test_counters (Fixture       *fixture,
               gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GSocket) first = connect_to (fixture->proxy);
  g_autoptr(GSocket) second = NULL;
  g_autoptr(GByteArray) a = NULL;
  g_autoptr(GByteArray) b = NULL;
  g_autoptr(GByteArray) c = NULL;
  g_autoptr(GArray) bytes = NULL;
  gsize up = 0;

  /* Two requests on the first connection (keep-alive), one on the second. */
  up += send_get (first, "/bytes/1000", TRUE);
  a = read_response (first);
  g_assert_cmpuint (a->len, >, 1000);
  wait_n_open (fixture->proxy, 1);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 1);

  second = connect_to (fixture->proxy);
  up += send_get (second, "/bytes/5000", FALSE);
  b = read_until_end (second, 0, NULL);
  assert_pattern_response (b, 5000);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 2);

  up += send_get (first, "/bytes/2000", FALSE);
  g_clear_pointer (&a, g_byte_array_unref);
  a = read_until_end (first, 0, NULL);
  g_clear_object (&first);
  g_clear_object (&second);
  wait_n_open (fixture->proxy, 0);

  bytes = test_fault_proxy_get_connection_bytes (fixture->proxy);
  g_assert_cmpuint (bytes->len, ==, 2);
  g_assert_cmpuint (g_array_index (bytes, guint64, 1), ==, b->len);
  c = fetch (fixture->proxy, "/bytes/1", NULL);
  g_assert_cmpuint (g_array_index (bytes, guint64, 0) + b->len + c->len, ==,
                    test_fault_proxy_get_bytes_down (fixture->proxy));
  g_assert_cmpuint (g_array_index (bytes, guint64, 0), >, 3000);
  g_assert_cmpuint (test_fault_proxy_get_bytes_up (fixture->proxy), ==,
                    up + strlen ("GET /bytes/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->proxy), ==, 3);
}

/* Without a fault the server's FIN and RST reach the client as such, after the same bytes.
 * Without a fault, a FIN and an RST from the server reach the client as
 * such, after the bytes before them. */
static void
test_passthrough_end (Fixture       *fixture,
                      gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(TestFaultProxy) raw = proxy_new_for (test_server_get_raw_uri (fixture->server));
  g_autoptr(GByteArray) closed = NULL;
  g_autoptr(GByteArray) reset = NULL;
  g_autoptr(GError) error = NULL;

  closed = fetch (raw, "/close-mid-body/10000/5000", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (closed->len - head_length (closed), ==, 5000);

  reset = fetch (raw, "/reset/5000", &error);
  assert_reset (error);
  g_assert_cmpuint (reset->len - head_length (reset), ==, 5000);

  wait_n_open (raw, 0);
}

/* An upstream named "localhost" works though only 127.0.0.1 listens: its addresses are tried.
 * A host name: its addresses are tried in turn (the server listens on
 * 127.0.0.1 only, "localhost" may give ::1 first). */
static void
test_upstream_by_name (Fixture       *fixture,
                       gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TestFaultProxy) proxy =
    test_fault_proxy_new ("localhost", port_of (test_server_get_uri (fixture->server)), &error);
  g_autoptr(GByteArray) response = NULL;

  g_assert_no_error (error);
  response = fetch (proxy, "/bytes/1000", &error);
  g_assert_no_error (error);
  assert_pattern_response (response, 1000);
  wait_n_open (proxy, 0);
}

/* A server that cannot be connected to: the client gets an RST. */
static void
test_upstream_refused (Fixture       *fixture,
                       gconstpointer  data G_GNUC_UNUSED)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TestFaultProxy) proxy = test_fault_proxy_new ("127.0.0.1", test_server_get_refused_port (),
                                                          &error);

  g_assert_no_error (error);
  assert_reset_at_once (proxy);
  wait_n_open (proxy, 0);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (proxy), ==, 1);

  /* And a host that does not resolve fails at once. */
  g_assert_null (test_fault_proxy_new ("no-such-host.invalid", 80, &error));
  g_assert_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
}

/* Freeing the proxy closes idle, stalled, trickling and lingering connections; no fd is left.
 * Freeing the proxy with connections open in every state closes them all:
 * the fd count goes back to what it was before the proxy. */
static void
test_free_with_open_connections (Fixture       *fixture,
                                 gconstpointer  data G_GNUC_UNUSED)
{
  GSocket *idle, *stalled, *trickling, *lingering;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GError) error = NULL;

  idle = connect_to (fixture->proxy);

  set_plan (fixture->proxy, TEST_FAULT_STALL, 1000, 0, 0);
  stalled = connect_to (fixture->proxy);
  send_get (stalled, "/bytes/1000000", TRUE);
  response = read_until_end (stalled, 1000, &error);
  g_assert_no_error (error);
  g_clear_pointer (&response, g_byte_array_unref);

  set_plan (fixture->proxy, TEST_FAULT_TRICKLE, 100, 10, 0);
  trickling = connect_to (fixture->proxy);
  send_get (trickling, "/bytes/1000000", TRUE);
  response = read_until_end (trickling, 101, &error);
  g_assert_no_error (error);
  g_clear_pointer (&response, g_byte_array_unref);

  /* CLOSE, and the client does not close its end: the proxy lingers. */
  set_plan (fixture->proxy, TEST_FAULT_CLOSE, 100, 0, 0);
  lingering = connect_to (fixture->proxy);
  send_get (lingering, "/bytes/1000000", TRUE);
  response = read_until_end (lingering, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->len, ==, 100);

  wait_n_open (fixture->proxy, 4);
  g_assert_cmpuint (test_count_open_fds (fixture->server), >, fixture->fds_before + 4);

  g_clear_pointer (&fixture->proxy, test_fault_proxy_free);

  /* The clients see their connections end. */
  g_assert_true (g_socket_condition_timed_wait (idle, G_IO_IN, CLIENT_TIMEOUT_S * G_USEC_PER_SEC,
                                                NULL, NULL));
  g_assert_true (g_socket_condition_timed_wait (stalled, G_IO_IN, CLIENT_TIMEOUT_S * G_USEC_PER_SEC,
                                                NULL, NULL));

  g_object_unref (idle);
  g_object_unref (stalled);
  g_object_unref (trickling);
  g_object_unref (lingering);
  test_assert_fds_back_to (fixture->server, fixture->fds_before);
}

/* libcurl sees RESET as RECV_ERROR, CLOSE as PARTIAL_FILE, CORRUPT as OK; a retry succeeds.
 * How libcurl sees the faults, and a retry that gets through. */
static void
test_curl (Fixture       *fixture,
           gconstpointer  data G_GNUC_UNUSED)
{
  g_autofree char *url = test_fault_proxy_url (fixture->proxy, "http", "/bytes/100000");
  struct { TestFaultKind kind; CURLcode expected; } cases[] = {
    { TEST_FAULT_RESET, CURLE_RECV_ERROR },
    { TEST_FAULT_CLOSE, CURLE_PARTIAL_FILE },
    { TEST_FAULT_CORRUPT, CURLE_OK },
    { TEST_FAULT_NONE, CURLE_OK },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) sink = g_string_new (NULL);
      CURL *easy = test_raw_easy_new (url, sink);
      CURLcode code;

      curl_easy_setopt (easy, CURLOPT_TIMEOUT, (long) TEST_TIMEOUT_S);

      set_plan (fixture->proxy, cases[i].kind, 5000, 0, 1);
      code = curl_easy_perform (easy);
      g_assert_cmpint (code, ==, cases[i].expected);
      if (cases[i].kind == TEST_FAULT_NONE)
        test_assert_pattern_string (sink, 100000);
      else if (cases[i].kind == TEST_FAULT_CORRUPT)
        g_assert_cmpuint (sink->len, ==, 100000);

      /* The second connection is not faulted: the retry succeeds. */
      g_string_truncate (sink, 0);
      code = curl_easy_perform (easy);
      g_assert_cmpint (code, ==, CURLE_OK);
      test_assert_pattern_string (sink, 100000);
      curl_easy_cleanup (easy);
    }

  wait_n_open (fixture->proxy, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  curl_global_init (CURL_GLOBAL_DEFAULT);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/fault-proxy/none", test_none);
  ADD ("/fault-proxy/url", test_url);
  ADD ("/fault-proxy/reset", test_reset);
  ADD ("/fault-proxy/reset-edges", test_reset_edges);
  ADD ("/fault-proxy/close", test_close);
  ADD ("/fault-proxy/stall", test_stall);
  ADD ("/fault-proxy/trickle", test_trickle);
  ADD ("/fault-proxy/trickle-after", test_trickle_after);
  ADD ("/fault-proxy/corrupt", test_corrupt);
  ADD ("/fault-proxy/refuse", test_refuse);
  ADD ("/fault-proxy/pause-listening", test_pause_listening);
  ADD ("/fault-proxy/first-connections", test_first_connections);
  ADD ("/fault-proxy/counters", test_counters);
  ADD ("/fault-proxy/passthrough-end", test_passthrough_end);
  ADD ("/fault-proxy/upstream-by-name", test_upstream_by_name);
  ADD ("/fault-proxy/upstream-refused", test_upstream_refused);
  ADD ("/fault-proxy/free-with-open-connections", test_free_with_open_connections);
  ADD ("/fault-proxy/curl", test_curl);
#undef ADD

  return g_test_run ();
}
