/* gcurl-filename.c: the name a downloaded file gets in a folder
 *
 * download_to_directory_async() names the file after the response's
 * Content-Disposition (RFC 6266, with RFC 8187's filename*), else after
 * the last segment of the URL's path, else GCURL_FILENAME_FALLBACK. The
 * name comes from the network, so it is made harmless first: only its
 * last path component is kept (a '/' or '\\' anywhere ends a directory),
 * control characters (NUL included), bidirectional overrides and the
 * characters Windows reserves become '_', leading dots and spaces go (no
 * hidden file, no "." or ".."), and so do trailing ones (which Windows
 * drops); it is valid UTF-8 and at most GCURL_FILENAME_MAX bytes, cut on a
 * character boundary before its extension. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-filename-private.h"

/* A longer "extension" is a part of the name, not a type. */
#define GCURL_EXTENSION_MAX 16
/* What a character the name may not hold becomes. */
#define GCURL_FILENAME_REPLACEMENT '_'

static gboolean
is_forbidden (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||          /* C0, DEL, C1 */
         c == 0x200e || c == 0x200f ||                    /* LRM, RLM */
         (c >= 0x202a && c <= 0x202e) ||                  /* embeddings, overrides */
         (c >= 0x2066 && c <= 0x2069) ||                  /* isolates */
         c == 0xfeff ||                                   /* BOM */
         (c < 0x80 && strchr ("<>:\"|?*", (int) c) != NULL);  /* Windows */
}

/* The length of the extension of @name (its last ".xyz", with a ".tar"
 * before it), or 0 if it has none. A leading dot is no extension. */
static gsize
extension_length (const char *name)
{
  const char *dot = strrchr (name, '.');
  gsize len;

  if (dot == NULL || dot == name)
    return 0;
  len = strlen (dot);
  if (len > GCURL_EXTENSION_MAX || len < 2 || strchr (dot, ' ') != NULL)
    return 0;
  if (dot - name > 4 && g_ascii_strncasecmp (dot - 4, ".tar", 4) == 0)
    len += 4;

  return len;
}

/* @stem, @suffix and @extension, with @stem cut (on a character boundary)
 * so that the whole is at most GCURL_FILENAME_MAX bytes. */
static char *
join_within_limit (const char *stem,
                   gsize       stem_len,
                   const char *suffix,
                   const char *extension)
{
  gsize room = GCURL_FILENAME_MAX - strlen (suffix) - strlen (extension);
  GString *name;

  if (stem_len > room)
    {
      stem_len = room;
      while (stem_len > 0 && ((guchar) stem[stem_len] & 0xc0) == 0x80)
        stem_len--;
      while (stem_len > 0 && (stem[stem_len - 1] == ' ' || stem[stem_len - 1] == '.'))
        stem_len--;
    }

  name = g_string_new_len (stem, stem_len);
  g_string_append (name, suffix);
  g_string_append (name, extension);

  return g_string_free (name, FALSE);
}

/**
 * g_curl_filename_sanitize:
 * @raw: a name as the network gave it: any bytes
 * @length: its length, or -1 if it ends with a NUL
 *
 * Makes @raw a name that is safe to create in a folder (see the top of
 * this file).
 *
 * Returns: (transfer full) (nullable): the name, or %NULL if nothing of
 *   it is left
 */
char *
g_curl_filename_sanitize (const char *raw,
                          gssize      length)
{
  g_autofree char *bytes = NULL;
  g_autofree char *valid = NULL;
  GString *name;
  const char *start, *p, *end;
  gsize len, i;

  if (raw == NULL)
    return NULL;
  len = length < 0 ? strlen (raw) : (gsize) length;

  /* Control bytes first: g_utf8_make_valid() would keep a NUL. */
  bytes = g_malloc (len + 1);
  for (i = 0; i < len; i++)
    bytes[i] = ((guchar) raw[i] < 0x20 || raw[i] == 0x7f) ? GCURL_FILENAME_REPLACEMENT : raw[i];
  bytes[len] = '\0';
  valid = g_utf8_make_valid (bytes, len);

  /* The last path component, whichever separator. */
  start = valid;
  for (p = valid; *p != '\0'; p++)
    if (*p == '/' || *p == '\\')
      start = p + 1;

  name = g_string_new (NULL);
  for (p = start; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_forbidden (c))
        g_string_append_c (name, GCURL_FILENAME_REPLACEMENT);
      else
        g_string_append_unichar (name, c);
    }

  /* Visible, and no "." or "..": no leading dots or spaces; none at the
   * end either. */
  start = name->str;
  while (*start == '.' || *start == ' ')
    start++;
  end = name->str + name->len;
  while (end > start && (end[-1] == '.' || end[-1] == ' '))
    end--;

  if (end == start)
    {
      g_string_free (name, TRUE);
      return NULL;
    }

  {
    g_autofree char *trimmed = g_strndup (start, end - start);
    gsize ext = extension_length (trimmed);
    gsize trimmed_len = strlen (trimmed);

    g_string_free (name, TRUE);
    if (trimmed_len <= GCURL_FILENAME_MAX)
      return g_steal_pointer (&trimmed);
    return join_within_limit (trimmed, trimmed_len - ext, "", trimmed + trimmed_len - ext);
  }
}

/**
 * g_curl_filename_numbered:
 * @name: a name g_curl_filename_sanitize() made
 * @n: which alternative
 *
 * The @n-th name to try when @name is taken: @name itself for 0, else
 * "stem (n).ext", still within GCURL_FILENAME_MAX bytes.
 *
 * Returns: (transfer full): the name
 */
char *
g_curl_filename_numbered (const char *name,
                          guint       n)
{
  g_autofree char *suffix = NULL;
  gsize len = strlen (name);
  gsize ext = extension_length (name);

  if (n == 0)
    return g_strdup (name);

  suffix = g_strdup_printf (" (%u)", n);
  return join_within_limit (name, len - ext, suffix, name + len - ext);
}

/* Percent-decodes @text (a bad escape stays as it is). */
static GString *
percent_decode (const char *text,
                gsize       length)
{
  GString *out = g_string_sized_new (length);
  gsize i;

  for (i = 0; i < length; i++)
    {
      if (text[i] == '%' && i + 2 < length &&
          g_ascii_isxdigit (text[i + 1]) && g_ascii_isxdigit (text[i + 2]))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (text[i + 1]) * 16 +
                                          g_ascii_xdigit_value (text[i + 2])));
          i += 2;
        }
      else
        g_string_append_c (out, text[i]);
    }

  return out;
}

/* RFC 8187's ext-value: charset'language'percent-encoded. UTF-8 and
 * ISO-8859-1 are the charsets RFC 8187 requires; others are not
 * understood. */
static char *
decode_ext_value (const char *value)
{
  const char *quote1 = strchr (value, '\'');
  const char *quote2 = quote1 != NULL ? strchr (quote1 + 1, '\'') : NULL;
  g_autofree char *charset = NULL;
  GString *decoded;

  if (quote2 == NULL)
    return NULL;
  charset = g_strndup (value, quote1 - value);
  decoded = percent_decode (quote2 + 1, strlen (quote2 + 1));

  if (g_ascii_strcasecmp (charset, "UTF-8") == 0)
    {
      char *name = g_curl_filename_sanitize (decoded->str, decoded->len);

      g_string_free (decoded, TRUE);
      return name;
    }
  if (g_ascii_strcasecmp (charset, "ISO-8859-1") == 0)
    {
      g_autofree char *utf8 = g_convert (decoded->str, decoded->len, "UTF-8", "ISO-8859-1",
                                         NULL, NULL, NULL);

      g_string_free (decoded, TRUE);
      return utf8 != NULL ? g_curl_filename_sanitize (utf8, -1) : NULL;
    }

  g_string_free (decoded, TRUE);
  return NULL;
}

/* A plain filename: UTF-8 as most servers send it, else ISO-8859-1 as
 * RFC 6266 says. */
static char *
decode_plain_value (const GString *value)
{
  g_autofree char *latin1 = NULL;

  if (g_utf8_validate_len (value->str, value->len, NULL))
    return g_curl_filename_sanitize (value->str, value->len);

  latin1 = g_convert (value->str, value->len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
  return g_curl_filename_sanitize (latin1 != NULL ? latin1 : value->str,
                                   latin1 != NULL ? -1 : (gssize) value->len);
}

static const char *
skip_space (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* Reads a parameter value at @p: a quoted-string (unescaped) or a token
 * (anything up to the next ';', trimmed: servers put spaces in them).
 * Returns where it ends. */
static const char *
read_value (const char *p,
            GString    *value)
{
  g_string_truncate (value, 0);

  if (*p == '"')
    {
      for (p++; *p != '\0' && *p != '"'; p++)
        {
          if (*p == '\\' && p[1] != '\0')
            p++;
          g_string_append_c (value, *p);
        }
      return *p == '"' ? p + 1 : p;
    }

  while (*p != '\0' && *p != ';')
    g_string_append_c (value, *p++);
  while (value->len > 0 && (value->str[value->len - 1] == ' ' ||
                            value->str[value->len - 1] == '\t'))
    g_string_truncate (value, value->len - 1);

  return p;
}

/**
 * g_curl_filename_from_content_disposition:
 * @value: (nullable): a Content-Disposition header value
 *
 * The name @value gives, made safe: its `filename*` if there is one this
 * understands, else its `filename`. Any disposition type will do
 * (`attachment`, `inline`, and unknown ones, which RFC 6266 says to treat
 * as `attachment`); parameter names are case-insensitive, the first of
 * each counts.
 *
 * Returns: (transfer full) (nullable): the name, or %NULL if it gives none
 */
char *
g_curl_filename_from_content_disposition (const char *value)
{
  g_autoptr(GString) param = g_string_new (NULL);
  g_autoptr(GString) param_value = g_string_new (NULL);
  g_autofree char *extended = NULL;
  g_autofree char *plain = NULL;
  gboolean seen_extended = FALSE, seen_plain = FALSE;
  const char *p;

  if (value == NULL)
    return NULL;

  /* The disposition type. */
  p = strchr (value, ';');
  while (p != NULL && *p == ';')
    {
      p = skip_space (p + 1);
      g_string_truncate (param, 0);
      while (*p != '\0' && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
        g_string_append_c (param, g_ascii_tolower (*p++));
      p = skip_space (p);
      if (*p != '=')
        continue;
      p = read_value (skip_space (p + 1), param_value);

      if (g_str_equal (param->str, "filename*") && !seen_extended)
        {
          seen_extended = TRUE;
          extended = decode_ext_value (param_value->str);
        }
      else if (g_str_equal (param->str, "filename") && !seen_plain)
        {
          seen_plain = TRUE;
          plain = decode_plain_value (param_value);
        }

      p = skip_space (p);
      if (*p != ';')
        p = strchr (p, ';');
    }

  return extended != NULL ? g_steal_pointer (&extended) : g_steal_pointer (&plain);
}

/**
 * g_curl_filename_from_url:
 * @url: (nullable): a URL
 *
 * The name the last segment of @url's path gives, percent-decoded and
 * made safe.
 *
 * Returns: (transfer full) (nullable): the name, or %NULL if the path
 *   ends with '/' or gives no name
 */
char *
g_curl_filename_from_url (const char *url)
{
  g_autofree char *path = NULL;
  g_autoptr(GString) decoded = NULL;
  const char *segment;

  if (url == NULL ||
      !g_uri_split (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL, NULL, NULL, NULL, &path, NULL, NULL, NULL) ||
      path == NULL)
    return NULL;

  segment = strrchr (path, '/');
  segment = segment != NULL ? segment + 1 : path;
  decoded = percent_decode (segment, strlen (segment));

  return g_curl_filename_sanitize (decoded->str, decoded->len);
}

/**
 * g_curl_filename_choose:
 * @content_disposition: (nullable): the final response's Content-Disposition
 * @url: (nullable): the final URL, after redirects
 *
 * The name a download to a folder gives its file, before any number is
 * added to it (see g_curl_filename_numbered()).
 *
 * Returns: (transfer full): the name, never %NULL
 */
char *
g_curl_filename_choose (const char *content_disposition,
                        const char *url)
{
  char *name = g_curl_filename_from_content_disposition (content_disposition);

  if (name == NULL)
    name = g_curl_filename_from_url (url);
  if (name == NULL)
    name = g_strdup (GCURL_FILENAME_FALLBACK);

  return name;
}
