/* gcurl-error.c: the G_CURL_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-error-private.h"

/* What g_curl_error_is_transient() needs besides the code, carried by
 * every error of the domain (GLib's extended error domains). */
typedef struct
{
  guint status;     /* the HTTP status of the response, 0 if none */
  int   os_errno;   /* CURLINFO_OS_ERRNO, 0 if none */
} GCurlErrorPrivate;

/* As G_DEFINE_EXTENDED_ERROR() places it: just before the GError. */
static GCurlErrorPrivate *
get_private (const GError *error)
{
  const gsize align = 2 * sizeof (gsize);
  const gsize size = (sizeof (GCurlErrorPrivate) + (align - 1)) & -align;

  return (GCurlErrorPrivate *) (((guint8 *) error) - size);
}

static void
private_init (GError *error)
{
  GCurlErrorPrivate *priv = get_private (error);

  priv->status = 0;
  priv->os_errno = 0;
}

static void
private_copy (const GError *src,
              GError       *dest)
{
  *get_private (dest) = *get_private (src);
}

static void
private_clear (GError *error)
{
}

/**
 * g_curl_error_quark:
 *
 * Gets the quark of the %G_CURL_ERROR domain, to tell libcurl failures
 * from other errors (g_error_matches()); %G_CURL_ERROR calls this.
 *
 * Returns: the error domain of libcurl failures
 *
 * Since: 0.1
 */
GQuark
g_curl_error_quark (void)
{
  static GQuark quark;
  static gsize initialized = 0;

  /* The name is the one G_DEFINE_QUARK() gave before the domain carried
   * data: a program may look the domain up by it. */
  if (g_once_init_enter (&initialized))
    {
      quark = g_error_domain_register_static ("g-curl-error-quark",
                                              sizeof (GCurlErrorPrivate),
                                              private_init, private_copy,
                                              private_clear);
      g_once_init_leave (&initialized, 1);
    }

  return quark;
}

/* %G_CURL_ERROR_HTTP_RETURNED_ERROR for a final @status of 400 or more,
 * naming the status, its @reason phrase (if the server sent one) and @url
 * (without a password). */
GError *
g_curl_error_new_http (guint       status,
                       const char *reason,
                       const char *url)
{
  GError *error;

  if (reason != NULL)
    error = g_error_new (G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR,
                         _("The server answered HTTP %u (%s) for %s"), status, reason, url);
  else
    error = g_error_new (G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR,
                         _("The server answered HTTP %u for %s"), status, url);
  g_curl_error_set_response (error, status, 0);

  return error;
}

/* Records what the response was when @error happened, for
 * g_curl_error_is_transient(). Errors of other domains are left alone. */
void
g_curl_error_set_response (GError *error,
                           guint   status,
                           int     os_errno)
{
  GCurlErrorPrivate *priv;

  if (error->domain != G_CURL_ERROR)
    return;

  priv = get_private (error);
  priv->status = status;
  priv->os_errno = os_errno;
}

/* The detailed text libcurl wrote to the handle's error buffer says what
 * happened ("Failed to connect to 127.0.0.1 port 1: Connection refused");
 * curl_easy_strerror() only names the code. */
GError *
g_curl_error_new_from_code (CURLcode    code,
                            const char *error_buffer)
{
  if (error_buffer != NULL && error_buffer[0] != '\0')
    return g_error_new_literal (G_CURL_ERROR, code, error_buffer);

  return g_error_new_literal (G_CURL_ERROR, code, curl_easy_strerror (code));
}

/* The library's messages are translated in its own gettext domain, bound
 * to where its catalogues are installed. A library never calls textdomain():
 * that is the application's to choose. Called from the class_init of the
 * types whose code makes the errors, before any of them can exist. */
void
g_curl_init_i18n (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&initialized, 1);
    }
}

/* Whether a failure is worth another attempt: the network or the server
 * may be back (refused, unresolvable, reset, closed, stalled, timed out),
 * or the server said so (408, 429, 5xx; @status is the response's). What a
 * retry cannot fix (a 404, a bad URL, a protocol not allowed, a TLS
 * certificate that does not verify) is not. A TLS handshake that failed is
 * transient only if the connection was lost under it (@os_errno, libcurl's
 * CURLINFO_OS_ERRNO): libcurl 7.88 says CURLE_SSL_CONNECT_ERROR for a
 * reset during the handshake as for a peer that speaks no common
 * protocol. */
gboolean
g_curl_error_is_transient_for_status (const GError *error,
                                      guint         status,
                                      int           os_errno)
{
  if (error == NULL || error->domain != G_CURL_ERROR)
    return FALSE;

  switch (error->code)
    {
    case G_CURL_ERROR_COULDNT_RESOLVE_PROXY:
    case G_CURL_ERROR_COULDNT_RESOLVE_HOST:
    case G_CURL_ERROR_COULDNT_CONNECT:
    case G_CURL_ERROR_PARTIAL_FILE:
    case G_CURL_ERROR_RECV_ERROR:
    case G_CURL_ERROR_SEND_ERROR:
    case G_CURL_ERROR_OPERATION_TIMEDOUT:
    case G_CURL_ERROR_GOT_NOTHING:
    case G_CURL_ERROR_HTTP2:
    case G_CURL_ERROR_HTTP2_STREAM:
      return TRUE;
    case G_CURL_ERROR_HTTP_RETURNED_ERROR:
      return status == 408 || status == 429 || (status >= 500 && status <= 599);
    case G_CURL_ERROR_SSL_CONNECT_ERROR:
      return os_errno == ECONNRESET || os_errno == EPIPE || os_errno == ECONNABORTED ||
             os_errno == ETIMEDOUT;
    default:
      return FALSE;
    }
}

/**
 * g_curl_error_is_transient:
 * @error: (nullable): an error from this library, or %NULL
 *
 * Says whether the failure @error describes is worth another attempt
 * later: the network or the server may be back. That is so for a refused
 * or reset connection, a host or proxy name that did not resolve, a
 * response cut off, a server that sent nothing, a time limit or the stall
 * watchdog, an HTTP/2 stream error, a TLS handshake the connection was
 * lost under, and the statuses that say "try again" with
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR (408, 429 and 5xx). What a retry
 * cannot fix is not: a bad URL, a protocol not allowed, a 404, a
 * certificate that does not verify, a cancellation. This is the rule
 * g_curl_multi_download_async() retries by.
 *
 * The status and the system error behind the code travel with errors of
 * %G_CURL_ERROR made by the library, also through g_error_copy(). An
 * error re-created from its domain, code and message alone (as PyGObject
 * does with a `GLib.Error` passed back in) has lost them: an
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR is then not transient, and neither is
 * a %G_CURL_ERROR_SSL_CONNECT_ERROR.
 *
 * Returns: %TRUE if the same request may succeed when tried again
 *
 * Since: 0.1
 */
gboolean
g_curl_error_is_transient (const GError *error)
{
  const GCurlErrorPrivate *priv;

  if (error == NULL || error->domain != G_CURL_ERROR)
    return FALSE;

  priv = get_private (error);

  return g_curl_error_is_transient_for_status (error, priv->status, priv->os_errno);
}
