/*
 * options.h - hamnd's settings: command-line flags and daemon.json, merged
 * (a flag wins over the file), with dockerd's names.
 */
#ifndef HAMN_CMD_HAMND_OPTIONS_H
#define HAMN_CMD_HAMND_OPTIONS_H

#include "base/base.h"

#define HAMND_DEFAULT_ROOT "/var/lib/hamn"
#define HAMND_DEFAULT_EXEC_ROOT "/run/hamn"
#define HAMND_DEFAULT_CONFIG "/etc/hamn/daemon.json"

/* A tri-state for bools that may be unset (so the file can fill them in). */
enum opt_bool { OPT_UNSET = -1, OPT_FALSE = 0, OPT_TRUE = 1 };

struct hamnd_options {
	char *root;	     /* --root, --data-root */
	char *exec_root;     /* --exec-root */
	char **hosts;	     /* -H, --host (repeatable) */
	char *log_level;     /* --log-level */
	enum opt_bool debug; /* -D, --debug */
	char *log_file;	     /* --log-file */
	char *cgroup_parent; /* --cgroup-parent */
	char *init_path;     /* --init-path: the program of `run --init` */
	char *group;	     /* -G, --group */
	char *config_file;   /* --config-file */
	bool config_file_given;
	char *pidfile;			   /* -p, --pidfile */
	char *tls_cert, *tls_key, *tls_ca; /* --tlscert, --tlskey, --tlscacert */
	enum opt_bool tls;		   /* --tls */
	enum opt_bool tlsverify;	   /* --tlsverify (must stay true when TLS is used) */
	enum opt_bool insecure_tcp;	   /* --insecure-tcp */
	int64_t default_pids_limit;	   /* --default-pids-limit; -1 unset */
	/* networking, dockerd's names */
	char *bridge;		  /* -b, --bridge: the default bridge ("none": no default network) */
	char *bip;		  /* --bip: its address/prefix ("10.213.5.1/24") */
	char **pool_bases;	  /* --default-address-pool base=CIDR,size=N (repeatable): */
	int *pool_sizes;	  /* the bases and sizes, n_pools of each */
	size_t n_pools;
	enum opt_bool ip_forward; /* --ip-forward: set net.ipv4.ip_forward=1 (default true) */
	int64_t mtu;		  /* --mtu; -1 unset */
	char **insecure_registries;	/* --insecure-registry (repeatable), "insecure-registries" */
	char **registry_mirrors;	/* --registry-mirror (repeatable), "registry-mirrors" */
	int64_t max_downloads;		/* --max-concurrent-downloads; -1 unset */
	int64_t max_uploads;		/* --max-concurrent-uploads; -1 unset */
	char *log_driver;	/* --log-driver, "log-driver": new containers' default */
	json_t *log_opts;	/* --log-opt k=v (repeatable), "log-opts": an object; or NULL */
	bool show_version, show_help;
};

#define HAMND_OPTIONS_INIT                                                                         \
	{                                                                                          \
		.debug = OPT_UNSET, .tls = OPT_UNSET, .tlsverify = OPT_UNSET,                      \
		.insecure_tcp = OPT_UNSET, .default_pids_limit = -1, .ip_forward = OPT_UNSET,     \
		.mtu = -1,                                                                         \
		.max_downloads = -1, .max_uploads = -1,                                            \
	}

void hamnd_options_release(struct hamnd_options *o);

/* Parse argv into o (which starts as HAMND_OPTIONS_INIT). EINVAL with a usage message. */
int hamnd_options_parse_args(int argc, char **argv, struct hamnd_options *o,
			     struct hamn_error **err);

/*
 * Parse daemon.json text into o (HAMND_OPTIONS_INIT). Unknown keys are
 * EINVAL like dockerd's "the following directives don't match any
 * configuration option: ..."; a wrong type names the key.
 */
int hamnd_options_parse_file(const char *text, size_t len, struct hamnd_options *o,
			     struct hamn_error **err);

/*
 * Load the config file named by flags (or the default, which may be
 * missing) and fill what the flags left unset; then apply defaults.
 */
int hamnd_options_finish(struct hamnd_options *flags, struct hamn_error **err);

/*
 * The log level asked for: the --log-level / --debug flags first, then the
 * file's "log-level" / "debug" (file may be NULL), then info. EINVAL for an
 * unknown level name.
 */
int hamnd_options_log_level(const char *flag_level, enum opt_bool flag_debug,
			    const struct hamnd_options *file, struct hamn_error **err);

/* Read and parse a config file into file (HAMND_OPTIONS_INIT); ENOENT when missing. */
int hamnd_options_load_file(const char *path, struct hamnd_options *file, struct hamn_error **err);

void hamnd_usage(FILE *out);

#endif
