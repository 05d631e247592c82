#!/bin/bash
# Pruning paper, reduced-scale CPU study (issue 10): MJX HalfCheetah, 2 seeds vmapped per variant.
set -e; mkdir -p runs/xinet_study
COMMON="--seeds=2 --no-progress --resume --config.total_env_steps=15000 --config.warmup_env_steps=3000
 --config.agent.ofenet.pretrain_updates=1000 --config.eval_every_env_steps=1500 --config.log_every_env_steps=500
 --config.checkpoint_every_env_steps=7500 --config.env.eval_episodes=5 --config.replay_capacity=15000"
HALF="--config.agent.ofenet.units=64 --config.agent.actor.width=256 --config.agent.critic.width=256 --config.agent.value.width=256"
run() { name=$1; shift; wd=runs/xinet_study/$name; [ -f $wd/DONE ] && return;
  nice -n 5 python -m experiments.run --workdir=$wd $COMMON "$@" > runs/xinet_study/$name.log 2>&1 && touch $wd/DONE; }
run ofe --config=halfcheetah_xinet_ofe
run ofe_big_half --config=halfcheetah_xinet_ofe_big $HALF
run prune_b_half --config=halfcheetah_xinet_prune_b $HALF --config.agent.pruning.warmup_updates=2000 --config.agent.pruning.shrinks=2
run prune_x30_half --config=halfcheetah_xinet_prune_b $HALF --config.agent.pruning.warmup_updates=2000 --config.agent.pruning.shrinks=2 --config.agent.pruning.ofe_lambda=3e-6 --config.agent.pruning.rl_lambda=3e-5 --config.agent.pruning.pi_lr=3e-3
