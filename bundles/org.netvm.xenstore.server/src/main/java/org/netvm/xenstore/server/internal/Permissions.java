package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EINVAL;

import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.Permission;

/**
 * Who may do what (C's perm_for_conn and the special nodes' permissions): the owner and a domain's
 * target get everything, later entries name a domain's access, the first entry's access is everyone
 * else's; entries of domains younger than the node are ignored.
 */
final class Permissions {

    static final int READ = 1;
    static final int WRITE = 2;
    static final int OWNER = 4;
    static final int ALL = READ | WRITE | OWNER;

    static final String INTRODUCE_DOMAIN = "@introduceDomain";
    static final String RELEASE_DOMAIN = "@releaseDomain";
    /** Permissions of the special nodes and of the initial tree: owned by dom0, nobody else. */
    static final List<Permission> DEFAULT_SPECIAL = List.of(new Permission(0, Permission.Access.NONE));

    private final Domains domains;
    private List<Permission> introducePerms = DEFAULT_SPECIAL;
    private List<Permission> releasePerms = DEFAULT_SPECIAL;

    Permissions(Domains domains) {
        this.domains = domains;
    }

    /** Whether a non-owner entry is ignored (C: XS_PERM_IGNORE): reserved domid or domain younger than the node. */
    private boolean ignored(Permission p, long nodeGeneration) {
        if (p.domid() >= Domains.DOMID_FIRST_RESERVED) {
            return true;
        }
        Domains.Domain d = domains.get(p.domid());
        return d == null || Long.compareUnsigned(d.generation, nodeGeneration) > 0;
    }

    private static int bits(Permission.Access a) {
        return (a.canRead() ? READ : 0) | (a.canWrite() ? WRITE : 0);
    }

    /** C's perm_for_conn. */
    int permFor(Session c, List<Permission> perms, long nodeGeneration) {
        if (!c.unprivileged) {
            return ALL;
        }
        int target = domains.targetOf(c);
        int owner = perms.get(0).domid();
        if (owner == c.domid || (target >= 0 && owner == target)) {
            return ALL;
        }
        for (int i = 1; i < perms.size(); i++) {
            Permission p = perms.get(i);
            if (!ignored(p, nodeGeneration) && (p.domid() == c.domid || (target >= 0 && p.domid() == target))) {
                return bits(p.access());
            }
        }
        return bits(perms.get(0).access());
    }

    int permFor(Session c, Node n) {
        return permFor(c, n.perms(), n.generation());
    }

    // ------------------------------------------------------------------ special nodes

    /** The permissions of {@code @introduceDomain} / {@code @releaseDomain}, null for any other name. */
    List<Permission> special(String name) {
        return switch (name) {
            case RELEASE_DOMAIN -> releasePerms;
            case INTRODUCE_DOMAIN -> introducePerms;
            default -> null;
        };
    }

    /** Sets a special node's permissions; {@code name} is one {@link #special} knows. */
    void setSpecial(String name, List<Permission> perms) {
        if (name.equals(RELEASE_DOMAIN)) {
            releasePerms = perms;
        } else {
            introducePerms = perms;
        }
    }

    /** A released domain leaves the special nodes' lists (an owner entry becomes dom0's). */
    void forgetDomain(int domid) {
        releasePerms = withoutDomain(releasePerms, domid);
        introducePerms = withoutDomain(introducePerms, domid);
    }

    private static List<Permission> withoutDomain(List<Permission> perms, int domid) {
        List<Permission> out = new ArrayList<>();
        Permission first = perms.get(0);
        out.add(first.domid() == domid ? new Permission(0, first.access()) : first);
        for (int i = 1; i < perms.size(); i++) {
            if (perms.get(i).domid() != domid) {
                out.add(perms.get(i));
            }
        }
        return List.copyOf(out);
    }

    /** SET_PERMS' list: a letter (n, r, w, b) and a C number each; the domid keeps its low 16 bits. */
    static List<Permission> parse(List<String> texts) throws XsFailure {
        List<Permission> perms = new ArrayList<>();
        for (String t : texts) {
            if (t.isEmpty()) {
                throw new XsFailure(EINVAL);
            }
            Permission.Access access = switch (t.charAt(0)) {
                case 'n' -> Permission.Access.NONE;
                case 'r' -> Permission.Access.READ;
                case 'w' -> Permission.Access.WRITE;
                case 'b' -> Permission.Access.BOTH;
                default -> throw new XsFailure(EINVAL);
            };
            String num = t.substring(1);
            XsPaths.Parsed v = XsPaths.strtol(num, 0);
            if (num.isEmpty() || !v.complete()) {
                throw new XsFailure(EINVAL);
            }
            perms.add(new Permission((int) (v.value() & 0xFFFF), access));
        }
        return perms;
    }
}
