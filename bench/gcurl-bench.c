/* gcurl-bench.c: one client, one workload, one measurement
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage:
 *   gcurl-bench --client=CLIENT --workload=WORKLOAD [options]
 *
 * Runs one workload through one HTTP client against a server that bench/run
 * started, checks that every transfer completed with status 200 and the
 * expected number of bytes, and prints one line of JSON with what it cost:
 * transfers, bytes, wall time, user and system CPU time, peak RSS and main
 * loop wakeups. It exits with 1 (and "ok": false) if any transfer failed or
 * was short, or if the run took longer than --timeout.
 *
 * Each (client, workload, repetition) runs in a process of its own, so the
 * peak RSS and CPU time are the client's alone.
 *
 * Clients:
 *   gcurl-epoll, gcurl-fds  a GCurlMulti with that socket backend, on a
 *                           GMainContext
 *   curl-multi              a plain libcurl loop: curl_multi_perform() and
 *                           curl_multi_poll(); what curl alone costs
 *   soup                    a libsoup 3 SoupSession, on a GMainContext
 *
 * Workloads (the runner chooses the URLs and sizes):
 *   small      --count GETs, --concurrency of them in flight at all times;
 *              each body is collected in memory
 *   small-h2   as small, over HTTPS (--url https://..., the server's CA in
 *              --ca-file): each response must be HTTP/2; the libcurl
 *              clients multiplex the transfers over one connection
 *   tls        as small, over HTTPS, each GET on a TLS connection of its
 *              own (CURLOPT_FRESH_CONNECT and CURLOPT_FORBID_REUSE,
 *              SOUP_MESSAGE_NEW_CONNECTION): each response must be
 *              HTTP/1.1, and have made one new connection (libcurl's
 *              CURLINFO_NUM_CONNECTS; for soup, a connection id not seen
 *              before)
 *   many-slow  --count rate-limited GETs, all in flight at once (count =
 *              concurrency); bodies collected in memory
 *   memory     as many-slow; also reports the RSS growth per transfer above
 *              the RSS before the first transfer
 *   bulk       one large body, streamed and counted, never kept in memory
 *   idle       no transfer for --duration seconds: counts loop wakeups
 *   segmented  one file saved to --output with download_async() and
 *              GCurlTransfer:segments = --segments (gcurl clients only):
 *              checks the status, the file's size and, after the clock
 *              has stopped, its SHA-256 (--sha256)
 *   download   the same with the transfer's defaults (one connection, no
 *              segments): a plain download_async() to --output
 */

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <gcurlmulti.h>
#ifdef HAVE_SOUP
#include <libsoup/soup.h>
#endif

/* The plain libcurl loop never sleeps longer than this in curl_multi_poll(),
 * as a typical application loop would; with no transfer it wakes up once per
 * interval, which is what the idle workload shows for it. */
#define CURL_POLL_TIMEOUT_MS 1000

/* Bytes asked for by each read of a streamed body (bulk). The library's
 * stream holds at most 256 KiB before it pauses the transfer. */
#define STREAM_READ_SIZE (256 * 1024)

#define DEFAULT_TIMEOUT_S 300
#define DEFAULT_IDLE_DURATION_S 5.0

/* Every client sends the User-Agent that a GCurlMulti sends by default, so
 * that they all send the same requests (curl formats each header line it
 * adds: a header more is work more). */
#define BENCH_USER_AGENT "libgcurlmulti/" GCURL_VERSION_STRING

typedef enum {
  CLIENT_GCURL_EPOLL,
  CLIENT_GCURL_FDS,
  CLIENT_CURL_MULTI,
  CLIENT_SOUP,
} ClientKind;

typedef enum {
  WORKLOAD_SMALL,
  WORKLOAD_BULK,
  WORKLOAD_MANY_SLOW,
  WORKLOAD_IDLE,
  WORKLOAD_MEMORY,
  WORKLOAD_SEGMENTED,
  WORKLOAD_SMALL_H2,
  WORKLOAD_TLS,
  WORKLOAD_DOWNLOAD,
} Workload;

static const char * const client_names[] = {
  "gcurl-epoll", "gcurl-fds", "curl-multi", "soup",
};

static const char * const workload_names[] = {
  "small", "bulk", "many-slow", "idle", "memory", "segmented",
  "small-h2", "tls", "download",
};

typedef struct
{
  /* What to do (from the command line) */
  ClientKind  client;
  Workload    workload;
  char       *url;
  guint       count;           /* transfers in all */
  guint       concurrency;     /* transfers in flight at once */
  gint64      size;            /* expected body size of every transfer */
  double      duration;        /* idle: seconds */
  guint       timeout;         /* seconds before the run is failed */
  long        buffer_size;     /* CURLOPT_BUFFERSIZE, 0 = libcurl's default */
  const char *output;          /* segmented: the file to save */
  guint       segments;        /* segmented: GCurlTransfer:segments */
  const char *sha256;          /* segmented: the file's checksum, or NULL */
  const char *ca_file;         /* https: the CA that signed the server's
                                * certificate (PEM), or NULL */
  GHashTable *connection_ids;  /* soup, small-h2 and tls: the connection ids seen */

  GCurlMulti *gcurl_multi;     /* the gcurl clients' multi, not owned */

  /* Progress */
  guint       started;
  guint       completed;
  guint64     bytes;
  guint64     wakeups;         /* main loop iterations or curl_multi_poll() returns */
  guint64     connections;     /* small-h2, tls: connections made */
  gboolean    done;
  char       *failure;         /* the first failure, or NULL */

  /* Measurements */
  gint64         start_us;
  gint64         end_us;
  struct rusage  start_usage;
  struct rusage  end_usage;
  gint64         baseline_rss_kib;  /* peak RSS before the first transfer */
  gint64         peak_rss_kib;      /* peak RSS at the end */
} Bench;

/* ------------------------------------------------------------------------ */
/* Common                                                                   */
/* ------------------------------------------------------------------------ */

static void bench_fail (Bench      *bench,
                        const char *format,
                        ...) G_GNUC_PRINTF (2, 3);

static void
bench_fail (Bench      *bench,
            const char *format,
            ...)
{
  va_list args;

  if (bench->failure == NULL)
    {
      va_start (args, format);
      bench->failure = g_strdup_vprintf (format, args);
      va_end (args);
    }
  bench->done = TRUE;
}

static gboolean
bench_all_started (Bench *bench)
{
  return bench->started >= bench->count;
}

/* Records one finished transfer of @n_bytes with HTTP status @status. */
static void
bench_complete (Bench  *bench,
                guint   status,
                guint64 n_bytes)
{
  if (status != 200)
    bench_fail (bench, "transfer %u: HTTP status %u", bench->completed + 1, status);
  else if ((gint64) n_bytes != bench->size)
    bench_fail (bench, "transfer %u: %" G_GUINT64_FORMAT " bytes, expected %"
                G_GINT64_FORMAT, bench->completed + 1, n_bytes, bench->size);

  bench->completed++;
  bench->bytes += n_bytes;
  if (bench->completed == bench->count)
    bench->done = TRUE;
}

/* Whether @workload saves one file with download_async(). */
static gboolean
workload_saves_file (Workload workload)
{
  return workload == WORKLOAD_SEGMENTED || workload == WORKLOAD_DOWNLOAD;
}

/* The HTTP version (libcurl's CURL_HTTP_VERSION_*) every response of the
 * workload must have, so that all clients are seen to speak the same
 * protocol; 0 for any. */
static long
workload_http_version (Workload workload)
{
  switch (workload)
    {
    case WORKLOAD_SMALL_H2:
      return CURL_HTTP_VERSION_2_0;
    case WORKLOAD_TLS:
      return CURL_HTTP_VERSION_1_1;
    default:
      return 0;
    }
}

static const char *
http_version_name (long version)
{
  switch (version)
    {
    case CURL_HTTP_VERSION_1_0:
      return "HTTP/1.0";
    case CURL_HTTP_VERSION_1_1:
      return "HTTP/1.1";
    case CURL_HTTP_VERSION_2_0:
      return "HTTP/2";
    case CURL_HTTP_VERSION_3:
      return "HTTP/3";
    default:
      return "no HTTP version";
    }
}

/* The checks the HTTPS workloads add for a finished libcurl transfer
 * (curl-multi's and the gcurl clients', whose raw handle it is): the HTTP
 * version of the response and, for tls, that the transfer made exactly one
 * connection, a new one. Fails the bench if one does not hold, and counts
 * the connections made. */
static void
bench_check_curl (Bench *bench,
                  CURL  *easy)
{
  long expected = workload_http_version (bench->workload);
  long version = 0;
  long connects = -1;

  if (expected == 0)
    return;

  curl_easy_getinfo (easy, CURLINFO_HTTP_VERSION, &version);
  if (version != expected)
    bench_fail (bench, "transfer %u: %s, expected %s", bench->completed + 1,
                http_version_name (version), http_version_name (expected));

  curl_easy_getinfo (easy, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0)
    bench->connections += (guint64) connects;
  if (bench->workload == WORKLOAD_TLS && connects != 1)
    bench_fail (bench, "transfer %u: %ld new connections, expected 1",
                bench->completed + 1, connects);
}

static gint64
read_proc_status_kib (const char *field)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  gsize field_len = strlen (field);

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return -1;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strncmp (lines[i], field, field_len) == 0 && lines[i][field_len] == ':')
      return g_ascii_strtoll (lines[i] + field_len + 1, NULL, 10);

  return -1;
}

static void
bench_start_clock (Bench *bench)
{
  bench->baseline_rss_kib = read_proc_status_kib ("VmHWM");
  getrusage (RUSAGE_SELF, &bench->start_usage);
  bench->start_us = g_get_monotonic_time ();
}

static void
bench_stop_clock (Bench *bench)
{
  bench->end_us = g_get_monotonic_time ();
  getrusage (RUSAGE_SELF, &bench->end_usage);
  /* Both from VmHWM, so that the difference is exact; ru_maxrss is the
   * same figure counted a little differently. */
  bench->peak_rss_kib = MAX (read_proc_status_kib ("VmHWM"), bench->end_usage.ru_maxrss);
}

static gboolean
bench_timed_out (Bench *bench)
{
  return g_get_monotonic_time () - bench->start_us > (gint64) bench->timeout * G_USEC_PER_SEC;
}

static double
timeval_seconds (const struct timeval *tv)
{
  return tv->tv_sec + tv->tv_usec / 1e6;
}

static void
bench_print (Bench *bench)
{
  double wall = (bench->end_us - bench->start_us) / 1e6;
  double user = timeval_seconds (&bench->end_usage.ru_utime) -
                timeval_seconds (&bench->start_usage.ru_utime);
  double sys = timeval_seconds (&bench->end_usage.ru_stime) -
               timeval_seconds (&bench->start_usage.ru_stime);
  g_autoptr(GString) line = g_string_new ("{");
  g_autofree char *escaped = NULL;

  g_string_append_printf (line, "\"client\": \"%s\", \"workload\": \"%s\", "
                          "\"ok\": %s, ",
                          client_names[bench->client], workload_names[bench->workload],
                          bench->failure == NULL ? "true" : "false");
  if (bench->failure != NULL)
    {
      escaped = g_strescape (bench->failure, NULL);
      g_string_append_printf (line, "\"error\": \"%s\", ", escaped);
    }
  g_string_append_printf (line,
                          "\"concurrency\": %u, \"transfers\": %u, \"bytes\": %" G_GUINT64_FORMAT ", "
                          "\"wall_s\": %.6f, \"user_s\": %.6f, \"sys_s\": %.6f, \"cpu_s\": %.6f, "
                          "\"max_rss_kib\": %" G_GINT64_FORMAT ", \"baseline_rss_kib\": %" G_GINT64_FORMAT ", "
                          "\"wakeups\": %" G_GUINT64_FORMAT,
                          bench->concurrency, bench->completed, bench->bytes,
                          wall, user, sys, user + sys,
                          bench->peak_rss_kib, bench->baseline_rss_kib,
                          bench->wakeups);
  if (workload_http_version (bench->workload) != 0)
    g_string_append_printf (line, ", \"connections\": %" G_GUINT64_FORMAT, bench->connections);
  g_print ("%s}\n", line->str);
}

/* Runs the thread-default main context until the bench is done, counting
 * iterations: each one is a wakeup of the loop. */
static void
bench_iterate (Bench *bench)
{
  while (!bench->done)
    {
      g_main_context_iteration (NULL, TRUE);
      bench->wakeups++;
    }
}

static gboolean
on_timeout (gpointer user_data)
{
  Bench *bench = user_data;

  bench_fail (bench, "timed out after %u s: %u of %u transfers done",
              bench->timeout, bench->completed, bench->count);
  return G_SOURCE_REMOVE;
}

static gboolean
on_idle_over (gpointer user_data)
{
  Bench *bench = user_data;

  bench->done = TRUE;
  return G_SOURCE_REMOVE;
}

/* Idle on a GMainContext: whatever the client set up is there, nothing runs.
 * Pending events are drained first; the one timer that ends the run is the
 * last iteration, and is not counted. */
static void
bench_idle_glib (Bench *bench)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  g_timeout_add ((guint) (bench->duration * 1000), on_idle_over, bench);
  bench_start_clock (bench);
  bench_iterate (bench);
  bench_stop_clock (bench);
  bench->wakeups--;
}

/* ------------------------------------------------------------------------ */
/* libgcurlmulti                                                            */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Bench         *bench;
  GCurlTransfer *transfer;
  GInputStream  *stream;
  guint8        *buffer;
  guint64        received;
} GCurlStreamRead;

static void
proxy_warmed_up_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_strfreev (g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

/* Both GLib clients ask the desktop's proxy resolver (glib-networking's
 * libproxy module here) asynchronously, and its first lookup loads its
 * configuration and starts GIO's worker threads: a one-time cost of the
 * process, like class set-up, made before the clock and the RSS
 * baseline. */
static void
warm_up_proxy_resolver (Bench *bench)
{
  gboolean done = FALSE;

  g_proxy_resolver_lookup_async (g_proxy_resolver_get_default (), bench->url, NULL,
                                 proxy_warmed_up_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void gcurl_start_one (Bench      *bench,
                             GCurlMulti *multi);

static void
on_gcurl_finished (GCurlTransfer *transfer,
                   gpointer       user_data)
{
  Bench *bench = user_data;
  GCurlMulti *multi = bench->gcurl_multi;

  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_SUCCEEDED)
    {
      const GError *error = g_curl_transfer_get_error (transfer);

      bench_fail (bench, "transfer %u failed: %s", bench->completed + 1,
                  error != NULL ? error->message : "no error");
    }
  else
    {
      g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

      /* The library has no getter of the HTTP version or of the number of
       * connections made: libcurl's, on the raw handle. */
      bench_check_curl (bench, g_curl_transfer_get_handle (transfer));
      bench_complete (bench, g_curl_transfer_get_status_code (transfer),
                      body != NULL ? g_bytes_get_size (body) : 0);
    }

  /* The multi holds its own reference while the transfer runs. */
  g_object_unref (transfer);

  if (!bench->done && !bench_all_started (bench))
    gcurl_start_one (bench, multi);
}

static void
gcurl_start_one (Bench      *bench,
                 GCurlMulti *multi)
{
  GCurlTransfer *transfer = g_curl_transfer_new (bench->url);

  if (bench->buffer_size > 0)
    curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_BUFFERSIZE,
                      bench->buffer_size);
  if (bench->workload == WORKLOAD_TLS)
    {
      /* No property of the library asks for a connection of the transfer's
       * own: the raw handle's options, which add_transfer() leaves alone. */
      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt (g_curl_transfer_get_handle (transfer), CURLOPT_FORBID_REUSE, 1L);
    }
  g_signal_connect (transfer, "finished", G_CALLBACK (on_gcurl_finished), bench);
  bench->started++;
  g_curl_multi_add_transfer (multi, transfer);
}

static void gcurl_read_next (GCurlStreamRead *read);

static void
on_gcurl_stream_read (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  GCurlStreamRead *read = user_data;
  Bench *bench = read->bench;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      bench_fail (bench, "reading the body: %s", error->message);
      return;
    }
  if (n > 0)
    {
      read->received += n;
      gcurl_read_next (read);
      return;
    }

  /* End of stream: the transfer succeeded. */
  bench_complete (bench, g_curl_transfer_get_status_code (read->transfer), read->received);
}

static void
gcurl_read_next (GCurlStreamRead *read)
{
  g_input_stream_read_async (read->stream, read->buffer, STREAM_READ_SIZE,
                             G_PRIORITY_DEFAULT, NULL, on_gcurl_stream_read, read);
}

static void
on_gcurl_sent (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GCurlStreamRead *read = user_data;
  g_autoptr(GError) error = NULL;

  read->stream = g_curl_multi_send_finish (G_CURL_MULTI (source), result, &error);
  if (read->stream == NULL)
    {
      bench_fail (read->bench, "send_async: %s", error->message);
      return;
    }
  gcurl_read_next (read);
}

typedef struct
{
  Bench         *bench;
  GCurlTransfer *transfer;
  GFile         *file;
} GCurlDownload;

static void
on_gcurl_downloaded (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GCurlDownload *download = user_data;
  Bench *bench = download->bench;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileInfo) info = NULL;

  if (!g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error))
    {
      bench_fail (bench, "download_async: %s", error->message);
      return;
    }
  info = g_file_query_info (download->file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                            G_FILE_QUERY_INFO_NONE, NULL, &error);
  if (info == NULL)
    {
      bench_fail (bench, "the downloaded file: %s", error->message);
      return;
    }
  bench_complete (bench, g_curl_transfer_get_status_code (download->transfer),
                  (guint64) g_file_info_get_size (info));
}

/* The file's SHA-256 against --sha256: outside the clock, as it is the
 * benchmark's check, not the client's work. */
static void
bench_check_sha256 (Bench *bench)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (1024 * 1024);
  FILE *f;
  size_t n;

  if (bench->sha256 == NULL || bench->failure != NULL)
    return;

  f = fopen (bench->output, "rb");
  if (f == NULL)
    {
      bench_fail (bench, "%s: %s", bench->output, g_strerror (errno));
      return;
    }
  while ((n = fread (buffer, 1, 1024 * 1024, f)) > 0)
    g_checksum_update (checksum, buffer, n);
  if (ferror (f))
    bench_fail (bench, "reading %s: %s", bench->output, g_strerror (errno));
  fclose (f);

  if (bench->failure == NULL &&
      g_ascii_strcasecmp (g_checksum_get_string (checksum), bench->sha256) != 0)
    bench_fail (bench, "%s has SHA-256 %s, expected %s", bench->output,
                g_checksum_get_string (checksum), bench->sha256);
}

static void
run_gcurl (Bench *bench)
{
  GCurlSourceBackend backend = bench->client == CLIENT_GCURL_EPOLL ?
                               G_CURL_SOURCE_BACKEND_EPOLL : G_CURL_SOURCE_BACKEND_FDS;
  g_autoptr(GCurlMulti) multi = NULL;
  GCurlStreamRead read = { bench, NULL, NULL, NULL, 0 };
  GCurlDownload download = { bench, NULL, NULL };

  /* Everything else is the library's default: for an https URL, transfers
   * to one HTTP/2 server multiplexed over one connection (multiplex). */
  multi = g_object_new (G_CURL_TYPE_MULTI,
                        "backend", backend,
                        "max-total-connections", bench->concurrency,
                        "max-host-connections", bench->concurrency,
                        "tls-ca-file", bench->ca_file,
                        NULL);
  bench->gcurl_multi = multi;
  if (g_curl_multi_get_backend (multi) != backend)
    {
      bench_fail (bench, "the multi did not take the %s backend",
                  client_names[bench->client]);
      return;
    }

  if (bench->workload == WORKLOAD_IDLE)
    {
      bench_idle_glib (bench);
      return;
    }

  /* One-time costs (type and class set-up) are not per-transfer costs. */
  g_object_unref (g_curl_transfer_new (bench->url));
  warm_up_proxy_resolver (bench);

  g_timeout_add_seconds (bench->timeout, on_timeout, bench);
  bench_start_clock (bench);

  if (bench->workload == WORKLOAD_BULK)
    {
      read.transfer = g_curl_transfer_new (bench->url);
      if (bench->buffer_size > 0)
        curl_easy_setopt (g_curl_transfer_get_handle (read.transfer),
                          CURLOPT_BUFFERSIZE, bench->buffer_size);
      read.buffer = g_malloc (STREAM_READ_SIZE);
      bench->started++;
      g_curl_multi_send_async (multi, read.transfer, NULL, on_gcurl_sent, &read);
    }
  else if (workload_saves_file (bench->workload))
    {
      download.transfer = g_curl_transfer_new (bench->url);
      download.file = g_file_new_for_path (bench->output);
      /* download: the transfer's defaults, one connection. */
      if (bench->workload == WORKLOAD_SEGMENTED)
        g_curl_transfer_set_segments (download.transfer, bench->segments);
      bench->started++;
      g_curl_multi_download_async (multi, download.transfer, download.file,
                                   G_CURL_DOWNLOAD_OVERWRITE, NULL, on_gcurl_downloaded,
                                   &download);
    }
  else
    {
      while (bench->started < bench->concurrency && !bench_all_started (bench))
        gcurl_start_one (bench, multi);
    }

  bench_iterate (bench);
  bench_stop_clock (bench);

  if (workload_saves_file (bench->workload))
    {
      bench_check_sha256 (bench);
      g_clear_object (&download.transfer);
      g_clear_object (&download.file);
    }

  if (read.stream != NULL)
    g_input_stream_close (read.stream, NULL, NULL);
  g_clear_object (&read.stream);
  g_clear_object (&read.transfer);
  g_free (read.buffer);
}

/* ------------------------------------------------------------------------ */
/* A plain libcurl loop                                                     */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Bench      *bench;
  GHashTable *running;    /* the set of running CurlTransfers it belongs to */
  CURL       *easy;
  GByteArray *body;       /* NULL for bulk: only counted */
  guint64     received;
} CurlTransfer;

static size_t
curl_write_cb (char   *data,
               size_t  size,
               size_t  nmemb,
               void   *user_data)
{
  CurlTransfer *transfer = user_data;
  size_t len = size * nmemb;

  if (transfer->body != NULL)
    {
      /* Reserve the announced size once, as an application would (and as
       * the library does), rather than grow the buffer step by step. */
      if (transfer->received == 0)
        {
          curl_off_t length = -1;

          curl_easy_getinfo (transfer->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
          if (length > 0 && length <= G_MAXUINT)
            g_byte_array_set_size (g_byte_array_set_size (transfer->body, (guint) length), 0);
        }
      g_byte_array_append (transfer->body, (const guint8 *) data, len);
    }
  transfer->received += len;
  return len;
}

static void
curl_transfer_free (CurlTransfer *transfer)
{
  curl_easy_cleanup (transfer->easy);
  if (transfer->body != NULL)
    g_byte_array_unref (transfer->body);
  g_free (transfer);
}

static void
curl_start_one (Bench      *bench,
                CURLM      *multi,
                GHashTable *running)
{
  CurlTransfer *transfer = g_new0 (CurlTransfer, 1);
  CURLMcode code;

  transfer->bench = bench;
  transfer->running = running;
  g_hash_table_add (running, transfer);
  transfer->easy = curl_easy_init ();
  if (bench->workload != WORKLOAD_BULK)
    transfer->body = g_byte_array_new ();

  curl_easy_setopt (transfer->easy, CURLOPT_URL, bench->url);
  curl_easy_setopt (transfer->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (transfer->easy, CURLOPT_WRITEFUNCTION, curl_write_cb);
  curl_easy_setopt (transfer->easy, CURLOPT_WRITEDATA, transfer);
  curl_easy_setopt (transfer->easy, CURLOPT_PRIVATE, transfer);
  curl_easy_setopt (transfer->easy, CURLOPT_USERAGENT, BENCH_USER_AGENT);
  /* As a GCurlMulti (and a SoupSession) asks by default: every encoding
   * libcurl decodes, so the requests are the same. */
  curl_easy_setopt (transfer->easy, CURLOPT_ACCEPT_ENCODING, "");
  if (bench->buffer_size > 0)
    curl_easy_setopt (transfer->easy, CURLOPT_BUFFERSIZE, bench->buffer_size);
  if (bench->ca_file != NULL)
    curl_easy_setopt (transfer->easy, CURLOPT_CAINFO, bench->ca_file);
  if (bench->workload == WORKLOAD_SMALL_H2)
    {
      /* HTTP/2 over TLS, and every transfer waits for the connection in
       * progress rather than open one of its own: what the library does
       * by default (GCurlMulti:multiplex). */
      curl_easy_setopt (transfer->easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
      curl_easy_setopt (transfer->easy, CURLOPT_PIPEWAIT, 1L);
    }
  else if (bench->workload == WORKLOAD_TLS)
    {
      curl_easy_setopt (transfer->easy, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt (transfer->easy, CURLOPT_FORBID_REUSE, 1L);
    }

  bench->started++;
  code = curl_multi_add_handle (multi, transfer->easy);
  if (code != CURLM_OK)
    bench_fail (bench, "curl_multi_add_handle: %s", curl_multi_strerror (code));
}

static void
curl_finish_one (Bench   *bench,
                 CURLM   *multi,
                 CURLMsg *message)
{
  CurlTransfer *transfer = NULL;
  long status = 0;

  curl_easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, (char **) &transfer);
  curl_easy_getinfo (message->easy_handle, CURLINFO_RESPONSE_CODE, &status);

  if (message->data.result != CURLE_OK)
    bench_fail (bench, "transfer %u failed: %s", bench->completed + 1,
                curl_easy_strerror (message->data.result));
  else
    {
      bench_check_curl (bench, message->easy_handle);
      bench_complete (bench, (guint) status, transfer->received);
    }

  curl_multi_remove_handle (multi, transfer->easy);
  g_hash_table_remove (transfer->running, transfer);
  curl_transfer_free (transfer);
}

static void
run_curl_multi (Bench *bench)
{
  CURLM *multi = curl_multi_init ();
  GHashTable *running = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key;

  curl_multi_setopt (multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) bench->concurrency);
  curl_multi_setopt (multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) bench->concurrency);
  if (bench->workload == WORKLOAD_SMALL_H2)
    curl_multi_setopt (multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);

  if (bench->workload == WORKLOAD_IDLE)
    {
      gint64 end;

      bench_start_clock (bench);
      end = bench->start_us + (gint64) (bench->duration * G_USEC_PER_SEC);
      while (g_get_monotonic_time () < end)
        {
          curl_multi_poll (multi, NULL, 0, CURL_POLL_TIMEOUT_MS, NULL);
          bench->wakeups++;
        }
      bench_stop_clock (bench);
      g_hash_table_unref (running);
      curl_multi_cleanup (multi);
      return;
    }

  /* As the other clients do, one handle made and freed before the clock. */
  curl_easy_cleanup (curl_easy_init ());

  bench_start_clock (bench);
  while (bench->started < bench->concurrency && !bench_all_started (bench))
    curl_start_one (bench, multi, running);

  while (!bench->done)
    {
      int still_running = 0;
      int queued = 0;
      CURLMsg *message;
      CURLMcode code;

      code = curl_multi_perform (multi, &still_running);
      if (code != CURLM_OK)
        {
          bench_fail (bench, "curl_multi_perform: %s", curl_multi_strerror (code));
          break;
        }

      while ((message = curl_multi_info_read (multi, &queued)) != NULL)
        if (message->msg == CURLMSG_DONE)
          {
            curl_finish_one (bench, multi, message);
            if (!bench->done && !bench_all_started (bench))
              curl_start_one (bench, multi, running);
          }

      if (bench->done)
        break;
      if (bench_timed_out (bench))
        {
          on_timeout (bench);
          break;
        }

      code = curl_multi_poll (multi, NULL, 0, CURL_POLL_TIMEOUT_MS, NULL);
      bench->wakeups++;
      if (code != CURLM_OK)
        bench_fail (bench, "curl_multi_poll: %s", curl_multi_strerror (code));
    }
  bench_stop_clock (bench);

  /* Anything left after a failure. */
  g_hash_table_iter_init (&iter, running);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      CurlTransfer *transfer = key;

      curl_multi_remove_handle (multi, transfer->easy);
      curl_transfer_free (transfer);
    }
  g_hash_table_unref (running);
  curl_multi_cleanup (multi);
}

/* ------------------------------------------------------------------------ */
/* libsoup 3                                                                */
/* ------------------------------------------------------------------------ */

#ifdef HAVE_SOUP

typedef struct
{
  Bench        *bench;
  SoupSession  *session;
  SoupMessage  *message;
  GInputStream *stream;      /* bulk */
  guint8       *buffer;      /* bulk */
  guint64       received;    /* bulk */
} SoupTransfer;

static void soup_start_one (Bench       *bench,
                            SoupSession *session);

static void
soup_transfer_free (SoupTransfer *transfer)
{
  g_clear_object (&transfer->message);
  g_clear_object (&transfer->stream);
  g_free (transfer->buffer);
  g_free (transfer);
}

/* What bench_check_curl() checks, for soup: the HTTP version and, for
 * tls, that the message went over a connection no other message used; the
 * connections are counted by their ids. */
static void
soup_check_message (Bench       *bench,
                    SoupMessage *message)
{
  long expected = workload_http_version (bench->workload);

  if (expected != 0)
    {
      SoupHTTPVersion version = soup_message_get_http_version (message);
      long have = version == SOUP_HTTP_2_0 ? CURL_HTTP_VERSION_2_0 :
                  version == SOUP_HTTP_1_1 ? CURL_HTTP_VERSION_1_1 :
                  version == SOUP_HTTP_1_0 ? CURL_HTTP_VERSION_1_0 : 0;

      if (have != expected)
        bench_fail (bench, "transfer %u: %s, expected %s", bench->completed + 1,
                    http_version_name (have), http_version_name (expected));
    }
  if (expected != 0)
    {
      guint64 id = soup_message_get_connection_id (message);
      gboolean new_id = g_hash_table_add (bench->connection_ids, GSIZE_TO_POINTER ((gsize) id));

      if (id == 0)
        bench_fail (bench, "transfer %u: no connection id", bench->completed + 1);
      else if (bench->workload == WORKLOAD_TLS && !new_id)
        bench_fail (bench, "transfer %u: connection %" G_GUINT64_FORMAT " used before, "
                    "expected a new one", bench->completed + 1, id);
      bench->connections = g_hash_table_size (bench->connection_ids);
    }
}

static void
on_soup_read_all (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SoupTransfer *transfer = user_data;
  Bench *bench = transfer->bench;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source),
                                                              result, &error);

  if (body == NULL)
    bench_fail (bench, "transfer %u failed: %s", bench->completed + 1, error->message);
  else
    {
      soup_check_message (bench, transfer->message);
      bench_complete (bench, soup_message_get_status (transfer->message),
                      g_bytes_get_size (body));
    }

  if (!bench->done && !bench_all_started (bench))
    soup_start_one (bench, transfer->session);
  soup_transfer_free (transfer);
}

static void
soup_start_one (Bench       *bench,
                SoupSession *session)
{
  SoupTransfer *transfer = g_new0 (SoupTransfer, 1);

  transfer->bench = bench;
  transfer->session = session;
  transfer->message = soup_message_new ("GET", bench->url);
  if (bench->workload == WORKLOAD_TLS)
    soup_message_add_flags (transfer->message, SOUP_MESSAGE_NEW_CONNECTION);
  bench->started++;
  soup_session_send_and_read_async (session, transfer->message, G_PRIORITY_DEFAULT,
                                    NULL, on_soup_read_all, transfer);
}

static void soup_read_next (SoupTransfer *transfer);

static void
on_soup_stream_read (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  SoupTransfer *transfer = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      bench_fail (transfer->bench, "reading the body: %s", error->message);
      return;
    }
  if (n > 0)
    {
      transfer->received += n;
      soup_read_next (transfer);
      return;
    }
  bench_complete (transfer->bench, soup_message_get_status (transfer->message),
                  transfer->received);
}

static void
soup_read_next (SoupTransfer *transfer)
{
  g_input_stream_read_async (transfer->stream, transfer->buffer, STREAM_READ_SIZE,
                             G_PRIORITY_DEFAULT, NULL, on_soup_stream_read, transfer);
}

static void
on_soup_sent (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SoupTransfer *transfer = user_data;
  g_autoptr(GError) error = NULL;

  transfer->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (transfer->stream == NULL)
    {
      bench_fail (transfer->bench, "send_async: %s", error->message);
      return;
    }
  soup_read_next (transfer);
}

static void
run_soup (Bench *bench)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  SoupTransfer *bulk = NULL;

  /* https: the server's CA as the only one trusted, like the libcurl
   * clients' CURLOPT_CAINFO. libsoup 3 speaks HTTP/2 where ALPN says so. */
  if (bench->ca_file != NULL)
    {
      database = g_tls_file_database_new (bench->ca_file, &error);
      if (database == NULL)
        {
          bench_fail (bench, "%s: %s", bench->ca_file, error->message);
          return;
        }
    }
  session = soup_session_new_with_options ("max-conns", (int) bench->concurrency,
                                           "max-conns-per-host", (int) bench->concurrency,
                                           "user-agent", BENCH_USER_AGENT,
                                           NULL);
  if (database != NULL)
    soup_session_set_tls_database (session, database);
  if (bench->workload == WORKLOAD_IDLE)
    {
      bench_idle_glib (bench);
      return;
    }

  /* One-time costs (type and class set-up) are not per-transfer costs. */
  g_object_unref (soup_message_new ("GET", bench->url));
  warm_up_proxy_resolver (bench);

  g_timeout_add_seconds (bench->timeout, on_timeout, bench);
  bench->connection_ids = g_hash_table_new (NULL, NULL);
  bench_start_clock (bench);

  if (bench->workload == WORKLOAD_BULK)
    {
      bulk = g_new0 (SoupTransfer, 1);
      bulk->bench = bench;
      bulk->session = session;
      bulk->message = soup_message_new ("GET", bench->url);
      bulk->buffer = g_malloc (STREAM_READ_SIZE);
      bench->started++;
      soup_session_send_async (session, bulk->message, G_PRIORITY_DEFAULT, NULL,
                               on_soup_sent, bulk);
    }
  else
    {
      while (bench->started < bench->concurrency && !bench_all_started (bench))
        soup_start_one (bench, session);
    }

  bench_iterate (bench);
  bench_stop_clock (bench);

  if (bulk != NULL)
    {
      if (bulk->stream != NULL)
        g_input_stream_close (bulk->stream, NULL, NULL);
      soup_transfer_free (bulk);
    }
  soup_session_abort (session);
  g_clear_pointer (&bench->connection_ids, g_hash_table_unref);
}

#endif /* HAVE_SOUP */

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

static gboolean
parse_name (const char         *value,
            const char * const *names,
            guint               n_names,
            guint              *out)
{
  for (guint i = 0; i < n_names; i++)
    if (g_strcmp0 (value, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

/* 5 000 sockets need more descriptors than the usual soft limit of 1 024. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        g_printerr ("setrlimit (RLIMIT_NOFILE): %s\n", g_strerror (errno));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *client = NULL;
  g_autofree char *workload = NULL;
  int count = 1;
  int concurrency = 1;
  gint64 size = 0;
  int timeout = DEFAULT_TIMEOUT_S;
  double duration = DEFAULT_IDLE_DURATION_S;
  int buffer_size = 0;
  int segments = 1;
  g_autofree char *output = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Bench bench = { 0 };
  guint value;
  const GOptionEntry entries[] = {
    { "client", 0, 0, G_OPTION_ARG_STRING, &client,
      "gcurl-epoll, gcurl-fds, curl-multi or soup", "CLIENT" },
    { "workload", 0, 0, G_OPTION_ARG_STRING, &workload,
      "small, small-h2, tls, bulk, many-slow, idle, memory, download or segmented",
      "WORKLOAD" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "What every transfer fetches", "URL" },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, "Transfers in all (default 1)", "N" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency,
      "Transfers in flight at once, and the connection limit (default 1)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT64, &size, "Bytes every body must have", "BYTES" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration,
      "Idle workload: seconds (default 5)", "S" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      "Fail the run after this many seconds (default 300)", "S" },
    { "buffer-size", 0, 0, G_OPTION_ARG_INT, &buffer_size,
      "Diagnostic, not used by bench/run: CURLOPT_BUFFERSIZE for every libcurl "
      "handle (curl-multi, gcurl-*)", "BYTES" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output,
      "Segmented and download workloads: the file to save", "PATH" },
    { "segments", 0, 0, G_OPTION_ARG_INT, &segments,
      "Segmented workload: connections to the file at once (default 1)", "N" },
    { "sha256", 0, 0, G_OPTION_ARG_STRING, &sha256,
      "Segmented and download workloads: the SHA-256 the saved file must have", "HEX" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      "https: the only certificate authorities to trust (PEM)", "PATH" },
    G_OPTION_ENTRY_NULL
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- one libgcurlmulti benchmark run");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (!parse_name (client, client_names, G_N_ELEMENTS (client_names), &value))
    {
      g_printerr ("--client: one of gcurl-epoll, gcurl-fds, curl-multi, soup\n");
      return 2;
    }
  bench.client = value;
  if (!parse_name (workload, workload_names, G_N_ELEMENTS (workload_names), &value))
    {
      g_printerr ("--workload: one of small, small-h2, tls, bulk, many-slow, idle, memory, "
                  "download, segmented\n");
      return 2;
    }
  bench.workload = value;
  if (bench.workload != WORKLOAD_IDLE && (url == NULL || size <= 0))
    {
      g_printerr ("--url and --size are needed for the %s workload\n", workload);
      return 2;
    }
  if (count < 1 || concurrency < 1 || timeout < 1 || duration <= 0)
    {
      g_printerr ("--count, --concurrency, --timeout and --duration must be positive\n");
      return 2;
    }
  if (workload_saves_file (bench.workload) &&
      (output == NULL || segments < 1 || segments > 16 ||
       (bench.client != CLIENT_GCURL_EPOLL && bench.client != CLIENT_GCURL_FDS)))
    {
      g_printerr ("the segmented and download workloads are for the gcurl clients, with "
                  "--output and --segments from 1 to 16\n");
      return 2;
    }
  if ((bench.workload == WORKLOAD_SMALL_H2 || bench.workload == WORKLOAD_TLS) &&
      (url == NULL || g_ascii_strncasecmp (url, "https:", 6) != 0))
    {
      g_printerr ("the %s workload needs an https --url\n", workload);
      return 2;
    }
#ifndef HAVE_SOUP
  if (bench.client == CLIENT_SOUP)
    {
      g_printerr ("built without libsoup 3\n");
      return 2;
    }
#endif

  bench.url = url;
  bench.count = bench.workload == WORKLOAD_BULK || workload_saves_file (bench.workload) ? 1 :
                bench.workload == WORKLOAD_IDLE ? 0 : (guint) count;
  bench.concurrency = (guint) concurrency;
  bench.size = size;
  bench.duration = duration;
  bench.timeout = (guint) timeout;
  bench.buffer_size = MAX (buffer_size, 0);
  bench.output = output;
  bench.segments = (guint) segments;
  bench.sha256 = sha256;
  bench.ca_file = ca_file;

  raise_fd_limit ();
  curl_global_init (CURL_GLOBAL_DEFAULT);

  switch (bench.client)
    {
    case CLIENT_GCURL_EPOLL:
    case CLIENT_GCURL_FDS:
      run_gcurl (&bench);
      break;
    case CLIENT_CURL_MULTI:
      run_curl_multi (&bench);
      break;
    case CLIENT_SOUP:
#ifdef HAVE_SOUP
      run_soup (&bench);
#endif
      break;
    default:
      g_assert_not_reached ();
    }

  if (bench.failure == NULL && bench.completed != bench.count)
    bench_fail (&bench, "%u of %u transfers completed", bench.completed, bench.count);

  bench_print (&bench);
  if (bench.failure != NULL)
    g_printerr ("gcurl-bench: %s: %s\n", client_names[bench.client], bench.failure);

  curl_global_cleanup ();
  g_free (bench.failure);
  return bench.failure == NULL ? 0 : 1;
}
