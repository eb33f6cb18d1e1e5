/*
 * wcce_dcom.c - the CertSrv Request class on the DCOM object exporter
 * (dcom/exporter.h): ICertRequestD and ICertRequestD2 (which derives from
 * it) as exporter interfaces whose methods all go to wcce_invoke, and a
 * class whose instances are the one stateless wcce_service_t - AD CS keeps
 * no per-instance state either; every call names the CA again.
 */
#include "dcom/exporter.h"
#include "services/wcce.h"

/* the GUIDs as constant initializers (checked against wcce.c's at
 * registration) */
#define IID_ICERTREQUESTD_INIT {0xd99e6e70, 0xfc88, 0x11d0, {0xb4, 0x98, 0x00, 0xa0, 0xc9, 0x03, 0x12, 0xf3}}
#define IID_ICERTREQUESTD2_INIT {0x5422fd3a, 0xd4b8, 0x4cef, {0xa1, 0x2e, 0xe8, 0x7d, 0x4c, 0xa2, 0x2e, 0x90}}

/* op hands the call to the method body; the bound IID (the presentation
 * context) decides which opnums exist, so ICertRequestD2's IPID called
 * through an ICertRequestD binding still has only Request/GetCACert/Ping. */
static cerr_t op(dcom_call_t *call)
{
	return wcce_invoke(call->object, call->iid, call->rpc);
}

static const dcom_op_fn ops_d[] = {
	[WCCE_OPNUM_REQUEST] = op,
	[WCCE_OPNUM_GET_CA_CERT] = op,
	[WCCE_OPNUM_PING] = op,
};
static const dcom_op_fn ops_d2[] = {
	[WCCE_OPNUM_REQUEST] = op,
	[WCCE_OPNUM_GET_CA_CERT] = op,
	[WCCE_OPNUM_PING] = op,
	[WCCE_OPNUM_REQUEST2] = op,
	[WCCE_OPNUM_GET_CA_PROPERTY] = op,
	[WCCE_OPNUM_GET_CA_PROPERTY_INFO] = op,
	[WCCE_OPNUM_PING2] = op,
};
static const guid_t d2_bases[] = {IID_ICERTREQUESTD_INIT};

static const dcom_iface_t iface_d = {
	.name = "ICertRequestD",
	.iid = IID_ICERTREQUESTD_INIT,
	.ops = ops_d,
	.n_ops = sizeof(ops_d) / sizeof(ops_d[0]),
};
static const dcom_iface_t iface_d2 = {
	.name = "ICertRequestD2",
	.iid = IID_ICERTREQUESTD2_INIT,
	.ops = ops_d2,
	.n_ops = sizeof(ops_d2) / sizeof(ops_d2[0]),
	.bases = d2_bases,
	.n_bases = 1,
};
static const dcom_iface_t *const class_ifaces[] = {&iface_d2, &iface_d};

static cerr_t create_instance(void *arg, const dcom_activation_t *act, dcom_object_t *out)
{
	(void)act;
	out->state = arg;
	out->release = NULL; /* the service outlives its instances */
	out->ifaces = class_ifaces;
	out->n_ifaces = sizeof(class_ifaces) / sizeof(class_ifaces[0]);
	return CERR_OK;
}

cerr_t wcce_dcom_register(dcom_exporter_t *x, wcce_service_t *svc)
{
	if (!x || !svc || !guid_equal(&iface_d.iid, &WCCE_IID_ICERTREQUESTD) ||
	    !guid_equal(&iface_d2.iid, &WCCE_IID_ICERTREQUESTD2)) {
		return CERR_INVALID_ARG;
	}
	cerr_t e = dcom_exporter_add_iface(x, &iface_d);
	if (e == CERR_OK) {
		e = dcom_exporter_add_iface(x, &iface_d2);
	}
	if (e == CERR_OK) {
		e = dcom_register_class(x, &WCCE_CLSID_CERTSRV_REQUEST, create_instance, svc);
	}
	return e;
}
