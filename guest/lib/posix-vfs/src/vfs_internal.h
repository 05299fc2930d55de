/* posix-vfs's shared state: open files, the fd table, the name space. */
#ifndef POSIX_VFS_INTERNAL_H
#define POSIX_VFS_INTERNAL_H

#include <kiln/vfs.h>

#define FD_MAX 1024
#define PATH_MAX_KILN 4096

struct file {
    int refs;
    struct vnode node;
    unsigned long long pos;
    int flags;                 /* O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH */
    int is_dir;
    unsigned long dir_index;   /* getdents64: 0 ".", 1 "..", then the file system's entries */
    char *path;                /* directories: the normalized absolute path (for fchdir) */
};

/* The lowest free fd >= min, installed with f (a reference taken), or -EMFILE. */
int fd_install(struct file *f, int min, int cloexec);
/* The open file of fd, or NULL. */
struct file *fd_get(int fd);
/* A new open file on node (holds the node). */
struct file *file_new(struct vnode node, int flags, int is_dir, const char *path);
void file_put(struct file *f);

int same_node(struct vnode a, struct vnode b);

/*
 * Resolves path relative to dirfd (AT_FDCWD means the working directory).
 * With parent != NULL, stops before the last component: *out is the
 * directory that would hold it and *last and *last_len name it ("" for "/").
 * abs, when not NULL, receives the normalized absolute path (PATH_MAX_KILN).
 */
int vfs_resolve(int dirfd, const char *path, struct vnode *out, const char **last, unsigned *last_len,
                int want_parent, char *abs);

#endif
