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
                native_request native_reply thoughts thoughtsig embed listen \
                win ledger_rec redisurl stats

# target -> the common/ modules it links: the unit tests' lists less what
# neither the harness nor those modules call (checked with nm): err.c,
# which only the unit tests use (px_strerror), and buf.c where only err.c
# used it; in the adapter lists config.c with what only it calls
# (redisurl.c, and utf8.c but where validate.c is linked): the harnesses
# make their keys without a config
FUZZ_NOERR    = common/err.c
FUZZ_NOCFG    = common/config.c common/redisurl.c common/utf8.c
FUZZ_MODS_validate        = $(filter-out $(FUZZ_NOERR),$(UNIT_validate)) \
                            common/jsonraw.c
FUZZ_MODS_sse             = $(filter-out $(FUZZ_NOERR),$(UNIT_sse))
FUZZ_MODS_jsonraw         = $(filter-out $(FUZZ_NOERR),$(UNIT_jsonraw))
FUZZ_MODS_config          = $(filter-out $(FUZZ_NOERR),$(UNIT_config))
FUZZ_MODS_retryhint       = common/retryhint.c
FUZZ_MODS_provider_event  = $(filter-out $(FUZZ_NOCFG),$(UNIT_provider))
FUZZ_MODS_provider_body   = $(filter-out $(FUZZ_NOCFG),$(UNIT_provider))
FUZZ_MODS_provider_error  = $(filter-out $(FUZZ_NOCFG),$(UNIT_provider))
FUZZ_MODS_provider_models = $(filter-out $(FUZZ_NOCFG),$(UNIT_provider))
FUZZ_MODS_dialect_responses = $(UNIT_dialect_responses)
FUZZ_MODS_dialect_messages  = $(UNIT_dialect_messages)
FUZZ_MODS_dialect_chunk     = $(UNIT_dialect)
FUZZ_MODS_native_request    = $(filter-out $(FUZZ_NOCFG),$(UNIT_native)) \
                              common/validate.c common/utf8.c \
                              common/embed.c common/decoder.c
FUZZ_MODS_native_reply      = $(filter-out $(FUZZ_NOCFG),$(UNIT_native))
FUZZ_MODS_thoughts          = common/thoughts.c common/buf.c
# (UNIT_sigs also has the LMDB cache, not fuzzed here)
FUZZ_MODS_thoughtsig        = common/thoughtsig.c
FUZZ_MODS_embed             = common/validate.c common/utf8.c \
                              common/embed.c common/decoder.c
FUZZ_MODS_listen            = $(UNIT_listen)
# the ledger's stored records (UNIT_rec also has redisurl.c for its own
# tests; ledger_rec.c needs nothing else)
FUZZ_MODS_win               = $(UNIT_win)
FUZZ_MODS_ledger_rec        = common/ledger_rec.c
FUZZ_MODS_redisurl          = common/redisurl.c
# the /metrics counters' record (px_provider_name comes from config.c)
FUZZ_MODS_stats             = common/stats.c common/config.c \
                              common/redisurl.c common/utf8.c common/buf.c \
                              common/err.c

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
