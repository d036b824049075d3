/* gcurl-util.c: small helpers every layer uses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-util-private.h"

/* Calls @func from @context when @cancellable is cancelled. A source, not
 * g_cancellable_connect(): the cancellable may be cancelled from another
 * thread, and transfers may only be touched from their multi's context.
 * Returns %NULL for a %NULL cancellable; destroy the source with
 * g_curl_clear_source(). */
GSource *
g_curl_watch_cancellable (GMainContext           *context,
                          GCancellable           *cancellable,
                          GCancellableSourceFunc  func,
                          gpointer                user_data)
{
  GSource *source;

  if (cancellable == NULL)
    return NULL;

  source = g_cancellable_source_new (cancellable);
  g_source_set_static_name (source, "GCurl cancellable");
  g_source_set_callback (source, G_SOURCE_FUNC (func), user_data, NULL);
  g_source_attach (source, context);

  return source;
}

/* Destroys and drops *@source, if any. */
void
g_curl_clear_source (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* @url without the password of its user information, which would
 * otherwise end up in the application's logs through messages. */
char *
g_curl_url_without_password (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, NULL);

  if (uri == NULL || g_uri_get_password (uri) == NULL)
    return g_strdup (url);

  return g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD);
}

/* A proxy as messages show it: without its password, whether or not it
 * names its scheme (libcurl takes "user:password@host:port"). */
char *
g_curl_proxy_without_password (const char *proxy)
{
  g_autofree char *with_scheme = NULL;

  if (strstr (proxy, "://") == NULL)
    proxy = with_scheme = g_strconcat ("http://", proxy, NULL);

  return g_curl_url_without_password (proxy);
}

/* "scheme://host[:port]" of @url, without user information (the key of
 * the proxy cache; with a "/", what a proxy resolver is asked about: a
 * resolver may run a PAC script from the network, and needs the origin
 * only, not the path, the query or a password). %NULL if @url is not a URL
 * with a host: libcurl says best what is wrong with it. */
char *
g_curl_url_origin (const char *url)
{
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;
  int port = -1;

  if (!g_uri_split_network (url, G_URI_FLAGS_NONE, &scheme, &host, &port, NULL))
    return NULL;

  return g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, host, port, "", NULL, NULL);
}

/* Whether @url is @origin (as g_curl_url_origin() made it) followed by a
 * path, query or fragment: then it has that origin, without parsing it.
 * %FALSE says nothing. */
gboolean
g_curl_url_has_origin (const char *url,
                       const char *origin)
{
  size_t n = strlen (origin);

  /* strchr() finds the terminator too: @url may be @origin itself. */
  return strncmp (url, origin, n) == 0 && strchr ("/?#", url[n]) != NULL;
}

/* Whether @a and @b have the same scheme, host and port. */
gboolean
g_curl_url_same_origin (const char *a,
                        const char *b)
{
  g_autoptr(GUri) ua = g_uri_parse (a, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GUri) ub = g_uri_parse (b, G_URI_FLAGS_NONE, NULL);

  if (ua == NULL || ub == NULL)
    return FALSE;

  return g_ascii_strcasecmp (g_uri_get_scheme (ua), g_uri_get_scheme (ub)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (ua) ? g_uri_get_host (ua) : "",
                             g_uri_get_host (ub) ? g_uri_get_host (ub) : "") == 0 &&
         g_uri_get_port (ua) == g_uri_get_port (ub);
}
