/* test-contract.c: builds contract/contract.c against gcurlmulti-1.pc
 * alone, as an application would, and runs it against the test server:
 * the build tree's uninstalled .pc when GCURL_UNINSTALLED_PC_DIR and
 * GCURL_LIB_DIR name it (meson test), else the installed one (an
 * installed test).  contract.c calls GLib, GIO and libcurl itself, so its
 * link also checks the .pc's Requires.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-util.h"

static TestServer *server;

/* contract.c compiles with -Werror against the .pc and passes all its checks. */
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

  g_assert_true ((pc_dir == NULL) == (lib_dir == NULL));
  if (pc_dir != NULL)
    {
      env = g_environ_setenv (env, "PKG_CONFIG_PATH", pc_dir, TRUE);
      env = g_environ_setenv (env, "LD_LIBRARY_PATH", lib_dir, TRUE);
    }
  g_test_message ("gcurlmulti-1.pc from %s",
                  pc_dir != NULL ? pc_dir : "pkg-config's own path (the installed one)");

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
  g_test_add_func ("/contract/pkg-config", test_contract_program);
  ret = g_test_run ();
  test_server_free (server);
  return ret;
}
