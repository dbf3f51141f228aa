#ifndef WPK_CNCURSES_SHIM_H
#define WPK_CNCURSES_SHIM_H
/* The wide-character API (get_wch, setcchar, mvadd_wch) is only declared with these. */
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/curses.h>

/* Swift 6 rejects C globals as shared mutable state; read them through functions. */
static inline WINDOW *shim_stdscr(void) { return stdscr; }
static inline int shim_lines(void) { return LINES; }
static inline int shim_cols(void) { return COLS; }
static inline int shim_colors(void) { return COLORS; }
static inline int shim_key_resize(void) { return KEY_RESIZE; }
#endif
