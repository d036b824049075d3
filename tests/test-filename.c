/* test-filename.c: a downloaded file's name in a folder, from tables
 *
 * libgcurlmulti/gcurl-filename.c is pure: a Content-Disposition and a
 * URL in, a name out. These tables are the policy: what RFC 6266 and
 * RFC 8187 say the name is, and what a hostile name becomes (never a
 * path, never hidden, valid UTF-8, at most GCURL_FILENAME_MAX bytes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib.h>

#include "gcurl-filename-private.h"

/* The case, with its bytes that are not UTF-8 escaped: TAP output must be
 * valid UTF-8, or meson calls the line unknown. */
static void
test_message_escaped (const char *value)
{
  g_autofree char *escaped = g_strescape (value, NULL);

  g_test_message ("%s", escaped);
}

typedef struct
{
  const char *value;
  const char *name;     /* NULL: none */
} Case;

static void
assert_safe (const char *name)
{
  g_assert_nonnull (name);
  g_assert_true (g_utf8_validate (name, -1, NULL));
  g_assert_cmpuint (strlen (name), >, 0);
  g_assert_cmpuint (strlen (name), <=, GCURL_FILENAME_MAX);
  g_assert_null (strchr (name, '/'));
  g_assert_null (strchr (name, '\\'));
  g_assert_cmpint (name[0], !=, '.');
  g_assert_cmpint (name[0], !=, ' ');
  for (const char *p = name; *p != '\0'; p++)
    g_assert_cmpint ((guchar) *p, >=, 0x20);
}

static void
test_content_disposition (void)
{
  const Case cases[] = {
    { "attachment; filename=\"report.pdf\"", "report.pdf" },
    { "inline; filename=\"report.pdf\"", "report.pdf" },
    { "attachment; filename=plain.txt", "plain.txt" },
    { "attachment;filename=tight.txt", "tight.txt" },
    { "ATTACHMENT; FILENAME=\"upper.txt\"", "upper.txt" },
    { "attachment; FileName*=UTF-8''mixed.txt", "mixed.txt" },
    /* filename* wins, wherever it is */
    { "attachment; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
      "€ rates.txt" },
    { "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"fallback.txt\"",
      "€ rates.txt" },
    { "attachment; filename*=utf-8'en'na%C3%AFve.txt", "naïve.txt" },
    { "attachment; filename*=ISO-8859-1''caf%E9.txt", "café.txt" },
    /* a charset it does not know: filename instead */
    { "attachment; filename*=KOI8-R''%F0%D2.txt; filename=\"other.txt\"", "other.txt" },
    { "attachment; filename*=broken; filename=\"other.txt\"", "other.txt" },
    /* quoted-string escapes, and ';' inside quotes */
    { "attachment; filename=\"a \\\"quoted\\\" name.txt\"", "a _quoted_ name.txt" },
    { "attachment; filename=\"semi;colon.txt\"", "semi;colon.txt" },
    { "attachment; filename=\"back\\\\slash.txt\"", "slash.txt" },
    { "attachment; filename=\"unterminated.txt", "unterminated.txt" },
    /* other parameters, spaces */
    { "attachment; size=42; filename = \"spaced.txt\" ; creation-date=\"x\"", "spaced.txt" },
    { "attachment; filename=two words.txt", "two words.txt" },
    { "attachment; filename=\"first.txt\"; filename=\"second.txt\"", "first.txt" },
    /* raw UTF-8, and ISO-8859-1 as RFC 6266 says */
    { "attachment; filename=\"r\xc3\xa9sum\xc3\xa9.txt\"", "résumé.txt" },
    { "attachment; filename=\"r\xe9sum\xe9.txt\"", "résumé.txt" },
    /* none */
    { "attachment", NULL },
    { "inline", NULL },
    { "", NULL },
    { "attachment; filename=\"\"", NULL },
    { "attachment; filename", NULL },
    { "attachment; name=\"field\"", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_curl_filename_from_content_disposition (cases[i].value);

      test_message_escaped (cases[i].value);
      g_assert_cmpstr (name, ==, cases[i].name);
    }
  g_assert_null (g_curl_filename_from_content_disposition (NULL));
}

static void
test_url (void)
{
  const Case cases[] = {
    { "http://example.com/files/archive.tar.gz", "archive.tar.gz" },
    { "http://example.com/files/archive.tar.gz?version=2#top", "archive.tar.gz" },
    { "http://example.com/a%20b%2Bc.txt", "a b+c.txt" },
    { "http://example.com/caf%C3%A9", "café" },
    { "http://example.com/..%2F..%2Fetc%2Fpasswd", "passwd" },
    { "http://example.com/evil%00.txt", "evil_.txt" },
    { "http://example.com/%2Ebashrc", "bashrc" },
    { "http://example.com/bad%zzescape", "bad%zzescape" },
    { "http://example.com/", NULL },
    { "http://example.com", NULL },
    { "http://example.com/dir/", NULL },
    { "http://example.com/..", NULL },
    { "http://example.com/%2E%2E", NULL },
    { "no scheme/relative name", "relative name" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_curl_filename_from_url (cases[i].value);

      test_message_escaped (cases[i].value);
      g_assert_cmpstr (name, ==, cases[i].name);
    }
  g_assert_null (g_curl_filename_from_url (NULL));
}

/* Every hostile name stays a visible file in the folder. */
static void
test_hostile (void)
{
  const Case cases[] = {
    { "../../x", "x" },
    { "/etc/passwd", "passwd" },
    { "..\\..\\windows\\win.ini", "win.ini" },
    { "dir/", NULL },
    { "..", NULL },
    { ".", NULL },
    { "...", NULL },
    { " . . ", NULL },
    { "   ", NULL },
    { ".bashrc", "bashrc" },
    { "..hidden", "hidden" },
    { " leading space.txt", "leading space.txt" },
    { "trailing.txt. . ", "trailing.txt" },
    { "a\x01" "b\tc\x7f" "d.txt", "a_b_c_d.txt" },
    { "line\r\nbreak.txt", "line__break.txt" },
    { "c1\xc2\x85" "control.txt", "c1_control.txt" },
    { "invoice\xe2\x80\xaetxt.exe", "invoice_txt.exe" },       /* RIGHT-TO-LEFT OVERRIDE */
    { "a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt" },
    { "bad\xff\xfeutf8.txt", "bad\xef\xbf\xbd\xef\xbf\xbdutf8.txt" },
    { "\xc3", "\xef\xbf\xbd" },
    /* characters whose low byte is a reserved one stay: U+013C, U+023F */
    { "\xc4\xbc\xc8\xbf.txt", "\xc4\xbc\xc8\xbf.txt" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_curl_filename_sanitize (cases[i].value, -1);

      test_message_escaped (cases[i].value);
      g_assert_cmpstr (name, ==, cases[i].name);
      if (name != NULL)
        assert_safe (name);
    }
}

static void
test_nul (void)
{
  const char raw[] = "evil\0.txt";
  g_autofree char *name = g_curl_filename_sanitize (raw, sizeof raw - 1);

  g_assert_cmpstr (name, ==, "evil_.txt");
}

static void
test_long (void)
{
  g_autofree char *ascii = g_strnfill (300, 'a');
  g_autofree char *ascii_ext = g_strconcat (ascii, ".tar.gz", NULL);
  g_autoptr(GString) euro = g_string_new (NULL);
  g_autofree char *name = NULL;
  g_autofree char *numbered = NULL;

  name = g_curl_filename_sanitize (ascii, -1);
  assert_safe (name);
  g_assert_cmpuint (strlen (name), ==, GCURL_FILENAME_MAX);
  g_clear_pointer (&name, g_free);

  name = g_curl_filename_sanitize (ascii_ext, -1);
  assert_safe (name);
  g_assert_cmpuint (strlen (name), ==, GCURL_FILENAME_MAX);
  g_assert_true (g_str_has_suffix (name, "aaa.tar.gz"));
  numbered = g_curl_filename_numbered (name, 12);
  assert_safe (numbered);
  g_assert_cmpuint (strlen (numbered), ==, GCURL_FILENAME_MAX);
  g_assert_true (g_str_has_suffix (numbered, "aaa (12).tar.gz"));
  g_clear_pointer (&name, g_free);

  /* 3-byte characters: cut on a boundary, never inside one */
  for (guint i = 0; i < 100; i++)
    g_string_append (euro, "€");
  g_string_append (euro, ".pdf");
  name = g_curl_filename_sanitize (euro->str, -1);
  assert_safe (name);
  g_assert_cmpuint (strlen (name), ==, 78 * 3 + 4);   /* 235 bytes of room */
  g_assert_true (g_str_has_suffix (name, "€€.pdf"));

  /* an "extension" too long to be one is cut with the rest */
  {
    g_autofree char *long_ext = g_strconcat ("x.", ascii, NULL);
    g_autofree char *cut = g_curl_filename_sanitize (long_ext, -1);

    assert_safe (cut);
    g_assert_true (g_str_has_prefix (cut, "x.aaa"));
    g_assert_cmpuint (strlen (cut), ==, GCURL_FILENAME_MAX);
  }
}

static void
test_numbered (void)
{
  const struct { const char *name; guint n; const char *numbered; } cases[] = {
    { "report.pdf", 0, "report.pdf" },
    { "report.pdf", 1, "report (1).pdf" },
    { "report.pdf", 2, "report (2).pdf" },
    { "archive.tar.gz", 1, "archive (1).tar.gz" },
    { "README", 3, "README (3)" },
    { "index.html", 10, "index (10).html" },
    { "name.with spaces", 1, "name.with spaces (1)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *numbered = g_curl_filename_numbered (cases[i].name, cases[i].n);

      g_assert_cmpstr (numbered, ==, cases[i].numbered);
    }
}

static void
test_choose (void)
{
  const struct { const char *cd; const char *url; const char *name; } cases[] = {
    { "attachment; filename=\"cd.txt\"", "http://h/url.txt", "cd.txt" },
    { NULL, "http://h/url.txt", "url.txt" },
    { "attachment", "http://h/url.txt", "url.txt" },
    { "attachment; filename=\"..\"", "http://h/url.txt", "url.txt" },
    { "attachment; filename=\"../../\"", "http://h/", GCURL_FILENAME_FALLBACK },
    { NULL, "http://h/", GCURL_FILENAME_FALLBACK },
    { NULL, NULL, GCURL_FILENAME_FALLBACK },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_curl_filename_choose (cases[i].cd, cases[i].url);

      g_assert_cmpstr (name, ==, cases[i].name);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/filename/content-disposition", test_content_disposition);
  g_test_add_func ("/filename/url", test_url);
  g_test_add_func ("/filename/hostile", test_hostile);
  g_test_add_func ("/filename/hostile/nul", test_nul);
  g_test_add_func ("/filename/hostile/long", test_long);
  g_test_add_func ("/filename/numbered", test_numbered);
  g_test_add_func ("/filename/choose", test_choose);

  return g_test_run ();
}
