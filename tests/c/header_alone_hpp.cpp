// xgr.hpp compiles alone as C++17 without exceptions (-fno-exceptions): the unique_ptr layer
// stays available, the throwing wrappers are left out.
#include "xgr.hpp"

#if XGR_HPP_EXCEPTIONS
#error "XGR_HPP_EXCEPTIONS should be 0 under -fno-exceptions"
#endif

int main() {
    xgr::GrammarPtr g;
    xgr_grammar* raw = nullptr;
    if (xgr_grammar_builtin_json(&raw) != XGR_OK) return 1;
    g.reset(raw);
    return xgr::bitmask_words(32) == 1 && g ? 0 : 1;
}
