/* test-proxy.c: proxies from the GProxyResolver or set explicitly, the test server as proxy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

static TestServer *server;

typedef TestFixture Fixture;

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, test_fixture_setup, func, test_fixture_teardown)

#define PROXIED_URL "http://gcurl-test.invalid/hello"

static void
assert_body_text (GCurlTransfer *transfer,
                  const char    *text)
{
  g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_SUCCEEDED);
  g_assert_nonnull (body);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), text, strlen (text));
}

/* The proxy resolver says where each URL goes: a host that does not even
 * resolve is reached through the proxy it names. */
static void
test_proxy_from_resolver (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  guint before = test_server_get_path_count (server, "proxied");
  guint i;

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  /* Twice: the second answer comes from the multi's cache. */
  for (i = 0; i < 2; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);

      test_run_transfer (fixture->multi, transfer);
      assert_body_text (transfer, "proxied " PROXIED_URL);
    }
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before + 2);
}

/* A GProxyResolver that answers "direct://" and records what it is asked. */
#define TEST_TYPE_RECORDING_RESOLVER (test_recording_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestRecordingResolver, test_recording_resolver,
                      TEST, RECORDING_RESOLVER, GObject)

struct _TestRecordingResolver
{
  GObject    parent_instance;
  GPtrArray *asked;
};

static void test_recording_resolver_iface_init (GProxyResolverInterface *iface);

G_DEFINE_TYPE_WITH_CODE (TestRecordingResolver, test_recording_resolver, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER,
                                                test_recording_resolver_iface_init))

static char **
recording_resolver_lookup (GProxyResolver  *resolver,
                           const char      *uri,
                           GCancellable    *cancellable,
                           GError         **error)
{
  TestRecordingResolver *self = TEST_RECORDING_RESOLVER (resolver);
  char *direct[] = { (char *) "direct://", NULL };

  g_ptr_array_add (self->asked, g_strdup (uri));
  return g_strdupv (direct);
}

static void
recording_resolver_lookup_async (GProxyResolver      *resolver,
                                 const char          *uri,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_return_pointer (task, recording_resolver_lookup (resolver, uri, cancellable, NULL),
                         (GDestroyNotify) g_strfreev);
}

static char **
recording_resolver_lookup_finish (GProxyResolver  *resolver,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_recording_resolver_iface_init (GProxyResolverInterface *iface)
{
  iface->lookup = recording_resolver_lookup;
  iface->lookup_async = recording_resolver_lookup_async;
  iface->lookup_finish = recording_resolver_lookup_finish;
}

static void
test_recording_resolver_finalize (GObject *object)
{
  g_ptr_array_unref (TEST_RECORDING_RESOLVER (object)->asked);
  G_OBJECT_CLASS (test_recording_resolver_parent_class)->finalize (object);
}

static void
test_recording_resolver_class_init (TestRecordingResolverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_recording_resolver_finalize;
}

static void
test_recording_resolver_init (TestRecordingResolver *self)
{
  self->asked = g_ptr_array_new_with_free_func (g_free);
}

/* The resolver (perhaps a PAC script from the network) is asked about the
 * origin only: no user, password, path or query. */
static void
test_proxy_resolver_asked_origin (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(TestRecordingResolver) resolver = g_object_new (TEST_TYPE_RECORDING_RESOLVER, NULL);
  g_autofree char *url = test_server_url (server, "/bytes/100?token=t0ps3cret");
  g_autofree char *with_password = g_strconcat ("http://user:secret@", url + strlen ("http://"), NULL);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (with_password);
  g_autofree char *expected = g_strconcat (test_server_get_uri (server), "/", NULL);

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_pattern_body (transfer, 100);

  g_assert_cmpuint (resolver->asked->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (resolver->asked, 0), ==, expected);
}

/* Each origin is asked about once, however alike the URLs: one whose
 * text starts with the last origin's is not taken for it. (Nothing
 * listens on port 1: the transfers fail, after the resolver answered.) */
static void
test_proxy_resolver_origin_prefix (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(TestRecordingResolver) resolver = g_object_new (TEST_TYPE_RECORDING_RESOLVER, NULL);
  const char * const urls[] = {
    "http://127.0.0.1:1/a", "http://127.0.0.1:1?b", "http://127.0.0.1:12/c",
    "http://127.0.0.1:1#d", "http://127.0.0.1:12/e",
  };

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (urls[i]);

      test_run_transfer (fixture->multi, transfer);
      g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
    }

  g_assert_cmpuint (resolver->asked->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (resolver->asked, 0), ==, "http://127.0.0.1:1/");
  g_assert_cmpstr (g_ptr_array_index (resolver->asked, 1), ==, "http://127.0.0.1:12/");
}

/* An explicit proxy beats the resolver: the transfer's, then the multi's;
 * the empty string means a direct connection. */
static void
test_proxy_explicit (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  g_autoptr(GCurlTransfer) direct = test_transfer_new_printf (server, "/bytes/%u", 1000);
  g_autoptr(GCurlTransfer) via_multi = g_curl_transfer_new (PROXIED_URL);
  guint before = test_server_get_path_count (server, "proxied");

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  g_object_set (direct, "proxy", "", NULL);
  test_run_transfer (fixture->multi, direct);
  test_assert_pattern_body (direct, 1000);
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before);

  /* No resolver, the multi's proxy. */
  g_object_set (fixture->multi, "proxy-resolver", NULL,
                "proxy", test_server_get_raw_uri (server), NULL);
  test_run_transfer (fixture->multi, via_multi);
  assert_body_text (via_multi, "proxied " PROXIED_URL);
  g_assert_cmpuint (test_server_get_path_count (server, "proxied"), ==, before + 1);

  /* The transfer's empty proxy beats the multi's: the name does not
   * resolve, directly. */
  g_object_set (via_multi, "proxy", "", NULL);
  test_run_transfer (fixture->multi, via_multi);
  test_assert_transfer_error (via_multi, G_CURL_ERROR, G_CURL_ERROR_COULDNT_RESOLVE_HOST,
                              G_CURL_TRANSFER_STATE_FAILED);
}

/* The resolver's answers are kept until the network changes. */
static void
test_proxy_network_change (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GProxyResolver) resolver =
    g_simple_proxy_resolver_new (test_server_get_raw_uri (server), NULL);
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);
  GNetworkMonitor *monitor = NULL;

  g_object_set (fixture->multi, "proxy-resolver", resolver, NULL);
  g_object_get (fixture->multi, "network-monitor", &monitor, NULL);
  g_assert_true (monitor == g_network_monitor_get_default ());

  test_run_transfer (fixture->multi, transfer);
  assert_body_text (transfer, "proxied " PROXIED_URL);

  /* The desktop's settings change: still the kept answer. */
  g_simple_proxy_resolver_set_default_proxy (G_SIMPLE_PROXY_RESOLVER (resolver), "direct://");
  test_run_transfer (fixture->multi, transfer);
  assert_body_text (transfer, "proxied " PROXIED_URL);

  /* Then the network changes: asked again, direct, and the name does not
   * resolve. */
  g_signal_emit_by_name (monitor, "network-changed", TRUE);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_RESOLVE_HOST,
                              G_CURL_TRANSFER_STATE_FAILED);
  g_object_unref (monitor);
}

/* A proxy that is down is named in the message (without its password); the
 * code stays libcurl's. */
static void
test_proxy_down (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (PROXIED_URL);
  guint16 port = test_server_get_refused_port ();
  g_autofree char *proxy = g_strdup_printf ("http://alice:s3cret@127.0.0.1:%u", port);
  g_autofree char *shown = g_strdup_printf ("http://alice@127.0.0.1:%u", port);
  const GError *error;

  g_object_set (fixture->multi, "proxy", proxy, NULL);
  test_run_transfer (fixture->multi, transfer);
  test_assert_transfer_error (transfer, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT,
                              G_CURL_TRANSFER_STATE_FAILED);
  error = g_curl_transfer_get_error (transfer);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "proxy"));
  g_assert_nonnull (strstr (error->message, shown));
  g_assert_null (strstr (error->message, "s3cret"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  test_util_set_server (server);

  ADD_TEST ("/proxy/from-resolver", test_proxy_from_resolver);
  ADD_TEST ("/proxy/resolver-asked-origin", test_proxy_resolver_asked_origin);
  ADD_TEST ("/proxy/resolver-origin-prefix", test_proxy_resolver_origin_prefix);
  ADD_TEST ("/proxy/explicit", test_proxy_explicit);
  ADD_TEST ("/proxy/network-change", test_proxy_network_change);
  ADD_TEST ("/proxy/down", test_proxy_down);

  ret = g_test_run ();
  test_server_free (server);

  return ret;
}
