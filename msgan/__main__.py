from msgan.cli import main

main()
