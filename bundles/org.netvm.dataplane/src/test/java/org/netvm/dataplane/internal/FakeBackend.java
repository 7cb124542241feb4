package org.netvm.dataplane.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;

/**
 * A backend whose "kernel" is a field. Every call is appended to a call log shared by all fakes of a
 * test, as {@code name.call}, so the order of calls across backends can be checked.
 */
final class FakeBackend implements PacketFilterBackend {

    private final String name;
    private final List<String> calls;
    OwnedState kernel = OwnedState.EMPTY;
    int applies;
    int sweeps;
    /** If set, apply fails with this message (and changes nothing). */
    String failApply;
    /** If set, readBack fails with this message. */
    String failReadBack;
    /** If set, sweep fails with this message. */
    String failSweep;
    /** Applied to what apply writes: simulates a backend that applies something else than asked. */
    UnaryOperator<OwnedState> corrupt = UnaryOperator.identity();

    FakeBackend(String name, List<String> calls) {
        this.name = name;
        this.calls = calls;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void apply(Plan plan) throws BackendException {
        calls.add(name + ".apply");
        if (failApply != null) {
            throw new BackendException("nft refused", failApply);
        }
        kernel = corrupt.apply(expected(plan));
        applies++;
    }

    @Override
    public OwnedState readBack() throws BackendException {
        calls.add(name + ".readBack");
        if (failReadBack != null) {
            throw new BackendException("cannot list", failReadBack);
        }
        return kernel;
    }

    @Override
    public OwnedState expected(Plan plan) {
        TreeMap<String, String> chains = new TreeMap<>();
        TreeMap<String, List<String>> rules = new TreeMap<>();
        TreeMap<String, String> sets = new TreeMap<>();
        TreeMap<String, SortedSet<String>> elements = new TreeMap<>();
        plan.chains().forEach(c -> chains.put(c.ref().toString(), c.isBase() ? c.base().toString() : ""));
        plan.rules().forEach((ref, list) -> rules.put(ref.toString(),
                new ArrayList<>(list.stream().map(Object::toString).toList())));
        plan.sets().forEach(s -> sets.put(s.ref().toString(), s.type().keyword()));
        plan.elements().forEach((ref, els) -> {
            TreeSet<String> t = new TreeSet<>();
            els.forEach(e -> t.add(e.toString()));
            elements.put(ref.toString(), t);
        });
        return new OwnedState(chains, rules, sets, elements);
    }

    @Override
    public void sweep() throws BackendException {
        calls.add(name + ".sweep");
        if (failSweep != null) {
            throw new BackendException("cannot sweep", failSweep);
        }
        kernel = OwnedState.EMPTY;
        sweeps++;
    }

    /** The kernel's elements of set {@code key} (e.g. {@code inet @allowed}). */
    SortedSet<String> elements(String key) {
        return kernel.elements().getOrDefault(key, new TreeSet<>());
    }
}
