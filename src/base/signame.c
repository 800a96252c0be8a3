/*
 * signame.c - signal names and numbers (signame.h). Docker's table for
 * Linux is the reference: the same names, aliases (CLD, IOT, POLL) and the
 * real-time signals counted from RTMIN and back from RTMAX.
 */
#include "base/base.h"
#include "base/signame.h"

#include <signal.h>
#include <strings.h>

/* glibc keeps 32 and 33 for itself; docker numbers RTMIN+n from 34 as well. */
#define RT_MIN 34
#define RT_MAX 64

static const struct {
	const char *name;
	int num;
} signals[] = {
	{ "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS }, { "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD }, { "CONT", SIGCONT }, { "FPE", SIGFPE }, { "HUP", SIGHUP },
	{ "ILL", SIGILL }, { "INT", SIGINT }, { "IO", SIGIO }, { "IOT", SIGIOT },
	{ "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "POLL", SIGPOLL }, { "PROF", SIGPROF },
	{ "PWR", SIGPWR }, { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV }, { "STKFLT", SIGSTKFLT },
	{ "STOP", SIGSTOP }, { "SYS", SIGSYS }, { "TERM", SIGTERM }, { "TRAP", SIGTRAP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

/* RTMIN, RTMAX, RTMIN+n, RTMAX-n (n from 1 to 15), in any case; -1 for other names. */
static int rt_signal(const char *s)
{
	char *end;
	long n;

	if (strcasecmp(s, "RTMIN") == 0)
		return RT_MIN;
	if (strcasecmp(s, "RTMAX") == 0)
		return RT_MAX;
	if (strncasecmp(s, "RTMIN+", 6) != 0 && strncasecmp(s, "RTMAX-", 6) != 0)
		return -1;
	if (s[6] < '0' || s[6] > '9')
		return -1;
	n = strtol(s + 6, &end, 10);
	if (*end || n < 1 || n > 15)
		return -1;
	return s[5] == '+' ? RT_MIN + (int)n : RT_MAX - (int)n;
}

static int by_name(const char *s)
{
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].num;
	return rt_signal(s);
}

int hamn_signal_parse(const char *s, int *out, struct hamn_error **err)
{
	char *end;
	long n;
	int sig;

	if (s && s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		if (*end || errno || n < 1 || n > RT_MAX)
			return hamn_error_setq(err, EINVAL, "Invalid signal: %s", s);
		*out = (int)n;
		return 0;
	}
	sig = s ? by_name(s) : -1;
	if (sig < 0)
		return hamn_error_setq(err, EINVAL, "Invalid signal: %s", s ? s : "");
	*out = sig;
	return 0;
}
