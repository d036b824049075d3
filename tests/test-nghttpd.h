/* test-nghttpd.h: nghttpd servers for the HTTP/2 tests
 *
 * test-http2.c and test-busy-loop.c run real HTTP/2 servers: nghttpd
 * (Debian package nghttp2-server) on ephemeral 127.0.0.1 ports, serving a
 * document root of pattern files named by their size ("/pattern-1000" has
 * 1000 bytes, see test-server.h). This is what they share: finding
 * nghttpd, writing the document root, starting a server (and making sure it
 * is the one that listens on its port) and stopping it. Each program keeps
 * its own temporary directory and skip logic.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char  *name;       /* in the log file's name and in errors */
  gboolean     tls;
  GSubprocess *process;
  guint16      port;
  char        *base_url;   /* scheme://127.0.0.1:port, no trailing slash */
} TestNghttpd;

/* nghttpd's path, or NULL if it is not installed. Free it with g_free(). */
char     *test_nghttpd_find          (void);

/* Makes @dir/htdocs and returns its path, or NULL with @error. */
char     *test_nghttpd_make_doc_root (const char   *dir,
                                      GError      **error);
/* Writes @doc_root/pattern-@size, the test pattern of @size bytes. */
gboolean  test_nghttpd_write_pattern (const char   *doc_root,
                                      guint64       size,
                                      GError      **error);

/* Starts @nghttpd on a free 127.0.0.1 port, serving @doc_root: cleartext
 * HTTP/2 (prior knowledge), or TLS with @key_file and @cert_file if
 * @server->tls. @extra_option (or NULL) is one more option for nghttpd.
 * Its output goes to @dir/nghttpd-NAME.log. On success @server's
 * process, port and base_url are set; the kernel kills nghttpd if the
 * test program dies (PR_SET_PDEATHSIG). */
gboolean  test_nghttpd_start         (TestNghttpd  *server,
                                      const char   *nghttpd,
                                      const char   *dir,
                                      const char   *doc_root,
                                      const char   *extra_option,
                                      const char   *key_file,
                                      const char   *cert_file,
                                      GError      **error);
/* Kills and reaps the server, if it runs, and clears process and
 * base_url. */
void      test_nghttpd_stop          (TestNghttpd  *server);

/* Removes @path, and all below it if it is a directory. */
void      test_nghttpd_remove_tree   (const char   *path);

G_END_DECLS
