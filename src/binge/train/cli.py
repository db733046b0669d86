"""`binge pretrain`: self-supervised pretraining (Eq. 1 NCE, AVID, CMA, CrissCross). (Placeholder: being implemented.)"""

HELP = "self-supervised pretraining (Eq. 1 NCE, AVID, CMA, CrissCross)"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge pretrain is not implemented yet")
