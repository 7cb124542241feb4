package org.netvm.firewall.internal;

/** A guest's rule set cannot be applied (parse error, unresolvable name); the guest is blocked. */
final class RuleError extends Exception {
    private static final long serialVersionUID = 1L;

    RuleError(String message) {
        super(message);
    }
}
