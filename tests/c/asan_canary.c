/* A deliberate heap overflow: under -fsanitize=address this must be reported (the test passes
 * when the report appears), which proves the sanitizer build really instruments the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgr.h"

int main(int argc, char **argv) {
    volatile size_t n = 8 + (size_t)argc;
    char *p = (char *)malloc(n);
    (void)argv;
    if (!p) return 1;
    memset(p, 'x', n + 1); /* one byte past the end */
    printf("not detected: %s %c\n", xgr_version(), p[0]);
    free(p);
    return 0;
}
