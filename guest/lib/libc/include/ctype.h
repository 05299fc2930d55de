/*
 * <ctype.h>: character classes of the C locale (ASCII).  Arguments are an
 * unsigned char value or EOF; anything else (e.g. a negative char) is in
 * no class and is returned unchanged by toupper/tolower.
 *
 * Each function also has a macro form that expands to an inline test (no
 * call, argument evaluated once).  Define __KILN_CTYPE_NO_MACROS, or use
 * (isalpha)(c), to get the function.
 */
#ifndef _CTYPE_H
#define _CTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

int isalnum(int c);
int isalpha(int c);
int isblank(int c);
int iscntrl(int c);
int isdigit(int c);
int isgraph(int c);
int islower(int c);
int isprint(int c);
int ispunct(int c);
int isspace(int c);
int isupper(int c);
int isxdigit(int c);
int isascii(int c);
int toascii(int c);
int tolower(int c);
int toupper(int c);

static inline int __kiln_isdigit(int c) { return (unsigned)c - '0' < 10; }
static inline int __kiln_islower(int c) { return (unsigned)c - 'a' < 26; }
static inline int __kiln_isupper(int c) { return (unsigned)c - 'A' < 26; }
static inline int __kiln_isalpha(int c) { return ((unsigned)c | 32) - 'a' < 26; }
static inline int __kiln_isalnum(int c) { return __kiln_isalpha(c) || __kiln_isdigit(c); }
static inline int __kiln_isxdigit(int c) { return __kiln_isdigit(c) || ((unsigned)c | 32) - 'a' < 6; }
static inline int __kiln_isspace(int c) { return c == ' ' || (unsigned)c - '\t' < 5; }
static inline int __kiln_isblank(int c) { return c == ' ' || c == '\t'; }
static inline int __kiln_isprint(int c) { return (unsigned)c - 0x20 < 0x5f; }
static inline int __kiln_isgraph(int c) { return (unsigned)c - 0x21 < 0x5e; }
static inline int __kiln_iscntrl(int c) { return (unsigned)c < 0x20 || c == 0x7f; }
static inline int __kiln_ispunct(int c) { return __kiln_isgraph(c) && !__kiln_isalnum(c); }
static inline int __kiln_isascii(int c) { return (unsigned)c < 0x80; }
static inline int __kiln_toascii(int c) { return c & 0x7f; }
static inline int __kiln_tolower(int c) { return __kiln_isupper(c) ? c | 32 : c; }
static inline int __kiln_toupper(int c) { return __kiln_islower(c) ? c & 0x5f : c; }

#ifndef __KILN_CTYPE_NO_MACROS
#define isalnum(c)  __kiln_isalnum(c)
#define isalpha(c)  __kiln_isalpha(c)
#define isblank(c)  __kiln_isblank(c)
#define iscntrl(c)  __kiln_iscntrl(c)
#define isdigit(c)  __kiln_isdigit(c)
#define isgraph(c)  __kiln_isgraph(c)
#define islower(c)  __kiln_islower(c)
#define isprint(c)  __kiln_isprint(c)
#define ispunct(c)  __kiln_ispunct(c)
#define isspace(c)  __kiln_isspace(c)
#define isupper(c)  __kiln_isupper(c)
#define isxdigit(c) __kiln_isxdigit(c)
#define isascii(c)  __kiln_isascii(c)
#define toascii(c)  __kiln_toascii(c)
#define tolower(c)  __kiln_tolower(c)
#define toupper(c)  __kiln_toupper(c)
#endif

#ifdef __cplusplus
}
#endif

#endif
