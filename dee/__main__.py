from dee.cli.main import main

main()
