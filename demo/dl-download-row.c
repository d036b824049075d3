/* dl-download-row.c: one download in the window's list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The row shows a DlDownload: its name (the server's, from the transfer's
 * "destination", once it is known), a progress bar bound to the running
 * transfer's "fraction" (rebound each time the download starts a new
 * transfer), a status line with its state (queued, retrying, paused),
 * sizes, speed and time left, or why it failed, and the buttons that fit
 * its state.
 */

#include "dl-config.h"

#include <glib/gi18n.h>

#include "dl-download-row.h"
#include "dl-format.h"

#define FILE_MANAGER_BUS_NAME "org.freedesktop.FileManager1"
#define FILE_MANAGER_OBJECT_PATH "/org/freedesktop/FileManager1"
#define FILE_MANAGER_INTERFACE "org.freedesktop.FileManager1"

struct _DlDownloadRow
{
  GtkListBoxRow      parent_instance;

  DlDownloadManager *manager;
  DlDownload        *download;
  GBinding          *fraction_binding;   /* progress bar ← transfer or download */
  GCurlTransfer     *transfer;           /* whose progress the status line follows */

  GtkImage          *icon;
  GtkLabel          *name_label;
  GtkProgressBar    *progress_bar;
  GtkLabel          *status_label;
  GtkWidget         *pause_button;
  GtkWidget         *resume_button;
  GtkWidget         *retry_button;
  GtkWidget         *open_button;
  GtkWidget         *folder_button;
  GtkWidget         *cancel_button;
  GtkWidget         *remove_button;
};

G_DEFINE_FINAL_TYPE (DlDownloadRow, dl_download_row, GTK_TYPE_LIST_BOX_ROW)

static void
update_status (DlDownloadRow *self)
{
  g_autofree char *status = dl_format_status (self->download);

  gtk_label_set_label (self->status_label, status);
  if (dl_download_get_state (self->download) == DL_DOWNLOAD_STATE_FAILED)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "dim-label");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "dim-label");
    }
}

/* While a transfer runs, the bar follows its "fraction"; otherwise (queued,
 * paused, restored from the last run) what the download knows. */
static void
bind_fraction (DlDownloadRow *self)
{
  GCurlTransfer *transfer = dl_download_get_transfer (self->download);
  DlDownloadState state = dl_download_get_state (self->download);
  gboolean live = transfer != NULL && state == DL_DOWNLOAD_STATE_DOWNLOADING;

  g_clear_pointer (&self->fraction_binding, g_binding_unbind);
  self->fraction_binding =
    g_object_bind_property (live ? G_OBJECT (transfer) : G_OBJECT (self->download), "fraction",
                            self->progress_bar, "fraction", G_BINDING_SYNC_CREATE);
}

static void
transfer_progress_cb (DlDownloadRow *self)
{
  update_status (self);
}

static void
follow_transfer (DlDownloadRow *self)
{
  GCurlTransfer *transfer = dl_download_get_transfer (self->download);

  if (self->transfer == transfer)
    return;

  if (self->transfer != NULL)
    g_signal_handlers_disconnect_by_data (self->transfer, self);
  g_set_object (&self->transfer, transfer);
  if (transfer != NULL)
    {
      /* "progress" comes at most every progress-interval, with all the
       * figures at once: one update of the line per emission. */
      g_signal_connect_object (transfer, "progress", G_CALLBACK (transfer_progress_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (transfer, "notify::state", G_CALLBACK (transfer_progress_cb),
                               self, G_CONNECT_SWAPPED);
    }
}

static void
update_state (DlDownloadRow *self)
{
  DlDownloadState state = dl_download_get_state (self->download);
  gboolean done = state == DL_DOWNLOAD_STATE_DONE;

  gtk_widget_set_visible (self->pause_button,
                          state == DL_DOWNLOAD_STATE_DOWNLOADING || state == DL_DOWNLOAD_STATE_QUEUED ||
                          state == DL_DOWNLOAD_STATE_RETRYING);
  gtk_widget_set_visible (self->resume_button, state == DL_DOWNLOAD_STATE_PAUSED);
  gtk_widget_set_visible (self->retry_button, state == DL_DOWNLOAD_STATE_FAILED);
  gtk_widget_set_visible (self->open_button, done);
  gtk_widget_set_visible (self->folder_button, done);
  gtk_widget_set_visible (self->cancel_button, !done);
  gtk_widget_set_visible (self->remove_button, done);
  /* A failure before any byte arrived has no progress to show. */
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar),
                          !done && (state != DL_DOWNLOAD_STATE_FAILED ||
                                    dl_download_get_downloaded_bytes (self->download) > 0));

  /* Rebind before dropping the old transfer: the binding must not outlive
   * its source. */
  bind_fraction (self);
  follow_transfer (self);
  update_status (self);
}

/* The URL's guess until the server has named the file, then the file. */
static void
update_name (DlDownloadRow *self)
{
  const char *name = dl_download_get_display_name (self->download);
  GFile *file = dl_download_get_file (self->download);
  g_autofree char *content_type = g_content_type_guess (name, NULL, 0, NULL);
  g_autoptr(GIcon) icon = g_content_type_get_icon (content_type);
  g_autofree char *tooltip = NULL;

  gtk_label_set_label (self->name_label, name);
  if (file != NULL)
    {
      g_autofree char *where = g_file_get_parse_name (file);

      tooltip = g_strdup_printf ("%s\n%s", where, dl_download_get_url (self->download));
    }
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_label),
                               tooltip != NULL ? tooltip : dl_download_get_url (self->download));
  gtk_image_set_from_gicon (self->icon, icon);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->progress_bar),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

static void
pause_clicked_cb (DlDownloadRow *self)
{
  dl_download_manager_pause (self->manager, self->download);
}

static void
resume_clicked_cb (DlDownloadRow *self)
{
  dl_download_manager_resume (self->manager, self->download);
}

static void
retry_clicked_cb (DlDownloadRow *self)
{
  dl_download_manager_retry (self->manager, self->download);
}

static void
remove_clicked_cb (DlDownloadRow *self)
{
  dl_download_manager_remove (self->manager, self->download);
}

static void
show_error (DlDownloadRow *self,
            const char    *message)
{
  /* The window shows it as a toast. */
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "s", message);
}

static void
launch_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(DlDownloadRow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    {
      g_autofree char *message =
        g_strdup_printf (_("“%s” could not be opened: %s"),
                         dl_download_get_display_name (self->download), error->message);

      show_error (self, message);
    }
}

static void
launch_uri (DlDownloadRow *self,
            const char    *uri)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  g_autoptr(GdkAppLaunchContext) context = gdk_display_get_app_launch_context (display);

  g_app_info_launch_default_for_uri_async (uri, G_APP_LAUNCH_CONTEXT (context), NULL,
                                           launch_cb, g_object_ref (self));
}

static void
open_clicked_cb (DlDownloadRow *self)
{
  g_autofree char *uri = g_file_get_uri (dl_download_get_file (self->download));

  launch_uri (self, uri);
}

static void
show_items_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(DlDownloadRow) self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autofree char *folder_uri = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply != NULL)
    return;

  /* No file manager on the bus: open the folder itself. */
  folder = g_file_get_parent (dl_download_get_file (self->download));
  folder_uri = g_file_get_uri (folder);
  launch_uri (self, folder_uri);
}

/* Opens the folder with the file selected, as GNOME apps do, through the
 * file manager's D-Bus interface. */
static void
folder_clicked_cb (DlDownloadRow *self)
{
  GDBusConnection *bus = g_application_get_dbus_connection (g_application_get_default ());
  g_autofree char *uri = g_file_get_uri (dl_download_get_file (self->download));
  const char *uris[] = { uri, NULL };

  if (bus == NULL)
    {
      g_autoptr(GFile) folder = g_file_get_parent (dl_download_get_file (self->download));
      g_autofree char *folder_uri = g_file_get_uri (folder);

      launch_uri (self, folder_uri);
      return;
    }

  g_dbus_connection_call (bus, FILE_MANAGER_BUS_NAME, FILE_MANAGER_OBJECT_PATH,
                          FILE_MANAGER_INTERFACE, "ShowItems",
                          g_variant_new ("(^ass)", uris, ""),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          show_items_cb, g_object_ref (self));
}

static void
dl_download_row_dispose (GObject *object)
{
  DlDownloadRow *self = DL_DOWNLOAD_ROW (object);

  g_clear_pointer (&self->fraction_binding, g_binding_unbind);
  if (self->transfer != NULL)
    g_signal_handlers_disconnect_by_data (self->transfer, self);
  g_clear_object (&self->transfer);
  if (self->download != NULL)
    g_signal_handlers_disconnect_by_data (self->download, self);
  g_clear_object (&self->download);
  g_clear_object (&self->manager);

  gtk_widget_dispose_template (GTK_WIDGET (self), DL_TYPE_DOWNLOAD_ROW);

  G_OBJECT_CLASS (dl_download_row_parent_class)->dispose (object);
}

static void
dl_download_row_class_init (DlDownloadRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dl_download_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/gcurlmulti/Downloader/dl-download-row.ui");
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, icon);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, pause_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, resume_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, open_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, folder_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, DlDownloadRow, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, pause_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, resume_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, open_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, folder_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
}

static void
dl_download_row_init (DlDownloadRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
dl_download_row_new (DlDownloadManager *manager,
                     DlDownload        *download)
{
  DlDownloadRow *self;

  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (manager), NULL);
  g_return_val_if_fail (DL_IS_DOWNLOAD (download), NULL);

  self = g_object_new (DL_TYPE_DOWNLOAD_ROW, NULL);
  self->manager = g_object_ref (manager);
  self->download = g_object_ref (download);

  g_signal_connect_object (download, "notify::file", G_CALLBACK (update_name),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (download, "notify::state", G_CALLBACK (update_state),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (download, "notify::transfer", G_CALLBACK (update_state),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (download, "notify::error-message", G_CALLBACK (update_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (download, "notify::downloaded-bytes", G_CALLBACK (update_status),
                           self, G_CONNECT_SWAPPED);
  update_name (self);
  update_state (self);

  return GTK_WIDGET (self);
}

DlDownload *
dl_download_row_get_download (DlDownloadRow *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_ROW (self), NULL);

  return self->download;
}

/* What its status line says now. */
const char *
dl_download_row_get_status (DlDownloadRow *self)
{
  g_return_val_if_fail (DL_IS_DOWNLOAD_ROW (self), NULL);

  return gtk_label_get_label (self->status_label);
}
