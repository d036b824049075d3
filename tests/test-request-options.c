/* test-request-options.c: a multi's defaults and a transfer's own settings
 *
 * libgcurlmulti/gcurl-request-options.c, alone: the merge (a transfer's
 * setting wins where it is set, its multi's everywhere else), the serial
 * that says a handle has its settings already, and the refusal of a
 * protocol list libcurl would turn into "everything".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "gcurl-error.h"
#include "gcurl-request-options-private.h"

static void
defaults_init (GCurlRequestOptions *defaults)
{
  g_curl_request_options_init (defaults);
  defaults->allowed_protocols = g_strdup ("http,https");
  defaults->max_redirects = 10;
  defaults->stall_timeout = 60;
  defaults->connect_timeout = 0;
  defaults->timeout = 0;
  defaults->max_body_size = 1000;
  defaults->multiplex = TRUE;
}

/* The merge takes the multi's value where the transfer set none; a set value, "" or 0 too, wins.
 * Unset fields take the multi's, set ones win; the merged strings are the
 * very ones of the two (borrowed). */
static void
test_merge (void)
{
  GCurlRequestOptions defaults, overrides, effective;

  defaults_init (&defaults);
  g_curl_request_options_init (&overrides);

  g_curl_request_options_merge (&defaults, NULL, &effective);
  g_assert_true (effective.allowed_protocols == defaults.allowed_protocols);
  g_assert_cmpint (effective.max_redirects, ==, 10);
  g_assert_null (effective.user_agent);

  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_cmpint (effective.stall_timeout, ==, 60);
  g_assert_cmpuint (effective.max_body_size, ==, 1000);
  g_assert_cmpint (effective.multiplex, ==, TRUE);

  g_assert_true (g_curl_request_options_set_string (&overrides, &overrides.user_agent, "me/1"));
  g_assert_false (g_curl_request_options_set_string (&overrides, &overrides.user_agent, "me/1"));
  g_assert_true (g_curl_request_options_set_string (&overrides, &overrides.proxy, ""));
  g_assert_true (g_curl_request_options_set_int (&overrides, &overrides.max_redirects, 0));
  g_assert_true (g_curl_request_options_set_int64 (&overrides, &overrides.stall_timeout, 0));
  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_true (effective.user_agent == overrides.user_agent);
  /* "" is set (no proxy), not unset. */
  g_assert_cmpstr (effective.proxy, ==, "");
  g_assert_cmpint (effective.max_redirects, ==, 0);
  g_assert_cmpint (effective.stall_timeout, ==, 0);
  g_assert_true (effective.allowed_protocols == defaults.allowed_protocols);

  g_curl_request_options_clear (&overrides);
  g_curl_request_options_clear (&defaults);
}

/* Every change gives a new serial, never 0, unique in the process. */
static void
test_serial (void)
{
  GCurlRequestOptions a, b;
  guint before;

  g_curl_request_options_init (&a);
  g_curl_request_options_init (&b);
  g_assert_cmpuint (a.serial, !=, 0);
  g_assert_cmpuint (a.serial, !=, b.serial);

  before = a.serial;
  g_assert_false (g_curl_request_options_set_int (&a, &a.timeout, -1));
  g_assert_cmpuint (a.serial, ==, before);
  g_assert_true (g_curl_request_options_set_int (&a, &a.timeout, 5));
  g_assert_cmpuint (a.serial, !=, before);

  g_curl_request_options_clear (&a);
  g_curl_request_options_clear (&b);
}

/* apply() records both serials and the custom CA; an invalid protocol list fails, unrecorded.
 * A handle is given the settings once per change of either side; a list
 * of protocols libcurl refuses is an error, and the handle is not marked
 * as having its settings. */
static void
test_apply (void)
{
  GCurlRequestOptions defaults, overrides, effective;
  GCurlAppliedOptions applied = { 0, };
  g_autoptr(GError) error = NULL;
  CURL *handle = curl_easy_init ();

  defaults_init (&defaults);
  g_curl_request_options_init (&overrides);

  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_true (g_curl_request_options_apply (&defaults, &overrides, &effective, handle,
                                               &applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied.defaults_serial, ==, defaults.serial);
  g_assert_cmpuint (applied.overrides_serial, ==, overrides.serial);
  g_assert_false (applied.custom_ca);

  g_curl_request_options_set_string (&overrides, &overrides.tls_ca_file, "/nonexistent/ca.pem");
  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_true (g_curl_request_options_apply (&defaults, &overrides, &effective, handle,
                                               &applied, &error));
  g_assert_true (applied.custom_ca);

  /* Back to the system's trust store. */
  g_curl_request_options_set_string (&overrides, &overrides.tls_ca_file, NULL);
  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_true (g_curl_request_options_apply (&defaults, &overrides, &effective, handle,
                                               &applied, &error));
  g_assert_false (applied.custom_ca);

  g_curl_request_options_set_string (&overrides, &overrides.allowed_protocols, "http,nonsense");
  g_curl_request_options_merge (&defaults, &overrides, &effective);
  g_assert_false (g_curl_request_options_apply (&defaults, &overrides, &effective, handle,
                                                &applied, &error));
  g_assert_error (error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL);
  g_assert_cmpuint (applied.overrides_serial, !=, overrides.serial);

  curl_easy_cleanup (handle);
  g_curl_request_options_clear (&overrides);
  g_curl_request_options_clear (&defaults);
}

/* g_curl_protocols_valid() takes known protocol lists and "all", refuses "" and unknown names. */
static void
test_protocols_valid (void)
{
  const struct { const char *list; gboolean valid; } cases[] = {
    { "http,https", TRUE }, { "https", TRUE }, { "http,https,ftp", TRUE }, { "file", TRUE },
    { "all", TRUE }, { "", FALSE },
    { "http,nonsense", FALSE }, { "gopherx", FALSE },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("\"%s\"", cases[i].list);
      g_assert_cmpint (g_curl_protocols_valid (cases[i].list), ==, cases[i].valid);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/request-options/merge", test_merge);
  g_test_add_func ("/request-options/serial", test_serial);
  g_test_add_func ("/request-options/apply", test_apply);
  g_test_add_func ("/request-options/protocols-valid", test_protocols_valid);

  return g_test_run ();
}
