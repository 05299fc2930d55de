/*
 * ELF notes and PT_INTERP contents of an hvt image (spec 1).
 *
 * Written in assembly so that the byte layout is exact.  hvt.ld places each
 * note section in its own PT_NOTE (and inside the read-only PT_LOAD), and
 * .interp in PT_INTERP.  A note is: u32 n_namesz, u32 n_descsz, u32 n_type,
 * the name padded to 4 bytes, then the descriptor.  The .if checks make the
 * assembler fail if any size is not what the spec demands.
 */

/* Name the file in the symbol table (else: the assembler's temp name,
 * which would make the .dbg differ between builds). */
        .file   "notes.S"

#define NT_VERSION          1
#define SOLO5_NOTE_ABI1     0x31494241      /* "ABI1" */
#define HVT_ABI_TARGET      1               /* hvt */
#define HVT_ABI_VERSION     2

/*
 * PT_INTERP: a host kernel that is asked to exec the image looks for this
 * interpreter, fails, and so refuses to run a unikernel as a process.
 * Kiln's loader ignores it.
 */
        .section .interp, "a", @progbits
        .asciz  "/nonexistent/solo5/"

/*
 * First PT_NOTE: "OpenBSD" NT_VERSION note (desc u32 0), which makes an
 * OpenBSD host refuse to exec the image.  Loaders skip it (other name).
 */
        .section .note.openbsd.ident, "a", @note
        .p2align 2
openbsd_note:
        .long   8                           /* n_namesz: "OpenBSD\0" */
        .long   4                           /* n_descsz */
        .long   NT_VERSION                  /* n_type */
        .asciz  "OpenBSD"                   /* 8 bytes, already 4-aligned */
        .long   0                           /* desc */
openbsd_note_end:
        .if (openbsd_note_end - openbsd_note) != 24
        .error "OpenBSD note must be 24 bytes"
        .endif

/*
 * Spec 1, ABI1: { u32 abi_target = 1 (hvt); u32 abi_version = 2; u32 0; u32 0 }.
 */
        .section .note.solo5.abi, "a", @note
        .p2align 2
abi_note:
        .long   6                           /* n_namesz: "Solo5\0" */
        .long   abi_desc_end - abi_desc     /* n_descsz = 16 */
        .long   SOLO5_NOTE_ABI1             /* n_type */
        .asciz  "Solo5"                     /* 6 bytes ... */
        .byte   0, 0                        /* ... padded to 8: header = 20 bytes */
abi_desc:
        .long   HVT_ABI_TARGET
        .long   HVT_ABI_VERSION
        .long   0, 0                        /* reserved */
abi_desc_end:
        .if (abi_desc - abi_note) != 20
        .error "ABI1 note header must be 20 bytes"
        .endif
        .if (abi_desc_end - abi_desc) != 16
        .error "ABI1 descriptor must be 16 bytes"
        .endif

/*
 * The MFT1 manifest note is not here: it depends on the devices each app
 * declares, so the builder generates it per app (kiln build: manifest.S).
 */

/* No executable stack (keeps ld from warning; the image has no PT_GNU_STACK). */
        .section .note.GNU-stack, "", @progbits
