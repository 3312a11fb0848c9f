// An engine-like use of xgr: load a tokenizer.json, compile the builtin JSON grammar, then for
// each decoding step fill the token bitmask, apply it to the logits, "sample" (here: the next
// token of a fixed document, which must survive the mask) and accept the token.
// Usage: engine path/to/tokenizer.json
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "xgr.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s tokenizer.json\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        const xgr::TokenizerInfo tok = xgr::TokenizerInfo::from_hf_json(ss.str());
        const xgr::Compiler compiler(tok);
        const xgr::CompiledGrammar json = compiler.compile_builtin_json();
        xgr::Matcher matcher(json);

        const std::int32_t vocab = tok.vocab_size();
        const std::size_t words = xgr::bitmask_words(vocab);
        std::vector<std::int32_t> bitmask(words);
        std::vector<float> logits(static_cast<std::size_t>(vocab));

        const std::string doc = R"({"model": "xgr", "ok": true, "scores": [1, 2.5, -3e2]})";
        std::vector<std::int32_t> tokens = tok.encode(doc);
        tokens.push_back(tok.stop_token_ids().at(0));

        std::size_t masked_total = 0;
        for (std::int32_t token : tokens) {
            const bool need_apply = matcher.fill_next_token_bitmask(bitmask.data(), words);
            for (std::int32_t i = 0; i < vocab; i++) logits[static_cast<std::size_t>(i)] = 0.001f * static_cast<float>(i % 997);
            if (need_apply) {
                xgr::apply_token_bitmask_cpu(logits.data(), 1, logits.size(), logits.size(), vocab, bitmask.data(), words);
            }
            std::size_t masked = 0;
            for (float l : logits) masked += std::isinf(l) ? 1 : 0;
            masked_total += masked;
            if (std::isinf(logits[static_cast<std::size_t>(token)]) || !matcher.accept_token(token)) {
                std::fprintf(stderr, "token %d was masked or rejected\n", token);
                return 1;
            }
        }
        if (!matcher.is_terminated()) {
            std::fprintf(stderr, "the matcher did not terminate\n");
            return 1;
        }
        std::printf("xgr %s: %zu tokens accepted, %.1f%% of the vocabulary masked per step on average\n",
                    xgr_version(), tokens.size(),
                    100.0 * static_cast<double>(masked_total) / static_cast<double>(tokens.size() * logits.size()));
    } catch (const xgr::Error& e) {
        std::fprintf(stderr, "xgr error: %s\n", e.what());
        return 1;
    }
    return 0;
}
