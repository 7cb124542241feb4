package org.netvm.kernel;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Some operations of a batch failed. All operations were attempted, in order; those not listed in
 * {@link #failures()} were applied.
 */
public class BatchException extends KernelException {
    private static final long serialVersionUID = 1L;

    /**
     * One failed operation.
     *
     * @param index position in the batch
     * @param op the operation
     * @param errno Linux error number
     * @param errnoName its symbolic name, e.g. {@code ENODEV}
     * @param message what went wrong, with the kernel's extended-ack text when it sent one
     */
    public record Failure(int index, Op op, int errno, String errnoName, String message) {
        /**
         * The object or its device does not exist (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL): what a
         * delete of something already gone reports.
         */
        public boolean isMissing() {
            return switch (errnoName) {
                case "ENODEV", "ENOENT", "ESRCH", "EADDRNOTAVAIL" -> true;
                default -> false;
            };
        }

        /** {@code route replace ... : ENODEV (no such device "vif9.0")}. */
        @Override
        public String toString() {
            return op.render() + ": " + errnoName + " (" + message + ")";
        }
    }

    private final transient List<Failure> failures;
    private final int attempted;

    public BatchException(List<Failure> failures, int attempted) {
        super(failures.size() + " of " + attempted + " operations failed: "
                + failures.stream().limit(10).map(Failure::toString).collect(Collectors.joining("; "))
                + (failures.size() > 10 ? "; ..." : ""),
                failures.getFirst().errno(), failures.getFirst().errnoName(), failures.getFirst().op());
        this.failures = List.copyOf(failures);
        this.attempted = attempted;
    }

    /** The failed operations in batch order (never empty). */
    public List<Failure> failures() {
        return failures;
    }

    /** How many operations the batch had. */
    public int attempted() {
        return attempted;
    }

    /** Whether every failure is {@link Failure#isMissing()} (tolerable when tearing down). */
    public boolean onlyMissing() {
        return failures.stream().allMatch(Failure::isMissing);
    }
}
