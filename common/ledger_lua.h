/*
 * ledger_lua.h -- the text of ledger.lua, compiled in: the Makefile turns
 * common/ledger.lua into a C string ($(B)/gen/ledger_lua.c), so the script
 * stays a readable Lua file and the binary needs nothing beside it.
 * Never: edited by hand in its generated form.
 */
#ifndef PX_LEDGER_LUA_H
#define PX_LEDGER_LUA_H

extern const char px_ledger_lua[];

#endif
