/*
 * netns.c - work inside a container's network namespace.
 *
 * setns(CLONE_NEWNET) changes only the calling thread, and sockets stay in
 * the netns they were created in. So a short-lived thread joins the
 * container's netns, makes its netlink socket there (lo up, address,
 * default route) and the DNS sockets, and exits: the caller's thread never
 * leaves the daemon's netns, even when something fails half-way.
 */
#include <sched.h>

#include "network/internal.h"

struct job {
	int netns_fd;
	int (*fn)(void *arg, struct hamn_error **err);
	void *arg;
	int rc;
	struct hamn_error *err;
};

static void *job_thread(void *p)
{
	struct job *j = p;

	if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
		j->rc = hamn_error_set(&j->err, errno, "join the container's network namespace");
		return NULL;
	}
	j->rc = j->fn(j->arg, &j->err);
	return NULL;
}

int netns_run(int netns_fd, int (*fn)(void *arg, struct hamn_error **err), void *arg,
	      struct hamn_error **err)
{
	struct job j = {.netns_fd = netns_fd, .fn = fn, .arg = arg};
	pthread_t t;
	int rc = pthread_create(&t, NULL, job_thread, &j);

	if (rc != 0)
		return hamn_error_set(err, rc, "start a thread for the container's netns");
	pthread_join(t, NULL);
	if (j.rc < 0)
		return hamn_error_propagate(err, &j.err);
	return 0;
}

static int configure(void *arg, struct hamn_error **err)
{
	struct netns_setup *s = arg;
	struct nl_sock *sk = NULL;
	int ifindex, rc = -1;

	if (link_open(&sk, err) < 0)
		return -1;
	if (link_set_up(sk, "lo", err) < 0 || link_ifindex(sk, s->ifname, &ifindex, err) < 0 ||
	    link_addr_add(sk, ifindex, s->ip, s->prefix, s->ifname, err) < 0 ||
	    link_set_up(sk, s->ifname, err) < 0)
		goto out;
	if (s->gateway && link_default_route(sk, ifindex, s->gateway, s->ifname, err) < 0)
		goto out;
	if (s->want_dns && hamn_dns_open_sockets(&s->dns_udp, &s->dns_tcp, err) < 0)
		goto out;
	rc = 0;
out:
	link_close(sk);
	return rc;
}

int netns_configure(int netns_fd, struct netns_setup *s, struct hamn_error **err)
{
	s->dns_udp = s->dns_tcp = -1;
	return netns_run(netns_fd, configure, s, err);
}

static int lo_up(void *arg, struct hamn_error **err)
{
	struct nl_sock *sk = NULL;
	int rc;

	(void)arg;
	if (link_open(&sk, err) < 0)
		return -1;
	rc = link_set_up(sk, "lo", err);
	link_close(sk);
	return rc;
}

int netns_lo_up(int netns_fd, struct hamn_error **err)
{
	return netns_run(netns_fd, lo_up, NULL, err);
}

struct dns_fds {
	int udp;
	int tcp;
};

static int open_dns(void *arg, struct hamn_error **err)
{
	struct dns_fds *f = arg;

	return hamn_dns_open_sockets(&f->udp, &f->tcp, err);
}

int netns_open_dns(int netns_fd, int *udp, int *tcp, struct hamn_error **err)
{
	struct dns_fds f = {-1, -1};

	if (netns_run(netns_fd, open_dns, &f, err) < 0)
		return -1;
	*udp = f.udp;
	*tcp = f.tcp;
	return 0;
}
