/* test-auth.c: the "authenticate" signal and GCurlAuth
 *
 * A transfer's handler answers 401 and 407 challenges (libgcurlmulti/
 * gcurl-auth.c, and the hold of the challenge in gcurl-easy.c): now or
 * later, with credentials that go to the challenger only, or not at all,
 * when the challenge is the response, whole. Against the test servers
 * (tests/test-server.h: /auth/basic, /auth/bearer, /auth/digest, and the
 * raw server as a proxy that wants credentials); apache2 and squid are in
 * tests/interop/test-interop-proxy.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define WRONG_PASSWORD "wrong"

/* What the handler answers, call after call, and what it saw. */
typedef struct
{
  const char *answers[4];   /* a password, "cancel", "hold" (no answer), or
                             * NULL: return FALSE */
  guint       delay_ms;     /* 0: answer before returning */
  guint       n_calls;
  GString    *log;          /* "scheme|realm|authority|server or proxy|retrying;" */
  GCurlAuth  *kept;         /* (owned): the last challenge */
} Answers;

static void
answers_clear (Answers *a)
{
  if (a->log != NULL)
    g_string_free (a->log, TRUE);
  g_clear_object (&a->kept);
}

static void
answer (GCurlAuth  *auth,
        const char *with)
{
  if (g_str_equal (with, "cancel"))
    g_curl_auth_cancel (auth);
  else
    g_curl_auth_authenticate (auth, TEST_AUTH_USER, with);
}

typedef struct
{
  GCurlAuth  *auth;
  const char *with;
} Later;

static gboolean
answer_later_cb (gpointer data)
{
  Later *later = data;

  answer (later->auth, later->with);
  g_object_unref (later->auth);
  g_free (later);

  return G_SOURCE_REMOVE;
}

static gboolean
authenticate_cb (GCurlTransfer *transfer,
                 GCurlAuth     *auth,
                 gboolean       retrying,
                 Answers       *a)
{
  const char *with = a->n_calls < G_N_ELEMENTS (a->answers) ? a->answers[a->n_calls] : NULL;

  a->n_calls++;
  if (a->log == NULL)
    a->log = g_string_new (NULL);
  g_string_append_printf (a->log, "%s|%s|%s|%s|%d;", g_curl_auth_get_scheme_name (auth),
                          g_curl_auth_get_realm (auth), g_curl_auth_get_authority (auth),
                          g_curl_auth_is_for_proxy (auth) ? "proxy" : "server", retrying);
  g_set_object (&a->kept, auth);

  /* The transfer waits, running. */
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_RUNNING);

  if (with == NULL)
    return FALSE;
  if (g_str_equal (with, "hold"))
    return TRUE;

  if (a->delay_ms > 0)
    {
      Later *later = g_new0 (Later, 1);

      later->auth = g_object_ref (auth);
      later->with = with;
      g_timeout_add (a->delay_ms, answer_later_cb, later);
    }
  else
    answer (auth, with);

  return TRUE;
}

static GCurlTransfer *
auth_transfer_new (const char *path,
                   Answers    *a)
{
  GCurlTransfer *transfer = test_transfer_new_printf (server, "%s", path);

  if (a != NULL)
    g_signal_connect (transfer, "authenticate", G_CALLBACK (authenticate_cb), a);

  return transfer;
}

/* "127.0.0.1:PORT" of a server URL. */
static char *
authority_of (const char *uri)
{
  return g_strdup (uri + strlen ("http://"));
}

static void
assert_welcome (GCurlTransfer *transfer)
{
  g_autofree char *body = NULL;

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, "welcome " TEST_AUTH_USER);
}

/* The 401 as the response: its status, its challenge, its page, nothing else. */
static void
assert_challenge_is_response (GCurlTransfer *transfer,
                              const char    *challenge)
{
  g_autofree char *body = NULL;
  g_auto(GStrv) values = NULL;

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 401);
  values = g_curl_transfer_get_response_header_values (transfer, "WWW-Authenticate");
  g_assert_nonnull (values);
  g_assert_cmpuint (g_strv_length (values), ==, 1);
  g_assert_cmpstr (values[0], ==, challenge);
  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, TEST_AUTH_PAGE);
}

/* Answered at once: one emission naming Basic, the realm and the server; the retry gets the 200. */
static void
test_basic (Fixture       *fixture,
            gconstpointer  data)
{
  Answers a = { { TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  g_autofree char *authority = authority_of (test_server_get_uri (server));
  g_autofree char *expected = g_strdup_printf ("Basic|" TEST_AUTH_REALM "|%s|server|0;", authority);
  TestRecorder recorder;
  guint before = test_server_get_path_count (server, "/auth/basic");

  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);

  assert_welcome (transfer);
  g_assert_cmpuint (a.n_calls, ==, 1);
  g_assert_cmpstr (a.log->str, ==, expected);
  g_assert_cmpuint (test_server_get_path_count (server, "/auth/basic") - before, ==, 2);
  /* The challenge was never the response. */
  g_assert_cmpuint (recorder.n_got_headers, ==, 1);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_null (g_curl_transfer_get_response_header (transfer, "WWW-Authenticate"));

  test_recorder_clear (&recorder);
  answers_clear (&a);
}

/* Refused credentials emit again with retrying TRUE; the next answer gets the 200. */
static void
test_retry (Fixture       *fixture,
            gconstpointer  data)
{
  Answers a = { { WRONG_PASSWORD, TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  g_autofree char *authority = authority_of (test_server_get_uri (server));
  g_autofree char *expected = g_strdup_printf ("Basic|" TEST_AUTH_REALM "|%s|server|0;"
                                               "Basic|" TEST_AUTH_REALM "|%s|server|1;",
                                               authority, authority);

  test_run_transfer (fixture->multi, transfer);

  assert_welcome (transfer);
  g_assert_cmpstr (a.log->str, ==, expected);
  answers_clear (&a);
}

/* After refused credentials, a handler that gives up leaves the last 401 as the response. */
static void
test_give_up (Fixture       *fixture,
              gconstpointer  data)
{
  Answers a = { { WRONG_PASSWORD, NULL } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  TestRecorder recorder;

  test_recorder_attach (&recorder, transfer);
  test_run_transfer (fixture->multi, transfer);

  g_assert_cmpuint (a.n_calls, ==, 2);
  assert_challenge_is_response (transfer, "Basic realm=\"" TEST_AUTH_REALM "\"");
  g_assert_cmpuint (recorder.n_got_headers, ==, 1);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  test_recorder_clear (&recorder);
  answers_clear (&a);
}

/* Without a handler, a handler returning FALSE, or one that cancels (now or later): the 401 is the response. */
static void
test_declined (Fixture       *fixture,
               gconstpointer  data)
{
  Answers returns_false = { { NULL } };
  Answers cancels = { { "cancel" } };
  Answers cancels_later = { { "cancel" }, 50 };
  Answers *cases[] = { NULL, &returns_false, &cancels, &cancels_later };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", cases[i]);
      guint before = test_server_get_path_count (server, "/auth/basic");

      test_run_transfer (fixture->multi, transfer);

      assert_challenge_is_response (transfer, "Basic realm=\"" TEST_AUTH_REALM "\"");
      g_assert_cmpuint (test_server_get_path_count (server, "/auth/basic") - before, ==, 1);
      if (cases[i] != NULL)
        {
          g_assert_cmpuint (cases[i]->n_calls, ==, 1);
          answers_clear (cases[i]);
        }
    }
}

/* A realm with a comma and an escaped quote is read whole from its quoted-string. */
static void
test_realm_quoted (Fixture       *fixture,
                   gconstpointer  data)
{
  Answers a = { { NULL } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic?realm=Staff%2C%20only%5C%22", &a);

  test_run_transfer (fixture->multi, transfer);

  g_assert_cmpuint (a.n_calls, ==, 1);
  g_assert_cmpstr (g_curl_auth_get_realm (a.kept), ==, "Staff, only\"");
  answers_clear (&a);
}

/* An answer 1.5 s later, past a 1 s stall timeout: the transfer waits and succeeds. */
static void
test_answer_later (Fixture       *fixture,
                   gconstpointer  data)
{
  Answers a = { { TEST_AUTH_PASSWORD }, 1500 };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);

  g_object_set (fixture->multi, "stall-timeout", 1, NULL);
  test_run_transfer (fixture->multi, transfer);

  assert_welcome (transfer);
  g_assert_cmpuint (a.n_calls, ==, 1);
  answers_clear (&a);
}

/* Bearer: the password is the token, sent as "Authorization: Bearer". */
static void
test_bearer (Fixture       *fixture,
             gconstpointer  data)
{
  Answers a = { { TEST_AUTH_TOKEN } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/bearer?realm=api", &a);
  g_autofree char *authority = authority_of (test_server_get_uri (server));
  g_autofree char *expected = g_strdup_printf ("Bearer|api|%s|server|0;", authority);

  test_run_transfer (fixture->multi, transfer);

  assert_welcome (transfer);
  g_assert_cmpstr (a.log->str, ==, expected);
  answers_clear (&a);
}

/* Digest (libsoup's server): libcurl's own probe round is not emitted; a wrong password is, retrying. */
static void
test_digest (Fixture       *fixture,
             gconstpointer  data)
{
  Answers right = { { TEST_AUTH_PASSWORD } };
  Answers wrong_first = { { WRONG_PASSWORD, TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/digest", &right);
  g_autoptr(GCurlTransfer) retried = auth_transfer_new ("/auth/digest", &wrong_first);
  g_autofree char *authority = authority_of (test_server_get_uri (server));
  g_autofree char *once = g_strdup_printf ("Digest|" TEST_AUTH_REALM "|%s|server|0;", authority);
  g_autofree char *twice = g_strdup_printf ("%sDigest|" TEST_AUTH_REALM "|%s|server|1;",
                                            once, authority);

  test_run_transfer (fixture->multi, transfer);
  assert_welcome (transfer);
  g_assert_cmpstr (right.log->str, ==, once);

  test_run_transfer (fixture->multi, retried);
  assert_welcome (retried);
  g_assert_cmpstr (wrong_first.log->str, ==, twice);

  answers_clear (&right);
  answers_clear (&wrong_first);
}

/* The credentials follow a redirect within the origin, never one to another origin. */
static void
test_redirect (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) TEST_AUTH_USER ":" TEST_AUTH_PASSWORD,
                                              strlen (TEST_AUTH_USER ":" TEST_AUTH_PASSWORD));
  g_autofree char *line = g_strdup_printf ("Authorization: Basic %s\n", encoded);
  g_autofree char *other = test_server_url2 (server, "/echo-headers");
  g_autofree char *other_escaped = g_uri_escape_string (other, NULL, TRUE);
  g_autofree char *cross_path = g_strconcat ("/auth/basic?redirect=", other_escaped, NULL);
  Answers same_answers = { { TEST_AUTH_PASSWORD } };
  Answers cross_answers = { { TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) same = auth_transfer_new ("/auth/basic?redirect=/echo-headers",
                                                     &same_answers);
  g_autoptr(GCurlTransfer) cross = auth_transfer_new (cross_path, &cross_answers);
  g_autofree char *same_body = NULL;
  g_autofree char *cross_body = NULL;

  test_run_transfer (fixture->multi, same);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (same));
  g_assert_cmpuint (g_curl_transfer_get_status_code (same), ==, 200);
  same_body = test_body_string (same);
  g_assert_nonnull (strstr (same_body, line));

  test_run_transfer (fixture->multi, cross);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (cross));
  g_assert_cmpuint (g_curl_transfer_get_status_code (cross), ==, 200);
  g_assert_cmpstr (g_curl_transfer_get_effective_url (cross), ==, other);
  cross_body = test_body_string (cross);
  g_assert_true (g_str_has_prefix (cross_body, "method: GET\n"));
  g_assert_null (strstr (cross_body, "Authorization"));

  answers_clear (&same_answers);
  answers_clear (&cross_answers);
}

/* A request body (bytes or a stream) is sent again, whole, with the credentials. */
static void
test_request_body (Fixture       *fixture,
                   gconstpointer  data)
{
  static const char text[] = "a body sent twice, once for the challenge";
  g_autoptr(GBytes) body = g_bytes_new_static (text, strlen (text));
  g_autofree char *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_autofree char *expected = g_strdup_printf ("welcome " TEST_AUTH_USER ": %" G_GSIZE_FORMAT
                                               " bytes, sha256 %s", strlen (text), sha256);

  for (guint stream = 0; stream < 2; stream++)
    {
      Answers a = { { TEST_AUTH_PASSWORD } };
      g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
      g_autofree char *reply = NULL;

      if (stream)
        {
          g_autoptr(GInputStream) input = g_memory_input_stream_new_from_bytes (body);

          g_curl_transfer_set_method (transfer, "POST");
          g_curl_transfer_set_request_stream (transfer, input, strlen (text));
        }
      else
        g_curl_transfer_set_request_body (transfer, body, "text/plain");

      test_run_transfer (fixture->multi, transfer);
      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      reply = test_body_string (transfer);
      g_assert_cmpstr (reply, ==, expected);
      g_assert_cmpuint (a.n_calls, ==, 1);
      answers_clear (&a);
    }
}

/* Cancelled while it waits: "finished" once, cancelled; a later answer does nothing. */
static void
test_cancel_while_waiting (Fixture       *fixture,
                           gconstpointer  data)
{
  Answers a = { { "hold" } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  TestRecorder recorder;
  guint before;

  test_recorder_attach (&recorder, transfer);
  g_curl_multi_add_transfer (fixture->multi, transfer);
  while (a.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);
  before = test_server_get_path_count (server, "/auth/basic");

  g_curl_transfer_cancel (transfer);
  test_run_until (&recorder.finished);
  test_assert_transfer_error (transfer, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                              G_CURL_TRANSFER_STATE_CANCELLED);

  /* The handler's answer, late: nothing is sent, nothing is emitted. */
  g_curl_auth_authenticate (a.kept, TEST_AUTH_USER, TEST_AUTH_PASSWORD);
  test_run_for (100);
  g_assert_cmpuint (recorder.n_finished, ==, 1);
  g_assert_cmpuint (test_server_get_path_count (server, "/auth/basic"), ==, before);
  g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);

  test_recorder_clear (&recorder);
  answers_clear (&a);
}

/* Only the first answer counts; a run again asks again, without the last run's credentials. */
static void
test_answers_once_per_run (Fixture       *fixture,
                           gconstpointer  data)
{
  Answers a = { { TEST_AUTH_PASSWORD, TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  guint before = test_server_get_path_count (server, "/auth/basic");

  test_run_transfer (fixture->multi, transfer);
  assert_welcome (transfer);
  /* Too late, and not the first answer. */
  g_curl_auth_cancel (a.kept);
  g_curl_auth_authenticate (a.kept, TEST_AUTH_USER, WRONG_PASSWORD);

  test_run_transfer (fixture->multi, transfer);
  assert_welcome (transfer);
  g_assert_cmpuint (a.n_calls, ==, 2);
  g_assert_true (g_str_has_suffix (a.log->str, "|server|0;"));
  g_assert_cmpuint (test_server_get_path_count (server, "/auth/basic") - before, ==, 4);
  answers_clear (&a);
}

/* A proxy's 407 (plain http): is-for-proxy, the proxy's authority; the answer goes to the proxy. */
static void
test_proxy (Fixture       *fixture,
            gconstpointer  data)
{
  const char *target = "http://origin.invalid/proxy-auth/file";
  g_autofree char *authority = authority_of (test_server_get_raw_uri (server));
  g_autofree char *expected = g_strdup_printf ("Basic|" TEST_AUTH_PROXY_REALM "|%s|proxy|0;",
                                               authority);
  g_autofree char *proxied = g_strconcat ("proxied ", target, NULL);

  for (guint answered = 0; answered < 2; answered++)
    {
      Answers a = { { answered ? TEST_AUTH_PASSWORD : NULL } };
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (target);
      g_autofree char *body = NULL;
      guint before = test_server_get_path_count (server, "proxy-challenged");

      g_object_set (transfer, "proxy", test_server_get_raw_uri (server), NULL);
      g_signal_connect (transfer, "authenticate", G_CALLBACK (authenticate_cb), &a);
      test_run_transfer (fixture->multi, transfer);

      g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
      g_assert_cmpstr (a.log->str, ==, expected);
      g_assert_cmpuint (test_server_get_path_count (server, "proxy-challenged") - before, ==, 1);
      body = test_body_string (transfer);
      if (answered)
        {
          g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
          g_assert_cmpstr (body, ==, proxied);
        }
      else
        {
          g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 407);
          g_assert_cmpstr (body, ==, TEST_AUTH_PROXY_PAGE);
          g_assert_cmpstr (g_curl_transfer_get_response_header (transfer, "Proxy-Authenticate"),
                           ==, "Basic realm=\"" TEST_AUTH_PROXY_REALM "\"");
        }
      answers_clear (&a);
    }
}

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  TestSendAndRead *outcome = user_data;

  g_curl_multi_download_finish (G_CURL_MULTI (source), result, &outcome->error);
  outcome->done = TRUE;
}

/* download_async: answered, the file is the 200's body; declined, it fails with the 401 and writes nothing. */
static void
test_download (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("gcurl-auth-XXXXXX", NULL);

  for (guint answered = 0; answered < 2; answered++)
    {
      Answers a = { { answered ? TEST_AUTH_PASSWORD : NULL } };
      g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
      g_autofree char *path = g_build_filename (dir, answered ? "answered" : "declined", NULL);
      g_autoptr(GFile) file = g_file_new_for_path (path);
      TestSendAndRead outcome = { 0, };
      g_autofree char *contents = NULL;

      g_curl_multi_download_async (fixture->multi, transfer, file, G_CURL_DOWNLOAD_NONE, NULL,
                                   download_cb, &outcome);
      test_run_until (&outcome.done);
      g_assert_cmpuint (a.n_calls, ==, 1);
      if (answered)
        {
          g_assert_no_error (outcome.error);
          g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
          g_assert_cmpstr (contents, ==, "welcome " TEST_AUTH_USER);
        }
      else
        {
          g_assert_error (outcome.error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR);
          g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
          g_clear_error (&outcome.error);
        }
      g_remove (path);
      answers_clear (&a);
    }
  g_rmdir (dir);
}

/* send_async: the stream is the authenticated response's body. */
static void
test_send (Fixture       *fixture,
           gconstpointer  data)
{
  Answers a = { { TEST_AUTH_PASSWORD } };
  g_autoptr(GCurlTransfer) transfer = auth_transfer_new ("/auth/basic", &a);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = test_send_and_wait (fixture->multi, transfer, NULL, &error);
  TestReadAll ra = { 0, };

  g_assert_no_error (error);
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  test_read_to_end (stream, &ra);
  g_assert_no_error (ra.error);
  g_assert_cmpmem (ra.data->data, ra.data->len, "welcome " TEST_AUTH_USER,
                   strlen ("welcome " TEST_AUTH_USER));
  g_byte_array_unref (ra.data);
  g_input_stream_close (stream, NULL, NULL);
  while (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  answers_clear (&a);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/auth/basic", test_basic);
  ADD_TEST ("/auth/retry", test_retry);
  ADD_TEST ("/auth/give-up", test_give_up);
  ADD_TEST ("/auth/declined", test_declined);
  ADD_TEST ("/auth/realm-quoted", test_realm_quoted);
  ADD_TEST ("/auth/answer-later", test_answer_later);
  ADD_TEST ("/auth/bearer", test_bearer);
  ADD_TEST ("/auth/digest", test_digest);
  ADD_TEST ("/auth/redirect", test_redirect);
  ADD_TEST ("/auth/request-body", test_request_body);
  ADD_TEST ("/auth/cancel-while-waiting", test_cancel_while_waiting);
  ADD_TEST ("/auth/answers-once-per-run", test_answers_once_per_run);
  ADD_TEST ("/auth/proxy", test_proxy);
  ADD_TEST ("/auth/download", test_download);
  ADD_TEST ("/auth/send", test_send);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
