from billport.cli import main

main()
