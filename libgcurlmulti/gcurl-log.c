/* gcurl-log.c: a transfer's traffic, as lines for the log
 *
 * What libcurl's debug callback sees (CURLOPT_DEBUGFUNCTION), cut into
 * lines, filtered by the log level and with credentials redacted: pure,
 * tested from tables in tests/test-log.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-log-private.h"

/* How much of a chunk of body G_CURL_LOG_BODY shows. */
#define BODY_SHOWN 256

/* Headers whose values are credentials: never in the log. */
static const char * const redacted_names[] = {
  "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
};

void
g_curl_log_init (GCurlLog *log)
{
  log->level = G_CURL_LOG_NONE;
  log->lines = NULL;
}

void
g_curl_log_clear (GCurlLog *log)
{
  g_clear_pointer (&log->lines, g_ptr_array_unref);
}

void
g_curl_log_add (GCurlLog *log,
                char     *line)
{
  if (log->lines == NULL)
    log->lines = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (log->lines, line);
}

/* The lines queued so far, for the caller to emit and free. */
GPtrArray *
g_curl_log_steal_lines (GCurlLog *log)
{
  return g_steal_pointer (&log->lines);
}

/* "Name: value" with the value of a credential header replaced; any other
 * line as it is. */
char *
g_curl_log_redact (const char *header_line)
{
  const char *colon = strchr (header_line, ':');

  if (colon != NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (redacted_names); i++)
      if ((gsize) (colon - header_line) == strlen (redacted_names[i]) &&
          g_ascii_strncasecmp (header_line, redacted_names[i], colon - header_line) == 0)
        return g_strdup_printf ("%.*s: [redacted]", (int) (colon - header_line), header_line);

  return g_strdup (header_line);
}

/* GCURL_DEBUG's value: "minimal", "headers" or "body"; anything else
 * (unset, empty) is none. */
GCurlLogLevel
g_curl_log_level_from_string (const char *value)
{
  if (value == NULL)
    return G_CURL_LOG_NONE;
  if (g_ascii_strcasecmp (value, "minimal") == 0)
    return G_CURL_LOG_MINIMAL;
  if (g_ascii_strcasecmp (value, "headers") == 0)
    return G_CURL_LOG_HEADERS;
  if (g_ascii_strcasecmp (value, "body") == 0)
    return G_CURL_LOG_BODY;
  return G_CURL_LOG_NONE;
}

/* One header line, without its CR LF; the first of a request or response
 * block (its request or status line) is at @first. */
static void
record_header_line (GCurlLog   *log,
                    const char *prefix,
                    const char *line,
                    gsize       len,
                    gboolean    first)
{
  g_autofree char *text = NULL;
  g_autofree char *shown = NULL;

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
    len--;
  if (len == 0)
    return;
  if (!first && log->level < G_CURL_LOG_HEADERS)
    return;

  text = g_utf8_make_valid (line, len);
  shown = first ? g_steal_pointer (&text) : g_curl_log_redact (text);
  g_curl_log_add (log, g_strconcat (prefix, shown, NULL));
}

static void
record_body (GCurlLog   *log,
             const char *prefix,
             const char *data,
             size_t      size)
{
  g_autofree char *start = g_strndup (data, MIN (size, BODY_SHOWN));
  g_autofree char *escaped = g_strescape (start, NULL);

  g_curl_log_add (log, g_strdup_printf ("%s%" G_GSIZE_FORMAT " bytes: \"%s\"%s", prefix, size,
                                        escaped, size > BODY_SHOWN ? "…" : ""));
}

/* What libcurl's debug callback got, filtered by the level. Request
 * headers come as one block, response headers one line at a time. */
void
g_curl_log_record (GCurlLog      *log,
                   curl_infotype  type,
                   const char    *data,
                   size_t         size)
{
  switch (type)
    {
    case CURLINFO_HEADER_OUT:
      {
        const char *p = data, *end = data + size;
        gboolean first = TRUE;

        while (p < end)
          {
            const char *eol = memchr (p, '\n', end - p);
            const char *next = eol != NULL ? eol + 1 : end;

            record_header_line (log, "> ", p, next - p, first);
            first = FALSE;
            p = next;
          }
      }
      break;
    case CURLINFO_HEADER_IN:
      record_header_line (log, "< ", data, size, size >= 5 && memcmp (data, "HTTP/", 5) == 0);
      break;
    case CURLINFO_TEXT:
      if (log->level >= G_CURL_LOG_HEADERS)
        {
          g_autofree char *text = NULL;

          while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
          text = g_utf8_make_valid (data, size);
          g_curl_log_add (log, g_strconcat ("* ", text, NULL));
        }
      break;
    case CURLINFO_DATA_IN:
      if (log->level >= G_CURL_LOG_BODY)
        record_body (log, "< body ", data, size);
      break;
    case CURLINFO_DATA_OUT:
      if (log->level >= G_CURL_LOG_BODY)
        record_body (log, "> body ", data, size);
      break;
    case CURLINFO_SSL_DATA_IN:
    case CURLINFO_SSL_DATA_OUT:
    case CURLINFO_END:
    default:
      break;
    }
}
