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
#define SOLO5_NOTE_MFT1     0x3154464d      /* "MFT1" */
#define HVT_ABI_TARGET      1               /* hvt */
#define HVT_ABI_VERSION     2
#define MFT_VERSION         1
#define MFT_RESERVED_FIRST  0x40000000      /* 1 << 30 */
#define MFT_ENTRY_SIZE      104

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
 * Spec 1/2, MFT1: the manifest.  Its descriptor is 8-aligned inside the
 * note, so 4 padding bytes follow the 20-byte header and are counted in
 * n_descsz: 4 + sizeof(struct mft) 8 + one 104-byte entry = 116.
 *
 * This image declares no devices: e[0] is the mandatory unnamed
 * RESERVED_FIRST entry with every other field (incl. attached) zero.
 *
 * The section is only 4-aligned as an ELF section, so that its PT_NOTE gets
 * p_align 4 and tools (readelf) parse it with the usual 4-byte note rules;
 * hvt.ld places it at an 8-aligned address so the manifest itself is
 * naturally aligned in memory and in the file.
 */
        .section .note.solo5.manifest, "a", @note
        .p2align 2
mft_note:
        .long   6                           /* n_namesz */
        .long   mft_desc_end - mft_desc     /* n_descsz = 116 */
        .long   SOLO5_NOTE_MFT1             /* n_type */
        .asciz  "Solo5"                     /* 6 bytes ... */
        .byte   0, 0                        /* ... padded to 8: header = 20 bytes */
mft_desc:
        .long   0                           /* pad: struct mft at note + 24 */
mft:
        .long   MFT_VERSION                 /* version @0 */
        .long   1                           /* entries @4 */
mft_e0:                                     /* e[0] @8 */
        .zero   68                          /* name[68] @0: "" */
        .long   MFT_RESERVED_FIRST          /* type @68 */
        .zero   16                          /* u (block/net) @72 */
        .zero   8                           /* tender-private @88 */
        .byte   0                           /* attached @96: false */
        .zero   7                           /* tail padding to 104 */
mft_e0_end:
mft_desc_end:
        .if (mft_desc - mft_note) != 20
        .error "MFT1 note header must be 20 bytes"
        .endif
        .if (mft - mft_note) != 24
        .error "struct mft must start 24 bytes into the note (8-aligned)"
        .endif
        .if (mft_e0_end - mft_e0) != MFT_ENTRY_SIZE
        .error "mft_entry must be 104 bytes"
        .endif
        .if (mft_desc_end - mft_desc) != 116
        .error "MFT1 n_descsz must be 116"
        .endif

/* No executable stack (keeps ld from warning; the image has no PT_GNU_STACK). */
        .section .note.GNU-stack, "", @progbits
