/*
 * base.h - the public header of src/base: the only one other modules include.
 *
 * Errors, allocation, cleanup, logging, buffers and strings, JSON helpers,
 * sha256 digests, safe filesystem operations, process spawning, time.
 * Raw syscalls are in base/syscalls.h, included explicitly where needed.
 */
#ifndef HAMN_BASE_BASE_H
#define HAMN_BASE_BASE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/xalloc.h"
#include "base/cleanup.h"
#include "base/log.h"
#include "base/buf.h"
#include "base/strutil.h"
#include "base/json.h"
#include "base/digest.h"
#include "base/fs.h"
#include "base/spawn.h"
#include "base/timeutil.h"

#include "base/banned.h"

#endif
