/* dl-format.c: what the downloader says about a download, in words
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything the person reads about a download comes from here: sizes,
 * speeds and time left as a GNOME app writes them, and errors in plain
 * words instead of curl's ("The file was not found on the server" rather
 * than "HTTP response code said error").
 */

#include "dl-config.h"

#include <glib/gi18n.h>

#include "dl-format.h"

#define SECONDS_PER_MINUTE 60
#define SECONDS_PER_HOUR (60 * SECONDS_PER_MINUTE)

/* "1.2 MB of 12.0 MB", or "1.2 MB" while the size is unknown. */
char *
dl_format_progress (gint64 downloaded_bytes,
                    gint64 size)
{
  g_autofree char *done = g_format_size (MAX (downloaded_bytes, 0));
  g_autofree char *total = NULL;

  if (size < 0)
    return g_steal_pointer (&done);

  total = g_format_size (size);
  /* TRANSLATORS: a download's progress: "1.2 MB of 12.0 MB" */
  return g_strdup_printf (_("%s of %s"), done, total);
}

/* "1.0 MB/s" */
char *
dl_format_speed (gint64 bytes_per_second)
{
  g_autofree char *size = g_format_size (MAX (bytes_per_second, 0));

  /* TRANSLATORS: a download speed: "1.0 MB/s" */
  return g_strdup_printf (_("%s/s"), size);
}

/* "3 minutes left": seconds under a minute, then minutes, then hours,
 * rounded up so that it never says "0 minutes". */
char *
dl_format_time_left (gint64 seconds)
{
  gint64 n;

  if (seconds < SECONDS_PER_MINUTE)
    {
      n = MAX (seconds, 1);
      return g_strdup_printf (ngettext ("%d second left", "%d seconds left", n), (int) n);
    }
  if (seconds < SECONDS_PER_HOUR)
    {
      n = (seconds + SECONDS_PER_MINUTE - 1) / SECONDS_PER_MINUTE;
      return g_strdup_printf (ngettext ("%d minute left", "%d minutes left", n), (int) n);
    }

  n = (seconds + SECONDS_PER_HOUR - 1) / SECONDS_PER_HOUR;
  return g_strdup_printf (ngettext ("%d hour left", "%d hours left", n), (int) n);
}

static char *
host_of (const char *url)
{
  g_autoptr(GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url != NULL ? url : "");

  return g_strdup (g_uri_get_host (uri));
}

static char *
format_http_error (guint status_code)
{
  if (status_code == 404 || status_code == 410)
    return g_strdup_printf (_("The file was not found on the server (error %u)."), status_code);
  if (status_code == 401 || status_code == 403)
    return g_strdup_printf (_("The server refused access to the file (error %u)."), status_code);
  if (status_code == 429)
    return g_strdup_printf (_("The server is busy; try again later (error %u)."), status_code);
  if (status_code >= 500)
    return g_strdup_printf (_("The server had a problem; try again later (error %u)."),
                            status_code);

  return g_strdup_printf (_("The server refused the download (error %u)."), status_code);
}

/**
 * dl_format_error:
 * @error: how a download failed
 * @url: the download's URL
 * @status_code: the HTTP status of its last response, or 0
 *
 * Returns: (transfer full): a sentence that tells the person what happened
 *   and, where there is one, what to do about it
 */
char *
dl_format_error (const GError *error,
                 const char   *url,
                 guint         status_code)
{
  g_autofree char *host = host_of (url);

  if (error->domain == G_CURL_ERROR)
    {
      switch (error->code)
        {
        case G_CURL_ERROR_COULDNT_RESOLVE_HOST:
          return g_strdup_printf (_("Could not find the server “%s”. Check the address and "
                                    "your internet connection."), host);
        case G_CURL_ERROR_COULDNT_RESOLVE_PROXY:
          return g_strdup (_("Could not find the proxy server. Check the network settings."));
        case G_CURL_ERROR_COULDNT_CONNECT:
          return g_strdup_printf (_("Could not connect to “%s”. The server may be down, or "
                                    "you may be offline."), host);
        case G_CURL_ERROR_OPERATION_TIMEDOUT:
          return g_strdup_printf (_("The server “%s” stopped responding."), host);
        case G_CURL_ERROR_HTTP_RETURNED_ERROR:
          return format_http_error (status_code);
        case G_CURL_ERROR_SSL_CONNECT_ERROR:
        case G_CURL_ERROR_PEER_FAILED_VERIFICATION:
          return g_strdup_printf (_("The secure connection to “%s” could not be trusted."),
                                  host);
        case G_CURL_ERROR_TOO_MANY_REDIRECTS:
          return g_strdup (_("The server keeps redirecting the download elsewhere."));
        case G_CURL_ERROR_RANGE_ERROR:
          return g_strdup (_("The server cannot continue this download. Retry to start "
                             "it over."));
        case G_CURL_ERROR_UNSUPPORTED_PROTOCOL:
          return g_strdup (_("The server redirected the download to an address this app "
                             "cannot use."));
        default:
          break;
        }
    }
  else if (error->domain == G_IO_ERROR)
    {
      switch (error->code)
        {
        case G_IO_ERROR_NO_SPACE:
          return g_strdup (_("The disk is full."));
        case G_IO_ERROR_PERMISSION_DENIED:
        case G_IO_ERROR_READ_ONLY:
          return g_strdup (_("The download folder cannot be written to."));
        case G_IO_ERROR_EXISTS:
          return g_strdup (_("A file with this name exists already."));
        case G_IO_ERROR_INVALID_DATA:
          return g_strdup (_("The downloaded file is damaged."));
        default:
          break;
        }
    }

  /* The library's own message (translated too) is the best we have. */
  return g_strdup (error->message);
}

/**
 * dl_format_status:
 * @download: a download
 *
 * Returns: (transfer full): the line under a download's name: how far it
 *   is, how fast it goes and how long it will take, or why it stopped
 */
char *
dl_format_status (DlDownload *download)
{
  GCurlTransfer *transfer = dl_download_get_transfer (download);
  gint64 downloaded = dl_download_get_downloaded_bytes (download);
  gint64 size = dl_download_get_size (download);
  g_autofree char *progress = NULL;

  switch (dl_download_get_state (download))
    {
    case DL_DOWNLOAD_STATE_QUEUED:
      /* G_CURL_TRANSFER_STATE_QUEUED: waiting for a connection. */
      if (downloaded > 0)
        {
          progress = dl_format_progress (downloaded, size);
          /* TRANSLATORS: a download waiting for its turn; %s is the
           * progress so far, "1.2 MB of 12.0 MB" */
          return g_strdup_printf (_("Queued — %s"), progress);
        }
      /* TRANSLATORS: a download waiting for its turn */
      return g_strdup (_("Queued"));

    case DL_DOWNLOAD_STATE_RETRYING:
      {
        const GError *error = transfer != NULL ? g_curl_transfer_get_error (transfer) : NULL;
        g_autofree char *reason = NULL;

        /* G_CURL_TRANSFER_STATE_RETRYING: the attempt failed, another
         * follows; the error says why. */
        if (error == NULL)
          return g_strdup (_("Retrying…"));
        reason = dl_format_error (error, dl_download_get_url (download),
                                  g_curl_transfer_get_status_code (transfer));
        /* TRANSLATORS: a download that failed for a moment and will try
         * again; %s says why, "The server “example.org” stopped responding." */
        return g_strdup_printf (_("Retrying — %s"), reason);
      }

    case DL_DOWNLOAD_STATE_PAUSED:
      progress = dl_format_progress (downloaded, size);
      /* TRANSLATORS: %s is the progress so far, "1.2 MB of 12.0 MB" */
      return g_strdup_printf (_("Paused — %s"), progress);

    case DL_DOWNLOAD_STATE_FAILED:
      {
        const char *message = dl_download_get_error_message (download);

        return g_strdup (message != NULL ? message : _("Failed"));
      }

    case DL_DOWNLOAD_STATE_DONE:
      {
        g_autofree char *total = g_format_size (MAX (size, 0));

        /* TRANSLATORS: %s is the size of the file, "12.0 MB" */
        return g_strdup_printf (_("%s — Finished"), total);
      }

    case DL_DOWNLOAD_STATE_DOWNLOADING:
    default:
      break;
    }

  /* The request is out; nothing has come back yet. */
  if (transfer == NULL || (downloaded == 0 && size < 0))
    return g_strdup (_("Connecting…"));

  progress = dl_format_progress (downloaded, size);
  {
    gint64 speed = g_curl_transfer_get_download_speed (transfer);
    gint64 seconds = g_curl_transfer_get_time_remaining (transfer);
    g_autofree char *speed_text = NULL;
    g_autofree char *time_text = NULL;

    if (speed <= 0)
      return g_steal_pointer (&progress);

    speed_text = dl_format_speed (speed);
    if (seconds < 0)
      /* TRANSLATORS: "1.2 MB of 12.0 MB (1.0 MB/s)" */
      return g_strdup_printf (_("%s (%s)"), progress, speed_text);

    time_text = dl_format_time_left (seconds);
    /* TRANSLATORS: "1.2 MB of 12.0 MB (1.0 MB/s) — 10 seconds left" */
    return g_strdup_printf (_("%s (%s) — %s"), progress, speed_text, time_text);
  }
}

/**
 * dl_format_summary:
 * @n_downloads: how many downloads run (queued, paused and retrying ones
 *   included)
 * @bytes_per_second: how fast they download together
 *
 * Returns: (transfer full): what the window's title says under the app's
 *   name, "2 active downloads (1.0 MB/s)", or an empty string when none
 *   runs
 */
char *
dl_format_summary (guint  n_downloads,
                   gint64 bytes_per_second)
{
  g_autofree char *speed = NULL;

  if (n_downloads == 0)
    return g_strdup ("");
  if (bytes_per_second <= 0)
    return g_strdup_printf (ngettext ("%u active download", "%u active downloads", n_downloads),
                            n_downloads);

  speed = dl_format_speed (bytes_per_second);
  /* TRANSLATORS: under the window title: "2 active downloads (1.0 MB/s)" */
  return g_strdup_printf (ngettext ("%u active download (%s)", "%u active downloads (%s)",
                                    n_downloads), n_downloads, speed);
}
