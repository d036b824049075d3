/* gcurl-download-mirrors-private.h: which URL the next attempt of a
 * download asks, and whether a .part may continue there
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-transfer.h"

G_BEGIN_DECLS

#define G_CURL_MIRRORS_UNKNOWN G_MAXUINT

/* A download's URLs: the transfer's own, then its mirrors, as they were
 * when the download started. With one URL (no mirrors) every function is
 * a no-op that says yes, so that such a download behaves as it always
 * did. */
typedef struct
{
  char  **urls;         /* the transfer's URL, then its mirrors */
  guint   n_urls;
  guint   current;      /* the URL of this attempt */
  guint   tried;        /* URLs tried in this round, the current one included */
  guint   part_source;  /* the URL whose response began the .part, or
                         * G_CURL_MIRRORS_UNKNOWN (an earlier download's) */
} GCurlMirrors;

void        g_curl_mirrors_init          (GCurlMirrors       *mirrors,
                                          GCurlTransfer      *transfer);
void        g_curl_mirrors_clear         (GCurlMirrors       *mirrors);
guint       g_curl_mirrors_get_n_mirrors (const GCurlMirrors *mirrors);
gboolean    g_curl_mirrors_is_http       (const GCurlMirrors *mirrors);
void        g_curl_mirrors_apply         (const GCurlMirrors *mirrors,
                                          GCurlTransfer      *transfer);
gboolean    g_curl_mirrors_can_fail_over (const GCurlMirrors *mirrors,
                                          const GError       *error,
                                          guint               status,
                                          int                 os_errno);
gboolean    g_curl_mirrors_fail_over     (GCurlMirrors       *mirrors,
                                          const GError       *error,
                                          guint               status,
                                          int                 os_errno);
void        g_curl_mirrors_new_round     (GCurlMirrors       *mirrors);
void        g_curl_mirrors_next          (GCurlMirrors       *mirrors);
void        g_curl_mirrors_part_begun    (GCurlMirrors       *mirrors);
gboolean    g_curl_mirrors_may_resume    (const GCurlMirrors *mirrors,
                                          const char         *part_etag);
gboolean    g_curl_mirrors_may_continue  (const GCurlMirrors *mirrors,
                                          const char         *part_etag,
                                          const char         *etag);

G_END_DECLS
