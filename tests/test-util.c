/* test-util.c: helpers shared by the test programs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <malloc.h>
#include <string.h>

#include <glib/gstdio.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "test-util.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#ifdef HAVE_ASAN
/* From <sanitizer/allocator_interface.h>: ASan's allocator replaces
 * glibc's, whose mallinfo2() then reports nothing. */
size_t __sanitizer_get_current_allocated_bytes (void);
#endif

static TestServer *fixture_server;

void
test_util_set_server (TestServer *server)
{
  fixture_server = server;
}

void
test_fixture_setup (TestFixture   *fixture,
                    gconstpointer  data)
{
  test_init_gio_singletons ();
  fixture->fds_before = test_count_open_fds (fixture_server);
  fixture->multi = g_curl_multi_new ();
  g_object_add_weak_pointer (G_OBJECT (fixture->multi), (gpointer *) &fixture->multi);
}

/* Every GCurlMulti uses the process's network monitor and proxy resolver:
 * made once, up front, their fds (a netlink socket…) are part of the
 * baseline of the fd-leak checks, not a leak of the first multi. */
void
test_init_gio_singletons (void)
{
  g_network_monitor_get_default ();
  g_proxy_resolver_get_default ();
}

void
test_fixture_teardown (TestFixture   *fixture,
                       gconstpointer  data)
{
  if (fixture->multi != NULL)
    {
      g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
      g_object_unref (fixture->multi);
    }
  /* Nothing else may hold the multi once its transfers are done. */
  g_assert_null (fixture->multi);
  /* Cached connections, epoll fds and sockets are gone with it. */
  test_assert_fds_back_to (fixture_server, fixture->fds_before);
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
test_run_until (gboolean *flag)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (TEST_TIMEOUT_S);

  g_source_set_callback (timeout, timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, context);

  while (!*flag && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_unref (context);

  if (timed_out)
    g_error ("Timed out after %d s waiting for the test's condition", TEST_TIMEOUT_S);
}

static void
finished_flag_cb (GCurlTransfer *transfer,
                  gpointer       user_data)
{
  *(gboolean *) user_data = TRUE;
}

void
test_set_flag (gboolean *flag)
{
  *flag = TRUE;
}

void
test_run_until_finished (GCurlTransfer *transfer)
{
  gboolean finished = FALSE;
  gulong id = g_signal_connect (transfer, "finished",
                                G_CALLBACK (finished_flag_cb), &finished);

  test_run_until (&finished);
  g_signal_handler_disconnect (transfer, id);
}

void
test_run_for (guint ms)
{
  gboolean done = FALSE;
  GMainContext *context = g_main_context_ref_thread_default ();
  GSource *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, timeout_cb, &done, NULL);
  g_source_attach (timeout, context);
  while (!done)
    g_main_context_iteration (context, TRUE);
  g_source_unref (timeout);
  g_main_context_unref (context);
}

guint
test_count_iterations (guint ms)
{
  gboolean done = FALSE;
  GMainContext *context = g_main_context_ref_thread_default ();
  GSource *timeout;
  guint n = 0;

  /* Whatever is already pending (GLib wakes the loop once when a source
   * adds or removes an fd) is not an idle wakeup. */
  while (g_main_context_pending (context))
    g_main_context_iteration (context, FALSE);

  timeout = g_timeout_source_new (ms);
  g_source_set_callback (timeout, timeout_cb, &done, NULL);
  g_source_attach (timeout, context);
  while (!done)
    {
      g_main_context_iteration (context, TRUE);
      n++;
    }
  g_source_unref (timeout);
  g_main_context_unref (context);

  /* The iteration that dispatched the timeout itself is not a wakeup of
   * the code under test. */
  return n - 1;
}

static guint16
port_of (const char *uri)
{
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);

  return parsed ? (guint16) g_uri_get_port (parsed) : 0;
}

/* Inodes of the TCP sockets, each mapped to whether its local port is one
 * of @ports (a server's end). */
static GHashTable *
tcp_socket_inodes (const guint16 *ports,
                   guint          n_ports)
{
  GHashTable *inodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *tables[] = { "/proc/self/net/tcp", "/proc/self/net/tcp6" };
  guint t;

  for (t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;
      guint i;

      if (!g_file_get_contents (tables[t], &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (i = 1; lines[i] != NULL; i++)
        {
          g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          GPtrArray *cols = g_ptr_array_new ();
          const char *colon;
          guint j, port;

          for (j = 0; fields[j] != NULL; j++)
            if (fields[j][0] != '\0')
              g_ptr_array_add (cols, fields[j]);
          if (cols->len < 10)
            {
              g_ptr_array_unref (cols);
              continue;
            }
          colon = strrchr (g_ptr_array_index (cols, 1), ':');
          port = colon ? (guint) g_ascii_strtoull (colon + 1, NULL, 16) : 0;
          {
            gboolean is_server = FALSE;

            for (j = 0; j < n_ports; j++)
              is_server |= port == ports[j];
            g_hash_table_insert (inodes,
                                 g_strdup_printf ("socket:[%s]", (char *) g_ptr_array_index (cols, 9)),
                                 GINT_TO_POINTER (is_server));
          }
          g_ptr_array_unref (cols);
        }
    }

  return inodes;
}

guint
test_count_open_fds (TestServer *server)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  GHashTable *tcp = NULL;
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  if (server != NULL)
    {
      guint16 ports[3];

      ports[0] = port_of (test_server_get_uri (server));
      ports[1] = port_of (test_server_get_uri2 (server));
      ports[2] = port_of (test_server_get_raw_uri (server));
      tcp = tcp_socket_inodes (ports, G_N_ELEMENTS (ports));
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      /* Not the directory's own fd. */
      if (target == NULL || (g_str_has_prefix (target, "/proc/") && g_str_has_suffix (target, "/fd")))
        continue;
      /* Not the server's ends, nor sockets that have left the TCP table:
       * those are the server's ends of reset connections that its thread
       * has not closed yet (our own closed sockets are not open fds). */
      if (tcp != NULL && g_str_has_prefix (target, "socket:"))
        {
          gpointer is_server;

          if (!g_hash_table_lookup_extended (tcp, target, NULL, &is_server) ||
              GPOINTER_TO_INT (is_server))
            continue;
        }
      if (g_getenv ("TEST_DEBUG_FDS"))
        g_printerr ("fd %s -> %s\n", name, target);
      n++;
    }

  g_clear_pointer (&tcp, g_hash_table_unref);

  return n;
}

void
test_assert_fds_back_to (TestServer *server,
                         guint       expected)
{
  gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;

  /* The server thread closes its ends asynchronously: give it a moment.
   * Fewer than before is no leak: an fd GIO's own threads had open when
   * the baseline was counted (loading the proxy configuration, say) may be
   * closed since; seen once on a loaded CI machine (12 against 13). */
  while (test_count_open_fds (server) > expected && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (test_count_open_fds (server), <=, expected);
}

void
test_run_transfer (GCurlMulti    *multi,
                   GCurlTransfer *transfer)
{
  gboolean finished = FALSE;
  gulong id = g_signal_connect (transfer, "finished",
                                G_CALLBACK (finished_flag_cb), &finished);

  g_curl_multi_add_transfer (multi, transfer);
  test_run_until (&finished);
  g_signal_handler_disconnect (transfer, id);
}

void
test_assert_pattern_body (GCurlTransfer *transfer,
                          guint64        len)
{
  g_autoptr(GBytes) body = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = g_curl_transfer_get_body (transfer);
  g_assert_nonnull (body);
  g_assert_cmpuint (g_bytes_get_size (body), ==, len);
  expected = test_pattern_sha256 (0, len);
  actual = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_assert_cmpstr (actual, ==, expected);
}

void
test_assert_transfer_error (GCurlTransfer      *transfer,
                            GQuark              domain,
                            int                 code,
                            GCurlTransferState  state)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  g_assert_error ((GError *) error, domain, code);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, state);
  g_assert_null (g_curl_transfer_get_body (transfer));
}

void
test_send_and_read_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  TestSendAndRead *ar = user_data;

  ar->bytes = g_curl_multi_send_and_read_finish (G_CURL_MULTI (source), result, &ar->error);
  ar->done = TRUE;
}

void
test_send_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  TestSend *sr = user_data;

  sr->stream = g_curl_multi_send_finish (G_CURL_MULTI (source), result, &sr->error);
  sr->done = TRUE;
}

GInputStream *
test_send_and_wait (GCurlMulti    *multi,
                    GCurlTransfer *transfer,
                    GCancellable  *cancellable,
                    GError       **error)
{
  TestSend sr = { 0, };

  g_curl_multi_send_async (multi, transfer, cancellable, test_send_cb, &sr);
  g_assert_false (sr.done);
  test_run_until (&sr.done);
  if (sr.error != NULL)
    g_propagate_error (error, sr.error);

  return sr.stream;
}

static void read_next (GInputStream *stream, TestReadAll *ra);

static void
read_bytes_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  TestReadAll *ra = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source),
                                                              result, &ra->error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      ra->done = TRUE;
      return;
    }
  g_byte_array_append (ra->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (ra->delay_ms > 0)
    g_usleep (ra->delay_ms * 1000);
  read_next (G_INPUT_STREAM (source), ra);
}

static void
read_next (GInputStream *stream,
           TestReadAll  *ra)
{
  g_input_stream_read_bytes_async (stream, ra->chunk ? ra->chunk : 65536, G_PRIORITY_DEFAULT,
                                   NULL, read_bytes_cb, ra);
}

void
test_read_to_end (GInputStream *stream,
                  TestReadAll  *ra)
{
  ra->data = g_byte_array_new ();
  read_next (stream, ra);
  test_run_until (&ra->done);
}

static void
recorder_progress_cb (GCurlTransfer *transfer,
                      gint64         downloaded,
                      gint64         download_size,
                      gint64         uploaded,
                      gint64         upload_size,
                      gpointer       user_data)
{
  TestRecorder *recorder = user_data;

  recorder->n_progress++;
  g_ptr_array_add (recorder->events,
                   g_strdup_printf ("progress:%" G_GINT64_FORMAT, downloaded));
}

static void
recorder_headers_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  TestRecorder *recorder = user_data;

  recorder->n_got_headers++;
  g_ptr_array_add (recorder->events,
                   g_strdup_printf ("headers:%u", g_curl_transfer_get_status_code (transfer)));
}

static void
recorder_finished_cb (GCurlTransfer *transfer,
                      gpointer       user_data)
{
  TestRecorder *recorder = user_data;
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_CURL_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, g_curl_transfer_get_state (transfer));

  recorder->n_finished++;
  recorder->finished = TRUE;
  g_ptr_array_add (recorder->events,
                   g_strdup_printf ("finished:%s", value->value_nick));
}

void
test_recorder_attach (TestRecorder  *recorder,
                      GCurlTransfer *transfer)
{
  memset (recorder, 0, sizeof (*recorder));
  recorder->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (transfer, "progress", G_CALLBACK (recorder_progress_cb), recorder);
  g_signal_connect (transfer, "got-headers", G_CALLBACK (recorder_headers_cb), recorder);
  g_signal_connect (transfer, "finished", G_CALLBACK (recorder_finished_cb), recorder);
}

void
test_recorder_clear (TestRecorder *recorder)
{
  g_clear_pointer (&recorder->events, g_ptr_array_unref);
}

/* The events with runs of progress folded: "headers:200 progress* finished:succeeded". */
char *
test_recorder_summary (TestRecorder *recorder)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < recorder->events->len; i++)
    {
      const char *ev = g_ptr_array_index (recorder->events, i);

      if (g_str_has_prefix (ev, "progress:"))
        {
          if (g_str_has_suffix (s->str, "progress*"))
            continue;
          ev = "progress*";
        }
      if (s->len > 0)
        g_string_append_c (s, ' ');
      g_string_append (s, ev);
    }

  return g_string_free (s, FALSE);
}

const char *
test_backend_name (void)
{
  const char *env = g_getenv ("GCURL_BACKEND");

  return env ? env : "default";
}

gboolean
test_running_on_valgrind (void)
{
#ifdef HAVE_VALGRIND_H
  if (RUNNING_ON_VALGRIND)
    return TRUE;
#endif
  return g_getenv ("GCURL_TEST_VALGRIND") != NULL;
}

gboolean
test_running_under_asan (void)
{
#ifdef HAVE_ASAN
  return TRUE;
#else
  return FALSE;
#endif
}

gsize
test_heap_in_use (void)
{
#ifdef HAVE_ASAN
  return __sanitizer_get_current_allocated_bytes ();
#else
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
#endif
}

gboolean
test_skip_under_valgrind (const char *why)
{
  g_autofree char *message = NULL;

  if (!test_running_on_valgrind ())
    return FALSE;

  message = g_strdup_printf ("under valgrind: %s", why);
  g_test_skip (message);
  return TRUE;
}

/* The pattern as a stream. */

typedef struct
{
  GInputStream parent_instance;
  guint64      len;
  guint64      offset;
  gint64       fail_at;
} TestPatternStream;

typedef GInputStreamClass TestPatternStreamClass;

GType test_pattern_stream_get_type (void);
G_DEFINE_TYPE (TestPatternStream, test_pattern_stream, G_TYPE_INPUT_STREAM)

static gssize
test_pattern_stream_read (GInputStream  *stream,
                          void          *buffer,
                          gsize          count,
                          GCancellable  *cancellable,
                          GError       **error)
{
  TestPatternStream *self = (TestPatternStream *) stream;
  gsize n = MIN (count, self->len - self->offset);

  if (self->fail_at >= 0 && self->offset >= (guint64) self->fail_at)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "test stream failure");
      return -1;
    }
  if (self->fail_at >= 0)
    n = MIN (n, (guint64) self->fail_at - self->offset);

  test_pattern_fill (self->offset, buffer, n);
  self->offset += n;
  return n;
}

static void
test_pattern_stream_class_init (TestPatternStreamClass *klass)
{
  klass->read_fn = test_pattern_stream_read;
}

static void
test_pattern_stream_init (TestPatternStream *self)
{
}

GInputStream *
test_pattern_stream_new (guint64 len,
                         gint64  fail_at)
{
  TestPatternStream *self = g_object_new (test_pattern_stream_get_type (), NULL);

  self->len = len;
  self->fail_at = fail_at;
  return G_INPUT_STREAM (self);
}

/* A CURLM of the test's own */

static gboolean
test_raw_multi_message_cb (CURLMsg  *message,
                           gpointer  user_data)
{
  TestRawMulti *raw = user_data;
  CURLcode result = message->data.result;
  CURL *easy = message->easy_handle;

  g_assert_cmpint (message->msg, ==, CURLMSG_DONE);
  /* The callback may call into libcurl: it runs outside libcurl. */
  g_assert_cmpint (curl_multi_remove_handle (raw->multi, easy), ==, CURLM_OK);
  g_ptr_array_add (raw->done, easy);
  g_array_append_val (raw->results, result);

  return raw->remove_source ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

void
test_raw_multi_init (TestRawMulti *raw)
{
  memset (raw, 0, sizeof *raw);
  raw->multi = curl_multi_init ();
  raw->source = g_curl_source_new (raw->multi);
  raw->done = g_ptr_array_new ();
  raw->results = g_array_new (FALSE, FALSE, sizeof (CURLcode));
  g_source_set_callback (raw->source, G_SOURCE_FUNC (test_raw_multi_message_cb), raw, NULL);
  g_source_attach (raw->source, NULL);
}

void
test_raw_multi_clear (TestRawMulti *raw)
{
  g_source_destroy (raw->source);
  g_source_unref (raw->source);
  curl_multi_cleanup (raw->multi);
  g_ptr_array_unref (raw->done);
  g_array_unref (raw->results);
}

void
test_raw_multi_wait_for (TestRawMulti *raw,
                         guint         n)
{
  gboolean timed_out = FALSE;
  gint64 deadline = g_get_monotonic_time () + TEST_TIMEOUT_S * G_USEC_PER_SEC;

  while (raw->done->len < n && !timed_out)
    {
      g_main_context_iteration (NULL, TRUE);
      timed_out = g_get_monotonic_time () > deadline;
    }
  g_assert_false (timed_out);
}

static size_t
test_string_write_cb (char   *data,
                      size_t  size,
                      size_t  nmemb,
                      void   *user_data)
{
  g_string_append_len (user_data, data, size * nmemb);
  return size * nmemb;
}

CURL *
test_raw_easy_new (const char *url,
                   GString    *sink)
{
  CURL *easy = curl_easy_init ();

  curl_easy_setopt (easy, CURLOPT_URL, url);
  curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, test_string_write_cb);
  curl_easy_setopt (easy, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);

  return easy;
}

void
test_assert_pattern_string (GString *s,
                            guint64  len)
{
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guint8 *) s->str, s->len);
  g_autofree char *expected = test_pattern_sha256 (0, len);

  g_assert_cmpuint (s->len, ==, len);
  g_assert_cmpstr (sum, ==, expected);
}

GCurlTransfer *
test_transfer_new_printf (TestServer *server,
                          const char *format,
                          ...)
{
  va_list args;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;

  va_start (args, format);
  path = g_strdup_vprintf (format, args);
  va_end (args);
  url = g_strconcat (test_server_get_uri (server), path, NULL);

  return g_curl_transfer_new (url);
}

char *
test_body_string (GCurlTransfer *transfer)
{
  g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

  g_assert_nonnull (body);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

guint64
test_proc_status_kib (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, key);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (key), NULL, 10);
}

void
test_readd_once_in_finished_cb (GCurlTransfer *transfer,
                                gpointer       user_data)
{
  GCurlMulti *multi = user_data;

  g_signal_handlers_disconnect_by_func (transfer, test_readd_once_in_finished_cb, user_data);
  g_curl_multi_add_transfer (multi, transfer);
}

long
test_transfer_get_info_long (GCurlTransfer *transfer,
                             CURLINFO       info)
{
  long value = -1;

  g_assert_cmpint (curl_easy_getinfo (g_curl_transfer_get_handle (transfer), info, &value),
                   ==, CURLE_OK);

  return value;
}

void
test_record_time_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  *(gint64 *) user_data = g_get_monotonic_time ();
}

gboolean
test_run_openssl (const char         *dir,
                  const char * const *args,
                  GError            **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *output = NULL;
  int wait_status;

  g_strv_builder_add (builder, "openssl");
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);

  if (!g_spawn_sync (dir, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &output, &wait_status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (wait_status, error))
    {
      g_prefix_error (error, "openssl %s: %s: ", args[0], output);
      return FALSE;
    }

  return TRUE;
}

gboolean
test_make_ca_and_server (const char  *dir,
                         const char  *alt_names,
                         GError     **error)
{
  g_autofree char *san = g_strconcat ("subjectAltName=", alt_names, NULL);
  const char *ca_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
    "-subj", "/CN=libgcurlmulti test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    NULL
  };
  const char *server_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "server.key", "-out", "server.pem",
    "-subj", "/CN=localhost", "-CA", "ca.pem", "-CAkey", "ca.key",
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "extendedKeyUsage=serverAuth",
    "-addext", san,
    NULL
  };

  return test_run_openssl (dir, ca_args, error) && test_run_openssl (dir, server_args, error);
}

void
test_assert_file_is_pattern (const char *path,
                             guint64     len)
{
  g_autofree char *contents = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, len);
  gsize size = 0;

  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  g_assert_cmpuint (size, ==, len);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, size);
  g_assert_cmpstr (sum, ==, expected);
}
