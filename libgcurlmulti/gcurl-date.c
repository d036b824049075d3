/* gcurl-date.c: HTTP dates
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <curl/curl.h>

#include "gcurl-date.h"

/* RFC 9110 5.6.7: the names are English whatever the locale, which
 * g_date_time_format()'s %a and %b are not. */
static const char day_names[7][4] = {
  "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};
static const char month_names[12][4] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/**
 * g_curl_date_time_to_http_string:
 * @datetime: a date and time, in any time zone
 *
 * Formats @datetime as HTTP wants it in `If-Modified-Since`,
 * `If-Unmodified-Since`, `Last-Modified` or `Date`: the IMF-fixdate of
 * RFC 9110 section 5.6.7, in GMT and with English names whatever the
 * locale, such as `Sun, 06 Nov 1994 08:49:37 GMT`. Fractions of a second
 * are dropped.
 *
 * Returns: (transfer full) (nullable): the date as a string, or %NULL if
 *   in GMT it falls outside the years 1 to 9999 that #GDateTime can hold
 *
 * Since: 0.1
 */
char *
g_curl_date_time_to_http_string (GDateTime *datetime)
{
  g_autoptr(GDateTime) utc = NULL;

  g_return_val_if_fail (datetime != NULL, NULL);

  /* Fails only outside the years 1 to 9999, which a GDateTime of another
   * zone can be a few hours away from. */
  utc = g_date_time_to_utc (datetime);
  if (utc == NULL)
    return NULL;

  return g_strdup_printf ("%s, %02d %s %04d %02d:%02d:%02d GMT",
                          day_names[g_date_time_get_day_of_week (utc) - 1],
                          g_date_time_get_day_of_month (utc),
                          month_names[g_date_time_get_month (utc) - 1],
                          g_date_time_get_year (utc),
                          g_date_time_get_hour (utc),
                          g_date_time_get_minute (utc),
                          g_date_time_get_second (utc));
}

/**
 * g_curl_date_time_new_from_http_string:
 * @date: an HTTP date, as a server sends it in `Last-Modified`, `Date`,
 *   `Expires` or `Retry-After`
 *
 * Parses an HTTP date in any of the three forms RFC 9110 section 5.6.7
 * says a recipient must accept: the IMF-fixdate `Sun, 06 Nov 1994 08:49:37
 * GMT`, the obsolete RFC 850 form `Sunday, 06-Nov-94 08:49:37 GMT` and
 * C's asctime() form `Sun Nov  6 08:49:37 1994`. libcurl's curl_getdate()
 * does the parsing, so the variants it tolerates (a numeric zone such as
 * `+0200`, a missing day name) are read too.
 *
 * Two limits come from curl_getdate(): the one second before the Unix
 * epoch, 1969-12-31 23:59:59 GMT, cannot be told from a failure and gives
 * %NULL, and a year below 100 is read as a two-digit one (`0001` as 2001,
 * `94` as 1994).
 *
 * Returns: (transfer full) (nullable): the date in UTC, or %NULL if @date
 *   is not a date
 *
 * Since: 0.1
 */
GDateTime *
g_curl_date_time_new_from_http_string (const char *date)
{
  time_t t;

  g_return_val_if_fail (date != NULL, NULL);

  t = curl_getdate (date, NULL);
  if (t == -1)
    return NULL;

  return g_date_time_new_from_unix_utc ((gint64) t);
}
