"""``python -m training`` (what ``accelerate launch -m training train …`` runs): the training commands' own group."""

from training.cli import main

if __name__ == "__main__":
    main(prog_name="python -m training")
