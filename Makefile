# aiproxy -- one readable GNU Makefile (style.md P16).
# Targets: all (cgi/aiproxy), deps, test, unit, run, lint, bench, install, clean.
# `make test` builds with ASan+UBSan into build/asan and runs tests/run.sh.

CC      ?= cc
CSTD     = -std=c11 -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
           -Wformat=2 -Wvla -Wundef
SAN_asan = -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
CFLAGS  ?= -O2 -g
# Hardened build (issue 9, L8): stack canaries, checked libc calls, a
# position-independent executable with read-only relocations bound at start.
HARDEN   = -fstack-protector-strong -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 \
           -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(HARDEN) $(SAN_$(SAN)) -Icommon \
             -isystem /usr/include/cjson -pthread -MMD -MP
LDLIBS   = -lfcgi -lcurl -lcjson -llmdb -lhiredis -pthread

# Every module, explicitly; each external library has one owning file:
# fcgiapp.h -> fcgi_io.c, curl.h -> upstream.c, lmdb.h -> store.c,
# hiredis.h -> redis.c.
COMMON = common/buf.c common/err.c common/log.c common/config.c \
         common/sse.c common/utf8.c common/validate.c common/jsonraw.c \
         common/oaicompat.c common/provider_openrouter.c \
         common/provider_gemini.c common/provider_gemini_native.c \
         common/gemini_native.c common/gemini_native_request.c \
         common/gemini_native_gen.c common/gemini_think.c \
         common/gemini_native_reply.c \
         common/gemini_native_stream.c common/gemini_native_embed.c \
         common/gemini_compat.c common/thoughts.c \
         common/router.c common/redisurl.c \
         $(LEDGER_MODS) common/redis.c common/ledger_redis.c \
         common/sigcache.c \
         common/thoughtsig.c \
         common/retryhint.c \
         common/reply.c common/fcgi_io.c common/listenaddr.c \
         common/upstream.c \
         common/models.c common/usage.c common/chat.c common/embed.c \
         common/metrics.c common/ctl.c \
         common/relay.c \
         common/decoder.c common/dialect.c common/dialect_chat.c \
         common/dialect_responses.c common/dialect_responses_decode.c \
         common/dialect_messages.c common/dialect_messages_decode.c \
         common/app.c common/page.c \
         common/server.c

# The ledger without its Redis backend's connection (unit tests add it).
LEDGER_MODS = common/win.c common/ledger_rec.c common/keysel.c \
              common/daycal.c common/ledger_scope.c common/stats.c \
              common/ledger_admin.c \
              common/store.c common/ledger.c common/ledger_lmdb.c \
              common/ledger_migrate.c common/usage.c
LEDGER_UNIT = $(LEDGER_MODS) common/redis.c common/ledger_redis.c \
              common/log.c common/config.c common/redisurl.c common/utf8.c \
              common/buf.c common/err.c

# Unit tests: name -> the modules it links (pure modules only).
UNITS = buf err sse config validate jsonraw provider router win rec daycal \
        keysel \
        ledger migrate quota \
        retryhint health listen sigs dialect dialect_responses dialect_messages \
        native metrics admin longwin
UNIT_metrics  = common/metrics.c $(LEDGER_UNIT)
UNIT_admin    = $(LEDGER_UNIT)
UNIT_longwin  = $(LEDGER_UNIT)
UNIT_buf      = common/buf.c common/err.c
UNIT_err      = common/buf.c common/err.c
UNIT_sse      = common/sse.c common/buf.c common/err.c
UNIT_config   = common/config.c common/redisurl.c common/utf8.c common/buf.c \
                common/err.c
UNIT_validate = common/validate.c common/utf8.c common/buf.c common/err.c
UNIT_jsonraw  = common/jsonraw.c common/buf.c common/err.c
UNIT_provider = common/gemini_compat.c common/thoughts.c common/gemini_think.c \
                common/retryhint.c \
                common/oaicompat.c common/provider_openrouter.c \
                common/provider_gemini.c common/provider_gemini_native.c \
                $(GEMINI_NATIVE) common/jsonraw.c common/config.c \
                common/redisurl.c common/utf8.c common/buf.c common/err.c
GEMINI_NATIVE = common/gemini_native.c common/gemini_native_request.c \
                common/gemini_native_gen.c common/gemini_think.c \
                common/gemini_native_reply.c \
                common/gemini_native_stream.c common/gemini_native_embed.c
UNIT_native   = $(GEMINI_NATIVE) common/gemini_compat.c common/thoughts.c \
                common/retryhint.c \
                common/gemini_think.c common/oaicompat.c \
                common/provider_openrouter.c common/provider_gemini.c \
                common/provider_gemini_native.c common/jsonraw.c \
                common/config.c common/redisurl.c common/utf8.c common/buf.c \
                common/err.c
UNIT_router   = common/router.c common/config.c common/redisurl.c \
                common/utf8.c common/buf.c common/err.c
UNIT_win      = common/win.c
UNIT_rec      = common/ledger_rec.c common/redisurl.c
UNIT_daycal   = common/daycal.c
UNIT_keysel   = common/keysel.c
UNIT_retryhint = common/retryhint.c common/buf.c common/err.c
UNIT_ledger   = $(LEDGER_UNIT)
UNIT_listen   = common/listenaddr.c
UNIT_sigs     = common/thoughtsig.c common/sigcache.c common/store.c \
                common/buf.c common/err.c
DIALECT_MODS  = common/dialect.c common/dialect_chat.c \
                common/dialect_responses.c common/dialect_responses_decode.c \
                common/dialect_messages.c common/dialect_messages_decode.c \
                common/decoder.c common/jsonraw.c common/validate.c \
                common/utf8.c \
                common/buf.c common/err.c
UNIT_dialect  = $(DIALECT_MODS)
UNIT_dialect_responses = $(DIALECT_MODS)
UNIT_dialect_messages  = $(DIALECT_MODS)
UNIT_health   = $(LEDGER_UNIT)
UNIT_migrate  = $(LEDGER_UNIT)
UNIT_quota    = $(LEDGER_UNIT)

B      ?= build/rel
OBJS    = $(COMMON:%.c=$(B)/%.o) $(B)/gen/ledger_lua.o $(B)/gen/page_assets.o

all: cgi/aiproxy

cgi/aiproxy: $(B)/cgi/aiproxy.o $(OBJS)
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $(filter %.o,$^) $(LDLIBS)

$(B)/aiproxy: $(B)/cgi/aiproxy.o $(OBJS)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LD) -o $@ $(filter %.o,$^) $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# ledger.lua compiled in as one C string (ledger_lua.h): each line quoted,
# backslashes and quotes escaped.
$(B)/gen/ledger_lua.c: common/ledger.lua
	@mkdir -p $(dir $@)
	{ echo '#include "ledger_lua.h"'; echo 'const char px_ledger_lua[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(B)/gen/ledger_lua.o: $(B)/gen/ledger_lua.c
	$(CC) $(ALL_CFLAGS) -Icommon -c -o $@ $<

# The usage page (issue 14) compiled in as C strings (page_assets.h): each
# line quoted, backslashes, quotes and '?' (no trigraphs) escaped.
PAGE_ASSETS = common/page/usage.html common/page/usage.js common/page/usage.css
$(B)/gen/page_assets.c: $(PAGE_ASSETS)
	@mkdir -p $(dir $@)
	{ echo '#include "page_assets.h"'; \
	  for a in html js css; do \
	    echo "const char px_page_$$a[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' \
	        -e 's/$$/\\n"/' common/page/usage.$$a; \
	    echo ';'; \
	    echo "const size_t px_page_$${a}_len = sizeof(px_page_$$a) - 1;"; \
	  done; } > $@

$(B)/gen/page_assets.o: $(B)/gen/page_assets.c
	$(CC) $(ALL_CFLAGS) -Icommon -c -o $@ $<

define unit_rule
$(B)/unit/test_$(1): tests/unit/test_$(1).c $$(UNIT_$(1):%.c=$(B)/%.o) \
    $$(if $$(findstring ledger_redis,$$(UNIT_$(1))),$(B)/gen/ledger_lua.o)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$(filter %.c %.o,$$^) $$(LDLIBS)
endef
$(foreach u,$(UNITS),$(eval $(call unit_rule,$(u))))

unit-bins: $(UNITS:%=$(B)/unit/test_%)

# test tool: a port where TCP connects hang (connect-timeout tests)
$(B)/blackhole: tests/integ/blackhole.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# --- packages (Debian 12) ---------------------------------------------------
# deps: what building and `make run` need; test-deps adds the test tools.
# CMD:PKG installs PKG only when CMD is missing (see tests/deps.sh).
DEB_PKGS  = cc:build-essential pkg-config libfcgi-dev libfcgi-bin \
            libcurl4-openssl-dev libcjson-dev liblmdb-dev libhiredis-dev \
            lighttpd \
            ca-certificates
TEST_PKGS = curl node:nodejs npm:npm apache2 libapache2-mod-fcgid \
            nginx-light spawn-fcgi lmdb-utils clang libclang-rt-14-dev \
            redis-server prometheus chromium fonts-liberation
deps:
	@sh tests/deps.sh $(DEB_PKGS)

test-deps:
	@sh tests/deps.sh $(DEB_PKGS) $(TEST_PKGS)

# --- tests --------------------------------------------------------------------
test: test-deps
	$(MAKE) B=build/asan SAN=asan build/asan/aiproxy unit-bins \
	    build/asan/blackhole
	bash tests/run.sh build/asan

unit:
	$(MAKE) B=build/asan SAN=asan unit-bins
	bash tests/run.sh build/asan unit

# --- run: lighttpd on 127.0.0.1:8080 spawning the proxy with ./config.json ----
run: deps all
	sh deploy/run-local.sh

PREFIX ?= /usr/local
install: all
	sh deploy/install.sh "$(DESTDIR)" "$(PREFIX)"

lint:
	clang-tidy --quiet $(COMMON) cgi/aiproxy.c -- $(CSTD) -Icommon \
	    -isystem /usr/include/cjson
	cppcheck --quiet --enable=warning,performance,portability \
	    --error-exitcode=1 --inline-suppr -Icommon $(COMMON) cgi/aiproxy.c

clean:
	rm -rf build cgi/aiproxy

# --- bench (issue 6): measurements on 127.0.0.1, writes BENCHMARKS.md --------
# QUICK=1 for a smoke run of about 5 minutes (a full one takes about 16);
# needs wrk nginx-light lighttpd valgrind linux-perf strace redis-server.
# make bench [QUICK=1] [BENCH_ARGS=http2|redis|dialects|ledger|issue15]:
# side-by-side measurements into BENCHMARKS.md (one part with BENCH_ARGS)
BENCH_PKGS = wrk nginx-light valgrind linux-perf strace redis-server
bench-deps:
	@sh tests/deps.sh $(DEB_PKGS) $(BENCH_PKGS)

bench: bench-deps all
	QUICK="$(QUICK)" bash bench/run.sh $(BENCH_ARGS)

.PHONY: all deps test-deps test install unit run lint clean unit-bins bench \
        bench-deps

# make fuzz, fuzz-smoke (run by tests/run.sh), fuzz-build, fuzz-deps
include tests/fuzz/fuzz.mk
-include $(shell find build -name '*.d' 2>/dev/null)
