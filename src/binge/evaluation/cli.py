"""`binge evaluate`: downstream evaluation: fine-tuning, linear probe, retrieval. (Placeholder: being implemented.)"""

HELP = "downstream evaluation: fine-tuning, linear probe, retrieval"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge evaluate is not implemented yet")
