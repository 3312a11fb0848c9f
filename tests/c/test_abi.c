/* ABI tests of every function on the toy byte-level tokenizer (ids 0-255 = bytes, 256 = EOS):
 * results, ownership, and every error path (statuses and last-error messages). */
#include <math.h>
#include <stdint.h>

#include "test_util.h"

#ifndef XGR_CARGO_VERSION
#error "XGR_CARGO_VERSION (the version of Cargo.toml) must be defined by the build"
#endif

/* ---------------------------------------------------------------------------------------- */

static int test_version_and_status(void) {
    int rc = 1;
    char buf[64], small[8];
    size_t n;
    CHECK(check_asan_linked() == 0);
    CHECK(strcmp(xgr_version(), XGR_VERSION) == 0);
    CHECK(strcmp(xgr_version(), XGR_CARGO_VERSION) == 0);
    snprintf(buf, sizeof buf, "%d.%d.%d", XGR_VERSION_MAJOR, XGR_VERSION_MINOR, XGR_VERSION_PATCH);
    CHECK(strncmp(buf, XGR_CARGO_VERSION, strlen(buf)) == 0);

    CHECK(XGR_OK == 0 && XGR_ERR_NULL_ARGUMENT == 1 && XGR_ERR_INVALID_ARGUMENT == 2);
    CHECK(XGR_ERR_BUFFER_TOO_SMALL == 3 && XGR_ERR_GRAMMAR_SYNTAX == 10);
    CHECK(XGR_ERR_JSON_SCHEMA == 11 && XGR_ERR_JSON == 12 && XGR_ERR_TOKENIZER == 20);
    CHECK(XGR_ERR_LIMIT_EXCEEDED == 30 && XGR_ERR_TERMINATED == 40 && XGR_ERR_ROLLBACK == 41);
    CHECK(XGR_ERR_DESERIALIZE == 50 && XGR_ERR_CUDA_UNAVAILABLE == 60 && XGR_ERR_CUDA == 61);
    CHECK(XGR_ERR_PANIC == 90);
    CHECK(strcmp(xgr_status_name(XGR_OK), "XGR_OK") == 0);
    CHECK(strcmp(xgr_status_name(XGR_ERR_ROLLBACK), "XGR_ERR_ROLLBACK") == 0);
    CHECK(strcmp(xgr_status_name(XGR_ERR_PANIC), "XGR_ERR_PANIC") == 0);
    CHECK(strcmp(xgr_status_name((xgr_status)77), "XGR_UNKNOWN_STATUS") == 0);
    CHECK(strcmp(xgr_status_name((xgr_status)-1), "XGR_UNKNOWN_STATUS") == 0);

    /* A failure sets the message; querying does not change it; truncation is reported. */
    CHECK_STATUS(xgr_grammar_builtin_json(NULL), XGR_ERR_NULL_ARGUMENT);
    n = xgr_last_error_message(NULL, 0);
    CHECK(n == strlen("`out` is NULL"));
    CHECK(xgr_last_error_message(buf, sizeof buf) == n);
    CHECK(strcmp(buf, "`out` is NULL") == 0);
    CHECK(xgr_last_error_message(small, sizeof small) == n);
    CHECK(strlen(small) == sizeof small - 1 && strncmp(small, "`out` i", 7) == 0);
    CHECK(xgr_last_error_message(small, 1) == n && small[0] == 0);
    /* Success does not clear it. */
    CHECK(xgr_bitmask_words(64) == 2);
    CHECK(xgr_last_error_message(NULL, 0) == n);
    rc = 0;
cleanup:
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int test_tokenizer(void) {
    int rc = 1;
    xgr_tokenizer_info *t = NULL, *t2 = NULL, *padded = NULL, *bad = NULL;
    int32_t ids[4] = {-7, -7, -7, -7};
    char buf[16];
    size_t len = 0;
    const char *toks2[3] = {"a", "b", "</s>"};
    const char *toks3[3] = {"a", NULL, "c"};
    size_t lens3[3] = {1, 1, 1};
    xgr_tokenizer_options o;

    CHECK_OK(toy_tokenizer(0, &t));
    CHECK(t != NULL);
    CHECK(xgr_tokenizer_info_vocab_size(t) == TOY_VOCAB);
    CHECK(xgr_tokenizer_info_vocab_type(t) == XGR_VOCAB_RAW);
    CHECK(xgr_tokenizer_info_stop_token_ids(t, NULL, 0) == 1);
    CHECK(xgr_tokenizer_info_stop_token_ids(t, ids, 4) == 1);
    CHECK(ids[0] == TOY_EOS && ids[1] == -7);

    /* token bytes, including NUL bytes and too-small buffers */
    CHECK_OK(xgr_tokenizer_info_token_bytes(t, 'A', buf, sizeof buf, &len));
    CHECK(len == 1 && buf[0] == 'A' && buf[1] == 0);
    CHECK_OK(xgr_tokenizer_info_token_bytes(t, 0, buf, sizeof buf, &len));
    CHECK(len == 1 && buf[0] == 0);
    buf[0] = 'x';
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, 'A', buf, 1, &len), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 2 && buf[0] == 'x');
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, 'A', NULL, 0, &len), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 2);
    CHECK_ERROR_CONTAINS("too small");
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, TOY_VOCAB, buf, sizeof buf, &len), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("out of range");
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, -1, buf, sizeof buf, &len), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, 'A', buf, sizeof buf, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(NULL, 'A', buf, sizeof buf, &len), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_tokenizer_info_token_bytes(t, 'A', NULL, 5, &len), XGR_ERR_NULL_ARGUMENT);

    /* a vocabulary-built info cannot encode */
    CHECK_STATUS(xgr_tokenizer_info_encode(t, "ab", 2, ids, 4, &len), XGR_ERR_TOKENIZER);

    /* clone is a reference */
    t2 = xgr_tokenizer_info_clone(t);
    CHECK(t2 == t);
    xgr_tokenizer_info_free(t2);
    t2 = NULL;
    CHECK(xgr_tokenizer_info_vocab_size(t) == TOY_VOCAB);
    CHECK(xgr_tokenizer_info_clone(NULL) == NULL);
    xgr_tokenizer_info_free(NULL);

    /* padded vocabulary */
    CHECK_OK(toy_tokenizer(320, &padded));
    CHECK(xgr_tokenizer_info_vocab_size(padded) == 320);

    /* NULL handling of the getters */
    CHECK(xgr_tokenizer_info_vocab_size(NULL) == -1);
    CHECK_ERROR_CONTAINS("`info` is NULL");
    CHECK(xgr_tokenizer_info_vocab_type(NULL) == XGR_VOCAB_RAW);
    CHECK(xgr_tokenizer_info_stop_token_ids(NULL, ids, 4) == 0);
    CHECK(xgr_tokenizer_info_stop_token_ids(t, NULL, 4) == 0);

    /* NUL-terminated tokens (lens NULL) and stop detection by name */
    CHECK_OK(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, NULL, &bad));
    CHECK(xgr_tokenizer_info_vocab_size(bad) == 3);
    CHECK(xgr_tokenizer_info_stop_token_ids(bad, ids, 4) == 1 && ids[0] == 2);
    xgr_tokenizer_info_free(bad);
    bad = NULL;

    /* errors */
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(NULL, NULL, 3, XGR_VOCAB_RAW, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("`tokens` is NULL");
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks3, lens3, 3, XGR_VOCAB_RAW, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("tokens[1]");
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, (xgr_vocab_type)7, NULL, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("not an xgr_vocab_type");
    o = xgr_tokenizer_options_default();
    CHECK(o.struct_size == sizeof o && o.vocab_size == 0 && o.stop_token_ids == NULL && !o.add_prefix_space);
    o.vocab_size = -5;
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, &o, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("vocab_size");
    o = xgr_tokenizer_options_default();
    ids[0] = -3;
    o.stop_token_ids = ids;
    o.num_stop_token_ids = 1;
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, &o, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("negative");
    ids[0] = 3;
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, &o, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("out of range");
    o = xgr_tokenizer_options_default();
    o.struct_size = 0;
    CHECK_STATUS(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, &o, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("struct_size");
    /* an older, smaller struct: only its fields are read (the stop list is not) */
    o = xgr_tokenizer_options_default();
    o.struct_size = offsetof(xgr_tokenizer_options, stop_token_ids);
    o.vocab_size = 10;
    o.stop_token_ids = (const int32_t *)(uintptr_t)1; /* would crash if read */
    o.num_stop_token_ids = 1;
    CHECK_OK(xgr_tokenizer_info_from_vocab(toks2, NULL, 3, XGR_VOCAB_RAW, &o, &bad));
    CHECK(xgr_tokenizer_info_vocab_size(bad) == 10);
    xgr_tokenizer_info_free(bad);
    bad = NULL;

    /* tokenizer.json errors */
    CHECK(xgr_tokenizer_info_from_hf_json("{", 1, NULL, &bad) != XGR_OK);
    CHECK(bad == NULL);
    CHECK(xgr_last_error_message(NULL, 0) > 0);
    CHECK_STATUS(xgr_tokenizer_info_from_hf_json("{\"model\": 1}", 12, NULL, &bad), XGR_ERR_TOKENIZER);
    CHECK_STATUS(xgr_tokenizer_info_from_hf_json("\xff\xfe", 2, NULL, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("UTF-8");
    CHECK_STATUS(xgr_tokenizer_info_from_hf_json(NULL, 3, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_tokenizer_info_from_hf_json("{}", 2, NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    rc = 0;
cleanup:
    xgr_tokenizer_info_free(bad);
    xgr_tokenizer_info_free(padded);
    xgr_tokenizer_info_free(t);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int test_grammar(void) {
    int rc = 1;
    xgr_grammar *g = NULL, *re = NULL, *json = NULL, *u = NULL, *c = NULL, *g2 = NULL, *bad = NULL;
    xgr_grammar *js = NULL, *st = NULL;
    const xgr_grammar *pair[2];
    const xgr_grammar *with_null[2];
    char *text = NULL;
    char small[4];
    size_t len = 0, len2 = 0;
    xgr_status s;
    xgr_json_schema_options jo;
    static const char ebnf[] = "root ::= \"ab\" [0-9]+ \"c\"";
    static const char bad_ebnf[] = "root ::= \"ab\"\nother ::= [0-9";

    CHECK_OK(xgr_grammar_from_ebnf(ebnf, strlen(ebnf), NULL, &g));
    CHECK_OK(xgr_grammar_from_ebnf("start ::= \"x\"", 13, "start", &g2));
    CHECK_OK(xgr_grammar_from_regex("[a-z]+@[a-z]+", 13, &re));
    CHECK_OK(xgr_grammar_builtin_json(&json));

    /* to_ebnf: size query, then the text; too small leaves the buffer alone */
    CHECK_STATUS(xgr_grammar_to_ebnf(g, NULL, 0, &len), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 1);
    text = (char *)malloc(len);
    CHECK(text != NULL);
    CHECK_OK(xgr_grammar_to_ebnf(g, text, len, &len2));
    CHECK(len2 == len - 1 && strlen(text) == len2);
    CHECK(strstr(text, "root") != NULL);
    memcpy(small, "zzz", 4);
    CHECK_STATUS(xgr_grammar_to_ebnf(g, small, sizeof small, &len2), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK(len2 == len && strcmp(small, "zzz") == 0);
    CHECK_STATUS(xgr_grammar_to_ebnf(g, NULL, 10, &len2), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_to_ebnf(g, text, len, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_to_ebnf(NULL, text, len, &len2), XGR_ERR_NULL_ARGUMENT);
    /* the printed text parses back */
    CHECK_OK(xgr_grammar_from_ebnf(text, len - 1, NULL, &bad));
    xgr_grammar_free(bad);
    bad = NULL;

    /* union and concat (inputs stay owned by the caller) */
    pair[0] = g;
    pair[1] = re;
    CHECK_OK(xgr_grammar_union(pair, 2, &u));
    CHECK_OK(xgr_grammar_concat(pair, 2, &c));
    CHECK_STATUS(xgr_grammar_union(pair, 0, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_grammar_union(NULL, 2, &bad), XGR_ERR_NULL_ARGUMENT);
    with_null[0] = g;
    with_null[1] = NULL;
    CHECK_STATUS(xgr_grammar_concat(with_null, 2, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("gs[1]");
    CHECK_STATUS(xgr_grammar_union(pair, 2, NULL), XGR_ERR_NULL_ARGUMENT);

    /* clone */
    CHECK(xgr_grammar_clone(g) == g);
    xgr_grammar_free(g);
    CHECK(xgr_grammar_clone(NULL) == NULL);
    xgr_grammar_free(NULL);

    /* syntax errors with positions */
    CHECK_STATUS(xgr_grammar_from_ebnf(bad_ebnf, strlen(bad_ebnf), NULL, &bad), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK(bad == NULL);
    CHECK_ERROR_CONTAINS("line 2");
    CHECK_STATUS(xgr_grammar_from_ebnf("root ::= x", 10, NULL, &bad), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_STATUS(xgr_grammar_from_ebnf(ebnf, strlen(ebnf), "missing", &bad), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_ERROR_CONTAINS("missing");
    CHECK_STATUS(xgr_grammar_from_regex("(ab", 3, &bad), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_ERROR_CONTAINS("offset");
    CHECK_STATUS(xgr_grammar_from_ebnf("root ::= \"\xc3\"", 12, NULL, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("not valid UTF-8");
    CHECK_STATUS(xgr_grammar_from_ebnf("root ::= \"a\"", 12, "\xff", &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_ebnf(NULL, 12, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_ebnf(ebnf, strlen(ebnf), NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_regex(NULL, 1, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_regex("a", 1, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK(bad == NULL);

    /* JSON Schema and structural tags: the call path (the converters may not be built yet) */
    jo = xgr_json_schema_options_default();
    CHECK(jo.struct_size == sizeof jo && jo.any_whitespace && jo.strict_mode);
    CHECK(jo.indent == -1 && jo.max_whitespace == -1 && jo.item_separator == NULL && jo.key_separator == NULL);
    s = xgr_grammar_from_json_schema("{\"type\": \"integer\"}", 19, &jo, &js);
    CHECK(s == XGR_OK || s == XGR_ERR_JSON_SCHEMA);
    CHECK((s == XGR_OK) == (js != NULL));
    s = xgr_grammar_from_json_schema("{\"type\": ", 9, NULL, &bad);
    CHECK(s == XGR_ERR_JSON || s == XGR_ERR_JSON_SCHEMA);
    CHECK(xgr_last_error_message(NULL, 0) > 0);
    jo.indent = -2;
    CHECK_STATUS(xgr_grammar_from_json_schema("{}", 2, &jo, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("indent");
    jo = xgr_json_schema_options_default();
    jo.max_whitespace = -9;
    CHECK_STATUS(xgr_grammar_from_json_schema("{}", 2, &jo, &bad), XGR_ERR_INVALID_ARGUMENT);
    jo = xgr_json_schema_options_default();
    jo.item_separator = "\xff";
    CHECK_STATUS(xgr_grammar_from_json_schema("{}", 2, &jo, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_json_schema(NULL, 2, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_grammar_from_json_schema("{}", 2, NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    s = xgr_grammar_from_structural_tag("{\"type\": \"structural_tag\", \"format\": {\"type\": \"const_string\", \"value\": \"x\"}}", 78, &st);
    CHECK(s == XGR_OK || s == XGR_ERR_GRAMMAR_SYNTAX || s == XGR_ERR_JSON_SCHEMA || s == XGR_ERR_JSON);
    CHECK((s == XGR_OK) == (st != NULL));
    s = xgr_grammar_from_structural_tag("[", 1, &bad);
    CHECK(s == XGR_ERR_JSON || s == XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_STATUS(xgr_grammar_from_structural_tag(NULL, 1, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK(bad == NULL);
    rc = 0;
cleanup:
    free(text);
    xgr_grammar_free(st);
    xgr_grammar_free(js);
    xgr_grammar_free(bad);
    xgr_grammar_free(c);
    xgr_grammar_free(u);
    xgr_grammar_free(json);
    xgr_grammar_free(re);
    xgr_grammar_free(g2);
    xgr_grammar_free(g);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int test_compiler(void) {
    int rc = 1;
    xgr_tokenizer_info *t = NULL;
    xgr_compiler *c = NULL, *bad = NULL;
    xgr_grammar *g = NULL;
    xgr_compiled_grammar *a = NULL, *b = NULL, *r = NULL, *j = NULL, *e = NULL, *cg2 = NULL;
    xgr_compiler_options o;
    xgr_status s;

    CHECK_OK(toy_tokenizer(0, &t));
    o = xgr_compiler_options_default();
    CHECK(o.struct_size == sizeof o && o.max_threads == 8 && o.cache_limit_bytes > 0);
    o.max_threads = 2;
    CHECK_OK(xgr_compiler_new(t, &o, &c));
    CHECK(xgr_compiler_cache_size_bytes(c) == 0);
    CHECK(xgr_compiler_index_memory_bytes(c) > 0);

    CHECK_OK(xgr_grammar_from_ebnf("root ::= [a-c]+", 15, NULL, &g));
    CHECK_OK(xgr_compiler_compile_grammar(c, g, &a));
    CHECK_OK(xgr_compiler_compile_ebnf(c, "root ::= [a-c]+", 15, NULL, &b));
    CHECK(a == b); /* cached: the same compiled grammar */
    CHECK(xgr_compiler_cache_size_bytes(c) > 0);
    CHECK(xgr_compiled_grammar_memory_bytes(a) > 0);
    CHECK(xgr_compiled_grammar_vocab_size(a) == TOY_VOCAB);
    CHECK_OK(xgr_compiler_compile_regex(c, "x|yz", 4, &r));
    CHECK_OK(xgr_compiler_compile_builtin_json(c, &j));
    s = xgr_compiler_compile_json_schema(c, "{\"type\": \"string\"}", 18, NULL, &e);
    CHECK(s == XGR_OK || s == XGR_ERR_JSON_SCHEMA);
    xgr_compiled_grammar_free(e);
    e = NULL;
    s = xgr_compiler_compile_structural_tag(c, "[", 1, &e);
    CHECK(s == XGR_ERR_JSON || s == XGR_ERR_GRAMMAR_SYNTAX);

    cg2 = xgr_compiled_grammar_clone(a);
    CHECK(cg2 == a);
    xgr_compiled_grammar_free(cg2);
    cg2 = NULL;

    xgr_compiler_clear_cache(c);
    CHECK(xgr_compiler_cache_size_bytes(c) == 0);
    CHECK_OK(xgr_compiler_compile_ebnf(c, "root ::= [a-c]+", 15, "root", &cg2));
    CHECK(cg2 != a); /* recompiled after the cache was cleared */

    /* errors */
    CHECK_STATUS(xgr_compiler_new(NULL, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("`tokenizer` is NULL");
    CHECK_STATUS(xgr_compiler_new(t, NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    o = xgr_compiler_options_default();
    o.cache_limit_bytes = -2;
    CHECK_STATUS(xgr_compiler_new(t, &o, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("cache_limit_bytes");
    CHECK_STATUS(xgr_compiler_compile_grammar(NULL, g, &e), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_compiler_compile_grammar(c, NULL, &e), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_compiler_compile_grammar(c, g, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_compiler_compile_ebnf(c, "root ::= ", 9, NULL, &e), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_ERROR_CONTAINS("EBNF syntax error at line 1");
    CHECK_STATUS(xgr_compiler_compile_regex(c, "[z-a]", 5, &e), XGR_ERR_GRAMMAR_SYNTAX);
    CHECK_STATUS(xgr_compiler_compile_builtin_json(NULL, &e), XGR_ERR_NULL_ARGUMENT);
    CHECK(e == NULL);
    CHECK(xgr_compiler_cache_size_bytes(NULL) == -1);
    CHECK(xgr_compiler_index_memory_bytes(NULL) == -1);
    CHECK(xgr_compiled_grammar_memory_bytes(NULL) == 0);
    CHECK(xgr_compiled_grammar_vocab_size(NULL) == -1);
    CHECK(xgr_compiled_grammar_clone(NULL) == NULL);
    xgr_compiler_clear_cache(NULL);
    xgr_compiler_free(NULL);
    xgr_compiled_grammar_free(NULL);

    /* unbounded cache; no caching */
    o = xgr_compiler_options_default();
    o.cache_limit_bytes = -1;
    o.max_threads = 0;
    CHECK_OK(xgr_compiler_new(t, &o, &bad));
    xgr_compiler_free(bad);
    bad = NULL;
    o.cache_limit_bytes = 0;
    CHECK_OK(xgr_compiler_new(t, &o, &bad));
    CHECK_OK(xgr_compiler_compile_regex(bad, "ab", 2, &e));
    CHECK(xgr_compiler_cache_size_bytes(bad) == 0);

    /* compiled grammars outlive their compiler and tokenizer handles */
    xgr_compiler_free(c);
    c = NULL;
    xgr_tokenizer_info_free(t);
    t = NULL;
    CHECK(xgr_compiled_grammar_vocab_size(a) == TOY_VOCAB);
    rc = 0;
cleanup:
    xgr_compiled_grammar_free(e);
    xgr_compiled_grammar_free(cg2);
    xgr_compiled_grammar_free(j);
    xgr_compiled_grammar_free(r);
    xgr_compiled_grammar_free(b);
    xgr_compiled_grammar_free(a);
    xgr_grammar_free(g);
    xgr_compiler_free(bad);
    xgr_compiler_free(c);
    xgr_tokenizer_info_free(t);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

/* Compiles `ebnf` for the toy tokenizer (padded to `padded` when > 0). */
static xgr_status toy_compile(const char *ebnf, int32_t padded, xgr_compiled_grammar **out) {
    xgr_tokenizer_info *t = NULL;
    xgr_compiler *c = NULL;
    xgr_status s = toy_tokenizer(padded, &t);
    if (s == XGR_OK) s = xgr_compiler_new(t, NULL, &c);
    if (s == XGR_OK) s = xgr_compiler_compile_ebnf(c, ebnf, strlen(ebnf), NULL, out);
    xgr_compiler_free(c);
    xgr_tokenizer_info_free(t);
    return s;
}

/* The mask has exactly the tokens of `allowed` (a NUL-terminated byte list) plus EOS iff
 * `eos`. */
static int mask_is(const int32_t *mask, int32_t vocab, const char *allowed, int eos) {
    for (int32_t i = 0; i < vocab; i++) {
        int want = (i < 256 && i > 0 && strchr(allowed, i) != NULL) || (i == TOY_EOS && eos);
        if (bit_of(mask, i) != want) {
            fprintf(stderr, "    token %d: bit %d, expected %d\n", i, bit_of(mask, i), want);
            return 0;
        }
    }
    return 1;
}

static int test_matcher(void) {
    int rc = 1;
    xgr_compiled_grammar *cg = NULL, *hello = NULL, *padded = NULL;
    xgr_matcher *m = NULL, *f = NULL, *bad = NULL, *h = NULL, *p = NULL;
    int32_t mask[16];
    bool acc = false, need = false;
    char buf[16];
    size_t len = 0;
    xgr_matcher_options mo;
    int32_t stop_a = 'A', neg = -1, big = 999;
    const size_t words = 9; /* ceil(257 / 32) */

    CHECK_OK(toy_compile("root ::= \"ab\" [0-9]+ \"c\"", 0, &cg));
    CHECK_OK(xgr_matcher_new(cg, NULL, &m));
    CHECK(xgr_bitmask_words(TOY_VOCAB) == words);
    CHECK(xgr_matcher_vocab_size(m) == TOY_VOCAB);

    memset(mask, 0x55, sizeof mask);
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, &need));
    CHECK(need);
    CHECK(mask_is(mask, TOY_VOCAB, "a", 0));
    CHECK(mask[words] == 0x55555555); /* nothing written past the row */
    CHECK(((uint32_t)mask[8] >> 1) == 0); /* bits past vocab_size are 0 */
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));

    /* rejected token: XGR_OK, accepted = false, state unchanged */
    CHECK_OK(xgr_matcher_accept_token(m, 'b', &acc));
    CHECK(!acc);
    CHECK(xgr_matcher_num_accepted(m) == 0);
    CHECK_OK(xgr_matcher_accept_token(m, 'a', &acc));
    CHECK(acc);
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));
    CHECK(mask_is(mask, TOY_VOCAB, "b", 0));
    CHECK_OK(xgr_matcher_accept_string(m, "b1", 2, &acc));
    CHECK(acc);
    CHECK_OK(xgr_matcher_accept_string(m, "x", 1, &acc));
    CHECK(!acc);
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));
    CHECK(mask_is(mask, TOY_VOCAB, "0123456789c", 0));
    CHECK(!xgr_matcher_is_completed(m));

    /* fork: independent */
    CHECK_OK(xgr_matcher_fork(m, &f));
    CHECK_OK(xgr_matcher_accept_token(f, 'c', &acc));
    CHECK(acc && xgr_matcher_is_completed(f) && !xgr_matcher_is_completed(m));
    CHECK(xgr_matcher_num_accepted(f) == 3 && xgr_matcher_num_accepted(m) == 2);

    CHECK_OK(xgr_matcher_accept_token(m, '2', &acc));
    CHECK_OK(xgr_matcher_accept_token(m, 'c', &acc));
    CHECK(acc && xgr_matcher_is_completed(m) && !xgr_matcher_is_terminated(m));
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, &need));
    CHECK(mask_is(mask, TOY_VOCAB, "", 1));
    CHECK_OK(xgr_matcher_accept_token(m, TOY_EOS, &acc));
    CHECK(acc && xgr_matcher_is_terminated(m));
    /* after termination: only stop tokens in the mask; accepting is an error */
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));
    CHECK(mask_is(mask, TOY_VOCAB, "", 1));
    CHECK_STATUS(xgr_matcher_accept_token(m, 'a', &acc), XGR_ERR_TERMINATED);
    CHECK_ERROR_CONTAINS("terminated");
    CHECK_STATUS(xgr_matcher_accept_string(m, "a", 1, &acc), XGR_ERR_TERMINATED);

    /* rollback */
    CHECK(xgr_matcher_num_accepted(m) == 5);
    CHECK_STATUS(xgr_matcher_rollback(m, 6), XGR_ERR_ROLLBACK);
    CHECK_ERROR_CONTAINS("only 5");
    CHECK(xgr_matcher_is_terminated(m));
    CHECK_OK(xgr_matcher_rollback(m, 1));
    CHECK(!xgr_matcher_is_terminated(m) && xgr_matcher_is_completed(m));
    CHECK_OK(xgr_matcher_rollback(m, 2));
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));
    CHECK(mask_is(mask, TOY_VOCAB, "0123456789c", 0));
    CHECK_OK(xgr_matcher_rollback(m, 0));

    /* reset */
    CHECK_OK(xgr_matcher_reset(m));
    CHECK(xgr_matcher_num_accepted(m) == 0);
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL));
    CHECK(mask_is(mask, TOY_VOCAB, "a", 0));

    /* argument errors */
    CHECK_STATUS(xgr_matcher_accept_token(m, TOY_VOCAB, &acc), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("token id 257 is out of range");
    CHECK_STATUS(xgr_matcher_accept_token(m, -1, &acc), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_matcher_accept_token(m, 'a', NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_accept_token(NULL, 'a', &acc), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("`m` is NULL");
    CHECK_STATUS(xgr_matcher_accept_string(m, NULL, 2, &acc), XGR_ERR_NULL_ARGUMENT);
    CHECK_OK(xgr_matcher_accept_string(m, NULL, 0, &acc));
    CHECK(acc);
    CHECK_OK(xgr_matcher_rollback(m, 1));
    CHECK_STATUS(xgr_matcher_fill_next_token_bitmask(m, mask, words - 1, NULL), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK_ERROR_CONTAINS("9 needed");
    CHECK_STATUS(xgr_matcher_fill_next_token_bitmask(m, NULL, words, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_fill_next_token_bitmask(NULL, mask, words, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_rollback(NULL, 1), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_reset(NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_fork(NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_fork(m, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_new(NULL, NULL, &bad), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_new(cg, NULL, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK(!xgr_matcher_is_terminated(NULL) && !xgr_matcher_is_completed(NULL));
    CHECK(xgr_matcher_num_accepted(NULL) == 0 && xgr_matcher_vocab_size(NULL) == -1);
    CHECK(bad == NULL);
    xgr_matcher_free(NULL);

    /* options: override stop tokens; terminate without stop token; older struct */
    mo = xgr_matcher_options_default();
    CHECK(mo.struct_size == sizeof mo && mo.override_stop_token_ids == NULL && !mo.terminate_without_stop_token);
    mo.override_stop_token_ids = &stop_a;
    mo.num_override_stop_token_ids = 1;
    CHECK_OK(xgr_matcher_new(cg, &mo, &bad));
    CHECK_OK(xgr_matcher_accept_string(bad, "ab1c", 4, &acc));
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(bad, mask, words, NULL));
    CHECK(bit_of(mask, 'A') && !bit_of(mask, TOY_EOS) && count_bits(mask, TOY_VOCAB) == 1);
    CHECK_OK(xgr_matcher_accept_token(bad, 'A', &acc));
    CHECK(acc && xgr_matcher_is_terminated(bad));
    xgr_matcher_free(bad);
    bad = NULL;
    mo.override_stop_token_ids = &neg;
    CHECK_STATUS(xgr_matcher_new(cg, &mo, &bad), XGR_ERR_INVALID_ARGUMENT);
    mo.override_stop_token_ids = &big;
    CHECK_STATUS(xgr_matcher_new(cg, &mo, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("999");
    mo = xgr_matcher_options_default();
    mo.terminate_without_stop_token = true;
    CHECK_OK(xgr_matcher_new(cg, &mo, &bad));
    CHECK_OK(xgr_matcher_accept_string(bad, "ab1c", 4, &acc));
    CHECK(acc && xgr_matcher_is_terminated(bad));
    CHECK_STATUS(xgr_matcher_accept_token(bad, TOY_EOS, &acc), XGR_ERR_TERMINATED);
    xgr_matcher_free(bad);
    bad = NULL;
    mo.struct_size = offsetof(xgr_matcher_options, terminate_without_stop_token);
    CHECK_OK(xgr_matcher_new(cg, &mo, &bad));
    CHECK_OK(xgr_matcher_accept_string(bad, "ab1c", 4, &acc));
    CHECK(acc && !xgr_matcher_is_terminated(bad)); /* the field past struct_size is not read */
    xgr_matcher_free(bad);
    bad = NULL;

    /* jump-forward strings */
    CHECK_OK(toy_compile("root ::= \"hello\" [a-z]", 0, &hello));
    CHECK_OK(xgr_matcher_new(hello, NULL, &h));
    CHECK_OK(xgr_matcher_find_jump_forward_string(h, buf, sizeof buf, &len));
    CHECK(len == 5 && strcmp(buf, "hello") == 0);
    CHECK_STATUS(xgr_matcher_find_jump_forward_string(h, buf, 5, &len), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 6);
    CHECK_OK(xgr_matcher_accept_string(h, "hel", 3, &acc));
    CHECK_OK(xgr_matcher_find_jump_forward_string(h, buf, sizeof buf, &len));
    CHECK(len == 2 && strcmp(buf, "lo") == 0);
    CHECK_OK(xgr_matcher_accept_string(h, "lo", 2, &acc));
    CHECK_OK(xgr_matcher_find_jump_forward_string(h, buf, sizeof buf, &len));
    CHECK(len == 0 && buf[0] == 0);
    CHECK_STATUS(xgr_matcher_find_jump_forward_string(h, buf, sizeof buf, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_matcher_find_jump_forward_string(NULL, buf, sizeof buf, &len), XGR_ERR_NULL_ARGUMENT);

    /* padded vocabulary: padding ids are never allowed, bits past vocab_size are 0 */
    CHECK_OK(toy_compile("root ::= [\\x00-\\x7f]*", 320, &padded));
    CHECK_OK(xgr_matcher_new(padded, NULL, &p));
    CHECK(xgr_matcher_vocab_size(p) == 320);
    memset(mask, 0xff, sizeof mask);
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(p, mask, 10, &need));
    CHECK(need);
    CHECK(count_bits(mask, 320) == 128 + 1);
    CHECK(bit_of(mask, 0) && bit_of(mask, 127) && !bit_of(mask, 128) && bit_of(mask, TOY_EOS));
    for (int i = 257; i < 320; i++) CHECK(!bit_of(mask, i));
    CHECK_OK(xgr_matcher_accept_token(p, 300, &acc)); /* in range, never allowed */
    CHECK(!acc);
    rc = 0;
cleanup:
    xgr_matcher_free(p);
    xgr_matcher_free(h);
    xgr_matcher_free(bad);
    xgr_matcher_free(f);
    xgr_matcher_free(m);
    xgr_compiled_grammar_free(padded);
    xgr_compiled_grammar_free(hello);
    xgr_compiled_grammar_free(cg);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int test_batch(void) {
    int rc = 1;
    xgr_compiled_grammar *cg = NULL;
    xgr_batch *b = NULL, *b1 = NULL, *bad = NULL;
    xgr_matcher *ms[4] = {NULL, NULL, NULL, NULL};
    xgr_matcher *dup[2];
    enum { WORDS = 9, STRIDE = 11, ROWS = 6 };
    int32_t bm[ROWS * STRIDE], single[WORDS];
    int32_t rows[4] = {4, 0, 2, 1};
    int32_t dup_rows[4] = {4, 0, 4, 1};
    int32_t neg_rows[4] = {4, 0, -2, 1};
    int32_t toks[4], bad_toks[4];
    bool acc[4], want[4];
    bool one = false;
    size_t before[4];

    CHECK_OK(toy_compile("root ::= \"ab\" [0-9]+ \"c\"", 0, &cg));
    for (int i = 0; i < 4; i++) CHECK_OK(xgr_matcher_new(cg, NULL, &ms[i]));
    CHECK_OK(xgr_matcher_accept_string(ms[1], "a", 1, &one));
    CHECK_OK(xgr_matcher_accept_string(ms[2], "ab12", 4, &one));
    CHECK_OK(xgr_matcher_accept_string(ms[3], "ab1c", 4, &one));
    CHECK_OK(xgr_matcher_accept_token(ms[3], TOY_EOS, &one));
    CHECK(xgr_matcher_is_terminated(ms[3]));

    CHECK_OK(xgr_batch_new(3, &b));
    CHECK(xgr_batch_num_threads(b) == 3);
    CHECK_OK(xgr_batch_new(1, &b1));
    CHECK(xgr_batch_num_threads(b1) == 1);

    for (int round = 0; round < 2; round++) {
        xgr_batch *bb = round == 0 ? b : b1;
        for (size_t i = 0; i < sizeof bm / sizeof bm[0]; i++) bm[i] = 0x5a5a5a5a;
        CHECK_OK(xgr_batch_fill_next_token_bitmask(bb, ms, 4, bm, STRIDE, rows));
        for (int i = 0; i < 4; i++) {
            const int32_t *row = bm + rows[i] * STRIDE;
            if (i == 3) {
                /* terminated: all ones within vocab_size */
                CHECK(count_bits(row, TOY_VOCAB) == TOY_VOCAB);
                CHECK(((uint32_t)row[8] >> 1) == 0);
            } else {
                CHECK_OK(xgr_matcher_fill_next_token_bitmask(ms[i], single, WORDS, NULL));
                CHECK(memcmp(row, single, sizeof single) == 0);
            }
            CHECK(row[WORDS] == 0x5a5a5a5a && row[WORDS + 1] == 0x5a5a5a5a); /* padding untouched */
        }
        for (int w = 0; w < STRIDE; w++) {
            CHECK(bm[3 * STRIDE + w] == 0x5a5a5a5a); /* rows not named are untouched */
            CHECK(bm[5 * STRIDE + w] == 0x5a5a5a5a);
        }
    }
    /* NULL row indices: row i */
    CHECK_OK(xgr_batch_fill_next_token_bitmask(b, ms, 3, bm, WORDS, NULL));
    CHECK_OK(xgr_matcher_fill_next_token_bitmask(ms[2], single, WORDS, NULL));
    CHECK(memcmp(bm + 2 * WORDS, single, sizeof single) == 0);
    CHECK_OK(xgr_batch_fill_next_token_bitmask(b, NULL, 0, NULL, 0, NULL));

    /* fill errors */
    dup[0] = ms[0];
    dup[1] = ms[0];
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, dup, 2, bm, STRIDE, NULL), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("same matcher");
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, ms, 4, bm, STRIDE, dup_rows), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("both row 4");
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, ms, 4, bm, STRIDE, neg_rows), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, ms, 4, bm, WORDS - 1, NULL), XGR_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(NULL, ms, 4, bm, STRIDE, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, NULL, 4, bm, STRIDE, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, ms, 4, NULL, STRIDE, NULL), XGR_ERR_NULL_ARGUMENT);
    dup[1] = NULL;
    CHECK_STATUS(xgr_batch_fill_next_token_bitmask(b, dup, 2, bm, STRIDE, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_ERROR_CONTAINS("matchers[1]");

    /* accept: the same results as one at a time */
    toks[0] = 'a';
    toks[1] = 'x';
    toks[2] = '3';
    for (int i = 0; i < 3; i++) {
        xgr_matcher *f = NULL;
        CHECK_OK(xgr_matcher_fork(ms[i], &f));
        if (xgr_matcher_accept_token(f, toks[i], &want[i]) != XGR_OK) {
            xgr_matcher_free(f);
            CHECK(0);
        }
        xgr_matcher_free(f);
        before[i] = xgr_matcher_num_accepted(ms[i]);
    }
    CHECK(want[0] && !want[1] && want[2]);
    /* errors first: nothing changes */
    memcpy(bad_toks, toks, sizeof toks);
    bad_toks[2] = TOY_VOCAB;
    CHECK_STATUS(xgr_batch_accept_token(b, ms, bad_toks, 3, acc), XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("tokens[2]");
    bad_toks[2] = -1;
    CHECK_STATUS(xgr_batch_accept_token(b, ms, bad_toks, 3, acc), XGR_ERR_INVALID_ARGUMENT);
    toks[3] = 'a';
    CHECK_STATUS(xgr_batch_accept_token(b, ms, toks, 4, acc), XGR_ERR_TERMINATED);
    CHECK_ERROR_CONTAINS("matchers[3]");
    for (int i = 0; i < 3; i++) CHECK(xgr_matcher_num_accepted(ms[i]) == before[i]);
    dup[1] = ms[0];
    CHECK_STATUS(xgr_batch_accept_token(b, dup, toks, 2, acc), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_batch_accept_token(b, ms, toks, 3, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_batch_accept_token(b, ms, NULL, 3, acc), XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_batch_accept_token(NULL, ms, toks, 3, acc), XGR_ERR_NULL_ARGUMENT);
    CHECK_OK(xgr_batch_accept_token(b, ms, toks, 3, acc));
    for (int i = 0; i < 3; i++) {
        CHECK(acc[i] == want[i]);
        CHECK(xgr_matcher_num_accepted(ms[i]) == before[i] + (want[i] ? 1 : 0));
    }
    CHECK_OK(xgr_batch_accept_token(b, NULL, NULL, 0, NULL));

    /* construction errors */
    CHECK_STATUS(xgr_batch_new(5000, &bad), XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_batch_new(2, NULL), XGR_ERR_NULL_ARGUMENT);
    CHECK_OK(xgr_batch_new(0, &bad));
    CHECK(xgr_batch_num_threads(bad) >= 1);
    CHECK(xgr_batch_num_threads(NULL) == 0);
    xgr_batch_free(NULL);
    rc = 0;
cleanup:
    xgr_batch_free(bad);
    xgr_batch_free(b1);
    xgr_batch_free(b);
    for (int i = 0; i < 4; i++) xgr_matcher_free(ms[i]);
    xgr_compiled_grammar_free(cg);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* The contract, one column at a time: masked (0 bit) or past vocab_size -> -inf. */
static int masked(const int32_t *bm, size_t bstride, size_t row, size_t j, int32_t vocab) {
    return (int32_t)j >= vocab || !bit_of(bm + row * bstride, (int32_t)j);
}

static int test_apply_cpu(void) {
    int rc = 1;
    float *f = NULL;
    uint16_t *h = NULL;
    int32_t *bm = NULL;
    int32_t idx[8];
    float lf[4] = {1, 2, 3, 4};
    int32_t one_word = 0x5; /* tokens 0 and 2 */
    char raw[64];

    CHECK(xgr_bitmask_words(-1) == 0 && xgr_bitmask_words(0) == 0);
    CHECK(xgr_bitmask_words(1) == 1 && xgr_bitmask_words(32) == 1 && xgr_bitmask_words(33) == 2);

    for (int iter = 0; iter < 300; iter++) {
        size_t rows = 1 + rnd() % 5;
        size_t cols = rnd() % 150;
        size_t stride = cols + rnd() % 4;
        int32_t vocab = (int32_t)(rnd() % 3 == 0 ? cols : rnd() % 180);
        size_t mw = xgr_bitmask_words(vocab < (int32_t)cols ? vocab : (int32_t)cols);
        size_t bstride = mw + rnd() % 3;
        size_t nidx = 0;
        int dtype = iter % 3;
        int use_idx = rnd() % 2;
        bm = (int32_t *)malloc((rows * bstride + 1) * sizeof *bm);
        f = (float *)malloc((rows * stride + 1) * sizeof *f);
        h = (uint16_t *)malloc((rows * stride + 1) * sizeof *h);
        CHECK(bm && f && h);
        for (size_t i = 0; i < rows * bstride; i++) {
            uint32_t k = rnd() % 4;
            bm[i] = k == 0 ? 0 : k == 1 ? -1 : (int32_t)rnd();
        }
        for (size_t i = 0; i < rows * stride; i++) {
            f[i] = (float)i;
            h[i] = (uint16_t)(i % 1000 + 1);
        }
        if (use_idx) {
            nidx = rnd() % (rows + 1);
            for (size_t k = 0; k < nidx; k++) idx[k] = (int32_t)(rnd() % rows);
        }
        if (dtype == 0) {
            CHECK_OK(xgr_apply_token_bitmask_cpu(f, XGR_DTYPE_F32, rows, stride, cols, vocab, bm, bstride,
                                                 use_idx ? idx : NULL, nidx));
        } else {
            CHECK_OK(xgr_apply_token_bitmask_cpu(h, dtype == 1 ? XGR_DTYPE_F16 : XGR_DTYPE_BF16, rows, stride,
                                                 cols, vocab, bm, bstride, use_idx ? idx : NULL, nidx));
        }
        for (size_t r = 0; r < rows; r++) {
            int selected = !use_idx;
            for (size_t k = 0; k < nidx; k++) selected |= (size_t)idx[k] == r;
            for (size_t j = 0; j < stride; j++) {
                size_t i = r * stride + j;
                int want_inf = selected && j < cols && masked(bm, bstride, r, j, vocab);
                if (dtype == 0) {
                    CHECK(want_inf ? (isinf(f[i]) && f[i] < 0) : f[i] == (float)i);
                } else {
                    uint16_t inf = dtype == 1 ? 0xFC00 : 0xFF80;
                    CHECK(want_inf ? h[i] == inf : h[i] == (uint16_t)(i % 1000 + 1));
                }
            }
        }
        free(bm);
        free(f);
        free(h);
        bm = NULL;
        f = NULL;
        h = NULL;
    }

    /* a small exact case: vocab 3 of 4 columns */
    CHECK_OK(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 3, &one_word, 1, NULL, 0));
    CHECK(lf[0] == 1 && isinf(lf[1]) && lf[2] == 3 && isinf(lf[3]));

    /* errors */
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, (xgr_dtype)9, 1, 4, 4, 3, &one_word, 1, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("xgr_dtype");
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, -1, &one_word, 1, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 3, 4, 3, &one_word, 1, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("logits_row_stride");
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 40, &one_word, 0, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    idx[0] = 1;
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 3, &one_word, 1, idx, 1),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("out of range");
    idx[0] = -1;
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 3, &one_word, 1, idx, 1),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(NULL, XGR_DTYPE_F32, 1, 4, 4, 3, &one_word, 1, NULL, 0),
                 XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 3, NULL, 1, NULL, 0),
                 XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(raw + 1, XGR_DTYPE_F32, 1, 4, 4, 3, &one_word, 1, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("aligned");
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 1, 4, 4, 3, (const int32_t *)lf, 1, NULL, 0),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_CONTAINS("overlap");
    CHECK_STATUS(xgr_apply_token_bitmask_cpu(lf, XGR_DTYPE_F32, 2, 4, 4, 3, &one_word, 1, NULL, 5),
                 XGR_ERR_INVALID_ARGUMENT);
    /* nothing selected: nothing read */
    CHECK_OK(xgr_apply_token_bitmask_cpu(NULL, XGR_DTYPE_F32, 0, 4, 4, 3, NULL, 1, NULL, 0));
    CHECK_OK(xgr_apply_token_bitmask_cpu(NULL, XGR_DTYPE_F32, 3, 4, 4, 3, NULL, 1, idx, 0));
    rc = 0;
cleanup:
    free(bm);
    free(f);
    free(h);
    return rc;
}

/* The CUDA entry point: host-side checks first (with or without a driver); without a driver
 * (this machine, CI) every call that passes them reports XGR_ERR_CUDA_UNAVAILABLE. */
static int test_cuda_unavailable(void) {
    int rc = 1;
    float lf[4] = {1, 2, 3, 4};
    int32_t w = 1;
    int32_t ix[2] = {0, 0};
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, (xgr_dtype)5, 1, 4, 4, 4, &w, 1, NULL, 0, NULL),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(NULL, XGR_DTYPE_F32, 1, 4, 4, 4, &w, 1, NULL, 0, NULL),
                 XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_BF16, 1, 2, 4, 4, &w, 1, NULL, 0, NULL),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_F32, 1, 4, 4, -3, &w, 1, NULL, 0, NULL),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_F32, 1, 4, 4, 4, NULL, 1, NULL, 0, NULL),
                 XGR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda((char *)lf + 2, XGR_DTYPE_F32, 1, 4, 3, 3, &w, 1, NULL, 0,
                                              NULL),
                 XGR_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_F32, 1, 4, 4, 4, &w, 1, NULL, 2, NULL),
                 XGR_ERR_INVALID_ARGUMENT);
    if (xgr_cuda_available()) {
        fprintf(stderr, "  (a CUDA driver is present: the unavailable status is not checked here)\n");
        rc = 0;
        goto cleanup;
    }
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_F32, 1, 4, 4, 4, &w, 1, NULL, 0, NULL),
                 XGR_ERR_CUDA_UNAVAILABLE);
    CHECK_ERROR_CONTAINS("CUDA is not available");
    CHECK_STATUS(xgr_apply_token_bitmask_cuda(lf, XGR_DTYPE_F16, 2, 2, 2, 2, &w, 1, ix, 2, NULL),
                 XGR_ERR_CUDA_UNAVAILABLE);
    CHECK(lf[1] == 2); /* nothing was touched */
    CHECK(!xgr_cuda_available()); /* probed once, the same answer */
    rc = 0;
cleanup:
    return rc;
}

/* A newer caller's options struct (larger, with fields this library does not know). */
static int test_newer_options_struct(void) {
    int rc = 1;
    xgr_tokenizer_info *t = NULL;
    xgr_compiler *c = NULL;
    union {
        xgr_compiler_options o;
        unsigned char bytes[sizeof(xgr_compiler_options) + 32];
    } u;
    memset(&u, 0x7f, sizeof u);
    u.o = xgr_compiler_options_default();
    u.o.struct_size = sizeof u;
    CHECK_OK(toy_tokenizer(0, &t));
    CHECK_OK(xgr_compiler_new(t, &u.o, &c));
    rc = 0;
cleanup:
    xgr_compiler_free(c);
    xgr_tokenizer_info_free(t);
    return rc;
}

int main(void) {
    RUN(test_version_and_status);
    RUN(test_tokenizer);
    RUN(test_grammar);
    RUN(test_compiler);
    RUN(test_matcher);
    RUN(test_batch);
    RUN(test_apply_cpu);
    RUN(test_cuda_unavailable);
    RUN(test_newer_options_struct);
    if (g_failures) {
        fprintf(stderr, "%d test(s) failed\n", g_failures);
        return 1;
    }
    fprintf(stderr, "all ABI tests passed\n");
    return 0;
}
