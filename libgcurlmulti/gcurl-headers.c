/* gcurl-headers.c: request header lists, response header lookups
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-headers-private.h"

gboolean
g_curl_header_name_is_valid (const char *name)
{
  const char *p;

  if (name == NULL || *name == '\0')
    return FALSE;

  /* RFC 9110 5.6.2 tchar */
  for (p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-.^_`|~", *p) == NULL)
      return FALSE;

  return TRUE;
}

gboolean
g_curl_header_value_is_valid (const char *value)
{
  return strpbrk (value, "\r\n") == NULL;
}

/* An ETag or HTTP date as a validator: %NULL (none), or no control
 * character at all (RFC 9110 8.8.3 etagc, 5.6.7), tab included. Stricter
 * than g_curl_header_value_is_valid(): such a value comes from a server or
 * a file on disk and is sent back in a request header. */
gboolean
g_curl_header_validator_is_valid (const char *value)
{
  const char *p;

  if (value == NULL)
    return TRUE;
  for (p = value; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      return FALSE;

  return TRUE;
}

/* Frees and clears *@value if it cannot be a validator (see
 * g_curl_header_validator_is_valid()); returns whether it could. */
gboolean
g_curl_header_validator_sanitize (char **value)
{
  if (g_curl_header_validator_is_valid (*value))
    return TRUE;

  g_clear_pointer (value, g_free);
  return FALSE;
}

static void
clear_header (gpointer data)
{
  GCurlHeader *header = data;

  g_free (header->name);
  g_free (header->value);
}

/* Sets @name to @value in *@list, replacing any earlier value of the same
 * name (compared without case); %NULL removes it. The list is made when
 * the first header is set. */
void
g_curl_header_list_set (GArray     **list,
                        const char  *name,
                        const char  *value)
{
  GCurlHeader header;
  guint i;

  if (*list == NULL)
    {
      if (value == NULL)
        return;
      *list = g_array_new (FALSE, TRUE, sizeof (GCurlHeader));
      g_array_set_clear_func (*list, clear_header);
    }

  for (i = 0; i < (*list)->len; i++)
    {
      GCurlHeader *old = &g_array_index (*list, GCurlHeader, i);

      if (g_ascii_strcasecmp (old->name, name) == 0)
        {
          g_array_remove_index (*list, i);
          break;
        }
    }

  if (value == NULL)
    return;

  header.name = g_strdup (name);
  header.value = g_strdup (value);
  g_array_append_val (*list, header);
}

/* A list of its own with the headers of @list (%NULL for %NULL). */
GArray *
g_curl_header_list_copy (GArray *list)
{
  GArray *copy = NULL;
  guint i;

  for (i = 0; list != NULL && i < list->len; i++)
    {
      GCurlHeader *header = &g_array_index (list, GCurlHeader, i);

      g_curl_header_list_set (&copy, header->name, header->value);
    }

  return copy;
}

gboolean
g_curl_header_list_has (GArray     *list,
                        const char *name)
{
  guint i;

  for (i = 0; list != NULL && i < list->len; i++)
    if (g_ascii_strcasecmp (g_array_index (list, GCurlHeader, i).name, name) == 0)
      return TRUE;

  return FALSE;
}

/* Appends the headers of @list to @slist as libcurl takes them ("Name:
 * value", or "Name;" for an empty value), leaving out those @except has
 * (they replace them). Returns the new list head. */
struct curl_slist *
g_curl_header_list_append_to (GArray            *list,
                              struct curl_slist *slist,
                              GArray            *except)
{
  guint i;

  for (i = 0; list != NULL && i < list->len; i++)
    {
      GCurlHeader *header = &g_array_index (list, GCurlHeader, i);
      g_autofree char *line = NULL;

      if (g_curl_header_list_has (except, header->name))
        continue;

      if (header->value[0] == '\0')
        line = g_strconcat (header->name, ";", NULL);
      else
        line = g_strconcat (header->name, ": ", header->value, NULL);
      slist = curl_slist_append (slist, line);
    }

  return slist;
}

/* Parses "bytes A-B/T" or "bytes * /T" (without the space); -1 for what
 * is absent. */
gboolean
g_curl_parse_content_range (const char *value,
                            gint64     *start,
                            gint64     *total)
{
  const char *p;
  char *end;

  *start = *total = -1;
  if (value == NULL || g_ascii_strncasecmp (value, "bytes ", 6) != 0)
    return FALSE;

  p = value + 6;
  if (*p == '*')
    p++;
  else
    {
      *start = g_ascii_strtoll (p, &end, 10);
      if (end == p || *end != '-')
        return FALSE;
      p = strchr (end, '/');
      if (p == NULL)
        return FALSE;
    }
  if (*p != '/')
    return FALSE;
  if (p[1] != '*')
    *total = g_ascii_strtoll (p + 1, NULL, 10);

  return TRUE;
}

static guint
ascii_case_hash (gconstpointer key)
{
  const char *p;
  guint h = 5381;

  for (p = key; *p != '\0'; p++)
    h = (h << 5) + h + (guint) g_ascii_tolower (*p);

  return h;
}

static gboolean
ascii_case_equal (gconstpointer a,
                  gconstpointer b)
{
  return g_ascii_strcasecmp (a, b) == 0;
}

/* Looks up a header of the response being received on @handle. libcurl
 * keeps every header line anyway (and unfolds obsolete folded ones), so
 * nothing is copied while headers arrive: a value is only made, and kept
 * for the next lookup, when someone asks for that name. Repeated headers
 * become one comma-separated list (RFC 9110 5.3). The headers of a proxy's
 * CONNECT reply are another origin's (CURLH_CONNECT), never seen here. */
const char *
g_curl_response_headers_lookup (GCurlResponseHeaders *headers,
                                CURL                 *handle,
                                const char           *name)
{
  struct curl_header *header = NULL;
  gpointer cached;
  char *value = NULL;

  if (headers->cache != NULL &&
      g_hash_table_lookup_extended (headers->cache, name, NULL, &cached))
    return cached;

  if (curl_easy_header (handle, name, 0, CURLH_HEADER, -1, &header) == CURLHE_OK)
    {
      size_t amount = header->amount;
      size_t i;

      if (amount <= 1)
        value = g_strdup (header->value);
      else
        {
          GString *joined = g_string_new (header->value);

          for (i = 1; i < amount; i++)
            if (curl_easy_header (handle, name, i, CURLH_HEADER, -1, &header) == CURLHE_OK)
              {
                g_string_append (joined, ", ");
                g_string_append (joined, header->value);
              }
          value = g_string_free (joined, FALSE);
        }
    }

  if (headers->cache == NULL)
    headers->cache = g_hash_table_new_full (ascii_case_hash, ascii_case_equal, g_free, g_free);
  g_hash_table_insert (headers->cache, g_strdup (name), value);

  return value;
}

/* Forgets the looked-up values: a new response is coming. */
void
g_curl_response_headers_clear (GCurlResponseHeaders *headers)
{
  g_clear_pointer (&headers->cache, g_hash_table_unref);
}

/* Every value of the header @name of the response on @handle, in the
 * order they came, each as it was sent (not joined): a Set-Cookie with an
 * Expires date has a comma of its own. %NULL if there is none. */
char **
g_curl_response_headers_values (CURL       *handle,
                                const char *name)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  struct curl_header *header = NULL;
  size_t amount, i;

  if (curl_easy_header (handle, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK)
    return NULL;

  builder = g_strv_builder_new ();
  amount = header->amount;
  g_strv_builder_add (builder, header->value);
  for (i = 1; i < amount; i++)
    if (curl_easy_header (handle, name, i, CURLH_HEADER, -1, &header) == CURLHE_OK)
      g_strv_builder_add (builder, header->value);

  return g_strv_builder_end (builder);
}

/* The names of the headers of the response on @handle, in the order they
 * first came, each once (compared without case), as the server spelled it
 * first. */
char **
g_curl_response_headers_names (CURL *handle)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (ascii_case_hash, ascii_case_equal,
                                                      g_free, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  struct curl_header *header = NULL;

  while ((header = curl_easy_nextheader (handle, CURLH_HEADER, -1, header)) != NULL)
    if (!g_hash_table_contains (seen, header->name))
      {
        g_hash_table_add (seen, g_strdup (header->name));
        g_strv_builder_add (builder, header->name);
      }

  return g_strv_builder_end (builder);
}
