/*
 * The kernels of `kiln bench compute` (see <kiln/compute.h>).  Written for
 * this benchmark; none is taken from another suite.
 *
 * Rules that keep the host and the guest comparable: no call outside this
 * file (a struct copy or a zeroing loop the compiler turned into memcpy or
 * memset would run glibc's SSE code on the host and the platform's byte
 * loop in the guest), no floating point, every input generated here from a
 * fixed seed, and every checksum independent of where the arena lies.
 */
#include <kiln/compute.h>

/* ---- generators and mixers ------------------------------------------------ */

/* xorshift64*: one multiply and three shifts per number; never returns to the zero state. */
static inline uint64_t next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* Folds v into a running checksum so that order matters. */
static inline uint64_t fold(uint64_t acc, uint64_t v)
{
    return rotl(acc ^ v, 23) * 0x9E3779B97F4A7C15ull + 1;
}

/* ---- integer: ALU work and unpredictable branches, no memory ----------------- */

static uint64_t integer(uint64_t iterations)
{
    uint64_t seed = 0x1234567890ABCDEFull, acc = 0;
    for (uint64_t i = 0; i < iterations; i++) {
        uint64_t a = next(&seed), b = next(&seed);
        /* Binary GCD of two odd 32-bit numbers: subtract and shift, a branch per step. */
        uint64_t u = (a >> 32) | 1, v = (b >> 32) | 1;
        while (u != v) {
            if (u > v) {
                u -= v;
                u >>= __builtin_ctzll(u);
            } else {
                v -= u;
                v >>= __builtin_ctzll(v);
            }
        }
        /* Collatz steps of a 10-bit start: data-dependent trip count and branch. */
        uint64_t c = (a & 0x3ff) | 1;
        unsigned steps = 0;
        while (c != 1) {
            c = (c & 1) ? 3 * c + 1 : c >> 1;
            steps++;
        }
        /* One real 64-bit division per iteration. */
        acc = fold(acc, u + steps + b % 1000003);
    }
    return acc;
}

/* ---- memory: latency (a dependent chain of loads) and bandwidth ------------ */

static uint64_t memory(uint64_t n, uint64_t reps, uint32_t *t)
{
    uint64_t seed = 0xC0FFEE1234ull;
    for (uint64_t i = 0; i < n; i++)
        t[i] = (uint32_t)i;
    /* Sattolo's shuffle: a random permutation that is one cycle through every entry, so the
     * chase below visits the whole table in a random order and no prefetcher can follow. */
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = next(&seed) % i;
        uint32_t x = t[i];
        t[i] = t[j];
        t[j] = x;
    }
    uint64_t acc = 0, p = 0;
    for (uint64_t r = 0; r < reps; r++) {
        uint64_t sum = 0;
        for (uint64_t k = 0; k < n; k++) {
            p = t[p];
            sum += p;
        }
        /* A streaming sweep: sequential reads the prefetcher can follow. */
        uint64_t sweep = 0;
        for (uint64_t i = 0; i < n; i++)
            sweep += (t[i] ^ r) * (i | 1);
        acc = fold(fold(acc, sum), sweep);
    }
    return fold(acc, p);
}

/* ---- sort: quicksort with a heapsort fallback -------------------------------- */

static void insertion(uint64_t *a, uint64_t n)
{
    for (uint64_t i = 1; i < n; i++) {
        uint64_t x = a[i], j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void sift(uint64_t *a, uint64_t root, uint64_t n)
{
    uint64_t x = a[root];
    for (;;) {
        uint64_t child = 2 * root + 1;
        if (child >= n)
            break;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[child] <= x)
            break;
        a[root] = a[child];
        root = child;
    }
    a[root] = x;
}

static void heapsort(uint64_t *a, uint64_t n)
{
    for (uint64_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (uint64_t end = n; end-- > 1;) {
        uint64_t x = a[0];
        a[0] = a[end];
        a[end] = x;
        sift(a, 0, end);
    }
}

static inline void swap(uint64_t *a, uint64_t i, uint64_t j)
{
    uint64_t x = a[i];
    a[i] = a[j];
    a[j] = x;
}

/* Recurses into the smaller part and loops on the larger, so the stack stays O(log n); past
 * the depth limit (an adversarial input) the part is heapsorted instead. */
static void quicksort(uint64_t *a, uint64_t n, unsigned depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heapsort(a, n);
            return;
        }
        uint64_t mid = n / 2;
        if (a[mid] < a[0])
            swap(a, mid, 0);
        if (a[n - 1] < a[0])
            swap(a, n - 1, 0);
        if (a[n - 1] < a[mid])
            swap(a, n - 1, mid);
        uint64_t pivot = a[mid];
        /* Hoare partition: a[0..j] <= pivot <= a[j+1..n-1]. */
        uint64_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap(a, i, j);
            i++;
            j--;
        }
        uint64_t left = j + 1;
        if (left < n - left) {
            quicksort(a, left, depth);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left, depth);
            n = left;
        }
    }
    insertion(a, n);
}

static uint64_t sort(uint64_t n, uint64_t reps, uint64_t *keys)
{
    uint64_t seed = 0x50F7ull, acc = 0;
    unsigned depth = 0;
    for (uint64_t m = n; m > 1; m >>= 1)
        depth += 2;
    for (uint64_t r = 0; r < reps; r++) {
        for (uint64_t i = 0; i < n; i++)
            keys[i] = next(&seed);
        quicksort(keys, n, depth);
        /* The checksum is of the sorted sequence; an out-of-order pair poisons it, so a broken
         * sort can never produce the checksum of a correct one. */
        uint64_t sum = 0, disorder = 0;
        for (uint64_t i = 0; i < n; i++) {
            sum = fold(sum, keys[i]);
            disorder += i > 0 && keys[i - 1] > keys[i];
        }
        acc = fold(acc, sum ^ (disorder * 0xBADBADBADull));
    }
    return acc;
}

/* ---- hash: three byte- and word-wise hashes over a buffer ------------------ */

static uint64_t fnv1a(const unsigned char *p, uint64_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static uint32_t crc32(const uint32_t table[256], const unsigned char *p, uint64_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (uint64_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* Four independent multiply-rotate lanes over 32-byte stripes (so the multiplier's throughput,
 * not its latency, bounds it), merged at the end; the tail goes byte by byte. */
static uint64_t lanes(const unsigned char *p, uint64_t n)
{
    const uint64_t k1 = 0x9FB21C651E98DF25ull, k2 = 0xC2B2AE3D27D4EB4Full;
    uint64_t v[4] = {k1, k2, ~k1, ~k2};
    const uint64_t *w = (const uint64_t *)p;
    uint64_t stripes = n / 32;
    for (uint64_t s = 0; s < stripes; s++) {
        for (int l = 0; l < 4; l++)
            v[l] = rotl(v[l] + w[4 * s + l] * k2, 31) * k1;
    }
    uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (uint64_t i = stripes * 32; i < n; i++)
        h = rotl(h ^ (p[i] * k1), 11) * k2;
    return h ^ (h >> 29);
}

static uint64_t hash(uint64_t n, uint64_t reps, uint64_t *buf)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint64_t seed = 0x4A5B6C7Dull;
    for (uint64_t i = 0; i < n / 8; i++)
        buf[i] = next(&seed);
    unsigned char *bytes = (unsigned char *)buf;
    uint64_t acc = 0;
    for (uint64_t r = 0; r < reps; r++) {
        bytes[(r * 4099) % n] ^= (unsigned char)(r | 1); /* every pass hashes different data */
        acc = fold(acc, fnv1a(bytes, n));
        acc = fold(acc, crc32(table, bytes, n));
        acc = fold(acc, lanes(bytes, n));
    }
    return acc;
}

/* ---- minimark: a CoreMark-like mix of list, matrix and state-machine work ---- */

#define LIST_NODES 64
#define MATRIX_N 10
#define TEXT_LEN 128

struct node {
    struct node *next;
    int32_t data;
    uint32_t idx;
};

/* CRC-16/CCITT, bit by bit: the shift-and-xor loop is the point, not speed. */
static uint16_t crc16(uint16_t crc, uint32_t v)
{
    for (int byte = 0; byte < 4; byte++, v >>= 8) {
        crc ^= (uint16_t)((v & 0xFF) << 8);
        for (int k = 0; k < 8; k++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static struct node *reverse(struct node *head)
{
    struct node *prev = 0;
    while (head) {
        struct node *n = head->next;
        head->next = prev;
        prev = head;
        head = n;
    }
    return prev;
}

static inline int before(const struct node *a, const struct node *b, int by_data)
{
    return by_data ? a->data <= b->data : a->idx <= b->idx;
}

/* Bottom-up merge sort of a singly linked list: runs of width 1, 2, 4... merged in passes. */
static struct node *list_sort(struct node *head, int by_data)
{
    for (unsigned width = 1;; width *= 2) {
        struct node *rest = head, *out = 0, **tail = &out;
        unsigned merges = 0;
        while (rest) {
            merges++;
            struct node *a = rest, *b = rest;
            unsigned na = 0, nb = width;
            while (b && na < width) {
                b = b->next;
                na++;
            }
            while (na > 0 || (nb > 0 && b)) {
                struct node *take;
                if (na == 0) {
                    take = b;
                    b = b->next;
                    nb--;
                } else if (nb == 0 || !b || before(a, b, by_data)) {
                    take = a;
                    a = a->next;
                    na--;
                } else {
                    take = b;
                    b = b->next;
                    nb--;
                }
                *tail = take;
                tail = &take->next;
            }
            rest = b;
        }
        *tail = 0;
        head = out;
        if (merges <= 1)
            return head;
    }
}

/* Classifies comma-separated tokens as integers, decimals, scientific numbers or invalid,
 * one character at a time through an explicit state machine. */
enum { S_START, S_SIGN, S_INT, S_DOT, S_FRAC, S_EXP, S_EXPSIGN, S_EXPDIGIT, S_BAD };

static uint32_t scan(const char *text, uint32_t counts[4])
{
    uint32_t transitions = 0;
    int state = S_START;
    for (int i = 0; i <= TEXT_LEN; i++) {
        char ch = i < TEXT_LEN ? text[i] : ',';
        int digit = ch >= '0' && ch <= '9';
        int next_state;
        if (ch == ',') {
            if (state == S_INT)
                counts[0]++;
            else if (state == S_FRAC)
                counts[1]++;
            else if (state == S_EXPDIGIT)
                counts[2]++;
            else if (state != S_START)
                counts[3]++;
            next_state = S_START;
        } else {
            switch (state) {
            case S_START:
                next_state = digit ? S_INT : (ch == '+' || ch == '-') ? S_SIGN : ch == '.' ? S_DOT : S_BAD;
                break;
            case S_SIGN:
                next_state = digit ? S_INT : ch == '.' ? S_DOT : S_BAD;
                break;
            case S_INT:
                next_state = digit ? S_INT : ch == '.' ? S_DOT : (ch == 'e' || ch == 'E') ? S_EXP : S_BAD;
                break;
            case S_DOT:
            case S_FRAC:
                next_state = digit ? S_FRAC : (state == S_FRAC && (ch == 'e' || ch == 'E')) ? S_EXP : S_BAD;
                break;
            case S_EXP:
                next_state = digit ? S_EXPDIGIT : (ch == '+' || ch == '-') ? S_EXPSIGN : S_BAD;
                break;
            case S_EXPSIGN:
            case S_EXPDIGIT:
                next_state = digit ? S_EXPDIGIT : S_BAD;
                break;
            default:
                next_state = S_BAD;
            }
        }
        transitions += next_state != state;
        state = next_state;
    }
    return transitions;
}

struct minimark_state {
    struct node nodes[LIST_NODES];
    int16_t a[MATRIX_N][MATRIX_N], b[MATRIX_N][MATRIX_N];
    int32_t c[MATRIX_N][MATRIX_N];
    char text[TEXT_LEN];
};

static uint64_t minimark(uint64_t iterations, struct minimark_state *st)
{
    static const char alphabet[] = "0123456789012345+-.eE,,x";
    uint64_t seed = 0x3A3A3A3Aull;
    for (uint32_t i = 0; i < LIST_NODES; i++) {
        st->nodes[i].next = i + 1 < LIST_NODES ? &st->nodes[i + 1] : 0;
        st->nodes[i].data = (int32_t)(next(&seed) & 0x3FF);
        st->nodes[i].idx = i;
    }
    for (int r = 0; r < MATRIX_N; r++) {
        for (int c = 0; c < MATRIX_N; c++) {
            st->a[r][c] = (int16_t)(next(&seed) & 0xFFF) - 0x800;
            st->b[r][c] = (int16_t)(next(&seed) & 0xFFF) - 0x800;
        }
    }
    for (int i = 0; i < TEXT_LEN; i++)
        st->text[i] = alphabet[next(&seed) % (sizeof alphabet - 1)];

    struct node *head = &st->nodes[0];
    uint16_t crc = 0;
    uint64_t acc = 0;
    for (uint64_t it = 0; it < iterations; it++) {
        /* List: find a value, reverse, sort by value, change one node, sort back by index. */
        int32_t key = (int32_t)((it * 37) & 0x3FF);
        int32_t found = -1, pos = 0;
        for (struct node *n = head; n; n = n->next, pos++) {
            if (n->data == key) {
                found = pos;
                break;
            }
        }
        head = reverse(head);
        head = list_sort(head, 1);
        uint32_t changed = (uint32_t)(it % LIST_NODES);
        pos = 0;
        for (struct node *n = head; n; n = n->next, pos++) {
            crc = crc16(crc, (uint32_t)n->data);
            if ((uint32_t)pos == changed)
                n->data = (n->data ^ (int32_t)(it & 0xFF)) & 0x3FF;
        }
        head = list_sort(head, 0);
        crc = crc16(crc, (uint32_t)found);

        /* Matrix: vary one element of A, multiply, fold the product's bits. */
        st->a[it % MATRIX_N][(it / MATRIX_N) % MATRIX_N] += (int16_t)((it & 7) - 3);
        int32_t sum = 0;
        for (int r = 0; r < MATRIX_N; r++) {
            for (int c = 0; c < MATRIX_N; c++) {
                int32_t x = 0;
                for (int k = 0; k < MATRIX_N; k++)
                    x += (int32_t)st->a[r][k] * st->b[k][c];
                st->c[r][c] = x;
                sum += (x >> 3) & 0x7FFF;
            }
        }
        crc = crc16(crc, (uint32_t)sum);

        /* State machine: change one character, classify the tokens again. */
        st->text[it % TEXT_LEN] = alphabet[(it * 13) % (sizeof alphabet - 1)];
        uint32_t counts[4] = {0, 0, 0, 0};
        uint32_t transitions = scan(st->text, counts);
        crc = crc16(crc, transitions);
        for (int k = 0; k < 4; k++)
            crc = crc16(crc, counts[k]);
        acc = fold(acc, crc);
    }
    return acc;
}

uint64_t compute_run(enum compute_workload w, struct compute_size s, void *arena)
{
    switch (w) {
    case COMPUTE_INTEGER:
        return integer(s.elems);
    case COMPUTE_MEMORY:
        return memory(s.elems, s.reps, arena);
    case COMPUTE_SORT:
        return sort(s.elems, s.reps, arena);
    case COMPUTE_HASH:
        return hash(s.elems, s.reps, arena);
    case COMPUTE_MINIMARK:
        return minimark(s.elems, arena);
    default:
        return 0;
    }
}

/*
 * Sizes.  At full scale (1000000 ppm) each workload takes ~0.3-0.8 s on one core of a current
 * x86 machine, the memory workload ~1.5 s: its table is then 32 MiB, 8192 pages (far past the
 * TLB) and as large as this host's L3, so most steps of the random walk miss both.  A larger
 * scale repeats the full size; a smaller one first repeats less, then shrinks the data (never
 * below a floor that keeps the kernel meaningful), so a tiny scale still runs every kind of
 * step, as an emulating hypervisor needs.  The integer and minimark kernels have no data to
 * size: their iteration count scales.
 */
struct full_size {
    uint64_t elems, reps, min_elems, elem_bytes, round;
};

static const struct full_size FULL[COMPUTE_COUNT] = {
    [COMPUTE_INTEGER] = {3300000, 1, 1, 0, 1},
    [COMPUTE_MEMORY] = {8u << 20, 1, 1024, sizeof(uint32_t), 1},
    [COMPUTE_SORT] = {1u << 20, 8, 64, sizeof(uint64_t), 1},
    [COMPUTE_HASH] = {1u << 20, 128, 1024, 1, 8},
    [COMPUTE_MINIMARK] = {70000, 1, 1, 0, 1},
};

struct compute_size compute_size(enum compute_workload w, uint64_t scale_ppm)
{
    const struct full_size *f = &FULL[w];
    struct compute_size s;
    if (f->elem_bytes == 0) {
        /* no data to size: elems counts iterations, and the scale applies to them directly */
        s.reps = 1;
        s.elems = f->elems * scale_ppm / 1000000;
        if (s.elems < f->min_elems)
            s.elems = f->min_elems;
    } else if (scale_ppm >= 1000000) {
        s.elems = f->elems;
        s.reps = f->reps * scale_ppm / 1000000;
    } else {
        /* fewer repetitions first; once down to one, less data */
        s.reps = f->reps * scale_ppm / 1000000;
        if (s.reps == 0)
            s.reps = 1;
        s.elems = f->elems * f->reps * scale_ppm / 1000000 / s.reps;
        if (s.elems > f->elems)
            s.elems = f->elems;
        if (s.elems < f->min_elems)
            s.elems = f->min_elems;
    }
    s.elems -= s.elems % f->round;
    s.arena_bytes = w == COMPUTE_MINIMARK ? sizeof(struct minimark_state) : s.elems * f->elem_bytes;
    return s;
}
