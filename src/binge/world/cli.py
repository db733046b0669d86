"""`binge world`: generate the procedural TV world (media files + metadata + ground truth). (Placeholder: being implemented.)"""

HELP = "generate the procedural TV world (media files + metadata + ground truth)"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge world is not implemented yet")
