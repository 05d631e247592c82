#!/bin/bash
# Issue 11 at reduced scale on CPU: effective rank, loss surface and a width x depth grid (MJX Ant).
set -e; mkdir -p runs/analysis_study; cd "$(dirname "$0")/../.."
BUDGET="--config.total_env_steps=12000 --config.warmup_env_steps=2000 --config.eval_every_env_steps=2000
 --config.log_every_env_steps=1000 --config.checkpoint_every_env_steps=12000 --config.env.eval_episodes=3
 --config.replay_capacity=12000 --no-progress"
wd=runs/analysis_study/ant_sac
[ -f $wd/DONE ] || { nice -n 5 python -m experiments.run --config=ant_sac_original --seeds=2 --workdir=$wd $BUDGET && touch $wd/DONE; }
nice -n 5 python -m experiments.landscape --workdir=$wd --points=21 --span=1.0 --transitions=4000 --out=docs/results/analysis_ant_landscape
python -m experiments.report $wd --metric=srank --x=grad_steps --out=runs/analysis_study/report_srank
nice -n 5 python -m experiments.grid --config=ant_sac_grid_fig4 --axis=units=64,256 --axis=layers=1,4 --seeds=2 \
  --workdir=runs/analysis_study/grid --resume $BUDGET 2>/dev/null || \
nice -n 5 python -m experiments.grid --config=ant_sac_grid_fig4 --axis=units=64,256 --axis=layers=1,4 --seeds=2 \
  --workdir=runs/analysis_study/grid $BUDGET
python -m experiments.report runs/analysis_study/grid --out=runs/analysis_study/report_grid
