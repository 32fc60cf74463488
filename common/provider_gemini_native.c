/*
 * provider_gemini_native.c -- Gemini through its native API
 * (https://generativelanguage.googleapis.com/v1beta: generateContent,
 * streamGenerateContent?alt=sse, models, batchEmbedContents) as a
 * px_provider, chosen by "api": "native" on a gemini provider_keys entry.
 * Quota identity is the gemini key family; only the wire differs.
 * Never: code of its own: the translation lives in gemini_native*.c;
 * error bodies are Google's google.rpc.Status, which the shared
 * px_oai_map_error already reads (status -> code, keys redacted).
 */
#include "gemini_native.h"
#include "oaicompat.h"

const struct px_provider px_provider_gemini_native = {
	.id               = PX_PROV_GEMINI,
	.api              = PX_API_NATIVE,
	.name             = "gemini-native",
	.default_base_url = "https://generativelanguage.googleapis.com/v1beta",
	.owned_by         = "google",
	.probe_path       = "/models",
	.auth             = px_gn_auth,
	.url              = px_gn_url,
	.request          = px_gn_request,
	.map_event        = px_gn_map_event,
	.map_body         = px_gn_map_body,
	.map_error        = px_oai_map_error,
	.classify         = px_hint_read,
	.probe_says       = px_hint_probe,
	.parse_models     = px_gn_parse_models,
	.embed_reply      = px_gn_embed_reply,
};
