/* gcurl-tls.c: the TLS peer of a transfer, its trust, and the client
 * certificate
 *
 * libcurl tells little of a TLS peer: CURLINFO_CERTINFO is empty when
 * verification failed, which is exactly when an application wants to
 * show the certificate. So this looks into OpenSSL, when it is libcurl's
 * backend: a verify callback, installed on each connection's SSL_CTX
 * through CURLOPT_SSL_CTX_FUNCTION, records the chain the peer sent and
 * the errors OpenSSL found (without changing its verdict), and the
 * prerequest callback reads the peer of a connection that is reused or
 * verified (CURLINFO_TLS_SSL_PTR). An accepted certificate is trusted by
 * its key alone (CURLOPT_PINNEDPUBLICKEY), for the run chain that asked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-tls-private.h"

#ifdef HAVE_OPENSSL
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct _GCurlTlsCapture
{
  STACK_OF(X509) *chain;                  /* (owned) (nullable): as sent */
  long            error;                  /* OpenSSL's first error, X509_V_OK */
  GTlsCertificateFlags flags;             /* all it reported */
  SSL_verify_cb   next;                   /* (nullable): the callback it wraps */
};

#endif

/* Whether libcurl's TLS backend is the OpenSSL this library was built
 * with: only then are SSL_CTX and SSL what they seem. */
gboolean
g_curl_tls_is_supported (void)
{
#ifdef HAVE_OPENSSL
  static gsize supported;

  if (g_once_init_enter (&supported))
    {
      const curl_version_info_data *info = curl_version_info (CURLVERSION_NOW);
      g_autofree char *prefix = g_strdup_printf ("OpenSSL/%d.", OPENSSL_VERSION_MAJOR);

      g_once_init_leave (&supported,
                         info->ssl_version != NULL && g_str_has_prefix (info->ssl_version, prefix)
                         ? 2 : 1);
    }

  return supported == 2;
#else
  return FALSE;
#endif
}

#ifdef HAVE_OPENSSL
static void
chain_free (STACK_OF(X509) *chain)
{
  sk_X509_pop_free (chain, X509_free);
}

static void
capture_clear (gpointer data)
{
  GCurlTlsCapture *capture = data;

  g_clear_pointer (&capture->chain, chain_free);
}

static void
capture_unref (GCurlTlsCapture *capture)
{
  g_atomic_rc_box_release_full (capture, capture_clear);
}

static void
capture_ex_free (void           *parent,
                 void           *ptr,
                 CRYPTO_EX_DATA *ad,
                 int             idx,
                 long            argl,
                 void           *argp)
{
  if (ptr != NULL)
    capture_unref (ptr);
}

static int
capture_index (void)
{
  static gsize index;

  if (g_once_init_enter (&index))
    g_once_init_leave (&index, (gsize) SSL_CTX_get_ex_new_index (0, NULL, NULL, NULL,
                                                                 capture_ex_free) + 1);

  return (int) index - 1;
}

/* What an OpenSSL verification error means for GIO. */
static GTlsCertificateFlags
flags_of_error (long error)
{
  switch (error)
    {
    case X509_V_OK:
      return 0;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_CA:
      return G_TLS_CERTIFICATE_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return G_TLS_CERTIFICATE_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return G_TLS_CERTIFICATE_NOT_ACTIVATED;
    case X509_V_ERR_CERT_REVOKED:
      return G_TLS_CERTIFICATE_REVOKED;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return G_TLS_CERTIFICATE_INSECURE;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return G_TLS_CERTIFICATE_BAD_IDENTITY;
    default:
      return G_TLS_CERTIFICATE_GENERIC_ERROR;
    }
}

/* OpenSSL's verify callback: records, and keeps OpenSSL's verdict (and
 * that of a callback someone else installed), so that a handshake that
 * fails still fails at the same point, before anything is sent. */
static int
verify_cb (int             preverify_ok,
           X509_STORE_CTX *store)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data (store, SSL_get_ex_data_X509_STORE_CTX_idx ());
  GCurlTlsCapture *capture = NULL;

  if (ssl != NULL)
    capture = SSL_CTX_get_ex_data (SSL_get_SSL_CTX (ssl), capture_index ());
  if (capture == NULL)
    return preverify_ok;

  if (capture->chain == NULL)
    {
      STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted (store);
      X509 *leaf = X509_STORE_CTX_get0_cert (store);

      /* What the peer sent, leaf first (OpenSSL gives an SSL's whole
       * chain as the untrusted certificates). */
      capture->chain = untrusted != NULL ? X509_chain_up_ref (untrusted) : sk_X509_new_null ();
      if (capture->chain != NULL && leaf != NULL &&
          (sk_X509_num (capture->chain) == 0 || sk_X509_value (capture->chain, 0) != leaf) &&
          X509_up_ref (leaf) && !sk_X509_insert (capture->chain, leaf, 0))
        X509_free (leaf);
    }

  if (!preverify_ok)
    {
      long error = X509_STORE_CTX_get_error (store);

      capture->flags |= flags_of_error (error);
      if (capture->error == X509_V_OK)
        capture->error = error;
    }

  return capture->next != NULL ? capture->next (preverify_ok, store) : preverify_ok;
}

/* libcurl 7.88 calls this for each new connection, after its own
 * SSL_CTX_set_verify(): the mode stays, the callback is wrapped. */
static CURLcode
ssl_ctx_cb (CURL *handle,
            void *ssl_ctx,
            void *user_data)
{
  GCurlTls *self = user_data;
  SSL_CTX *ctx = ssl_ctx;
  GCurlTlsCapture *capture = g_atomic_rc_box_new0 (GCurlTlsCapture);

  capture->error = X509_V_OK;
  capture->next = SSL_CTX_get_verify_callback (ctx);
  if (!SSL_CTX_set_ex_data (ctx, capture_index (), capture))
    {
      capture_unref (capture);
      return CURLE_OK;
    }

  g_clear_pointer (&self->capture, capture_unref);
  self->capture = g_atomic_rc_box_acquire (capture);
  SSL_CTX_set_verify (ctx, SSL_CTX_get_verify_mode (ctx), verify_cb);

  return CURLE_OK;
}

static GTlsCertificateFlags
check_validity (STACK_OF(X509) *chain)
{
  GTlsCertificateFlags flags = 0;

  for (int i = 0; i < sk_X509_num (chain); i++)
    {
      X509 *cert = sk_X509_value (chain, i);

      if (X509_cmp_current_time (X509_get0_notAfter (cert)) < 0)
        flags |= G_TLS_CERTIFICATE_EXPIRED;
      if (X509_cmp_current_time (X509_get0_notBefore (cert)) > 0)
        flags |= G_TLS_CERTIFICATE_NOT_ACTIVATED;
    }

  return flags;
}

/* libcurl checks the host name itself, after the handshake, and OpenSSL
 * stops at the first error: both are found again here, so that the
 * errors are all there whatever stopped the handshake. */
static GTlsCertificateFlags
check_identity (X509       *leaf,
                const char *host)
{
  int matched;

  if (host == NULL)
    return 0;

  if (g_hostname_is_ip_address (host))
    matched = X509_check_ip_asc (leaf, host, 0);
  else
    matched = X509_check_host (leaf, host, 0, 0, NULL);

  return matched == 1 ? 0 : G_TLS_CERTIFICATE_BAD_IDENTITY;
}

/* The host of @url, as a certificate names it (an IPv6 address without
 * its brackets). */
static char *
host_of (const char *url)
{
  g_autoptr(GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NON_DNS, NULL) : NULL;

  return uri != NULL ? g_strdup (g_uri_get_host (uri)) : NULL;
}

/* Makes @chain (owned) the peer of the run, verified with @verify_flags,
 * for @url. */
static void
set_peer_chain (GCurlTls             *self,
                STACK_OF(X509)       *chain,
                long                  verify_result,
                GTlsCertificateFlags  verify_flags,
                const char           *url)
{
  g_clear_pointer ((STACK_OF(X509) **) &self->peer_chain, chain_free);
  g_clear_object (&self->peer);
  g_clear_pointer (&self->peer_host, g_free);
  self->peer_chain = chain;
  self->verify_result = verify_result;
  self->verify_flags = verify_flags | flags_of_error (verify_result);
  self->peer_host = host_of (url);
  self->errors = 0;
  if (chain != NULL && sk_X509_num (chain) > 0)
    self->errors = self->verify_flags | check_validity (chain) |
                   check_identity (sk_X509_value (chain, 0), self->peer_host);
}
#endif

void
g_curl_tls_init (GCurlTls *self,
                 CURL     *handle)
{
  memset (self, 0, sizeof *self);
#ifdef HAVE_OPENSSL
  if (g_curl_tls_is_supported ())
    {
      curl_easy_setopt (handle, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
      curl_easy_setopt (handle, CURLOPT_SSL_CTX_DATA, self);
    }
#endif
}

void
g_curl_tls_clear (GCurlTls *self)
{
#ifdef HAVE_OPENSSL
  g_clear_pointer (&self->capture, capture_unref);
  g_clear_pointer ((STACK_OF(X509) **) &self->peer_chain, chain_free);
  g_clear_pointer ((X509 **) &self->notified_leaf, X509_free);
#endif
  g_clear_object (&self->peer);
  g_clear_pointer (&self->peer_host, g_free);
  g_clear_pointer (&self->pin, g_free);
  g_clear_pointer (&self->asked, g_ptr_array_unref);
  g_clear_object (&self->client_applied);
}

/* A new run: verified again, whatever the last one accepted, and no peer
 * known yet. */
void
g_curl_tls_begin_run (GCurlTls *self,
                      CURL     *handle)
{
  g_curl_tls_drop_pin (self, handle);
  self->deciding = FALSE;
#ifdef HAVE_OPENSSL
  g_clear_pointer (&self->capture, capture_unref);
  set_peer_chain (self, NULL, X509_V_OK, 0, NULL);
#endif
}

/* From the prerequest callback, once the connection of a request is
 * there (new or reused): its peer, if it is TLS. Cheap when the peer is
 * the one already known, as on a connection reused for the next
 * request. */
void
g_curl_tls_connected (GCurlTls   *self,
                      CURL       *handle,
                      const char *url)
{
#ifdef HAVE_OPENSSL
  struct curl_tlssessioninfo *info = NULL;
  STACK_OF(X509) *chain;
  GTlsCertificateFlags flags = 0;
  long verify_result;
  SSL *ssl;

  if (!g_curl_tls_is_supported () ||
      curl_easy_getinfo (handle, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK ||
      info == NULL || info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL)
    return;

  ssl = info->internals;
  chain = SSL_get_peer_cert_chain (ssl);
  if (chain == NULL || sk_X509_num (chain) == 0)
    return;
  if (self->peer_chain != NULL && sk_X509_num (self->peer_chain) > 0 &&
      sk_X509_value (self->peer_chain, 0) == sk_X509_value (chain, 0))
    return;

  /* The verify callback saw more than the verify result says, if this is
   * the connection it was called for. */
  verify_result = SSL_get_verify_result (ssl);
  if (self->capture != NULL && self->capture->chain != NULL &&
      sk_X509_num (self->capture->chain) > 0 &&
      X509_cmp (sk_X509_value (self->capture->chain, 0), sk_X509_value (chain, 0)) == 0)
    flags = self->capture->flags;

  set_peer_chain (self, X509_chain_up_ref (chain), verify_result, flags, url);
#endif
}

/* The run failed verification (CURLE_PEER_FAILED_VERIFICATION) of a
 * handshake with the peer of @url: whether to ask about the certificate,
 * the first time in this run chain. */
gboolean
g_curl_tls_should_ask (GCurlTls   *self,
                       const char *url)
{
#ifdef HAVE_OPENSSL
  GTlsCertificate *peer;

  if (self->capture == NULL || self->capture->chain == NULL ||
      sk_X509_num (self->capture->chain) == 0)
    return FALSE;

  set_peer_chain (self, X509_chain_up_ref (self->capture->chain), self->capture->error,
                  self->capture->flags, url);
  peer = g_curl_tls_get_peer (self);
  if (peer == NULL)
    return FALSE;

  for (guint i = 0; self->asked != NULL && i < self->asked->len; i++)
    if (g_tls_certificate_is_same (peer, self->asked->pdata[i]))
      return FALSE;

  if (self->asked == NULL)
    self->asked = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->asked, g_object_ref (peer));
  self->deciding = TRUE;

  return TRUE;
#else
  return FALSE;
#endif
}

/* Trusts the key of the peer just asked about, for this run chain: the
 * pin replaces only the checks that failed, never more. */
void
g_curl_tls_accept (GCurlTls *self,
                   CURL     *handle)
{
#ifdef HAVE_OPENSSL
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autofree char *encoded = NULL;
  unsigned char *der = NULL;
  int der_len;

  g_return_if_fail (self->peer_chain != NULL);

  der_len = i2d_PUBKEY (X509_get0_pubkey (sk_X509_value (self->peer_chain, 0)), &der);
  g_return_if_fail (der_len > 0);
  g_checksum_update (checksum, der, der_len);
  OPENSSL_free (der);
  g_checksum_get_digest (checksum, digest, &digest_len);
  encoded = g_base64_encode (digest, digest_len);

  g_free (self->pin);
  self->pin = g_strconcat ("sha256//", encoded, NULL);
  curl_easy_setopt (handle, CURLOPT_PINNEDPUBLICKEY, self->pin);
  if (self->errors & ~G_TLS_CERTIFICATE_BAD_IDENTITY)
    curl_easy_setopt (handle, CURLOPT_SSL_VERIFYPEER, 0L);
  if (self->errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    curl_easy_setopt (handle, CURLOPT_SSL_VERIFYHOST, 0L);
#endif
}

/* Forgets an accepted key, and which certificates were asked about: at
 * the end of their run chain, and before a request to another origin,
 * which must be verified (and asked about) on its own. */
void
g_curl_tls_drop_pin (GCurlTls *self,
                     CURL     *handle)
{
  if (self->asked != NULL)
    g_ptr_array_set_size (self->asked, 0);
  if (self->pin == NULL)
    return;

  g_clear_pointer (&self->pin, g_free);
  curl_easy_setopt (handle, CURLOPT_PINNEDPUBLICKEY, NULL);
  curl_easy_setopt (handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (handle, CURLOPT_SSL_VERIFYHOST, 2L);
}

/* Nobody accepted the certificate asked about. */
GError *
g_curl_tls_untrusted_error (GCurlTls *self)
{
  g_autofree char *problems = g_curl_tls_flags_to_string (self->errors);

  return g_error_new (G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION,
                      _("The certificate of %s is not trusted: %s"),
                      self->peer_host != NULL ? self->peer_host : "?", problems);
}

/* The server presented another key than the one accepted (libcurl's
 * CURLE_SSL_PINNEDPUBKEYNOTMATCH): as untrusted as any, so the same
 * code. */
GError *
g_curl_tls_pin_error (GCurlTls   *self,
                      const char *shown_url)
{
  return g_error_new (G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION,
                      _("The certificate of %s is not the one accepted for this transfer"),
                      shown_url);
}

/* The peer of the last TLS connection of the run, with its chain, made
 * when first asked. */
GTlsCertificate *
g_curl_tls_get_peer (GCurlTls *self)
{
#ifdef HAVE_OPENSSL
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) pem = NULL;
  BIO *bio;

  if (self->peer != NULL || self->peer_chain == NULL)
    return self->peer;

  bio = BIO_new (BIO_s_mem ());
  for (int i = 0; bio != NULL && i < sk_X509_num (self->peer_chain); i++)
    PEM_write_bio_X509 (bio, sk_X509_value (self->peer_chain, i));
  if (bio != NULL)
    {
      char *data = NULL;
      long len = BIO_get_mem_data (bio, &data);

      pem = g_string_new_len (data, len);
      BIO_free (bio);
    }

  if (pem != NULL)
    self->peer = g_tls_certificate_new_from_pem (pem->str, pem->len, &error);
  if (error != NULL)
    g_debug ("Could not make a GTlsCertificate of the TLS peer: %s", error->message);
#endif

  return self->peer;
}

GTlsCertificateFlags
g_curl_tls_get_errors (GCurlTls *self)
{
  return self->errors;
}

guint
g_curl_tls_take_changes (GCurlTls *self)
{
  guint changes = 0;
#ifdef HAVE_OPENSSL
  X509 *leaf = self->peer_chain != NULL && sk_X509_num (self->peer_chain) > 0
               ? sk_X509_value (self->peer_chain, 0) : NULL;
  X509 *notified = self->notified_leaf;

  if (leaf != notified &&
      (leaf == NULL || notified == NULL || X509_cmp (leaf, notified) != 0))
    {
      changes |= G_CURL_TLS_PEER_CHANGED;
      g_clear_pointer ((X509 **) &self->notified_leaf, X509_free);
      if (leaf != NULL && X509_up_ref (leaf))
        self->notified_leaf = leaf;
    }
#endif
  if (self->errors != self->notified_errors)
    {
      changes |= G_CURL_TLS_ERRORS_CHANGED;
      self->notified_errors = self->errors;
    }

  return changes;
}

static void
clear_client_certificate (GCurlTls *self,
                          CURL     *handle)
{
  curl_easy_setopt (handle, CURLOPT_SSLCERT_BLOB, NULL);
  curl_easy_setopt (handle, CURLOPT_SSLKEY_BLOB, NULL);
  curl_easy_setopt (handle, CURLOPT_SSLCERT, NULL);
  curl_easy_setopt (handle, CURLOPT_SSLKEY, NULL);
  curl_easy_setopt (handle, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt (handle, CURLOPT_SSLKEYTYPE, "PEM");
  g_clear_object (&self->client_applied);
}

/* The PEM of @certificate and of its issuers. */
static GString *
chain_pem (GTlsCertificate *certificate)
{
  GString *pem = g_string_new (NULL);

  for (GTlsCertificate *c = certificate; c != NULL; c = g_tls_certificate_get_issuer (c))
    {
      g_autofree char *one = NULL;

      g_object_get (c, "certificate-pem", &one, NULL);
      if (one != NULL)
        g_string_append (pem, one);
    }

  return pem;
}

/* Gives the handle @certificate (nullable) and its private key, unless it
 * has it already: from their PEM, or through libcurl's OpenSSL engine
 * "pkcs11" for a key (and maybe the certificate) on a PKCS#11 token.
 * FALSE with @error (and no certificate) when libcurl cannot take it. */
gboolean
g_curl_tls_set_client_certificate (GCurlTls         *self,
                                   CURL             *handle,
                                   GTlsCertificate  *certificate,
                                   GError          **error)
{
  g_autofree char *key_pem = NULL;
  g_autofree char *key_uri = NULL;
  g_autofree char *cert_uri = NULL;
  g_autoptr(GString) cert_pem = NULL;
  struct curl_blob blob = { NULL, 0, CURL_BLOB_COPY };
  CURLcode code = CURLE_OK;

  if (certificate == self->client_applied)
    return TRUE;

  clear_client_certificate (self, handle);
  if (certificate == NULL)
    return TRUE;

  g_object_get (certificate, "private-key-pem", &key_pem, "private-key-pkcs11-uri", &key_uri,
                "pkcs11-uri", &cert_uri, NULL);
  cert_pem = chain_pem (certificate);

  if (key_pem == NULL && key_uri == NULL)
    {
      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_SSL_CERTPROBLEM,
                   _("The client certificate has no private key"));
      return FALSE;
    }

  if (cert_pem->len > 0)
    {
      blob.data = cert_pem->str;
      blob.len = cert_pem->len;
      code = curl_easy_setopt (handle, CURLOPT_SSLCERT_BLOB, &blob);
    }
  else if (cert_uri != NULL)
    {
      code = curl_easy_setopt (handle, CURLOPT_SSLENGINE, "pkcs11");
      if (code == CURLE_OK)
        code = curl_easy_setopt (handle, CURLOPT_SSLCERTTYPE, "ENG");
      if (code == CURLE_OK)
        code = curl_easy_setopt (handle, CURLOPT_SSLCERT, cert_uri);
    }

  if (code == CURLE_OK && key_uri != NULL)
    {
      code = curl_easy_setopt (handle, CURLOPT_SSLENGINE, "pkcs11");
      if (code == CURLE_OK)
        code = curl_easy_setopt (handle, CURLOPT_SSLKEYTYPE, "ENG");
      if (code == CURLE_OK)
        code = curl_easy_setopt (handle, CURLOPT_SSLKEY, key_uri);
    }
  else if (code == CURLE_OK)
    {
      blob.data = key_pem;
      blob.len = strlen (key_pem);
      code = curl_easy_setopt (handle, CURLOPT_SSLKEY_BLOB, &blob);
    }

  if (code != CURLE_OK)
    {
      clear_client_certificate (self, handle);
      g_set_error (error, G_CURL_ERROR, code, _("libcurl cannot use the client certificate: %s"),
                   curl_easy_strerror (code));
      return FALSE;
    }

  self->client_applied = g_object_ref (certificate);
  return TRUE;
}

/* The handle's client certificate was cleared behind our back (before a
 * request to another origin): give it again on the next run. */
void
g_curl_tls_forget_client_certificate (GCurlTls *self)
{
  g_clear_object (&self->client_applied);
}

/* @flags as words for a message: "unknown certificate authority, host
 * name mismatch". */
char *
g_curl_tls_flags_to_string (GTlsCertificateFlags flags)
{
  static const struct {
    GTlsCertificateFlags flag;
    const char *words;
  } names[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_("unknown certificate authority") },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, N_("host name mismatch") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_("not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED, N_("expired") },
    { G_TLS_CERTIFICATE_REVOKED, N_("revoked") },
    { G_TLS_CERTIFICATE_INSECURE, N_("insecure") },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, N_("verification failed") },
  };
  g_autoptr(GString) text = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (flags & names[i].flag)
      {
        if (text->len > 0)
          g_string_append (text, ", ");
        g_string_append (text, _(names[i].words));
      }
  if (text->len == 0)
    g_string_append (text, _("verification failed"));

  return g_string_free (g_steal_pointer (&text), FALSE);
}
