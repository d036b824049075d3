/* gcurl-download-validators-private.h: the validators a downloaded file
 * keeps in a side file, where its file system has no extended attributes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-multi.h"

G_BEGIN_DECLS

/* A .part's side file is "<file>.part" GCURL_VALIDATORS_SUFFIX, a saved
 * file's "<file>" GCURL_VALIDATORS_SUFFIX: a key file with this group. */
#define GCURL_VALIDATORS_SUFFIX ".validators"
#define GCURL_VALIDATORS_GROUP "gcurlmulti"

/* What identifies the version of the resource a .part holds. */
typedef struct
{
  char    *etag;            /* as the server sent it, or NULL */
  char    *last_modified;   /* HTTP date, or NULL */
  gint64   size;            /* the whole resource, -1 if unknown */
  gint64   filetime;        /* s since the epoch (ftp, file), -1 if unknown */
  gboolean damaged;         /* kept with a control character: matches nothing */
} GCurlValidators;

void             g_curl_validators_free           (GCurlValidators        *v);
char            *g_curl_validators_to_data        (const GCurlValidators  *v);
GCurlValidators *g_curl_validators_from_data      (const char             *data);
char            *g_curl_validators_unescape_xattr (const char             *value);
gboolean         g_curl_validators_match          (const GCurlValidators  *saved,
                                                   const GCurlValidators  *now,
                                                   const char            **which);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GCurlValidators, g_curl_validators_free)

char *g_curl_download_read_kept_validators (GFile              *destination,
                                            GFileInfo          *info);
void  g_curl_download_keep_validators      (GFile              *part_side_file,
                                            GFile              *destination,
                                            GCurlDownloadFlags  flags);

G_END_DECLS
