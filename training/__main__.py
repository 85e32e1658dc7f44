"""``python -m training`` (what ``accelerate launch -m training train …`` runs): the punkgen command group."""

from generator.cli import main

if __name__ == "__main__":
    main(prog_name="python -m training")
