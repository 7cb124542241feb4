package org.netvm.vif.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;

/**
 * The moments one hotplug request passed on its way through the agent (clock nanoseconds), for the
 * per-step breakdown of {@code netvm vif steps} and the debug log. The command marks the request's
 * own steps; the reconciler marks the steps of each pass in a {@code Steps} of its own and copies those of the
 * pass that answered a request into it. Written by one thread at a time (the command's, then the
 * reconciler's, then the command's again after the outcome's future completed).
 */
final class Steps {

    /** The steps in order; each one's duration runs from the previous step reached to it. */
    enum Step {
        /** The command received the request. */
        RECEIVED("received"),
        /** The intent is recorded for the reconciler. */
        RECORDED("recorded"),
        /** A pass took it (the wait for the reconciler thread: a pass under way, a slice of a periodic check). */
        PASS("queued"),
        /** The pass re-read xenstore (the vif's keys). */
        XENSTORE("xenstore"),
        /** It read the vif's links and kernel objects back. */
        KERNEL_READ("kernel-read"),
        /** It read the sysctls and planned the operations. */
        PLANNED("plan"),
        /** Withdrawals, stale deletes and sysctls applied (batch 1). */
        SYSCTLS("sysctls"),
        /** Permanent neighbours applied (batch 2). */
        NEIGHBOURS("neighbours"),
        /** The dataplane confirmed the anti-spoof elements. */
        ANTI_SPOOF("anti-spoof"),
        /** The conntrack purge finished. */
        CONNTRACK("conntrack"),
        /** Link up, routes, gateway address applied (batch 3). */
        LINK_UP("link-up"),
        /** The status is published and the request answered by the reconciler. */
        OUTCOME("outcome"),
        /** {@code hotplug-status} (or the error) is written. */
        HOTPLUG_STATUS("hotplug-status"),
        /** The command returns its reply. */
        REPLY("reply");

        final String label;

        Step(String label) {
            this.label = label;
        }
    }

    /** How the request was answered (a field of {@code netvm vif steps} and of the debug line: {@code how=}). */
    enum How {
        /** A pass took the request and planned its vif: the whole programming of a new vif is in its steps. */
        PLANNED("planned"),
        /** It arrived while a pass programmed its vif, and that pass answered it (part of the work was done before). */
        JOINED("joined"),
        /** Its vif was programmed already: answered after its keys and device were read again, without a plan. */
        ANSWERED("answered"),
        /** No pass answered it (time limit, the service stopped, an invalid request). */
        NONE("none");

        final String label;

        How(String label) {
            this.label = label;
        }

        /** The kind named {@code label}, if any. */
        static java.util.Optional<How> of(String label) {
            return Arrays.stream(values()).filter(h -> h.label.equals(label)).findFirst();
        }
    }

    private static final long NONE = Long.MIN_VALUE;
    private static final Step[] STEPS = Step.values();

    private final Clock clock;
    private final long[] at = new long[STEPS.length];
    private volatile How how = How.NONE;

    Steps(Clock clock) {
        this.clock = clock;
        Arrays.fill(at, NONE);
    }

    /** Marks {@code step} now. */
    void mark(Step step) {
        Instant now = clock.instant();
        at[step.ordinal()] = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Says how the request was answered (the reconciler, before it completes the request). */
    void answered(How how) {
        this.how = how;
    }

    How how() {
        return how;
    }

    /** Whether {@code step} is marked. */
    boolean reached(Step step) {
        return at[step.ordinal()] != NONE;
    }

    /** Takes the marks a pass made (those from {@link Step#PASS} to {@link Step#LINK_UP}). */
    void copyPass(Steps pass) {
        System.arraycopy(pass.at, Step.PASS.ordinal(), at, Step.PASS.ordinal(),
                Step.LINK_UP.ordinal() - Step.PASS.ordinal() + 1);
    }

    /**
     * Each step's duration in nanoseconds, from the previous step reached (-1 for a step not
     * reached), and at index {@code Step.values().length} the total from the first to the last mark.
     */
    long[] durations() {
        long[] d = new long[STEPS.length + 1];
        long first = NONE;
        long last = NONE;
        for (int i = 0; i < STEPS.length; i++) {
            if (at[i] == NONE) {
                d[i] = -1;
                continue;
            }
            d[i] = last == NONE ? 0 : Math.max(0, at[i] - last);
            first = first == NONE ? at[i] : first;
            last = Math.max(last == NONE ? at[i] : last, at[i]);
        }
        d[STEPS.length] = first == NONE ? -1 : last - first;
        return d;
    }
}
