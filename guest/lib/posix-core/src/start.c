/*
 * Start-up of a POSIX program: the hvt platform's _start calls
 * plat_run_main(cmdline); this strong definition replaces the platform's
 * weak one (which calls Kiln's own main(cmdline)).  It lays out what a Linux
 * kernel leaves on a new process's stack -- argc, argv, envp, the auxiliary
 * vector (System V x86-64 ABI 3.4.1) -- mounts the file systems and hands
 * over to musl's __libc_start_main, which sets up TLS and stdio and calls
 * the program's main(argc, argv, envp).
 *
 * The hvt command line is the monitor's arguments joined by spaces; `kiln
 * run` single-quotes an argument that holds a space, a quote or a
 * backslash, or is empty (POSIX shell quoting), so splitting with the
 * shell's rules gives back exactly the argv that was typed.
 */
#include <elf.h>
#include <errno.h>
#include <kiln/posix.h>

/* Not <kiln/platform.h>: it declares Kiln's own main(const char *). */
__attribute__((noreturn)) void plat_exit(int status);

#ifndef KILN_APP_NAME
#define KILN_APP_NAME "app"
#endif

#define MAX_ARGS 256
#define ARGBUF 8192

int main(int argc, char **argv, char **envp);
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                      void (*init)(void), void (*fini)(void), void (*ldso)(void));

static char argbuf[ARGBUF];
/* argv, NULL, envp..., NULL, auxv pairs: musl finds envp and auxv after argv. */
static char *vector[1 + MAX_ARGS + 1 + 8 + 1 + 40];
static unsigned char at_random[16];

static const char *default_env[] = {
    "PATH=/bin:/usr/bin",
    "HOME=/",
    "TERM=dumb",
    "LANG=C",
};

/* Splits cmdline with POSIX shell quoting into argbuf; returns argc or -1 when too long. */
static int split(const char *s, char **argv, int max)
{
    unsigned long used = 0;
    int argc = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        if (argc == max)
            return -1;
        argv[argc++] = &argbuf[used];
        while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
            char c = *s++;
            if (c == '\'') {
                while (*s && *s != '\'') {
                    if (used + 1 >= ARGBUF)
                        return -1;
                    argbuf[used++] = *s++;
                }
                if (*s)
                    s++;
                continue;
            }
            if (c == '"') {
                while (*s && *s != '"') {
                    if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$' || s[1] == '`'))
                        s++;
                    if (used + 1 >= ARGBUF)
                        return -1;
                    argbuf[used++] = *s++;
                }
                if (*s)
                    s++;
                continue;
            }
            if (c == '\\' && *s)
                c = *s++;
            if (used + 1 >= ARGBUF)
                return -1;
            argbuf[used++] = c;
        }
        if (used + 1 >= ARGBUF)
            return -1;
        argbuf[used++] = '\0';
    }
    return argc;
}

static unsigned long long rdtsc(void)
{
    unsigned lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

/* musl calls this once it is set up (TLS, malloc's secret from AT_RANDOM, stdio):
 * the file systems are mounted with its malloc, then the program runs. */
static int start_main(int argc, char **argv, char **envp)
{
    if (kiln_posix_vfs_start)
        kiln_posix_vfs_start();
    if (kiln_posix_mount_more)
        kiln_posix_mount_more();
    return main(argc, argv, envp);
}

__attribute__((noreturn)) void plat_run_main(const char *cmdline)
{
    char **v = vector;
    *v++ = (char *)KILN_APP_NAME;
    int argc = split(cmdline, v, MAX_ARGS);
    if (argc < 0) {
        kiln_posix_say("kiln: posix: the command line has more than 256 arguments or 8 KiB\n");
        plat_exit(127);
    }
    v += argc;
    *v++ = 0;
    for (unsigned i = 0; i < sizeof default_env / sizeof default_env[0]; i++)
        *v++ = (char *)default_env[i];
    *v++ = 0;

    /* The image's program headers: the hvt linker script loads the ELF header and
     * the program headers at the start of the text segment (0x100000), where
     * musl's static TLS set-up looks for PT_TLS. */
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)0x100000;
    unsigned long long seed = rdtsc();
    for (int i = 0; i < 16; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        at_random[i] = (unsigned char)(seed >> 56);
    }
    unsigned long aux[][2] = {
        { AT_PHDR, eh->e_ident[0] == 0x7f ? 0x100000 + eh->e_phoff : 0 },
        { AT_PHENT, sizeof(Elf64_Phdr) },
        { AT_PHNUM, eh->e_ident[0] == 0x7f ? eh->e_phnum : 0 },
        { AT_PAGESZ, 4096 },
        { AT_ENTRY, eh->e_entry },
        { AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 }, { AT_EGID, 0 },
        { AT_SECURE, 0 },
        { AT_CLKTCK, 100 },
        { AT_HWCAP, 0 },
        { AT_RANDOM, (unsigned long)at_random },
        { AT_EXECFN, (unsigned long)KILN_APP_NAME },
        { AT_NULL, 0 },
    };
    for (unsigned i = 0; i < sizeof aux / sizeof aux[0]; i++) {
        *v++ = (char *)aux[i][0];
        *v++ = (char *)aux[i][1];
    }
    __libc_start_main(start_main, argc + 1, vector, 0, 0, 0);
    plat_exit(127);
}
