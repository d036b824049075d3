/* gcurl-auth.h: an authentication challenge, for its handler to answer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <glib-object.h>

#include "gcurl-version.h"

G_BEGIN_DECLS

#define G_CURL_TYPE_AUTH (g_curl_auth_get_type ())

GCURL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GCurlAuth, g_curl_auth, G_CURL, AUTH, GObject)

GCURL_AVAILABLE_IN_ALL
const char *g_curl_auth_get_scheme_name (GCurlAuth  *auth);
GCURL_AVAILABLE_IN_ALL
const char *g_curl_auth_get_realm       (GCurlAuth  *auth);
GCURL_AVAILABLE_IN_ALL
const char *g_curl_auth_get_authority   (GCurlAuth  *auth);
GCURL_AVAILABLE_IN_ALL
gboolean    g_curl_auth_is_for_proxy    (GCurlAuth  *auth);
GCURL_AVAILABLE_IN_ALL
void        g_curl_auth_authenticate    (GCurlAuth  *auth,
                                         const char *username,
                                         const char *password);
GCURL_AVAILABLE_IN_ALL
void        g_curl_auth_cancel          (GCurlAuth  *auth);

G_END_DECLS
