/* Fuzz target: the entropy stream decoder (raw, constant and rANS modes) on arbitrary bytes. The
 * first two bytes choose how many symbols to ask for. */
#include <stdlib.h>

#include "codec/entropy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t n = (size_t)data[0] | ((size_t)data[1] << 8);
    n *= 4;
    uint8_t *symbols = malloc(n ? n : 1);
    size_t consumed;
    if (entropy_decode(data + 2, size - 2, symbols, n, &consumed) == SARAPHIS_OK && consumed > size - 2) abort();
    free(symbols);
    return 0;
}
