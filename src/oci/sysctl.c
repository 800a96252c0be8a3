/*
 * sysctl.c - which sysctls a container may set (the CVE-2022-0811 class).
 *
 * Only sysctls that the kernel keeps per namespace are allowed, and only
 * when the container has that namespace of its own: otherwise the write
 * changes the host. Values are refused when they hold anything that a
 * tool writing them could read as a second "key=value" (cri-o passed
 * "1+kernel.core_pattern=|/x" to pinns, which split on '+').
 */
#include "oci/internal.h"

enum sysctl_ns { SYSCTL_NONE, SYSCTL_NET, SYSCTL_IPC, SYSCTL_UTS };

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '/';
}

/* "net/ipv4/ip_forward" -> "net.ipv4.ip_forward"; NULL when malformed. */
static char *normalize_key(const char *key)
{
	_cleanup_free_ char *k = xstrdup(key);
	size_t len = strlen(k);

	if (len == 0 || len > 256)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (!key_char_ok(k[i]))
			return NULL;
		if (k[i] == '/')
			k[i] = '.';
	}
	/* no empty components: this also refuses "..", "/x", "x." */
	if (k[0] == '.' || k[len - 1] == '.' || strstr(k, ".."))
		return NULL;
	return steal_pointer(&k);
}

static enum sysctl_ns classify(const char *k)
{
	if (str_has_prefix(k, "net."))
		return SYSCTL_NET;
	if (str_has_prefix(k, "kernel.shm") || str_has_prefix(k, "kernel.msg") ||
	    streq(k, "kernel.sem") || str_has_prefix(k, "fs.mqueue."))
		return SYSCTL_IPC;
	if (streq(k, "kernel.hostname") || streq(k, "kernel.domainname"))
		return SYSCTL_UTS;
	return SYSCTL_NONE;
}

static int check_value(const char *key, const char *value, struct hamn_error **err)
{
	if (!value)
		return hamn_error_setq(err, EINVAL, "sysctl '%s': missing value", key);
	if (strlen(value) > OCI_PATH_MAX)
		return hamn_error_setq(err, EINVAL, "sysctl '%s': value too long", key);
	/* ',' and ' ' stay allowed: ip_local_reserved_ports and kernel.sem use them */
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '+' || c == '=' || c == ';' || (c < 0x20 && c != '\t') || c == 0x7f)
			return hamn_error_setq(err, EINVAL,
					       "sysctl '%s': value contains a forbidden "
					       "character (0x%02x)",
					       key, c);
	}
	return 0;
}

int hamn_oci_sysctl_check(const char *key, const char *value, bool has_netns, bool has_ipcns,
			  bool has_utsns, struct hamn_error **err)
{
	_cleanup_free_ char *k = key ? normalize_key(key) : NULL;

	if (!k)
		return hamn_error_setq(err, EINVAL, "sysctl '%s': invalid name", key ? key : "");
	switch (classify(k)) {
	case SYSCTL_NET:
		if (!has_netns)
			return hamn_error_setq(err, EINVAL,
					       "sysctl '%s' requires a network namespace", key);
		break;
	case SYSCTL_IPC:
		if (!has_ipcns)
			return hamn_error_setq(err, EINVAL, "sysctl '%s' requires an ipc namespace",
					       key);
		break;
	case SYSCTL_UTS:
		if (!has_utsns)
			return hamn_error_setq(err, EINVAL, "sysctl '%s' requires a uts namespace",
					       key);
		break;
	case SYSCTL_NONE:
		return hamn_error_setq(err, EINVAL,
				       "sysctl '%s' is not namespaced and cannot be set in a "
				       "container",
				       key);
	}
	return check_value(key, value, err);
}
