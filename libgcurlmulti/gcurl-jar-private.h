/* gcurl-jar-private.h: a multi's cookies and HSTS cache
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/* How long a jar waits after a response that changed it before it saves
 * its files, so that a burst of responses is one write. */
#define GCURL_JAR_SAVE_DELAY_MS 200

/* A multi's cookie jar and HSTS cache: one CURLSH holding what the
 * multi's "cookie-file" and "hsts-file" turn on (CURL_LOCK_DATA_COOKIE,
 * CURL_LOCK_DATA_HSTS, and nothing else: a share with HSTS enforces it on
 * every handle attached), a private easy handle attached to it to list
 * and add cookies, and the files they are saved to. Reference counted:
 * each easy handle attached holds a reference, since libcurl refuses to
 * clean up a share that a handle still uses, and a transfer may outlive
 * its multi. Used from the multi's main context; the share's lock
 * functions take a mutex per data type all the same. */
typedef struct _GCurlJar GCurlJar;

GCurlJar   *g_curl_jar_update          (GCurlJar     *jar,
                                        GMainContext *context,
                                        const char   *cookie_file,
                                        const char   *hsts_file);
GCurlJar   *g_curl_jar_new_bare        (GMainContext *context);
GCurlJar   *g_curl_jar_ref             (GCurlJar     *jar);
void        g_curl_jar_unref           (GCurlJar     *jar);
void        g_curl_jar_retire          (GCurlJar     *jar);

/* The easy handles */
void        g_curl_jar_switch          (GCurlJar    **attached,
                                        GCurlJar     *jar,
                                        CURL         *handle);
void        g_curl_jar_note_response   (GCurlJar     *jar,
                                        CURL         *handle);

/* The application's view */
char      **g_curl_jar_get_cookies     (GCurlJar     *jar);
gboolean    g_curl_jar_url_is_valid    (const char   *url);
gboolean    g_curl_jar_add_cookie      (GCurlJar     *jar,
                                        const char   *url,
                                        const char   *set_cookie);
void        g_curl_jar_clear_cookies   (GCurlJar     *jar);

G_END_DECLS
