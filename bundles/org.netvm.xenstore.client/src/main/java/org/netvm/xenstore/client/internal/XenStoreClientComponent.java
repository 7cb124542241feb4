package org.netvm.xenstore.client.internal;

import java.util.Dictionary;
import java.util.Hashtable;

import org.netvm.xenstore.XenStore;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * Connects to xenstored and registers the connection as the {@link XenStore} service.
 *
 * <p>The service is registered at activation whether or not the daemon answers yet, and stays
 * registered while the connection is down: {@link XenStore#isConnected()} is then {@code false},
 * requests fail with DISCONNECTED, and the client reconnects in the background, re-registers every
 * watch and calls {@code resync()} on its listener. Consumers therefore keep their reference and
 * re-read state on resync instead of tracking the service coming and going.
 *
 * <p>The component registers the service itself (rather than via DS) so that the service properties
 * {@code xenstore.transport} and {@code xenstore.address} carry the resolved address (the default
 * depends on the environment). A configuration change re-creates the component and the connection.
 */
@Component(configurationPid = XenStoreClientComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        immediate = true, service = {})
@Designate(ocd = XenStoreClientComponent.Config.class)
public final class XenStoreClientComponent {

    static final String PID = "org.netvm.xenstore.client";

    @ObjectClassDefinition(name = "netvm XenStore client",
            description = "Connection to xenstored, registered as the org.netvm.xenstore.XenStore service")
    public @interface Config {

        @AttributeDefinition(name = "Transport", description = "unix: xenstored's Unix socket; xenbus: the xenbus device",
                options = { @Option(value = "unix", label = "Unix socket"), @Option(value = "xenbus", label = "xenbus device") })
        String transport() default "unix";

        @AttributeDefinition(name = "Path", required = false,
                description = "Socket or device; empty: $XENSTORED_PATH or /var/run/xenstored/socket (unix), /dev/xen/xenbus (xenbus)")
        String path() default "";

        @AttributeDefinition(name = "First reconnect delay (ms)", min = "1")
        long reconnect_initial_ms() default 50;

        @AttributeDefinition(name = "Largest reconnect delay (ms)", min = "1")
        long reconnect_max_ms() default 2000;

        @AttributeDefinition(name = "Request timeout (ms)", description = "0: wait forever", min = "0")
        long request_timeout_ms() default 30000;

        @AttributeDefinition(name = "Domain id", min = "-1", max = "32752",
                description = "This VM's domain id: relative paths resolve against /local/domain/<id> (for a privileged "
                        + "connection, whose own home is dom0's); -1: leave them to the daemon")
        int domid() default -1;
    }

    private final XenStoreClient client;
    private final ServiceRegistration<XenStore> registration;

    @Activate
    public XenStoreClientComponent(BundleContext context, Config config) {
        ClientSettings settings = ClientSettings.resolve(config.transport(), config.path(), config.reconnect_initial_ms(),
                config.reconnect_max_ms(), config.request_timeout_ms(), System::getenv);
        this.client = XenStoreClient.start(settings.newTransport(), settings.options(), config.domid());
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(XenStore.TRANSPORT, settings.transport());
        props.put(XenStore.ADDRESS, settings.address().toString());
        props.put(Constants.SERVICE_DESCRIPTION, "xenstored at " + settings.address());
        try {
            this.registration = context.registerService(XenStore.class, client, props);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // already gone with the bundle
        }
        client.close();
    }
}
