/* gcurl-jar.c: a multi's cookies and HSTS cache
 *
 * See gcurl-jar-private.h. What libcurl 7.88.1 does, and what this works
 * around (read in lib/cookie.c, lib/hsts.c, lib/share.c, lib/setopt.c):
 *
 * - A handle attached to a share that holds cookies has the share's jar,
 *   but its cookie engine stays off until CURLOPT_COOKIEFILE names a file
 *   (data->state.cookie_engine): "" names none and turns it on. libcurl
 *   appends every CURLOPT_COOKIEFILE to a list it reads at each transfer,
 *   so it is given once per attach, and cleared (NULL) on detach.
 * - The files are never given to libcurl (CURLOPT_COOKIEJAR, CURLOPT_HSTS):
 *   it would write them at every handle's cleanup, whether the handle ran
 *   or not, without the mode this wants. The jar reads and writes them
 *   itself: cookies as Netscape lines through CURLOPT_COOKIELIST and
 *   CURLINFO_COOKIELIST, HSTS entries through CURLOPT_HSTSREADFUNCTION
 *   (called when a transfer starts: the first transfer to start loads the
 *   file's entries into the share) and CURLOPT_HSTSWRITEFUNCTION (called at
 *   a handle's cleanup: a handle made for it, attached and cleaned up,
 *   lists the share's entries).
 * - CURLOPT_COOKIELIST "Set-Cookie: …" has no request behind it, so
 *   libcurl gives a cookie without Domain no domain at all, one without
 *   Path no path, and checks a Domain against nothing: see
 *   g_curl_jar_add_cookie().
 * - A share's HSTS cache cannot be emptied or switched off while shared:
 *   a jar whose HSTS file changes is a new jar (a new share).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-jar-private.h"

#define COOKIE_FILE_HEADER \
  "# Netscape HTTP Cookie File\n" \
  "# https://curl.se/docs/http-cookies.html\n" \
  "# Written by libgcurlmulti.\n\n"
#define HSTS_FILE_HEADER \
  "# Your HSTS cache. https://curl.se/docs/hsts.html\n" \
  "# Written by libgcurlmulti.\n"
#define HSTS_UNLIMITED "unlimited"
#define JAR_FILE_MODE 0600
#define PLACEHOLDER_DOMAIN "192.0.2.1"  /* TEST-NET-1, never a host here */

typedef struct
{
  char     *host;
  gboolean  subdomains;
  char      expire[18];   /* "YYYYMMDD HH:MM:SS", "" for unlimited */
} HstsEntry;

struct _GCurlJar
{
  gatomicrefcount  ref_count;
  GMainContext    *context;
  CURLSH          *share;
  CURL            *handle;          /* attached to share: lists and adds cookies */
  GMutex           locks[CURL_LOCK_DATA_LAST];

  gboolean         cookies;         /* the share holds cookies */
  gboolean         hsts;            /* the share holds an HSTS cache */
  char            *cookie_path;     /* (nullable): NULL in memory */
  char            *hsts_path;       /* (nullable): NULL in memory */
  GArray          *hsts_pending;    /* (nullable): HstsEntry, read from the
                                     * file, not yet in the share */
  GMutex           save_lock;       /* the fields below: the multi's thread
                                     * and blocking calls' threads
                                     * (gcurl-sync.c) note responses */
  gboolean         cookies_dirty;   /* changed since the file was written */
  gboolean         hsts_dirty;
  GSource         *save_source;     /* (nullable): a save to come */
};

static void
hsts_entry_clear (gpointer data)
{
  HstsEntry *entry = data;

  g_free (entry->host);
}

static void
lock_cb (CURL            *handle,
         curl_lock_data   data,
         curl_lock_access access,
         void            *user_data)
{
  GCurlJar *self = user_data;

  if ((guint) data < CURL_LOCK_DATA_LAST)
    g_mutex_lock (&self->locks[data]);
}

static void
unlock_cb (CURL           *handle,
           curl_lock_data  data,
           void           *user_data)
{
  GCurlJar *self = user_data;

  if ((guint) data < CURL_LOCK_DATA_LAST)
    g_mutex_unlock (&self->locks[data]);
}

static GCurlJar *
jar_new (GMainContext *context,
         gboolean      cookies,
         gboolean      hsts)
{
  GCurlJar *self = g_new0 (GCurlJar, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->context = g_main_context_ref (context);
  for (guint i = 0; i < G_N_ELEMENTS (self->locks); i++)
    g_mutex_init (&self->locks[i]);
  g_mutex_init (&self->save_lock);
  self->cookies = cookies;
  self->hsts = hsts;

  self->share = curl_share_init ();
  curl_share_setopt (self->share, CURLSHOPT_LOCKFUNC, lock_cb);
  curl_share_setopt (self->share, CURLSHOPT_UNLOCKFUNC, unlock_cb);
  curl_share_setopt (self->share, CURLSHOPT_USERDATA, self);
  if (cookies)
    curl_share_setopt (self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  if (hsts)
    curl_share_setopt (self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_HSTS);
  /* What libcurl 7.88 shares safely between threads, for the blocking
   * calls' multis (gcurl-sync.c); not connections (CURL_LOCK_DATA_CONNECT
   * is documented unsafe across threads). */
  curl_share_setopt (self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

  self->handle = curl_easy_init ();
  curl_easy_setopt (self->handle, CURLOPT_SHARE, self->share);

  return self;
}

/* A jar without cookies or HSTS: only the DNS cache and the TLS sessions,
 * which the blocking calls' multis of a multi without a jar share. */
GCurlJar *
g_curl_jar_new_bare (GMainContext *context)
{
  return jar_new (context, FALSE, FALSE);
}

GCurlJar *
g_curl_jar_ref (GCurlJar *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
g_curl_jar_unref (GCurlJar *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  if (self->save_source != NULL)
    g_source_destroy (self->save_source);
  g_clear_pointer (&self->save_source, g_source_unref);
  /* The last handle attached goes first: libcurl refuses to clean up a
   * share in use. */
  g_clear_pointer (&self->handle, curl_easy_cleanup);
  g_clear_pointer (&self->share, curl_share_cleanup);
  for (guint i = 0; i < G_N_ELEMENTS (self->locks); i++)
    g_mutex_clear (&self->locks[i]);
  g_mutex_clear (&self->save_lock);
  g_clear_pointer (&self->hsts_pending, g_array_unref);
  g_free (self->cookie_path);
  g_free (self->hsts_path);
  g_main_context_unref (self->context);
  g_free (self);
}

/* Cookies */

/* The share's cookies as Netscape lines, without the expired ones (libcurl
 * drops those only when the next cookie is added). */
static GPtrArray *
list_cookies (GCurlJar *self)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  struct curl_slist *list = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (!self->cookies ||
      curl_easy_getinfo (self->handle, CURLINFO_COOKIELIST, &list) != CURLE_OK)
    return lines;

  for (struct curl_slist *item = list; item != NULL; item = item->next)
    {
      g_auto(GStrv) fields = g_strsplit (item->data, "\t", 7);
      gint64 expires;

      if (g_strv_length (fields) == 7)
        {
          expires = g_ascii_strtoll (fields[4], NULL, 10);
          if (expires != 0 && expires <= now)
            continue;
        }
      g_ptr_array_add (lines, g_strdup (item->data));
    }
  curl_slist_free_all (list);

  return lines;
}

static void
add_cookie_line (GCurlJar   *self,
                 const char *line)
{
  curl_easy_setopt (self->handle, CURLOPT_COOKIELIST, line);
}

/* Reads a Netscape cookie file into the share. A file that does not exist
 * is an empty jar; one that cannot be read is a warning, and an empty jar
 * too (the file is written again at the next change). Lines libcurl does
 * not take (comments, "Set-Cookie:" lines, which libcurl would take with
 * no domain) are skipped. */
static void
load_cookies (GCurlJar   *self,
              const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Could not read the cookie file %s: %s", path, error->message);
      return;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strchomp (lines[i]);

      if (line[0] == '\0' || g_ascii_strncasecmp (line, "Set-Cookie:", 11) == 0 ||
          (line[0] == '#' && !g_str_has_prefix (line, "#HttpOnly_")))
        continue;
      add_cookie_line (self, line);
    }
}

/* Writes @contents to @path atomically (a temporary file renamed over
 * it) with mode 0600. */
static void
save_file (const char *path,
           GString    *contents,
           const char *what)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents_full (path, contents->str, (gssize) contents->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, JAR_FILE_MODE, &error))
    g_warning ("Could not save the %s to %s: %s", what, path, error->message);
}

static void
save_cookies (GCurlJar *self)
{
  g_autoptr(GPtrArray) lines = list_cookies (self);
  g_autoptr(GString) contents = g_string_new (COOKIE_FILE_HEADER);

  for (guint i = 0; i < lines->len; i++)
    {
      g_string_append (contents, lines->pdata[i]);
      g_string_append_c (contents, '\n');
    }
  save_file (self->cookie_path, contents, "cookies");
}

/* HSTS */

static gboolean
parse_hsts_line (const char *line,
                 HstsEntry  *entry)
{
  const char *space = strpbrk (line, " \t");
  const char *date, *end;

  if (space == NULL || space == line)
    return FALSE;
  date = space;
  while (*date == ' ' || *date == '\t')
    date++;
  if (*date++ != '"' || (end = strchr (date, '"')) == NULL ||
      (gsize) (end - date) >= sizeof entry->expire)
    return FALSE;

  entry->subdomains = line[0] == '.';
  entry->host = g_strndup (line + entry->subdomains, (gsize) (space - line) - entry->subdomains);
  if (entry->host[0] == '\0')
    {
      g_clear_pointer (&entry->host, g_free);
      return FALSE;
    }
  memset (entry->expire, 0, sizeof entry->expire);
  if (strncmp (date, HSTS_UNLIMITED, (gsize) (end - date)) != 0)
    memcpy (entry->expire, date, (gsize) (end - date));

  return TRUE;
}

static GArray *
hsts_entries_new (void)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (HstsEntry));

  g_array_set_clear_func (entries, hsts_entry_clear);
  return entries;
}

/* Reads an HSTS file (libcurl's format) into the entries the next
 * transfer to start loads. Errors as load_cookies(). */
static void
load_hsts (GCurlJar   *self,
           const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Could not read the HSTS file %s: %s", path, error->message);
      return;
    }

  if (self->hsts_pending == NULL)
    self->hsts_pending = hsts_entries_new ();
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      HstsEntry entry = { 0, };
      char *line = g_strstrip (lines[i]);

      if (line[0] != '#' && parse_hsts_line (line, &entry))
        g_array_append_val (self->hsts_pending, entry);
    }
}

/* CURLOPT_HSTSREADFUNCTION of the attached handles: hands the entries
 * read from the file to the share, once. */
static CURLSTScode
hsts_read_cb (CURL                  *handle,
              struct curl_hstsentry *sts,
              void                  *user_data)
{
  GCurlJar *self = user_data;
  HstsEntry *entry;

  while (self->hsts_pending != NULL && self->hsts_pending->len > 0)
    {
      guint last = self->hsts_pending->len - 1;

      entry = &g_array_index (self->hsts_pending, HstsEntry, last);
      if (strlen (entry->host) <= sts->namelen)
        {
          strcpy (sts->name, entry->host);
          sts->includeSubDomains = entry->subdomains;
          memcpy (sts->expire, entry->expire, sizeof sts->expire);
          g_array_remove_index (self->hsts_pending, last);
          return CURLSTS_OK;
        }
      g_array_remove_index (self->hsts_pending, last);
    }

  g_clear_pointer (&self->hsts_pending, g_array_unref);
  return CURLSTS_DONE;
}

static CURLSTScode
hsts_write_cb (CURL                  *handle,
               struct curl_hstsentry *sts,
               struct curl_index     *count,
               void                  *user_data)
{
  GArray *entries = user_data;
  HstsEntry entry = { 0, };

  entry.host = g_strndup (sts->name, sts->namelen);
  entry.subdomains = sts->includeSubDomains;
  if (g_strcmp0 (sts->expire, HSTS_UNLIMITED) != 0)
    g_strlcpy (entry.expire, sts->expire, sizeof entry.expire);
  g_array_append_val (entries, entry);

  return CURLSTS_OK;
}

/* The share's HSTS entries, and those of the file no transfer has loaded
 * yet: libcurl lists a cache only when a handle attached to it is cleaned
 * up. */
static GArray *
list_hsts (GCurlJar *self)
{
  GArray *entries = hsts_entries_new ();
  CURL *lister = curl_easy_init ();

  if (lister != NULL)
    {
      curl_easy_setopt (lister, CURLOPT_SHARE, self->share);
      curl_easy_setopt (lister, CURLOPT_HSTSWRITEFUNCTION, hsts_write_cb);
      curl_easy_setopt (lister, CURLOPT_HSTSWRITEDATA, entries);
      curl_easy_cleanup (lister);
    }

  for (guint i = 0; self->hsts_pending != NULL && i < self->hsts_pending->len; i++)
    {
      HstsEntry entry = g_array_index (self->hsts_pending, HstsEntry, i);

      entry.host = g_strdup (entry.host);
      g_array_append_val (entries, entry);
    }

  return entries;
}

static void
save_hsts (GCurlJar *self)
{
  g_autoptr(GArray) entries = list_hsts (self);
  g_autoptr(GString) contents = g_string_new (HSTS_FILE_HEADER);

  for (guint i = 0; i < entries->len; i++)
    {
      HstsEntry *entry = &g_array_index (entries, HstsEntry, i);

      g_string_append_printf (contents, "%s%s \"%s\"\n", entry->subdomains ? "." : "",
                              entry->host, entry->expire[0] ? entry->expire : HSTS_UNLIMITED);
    }
  save_file (self->hsts_path, contents, "HSTS cache");
}

/* Saving */

static void
save_now_locked (GCurlJar *self)
{
  if (self->save_source != NULL)
    g_source_destroy (self->save_source);
  g_clear_pointer (&self->save_source, g_source_unref);

  if (self->cookies_dirty && self->cookie_path != NULL)
    save_cookies (self);
  if (self->hsts_dirty && self->hsts_path != NULL)
    save_hsts (self);
  self->cookies_dirty = FALSE;
  self->hsts_dirty = FALSE;
}

static void
save_now (GCurlJar *self)
{
  g_mutex_lock (&self->save_lock);
  save_now_locked (self);
  g_mutex_unlock (&self->save_lock);
}

static gboolean
save_cb (gpointer user_data)
{
  GCurlJar *self = user_data;

  g_mutex_lock (&self->save_lock);
  g_clear_pointer (&self->save_source, g_source_unref);
  save_now_locked (self);
  g_mutex_unlock (&self->save_lock);

  return G_SOURCE_REMOVE;
}

/* Saves soon: a burst of changes is one write. Under save_lock. */
static void
schedule_save_locked (GCurlJar *self)
{
  if (self->save_source != NULL)
    return;

  self->save_source = g_timeout_source_new (GCURL_JAR_SAVE_DELAY_MS);
  g_source_set_static_name (self->save_source, "[gcurlmulti] jar save");
  g_source_set_callback (self->save_source, save_cb, self, NULL);
  g_source_attach (self->save_source, self->context);
}

/* Saves what changed, and lets go of the files: transfers still attached
 * to @self keep it alive, but what they bring no longer reaches a file
 * (the multi has a new jar, or is gone). */
void
g_curl_jar_retire (GCurlJar *self)
{
  g_mutex_lock (&self->save_lock);
  save_now_locked (self);
  g_clear_pointer (&self->cookie_path, g_free);
  g_clear_pointer (&self->hsts_path, g_free);
  g_mutex_unlock (&self->save_lock);
}

/* The multi's settings */

static gboolean
is_path (const char *file)
{
  return file != NULL && file[0] != '\0';
}

/* A cookie file on the same kind of jar: what there is is saved to the
 * old file; a new path replaces it with that file's cookies, "" keeps it
 * in memory. */
static void
set_cookie_file (GCurlJar   *self,
                 const char *cookie_file)
{
  if (g_strcmp0 (self->cookie_path, is_path (cookie_file) ? cookie_file : NULL) == 0)
    return;

  g_mutex_lock (&self->save_lock);
  save_now_locked (self);
  g_clear_pointer (&self->cookie_path, g_free);
  if (is_path (cookie_file))
    {
      curl_easy_setopt (self->handle, CURLOPT_COOKIELIST, "ALL");
      self->cookie_path = g_strdup (cookie_file);
      load_cookies (self, cookie_file);
    }
  g_mutex_unlock (&self->save_lock);
}

/* Returns the jar for a multi's "cookie-file" and "hsts-file" (each NULL:
 * off, "": in memory, else a path), taking over @self (the multi's jar
 * until now, or NULL); NULL when both are off. Setting a path loads that
 * file in place of what the jar had, after saving that to the old path;
 * going from a path to "" keeps what there is in memory. Turning cookies
 * or HSTS on or off, or changing the HSTS file, takes a new share: the
 * cookies and HSTS entries that stay move to it, and the old jar is
 * retired (transfers running with it finish with it). */
GCurlJar *
g_curl_jar_update (GCurlJar     *self,
                   GMainContext *context,
                   const char   *cookie_file,
                   const char   *hsts_file)
{
  gboolean cookies = cookie_file != NULL, hsts = hsts_file != NULL;
  GCurlJar *jar;

  if (self != NULL && self->cookies == cookies && self->hsts == hsts &&
      g_strcmp0 (self->hsts_path, is_path (hsts_file) ? hsts_file : NULL) == 0)
    {
      if (cookies)
        set_cookie_file (self, cookie_file);
      return self;
    }

  if (self != NULL)
    save_now (self);

  jar = cookies || hsts ? jar_new (context, cookies, hsts) : NULL;
  if (jar != NULL && cookies)
    {
      if (self != NULL && self->cookies &&
          (!is_path (cookie_file) || g_strcmp0 (self->cookie_path, cookie_file) == 0))
        {
          g_autoptr(GPtrArray) lines = list_cookies (self);

          for (guint i = 0; i < lines->len; i++)
            add_cookie_line (jar, lines->pdata[i]);
        }
      else if (is_path (cookie_file))
        load_cookies (jar, cookie_file);
      jar->cookie_path = is_path (cookie_file) ? g_strdup (cookie_file) : NULL;
    }
  if (jar != NULL && hsts)
    {
      if (self != NULL && self->hsts &&
          (!is_path (hsts_file) || g_strcmp0 (self->hsts_path, hsts_file) == 0))
        jar->hsts_pending = list_hsts (self);
      else if (is_path (hsts_file))
        load_hsts (jar, hsts_file);
      jar->hsts_path = is_path (hsts_file) ? g_strdup (hsts_file) : NULL;
    }

  if (self != NULL)
    {
      g_curl_jar_retire (self);
      g_curl_jar_unref (self);
    }

  return jar;
}

/* The easy handles */

static void
attach (GCurlJar *self,
        CURL     *handle)
{
  curl_easy_setopt (handle, CURLOPT_SHARE, self->share);
  if (self->cookies)
    curl_easy_setopt (handle, CURLOPT_COOKIEFILE, "");
  if (self->hsts)
    {
      curl_easy_setopt (handle, CURLOPT_HSTSREADFUNCTION, hsts_read_cb);
      curl_easy_setopt (handle, CURLOPT_HSTSREADDATA, self);
    }
}

static void
detach (GCurlJar *self,
        CURL     *handle)
{
  if (self->cookies)
    curl_easy_setopt (handle, CURLOPT_COOKIEFILE, NULL);
  if (self->hsts)
    {
      curl_easy_setopt (handle, CURLOPT_HSTSREADFUNCTION, NULL);
      curl_easy_setopt (handle, CURLOPT_HSTSREADDATA, NULL);
    }
  curl_easy_setopt (handle, CURLOPT_SHARE, NULL);
}

/* Attaches @handle to @jar (nullable: to none) before a run, if it is not
 * already; *@attached is the jar it is attached to, holding a reference.
 * The handle's owner drops that reference after curl_easy_cleanup(). */
void
g_curl_jar_switch (GCurlJar **attached,
                   GCurlJar  *jar,
                   CURL      *handle)
{
  if (*attached == jar)
    return;

  if (*attached != NULL)
    {
      detach (*attached, handle);
      g_clear_pointer (attached, g_curl_jar_unref);
    }
  if (jar != NULL)
    {
      *attached = g_curl_jar_ref (jar);
      attach (jar, handle);
    }
}

static gboolean
has_header (CURL       *handle,
            const char *name)
{
  struct curl_header *header;

  return curl_easy_header (handle, name, 0, CURLH_HEADER, -1, &header) == CURLHE_OK;
}

/* After each response of a handle attached to @self (each hop of a
 * redirect too): a save is due if it set a cookie or HSTS, and there is a
 * file to save to. Costs nothing for a jar in memory. */
void
g_curl_jar_note_response (GCurlJar *self,
                          CURL     *handle)
{
  gboolean changed = FALSE;

  g_mutex_lock (&self->save_lock);
  if (self->cookie_path != NULL && has_header (handle, "Set-Cookie"))
    changed = self->cookies_dirty = TRUE;
  if (self->hsts_path != NULL && has_header (handle, "Strict-Transport-Security"))
    changed = self->hsts_dirty = TRUE;
  if (changed)
    schedule_save_locked (self);
  g_mutex_unlock (&self->save_lock);
}

/* The application's view */

/* (transfer full): the cookies as Netscape lines; empty for NULL. */
char **
g_curl_jar_get_cookies (GCurlJar *self)
{
  g_autoptr(GPtrArray) lines = NULL;

  if (self == NULL)
    return g_new0 (char *, 1);

  lines = list_cookies (self);
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&lines), FALSE);
}

/* Whether @url is one a response could set a cookie from: an absolute
 * http or https URL with a host. */
gboolean
g_curl_jar_url_is_valid (const char *url)
{
  g_autoptr(GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *scheme;

  if (uri == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  return (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0) &&
         g_uri_get_host (uri) != NULL && g_uri_get_host (uri)[0] != '\0';
}

/* RFC 6265, 5.1.4: the directory of the URL's path. */
static char *
default_path (const char *path)
{
  const char *slash = path != NULL ? strrchr (path, '/') : NULL;

  if (path == NULL || path[0] != '/' || slash == path)
    return g_strdup ("/");
  return g_strndup (path, (gsize) (slash - path));
}

/* The Domain and Path attributes of a Set-Cookie value, and whether it
 * says Secure, read as libcurl reads them (the last one wins; a Domain
 * without a value is none). Only attribute names are looked at: libcurl
 * parses the rest. */
static void
scan_attributes (const char  *set_cookie,
                 char       **domain,
                 gboolean    *has_path,
                 gboolean    *secure)
{
  g_auto(GStrv) parts = g_strsplit (set_cookie, ";", -1);

  *domain = NULL;
  *has_path = FALSE;
  *secure = FALSE;
  for (guint i = 1; parts[0] != NULL && parts[i] != NULL; i++)
    {
      char *equals = strchr (parts[i], '=');
      char *value = equals != NULL ? g_strstrip (equals + 1) : NULL;
      char *name;

      if (equals != NULL)
        *equals = '\0';
      name = g_strstrip (parts[i]);
      if (g_ascii_strcasecmp (name, "domain") == 0 && value != NULL && value[0] != '\0')
        {
          g_free (*domain);
          *domain = g_ascii_strdown (value[0] == '.' ? value + 1 : value, -1);
        }
      else if (g_ascii_strcasecmp (name, "path") == 0 && value != NULL)
        *has_path = TRUE;
      else if (g_ascii_strcasecmp (name, "secure") == 0 && (value == NULL || value[0] == '\0'))
        *secure = TRUE;
    }
}

/* The checks libcurl makes of a Set-Cookie from a response of @host, which
 * it cannot make without one: a Domain must be the host or a domain it is
 * in, not an IP address unless the host is that address, and have a dot
 * unless it is "localhost" (libcurl's rule without the public suffix
 * list, which it consults only with a request); Secure only from a secure
 * origin (https, or localhost, as libcurl 7.88 counts them). */
static gboolean
allowed_from (const char *host,
              gboolean    https,
              const char *domain,
              gboolean    secure)
{
  if (secure && !https && g_ascii_strcasecmp (host, "localhost") != 0 &&
      strcmp (host, "127.0.0.1") != 0 && strcmp (host, "::1") != 0)
    return FALSE;
  if (domain == NULL)
    return TRUE;
  if (g_hostname_is_ip_address (host) || g_hostname_is_ip_address (domain))
    return strcmp (host, domain) == 0;
  if (strchr (domain, '.') == NULL && strcmp (domain, "localhost") != 0)
    return FALSE;

  return strcmp (host, domain) == 0 ||
         (g_str_has_suffix (host, domain) && host[strlen (host) - strlen (domain) - 1] == '.');
}

/* Parses @set_cookie with libcurl on a handle of its own (its own jar, so
 * nothing else is in it, and libcurl's 50 Set-Cookie lines per request
 * count from 0): one Netscape line, or NULL if libcurl refused it.
 * libcurl lists no cookie without a domain, so one without a Domain gets
 * a placeholder: an IP address, which libcurl keeps host-only (a
 * "__Host-" cookie stays acceptable), replaced by the caller. */
static char *
parse_set_cookie (const char *set_cookie,
                  gboolean    has_domain)
{
  g_autofree char *header = g_strconcat ("Set-Cookie: ", set_cookie,
                                         has_domain ? NULL : "; Domain=" PLACEHOLDER_DOMAIN,
                                         NULL);
  struct curl_slist *list = NULL;
  CURL *parser = curl_easy_init ();
  char *line = NULL;

  if (parser == NULL)
    return NULL;
  curl_easy_setopt (parser, CURLOPT_COOKIELIST, header);
  if (curl_easy_getinfo (parser, CURLINFO_COOKIELIST, &list) == CURLE_OK &&
      list != NULL && list->next == NULL)
    line = g_strdup (list->data);
  curl_slist_free_all (list);
  curl_easy_cleanup (parser);

  return line;
}

/* Adds a cookie as if a response from @url (g_curl_jar_url_is_valid())
 * had said "Set-Cookie: @set_cookie". libcurl parses it (name, value,
 * Expires, Max-Age, Secure, HttpOnly, the __Secure- and __Host- prefixes)
 * into a Netscape line, without a request: the checks a request would
 * bring are made here (allowed_from()), and the line gets the URL's host
 * (host-only: not for other hosts of its domain) when there is no Domain,
 * and its default path when there is no Path. FALSE if the cookie is
 * refused. */
gboolean
g_curl_jar_add_cookie (GCurlJar   *self,
                       const char *url,
                       const char *set_cookie)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *host = g_ascii_strdown (g_uri_get_host (uri), -1);
  gboolean https = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0;
  g_autofree char *domain = NULL;
  g_autofree char *line = NULL;
  g_autofree char *path = NULL;
  g_autofree char *fixed = NULL;
  g_auto(GStrv) fields = NULL;
  gboolean has_path, secure;
  char *domain_field;

  if (self == NULL || !self->cookies)
    return TRUE;
  scan_attributes (set_cookie, &domain, &has_path, &secure);
  if (!allowed_from (host, https, domain, secure))
    return FALSE;

  line = parse_set_cookie (set_cookie, domain != NULL);
  if (line == NULL)
    return FALSE;
  fields = g_strsplit (line, "\t", 7);
  if (g_strv_length (fields) != 7)
    return FALSE;

  /* fields[0] is "[#HttpOnly_][.]domain": the placeholder without a
   * Domain. */
  domain_field = fields[0] + (g_str_has_prefix (fields[0], "#HttpOnly_") ? 10 : 0);
  if (domain == NULL)
    {
      *domain_field = '\0';
      fixed = g_strconcat (fields[0], host, NULL);
      g_free (fields[0]);
      fields[0] = g_steal_pointer (&fixed);
      g_free (fields[1]);
      fields[1] = g_strdup ("FALSE");
    }
  if (!has_path)
    {
      path = default_path (g_uri_get_path (uri));
      g_free (fields[2]);
      fields[2] = g_steal_pointer (&path);
    }

  g_clear_pointer (&line, g_free);
  line = g_strjoinv ("\t", fields);
  add_cookie_line (self, line);
  g_mutex_lock (&self->save_lock);
  if (self->cookie_path != NULL)
    {
      self->cookies_dirty = TRUE;
      schedule_save_locked (self);
    }
  g_mutex_unlock (&self->save_lock);

  return TRUE;
}

/* Drops every cookie, and saves the empty jar at once. */
void
g_curl_jar_clear_cookies (GCurlJar *self)
{
  if (self == NULL || !self->cookies)
    return;
  curl_easy_setopt (self->handle, CURLOPT_COOKIELIST, "ALL");
  g_mutex_lock (&self->save_lock);
  if (self->cookie_path != NULL)
    {
      self->cookies_dirty = TRUE;
      save_now_locked (self);
    }
  g_mutex_unlock (&self->save_lock);
}
