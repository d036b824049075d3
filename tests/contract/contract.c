/* contract.c: a program written only against DESIGN.md's API contract,
 * built by test-contract against the uninstalled gcurlmulti-1.pc.
 *
 * Usage: contract BASE_URL REFUSED_URL
 * Exits 0 when every check passes; prints what failed otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gcurlmulti.h>
#include <glib/gstdio.h>
#include <string.h>

static int failures;

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("FAILED: %s (line %d)\n", #cond, __LINE__); failures++; } } while (0)

static void
on_progress (GCurlTransfer *transfer, gint64 downloaded, gint64 size,
             gint64 uploaded, gint64 upload_size, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
on_finished (GCurlTransfer *transfer, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GBytes **out = user_data;
  GError *error = NULL;

  *out = g_curl_multi_send_and_read_finish (G_CURL_MULTI (source), result, &error);
  if (*out == NULL)
    *out = g_bytes_new (error->message, strlen (error->message));
  g_clear_error (&error);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GInputStream **out = user_data;
  GError *error = NULL;

  *out = g_curl_multi_send_finish (G_CURL_MULTI (source), result, &error);
  if (*out == NULL)
    {
      g_printerr ("send_async failed: %s\n", error->message);
      *out = g_memory_input_stream_new ();
    }
  g_clear_error (&error);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  int *state = user_data;
  GError *error = NULL;

  *state = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error) ? 1 : 2;
  if (error != NULL)
    g_printerr ("download_async failed: %s\n", error->message);
  g_clear_error (&error);
}

static gboolean
on_raw_message (CURLMsg *message, gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char *argv[])
{
  GCurlMulti *multi;
  GCurlTransfer *transfer, *refused, *post;
  GBytes *body, *read = NULL;
  guint progress = 0, finished = 0, raw_done = 0;
  char *url;
  GSource *source;
  CURLM *raw;
  CURL *easy;

  if (argc != 3)
    return 2;

  multi = g_curl_multi_new ();
  CHECK (g_curl_multi_get_context (multi) == g_main_context_default ());
  CHECK (g_curl_multi_get_handle (multi) != NULL);
  g_object_set (multi, "max-total-connections", 4, "max-host-connections", 2,
                "progress-interval", 10, "max-redirects", 5, "user-agent", "contract/1",
                "stall-timeout", 30, "allowed-protocols", "http,https", NULL);

  url = g_strconcat (argv[1], "/bytes/100000", NULL);
  transfer = g_curl_transfer_new (url);
  CHECK (strcmp (g_curl_transfer_get_url (transfer), url) == 0);
  CHECK (g_curl_transfer_get_handle (transfer) != NULL);
  CHECK (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_NEW);
  g_curl_transfer_set_method (transfer, "GET");
  g_curl_transfer_set_request_header (transfer, "X-Contract", "yes");
  g_signal_connect (transfer, "progress", G_CALLBACK (on_progress), &progress);
  g_signal_connect (transfer, "finished", G_CALLBACK (on_finished), &finished);
  g_curl_multi_add_transfer (multi, transfer);
  CHECK (g_curl_multi_get_n_transfers (multi) == 1);
  g_curl_transfer_pause (transfer);
  CHECK (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_PAUSED);
  g_curl_transfer_resume (transfer);

  refused = g_curl_transfer_new (argv[2]);
  g_signal_connect (refused, "finished", G_CALLBACK (on_finished), &finished);
  g_curl_multi_add_transfer (multi, refused);

  while (finished < 2)
    g_main_context_iteration (NULL, TRUE);

  CHECK (g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_SUCCEEDED);
  CHECK (g_curl_transfer_get_status_code (transfer) == 200);
  CHECK (g_curl_transfer_get_response_header (transfer, "content-length") != NULL);
  CHECK (g_curl_transfer_get_downloaded_bytes (transfer) == 100000);
  CHECK (g_curl_transfer_get_download_size (transfer) == 100000);
  CHECK (g_curl_transfer_get_fraction (transfer) == 1.0);
  CHECK (g_curl_transfer_get_error (transfer) == NULL);
  CHECK (progress >= 1);
  body = g_curl_transfer_get_body (transfer);
  CHECK (body != NULL && g_bytes_get_size (body) == 100000);
  g_clear_pointer (&body, g_bytes_unref);

  CHECK (g_curl_transfer_get_state (refused) == G_CURL_TRANSFER_STATE_FAILED);
  CHECK (g_error_matches (g_curl_transfer_get_error (refused), G_CURL_ERROR,
                          G_CURL_ERROR_COULDNT_CONNECT));
  CHECK (G_CURL_ERROR == g_curl_error_quark ());

  g_free (url);
  url = g_strconcat (argv[1], "/echo", NULL);
  post = g_curl_transfer_new (url);
  body = g_bytes_new_static ("abc", 3);
  g_curl_transfer_set_request_body (post, body, "text/plain");
  g_curl_multi_send_and_read_async (multi, post, NULL, on_read, &read);
  while (read == NULL)
    g_main_context_iteration (NULL, TRUE);
  CHECK (g_bytes_get_size (read) > 6 && memcmp (g_bytes_get_data (read, NULL), "POST 3 ", 7) == 0);
  g_curl_transfer_cancel (post);
  g_bytes_unref (read);
  g_bytes_unref (body);

  /* The GIO layer: a stream, an upload from a stream, a download. */
  {
    GInputStream *stream = NULL, *upload;
    GCurlTransfer *t;
    GBytes *bytes;
    char *dir, *path, *contents = NULL;
    GFile *file;
    gsize size = 0;
    int state = 0;

    g_free (url);
    url = g_strconcat (argv[1], "/bytes/5000", NULL);
    t = g_curl_transfer_new (url);
    g_curl_multi_send_async (multi, t, NULL, on_sent, &stream);
    while (stream == NULL)
      g_main_context_iteration (NULL, TRUE);
    bytes = g_input_stream_read_bytes (stream, 10000, NULL, NULL);
    CHECK (bytes != NULL && g_bytes_get_size (bytes) > 0);
    g_clear_pointer (&bytes, g_bytes_unref);
    g_object_unref (stream);
    g_object_unref (t);

    g_free (url);
    url = g_strconcat (argv[1], "/echo", NULL);
    t = g_curl_transfer_new (url);
    upload = g_memory_input_stream_new_from_data ("abc", 3, NULL);
    g_curl_transfer_set_request_stream (t, upload, -1);
    read = NULL;
    g_curl_multi_send_and_read_async (multi, t, NULL, on_read, &read);
    while (read == NULL)
      g_main_context_iteration (NULL, TRUE);
    CHECK (g_bytes_get_size (read) > 7 && memcmp (g_bytes_get_data (read, NULL), "POST 3 ", 7) == 0);
    CHECK (g_curl_transfer_get_uploaded_bytes (t) == 3);
    g_clear_pointer (&read, g_bytes_unref);
    g_object_unref (upload);
    g_object_unref (t);

    g_free (url);
    url = g_strconcat (argv[1], "/bytes/70000", NULL);
    t = g_curl_transfer_new (url);
    dir = g_dir_make_tmp ("contract-XXXXXX", NULL);
    path = g_build_filename (dir, "file", NULL);
    file = g_file_new_for_path (path);
    g_curl_multi_download_async (multi, t, file, G_CURL_DOWNLOAD_RESUME | G_CURL_DOWNLOAD_OVERWRITE,
                                 NULL, on_downloaded, &state);
    while (state == 0)
      g_main_context_iteration (NULL, TRUE);
    CHECK (state == 1);
    CHECK (g_file_get_contents (path, &contents, &size, NULL) && size == 70000);
    g_free (contents);
    g_unlink (path);
    g_rmdir (dir);
    g_object_unref (file);
    g_free (path);
    g_free (dir);
    g_object_unref (t);
  }

  /* The low level: a CURLM of our own. */
  raw = curl_multi_init ();
  source = g_curl_source_new (raw);
  g_source_set_callback (source, G_SOURCE_FUNC (on_raw_message), &raw_done, NULL);
  g_source_attach (source, NULL);
  easy = curl_easy_init ();
  curl_easy_setopt (easy, CURLOPT_URL, argv[2]);
  curl_multi_add_handle (raw, easy);
  while (raw_done < 1)
    g_main_context_iteration (NULL, TRUE);
  curl_multi_remove_handle (raw, easy);
  curl_easy_cleanup (easy);
  g_source_destroy (source);
  g_source_unref (source);
  curl_multi_cleanup (raw);

  {
    GCurlDownloadFlags flags = G_CURL_DOWNLOAD_RESUME | G_CURL_DOWNLOAD_OVERWRITE;
    CHECK (flags != G_CURL_DOWNLOAD_NONE);
  }

  g_object_unref (post);
  g_object_unref (refused);
  g_object_unref (transfer);
  g_object_unref (multi);
  g_free (url);

  if (failures == 0)
    g_print ("contract: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
