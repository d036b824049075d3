/* dl-preferences-window.c: the downloader's preferences
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every control is bound to its GSettings key, so a change applies at
 * once (the manager follows the same keys) and there is nothing to save.
 */

#include "dl-config.h"

#include <glib/gi18n.h>

#include "dl-preferences-window.h"

struct _DlPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GtkFileChooserNative *chooser;

  AdwActionRow         *folder_row;
  GtkWidget            *reset_folder_button;
  GtkSpinButton        *concurrent_spin;
  GtkSpinButton        *speed_spin;
};

G_DEFINE_FINAL_TYPE (DlPreferencesWindow, dl_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
update_folder_row (DlPreferencesWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "download-folder");
  const char *path = setting;
  g_autofree char *display = NULL;

  if (path[0] == '\0')
    path = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
  if (path == NULL)
    path = g_get_home_dir ();

  display = g_filename_display_name (path);
  adw_action_row_set_subtitle (self->folder_row, display);
  gtk_widget_set_visible (self->reset_folder_button, setting[0] != '\0');
}

static void
chooser_response_cb (GtkNativeDialog     *chooser,
                     int                  response,
                     DlPreferencesWindow *self)
{
  g_autoptr(GFile) folder = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      path = folder != NULL ? g_file_get_path (folder) : NULL;
      if (path != NULL)
        g_settings_set_string (self->settings, "download-folder", path);
    }

  g_clear_object (&self->chooser);
}

static void
choose_folder_clicked_cb (DlPreferencesWindow *self)
{
  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Download Folder"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
reset_folder_clicked_cb (DlPreferencesWindow *self)
{
  g_settings_reset (self->settings, "download-folder");
}

static void
dl_preferences_window_dispose (GObject *object)
{
  DlPreferencesWindow *self = DL_PREFERENCES_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), DL_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (dl_preferences_window_parent_class)->dispose (object);
}

static void
dl_preferences_window_class_init (DlPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dl_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/gcurlmulti/Downloader/dl-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DlPreferencesWindow, folder_row);
  gtk_widget_class_bind_template_child (widget_class, DlPreferencesWindow, reset_folder_button);
  gtk_widget_class_bind_template_child (widget_class, DlPreferencesWindow, concurrent_spin);
  gtk_widget_class_bind_template_child (widget_class, DlPreferencesWindow, speed_spin);
  gtk_widget_class_bind_template_callback (widget_class, choose_folder_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, reset_folder_clicked_cb);
}

static void
dl_preferences_window_init (DlPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWindow *
dl_preferences_window_new (GtkWindow *parent,
                           GSettings *settings)
{
  DlPreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (DL_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
  self->settings = g_object_ref (settings);

  g_settings_bind (settings, "max-concurrent-downloads",
                   gtk_spin_button_get_adjustment (self->concurrent_spin), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "speed-limit",
                   gtk_spin_button_get_adjustment (self->speed_spin), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (settings, "changed::download-folder",
                           G_CALLBACK (update_folder_row), self, G_CONNECT_SWAPPED);
  update_folder_row (self);

  return GTK_WINDOW (self);
}
