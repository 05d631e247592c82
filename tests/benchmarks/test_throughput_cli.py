"""The throughput benchmark's worker command line, built without running a benchmark."""
from benchmarks import throughput
from experiments.cli import split_overrides


def _worker_args(argv):
    rest, overrides = split_overrides(argv)
    return throughput._parser().parse_args(rest), overrides


def test_worker_argv_drops_seeds_and_out_with_their_values():
    for argv in (
        ["--config=ant_sac", "--seeds", "1,2", "--out", "results/x.json", "--iterations", "7"],
        ["--config", "ant_sac", "--seeds=1,2", "--out=results/x.json", "--iterations=7"],
    ):
        built = throughput.worker_argv(argv, 2)
        assert not any("x.json" in a or a.startswith("--seeds") or a == "1,2" for a in built), built
        args, overrides = _worker_args(built)  # the worker parses it: nothing left over
        assert (args.config, args.iterations, args.repeats, args.worker, overrides) == ("ant_sac", 7, 3, 2, [])


def test_worker_argv_keeps_config_overrides_in_either_spelling():
    argv = ["--config=ant_sac", "--config.replay_capacity", "100000", "--out", "o.json",
            "--config.agent.batch_size=32", "--repeats=1"]
    built = throughput.worker_argv(argv, 4)
    args, overrides = _worker_args(built)
    assert overrides == [("replay_capacity", "100000"), ("agent.batch_size", "32")]
    assert (args.repeats, args.worker, args.out) == (1, 4, None)
