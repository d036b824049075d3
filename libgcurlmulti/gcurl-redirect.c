/* gcurl-redirect.c: where a redirect leads, and with what
 *
 * Redirects are followed by the library, not by libcurl, so that the
 * headers the application set are not sent to another origin (libcurl 7.88
 * forwards all but Authorization and Cookie). This is the policy, pure:
 * strings and a status in, the next request out.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-redirect-private.h"
#include "gcurl-util-private.h"

/* The statuses that are followed (when the response has a Location). */
gboolean
g_curl_redirect_is_followed (guint status)
{
  return status == 301 || status == 302 || status == 303 ||
         status == 307 || status == 308;
}

/* Credentials in the URL (`http://user:password@host/`) belong to its
 * origin, as the application's headers do. libcurl's redirect URL never
 * carries them, so one to the same origin gets them back; one to another
 * origin, or back from there, does not. Returns NULL when there are none
 * to give. */
static char *
location_with_credentials (const char *from,
                           const char *location)
{
  g_autoptr(GUri) from_uri = g_uri_parse (from, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GUri) with = NULL;

  if (from_uri == NULL || g_uri_get_userinfo (from_uri) == NULL)
    return NULL;
  uri = g_uri_parse (location, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL || g_uri_get_userinfo (uri) != NULL)
    return NULL;

  with = g_uri_build (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri), g_uri_get_userinfo (from_uri),
                      g_uri_get_host (uri), g_uri_get_port (uri), g_uri_get_path (uri),
                      g_uri_get_query (uri), g_uri_get_fragment (uri));
  return g_uri_to_string (with);
}

/* The request a @status redirect from @from to @location (absolute, as
 * libcurl resolves it) leads to, for a request of @method that had a body
 * if @send_body. As browsers do: 303 always (but for HEAD), and 301/302
 * after a POST, become GET without the body; 307 and 308 keep both. */
void
g_curl_redirect_next (const char        *from,
                      const char        *location,
                      guint              status,
                      const char        *method,
                      gboolean           send_body,
                      GCurlRedirectStep *step)
{
  char *credentialed = NULL;

  step->same_origin = g_curl_url_same_origin (from, location);
  if (step->same_origin)
    credentialed = location_with_credentials (from, location);
  step->url = credentialed != NULL ? credentialed : g_strdup (location);

  step->method = method;
  step->send_body = send_body;
  if ((status == 303 && g_strcmp0 (method, "HEAD") != 0) ||
      ((status == 301 || status == 302) && g_strcmp0 (method, "POST") == 0))
    {
      step->method = "GET";
      step->send_body = FALSE;
    }
}

void
g_curl_redirect_step_clear (GCurlRedirectStep *step)
{
  g_clear_pointer (&step->url, g_free);
}
