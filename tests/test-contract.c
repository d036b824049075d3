/* test-contract.c: builds contract/contract.c against the uninstalled
 * gcurlmulti-1.pc, as an application would, and runs it against the test
 * server.
 *
 * Installed (built with TEST_INSTALLED, see installed/meson.build) there
 * is no build tree: it builds contract.c, installed next to it, against
 * the installed gcurlmulti-1.pc, and skips when pkg-config does not find
 * that one (the tests package does not need the development files) or
 * when there is no C compiler.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

/* contract.c compiles with -Werror against the uninstalled .pc (installed:
 * the installed one) and passes all its checks. */
static void
test_contract_program (void)
{
  const char *pc_dir = g_getenv ("GCURL_UNINSTALLED_PC_DIR");
  const char *lib_dir = g_getenv ("GCURL_LIB_DIR");
  const char *cflags = g_getenv ("GCURL_EXTRA_CFLAGS");
  g_autofree char *tmpdir = g_dir_make_tmp ("gcurl-contract-XXXXXX", NULL);
  g_autofree char *exe = g_build_filename (tmpdir, "contract", NULL);
  g_autofree char *source = g_test_build_filename (G_TEST_DIST, "contract", "contract.c", NULL);
  g_autofree char *compile = NULL;
  g_autofree char *base = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) env = g_get_environ ();
  const char *argv_run[4];
  int status = 0;
  g_autoptr(GError) error = NULL;

#ifdef TEST_INSTALLED
  if (pc_dir == NULL)
    {
      g_autofree char *cc = g_find_program_in_path ("cc");
      g_autofree char *pkg_config = g_find_program_in_path ("pkg-config");
      const char *argv_exists[] = { "pkg-config", "--exists", "gcurlmulti-1", NULL };

      if (cc == NULL || pkg_config == NULL)
        {
          g_test_skip (cc == NULL ? "no C compiler (cc) to build the contract program"
                                  : "no pkg-config to find the installed gcurlmulti-1.pc");
          g_rmdir (tmpdir);
          return;
        }
      g_spawn_sync (NULL, (char **) argv_exists, NULL, G_SPAWN_SEARCH_PATH,
                    NULL, NULL, NULL, NULL, &status, &error);
      g_assert_no_error (error);
      if (!g_spawn_check_wait_status (status, NULL))
        {
          g_test_skip ("pkg-config does not find gcurlmulti-1 (or what it requires): "
                       "the development files are not installed");
          g_rmdir (tmpdir);
          return;
        }
    }
  else
#endif
    {
      g_assert_nonnull (pc_dir);
      g_assert_nonnull (lib_dir);
      env = g_environ_setenv (env, "PKG_CONFIG_PATH", pc_dir, TRUE);
      env = g_environ_setenv (env, "LD_LIBRARY_PATH", lib_dir, TRUE);
    }

  compile = g_strdup_printf ("cc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter %s -o '%s' '%s' "
                             "$(pkg-config --cflags --libs gcurlmulti-1)",
                             cflags ? cflags : "", exe, source);
  {
    const char *argv_sh[] = { "/bin/sh", "-c", compile, NULL };

    g_spawn_sync (NULL, (char **) argv_sh, env, G_SPAWN_DEFAULT, NULL, NULL,
                  &out, &err, &status, &error);
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("Compiling the contract program failed:\n%s\n%s", compile, err);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  base = g_strdup (test_server_get_uri (server));
  refused = g_strdup_printf ("http://127.0.0.1:%u/", test_server_get_refused_port ());
  argv_run[0] = exe;
  argv_run[1] = base;
  argv_run[2] = refused;
  argv_run[3] = NULL;
  g_spawn_sync (NULL, (char **) argv_run, env, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (out, ==, "contract: all checks passed\n");

  g_unlink (exe);
  g_rmdir (tmpdir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
#ifdef TEST_INSTALLED
  g_test_add_func ("/contract/installed-pkg-config", test_contract_program);
#else
  g_test_add_func ("/contract/uninstalled-pkg-config", test_contract_program);
#endif
  ret = g_test_run ();
  test_server_free (server);
  return ret;
}
