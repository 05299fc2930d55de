/*
 * The command line and the result lines of `kiln bench compute` (see
 * <kiln/compute.h>): one parser and one formatter, which the guest app and
 * the host driver both use, so the two sides cannot drift apart.
 */
#include <kiln/compute.h>
#include <kiln/fmt.h>

static const char *const NAMES[COMPUTE_COUNT] = {
    [COMPUTE_INTEGER] = "integer",
    [COMPUTE_MEMORY] = "memory",
    [COMPUTE_SORT] = "sort",
    [COMPUTE_HASH] = "hash",
    [COMPUTE_MINIMARK] = "minimark",
};

const char *compute_name(enum compute_workload w)
{
    return (unsigned)w < COMPUTE_COUNT ? NAMES[w] : "?";
}

/* Whether the word [p, p + n) is exactly s. */
static int word_is(const char *p, unsigned long n, const char *s)
{
    unsigned long i = 0;
    for (; i < n && s[i] && p[i] == s[i]; i++)
        ;
    return i == n && s[i] == '\0';
}

/* The message for a word that is neither scale=PPM nor a workload; it names the word. */
static const char *unknown_word(const char *p, unsigned long n)
{
    static char message[200];
    struct fmt_buf b;
    fmt_init(&b, message, sizeof message - 1);
    fmt_puts(&b, "unknown word '");
    fmt_putn(&b, p, n > 40 ? 40 : n);
    fmt_puts(&b, n > 40 ? "...'" : "'");
    fmt_puts(&b, " (expected scale=PPM or a workload: integer memory sort hash minimark)");
    message[b.len] = '\0';
    return message;
}

const char *compute_parse(const char *cmdline, struct compute_request *req)
{
    req->scale_ppm = 0;
    req->mask = 0;
    const char *p = cmdline;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        unsigned long n = 0;
        while (p[n] && p[n] != ' ')
            n++;
        if (n > 6 && word_is(p, 6, "scale=")) {
            unsigned long long v;
            unsigned long digits = fmt_parse_u64(p + 6, &v);
            if (digits != n - 6 || v == 0 || v > COMPUTE_SCALE_MAX_PPM)
                return "scale=PPM must be a whole number of millionths in 1..100000000";
            req->scale_ppm = v;
        } else {
            int w = 0;
            while (w < COMPUTE_COUNT && !word_is(p, n, NAMES[w]))
                w++;
            if (w == COMPUTE_COUNT)
                return unknown_word(p, n);
            req->mask |= 1u << w;
        }
        p += n;
    }
    if (req->scale_ppm == 0)
        return "missing scale=PPM";
    if (req->mask == 0)
        req->mask = (1u << COMPUTE_COUNT) - 1;
    return 0;
}

uint64_t compute_arena_bytes(const struct compute_request *req)
{
    uint64_t most = 0;
    for (int w = 0; w < COMPUTE_COUNT; w++) {
        if (req->mask & (1u << w)) {
            uint64_t b = compute_size(w, req->scale_ppm).arena_bytes;
            if (b > most)
                most = b;
        }
    }
    return most;
}

void compute_prefault(void *arena, uint64_t bytes)
{
    volatile unsigned char *p = arena;
    for (uint64_t off = 0; off < bytes; off += 4096)
        p[off] = 0;
}

size_t compute_format(char *buf, size_t cap, enum compute_workload w, struct compute_size s,
                      uint64_t ns, uint64_t tsc, uint64_t checksum)
{
    struct fmt_buf b;
    fmt_init(&b, buf, cap);
    fmt_puts(&b, "workload=");
    fmt_puts(&b, compute_name(w));
    fmt_puts(&b, " elems=");
    fmt_putu(&b, s.elems);
    fmt_puts(&b, " reps=");
    fmt_putu(&b, s.reps);
    fmt_puts(&b, " ns=");
    fmt_putu(&b, ns);
    fmt_puts(&b, " tsc=");
    fmt_putu(&b, tsc);
    fmt_puts(&b, " checksum=0x");
    /* always 16 digits, so the two sides' lines compare as text */
    for (int shift = 60; shift >= 0; shift -= 4)
        fmt_putc(&b, "0123456789abcdef"[(checksum >> shift) & 15]);
    fmt_putc(&b, '\n');
    return b.len;
}
