"""The main job's update (OFENet + SAC v1 with 2x2048 MLP-DenseNets) in plain PyTorch, timed.

    python torch_ofe_sac.py [--updates=20] [--warmup-calls=2] [--compile] [--counts-only]
        [--obs-dim=111 --act-dim=8 ...]

Runs inside the peers' virtualenv made by ``python -m benchmarks.peers``, which passes every
size and hyperparameter from our ``gym_ant_sac_ours`` config; it imports nothing of this
repository. The networks and the update are those of largerl_jax (agents/ofe.py,
agents/sac_v1.py, features/), written the way one would in PyTorch:

* OFENet: phi_s and phi_sa are DenseNets of Linear -> BatchNorm1d -> SiLU (swish) layers whose
  outputs are concatenated onto their inputs; a Linear head predicts the first
  ``--predict-dims`` entries of the next observation (MSE). Batch norm trains on that loss
  only and runs in eval mode whenever it feeds the agent; a target OFENet (weights and running
  statistics Polyak-averaged) gives the next-state features of the bootstrap target.
* SAC v1: tanh-Gaussian policy (mean and log-std from one output layer, log-std clamped),
  twin Q networks on z_sa, a V network on z_s and a Polyak target V; all are 2x2048 SiLU
  MLP-DenseNets. Critic: Huber towards reward_scale * r + gamma * (1 - done) * V_target(z_s'),
  summed over the two Q networks. Actor: alpha log pi - Q1 through the just-updated critic,
  with gradients reaching the action through phi_sa but not OFENet's or the critic's weights.
  V: Huber towards min(Q1, Q2) - alpha log pi of the same policy sample. Fixed alpha.
* One update = one OFENet step on the batch, then the critic, actor and V steps (each its own
  Adam), then the Polyak update of the target V; the target OFENet follows its OFENet step.

Prints one JSON line: trainable parameters per network (and OFENet's batch-norm statistics),
then, unless ``--counts-only``, the time of ``--updates`` calls after ``--warmup-calls``
untimed ones on one fixed random batch, as updates/s. ``--compile`` wraps every network in
``torch.compile`` first (its compilation falls in the warm-up calls).

Where PyTorch's defaults differ and do not change the work done: weights keep PyTorch's
default initialization, and BatchNorm1d keeps unbiased running variances.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def _parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--updates", type=int, default=20, help="timed updates")
    p.add_argument("--warmup-calls", type=int, default=2, help="untimed updates before the timed ones")
    p.add_argument("--compile", action="store_true", help="torch.compile every network")
    p.add_argument("--counts-only", action="store_true", help="print parameter counts and exit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--obs-dim", type=int, default=111)
    p.add_argument("--act-dim", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--ofe-layers", type=int, default=8)
    p.add_argument("--ofe-units", type=int, default=256)
    p.add_argument("--predict-dims", type=int, default=27)
    p.add_argument("--bn-momentum", type=float, default=0.01, help="PyTorch convention (Flax 0.99 -> 0.01)")
    p.add_argument("--bn-eps", type=float, default=1e-5)
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--ofe-lr", type=float, default=3e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=0.005)
    p.add_argument("--ofe-tau", type=float, default=0.005)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--reward-scale", type=float, default=5.0)
    p.add_argument("--huber-delta", type=float, default=1.0)
    p.add_argument("--log-std-min", type=float, default=-20.0)
    p.add_argument("--log-std-max", type=float, default=2.0)
    return p


class DenseNet(nn.Module):
    """x -> [x, f(x)] -> [x, f(x), g([x, f(x)])] ...: each layer's output is concatenated onto
    its input; a layer is Linear (-> BatchNorm1d) -> SiLU."""

    def __init__(self, in_dim: int, width: int, depth: int, batch_norm: bool = False, bn_momentum=0.01, bn_eps=1e-5):
        super().__init__()
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        dim = in_dim
        for _ in range(depth):
            self.linears.append(nn.Linear(dim, width))
            self.norms.append(nn.BatchNorm1d(width, momentum=bn_momentum, eps=bn_eps) if batch_norm else nn.Identity())
            dim += width
        self.out_dim = dim

    def forward(self, x):
        for linear, norm in zip(self.linears, self.norms):
            x = torch.cat([x, F.silu(norm(linear(x)))], dim=-1)
        return x


class OFENet(nn.Module):
    def __init__(self, obs_dim, act_dim, units, layers, predict_dims, bn_momentum, bn_eps):
        super().__init__()
        self.phi_s = DenseNet(obs_dim, units, layers, True, bn_momentum, bn_eps)
        self.phi_sa = DenseNet(self.phi_s.out_dim + act_dim, units, layers, True, bn_momentum, bn_eps)
        self.predictor = nn.Linear(self.phi_sa.out_dim, predict_dims)

    def state_action(self, z_s, action):
        return self.phi_sa(torch.cat([z_s, action], dim=-1))

    def forward(self, obs, action):
        z_s = self.phi_s(obs)
        z_sa = self.state_action(z_s, action)
        return z_s, z_sa, self.predictor(z_sa)


class MLPDenseNet(nn.Module):
    """DenseNet torso plus a Linear output layer."""

    def __init__(self, in_dim, width, depth, out_dim):
        super().__init__()
        self.torso = DenseNet(in_dim, width, depth)
        self.out = nn.Linear(self.torso.out_dim, out_dim)

    def forward(self, x):
        return self.out(self.torso(x))


class GaussianPolicy(nn.Module):
    def __init__(self, in_dim, width, depth, act_dim, log_std_min, log_std_max):
        super().__init__()
        self.net = MLPDenseNet(in_dim, width, depth, 2 * act_dim)
        self.log_std_min, self.log_std_max = log_std_min, log_std_max

    def forward(self, z_s):
        mean, log_std = self.net(z_s).chunk(2, dim=-1)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def sample(self, z_s):
        """Reparameterized tanh-Gaussian sample and its log-probability."""
        mean, log_std = self(z_s)
        dist = torch.distributions.Normal(mean, log_std.exp())
        u = dist.rsample()
        log_prob = dist.log_prob(u)
        # log(1 - tanh(u)^2), written stably
        log_det = 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))
        return torch.tanh(u), (log_prob - log_det).sum(dim=-1)


class TwinQ(nn.Module):
    def __init__(self, in_dim, width, depth):
        super().__init__()
        self.q1 = MLPDenseNet(in_dim, width, depth, 1)
        self.q2 = MLPDenseNet(in_dim, width, depth, 1)

    def forward(self, z_sa):
        return self.q1(z_sa).squeeze(-1), self.q2(z_sa).squeeze(-1)


@contextlib.contextmanager
def frozen(*modules):
    """Parameters of ``modules`` need no gradient inside the block (inputs still get one)."""
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@torch.no_grad()
def polyak(target: nn.Module, online: nn.Module, tau: float) -> None:
    """target <- (1 - tau) target + tau online, for weights and floating-point buffers."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.lerp_(o, tau)
    for t, o in zip(target.buffers(), online.buffers()):
        if t.is_floating_point():
            t.lerp_(o, tau)


class OFESACv1:
    def __init__(self, a):
        self.a = a
        self.ofenet = OFENet(a.obs_dim, a.act_dim, a.ofe_units, a.ofe_layers, a.predict_dims, a.bn_momentum, a.bn_eps)
        z_s_dim, z_sa_dim = self.ofenet.phi_s.out_dim, self.ofenet.phi_sa.out_dim
        self.actor = GaussianPolicy(z_s_dim, a.width, a.depth, a.act_dim, a.log_std_min, a.log_std_max)
        self.critic = TwinQ(z_sa_dim, a.width, a.depth)
        self.value = MLPDenseNet(z_s_dim, a.width, a.depth, 1)
        self.target_value = copy.deepcopy(self.value).requires_grad_(False)
        self.target_ofenet = copy.deepcopy(self.ofenet).requires_grad_(False).eval()
        self.ofe_opt = torch.optim.Adam(self.ofenet.parameters(), lr=a.ofe_lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=a.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=a.lr)
        self.value_opt = torch.optim.Adam(self.value.parameters(), lr=a.lr)

    def compile(self):
        """torch.compile each network's forward in place (nn.Module.compile), static shapes.

        Instances of one class share their forward's compilation cache, and each (instance,
        grad mode, train/eval, requires_grad) combination is one more entry: raise the limit
        from 8 and fail rather than fall back to eager silently when it is hit."""
        import torch._dynamo

        torch._dynamo.config.recompile_limit = 64
        torch._dynamo.config.fail_on_recompile_limit_hit = True
        for m in (self.ofenet.phi_s, self.ofenet.phi_sa, self.ofenet.predictor, self.target_ofenet.phi_s,
                  self.actor, self.critic.q1, self.critic.q2, self.value, self.target_value):
            m.compile(dynamic=False)

    def param_counts(self) -> dict:
        count = lambda m: sum(p.numel() for p in m.parameters())
        bn_stats = sum(
            m.running_mean.numel() + m.running_var.numel() for m in self.ofenet.modules() if isinstance(m, nn.BatchNorm1d)
        )
        return {
            "actor": count(self.actor),
            "critic": count(self.critic),
            "value": count(self.value),
            "ofenet": count(self.ofenet),
            "ofenet_batch_stats": bn_stats,
        }

    def _huber(self, pred, target):
        return F.huber_loss(pred, target, reduction="mean", delta=self.a.huber_delta)

    def update(self, obs, action, reward, next_obs, done) -> dict:
        a = self.a
        # 1. OFENet: next-state prediction, batch norm in training mode.
        self.ofenet.train()
        _, _, pred = self.ofenet(obs, action)
        ofe_loss = F.mse_loss(pred, next_obs[:, : a.predict_dims])
        self.ofe_opt.zero_grad(set_to_none=True)
        ofe_loss.backward()
        self.ofe_opt.step()
        polyak(self.target_ofenet, self.ofenet, a.ofe_tau)
        self.ofenet.eval()

        # 2. Features from the updated OFENet (running statistics) and the bootstrap target.
        with torch.no_grad():
            z_s = self.ofenet.phi_s(obs)
            z_sa = self.ofenet.state_action(z_s, action)
            z_next = self.target_ofenet.phi_s(next_obs)
            v_next = self.target_value(z_next).squeeze(-1)
            q_target = a.reward_scale * reward + a.gamma * (1.0 - done) * v_next

        # 3. Twin critics.
        q1, q2 = self.critic(z_sa)
        critic_loss = self._huber(q1, q_target) + self._huber(q2, q_target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        # 4. Actor, through the updated critic; OFENet and critic weights get no gradient.
        pi_action, log_pi = self.actor.sample(z_s)
        with frozen(self.ofenet, self.critic):
            pi_sa = self.ofenet.state_action(z_s, pi_action)
            q1_pi, q2_pi = self.critic(pi_sa)
        actor_loss = (a.alpha * log_pi - q1_pi).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()

        # 5. V towards min(Q1, Q2) - alpha log pi of the same sample; then the target V.
        v_target = (torch.min(q1_pi, q2_pi) - a.alpha * log_pi).detach()
        v = self.value(z_s).squeeze(-1)
        value_loss = self._huber(v, v_target)
        self.value_opt.zero_grad(set_to_none=True)
        value_loss.backward()
        self.value_opt.step()
        polyak(self.target_value, self.value, a.tau)
        return {"ofe_loss": ofe_loss.detach(), "critic_loss": critic_loss.detach(), "actor_loss": actor_loss.detach(),
                "value_loss": value_loss.detach()}


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    if a.updates < 1 or a.warmup_calls < 0:
        raise SystemExit("--updates must be >= 1 and --warmup-calls >= 0")
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(a.seed)
    agent = OFESACv1(a)
    result = {"params": agent.param_counts(), "torch": torch.__version__, "torch_num_threads": torch.get_num_threads()}
    if a.counts_only:
        print(json.dumps(result), flush=True)
        return 0
    if a.compile:
        agent.compile()
    # One fixed random batch: normal observations and rewards, actions uniform in [-1, 1].
    b = a.batch_size
    batch = (
        torch.randn(b, a.obs_dim),
        torch.rand(b, a.act_dim) * 2.0 - 1.0,
        torch.randn(b),
        torch.randn(b, a.obs_dim),
        torch.zeros(b),
    )
    t0 = time.perf_counter()
    for _ in range(a.warmup_calls):
        agent.update(*batch)
    warmup_s = time.perf_counter() - t0
    times = []
    for _ in range(a.updates):
        t0 = time.perf_counter()
        metrics = agent.update(*batch)
        times.append(time.perf_counter() - t0)
    losses = {k: float(v) for k, v in metrics.items()}
    if not all(math.isfinite(v) for v in losses.values()):
        raise SystemExit(f"non-finite losses after the timed updates: {losses}")
    result.update(
        compile=bool(a.compile),
        warmup_calls=a.warmup_calls,
        warmup_s=round(warmup_s, 3),
        updates=a.updates,
        update_s_all=[round(t, 4) for t in times],
        update_s_median=round(statistics.median(times), 4),
        updates_per_s=round(a.updates / sum(times), 4),
        last_losses=losses,
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
