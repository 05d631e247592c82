"""Bjorck et al.'s DM Control configs: the heads of App. C and the SAC hyperparameters of Table 3."""
import jax
import jax.numpy as jnp
import pytest

from experiments.configs import get_config, list_configs
from experiments.configs.dmc import DMC_TASKS, HEADS, parse_dmc_name
from largerl_jax.envs import DMC_TASKS as ENV_TASKS
from largerl_jax.networks import Torso, torso_config
from largerl_jax.training import validate


def test_every_task_head_and_norm_has_a_config_on_a_registered_env():
    names = [n for n in list_configs() if n.startswith("dmc_") and parse_dmc_name(n)]
    assert len(names) == len(DMC_TASKS) * len(HEADS) * 2 == 120
    # Bjorck et al.'s 15 tasks; the env registry adds the humanoid tasks of the scaling configs
    assert {get_config(f"dmc_{t}_mlp2").env.name for t in DMC_TASKS} == set(ENV_TASKS) - {
        "dmc/HumanoidStand", "dmc/HumanoidWalk", "dmc/HumanoidRun"}


@pytest.mark.parametrize("head,arch,critic,actor", [("mlp2", "mlp", 2, 2), ("mlp4", "mlp", 4, 4),
                                                   ("modern2", "modern", 2, 1), ("modern4", "modern", 4, 2)])
@pytest.mark.parametrize("sn", ["", "_sn"])
def test_heads_follow_appendix_c(head, arch, critic, actor, sn):
    cfg = get_config(f"dmc_cheetah_run_{head}{sn}")
    validate(cfg)
    ag = cfg.agent
    assert (ag.critic.arch, ag.critic.depth, ag.actor.depth) == (arch, critic, actor)
    for t in (ag.actor, ag.critic):
        assert (t.width, t.modern_inner_multiple, t.activation, t.modern_final_norm) == (1024, 2, "relu", False)
        assert t.spectral_norm == ("intermediate" if sn else "none")


def test_sac_hyperparameters_of_table_3_and_budget_in_samples():
    cfg = get_config("dmc_walker_walk_modern4_sn")
    ag = cfg.agent
    assert (ag.gamma, ag.init_temperature, ag.tau, ag.batch_size) == (0.99, 0.1, 0.01, 512)
    assert ag.actor_lr == ag.critic_lr == ag.alpha_lr == 1e-3
    assert (ag.actor_update_every, ag.target_update_every) == (2, 2)
    assert (ag.log_std_min, ag.log_std_max) == (-10.0, 2.0)
    assert cfg.env.action_repeat == 2 and cfg.total_env_steps * cfg.env.action_repeat == 500_000
    assert cfg.log_singular_values


def test_modern_final_layer_norm_is_switchable():
    x = jnp.ones((2, 5))
    for final, expected in ((True, True), (False, False)):
        torso = Torso(torso_config(arch="modern", width=8, depth=1, modern_final_norm=final))
        params = torso.init(jax.random.PRNGKey(0), x)["params"]
        assert ("final_norm" in params) == expected


def test_pixel_configs_share_the_heads_and_table_3_with_drq_replay_and_warm_up():
    names = [n for n in list_configs() if n.startswith("pixels_dmc_")]
    assert len(names) == 120 and {n[len("pixels_"):] for n in names} == {n for n in list_configs() if n.startswith("dmc_") and parse_dmc_name(n)}
    cfg, state = get_config("pixels_dmc_cheetah_run_modern4_sn"), get_config("dmc_cheetah_run_modern4_sn")
    validate(cfg)
    assert (cfg.env.name, cfg.agent.name, cfg.env.action_repeat) == ("dmc_pixels/cheetah_run", "sac_pixels", 2)
    assert (cfg.replay_capacity, cfg.warmup_env_steps, cfg.total_env_steps) == (100_000, 1_000, 250_000)
    for field in ("gamma", "tau", "batch_size", "actor_lr", "critic_lr", "alpha_lr", "init_temperature",
                  "log_std_min", "log_std_max", "actor_update_every", "target_update_every"):
        assert cfg.agent[field] == state.agent[field], field
    assert cfg.agent.actor.to_dict() == state.agent.actor.to_dict()
    assert cfg.agent.critic.to_dict() == state.agent.critic.to_dict()
    assert (cfg.agent.augment_obs, cfg.agent.augment_next_obs, cfg.agent.frame_stack) == (2, 2, 3)


@pytest.mark.parametrize("name", ["dmc_cheetah_run_modern4_sn", "dmc_walker_walk_mlp2", "pixels_dmc_cheetah_run_mlp4_sn"])
def test_bjorck_configs_take_drqs_log_std_bound_init_and_layer_norm_epsilon(name):
    """DrQ, on which Bjorck et al. build: a tanh rescaled into [-10, 2], orthogonal (gain 1)
    Linear layers with zero bias, PyTorch's LayerNorm eps 1e-5."""
    ag = get_config(name).agent
    assert ag.log_std_bound == "tanh" and (ag.log_std_min, ag.log_std_max) == (-10.0, 2.0)
    for net in (ag.actor, ag.critic):
        assert net.kernel_init == "orthogonal" and net.ln_epsilon == 1e-5


@pytest.mark.parametrize("name", ["ant_sac_ofe", "pendulum_sac_v1", "hopper_td3_ours"])
def test_ota_and_pruning_configs_keep_the_reference_codes_clip(name):
    ag = get_config(name).agent
    assert ag.get("log_std_bound", "clip") == "clip"
