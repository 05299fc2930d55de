/*
 * Descriptors for objects that are not files: pipes, eventfds, sockets and epoll instances
 * (posix-pipe, posix-poll, posix-socket) are vnodes of their own small pseudo file systems and
 * go into the same fd table as files, so read, write, close, dup, fcntl(F_SETFL, O_NONBLOCK)
 * and poll work on them as Linux's do on any descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <kiln/vfs.h>
#include "vfs_internal.h"

int vfs_fd_open(struct vnode node, int flags, int cloexec)
{
    struct file *f = file_new(node, flags & (O_ACCMODE | O_NONBLOCK), 0, 0);
    if (!f)
        return -ENOMEM;
    int fd = fd_install(f, 0, cloexec);
    file_put(f); /* the table holds it now (or, on -EMFILE, nobody: released) */
    return fd;
}

int vfs_fd_node(int fd, struct vnode *node, int *flags)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (node)
        *node = f->node;
    if (flags)
        *flags = f->flags;
    return 0;
}
