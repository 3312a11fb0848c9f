// C++ use of the ABI: the header from C++17, `unique_ptr` deleters on raw handles, the RAII
// wrappers of bindings/cpp/xgr.hpp with exceptions, and std::threads sharing one compiled
// grammar and one compiler (masks equal the single-thread masks).
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "xgr.hpp"

static int g_failures = 0;

#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: EXPECT failed: %s\n", __FILE__, __LINE__, #cond); \
            ++g_failures;                                                                 \
        }                                                                                 \
    } while (0)

static std::vector<std::string> toy_vocab() {
    std::vector<std::string> v;
    for (int i = 0; i < 256; i++) v.emplace_back(1, static_cast<char>(i));
    v.emplace_back("<eos>");
    return v;
}

static xgr::TokenizerInfo toy_tokenizer() {
    xgr_tokenizer_options o = xgr_tokenizer_options_default();
    const std::int32_t stop = 256;
    o.stop_token_ids = &stop;
    o.num_stop_token_ids = 1;
    return xgr::TokenizerInfo::from_vocab(toy_vocab(), XGR_VOCAB_RAW, &o);
}

// Raw handles with unique_ptr deleters, no wrapper classes.
static void test_unique_ptr_deleters() {
    xgr_tokenizer_info* raw_tok = nullptr;
    const char* toks[3] = {"a", "b", "</s>"};
    EXPECT(xgr_tokenizer_info_from_vocab(toks, nullptr, 3, XGR_VOCAB_RAW, nullptr, &raw_tok) == XGR_OK);
    xgr::TokenizerInfoPtr tok(raw_tok);
    xgr_compiler* raw_c = nullptr;
    EXPECT(xgr_compiler_new(tok.get(), nullptr, &raw_c) == XGR_OK);
    xgr::CompilerPtr compiler(raw_c);
    xgr_compiled_grammar* raw_cg = nullptr;
    EXPECT(xgr_compiler_compile_regex(compiler.get(), "(ab)+", 5, &raw_cg) == XGR_OK);
    xgr::CompiledGrammarPtr cg(raw_cg);
    xgr_matcher* raw_m = nullptr;
    EXPECT(xgr_matcher_new(cg.get(), nullptr, &raw_m) == XGR_OK);
    xgr::MatcherPtr m(raw_m);
    bool ok = false;
    EXPECT(xgr_matcher_accept_token(m.get(), 0, &ok) == XGR_OK && ok);
    EXPECT(xgr_matcher_accept_token(m.get(), 0, &ok) == XGR_OK && !ok);
    xgr::GrammarPtr none;  // an empty pointer frees nothing
    xgr_batch* raw_b = nullptr;
    EXPECT(xgr_batch_new(2, &raw_b) == XGR_OK);
    xgr::BatchPtr batch(raw_b);
    EXPECT(xgr_status_name(XGR_ERR_TERMINATED) == std::string("XGR_ERR_TERMINATED"));
}

static void test_wrappers() {
    xgr::TokenizerInfo tok = toy_tokenizer();
    EXPECT(tok.vocab_size() == 257);
    EXPECT(tok.stop_token_ids() == std::vector<std::int32_t>{256});
    EXPECT(tok.token_bytes('x') == "x");
    xgr::TokenizerInfo tok2 = tok;  // a second reference
    EXPECT(tok2.get() == tok.get());

    xgr::Grammar g = xgr::Grammar::from_ebnf("root ::= \"hi \" name\nname ::= [a-z]+");
    EXPECT(g.to_ebnf().find("name") != std::string::npos);
    xgr::Grammar both = xgr::Grammar::union_of({g, xgr::Grammar::from_regex("[0-9]+")});
    (void)xgr::Grammar::concat_of({g, both});

    xgr::Compiler compiler(tok);
    xgr::CompiledGrammar cg = compiler.compile(g);
    EXPECT(cg.vocab_size() == 257 && cg.memory_bytes() > 0);
    EXPECT(compiler.cache_size_bytes() > 0);
    EXPECT(compiler.index_memory_bytes() > 0);
    xgr::Matcher m(cg);
    EXPECT(m.find_jump_forward_string() == "hi ");
    EXPECT(m.accept_string("hi "));
    EXPECT(!m.accept_token('A'));
    EXPECT(m.accept_token('b'));
    std::vector<std::int32_t> mask = m.next_token_bitmask();
    EXPECT(xgr::is_allowed(mask.data(), 'z') && xgr::is_allowed(mask.data(), 256) && !xgr::is_allowed(mask.data(), ' '));
    xgr::Matcher f = m.fork();
    EXPECT(f.accept_token(256) && f.is_terminated() && !m.is_terminated());
    m.rollback(1);
    EXPECT(m.num_accepted() == 1);

    std::vector<float> logits(257, 0.0f);
    xgr::apply_token_bitmask_cpu(logits.data(), 1, 257, 257, 257, mask.data(), mask.size());

    // exceptions carry the status and message
    bool threw = false;
    try {
        xgr::Grammar::from_ebnf("root ::= (");
    } catch (const xgr::Error& e) {
        threw = e.status() == XGR_ERR_GRAMMAR_SYNTAX && std::strstr(e.what(), "line 1") != nullptr;
    }
    EXPECT(threw);
    threw = false;
    try {
        f.accept_token('a');
    } catch (const xgr::Error& e) {
        threw = e.status() == XGR_ERR_TERMINATED;
    }
    EXPECT(threw);
    threw = false;
    try {
        m.rollback(10);
    } catch (const xgr::Error& e) {
        threw = e.status() == XGR_ERR_ROLLBACK;
    }
    EXPECT(threw);
    threw = false;
    try {
        m.accept_token(1000);
    } catch (const xgr::Error& e) {
        threw = e.status() == XGR_ERR_INVALID_ARGUMENT && std::string(e.what()).find("out of range") != std::string::npos;
    }
    EXPECT(threw);

    // batch
    xgr::Batch batch(2);
    xgr::Matcher a(cg), b(cg);
    std::vector<std::int32_t> rows(2 * mask.size(), 0);
    const std::int32_t idx[2] = {1, 0};
    batch.fill_next_token_bitmask({&a, &b}, rows.data(), mask.size(), idx);
    std::vector<bool> acc = batch.accept_token({&a, &b}, {'h', 'x'});
    EXPECT(acc.size() == 2 && acc[0] && !acc[1]);
}

// Threads sharing one compiled grammar and one compiler, each with its own matcher.
static void test_threads() {
    xgr::TokenizerInfo tok = toy_tokenizer();
    xgr::Compiler compiler(tok);
    xgr::CompiledGrammar shared = compiler.compile_builtin_json();
    const std::string doc = "{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}";
    std::vector<std::vector<std::int32_t>> want;
    {
        xgr::Matcher m(shared);
        for (char ch : doc) {
            want.push_back(m.next_token_bitmask());
            EXPECT(m.accept_token(static_cast<unsigned char>(ch)));
        }
        want.push_back(m.next_token_bitmask());
    }
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            try {
                xgr::CompiledGrammar cg = (t % 2) ? shared : compiler.compile_builtin_json();
                (void)compiler.compile_regex(t % 3 ? "[a-f]+" : "x+");
                xgr::Matcher m(cg);
                for (std::size_t i = 0; i < doc.size(); i++) {
                    if (m.next_token_bitmask() != want[i]) bad++;
                    if (!m.accept_token(static_cast<unsigned char>(doc[i]))) bad++;
                }
                if (m.next_token_bitmask() != want.back() || !m.is_completed()) bad++;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "thread %d: %s\n", t, e.what());
                bad++;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT(bad.load() == 0);
}

int main() {
    try {
        test_unique_ptr_deleters();
        test_wrappers();
        test_threads();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        return 1;
    }
    if (g_failures) {
        std::fprintf(stderr, "%d C++ check(s) failed\n", g_failures);
        return 1;
    }
    std::fprintf(stderr, "all C++ tests passed\n");
    return 0;
}
