# Every target runs inside the project's own virtual environment (.venv, built by `make setup`).
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
ARGS   ?=
SEEDS  ?= 1
# Data: $DATA_DIR when set, else data/ in this folder (configs/paths/default.yaml); MNIST and CIFAR-10
# download into it through torchvision when missing.

.PHONY: setup test test-all smoke report bench learning-curve alexnet-fig1 alexnet-fig1-standardized vit-scaling transformer-table3 translate sample scaling-laws clean

$(PYTHON):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'

setup: $(PYTHON)  ## build .venv with the suite installed in editable mode

test: $(PYTHON)  ## the fast suite (CI runs this)
	$(PYTHON) -m pytest -q -m "not slow and not gpu"

test-all: $(PYTHON)
	$(PYTHON) -m pytest -q

smoke: $(PYTHON)  ## every experiment on a tiny subset, records outside results/ (ARGS="trainer=gpu" on a GPU)
	$(PYTHON) scripts/smoke.py $(ARGS)

# SEEDS=3 runs seeds 0,1,2 as a Hydra multirun (one record each; the report gives mean +- std);
# ARGS="hydra/launcher=slurm" fans them out as SLURM jobs, "hydra/launcher=local" as local processes
SEED_ARG   = $(if $(filter-out 1,$(SEEDS)),seed=$(shell seq -s, 0 $$(($(SEEDS)-1))))
SEED_SWEEP = $(if $(SEED_ARG),--multirun $(SEED_ARG))

reproduce-%: $(PYTHON)  ## make reproduce-lenet5 ARGS="trainer.max_epochs=3" SEEDS=3
	$(PYTHON) scripts/train.py $(SEED_SWEEP) experiment=$* $(ARGS)

learning-curve: $(PYTHON)  ## LeNet-5 test error against examples per class (multirun)
	$(PYTHON) scripts/train.py --multirun experiment=lenet5_learning_curve $(ARGS)

alexnet-fig1: $(PYTHON)  ## Krizhevsky et al. 2012 Fig. 1: the ReLU and the tanh net to 25% CIFAR-10 training error (the paper's inputs and init)
	$(PYTHON) scripts/train.py --multirun experiment=alexnet_fig1_relu,alexnet_fig1_tanh $(SEED_ARG) $(ARGS)

alexnet-fig1-standardized: $(PYTHON)  ## the same pair with standardised inputs and PyTorch's init (a variant)
	$(PYTHON) scripts/train.py --multirun experiment=alexnet_cifar_relu,alexnet_cifar_tanh $(SEED_ARG) $(ARGS)

vit-scaling: $(PYTHON)  ## Dosovitskiy et al. 2020 in direction: a ViT and ResNet-20 of its size on 5k-50k CIFAR-10 images
	$(PYTHON) scripts/train.py --multirun experiment=vit_data_scaling,cnn_data_scaling data.per_class=500,1000,2500,5000 $(ARGS)

# Table 3's small differences (no label smoothing, learned positions) get seeds 0 and 1, its large ones (1 head, dropout 0) seed 0
transformer-table3: $(PYTHON)  ## Vaswani et al. 2017 Table 3 in direction on Multi30k: 8 short runs, about 20 minutes on a 2-core CPU
	$(PYTHON) scripts/train.py --multirun experiment=transformer_table3,transformer_table3_no_label_smoothing,transformer_table3_learned_positions seed=0,1 $(ARGS)
	$(PYTHON) scripts/train.py --multirun experiment=transformer_table3_one_head,transformer_table3_no_dropout seed=0 $(ARGS)

translate: $(PYTHON)  ## translate sentences with the newest trained transformer: make translate ARGS="'Ein Hund läuft.'" (or lines on stdin)
	$(PYTHON) scripts/translate.py $(ARGS)

sample: $(PYTHON)  ## text from the newest trained GPT: make sample ARGS="--prompt 'ROMEO:' --length 300 --temperature 0.8 --top-k 200"
	$(PYTHON) scripts/sample.py $(ARGS)

# Kaplan et al. 2020 / Hoffmann et al. 2022 in direction: the IsoFLOP sweep, then the equal-token runs (one record
# each; the plans live in the experiment files). On a GPU: make scaling-laws SCALING=gpt_scaling_gpu ARGS="trainer=gpu"
SCALING ?= gpt_scaling_kjv
scaling-laws: $(PYTHON)  ## scaling laws on character-level GPTs: 48 IsoFLOP runs + 12 equal-token runs on the KJV (about 35 minutes alone on a 2-core CPU)
	$(PYTHON) scripts/train.py --multirun experiment=$(SCALING) $(ARGS)
	$(PYTHON) scripts/train.py --multirun experiment=$(SCALING)_tokens $(ARGS)

report: $(PYTHON)  ## results/REPORT.md and plots from results/claims.yaml + results/runs/*.jsonl
	$(PYTHON) scripts/report.py

bench: $(PYTHON)  ## suite throughput as a ratio against a plain PyTorch loop
	$(PYTHON) -m benchmarks.lenet5_throughput
	$(PYTHON) -m benchmarks.alexnet_throughput
	$(PYTHON) -m benchmarks.vit_throughput
	$(PYTHON) -m benchmarks.transformer_throughput
	$(PYTHON) -m benchmarks.gpt_throughput
	$(PYTHON) -m benchmarks.selfplay_throughput

clean:
	rm -rf outputs multirun .pytest_cache
