/*
 * test_dialect_messages.c -- the Anthropic Messages dialect
 * (dialect_messages.c) through its table and the engine (dialect.c):
 * request decode vectors (exact canonical requests, errors by param),
 * count_tokens, the stream state machine fed canonical chunks, the
 * non-stream body, error shapes and the request-id header. Wire facts
 * from docs/client-apis.md Part B; fixtures in tests/fixtures/messages/
 * are its examples verbatim. Every decode body sits in an exact-size heap
 * block (ASan catches reads past len), every accepted canonical request
 * is run through px_validate_chat, and every emitted event is parsed
 * back, its event: line checked against its JSON type.
 * Runs with cwd = repo root (tests/run.sh).
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "dialect_messages.h"
#include "tharness.h"
#include "validate.h"

#define UID	"0123456789abcdef01234567"
#define MSG_ID	"msg_" UID

static const struct px_dctx ctx = { UID, 1700000000, 100000 };

/* --- helpers --------------------------------------------------------------- */

/* s with every ' turned into ", in an exact-size heap block (no NUL). */
static char *
q(const char *s, size_t *len)
{
	size_t i, n = strlen(s);
	char *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		abort();
	for (i = 0; i < n; i++)
		p[i] = s[i] == '\'' ? '"' : s[i];
	*len = n;
	return p;
}

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
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p != NULL && fread(p, 1, (size_t)n, f) == (size_t)n) {
			p[n] = '\0';
			*len = (size_t)n;
		} else {
			free(p);
			p = NULL;
		}
	}
	fclose(f);
	return p;
}

static cJSON *
load_json(const char *path)
{
	size_t n;
	char *p = read_file(path, &n);
	cJSON *j = p != NULL ? cJSON_ParseWithLength(p, n) : NULL;

	free(p);
	return j;
}

/* "a.b.0.c": object keys and array indices; NULL when absent. */
static const cJSON *
jpath(const cJSON *j, const char *path)
{
	char seg[64];
	size_t n;

	while (j != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (seg[0] >= '0' && seg[0] <= '9')
			j = cJSON_GetArrayItem(j, atoi(seg));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, seg);
	}
	return j;
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

	return cJSON_IsNumber(v) ? v->valuedouble : -999;
}

static int
same_json(const cJSON *got, const cJSON *want, const char *name)
{
	char *g, *w;

	if (got != NULL && want != NULL && cJSON_Compare(got, want, 1))
		return 1;
	g = got != NULL ? cJSON_PrintUnformatted(got) : NULL;
	w = want != NULL ? cJSON_PrintUnformatted(want) : NULL;
	printf("# %s\n#  got:  %s\n#  want: %s\n", name, g ? g : "(null)",
	    w ? w : "(null)");
	free(g);
	free(w);
	return 0;
}

struct fx {
	struct px_dstate st;
	struct px_buf    chat, out, scratch;
	struct px_verr   err;
};

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	px_dstate_init(&f->st);
	px_buf_init(&f->chat, 1u << 24);
	px_buf_init(&f->out, 1u << 24);
	px_buf_init(&f->scratch, 1u << 20);
}

static void
fx_free(struct fx *f)
{
	px_dstate_free(&f->st);
	px_buf_free(&f->chat);
	px_buf_free(&f->out);
	px_buf_free(&f->scratch);
}

static const struct px_dialect *
dm(void)
{
	return px_dialect_get(PX_DIALECT_MESSAGES);
}

/* Decode body (' for ") into f->chat; the canonical tree or NULL. */
static enum px_err
fx_decode(struct fx *f, const char *body, int quote)
{
	size_t n;
	char *p = quote ? q(body, &n) : NULL;
	enum px_err rc;

	px_dstate_reset(&f->st, dm());
	if (!quote) {
		n = strlen(body);
		p = malloc(n > 0 ? n : 1);
		if (p == NULL)
			abort();
		memcpy(p, body, n);
	}
	rc = dm()->decode(p, n, &ctx, &f->st, &f->chat, &f->err);
	free(p);
	return rc;
}

static int
chat_valid(const struct fx *f)
{
	struct px_chat_req rq;
	struct px_verr err;
	enum px_err rc = px_validate_chat(f->chat.p, f->chat.len, &rq, &err);

	if (rc != PX_OK)
		printf("# canonical request invalid: %s\n#  %s\n", err.msg,
		    f->chat.p);
	px_chat_req_free(&rq);
	return rc == PX_OK;
}

/* --- decode vectors -------------------------------------------------------- */

#define HEAD	"{'model':'m','max_tokens':5,"
#define U(x)	"{'role':'user','content':" x "}"
#define A(x)	"{'role':'assistant','content':" x "}"
#define BODY(x)	HEAD "'messages':[" x "]}"
#define CHAT(x)	"{'model':'m','max_tokens':5,'messages':[" x "]}"
#define UHI	U("'hi'")
#define TU(id)	"{'type':'tool_use','id':'" id "','name':'f','input':{'a':1}}"
#define TR(id, c) "{'type':'tool_result','tool_use_id':'" id "','content':" c "}"
#define CALL(id) "{'id':'" id "','type':'function','function':{'name':'f'," \
		"'arguments':'{\\'a\\':1}'}}"
#define AC(x)	"{'role':'assistant','content':null,'tool_calls':[" x "]}"
#define TOOL(id, c) "{'role':'tool','tool_call_id':'" id "','content':'" c "'}"
#define TOOLDEF	"{'name':'f','input_schema':{'type':'object'}}"
#define FNDEF	"{'type':'function','function':{'name':'f'," \
		"'parameters':{'type':'object'}}}"
#define WITH(x)	HEAD "'messages':[" UHI "]," x "}"
#define CWITH(x) "{'model':'m','max_tokens':5,'messages':[{'role':'user'," \
		"'content':'hi'}]," x "}"
#define PNG	"{'type':'image','source':{'type':'base64'," \
		"'media_type':'image/png','data':'iVBO'}}"
#define PNGPART	"{'type':'image_url','image_url':{'url':" \
		"'data:image/png;base64,iVBO'}}"

struct dvec {
	const char *name;
	const char *body;
	enum px_err rc;
	const char *param;	/* err.param on failure */
	const char *msg;	/* substring of err.msg, or NULL */
	const char *want;	/* exact canonical request, or NULL */
	unsigned    flags;	/* st.flags after an accepted decode */
};

static const struct dvec dvecs[] = {
	/* --- accepted: the canonical request, exactly --- */
	{ "minimal", BODY(UHI), PX_OK, "", NULL, CHAT("{'role':'user',"
	  "'content':'hi'}"), 0 },
	{ "stream asks for usage", HEAD "'stream':true,'messages':[" UHI "]}",
	  PX_OK, "", NULL, "{'model':'m','max_tokens':5,'stream':true,"
	  "'stream_options':{'include_usage':true},'messages':[{'role':"
	  "'user','content':'hi'}]}", 0 },
	{ "stream false", HEAD "'stream':false,'messages':[" UHI "]}",
	  PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'}"), 0 },
	{ "system string", HEAD "'system':'be brief','messages':[" UHI "]}",
	  PX_OK, "", NULL, CHAT("{'role':'system','content':'be brief'},"
	  "{'role':'user','content':'hi'}"), 0 },
	{ "system blocks joined, cache_control ignored", HEAD "'system':["
	  "{'type':'text','text':'a'},{'type':'text','text':'','cache_control'"
	  ":{'type':'ephemeral'}},{'type':'text','text':'b','cache_control':"
	  "{'type':'ephemeral','ttl':'1h'}}],'messages':[" UHI "]}", PX_OK,
	  "", NULL, CHAT("{'role':'system','content':'a\\n\\nb'},"
	  "{'role':'user','content':'hi'}"), 0 },
	{ "empty system dropped", HEAD "'system':'','messages':[" UHI "]}",
	  PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'}"), 0 },
	{ "system role in place", BODY(UHI ",{'role':'system','content':"
	  "[{'type':'text','text':'s1'},{'type':'text','text':'s2'}]}," UHI),
	  PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'},{'role':"
	  "'system','content':'s1\\n\\ns2'},{'role':'user','content':'hi'}"),
	  0 },
	{ "empty string content skipped", BODY(U("''") "," UHI), PX_OK, "",
	  NULL, CHAT("{'role':'user','content':'hi'}"), 0 },
	{ "user blocks: text, images, documents", BODY(U("[{'type':'text',"
	  "'text':'look'},{'type':'text','text':''}," PNG ",{'type':'image',"
	  "'source':{'type':'url','url':'https://x/i.png'}},{'type':"
	  "'document','source':{'type':'base64','media_type':"
	  "'application/pdf','data':'JVBE'},'title':'t'},{'type':'document',"
	  "'source':{'type':'text','media_type':'text/plain','data':'doc'}},"
	  "{'type':'search_result','source':'s','title':'T','content':["
	  "{'type':'text','text':'r1'},{'type':'text','text':'r2'}]}]")),
	  PX_OK, "", NULL, CHAT("{'role':'user','content':[{'type':'text',"
	  "'text':'look'}," PNGPART ",{'type':'image_url','image_url':"
	  "{'url':'https://x/i.png'}},{'type':'file','file':{'filename':"
	  "'document.pdf','file_data':'data:application/pdf;base64,JVBE'}},"
	  "{'type':'text','text':'doc'},{'type':'text','text':'T\\nr1\\nr2'}"
	  "]}"), 0 },
	{ "only empty text blocks: message dropped", BODY(U("[{'type':"
	  "'text','text':''}]") "," UHI), PX_OK, "", NULL,
	  CHAT("{'role':'user','content':'hi'}"), 0 },
	{ "assistant: texts joined, thinking dropped, tool_use kept",
	  BODY(UHI "," A("[{'type':'thinking','thinking':'secret',"
	  "'signature':'sig'},{'type':'text','text':'x'},{'type':"
	  "'redacted_thinking','data':'r'},{'type':'text','text':'y'},"
	  TU("toolu_1") ",{'type':'server_tool_use','id':'s','name':"
	  "'web_search','input':{}},{'type':'web_search_tool_result',"
	  "'tool_use_id':'s','content':[]}]") "," U("[" TR("toolu_1",
	  "'ok'") "]")), PX_OK, "", NULL, CHAT("{'role':'user','content':"
	  "'hi'},{'role':'assistant','content':'x\\n\\ny','tool_calls':["
	  CALL("toolu_1") "]}," TOOL("toolu_1", "ok")), 0 },
	{ "assistant string content", BODY(UHI "," A("'yes'") "," UHI),
	  PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'},"
	  "{'role':'assistant','content':'yes'},{'role':'user','content':"
	  "'hi'}"), 0 },
	{ "assistant only thinking: dropped", BODY(UHI "," A("[{'type':"
	  "'thinking','thinking':'t','signature':'s'}]") "," UHI), PX_OK, "",
	  NULL, CHAT("{'role':'user','content':'hi'},{'role':'user',"
	  "'content':'hi'}"), 0 },
	{ "tool_use without input: {}", BODY(UHI "," A("[{'type':"
	  "'tool_use','id':'c1','name':'f'}]") "," U("[" TR("c1", "'r'")
	  "]")), PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'},"
	  AC("{'id':'c1','type':'function','function':{'name':'f',"
	  "'arguments':'{}'}}") "," TOOL("c1", "r")), 0 },
	{ "tool results: string, blocks, error, empty, order",
	  BODY(UHI "," A("[" TU("a") "," TU("b") "," TU("c") "]") ","
	  U("[{'type':'text','text':'after'}," TR("a", "[{'type':'text',"
	  "'text':'l1'},{'type':'text','text':'l2'}]") ",{'type':"
	  "'tool_result','tool_use_id':'b','content':'bad','is_error':true},"
	  "{'type':'tool_result','tool_use_id':'c'}]")), PX_OK, "", NULL,
	  CHAT("{'role':'user','content':'hi'}," AC(CALL("a") "," CALL("b")
	  "," CALL("c")) "," TOOL("a", "l1\\nl2") "," TOOL("b", "Error: bad")
	  "," TOOL("c", "(no output)") ",{'role':'user','content':[{'type':"
	  "'text','text':'after'}]}"), 0 },
	{ "image in a tool result: a user message after the tools",
	  BODY(UHI "," A("[" TU("a") "]") "," U("[" TR("a", "[" PNG "]")
	  "]")), PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'},"
	  AC(CALL("a")) "," TOOL("a", "(attached below)") ",{'role':'user',"
	  "'content':[" PNGPART "]}"), 0 },
	{ "repair: a call without result is aborted", BODY(UHI ","
	  A("[" TU("a") "," TU("b") "]") "," U("[" TR("b", "'r'") "]")),
	  PX_OK, "", NULL, CHAT("{'role':'user','content':'hi'},"
	  AC(CALL("a") "," CALL("b")) "," TOOL("b", "r") ","
	  TOOL("a", "aborted: no result")), 0 },
	{ "repair: results moved before a user text", BODY(UHI ","
	  A("[" TU("a") "]") "," UHI "," U("[" TR("a", "'late'") "]")), PX_OK,
	  "", NULL, CHAT("{'role':'user','content':'hi'}," AC(CALL("a")) ","
	  TOOL("a", "late") ",{'role':'user','content':'hi'}"), 0 },
	{ "tools: client kept, server dropped, extras dropped",
	  WITH("'tools':[{'name':'f','description':'d','input_schema':{"
	  "'type':'object'},'cache_control':{'type':'ephemeral'},"
	  "'defer_loading':true,'eager_input_streaming':true,"
	  "'input_examples':[],'allowed_callers':['direct'],'strict':true},"
	  "{'type':'custom','name':'g','input_schema':{}},{'type':"
	  "'web_search_20250305','name':'web_search','max_uses':5},"
	  "{'type':'bash_20250124','name':'bash'}]"), PX_OK, "", NULL,
	  CWITH("'tools':[{'type':'function','function':{'name':'f',"
	  "'description':'d','parameters':{'type':'object'}}},{'type':"
	  "'function','function':{'name':'g','parameters':{}}}]"), 0 },
	{ "only server tools: no tools, no tool_choice", WITH("'tools':["
	  "{'type':'web_fetch_20250910','name':'web_fetch'}],'tool_choice':"
	  "{'type':'auto'}"), PX_OK, "", NULL, CWITH("'x':0") , 0 },
	{ "tool_choice auto + disable_parallel false", WITH("'tools':["
	  TOOLDEF "],'tool_choice':{'type':'auto','disable_parallel_tool_use'"
	  ":false}"), PX_OK, "", NULL, CWITH("'tools':[" FNDEF "],"
	  "'tool_choice':'auto','parallel_tool_calls':true"), 0 },
	{ "tool_choice any + disable_parallel", WITH("'tools':[" TOOLDEF "],"
	  "'tool_choice':{'type':'any','disable_parallel_tool_use':true}"),
	  PX_OK, "", NULL, CWITH("'tools':[" FNDEF "],'tool_choice':"
	  "'required','parallel_tool_calls':false"), 0 },
	{ "tool_choice tool", WITH("'tools':[" TOOLDEF "],'tool_choice':{"
	  "'type':'tool','name':'f'}"), PX_OK, "", NULL, CWITH("'tools':["
	  FNDEF "],'tool_choice':{'type':'function','function':{'name':"
	  "'f'}}"), 0 },
	{ "tool_choice none", WITH("'tools':[" TOOLDEF "],'tool_choice':{"
	  "'type':'none'}"), PX_OK, "", NULL, CWITH("'tools':[" FNDEF "],"
	  "'tool_choice':'none'"), 0 },
	{ "tool_choice naming a server tool: dropped", WITH("'tools':["
	  TOOLDEF ",{'type':'web_search_20250305','name':'web_search'}],"
	  "'tool_choice':{'type':'tool','name':'web_search'}"), PX_OK, "",
	  NULL, CWITH("'tools':[" FNDEF "]"), 0 },
	{ "stop_sequences: first 4", WITH("'stop_sequences':['a','b','c',"
	  "'d','e']"), PX_OK, "", NULL, CWITH("'stop':['a','b','c','d']"), 0 },
	{ "stop_sequences empty", WITH("'stop_sequences':[]"), PX_OK, "",
	  NULL, CWITH("'x':0"), 0 },
	{ "sampling copied, top_k dropped", WITH("'temperature':0.5,"
	  "'top_p':0.9,'top_k':40"), PX_OK, "", NULL, CWITH("'temperature':"
	  "0.5,'top_p':0.9"), 0 },
	{ "nulls are absent", WITH("'temperature':null,'system':null,"
	  "'tools':null,'tool_choice':null,'metadata':null,'thinking':null,"
	  "'stream':null,'stop_sequences':null"), PX_OK, "", NULL,
	  CWITH("'x':0"), 0 },
	{ "unknown fields ignored", WITH("'container':'c',"
	  "'context_management':{'edits':[]},'mcp_servers':[],"
	  "'service_tier':'auto','cache_control':{'type':'ephemeral'},"
	  "'speed':'fast','inference_geo':'us','diagnostics':{}"), PX_OK, "",
	  NULL, CWITH("'x':0"), 0 },
	{ "thinking enabled 1024: low", WITH("'thinking':{'type':'enabled',"
	  "'budget_tokens':1024}"), PX_OK, "", NULL,
	  CWITH("'reasoning_effort':'low'"), PX_DF_REASONING },
	{ "thinking enabled 4096: medium", WITH("'thinking':{'type':"
	  "'enabled','budget_tokens':4096}"), PX_OK, "", NULL,
	  CWITH("'reasoning_effort':'medium'"), PX_DF_REASONING },
	{ "thinking enabled 16383: medium", WITH("'thinking':{'type':"
	  "'enabled','budget_tokens':16383}"), PX_OK, "", NULL,
	  CWITH("'reasoning_effort':'medium'"), PX_DF_REASONING },
	{ "thinking enabled 16384: high", WITH("'thinking':{'type':"
	  "'enabled','budget_tokens':16384,'display':'summarized'}"), PX_OK,
	  "", NULL, CWITH("'reasoning_effort':'high'"), PX_DF_REASONING },
	{ "adaptive + effort max: high", WITH("'thinking':{'type':"
	  "'adaptive'},'output_config':{'effort':'max'}"), PX_OK, "", NULL,
	  CWITH("'reasoning_effort':'high'"), PX_DF_REASONING },
	{ "adaptive + effort low", WITH("'thinking':{'type':'adaptive'},"
	  "'output_config':{'effort':'low'}"), PX_OK, "", NULL,
	  CWITH("'reasoning_effort':'low'"), PX_DF_REASONING },
	{ "adaptive without effort: omitted", WITH("'thinking':{'type':"
	  "'adaptive'}"), PX_OK, "", NULL, CWITH("'x':0"), PX_DF_REASONING },
	{ "disabled: omitted, no thinking blocks", WITH("'thinking':{'type':"
	  "'disabled'},'output_config':{'effort':'high'}"), PX_OK, "", NULL,
	  CWITH("'x':0"), 0 },
	{ "effort alone", WITH("'output_config':{'effort':'xhigh'}"), PX_OK,
	  "", NULL, CWITH("'reasoning_effort':'high'"), 0 },
	{ "output_config.format: json_schema", WITH("'output_config':{"
	  "'format':{'type':'json_schema','schema':{'type':'object'}}}"),
	  PX_OK, "", NULL, CWITH("'response_format':{'type':'json_schema',"
	  "'json_schema':{'name':'output','schema':{'type':'object'},"
	  "'strict':true}}"), 0 },
	{ "short user_id kept", WITH("'metadata':{'user_id':'u1'}"), PX_OK,
	  "", NULL, CWITH("'user':'u1'"), 0 },
	{ "empty user_id dropped", WITH("'metadata':{'user_id':''}"), PX_OK,
	  "", NULL, CWITH("'x':0"), 0 },

	/* --- the body --- */
	{ "not JSON", "{'model':", PX_EBADREQ, "", "not valid JSON", NULL, 0 },
	{ "empty body", "", PX_EBADREQ, "", "not valid JSON (at byte 0)",
	  NULL, 0 },
	{ "invalid UTF-8", "{'model':'\xC0\x80'}", PX_EBADREQ, "",
	  "not valid UTF-8 (at byte 10)", NULL, 0 },
	{ "raw control byte", "{'model':'\x01'}", PX_EBADREQ, "",
	  "not valid JSON (at byte 10)", NULL, 0 },
	{ "byte order mark", "\xEF\xBB\xBF" BODY(UHI), PX_EBADREQ, "",
	  "not valid JSON (at byte 0)", NULL, 0 },
	{ "trailing data", BODY(UHI) " x", PX_EBADREQ, "",
	  "unexpected data after the JSON value", NULL, 0 },
	{ "array", "[]", PX_EBADREQ, "", "must be a JSON object", NULL, 0 },

	/* --- top level --- */
	{ "missing model", "{'max_tokens':5,'messages':[" UHI "]}",
	  PX_EBADREQ, "model", "model: required", NULL, 0 },
	{ "empty model", "{'model':'','max_tokens':5,'messages':[" UHI "]}",
	  PX_EBADREQ, "model", "non-empty", NULL, 0 },
	{ "missing max_tokens", "{'model':'m','messages':[" UHI "]}",
	  PX_EBADREQ, "max_tokens", "max_tokens: required", NULL, 0 },
	{ "max_tokens 0", "{'model':'m','max_tokens':0,'messages':[" UHI
	  "]}", PX_EBADREQ, "max_tokens", "got 0", NULL, 0 },
	{ "max_tokens fraction", "{'model':'m','max_tokens':1.5,'messages':["
	  UHI "]}", PX_EBADREQ, "max_tokens", NULL, NULL, 0 },
	{ "max_tokens string", "{'model':'m','max_tokens':'5','messages':["
	  UHI "]}", PX_EBADREQ, "max_tokens", "expected number", NULL, 0 },
	{ "stream string", HEAD "'stream':'yes','messages':[" UHI "]}",
	  PX_EBADREQ, "stream", NULL, NULL, 0 },
	{ "messages missing", HEAD "'x':1}", PX_EBADREQ, "messages",
	  "required", NULL, 0 },
	{ "messages empty", BODY(""), PX_EBADREQ, "messages", "non-empty",
	  NULL, 0 },
	{ "nothing with content", BODY(U("''")), PX_EBADREQ, "messages",
	  "no message has any content", NULL, 0 },
	{ "message not an object", BODY(UHI ",7"), PX_EBADREQ, "messages[1]",
	  "expected object", NULL, 0 },
	{ "role bot", BODY("{'role':'bot','content':'x'}"), PX_EBADREQ,
	  "messages[0].role", "one of user, assistant, system; got \"bot\"",
	  NULL, 0 },
	{ "content missing", BODY("{'role':'user'}"), PX_EBADREQ,
	  "messages[0].content", "required", NULL, 0 },
	{ "content number", BODY(U("1")), PX_EBADREQ, "messages[0].content",
	  "expected string or array", NULL, 0 },

	/* --- blocks --- */
	{ "unknown block type", BODY(UHI "," U("[{'type':'text','text':'a'},"
	  "{'type':'audio'}]")), PX_EBADREQ, "messages[1].content[1].type",
	  "got \"audio\"", NULL, 0 },
	{ "block without type", BODY(U("[{'text':'a'}]")), PX_EBADREQ,
	  "messages[0].content[0].type", "required", NULL, 0 },
	{ "block not an object", BODY(U("['a']")), PX_EBADREQ,
	  "messages[0].content[0]", "expected object", NULL, 0 },
	{ "text block without text", BODY(U("[{'type':'text'}]")),
	  PX_EBADREQ, "messages[0].content[0].text", "required", NULL, 0 },
	{ "image in an assistant message", BODY(UHI "," A("[" PNG "]")),
	  PX_EBADREQ, "messages[1].content[0].type", "got \"image\"", NULL,
	  0 },
	{ "tool_use in a user message", BODY(U("[" TU("a") "]")), PX_EBADREQ,
	  "messages[0].content[0].type", "got \"tool_use\"", NULL, 0 },
	{ "tool_result in an assistant message", BODY(UHI "," A("["
	  TR("a", "'x'") "]")), PX_EBADREQ, "messages[1].content[0].type",
	  NULL, NULL, 0 },
	{ "image file source", BODY(U("[{'type':'image','source':{'type':"
	  "'file','file_id':'f'}}]")), PX_EBADREQ,
	  "messages[0].content[0].source.type", "file sources are not "
	  "supported", NULL, 0 },
	{ "image source unknown", BODY(U("[{'type':'image','source':{"
	  "'type':'bytes'}}]")), PX_EBADREQ,
	  "messages[0].content[0].source.type", "one of base64, url", NULL,
	  0 },
	{ "image without source", BODY(U("[{'type':'image'}]")), PX_EBADREQ,
	  "messages[0].content[0].source", "required", NULL, 0 },
	{ "image base64 without data", BODY(U("[{'type':'image','source':{"
	  "'type':'base64','media_type':'image/png'}}]")), PX_EBADREQ,
	  "messages[0].content[0].source.data", "required", NULL, 0 },
	{ "document url", BODY(U("[{'type':'document','source':{'type':"
	  "'url','url':'https://x/a.pdf'}}]")), PX_EBADREQ,
	  "messages[0].content[0].source.type", "got \"url\"", NULL, 0 },
	{ "document base64 not PDF", BODY(U("[{'type':'document','source':{"
	  "'type':'base64','media_type':'image/png','data':'x'}}]")),
	  PX_EBADREQ, "messages[0].content[0].source.media_type",
	  "application/pdf", NULL, 0 },
	{ "tool_use without id", BODY(UHI "," A("[{'type':'tool_use',"
	  "'name':'f','input':{}}]")), PX_EBADREQ,
	  "messages[1].content[0].id", "required", NULL, 0 },
	{ "tool_use empty name", BODY(UHI "," A("[{'type':'tool_use',"
	  "'id':'a','name':'','input':{}}]")), PX_EBADREQ,
	  "messages[1].content[0].name", "non-empty", NULL, 0 },
	{ "tool_use input not an object", BODY(UHI "," A("[{'type':"
	  "'tool_use','id':'a','name':'f','input':[1]}]")), PX_EBADREQ,
	  "messages[1].content[0].input", "expected object", NULL, 0 },
	{ "tool_result with no earlier tool_use", BODY(U("[" TR("nope",
	  "'x'") "]")), PX_EBADREQ, "messages[0].content[0].tool_use_id",
	  "no earlier tool_use", NULL, 0 },
	{ "tool_result id of a later message", BODY(UHI "," A("[" TU("a")
	  "]") "," U("[" TR("a", "'x'") "," TR("b", "'y'") "]")), PX_EBADREQ,
	  "messages[2].content[1].tool_use_id", NULL, NULL, 0 },
	{ "tool_result without tool_use_id", BODY(U("[{'type':"
	  "'tool_result','content':'x'}]")), PX_EBADREQ,
	  "messages[0].content[0].tool_use_id", "required", NULL, 0 },
	{ "tool_result content block unknown", BODY(UHI "," A("[" TU("a")
	  "]") "," U("[" TR("a", "[{'type':'audio'}]") "]")), PX_EBADREQ,
	  "messages[2].content[0].content[0].type", "got \"audio\"", NULL,
	  0 },
	{ "tool_result content number", BODY(UHI "," A("[" TU("a") "]") ","
	  U("[" TR("a", "5") "]")), PX_EBADREQ,
	  "messages[2].content[0].content", NULL, NULL, 0 },
	{ "system role with an image", BODY("{'role':'system','content':["
	  PNG "]}"), PX_EBADREQ, "messages[0].content[0].type",
	  "expected \"text\"", NULL, 0 },

	/* --- the other fields --- */
	{ "system number", HEAD "'system':1,'messages':[" UHI "]}",
	  PX_EBADREQ, "system", NULL, NULL, 0 },
	{ "system image block", HEAD "'system':[" PNG "],'messages':[" UHI
	  "]}", PX_EBADREQ, "system[0].type", NULL, NULL, 0 },
	{ "tools object", WITH("'tools':{}"), PX_EBADREQ, "tools", NULL, NULL,
	  0 },
	{ "tool name with a space", WITH("'tools':[{'name':'a b'}]"),
	  PX_EBADREQ, "tools[0].name", "1 to 64 characters", NULL, 0 },
	{ "tool name of 65", WITH("'tools':[" TOOLDEF ",{'name':'"
	  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
	  "abcde'}]"), PX_EBADREQ, "tools[1].name", NULL, NULL, 0 },
	{ "tool without name", WITH("'tools':[{'input_schema':{}}]"),
	  PX_EBADREQ, "tools[0].name", "required", NULL, 0 },
	{ "tool type unknown", WITH("'tools':[{'type':'mcp','name':'x'}]"),
	  PX_EBADREQ, "tools[0].type", "got \"mcp\"", NULL, 0 },
	{ "input_schema string", WITH("'tools':[{'name':'f','input_schema':"
	  "'x'}]"), PX_EBADREQ, "tools[0].input_schema", NULL, NULL, 0 },
	{ "tool_choice type", WITH("'tools':[" TOOLDEF "],'tool_choice':{"
	  "'type':'function'}"), PX_EBADREQ, "tool_choice.type",
	  "one of auto, any, tool, none", NULL, 0 },
	{ "tool_choice tool without name", WITH("'tools':[" TOOLDEF "],"
	  "'tool_choice':{'type':'tool'}"), PX_EBADREQ, "tool_choice.name",
	  "required", NULL, 0 },
	{ "tool_choice string", WITH("'tool_choice':'auto'"), PX_EBADREQ,
	  "tool_choice", NULL, NULL, 0 },
	{ "stop_sequences number", WITH("'stop_sequences':['a',1]"),
	  PX_EBADREQ, "stop_sequences[1]", "expected string", NULL, 0 },
	{ "temperature 3", WITH("'temperature':3"), PX_EBADREQ, "temperature",
	  "from 0 to 2", NULL, 0 },
	{ "top_p string", WITH("'top_p':'x'"), PX_EBADREQ, "top_p", NULL,
	  NULL, 0 },
	{ "thinking type", WITH("'thinking':{'type':'on'}"), PX_EBADREQ,
	  "thinking.type", "got \"on\"", NULL, 0 },
	{ "thinking enabled without budget", WITH("'thinking':{'type':"
	  "'enabled'}"), PX_EBADREQ, "thinking.budget_tokens", "required",
	  NULL, 0 },
	{ "thinking budget negative", WITH("'thinking':{'type':'enabled',"
	  "'budget_tokens':-1}"), PX_EBADREQ, "thinking.budget_tokens", NULL,
	  NULL, 0 },
	{ "effort unknown", WITH("'thinking':{'type':'adaptive'},"
	  "'output_config':{'effort':'extreme'}"), PX_EBADREQ,
	  "output_config.effort", "got \"extreme\"", NULL, 0 },
	{ "format type", WITH("'output_config':{'format':{'type':"
	  "'json_object'}}"), PX_EBADREQ, "output_config.format.type", NULL,
	  NULL, 0 },
	{ "format without schema", WITH("'output_config':{'format':{'type':"
	  "'json_schema'}}"), PX_EBADREQ, "output_config.format.schema",
	  "required", NULL, 0 },
	{ "user_id number", WITH("'metadata':{'user_id':5}"), PX_EBADREQ,
	  "metadata.user_id", NULL, NULL, 0 },
};

static void
check_decode(const struct dvec *v)
{
	struct fx f;
	cJSON *got, *want;
	char what[160];
	enum px_err rc;

	fx_init(&f);
	rc = fx_decode(&f, v->body, 1);
	snprintf(what, sizeof(what), "decode %s: rc", v->name);
	T_CHECK(rc == v->rc, what);
	if (rc != v->rc)
		printf("# rc %d, err %s: %s\n", rc, f.err.param, f.err.msg);
	if (v->rc != PX_OK) {
		snprintf(what, sizeof(what), "decode %s: param", v->name);
		T_STREQ(f.err.param, v->param, what);
		snprintf(what, sizeof(what), "decode %s: msg", v->name);
		T_CHECK(strncmp(f.err.msg, v->param, strlen(v->param)) == 0 &&
		    (v->msg == NULL || strstr(f.err.msg, v->msg) != NULL), what);
	} else if (rc == PX_OK) {
		snprintf(what, sizeof(what), "decode %s: valid chat", v->name);
		T_CHECK(chat_valid(&f), what);
		got = cJSON_ParseWithLength(f.chat.p, f.chat.len);
		want = qparse(v->want);
		if (want != NULL)	/* a placeholder member: nothing else */
			cJSON_DeleteItemFromObjectCaseSensitive(want, "x");
		snprintf(what, sizeof(what), "decode %s: canonical", v->name);
		T_CHECK(same_json(got, want, v->name), what);
		snprintf(what, sizeof(what), "decode %s: flags", v->name);
		T_CHECK(f.st.flags == v->flags, what);
		cJSON_Delete(got);
		cJSON_Delete(want);
	}
	fx_free(&f);
}

static void
test_decode_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(dvecs) / sizeof(dvecs[0]); i++)
		check_decode(&dvecs[i]);
}

/* The request state decode fills. */
static void
test_decode_state(void)
{
	struct fx f;

	fx_init(&f);
	T_CHECK(fx_decode(&f, HEAD "'stream':true,'messages':[" UHI "]}", 1)
	    == PX_OK, "state: decode");
	T_STREQ(f.st.model, "m", "state: model echoed");
	T_STREQ(f.st.id, MSG_ID, "state: id msg_<uid>");
	T_CHECK(f.st.stream == 1, "state: stream");
	T_CHECK(f.st.created == 1700000000, "state: created from ctx");
	T_CHECK(f.st.flags == 0, "state: no flags");
	T_CHECK(fx_decode(&f, BODY(UHI), 1) == PX_OK && f.st.stream == 0,
	    "state: not streaming");
	fx_free(&f);
}

/* A user_id longer than 64: hashed, fixed, at most 64 characters. */
static void
test_decode_user_hash(void)
{
	static const char long_id[] = "user_3f2a9c0d1e2b3a4c5d6e7f8091a2b3c4"
	    "d5e6f708192a3b4c5d6e7f8091a2b3c4_account__session_0b1e4c2d";
	char body[512], first[80] = "";
	const char *u;
	cJSON *j;
	struct fx f;
	int i;

	fx_init(&f);
	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), WITH("'metadata':{'user_id':"
		    "'%s%s'}"), long_id, i == 2 ? "x" : "");
		T_CHECK(fx_decode(&f, body, 1) == PX_OK, "user hash: decode");
		j = cJSON_ParseWithLength(f.chat.p, f.chat.len);
		u = jstr(j, "user");
		T_CHECK(u != NULL && strlen(u) <= 64 && strlen(u) >= 16 &&
		    strstr(long_id, u) == NULL, "user hash: short, not the id");
		if (i == 0 && u != NULL)
			snprintf(first, sizeof(first), "%s", u);
		else if (i == 1)
			T_STREQ(u, first, "user hash: the same id, the same hash");
		else
			T_CHECK(u != NULL && strcmp(u, first) != 0,
			    "user hash: another id, another hash");
		cJSON_Delete(j);
	}
	fx_free(&f);
}

/* The value cap: counted before parsing, PX_ETOOBIG. */
static void
test_decode_value_cap(void)
{
	static const struct px_dctx small = { UID, 1, 8 };
	struct fx f;
	size_t n;
	char *p = q(BODY(UHI ",{'role':'user','content':[{'type':'text',"
	    "'text':'a'},{'type':'text','text':'b'}]}"), &n);

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	T_CHECK(dm()->decode(p, n, &small, &f.st, &f.chat, &f.err) ==
	    PX_ETOOBIG, "value cap: 413");
	T_CHECK(strstr(f.err.msg, "max_json_values") != NULL,
	    "value cap: says which setting");
	T_CHECK(dm()->decode(p, n, &ctx, &f.st, &f.chat, &f.err) == PX_OK,
	    "value cap: the default passes");
	free(p);
	fx_free(&f);
}

/* §B.2.3 -> exactly §B.7.2, but for the routed model (the client's here:
 * routing comes later) and the user id (kept: it is under 64). */
static void
test_decode_doc_example(void)
{
	size_t n;
	char *body = read_file("tests/fixtures/messages/doc_b23_request.json",
	    &n);
	cJSON *want = load_json("tests/fixtures/messages/doc_b72_chat.json");
	cJSON *got = NULL;
	struct fx f;

	fx_init(&f);
	T_CHECK(body != NULL && want != NULL, "doc example: fixtures read");
	if (body != NULL && want != NULL) {
		T_CHECK(fx_decode(&f, body, 0) == PX_OK, "doc example: decode");
		T_CHECK(chat_valid(&f), "doc example: valid chat");
		got = cJSON_ParseWithLength(f.chat.p, f.chat.len);
		cJSON_ReplaceItemInObjectCaseSensitive(want, "model",
		    cJSON_CreateString("claude-sonnet-4-6"));
		cJSON_ReplaceItemInObjectCaseSensitive(want, "user",
		    cJSON_CreateString("user_3f2a9c_account__session_0b1e"));
		T_CHECK(same_json(got, want, "doc example"),
		    "doc example: the canonical request of B.7.2");
		T_CHECK(f.st.flags == PX_DF_REASONING,
		    "doc example: adaptive thinking flags thinking blocks");
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(body);
	fx_free(&f);
}

/* Text of a canonical message: its string content or its text parts. */
static int
msg_contains(const cJSON *m, const char *s)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content"), *p;

	if (cJSON_IsString(c))
		return strstr(c->valuestring, s) != NULL;
	cJSON_ArrayForEach(p, c) {
		const char *t = jstr(p, "text");

		if (t != NULL && strstr(t, s) != NULL)
			return 1;
	}
	return 0;
}

static int
msg_matches(const cJSON *m, const cJSON *e)
{
	const char *contains = jstr(e, "contains"), *tcid;
	const cJSON *ids = jpath(e, "tool_calls"), *id;
	int i = 0;

	if (m == NULL || strcmp(jstr(m, "role") ? jstr(m, "role") : "",
	    jstr(e, "role") ? jstr(e, "role") : "-") != 0)
		return 0;
	if (contains != NULL && !msg_contains(m, contains))
		return 0;
	tcid = jstr(e, "tool_call_id");
	if (tcid != NULL && !t_streq(jstr(m, "tool_call_id"), tcid))
		return 0;
	cJSON_ArrayForEach(id, ids) {
		char path[40];

		snprintf(path, sizeof(path), "tool_calls.%d.id", i++);
		if (!t_streq(jstr(m, path), id->valuestring))
			return 0;
	}
	return ids == NULL || cJSON_GetArraySize(jpath(m, "tool_calls")) == i;
}

static void
check_fixture_expect(const cJSON *got, const cJSON *expect,
    const struct px_buf *chat)
{
	const cJSON *e, *name;
	int i = 0, ok = 1;

	T_CHECK(cJSON_GetArraySize(jpath(got, "messages")) ==
	    cJSON_GetArraySize(jpath(expect, "messages")),
	    "claude code fixture: message count");
	cJSON_ArrayForEach(e, jpath(expect, "messages"))
		ok &= msg_matches(cJSON_GetArrayItem(jpath(got, "messages"),
		    i++), e);
	T_CHECK(ok, "claude code fixture: every message as expected");
	i = 0;
	ok = cJSON_GetArraySize(jpath(got, "tools")) ==
	    cJSON_GetArraySize(jpath(expect, "tools"));
	cJSON_ArrayForEach(name, jpath(expect, "tools")) {
		char path[40];

		snprintf(path, sizeof(path), "tools.%d.function.name", i++);
		ok &= t_streq(jstr(got, path), name->valuestring);
	}
	T_CHECK(ok, "claude code fixture: client tools kept, web_search not");
	cJSON_ArrayForEach(name, jpath(expect, "absent"))
		T_CHECK(strstr(chat->p, name->valuestring) == NULL,
		    "claude code fixture: thinking kept out of the prompt");
	T_STREQ(jstr(got, "reasoning_effort"),
	    jstr(expect, "reasoning_effort"), "claude code fixture: effort");
	T_CHECK(jnum(got, "max_tokens") == jnum(expect, "max_tokens"),
	    "claude code fixture: max_tokens");
	T_CHECK(jstr(got, "user") != NULL && strlen(jstr(got, "user")) <= 64,
	    "claude code fixture: long user_id hashed");
}

/* A Claude Code turn as it sends it (tests/fixtures/, with expectations). */
static void
test_decode_claude_code(void)
{
	cJSON *fix = load_json("tests/fixtures/claude_code_messages.json");
	const cJSON *body = jpath(fix, "body");
	char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
	cJSON *got = NULL;
	struct fx f;

	fx_init(&f);
	T_CHECK(text != NULL, "claude code fixture: read");
	if (text != NULL) {
		T_CHECK(fx_decode(&f, text, 0) == PX_OK,
		    "claude code fixture: decode");
		T_CHECK(chat_valid(&f), "claude code fixture: valid chat");
		got = cJSON_ParseWithLength(f.chat.p, f.chat.len);
		check_fixture_expect(got, jpath(fix, "expect"), &f.chat);
	}
	cJSON_Delete(got);
	free(text);
	cJSON_Delete(fix);
	fx_free(&f);
}

/* --- count_tokens ---------------------------------------------------------- */

static long
count_of(struct fx *f, const char *body, int quote, enum px_err *rc)
{
	size_t n;
	char *p = quote ? q(body, &n) : strdup(body);
	cJSON *j;
	long v = -1;

	if (!quote)
		n = strlen(body);
	px_dstate_reset(&f->st, dm());
	*rc = px_messages_count(p, n, &ctx, &f->st, &f->chat, &f->err,
	    &f->out);
	free(p);
	if (*rc != PX_OK)
		return -1;
	j = cJSON_ParseWithLength(f->out.p, f->out.len);
	if (cJSON_GetArraySize(j) == 1 && jnum(j, "input_tokens") >= 0)
		v = (long)jnum(j, "input_tokens");
	cJSON_Delete(j);
	return v;
}

/* The estimate of the canonical request, computed independently. */
static long
expected_count(const struct fx *f)
{
	struct px_chat_req rq;
	long n = -2;

	if (px_validate_chat(f->chat.p, f->chat.len, &rq, NULL) == PX_OK)
		n = px_dialect_estimate(rq.prompt_bytes);
	px_chat_req_free(&rq);
	return n;
}

static void
test_count(void)
{
	cJSON *fix = load_json("tests/fixtures/claude_code_count_tokens.json");
	char *cc = cJSON_PrintUnformatted(jpath(fix, "body"));
	enum px_err rc;
	struct fx f;
	long n;

	fx_init(&f);
	n = count_of(&f, "{'model':'m','messages':[{'role':'user','content':"
	    "'abcdefgh'}]}", 1, &rc);
	T_CHECK(rc == PX_OK && n == 2, "count: 8 bytes -> 2 tokens, no "
	    "max_tokens needed");
	T_CHECK(f.st.flags & PX_DF_COUNT, "count: flagged");
	n = count_of(&f, "{'model':'m','max_tokens':'x','stream':7,"
	    "'messages':[" UHI "],'speed':'fast'}", 1, &rc);
	T_CHECK(rc == PX_OK && n == 1, "count: max_tokens, stream and extras "
	    "ignored; at least 1");
	n = count_of(&f, "{'model':'m','system':'sys','messages':[" UHI "],"
	    "'tools':[{'name':'get_weather','description':'Weather',"
	    "'input_schema':{'type':'object'}}]}", 1, &rc);
	T_CHECK(rc == PX_OK && n == expected_count(&f) && n == 9,
	    "count: system, messages and tools counted");
	n = count_of(&f, "{'model':'m'}", 1, &rc);
	T_CHECK(rc == PX_EBADREQ && t_streq(f.err.param, "messages"),
	    "count: messages required");
	T_CHECK(f.out.len == 0, "count: nothing written on error");
	T_CHECK(cc != NULL, "count: claude code fixture read");
	if (cc != NULL) {
		n = count_of(&f, cc, 0, &rc);
		T_CHECK(rc == PX_OK && n > 100 && n == expected_count(&f),
		    "count: claude code fixture");
	}
	free(cc);
	cJSON_Delete(fix);
	fx_free(&f);
}

/* --- SSE parsing ------------------------------------------------------------ */

#define MAXEV 64

struct evs {
	int    n;
	int    framing;		/* every event well framed and typed */
	cJSON *ev[MAXEV];
	char   sig[2048];	/* "name:index:subtype ..." */
};

/* The part of an event that says what it is, for the signature. */
static void
ev_sig(const cJSON *j, char *buf, size_t n)
{
	const char *type = jstr(j, "type"), *sub = NULL;
	double idx = jnum(j, "index");

	if (t_streq(type, "content_block_start"))
		sub = jstr(j, "content_block.type");
	else if (t_streq(type, "content_block_delta"))
		sub = jstr(j, "delta.type");
	else if (t_streq(type, "message_delta"))
		sub = jstr(j, "delta.stop_reason");
	else if (t_streq(type, "error"))
		sub = jstr(j, "error.type");
	if (idx >= 0)
		snprintf(buf, n, "%s:%d%s%s", type, (int)idx, sub ? ":" : "",
		    sub ? sub : "");
	else
		snprintf(buf, n, "%s%s%s", type, sub ? ":" : "", sub ? sub : "");
}

/* One "event: X\ndata: {...}\n\n" at s; 0 at a framing error. */
static size_t
sse_one(const char *s, size_t len, struct evs *e)
{
	const char *nl, *dl, *end;
	char name[64], sig[128];
	cJSON *j;

	if (len < 7 || memcmp(s, "event: ", 7) != 0)
		return 0;
	nl = memchr(s, '\n', len);
	if (nl == NULL || (size_t)(nl - s - 7) >= sizeof(name) ||
	    (size_t)(s + len - nl) < 7 || memcmp(nl + 1, "data: ", 6) != 0)
		return 0;
	memcpy(name, s + 7, (size_t)(nl - s - 7));
	name[nl - s - 7] = '\0';
	dl = nl + 7;
	end = memchr(dl, '\n', (size_t)(s + len - dl));
	if (end == NULL || end + 1 >= s + len || end[1] != '\n')
		return 0;
	j = cJSON_ParseWithLength(dl, (size_t)(end - dl));
	if (j == NULL || !t_streq(jstr(j, "type"), name) || e->n >= MAXEV) {
		cJSON_Delete(j);
		return 0;
	}
	e->ev[e->n++] = j;
	ev_sig(j, sig, sizeof(sig));
	snprintf(e->sig + strlen(e->sig), sizeof(e->sig) - strlen(e->sig),
	    "%s%s", e->n > 1 ? " " : "", sig);
	return (size_t)(end + 2 - s);
}

static void
sse_parse(const struct px_buf *b, struct evs *e)
{
	size_t off = 0, used;

	memset(e, 0, sizeof(*e));
	e->framing = 1;
	while (off < b->len) {
		used = sse_one(b->p + off, b->len - off, e);
		if (used == 0) {
			e->framing = 0;
			return;
		}
		off += used;
	}
}

static void
sse_free(struct evs *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		cJSON_Delete(e->ev[i]);
}

/* Concatenation of every delta of dtype (field) over the stream. */
static void
deltas(const struct evs *e, const char *dtype, const char *field, char *buf,
    size_t n)
{
	char path[40];
	int i;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "delta.%s", field);
	for (i = 0; i < e->n; i++) {
		if (t_streq(jstr(e->ev[i], "delta.type"), dtype) &&
		    jstr(e->ev[i], path) != NULL)
			snprintf(buf + strlen(buf), n - strlen(buf), "%s",
			    jstr(e->ev[i], path));
	}
}

/* "id name input|..." of every tool_use block, input re-printed. */
static void
tool_uses(const struct evs *e, char *buf, size_t n)
{
	cJSON *in;
	char *s;
	int i;

	buf[0] = '\0';
	for (i = 0; i + 1 < e->n; i++) {
		if (!t_streq(jstr(e->ev[i], "content_block.type"), "tool_use"))
			continue;
		in = cJSON_Parse(jstr(e->ev[i + 1], "delta.partial_json") ?
		    jstr(e->ev[i + 1], "delta.partial_json") : "");
		s = in != NULL ? cJSON_PrintUnformatted(in) : NULL;
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s %s %s",
		    buf[0] ? "|" : "", jstr(e->ev[i], "content_block.id"),
		    jstr(e->ev[i], "content_block.name"), s ? s : "(bad)");
		free(s);
		cJSON_Delete(in);
	}
}

/* --- the stream ------------------------------------------------------------ */

#define ROLE	"{'choices':[{'index':0,'delta':{'role':'assistant'," \
		"'content':''}}]}"
#define TXT(x)	"{'choices':[{'index':0,'delta':{'content':'" x "'}}]}"
#define RSN(x)	"{'choices':[{'index':0,'delta':{'reasoning':'" x "'}}]}"
#define TC(x)	"{'choices':[{'index':0,'delta':{'tool_calls':[" x "]}}]}"
#define FIN(x)	"{'choices':[{'index':0,'delta':{},'finish_reason':'" x "'}]}"
#define USE(p, c) "{'choices':[],'usage':{'prompt_tokens':" #p "," \
		"'completion_tokens':" #c ",'total_tokens':0}}"
#define START(i, id, name) "{'index':" #i ",'id':'" id "','type':" \
		"'function','function':{'name':'" name "','arguments':''}}"
#define ARG(i, a) "{'index':" #i ",'function':{'arguments':'" a "'}}"

#define MS	"message_start "
#define TS(i)	"content_block_start:" #i ":text "
#define TD(i)	"content_block_delta:" #i ":text_delta "
#define KS(i)	"content_block_start:" #i ":thinking "
#define KD(i)	"content_block_delta:" #i ":thinking_delta "
#define SG(i)	"content_block_delta:" #i ":signature_delta "
#define STOP(i)	"content_block_stop:" #i " "
#define TOOLB(i) "content_block_start:" #i ":tool_use content_block_delta:" \
		#i ":input_json_delta content_block_stop:" #i " "
#define END(r)	"message_delta:" r " message_stop"

enum { S_END, S_FAIL, S_OVERLOADED };

struct svec {
	const char *name;
	unsigned    flags;
	const char *chunks[12];
	int         how;		/* S_END, S_FAIL, S_OVERLOADED */
	const char *events;
	const char *text;		/* text_deltas joined */
	const char *thinking;		/* thinking_deltas joined */
	const char *tools;		/* tool_uses() */
	long        usage[4];		/* final input, output, creation, read */
};

static const struct svec svecs[] = {
	{ "text only", 0, { ROLE, TXT("Hel"), TXT("lo"), FIN("stop"),
	  USE(10, 2) }, S_END, MS TS(0) TD(0) TD(0) STOP(0) END("end_turn"),
	  "Hello", "", "", { 10, 2, 0, 0 } },
	/* client-apis.md B.4.3: the same events, ping aside, but the tool
	 * input in one input_json_delta (buffered calls) */
	{ "B.4.3 text then a tool call", 0, { ROLE, TXT("Checking "),
	  TXT("the weather."), TC(START(0, "toolu_call_0", "get_weather")),
	  TC(ARG(0, "{\\'city\\':")), TC(ARG(0, "\\'Oslo\\'}")),
	  FIN("tool_calls"), USE(42, 17) }, S_END, MS TS(0) TD(0) TD(0)
	  STOP(0) TOOLB(1) END("tool_use"), "Checking the weather.", "",
	  "toolu_call_0 get_weather {'city':'Oslo'}", { 42, 17, 0, 0 } },
	{ "parallel calls, interleaved fragments", 0, { ROLE,
	  TC(START(0, "call_a", "f")), TC(START(1, "call_b", "g")),
	  TC(ARG(0, "{\\'x\\':")), TC(ARG(1, "{\\'y\\':")),
	  TC(ARG(0, "1}")) , TC(ARG(1, "2}")), FIN("tool_calls") }, S_END,
	  MS TOOLB(0) TOOLB(1) END("tool_use"), "", "",
	  "call_a f {'x':1}|call_b g {'y':2}", { 42, 0, 0, 0 } },
	{ "two calls in one chunk (Gemini), finish stop", 0, {
	  TC(START(0, "c0", "f") "," START(1, "c1", "g")),
	  TC(ARG(0, "{}") "," ARG(1, "{\\'k\\':[1,2]}")), FIN("stop") },
	  S_END, MS TOOLB(0) TOOLB(1) END("tool_use"), "", "",
	  "c0 f {}|c1 g {'k':[1,2]}", { 42, 0, 0, 0 } },
	{ "text after a call goes before the tool blocks", 0, { TXT("a"),
	  TC(START(0, "c0", "f")), TXT("b"), FIN("tool_calls") }, S_END,
	  MS TS(0) TD(0) STOP(0) TS(1) TD(1) STOP(1) TOOLB(2) END("tool_use"),
	  "ab", "", "c0 f {}", { 42, 0, 0, 0 } },
	{ "empty arguments: {}", 0, { TC(START(0, "c0", "f")),
	  FIN("tool_calls") }, S_END, MS TOOLB(0) END("tool_use"), "", "",
	  "c0 f {}", { 42, 0, 0, 0 } },
	{ "an id Anthropic would not take: toolu_<uid>_<k>", 0, {
	  TC(START(0, "ok_id", "f")), TC(START(1, "call.1:x", "g")),
	  FIN("tool_calls") }, S_END, MS TOOLB(0) TOOLB(1) END("tool_use"),
	  "", "", "ok_id f {}|toolu_" UID "_1 g {}", { 42, 0, 0, 0 } },
	{ "thinking, then text", PX_DF_REASONING, { RSN("Let me"),
	  RSN(" think."), TXT("Answer"), FIN("stop"), USE(5, 9) }, S_END,
	  MS KS(0) KD(0) KD(0) SG(0) STOP(0) TS(1) TD(1) STOP(1)
	  END("end_turn"), "Answer", "Let me think.", "", { 5, 9, 0, 0 } },
	{ "thinking, then a call", PX_DF_REASONING, { RSN("hm"),
	  TC(START(0, "c0", "f")), FIN("tool_calls") }, S_END,
	  MS KS(0) KD(0) SG(0) STOP(0) TOOLB(1) END("tool_use"), "", "hm",
	  "c0 f {}", { 42, 0, 0, 0 } },
	{ "reasoning not asked for: none sent", 0, { RSN("hidden"),
	  TXT("x"), FIN("stop") }, S_END, MS TS(0) TD(0) STOP(0)
	  END("end_turn"), "x", "", "", { 42, 0, 0, 0 } },
	{ "empty output", 0, { ROLE, FIN("stop") }, S_END,
	  MS END("end_turn"), "", "", "", { 42, 0, 0, 0 } },
	{ "max tokens", 0, { TXT("cut"), FIN("length"), USE(3, 1) }, S_END,
	  MS TS(0) TD(0) STOP(0) END("max_tokens"), "cut", "", "",
	  { 3, 1, 0, 0 } },
	{ "content filter: refusal", 0, { TXT("no"),
	  FIN("content_filter") }, S_END, MS TS(0) TD(0) STOP(0)
	  END("refusal"), "no", "", "", { 42, 0, 0, 0 } },
	{ "no finish reason: end_turn", 0, { TXT("x") }, S_END,
	  MS TS(0) TD(0) STOP(0) END("end_turn"), "x", "", "",
	  { 42, 0, 0, 0 } },
	{ "cache usage: input excludes cache reads and writes", 0, {
	  TXT("x"), FIN("stop"), "{'choices':[],'usage':{'prompt_tokens':"
	  "100,'completion_tokens':5,'total_tokens':105,"
	  "'prompt_tokens_details':{'cached_tokens':30,"
	  "'cache_write_tokens':10}}}" }, S_END, MS TS(0) TD(0) STOP(0)
	  END("end_turn"), "x", "", "", { 60, 5, 10, 30 } },
	{ "cached above prompt: input 0", 0, { TXT("x"), FIN("stop"),
	  "{'choices':[],'usage':{'prompt_tokens':5,'completion_tokens':1,"
	  "'prompt_tokens_details':{'cached_tokens':30}}}" }, S_END,
	  MS TS(0) TD(0) STOP(0) END("end_turn"), "x", "", "",
	  { 0, 1, 0, 30 } },
	{ "escapes survive", 0, { TXT("q\\'\\\\ \\n \\u00e9 "
	  "\\u0001 </script>") }, S_END, MS TS(0) TD(0) STOP(0)
	  END("end_turn"), "q\"\\ \n \xC3\xA9 \x01 </script>", "", "",
	  { 42, 0, 0, 0 } },
	{ "failure mid-text: one error event, nothing after", 0, {
	  TXT("par") }, S_FAIL, MS TS(0) TD(0) "error:api_error", "par", "",
	  "", { -1, -1, -1, -1 } },
	{ "failure with buffered calls: no tool blocks", 0, {
	  TC(START(0, "c0", "f")) }, S_OVERLOADED,
	  MS "error:overloaded_error", "", "", "", { -1, -1, -1, -1 } },
	{ "failure before anything: opens, then the error", 0, { ROLE },
	  S_OVERLOADED, MS "error:overloaded_error", "", "", "",
	  { -1, -1, -1, -1 } },
};

static void
feed_chunks(struct fx *f, const struct svec *v)
{
	size_t i, n;
	char *p;
	int ok = 1;

	for (i = 0; i < 12 && v->chunks[i] != NULL; i++) {
		p = q(v->chunks[i], &n);
		ok &= px_dialect_chunk(&f->st, p, n, &f->scratch, &f->out) ==
		    PX_OK;
		free(p);
	}
	if (v->how == S_END)
		ok &= px_dialect_end(&f->st, &f->out) == PX_OK;
	else
		ok &= px_dialect_fail(&f->st, "upstream \"stopped\"",
		    v->how == S_OVERLOADED, &f->out) == PX_OK;
	T_CHECK(ok, v->name);
}

static void
check_start(const struct evs *e, const char *name)
{
	const cJSON *m = e->n > 0 ? e->ev[0] : NULL;
	char what[160];

	snprintf(what, sizeof(what), "%s: message_start", name);
	T_CHECK(t_streq(jstr(m, "message.id"), MSG_ID) &&
	    t_streq(jstr(m, "message.type"), "message") &&
	    t_streq(jstr(m, "message.role"), "assistant") &&
	    t_streq(jstr(m, "message.model"), "claude-x \"q\"") &&
	    cJSON_GetArraySize(jpath(m, "message.content")) == 0 &&
	    cJSON_IsNull(jpath(m, "message.stop_reason")) &&
	    cJSON_IsNull(jpath(m, "message.stop_sequence")) &&
	    jnum(m, "message.usage.input_tokens") == 42 &&
	    jnum(m, "message.usage.output_tokens") == 1 &&
	    jnum(m, "message.usage.cache_creation_input_tokens") == 0 &&
	    jnum(m, "message.usage.cache_read_input_tokens") == 0, what);
}

static void
check_end(const struct evs *e, const struct svec *v)
{
	const cJSON *md = e->n >= 2 ? e->ev[e->n - 2] : NULL;
	char what[160];

	snprintf(what, sizeof(what), "%s: message_delta usage", v->name);
	if (v->usage[0] < 0) {
		T_CHECK(t_streq(jstr(e->ev[e->n - 1], "error.message"),
		    "upstream \"stopped\""), what);
		return;
	}
	T_CHECK(jnum(md, "usage.input_tokens") == v->usage[0] &&
	    jnum(md, "usage.output_tokens") == v->usage[1] &&
	    jnum(md, "usage.cache_creation_input_tokens") == v->usage[2] &&
	    jnum(md, "usage.cache_read_input_tokens") == v->usage[3] &&
	    cJSON_IsNull(jpath(md, "delta.stop_sequence")), what);
}

static void
check_stream(const struct svec *v)
{
	char what[160], buf[512];
	struct evs e;
	struct fx f;

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	snprintf(f.st.model, sizeof(f.st.model), "claude-x \"q\"");
	snprintf(f.st.id, sizeof(f.st.id), MSG_ID);
	f.st.stream = 1;
	f.st.flags = v->flags;
	f.st.est_input = 42;
	feed_chunks(&f, v);
	sse_parse(&f.out, &e);
	snprintf(what, sizeof(what), "%s: framing, event: = type", v->name);
	T_CHECK(e.framing, what);
	snprintf(what, sizeof(what), "%s: events", v->name);
	T_STREQ(e.sig, v->events, what);
	if (!t_streq(e.sig, v->events))
		printf("#  got:  %s\n#  want: %s\n", e.sig, v->events);
	check_start(&e, v->name);
	deltas(&e, "text_delta", "text", buf, sizeof(buf));
	snprintf(what, sizeof(what), "%s: text", v->name);
	T_STREQ(buf, v->text, what);
	deltas(&e, "thinking_delta", "thinking", buf, sizeof(buf));
	snprintf(what, sizeof(what), "%s: thinking", v->name);
	T_STREQ(buf, v->thinking, what);
	tool_uses(&e, buf, sizeof(buf));
	snprintf(what, sizeof(what), "%s: tool_use blocks", v->name);
	T_STREQ(buf, t_quote(v->tools), what);
	check_end(&e, v);
	sse_free(&e);
	fx_free(&f);
}

static void
test_stream_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(svecs) / sizeof(svecs[0]); i++)
		check_stream(&svecs[i]);
}

/* Callbacks append: what was in out stays; a second fail adds nothing. */
static void
test_stream_append(void)
{
	struct fx f;
	size_t n;
	char *p = q(TXT("x"), &n);

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	snprintf(f.st.id, sizeof(f.st.id), MSG_ID);
	px_buf_adds(&f.out, ": keep\n\n");
	T_CHECK(px_dialect_chunk(&f.st, p, n, &f.scratch, &f.out) == PX_OK,
	    "append: chunk");
	T_CHECK(strncmp(f.out.p, ": keep\n\nevent: message_start\n", 29) == 0,
	    "append: out not reset, message_start first");
	n = f.out.len;
	T_CHECK(px_dialect_fail(&f.st, "a", 0, &f.out) == PX_OK &&
	    px_dialect_fail(&f.st, "b", 0, &f.out) == PX_OK &&
	    strstr(f.out.p + n, "\"a\"") != NULL &&
	    strstr(f.out.p + n, "\"b\"") == NULL, "append: one error event");
	free(p);
	fx_free(&f);
}

/* --- the non-stream body ---------------------------------------------------- */

#define COMP(msg, fin) "{'id':'c','object':'chat.completion','choices':[{" \
		"'index':0,'message':{'role':'assistant'" msg "}," \
		"'finish_reason':'" fin "'}],'usage':{'prompt_tokens':42," \
		"'completion_tokens':17,'total_tokens':59}}"
#define FCALL(id, a) "{'id':'" id "','type':'function','function':{" \
		"'name':'f','arguments':'" a "'}}"

struct bvec {
	const char *name;
	unsigned    flags;
	const char *body;
	enum px_err rc;
	const char *want;	/* the whole message, id msg_<uid>, model m */
};

#define MSG(content, stop) "{'id':'" MSG_ID "','type':'message','role':" \
		"'assistant','model':'m','content':[" content "]," \
		"'stop_reason':'" stop "','stop_sequence':null,'usage':{" \
		"'input_tokens':42,'output_tokens':17," \
		"'cache_creation_input_tokens':0,'cache_read_input_tokens':0}}"
#define TUSE(id, in) "{'type':'tool_use','id':'" id "','name':'f'," \
		"'input':" in "}"

static const struct bvec bvecs[] = {
	{ "text", 0, COMP(",'content':'hi'", "stop"), PX_OK,
	  MSG("{'type':'text','text':'hi'}", "end_turn") },
	{ "thinking first when asked for", PX_DF_REASONING,
	  COMP(",'content':'hi','reasoning':'why'", "stop"), PX_OK,
	  MSG("{'type':'thinking','thinking':'why','signature':''},"
	  "{'type':'text','text':'hi'}", "end_turn") },
	{ "reasoning_content, only thinking", PX_DF_REASONING,
	  COMP(",'content':null,'reasoning_content':'why'", "stop"), PX_OK,
	  MSG("{'type':'thinking','thinking':'why','signature':''}",
	  "end_turn") },
	{ "thinking not asked for", 0, COMP(",'content':'hi','reasoning':"
	  "'why'", "stop"), PX_OK, MSG("{'type':'text','text':'hi'}",
	  "end_turn") },
	{ "calls: inputs parsed, bad ones {}", 0, COMP(",'content':null,"
	  "'tool_calls':[" FCALL("a", "{\\'x\\': [1, 2.5, null]}") ","
	  FCALL("b", "") "," FCALL("c", "{bad") "," FCALL("d", "[1]") ","
	  FCALL("e", "{\\'k\\':1} x") "," FCALL("f.g", "{}") "]", "tool_calls"), PX_OK,
	  MSG(TUSE("a", "{'x':[1,2.5,null]}") "," TUSE("b", "{}") ","
	  TUSE("c", "{}") "," TUSE("d", "{}") "," TUSE("e", "{}") ","
	  TUSE("toolu_" UID "_5", "{}"), "tool_use") },
	{ "call with finish stop: tool_use", 0, COMP(",'content':'ok',"
	  "'tool_calls':[" FCALL("a", "{}") "]", "stop"), PX_OK,
	  MSG("{'type':'text','text':'ok'}," TUSE("a", "{}"), "tool_use") },
	{ "empty: content []", 0, COMP(",'content':''", "stop"), PX_OK,
	  MSG("", "end_turn") },
	{ "length", 0, COMP(",'content':'cut'", "length"), PX_OK,
	  MSG("{'type':'text','text':'cut'}", "max_tokens") },
	{ "refusal", 0, COMP(",'content':null,'refusal':'no'",
	  "content_filter"), PX_OK, MSG("{'type':'text','text':'no'}",
	  "refusal") },
	{ "not a completion", 0, "[1,", PX_EUPSTREAM, NULL },
};

static void
check_body(const struct bvec *v)
{
	char what[160];
	struct fx f;
	size_t n;
	char *p = q(v->body, &n);
	cJSON *got, *want;
	enum px_err rc;

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	snprintf(f.st.model, sizeof(f.st.model), "m");
	snprintf(f.st.id, sizeof(f.st.id), MSG_ID);
	f.st.flags = v->flags;
	rc = px_dialect_body(&f.st, p, n, &f.out);
	snprintf(what, sizeof(what), "body %s: rc", v->name);
	T_CHECK(rc == v->rc, what);
	if (rc == PX_OK && v->want != NULL) {
		got = cJSON_ParseWithLength(f.out.p, f.out.len);
		want = qparse(v->want);
		snprintf(what, sizeof(what), "body %s: message", v->name);
		T_CHECK(same_json(got, want, v->name), what);
		cJSON_Delete(got);
		cJSON_Delete(want);
	}
	free(p);
	fx_free(&f);
}

/* client-apis.md B.3's example, from the completion it stands for. */
static void
test_body_doc(void)
{
	static const char comp[] = "{'id':'chatcmpl-1','object':"
	    "'chat.completion','model':'gemini-2.5-pro','choices':[{'index':0,"
	    "'message':{'role':'assistant','content':'Checking the weather.',"
	    "'tool_calls':[{'id':'toolu_call_0','type':'function','function':"
	    "{'name':'get_weather','arguments':'{\\'city\\':\\'Oslo\\'}'}}]},"
	    "'finish_reason':'tool_calls'}],'usage':{'prompt_tokens':42,"
	    "'completion_tokens':17,'total_tokens':59}}";
	cJSON *want = load_json("tests/fixtures/messages/doc_b3_message.json");
	cJSON *got;
	struct fx f;
	size_t n;
	char *p = q(comp, &n);

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	snprintf(f.st.model, sizeof(f.st.model), "claude-sonnet-4-6");
	snprintf(f.st.id, sizeof(f.st.id), "msg_01Xf3a9c");
	f.st.flags = PX_DF_REASONING;
	T_CHECK(px_dialect_body(&f.st, p, n, &f.out) == PX_OK,
	    "body B.3: rc");
	got = cJSON_ParseWithLength(f.out.p, f.out.len);
	T_CHECK(want != NULL && same_json(got, want, "body B.3"),
	    "body B.3: the example message");
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(p);
	fx_free(&f);
}

/* body() itself: reasoning kept by the state is no block unless the
 * request asked for thinking. */
static void
test_body_direct(void)
{
	struct fx f;
	cJSON *j;

	fx_init(&f);
	px_dstate_reset(&f.st, dm());
	snprintf(f.st.id, sizeof(f.st.id), MSG_ID);
	px_buf_adds(&f.st.reasoning, "why");
	px_buf_adds(&f.st.text, "hi");
	T_CHECK(dm()->body(&f.st, &f.out) == PX_OK, "body direct: rc");
	j = cJSON_ParseWithLength(f.out.p, f.out.len);
	T_CHECK(cJSON_GetArraySize(jpath(j, "content")) == 1 &&
	    t_streq(jstr(j, "content.0.type"), "text") &&
	    t_streq(jstr(j, "stop_reason"), "end_turn") &&
	    jnum(j, "usage.input_tokens") == 0, "body direct: no thinking "
	    "block without the flag");
	cJSON_Delete(j);
	fx_free(&f);
}

static void
test_body_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(bvecs) / sizeof(bvecs[0]); i++)
		check_body(&bvecs[i]);
	test_body_doc();
	test_body_direct();
}

/* --- errors and headers ----------------------------------------------------- */

static const struct {
	int         status, http;
	const char *type;
} evecs[] = {
	{ 400, 400, "invalid_request_error" },
	{ 401, 401, "authentication_error" },
	{ 402, 402, "billing_error" },
	{ 403, 403, "permission_error" },
	{ 404, 404, "not_found_error" },
	{ 405, 405, "invalid_request_error" },
	{ 408, 408, "invalid_request_error" },
	{ 413, 413, "request_too_large" },
	{ 429, 429, "rate_limit_error" },
	{ 500, 500, "api_error" },
	{ 501, 501, "api_error" },
	{ 502, 502, "api_error" },
	{ 503, 529, "overloaded_error" },
	{ 504, 504, "timeout_error" },
	{ 529, 529, "overloaded_error" },
};

static void
test_errors(void)
{
	struct px_dstate st;
	struct px_buf out;
	char what[96];
	size_t i;
	int http;
	cJSON *j;

	px_dstate_init(&st);
	px_buf_init(&out, 4096);
	for (i = 0; i < sizeof(evecs) / sizeof(evecs[0]); i++) {
		http = 0;
		px_buf_adds(&out, "stale");
		T_CHECK(dm()->error(i % 2 ? &st : NULL, evecs[i].status,
		    "server_error", "bad \"x\"\n", "p", "c", &out, &http) ==
		    PX_OK, "error: rc");
		j = cJSON_ParseWithLength(out.p, out.len);
		snprintf(what, sizeof(what), "error %d: status and shape",
		    evecs[i].status);
		T_CHECK(http == evecs[i].http && t_streq(jstr(j, "type"),
		    "error") && t_streq(jstr(j, "error.type"), evecs[i].type) &&
		    t_streq(jstr(j, "error.message"), "bad \"x\"\n") &&
		    cJSON_GetArraySize(jpath(j, "error")) == 2, what);
		cJSON_Delete(j);
	}
	T_CHECK(dm()->error(NULL, 500, "x", NULL, NULL, NULL, &out, &http) ==
	    PX_OK, "error: no message: rc");
	j = cJSON_ParseWithLength(out.p, out.len);
	T_CHECK(jstr(j, "error.message") != NULL && http == 500,
	    "error: no message: a message all the same");
	cJSON_Delete(j);
	px_buf_free(&out);
	px_dstate_free(&st);
}

static void
test_headers(void)
{
	char h[64];

	dm()->headers("1a2b-3c", h, sizeof(h));
	T_STREQ(h, "request-id: req_1a2b-3c\r\n", "headers: request-id");
	dm()->headers("1a2b-3c", h, 10);
	T_STREQ(h, "", "headers: too small -> nothing");
	dm()->headers("a\r\nx: y", h, sizeof(h));
	T_STREQ(h, "", "headers: no header injection");
	dm()->headers(NULL, h, sizeof(h));
	T_STREQ(h, "", "headers: no id");
}

static void
test_table(void)
{
	const struct px_dialect *d = dm();

	T_CHECK(d == &px_dialect_messages && d->id == PX_DIALECT_MESSAGES &&
	    t_streq(d->name, "messages"), "table: registered");
	T_CHECK(d->decode && d->open && d->text && d->reasoning &&
	    d->call_start && d->call_args && d->finish && d->fail && d->body &&
	    d->error && d->headers, "table: every callback");
}

int
main(void)
{
	test_table();
	test_decode_vectors();
	test_decode_state();
	test_decode_user_hash();
	test_decode_value_cap();
	test_decode_doc_example();
	test_decode_claude_code();
	test_count();
	test_stream_vectors();
	test_stream_append();
	test_body_vectors();
	test_errors();
	test_headers();
	return t_done();
}
