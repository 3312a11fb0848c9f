// xgr.hpp: header-only C++17 RAII wrappers over the xgr C ABI (xgr.h).
//
// Two layers:
//  - always available: `xgr::Deleter` and `std::unique_ptr` aliases (`xgr::MatcherPtr`, ...)
//    that free handles with the matching `_free`, plus `xgr::last_error_message()`;
//  - with exceptions (the default; define XGR_HPP_NO_EXCEPTIONS to leave it out): value classes
//    `TokenizerInfo`, `Grammar`, `CompiledGrammar` (copies share the object: copy = `_clone`),
//    `Compiler`, `Matcher`, `Batch` (move-only), whose failures throw `xgr::Error` carrying
//    the status and the library's message.
//
// Thread-safety follows the C ABI: TokenizerInfo, Grammar and CompiledGrammar may be used from
// many threads at once; a Compiler may be shared across threads; a Matcher or Batch is used
// by one thread at a time.
#ifndef XGR_HPP
#define XGR_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xgr.h"

#if !defined(XGR_HPP_NO_EXCEPTIONS) && (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define XGR_HPP_EXCEPTIONS 1
#include <stdexcept>
#else
#define XGR_HPP_EXCEPTIONS 0
#endif

namespace xgr {

/// Frees any xgr handle with its `_free` function (NULL is fine).
struct Deleter {
    void operator()(xgr_tokenizer_info* p) const noexcept { xgr_tokenizer_info_free(p); }
    void operator()(xgr_grammar* p) const noexcept { xgr_grammar_free(p); }
    void operator()(xgr_compiler* p) const noexcept { xgr_compiler_free(p); }
    void operator()(xgr_compiled_grammar* p) const noexcept { xgr_compiled_grammar_free(p); }
    void operator()(xgr_matcher* p) const noexcept { xgr_matcher_free(p); }
    void operator()(xgr_batch* p) const noexcept { xgr_batch_free(p); }
};

template <class T>
using Ptr = std::unique_ptr<T, Deleter>;
using TokenizerInfoPtr = Ptr<xgr_tokenizer_info>;
using GrammarPtr = Ptr<xgr_grammar>;
using CompilerPtr = Ptr<xgr_compiler>;
using CompiledGrammarPtr = Ptr<xgr_compiled_grammar>;
using MatcherPtr = Ptr<xgr_matcher>;
using BatchPtr = Ptr<xgr_batch>;

/// The message of the last failure on this thread.
inline std::string last_error_message() {
    std::size_t n = xgr_last_error_message(nullptr, 0);
    std::string s(n + 1, '\0');
    xgr_last_error_message(&s[0], s.size());
    s.resize(n);
    return s;
}

/// Words of one bitmask row for `vocab_size` tokens.
inline std::size_t bitmask_words(std::int32_t vocab_size) noexcept { return xgr_bitmask_words(vocab_size); }

/// Whether token `token` is allowed in a bitmask row.
inline bool is_allowed(const std::int32_t* row, std::int32_t token) noexcept {
    return ((static_cast<std::uint32_t>(row[token / 32]) >> (token % 32)) & 1u) != 0;
}

#if XGR_HPP_EXCEPTIONS

/// A failed xgr call: the status and the library's message.
class Error : public std::runtime_error {
public:
    Error(xgr_status status, const std::string& message)
        : std::runtime_error(std::string(xgr_status_name(status)) + ": " + message), status_(status) {}
    xgr_status status() const noexcept { return status_; }

private:
    xgr_status status_;
};

/// Throws `Error` unless `s` is XGR_OK.
inline void check(xgr_status s) {
    if (s != XGR_OK) throw Error(s, last_error_message());
}

class Compiler;
class Matcher;

/// A tokenizer's vocabulary (shared: copies refer to the same object).
class TokenizerInfo {
public:
    static TokenizerInfo from_hf_json(std::string_view json, const xgr_tokenizer_options* opts = nullptr) {
        xgr_tokenizer_info* p = nullptr;
        check(xgr_tokenizer_info_from_hf_json(json.data(), json.size(), opts, &p));
        return TokenizerInfo(p);
    }
    static TokenizerInfo from_vocab(const std::vector<std::string>& tokens, xgr_vocab_type type,
                                    const xgr_tokenizer_options* opts = nullptr) {
        std::vector<const char*> ptrs;
        std::vector<std::size_t> lens;
        ptrs.reserve(tokens.size());
        lens.reserve(tokens.size());
        for (const auto& t : tokens) {
            ptrs.push_back(t.data());
            lens.push_back(t.size());
        }
        xgr_tokenizer_info* p = nullptr;
        check(xgr_tokenizer_info_from_vocab(ptrs.data(), lens.data(), tokens.size(), type, opts, &p));
        return TokenizerInfo(p);
    }
    TokenizerInfo(const TokenizerInfo& o) : p_(xgr_tokenizer_info_clone(o.get())) {}
    TokenizerInfo& operator=(const TokenizerInfo& o) {
        if (this != &o) p_.reset(xgr_tokenizer_info_clone(o.get()));
        return *this;
    }
    TokenizerInfo(TokenizerInfo&&) noexcept = default;
    TokenizerInfo& operator=(TokenizerInfo&&) noexcept = default;

    std::int32_t vocab_size() const noexcept { return xgr_tokenizer_info_vocab_size(get()); }
    xgr_vocab_type vocab_type() const noexcept { return xgr_tokenizer_info_vocab_type(get()); }
    std::vector<std::int32_t> stop_token_ids() const {
        std::vector<std::int32_t> v(xgr_tokenizer_info_stop_token_ids(get(), nullptr, 0));
        xgr_tokenizer_info_stop_token_ids(get(), v.data(), v.size());
        return v;
    }
    std::string token_bytes(std::int32_t id) const {
        std::size_t n = 0;
        xgr_status s = xgr_tokenizer_info_token_bytes(get(), id, nullptr, 0, &n);
        if (s != XGR_ERR_BUFFER_TOO_SMALL) check(s);
        std::string out(n, '\0');
        check(xgr_tokenizer_info_token_bytes(get(), id, &out[0], out.size(), &n));
        out.resize(n);
        return out;
    }
    std::vector<std::int32_t> encode(std::string_view text) const {
        std::size_t n = 0;
        xgr_status s = xgr_tokenizer_info_encode(get(), text.data(), text.size(), nullptr, 0, &n);
        if (s != XGR_ERR_BUFFER_TOO_SMALL) check(s);
        std::vector<std::int32_t> ids(n);
        check(xgr_tokenizer_info_encode(get(), text.data(), text.size(), ids.data(), ids.size(), &n));
        ids.resize(n);
        return ids;
    }
    const xgr_tokenizer_info* get() const noexcept { return p_.get(); }

private:
    explicit TokenizerInfo(xgr_tokenizer_info* p) : p_(p) {}
    TokenizerInfoPtr p_;
};

/// A grammar (shared: copies refer to the same object).
class Grammar {
public:
    static Grammar from_ebnf(std::string_view src, const char* root_rule = "root") {
        return make([&](xgr_grammar** out) { return xgr_grammar_from_ebnf(src.data(), src.size(), root_rule, out); });
    }
    static Grammar from_regex(std::string_view re) {
        return make([&](xgr_grammar** out) { return xgr_grammar_from_regex(re.data(), re.size(), out); });
    }
    static Grammar from_json_schema(std::string_view schema, const xgr_json_schema_options* opts = nullptr) {
        return make([&](xgr_grammar** out) {
            return xgr_grammar_from_json_schema(schema.data(), schema.size(), opts, out);
        });
    }
    static Grammar from_structural_tag(std::string_view json) {
        return make([&](xgr_grammar** out) { return xgr_grammar_from_structural_tag(json.data(), json.size(), out); });
    }
    static Grammar builtin_json() {
        return make([](xgr_grammar** out) { return xgr_grammar_builtin_json(out); });
    }
    static Grammar union_of(const std::vector<Grammar>& gs) { return combine(gs, xgr_grammar_union); }
    static Grammar concat_of(const std::vector<Grammar>& gs) { return combine(gs, xgr_grammar_concat); }

    Grammar(const Grammar& o) : p_(xgr_grammar_clone(o.get())) {}
    Grammar& operator=(const Grammar& o) {
        if (this != &o) p_.reset(xgr_grammar_clone(o.get()));
        return *this;
    }
    Grammar(Grammar&&) noexcept = default;
    Grammar& operator=(Grammar&&) noexcept = default;

    std::string to_ebnf() const {
        std::size_t n = 0;
        xgr_status s = xgr_grammar_to_ebnf(get(), nullptr, 0, &n);
        if (s != XGR_ERR_BUFFER_TOO_SMALL) check(s);
        std::string out(n, '\0');
        check(xgr_grammar_to_ebnf(get(), &out[0], out.size(), &n));
        out.resize(n);
        return out;
    }
    const xgr_grammar* get() const noexcept { return p_.get(); }

private:
    explicit Grammar(xgr_grammar* p) : p_(p) {}
    template <class F>
    static Grammar make(F f) {
        xgr_grammar* p = nullptr;
        check(f(&p));
        return Grammar(p);
    }
    static Grammar combine(const std::vector<Grammar>& gs, xgr_status (*fn)(const xgr_grammar* const*, std::size_t,
                                                                            xgr_grammar**)) {
        std::vector<const xgr_grammar*> ptrs;
        ptrs.reserve(gs.size());
        for (const auto& g : gs) ptrs.push_back(g.get());
        xgr_grammar* p = nullptr;
        check(fn(ptrs.data(), ptrs.size(), &p));
        return Grammar(p);
    }
    GrammarPtr p_;
};

/// A grammar compiled for a tokenizer (shared: copies refer to the same object).
class CompiledGrammar {
public:
    CompiledGrammar(const CompiledGrammar& o) : p_(xgr_compiled_grammar_clone(o.get())) {}
    CompiledGrammar& operator=(const CompiledGrammar& o) {
        if (this != &o) p_.reset(xgr_compiled_grammar_clone(o.get()));
        return *this;
    }
    CompiledGrammar(CompiledGrammar&&) noexcept = default;
    CompiledGrammar& operator=(CompiledGrammar&&) noexcept = default;

    std::size_t memory_bytes() const noexcept { return xgr_compiled_grammar_memory_bytes(get()); }
    std::int32_t vocab_size() const noexcept { return xgr_compiled_grammar_vocab_size(get()); }
    const xgr_compiled_grammar* get() const noexcept { return p_.get(); }

private:
    friend class Compiler;
    explicit CompiledGrammar(xgr_compiled_grammar* p) : p_(p) {}
    CompiledGrammarPtr p_;
};

/// Compiles grammars for one tokenizer, with a cache. May be shared across threads.
class Compiler {
public:
    explicit Compiler(const TokenizerInfo& tok, const xgr_compiler_options* opts = nullptr) {
        xgr_compiler* p = nullptr;
        check(xgr_compiler_new(tok.get(), opts, &p));
        p_.reset(p);
    }
    CompiledGrammar compile(const Grammar& g) const {
        return make([&](xgr_compiled_grammar** out) { return xgr_compiler_compile_grammar(raw(), g.get(), out); });
    }
    CompiledGrammar compile_ebnf(std::string_view src, const char* root_rule = "root") const {
        return make([&](xgr_compiled_grammar** out) {
            return xgr_compiler_compile_ebnf(raw(), src.data(), src.size(), root_rule, out);
        });
    }
    CompiledGrammar compile_regex(std::string_view re) const {
        return make([&](xgr_compiled_grammar** out) {
            return xgr_compiler_compile_regex(raw(), re.data(), re.size(), out);
        });
    }
    CompiledGrammar compile_json_schema(std::string_view schema, const xgr_json_schema_options* opts = nullptr) const {
        return make([&](xgr_compiled_grammar** out) {
            return xgr_compiler_compile_json_schema(raw(), schema.data(), schema.size(), opts, out);
        });
    }
    CompiledGrammar compile_structural_tag(std::string_view json) const {
        return make([&](xgr_compiled_grammar** out) {
            return xgr_compiler_compile_structural_tag(raw(), json.data(), json.size(), out);
        });
    }
    CompiledGrammar compile_builtin_json() const {
        return make([&](xgr_compiled_grammar** out) { return xgr_compiler_compile_builtin_json(raw(), out); });
    }
    std::int64_t cache_size_bytes() const noexcept { return xgr_compiler_cache_size_bytes(p_.get()); }
    std::int64_t index_memory_bytes() const noexcept { return xgr_compiler_index_memory_bytes(p_.get()); }
    void clear_cache() const noexcept { xgr_compiler_clear_cache(raw()); }
    const xgr_compiler* get() const noexcept { return p_.get(); }

private:
    // Compile calls are thread-safe on a shared compiler; the C ABI takes a non-const pointer.
    xgr_compiler* raw() const noexcept { return p_.get(); }
    template <class F>
    static CompiledGrammar make(F f) {
        xgr_compiled_grammar* p = nullptr;
        check(f(&p));
        return CompiledGrammar(p);
    }
    CompilerPtr p_;
};

/// Matches one sequence. Move-only; one thread at a time.
class Matcher {
public:
    explicit Matcher(const CompiledGrammar& cg, const xgr_matcher_options* opts = nullptr) {
        xgr_matcher* p = nullptr;
        check(xgr_matcher_new(cg.get(), opts, &p));
        p_.reset(p);
    }
    /// False when the grammar rejects the token (state unchanged).
    bool accept_token(std::int32_t token) {
        bool ok = false;
        check(xgr_matcher_accept_token(p_.get(), token, &ok));
        return ok;
    }
    bool accept_string(std::string_view bytes) {
        bool ok = false;
        check(xgr_matcher_accept_string(p_.get(), bytes.data(), bytes.size(), &ok));
        return ok;
    }
    /// Fills one row of `words` words; returns whether any token is masked out.
    bool fill_next_token_bitmask(std::int32_t* bitmask, std::size_t words) {
        bool need = false;
        check(xgr_matcher_fill_next_token_bitmask(p_.get(), bitmask, words, &need));
        return need;
    }
    std::vector<std::int32_t> next_token_bitmask() {
        std::vector<std::int32_t> row(xgr_bitmask_words(vocab_size()));
        fill_next_token_bitmask(row.data(), row.size());
        return row;
    }
    void rollback(std::size_t n) { check(xgr_matcher_rollback(p_.get(), n)); }
    std::string find_jump_forward_string() {
        std::size_t n = 0;
        xgr_status s = xgr_matcher_find_jump_forward_string(p_.get(), nullptr, 0, &n);
        if (s != XGR_ERR_BUFFER_TOO_SMALL) check(s);
        std::string out(n, '\0');
        check(xgr_matcher_find_jump_forward_string(p_.get(), &out[0], out.size(), &n));
        out.resize(n);
        return out;
    }
    bool is_terminated() const noexcept { return xgr_matcher_is_terminated(p_.get()); }
    bool is_completed() const noexcept { return xgr_matcher_is_completed(p_.get()); }
    std::size_t num_accepted() const noexcept { return xgr_matcher_num_accepted(p_.get()); }
    std::int32_t vocab_size() const noexcept { return xgr_matcher_vocab_size(p_.get()); }
    void reset() { check(xgr_matcher_reset(p_.get())); }
    Matcher fork() const {
        xgr_matcher* p = nullptr;
        check(xgr_matcher_fork(p_.get(), &p));
        return Matcher(p);
    }
    xgr_matcher* get() noexcept { return p_.get(); }
    const xgr_matcher* get() const noexcept { return p_.get(); }

private:
    explicit Matcher(xgr_matcher* p) : p_(p) {}
    MatcherPtr p_;
};

/// A persistent thread pool for batch calls. Move-only; one thread at a time.
class Batch {
public:
    explicit Batch(std::int32_t num_threads = 0) {
        xgr_batch* p = nullptr;
        check(xgr_batch_new(num_threads, &p));
        p_.reset(p);
    }
    std::size_t num_threads() const noexcept { return xgr_batch_num_threads(p_.get()); }
    void fill_next_token_bitmask(const std::vector<Matcher*>& ms, std::int32_t* bitmask, std::size_t row_stride_words,
                                 const std::int32_t* row_indices = nullptr) {
        std::vector<xgr_matcher*> raw = raws(ms);
        check(xgr_batch_fill_next_token_bitmask(p_.get(), raw.data(), raw.size(), bitmask, row_stride_words,
                                                row_indices));
    }
    std::vector<bool> accept_token(const std::vector<Matcher*>& ms, const std::vector<std::int32_t>& tokens) {
        if (tokens.size() != ms.size()) throw Error(XGR_ERR_INVALID_ARGUMENT, "one token per matcher");
        std::vector<xgr_matcher*> raw = raws(ms);
        std::unique_ptr<bool[]> acc(new bool[ms.size() + 1]);
        check(xgr_batch_accept_token(p_.get(), raw.data(), tokens.data(), raw.size(), acc.get()));
        return std::vector<bool>(acc.get(), acc.get() + ms.size());
    }

private:
    static std::vector<xgr_matcher*> raws(const std::vector<Matcher*>& ms) {
        std::vector<xgr_matcher*> raw;
        raw.reserve(ms.size());
        for (Matcher* m : ms) raw.push_back(m ? m->get() : nullptr);
        return raw;
    }
    BatchPtr p_;
};

/// `xgr_apply_token_bitmask_cpu` on float logits, throwing on failure.
inline void apply_token_bitmask_cpu(float* logits, std::size_t num_rows, std::size_t row_stride, std::size_t cols,
                                    std::int32_t vocab_size, const std::int32_t* bitmask,
                                    std::size_t bitmask_row_stride_words, const std::int32_t* indices = nullptr,
                                    std::size_t num_indices = 0) {
    check(xgr_apply_token_bitmask_cpu(logits, XGR_DTYPE_F32, num_rows, row_stride, cols, vocab_size, bitmask,
                                      bitmask_row_stride_words, indices, num_indices));
}

#endif  // XGR_HPP_EXCEPTIONS

}  // namespace xgr

#endif  // XGR_HPP
