/* gcurl-error.c: the G_CURL_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

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
