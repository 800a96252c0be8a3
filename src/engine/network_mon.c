/*
 * network_mon.c - the monitor's half of the network handshake. Between the
 * runtime's spawn (namespaces made, rootfs mounted, the init waiting) and
 * the release of the init, the monitor hands hamnd the init's netns and
 * waits until hamnd has attached the container's networks. Kept apart from
 * network.c so that the monitor never links src/network.
 */
#include <fcntl.h>
#include <unistd.h>

#include "engine/internal.h"

/* hamnd attaches in milliseconds; this only bounds a hamnd that hangs. */
#define NET_WAIT_TIMEOUT_MS 120000

int monitor_net_wait(int conn, pid_t pid, char *why, size_t len)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/net", (int)pid);
	struct mon_msg msg = {.type = MON_NET_WAIT, .pid = pid};
	_cleanup_close_ int fd = -1;

	/* the init is our unreaped child: its pid cannot have been reused */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "network: open '%s': %s", path, strerror(errno));
		return errno;
	}
	if (mon_send(conn, &msg, &fd, 1, &err) < 0) {
		snprintf(why, len, "network: %s", err->msg);
		return err->errnum ? err->errnum : EIO;
	}
	for (;;) {
		int r = mon_recv(conn, &msg, NULL, 0, NULL, NET_WAIT_TIMEOUT_MS, &err);

		if (r < 0) {
			snprintf(why, len, "network: %s", err->msg);
			return err->errnum ? err->errnum : EIO;
		}
		if (r == 0) {
			snprintf(why, len, "network: hamnd went away during the set-up");
			return EPIPE;
		}
		if (msg.type != MON_NET_GO)
			continue; /* nothing else is sent before STARTED */
		if (msg.code == 0)
			return 0;
		msg.text[sizeof(msg.text) - 1] = '\0';
		snprintf(why, len, "%s", msg.text);
		return msg.code;
	}
}
