/*
 * provider_gemini.c -- Gemini through its OpenAI-compatible endpoint
 * (https://generativelanguage.googleapis.com/v1beta/openai) as a
 * px_provider: its name and defaults; all behaviour is the shared OpenAI
 * adapter in oaicompat.c (tool calls without index, "stop" after tool
 * calls, array-wrapped Google errors, "models/" ids).
 * Its one request difference, the reasoning effort as the endpoint's own
 * thinking_config, is gemini_compat.c's.
 * Never: code of its own; a fix of a reply belongs in oaicompat.c so
 * every OpenAI-compatible upstream gets it.
 */
#include "oaicompat.h"

const struct px_provider px_provider_gemini = {
	.id               = PX_PROV_GEMINI,
	.name             = "gemini",
	.default_base_url =
	    "https://generativelanguage.googleapis.com/v1beta/openai",
	.owned_by         = "google",
	.probe_path       = "/models",
	.api              = PX_API_OPENAI,
	.auth             = px_oai_auth,
	.url              = px_oai_url,
	.request          = px_gemc_request,
	.thoughts_inline  = px_gemc_thoughts_asked,
	.map_event        = px_oai_map_event,
	.map_body         = px_oai_map_body,
	.map_error        = px_oai_map_error,
	.classify         = px_hint_read,
	.probe_says       = px_hint_probe,
	.parse_models     = px_oai_parse_models,
};
