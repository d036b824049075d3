/* dl-window.h: the downloader's main window
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <adwaita.h>

#include "dl-download-manager.h"

G_BEGIN_DECLS

#define DL_TYPE_WINDOW (dl_window_get_type ())
G_DECLARE_FINAL_TYPE (DlWindow, dl_window, DL, WINDOW, AdwApplicationWindow)

DlWindow *dl_window_new             (GtkApplication *application,
                                     DlDownloadManager *manager,
                                     GSettings      *settings);
void      dl_window_add_urls        (DlWindow       *self,
                                     const char     *text,
                                     GFile          *folder);
void      dl_window_show_message    (DlWindow       *self,
                                     const char     *message);
gboolean  dl_window_save_screenshot (DlWindow       *self,
                                     const char     *path,
                                     GError        **error);
char     *dl_window_describe        (DlWindow       *self);

G_END_DECLS
