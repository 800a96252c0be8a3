/*
 * network.c - the engine's side of container networking: open src/network
 * for this daemon, bring it in line with the running containers at start-up,
 * attach a container's networks while its init waits (the handshake with
 * the monitor), remove them when it stops, and keep its /etc/hosts and
 * /etc/resolv.conf in step.
 *
 * What it deliberately does not do: the network API (network_api.c), the
 * JSON docker shows (network_json.c), anything in the kernel (src/network).
 */
#include <fcntl.h>
#include <unistd.h>

#include "engine/internal.h"

/* ---- opening ---- */

static int open_ctx(struct engine_net *n, const struct hamn_engine *e,
		    const struct hamn_engine_config *cfg, struct hamn_error **err)
{
	struct hamn_net_config nc = *cfg->network;
	_cleanup_free_ char *state = NULL, *inst = NULL, *subnet = NULL, *gw = NULL;

	if (!nc.state_dir)
		nc.state_dir = state = xasprintf("%s/network", e->root);
	if (!nc.instance)
		nc.instance = inst = engine_net_instance(e->exec_root);
	if (cfg->bip && cfg->bip[0]) {
		if (engine_net_parse_bip(cfg->bip, &subnet, &gw, err) < 0)
			return -1;
		nc.default_subnet = subnet;
		nc.default_gateway = gw;
	}
	n->ctx = hamn_net_ctx_new(&nc, err);
	if (!n->ctx)
		return -1;
	log_info("networking: instance=%s bridge=%s state=%s", nc.instance,
		 nc.default_bridge ? nc.default_bridge : "hamn0", nc.state_dir);
	return 0;
}

int engine_net_open(struct hamn_engine *e, const struct hamn_engine_config *cfg,
		    struct hamn_error **err)
{
	struct engine_net *n;

	if (!cfg->network)
		return 0;
	n = xzalloc(sizeof(*n));
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	if (open_ctx(n, e, cfg, err) < 0) {
		pthread_cond_destroy(&n->cond);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return hamn_error_wrap(err, "networking");
	}
	e->net = n;
	return 0;
}

void engine_net_close(struct hamn_engine *e)
{
	struct engine_net *n = e->net;

	if (!n)
		return;
	hamn_net_ctx_free(n->ctx);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
	e->net = NULL;
}

void engine_net_wait_ready(struct hamn_engine *e)
{
	struct engine_net *n = e->net;

	pthread_mutex_lock(&n->lock);
	while (!n->ready)
		pthread_cond_wait(&n->cond, &n->lock);
	pthread_mutex_unlock(&n->lock);
}

/* ---- facts and modes ---- */

int net_facts_get(struct hamn_net_ctx *ctx, const char *ref, struct net_facts *f,
		  struct hamn_error **err)
{
	_cleanup_json_ json_t *j = hamn_net_inspect_json(ctx, ref, err);
	const char *driver, *name, *id;

	if (!j)
		return -1;
	driver = json_string_value(json_object_get(j, "Driver"));
	name = json_string_value(json_object_get(j, "Name"));
	id = json_string_value(json_object_get(j, "Id"));
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", id ? id : "");
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
	f->bridge = driver && streq(driver, "bridge");
	f->user = f->bridge && !streq(f->name, "bridge");
	f->internal = json_is_true(json_object_get(j, "Internal"));
	f->host = driver && streq(driver, "host");
	return 0;
}

enum hamn_net_mode_kind ctr_net_mode_kind(const struct container *c, char **ref)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	enum hamn_net_mode_kind kind;
	struct hamn_net_mode m;

	if (ref)
		*ref = NULL;
	if (hamn_net_mode_parse(c->cfg.network_mode, &m, &err) < 0)
		return HAMN_NET_MODE_NONE; /* checked at create */
	kind = m.kind;
	if (ref)
		*ref = steal_pointer(&m.ref);
	hamn_net_mode_release(&m);
	return kind;
}

bool ctr_net_private(const struct container *c)
{
	enum hamn_net_mode_kind k = ctr_net_mode_kind(c, NULL);

	return k != HAMN_NET_MODE_HOST && k != HAMN_NET_MODE_CONTAINER;
}

char *ctr_net_mode_network(const struct container *c)
{
	char *ref = NULL;

	switch (ctr_net_mode_kind(c, &ref)) {
	case HAMN_NET_MODE_BRIDGE:
		return xstrdup("bridge");
	case HAMN_NET_MODE_HOST:
		return xstrdup("host");
	case HAMN_NET_MODE_NONE:
		return xstrdup("none");
	case HAMN_NET_MODE_NETWORK:
		return ref;
	case HAMN_NET_MODE_CONTAINER:
		break;
	}
	free(ref);
	return NULL;
}

int ctr_net_first_facts(struct hamn_engine *e, const struct container *c, const char *first,
			struct net_facts *f, struct hamn_error **err)
{
	if (net_facts_get(e->net->ctx, first, f, err) == 0)
		return 0;
	/* dockerd without a default bridge (-b none) runs such containers as "none" */
	if ((*err)->errnum != ENOENT || !streq(c->cfg.network_mode, "default"))
		return -1;
	hamn_error_free(err);
	return net_facts_get(e->net->ctx, "none", f, err);
}

/* ---- load ---- */

void ctr_net_load(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *name = NULL;
	struct net_facts f;

	c->net = ctr_net_read(e, c->id, &err);
	if (c->net)
		return;
	if (err->errnum != ENOENT)
		log_warn("container %s: %s; using its network mode", c->id, err->msg);
	hamn_error_free(&err);
	/* no file: the one network of its mode, as created */
	c->net = xzalloc(sizeof(*c->net));
	c->net->netns_fd = -1;
	name = ctr_net_mode_network(c);
	if (!name)
		return;
	if (e->net && ctr_net_first_facts(e, c, name, &f, &err) == 0)
		ctr_net_add_link(c->net, f.name, f.id, NULL, NULL, NULL);
	else
		ctr_net_add_link(c->net, name, "", NULL, NULL, NULL);
}

/* ---- attach ---- */

void net_attached_release(struct net_attached *a)
{
	free(a->endpoint_id);
	if (a->live)
		json_decref(a->live);
	if (a->ports)
		json_decref(a->ports);
	memset(a, 0, sizeof(*a));
}

void ctr_net_link_take(struct ctr_net_link *l, struct net_attached *a)
{
	free(l->endpoint_id);
	if (l->live)
		json_decref(l->live);
	if (l->ports)
		json_decref(l->ports);
	l->endpoint_id = steal_pointer(&a->endpoint_id);
	l->live = steal_pointer(&a->live);
	l->ports = steal_pointer(&a->ports);
	memcpy(l->ip, a->ip, sizeof(l->ip));
}

/* DNS aliases on a user network: the asked ones and the short id, as docker's. */
static char **dns_aliases(const struct container *c, const struct ctr_net_link *l)
{
	char **v = strv_copy(l->aliases);
	char short_id[SHORT_ID_LEN + 1];

	snprintf(short_id, sizeof(short_id), "%.12s", c->id);
	if (!strv_contains(v, short_id))
		strv_push(&v, short_id);
	return v;
}

/* The endpoint's facts after the add; the endpoint stays on failure (caller undoes). */
static int describe(struct hamn_net_ctx *ctx, bool ports, struct net_attached *out,
		    struct hamn_error **err)
{
	struct hamn_net_endpoint_info info;

	if (hamn_net_endpoint_get(ctx, out->endpoint_id, &info, err) < 0)
		return -1;
	memcpy(out->ip, info.ip, sizeof(out->ip));
	out->live = hamn_net_endpoint_json(ctx, out->endpoint_id, err);
	if (!out->live)
		return -1;
	if (ports) {
		out->ports = hamn_net_endpoint_ports_json(ctx, out->endpoint_id, err);
		if (!out->ports)
			return -1;
	}
	return 0;
}

int ctr_net_attach_link(struct hamn_engine *e, struct container *c, const struct ctr_net_link *l,
			const struct net_facts *f, int netns_fd, const struct hamn_net_port *ports,
			size_t n_ports, struct net_attached *out, struct hamn_error **err)
{
	struct hamn_net_endpoint_opts o = HAMN_NET_ENDPOINT_OPTS_INIT;
	_cleanup_strv_ char **aliases = f->user ? dns_aliases(c, l) : NULL;
	_cleanup_error_ struct hamn_error *uerr = NULL;

	memset(out, 0, sizeof(*out));
	o.network = f->id;
	o.container_id = c->id;
	o.container_name = c->name;
	o.aliases = aliases;
	o.netns_fd = f->host ? -1 : netns_fd;
	o.ipv4 = l->ipv4;
	o.mac = l->mac;
	o.dns_servers = f->user && c->cfg.dns && c->cfg.dns[0] ? c->cfg.dns : NULL;
	o.ports = ports;
	o.n_ports = n_ports;
	if (hamn_net_endpoint_add(e->net->ctx, &o, &out->endpoint_id, err) < 0)
		return hamn_error_wrap(err, "attach to network %s", f->name);
	if (describe(e->net->ctx, n_ports > 0, out, err) < 0) {
		if (hamn_net_endpoint_remove(e->net->ctx, out->endpoint_id, &uerr) < 0)
			log_warn("container %s: undo endpoint: %s", c->id, uerr->msg);
		net_attached_release(out);
		return -1;
	}
	engine_net_emit(e, "connect", f, c->id);
	return 0;
}

static void undo_attached(struct hamn_engine *e, struct net_attached *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (a[i].endpoint_id &&
		    hamn_net_endpoint_remove(e->net->ctx, a[i].endpoint_id, &err) < 0)
			log_warn("undo endpoint %s: %s", a[i].endpoint_id, err->msg);
		net_attached_release(&a[i]);
	}
}

/*
 * Attach every link of c (op_lock held): the ports go with the first link
 * that can publish (a bridge network that is not internal), as docker's go
 * with the sandbox's first endpoint. *embedded_out: any user network.
 */
static int attach_all(struct hamn_engine *e, struct container *c, int netns_fd,
		      struct net_attached *out, bool *embedded_out, struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_port *ports = NULL;
	size_t n_ports = 0;
	bool published = false;

	*embedded_out = false;
	if (ctr_net_ports_parse(c->host_json, c->config_json, &ports, &n_ports, err) < 0)
		return -1;
	for (size_t i = 0; i < c->net->n_links; i++) {
		const struct ctr_net_link *l = &c->net->links[i];
		const char *ref = l->id[0] ? l->id : l->name;
		bool mine = false;
		struct net_facts f;

		if (net_facts_get(e->net->ctx, ref, &f, err) < 0)
			goto undo;
		if (!published && n_ports && f.bridge && !f.internal)
			mine = published = true;
		if (ctr_net_attach_link(e, c, l, &f, netns_fd, mine ? ports : NULL,
					mine ? n_ports : 0, &out[i], err) < 0)
			goto undo;
		*embedded_out |= f.user;
	}
	if (n_ports && !published)
		log_info("container %s: no network can publish its ports", c->id);
	return 0;
undo:
	undo_attached(e, out, c->net->n_links);
	return -1;
}

static int ctr_net_attach(struct hamn_engine *e, struct container *c, int netns_fd,
			  struct hamn_error **err)
{
	_cleanup_free_ struct net_attached *att = NULL;
	bool embedded;
	size_t n;

	if (!e->net || !c->net)
		return 0;
	engine_net_wait_ready(e);
	n = c->net->n_links;
	att = xcalloc(n + 1, sizeof(*att));
	if (attach_all(e, c, netns_fd, att, &embedded, err) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < n; i++)
		ctr_net_link_take(&c->net->links[i], &att[i]);
	if (netns_fd >= 0)
		c->net->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
	ctr_changed(e, c);
	pthread_mutex_unlock(&e->lock);
	if (ctr_net_private(c) && ctr_net_write_files(e, c, embedded, err) < 0) {
		ctr_net_release(e, c);
		return hamn_error_wrap(err, "write the network files");
	}
	return 0;
}

void ctr_net_handshake(struct hamn_engine *e, struct container *c, int sock, int netns_fd)
{
	_cleanup_error_ struct hamn_error *err = NULL, *serr = NULL;
	struct mon_msg go = {.type = MON_NET_GO};

	if (netns_fd < 0)
		hamn_error_setq(&err, EIO, "the monitor sent no network namespace");
	else
		ctr_net_attach(e, c, netns_fd, &err);
	if (err) {
		go.code = err->errnum ? err->errnum : EIO;
		snprintf(go.text, sizeof(go.text), "%s", err->msg);
	}
	if (netns_fd >= 0)
		close(netns_fd);
	/* a monitor that is gone ends the start: its failure path releases the endpoints */
	if (mon_send(sock, &go, NULL, 0, &serr) < 0)
		log_warn("container %s: network handshake: %s", c->id, serr->msg);
}

/* ---- start-up ---- */

/* The endpoints of the running containers, for hamn_net_reconcile. */
struct live_set {
	struct hamn_net_live_endpoint *v;
	char **ids;
	int *fds;
	size_t n;
};

static void live_add(struct live_set *ls, const char *ep, int netns_fd)
{
	ls->v = xreallocarray(ls->v, ls->n + 1, sizeof(*ls->v));
	ls->ids = xreallocarray(ls->ids, ls->n + 1, sizeof(*ls->ids));
	ls->fds = xreallocarray(ls->fds, ls->n + 1, sizeof(*ls->fds));
	ls->ids[ls->n] = xstrdup(ep);
	ls->fds[ls->n] = netns_fd >= 0 ? fcntl(netns_fd, F_DUPFD_CLOEXEC, 3) : -1;
	ls->n++;
}

static void live_free(struct live_set *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		free(ls->ids[i]);
		if (ls->fds[i] >= 0)
			close(ls->fds[i]);
	}
	free(ls->v);
	free(ls->ids);
	free(ls->fds);
}

/* A container that ran across our restart: its endpoints and netns again (lock held). */
static void restore_running(struct hamn_engine *e, struct container *c, struct live_set *ls)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/net", (int)c->st.pid);
	int fd = -1;

	if (ctr_net_private(c)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			log_warn("container %s: open '%s': %s", c->id, path, strerror(errno));
	}
	for (size_t i = 0; i < c->net->n_links; i++) {
		struct ctr_net_link *l = &c->net->links[i];
		_cleanup_error_ struct hamn_error *err = NULL;
		struct net_attached a = {0};

		if (hamn_net_endpoint_find(e->net->ctx, l->id[0] ? l->id : l->name, c->id,
					   &a.endpoint_id, &err) < 0) {
			log_warn("container %s: no endpoint on network %s any more", c->id,
				 l->name);
			continue;
		}
		if (describe(e->net->ctx, true, &a, &err) < 0)
			log_warn("container %s: %s", c->id, err->msg);
		if (a.ports && json_object_size(a.ports) == 0) {
			json_decref(a.ports);
			a.ports = NULL;
		}
		live_add(ls, a.endpoint_id, fd);
		ctr_net_link_take(l, &a);
		net_attached_release(&a);
	}
	c->net->netns_fd = fd;
	ctr_changed(e, c);
}

void engine_net_start(struct hamn_engine *e)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct live_set ls = {0};

	if (!e->net)
		return;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs; i++) {
		struct container *c = e->ctrs[i];

		if (c->net && c->st.status == ST_RUNNING && c->st.pid > 0)
			restore_running(e, c, &ls);
	}
	pthread_mutex_unlock(&e->lock);
	for (size_t i = 0; i < ls.n; i++)
		ls.v[i] = (struct hamn_net_live_endpoint){.endpoint_id = ls.ids[i],
							  .netns_fd = ls.fds[i]};
	if (hamn_net_reconcile(e->net->ctx, NULL, ls.v, ls.n, &err) < 0)
		log_error("networking: reconcile: %s", err->msg);
	live_free(&ls);
	pthread_mutex_lock(&e->net->lock);
	e->net->ready = true;
	pthread_cond_broadcast(&e->net->cond);
	pthread_mutex_unlock(&e->net->lock);
}

/* ---- start ---- */

char *ctr_net_files_dir(struct hamn_engine *e, const struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *ref = NULL;
	struct container *t = NULL;

	if (ctr_net_mode_kind(c, &ref) == HAMN_NET_MODE_CONTAINER)
		t = table_find(e, ref, &err);
	return ctr_dir_path(e, t && t != c ? t->id : c->id);
}

/*
 * The bind mounts of c's /etc/hosts, /etc/hostname and /etc/resolv.conf
 * (those from c's directory: not the user's) take the files of container
 * tid, and the spec its hostname, as docker shares them with
 * --network container:.
 */
static void share_files(struct hamn_engine *e, const struct container *c, const char *tid,
			const char *hostname, json_t *spec)
{
	_cleanup_free_ char *own = ctr_dir_path(e, c->id), *theirs = ctr_dir_path(e, tid);
	json_t *m;
	size_t i;

	json_array_foreach (json_object_get(spec, "mounts"), i, m) {
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *base = src && str_has_prefix(src, own) ? src + strlen(own) : "";

		if (streq(base, "/hosts") || streq(base, "/hostname") || streq(base, "/resolv.conf"))
			json_object_set_new(m, "source", json_sprintf("%s%s", theirs, base));
	}
	if (json_object_get(spec, "hostname"))
		json_object_set_new(spec, "hostname", json_string(hostname));
}

/* Point the spec's network namespace at the init of container ref (running); share its files. */
static int join_container(struct hamn_engine *e, struct container *c, const char *ref, json_t *spec,
			  struct hamn_error **err)
{
	json_t *ns = json_object_get(json_object_get(spec, "linux"), "namespaces"), *n;
	_cleanup_free_ char *hostname = NULL;
	char tid[ID_LEN + 1] = "";
	struct container *t;
	pid_t pid = 0;
	size_t i;

	pthread_mutex_lock(&e->lock);
	t = table_find(e, ref, err);
	if (t && t != c && t->st.status == ST_RUNNING) {
		pid = t->st.pid;
		memcpy(tid, t->id, sizeof(tid));
		hostname = xstrdup(t->cfg.hostname);
	}
	pthread_mutex_unlock(&e->lock);
	if (!t)
		return -1;
	if (t == c)
		return hamn_error_setq(err, EINVAL, "cannot join own network");
	if (pid <= 0)
		return hamn_error_setq(err, EBUSY,
				       "cannot join network of a non running container: %s", ref);
	json_array_foreach (ns, i, n) {
		if (streq(json_string_value(json_object_get(n, "type")), "network"))
			json_object_set_new(n, "path", json_sprintf("/proc/%d/ns/net", (int)pid));
	}
	share_files(e, c, tid, hostname, spec);
	return 0;
}

int ctr_net_check_unresolved(struct hamn_engine *e, const struct container *c,
			      struct hamn_error **err)
{
	struct net_facts f;

	if (!e->net || !c->net || c->net->n_links == 0 ||
	    (c->net->links[0].id && c->net->links[0].id[0]) ||
	    ctr_net_mode_kind(c, NULL) != HAMN_NET_MODE_NETWORK)
		return 0;
	return net_facts_get(e->net->ctx, c->net->links[0].name, &f, err);
}

int ctr_net_prepare(struct hamn_engine *e, struct container *c, json_t *spec, json_t *req,
		    struct hamn_error **err)
{
	_cleanup_free_ char *ref = NULL;

	switch (ctr_net_mode_kind(c, &ref)) {
	case HAMN_NET_MODE_CONTAINER:
		return join_container(e, c, ref, spec, err);
	case HAMN_NET_MODE_HOST:
		/* bookkeeping only: `network inspect host` lists it */
		return ctr_net_attach(e, c, -1, err);
	default:
		if (e->net && c->net)
			json_object_set_new(req, "net_wait", json_true());
		return 0;
	}
}

/* ---- release ---- */

/* The endpoint of link l: the one recorded, or (after a restart of hamnd) the library's. */
static char *link_endpoint(struct hamn_engine *e, const struct container *c, struct ctr_net_link *l)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	char *ep = NULL;

	if (l->endpoint_id)
		return steal_pointer(&l->endpoint_id);
	if (hamn_net_endpoint_find(e->net->ctx, l->id[0] ? l->id : l->name, c->id, &ep, &err) < 0)
		return NULL;
	return ep;
}

void ctr_net_release_locked(struct hamn_engine *e, struct container *c)
{
	if (!e->net || !c->net)
		return;
	for (size_t i = 0; i < c->net->n_links; i++) {
		struct ctr_net_link *l = &c->net->links[i];
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_free_ char *ep = link_endpoint(e, c, l);
		struct net_facts f;

		if (ep && hamn_net_endpoint_remove(e->net->ctx, ep, &err) < 0 &&
		    err->errnum != ENOENT)
			log_warn("container %s: remove endpoint on %s: %s", c->id, l->name,
				 err->msg);
		if (ep && engine_net_lookup(e, l->id[0] ? l->id : l->name, &f))
			engine_net_emit(e, "disconnect", &f, c->id);
		if (l->live)
			json_decref(l->live);
		if (l->ports)
			json_decref(l->ports);
		l->live = l->ports = NULL;
		l->ip[0] = '\0';
	}
	if (c->net->netns_fd >= 0)
		close(c->net->netns_fd);
	c->net->netns_fd = -1;
	ctr_changed(e, c);
}

void ctr_net_release(struct hamn_engine *e, struct container *c)
{
	pthread_mutex_lock(&e->lock);
	ctr_net_release_locked(e, c);
	pthread_mutex_unlock(&e->lock);
}

/* ---- rename ---- */

/* The endpoint id of link i while attached (a copy, or NULL); the watcher may clear it. */
static char *live_endpoint(struct hamn_engine *e, struct container *c, size_t i)
{
	char *ep;

	pthread_mutex_lock(&e->lock);
	ep = c->net->links[i].endpoint_id ? xstrdup(c->net->links[i].endpoint_id) : NULL;
	pthread_mutex_unlock(&e->lock);
	return ep;
}

static void rename_link(struct hamn_engine *e, struct container *c, size_t i, const char *ep)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct ctr_net_link *l = &c->net->links[i];
	_cleanup_strv_ char **aliases = NULL;
	json_t *live;
	struct net_facts f;

	if (net_facts_get(e->net->ctx, l->id, &f, &err) < 0)
		return;
	aliases = f.user ? dns_aliases(c, l) : NULL;
	if (hamn_net_endpoint_set_names(e->net->ctx, ep, c->name, aliases, &err) < 0) {
		log_warn("container %s: rename on network %s: %s", c->id, l->name, err->msg);
		return;
	}
	live = hamn_net_endpoint_json(e->net->ctx, ep, &err);
	if (!live)
		return;
	pthread_mutex_lock(&e->lock);
	if (l->endpoint_id && streq(l->endpoint_id, ep)) {
		json_decref(l->live);
		l->live = steal_pointer(&live);
	}
	ctr_changed(e, c);
	pthread_mutex_unlock(&e->lock);
	if (live)
		json_decref(live);
}

void ctr_net_renamed(struct hamn_engine *e, struct container *c)
{
	if (!e->net || !c->net)
		return;
	for (size_t i = 0; i < c->net->n_links; i++) {
		_cleanup_free_ char *ep = live_endpoint(e, c, i);

		if (ep)
			rename_link(e, c, i, ep);
	}
}

/* ---- files ---- */

static int rewrite(int dfd, const char *name, const char *text, struct hamn_error **err)
{
	/* in place: the container has the file bind-mounted, a rename would not reach it */
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", name);
	return hamn_write_all(fd, text, strlen(text), err);
}

static char *resolv_text(const struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *host = NULL;
	struct hamn_net_resolv_opts o = {.embedded_dns = true};
	size_t len;

	if (hamn_read_file(AT_FDCWD, "/etc/resolv.conf", 1 << 20, &host, &len, &err) < 0)
		host = NULL;
	o.host_resolv = host;
	o.dns = c->cfg.dns && c->cfg.dns[0] ? c->cfg.dns : NULL;
	o.dns_search = c->cfg.dns_search && c->cfg.dns_search[0] ? c->cfg.dns_search : NULL;
	o.dns_options = c->cfg.dns_options && c->cfg.dns_options[0] ? c->cfg.dns_options : NULL;
	return hamn_net_resolv_content(&o);
}

int ctr_net_write_files(struct hamn_engine *e, const struct container *c, bool embedded_dns,
			struct hamn_error **err)
{
	/* --uts host keeps Config.Hostname empty: dockerd's hosts file names the short id */
	_cleanup_free_ char *short_id = xstrndup(c->id, SHORT_ID_LEN);
	struct hamn_net_hosts_opts o = {.hostname = c->cfg.hostname[0] ? c->cfg.hostname
								       : short_id,
					.domainname = c->cfg.domainname,
					.extra_hosts = c->cfg.extra_hosts};
	_cleanup_close_ int dfd = openat(e->ctrs_fd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	_cleanup_strv_ char **ips = NULL;

	if (dfd < 0)
		return hamn_error_set(err, errno, "open the directory of container %s", c->id);
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < c->net->n_links; i++)
		if (c->net->links[i].endpoint_id && c->net->links[i].ip[0])
			strv_push(&ips, c->net->links[i].ip);
	pthread_mutex_unlock(&e->lock);
	o.ips = ips;
	if (hamn_net_hosts_content(&o, &hosts, err) < 0 || rewrite(dfd, "hosts", hosts, err) < 0)
		return -1;
	if (!embedded_dns)
		return 0;
	resolv = resolv_text(c);
	return rewrite(dfd, "resolv.conf", resolv, err);
}
