/* dl-window.c: the downloader's main window
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A header bar with an add button and the main menu, and the downloads
 * in two lists, or an empty state that says how to add one. Web addresses
 * come in through the add dialog, Ctrl+V, or a drop; errors that concern
 * no row become toasts.
 *
 * "In Progress" is bound to the GCurlMulti itself, the GListModel of its
 * transfers (through a GtkMapListModel from each transfer to the download
 * it runs): a row is there from the moment its download is added (queued)
 * until it has ended, waiting to retry or paused included, in the order
 * they started. A download manager keeps what is done, though, and the
 * multi forgets a transfer once it has finished, so "Finished and
 * Stopped" shows the others from the manager's own list (a
 * GtkFilterListModel of the downloads with no run): finished, failed, and
 * paused ones whose transfer was stopped (see dl-download-manager.c). The
 * header shows the multi's sums: a progress bar of its "fraction", and
 * the number of downloads and their "download-speed" under the title.
 */

#include "dl-config.h"

#include <glib/gi18n.h>

#include "dl-download-row.h"
#include "dl-format.h"
#include "dl-window.h"

#define SETTINGS_WINDOW_WIDTH "window-width"
#define SETTINGS_WINDOW_HEIGHT "window-height"
#define SETTINGS_WINDOW_MAXIMIZED "window-maximized"
#define SETTINGS_DOWNLOAD_FOLDER "download-folder"

/* Toasts about the addresses of one paste name at most this many. */
#define MAX_REJECTED_IN_TOAST 1

struct _DlWindow
{
  AdwApplicationWindow  parent_instance;

  DlDownloadManager    *manager;
  GSettings            *settings;

  GListModel           *active_model;    /* the multi's, as downloads */
  GListModel           *stopped_model;   /* the manager's, less those */
  GtkFilter            *stopped_filter;  /* (unowned): no run */

  AdwWindowTitle       *window_title;
  GtkProgressBar       *total_progress_bar;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  GtkWidget            *active_group;
  GtkListBox           *active_list;
  GtkWidget            *stopped_group;
  GtkListBox           *stopped_list;
};

G_DEFINE_FINAL_TYPE (DlWindow, dl_window, ADW_TYPE_APPLICATION_WINDOW)

/* The folder in the settings, else the user's Downloads folder. */
static GFile *
default_folder (DlWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, SETTINGS_DOWNLOAD_FOLDER);
  const char *downloads;

  if (setting[0] != '\0')
    return g_file_new_for_commandline_arg (setting);

  downloads = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
  return g_file_new_for_path (downloads != NULL ? downloads : g_get_home_dir ());
}

void
dl_window_show_message (DlWindow   *self,
                        const char *message)
{
  AdwToast *toast;

  g_return_if_fail (DL_IS_WINDOW (self));

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/**
 * dl_window_add_urls:
 * @text: web addresses, separated by new lines or spaces
 * @folder: (nullable): where to save them, or %NULL for the folder in
 *   the preferences
 *
 * Adds a download for every address in @text, and says in a toast which
 * ones were not web addresses.
 */
void
dl_window_add_urls (DlWindow   *self,
                    const char *text,
                    GFile      *folder)
{
  g_autoptr(GFile) target = folder != NULL ? g_object_ref (folder) : default_folder (self);
  g_auto(GStrv) words = NULL;
  g_autoptr(GString) rejected = g_string_new (NULL);
  guint n_added = 0, n_rejected = 0;

  g_return_if_fail (DL_IS_WINDOW (self));

  words = g_strsplit_set (text, " \t\r\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;

      if (words[i][0] == '\0')
        continue;

      if (dl_download_manager_add (self->manager, words[i], target, &error) != NULL)
        n_added++;
      else if (n_rejected++ < MAX_REJECTED_IN_TOAST)
        g_string_append (rejected, error->message);
    }

  if (n_rejected > MAX_REJECTED_IN_TOAST)
    {
      g_autofree char *message =
        g_strdup_printf (ngettext ("%u entry was left out: it is not a web address",
                                   "%u entries were left out: they are not web addresses",
                                   n_rejected), n_rejected);

      dl_window_show_message (self, message);
    }
  else if (n_rejected > 0)
    {
      dl_window_show_message (self, rejected->str);
    }
  else if (n_added == 0)
    {
      dl_window_show_message (self, _("There is no web address to download"));
    }
}

/* The add dialog */

static void
add_dialog_changed_cb (GtkTextBuffer    *buffer,
                       AdwMessageDialog *dialog)
{
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  adw_message_dialog_set_response_enabled (dialog, "add", g_strstrip (text)[0] != '\0');
}

static void
add_dialog_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        DlWindow         *self)
{
  GtkTextView *text_view = g_object_get_data (G_OBJECT (dialog), "text-view");
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (text_view);
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  if (g_strcmp0 (response, "add") != 0)
    return;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  dl_window_add_urls (self, text, NULL);
}

/* A clipboard with web addresses fills the dialog: it was surely copied to
 * be downloaded. */
static void
add_dialog_clipboard_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GtkTextBuffer) buffer = user_data;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  g_autofree char *url = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  if (text == NULL || !gtk_text_iter_equal (&start, &end))
    return;

  if (dl_download_manager_parse_url (text, &url, NULL) ||
      g_str_has_prefix (g_strstrip (text), "http"))
    {
      gtk_text_buffer_set_text (buffer, text, -1);
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      gtk_text_buffer_select_range (buffer, &start, &end);
    }
}

static void
add_downloads_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  DlWindow *self = DL_WINDOW (widget);
  g_autoptr(GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/gcurlmulti/Downloader/dl-add-dialog.ui");
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (gtk_builder_get_object (builder, "dialog"));
  GtkTextView *text_view = GTK_TEXT_VIEW (gtk_builder_get_object (builder, "text_view"));
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (text_view);

  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (self));
  g_object_set_data (G_OBJECT (dialog), "text-view", text_view);
  g_signal_connect_object (buffer, "changed", G_CALLBACK (add_dialog_changed_cb), dialog, 0);
  g_signal_connect_object (dialog, "response", G_CALLBACK (add_dialog_response_cb), self, 0);
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL,
                                 add_dialog_clipboard_cb, g_object_ref (buffer));

  gtk_widget_grab_focus (GTK_WIDGET (text_view));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Ctrl+V */

static void
paste_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(DlWindow) self = user_data;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);

  if (text == NULL)
    {
      dl_window_show_message (self, _("The clipboard holds no text to download"));
      return;
    }

  dl_window_add_urls (self, text, NULL);
}

static void
paste_urls_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL,
                                 paste_cb, g_object_ref (widget));
}

static void
clear_finished_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  dl_download_manager_clear_finished (DL_WINDOW (widget)->manager);
}

static void
show_error_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  dl_window_show_message (DL_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         DlWindow      *self)
{
  dl_window_add_urls (self, g_value_get_string (value), NULL);
  return TRUE;
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  DlWindow *self = user_data;
  GtkWidget *row;

  if (DL_IS_DOWNLOAD (item))
    return dl_download_row_new (self->manager, DL_DOWNLOAD (item));

  /* Only the manager adds to its multi, and every transfer it adds runs a
   * download: this cannot happen, but a row says which one it is. */
  row = gtk_label_new (g_curl_transfer_get_url (G_CURL_TRANSFER (item)));
  gtk_widget_set_margin_top (row, 12);
  gtk_widget_set_margin_bottom (row, 12);
  return row;
}

/* The multi lists transfers; a row shows the download one runs. */
static gpointer
transfer_to_download (gpointer item,
                      gpointer user_data)
{
  g_autoptr(GCurlTransfer) transfer = item;
  DlWindow *self = user_data;
  DlDownload *download = dl_download_manager_lookup (self->manager, transfer);

  return download != NULL ? g_object_ref (G_OBJECT (download)) : g_object_ref (G_OBJECT (transfer));
}

static gboolean
has_no_run (gpointer item,
            gpointer user_data)
{
  DlWindow *self = user_data;

  return !dl_download_manager_is_running (self->manager, DL_DOWNLOAD (item));
}

/* A download left the multi's list, or joined it. */
static void
run_changed_cb (DlWindow *self)
{
  gtk_filter_changed (self->stopped_filter, GTK_FILTER_CHANGE_DIFFERENT);
}

static void
update_page (DlWindow *self)
{
  GListModel *downloads = dl_download_manager_get_downloads (self->manager);

  gtk_stack_set_visible_child_name (self->stack,
                                    g_list_model_get_n_items (downloads) > 0 ? "list" : "empty");
  gtk_widget_set_visible (self->active_group, g_list_model_get_n_items (self->active_model) > 0);
  gtk_widget_set_visible (self->stopped_group, g_list_model_get_n_items (self->stopped_model) > 0);
}

/* The multi's sums, throttled by it like a transfer's progress. */
static void
update_totals (DlWindow *self)
{
  GCurlMulti *multi = dl_download_manager_get_multi (self->manager);
  guint n_transfers = g_curl_multi_get_n_transfers (multi);
  gint64 speed = 0;
  double fraction = 0.0;
  g_autofree char *summary = NULL;

  g_object_get (multi, "download-speed", &speed, "fraction", &fraction, NULL);
  summary = dl_format_summary (n_transfers, speed);
  adw_window_title_set_subtitle (self->window_title, summary);
  gtk_progress_bar_set_fraction (self->total_progress_bar, fraction);
  gtk_widget_set_visible (GTK_WIDGET (self->total_progress_bar), n_transfers > 0);
}

static void
manager_error_cb (DlDownloadManager *manager,
                  const char        *message,
                  DlWindow          *self)
{
  dl_window_show_message (self, message);
}

/* The row says it too; a toast reaches the person who looks elsewhere.
 * Only failures: a toast for every finished download would queue up. */
static void
download_finished_cb (DlDownloadManager *manager,
                      DlDownload        *download,
                      DlWindow          *self)
{
  g_autofree char *message = NULL;

  if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_FAILED)
    return;

  message = g_strdup_printf (_("“%s” failed: %s"), dl_download_get_display_name (download),
                             dl_download_get_error_message (download));
  dl_window_show_message (self, message);
}

static gboolean
dl_window_close_request (GtkWindow *window)
{
  DlWindow *self = DL_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, SETTINGS_WINDOW_WIDTH, width);
  g_settings_set_int (self->settings, SETTINGS_WINDOW_HEIGHT, height);
  g_settings_set_boolean (self->settings, SETTINGS_WINDOW_MAXIMIZED,
                          gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (dl_window_parent_class)->close_request (window);
}

static void
dl_window_dispose (GObject *object)
{
  DlWindow *self = DL_WINDOW (object);

  if (self->manager != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->manager, self);
      g_signal_handlers_disconnect_by_data (dl_download_manager_get_multi (self->manager), self);
    }
  if (self->active_list != NULL)
    gtk_list_box_bind_model (self->active_list, NULL, NULL, NULL, NULL);
  if (self->stopped_list != NULL)
    gtk_list_box_bind_model (self->stopped_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->active_model);
  g_clear_object (&self->stopped_model);

  gtk_widget_dispose_template (GTK_WIDGET (self), DL_TYPE_WINDOW);

  g_clear_object (&self->manager);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (dl_window_parent_class)->dispose (object);
}

static void
dl_window_class_init (DlWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = dl_window_dispose;
  window_class->close_request = dl_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/gcurlmulti/Downloader/dl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DlWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, total_progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, active_group);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, active_list);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, stopped_group);
  gtk_widget_class_bind_template_child (widget_class, DlWindow, stopped_list);

  gtk_widget_class_install_action (widget_class, "win.add-downloads", NULL, add_downloads_action);
  gtk_widget_class_install_action (widget_class, "win.paste-urls", NULL, paste_urls_action);
  gtk_widget_class_install_action (widget_class, "win.clear-finished", NULL, clear_finished_action);
  gtk_widget_class_install_action (widget_class, "win.show-error", "s", show_error_action);

  /* A shortcut of the window, not an application accelerator: a text
   * field with the focus gets its own Ctrl+V first. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK,
                                       "win.paste-urls", NULL);
}

static void
dl_window_init (DlWindow *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  target = gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

DlWindow *
dl_window_new (GtkApplication    *application,
               DlDownloadManager *manager,
               GSettings         *settings)
{
  DlWindow *self;
  GCurlMulti *multi;
  GtkCustomFilter *filter;

  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (DL_IS_DOWNLOAD_MANAGER (manager), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (DL_TYPE_WINDOW,
                       "application", application,
                       "default-width", g_settings_get_int (settings, SETTINGS_WINDOW_WIDTH),
                       "default-height", g_settings_get_int (settings, SETTINGS_WINDOW_HEIGHT),
                       NULL);
  if (g_settings_get_boolean (settings, SETTINGS_WINDOW_MAXIMIZED))
    gtk_window_maximize (GTK_WINDOW (self));

  self->manager = g_object_ref (manager);
  self->settings = g_object_ref (settings);

  multi = dl_download_manager_get_multi (manager);
  self->active_model =
    G_LIST_MODEL (gtk_map_list_model_new (g_object_ref (G_LIST_MODEL (multi)),
                                          transfer_to_download, self, NULL));
  filter = gtk_custom_filter_new (has_no_run, self, NULL);
  self->stopped_filter = GTK_FILTER (filter);
  self->stopped_model =
    G_LIST_MODEL (gtk_filter_list_model_new (g_object_ref (dl_download_manager_get_downloads (manager)),
                                             GTK_FILTER (filter)));

  gtk_list_box_bind_model (self->active_list, self->active_model, create_row, self, NULL);
  gtk_list_box_bind_model (self->stopped_list, self->stopped_model, create_row, self, NULL);
  g_signal_connect_object (self->active_model, "items-changed", G_CALLBACK (update_page),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->stopped_model, "items-changed", G_CALLBACK (update_page),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (dl_download_manager_get_downloads (manager), "items-changed",
                           G_CALLBACK (update_page), self, G_CONNECT_SWAPPED);
  g_signal_connect_swapped (manager, "run-changed", G_CALLBACK (run_changed_cb), self);
  g_signal_connect (manager, "error", G_CALLBACK (manager_error_cb), self);
  g_signal_connect (manager, "download-finished", G_CALLBACK (download_finished_cb), self);
  g_signal_connect_swapped (multi, "notify::n-transfers", G_CALLBACK (update_totals), self);
  g_signal_connect_swapped (multi, "notify::fraction", G_CALLBACK (update_totals), self);
  g_signal_connect_swapped (multi, "notify::download-speed", G_CALLBACK (update_totals), self);
  update_page (self);
  update_totals (self);

  return self;
}

/**
 * dl_window_save_screenshot:
 * @path: the PNG file to write
 *
 * Renders the window as it is now, with its own renderer, to @path.
 */
gboolean
dl_window_save_screenshot (DlWindow    *self,
                           const char  *path,
                           GError     **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The window has nothing to show yet");
      return FALSE;
    }

  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (self)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s", path);
      return FALSE;
    }

  return TRUE;
}

static void
describe_list (GString    *description,
               const char *section,
               GtkListBox *list)
{
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (DL_IS_DOWNLOAD_ROW (row))
      g_string_append_printf (description, "row %s %s: %s\n", section,
                              dl_download_get_display_name (dl_download_row_get_download (DL_DOWNLOAD_ROW (row))),
                              dl_download_row_get_status (DL_DOWNLOAD_ROW (row)));
}

/**
 * dl_window_describe:
 *
 * For the tests: what the window says, as lines of text: "subtitle TEXT",
 * then "row active NAME: STATUS" for each row of "In Progress" and "row
 * stopped NAME: STATUS" for each of "Finished and Stopped".
 *
 * Returns: (transfer full): the lines
 */
char *
dl_window_describe (DlWindow *self)
{
  GString *description = g_string_new (NULL);

  g_return_val_if_fail (DL_IS_WINDOW (self), NULL);

  g_string_append_printf (description, "subtitle %s\n",
                          adw_window_title_get_subtitle (self->window_title));
  describe_list (description, "active", self->active_list);
  describe_list (description, "stopped", self->stopped_list);

  return g_string_free (description, FALSE);
}
