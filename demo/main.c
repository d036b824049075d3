/* main.c: the downloader's entry point
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Environment, for tests: GCURL_DEMO_AUTOTEST=1 makes the app non-unique,
 * prints a line per download that ends and quits once none is left to run;
 * GCURL_DEMO_SCREENSHOT=FILE.png then saves the window while downloads run.
 */

#include "dl-config.h"

#include <locale.h>
#include <glib/gi18n.h>

#include "dl-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(DlApplication) application = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  GSettingsSchemaSource *source;
  gboolean autotest = g_strcmp0 (g_getenv ("GCURL_DEMO_AUTOTEST"), "1") == 0;

  /* An application chooses its language and its default domain; the
   * library binds its own domain (the same one) itself. */
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Downloader"));

  /* g_settings_new() would abort with a cryptic message. */
  source = g_settings_schema_source_get_default ();
  schema = source != NULL ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  if (schema == NULL)
    {
      g_printerr (_("The settings schema %s is not installed. Install the app, or run it "
                    "from the build directory with GSETTINGS_SCHEMA_DIR set to the "
                    "folder of the compiled schema (./run-demo does this).\n"), APP_ID);
      return EXIT_FAILURE;
    }

  application = dl_application_new (autotest, g_getenv ("GCURL_DEMO_SCREENSHOT"));
  return g_application_run (G_APPLICATION (application), argc, argv);
}
