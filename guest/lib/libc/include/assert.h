/*
 * <assert.h>.  Deliberately no include guard: the C standard lets a
 * translation unit re-include it after changing NDEBUG.
 *
 * A failed assertion prints "file:line: function: Assertion `expr'
 * failed." to stderr and aborts (exit status 255).  assert() compiles to
 * nothing with NDEBUG, or when the kiln.toml option LIBC_ASSERT is false
 * (CONFIG_LIBC_ASSERT defined to 0).
 */
#undef assert

#if defined(NDEBUG) || (defined(CONFIG_LIBC_ASSERT) && !(CONFIG_LIBC_ASSERT + 0))
#define assert(expr) ((void)0)
#else
#ifdef __cplusplus
extern "C"
#endif
__attribute__((__noreturn__)) void __kiln_assert_fail(const char *expr, const char *file,
                                                      unsigned line, const char *func);
#define assert(expr) \
    ((expr) ? (void)0 : __kiln_assert_fail(#expr, __FILE__, __LINE__, __func__))
#endif

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L \
    && !defined(static_assert)
#define static_assert _Static_assert
#endif
