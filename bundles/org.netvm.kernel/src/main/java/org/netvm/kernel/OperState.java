package org.netvm.kernel;

/** RFC 2863 operational state of a link (IFLA_OPERSTATE), in kernel order. */
public enum OperState {
    UNKNOWN, NOTPRESENT, DOWN, LOWERLAYERDOWN, TESTING, DORMANT, UP;

    public static OperState of(int value) {
        OperState[] v = values();
        return value >= 0 && value < v.length ? v[value] : UNKNOWN;
    }
}
