/* LSB-first bit packing: value i of width w occupies stream bits [i*w, (i+1)*w). Widths up to 57
 * bits, so one 64-bit accumulator always has room for the next value. The reader never touches a
 * byte past the end it was given: short input yields zero bits and an overrun flag. */
#ifndef SARAPHIS_COMMON_BITSTREAM_H
#define SARAPHIS_COMMON_BITSTREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *out;
    size_t pos;
    uint64_t accumulator;
    unsigned bits;
} bit_writer_t;

static inline void bit_writer_init(bit_writer_t *w, uint8_t *out) { w->out = out; w->pos = 0; w->accumulator = 0; w->bits = 0; }

static inline void bit_writer_put(bit_writer_t *w, uint64_t value, unsigned width)
{
    w->accumulator |= value << w->bits;
    w->bits += width;
    while (w->bits >= 8) {
        w->out[w->pos++] = (uint8_t)w->accumulator;
        w->accumulator >>= 8;
        w->bits -= 8;
    }
}

/* Flushes the last partial byte; returns bytes written. */
static inline size_t bit_writer_finish(bit_writer_t *w)
{
    if (w->bits) w->out[w->pos++] = (uint8_t)w->accumulator;
    w->accumulator = 0;
    w->bits = 0;
    return w->pos;
}

typedef struct {
    const uint8_t *in;
    size_t size;
    size_t pos;
    uint64_t accumulator;
    unsigned bits;
    int overrun;
} bit_reader_t;

static inline void bit_reader_init(bit_reader_t *r, const uint8_t *in, size_t size)
{
    r->in = in; r->size = size; r->pos = 0; r->accumulator = 0; r->bits = 0; r->overrun = 0;
}

static inline uint64_t bit_reader_get(bit_reader_t *r, unsigned width)
{
    while (r->bits < width) {
        uint64_t byte = 0;
        if (r->pos < r->size) byte = r->in[r->pos++];
        else r->overrun = 1;
        r->accumulator |= byte << r->bits;
        r->bits += 8;
    }
    uint64_t value = width == 64 ? r->accumulator : r->accumulator & (((uint64_t)1 << width) - 1);
    r->accumulator = width == 64 ? 0 : r->accumulator >> width;
    r->bits -= width;
    return value;
}

static inline size_t packed_bytes(size_t count, unsigned width) { return (count * width + 7) / 8; }

#endif
