package org.netvm.util;

import java.util.Hashtable;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Publishes a {@link Reconciler}'s {@link Reconciler#progress} as an OSGi service of the JDK type
 * {@link Supplier} (of a {@code Map<String, Object>}, see {@link Reconciler.Progress#toMap}) with
 * the property {@value Reconciler#SERVICE_PROPERTY}, on behalf of the bundle that holds this copy of
 * the class. Outside a framework (plain Java, unit tests) it publishes nothing: the OSGi classes are
 * only touched when they can be loaded and this class came from a bundle.
 */
final class ReconcilerPublication {

    private ReconcilerPublication() {
    }

    /** Registers the service; returns what unregisters it (a no-op when nothing was published). */
    static AutoCloseable publish(Reconciler r) {
        try {
            Class.forName("org.osgi.framework.FrameworkUtil", false, ReconcilerPublication.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return () -> { };
        }
        return Osgi.register(r);
    }

    /** The part that needs the OSGi framework API (loaded only inside a framework). */
    private static final class Osgi {
        static AutoCloseable register(Reconciler r) {
            org.osgi.framework.Bundle b = org.osgi.framework.FrameworkUtil.getBundle(ReconcilerPublication.class);
            org.osgi.framework.BundleContext ctx = b == null ? null : b.getBundleContext();
            if (ctx == null) {
                return () -> { };
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Reconciler.SERVICE_PROPERTY, r.what());
            Supplier<Map<String, Object>> progress = () -> r.progress().toMap();
            org.osgi.framework.ServiceRegistration<?> reg = ctx.registerService(Supplier.class.getName(), progress, props);
            return () -> {
                try {
                    reg.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the bundle stopped first: the framework unregistered it
                }
            };
        }
    }
}
