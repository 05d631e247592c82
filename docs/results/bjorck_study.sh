#!/bin/bash
# Bjorck et al. reduced-scale CPU study (issue 9)
set -e; mkdir -p runs/bjorck_study
for task in cartpole_swingup ball_in_cup; do
  for head in mlp2 modern4 modern4_sn; do
    wd=runs/bjorck_study/${task}_${head}
    [ -f $wd/DONE ] && continue
    nice -n 5 python -m experiments.run --config=dmc_${task}_${head} --seeds=3 --workdir=$wd --resume --no-progress \
      --config.agent.actor.width=128 --config.agent.critic.width=128 --config.agent.batch_size=256 \
      --config.total_env_steps=20000 --config.eval_every_env_steps=2000 --config.log_every_env_steps=1000 \
      --config.checkpoint_every_env_steps=10000 > runs/bjorck_study/${task}_${head}.log 2>&1 && touch $wd/DONE
  done
done
