/* test-headers.c: header names, values, lists and Content-Range, from tables
 *
 * The pure part of libgcurlmulti/gcurl-headers.c, no server: what the
 * library accepts as a header name or value (and so never sends), how a
 * request header list replaces and leaves out names, and how a
 * Content-Range is read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "gcurl-headers-private.h"

/* g_curl_header_name_is_valid() takes RFC 9110 tokens only: not NULL, empty, spaces or separators.
 * Names are RFC 9110 tokens: anything else (spaces, separators, control
 * characters, non-ASCII, empty) is refused. */
static void
test_names (void)
{
  const struct { const char *name; gboolean valid; } cases[] = {
    { "Accept", TRUE }, { "X-Api-Key", TRUE }, { "x_y.z~1!#$%&'*+^`|", TRUE },
    { "", FALSE }, { "Authorization ", FALSE }, { " Authorization", FALSE },
    { "Authorization\t", FALSE }, { "A:B", FALSE }, { "A(B)", FALSE },
    { "A\"B", FALSE }, { "A/B", FALSE }, { "A\r\nB", FALSE }, { "\xc3\xa9", FALSE },
    { "A,B", FALSE }, { "A;B", FALSE }, { "A=B", FALSE }, { "{A}", FALSE },
  };
  guint i;

  g_assert_false (g_curl_header_name_is_valid (NULL));
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("name \"%s\"", cases[i].name);
      g_assert_cmpint (g_curl_header_name_is_valid (cases[i].name), ==, cases[i].valid);
    }
}

/* g_curl_header_value_is_valid() refuses CR and LF only: empty, tabs and UTF-8 are valid.
 * Values may be anything but a line break, which would start a header of
 * its own. */
static void
test_values (void)
{
  const struct { const char *value; gboolean valid; } cases[] = {
    { "", TRUE }, { "text/plain; charset=utf-8", TRUE }, { "  padded  ", TRUE },
    { "\xc3\xa9t\xc3\xa9", TRUE }, { "a\tb", TRUE },
    { "a\r\nX-Injected: yes", FALSE }, { "a\nb", FALSE }, { "a\rb", FALSE },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (g_curl_header_value_is_valid (cases[i].value), ==, cases[i].valid);
}

/* A validator (ETag, HTTP date) has no control character at all, tab and DEL included; NULL is none.
 * g_curl_header_validator_sanitize() frees and clears one that has, and
 * says so; it leaves a good one, and NULL, as they are. */
static void
test_validators (void)
{
  const struct { const char *value; gboolean valid; } cases[] = {
    { NULL, TRUE }, { "", TRUE }, { "\"v1\"", TRUE }, { "W/\"v1\"", TRUE },
    { "Sun, 06 Nov 1994 08:49:37 GMT", TRUE }, { "\"\xc3\xa9\"", TRUE },
    { "\"v1\r\"", FALSE }, { "\"v1\n\"", FALSE }, { "\"v1\t\"", FALSE },
    { "\"v1\x01\"", FALSE }, { "\"v1\x7f\"", FALSE }, { "\x1b[2J", FALSE },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *copy = g_strdup (cases[i].value);
      g_autofree char *escaped = cases[i].value ? g_strescape (cases[i].value, NULL) : NULL;

      g_test_message ("validator \"%s\"", escaped ? escaped : "(null)");
      g_assert_cmpint (g_curl_header_validator_is_valid (cases[i].value), ==, cases[i].valid);
      g_assert_cmpint (g_curl_header_validator_sanitize (&copy), ==, cases[i].valid);
      if (cases[i].valid)
        g_assert_cmpstr (copy, ==, cases[i].value);
      else
        g_assert_null (copy);
    }
}

static GPtrArray *
slist_lines (struct curl_slist *slist)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (; slist != NULL; slist = slist->next)
    g_ptr_array_add (lines, g_strdup (slist->data));
  return lines;
}

/* A name set again goes last with its new value, NULL removes it, "" is "Name;", a 2nd list wins.
 * One value per name, compared without case, in the order set; NULL
 * removes; an empty value is "Name;" for libcurl; a second list replaces
 * the names it has. */
static void
test_list (void)
{
  GArray *app = NULL;
  GArray *library = NULL;
  struct curl_slist *slist;
  g_autoptr(GPtrArray) lines = NULL;

  g_curl_header_list_set (&app, "X-Removed", NULL);
  g_assert_null (app);

  g_curl_header_list_set (&app, "Accept", "text/html");
  g_curl_header_list_set (&app, "Range", "bytes=5-");
  g_curl_header_list_set (&app, "X-Empty", "");
  g_curl_header_list_set (&app, "accept", "application/json");
  g_curl_header_list_set (&app, "X-Gone", "soon");
  g_curl_header_list_set (&app, "x-gone", NULL);
  g_assert_true (g_curl_header_list_has (app, "ACCEPT"));
  g_assert_false (g_curl_header_list_has (app, "X-Gone"));
  g_assert_false (g_curl_header_list_has (NULL, "Accept"));

  g_curl_header_list_set (&library, "range", "bytes=100-");

  slist = g_curl_header_list_append_to (app, NULL, library);
  slist = g_curl_header_list_append_to (library, slist, NULL);
  lines = slist_lines (slist);
  curl_slist_free_all (slist);

  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_cmpstr (lines->pdata[0], ==, "X-Empty;");
  g_assert_cmpstr (lines->pdata[1], ==, "accept: application/json");
  g_assert_cmpstr (lines->pdata[2], ==, "range: bytes=100-");

  g_array_unref (app);
  g_array_unref (library);
}

/* g_curl_parse_content_range() reads start and total (-1 for "*"), refuses other units and forms.
 * "bytes A-B/T", "bytes A-B/ *" and "bytes * /T" (without the spaces):
 * what is absent is -1; other units and garbage are refused. */
static void
test_content_range (void)
{
  const struct {
    const char *value;
    gboolean    ok;
    gint64      start;
    gint64      total;
  } cases[] = {
    { "bytes 0-99/100", TRUE, 0, 100 },
    { "bytes 1000-199999/200000", TRUE, 1000, 200000 },
    { "BYTES 5-9/*", TRUE, 5, -1 },
    { "bytes */5000", TRUE, -1, 5000 },
    { "bytes 4294967296-4294967300/4294967301", TRUE, G_GINT64_CONSTANT (4294967296),
      G_GINT64_CONSTANT (4294967301) },
    { NULL, FALSE, -1, -1 },
    { "", FALSE, -1, -1 },
    { "items 0-9/10", FALSE, -1, -1 },
    { "bytes", FALSE, -1, -1 },
    { "bytes x-9/10", FALSE, -1, -1 },
    { "bytes 0-9", FALSE, 0, -1 },
    { "bytes 0/10", FALSE, 0, -1 },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 start = 7, total = 7;

      g_test_message ("Content-Range \"%s\"", cases[i].value ? cases[i].value : "(null)");
      g_assert_cmpint (g_curl_parse_content_range (cases[i].value, &start, &total), ==,
                       cases[i].ok);
      if (cases[i].ok)
        {
          g_assert_cmpint (start, ==, cases[i].start);
          g_assert_cmpint (total, ==, cases[i].total);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/headers/names", test_names);
  g_test_add_func ("/headers/values", test_values);
  g_test_add_func ("/headers/validators", test_validators);
  g_test_add_func ("/headers/list", test_list);
  g_test_add_func ("/headers/content-range", test_content_range);

  return g_test_run ();
}
