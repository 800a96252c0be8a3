/*
 * signame.h - signals by name or number, as docker spells them: "KILL",
 * "SIGTERM", "wInCh", "9", "RTMIN+3" (STOPSIGNAL, --stop-signal, kill -s).
 *
 * Not in base.h: included explicitly where a signal is parsed.
 */
#ifndef HAMN_BASE_SIGNAME_H
#define HAMN_BASE_SIGNAME_H

#include "base/error.h"

/*
 * Parse s into *out: a number from 1 to 64, or a name with or without
 * "SIG" in any case, including RTMIN, RTMIN+1..15, RTMAX-1..15 and RTMAX
 * (numbered as glibc's: RTMIN is 34, RTMAX 64, what docker assumes too).
 * EINVAL "Invalid signal: s" for anything else. Pure; thread-safe.
 */
int hamn_signal_parse(const char *s, int *out, struct hamn_error **err);

#endif
