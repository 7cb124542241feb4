package org.netvm.kernel.internal;

/** Names and texts of the Linux errno values the kernel seam meets (x86-64/arm64 numbering). */
final class Errno {
    static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
            EACCES = 13, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, EMSGSIZE = 90, EOPNOTSUPP = 95,
            EAFNOSUPPORT = 97, EADDRNOTAVAIL = 99, ENETUNREACH = 101, ENOBUFS = 105, ETIMEDOUT = 110;

    private Errno() {
    }

    static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case 6 -> "ENXIO";
            case 7 -> "E2BIG";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case 14 -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case ENODEV -> "ENODEV";
            case 20 -> "ENOTDIR";
            case 21 -> "EISDIR";
            case EINVAL -> "EINVAL";
            case 23 -> "ENFILE";
            case 24 -> "EMFILE";
            case 28 -> "ENOSPC";
            case 30 -> "EROFS";
            case 34 -> "ERANGE";
            case 38 -> "ENOSYS";
            case 61 -> "ENODATA";
            case EMSGSIZE -> "EMSGSIZE";
            case 92 -> "ENOPROTOOPT";
            case 93 -> "EPROTONOSUPPORT";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case EAFNOSUPPORT -> "EAFNOSUPPORT";
            case 98 -> "EADDRINUSE";
            case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            case 100 -> "ENETDOWN";
            case ENETUNREACH -> "ENETUNREACH";
            case ENOBUFS -> "ENOBUFS";
            case ETIMEDOUT -> "ETIMEDOUT";
            case 113 -> "EHOSTUNREACH";
            default -> "E" + errno;
        };
    }

    static String text(int errno) {
        return switch (errno) {
            case EPERM -> "operation not permitted";
            case ENOENT -> "no such file, directory or object";
            case ESRCH -> "no such process or object";
            case EACCES -> "permission denied";
            case EBUSY -> "device or resource busy";
            case EEXIST -> "already exists";
            case ENODEV -> "no such device";
            case EINVAL -> "invalid argument";
            case EMSGSIZE -> "message too long";
            case EOPNOTSUPP -> "operation not supported";
            case EAFNOSUPPORT -> "address family not supported";
            case EADDRNOTAVAIL -> "address not available";
            case ENETUNREACH -> "network unreachable";
            case ENOBUFS -> "no buffer space (netlink overrun)";
            case ETIMEDOUT -> "timed out";
            case EAGAIN -> "try again";
            default -> "errno " + errno;
        };
    }
}
