"""``python slow_binge.py DELAY ARGV...``: the real ``binge ARGV`` with each title, training step
and pool wait of the parent slowed by DELAY seconds, so that a test can act while it holds its
folder (a second process, a ``kill -9``). Only timing changes: the outputs are those of binge."""

import sys
import time


def main() -> int:
    delay, argv = float(sys.argv[1]), sys.argv[2:]
    import binge.data.prepare as prepare
    from binge.train import loop

    def slowed(fn):
        def wrapper(*args, **kwargs):
            time.sleep(delay)
            return fn(*args, **kwargs)
        return wrapper

    prepare.prepare_title = slowed(prepare.prepare_title)  # in-process titles (--workers 1)
    prepare.wait = slowed(prepare.wait)  # the parent's loop over the pool (--workers N)
    loop.Trainer._train_step = slowed(loop.Trainer._train_step)
    from binge.cli import main as binge_main

    return binge_main(argv)


if __name__ == "__main__":
    sys.exit(main())
