/*
 * test_validate.c -- vectors for px_validate_chat and px_utf8_valid.
 * Each body is copied into an exact-size heap block (no NUL after it), so
 * ASan catches any read past len.  A vector names the rc and the param the
 * error must carry; accepted bodies also check the filled px_chat_req.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tharness.h"
#include "validate.h"

#define M0	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\"," \
		"\"content\":\"hi\"}]"
#define PRE	"{\"model\":\"m\",\"messages\":["
#define MSGS(x)	PRE x "]}"
#define USER	"{\"role\":\"user\",\"content\":\"hi\"}"
#define TOOLS(x) "{\"model\":\"m\",\"messages\":[" USER "],\"tools\":[" x "]}"
#define FN(x)	"{\"type\":\"function\",\"function\":" x "}"
#define PART(x)	MSGS("{\"role\":\"user\",\"content\":[" x "]}")
#define ASST(x)	MSGS(USER ",{\"role\":\"assistant\"" x "}")
#define CALL(x)	ASST(",\"content\":null,\"tool_calls\":[" x "]")
#define NAME64	"abcdefghijklmnopqrstuvwxyz" \
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static const char seed_body[] =
	"{\n"
	"  \"model\": \"gpt-3.5-turbo:free\",\n"
	"  \"messages\": [\n"
	"    {\"role\": \"user\", \"content\": \"Hello!\"}\n"
	"  ],\n"
	"  \"stream\": false,\n"
	"  \"tools\": [\n"
	"    {\n"
	"      \"type\": \"function\",\n"
	"      \"function\": {\n"
	"        \"name\": \"get_weather\",\n"
	"        \"description\": \"Get weather information\",\n"
	"        \"parameters\": {\n"
	"          \"type\": \"object\",\n"
	"          \"properties\": {\n"
	"            \"location\": {\n"
	"              \"type\": \"string\",\n"
	"              \"description\": \"City name\"\n"
	"            }\n"
	"          },\n"
	"          \"required\": [\"location\"]\n"
	"        }\n"
	"      }\n"
	"    }\n"
	"  ]\n"
	"}\n";

struct vec {
	const char *name;
	const char *body;
	size_t      len;	/* 0: strlen(body) */
	enum px_err rc;
	const char *param;	/* expected err->param ("" for none) */
	const char *msg;	/* substring err->msg must hold, or NULL */
};

static const struct vec vecs[] = {
	/* --- accepted --- */
	{ "seed example", seed_body, 0, PX_OK, "", NULL },
	{ "minimal", M0 "}", 0, PX_OK, "", NULL },
	{ "unknown top-level fields", M0 ",\"seed\":1,\"user\":\"u\","
	  "\"response_format\":{\"type\":\"json_object\"},\"metadata\":{},"
	  "\"provider\":{\"order\":[\"x\"]},\"top_k\":[1,2],\"x\":null}",
	  0, PX_OK, "", NULL },
	{ "whitespace around", " \r\n\t" M0 "} \n\r\t", 0, PX_OK, "", NULL },
	{ "system and developer", MSGS("{\"role\":\"system\",\"content\":\"s\"},"
	  "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	  "\"text\":\"d\"}]}," USER), 0, PX_OK, "", NULL },
	{ "user parts", PART("{\"type\":\"text\",\"text\":\"t\"},"
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:x\","
	  "\"detail\":\"low\"}},{\"type\":\"input_audio\",\"input_audio\":"
	  "{\"data\":\"AAA=\",\"format\":\"wav\"}},{\"type\":\"file\","
	  "\"file\":{\"file_id\":\"f\"}}"), 0, PX_OK, "", NULL },
	{ "user empty parts", PART(""), 0, PX_OK, "", NULL },
	{ "assistant null + tool_calls", CALL("{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}"),
	  0, PX_OK, "", NULL },
	{ "assistant absent + refusal", ASST(",\"refusal\":\"no\""),
	  0, PX_OK, "", NULL },
	{ "assistant absent + function_call", ASST(",\"function_call\":"
	  "{\"name\":\"f\",\"arguments\":\"{}\"}"), 0, PX_OK, "", NULL },
	{ "assistant parts", ASST(",\"content\":[{\"type\":\"text\","
	  "\"text\":\"a\"},{\"type\":\"refusal\",\"refusal\":\"r\"}]"),
	  0, PX_OK, "", NULL },
	{ "assistant echoed nulls", ASST(",\"content\":\"\",\"refusal\":null,"
	  "\"tool_calls\":null,\"function_call\":null,\"audio\":null"),
	  0, PX_OK, "", NULL },
	{ "assistant string + empty tool_calls",
	  ASST(",\"content\":\"x\",\"tool_calls\":[]"), 0, PX_OK, "", NULL },
	{ "tool message", MSGS(USER ",{\"role\":\"tool\",\"content\":\"r\","
	  "\"tool_call_id\":\"c\"},{\"role\":\"tool\",\"content\":[{\"type\":"
	  "\"text\",\"text\":\"r\"}],\"tool_call_id\":\"c\"}"),
	  0, PX_OK, "", NULL },
	{ "name string", MSGS("{\"role\":\"user\",\"content\":\"x\","
	  "\"name\":\"bob\"}"), 0, PX_OK, "", NULL },
	{ "stream null", M0 ",\"stream\":null,\"stream_options\":null}",
	  0, PX_OK, "", NULL },
	{ "tools empty", TOOLS(""), 0, PX_OK, "", NULL },
	{ "tool name 64", TOOLS(FN("{\"name\":\"" NAME64 "\"}")),
	  0, PX_OK, "", NULL },
	{ "tool full", TOOLS(FN("{\"name\":\"f\",\"description\":\"d\","
	  "\"parameters\":{},\"strict\":true}")), 0, PX_OK, "", NULL },
	{ "tool_choice none", M0 ",\"tool_choice\":\"none\"}",
	  0, PX_OK, "", NULL },
	{ "tool_choice auto", M0 ",\"tool_choice\":\"auto\"}",
	  0, PX_OK, "", NULL },
	{ "tool_choice required", M0 ",\"tool_choice\":\"required\"}",
	  0, PX_OK, "", NULL },
	{ "tool_choice function", M0 ",\"tool_choice\":{\"type\":\"function\","
	  "\"function\":{\"name\":\"f\"}}}", 0, PX_OK, "", NULL },
	{ "tool_choice allowed_tools", M0 ",\"tool_choice\":{\"type\":"
	  "\"allowed_tools\",\"allowed_tools\":{\"mode\":\"required\","
	  "\"tools\":[]}}}", 0, PX_OK, "", NULL },
	{ "numbers in range", M0 ",\"max_tokens\":1,\"max_completion_tokens\":"
	  "2147483647,\"n\":1e2,\"temperature\":2,\"top_p\":0}",
	  0, PX_OK, "", NULL },
	{ "numbers null", M0 ",\"max_tokens\":null,\"max_completion_tokens\":"
	  "null,\"n\":null,\"temperature\":null,\"top_p\":null}",
	  0, PX_OK, "", NULL },
	{ "stop string", M0 ",\"stop\":\"x\"}", 0, PX_OK, "", NULL },
	{ "stop 4", M0 ",\"stop\":[\"a\",\"b\",\"c\",\"d\"]}",
	  0, PX_OK, "", NULL },
	{ "stop empty", M0 ",\"stop\":[]}", 0, PX_OK, "", NULL },
	{ "stop null", M0 ",\"stop\":null}", 0, PX_OK, "", NULL },
	{ "multibyte text", MSGS("{\"role\":\"user\",\"content\":"
	  "\"\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E\\u00e9\"}"),
	  0, PX_OK, "", NULL },
	{ "raw tab and newline in string", MSGS("{\"role\":\"user\","
	  "\"content\":\"a\tb\nc\"}"), 0, PX_OK, "", NULL },

	/* --- UTF-8 --- */
	{ "overlong C0 80", MSGS("{\"role\":\"user\",\"content\":\"\xC0\x80\"}"),
	  0, PX_EBADREQ, "", "not valid UTF-8 (at byte 51)" },
	{ "lone surrogate", MSGS("{\"role\":\"user\",\"content\":\""
	  "\xED\xA0\x80\"}"), 0, PX_EBADREQ, "", "UTF-8 (at byte 51)" },
	{ "truncated E2 82", "{\"model\":\"\xE2\x82", 13, PX_EBADREQ, "",
	  "UTF-8 (at byte 10)" },
	{ "above U+10FFFF", "{\"m\":\"\xF4\x90\x80\x80\"}", 0, PX_EBADREQ, "",
	  "UTF-8 (at byte 6)" },
	{ "stray continuation", "\x80{}", 0, PX_EBADREQ, "", "UTF-8" },

	/* --- syntax and top level --- */
	{ "empty body", "", 0, PX_EBADREQ, "", "not valid JSON (at byte 0)" },
	{ "raw NUL", "{\"model\":\"m\"\0}", 14, PX_EBADREQ, "",
	  "not valid JSON (at byte 12)" },
	{ "raw control in string", MSGS("{\"role\":\"user\",\"content\":"
	  "\"a\x01\"}"), 0, PX_EBADREQ, "", "not valid JSON (at byte 52)" },
	{ "byte order mark", "\xEF\xBB\xBF" M0 "}", 0, PX_EBADREQ, "",
	  "not valid JSON (at byte 0)" },
	{ "truncated object", "{\"model\":", 0, PX_EBADREQ, "",
	  "not valid JSON (at byte" },
	{ "bad token", "{\"model\":tru}", 0, PX_EBADREQ, "",
	  "not valid JSON (at byte 9)" },
	{ "trailing garbage", M0 "} x", 0, PX_EBADREQ, "",
	  "unexpected data after the JSON value at byte 58" },
	{ "two objects", "{}{}", 0, PX_EBADREQ, "",
	  "unexpected data after the JSON value at byte 2" },
	{ "array top level", "[" M0 "}]", 0, PX_EBADREQ, "",
	  "request body must be a JSON object" },
	{ "string top level", "\"x\"", 0, PX_EBADREQ, "", "JSON object" },

	/* --- model and messages --- */
	{ "missing model", "{\"messages\":[" USER "]}", 0, PX_EBADREQ,
	  "model", "model: required" },
	{ "empty model", "{\"model\":\"\",\"messages\":[" USER "]}", 0,
	  PX_EBADREQ, "model", "non-empty string; got \"\"" },
	{ "model number", "{\"model\":5,\"messages\":[" USER "]}", 0,
	  PX_EBADREQ, "model", "expected string; got 5" },
	{ "model null", "{\"model\":null,\"messages\":[" USER "]}", 0,
	  PX_EBADREQ, "model", "got null" },
	{ "duplicate model", "{\"model\":\"a\",\"model\":\"b\",\"messages\":["
	  USER "]}", 0, PX_EBADREQ, "model", "duplicate" },
	/* issue 9, L3: what is spliced must be what was validated */
	{ "escaped top-level name", M0 ",\"stream_optio\\u006es\":{}}", 0,
	  PX_EBADREQ, "stream_options", "must not use escape sequences" },
	{ "escaped model name", "{\"m\\u006fdel\":\"x\",\"messages\":["
	  USER "]}", 0, PX_EBADREQ, "model", "escape" },
	{ "escaped unknown name", M0 ",\"x\\\"y\":1}", 0, PX_EBADREQ,
	  "x\"y", "escape" },
	{ "escaped nested name is fine", M0 ",\"metadata\":{\"k\\u0065y\":"
	  "1}}", 0, PX_OK, "", NULL },
	{ "escape in a value is fine", M0 ",\"user\":\"a\\u0062c\"}", 0,
	  PX_OK, "", NULL },
	{ "duplicate unknown member", M0 ",\"foo\":1,\"foo\":2}", 0,
	  PX_EBADREQ, "foo", "duplicate member" },
	{ "duplicate stream_options", M0 ",\"stream_options\":{},"
	  "\"stream_options\":{\"include_usage\":true}}", 0, PX_EBADREQ,
	  "stream_options", "duplicate member" },
	{ "same name nested twice is fine", M0 ",\"a\":{\"k\":1},\"b\":"
	  "{\"k\":2}}", 0, PX_OK, "", NULL },
	{ "Model is not model", "{\"Model\":\"a\",\"messages\":[" USER "]}", 0,
	  PX_EBADREQ, "model", NULL },
	{ "messages missing", "{\"model\":\"m\"}", 0, PX_EBADREQ, "messages",
	  NULL },
	{ "messages object", "{\"model\":\"m\",\"messages\":{}}", 0,
	  PX_EBADREQ, "messages", "got an object" },
	{ "messages empty", MSGS(""), 0, PX_EBADREQ, "messages",
	  "non-empty array; got an array" },
	{ "message not object", MSGS(USER ",\"hi\""), 0, PX_EBADREQ,
	  "messages[1]", "expected object; got \"hi\"" },
	{ "role missing", MSGS("{\"content\":\"x\"}"), 0, PX_EBADREQ,
	  "messages[0].role", NULL },
	{ "role number", MSGS("{\"role\":1,\"content\":\"x\"}"), 0,
	  PX_EBADREQ, "messages[0].role", NULL },
	{ "role bot", MSGS(USER "," USER ",{\"role\":\"bot\",\"content\":"
	  "\"x\"}"), 0, PX_EBADREQ, "messages[2].role",
	  "messages[2].role: expected one of system, developer, user, "
	  "assistant, tool; got \"bot\"" },
	{ "role function", MSGS("{\"role\":\"function\",\"name\":\"f\","
	  "\"content\":\"x\"}"), 0, PX_EBADREQ, "messages[0].role", NULL },
	{ "duplicate role", MSGS("{\"role\":\"user\",\"role\":\"system\","
	  "\"content\":\"x\"}"), 0, PX_EBADREQ, "messages[0].role",
	  "duplicate" },
	{ "name number", MSGS("{\"role\":\"user\",\"content\":\"x\","
	  "\"name\":5}"), 0, PX_EBADREQ, "messages[0].name", NULL },

	/* --- content by role --- */
	{ "system content missing", MSGS("{\"role\":\"system\"}"), 0,
	  PX_EBADREQ, "messages[0].content", "required" },
	{ "system image part", MSGS("{\"role\":\"system\",\"content\":["
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}}]}"), 0,
	  PX_EBADREQ, "messages[0].content[0].type",
	  "expected \"text\"; got \"image_url\"" },
	{ "developer content number", MSGS("{\"role\":\"developer\","
	  "\"content\":5}"), 0, PX_EBADREQ, "messages[0].content", NULL },
	{ "user content 5", MSGS("{\"role\":\"user\",\"content\":5}"), 0,
	  PX_EBADREQ, "messages[0].content",
	  "expected string or array; got 5" },
	{ "user content null", MSGS("{\"role\":\"user\",\"content\":null}"),
	  0, PX_EBADREQ, "messages[0].content", NULL },
	{ "part not object", PART("\"x\""), 0, PX_EBADREQ,
	  "messages[0].content[0]", NULL },
	{ "part without type", PART("{\"text\":\"x\"}"), 0, PX_EBADREQ,
	  "messages[0].content[0].type", "required" },
	{ "part type number", PART("{\"type\":1}"), 0, PX_EBADREQ,
	  "messages[0].content[0].type", NULL },
	{ "part type video", PART("{\"type\":\"text\",\"text\":\"a\"},"
	  "{\"type\":\"video\"}"), 0, PX_EBADREQ,
	  "messages[0].content[1].type", "got \"video\"" },
	{ "text part without text", PART("{\"type\":\"text\"}"), 0,
	  PX_EBADREQ, "messages[0].content[0].text", NULL },
	{ "text part text number", PART("{\"type\":\"text\",\"text\":1}"), 0,
	  PX_EBADREQ, "messages[0].content[0].text", NULL },
	{ "image part without image_url", PART("{\"type\":\"image_url\"}"), 0,
	  PX_EBADREQ, "messages[0].content[0].image_url", NULL },
	{ "image_url without url", PART("{\"type\":\"image_url\","
	  "\"image_url\":{\"detail\":\"low\"}}"), 0, PX_EBADREQ,
	  "messages[0].content[0].image_url.url",
	  "messages[0].content[0].image_url.url: required" },
	{ "audio without format", PART("{\"type\":\"input_audio\","
	  "\"input_audio\":{\"data\":\"AA\"}}"), 0, PX_EBADREQ,
	  "messages[0].content[0].input_audio.format", NULL },
	{ "audio data number", PART("{\"type\":\"input_audio\","
	  "\"input_audio\":{\"data\":1,\"format\":\"wav\"}}"), 0, PX_EBADREQ,
	  "messages[0].content[0].input_audio.data", NULL },
	{ "file not object", PART("{\"type\":\"file\",\"file\":\"x\"}"), 0,
	  PX_EBADREQ, "messages[0].content[0].file", NULL },
	{ "refusal part for user", PART("{\"type\":\"refusal\","
	  "\"refusal\":\"r\"}"), 0, PX_EBADREQ, "messages[0].content[0].type",
	  NULL },
	{ "assistant null, no tool_calls", ASST(",\"content\":null"), 0,
	  PX_EBADREQ, "messages[1].content",
	  "required unless tool_calls, function_call or refusal" },
	{ "assistant absent, nothing", ASST(""), 0, PX_EBADREQ,
	  "messages[1].content", NULL },
	{ "assistant null, empty tool_calls", CALL(""), 0, PX_EBADREQ,
	  "messages[1].content", NULL },
	{ "assistant image part", ASST(",\"content\":[{\"type\":\"image_url\","
	  "\"image_url\":{\"url\":\"u\"}}]"), 0, PX_EBADREQ,
	  "messages[1].content[0].type",
	  "expected one of text, refusal; got \"image_url\"" },
	{ "refusal part without refusal", ASST(",\"content\":[{\"type\":"
	  "\"refusal\"}]"), 0, PX_EBADREQ,
	  "messages[1].content[0].refusal", NULL },
	{ "assistant refusal number", ASST(",\"refusal\":5"), 0, PX_EBADREQ,
	  "messages[1].refusal", NULL },
	{ "function_call string", ASST(",\"function_call\":\"f\""), 0,
	  PX_EBADREQ, "messages[1].function_call", NULL },
	{ "function_call empty name", ASST(",\"function_call\":{\"name\":"
	  "\"\",\"arguments\":\"{}\"}"), 0, PX_EBADREQ,
	  "messages[1].function_call.name", NULL },
	{ "tool_calls string", ASST(",\"tool_calls\":\"x\""), 0, PX_EBADREQ,
	  "messages[1].tool_calls", NULL },
	{ "tool_call not object", CALL("1"), 0, PX_EBADREQ,
	  "messages[1].tool_calls[0]", NULL },
	{ "tool_call without id", CALL("{\"type\":\"function\",\"function\":"
	  "{\"name\":\"f\",\"arguments\":\"\"}}"), 0, PX_EBADREQ,
	  "messages[1].tool_calls[0].id", NULL },
	{ "tool_call type fn", CALL("{\"id\":\"c\",\"type\":\"fn\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}"), 0, PX_EBADREQ,
	  "messages[1].tool_calls[0].type",
	  "expected \"function\"; got \"fn\"" },
	{ "tool_call without function", CALL("{\"id\":\"c\",\"type\":"
	  "\"function\"}"), 0, PX_EBADREQ,
	  "messages[1].tool_calls[0].function", NULL },
	{ "tool_call empty name", CALL("{\"id\":\"c\",\"type\":\"function\","
	  "\"function\":{\"name\":\"\",\"arguments\":\"\"}}"), 0, PX_EBADREQ,
	  "messages[1].tool_calls[0].function.name", NULL },
	{ "tool_call arguments object", CALL("{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":{}}}"), 0,
	  PX_EBADREQ, "messages[1].tool_calls[0].function.arguments",
	  "got an object" },
	{ "second tool_call bad", CALL("{\"id\":\"c\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"\"}},{\"id\":2}"), 0,
	  PX_EBADREQ, "messages[1].tool_calls[1].id", NULL },
	{ "tool without tool_call_id", MSGS(USER ",{\"role\":\"tool\","
	  "\"content\":\"r\"}"), 0, PX_EBADREQ, "messages[1].tool_call_id",
	  "required" },
	{ "tool empty tool_call_id", MSGS("{\"role\":\"tool\",\"content\":"
	  "\"r\",\"tool_call_id\":\"\"}"), 0, PX_EBADREQ,
	  "messages[0].tool_call_id", NULL },
	{ "tool without content", MSGS("{\"role\":\"tool\","
	  "\"tool_call_id\":\"c\"}"), 0, PX_EBADREQ, "messages[0].content",
	  NULL },

	/* --- stream --- */
	{ "stream yes", M0 ",\"stream\":\"yes\"}", 0, PX_EBADREQ, "stream",
	  "stream: expected boolean or null; got \"yes\"" },
	{ "stream 1", M0 ",\"stream\":1}", 0, PX_EBADREQ, "stream", NULL },
	{ "stream_options string", M0 ",\"stream_options\":\"x\"}", 0,
	  PX_EBADREQ, "stream_options", NULL },
	{ "include_usage yes", M0 ",\"stream_options\":{\"include_usage\":"
	  "\"yes\"}}", 0, PX_EBADREQ, "stream_options.include_usage", NULL },

	/* --- tools --- */
	{ "tools object", M0 ",\"tools\":{}}", 0, PX_EBADREQ, "tools", NULL },
	{ "tools null", M0 ",\"tools\":null}", 0, PX_EBADREQ, "tools", NULL },
	{ "tool not object", TOOLS("\"f\""), 0, PX_EBADREQ, "tools[0]", NULL },
	{ "tool type fn", TOOLS("{\"type\":\"fn\",\"function\":{\"name\":"
	  "\"f\"}}"), 0, PX_EBADREQ, "tools[0].type", NULL },
	{ "tool without function", TOOLS("{\"type\":\"function\"}"), 0,
	  PX_EBADREQ, "tools[0].function", NULL },
	{ "tool name get weather", TOOLS(FN("{\"name\":\"ok\"}") ","
	  FN("{\"name\":\"get weather\"}")), 0, PX_EBADREQ,
	  "tools[1].function.name", "got \"get weather\"" },
	{ "tool name 65", TOOLS(FN("{\"name\":\"" NAME64 "x\"}")), 0,
	  PX_EBADREQ, "tools[0].function.name", "...\"" },
	{ "tool name empty", TOOLS(FN("{\"name\":\"\"}")), 0, PX_EBADREQ,
	  "tools[0].function.name", NULL },
	{ "tool name missing", TOOLS(FN("{}")), 0, PX_EBADREQ,
	  "tools[0].function.name", NULL },
	{ "tool description number", TOOLS(FN("{\"name\":\"f\","
	  "\"description\":1}")), 0, PX_EBADREQ,
	  "tools[0].function.description", NULL },
	{ "tool parameters string", TOOLS(FN("{\"name\":\"f\","
	  "\"parameters\":\"{}\"}")), 0, PX_EBADREQ,
	  "tools[0].function.parameters", NULL },
	{ "tool strict string", TOOLS(FN("{\"name\":\"f\",\"strict\":"
	  "\"yes\"}")), 0, PX_EBADREQ, "tools[0].function.strict", NULL },

	/* --- tool_choice --- */
	{ "tool_choice sometimes", M0 ",\"tool_choice\":\"sometimes\"}", 0,
	  PX_EBADREQ, "tool_choice", "expected one of none, auto, required; "
	  "got \"sometimes\"" },
	{ "tool_choice number", M0 ",\"tool_choice\":1}", 0, PX_EBADREQ,
	  "tool_choice", NULL },
	{ "tool_choice null", M0 ",\"tool_choice\":null}", 0, PX_EBADREQ,
	  "tool_choice", NULL },
	{ "tool_choice type x", M0 ",\"tool_choice\":{\"type\":\"x\"}}", 0,
	  PX_EBADREQ, "tool_choice.type", NULL },
	{ "tool_choice no function", M0 ",\"tool_choice\":{\"type\":"
	  "\"function\"}}", 0, PX_EBADREQ, "tool_choice.function", NULL },
	{ "tool_choice name number", M0 ",\"tool_choice\":{\"type\":"
	  "\"function\",\"function\":{\"name\":1}}}", 0, PX_EBADREQ,
	  "tool_choice.function.name", NULL },
	{ "allowed_tools mode none", M0 ",\"tool_choice\":{\"type\":"
	  "\"allowed_tools\",\"allowed_tools\":{\"mode\":\"none\","
	  "\"tools\":[]}}}", 0, PX_EBADREQ,
	  "tool_choice.allowed_tools.mode",
	  "expected one of auto, required; got \"none\"" },
	{ "allowed_tools without tools", M0 ",\"tool_choice\":{\"type\":"
	  "\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\"}}}", 0,
	  PX_EBADREQ, "tool_choice.allowed_tools.tools", NULL },

	/* --- sampling --- */
	{ "max_tokens 0", M0 ",\"max_tokens\":0}", 0, PX_EBADREQ,
	  "max_tokens", "integer from 1 to 2147483647; got 0" },
	{ "max_tokens 1.5", M0 ",\"max_tokens\":1.5}", 0, PX_EBADREQ,
	  "max_tokens", NULL },
	{ "max_tokens string", M0 ",\"max_tokens\":\"5\"}", 0, PX_EBADREQ,
	  "max_tokens", NULL },
	{ "max_completion_tokens huge", M0 ",\"max_completion_tokens\":3e9}",
	  0, PX_EBADREQ, "max_completion_tokens", NULL },
	{ "max_completion_tokens inf", M0 ",\"max_completion_tokens\":1e999}",
	  0, PX_EBADREQ, "max_completion_tokens", NULL },
	{ "n -1", M0 ",\"n\":-1}", 0, PX_EBADREQ, "n", NULL },
	{ "temperature 2.5", M0 ",\"temperature\":2.5}", 0, PX_EBADREQ,
	  "temperature", "number from 0 to 2; got 2.5" },
	{ "temperature negative", M0 ",\"temperature\":-0.1}", 0, PX_EBADREQ,
	  "temperature", NULL },
	{ "temperature string", M0 ",\"temperature\":\"hot\"}", 0, PX_EBADREQ,
	  "temperature", NULL },
	{ "top_p 1.1", M0 ",\"top_p\":1.1}", 0, PX_EBADREQ, "top_p", NULL },
	{ "stop number", M0 ",\"stop\":5}", 0, PX_EBADREQ, "stop", NULL },
	{ "stop 5", M0 ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 0,
	  PX_EBADREQ, "stop", "at most 4 sequences; got 5" },
	{ "stop element number", M0 ",\"stop\":[\"a\",1]}", 0, PX_EBADREQ,
	  "stop[1]", NULL },
};

/* Copy into an exact-size block so a read past len is an ASan error. */
static enum px_err
run(const char *body, size_t len, struct px_chat_req *rq, struct px_verr *e)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum px_err rc;

	memset(rq, 0, sizeof *rq);
	memset(e, 0, sizeof *e);
	if (copy == NULL)
		return PX_ENOMEM;
	memcpy(copy, body, len);
	rc = px_validate_chat(copy, len, rq, e);
	free(copy);
	return rc;
}

static void
check_vec(const struct vec *v)
{
	struct px_chat_req rq;
	struct px_verr e;
	size_t len = v->len ? v->len : strlen(v->body);
	size_t plen;
	enum px_err rc = run(v->body, len, &rq, &e);

	T_CHECK(rc == v->rc, v->name);
	T_STREQ(e.param, v->param, v->name);
	if (v->msg != NULL)
		T_CHECK(strstr(e.msg, v->msg) != NULL, v->name);
	plen = strlen(v->param);
	if (plen > 0)	/* the message starts with the path it names */
		T_CHECK(strncmp(e.msg, v->param, plen) == 0 &&
		    e.msg[plen] == ':', v->name);
	if (rc != PX_OK)
		T_CHECK(rq.root == NULL && rq.model == NULL && e.msg[0], v->name);
	else
		T_CHECK(rq.root != NULL && rq.model[0] && !e.msg[0], v->name);
	px_chat_req_free(&rq);
}

struct outvec {
	const char *body;
	const char *model;
	int         stream, include_usage, has_tools;
	size_t      prompt_bytes;
};

static const struct outvec outs[] = {
	/* Hello! 6; get_weather 11; description 23; schema keys+strings 74 */
	{ seed_body, "gpt-3.5-turbo:free", 0, 0, 1, 114 },
	{ M0 "}", "m", 0, 0, 0, 2 },
	{ M0 ",\"stream\":true}", "m", 1, 0, 0, 2 },
	{ M0 ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
	  "m", 1, 1, 0, 2 },
	{ M0 ",\"stream\":false,\"stream_options\":{\"include_usage\":false}}",
	  "m", 0, 0, 0, 2 },
	{ M0 ",\"stream_options\":{}}", "m", 0, 0, 0, 2 },
	{ M0 ",\"tools\":[]}", "m", 0, 0, 0, 2 },
	/* 3 + 2 + 0 (image) + 1 + 2 (call) + 2 (tool) + 2 (refusal) + 2 + 2
	 * (t1, dd) + 10 ("type" "object") = 26 */
	{ "{\"model\":\"mm\",\"messages\":["
	  "{\"role\":\"system\",\"content\":\"abc\"},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"de\"},"
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"xxxxxxxx\"}}]},"
	  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
	  "\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	  "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"content\":\"gh\","
	  "\"tool_call_id\":\"c\"},{\"role\":\"assistant\",\"refusal\":\"no\"}"
	  "],\"tools\":[" FN("{\"name\":\"t1\","
	  "\"description\":\"dd\",\"parameters\":{\"type\":\"object\"}}") "]}",
	  "mm", 0, 0, 1, 26 },
	/* developer 1 + assistant parts 2 + 3 + function_call 1 + 2 +
	 * tool part 2; name, id and tool_call_id do not count */
	{ MSGS("{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	  "\"text\":\"d\"}],\"name\":\"nnnn\"},{\"role\":\"assistant\","
	  "\"content\":[{\"type\":\"text\",\"text\":\"ab\"},{\"type\":"
	  "\"refusal\",\"refusal\":\"cde\"}]},{\"role\":\"assistant\","
	  "\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"cccc\",\"content\":[{"
	  "\"type\":\"text\",\"text\":\"gh\"}]}"), "m", 0, 0, 0, 11 },
};

static void
test_outputs(void)
{
	struct px_chat_req rq;
	struct px_verr e;
	size_t i;
	enum px_err rc;

	for (i = 0; i < sizeof outs / sizeof outs[0]; i++) {
		rc = run(outs[i].body, strlen(outs[i].body), &rq, &e);
		T_CHECK(rc == PX_OK, e.msg);
		if (rc != PX_OK)
			continue;
		T_STREQ(rq.model, outs[i].model, "out model");
		T_CHECK(rq.stream == outs[i].stream, "out stream");
		T_CHECK(rq.include_usage == outs[i].include_usage,
		    "out include_usage");
		T_CHECK(rq.has_tools == outs[i].has_tools, "out has_tools");
		T_CHECK(rq.prompt_bytes == outs[i].prompt_bytes,
		    "out prompt_bytes");
		px_chat_req_free(&rq);
		T_CHECK(rq.root == NULL && rq.model == NULL, "free zeroes");
		px_chat_req_free(&rq);	/* idempotent */
	}
	px_chat_req_free(NULL);
}

static const struct {
	const char *s;
	size_t      n;
	int         ok;
} utf8v[] = {
	{ "", 0, 1 },
	{ "plain ascii text, longer than one word", 0, 1 },
	{ "\x7F", 0, 1 },
	{ "\x80", 0, 0 },
	{ "\xC2\x80", 0, 1 },
	{ "\xC1\xBF", 0, 0 },		/* overlong 2-byte */
	{ "\xC0\x80", 0, 0 },
	{ "\xDF\xBF", 0, 1 },
	{ "\xE0\xA0\x80", 0, 1 },
	{ "\xE0\x9F\xBF", 0, 0 },	/* overlong 3-byte */
	{ "\xED\x9F\xBF", 0, 1 },	/* U+D7FF */
	{ "\xED\xA0\x80", 0, 0 },	/* U+D800 */
	{ "\xED\xBF\xBF", 0, 0 },	/* U+DFFF */
	{ "\xEE\x80\x80", 0, 1 },	/* U+E000 */
	{ "\xEF\xBF\xBF", 0, 1 },
	{ "\xF0\x90\x80\x80", 0, 1 },
	{ "\xF0\x8F\xBF\xBF", 0, 0 },	/* overlong 4-byte */
	{ "\xF4\x8F\xBF\xBF", 0, 1 },	/* U+10FFFF */
	{ "\xF4\x90\x80\x80", 0, 0 },	/* U+110000 */
	{ "\xF5\x80\x80\x80", 0, 0 },
	{ "\xFF", 0, 0 },
	{ "\xE2\x82", 0, 0 },		/* truncated */
	{ "\xE2\x82" "A", 0, 0 },
	{ "\xE2\x82\xAC", 2, 0 },	/* cut by n */
	{ "\xF0\x90\x80", 0, 0 },
	{ "\xC2", 0, 0 },
	{ "a\0b", 3, 1 },		/* NUL is valid UTF-8 */
};

static void
test_utf8(void)
{
	char buf[40];
	size_t i, k;

	for (i = 0; i < sizeof utf8v / sizeof utf8v[0]; i++) {
		size_t n = utf8v[i].n ? utf8v[i].n : strlen(utf8v[i].s);

		T_CHECK(!px_utf8_valid(utf8v[i].s, n) == !utf8v[i].ok,
		    utf8v[i].s);
	}
	/* Every position around the 8-byte fast path sees both outcomes. */
	for (k = 0; k + 2 <= 24; k++) {
		memset(buf, 'a', 24);
		buf[k] = (char)0xC3;
		buf[k + 1] = (char)0xA9;
		T_CHECK(px_utf8_valid(buf, 24), "é at k");
		buf[k + 1] = 'a';
		T_CHECK(!px_utf8_valid(buf, 24), "lone lead at k");
		buf[k] = (char)0x80;
		T_CHECK(!px_utf8_valid(buf, 24), "continuation at k");
	}
	T_CHECK(px_utf8_valid(NULL, 0), "NULL, 0");
}

/* Bodies built at run time: big, deep, and long client values. */
static char *
make_body(const char *pre, size_t n, char fill, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + n + b + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, pre, a);
	memset(s + a, fill, n);
	memcpy(s + a + n, post, b);
	s[a + n + b] = '\0';
	return s;
}

static void
test_big_and_deep(void)
{
	struct px_chat_req rq;
	struct px_verr e;
	size_t mib = (size_t)1 << 20, d, pre;
	char *s, *x;
	enum px_err rc;

	s = make_body(PRE "{\"role\":\"user\",\"content\":\"", mib, 'a',
	    "\"}]}");
	pre = strlen(PRE "{\"role\":\"user\",\"content\":\"");
	rc = run(s, strlen(s), &rq, &e);
	T_CHECK(rc == PX_OK && rq.prompt_bytes == mib, "1 MiB content");
	px_chat_req_free(&rq);
	s[pre + mib - 1] = (char)0xFF;
	rc = run(s, strlen(s), &rq, &e);
	snprintf(e.param, sizeof e.param, "(at byte %zu)", pre + mib - 1);
	T_CHECK(rc == PX_EBADREQ && strstr(e.msg, e.param), "1 MiB bad end");
	free(s);

	for (d = 0; d < 2; d++) {	/* 500 levels pass, 1500 pass cJSON's */
		size_t depth = d ? 1500 : 500;

		s = make_body(M0 ",\"x\":", depth, '[', "");
		x = make_body(s, depth, ']', "}");
		rc = run(x, strlen(x), &rq, &e);
		T_CHECK(rc == (d ? PX_EBADREQ : PX_OK), "deep nesting");
		px_chat_req_free(&rq);
		free(x);
		free(s);
	}
}

static void
test_echo_limit(void)
{
	struct px_chat_req rq;
	struct px_verr e;
	char *s;
	const char *got;
	enum px_err rc;

	s = make_body(PRE "{\"role\":\"b", 100, 'o', "t\"}]}");
	rc = run(s, strlen(s), &rq, &e);
	got = strstr(e.msg, "got \"");
	T_CHECK(rc == PX_EBADREQ && got != NULL && strlen(got) == 5 + 40 + 4 &&
	    memcmp(got + 5, s + strlen(PRE "{\"role\":\""), 40) == 0 &&
	    strcmp(got + 45, "...\"") == 0, "echo capped at 40 bytes");
	free(s);

	/* "b" + 30 x U+00E9: the cut at byte 40 would split a character. */
	s = make_body(PRE "{\"role\":\"b", 0, 0,
	    "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	    "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	    "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	    "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}]}");
	rc = run(s, strlen(s), &rq, &e);
	got = strstr(e.msg, "got \"");
	T_CHECK(rc == PX_EBADREQ && got != NULL && strlen(got) == 5 + 39 + 4,
	    "echo cut on a character boundary");
	T_CHECK(px_utf8_valid(e.msg, strlen(e.msg)), "echo stays UTF-8");
	free(s);

	rc = px_validate_chat(M0 "}", strlen(M0 "}"), &rq, NULL);
	T_CHECK(rc == PX_OK, "err may be NULL");
	px_chat_req_free(&rq);
}

static void
test_null_args(void)
{
	struct px_chat_req rq;
	struct px_verr e;
	enum px_err rc;

	/* out NULL: only the verdict; ASan's leak check sees root freed. */
	rc = px_validate_chat(M0 "}", strlen(M0 "}"), NULL, &e);
	T_CHECK(rc == PX_OK && e.msg[0] == '\0', "out may be NULL");
	rc = px_validate_chat(NULL, 5, &rq, &e);
	T_CHECK(rc == PX_EBADREQ && rq.root == NULL, "NULL body is empty");
	T_CHECK(strstr(e.msg, "(at byte 0)") != NULL, "NULL body message");
}

/* issue 9, M2: values are counted on the raw text before cJSON runs */
static void
test_value_cap(void)
{
	char body[4096];
	struct px_chat_req rq;
	struct px_verr e;
	size_t n, i;
	enum px_err rc;

	n = (size_t)snprintf(body, sizeof body, M0 ",\"x\":[");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, "%s1",
		    i ? "," : "");
	n += (size_t)snprintf(body + n, sizeof body - n, "]}");
	rc = px_validate_chat_max(body, n, 100, &rq, &e);
	T_CHECK(rc == PX_ETOOBIG, "200 numbers over a cap of 100: 413");
	T_CHECK(strstr(e.msg, "100 JSON values (max_json_values)") != NULL,
	    "the message names the limit");
	T_CHECK(rq.root == NULL, "nothing parsed");
	rc = px_validate_chat_max(body, n, 1000, &rq, &e);
	T_CHECK(rc == PX_OK, "the same body under a cap of 1000");
	px_chat_req_free(&rq);

	/* commas and brackets inside strings are no values */
	n = (size_t)snprintf(body, sizeof body, "{\"model\":\"m\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"");
	for (i = 0; i < 300; i++)
		body[n++] = i % 3 == 0 ? ',' : i % 3 == 1 ? '[' : '{';
	n += (size_t)snprintf(body + n, sizeof body - n, "\\\",\"}]}");
	rc = px_validate_chat_max(body, n, 100, &rq, &e);
	T_CHECK(rc == PX_OK, "punctuation inside a string is not counted");
	px_chat_req_free(&rq);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
		check_vec(&vecs[i]);
	test_outputs();
	test_utf8();
	test_big_and_deep();
	test_echo_limit();
	test_null_args();
	test_value_cap();
	return t_done();
}
