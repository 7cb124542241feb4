package org.netvm.vif.internal;

/** The result of a hotplug request: success, or the error to report in {@code hotplug-error}. */
record Outcome(boolean ok, String error) {
    static final Outcome OK = new Outcome(true, null);

    static Outcome failed(String error) {
        return new Outcome(false, error);
    }
}
