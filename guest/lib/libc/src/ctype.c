/* <ctype.h> functions; the inline forms in the header do the work. */
#define __KILN_CTYPE_NO_MACROS
#include <ctype.h>

int isalnum(int c) { return __kiln_isalnum(c); }
int isalpha(int c) { return __kiln_isalpha(c); }
int isblank(int c) { return __kiln_isblank(c); }
int iscntrl(int c) { return __kiln_iscntrl(c); }
int isdigit(int c) { return __kiln_isdigit(c); }
int isgraph(int c) { return __kiln_isgraph(c); }
int islower(int c) { return __kiln_islower(c); }
int isprint(int c) { return __kiln_isprint(c); }
int ispunct(int c) { return __kiln_ispunct(c); }
int isspace(int c) { return __kiln_isspace(c); }
int isupper(int c) { return __kiln_isupper(c); }
int isxdigit(int c) { return __kiln_isxdigit(c); }
int isascii(int c) { return __kiln_isascii(c); }
int toascii(int c) { return __kiln_toascii(c); }
int tolower(int c) { return __kiln_tolower(c); }
int toupper(int c) { return __kiln_toupper(c); }
