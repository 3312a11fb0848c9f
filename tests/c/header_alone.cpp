// xgr.h compiles alone as C++17 (-Wall -Wextra -Wpedantic -Werror), and twice is harmless.
#include "xgr.h"
#include "xgr.h"

int main() {
    xgr_matcher_options o = xgr_matcher_options_default();
    const xgr_status s = XGR_OK;
    return (o.struct_size == sizeof o && s == 0 && xgr_bitmask_words(64) == 2) ? 0 : 1;
}
