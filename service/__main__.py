from service.ops.cli import main

main(prog_name="python -m service")
