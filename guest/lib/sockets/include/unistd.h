#ifndef KILN_UNISTD_H
#define KILN_UNISTD_H

/* Closes a socket (the only kind of descriptor a Kiln guest has). */
int close(int fd);

#endif
