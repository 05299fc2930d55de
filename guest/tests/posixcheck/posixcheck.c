#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
int main(int argc, char **argv) {
  printf("hello from musl: argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  char *p = malloc(100000); strcpy(p, "heap ok"); puts(p); free(p);
  printf("sqrt(2)=%.6f\n", sqrt(2.0));
  FILE *f = fopen("/tmp/x.txt", "w"); fprintf(f, "line %d\n", 42); fclose(f);
  f = fopen("/tmp/x.txt", "r"); char buf[64]; fgets(buf, sizeof buf, f); fclose(f); printf("read back: %s", buf);
  printf("open missing: %d %s\n", open("/nope", O_RDONLY), strerror(errno));
  printf("time>0: %d\n", time(0) > 1600000000);
  return 3;
}
