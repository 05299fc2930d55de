/*
 * strdup/strndup: the only string functions that allocate.  malloc() comes
 * from the "alloc" library; an image that never calls these two does not
 * need it (--gc-sections drops them and their reference to malloc).
 */
#include <stdlib.h>
#include <string.h>

char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t n)
{
    size_t k = strnlen(s, n);
    char *d = malloc(k + 1);
    if (!d)
        return NULL;
    memcpy(d, s, k);
    d[k] = '\0';
    return d;
}
