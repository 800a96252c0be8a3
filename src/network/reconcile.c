/*
 * reconcile.c - make the kernel match the state at daemon start, and purge.
 *
 * After a crash or restart the kernel may hold more than the daemon
 * believes (bridges of removed networks, veths of containers that were
 * removed while the daemon was down, stale rules) and the daemon's sockets
 * (port reservations, DNS listeners) are gone. Reconcile works from the
 * state files and the caller's list of what is alive; it only ever deletes
 * links tagged with this instance's name, or veths plugged into them.
 */
#include "network/internal.h"

/* Keep the first error in *err; free the others after logging them. */
static void note(struct hamn_error **err, struct hamn_error **e, int *rc)
{
	if (!*e)
		return;
	log_warn("reconcile: %s", (*e)->msg);
	if (*rc == 0)
		*rc = hamn_error_propagate(err, e);
	hamn_error_free(e);
}

static const struct hamn_net_live_endpoint *find_live(const struct hamn_net_live_endpoint *live,
						      size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(live[i].endpoint_id, id))
			return &live[i];
	return NULL;
}

static void drop_network(struct hamn_net_ctx *ctx, size_t idx, struct hamn_error **err, int *rc)
{
	struct network *n = ctx->nets[idx];
	struct hamn_error *e = NULL;

	/* with EP_RM_FORCE every endpoint goes, errors or not */
	while (n->n_eps > 0)
		if (ep_remove_locked(ctx, n->eps[n->n_eps - 1], EP_RM_FORCE, &e) < 0)
			note(err, &e, rc);
	if (state_delete(ctx, n, &e) < 0) {
		note(err, &e, rc);
		return;
	}
	memmove(&ctx->nets[idx], &ctx->nets[idx + 1], (ctx->n_nets - idx - 1) * sizeof(*ctx->nets));
	ctx->n_nets--;
	if (n->bridge[0] && link_delete(ctx->nl, n->bridge, &e) < 0)
		note(err, &e, rc);
	net_free(n);
}

static void drop_networks(struct hamn_net_ctx *ctx, char *const *keep, struct hamn_error **err,
			  int *rc)
{
	for (size_t i = ctx->n_nets; keep && i-- > 0;) {
		struct network *n = ctx->nets[i];

		if (!n->predefined && !strv_contains(keep, n->id))
			drop_network(ctx, i, err, rc);
	}
}

static void drop_endpoints(struct hamn_net_ctx *ctx, const struct hamn_net_live_endpoint *live,
			   size_t n_live, struct hamn_error **err, int *rc)
{
	for (size_t i = 0; i < ctx->n_nets; i++) {
		struct network *n = ctx->nets[i];

		for (size_t e = n->n_eps; e-- > 0;) {
			const struct hamn_net_live_endpoint *l =
				find_live(live, n_live, n->eps[e]->id);
			struct hamn_error *er = NULL;

			if (l && l->netns_fd >= 0)
				continue;
			if (ep_remove_locked(ctx, n->eps[e], EP_RM_SAVE | EP_RM_FORCE, &er) < 0)
				note(err, &er, rc);
		}
	}
}

static bool veth_known(const struct network *n, const char *name)
{
	for (size_t i = 0; i < n->n_eps; i++)
		if (streq(n->eps[i]->veth, name))
			return true;
	return false;
}

/* Delete every link plugged into bridge ifindex that n (may be NULL) does not know. */
static void drop_ports_of(struct hamn_net_ctx *ctx, const struct owned_link *links, size_t n_links,
			  int ifindex, const struct network *n, struct hamn_error **err, int *rc)
{
	for (size_t i = 0; i < n_links; i++) {
		struct hamn_error *e = NULL;

		if (links[i].master != ifindex || (n && veth_known(n, links[i].name)))
			continue;
		if (link_delete(ctx->nl, links[i].name, &e) < 0)
			note(err, &e, rc);
	}
}

static void sweep_links(struct hamn_net_ctx *ctx, bool purge, struct hamn_error **err, int *rc)
{
	struct owned_link *links = NULL;
	size_t n_links = 0;
	struct hamn_error *e = NULL;

	if (link_list(ctx, &links, &n_links, &e) < 0) {
		note(err, &e, rc);
		return;
	}
	for (size_t i = 0; i < n_links; i++) {
		const struct owned_link *l = &links[i];
		struct network *n = l->tag_net ? net_by_id(ctx, l->tag_net) : NULL;
		bool ours = l->tag_net != NULL;

		/* purge also takes an untagged bridge our state names (a crash before tagging) */
		for (size_t k = 0; purge && !ours && k < ctx->n_nets; k++)
			ours = streq(ctx->nets[k]->bridge, l->name);
		if (!ours || !l->is_bridge)
			continue;
		if (!purge && n && is_bridge(n) && streq(n->bridge, l->name)) {
			drop_ports_of(ctx, links, n_links, l->ifindex, n, err, rc);
			continue;
		}
		drop_ports_of(ctx, links, n_links, l->ifindex, NULL, err, rc);
		if (link_delete(ctx->nl, l->name, &e) < 0)
			note(err, &e, rc);
	}
	link_list_free(links, n_links);
}

static void bring_up(struct hamn_net_ctx *ctx, const struct hamn_net_live_endpoint *live,
		     size_t n_live, struct hamn_error **err, int *rc)
{
	struct hamn_error *e = NULL;

	for (size_t i = 0; i < ctx->n_nets; i++) {
		struct network *n = ctx->nets[i];

		if (is_bridge(n) && link_bridge_ensure(ctx, n, false, &n->ifindex, &e) < 0)
			note(err, &e, rc);
	}
	if (ctx->ip_forward && sysctl_write("net/ipv4/ip_forward", "1", &e) < 0)
		note(err, &e, rc);
	if (nft_apply(ctx, &e) < 0)
		note(err, &e, rc);
	for (size_t i = 0; i < ctx->n_nets; i++) {
		struct network *n = ctx->nets[i];

		for (size_t k = 0; k < n->n_eps; k++) {
			struct endpoint *ep = n->eps[k];
			const struct hamn_net_live_endpoint *l = find_live(live, n_live, ep->id);

			if (ports_rebind(ep->ports, ep->n_ports, &e) < 0)
				note(err, &e, rc);
			if (l && ep_dns_attach(ctx, ep, l->netns_fd, &e) < 0)
				note(err, &e, rc);
		}
		if (state_save(ctx, n, &e) < 0)
			note(err, &e, rc);
	}
}

int hamn_net_reconcile(struct hamn_net_ctx *ctx, char *const *keep_networks,
		       const struct hamn_net_live_endpoint *live, size_t n_live,
		       struct hamn_error **err)
{
	int rc = 0;

	pthread_mutex_lock(&ctx->lock);
	janitor_drain(ctx->janitor);
	drop_networks(ctx, keep_networks, err, &rc);
	drop_endpoints(ctx, live, n_live, err, &rc);
	sweep_links(ctx, false, err, &rc);
	bring_up(ctx, live, n_live, err, &rc);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

int hamn_net_purge(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	struct hamn_error *e = NULL;
	int rc = 0;

	pthread_mutex_lock(&ctx->lock);
	janitor_drain(ctx->janitor);
	sweep_links(ctx, true, err, &rc);
	if (nft_remove_table(ctx, &e) < 0)
		note(err, &e, &rc);
	for (size_t i = 0; i < ctx->n_nets; i++)
		for (size_t k = 0; k < ctx->nets[i]->n_eps; k++)
			ep_dns_detach(ctx, ctx->nets[i]->eps[k]);
	for (size_t i = 0; i < ctx->n_nets; i++) {
		if (state_delete(ctx, ctx->nets[i], &e) < 0)
			note(err, &e, &rc);
		net_free(ctx->nets[i]);
	}
	ctx->n_nets = 0;
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}
