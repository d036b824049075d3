/* dl-download-manager.c: the list of downloads, and what runs them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The manager owns the one GCurlMulti of the app and the list the window
 * shows. It starts queued downloads while fewer than max-concurrent run,
 * each with g_curl_multi_download_async() and G_CURL_DOWNLOAD_RESUME, so
 * that every start (after a pause, a failure or a restart of the app)
 * continues the .part file where it stopped.
 *
 * Pausing a download whose transfer runs pauses the transfer itself: the
 * connection stays, and resuming is instant. A download that is waiting
 * (queued, or between two attempts) is stopped instead and keeps its .part.
 * A paused download no longer counts against max-concurrent: the limit is
 * about sharing the bandwidth, and a paused one uses none.
 *
 * The unfinished downloads are kept in a small key file, rewritten
 * atomically whenever one is added, removed or changes state, so that they
 * come back after the app is quit, or killed.
 */

#include "dl-config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n.h>

#include "dl-download-manager.h"
#include "dl-format.h"

/* How many downloads run at once unless told otherwise. */
#define DEFAULT_MAX_CONCURRENT 3

/* The progress a row shows needs no more than a few updates a second. */
#define PROGRESS_INTERVAL_MS 250

/* The name of a file whose URL has no path. */
#define DEFAULT_FILE_NAME "index.html"

/* The groups of the saved list: "Download 0", "Download 1"… */
#define GROUP_PREFIX "Download "

/* Why a run was cancelled, so that its end does the right thing. */
typedef enum {
  STOP_NONE,
  STOP_PAUSE,      /* keep the .part; the download is paused or queued again */
  STOP_REMOVE,     /* the person cancelled it: delete the .part */
  STOP_SHUTDOWN,   /* the app quits: keep everything for the next run */
} StopReason;

/* One run of g_curl_multi_download_async(): owned by its callback. */
typedef struct
{
  DlDownloadManager *manager;
  DlDownload        *download;
  GCancellable      *cancellable;
  StopReason         stop;
} Run;

struct _DlDownloadManager
{
  GObject      parent_instance;

  GCurlMulti  *multi;
  GListStore  *downloads;      /* (element-type DlDownload) */
  GHashTable  *runs;           /* DlDownload → Run, while a run has not ended */
  char        *state_path;     /* the saved list, or NULL to keep none */

  guint        max_concurrent;
  gint64       speed_limit;    /* bytes/s per download, 0 = none */
  gboolean     active;         /* some download is queued or downloading */
  gboolean     stopping;       /* stop_all() was called: start nothing */
};

G_DEFINE_FINAL_TYPE (DlDownloadManager, dl_download_manager, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MAX_CONCURRENT,
  PROP_SPEED_LIMIT,
  PROP_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_DOWNLOAD_FINISHED,
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule (DlDownloadManager *self);

static void
run_free (Run *run)
{
  g_object_unref (run->manager);
  g_object_unref (run->download);
  g_object_unref (run->cancellable);
  g_free (run);
}

/* Saves, and tells the person if it could not. */
static void
save_or_report (DlDownloadManager *self)
{
  g_autoptr(GError) error = NULL;

  if (!dl_download_manager_save (self, &error))
    {
      g_autofree char *message =
        g_strdup_printf (_("The list of downloads could not be saved: %s"), error->message);

      g_signal_emit (self, signals[SIGNAL_ERROR], 0, message);
    }
}

static void
update_active (DlDownloadManager *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->downloads));
  gboolean active = FALSE;

  for (guint i = 0; i < n && !active; i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (G_LIST_MODEL (self->downloads), i);
      DlDownloadState state = dl_download_get_state (download);

      active = state == DL_DOWNLOAD_STATE_QUEUED || state == DL_DOWNLOAD_STATE_DOWNLOADING;
    }
  active = active || g_hash_table_size (self->runs) > 0;

  if (active == self->active)
    return;

  self->active = active;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

static gboolean
find_download (DlDownloadManager *self,
               DlDownload        *download,
               guint             *position)
{
  return g_list_store_find (self->downloads, download, position);
}

/* An unlink: quick enough for the main thread, and done before the app
 * may quit. */
static void
delete_part_file (DlDownload *download)
{
  g_file_delete (dl_download_get_part_file (download), NULL, NULL);
}

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Run *run = user_data;
  DlDownloadManager *self = run->manager;
  DlDownload *download = run->download;
  GCurlTransfer *transfer = dl_download_get_transfer (download);
  g_autoptr(GError) error = NULL;
  gboolean succeeded;

  succeeded = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error);
  if (g_hash_table_lookup (self->runs, download) == run)
    g_hash_table_remove (self->runs, download);

  /* Once the whole body is in, even a cancel completes the file. */
  if (succeeded && run->stop != STOP_REMOVE)
    {
      gint64 size = dl_download_get_size (download);

      if (transfer != NULL && g_curl_transfer_get_download_size (transfer) >= 0)
        size = g_curl_transfer_get_download_size (transfer);
      dl_download_set_progress (download, MAX (size, 0), MAX (size, 0));
      dl_download_set_error_message (download, NULL);
      dl_download_set_state (download, DL_DOWNLOAD_STATE_DONE);
      g_signal_emit (self, signals[SIGNAL_DOWNLOAD_FINISHED], 0, download);
    }
  else
    {
      switch (run->stop)
        {
        case STOP_NONE:
          {
            g_autofree char *message =
              dl_format_error (error, dl_download_get_url (download),
                               transfer != NULL ? g_curl_transfer_get_status_code (transfer) : 0);

            dl_download_set_error_message (download, message);
            dl_download_set_state (download, DL_DOWNLOAD_STATE_FAILED);
            g_signal_emit (self, signals[SIGNAL_DOWNLOAD_FINISHED], 0, download);
          }
          break;
        case STOP_REMOVE:
          if (!succeeded)
            delete_part_file (download);
          break;
        case STOP_PAUSE:      /* paused, or queued again by a resume since */
        case STOP_SHUTDOWN:
        default:
          break;
        }
    }

  if (!self->stopping)
    {
      save_or_report (self);
      schedule (self);
    }
  update_active (self);
  run_free (run);
}

/* A live-paused transfer that lost its connection is retried by
 * download_async(): the retry must stay paused too. */
static void
transfer_state_cb (GCurlTransfer *transfer,
                   GParamSpec    *pspec,
                   DlDownload    *download)
{
  if (dl_download_get_transfer (download) == transfer &&
      dl_download_get_state (download) == DL_DOWNLOAD_STATE_PAUSED &&
      g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
    g_curl_transfer_pause (transfer);
}

static void
start (DlDownloadManager *self,
       DlDownload        *download)
{
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (dl_download_get_url (download));
  g_autoptr(GFile) folder = g_file_get_parent (dl_download_get_file (download));
  g_autoptr(GError) error = NULL;
  Run *run;

  if (!g_file_make_directory_with_parents (folder, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_autofree char *message = dl_format_error (error, dl_download_get_url (download), 0);

      dl_download_set_error_message (download, message);
      dl_download_set_state (download, DL_DOWNLOAD_STATE_FAILED);
      g_signal_emit (self, signals[SIGNAL_DOWNLOAD_FINISHED], 0, download);
      return;
    }

  g_curl_transfer_set_max_download_speed (transfer, self->speed_limit);
  g_signal_connect_object (transfer, "notify::state", G_CALLBACK (transfer_state_cb),
                           download, 0);

  run = g_new0 (Run, 1);
  run->manager = g_object_ref (self);
  run->download = g_object_ref (download);
  run->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->runs, download, run);

  dl_download_set_transfer (download, transfer);
  dl_download_set_error_message (download, NULL);
  dl_download_set_state (download, DL_DOWNLOAD_STATE_DOWNLOADING);

  g_curl_multi_download_async (self->multi, transfer, dl_download_get_file (download),
                               G_CURL_DOWNLOAD_RESUME, run->cancellable,
                               download_cb, run);
}

/* Starts queued downloads, in the list's order, while there is room. */
static void
schedule (DlDownloadManager *self)
{
  GListModel *model = G_LIST_MODEL (self->downloads);
  guint n = g_list_model_get_n_items (model);
  guint n_running = 0;
  gboolean changed = FALSE;

  if (self->stopping)
    return;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (model, i);

      if (dl_download_get_state (download) == DL_DOWNLOAD_STATE_DOWNLOADING)
        n_running++;
    }

  for (guint i = 0; i < n && n_running < self->max_concurrent; i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (model, i);

      /* A stopped run that has not ended yet starts again after its end. */
      if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_QUEUED ||
          g_hash_table_contains (self->runs, download))
        continue;

      start (self, download);
      n_running++;
      changed = TRUE;
    }

  if (changed)
    save_or_report (self);
  update_active (self);
}

static void
dl_download_manager_dispose (GObject *object)
{
  DlDownloadManager *self = DL_DOWNLOAD_MANAGER (object);

  /* Every run holds a reference on the manager: none is left here. */
  g_clear_object (&self->downloads);
  g_clear_object (&self->multi);

  G_OBJECT_CLASS (dl_download_manager_parent_class)->dispose (object);
}

static void
dl_download_manager_finalize (GObject *object)
{
  DlDownloadManager *self = DL_DOWNLOAD_MANAGER (object);

  g_hash_table_unref (self->runs);
  g_free (self->state_path);

  G_OBJECT_CLASS (dl_download_manager_parent_class)->finalize (object);
}

static void
dl_download_manager_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  DlDownloadManager *self = DL_DOWNLOAD_MANAGER (object);

  switch (prop_id)
    {
    case PROP_MAX_CONCURRENT:
      g_value_set_uint (value, self->max_concurrent);
      break;
    case PROP_SPEED_LIMIT:
      g_value_set_int64 (value, self->speed_limit);
      break;
    case PROP_ACTIVE:
      g_value_set_boolean (value, self->active);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dl_download_manager_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  DlDownloadManager *self = DL_DOWNLOAD_MANAGER (object);

  switch (prop_id)
    {
    case PROP_MAX_CONCURRENT:
      dl_download_manager_set_max_concurrent (self, g_value_get_uint (value));
      break;
    case PROP_SPEED_LIMIT:
      dl_download_manager_set_speed_limit (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dl_download_manager_class_init (DlDownloadManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dl_download_manager_dispose;
  object_class->finalize = dl_download_manager_finalize;
  object_class->get_property = dl_download_manager_get_property;
  object_class->set_property = dl_download_manager_set_property;

  /* How many downloads run at once; more wait, queued. */
  properties[PROP_MAX_CONCURRENT] =
    g_param_spec_uint ("max-concurrent", NULL, NULL, 1, G_MAXINT, DEFAULT_MAX_CONCURRENT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Bytes per second for each download, 0 for no limit; applies at once
   * to the running ones too. */
  properties[PROP_SPEED_LIMIT] =
    g_param_spec_int64 ("speed-limit", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Some download is queued or downloading. */
  properties[PROP_ACTIVE] =
    g_param_spec_boolean ("active", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * DlDownloadManager::download-finished:
   * @download: the download
   *
   * A download has ended by itself: it is done, or it failed (its
   * error-message says why, in plain words). Not emitted for a pause or
   * a removal.
   */
  signals[SIGNAL_DOWNLOAD_FINISHED] =
    g_signal_new ("download-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, DL_TYPE_DOWNLOAD);

  /**
   * DlDownloadManager::error:
   * @message: what went wrong, in plain words
   *
   * Something that concerns no single download went wrong (saving the
   * list, for one): the person should be told.
   */
  signals[SIGNAL_ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
dl_download_manager_init (DlDownloadManager *self)
{
  self->multi = g_curl_multi_new ();
  g_object_set (self->multi, "progress-interval", PROGRESS_INTERVAL_MS, NULL);
  self->downloads = g_list_store_new (DL_TYPE_DOWNLOAD);
  self->runs = g_hash_table_new (NULL, NULL);
  self->max_concurrent = DEFAULT_MAX_CONCURRENT;
}

/**
 * dl_download_manager_new:
 * @state_path: (nullable): the file that keeps the unfinished downloads
 *   between runs, or %NULL to keep none
 *
 * Returns: (transfer full): a manager with an empty list; see
 *   dl_download_manager_load()
 */
DlDownloadManager *
dl_download_manager_new (const char *state_path)
{
  DlDownloadManager *self = g_object_new (DL_TYPE_DOWNLOAD_MANAGER, NULL);

  self->state_path = g_strdup (state_path);
  return self;
}

/**
 * dl_download_manager_get_downloads:
 *
 * Returns: (transfer none): the downloads, a list of #DlDownload, in the
 *   order they were added
 */
GListModel *
dl_download_manager_get_downloads (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);

  return G_LIST_MODEL (self->downloads);
}

GCurlMulti *
dl_download_manager_get_multi (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);

  return self->multi;
}

/**
 * dl_download_manager_parse_url:
 * @text: what the person typed or pasted (surrounding spaces are ignored)
 * @url: (out): the URL, on success
 * @error: return location for an error, in plain words
 *
 * Checks that @text is a web address this app can download: http or https,
 * with a host.
 *
 * Returns: %TRUE with @url set, %FALSE with @error set
 */
gboolean
dl_download_manager_parse_url (const char  *text,
                               char       **url,
                               GError     **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  g_autoptr(GUri) uri = g_uri_parse (stripped, G_URI_FLAGS_ENCODED, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a web address (http:// or https://)"), stripped);
      return FALSE;
    }

  *url = g_steal_pointer (&stripped);
  return TRUE;
}

/* The last segment of the URL's path, as a safe file name. */
static char *
file_name_for_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  const char *path = uri != NULL ? g_uri_get_path (uri) : "";
  const char *slash = strrchr (path, '/');
  g_autofree char *name = g_uri_unescape_string (slash != NULL ? slash + 1 : path, "/");

  if (name == NULL || name[0] == '\0' || name[0] == '.')
    return g_strdup (DEFAULT_FILE_NAME);

  /* Control characters make poor file names. */
  for (char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = '_';

  return g_steal_pointer (&name);
}

static gboolean
file_is_taken (DlDownloadManager *self,
               GFile             *file)
{
  g_autofree char *basename = g_file_get_basename (file);
  g_autofree char *part_name = g_strconcat (basename, ".part", NULL);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autoptr(GFile) part = g_file_get_child (parent, part_name);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->downloads));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (G_LIST_MODEL (self->downloads), i);

      if (g_file_equal (dl_download_get_file (download), file))
        return TRUE;
    }

  return g_file_query_exists (file, NULL) || g_file_query_exists (part, NULL);
}

/* "name.ext", then "name (2).ext", "name (3).ext"… as file managers do. */
static GFile *
unique_file (DlDownloadManager *self,
             GFile             *folder,
             const char        *name)
{
  const char *dot = strrchr (name, '.');
  g_autofree char *stem = dot != NULL && dot != name ? g_strndup (name, dot - name) : g_strdup (name);
  const char *extension = dot != NULL && dot != name ? dot : "";
  GFile *file = g_file_get_child (folder, name);

  for (guint i = 2; file_is_taken (self, file); i++)
    {
      g_autofree char *numbered = g_strdup_printf ("%s (%u)%s", stem, i, extension);

      g_object_unref (file);
      file = g_file_get_child (folder, numbered);
    }

  return file;
}

/**
 * dl_download_manager_add:
 * @url: a web address, as typed or pasted
 * @folder: where to save it
 * @error: return location for an error, in plain words
 *
 * Adds a download to the end of the list, queued: it starts as soon as
 * fewer than max-concurrent run. Its file is named after the URL's last
 * path segment, numbered if that name is taken.
 *
 * Returns: (transfer none) (nullable): the new download, or %NULL with
 *   @error set if @url is not an http or https address
 */
DlDownload *
dl_download_manager_add (DlDownloadManager  *self,
                         const char         *url,
                         GFile              *folder,
                         GError            **error)
{
  g_autofree char *clean_url = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(DlDownload) download = NULL;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (folder), NULL);

  if (!dl_download_manager_parse_url (url, &clean_url, error))
    return NULL;

  name = file_name_for_url (clean_url);
  file = unique_file (self, folder, name);
  download = dl_download_new (clean_url, file);
  g_list_store_append (self->downloads, download);

  save_or_report (self);
  schedule (self);

  return download;
}

void
dl_download_manager_pause (DlDownloadManager *self,
                           DlDownload        *download)
{
  GCurlTransfer *transfer;
  Run *run;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  switch (dl_download_get_state (download))
    {
    case DL_DOWNLOAD_STATE_QUEUED:
      dl_download_set_state (download, DL_DOWNLOAD_STATE_PAUSED);
      break;

    case DL_DOWNLOAD_STATE_DOWNLOADING:
      transfer = dl_download_get_transfer (download);
      run = g_hash_table_lookup (self->runs, download);
      dl_download_set_state (download, DL_DOWNLOAD_STATE_PAUSED);
      if (transfer != NULL && g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_RUNNING)
        g_curl_transfer_pause (transfer);
      else if (run != NULL)
        {
          /* Not receiving (waiting to retry): stop, keep the .part. */
          run->stop = STOP_PAUSE;
          g_cancellable_cancel (run->cancellable);
        }
      break;

    case DL_DOWNLOAD_STATE_PAUSED:
    case DL_DOWNLOAD_STATE_FAILED:
    case DL_DOWNLOAD_STATE_DONE:
    default:
      return;
    }

  save_or_report (self);
  schedule (self);
}

void
dl_download_manager_resume (DlDownloadManager *self,
                            DlDownload        *download)
{
  GCurlTransfer *transfer;
  Run *run;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_PAUSED)
    return;

  transfer = dl_download_get_transfer (download);
  run = g_hash_table_lookup (self->runs, download);
  if (run != NULL && run->stop == STOP_NONE)
    {
      /* Paused live: the same connection continues. It may make one more
       * download run than max-concurrent, until one ends. */
      dl_download_set_state (download, DL_DOWNLOAD_STATE_DOWNLOADING);
      if (transfer != NULL)
        g_curl_transfer_resume (transfer);
    }
  else
    {
      dl_download_set_state (download, DL_DOWNLOAD_STATE_QUEUED);
    }

  save_or_report (self);
  schedule (self);
}

void
dl_download_manager_retry (DlDownloadManager *self,
                           DlDownload        *download)
{
  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_FAILED)
    return;

  dl_download_set_error_message (download, NULL);
  dl_download_set_state (download, DL_DOWNLOAD_STATE_QUEUED);
  save_or_report (self);
  schedule (self);
}

/**
 * dl_download_manager_remove:
 *
 * Takes @download off the list. An unfinished one is cancelled and its
 * data so far deleted; a finished one's file stays where it is.
 */
void
dl_download_manager_remove (DlDownloadManager *self,
                            DlDownload        *download)
{
  g_autoptr(DlDownload) kept = NULL;
  Run *run;
  guint position;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  if (!find_download (self, download, &position))
    return;

  kept = g_object_ref (download);
  g_list_store_remove (self->downloads, position);

  run = g_hash_table_lookup (self->runs, download);
  if (run != NULL)
    {
      /* The .part is deleted once the run has closed it. */
      run->stop = STOP_REMOVE;
      g_cancellable_cancel (run->cancellable);
    }
  else if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_DONE)
    {
      delete_part_file (download);
    }

  save_or_report (self);
  schedule (self);
}

/* Takes the downloads that are done off the list (their files stay). */
void
dl_download_manager_clear_finished (DlDownloadManager *self)
{
  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->downloads)); i > 0; i--)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (G_LIST_MODEL (self->downloads), i - 1);

      if (dl_download_get_state (download) == DL_DOWNLOAD_STATE_DONE)
        g_list_store_remove (self->downloads, i - 1);
    }
}

guint
dl_download_manager_get_max_concurrent (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), 0);

  return self->max_concurrent;
}

void
dl_download_manager_set_max_concurrent (DlDownloadManager *self,
                                        guint              max_concurrent)
{
  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (max_concurrent > 0);

  if (self->max_concurrent == max_concurrent)
    return;

  /* A lower limit lets the running downloads finish; it holds back the
   * queued ones only. */
  self->max_concurrent = max_concurrent;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONCURRENT]);
  schedule (self);
}

gint64
dl_download_manager_get_speed_limit (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), 0);

  return self->speed_limit;
}

void
dl_download_manager_set_speed_limit (DlDownloadManager *self,
                                     gint64             bytes_per_second)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (bytes_per_second >= 0);

  if (self->speed_limit == bytes_per_second)
    return;

  self->speed_limit = bytes_per_second;

  /* The library applies a new limit to a running transfer at once. */
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      GCurlTransfer *transfer = dl_download_get_transfer (key);

      if (transfer != NULL)
        g_curl_transfer_set_max_download_speed (transfer, bytes_per_second);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEED_LIMIT]);
}

gboolean
dl_download_manager_get_active (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), FALSE);

  return self->active;
}

static gint64
query_size (GFile *file)
{
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  return info != NULL ? g_file_info_get_size (info) : -1;
}

/**
 * dl_download_manager_load:
 * @error: return location for an error
 *
 * Adds the unfinished downloads saved by an earlier run to the list:
 * paused ones stay paused, failed ones failed (with their message), and the
 * others are queued, to continue where their .part file ends. A missing
 * file is an empty list, not an error.
 *
 * Returns: %FALSE with @error set if the file exists but cannot be read
 */
gboolean
dl_download_manager_load (DlDownloadManager  *self,
                          GError            **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), FALSE);

  if (self->state_path == NULL)
    return TRUE;

  if (!g_key_file_load_from_file (key_file, self->state_path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *url = g_key_file_get_string (key_file, groups[i], "Url", NULL);
      g_autofree char *path = g_key_file_get_string (key_file, groups[i], "File", NULL);
      g_autofree char *state_name = g_key_file_get_string (key_file, groups[i], "State", NULL);
      g_autofree char *message = g_key_file_get_string (key_file, groups[i], "Error", NULL);
      gint64 size = g_key_file_get_int64 (key_file, groups[i], "Size", NULL);
      g_autoptr(GFile) file = NULL;
      g_autoptr(DlDownload) download = NULL;
      DlDownloadState state = DL_DOWNLOAD_STATE_QUEUED;

      /* A hand-edited or damaged entry is skipped, not fatal. */
      if (!g_str_has_prefix (groups[i], GROUP_PREFIX) || url == NULL || path == NULL ||
          !g_path_is_absolute (path))
        continue;
      dl_download_state_from_string (state_name, &state);

      file = g_file_new_for_path (path);
      download = dl_download_new (url, file);

      if (g_file_query_exists (file, NULL))
        {
          /* It completed after the list was last saved. */
          gint64 file_size = query_size (file);

          dl_download_set_progress (download, MAX (file_size, 0), MAX (file_size, 0));
          state = DL_DOWNLOAD_STATE_DONE;
        }
      else
        {
          dl_download_set_progress (download, MAX (query_size (dl_download_get_part_file (download)), 0),
                                    size > 0 ? size : -1);
        }

      if (state == DL_DOWNLOAD_STATE_DOWNLOADING)
        state = DL_DOWNLOAD_STATE_QUEUED;
      if (state == DL_DOWNLOAD_STATE_FAILED)
        dl_download_set_error_message (download, message);
      dl_download_set_state (download, state);
      g_list_store_append (self->downloads, download);
    }

  schedule (self);
  return TRUE;
}

/**
 * dl_download_manager_save:
 * @error: return location for an error
 *
 * Writes the unfinished downloads to the state file, atomically (a crash
 * leaves the old list or the new one, never half of one). A download that
 * runs is saved as queued: the next run of the app continues it.
 *
 * Returns: %FALSE with @error set if the file could not be written
 */
gboolean
dl_download_manager_save (DlDownloadManager  *self,
                          GError            **error)
{
  g_autoptr(GKeyFile) key_file = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *data = NULL;
  guint n, n_saved = 0;
  gsize length;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), FALSE);

  if (self->state_path == NULL)
    return TRUE;

  key_file = g_key_file_new ();
  n = g_list_model_get_n_items (G_LIST_MODEL (self->downloads));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (G_LIST_MODEL (self->downloads), i);
      DlDownloadState state = dl_download_get_state (download);
      g_autofree char *group = NULL;
      g_autofree char *path = NULL;

      path = g_file_get_path (dl_download_get_file (download));
      if (state == DL_DOWNLOAD_STATE_DONE || path == NULL)
        continue;
      if (state == DL_DOWNLOAD_STATE_DOWNLOADING)
        state = DL_DOWNLOAD_STATE_QUEUED;

      group = g_strdup_printf (GROUP_PREFIX "%u", n_saved++);
      g_key_file_set_string (key_file, group, "Url", dl_download_get_url (download));
      g_key_file_set_string (key_file, group, "File", path);
      g_key_file_set_string (key_file, group, "State", dl_download_state_to_string (state));
      if (dl_download_get_size (download) > 0)
        g_key_file_set_int64 (key_file, group, "Size", dl_download_get_size (download));
      if (state == DL_DOWNLOAD_STATE_FAILED && dl_download_get_error_message (download) != NULL)
        g_key_file_set_string (key_file, group, "Error", dl_download_get_error_message (download));
    }

  folder = g_path_get_dirname (self->state_path);
  if (g_mkdir_with_parents (folder, 0700) < 0)
    {
      int errsv = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv),
                   "%s: %s", folder, g_strerror (errsv));
      return FALSE;
    }

  data = g_key_file_to_data (key_file, &length, NULL);
  return g_file_set_contents_full (self->state_path, data, length,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/**
 * dl_download_manager_stop_all:
 *
 * Before the app quits: saves the list, then stops every running download,
 * keeping its .part for the next run. Nothing starts after this. The runs
 * end from the main loop: iterate it until
 * dl_download_manager_is_stopped() is %TRUE.
 */
void
dl_download_manager_stop_all (DlDownloadManager *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));

  if (self->stopping)
    return;

  save_or_report (self);
  self->stopping = TRUE;

  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Run *run = value;

      if (run->stop == STOP_NONE || run->stop == STOP_PAUSE)
        run->stop = STOP_SHUTDOWN;
      g_cancellable_cancel (run->cancellable);
    }
}

gboolean
dl_download_manager_is_stopped (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), TRUE);

  return self->stopping && g_hash_table_size (self->runs) == 0;
}
