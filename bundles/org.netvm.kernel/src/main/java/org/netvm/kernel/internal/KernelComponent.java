package org.netvm.kernel.internal;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Route;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Registers the {@link Kernel} service of one network namespace (the process's own by default). */
@Component(service = Kernel.class, configurationPid = KernelComponent.PID)
@Designate(ocd = KernelComponent.Config.class)
public final class KernelComponent implements Kernel {
    static final String PID = "org.netvm.kernel";

    @ObjectClassDefinition(name = "netvm kernel seam", description = "rtnetlink access to one network namespace")
    public @interface Config {
        @AttributeDefinition(description = "Network namespace name (/var/run/netns/<name>); empty for the process's own")
        String netns() default "";
    }

    private final NetlinkKernel kernel;

    @Activate
    public KernelComponent(Config config) throws KernelException {
        this.kernel = NetlinkKernel.open(config.netns());
    }

    @Deactivate
    void deactivate() {
        kernel.close();
    }

    @Override
    public String namespace() {
        return kernel.namespace();
    }

    @Override
    public OptionalInt linkIndex(String device) throws KernelException {
        return kernel.linkIndex(device);
    }

    @Override
    public Optional<Link> link(String device) throws KernelException {
        return kernel.link(device);
    }

    @Override
    public List<Link> links() throws KernelException {
        return kernel.links();
    }

    @Override
    public List<Address> addresses() throws KernelException {
        return kernel.addresses();
    }

    @Override
    public List<Route> routes() throws KernelException {
        return kernel.routes();
    }

    @Override
    public List<Route> routes(int protocol) throws KernelException {
        return kernel.routes(protocol);
    }

    @Override
    public List<Neighbour> neighbours() throws KernelException {
        return kernel.neighbours();
    }

    @Override
    public List<Address> addresses(String device) throws KernelException {
        return kernel.addresses(device);
    }

    @Override
    public List<Route> routes(int protocol, String device) throws KernelException {
        return kernel.routes(protocol, device);
    }

    @Override
    public List<Neighbour> neighbours(String device) throws KernelException {
        return kernel.neighbours(device);
    }

    @Override
    public int sysctl(Sysctl key) throws KernelException {
        return kernel.sysctl(key);
    }

    @Override
    public void apply(Batch batch) throws KernelException {
        kernel.apply(batch);
    }

    @Override
    public Subscription subscribeLinks(LinkListener listener) throws KernelException {
        return kernel.subscribeLinks(listener);
    }

    @Override
    public org.netvm.kernel.ConntrackTable conntrack() {
        return kernel.conntrack();
    }
}
