/* iris-xgb: predict the iris species from 4 measurements with the XGBoost trees of model.h.
 *
 *   iris-xgb 5.9 3.0 5.1 1.8     prints 2 (0 setosa, 1 versicolor, 2 virginica)
 *   iris-xgb --self-test         checks the 150 iris rows against xgboost's own predictions
 *
 * Freestanding on purpose: no libc, only the write and exit_group system calls. A static
 * glibc build of the same program (gcc -static -Os -s) is ~724 kB (683 kB for an empty main),
 * all glibc static start-up, stdio and locale code; without libc the binary is the tree
 * table plus a few hundred bytes of code. x86_64 and aarch64 Linux.
 */
#include "model.h"

#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT_GROUP 231
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
__asm__(".text\n.global _start\n_start:\n  xor %ebp, %ebp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call start_c\n  hlt\n");
#elif defined(__aarch64__)
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
static long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  mov x0, sp\n  bl start_c\n");
#else
#error "iris-xgb: only x86_64 and aarch64 Linux are supported"
#endif

static void put(int fd, const char *s) {
    long n = 0;
    while (s[n]) n++;
    while (n > 0) {
        long w = sys3(SYS_WRITE, fd, (long)s, n);
        if (w <= 0) return;
        s += w; n -= w;
    }
}

static void put_uint(int fd, unsigned v) {
    char buf[12];
    int i = 11;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    put(fd, buf + i);
}

/* Decimal text -> float the way xgboost gets it from Python: the nearest double, then the
 * nearest float32. Exact for up to 15 significant digits and |exponent| <= 22, i.e. any
 * measurement a person types; longer inputs are rounded twice (off by at most one ulp). */
static int parse(const char *s, float *out) {
    static const double pow10[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int neg = 0, digits = 0, exp10 = 0;
    unsigned long long mant = 0;
    if (*s == '+' || *s == '-') neg = (*s++ == '-');
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (mant < 100000000000000000ULL) mant = mant * 10 + (unsigned)(*s - '0');
        else exp10++;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (mant < 100000000000000000ULL) { mant = mant * 10 + (unsigned)(*s - '0'); exp10--; }
        }
    }
    if (!digits) return 0;
    if (*s == 'e' || *s == 'E') {
        int eneg = 0, e = 0, edigits = 0;
        s++;
        if (*s == '+' || *s == '-') eneg = (*s++ == '-');
        for (; *s >= '0' && *s <= '9'; s++, edigits++) if (e < 10000) e = e * 10 + (*s - '0');
        if (!edigits) return 0;
        exp10 += eneg ? -e : e;
    }
    if (*s) return 0;
    double v = (double)mant;
    for (; exp10 > 22; exp10 -= 22) v *= 1e22;
    for (; exp10 < -22; exp10 += 22) v /= 1e22;
    v = exp10 >= 0 ? v * pow10[exp10] : v / pow10[-exp10];
    if (v > 3.4028234663852886e38) return 0; /* does not fit a float32: not a measurement */
    *out = (float)(neg ? -v : v);
    return 1;
}

/* Sum each class's trees in model order, in float32, like xgboost's CPU predictor; the
 * class is the first largest margin (std::max_element in multi:softmax). */
static unsigned predict(const float *x) {
    float margin[NUM_CLASS];
    for (int k = 0; k < NUM_CLASS; k++) margin[k] = base_score[k];
    for (int t = 0; t < NUM_TREE; t++) {
        const struct node *n = &nodes[roots[t]];
        while (n->feature >= 0) n = &nodes[x[n->feature] < n->value ? n->yes : n->no];
        margin[tree_class[t]] += n->value;
    }
    unsigned best = 0;
    for (unsigned k = 1; k < NUM_CLASS; k++) if (margin[k] > margin[best]) best = k;
    return best;
}

static int self_test(void) {
    unsigned agree = 0;
    for (int i = 0; i < NUM_ROWS; i++) {
        unsigned got = predict(ref_rows[i]);
        if (got == ref_class[i]) { agree++; continue; }
        put(2, "self-test: row "); put_uint(2, (unsigned)i); put(2, ": predicted ");
        put_uint(2, got); put(2, ", xgboost says "); put_uint(2, ref_class[i]); put(2, "\n");
    }
    put(1, "self-test: "); put_uint(1, agree); put(1, "/"); put_uint(1, NUM_ROWS);
    put(1, " iris rows agree with xgboost\n");
    return agree == NUM_ROWS ? 0 : 1;
}

static int streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

static int run(int argc, char **argv) {
    if (argc == 2 && streq(argv[1], "--self-test")) return self_test();
    if (argc != NUM_FEATURE + 1) {
        put(2, "usage: iris-xgb SEPAL_LENGTH SEPAL_WIDTH PETAL_LENGTH PETAL_WIDTH  (cm)\n"
               "       iris-xgb --self-test\n"
               "prints the iris class: 0 setosa, 1 versicolor, 2 virginica\n");
        return 2;
    }
    float x[NUM_FEATURE];
    for (int i = 0; i < NUM_FEATURE; i++) {
        if (!parse(argv[i + 1], &x[i])) {
            put(2, "iris-xgb: not a number: '"); put(2, argv[i + 1]); put(2, "'\n");
            return 2;
        }
    }
    put_uint(1, predict(x));
    put(1, "\n");
    return 0;
}

__attribute__((noreturn, used)) void start_c(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    sys3(SYS_EXIT_GROUP, run(argc, argv), 0, 0);
    for (;;) {}
}
