#!/bin/bash
# Issue 11 at reduced scale on CPU: effective rank, loss surface and a width x depth grid (MJX Ant),
# and the papers' table layouts from runs already in docs/results.md.
set -e; cd "$(dirname "$0")/../.."; mkdir -p runs/analysis_study
BUDGET="--config.total_env_steps=12000 --config.warmup_env_steps=2000 --config.eval_every_env_steps=2000
 --config.log_every_env_steps=1000 --config.checkpoint_every_env_steps=12000 --config.env.eval_episodes=3
 --config.replay_capacity=12000 --no-progress"
wd=runs/analysis_study/ant_sac
[ -f $wd/DONE ] || { nice -n 5 python -m experiments.run --config=ant_sac_original --seeds=2 --workdir=$wd $BUDGET && touch $wd/DONE; }
nice -n 5 python -m experiments.landscape --workdir=$wd --points=21 --span=1.0 --transitions=4000 --out=docs/results/analysis_ant_landscape
python -m experiments.report $wd --metric=srank --x=grad_steps --out=docs/results/analysis_ant_srank
grid=runs/analysis_study/grid; resume=""; [ -f $grid/grid.json ] && resume=--resume
nice -n 5 python -m experiments.grid --config=ant_sac_grid_fig4 --axis=units=64,256 --axis=layers=1,4 --seeds=2 \
  --workdir=$grid $resume $BUDGET
python -m experiments.report $grid --out=docs/results/analysis_ant_grid
python -m experiments.report runs/cpu_check_20k_v2/ours runs/cpu_check_20k_v2/no_apex runs/cpu_check_20k_v2/original \
  --out=docs/results/analysis_table1
python -m experiments.report /work/study/xruns/{ofe,ofe_big_half,prune_b_half,prune_x30_half} --x=env_steps \
  --labels="OFE 15K steps,OFE-Big/2 15K steps,Prune-B/2 15K steps,Prune-B/2 x30 15K steps" --out=docs/results/analysis_pruning_tables
