/*
 * A read-only root file system in the KFS1 format (docs/kiln-abi.md 6), on a block device the
 * app declares in kiln.toml ([devices] block = ["rootfs"]) and `kiln run --rootfs DIR|IMAGE`
 * attaches.  rootfs_mount() loads and validates the superblock, inode table and names once;
 * file contents are read from the device on demand.
 *
 * Inode numbers are indexes into the image's inode table; 0 is the root directory.  Errors are
 * negative Linux errno values, spelt ROOTFS_E* here so that the library builds with or without
 * a libc.  Every call other than rootfs_mount() and rootfs_mounted() returns -ROOTFS_ENODEV while
 * nothing is mounted.  A mount keeps 48 bytes per inode, the names and one device block in memory
 * (malloc); nothing else is cached, so every rootfs_read() goes to the device.  Not thread-safe by itself (Kiln threads are cooperative; a read yields
 * only inside the block hypercalls, which do not switch threads).
 */
#ifndef KILN_ROOTFS_H
#define KILN_ROOTFS_H

#define ROOTFS_ENOENT        2
#define ROOTFS_EIO           5
#define ROOTFS_ENOMEM       12
#define ROOTFS_ENODEV       19
#define ROOTFS_ENOTDIR      20
#define ROOTFS_EISDIR       21
#define ROOTFS_EINVAL       22
#define ROOTFS_ENAMETOOLONG 36

/* Mode bits as stored in the image (and as Linux spells them). */
#define ROOTFS_S_IFMT  0170000
#define ROOTFS_S_IFDIR 0040000
#define ROOTFS_S_IFREG 0100000

/* The longest name of one path component, and of a whole path (Linux's NAME_MAX and PATH_MAX - 1). */
#define ROOTFS_NAME_MAX 255
#define ROOTFS_PATH_MAX 4095

struct rootfs_stat {
    unsigned mode;              /* ROOTFS_S_IFDIR or ROOTFS_S_IFREG | permission bits 0777 */
    unsigned ino;
    unsigned long long size;    /* a file: bytes; a directory: its number of entries */
    unsigned long long mtime;   /* seconds since the epoch */
    unsigned nlink;             /* a file: 1; a directory: 2 + its subdirectories */
};

/* Mounts the KFS1 image on the block device DEVICE (normally "rootfs"), replacing any earlier
 * mount: 0, -ROOTFS_ENODEV (no such block device attached), -ROOTFS_EINVAL (not a valid KFS1
 * image; the reason is printed once on the console), -ROOTFS_ENOMEM, -ROOTFS_EIO (the device
 * could not be read). */
int rootfs_mount(const char *device);

/* 1 when an image is mounted, else 0. */
int rootfs_mounted(void);

/* Resolves PATH from the root ("/a/b" or "a/b"; "." and ".." and repeated '/' are handled; ".."
 * of the root is the root; a trailing '/' needs a directory): 0 and *ino, or -ROOTFS_ENOENT
 * (also for ""), -ROOTFS_ENOTDIR (a component other than the last is a file),
 * -ROOTFS_ENAMETOOLONG (a component over 255 bytes or a path over 4095). */
int rootfs_lookup(const char *path, int *ino);

/* One name in directory DIR_INO ("." and ".." too): 0 and *ino, -ROOTFS_ENOENT, -ROOTFS_ENOTDIR
 * (DIR_INO is a file), -ROOTFS_ENAMETOOLONG, -ROOTFS_EINVAL (DIR_INO is no inode). */
int rootfs_lookup_at(int dir_ino, const char *name, unsigned name_len, int *ino);

/* 0 and *st, or -ROOTFS_EINVAL (no such inode). */
int rootfs_stat(int ino, struct rootfs_stat *st);

/* Reads up to LEN bytes of file INO from byte OFF: the number read (0 at or past the end),
 * -ROOTFS_EISDIR, -ROOTFS_EINVAL (no such inode), -ROOTFS_EIO (the device failed). */
long rootfs_read(int ino, unsigned long long off, void *buf, unsigned long len);

/* Entry INDEX (0, 1, ...) of directory DIR_INO, in name order: 1 with *child_ino, *name (into the
 * loaded names, not NUL-terminated) and *name_len; 0 past the last entry; -ROOTFS_ENOTDIR;
 * -ROOTFS_EINVAL (no such inode).  "." and ".." are not listed. */
int rootfs_readdir(int dir_ino, unsigned long index, int *child_ino, const char **name, unsigned *name_len);

/* The parent directory of INO (the root's is the root), or -ROOTFS_EINVAL. */
int rootfs_parent(int ino);

#endif
