/*
 * test_dialect_responses.c -- the OpenAI Responses dialect
 * (dialect_responses.c) through its table and the shared engine.
 * Decode: request vectors -> the canonical chat request (compared as
 * cJSON trees, then checked by px_validate_chat) or a 400 naming the
 * Responses field. Encode: canonical chunks through px_dialect_chunk /
 * px_dialect_end / px_dialect_fail, every event's data line parsed back;
 * canonical completions through px_dialect_body.
 * tests/fixtures/codex_responses.json (a Codex turn the integration tests
 * send) is decoded and its "expect" part checked here too.
 * Fixtures (tests/fixtures/responses/, run with cwd = repo root):
 * codex_request.json and codex_chat.json are the client-apis.md §A.1.2
 * request and its §A.4.2 translation verbatim; stream_text_tool.sse is
 * the §A.3.3 stream and body_text_tool.json the §A.2 object, with two
 * edits: response.in_progress repeats the created object in full (the
 * doc abbreviates it) and completed_at equals created_at (the dialect
 * has no clock; the doc's example is two seconds later).
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "tharness.h"
#include "validate.h"

#define FX	"tests/fixtures/responses/"
#define UID	"0123456789abcdef01234567"
#define DOC_UID	"7f3a9c"	/* the ids of the doc's examples */
#define NOW	1760000000

static struct px_dstate st;
static const struct px_dialect *R;	/* the table under test */

/* --- helpers -------------------------------------------------------------- */

/* s with every ' turned into ", in an exact-size heap block (no NUL after
 * it, so ASan catches a read past len); *n gets the length. */
static char *
q(const char *s, size_t *n)
{
	size_t i, len = strlen(s);
	char *p = malloc(len ? len : 1);

	if (p == NULL)
		abort();
	for (i = 0; i < len; i++)
		p[i] = s[i] == '\'' ? '"' : s[i];
	*n = len;
	return p;
}

/* q() with a NUL, for cJSON_Parse. */
static cJSON *
qparse(const char *s)
{
	size_t n;
	char *p = q(s, &n);
	cJSON *j = cJSON_ParseWithLength(p, n);

	free(p);
	return j;
}

static char *
load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	rewind(f);
	p = malloc((size_t)len + 1);
	if (p != NULL && fread(p, 1, (size_t)len, f) != (size_t)len) {
		free(p);
		p = NULL;
	}
	if (p != NULL)
		p[len] = '\0';
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* "a.b.0.c": object keys and array indices; NULL when absent. */
static cJSON *
jpath(const cJSON *j, const char *path)
{
	char seg[64];
	size_t n;
	cJSON *r = NULL;

	if (*path == '\0')
		return NULL;
	while (j != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (seg[0] >= '0' && seg[0] <= '9')
			r = cJSON_GetArrayItem(j, atoi(seg));
		else
			r = cJSON_GetObjectItemCaseSensitive(j, seg);
		j = r;
	}
	return r;
}

static const char *
jstr(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static int
jnull(const cJSON *j, const char *path)
{
	return cJSON_IsNull(jpath(j, path));
}

static int
jsize(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);

	return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
}

/* --- decode --------------------------------------------------------------- */

static struct px_dctx ctx = { UID, NOW, 0 };

/* Decode body (single-quoted JSON) into chat; st is reset first. */
static enum px_err
decode_q(const char *body, struct px_buf *chat, struct px_verr *err)
{
	size_t n;
	char *p = q(body, &n);
	enum px_err rc;

	px_dstate_reset(&st, R);
	rc = R->decode(p, n, &ctx, &st, chat, err);
	free(p);
	return rc;
}

/* The canonical request must be one the chat route accepts. */
static int
chat_valid(const struct px_buf *chat)
{
	struct px_chat_req rq;
	struct px_verr err;
	enum px_err rc = px_validate_chat(chat->p, chat->len, &rq, &err);

	if (rc != PX_OK)
		printf("# px_validate_chat: %s\n", err.msg);
	px_chat_req_free(&rq);
	return rc == PX_OK;
}

/* chat equals want (single-quoted) as JSON trees (key order aside). */
static int
chat_is(const struct px_buf *chat, const char *want)
{
	cJSON *a = cJSON_ParseWithLength(chat->p, chat->len), *b = qparse(want);
	int ok = a != NULL && b != NULL && cJSON_Compare(a, b, 1);

	if (!ok)
		printf("# got  %.*s\n# want %s\n", (int)chat->len, chat->p,
		    want);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return ok;
}

#define U(x)	"{'role':'user','content':'" x "'}"
#define REQ(x)	"{'model':'m','input':" x "}"
#define ITEMS(x) REQ("[" x "]")
#define OUT(x)	"{'model':'m','messages':[" x "],'stream':false}"
#define OUTX(x, y) "{'model':'m','messages':[" x "],'stream':false," y "}"
#define FC(id, name, args) "{'type':'function_call','call_id':'" id "'," \
		"'name':'" name "','arguments':'" args "'}"
#define FCO(id, out) "{'type':'function_call_output','call_id':'" id "'," \
		"'output':'" out "'}"
#define TC(id, name, args) "{'id':'" id "','type':'function','function':" \
		"{'name':'" name "','arguments':'" args "'}}"
#define TOOL(id, c) "{'role':'tool','tool_call_id':'" id "','content':'" c "'}"
#define ASST(c, calls) "{'role':'assistant','content':" c ",'tool_calls':[" \
		calls "]}"
#define FN(name) "{'type':'function','name':'" name "','parameters':" \
		"{'type':'object','properties':{}}}"
#define CFN(name) "{'type':'function','function':{'name':'" name "'," \
		"'parameters':{'type':'object','properties':{}}}}"
#define CUSTOM_PARAMS "'parameters':{'type':'object','properties':" \
		"{'input':{'type':'string'}},'required':['input']}"

struct dvec {
	const char *name;
	const char *body;	/* the Responses request, single-quoted */
	enum px_err rc;
	const char *param;	/* err.param on failure */
	const char *want;	/* the canonical request on success, or NULL */
	const char *msg;	/* a substring of err.msg, or NULL */
};

static const struct dvec dvecs[] = {
	/* --- accepted: input forms --- */
	{ "string input", REQ("'hi'"), PX_OK, "", OUT(U("hi")), NULL },
	{ "instructions first, stream asks for usage",
	  "{'model':'m','instructions':'sys','input':'hi','stream':true}",
	  PX_OK, "", "{'model':'m','messages':[{'role':'system','content':"
	  "'sys'}," U("hi") "],'stream':true,'stream_options':"
	  "{'include_usage':true}}", NULL },
	{ "easy messages, developer -> system", ITEMS("{'role':'developer',"
	  "'content':'d'},{'role':'system','content':'s'}," U("hi")),
	  PX_OK, "", OUT("{'role':'system','content':'d'},{'role':'system',"
	  "'content':'s'}," U("hi")), NULL },
	{ "user parts: text, images (detail), empty text dropped",
	  ITEMS("{'type':'message','role':'user','content':["
	  "{'type':'input_text','text':'a'},{'type':'input_text','text':''},"
	  "{'type':'input_image','image_url':'https://x/i.png'},"
	  "{'type':'input_image','image_url':'data:image/png;base64,AA==',"
	  "'detail':'original'},{'type':'input_image','image_url':'u',"
	  "'detail':'low','file_id':null}]}"), PX_OK, "",
	  OUT("{'role':'user','content':[{'type':'text','text':'a'},"
	  "{'type':'image_url','image_url':{'url':'https://x/i.png',"
	  "'detail':'auto'}},{'type':'image_url','image_url':{'url':"
	  "'data:image/png;base64,AA==','detail':'auto'}},{'type':"
	  "'image_url','image_url':{'url':'u','detail':'low'}}]}"), NULL },
	{ "input_file with file_data", ITEMS("{'role':'user','content':["
	  "{'type':'input_file','file_data':'data:application/pdf;base64,AA"
	  "','filename':'a.pdf'}]}"), PX_OK, "",
	  OUT("{'role':'user','content':[{'type':'file','file':{'file_data':"
	  "'data:application/pdf;base64,AA','filename':'a.pdf'}}]}"), NULL },
	{ "a user message left without parts is dropped",
	  ITEMS("{'role':'user','content':[{'type':'input_text','text':''}]},"
	  U("hi")), PX_OK, "", OUT(U("hi")), NULL },
	{ "replayed output message: output_text + refusal, phase dropped",
	  ITEMS(U("q") ",{'type':'message','id':'msg_1','role':'assistant',"
	  "'status':'completed','phase':'final_answer','content':[{'type':"
	  "'output_text','text':'A','annotations':[]},{'type':'refusal',"
	  "'refusal':'B'}]}," U("r")), PX_OK, "",
	  OUT(U("q") ",{'role':'assistant','content':'AB'}," U("r")), NULL },
	{ "consecutive assistant texts join with a newline",
	  ITEMS(U("q") ",{'role':'assistant','content':'A'},"
	  "{'role':'assistant','content':[{'type':'output_text','text':'B'}]}"),
	  PX_OK, "", OUT(U("q") ",{'role':'assistant','content':'A\\nB'}"),
	  NULL },
	{ "function_call + output", ITEMS(U("q") "," FC("c1", "f", "{}") ","
	  FCO("c1", "ok")), PX_OK, "", OUT(U("q") "," ASST("null",
	  TC("c1", "f", "{}")) "," TOOL("c1", "ok")), NULL },
	{ "assistant text then calls: one message (parallel calls kept)",
	  ITEMS(U("q") ",{'role':'assistant','content':'t'}," FC("c1", "f",
	  "{}") "," FC("c2", "g", "{}") "," FCO("c1", "1") "," FCO("c2", "2")),
	  PX_OK, "", OUT(U("q") "," ASST("'t'", TC("c1", "f", "{}") ","
	  TC("c2", "g", "{}")) "," TOOL("c1", "1") "," TOOL("c2", "2")),
	  NULL },
	{ "output parts: texts joined, image after the tool block",
	  ITEMS(U("q") "," FC("c1", "f", "{}") "," FC("c2", "g", "{}") ","
	  "{'type':'function_call_output','call_id':'c1','output':["
	  "{'type':'input_text','text':'x'},{'type':'input_image',"
	  "'image_url':'https://i'},{'type':'input_text','text':'y'}]},"
	  FCO("c2", "2")), PX_OK, "", OUT(U("q") "," ASST("null",
	  TC("c1", "f", "{}") "," TC("c2", "g", "{}")) "," TOOL("c1", "x\\ny")
	  "," TOOL("c2", "2") ",{'role':'user','content':[{'type':'text',"
	  "'text':'Image returned by tool c1:'},{'type':'image_url',"
	  "'image_url':{'url':'https://i','detail':'auto'}}]}"), NULL },
	{ "custom tool call and output: arguments wrap the input",
	  ITEMS(U("q") ",{'type':'custom_tool_call','call_id':'c1','name':"
	  "'apply_patch','input':'*** Begin \\'x\\'\\n'},{'type':"
	  "'custom_tool_call_output','call_id':'c1','output':'done'}"),
	  PX_OK, "", OUT(U("q") "," ASST("null", TC("c1", "apply_patch",
	  "{\\'input\\':\\'*** Begin \\\\\\'x\\\\\\'\\\\n\\'}")) ","
	  TOOL("c1", "done")), NULL },
	{ "reasoning items dropped, encrypted_content never forwarded",
	  ITEMS(U("q") ",{'type':'reasoning','id':'rs_1','summary':[{'type':"
	  "'summary_text','text':'S'}],'encrypted_content':'gAAA'},"
	  "{'role':'assistant','content':'t'}," FC("c1", "f", "{}") ","
	  FCO("c1", "ok")), PX_OK, "", OUT(U("q") "," ASST("'t'",
	  TC("c1", "f", "{}")) "," TOOL("c1", "ok")), NULL },
	/* --- accepted: repair (px_dialect_repair) --- */
	{ "repair: a user message between call and output moves after",
	  ITEMS(U("q") "," FC("c1", "f", "{}") "," U("x") "," FCO("c1", "ok")),
	  PX_OK, "", OUT(U("q") "," ASST("null", TC("c1", "f", "{}")) ","
	  TOOL("c1", "ok") "," U("x")), NULL },
	{ "repair: a call without output gets an aborted result",
	  ITEMS(U("q") "," FC("c1", "f", "{}") "," U("x")), PX_OK, "",
	  OUT(U("q") "," ASST("null", TC("c1", "f", "{}")) ","
	  TOOL("c1", "aborted: no result") "," U("x")), NULL },
	/* --- accepted: tools and tool_choice --- */
	{ "function tool: flat -> nested, null/extra fields dropped",
	  "{'model':'m','input':'hi','tools':[{'type':'function','name':'f',"
	  "'description':'d','parameters':null,'strict':null,"
	  "'defer_loading':true},{'type':'function','name':'g','parameters':"
	  "{'type':'object'},'strict':true}],'tool_choice':'required',"
	  "'parallel_tool_calls':false}", PX_OK, "",
	  OUTX(U("hi"), "'tools':[{'type':'function','function':{'name':'f',"
	  "'description':'d'}},{'type':'function','function':{'name':'g',"
	  "'parameters':{'type':'object'},'strict':true}}],'tool_choice':"
	  "'required','parallel_tool_calls':false"), NULL },
	{ "custom tools: grammar in the description, {input} schema",
	  "{'model':'m','input':'hi','tools':[{'type':'custom','name':'p',"
	  "'description':'Edit.','format':{'type':'grammar','syntax':'lark',"
	  "'definition':'start: x'}},{'type':'custom','name':'q','format':"
	  "{'type':'text'}},{'type':'custom','name':'r','format':{'type':"
	  "'grammar','syntax':'regex','definition':'a+'}}],'tool_choice':"
	  "{'type':'custom','name':'p'}}", PX_OK, "",
	  OUTX(U("hi"), "'tools':[{'type':'function','function':{'name':'p',"
	  "'description':'Edit.\\n\\nInput format (lark):\\nstart: x',"
	  CUSTOM_PARAMS "}},{'type':'function','function':{'name':'q',"
	  CUSTOM_PARAMS "}},{'type':'function','function':{'name':'r',"
	  "'description':'Input format (regex):\\na+'," CUSTOM_PARAMS "}}],"
	  "'tool_choice':{'type':'function','function':{'name':'p'}}"), NULL },
	{ "hosted tools dropped; without tools no tool_choice upstream",
	  "{'model':'m','input':'hi','tools':[{'type':'web_search_preview',"
	  "'search_context_size':'low'},{'type':'local_shell'},{'type':"
	  "'web_search_2025_08_26'},{'type':'computer_use_preview'},{'type':"
	  "'mcp','server_label':'x'}],'tool_choice':'auto',"
	  "'parallel_tool_calls':true}", PX_OK, "", OUT(U("hi")), NULL },
	{ "tool_choice function and allowed_tools",
	  "{'model':'m','input':'hi','tools':[" FN("f") "," FN("g") "],"
	  "'tool_choice':{'type':'allowed_tools','mode':'required','tools':"
	  "[{'type':'function','name':'f'},{'type':'custom','name':'g'}]}}",
	  PX_OK, "", OUTX(U("hi"), "'tools':[" CFN("f") "," CFN("g") "],"
	  "'tool_choice':{'type':'allowed_tools','allowed_tools':{'mode':"
	  "'required','tools':[{'type':'function','function':{'name':'f'}},"
	  "{'type':'function','function':{'name':'g'}}]}}"), NULL },
	{ "tool_choice {type:function}", "{'model':'m','input':'hi','tools':["
	  FN("f") "],'tool_choice':{'type':'function','name':'f'}}", PX_OK,
	  "", OUTX(U("hi"), "'tools':[" CFN("f") "],'tool_choice':{'type':"
	  "'function','function':{'name':'f'}}"), NULL },
	/* --- accepted: the other fields --- */
	{ "text.format json_schema flat -> nested, verbosity dropped",
	  "{'model':'m','input':'hi','text':{'verbosity':'low','format':"
	  "{'type':'json_schema','name':'a','schema':{'type':'object'},"
	  "'strict':true,'description':'D'}}}", PX_OK, "",
	  OUTX(U("hi"), "'response_format':{'type':'json_schema',"
	  "'json_schema':{'name':'a','schema':{'type':'object'},'strict':"
	  "true,'description':'D'}}"), NULL },
	{ "text.format json_object", "{'model':'m','input':'hi','text':"
	  "{'format':{'type':'json_object'}}}", PX_OK, "",
	  OUTX(U("hi"), "'response_format':{'type':'json_object'}"), NULL },
	{ "text.format text is the default: not sent",
	  "{'model':'m','input':'hi','text':{'format':{'type':'text'}}}",
	  PX_OK, "", OUT(U("hi")), NULL },
	{ "numbers, effort xhigh -> high, user cut on a UTF-8 boundary",
	  "{'model':'m','input':'hi','max_output_tokens':100,'temperature':"
	  "0.5,'top_p':0.9,'reasoning':{'effort':'xhigh','summary':'auto'},"
	  "'user':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaa\xc3\xa9'}", PX_OK, "", OUTX(U("hi"), "'max_tokens':100,"
	  "'temperature':0.5,'top_p':0.9,'reasoning_effort':'high','user':"
	  "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"),
	  NULL },
	{ "not sent upstream: store, include, metadata, truncation, ...",
	  "{'model':'m','input':'hi','store':true,'include':['reasoning."
	  "encrypted_content'],'metadata':{'k':'v'},'truncation':'auto',"
	  "'prompt_cache_key':'p','safety_identifier':'s','service_tier':"
	  "'flex','stream_options':{'include_obfuscation':false},"
	  "'previous_response_id':null,'conversation':null,'background':"
	  "false,'prompt':null,'top_logprobs':2,'unknown_field':1}", PX_OK,
	  "", OUT(U("hi")), NULL },
	/* --- refused --- */
	{ "not JSON", "{'model':", PX_EBADREQ, "", NULL, "not valid JSON" },
	{ "trailing data", REQ("'hi'") " x", PX_EBADREQ, "", NULL,
	  "after the JSON value" },
	{ "not UTF-8", REQ("'\xff'"), PX_EBADREQ, "", NULL, "UTF-8" },
	{ "not an object", "['x']", PX_EBADREQ, "", NULL, "JSON object" },
	{ "model missing", "{'input':'hi'}", PX_EBADREQ, "model", NULL,
	  "model: required" },
	{ "model empty", "{'model':'','input':'hi'}", PX_EBADREQ, "model",
	  NULL, NULL },
	{ "input missing", "{'model':'m'}", PX_EBADREQ, "input", NULL,
	  "input: required" },
	{ "input a number", REQ("3"), PX_EBADREQ, "input", NULL,
	  "a string or an array" },
	{ "input empty", REQ("[]"), PX_EBADREQ, "input", NULL, NULL },
	{ "item not an object", ITEMS("'x'"), PX_EBADREQ, "input[0]", NULL,
	  NULL },
	{ "item_reference needs storage", ITEMS("{'type':'item_reference',"
	  "'id':'msg_1'}"), PX_EBADREQ, "input[0].type", NULL, "stateless" },
	{ "hosted tool items", ITEMS(U("q") ",{'type':'web_search_call',"
	  "'id':'ws_1'}"), PX_EBADREQ, "input[1].type", NULL,
	  "\"web_search_call\"" },
	{ "role tool", ITEMS("{'role':'tool','content':'x'}"), PX_EBADREQ,
	  "input[0].role", NULL, NULL },
	{ "unknown part type", ITEMS("{'role':'user','content':[{'type':"
	  "'input_audio'}]}"), PX_EBADREQ, "input[0].content[0].type", NULL,
	  "input[0].content[0].type: expected one of input_text, "
	  "input_image, input_file, output_text, refusal" },
	{ "image by file id", ITEMS("{'role':'user','content':[{'type':"
	  "'input_image','file_id':'file-1'}]}"), PX_EBADREQ,
	  "input[0].content[0].file_id", NULL, "Files API" },
	{ "image in a system message", ITEMS("{'role':'system','content':["
	  "{'type':'input_image','image_url':'u'}]}"), PX_EBADREQ,
	  "input[0].content[0].type", NULL, "user messages" },
	{ "image in an assistant message", ITEMS("{'role':'assistant',"
	  "'content':[{'type':'input_image','image_url':'u'}]}"), PX_EBADREQ,
	  "input[0].content[0].type", NULL, "user messages" },
	{ "file without file_data", ITEMS("{'role':'user','content':["
	  "{'type':'input_file','file_id':'file-1'}]}"), PX_EBADREQ,
	  "input[0].content[0].file_data", NULL, NULL },
	{ "function_call without call_id", ITEMS("{'type':'function_call',"
	  "'name':'f','arguments':'{}'}"), PX_EBADREQ, "input[0].call_id",
	  NULL, NULL },
	{ "function_call arguments an object", ITEMS("{'type':"
	  "'function_call','call_id':'c','name':'f','arguments':{}}"),
	  PX_EBADREQ, "input[0].arguments", NULL, "expected a string" },
	{ "bad output part", ITEMS(FC("c1", "f", "{}") ",{'type':"
	  "'function_call_output','call_id':'c1','output':[{'type':'x'}]}"),
	  PX_EBADREQ, "input[1].output[0].type", NULL, NULL },
	{ "output for an unknown call", ITEMS(U("q") "," FC("c1", "f", "{}")
	  "," FCO("nope", "x")), PX_EBADREQ, "input[2].call_id", NULL,
	  "\"nope\"" },
	{ "output before its call", ITEMS(U("q") "," FCO("c1", "x") ","
	  FC("c1", "f", "{}")), PX_EBADREQ, "input[1].call_id", NULL, NULL },
	{ "repair: a duplicate output is dropped", ITEMS(U("q") ","
	  FC("c1", "f", "{}") "," FCO("c1", "a") "," FCO("c1", "b")), PX_OK,
	  "", OUT(U("q") "," ASST("null", TC("c1", "f", "{}")) ","
	  TOOL("c1", "a")), NULL },
	{ "file_search tool", "{'model':'m','input':'hi','tools':[{'type':"
	  "'file_search','vector_store_ids':['v']}]}", PX_EBADREQ,
	  "tools[0].type", NULL, "file_search" },
	{ "unknown tool type", "{'model':'m','input':'hi','tools':["
	  FN("f") ",{'type':'teleport'}]}", PX_EBADREQ, "tools[1].type",
	  NULL, "teleport" },
	{ "tool name the upstream refuses", "{'model':'m','input':'hi',"
	  "'tools':[" FN("a.b") "]}", PX_EBADREQ, "tools[0].name", NULL,
	  NULL },
	{ "tool parameters an array", "{'model':'m','input':'hi','tools':["
	  "{'type':'function','name':'f','parameters':[]}]}", PX_EBADREQ,
	  "tools[0].parameters", NULL, NULL },
	{ "custom tool grammar without definition", "{'model':'m','input':"
	  "'hi','tools':[{'type':'custom','name':'p','format':{'type':"
	  "'grammar','syntax':'lark'}}]}", PX_EBADREQ,
	  "tools[0].format.definition", NULL, NULL },
	{ "tool_choice a hosted tool", "{'model':'m','input':'hi','tools':["
	  FN("f") "],'tool_choice':{'type':'web_search_preview'}}",
	  PX_EBADREQ, "tool_choice.type", NULL, NULL },
	{ "tool_choice names no tool", "{'model':'m','input':'hi','tools':["
	  FN("f") "],'tool_choice':{'type':'function','name':'g'}}",
	  PX_EBADREQ, "tool_choice.name", NULL, NULL },
	{ "tool_choice naming a dropped tool", "{'model':'m','input':'hi',"
	  "'tools':[{'type':'local_shell'}],'tool_choice':{'type':"
	  "'function','name':'local_shell'}}", PX_EBADREQ, "tool_choice.name",
	  NULL, NULL },
	{ "tool_choice word", "{'model':'m','input':'hi','tool_choice':"
	  "'sometimes'}", PX_EBADREQ, "tool_choice", NULL, NULL },
	{ "allowed_tools mode", "{'model':'m','input':'hi','tools':[" FN("f")
	  "],'tool_choice':{'type':'allowed_tools','mode':'none','tools':"
	  "[]}}", PX_EBADREQ, "tool_choice.mode", NULL, NULL },
	{ "allowed_tools entry", "{'model':'m','input':'hi','tools':[" FN("f")
	  "],'tool_choice':{'type':'allowed_tools','mode':'auto','tools':"
	  "[{'type':'function','name':'zz'}]}}", PX_EBADREQ,
	  "tool_choice.tools[0].name", NULL, NULL },
	{ "text.format type", "{'model':'m','input':'hi','text':{'format':"
	  "{'type':'xml'}}}", PX_EBADREQ, "text.format.type", NULL, NULL },
	{ "json_schema without schema", "{'model':'m','input':'hi','text':"
	  "{'format':{'type':'json_schema','name':'a'}}}", PX_EBADREQ,
	  "text.format.schema", NULL, NULL },
	{ "max_output_tokens 0", "{'model':'m','input':'hi',"
	  "'max_output_tokens':0}", PX_EBADREQ, "max_output_tokens", NULL,
	  NULL },
	{ "max_output_tokens fractional", "{'model':'m','input':'hi',"
	  "'max_output_tokens':1.5}", PX_EBADREQ, "max_output_tokens", NULL,
	  NULL },
	{ "temperature above 2", "{'model':'m','input':'hi','temperature':3}",
	  PX_EBADREQ, "temperature", NULL, NULL },
	{ "top_p a string", "{'model':'m','input':'hi','top_p':'1'}",
	  PX_EBADREQ, "top_p", NULL, "expected a number" },
	{ "unknown effort", "{'model':'m','input':'hi','reasoning':{'effort':"
	  "'extreme'}}", PX_EBADREQ, "reasoning.effort", NULL, NULL },
	{ "previous_response_id", "{'model':'m','input':'hi',"
	  "'previous_response_id':'resp_1'}", PX_EBADREQ,
	  "previous_response_id", NULL,
	  "stateless. Send the whole conversation in input (store:false)" },
	{ "conversation", "{'model':'m','input':'hi','conversation':{'id':"
	  "'c'}}", PX_EBADREQ, "conversation", NULL, NULL },
	{ "background", "{'model':'m','input':'hi','background':true}",
	  PX_EBADREQ, "background", NULL, NULL },
	{ "prompt", "{'model':'m','input':'hi','prompt':{'id':'p'}}",
	  PX_EBADREQ, "prompt", NULL, NULL },
	{ "stream a string", "{'model':'m','input':'hi','stream':'yes'}",
	  PX_EBADREQ, "stream", NULL, NULL },
	{ "metadata a string", "{'model':'m','input':'hi','metadata':'x'}",
	  PX_EBADREQ, "metadata", NULL, NULL },
	{ "instructions an array", "{'model':'m','input':'hi','instructions'"
	  ":[]}", PX_EBADREQ, "instructions", NULL, NULL },
};

static void
test_decode_vectors(void)
{
	struct px_buf chat;
	struct px_verr err;
	char what[160];
	size_t i;
	enum px_err rc;

	px_buf_init(&chat, 1u << 20);
	for (i = 0; i < sizeof(dvecs) / sizeof(dvecs[0]); i++) {
		const struct dvec *v = &dvecs[i];

		rc = decode_q(v->body, &chat, &err);
		snprintf(what, sizeof(what), "%s: rc", v->name);
		T_CHECK(rc == v->rc, what);
		if (rc != v->rc)
			printf("# rc %d, %s\n", (int)rc, err.msg);
		snprintf(what, sizeof(what), "%s: param", v->name);
		T_STREQ(rc == PX_OK ? "" : err.param, v->param, what);
		if (v->msg != NULL) {
			snprintf(what, sizeof(what), "%s: message", v->name);
			T_CHECK(strstr(err.msg, v->msg) != NULL, what);
		}
		if (rc != PX_OK || v->rc != PX_OK)
			continue;
		snprintf(what, sizeof(what), "%s: canonical", v->name);
		T_CHECK(chat_is(&chat, v->want), what);
		snprintf(what, sizeof(what), "%s: px_validate_chat", v->name);
		T_CHECK(chat_valid(&chat), what);
	}
	px_buf_free(&chat);
}

/* §A.1.2 -> §A.4.2 exactly, and the state the encoder needs. */
static void
test_decode_codex(void)
{
	struct px_buf chat, echo;
	struct px_verr err;
	size_t n, wn;
	char *body = load(FX "codex_request.json", &n);
	char *want = load(FX "codex_chat.json", &wn);
	cJSON *a = NULL, *b = want ? cJSON_Parse(want) : NULL, *e = NULL;

	T_CHECK(body != NULL && b != NULL, "codex fixtures load");
	px_buf_init(&chat, 1u << 20);
	px_buf_init(&echo, 1u << 20);
	px_dstate_reset(&st, R);
	T_CHECK(body != NULL && R->decode(body, n, &ctx,
	    &st, &chat, &err) == PX_OK, "codex request decodes");
	a = cJSON_ParseWithLength(chat.p, chat.len);
	T_CHECK(a != NULL && b != NULL && cJSON_Compare(a, b, 1),
	    "codex request -> the §A.4.2 canonical request");
	T_CHECK(chat_valid(&chat), "codex canonical passes px_validate_chat");
	T_STREQ(st.model, "gemini-2.5-flash", "st.model");
	T_CHECK(st.stream == 0, "st.stream");
	T_STREQ(st.id, "resp_" UID, "st.id is resp_<uid>");
	T_CHECK(st.created == NOW, "st.created from ctx");
	T_CHECK(st.flags & PX_DF_REASONING, "reasoning.summary -> flag");
	T_CHECK(st.ncustom == 1 && strcmp(st.custom[0], "apply_patch") == 0,
	    "custom tool recorded");
	T_CHECK(px_buf_add(&echo, "{", 1) == PX_OK &&
	    px_buf_add(&echo, st.echo.p, st.echo.len) == PX_OK &&
	    px_buf_add(&echo, "}", 1) == PX_OK, "echo copied");
	e = cJSON_ParseWithLength(echo.p, echo.len);
	T_CHECK(e != NULL, "echo is a JSON member list");
	T_CHECK(cJSON_IsFalse(jpath(e, "store")), "echo store false");
	T_STREQ(jstr(e, "metadata.ticket"), "T-42", "echo metadata");
	T_CHECK(jsize(e, "tools") == 3, "echo tools as sent (3)");
	T_STREQ(jstr(e, "tools.2.type"), "custom", "echo tools in Responses "
	    "shape");
	T_STREQ(jstr(e, "reasoning.summary"), "auto", "echo reasoning");
	T_STREQ(jstr(e, "reasoning.effort"), "medium", "echo effort");
	T_STREQ(jstr(e, "text.format.type"), "json_schema", "echo text");
	T_CHECK(jnum(e, "max_output_tokens") == 2048, "echo max tokens");
	T_STREQ(jstr(e, "instructions"), "You are a coding agent. Be "
	    "concise.", "echo instructions");
	T_CHECK(jnull(e, "previous_response_id") && jnull(e, "user"),
	    "echo nulls");
	T_STREQ(jstr(e, "truncation"), "disabled", "echo truncation default");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(e);
	free(body);
	free(want);
	px_buf_free(&chat);
	px_buf_free(&echo);
}

/* Whether message m's text (string content or any part's text) holds s. */
static int
msg_contains(const cJSON *m, const char *s)
{
	const cJSON *c = jpath(m, "content"), *p;

	if (cJSON_IsString(c))
		return strstr(c->valuestring, s) != NULL;
	cJSON_ArrayForEach(p, c)
		if (jstr(p, "text") != NULL && strstr(jstr(p, "text"), s))
			return 1;
	return 0;
}

/* One expected message of tests/fixtures/codex_responses.json: role,
 * text it contains, its tool call ids, the id it answers. */
static int
msg_matches(const cJSON *m, const cJSON *x)
{
	const cJSON *ids = jpath(x, "tool_calls"), *id;
	int i = 0;

	if (!t_streq(jstr(m, "role"), jstr(x, "role")) ||
	    (jstr(x, "contains") && !msg_contains(m, jstr(x, "contains"))) ||
	    (jstr(x, "tool_call_id") && !t_streq(jstr(m, "tool_call_id"),
	    jstr(x, "tool_call_id"))))
		return 0;
	cJSON_ArrayForEach(id, ids)
		if (!t_streq(jstr(cJSON_GetArrayItem(jpath(m, "tool_calls"),
		    i++), "id"), id->valuestring))
			return 0;
	return ids == NULL || jsize(m, "tool_calls") == i;
}

/* The integration fixture of a real-shaped Codex turn: its "expect" part
 * holds for the canonical request (roles in order, call ids, tool names,
 * reasoning text and encrypted_content absent). */
static void
test_decode_codex_turn(void)
{
	struct px_buf chat;
	struct px_verr err;
	const cJSON *x, *m;
	size_t n;
	char *doc = load("tests/fixtures/codex_responses.json", &n), *body;
	cJSON *fx = doc ? cJSON_Parse(doc) : NULL, *c = NULL;
	int i = 0, ok = 1;

	T_CHECK(fx != NULL, "codex turn fixture loads");
	body = fx ? cJSON_PrintUnformatted(jpath(fx, "body")) : NULL;
	px_buf_init(&chat, 1u << 20);
	px_dstate_reset(&st, R);
	T_CHECK(body != NULL && R->decode(body, strlen(body), &ctx, &st,
	    &chat, &err) == PX_OK, "codex turn decodes");
	c = chat.p ? cJSON_ParseWithLength(chat.p, chat.len) : NULL;
	T_CHECK(c != NULL && chat_valid(&chat), "codex turn: valid chat");
	T_CHECK(jsize(c, "messages") == jsize(fx, "expect.messages"),
	    "codex turn: message count");
	cJSON_ArrayForEach(x, jpath(fx, "expect.messages")) {
		m = cJSON_GetArrayItem(jpath(c, "messages"), i++);
		if (!msg_matches(m, x)) {
			printf("# message %d differs\n", i - 1);
			ok = 0;
		}
	}
	T_CHECK(ok, "codex turn: roles, texts and call ids in order");
	i = 0;
	ok = jsize(c, "tools") == jsize(fx, "expect.tools");
	cJSON_ArrayForEach(x, jpath(fx, "expect.tools"))
		ok &= t_streq(jstr(cJSON_GetArrayItem(jpath(c, "tools"), i++),
		    "function.name"), x->valuestring);
	T_CHECK(ok, "codex turn: tools (web_search dropped)");
	cJSON_ArrayForEach(x, jpath(fx, "expect.absent"))
		T_CHECK(chat.p && strstr(chat.p, x->valuestring) == NULL,
		    "codex turn: replayed reasoning never forwarded");
	T_STREQ(jstr(c, "reasoning_effort"), jstr(fx,
	    "expect.reasoning_effort"), "codex turn: reasoning_effort");
	T_STREQ(jstr(c, "tool_choice"), jstr(fx, "expect.tool_choice"),
	    "codex turn: tool_choice");
	T_CHECK(cJSON_IsFalse(jpath(c, "parallel_tool_calls")) &&
	    cJSON_IsFalse(jpath(fx, "expect.parallel_tool_calls")),
	    "codex turn: parallel_tool_calls false");
	cJSON_Delete(c);
	cJSON_Delete(fx);
	free(body);
	free(doc);
	px_buf_free(&chat);
}

/* §A.2 defaults for a request that sets nothing, and no flag. */
static void
test_decode_defaults(void)
{
	struct px_buf chat, echo;
	struct px_verr err;
	cJSON *e, *want = qparse("{'instructions':null,'max_output_tokens':"
	    "null,'parallel_tool_calls':true,'previous_response_id':null,"
	    "'reasoning':{'effort':null,'summary':null},'store':false,"
	    "'temperature':1,'text':{'format':{'type':'text'}},'tool_choice':"
	    "'auto','tools':[],'top_p':1,'truncation':'disabled','user':null,"
	    "'metadata':{}}");

	px_buf_init(&chat, 1u << 20);
	px_buf_init(&echo, 1u << 20);
	T_CHECK(decode_q(REQ("'hi'"), &chat, &err) == PX_OK, "minimal ok");
	T_CHECK(!(st.flags & PX_DF_REASONING) && st.ncustom == 0,
	    "no flag, no custom tools");
	(void)px_buf_adds(&echo, "{");
	(void)px_buf_add(&echo, st.echo.p, st.echo.len);
	(void)px_buf_adds(&echo, "}");
	e = cJSON_Parse(echo.p);
	T_CHECK(e != NULL && want != NULL && cJSON_Compare(e, want, 1),
	    "echo holds the §A.2 defaults");
	T_CHECK(decode_q("{'model':'m','input':'hi','text':{'verbosity':"
	    "'low'}}", &chat, &err) == PX_OK, "text without format ok");
	T_CHECK(strstr(st.echo.p, "\"text\":{\"verbosity\":\"low\","
	    "\"format\":{\"type\":\"text\"}}") != NULL,
	    "echoed text gets the default format");
	cJSON_Delete(e);
	cJSON_Delete(want);
	px_buf_free(&chat);
	px_buf_free(&echo);
}

/* The value cap counts before parsing; 17 custom tools are too many. */
static void
test_decode_limits(void)
{
	struct px_dctx small = { UID, NOW, 8 };
	struct px_buf chat, body;
	struct px_verr err;
	size_t n;
	char *p = q(ITEMS(U("a") "," U("b") "," U("c")), &n);
	int i;

	px_buf_init(&chat, 1u << 20);
	px_buf_init(&body, 1u << 20);
	px_dstate_reset(&st, R);
	T_CHECK(R->decode(p, n, &small, &st, &chat, &err) ==
	    PX_ETOOBIG, "max_values: 413 before parsing");
	T_CHECK(strstr(err.msg, "max_json_values") != NULL,
	    "max_values message");
	(void)px_buf_adds(&body, "{'model':'m','input':'hi','tools':[");
	for (i = 0; i <= PX_DCUSTOM; i++)
		(void)px_buf_printf(&body, "%s{'type':'custom','name':'t%d'}",
		    i ? "," : "", i);
	(void)px_buf_adds(&body, "]}");
	T_CHECK(decode_q(body.p, &chat, &err) == PX_EBADREQ &&
	    strcmp(err.param, "tools[16]") == 0, "17th custom tool refused");
	free(p);
	px_buf_free(&chat);
	px_buf_free(&body);
}

static void
test_error(void)
{
	struct px_buf out;
	cJSON *j;
	int http = 0;

	px_buf_init(&out, 4096);
	(void)px_buf_adds(&out, "junk");
	T_CHECK(R->error(&st, 400, "invalid_request_error",
	    "previous_response_id: not supported", "previous_response_id",
	    NULL, &out, &http) == PX_OK && http == 400, "error rc, status");
	j = cJSON_Parse(out.p);
	T_STREQ(jstr(j, "error.code"), "previous_response_not_found",
	    "previous_response_id -> previous_response_not_found");
	T_STREQ(jstr(j, "error.param"), "previous_response_id", "param");
	T_STREQ(jstr(j, "error.type"), "invalid_request_error", "type");
	T_STREQ(jstr(j, "error.message"), "previous_response_id: not "
	    "supported", "message (out reset first)");
	cJSON_Delete(j);
	T_CHECK(R->error(&st, 429, "rate_limit_error",
	    "try again in 20s", NULL, "rate_limit_exceeded", &out, &http) ==
	    PX_OK && http == 429, "429 passes through");
	j = cJSON_Parse(out.p);
	T_STREQ(jstr(j, "error.code"), "rate_limit_exceeded", "429 code");
	T_CHECK(jnull(j, "error.param"), "429 param null");
	cJSON_Delete(j);
	px_buf_free(&out);
}

/* --- encode: parsing what the stream wrote -------------------------------- */

#define MAXEV 48

struct evs {
	int    n;
	int    framing_ok;	/* "event: T\ndata: J\n\n" throughout */
	int    types_ok;	/* data.type == the event: line */
	int    seq_ok;		/* sequence_number 0, 1, 2, ... */
	cJSON *ev[MAXEV];
};

static void
evs_free(struct evs *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		cJSON_Delete(e->ev[i]);
	memset(e, 0, sizeof(*e));
}

static void
evs_parse(struct evs *e, const char *s, size_t len)
{
	const char *end = s + len, *nl, *type;
	size_t tlen;

	memset(e, 0, sizeof(*e));
	e->framing_ok = e->types_ok = e->seq_ok = 1;
	while (s < end && e->n < MAXEV) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL || strncmp(s, "event: ", 7) != 0)
			break;
		type = s + 7;
		tlen = (size_t)(nl - type);
		s = nl + 1;
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL || strncmp(s, "data: ", 6) != 0 ||
		    nl + 1 >= end || nl[1] != '\n')
			break;
		e->ev[e->n] = cJSON_ParseWithLength(s + 6, (size_t)(nl - s - 6));
		if (e->ev[e->n] == NULL)
			break;
		if (jstr(e->ev[e->n], "type") == NULL ||
		    strlen(jstr(e->ev[e->n], "type")) != tlen ||
		    memcmp(jstr(e->ev[e->n], "type"), type, tlen) != 0)
			e->types_ok = 0;
		if (jnum(e->ev[e->n], "sequence_number") != e->n)
			e->seq_ok = 0;
		e->n++;
		s = nl + 2;
	}
	if (s != end)
		e->framing_ok = 0;
}

/* "created in_progress ..." with "response." left out. */
static int
types_are(const struct evs *e, const char *want)
{
	char t[80];
	int i = 0, n;

	while (*want != '\0') {
		n = (int)strcspn(want, " ");
		snprintf(t, sizeof(t), "response.%.*s", n, want);
		if (i >= e->n || !t_streq(jstr(e->ev[i], "type"), t)) {
			printf("# event %d: got %s, want %s\n", i,
			    i < e->n ? jstr(e->ev[i], "type") : "(none)", t);
			return 0;
		}
		i++;
		want += n + (want[n] == ' ');
	}
	if (i != e->n)
		printf("# %d events, want %d\n", e->n, i);
	return i == e->n;
}

/* The item types of the terminal event's output, space-separated. */
static int
output_is(const cJSON *resp, const char *want)
{
	char got[256] = "";
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, jpath(resp, "output"))
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
		    n ? " " : "", jstr(it, "type") ? jstr(it, "type") : "?");
	if (strcmp(got, want) != 0)
		printf("# output [%s], want [%s]\n", got, want);
	return strcmp(got, want) == 0;
}

/* Every output_item.done item is, byte for byte as JSON, the item the
 * terminal event carries at its output_index; added items come in index
 * order. */
static int
items_consistent(const struct evs *e, const cJSON *resp)
{
	const cJSON *item, *fin;
	int i, next = 0, idx;

	for (i = 0; i < e->n; i++) {
		const char *t = jstr(e->ev[i], "type");

		idx = (int)jnum(e->ev[i], "output_index");
		item = jpath(e->ev[i], "item");
		if (strcmp(t, "response.output_item.added") == 0 &&
		    idx != next++)
			return 0;
		if (strcmp(t, "response.output_item.done") != 0)
			continue;
		fin = cJSON_GetArrayItem(jpath(resp, "output"), idx);
		if (fin == NULL || !cJSON_Compare(item, fin, 1))
			return 0;
	}
	return 1;
}

/* --- encode: streams ------------------------------------------------------ */

enum ending { END_OK, END_FAIL, END_OVERLOADED };

struct scen {
	const char *name;
	const char *req;	/* the Responses request, decoded first */
	const char *chunks[10];	/* canonical chunks, single-quoted */
	enum ending end;
	const char *types;	/* every event, "response." left out */
	const char *status;	/* the terminal response.status */
	const char *output;	/* the terminal output's item types */
};

#define SREQ	"{'model':'gemini-2.5-flash','input':'hi','stream':true}"
#define SREQ_R	"{'model':'m','input':'hi','stream':true,'reasoning':" \
		"{'summary':'auto'}}"
#define SREQ_C	"{'model':'m','input':'hi','stream':true,'tools':[{'type':" \
		"'custom','name':'apply_patch'}," FN("f") "]}"
#define D(x)	"{'choices':[{'index':0,'delta':" x ",'finish_reason':null}]}"
#define TXT(s)	D("{'content':'" s "'}")
#define RSN(s)	D("{'reasoning':'" s "'}")
#define CALL(i, id, name, a) D("{'tool_calls':[{'index':" #i ",'id':'" id \
		"','type':'function','function':{'name':'" name "','arguments':'" \
		a "'}}]}")
#define ARG(i, a) D("{'tool_calls':[{'index':" #i ",'function':" \
		"{'arguments':'" a "'}}]}")
#define FIN(r)	"{'choices':[{'index':0,'delta':{},'finish_reason':'" r "'}]}"
#define USAGE	"{'choices':[],'usage':{'prompt_tokens':42,'completion_tokens'" \
		":17,'total_tokens':59,'prompt_tokens_details':{'cached_tokens'" \
		":3},'completion_tokens_details':{'reasoning_tokens':5}}}"

#define USAGE0	"{'choices':[],'usage':{'prompt_tokens':42," \
		"'completion_tokens':17,'total_tokens':59}}"

#define HEAD		"created in_progress "
#define MSG_OPEN	"output_item.added content_part.added "
#define MSG_CLOSE	"output_text.done content_part.done output_item.done "
#define RS_OPEN		"output_item.added reasoning_summary_part.added "
#define RS_CLOSE	"reasoning_summary_text.done " \
			"reasoning_summary_part.done output_item.done "
#define FC_CLOSE	"function_call_arguments.done output_item.done "

static const struct scen scens[] = {
	{ "text only", SREQ, { D("{'role':'assistant','content':''}"),
	  TXT("Hello"), TXT(" world"), FIN("stop"), USAGE }, END_OK,
	  HEAD MSG_OPEN "output_text.delta output_text.delta " MSG_CLOSE
	  "completed", "completed", "message" },
	{ "text then one tool call (§A.3.3)", SREQ, { TXT("Checking "),
	  TXT("the weather."), CALL(0, "call_0", "get_weather", ""),
	  ARG(0, "{\\'city\\':"), ARG(0, "\\'Oslo\\'}"), FIN("tool_calls"),
	  USAGE0 }, END_OK, HEAD MSG_OPEN "output_text.delta output_text.delta "
	  MSG_CLOSE "output_item.added function_call_arguments.delta "
	  "function_call_arguments.delta " FC_CLOSE "completed", "completed",
	  "message function_call" },
	{ "parallel calls, interleaved deltas", SREQ, {
	  CALL(0, "call_a", "f", ""), CALL(1, "call_b", "g", ""),
	  ARG(0, "{\\'a\\':"), ARG(1, "{\\'b\\':"), ARG(0, "1}"), ARG(1, "2}"),
	  FIN("tool_calls") }, END_OK, HEAD "output_item.added "
	  "output_item.added function_call_arguments.delta "
	  "function_call_arguments.delta function_call_arguments.delta "
	  "function_call_arguments.delta " FC_CLOSE FC_CLOSE "completed",
	  "completed", "function_call function_call" },
	{ "reasoning with summary, then text", SREQ_R, {
	  RSN("Need two "), RSN("lookups."), TXT("Done."), FIN("stop") },
	  END_OK, HEAD RS_OPEN "reasoning_summary_text.delta "
	  "reasoning_summary_text.delta " RS_CLOSE MSG_OPEN
	  "output_text.delta " MSG_CLOSE "completed", "completed",
	  "reasoning message" },
	{ "reasoning then parallel calls (§A.3.4)", SREQ_R, {
	  RSN("Two lookups."), CALL(0, "c0", "f", "{}"), CALL(1, "c1", "g",
	  "{}"), FIN("tool_calls") }, END_OK, HEAD RS_OPEN
	  "reasoning_summary_text.delta " RS_CLOSE "output_item.added "
	  "function_call_arguments.delta output_item.added "
	  "function_call_arguments.delta " FC_CLOSE FC_CLOSE "completed",
	  "completed", "reasoning function_call function_call" },
	{ "reasoning without reasoning.summary is not shown", SREQ, {
	  RSN("hidden"), TXT("A"), FIN("stop") }, END_OK, HEAD MSG_OPEN
	  "output_text.delta " MSG_CLOSE "completed", "completed",
	  "message" },
	{ "reasoning while a message is open is not shown", SREQ_R, {
	  TXT("A"), RSN("late"), TXT("B"), FIN("stop") }, END_OK, HEAD
	  MSG_OPEN "output_text.delta output_text.delta " MSG_CLOSE
	  "completed", "completed", "message" },
	{ "empty output", SREQ, { D("{'role':'assistant'}"), FIN("stop") },
	  END_OK, HEAD "completed", "completed", "" },
	{ "text after a call: a new message item", SREQ, {
	  CALL(0, "c0", "f", "{}"), TXT("after"), ARG(0, "late"),
	  FIN("stop") }, END_OK, HEAD "output_item.added "
	  "function_call_arguments.delta " FC_CLOSE MSG_OPEN
	  "output_text.delta " MSG_CLOSE "completed", "completed",
	  "function_call message" },
	{ "finish_reason length -> response.incomplete", SREQ, {
	  TXT("abc"), FIN("length") }, END_OK, HEAD MSG_OPEN
	  "output_text.delta " MSG_CLOSE "incomplete", "incomplete",
	  "message" },
	{ "finish_reason content_filter -> incomplete", SREQ, {
	  TXT("abc"), FIN("content_filter") }, END_OK, HEAD MSG_OPEN
	  "output_text.delta " MSG_CLOSE "incomplete", "incomplete",
	  "message" },
	{ "mid-stream failure -> response.failed", SREQ, { TXT("partial") },
	  END_FAIL, HEAD MSG_OPEN "output_text.delta " MSG_CLOSE "failed",
	  "failed", "message" },
	{ "failure with a call open, overloaded", SREQ, {
	  CALL(0, "c0", "f", "{\\'a\\'") }, END_OVERLOADED, HEAD
	  "output_item.added function_call_arguments.delta " FC_CLOSE
	  "failed", "failed", "function_call" },
	{ "failure before any delta", SREQ, { NULL }, END_FAIL,
	  HEAD "failed", "failed", "" },
	{ "custom tool call: no argument deltas, input unwrapped", SREQ_C, {
	  CALL(0, "call_p", "apply_patch", "{\\'input\\':\\'*** Begin"),
	  ARG(0, " Patch\\\\n\\'}"), CALL(1, "call_f", "f", "{}"),
	  FIN("tool_calls") }, END_OK, HEAD "output_item.added "
	  "output_item.added function_call_arguments.delta "
	  "output_item.done " FC_CLOSE "completed", "completed",
	  "custom_tool_call function_call" },
	{ "custom tool call with arguments not of the {input} shape", SREQ_C,
	  { CALL(0, "call_p", "apply_patch", "raw text"), FIN("tool_calls") },
	  END_OK, HEAD "output_item.added output_item.done completed",
	  "completed", "custom_tool_call" },
};

static struct px_buf out, scratch;

/* Decode req, feed the chunks, end as told; events parsed into e. */
static void
run(const struct scen *s, const char *uid, struct evs *e)
{
	struct px_dctx c = { uid, NOW, 0 };
	struct px_buf chat;
	struct px_verr err;
	enum px_err rc = PX_OK;
	char what[160];
	size_t i, n;
	char *p = q(s->req, &n);

	px_buf_init(&chat, 1u << 20);
	px_dstate_reset(&st, R);
	px_buf_reset(&out);
	if (R->decode(p, n, &c, &st, &chat, &err) != PX_OK)
		printf("# %s: decode: %s\n", s->name, err.msg);
	free(p);
	for (i = 0; rc == PX_OK && s->chunks[i] != NULL; i++) {
		p = q(s->chunks[i], &n);
		rc = px_dialect_chunk(&st, p, n, &scratch, &out);
		free(p);
	}
	if (rc == PX_OK && s->end == END_OK)
		rc = px_dialect_end(&st, &out);
	else if (rc == PX_OK)
		rc = px_dialect_fail(&st, "Upstream stopped mid-stream",
		    s->end == END_OVERLOADED, &out);
	snprintf(what, sizeof(what), "%s: callbacks succeed", s->name);
	T_CHECK(rc == PX_OK, what);
	evs_parse(e, out.p, out.len);
	px_buf_free(&chat);
}

static void
test_stream_table(void)
{
	struct evs e;
	const cJSON *resp;
	char what[160];
	size_t i;

	for (i = 0; i < sizeof(scens) / sizeof(scens[0]); i++) {
		const struct scen *s = &scens[i];

		run(s, UID, &e);
		resp = e.n > 0 ? jpath(e.ev[e.n - 1], "response") : NULL;
		snprintf(what, sizeof(what), "%s: framing", s->name);
		T_CHECK(e.framing_ok, what);
		snprintf(what, sizeof(what), "%s: type == event line", s->name);
		T_CHECK(e.types_ok, what);
		snprintf(what, sizeof(what), "%s: sequence 0..n", s->name);
		T_CHECK(e.seq_ok, what);
		snprintf(what, sizeof(what), "%s: event types", s->name);
		T_CHECK(types_are(&e, s->types), what);
		snprintf(what, sizeof(what), "%s: status", s->name);
		T_STREQ(jstr(resp, "status"), s->status, what);
		snprintf(what, sizeof(what), "%s: output", s->name);
		T_CHECK(output_is(resp, s->output), what);
		snprintf(what, sizeof(what), "%s: done items == output",
		    s->name);
		T_CHECK(items_consistent(&e, resp), what);
		snprintf(what, sizeof(what), "%s: id and model", s->name);
		T_CHECK(t_streq(jstr(resp, "id"), "resp_" UID) &&
		    jstr(resp, "model") != NULL, what);
		evs_free(&e);
	}
}

static const struct scen *
scen(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
		if (strcmp(scens[i].name, name) == 0)
			return &scens[i];
	abort();
}

/* Every event equals the §A.3.3 stream (fixture) as JSON. */
static void
test_stream_doc(void)
{
	struct evs e, want;
	size_t n;
	char *doc = load(FX "stream_text_tool.sse", &n);
	int i, same = 1;

	T_CHECK(doc != NULL, "stream fixture loads");
	if (doc == NULL)
		return;
	evs_parse(&want, doc, n);
	T_CHECK(want.framing_ok && want.n == 15, "fixture: 15 events");
	run(scen("text then one tool call (§A.3.3)"), DOC_UID, &e);
	for (i = 0; i < want.n; i++) {
		if (i >= e.n || !cJSON_Compare(e.ev[i], want.ev[i], 1)) {
			char *g = i < e.n ? cJSON_PrintUnformatted(e.ev[i]) :
			    NULL;

			printf("# event %d differs: %s\n", i, g ? g : "");
			free(g);
			same = 0;
		}
	}
	T_CHECK(same && e.n == want.n, "§A.3.3 stream, event by event");
	evs_free(&e);
	evs_free(&want);
	free(doc);
}

/* The terminal event's response object of a scenario (e kept for more). */
static const cJSON *
final_of(const char *name, struct evs *e)
{
	run(scen(name), UID, e);
	return e->n > 0 ? jpath(e->ev[e->n - 1], "response") : NULL;
}

static void
test_stream_details(void)
{
	struct evs e;
	const cJSON *r;

	r = final_of("text only", &e);
	T_STREQ(jstr(e.ev[2], "item.id"), "msg_" UID "_0", "msg_<uid>_0");
	T_CHECK(jsize(e.ev[2], "item.content") == 0 &&
	    t_streq(jstr(e.ev[2], "item.status"), "in_progress"),
	    "added message: content [], in_progress");
	T_CHECK(jsize(e.ev[4], "logprobs") == 0, "delta logprobs []");
	T_STREQ(jstr(r, "output.0.content.0.text"), "Hello world",
	    "completed carries the whole text");
	T_CHECK(jnum(r, "usage.input_tokens") == 42 &&
	    jnum(r, "usage.input_tokens_details.cached_tokens") == 3 &&
	    jnum(r, "usage.output_tokens") == 17 &&
	    jnum(r, "usage.output_tokens_details.reasoning_tokens") == 5 &&
	    jnum(r, "usage.total_tokens") == 59, "usage mapped (§A.4.5)");
	T_CHECK(jnum(r, "completed_at") == NOW && jnull(r, "error") &&
	    jnull(r, "incomplete_details"), "completed_at, error, details");
	T_CHECK(jnull(e.ev[0], "response.usage") &&
	    jsize(e.ev[0], "response.output") == 0 &&
	    t_streq(jstr(e.ev[0], "response.status"), "in_progress") &&
	    jnull(e.ev[0], "response.completed_at"),
	    "created: in_progress, output [], usage null");
	T_CHECK(t_streq(jstr(e.ev[1], "response.tool_choice"), "auto") &&
	    cJSON_IsFalse(jpath(e.ev[1], "response.store")) &&
	    jnum(e.ev[1], "response.created_at") == NOW,
	    "in_progress echoes the request");
	evs_free(&e);

	r = final_of("parallel calls, interleaved deltas", &e);
	T_CHECK(jnum(e.ev[4], "output_index") == 0 &&
	    jnum(e.ev[5], "output_index") == 1 &&
	    jnum(e.ev[6], "output_index") == 0 &&
	    jnum(e.ev[7], "output_index") == 1, "deltas keep their index");
	T_STREQ(jstr(e.ev[5], "item_id"), "fc_" UID "_1", "fc_<uid>_1");
	T_STREQ(jstr(e.ev[8], "arguments"), "{\"a\":1}", "args.done 0");
	T_STREQ(jstr(e.ev[8], "name"), "f", "args.done carries name");
	T_STREQ(jstr(r, "output.1.arguments"), "{\"b\":2}", "final args 1");
	T_STREQ(jstr(r, "output.0.call_id"), "call_a", "call_id verbatim");
	T_CHECK(jnum(r, "usage.total_tokens") == 0 &&
	    jnum(r, "usage.input_tokens") == 0, "no usage: zeros");
	evs_free(&e);

	r = final_of("reasoning with summary, then text", &e);
	T_STREQ(jstr(e.ev[2], "item.id"), "rs_" UID "_0", "rs_<uid>_0");
	T_CHECK(jsize(e.ev[2], "item.summary") == 0, "added: summary []");
	T_CHECK(jnum(e.ev[4], "summary_index") == 0, "summary_index 0");
	T_STREQ(jstr(r, "output.0.summary.0.text"), "Need two lookups.",
	    "reasoning summary kept");
	T_CHECK(jnull(r, "output.0.encrypted_content"),
	    "encrypted_content null");
	T_STREQ(jstr(r, "output.1.id"), "msg_" UID "_1", "message next");
	evs_free(&e);
}

static void
test_stream_endings(void)
{
	struct evs e;
	const cJSON *r;

	r = final_of("finish_reason length -> response.incomplete", &e);
	T_STREQ(jstr(r, "incomplete_details.reason"), "max_output_tokens",
	    "length: max_output_tokens");
	T_STREQ(jstr(r, "output.0.status"), "incomplete", "cut item");
	T_CHECK(jnull(r, "completed_at") && jnum(r, "usage.total_tokens") ==
	    0, "incomplete: no completed_at, usage present");
	evs_free(&e);
	r = final_of("finish_reason content_filter -> incomplete", &e);
	T_STREQ(jstr(r, "incomplete_details.reason"), "content_filter",
	    "content_filter reason");
	evs_free(&e);
	r = final_of("mid-stream failure -> response.failed", &e);
	T_STREQ(jstr(r, "error.code"), "server_error", "failed code");
	T_STREQ(jstr(r, "error.message"), "Upstream stopped mid-stream",
	    "failed message");
	T_STREQ(jstr(r, "output.0.status"), "incomplete", "open item "
	    "closed incomplete");
	T_STREQ(jstr(r, "output.0.content.0.text"), "partial", "text kept");
	T_CHECK(jnull(r, "usage") && jnull(r, "incomplete_details"),
	    "failed: usage null");
	evs_free(&e);
	r = final_of("failure with a call open, overloaded", &e);
	T_STREQ(jstr(r, "error.code"), "rate_limit_exceeded",
	    "overloaded -> rate_limit_exceeded");
	T_STREQ(jstr(r, "output.0.status"), "incomplete", "call incomplete");
	T_STREQ(jstr(r, "output.0.arguments"), "{\"a\"", "args so far");
	evs_free(&e);
	r = final_of("custom tool call: no argument deltas, input unwrapped",
	    &e);
	T_STREQ(jstr(e.ev[2], "item.type"), "custom_tool_call", "added type");
	T_STREQ(jstr(e.ev[2], "item.input"), "", "added input empty");
	T_STREQ(jstr(r, "output.0.input"), "*** Begin Patch\n",
	    "custom input unwrapped");
	T_STREQ(jstr(r, "output.0.id"), "ctc_" UID "_0", "ctc_<uid>_0");
	T_STREQ(jstr(r, "output.0.call_id"), "call_p", "custom call_id");
	T_CHECK(jpath(r, "output.0.arguments") == NULL, "no arguments member");
	evs_free(&e);
	r = final_of("custom tool call with arguments not of the {input} "
	    "shape", &e);
	T_STREQ(jstr(r, "output.0.input"), "raw text", "raw input passed");
	evs_free(&e);
}

/* Past PX_DKEEP_MAX of kept output: deltas still flow, the end is
 * response.incomplete and the events stay valid JSON. */
static void
test_stream_overflow(void)
{
	struct px_buf big, chat;
	struct px_verr err;
	struct evs e;
	size_t half = PX_DKEEP_MAX / 2 + 16, i;
	enum px_err rc;

	px_buf_init(&big, PX_DKEEP_MAX + 4096);
	px_buf_init(&chat, 1u << 20);
	(void)px_buf_adds(&big, "{\"choices\":[{\"index\":0,\"delta\":"
	    "{\"content\":\"");
	for (i = 0; i < half; i++)
		(void)px_buf_addc(&big, 'a');
	(void)px_buf_adds(&big, "\"}}]}");
	(void)decode_q(SREQ, &chat, &err);
	px_buf_reset(&out);
	rc = px_dialect_chunk(&st, big.p, big.len, &scratch, &out);
	if (rc == PX_OK)
		rc = px_dialect_chunk(&st, big.p, big.len, &scratch, &out);
	if (rc == PX_OK)
		rc = px_dialect_end(&st, &out);
	T_CHECK(rc == PX_OK, "overflow: callbacks succeed");
	T_CHECK(st.overflow, "overflow: flagged");
	evs_parse(&e, out.p, out.len);
	T_CHECK(e.framing_ok && e.seq_ok && e.n == 10, "overflow: 10 events");
	T_STREQ(e.n ? jstr(e.ev[e.n - 1], "type") : NULL,
	    "response.incomplete", "overflow: response.incomplete");
	T_STREQ(e.n ? jstr(e.ev[e.n - 1],
	    "response.incomplete_details.reason") : NULL,
	    "max_output_tokens", "overflow: reason");
	T_CHECK(e.n == 10 && strlen(jstr(e.ev[5], "delta")) == half,
	    "overflow: the second delta still sent whole");
	T_CHECK(e.n == 10 && jstr(e.ev[9], "response.output.0.content.0.text")
	    != NULL && strlen(jstr(e.ev[9], "response.output.0.content.0."
	    "text")) == half, "overflow: the text that fit is kept");
	T_STREQ(e.n == 10 ? jstr(e.ev[9], "response.output.0.status") : NULL,
	    "incomplete", "overflow: the kept item is incomplete");
	evs_free(&e);
	px_buf_free(&big);
	px_buf_free(&chat);
}

/* --- encode: non-stream --------------------------------------------------- */

#define COMPLETION(msg, fin, usage) "{'id':'x','object':'chat.completion'," \
		"'created':1,'model':'up','choices':[{'index':0,'message':" \
		"{'role':'assistant'," msg "},'finish_reason':'" fin "'}]" usage "}"
#define BUSAGE	",'usage':{'prompt_tokens':42,'completion_tokens':17," \
		"'total_tokens':59}"

/* Decode req with uid, then one canonical completion -> the object. */
static cJSON *
body_of(const char *req, const char *uid, const char *completion)
{
	struct px_dctx c = { uid, NOW, 0 };
	struct px_buf chat;
	struct px_verr err;
	size_t n;
	char *p = q(req, &n);
	enum px_err rc;

	px_buf_init(&chat, 1u << 20);
	px_dstate_reset(&st, R);
	rc = R->decode(p, n, &c, &st, &chat, &err);
	free(p);
	p = q(completion, &n);
	px_buf_reset(&out);
	if (rc == PX_OK)
		rc = px_dialect_body(&st, p, n, &out);
	free(p);
	px_buf_free(&chat);
	return rc == PX_OK ? cJSON_ParseWithLength(out.p, out.len) : NULL;
}

static void
test_body_doc(void)
{
	size_t n;
	char *doc = load(FX "body_text_tool.json", &n);
	cJSON *want = doc ? cJSON_Parse(doc) : NULL, *got;

	got = body_of("{'model':'gemini-2.5-flash','input':'hi'}", DOC_UID,
	    COMPLETION("'content':'Checking the weather.','tool_calls':[{"
	    "'id':'call_0','type':'function','function':{'name':"
	    "'get_weather','arguments':'{\\'city\\':\\'Oslo\\'}'}}]",
	    "tool_calls", BUSAGE));
	T_CHECK(want != NULL, "body fixture loads");
	T_CHECK(got != NULL && want != NULL && cJSON_Compare(got, want, 1),
	    "non-stream: the §A.2 object");
	if (got != NULL && want != NULL && !cJSON_Compare(got, want, 1))
		printf("# got %.*s\n", (int)out.len, out.p);
	T_CHECK(out.p != NULL && strncmp(out.p, "{\"id\"", 5) == 0,
	    "non-stream: no events, only the object");
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(doc);
}

static void
test_body_cases(void)
{
	cJSON *j;

	j = body_of(SREQ_R, UID, COMPLETION("'content':'A','reasoning':'R',"
	    "'refusal':null", "length", ",'usage':{'prompt_tokens':1,"
	    "'completion_tokens':2,'total_tokens':3,'prompt_tokens_details':"
	    "{'cached_tokens':1},'completion_tokens_details':"
	    "{'reasoning_tokens':2}}"));
	T_CHECK(output_is(j, "reasoning message"), "body: reasoning first");
	T_STREQ(jstr(j, "status"), "incomplete", "body: length incomplete");
	T_STREQ(jstr(j, "incomplete_details.reason"), "max_output_tokens",
	    "body: reason");
	T_STREQ(jstr(j, "output.1.status"), "incomplete", "body: last item "
	    "incomplete");
	T_STREQ(jstr(j, "output.0.status"), "completed", "body: earlier "
	    "item completed");
	T_CHECK(jnum(j, "usage.input_tokens_details.cached_tokens") == 1 &&
	    jnum(j, "usage.output_tokens_details.reasoning_tokens") == 2,
	    "body: usage details");
	cJSON_Delete(j);
	j = body_of(SREQ_C, UID, COMPLETION("'content':null,'tool_calls':[{"
	    "'id':'c1','type':'function','function':{'name':'apply_patch',"
	    "'arguments':'{\\'input\\':\\'x\\\\ny\\'}'}},{'id':'c2','type':"
	    "'function','function':{'name':'f','arguments':'{}'}}]",
	    "tool_calls", ""));
	T_CHECK(output_is(j, "custom_tool_call function_call"),
	    "body: custom call then function call");
	T_STREQ(jstr(j, "output.0.input"), "x\ny", "body: custom input");
	T_STREQ(jstr(j, "output.1.id"), "fc_" UID "_1", "body: fc id");
	T_CHECK(jnum(j, "usage.total_tokens") == 0, "body: usage zeros");
	cJSON_Delete(j);
	j = body_of(SREQ, UID, COMPLETION("'content':''", "stop", ""));
	T_CHECK(j != NULL && jsize(j, "output") == 0 &&
	    t_streq(jstr(j, "status"), "completed"),
	    "body: empty answer -> output [] completed");
	cJSON_Delete(j);
	j = body_of(SREQ, UID, COMPLETION("'content':null,'refusal':'No.'",
	    "stop", ""));
	T_STREQ(jstr(j, "output.0.content.0.text"), "No.",
	    "body: refusal as output_text");
	cJSON_Delete(j);
}

int
main(void)
{
	R = px_dialect_get(PX_DIALECT_RESPONSES);
	if (R == NULL || R->decode == NULL || R->open == NULL ||
	    R->text == NULL || R->reasoning == NULL || R->call_start == NULL ||
	    R->call_args == NULL || R->finish == NULL || R->fail == NULL ||
	    R->body == NULL || R->error == NULL) {
		printf("not ok - the responses table is incomplete\n");
		return 1;
	}
	T_STREQ(R->name, "responses", "table name");
	px_dstate_init(&st);
	px_buf_init(&out, (size_t)PX_DKEEP_MAX * 4);
	px_buf_init(&scratch, (size_t)PX_DKEEP_MAX * 2);
	test_decode_vectors();
	test_decode_codex();
	test_decode_codex_turn();
	test_decode_defaults();
	test_decode_limits();
	test_error();
	test_stream_table();
	test_stream_doc();
	test_stream_details();
	test_stream_endings();
	test_stream_overflow();
	test_body_doc();
	test_body_cases();
	px_dstate_free(&st);
	px_buf_free(&out);
	px_buf_free(&scratch);
	return t_done();
}
