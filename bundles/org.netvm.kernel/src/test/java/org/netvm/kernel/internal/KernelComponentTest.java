package org.netvm.kernel.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.annotation.Annotation;

import org.junit.jupiter.api.Test;
import org.netvm.kernel.Batch;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.testing.TestNetns;

/** The DS component, built with {@code new}, bound to a test namespace by its configuration. */
class KernelComponentTest {

    private static KernelComponent.Config config(String netns) {
        return new KernelComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return KernelComponent.Config.class;
            }

            @Override
            public String netns() {
                return netns;
            }
        };
    }

    @Test
    void delegatesEveryKernelMethodInsteadOfUsingTheSlowDefaults() throws Exception {
        for (java.lang.reflect.Method m : org.netvm.kernel.Kernel.class.getMethods()) {
            assertEquals(KernelComponent.class,
                    KernelComponent.class.getMethod(m.getName(), m.getParameterTypes()).getDeclaringClass(),
                    () -> m + " is not delegated to the netlink kernel");
        }
    }

    @Test
    void programsTheConfiguredNamespace() throws KernelException {
        try (TestNetns ns = TestNetns.create()) {
            KernelComponent c = new KernelComponent(config(ns.name));
            try {
                assertEquals(ns.name, c.namespace());
                c.apply(new Batch().setLink("vif3.0", 2, true));
                assertEquals(2, c.link("vif3.0").orElseThrow().group());
                assertEquals("2", ns.json("link", "show", "vif3.0").getFirst().get("group"));
            } finally {
                c.deactivate();
            }
            assertThrows(KernelException.class, c::links);
        }
    }

    @Test
    void rejectsNamespaceNamesThatAreNotNames() {
        for (String bad : new String[] {"..", ".", "a/b", "../../proc/1/ns/net", "x y"}) {
            assertThrows(IllegalArgumentException.class, () -> new KernelComponent(config(bad)), bad);
        }
    }
}
