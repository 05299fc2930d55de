/*
 * Kiln's virtual file system: the interface a file system implements to be
 * mounted in the POSIX layer's name space (ramfs, devfs, the read-only root
 * file system of `kiln run --rootfs`).
 *
 * A vnode names one file or directory of one file system: its operations
 * and an id the file system chose (a pointer, an inode number).  Every
 * operation returns 0 (or a count) or a negative Linux errno.  Names are
 * (pointer, length) pairs, never NUL-terminated in place.
 */
#ifndef KILN_VFS_H
#define KILN_VFS_H

struct stat;
struct vfs_ops;

struct vnode {
    const struct vfs_ops *fs;
    unsigned long id;
};

struct vfs_ops {
    const char *name;
    int (*lookup)(struct vnode dir, const char *name, unsigned len, struct vnode *out);
    int (*stat)(struct vnode n, struct stat *st);
    long (*read)(struct vnode n, void *buf, unsigned long len, unsigned long long off);
    /* NULL on a read-only file system (EROFS) */
    long (*write)(struct vnode n, const void *buf, unsigned long len, unsigned long long off);
    int (*truncate)(struct vnode n, unsigned long long size);
    int (*create)(struct vnode dir, const char *name, unsigned len, unsigned mode, struct vnode *out);
    int (*remove)(struct vnode dir, const char *name, unsigned len, int is_dir);
    int (*rename)(struct vnode from_dir, const char *from, unsigned from_len,
                  struct vnode to_dir, const char *to, unsigned to_len);
    /* 1 with the index-th entry (not "." or ".."), 0 past the end */
    int (*readdir)(struct vnode dir, unsigned long index, struct vnode *child, const char **name, unsigned *len);
    int (*parent)(struct vnode n, struct vnode *out);
    int (*chmod)(struct vnode n, unsigned mode);
    int (*utimes)(struct vnode n, long long atime_ns, long long mtime_ns);
    /* open files hold a reference, so an unlinked file lives until its last close */
    void (*hold)(struct vnode n);
    void (*release)(struct vnode n);
    /* device files: reads and writes ignore the offset */
    int is_stream;

    /*
     * Non-file descriptors (pipes, eventfd, sockets: posix-pipe, posix-socket); all optional.
     * poll answers which of events (POLLIN, POLLOUT, POLLPRI, POLLRDHUP) are ready now, plus
     * POLLERR and POLLHUP whenever they hold (poll(2): those are reported unasked); without it a
     * descriptor is always ready for reading and writing, as Linux says of regular files.
     * stream_read/stream_write, when set, are used instead of read/write and get the open file's
     * status flags (O_NONBLOCK): they block the calling thread themselves when they must wait
     * (on posix-thread's scheduler), or answer -EAGAIN under O_NONBLOCK.  ioctl gets the requests
     * the fd layer does not answer itself (FIONREAD on a pipe or socket); -ENOTTY for the rest.
     */
    int (*poll)(struct vnode n, int events);
    long (*stream_read)(struct vnode n, void *buf, unsigned long len, int flags);
    long (*stream_write)(struct vnode n, const void *buf, unsigned long len, int flags);
    int (*ioctl)(struct vnode n, unsigned long req, void *arg);
};

/* Mounts fs_root at the absolute path (its last component need not exist in the parent). */
int vfs_mount(const char *path, struct vnode fs_root);

/* Read-only root file system (posix-rootfs); absent, "/" is a RAM file system. */
__attribute__((weak)) int kiln_vfs_rootfs(struct vnode *root);

/*
 * Descriptors for objects that are not files (posix-pipe, posix-socket; src/fdnode.c).
 * vfs_fd_open installs a new open file on node with status flags (O_RDONLY/O_WRONLY/O_RDWR,
 * O_NONBLOCK) and cloexec, taking a reference (hold); returns the fd or -EMFILE/-ENOMEM.
 * vfs_fd_node gives an fd's vnode and status flags, or -EBADF.
 */
int vfs_fd_open(struct vnode node, int flags, int cloexec);
int vfs_fd_node(int fd, struct vnode *node, int *flags);

/* A fresh RAM file system's root. */
int ramfs_new(struct vnode *root);
/* The /dev file system's root. */
struct vnode devfs_root(void);

#endif
