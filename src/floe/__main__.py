from floe.cli.main import main

main()
