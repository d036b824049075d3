/* test-server-main.c: the test server (test-server.h) as a program, for
 * the binding and example tests written in Python and JavaScript
 *
 * Usage: test-server [SIZE…]
 *
 * Starts the server on 127.0.0.1, prints one JSON line on stdout, then
 * serves until stdin reaches end of file (the test that spawned it closed
 * its end of the pipe, or died), and exits with 0:
 *
 *   {"uri": "http://127.0.0.1:P", "uri2": "http://127.0.0.1:Q",
 *    "raw_uri": "http://127.0.0.1:R", "sha256": {"SIZE": "HEX", …}}
 *
 * "sha256" maps each SIZE given on the command line to the SHA-256 of the
 * body of /bytes/SIZE (test_pattern_sha256()), so that a test in any
 * language can check what it downloaded without reimplementing the
 * pattern. The routes are those documented in test-server.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test-server.h"

static gboolean
parse_size (const char *text,
            guint64    *size)
{
  g_autoptr(GError) error = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, size, &error))
    {
      g_printerr ("test-server: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* Blocks until stdin is at end of file (or fails): the server runs on its
 * own thread meanwhile. */
static void
wait_for_stdin_eof (void)
{
  char buffer[256];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, buffer, sizeof buffer);

      if (n == 0 || (n < 0 && errno != EINTR))
        return;
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TestServer) server = NULL;
  g_autoptr(GString) line = g_string_new (NULL);

  server = test_server_new ();

  g_string_append_printf (line,
                          "{\"uri\": \"%s\", \"uri2\": \"%s\", \"raw_uri\": \"%s\", \"sha256\": {",
                          test_server_get_uri (server),
                          test_server_get_uri2 (server),
                          test_server_get_raw_uri (server));
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *digest = NULL;
      guint64 size;

      if (!parse_size (argv[i], &size))
        return EXIT_FAILURE;
      digest = test_pattern_sha256 (0, size);
      g_string_append_printf (line, "%s\"%" G_GUINT64_FORMAT "\": \"%s\"",
                              i > 1 ? ", " : "", size, digest);
    }
  g_string_append (line, "}}\n");

  /* One write, flushed, before anything waits on it. */
  fputs (line->str, stdout);
  fflush (stdout);

  wait_for_stdin_eof ();
  return EXIT_SUCCESS;
}
