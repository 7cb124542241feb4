package org.netvm.backend.nftables.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** Records every call; answers from a queue of scripted results (default: success, empty output). */
final class FakeRunner implements CommandRunner {
    record Call(List<String> argv, String stdin) {
    }

    final List<Call> calls = new ArrayList<>();
    final Deque<Result> answers = new ArrayDeque<>();

    FakeRunner answer(int exit, String stdout, String stderr) {
        answers.add(new Result(exit, stdout, stderr));
        return this;
    }

    @Override
    public Result run(List<String> argv, String stdin) {
        calls.add(new Call(List.copyOf(argv), stdin));
        return answers.isEmpty() ? new Result(0, "", "") : answers.poll();
    }

    Call last() {
        return calls.get(calls.size() - 1);
    }
}
