/*
 * Formatting without stdio: --strace lines and the layer's own messages are
 * written while stdio may be in the middle of a call (and must not recurse
 * into it).
 */
#include <errno.h>
#include "core.h"

static void put(struct fmtbuf *b, char c)
{
    if (b->len < b->cap)
        b->buf[b->len++] = c;
}

void fmt_str(struct fmtbuf *b, const char *s)
{
    while (*s)
        put(b, *s++);
}

static void fmt_unsigned(struct fmtbuf *b, unsigned long v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put(b, tmp[--n]);
}

void fmt_dec(struct fmtbuf *b, long v)
{
    if (v < 0) {
        put(b, '-');
        fmt_unsigned(b, -(unsigned long)v, 10);
    } else {
        fmt_unsigned(b, (unsigned long)v, 10);
    }
}

void fmt_hex(struct fmtbuf *b, unsigned long v)
{
    fmt_str(b, "0x");
    fmt_unsigned(b, v, 16);
}

static void fmt_cstring(struct fmtbuf *b, const char *s)
{
    if (!s) {
        fmt_str(b, "NULL");
        return;
    }
    put(b, '"');
    for (int i = 0; s[i]; i++) {
        if (i == 64) {
            fmt_str(b, "\"...");
            return;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(b, '\\');
            put(b, (char)c);
        } else if (c == '\n') {
            fmt_str(b, "\\n");
        } else if (c < 32 || c >= 127) {
            fmt_str(b, "\\x");
            put(b, "0123456789abcdef"[c >> 4]);
            put(b, "0123456789abcdef"[c & 15]);
        } else {
            put(b, (char)c);
        }
    }
    put(b, '"');
}

void fmt_arg(struct fmtbuf *b, char kind, long v)
{
    switch (kind) {
    case 'd':
    case 'f':
        fmt_dec(b, (int)v == v ? (int)v : v);
        break;
    case 'u':
        fmt_unsigned(b, (unsigned long)v, 10);
        break;
    case 'o':
        put(b, '0');
        fmt_unsigned(b, (unsigned long)v, 8);
        break;
    case 's':
        fmt_cstring(b, (const char *)v);
        break;
    case 'p':
        if (!v) {
            fmt_str(b, "NULL");
            break;
        }
        /* fall through */
    default:
        fmt_hex(b, (unsigned long)v);
    }
}

const char *errno_name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDEADLK: return "EDEADLK";
    default: return "E?";
    }
}
