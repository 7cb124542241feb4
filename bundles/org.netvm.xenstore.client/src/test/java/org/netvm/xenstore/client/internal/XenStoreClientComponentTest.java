package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.testing.config.Configs;
import org.netvm.xenstore.XenStore;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** The DS component with a recording BundleContext: registration, properties, background connect. */
class XenStoreClientComponentTest {

    @TempDir
    Path dir;

    record Registered(Object clazz, Object service, Dictionary<?, ?> props) {
    }

    private static <T> T proxy(Class<T> type, java.lang.reflect.InvocationHandler h) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] { type }, h));
    }

    @Test
    void registersAtOnceAndConnectsWhenTheDaemonAppears() throws Exception {
        List<Registered> registered = new ArrayList<>();
        AtomicInteger unregistered = new AtomicInteger();
        ServiceRegistration<?> reg = proxy(ServiceRegistration.class, (p, m, args) -> {
            if (m.getName().equals("unregister")) {
                unregistered.incrementAndGet();
            }
            return null;
        });
        BundleContext context = proxy(BundleContext.class, (p, m, args) -> {
            if (m.getName().equals("registerService")) {
                registered.add(new Registered(args[0], args[1], (Dictionary<?, ?>) args[2]));
                return reg;
            }
            throw new UnsupportedOperationException(m.getName());
        });
        Path socket = dir.resolve("socket");
        XenStoreClientComponent component = new XenStoreClientComponent(context,
                Configs.of(XenStoreClientComponent.Config.class,
                        "path", socket.toString(), "reconnect.initial.ms", 5L, "reconnect.max.ms", 20L));
        try {
            assertEquals(1, registered.size());
            Registered r = registered.get(0);
            assertEquals(XenStore.class, r.clazz());
            assertEquals("unix", r.props().get(XenStore.TRANSPORT));
            assertEquals(socket.toString(), r.props().get(XenStore.ADDRESS));
            XenStore xs = assertInstanceOf(XenStore.class, r.service());
            assertFalse(xs.isConnected(), "no daemon yet, but activation succeeded");

            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(socket));
                try (SocketChannel accepted = server.accept()) {
                    assertTrue(((XenStoreClient) xs).awaitConnected(Duration.ofSeconds(5)));
                }
            }
        } finally {
            component.deactivate();
        }
        assertEquals(1, unregistered.get());
        assertFalse(((XenStore) registered.get(0).service()).isConnected());
    }
}
