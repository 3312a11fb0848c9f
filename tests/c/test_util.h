/* Helpers of the C ABI tests: checks that report and jump to `cleanup`, the toy byte-level
 * tokenizer (ids 0-255 = bytes, 256 = EOS), a naive mask reference, and file loading. */
#ifndef XGR_TEST_UTIL_H
#define XGR_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgr.h"

static int g_failures = 0;

static inline void xt_print_last_error(void) {
    char msg[512];
    xgr_last_error_message(msg, sizeof msg);
    fprintf(stderr, "    last error: %s\n", msg);
}

/* Each test function has `int rc = 1;`, a `cleanup:` label and `return rc;`; set `rc = 0`
 * just before `cleanup:`. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
            goto cleanup;                                                              \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(expr, want)                                                       \
    do {                                                                               \
        xgr_status xt_s_ = (expr);                                                     \
        if (xt_s_ != (want)) {                                                         \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, \
                    #expr, xgr_status_name(xt_s_), xgr_status_name(want));             \
            xt_print_last_error();                                                     \
            goto cleanup;                                                              \
        }                                                                              \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, XGR_OK)

/* The last error message contains `needle`. */
#define CHECK_ERROR_CONTAINS(needle)                                                   \
    do {                                                                               \
        char xt_msg_[1024];                                                            \
        size_t xt_n_ = xgr_last_error_message(xt_msg_, sizeof xt_msg_);                \
        if (xt_n_ == 0 || strstr(xt_msg_, (needle)) == NULL) {                          \
            fprintf(stderr, "%s:%d: last error \"%s\" does not contain \"%s\"\n",      \
                    __FILE__, __LINE__, xt_msg_, (needle));                            \
            goto cleanup;                                                              \
        }                                                                              \
    } while (0)

#define RUN(test)                                                                      \
    do {                                                                               \
        fprintf(stderr, "-- %s\n", #test);                                             \
        if ((test)() != 0) {                                                           \
            fprintf(stderr, "FAILED: %s\n", #test);                                    \
            g_failures++;                                                              \
        }                                                                              \
    } while (0)

#define TOY_VOCAB 257
#define TOY_EOS 256

/* The toy byte-level tokenizer: ids 0-255 are the bytes, 256 is the EOS (stop) token.
 * `padded` > 0 pads the model's vocabulary to that size. */
static inline xgr_status toy_tokenizer(int32_t padded, xgr_tokenizer_info **out) {
    static char bytes[256];
    const char *toks[TOY_VOCAB];
    size_t lens[TOY_VOCAB];
    for (int i = 0; i < 256; i++) {
        bytes[i] = (char)i;
        toks[i] = &bytes[i];
        lens[i] = 1;
    }
    toks[TOY_EOS] = "<eos>";
    lens[TOY_EOS] = 5;
    int32_t stop = TOY_EOS;
    xgr_tokenizer_options o = xgr_tokenizer_options_default();
    o.stop_token_ids = &stop;
    o.num_stop_token_ids = 1;
    o.vocab_size = padded;
    return xgr_tokenizer_info_from_vocab(toks, lens, TOY_VOCAB, XGR_VOCAB_RAW, &o, out);
}

static inline int bit_of(const int32_t *row, int32_t token) {
    return (int)(((uint32_t)row[token / 32] >> (token % 32)) & 1u);
}

static inline int count_bits(const int32_t *row, int32_t vocab) {
    int n = 0;
    for (int32_t i = 0; i < vocab; i++) n += bit_of(row, i);
    return n;
}

/* Reads a whole file; the caller frees. NULL on failure. */
static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Checks (in ASan builds) that the sanitizer runtime is really linked in. */
#ifdef XGR_EXPECT_ASAN
#include <dlfcn.h>
static inline int check_asan_linked(void) {
    void *asan = dlsym(RTLD_DEFAULT, "__asan_init");
    void *ubsan = dlsym(RTLD_DEFAULT, "__ubsan_handle_add_overflow");
    if (!asan || !ubsan) {
        fprintf(stderr, "sanitizer runtime not linked: __asan_init=%p __ubsan_handle_add_overflow=%p\n",
                asan, ubsan);
        return 1;
    }
    return 0;
}
#else
static inline int check_asan_linked(void) { return 0; }
#endif

#endif /* XGR_TEST_UTIL_H */
