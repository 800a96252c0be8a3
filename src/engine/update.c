/*
 * update.c - POST /containers/{id}/update: new resource limits and restart
 * policy for a container, running or not.
 *
 * dockerd's rules (container.UpdateContainer): a zero or absent field
 * leaves the setting as it is; a memory limit above the memory+swap limit
 * already set needs MemorySwap in the same request; Nano CPUs and CFS
 * quota/period exclude each other across updates too; a restart policy
 * cannot be given to an AutoRemove container. A running container's cgroup
 * gets the changed limits at once (hamn_cgroup_update, which orders the
 * memory and memory+swap writes itself); the HostConfig then records the
 * merged values, so inspect shows them and the next start applies them.
 */
#include <unistd.h>

#include "engine/internal.h"
#include "runtime/cgroup.h"

#define UC "UpdateConfig"

/* The resources a container has, as update sees them (a copy of ctr_config's). */
struct upd_res {
	int64_t memory, memory_swap, memory_reservation;
	int64_t nano_cpus, cpu_shares, cpu_quota, cpu_period, blkio_weight;
	const char *cpuset_cpus, *cpuset_mems; /* borrowed; NULL = unset */
	bool has_pids_limit;
	int64_t pids_limit;
	enum ctr_restart_policy restart;
	int64_t restart_max;
};

/* The request: zero / NULL / false means "not given". */
struct upd_req {
	struct upd_res r;
	bool has_pids_limit;
	bool has_restart;
	const char *restart_name;
};

static int parse_restart(json_t *body, struct upd_req *u, struct hamn_error **err)
{
	json_t *rp = NULL;
	int p;

	if (jf_object(body, UC, "RestartPolicy", &rp, err) < 0)
		return -1;
	if (!rp)
		return 0;
	if (jf_string(rp, "RestartPolicy", "Name", &u->restart_name, err) < 0 ||
	    jf_int(rp, "RestartPolicy", "MaximumRetryCount", &u->r.restart_max, err) < 0)
		return -1;
	/* docker sends {"Name": ""} when --restart was not given */
	if (!u->restart_name || !u->restart_name[0])
		return 0;
	p = restart_policy_parse(u->restart_name);
	if (p < 0)
		return hamn_error_setq(err, EINVAL, "invalid restart policy '%s'", u->restart_name);
	if (u->r.restart_max < 0)
		return hamn_error_setq(err, EINVAL, "maximum retry count cannot be negative");
	if (u->r.restart_max > 0 && p != RESTART_ON_FAILURE)
		return hamn_error_setq(
			err, EINVAL, "maximum retry count cannot be used with restart policy '%s'",
			u->restart_name);
	u->has_restart = true;
	u->r.restart = p;
	return 0;
}

static int parse_fields(json_t *body, struct upd_req *u, struct hamn_error **err)
{
	struct upd_res *r = &u->r;

	if (jf_int(body, UC, "Memory", &r->memory, err) < 0 ||
	    jf_int(body, UC, "MemorySwap", &r->memory_swap, err) < 0 ||
	    jf_int(body, UC, "MemoryReservation", &r->memory_reservation, err) < 0 ||
	    jf_int(body, UC, "NanoCpus", &r->nano_cpus, err) < 0 ||
	    jf_int(body, UC, "CpuShares", &r->cpu_shares, err) < 0 ||
	    jf_int(body, UC, "CpuQuota", &r->cpu_quota, err) < 0 ||
	    jf_int(body, UC, "CpuPeriod", &r->cpu_period, err) < 0 ||
	    jf_int(body, UC, "BlkioWeight", &r->blkio_weight, err) < 0 ||
	    jf_string(body, UC, "CpusetCpus", &r->cpuset_cpus, err) < 0 ||
	    jf_string(body, UC, "CpusetMems", &r->cpuset_mems, err) < 0)
		return -1;
	if (jf_present(body, "PidsLimit")) {
		if (jf_int(body, UC, "PidsLimit", &r->pids_limit, err) < 0)
			return -1;
		u->has_pids_limit = true;
	}
	if (r->cpuset_cpus && !r->cpuset_cpus[0])
		r->cpuset_cpus = NULL;
	if (r->cpuset_mems && !r->cpuset_mems[0])
		r->cpuset_mems = NULL;
	return parse_restart(body, u, err);
}

/* The checks of dockerd's verifyPlatformContainerResources that apply to an update. */
static int check_ranges(const struct upd_res *r, struct hamn_error **err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (r->memory > 0 && r->memory < 6 * 1024 * 1024)
		return hamn_error_setq(err, EINVAL, "Minimum memory limit allowed is 6MB");
	if (r->nano_cpus > 0 && r->cpu_period > 0)
		return hamn_error_setq(
			err, EINVAL,
			"Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (r->nano_cpus > 0 && r->cpu_quota > 0)
		return hamn_error_setq(
			err, EINVAL,
			"Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (r->nano_cpus < 0 ||
	    (r->nano_cpus > 0 && (r->nano_cpus < 10000000 || r->nano_cpus > ncpu * 1000000000LL)))
		return hamn_error_setq(
			err, EINVAL,
			"Range of CPUs is from 0.01 to %ld.00, as there are only %ld "
			"CPUs available",
			ncpu, ncpu);
	if (r->cpu_period && (r->cpu_period < 1000 || r->cpu_period > 1000000))
		return hamn_error_setq(
			err, EINVAL,
			"CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
			"than 1 second (i.e. 1000000)");
	if (r->cpu_quota > 0 && r->cpu_quota < 1000)
		return hamn_error_setq(err, EINVAL,
				       "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (r->cpu_shares < 0)
		return hamn_error_setq(err, EINVAL, "invalid CPU shares: %lld",
				       (long long)r->cpu_shares);
	if (r->blkio_weight && (r->blkio_weight < 10 || r->blkio_weight > 1000))
		return hamn_error_setq(err, EINVAL, "Range of blkio weight is from 10 to 1000");
	return 0;
}

static int upd_parse(json_t *body, struct upd_req *u, struct hamn_error **err)
{
	memset(u, 0, sizeof(*u));
	if (!json_is_object(body))
		return hamn_error_setq(err, EINVAL, "the update request must be a JSON object");
	if (parse_fields(body, u, err) < 0)
		return -1;
	return check_ranges(&u->r, err);
}

/* ---- merging (dockerd's container.UpdateContainer) ---- */

static void res_of(const struct ctr_config *c, struct upd_res *r)
{
	*r = (struct upd_res){
		.memory = c->memory,
		/* docker records twice the memory when only the memory was set; so do we now */
		.memory_swap =
			c->memory_swap ? c->memory_swap : (c->memory > 0 ? 2 * c->memory : 0),
		.memory_reservation = c->memory_reservation,
		.nano_cpus = c->nano_cpus,
		.cpu_shares = c->cpu_shares,
		.cpu_quota = c->cpu_quota,
		.cpu_period = c->cpu_period,
		.blkio_weight = c->blkio_weight,
		.cpuset_cpus = c->cpuset_cpus,
		.cpuset_mems = c->cpuset_mems,
		.has_pids_limit = c->has_pids_limit,
		.pids_limit = c->pids_limit,
		.restart = c->restart,
		.restart_max = c->restart_max,
	};
}

static int merge_cpu(const struct upd_res *cur, const struct upd_res *r, struct upd_res *out,
		     struct hamn_error **err)
{
	if (r->nano_cpus) {
		if (cur->cpu_period)
			return hamn_error_setq(err, EINVAL,
					       "Conflicting options: Nano CPUs cannot be "
					       "updated as CPU Period has already been set");
		if (cur->cpu_quota)
			return hamn_error_setq(err, EINVAL,
					       "Conflicting options: Nano CPUs cannot be "
					       "updated as CPU Quota has already been set");
		out->nano_cpus = r->nano_cpus;
	}
	if ((r->cpu_period || r->cpu_quota) && cur->nano_cpus)
		return hamn_error_setq(err, EINVAL,
				       "Conflicting options: CPU %s cannot be updated "
				       "as NanoCPUs has already been set",
				       r->cpu_period ? "Period" : "Quota");
	if (r->cpu_period)
		out->cpu_period = r->cpu_period;
	if (r->cpu_quota)
		out->cpu_quota = r->cpu_quota;
	if (r->cpu_shares)
		out->cpu_shares = r->cpu_shares;
	if (r->cpuset_cpus)
		out->cpuset_cpus = r->cpuset_cpus;
	if (r->cpuset_mems)
		out->cpuset_mems = r->cpuset_mems;
	if (r->blkio_weight)
		out->blkio_weight = r->blkio_weight;
	return 0;
}

static int merge_memory(const struct upd_res *cur, const struct upd_res *r, struct upd_res *out,
			struct hamn_error **err)
{
	if (r->memory) {
		if (r->memory > cur->memory_swap && !r->memory_swap)
			return hamn_error_setq(
				err, EINVAL,
				"Memory limit should be smaller than "
				"already set memoryswap limit, update the memoryswap "
				"at the same time");
		out->memory = r->memory;
	}
	if (r->memory_swap)
		out->memory_swap = r->memory_swap;
	if (r->memory_reservation)
		out->memory_reservation = r->memory_reservation;
	if (out->memory_swap > 0 && out->memory == 0)
		return hamn_error_setq(err, EINVAL,
				       "You should always set the Memory limit when "
				       "using Memoryswap limit, see usage");
	if (out->memory_swap > 0 && out->memory_swap < out->memory)
		return hamn_error_setq(err, EINVAL,
				       "Minimum memoryswap limit should be larger than "
				       "memory limit, see usage");
	if (out->memory_reservation > 0 && out->memory > 0 && out->memory < out->memory_reservation)
		return hamn_error_setq(err, EINVAL,
				       "Minimum memory limit can not be less than "
				       "memory reservation limit, see usage");
	return 0;
}

static int upd_merge(const struct upd_res *cur, const struct upd_req *u, bool auto_remove,
		     struct upd_res *out, struct hamn_error **err)
{
	*out = *cur;
	if (merge_cpu(cur, &u->r, out, err) < 0 || merge_memory(cur, &u->r, out, err) < 0)
		return -1;
	if (u->has_pids_limit) {
		/* 0 and -1 both mean unlimited here (the API's "0 or -1") */
		out->has_pids_limit = true;
		out->pids_limit = u->r.pids_limit > 0 ? u->r.pids_limit : -1;
	}
	if (u->has_restart) {
		if (auto_remove && u->r.restart != RESTART_NO)
			return hamn_error_setq(err, EINVAL,
					       "Restart policy cannot be updated because "
					       "AutoRemove is enabled for the container");
		out->restart = u->r.restart;
		out->restart_max = u->r.restart_max;
	}
	return 0;
}

/* ---- applying ---- */

/* The cgroup writes for what changed from a to b; false when there is nothing to write. */
static bool changed_resources(const struct upd_res *a, const struct upd_res *b,
			      struct hamn_oci_resources *res)
{
	memset(res, 0, sizeof(*res));
	res->has_memory_limit = b->memory != a->memory && b->memory > 0;
	res->memory_limit = b->memory;
	res->has_memory_swap = b->memory_swap != a->memory_swap;
	res->memory_swap = b->memory_swap;
	res->has_memory_reservation = b->memory_reservation != a->memory_reservation;
	res->memory_reservation = b->memory_reservation;
	res->has_cpu_shares = b->cpu_shares != a->cpu_shares && b->cpu_shares > 0;
	res->cpu_shares = (uint64_t)b->cpu_shares;
	if (b->nano_cpus != a->nano_cpus && b->nano_cpus > 0) {
		res->has_cpu_period = res->has_cpu_quota = true;
		res->cpu_period = 100000;
		res->cpu_quota = b->nano_cpus / 10000;
	}
	if (b->cpu_period != a->cpu_period) {
		res->has_cpu_period = true;
		res->cpu_period = (uint64_t)b->cpu_period;
	}
	if (b->cpu_quota != a->cpu_quota) {
		res->has_cpu_quota = true;
		res->cpu_quota = b->cpu_quota;
	}
	res->cpuset_cpus = b->cpuset_cpus != a->cpuset_cpus ? (char *)b->cpuset_cpus : NULL;
	res->cpuset_mems = b->cpuset_mems != a->cpuset_mems ? (char *)b->cpuset_mems : NULL;
	res->has_pids_limit =
		b->has_pids_limit && (b->pids_limit != a->pids_limit || !a->has_pids_limit);
	res->pids_limit = b->pids_limit;
	res->has_blkio_weight = b->blkio_weight != a->blkio_weight && b->blkio_weight > 0;
	res->blkio_weight = (uint16_t)b->blkio_weight;
	return res->has_memory_limit || res->has_memory_swap || res->has_memory_reservation ||
	       res->has_cpu_shares || res->has_cpu_period || res->has_cpu_quota ||
	       res->cpuset_cpus || res->cpuset_mems || res->has_pids_limit || res->has_blkio_weight;
}

static int apply_cgroup(struct hamn_engine *e, const struct container *c,
			const struct hamn_oci_resources *res, struct hamn_error **err)
{
	_cleanup_(cleanup_hamn_cgroupp) struct hamn_cgroup *cg = ctr_cgroup(e, c, err);

	if (!cg || hamn_cgroup_update(cg, res, err) < 0)
		return -1;
	return 0;
}

/* A copy of hc with the merged values (new reference). */
static json_t *host_config_with(json_t *hc, const struct upd_res *r)
{
	json_t *out = json_deep_copy(hc);

	json_object_update_new(
		out,
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "Memory",
			  (json_int_t)r->memory, "MemorySwap", (json_int_t)r->memory_swap,
			  "MemoryReservation", (json_int_t)r->memory_reservation, "NanoCpus",
			  (json_int_t)r->nano_cpus, "CpuShares", (json_int_t)r->cpu_shares,
			  "CpuQuota", (json_int_t)r->cpu_quota, "CpuPeriod",
			  (json_int_t)r->cpu_period, "BlkioWeight", (json_int_t)r->blkio_weight,
			  "CpusetCpus", r->cpuset_cpus ? r->cpuset_cpus : "", "CpusetMems",
			  r->cpuset_mems ? r->cpuset_mems : ""));
	if (r->has_pids_limit)
		json_object_set_new(out, "PidsLimit", json_integer(r->pids_limit));
	json_object_set_new(out, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", restart_policy_name(r->restart),
				      "MaximumRetryCount", (json_int_t)r->restart_max));
	return out;
}

static void set_string(char **field, const char *v)
{
	char *copy = v ? xstrdup(v) : NULL; /* v may be *field itself */

	free(*field);
	*field = copy;
}

/* The merged values into c's config and HostConfig (lock held). */
static void record_locked(struct container *c, const struct upd_res *r)
{
	struct ctr_config *cfg = &c->cfg;
	json_t *hc = host_config_with(c->host_json, r); /* first: r may borrow cfg's strings */

	json_decref(c->host_json);
	c->host_json = hc;
	cfg->memory = r->memory;
	cfg->memory_swap = r->memory_swap;
	cfg->memory_reservation = r->memory_reservation;
	cfg->nano_cpus = r->nano_cpus;
	cfg->cpu_shares = r->cpu_shares;
	cfg->cpu_quota = r->cpu_quota;
	cfg->cpu_period = r->cpu_period;
	cfg->blkio_weight = r->blkio_weight;
	set_string(&cfg->cpuset_mems, r->cpuset_mems);
	set_string(&cfg->cpuset_cpus, r->cpuset_cpus);
	cfg->has_pids_limit = r->has_pids_limit;
	cfg->pids_limit = r->pids_limit;
	cfg->restart = r->restart;
	cfg->restart_max = r->restart_max;
}

/* Update c (op_lock held): merge, write the cgroup of a running container, record. */
static int update_op(struct hamn_engine *e, struct container *c, const struct upd_req *u,
		     struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *aerr = NULL;
	struct hamn_oci_resources res;
	struct upd_res cur, next = {0};
	bool running;
	int r;

	pthread_mutex_lock(&e->lock);
	res_of(&c->cfg, &cur);
	r = c->removed ? hamn_error_setq(err, ENOENT, "No such container: %s", c->id)
		       : upd_merge(&cur, u, c->cfg.auto_remove, &next, err);
	running = c->st.status == ST_RUNNING;
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		return hamn_error_wrap(err, "Cannot update container %s", c->id);
	/* op_lock keeps start and stop out; only an exit can happen meanwhile */
	if (running && changed_resources(&cur, &next, &res) &&
	    apply_cgroup(e, c, &res, &aerr) < 0) {
		pthread_mutex_lock(&e->lock);
		running = c->st.status == ST_RUNNING;
		pthread_mutex_unlock(&e->lock);
		if (running) {
			hamn_error_propagate(err, &aerr);
			return hamn_error_wrap(err, "Cannot update container %s", c->id);
		}
	}
	pthread_mutex_lock(&e->lock);
	record_locked(c, &next);
	ctr_changed(e, c);
	r = store_put(e->store, c, err);
	pthread_mutex_unlock(&e->lock);
	return r;
}

int hamn_engine_container_update(struct hamn_engine *e, const char *ref, json_t *body,
				 json_t **warnings_out, struct hamn_error **err)
{
	struct upd_req u;
	struct container *c;
	int r;

	if (upd_parse(body, &u, err) < 0)
		return -1;
	c = ctr_get(e, ref, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	r = update_op(e, c, &u, err);
	pthread_mutex_unlock(&c->op_lock);
	if (r == 0)
		engine_event(e, c, "update", NULL);
	ctr_put(e, c);
	if (r == 0 && warnings_out)
		*warnings_out = json_array();
	return r;
}
