/* dl-preferences-window.h: the downloader's preferences
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DL_TYPE_PREFERENCES_WINDOW (dl_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (DlPreferencesWindow, dl_preferences_window, DL, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWindow *dl_preferences_window_new (GtkWindow *parent,
                                      GSettings *settings);

G_END_DECLS
