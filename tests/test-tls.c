/* test-tls.c: the TLS peer, accept-certificate and client certificates
 *
 * The program makes a throwaway CA with openssl, and certificates signed
 * by it (for 127.0.0.1, for another name, expired, a client's) and two
 * self-signed ones, in a temporary directory. Its servers are in the
 * process: GLib TLS servers (glib-networking's GnuTLS, so not the OpenSSL
 * libcurl uses) on 127.0.0.1 ephemeral ports, speaking just enough
 * HTTP/1.1 with keep-alive, counting their connections, presenting the
 * certificate a test gives them (it can change between connections), and
 * one that requires a client certificate signed by the test CA and says
 * whose it was. The PKCS#11 test makes a softhsm2 token in the directory.
 *
 * Without openssl, or a GIO TLS backend (glib-networking), or an OpenSSL
 * libcurl, the tests are skipped, with the reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"

/* A body that is not a multiple of any TLS record. */
#define DATA_SIZE (64 * 1024 + 7)

static char *tmp_dir;
static char *skip_reason;
static char *setup_error;
static char *ca_file;

/* Certificates, with their keys, as the servers load them. */
static GTlsCertificate *good_cert;       /* 127.0.0.1 and localhost, by the CA */
static GTlsCertificate *other_host_cert; /* example.org only, by the CA */
static GTlsCertificate *expired_cert;    /* 127.0.0.1, by the CA, expired */
static GTlsCertificate *self_signed;     /* 127.0.0.1, self-signed */
static GTlsCertificate *self_signed_2;   /* the same, another key */
static GTlsCertificate *ca_cert;
static GTlsCertificate *client_cert;     /* CN=libgcurlmulti test client, by the CA */
static char *good_leaf_pem;              /* good_cert's own PEM, as openssl wrote it */

/* The servers */

typedef struct
{
  GSocketService  *service;
  guint16          port;
  GTlsCertificate *certificate;    /* (unowned): what the next connection gets */
  GTlsCertificate *swap_to;        /* (unowned) (nullable): /swap-redirect's */
  gboolean         require_client; /* a client certificate signed by ca_cert */
  char            *redirect_to;    /* (nullable): /redirect's Location */
  guint            n_connections;
  guint            n_requests;
} TlsServer;

typedef struct
{
  TlsServer *server;
  GIOStream *stream;
  GString   *request;
  char       buffer[4096];
} TlsServerConnection;

static void read_request (TlsServerConnection *connection);

static void
connection_free (TlsServerConnection *connection)
{
  g_io_stream_close (connection->stream, NULL, NULL);
  g_object_unref (connection->stream);
  g_string_free (connection->request, TRUE);
  g_free (connection);
}

static GBytes *
data_body (void)
{
  guint8 *data = g_malloc (DATA_SIZE);

  for (gsize i = 0; i < DATA_SIZE; i++)
    data[i] = (guint8) (i * 7 + 3);
  return g_bytes_new_take (data, DATA_SIZE);
}

/* Answers one request; FALSE to close the connection after it. */
static gboolean
respond (TlsServerConnection *connection,
         const char          *path)
{
  TlsServer *server = connection->server;
  GOutputStream *out = g_io_stream_get_output_stream (connection->stream);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *head = NULL;
  g_autofree char *extra = g_strdup ("");
  gboolean keep = TRUE;
  guint status = 200;

  server->n_requests++;
  if (g_str_equal (path, "/data"))
    body = data_body ();
  else if (g_str_equal (path, "/whoami"))
    {
      GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (connection->stream));
      g_autofree char *subject = peer != NULL ? g_tls_certificate_get_subject_name (peer) : NULL;
      g_autofree char *text = g_strdup_printf ("client: %s", subject ? subject : "none");

      body = g_bytes_new (text, strlen (text));
    }
  else if (g_str_equal (path, "/redirect") || g_str_equal (path, "/swap-redirect"))
    {
      status = 302;
      g_free (extra);
      extra = g_strdup_printf ("Location: %s\r\nConnection: close\r\n",
                               server->redirect_to != NULL ? server->redirect_to : "/data");
      body = g_bytes_new_static ("", 0);
      keep = FALSE;
      if (g_str_equal (path, "/swap-redirect"))
        server->certificate = server->swap_to;
    }
  else
    {
      status = 404;
      body = g_bytes_new_static ("", 0);
    }

  head = g_strdup_printf ("HTTP/1.1 %u X\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n%s\r\n",
                          status, g_bytes_get_size (body), extra);
  if (!g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL) ||
      !g_output_stream_write_all (out, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                  NULL, NULL, NULL))
    return FALSE;

  return keep;
}

static void
request_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TlsServerConnection *connection = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  const char *end;

  if (n <= 0)
    {
      connection_free (connection);
      return;
    }

  g_string_append_len (connection->request, connection->buffer, n);
  while ((end = strstr (connection->request->str, "\r\n\r\n")) != NULL)
    {
      g_auto(GStrv) words = g_strsplit (connection->request->str, " ", 3);
      gboolean keep = words[0] != NULL && words[1] != NULL && respond (connection, words[1]);

      g_string_erase (connection->request, 0, end + 4 - connection->request->str);
      if (!keep)
        {
          connection_free (connection);
          return;
        }
    }

  read_request (connection);
}

static void
read_request (TlsServerConnection *connection)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (connection->stream),
                             connection->buffer, sizeof connection->buffer,
                             G_PRIORITY_DEFAULT, NULL, request_read_cb, connection);
}

static gboolean
client_accept_cb (GTlsConnection       *tls,
                  GTlsCertificate      *peer,
                  GTlsCertificateFlags  errors,
                  gpointer              user_data)
{
  return g_tls_certificate_verify (peer, NULL, ca_cert) == 0;
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *socket_connection,
             GObject           *source_object,
             gpointer           user_data)
{
  TlsServer *server = user_data;
  TlsServerConnection *connection;
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  server->n_connections++;
  tls = g_tls_server_connection_new (G_IO_STREAM (socket_connection), server->certificate, &error);
  g_assert_no_error (error);
  if (server->require_client)
    {
      g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
      g_signal_connect (tls, "accept-certificate", G_CALLBACK (client_accept_cb), NULL);
    }

  connection = g_new0 (TlsServerConnection, 1);
  connection->server = server;
  connection->stream = tls;
  connection->request = g_string_new (NULL);
  read_request (connection);

  return TRUE;
}

static void
tls_server_start (TlsServer       *server,
                  GTlsCertificate *certificate)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  memset (server, 0, sizeof *server);
  server->certificate = certificate;
  server->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (server->service, "incoming", G_CALLBACK (incoming_cb), server);
  g_socket_service_start (server->service);
}

static void
tls_server_stop (TlsServer *server)
{
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_clear_object (&server->service);
  g_clear_pointer (&server->redirect_to, g_free);
}

static char *
server_url (TlsServer  *server,
            const char *path)
{
  return g_strdup_printf ("https://127.0.0.1:%u%s", server->port, path);
}

/* Certificates */

/* A leaf signed by the CA: @name.key, @name.pem (the leaf) and
 * @name-chain.pem (the leaf, then the CA). */
static gboolean
make_signed (const char  *name,
             const char  *subject,
             const char  *alt_names,
             const char  *usage,
             GError     **error)
{
  g_autofree char *key = g_strconcat (name, ".key", NULL);
  g_autofree char *pem = g_strconcat (name, ".pem", NULL);
  g_autofree char *san = g_strconcat ("subjectAltName=", alt_names, NULL);
  g_autofree char *eku = g_strconcat ("extendedKeyUsage=", usage, NULL);
  const char *args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", key, "-out", pem, "-subj", subject,
    "-CA", "ca.pem", "-CAkey", "ca.key",
    "-addext", "basicConstraints=critical,CA:FALSE", "-addext", eku, "-addext", san,
    NULL
  };

  return test_run_openssl (tmp_dir, args, error);
}

static gboolean
make_self_signed (const char  *name,
                  GError     **error)
{
  g_autofree char *key = g_strconcat (name, ".key", NULL);
  g_autofree char *pem = g_strconcat (name, ".pem", NULL);
  const char *args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", key, "-out", pem, "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL
  };

  return test_run_openssl (tmp_dir, args, error);
}

/* An expired leaf: `openssl ca` is the one that takes dates in the past. */
static gboolean
make_expired (GError **error)
{
  const char *config =
    "[ca]\ndefault_ca = test\n"
    "[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
    "default_md = sha256\npolicy = any\ncopy_extensions = copy\nunique_subject = no\n"
    "[any]\ncommonName = supplied\n";
  const char *request[] = {
    "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL
  };
  const char *sign[] = {
    "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
    "-in", "expired.csr", "-out", "expired.pem", "-notext",
    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", NULL
  };
  g_autofree char *config_file = g_build_filename (tmp_dir, "ca.cnf", NULL);
  g_autofree char *index = g_build_filename (tmp_dir, "index.txt", NULL);
  g_autofree char *serial = g_build_filename (tmp_dir, "serial", NULL);

  return g_file_set_contents (config_file, config, -1, error) &&
         g_file_set_contents (index, "", 0, error) &&
         g_file_set_contents (serial, "01\n", -1, error) &&
         test_run_openssl (tmp_dir, request, error) &&
         test_run_openssl (tmp_dir, sign, error);
}

static GTlsCertificate *
load (const char  *pem_name,
      const char  *key_name,
      GError     **error)
{
  g_autofree char *pem = g_build_filename (tmp_dir, pem_name, NULL);
  g_autofree char *key = key_name != NULL ? g_build_filename (tmp_dir, key_name, NULL) : NULL;

  if (key == NULL)
    return g_tls_certificate_new_from_file (pem, error);
  return g_tls_certificate_new_from_files (pem, key, error);
}

/* Chains the leaf @name.pem with the CA into @name-chain.pem. */
static gboolean
write_chain (const char  *name,
             GError     **error)
{
  g_autofree char *leaf_file = g_strdup_printf ("%s/%s.pem", tmp_dir, name);
  g_autofree char *chain_file = g_strdup_printf ("%s/%s-chain.pem", tmp_dir, name);
  g_autofree char *leaf = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *chain = NULL;

  if (!g_file_get_contents (leaf_file, &leaf, NULL, error) ||
      !g_file_get_contents (ca_file, &ca, NULL, error))
    return FALSE;
  chain = g_strconcat (leaf, ca, NULL);
  return g_file_set_contents (chain_file, chain, -1, error);
}

static gboolean
setup_certificates (GError **error)
{
  const char *ca_args[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
    "-subj", "/CN=libgcurlmulti test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL
  };
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *good_file = NULL;

  if (openssl == NULL)
    {
      skip_reason = g_strdup ("openssl is not installed (Debian package openssl)");
      return TRUE;
    }
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      skip_reason = g_strdup ("GIO has no TLS backend (Debian package glib-networking)");
      return TRUE;
    }
  if (!g_str_has_prefix (curl_version_info (CURLVERSION_NOW)->ssl_version, "OpenSSL/"))
    {
      skip_reason = g_strdup_printf ("libcurl's TLS backend is %s, not OpenSSL",
                                     curl_version_info (CURLVERSION_NOW)->ssl_version);
      return TRUE;
    }

  tmp_dir = g_dir_make_tmp ("gcurl-test-tls-XXXXXX", error);
  if (tmp_dir == NULL)
    return FALSE;
  ca_file = g_build_filename (tmp_dir, "ca.pem", NULL);
  good_file = g_build_filename (tmp_dir, "good.pem", NULL);

  if (!test_run_openssl (tmp_dir, ca_args, error) ||
      !make_signed ("good", "/CN=127.0.0.1", "IP:127.0.0.1,DNS:localhost", "serverAuth", error) ||
      !make_signed ("other-host", "/CN=example.org", "DNS:example.org", "serverAuth", error) ||
      !make_signed ("client", "/CN=libgcurlmulti test client", "DNS:client.test", "clientAuth",
                    error) ||
      !make_self_signed ("self-signed", error) || !make_self_signed ("self-signed-2", error) ||
      !make_expired (error) ||
      !write_chain ("good", error) || !write_chain ("other-host", error) ||
      !write_chain ("expired", error) || !write_chain ("client", error) ||
      !g_file_get_contents (good_file, &good_leaf_pem, NULL, error))
    return FALSE;

  ca_cert = load ("ca.pem", NULL, error);
  good_cert = ca_cert != NULL ? load ("good-chain.pem", "good.key", error) : NULL;
  other_host_cert = good_cert != NULL ? load ("other-host-chain.pem", "other-host.key", error) : NULL;
  expired_cert = other_host_cert != NULL ? load ("expired-chain.pem", "expired.key", error) : NULL;
  self_signed = expired_cert != NULL ? load ("self-signed.pem", "self-signed.key", error) : NULL;
  self_signed_2 = self_signed != NULL ? load ("self-signed-2.pem", "self-signed-2.key", error) : NULL;
  client_cert = self_signed_2 != NULL ? load ("client-chain.pem", "client.key", error) : NULL;

  return client_cert != NULL;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* The fixture */

typedef struct
{
  GCurlMulti *multi;
  TlsServer   server;
  guint       n_asked;           /* accept-certificate emissions */
  GTlsCertificateFlags asked_errors;
  GTlsCertificate *asked_peer;   /* (owned): the last one asked about */
  GTlsCertificate *trusted;      /* (unowned) (nullable): what accept_same_cb trusts */
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  test_init_gio_singletons ();
  fixture->multi = g_curl_multi_new ();
  g_object_add_weak_pointer (G_OBJECT (fixture->multi), (gpointer *) &fixture->multi);
  tls_server_start (&fixture->server, data != NULL ? *(GTlsCertificate **) data : good_cert);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->asked_peer);
  if (fixture->multi != NULL)
    {
      g_assert_cmpuint (g_curl_multi_get_n_transfers (fixture->multi), ==, 0);
      g_object_unref (fixture->multi);
    }
  g_assert_null (fixture->multi);
  tls_server_stop (&fixture->server);
}

static gboolean
can_run (void)
{
  if (setup_error != NULL)
    g_error ("setup failed: %s", setup_error);
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return FALSE;
    }
  return TRUE;
}

static GCurlTransfer *
transfer_new (TlsServer  *server,
              const char *path)
{
  g_autofree char *url = server_url (server, path);

  return g_curl_transfer_new (url);
}

static void
record_asked (Fixture              *fixture,
              GTlsCertificate      *peer,
              GTlsCertificateFlags  errors)
{
  fixture->n_asked++;
  fixture->asked_errors = errors;
  g_set_object (&fixture->asked_peer, peer);
}

static gboolean
accept_cb (GCurlTransfer        *transfer,
           GTlsCertificate      *peer,
           GTlsCertificateFlags  errors,
           Fixture              *fixture)
{
  record_asked (fixture, peer, errors);
  return TRUE;
}

static gboolean
refuse_cb (GCurlTransfer        *transfer,
           GTlsCertificate      *peer,
           GTlsCertificateFlags  errors,
           Fixture              *fixture)
{
  record_asked (fixture, peer, errors);
  return FALSE;
}

/* What an application that asked its user does on the next attempt. */
static gboolean
accept_same_cb (GCurlTransfer        *transfer,
                GTlsCertificate      *peer,
                GTlsCertificateFlags  errors,
                Fixture              *fixture)
{
  record_asked (fixture, peer, errors);
  return g_tls_certificate_is_same (peer, fixture->trusted);
}

static char *
pem_of (GTlsCertificate *certificate)
{
  char *pem = NULL;

  g_object_get (certificate, "certificate-pem", &pem, NULL);
  return pem;
}

static void
assert_data_body (GCurlTransfer *transfer)
{
  g_autoptr(GBytes) expected = data_body ();
  g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  g_assert_nonnull (body);
  want = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, expected);
  got = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_assert_cmpstr (got, ==, want);
}

static void
assert_untrusted (GCurlTransfer *transfer,
                  const char    *message)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  g_assert_error ((GError *) error, G_CURL_ERROR, G_CURL_ERROR_PEER_FAILED_VERIFICATION);
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
  g_assert_cmpint (g_curl_transfer_get_state (transfer), ==, G_CURL_TRANSFER_STATE_FAILED);
  g_assert_null (g_curl_transfer_get_body (transfer));
}

/* Peer certificates */

/* A verified handshake: the peer is the server's leaf (PEM exactly), its issuer the CA, no errors. */
static void
test_peer_verified (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *server_pem = NULL;
  GTlsCertificate *peer;
  GTlsCertificateFlags errors = ~0;
  GTlsCertificate *from_property = NULL;

  if (!can_run ())
    return;

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  transfer = transfer_new (&fixture->server, "/data");
  g_assert_null (g_curl_transfer_get_tls_peer_certificate (transfer));
  test_run_transfer (fixture->multi, transfer);
  assert_data_body (transfer);

  peer = g_curl_transfer_get_tls_peer_certificate (transfer);
  g_assert_nonnull (peer);
  g_assert_true (g_tls_certificate_is_same (peer, good_cert));
  pem = pem_of (peer);
  server_pem = pem_of (good_cert);
  g_assert_cmpstr (pem, ==, server_pem);
  g_assert_cmpstr (pem, ==, good_leaf_pem);
  g_assert_nonnull (g_tls_certificate_get_issuer (peer));
  g_assert_true (g_tls_certificate_is_same (g_tls_certificate_get_issuer (peer), ca_cert));
  g_assert_null (g_tls_certificate_get_issuer (g_tls_certificate_get_issuer (peer)));
  g_assert_cmpint (g_curl_transfer_get_tls_peer_certificate_errors (transfer), ==, 0);

  g_object_get (transfer, "tls-peer-certificate", &from_property,
                "tls-peer-certificate-errors", &errors, NULL);
  g_assert_true (from_property == peer);
  g_assert_cmpint (errors, ==, 0);
  g_clear_object (&from_property);
}

/* A second transfer on the reused connection knows the peer too (one connection in all). */
static void
test_peer_reused (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = NULL;
  g_autoptr(GCurlTransfer) second = NULL;

  if (!can_run ())
    return;

  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  first = transfer_new (&fixture->server, "/data");
  test_run_transfer (fixture->multi, first);
  assert_data_body (first);
  second = transfer_new (&fixture->server, "/data");
  test_run_transfer (fixture->multi, second);
  assert_data_body (second);

  g_assert_cmpuint (fixture->server.n_connections, ==, 1);
  g_assert_cmpuint (fixture->server.n_requests, ==, 2);
  g_assert_nonnull (g_curl_transfer_get_tls_peer_certificate (second));
  g_assert_true (g_tls_certificate_is_same (g_curl_transfer_get_tls_peer_certificate (second),
                                            good_cert));
  g_assert_cmpint (g_curl_transfer_get_tls_peer_certificate_errors (second), ==, 0);
}

/* Failed verifications keep the peer and name every error: UNKNOWN_CA, BAD_IDENTITY, EXPIRED. */
static void
test_peer_failed (Fixture       *fixture,
                  gconstpointer  data)
{
  const struct {
    GTlsCertificate **certificate;
    gboolean with_ca;
    GTlsCertificateFlags errors;
    const char *message;
  } cases[] = {
    { &self_signed, TRUE, G_TLS_CERTIFICATE_UNKNOWN_CA,
      "The certificate of 127.0.0.1 is not trusted: unknown certificate authority" },
    { &good_cert, FALSE, G_TLS_CERTIFICATE_UNKNOWN_CA,
      "The certificate of 127.0.0.1 is not trusted: unknown certificate authority" },
    { &other_host_cert, TRUE, G_TLS_CERTIFICATE_BAD_IDENTITY,
      "The certificate of 127.0.0.1 is not trusted: host name mismatch" },
    { &other_host_cert, FALSE, G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_BAD_IDENTITY,
      "The certificate of 127.0.0.1 is not trusted: unknown certificate authority, "
      "host name mismatch" },
    { &expired_cert, TRUE, G_TLS_CERTIFICATE_EXPIRED,
      "The certificate of 127.0.0.1 is not trusted: expired" },
    { &expired_cert, FALSE, G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_EXPIRED,
      "The certificate of 127.0.0.1 is not trusted: unknown certificate authority, expired" },
  };

  if (!can_run ())
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GCurlTransfer) transfer = transfer_new (&fixture->server, "/data");

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      fixture->server.certificate = *cases[i].certificate;
      g_object_set (fixture->multi, "tls-ca-file", cases[i].with_ca ? ca_file : NULL, NULL);
      test_run_transfer (fixture->multi, transfer);

      assert_untrusted (transfer, cases[i].message);
      g_assert_nonnull (g_curl_transfer_get_tls_peer_certificate (transfer));
      g_assert_true (g_tls_certificate_is_same (g_curl_transfer_get_tls_peer_certificate (transfer),
                                                *cases[i].certificate));
      g_assert_cmphex (g_curl_transfer_get_tls_peer_certificate_errors (transfer), ==,
                       cases[i].errors);
    }
  g_assert_cmpuint (fixture->server.n_requests, ==, 0);
}

/* accept-certificate */

/* TRUE: the body arrives whole after exactly one emission, with the peer and its errors. */
static void
test_accept_true (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;

  if (!can_run ())
    return;

  transfer = transfer_new (&fixture->server, "/data");
  g_signal_connect (transfer, "accept-certificate", G_CALLBACK (accept_cb), fixture);
  test_run_transfer (fixture->multi, transfer);

  assert_data_body (transfer);
  g_assert_cmpuint (fixture->n_asked, ==, 1);
  g_assert_cmphex (fixture->asked_errors, ==, G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_true (g_tls_certificate_is_same (fixture->asked_peer, self_signed));
  g_assert_true (g_tls_certificate_is_same (g_curl_transfer_get_tls_peer_certificate (transfer),
                                            self_signed));
  g_assert_cmphex (g_curl_transfer_get_tls_peer_certificate_errors (transfer), ==,
                   G_TLS_CERTIFICATE_UNKNOWN_CA);
}

/* FALSE, or no handler: PEER_FAILED_VERIFICATION naming the problems; a handler runs once. */
static void
test_accept_false (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GCurlTransfer) refused = NULL;
  g_autoptr(GCurlTransfer) unhandled = NULL;
  const char *message = "The certificate of 127.0.0.1 is not trusted: unknown certificate authority";

  if (!can_run ())
    return;

  refused = transfer_new (&fixture->server, "/data");
  g_signal_connect (refused, "accept-certificate", G_CALLBACK (refuse_cb), fixture);
  test_run_transfer (fixture->multi, refused);
  assert_untrusted (refused, message);
  g_assert_cmpuint (fixture->n_asked, ==, 1);

  unhandled = transfer_new (&fixture->server, "/data");
  test_run_transfer (fixture->multi, unhandled);
  assert_untrusted (unhandled, message);
  g_assert_cmpuint (fixture->server.n_requests, ==, 0);
}

/* After an accepted run: another transfer, and the same one run again, fail on connections of their own. */
static void
test_accept_not_reused (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) accepted = NULL;
  g_autoptr(GCurlTransfer) other = NULL;
  gulong id;

  if (!can_run ())
    return;

  accepted = transfer_new (&fixture->server, "/data");
  id = g_signal_connect (accepted, "accept-certificate", G_CALLBACK (accept_cb), fixture);
  test_run_transfer (fixture->multi, accepted);
  assert_data_body (accepted);
  g_assert_cmpuint (fixture->server.n_requests, ==, 1);
  /* The failed handshake, then the pinned one. */
  g_assert_cmpuint (fixture->server.n_connections, ==, 2);

  other = transfer_new (&fixture->server, "/data");
  test_run_transfer (fixture->multi, other);
  assert_untrusted (other, NULL);
  g_assert_cmpuint (fixture->server.n_connections, ==, 3);

  g_signal_handler_disconnect (accepted, id);
  test_run_transfer (fixture->multi, accepted);
  assert_untrusted (accepted, NULL);
  g_assert_cmpuint (fixture->server.n_connections, ==, 4);
  g_assert_cmpuint (fixture->server.n_requests, ==, 1);
  g_assert_cmpuint (fixture->n_asked, ==, 1);
}

/* The prompt pattern: the remembered certificate is accepted next time; a swapped key is not. */
static void
test_accept_remembered (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GCurlTransfer) first = NULL;
  g_autoptr(GCurlTransfer) again = NULL;
  g_autoptr(GCurlTransfer) swapped = NULL;
  g_autoptr(GTlsCertificate) remembered = NULL;

  if (!can_run ())
    return;

  first = transfer_new (&fixture->server, "/data");
  test_run_transfer (fixture->multi, first);
  assert_untrusted (first, NULL);
  remembered = g_object_ref (g_curl_transfer_get_tls_peer_certificate (first));
  fixture->trusted = remembered;

  again = transfer_new (&fixture->server, "/data");
  g_signal_connect (again, "accept-certificate", G_CALLBACK (accept_same_cb), fixture);
  test_run_transfer (fixture->multi, again);
  assert_data_body (again);
  g_assert_cmpuint (fixture->n_asked, ==, 1);

  fixture->server.certificate = self_signed_2;
  swapped = transfer_new (&fixture->server, "/data");
  g_signal_connect (swapped, "accept-certificate", G_CALLBACK (accept_same_cb), fixture);
  test_run_transfer (fixture->multi, swapped);
  assert_untrusted (swapped, "The certificate of 127.0.0.1 is not trusted: unknown certificate authority");
  g_assert_cmpuint (fixture->n_asked, ==, 2);
  g_assert_true (g_tls_certificate_is_same (fixture->asked_peer, self_signed_2));
  g_assert_cmpuint (fixture->server.n_requests, ==, 1);
}

/* A key swapped within the run (after a same-origin redirect) fails the pin: PEER_FAILED_VERIFICATION. */
static void
test_accept_pin_holds (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;

  if (!can_run ())
    return;

  fixture->server.swap_to = self_signed_2;
  transfer = transfer_new (&fixture->server, "/swap-redirect");
  g_signal_connect (transfer, "accept-certificate", G_CALLBACK (accept_cb), fixture);
  test_run_transfer (fixture->multi, transfer);

  assert_untrusted (transfer, NULL);
  g_assert_nonnull (strstr (g_curl_transfer_get_error (transfer)->message,
                            "is not the one accepted"));
  g_assert_cmpuint (fixture->n_asked, ==, 1);
  g_assert_cmpuint (fixture->server.n_requests, ==, 1);
}

/* A certificate accepted for one origin is asked about again after a redirect to another one. */
static void
test_accept_cross_origin (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;
  TlsServer other;

  if (!can_run ())
    return;

  tls_server_start (&other, self_signed);
  fixture->server.redirect_to = server_url (&other, "/data");
  transfer = transfer_new (&fixture->server, "/redirect");
  g_signal_connect (transfer, "accept-certificate", G_CALLBACK (accept_cb), fixture);
  test_run_transfer (fixture->multi, transfer);

  assert_data_body (transfer);
  g_assert_cmpuint (fixture->n_asked, ==, 2);
  g_assert_cmpuint (fixture->server.n_requests, ==, 1);
  g_assert_cmpuint (other.n_requests, ==, 1);
  tls_server_stop (&other);
}

/* Client certificates */

/* Without a client certificate the handshake fails; with the PEM one the server names it. */
static void
test_client_pem (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) anonymous = NULL;
  g_autoptr(GCurlTransfer) identified = NULL;
  g_autoptr(GCurlTransfer) from_multi = NULL;
  g_autofree char *body = NULL;
  g_autofree char *body_multi = NULL;
  GTlsCertificate *set = NULL;

  if (!can_run ())
    return;

  fixture->server.require_client = TRUE;
  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);

  anonymous = transfer_new (&fixture->server, "/whoami");
  test_run_transfer (fixture->multi, anonymous);
  g_assert_error ((GError *) g_curl_transfer_get_error (anonymous), G_CURL_ERROR,
                  G_CURL_ERROR_RECV_ERROR);
  g_assert_cmpuint (fixture->server.n_requests, ==, 0);

  identified = transfer_new (&fixture->server, "/whoami");
  g_object_set (identified, "tls-client-certificate", client_cert, NULL);
  g_object_get (identified, "tls-client-certificate", &set, NULL);
  g_assert_true (set == client_cert);
  g_clear_object (&set);
  test_run_transfer (fixture->multi, identified);
  g_assert_no_error ((GError *) g_curl_transfer_get_error (identified));
  g_assert_cmpuint (g_curl_transfer_get_status_code (identified), ==, 200);
  body = test_body_string (identified);
  g_assert_cmpstr (body, ==, "client: CN=libgcurlmulti test client");

  g_object_set (fixture->multi, "tls-client-certificate", client_cert, NULL);
  from_multi = transfer_new (&fixture->server, "/whoami");
  test_run_transfer (fixture->multi, from_multi);
  body_multi = test_body_string (from_multi);
  g_assert_cmpstr (body_multi, ==, "client: CN=libgcurlmulti test client");
}

/* A certificate without its key, or with another key: SSL_CERTPROBLEM, and nothing is asked. */
static void
test_client_bad (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCurlTransfer) no_key = NULL;
  g_autoptr(GCurlTransfer) wrong_key = NULL;
  g_autoptr(GTlsCertificate) without_key = NULL;
  g_autoptr(GTlsCertificate) mismatched = NULL;
  g_autoptr(GError) error = NULL;

  if (!can_run ())
    return;

  fixture->server.require_client = TRUE;
  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);

  without_key = load ("client.pem", NULL, &error);
  g_assert_no_error (error);
  no_key = transfer_new (&fixture->server, "/whoami");
  g_object_set (no_key, "tls-client-certificate", without_key, NULL);
  test_run_transfer (fixture->multi, no_key);
  g_assert_error ((GError *) g_curl_transfer_get_error (no_key), G_CURL_ERROR,
                  G_CURL_ERROR_SSL_CERTPROBLEM);
  g_assert_cmpstr (g_curl_transfer_get_error (no_key)->message, ==,
                   "The client certificate has no private key");

  mismatched = load ("client.pem", "good.key", &error);
  if (mismatched == NULL)
    {
      /* GIO may refuse the pair itself: then there is nothing to give. */
      g_test_message ("GIO refuses a certificate with another key: %s", error->message);
      return;
    }
  wrong_key = transfer_new (&fixture->server, "/whoami");
  g_object_set (wrong_key, "tls-client-certificate", mismatched, NULL);
  test_run_transfer (fixture->multi, wrong_key);
  g_assert_error ((GError *) g_curl_transfer_get_error (wrong_key), G_CURL_ERROR,
                  G_CURL_ERROR_SSL_CERTPROBLEM);
  g_assert_cmpuint (fixture->server.n_requests, ==, 0);
}

/* Makes a softhsm2 token in the test's directory, with the client's key
 * on it; returns the key's PKCS#11 URI (with its PIN), or NULL with the
 * reason to skip in @why. */
#define TOKEN_LABEL "gcurl-test"
#define TOKEN_PIN   "1234"

static char *
make_token (char **why)
{
  g_autofree char *softhsm = g_find_program_in_path ("softhsm2-util");
  g_autofree char *tokens = g_build_filename (tmp_dir, "tokens", NULL);
  g_autofree char *config = g_build_filename (tmp_dir, "softhsm2.conf", NULL);
  g_autofree char *config_text = NULL;
  g_autoptr(GError) error = NULL;
  const char *pkcs8[] = {
    "pkcs8", "-topk8", "-nocrypt", "-in", "client.key", "-out", "client.pkcs8.pem", NULL
  };
  const char *init_argv[] = {
    "softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
    "--pin", TOKEN_PIN, "--so-pin", "5678", NULL
  };
  const char *import_argv[] = {
    "softhsm2-util", "--import", "client.pkcs8.pem", "--token", TOKEN_LABEL,
    "--label", "client-key", "--id", "01", "--pin", TOKEN_PIN, NULL
  };
  const char * const *steps[] = { init_argv, import_argv };

  if (softhsm == NULL)
    {
      *why = g_strdup ("softhsm2-util is not installed (Debian package softhsm2)");
      return NULL;
    }
  if (!g_file_test ("/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so", G_FILE_TEST_EXISTS) &&
      !g_file_test ("/usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so", G_FILE_TEST_EXISTS))
    {
      *why = g_strdup ("OpenSSL's pkcs11 engine is not installed "
                       "(Debian package libengine-pkcs11-openssl)");
      return NULL;
    }

  /* softhsm2 reads this when the engine loads it, in the first handshake
   * that needs the key: this test's, the last of the program. */
  config_text = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                                 "log.level = ERROR\n", tokens);
  g_assert_true (g_file_set_contents (config, config_text, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (tokens, 0700), ==, 0);
  g_setenv ("SOFTHSM2_CONF", config, TRUE);

  g_assert_true (test_run_openssl (tmp_dir, pkcs8, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      int status;

      g_assert_true (g_spawn_sync (tmp_dir, (char **) steps[i], NULL,
                                   G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                                   NULL, NULL, NULL, NULL, &status, &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, &error));
      g_assert_no_error (error);
    }

  return g_strdup ("pkcs11:token=" TOKEN_LABEL ";object=client-key;type=private"
                   "?pin-value=" TOKEN_PIN);
}

/* The client's key on a softhsm2 token (through libcurl's OpenSSL engine): the server names the client. */
static void
test_client_pkcs11 (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GTlsCertificate) on_token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  g_autofree char *key_uri = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *body = NULL;

  if (!can_run ())
    return;
  key_uri = make_token (&why);
  if (key_uri == NULL)
    {
      g_test_skip (why);
      return;
    }

  /* GLib 2.74 makes a certificate with a key on a token like this (its
   * g_tls_certificate_new_from_pkcs11_uris() wants the certificate on the
   * token too). */
  cert_pem = pem_of (client_cert);
  on_token = g_initable_new (g_tls_backend_get_certificate_type (g_tls_backend_get_default ()),
                             NULL, &error, "certificate-pem", cert_pem,
                             "private-key-pkcs11-uri", key_uri, NULL);
  g_assert_no_error (error);

  fixture->server.require_client = TRUE;
  g_object_set (fixture->multi, "tls-ca-file", ca_file, NULL);
  transfer = transfer_new (&fixture->server, "/whoami");
  g_object_set (transfer, "tls-client-certificate", on_token, NULL);
  test_run_transfer (fixture->multi, transfer);

  g_assert_no_error ((GError *) g_curl_transfer_get_error (transfer));
  g_assert_cmpuint (g_curl_transfer_get_status_code (transfer), ==, 200);
  body = test_body_string (transfer);
  g_assert_cmpstr (body, ==, "client: CN=libgcurlmulti test client");
}

#define ADD_TEST(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  if (!setup_certificates (&error))
    setup_error = g_strdup (error->message);

  ADD_TEST ("/tls/peer/verified", test_peer_verified, NULL);
  ADD_TEST ("/tls/peer/reused-connection", test_peer_reused, NULL);
  ADD_TEST ("/tls/peer/failed", test_peer_failed, NULL);
  ADD_TEST ("/tls/accept/true", test_accept_true, &self_signed);
  ADD_TEST ("/tls/accept/false-or-unhandled", test_accept_false, &self_signed);
  ADD_TEST ("/tls/accept/not-reused", test_accept_not_reused, &self_signed);
  ADD_TEST ("/tls/accept/remembered", test_accept_remembered, &self_signed);
  ADD_TEST ("/tls/accept/pin-holds", test_accept_pin_holds, &self_signed);
  ADD_TEST ("/tls/accept/cross-origin-redirect", test_accept_cross_origin, &self_signed);
  ADD_TEST ("/tls/client/pem", test_client_pem, NULL);
  ADD_TEST ("/tls/client/bad", test_client_bad, NULL);
  ADD_TEST ("/tls/client/pkcs11", test_client_pkcs11, NULL);

  ret = g_test_run ();

  g_clear_object (&good_cert);
  g_clear_object (&other_host_cert);
  g_clear_object (&expired_cert);
  g_clear_object (&self_signed);
  g_clear_object (&self_signed_2);
  g_clear_object (&ca_cert);
  g_clear_object (&client_cert);
  if (tmp_dir != NULL)
    remove_tree (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
  g_clear_pointer (&ca_file, g_free);
  g_clear_pointer (&good_leaf_pem, g_free);
  g_clear_pointer (&skip_reason, g_free);
  g_clear_pointer (&setup_error, g_free);

  return ret;
}
