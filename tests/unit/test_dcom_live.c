/* test_dcom_live.c - the DCOM layer over real sockets against the client the
 * acceptance tests use: impacket 0.10's dcomrt (/usr/bin/python3). A test
 * server runs the RPC runtime with the NTLM acceptor, the object exporter
 * and a test class (the CertSrv Request CLSID with two interfaces); the
 * script activates it with DCOMConnection.CoCreateInstanceEx (impacket
 * dials port 135: the script points it at our endpoint-mapper port), calls
 * a method on the object connection impacket opens from our string bindings
 * at the level our authnHint asks, QIs to the second interface, pings,
 * resolves and releases. Skipped when impacket is missing.
 *
 * impacket moves between interfaces of one exporter with alter_context and a
 * new NTLM security context on the same connection (rpcrt.alter_ctx), which
 * the runtime refuses (one security context per connection, as Samba); the
 * script drops impacket's cached connection before each change of interface
 * so every interface gets its own connection.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dcom/exporter.h"
#include "rpc/ntlm.h"
#include "rpc/ntlm_crypto.h"
#include "rpc/pdu.h"
#include "rpc/server.h"
#include "testutil.h"

static const char SCRIPT[] =
	"import sys\n"
	"from impacket.dcerpc.v5 import transport, dcomrt\n"
	"from impacket.dcerpc.v5.dcomrt import *\n"
	"from impacket.dcerpc.v5.dtypes import DWORD, NULL\n"
	"from impacket.uuid import string_to_bin, bin_to_string\n"
	"EPM = int(sys.argv[1])\n"
	"orig = transport.DCERPCTransportFactory\n"
	"def factory(sb):\n"
	"    t = orig(sb)\n"
	"    if sb == 'ncacn_ip_tcp:127.0.0.1':\n"
	"        t.set_dport(EPM)\n"
	"    return t\n"
	"dcomrt.transport.DCERPCTransportFactory = factory\n"
	"CLSID = string_to_bin('d99e6e74-fc88-11d0-b498-00a0c90312f3')\n"
	"IID1 = string_to_bin('d99e6e70-fc88-11d0-b498-00a0c90312f3')\n"
	"IID2 = string_to_bin('5422fd3a-d4b8-4cef-a12e-e87d4ca22e90')\n"
	"class Echo(DCOMCALL):\n"
	"    opnum = 3\n"
	"    structure = (('v', DWORD),)\n"
	"class EchoResponse(DCOMANSWER):\n"
	"    structure = (('v', DWORD), ('ErrorCode', DWORD))\n"
	"from threading import current_thread\n"
	"def fresh(i):\n"
	"    INTERFACE.CONNECTIONS['127.0.0.1'][current_thread().name].pop(i.get_oxid(), None)\n"
	"def echo(i, iid, v):\n"
	"    req = Echo(); req['v'] = v\n"
	"    return i.request(req, iid, i.get_iPid())['v']\n"
	"dcom = DCOMConnection('127.0.0.1', 'alice', 'Passw0rd!', 'WORKGROUP')\n"
	"i1 = dcom.CoCreateInstanceEx(CLSID, IID1)\n"
	"ci = i1.get_cinstance()\n"
	"print('binding', ci.get_string_bindings()[0]['aNetworkAddr'].rstrip('\\x00'))\n"
	"print('level', ci.get_auth_level())\n"
	"print('echo1', echo(i1, IID1, 41))\n"
	"fresh(i1)\n"
	"i2 = i1.RemQueryInterface(1, [IID2])\n"
	"fresh(i1)\n"
	"print('echo2', echo(i2, IID2, 99))\n"
	"fresh(i1)\n"
	"print('addref', i1.RemAddRef()['ErrorCode'])\n"
	"print('release', i1.RemRelease()['ErrorCode'])\n"
	"exp = IObjectExporter(dcom.get_dce_rpc())\n"
	"print('alive2', [b['aNetworkAddr'].rstrip('\\x00') for b in exp.ServerAlive2()])\n"
	"r = exp.ComplexPing(0, 0, [i2.get_oid()], [])\n"
	"setid = r['pSetId']\n"
	"print('cping', r['ErrorCode'], 1 <= setid <= 0xffff)\n"
	"print('sping', exp.SimplePing(setid)['ErrorCode'])\n"
	"print('resolve', [b['aNetworkAddr'].rstrip('\\x00') for b in exp.ResolveOxid2(i1.get_oxid(), [7])])\n"
	"dce = dcom.get_dce_rpc(); dce.connect()\n"
	"i3 = IActivation(dce).RemoteActivation(CLSID, IID1)\n"
	"fresh(i3)\n"
	"print('echo3', echo(i3, IID1, 7))\n"
	"dce.connect()\n"
	"try:\n"
	"    i4 = IRemoteSCMActivator(dce).RemoteCreateInstance(string_to_bin('00000000-1111-2222-3333-444444444444'), IID1)\n"
	"    print('unknown', 'ok')\n"
	"except Exception as e:\n"
	"    print('unknown', 'REGDB_E_CLASSNOTREG' in str(e), e)\n"
	"i1.set_iPid(string_to_bin('12345678-1234-1234-1234-123456789abc'))\n"
	"try:\n"
	"    echo(i1, IID1, 1)\n"
	"    print('gone', 'ok')\n"
	"except Exception as e:\n"
	"    print('gone', 'RPC_E_DISCONNECTED' in str(e))\n"
	"print('done')\n";

static uint64_t g_echoes;
static int g_released;

static cerr_t op_echo(dcom_call_t *dc)
{
	uint32_t v;
	if (!ndr_get_u32(&dc->rpc->in, &v)) {
		return CERR_MALFORMED;
	}
	__atomic_add_fetch(&g_echoes, 1, __ATOMIC_SEQ_CST);
	ndr_put_u32(dc->rpc->out, v + 1);
	dcom_put_hresult(dc->rpc->out, 0);
	return CERR_OK;
}

static void release_state(void *state)
{
	(void)state;
	__atomic_add_fetch(&g_released, 1, __ATOMIC_SEQ_CST);
}

static const dcom_op_fn t1_ops[] = {NULL, NULL, NULL, op_echo};
static guid_t t2_bases[1];
static dcom_iface_t g_t1, g_t2;
static const dcom_iface_t *g_ifaces[2];
static int g_state;

static cerr_t create_obj(void *arg, const dcom_activation_t *act, dcom_object_t *out)
{
	(void)arg;
	(void)act;
	out->state = &g_state;
	out->release = release_state;
	out->ifaces = g_ifaces;
	out->n_ifaces = 2;
	return CERR_OK;
}

/* value returns the text after "key " on its line of out, or NULL. */
static const char *value(const char *out, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);
	for (const char *p = out; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n >= k && strncmp(p, key, k) == 0 && (n == k || p[k] == ' ')) {
			snprintf(buf, len, "%.*s", n == k ? 0 : (int)(n - k - 1), p + k + (n == k ? 0 : 1));
			return buf;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static void expect(const char *out, const char *key, const char *want)
{
	char buf[512];
	const char *v = value(out, key, buf, sizeof(buf));
	if (!v || strcmp(v, want) != 0) {
		print_error("%s: got '%s', want '%s'\n", key, v ? v : "(missing)", want);
		fail();
	}
}

static void test_impacket_dcom(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    system("/usr/bin/python3 -c 'import impacket.dcerpc.v5.dcomrt' 2>/dev/null") != 0) {
		skip();
	}
	guid_t clsid = guid_from_literal("d99e6e74-fc88-11d0-b498-00a0c90312f3");
	t2_bases[0] = guid_from_literal("d99e6e70-fc88-11d0-b498-00a0c90312f3");
	g_t1 = (dcom_iface_t){"ICertRequestD", t2_bases[0], t1_ops, 4, NULL, 0, NULL};
	g_t2 = (dcom_iface_t){"ICertRequestD2", guid_from_literal("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90"), t1_ops,
			      4, t2_bases, 1, NULL};
	g_ifaces[0] = &g_t1;
	g_ifaces[1] = &g_t2;

	rpc_server_config_t scfg = {.workers = 2};
	tu_server_t v = {.s = rpc_server_new(&scfg)};
	assert_non_null(v.s);
	rpc_auth_provider_t prov;
	ntlm_acceptor_config_t nc;
	ntlm_acceptor_config_init(&nc);
	nc.nb_domain = "WORKGROUP";
	nc.nb_computer = "CA1";
	nc.lookup = tu_lookup_alice;
	assert_int_equal(ntlm_acceptor_provider(&prov, &nc), CERR_OK);
	assert_int_equal(rpc_server_add_auth(v.s, &prov), CERR_OK);

	dcom_exporter_t *x = dcom_exporter_new(NULL);
	assert_non_null(x);
	assert_int_equal(dcom_register_class(x, &clsid, create_obj, NULL), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(x, &g_t1), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(x, &g_t2), CERR_OK);
	assert_int_equal(dcom_exporter_attach(x, v.s), CERR_OK);
	uint16_t epm_port, dyn_port;
	assert_int_equal(rpc_server_listen(v.s, "127.0.0.1", 0, RPC_LISTEN_EPM, &epm_port), CERR_OK);
	assert_int_equal(rpc_server_listen(v.s, "127.0.0.1", 0, RPC_LISTEN_DYNAMIC, &dyn_port), CERR_OK);
	tu_server_start(&v);

	char script[] = "/tmp/certa_dcom_liveXXXXXX";
	int fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SCRIPT, strlen(SCRIPT)), (ssize_t)strlen(SCRIPT));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %u 2>&1", script, epm_port);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *out = calloc(1, 65536);
	size_t n = fread(out, 1, 65535, f);
	(void)n;
	pclose(f);
	unlink(script);
	printf("%s", out);

	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1[%u]", dyn_port);
	expect(out, "binding", want);
	expect(out, "level", "6");
	expect(out, "echo1", "42");
	expect(out, "echo2", "100");
	expect(out, "addref", "0");
	expect(out, "release", "0");
	expect(out, "alive2", "['127.0.0.1']");
	expect(out, "cping", "0 True");
	expect(out, "sping", "0");
	snprintf(want, sizeof(want), "['127.0.0.1[%u]']", dyn_port);
	expect(out, "resolve", want);
	expect(out, "echo3", "8");
	char buf[512];
	const char *unk = value(out, "unknown", buf, sizeof(buf));
	assert_non_null(unk);
	assert_true(strncmp(unk, "True", 4) == 0);
	expect(out, "gone", "True");
	expect(out, "done", "");
	free(out);

	dcom_exporter_stats_t st;
	dcom_exporter_stats(x, &st);
	assert_int_equal(st.objects, 2); /* the two activations, still referenced */
	assert_int_equal(st.sets, 1);
	assert_int_equal(__atomic_load_n(&g_echoes, __ATOMIC_SEQ_CST), 3);

	assert_int_equal(tu_server_stop(&v), CERR_OK);
	rpc_server_free(v.s);
	dcom_exporter_free(x);
	assert_int_equal(g_released, 2);
	ntlm_provider_cleanup(&prov);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impacket_dcom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
