/*
 * listen.c - -H host parsing and the listening sockets.
 *
 * Unix sockets are bound, chmod 0660 and chown root:<group> *before*
 * listen(): until listen() every connect() is refused, so there is no window
 * in which a socket with the umask's wider mode accepts anyone. A socket
 * file left by a daemon that was killed is removed only after a connect()
 * proves nothing answers on it.
 */
#include "api/internal.h"

#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

void hamn_api_host_release(struct hamn_api_host *h)
{
	free(h->path);
	free(h->addr);
	h->path = h->addr = NULL;
}

/* "host:port", "[v6]:port", ":port", "host"; port 0 means "not given". */
static int split_addr(const char *s, char **addr, unsigned long *port, struct hamn_error **err)
{
	const char *colon;
	char *end = NULL;

	*port = 0;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return hamn_error_setq(err, EINVAL, "bad IPv6 address");
		*addr = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close[1] ? close + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		*addr = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
	}
	if (!colon)
		return 0;
	errno = 0;
	*port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || *port == 0 || *port > 65535)
		return hamn_error_setq(err, EINVAL, "bad port '%s'", colon + 1);
	return 0;
}

static int parse_tcp(const char *rest, bool tls, struct hamn_api_host *out, struct hamn_error **err)
{
	size_t n = strcspn(rest, "/");
	_cleanup_free_ char *hostport = xstrndup(rest, n);
	unsigned long port = 0;

	if (rest[n] && strcmp(rest + n, "/") != 0)
		return hamn_error_setq(err, EINVAL, "a tcp host takes no path");
	if (split_addr(hostport, &out->addr, &port, err) < 0)
		return -1;
	out->kind = HAMN_API_HOST_TCP;
	out->port = (uint16_t)(port ? port : (tls ? 2376 : 2375));
	return 0;
}

int hamn_api_parse_host(const char *spec, bool tls, struct hamn_api_host *out,
			struct hamn_error **err)
{
	memset(out, 0, sizeof(*out));
	if (str_has_prefix(spec, "unix://")) {
		const char *path = spec + strlen("unix://");

		if (!*path)
			path = HAMN_API_DEFAULT_SOCKET;
		if (*path != '/')
			return hamn_error_setq(err, EINVAL,
					       "invalid host '%s': the socket path must be "
					       "absolute",
					       spec);
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return hamn_error_setq(err, ENAMETOOLONG,
					       "invalid host '%s': socket path too long", spec);
		out->kind = HAMN_API_HOST_UNIX;
		out->path = xstrdup(path);
		return 0;
	}
	if (str_has_prefix(spec, "tcp://")) {
		if (parse_tcp(spec + strlen("tcp://"), tls, out, err) < 0) {
			hamn_api_host_release(out);
			return hamn_error_wrap(err, "invalid host '%s'", spec);
		}
		return 0;
	}
	return hamn_error_setq(err, EINVAL,
			       "invalid host '%s': use unix:///path or tcp://addr:port", spec);
}

/* Remove path if it is a socket nobody answers on; EADDRINUSE if a daemon does. */
static int remove_stale_socket(const char *path, struct hamn_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : hamn_error_set(err, errno, "stat '%s'", path);
	if (!S_ISSOCK(st.st_mode))
		return hamn_error_setq(err, EEXIST, "'%s' exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hamn_error_set(err, errno, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return hamn_error_setq(err, EADDRINUSE, "another daemon is listening on '%s'",
				       path);
	if (errno != ECONNREFUSED)
		return hamn_error_set(err, errno, "probe '%s'", path);
	log_kv(HAMN_LOG_INFO, "removing stale socket", "path=%s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return hamn_error_set(err, errno, "remove stale socket '%s'", path);
	return 0;
}

static int make_parent_dir(const char *path, struct hamn_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	const char *dir = dirname(copy);

	if (access(dir, F_OK) == 0)
		return 0;
	return hamn_mkdir_p(AT_FDCWD, dir, 0711, err);
}

/*
 * Set the socket file's owner and mode through an O_PATH fd opened with
 * O_NOFOLLOW: in a shared directory the name could be swapped for a
 * symlink between bind() and here, and chmod() would follow it.
 */
static int secure_socket_file(struct api_endpoint *ep, gid_t gid, struct hamn_error **err)
{
	_cleanup_close_ int pfd = -1;
	char fdpath[HAMN_FD_PATH_MAX];
	struct stat st;

	pfd = open(ep->host.path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return hamn_error_set(err, errno, "open '%s'", ep->host.path);
	if (fstat(pfd, &st) < 0)
		return hamn_error_set(err, errno, "stat '%s'", ep->host.path);
	if (!S_ISSOCK(st.st_mode))
		return hamn_error_setq(err, EEXIST, "'%s' was replaced while binding",
				       ep->host.path);
	if (fchownat(pfd, "", 0, gid, AT_EMPTY_PATH) < 0)
		return hamn_error_set(err, errno, "chown '%s'", ep->host.path);
	if (chmod(hamn_fd_path(pfd, fdpath), 0660) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", ep->host.path);
	ep->sock_dev = st.st_dev;
	ep->sock_ino = st.st_ino;
	return 0;
}

static int listen_unix(struct api_endpoint *ep, gid_t gid, struct hamn_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (make_parent_dir(ep->host.path, err) < 0 || remove_stale_socket(ep->host.path, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hamn_error_set(err, errno, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ep->host.path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hamn_error_set(err, errno, "bind '%s'", ep->host.path);
	if (secure_socket_file(ep, gid, err) < 0 || listen(fd, SOMAXCONN) < 0) {
		if (!*err)
			hamn_error_set(err, errno, "listen on '%s'", ep->host.path);
		unlink(ep->host.path);
		return -1;
	}
	ep->listen_fd = steal_fd(&fd);
	return 0;
}

static int listen_tcp(struct api_endpoint *ep, struct hamn_error **err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8];
	_cleanup_close_ int fd = -1;
	int one = 1, rc;

	snprintf(port, sizeof(port), "%u", ep->host.port);
	rc = getaddrinfo(*ep->host.addr ? ep->host.addr : NULL, port, &hints, &ai);
	if (rc != 0)
		return hamn_error_setq(err, EINVAL, "resolve '%s': %s", ep->host.addr,
				       gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return hamn_error_set(err, errno, "socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 || listen(fd, SOMAXCONN) < 0)
		return hamn_error_set(err, errno, "bind %s:%u", ep->host.addr, ep->host.port);
	ep->listen_fd = steal_fd(&fd);
	return 0;
}

int api_listen(struct api_endpoint *ep, gid_t gid, struct hamn_error **err)
{
	if (ep->host.kind == HAMN_API_HOST_UNIX)
		return listen_unix(ep, gid, err);
	return listen_tcp(ep, err);
}

/* Remove the socket file if it is still the one we made (another daemon may own it now). */
static void remove_our_socket(struct api_endpoint *ep)
{
	struct stat st;

	if (ep->host.kind != HAMN_API_HOST_UNIX || !ep->sock_ino)
		return;
	if (lstat(ep->host.path, &st) == 0 && st.st_dev == ep->sock_dev &&
	    st.st_ino == ep->sock_ino)
		unlink(ep->host.path);
	ep->sock_ino = 0;
}

void api_unlisten(struct api_endpoint *ep)
{
	if (ep->mhd && ep->listen_fd >= 0) {
		/* MHD hands the listening socket back and stops accepting on it */
		MHD_socket fd = MHD_quiesce_daemon(ep->mhd);

		if (fd >= 0 && fd != ep->listen_fd)
			close(fd);
	}
	if (ep->listen_fd >= 0)
		close(ep->listen_fd);
	ep->listen_fd = -1;
	remove_our_socket(ep);
}
