from dee.cli.main import run

run()
