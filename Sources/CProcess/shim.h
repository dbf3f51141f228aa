#ifndef WPK_CPROCESS_SHIM_H
#define WPK_CPROCESS_SHIM_H
// Linux process-control calls Swift cannot import directly: prctl is variadic, pidfd_open
// lives in a header outside Glibc's module map, pipe2 is declared only under _GNU_SOURCE.
// _GNU_SOURCE itself must not be defined here: it changes system structs (fd_set), and a
// module whose headers see other definitions than Glibc's and CYAML's fails to import beside them.
#include <sys/types.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/pidfd.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <linux/fs.h>

/// Makes this process the reaper of orphaned descendants, so a step's leftover processes
/// become its children (and can be waited for) instead of zombies of an init that never reaps.
static inline int wpk_become_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
}

/// A descriptor that becomes readable when the process exits; -1 with errno when unsupported.
static inline int wpk_pidfd_open(pid_t pid) {
    return pidfd_open(pid, 0);
}

/// pipe2(2) (glibc 2.9), declared here because unistd.h shows it only under _GNU_SOURCE.
extern int pipe2(int ends[2], int flags);

/// pipe2 for Swift.
static inline int wpk_pipe2(int ends[2], int flags) {
    return pipe2(ends, flags);
}

/// posix_spawn_file_actions_addchdir_np (glibc 2.29): the child's working directory.
static inline int wpk_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): close every descriptor from `low` up
/// in the child, so a step inherits nothing wpk itself inherited (sockets, its parent's pipes).
static inline int wpk_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np(actions, low);
}

/// The magic number of the file system `fd` lives on (statfs's f_type); -1 with errno on failure.
static inline long wpk_filesystem_type(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    return (long)info.f_type;
}

/// The inode flags of `fd` (FS_IOC_GETFLAGS: append-only, immutable, ...); -1 with errno when unsupported.
static inline int wpk_get_inode_flags(int fd, int *flags) {
    return ioctl(fd, FS_IOC_GETFLAGS, flags);
}

/// Sets the inode flags of `fd` (FS_IOC_SETFLAGS; needs CAP_LINUX_IMMUTABLE for append-only).
static inline int wpk_set_inode_flags(int fd, int flags) {
    return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

/// FS_APPEND_FL: writes may only append; the file cannot be truncated, renamed or removed.
static inline int wpk_append_only_flag(void) { return FS_APPEND_FL; }
#endif
