/* sim_latency.c - the latency models of the simulated network (see sim_net.h): constant,
 * uniform and clipped lognormal one-way delays, sampled from a link's own PRNG stream,
 * and their text form ("lognormal:200us:0.5:50us:20ms") as scenario files write it.
 * Sampling is bit-exact across machines: ln and exp are computed from + - * / only.
 */
#include "sim/world/sim_net.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Bit-exact arithmetic: never fuse a * b + c into an FMA. clang's default allows it;
 * gcc in ISO C mode (-std=c11) already does not contract, and warns on the pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

SimLatency sim_latency_constant(uint64_t ns) {
    return (SimLatency){.kind = SIM_LATENCY_CONSTANT, .a_ns = ns, .b_ns = ns, .min_ns = ns,
                        .max_ns = ns};
}

SimLatency sim_latency_uniform(uint64_t lo_ns, uint64_t hi_ns) {
    assert(lo_ns <= hi_ns);
    return (SimLatency){.kind = SIM_LATENCY_UNIFORM, .a_ns = lo_ns, .b_ns = hi_ns,
                        .min_ns = lo_ns, .max_ns = hi_ns};
}

SimLatency sim_latency_lognormal(uint64_t median_ns, double sigma, uint64_t min_ns,
                                 uint64_t max_ns) {
    assert(sigma >= 0.0 && min_ns <= max_ns);
    return (SimLatency){.kind = SIM_LATENCY_LOGNORMAL, .a_ns = median_ns, .sigma = sigma,
                        .min_ns = min_ns, .max_ns = max_ns};
}

/* ln(x), x > 0 finite, from + - * / only (no libm): glibc picks FMA or non-FMA code for
 * log/exp by CPU, and their last bits may differ; the trace hash may not. frexp is
 * exact; the atanh series for m in [0.5, 1) converges fast (|z| <= 1/3). */
static double sim_det_log(double x) {
    int e = 0;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    double z = (m - 1.0) / (m + 1.0), z2 = z * z, term = z, sum = 0.0;
    for (int k = 1; k < 80; k += 2) { /* z^80 < 1e-38: far below one ulp */
        sum += term / k;
        term *= z2;
    }
    return 2.0 * sum + e * 0.69314718055994530942;
}

/* e^x for |x| < 700, from + - * / and ldexp (exact). */
static double sim_det_exp(double x) {
    double kf = floor(x / 0.69314718055994530942 + 0.5);
    double r = x - kf * 0.69314718055994530942; /* |r| <= ln2 / 2 (+ rounding) */
    double term = 1.0, sum = 1.0;
    for (int n = 1; n < 30; n++) { /* (ln2/2)^30 / 30! < 1e-40 */
        term *= r / n;
        sum += term;
    }
    return ldexp(sum, (int)kf);
}

/* A standard normal deviate by Marsaglia's polar method (log and sqrt only). */
static double sim_normal(RtRng *rng) {
    for (int i = 0; i < 64; i++) {
        double u = 2.0 * rt_rng_double(rng) - 1.0;
        double v = 2.0 * rt_rng_double(rng) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * sim_det_log(s) / s);
    }
    return 0.0; /* probability 2^-140: a bound, not a path */
}

uint64_t sim_latency_sample(const SimLatency *lat, RtRng *rng) {
    assert(lat != NULL && rng != NULL);
    switch (lat->kind) {
    case SIM_LATENCY_CONSTANT: return lat->a_ns;
    case SIM_LATENCY_UNIFORM: return rt_rng_range(rng, lat->a_ns, lat->b_ns);
    case SIM_LATENCY_LOGNORMAL: {
        double z = lat->sigma * sim_normal(rng);
        if (z > 700.0)
            return lat->max_ns;
        if (z < -700.0)
            return lat->min_ns;
        double x = (double)lat->a_ns * sim_det_exp(z);
        if (!(x >= (double)lat->min_ns))
            return lat->min_ns;
        if (x >= (double)lat->max_ns)
            return lat->max_ns;
        return (uint64_t)(x + 0.5);
    }
    }
    assert(!"unknown latency kind");
    return 0;
}

/* Parses "<number><unit>" (ns, us, ms, s; none = ns) into *ns. */
static bool sim_parse_duration(const char *s, uint64_t *ns) {
    char *end = NULL;
    if (s == NULL || !g_ascii_isdigit(s[0]))
        return false;
    double v = g_ascii_strtod(s, &end);
    uint64_t mult = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "ns") == 0)
        mult = 1;
    else if (strcmp(end, "us") == 0)
        mult = 1000;
    else if (strcmp(end, "ms") == 0)
        mult = 1000000;
    else if (strcmp(end, "s") == 0)
        mult = 1000000000;
    else
        return false;
    double r = v * (double)mult;
    if (!(r >= 0.0) || r > 1e18)
        return false;
    *ns = (uint64_t)(r + 0.5);
    return true;
}

bool sim_latency_parse(const char *text, SimLatency *out, GError **error) {
    assert(text != NULL && out != NULL);
    gchar **f = g_strsplit(text, ":", 6);
    guint n = g_strv_length(f);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    bool ok = false;
    if (n == 2 && strcmp(f[0], "constant") == 0 && sim_parse_duration(f[1], &a)) {
        *out = sim_latency_constant(a);
        ok = true;
    } else if (n == 3 && strcmp(f[0], "uniform") == 0 && sim_parse_duration(f[1], &a) &&
               sim_parse_duration(f[2], &b) && a <= b) {
        *out = sim_latency_uniform(a, b);
        ok = true;
    } else if (n == 5 && strcmp(f[0], "lognormal") == 0 && sim_parse_duration(f[1], &a) &&
               sim_parse_duration(f[3], &c) && sim_parse_duration(f[4], &d) && c <= d) {
        char *end = NULL;
        double sigma = g_ascii_strtod(f[2], &end);
        if (end != f[2] && *end == '\0' && sigma >= 0.0 && sigma <= 10.0) {
            *out = sim_latency_lognormal(a, sigma, c, d);
            ok = true;
        }
    }
    g_strfreev(f);
    if (!ok)
        g_set_error(error, SIM_NET_ERROR, 0,
                    "bad latency '%s' (want constant:D, uniform:LO:HI or "
                    "lognormal:MEDIAN:SIGMA:MIN:MAX; durations like 200us, 2ms)",
                    text);
    return ok;
}
