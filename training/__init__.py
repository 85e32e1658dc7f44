"""punkgen's LoRA training: 24×24 originals → kohya dataset → SD 1.5 LoRA in kohya format.

``punkgen dataset`` / ``punkgen train`` (or ``python -m training …``, which ``accelerate launch
-m training train …`` runs on several GPUs). Modules: dataset.py (+ captions.py, cpunks.py),
train_lora.py (+ prepare.py, draws.py, losses.py, state.py, report.py), kohya.py, config.py with
config.toml; cli.py holds the two commands and ``python -m training``'s group.
"""
