/* Little-endian loads and stores and small bit helpers. Every multi-byte field Saraphis writes is
 * little-endian; these go through memcpy so unaligned addresses are safe on every target. */
#ifndef SARAPHIS_COMMON_BITS_H
#define SARAPHIS_COMMON_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint16_t load_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t load_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t load_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void store_le16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void store_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void store_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

static inline unsigned count_trailing_zeros64(uint64_t v) { return v ? (unsigned)__builtin_ctzll(v) : 64; }
static inline unsigned bit_width64(uint64_t v) { return v ? 64u - (unsigned)__builtin_clzll(v) : 0; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Saraphis supports little-endian hosts only"
#endif

#endif
