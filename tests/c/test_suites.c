/* The data-driven grammar suites (tests/data/suites/<name>.toml) through the C ABI, with the
 * expectations of the Rust runner tests/suites.rs and the Python one
 * (bindings/python/tests/test_suites.py): a byte-level toy tokenizer (ids 0-255 = single
 * bytes, RAW; 256 = "</s>", the stop token); `accept` = xgr_matcher_accept_string and
 * xgr_matcher_is_completed, then the stop token is accepted; `reject` = not (accepted and
 * completed); `error` = compiling fails and the last error message contains the substring.
 *
 * Usage: xgr_test_suites SUITES.txt, the file written by suite_to_lines.py (its docstring
 * describes the length-prefixed line format). Prints one line per failure and a summary;
 * exits non-zero on any failure or when fewer cases ran than the file announces. */
#include <stdbool.h>
#include <stdint.h>

#include "test_util.h"

#define STOP_TOKEN 256

typedef struct {
    const char *p;
    size_t len;
} span;

/* A cursor over the whole file. */
typedef struct {
    const char *buf;
    size_t len;
    size_t pos;
} reader;

typedef enum { SRC_NONE, SRC_EBNF, SRC_REGEX, SRC_BUILTIN_JSON, SRC_JSON_SCHEMA, SRC_STRUCTURAL_TAG } source_kind;

typedef struct {
    bool accept; /* false: reject */
    span text;
} probe;

typedef struct {
    span name;
    source_kind kind;
    span source;
    bool has_error;
    span error;
    probe *probes;
    size_t num_probes;
    size_t cap_probes;
} suite_case;

static int g_cases_run = 0;
static int g_checks = 0;
static span g_file = {"?", 1};

/* ---------------------------------------------------------------------------------------- */
/* Parsing */

/* The next line (without its "\n"); 0 at the end of the input or on a missing newline. */
static int next_line(reader *r, span *line) {
    const char *nl;
    if (r->pos >= r->len) return 0;
    nl = (const char *)memchr(r->buf + r->pos, '\n', r->len - r->pos);
    if (!nl) return 0;
    line->p = r->buf + r->pos;
    line->len = (size_t)(nl - line->p);
    r->pos += line->len + 1;
    return 1;
}

static int span_eq(span s, const char *lit) { return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0; }

/* A decimal number without sign or leading garbage; 0 on a malformed one. */
static int parse_size(span s, size_t *out) {
    size_t v = 0;
    if (s.len == 0 || s.len > 12) return 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') return 0;
        v = v * 10 + (size_t)(s.p[i] - '0');
    }
    *out = v;
    return 1;
}

/* Splits a record line "TAG ARG" (ARG may be absent). */
static void split_record(span line, span *tag, span *arg) {
    const char *sp = (const char *)memchr(line.p, ' ', line.len);
    tag->p = line.p;
    if (!sp) {
        tag->len = line.len;
        arg->p = line.p + line.len;
        arg->len = 0;
        return;
    }
    tag->len = (size_t)(sp - line.p);
    arg->p = sp + 1;
    arg->len = line.len - tag->len - 1;
}

/* The payload of a length-prefixed record: `arg` bytes, then a "\n". */
static int read_payload(reader *r, span arg, span *out) {
    size_t n;
    if (!parse_size(arg, &n)) return 0;
    if (n > r->len - r->pos || r->len - r->pos - n < 1 || r->buf[r->pos + n] != '\n') return 0;
    out->p = r->buf + r->pos;
    out->len = n;
    r->pos += n + 1;
    return 1;
}

static int add_probe(suite_case *c, bool accept, span text) {
    if (c->num_probes == c->cap_probes) {
        size_t cap = c->cap_probes ? 2 * c->cap_probes : 16;
        probe *p = (probe *)realloc(c->probes, cap * sizeof *p);
        if (!p) return 0;
        c->probes = p;
        c->cap_probes = cap;
    }
    c->probes[c->num_probes].accept = accept;
    c->probes[c->num_probes].text = text;
    c->num_probes++;
    return 1;
}

static void parse_error(const reader *r, const char *what) {
    fprintf(stderr, "FAIL parse: %s at byte %zu of the suite file\n", what, r->pos);
}

/* Parses the records of one case after its "T" record, up to and including "END". */
static int parse_case(reader *r, suite_case *c) {
    span line, tag, arg, payload;
    for (;;) {
        if (!next_line(r, &line)) {
            parse_error(r, "unterminated case");
            return 0;
        }
        split_record(line, &tag, &arg);
        if (span_eq(tag, "END") && arg.len == 0) break;
        if (span_eq(tag, "B")) {
            if (c->kind != SRC_NONE || !span_eq(arg, "json")) {
                parse_error(r, "bad or second grammar source (B)");
                return 0;
            }
            c->kind = SRC_BUILTIN_JSON;
            continue;
        }
        if (!read_payload(r, arg, &payload)) {
            parse_error(r, "bad record length or payload");
            return 0;
        }
        if (span_eq(tag, "E") || span_eq(tag, "R") || span_eq(tag, "J") || span_eq(tag, "S")) {
            if (c->kind != SRC_NONE) {
                parse_error(r, "second grammar source");
                return 0;
            }
            c->kind = tag.p[0] == 'E'   ? SRC_EBNF
                      : tag.p[0] == 'R' ? SRC_REGEX
                      : tag.p[0] == 'J' ? SRC_JSON_SCHEMA
                                        : SRC_STRUCTURAL_TAG;
            c->source = payload;
        } else if (span_eq(tag, "ERR")) {
            c->has_error = true;
            c->error = payload;
        } else if (span_eq(tag, "A") || span_eq(tag, "X")) {
            if (!add_probe(c, tag.p[0] == 'A', payload)) {
                parse_error(r, "out of memory");
                return 0;
            }
        } else {
            parse_error(r, "unknown record tag");
            return 0;
        }
    }
    if (c->kind == SRC_NONE) {
        parse_error(r, "case without a grammar source");
        return 0;
    }
    if (c->has_error && c->num_probes > 0) {
        parse_error(r, "error case with accept/reject strings");
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Running */

/* The Rust runner's tokenizer: ids 0-255 are the bytes (RAW), 256 is "</s>", the stop token. */
static xgr_status byte_tokenizer(xgr_tokenizer_info **out) {
    static char bytes[256];
    const char *toks[257];
    size_t lens[257];
    int32_t stop = STOP_TOKEN;
    xgr_tokenizer_options o = xgr_tokenizer_options_default();
    for (int i = 0; i < 256; i++) {
        bytes[i] = (char)i;
        toks[i] = &bytes[i];
        lens[i] = 1;
    }
    toks[STOP_TOKEN] = "</s>";
    lens[STOP_TOKEN] = 4;
    o.stop_token_ids = &stop;
    o.num_stop_token_ids = 1;
    return xgr_tokenizer_info_from_vocab(toks, lens, 257, XGR_VOCAB_RAW, &o, out);
}

static void fail_case(const suite_case *c, const char *what, span detail, const char *suffix) {
    fprintf(stderr, "FAIL %.*s::%.*s: %s \"", (int)g_file.len, g_file.p, (int)c->name.len, c->name.p,
            what);
    /* Control bytes escaped, so that every failure stays on one line. */
    for (size_t i = 0; i < detail.len; i++) {
        unsigned char ch = (unsigned char)detail.p[i];
        if (ch == '\\' || ch == '"')
            fprintf(stderr, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
    fprintf(stderr, "\"%s\n", suffix);
    g_failures++;
}

static xgr_status compile_case(xgr_compiler *compiler, const suite_case *c, xgr_compiled_grammar **out) {
    xgr_json_schema_options jo;
    switch (c->kind) {
    case SRC_EBNF:
        return xgr_compiler_compile_ebnf(compiler, c->source.p, c->source.len, "root", out);
    case SRC_REGEX:
        return xgr_compiler_compile_regex(compiler, c->source.p, c->source.len, out);
    case SRC_BUILTIN_JSON:
        return xgr_compiler_compile_builtin_json(compiler, out);
    case SRC_JSON_SCHEMA:
        jo = xgr_json_schema_options_default();
        return xgr_compiler_compile_json_schema(compiler, c->source.p, c->source.len, &jo, out);
    case SRC_STRUCTURAL_TAG:
        return xgr_compiler_compile_structural_tag(compiler, c->source.p, c->source.len, out);
    case SRC_NONE:
        break;
    }
    return XGR_ERR_INVALID_ARGUMENT;
}

/* The whole last error message; the caller frees. NULL when out of memory. */
static char *last_error(size_t *len) {
    size_t n = xgr_last_error_message(NULL, 0);
    char *msg = (char *)malloc(n + 1);
    if (!msg) return NULL;
    *len = xgr_last_error_message(msg, n + 1);
    if (*len > n) *len = n;
    return msg;
}

static int contains(const char *hay, size_t hay_len, span needle) {
    if (needle.len > hay_len) return 0;
    for (size_t i = 0; i + needle.len <= hay_len; i++)
        if (memcmp(hay + i, needle.p, needle.len) == 0) return 1;
    return 0;
}

/* One accept or reject string on a fresh matcher. */
static void run_probe(const suite_case *c, const xgr_compiled_grammar *cg, const probe *pr) {
    xgr_matcher *m = NULL;
    bool accepted = false, completed, stop_ok = false;
    xgr_status s;
    g_checks++;
    s = xgr_matcher_new(cg, NULL, &m);
    if (s != XGR_OK) {
        fail_case(c, "xgr_matcher_new failed for", pr->text, "");
        xt_print_last_error();
        goto cleanup;
    }
    s = xgr_matcher_accept_string(m, pr->text.p, pr->text.len, &accepted);
    if (s != XGR_OK) {
        fail_case(c, "xgr_matcher_accept_string returned an error status for", pr->text, "");
        xt_print_last_error();
        goto cleanup;
    }
    completed = accepted && xgr_matcher_is_completed(m);
    if (!pr->accept) {
        if (completed) fail_case(c, "should reject", pr->text, " (accepted as a complete document)");
        goto cleanup;
    }
    if (!completed) {
        fail_case(c, "should accept", pr->text, accepted ? " (accepted but not completed)" : " (not accepted)");
        goto cleanup;
    }
    s = xgr_matcher_accept_token(m, STOP_TOKEN, &stop_ok);
    if (s != XGR_OK || !stop_ok) {
        fail_case(c, "stop token not accepted after", pr->text, "");
        if (s != XGR_OK) xt_print_last_error();
        goto cleanup;
    }
    if (!xgr_matcher_is_terminated(m)) fail_case(c, "not terminated after the stop token following", pr->text, "");
cleanup:
    xgr_matcher_free(m);
}

static void run_case(xgr_compiler *compiler, const suite_case *c) {
    xgr_compiled_grammar *cg = NULL;
    xgr_status s = compile_case(compiler, c, &cg);
    g_cases_run++;
    if (c->has_error) {
        char *msg;
        size_t len = 0;
        g_checks++;
        if (s == XGR_OK) {
            fail_case(c, "compiled, but expected an error containing", c->error, "");
            goto cleanup;
        }
        msg = last_error(&len);
        if (!msg) {
            fail_case(c, "out of memory reading the error expected to contain", c->error, "");
            goto cleanup;
        }
        if (!contains(msg, len, c->error)) {
            fail_case(c, "error lacks", c->error, "");
            fprintf(stderr, "    got %s: %.*s\n", xgr_status_name(s), (int)len, msg);
        }
        free(msg);
        goto cleanup;
    }
    if (s != XGR_OK) {
        fail_case(c, "unexpected compile error", (span){xgr_status_name(s), strlen(xgr_status_name(s))}, "");
        xt_print_last_error();
        goto cleanup;
    }
    for (size_t i = 0; i < c->num_probes; i++) run_probe(c, cg, &c->probes[i]);
cleanup:
    xgr_compiled_grammar_free(cg);
}

/* ---------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    int rc = 1;
    size_t file_len = 0, expected = 0;
    char *text = NULL;
    xgr_tokenizer_info *tok = NULL;
    xgr_compiler *compiler = NULL;
    suite_case c;
    reader r;
    span line, tag, arg;

    memset(&c, 0, sizeof c);
    CHECK(check_asan_linked() == 0);
    if (argc != 2) {
        fprintf(stderr, "usage: %s SUITES.txt (written by tests/c/suite_to_lines.py)\n", argv[0]);
        goto cleanup;
    }
    text = read_file(argv[1], &file_len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        goto cleanup;
    }
    r.buf = text;
    r.len = file_len;
    r.pos = 0;
    CHECK(next_line(&r, &line) && span_eq(line, "XGR-SUITE 1"));
    CHECK(next_line(&r, &line));
    split_record(line, &tag, &arg);
    CHECK(span_eq(tag, "N") && parse_size(arg, &expected) && expected > 0);

    CHECK_OK(byte_tokenizer(&tok));
    CHECK_OK(xgr_compiler_new(tok, NULL, &compiler));

    while (next_line(&r, &line)) {
        span payload;
        split_record(line, &tag, &arg);
        if (span_eq(tag, "F")) {
            CHECK(read_payload(&r, arg, &payload));
            g_file = payload;
            continue;
        }
        CHECK(span_eq(tag, "T") && read_payload(&r, arg, &payload));
        free(c.probes);
        memset(&c, 0, sizeof c);
        c.name = payload;
        if (!parse_case(&r, &c)) goto cleanup;
        run_case(compiler, &c);
    }
    CHECK(r.pos == r.len); /* no trailing partial line */

    fprintf(stderr, "suites: %d of %zu cases ran, %d checks, %d failures\n", g_cases_run, expected, g_checks,
            g_failures);
    if ((size_t)g_cases_run != expected) {
        fprintf(stderr, "FAIL: the file announces %zu cases, %d ran\n", expected, g_cases_run);
        goto cleanup;
    }
    if (g_failures == 0) rc = 0;
cleanup:
    free(c.probes);
    xgr_compiler_free(compiler);
    xgr_tokenizer_info_free(tok);
    free(text);
    return rc;
}
