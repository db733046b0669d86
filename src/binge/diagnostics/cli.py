"""`binge discrepancy`: discrepancy measures KL(S-||S+), KL(S!=||S+), KL(S-||S!=) on a held-out split. (Placeholder: being implemented.)"""

HELP = "discrepancy measures KL(S-||S+), KL(S!=||S+), KL(S-||S!=) on a held-out split"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise SystemExit("binge discrepancy is not implemented yet")
