/* gcurlmulti.h: the one header applications include
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define __GCURLMULTI_H_INSIDE__

#include "gcurl-version.h"
#include "gcurl-auth.h"
#include "gcurl-date.h"
#include "gcurl-error.h"
#include "gcurl-log.h"
#include "gcurl-source.h"
#include "gcurl-timings.h"
#include "gcurl-transfer.h"
#include "gcurl-multi.h"
#include "gcurl-enum-types.h"

#undef __GCURLMULTI_H_INSIDE__
