/* test-easy.c: the phases of a run, as gcurl-easy.c's debug lines show them
 *
 * The easy handle records where each run is (queued, active, challenged,
 * redirecting, body) and logs every change of phase with GCURL_DEBUG:
 * "<transfer> <url>: <from> → <to>", which costs nothing unless debug
 * messages of the "GCurl" domain are on (g_log_writer_default_would_drop()).
 * These tests turn them on, capture them with a log handler, and assert the
 * exact sequence of phases of real runs against the test server; and that
 * with debug output off nothing is formatted at all.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

static TestServer *server;

/* The debug messages of the "GCurl" domain since the capture started. */
static GPtrArray *captured;

static void
capture_handler (const char     *log_domain,
                 GLogLevelFlags  log_level,
                 const char     *message,
                 gpointer        user_data)
{
  g_ptr_array_add (captured, g_strdup (message));
}

static void
capture_start (gboolean debug_enabled)
{
  g_clear_pointer (&captured, g_ptr_array_unref);
  captured = g_ptr_array_new_with_free_func (g_free);
  g_log_set_debug_enabled (debug_enabled);
}

static void
capture_stop (void)
{
  g_log_set_debug_enabled (FALSE);
}

/* The phase changes of @transfer in the captured lines, as
 * "from>to from>to…"; asserts that each names @url_part. */
static char *
phases_of (GCurlTransfer *transfer,
           const char    *url_part)
{
  g_autofree char *prefix = g_strdup_printf ("%p ", transfer);
  GString *phases = g_string_new (NULL);
  guint i;

  for (i = 0; i < captured->len; i++)
    {
      const char *line = g_ptr_array_index (captured, i);
      const char *colon, *arrow;
      g_autofree char *from = NULL;

      arrow = strstr (line, " → ");
      if (!g_str_has_prefix (line, prefix) || arrow == NULL)
        continue;
      colon = strrchr (line, ':');
      g_assert_nonnull (colon);
      g_assert_true (colon < arrow);
      /* "<transfer> <url>: " names the run. */
      if (url_part != NULL)
        g_assert_nonnull (g_strstr_len (line, colon - line, url_part));
      from = g_strndup (colon + 2, arrow - (colon + 2));
      if (phases->len > 0)
        g_string_append_c (phases, ' ');
      g_string_append_printf (phases, "%s>%s", from, arrow + strlen (" → "));
    }

  return g_string_free (phases, FALSE);
}

/* A GET of a body goes queued → active (request sent) → body (its head). */
static void
test_phases_get (TestFixture   *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 1000);
  g_autofree char *phases = NULL;

  capture_start (TRUE);
  test_run_transfer (fixture->multi, transfer);
  capture_stop ();

  test_assert_pattern_body (transfer, 1000);
  phases = phases_of (transfer, "/bytes/1000");
  g_assert_cmpstr (phases, ==, "idle>queued queued>active active>body");
}

/* A followed redirect logs active>redirecting>queued, and the second hop's lines name /redirect/0.
 * A followed redirect: its head is "redirecting", then the next hop starts
 * queued again, and its lines name the URL it leads to. */
static void
test_phases_redirect (TestFixture   *fixture,
                      gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/redirect/%d", 1);
  g_autofree char *phases = NULL;
  g_autofree char *body = NULL;
  g_autofree char *prefix = g_strdup_printf ("%p ", transfer);
  gboolean named_second_hop = FALSE;
  guint i;

  capture_start (TRUE);
  test_run_transfer (fixture->multi, transfer);
  capture_stop ();

  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, "done");
  phases = phases_of (transfer, "/redirect/");
  g_assert_cmpstr (phases, ==,
                   "idle>queued queued>active active>redirecting "
                   "redirecting>queued queued>active active>body");

  /* From the second hop on, the lines name /redirect/0. */
  for (i = 0; i < captured->len; i++)
    {
      const char *line = g_ptr_array_index (captured, i);

      if (g_str_has_prefix (line, prefix) && strstr (line, "/redirect/0:") != NULL &&
          strstr (line, "active → body") != NULL)
        named_second_hop = TRUE;
    }
  g_assert_true (named_second_hop);
}

/* An unanswered 401 logs active>challenged>body, and is the transfer's response, with its body.
 * A 401 that libcurl does not answer (no credentials) is "challenged" until
 * its body starts, and is then the response. */
static void
test_phases_challenge (TestFixture   *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/status/%d", 401);
  g_autofree char *phases = NULL;
  g_autofree char *body = NULL;

  capture_start (TRUE);
  test_run_transfer (fixture->multi, transfer);
  capture_stop ();

  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 401);
  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, "status 401");
  phases = phases_of (transfer, "/status/401");
  g_assert_cmpstr (phases, ==, "idle>queued queued>active active>challenged challenged>body");
}

/* A second run of the same transfer starts again from queued. */
static void
test_phases_second_run (TestFixture   *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/bytes/%d", 10);
  g_autofree char *phases = NULL;

  test_run_transfer (fixture->multi, transfer);
  capture_start (TRUE);
  test_run_transfer (fixture->multi, transfer);
  capture_stop ();

  test_assert_pattern_body (transfer, 10);
  phases = phases_of (transfer, "/bytes/10");
  g_assert_cmpstr (phases, ==, "body>queued queued>active active>body");
}

/* With GCurl debug output off, a redirected run sends not one debug line to the log handler:
 * a run asks g_log_writer_default_would_drop() when it starts, and formats nothing. */
static void
test_debug_off (TestFixture   *fixture,
                gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = test_transfer_new_printf (server, "/redirect/%d", 2);
  g_autofree char *body = NULL;

  g_assert_true (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, "GCurl"));
  capture_start (FALSE);
  test_run_transfer (fixture->multi, transfer);

  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, "done");
  g_assert_cmpuint (captured->len, ==, 0);
}

#define ADD_TEST(path, func) \
  g_test_add (path, TestFixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  /* The tests decide when the library's debug output is on. */
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_test_init (&argc, &argv, NULL);
  g_log_set_handler ("GCurl", G_LOG_LEVEL_DEBUG, capture_handler, NULL);
  captured = g_ptr_array_new_with_free_func (g_free);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/easy/phases/get", test_phases_get);
  ADD_TEST ("/easy/phases/redirect", test_phases_redirect);
  ADD_TEST ("/easy/phases/challenge", test_phases_challenge);
  ADD_TEST ("/easy/phases/second-run", test_phases_second_run);
  ADD_TEST ("/easy/debug-off", test_debug_off);

  ret = g_test_run ();
  test_server_free (server);
  g_clear_pointer (&captured, g_ptr_array_unref);

  return ret;
}
