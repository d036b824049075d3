/* test-interop-faults.c: real network faults between the library and a
 * real server
 *
 * A TestFaultProxy (tests/test-fault-proxy.h) sits between the library and
 * a real nginx (interop.h), on HTTP and on HTTPS (where it relays the
 * encrypted bytes; the URL is https://localhost:RELAYPORT/… so that the
 * certificate's name matches, and the multi trusts the harness's CA), and
 * breaks the connections on purpose: reset, closed, stalled, trickled,
 * corrupted or refused mid-body, the relay not listening, nginx killed
 * (SIGKILL) and restarted. For g_curl_multi_download_async() each test
 * checks that the download retries and resumes from its .part (the relay's
 * per-connection byte counts show what each attempt fetched), that the file
 * is byte-exact (SHA-256 of the pattern), that a download that fails for
 * good renames nothing into place and leaves only a prefix of the right
 * bytes in the .part, and that fds and memory come back. For
 * g_curl_multi_send_and_read_async(), which never retries, each fault's
 * exact error.
 *
 * Every test has its own file on nginx (so that the access log tells its
 * requests apart), its own multi and relays, and checks on teardown that
 * the multi was freed and the fd count is back to what it was before the
 * multi was made. No assertion is about speed: the one about time (the
 * kill/restart test) is about the spread of the retries, a property of the
 * jitter.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <malloc.h>

#include <glib/gstdio.h>

#include "interop.h"
#include "test-fault-proxy.h"
#include "test-util.h"

#define KIB 1024
/* The file of most tests, and where their faults hit it: in the body,
 * whatever the headers and TLS handshake take. */
#define FILE_SIZE   (600 * KIB)
#define FAULT_AFTER (200 * KIB)
/* Quick retries where the delay is not what the test is about. */
#define QUICK_RETRY_DELAY_MS 100

static InteropEnv env;
static InteropServer nginx;
static char *setup_error;

/* Fixture: relays to nginx's HTTP and HTTPS ports, a multi, a directory */

typedef struct
{
  GCurlMulti     *multi;
  TestFaultProxy *relay;      /* → nginx.port */
  TestFaultProxy *tls_relay;  /* → nginx.tls_port */
  char           *dir;
  guint           fds_before;
  gboolean        skipped;
} Fixture;

static TestFaultProxy *
relay_new (guint16 port)
{
  g_autoptr(GError) error = NULL;
  TestFaultProxy *relay = test_fault_proxy_new ("127.0.0.1", port, &error);

  g_assert_no_error (error);
  g_assert_nonnull (relay);
  return relay;
}

/* Iterates the default context until every relay has closed every
 * connection (RESET and CLOSE linger up to 2 s for the client). */
static void
wait_relays_idle (TestFaultProxy **relays,
                  guint            n_relays)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gboolean busy = TRUE;
  guint i;

  while (busy && g_get_monotonic_time () < deadline)
    {
      busy = FALSE;
      for (i = 0; i < n_relays; i++)
        if (relays[i] != NULL && test_fault_proxy_get_n_open (relays[i]) > 0)
          busy = TRUE;
      if (busy)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (10 * 1000);
        }
    }
  for (i = 0; i < n_relays; i++)
    if (relays[i] != NULL)
      g_assert_cmpuint (test_fault_proxy_get_n_open (relays[i]), ==, 0);
}

/* Waits (at most 3 s) until the fd count is @expected, and returns it. */
static guint
settle_fds (guint expected)
{
  gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  guint n;

  while ((n = test_count_open_fds (NULL)) != expected && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  return n;
}

static GCurlMulti *
multi_new (void)
{
  GCurlMulti *multi = g_curl_multi_new ();

  g_object_set (multi, "tls-ca-file", env.ca_file, NULL);
  return multi;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  memset (fixture, 0, sizeof *fixture);
  if (setup_error != NULL)
    {
      fixture->skipped = TRUE;
      g_test_fail_printf ("%s", setup_error);
      return;
    }
  if (nginx.process == NULL)
    {
      fixture->skipped = TRUE;
      g_test_skip (interop_missing (INTEROP_NGINX) != NULL ? interop_missing (INTEROP_NGINX)
                                                           : "nginx does not run");
      return;
    }

  test_init_gio_singletons ();
  fixture->relay = relay_new (nginx.port);
  fixture->tls_relay = relay_new (nginx.tls_port);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  fixture->fds_before = test_count_open_fds (NULL);
  fixture->multi = multi_new ();
  g_object_add_weak_pointer (G_OBJECT (fixture->multi), (gpointer *) &fixture->multi);
  g_object_set (fixture->multi, "retry-delay", QUICK_RETRY_DELAY_MS, NULL);
  fixture->dir = g_dir_make_tmp ("gcurl-interop-faults-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      g_unlink (file);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  TestFaultProxy *relays[2] = { fixture->relay, fixture->tls_relay };

  if (fixture->skipped)
    return;

  if (fixture->multi != NULL)
    {
      g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
      g_object_unref (fixture->multi);
    }
  /* Nothing else may hold the multi once its transfers are done. */
  g_assert_null (fixture->multi);
  wait_relays_idle (relays, G_N_ELEMENTS (relays));
  g_assert_cmpuint (settle_fds (fixture->fds_before), ==, fixture->fds_before);

  test_fault_proxy_free (fixture->relay);
  test_fault_proxy_free (fixture->tls_relay);
  remove_dir (fixture->dir);
  g_free (fixture->dir);
}

#define ADD_TEST(path, data, func) \
  g_test_add ("/interop/faults/" path, Fixture, data, fixture_setup, func, fixture_teardown)

/* Files on nginx, and their URLs through a relay */

static void
write_pattern (const char *name,
               guint64     size)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (interop_env_write_pattern (&env, name, size, &error));
  g_assert_no_error (error);
}

/* http://127.0.0.1:PORT/@path, or https://localhost:PORT/@path through
 * the TLS relay. */
static char *
relay_url (Fixture    *fixture,
           gboolean    tls,
           const char *path)
{
  if (tls)
    return g_strdup_printf ("https://localhost:%u/%s",
                            test_fault_proxy_get_port (fixture->tls_relay), path);
  return test_fault_proxy_url (fixture->relay, "http", path);
}

static TestFaultProxy *
relay_of (Fixture  *fixture,
          gboolean  tls)
{
  return tls ? fixture->tls_relay : fixture->relay;
}

static void
set_plan (TestFaultProxy *relay,
          TestFaultKind   kind,
          guint64         after,
          guint           n_connections)
{
  TestFaultPlan plan = { .kind = kind, .after = after, .rate = 0,
                         .n_connections = n_connections };

  test_fault_proxy_set_plan (relay, &plan);
}

static char *
format_connection_bytes (TestFaultProxy *relay)
{
  g_autoptr(GArray) bytes = test_fault_proxy_get_connection_bytes (relay);
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < bytes->len; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i > 0 ? ", " : "",
                            g_array_index (bytes, guint64, i));
  return g_string_free (s, FALSE);
}

static guint64
connection_bytes (TestFaultProxy *relay,
                  guint           i)
{
  g_autoptr(GArray) bytes = test_fault_proxy_get_connection_bytes (relay);

  g_assert_cmpuint (i, <, bytes->len);
  return g_array_index (bytes, guint64, i);
}

/* The lines of nginx's access log for /@name ("STATUS BYTES "RANGE"
 * "REQUEST""), after waiting (at most 5 s) for @n of them. */
static GPtrArray *
log_lines_for (const char *name,
               guint       n)
{
  g_autofree char *needle = g_strdup_printf ("\"GET /%s ", name);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GPtrArray *found = NULL;

  do
    {
      g_autofree char *log = interop_server_read_log (&nginx);
      g_auto(GStrv) lines = g_strsplit (log != NULL ? log : "", "\n", -1);
      guint i;

      g_clear_pointer (&found, g_ptr_array_unref);
      found = g_ptr_array_new_with_free_func (g_free);
      for (i = 0; lines[i] != NULL; i++)
        if (strstr (lines[i], needle) != NULL)
          g_ptr_array_add (found, g_strdup (lines[i]));
      if (found->len >= n)
        break;
      g_usleep (20 * 1000);
    }
  while (g_get_monotonic_time () < deadline);

  return found;
}

/* Files */

static char *
sha256_of_file (const char *path,
                gsize      *size)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  if (size != NULL)
    *size = len;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, len);
}

static void
assert_file_is_pattern (const char *path,
                        guint64     len)
{
  g_autofree char *expected = test_pattern_sha256 (0, len);
  g_autofree char *sum = NULL;
  gsize size = 0;

  sum = sha256_of_file (path, &size);
  if (sum == NULL)
    g_error ("%s does not exist", path);
  g_assert_cmpuint (size, ==, len);
  g_assert_cmpstr (sum, ==, expected);
}

/* The .part, if there is one, holds a prefix of the file (possibly
 * empty); returns its size, or -1 if there is none. */
static gint64
assert_part_is_prefix (const char *part_path,
                       guint64     len)
{
  g_autofree char *sum = NULL;
  g_autofree char *expected = NULL;
  gsize size = 0;

  if (!g_file_test (part_path, G_FILE_TEST_EXISTS))
    return -1;
  sum = sha256_of_file (part_path, &size);
  g_assert_nonnull (sum);
  g_assert_cmpuint (size, <=, len);
  expected = test_pattern_sha256 (0, size);
  g_assert_cmpstr (sum, ==, expected);
  return (gint64) size;
}

static gboolean
exists (const char *path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Downloads, with what each attempt did */

typedef struct
{
  guint    pending;
  gboolean all_done;
} Batch;

typedef struct
{
  GCurlTransfer      *transfer;
  GFile              *file;
  char               *path;
  char               *part_path;
  GCancellable       *cancellable;
  Batch              *batch;
  gboolean            done;
  gboolean            ok;
  GError             *error;
  gint64              done_at;
  GCurlTransferState  state;       /* last seen: a resume is not an attempt */
  GArray             *starts;      /* gint64: when each attempt started */
  GArray             *ends;        /* gint64: each "finished" */
  GArray             *statuses;    /* guint: the status code at each "finished" */
  GArray             *quiet_since; /* gint64: when the body last grew, at each "finished" */
  GArray             *connects;    /* long: connections each attempt made (0: reused one) */
  GPtrArray          *errors;      /* GError * (NULL: none) of each attempt */
  gint64              downloaded;
  gint64              moved_at;
} Dl;

static void
dl_state_cb (GObject    *object,
             GParamSpec *pspec,
             gpointer    user_data)
{
  Dl *dl = user_data;
  GCurlTransferState state = g_curl_transfer_get_state (dl->transfer);

  if (state == G_CURL_TRANSFER_STATE_RUNNING &&
      dl->state != G_CURL_TRANSFER_STATE_RUNNING &&
      dl->state != G_CURL_TRANSFER_STATE_PAUSED)
    {
      gint64 now = g_get_monotonic_time ();

      g_array_append_val (dl->starts, now);
      dl->downloaded = 0;
      dl->moved_at = now;
    }
  dl->state = state;
}

static void
dl_progress_cb (GCurlTransfer *transfer,
                gint64         downloaded,
                gint64         download_size,
                gint64         uploaded,
                gint64         upload_size,
                gpointer       user_data)
{
  Dl *dl = user_data;

  if (downloaded != dl->downloaded)
    {
      dl->downloaded = downloaded;
      dl->moved_at = g_get_monotonic_time ();
    }
}

static void
dl_finished_cb (GCurlTransfer *transfer,
                gpointer       user_data)
{
  Dl *dl = user_data;
  const GError *error = g_curl_transfer_get_error (transfer);
  gint64 now = g_get_monotonic_time ();
  guint status = g_curl_transfer_get_status_code (transfer);
  long connects = test_transfer_get_info_long (transfer, CURLINFO_NUM_CONNECTS);

  g_array_append_val (dl->ends, now);
  g_array_append_val (dl->statuses, status);

  g_array_append_val (dl->quiet_since, dl->moved_at);
  g_array_append_val (dl->connects, connects);
  g_ptr_array_add (dl->errors, error != NULL ? g_error_copy (error) : NULL);
}

static void
dl_error_free (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static Dl *
dl_new (const char *dir,
        const char *url,
        const char *name)
{
  Dl *dl = g_new0 (Dl, 1);

  dl->transfer = g_curl_transfer_new (url);
  dl->path = g_build_filename (dir, name, NULL);
  dl->part_path = g_strconcat (dl->path, ".part", NULL);
  dl->file = g_file_new_for_path (dl->path);
  dl->starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  dl->ends = g_array_new (FALSE, FALSE, sizeof (gint64));
  dl->statuses = g_array_new (FALSE, FALSE, sizeof (guint));
  dl->quiet_since = g_array_new (FALSE, FALSE, sizeof (gint64));
  dl->connects = g_array_new (FALSE, FALSE, sizeof (long));
  dl->errors = g_ptr_array_new_with_free_func (dl_error_free);
  dl->state = G_CURL_TRANSFER_STATE_NEW;
  g_signal_connect (dl->transfer, "notify::state", G_CALLBACK (dl_state_cb), dl);
  g_signal_connect (dl->transfer, "progress", G_CALLBACK (dl_progress_cb), dl);
  g_signal_connect (dl->transfer, "finished", G_CALLBACK (dl_finished_cb), dl);
  return dl;
}

static void
dl_free (Dl *dl)
{
  g_signal_handlers_disconnect_by_data (dl->transfer, dl);
  g_object_unref (dl->transfer);
  g_object_unref (dl->file);
  g_clear_object (&dl->cancellable);
  g_free (dl->path);
  g_free (dl->part_path);
  g_clear_error (&dl->error);
  g_array_unref (dl->starts);
  g_array_unref (dl->ends);
  g_array_unref (dl->statuses);
  g_array_unref (dl->quiet_since);
  g_array_unref (dl->connects);
  g_ptr_array_unref (dl->errors);
  g_free (dl);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Dl, dl_free)

static void
dl_done_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Dl *dl = user_data;

  g_assert_false (dl->done);
  dl->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &dl->error);
  g_assert_true (dl->ok == (dl->error == NULL));
  dl->done = TRUE;
  dl->done_at = g_get_monotonic_time ();
  if (dl->batch != NULL && --dl->batch->pending == 0)
    dl->batch->all_done = TRUE;
}

static void
dl_start (GCurlMulti *multi,
          Dl         *dl)
{
  g_curl_multi_download_async (multi, dl->transfer, dl->file, G_CURL_DOWNLOAD_NONE,
                               dl->cancellable, dl_done_cb, dl);
}

static void
dl_run (GCurlMulti *multi,
        Dl         *dl)
{
  dl_start (multi, dl);
  test_run_until (&dl->done);
}

static const GError *
dl_attempt_error (Dl    *dl,
                  guint  attempt)
{
  g_assert_cmpuint (attempt, <, dl->errors->len);
  return g_ptr_array_index (dl->errors, attempt);
}

static guint
dl_attempt_status (Dl    *dl,
                   guint  attempt)
{
  g_assert_cmpuint (attempt, <, dl->statuses->len);
  return g_array_index (dl->statuses, guint, attempt);
}

static char *
dl_summary (Dl *dl)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < dl->errors->len; i++)
    {
      const GError *error = g_ptr_array_index (dl->errors, i);

      g_string_append_printf (s, "%sattempt %u: %ld new connection(s), HTTP %u, %s",
                              i > 0 ? "; " : "", i + 1, g_array_index (dl->connects, long, i),
                              dl_attempt_status (dl, i),
                              error != NULL ? error->message : "ok");
      if (error != NULL)
        g_string_append_printf (s, " (%s %d)", g_quark_to_string (error->domain), error->code);
    }
  return g_string_free (s, FALSE);
}

/* Whether @error is one of the libcurl failures a download retries (a
 * TLS handshake failure only when the connection was reset under it, as
 * the relay does here). */
static gboolean
is_transient (const GError *error)
{
  if (error == NULL || error->domain != G_CURL_ERROR)
    return FALSE;
  switch (error->code)
    {
    case G_CURL_ERROR_SSL_CONNECT_ERROR:
    case G_CURL_ERROR_COULDNT_CONNECT:
    case G_CURL_ERROR_PARTIAL_FILE:
    case G_CURL_ERROR_RECV_ERROR:
    case G_CURL_ERROR_SEND_ERROR:
    case G_CURL_ERROR_OPERATION_TIMEDOUT:
    case G_CURL_ERROR_GOT_NOTHING:
    case G_CURL_ERROR_HTTP2:
    case G_CURL_ERROR_HTTP2_STREAM:
      return TRUE;
    default:
      return FALSE;
    }
}

#define assert_transient(error) \
  G_STMT_START { \
    const GError *e_ = (error); \
    if (!is_transient (e_)) \
      g_error ("not a transient failure: %s (%s %d)", e_ != NULL ? e_->message : "none", \
               e_ != NULL ? g_quark_to_string (e_->domain) : "-", e_ != NULL ? e_->code : 0); \
  } G_STMT_END

/* 1-3. RESET, CLOSE and STALL mid-body, on the first K connections */

typedef struct
{
  TestFaultKind kind;
  gboolean      tls;
  guint         n_connections;  /* K */
  int           code;           /* the first attempt's G_CURL_ERROR, 0: any transient */
} MidBodyCase;

static const MidBodyCase reset_http_k1 = { TEST_FAULT_RESET, FALSE, 1, G_CURL_ERROR_RECV_ERROR };
static const MidBodyCase reset_http_k2 = { TEST_FAULT_RESET, FALSE, 2, G_CURL_ERROR_RECV_ERROR };
static const MidBodyCase reset_https_k1 = { TEST_FAULT_RESET, TRUE, 1, 0 };
static const MidBodyCase reset_https_k2 = { TEST_FAULT_RESET, TRUE, 2, 0 };
static const MidBodyCase close_http = { TEST_FAULT_CLOSE, FALSE, 1, G_CURL_ERROR_PARTIAL_FILE };
static const MidBodyCase close_http_k2 = { TEST_FAULT_CLOSE, FALSE, 2, G_CURL_ERROR_PARTIAL_FILE };
static const MidBodyCase close_https = { TEST_FAULT_CLOSE, TRUE, 1, 0 };
static const MidBodyCase stall_http = { TEST_FAULT_STALL, FALSE, 1,
                                        G_CURL_ERROR_OPERATION_TIMEDOUT };
static const MidBodyCase stall_https = { TEST_FAULT_STALL, TRUE, 1,
                                         G_CURL_ERROR_OPERATION_TIMEDOUT };

static const char *
fault_name (TestFaultKind kind)
{
  static const char * const names[] = { "none", "reset", "close", "stall", "trickle",
                                         "corrupt", "refuse" };

  return names[kind];
}

/* A fault on the first K connections costs K retries, each a 206 resume; the file is exact.
 * The fault on the first K connections, FAULT_AFTER bytes into each: the
 * download retries K times, each retry resuming from the .part on a new
 * connection (206), and the file is byte-exact; the relay's byte counts
 * and nginx's log show that nothing was fetched twice. */
static void
test_mid_body (Fixture       *fixture,
               gconstpointer  data)
{
  const MidBodyCase *c = data;
  TestFaultProxy *relay;
  g_autofree char *name = NULL;
  g_autofree char *url = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(Dl) dl = NULL;
  g_autoptr(GPtrArray) log = NULL;
  guint i, n_attempts = c->n_connections + 1, n_ranges = 0;
  guint64 last;

  if (fixture->skipped)
    return;

  relay = relay_of (fixture, c->tls);
  name = g_strdup_printf ("mid-body-%s-%s-k%u", fault_name (c->kind), c->tls ? "https" : "http",
                          c->n_connections);
  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, c->tls, name);
  if (c->kind == TEST_FAULT_STALL)
    g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  set_plan (relay, c->kind, FAULT_AFTER, c->n_connections);

  dl = dl_new (fixture->dir, url, name);
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  counts = format_connection_bytes (relay);
  g_test_message ("%s: %s; bytes per connection: %s", url, summary, counts);

  g_assert_no_error (dl->error);
  g_assert_true (dl->ok);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_false (exists (dl->part_path));

  /* K failed attempts, each retried, then the one that completed it. */
  g_assert_cmpuint (dl->errors->len, ==, n_attempts);
  g_assert_cmpuint (dl->starts->len, ==, n_attempts);
  for (i = 0; i < c->n_connections; i++)
    {
      const GError *error = dl_attempt_error (dl, i);

      if (c->code != 0)
        g_assert_error ((GError *) error, G_CURL_ERROR, c->code);
      assert_transient (error);
    }
  g_assert_null (dl_attempt_error (dl, c->n_connections));
  g_assert_cmpuint (dl_attempt_status (dl, 0), ==, 200);
  for (i = 1; i < n_attempts; i++)
    g_assert_cmpuint (dl_attempt_status (dl, i), ==, 206);
  g_assert_cmpuint (g_curl_transfer_get_status_code (dl->transfer), ==, 206);

  if (c->kind == TEST_FAULT_STALL)
    for (i = 0; i < c->n_connections; i++)
      g_test_message ("attempt %u ended %.0f ms after its last byte (stall-timeout 1 s)",
                      i + 1, (g_array_index (dl->ends, gint64, i) -
                              g_array_index (dl->quiet_since, gint64, i)) / 1000.0);

  /* One connection per attempt; the faulted ones carried FAULT_AFTER bytes
   * (headers, TLS included), and the last one only the rest of the file. */
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, n_attempts);
  for (i = 0; i < c->n_connections; i++)
    g_assert_cmpuint (connection_bytes (relay, i), ==, FAULT_AFTER);
  last = connection_bytes (relay, c->n_connections);
  g_assert_cmpuint (last, <, FILE_SIZE);
  if (!c->tls)
    {
      /* Plain HTTP: the bytes the faulted connections brought (less their
       * headers) were not fetched again. */
      g_assert_cmpuint (last, <=, FILE_SIZE - c->n_connections * (FAULT_AFTER - 1024) + 1024);
    }

  /* nginx saw one request per attempt, the resumes as Range requests
   * answered with 206s (in any order: nginx logs a request when it is
   * done with it, and the faulted ones may end after their retry). */
  log = log_lines_for (name, n_attempts);
  g_assert_cmpuint (log->len, ==, n_attempts);
  for (i = 0; i < log->len; i++)
    {
      const char *line = g_ptr_array_index (log, i);

      if (g_str_has_prefix (line, "206 ") && strstr (line, "\"bytes=") != NULL)
        n_ranges++;
    }
  if (n_ranges != c->n_connections)
    {
      g_autofree char *joined = NULL;

      g_ptr_array_add (log, NULL);
      joined = g_strjoinv ("\n", (char **) log->pdata);
      g_error ("%u 206 lines for Range requests in nginx's log, not %u:\n%s", n_ranges,
               c->n_connections, joined);
    }
}

/* 4. TRICKLE: slow but moving is not a stall */

/* A body trickled at 200 KB/s is no stall: one attempt, exact, for download and send_and_read.
 * A body trickled at 200 KB/s after its first 100 KiB, with a stall
 * timeout of 1 s, completes byte-exact in one attempt (one connection): a
 * slow body is not a stall. */
static void
test_trickle (Fixture       *fixture,
              gconstpointer  data)
{
  const char *name = "trickle";
  const guint64 size = 400 * KIB;
  TestFaultPlan plan = { .kind = TEST_FAULT_TRICKLE, .after = 100 * KIB,
                         .rate = 200 * 1000, .n_connections = 0 };
  g_autofree char *url = NULL;
  g_autofree char *tls_url = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, size);
  g_autoptr(Dl) dl = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  TestSendAndRead sr = { 0, };
  gint64 start;

  if (fixture->skipped)
    return;

  write_pattern (name, size);
  url = relay_url (fixture, FALSE, name);
  tls_url = relay_url (fixture, TRUE, name);
  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  test_fault_proxy_set_plan (fixture->relay, &plan);
  test_fault_proxy_set_plan (fixture->tls_relay, &plan);

  /* The download over HTTP, and at the same time send_and_read over
   * HTTPS. */
  start = g_get_monotonic_time ();
  dl = dl_new (fixture->dir, url, name);
  dl_start (fixture->multi, dl);
  transfer = g_curl_transfer_new (tls_url);
  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &sr);
  test_run_until (&dl->done);
  test_run_until (&sr.done);
  summary = dl_summary (dl);
  g_test_message ("trickled download: %s, %.1f s", summary,
                  (dl->done_at - start) / (double) G_USEC_PER_SEC);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, size);
  g_assert_cmpuint (dl->errors->len, ==, 1);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->relay), ==, 1);

  g_assert_no_error (sr.error);
  g_assert_nonnull (sr.bytes);
  g_assert_cmpuint (g_bytes_get_size (sr.bytes), ==, size);
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, sr.bytes);
  g_assert_cmpstr (sum, ==, expected);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 1);
  g_bytes_unref (sr.bytes);
}

/* 5. CORRUPT */

/* A corrupted TLS byte fails one attempt transiently; the retry resumes (206) to an exact file.
 * One byte of the TLS stream inverted mid-body: the record check fails,
 * the first attempt fails with a transient error, the retry resumes and
 * the file is byte-exact. */
static void
test_corrupt_https (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *name = "corrupt-https";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *counts = NULL;
  g_autoptr(Dl) dl = NULL;
  const GError *first;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, TRUE, name);
  set_plan (fixture->tls_relay, TEST_FAULT_CORRUPT, FAULT_AFTER, 1);

  dl = dl_new (fixture->dir, url, name);
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  counts = format_connection_bytes (fixture->tls_relay);
  g_test_message ("%s: %s; bytes per connection: %s", url, summary, counts);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_false (exists (dl->part_path));
  g_assert_cmpuint (dl->errors->len, ==, 2);
  first = dl_attempt_error (dl, 0);
  g_assert_nonnull (first);
  g_test_message ("the corrupted attempt failed with: %s (G_CURL_ERROR %d)",
                  first->message, first->code);
  assert_transient (first);
  g_assert_null (dl_attempt_error (dl, 1));
  g_assert_cmpuint (dl_attempt_status (dl, 1), ==, 206);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 2);
  /* What the corrupted connection brought before the bad record was kept:
   * the retry fetched less than the file. */
  g_assert_cmpuint (connection_bytes (fixture->tls_relay, 1), <, FILE_SIZE);
}

/* A corrupted byte caught by the SHA-256 gets one fresh 200 attempt from zero, not a resume.
 * One byte inverted over plain HTTP, with the expected SHA-256 given: the
 * first attempt's file mismatches, the .part is deleted, ONE fresh attempt
 * from zero (a 200 of the whole file, no Range) succeeds. */
static void
test_corrupt_http_checksum (Fixture       *fixture,
                            gconstpointer  data)
{
  const char *name = "corrupt-http-checksum";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *right_sum = test_pattern_sha256 (0, FILE_SIZE);
  g_autoptr(Dl) dl = NULL;
  g_autoptr(GPtrArray) log = NULL;
  guint i;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, FALSE, name);
  set_plan (fixture->relay, TEST_FAULT_CORRUPT, FAULT_AFTER, 1);

  dl = dl_new (fixture->dir, url, name);
  g_curl_transfer_set_expected_checksum (dl->transfer, G_CHECKSUM_SHA256, right_sum);
  /* A new connection per attempt, so that the relay's plan applies to
   * each (a kept-alive one would carry the second response untouched). */
  g_curl_transfer_set_request_header (dl->transfer, "Connection", "close");
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  counts = format_connection_bytes (fixture->relay);
  g_test_message ("%s: %s; bytes per connection: %s", url, summary, counts);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_false (exists (dl->part_path));

  /* Two transfers, both whole 200s: the second did not resume. */
  g_assert_cmpuint (dl->errors->len, ==, 2);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->relay), ==, 2);
  for (i = 0; i < 2; i++)
    {
      g_assert_null (dl_attempt_error (dl, i));
      g_assert_cmpuint (dl_attempt_status (dl, i), ==, 200);
      g_assert_cmpuint (connection_bytes (fixture->relay, i), >, FILE_SIZE);
    }
  log = log_lines_for (name, 2);
  g_assert_cmpuint (log->len, ==, 2);
  for (i = 0; i < 2; i++)
    {
      g_autofree char *expected = g_strdup_printf ("200 %u \"-\" ", FILE_SIZE);

      if (!g_str_has_prefix (g_ptr_array_index (log, i), expected))
        g_error ("nginx log line %u is not a whole 200: %s", i,
                 (char *) g_ptr_array_index (log, i));
    }
}

/* Corrupted on every connection: INVALID_DATA, and no file, no .part, no side file.
 * Every connection corrupted, with the expected SHA-256: the first
 * attempt and the one fresh attempt mismatch, the download fails with
 * G_IO_ERROR_INVALID_DATA, and neither the destination nor the .part (nor
 * its validators) exist. */
static void
test_corrupt_http_checksum_always (Fixture       *fixture,
                                   gconstpointer  data)
{
  const char *name = "corrupt-http-checksum-always";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *right_sum = test_pattern_sha256 (0, FILE_SIZE);
  g_autofree char *sidecar = NULL;
  g_autoptr(Dl) dl = NULL;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, FALSE, name);
  set_plan (fixture->relay, TEST_FAULT_CORRUPT, FAULT_AFTER, 0);

  dl = dl_new (fixture->dir, url, name);
  g_curl_transfer_set_expected_checksum (dl->transfer, G_CHECKSUM_SHA256, right_sum);
  /* A new connection per attempt, so that the relay's plan applies to
   * each (a kept-alive one would carry the second response untouched). */
  g_curl_transfer_set_request_header (dl->transfer, "Connection", "close");
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  g_test_message ("%s: %s; download: %s", url, summary,
                  dl->error != NULL ? dl->error->message : "ok");

  g_assert_error (dl->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (dl->errors->len, ==, 2);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->relay), ==, 2);
  g_assert_false (exists (dl->path));
  g_assert_false (exists (dl->part_path));
  sidecar = g_strconcat (dl->part_path, ".validators", NULL);
  g_assert_false (exists (sidecar));
}

/* 6. REFUSE, and a server that is not listening */

/* Two connections reset before any byte are retried; the third attempt gets the whole file.
 * The relay accepts and resets the first two connections before any
 * byte (a listening but broken server): both attempts fail transiently,
 * the third completes the file. Over TLS the reset comes before or
 * during the handshake, whichever the race gives. */
static void
test_refuse (Fixture       *fixture,
             gconstpointer  data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  const char *name = tls ? "refuse-https" : "refuse-http";
  TestFaultProxy *relay = relay_of (fixture, tls);
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(Dl) dl = NULL;
  guint i;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, tls, name);
  set_plan (relay, TEST_FAULT_REFUSE, 0, 2);

  dl = dl_new (fixture->dir, url, name);
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  g_test_message ("%s: %s", url, summary);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_cmpuint (dl->errors->len, ==, 3);
  for (i = 0; i < 2; i++)
    assert_transient (dl_attempt_error (dl, i));
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 3);
  g_assert_cmpuint (dl_attempt_status (dl, 2), ==, 200);
}

static gboolean
resume_listening_cb (gpointer user_data)
{
  TestFaultProxy *relay = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (test_fault_proxy_resume_listening (relay, &error));
  g_assert_no_error (error);
  return G_SOURCE_REMOVE;
}

/* A download retries COULDNT_CONNECT until the port listens again; send_and_read fails at once.
 * Nothing listens on the port (connections refused) when the download
 * starts, for 1.5 s: a refused connection is transient, and the download
 * completes once the server is back. send_and_read, meanwhile, fails at
 * once with COULDNT_CONNECT. */
static void
test_not_listening (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *name = "not-listening";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(Dl) dl = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  TestSendAndRead sr = { 0, };
  gint64 start, back_at;
  guint i;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, FALSE, name);
  /* Retries at least 0.3, 0.9 and 2.1 s after the start: the last one is
   * after the port is back. */
  g_object_set (fixture->multi, "retry-delay", 600, NULL);

  test_fault_proxy_pause_listening (fixture->relay);
  start = g_get_monotonic_time ();
  dl = dl_new (fixture->dir, url, name);
  dl_start (fixture->multi, dl);
  transfer = g_curl_transfer_new (url);
  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &sr);
  test_run_until (&sr.done);
  g_assert_null (sr.bytes);
  g_assert_error (sr.error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT);
  g_test_message ("send_and_read while not listening: %s", sr.error->message);
  g_clear_error (&sr.error);

  g_timeout_add (1500, resume_listening_cb, fixture->relay);
  test_run_until (&dl->done);
  back_at = start + 1500 * 1000;
  summary = dl_summary (dl);
  g_test_message ("%s: %s; done %.1f s after the start", url, summary,
                  (dl->done_at - start) / (double) G_USEC_PER_SEC);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_cmpuint (dl->errors->len, >=, 2);
  for (i = 0; i + 1 < dl->errors->len; i++)
    g_assert_error ((GError *) dl_attempt_error (dl, i), G_CURL_ERROR,
                    G_CURL_ERROR_COULDNT_CONNECT);
  g_assert_null (dl_attempt_error (dl, dl->errors->len - 1));
  /* Only the attempt after the port came back connected. */
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->relay), ==, 1);
  g_assert_cmpint (g_array_index (dl->starts, gint64, dl->starts->len - 1), >=, back_at);
}

/* 7. nginx killed and restarted mid-download */

#define N_KILLED 50
#define KILLED_SIZE (2 * 1024 * KIB)

static gint64
dl_start_of (Dl    *dl,
             guint  attempt)
{
  g_assert_cmpuint (attempt, <, dl->starts->len);
  return g_array_index (dl->starts, gint64, attempt);
}

static gboolean
all_mid_body (GPtrArray *dls,
              gint64     min_bytes)
{
  guint i;

  for (i = 0; i < dls->len; i++)
    {
      Dl *dl = g_ptr_array_index (dls, i);

      if (dl->done || g_curl_transfer_get_downloaded_bytes (dl->transfer) < min_bytes)
        return FALSE;
    }
  return TRUE;
}

/* 50 downloads outlive nginx's SIGKILL and restart: all resume (206), exact, retries spread out.
 * 50 downloads of a 2 MiB file from nginx's /slow/ (1 MiB/s each), all
 * mid-body when nginx is SIGKILLed, restarted 2 s later on the same
 * ports: with the default retry settings every one completes byte-exact,
 * no .part is left, and the first retries are not in lockstep (the
 * jitter spreads them over at least 100 ms). */
static void
test_kill_restart (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *name = "killed-2m";
  InteropServer server = { 0, };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) dls = g_ptr_array_new_with_free_func ((GDestroyNotify) dl_free);
  g_autoptr(GCurlMulti) multi = NULL;
  g_autofree char *url = NULL;
  Batch batch = { N_KILLED, FALSE };
  gint64 killed_at, restart_at, restarted_at, min_first = G_MAXINT64, max_first = G_MININT64;
  gint64 min_retry = G_MAXINT64, max_retry = G_MININT64;
  guint attempts_hist[8] = { 0, };
  guint i, n_resumed = 0, retries = 0, retry_delay = 0;
  gint64 deadline;

  if (fixture->skipped)
    return;

  write_pattern (name, KILLED_SIZE);
  g_assert_true (interop_server_start (&server, &env, INTEROP_NGINX, &error));
  g_assert_no_error (error);
  url = g_strdup_printf ("%s/slow/%s", server.url, name);

  /* The defaults: 3 retries, 1000 ms before the first. */
  multi = multi_new ();
  g_object_get (multi, "download-retries", &retries, "retry-delay", &retry_delay, NULL);
  g_assert_cmpuint (retries, ==, 3);
  g_assert_cmpuint (retry_delay, ==, 1000);

  for (i = 0; i < N_KILLED; i++)
    {
      g_autofree char *file = g_strdup_printf ("%s-%02u", name, i);
      Dl *dl = dl_new (fixture->dir, url, file);

      dl->batch = &batch;
      g_ptr_array_add (dls, dl);
      dl_start (multi, dl);
    }

  /* All of them well into the body, none near its end. */
  deadline = g_get_monotonic_time () + TEST_TIMEOUT_S * G_USEC_PER_SEC;
  while (!all_mid_body (dls, 256 * KIB) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (all_mid_body (dls, 256 * KIB));

  interop_server_kill (&server);
  killed_at = g_get_monotonic_time ();
  test_run_for (2000);
  restart_at = g_get_monotonic_time ();
  g_assert_true (interop_server_restart (&server, &error));
  g_assert_no_error (error);
  restarted_at = g_get_monotonic_time ();
  g_test_message ("nginx killed; restarted %.0f ms later, listening again %.0f ms after the kill",
                  (restart_at - killed_at) / 1000.0, (restarted_at - killed_at) / 1000.0);

  test_run_until (&batch.all_done);

  for (i = 0; i < N_KILLED; i++)
    {
      Dl *dl = g_ptr_array_index (dls, i);
      gint64 first_end, retry;

      if (!dl->ok)
        {
          g_autofree char *summary = dl_summary (dl);

          /* Nothing given the name of a download that failed. */
          g_assert_false (exists (dl->path));
          g_error ("download %u failed: %s; attempts: %s", i, dl->error->message, summary);
        }
      assert_file_is_pattern (dl->path, KILLED_SIZE);
      g_assert_false (exists (dl->part_path));
      g_assert_cmpuint (dl->starts->len, >=, 2);
      g_assert_cmpuint (dl->errors->len, ==, dl->starts->len);
      assert_transient (dl_attempt_error (dl, 0));
      g_assert_cmpuint (dl_attempt_status (dl, dl->statuses->len - 1), ==, 206);
      n_resumed++;
      attempts_hist[MIN (dl->starts->len, G_N_ELEMENTS (attempts_hist) - 1)]++;

      first_end = g_array_index (dl->ends, gint64, 0);
      retry = dl_start_of (dl, 1);
      min_first = MIN (min_first, first_end);
      max_first = MAX (max_first, first_end);
      min_retry = MIN (min_retry, retry);
      max_retry = MAX (max_retry, retry);
    }

  /* Nothing else in the directory: no .part, no validators left. */
  {
    g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
    const char *entry;
    guint n_entries = 0;

    g_assert_nonnull (dir);
    while ((entry = g_dir_read_name (dir)) != NULL)
      {
        if (!g_str_has_prefix (entry, name) || g_str_has_suffix (entry, ".part") ||
            strchr (entry, '.') != NULL)
          g_error ("%s left in the download directory", entry);
        n_entries++;
      }
    g_assert_cmpuint (n_entries, ==, N_KILLED);
  }

  g_test_message ("%u downloads complete, all resumed (206); attempts: 2: %u, 3: %u, 4: %u, "
                  "more: %u", n_resumed, attempts_hist[2], attempts_hist[3], attempts_hist[4],
                  attempts_hist[5] + attempts_hist[6] + attempts_hist[7]);
  g_test_message ("first attempts failed within %.0f ms of each other (%.0f-%.0f ms after "
                  "the kill); first retries started %.0f-%.0f ms after the kill: spread %.0f ms",
                  (max_first - min_first) / 1000.0, (min_first - killed_at) / 1000.0,
                  (max_first - killed_at) / 1000.0, (min_retry - killed_at) / 1000.0,
                  (max_retry - killed_at) / 1000.0, (max_retry - min_retry) / 1000.0);
  /* Not in lockstep: jitter between half and all of the 1000 ms. */
  g_assert_cmpint (max_retry - min_retry, >=, 100 * 1000);

  g_ptr_array_set_size (dls, 0);
  g_clear_object (&multi);
  interop_server_stop (&server);
}

/* 8. Nothing is renamed into place on failure */

typedef struct
{
  const char   *name;
  TestFaultKind kind;
  gboolean      tls;
  guint64       after;
} FatalCase;

/* With one retry and a fault on every connection, nothing is renamed; the .part is a true prefix.
 * Each fault on every connection, with one retry: the download fails,
 * the destination does not exist, and the .part holds a prefix of the
 * right bytes (for RESET and CLOSE, what both attempts brought). */
static void
test_no_rename_on_failure (Fixture       *fixture,
                           gconstpointer  data)
{
  static const FatalCase cases[] = {
    { "reset", TEST_FAULT_RESET, FALSE, FAULT_AFTER },
    { "close", TEST_FAULT_CLOSE, FALSE, FAULT_AFTER },
    { "stall", TEST_FAULT_STALL, FALSE, FAULT_AFTER },
    { "refuse", TEST_FAULT_REFUSE, FALSE, 0 },
    { "reset-tls", TEST_FAULT_RESET, TRUE, FAULT_AFTER },
    { "close-tls", TEST_FAULT_CLOSE, TRUE, FAULT_AFTER },
    { "corrupt-tls", TEST_FAULT_CORRUPT, TRUE, FAULT_AFTER },
    { "reset-headers", TEST_FAULT_RESET, FALSE, 100 },
    { "close-headers", TEST_FAULT_CLOSE, FALSE, 100 },
    { "stall-headers", TEST_FAULT_STALL, FALSE, 100 },
    { "close-status-line", TEST_FAULT_CLOSE, FALSE, 5 },
  };
  guint i;

  if (fixture->skipped)
    return;

  g_object_set (fixture->multi, "download-retries", 1, "stall-timeout", 1, NULL);
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const FatalCase *c = &cases[i];
      g_autofree char *name = g_strdup_printf ("fatal-%s", c->name);
      g_autofree char *url = NULL;
      g_autofree char *summary = NULL;
      g_autofree char *counts = NULL;
      g_autoptr(Dl) dl = NULL;
      TestFaultProxy *relay = relay_of (fixture, c->tls);
      guint accepted_before = test_fault_proxy_get_n_accepted (relay);
      gint64 part_size;

      write_pattern (name, FILE_SIZE);
      url = relay_url (fixture, c->tls, name);
      set_plan (relay, c->kind, c->after, 0);
      dl = dl_new (fixture->dir, url, name);
      dl_run (fixture->multi, dl);
      set_plan (relay, TEST_FAULT_NONE, 0, 0);

      summary = dl_summary (dl);
      counts = format_connection_bytes (relay);
      g_assert_nonnull (dl->error);
      part_size = assert_part_is_prefix (dl->part_path, FILE_SIZE);
      g_test_message ("%s: %s; download: %s; .part: %" G_GINT64_FORMAT " bytes; "
                      "bytes per connection: %s", c->name, summary, dl->error->message,
                      part_size, counts);

      g_assert_false (dl->ok);
      assert_transient (dl->error);
      g_assert_false (exists (dl->path));
      g_assert_cmpuint (dl->errors->len, ==, 2);
      g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay) - accepted_before, ==, 2);
      if (c->kind == TEST_FAULT_REFUSE)
        g_assert_cmpint (part_size, <=, 0);
      else if (c->after > 1000)
        {
          /* A prefix, and a real one: the body bytes before the fault. */
          g_assert_cmpint (part_size, >, 0);
          g_assert_cmpint (part_size, <, FILE_SIZE);
        }
      if (!c->tls && c->after > 1000 && c->kind != TEST_FAULT_STALL)
        /* Both attempts' bytes, spliced: the retry resumed. */
        g_assert_cmpint (part_size, >, 2 * (c->after - 1024));
    }
}

/* 9. Resources come back */

#define RES_SIZE         (256 * KIB)
#define RES_PER_ROUND    50
#define RES_ROUNDS       4           /* 200 downloads, after a warm-up round */
#define RES_RSS_MARGIN_KIB (2 * 1024)

typedef struct
{
  Dl              *dl;
  GCancellable    *cancellable;
  gboolean         cancel_fired;
} ResItem;

static gboolean
cancel_cb (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  guint ok, failed, cancelled;
  guint sr_ok, sr_failed, sr_cancelled;
} ResCounts;

/* One round: RES_PER_ROUND downloads and 10 send_and_reads at once,
 * spread over three relays (RESET, CLOSE and STALL, each at a random
 * offset, on a random number of the round's first connections), some
 * cancelled at a random moment. Checks every outcome. */
static void
res_round (GCurlMulti      *multi,
           const char      *dir,
           TestFaultProxy **relays,
           guint            round,
           ResCounts       *counts)
{
  static const TestFaultKind kinds[] = { TEST_FAULT_RESET, TEST_FAULT_CLOSE, TEST_FAULT_STALL };
  g_autoptr(GPtrArray) dls = g_ptr_array_new_with_free_func ((GDestroyNotify) dl_free);
  g_autofree char *expected = test_pattern_sha256 (0, RES_SIZE);
  TestSendAndRead sr[10] = { { 0, }, };
  GCurlTransfer *sr_transfers[10];
  GCancellable *sr_cancellables[10];
  GSource *timers[RES_PER_ROUND + 10];
  guint n_timers = 0;
  Batch batch = { RES_PER_ROUND, FALSE };
  guint i;

  for (i = 0; i < 3; i++)
    set_plan (relays[i], kinds[i], g_test_rand_int_range (1024, 200 * KIB),
              g_test_rand_int_range (4, 14));

  for (i = 0; i < RES_PER_ROUND; i++)
    {
      g_autofree char *file = g_strdup_printf ("res-%u-%02u", round, i);
      g_autofree char *url = test_fault_proxy_url (relays[i % 3], "http", "res");
      Dl *dl = dl_new (dir, url, file);

      dl->batch = &batch;
      if (g_test_rand_int_range (0, 100) < 15)
        {
          GSource *timer = g_timeout_source_new (g_test_rand_int_range (0, 1500));

          dl->cancellable = g_cancellable_new ();
          g_source_set_callback (timer, cancel_cb, g_object_ref (dl->cancellable),
                                 g_object_unref);
          g_source_attach (timer, NULL);
          timers[n_timers++] = timer;
        }
      g_ptr_array_add (dls, dl);
      dl_start (multi, dl);
    }
  for (i = 0; i < G_N_ELEMENTS (sr); i++)
    {
      g_autofree char *url = test_fault_proxy_url (relays[i % 3], "http", "res");

      sr_transfers[i] = g_curl_transfer_new (url);
      sr_cancellables[i] = g_cancellable_new ();
      if (i % 4 == 3)
        {
          GSource *timer = g_timeout_source_new (g_test_rand_int_range (0, 500));

          g_source_set_callback (timer, cancel_cb, g_object_ref (sr_cancellables[i]),
                                 g_object_unref);
          g_source_attach (timer, NULL);
          timers[n_timers++] = timer;
        }
      g_curl_multi_send_and_read_async (multi, sr_transfers[i], sr_cancellables[i],
                                        test_send_and_read_cb, &sr[i]);
    }

  test_run_until (&batch.all_done);
  for (i = 0; i < G_N_ELEMENTS (sr); i++)
    test_run_until (&sr[i].done);
  for (i = 0; i < n_timers; i++)
    {
      g_source_destroy (timers[i]);
      g_source_unref (timers[i]);
    }

  for (i = 0; i < dls->len; i++)
    {
      Dl *dl = g_ptr_array_index (dls, i);

      if (dl->ok)
        {
          assert_file_is_pattern (dl->path, RES_SIZE);
          g_assert_false (exists (dl->part_path));
          counts->ok++;
        }
      else
        {
          g_assert_false (exists (dl->path));
          assert_part_is_prefix (dl->part_path, RES_SIZE);
          if (g_error_matches (dl->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_assert_nonnull (dl->cancellable);
              g_assert_true (g_cancellable_is_cancelled (dl->cancellable));
              counts->cancelled++;
            }
          else
            {
              /* Three faulted connections in a row (3 attempts). */
              if (!is_transient (dl->error))
                {
                  g_autofree char *summary = dl_summary (dl);

                  g_error ("download %s failed for good with a non-transient error: %s (%s)",
                           dl->path, dl->error->message, summary);
                }
              g_assert_cmpuint (dl->errors->len, ==, 3);
              counts->failed++;
            }
        }
      g_unlink (dl->path);
      g_unlink (dl->part_path);
    }

  for (i = 0; i < G_N_ELEMENTS (sr); i++)
    {
      if (sr[i].bytes != NULL)
        {
          g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, sr[i].bytes);

          g_assert_no_error (sr[i].error);
          g_assert_cmpuint (g_bytes_get_size (sr[i].bytes), ==, RES_SIZE);
          g_assert_cmpstr (sum, ==, expected);
          counts->sr_ok++;
          g_bytes_unref (sr[i].bytes);
        }
      else if (g_error_matches (sr[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_assert_true (g_cancellable_is_cancelled (sr_cancellables[i]));
          counts->sr_cancelled++;
        }
      else
        {
          assert_transient (sr[i].error);
          counts->sr_failed++;
        }
      g_clear_error (&sr[i].error);
      g_object_unref (sr_transfers[i]);
      g_object_unref (sr_cancellables[i]);
    }
  g_assert_cmpuint (g_curl_multi_get_n_transfers (multi), ==, 0);
}

/* VmRSS in KiB, printed with the heap in use. glibc keeps the memory freed
 * after a round (the buffers of 50 downloads at once, their high-water
 * mark varying with the round's random faults) resident in its arenas, up
 * to 5-7 MiB more than after the warm-up although the heap in use stays
 * flat: malloc_trim() gives it back first, so that what is compared is
 * memory that is used. */
static guint64
measure_rss (const char *what)
{
  guint64 untrimmed = test_proc_status_kib ("VmRSS");
  guint64 rss;

#ifdef __GLIBC__
  if (!test_running_under_asan ())
    malloc_trim (0);
#endif
  rss = test_proc_status_kib ("VmRSS");
  g_test_message ("%s: VmRSS %" G_GUINT64_FORMAT " KiB (%" G_GUINT64_FORMAT " before "
                  "malloc_trim), heap in use %" G_GSIZE_FORMAT " KiB, %" G_GUINT64_FORMAT
                  " threads", what, rss, untrimmed, test_heap_in_use () / 1024,
                  test_proc_status_kib ("Threads"));
  return rss;
}

/* 200 faulted or cancelled downloads on one multi: fds back to baseline, RSS within 2 MiB.
 * 200 downloads (and 40 send_and_reads) through connections reset,
 * closed and stalled (stall-timeout 1 s, download-retries 2), some
 * cancelled at random moments, on a multi of their own: once the multi is
 * dropped the fd count is back to the baseline taken with the servers and
 * relays up, and the RSS after the last round is within 2 MiB of the RSS
 * after a warm-up round (both after malloc_trim(), see measure_rss()). */
static void
test_resources (Fixture       *fixture,
                gconstpointer  data)
{
  TestFaultProxy *relays[3] = { NULL, };
  GCurlMulti *multi;
  ResCounts warm = { 0, }, counts = { 0, };
  guint fds_baseline, fds_after, round;
  guint64 rss_warm, rss_last = 0;
  gint64 start = g_get_monotonic_time ();
  /* More rounds, to tell a leak from the allocator's high-water mark. */
  guint n_rounds = g_getenv ("GCURL_TEST_FAULTS_ROUNDS") != NULL
                   ? (guint) g_ascii_strtoull (g_getenv ("GCURL_TEST_FAULTS_ROUNDS"), NULL, 10)
                   : RES_ROUNDS;

  if (fixture->skipped)
    return;

  write_pattern ("res", RES_SIZE);
  for (round = 0; round < 3; round++)
    relays[round] = relay_new (nginx.port);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  fds_baseline = test_count_open_fds (NULL);

  multi = multi_new ();
  g_object_add_weak_pointer (G_OBJECT (multi), (gpointer *) &multi);
  g_object_set (multi, "download-retries", 2, "retry-delay", 50, "stall-timeout", 1, NULL);

  res_round (multi, fixture->dir, relays, 0, &warm);
  rss_warm = measure_rss ("warm-up round");
  for (round = 1; round <= n_rounds; round++)
    {
      g_autofree char *what = g_strdup_printf ("round %u", round);

      res_round (multi, fixture->dir, relays, round, &counts);
      rss_last = measure_rss (what);
    }

  g_object_unref (multi);
  g_assert_null (multi);
  wait_relays_idle (relays, G_N_ELEMENTS (relays));
  fds_after = settle_fds (fds_baseline);

  g_test_message ("warm-up: %u downloads ok, %u failed, %u cancelled", warm.ok, warm.failed,
                  warm.cancelled);
  g_test_message ("%u downloads: %u ok, %u failed for good, %u cancelled; send_and_read: "
                  "%u ok, %u failed, %u cancelled; %u connections; %.1f s",
                  n_rounds * RES_PER_ROUND, counts.ok, counts.failed, counts.cancelled,
                  counts.sr_ok, counts.sr_failed, counts.sr_cancelled,
                  test_fault_proxy_get_n_accepted (relays[0]) +
                  test_fault_proxy_get_n_accepted (relays[1]) +
                  test_fault_proxy_get_n_accepted (relays[2]),
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_test_message ("fds: %u before the multi, %u after it was dropped; VmRSS: %" G_GUINT64_FORMAT
                  " KiB after the warm-up round, %" G_GUINT64_FORMAT " KiB after the last "
                  "(%+" G_GINT64_FORMAT " KiB)%s", fds_baseline, fds_after, rss_warm, rss_last,
                  (gint64) rss_last - (gint64) rss_warm,
                  test_running_under_asan () ? ", not compared under ASan" : "");

  g_assert_cmpuint (counts.ok + counts.failed + counts.cancelled, ==,
                    n_rounds * RES_PER_ROUND);
  g_assert_cmpuint (counts.ok, >, 0);
  g_assert_cmpuint (fds_after, ==, fds_baseline);
  if (!test_running_under_asan () && !test_running_on_valgrind ())
    g_assert_cmpuint (rss_last, <=, rss_warm + RES_RSS_MARGIN_KIB);

  for (round = 0; round < 3; round++)
    test_fault_proxy_free (relays[round]);
}

/* send_and_read: each fault's error, and no retry */

typedef struct
{
  const char   *name;
  TestFaultKind kind;
  gboolean      tls;
  guint64       after;
  int           code;   /* G_CURL_ERROR; 0: any transient one; -1: success;
                         * -2: any G_CURL_ERROR */
} SendCase;

static const SendCase send_cases[] = {
  { "reset-http", TEST_FAULT_RESET, FALSE, FAULT_AFTER, G_CURL_ERROR_RECV_ERROR },
  { "reset-https", TEST_FAULT_RESET, TRUE, FAULT_AFTER, 0 },
  { "close-http", TEST_FAULT_CLOSE, FALSE, FAULT_AFTER, G_CURL_ERROR_PARTIAL_FILE },
  { "close-https", TEST_FAULT_CLOSE, TRUE, FAULT_AFTER, 0 },
  { "stall-http", TEST_FAULT_STALL, FALSE, FAULT_AFTER, G_CURL_ERROR_OPERATION_TIMEDOUT },
  { "stall-https", TEST_FAULT_STALL, TRUE, FAULT_AFTER, G_CURL_ERROR_OPERATION_TIMEDOUT },
  { "corrupt-https", TEST_FAULT_CORRUPT, TRUE, FAULT_AFTER, 0 },
  { "corrupt-http", TEST_FAULT_CORRUPT, FALSE, FAULT_AFTER, -1 },
  { "refuse-http", TEST_FAULT_REFUSE, FALSE, 0, 0 },
  /* A reset before or during the TLS handshake: COULDNT_CONNECT, RECV_ERROR
   * or SSL_CONNECT_ERROR, as the race goes; send_and_read reports it. */
  { "refuse-https", TEST_FAULT_REFUSE, TRUE, 0, -2 },
};

/* send_and_read makes one connection, fails with the fault's error; a corrupt plain body is kept.
 * send_and_read through a fault on the first connection: it never
 * retries (one connection), and fails with the fault's error; over plain
 * HTTP a corrupted byte is delivered as is, the rest of the body intact
 * (nothing checks a plain body), exactly one byte inverted. */
static void
test_send_and_read (Fixture       *fixture,
                    gconstpointer  data)
{
  const SendCase *c = data;
  TestFaultProxy *relay;
  g_autofree char *name = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  TestSendAndRead sr = { 0, };

  if (fixture->skipped)
    return;

  relay = relay_of (fixture, c->tls);
  name = g_strdup_printf ("send-%s", c->name);
  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, c->tls, name);
  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  set_plan (relay, c->kind, c->after, 1);

  transfer = g_curl_transfer_new (url);
  g_curl_multi_send_and_read_async (fixture->multi, transfer, NULL, test_send_and_read_cb, &sr);
  test_run_until (&sr.done);
  g_test_message ("%s: %s", url, sr.error != NULL ? sr.error->message : "ok");

  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 1);
  if (c->code == -1)
    {
      g_autofree guint8 *expected = g_malloc (FILE_SIZE);
      const guint8 *body;
      gsize len, i, n_diff = 0, where = 0;

      g_assert_no_error (sr.error);
      g_assert_nonnull (sr.bytes);
      body = g_bytes_get_data (sr.bytes, &len);
      g_assert_cmpuint (len, ==, FILE_SIZE);
      test_pattern_fill (0, expected, FILE_SIZE);
      for (i = 0; i < len; i++)
        if (body[i] != expected[i])
          {
            n_diff++;
            where = i;
          }
      g_assert_cmpuint (n_diff, ==, 1);
      g_assert_cmpuint (body[where], ==, expected[where] ^ 0xff);
      g_assert_cmpuint (where, <, FAULT_AFTER);
      g_assert_cmpuint (where, >, FAULT_AFTER - 1024);
      g_bytes_unref (sr.bytes);
      return;
    }

  g_assert_null (sr.bytes);
  g_assert_nonnull (sr.error);
  g_test_message ("error: G_CURL_ERROR %d", sr.error->code);
  g_assert_true (sr.error->domain == G_CURL_ERROR);
  if (c->code > 0)
    g_assert_error (sr.error, G_CURL_ERROR, c->code);
  if (c->code != -2)
    assert_transient (sr.error);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_clear_error (&sr.error);
}

/* 10. What libcurl 7.88 keeps of a failed HTTP/2 connection, and a reset TLS handshake */

/* After a stall of an HTTP/2 connection, the next request to the origin gets a new connection.
 * A send_and_read whose HTTP/2 connection stalls mid-body (stall-timeout
 * 1 s) fails with OPERATION_TIMEDOUT; libcurl 7.88 keeps a connection one
 * of whose streams was removed, so the watchdog forbids its reuse. The
 * next send_and_read to the same origin (no retry of the first: a new
 * request) must open a new connection and get the whole body, not a new
 * stream on the stalled connection that stalls again. */
static void
test_stall_next_request (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *name = "stall-next-request";
  g_autofree char *url = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *expected = test_pattern_sha256 (0, FILE_SIZE);
  g_autoptr(GCurlTransfer) first = NULL;
  g_autoptr(GCurlTransfer) next = NULL;
  TestSendAndRead sr1 = { 0, };
  TestSendAndRead sr2 = { 0, };

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, TRUE, name);
  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  set_plan (fixture->tls_relay, TEST_FAULT_STALL, FAULT_AFTER, 1);

  first = g_curl_transfer_new (url);
  g_curl_multi_send_and_read_async (fixture->multi, first, NULL, test_send_and_read_cb, &sr1);
  test_run_until (&sr1.done);
  g_test_message ("stalled request: %s", sr1.error != NULL ? sr1.error->message : "ok");
  g_assert_error (sr1.error, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT);
  g_assert_null (sr1.bytes);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 1);

  next = g_curl_transfer_new (url);
  g_curl_multi_send_and_read_async (fixture->multi, next, NULL, test_send_and_read_cb, &sr2);
  test_run_until (&sr2.done);
  g_test_message ("next request: %s, %ld new connection(s)",
                  sr2.error != NULL ? sr2.error->message : "ok",
                  test_transfer_get_info_long (next, CURLINFO_NUM_CONNECTS));
  g_assert_no_error (sr2.error);
  g_assert_nonnull (sr2.bytes);
  g_assert_cmpuint (g_bytes_get_size (sr2.bytes), ==, FILE_SIZE);
  sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, sr2.bytes);
  g_assert_cmpstr (sum, ==, expected);
  g_assert_cmpuint (g_curl_transfer_get_status_code (next), ==, 200);
  g_assert_cmpint (test_transfer_get_info_long (next, CURLINFO_NUM_CONNECTS), ==, 1);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 2);
  g_bytes_unref (sr2.bytes);
  g_clear_error (&sr1.error);
}

/* A download's retry after libcurl's own timeout on HTTP/2 opens a new connection and resumes.
 * The HTTP/2 connection stalls mid-body with the watchdog off and a
 * timeout of 3 s: libcurl fails the attempt itself (OPERATION_TIMEDOUT)
 * and, the connection being multiplexed, only closes the stream, keeping
 * the stalled connection in its cache. The retry must ask for a fresh
 * connection (CURLOPT_FRESH_CONNECT): on the old one it would stall until
 * the timeout again, and so would every retry after it. */
static void
test_timeout_retry (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *name = "timeout-retry-https";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *counts = NULL;
  g_autoptr(Dl) dl = NULL;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, TRUE, name);
  g_object_set (fixture->multi, "stall-timeout", 0, "timeout", 3, "download-retries", 2, NULL);
  set_plan (fixture->tls_relay, TEST_FAULT_STALL, FAULT_AFTER, 1);

  dl = dl_new (fixture->dir, url, name);
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  counts = format_connection_bytes (fixture->tls_relay);
  g_test_message ("%s: %s; bytes per connection: %s", url, summary, counts);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_false (exists (dl->part_path));
  g_assert_cmpuint (dl->errors->len, ==, 2);
  g_assert_error ((GError *) dl_attempt_error (dl, 0), G_CURL_ERROR,
                  G_CURL_ERROR_OPERATION_TIMEDOUT);
  g_assert_null (dl_attempt_error (dl, 1));
  g_assert_cmpuint (dl_attempt_status (dl, 1), ==, 206);
  g_assert_cmpint (g_array_index (dl->connects, long, 1), ==, 1);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 2);
}

/* A reset during the TLS handshake (SSL_CONNECT_ERROR, ECONNRESET) is retried, twice.
 * The relay passes the ClientHello to nginx and resets the connection
 * when nginx answers, on the first two connections: the client is in the
 * middle of the handshake, and libcurl 7.88 says CURLE_SSL_CONNECT_ERROR,
 * as for a handshake that can never succeed. The system error under it
 * (ECONNRESET) makes it transient: both attempts are retried and the
 * third gets the whole file. */
static void
test_reset_handshake (Fixture       *fixture,
                      gconstpointer  data)
{
  const char *name = "reset-handshake";
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(Dl) dl = NULL;
  guint i;

  if (fixture->skipped)
    return;

  write_pattern (name, FILE_SIZE);
  url = relay_url (fixture, TRUE, name);
  set_plan (fixture->tls_relay, TEST_FAULT_RESET, 0, 2);

  dl = dl_new (fixture->dir, url, name);
  dl_run (fixture->multi, dl);
  summary = dl_summary (dl);
  g_test_message ("%s: %s", url, summary);

  g_assert_no_error (dl->error);
  assert_file_is_pattern (dl->path, FILE_SIZE);
  g_assert_cmpuint (dl->errors->len, ==, 3);
  for (i = 0; i < 2; i++)
    {
      const GError *error = dl_attempt_error (dl, i);

      g_assert_error ((GError *) error, G_CURL_ERROR, G_CURL_ERROR_SSL_CONNECT_ERROR);
      g_assert_true (g_curl_error_is_transient (error));
    }
  g_assert_null (dl_attempt_error (dl, 2));
  g_assert_cmpuint (dl_attempt_status (dl, 2), ==, 200);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (fixture->tls_relay), ==, 3);
}

/* main */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;
  guint i;

  g_test_init (&argc, &argv, NULL);

  if (!interop_env_init (&env, &error))
    setup_error = g_strdup_printf ("Cannot make the test environment: %s", error->message);
  else if (interop_missing (INTEROP_NGINX) == NULL &&
           !interop_server_start (&nginx, &env, INTEROP_NGINX, &error))
    setup_error = g_strdup_printf ("Cannot start nginx: %s", error->message);

  /* RESET on the 1st connection mid-body: retried, resumed (206), byte-exact, the rest only. */
  ADD_TEST ("reset/http/k1", &reset_http_k1, test_mid_body);
  /* RESET on the first 2 connections: two resumes, each fetching only what was missing. */
  ADD_TEST ("reset/http/k2", &reset_http_k2, test_mid_body);
  /* RESET of the TLS stream (HTTP/2) mid-body: retried and resumed the same way. */
  ADD_TEST ("reset/https/k1", &reset_https_k1, test_mid_body);
  /* RESET of the first 2 TLS connections: resumed twice, byte-exact. */
  ADD_TEST ("reset/https/k2", &reset_https_k2, test_mid_body);
  /* CLOSE (truncation) mid-body: PARTIAL_FILE, retried and resumed (206), byte-exact. */
  ADD_TEST ("close/http/k1", &close_http, test_mid_body);
  /* CLOSE on the first 2 connections: two resumes, byte-exact. */
  ADD_TEST ("close/http/k2", &close_http_k2, test_mid_body);
  /* CLOSE of the TLS stream (HTTP/2) mid-body: retried and resumed, byte-exact. */
  ADD_TEST ("close/https/k1", &close_https, test_mid_body);
  /* TRICKLE at 200 KB/s with stall-timeout 1 s: one attempt, byte-exact, not a stall. */
  ADD_TEST ("trickle", NULL, test_trickle);
  /* CORRUPT of one TLS byte: the record check fails, transiently; the retry resumes. */
  ADD_TEST ("corrupt/https", NULL, test_corrupt_https);
  /* CORRUPT over HTTP with the SHA-256 known: one fresh attempt from zero, not a resume. */
  ADD_TEST ("corrupt/http-checksum", NULL, test_corrupt_http_checksum);
  /* CORRUPT on every connection: INVALID_DATA, and neither destination nor .part left. */
  ADD_TEST ("corrupt/http-checksum-always", NULL, test_corrupt_http_checksum_always);
  /* Nothing listening for 1.5 s: COULDNT_CONNECT is retried, the download completes. */
  ADD_TEST ("not-listening", NULL, test_not_listening);
  /* nginx SIGKILLed under 50 downloads and restarted: all complete, retries spread by jitter. */
  ADD_TEST ("kill-restart", NULL, test_kill_restart);
  /* A fault on every connection: no destination, and the .part a prefix of the right bytes. */
  ADD_TEST ("no-rename-on-failure", NULL, test_no_rename_on_failure);
  /* 200 faulted and cancelled downloads: fds back to baseline, RSS back within 2 MiB. */
  ADD_TEST ("resources", NULL, test_resources);
  /* send_and_read through each fault: its exact error, and no retry. */
  for (i = 0; i < G_N_ELEMENTS (send_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/interop/faults/send-and-read/%s",
                                               send_cases[i].name);

      g_test_add (path, Fixture, &send_cases[i], fixture_setup, test_send_and_read,
                  fixture_teardown);
    }
  /* REFUSE (accept, then RST) twice: transient, the third attempt completes the file. */
  ADD_TEST ("refuse/http", GINT_TO_POINTER (FALSE), test_refuse);
  /* REFUSE twice on the TLS port: a reset before the handshake ends is transient too. */
  ADD_TEST ("refuse/https", GINT_TO_POINTER (TRUE), test_refuse);
  /* STALL mid-body, stall-timeout 1 s: the watchdog ends the attempt, the retry resumes. */
  ADD_TEST ("stall/http", &stall_http, test_mid_body);
  /* STALL of an HTTP/2 connection mid-body: the same, over TLS. */
  ADD_TEST ("stall/https", &stall_https, test_mid_body);
  /* STALL of an HTTP/2 connection, then a new request: a new connection, not the stalled one. */
  ADD_TEST ("stall/https-next-request", NULL, test_stall_next_request);
  /* libcurl's own timeout on a stalled HTTP/2 connection: the retry opens a new one, resumes. */
  ADD_TEST ("timeout/https", NULL, test_timeout_retry);
  /* RESET in the TLS handshake twice: SSL_CONNECT_ERROR with ECONNRESET is transient, retried. */
  ADD_TEST ("reset-handshake/https", NULL, test_reset_handshake);

  status = g_test_run ();

  interop_server_stop (&nginx);
  interop_env_clear (&env);
  g_free (setup_error);

  return status;
}
