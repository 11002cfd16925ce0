/* Checksums: XXH64 against published test vectors; the segment hash against its definition; the
 * streaming digest, the AVX2 path and the portable path agree on every size around segment and
 * batch boundaries; a change of any single byte changes the checksum; the format's value of a
 * fixed input is pinned (a change to it is a format change). */
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "testing.h"

#define PINNED_123456789 0xEABBF63F1DB4B1D7ULL

int main(void)
{
    /* Published vectors. */
    /* The segment hash by its definition, on a 12-byte input (one full pair, one padded). */
    {
        const uint8_t bytes[12] = {1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
        uint64_t expected = (uint64_t)(1u + 0x9E3779B1u) * (uint32_t)(2u + 2u * 0x9E3779B1u) +
                            (uint64_t)(uint32_t)(0xffffffffu + 3u * 0x9E3779B1u) * (uint32_t)(4u * 0x9E3779B1u);
        CHECK(checksum_segment_hash(bytes, 12) == expected);
        CHECK(checksum_segment_hash(bytes, 0) == 0);
    }
    CHECK(xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    CHECK(xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
    CHECK(xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    size_t size = 3 * 512 * CHECKSUM_SEGMENT_BYTES + 12345;
    uint8_t *data = malloc(size);
    unsigned long long rng = 17;
    for (size_t i = 0; i < size; i++) data[i] = (uint8_t)test_random(&rng);
    size_t sizes[] = {0, 1, 7, 8, 9, 31, 32, 33, 4095, 4096, 4097, 4 * 4096, 4 * 4096 + 1, 5 * 4096 - 3, 511 * 4096, 512 * 4096,
                      512 * 4096 + 1, 1000 * 4096 + 17, size};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t fast = checksum64(data, sizes[k], 5), portable = checksum64_portable(data, sizes[k], 5);
        CHECK_MSG(fast == portable, "size %zu: fast %016llx portable %016llx", sizes[k], (unsigned long long)fast, (unsigned long long)portable);
    }
    /* The format's value for a fixed input (docs/format.md, "Checksums"). */
    CHECK_MSG(checksum64("123456789", 9, 0) == PINNED_123456789, "checksum64(\"123456789\") = %016llx",
              (unsigned long long)checksum64("123456789", 9, 0));
    /* Seeds and lengths matter. */
    CHECK(checksum64(data, 100, 0) != checksum64(data, 100, 1));
    CHECK(checksum64(data, 100, 0) != checksum64(data, 101, 0));
    /* Every single-byte change in a 64 KiB buffer is detected. */
    uint64_t reference = checksum64(data, 65536, 0);
    size_t missed = 0;
    for (size_t i = 0; i < 65536; i++) {
        data[i] ^= (uint8_t)(1u << (i % 8));
        missed += checksum64(data, 65536, 0) == reference;
        data[i] ^= (uint8_t)(1u << (i % 8));
    }
    CHECK_MSG(missed == 0, "%zu single-bit flips missed", missed);
    free(data);
    return TEST_SUMMARY("checksum");
}
