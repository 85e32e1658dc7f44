"""``python -m generator`` (what ``accelerate launch -m generator`` runs)."""

from generator.cli import main

main()
