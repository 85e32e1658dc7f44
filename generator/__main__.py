"""``python -m generator`` (what ``accelerate launch -m generator`` runs)."""

from generator.cli import main

if __name__ == "__main__":  # worker processes re-import this module under another name
    main()
