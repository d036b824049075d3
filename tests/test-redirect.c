/* test-redirect.c: the redirect policy, from a table
 *
 * libgcurlmulti/gcurl-redirect.c is pure: a status, a method and two URLs
 * in, the next request out. This table is the policy: which statuses are
 * followed, which keep the method and the body (307, 308), which become a
 * GET (303; 301 and 302 after a POST), and when the application's headers
 * and the URL's credentials may follow (the same scheme, host and port
 * only).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib.h>

#include "gcurl-redirect-private.h"

/* 301, 302, 303, 307 and 308 are followed; 200, 204, 300, 304-306, 309, 399, 400 and 0 are not. */
static void
test_followed (void)
{
  const guint followed[] = { 301, 302, 303, 307, 308 };
  const guint not_followed[] = { 200, 204, 300, 304, 305, 306, 309, 399, 400, 0 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (followed); i++)
    g_assert_true (g_curl_redirect_is_followed (followed[i]));
  for (i = 0; i < G_N_ELEMENTS (not_followed); i++)
    g_assert_false (g_curl_redirect_is_followed (not_followed[i]));
}

typedef struct
{
  guint       status;
  const char *method;
  gboolean    body;
  const char *from;
  const char *location;
  const char *next_method;
  gboolean    next_body;
  gboolean    same_origin;
  const char *next_url;
} Step;

#define A "http://a.test"
#define B "http://b.test"

static const Step steps[] = {
  /* Methods and bodies. */
  { 301, "GET",  FALSE, A "/x", A "/y", "GET",  FALSE, TRUE, A "/y" },
  { 301, "POST", TRUE,  A "/x", A "/y", "GET",  FALSE, TRUE, A "/y" },
  { 302, "POST", TRUE,  A "/x", A "/y", "GET",  FALSE, TRUE, A "/y" },
  { 302, "PUT",  TRUE,  A "/x", A "/y", "PUT",  TRUE,  TRUE, A "/y" },
  { 303, "POST", TRUE,  A "/x", A "/y", "GET",  FALSE, TRUE, A "/y" },
  { 303, "PUT",  TRUE,  A "/x", A "/y", "GET",  FALSE, TRUE, A "/y" },
  { 303, "HEAD", FALSE, A "/x", A "/y", "HEAD", FALSE, TRUE, A "/y" },
  { 307, "POST", TRUE,  A "/x", A "/y", "POST", TRUE,  TRUE, A "/y" },
  { 308, "PUT",  TRUE,  A "/x", A "/y", "PUT",  TRUE,  TRUE, A "/y" },
  { 308, "DELETE", FALSE, A "/x", A "/y", "DELETE", FALSE, TRUE, A "/y" },
  /* Origins: scheme, host and port. */
  { 302, "GET", FALSE, A "/x", B "/y", "GET", FALSE, FALSE, B "/y" },
  { 302, "GET", FALSE, A "/x", "https://a.test/y", "GET", FALSE, FALSE, "https://a.test/y" },
  { 302, "GET", FALSE, A "/x", "http://a.test:8080/y", "GET", FALSE, FALSE,
    "http://a.test:8080/y" },
  { 302, "GET", FALSE, "http://A.TEST/x", A "/y", "GET", FALSE, TRUE, A "/y" },
  /* Credentials of the URL: back on the same origin, never to another. */
  { 302, "GET", FALSE, "http://u:p@a.test/x", A "/y", "GET", FALSE, TRUE,
    "http://u:p@a.test/y" },
  { 307, "POST", TRUE, "http://u:p@a.test/x", A "/y?q=1#f", "POST", TRUE, TRUE,
    "http://u:p@a.test/y?q=1#f" },
  { 302, "GET", FALSE, "http://u:p@a.test/x", B "/y", "GET", FALSE, FALSE, B "/y" },
  /* A location with credentials of its own keeps them, and only them. */
  { 302, "GET", FALSE, "http://u:p@a.test/x", "http://v:q@a.test/y", "GET", FALSE, TRUE,
    "http://v:q@a.test/y" },
};

/* Each redirect step gives the table's method, body, same-origin flag and URL (credentials too). */
static void
test_step (gconstpointer data)
{
  const Step *s = data;
  GCurlRedirectStep step = { 0, };

  g_curl_redirect_next (s->from, s->location, s->status, s->method, s->body, &step);
  g_assert_cmpstr (step.method, ==, s->next_method);
  g_assert_cmpint (step.send_body, ==, s->next_body);
  g_assert_cmpint (step.same_origin, ==, s->same_origin);
  g_assert_cmpstr (step.url, ==, s->next_url);
  g_curl_redirect_step_clear (&step);
  g_assert_null (step.url);
}

int
main (int   argc,
      char *argv[])
{
  guint i;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/redirect/followed", test_followed);
  for (i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autofree char *path = g_strdup_printf ("/redirect/step/%u-%u-%s", i, steps[i].status,
                                               steps[i].method);

      g_test_add_data_func (path, &steps[i], test_step);
    }

  return g_test_run ();
}
