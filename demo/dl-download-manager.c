/* dl-download-manager.c: the list of downloads, and what runs them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The manager owns the one GCurlMulti of the app and the list of the
 * downloads the app keeps, finished and stopped ones included (the window
 * shows the running ones from the multi's own GListModel, and the others
 * from this list). A download to run is started at once, and the multi
 * queues it: max-concurrent is the multi's max-total-connections, and with
 * multiplexing off every download has a connection of its own, so that is
 * how many run at once (G_CURL_TRANSFER_STATE_QUEUED for the others). The
 * speed limit is the multi's max-download-speed, shared by all.
 *
 * The first start of a download is g_curl_multi_download_to_directory_async()
 * into its folder: the server names the file (Content-Disposition, else the
 * URL; a name taken is numbered). Once named, a download is always
 * continued in the same file, with g_curl_multi_download_async() and
 * G_CURL_DOWNLOAD_RESUME, so that every start (after a stop, a failure or
 * a restart of the app) continues the .part where it stopped.
 *
 * Pausing a running download pauses its transfer: the connection stays,
 * resuming is instant, and the pause holds across the download's retries.
 * A paused transfer keeps its connection, though, and with it its place
 * under the limit: when a download waits for a connection that a paused
 * one holds, the paused one is stopped instead, keeping its .part (see
 * yield_connections()), so that a paused download never holds up the
 * others. A queued download is always stopped: given a connection, a
 * paused transfer would hold it.
 *
 * The unfinished downloads are kept in a small key file, rewritten
 * atomically whenever one is added, removed, named or changes state, so
 * that they come back after the app is quit, or killed.
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

/* The groups of the saved list: "Download 0", "Download 1"… */
#define GROUP_PREFIX "Download "

/* Beside a .part, on file systems without extended attributes. */
#define VALIDATORS_SUFFIX ".validators"

/* Why a run was cancelled, so that its end does the right thing. */
typedef enum {
  STOP_NONE,
  STOP_PAUSE,      /* keep the .part; paused, or queued again by a resume since */
  STOP_REQUEUE,    /* keep the .part and start again: a raised limit has room */
  STOP_REMOVE,     /* the person cancelled it: delete the .part */
  STOP_SHUTDOWN,   /* the app quits: keep everything for the next run */
} StopReason;

/* One run of a download: owned by its callback. */
typedef struct
{
  DlDownloadManager *manager;
  DlDownload        *download;
  GCurlTransfer     *transfer;
  GCancellable      *cancellable;
  StopReason         stop;
  gboolean           holds_connection;  /* paused while it had one */
} Run;

struct _DlDownloadManager
{
  GObject      parent_instance;

  GCurlMulti  *multi;          /* runs the downloads, and queues them */
  GListStore  *downloads;      /* (element-type DlDownload) */
  GHashTable  *runs;           /* DlDownload → Run, while a run has not ended */
  GHashTable  *by_transfer;    /* GCurlTransfer → Run: the same runs */
  char        *state_path;     /* the saved list, or NULL to keep none */

  gboolean     active;         /* some download runs */
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
  SIGNAL_RUN_CHANGED,
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start (DlDownloadManager *self,
                   DlDownload        *download);

static void
run_free (Run *run)
{
  g_signal_handlers_disconnect_by_data (run->transfer, run);
  g_object_unref (run->manager);
  g_object_unref (run->download);
  g_object_unref (run->transfer);
  g_object_unref (run->cancellable);
  g_free (run);
}

static void
stop_run (Run        *run,
          StopReason  stop)
{
  run->stop = stop;
  g_cancellable_cancel (run->cancellable);
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
  gboolean active = g_hash_table_size (self->runs) > 0;

  if (active == self->active)
    return;

  self->active = active;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

/* A paused transfer that had a connection keeps it, and counts against
 * max-total-connections: while a download waits for a connection and
 * only paused ones could free one, stop those (their .part stays, and
 * resuming continues it), one per waiting download. Counted from the
 * states: a QUEUED transfer may also be making its connection, so a
 * paused one yields only when the running and the paused ones fill every
 * connection. Called whenever a transfer's state changes. */
static void
yield_connections (DlDownloadManager *self)
{
  GListModel *transfers = G_LIST_MODEL (self->multi);
  guint n = g_list_model_get_n_items (transfers);
  guint max = dl_download_manager_get_max_concurrent (self);
  guint n_queued = 0, n_running = 0, n_holding = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_list_model_get_item (transfers, i);
      Run *run = g_hash_table_lookup (self->by_transfer, transfer);

      if (run == NULL || run->stop != STOP_NONE)
        continue;
      switch (g_curl_transfer_get_state (transfer))
        {
        case G_CURL_TRANSFER_STATE_QUEUED:
          n_queued++;
          break;
        case G_CURL_TRANSFER_STATE_RUNNING:
          n_running++;
          break;
        case G_CURL_TRANSFER_STATE_PAUSED:
          n_holding += run->holds_connection;
          break;
        default:
          break;
        }
    }

  for (guint i = 0; i < n && n_holding > 0 && n_queued > 0 && n_running + n_holding >= max; i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_list_model_get_item (transfers, i);
      Run *run = g_hash_table_lookup (self->by_transfer, transfer);

      if (run == NULL || run->stop != STOP_NONE || !run->holds_connection ||
          g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_PAUSED)
        continue;

      stop_run (run, STOP_PAUSE);
      n_holding--;
      n_queued--;
    }
}

/* While a run lasts, its download is where its transfer is. How the run
 * ends (succeeded, failed, cancelled) is for run_ended() to say: a
 * download's attempts end too, and go on. */
static void
transfer_state_cb (GCurlTransfer *transfer,
                   GParamSpec    *pspec,
                   Run           *run)
{
  DlDownloadState state;

  if (run->stop != STOP_NONE)
    return;

  switch (g_curl_transfer_get_state (transfer))
    {
    case G_CURL_TRANSFER_STATE_NEW:
    case G_CURL_TRANSFER_STATE_QUEUED:
      state = DL_DOWNLOAD_STATE_QUEUED;
      break;
    case G_CURL_TRANSFER_STATE_RUNNING:
      run->holds_connection = FALSE;
      state = DL_DOWNLOAD_STATE_DOWNLOADING;
      break;
    case G_CURL_TRANSFER_STATE_PAUSED:
      state = DL_DOWNLOAD_STATE_PAUSED;
      break;
    case G_CURL_TRANSFER_STATE_RETRYING:
      /* Paused between attempts, a download has no connection. */
      run->holds_connection = FALSE;
      state = DL_DOWNLOAD_STATE_RETRYING;
      break;
    case G_CURL_TRANSFER_STATE_SUCCEEDED:
    case G_CURL_TRANSFER_STATE_FAILED:
    case G_CURL_TRANSFER_STATE_CANCELLED:
    default:
      return;
    }

  dl_download_set_state (run->download, state);
  yield_connections (run->manager);
}

/* An unlink: quick enough for the main thread, and done before the app
 * may quit. */
static void
delete_part_file (DlDownload *download)
{
  GFile *part = dl_download_get_part_file (download);
  g_autofree char *validators_name = NULL;
  g_autofree char *part_name = NULL;
  g_autoptr(GFile) parent = NULL;
  g_autoptr(GFile) validators = NULL;

  /* Not named yet: no response came, so no .part was made. */
  if (part == NULL)
    return;

  g_file_delete (part, NULL, NULL);

  part_name = g_file_get_basename (part);
  validators_name = g_strconcat (part_name, VALIDATORS_SUFFIX, NULL);
  parent = g_file_get_parent (part);
  validators = g_file_get_child (parent, validators_name);
  g_file_delete (validators, NULL, NULL);
}

/* The end of a run, whichever call made it. */
static void
run_ended (Run          *run,
           gboolean      succeeded,
           const GError *error)
{
  DlDownloadManager *self = run->manager;
  DlDownload *download = run->download;
  GCurlTransfer *transfer = run->transfer;
  gboolean again = FALSE;

  if (g_hash_table_lookup (self->runs, download) == run)
    g_hash_table_remove (self->runs, download);
  g_hash_table_remove (self->by_transfer, transfer);

  /* Once the whole body is in, even a cancel completes the file. */
  if (succeeded && run->stop != STOP_REMOVE)
    {
      gint64 size = dl_download_get_size (download);

      if (g_curl_transfer_get_download_size (transfer) >= 0)
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
                               g_curl_transfer_get_status_code (transfer));

            dl_download_set_error_message (download, message);
            dl_download_set_state (download, DL_DOWNLOAD_STATE_FAILED);
            g_signal_emit (self, signals[SIGNAL_DOWNLOAD_FINISHED], 0, download);
          }
          break;
        case STOP_REMOVE:
          if (!succeeded)
            delete_part_file (download);
          break;
        case STOP_PAUSE:
          /* Resumed while it stopped: dl_download_manager_resume(). */
          again = dl_download_get_state (download) == DL_DOWNLOAD_STATE_QUEUED;
          break;
        case STOP_REQUEUE:
          again = TRUE;
          break;
        case STOP_SHUTDOWN:
        default:
          break;
        }
    }

  g_signal_emit (self, signals[SIGNAL_RUN_CHANGED], 0, download);
  if (!self->stopping)
    {
      if (again)
        start (self, download);
      save_or_report (self);
    }
  update_active (self);
  run_free (run);
}

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean succeeded;

  succeeded = g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error);
  run_ended (user_data, succeeded, error);
}

static void
directory_download_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;

  file = g_curl_multi_download_to_directory_finish (G_CURL_MULTI (source), result, &error);
  if (file != NULL)
    dl_download_set_file (run->download, file);
  run_ended (run, file != NULL, error);
}

static void
start (DlDownloadManager *self,
       DlDownload        *download)
{
  GFile *folder = dl_download_get_folder (download);
  GFile *file = dl_download_get_file (download);
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

  run = g_new0 (Run, 1);
  run->manager = g_object_ref (self);
  run->download = g_object_ref (download);
  run->transfer = g_curl_transfer_new (dl_download_get_url (download));
  run->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->runs, download, run);
  g_hash_table_insert (self->by_transfer, run->transfer, run);
  g_signal_connect (run->transfer, "notify::state", G_CALLBACK (transfer_state_cb), run);

  dl_download_set_transfer (download, run->transfer);
  dl_download_set_error_message (download, NULL);
  dl_download_set_state (download, DL_DOWNLOAD_STATE_QUEUED);

  /* Named once, by the server, and then always the same file: its .part
   * is continued if the server still has the same file (download_async
   * compares the validators), and started over if not. Not named yet, it
   * gets a new name: a .part of the same file in the folder may be
   * another download's of the list, paused, and is not to be taken. */
  if (file != NULL)
    g_curl_multi_download_async (self->multi, run->transfer, file, G_CURL_DOWNLOAD_RESUME,
                                 run->cancellable, download_cb, run);
  else
    g_curl_multi_download_to_directory_async (self->multi, run->transfer, folder,
                                              G_CURL_DOWNLOAD_NONE, run->cancellable,
                                              directory_download_cb, run);

  /* Added, the transfer may be past NEW already. */
  transfer_state_cb (run->transfer, NULL, run);
  g_signal_emit (self, signals[SIGNAL_RUN_CHANGED], 0, download);
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
  g_hash_table_unref (self->by_transfer);
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
      g_value_set_uint (value, dl_download_manager_get_max_concurrent (self));
      break;
    case PROP_SPEED_LIMIT:
      g_value_set_int64 (value, dl_download_manager_get_speed_limit (self));
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

  /* How many downloads run at once (the multi's max-total-connections);
   * more wait, queued. */
  properties[PROP_MAX_CONCURRENT] =
    g_param_spec_uint ("max-concurrent", NULL, NULL, 1, G_MAXINT, DEFAULT_MAX_CONCURRENT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Bytes per second for all the downloads together (the multi's
   * max-download-speed), 0 for no limit; applies at once to the running
   * ones too. */
  properties[PROP_SPEED_LIMIT] =
    g_param_spec_int64 ("speed-limit", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Some download runs: it is queued, downloading, retrying, or paused
   * with its transfer. */
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
   * DlDownloadManager::run-changed:
   * @download: the download
   *
   * A run of @download started or ended: its transfer joined the
   * multi's list, or has left it (see dl_download_manager_is_running()).
   */
  signals[SIGNAL_RUN_CHANGED] =
    g_signal_new ("run-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
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
  /* One connection per download, so that the connection limit is the
   * number of downloads at once: HTTP/2 would otherwise carry every
   * download from one server on one connection. */
  self->multi = g_object_new (G_CURL_TYPE_MULTI,
                              "progress-interval", PROGRESS_INTERVAL_MS,
                              "max-total-connections", DEFAULT_MAX_CONCURRENT,
                              "multiplex", FALSE,
                              NULL);
  self->downloads = g_list_store_new (DL_TYPE_DOWNLOAD);
  self->runs = g_hash_table_new (NULL, NULL);
  self->by_transfer = g_hash_table_new (NULL, NULL);
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
 *   order they were added: the running ones, which the multi lists too,
 *   and the paused, failed and finished ones
 */
GListModel *
dl_download_manager_get_downloads (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);

  return G_LIST_MODEL (self->downloads);
}

/**
 * dl_download_manager_get_multi:
 *
 * Returns: (transfer none): the multi that runs the downloads: its
 *   GListModel lists the transfers of the running ones (see
 *   dl_download_manager_lookup()), in the order they started, and its
 *   sums are theirs
 */
GCurlMulti *
dl_download_manager_get_multi (DlDownloadManager *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);

  return self->multi;
}

/**
 * dl_download_manager_lookup:
 * @transfer: a transfer of the manager's multi
 *
 * Returns: (transfer none) (nullable): the download @transfer runs, or
 *   %NULL if its run has ended
 */
DlDownload *
dl_download_manager_lookup (DlDownloadManager *self,
                            GCurlTransfer     *transfer)
{
  Run *run;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);
  g_return_val_if_fail (G_CURL_IS_TRANSFER (transfer), NULL);

  run = g_hash_table_lookup (self->by_transfer, transfer);
  return run != NULL ? run->download : NULL;
}

/* Whether a run of @download has started and not ended: its transfer is
 * in the multi's list (or about to join it, or just left it). */
gboolean
dl_download_manager_is_running (DlDownloadManager *self,
                                DlDownload        *download)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), FALSE);
  g_return_val_if_fail (DL_IS_DOWNLOAD (download), FALSE);

  return g_hash_table_contains (self->runs, download);
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

/* Saved as soon as the server has named it: the next run of the app
 * continues that file. */
static void
download_file_cb (DlDownloadManager *self)
{
  if (!self->stopping)
    save_or_report (self);
}

static void
append_download (DlDownloadManager *self,
                 DlDownload        *download)
{
  g_signal_connect_object (download, "notify::file", G_CALLBACK (download_file_cb),
                           self, G_CONNECT_SWAPPED);
  g_list_store_append (self->downloads, download);
}

/**
 * dl_download_manager_add:
 * @url: a web address, as typed or pasted
 * @folder: where to save it
 * @error: return location for an error, in plain words
 *
 * Adds a download to the end of the list, and starts it: it waits, queued,
 * while max-concurrent others run. The server names its file (a name
 * taken in @folder is numbered: "name (1).ext").
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
  g_autoptr(DlDownload) download = NULL;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (folder), NULL);

  if (!dl_download_manager_parse_url (url, &clean_url, error))
    return NULL;

  download = dl_download_new (clean_url, folder, NULL);
  append_download (self, download);
  if (!self->stopping)
    start (self, download);
  save_or_report (self);

  return download;
}

void
dl_download_manager_pause (DlDownloadManager *self,
                           DlDownload        *download)
{
  Run *run;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  switch (dl_download_get_state (download))
    {
    case DL_DOWNLOAD_STATE_QUEUED:
    case DL_DOWNLOAD_STATE_DOWNLOADING:
    case DL_DOWNLOAD_STATE_RETRYING:
      break;
    case DL_DOWNLOAD_STATE_PAUSED:
    case DL_DOWNLOAD_STATE_FAILED:
    case DL_DOWNLOAD_STATE_DONE:
    default:
      return;
    }

  run = g_hash_table_lookup (self->runs, download);
  dl_download_set_state (download, DL_DOWNLOAD_STATE_PAUSED);
  if (run != NULL && run->stop == STOP_NONE)
    {
      switch (g_curl_transfer_get_state (run->transfer))
        {
        case G_CURL_TRANSFER_STATE_RUNNING:
          /* The connection stays (unless another download needs it). */
          run->holds_connection = TRUE;
          g_curl_transfer_pause (run->transfer);
          yield_connections (self);
          break;
        case G_CURL_TRANSFER_STATE_RETRYING:
          /* Its next attempt waits for resume(). */
          g_curl_transfer_pause (run->transfer);
          break;
        default:
          /* Queued, or about to be: it would take a connection and hold
           * it. Stop it, keeping the .part. */
          stop_run (run, STOP_PAUSE);
          break;
        }
    }
  else if (run != NULL)
    {
      /* Stopping already: it stays stopped. */
      run->stop = run->stop == STOP_REQUEUE ? STOP_PAUSE : run->stop;
    }

  save_or_report (self);
}

void
dl_download_manager_resume (DlDownloadManager *self,
                            DlDownload        *download)
{
  Run *run;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_PAUSED)
    return;

  run = g_hash_table_lookup (self->runs, download);
  if (run != NULL && run->stop == STOP_NONE)
    {
      /* Paused live: the same transfer continues, on the same connection
       * if it had one. Its state says where it is now. */
      run->holds_connection = FALSE;
      g_curl_transfer_resume (run->transfer);
      transfer_state_cb (run->transfer, NULL, run);
    }
  else if (run != NULL)
    {
      /* Its run is stopping: run_ended() starts it again. */
      dl_download_set_state (download, DL_DOWNLOAD_STATE_QUEUED);
    }
  else if (!self->stopping)
    {
      start (self, download);
    }

  save_or_report (self);
}

void
dl_download_manager_retry (DlDownloadManager *self,
                           DlDownload        *download)
{
  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (DL_IS_DOWNLOAD (download));

  if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_FAILED || self->stopping)
    return;

  dl_download_set_error_message (download, NULL);
  start (self, download);
  save_or_report (self);
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

  if (!g_list_store_find (self->downloads, download, &position))
    return;

  kept = g_object_ref (download);
  g_signal_handlers_disconnect_by_data (download, self);
  g_list_store_remove (self->downloads, position);

  run = g_hash_table_lookup (self->runs, download);
  if (run != NULL)
    {
      /* The .part is deleted once the run has closed it. */
      stop_run (run, STOP_REMOVE);
    }
  else if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_DONE)
    {
      delete_part_file (download);
    }

  save_or_report (self);
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
        {
          g_signal_handlers_disconnect_by_data (download, self);
          g_list_store_remove (self->downloads, i - 1);
        }
    }
}

guint
dl_download_manager_get_max_concurrent (DlDownloadManager *self)
{
  guint max_concurrent = 0;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), 0);

  g_object_get (self->multi, "max-total-connections", &max_concurrent, NULL);
  return max_concurrent;
}

/* libcurl (7.88) looks at the transfers waiting for a connection only
 * when one leaves: a raised limit would start them as the running ones
 * end. Start the queued ones again instead, in their order, so that those
 * the new limit has room for run at once (their .part is kept). */
static void
requeue_waiting (DlDownloadManager *self)
{
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();
  GListModel *transfers = G_LIST_MODEL (self->multi);

  for (guint i = 0; i < g_list_model_get_n_items (transfers); i++)
    {
      g_autoptr(GCurlTransfer) transfer = g_list_model_get_item (transfers, i);
      Run *run = g_hash_table_lookup (self->by_transfer, transfer);

      if (run != NULL && run->stop == STOP_NONE &&
          g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_QUEUED)
        g_ptr_array_add (waiting, run);
    }

  for (guint i = 0; i < waiting->len; i++)
    stop_run (g_ptr_array_index (waiting, i), STOP_REQUEUE);
}

void
dl_download_manager_set_max_concurrent (DlDownloadManager *self,
                                        guint              max_concurrent)
{
  guint old;

  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (max_concurrent > 0);

  old = dl_download_manager_get_max_concurrent (self);
  if (old == max_concurrent)
    return;

  /* A lower limit lets the running downloads finish; it holds back the
   * queued ones only. */
  g_object_set (self->multi, "max-total-connections", max_concurrent, NULL);
  if (max_concurrent > old)
    requeue_waiting (self);
  else
    yield_connections (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONCURRENT]);
}

gint64
dl_download_manager_get_speed_limit (DlDownloadManager *self)
{
  gint64 bytes_per_second = 0;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (self), 0);

  g_object_get (self->multi, "max-download-speed", &bytes_per_second, NULL);
  return bytes_per_second;
}

void
dl_download_manager_set_speed_limit (DlDownloadManager *self,
                                     gint64             bytes_per_second)
{
  g_return_if_fail (DL_IS_DOWNLOAD_MANAGER (self));
  g_return_if_fail (bytes_per_second >= 0);

  if (dl_download_manager_get_speed_limit (self) == bytes_per_second)
    return;

  /* The multi shares it between its transfers, and the running ones
   * follow it at once. */
  g_object_set (self->multi, "max-download-speed", bytes_per_second, NULL);
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
 * others start again, to continue where their .part file ends. A missing
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
  g_autoptr(GPtrArray) to_start = g_ptr_array_new_with_free_func (g_object_unref);
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
      g_autofree char *folder_path = g_key_file_get_string (key_file, groups[i], "Folder", NULL);
      g_autofree char *path = g_key_file_get_string (key_file, groups[i], "File", NULL);
      g_autofree char *state_name = g_key_file_get_string (key_file, groups[i], "State", NULL);
      g_autofree char *message = g_key_file_get_string (key_file, groups[i], "Error", NULL);
      gint64 size = g_key_file_get_int64 (key_file, groups[i], "Size", NULL);
      g_autoptr(GFile) folder = NULL;
      g_autoptr(GFile) file = NULL;
      g_autoptr(DlDownload) download = NULL;
      DlDownloadState state = DL_DOWNLOAD_STATE_QUEUED;

      /* A hand-edited or damaged entry is skipped, not fatal. A list saved
       * before downloads had a folder names the file only. */
      if (!g_str_has_prefix (groups[i], GROUP_PREFIX) || url == NULL ||
          (path == NULL && folder_path == NULL) ||
          (path != NULL && !g_path_is_absolute (path)) ||
          (folder_path != NULL && !g_path_is_absolute (folder_path)))
        continue;
      dl_download_state_from_string (state_name, &state);

      file = path != NULL ? g_file_new_for_path (path) : NULL;
      folder = folder_path != NULL ? g_file_new_for_path (folder_path) : g_file_get_parent (file);
      download = dl_download_new (url, folder, file);

      if (file != NULL && g_file_query_exists (file, NULL))
        {
          /* It completed after the list was last saved. */
          gint64 file_size = query_size (file);

          dl_download_set_progress (download, MAX (file_size, 0), MAX (file_size, 0));
          state = DL_DOWNLOAD_STATE_DONE;
        }
      else if (file != NULL)
        {
          dl_download_set_progress (download, MAX (query_size (dl_download_get_part_file (download)), 0),
                                    size > 0 ? size : -1);
        }

      if (state == DL_DOWNLOAD_STATE_FAILED)
        dl_download_set_error_message (download, message);
      if (state == DL_DOWNLOAD_STATE_FAILED || state == DL_DOWNLOAD_STATE_PAUSED ||
          state == DL_DOWNLOAD_STATE_DONE)
        dl_download_set_state (download, state);
      else
        g_ptr_array_add (to_start, g_object_ref (download));
      append_download (self, download);
    }

  /* In the list's order: the multi queues them in that order. */
  for (guint i = 0; i < to_start->len && !self->stopping; i++)
    start (self, g_ptr_array_index (to_start, i));
  if (to_start->len > 0)
    save_or_report (self);
  return TRUE;
}

/**
 * dl_download_manager_save:
 * @error: return location for an error
 *
 * Writes the unfinished downloads to the state file, atomically (a crash
 * leaves the old list or the new one, never half of one). A download that
 * runs is saved as queued: the next run of the app continues it, in the
 * file the server named if it has, else in its folder.
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
      GFile *file = dl_download_get_file (download);
      g_autofree char *group = NULL;
      g_autofree char *folder_path = NULL;
      g_autofree char *path = NULL;

      folder_path = g_file_get_path (dl_download_get_folder (download));
      path = file != NULL ? g_file_get_path (file) : NULL;
      if (state == DL_DOWNLOAD_STATE_DONE || folder_path == NULL ||
          (file != NULL && path == NULL))
        continue;
      if (state == DL_DOWNLOAD_STATE_DOWNLOADING || state == DL_DOWNLOAD_STATE_RETRYING)
        state = DL_DOWNLOAD_STATE_QUEUED;
      /* Paused with its transfer: paused for the next run too. */

      group = g_strdup_printf (GROUP_PREFIX "%u", n_saved++);
      g_key_file_set_string (key_file, group, "Url", dl_download_get_url (download));
      g_key_file_set_string (key_file, group, "Folder", folder_path);
      if (path != NULL)
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

      if (run->stop != STOP_REMOVE)
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
