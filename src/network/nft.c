/*
 * nft.c - load the instance's nft table through libnftables.
 *
 * The script comes from nftgen.c and always replaces the whole table in one
 * transaction (see nftgen.h for why). Called after every change of
 * networks or published ports; plain endpoint changes need no rule change
 * (rules are per bridge and per published port, never per container).
 *
 * libnftables (with libnftnl, libgmp, libxtables, libmnl) is opened on the
 * first script, not linked: a daemon without bridges (--bridge none) never
 * maps its ~1.2 MB. For the same reason the startup clean-up of a table left
 * by an earlier run is skipped when the marker file NFT_MARKER in the state
 * directory says no table was ever written (it is made before a table is and
 * removed once the table is deleted).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include "network/internal.h"

#define NFT_SONAME "libnftables.so.1"
#define NFT_MARKER "nft-table"

static struct {
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	const char *(*error_buffer)(struct nft_ctx *ctx);
	int (*run)(struct nft_ctx *ctx, const char *buf);
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static char lib_error[256];

static bool resolve(void *h, void **field, const char *name)
{
	if ((*field = dlsym(h, name)))
		return true;
	snprintf(lib_error, sizeof(lib_error), "load " NFT_SONAME ": no symbol '%s'", name);
	return false;
}

static void lib_open(void)
{
	void *h = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(lib_error, sizeof(lib_error), "load " NFT_SONAME ": %s", dlerror());
		return;
	}
	/* the handle stays open until the process ends */
	if (!resolve(h, (void **)&lib.ctx_new, "nft_ctx_new") ||
	    !resolve(h, (void **)&lib.ctx_free, "nft_ctx_free") ||
	    !resolve(h, (void **)&lib.buffer_output, "nft_ctx_buffer_output") ||
	    !resolve(h, (void **)&lib.buffer_error, "nft_ctx_buffer_error") ||
	    !resolve(h, (void **)&lib.error_buffer, "nft_ctx_get_error_buffer") ||
	    !resolve(h, (void **)&lib.run, "nft_run_cmd_from_buffer")) {
		memset(&lib, 0, sizeof(lib));
		dlclose(h);
	}
}

static int lib_load(struct hamn_error **err)
{
	pthread_once(&lib_once, lib_open);
	if (lib_error[0])
		return hamn_error_setq(err, ELIBACC, "%s", lib_error);
	return 0;
}

static void collect_ports(struct network *n, struct hamn_nft_port **ports, size_t *n_ports,
			  char ***tags)
{
	for (size_t e = 0; e < n->n_eps; e++) {
		struct endpoint *ep = n->eps[e];

		for (size_t p = 0; p < ep->n_ports; p++) {
			char *tag = xasprintf("ep=%.12s", ep->id);

			*ports = xreallocarray(*ports, *n_ports + 1, sizeof(**ports));
			(*ports)[(*n_ports)++] = (struct hamn_nft_port){
				.proto = ep->ports[p].proto,
				.host_ip = ep->ports[p].host_ip,
				.host_port = ep->ports[p].host_port,
				.ct_ip = ep->ip,
				.ct_port = ep->ports[p].container_port,
				.tag = tag,
			};
			strv_push_take(tags, tag);
		}
	}
}

char *nft_script(struct hamn_net_ctx *ctx)
{
	_cleanup_free_ struct hamn_nft_bridge *br = NULL;
	_cleanup_free_ struct hamn_nft_port *ports = NULL;
	_cleanup_strv_ char **tags = NULL;
	size_t n_br = 0, n_ports = 0;

	br = xcalloc(ctx->n_nets + 1, sizeof(*br));
	for (size_t i = 0; i < ctx->n_nets; i++) {
		struct network *n = ctx->nets[i];

		if (!is_bridge(n))
			continue;
		br[n_br++] = (struct hamn_nft_bridge){
			.ifname = n->bridge,
			.subnet = n->ipam.subnet,
			.internal = n->internal,
			.masquerade = n->masquerade,
			.icc = n->icc,
		};
		if (!n->internal)
			collect_ports(n, &ports, &n_ports, &tags);
	}
	return hamn_nft_ruleset(ctx->instance, br, n_br, ports, n_ports);
}

/*
 * libnftables (1.0.6) opens its netlink socket without SOCK_CLOEXEC and does
 * not show it: find netfilter netlink sockets lacking FD_CLOEXEC and set it,
 * so no child of the daemon inherits one. (A fork+exec by another thread in
 * the microseconds before this runs could still inherit it.)
 */
static void cloexec_nft_sockets(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name), dom = -1, proto = -1, fl;
		socklen_t len = sizeof(int);

		if (de->d_name[0] == '.' || fd == dirfd(d) || (fl = fcntl(fd, F_GETFD)) < 0 ||
		    (fl & FD_CLOEXEC))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 && dom == AF_NETLINK &&
		    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
		    proto == NETLINK_NETFILTER)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

/*
 * The context lives for one script: a kept one holds ~650 kB of libnftables'
 * buffers for the daemon's life, and making one costs ~0.1 ms.
 */
static int run_script(struct hamn_net_ctx *ctx, const char *script, struct hamn_error **err)
{
	int rc = 0;

	if (!ctx->nft) {
		if (lib_load(err) < 0)
			return -1;
		ctx->nft = lib.ctx_new(NFT_CTX_DEFAULT);
		if (!ctx->nft)
			return hamn_error_setq(err, ENOMEM, "nft: cannot create a context");
		cloexec_nft_sockets();
		lib.buffer_output(ctx->nft);
		lib.buffer_error(ctx->nft);
	}
	if (lib.run(ctx->nft, script) != 0) {
		_cleanup_free_ char *msg = xstrdup(lib.error_buffer(ctx->nft));
		size_t len = strlen(msg);

		while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
		rc = hamn_error_setq(err, EIO, "nft table '%s': %s", ctx->instance,
				     len ? msg : "failed");
	}
	nft_close(ctx);
	return rc;
}

static bool any_bridge(const struct hamn_net_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_nets; i++)
		if (is_bridge(ctx->nets[i]))
			return true;
	return false;
}

static bool marker_exists(const struct hamn_net_ctx *ctx)
{
	return faccessat(ctx->state_dirfd, NFT_MARKER, F_OK, 0) == 0 || errno != ENOENT;
}

static int marker_make(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	int fd = openat(ctx->state_dirfd, NFT_MARKER, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return hamn_error_set(err, errno, "create '%s/%s'", ctx->state_dir, NFT_MARKER);
	close(fd);
	return 0;
}

/* Delete the table if an earlier script may have made one; then drop the marker. */
static int delete_table(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	_cleanup_free_ char *script = NULL;

	if (!ctx->nft_loaded && !marker_exists(ctx))
		return 0;
	script = hamn_nft_delete_script(ctx->instance);
	if (run_script(ctx, script, err) < 0)
		return -1;
	ctx->nft_loaded = false;
	if (unlinkat(ctx->state_dirfd, NFT_MARKER, 0) < 0 && errno != ENOENT)
		return hamn_error_set(err, errno, "remove '%s/%s'", ctx->state_dir, NFT_MARKER);
	return 0;
}

int nft_apply(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	_cleanup_free_ char *script = NULL;

	/* no bridge, nothing to guard or NAT: no table (a -b none daemon leaves none behind) */
	if (!any_bridge(ctx))
		return delete_table(ctx, err);
	script = nft_script(ctx);
	if (!ctx->nft_loaded && marker_make(ctx, err) < 0)
		return -1;
	if (run_script(ctx, script, err) < 0)
		return -1;
	ctx->nft_loaded = true;
	return 0;
}

int nft_remove_table(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	return delete_table(ctx, err);
}

void nft_close(struct hamn_net_ctx *ctx)
{
	if (ctx->nft)
		lib.ctx_free(ctx->nft);
	ctx->nft = NULL;
}
