/* test-server-selftest.c: checks the test server with plain GIO sockets
 *
 * Every request here is synchronous on the test thread, which only works
 * because the server runs on its own thread: that is part of what is being
 * tested. Sockets carry a timeout so that no test can hang.
 */

#include "test-server.h"

#include <string.h>

/* Upper bound for any single socket operation in these tests. */
#define CLIENT_TIMEOUT_S 10
#define READ_SIZE        (64 * 1024)
#define LARGE_BODY_SIZE  (G_GUINT64_CONSTANT (512) * 1024 * 1024)

typedef struct
{
  TestServer *server;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data G_GNUC_UNUSED)
{
  fixture->server = test_server_new ();
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data G_GNUC_UNUSED)
{
  g_clear_pointer (&fixture->server, test_server_free);
}

/* HTTP client helpers */

typedef struct
{
  GByteArray *raw;     /* everything received */
  char       *head;    /* status line and headers, without the blank line; NULL if none */
  guint       status;  /* 0 if there is no status line */
  GBytes     *body;    /* what followed the head, as received (not de-chunked) */
  GError     *error;   /* how reading ended, if not with a clean EOF */
} Response;

static void
response_free (Response *response)
{
  g_byte_array_unref (response->raw);
  g_free (response->head);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_clear_error (&response->error);
  g_free (response);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

static guint16
port_of (const char *base_uri)
{
  g_autoptr(GUri) uri = g_uri_parse (base_uri, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);
  g_assert_cmpstr (g_uri_get_host (uri), ==, "127.0.0.1");
  return (guint16) g_uri_get_port (uri);
}

static GSocketConnection *
connect_to (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  /* Only ever talk to 127.0.0.1 directly, whatever the environment says. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, CLIENT_TIMEOUT_S);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static void
send_request (GSocketConnection *connection,
              const char        *method,
              const char        *path,
              const char        *extra_headers,
              const guint8      *body,
              gsize              body_len)
{
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_string_append_printf (request, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s",
                          method, path, extra_headers ? extra_headers : "");
  if (body != NULL)
    g_string_append_printf (request, "Content-Length: %zu\r\n", body_len);
  g_string_append (request, "\r\n");

  g_output_stream_write_all (output, request->str, request->len, NULL, NULL, &error);
  g_assert_no_error (error);
  if (body != NULL)
    {
      g_output_stream_write_all (output, body, body_len, NULL, NULL, &error);
      g_assert_no_error (error);
    }
}

static gsize
find_head_end (const guint8 *data,
               gsize         len)
{
  for (gsize i = 3; i < len; i++)
    {
      if (memcmp (data + i - 3, "\r\n\r\n", 4) == 0)
        return i + 1;
    }
  return 0;
}

static void
response_parse (Response *response)
{
  gsize head_len = find_head_end (response->raw->data, response->raw->len);

  if (head_len == 0)
    return;

  response->head = g_strndup ((const char *) response->raw->data, head_len - 4);
  response->body = g_bytes_new (response->raw->data + head_len, response->raw->len - head_len);
  if (g_str_has_prefix (response->head, "HTTP/1.1 ") && strlen (response->head) >= 12)
    response->status = (guint) g_ascii_strtoull (response->head + 9, NULL, 10);
}

/* Sends one request with "Connection: close" and reads until the server
 * closes, so that the whole exchange is in the Response. */
static Response *
http_request (const char   *base_uri,
              const char   *method,
              const char   *path,
              const char   *extra_headers,
              const guint8 *body,
              gsize         body_len)
{
  g_autoptr(GSocketConnection) connection = connect_to (port_of (base_uri));
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  Response *response = g_new0 (Response, 1);
  g_autofree guint8 *buffer = g_malloc (READ_SIZE);

  send_request (connection, method, path, extra_headers, body, body_len);

  response->raw = g_byte_array_new ();
  for (;;)
    {
      gssize n = g_input_stream_read (input, buffer, READ_SIZE, NULL, &response->error);

      if (n <= 0)
        break;
      g_byte_array_append (response->raw, buffer, n);
    }

  response_parse (response);
  return response;
}

static Response *
http_get (const char *base_uri,
          const char *path)
{
  return http_request (base_uri, "GET", path, NULL, NULL, 0);
}

/* Returns every value of header @name, in order. */
static GStrv
response_get_headers (Response   *response,
                      const char *name)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = NULL;
  gsize name_len = strlen (name);

  g_assert_nonnull (response->head);
  lines = g_strsplit (response->head, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      if (g_ascii_strncasecmp (lines[i], name, name_len) == 0 && lines[i][name_len] == ':')
        g_strv_builder_add (builder, g_strstrip (lines[i] + name_len + 1));
    }

  return g_strv_builder_end (builder);
}

static char *
response_get_header (Response   *response,
                     const char *name)
{
  g_auto(GStrv) values = response_get_headers (response, name);

  return g_strdup (values[0]);
}

static void
assert_header (Response   *response,
               const char *name,
               const char *expected)
{
  g_autofree char *value = response_get_header (response, name);

  g_assert_cmpstr (value, ==, expected);
}

static char *
sha256_of_bytes (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static void
assert_body_is_pattern (GBytes  *body,
                        guint64  offset,
                        guint64  len)
{
  g_autofree char *expected = test_pattern_sha256 (offset, len);
  g_autofree char *actual = sha256_of_bytes (body);

  g_assert_cmpuint (g_bytes_get_size (body), ==, len);
  g_assert_cmpstr (actual, ==, expected);
}

static void
assert_body_is_text (Response   *response,
                     const char *expected)
{
  gsize len;
  const char *data = g_bytes_get_data (response->body, &len);

  g_assert_cmpmem (data, len, expected, strlen (expected));
}

/* Decodes a complete chunked body; fails the test on malformed framing. */
static GBytes *
dechunk (GBytes *body)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize pos = 0;

  for (;;)
    {
      char *end;
      guint64 size = g_ascii_strtoull (data + pos, &end, 16);

      g_assert_true (end > data + pos);
      g_assert_true ((gsize) (end - data) + 2 <= len);
      g_assert_cmpmem (end, 2, "\r\n", 2);
      pos = (end - data) + 2;
      if (size == 0)
        break;
      g_assert_cmpuint (pos + size + 2, <=, len);
      g_byte_array_append (out, (const guint8 *) data + pos, size);
      g_assert_cmpmem (data + pos + size, 2, "\r\n", 2);
      pos += size + 2;
    }

  g_assert_cmpmem (data + pos, len - pos, "\r\n", 2);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Pattern */

/* test_pattern_fill() at an offset matches the whole there, varies, and hashes as expected. */
static void
test_pattern (void)
{
  guint8 whole[1000];
  guint8 part[500];
  g_autofree char *expected = NULL;
  g_autofree char *sha = NULL;
  gboolean all_same = TRUE;

  test_pattern_fill (0, whole, sizeof whole);
  test_pattern_fill (37, part, sizeof part);
  g_assert_cmpmem (part, sizeof part, whole + 37, sizeof part);

  for (gsize i = 1; i < sizeof whole; i++)
    all_same = all_same && whole[i] == whole[0];
  g_assert_false (all_same);

  expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, whole + 37, sizeof part);
  sha = test_pattern_sha256 (37, sizeof part);
  g_assert_cmpstr (sha, ==, expected);
}

/* SoupServer routes */

/* /bytes/1000 on both SoupServer origins: 200, the pattern, its length, type and ETag. */
static void
test_soup_bytes (Fixture       *fixture,
                 gconstpointer  data G_GNUC_UNUSED)
{
  const char *origins[] = {
    test_server_get_uri (fixture->server),
    test_server_get_uri2 (fixture->server),
  };

  g_assert_cmpstr (origins[0], !=, origins[1]);

  for (gsize i = 0; i < G_N_ELEMENTS (origins); i++)
    {
      g_autoptr(Response) response = http_get (origins[i], "/bytes/1000");

      g_assert_no_error (response->error);
      g_assert_cmpuint (response->status, ==, 200);
      assert_header (response, "Content-Length", "1000");
      assert_header (response, "Content-Type", "application/octet-stream");
      assert_header (response, "ETag", "\"pattern-1000\"");
      assert_body_is_pattern (response->body, 0, 1000);
    }
}

/* /bytes/N?chunked=1 is sent chunked and de-chunks to the N-byte pattern. */
static void
test_soup_bytes_chunked (Fixture       *fixture,
                         gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  g_autoptr(Response) response = http_get (uri, "/bytes/200000?chunked=1");
  g_autoptr(GBytes) body = NULL;

  g_assert_cmpuint (response->status, ==, 200);
  assert_header (response, "Transfer-Encoding", "chunked");
  body = dechunk (response->body);
  assert_body_is_pattern (body, 0, 200000);
}

/* Ranges A-B and A- give 206, the pattern's slice and Content-Range; A >= N gives 416. */
static void
test_soup_range (Fixture       *fixture,
                 gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  g_autoptr(Response) middle = NULL;
  g_autoptr(Response) tail = NULL;
  g_autoptr(Response) beyond = NULL;

  middle = http_request (uri, "GET", "/bytes/1000", "Range: bytes=100-199\r\n", NULL, 0);
  g_assert_cmpuint (middle->status, ==, 206);
  assert_header (middle, "Content-Range", "bytes 100-199/1000");
  assert_header (middle, "Content-Length", "100");
  assert_body_is_pattern (middle->body, 100, 100);

  tail = http_request (uri, "GET", "/bytes/1000", "Range: bytes=900-\r\n", NULL, 0);
  g_assert_cmpuint (tail->status, ==, 206);
  assert_header (tail, "Content-Range", "bytes 900-999/1000");
  assert_body_is_pattern (tail->body, 900, 100);

  beyond = http_request (uri, "GET", "/bytes/1000", "Range: bytes=1000-\r\n", NULL, 0);
  g_assert_cmpuint (beyond->status, ==, 416);
  assert_header (beyond, "Content-Range", "bytes */1000");
}

/* /echo answers "POST LENGTH SHA256" of the request body, and echoes its Content-Type. */
static void
test_soup_echo (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  guint8 body[5000];
  g_autofree char *sha = test_pattern_sha256 (0, sizeof body);
  g_autofree char *expected = g_strdup_printf ("POST 5000 %s", sha);
  g_autoptr(Response) response = NULL;

  test_pattern_fill (0, body, sizeof body);
  response = http_request (uri, "POST", "/echo", "Content-Type: application/x-test\r\n",
                           body, sizeof body);

  g_assert_cmpuint (response->status, ==, 200);
  assert_header (response, "X-Request-Content-Type", "application/x-test");
  assert_body_is_text (response, expected);
}

/* /status, /redirect, /redirect-to, /loop, /headers, /echo-headers and 404 answer as documented. */
static void
test_soup_misc (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  g_autoptr(Response) teapot = http_get (uri, "/status/418");
  g_autoptr(Response) no_content = http_get (uri, "/status/204");
  g_autoptr(Response) redirect = http_get (uri, "/redirect/2");
  g_autoptr(Response) redirected = http_get (uri, "/redirect/0");
  g_autoptr(Response) redirect_to =
    http_get (uri, "/redirect-to?status=307&url=http%3A%2F%2Fexample.invalid%2Fx%3Fy%3D1");
  g_autoptr(Response) loop = http_get (uri, "/loop");
  g_autoptr(Response) headers = http_get (uri, "/headers");
  g_autoptr(Response) echo_headers =
    http_request (uri, "GET", "/echo-headers", "X-Test: yes\r\n", NULL, 0);
  g_autoptr(Response) missing = http_get (uri, "/no/such/route");
  g_auto(GStrv) multi = NULL;
  const char *echoed;

  g_assert_cmpuint (teapot->status, ==, 418);
  assert_body_is_text (teapot, "status 418");

  g_assert_cmpuint (no_content->status, ==, 204);
  g_assert_cmpuint (g_bytes_get_size (no_content->body), ==, 0);

  g_assert_cmpuint (redirect->status, ==, 302);
  assert_header (redirect, "Location", "/redirect/1");
  g_assert_cmpuint (redirected->status, ==, 200);
  assert_body_is_text (redirected, "done");

  g_assert_cmpuint (redirect_to->status, ==, 307);
  assert_header (redirect_to, "Location", "http://example.invalid/x?y=1");

  g_assert_cmpuint (loop->status, ==, 302);
  assert_header (loop, "Location", "/loop");

  g_assert_cmpuint (headers->status, ==, 200);
  multi = response_get_headers (headers, "X-Multi");
  g_assert_cmpuint (g_strv_length (multi), ==, 2);
  g_assert_cmpstr (multi[0], ==, "a");
  g_assert_cmpstr (multi[1], ==, "b");
  assert_header (headers, "X-Mixed-Case", "Value");
  assert_body_is_text (headers, "ok");

  g_assert_cmpuint (echo_headers->status, ==, 200);
  echoed = g_bytes_get_data (echo_headers->body, NULL);
  g_assert_true (g_str_has_prefix (echoed, "method: GET\n"));
  g_assert_nonnull (g_strstr_len (echoed, g_bytes_get_size (echo_headers->body), "\nX-Test: yes\n"));

  g_assert_cmpuint (missing->status, ==, 404);
}

/* /delay/300 answers "delayed", not before 300 ms. */
static void
test_soup_delay (Fixture       *fixture,
                 gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(Response) response = http_get (uri, "/delay/300");

  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (response->status, ==, 200);
  assert_body_is_text (response, "delayed");
}

/* /slow/2000?rate=5000 sends the whole pattern, paced: in 300 ms to 5 s. */
static void
test_soup_slow (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  const char *uri = test_server_get_uri (fixture->server);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(Response) response = http_get (uri, "/slow/2000?rate=5000");
  gint64 elapsed = g_get_monotonic_time () - start;

  /* 2000 bytes at 5000 bytes/s: 8 chunks 50 ms apart. */
  g_assert_cmpint (elapsed, >=, 300 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (elapsed, <, 5 * G_TIME_SPAN_SECOND);
  g_assert_cmpuint (response->status, ==, 200);
  assert_body_is_pattern (response->body, 0, 2000);
}

/* The SoupServer answers a second request on the connection of the first.
 * Two requests on one connection: the library's connection reuse tests
 * rely on the SoupServer keeping connections alive. */
static void
test_soup_keep_alive (Fixture       *fixture,
                      gconstpointer  data G_GNUC_UNUSED)
{
  const char *request = "GET /bytes/10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  g_autoptr(GSocketConnection) connection =
    connect_to (port_of (test_server_get_uri (fixture->server)));
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GByteArray) first = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint8 buffer[4096];
  gsize head_len = 0;

  g_output_stream_write_all (output, request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  /* The server sends nothing more until the next request, so reading up
   * to the head and its 10 body bytes cannot swallow anything else. */
  while (head_len == 0 || first->len < head_len + 10)
    {
      gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (first, buffer, n);
      head_len = find_head_end (first->data, first->len);
    }
  g_assert_true (g_str_has_prefix ((const char *) first->data, "HTTP/1.1 200 "));
  g_assert_cmpuint (first->len, ==, head_len + 10);

  send_request (connection, "GET", "/bytes/10", NULL, NULL, 0);
  g_assert_cmpint (g_input_stream_read (input, buffer, sizeof buffer, NULL, &error), >, 0);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix ((const char *) buffer, "HTTP/1.1 200 "));
  g_assert_cmpuint (test_server_get_path_count (fixture->server, "/bytes/10"), ==, 2);
}

/* Clients hanging up mid /slow and mid /delay make the server log no warning (fatal).
 * Disconnecting in the middle of paced or delayed responses must neither
 * warn nor leak; the server notices on its next write. */
static void
test_soup_client_gives_up (Fixture       *fixture,
                           gconstpointer  data G_GNUC_UNUSED)
{
  guint16 port = port_of (test_server_get_uri (fixture->server));
  g_autoptr(GSocketConnection) slow = connect_to (port);
  g_autoptr(GSocketConnection) delay = connect_to (port);

  send_request (slow, "GET", "/slow/100000?rate=1000", NULL, NULL, 0);
  send_request (delay, "GET", "/delay/200", NULL, NULL, 0);
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  g_io_stream_close (G_IO_STREAM (slow), NULL, NULL);
  g_io_stream_close (G_IO_STREAM (delay), NULL, NULL);
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
}

/* Raw fault server */

/* The raw server's /bytes gives the pattern, its length and ETag, honours Range, and can chunk. */
static void
test_raw_bytes (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) whole = http_get (raw, "/bytes/1000");
  g_autoptr(Response) range = http_request (raw, "GET", "/bytes/1000", "Range: bytes=10-19\r\n", NULL, 0);
  g_autoptr(Response) chunked = http_get (raw, "/bytes/150000?chunked=1");
  g_autoptr(GBytes) dechunked = NULL;

  g_assert_no_error (whole->error);
  g_assert_cmpuint (whole->status, ==, 200);
  assert_header (whole, "Content-Length", "1000");
  assert_header (whole, "ETag", "\"pattern-1000\"");
  assert_body_is_pattern (whole->body, 0, 1000);

  g_assert_cmpuint (range->status, ==, 206);
  assert_header (range, "Content-Range", "bytes 10-19/1000");
  assert_body_is_pattern (range->body, 10, 10);

  g_assert_cmpuint (chunked->status, ==, 200);
  dechunked = dechunk (chunked->body);
  assert_body_is_pattern (dechunked, 0, 150000);
}

/* /close-mid-body/1000/300 announces 1000 bytes, sends 300, and ends with a clean EOF. */
static void
test_raw_close_mid_body (Fixture       *fixture,
                         gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) response = http_get (raw, "/close-mid-body/1000/300");

  /* A clean EOF after 300 of the 1000 announced bytes. */
  g_assert_no_error (response->error);
  g_assert_cmpuint (response->status, ==, 200);
  assert_header (response, "Content-Length", "1000");
  assert_body_is_pattern (response->body, 0, 300);
}

/* /length-mismatch/100/150 announces 100 bytes and sends 150 before a clean close. */
static void
test_raw_length_mismatch (Fixture       *fixture,
                          gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) response = http_get (raw, "/length-mismatch/100/150");

  g_assert_no_error (response->error);
  assert_header (response, "Content-Length", "100");
  assert_body_is_pattern (response->body, 0, 150);
}

/* /reset/500 sends 500 of 1000000 bytes, then a reset: CONNECTION_CLOSED, not EOF. */
static void
test_raw_reset (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) response = http_get (raw, "/reset/500");

  g_assert_cmpuint (response->status, ==, 200);
  assert_header (response, "Content-Length", "1000000");
  assert_body_is_pattern (response->body, 0, 500);
  g_assert_error (response->error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

/* /garbage, /chunked-bad and /close-mid-headers send exactly their bytes; other paths 404. */
static void
test_raw_malformed (Fixture       *fixture,
                    gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  const char *chunked_bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n";
  const char *mid_headers = "HTTP/1.1 200 OK\r\nContent-Le";
  g_autoptr(Response) garbage = http_get (raw, "/garbage");
  g_autoptr(Response) bad = http_get (raw, "/chunked-bad");
  g_autoptr(Response) truncated = http_get (raw, "/close-mid-headers");
  g_autoptr(Response) missing = http_get (raw, "/nothing-here");

  g_assert_no_error (garbage->error);
  g_assert_cmpuint (garbage->raw->len, ==, 4096);
  g_assert_cmpuint (garbage->raw->data[0], ==, 0);
  g_assert_cmpuint (garbage->raw->data[1], ==, 1);

  g_assert_cmpmem (bad->raw->data, bad->raw->len, chunked_bad, strlen (chunked_bad));
  g_assert_cmpmem (truncated->raw->data, truncated->raw->len, mid_headers, strlen (mid_headers));

  g_assert_cmpuint (missing->status, ==, 404);
}

/* The raw /echo-headers echoes the method and the headers with names, order and case as sent. */
static void
test_raw_echo_headers (Fixture       *fixture,
                       gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) response =
    http_request (raw, "PUT", "/echo-headers", "x-lower: 1\r\nHOST2: 2\r\n", NULL, 0);

  assert_body_is_text (response,
                       "method: PUT\n"
                       "Host: 127.0.0.1\n"
                       "Connection: close\n"
                       "x-lower: 1\n"
                       "HOST2: 2\n");
}

/* /huge-header/N sends an N-byte X-Huge and "ok" (200000 too); over 16 MiB gives 400. */
static void
test_raw_huge_header (Fixture       *fixture,
                      gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) small = http_get (raw, "/huge-header/30");
  g_autoptr(Response) huge = http_get (raw, "/huge-header/200000");
  g_autoptr(Response) too_large = http_get (raw, "/huge-header/20000000");
  g_autofree char *value = NULL;

  g_assert_no_error (small->error);
  g_assert_cmpuint (small->status, ==, 200);
  assert_header (small, "X-Huge", "abcdefghijklmnopqrstuvwxyzabcd");
  assert_body_is_text (small, "ok");

  g_assert_no_error (huge->error);
  g_assert_cmpuint (huge->status, ==, 200);
  value = response_get_header (huge, "X-Huge");
  g_assert_cmpuint (strlen (value), ==, 200000);
  g_assert_cmpint (value[199999], ==, 'a' + 199999 % 26);
  assert_body_is_text (huge, "ok");

  g_assert_cmpuint (too_large->status, ==, 400);
}

/* /many-headers/1000 sends exactly X-Header-0 to 999 and "ok"; over 100000 gives 400. */
static void
test_raw_many_headers (Fixture       *fixture,
                       gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  g_autoptr(Response) response = http_get (raw, "/many-headers/1000");
  g_autoptr(Response) too_many = http_get (raw, "/many-headers/100001");
  g_auto(GStrv) lines = NULL;

  g_assert_no_error (response->error);
  g_assert_cmpuint (response->status, ==, 200);
  assert_header (response, "X-Header-0", "value-0");
  assert_header (response, "X-Header-999", "value-999");
  g_assert_null (response_get_header (response, "X-Header-1000"));
  /* Status line, Connection, the 1000, Content-Type, Content-Length. */
  lines = g_strsplit (response->head, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 1 + 1000 + 2);
  assert_body_is_text (response, "ok");

  g_assert_cmpuint (too_many->status, ==, 400);
}

/* /informational/100, 102, 103: the interim (Link for 103), then a 200 of 1000 bytes; 101: 400. */
static void
test_raw_informational (Fixture       *fixture,
                        gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  const guint codes[] = { 100, 102, 103 };
  g_autoptr(Response) switching = http_get (raw, "/informational/101");

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/informational/%u", codes[i]);
      g_autofree char *interim = g_strdup_printf ("%u", codes[i]);
      g_autoptr(Response) response = http_get (raw, path);
      gsize len;
      const guint8 *bytes = g_bytes_get_data (response->body, &len);
      gsize final_head;
      g_autoptr(GBytes) body = NULL;

      /* The "head" is the interim response; the body holds the final one. */
      g_assert_no_error (response->error);
      g_assert_cmpuint (response->status, ==, codes[i]);
      assert_header (response, "X-Interim", interim);
      if (codes[i] == 103)
        assert_header (response, "Link", "</style.css>; rel=preload");
      g_assert_cmpuint (len, >, 17);
      g_assert_cmpmem (bytes, 17, "HTTP/1.1 200 OK\r\n", 17);
      g_assert_nonnull (g_strstr_len ((const char *) bytes, len, "Content-Length: 1000\r\n"));
      final_head = find_head_end (bytes, len);
      g_assert_cmpuint (final_head, >, 0);
      body = g_bytes_new_from_bytes (response->body, final_head, len - final_head);
      assert_body_is_pattern (body, 0, 1000);
    }

  g_assert_cmpuint (switching->status, ==, 400);
}

/* /stray-body/204 and 304 send 100 bytes after the head (announced with ?length=1); 200: 400. */
static void
test_raw_stray_body (Fixture       *fixture,
                     gconstpointer  data G_GNUC_UNUSED)
{
  const char *raw = test_server_get_raw_uri (fixture->server);
  const guint codes[] = { 204, 304 };
  g_autoptr(Response) other = http_get (raw, "/stray-body/200");

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/stray-body/%u", codes[i]);
      g_autofree char *path_length = g_strdup_printf ("/stray-body/%u?length=1", codes[i]);
      g_autoptr(Response) bare = http_get (raw, path);
      g_autoptr(Response) announced = http_get (raw, path_length);

      g_assert_no_error (bare->error);
      g_assert_cmpuint (bare->status, ==, codes[i]);
      g_assert_null (response_get_header (bare, "Content-Length"));
      assert_body_is_pattern (bare->body, 0, 100);

      g_assert_no_error (announced->error);
      g_assert_cmpuint (announced->status, ==, codes[i]);
      assert_header (announced, "Content-Length", "100");
      assert_body_is_pattern (announced->body, 0, 100);
    }

  g_assert_cmpuint (other->status, ==, 400);
}

/* Reads from @input until @len bytes have arrived. */
static void
read_exactly (GInputStream *input,
              gsize         len)
{
  g_autofree guint8 *buffer = g_malloc (len);
  gsize got = 0;
  g_autoptr(GError) error = NULL;

  g_input_stream_read_all (input, buffer, len, &got, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, len);
}

static void
assert_read_times_out (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;
  guint8 byte;

  g_socket_set_timeout (socket, 1);
  g_assert_cmpint (g_input_stream_read (input, &byte, 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_socket_set_timeout (socket, CLIENT_TIMEOUT_S);
}

static void
assert_closed_by_server (GSocketConnection *connection)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;
  guint8 byte;
  gssize n;

  /* EOF, or a reset if the server closed with unread bytes. */
  n = g_input_stream_read (input, &byte, 1, NULL, &error);
  if (n == -1)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  else
    g_assert_cmpint (n, ==, 0);
}

/* Stalled responses send what they say then nothing; freeing the server closes all in < 1 s. */
static void
test_raw_stall (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  guint16 port = port_of (test_server_get_raw_uri (fixture->server));
  g_autoptr(GSocketConnection) stall = connect_to (port);
  g_autoptr(GSocketConnection) stall_headers = connect_to (port);
  g_autoptr(GSocketConnection) idle = connect_to (port);
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (stall));
  g_autofree char *expected_head = NULL;
  gint64 start;

  /* Headers, then 10 of the 1000 bytes, then nothing. */
  send_request (stall, "GET", "/stall/1000/10", NULL, NULL, 0);
  expected_head = g_strdup ("HTTP/1.1 200 OK\r\nConnection: close\r\n"
                            "Content-Type: application/octet-stream\r\n"
                            "Content-Length: 1000\r\n\r\n");
  read_exactly (input, strlen (expected_head) + 10);
  assert_read_times_out (stall);

  send_request (stall_headers, "GET", "/stall-headers", NULL, NULL, 0);
  assert_read_times_out (stall_headers);

  /* A connection that never even sent a request, and a black hole: freeing
   * the server must not wait for any of them. */
  test_server_get_blackhole_port (fixture->server);

  start = g_get_monotonic_time ();
  g_clear_pointer (&fixture->server, test_server_free);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_TIME_SPAN_SECOND);

  assert_closed_by_server (stall);
  assert_closed_by_server (stall_headers);
  assert_closed_by_server (idle);
}

/* Ports */

/* A connect to the blackhole port (the same port each call) is still pending after 1.2 s. */
static void
test_blackhole (Fixture       *fixture,
                gconstpointer  data G_GNUC_UNUSED)
{
  guint16 port = test_server_get_blackhole_port (fixture->server);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpuint (test_server_get_blackhole_port (fixture->server), ==, port);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);

  g_assert_false (g_socket_connect (socket, address, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&error);

  /* Still connecting after more than a second. */
  g_assert_false (g_socket_condition_timed_wait (socket, G_IO_OUT,
                                                 1200 * G_TIME_SPAN_MILLISECOND, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* A connect to the refused port fails with G_IO_ERROR_CONNECTION_REFUSED. */
static void
test_refused (void)
{
  guint16 port = test_server_get_refused_port ();
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (port, !=, 0);
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, CLIENT_TIMEOUT_S);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* The request count covers all three origins, and a path's count ignores the query. */
static void
test_counts (Fixture       *fixture,
             gconstpointer  data G_GNUC_UNUSED)
{
  TestServer *server = fixture->server;
  g_autoptr(Response) a = NULL;
  g_autoptr(Response) b = NULL;
  g_autoptr(Response) c = NULL;
  g_autoptr(Response) d = NULL;

  g_assert_cmpuint (test_server_get_request_count (server), ==, 0);

  a = http_get (test_server_get_uri (server), "/bytes/10");
  b = http_get (test_server_get_uri2 (server), "/bytes/10?chunked=1");
  c = http_get (test_server_get_raw_uri (server), "/bytes/10");
  d = http_get (test_server_get_uri (server), "/status/200");

  g_assert_cmpuint (test_server_get_request_count (server), ==, 4);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/10"), ==, 3);
  g_assert_cmpuint (test_server_get_path_count (server, "/status/200"), ==, 1);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/11"), ==, 0);
}

/* test_server_url*() join an origin's base (no trailing '/') and the path, a missing '/' added. */
static void
test_urls (Fixture       *fixture,
           gconstpointer  data G_GNUC_UNUSED)
{
  TestServer *server = fixture->server;
  g_autofree char *url = test_server_url (server, "/bytes/%d", 5);
  g_autofree char *url2 = test_server_url2 (server, "redirect/%d", 1);
  g_autofree char *raw_url = test_server_raw_url (server, "/reset/%u", 7u);
  g_autofree char *expected = g_strconcat (test_server_get_uri (server), "/bytes/5", NULL);
  g_autofree char *expected2 = g_strconcat (test_server_get_uri2 (server), "/redirect/1", NULL);
  g_autofree char *expected_raw = g_strconcat (test_server_get_raw_uri (server), "/reset/7", NULL);

  g_assert_true (g_str_has_prefix (test_server_get_uri (server), "http://127.0.0.1:"));
  g_assert_false (g_str_has_suffix (test_server_get_uri (server), "/"));
  g_assert_cmpstr (url, ==, expected);
  g_assert_cmpstr (url2, ==, expected2);
  g_assert_cmpstr (raw_url, ==, expected_raw);
}

/* Streams a large /bytes body through a digest, to check the server copes
 * without the test holding the body either. */
static void
check_large_body (const char *base_uri)
{
  g_autoptr(GSocketConnection) connection = connect_to (port_of (base_uri));
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GByteArray) head = g_byte_array_new ();
  g_autofree guint8 *buffer = g_malloc (READ_SIZE);
  g_autofree char *path = g_strdup_printf ("/bytes/%" G_GUINT64_FORMAT, LARGE_BODY_SIZE);
  g_autofree char *expected = test_pattern_sha256 (0, LARGE_BODY_SIZE);
  g_autoptr(GError) error = NULL;
  guint64 length = 0;
  gsize head_len;

  send_request (connection, "GET", path, NULL, NULL, 0);

  for (;;)
    {
      gssize n = g_input_stream_read (input, buffer, READ_SIZE, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (head, buffer, n);
      head_len = find_head_end (head->data, head->len);
      if (head_len > 0)
        break;
    }

  g_assert_true (g_str_has_prefix ((const char *) head->data, "HTTP/1.1 200 "));
  g_checksum_update (checksum, head->data + head_len, head->len - head_len);
  length = head->len - head_len;

  for (;;)
    {
      gssize n = g_input_stream_read (input, buffer, READ_SIZE, NULL, &error);

      g_assert_no_error (error);
      if (n == 0)
        break;
      g_checksum_update (checksum, buffer, n);
      length += n;
    }

  g_assert_cmpuint (length, ==, LARGE_BODY_SIZE);
  g_assert_cmpstr (g_checksum_get_string (checksum), ==, expected);
}

/* With -m slow, 512 MiB of /bytes from the SoupServer and from the raw server arrive exact. */
static void
test_large_bytes (Fixture       *fixture,
                  gconstpointer  data G_GNUC_UNUSED)
{
  if (!g_test_slow ())
    {
      g_test_skip ("512 MiB bodies; run with -m slow");
      return;
    }

  check_large_body (test_server_get_uri (fixture->server));
  check_large_body (test_server_get_raw_uri (fixture->server));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  g_test_add_func ("/test-server/pattern", test_pattern);
  ADD ("/test-server/urls", test_urls);
  ADD ("/test-server/counts", test_counts);
  ADD ("/test-server/soup/bytes", test_soup_bytes);
  ADD ("/test-server/soup/bytes/chunked", test_soup_bytes_chunked);
  ADD ("/test-server/soup/bytes/range", test_soup_range);
  ADD ("/test-server/soup/echo", test_soup_echo);
  ADD ("/test-server/soup/misc", test_soup_misc);
  ADD ("/test-server/soup/delay", test_soup_delay);
  ADD ("/test-server/soup/slow", test_soup_slow);
  ADD ("/test-server/soup/keep-alive", test_soup_keep_alive);
  ADD ("/test-server/soup/client-gives-up", test_soup_client_gives_up);
  ADD ("/test-server/raw/bytes", test_raw_bytes);
  ADD ("/test-server/raw/close-mid-body", test_raw_close_mid_body);
  ADD ("/test-server/raw/length-mismatch", test_raw_length_mismatch);
  ADD ("/test-server/raw/reset", test_raw_reset);
  ADD ("/test-server/raw/malformed", test_raw_malformed);
  ADD ("/test-server/raw/echo-headers", test_raw_echo_headers);
  ADD ("/test-server/raw/huge-header", test_raw_huge_header);
  ADD ("/test-server/raw/many-headers", test_raw_many_headers);
  ADD ("/test-server/raw/informational", test_raw_informational);
  ADD ("/test-server/raw/stray-body", test_raw_stray_body);
  ADD ("/test-server/raw/stall", test_raw_stall);
  ADD ("/test-server/ports/blackhole", test_blackhole);
  g_test_add_func ("/test-server/ports/refused", test_refused);
  ADD ("/test-server/large-bytes", test_large_bytes);
#undef ADD

  return g_test_run ();
}
