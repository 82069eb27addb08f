"""``python -m rasv.testing.fake_gsv --port N``: run a fake GPT-SoVITS server."""

from rasv.testing.fake_gsv.cli import main

main()
