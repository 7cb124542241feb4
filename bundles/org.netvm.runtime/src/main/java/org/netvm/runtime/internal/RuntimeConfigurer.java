package org.netvm.runtime.internal;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Map;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Applies {@link LaunchOptions} to Config Admin once at start. A bad option is logged as an error
 * and nothing is configured: the runtime then serves no xenstore and programs nothing (fail closed).
 *
 * <p>The netvm runtime also holds the guest bundle, for the proxy role. Its component takes an optional
 * configuration, so it would start in the netvm role too; instead the bundle sits at a start level above
 * the framework's beginning one ({@code launch/netvm.bndrun}) and only the proxy role raises the
 * framework to it, after the configurations are written.
 */
@Component(immediate = true)
public final class RuntimeConfigurer {

    @Activate
    public RuntimeConfigurer(BundleContext context, @Reference ConfigurationAdmin cm,
            @Reference(service = LoggerFactory.class) Logger log) throws IOException {
        LaunchOptions options;
        try {
            options = LaunchOptions.fromSystem(context::getProperty);
        } catch (IllegalArgumentException e) {
            log.error("bad launch option: {}; nothing configured", e.getMessage());
            return;
        }
        log.info("role {}, xenstore {}:{}{}, domid {}, control {}{}", options.role(), options.transport(),
                options.xenstorePath(), options.embedded() ? " (embedded daemon)" : "", options.domid(),
                options.controlSocket(), options.netns().isEmpty() ? "" : ", programming netns " + options.netns());
        for (Map.Entry<String, Dictionary<String, Object>> e : options.configurations().entrySet()) {
            Configuration c = cm.getConfiguration(e.getKey(), "?");
            Dictionary<String, Object> props = c.getProperties() == null ? new java.util.Hashtable<>() : c.getProperties();
            for (String key : java.util.Collections.list(e.getValue().keys())) {
                props.put(key, e.getValue().get(key));
            }
            c.updateIfDifferent(props);
        }
        if (options.role().equals("proxy")) {
            startGuestBundle(context, log);
        }
    }

    static final String GUEST_BUNDLE = "org.netvm.guest";

    /** Raises the framework's start level to the guest bundle's, which starts it. */
    private static void startGuestBundle(BundleContext context, Logger log) {
        FrameworkStartLevel framework = context.getBundle(0).adapt(FrameworkStartLevel.class);
        for (Bundle b : context.getBundles()) {
            if (GUEST_BUNDLE.equals(b.getSymbolicName())) {
                int level = b.adapt(BundleStartLevel.class).getStartLevel();
                if (level > framework.getStartLevel()) {
                    framework.setStartLevel(level);
                }
                return;
            }
        }
        log.error("role proxy: this runtime has no {} bundle; the uplink is not configured", GUEST_BUNDLE);
    }
}
