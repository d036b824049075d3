/* interop.c: real servers and proxies from Debian, for the interop tests
 *
 * See interop.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <glib/gstdio.h>

#include "interop.h"
#include "test-nghttpd.h"
#include "test-server.h"

#define START_TIMEOUT_S      10
#define START_ATTEMPTS       5
#define RESTART_ATTEMPTS     5
#define POLL_INTERVAL_MS     10
#define LOG_TAIL_BYTES       2000
#define MAX_PORTS            3

/* Where the Debian packages put what we run. */
#define APACHE_MODULES  "/usr/lib/apache2/modules"
#define PYTHON3         "/usr/bin/python3"
#define DIST_PACKAGES   "/usr/lib/python3/dist-packages"
#define BASIC_NCSA_AUTH "/usr/lib/squid/basic_ncsa_auth"

/* Kinds */

enum
{
  KIND_TLS      = 1 << 0,  /* has tls_port */
  KIND_PORT2    = 1 << 1,  /* has port2 */
  KIND_WATCHDOG = 1 << 2,  /* changes its user when root: loses PDEATHSIG */
  KIND_CERTS    = 1 << 3,  /* needs openssl: certificates or password hash */
};

typedef struct
{
  const char *path;    /* must exist */
  const char *reason;  /* else */
} Requirement;

typedef struct
{
  const char  *name;
  const char  *template_name;  /* in tests/interop/, or NULL */
  const char  *config_name;    /* in log_dir */
  const char  *access_log;     /* in log_dir */
  const char  *error_log;      /* in log_dir, or NULL (output.log only) */
  guint        flags;
  Requirement  requirements[4];
} KindInfo;

static const KindInfo kinds[N_INTEROP_KINDS] = {
  [INTEROP_NGINX] = {
    "nginx", "nginx.conf.in", "nginx.conf", "access.log", "error.log",
    KIND_TLS | KIND_PORT2 | KIND_CERTS,
    { { "/usr/sbin/nginx", "nginx is not installed (Debian package nginx)" } },
  },
  [INTEROP_APACHE] = {
    "apache2", "apache2.conf.in", "apache2.conf", "access.log", "error.log",
    KIND_TLS | KIND_WATCHDOG | KIND_CERTS,
    { { "/usr/sbin/apache2", "apache2 is not installed (Debian package apache2)" },
      { APACHE_MODULES "/mod_http2.so",
        "Apache's mod_http2 is not installed (Debian package apache2-bin)" },
      { APACHE_MODULES "/mod_ssl.so",
        "Apache's mod_ssl is not installed (Debian package apache2-bin)" } },
  },
  [INTEROP_H2O] = {
    "h2o", "h2o.conf.in", "h2o.conf", "access.log", "error.log",
    KIND_TLS | KIND_CERTS,
    { { "/usr/bin/h2o", "h2o is not installed (Debian package h2o)" } },
  },
  [INTEROP_LIGHTTPD] = {
    "lighttpd", "lighttpd.conf.in", "lighttpd.conf", "access.log", "error.log",
    KIND_TLS | KIND_CERTS,
    { { "/usr/sbin/lighttpd", "lighttpd is not installed (Debian package lighttpd)" },
      { "/usr/lib/lighttpd/mod_openssl.so",
        "lighttpd's mod_openssl is not installed (Debian package lighttpd-mod-openssl)" },
      { "/usr/lib/lighttpd/mod_deflate.so",
        "lighttpd's mod_deflate is not installed (Debian package lighttpd-mod-deflate)" } },
  },
  [INTEROP_SQUID] = {
    "squid", "squid.conf.in", "squid.conf", "access.log", "cache.log",
    KIND_WATCHDOG,
    { { "/usr/sbin/squid", "squid is not installed (Debian package squid)" } },
  },
  [INTEROP_SQUID_AUTH] = {
    "squid-auth", "squid.conf.in", "squid.conf", "access.log", "cache.log",
    KIND_WATCHDOG | KIND_CERTS,
    { { "/usr/sbin/squid", "squid is not installed (Debian package squid)" },
      { BASIC_NCSA_AUTH, "squid's basic_ncsa_auth is not installed (Debian package squid)" } },
  },
  [INTEROP_TINYPROXY] = {
    "tinyproxy", "tinyproxy.conf.in", "tinyproxy.conf", "tinyproxy.log", "tinyproxy.log",
    0,
    { { "/usr/bin/tinyproxy", "tinyproxy is not installed (Debian package tinyproxy)" } },
  },
  [INTEROP_HTTPBIN] = {
    "httpbin", "gunicorn.conf.py.in", "gunicorn.conf.py", "access.log", "error.log",
    0,
    { { PYTHON3, "/usr/bin/python3 is not installed (Debian package python3)" },
      { "/usr/bin/gunicorn", "gunicorn is not installed (Debian package gunicorn)" },
      { DIST_PACKAGES "/httpbin/__init__.py",
        "httpbin is not installed for /usr/bin/python3 (Debian package python3-httpbin)" } },
  },
  [INTEROP_FTP] = {
    "ftp", NULL, NULL, "output.log", NULL,
    0,
    { { PYTHON3, "/usr/bin/python3 is not installed (Debian package python3)" },
      { DIST_PACKAGES "/pyftpdlib/__init__.py",
        "pyftpdlib is not installed for /usr/bin/python3 (Debian package python3-pyftpdlib)" } },
  },
};

static const char *
kind_program (InteropKind kind)
{
  switch (kind)
    {
    case INTEROP_HTTPBIN:
      return "/usr/bin/gunicorn";
    case INTEROP_FTP:
      return PYTHON3;
    default:
      return kinds[kind].requirements[0].path;
    }
}

/* openssl makes the certificates and the password hashes. */
static char *
find_openssl (void)
{
  char *path = g_find_program_in_path ("openssl");

  if (path == NULL && g_file_test ("/usr/bin/openssl", G_FILE_TEST_IS_EXECUTABLE))
    path = g_strdup ("/usr/bin/openssl");

  return path;
}

const char *
interop_missing (InteropKind kind)
{
  const KindInfo *info;
  guint i;

  g_return_val_if_fail (kind < N_INTEROP_KINDS, "no such kind of server");
  info = &kinds[kind];

  for (i = 0; i < G_N_ELEMENTS (info->requirements) && info->requirements[i].path != NULL; i++)
    if (!g_file_test (info->requirements[i].path, G_FILE_TEST_EXISTS))
      return info->requirements[i].reason;

  if (info->flags & KIND_CERTS)
    {
      g_autofree char *openssl = find_openssl ();

      if (openssl == NULL)
        return "openssl is not installed (Debian package openssl)";
    }
  if ((info->flags & KIND_WATCHDOG) && !g_file_test ("/bin/sh", G_FILE_TEST_IS_EXECUTABLE))
    return "/bin/sh is missing";

  return NULL;
}

const char *
interop_kind_name (InteropKind kind)
{
  g_return_val_if_fail (kind < N_INTEROP_KINDS, NULL);

  return kinds[kind].name;
}

gboolean
interop_kind_is_web_server (InteropKind kind)
{
  return kind == INTEROP_NGINX || kind == INTEROP_APACHE ||
         kind == INTEROP_H2O || kind == INTEROP_LIGHTTPD;
}

gboolean
interop_kind_is_proxy (InteropKind kind)
{
  return kind == INTEROP_SQUID || kind == INTEROP_SQUID_AUTH || kind == INTEROP_TINYPROXY;
}

/* Files */

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
make_dir (const char  *path,
          GError     **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    return set_errno_error (error, errno, "make", path);
  /* Whatever the umask: Apache reads the doc root as www-data. */
  if (g_chmod (path, 0755) != 0)
    return set_errno_error (error, errno, "chmod", path);

  return TRUE;
}

/* Writes @path with mode 0644 (not atomically: a new file, or a temporary
 * one). */
static gboolean
write_mode_0644 (const char  *path,
                 const void  *data,
                 gsize        len,
                 GError     **error)
{
  if (!g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_NONE, 0644, error))
    return FALSE;
  if (g_chmod (path, 0644) != 0)
    return set_errno_error (error, errno, "chmod", path);

  return TRUE;
}

static gboolean
set_mtime (const char  *path,
           gint64       seconds,
           GError     **error)
{
  struct timespec times[2] = { { seconds, 0 }, { seconds, 0 } };

  if (utimensat (AT_FDCWD, path, times, 0) != 0)
    return set_errno_error (error, errno, "set the time of", path);

  return TRUE;
}

/* An hour ago, on a whole second: in the past (Apache's ETag of a file
 * younger than a second is weak), with room for many replacements. */
static gint64
past_mtime (void)
{
  return g_get_real_time () / G_USEC_PER_SEC - 3600;
}

char *
interop_env_path (InteropEnv *env,
                  const char *path)
{
  g_return_val_if_fail (env != NULL && env->doc_root != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  while (path[0] == '/')
    path++;

  return g_build_filename (env->doc_root, path, NULL);
}

/* A file is written to a temporary file beside it, dated, and renamed:
 * a server never sees it half written. */
typedef struct
{
  const void *data;   /* @len bytes; NULL for @len bytes of the pattern */
  guint64     len;
} Contents;

static gboolean
write_contents (const char      *path,
                const Contents  *contents,
                GError         **error)
{
  guint8 buffer[64 * 1024];
  guint64 offset = 0;
  FILE *file;

  if (contents->data != NULL)
    return write_mode_0644 (path, contents->data, contents->len, error);

  /* In pieces: pattern files may be large. */
  file = g_fopen (path, "wb");
  if (file == NULL)
    return set_errno_error (error, errno, "create", path);
  while (offset < contents->len)
    {
      gsize len = (gsize) MIN (sizeof buffer, contents->len - offset);

      test_pattern_fill (offset, buffer, len);
      if (fwrite (buffer, 1, len, file) != len)
        break;
      offset += len;
    }
  if (fclose (file) != 0 || offset < contents->len)
    return set_errno_error (error, errno != 0 ? errno : EIO, "write", path);
  if (g_chmod (path, 0644) != 0)
    return set_errno_error (error, errno, "chmod", path);

  return TRUE;
}

static gboolean
write_dated (const char      *full_path,
             const Contents  *contents,
             gint64           mtime,
             GError         **error)
{
  static gint counter;
  g_autofree char *dir = g_path_get_dirname (full_path);
  g_autofree char *base = g_path_get_basename (full_path);
  g_autofree char *tmp_name = g_strdup_printf (".%s.interop-%d-%d", base, (int) getpid (),
                                               g_atomic_int_add (&counter, 1));
  g_autofree char *tmp_path = g_build_filename (dir, tmp_name, NULL);

  if (!make_dir (dir, error))
    return FALSE;
  if (!write_contents (tmp_path, contents, error) ||
      !set_mtime (tmp_path, mtime, error))
    {
      g_unlink (tmp_path);
      return FALSE;
    }
  if (g_rename (tmp_path, full_path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      return set_errno_error (error, saved_errno, "rename a file to", full_path);
    }

  return TRUE;
}

gboolean
interop_env_write_file (InteropEnv  *env,
                        const char  *path,
                        const void  *data,
                        gsize        len,
                        GError     **error)
{
  g_autofree char *full_path = interop_env_path (env, path);
  Contents contents = { data != NULL ? data : "", len };

  g_return_val_if_fail (full_path != NULL, FALSE);

  return write_dated (full_path, &contents, past_mtime (), error);
}

gboolean
interop_env_write_pattern (InteropEnv  *env,
                           const char  *path,
                           guint64      size,
                           GError     **error)
{
  g_autofree char *full_path = interop_env_path (env, path);
  Contents contents = { NULL, size };

  g_return_val_if_fail (full_path != NULL, FALSE);

  return write_dated (full_path, &contents, past_mtime (), error);
}

gboolean
interop_env_replace_file (InteropEnv  *env,
                          const char  *path,
                          const void  *data,
                          gsize        len,
                          GError     **error)
{
  g_autofree char *full_path = interop_env_path (env, path);
  Contents contents = { data != NULL ? data : "", len };
  GStatBuf old;
  gint64 mtime;

  g_return_val_if_fail (full_path != NULL, FALSE);

  /* Whole seconds apart: Last-Modified has a resolution of a second, and
   * nginx's and h2o's ETags are made of the mtime's seconds and the size. */
  if (g_stat (full_path, &old) == 0)
    mtime = (gint64) old.st_mtime + 1;
  else
    mtime = past_mtime ();

  return write_dated (full_path, &contents, mtime, error);
}

static gboolean
run_openssl (const char          *dir,
             const char * const  *args,
             char               **output,
             GError             **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *openssl = find_openssl ();
  g_autofree char *errors = NULL;
  int wait_status;

  if (openssl == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "openssl is not installed (Debian package openssl)");
      return FALSE;
    }
  g_strv_builder_add (builder, openssl);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);

  if (!g_spawn_sync (dir, argv, NULL,
                     output == NULL ? G_SPAWN_STDOUT_TO_DEV_NULL : G_SPAWN_DEFAULT,
                     NULL, NULL, output, &errors, &wait_status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (wait_status, error))
    {
      g_prefix_error (error, "openssl %s: %s: ", args[0], errors);
      if (output != NULL)
        g_clear_pointer (output, g_free);
      return FALSE;
    }

  return TRUE;
}

/* A CA, and a certificate for DNS:localhost and IP:127.0.0.1 signed by it,
 * as in test-http2.c. `req -x509 -CA` needs OpenSSL 3.0. */
static gboolean
make_certificates (InteropEnv  *env,
                   GError     **error)
{
  const char *ca_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
    "-subj", "/CN=libgcurlmulti interop test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    NULL
  };
  const char *server_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "server.key", "-out", "server.pem",
    "-subj", "/CN=localhost", "-CA", "ca.pem", "-CAkey", "ca.key",
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "extendedKeyUsage=serverAuth",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    NULL
  };

  /* A client's, for the servers that ask for one (nginx's /client-cert/). */
  const char *client_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "client.key", "-out", "client.pem",
    "-subj", "/CN=" INTEROP_CLIENT_CN, "-CA", "ca.pem", "-CAkey", "ca.key",
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "extendedKeyUsage=clientAuth",
    NULL
  };

  if (!run_openssl (env->dir, ca_args, NULL, error) ||
      !run_openssl (env->dir, server_args, NULL, error) ||
      !run_openssl (env->dir, client_args, NULL, error))
    return FALSE;

  env->ca_file = g_build_filename (env->dir, "ca.pem", NULL);
  env->key_file = g_build_filename (env->dir, "server.key", NULL);
  env->cert_file = g_build_filename (env->dir, "server.pem", NULL);
  env->client_cert_file = g_build_filename (env->dir, "client.pem", NULL);
  env->client_key_file = g_build_filename (env->dir, "client.key", NULL);

  return TRUE;
}

/* What tells this env's squid shared memory segments from others':
 * "gcurlinteropXXXXXX" (the XXXXXX of the directory's name). squid's
 * service name must be alphanumeric. */
static char *
env_shm_tag (const char *dir)
{
  g_autofree char *base = g_path_get_basename (dir);
  const char *suffix = strrchr (base, '-');

  return g_strdup_printf ("gcurlinterop%s", suffix != NULL ? suffix + 1 : base);
}

/* Removes the files of /dev/shm whose names start with @prefix: squid's
 * segments, which a killed squid leaves behind. */
static void
remove_shm_segments (const char *prefix)
{
  g_autoptr(GDir) dir = g_dir_open ("/dev/shm", 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *path = g_build_filename ("/dev/shm", name, NULL);

        g_unlink (path);
      }
}

gboolean
interop_env_init (InteropEnv  *env,
                  GError     **error)
{
  g_autofree char *openssl = find_openssl ();

  g_return_val_if_fail (env != NULL, FALSE);

  memset (env, 0, sizeof *env);
  env->dir = g_dir_make_tmp ("gcurl-interop-XXXXXX", error);
  if (env->dir == NULL)
    return FALSE;
  env->doc_root = g_build_filename (env->dir, "htdocs", NULL);
  /* g_dir_make_tmp() makes it 0700: Apache and squid run as www-data and
   * proxy when started as root. */
  if (!make_dir (env->dir, error) || !make_dir (env->doc_root, error) ||
      (openssl != NULL && !make_certificates (env, error)))
    {
      interop_env_clear (env);
      return FALSE;
    }

  return TRUE;
}

void
interop_env_clear (InteropEnv *env)
{
  if (env == NULL)
    return;
  if (env->dir != NULL)
    {
      g_autofree char *tag = env_shm_tag (env->dir);

      test_nghttpd_remove_tree (env->dir);
      remove_shm_segments (tag);
    }
  g_free (env->dir);
  g_free (env->doc_root);
  g_free (env->ca_file);
  g_free (env->cert_file);
  g_free (env->client_cert_file);
  g_free (env->client_key_file);
  g_free (env->key_file);
  memset (env, 0, sizeof *env);
}

/* Templates */

static char *
template_dir (void)
{
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");

  if (srcdir != NULL)
    {
      g_autofree char *dir = g_build_filename (srcdir, "interop", NULL);

      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        return g_steal_pointer (&dir);
    }

  return g_strdup (INTEROP_TEMPLATE_DIR);
}

static gboolean
is_variable_char (char c)
{
  return g_ascii_isupper (c) || g_ascii_isdigit (c) || c == '_';
}

/* @text with each @NAME@ (upper case, digits, '_') replaced by its value
 * in @variables; an @NAME@ that is not there is an error (a typo in a
 * template). Other '@'s stay. */
static char *
substitute (const char  *template_name,
            const char  *text,
            GHashTable  *variables,
            GError     **error)
{
  g_autoptr(GString) result = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      const char *end = p + 1;

      if (*p != '@')
        {
          g_string_append_c (result, *p++);
          continue;
        }
      while (is_variable_char (*end))
        end++;
      if (*end == '@' && end > p + 1)
        {
          g_autofree char *name = g_strndup (p + 1, end - p - 1);
          const char *value = g_hash_table_lookup (variables, name);

          if (value == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: unknown variable @%s@", template_name, name);
              return NULL;
            }
          g_string_append (result, value);
          p = end + 1;
        }
      else
        {
          g_string_append_c (result, *p++);
        }
    }

  return g_string_free (g_steal_pointer (&result), FALSE);
}

/* Servers */

/* Ports that were free a moment ago, all different. */
static gboolean
pick_free_ports (guint16  *ports,
                 guint     n_ports,
                 GError  **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocket *probes[MAX_PORTS] = { NULL, };
  gboolean ok = TRUE;
  guint i;

  g_assert (n_ports <= MAX_PORTS);

  /* All bound at once, so that the kernel hands out different ports. */
  for (i = 0; i < n_ports && ok; i++)
    {
      g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
      g_autoptr(GSocketAddress) bound = NULL;

      probes[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                G_SOCKET_PROTOCOL_TCP, error);
      ok = probes[i] != NULL &&
           g_socket_bind (probes[i], any_port, FALSE, error) &&
           (bound = g_socket_get_local_address (probes[i], error)) != NULL;
      if (ok)
        ports[i] = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  for (i = 0; i < n_ports; i++)
    if (probes[i] != NULL)
      {
        g_socket_close (probes[i], NULL);
        g_object_unref (probes[i]);
      }
  if (!ok)
    g_prefix_error (error, "Cannot pick a free port: ");

  return ok;
}

/* The inodes of the sockets listening on 127.0.0.1:@port, "socket:[INODE]"
 * as in /proc/PID/fd, added to @links. */
static void
add_listening_sockets (const char *table,
                       guint16     port,
                       GPtrArray  *links)
{
  g_autofree char *local = g_strdup_printf ("0100007F:%04X", port);
  g_auto(GStrv) lines = g_strsplit (table, "\n", -1);
  guint i;

  /* "sl local_address rem_address st … uid timeout inode": state 0A is
   * LISTEN. */
  for (i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) columns = g_ptr_array_new ();
      guint j;

      for (j = 0; fields[j] != NULL; j++)
        if (fields[j][0] != '\0')
          g_ptr_array_add (columns, fields[j]);
      if (columns->len > 9 &&
          g_str_equal (g_ptr_array_index (columns, 1), local) &&
          g_str_equal (g_ptr_array_index (columns, 3), "0A"))
        g_ptr_array_add (links, g_strdup_printf ("socket:[%s]",
                                                 (char *) g_ptr_array_index (columns, 9)));
    }
}

typedef enum
{
  LISTENING,
  NOT_YET,
  SOMEONE_ELSE,   /* the port listens, but not in our process */
} ListenState;

/* Whether process @pid listens on 127.0.0.1:@port. Looking at the kernel's
 * tables rather than connecting: a connection without a request is a line
 * in squid's access log. Where /proc/PID/fd cannot be read (a process of
 * another user, without CAP_SYS_PTRACE), a listening socket and a live
 * process are taken for the real thing. */
static ListenState
process_listens_on (const char *pid,
                    guint16     port)
{
  g_autofree char *table = NULL;
  g_autofree char *fd_dir = g_build_filename ("/proc", pid, "fd", NULL);
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_get_contents ("/proc/self/net/tcp", &table, NULL, NULL))
    return NOT_YET;
  add_listening_sockets (table, port, links);
  if (links->len == 0)
    return NOT_YET;

  dir = g_dir_open (fd_dir, 0, NULL);
  if (dir == NULL)
    return LISTENING;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);
      guint i;

      for (i = 0; target != NULL && i < links->len; i++)
        if (g_str_equal (target, g_ptr_array_index (links, i)))
          return LISTENING;
    }

  return SOMEONE_ELSE;
}

static guint
server_ports (InteropServer *server,
              guint16       *ports)
{
  guint n = 0;

  ports[n++] = server->port;
  if (server->port2 != 0)
    ports[n++] = server->port2;
  if (server->tls_port != 0)
    ports[n++] = server->tls_port;

  return n;
}

typedef enum
{
  STARTED,
  EXITED,      /* the process exited (or could not be started) */
  PORT_TAKEN,  /* another process listens on one of the ports */
  TIMED_OUT,
} WaitResult;

static WaitResult
wait_until_listening (InteropServer *server,
                      GSubprocess   *process)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_S * G_USEC_PER_SEC;
  guint16 ports[MAX_PORTS];
  guint n_ports = server_ports (server, ports);

  while (g_get_monotonic_time () < deadline)
    {
      /* GLib's worker thread reaps the child; the identifier is NULL from
       * then on. */
      g_autofree char *pid = g_strdup (g_subprocess_get_identifier (process));
      guint n_listening = 0;
      guint i;

      if (pid == NULL)
        return EXITED;
      for (i = 0; i < n_ports; i++)
        {
          ListenState state = process_listens_on (pid, ports[i]);

          if (state == SOMEONE_ELSE)
            return PORT_TAKEN;
          if (state == LISTENING)
            n_listening++;
        }
      if (n_listening == n_ports)
        return STARTED;
      g_usleep (POLL_INTERVAL_MS * 1000);
    }

  return TIMED_OUT;
}

static void
kill_and_reap (GSubprocess **process)
{
  if (*process == NULL)
    return;
  g_subprocess_force_exit (*process);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

static void
set_parent_death_signal (gpointer user_data)
{
#ifdef __linux__
  /* A failed assertion aborts the test program without running any
   * cleanup: the kernel then kills the server instead of leaving it
   * behind. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* The test program's environment, without what could send the servers
 * elsewhere, and with what the Python ones need. */
static char **
server_environment (void)
{
  const char *unset[] = {
    "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
    "http_proxy", "https_proxy", "ftp_proxy", "all_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY",
    "GUNICORN_CMD_ARGS",
  };
  char **envp = g_get_environ ();
  guint i;

  for (i = 0; i < G_N_ELEMENTS (unset); i++)
    envp = g_environ_unsetenv (envp, unset[i]);
  envp = g_environ_setenv (envp, "PYTHONDONTWRITEBYTECODE", "1", TRUE);
  envp = g_environ_setenv (envp, "PYTHONUNBUFFERED", "1", TRUE);
  envp = g_environ_setenv (envp, "LANG", "C", TRUE);
  envp = g_environ_unsetenv (envp, "LC_ALL");

  return envp;
}

/* The last LOG_TAIL_BYTES of @path, from a line start, or NULL. */
static char *
log_tail (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length;
  const char *start;

  if (path == NULL || !g_file_get_contents (path, &contents, &length, NULL) || length == 0)
    return NULL;
  start = contents;
  if (length > LOG_TAIL_BYTES)
    {
      const char *newline;

      start = contents + length - LOG_TAIL_BYTES;
      newline = strchr (start, '\n');
      if (newline != NULL && newline[1] != '\0')
        start = newline + 1;
    }

  return g_strdup (start);
}

static void
append_log_tail (GString    *message,
                 const char *path)
{
  g_autofree char *tail = log_tail (path);
  g_autofree char *name = g_path_get_basename (path);

  if (tail != NULL)
    g_string_append_printf (message, "\n--- %s ---\n%s", name, tail);
}

static void
set_start_error (InteropServer  *server,
                 const char     *what,
                 GError        **error)
{
  g_autoptr(GString) message = g_string_new (NULL);

  g_string_append_printf (message, "%s (%s) %s; ", server->name, server->argv[0], what);
  if (server->error_log == NULL && server->output_log == NULL)
    g_string_append (message, "no logs");
  else
    {
      gsize before;

      g_string_append_printf (message, "the tail of its logs, in %s:", server->log_dir);
      before = message->len;
      if (server->error_log != NULL && g_strcmp0 (server->error_log, server->output_log) != 0)
        append_log_tail (message, server->error_log);
      append_log_tail (message, server->output_log);
      if (message->len == before)
        g_string_append (message, " (all empty)");
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, message->str);
}

/* A /bin/sh beside a server that changes its user (and so loses its
 * PDEATHSIG): it waits for EOF on its stdin, a pipe whose write end only
 * this process holds, and then kills the server. */
static GSubprocess *
start_watchdog (GSubprocess  *process,
                GError      **error)
{
  const char *argv[] = {
    "/bin/sh", "-c", "read -r line; kill -KILL \"$1\" 2>/dev/null",
    "interop-watchdog", g_subprocess_get_identifier (process), NULL
  };

  return g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                            G_SUBPROCESS_FLAGS_STDERR_SILENCE, error);
}

static void
kill_processes (InteropServer *server)
{
  /* The watchdog first: once reaped, it cannot kill a recycled pid. */
  kill_and_reap (&server->watchdog);
  kill_and_reap (&server->process);
  if (server->service_name != NULL)
    {
      g_autofree char *prefix = g_strdup_printf ("%s-", server->service_name);

      remove_shm_segments (prefix);
    }
}

/* Starts the server's argv once and waits until it listens. */
static WaitResult
start_once (InteropServer  *server,
            GError        **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_auto(GStrv) envp = server_environment ();
  WaitResult result;
  int fd;

  /* Appended to, across restarts: a file, not a pipe, so nothing to
   * drain. */
  fd = g_open (server->output_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open", server->output_log);
      return EXITED;
    }
  /* stdin is /dev/null. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_take_stdout_fd (launcher, fd);
  g_subprocess_launcher_set_cwd (launcher, server->log_dir);
  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_child_setup (launcher, set_parent_death_signal, NULL, NULL);
  server->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) server->argv,
                                                  error);
  if (server->process == NULL)
    return EXITED;
  if (kinds[server->kind].flags & KIND_WATCHDOG)
    {
      server->watchdog = start_watchdog (server->process, error);
      if (server->watchdog == NULL)
        {
          kill_processes (server);
          return EXITED;
        }
    }

  result = wait_until_listening (server, server->process);
  if (result == STARTED)
    return STARTED;

  if (result == TIMED_OUT)
    {
      g_autofree char *what = g_strdup_printf ("did not listen on all its ports within %d s",
                                               START_TIMEOUT_S);

      kill_processes (server);
      set_start_error (server, what, error);
    }
  else if (result == PORT_TAKEN)
    {
      kill_processes (server);
      set_start_error (server, "found another process listening on one of its ports", error);
    }
  else
    {
      g_autofree char *what = NULL;

      g_subprocess_wait (server->process, NULL, NULL);
      if (g_subprocess_get_if_exited (server->process))
        what = g_strdup_printf ("exited with status %d",
                                g_subprocess_get_exit_status (server->process));
      else if (g_subprocess_get_if_signaled (server->process))
        what = g_strdup_printf ("was killed by signal %d",
                                g_subprocess_get_term_sig (server->process));
      else
        what = g_strdup ("did not start");
      kill_processes (server);
      set_start_error (server, what, error);
    }

  return result;
}

/* Kind-specific files, made once per start. */

static gboolean
write_htpasswd (const char  *path,
                GError     **error)
{
  const char *args[] = { "passwd", "-apr1", INTEROP_PASSWORD, NULL };
  g_autofree char *hash = NULL;
  g_autofree char *line = NULL;

  /* $apr1$: both Apache and squid's basic_ncsa_auth know it (squid's does
   * not know htpasswd's {SHA}). */
  if (!run_openssl (NULL, args, &hash, error))
    return FALSE;
  line = g_strdup_printf ("%s:%s\n", INTEROP_USER, g_strstrip (hash));

  return write_mode_0644 (path, line, strlen (line), error);
}

static gboolean
write_htdigest (const char  *path,
                GError     **error)
{
  g_autofree char *a1 = g_strdup_printf ("%s:%s:%s", INTEROP_USER, INTEROP_REALM,
                                         INTEROP_PASSWORD);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_MD5, a1, -1);
  g_autofree char *line = g_strdup_printf ("%s:%s:%s\n", INTEROP_USER, INTEROP_REALM, hash);

  return write_mode_0644 (path, line, strlen (line), error);
}

static gboolean
write_pattern_if_missing (InteropEnv  *env,
                          const char  *path,
                          guint64      size,
                          GError     **error)
{
  g_autofree char *full_path = interop_env_path (env, path);

  if (g_file_test (full_path, G_FILE_TEST_EXISTS))
    return TRUE;

  return interop_env_write_pattern (env, path, size, error);
}

/* squid, started as root, runs as cache_effective_user and writes its
 * logs there. */
static gboolean
give_to_proxy_user (const char  *dir,
                    GError     **error)
{
  struct passwd *proxy;

  if (geteuid () != 0)
    return TRUE;
  proxy = getpwnam ("proxy");
  if (proxy == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "squid runs as user proxy when started as root, and there is no user proxy");
      return FALSE;
    }
  if (chown (dir, proxy->pw_uid, proxy->pw_gid) != 0)
    return set_errno_error (error, errno, "chown", dir);

  return TRUE;
}

static gboolean
prepare_files (InteropServer  *server,
               GError        **error)
{
  g_autofree char *path = NULL;

  switch (server->kind)
    {
    case INTEROP_APACHE:
      path = g_build_filename (server->log_dir, "basic.htpasswd", NULL);
      if (!write_htpasswd (path, error))
        return FALSE;
      g_clear_pointer (&path, g_free);
      path = g_build_filename (server->log_dir, "digest.htdigest", NULL);
      return write_htdigest (path, error) &&
             write_pattern_if_missing (server->env, "basic/pattern-1000",
                                       INTEROP_AUTH_FILE_SIZE, error) &&
             write_pattern_if_missing (server->env, "digest/pattern-1000",
                                       INTEROP_AUTH_FILE_SIZE, error);
    case INTEROP_SQUID_AUTH:
      path = g_build_filename (server->log_dir, "passwd", NULL);
      if (!write_htpasswd (path, error))
        return FALSE;
      G_GNUC_FALLTHROUGH;
    case INTEROP_SQUID:
      return give_to_proxy_user (server->log_dir, error);
    default:
      return TRUE;
    }
}

static char **
make_argv (InteropServer *server,
           const char    *config)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *error_log = NULL;
  g_autofree char *port = NULL;

  g_strv_builder_add (builder, kind_program (server->kind));
  switch (server->kind)
    {
    case INTEROP_NGINX:
      /* -e: before it reads its config, nginx logs to stderr (Debian's
       * build) or to a system path. */
      error_log = g_build_filename (server->log_dir, "error.log", NULL);
      g_strv_builder_add_many (builder, "-p", server->log_dir, "-c", config,
                               "-e", error_log, NULL);
      break;
    case INTEROP_APACHE:
      g_strv_builder_add_many (builder, "-X", "-d", server->log_dir, "-f", config, NULL);
      break;
    case INTEROP_H2O:
      g_strv_builder_add_many (builder, "-c", config, NULL);
      break;
    case INTEROP_LIGHTTPD:
      g_strv_builder_add_many (builder, "-D", "-f", config, NULL);
      break;
    case INTEROP_SQUID:
    case INTEROP_SQUID_AUTH:
      /* -n: squid names its shared memory segments (/dev/shm/NAME-cf__…)
       * after it, "squid" by default: two squids would share them, and a
       * killed one leaves them behind, for another user's squid to fail on
       * ("shm_open(/squid-cf__metadata.shm): (17) File exists"). */
      g_strv_builder_add_many (builder, "-N", "-n", server->service_name, "-f", config, NULL);
      break;
    case INTEROP_TINYPROXY:
      g_strv_builder_add_many (builder, "-d", "-c", config, NULL);
      break;
    case INTEROP_HTTPBIN:
      g_strv_builder_add_many (builder, "-c", config, "httpbin:app", NULL);
      break;
    case INTEROP_FTP:
      port = g_strdup_printf ("%u", server->port);
      g_strv_builder_add_many (builder, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", port,
                               "-d", server->env->doc_root, NULL);
      break;
    default:
      g_assert_not_reached ();
    }

  return g_strv_builder_end (builder);
}

static GHashTable *
template_variables (InteropServer        *server,
                    const InteropOptions *options)
{
  GHashTable *variables = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  InteropEnv *env = server->env;
  gboolean root = geteuid () == 0;

  g_hash_table_insert (variables, "LOG_DIR", g_strdup (server->log_dir));
  g_hash_table_insert (variables, "DOC_ROOT", g_strdup (env->doc_root));
  g_hash_table_insert (variables, "PORT", g_strdup_printf ("%u", server->port));
  g_hash_table_insert (variables, "PORT2", g_strdup_printf ("%u", server->port2));
  g_hash_table_insert (variables, "TLS_PORT", g_strdup_printf ("%u", server->tls_port));
  g_hash_table_insert (variables, "CA_FILE", g_strdup (env->ca_file ? env->ca_file : ""));
  g_hash_table_insert (variables, "CERT_FILE", g_strdup (env->cert_file ? env->cert_file : ""));
  g_hash_table_insert (variables, "KEY_FILE", g_strdup (env->key_file ? env->key_file : ""));
  g_hash_table_insert (variables, "LIMIT_RATE",
                       g_strdup (options != NULL && options->limit_rate != NULL ?
                                 options->limit_rate : "1m"));
  g_hash_table_insert (variables, "APACHE_MODULES", g_strdup (APACHE_MODULES));
  g_hash_table_insert (variables, "BASIC_NCSA_AUTH", g_strdup (BASIC_NCSA_AUTH));
  g_hash_table_insert (variables, "REALM", g_strdup (INTEROP_REALM));
  /* Line prefixes: "" keeps the line, "# " comments it out. */
  g_hash_table_insert (variables, "IF_ROOT", g_strdup (root ? "" : "# "));
  g_hash_table_insert (variables, "IF_AUTH",
                       g_strdup (server->kind == INTEROP_SQUID_AUTH ? "" : "# "));

  return variables;
}

static gboolean
write_config (InteropServer         *server,
              const InteropOptions  *options,
              const char            *config,
              GError               **error)
{
  const KindInfo *info = &kinds[server->kind];
  g_autofree char *dir = template_dir ();
  g_autofree char *template_path = g_build_filename (dir, info->template_name, NULL);
  g_autofree char *template = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GHashTable) variables = template_variables (server, options);

  if (!g_file_get_contents (template_path, &template, NULL, error))
    return FALSE;
  text = substitute (template_path, template, variables, error);

  return text != NULL && write_mode_0644 (config, text, strlen (text), error);
}

static void
truncate_file (const char *path)
{
  if (path != NULL && g_file_test (path, G_FILE_TEST_EXISTS))
    g_file_set_contents (path, "", 0, NULL);
}

static void
set_urls (InteropServer *server)
{
  g_clear_pointer (&server->url, g_free);
  g_clear_pointer (&server->url2, g_free);
  g_clear_pointer (&server->tls_url, g_free);
  server->url = g_strdup_printf ("%s://127.0.0.1:%u",
                                 server->kind == INTEROP_FTP ? "ftp" : "http", server->port);
  if (server->port2 != 0)
    server->url2 = g_strdup_printf ("http://127.0.0.1:%u", server->port2);
  if (server->tls_port != 0)
    server->tls_url = g_strdup_printf ("https://localhost:%u", server->tls_port);
}

gboolean
interop_server_start (InteropServer  *server,
                      InteropEnv     *env,
                      InteropKind     kind,
                      GError        **error)
{
  return interop_server_start_full (server, env, kind, NULL, error);
}

gboolean
interop_server_start_full (InteropServer         *server,
                           InteropEnv            *env,
                           InteropKind            kind,
                           const InteropOptions  *options,
                           GError               **error)
{
  const KindInfo *info;
  g_autofree char *config = NULL;
  g_autofree char *log_name = NULL;
  const char *missing;
  guint attempt;

  g_return_val_if_fail (server != NULL, FALSE);
  g_return_val_if_fail (env != NULL && env->dir != NULL, FALSE);
  g_return_val_if_fail (kind < N_INTEROP_KINDS, FALSE);

  memset (server, 0, sizeof *server);
  info = &kinds[kind];
  server->kind = kind;
  server->name = info->name;
  server->env = env;

  missing = interop_missing (kind);
  if (missing != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s", missing);
      return FALSE;
    }
  if ((info->flags & KIND_TLS) && env->cert_file == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: no certificates (openssl is not installed)", info->name);
      return FALSE;
    }

  log_name = g_strdup_printf ("%s-%u", info->name, ++env->n_servers);
  server->log_dir = g_build_filename (env->dir, log_name, NULL);
  server->access_log = g_build_filename (server->log_dir, info->access_log, NULL);
  server->output_log = g_build_filename (server->log_dir, "output.log", NULL);
  if (info->error_log != NULL)
    server->error_log = g_build_filename (server->log_dir, info->error_log, NULL);
  if (info->config_name != NULL)
    config = g_build_filename (server->log_dir, info->config_name, NULL);
  if (kind == INTEROP_SQUID || kind == INTEROP_SQUID_AUTH)
    {
      g_autofree char *tag = env_shm_tag (env->dir);

      server->service_name = g_strdup_printf ("%ss%u", tag, env->n_servers);
    }
  if (!make_dir (server->log_dir, error) || !prepare_files (server, error))
    goto failed;

  for (attempt = 1; attempt <= START_ATTEMPTS; attempt++)
    {
      guint16 ports[MAX_PORTS];
      guint n_ports = 1 + !!(info->flags & KIND_PORT2) + !!(info->flags & KIND_TLS);
      guint n = 0;
      WaitResult result;

      g_clear_error (error);
      if (!pick_free_ports (ports, n_ports, error))
        goto failed;
      server->port = ports[n++];
      server->port2 = (info->flags & KIND_PORT2) ? ports[n++] : 0;
      server->tls_port = (info->flags & KIND_TLS) ? ports[n++] : 0;
      /* The logs of this attempt only, for the error. */
      truncate_file (server->output_log);
      truncate_file (server->error_log);
      truncate_file (server->access_log);
      g_clear_pointer (&server->argv, g_strfreev);
      server->argv = make_argv (server, config);
      if (config != NULL && !write_config (server, options, config, error))
        goto failed;

      result = start_once (server, error);
      if (result == STARTED)
        {
          set_urls (server);
          return TRUE;
        }
      if (result == TIMED_OUT)
        break;
      /* It exited, or another process had a port: try other ports. */
    }

failed:
  g_prefix_error (error, "Cannot start %s: ", info->name);
  interop_server_stop (server);
  return FALSE;
}

gboolean
interop_server_restart (InteropServer  *server,
                        GError        **error)
{
  guint attempt;

  g_return_val_if_fail (server != NULL && server->argv != NULL, FALSE);

  kill_processes (server);
  for (attempt = 1; attempt <= RESTART_ATTEMPTS; attempt++)
    {
      WaitResult result;

      g_clear_error (error);
      result = start_once (server, error);
      if (result == STARTED)
        return TRUE;
      if (result == TIMED_OUT)
        break;
      /* A port not free yet: a child of the old process may still hold
       * it for a moment. */
      g_usleep (100 * 1000);
    }
  g_prefix_error (error, "Cannot restart %s on its ports: ", server->name);

  return FALSE;
}

void
interop_server_kill (InteropServer *server)
{
  g_return_if_fail (server != NULL);

  kill_processes (server);
}

void
interop_server_stop (InteropServer *server)
{
  g_return_if_fail (server != NULL);

  kill_processes (server);
  g_free (server->url);
  g_free (server->url2);
  g_free (server->tls_url);
  g_free (server->log_dir);
  g_free (server->access_log);
  g_free (server->error_log);
  g_free (server->output_log);
  g_free (server->service_name);
  g_strfreev (server->argv);
  memset (server, 0, sizeof *server);
}

GPid
interop_server_get_pid (InteropServer *server)
{
  const char *pid;

  g_return_val_if_fail (server != NULL, 0);

  if (server->process == NULL)
    return 0;
  pid = g_subprocess_get_identifier (server->process);

  return pid != NULL ? (GPid) g_ascii_strtoll (pid, NULL, 10) : 0;
}

char *
interop_server_read_log (InteropServer *server)
{
  char *contents = NULL;

  g_return_val_if_fail (server != NULL, NULL);

  if (server->access_log == NULL ||
      !g_file_get_contents (server->access_log, &contents, NULL, NULL))
    return NULL;

  return contents;
}

gboolean
interop_server_wait_for_log (InteropServer  *server,
                             const char     *needle,
                             guint           timeout_ms,
                             char          **log)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  char *contents = NULL;
  gboolean found = FALSE;

  g_return_val_if_fail (server != NULL, FALSE);
  g_return_val_if_fail (needle != NULL, FALSE);

  for (;;)
    {
      g_free (contents);
      contents = interop_server_read_log (server);
      found = contents != NULL && strstr (contents, needle) != NULL;
      if (found || g_get_monotonic_time () >= deadline)
        break;
      g_usleep (20 * 1000);
    }
  if (log != NULL)
    *log = contents;
  else
    g_free (contents);

  return found;
}
