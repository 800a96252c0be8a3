/*
 * test_engine_network.c - the pure logic of the engine's networking: docker's
 * PortBindings/PublishAllPorts as mappings, --bip, instance names, and the
 * JSON a container shows (NetworkSettings, list Ports) for its links.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "engine/internal.h"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

/* Parse hc and cfg; returns the count, the mappings in *out. */
static size_t ports_of(const char *hc_text, const char *cfg_text, struct hamn_net_port **out)
{
	_cleanup_json_ json_t *hc = parse(hc_text), *cfg = parse(cfg_text);
	struct hamn_error *err = NULL;
	size_t n = 0;

	if (ctr_net_ports_parse(hc, cfg, out, &n, &err) < 0)
		fail_msg("ports: %s", err->msg);
	return n;
}

static void bindings_as_docker_cli_sends_them(void **state)
{
	_cleanup_free_ struct hamn_net_port *p = NULL;
	size_t n;

	(void)state;
	n = ports_of("{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],"
		     "\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}],"
		     "\"90/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"9000-9010\"},"
		     "{\"HostIp\":\"::\",\"HostPort\":\"9000\"}]}}",
		     "{}", &p);
	assert_int_equal(n, 3);
	assert_int_equal(p[0].proto, IPPROTO_TCP);
	assert_int_equal(p[0].host_port, 8080);
	assert_int_equal(p[0].container_port, 80);
	assert_string_equal(p[0].host_ip, "");
	assert_int_equal(p[1].proto, IPPROTO_UDP);
	assert_string_equal(p[1].host_ip, "127.0.0.1");
	assert_int_equal(p[1].host_port, 0);
	/* a host range for one container port: the first free one; the IPv6 binding is skipped */
	assert_int_equal(p[2].host_port, 9000);
	assert_int_equal(p[2].host_port_end, 9010);
	assert_int_equal(p[2].container_port, 90);
}

static void publish_all_takes_exposed_ports_without_bindings(void **state)
{
	_cleanup_free_ struct hamn_net_port *p = NULL;
	size_t n;

	(void)state;
	n = ports_of("{\"PublishAllPorts\":true,\"PortBindings\":{\"80/tcp\":"
		     "[{\"HostPort\":\"8080\"}]}}",
		     "{\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{},\"53/udp\":{}}}", &p);
	assert_int_equal(n, 3);
	assert_int_equal(p[0].host_port, 8080);
	assert_int_equal(p[1].container_port, 443);
	assert_int_equal(p[1].host_port, 0);
	assert_int_equal(p[2].proto, IPPROTO_UDP);
	free(p);
	p = NULL;
	/* without -P, exposed ports are not published */
	n = ports_of("{\"PortBindings\":{\"80/tcp\":null}}", "{\"ExposedPorts\":{\"80/tcp\":{}}}",
		     &p);
	assert_int_equal(n, 0);
}

static void bad_bindings_are_einval(void **state)
{
	static const char *const bad[] = {
		"{\"PortBindings\":[]}",
		"{\"PortBindings\":{\"80/tcp\":\"8080\"}}",
		"{\"PortBindings\":{\"80/xyz\":[{}]}}",
		"{\"PortBindings\":{\"99999/tcp\":[{}]}}",
		"{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"http\"}]}}",
		"{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"300.1.1.1\",\"HostPort\":\"1\"}]}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_json_ json_t *hc = parse(bad[i]), *cfg = parse("{}");
		struct hamn_net_port *p = (struct hamn_net_port *)&p;
		struct hamn_error *err = NULL;
		size_t n = 7;

		assert_int_equal(ctr_net_ports_parse(hc, cfg, &p, &n, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		assert_null(p);
		assert_int_equal(n, 0);
		hamn_error_free(&err);
	}
}

static void bip_gives_subnet_and_gateway(void **state)
{
	struct hamn_error *err = NULL;
	char *subnet = NULL, *gw = NULL;
	static const char *const bad[] = {"10.1.2.3",	 "10.1.2.0/24", "10.1.2.255/24",
					  "10.1.2.3/33", "10.1.2.3/",	"x/24",
					  "10.1.2.3/24x"};

	(void)state;
	assert_int_equal(engine_net_parse_bip("10.213.5.1/24", &subnet, &gw, &err), 0);
	assert_string_equal(subnet, "10.213.5.0/24");
	assert_string_equal(gw, "10.213.5.1");
	free(subnet);
	free(gw);
	assert_int_equal(engine_net_parse_bip("172.30.7.9/16", &subnet, &gw, &err), 0);
	assert_string_equal(subnet, "172.30.0.0/16");
	assert_string_equal(gw, "172.30.7.9");
	free(subnet);
	free(gw);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(engine_net_parse_bip(bad[i], &subnet, &gw, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
}

static void instance_names(void **state)
{
	_cleanup_free_ char *def = engine_net_instance("/run/hamn");
	_cleanup_free_ char *a = engine_net_instance("/tmp/a/run");
	_cleanup_free_ char *a2 = engine_net_instance("/tmp/a/run");
	_cleanup_free_ char *b = engine_net_instance("/tmp/b/run");

	(void)state;
	assert_string_equal(def, "hamn");
	assert_int_equal(strlen(a), 13);
	assert_true(str_has_prefix(a, "hamn_"));
	assert_string_equal(a, a2);
	assert_string_not_equal(a, b);
}

/* A running container on "bridge" and "front" with a published port. */
static struct container *sample(void)
{
	struct container *c = ctr_new();
	struct ctr_net_link *l;

	memset(c->id, 'a', ID_LEN);
	c->name = xstrdup("web");
	c->cfg.network_mode = xstrdup("default");
	c->config_json = parse("{\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{}}}");
	c->st.status = ST_RUNNING;
	c->st.pid = 42;
	c->net = xzalloc(sizeof(*c->net));
	c->net->netns_fd = -1;
	l = ctr_net_add_link(c->net, "bridge", "b1", NULL, NULL, NULL);
	l->endpoint_id = xstrdup("e1");
	l->live = parse("{\"NetworkID\":\"b1\",\"EndpointID\":\"e1\",\"IPAddress\":\"10.0.0.2\","
			"\"Gateway\":\"10.0.0.1\",\"IPPrefixLen\":24,\"MacAddress\":\"02:42\"}");
	l->ports = parse("{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}");
	ctr_net_add_link(c->net, "front", "f1", (char *[]){"www", NULL}, "10.1.0.9", NULL);
	return c;
}

static void settings_of_a_running_container(void **state)
{
	struct container *c = sample();
	_cleanup_json_ json_t *ns = ctr_net_settings_json(c);
	json_t *front = json_object_get(json_object_get(ns, "Networks"), "front");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(ns, "IPAddress")), "10.0.0.2");
	assert_string_equal(json_string_value(json_object_get(ns, "EndpointID")), "e1");
	assert_string_equal(json_string_value(json_object_get(ns, "SandboxKey")), "");
	assert_true(json_is_null(json_object_get(json_object_get(ns, "Ports"), "443/tcp")));
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(json_object_get(ns, "Ports"), "80/tcp"), 0),
			"HostPort")),
		"8080");
	/* not attached: its settings as asked, no address */
	assert_string_equal(json_string_value(json_object_get(front, "IPAddress")), "");
	assert_string_equal(json_string_value(json_object_get(json_object_get(front, "IPAMConfig"),
							      "IPv4Address")),
			    "10.1.0.9");
	assert_string_equal(json_string_value(json_array_get(json_object_get(front, "Aliases"), 0)),
			    "www");
	assert_true(ctr_net_filter_match(c, "front"));
	assert_true(ctr_net_filter_match(c, "default"));
	assert_false(ctr_net_filter_match(c, "back"));
	ctr_unref_locked(c);
}

static void list_entry_ports_and_a_stopped_container(void **state)
{
	struct container *c = sample();
	_cleanup_json_ json_t *entry = json_object(), *entry2 = json_object();
	_cleanup_json_ json_t *ns = NULL;
	json_t *ports;

	(void)state;
	ctr_net_list_fill(c, entry);
	ports = json_object_get(entry, "Ports");
	assert_int_equal(json_array_size(ports), 2);
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(ports, 0), "PublicPort")), 8080);
	assert_null(json_object_get(json_array_get(ports, 1), "PublicPort"));
	assert_int_equal(json_object_size(json_object_get(json_object_get(entry, "NetworkSettings"),
							  "Networks")),
			 2);
	/* stopped: no ports, no addresses */
	c->st.status = ST_EXITED;
	ctr_net_list_fill(c, entry2);
	assert_int_equal(json_array_size(json_object_get(entry2, "Ports")), 0);
	ns = ctr_net_settings_json(c);
	assert_int_equal(json_object_size(json_object_get(ns, "Ports")), 0);
	assert_string_equal(json_string_value(json_object_get(ns, "IPAddress")), "");
	ctr_unref_locked(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bindings_as_docker_cli_sends_them),
		cmocka_unit_test(publish_all_takes_exposed_ports_without_bindings),
		cmocka_unit_test(bad_bindings_are_einval),
		cmocka_unit_test(bip_gives_subnet_and_gateway),
		cmocka_unit_test(instance_names),
		cmocka_unit_test(settings_of_a_running_container),
		cmocka_unit_test(list_entry_ports_and_a_stopped_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
