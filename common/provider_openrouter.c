/*
 * provider_openrouter.c -- OpenRouter (https://openrouter.ai/api/v1) as a
 * px_provider: its name and defaults; all behaviour is the shared OpenAI
 * adapter in oaicompat.c (mid-stream error chunks, numeric error codes).
 * Never: code of its own; a fix needed here belongs in oaicompat.c so
 * every OpenAI-compatible upstream gets it.
 */
#include "oaicompat.h"

const struct px_provider px_provider_openrouter = {
	.id               = PX_PROV_OPENROUTER,
	.name             = "openrouter",
	.default_base_url = "https://openrouter.ai/api/v1",
	.owned_by         = "openrouter",
	.probe_path       = "/key",
	.api              = PX_API_OPENAI,
	.auth             = px_oai_auth,
	.url              = px_oai_url,
	.request          = px_oai_request,
	.map_event        = px_oai_map_event,
	.map_body         = px_oai_map_body,
	.map_error        = px_oai_map_error,
	.classify         = px_hint_read,
	.probe_says       = px_hint_probe,
	.parse_models     = px_oai_parse_models,
};
