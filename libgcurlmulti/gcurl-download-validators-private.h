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

char *g_curl_download_read_kept_validators (GFile              *destination,
                                            GFileInfo          *info);
void  g_curl_download_keep_validators      (GFile              *part_side_file,
                                            GFile              *destination,
                                            GCurlDownloadFlags  flags);

G_END_DECLS
