/* gcurl-request-options-private.h: the settings of a request
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

#include "gcurl-jar-private.h"

G_BEGIN_DECLS

#define GCURL_DEFAULT_USER_AGENT "libgcurlmulti/" PACKAGE_VERSION

/* The "unset" of the unsigned 64-bit sizes. */
#define GCURL_UNSET_SIZE G_MAXUINT64

/* One type for a multi's defaults and a transfer's own settings: a field
 * that is "unset" (NULL, -1) in a transfer's takes its multi's; a multi's
 * has every number set, and a NULL string there means the library's
 * default (libcurl's trust store, GCURL_DEFAULT_USER_AGENT, the proxy
 * resolver). Whoever changes a field calls g_curl_request_options_touch(),
 * so a handle can tell whether it has the settings it was given last. */
typedef struct
{
  char    *user_agent;         /* NULL: unset */
  char    *proxy;              /* NULL: unset; "": no proxy */
  char    *tls_ca_file;        /* NULL: unset */
  char    *allowed_protocols;  /* NULL: unset */
  char    *redirect_protocols; /* NULL: unset */
  char    *accept_encoding;    /* NULL: unset; the multi's NULL: none asked */
  int      max_redirects;      /* -1: unset */
  gint64   stall_timeout;      /* s, -1: unset, 0: no watchdog */
  int      connect_timeout;    /* s, -1: unset, 0: libcurl's (300 s) */
  int      timeout;            /* s, -1: unset, 0: none */
  guint64  max_body_size;      /* bytes, GCURL_UNSET_SIZE: unset, 0: no limit */
  int      multiplex;          /* -1: unset, else a boolean */
  int      fail_on_http_error; /* -1: unset, else a boolean */
  int      log_level;          /* GCurlLogLevel; the multi's only (-1 elsewhere) */
  GArray  *headers;            /* (nullable) (owned): GCurlHeader, the multi's
                                * default headers (a run copies them) */
  GTlsCertificate *tls_client_certificate;  /* (nullable) (owned): NULL unset
                                             * (the multi's: none) */
  GCurlJar *jar;               /* (nullable) (unowned): the multi's cookies and
                                * HSTS (its own: a run attaches to it) */
  guint    serial;             /* changed by g_curl_request_options_touch() */
} GCurlRequestOptions;

/* What a handle was last given, by g_curl_request_options_apply(). */
typedef struct
{
  guint    defaults_serial;
  guint    overrides_serial;
  gboolean custom_ca;          /* CURLOPT_CAINFO is a file of ours */
  gboolean timeouts_set;       /* CURLOPT_CONNECTTIMEOUT/TIMEOUT are ours */
} GCurlAppliedOptions;

/* The settings a multi's and a transfer's properties set. */
typedef enum
{
  G_CURL_OPTION_USER_AGENT,
  G_CURL_OPTION_PROXY,
  G_CURL_OPTION_TLS_CA_FILE,
  G_CURL_OPTION_ALLOWED_PROTOCOLS,
  G_CURL_OPTION_REDIRECT_PROTOCOLS,
  G_CURL_OPTION_ACCEPT_ENCODING,
  G_CURL_OPTION_MAX_REDIRECTS,
  G_CURL_OPTION_STALL_TIMEOUT,
  G_CURL_OPTION_CONNECT_TIMEOUT,
  G_CURL_OPTION_TIMEOUT,
  G_CURL_OPTION_FAIL_ON_HTTP_ERROR,
} GCurlOption;

#define G_CURL_OPTION_IS_STRING(option) ((option) <= G_CURL_OPTION_ACCEPT_ENCODING)

/* What a redirect may lead to unless the application says otherwise. */
#define GCURL_DEFAULT_REDIRECT_PROTOCOLS "http,https"

void     g_curl_request_options_init    (GCurlRequestOptions       *options);
void     g_curl_request_options_clear   (GCurlRequestOptions       *options);
void     g_curl_request_options_touch   (GCurlRequestOptions       *options);
void     g_curl_request_options_copy    (const GCurlRequestOptions *src,
                                         GCurlRequestOptions       *dest);
gboolean g_curl_request_options_set_client_certificate (GCurlRequestOptions *options,
                                                        GTlsCertificate     *certificate);
gboolean g_curl_request_options_set_string (GCurlRequestOptions    *options,
                                            char                  **field,
                                            const char             *value);
gboolean g_curl_request_options_set_header (GCurlRequestOptions  *options,
                                            const char           *name,
                                            const char           *value);
gboolean g_curl_request_options_set_int (GCurlRequestOptions       *options,
                                         int                       *field,
                                         int                        value);
gboolean g_curl_request_options_set_int64 (GCurlRequestOptions   *options,
                                           gint64                *field,
                                           gint64                 value);
gboolean g_curl_request_options_set_checked (GCurlRequestOptions  *options,
                                             GCurlOption           option,
                                             const char           *value,
                                             const char           *property);
gboolean g_curl_request_options_set_number (GCurlRequestOptions   *options,
                                            GCurlOption            option,
                                            gint64                 value);
const char *g_curl_request_options_get_string (const GCurlRequestOptions *options,
                                               GCurlOption                option);
gint64   g_curl_request_options_get_number (const GCurlRequestOptions *options,
                                            GCurlOption                option);
void     g_curl_request_options_merge   (const GCurlRequestOptions *defaults,
                                         const GCurlRequestOptions *overrides,
                                         GCurlRequestOptions       *effective);
gboolean g_curl_request_options_apply   (const GCurlRequestOptions *defaults,
                                         const GCurlRequestOptions *overrides,
                                         const GCurlRequestOptions *effective,
                                         CURL                      *handle,
                                         GCurlAppliedOptions       *applied,
                                         GError                   **error);

gboolean g_curl_protocols_valid         (const char                *protocols);
gboolean g_curl_protocols_contain       (const char                *protocols,
                                         const char                *scheme);

G_END_DECLS
