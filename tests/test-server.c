/* test-server.c: in-process HTTP test server for the libgcurlmulti tests
 *
 * Threading: everything that touches a socket served by the server (the
 * SoupServer, the raw GSocketService and their connections, the timers) lives
 * on the server thread and its GMainContext, and is created and destroyed
 * there. The test thread only reads the URIs (written once before
 * test_server_new() returns), the counters (atomic or under @lock) and the
 * black hole (created on the test thread under @blackhole_lock; it is plain
 * sockets that no main context watches).
 */

#include "test-server.h"
#include "test-util.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include <libsoup/soup.h>

/* Where path_counts keeps the counts of the "key" query parameter: no
 * path starts with it. */
#define TEST_SERVER_KEY_PREFIX "\x01key:"

/* Pattern bytes generated per step. Both servers keep at most one such chunk
 * in flight per response, which is what bounds their memory for /bytes. */
#define TEST_SERVER_CHUNK_SIZE (64 * 1024)

/* /slow sends one chunk per interval, sized to match the requested rate. */
#define SLOW_INTERVAL_MS      50
#define SLOW_DEFAULT_RATE     1024

/* The raw server answers nothing to a request head bigger than this. */
#define RAW_MAX_REQUEST_HEAD  (64 * 1024)
#define RAW_READ_SIZE         4096
/* Room for a chunk-size line and the CRLF around a chunk of the body. */
#define RAW_FRAME_OVERHEAD    32
#define RAW_RESET_CONTENT_LENGTH 1000000
#define RAW_GARBAGE_SIZE      4096
/* Bounds of /huge-header/N and /many-headers/N: larger N gets a 400. */
#define RAW_MAX_HUGE_HEADER   (16 * 1024 * 1024)
#define RAW_MAX_MANY_HEADERS  100000
/* The pattern bodies of /informational/CODE and /stray-body/CODE. */
#define RAW_INFORMATIONAL_BODY_SIZE 1000
#define RAW_STRAY_BODY_SIZE   100
/* After our FIN, how long a connection waits for the client to close its
 * side, so that unread request bytes never turn the close into an RST. */
#define RAW_LINGER_TIMEOUT_MS 2000
/* /reset waits (polling this often, for at most RAW_LINGER_TIMEOUT_MS) until
 * the client has acknowledged the K bytes, because an RST discards whatever
 * is still in our send queue. */
#define RAW_RESET_POLL_MS     10

/* A SYN still unanswered after this long was dropped: the accept queue of
 * the black hole is full. Loopback connects otherwise complete at once. */
#define BLACKHOLE_PROBE_TIMEOUT_US (100 * G_TIME_SPAN_MILLISECOND)
#define BLACKHOLE_MAX_FILLERS      16

#define ECHO_STATE_KEY "test-server-echo"

struct _TestServer
{
  /* Fixed for the server's lifetime. */
  GMainContext *context;           /* the server thread's context */
  GThread      *thread;
  gint          stopping;          /* atomic; asks the server thread to exit */

  /* Written by the server thread before it reports startup. */
  char         *uri;
  char         *uri2;
  char         *raw_uri;

  /* Startup handshake and statistics, shared with the test thread. */
  GMutex        lock;
  GCond         started_cond;
  gboolean      started;           /* under @lock */
  GError       *startup_error;     /* under @lock */
  gint          request_count;     /* atomic */
  GHashTable   *path_counts;       /* under @lock; path → GUINT_TO_POINTER (count) */

  /* Server thread only. */
  SoupServer     *soup_server;
  GSocketService *raw_service;
  GList          *soup_jobs;       /* SoupJob: responses still producing a body */
  GList          *raw_connections; /* RawConnection: every open raw connection */

  /* Created on first use, on the calling thread, under @blackhole_lock. */
  GMutex        blackhole_lock;
  GSocket      *blackhole_listener;
  GPtrArray    *blackhole_fillers; /* connections parked in its accept queue */
  guint16       blackhole_port;
};

/* Pattern */

/* splitmix64's finaliser: every bit of the word index changes every byte,
 * so a body served from a wrong offset cannot match by accident, and the
 * pattern has no short period. */
static inline guint64
pattern_word (guint64 index)
{
  guint64 z = index + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/**
 * test_pattern_fill:
 * @offset: position in the pattern of the first byte to write
 * @buf: (out caller-allocates) (array length=len): where to write
 * @len: number of bytes to write
 *
 * Writes pattern bytes [@offset, @offset + @len) to @buf; byte i of the
 * pattern is byte (i % 8) of the little-endian splitmix64 hash of i / 8.
 */
void
test_pattern_fill (guint64  offset,
                   guint8  *buf,
                   gsize    len)
{
  g_return_if_fail (buf != NULL || len == 0);

  while (len > 0)
    {
      guint64 word = GUINT64_TO_LE (pattern_word (offset / 8));
      gsize skip = offset % 8;
      gsize n = MIN (len, 8 - skip);

      memcpy (buf, (const guint8 *) &word + skip, n);
      buf += n;
      offset += n;
      len -= n;
    }
}

/**
 * test_pattern_sha256:
 * @offset: position in the pattern of the first byte
 * @len: number of bytes
 *
 * Computes the SHA-256 of pattern bytes [@offset, @offset + @len).
 *
 * Returns: (transfer full): the lower-case hex digest
 */
char *
test_pattern_sha256 (guint64 offset,
                     guint64 len)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (TEST_SERVER_CHUNK_SIZE);

  while (len > 0)
    {
      gsize n = MIN (len, TEST_SERVER_CHUNK_SIZE);

      test_pattern_fill (offset, buf, n);
      g_checksum_update (checksum, buf, n);
      offset += n;
      len -= n;
    }

  return g_strdup (g_checksum_get_string (checksum));
}

/* Helpers shared by both servers */

static void
test_server_count_request (TestServer *server,
                           const char *path)
{
  guint count;

  /* Path first, so a test that sees the total move also sees the path. */
  g_mutex_lock (&server->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (server->path_counts, path));
  g_hash_table_replace (server->path_counts, g_strdup (path), GUINT_TO_POINTER (count + 1));
  g_mutex_unlock (&server->lock);

  g_atomic_int_inc (&server->request_count);
}

/* Counts a request carrying the query's "key", for the fail=K options of
 * both servers: returns how many came before it. */
static guint
test_server_count_key (TestServer *server,
                       const char *key)
{
  g_autofree char *counter = g_strconcat (TEST_SERVER_KEY_PREFIX, key, NULL);
  guint count;

  g_mutex_lock (&server->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (server->path_counts, counter));
  g_hash_table_replace (server->path_counts, g_steal_pointer (&counter), GUINT_TO_POINTER (count + 1));
  g_mutex_unlock (&server->lock);

  return count;
}

static GSource *
test_server_add_timeout (TestServer  *server,
                         guint        interval_ms,
                         GSourceFunc  func,
                         gpointer     data)
{
  GSource *source = g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, server->context);
  return source;
}

/* Matches @path against @prefix followed by @n_numbers decimal numbers
 * separated by '/', e.g. "/stall/" with 2 matches "/stall/100/10". */
static gboolean
parse_path_numbers (const char *path,
                    const char *prefix,
                    guint       n_numbers,
                    guint64    *numbers)
{
  g_auto(GStrv) parts = NULL;

  if (!g_str_has_prefix (path, prefix))
    return FALSE;

  parts = g_strsplit (path + strlen (prefix), "/", -1);
  if (g_strv_length (parts) != n_numbers)
    return FALSE;

  for (guint i = 0; i < n_numbers; i++)
    {
      if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT64, &numbers[i], NULL))
        return FALSE;
    }

  return TRUE;
}

/* What a /bytes/N request gets, given its Range header. */
typedef struct
{
  guint   status;  /* 200, 206 or 416 */
  guint64 total;   /* N */
  guint64 start;   /* first pattern byte to send */
  guint64 end;     /* one past the last pattern byte to send */
} BytesPlan;

/* Only a single "bytes=A-", "bytes=A-B" or "bytes=-S" range is honoured;
 * anything else is ignored (RFC 9110 lets a server ignore Range), which
 * yields a plain 200. */
static void
bytes_plan_init (BytesPlan  *plan,
                 guint64     total,
                 const char *range)
{
  g_autofree char *first = NULL;
  g_autofree char *last = NULL;
  const char *spec;
  const char *dash;
  guint64 a, b;

  plan->status = SOUP_STATUS_OK;
  plan->total = total;
  plan->start = 0;
  plan->end = total;

  if (range == NULL)
    return;
  while (g_ascii_isspace (*range))
    range++;
  if (g_ascii_strncasecmp (range, "bytes=", 6) != 0)
    return;
  spec = range + 6;
  dash = strchr (spec, '-');
  if (dash == NULL || strchr (spec, ',') != NULL)
    return;

  first = g_strstrip (g_strndup (spec, dash - spec));
  last = g_strstrip (g_strdup (dash + 1));

  if (*first == '\0')
    {
      /* Suffix range: the last S bytes. */
      if (!g_ascii_string_to_unsigned (last, 10, 0, G_MAXUINT64, &b, NULL))
        return;
      if (b == 0 || total == 0)
        {
          plan->status = SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE;
          plan->start = plan->end = 0;
          return;
        }
      plan->status = SOUP_STATUS_PARTIAL_CONTENT;
      plan->start = total - MIN (b, total);
      return;
    }

  if (!g_ascii_string_to_unsigned (first, 10, 0, G_MAXUINT64, &a, NULL))
    return;
  if (*last == '\0')
    b = G_MAXUINT64;
  else if (!g_ascii_string_to_unsigned (last, 10, 0, G_MAXUINT64, &b, NULL) || b < a)
    return;

  if (a >= total)
    {
      plan->status = SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE;
      plan->start = plan->end = 0;
      return;
    }

  plan->status = SOUP_STATUS_PARTIAL_CONTENT;
  plan->start = a;
  plan->end = MIN (b, total - 1) + 1;
}

static gboolean
query_flag (GHashTable *query,
            const char *name)
{
  const char *value = query ? g_hash_table_lookup (query, name) : NULL;

  return value != NULL && g_strcmp0 (value, "0") != 0 && g_strcmp0 (value, "false") != 0;
}

/* SoupServer routes */

/* A response whose body is produced over time (/bytes, /slow) or whose
 * answer is deferred (/delay). Jobs are freed when the message finishes,
 * or at shutdown, whichever comes first. */
typedef struct
{
  TestServer        *server;
  SoupServerMessage *msg;          /* owned */
  guint64            next_offset;  /* next pattern byte to append */
  guint64            end_offset;   /* one past the last pattern byte to append */
  gsize              chunk_size;   /* pattern bytes appended per step */
  guint              interval_ms;  /* pause between chunks; 0 means as fast as the client reads */
  GSource           *timer;        /* pending /slow or /delay step, or NULL */
} SoupJob;

static void
soup_job_free (SoupJob *job)
{
  job->server->soup_jobs = g_list_remove (job->server->soup_jobs, job);
  g_signal_handlers_disconnect_by_data (job->msg, job);
  if (job->timer != NULL)
    {
      g_source_destroy (job->timer);
      g_source_unref (job->timer);
    }
  g_object_unref (job->msg);
  g_free (job);
}

static SoupJob *
soup_job_new (TestServer        *server,
              SoupServerMessage *msg)
{
  SoupJob *job = g_new0 (SoupJob, 1);

  job->server = server;
  job->msg = g_object_ref (msg);
  job->chunk_size = TEST_SERVER_CHUNK_SIZE;
  server->soup_jobs = g_list_prepend (server->soup_jobs, job);
  g_signal_connect_swapped (msg, "finished", G_CALLBACK (soup_job_free), job);
  return job;
}

/* Appends the next chunk of pattern, or ends the body once all is out.
 * The response body does not accumulate, so libsoup drops each chunk once
 * written and memory stays at one chunk per response. */
static void
soup_job_append_chunk (SoupJob *job)
{
  SoupMessageBody *body = soup_server_message_get_response_body (job->msg);
  gsize n = MIN (job->chunk_size, job->end_offset - job->next_offset);
  guint8 *data;

  if (n == 0)
    {
      /* Needed to end a chunked body; harmless with Content-Length. */
      soup_message_body_complete (body);
      return;
    }

  data = g_malloc (n);
  test_pattern_fill (job->next_offset, data, n);
  soup_message_body_append (body, SOUP_MEMORY_TAKE, data, n);
  job->next_offset += n;
}

static gboolean
soup_job_slow_tick_cb (gpointer data)
{
  SoupJob *job = data;

  g_clear_pointer (&job->timer, g_source_unref);
  soup_job_append_chunk (job);
  /* libsoup paused the message when it ran out of body to write. */
  soup_server_message_unpause (job->msg);
  return G_SOURCE_REMOVE;
}

static void
soup_job_wrote_chunk_cb (SoupServerMessage *msg G_GNUC_UNUSED,
                         SoupJob           *job)
{
  if (job->interval_ms == 0 || job->next_offset == job->end_offset)
    soup_job_append_chunk (job);
  else if (job->timer == NULL)
    job->timer = test_server_add_timeout (job->server, job->interval_ms, soup_job_slow_tick_cb, job);
}

/* Starts streaming pattern bytes [@start, @end) as the response body. */
static void
soup_stream_pattern (TestServer        *server,
                     SoupServerMessage *msg,
                     guint64            start,
                     guint64            end,
                     gsize              chunk_size,
                     guint              interval_ms)
{
  SoupJob *job = soup_job_new (server, msg);

  job->next_offset = start;
  job->end_offset = end;
  job->chunk_size = chunk_size;
  job->interval_ms = interval_ms;

  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (soup_job_wrote_chunk_cb), job);
  soup_job_append_chunk (job);
}

static void
soup_reply_text (SoupServerMessage *msg,
                 guint              status,
                 const char        *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
soup_serve_bytes (TestServer        *server,
                  SoupServerMessage *msg,
                  guint64            total,
                  GHashTable        *query)
{
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *etag = g_strdup_printf ("\"pattern-%" G_GUINT64_FORMAT "\"", total);
  BytesPlan plan;

  bytes_plan_init (&plan, total, soup_message_headers_get_one (request_headers, "Range"));

  soup_server_message_set_status (msg, plan.status, NULL);
  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Accept-Ranges", "bytes");
  if (query != NULL && g_hash_table_contains (query, "last-modified"))
    soup_message_headers_replace (headers, "Last-Modified",
                                  g_hash_table_lookup (query, "last-modified"));

  /* Conditional GETs (RFC 9110 13.2.2): If-None-Match first, else
   * If-Modified-Since against ?last-modified. */
  if (plan.status == SOUP_STATUS_OK)
    {
      const char *none_match = soup_message_headers_get_one (request_headers, "If-None-Match");
      const char *since = soup_message_headers_get_one (request_headers, "If-Modified-Since");
      const char *modified = query != NULL ? g_hash_table_lookup (query, "last-modified") : NULL;
      gboolean not_modified = FALSE;

      if (none_match != NULL)
        not_modified = g_str_equal (none_match, etag);
      else if (since != NULL && modified != NULL)
        {
          g_autoptr(GDateTime) since_time = soup_date_time_new_from_http_string (since);
          g_autoptr(GDateTime) modified_time = soup_date_time_new_from_http_string (modified);

          not_modified = since_time != NULL && modified_time != NULL &&
                         g_date_time_compare (modified_time, since_time) <= 0;
        }
      if (not_modified)
        {
          soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
          test_server_count_request (server, "304");
          return;
        }
    }

  if (plan.status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      g_autofree char *content_range = g_strdup_printf ("bytes */%" G_GUINT64_FORMAT, total);

      soup_message_headers_replace (headers, "Content-Range", content_range);
      return;
    }

  soup_message_headers_set_content_type (headers, "application/octet-stream", NULL);
  if (plan.status == SOUP_STATUS_PARTIAL_CONTENT)
    soup_message_headers_set_content_range (headers, plan.start, plan.end - 1, total);

  if (query_flag (query, "chunked"))
    soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (headers, plan.end - plan.start);

  soup_stream_pattern (server, msg, plan.start, plan.end, TEST_SERVER_CHUNK_SIZE, 0);
}

/* /disposition/N[/NAME]: /bytes/N with the Content-Disposition ?cd=. */
static void
soup_serve_disposition (TestServer        *server,
                        SoupServerMessage *msg,
                        const char        *rest,
                        GHashTable        *query)
{
  const char *disposition = query != NULL ? g_hash_table_lookup (query, "cd") : NULL;
  char *end = NULL;
  guint64 total = g_ascii_strtoull (rest, &end, 10);

  if (end == rest || (*end != '\0' && *end != '/'))
    {
      soup_reply_text (msg, SOUP_STATUS_NOT_FOUND, "not found");
      return;
    }
  soup_serve_bytes (server, msg, total, query);
  if (disposition != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Content-Disposition", disposition);
}

static void
soup_serve_slow (TestServer        *server,
                 SoupServerMessage *msg,
                 guint64            total,
                 GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *rate_param = query ? g_hash_table_lookup (query, "rate") : NULL;
  guint64 rate = SLOW_DEFAULT_RATE;
  gsize chunk_size;

  if (rate_param != NULL &&
      !g_ascii_string_to_unsigned (rate_param, 10, 1, G_MAXUINT32, &rate, NULL))
    {
      soup_reply_text (msg, SOUP_STATUS_BAD_REQUEST, "bad rate");
      return;
    }

  /* Below 20 bytes/s, send single bytes further apart instead. */
  chunk_size = MAX (1, rate * SLOW_INTERVAL_MS / 1000);
  chunk_size = MIN (chunk_size, TEST_SERVER_CHUNK_SIZE);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "application/octet-stream", NULL);
  if (query_flag (query, "chunked"))
    soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (headers, total);

  soup_stream_pattern (server, msg, 0, total, chunk_size, (guint) (chunk_size * 1000 / rate));
}

static gboolean
soup_delay_done_cb (gpointer data)
{
  SoupJob *job = data;

  g_clear_pointer (&job->timer, g_source_unref);
  soup_reply_text (job->msg, SOUP_STATUS_OK, "delayed");
  soup_server_message_unpause (job->msg);
  return G_SOURCE_REMOVE;
}

static void
soup_serve_delay (TestServer        *server,
                  SoupServerMessage *msg,
                  guint64            delay_ms)
{
  SoupJob *job = soup_job_new (server, msg);

  soup_server_message_pause (msg);
  job->timer = test_server_add_timeout (server, (guint) MIN (delay_ms, G_MAXUINT),
                                       soup_delay_done_cb, job);
}

static void
soup_serve_status (SoupServerMessage *msg,
                   guint64            status)
{
  g_autofree char *text = NULL;

  /* A 1xx would be taken for an interim response and the request would
   * never get a final one. */
  if (status < 200 || status > 599)
    {
      soup_reply_text (msg, SOUP_STATUS_BAD_REQUEST, "bad status");
      return;
    }

  if (status == SOUP_STATUS_NO_CONTENT || status == SOUP_STATUS_NOT_MODIFIED)
    {
      soup_server_message_set_status (msg, status, NULL);
      return;
    }

  text = g_strdup_printf ("status %u", (guint) status);
  soup_reply_text (msg, status, text);
}

static void
soup_serve_redirect_to (SoupServerMessage *msg,
                        GHashTable        *query)
{
  const char *url = query ? g_hash_table_lookup (query, "url") : NULL;
  const char *status_param = query ? g_hash_table_lookup (query, "status") : NULL;
  guint64 status = SOUP_STATUS_FOUND;

  if (url == NULL ||
      (status_param != NULL &&
       !g_ascii_string_to_unsigned (status_param, 10, 300, 399, &status, NULL)))
    {
      soup_reply_text (msg, SOUP_STATUS_BAD_REQUEST, "need url=URL and optionally status=3xx");
      return;
    }

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location", url);
}

/* /set-cookie?c=COOKIE…[&location=URL] */
static void
soup_serve_set_cookie (SoupServerMessage *msg)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (msg));
  g_auto(GStrv) params = g_strsplit (query != NULL ? query : "", "&", -1);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *location = NULL;

  for (guint i = 0; params[i] != NULL; i++)
    {
      if (g_str_has_prefix (params[i], "c="))
        {
          g_autofree char *cookie = g_uri_unescape_string (params[i] + 2, NULL);

          if (cookie != NULL)
            soup_message_headers_append (headers, "Set-Cookie", cookie);
        }
      else if (g_str_has_prefix (params[i], "location="))
        {
          g_free (location);
          location = g_uri_unescape_string (params[i] + 9, NULL);
        }
    }

  if (location != NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_FOUND, NULL);
      soup_message_headers_replace (headers, "Location", location);
    }
  else
    soup_reply_text (msg, SOUP_STATUS_OK, "ok");
}

static void
soup_serve_echo_headers (SoupServerMessage *msg)
{
  g_autoptr(GString) text = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  g_string_append_printf (text, "method: %s\n", soup_server_message_get_method (msg));
  soup_message_headers_iter_init (&iter, soup_server_message_get_request_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (text, "%s: %s\n", name, value);

  soup_reply_text (msg, SOUP_STATUS_OK, text->str);
}

/* Running digest of a request body to /echo, which is never accumulated,
 * so uploads of any size cost nothing. */
typedef struct
{
  GChecksum *checksum;
  guint64    length;
} EchoState;

static void
echo_state_free (gpointer data)
{
  EchoState *echo = data;

  g_checksum_free (echo->checksum);
  g_free (echo);
}

static void
echo_got_chunk_cb (SoupServerMessage *msg G_GNUC_UNUSED,
                   GBytes            *chunk,
                   EchoState         *echo)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (chunk, &size);

  g_checksum_update (echo->checksum, data, size);
  echo->length += size;
}

static void
soup_serve_echo (TestServer        *server,
                 SoupServerMessage *msg,
                 GHashTable        *query)
{
  EchoState *echo = g_object_get_data (G_OBJECT (msg), ECHO_STATE_KEY);
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  const char *content_type = soup_message_headers_get_one (request_headers, "Content-Type");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *text = NULL;
  const char *key = query != NULL ? g_hash_table_lookup (query, "key") : NULL;
  const char *fail_param = query != NULL ? g_hash_table_lookup (query, "fail") : NULL;
  guint64 fail = 0;
  guint64 length;

  if (fail_param != NULL)
    g_ascii_string_to_unsigned (fail_param, 10, 0, G_MAXUINT, &fail, NULL);

  if (echo != NULL)
    {
      length = echo->length;
      sha = g_strdup (g_checksum_get_string (echo->checksum));
    }
  else
    {
      /* The got-headers hook did not recognise the path (say, it was
       * percent-encoded), so the body was accumulated as usual. */
      body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
      length = g_bytes_get_size (body);
      sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
    }

  text = g_strdup_printf ("%s %" G_GUINT64_FORMAT " %s",
                          soup_server_message_get_method (msg), length, sha);
  if (key != NULL && test_server_count_key (server, key) < fail)
    soup_reply_text (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "fail");
  else
    soup_reply_text (msg, SOUP_STATUS_OK, text);
  if (content_type != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "X-Request-Content-Type", content_type);
}

static void
soup_serve_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_reply_text (msg, SOUP_STATUS_OK, "ok");
  soup_message_headers_append (headers, "X-Multi", "a");
  soup_message_headers_append (headers, "X-Multi", "b");
  soup_message_headers_append (headers, "X-Mixed-Case", "Value");
}

/* N zero bytes, gzip-compressed (about a thousandth of N on the wire):
 * a decompression bomb for a client that accepts gzip. */
static void
soup_serve_gzip_zeros (SoupServerMessage *msg,
                       guint64            n)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  g_autoptr(GByteArray) compressed = g_byte_array_new ();
  g_autofree guint8 *zeros = g_malloc0 (64 * 1024);
  guint8 out[64 * 1024];
  guint64 left = n;
  GConverterResult result;

  do
    {
      gsize in_size = MIN (left, 64 * 1024);
      gsize read = 0, written = 0;
      g_autoptr(GError) error = NULL;

      result = g_converter_convert (G_CONVERTER (compressor), zeros, in_size, out, sizeof out,
                                    in_size == left ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS,
                                    &read, &written, &error);
      g_assert_no_error (error);
      left -= read;
      g_byte_array_append (compressed, out, written);
    }
  while (result != G_CONVERTER_FINISHED);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Content-Encoding", "gzip");
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    (const char *) compressed->data, compressed->len);
}

/* "welcome user", and ": N bytes, sha256 HEX" of a request body. */
static void
soup_reply_welcome (SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autofree char *text = NULL;
  g_autofree char *sha256 = NULL;

  if (g_bytes_get_size (body) == 0)
    {
      soup_reply_text (msg, SOUP_STATUS_OK, "welcome " TEST_AUTH_USER);
      return;
    }

  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  text = g_strdup_printf ("welcome " TEST_AUTH_USER ": %" G_GSIZE_FORMAT " bytes, sha256 %s",
                          g_bytes_get_size (body), sha256);
  soup_reply_text (msg, SOUP_STATUS_OK, text);
}

/* /auth/digest's only user. */
static char *
digest_password_cb (SoupAuthDomain    *domain G_GNUC_UNUSED,
                    SoupServerMessage *msg G_GNUC_UNUSED,
                    const char        *username,
                    gpointer           user_data G_GNUC_UNUSED)
{
  if (g_strcmp0 (username, TEST_AUTH_USER) != 0)
    return NULL;

  return soup_auth_domain_digest_encode_password (username, TEST_AUTH_REALM, TEST_AUTH_PASSWORD);
}

/* /auth/basic and /auth/bearer: TEST_AUTH_USER and TEST_AUTH_PASSWORD (or
 * the token TEST_AUTH_TOKEN) in Authorization, or a 401 with a page. */
static void
soup_serve_auth (SoupServerMessage *msg,
                 gboolean           bearer,
                 GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *given = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");
  const char *realm = query != NULL ? g_hash_table_lookup (query, "realm") : NULL;
  const char *redirect = query != NULL ? g_hash_table_lookup (query, "redirect") : NULL;
  g_autofree char *encoded = g_base64_encode ((const guchar *) TEST_AUTH_USER ":" TEST_AUTH_PASSWORD,
                                              strlen (TEST_AUTH_USER ":" TEST_AUTH_PASSWORD));
  g_autofree char *expected = bearer ? g_strdup ("Bearer " TEST_AUTH_TOKEN)
                                     : g_strconcat ("Basic ", encoded, NULL);
  g_autofree char *challenge = NULL;

  if (g_strcmp0 (given, expected) == 0 && redirect != NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_FOUND, NULL);
      soup_message_headers_replace (headers, "Location", redirect);
    }
  else if (g_strcmp0 (given, expected) == 0)
    soup_reply_welcome (msg);
  else
    {
      challenge = g_strdup_printf ("%s realm=\"%s\"", bearer ? "Bearer" : "Basic",
                                   realm != NULL ? realm : TEST_AUTH_REALM);
      soup_reply_text (msg, SOUP_STATUS_UNAUTHORIZED, TEST_AUTH_PAGE);
      soup_message_headers_append (headers, "WWW-Authenticate", challenge);
    }
}

static void
soup_server_callback (SoupServer        *soup_server G_GNUC_UNUSED,
                      SoupServerMessage *msg,
                      const char        *path,
                      GHashTable        *query,
                      gpointer           user_data)
{
  TestServer *server = user_data;
  guint64 n[1];

  if (parse_path_numbers (path, "/bytes/", 1, n))
    soup_serve_bytes (server, msg, n[0], query);
  else if (parse_path_numbers (path, "/status/", 1, n))
    soup_serve_status (msg, n[0]);
  else if (parse_path_numbers (path, "/redirect/", 1, n))
    {
      if (n[0] == 0)
        {
          soup_reply_text (msg, SOUP_STATUS_OK, "done");
        }
      else
        {
          g_autofree char *location = g_strdup_printf ("/redirect/%" G_GUINT64_FORMAT, n[0] - 1);

          soup_server_message_set_status (msg, SOUP_STATUS_FOUND, NULL);
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Location", location);
        }
    }
  else if (g_str_equal (path, "/redirect-to"))
    soup_serve_redirect_to (msg, query);
  else if (g_str_equal (path, "/auth/basic") || g_str_equal (path, "/auth/bearer"))
    soup_serve_auth (msg, g_str_equal (path, "/auth/bearer"), query);
  else if (g_str_equal (path, "/auth/digest"))
    soup_reply_welcome (msg);
  else if (g_str_equal (path, "/loop"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_FOUND, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Location", "/loop");
    }
  else if (parse_path_numbers (path, "/delay/", 1, n))
    soup_serve_delay (server, msg, n[0]);
  else if (g_str_equal (path, "/echo-headers"))
    soup_serve_echo_headers (msg);
  else if (g_str_equal (path, "/set-cookie"))
    soup_serve_set_cookie (msg);
  else if (g_str_equal (path, "/echo"))
    soup_serve_echo (server, msg, query);
  else if (parse_path_numbers (path, "/slow/", 1, n))
    soup_serve_slow (server, msg, n[0], query);
  else if (g_str_equal (path, "/headers"))
    soup_serve_headers (msg);
  else if (parse_path_numbers (path, "/gzip-zeros/", 1, n))
    soup_serve_gzip_zeros (msg, n[0]);
  else if (g_str_has_prefix (path, "/disposition/"))
    soup_serve_disposition (server, msg, path + strlen ("/disposition/"), query);
  else
    soup_reply_text (msg, SOUP_STATUS_NOT_FOUND, "not found");
}

static void
soup_got_headers_cb (SoupServerMessage *msg,
                     TestServer        *server)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));

  /* Counted here rather than in the handler so that a request whose body
   * is still uploading, or that gets aborted, is counted too. */
  test_server_count_request (server, path);
  /* Those that ask for a range, apart (not in the total): see
   * test-server.h. */
  if (soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Range"))
    {
      g_autofree char *range_key = g_strconcat ("range ", path, NULL);

      test_server_count_key (server, range_key);
    }

  if (g_str_equal (path, "/echo"))
    {
      EchoState *echo = g_new0 (EchoState, 1);

      echo->checksum = g_checksum_new (G_CHECKSUM_SHA256);
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      g_object_set_data_full (G_OBJECT (msg), ECHO_STATE_KEY, echo, echo_state_free);
      g_signal_connect (msg, "got-chunk", G_CALLBACK (echo_got_chunk_cb), echo);
    }
}

static void
soup_request_started_cb (SoupServer        *soup_server G_GNUC_UNUSED,
                         SoupServerMessage *msg,
                         TestServer        *server)
{
  g_signal_connect (msg, "got-headers", G_CALLBACK (soup_got_headers_cb), server);
}

/* Raw fault server */

typedef enum
{
  RAW_THEN_CLOSE,  /* send our FIN, then wait a little for the client's */
  RAW_THEN_RESET,  /* abort the connection with an RST */
  RAW_THEN_STALL,  /* keep the connection open until the client closes it */
} RawThen;

/* One raw connection. At any time exactly one of these is outstanding: an
 * async read or write (@io_pending), or @timer (or both while lingering),
 * so that whoever completes last frees the connection. */
typedef struct
{
  TestServer        *server;
  GSocketConnection *connection;
  GCancellable      *cancellable;      /* cancels the pending read or write */
  gboolean           io_pending;
  GSource           *timer;            /* linger deadline or RST poll, or NULL */
  guint              reset_polls;

  GByteArray        *request;          /* the request head received so far */
  guint8            *buffer;           /* scratch for reads and body frames */

  GString           *head;             /* response bytes sent before the body, or NULL */
  gboolean           head_sent;
  guint64            next_offset;      /* next pattern byte to send */
  guint64            end_offset;       /* one past the last pattern byte to send */
  gboolean           chunked;          /* frame the body with chunked encoding */
  gboolean           body_terminated;  /* the final zero-size chunk has been sent */
  RawThen            then;
} RawConnection;

static void raw_connection_read_request (RawConnection *conn);
static void raw_connection_write_next   (RawConnection *conn);

static void
raw_connection_finish (RawConnection *conn)
{
  g_assert (!conn->io_pending);

  conn->server->raw_connections = g_list_remove (conn->server->raw_connections, conn);
  if (conn->timer != NULL)
    {
      g_source_destroy (conn->timer);
      g_source_unref (conn->timer);
    }

  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  g_object_unref (conn->connection);
  g_object_unref (conn->cancellable);
  g_byte_array_unref (conn->request);
  g_free (conn->buffer);
  if (conn->head != NULL)
    g_string_free (conn->head, TRUE);
  g_free (conn);
}

static GSocket *
raw_connection_get_socket (RawConnection *conn)
{
  return g_socket_connection_get_socket (conn->connection);
}

static void
raw_drain_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  RawConnection *conn = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  conn->io_pending = FALSE;
  if (n <= 0)
    {
      /* The client closed, reset, or we gave up waiting: done. */
      raw_connection_finish (conn);
      return;
    }

  conn->io_pending = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->connection)),
                             conn->buffer, RAW_READ_SIZE, G_PRIORITY_DEFAULT,
                             conn->cancellable, raw_drain_read_cb, conn);
}

/* Reads and discards until the client closes, which is how a stall ends and
 * how a clean close avoids turning into an RST. */
static void
raw_connection_drain (RawConnection *conn)
{
  conn->io_pending = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->connection)),
                             conn->buffer, RAW_READ_SIZE, G_PRIORITY_DEFAULT,
                             conn->cancellable, raw_drain_read_cb, conn);
}

static gboolean
raw_linger_timeout_cb (gpointer data)
{
  RawConnection *conn = data;

  g_clear_pointer (&conn->timer, g_source_unref);
  /* The drain read completes as cancelled and frees the connection. */
  g_cancellable_cancel (conn->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
raw_send_queue_empty (RawConnection *conn)
{
#ifdef SIOCOUTQ
  int unacked = 0;

  if (ioctl (g_socket_get_fd (raw_connection_get_socket (conn)), SIOCOUTQ, &unacked) == 0)
    return unacked == 0;
#endif
  /* Without a way to ask, rely on the poll limit alone. */
  return FALSE;
}

static gboolean
raw_reset_poll_cb (gpointer data)
{
  RawConnection *conn = data;

  if (!raw_send_queue_empty (conn) &&
      ++conn->reset_polls * RAW_RESET_POLL_MS < RAW_LINGER_TIMEOUT_MS)
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&conn->timer, g_source_unref);
  /* SO_LINGER is {1, 0}, so this close sends an RST. */
  raw_connection_finish (conn);
  return G_SOURCE_REMOVE;
}

static void
raw_connection_then (RawConnection *conn)
{
  GSocket *socket = raw_connection_get_socket (conn);

  switch (conn->then)
    {
    case RAW_THEN_CLOSE:
      g_socket_shutdown (socket, FALSE, TRUE, NULL);
      conn->timer = test_server_add_timeout (conn->server, RAW_LINGER_TIMEOUT_MS,
                                             raw_linger_timeout_cb, conn);
      raw_connection_drain (conn);
      break;

    case RAW_THEN_RESET:
      {
        struct linger linger = { .l_onoff = 1, .l_linger = 0 };

        if (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0)
          g_warning ("test-server: SO_LINGER failed: %s", g_strerror (errno));
        conn->timer = test_server_add_timeout (conn->server, RAW_RESET_POLL_MS,
                                               raw_reset_poll_cb, conn);
      }
      break;

    case RAW_THEN_STALL:
      raw_connection_drain (conn);
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
raw_written_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RawConnection *conn = user_data;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);

  conn->io_pending = FALSE;
  if (!ok)
    {
      /* The client went away, or we are shutting down. */
      raw_connection_finish (conn);
      return;
    }

  raw_connection_write_next (conn);
}

static void
raw_connection_write (RawConnection *conn,
                      const void    *data,
                      gsize          len)
{
  conn->io_pending = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (conn->connection)),
                                   data, len, G_PRIORITY_DEFAULT,
                                   conn->cancellable, raw_written_cb, conn);
}

/* Sends the head, then the body one chunk at a time, then does @then. */
static void
raw_connection_write_next (RawConnection *conn)
{
  if (conn->head != NULL && !conn->head_sent)
    {
      conn->head_sent = TRUE;
      raw_connection_write (conn, conn->head->str, conn->head->len);
      return;
    }

  if (conn->next_offset < conn->end_offset)
    {
      gsize n = MIN (TEST_SERVER_CHUNK_SIZE, conn->end_offset - conn->next_offset);
      gsize frame = 0;

      if (conn->chunked)
        frame = g_snprintf ((char *) conn->buffer, RAW_FRAME_OVERHEAD, "%zx\r\n", n);
      test_pattern_fill (conn->next_offset, conn->buffer + frame, n);
      frame += n;
      if (conn->chunked)
        {
          memcpy (conn->buffer + frame, "\r\n", 2);
          frame += 2;
        }

      conn->next_offset += n;
      raw_connection_write (conn, conn->buffer, frame);
      return;
    }

  if (conn->chunked && !conn->body_terminated)
    {
      conn->body_terminated = TRUE;
      raw_connection_write (conn, "0\r\n\r\n", 5);
      return;
    }

  raw_connection_then (conn);
}

/* Starts a response: status line and Connection: close. The caller adds
 * its headers; raw_head_end() ends the head. */
static GString *
raw_head_new (guint status)
{
  GString *head = g_string_new (NULL);

  g_string_append_printf (head, "HTTP/1.1 %u %s\r\nConnection: close\r\n",
                          status, soup_status_get_phrase (status));
  return head;
}

static void
raw_head_end (GString *head)
{
  g_string_append (head, "\r\n");
}

static GString *
raw_text_response (guint       status,
                   const char *text)
{
  GString *head = raw_head_new (status);

  g_string_append_printf (head, "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                          strlen (text), text);
  return head;
}

/* Looks a header up in the raw lines of a request head (case-insensitive
 * name, leading spaces of the value skipped). */
static const char *
raw_find_header (char       **lines,
                 const char  *name)
{
  gsize name_len = strlen (name);

  for (guint i = 1; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (g_ascii_strncasecmp (line, name, name_len) == 0 && line[name_len] == ':')
        {
          line += name_len + 1;
          while (*line == ' ' || *line == '\t')
            line++;
          return line;
        }
    }

  return NULL;
}

static guint64
query_number (GHashTable *query,
              const char *name,
              guint64     fallback)
{
  const char *value = query ? g_hash_table_lookup (query, name) : NULL;
  guint64 n;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &n, NULL))
    return fallback;
  return n;
}

/* /bytes/N on the raw server, with options for the download tests:
 *   norange=1            ignore Range (a server without range support)
 *   etag=X               the resource's ETag is "X"; an If-Range that does
 *                        not match it gets the whole body (a changed resource)
 *   badrange=1           a 206 whose Content-Range starts 100 bytes late
 *   ignore-if-range=1    ignore If-Range (as h2o 2.2 does): a Range is
 *                        answered 206 whatever the validator
 *   key=S&fail=K         the first K requests with key S fail: with
 *     &after=B           ...the body cut off (closed) after B bytes, or
 *     &status=C          ...HTTP status C (and &retry-after=T, in seconds, or
 *                        with &retry-after-date=1 as the HTTP date T s ahead)
 *     &cut-headers=1     ...the response cut off in its headers (clean close)
 *     &etag-after-fail=X ...and once they stop failing, the ETag is "X"
 *                        (the resource changed between attempts) */
static void
raw_plan_bytes (RawConnection  *conn,
                const char     *method,
                char          **lines,
                guint64         total,
                GHashTable     *query)
{
  const char *range = raw_find_header (lines, "Range");
  const char *if_range = raw_find_header (lines, "If-Range");
  const char *etag_param = query ? g_hash_table_lookup (query, "etag") : NULL;
  const char *key = query ? g_hash_table_lookup (query, "key") : NULL;
  g_autofree char *etag = etag_param ? g_strdup_printf ("\"%s\"", etag_param)
                                     : g_strdup_printf ("\"pattern-%" G_GUINT64_FORMAT "\"", total);
  gboolean failing = FALSE;
  guint64 shift = 0;
  BytesPlan plan;

  if (key != NULL)
    failing = test_server_count_key (conn->server, key) < query_number (query, "fail", 0);
  if (key != NULL && !failing && g_hash_table_lookup (query, "etag-after-fail") != NULL)
    {
      g_free (etag);
      etag = g_strdup_printf ("\"%s\"", (char *) g_hash_table_lookup (query, "etag-after-fail"));
    }

  if (failing && query_flag (query, "cut-headers"))
    {
      conn->head = g_string_new ("HTTP/1.1 200 OK\r\nContent-Le");
      return;
    }

  if (failing && query_number (query, "status", 0) != 0)
    {
      guint status = query_number (query, "status", 0);

      conn->head = raw_head_new (status);
      if (query_number (query, "retry-after", 0) != 0 && query_flag (query, "retry-after-date"))
        {
          g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
          g_autoptr(GDateTime) then = g_date_time_add_seconds (now, query_number (query,
                                                                                  "retry-after",
                                                                                  0));
          g_autofree char *date = soup_date_time_to_string (then, SOUP_DATE_HTTP);

          g_string_append_printf (conn->head, "Retry-After: %s\r\n", date);
        }
      else if (query_number (query, "retry-after", 0) != 0)
        g_string_append_printf (conn->head, "Retry-After: %" G_GUINT64_FORMAT "\r\n",
                                query_number (query, "retry-after", 0));
      g_string_append (conn->head, "Content-Type: text/plain\r\nContent-Length: 4\r\n");
      raw_head_end (conn->head);
      g_string_append (conn->head, "fail");
      return;
    }

  if (query_flag (query, "norange") ||
      (if_range != NULL && g_strcmp0 (if_range, etag) != 0 && !query_flag (query, "ignore-if-range")))
    range = NULL;
  bytes_plan_init (&plan, total, range);
  if (query_flag (query, "badrange") && plan.status == SOUP_STATUS_PARTIAL_CONTENT &&
      plan.start + 100 < plan.end)
    shift = 100;

  conn->head = raw_head_new (plan.status);
  g_string_append_printf (conn->head, "ETag: %s\r\nAccept-Ranges: bytes\r\n", etag);

  if (plan.status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      g_string_append_printf (conn->head, "Content-Range: bytes */%" G_GUINT64_FORMAT "\r\n"
                                          "Content-Length: 0\r\n", total);
      raw_head_end (conn->head);
      return;
    }

  g_string_append (conn->head, "Content-Type: application/octet-stream\r\n");
  if (plan.status == SOUP_STATUS_PARTIAL_CONTENT)
    g_string_append_printf (conn->head,
                            "Content-Range: bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                            "/%" G_GUINT64_FORMAT "\r\n",
                            plan.start + shift, plan.end - 1, total);
  if (query_flag (query, "chunked"))
    g_string_append (conn->head, "Transfer-Encoding: chunked\r\n");
  else
    g_string_append_printf (conn->head, "Content-Length: %" G_GUINT64_FORMAT "\r\n",
                            plan.end - plan.start - shift);
  raw_head_end (conn->head);

  if (g_str_equal (method, "HEAD"))
    return;

  conn->chunked = query_flag (query, "chunked");
  conn->next_offset = plan.start + shift;
  conn->end_offset = plan.end;
  if (failing)
    conn->end_offset = MIN (plan.end, conn->next_offset + query_number (query, "after", 0));
}

/* Announces @content_length, sends pattern bytes [0, @send), then @then. */
static void
raw_plan_truncated (RawConnection *conn,
                    guint64        content_length,
                    guint64        send,
                    RawThen        then)
{
  conn->head = raw_head_new (SOUP_STATUS_OK);
  g_string_append_printf (conn->head,
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: %" G_GUINT64_FORMAT "\r\n",
                          content_length);
  raw_head_end (conn->head);
  conn->end_offset = send;
  conn->then = then;
}

static void
raw_plan_echo_headers (RawConnection  *conn,
                       const char     *method,
                       char          **lines)
{
  g_autoptr(GString) text = g_string_new (NULL);

  /* Exactly as received, unlike the SoupServer's /echo-headers, which
   * canonicalises well-known names and reorders them. */
  g_string_append_printf (text, "method: %s\n", method);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *colon = strchr (lines[i], ':');
      const char *value;

      if (colon == NULL)
        continue;
      value = colon + 1;
      while (*value == ' ' || *value == '\t')
        value++;
      g_string_append_len (text, lines[i], colon - lines[i]);
      g_string_append_printf (text, ": %s\n", value);
    }

  conn->head = raw_text_response (SOUP_STATUS_OK, text->str);
}

/* /huge-header/N: one header whose value is N bytes ('a' to 'z' over and
 * over), then the body "ok". */
static void
raw_plan_huge_header (RawConnection *conn,
                      guint64        size)
{
  if (size > RAW_MAX_HUGE_HEADER)
    {
      conn->head = raw_text_response (SOUP_STATUS_BAD_REQUEST, "too large");
      return;
    }

  conn->head = raw_head_new (SOUP_STATUS_OK);
  g_string_append (conn->head, "X-Huge: ");
  for (guint64 i = 0; i < size; i++)
    g_string_append_c (conn->head, (char) ('a' + i % 26));
  g_string_append (conn->head, "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
}

/* /many-headers/N: "X-Header-I: value-I" for I from 0 to N - 1, then the
 * body "ok". */
static void
raw_plan_many_headers (RawConnection *conn,
                       guint64        count)
{
  if (count > RAW_MAX_MANY_HEADERS)
    {
      conn->head = raw_text_response (SOUP_STATUS_BAD_REQUEST, "too many");
      return;
    }

  conn->head = raw_head_new (SOUP_STATUS_OK);
  for (guint64 i = 0; i < count; i++)
    g_string_append_printf (conn->head, "X-Header-%" G_GUINT64_FORMAT ": value-%" G_GUINT64_FORMAT "\r\n",
                            i, i);
  g_string_append (conn->head, "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
}

/* /informational/CODE: an interim CODE response (100, 102 or 103, with an
 * "X-Interim: CODE" header, and a Link for 103), then a 200 with a pattern
 * body. */
static void
raw_plan_informational (RawConnection *conn,
                        guint64        code)
{
  if (code != 100 && code != 102 && code != 103)
    {
      conn->head = raw_text_response (SOUP_STATUS_BAD_REQUEST, "not an informational code");
      return;
    }

  conn->head = g_string_new (NULL);
  g_string_append_printf (conn->head, "HTTP/1.1 %" G_GUINT64_FORMAT " %s\r\n"
                                      "X-Interim: %" G_GUINT64_FORMAT "\r\n",
                          code, soup_status_get_phrase (code), code);
  if (code == 103)
    g_string_append (conn->head, "Link: </style.css>; rel=preload\r\n");
  raw_head_end (conn->head);
  g_string_append (conn->head, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                               "Content-Type: application/octet-stream\r\n");
  g_string_append_printf (conn->head, "Content-Length: %u\r\n", RAW_INFORMATIONAL_BODY_SIZE);
  raw_head_end (conn->head);
  conn->end_offset = RAW_INFORMATIONAL_BODY_SIZE;
}

/* /stray-body/CODE[?length=1]: a 204 or 304, which has no body, followed by
 * pattern bytes all the same, announced by a Content-Length with length=1. */
static void
raw_plan_stray_body (RawConnection *conn,
                     guint64        code,
                     GHashTable    *query)
{
  if (code != 204 && code != 304)
    {
      conn->head = raw_text_response (SOUP_STATUS_BAD_REQUEST, "not 204 or 304");
      return;
    }

  conn->head = raw_head_new (code);
  if (query_flag (query, "length"))
    g_string_append_printf (conn->head, "Content-Length: %u\r\n", RAW_STRAY_BODY_SIZE);
  raw_head_end (conn->head);
  conn->end_offset = RAW_STRAY_BODY_SIZE;
}

/* Whether the request head's @lines carry the proxy credentials. */
static gboolean
raw_proxy_authorized (char **lines)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) TEST_AUTH_USER ":" TEST_AUTH_PASSWORD,
                                              strlen (TEST_AUTH_USER ":" TEST_AUTH_PASSWORD));
  g_autofree char *expected = g_strconcat ("Basic ", encoded, NULL);

  return g_strcmp0 (raw_find_header (lines, "Proxy-Authorization"), expected) == 0;
}

/* Decides the whole response from the request head, then starts writing. */
static void
raw_connection_dispatch (RawConnection *conn,
                         gsize          head_len)
{
  g_autofree char *head = g_strndup ((const char *) conn->request->data, head_len);
  g_auto(GStrv) lines = g_strsplit (head, "\r\n", -1);
  g_auto(GStrv) request_line = g_strsplit (lines[0], " ", 3);
  g_autoptr(GHashTable) query = NULL;
  g_autofree char *path = NULL;
  const char *method;
  const char *question;
  guint64 n[2];

  conn->then = RAW_THEN_CLOSE;

  /* An absolute-form target: we are asked to be a forward proxy, one that
   * wants credentials for targets under /proxy-auth/. */
  if (g_strv_length (request_line) == 3 && g_str_has_prefix (request_line[1], "http://") &&
      strstr (request_line[1], "/proxy-auth/") != NULL && !raw_proxy_authorized (lines))
    {
      test_server_count_request (conn->server, "proxy-challenged");
      conn->head = raw_text_response (SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED,
                                      TEST_AUTH_PROXY_PAGE);
      /* Before the blank line raw_text_response() ended the head with. */
      g_string_insert (conn->head, strstr (conn->head->str, "\r\n\r\n") - conn->head->str + 2,
                       "Proxy-Authenticate: Basic realm=\"" TEST_AUTH_PROXY_REALM "\"\r\n");
      raw_connection_write_next (conn);
      return;
    }
  if (g_strv_length (request_line) == 3 && g_str_has_prefix (request_line[1], "http://"))
    {
      g_autofree char *text = g_strdup_printf ("proxied %s", request_line[1]);

      test_server_count_request (conn->server, "proxied");
      conn->head = raw_text_response (SOUP_STATUS_OK, text);
      raw_connection_write_next (conn);
      return;
    }

  if (g_strv_length (request_line) != 3 || request_line[1][0] != '/')
    {
      conn->head = raw_text_response (SOUP_STATUS_BAD_REQUEST, "bad request");
      raw_connection_write_next (conn);
      return;
    }

  method = request_line[0];
  question = strchr (request_line[1], '?');
  if (question != NULL)
    {
      path = g_strndup (request_line[1], question - request_line[1]);
      query = g_uri_parse_params (question + 1, -1, "&", G_URI_PARAMS_NONE, NULL);
    }
  else
    {
      path = g_strdup (request_line[1]);
    }
  test_server_count_request (conn->server, path);

  if (parse_path_numbers (path, "/bytes/", 1, n))
    raw_plan_bytes (conn, method, lines, n[0], query);
  else if (parse_path_numbers (path, "/close-mid-body/", 2, n))
    raw_plan_truncated (conn, n[0], n[1], RAW_THEN_CLOSE);
  else if (parse_path_numbers (path, "/length-mismatch/", 2, n))
    raw_plan_truncated (conn, n[0], n[1], RAW_THEN_CLOSE);
  else if (parse_path_numbers (path, "/reset/", 1, n))
    raw_plan_truncated (conn, RAW_RESET_CONTENT_LENGTH, n[0], RAW_THEN_RESET);
  else if (parse_path_numbers (path, "/stall/", 2, n))
    raw_plan_truncated (conn, n[0], n[1], RAW_THEN_STALL);
  else if (g_str_equal (path, "/stall-headers"))
    conn->then = RAW_THEN_STALL;
  else if (parse_path_numbers (path, "/huge-header/", 1, n))
    raw_plan_huge_header (conn, n[0]);
  else if (parse_path_numbers (path, "/many-headers/", 1, n))
    raw_plan_many_headers (conn, n[0]);
  else if (parse_path_numbers (path, "/informational/", 1, n))
    raw_plan_informational (conn, n[0]);
  else if (parse_path_numbers (path, "/stray-body/", 1, n))
    raw_plan_stray_body (conn, n[0], query);
  else if (g_str_equal (path, "/close-mid-headers"))
    conn->head = g_string_new ("HTTP/1.1 200 OK\r\nContent-Le");
  else if (g_str_equal (path, "/switching-protocols"))
    {
      /* Unrequested: libcurl 7.88 then waits for a final response forever. */
      conn->head = g_string_new ("HTTP/1.1 101 Switching Protocols\r\n"
                                 "Connection: Upgrade\r\nUpgrade: gcurl-test\r\n\r\n");
      conn->then = RAW_THEN_STALL;
    }
  else if (g_str_equal (path, "/header-forms"))
    conn->head = g_string_new ("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                               "X-Folded: first\r\n  second\r\n"
                               "X-Multi: a\r\nx-multi: b\r\n"
                               "X-Spaces:   padded   \r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               "5\r\nhello\r\n0\r\nX-Trailer: late\r\n\r\n");
  else if (g_str_equal (path, "/cookies"))
    conn->head = g_string_new ("HTTP/1.1 299 Caf\xe9 Cr\xe8me\r\nConnection: close\r\n"
                               "Set-Cookie: a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/\r\n"
                               "X-Other: x\r\n"
                               "set-cookie: b=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT\r\n"
                               "Content-Length: 2\r\n\r\nok");
  else if (g_str_equal (path, "/chunked-bad"))
    conn->head = g_string_new ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n");
  else if (g_str_equal (path, "/garbage"))
    {
      /* Starts "\x00\x01\x02", nothing like a status line. */
      conn->head = g_string_sized_new (RAW_GARBAGE_SIZE);
      for (guint i = 0; i < RAW_GARBAGE_SIZE; i++)
        g_string_append_c (conn->head, (char) (i & 0xff));
    }
  else if (g_str_equal (path, "/echo-headers"))
    raw_plan_echo_headers (conn, method, lines);
  else
    conn->head = raw_text_response (SOUP_STATUS_NOT_FOUND, "not found");

  raw_connection_write_next (conn);
}

/* Returns the length of the request head including its blank line, or 0
 * if it is not complete yet. */
static gsize
find_head_end (const guint8 *data,
               gsize         len)
{
  for (gsize i = 3; i < len; i++)
    {
      if (data[i] == '\n' && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r')
        return i + 1;
    }

  return 0;
}

static void
raw_request_read_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  RawConnection *conn = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  gsize head_len;

  conn->io_pending = FALSE;
  if (n <= 0)
    {
      raw_connection_finish (conn);
      return;
    }

  g_byte_array_append (conn->request, conn->buffer, n);
  head_len = find_head_end (conn->request->data, conn->request->len);
  if (head_len > 0)
    raw_connection_dispatch (conn, head_len);
  else if (conn->request->len > RAW_MAX_REQUEST_HEAD)
    raw_connection_finish (conn);
  else
    raw_connection_read_request (conn);
}

static void
raw_connection_read_request (RawConnection *conn)
{
  conn->io_pending = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->connection)),
                             conn->buffer, RAW_READ_SIZE, G_PRIORITY_DEFAULT,
                             conn->cancellable, raw_request_read_cb, conn);
}

static gboolean
raw_incoming_cb (GSocketService    *service G_GNUC_UNUSED,
                 GSocketConnection *connection,
                 GObject           *source_object G_GNUC_UNUSED,
                 TestServer        *server)
{
  RawConnection *conn = g_new0 (RawConnection, 1);

  conn->server = server;
  conn->connection = g_object_ref (connection);
  conn->cancellable = g_cancellable_new ();
  conn->request = g_byte_array_new ();
  conn->buffer = g_malloc (TEST_SERVER_CHUNK_SIZE + RAW_FRAME_OVERHEAD);
  server->raw_connections = g_list_prepend (server->raw_connections, conn);

  /* Small writes (a head, then a body) must not wait for delayed ACKs;
   * libsoup does the same for its connections. */
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  raw_connection_read_request (conn);
  return TRUE;
}

/* Server thread */

/* Binds a TCP socket to 127.0.0.1 on an ephemeral port, and listens on it
 * unless @backlog is negative. */
static GSocket *
bind_loopback (int       backlog,
               guint16  *out_port,
               GError  **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, address, TRUE, error))
    return NULL;

  if (backlog >= 0)
    {
      g_socket_set_listen_backlog (socket, backlog);
      if (!g_socket_listen (socket, error))
        return NULL;
    }

  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return NULL;

  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_steal_pointer (&socket);
}

static gboolean
test_server_start_soup (TestServer  *server,
                        GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocket) socket2 = NULL;
  g_autoptr(SoupAuthDomain) digest = NULL;
  guint16 port, port2;

  socket = bind_loopback (SOMAXCONN, &port, error);
  if (socket == NULL)
    return FALSE;
  socket2 = bind_loopback (SOMAXCONN, &port2, error);
  if (socket2 == NULL)
    return FALSE;

  server->soup_server = soup_server_new ("server-header", "test-server ", NULL);
  soup_server_add_handler (server->soup_server, NULL, soup_server_callback, server, NULL);
  digest = soup_auth_domain_digest_new ("realm", TEST_AUTH_REALM, NULL);
  soup_auth_domain_add_path (digest, "/auth/digest");
  soup_auth_domain_digest_set_auth_callback (digest, digest_password_cb, NULL, NULL);
  soup_server_add_auth_domain (server->soup_server, digest);
  g_signal_connect (server->soup_server, "request-started",
                    G_CALLBACK (soup_request_started_cb), server);

  /* Note: libsoup 3.2 leaks a GSocket reference (not the fd) per
   * connection its listener accepts; valgrind reports it as definitely
   * lost under g_socket_accept(). Handing it connections through
   * soup_server_accept_iostream() instead would avoid that, but a server
   * without listeners never keeps connections alive. */
  if (!soup_server_listen_socket (server->soup_server, socket, 0, error) ||
      !soup_server_listen_socket (server->soup_server, socket2, 0, error))
    return FALSE;

  server->uri = g_strdup_printf ("http://127.0.0.1:%u", port);
  server->uri2 = g_strdup_printf ("http://127.0.0.1:%u", port2);
  return TRUE;
}

static gboolean
test_server_start_raw (TestServer  *server,
                       GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  guint16 port;

  socket = bind_loopback (SOMAXCONN, &port, error);
  if (socket == NULL)
    return FALSE;

  server->raw_service = g_socket_service_new ();
  g_signal_connect (server->raw_service, "incoming", G_CALLBACK (raw_incoming_cb), server);
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (server->raw_service), socket, NULL, error))
    return FALSE;

  server->raw_uri = g_strdup_printf ("http://127.0.0.1:%u", port);
  return TRUE;
}

static void
test_server_stop_soup (TestServer *server)
{
  if (server->soup_server == NULL)
    return;

  /* Jobs go first: disconnecting may finish their messages. */
  while (server->soup_jobs != NULL)
    soup_job_free (server->soup_jobs->data);

  soup_server_disconnect (server->soup_server);
  g_clear_object (&server->soup_server);
}

static void
test_server_stop_raw (TestServer *server)
{
  g_autoptr(GList) connections = NULL;

  /* Stop accepting; the pending accept completes as cancelled later. */
  if (server->raw_service != NULL)
    {
      g_socket_service_stop (server->raw_service);
      g_socket_listener_close (G_SOCKET_LISTENER (server->raw_service));
      g_clear_object (&server->raw_service);
    }

  connections = g_list_copy (server->raw_connections);
  for (GList *l = connections; l != NULL; l = l->next)
    {
      RawConnection *conn = l->data;

      if (conn->io_pending)
        g_cancellable_cancel (conn->cancellable);
      else
        raw_connection_finish (conn);
    }

  /* Cancelled reads and writes free their connection when they call back. */
  while (server->raw_connections != NULL)
    g_main_context_iteration (server->context, TRUE);
}

static gpointer
test_server_thread (gpointer data)
{
  TestServer *server = data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (server->context);

  ok = test_server_start_soup (server, &error) && test_server_start_raw (server, &error);

  g_mutex_lock (&server->lock);
  server->startup_error = g_steal_pointer (&error);
  server->started = TRUE;
  g_cond_signal (&server->started_cond);
  g_mutex_unlock (&server->lock);

  /* test_server_free() sets the flag and wakes the context up. */
  while (ok && !g_atomic_int_get (&server->stopping))
    g_main_context_iteration (server->context, TRUE);

  test_server_stop_raw (server);
  test_server_stop_soup (server);

  /* Let cancelled accepts and closing connections run their callbacks, so
   * nothing is left holding a reference when the context goes. */
  while (g_main_context_iteration (server->context, FALSE))
    ;

  g_main_context_pop_thread_default (server->context);
  return NULL;
}

/* Public API */

/**
 * test_server_new:
 *
 * Starts the SoupServer (two ports) and the raw server on a new thread, and
 * returns once all three ports are listening. Aborts if that fails.
 *
 * Returns: (transfer full): the server; free with test_server_free()
 */
TestServer *
test_server_new (void)
{
  TestServer *server = g_new0 (TestServer, 1);
  GError *error;

  test_init_gio_singletons ();

  g_mutex_init (&server->lock);
  g_cond_init (&server->started_cond);
  g_mutex_init (&server->blackhole_lock);
  server->path_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  server->context = g_main_context_new ();
  server->thread = g_thread_new ("test-server", test_server_thread, server);

  g_mutex_lock (&server->lock);
  while (!server->started)
    g_cond_wait (&server->started_cond, &server->lock);
  error = g_steal_pointer (&server->startup_error);
  g_mutex_unlock (&server->lock);

  if (error != NULL)
    g_error ("test-server: could not start: %s", error->message);

  return server;
}

/**
 * test_server_free:
 * @server: (nullable): a server
 *
 * Closes every connection and listening socket, stops and joins the server
 * thread, and frees @server. Stalled connections are closed, not waited for.
 */
void
test_server_free (TestServer *server)
{
  if (server == NULL)
    return;

  g_atomic_int_set (&server->stopping, TRUE);
  g_main_context_wakeup (server->context);
  g_thread_join (server->thread);

  g_clear_pointer (&server->blackhole_fillers, g_ptr_array_unref);
  if (server->blackhole_listener != NULL)
    g_socket_close (server->blackhole_listener, NULL);
  g_clear_object (&server->blackhole_listener);

  g_main_context_unref (server->context);
  g_hash_table_unref (server->path_counts);
  g_mutex_clear (&server->blackhole_lock);
  g_cond_clear (&server->started_cond);
  g_mutex_clear (&server->lock);
  g_free (server->uri);
  g_free (server->uri2);
  g_free (server->raw_uri);
  g_free (server);
}

/**
 * test_server_get_uri:
 * @server: a server
 *
 * Returns the base URI (no trailing slash) of the SoupServer's first port, origin A.
 *
 * Returns: (transfer none): e.g. "http://127.0.0.1:41234"
 */
const char *
test_server_get_uri (TestServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->uri;
}

/**
 * test_server_get_uri2:
 * @server: a server
 *
 * Returns the base URI of the SoupServer's second port, origin B: same
 * routes as origin A, for cross-origin redirects.
 *
 * Returns: (transfer none): e.g. "http://127.0.0.1:41235"
 */
const char *
test_server_get_uri2 (TestServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->uri2;
}

/**
 * test_server_get_raw_uri:
 * @server: a server
 *
 * Returns the base URI of the raw fault server.
 *
 * Returns: (transfer none): e.g. "http://127.0.0.1:41236"
 */
const char *
test_server_get_raw_uri (TestServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->raw_uri;
}

static char *
build_url (const char *base,
           const char *format,
           va_list     args) G_GNUC_PRINTF (2, 0);

static char *
build_url (const char *base,
           const char *format,
           va_list     args)
{
  g_autofree char *path = g_strdup_vprintf (format, args);

  return g_strconcat (base, path[0] == '/' ? "" : "/", path, NULL);
}

/**
 * test_server_url:
 * @server: a server
 * @format: printf-style format of the path, e.g. "/bytes/%d"
 * @...: arguments for @format
 *
 * Builds a URL on origin A; a missing leading '/' in the path is added.
 *
 * Returns: (transfer full): the URL
 */
char *
test_server_url (TestServer *server,
                 const char *format,
                 ...)
{
  va_list args;
  char *url;

  g_return_val_if_fail (server != NULL, NULL);
  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  url = build_url (server->uri, format, args);
  va_end (args);
  return url;
}

/**
 * test_server_url2:
 * @server: a server
 * @format: printf-style format of the path
 * @...: arguments for @format
 *
 * Builds a URL on origin B (the SoupServer's second port).
 *
 * Returns: (transfer full): the URL
 */
char *
test_server_url2 (TestServer *server,
                  const char *format,
                  ...)
{
  va_list args;
  char *url;

  g_return_val_if_fail (server != NULL, NULL);
  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  url = build_url (server->uri2, format, args);
  va_end (args);
  return url;
}

/**
 * test_server_raw_url:
 * @server: a server
 * @format: printf-style format of the path
 * @...: arguments for @format
 *
 * Builds a URL on the raw fault server.
 *
 * Returns: (transfer full): the URL
 */
char *
test_server_raw_url (TestServer *server,
                     const char *format,
                     ...)
{
  va_list args;
  char *url;

  g_return_val_if_fail (server != NULL, NULL);
  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  url = build_url (server->raw_uri, format, args);
  va_end (args);
  return url;
}

/**
 * test_server_get_request_count:
 * @server: a server
 *
 * Returns how many requests both servers have received so far (counted once
 * the request head has been read).
 *
 * Returns: the number of requests
 */
guint
test_server_get_request_count (TestServer *server)
{
  g_return_val_if_fail (server != NULL, 0);

  return (guint) g_atomic_int_get (&server->request_count);
}

/**
 * test_server_get_key_count:
 * @server: a server
 * @key: the value of a "key" query parameter
 *
 * Returns how many requests with ?key=@key reached a route with the
 * key=S&fail=K options (raw /bytes/N, /echo), failed or not.
 */
guint
test_server_get_key_count (TestServer *server,
                           const char *key)
{
  g_autofree char *counter = g_strconcat (TEST_SERVER_KEY_PREFIX, key, NULL);

  return test_server_get_path_count (server, counter);
}

/**
 * test_server_get_path_count:
 * @server: a server
 * @path: a path without query, as sent on the request line, e.g. "/bytes/10"
 *
 * Returns how many requests for @path both servers have received so far.
 *
 * Returns: the number of requests
 */
guint
test_server_get_path_count (TestServer *server,
                            const char *path)
{
  guint count;

  g_return_val_if_fail (server != NULL, 0);
  g_return_val_if_fail (path != NULL, 0);

  g_mutex_lock (&server->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (server->path_counts, path));
  g_mutex_unlock (&server->lock);
  return count;
}

/**
 * test_server_get_refused_port:
 *
 * Returns a 127.0.0.1 port where nothing listens, so connecting is refused.
 * The port was free a moment ago; another socket could still take it.
 *
 * Returns: the port
 */
guint16
test_server_get_refused_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  guint16 port = 0;

  socket = bind_loopback (-1, &port, &error);
  if (socket == NULL)
    g_error ("test-server: could not bind: %s", error->message);

  g_socket_close (socket, NULL);
  return port;
}

/* Starts a connection to 127.0.0.1:@port and returns it if it completes
 * within @timeout_us; %NULL means it is still pending (its SYN was
 * dropped), and the attempt is abandoned. */
static GSocket *
connect_within (guint16 port,
                gint64  timeout_us)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  if (socket == NULL)
    g_error ("test-server: socket: %s", error->message);
  g_socket_set_blocking (socket, FALSE);

  if (g_socket_connect (socket, address, NULL, &error))
    return g_steal_pointer (&socket);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    g_error ("test-server: connecting to the black hole: %s", error->message);
  g_clear_error (&error);

  if (!g_socket_condition_timed_wait (socket, G_IO_OUT, timeout_us, NULL, NULL))
    return NULL;
  if (!g_socket_check_connect_result (socket, &error))
    g_error ("test-server: connecting to the black hole: %s", error->message);

  return g_steal_pointer (&socket);
}

static void
test_server_create_blackhole (TestServer *server)
{
  g_autoptr(GError) error = NULL;

  /* With a backlog of 0 the kernel queues one connection (or very few)
   * that nobody accepts; once the queue is full it drops further SYNs, so
   * connects stay in SYN-SENT, retrying, for about two minutes. */
  server->blackhole_listener = bind_loopback (0, &server->blackhole_port, &error);
  if (server->blackhole_listener == NULL)
    g_error ("test-server: could not create the black hole: %s", error->message);

  server->blackhole_fillers = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < BLACKHOLE_MAX_FILLERS; i++)
    {
      GSocket *filler = connect_within (server->blackhole_port, BLACKHOLE_PROBE_TIMEOUT_US);

      if (filler == NULL)
        return;
      g_ptr_array_add (server->blackhole_fillers, filler);
    }

  g_error ("test-server: the black hole's accept queue never filled up");
}

/**
 * test_server_get_blackhole_port:
 * @server: a server
 *
 * Returns a 127.0.0.1 port where a TCP connect never completes (until the
 * kernel gives up after about two minutes). Created on first call, which
 * takes about 100 ms; closed by test_server_free().
 *
 * Returns: the port
 */
guint16
test_server_get_blackhole_port (TestServer *server)
{
  guint16 port;

  g_return_val_if_fail (server != NULL, 0);

  g_mutex_lock (&server->blackhole_lock);
  if (server->blackhole_listener == NULL)
    test_server_create_blackhole (server);
  port = server->blackhole_port;
  g_mutex_unlock (&server->blackhole_lock);

  return port;
}
