"""`binge demo`: the whole pipeline on the embedded TV world. (Placeholder: being implemented.)"""

HELP = "the whole pipeline on the embedded TV world"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge demo is not implemented yet")
