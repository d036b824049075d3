/* gcurl-transfer-tls.c: a transfer's TLS properties and its
 * "accept-certificate"
 *
 * The part of GCurlTransfer that is about whom it talks to: the peer's
 * certificate and its errors, the client certificate, and the decision
 * on a certificate that did not verify, taken from the engine's flush
 * (gcurl-engine.c holds the run out of libcurl meanwhile, see
 * G_CURL_RUN_HOLD). The libcurl and OpenSSL side is gcurl-tls.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-easy-private.h"
#include "gcurl-engine-private.h"
#include "gcurl-tls-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

enum {
  TLS_PROP_CLIENT_CERTIFICATE,
  TLS_PROP_PEER_CERTIFICATE,
  TLS_PROP_PEER_CERTIFICATE_ERRORS,
  N_TLS_PROPS
};

static GParamSpec *tls_properties[N_TLS_PROPS];
static guint first_prop;
static guint accept_certificate_signal;

guint
g_curl_transfer_tls_class_init (GObjectClass *object_class,
                                guint         first_prop_id)
{
  first_prop = first_prop_id;

  /**
   * GCurlTransfer:tls-client-certificate:
   *
   * The certificate, with its private key, this transfer presents when a
   * server asks for one, instead of its multi's
   * [property@GCurl.Multi:tls-client-certificate]; %NULL for the
   * multi's. See there for where the key may come from. It cannot change
   * while the transfer runs.
   *
   * Since: 0.1
   */
  tls_properties[TLS_PROP_CLIENT_CERTIFICATE] =
    g_param_spec_object ("tls-client-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:tls-peer-certificate: (getter get_tls_peer_certificate)
   *
   * The certificate of the TLS server of the last request, with its
   * chain (its [property@Gio.TlsCertificate:issuer]s) as the server sent
   * it, whether or not it verified; %NULL before a TLS handshake of the
   * run, for plain HTTP, or when libcurl's TLS backend is not OpenSSL (the
   * library cannot look into the others). A connection reused from an
   * earlier transfer has its certificate too.
   *
   * Notified when it changes: at the latest just before
   * [signal@GCurl.Transfer::finished], and before
   * [signal@GCurl.Transfer::accept-certificate].
   *
   * Since: 0.1
   */
  tls_properties[TLS_PROP_PEER_CERTIFICATE] =
    g_param_spec_object ("tls-peer-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:tls-peer-certificate-errors: (getter get_tls_peer_certificate_errors)
   *
   * What is wrong with [property@GCurl.Transfer:tls-peer-certificate]
   * for the host of the request, 0 when it verified: all the problems,
   * not only the one that stopped the handshake (an unknown authority,
   * a host name mismatch and an expired certificate together). A
   * certificate accepted with [signal@GCurl.Transfer::accept-certificate]
   * keeps its errors.
   *
   * Since: 0.1
   */
  tls_properties[TLS_PROP_PEER_CERTIFICATE_ERRORS] =
    g_param_spec_flags ("tls-peer-certificate-errors", NULL, NULL,
                        G_TYPE_TLS_CERTIFICATE_FLAGS, 0, GCURL_PARAM_READABLE);

  for (guint i = 0; i < N_TLS_PROPS; i++)
    g_object_class_install_property (object_class, first_prop + i, tls_properties[i]);
  /* The transfer's other units' properties come after these. */
  g_curl_transfer_destination_class_init (object_class, first_prop + N_TLS_PROPS);

  /**
   * GCurlTransfer::accept-certificate:
   * @self: the transfer
   * @peer: the server's certificate, with its chain
   * @errors: what is wrong with it, all of it (as
   *   [property@GCurl.Transfer:tls-peer-certificate-errors])
   *
   * Emitted from the multi's main context, never from inside libcurl,
   * when the server's certificate did not verify: its authority is
   * unknown, it is for another host, expired… At most once per
   * certificate in a run (its redirects included), before
   * [signal@GCurl.Transfer::finished].
   *
   * Return %TRUE to trust exactly this certificate's public key for the
   * rest of this run: the request is made again, with the key pinned
   * (`CURLOPT_PINNEDPUBLICKEY`) and only the checks that failed relaxed,
   * so that another key (the server's, or one in the middle) still fails
   * with %G_CURL_ERROR_PEER_FAILED_VERIFICATION. The trust does not
   * outlive the run: the next run of this transfer, any other transfer
   * and a redirect to another origin verify again, on connections of
   * their own. Return %FALSE (or connect no handler) and the transfer
   * fails with %G_CURL_ERROR_PEER_FAILED_VERIFICATION and a message that
   * names the problems.
   *
   * A handler must decide now (it must not run a nested main loop). To
   * ask the user, return %FALSE, keep the certificate of the failed
   * transfer ([property@GCurl.Transfer:tls-peer-certificate]), ask,
   * and if the user trusts it, add the transfer again with a handler that
   * returns g_tls_certificate_is_same (@peer, remembered).
   *
   * Not emitted when libcurl's TLS backend is not OpenSSL: the transfer
   * then fails with libcurl's own %G_CURL_ERROR_PEER_FAILED_VERIFICATION.
   *
   * Returns: %TRUE to trust @peer for this run, %FALSE to fail
   *
   * Since: 0.1
   */
  accept_certificate_signal =
    g_signal_new ("accept-certificate", G_TYPE_FROM_CLASS (object_class), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL, G_TYPE_BOOLEAN, 2,
                  G_TYPE_TLS_CERTIFICATE, G_TYPE_TLS_CERTIFICATE_FLAGS);

  /* The next free id: after these and "destination". */
  return first_prop + N_TLS_PROPS + 1;
}

void
g_curl_transfer_tls_get_property (GCurlTransfer *self,
                                  guint          prop_id,
                                  GValue        *value,
                                  GParamSpec    *pspec)
{
  switch (prop_id - first_prop)
    {
    case TLS_PROP_CLIENT_CERTIFICATE:
      g_value_set_object (value, g_curl_transfer_ensure_options (self)->tls_client_certificate);
      break;
    case TLS_PROP_PEER_CERTIFICATE:
      g_value_set_object (value, g_curl_transfer_get_tls_peer_certificate (self));
      break;
    case TLS_PROP_PEER_CERTIFICATE_ERRORS:
      g_value_set_flags (value, g_curl_transfer_get_tls_peer_certificate_errors (self));
      break;
    case N_TLS_PROPS:
      g_curl_transfer_destination_get_property (self, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (self, prop_id, pspec);
    }
}

void
g_curl_transfer_tls_set_property (GCurlTransfer *self,
                                  guint          prop_id,
                                  const GValue  *value,
                                  GParamSpec    *pspec)
{
  switch (prop_id - first_prop)
    {
    case TLS_PROP_CLIENT_CERTIFICATE:
      if (g_curl_transfer_is_running (self))
        {
          g_critical ("GCurlTransfer:tls-client-certificate cannot change while the transfer runs");
          return;
        }
      if (g_curl_request_options_set_client_certificate (g_curl_transfer_ensure_options (self),
                                                         g_value_get_object (value)))
        g_object_notify_by_pspec (G_OBJECT (self), pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (self, prop_id, pspec);
    }
}

/* Notifies the peer's properties if they changed since they last did. */
void
g_curl_transfer_tls_notify (GCurlTransfer *self)
{
  guint changes = g_curl_tls_take_changes (&g_curl_transfer_get_easy (self)->tls);

  if (changes & G_CURL_TLS_PEER_CHANGED)
    g_object_notify_by_pspec (G_OBJECT (self), tls_properties[TLS_PROP_PEER_CERTIFICATE]);
  if (changes & G_CURL_TLS_ERRORS_CHANGED)
    g_object_notify_by_pspec (G_OBJECT (self),
                              tls_properties[TLS_PROP_PEER_CERTIFICATE_ERRORS]);
}

/* From the engine's flush: a run held for a certificate (G_CURL_RUN_HOLD)
 * is decided by "accept-certificate", and made again or ended. Returns
 * TRUE if it was (the flush has nothing more to report of it). */
gboolean
g_curl_transfer_tls_flush (GCurlTransfer *self)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);
  g_autoptr(GTlsCertificate) peer = NULL;
  g_autoptr(GError) error = NULL;
  gboolean accepted = FALSE;

  g_curl_transfer_tls_notify (self);
  if (!easy->tls.deciding)
    return FALSE;

  easy->tls.deciding = FALSE;
  peer = g_object_ref (g_curl_tls_get_peer (&easy->tls));
  g_signal_emit (self, accept_certificate_signal, 0, peer,
                 g_curl_tls_get_errors (&easy->tls), &accepted);

  /* A handler may have cancelled it: then "finished" says so. */
  if (easy->run.engine == NULL || easy->run.completed)
    return TRUE;

  if (g_curl_easy_accept_certificate (easy, accepted, &error))
    g_curl_engine_submit (&easy->run);
  else
    g_curl_engine_end_run (&easy->run, g_steal_pointer (&error));

  return TRUE;
}

/**
 * g_curl_transfer_get_tls_peer_certificate:
 * @self: a transfer
 *
 * Gets the certificate of the TLS server of the transfer's last request,
 * with its chain, whether or not it verified: see
 * [property@GCurl.Transfer:tls-peer-certificate].
 *
 * Returns: (transfer none) (nullable): the certificate, or %NULL if
 *   there was no TLS handshake in this run (or it cannot be known)
 *
 * Since: 0.1
 */
GTlsCertificate *
g_curl_transfer_get_tls_peer_certificate (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return g_curl_tls_get_peer (&g_curl_transfer_get_easy (self)->tls);
}

/**
 * g_curl_transfer_get_tls_peer_certificate_errors:
 * @self: a transfer
 *
 * Gets what is wrong with
 * [method@GCurl.Transfer.get_tls_peer_certificate] for the host of the
 * request: see [property@GCurl.Transfer:tls-peer-certificate-errors].
 *
 * Returns: the problems, 0 if it verified or there is no certificate
 *
 * Since: 0.1
 */
GTlsCertificateFlags
g_curl_transfer_get_tls_peer_certificate_errors (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return g_curl_tls_get_errors (&g_curl_transfer_get_easy (self)->tls);
}
