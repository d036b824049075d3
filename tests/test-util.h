/* test-util.h: helpers shared by the test programs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gcurlmulti.h>

#include "test-server.h"

G_BEGIN_DECLS

/* The fixture of most tests: a multi on the thread-default context, and
 * on teardown the checks that it was freed and that no fd leaked. */
typedef struct
{
  GCurlMulti *multi;
  guint       fds_before;
} TestFixture;

/* The server whose sockets the fd checks leave out; set by main(). */
void     test_util_set_server     (TestServer      *server);
void     test_fixture_setup       (TestFixture     *fixture,
                                   gconstpointer    data);
void     test_fixture_teardown    (TestFixture     *fixture,
                                   gconstpointer    data);

/* Bound for any one wait: a test that needs longer is broken. */
#define TEST_TIMEOUT_S 60

/* Iterates the thread-default main context until *flag is TRUE; fails the
 * test if that takes more than TEST_TIMEOUT_S seconds. */
void     test_run_until           (gboolean        *flag);
/* Sets *@flag: for g_signal_connect_swapped (…, "finished", …, &flag). */
void     test_set_flag            (gboolean        *flag);
/* Iterates until the transfer has emitted "finished". */
void     test_run_until_finished  (GCurlTransfer   *transfer);
/* Iterates the context for @ms milliseconds. */
void     test_run_for             (guint            ms);
/* How many iterations the context makes in @ms milliseconds of running. */
guint    test_count_iterations    (guint            ms);

/* Open file descriptors of this process, not counting the server side of
 * @server's connections (libsoup keeps closed connections in CLOSE-WAIT). */
guint    test_count_open_fds      (TestServer      *server);
/* Asserts that the fd count settles back to @expected within a second. */
void     test_assert_fds_back_to  (TestServer      *server,
                                   guint            expected);

/* A transfer of the URL on @server's origin A whose path is @format
 * printed, e.g. ("/bytes/%d", 1000). */
GCurlTransfer *test_transfer_new_printf (TestServer *server,
                                         const char *format,
                                         ...) G_GNUC_PRINTF (2, 3);

/* A "finished" handler that disconnects itself and adds the transfer to
 * the GCurlMulti @user_data again: an application that retries once from
 * its own handler. */
void     test_readd_once_in_finished_cb (GCurlTransfer *transfer,
                                         gpointer       user_data);

/* curl_easy_getinfo() of a long (CURLINFO_LOCAL_PORT,
 * CURLINFO_HTTP_VERSION…) of @transfer's handle; asserts that it works. */
long     test_transfer_get_info_long (GCurlTransfer *transfer,
                                      CURLINFO       info);
/* A handler of a signal without arguments ("finished", "got-headers")
 * that stores g_get_monotonic_time() in the gint64 @user_data. */
void     test_record_time_cb      (GCurlTransfer   *transfer,
                                   gpointer         user_data);

/* Runs @transfer on @multi and waits for "finished". */
void     test_init_gio_singletons (void);
void     test_run_transfer        (GCurlMulti      *multi,
                                   GCurlTransfer   *transfer);

/* Asserts that the file @path holds exactly the first @len pattern bytes. */
void     test_assert_file_is_pattern (const char   *path,
                                      guint64       len);
/* Asserts the transfer succeeded with a pattern body of @len bytes. */
void     test_assert_pattern_body (GCurlTransfer   *transfer,
                                   guint64          len);
/* The transfer's body as a string (it must have one), e.g. what /echo
 * said. Free it with g_free(). */
char    *test_body_string         (GCurlTransfer   *transfer);
/* Asserts the transfer ended in @state with the error @domain/@code, a
 * message, and no body. */
void     test_assert_transfer_error (GCurlTransfer      *transfer,
                                     GQuark              domain,
                                     int                 code,
                                     GCurlTransferState  state);

/* The result of g_curl_multi_send_and_read_async(), as
 * test_send_and_read_cb() stores it. */
typedef struct
{
  GBytes  *bytes;
  GError  *error;
  gboolean done;
} TestSendAndRead;

void     test_send_and_read_cb    (GObject         *source,
                                   GAsyncResult    *result,
                                   gpointer         user_data);

/* What g_curl_multi_send_async() gave test_send_cb(). */
typedef struct
{
  GInputStream *stream;
  GError       *error;
  gboolean      done;
} TestSend;

void     test_send_cb             (GObject         *source,
                                   GAsyncResult    *result,
                                   gpointer         user_data);

/* Runs g_curl_multi_send_async() and waits for its stream or error. */
GInputStream *test_send_and_wait  (GCurlMulti      *multi,
                                   GCurlTransfer   *transfer,
                                   GCancellable    *cancellable,
                                   GError         **error);

/* Reads a stream to its end or its first error with async reads of @chunk
 * bytes (0: 64 KiB), sleeping @delay_ms after each one (a slow reader). */
typedef struct
{
  GByteArray *data;
  GError     *error;
  gboolean    done;
  guint       delay_ms;
  gsize       chunk;
} TestReadAll;

void     test_read_to_end         (GInputStream    *stream,
                                   TestReadAll     *ra);

/* Records every signal of a transfer as a string: "headers", "progress",
 * "finished:STATE". */
typedef struct
{
  GPtrArray *events;
  guint      n_progress;
  guint      n_finished;
  guint      n_got_headers;
  gboolean   finished;
} TestRecorder;

void     test_recorder_attach     (TestRecorder    *recorder,
                                   GCurlTransfer   *transfer);
void     test_recorder_clear      (TestRecorder    *recorder);
char    *test_recorder_summary    (TestRecorder    *recorder);

const char *test_backend_name     (void);

/* TRUE when the process runs under valgrind (RUNNING_ON_VALGRIND, or
 * GCURL_TEST_VALGRIND set by the 'valgrind' test setup). */
gboolean test_running_on_valgrind (void);
/* Under valgrind, skips the current test with g_test_skip() and @why, and
 * returns TRUE (the test must return at once); otherwise returns FALSE.
 * For the tests that move hundreds of MiB: under valgrind they would take
 * many minutes and check nothing the smaller tests do not. */
gboolean test_skip_under_valgrind (const char *why);

/* TRUE in a build with AddressSanitizer, whose quarantine and shadow
 * memory make the RSS say nothing about the program's own memory. */
gboolean test_running_under_asan  (void);
/* Bytes of heap in use: glibc's arenas (small chunks and mmapped ones,
 * from mallinfo2()), or ASan's allocator in an ASan build. Under valgrind
 * it is memcheck's allocator: meaningless. */
gsize    test_heap_in_use         (void);

/* A figure in KiB from /proc/self/status, e.g. "VmRSS" (the resident set
 * size) or "VmHWM" (its peak). */
guint64  test_proc_status_kib     (const char      *field);

/* A stream of @len pattern bytes made as it is read (nothing held in
 * memory), not seekable; it fails with G_IO_ERROR_FAILED once @fail_at
 * bytes were read, if @fail_at is not -1. */
GInputStream *test_pattern_stream_new (guint64 len,
                                       gint64  fail_at);

/* A CURLM the test owns, driven by a GCurlSource on the default main
 * context, as an application that owns its handles would drive it (for
 * test-source.c and test-guards.c). Each finished handle is removed from
 * the multi and appended to @done, its result to @results. */
typedef struct
{
  CURLM     *multi;
  GSource   *source;
  GPtrArray *done;           /* CURL* in completion order */
  GArray    *results;        /* CURLcode */
  gboolean   remove_source;  /* the callback returns G_SOURCE_REMOVE */
} TestRawMulti;

void     test_raw_multi_init      (TestRawMulti    *raw);
void     test_raw_multi_clear     (TestRawMulti    *raw);
/* Iterates the default context until @n handles are done; fails the test
 * after TEST_TIMEOUT_S seconds. */
void     test_raw_multi_wait_for  (TestRawMulti    *raw,
                                   guint            n);
/* An easy handle for @url whose body is appended to @sink (no signals). */
CURL    *test_raw_easy_new        (const char      *url,
                                   GString         *sink);
/* Asserts that @s is the pattern body of @len bytes. */
void     test_assert_pattern_string (GString       *s,
                                     guint64        len);

/* Runs `openssl ARGS…` in @dir (the TLS tests make their CA and
 * certificates with it); FALSE with its output in @error if it fails. */
gboolean test_run_openssl         (const char         *dir,
                                   const char * const *args,
                                   GError            **error);
/* In @dir: a CA (ca.key, ca.pem, "libgcurlmulti test CA") and a server
 * certificate it signed (server.key, server.pem: CN localhost, the
 * subjectAltName @alt_names, e.g. "IP:127.0.0.1,DNS:localhost"): the chain
 * a real server has, so that verification is what it is in real life
 * rather than a self-signed special case. `req -x509 -CA` needs OpenSSL
 * 3.0 (Debian 12 has 3.0). */
gboolean test_make_ca_and_server  (const char         *dir,
                                   const char         *alt_names,
                                   GError            **error);

G_END_DECLS
