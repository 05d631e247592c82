"""A dry run of the cost table: two tiny heads, every worker in its own process, as for real."""
import json

from benchmarks import memory

CONFIGS = ("dmc_cheetah_run_mlp2", "dmc_cheetah_run_modern2_sn")


def test_dry_run_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "memory.json"
    rc = memory.main([
        f"--configs={','.join(CONFIGS)}", "--config.agent.actor.width=8", "--config.agent.critic.width=8",
        "--dims=17,6", "--updates=2", "--repeats=1", "--act-steps=3", f"--out={out}",
    ])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["date"] and report["machine"]["cpu_count"] >= 1 and report["machine"]["cpu_model"]
    assert report["batch_size"] == 512 and "no pixel encoder" in report["what"]
    assert report["baseline"]["jax_version"] and report["baseline"]["peak_memory_bytes"] > 0
    assert [r["config"] for r in report["rows"]] == list(CONFIGS)
    for r in report["rows"]:
        assert "error" not in r and r["dims"] == "17,6"
        train, act = r["train"], r["act"]
        assert train["batch_size"] == 512 and train["ms_per_update"] > 0 and train["compile_s"] > 0
        assert act["ms_per_step"] > 0 and act["device_kind"]
        for m in (train, act):
            assert m["peak_memory_bytes"] > 0 and m["peak_memory_kind"]
        # Acting builds the actor's weights only: no optimizer state, critics or targets.
        assert act["weights_bytes"] >= 4 * train["params"]["actor"]
        assert act["weights_bytes"] < 4 * (train["params"]["actor"] + train["params"]["critic"])
        assert act["weights_bytes"] < train["state_bytes"] / 4
    mlp2 = report["rows"][0]
    assert mlp2["act"]["weights_bytes"] == 4 * mlp2["train"]["params"]["actor"]  # no spectral-norm state

    md = (tmp_path / "memory.md").read_text()
    assert md in capsys.readouterr().out
    table = [l for l in md.splitlines() if l.startswith("|")]
    assert len(table) == 2 + len(CONFIGS) and "train (ms/update)" in table[0] and "act peak (MiB)" in table[0]
    assert all(f"`{c}`" in row for c, row in zip(CONFIGS, table[2:]))
    assert report["date"] in md and report["baseline"]["jax_version"] in md and "no pixel encoder" in md
