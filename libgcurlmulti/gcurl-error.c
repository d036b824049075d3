/* gcurl-error.c: the G_CURL_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-error-private.h"

/**
 * g_curl_error_quark:
 *
 * Gets the quark of the %G_CURL_ERROR domain, to tell libcurl failures
 * from other errors (g_error_matches()); %G_CURL_ERROR calls this.
 *
 * Returns: the error domain of libcurl failures
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (g-curl-error-quark, g_curl_error)

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
