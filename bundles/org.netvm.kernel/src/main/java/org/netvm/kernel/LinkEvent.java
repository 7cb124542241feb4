package org.netvm.kernel;

import java.util.Objects;

/** A link appeared or changed ({@link Kind#NEW}) or disappeared ({@link Kind#DELETED}). */
public record LinkEvent(Kind kind, Link link) {
    public enum Kind {
        /** RTM_NEWLINK: the link was created or one of its properties (flags, state, name...) changed. */
        NEW,
        /** RTM_DELLINK: the link is gone. */
        DELETED
    }

    public LinkEvent {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(link, "link");
    }
}
