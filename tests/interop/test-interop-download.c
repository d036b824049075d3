/* test-interop-download.c: download_async against real servers
 *
 * Each test is a failure seen in the field with nginx, h2o, httpbin or an
 * FTP server (pyftpdlib), all started by tests/interop/interop.c: a file
 * spliced from two versions of a resource (a file system without user
 * extended attributes, a server that ignores If-Range, a crash in the
 * middle of a re-download, a retry after the file changed), a resume lost
 * through a redirect to another origin, FTP downloads that never ended, a
 * .part shortened by another program, a checksum mismatch given up on, a
 * streamed request body that could not follow a 307, a stall noticed
 * seconds late. Every check is on the bytes (SHA-256), the status, the
 * error's domain and code, and the servers' own logs.
 *
 * Where it can (as root), the program runs in a mount namespace of its own
 * with a ramfs, a file system without extended attributes, for the tests
 * that need one; elsewhere those tests use the library's test hook
 * (g_curl_download_set_xattrs_disabled()), and say so.
 *
 * A crash is a child process of this program (--download-child), killed
 * with SIGKILL in the middle of its download.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE 1   /* unshare(), CLONE_NEWNS */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "interop.h"
#include "test-fault-proxy.h"
#include "test-util.h"
#include "gcurl-download-private.h"
#include "gcurl-multi-private.h"
#include "gcurl-transfer-private.h"

/* The two versions of the resource: the pattern from offset 0 and from
 * V2_OFFSET. Same size, other bytes. */
#define FILE_SIZE      (2 * 1024 * 1024 + 17)
#define V2_OFFSET      12345
/* How much of a download happens before it is interrupted. */
#define INTERRUPT_AT   (300 * 1024)
/* Downloads interrupted on purpose run at this speed (bytes/s). */
#define SLOW_SPEED     (1024 * 1024)

static InteropEnv env;
static char *setup_error;
static char *ramfs_dir;          /* a file system without xattrs, or NULL */
static const char *self_path;    /* this program, for the crash children */

static InteropServer servers[N_INTEROP_KINDS];
static gboolean started[N_INTEROP_KINDS];

/* Servers */

/* The server of @kind, started by main(). Skips (or fails) the test and
 * returns NULL if it cannot run. */
static InteropServer *
server_for (InteropKind kind)
{
  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return NULL;
    }
  if (interop_missing (kind) != NULL)
    {
      g_test_skip (interop_missing (kind));
      return NULL;
    }
  g_assert_true (started[kind]);

  return &servers[kind];
}

static char *
server_url (InteropServer *server,
            const char    *path)
{
  return g_strconcat (server->url, "/", path, NULL);
}

/* Test data */

static guint8 *
version_bytes (guint   version,
               gsize   size)
{
  guint8 *data = g_malloc (size);

  test_pattern_fill (version == 2 ? V2_OFFSET : 0, data, size);
  return data;
}

static char *
version_sha256 (guint version,
                gsize size)
{
  return test_pattern_sha256 (version == 2 ? V2_OFFSET : 0, size);
}

/* Writes (or replaces, with a new ETag and date) doc_root/@path as
 * @version of the resource. */
static void
serve_version (const char *path,
               guint       version,
               gsize       size)
{
  g_autofree guint8 *data = version_bytes (version, size);
  g_autoptr(GError) error = NULL;
  g_autofree char *full = interop_env_path (&env, path);

  if (g_file_test (full, G_FILE_TEST_EXISTS))
    g_assert_true (interop_env_replace_file (&env, path, data, size, &error));
  else
    g_assert_true (interop_env_write_file (&env, path, data, size, &error));
  g_assert_no_error (error);
}

static char *
file_sha256 (const char *path,
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
assert_file_is_version (const char *path,
                        guint       version,
                        gsize       size)
{
  g_autofree char *expected = version_sha256 (version, size);
  g_autofree char *sum = NULL;
  gsize len = 0;

  sum = file_sha256 (path, &len);
  g_assert_nonnull (sum);
  g_assert_cmpuint (len, ==, size);
  g_assert_cmpstr (sum, ==, expected);
}

/* Asserts that @path holds the first bytes of @version (a .part that may be
 * resumed) and returns how many. */
static gsize
assert_prefix_of_version (const char *path,
                          guint       version)
{
  g_autofree char *sum = NULL;
  g_autofree char *expected = NULL;
  gsize len = 0;

  sum = file_sha256 (path, &len);
  g_assert_nonnull (sum);
  expected = version_sha256 (version, len);
  g_assert_cmpstr (sum, ==, expected);
  return len;
}

static gboolean
dir_has_prefix (const char *dir_path,
                const char *prefix)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      return TRUE;
  return FALSE;
}

/* Fixture: a multi, a download directory (on the ramfs for the tests that
 * need a file system without xattrs), the fd checks. */

typedef struct
{
  TestFixture base;
  GCurlMulti *multi;
  char       *dir;
  gboolean    no_xattrs;   /* dir is on the ramfs, or the hook is on */
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  gboolean no_xattrs = GPOINTER_TO_INT (data);

  test_fixture_setup (&fixture->base, NULL);
  fixture->multi = fixture->base.multi;
  g_object_set (fixture->multi, "retry-delay", 100, NULL);
  if (env.ca_file != NULL)
    g_object_set (fixture->multi, "tls-ca-file", env.ca_file, NULL);

  fixture->no_xattrs = no_xattrs;
  if (no_xattrs && ramfs_dir != NULL)
    {
      fixture->dir = g_build_filename (ramfs_dir, "dl-XXXXXX", NULL);
      g_assert_nonnull (g_mkdtemp (fixture->dir));
    }
  else
    {
      fixture->dir = g_dir_make_tmp ("gcurl-interop-dl-XXXXXX", NULL);
      g_assert_nonnull (fixture->dir);
      /* No ramfs here (not root): behave as on one. */
      g_curl_download_set_xattrs_disabled (no_xattrs);
      if (no_xattrs)
        g_test_message ("no ramfs (not root?): validators kept as without xattrs by the "
                        "test hook");
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_curl_download_set_xattrs_disabled (FALSE);
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  test_fixture_teardown (&fixture->base, data);
}

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, GINT_TO_POINTER (FALSE), fixture_setup, func, fixture_teardown)
#define ADD_TEST_NO_XATTRS(path, func) \
  g_test_add (path, Fixture, GINT_TO_POINTER (TRUE), fixture_setup, func, fixture_teardown)

/* Downloads */

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} DownloadResult;

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  DownloadResult *dr = user_data;

  dr->ok = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &dr->error);
  dr->done = TRUE;
}

static gboolean
download (GCurlMulti          *multi,
          GCurlTransfer       *transfer,
          const char          *path,
          GCurlDownloadFlags   flags,
          GCancellable        *cancellable,
          GError             **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  DownloadResult dr = { 0, };

  g_curl_multi_download_async (multi, transfer, file, flags, cancellable, download_cb, &dr);
  test_run_until (&dr.done);
  if (dr.error != NULL)
    g_propagate_error (error, dr.error);
  return dr.ok;
}

typedef struct
{
  GCancellable *cancellable;
  gint64        at;
} CancelAt;

static void
cancel_at_cb (GCurlTransfer *transfer,
              gint64         downloaded,
              gint64         download_size,
              gint64         uploaded,
              gint64         upload_size,
              gpointer       user_data)
{
  CancelAt *c = user_data;

  if (downloaded >= c->at)
    g_cancellable_cancel (c->cancellable);
}

/* Downloads @url into @path slowly and cancels once @at bytes have come:
 * leaves a .part. */
static void
download_part (GCurlMulti *multi,
               const char *url,
               const char *path,
               gint64      at)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CancelAt c = { cancellable, at };

  g_curl_transfer_set_max_download_speed (transfer, SLOW_SPEED);
  g_signal_connect (transfer, "progress", G_CALLBACK (cancel_at_cb), &c);
  g_assert_false (download (multi, transfer, path, G_CURL_DOWNLOAD_RESUME, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The number of lines of @server's access log that contain all of @a and
 * @b (NULL: any). */
static guint
count_log_lines (InteropServer *server,
                 const char    *a,
                 const char    *b)
{
  g_autofree char *log = interop_server_read_log (server);
  g_auto(GStrv) lines = log != NULL ? g_strsplit (log, "\n", -1) : NULL;
  guint n = 0;
  guint i;

  for (i = 0; lines != NULL && lines[i] != NULL; i++)
    if ((a == NULL || strstr (lines[i], a) != NULL) && (b == NULL || strstr (lines[i], b) != NULL))
      n++;
  return n;
}

/* Point 2: a changed file, resumed where the validators cannot be kept in
 * xattrs, from a server that ignores If-Range (h2o 2.2) and from one that
 * honours it (nginx): the new version, whole, never the old head with the
 * new tail. */
static void
resume_changed_file (Fixture    *fixture,
                     InteropKind kind)
{
  InteropServer *server = server_for (kind);
  g_autofree char *name = g_strdup_printf ("changed-%s-%s.bin", interop_kind_name (kind),
                                           fixture->no_xattrs ? "noxattr" : "xattr");
  g_autofree char *url = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *part = NULL;
  g_autofree char *side = NULL;
  g_autoptr(GCurlTransfer) again = NULL;
  g_autoptr(GError) error = NULL;
  gsize partial;

  if (server == NULL)
    return;

  serve_version (name, 1, FILE_SIZE);
  url = server_url (server, name);
  dest = path_in (fixture, "file.bin");
  part = path_in (fixture, "file.bin.part");
  side = path_in (fixture, "file.bin.part.validators");

  download_part (fixture->multi, url, dest, INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 1);
  g_assert_cmpuint (partial, >=, INTERRUPT_AT);
  /* Without xattrs, the validators are beside the .part. */
  g_assert_cmpint (g_file_test (side, G_FILE_TEST_EXISTS), ==, fixture->no_xattrs);

  serve_version (name, 2, FILE_SIZE);
  again = g_curl_transfer_new (url);
  g_assert_true (download (fixture->multi, again, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 2, FILE_SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 200);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (side, G_FILE_TEST_EXISTS));

  /* h2o answered the stale If-Range with a 206 of the new file, which was
   * refused; nginx sent the new file at once. */
  g_test_message ("%s: %u ranged answers, %u whole", server->name,
                  count_log_lines (server, "206 ", name), count_log_lines (server, "200 ", name));
  if (kind == INTEROP_H2O)
    g_assert_cmpuint (count_log_lines (server, "206 ", name), >=, 1);
}

/* A .part of a file then changed on h2o (If-Range ignored) ends as the new version whole, a 200. */
static void
test_changed_file_h2o (Fixture       *fixture,
                       gconstpointer  data)
{
  resume_changed_file (fixture, INTEROP_H2O);
}

/* A .part of a file then changed on nginx ends as the new version whole, a 200; no .part left. */
static void
test_changed_file_nginx (Fixture       *fixture,
                         gconstpointer  data)
{
  resume_changed_file (fixture, INTEROP_NGINX);
}

/* A resume of an unchanged file on h2o asks once for bytes=N- and gets a 206 of the rest.
 * A resume of an unchanged file fetches only the rest: the validators did
 * not get in the way. */
static void
test_unchanged_file_resumes (Fixture       *fixture,
                             gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_H2O);
  g_autofree char *name = g_strdup_printf ("same-%s.bin", fixture->no_xattrs ? "noxattr" : "xattr");
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "same.bin");
  g_autofree char *part = path_in (fixture, "same.bin.part");
  g_autofree char *range = NULL;
  g_autoptr(GCurlTransfer) again = NULL;
  g_autoptr(GError) error = NULL;
  gsize partial;

  if (server == NULL)
    return;

  serve_version (name, 1, FILE_SIZE);
  url = server_url (server, name);
  download_part (fixture->multi, url, dest, INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 1);

  again = g_curl_transfer_new (url);
  g_assert_true (download (fixture->multi, again, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 1, FILE_SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (again), ==, 206);
  range = g_strdup_printf ("\"bytes=%" G_GSIZE_FORMAT "-\"", partial);
  g_assert_cmpuint (count_log_lines (server, range, name), ==, 1);
}

/* The crash children */

/* --download-child URL DEST: downloads with G_CURL_DOWNLOAD_RESUME at
 * SLOW_SPEED until killed (or done). */
static int
download_child (const char *url,
                const char *dest)
{
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GError) error = NULL;

  g_curl_transfer_set_max_download_speed (transfer, SLOW_SPEED);
  if (!download (multi, transfer, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error))
    {
      g_printerr ("download child: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* Runs a crash child on @url and kills it with SIGKILL once @part has more
 * than @at bytes. */
static void
crash_during_download (const char *url,
                       const char *dest,
                       const char *part,
                       goffset     at)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + TEST_TIMEOUT_S * G_USEC_PER_SEC;
  GStatBuf st;

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_path, "--download-child",
                            url, dest, NULL);
  g_assert_no_error (error);

  while (g_stat (part, &st) < 0 || st.st_size <= at)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      /* Ended early (the child's error is on stderr): its pid is reaped. */
      g_assert_nonnull (g_subprocess_get_identifier (child));
      g_usleep (5000);
    }

  g_subprocess_force_exit (child);
  g_assert_true (g_subprocess_wait (child, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (child));
}

/* Point 9: a crash while a changed file is downloaded again (a 200 that
 * replaces the .part) must leave a .part and validators that belong
 * together: the next resume completes the new version exactly. It used to
 * write into a GIO temporary renamed on close, while the new ETag went
 * onto the old .part: after the crash the old bytes got the new tail, and
 * a hidden .goutputstream-XXXXXX stayed in the folder. */
static void
crash_while_redownloading (Fixture    *fixture,
                           InteropKind kind)
{
  InteropServer *server = server_for (kind);
  g_autofree char *name = g_strdup_printf ("crash-%s-%s.bin", interop_kind_name (kind),
                                           fixture->no_xattrs ? "noxattr" : "xattr");
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "crash.bin");
  g_autofree char *part = path_in (fixture, "crash.bin.part");
  g_autoptr(GCurlTransfer) last = NULL;
  g_autoptr(GError) error = NULL;
  gsize partial;

  if (server == NULL)
    return;
  if (fixture->no_xattrs && ramfs_dir == NULL)
    {
      /* The hook is this process's: the children would use xattrs. */
      g_test_skip ("no ramfs (not root): the crash children cannot do without xattrs");
      return;
    }

  serve_version (name, 1, FILE_SIZE);
  url = server_url (server, name);

  /* Killed in the middle of the first version. */
  crash_during_download (url, dest, part, INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 1);
  g_test_message ("first crash with %" G_GSIZE_FORMAT " bytes of version 1", partial);

  /* The file changes; killed again while the new version comes, from
   * zero, further than the old .part went. */
  serve_version (name, 2, FILE_SIZE);
  crash_during_download (url, dest, part, partial + INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 2);
  g_test_message ("second crash with %" G_GSIZE_FORMAT " bytes of version 2", partial);
  g_assert_false (dir_has_prefix (fixture->dir, ".goutputstream-"));

  last = g_curl_transfer_new (url);
  g_assert_true (download (fixture->multi, last, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 2, FILE_SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (last), ==, 206);
  g_assert_false (dir_has_prefix (fixture->dir, ".goutputstream-"));
}

/* Killed mid-download and mid-redownload of a change (nginx), a resume then gives v2 exactly. */
static void
test_crash_nginx (Fixture       *fixture,
                  gconstpointer  data)
{
  crash_while_redownloading (fixture, INTEROP_NGINX);
}

/* Killed mid-download and mid-redownload of a change (h2o), a resume then gives v2 exactly. */
static void
test_crash_h2o (Fixture       *fixture,
                gconstpointer  data)
{
  crash_while_redownloading (fixture, INTEROP_H2O);
}

/* Point 10: a retry within one download checks the continuation against
 * the validators its own first attempt got, even where they cannot be kept
 * on disk: the first connection is reset, the file changes before the
 * retry, and h2o answers the retry's stale If-Range with a 206 of the new
 * file. */

typedef struct
{
  const char *name;
  guint       n_finished;
} ChangeOnFailure;

static void
change_on_first_failure_cb (GCurlTransfer *transfer,
                            gpointer       user_data)
{
  ChangeOnFailure *change = user_data;

  if (change->n_finished++ == 0)
    {
      /* The failed attempt, which the download retries. */
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RETRYING);
      serve_version (change->name, 2, FILE_SIZE);
    }
}

/* A retry after a reset refuses h2o's 206 of the changed file and fetches the new one whole. */
static void
test_retry_after_change (Fixture       *fixture,
                         gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_H2O);
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autofree char *name = g_strdup_printf ("retry-%s.bin", fixture->no_xattrs ? "noxattr" : "xattr");
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "retry.bin");
  TestFaultPlan plan = { TEST_FAULT_RESET, INTERRUPT_AT, 0, 1 };
  ChangeOnFailure change = { name, 0 };

  if (server == NULL)
    return;

  serve_version (name, 1, FILE_SIZE);
  relay = test_fault_proxy_new ("127.0.0.1", server->port, &error);
  g_assert_no_error (error);
  test_fault_proxy_set_plan (relay, &plan);
  path = g_strconcat ("/", name, NULL);
  url = test_fault_proxy_url (relay, NULL, path);

  transfer = g_curl_transfer_new (url);
  g_signal_connect (transfer, "finished", G_CALLBACK (change_on_first_failure_cb), &change);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 2, FILE_SIZE);
  /* reset, the retry's 206 refused, the whole new file */
  g_assert_cmpuint (change.n_finished, ==, 3);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpuint (test_fault_proxy_get_n_accepted (relay), ==, 3);
  g_assert_cmpuint (count_log_lines (server, "206 ", name), ==, 1);
}

/* A resume redirected to nginx's other origin asks there for bytes=N- and gets a 206.
 * Point 5: a resume through a redirect to another origin (a mirror or CDN
 * link) still asks for the rest only: the download's own Range and
 * If-Range follow redirects, the application's headers do not. */
static void
test_resume_across_origins (Fixture       *fixture,
                            gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_NGINX);
  g_autofree char *direct = NULL;
  g_autofree char *redirected = NULL;
  g_autofree char *dest = path_in (fixture, "mirror.bin");
  g_autofree char *part = path_in (fixture, "mirror.bin.part");
  g_autofree char *range = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  gsize partial;

  if (server == NULL)
    return;

  serve_version ("mirror.bin", 1, FILE_SIZE);
  direct = g_strconcat (server->url2, "/mirror.bin", NULL);
  redirected = server_url (server, "redirect-other-origin/mirror.bin");
  download_part (fixture->multi, direct, dest, INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 1);

  transfer = g_curl_transfer_new (redirected);
  g_curl_transfer_set_request_header (transfer, "X-Api-Key", "for-the-first-origin-only");
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 1, FILE_SIZE);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 206);
  range = g_strdup_printf ("\"bytes=%" G_GSIZE_FORMAT "-\"", partial);
  /* The redirect, and the rest from the second origin. */
  g_assert_cmpuint (count_log_lines (server, "302 ", "redirect-other-origin/mirror.bin"), ==, 1);
  g_assert_cmpuint (count_log_lines (server, range, "GET /mirror.bin"), ==, 1);
}

static void
first_progress_cb (GCurlTransfer *transfer,
                   gint64         downloaded,
                   gint64         download_size,
                   gint64         uploaded,
                   gint64         upload_size,
                   gpointer       user_data)
{
  gint64 *first = user_data;

  if (*first < 0)
    *first = downloaded;
}

/* FTP downloads end, resume a .part with REST (only the rest sent), and start over for a change.
 * Point 6: download_async over FTP, when the application allows it, ends
 * (it waited for headers FTP does not have, paused by the stream's
 * back-pressure, for ever), resumes a .part with REST, and starts over for
 * a changed file. */
static void
test_ftp (Fixture       *fixture,
          gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_FTP);
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "ftp.bin");
  g_autofree char *part = path_in (fixture, "ftp.bin.part");
  g_autofree char *bytes = NULL;
  g_autoptr(GCurlTransfer) whole = NULL;
  g_autoptr(GCurlTransfer) resumed = NULL;
  g_autoptr(GCurlTransfer) changed = NULL;
  g_autoptr(GError) error = NULL;
  TestRecorder recorder;
  gsize partial;
  gint64 first = -1;

  if (server == NULL)
    return;

  g_object_set (fixture->multi, "allowed-protocols", "http,https,ftp", NULL);
  serve_version ("ftp.bin", 1, FILE_SIZE);
  url = server_url (server, "ftp.bin");

  /* Whole. */
  whole = g_curl_transfer_new (url);
  test_recorder_attach (&recorder, whole);
  g_assert_true (download (fixture->multi, whole, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 1, FILE_SIZE);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpuint (recorder.n_got_headers, ==, 1);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (whole), ==, FILE_SIZE);
  g_assert_cmpint (g_curl_transfer_get_download_size (whole), ==, FILE_SIZE);
  test_recorder_clear (&recorder);
  g_unlink (dest);

  /* Resumed: the second RETR sends the rest only. */
  download_part (fixture->multi, url, dest, INTERRUPT_AT);
  partial = assert_prefix_of_version (part, 1);
  resumed = g_curl_transfer_new (url);
  g_signal_connect (resumed, "progress", G_CALLBACK (first_progress_cb), &first);
  g_assert_true (download (fixture->multi, resumed, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  /* Counted within the whole file from the start: libcurl resumed where
   * the .part ends (and the download did not start over). */
  g_assert_cmpint (first, >=, (gint64) partial);
  g_assert_no_error (error);
  assert_file_is_version (dest, 1, FILE_SIZE);
  bytes = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT " ", (gsize) FILE_SIZE - partial);
  g_assert_true (interop_server_wait_for_log (server, bytes, 5000, NULL));
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (resumed), ==, FILE_SIZE);
  g_unlink (dest);

  /* Changed meanwhile (another time, the same size): from zero. */
  download_part (fixture->multi, url, dest, INTERRUPT_AT);
  assert_prefix_of_version (part, 1);
  serve_version ("ftp.bin", 2, FILE_SIZE);
  changed = g_curl_transfer_new (url);
  g_assert_true (download (fixture->multi, changed, dest, G_CURL_DOWNLOAD_RESUME, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 2, FILE_SIZE);
}

/* With file allowed, a file:// download completes with the exact bytes, and resumes a .part. */
static void
test_file_scheme (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *source = NULL;
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "local.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;

  if (setup_error != NULL)
    {
      g_test_fail_printf ("%s", setup_error);
      return;
    }

  serve_version ("local.bin", 1, FILE_SIZE);
  source = interop_env_path (&env, "local.bin");
  url = g_filename_to_uri (source, NULL, NULL);
  g_object_set (fixture->multi, "allowed-protocols", "file", NULL);
  transfer = g_curl_transfer_new (url);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 1, FILE_SIZE);

  /* The first half as a .part: libcurl resumes it (CURLOPT_RESUME_FROM_LARGE). */
  {
    g_autofree guint8 *bytes = version_bytes (1, FILE_SIZE);
    g_autofree char *resumed = path_in (fixture, "resumed.bin");
    g_autofree char *part = g_strconcat (resumed, ".part", NULL);
    g_autoptr(GCurlTransfer) again = g_curl_transfer_new (url);

    g_assert_true (g_file_set_contents (part, (const char *) bytes, FILE_SIZE / 2, NULL));
    g_assert_true (download (fixture->multi, again, resumed, G_CURL_DOWNLOAD_RESUME, NULL, &error));
    g_assert_no_error (error);
    assert_file_is_version (resumed, 1, FILE_SIZE);
    g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (again), ==, FILE_SIZE);
  }
}

/* Point 12: nginx's /slow/ file, with its .part shortened by another
 * program mid-download: never renamed into place short, nor with zeros at
 * its start; one attempt from zero brings the right file. */

typedef struct
{
  char     *path;
  gboolean  armed;
  guint     done;
} Shorten;

static void
arm_cb (GCurlTransfer *transfer,
        gpointer       user_data)
{
  ((Shorten *) user_data)->armed = TRUE;
}

static void
shorten_cb (GCurlTransfer *transfer,
            gint64         downloaded,
            gint64         download_size,
            gint64         uploaded,
            gint64         upload_size,
            gpointer       user_data)
{
  Shorten *s = user_data;
  GStatBuf st;

  if (!s->armed || s->done > 0 || g_stat (s->path, &st) < 0 || st.st_size < INTERRUPT_AT)
    return;
  g_assert_cmpint (truncate (s->path, st.st_size / 2), ==, 0);
  s->done++;
}

/* A .part halved mid-download by another program costs one fresh attempt; the file ends exact. */
static void
test_part_shortened (Fixture       *fixture,
                     gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_NGINX);
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "short.bin");
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  Shorten s = { NULL, FALSE, 0 };
  TestRecorder recorder;

  if (server == NULL)
    return;

  serve_version ("short.bin", 1, FILE_SIZE);
  url = server_url (server, "slow/short.bin");
  s.path = path_in (fixture, "short.bin.part");
  transfer = g_curl_transfer_new (url);
  test_recorder_attach (&recorder, transfer);
  g_signal_connect (transfer, "got-headers", G_CALLBACK (arm_cb), &s);
  g_signal_connect (transfer, "progress", G_CALLBACK (shorten_cb), &s);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s.done, ==, 1);
  assert_file_is_version (dest, 1, FILE_SIZE);
  g_assert_cmpuint (recorder.n_finished, ==, 2);
  test_recorder_clear (&recorder);
  g_free (s.path);
}

/* Point 13: a checksum mismatch is worth one fresh attempt: the mirror had
 * the old file, and has the right one by the time of the second attempt. */

static void
change_after_first_cb (GCurlTransfer *transfer,
                       gpointer       user_data)
{
  ChangeOnFailure *change = user_data;

  if (change->n_finished++ == 0)
    serve_version (change->name, 2, FILE_SIZE);
}

/* A checksum mismatch gets one fresh 200 attempt; wrong twice, INVALID_DATA and no file. */
static void
test_checksum_second_chance (Fixture       *fixture,
                             gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_NGINX);
  g_autofree char *url = NULL;
  g_autofree char *dest = path_in (fixture, "sum.bin");
  g_autofree char *part = path_in (fixture, "sum.bin.part");
  g_autofree char *sum = version_sha256 (2, FILE_SIZE);
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GCurlTransfer) wrong = NULL;
  g_autoptr(GError) error = NULL;
  ChangeOnFailure change = { "sum.bin", 0 };
  TestRecorder recorder;

  if (server == NULL)
    return;

  serve_version ("sum.bin", 1, FILE_SIZE);
  url = server_url (server, "sum.bin");
  transfer = g_curl_transfer_new (url);
  g_curl_transfer_set_expected_checksum (transfer, G_CHECKSUM_SHA256, sum);
  g_signal_connect (transfer, "finished", G_CALLBACK (change_after_first_cb), &change);
  g_assert_true (download (fixture->multi, transfer, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_version (dest, 2, FILE_SIZE);
  g_assert_cmpuint (change.n_finished, ==, 2);
  /* From zero both times: two whole answers, no range. */
  g_assert_cmpuint (count_log_lines (server, "200 ", "GET /sum.bin"), ==, 2);

  /* Wrong every time: G_IO_ERROR_INVALID_DATA after the second, and
   * nothing left. */
  g_unlink (dest);
  wrong = g_curl_transfer_new (url);
  g_curl_transfer_set_expected_checksum (wrong, G_CHECKSUM_SHA256,
                                         "0000000000000000000000000000000000000000000000000000000000000000");
  test_recorder_attach (&recorder, wrong);
  g_assert_false (download (fixture->multi, wrong, dest, G_CURL_DOWNLOAD_NONE, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (recorder.n_finished, ==, 2);
  test_recorder_clear (&recorder);
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* A POST body streamed from memory or a file goes again, whole, after a 307 or a 308.
 * Point 3: a 307 of a streamed request body (a file, and memory) sends it
 * again, whole, whenever the redirect comes: httpbin echoes what arrived
 * after the redirect. The read-ahead of the first request used to be
 * pending when the body was rewound ("Stream has outstanding operation",
 * or "cannot seek back" for a file). */
static void
test_redirect_streamed_body (Fixture       *fixture,
                             gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_HTTPBIN);
  const gsize len = 300 * 1024 + 5;
  g_autofree char *body = g_malloc (len + 1);
  g_autofree char *file_path = path_in (fixture, "body.txt");
  g_autofree char *needle = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (file_path);
  gsize i;

  if (server == NULL)
    return;

  /* Printable, and without what JSON escapes, so the echo is the body. */
  for (i = 0; i < len; i++)
    body[i] = 'a' + (char) ((i * 7 + i / 13) % 26);
  body[len] = '\0';
  g_assert_true (g_file_set_contents (file_path, body, len, NULL));
  needle = g_strdup_printf ("\"data\":\"%s\"", body);

  for (i = 0; i < 16; i++)
    {
      g_autofree char *url = g_strdup_printf ("%s/redirect-to?url=%%2Fanything&status_code=%u",
                                              server->url, i % 2 ? 307 : 308);
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
      g_autoptr(GInputStream) stream = NULL;
      g_autoptr(GBytes) echo = NULL;
      g_autofree char *text = NULL;

      if (i % 4 < 2)
        stream = g_memory_input_stream_new_from_data (body, len, NULL);
      else
        stream = G_INPUT_STREAM (g_file_read (file, NULL, NULL));
      g_curl_transfer_set_method (transfer, "POST");
      g_curl_transfer_set_request_stream (transfer, stream, (gint64) len);
      g_curl_transfer_set_request_header (transfer, "Content-Type", "text/plain");
      test_run_transfer (fixture->multi, transfer);
      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
      echo = g_curl_transfer_get_body (transfer);
      text = g_strndup (g_bytes_get_data (echo, NULL), g_bytes_get_size (echo));
      if (strstr (text, needle) == NULL)
        g_test_message ("httpbin said: %.300s", text);
      g_assert_nonnull (strstr (text, needle));
      g_assert_nonnull (strstr (text, "/anything"));
    }
}

/* Point 8: the stall watchdog fires at the deadline (the last byte plus
 * stall-timeout), not up to 2.5 s later: a real nginx behind a relay that
 * stops in the middle of the body. Checked on the watchdog's schedule; the
 * lateness is printed. */

typedef struct
{
  GCurlMulti *multi;
  gint64      downloaded;
  gint64      last;
  gint64      due;
} Watch;

static void
watch_cb (GCurlTransfer *transfer,
          gint64         downloaded,
          gint64         download_size,
          gint64         uploaded,
          gint64         upload_size,
          gpointer       user_data)
{
  Watch *w = user_data;

  if (downloaded == w->downloaded)
    return;
  w->downloaded = downloaded;
  w->last = g_get_monotonic_time ();
  w->due = g_curl_multi_get_watchdog_due (w->multi);
}

/* A stall behind a relay fails TIMEDOUT with the watchdog due at most 1 s after the last byte. */
static void
test_stall_deadline (Fixture       *fixture,
                     gconstpointer  data)
{
  InteropServer *server = server_for (INTEROP_NGINX);
  g_autoptr(TestFaultProxy) relay = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  /* nginx's /slow/ (1 MiB/s): the last byte comes some 1.2 s after the
   * request, later than the stall timeout, so a stall clock that took the
   * watchdog's looks for the bytes' arrival would be seen. */
  TestFaultPlan plan = { TEST_FAULT_STALL, 1200 * 1024, 0, 0 };
  Watch w = { fixture->multi, 0, 0, -1 };
  gint64 ended, last_activity;

  if (server == NULL)
    return;

  serve_version ("stall.bin", 1, FILE_SIZE);
  relay = test_fault_proxy_new ("127.0.0.1", server->port, &error);
  g_assert_no_error (error);
  test_fault_proxy_set_plan (relay, &plan);
  url = test_fault_proxy_url (relay, NULL, "/slow/stall.bin");

  g_object_set (fixture->multi, "stall-timeout", 1, "progress-interval", 0, NULL);
  transfer = g_curl_transfer_new (url);
  g_signal_connect (transfer, "progress", G_CALLBACK (watch_cb), &w);
  test_run_transfer (fixture->multi, transfer);
  ended = g_get_monotonic_time ();
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_assert_cmpint (w.downloaded, >, 0);
  g_assert_cmpint (w.downloaded, <, FILE_SIZE);
  /* The stall clock is the time the last bytes were seen, by the flush
   * right before the "progress" that reported them. */
  last_activity = g_curl_transfer_get_last_activity (transfer);
  g_assert_cmpint (last_activity, <=, w.last);
  g_assert_cmpint (last_activity, >, w.last - G_USEC_PER_SEC / 10);
  g_assert_cmpint (w.due, >, w.last);
  g_assert_cmpint (w.due, <=, w.last + G_USEC_PER_SEC);
  g_assert_cmpint (ended, >=, w.due);
  g_test_message ("stalled after %" G_GINT64_FORMAT " bytes; ended %" G_GINT64_FORMAT
                  " ms after the last byte (stall-timeout 1000 ms)",
                  w.downloaded, (ended - w.last) / 1000);
}

/* A file system without extended attributes: a ramfs in a mount namespace
 * of this process alone, made before any thread exists (unshare() of the
 * mount namespace needs a single-threaded process). NULL if not root. */
static char *
make_ramfs (void)
{
  g_autofree char *dir = g_build_filename (g_get_tmp_dir (), "gcurl-ramfs-XXXXXX", NULL);

  if (geteuid () != 0 || unshare (CLONE_NEWNS) != 0)
    return NULL;
  /* Nothing mounted here may show outside. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return NULL;
  if (g_mkdtemp (dir) == NULL)
    return NULL;
  if (mount ("gcurl-test", dir, "ramfs", 0, "mode=0755") != 0)
    {
      g_rmdir (dir);
      return NULL;
    }

  return g_steal_pointer (&dir);
}

/* Content decoding: the servers compress /gzip/ on the fly. */

typedef struct
{
  guint    reports;
  gboolean over;        /* downloaded-bytes past a known download-size, fraction past 1 */
  gboolean one_early;   /* fraction 1 before the last report */
  double   last;
} DecodeWatch;

static void
decode_progress_cb (GCurlTransfer *transfer,
                    gint64         done,
                    gint64         size,
                    gint64         uploaded,
                    gint64         upload_size,
                    DecodeWatch   *watch)
{
  double fraction = g_curl_transfer_get_fraction (transfer);

  watch->reports++;
  if ((size >= 0 && done > size) || fraction > 1.0)
    watch->over = TRUE;
  if (watch->last >= 1.0)
    watch->one_early = TRUE;
  watch->last = fraction;
}

static void
check_decoded (Fixture     *fixture,
               InteropKind  kind)
{
  InteropServer *server = server_for (kind);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;
  DecodeWatch watch = { 0, };
  gint64 size;

  if (server == NULL)
    return;

  for (guint i = 0; text->len < 4 * 1024 * 1024; i++)
    g_string_append_printf (text, "line %07u of a text that compresses well\n", i);
  dir = interop_env_path (&env, "gzip");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (interop_env_write_file (&env, "gzip/text.txt", text->str, text->len, &error));
  g_assert_no_error (error);

  url = g_strdup_printf ("%s/gzip/text.txt", server->url);
  transfer = g_curl_transfer_new (url);
  g_object_set (fixture->multi, "progress-interval", 0, NULL);
  g_signal_connect (transfer, "progress", G_CALLBACK (decode_progress_cb), &watch);
  test_run_transfer (fixture->multi, transfer);

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Content-Encoding"), ==, "gzip");
  body = g_curl_transfer_get_body (transfer);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), text->str, text->len);

  /* Progress counts what came over the wire. */
  size = g_curl_transfer_get_download_size (transfer);
  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes as %" G_GINT64_FORMAT " on the wire (size %"
                  G_GINT64_FORMAT "), %u reports", interop_kind_name (kind), text->len,
                  g_curl_transfer_get_downloaded_bytes (transfer), size, watch.reports);
  g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), <, (gint64) text->len);
  if (size >= 0)
    g_assert_cmpint (g_curl_transfer_get_downloaded_bytes (transfer), ==, size);
  g_assert_cmpfloat (g_curl_transfer_get_fraction (transfer), ==, 1.0);
  g_assert_false (watch.over);
  g_assert_false (watch.one_early);
}

/* nginx's gzip (chunked, no length): the text comes decoded; progress never past 1 before the end. */
static void
test_decoded_nginx (Fixture       *fixture,
                    gconstpointer  data)
{
  check_decoded (fixture, INTEROP_NGINX);
}

/* lighttpd's mod_deflate (with a Content-Length): decoded, downloaded-bytes never past download-size. */
static void
test_decoded_lighttpd (Fixture       *fixture,
                       gconstpointer  data)
{
  check_decoded (fixture, INTEROP_LIGHTTPD);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;
  guint i;

  if (argc == 4 && g_str_equal (argv[1], "--download-child"))
    return download_child (argv[2], argv[3]);

  self_path = argv[0];
  ramfs_dir = make_ramfs ();

  g_test_init (&argc, &argv, NULL);
  test_util_set_server (NULL);

  /* Started before the tests, whose fixtures count the fds the servers
   * do not have. */
  if (!interop_env_init (&env, &error))
    setup_error = g_strdup (error->message);
  else
    {
      const InteropKind kinds[] = { INTEROP_NGINX, INTEROP_H2O, INTEROP_LIGHTTPD, INTEROP_FTP,
                                    INTEROP_HTTPBIN };

      for (i = 0; i < G_N_ELEMENTS (kinds) && setup_error == NULL; i++)
        {
          if (interop_missing (kinds[i]) != NULL)
            continue;
          if (!interop_server_start (&servers[kinds[i]], &env, kinds[i], &error))
            setup_error = g_strdup (error->message);
          else
            started[kinds[i]] = TRUE;
        }
    }

  ADD_TEST ("/interop/download/changed-file/h2o", test_changed_file_h2o);
  ADD_TEST ("/interop/download/changed-file/nginx", test_changed_file_nginx);
  ADD_TEST_NO_XATTRS ("/interop/download/changed-file/h2o-no-xattrs", test_changed_file_h2o);
  ADD_TEST_NO_XATTRS ("/interop/download/changed-file/nginx-no-xattrs", test_changed_file_nginx);
  ADD_TEST_NO_XATTRS ("/interop/download/unchanged-file-resumes", test_unchanged_file_resumes);
  ADD_TEST ("/interop/download/crash-while-redownloading/nginx", test_crash_nginx);
  ADD_TEST ("/interop/download/crash-while-redownloading/h2o", test_crash_h2o);
  ADD_TEST_NO_XATTRS ("/interop/download/crash-while-redownloading/h2o-no-xattrs", test_crash_h2o);
  ADD_TEST_NO_XATTRS ("/interop/download/retry-after-change", test_retry_after_change);
  ADD_TEST ("/interop/download/resume-across-origins", test_resume_across_origins);
  ADD_TEST ("/interop/download/ftp", test_ftp);
  ADD_TEST ("/interop/download/file-scheme", test_file_scheme);
  ADD_TEST ("/interop/decoding/nginx", test_decoded_nginx);
  ADD_TEST ("/interop/decoding/lighttpd", test_decoded_lighttpd);
  ADD_TEST ("/interop/download/part-shortened", test_part_shortened);
  ADD_TEST ("/interop/download/checksum-second-chance", test_checksum_second_chance);
  ADD_TEST ("/interop/upload/redirect-streamed-body", test_redirect_streamed_body);
  ADD_TEST ("/interop/watchdog/stall-deadline", test_stall_deadline);

  ret = g_test_run ();

  for (i = 0; i < N_INTEROP_KINDS; i++)
    interop_server_stop (&servers[i]);
  interop_env_clear (&env);
  if (ramfs_dir != NULL)
    {
      umount (ramfs_dir);
      g_rmdir (ramfs_dir);
      g_free (ramfs_dir);
    }
  g_free (setup_error);

  return ret;
}
