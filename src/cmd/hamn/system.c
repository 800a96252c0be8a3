/*
 * system.c - `hamn version` and `hamn info`.
 */
#include "cli.h"

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *v = NULL;
	struct hamn_client *c;

	printf("Client:\n Version:           %s\n API version:       1.41\n OS/Arch:           "
	       "linux/amd64\n\n", HAMN_VERSION);
	if (!(c = cli_client(cli)))
		return 1;
	if (hamn_client_json(c, "GET", "/version", NULL, &v, &err) < 0) {
		cli_error(err);
		return 1;
	}
	printf("Server:\n Engine:\n  Version:          %s\n  API version:      %s (minimum version "
	       "%s)\n  OS/Arch:          %s/%s\n  Kernel:           %s\n",
	       jstr(v, "Version"), jstr(v, "ApiVersion"), jstr(v, "MinAPIVersion"), jstr(v, "Os"),
	       jstr(v, "Arch"), jstr(v, "KernelVersion"));
	return 0;
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *v = NULL;
	struct hamn_client *c;

	if (!(c = cli_client(cli)))
		return 1;
	if (hamn_client_json(c, "GET", "/info", NULL, &v, &err) < 0) {
		cli_error(err);
		return 1;
	}
	printf("Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n"
	       " Images: %lld\n Server Version: %s\n Storage Driver: %s\n Logging Driver: %s\n"
	       " Cgroup Driver: %s\n Cgroup Version: %s\n Kernel Version: %s\n"
	       " Operating System: %s\n CPUs: %lld\n Total Memory: %lld\n Name: %s\n"
	       " Docker Root Dir: %s\n",
	       (long long)json_integer_value(json_object_get(v, "Containers")),
	       (long long)json_integer_value(json_object_get(v, "ContainersRunning")),
	       (long long)json_integer_value(json_object_get(v, "ContainersPaused")),
	       (long long)json_integer_value(json_object_get(v, "ContainersStopped")),
	       (long long)json_integer_value(json_object_get(v, "Images")), jstr(v, "ServerVersion"),
	       jstr(v, "Driver"), jstr(v, "LoggingDriver"), jstr(v, "CgroupDriver"),
	       jstr(v, "CgroupVersion"), jstr(v, "KernelVersion"), jstr(v, "OperatingSystem"),
	       (long long)json_integer_value(json_object_get(v, "NCPU")),
	       (long long)json_integer_value(json_object_get(v, "MemTotal")), jstr(v, "Name"),
	       jstr(v, "DockerRootDir"));
	return 0;
}
