/* Many threads share one compiler and one compiled grammar; each has its own matcher. Every
 * thread's masks equal the masks computed on one thread first, and concurrent compile calls on
 * the shared compiler succeed. Usage: xgr_test_threads [tokenizer.json] (default: the toy
 * byte-level tokenizer). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "test_util.h"

enum { NUM_THREADS = 8, ROUNDS = 3 };

static const char *DOC = "{\"users\": [{\"id\": 1, \"name\": \"Ada\"}, {\"id\": 2, \"tags\": [\"x\", \"y\"]}]}";

static xgr_compiler *g_comp = NULL;
static xgr_compiled_grammar *g_cg = NULL;
static size_t g_words = 0;
static int32_t *g_tokens = NULL; /* the document's tokens */
static size_t g_ntokens = 0;
static int32_t *g_masks = NULL; /* reference masks, one row per step (+1 at the end) */

/* The document's tokens: the tokenizer's own encoding, or bytes for the toy vocabulary. */
static int tokenize(xgr_tokenizer_info *tok) {
    size_t n = strlen(DOC), need = 0;
    xgr_status s = xgr_tokenizer_info_encode(tok, DOC, n, NULL, 0, &need);
    if (s == XGR_ERR_BUFFER_TOO_SMALL || s == XGR_OK) {
        g_tokens = (int32_t *)malloc((need + 1) * sizeof *g_tokens);
        if (!g_tokens) return 1;
        if (xgr_tokenizer_info_encode(tok, DOC, n, g_tokens, need, &g_ntokens) != XGR_OK) return 1;
        return 0;
    }
    g_tokens = (int32_t *)malloc(n * sizeof *g_tokens);
    if (!g_tokens) return 1;
    for (size_t i = 0; i < n; i++) g_tokens[i] = (unsigned char)DOC[i];
    g_ntokens = n;
    return 0;
}

/* Walks the document on `m`, writing the mask of each step to `out` (or comparing with it). */
static int walk(xgr_matcher *m, int32_t *out, const int32_t *want) {
    int rc = 1;
    bool acc = false;
    int32_t *row = (int32_t *)malloc(g_words * sizeof *row);
    CHECK(row != NULL);
    for (size_t i = 0; i <= g_ntokens; i++) {
        CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, row, g_words, NULL));
        if (out) memcpy(out + i * g_words, row, g_words * sizeof *row);
        if (want) CHECK(memcmp(want + i * g_words, row, g_words * sizeof *row) == 0);
        if (i == g_ntokens) break;
        CHECK(bit_of(row, g_tokens[i]));
        CHECK_OK(xgr_matcher_accept_token(m, g_tokens[i], &acc));
        CHECK(acc);
    }
    CHECK(xgr_matcher_is_completed(m));
    rc = 0;
cleanup:
    free(row);
    return rc;
}

static void *worker(void *arg) {
    intptr_t id = (intptr_t)arg;
    intptr_t rc = 1;
    xgr_matcher *m = NULL;
    xgr_compiled_grammar *mine = NULL, *re = NULL;
    for (int round = 0; round < ROUNDS; round++) {
        /* concurrent compiles on the shared compiler (one hits the cache, one does not) */
        CHECK_OK(xgr_compiler_compile_builtin_json(g_comp, &mine));
        CHECK_OK(xgr_compiler_compile_regex(g_comp, id % 2 ? "[a-z]+" : "[0-9]+", 6, &re));
        CHECK_OK(xgr_matcher_new(round % 2 ? mine : g_cg, NULL, &m));
        CHECK(walk(m, NULL, g_masks) == 0);
        xgr_matcher_free(m);
        m = NULL;
        xgr_compiled_grammar_free(mine);
        mine = NULL;
        xgr_compiled_grammar_free(re);
        re = NULL;
    }
    rc = 0;
cleanup:
    xgr_compiled_grammar_free(re);
    xgr_compiled_grammar_free(mine);
    xgr_matcher_free(m);
    return (void *)rc;
}

static int test_threads(void) {
    int rc = 1;
    pthread_t th[NUM_THREADS];
    int started = 0;
    xgr_matcher *m = NULL;
    xgr_compiled_grammar *ref = NULL;
    /* The reference walk runs on its own compiled grammar (the cache was cleared), so the
     * threads fill the lazy token classes of the shared one concurrently. */
    CHECK_OK(xgr_compiler_compile_builtin_json(g_comp, &ref));
    CHECK(ref != g_cg);
    CHECK_OK(xgr_matcher_new(ref, NULL, &m));
    g_masks = (int32_t *)malloc((g_ntokens + 1) * g_words * sizeof *g_masks);
    CHECK(g_masks != NULL);
    CHECK(walk(m, g_masks, NULL) == 0);
    for (; started < NUM_THREADS; started++) {
        CHECK(pthread_create(&th[started], NULL, worker, (void *)(intptr_t)started) == 0);
    }
    rc = 0;
cleanup:
    for (int i = 0; i < started; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        if (r != NULL) {
            fprintf(stderr, "thread %d failed\n", i);
            rc = 1;
        }
    }
    free(g_masks);
    g_masks = NULL;
    xgr_matcher_free(m);
    xgr_compiled_grammar_free(ref);
    return rc;
}

int main(int argc, char **argv) {
    xgr_tokenizer_info *tok = NULL;
    xgr_compiler_options o = xgr_compiler_options_default();
    int rc = 1;
    if (check_asan_linked() != 0) return 1;
    if (argc > 1) {
        size_t len = 0;
        char *json = read_file(argv[1], &len);
        if (!json) {
            fprintf(stderr, "cannot read %s\n", argv[1]);
            return 2;
        }
        if (xgr_tokenizer_info_from_hf_json(json, len, NULL, &tok) != XGR_OK) xt_print_last_error();
        free(json);
    } else if (toy_tokenizer(0, &tok) != XGR_OK) {
        xt_print_last_error();
    }
    if (!tok) return 1;
    o.max_threads = 1; /* lazy token classes: they are filled concurrently by the threads */
    if (xgr_compiler_new(tok, &o, &g_comp) != XGR_OK || xgr_compiler_compile_builtin_json(g_comp, &g_cg) != XGR_OK ||
        tokenize(tok) != 0) {
        xt_print_last_error();
        goto done;
    }
    g_words = xgr_bitmask_words(xgr_tokenizer_info_vocab_size(tok));
    xgr_compiler_clear_cache(g_comp);
    RUN(test_threads);
    rc = g_failures ? 1 : 0;
done:
    free(g_tokens);
    xgr_compiled_grammar_free(g_cg);
    xgr_compiler_free(g_comp);
    xgr_tokenizer_info_free(tok);
    fprintf(stderr, rc ? "threads test failed\n" : "threads test passed\n");
    return rc;
}
