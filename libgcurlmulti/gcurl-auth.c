/* gcurl-auth.c: an authentication challenge, for its handler to answer
 *
 * The object a transfer's "authenticate" handler gets, and the reading of
 * a response's challenges it is made from. libcurl does the schemes
 * themselves: this only names the one it will use, and carries the
 * handler's answer back to the transfer. See gcurl-auth-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-auth.h"
#include "gcurl-auth-private.h"

/**
 * GCurlAuth:
 *
 * An authentication challenge (a `401 Unauthorized` from the server or a
 * `407 Proxy Authentication Required` from the proxy), given to the
 * handlers of [signal@GCurl.Transfer::authenticate].
 *
 * It names the scheme libcurl will answer with (the strongest the
 * challenger offers among those libcurl can do), the realm and who asks.
 * A handler that returned %TRUE answers it with
 * [method@GCurl.Auth.authenticate] or [method@GCurl.Auth.cancel], at once
 * or later (after asking the user): the transfer waits until then. Only
 * the first answer counts; answers to a challenge whose transfer was
 * cancelled meanwhile are ignored.
 *
 * Since: 0.1
 */

struct _GCurlAuth
{
  GObject               parent_instance;

  long                  scheme;         /* one CURLAUTH_* bit */
  char                 *realm;          /* (nullable) */
  char                 *authority;
  gboolean              for_proxy;

  GCurlAuthState        state;
  char                 *username;
  char                 *password;

  GCurlAuthDecidedFunc  func;           /* (nullable): cleared once called */
  gpointer              func_data;
};

enum {
  PROP_0,
  PROP_SCHEME_NAME,
  PROP_REALM,
  PROP_AUTHORITY,
  PROP_IS_FOR_PROXY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (GCurlAuth, g_curl_auth, G_TYPE_OBJECT)

/* A password does not linger in freed memory. */
static void
clear_secret (char **secret)
{
  if (*secret != NULL)
    explicit_bzero (*secret, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
g_curl_auth_finalize (GObject *object)
{
  GCurlAuth *self = G_CURL_AUTH (object);

  g_free (self->realm);
  g_free (self->authority);
  g_free (self->username);
  clear_secret (&self->password);

  G_OBJECT_CLASS (g_curl_auth_parent_class)->finalize (object);
}

static void
g_curl_auth_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  GCurlAuth *self = G_CURL_AUTH (object);

  switch (prop_id)
    {
    case PROP_SCHEME_NAME:
      g_value_set_string (value, g_curl_auth_get_scheme_name (self));
      break;
    case PROP_REALM:
      g_value_set_string (value, self->realm);
      break;
    case PROP_AUTHORITY:
      g_value_set_string (value, self->authority);
      break;
    case PROP_IS_FOR_PROXY:
      g_value_set_boolean (value, self->for_proxy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
g_curl_auth_class_init (GCurlAuthClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = g_curl_auth_finalize;
  object_class->get_property = g_curl_auth_get_property;

  /**
   * GCurlAuth:scheme-name:
   *
   * The scheme libcurl answers the challenge with: "Basic", "Digest",
   * "NTLM", "Negotiate" or "Bearer".
   *
   * Since: 0.1
   */
  properties[PROP_SCHEME_NAME] =
    g_param_spec_string ("scheme-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GCurlAuth:realm:
   *
   * The realm the challenge names (its `realm` parameter), or %NULL if it
   * names none.
   *
   * Since: 0.1
   */
  properties[PROP_REALM] =
    g_param_spec_string ("realm", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GCurlAuth:authority:
   *
   * Who asks, as "host:port": the server of the request (after the
   * redirects followed so far), or the proxy.
   *
   * Since: 0.1
   */
  properties[PROP_AUTHORITY] =
    g_param_spec_string ("authority", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GCurlAuth:is-for-proxy:
   *
   * Whether the proxy asks (a 407), not the server (a 401).
   *
   * Since: 0.1
   */
  properties[PROP_IS_FOR_PROXY] =
    g_param_spec_boolean ("is-for-proxy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
g_curl_auth_init (GCurlAuth *self)
{
}

/* A challenge for @scheme (one CURLAUTH_* bit); @func hears the answer. */
GCurlAuth *
g_curl_auth_new (long                  scheme,
                 const char           *realm,
                 const char           *authority,
                 gboolean              for_proxy,
                 GCurlAuthDecidedFunc  func,
                 gpointer              user_data)
{
  GCurlAuth *self = g_object_new (G_CURL_TYPE_AUTH, NULL);

  self->scheme = scheme;
  self->realm = g_strdup (realm);
  self->authority = g_strdup (authority);
  self->for_proxy = for_proxy;
  self->func = func;
  self->func_data = user_data;

  return self;
}

/* The transfer no longer waits for this challenge (it was cancelled, or
 * ran again): a later answer does nothing. */
void
g_curl_auth_detach (GCurlAuth *self)
{
  self->func = NULL;
  self->func_data = NULL;
}

GCurlAuthState
g_curl_auth_get_state (GCurlAuth *self)
{
  return self->state;
}

long
g_curl_auth_get_scheme (GCurlAuth *self)
{
  return self->scheme;
}

const char *
g_curl_auth_get_username (GCurlAuth *self)
{
  return self->username;
}

const char *
g_curl_auth_get_password (GCurlAuth *self)
{
  return self->password;
}

static void
decide (GCurlAuth      *self,
        GCurlAuthState  state)
{
  GCurlAuthDecidedFunc func = self->func;

  self->state = state;
  self->func = NULL;
  if (func != NULL)
    {
      /* The transfer may drop its reference to the challenge. */
      g_object_ref (self);
      func (self, self->func_data);
      g_object_unref (self);
    }
}

/**
 * g_curl_auth_get_scheme_name:
 * @auth: a challenge
 *
 * Gets the scheme libcurl answers the challenge with.
 *
 * Returns: the scheme libcurl answers with: "Basic", "Digest", "NTLM",
 *   "Negotiate" or "Bearer"
 *
 * Since: 0.1
 */
const char *
g_curl_auth_get_scheme_name (GCurlAuth *auth)
{
  g_return_val_if_fail (G_CURL_IS_AUTH (auth), NULL);

  return g_curl_auth_scheme_to_string (auth->scheme);
}

/**
 * g_curl_auth_get_realm:
 * @auth: a challenge
 *
 * Gets the realm the challenge names: what to show the user, with the
 * authority, when asking for a password.
 *
 * Returns: (nullable): the realm the challenge names, or %NULL
 *
 * Since: 0.1
 */
const char *
g_curl_auth_get_realm (GCurlAuth *auth)
{
  g_return_val_if_fail (G_CURL_IS_AUTH (auth), NULL);

  return auth->realm;
}

/**
 * g_curl_auth_get_authority:
 * @auth: a challenge
 *
 * Gets who asks: the server of the request (after the redirects followed
 * so far), or the proxy.
 *
 * Returns: who asks, as "host:port" (an IPv6 address in brackets)
 *
 * Since: 0.1
 */
const char *
g_curl_auth_get_authority (GCurlAuth *auth)
{
  g_return_val_if_fail (G_CURL_IS_AUTH (auth), NULL);

  return auth->authority;
}

/**
 * g_curl_auth_is_for_proxy:
 * @auth: a challenge
 *
 * Gets whether the proxy asks, rather than the server.
 *
 * Returns: %TRUE if the proxy asks (a 407), %FALSE if the server does
 *
 * Since: 0.1
 */
gboolean
g_curl_auth_is_for_proxy (GCurlAuth *auth)
{
  g_return_val_if_fail (G_CURL_IS_AUTH (auth), FALSE);

  return auth->for_proxy;
}

/**
 * g_curl_auth_authenticate:
 * @auth: a challenge
 * @username: the user name (ignored by "Bearer")
 * @password: the password, or the token for "Bearer"
 *
 * Answers the challenge: the transfer sends its request again with these
 * credentials, to the challenger only (the server, for as long as
 * redirects stay at its origin, or the proxy). If they are refused,
 * [signal@GCurl.Transfer::authenticate] is emitted again, with `retrying`
 * %TRUE.
 *
 * Only the first answer to a challenge counts.
 *
 * Since: 0.1
 */
void
g_curl_auth_authenticate (GCurlAuth  *auth,
                          const char *username,
                          const char *password)
{
  g_return_if_fail (G_CURL_IS_AUTH (auth));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);

  if (auth->state != G_CURL_AUTH_PENDING)
    return;

  auth->username = g_strdup (username);
  auth->password = g_strdup (password);
  decide (auth, G_CURL_AUTH_AUTHENTICATED);
}

/**
 * g_curl_auth_cancel:
 * @auth: a challenge
 *
 * Declines the challenge: the 401 or 407 is the transfer's response (its
 * status, headers and page), as it is without a handler. For a proxy that
 * refused to open a tunnel (a 407 to an `https://` request), the transfer
 * fails, as it does without a handler.
 *
 * Only the first answer to a challenge counts.
 *
 * Since: 0.1
 */
void
g_curl_auth_cancel (GCurlAuth *auth)
{
  g_return_if_fail (G_CURL_IS_AUTH (auth));

  if (auth->state != G_CURL_AUTH_PENDING)
    return;

  decide (auth, G_CURL_AUTH_CANCELLED);
}

/* The challenges of a response */

/* The schemes in the order of preference, strongest first. */
static const struct
{
  long        bit;
  const char *name;
} schemes[] = {
  { CURLAUTH_NEGOTIATE, "Negotiate" },
  { CURLAUTH_NTLM, "NTLM" },
  { CURLAUTH_DIGEST, "Digest" },
  { CURLAUTH_BASIC, "Basic" },
  { CURLAUTH_BEARER, "Bearer" },
};

/* Whether this libcurl can answer @scheme. */
static gboolean
can_answer (long scheme)
{
  const curl_version_info_data *info = curl_version_info (CURLVERSION_NOW);

  if (scheme == CURLAUTH_NEGOTIATE)
    return (info->features & CURL_VERSION_SPNEGO) != 0;
  if (scheme == CURLAUTH_NTLM)
    return (info->features & CURL_VERSION_NTLM) != 0;
  return TRUE;
}

/* The scheme libcurl answers with among @available (the CURLAUTH_* bits of
 * CURLINFO_HTTPAUTH_AVAIL or CURLINFO_PROXYAUTH_AVAIL), or 0 for none it
 * can do. */
long
g_curl_auth_choose_scheme (long available)
{
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    if ((available & schemes[i].bit) != 0 && can_answer (schemes[i].bit))
      return schemes[i].bit;

  return 0;
}

const char *
g_curl_auth_scheme_to_string (long scheme)
{
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (scheme == schemes[i].bit)
      return schemes[i].name;

  return "Unknown";
}

static gboolean
is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Reads a token at *@p; advances past it. */
static char *
read_token (const char **p)
{
  const char *start = *p;

  while (is_tchar (**p) || **p == '/')
    (*p)++;

  return g_strndup (start, *p - start);
}

/* Reads a quoted-string (without its quotes and escapes) or a token. */
static char *
read_value (const char **p)
{
  GString *value;

  if (**p != '"')
    return read_token (p);

  value = g_string_new (NULL);
  for ((*p)++; **p != '\0' && **p != '"'; (*p)++)
    {
      if (**p == '\\' && (*p)[1] != '\0')
        (*p)++;
      g_string_append_c (value, **p);
    }
  if (**p == '"')
    (*p)++;

  return g_string_free (value, FALSE);
}

/* The realm of the challenge for @scheme_name in @challenges (the values
 * of the WWW-Authenticate or Proxy-Authenticate headers: each may hold
 * several challenges, RFC 9110 section 11.6.1), or %NULL. */
char *
g_curl_auth_find_realm (const char * const *challenges,
                        const char         *scheme_name)
{
  for (gsize i = 0; challenges != NULL && challenges[i] != NULL; i++)
    {
      const char *p = challenges[i];
      gboolean in_scheme = FALSE;

      while (*p != '\0')
        {
          g_autofree char *token = NULL;

          while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
          if (*p == '\0')
            break;

          token = read_token (&p);
          if (*token == '\0')
            {
              /* Not HTTP's grammar: skip the character. */
              p++;
              continue;
            }

          while (*p == ' ' || *p == '\t')
            p++;

          if (*p == '=')
            {
              g_autofree char *value = NULL;

              /* An auth-param of the challenge (or the padding of a
               * token68, which has no realm). */
              p++;
              while (*p == ' ' || *p == '\t')
                p++;
              value = read_value (&p);
              if (in_scheme && g_ascii_strcasecmp (token, "realm") == 0)
                return g_steal_pointer (&value);
            }
          else
            in_scheme = g_ascii_strcasecmp (token, scheme_name) == 0;
        }
    }

  return NULL;
}

/* "host:port" of @url (a proxy's may lack its scheme: libcurl's default
 * then is http, on port 1080), or %NULL. */
char *
g_curl_auth_authority_of (const char *url,
                          gboolean    proxy)
{
  g_autofree char *with_scheme = NULL;
  g_autoptr(GUri) uri = NULL;
  const char *scheme, *host;
  int port;

  if (url == NULL)
    return NULL;
  if (strstr (url, "://") == NULL)
    url = with_scheme = g_strconcat ("http://", url, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_NON_DNS, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  port = g_uri_get_port (uri);
  if (port < 0 && proxy)
    port = g_ascii_strcasecmp (scheme, "https") == 0 ? 443 : 1080;
  else if (port < 0)
    port = g_ascii_strcasecmp (scheme, "https") == 0 ? 443 : 80;

  return strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%d", host, port)
                                    : g_strdup_printf ("%s:%d", host, port);
}
