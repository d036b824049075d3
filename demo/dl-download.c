/* dl-download.c: one download in the downloader's list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A download is what the list shows and what outlives a run of the app:
 * its URL, its folder, its file, where it is and how far it got. The
 * transfer that moves its bytes is made anew for each start (a paused,
 * failed or restored download has none running), and the download follows
 * that transfer's byte counts so that they are still there once it has
 * ended.
 *
 * The file is not known when the download is added: the server names it
 * (g_curl_multi_download_to_directory_async(), from Content-Disposition),
 * and the download takes the transfer's "destination" as soon as it is
 * chosen. Until then its name is a guess from the URL.
 */

#include "dl-config.h"

#include <string.h>

#include "dl-download.h"

struct _DlDownload
{
  GObject          parent_instance;

  char            *url;
  GFile           *folder;          /* where the server's name is made */
  GFile           *file;            /* where the complete file goes, or NULL
                                     * until the server has named it */
  GFile           *part_file;       /* "<file>.part": the data so far */
  char            *display_name;    /* the file's name, or a guess */

  DlDownloadState  state;
  char            *error_message;   /* in plain words; NULL unless FAILED */

  GCurlTransfer   *transfer;        /* the current or last run, or NULL */
  gint64           downloaded_bytes;
  gint64           size;            /* -1 while unknown */
};

G_DEFINE_FINAL_TYPE (DlDownload, dl_download, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (DlDownloadState, dl_download_state,
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_QUEUED, "queued"),
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_DOWNLOADING, "downloading"),
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_FAILED, "failed"),
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_DONE, "done"),
  G_DEFINE_ENUM_VALUE (DL_DOWNLOAD_STATE_RETRYING, "retrying"))

enum {
  PROP_0,
  PROP_URL,
  PROP_FOLDER,
  PROP_FILE,
  PROP_DISPLAY_NAME,
  PROP_STATE,
  PROP_TRANSFER,
  PROP_ERROR_MESSAGE,
  PROP_DOWNLOADED_BYTES,
  PROP_SIZE,
  PROP_FRACTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
dl_download_dispose (GObject *object)
{
  DlDownload *self = DL_DOWNLOAD (object);

  dl_download_set_transfer (self, NULL);

  G_OBJECT_CLASS (dl_download_parent_class)->dispose (object);
}

static void
dl_download_finalize (GObject *object)
{
  DlDownload *self = DL_DOWNLOAD (object);

  g_free (self->url);
  g_clear_object (&self->folder);
  g_clear_object (&self->file);
  g_clear_object (&self->part_file);
  g_free (self->display_name);
  g_free (self->error_message);

  G_OBJECT_CLASS (dl_download_parent_class)->finalize (object);
}

static void
dl_download_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  DlDownload *self = DL_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_FOLDER:
      g_value_set_object (value, self->folder);
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_TRANSFER:
      g_value_set_object (value, self->transfer);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    case PROP_DOWNLOADED_BYTES:
      g_value_set_int64 (value, self->downloaded_bytes);
      break;
    case PROP_SIZE:
      g_value_set_int64 (value, self->size);
      break;
    case PROP_FRACTION:
      g_value_set_double (value, dl_download_get_fraction (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dl_download_class_init (DlDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dl_download_dispose;
  object_class->finalize = dl_download_finalize;
  object_class->get_property = dl_download_get_property;

  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOLDER] =
    g_param_spec_object ("folder", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* NULL until the server has named it; display-name follows. */
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       DL_TYPE_DOWNLOAD_STATE, DL_DOWNLOAD_STATE_QUEUED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Each start makes a new transfer: bind to it again on notify. */
  properties[PROP_TRANSFER] =
    g_param_spec_object ("transfer", NULL, NULL, G_CURL_TYPE_TRANSFER,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DOWNLOADED_BYTES] =
    g_param_spec_int64 ("downloaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_int64 ("size", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
dl_download_init (DlDownload *self)
{
  self->size = -1;
}

/* The last segment of the URL's path, else its host: what the row calls
 * the download until the server has named its file. */
static char *
name_from_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  const char *path = uri != NULL ? g_uri_get_path (uri) : "";
  const char *slash = strrchr (path, '/');
  g_autofree char *name = g_uri_unescape_string (slash != NULL ? slash + 1 : path, "/");

  if (name != NULL && name[0] != '\0' && g_utf8_validate (name, -1, NULL))
    return g_steal_pointer (&name);

  return g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri) : url);
}

/**
 * dl_download_new:
 * @url: an http or https URL
 * @folder: the folder to save it in
 * @file: (nullable): the complete file, inside @folder, if it was named
 *   already (by an earlier run); %NULL for the server to name it
 *
 * Returns: (transfer full): a queued download
 */
DlDownload *
dl_download_new (const char *url,
                 GFile      *folder,
                 GFile      *file)
{
  DlDownload *self;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (file == NULL || G_IS_FILE (file), NULL);

  self = g_object_new (DL_TYPE_DOWNLOAD, NULL);
  self->url = g_strdup (url);
  self->folder = g_object_ref (folder);
  self->display_name = name_from_url (url);
  if (file != NULL)
    dl_download_set_file (self, file);

  return self;
}

const char *
dl_download_get_url (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->url;
}

GFile *
dl_download_get_folder (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->folder;
}

/* (nullable): NULL until the server has named the file. */
GFile *
dl_download_get_file (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->file;
}

/* (nullable): NULL while the file is. */
GFile *
dl_download_get_part_file (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->part_file;
}

const char *
dl_download_get_display_name (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->display_name;
}

DlDownloadState
dl_download_get_state (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), DL_DOWNLOAD_STATE_FAILED);

  return self->state;
}

GCurlTransfer *
dl_download_get_transfer (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->transfer;
}

const char *
dl_download_get_error_message (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), NULL);

  return self->error_message;
}

gint64
dl_download_get_downloaded_bytes (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), 0);

  return self->downloaded_bytes;
}

gint64
dl_download_get_size (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), -1);

  return self->size;
}

double
dl_download_get_fraction (DlDownload *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD (self), 0.0);

  if (self->state == DL_DOWNLOAD_STATE_DONE)
    return 1.0;
  if (self->size <= 0)
    return 0.0;

  return CLAMP ((double) self->downloaded_bytes / (double) self->size, 0.0, 1.0);
}

/* The file is named: by the server (the transfer's "destination"), or by
 * the saved list of an earlier run. */
void
dl_download_set_file (DlDownload *self,
                      GFile      *file)
{
  g_autofree char *basename = NULL;
  g_autofree char *part_name = NULL;
  g_autoptr(GFile) parent = NULL;

  g_return_if_fail (DL_IS_DOWNLOAD (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->file != NULL && g_file_equal (self->file, file))
    return;

  g_set_object (&self->file, file);

  /* The same name g_curl_multi_download_async() gives the data so far. */
  basename = g_file_get_basename (file);
  part_name = g_strconcat (basename, ".part", NULL);
  parent = g_file_get_parent (file);
  g_clear_object (&self->part_file);
  self->part_file = g_file_get_child (parent, part_name);
  g_free (self->display_name);
  self->display_name = g_filename_display_name (basename);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
dl_download_set_state (DlDownload      *self,
                       DlDownloadState  state)
{
  g_return_if_fail (DL_IS_DOWNLOAD (self));

  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  /* DONE counts as complete whatever the byte counts say. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
}

void
dl_download_set_error_message (DlDownload *self,
                               const char *message)
{
  g_return_if_fail (DL_IS_DOWNLOAD (self));

  if (g_strcmp0 (self->error_message, message) == 0)
    return;

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

void
dl_download_set_progress (DlDownload *self,
                          gint64      downloaded_bytes,
                          gint64      size)
{
  gboolean changed = FALSE;

  g_return_if_fail (DL_IS_DOWNLOAD (self));

  g_object_freeze_notify (G_OBJECT (self));
  if (self->downloaded_bytes != downloaded_bytes)
    {
      self->downloaded_bytes = downloaded_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOWNLOADED_BYTES]);
      changed = TRUE;
    }
  if (self->size != size)
    {
      self->size = size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIZE]);
      changed = TRUE;
    }
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* A transfer that has not got its headers yet says nothing: the download
 * keeps what it knew (from the .part, or an earlier run) until it does. */
static void
transfer_progress_cb (GCurlTransfer *transfer,
                      GParamSpec    *pspec,
                      DlDownload    *self)
{
  gint64 size = g_curl_transfer_get_download_size (transfer);
  gint64 downloaded = g_curl_transfer_get_downloaded_bytes (transfer);

  if (size < 0 && downloaded == 0)
    return;

  dl_download_set_progress (self, downloaded, size >= 0 ? size : self->size);
}

/* download_to_directory_async() names the file at the first response's
 * headers. */
static void
transfer_destination_cb (GCurlTransfer *transfer,
                         GParamSpec    *pspec,
                         DlDownload    *self)
{
  GFile *destination = g_curl_transfer_get_destination (transfer);

  if (destination != NULL)
    dl_download_set_file (self, destination);
}

void
dl_download_set_transfer (DlDownload    *self,
                          GCurlTransfer *transfer)
{
  g_return_if_fail (DL_IS_DOWNLOAD (self));
  g_return_if_fail (transfer == NULL || G_CURL_IS_TRANSFER (transfer));

  if (self->transfer == transfer)
    return;

  if (self->transfer != NULL)
    g_signal_handlers_disconnect_by_data (self->transfer, self);
  g_set_object (&self->transfer, transfer);
  if (transfer != NULL)
    {
      g_signal_connect_object (transfer, "notify::downloaded-bytes",
                               G_CALLBACK (transfer_progress_cb), self, 0);
      g_signal_connect_object (transfer, "notify::download-size",
                               G_CALLBACK (transfer_progress_cb), self, 0);
      g_signal_connect_object (transfer, "notify::destination",
                               G_CALLBACK (transfer_destination_cb), self, 0);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSFER]);
}

/* The names in the saved list of downloads: never translated. */
const char *
dl_download_state_to_string (DlDownloadState state)
{
  GEnumClass *klass = g_type_class_ref (DL_TYPE_DOWNLOAD_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  g_type_class_unref (klass);
  return value != NULL ? value->value_nick : NULL;
}

gboolean
dl_download_state_from_string (const char      *string,
                               DlDownloadState *state)
{
  GEnumClass *klass = g_type_class_ref (DL_TYPE_DOWNLOAD_STATE);
  GEnumValue *value = string != NULL ? g_enum_get_value_by_nick (klass, string) : NULL;

  if (value != NULL)
    *state = value->value;
  g_type_class_unref (klass);
  return value != NULL;
}
