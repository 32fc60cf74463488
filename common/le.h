/*
 * le.h -- little-endian integers in byte buffers, for the records the
 * ledger shares between processes and hosts (LMDB values, Redis strings).
 * Owns: the one byte order of every stored integer, whatever the CPU.
 * Never: bounds checks (callers size their buffers first) or allocation.
 */
#ifndef PX_LE_H
#define PX_LE_H

#include <stdint.h>

static inline void
px_le_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void
px_le_put32(unsigned char *p, uint32_t v)
{
	px_le_put16(p, (uint16_t)v);
	px_le_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void
px_le_put64(unsigned char *p, uint64_t v)
{
	px_le_put32(p, (uint32_t)v);
	px_le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
px_le_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t
px_le_get32(const unsigned char *p)
{
	return px_le_get16(p) | (uint32_t)px_le_get16(p + 2) << 16;
}

static inline uint64_t
px_le_get64(const unsigned char *p)
{
	return px_le_get32(p) | (uint64_t)px_le_get32(p + 4) << 32;
}

#endif
