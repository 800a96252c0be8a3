/*
 * restart.c - restart policies and their back-off, and the names of
 * container states. Pure functions.
 */
#include "engine/internal.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000
#define BACKOFF_RESET_NS (10LL * 1000000000LL)

int restart_policy_parse(const char *s)
{
	if (!s || !s[0] || streq(s, "no"))
		return RESTART_NO;
	if (streq(s, "always"))
		return RESTART_ALWAYS;
	if (streq(s, "unless-stopped"))
		return RESTART_UNLESS_STOPPED;
	if (streq(s, "on-failure"))
		return RESTART_ON_FAILURE;
	return -1;
}

const char *restart_policy_name(enum ctr_restart_policy p)
{
	switch (p) {
	case RESTART_ALWAYS:
		return "always";
	case RESTART_UNLESS_STOPPED:
		return "unless-stopped";
	case RESTART_ON_FAILURE:
		return "on-failure";
	default:
		return "no";
	}
}

bool restart_should(enum ctr_restart_policy p, int64_t max, int64_t restart_count, int code,
		    bool manual)
{
	if (manual)
		return false;
	switch (p) {
	case RESTART_ALWAYS:
	case RESTART_UNLESS_STOPPED:
		return true;
	case RESTART_ON_FAILURE:
		return code != 0 && (max == 0 || restart_count < max);
	default:
		return false;
	}
}

int64_t restart_next_backoff(int64_t prev_ms, int64_t ran_ns)
{
	int64_t next;

	/* a container that ran long enough starts the back-off over (docker's rule) */
	if (ran_ns >= BACKOFF_RESET_NS || prev_ms <= 0)
		return BACKOFF_FIRST_MS;
	next = prev_ms * 2;
	return next > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : next;
}

static const char *const status_names[] = {
	[ST_CREATED] = "created",   [ST_RUNNING] = "running", [ST_PAUSED] = "paused",
	[ST_RESTARTING] = "restarting", [ST_REMOVING] = "removing", [ST_EXITED] = "exited",
	[ST_DEAD] = "dead",
};

const char *ctr_status_name(enum ctr_status s)
{
	if ((size_t)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "dead";
}

int ctr_status_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (streq(s, status_names[i]))
			return (int)i;
	return -1;
}
