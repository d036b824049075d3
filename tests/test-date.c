/* test-date.c: HTTP dates, read and written
 *
 * g_curl_date_time_new_from_http_string() and
 * g_curl_date_time_to_http_string() (libgcurlmulti/gcurl-date.c) are pure:
 * these tables prove them without a server, in the C locale and in a German
 * one, whose day and month names an HTTP date must never take.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <locale.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "gcurlmulti.h"

/* RFC 9110 5.6.7's example, 1994-11-06 08:49:37 GMT. */
#define EXAMPLE_UNIX 784111777

typedef struct
{
  const char *text;
  gint64      unix_time;   /* -1: not a date */
} ParseCase;

static const ParseCase parse_cases[] = {
  /* The three forms a recipient must accept. */
  { "Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_UNIX },
  { "Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE_UNIX },
  { "Sun Nov  6 08:49:37 1994", EXAMPLE_UNIX },
  /* What curl_getdate() tolerates besides: a numeric zone, no zone (GMT). */
  { "Sun, 06 Nov 1994 10:49:37 +0200", EXAMPLE_UNIX },
  { "Sun, 06 Nov 1994 08:49:37", EXAMPLE_UNIX },
  /* Far from 1994: before the epoch, after 2038, the last GDateTime day. */
  { "Thu, 01 Jan 1960 00:00:00 GMT", -315619200 },
  { "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
  { "Fri, 01 Jan 2100 00:00:00 GMT", G_GINT64_CONSTANT (4102444800) },
  { "Fri, 31 Dec 9999 23:59:59 GMT", G_GINT64_CONSTANT (253402300799) },
  /* Not dates. */
  { "", -1 },
  { "yesterday at noon", -1 },
  { "Sun, 32 Nov 1994 08:49:37 GMT", -1 },
  { "Sun, 06 Nov 1994 25:49:37 GMT", -1 },
};

/* Every HTTP date form gives its exact instant in UTC, and what is not a date gives NULL. */
static void
test_parse (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      const ParseCase *c = &parse_cases[i];
      g_autoptr(GDateTime) parsed = g_curl_date_time_new_from_http_string (c->text);

      g_test_message ("\"%s\"", c->text);
      if (c->unix_time == -1)
        {
          g_assert_null (parsed);
          continue;
        }

      g_assert_nonnull (parsed);
      g_assert_cmpint (g_date_time_to_unix (parsed), ==, c->unix_time);
      g_assert_cmpint (g_date_time_get_utc_offset (parsed), ==, 0);
    }
}

typedef struct
{
  int         year, month, day, hour, minute;
  double      seconds;
  const char *zone;        /* a GTimeZone identifier */
  const char *expected;
} FormatCase;

static const FormatCase format_cases[] = {
  { 1994, 11, 6, 8, 49, 37, "UTC", "Sun, 06 Nov 1994 08:49:37 GMT" },
  /* Another zone is written in GMT, a fraction of a second dropped. */
  { 1994, 11, 6, 10, 49, 37.75, "+02:00", "Sun, 06 Nov 1994 08:49:37 GMT" },
  /* Across a day, a month and a year boundary into GMT. */
  { 2000, 1, 1, 0, 30, 0, "+01:00", "Fri, 31 Dec 1999 23:30:00 GMT" },
  /* Every day and month name, and a year of four digits. */
  { 2024, 2, 29, 12, 0, 0, "UTC", "Thu, 29 Feb 2024 12:00:00 GMT" },
  { 2023, 4, 3, 1, 2, 3, "UTC", "Mon, 03 Apr 2023 01:02:03 GMT" },
  { 2023, 5, 9, 0, 0, 0, "UTC", "Tue, 09 May 2023 00:00:00 GMT" },
  { 2023, 6, 14, 0, 0, 0, "UTC", "Wed, 14 Jun 2023 00:00:00 GMT" },
  { 2023, 7, 21, 0, 0, 0, "UTC", "Fri, 21 Jul 2023 00:00:00 GMT" },
  { 2023, 8, 26, 0, 0, 0, "UTC", "Sat, 26 Aug 2023 00:00:00 GMT" },
  { 2023, 9, 1, 0, 0, 0, "UTC", "Fri, 01 Sep 2023 00:00:00 GMT" },
  { 2023, 10, 1, 0, 0, 0, "UTC", "Sun, 01 Oct 2023 00:00:00 GMT" },
  { 2023, 3, 1, 0, 0, 0, "UTC", "Wed, 01 Mar 2023 00:00:00 GMT" },
  { 2023, 1, 1, 0, 0, 0, "UTC", "Sun, 01 Jan 2023 00:00:00 GMT" },
  { 1, 1, 1, 0, 0, 0, "UTC", "Mon, 01 Jan 0001 00:00:00 GMT" },
};

static void
check_format_cases (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_cases); i++)
    {
      const FormatCase *c = &format_cases[i];
      g_autoptr(GTimeZone) zone = g_time_zone_new_identifier (c->zone);
      g_autoptr(GDateTime) datetime = NULL;
      g_autoptr(GDateTime) back = NULL;
      g_autofree char *text = NULL;

      g_assert_nonnull (zone);
      datetime = g_date_time_new (zone, c->year, c->month, c->day, c->hour, c->minute,
                                  c->seconds);
      text = g_curl_date_time_to_http_string (datetime);
      g_assert_cmpstr (text, ==, c->expected);

      /* What is written reads back as the same second; but curl_getdate()
       * takes any year below 100 for a two-digit one (0001 is 2001). */
      if (c->year < 100)
        continue;
      back = g_curl_date_time_new_from_http_string (text);
      g_assert_nonnull (back);
      g_assert_cmpint (g_date_time_to_unix (back), ==, g_date_time_to_unix (datetime));
    }
}

/* A date is written as an IMF-fixdate in GMT, English names, whole seconds, and reads back. */
static void
test_format (void)
{
  check_format_cases ();
}

/* A date a few hours inside year 1 of another zone is before year 1 in GMT: NULL, not a lie. */
static void
test_format_out_of_range (void)
{
  g_autoptr(GTimeZone) zone = g_time_zone_new_identifier ("-05:00");
  g_autoptr(GDateTime) late = g_date_time_new (zone, 9999, 12, 31, 22, 0, 0);
  g_autoptr(GTimeZone) east = g_time_zone_new_identifier ("+05:00");
  g_autoptr(GDateTime) early = g_date_time_new (east, 1, 1, 1, 1, 0, 0);
  g_autofree char *late_text = NULL;
  g_autofree char *early_text = NULL;

  g_assert_nonnull (late);
  g_assert_nonnull (early);
  late_text = g_curl_date_time_to_http_string (late);
  early_text = g_curl_date_time_to_http_string (early);
  g_assert_null (late_text);
  g_assert_null (early_text);
}

/* Under a German LC_ALL ("So", "Mär"), dates are still written and read in English. */
static void
test_german_locale (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *localedef = g_find_program_in_path ("localedef");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) parsed = NULL;
  g_autofree char *german = NULL;
  char *argv[] = { NULL, "-i", "de_DE", "-f", "UTF-8", NULL, NULL };
  int wait_status;

  if (localedef == NULL || !g_file_test ("/usr/share/i18n/locales/de_DE", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no localedef or no de_DE locale source (Debian package locales)");
      return;
    }

  /* A locale of the test's own, in a temporary folder (LOCPATH): the
   * machine need not have generated de_DE. */
  dir = g_dir_make_tmp ("gcurl-date-XXXXXX", &error);
  g_assert_no_error (error);
  argv[0] = localedef;
  argv[5] = g_build_filename (dir, "de_DE.UTF-8", NULL);
  g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  g_setenv ("LOCPATH", dir, TRUE);
  g_assert_nonnull (setlocale (LC_ALL, "de_DE.UTF-8"));

  /* The locale is in force: GLib's own %a is German. */
  {
    g_autoptr(GDateTime) sunday = g_date_time_new_utc (1994, 11, 6, 8, 49, 37);
    german = g_date_time_format (sunday, "%a");
  }
  g_assert_cmpstr (german, ==, "So");

  check_format_cases ();
  parsed = g_curl_date_time_new_from_http_string ("Sun, 06 Nov 1994 08:49:37 GMT");
  g_assert_nonnull (parsed);
  g_assert_cmpint (g_date_time_to_unix (parsed), ==, EXAMPLE_UNIX);

  setlocale (LC_ALL, "C");
  g_unsetenv ("LOCPATH");
  g_remove (argv[5]);
  g_free (argv[5]);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/date/parse", test_parse);
  g_test_add_func ("/date/format", test_format);
  g_test_add_func ("/date/format-out-of-range", test_format_out_of_range);
  g_test_add_func ("/date/german-locale", test_german_locale);

  return g_test_run ();
}
