package org.netvm.kernel.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.netvm.kernel.Batch;
import org.netvm.kernel.KernelException;
import org.netvm.testing.config.Configs;
import org.netvm.testing.netns.Netns;

/** The DS component, built with {@code new}, bound to a test namespace by its configuration. */
class KernelComponentTest {

    private static KernelComponent.Config config(String netns) {
        return Configs.of(KernelComponent.Config.class, "netns", netns);
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
        Netns.assumeUsable();
        try (Netns ns = Netns.create("kern")) {
            ns.veth("vif3.0", "eth0");
            KernelComponent c = new KernelComponent(config(ns.name()));
            try {
                assertEquals(ns.name(), c.namespace());
                c.apply(new Batch().setLink("vif3.0", 2, true));
                assertEquals(2, c.link("vif3.0").orElseThrow().group());
                assertEquals("2", ns.ipJson("link", "show", "vif3.0").getFirst().get("group"));
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
