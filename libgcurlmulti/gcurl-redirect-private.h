/* gcurl-redirect-private.h: where a redirect leads, and with what
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The next request of a redirect. */
typedef struct
{
  const char *method;       /* the request's method (the one given, or "GET") */
  gboolean    send_body;    /* the request body is sent again (307, 308) */
  gboolean    same_origin;  /* the application's headers and the URL's
                             * credentials may follow */
  char       *url;          /* (owned): the location, with the credentials of
                             * the URL it came from if of the same origin */
} GCurlRedirectStep;

gboolean g_curl_redirect_is_followed (guint               status);
void     g_curl_redirect_next        (const char         *from,
                                      const char         *location,
                                      guint               status,
                                      const char         *method,
                                      gboolean            send_body,
                                      GCurlRedirectStep  *step);
void     g_curl_redirect_step_clear  (GCurlRedirectStep  *step);

G_END_DECLS
