package org.netvm.dataplane;

/**
 * The priority of a base chain at its hook; lower runs first. The named constants are the
 * standard netfilter priorities.
 *
 * @param value the numeric priority, -1000..1000
 */
public record Priority(int value) implements Comparable<Priority> {

    public static final Priority RAW = new Priority(-300);
    public static final Priority MANGLE = new Priority(-150);
    public static final Priority DSTNAT = new Priority(-100);
    public static final Priority FILTER = new Priority(0);
    public static final Priority SRCNAT = new Priority(100);

    public Priority {
        if (value < -1000 || value > 1000) {
            throw new IllegalArgumentException("chain priority out of range -1000..1000: " + value);
        }
    }

    public static Priority of(int value) {
        return new Priority(value);
    }

    /** The standard name ({@code raw}, {@code mangle}, {@code dstnat}, {@code filter}, {@code srcnat}) or null. */
    public String standardName() {
        return switch (value) {
            case -300 -> "raw";
            case -150 -> "mangle";
            case -100 -> "dstnat";
            case 0 -> "filter";
            case 100 -> "srcnat";
            default -> null;
        };
    }

    @Override
    public int compareTo(Priority other) {
        return Integer.compare(value, other.value);
    }
}
