/* gcurl-auth-private.h: how a transfer makes and hears a GCurlAuth
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>

#include "gcurl-auth.h"

G_BEGIN_DECLS

/* What the handler decided. */
typedef enum
{
  G_CURL_AUTH_PENDING,
  G_CURL_AUTH_AUTHENTICATED,
  G_CURL_AUTH_CANCELLED,
} GCurlAuthState;

/* Called once, when the handler authenticates or cancels, unless the
 * transfer let go of the challenge first (g_curl_auth_detach()). */
typedef void (*GCurlAuthDecidedFunc) (GCurlAuth *auth,
                                      gpointer   user_data);

GCurlAuth     *g_curl_auth_new            (long                  scheme,
                                           const char           *realm,
                                           const char           *authority,
                                           gboolean              for_proxy,
                                           GCurlAuthDecidedFunc  func,
                                           gpointer              user_data);
void           g_curl_auth_detach         (GCurlAuth            *auth);
GCurlAuthState g_curl_auth_get_state      (GCurlAuth            *auth);
long           g_curl_auth_get_scheme     (GCurlAuth            *auth);
const char    *g_curl_auth_get_username   (GCurlAuth            *auth);
const char    *g_curl_auth_get_password   (GCurlAuth            *auth);

/* The challenges of a response */
long           g_curl_auth_choose_scheme  (long                  available);
const char    *g_curl_auth_scheme_to_string (long                scheme);
char          *g_curl_auth_find_realm     (const char * const   *challenges,
                                           const char           *scheme_name);
char          *g_curl_auth_authority_of   (const char           *url,
                                           gboolean              proxy);

G_END_DECLS
