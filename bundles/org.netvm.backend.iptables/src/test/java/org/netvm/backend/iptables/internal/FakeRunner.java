package org.netvm.backend.iptables.internal;

import org.netvm.util.ProcessRunner;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/** Records every call; answers with a function of (argv, stdin), success with empty output by default. */
final class FakeRunner implements ProcessRunner {
    record Call(List<String> argv, String stdin) {
        String program() {
            int i = argv.size() > 4 && argv.get(0).equals("ip") ? 4 : 0;
            return argv.get(i);
        }
    }

    final List<Call> calls = new ArrayList<>();
    BiFunction<List<String>, String, Result> answer = (argv, stdin) -> new Result(0, "", "");

    @Override
    public Result run(List<String> argv, String stdin) {
        calls.add(new Call(List.copyOf(argv), stdin));
        return answer.apply(argv, stdin);
    }

    List<Call> writes() {
        return calls.stream().filter(c -> c.argv().contains("restore")
                || c.argv().stream().anyMatch(a -> a.endsWith("-restore"))).toList();
    }
}
