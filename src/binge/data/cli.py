"""`binge prepare`: prepare a corpus of long titles for fast snippet loading. (Placeholder: being implemented.)"""

HELP = "prepare a corpus of long titles for fast snippet loading"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge prepare is not implemented yet")
