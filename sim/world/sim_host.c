/* sim_host.c - the small helpers shared by the world's parts (see sim_host.h). */
#include "sim/world/sim_host.h"

#include <assert.h>

uint64_t sim_hash_bytes(const void *data, size_t len) {
    assert(data != NULL || len == 0);
    const unsigned char *p = data;
    uint64_t h = rt_mix64(0x5eed0000u ^ (uint64_t)len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; b--) /* explicit little-endian: same on every host */
            w = (w << 8) | p[i + (size_t)b];
        h = rt_mix64(h ^ w);
    }
    uint64_t tail = 0;
    for (size_t j = len; j > i; j--)
        tail = (tail << 8) | p[j - 1];
    return rt_mix64(h ^ tail ^ 0xa5);
}
