package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class StatusCollectorTest {

    @Test
    void theRootCauseOfAFailedActivationIsItsLastCausedByLine() {
        assertEquals("table prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,20}$: bad prefix", StatusCollector.rootCause("""
                java.lang.reflect.InvocationTargetException
                \tat java.base/jdk.internal.reflect.DirectConstructorHandleAccessor.newInstance(Unknown Source)
                Caused by: java.lang.IllegalArgumentException: table prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,20}$: bad prefix
                \tat org.netvm.backend.nftables.internal.NftRenderer.<init>(NftRenderer.java:38)
                """));
        assertEquals("cannot bind", StatusCollector.rootCause("java.io.IOException: cannot bind"));
        assertEquals("failed to activate", StatusCollector.rootCause(null));
    }
}
