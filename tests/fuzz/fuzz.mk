# tests/fuzz/fuzz.mk -- libFuzzer targets (issue 9), a fragment included by
# the top Makefile, whose CSTD and UNIT_* module lists it reuses.
#   make fuzz [FUZZ_S=60]   build every target, run each for FUZZ_S seconds
#   make fuzz-smoke         the same for FUZZ_SMOKE_S seconds each (make test)
#   make fuzz-build         build only, into build/fuzz/
#   make fuzz-deps          clang + libFuzzer runtime (installs them as root)
# Extra libFuzzer flags: FUZZ_ARGS='-seed=1'; only some targets:
# FUZZ_TARGETS='sse config'; targets in parallel: FUZZ_JOBS=2; extra
# compiler flags: FUZZ_EXTRA='-DFOO' (then make clean or
# rm -r build/fuzz/obj). Details and results: tests/fuzz/README.md.

FUZZ_CC      ?= clang
FUZZ_S       ?= 60
FUZZ_SMOKE_S ?= 2
FUZZ_B       ?= build/fuzz
FUZZ_PKGS     = clang libclang-rt-14-dev
FUZZ_EXTRA   ?=
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer \
                $(CSTD) -Icommon -isystem /usr/include/cjson $(FUZZ_EXTRA)
FUZZ_WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
                -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
                -Wwrite-strings -Wformat=2 -Wvla -Wundef
FUZZ_LDLIBS   = -lcjson

FUZZ_TARGETS ?= validate sse jsonraw config retryhint provider_event \
                provider_body provider_error provider_models \
                dialect_responses dialect_messages dialect_chunk \
                native_request native_reply thoughts thoughtsig embed listen

# target -> the common/ modules it links (the unit tests' lists; config.c
# calls px_redis_url_parse since the Redis ledger, so redisurl.c goes with
# the lists that link config.c: $(sort) drops it when a list has it too)
FUZZ_CONFIG   = common/config.c common/redisurl.c
FUZZ_MODS_validate        = $(UNIT_validate) common/jsonraw.c
FUZZ_MODS_sse             = $(UNIT_sse)
FUZZ_MODS_jsonraw         = $(UNIT_jsonraw)
FUZZ_MODS_config          = $(UNIT_config)
FUZZ_MODS_retryhint       = $(UNIT_retryhint)
FUZZ_MODS_provider_event  = $(UNIT_provider) $(FUZZ_CONFIG)
FUZZ_MODS_provider_body   = $(UNIT_provider) $(FUZZ_CONFIG)
FUZZ_MODS_provider_error  = $(UNIT_provider) $(FUZZ_CONFIG)
FUZZ_MODS_provider_models = $(UNIT_provider) $(FUZZ_CONFIG)
FUZZ_MODS_dialect_responses = $(UNIT_dialect_responses)
FUZZ_MODS_dialect_messages  = $(UNIT_dialect_messages)
FUZZ_MODS_dialect_chunk     = $(UNIT_dialect)
FUZZ_MODS_native_request    = $(UNIT_native) $(FUZZ_CONFIG) \
                              common/validate.c common/embed.c common/decoder.c
FUZZ_MODS_native_reply      = $(UNIT_native) $(FUZZ_CONFIG)
FUZZ_MODS_thoughts          = common/thoughts.c common/buf.c common/err.c
# (thoughtsig.c alone: UNIT_sigs also has the LMDB cache, not fuzzed here)
FUZZ_MODS_thoughtsig        = $(filter-out common/sigcache.c common/store.c,\
                              $(UNIT_sigs))
FUZZ_MODS_embed             = $(UNIT_validate) common/embed.c common/decoder.c
FUZZ_MODS_listen            = $(UNIT_listen)

FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

fuzz-deps:
	@sh tests/deps.sh $(FUZZ_PKGS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_S) $(FUZZ_TARGETS)

# (from the seeds each time, in its own directory: a steady few seconds per
# target, and the corpora of long runs stay as they are)
fuzz-smoke: fuzz-build
	FUZZ_FRESH=1 FUZZ_WORKDIR=$(FUZZ_B)/corpus-smoke \
	    sh tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SMOKE_S) $(FUZZ_TARGETS)

# harnesses: the project's warnings, fatal
# (fuzz-deps first: an order-only prerequisite, so -j cannot race it)
$(FUZZ_B)/obj/tests/fuzz/%.o: tests/fuzz/%.c | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WARN) -MMD -MP -c -o $@ $<

# modules under test, instrumented the same way
$(FUZZ_B)/obj/%.o: %.c | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

define fuzz_rule
$(FUZZ_B)/fuzz_$(1): $(FUZZ_B)/obj/tests/fuzz/fuzz_$(1).o \
    $$(patsubst %.c,$(FUZZ_B)/obj/%.o,$$(sort $$(FUZZ_MODS_$(1))))
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$^ $$(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-deps
-include $(wildcard $(FUZZ_B)/obj/tests/fuzz/*.d $(FUZZ_B)/obj/common/*.d)
