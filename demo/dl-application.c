/* dl-application.c: the downloader application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One instance per session: web addresses given on a later command line
 * are added to the running instance's list. The application owns the
 * download manager and the settings, and binds the one to the other.
 *
 * For tests (GCURL_DEMO_AUTOTEST=1, see main.c) it is not unique, prints a
 * line per download that ends ("done NAME", "failed NAME: MESSAGE"), can
 * save a screenshot of the window while downloads run (and print what the
 * window says then, see dl_window_describe()), and quits once no download
 * is left to run.
 */

#include "dl-config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "dl-application.h"
#include "dl-download-manager.h"
#include "dl-preferences-window.h"
#include "dl-window.h"

/* The list of unfinished downloads, in g_get_user_data_dir()/APP_ID/. */
#define STATE_FILE_NAME "downloads.ini"

/* The speed limit setting is in kB/s, as the preferences show it. */
#define BYTES_PER_KB 1000

/* On quit, how long the running downloads may take to stop. */
#define STOP_TIMEOUT_MS 5000

/* Autotest: how often to look whether the screenshot can be taken… */
#define SCREENSHOT_CHECK_MS 100
/* …which is when at least this many downloads run, the least advanced of
 * them has got this far, and another waits in the queue; or, if none
 * waits by then, after this many checks. */
#define SCREENSHOT_MIN_RUNNING 2
#define SCREENSHOT_MIN_FRACTION 0.1
#define SCREENSHOT_MAX_CHECKS 50

struct _DlApplication
{
  AdwApplication     parent_instance;

  GSettings         *settings;
  DlDownloadManager *manager;
  guint              sigterm_id;
  guint              sigint_id;

  gboolean           autotest;
  char              *screenshot_path;
  guint              screenshot_check_id;
  guint              screenshot_checks;
  gulong             after_paint_id;
};

G_DEFINE_FINAL_TYPE (DlApplication, dl_application, ADW_TYPE_APPLICATION)

static DlWindow *
get_window (DlApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (DL_IS_WINDOW (window))
    return DL_WINDOW (window);

  return dl_window_new (GTK_APPLICATION (self), self->manager, self->settings);
}

/* Autotest */

static void
autotest_download_finished_cb (DlDownloadManager *manager,
                               DlDownload        *download,
                               DlApplication     *self)
{
  if (dl_download_get_state (download) == DL_DOWNLOAD_STATE_DONE)
    g_print ("done %s\n", dl_download_get_display_name (download));
  else
    g_print ("failed %s: %s\n", dl_download_get_display_name (download),
             dl_download_get_error_message (download));
}

static void
autotest_quit_if_idle (DlApplication *self)
{
  if (!dl_download_manager_get_active (self->manager) && self->screenshot_check_id == 0 &&
      self->after_paint_id == 0)
    g_application_quit (G_APPLICATION (self));
}

static void
after_paint_cb (GdkFrameClock *clock,
                DlApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GError) error = NULL;

  g_clear_signal_handler (&self->after_paint_id, clock);
  if (DL_IS_WINDOW (window) &&
      dl_window_save_screenshot (DL_WINDOW (window), self->screenshot_path, &error))
    {
      g_autofree char *description = dl_window_describe (DL_WINDOW (window));

      g_print ("screenshot %s\n%s", self->screenshot_path, description);
    }
  else
    {
      g_printerr ("screenshot failed: %s\n", error != NULL ? error->message : "no window");
    }

  autotest_quit_if_idle (self);
}

static gboolean
screenshot_check_cb (gpointer user_data)
{
  DlApplication *self = user_data;
  GListModel *downloads = dl_download_manager_get_downloads (self->manager);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  guint n_running = 0, n_queued = 0;
  double least = 1.0;
  GdkFrameClock *clock;

  for (guint i = 0; i < g_list_model_get_n_items (downloads); i++)
    {
      g_autoptr(DlDownload) download = g_list_model_get_item (downloads, i);

      n_queued += dl_download_get_state (download) == DL_DOWNLOAD_STATE_QUEUED;
      if (dl_download_get_state (download) != DL_DOWNLOAD_STATE_DOWNLOADING)
        continue;
      n_running++;
      least = MIN (least, dl_download_get_fraction (download));
    }

  /* The picture of a download manager at work: some run, one waits. */
  if (n_running < SCREENSHOT_MIN_RUNNING || least < SCREENSHOT_MIN_FRACTION ||
      (n_queued == 0 && ++self->screenshot_checks < SCREENSHOT_MAX_CHECKS) ||
      window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (window)))
    return G_SOURCE_CONTINUE;

  /* After the next frame, everything it shows is laid out and drawn. */
  self->screenshot_check_id = 0;
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  self->after_paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), self);
  gtk_widget_queue_draw (GTK_WIDGET (window));
  return G_SOURCE_REMOVE;
}

/* Actions */

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  DlApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_window_present (dl_preferences_window_new (parent, self->settings));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  DlApplication *self = user_data;
  const char *developers[] = { "The libgcurlmulti authors", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "application-name", _("Downloader"),
                        "application-icon", APP_ID,
                        "developer-name", "The libgcurlmulti authors",
                        "version", PACKAGE_VERSION,
                        "comments", _("Downloads files from the web, with pause and resume, "
                                      "built on libgcurlmulti: libcurl on the GLib main loop."),
                        "developers", developers,
                        /* TRANSLATORS: your name(s), one per line, shown in the About window */
                        "translator-credits", _("translator-credits"),
                        "copyright", "© 2026 The libgcurlmulti authors",
                        "license-type", GTK_LICENSE_LGPL_2_1,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
};

/* kB/s in the settings, bytes/s for the manager. */
static gboolean
speed_limit_get_mapping (GValue   *value,
                         GVariant *variant,
                         gpointer  user_data)
{
  g_value_set_int64 (value, (gint64) g_variant_get_uint32 (variant) * BYTES_PER_KB);
  return TRUE;
}

static gboolean
quit_on_signal_cb (gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}

static void
dl_application_startup (GApplication *application)
{
  DlApplication *self = DL_APPLICATION (application);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *add_accels[] = { "<Control>n", NULL };
  const char *preferences_accels[] = { "<Control>comma", NULL };
  g_autofree char *state_path = NULL;
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (dl_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.add-downloads", add_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         preferences_accels);

  self->settings = g_settings_new (APP_ID);
  state_path = g_build_filename (g_get_user_data_dir (), APP_ID, STATE_FILE_NAME, NULL);
  self->manager = dl_download_manager_new (state_path);
  g_settings_bind (self->settings, "max-concurrent-downloads",
                   self->manager, "max-concurrent", G_SETTINGS_BIND_GET);
  g_settings_bind_with_mapping (self->settings, "speed-limit",
                                self->manager, "speed-limit", G_SETTINGS_BIND_GET,
                                speed_limit_get_mapping, NULL, NULL, NULL);

  if (self->autotest)
    g_signal_connect (self->manager, "download-finished",
                      G_CALLBACK (autotest_download_finished_cb), self);

  /* The window exists before the list is loaded, so that a failure to
   * load can be shown in it. */
  if (!dl_download_manager_load (self->manager, &error))
    {
      g_autofree char *message =
        g_strdup_printf (_("The list of downloads from last time could not be read: %s"),
                         error->message);

      dl_window_show_message (get_window (self), message);
    }

  /* Ctrl+C in a terminal, or a session ending, quits as Ctrl+Q does:
   * running downloads are stopped and kept for the next start. */
  self->sigterm_id = g_unix_signal_add (SIGTERM, quit_on_signal_cb, self);
  self->sigint_id = g_unix_signal_add (SIGINT, quit_on_signal_cb, self);
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
dl_application_shutdown (GApplication *application)
{
  DlApplication *self = DL_APPLICATION (application);

  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->screenshot_check_id, g_source_remove);

  if (self->manager != NULL)
    {
      gboolean timed_out = FALSE;
      guint timeout_id = g_timeout_add (STOP_TIMEOUT_MS, stop_timeout_cb, &timed_out);

      /* Each .part is closed, and the list saved, before the process ends. */
      dl_download_manager_stop_all (self->manager);
      while (!dl_download_manager_is_stopped (self->manager) && !timed_out)
        g_main_context_iteration (NULL, TRUE);
      if (!timed_out)
        g_source_remove (timeout_id);
    }

  G_APPLICATION_CLASS (dl_application_parent_class)->shutdown (application);
}

static void
dl_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (get_window (DL_APPLICATION (application))));
}

static int
dl_application_command_line (GApplication            *application,
                             GApplicationCommandLine *command_line)
{
  DlApplication *self = DL_APPLICATION (application);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree char *folder_arg = NULL;
  g_autofree const char **urls = NULL;
  g_autoptr(GFile) folder = NULL;
  DlWindow *window = get_window (self);

  g_variant_dict_lookup (options, "folder", "^ay", &folder_arg);
  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&s", &urls);
  if (folder_arg != NULL)
    folder = g_application_command_line_create_file_for_arg (command_line, folder_arg);

  for (guint i = 0; urls != NULL && urls[i] != NULL; i++)
    dl_window_add_urls (window, urls[i], folder);

  gtk_window_present (GTK_WINDOW (window));

  if (self->autotest)
    {
      if (self->screenshot_path != NULL && self->screenshot_check_id == 0 &&
          self->after_paint_id == 0)
        self->screenshot_check_id = g_timeout_add (SCREENSHOT_CHECK_MS, screenshot_check_cb, self);
      g_signal_connect_object (self->manager, "notify::active",
                               G_CALLBACK (autotest_quit_if_idle), self, G_CONNECT_SWAPPED);
      autotest_quit_if_idle (self);
    }

  return EXIT_SUCCESS;
}

static int
dl_application_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", g_get_application_name (), PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  return -1;
}

static void
dl_application_dispose (GObject *object)
{
  DlApplication *self = DL_APPLICATION (object);

  g_clear_object (&self->manager);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (dl_application_parent_class)->dispose (object);
}

static void
dl_application_finalize (GObject *object)
{
  DlApplication *self = DL_APPLICATION (object);

  g_free (self->screenshot_path);

  G_OBJECT_CLASS (dl_application_parent_class)->finalize (object);
}

static void
dl_application_class_init (DlApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = dl_application_dispose;
  object_class->finalize = dl_application_finalize;
  application_class->startup = dl_application_startup;
  application_class->shutdown = dl_application_shutdown;
  application_class->activate = dl_application_activate;
  application_class->command_line = dl_application_command_line;
  application_class->handle_local_options = dl_application_handle_local_options;
}

static void
dl_application_init (DlApplication *self)
{
  const GOptionEntry entries[] = {
    { "folder", 'd', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME, NULL,
      N_("Save the downloads given on this command line in FOLDER"), N_("FOLDER") },
    { "version", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
      N_("Show the version and quit"), NULL },
    { G_OPTION_REMAINING, 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING_ARRAY, NULL,
      NULL, N_("[URL…]") },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Download files from the web."));
}

/**
 * dl_application_new:
 * @autotest: run as the tests want (see the top of this file)
 * @screenshot_path: (nullable): with @autotest, where to save the window
 *   once downloads run
 */
DlApplication *
dl_application_new (gboolean    autotest,
                    const char *screenshot_path)
{
  GApplicationFlags flags = G_APPLICATION_HANDLES_COMMAND_LINE;
  DlApplication *self;

  if (autotest)
    flags |= G_APPLICATION_NON_UNIQUE;

  self = g_object_new (DL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", flags,
                       NULL);
  self->autotest = autotest;
  self->screenshot_path = g_strdup (screenshot_path);

  return self;
}
