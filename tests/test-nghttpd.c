/* test-nghttpd.c: nghttpd servers for the HTTP/2 tests
 *
 * See test-nghttpd.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <glib/gstdio.h>

#include "test-nghttpd.h"
#include "test-server.h"

#define SERVER_START_TIMEOUT_S  10
#define SERVER_START_ATTEMPTS   5
#define SERVER_POLL_INTERVAL_MS 10

/* Debian installs nghttpd in /usr/sbin, which is not in a user's PATH. */
char *
test_nghttpd_find (void)
{
  const char *sbin_paths[] = { "/usr/local/sbin/nghttpd", "/usr/sbin/nghttpd" };
  char *path = g_find_program_in_path ("nghttpd");
  guint i;

  for (i = 0; path == NULL && i < G_N_ELEMENTS (sbin_paths); i++)
    if (g_file_test (sbin_paths[i], G_FILE_TEST_IS_EXECUTABLE))
      path = g_strdup (sbin_paths[i]);

  return path;
}

/* Test data */

char *
test_nghttpd_make_doc_root (const char  *dir,
                            GError     **error)
{
  g_autofree char *doc_root = g_build_filename (dir, "htdocs", NULL);

  if (g_mkdir (doc_root, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot make %s: %s", doc_root, g_strerror (saved_errno));
      return NULL;
    }

  return g_steal_pointer (&doc_root);
}

gboolean
test_nghttpd_write_pattern (const char  *doc_root,
                            guint64      size,
                            GError     **error)
{
  g_autofree guint8 *data = g_malloc (MAX (size, 1));
  g_autofree char *name = g_strdup_printf ("pattern-%" G_GUINT64_FORMAT, size);
  g_autofree char *path = g_build_filename (doc_root, name, NULL);

  test_pattern_fill (0, data, size);

  return g_file_set_contents (path, (const char *) data, size, error);
}

void
test_nghttpd_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          test_nghttpd_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

/* nghttpd */

/* A port that was free a moment ago. Someone may take it before nghttpd
 * binds it: test_nghttpd_start() then tries another. */
static guint16
pick_free_port (void)
{
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  GError *error = NULL;

  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                        G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (probe, any_port, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (probe, &error);
  g_assert_no_error (error);
  g_socket_close (probe, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
port_accepts_connections (guint16 port)
{
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  gboolean connected;

  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                        G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_nonnull (probe);
  connected = g_socket_connect (probe, address, NULL, NULL);
  g_socket_close (probe, NULL);

  return connected;
}

/* Whether process @pid holds the socket listening on 127.0.0.1:@port: a
 * connection that succeeds proves that something listens there, not that
 * it is the nghttpd just started rather than a process that took the port
 * first (nghttpd then exits, but perhaps not yet). */
static gboolean
process_listens_on (const char *pid,
                    guint16     port)
{
  g_autofree char *table = NULL;
  g_autofree char *local = g_strdup_printf ("0100007F:%04X", port);
  g_autofree char *fd_dir = g_build_filename ("/proc", pid, "fd", NULL);
  g_autofree char *socket_link = NULL;
  g_autoptr(GDir) dir = NULL;
  g_auto(GStrv) lines = NULL;
  const char *name;
  guint i;

  if (!g_file_get_contents ("/proc/self/net/tcp", &table, NULL, NULL))
    return FALSE;
  lines = g_strsplit (table, "\n", -1);
  /* "sl local_address rem_address st … uid timeout inode": state 0A is
   * LISTEN. */
  for (i = 1; lines[i] != NULL && socket_link == NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) columns = g_ptr_array_new ();
      guint j;

      for (j = 0; fields[j] != NULL; j++)
        if (fields[j][0] != '\0')
          g_ptr_array_add (columns, fields[j]);
      if (columns->len > 9 &&
          g_str_equal (g_ptr_array_index (columns, 1), local) &&
          g_str_equal (g_ptr_array_index (columns, 3), "0A"))
        socket_link = g_strdup_printf ("socket:[%s]", (char *) g_ptr_array_index (columns, 9));
    }
  if (socket_link == NULL)
    return FALSE;

  dir = g_dir_open (fd_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (g_strcmp0 (target, socket_link) == 0)
        return TRUE;
    }

  return FALSE;
}

/* Waits until @process listens on @port. FALSE if it exits first (the port
 * was taken: nghttpd says "Address already in use") or takes too long. */
static gboolean
wait_until_listening (GSubprocess *process,
                      guint16      port)
{
  gint64 deadline = g_get_monotonic_time () + SERVER_START_TIMEOUT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      /* GLib's worker thread reaps the child; the identifier is NULL from
       * then on. */
      g_autofree char *pid = g_strdup (g_subprocess_get_identifier (process));

      if (pid == NULL)
        return FALSE;
      if (port_accepts_connections (port))
        return process_listens_on (pid, port);
      g_usleep (SERVER_POLL_INTERVAL_MS * 1000);
    }

  return FALSE;
}

static void
kill_and_reap (GSubprocess *process)
{
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

static void
set_parent_death_signal (gpointer user_data)
{
#ifdef __linux__
  /* A failed assertion aborts the test program without running any
   * cleanup: the kernel then kills nghttpd instead of leaving it behind. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

gboolean
test_nghttpd_start (TestNghttpd  *server,
                    const char   *nghttpd,
                    const char   *dir,
                    const char   *doc_root,
                    const char   *extra_option,
                    const char   *key_file,
                    const char   *cert_file,
                    GError      **error)
{
  g_autofree char *log_path = g_strdup_printf ("%s/nghttpd-%s.log", dir, server->name);
  g_autofree char *log = NULL;
  guint attempt;

  for (attempt = 0; attempt < SERVER_START_ATTEMPTS; attempt++)
    {
      g_autoptr(GSubprocessLauncher) launcher = NULL;
      g_autoptr(GSubprocess) process = NULL;
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) argv = NULL;
      g_autofree char *htdocs = g_strdup_printf ("--htdocs=%s", doc_root);
      g_autofree char *port_arg = NULL;
      guint16 port = pick_free_port ();

      port_arg = g_strdup_printf ("%u", port);
      g_strv_builder_add_many (builder, nghttpd, "--address=127.0.0.1", htdocs, NULL);
      if (extra_option != NULL)
        g_strv_builder_add (builder, extra_option);
      if (!server->tls)
        g_strv_builder_add (builder, "--no-tls");
      g_strv_builder_add (builder, port_arg);
      if (server->tls)
        g_strv_builder_add_many (builder, key_file, cert_file, NULL);
      argv = g_strv_builder_end (builder);

      /* A file, not a pipe: nothing to drain, and no fd of ours. */
      g_unlink (log_path);
      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
      g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
      g_subprocess_launcher_set_child_setup (launcher, set_parent_death_signal, NULL, NULL);
      process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, error);
      if (process == NULL)
        return FALSE;

      if (wait_until_listening (process, port))
        {
          server->process = g_steal_pointer (&process);
          server->port = port;
          server->base_url = g_strdup_printf ("%s://127.0.0.1:%u",
                                              server->tls ? "https" : "http", port);
          return TRUE;
        }
      kill_and_reap (process);
    }

  g_file_get_contents (log_path, &log, NULL, NULL);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "nghttpd (%s) did not listen on 127.0.0.1 after %u attempts; it said: %s",
               server->name, SERVER_START_ATTEMPTS, log ? log : "nothing");

  return FALSE;
}

void
test_nghttpd_stop (TestNghttpd *server)
{
  if (server->process != NULL)
    kill_and_reap (server->process);
  g_clear_object (&server->process);
  g_clear_pointer (&server->base_url, g_free);
}
