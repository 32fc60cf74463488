/*
 * provider_gemini_native.c -- placeholder: Gemini's native API adapter
 * (issue 11) lands here; until then a native entry behaves as compat.
 */
#include "oaicompat.h"

const struct px_provider px_provider_gemini_native = {
	.id               = PX_PROV_GEMINI,
	.api              = PX_API_NATIVE,
	.name             = "gemini-native",
	.default_base_url = "https://generativelanguage.googleapis.com/v1beta",
	.owned_by         = "google",
	.probe_path       = "/models",
	.auth             = px_oai_auth,
	.url              = px_oai_url,
	.request          = px_oai_request,
	.map_event        = px_oai_map_event,
	.map_body         = px_oai_map_body,
	.map_error        = px_oai_map_error,
	.parse_models     = px_oai_parse_models,
};
