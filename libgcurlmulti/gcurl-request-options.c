/* gcurl-request-options.c: the settings of a request
 *
 * See gcurl-request-options-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-headers-private.h"
#include "gcurl-request-options-private.h"

/* Every field unset. */
void
g_curl_request_options_init (GCurlRequestOptions *options)
{
  options->user_agent = NULL;
  options->proxy = NULL;
  options->tls_ca_file = NULL;
  options->allowed_protocols = NULL;
  options->redirect_protocols = NULL;
  options->accept_encoding = NULL;
  options->max_redirects = -1;
  options->stall_timeout = -1;
  options->connect_timeout = -1;
  options->timeout = -1;
  options->max_body_size = GCURL_UNSET_SIZE;
  options->multiplex = -1;
  options->fail_on_http_error = -1;
  options->log_level = -1;
  options->headers = NULL;
  options->tls_client_certificate = NULL;
  options->jar = NULL;
  g_curl_request_options_touch (options);
}

void
g_curl_request_options_clear (GCurlRequestOptions *options)
{
  g_clear_pointer (&options->user_agent, g_free);
  g_clear_pointer (&options->proxy, g_free);
  g_clear_pointer (&options->tls_ca_file, g_free);
  g_clear_pointer (&options->allowed_protocols, g_free);
  g_clear_pointer (&options->redirect_protocols, g_free);
  g_clear_pointer (&options->accept_encoding, g_free);
  g_clear_pointer (&options->headers, g_array_unref);
  g_clear_object (&options->tls_client_certificate);
}

/* Makes @dest (cleared, or never initialised) a deep copy of @src: the
 * settings of a blocking call's multi (gcurl-sync.c). The jar, which is
 * not owned, is the same. */
void
g_curl_request_options_copy (const GCurlRequestOptions *src,
                             GCurlRequestOptions       *dest)
{
  *dest = *src;
  dest->user_agent = g_strdup (src->user_agent);
  dest->proxy = g_strdup (src->proxy);
  dest->tls_ca_file = g_strdup (src->tls_ca_file);
  dest->allowed_protocols = g_strdup (src->allowed_protocols);
  dest->redirect_protocols = g_strdup (src->redirect_protocols);
  dest->accept_encoding = g_strdup (src->accept_encoding);
  dest->headers = src->headers != NULL ? g_curl_header_list_copy (src->headers) : NULL;
  if (src->tls_client_certificate != NULL)
    g_object_ref (src->tls_client_certificate);
  g_curl_request_options_touch (dest);
}

/* Sets (or with %NULL unsets) the client certificate; returns whether it
 * changed. */
gboolean
g_curl_request_options_set_client_certificate (GCurlRequestOptions *options,
                                               GTlsCertificate     *certificate)
{
  if (!g_set_object (&options->tls_client_certificate, certificate))
    return FALSE;

  g_curl_request_options_touch (options);
  return TRUE;
}

/* Sets (or with %NULL removes) a default header. Returns whether anything
 * changed. */
gboolean
g_curl_request_options_set_header (GCurlRequestOptions *options,
                                   const char          *name,
                                   const char          *value)
{
  if (value == NULL && !g_curl_header_list_has (options->headers, name))
    return FALSE;

  g_curl_header_list_set (&options->headers, name, value);
  if (options->headers->len == 0)
    g_clear_pointer (&options->headers, g_array_unref);
  g_curl_request_options_touch (options);

  return TRUE;
}

/* A new serial: unique in the process, so that a transfer moved to another
 * multi never mistakes its settings for those it has. Never 0. */
void
g_curl_request_options_touch (GCurlRequestOptions *options)
{
  static guint last;
  guint serial;

  do
    serial = (guint) g_atomic_int_add (&last, 1) + 1;
  while (serial == 0);

  options->serial = serial;
}

/* Sets a string field of @options; returns whether it changed. */
gboolean
g_curl_request_options_set_string (GCurlRequestOptions  *options,
                                   char                **field,
                                   const char           *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  g_free (*field);
  *field = g_strdup (value);
  g_curl_request_options_touch (options);
  return TRUE;
}

gboolean
g_curl_request_options_set_int (GCurlRequestOptions *options,
                                int                 *field,
                                int                  value)
{
  if (*field == value)
    return FALSE;

  *field = value;
  g_curl_request_options_touch (options);
  return TRUE;
}

gboolean
g_curl_request_options_set_int64 (GCurlRequestOptions *options,
                                  gint64              *field,
                                  gint64               value)
{
  if (*field == value)
    return FALSE;

  *field = value;
  g_curl_request_options_touch (options);
  return TRUE;
}

static char **
string_field (GCurlRequestOptions *options,
              GCurlOption          option)
{
  switch (option)
    {
    case G_CURL_OPTION_USER_AGENT:
      return &options->user_agent;
    case G_CURL_OPTION_PROXY:
      return &options->proxy;
    case G_CURL_OPTION_TLS_CA_FILE:
      return &options->tls_ca_file;
    case G_CURL_OPTION_ALLOWED_PROTOCOLS:
      return &options->allowed_protocols;
    case G_CURL_OPTION_REDIRECT_PROTOCOLS:
      return &options->redirect_protocols;
    case G_CURL_OPTION_ACCEPT_ENCODING:
      return &options->accept_encoding;
    default:
      g_assert_not_reached ();
    }
}

/* Sets a string setting, as the multi's and the transfer's properties do:
 * a value that is a programmer error (CR or LF, which would end a header
 * line; protocols libcurl does not know, which would leave every one it
 * has enabled) is refused with a critical naming @property, and changes
 * nothing. Returns whether the setting changed. */
gboolean
g_curl_request_options_set_checked (GCurlRequestOptions *options,
                                    GCurlOption          option,
                                    const char          *value,
                                    const char          *property)
{
  char **field = string_field (options, option);

  if (value != NULL && option != G_CURL_OPTION_TLS_CA_FILE && strpbrk (value, "\r\n") != NULL)
    {
      g_critical ("%s must not contain CR or LF", property);
      return FALSE;
    }
  if (value != NULL &&
      (option == G_CURL_OPTION_ALLOWED_PROTOCOLS || option == G_CURL_OPTION_REDIRECT_PROTOCOLS) &&
      !g_curl_protocols_valid (value))
    {
      g_critical ("“%s” is not a list of protocols libcurl supports; %s stays “%s”",
                  value, property, *field != NULL ? *field : "unset");
      return FALSE;
    }

  return g_curl_request_options_set_string (options, field, value);
}

/* Sets a number setting; returns whether it changed. */
gboolean
g_curl_request_options_set_number (GCurlRequestOptions *options,
                                   GCurlOption          option,
                                   gint64               value)
{
  switch (option)
    {
    case G_CURL_OPTION_MAX_REDIRECTS:
      return g_curl_request_options_set_int (options, &options->max_redirects, (int) value);
    case G_CURL_OPTION_STALL_TIMEOUT:
      return g_curl_request_options_set_int64 (options, &options->stall_timeout, value);
    case G_CURL_OPTION_CONNECT_TIMEOUT:
      return g_curl_request_options_set_int (options, &options->connect_timeout, (int) value);
    case G_CURL_OPTION_TIMEOUT:
      return g_curl_request_options_set_int (options, &options->timeout, (int) value);
    case G_CURL_OPTION_FAIL_ON_HTTP_ERROR:
      return g_curl_request_options_set_int (options, &options->fail_on_http_error, value != 0);
    default:
      g_assert_not_reached ();
    }
}

const char *
g_curl_request_options_get_string (const GCurlRequestOptions *options,
                                   GCurlOption                option)
{
  return *string_field ((GCurlRequestOptions *) options, option);
}

gint64
g_curl_request_options_get_number (const GCurlRequestOptions *options,
                                   GCurlOption                option)
{
  switch (option)
    {
    case G_CURL_OPTION_MAX_REDIRECTS:
      return options->max_redirects;
    case G_CURL_OPTION_STALL_TIMEOUT:
      return options->stall_timeout;
    case G_CURL_OPTION_CONNECT_TIMEOUT:
      return options->connect_timeout;
    case G_CURL_OPTION_TIMEOUT:
      return options->timeout;
    case G_CURL_OPTION_FAIL_ON_HTTP_ERROR:
      return options->fail_on_http_error;
    default:
      g_assert_not_reached ();
    }
}

/* The settings a transfer runs with: its own where set, else its multi's.
 * The strings of @effective are borrowed from the other two. */
void
g_curl_request_options_merge (const GCurlRequestOptions *defaults,
                              const GCurlRequestOptions *overrides,
                              GCurlRequestOptions       *effective)
{
#define MERGE_STRING(field) \
  effective->field = overrides != NULL && overrides->field != NULL ? overrides->field : defaults->field
#define MERGE_NUMBER(field) \
  effective->field = overrides != NULL && overrides->field >= 0 ? overrides->field : defaults->field
  MERGE_STRING (user_agent);
  MERGE_STRING (proxy);
  MERGE_STRING (tls_ca_file);
  MERGE_STRING (allowed_protocols);
  MERGE_STRING (redirect_protocols);
  MERGE_STRING (accept_encoding);
  MERGE_NUMBER (max_redirects);
  MERGE_NUMBER (stall_timeout);
  MERGE_NUMBER (connect_timeout);
  MERGE_NUMBER (timeout);
  effective->max_body_size = overrides != NULL && overrides->max_body_size != GCURL_UNSET_SIZE
                            ? overrides->max_body_size : defaults->max_body_size;
  MERGE_NUMBER (multiplex);
  MERGE_NUMBER (fail_on_http_error);
  MERGE_NUMBER (log_level);
  /* Only the multi has default headers; a transfer's own are its request
   * headers, which win over them (g_curl_easy_begin_run()). */
  effective->headers = defaults->headers;
  MERGE_STRING (tls_client_certificate);
  effective->jar = defaults->jar;
#undef MERGE_STRING
#undef MERGE_NUMBER
  effective->serial = 0;
}

/* libcurl's own trust store, to go back to once a CA file was set:
 * setting CURLOPT_CAINFO to NULL would disable it instead. */
static void
get_default_ca (const char **cainfo,
                const char **capath)
{
  static char *default_cainfo, *default_capath;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      CURL *h = curl_easy_init ();
      char *value = NULL;

      if (h != NULL && curl_easy_getinfo (h, CURLINFO_CAINFO, &value) == CURLE_OK)
        default_cainfo = g_strdup (value);
      value = NULL;
      if (h != NULL && curl_easy_getinfo (h, CURLINFO_CAPATH, &value) == CURLE_OK)
        default_capath = g_strdup (value);
      g_clear_pointer (&h, curl_easy_cleanup);
      g_once_init_leave (&initialized, 1);
    }

  *cainfo = default_cainfo;
  *capath = default_capath;
}

/* Sets the handle's options from @effective (merged from @defaults and
 * @overrides), only when those differ from the ones it was given last
 * (@applied), since every option costs. FALSE with @error for a protocol
 * list libcurl refuses: it would leave every protocol it has enabled
 * (file, dict, gopher…), so the transfer must not run. */
gboolean
g_curl_request_options_apply (const GCurlRequestOptions *defaults,
                              const GCurlRequestOptions *overrides,
                              const GCurlRequestOptions *effective,
                              CURL                      *handle,
                              GCurlAppliedOptions       *applied,
                              GError                   **error)
{
  guint overrides_serial = overrides != NULL ? overrides->serial : 0;
  CURLcode code;

  if (applied->defaults_serial == defaults->serial && applied->overrides_serial == overrides_serial)
    return TRUE;

  curl_easy_setopt (handle, CURLOPT_USERAGENT,
                    effective->user_agent ? effective->user_agent : GCURL_DEFAULT_USER_AGENT);

  /* A CA file replaces the system's trust store. */
  if (effective->tls_ca_file != NULL)
    {
      curl_easy_setopt (handle, CURLOPT_CAINFO, effective->tls_ca_file);
      curl_easy_setopt (handle, CURLOPT_CAPATH, NULL);
      applied->custom_ca = TRUE;
    }
  else if (applied->custom_ca)
    {
      const char *cainfo, *capath;

      get_default_ca (&cainfo, &capath);
      curl_easy_setopt (handle, CURLOPT_CAINFO, cainfo);
      curl_easy_setopt (handle, CURLOPT_CAPATH, capath);
      applied->custom_ca = FALSE;
    }

  /* Timeouts of 0 (libcurl's defaults) leave alone what the application
   * may have set on the handle itself (CURLOPT_TIMEOUT_MS…), until a
   * setting of ours was given. */
  if (effective->connect_timeout > 0 || effective->timeout > 0 || applied->timeouts_set)
    {
      curl_easy_setopt (handle, CURLOPT_CONNECTTIMEOUT, (long) MAX (effective->connect_timeout, 0));
      curl_easy_setopt (handle, CURLOPT_TIMEOUT, (long) MAX (effective->timeout, 0));
      applied->timeouts_set = effective->connect_timeout > 0 || effective->timeout > 0;
    }

  code = curl_easy_setopt (handle, CURLOPT_PROTOCOLS_STR, effective->allowed_protocols);
  if (code == CURLE_OK)
    code = curl_easy_setopt (handle, CURLOPT_REDIR_PROTOCOLS_STR, effective->allowed_protocols);
  if (code != CURLE_OK)
    {
      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                   _("Invalid list of allowed protocols “%s”: %s"),
                   effective->allowed_protocols, curl_easy_strerror (code));
      return FALSE;
    }

  applied->defaults_serial = defaults->serial;
  applied->overrides_serial = overrides_serial;
  return TRUE;
}

/* Whether libcurl accepts @protocols as a CURLOPT_PROTOCOLS_STR list
 * (the multi's and the transfer's allowed-protocols). */
gboolean
g_curl_protocols_valid (const char *protocols)
{
  CURL *probe = curl_easy_init ();
  gboolean valid = probe != NULL &&
                   curl_easy_setopt (probe, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK;

  g_clear_pointer (&probe, curl_easy_cleanup);
  return valid;
}

/* Whether the CURLOPT_PROTOCOLS_STR list @protocols ("http,https", "all")
 * has @scheme, compared without case. */
gboolean
g_curl_protocols_contain (const char *protocols,
                          const char *scheme)
{
  g_auto(GStrv) names = g_strsplit (protocols, ",", -1);

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *name = g_strstrip (names[i]);

      if (g_ascii_strcasecmp (name, "all") == 0 || g_ascii_strcasecmp (name, scheme) == 0)
        return TRUE;
    }

  return FALSE;
}
