/* xgr.h compiles alone, as C11 (-Wall -Wextra -Wpedantic -Werror), and is usable. */
#include "xgr.h"

int main(void) {
    xgr_tokenizer_options o = xgr_tokenizer_options_default();
    return (o.struct_size == sizeof o && XGR_VERSION_MAJOR >= 0 && xgr_bitmask_words(33) == 2) ? 0 : 1;
}
