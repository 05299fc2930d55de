/* errno: one int for the whole (single) address space. */
#include <errno.h>

int errno;
