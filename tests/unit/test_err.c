/*
 * test_err.c -- the error table and the OpenAI error body: every code has a
 * complete row, out-of-range codes fall back to the 500 row, names, the
 * status -> type and status -> reason maps, and px_err_json parsed back
 * with cJSON (exact member set, nulls, escaping, cap).
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "buf.h"
#include "err.h"
#include "tharness.h"

/* HTTP status each client-facing code must map to (err.h comments). */
static const struct {
	enum px_err e;
	int         http;
	const char *name;
} codes[] = {
	{ PX_EBADREQ,   400, "PX_EBADREQ" },
	{ PX_EAUTH,     401, "PX_EAUTH" },
	{ PX_ENOROUTE,  404, "PX_ENOROUTE" },
	{ PX_EMODEL,    404, "PX_EMODEL" },
	{ PX_EMETHOD,   405, "PX_EMETHOD" },
	{ PX_ETOOBIG,   413, "PX_ETOOBIG" },
	{ PX_ERATE,     429, "PX_ERATE" },
	{ PX_EINTERNAL, 500, "PX_EINTERNAL" },
	{ PX_ENOMEM,    500, "PX_ENOMEM" },
	{ PX_ESTORE,    500, "PX_ESTORE" },
	{ PX_EUPSTREAM, 502, "PX_EUPSTREAM" },
	{ PX_EUNAVAIL,  503, "PX_EUNAVAIL" },
	{ PX_ETIMEOUT,  504, "PX_ETIMEOUT" },
	{ PX_ECONFIG,   0,   "PX_ECONFIG" },	/* never sent: any 4xx/5xx */
	{ PX_EGONE,     0,   "PX_EGONE" },	/* never sent: any 4xx/5xx */
};

static void
test_table(void)
{
	const struct px_err_info *in;
	int e, ok = 1;

	for (e = PX_OK + 1; e < PX_ERR__MAX; e++) {
		in = px_err_info((enum px_err)e);
		ok = in != NULL && in->reason != NULL && in->msg != NULL &&
		    in->type != NULL && in->msg[0] != '\0' &&
		    in->http >= 400 && in->http <= 599;
		T_CHECK(ok, "row: status 4xx/5xx, reason, type and msg set");
		if (!ok)
			printf("#   incomplete row for %s\n",
			    px_err_name((enum px_err)e));
		if (in != NULL && in->reason != NULL)
			T_STREQ(px_http_reason(in->http), in->reason,
			    "row: reason agrees with px_http_reason");
	}
	in = px_err_info(PX_OK);
	T_CHECK(in != NULL && in->http == 200 && in->reason != NULL &&
	    in->msg != NULL, "PX_OK row: 200 with reason and msg");
	T_CHECK(sizeof(codes) / sizeof(codes[0]) == PX_ERR__MAX - 1,
	    "every code is listed in this test");
}

static void
test_codes(void)
{
	size_t i;
	int ok;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ok = codes[i].http == 0 ||
		    px_err_info(codes[i].e)->http == codes[i].http;
		T_CHECK(ok, "code maps to its documented status");
		if (!ok)
			printf("#   %s -> %d\n", codes[i].name,
			    px_err_info(codes[i].e)->http);
		T_STREQ(px_err_name(codes[i].e), codes[i].name, "px_err_name");
	}
	T_STREQ(px_err_name(PX_OK), "PX_OK", "px_err_name(PX_OK)");
	T_STREQ(px_err_info(PX_EMODEL)->code, "model_not_found",
	    "EMODEL code is model_not_found");
	T_STREQ(px_err_info(PX_EAUTH)->code, "invalid_api_key",
	    "EAUTH code is invalid_api_key");
	T_STREQ(px_err_info(PX_EBADREQ)->type, "invalid_request_error",
	    "EBADREQ type");
	T_STREQ(px_err_info(PX_EINTERNAL)->type, "server_error",
	    "EINTERNAL type");
}

static void
test_out_of_range(void)
{
	static const int bad[] = { PX_ERR__MAX, PX_ERR__MAX + 1, 1000, -1 };
	const struct px_err_info *fallback = px_err_info(PX_EINTERNAL);
	const char *name;
	size_t i;
	int e;

	T_CHECK(fallback->http == 500, "PX_EINTERNAL is the 500 row");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_CHECK(px_err_info((enum px_err)bad[i]) == fallback,
		    "out of range -> the 500 row");
		name = px_err_name((enum px_err)bad[i]);
		T_CHECK(name != NULL, "out of range name is not NULL");
		for (e = PX_OK; e < PX_ERR__MAX && name != NULL; e++)
			T_CHECK(strcmp(name, px_err_name((enum px_err)e)) != 0,
			    "out of range name differs from every real name");
	}
}

static const struct {
	int         status;
	const char *type;
} types[] = {
	{ 400, "invalid_request_error" },
	{ 401, "authentication_error" },
	{ 403, "permission_error" },
	{ 404, "invalid_request_error" },
	{ 408, "timeout_error" },
	{ 409, "invalid_request_error" },
	{ 422, "invalid_request_error" },
	{ 429, "rate_limit_error" },
	{ 500, "server_error" },
	{ 502, "server_error" },
	{ 503, "server_error" },
	{ 504, "server_error" },
	{ 529, "server_error" },
};

static const struct {
	int         status;
	const char *reason;
} reasons[] = {
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 413, "Payload Too Large" },
	{ 422, "Unprocessable Entity" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 0,   "Unknown" },
	{ -1,  "Unknown" },
	{ 201, "Unknown" },
	{ 418, "Unknown" },
	{ 999, "Unknown" },
};

static void
test_status_maps(void)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		T_STREQ(px_err_type_for_status(types[i].status), types[i].type,
		    "px_err_type_for_status");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		T_STREQ(px_http_reason(reasons[i].status), reasons[i].reason,
		    "px_http_reason");
}

/* --- px_err_json ---------------------------------------------------------- */

static const struct {
	const char *message, *type, *param, *code;
} bodies[] = {
	{ "model not found", "invalid_request_error", "model",
	  "model_not_found" },
	{ "plain", "server_error", NULL, NULL },
	{ "say \"hi\"\nline 2\r\ttab \\ end", "server_error", NULL, "x\"y" },
	{ "ctl \x01\x1f del \x7f caf\xc3\xa9", "t", "p\n", NULL },
	{ "", "", "", "" },
};

/* The body is exactly {"error":{message,type,param,code}}, in that order. */
static const cJSON *
error_obj(const cJSON *root)
{
	static const char *const names[] = { "message", "type", "param",
	    "code" };
	const cJSON *err, *it;
	size_t i = 0;

	if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != 1)
		return NULL;
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (!cJSON_IsObject(err) || cJSON_GetArraySize(err) != 4)
		return NULL;
	cJSON_ArrayForEach(it, err) {
		if (it->string == NULL || strcmp(it->string, names[i++]) != 0)
			return NULL;
	}
	return err;
}

/* Member is a string equal to want, or JSON null when want is NULL. */
static int
member_is(const cJSON *err, const char *name, const char *want)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(err, name);

	if (want == NULL)
		return cJSON_IsNull(it);
	return cJSON_IsString(it) && strcmp(it->valuestring, want) == 0;
}

static void
test_json(void)
{
	struct px_buf b;
	const cJSON *err;
	cJSON *root;
	size_t i;

	px_buf_init(&b, 4096);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		px_buf_reset(&b);
		T_CHECK(px_err_json(&b, bodies[i].message, bodies[i].type,
		    bodies[i].param, bodies[i].code) == PX_OK, "err_json ok");
		T_CHECK(b.p != NULL && strlen(b.p) == b.len,
		    "err_json: one C string, no raw NUL");
		T_CHECK(b.p != NULL && strchr(b.p, '\n') == NULL,
		    "err_json: newline escaped, body is one line");
		root = cJSON_ParseWithLength(b.p, b.len);
		err = error_obj(root);
		T_CHECK(err != NULL, "err_json: exactly error.{message,type,"
		    "param,code}");
		if (err == NULL)
			printf("#   body: %s\n", b.p);
		T_CHECK(member_is(err, "message", bodies[i].message),
		    "err_json: message round-trips");
		T_CHECK(member_is(err, "type", bodies[i].type),
		    "err_json: type round-trips");
		T_CHECK(member_is(err, "param", bodies[i].param),
		    "err_json: param string or null");
		T_CHECK(member_is(err, "code", bodies[i].code),
		    "err_json: code string or null");
		cJSON_Delete(root);
	}
	px_buf_free(&b);
}

static void
test_json_edges(void)
{
	struct px_buf b;
	const cJSON *err, *m, *t;
	cJSON *root;

	/* Appends: earlier content stays in front. */
	px_buf_init(&b, 4096);
	T_CHECK(px_buf_adds(&b, "data: ") == PX_OK, "edges: prefix");
	T_CHECK(px_err_json(&b, "m", "t", NULL, NULL) == PX_OK,
	    "edges: append");
	T_CHECK(strncmp(b.p, "data: {", 7) == 0, "err_json appends");
	root = cJSON_Parse(b.p + 6);
	T_CHECK(error_obj(root) != NULL, "appended body parses");
	cJSON_Delete(root);

	/* NULL message and type still give OpenAI-shaped strings. */
	px_buf_reset(&b);
	T_CHECK(px_err_json(&b, NULL, NULL, NULL, NULL) == PX_OK,
	    "edges: all NULL");
	root = cJSON_ParseWithLength(b.p, b.len);
	err = error_obj(root);
	m = cJSON_GetObjectItemCaseSensitive(err, "message");
	t = cJSON_GetObjectItemCaseSensitive(err, "type");
	T_CHECK(cJSON_IsString(m) && m->valuestring[0] != '\0',
	    "NULL message -> non-empty string");
	T_CHECK(cJSON_IsString(t) && t->valuestring[0] != '\0',
	    "NULL type -> non-empty string");
	T_CHECK(member_is(err, "param", NULL) && member_is(err, "code", NULL),
	    "NULL param and code -> null");
	cJSON_Delete(root);
	px_buf_free(&b);

	/* A body that does not fit reports PX_ETOOBIG. */
	px_buf_init(&b, 32);
	T_CHECK(px_err_json(&b, "a message longer than the cap", "t", NULL,
	    NULL) == PX_ETOOBIG, "err_json past max: ETOOBIG");
	T_CHECK(b.len <= 32, "err_json past max: cap kept");
	px_buf_free(&b);
}

int
main(void)
{
	test_table();
	test_codes();
	test_out_of_range();
	test_status_maps();
	test_json();
	test_json_edges();
	return t_done();
}
