#ifndef WPK_CNCURSES_SHIM_H
#define WPK_CNCURSES_SHIM_H
/* The wide-character API (get_wch, setcchar, mvadd_wch) is only declared with these. */
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <langinfo.h>
#include <ncursesw/curses.h>

/* Swift 6 rejects C globals as shared mutable state; read them through functions. */
static inline WINDOW *shim_stdscr(void) { return stdscr; }
static inline int shim_lines(void) { return LINES; }
static inline int shim_cols(void) { return COLS; }
static inline int shim_colors(void) { return COLORS; }
static inline int shim_key_resize(void) { return KEY_RESIZE; }

/* Attribute and colour-pair macros are function-like, so Swift cannot import them. */
static inline attr_t shim_a_normal(void) { return A_NORMAL; }
static inline attr_t shim_a_bold(void) { return A_BOLD; }
static inline attr_t shim_a_reverse(void) { return A_REVERSE; }
static inline attr_t shim_a_underline(void) { return A_UNDERLINE; }
static inline attr_t shim_a_dim(void) { return A_DIM; }

/* Whether the locale's character set is UTF-8 (nl_langinfo's CODESET is a macro). */
static inline const char *shim_codeset(void) { return nl_langinfo(CODESET); }
#endif
