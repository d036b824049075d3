/* gcurl-tls-private.h: the TLS peer of a transfer, its trust, and the
 * client certificate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* What one handshake's verify callback saw: shared between the handle's
 * record and the SSL_CTX of the connection (which may outlive the
 * transfer in libcurl's connection cache), so reference counted. */
typedef struct _GCurlTlsCapture GCurlTlsCapture;

/* Embedded in a transfer's GCurlEasy. Only OpenSSL is looked into (see
 * g_curl_tls_is_supported()); with another TLS backend of libcurl the
 * peer is never known, and "accept-certificate" is never emitted. */
typedef struct
{
  GCurlTlsCapture      *capture;        /* (owned) (nullable): the last
                                         * handshake's */
  gpointer              peer_chain;     /* (owned) (nullable): STACK_OF(X509),
                                         * the peer of the last request, leaf
                                         * first */
  long                  verify_result;  /* X509_V_OK or OpenSSL's error for it */
  GTlsCertificateFlags  verify_flags;   /* what the verify callback found */
  char                 *peer_host;      /* (nullable): whom it was for */
  GTlsCertificate      *peer;           /* (owned) (nullable): made from
                                         * peer_chain when asked */
  GTlsCertificateFlags  errors;         /* of peer_chain */
  gpointer              notified_leaf;  /* (owned) (nullable): X509, the peer
                                         * its properties last said */
  GTlsCertificateFlags  notified_errors;

  /* Trust decisions, for the current run chain (the run and its
   * redirects, and the restarts after an acceptance). */
  char                 *pin;            /* (nullable): "sha256//…" of the key
                                         * accepted; set on the handle */
  GPtrArray            *asked;          /* (nullable): GTlsCertificate, each
                                         * asked about once */
  guint                 deciding : 1;   /* "accept-certificate" to emit */

  /* The client certificate given to the handle, by its properties. */
  GTlsCertificate      *client_applied; /* (owned) (nullable) */
} GCurlTls;

gboolean             g_curl_tls_is_supported       (void);

void                 g_curl_tls_init               (GCurlTls         *self,
                                                    CURL             *handle);
void                 g_curl_tls_clear              (GCurlTls         *self);
void                 g_curl_tls_begin_run          (GCurlTls         *self,
                                                    CURL             *handle);
void                 g_curl_tls_connected          (GCurlTls         *self,
                                                    CURL             *handle,
                                                    const char       *url);
gboolean             g_curl_tls_should_ask         (GCurlTls         *self,
                                                    const char       *url);
void                 g_curl_tls_accept             (GCurlTls         *self,
                                                    CURL             *handle);
void                 g_curl_tls_drop_pin           (GCurlTls         *self,
                                                    CURL             *handle);
GError              *g_curl_tls_untrusted_error    (GCurlTls         *self);
GError              *g_curl_tls_pin_error          (GCurlTls         *self,
                                                    const char       *shown_url);

GTlsCertificate     *g_curl_tls_get_peer           (GCurlTls         *self);
GTlsCertificateFlags g_curl_tls_get_errors         (GCurlTls         *self);

/* What changed since the last call: G_CURL_TLS_PEER_CHANGED and
 * G_CURL_TLS_ERRORS_CHANGED. */
#define G_CURL_TLS_PEER_CHANGED   (1u << 0)
#define G_CURL_TLS_ERRORS_CHANGED (1u << 1)
guint                g_curl_tls_take_changes       (GCurlTls         *self);

gboolean             g_curl_tls_set_client_certificate (GCurlTls        *self,
                                                        CURL            *handle,
                                                        GTlsCertificate *certificate,
                                                        GError         **error);
void                 g_curl_tls_forget_client_certificate (GCurlTls     *self);

char                *g_curl_tls_flags_to_string    (GTlsCertificateFlags flags);

G_END_DECLS
